/* server.c - worker threads, listeners, h2o and the drain; see server.h.
 *
 * Each worker thread runs one event loop with its own store connection,
 * accepts from the listeners (dup'd descriptors of the same sockets) and
 * owns every connection it accepted. HTTP/1.x connections are Cairn's own
 * (http1.c); h2o serves HTTP/2 (prior knowledge, or an h2c upgrade handed
 * over by http1.c) and calls on_req() for each stream. Either way a
 * request becomes an exchange (exchange.c): reads answer at once; writes
 * go to the writer thread (api/writer.h), which posts the exchange back
 * to this thread's message queue when its batch has committed. If an h2o
 * client went away meanwhile, h2o disposes of the request's pool and the
 * dispose hook clears the exchange's peer, so the answer is only logged.
 *
 * Drain (SIGTERM): the listeners close; h2o sends GOAWAY on HTTP/2; every
 * HTTP/1 answer from now on says Connection: close; requests that arrive
 * on open connections meanwhile are still answered. When nothing is in
 * flight (or DRAIN_MS has passed), idle HTTP/1 connections get a clean
 * close: FIN, then reading until the client closes, so none is reset. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "events/exports.h"
#include "events/mail.h"
#include "events/webhooks.h"
#include "http/internal.h"

#define MAX_THREADS     64
#define DRAIN_MS        10000 /* in-flight requests get this long */
#define DRAIN_GRACE_MS  200   /* requests already on the wire get this long */
#define DRAIN_LINGER_MS 1000  /* idle connections closing cleanly */
#define DRAIN_FLUSH_MS  200   /* h2o's last bytes (HTTP/2 answers, GOAWAY) */

static h2o_globalconf_t globalconf;
static http_worker workers[MAX_THREADS];
static int nworkers;
static int listen_fd = -1, metrics_fd = -1;
static atomic_bool stopping;
/* Whether each worker still has work in flight while draining. Every
 * worker drains until none has, so a request arriving on an idle
 * connection of one thread is answered while another finishes an upload. */
static atomic_bool draining_busy[MAX_THREADS];

/* ------------------------------------------------------------------ h2o */

static void free_owned(void *p)
{
    free(*(void **)p);
}

/* A file answer (an asset's download) over h2o: a piece at a time, each
 * read when h2o asks for the next (proceed), so neither memory nor the
 * event loop holds the whole file. Lives in the request's pool. */
#define FILE_CHUNK (256u << 10)
typedef struct file_gen {
    h2o_generator_t super;
    int fd;
    uint64_t left;
    char buf[FILE_CHUNK];
} file_gen;

static void file_gen_close(file_gen *f)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
}

static void file_gen_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    file_gen *f = (file_gen *)g;
    size_t want = f->left < FILE_CHUNK ? (size_t)f->left : FILE_CHUNK;
    ssize_t n = 0;
    if (want && f->fd >= 0) do
            n = read(f->fd, f->buf, want);
        while (n < 0 && errno == EINTR);
    if (want && n <= 0) {
        file_gen_close(f);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
        return;
    }
    f->left -= (uint64_t)n;
    h2o_iovec_t v = h2o_iovec_init(f->buf, (size_t)n);
    if (!f->left) file_gen_close(f);
    h2o_send(req, &v, n ? 1 : 0, f->left ? H2O_SEND_STATE_IN_PROGRESS : H2O_SEND_STATE_FINAL);
}

static void file_gen_stop(h2o_generator_t *g, h2o_req_t *req)
{
    (void)req;
    file_gen_close((file_gen *)g);
}

static void file_gen_dispose(void *p)
{
    file_gen_close(p);
}

