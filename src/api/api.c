/* api.c - request lifecycle: routing, auth, limits, errors, envelope,
 * idempotency; see api.h. */
#include "api/api.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/limits.h"
#include "api/routes.h"
#include "api/upload.h"
#include "core/jr.h"
#include "core/timeutil.h"

#define KEY_CACHE_SLOTS  1024
#define KEY_CACHE_TTL_MS 2000
#define IDEM_TTL_MS      (24ll * 3600 * 1000)
/* Retry-After of a 507: space comes back by an operator's hand, not
 * within the second a busy database needs. */
#define FULL_RETRY_S 5

static api_config config;

void api_init(const api_config *cfg)
{
    config = *cfg;
    mcp_http_init(cfg->mcp_origins);
    upload_set_max(cfg->asset_max_bytes);
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
    q->file_fd = -1;
}

void api_req_release(api_req *q)
{
    if (q->limited) limits_leave(q->key.id);
    q->limited = false;
    upload_abort(q);
    if (q->file_fd >= 0) close(q->file_fd);
    q->file_fd = -1;
    if (q->json) json_decref(q->json);
    q->json = NULL;
    buf_free(&q->out);
    arena_release(&q->a);
}

/* ------------------------------------------------------------- responses */

/* The one writer of error bodies: {"error": {code, message, param,
 * [extra]}, "request_id"}; param is null when no field is at fault. */
static void write_error(api_req *q, int status, const char *code, const char *param,
                        const char *msg, const char *extra_key, const char *extra_val)
{
    buf_reset(&q->out);
    q->status = status;
    q->out_type = "application/json";
    jw w;
    jw_init(&w, &q->out);
    jw_obj_open(&w);
    jw_key(&w, "error");
    jw_obj_open(&w);
    jw_kstr(&w, "code", code);
    jw_kstr(&w, "message", msg);
    jw_kstr(&w, "param", param);
    if (extra_key) jw_kstr(&w, extra_key, extra_val);
    jw_obj_close(&w);
    jw_kstr(&w, "request_id", q->request_id);
    jw_obj_close(&w);
}

int api_error(api_req *q, int status, const char *code, const char *param, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    write_error(q, status, code, param, msg, NULL, NULL);
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
    if (rc == STORE_FULL) {
        q->retry_after = FULL_RETRY_S;
        q->storage_full = true;
        return api_error(q, 507, "insufficient_storage", NULL, "%s", STORE_FULL_MSG);
    }
    return api_error(q, 500, "internal", NULL, "internal error");
}

void api_fail_store(api_req *q, int rc, const store_err *e)
{
    /* Anything but unavailability or a full disk is still transient for
     * the client: the batch changed nothing, and a retry may land in a
     * healthy one. */
    api_store_error(q, rc == STORE_UNAVAILABLE || rc == STORE_FULL ? rc : STORE_BUSY, e);
}

jw *api_data(api_req *q, int status)
{
    /* The writer lives in the request's arena: the request may be built on
     * a worker thread and finished on the writer thread. */
    jw *w = arena_alloc(&q->a, sizeof *w);
    buf_reset(&q->out);
    q->status = status;
    jw_init(w, &q->out);
    buf_puts(&q->out, "{\"data\":");
    return w;
}

void api_finish(api_req *q)
{
    buf_puts(&q->out, ",\"request_id\":\"");
    buf_puts(&q->out, q->request_id);
    buf_puts(&q->out, "\"}");
}

void api_finish_list(api_req *q, const char *next_cursor)
{
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
    unsigned gen; /* settings_gen when fetched */
} key_slot;

/* Bumped when this process commits a change to a workspace's settings
 * (its modules), so every thread's cached keys see it on their next
 * request instead of up to 2 s later. Other nodes see it within 2 s. */
static atomic_uint settings_gen;

