/* api.c - request lifecycle: routing, auth, limits, errors, envelope,
 * idempotency; see api.h. */
#include "api/api.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/limits.h"
#include "api/routes.h"
#include "core/timeutil.h"

#define KEY_CACHE_SLOTS  1024
#define KEY_CACHE_TTL_MS 2000
#define IDEM_TTL_MS      (24ll * 3600 * 1000)

static api_config config;

const char *const api_all_scopes[] = {"crm:read",
                                      "crm:write",
                                      "support:read",
                                      "support:write",
                                      "tasks:read",
                                      "tasks:write",
                                      "activity:read",
                                      "activity:write",
                                      "cms:read",
                                      "cms:write",
                                      "assets:read",
                                      "assets:write",
                                      "integrations:read",
                                      "integrations:write",
                                      "analytics:read",
                                      "analytics:write",
                                      "bi:read",
                                      "bi:write",
                                      "workspace:admin", /* workspace settings, /metrics */
                                      NULL};

void api_init(const api_config *cfg)
{
    config = *cfg;
    routes_build();
}

void api_req_init(api_req *q)
{
    memset(q, 0, sizeof *q);
    arena_init(&q->a);
    buf_init(&q->out, API_MAX_RESPONSE);
    buf_reserve(&q->out, 16384);
    id_new(q->request_id, "req");
    q->status = 500;
    q->out_type = "application/json";
}

void api_req_release(api_req *q)
{
    if (q->limited) limits_leave(q->key.id);
    q->limited = false;
    if (q->json) json_decref(q->json);
    q->json = NULL;
    buf_free(&q->out);
    arena_release(&q->a);
}

/* ------------------------------------------------------------- responses */

int api_error(api_req *q, int status, const char *code, const char *param, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    buf_reset(&q->out);
    q->status = status;
    q->out_type = "application/json";
    jw w;
    jw_init(&w, &q->out);
    if (!q->bare) {
        jw_obj_open(&w);
        jw_key(&w, "error");
    }
    jw_obj_open(&w);
    jw_kstr(&w, "code", code);
    jw_kstr(&w, "message", msg);
    if (param) jw_kstr(&w, "param", param);
    if (q->err_extra_key) jw_kstr(&w, q->err_extra_key, q->err_extra_val);
    q->err_extra_key = NULL;
    jw_obj_close(&w);
    if (!q->bare) {
        jw_kstr(&w, "request_id", q->request_id);
        jw_obj_close(&w);
    }
    return -1;
}

int api_store_error(api_req *q, int rc, const store_err *e)
{
    if (rc == STORE_NOTFOUND) return api_error(q, 404, "not_found", NULL, "%s", e->msg);
    if (rc == STORE_CONFLICT)
        return api_error(q, 409, "conflict", NULL, "the record conflicts with an existing one");
    api_metrics_store_error();
    fprintf(stderr, "{\"level\":\"error\",\"request_id\":\"%s\",\"store\":\"%s\"}\n", q->request_id,
            e->msg);
    if (rc == STORE_BUSY || rc == STORE_UNAVAILABLE) {
        q->retry_after = 1;
        return api_error(q, 503, "store_unavailable", NULL, "%s",
                         rc == STORE_BUSY ? "the database is busy; retry shortly"
                                          : "the database is unavailable; retry shortly");
    }
    return api_error(q, 500, "internal", NULL, "internal error");
}

void api_fail_store(api_req *q, int rc, const store_err *e)
{
    /* Anything but unavailability is still transient for the client: the
     * batch changed nothing, and a retry may land in a healthy one. */
    api_store_error(q, rc == STORE_UNAVAILABLE ? rc : STORE_BUSY, e);
}

jw *api_data(api_req *q, int status)
{
    /* The writer lives in the request's arena: the request may be built on
     * a worker thread and finished on the writer thread. */
    jw *w = arena_alloc(&q->a, sizeof *w);
    buf_reset(&q->out);
    q->status = status;
    jw_init(w, &q->out);
    if (!q->bare) buf_puts(&q->out, "{\"data\":");
    return w;
}

void api_finish(api_req *q)
{
    if (q->bare) return;
    buf_puts(&q->out, ",\"request_id\":\"");
    buf_puts(&q->out, q->request_id);
    buf_puts(&q->out, "\"}");
}

void api_finish_list(api_req *q, const char *next_cursor)
{
    if (q->bare) return;
    buf_puts(&q->out, ",\"next_cursor\":");
    if (next_cursor)
        jw_escape(&q->out, next_cursor, strlen(next_cursor));
    else
        buf_puts(&q->out, "null");
    api_finish(q);
}

/* ------------------------------------------------------------ parameters */

const char *api_param_get(api_req *q, const char *k)
{
    for (int i = 0; i < q->nparams; i++)
        if (strcmp(q->params[i].k, k) == 0) {
            q->params[i].used = true;
            return q->params[i].v;
        }
    return NULL;
}

