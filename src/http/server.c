/* server.c - h2o adapter; see server.h.
 *
 * Request path: on_req() copies what the API needs out of h2o's request
 * into an api_req and runs api_handle(). Reads answer at once. Writes go to
 * the writer thread (api/writer.h); when their batch has committed, the
 * writer posts the job back to this thread's message queue and on_done()
 * sends the answer. If the client went away meanwhile, h2o disposes of the
 * request's pool; the dispose hook marks the job orphaned so on_done() only
 * frees it. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <h2o.h>
#include <h2o/http1.h>
#include <h2o/http2.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/writer.h"
#include "core/timeutil.h"

#define MAX_URL          8192
#define MAX_HEADER_BYTES (16 * 1024)
#define MAX_THREADS      64
#define DRAIN_MS         10000

typedef struct worker {
    int index;
    pthread_t tid;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver;
    store_conn *conn;
    int inflight; /* requests not yet answered; touched only by this thread */
} worker;

typedef struct job {
    writer_job wj;
    h2o_multithread_message_t msg;
    worker *w;
    h2o_req_t *req;    /* NULL once h2o disposed of it */
    struct job **slot; /* in req->pool; cleared when we are done */
    api_req q;
} job;

static h2o_globalconf_t globalconf;
static worker workers[MAX_THREADS];
static int nworkers;
static int listen_fd = -1;
static atomic_bool stopping;
static FILE *access_log;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *method_str(api_method m)
{
    static const char *n[] = {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OTHER"};
    return n[m];
}

static api_method parse_method(h2o_iovec_t m)
{
    if (h2o_memis(m.base, m.len, H2O_STRLIT("GET"))) return M_GET;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("POST"))) return M_POST;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("PATCH"))) return M_PATCH;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("DELETE"))) return M_DELETE;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("PUT"))) return M_PUT;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("HEAD"))) return M_HEAD;
    return M_OTHER;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes (and '+' to space in queries) into the arena. */
static char *decode(arena *a, const char *s, size_t n, bool query)
{
    char *out = arena_alloc(a, n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (query && s[i] == '+') {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static int parse_query(api_req *q, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '&')
            j++;
        if (j > i) {
            if (q->nparams == API_MAX_PARAMS) return -1;
            size_t eq = i;
            while (eq < j && s[eq] != '=')
                eq++;
            api_param *p = &q->params[q->nparams++];
            p->k = decode(&q->a, s + i, eq - i, true);
            p->v = eq < j ? decode(&q->a, s + eq + 1, j - eq - 1, true) : "";
            p->used = false;
        }
        i = j + 1;
    }
    return 0;
}

static void log_request(api_req *q, uint64_t dur_ns)
{
    if (!access_log) return;
    char t[TIME_STR];
    time_format_ms(time_now_ms(), t);
    buf b;
    buf_init(&b, 16384);
    buf_printf(&b, "{\"time\":\"%s\",\"method\":\"%s\",\"path\":", t, method_str(q->method));
    jw_escape(&b, q->path ? q->path : "", q->path ? strlen(q->path) : 0);
    buf_printf(&b, ",\"status\":%d,\"duration_ms\":%.3f,\"request_id\":\"%s\"", q->status,
               (double)dur_ns / 1e6, q->request_id);
    if (q->authed) buf_printf(&b, ",\"workspace_id\":\"%s\",\"key_id\":\"%s\"", q->ws, q->key.id);
    if (q->replayed) buf_puts(&b, ",\"idempotent_replay\":true");
    buf_puts(&b, "}\n");
    pthread_mutex_lock(&log_mu);
    fwrite(b.data, 1, b.len, access_log);
    fflush(access_log);
    pthread_mutex_unlock(&log_mu);
    buf_free(&b);
}

static void add_header(h2o_req_t *req, const char *name, const char *value)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL,
                          h2o_strdup(&req->pool, value, SIZE_MAX).base, strlen(value));
}

static void free_owned(void *p)
{
    free(*(void **)p);
}