void server_h2o_send(http_exchange *x)
{
    static h2o_generator_t generator = {NULL, NULL};
    h2o_req_t *req = x->peer;
    api_req *q = &x->q;
    if (q->file_fd >= 0) {
        file_gen *f = h2o_mem_alloc_shared(&req->pool, sizeof *f, file_gen_dispose);
        *f = (file_gen){.super = {file_gen_proceed, file_gen_stop},
                        .fd = q->file_fd,
                        .left = q->method == M_HEAD ? 0 : q->file_size};
        q->file_fd = -1;
        if (x->slot) *x->slot = NULL;
        req->res.status = q->status;
        req->res.reason = http_reason(q->status);
        http_header hs[HTTP_MAX_RESP_HEADERS];
        int n = exchange_headers(x, hs);
        for (int i = 0; i < n; i++)
            h2o_add_header_by_str(&req->pool, &req->res.headers, hs[i].name, strlen(hs[i].name), 1,
                                  NULL, h2o_strdup(&req->pool, hs[i].value, SIZE_MAX).base,
                                  strlen(hs[i].value));
        req->res.content_length = q->file_size;
        exchange_finish(x);
        h2o_start_response(req, &f->super);
        file_gen_proceed(&f->super, req);
        return;
    }
    if (x->slot) *x->slot = NULL; /* the dispose hook must not touch x any more */
    req->res.status = q->status;
    req->res.reason = http_reason(q->status);
    http_header hs[HTTP_MAX_RESP_HEADERS];
    int n = exchange_headers(x, hs);
    for (int i = 0; i < n; i++)
        h2o_add_header_by_str(&req->pool, &req->res.headers, hs[i].name, strlen(hs[i].name), 1,
                              NULL, h2o_strdup(&req->pool, hs[i].value, SIZE_MAX).base,
                              strlen(hs[i].value));
    /* The body's heap buffer passes to the request's pool, which frees it
     * once h2o has written it: no copy. */
    h2o_iovec_t body = h2o_iovec_init(q->out.data ? q->out.data : "", q->out.len);
    if (q->out.data) {
        void **owned = h2o_mem_alloc_shared(&req->pool, sizeof(void *), free_owned);
        *owned = q->out.data;
        buf_init(&q->out, q->out.limit); /* detached: release must not free it */
    }
    req->res.content_length = body.len;
    /* HEAD: the length GET would send, and no body (on HTTP/2 a DATA
     * frame here is a protocol error). */
    bool head = q->method == M_HEAD;
    exchange_finish(x);
    h2o_start_response(req, &generator);
    h2o_send(req, head ? NULL : &body, head ? 0 : 1, H2O_SEND_STATE_FINAL);
}

static void on_req_dispose(void *p)
{
    http_exchange **slot = p;
    if (*slot) (*slot)->peer = NULL;
}

/* A request h2o parsed: an HTTP/2 stream, or HTTP/1 on a connection whose
 * h2c upgrade h2o refused. */
static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    http_worker *w = H2O_STRUCT_FROM_MEMBER(http_worker, ctx, req->conn->ctx);
    http_exchange *x = exchange_new(w, HTTP_T_H2O, req);
    x->slot = h2o_mem_alloc_shared(&req->pool, sizeof *x->slot, on_req_dispose);
    *x->slot = x;
    if (!exchange_target(x, req->method.base, req->method.len, req->path.base, req->path.len)) {
        exchange_send(x);
        return 0;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < req->headers.size; i++)
        bytes += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    if (req->headers.size > HTTP_MAX_HEADERS || bytes > HTTP_MAX_HEADER_BYTES) {
        api_error(&x->q, 431, "headers_too_large", NULL,
                  "request headers exceed %d fields or %d bytes", HTTP_MAX_HEADERS,
                  HTTP_MAX_HEADER_BYTES);
        exchange_send(x);
        return 0;
    }
    for (size_t i = 0; i < req->headers.size; i++) {
        h2o_header_t *h = &req->headers.entries[i];
        exchange_header(x, h->name->base, h->name->len, h->value.base, h->value.len);
    }
    if (req->entity.base) {
        x->q.body = req->entity.base; /* borrowed: lives as long as req */
        x->q.body_len = req->entity.len;
    }
    exchange_run(x);
    return 0;
}

/* -------------------------------------------------------------- workers */

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err) return;
    http_worker *w = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (!sock) return;
    int one = 1;
    setsockopt(h2o_socket_get_fd(sock), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    http1_accept(w, sock, listener == w->metrics_listener);
}

static h2o_socket_t *listen_on(http_worker *w, int fd)
{
    h2o_socket_t *l = h2o_evloop_socket_create(w->ctx.loop, dup(fd), H2O_SOCKET_FLAG_DONT_READ);
    l->data = w;
    h2o_socket_read_start(l, on_accept);
    return l;
}

