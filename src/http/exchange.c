/* exchange.c - one request's trip through the API; see internal.h.
 *
 * Both protocols come through here with the raw request target and
 * headers, so the rules about what reaches the API (decoding, the byte
 * checks, the limits) and what every answer carries are written once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "http/internal.h"

static FILE *access_log;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

void exchange_set_access_log(FILE *f)
{
    access_log = f;
}

static const char *method_str(api_method m)
{
    static const char *n[] = {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OTHER"};
    return n[m];
}

static api_method parse_method(const char *m, size_t n)
{
    if (h2o_memis(m, n, H2O_STRLIT("GET"))) return M_GET;
    if (h2o_memis(m, n, H2O_STRLIT("POST"))) return M_POST;
    if (h2o_memis(m, n, H2O_STRLIT("PATCH"))) return M_PATCH;
    if (h2o_memis(m, n, H2O_STRLIT("DELETE"))) return M_DELETE;
    if (h2o_memis(m, n, H2O_STRLIT("PUT"))) return M_PUT;
    if (h2o_memis(m, n, H2O_STRLIT("HEAD"))) return M_HEAD;
    return M_OTHER;
}

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "";
    }
}

const char *http_date(http_worker *w)
{
    time_t now = time(NULL);
    if (now != w->date_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(w->date, sizeof w->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        w->date_at = now;
    }
    return w->date;
}

http_exchange *exchange_new(http_worker *w, http_transport t, void *peer)
{
    http_exchange *x = calloc(1, sizeof *x);
    if (!x) abort();
    api_req_init(&x->q);
    x->q.start_ns = time_mono_ns();
    x->q.conn = w->conn;
    x->q.method = M_OTHER; /* until the request line says; a refused one is logged so */
    x->w = w;
    x->t = t;
    x->peer = peer;
    w->inflight++;
    return x;
}

/* ---------------------------------------------------------------- target */

/* Percent-decodes (and '+' to space in queries) into the arena; *len is
 * the decoded length, which a %00 makes longer than strlen. */
static char *decode(arena *a, const char *s, size_t n, bool query, size_t *len)
{
    char *out = arena_alloc(a, n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && http_hexval(s[i + 1]) >= 0 && http_hexval(s[i + 2]) >= 0) {
            *o++ = (char)(http_hexval(s[i + 1]) * 16 + http_hexval(s[i + 2]));
            i += 2;
        } else if (query && s[i] == '+') {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    *len = (size_t)(o - out);
    return out;
}

/* What is wrong with decoded text, or NULL. The API takes C strings, so a
 * NUL would cut "con_1%00junk" to "con_1" and act on that record; a path
 * has no business holding any control byte; and ill-formed UTF-8 could
 * only be stored or echoed as garbage. */
static const char *bad_text(const char *s, size_t n, bool path)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0) return "contains a NUL byte";
        if (path && (c < 0x20 || c == 0x7f)) return "contains a control character";
    }
    return jw_utf8_valid(s, n) ? NULL : "is not valid UTF-8";
}

static bool parse_query(api_req *q, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '&')
            j++;
        if (j > i) {
            if (q->nparams == API_MAX_PARAMS) {
                api_error(q, 400, "validation_failed", NULL, "too many query parameters (max %d)",
                          API_MAX_PARAMS);
                return false;
            }
            size_t eq = i, klen, vlen = 0;
            while (eq < j && s[eq] != '=')
                eq++;
            api_param *p = &q->params[q->nparams++];
            p->k = decode(&q->a, s + i, eq - i, true, &klen);
            p->v = eq < j ? decode(&q->a, s + eq + 1, j - eq - 1, true, &vlen) : "";
            p->used = false;
            const char *why = bad_text(p->k, klen, false);
            if (why) {
                /* The name is echoed through the JSON writer, which turns
                 * ill-formed bytes into U+FFFD. */
                api_error(q, 400, "validation_failed", p->k, "a query parameter name %s", why);
                return false;
            }
            if ((why = bad_text(p->v, vlen, false)) != NULL) {
                api_error(q, 400, "validation_failed", p->k, "query parameter '%s' %s", p->k, why);
                return false;
            }
        }
        i = j + 1;
    }
    return true;
}

bool exchange_target(http_exchange *x, const char *method, size_t mlen, const char *target,
                     size_t tlen)
{
    api_req *q = &x->q;
    q->method = parse_method(method, mlen);
    const char *qm = memchr(target, '?', tlen);
    size_t plen = qm ? (size_t)(qm - target) : tlen, dlen;
    q->path = decode(&q->a, target, plen, false, &dlen);
    if (tlen > HTTP_MAX_URL) {
        api_error(q, 414, "uri_too_long", NULL, "the URL exceeds %d bytes", HTTP_MAX_URL);
        return false;
    }
    const char *why = bad_text(q->path, dlen, true);
    if (why) {
        api_error(q, 400, "validation_failed", NULL, "the path %s", why);
        return false; /* the access log still shows it: jw_escape makes it safe */
    }
    return !qm || parse_query(q, qm + 1, tlen - plen - 1);
}