/* Sends q's response on req and releases q. */
static void respond(worker *w, h2o_req_t *req, api_req *q)
{
    static h2o_generator_t generator = {NULL, NULL};
    if (q->out.overflow) api_error(q, 500, "internal", NULL, "response too large");
    req->res.status = q->status;
    req->res.reason = "";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   h2o_strdup(&req->pool, q->out_type, SIZE_MAX).base, strlen(q->out_type));
    add_header(req, "x-request-id", q->request_id);
    if (q->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", q->retry_after);
        add_header(req, "retry-after", ra);
    }
    if (q->ratelimit[0]) {
        add_header(req, "x-ratelimit-limit", q->ratelimit[0]);
        add_header(req, "x-ratelimit-remaining", q->ratelimit[1]);
        add_header(req, "x-ratelimit-reset", q->ratelimit[2]);
    }
    if (q->replayed) add_header(req, "idempotent-replayed", "true");
    /* The body's heap buffer passes to the request's pool, which frees it
     * once h2o has written it: no copy. */
    h2o_iovec_t body = h2o_iovec_init(q->out.data ? q->out.data : "", q->out.len);
    if (q->out.data) {
        void **owned = h2o_mem_alloc_shared(&req->pool, sizeof(void *), free_owned);
        *owned = q->out.data;
        buf_init(&q->out, q->out.limit); /* detached: release must not free it */
    }
    req->res.content_length = body.len;
    uint64_t dur = time_mono_ns() - q->start_ns;
    api_metrics_observe(q, dur);
    log_request(q, dur);
    api_req_release(q);
    w->inflight--;
    h2o_start_response(req, &generator);
    h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

static void on_writer_done(writer_job *wj)
{
    job *j = (job *)wj;
    h2o_multithread_send_message(&j->w->receiver, &j->msg);
}

static void on_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m =
            H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        job *j = H2O_STRUCT_FROM_MEMBER(job, msg, m);
        if (j->req) {
            *j->slot = NULL;
            respond(j->w, j->req, &j->q);
        } else {
            api_metrics_observe(&j->q, time_mono_ns() - j->q.start_ns);
            log_request(&j->q, time_mono_ns() - j->q.start_ns);
            api_req_release(&j->q);
            j->w->inflight--;
        }
        free(j);
    }
}

static void on_req_dispose(void *p)
{
    job **slot = p;
    if (*slot) (*slot)->req = NULL;
}