void api_settings_changed(void)
{
    atomic_fetch_add(&settings_gen, 1);
}

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
    unsigned gen = atomic_load(&settings_gen);
    if (strcmp(s->hash, hash) != 0 || now - s->fetched_ms > KEY_CACHE_TTL_MS || s->gen != gen) {
        store_key k;
        store_err e;
        int rc = store_key_by_hash(q->conn, hash, &k, &e);
        if (rc != STORE_OK && rc != STORE_NOTFOUND) return api_store_error(q, rc, &e);
        store_workspace ws = {{0}};
        if (rc == STORE_OK && k.revoked_ms == 0) {
            /* The workspace's modules ride with its key in the cache. */
            int wrc = store_workspace_find(q->conn, k.workspace_id, &ws, &e);
            if (wrc != STORE_OK && wrc != STORE_NOTFOUND) return api_store_error(q, wrc, &e);
        }
        memcpy(s->hash, hash, sizeof hash);
        s->fetched_ms = now;
        s->gen = gen;
        s->valid = rc == STORE_OK && k.revoked_ms == 0;
        if (s->valid) {
            s->info.disabled_modules = engine_modules_disabled(ws.disabled_modules);
            memcpy(s->info.currency, ws.currency[0] ? ws.currency : "USD", 4);
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

int api_auth(api_req *q)
{
    return authenticate(q) || apply_limits(q) ? -1 : 0;
}

/* ------------------------------------------------------------- lifecycle */

bool api_is_json(const char *ct)
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

/* Whether Content-Type ct is the media type mt (parameters aside; a
 * charset, when given, is UTF-8). */
static bool is_media(const char *ct, const char *mt)
{
    if (!ct) return false;
    while (*ct == ' ')
        ct++;
    size_t n = strlen(mt);
    if (strncasecmp(ct, mt, n) != 0) return false;
    const char *rest = ct + n;
    while (*rest == ' ')
        rest++;
    if (*rest != '\0' && *rest != ';') return false;
    const char *cs = strcasestr(rest, "charset=");
    if (!cs) return true;
    cs += 8;
    if (*cs == '"') cs++;
    return strncasecmp(cs, "utf-8", 5) == 0 || strncasecmp(cs, "utf8", 4) == 0;
}

/* A body of an action's own media type (text/csv) becomes the body the
 * JSON form would have sent: the text is field `media_field`, and query
 * parameters named as the other text fields give those. The text must be
 * what a JSON string can hold (UTF-8, no NUL); the engine checks the rest. */
static int media_body(api_req *q, const res_action *a)
{
    const char *field = a->media_field;
    for (size_t i = 0, line = 1; i < q->body_len;) {
        unsigned char ch = (unsigned char)q->body[i];
        int k = ch < 0x80 ? 1 : jw_utf8_seq(q->body + i, q->body_len - i);
        if (ch == 0 || k < 0)
            return api_error(q, 400, "validation_failed", field,
                             "%s: line %zu of the %s body %s (byte 0x%02X)", field, line,
                             a->media_type, ch ? "is not valid UTF-8" : "holds a NUL byte", ch);
        line += ch == '\n';
        i += (size_t)k;
    }
    q->json = json_object();
    json_object_set_new(q->json, field, json_stringn(q->body, q->body_len));
    for (int i = 0; i < q->nparams; i++)
        for (int k = 0; k < a->nbody; k++) {
            const res_field *f = &a->body[k];
            if (strcmp(f->name, q->params[i].k) != 0 || strcmp(f->name, field) == 0) continue;
            if (f->type != FT_STRING && f->type != FT_TEXT && f->type != FT_ENUM) continue;
            if (json_object_get(q->json, f->name))
                return api_error(q, 400, "validation_failed", f->name,
                                 "query parameter '%s' is given more than once", f->name);
            json_t *v = json_string(q->params[i].v);
            if (!v)
                return api_error(q, 400, "validation_failed", f->name, "%s is not valid UTF-8",
                                 f->name);
            json_object_set_new(q->json, f->name, v);
            q->params[i].used = true;
        }
    return 0;
}

/* Whether v (a string, or an array or object of them, at any depth)
 * holds a NUL. */
static bool has_nul(json_t *v)
{
    if (json_is_string(v)) return strlen(json_string_value(v)) != json_string_length(v);
    size_t i;
    const char *k;
    json_t *x;
    if (json_is_array(v)) json_array_foreach(v, i, x) if (has_nul(x)) return true;
    if (json_is_object(v)) json_object_foreach(v, k, x) if (has_nul(x)) return true;
    return false;
}

/* The top-level member of the body whose value holds a NUL, or NULL. */
static const char *nul_member(api_req *q)
{
    json_error_t je;
    json_t *j = jr_load(q->body, q->body_len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    const char *k, *at = NULL;
    json_t *v;
    if (json_is_object(j))
        json_object_foreach(j, k, v) if (!at && has_nul(v)) at = arena_strdup(&q->a, k);
    json_decref(j);
    return at;
}

static int parse_body(api_req *q)
{
    const res_action *a = q->route->action;
    if (a && a->media_type && is_media(q->content_type, a->media_type)) return media_body(q, a);
    if (q->body_len == 0) {
        if (q->method != M_POST && q->method != M_PATCH) return 0; /* DELETE needs none */
        if (q->route->action) {
            /* Actions name their required fields themselves. */
            q->json = json_object();
            return 0;
        }
        return api_error(q, 400, "validation_failed", NULL, "a JSON object body is required");
    }
    if (!api_is_json(q->content_type))
        return api_error(q, 415, "unsupported_media_type", NULL,
                         "the body must be sent as Content-Type: application/json%s%s",
                         a && a->media_type ? " or " : "", a && a->media_type ? a->media_type : "");
    json_error_t je;
    q->json = jr_load(q->body, q->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!q->json && strstr(je.text, "JSON_ALLOW_NUL")) {
        /* A \u0000 in a string: well-formed JSON that no field takes (the
         * engine's strings are C strings). Name the field it is in. */
        const char *at = nul_member(q);
        if (at)
            return api_error(q, 400, "validation_failed", at, "%s cannot hold a NUL character", at);
    }
    if (!q->json)
        return api_error(q, 400, "validation_failed", NULL,
                         "the body is not valid JSON: %s (at %d:%d)", je.text, je.line, je.column);
    if (!json_is_object(q->json))
        return api_error(q, 400, "validation_failed", NULL, "the body must be a JSON object");
    return 0;
}

/* ---------------------------------------------------------- engine calls */

static const struct {
    int status;
    int retry_after; /* seconds; 0: no Retry-After */
} kinds[] = {
    [EK_OK] = {200},
    [EK_CREATED] = {201},
    [EK_INVALID] = {400},
    [EK_FORBIDDEN] = {403},
    [EK_NOT_FOUND] = {404},
    [EK_CONFLICT] = {409},
    [EK_UNPROCESSABLE] = {422},
    [EK_UNAVAILABLE] = {503, 1},
    [EK_STORAGE_FULL] = {507, FULL_RETRY_S},
    [EK_INTERNAL] = {500},
};

int api_status(engine_kind k)
{
    return kinds[k].status;
}

/* Where links in answers point: --public-url, else this server as the
 * request reached it (its Host, when it is a plain host[:port]). */
static const char *base_url(api_req *q)
{
    if (config.public_url) return config.public_url;
    const char *h = q->host;
    if (!h || !*h || strlen(h) > 255) return NULL;
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr(".-:[]", *p)))
            return NULL;
    return arena_printf(&q->a, "http://%s", h);
}

/* The engine call a request for a resource makes. */
static void make_call(api_req *q, engine_call *c, engine_result *out)
{
    const api_route *rt = q->route;
    *c = (engine_call){.op = rt->op,
                       .res = rt->res,
                       .sub = rt->sub,
                       .action = rt->action,
                       .ids = {q->pv[0], q->pv[1], q->pv[2]},
                       .params = q->params,
                       .nparams = q->nparams,
                       .body = q->json,
                       .dry_run = q->dry_run,
                       .ws = q->ws,
                       .actor = q->key.id,
                       .scopes = q->key.scopes,
                       .disabled = q->key.disabled_modules,
                       .currency = q->key.currency,
                       .trace = q->request_id,
                       .base_url = base_url(q),
                       .conn = q->conn,
                       .a = &q->a,
                       .out = out};
}

/* One item of a batch answer: {"index", "status", "data" | "error"}. */
static void render_item(api_req *q, jw *w, int index, const engine_result *r)
{
    jw_obj_open(w);
    jw_kint(w, "index", index);
    jw_kint(w, "status", kinds[r->kind].status);
    if (r->kind == EK_OK || r->kind == EK_CREATED) {
        jw_key(w, "data");
        jw_raw(w, r->data.data ? r->data.data : "null", r->data.data ? r->data.len : 4);
    } else {
        jw_key(w, "error");
        jw_obj_open(w);
        jw_kstr(w, "code", engine_result_code(r));
        jw_kstr(w, "message", r->message);
        jw_kstr(w, "param", r->param);
        if (r->extra_key) jw_kstr(w, r->extra_key, r->extra_val);
        jw_obj_close(w);
    }
    jw_obj_close(w);
    (void)q;
}

/* The one translation of an engine result into HTTP: status, headers and
 * the envelope. */
static void render(api_req *q, const engine_result *r)
{
    if (r->kind != EK_OK && r->kind != EK_CREATED) {
        if (r->store_failed) api_metrics_store_error();
        if (kinds[r->kind].retry_after) q->retry_after = kinds[r->kind].retry_after;
        q->storage_full |= r->kind == EK_STORAGE_FULL;
        write_error(q, kinds[r->kind].status, engine_result_code(r), r->param, r->message,
                    r->extra_key, r->extra_val);
        return;
    }
    jw *w = api_data(q, kinds[r->kind].status);
    if (r->items) {
        int ok = 0;
        jw_obj_open(w);
        jw_kstr(w, "object", "batch");
        jw_key(w, "results");
        jw_arr_open(w);
        for (int i = 0; i < r->nitems; i++) {
            render_item(q, w, i, &r->items[i]);
            ok += r->items[i].kind == EK_OK || r->items[i].kind == EK_CREATED;
            q->storage_full |= r->items[i].kind == EK_STORAGE_FULL;
        }
        jw_arr_close(w);
        jw_kint(w, "succeeded", ok);
        jw_kint(w, "failed", r->nitems - ok);
        jw_obj_close(w);
    } else {
        jw_raw(w, r->data.data ? r->data.data : "null", r->data.data ? r->data.len : 4);
    }
    if (r->list)
        api_finish_list(q, r->next_cursor);
    else
        api_finish(q);
}

/* Runs the request's engine call on q->conn and answers with its result
 * (kept in r, which the caller releases). */
static void run_call_into(api_req *q, engine_result *r)
{
    engine_call c;
    engine_result_init(r);
    make_call(q, &c, r);
    engine_run(&c);
    render(q, r);
}

static atomic_uint_fast64_t commits;

void api_committed(void)
{
    atomic_fetch_add(&commits, 1);
}

uint64_t api_commits(void)
{
    return atomic_load(&commits);
}

/* GET /v1/events?wait=N with an empty page: parked until something comes
 * or N seconds pass (the engine checked wait: 0 to 30). */
static void long_poll(api_req *q, const engine_result *r)
{
    q->parked = false;
    if (!q->route->action || q->route->action->id != ACT_EVENTS_FEED || r->kind != EK_OK ||
        r->data.len != 2 || memcmp(r->data.data, "[]", 2) != 0)
        return;
    const char *wait = NULL;
    for (int i = 0; i < q->nparams; i++)
        if (strcmp(q->params[i].k, "wait") == 0) wait = q->params[i].v;
    int secs = wait ? atoi(wait) : 0;
    if (secs <= 0) return;
    uint64_t now = time_now_ms();
    if (!q->poll_until_ms) q->poll_until_ms = now + (uint64_t)secs * 1000;
    q->polled_ms = now;
    q->parked = now < q->poll_until_ms;
}

static void run_call(api_req *q)
{
    engine_result r;
    q->polled_commits = api_commits();
    run_call_into(q, &r);
    long_poll(q, &r);
    engine_result_release(&r);
}

void api_poll(api_req *q)
{
    buf_reset(&q->out);
    q->status = 500;
    for (int i = 0; i < q->nparams; i++)
        q->params[i].used = false;
    run_call(q);
}

/* `dry_run=true|false` on a write route. */
static int parse_dry_run(api_req *q)
{
    const char *v = api_param_get(q, "dry_run");
    if (!v) return 0;
    if (strcmp(v, "true") && strcmp(v, "false"))
        return api_error(q, 400, "validation_failed", "dry_run", "dry_run must be true or false");
    q->dry_run = strcmp(v, "true") == 0;
    return 0;
}

void api_handle(api_req *q)
{
    int allowed = 0;
    q->route = routes_match(q, &allowed);
    if (!q->route) {
        if (allowed) {
            /* RFC 9110 15.5.6: a 405 says which methods the path takes. */
            static const char *const names[] = {[M_GET] = "GET, HEAD",
                                                [M_POST] = "POST",
                                                [M_PATCH] = "PATCH",
                                                [M_DELETE] = "DELETE",
                                                [M_PUT] = "PUT"};
            char list[64] = "";
            for (int m = M_GET; m <= M_PUT; m++)
                if (allowed & (1 << m))
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                             list[0] ? ", " : "", names[m]);
            q->allow = arena_strdup(&q->a, list);
            api_error(q, 405, "method_not_allowed", NULL, "this path takes %s", list);
        } else
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
        if (q->route->handler) {
            if (q->route->scope && !api_has_scope(q, q->route->scope)) {
                api_error(q, 403, "forbidden", NULL, "this key lacks the %s scope",
                          q->route->scope);
                return;
            }
        } else {
            /* The engine's own check, here too so a refused write is not
             * queued for the writer. */
            engine_call c;
            engine_result r;
            engine_result_init(&r);
            make_call(q, &c, &r);
            int rc = engine_authorize(&c);
            if (rc) render(q, &r);
            engine_result_release(&r);
            if (rc) return;
        }
        if (apply_limits(q)) return;
    }
    if (q->idem_key && (strlen(q->idem_key) == 0 || strlen(q->idem_key) > 255)) {
        api_error(q, 400, "validation_failed", "Idempotency-Key",
                  "Idempotency-Key must be 1 to 255 characters");
        return;
    }
    if (q->route->write) {
        if (parse_dry_run(q) || parse_body(q)) return;
        q->deferred = true;
        return;
    }
    /* A read that takes a body (a list of ids does not fit a query
     * string) reads it here and runs where reads run; dry_run, accepted on
     * every POST, changes nothing for it. */
    if (q->method == M_POST && q->route->action && (parse_dry_run(q) || parse_body(q))) return;
    if (q->route->handler)
        q->route->handler(q);
    else
        run_call(q);
}