int api_params_check(api_req *q)
{
    for (int i = 0; i < q->nparams; i++) {
        if (q->params[i].used) continue;
        for (int j = 0; j < i; j++)
            if (strcmp(q->params[j].k, q->params[i].k) == 0)
                return api_error(q, 400, "validation_failed", q->params[i].k,
                                 "query parameter '%s' is given more than once", q->params[i].k);
        return api_error(q, 400, "validation_failed", q->params[i].k,
                         "unknown query parameter '%s'", q->params[i].k);
    }
    return 0;
}

bool api_has_scope(const api_req *q, const char *scope)
{
    size_t n = strlen(scope);
    for (const char *p = q->key.scopes; (p = strstr(p, scope)) != NULL; p += n) {
        bool start = p == q->key.scopes || p[-1] == ' ';
        bool end = p[n] == '\0' || p[n] == ' ';
        if (start && end) return true;
    }
    return false;
}

/* ------------------------------------------------------------------ auth */

typedef struct key_slot {
    char hash[TOKEN_HASH_HEX];
    api_key_info info;
    bool valid; /* false: a known-bad token, cached too */
    uint64_t fetched_ms;
} key_slot;

/* Per-thread cache: no locks on the hot path. Entries live 2 s, which is
 * also how long a revoked key can keep working. */
static _Thread_local key_slot *key_cache;

static void key_cache_free(void *p)
{
    free(p);
}
static pthread_key_t cache_owner;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static void cache_key_init(void)
{
    pthread_key_create(&cache_owner, key_cache_free);
}

static int authenticate(api_req *q)
{
    const char *h = q->authorization;
    if (!h) return api_error(q, 401, "unauthorized", NULL, "a bearer token is required");
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return api_error(q, 401, "unauthorized", NULL,
                         "the Authorization header must be 'Bearer <token>'");
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    if (strncmp(tok, "ck_", 3) != 0 || strlen(tok) > 128)
        return api_error(q, 401, "unauthorized", NULL, "the token is not valid");
    char hash[TOKEN_HASH_HEX];
    sha256_hex(tok, strlen(tok), hash);

    if (!key_cache) {
        pthread_once(&cache_once, cache_key_init);
        key_cache = calloc(KEY_CACHE_SLOTS, sizeof *key_cache);
        if (!key_cache) abort();
        pthread_setspecific(cache_owner, key_cache);
    }
    unsigned idx = (unsigned)strtoul((char[9]){hash[0], hash[1], hash[2], hash[3], hash[4], hash[5],
                                               hash[6], hash[7], 0},
                                     NULL, 16) %
                   KEY_CACHE_SLOTS;
    key_slot *s = &key_cache[idx];
    uint64_t now = time_now_ms();
    if (strcmp(s->hash, hash) != 0 || now - s->fetched_ms > KEY_CACHE_TTL_MS) {
        store_key k;
        store_err e;
        int rc = store_key_by_hash(q->conn, hash, &k, &e);
        if (rc != STORE_OK && rc != STORE_NOTFOUND) return api_store_error(q, rc, &e);
        memcpy(s->hash, hash, sizeof hash);
        s->fetched_ms = now;
        s->valid = rc == STORE_OK && k.revoked_ms == 0;
        if (s->valid) {
            memcpy(s->info.id, k.id, sizeof k.id);
            memcpy(s->info.workspace_id, k.workspace_id, sizeof k.workspace_id);
            memcpy(s->info.scopes, k.scopes, sizeof k.scopes);
            s->info.super_admin = k.super_admin;
            s->info.max_concurrent = k.max_concurrent;
            s->info.rate = k.rate;
        }
    }
    if (!s->valid) return api_error(q, 401, "unauthorized", NULL, "the token is not valid");
    q->key = s->info;
    q->ws = q->key.workspace_id;
    q->authed = true;
    return 0;
}

static int apply_limits(api_req *q)
{
    int conc = q->key.max_concurrent >= 0 ? q->key.max_concurrent : config.key_concurrency;
    int rate = q->key.rate >= 0 ? q->key.rate : config.key_rate;
    limit_result lr;
    if (!limits_enter(q->key.id, conc, rate, &lr)) {
        q->retry_after = lr.retry_after > 0 ? lr.retry_after : 1;
        if (rate > 0) {
            q->ratelimit[0] = arena_printf(&q->a, "%d", rate);
            q->ratelimit[1] = arena_printf(&q->a, "%d", lr.remaining);
            q->ratelimit[2] = arena_printf(&q->a, "%d", lr.reset);
        }
        return api_error(q, 429, "rate_limited", NULL, "%s",
                         lr.concurrency ? "too many concurrent requests for this key"
                                        : "rate limit exceeded for this key");
    }
    q->limited = true;
    if (rate > 0) {
        q->ratelimit[0] = arena_printf(&q->a, "%d", rate);
        q->ratelimit[1] = arena_printf(&q->a, "%d", lr.remaining);
        q->ratelimit[2] = arena_printf(&q->a, "%d", lr.reset);
    }
    return 0;
}