static bool too_big_headers(h2o_req_t *req, size_t *total)
{
    size_t n = 0;
    for (size_t i = 0; i < req->headers.size; i++)
        n += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    *total = n;
    return n > MAX_HEADER_BYTES;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    worker *w = H2O_STRUCT_FROM_MEMBER(worker, ctx, req->conn->ctx);
    job *j = calloc(1, sizeof *j);
    if (!j) abort();
    api_req *q = &j->q;
    api_req_init(q);
    q->start_ns = time_mono_ns();
    q->conn = w->conn;
    q->method = parse_method(req->method);
    w->inflight++;

    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    q->path = decode(&q->a, req->path.base, plen, false);
    size_t hbytes;
    if (req->path.len > MAX_URL) {
        api_error(q, 414, "uri_too_long", NULL, "the URL exceeds %d bytes", MAX_URL);
    } else if (too_big_headers(req, &hbytes)) {
        api_error(q, 431, "headers_too_large", NULL, "request headers exceed %d bytes",
                  MAX_HEADER_BYTES);
    } else if (req->query_at != SIZE_MAX && parse_query(q, req->path.base + req->query_at + 1,
                                                        req->path.len - req->query_at - 1)) {
        api_error(q, 400, "validation_failed", NULL, "too many query parameters (max %d)",
                  API_MAX_PARAMS);
    } else {
        for (size_t i = 0; i < req->headers.size; i++) {
            h2o_header_t *h = &req->headers.entries[i];
            const char **dst = NULL;
            if (h->name == &H2O_TOKEN_AUTHORIZATION->buf)
                dst = &q->authorization;
            else if (h->name == &H2O_TOKEN_CONTENT_TYPE->buf)
                dst = &q->content_type;
            else if (h2o_lcstris(h->name->base, h->name->len, H2O_STRLIT("idempotency-key")))
                dst = &q->idem_key;
            if (dst) *dst = arena_strndup(&q->a, h->value.base, h->value.len);
        }
        if (req->entity.base) {
            q->body = req->entity.base; /* borrowed: lives as long as req */
            q->body_len = req->entity.len;
        }
        api_handle(q);
    }
    if (!q->deferred) {
        respond(w, req, q);
        free(j);
        return 0;
    }
    /* The writer outlives nothing of h2o's: copy the body into the arena. */
    if (q->body) q->body = arena_strndup(&q->a, q->body, q->body_len);
    j->w = w;
    j->req = req;
    j->slot = h2o_mem_alloc_shared(&req->pool, sizeof(job *), on_req_dispose);
    *j->slot = j;
    j->wj.q = q;
    j->wj.done = on_writer_done;
    writer_submit(&j->wj);
    return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err) return;
    worker *w = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (!sock) return;
    int one = 1;
    setsockopt(h2o_socket_get_fd(sock), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    h2o_accept(&w->accept_ctx, sock);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    h2o_context_init(&w->ctx, h2o_evloop_create(), &globalconf);
    w->accept_ctx.ctx = &w->ctx;
    w->accept_ctx.hosts = globalconf.hosts;
    w->queue = h2o_multithread_create_queue(w->ctx.loop);
    h2o_multithread_register_receiver(w->queue, &w->receiver, on_messages);
    int fd = dup(listen_fd);
    w->listener = h2o_evloop_socket_create(w->ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    w->listener->data = w;
    h2o_socket_read_start(w->listener, on_accept);

    while (!atomic_load(&stopping))
        h2o_evloop_run(w->ctx.loop, 100);

    /* Drain: stop accepting, let in-flight requests (including writes
     * queued on the writer) finish and their bytes leave. */
    h2o_socket_read_stop(w->listener);
    h2o_socket_close(w->listener);
    h2o_context_request_shutdown(&w->ctx);
    uint64_t until = time_now_ms() + DRAIN_MS;
    while (w->inflight > 0 && time_now_ms() < until)
        h2o_evloop_run(w->ctx.loop, 10);
    uint64_t flush = time_now_ms() + 200;
    while (time_now_ms() < flush)
        h2o_evloop_run(w->ctx.loop, 10);
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
    char bound[300];
    listen_fd = open_listener(cfg->listen, bound, sizeof bound);
    if (listen_fd < 0) return 1;
    access_log = cfg->access_log;

    h2o_config_init(&globalconf);
    globalconf.max_request_entity_size = 16u << 20; /* we answer >1 MiB with our own 413 */
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
    if (writer_start(cfg->db, &e) != STORE_OK) {
        fprintf(stderr, "cairn: %s\n", e.msg);
        close(listen_fd);
        return 1;
    }

    nworkers = cfg->threads < 1 ? 1 : cfg->threads > MAX_THREADS ? MAX_THREADS : cfg->threads;
    int started = 0;
    for (int i = 0; i < nworkers; i++) {
        worker *w = &workers[i];
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
        started++;
    }
    if (started == nworkers) {
        printf("listening on http://%s\n", bound);
        fflush(stdout);
        int sig = 0;
        sigwait(&set, &sig);
        fprintf(stderr, "{\"level\":\"info\",\"msg\":\"signal %d: draining\"}\n", sig);
    }
    atomic_store(&stopping, true);
    for (int i = 0; i < started; i++)
        pthread_join(workers[i].tid, NULL);
    writer_stop();
    /* The h2o contexts are left to process exit: idle keep-alive
     * connections still hold timers, which h2o_context_dispose asserts
     * against, and nothing remains to be flushed. */
    for (int i = 0; i < started; i++)
        store_disconnect(workers[i].conn);
    close(listen_fd);
    return started == nworkers ? 0 : 1;
}