static void run_for(http_worker *w, uint64_t ms)
{
    uint64_t until = time_now_ms() + ms;
    while (time_now_ms() < until)
        h2o_evloop_run(w->ctx.loop, 10);
}

static void drain(http_worker *w)
{
    w->draining = true;
    h2o_socket_read_stop(w->listener);
    h2o_socket_close(w->listener);
    if (w->metrics_listener) {
        h2o_socket_read_stop(w->metrics_listener);
        h2o_socket_close(w->metrics_listener);
        w->metrics_listener = NULL;
    }
    h2o_context_request_shutdown(&w->ctx);
    /* In-flight requests (including writes queued on the writer, and
     * HTTP/1 requests whose head or body is still arriving) finish; open
     * connections keep being served, each answer closing its connection. */
    uint64_t start = time_now_ms();
    for (;;) {
        uint64_t now = time_now_ms();
        atomic_store(&draining_busy[w->index], w->inflight > 0 || http1_busy(w));
        bool busy = false;
        for (int i = 0; i < nworkers; i++)
            busy |= atomic_load(&draining_busy[i]);
        if (now >= start + DRAIN_MS || (!busy && now >= start + DRAIN_GRACE_MS)) break;
        h2o_evloop_run(w->ctx.loop, 10);
        exchange_poll(w, true); /* a long poll that came meanwhile answers at once */
    }
    atomic_store(&draining_busy[w->index], false); /* past DRAIN_MS: stop waiting for it */
    http1_close_idle(w);
    uint64_t until = time_now_ms() + DRAIN_LINGER_MS;
    while (http1_open(w) && time_now_ms() < until)
        h2o_evloop_run(w->ctx.loop, 10);
    http1_close_all(w);
    run_for(w, DRAIN_FLUSH_MS);
}

static void *worker_main(void *arg)
{
    http_worker *w = arg;
    h2o_context_init(&w->ctx, h2o_evloop_create(), &globalconf);
    w->accept_ctx.ctx = &w->ctx;
    w->accept_ctx.hosts = globalconf.hosts;
    h2o_linklist_init_anchor(&w->h1conns);
    h2o_linklist_init_anchor(&w->parked);
    h2o_timeout_init(w->ctx.loop, &w->io_timeout, HTTP_IO_TIMEOUT_MS);
    h2o_timeout_init(w->ctx.loop, &w->linger_timeout, HTTP_LINGER_MS);
    w->queue = h2o_multithread_create_queue(w->ctx.loop);
    h2o_multithread_register_receiver(w->queue, &w->receiver, exchange_on_messages);
    w->listener = listen_on(w, listen_fd);
    if (metrics_fd >= 0) w->metrics_listener = listen_on(w, metrics_fd);

    while (!atomic_load(&stopping)) {
        /* Long polls look again for events every few milliseconds. */
        h2o_evloop_run(w->ctx.loop, h2o_linklist_is_empty(&w->parked) ? 100 : 10);
        exchange_poll(w, false);
    }
    exchange_poll(w, true);
    drain(w);
    return NULL;
}