/* The request_id a stored response carries, so a replay is byte-identical
 * and its header matches its body. */
static void adopt_request_id(api_req *q, const char *body)
{
    /* The envelope's member comes last (/v1's request_id, 002's
     * meta.requestId): a record's own members come before it. */
    const char *p = NULL;
    for (const char *k = body; (k = strstr(k, "\"request_id\":\"")) != NULL; k++)
        p = k + 14;
    for (const char *k = p ? p : body; (k = strstr(k, "\"requestId\":\"")) != NULL; k++)
        p = k + 13;
    if (!p) return;
    size_t n = strcspn(p, "\"");
    if (n > 0 && n < sizeof q->request_id) {
        memcpy(q->request_id, p, n);
        q->request_id[n] = '\0';
    }
}

/* What an Idempotency-Key is bound to: the method, the path, every query
 * parameter (`?upsert_on=` changes what a create does) and the body. */
static void request_hash(const api_req *q, char out[TOKEN_HASH_HEX])
{
    buf h;
    buf_init(&h, API_MAX_BODY + 64 * 1024);
    buf_printf(&h, "%d %s\n", (int)q->method, q->path);
    /* Without parameters the hash is what it was before they counted, so
     * a retry across an upgrade still replays. */
    for (int i = 0; i < q->nparams; i++) {
        buf_puts(&h, q->params[i].k);
        buf_putc(&h, '\0');
        buf_puts(&h, q->params[i].v);
        buf_putc(&h, i + 1 < q->nparams ? '\0' : '\n');
    }
    buf_append(&h, q->body ? q->body : "", q->body_len);
    sha256_hex(h.data ? h.data : "", h.len, out);
    buf_free(&h);
}

