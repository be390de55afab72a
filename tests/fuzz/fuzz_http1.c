/* fuzz_http1.c - libFuzzer target: bytes from a client -> Cairn's HTTP/1
 * parser (request line, header fields, the Content-Length and
 * Transfer-Encoding rules, chunked bodies, pipelining, 100-continue) ->
 * percent-decoding of the path and query -> routes_match.
 *
 * No socket and no event loop turn: src/http/http1.c is compiled into this
 * file, with the few h2o socket calls it makes renamed (by macros, before
 * the #include) to stand-ins that keep the connection's input in memory
 * and record what it writes. So the parser runs exactly as shipped, and
 * the product keeps no hook for the fuzzer. A request that gets through
 * the parser is routed here instead of going to the API (which would need
 * keys and a store; the engine has targets of its own).
 *
 * Input: one control byte, then the bytes the client sends.
 *   bit 7     the connection came from --metrics-listen
 *   bit 6     the server is draining (SIGTERM): idle connections are
 *             closed once the input is used up
 *   bits 0-5  the input arrives in reads of that many + 1 bytes; 63 (the
 *             seeds' '?') means all at once
 * When the bytes run out the client closes its side.
 *
 * What must hold, beyond no sanitizer report: a path that reaches the
 * router is free of control bytes and valid UTF-8, as is every query
 * parameter; a route's path variables are single non-empty segments; and
 * every answer written is "HTTP/1.1 <status> ..." with a Content-Length
 * equal to its body (none for HEAD) and, when JSON, a body that parses. */
#include <h2o.h>
#include <h2o/http1.h>
#include <h2o/http2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "fuzz.h"
#include "http/internal.h"

/* ------------------------------------------------ the socket's stand-in */

/* One connection at a time: what h2o would hold for it. */
static struct {
    h2o_socket_t *sock;
    h2o_socket_cb reader;  /* reading: h2o would call it as bytes arrive */
    h2o_socket_cb written; /* a write in flight: its callback is due */
    bool gone;             /* closed, or handed to h2o */
    api_method method;     /* of the answer being written */
    const char *out_type;  /* its Content-Type */
} io;

static void sock_free(h2o_socket_t *sock)
{
    h2o_buffer_dispose(&sock->input);
    free(sock);
    io.sock = NULL;
    io.reader = io.written = NULL;
    io.gone = true;
}

static void fake_read_start(h2o_socket_t *sock, h2o_socket_cb cb)
{
    (void)sock;
    io.reader = cb;
}

static void fake_read_stop(h2o_socket_t *sock)
{
    (void)sock;
    io.reader = NULL;
}

static int fake_get_fd(h2o_socket_t *sock)
{
    (void)sock;
    return -1; /* linger's shutdown() fails with EBADF, harmlessly */
}

static void fake_close(h2o_socket_t *sock)
{
    sock_free(sock);
}

/* h2o would take the connection (HTTP/2 preface, h2c upgrade): Cairn's
 * parser is done with it. */
static void fake_h2o_accept(h2o_accept_ctx_t *ctx, h2o_socket_t *sock, struct timeval at)
{
    (void)ctx;
    (void)at;
    sock_free(sock);
}

static size_t find(const char *s, size_t n, const char *what)
{
    size_t k = strlen(what);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(s + i, what, k) == 0) return i;
    return SIZE_MAX;
}

/* Checks one answer as the client would read it. */
static void check_answer(const char *head, size_t hlen, const char *body, size_t blen)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (hlen == sizeof cont - 1 && memcmp(head, cont, hlen) == 0 && !blen) return;
    if (hlen < 13 || memcmp(head, "HTTP/1.1 ", 9) != 0 || head[12] != ' ')
        FZ_FAIL("status line: %.*s", (int)(hlen < 40 ? hlen : 40), head);
    for (int i = 9; i < 12; i++)
        if (head[i] < '0' || head[i] > '9') FZ_FAIL("status: %.12s", head);
    size_t end = find(head, hlen, "\r\n\r\n");
    if (end != hlen - 4) FZ_FAIL("the head does not end at its first empty line");
    size_t cl = find(head, hlen, "\r\nContent-Length: ");
    if (cl == SIZE_MAX) FZ_FAIL("no Content-Length");
    size_t want = strtoul(head + cl + 18, NULL, 10);
    if (io.method == M_HEAD) {
        if (blen) FZ_FAIL("a body after HEAD");
        return;
    }
    if (blen != want) FZ_FAIL("Content-Length %zu, body %zu bytes", want, blen);
    if (strcmp(io.out_type, "application/json") == 0) {
        json_error_t je;
        json_t *j = json_loadb(body, blen, 0, &je);
        if (!j) FZ_FAIL("body is not JSON (%s): %.*s", je.text, (int)blen, body);
        json_decref(j);
    }
}

static bool show;

static void fake_write(h2o_socket_t *sock, h2o_iovec_t *bufs, size_t n, h2o_socket_cb cb)
{
    (void)sock;
    if (n < 1 || n > 2) FZ_FAIL("%zu buffers written", n);
    if (io.written) FZ_FAIL("a write while another is in flight");
    check_answer(bufs[0].base, bufs[0].len, n > 1 ? bufs[1].base : "", n > 1 ? bufs[1].len : 0);
    if (show) /* FUZZ_SHOW=1: what a seed gets, when writing one */
        fprintf(stderr, "%.*s%.*s\n", (int)bufs[0].len, bufs[0].base, n > 1 ? (int)bufs[1].len : 0,
                n > 1 ? bufs[1].base : "");
    io.written = cb; /* h2o calls it later, from the loop: so does the driver */
}