/* ------------------------------------------------------------- lifecycle */

static bool is_json_type(const char *ct)
{
    if (!ct) return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "application/json", 16) != 0) return false;
    const char *rest = ct + 16;
    while (*rest == ' ')
        rest++;
    return *rest == '\0' || *rest == ';';
}

static int parse_body(api_req *q)
{
    if (q->body_len == 0) {
        if (q->method != M_POST && q->method != M_PATCH) return 0; /* DELETE needs none */
        if (q->route->action) {
            /* Actions name their required fields themselves. */
            q->json = json_object();
            return 0;
        }
        return api_error(q, 400, "validation_failed", NULL, "a JSON object body is required");
    }
    if (!is_json_type(q->content_type))
        return api_error(q, 415, "unsupported_media_type", NULL,
                         "the body must be sent as Content-Type: application/json");
    json_error_t je;
    q->json = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!q->json)
        return api_error(q, 400, "validation_failed", NULL,
                         "the body is not valid JSON: %s (at %d:%d)", je.text, je.line, je.column);
    if (!json_is_object(q->json))
        return api_error(q, 400, "validation_failed", NULL, "the body must be a JSON object");
    return 0;
}

void api_handle(api_req *q)
{
    int allowed = 0;
    q->route = routes_match(q, &allowed);
    if (!q->route) {
        if (allowed)
            api_error(q, 405, "method_not_allowed", NULL, "this path does not accept that method");
        else
            api_error(q, 404, "not_found", NULL, "no route for this path");
        return;
    }
    if (q->body_len > API_MAX_BODY) {
        api_error(q, 413, "payload_too_large", NULL, "the request body exceeds %u bytes",
                  API_MAX_BODY);
        return;
    }
    if (!q->route->public) {
        if (authenticate(q)) return;
        if (q->route->scope && !api_has_scope(q, q->route->scope)) {
            api_error(q, 403, "forbidden", NULL, "this key lacks the %s scope", q->route->scope);
            return;
        }
        if (apply_limits(q)) return;
    }
    if (q->idem_key && (strlen(q->idem_key) == 0 || strlen(q->idem_key) > 255)) {
        api_error(q, 400, "validation_failed", "Idempotency-Key",
                  "Idempotency-Key must be 1 to 255 characters");
        return;
    }
    if (q->route->write) {
        if (parse_body(q)) return;
        q->deferred = true;
        return;
    }
    q->route->handler(q);
}

/* The request_id a stored response carries, so a replay is byte-identical
 * and its header matches its body. */
static void adopt_request_id(api_req *q, const char *body)
{
    const char *p = strstr(body, "\"request_id\":\"");
    if (!p) return;
    p += 14;
    size_t n = strcspn(p, "\"");
    if (n > 0 && n < sizeof q->request_id) {
        memcpy(q->request_id, p, n);
        q->request_id[n] = '\0';
    }
}

bool api_run_write(api_req *q, store_conn *writer_conn)
{
    q->conn = writer_conn;
    char hash[TOKEN_HASH_HEX] = "";
    store_err e;
    if (q->idem_key) {
        buf h;
        buf_init(&h, API_MAX_BODY + 4096);
        buf_printf(&h, "%d %s\n", (int)q->method, q->path);
        buf_append(&h, q->body ? q->body : "", q->body_len);
        sha256_hex(h.data ? h.data : "", h.len, hash);
        buf_free(&h);
        store_idem idem;
        int rc = store_idem_get(q->conn, &q->a, q->ws, q->idem_key, &idem, &e);
        if (rc == STORE_OK && idem.created_ms > (int64_t)time_now_ms() - IDEM_TTL_MS) {
            if (strcmp(idem.req_hash, hash) != 0) {
                api_error(q, 409, "idempotency_key_reused", "Idempotency-Key",
                          "this Idempotency-Key was used with a different request");
                return false;
            }
            buf_reset(&q->out);
            buf_puts(&q->out, idem.body);
            q->status = idem.status;
            q->replayed = true;
            adopt_request_id(q, idem.body);
            return true;
        }
        if (rc != STORE_OK && rc != STORE_NOTFOUND) {
            api_store_error(q, rc, &e);
            return false;
        }
    }
    q->route->handler(q);
    if (q->status >= 400) return false;
    if (q->idem_key) {
        int rc = store_idem_put(q->conn, q->ws, q->idem_key, hash, q->status, q->out.data,
                                q->out.len, &e);
        if (rc != STORE_OK) {
            api_store_error(q, rc, &e);
            return false;
        }
    }
    return true;
}