void exchange_header(http_exchange *x, const char *name, size_t nlen, const char *value,
                     size_t vlen)
{
    const char **dst = NULL;
    if (h2o_lcstris(name, nlen, H2O_STRLIT("authorization")))
        dst = &x->q.authorization;
    else if (h2o_lcstris(name, nlen, H2O_STRLIT("content-type")))
        dst = &x->q.content_type;
    else if (h2o_lcstris(name, nlen, H2O_STRLIT("idempotency-key")))
        dst = &x->q.idem_key;
    else if (h2o_lcstris(name, nlen, H2O_STRLIT("origin")))
        dst = &x->q.origin;
    else if (h2o_lcstris(name, nlen, H2O_STRLIT("host")))
        dst = &x->q.host;
    else if (h2o_lcstris(name, nlen, H2O_STRLIT("mcp-protocol-version")))
        dst = &x->q.mcp_version;
    if (dst) *dst = arena_strndup(&x->q.a, value, vlen);
}

/* ------------------------------------------------------------------- run */

static void on_writer_done(writer_job *wj)
{
    http_exchange *x = (http_exchange *)wj;
    h2o_multithread_send_message(&x->w->receiver, &x->msg);
}

void exchange_on_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m =
            H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        exchange_send(H2O_STRUCT_FROM_MEMBER(http_exchange, msg, m));
    }
}

/* The --metrics-listen listener: /metrics for whoever can reach it (that
 * address is the operator's access control), nothing else. */
static void serve_metrics(api_req *q)
{
    if (strcmp(q->path, "/metrics") != 0) {
        api_error(q, 404, "not_found", NULL, "this listener serves only /metrics");
    } else if (q->method != M_GET && q->method != M_HEAD) {
        api_error(q, 405, "method_not_allowed", NULL, "this path does not accept that method");
    } else {
        q->status = 200;
        q->out_type = "text/plain; version=0.0.4";
        api_metrics_render(&q->out);
    }
}

void exchange_run(http_exchange *x)
{
    api_req *q = &x->q;
    if (x->metrics_only) {
        serve_metrics(q);
        exchange_send(x);
        return;
    }
    api_handle(q);
    if (q->parked) {
        h2o_linklist_insert(&x->w->parked, &x->park_link);
        return;
    }
    if (!q->deferred) {
        exchange_send(x);
        return;
    }
    /* The writer outlives the transport's buffers: copy the body. */
    if (q->body) q->body = arena_strndup(&q->a, q->body, q->body_len);
    x->wj.q = q;
    x->wj.done = on_writer_done;
    writer_submit(&x->wj);
}

/* A parked poll runs again at least this often (another node's commits do
 * not count here), and at most this often however much commits: each run
 * takes a little of its request's memory. */
#define POLL_AGAIN_MS 500
#define POLL_MIN_MS   50

void exchange_poll(http_worker *w, bool all)
{
    uint64_t now = time_now_ms(), commits = api_commits();
    h2o_linklist_t *n = w->parked.next;
    while (n != &w->parked) {
        http_exchange *x = H2O_STRUCT_FROM_MEMBER(http_exchange, park_link, n);
        n = n->next;
        api_req *q = &x->q;
        bool due = now >= q->poll_until_ms;
        bool changed = q->polled_commits != commits && now - q->polled_ms >= POLL_MIN_MS;
        if (!all && !due && !changed && now - q->polled_ms < POLL_AGAIN_MS) continue;
        if (!all) api_poll(q);
        if (all || due || !q->parked) {
            q->parked = false;
            h2o_linklist_unlink(&x->park_link);
            exchange_send(x);
        }
    }
}

void exchange_send(http_exchange *x)
{
    if (x->q.out.overflow) api_error(&x->q, 500, "internal", NULL, "response too large");
    if (!x->peer)
        exchange_finish(x);
    else if (x->t == HTTP_T_H1)
        http1_send(x);
    else
        server_h2o_send(x);
}

int exchange_headers(http_exchange *x, http_header *h)
{
    api_req *q = &x->q;
    int n = 0;
    /* Lower case: HTTP/2 requires it, and HTTP/1 does not care. */
    h[n++] = (http_header){"content-type", q->out_type};
    h[n++] = (http_header){"x-request-id", q->request_id};
    /* A JSON error that echoes a client's bytes must never be sniffed
     * into HTML, and no cache may keep a workspace's data. */
    h[n++] = (http_header){"x-content-type-options", "nosniff"};
    h[n++] = (http_header){"cache-control", "no-store"};
    if (q->retry_after > 0)
        h[n++] = (http_header){"retry-after", arena_printf(&q->a, "%d", q->retry_after)};
    if (q->ratelimit[0]) {
        h[n++] = (http_header){"x-ratelimit-limit", q->ratelimit[0]};
        h[n++] = (http_header){"x-ratelimit-remaining", q->ratelimit[1]};
        h[n++] = (http_header){"x-ratelimit-reset", q->ratelimit[2]};
    }
    if (q->replayed) h[n++] = (http_header){"idempotent-replayed", "true"};
    if (q->allow) h[n++] = (http_header){"allow", q->allow};
    if (q->disposition) h[n++] = (http_header){"content-disposition", q->disposition};
    /* RFC 9110 11.6.1: a 401 says how to authenticate. */
    if (q->status == 401) h[n++] = (http_header){"www-authenticate", "Bearer realm=\"cairn\""};
    return n;
}

/* ----------------------------------------------------------------- finish */

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

void exchange_finish(http_exchange *x)
{
    uint64_t dur = time_mono_ns() - x->q.start_ns;
    /* Scrapes on the metrics listener match no route; counting them as
     * "unmatched" would read as clients hitting unknown paths. */
    if (!x->metrics_only) api_metrics_observe(&x->q, dur);
    log_request(&x->q, dur);
    exchange_drop(x);
}

void exchange_drop(http_exchange *x)
{
    api_req_release(&x->q);
    x->w->inflight--;
    free(x);
}