/* ------------------------------------------------- the API's stand-in */

static void fake_finish(http_exchange *x)
{
    io.method = x->q.method;
    io.out_type = x->q.out_type;
    exchange_finish(x);
}

static bool valid_text(const char *s, bool path)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (path && (ch < 0x20 || ch == 0x7f)) return false;
    }
    return jw_utf8_valid(s, n);
}

/* What the API would receive: checked, then routed, then answered with
 * the route (or 404/405) as JSON. */
static void fake_run(http_exchange *x)
{
    api_req *q = &x->q;
    if (!q->path || !valid_text(q->path, true)) FZ_FAIL("path let through: %s", q->path);
    for (int i = 0; i < q->nparams; i++)
        if (!valid_text(q->params[i].k, false) || !valid_text(q->params[i].v, false))
            FZ_FAIL("query parameter let through: %s", q->params[i].k);
    if (x->metrics_only) {
        exchange_run(x); /* the metrics listener needs no key and no store */
        return;
    }
    int allowed = 0;
    const api_route *rt = routes_match(q, &allowed);
    if (!rt) {
        api_error(q, allowed ? 405 : 404, allowed ? "method_not_allowed" : "not_found", NULL,
                  "no route");
        exchange_send(x);
        return;
    }
    if (rt->method != q->method && !(q->method == M_HEAD && rt->method == M_GET))
        FZ_FAIL("%s matched another method", rt->pattern);
    int vars = 0;
    for (int k = 0; k < rt->nsegs; k++)
        if (rt->segs[k][0] == '*') {
            const char *v = q->pv[vars++];
            if (!v || !*v || strchr(v, '/')) FZ_FAIL("%s: variable %d is '%s'", rt->pattern, k, v);
        }
    jw *w = api_data(q, 200);
    jw_obj_open(w);
    jw_kstr(w, "route", rt->pattern);
    for (int k = 0; k < vars; k++)
        jw_kstr(w, "var", q->pv[k]);
    jw_obj_close(w);
    api_finish(q);
    exchange_send(x);
}

/* ------------------------------------------ http1.c, with the stand-ins */

#define h2o_socket_read_start fake_read_start
#define h2o_socket_read_stop  fake_read_stop
#define h2o_socket_get_fd     fake_get_fd
#define h2o_socket_close      fake_close
#define h2o_socket_write      fake_write
#define h2o_http1_accept      fake_h2o_accept
#define h2o_http2_accept      fake_h2o_accept
#define exchange_run          fake_run
#define exchange_finish       fake_finish
#include "http/http1.c"
#undef h2o_socket_read_start
#undef h2o_socket_read_stop
#undef h2o_socket_get_fd
#undef h2o_socket_close
#undef h2o_socket_write
#undef h2o_http1_accept
#undef h2o_http2_accept
#undef exchange_run
#undef exchange_finish

/* ------------------------------------------------------------ the driver */

static http_worker worker;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    api_init(&(api_config){0});
    show = getenv("FUZZ_SHOW") != NULL;
    /* A loop that never runs: the timers are linked and unlinked on it. */
    worker.ctx.loop = h2o_evloop_create();
    h2o_linklist_init_anchor(&worker.h1conns);
    h2o_timeout_init(worker.ctx.loop, &worker.io_timeout, HTTP_IO_TIMEOUT_MS);
    h2o_timeout_init(worker.ctx.loop, &worker.linger_timeout, HTTP_LINGER_MS);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    bool metrics_only = data[0] & 0x80;
    worker.draining = data[0] & 0x40;
    size_t step = (data[0] & 0x3f) == 0x3f ? SIZE_MAX : (size_t)(data[0] & 0x3f) + 1;
    const char *in = (const char *)data + 1;
    size_t n = size - 1, pos = 0;

    memset(&io, 0, sizeof io);
    io.sock = calloc(1, sizeof *io.sock);
    if (!io.sock) abort();
    h2o_buffer_init(&io.sock->input, &h2o_socket_buffer_prototype);
    http1_accept(&worker, io.sock, metrics_only);

    /* What the event loop would do: finish writes, deliver reads, and at
     * the end of the bytes deliver the client's close. */
    bool drained = false;
    while (!io.gone) {
        if (io.written) {
            h2o_socket_cb cb = io.written;
            io.written = NULL;
            cb(io.sock, NULL);
        } else if (io.reader && pos < n) {
            size_t k = n - pos < step ? n - pos : step;
            h2o_iovec_t room = h2o_buffer_reserve(&io.sock->input, k);
            memcpy(room.base, in + pos, k);
            io.sock->input->size += k;
            pos += k;
            io.reader(io.sock, NULL);
        } else if (worker.draining && !drained) {
            drained = true;
            (void)http1_busy(&worker);
            http1_close_idle(&worker);
        } else if (io.reader) {
            io.reader(io.sock, "closed by the client");
        } else {
            conn_close(io.sock->data); /* stalled: nothing more will come */
        }
    }
    if (worker.inflight != 0) FZ_FAIL("%d exchanges left", worker.inflight);
    if (!h2o_linklist_is_empty(&worker.h1conns)) FZ_FAIL("a connection left open");
    return 0;
}
