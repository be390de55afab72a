/* internal.h - what the files of the HTTP adapter share; nothing outside
 * src/http includes it.
 *
 * server.c owns the worker threads (one event loop, store connection and
 * set of connections each), the listeners, h2o (which serves HTTP/2) and
 * the drain on SIGTERM. http1.c owns HTTP/1.x connections from the first
 * byte to the close: Cairn parses them itself, so that every refusal of a
 * request head or body is its own JSON error and so that it knows which
 * connections are idle when draining. exchange.c owns one request's trip
 * from either protocol into the API, to the writer thread and back, and
 * the headers every response carries. */
#ifndef CAIRN_HTTP_INTERNAL_H
#define CAIRN_HTTP_INTERNAL_H

#include <h2o.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "api/api.h"
#include "api/writer.h"

#define HTTP_MAX_URL          8192        /* request target; 414 past it */
#define HTTP_MAX_HEADERS      100         /* header fields; 431 past it */
#define HTTP_MAX_HEADER_BYTES (16 * 1024) /* header section; 431 past it */
#define HTTP_IO_TIMEOUT_MS    10000       /* a request head, body or answer stalls */
#define HTTP_LINGER_MS        2000        /* a closing connection is read this long */

typedef struct http_worker {
    int index;
    pthread_t tid;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;         /* the API */
    h2o_socket_t *metrics_listener; /* --metrics-listen; NULL when off */
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver; /* answers coming back from the writer */
    store_conn *conn;
    int inflight;                 /* exchanges not yet finished */
    bool draining;                /* SIGTERM: every answer closes its connection */
    h2o_linklist_t h1conns;       /* every HTTP/1 connection of this thread */
    h2o_linklist_t parked;        /* long polls waiting for events (exchange_poll) */
    h2o_timeout_t io_timeout;     /* HTTP_IO_TIMEOUT_MS */
    h2o_timeout_t linger_timeout; /* how long a closing connection is read */
    time_t date_at;               /* second the Date header below is for */
    char date[40];
} http_worker;

typedef enum http_transport { HTTP_T_H1, HTTP_T_H2O } http_transport;

/* One request on its way through the API. Owned by its worker thread,
 * except while the writer thread holds it (between writer_submit and
 * done()). `peer` is how to answer it; the transport clears it when the
 * client has gone, and the answer is then only logged. */
typedef struct http_exchange {
    writer_job wj;
    h2o_linklist_t park_link; /* in w->parked while q.parked */
    h2o_multithread_message_t msg;
    http_worker *w;
    http_transport t;
    void *peer;                  /* HTTP_T_H1: h1conn; HTTP_T_H2O: h2o_req_t */
    struct http_exchange **slot; /* HTTP_T_H2O: in the request's pool */
    bool metrics_only;           /* from the --metrics-listen listener */
    api_req q;
} http_exchange;

/* A response header; both strings live at least as long as the exchange. */
typedef struct http_header {
    const char *name, *value;
} http_header;
#define HTTP_MAX_RESP_HEADERS 12

static inline int http_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* ---------------------------------------------------------- exchange.c */

/* Where every exchange's access-log line goes (NULL: nowhere); set once
 * before the workers start. */
void exchange_set_access_log(FILE *f);
/* A new exchange, counted in w->inflight until exchange_finish/drop. */
http_exchange *exchange_new(http_worker *w, http_transport t, void *peer);
/* Sets the method, the path and the query parameters from the request
 * line. Returns false, with the error response written, when the target
 * is refused: too long (414), or a path or parameter that decodes to a
 * control byte or ill-formed UTF-8 (400), which are never passed on. */
bool exchange_target(http_exchange *x, const char *method, size_t mlen, const char *target,
                     size_t tlen);
/* Takes a request header the API reads (others are ignored); copied. */
void exchange_header(http_exchange *x, const char *name, size_t nlen, const char *value,
                     size_t vlen);
/* Runs an accepted request: answers at once through exchange_send, or
 * hands it to the writer and answers when it is done. */
void exchange_run(http_exchange *x);
/* Runs the parked long polls again when something committed (or every
 * POLL_AGAIN_MS: another node's writes), answering those that found
 * events or whose time is up; with `all`, answers every one now (drain). */
void exchange_poll(http_worker *w, bool all);
/* Sends whatever x->q holds (an answer or an error) on its transport. */
void exchange_send(http_exchange *x);
/* The headers every response carries; returns how many. */
int exchange_headers(http_exchange *x, http_header *h);
/* The transport has taken the answer: metrics, access log, free x. */
void exchange_finish(http_exchange *x);
/* The client left before the request was complete: free x, unlogged. */
void exchange_drop(http_exchange *x);
/* h2o_multithread receiver callback: answers done by the writer. */
void exchange_on_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);
/* The reason phrase of a status ("" when unknown). */
const char *http_reason(int status);
/* The current time as an HTTP Date value, cached per second. */
const char *http_date(http_worker *w);

/* ------------------------------------------------------------- http1.c */

/* Takes a new connection from a listener. */
void http1_accept(http_worker *w, h2o_socket_t *sock, bool metrics_only);
/* Writes x's answer on its connection (x->peer). */
void http1_send(http_exchange *x);
/* Whether a connection is in the middle of a request (drain waits). */
bool http1_busy(http_worker *w);
/* Drain: idle connections get a clean close (FIN, then reading until the
 * client closes), so none is reset. */
void http1_close_idle(http_worker *w);
/* Whether any HTTP/1 connection is still open. */
bool http1_open(http_worker *w);
/* Closes every HTTP/1 connection now (end of the drain). */
void http1_close_all(http_worker *w);

/* ------------------------------------------------------------ server.c */

/* Writes x's answer on its h2o request (HTTP/2, or HTTP/1 after h2o
 * refused an h2c upgrade). */
void server_h2o_send(http_exchange *x);

#endif