static int open_listener(const char *spec, char *bound, size_t cap)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1]) {
        fprintf(stderr, "cairn: --listen wants HOST:PORT, got '%s'\n", spec);
        return -1;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - spec), spec);
    if (host[0] == '[') { /* [::1]:8080 */
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *res = NULL;
    int gai = getaddrinfo(host, colon + 1, &hints, &res);
    if (gai) {
        fprintf(stderr, "cairn: cannot resolve %s: %s\n", spec, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        fprintf(stderr, "cairn: cannot listen on %s: %s\n", spec, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    char ip[INET6_ADDRSTRLEN] = "";
    int port = 0;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        port = ntohs(a->sin_port);
        snprintf(bound, cap, "%s:%d", ip, port);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        port = ntohs(a->sin6_port);
        snprintf(bound, cap, "[%s]:%d", ip, port);
    }
    return fd;
}

int server_run(const server_config *cfg)
{
    char bound[300], mbound[300];
    listen_fd = open_listener(cfg->listen, bound, sizeof bound);
    if (listen_fd < 0) return 1;
    if (cfg->metrics_listen) {
        metrics_fd = open_listener(cfg->metrics_listen, mbound, sizeof mbound);
        if (metrics_fd < 0) {
            close(listen_fd);
            return 1;
        }
    }
    exchange_set_access_log(cfg->access_log);

    h2o_config_init(&globalconf);
    /* No "Server: h2o/2.2.5": a version tells an attacker which bugs to try. */
    globalconf.server_name = h2o_iovec_init(H2O_STRLIT(""));
    /* HTTP/2 bodies: we answer >1 MiB with our own 413 (HTTP/1 is ours). */
    globalconf.max_request_entity_size = 16u << 20;
    globalconf.http1.req_timeout = 10000;
    globalconf.http2.idle_timeout = 10000;
    globalconf.http1.upgrade_to_http2 = 1;
    h2o_hostconf_t *host =
        h2o_config_register_host(&globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(path, sizeof *handler);
    handler->on_req = on_req;

    /* No thread but this one may take the signals, and every thread
     * inherits the mask of its creator: block them before the writer's
     * threads start, or a SIGTERM landing on one of them before sigwait()
     * runs kills the process instead of draining it. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    store_err e;
    if (writer_start(cfg->db, cfg->writers, &e) != STORE_OK) {
        fprintf(stderr, "cairn: %s\n", e.msg);
        close(listen_fd);
        if (metrics_fd >= 0) close(metrics_fd);
        return 1;
    }
    /* The workers that send webhook deliveries and queued emails, writing
     * their results through the writers. */
    bool mail = mail_start(cfg->db, &e) == STORE_OK;
    bool hooks = mail && webhooks_start(cfg->db, cfg->webhook_allow_private, &e) == STORE_OK;
    if (!hooks || exports_start(cfg->db, &e) != STORE_OK) {
        fprintf(stderr, "cairn: %s\n", e.msg);
        if (hooks) webhooks_stop();
        if (mail) mail_stop();
        writer_stop();
        close(listen_fd);
        if (metrics_fd >= 0) close(metrics_fd);
        return 1;
    }

    nworkers = cfg->threads < 1 ? 1 : cfg->threads > MAX_THREADS ? MAX_THREADS : cfg->threads;
    int started = 0;
    for (int i = 0; i < nworkers; i++) {
        http_worker *w = &workers[i];
        memset(w, 0, sizeof *w);
        w->index = i;
        if (store_connect(cfg->db, &w->conn, &e) != STORE_OK) {
            fprintf(stderr, "cairn: %s\n", e.msg);
            break;
        }
        if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
            store_disconnect(w->conn);
            break;
        }
        char name[32]; /* for top -H, perf and gdb: 15 bytes at most */
        snprintf(name, sizeof name, "cairn-http%d", i);
        name[15] = '\0';
        pthread_setname_np(w->tid, name);
        started++;
    }
    if (started == nworkers) {
        /* "listening" last: whoever waits for it may rely on the rest. */
        if (metrics_fd >= 0) printf("metrics on http://%s/metrics\n", mbound);
        printf("listening on http://%s\n", bound);
        fflush(stdout);
        int sig = 0;
        sigwait(&set, &sig);
        fprintf(stderr, "{\"level\":\"info\",\"msg\":\"signal %d: draining\"}\n", sig);
    }
    /* Busy until each worker has looked for itself. */
    for (int i = 0; i < started; i++)
        atomic_store(&draining_busy[i], true);
    atomic_store(&stopping, true);
    for (int i = 0; i < started; i++)
        pthread_join(workers[i].tid, NULL);
    exports_stop();
    webhooks_stop(); /* their attempts are recorded by the writers */
    mail_stop();
    writer_stop();
    /* The h2o contexts are left to process exit: idle keep-alive
     * connections still hold timers, which h2o_context_dispose asserts
     * against, and nothing remains to be flushed. */
    for (int i = 0; i < started; i++)
        store_disconnect(workers[i].conn);
    close(listen_fd);
    if (metrics_fd >= 0) close(metrics_fd);
    return started == nworkers ? 0 : 1;
}