bool api_run_write(api_req *q, store_conn *writer_conn)
{
    q->conn = writer_conn;
    /* A dry run stores nothing, so it neither replays nor records. */
    const char *key = q->dry_run ? NULL : q->idem_key;
    char hash[TOKEN_HASH_HEX] = "";
    store_err e;
    if (key) {
        request_hash(q, hash);
        store_idem idem;
        int rc = store_idem_get(q->conn, &q->a, q->ws, key, &idem, &e);
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
    uint64_t start = time_mono_ns();
    int64_t at = (int64_t)time_now_ms();
    int rc;
    engine_audit au = {0};
    const char *au_ws = q->ws;
    bool failed, audited = true;
    if (q->route->on_writer) {
        failed = q->route->on_writer(q) != 0;
        audited = q->audited;
        if (audited) au = q->audit, au_ws = q->audit_ws;
    } else {
        engine_result r;
        run_call_into(q, &r);
        failed = q->status >= 400;
        static const char *const verbs[] = {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "?"};
        au = (engine_audit){.channel = "api",
                            .key_id = q->key.id,
                            .route =
                                arena_printf(&q->a, "%s %s", verbs[q->method], q->route->pattern),
                            .resource = q->route->res ? q->route->res->name : NULL,
                            .request_id = q->request_id,
                            .dry_run = q->dry_run,
                            .at_ms = at};
        if (hash[0])
            memcpy(au.input_hash, hash, sizeof hash);
        else
            request_hash(q, au.input_hash);
        engine_audit_result(&au, &r);
        engine_result_release(&r);
    }
    /* A failed call is undone back to the writer's savepoint, which opens
     * again for its audit entry: that one stays. A savepoint of the call's
     * own inside it cost every write a SAVEPOINT and a RELEASE, and SQLite
     * a page bitmap more per page written. */
    if (failed) {
        store_rollback_to(q->conn);
        /* Not opened again (a broken connection): the call stays undone
         * and unrecorded, and the writer's release finds nothing to
         * release, which both stores refuse without harm. */
        if ((rc = store_savepoint(q->conn, &e)) != STORE_OK) return true;
    }
    if (audited) {
        au.duration_ms = (double)(time_mono_ns() - start) / 1e6;
        rc = engine_audit_append(q->conn, au_ws, &au, &e);
        if (rc != STORE_OK) {
            if (!failed) api_store_error(q, rc, &e);
            return false;
        }
    }
    if (failed) return true; /* undone; its audit entry commits with the batch */
    q->settings_changed = q->route->op == OP_WORKSPACE_UPDATE && !q->dry_run;
    if (key) {
        int rc = store_idem_put(q->conn, q->ws, key, hash, q->status, q->out.data, q->out.len, &e);
        if (rc != STORE_OK) {
            api_store_error(q, rc, &e);
            return false;
        }
    }
    return true;
}
