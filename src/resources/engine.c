/* engine.c - the resource engine; see engine.h. Calls in, results out:
 * nothing here knows a status code or an envelope. */
#include "resources/engine.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/timeutil.h"
#include "resources/cursor.h"
#include "resources/hooks.h"
#include "store/search.h"

/* The resource's hook `name`, or NULL. */
#define HOOK(r, name) (engine_hooks[(r)->id] ? engine_hooks[(r)->id]->name : NULL)

bool engine_check(char *err, size_t cap)
{
    if (!res_table_check(err, cap)) return false;
    for (int i = 0; i < ACT__COUNT; i++)
        if (!engine_actions[i]) {
            snprintf(err, cap, "action %s has no handler in resources/bind.c", res_actions[i].path);
            return false;
        }
    return true;
}

/* Runs a NULL-ended list of the families' system hooks in workspace ws
 * as the "system" actor, stopping at the first failure, which `what`
 * introduces in e->msg. */
static int run_system(store_conn *conn, const char *ws, const char *trace, const char *what,
                      const engine_system_fn *hooks, int64_t now_ms, store_err *e)
{
    /* The workspace's currency: what a new workspace's chart is kept in. */
    store_workspace w = {{0}};
    if (hooks == engine_workspace_hooks) {
        int rc = store_workspace_find(conn, ws, &w, e);
        if (rc) return rc;
    }
    arena a;
    arena_init(&a);
    engine_result r;
    engine_result_init(&r);
    engine_call c = {.ws = ws,
                     .actor = "system",
                     .currency = w.currency,
                     .trace = trace,
                     .conn = conn,
                     .a = &a,
                     .out = &r};
    int rc = STORE_OK;
    for (int i = 0; hooks[i] && rc == STORE_OK; i++)
        if (hooks[i](&c, now_ms)) {
            snprintf(e->msg, sizeof e->msg, "%s %.40s: %.180s", what, ws, r.message);
            rc = r.kind == EK_UNAVAILABLE    ? STORE_UNAVAILABLE
                 : r.kind == EK_STORAGE_FULL ? STORE_FULL
                                             : STORE_ERROR;
        }
    engine_result_release(&r);
    arena_release(&a);
    return rc;
}

int engine_as_system(store_conn *conn, arena *a, const char *ws,
                     int (*fn)(engine_call *c, void *ud), void *ud, store_err *e)
{
    engine_result r;
    engine_result_init(&r);
    engine_call c = {
        .ws = ws, .actor = "system", .trace = "worker", .conn = conn, .a = a, .out = &r};
    int rc = STORE_OK;
    if (fn(&c, ud)) {
        snprintf(e->msg, sizeof e->msg, "%.200s", r.message);
        rc = r.kind == EK_UNAVAILABLE    ? STORE_UNAVAILABLE
             : r.kind == EK_STORAGE_FULL ? STORE_FULL
                                         : STORE_ERROR;
    }
    engine_result_release(&r);
    return rc;
}

int engine_workspace_created(store_conn *conn, const char *ws, store_err *e)
{
    return run_system(conn, ws, "workspace", "setting up workspace", engine_workspace_hooks,
                      (int64_t)time_now_ms(), e);
}

static size_t utf8_len(const char *s);

/* s cut to at most max characters (a copy when it is cut). */
static const char *cut(arena *a, const char *s, int max)
{
    if (!s || max <= 0 || utf8_len(s) <= (size_t)max) return s;
    size_t n = 0;
    for (int k = 0; s[n]; n++)
        if (((unsigned char)s[n] & 0xc0) != 0x80 && k++ == max) break;
    return arena_strndup(a, s, n);
}

void engine_audit_result(engine_audit *a, const engine_result *r)
{
    const char *code = engine_result_code(r);
    a->outcome = code ? code : "ok";
    a->nids = 0;
    for (int i = 0; i < r->nwritten && a->nids < ENGINE_MAX_WRITTEN; i++)
        a->ids[a->nids++] = r->written[i];
    for (int k = 0; k < r->nitems; k++)
        for (int i = 0; i < r->items[k].nwritten && a->nids < ENGINE_MAX_WRITTEN; i++)
            a->ids[a->nids++] = r->items[k].written[i];
}

int engine_audit_append(store_conn *conn, const char *ws, const engine_audit *au, store_err *e)
{
    arena a;
    arena_init(&a);
    engine_result r;
    engine_result_init(&r);
    engine_call c = {
        .ws = ws, .actor = au->key_id, .trace = au->request_id, .conn = conn, .a = &a, .out = &r};
    bool *set;
    res_row row = engine_new_row(&c, RES(AUDIT), &set);
    /* Every value is cut to its field's length at a character boundary:
     * an entry must never fail for what it quotes. */
#define TEXT(f, v)                                                                                 \
    engine_set(&row, set, AUDIT_##f, sv_text(cut(&a, v, RES(AUDIT)->fields[AUDIT_##f].max_len)))
    TEXT(key_id, au->key_id);
    TEXT(channel, au->channel);
    TEXT(tool, au->tool);
    TEXT(route, au->route);
    TEXT(resource, au->resource);
    TEXT(reason, au->reason);
    TEXT(request_id, au->request_id);
    TEXT(input_hash, au->input_hash[0] ? au->input_hash : NULL);
    TEXT(outcome, au->outcome);
#undef TEXT
    engine_set(&row, set, AUDIT_dry_run, sv_int(au->dry_run));
    engine_set(&row, set, AUDIT_duration_ms, (store_val){.kind = SV_REAL, .d = au->duration_ms});
    engine_set(&row, set, AUDIT_occurred_at, sv_int(au->at_ms));
    if (au->nids == 0) { /* a read's: the common case, built for nothing before */
        engine_set(&row, set, AUDIT_records, sv_text("[]"));
    } else {
        json_t *ids = json_array();
        for (int i = 0; i < au->nids; i++)
            json_array_append_new(ids, json_pack("{s:s}", "id", au->ids[i]));
        engine_set_items(&c, &row, set, AUDIT_records, ids);
        json_decref(ids);
    }
    int rc = engine_insert(&c, RES(AUDIT), &row, set) ? STORE_ERROR : STORE_OK;
    if (rc) {
        rc = r.kind == EK_UNAVAILABLE    ? STORE_UNAVAILABLE
             : r.kind == EK_STORAGE_FULL ? STORE_FULL
                                         : STORE_ERROR;
        snprintf(e->msg, sizeof e->msg, "audit entry: %.200s", r.message);
    }
    engine_result_release(&r);
    arena_release(&a);
    return rc;
}

const char *engine_currency(const engine_call *c)
{
    return c->currency && c->currency[0] ? c->currency : "USD";
}

int engine_dispatch(store_conn *conn, const char *ws, store_err *e)
{
    static const engine_system_fn hooks[] = {integrations_dispatch, NULL};
    if (!integrations_has_webhooks(ws)) return STORE_OK;
    return run_system(conn, ws, "dispatch", "webhook dispatch of workspace", hooks,
                      (int64_t)time_now_ms(), e);
}

int engine_timers(store_conn *conn, const char *ws, int64_t now_ms, store_err *e)
{
    return run_system(conn, ws, "timer", "timers of workspace", engine_timer_hooks, now_ms, e);
}

/* --------------------------------------------------------------- results */

void engine_result_init(engine_result *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->data, ENGINE_MAX_DATA);
}

const char *engine_result_code(const engine_result *r)
{
    static const char *const codes[] = {
        [EK_INVALID] = "validation_failed",
        [EK_FORBIDDEN] = "forbidden",
        [EK_NOT_FOUND] = "not_found",
        [EK_CONFLICT] = "conflict",
        [EK_UNPROCESSABLE] = "validation_failed",
        [EK_UNAVAILABLE] = "store_unavailable",
        [EK_STORAGE_FULL] = "insufficient_storage",
        [EK_INTERNAL] = "internal",
    };
    if (r->kind == EK_OK || r->kind == EK_CREATED) return NULL;
    return r->code ? r->code : codes[r->kind];
}

void engine_result_release(engine_result *r)
{
    for (int i = 0; i < r->nitems; i++)
        engine_result_release(&r->items[i]);
    r->nitems = 0;
    buf_free(&r->data);
}

int engine_fail(engine_call *c, engine_kind kind, const char *param, const char *fmt, ...)
{
    engine_result *o = c->out;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->message, sizeof o->message, fmt, ap);
    va_end(ap);
    o->kind = kind;
    o->code = NULL;
    /* Copied: a parameter's name may be a key of the caller's body. */
    o->param = param ? arena_strdup(c->a, param) : NULL;
    o->extra_key = o->extra_val = NULL;
    o->list = false;
    o->next_cursor = NULL;
    buf_reset(&o->data);
    return -1;
}

int engine_store_fail(engine_call *c, int rc, const store_err *e)
{
    if (rc == STORE_NOTFOUND) return engine_fail(c, EK_NOT_FOUND, NULL, "%s", e->msg);
    if (rc == STORE_CONFLICT)
        return engine_fail(c, EK_CONFLICT, NULL, "the record conflicts with an existing one");
    if (rc == STORE_RANGE)
        return engine_fail(c, EK_INVALID, NULL, "a total would leave the 64-bit range: %s", e->msg);
    fprintf(stderr, "{\"level\":\"error\",\"request_id\":\"%s\",\"store\":\"%s\"}\n",
            c->trace ? c->trace : "", e->msg);
    if (rc == STORE_BUSY || rc == STORE_UNAVAILABLE)
        engine_fail(c, EK_UNAVAILABLE, NULL, "%s",
                    rc == STORE_BUSY ? "the database is busy; retry shortly"
                                     : "the database is unavailable; retry shortly");
    else if (rc == STORE_FULL)
        engine_fail(c, EK_STORAGE_FULL, NULL, "%s", STORE_FULL_MSG);
    else
        engine_fail(c, EK_INTERNAL, NULL, "internal error");
    c->out->store_failed = true;
    return -1;
}

bool engine_has_scope(const engine_call *c, const char *scope)
{
    size_t n = strlen(scope);
    const char *all = c->scopes ? c->scopes : "";
    for (const char *p = all; (p = strstr(p, scope)) != NULL; p += n) {
        bool start = p == all || p[-1] == ' ';
        bool end = p[n] == '\0' || p[n] == ' ';
        if (start && end) return true;
    }
    return false;
}

jw *engine_answer(engine_call *c)
{
    engine_result *o = c->out;
    jw *w = arena_alloc(c->a, sizeof *w);
    buf_reset(&o->data);
    o->kind = EK_OK;
    jw_init(w, &o->data);
    return w;
}

/* ------------------------------------------------------------ parameters */

const char *engine_param_get(engine_call *c, const char *k)
{
    for (int i = 0; i < c->nparams; i++)
        if (strcmp(c->params[i].k, k) == 0) {
            c->params[i].used = true;
            return c->params[i].v;
        }
    return NULL;
}

int engine_params_check(engine_call *c)
{
    for (int i = 0; i < c->nparams; i++) {
        if (c->params[i].used) continue;
        for (int j = 0; j < i; j++)
            if (strcmp(c->params[j].k, c->params[i].k) == 0)
                return engine_fail(c, EK_INVALID, c->params[i].k,
                                   "query parameter '%s' is given more than once", c->params[i].k);
        return engine_fail(c, EK_INVALID, c->params[i].k, "unknown query parameter '%s'",
                           c->params[i].k);
    }
    return 0;
}

int engine_parse_limit(engine_call *c, int *limit)
{
    *limit = 20;
    const char *s = engine_param_get(c, "limit");
    if (!s) return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 100)
        return engine_fail(c, EK_INVALID, "limit", "limit must be an integer from 1 to 100");
    *limit = (int)v;
    return 0;
}

/* ------------------------------------------------------- scopes, modules */

bool engine_writes(engine_op op, const res_action *a)
{
    if (op == OP_ACTION) return a->write;
    return op == OP_CREATE || op == OP_UPDATE || op == OP_DELETE || op == OP_SUBCREATE ||
           op == OP_BATCH || op == OP_MERGE || op == OP_WORKSPACE_UPDATE;
}

const char *engine_scope(engine_op op, const res_def *r, const res_action *a)
{
    if (op == OP_WORKSPACE_GET) return NULL;
    if (op == OP_WORKSPACE_UPDATE) return "workspace:admin";
    if (op == OP_ACTION && a->scope) return a->scope;
    return engine_writes(op, a) ? r->scope_write : r->scope_read;
}

int engine_authorize(engine_call *c)
{
    const char *scope = engine_scope(c->op, c->res, c->action);
    if (scope && !engine_has_scope(c, scope))
        return engine_fail(c, EK_FORBIDDEN, NULL, "this key lacks the %s scope", scope);
    /* The workspace's own settings belong to no module: a workspace that
     * switched every module off can still switch one on. */
    if (c->res && !c->res->core && (c->disabled & (1u << c->res->module))) {
        const char *m = res_module_names[c->res->module];
        engine_fail(c, EK_FORBIDDEN, NULL, "the %s module is disabled in this workspace", m);
        c->out->code = "module_disabled";
        c->out->extra_key = "module";
        c->out->extra_val = m;
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- output */

static void write_val(jw *w, const res_field *f, const store_val *v)
{
    if (v->kind == SV_NULL) {
        jw_null(w);
        return;
    }
    switch (f->type) {
    case FT_BOOL: jw_bool(w, v->i != 0); break;
    case FT_INT:
    case FT_MONEY: jw_int(w, v->kind == SV_INT ? v->i : (int64_t)v->d); break;
    case FT_NUMBER: jw_double(w, v->kind == SV_REAL ? v->d : (double)v->i); break;
    case FT_DATETIME: {
        char t[TIME_STR];
        time_format_ms((uint64_t)v->i, t);
        jw_str(w, t);
        break;
    }
    case FT_LIST:
    case FT_OBJECT:
    case FT_JSON: jw_raw(w, v->s, strlen(v->s)); break;
    default: jw_str(w, v->s ? v->s : "");
    }
}

void engine_write_row(jw *w, const res_def *r, const res_row *row)
{
    jw_obj_open(w);
    engine_write_members(w, r, row);
    jw_obj_close(w);
}

void engine_write_members(jw *w, const res_def *r, const res_row *row)
{
    char t[TIME_STR];
    jw_kstr(w, "id", row->id);
    jw_kstr(w, "object", r->singular);
    for (int i = 0; i < r->nfields; i++) {
        if (r->fields[i].flags & RF_HIDDEN) continue;
        jw_key(w, r->fields[i].name);
        write_val(w, &r->fields[i], &row->vals[i]);
    }
    if (r->custom_fields) {
        jw_key(w, "custom_fields");
        if (row->custom)
            jw_raw(w, row->custom, strlen(row->custom));
        else
            jw_raw(w, "{}", 2);
    }
    time_format_ms((uint64_t)row->created_ms, t);
    jw_kstr(w, "created_at", t);
    time_format_ms((uint64_t)row->updated_ms, t);
    jw_kstr(w, "updated_at", t);
}

int engine_respond(engine_call *c, const res_def *r, const res_row *row, engine_kind kind)
{
    engine_write_row(engine_answer(c), r, row);
    c->out->kind = kind;
    return 0;
}
/* --------------------------------------------------------------- cursors */

/* A cursor that does not open: forged, truncated, or another list's. */
static int bad_cursor(engine_call *c, const char *msg)
{
    engine_fail(c, EK_INVALID, "cursor", "%s", msg);
    c->out->code = "invalid_cursor";
    return -1;
}

/* ------------------------------------------------------------ validation */

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80) n++;
    return n;
}

static bool valid_email(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@')) return false;
    const char *dom = at + 1;
    const char *dot = strrchr(dom, '.');
    if (!dot || dot == dom || dot[1] == '\0') return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == ',' || *p == '<' || *p == '>' || *p == '(' ||
            *p == ')' || *p == ';' || *p == '"')
            return false;
    return strstr(dom, "..") == NULL && dom[0] != '.';
}

static bool valid_url(const char *s)
{
    const char *host;
    if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    else if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else
        return false;
    if (!*host || *host == '/') return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ') return false;
    return true;
}

static const char *type_name(res_ftype t)
{
    switch (t) {
    case FT_INT:
    case FT_MONEY: return "an integer";
    case FT_NUMBER: return "a number";
    case FT_BOOL: return "a boolean";
    case FT_LIST: return "an array of objects";
    case FT_OBJECT:
    case FT_JSON: return "an object";
    default: return "a string";
    }
}

static int bad(engine_call *c, const char *field, const char *fmt, const char *arg)
{
    char msg[400];
    snprintf(msg, sizeof msg, fmt, field, arg);
    return engine_fail(c, EK_INVALID, field, "%s", msg);
}

static int convert_list(engine_call *c, const res_field *f, json_t *j, store_val *out);
static int convert_object(engine_call *c, const res_field *f, json_t *j, store_val *out);

/* An FT_JSON value: any object, kept as compact text within max_len bytes
 * (its members are the hook's to check). */
static int convert_json(engine_call *c, const res_field *f, json_t *j, store_val *out)
{
    if (!json_is_object(j)) return bad(c, f->name, "%s must be %s", type_name(f->type));
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!s) return engine_fail(c, EK_INTERNAL, NULL, "out of memory");
    size_t n = strlen(s);
    if (n > (size_t)f->max_len) {
        free(s);
        char lim[32];
        snprintf(lim, sizeof lim, "%d", f->max_len);
        return bad(c, f->name, "%s must be at most %s bytes of JSON", lim);
    }
    *out = (store_val){.kind = SV_TEXT, .s = arena_strdup(c->a, s)};
    free(s);
    return 0;
}

/* Converts one JSON value into a stored value, enforcing the field's type
 * and constraints. References are checked separately (they need the store). */
static int convert(engine_call *c, const res_field *f, json_t *j, store_val *out)
{
    if (json_is_null(j)) {
        if (f->flags & RF_REQUIRED) return bad(c, f->name, "%s is required and cannot be null", "");
        *out = (store_val){.kind = SV_NULL};
        return 0;
    }
    switch (f->type) {
    case FT_LIST: return convert_list(c, f, j, out);
    case FT_OBJECT: return convert_object(c, f, j, out);
    case FT_JSON: return convert_json(c, f, j, out);
    case FT_BOOL:
        if (!json_is_boolean(j)) return bad(c, f->name, "%s must be %s", type_name(f->type));
        *out = (store_val){.kind = SV_INT, .i = json_is_true(j)};
        return 0;
    case FT_INT:
    case FT_MONEY: {
        if (!json_is_integer(j)) return bad(c, f->name, "%s must be %s", type_name(f->type));
        int64_t v = json_integer_value(j), lo = f->min, hi = f->max;
        if (f->type == FT_MONEY && lo >= hi) lo = -RES_MONEY_MAX, hi = RES_MONEY_MAX;
        if (lo < hi && (v < lo || v > hi)) {
            char range[64];
            snprintf(range, sizeof range, "%" PRId64 " and %" PRId64, lo, hi);
            return bad(c, f->name, "%s must be between %s", range);
        }
        *out = (store_val){.kind = SV_INT, .i = v};
        return 0;
    }
    case FT_NUMBER:
        if (!json_is_number(j)) return bad(c, f->name, "%s must be %s", type_name(f->type));
        *out = (store_val){.kind = SV_REAL, .d = json_number_value(j)};
        return 0;
    default: break;
    }
    if (!json_is_string(j)) return bad(c, f->name, "%s must be %s", type_name(f->type));
    const char *s = json_string_value(j);
    int max = res_field_max(f);
    if (max > 0 && utf8_len(s) > (size_t)max) {
        char lim[32];
        snprintf(lim, sizeof lim, "%d", max);
        return bad(c, f->name, "%s must be at most %s characters", lim);
    }
    switch (f->type) {
    case FT_EMAIL:
        if (!valid_email(s)) return bad(c, f->name, "%s is not a valid email address", "");
        break;
    case FT_URL:
        if (!valid_url(s)) return bad(c, f->name, "%s must be an http(s) URL", "");
        break;
    case FT_CURRENCY:
        if (strlen(s) != 3 || !isupper((unsigned char)s[0]) || !isupper((unsigned char)s[1]) ||
            !isupper((unsigned char)s[2]))
            return bad(c, f->name, "%s must be an ISO 4217 code such as USD", "");
        break;
    case FT_DATE:
        if (!time_parse_date(s)) return bad(c, f->name, "%s must be a date (YYYY-MM-DD)", "");
        break;
    case FT_DATETIME: {
        int64_t ms;
        if (!time_parse(s, &ms)) return bad(c, f->name, "%s must be an RFC 3339 date-time", "");
        *out = (store_val){.kind = SV_INT, .i = ms};
        return 0;
    }
    case FT_ENUM: {
        bool ok = false;
        for (const char *const *e = f->enum_vals; *e && !ok; e++)
            ok = strcmp(*e, s) == 0;
        if (!ok) {
            buf b;
            buf_init(&b, 1024);
            for (const char *const *e = f->enum_vals; *e; e++)
                buf_printf(&b, "%s%s", e == f->enum_vals ? "" : ", ", *e);
            bad(c, f->name, "%s must be one of: %s", buf_cstr(&b));
            buf_free(&b);
            return -1;
        }
        break;
    }
    case FT_REF:
        if (!*s) return bad(c, f->name, "%s must be a non-empty id", "");
        break;
    default:
        if ((f->flags & RF_REQUIRED) && !*s) return bad(c, f->name, "%s cannot be empty", "");
    }
    *out = (store_val){.kind = SV_TEXT, .s = arena_strdup(c->a, s)};
    return 0;
}

/* A field's declared default, converted as a given value would be. */
static int field_default(engine_call *c, const res_field *f, store_val *out)
{
    json_t *d = f->type == FT_BOOL ? json_boolean(strcmp(f->dflt, "true") == 0)
                : (f->type == FT_INT || f->type == FT_MONEY)
                    ? json_integer(strtoll(f->dflt, NULL, 10))
                    : json_string(f->dflt);
    int rc = convert(c, f, d, out);
    json_decref(d);
    return rc;
}

/* The last list convert_list made (engine_call.list): its text, and its
 * elements' values, which engine_list_vals hands out instead of parsing
 * the text again. */
typedef struct engine_listed {
    const char *text;
    const res_field *f;
    store_val *vals; /* n x f->nitems */
    size_t n;
} engine_listed;

/* An FT_LIST value: an array of at most max_len objects whose members are
 * converted as their item fields (a failure names `field[i].member`), kept
 * as JSON with every member in declaration order, defaults filled in and
 * read-only members null until a hook computes them. With RF_SCALARS each
 * element is a value converted as the one item field (a failure names
 * `field[i]`). */

/* "list[i]" or "list[i].key", in the arena: a list member's name, which
 * every member of every element gets (its errors name it), so made
 * without printf's cost. */
static const char *member_name(engine_call *c, const char *list, size_t i, const char *key)
{
    char digits[24];
    size_t nd = 0;
    do {
        digits[nd++] = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    size_t nl = strlen(list), nk = key ? strlen(key) + 1 : 0;
    char *out = arena_alloc(c->a, nl + nd + 2 + nk + 1), *p = out;
    memcpy(p, list, nl);
    p += nl;
    *p++ = '[';
    while (nd)
        *p++ = digits[--nd];
    *p++ = ']';
    if (key) {
        *p++ = '.';
        memcpy(p, key, nk - 1);
        p += nk - 1;
    }
    *p = 0;
    return out;
}
static int convert_list(engine_call *c, const res_field *f, json_t *j, store_val *out)
{
    bool scalars = f->flags & RF_SCALARS;
    if (!json_is_array(j))
        return bad(c, f->name, "%s must be %s",
                   scalars ? "an array of values" : type_name(f->type));
    size_t n = json_array_size(j);
    if (n > (size_t)f->max_len) {
        char lim[32];
        snprintf(lim, sizeof lim, "%d", f->max_len);
        return bad(c, f->name, "%s may hold at most %s elements", lim);
    }
    if ((f->flags & RF_REQUIRED) && n == 0) return bad(c, f->name, "%s cannot be empty", "");
    /* Every element's values, kept for engine_list_vals. */
    store_val *all = arena_alloc(c->a, sizeof *all * (size_t)f->nitems * (n ? n : 1));
    store_val *vals = all;
    buf b;
    buf_init(&b, ENGINE_MAX_DATA);
    jw w;
    jw_init(&w, &b);
    jw_arr_open(&w);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *e = json_array_get(j, i);
        if (scalars) {
            res_field m = f->items[0];
            m.name = member_name(c, f->name, i, NULL);
            m.flags |= RF_REQUIRED; /* an element is a value, never null */
            if ((rc = convert(c, &m, e, &vals[0]))) break;
            write_val(&w, &m, &vals[0]);
            continue;
        }
        vals = all + i * (size_t)f->nitems;
        if (!json_is_object(e)) {
            rc = engine_fail(c, EK_INVALID, arena_printf(c->a, "%s[%zu]", f->name, i),
                             "%s[%zu] must be an object", f->name, i);
            break;
        }
        for (int k = 0; k < f->nitems; k++)
            vals[k] = (store_val){.kind = SV_NULL};
        const char *key;
        json_t *v;
        json_object_foreach(e, key, v)
        {
            int k = 0;
            while (k < f->nitems && strcmp(f->items[k].name, key) != 0)
                k++;
            const char *name = member_name(c, f->name, i, key);
            if (k == f->nitems) {
                rc = engine_fail(c, EK_INVALID, name, "unknown field '%s'", name);
                break;
            }
            if (f->items[k].flags & RF_READONLY) {
                rc = engine_fail(c, EK_INVALID, name, "%s is read-only", name);
                break;
            }
            res_field m = f->items[k];
            m.name = name;
            if ((rc = convert(c, &m, v, &vals[k]))) break;
        }
        for (int k = 0; k < f->nitems && rc == 0; k++) {
            res_field m = f->items[k];
            if (vals[k].kind != SV_NULL || !(m.dflt || (m.flags & RF_REQUIRED))) continue;
            m.name = member_name(c, f->name, i, m.name);
            if (vals[k].kind == SV_NULL && m.dflt) rc = field_default(c, &m, &vals[k]);
            if (rc == 0 && vals[k].kind == SV_NULL && (m.flags & RF_REQUIRED))
                rc = engine_fail(c, EK_INVALID, m.name, "%s is required", m.name);
        }
        jw_obj_open(&w);
        for (int k = 0; k < f->nitems && rc == 0; k++) {
            jw_key(&w, f->items[k].name);
            write_val(&w, &f->items[k], &vals[k]);
        }
        jw_obj_close(&w);
    }
    jw_arr_close(&w);
    if (rc == 0) *out = (store_val){.kind = SV_TEXT, .s = arena_strndup(c->a, b.data, b.len)};
    buf_free(&b);
    if (rc == 0 && !scalars) {
        if (!c->list) c->list = arena_alloc(c->a, sizeof *c->list);
        *c->list = (engine_listed){.text = out->s, .f = f, .vals = all, .n = n};
    }
    return rc;
}

int engine_list_vals(engine_call *c, const res_def *r, const res_row *row, int field,
                     store_val **vals, size_t *n)
{
    const res_field *f = &r->fields[field];
    assert(f->type == FT_LIST && !(f->flags & RF_SCALARS));
    size_t ni = (size_t)f->nitems;
    *vals = NULL;
    *n = 0;
    const store_val *v = &row->vals[field];
    if (v->kind != SV_TEXT) return 0;
    const engine_listed *l = c->list;
    if (l && l->text == v->s && l->f->items == f->items) {
        *vals = arena_alloc(c->a, sizeof **vals * ni * (l->n ? l->n : 1));
        memcpy(*vals, l->vals, sizeof **vals * ni * l->n);
        *n = l->n;
        return 0;
    }
    json_t *j = json_loads(v->s, 0, NULL);
    size_t len = json_array_size(j);
    store_val *out = arena_alloc(c->a, sizeof *out * ni * (len ? len : 1));
    int rc =
        json_is_array(j) ? 0 : engine_fail(c, EK_INTERNAL, f->name, "%s is not a list", f->name);
    for (size_t i = 0; i < len && rc == 0; i++) {
        json_t *e = json_array_get(j, i);
        for (size_t k = 0; k < ni && rc == 0; k++) {
            json_t *m = json_object_get(e, f->items[k].name);
            out[i * ni + k] = (store_val){.kind = SV_NULL};
            if (m && !json_is_null(m)) rc = convert(c, &f->items[k], m, &out[i * ni + k]);
        }
    }
    json_decref(j);
    if (rc) return -1;
    *vals = out;
    *n = len;
    return 0;
}

void engine_set_list_vals(engine_call *c, const res_def *r, res_row *row, bool *set, int field,
                          const store_val *vals, size_t n)
{
    const res_field *f = &r->fields[field];
    buf b;
    buf_init(&b, ENGINE_MAX_DATA);
    jw w;
    jw_init(&w, &b);
    jw_arr_open(&w);
    for (size_t i = 0; i < n; i++) {
        jw_obj_open(&w);
        for (int k = 0; k < f->nitems; k++) {
            jw_key(&w, f->items[k].name);
            write_val(&w, &f->items[k], &vals[i * (size_t)f->nitems + (size_t)k]);
        }
        jw_obj_close(&w);
    }
    jw_arr_close(&w);
    engine_set(row, set, field, sv_text(arena_strndup(c->a, b.data, b.len)));
    buf_free(&b);
}

json_t *engine_items(const res_row *row, int field)
{
    json_t *j = row->vals[field].kind == SV_TEXT ? json_loads(row->vals[field].s, 0, NULL) : NULL;
    return json_is_array(j) ? j : (json_decref(j), json_array());
}

void engine_set_items(engine_call *c, res_row *row, bool *set, int field, json_t *items)
{
    char *s = json_dumps(items, JSON_COMPACT | JSON_PRESERVE_ORDER);
    engine_set(row, set, field, sv_text(arena_strdup(c->a, s ? s : "[]")));
    free(s);
}

int engine_parse_query_fields(engine_call *c, const res_field *fields, int n, store_val *vals,
                              bool *set)
{
    for (int i = 0; i < n; i++) {
        vals[i] = (store_val){.kind = SV_NULL};
        const char *v = engine_param_get(c, fields[i].name);
        set[i] = v != NULL;
        if (!v) continue;
        json_t *j;
        if (fields[i].type == FT_BOOL)
            j = !strcmp(v, "true") ? json_true() : !strcmp(v, "false") ? json_false() : NULL;
        else if (fields[i].type == FT_INT || fields[i].type == FT_MONEY) {
            char *end;
            errno = 0;
            long long x = strtoll(v, &end, 10);
            j = errno || end == v || *end ? NULL : json_integer(x);
        } else
            j = json_string(v);
        if (!j) return bad(c, fields[i].name, "%s must be %s", type_name(fields[i].type));
        int rc = convert(c, &fields[i], j, &vals[i]);
        json_decref(j);
        if (rc) return -1;
    }
    return 0;
}

bool engine_custom_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 100) return false;
    for (const char *p = k; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.') return false;
    return true;
}

/* A list of up to 100 names of up to 100 characters: an FT_OBJECT
 * RF_SCALARS value (a webhook's fields per record type). */
static bool name_list(json_t *v)
{
    if (!json_is_array(v) || json_array_size(v) > 100) return false;
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        if (!json_is_string(x) || !engine_custom_key_ok(json_string_value(x))) return false;
    }
    return true;
}

/* A flat object of string/number/bool values (custom_fields, FT_OBJECT;
 * with `lists`, lists of names instead) set into `into`: a null value
 * removes its key. A bad value is named by `name` alone, or with
 * `key_param` by name.key. */
static int flat_object(engine_call *c, const char *name, bool key_param, bool lists, json_t *j,
                       int max_keys, json_t *into)
{
    if (!json_is_object(j)) return bad(c, name, "%s must be an object", "");
    if (json_object_size(j) > (size_t)max_keys) {
        char lim[32];
        snprintf(lim, sizeof lim, "%d", max_keys);
        return bad(c, name, "%s may hold at most %s keys", lim);
    }
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        if (!engine_custom_key_ok(k))
            return bad(c, name, "%s keys must be 1-100 characters of [A-Za-z0-9_.-]", "");
        const char *p = key_param ? arena_printf(c->a, "%s.%s", name, k) : name;
        if (json_is_null(v)) {
            json_object_del(into, k);
            continue;
        }
        if (lists) {
            if (!name_list(v))
                return bad(c, p, "%s values must be lists of at most 100 names of [A-Za-z0-9_.-]",
                           "");
            json_object_set(into, k, v);
            continue;
        }
        if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
            return bad(c, p, "%s values must be strings, numbers or booleans", "");
        if (json_is_string(v) && utf8_len(json_string_value(v)) > 10000)
            return bad(c, p, "%s string values must be at most 10000 characters", "");
        json_object_set(into, k, v);
    }
    return 0;
}

/* custom_fields: PATCH merges keys into the stored object. */
static int convert_custom(engine_call *c, json_t *j, const char *old, const char **out)
{
    json_t *merged = NULL;
    if (old) merged = json_loads(old, 0, NULL);
    if (!merged) merged = json_object();
    if (flat_object(c, "custom_fields", false, false, j, 100, merged)) {
        json_decref(merged);
        return -1;
    }
    char *s = json_dumps(merged, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(merged);
    *out = arena_strdup(c->a, s);
    free(s);
    return 0;
}

/* An FT_OBJECT value whose members are declared (`items`): each member
 * converted as its field is (a failure names `object.member`, or deeper
 * for a list member), kept with every member in declaration order. */
static int convert_members(engine_call *c, const res_field *f, json_t *j, store_val *out)
{
    if (!json_is_object(j)) return bad(c, f->name, "%s must be %s", type_name(f->type));
    store_val *vals = arena_alloc(c->a, sizeof *vals * (size_t)f->nitems);
    for (int k = 0; k < f->nitems; k++)
        vals[k] = (store_val){.kind = SV_NULL};
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        int k = 0;
        while (k < f->nitems && strcmp(f->items[k].name, key) != 0)
            k++;
        const char *name = arena_printf(c->a, "%s.%s", f->name, key);
        if (k == f->nitems) return engine_fail(c, EK_INVALID, name, "unknown field '%s'", name);
        if (f->items[k].flags & RF_READONLY)
            return engine_fail(c, EK_INVALID, name, "%s is read-only", name);
        res_field m = f->items[k];
        m.name = name;
        if (convert(c, &m, v, &vals[k])) return -1;
    }
    for (int k = 0; k < f->nitems; k++) {
        res_field m = f->items[k];
        if (vals[k].kind != SV_NULL) continue;
        m.name = arena_printf(c->a, "%s.%s", f->name, m.name);
        if (m.dflt && field_default(c, &m, &vals[k])) return -1;
        if (vals[k].kind == SV_NULL && (m.flags & RF_REQUIRED))
            return engine_fail(c, EK_INVALID, m.name, "%s is required", m.name);
    }
    buf b;
    buf_init(&b, ENGINE_MAX_DATA);
    jw w;
    jw_init(&w, &b);
    jw_obj_open(&w);
    for (int k = 0; k < f->nitems; k++) {
        jw_key(&w, f->items[k].name);
        write_val(&w, &f->items[k], &vals[k]);
    }
    jw_obj_close(&w);
    *out = (store_val){.kind = SV_TEXT, .s = arena_strndup(c->a, b.data, b.len)};
    buf_free(&b);
    return 0;
}

/* An FT_OBJECT value, written whole. */
static int convert_object(engine_call *c, const res_field *f, json_t *j, store_val *out)
{
    if (f->items) return convert_members(c, f, j, out);
    json_t *o = json_object();
    if (flat_object(c, f->name, true, (f->flags & RF_SCALARS) != 0, j, f->max_len, o)) {
        json_decref(o);
        return -1;
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    *out = (store_val){.kind = SV_TEXT, .s = arena_strdup(c->a, s)};
    free(s);
    return 0;
}

/* ------------------------------------------------------------------ memo */

/* What one call has read or written, so a record it loaded is not loaded
 * again by a hook, nor its existence asked again by the reference check
 * (a deal move loads its stage once, not three times: on PostgreSQL each
 * is a round trip). Rows the engine writes replace their entry; a delete
 * drops it; a write below the engine (engine_repoint, a merge's
 * re-pointing) or a rolled-back savepoint forgets everything. */
#define MEMO_SLOTS 16

typedef struct engine_memo {
    const res_def *r[MEMO_SLOTS];
    res_row row[MEMO_SLOTS];
    int n, next;
} engine_memo;

static int memo_find(const engine_call *c, const res_def *r, const char *id)
{
    const engine_memo *m = c->memo;
    for (int i = 0; m && i < m->n; i++)
        if (m->r[i] == r && strcmp(m->row[i].id, id) == 0) return i;
    return -1;
}

/* A copy of row whose values are the caller's to change. */
static res_row copy_vals(engine_call *c, const res_def *r, const res_row *row)
{
    res_row out = *row;
    out.vals = arena_alloc(c->a, sizeof(store_val) * (size_t)(r->nfields + 1));
    memcpy(out.vals, row->vals, sizeof(store_val) * (size_t)r->nfields);
    return out;
}

static void memo_put(engine_call *c, const res_def *r, const res_row *row)
{
    if (!c->memo) c->memo = arena_zalloc(c->a, sizeof *c->memo);
    engine_memo *m = c->memo;
    int i = memo_find(c, r, row->id);
    if (i < 0) {
        i = m->n < MEMO_SLOTS ? m->n++ : m->next;
        m->next = (i + 1) % MEMO_SLOTS;
    }
    m->r[i] = r;
    m->row[i] = copy_vals(c, r, row);
}

static void memo_drop(engine_call *c, const res_def *r, const char *id)
{
    int i = memo_find(c, r, id);
    if (i >= 0) c->memo->r[i] = NULL;
}

static void memo_clear(engine_call *c)
{
    if (c->memo) c->memo->n = c->memo->next = 0;
}

int engine_prefetch(engine_call *c, store_read *reads, int n)
{
    store_err e;
    int rc = store_read_many(c->conn, c->a, c->ws, reads, n, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    for (int i = 0; i < n; i++)
        if ((reads[i].id || reads[i].key) && reads[i].rc == STORE_OK)
            memo_put(c, reads[i].r, &reads[i].row);
    return 0;
}

int engine_load(engine_call *c, const res_def *r, const char *id, const char *param, res_row *out)
{
    int hit = memo_find(c, r, id);
    if (hit >= 0) {
        *out = copy_vals(c, r, &c->memo->row[hit]);
        return 0;
    }
    store_err e;
    int rc = store_rec_get(c->conn, c->a, r, c->ws, id, out, &e);
    if (rc == STORE_OK) memo_put(c, r, out);
    char into[ID_MAX];
    if (rc == STORE_NOTFOUND && r->mergeable &&
        store_merged_get(c->conn, c->ws, r->name, id, into, &e) == STORE_OK) {
        engine_fail(c, EK_NOT_FOUND, param, "%s '%s' was merged into %s", r->singular, id, into);
        c->out->extra_key = "merged_into";
        c->out->extra_val = arena_strdup(c->a, into);
        return -1;
    }
    if (rc == STORE_NOTFOUND) {
        if (param)
            return engine_fail(c, EK_NOT_FOUND, param, "%s: no %s '%s' in this workspace", param,
                               r->singular, id);
        return engine_fail(c, EK_NOT_FOUND, NULL, "no %s '%s' in this workspace", r->singular, id);
    }
    if (rc) return engine_store_fail(c, rc, &e);
    return 0;
}

/* Checks references set in this write point at records of this workspace. */
static int check_refs(engine_call *c, const res_def *r, const res_row *row, const bool *set)
{
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (f->type != FT_REF) continue;
        const res_def *t = f->ref ? res_find(f->ref) : NULL;
        if (f->ref_by) {
            /* A polymorphic reference: its type field and it come as a pair. */
            int tf = res_field_index(r, f->ref_by);
            bool has_id = row->vals[i].kind == SV_TEXT, has_type = row->vals[tf].kind == SV_TEXT;
            if (has_id != has_type)
                return engine_fail(c, EK_INVALID, has_id ? f->ref_by : f->name,
                                   "%s and %s go together", f->ref_by, f->name);
            if (!has_id || (!set[i] && !set[tf])) continue;
            t = res_find_singular(row->vals[tf].s);
        } else if (!set[i] || row->vals[i].kind != SV_TEXT) {
            continue;
        }
        if (memo_find(c, t, row->vals[i].s) >= 0) continue;
        store_err e;
        int rc = store_rec_exists(c->conn, t, c->ws, row->vals[i].s, &e);
        /* A typed reference names a record to attach to: a missing one is
         * a bad value (400), where a plain reference is a missing record. */
        if (rc == STORE_NOTFOUND)
            return engine_fail(c, f->ref_by ? EK_INVALID : EK_NOT_FOUND, f->name,
                               "%s: no %s '%s' in this workspace", f->name, t->singular,
                               row->vals[i].s);
        if (rc) return engine_store_fail(c, rc, &e);
    }
    return 0;
}

/* Applies a JSON body to row: every key must be a writable field. */
static int apply_body(engine_call *c, const res_def *r, json_t *body, res_row *row, bool *set,
                      bool *set_custom, const char *old_custom)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (strcmp(k, "custom_fields") == 0 && r->custom_fields) {
            if (convert_custom(c, v, old_custom, &row->custom)) return -1;
            *set_custom = true;
            continue;
        }
        int i = res_field_index(r, k);
        if (i < 0 || (r->fields[i].flags & (RF_READONLY | RF_PARENT))) {
            if (i >= 0 || strcmp(k, "id") == 0 || strcmp(k, "created_at") == 0 ||
                strcmp(k, "updated_at") == 0 || strcmp(k, "object") == 0)
                return engine_fail(c, EK_INVALID, k, "%s is read-only", k);
            return engine_fail(c, EK_INVALID, k, "unknown field '%s'", k);
        }
        if (convert(c, &r->fields[i], v, &row->vals[i])) return -1;
        set[i] = true;
    }
    return 0;
}

/* The record an event also concerns: what a polymorphic reference (an
 * activity's related_resource_id) points at, so it joins that timeline. */
static const char *event_subject(const res_def *r, const res_row *row)
{
    for (int i = 0; i < r->nfields; i++)
        if (r->fields[i].ref_by && row->vals[i].kind == SV_TEXT) return row->vals[i].s;
    return NULL;
}

static bool same_val(const store_val *a, const store_val *b)
{
    if (a->kind != b->kind) return false;
    switch (a->kind) {
    case SV_NULL: return true;
    case SV_INT: return a->i == b->i;
    case SV_REAL: return a->d == b->d;
    default: return strcmp(a->s, b->s) == 0;
    }
}

/* {"field":{"from":old,"to":new},...} for the fields an update changed, or
 * NULL when it changed none. */
static const char *changes_json(engine_call *c, const res_def *r, const res_row *old,
                                const res_row *row)
{
    buf b;
    buf_init(&b, ENGINE_MAX_DATA);
    jw w;
    jw_init(&w, &b);
    jw_obj_open(&w);
    int n = 0;
    for (int i = 0; i < r->nfields; i++) {
        if ((r->fields[i].flags & RF_HIDDEN) || same_val(&old->vals[i], &row->vals[i])) continue;
        jw_key(&w, r->fields[i].name);
        jw_obj_open(&w);
        jw_key(&w, "from");
        write_val(&w, &r->fields[i], &old->vals[i]);
        jw_key(&w, "to");
        write_val(&w, &r->fields[i], &row->vals[i]);
        jw_obj_close(&w);
        n++;
    }
    const char *oc = old->custom ? old->custom : "{}", *nc = row->custom ? row->custom : "{}";
    if (r->custom_fields && strcmp(oc, nc) != 0) {
        jw_key(&w, "custom_fields");
        jw_obj_open(&w);
        jw_key(&w, "from");
        jw_raw(&w, oc, strlen(oc));
        jw_key(&w, "to");
        jw_raw(&w, nc, strlen(nc));
        jw_obj_close(&w);
        n++;
    }
    jw_obj_close(&w);
    const char *out = n ? arena_strndup(c->a, b.data, b.len) : NULL;
    buf_free(&b);
    return out;
}

/* Serialises row once, for its event `<singular>.<action>` (changes
 * against old) and, with `answer`, as the call's answer of that kind. */
static int emit(engine_call *c, const res_def *r, const char *action, const res_row *row,
                const res_row *old, bool answer, engine_kind kind)
{
    if (r->read_only && !answer) return 0; /* its owner's event tells */
    buf tmp;
    buf_init(&tmp, ENGINE_MAX_DATA);
    buf *b = answer ? &c->out->data : &tmp;
    buf_reset(b);
    jw w;
    jw_init(&w, b);
    engine_write_row(&w, r, row);
    char type[128];
    snprintf(type, sizeof type, "%s.%s", r->singular, action);
    const char *data = arena_strndup(c->a, b->data, b->len);
    buf_free(&tmp);
    if (answer && c->out->reveal_key && b->len && b->data[b->len - 1] == '}') {
        b->len--;
        buf_putc(b, ',');
        jw_escape(b, c->out->reveal_key, strlen(c->out->reveal_key));
        buf_putc(b, ':');
        jw_escape(b, c->out->reveal_val, strlen(c->out->reveal_val));
        buf_putc(b, '}');
    }
    if (r->read_only) {
        if (answer) c->out->kind = kind;
        return 0;
    }
    const char *changes = old ? changes_json(c, r, old, row) : NULL;
    store_err e;
    int rc = store_event_append(c->conn, c->ws, type, r->name, row->id, event_subject(r, row), data,
                                changes, c->actor, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    if (c->out->nwritten < ENGINE_MAX_WRITTEN) {
        bool seen = false;
        for (int i = 0; i < c->out->nwritten && !seen; i++)
            seen = strcmp(c->out->written[i], row->id) == 0;
        if (!seen) c->out->written[c->out->nwritten++] = arena_strdup(c->a, row->id);
    }
    if (answer) c->out->kind = kind;
    return 0;
}

int engine_event(engine_call *c, const res_def *r, const char *action, const res_row *row,
                 const res_row *old)
{
    return emit(c, r, action, row, old, false, EK_OK);
}

static int run_hook(res_write *w, int (*fn)(res_write *))
{
    return fn ? fn(w) : 0;
}

/* The path's parent id (nested resources) and the record's own id. */
static const char *parent_id(engine_call *c)
{
    return c->res->parent ? c->ids[0] : NULL;
}
static const char *item_id(engine_call *c)
{
    return c->res->parent ? c->ids[1] : c->ids[0];
}

/* A nested resource's parent must exist in this workspace. */
static int check_parent(engine_call *c, const res_def *r)
{
    if (!r->parent) return 0;
    res_row p;
    return engine_load(c, res_find(r->parent), c->ids[0], NULL, &p);
}

/* A write hit the resource's unique tuple: name its last field, the one
 * that tells records apart within the tuple (company_id of a contact's
 * memberships). */
static int conflict(engine_call *c, const res_def *r)
{
    int n = 0;
    while (n < 3 && r->unique[n])
        n++;
    const char *f = n ? r->unique[n - 1] : "id";
    return engine_fail(c, EK_CONFLICT, n ? f : NULL, "a %s with the same %s already exists",
                       r->singular, f);
}

/* The record the path names: {id}, or {sub_id} under its parent {id}. */
static int load_item(engine_call *c, const res_def *r, res_row *row)
{
    if (check_parent(c, r)) return -1;
    if (engine_load(c, r, item_id(c), NULL, row)) return -1;
    int pf = res_parent_field(r);
    if (pf >= 0 && strcmp(row->vals[pf].s, parent_id(c)) != 0)
        return engine_fail(c, EK_NOT_FOUND, NULL, "no %s '%s' under this %s", r->singular,
                           item_id(c), res_find(r->parent)->singular);
    return 0;
}

/* ---------------------------------------------------------------- rollups */

/* Counts row into (sign 1) or out of (sign -1) its rollup group. */
/* A row's rollup group (its key fields) and its share of the sum. */
static int64_t rollup_share(const res_def *r, const res_row *row, store_val keys[3])
{
    for (int g = 0; g < 3; g++)
        keys[g] = r->rollup.group[g] ? row->vals[res_field_index(r, r->rollup.group[g])]
                                     : (store_val){.kind = SV_NULL};
    const store_val *v = r->rollup.sum ? &row->vals[res_field_index(r, r->rollup.sum)] : NULL;
    return v && v->kind == SV_INT ? v->i : 0;
}

/* The store refused a rollup change that would take a group's total out
 * of 64 bits (STORE_RANGE): the write's amount is at fault. */
static int rollup_fail(engine_call *c, const res_def *r, int rc, const store_err *e)
{
    if (rc != STORE_RANGE) return engine_store_fail(c, rc, e);
    return engine_fail(c, EK_INVALID, r->rollup.sum,
                       "%s would take the total of its %s group past the 64-bit range",
                       r->rollup.sum ? r->rollup.sum : "the record", r->singular);
}

/* Rollup changes held back (engine_rollups_defer), one per group. */
typedef struct engine_rollups {
    bool on;
    int n;
    store_rollup_delta d[STORE_ROLLUP_MANY];
    res_def two[STORE_ROLLUP_MANY]; /* second rollups' defs, which d[i].r may point at */
} engine_rollups;

void engine_rollups_defer(engine_call *c)
{
    if (!c->rollups) c->rollups = arena_zalloc(c->a, sizeof *c->rollups);
    c->rollups->on = true;
    c->rollups->n = 0;
}

static int rollups_write(engine_call *c)
{
    engine_rollups *p = c->rollups;
    int n = p->n;
    p->n = 0;
    if (n == 0) return 0;
    store_err e;
    int rc = store_rollup_add_many(c->conn, c->ws, p->d, n, &e);
    /* All or none: any group's sum field names the amount at fault. */
    return rc ? rollup_fail(c, p->d[0].r, rc, &e) : 0;
}

int engine_rollups_end(engine_call *c, int rc)
{
    if (!c->rollups || !c->rollups->on) return rc;
    c->rollups->on = false;
    if (rc == 0) return rollups_write(c);
    c->rollups->n = 0;
    return rc;
}

static bool same_group(const res_def *r, const store_val *a, const store_val *b)
{
    for (int g = 0; g < 3 && r->rollup.group[g]; g++) {
        bool an = a[g].kind != SV_TEXT, bn = b[g].kind != SV_TEXT;
        if (an != bn || (!an && strcmp(a[g].s, b[g].s) != 0)) return false;
    }
    return true;
}

/* Adds a change to those held back: to its group's when there is one
 * and the sums stay in 64 bits, otherwise as a new one (after writing
 * the others when there is no room, or when its group is among them). */
static int rollup_hold(engine_call *c, const res_def *r, const store_val *keys, int64_t dcount,
                       int64_t dsum)
{
    engine_rollups *p = c->rollups;
    for (int i = 0; i < p->n; i++) {
        store_rollup_delta *d = &p->d[i];
        if (strcmp(d->r->name, r->name) != 0 || !same_group(r, d->keys, keys)) continue;
        int64_t nc, ns;
        if (!__builtin_add_overflow(d->dcount, dcount, &nc) &&
            !__builtin_add_overflow(d->dsum, dsum, &ns)) {
            d->dcount = nc;
            d->dsum = ns;
            return 0;
        }
        if (rollups_write(c)) return -1;
        break;
    }
    if (p->n == STORE_ROLLUP_MANY && rollups_write(c)) return -1;
    int i = p->n++;
    const res_def *own = r;
    if (r != &res_defs[r->id]) { /* a second rollup's def, the caller's copy */
        p->two[i] = *r;
        own = &p->two[i];
    }
    p->d[i] = (store_rollup_delta){.r = own, .dcount = dcount, .dsum = dsum};
    memcpy(p->d[i].keys, keys, sizeof p->d[i].keys);
    return 0;
}

static int rollup_apply_one(engine_call *c, const res_def *r, const res_row *row, int sign)
{
    if (!r->rollup.group[0]) return 0;
    store_val keys[3];
    int64_t sum = rollup_share(r, row, keys), delta;
    /* Values come bounded through the API, but a row written before the
     * bound (or below the engine) may hold INT64_MIN, whose negation does
     * not exist. */
    if (__builtin_mul_overflow(sum, sign, &delta))
        return engine_fail(c, EK_INVALID, r->rollup.sum, "%s %" PRId64 " is out of range",
                           r->rollup.sum, sum);
    if (c->rollups && c->rollups->on) return rollup_hold(c, r, keys, sign, delta);
    store_err e;
    int rc = store_rollup_add(c->conn, r, c->ws, keys, sign, delta, &e);
    return rc ? rollup_fail(c, r, rc, &e) : 0;
}

/* The move of an updated row between r's rollup groups, when its keys or
 * its sum changed: into *w, with the groups' keys in keys[0] (from) and
 * keys[1] (to); whether there is one. */
static bool rollup_write(const res_def *r, const res_row *old, const res_row *row,
                         store_val keys[2][3], store_write *w)
{
    if (!r->rollup.group[0]) return false;
    bool same = true;
    for (int g = 0; g < 3 && r->rollup.group[g]; g++) {
        int i = res_field_index(r, r->rollup.group[g]);
        same = same && same_val(&old->vals[i], &row->vals[i]);
    }
    if (r->rollup.sum) {
        int i = res_field_index(r, r->rollup.sum);
        same = same && same_val(&old->vals[i], &row->vals[i]);
    }
    if (same) return false;
    *w = (store_write){.r = r, .from_keys = keys[0], .to_keys = keys[1]};
    w->from_sum = rollup_share(r, old, keys[0]);
    w->to_sum = rollup_share(r, row, keys[1]);
    return true;
}

/* Moves an updated row between rollup groups when its keys or sum changed:
 * one statement for both groups (one round trip on PostgreSQL). */
static int rollup_move_one(engine_call *c, const res_def *r, const res_row *old, const res_row *row)
{
    store_val keys[2][3];
    store_write w;
    if (!rollup_write(r, old, row, keys, &w)) return 0;
    /* Adds held back go first: a move checks the groups as they are. */
    if (c->rollups && c->rollups->on && rollups_write(c)) return -1;
    store_err e;
    int rc = store_rollup_move(c->conn, r, c->ws, w.from_keys, w.from_sum, w.to_keys, w.to_sum, &e);
    return rc ? rollup_fail(c, r, rc, &e) : 0;
}

/* Both rollups of r: its own, and the second as the store sees it. */
static int rollup_apply(engine_call *c, const res_def *r, const res_row *row, int sign)
{
    res_def two = res_rollup2_def(r);
    return rollup_apply_one(c, r, row, sign) || rollup_apply_one(c, &two, row, sign) ? -1 : 0;
}

static int rollup_move(engine_call *c, const res_def *r, const res_row *old, const res_row *row)
{
    res_def two = res_rollup2_def(r);
    return rollup_move_one(c, r, old, row) || rollup_move_one(c, &two, old, row) ? -1 : 0;
}

/* ----------------------------------------------------------------- writes */

/* Defaults, required fields, hooks, references, the insert, and the
 * event; with `answer` the record becomes the call's answer (created). */
static int insert_row(engine_call *c, const res_def *r, res_row *row, bool *set, bool answer)
{
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (set[i] || !f->dflt) continue;
        if (field_default(c, f, &row->vals[i])) return -1;
    }
    if (r->require_one_of[0]) {
        bool any = false;
        for (int k = 0; r->require_one_of[k] && !any; k++) {
            int i = res_field_index(r, r->require_one_of[k]);
            any = i >= 0 && row->vals[i].kind != SV_NULL;
        }
        if (!any) {
            char names[256] = "";
            for (int k = 0; r->require_one_of[k]; k++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "",
                         r->require_one_of[k]);
            return engine_fail(c, EK_INVALID, r->require_one_of[0],
                               "at least one of %s is required", names);
        }
    }
    /* Before the hook: before_write runs after generic validation, and a
     * hook may rely on a required field being there (the stage hook makes
     * a key from the name). */
    for (int i = 0; i < r->nfields; i++)
        if ((r->fields[i].flags & RF_REQUIRED) && row->vals[i].kind == SV_NULL)
            return engine_fail(c, EK_INVALID, r->fields[i].name, "%s is required",
                               r->fields[i].name);
    if (!row->id[0]) id_new(row->id, r->prefix);
    row->created_ms = row->updated_ms = (int64_t)time_now_ms();
    res_write w = {.c = c, .r = r, .is_create = true, .row = row, .set = set};
    if (run_hook(&w, HOOK(r, before_write))) return -1;
    if (check_refs(c, r, row, set)) return -1;
    store_err e;
    int rc = store_rec_insert(c->conn, r, c->ws, row, &e);
    if (rc == STORE_CONFLICT) return conflict(c, r);
    if (rc) return engine_store_fail(c, rc, &e);
    memo_put(c, r, row);
    if (rollup_apply(c, r, row, 1)) return -1;
    if (run_hook(&w, HOOK(r, after_write))) return -1;
    return emit(c, r, "created", row, NULL, answer, EK_CREATED);
}

/* Validates row's changed fields, runs hooks, stores the update and its
 * event (with the changes against old); with `answer` the record becomes
 * the call's answer. */
static int update_row(engine_call *c, const res_def *r, const res_row *old, res_row *row, bool *set,
                      bool set_custom, const char *action, bool answer)
{
    for (int i = 0; i < r->nfields; i++)
        if (set[i] && (r->fields[i].flags & RF_CREATEONLY) &&
            !same_val(&old->vals[i], &row->vals[i]))
            return engine_fail(c, EK_INVALID, r->fields[i].name,
                               "%s cannot be changed after creation", r->fields[i].name);
    row->updated_ms = (int64_t)time_now_ms();
    res_write w = {.c = c, .r = r, .is_create = false, .row = row, .old = old, .set = set};
    if (run_hook(&w, HOOK(r, before_write))) return -1;
    if (check_refs(c, r, row, set)) return -1;
    /* The update and the rollup moves it makes, together (one round trip
     * on PostgreSQL). */
    res_def two = res_rollup2_def(r);
    store_val keys[2][2][3];
    store_write sw[3] = {{.r = r, .row = row, .set = set, .set_custom = set_custom}};
    int n = 1;
    n += rollup_write(r, old, row, keys[0], &sw[n]);
    n += rollup_write(&two, old, row, keys[1], &sw[n]);
    /* Adds held back go first: a move checks the groups as they are. */
    if (n > 1 && c->rollups && c->rollups->on && rollups_write(c)) return -1;
    store_err e;
    int failed;
    int rc = store_write_many(c->conn, c->ws, sw, n, &failed, &e);
    if (rc && failed > 0) return rollup_fail(c, sw[failed].r, rc, &e);
    if (rc == STORE_CONFLICT) return conflict(c, r);
    if (rc) return engine_store_fail(c, rc, &e);
    memo_put(c, r, row);
    if (run_hook(&w, HOOK(r, after_write))) return -1;
    return emit(c, r, action ? action : "updated", row, old, answer, EK_OK);
}

res_row engine_new_row(engine_call *c, const res_def *r, bool **set)
{
    res_row row = {0};
    row.vals = arena_zalloc(c->a, sizeof(store_val) * (size_t)(r->nfields + 1));
    *set = arena_zalloc(c->a, sizeof(bool) * (size_t)(r->nfields + 1));
    return row;
}

res_row engine_copy_row(engine_call *c, const res_def *r, const res_row *old, bool **set)
{
    res_row row = *old;
    row.vals = arena_alloc(c->a, sizeof(store_val) * (size_t)(r->nfields + 1));
    memcpy(row.vals, old->vals, sizeof(store_val) * (size_t)r->nfields);
    *set = arena_zalloc(c->a, sizeof(bool) * (size_t)(r->nfields + 1));
    return row;
}

void engine_set(res_row *row, bool *set, int field, store_val v)
{
    row->vals[field] = v;
    set[field] = true;
}

const char *engine_text(const res_row *row, int field)
{
    return row->vals[field].kind == SV_TEXT ? row->vals[field].s : NULL;
}

int64_t engine_int(const res_row *row, int field, int64_t dflt)
{
    return row->vals[field].kind == SV_INT ? row->vals[field].i : dflt;
}

int engine_insert(engine_call *c, const res_def *r, res_row *row, bool *set)
{
    return insert_row(c, r, row, set, false);
}

int engine_update_row(engine_call *c, const res_def *r, const res_row *old, res_row *row, bool *set,
                      const char *action)
{
    return update_row(c, r, old, row, set, false, action, false);
}

int engine_save(engine_call *c, const res_def *r, res_row *row, const res_row *old, const bool *set)
{
    store_err e;
    row->updated_ms = (int64_t)time_now_ms();
    int rc = store_rec_update(c->conn, r, c->ws, row, set, false, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    memo_put(c, r, row);
    if (r->rollup.group[0]) {
        /* Moving a row between rollup groups needs the row before. */
        if (!old)
            return engine_fail(c, EK_INTERNAL, NULL, "updating %s needs the row before", r->name);
        if (rollup_move(c, r, old, row)) return -1;
    }
    return engine_event(c, r, "updated", row, old);
}

int engine_key_lock_of(const char *value)
{
    return (int)(hash_str_nocase(value) % ENGINE_KEY_LOCKS);
}

int engine_lock_key(engine_call *c, const res_def *r, int lock)
{
    store_err e;
    int rc = store_lock(c->conn, c->ws, arena_printf(c->a, "%s#%d", r->name, lock), &e);
    return rc ? engine_store_fail(c, rc, &e) : 0;
}

int engine_find_key(engine_call *c, const res_def *r, int field, const char *value, res_row *out)
{
    if (engine_lock_key(c, r, engine_key_lock_of(value))) return -1;
    return engine_find_by(c, r, field, value, out);
}

/* The record `upsert_on` matches, case-insensitively: 1 found (in *old), 0
 * none, -1 failed. */
static int upsert_match(engine_call *c, const res_def *r, json_t *body, const char *on,
                        res_row *old)
{
    bool allowed = false;
    for (int k = 0; k < 3 && r->upsert_keys[k]; k++)
        allowed |= strcmp(r->upsert_keys[k], on) == 0;
    if (!allowed) {
        if (!r->upsert_keys[0])
            return engine_fail(c, EK_INVALID, "upsert_on", "%s cannot be upserted", r->name);
        return engine_fail(c, EK_INVALID, "upsert_on", "upsert_on must be %s", r->upsert_keys[0]);
    }
    json_t *v = json_object_get(body, on);
    if (!json_is_string(v) || !*json_string_value(v))
        return engine_fail(c, EK_INVALID, "upsert_on",
                           "upsert_on=%s needs a non-empty %s in the body", on, on);
    return engine_find_key(c, r, res_field_index(r, on), json_string_value(v), old);
}

/* PATCH's update of old from a body (only the fields it names change);
 * with `answer` the record becomes the call's answer. */
static int update_body(engine_call *c, const res_def *r, const res_row *old, json_t *body,
                       bool answer, res_row *out)
{
    if (!json_is_object(body)) return engine_fail(c, EK_INVALID, "data", "data must be an object");
    bool *set, set_custom = false;
    res_row row = engine_copy_row(c, r, old, &set);
    if (apply_body(c, r, body, &row, set, &set_custom, old->custom) ||
        update_row(c, r, old, &row, set, set_custom, NULL, answer))
        return -1;
    if (out) *out = row;
    return 0;
}

/* POST's create from a body, under the path's parent for a nested r;
 * with `answer` the record becomes the call's answer. */
static int create_body(engine_call *c, const res_def *r, json_t *body, bool answer, res_row *out)
{
    if (!json_is_object(body)) return engine_fail(c, EK_INVALID, "data", "data must be an object");
    bool *set, set_custom = false;
    res_row row = engine_new_row(c, r, &set);
    if (apply_body(c, r, body, &row, set, &set_custom, NULL)) return -1;
    int pf = res_parent_field(r);
    if (pf >= 0) engine_set(&row, set, pf, sv_text(parent_id(c)));
    if (insert_row(c, r, &row, set, answer)) return -1;
    if (out) *out = row;
    return 0;
}

int engine_create_from(engine_call *c, const res_def *r, json_t *body, res_row *out)
{
    if (r->parent)
        return engine_fail(c, EK_INTERNAL, NULL, "%s are created under their parent", r->name);
    return create_body(c, r, body, false, out);
}

int engine_update_from(engine_call *c, const res_def *r, const res_row *old, json_t *body,
                       res_row *out)
{
    return update_body(c, r, old, body, false, out);
}

/* Create (created), or with `upsert_on` an update of the matching record
 * (ok); the record is the call's answer. */
static int create_or_upsert(engine_call *c, const res_def *r, json_t *body, const char *upsert_on)
{
    if (!json_is_object(body)) return engine_fail(c, EK_INVALID, "data", "data must be an object");
    if (upsert_on) {
        res_row old;
        int found = upsert_match(c, r, body, upsert_on, &old);
        if (found < 0) return -1;
        if (found) return update_body(c, r, &old, body, true, NULL);
    }
    return create_body(c, r, body, true, NULL);
}

static int engine_create(engine_call *c)
{
    const char *upsert_on = engine_param_get(c, "upsert_on");
    if (engine_params_check(c) || check_parent(c, c->res)) return -1;
    return create_or_upsert(c, c->res, c->body, upsert_on);
}

static int engine_get(engine_call *c)
{
    if (engine_params_check(c)) return -1;
    res_row row;
    if (load_item(c, c->res, &row)) return -1;
    return engine_respond(c, c->res, &row, EK_OK);
}

static int engine_update(engine_call *c)
{
    if (engine_params_check(c)) return -1;
    res_row old;
    if (load_item(c, c->res, &old)) return -1;
    return update_body(c, c->res, &old, c->body, true, NULL);
}

/* --------------------------------------------------------------- deletes */

static int delete_row(engine_call *c, const res_def *r, const res_row *gone, bool cascade);

/* Calls fn for every field of every resource that can point at records
 * of r: plain references to r (type field -1), and typed ones whose type
 * field may name r. Stops at the first failure. */
static int each_ref(engine_call *c, const res_def *r,
                    int (*fn)(engine_call *c, const res_def *o, int field, int type_field,
                              const res_def *r, const void *ud),
                    const void *ud)
{
    for (int t = 0; t < res_count; t++) {
        const res_def *o = res_table[t];
        for (int i = 0; i < o->nfields; i++) {
            const res_field *f = &o->fields[i];
            if (f->type != FT_REF) continue;
            int tf = -1;
            if (f->ref_by) {
                tf = res_field_index(o, f->ref_by);
                bool names = false;
                for (const char *const *v = o->fields[tf].enum_vals; *v && !names; v++)
                    names = strcmp(*v, r->singular) == 0;
                if (!names) continue;
            } else if (strcmp(f->ref, r->name) != 0) {
                continue;
            }
            if (fn(c, o, i, tf, r, ud)) return -1;
        }
    }
    return 0;
}

/* Field i of o points at a record being deleted (`gone`): children and
 * required links are deleted with it (and so on down), optional links are
 * cleared, each through the engine, so their own hooks, events and
 * rollups run. Each pass lists the first rows still pointing at it. */
static int detach_field(engine_call *c, const res_def *o, int i, int tf, const res_def *r,
                        const void *ud)
{
    const res_row *gone = ud;
    bool del = tf < 0 && (o->fields[i].flags & (RF_PARENT | RF_REQUIRED));
    store_filter of = {.field = tf, .v = sv_text(r->singular)};
    store_query sq = {
        .filters = &of, .nfilters = tf >= 0, .limit = 100, .link_field = i, .link_value = gone->id};
    for (;;) {
        res_row *rows;
        int n;
        bool more;
        store_err e;
        int rc = store_rec_list(c->conn, c->a, o, c->ws, &sq, &rows, &n, &more, &e);
        if (rc) return engine_store_fail(c, rc, &e);
        for (int k = 0; k < n; k++) {
            if (del) {
                if (delete_row(c, o, &rows[k], true)) return -1;
                continue;
            }
            bool *set;
            res_row row = engine_copy_row(c, o, &rows[k], &set);
            engine_set(&row, set, i, (store_val){.kind = SV_NULL});
            if (tf >= 0) engine_set(&row, set, tf, (store_val){.kind = SV_NULL});
            if (update_row(c, o, &rows[k], &row, set, false, NULL, false)) return -1;
        }
        if (!more) return 0;
    }
}

/* Deletes a loaded record: its hooks, its dependants, the row, its
 * rollup share and its event. `cascade`: it goes because a record it
 * belongs to goes. */
static int delete_row(engine_call *c, const res_def *r, const res_row *gone, bool cascade)
{
    res_row row = *gone;
    res_write w = {.c = c, .r = r, .row = &row, .old = gone, .cascade = cascade};
    if (run_hook(&w, HOOK(r, before_delete)) || each_ref(c, r, detach_field, gone)) return -1;
    store_err e;
    int rc = store_rec_delete(c->conn, r, c->ws, gone->id, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    memo_drop(c, r, gone->id);
    if (rollup_apply(c, r, gone, -1) || run_hook(&w, HOOK(r, after_delete))) return -1;
    return engine_event(c, r, "deleted", gone, NULL);
}

int engine_delete_row(engine_call *c, const res_def *r, const res_row *gone)
{
    return delete_row(c, r, gone, false);
}

static int engine_delete(engine_call *c)
{
    const res_def *r = c->res;
    if (engine_params_check(c)) return -1;
    if (c->body && json_object_size(c->body) > 0)
        return engine_fail(c, EK_INVALID, NULL, "DELETE takes no body");
    res_row row;
    if (r->archive) {
        /* The record stays, archived: what refers to it still resolves. */
        int sf = res_field_index(r, "status");
        assert(sf >= 0);
        if (load_item(c, r, &row)) return -1;
        bool *set;
        res_row next = engine_copy_row(c, r, &row, &set);
        engine_set(&next, set, sf, sv_text("archived"));
        if (engine_update_row(c, r, &row, &next, set, NULL)) return -1;
        return engine_respond(c, r, &next, EK_OK);
    }
    if (load_item(c, r, &row) || delete_row(c, r, &row, false)) return -1;
    /* A dry run shows the record that would go. */
    if (c->dry_run) return engine_respond(c, r, &row, EK_OK);
    jw *o = engine_answer(c);
    jw_obj_open(o);
    jw_kstr(o, "id", row.id);
    jw_kstr(o, "object", r->singular);
    jw_kbool(o, "deleted", true);
    jw_obj_close(o);
    return 0;
}

/* ----------------------------------------------------------------- lists */

/* sort=field or sort=-field (descending), over sortable fields and
 * created_at. The default, newest first, is sort=-created_at. */
static int parse_sort(engine_call *c, const res_def *r, const char *s, store_query *sq)
{
    bool desc = s[0] == '-';
    const char *name = desc ? s + 1 : s;
    int i = res_field_index(r, name);
    if (strcmp(name, "created_at") == 0) {
        sq->ascending = !desc;
        return 0;
    }
    if (i >= 0 && (r->fields[i].flags & RF_SORT)) {
        sq->sort_by = &r->fields[i];
        sq->ascending = !desc;
        return 0;
    }
    char names[512] = "created_at";
    for (int k = 0; k < r->nfields; k++)
        if (r->fields[k].flags & RF_SORT)
            snprintf(names + strlen(names), sizeof names - strlen(names), ", %s",
                     r->fields[k].name);
    return engine_fail(c, EK_INVALID, "sort",
                       "sort must be one of %s, optionally prefixed with '-' for descending",
                       names);
}

/* `<x>_before` / `<x>_after` on RF_RANGE date-time fields named `<x>_at`. */
static int range_filters(engine_call *c, const res_def *r, store_filter *fl, int *nf)
{
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (!(f->flags & RF_RANGE)) continue;
        size_t n = strlen(f->name);
        if (n > 3 && strcmp(f->name + n - 3, "_at") == 0) n -= 3;
        for (int k = 0; k < 2; k++) {
            char name[128];
            snprintf(name, sizeof name, "%.*s_%s", (int)n, f->name, k ? "after" : "before");
            const char *v = engine_param_get(c, name);
            if (!v) continue;
            int64_t ms;
            if (!time_parse(v, &ms))
                return engine_fail(c, EK_INVALID, arena_strdup(c->a, name),
                                   "%s must be an RFC 3339 date-time", name);
            fl[*nf] = (store_filter){.field = i, .v = sv_int(ms), .op = k ? SF_GE : SF_LT};
            (*nf)++;
        }
    }
    return 0;
}

/* `company.domain=acme.com`: a filter through a declared reference, one
 * level deep, on a filterable field of the referenced resource. */
static int related_filters(engine_call *c, const res_def *r, store_filter *fl, int *nf)
{
    for (int p = 0; p < c->nparams; p++) {
        const char *k = c->params[p].k, *dot = strchr(k, '.');
        if (!dot) continue;
        char ref[80];
        snprintf(ref, sizeof ref, "%.*s_id", (int)(dot - k), k);
        int i = res_field_index(r, ref);
        if (i < 0 || r->fields[i].type != FT_REF || !r->fields[i].ref)
            return engine_fail(c, EK_INVALID, k, "%s: %s have no reference '%.*s'", k, r->name,
                               (int)(dot - k), k);
        const res_def *t = res_find(r->fields[i].ref);
        int j = res_field_index(t, dot + 1);
        if (j < 0 || !(t->fields[j].flags & RF_FILTER))
            return engine_fail(c, EK_INVALID, k, "%s: %s cannot be filtered by '%s'", k, t->name,
                               dot + 1);
        c->params[p].used = true;
        fl[*nf] = (store_filter){
            .field = i, .v = sv_text(c->params[p].v), .op = SF_REL, .rel = t, .rel_field = j};
        if (t->fields[j].type == FT_BOOL || t->fields[j].type == FT_INT) {
            const char *s = c->params[p].v;
            char *end;
            long long n = strtoll(s, &end, 10);
            if (!strcmp(s, "true") || !strcmp(s, "false")) n = strcmp(s, "true") == 0, end = "";
            if (*end || end == s) return engine_fail(c, EK_INVALID, k, "%s must be an integer", k);
            fl[*nf].v = sv_int(n);
        }
        (*nf)++;
    }
    return 0;
}

/* Whether the UTF-8 bytes w[0..n) hold a letter or a digit: a search word
 * without one (punctuation, symbols, emoji: "!!", "\u2713") is dropped by
 * the index's tokenizer, so it can match no record. Ranges of symbols and
 * punctuation beyond ASCII are listed; any other code point counts as a
 * letter (erring toward searching). */
static bool has_word_char(const char *w, size_t n)
{
    static const uint32_t marks[][2] = {
        {0x80, 0xA9},     {0xAB, 0xB1},     {0xB4, 0xB4},       {0xB6, 0xB8},
        {0xBB, 0xBB},     {0xBF, 0xBF},     {0xD7, 0xD7},       {0xF7, 0xF7},
        {0x2000, 0x206F}, {0x20A0, 0x20FF}, {0x2190, 0x245F},   {0x2500, 0x2BFF},
        {0x2E00, 0x2E7F}, {0x3000, 0x303F}, {0xFE00, 0xFE0F},   {0xFE10, 0xFE1F},
        {0xFE30, 0xFE6F}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF20},   {0xFF3B, 0xFF40},
        {0xFF5B, 0xFF65}, {0xFFF0, 0xFFFF}, {0x1F000, 0x1FAFF}, {0xE0000, 0xE007F},
    };
    const unsigned char *p = (const unsigned char *)w, *end = p + n;
    while (p < end) {
        uint32_t cp = *p;
        int len = cp < 0x80 ? 1 : cp >= 0xF0 ? 4 : cp >= 0xE0 ? 3 : 2;
        if (cp >= 0x80) {
            cp &= 0x3F >> (len - 1);
            for (int k = 1; k < len && p + k < end; k++)
                cp = cp << 6 | (p[k] & 0x3F);
        }
        p += len;
        if (cp < 0x80) {
            if (isalnum((int)cp)) return true;
            continue;
        }
        bool mark = false;
        for (size_t k = 0; k < sizeof marks / sizeof marks[0] && !mark; k++)
            mark = cp >= marks[k][0] && cp <= marks[k][1];
        if (!mark) return true;
    }
    return false;
}

static void count_wordless(const char *w, size_t n, void *ud)
{
    if (!has_word_char(w, n)) ++*(int *)ud;
}

/* Whether s is valid UTF-8 (no overlong forms, surrogates or values past
 * U+10FFFF): text that is not cannot match, nor be echoed into JSON. */
static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        int len = (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        if (!len) return false;
        uint32_t cp = *p & (0x7F >> len);
        for (int k = 1; k < len; k++) {
            if ((p[k] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (p[k] & 0x3F);
        }
        static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        p += len;
    }
    return true;
}

/* Reads limit, sort, cursor, query, field filters and custom-field
 * filters. *none: the query can match no record (a search word without a
 * letter or digit), so the page is empty whatever else it asks. */
static int parse_query(engine_call *c, const res_def *r, store_query *sq, bool *none)
{
    return engine_parse_query(c, r, sq, none);
}

int engine_parse_query(engine_call *c, const res_def *r, store_query *sq, bool *none)
{
    *none = false;
    memset(sq, 0, sizeof *sq);
    sq->link_field = -1;
    if (engine_parse_limit(c, &sq->limit)) return -1;
    const char *sort = engine_param_get(c, "sort");
    if (sort && parse_sort(c, r, sort, sq)) return -1;
    if (!sort && r->default_sort) {
        sq->sort_by = &r->fields[res_field_index(r, r->default_sort)];
        sq->ascending = true;
    }
    const char *cur = engine_param_get(c, "cursor");
    if (cur && !cursor_decode(c->a, c->ws, r, sort, cur, sq))
        return bad_cursor(c, "cursor is not a cursor returned by this list with this sort");
    const char *qs = engine_param_get(c, "query");
    if (qs && sort)
        return engine_fail(c, EK_INVALID, "sort",
                           "sort cannot be combined with query (search results are newest first)");
    if (qs && !utf8_valid(qs))
        return engine_fail(c, EK_INVALID, "query", "query is not valid UTF-8");
    if (qs && res_has_search(r)) {
        if (strlen(qs) > 200)
            return engine_fail(c, EK_INVALID, "query", "query must be at most 200 characters");
        int wordless = 0;
        *none = search_words(qs, count_wordless, &wordless) == 0 || wordless > 0;
        sq->fts = qs;
    } else if (qs) {
        return engine_fail(c, EK_INVALID, "query", "%s cannot be searched", r->name);
    }
    store_filter *fl =
        arena_zalloc(c->a, sizeof(store_filter) * (size_t)(3 * r->nfields + c->nparams + 1));
    int nf = 0;
    if (range_filters(c, r, fl, &nf) || related_filters(c, r, fl, &nf)) return -1;
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (!(f->flags & RF_FILTER)) continue;
        const char *v = engine_param_get(c, f->name);
        if (!v) continue;
        json_t *j;
        if (f->type == FT_BOOL) {
            if (strcmp(v, "true") && strcmp(v, "false"))
                return engine_fail(c, EK_INVALID, f->name, "%s must be true or false", f->name);
            j = json_boolean(strcmp(v, "true") == 0);
        } else if (f->type == FT_INT || f->type == FT_MONEY) {
            char *end;
            errno = 0;
            long long n = strtoll(v, &end, 10);
            if (errno || end == v || *end)
                return engine_fail(c, EK_INVALID, f->name, "%s must be an integer", f->name);
            j = json_integer(n);
        } else {
            j = json_string(v);
        }
        if (!j) return engine_fail(c, EK_INVALID, f->name, "%s is not valid UTF-8", f->name);
        /* Filters accept what writes accept, except format checks that
         * would reject a fragment-free exact match anyway. */
        res_field loose = *f;
        loose.flags &= ~(unsigned)RF_REQUIRED;
        if (loose.type == FT_EMAIL || loose.type == FT_URL || loose.type == FT_REF)
            loose.type = FT_STRING;
        int rc = convert(c, &loose, j, &fl[nf].v);
        json_decref(j);
        if (rc) return -1;
        fl[nf++].field = i;
    }
    sq->filters = fl;
    sq->nfilters = nf;
    const char *ck = engine_param_get(c, "custom_field_key");
    const char *cv = engine_param_get(c, "custom_field_value");
    if ((ck != NULL) != (cv != NULL))
        return engine_fail(c, EK_INVALID, ck ? "custom_field_value" : "custom_field_key",
                           "custom_field_key and custom_field_value go together");
    if (ck && !r->custom_fields)
        return engine_fail(c, EK_INVALID, "custom_field_key", "%s have no custom fields", r->name);
    if (ck && !engine_custom_key_ok(ck))
        return engine_fail(c, EK_INVALID, "custom_field_key",
                           "custom_field_key must be 1-100 characters of [A-Za-z0-9_.-]");
    sq->cf_key = ck;
    sq->cf_value = cv;
    return 0;
}

int engine_page(engine_call *c, const res_def *r, store_query *sq, const char *sort, res_row **rows,
                int *n, const char **next)
{
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, r, c->ws, sq, rows, n, &more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    *next = more && *n > 0 ? cursor_encode(c->a, c->ws, r, sort, &(*rows)[*n - 1], sq) : NULL;
    return 0;
}

/* Answers one page of r for sq (none: an empty one): an array of records
 * and the next cursor. */
static int run_list(engine_call *c, const res_def *r, store_query *sq, bool none)
{
    if (engine_params_check(c)) return -1;
    res_row *rows = NULL;
    int n = 0;
    const char *next = NULL;
    if (!none && engine_page(c, r, sq, engine_param_get(c, "sort"), &rows, &n, &next)) return -1;
    jw *w = engine_answer(c);
    jw_arr_open(w);
    for (int i = 0; i < n; i++)
        engine_write_row(w, r, &rows[i]);
    jw_arr_close(w);
    c->out->list = true;
    c->out->next_cursor = next;
    return 0;
}

static int engine_list(engine_call *c)
{
    const res_def *r = c->res;
    store_query sq;
    bool none;
    if (parse_query(c, r, &sq, &none)) return -1;
    if (r->parent) {
        if (check_parent(c, r)) return -1;
        sq.link_field = res_parent_field(r);
        sq.link_value = parent_id(c);
        /* 004 repeats the parent's id in the query of its nested lists. */
        const char *name = r->fields[sq.link_field].name;
        const char *again = engine_param_get(c, name);
        if (again && strcmp(again, parent_id(c)) != 0)
            return engine_fail(c, EK_INVALID, name,
                               "%s in the query differs from the one in the path", name);
    }
    return run_list(c, r, &sq, none);
}

static int engine_sublist(engine_call *c)
{
    const res_sublist *s = c->sub;
    const res_def *r = c->res;
    res_row owner;
    if (engine_load(c, res_find(s->owner), c->ids[0], NULL, &owner)) return -1;
    store_query sq;
    bool none;
    if (parse_query(c, r, &sq, &none)) return -1;
    sq.link_field = res_field_index(r, s->field);
    sq.link_value = owner.id;
    if (s->via) {
        sq.link_via = res_find(s->via);
        sq.link_via_match = res_field_index(sq.link_via, s->via_match);
        sq.link_via_target = res_field_index(sq.link_via, s->via_target);
    }
    return run_list(c, r, &sq, none);
}

static int engine_sublist_create(engine_call *c)
{
    const res_sublist *s = c->sub;
    const res_def *o = res_find(s->owner);
    res_row owner;
    if (engine_load(c, o, c->ids[0], NULL, &owner)) return -1;
    return engine_create_where(c, c->res, res_field_index(c->res, s->field),
                               arena_strdup(c->a, owner.id), o->singular);
}

int engine_update_due(engine_call *c, const res_def *r, const store_filter *f, int nf, int due)
{
    /* Newest first, PostgreSQL's generic plan walked every row of the
     * workspace backwards; in the field's order it reads the range. */
    store_query q = {.filters = f,
                     .nfilters = nf,
                     .sort_by = &r->fields[due],
                     .ascending = true,
                     .limit = 100,
                     .link_field = -1};
    res_row *rows;
    int n;
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, r, c->ws, &q, &rows, &n, &more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    for (int i = 0; i < n; i++) {
        bool *set;
        res_row row = engine_copy_row(c, r, &rows[i], &set);
        if (update_row(c, r, &rows[i], &row, set, false, NULL, false)) return -1;
    }
    return 0;
}

int engine_list_where(engine_call *c, const res_def *r, int field, const char *value)
{
    store_query sq;
    bool none;
    if (parse_query(c, r, &sq, &none)) return -1;
    sq.link_field = field;
    sq.link_value = value;
    return run_list(c, r, &sq, none);
}

int engine_create_where(engine_call *c, const res_def *r, int field, const char *value,
                        const char *type)
{
    if (engine_params_check(c)) return -1;
    bool *set, set_custom = false;
    res_row row = engine_new_row(c, r, &set);
    if (apply_body(c, r, c->body, &row, set, &set_custom, NULL)) return -1;
    int t = r->fields[field].ref_by ? res_field_index(r, r->fields[field].ref_by) : -1;
    for (int k = 0; k < 2; k++) {
        int f = k ? t : field;
        if (f >= 0 && set[f])
            return engine_fail(c, EK_INVALID, r->fields[f].name, "%s comes from the path",
                               r->fields[f].name);
    }
    engine_set(&row, set, field, sv_text(value));
    if (t >= 0) engine_set(&row, set, t, sv_text(type));
    return insert_row(c, r, &row, set, true);
}

int engine_parse_fields(engine_call *c, const res_field *fields, int n, json_t *body,
                        store_val *vals, bool *set)
{
    for (int i = 0; i < n; i++) {
        vals[i] = (store_val){.kind = SV_NULL};
        set[i] = false;
    }
    if (body && !json_is_object(body))
        return engine_fail(c, EK_INVALID, NULL, "the body must be a JSON object");
    const char *k;
    json_t *v;
    if (body) json_object_foreach(body, k, v)
        {
            int i = 0;
            while (i < n && strcmp(fields[i].name, k) != 0)
                i++;
            if (i == n) return engine_fail(c, EK_INVALID, k, "unknown field '%s'", k);
            if (convert(c, &fields[i], v, &vals[i])) return -1;
            set[i] = vals[i].kind != SV_NULL;
        }
    for (int i = 0; i < n; i++) {
        if (set[i]) continue;
        if (fields[i].flags & RF_REQUIRED)
            return engine_fail(c, EK_INVALID, fields[i].name, "%s is required", fields[i].name);
        if (fields[i].type == FT_BOOL && fields[i].dflt)
            vals[i] = sv_int(strcmp(fields[i].dflt, "true") == 0);
    }
    return 0;
}

int engine_find_by(engine_call *c, const res_def *r, int field, const char *value, res_row *out)
{
    store_err e;
    int rc = store_rec_find_by(c->conn, c->a, r, c->ws, field, value, c->bulk, out, &e);
    if (rc == STORE_NOTFOUND) return 0;
    if (rc) return engine_store_fail(c, rc, &e);
    memo_put(c, r, out); /* a reference to it is checked without asking again */
    return 1;
}

int engine_aggregate(engine_call *c, const res_def *r, const store_filter *f, int nf, int g0,
                     int g1, int sum, store_agg_row **rows, int *n)
{
    store_agg ag = {.filters = f, .nfilters = nf, .group = {g0, g1}, .sum = sum};
    store_err e;
    int rc = store_rec_aggregate(c->conn, c->a, r, c->ws, &ag, rows, n, &e);
    return rc ? engine_store_fail(c, rc, &e) : 0;
}

void engine_committed(void)
{
    analytics_committed();
}

int engine_each_row(engine_call *c, const res_def *r, store_query *q,
                    int (*fn)(engine_call *c, const res_row *row, void *ud), void *ud)
{
    for (;;) {
        res_row *rows;
        int n;
        bool more;
        store_err e;
        int rc = store_rec_list(c->conn, c->a, r, c->ws, q, &rows, &n, &more, &e);
        if (rc) return engine_store_fail(c, rc, &e);
        for (int i = 0; i < n; i++) {
            int stop = fn(c, &rows[i], ud);
            if (stop) return stop < 0 ? -1 : 0;
        }
        if (!more || n == 0) return 0;
        q->after_rid = rows[n - 1].rid;
        if (q->sort_by) q->after_val = rows[n - 1].vals[q->sort_by - r->fields];
    }
}

typedef struct rows_acc {
    res_row *rows;
    int n, cap, max;
} rows_acc;

static int rows_add(engine_call *c, const res_row *row, void *ud)
{
    rows_acc *acc = ud;
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 64;
        res_row *grown = arena_alloc(c->a, sizeof *grown * (size_t)acc->cap);
        if (acc->n) memcpy(grown, acc->rows, sizeof *grown * (size_t)acc->n);
        acc->rows = grown;
    }
    acc->rows[acc->n++] = *row;
    return acc->n > acc->max;
}

int engine_rows(engine_call *c, const res_def *r, store_query *q, int max, res_row **out, int *n)
{
    rows_acc acc = {.max = max};
    int rc = engine_each_row(c, r, q, rows_add, &acc);
    *out = acc.rows, *n = acc.n;
    return rc;
}

/* ----------------------------------------------------------------- merge */

/* Field i of o pointed at a merged-away record (ud: {from, to}): it now
 * names the survivor. */
static int repoint_field(engine_call *c, const res_def *o, int i, int tf, const res_def *r,
                         const void *ud)
{
    const char *const *ids = ud;
    return engine_repoint(c, o, i, ids[0], ids[1], tf, tf >= 0 ? r->singular : NULL);
}

int engine_repoint(engine_call *c, const res_def *r, int field, const char *from, const char *to,
                   int type_field, const char *type_value)
{
    memo_clear(c);
    store_err e;
    int rc = store_rec_repoint(c->conn, r, field, c->ws, from, to, type_field, type_value, &e);
    return rc ? engine_store_fail(c, rc, &e) : 0;
}

/* Folds one record into the survivor `into` (whose merged row is `row`,
 * custom fields in `custom`): references, history and empty fields move,
 * the record goes, and a stub remembers where. 1 when merged, 0 when it
 * was merged into `into` already (a retry). */
static int merge_one(engine_call *c, const res_def *r, const res_row *into, const char *from,
                     res_row *row, bool *set, json_t *custom, bool *set_custom)
{
    if (strcmp(from, into->id) == 0)
        return engine_fail(c, EK_INVALID, "from_ids", "a %s cannot be merged into itself",
                           r->singular);
    res_row src;
    char was[ID_MAX];
    store_err e;
    int rc = store_rec_get(c->conn, c->a, r, c->ws, from, &src, &e);
    if (rc == STORE_NOTFOUND &&
        store_merged_get(c->conn, c->ws, r->name, from, was, &e) == STORE_OK &&
        strcmp(was, into->id) == 0)
        return 0;
    if (rc == STORE_NOTFOUND) return engine_load(c, r, from, "from_ids", &src);
    if (rc) return engine_store_fail(c, rc, &e);
    for (int i = 0; i < r->nfields; i++) {
        if (r->fields[i].flags & (RF_READONLY | RF_PARENT)) continue;
        if (row->vals[i].kind == SV_NULL && src.vals[i].kind != SV_NULL)
            engine_set(row, set, i, src.vals[i]);
    }
    json_t *sc = src.custom ? json_loads(src.custom, 0, NULL) : NULL;
    const char *ck;
    json_t *cv;
    if (sc) json_object_foreach(sc, ck, cv)
        {
            if (!json_object_get(custom, ck)) {
                json_object_set(custom, ck, cv);
                *set_custom = true;
            }
        }
    json_decref(sc);
    buf snap;
    buf_init(&snap, ENGINE_MAX_DATA);
    jw sw;
    jw_init(&sw, &snap);
    engine_write_row(&sw, r, &src);
    res_write mw = {.c = c, .r = r, .row = (res_row *)into, .old = &src};
    rc = 0;
    const char *ids[2] = {from, into->id};
    if (each_ref(c, r, repoint_field, ids) || run_hook(&mw, HOOK(r, after_merge)))
        rc = -1;
    else if ((rc = store_event_resubject(c->conn, c->ws, from, into->id, &e)) ||
             (rc = store_rec_delete(c->conn, r, c->ws, from, &e)))
        rc = engine_store_fail(c, rc, &e);
    else if (rollup_apply(c, r, &src, -1))
        rc = -1;
    else if ((rc = store_merged_put(c->conn, c->ws, r->name, from, into->id, buf_cstr(&snap), &e)))
        rc = engine_store_fail(c, rc, &e);
    buf_free(&snap);
    return rc ? -1 : 1;
}

/* POST /{id}/merge {"from_ids": [...]}: each record is folded into this
 * one. A record already merged into this one is skipped, so a retry is a
 * no-op. */
static int engine_merge(engine_call *c)
{
    const res_def *r = c->res;
    if (engine_params_check(c)) return -1;
    json_t *ids = c->body ? json_object_get(c->body, "from_ids") : NULL;
    const char *k;
    json_t *v;
    if (c->body) json_object_foreach(c->body, k, v)
        {
            if (strcmp(k, "from_ids") != 0)
                return engine_fail(c, EK_INVALID, k, "unknown field '%s'", k);
        }
    if (!json_is_array(ids) || json_array_size(ids) < 1 || json_array_size(ids) > 20)
        return engine_fail(c, EK_INVALID, "from_ids", "from_ids must be an array of 1 to 20 ids");
    size_t idx;
    json_array_foreach(ids, idx, v)
    {
        if (!json_is_string(v))
            return engine_fail(c, EK_INVALID, "from_ids", "from_ids must hold ids");
    }
    res_row old;
    if (engine_load(c, r, c->ids[0], NULL, &old)) return -1;
    bool *set, set_custom = false;
    res_row row = engine_copy_row(c, r, &old, &set);
    json_t *custom = row.custom ? json_loads(row.custom, 0, NULL) : NULL;
    if (!custom) custom = json_object();
    int merged = 0, rc = 0;
    json_array_foreach(ids, idx, v)
    {
        rc = merge_one(c, r, &old, json_string_value(v), &row, set, custom, &set_custom);
        if (rc < 0) break;
        merged += rc;
    }
    if (rc >= 0 && set_custom) {
        char *cs = json_dumps(custom, JSON_COMPACT | JSON_SORT_KEYS);
        row.custom = arena_strdup(c->a, cs);
        free(cs);
    }
    json_decref(custom);
    if (rc < 0) return -1;
    if (!merged) return engine_respond(c, r, &old, EK_OK);
    return update_row(c, r, &old, &row, set, set_custom, "merged", true);
}

/* -------------------------------------------------------------- timeline */

/* GET /{id}/timeline: the record's events and those of records related to
 * it (tasks, activities), newest first. */
static int engine_timeline(engine_call *c)
{
    const res_def *r = c->res;
    store_query sq = {0};
    if (engine_parse_limit(c, &sq.limit)) return -1;
    const char *cur = engine_param_get(c, "cursor");
    if (cur && !cursor_decode(c->a, c->ws, r, "timeline", cur, &sq))
        return bad_cursor(c, "cursor is not a cursor returned by this timeline");
    if (engine_params_check(c)) return -1;
    res_row owner;
    if (engine_load(c, r, c->ids[0], NULL, &owner)) return -1;
    store_event *ev;
    int n;
    bool more;
    store_err e;
    int rc = store_event_list(c->conn, c->a, c->ws, owner.id, sq.after_rid, sq.limit, &ev, &n,
                              &more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    jw *w = engine_answer(c);
    jw_arr_open(w);
    for (int i = 0; i < n; i++) {
        char t[TIME_STR];
        jw_obj_open(w);
        jw_kstr(w, "id", ev[i].id);
        jw_kstr(w, "object", "timeline_item");
        jw_kstr(w, "type", ev[i].type);
        time_format_ms((uint64_t)ev[i].created_ms, t);
        jw_kstr(w, "occurred_at", t);
        jw_kstr(w, "resource_type", ev[i].res_type);
        jw_kstr(w, "resource_id", ev[i].res_id);
        jw_key(w, "changes");
        if (ev[i].changes)
            jw_raw(w, ev[i].changes, strlen(ev[i].changes));
        else
            jw_null(w);
        jw_key(w, "data");
        jw_raw(w, ev[i].data, strlen(ev[i].data));
        jw_obj_close(w);
    }
    jw_arr_close(w);
    c->out->list = true;
    if (more && n > 0) {
        res_row last = {.rid = ev[n - 1].rid};
        store_query plain = {0};
        c->out->next_cursor = cursor_encode(c->a, c->ws, r, "timeline", &last, &plain);
    }
    return 0;
}

/* ----------------------------------------------------------------- batch */

/* One batch operation as a call of its own (create, update or upsert) in
 * its own savepoint, so a failure undoes only itself. */
static void batch_item(engine_call *c, json_t *op, engine_result *out)
{
    engine_call ic = *c;
    ic.out = out;
    ic.params = NULL;
    ic.nparams = 0;
    ic.dry_run = false; /* the batch as a whole is rolled back for a dry run */
    ic.memo = NULL;     /* what a failed item wrote is rolled back: remember nothing */
    ic.rollups = NULL;
    ic.list = NULL;
    store_err e;
    int rc = store_savepoint(c->conn, &e);
    if (rc) {
        engine_store_fail(&ic, rc, &e);
        return;
    }
    const char *action = json_string_value(json_object_get(op, "action"));
    json_t *data = json_object_get(op, "data");
    const char *k;
    json_t *v;
    rc = -1;
    json_object_foreach(op, k, v)
    {
        if (strcmp(k, "action") && strcmp(k, "data") && strcmp(k, "id") && strcmp(k, "upsert_on")) {
            engine_fail(&ic, EK_INVALID, k, "unknown operation member '%s'", k);
            goto done;
        }
    }
    if (!action ||
        (strcmp(action, "create") && strcmp(action, "update") && strcmp(action, "upsert"))) {
        engine_fail(&ic, EK_INVALID, "action", "action must be one of: create, update, upsert");
    } else if (!json_is_object(data)) {
        engine_fail(&ic, EK_INVALID, "data", "data must be an object");
    } else if (strcmp(action, "update") == 0) {
        const char *id = json_string_value(json_object_get(op, "id"));
        res_row old;
        if (!id)
            engine_fail(&ic, EK_INVALID, "id", "update needs the record's id");
        else if (engine_load(&ic, c->res, id, "id", &old) == 0)
            rc = update_body(&ic, c->res, &old, data, true, NULL);
    } else {
        const char *on = json_string_value(json_object_get(op, "upsert_on"));
        if (strcmp(action, "upsert") == 0 && !on)
            engine_fail(&ic, EK_INVALID, "upsert_on", "upsert needs upsert_on");
        else
            rc = create_or_upsert(&ic, c->res, data, strcmp(action, "upsert") == 0 ? on : NULL);
    }
done:
    if (rc == 0 && (rc = store_flush(c->conn, &e)) != 0) engine_store_fail(&ic, rc, &e);
    if (rc == 0)
        store_release(c->conn, &e);
    else
        store_rollback_to(c->conn);
}

/* POST /{resource}/batch {"operations": [...]}: up to 100 operations, each
 * answered on its own (out->items); the batch itself succeeds. */
static int engine_batch(engine_call *c)
{
    if (engine_params_check(c)) return -1;
    json_t *ops = json_object_get(c->body, "operations");
    const char *k;
    json_t *v;
    json_object_foreach(c->body, k, v)
    {
        if (strcmp(k, "operations") != 0)
            return engine_fail(c, EK_INVALID, k, "unknown field '%s'", k);
    }
    if (!json_is_array(ops) || json_array_size(ops) < 1 || json_array_size(ops) > 100)
        return engine_fail(c, EK_INVALID, "operations",
                           "operations must be an array of 1 to 100 operations");
    size_t i;
    json_array_foreach(ops, i, v)
    {
        if (!json_is_object(v))
            return engine_fail(c, EK_INVALID, "operations", "operations[%zu] must be an object", i);
    }
    int n = (int)json_array_size(ops);
    engine_result *items = arena_zalloc(c->a, sizeof *items * (size_t)n);
    c->out->items = items;
    json_array_foreach(ops, i, v)
    {
        engine_result_init(&items[i]);
        c->out->nitems = (int)i + 1;
        batch_item(c, v, &items[i]);
    }
    c->out->kind = EK_OK;
    return 0;
}

/* ----------------------------------------------------------------- calls */

static int dispatch(engine_call *c)
{
    switch (c->op) {
    case OP_LIST: return engine_list(c);
    case OP_CREATE: return engine_create(c);
    case OP_GET: return engine_get(c);
    case OP_UPDATE: return engine_update(c);
    case OP_DELETE: return engine_delete(c);
    case OP_SUBLIST: return engine_sublist(c);
    case OP_SUBCREATE: return engine_sublist_create(c);
    case OP_BATCH: return engine_batch(c);
    case OP_MERGE: return engine_merge(c);
    case OP_TIMELINE: return engine_timeline(c);
    case OP_ACTION: return engine_actions[c->action->id](c);
    case OP_WORKSPACE_GET: return engine_workspace_get(c);
    case OP_WORKSPACE_UPDATE: return engine_workspace_update(c);
    }
    return engine_fail(c, EK_INTERNAL, NULL, "unknown operation %d", (int)c->op);
}

/* A write that succeeded sends what its store let wait (store_flush), so
 * that a failure there (a full disk) is this call's answer. */
static void settle(engine_call *c)
{
    if (!engine_writes(c->op, c->action) || c->out->kind > EK_CREATED) return;
    store_err e;
    int rc = store_flush(c->conn, &e);
    if (rc) engine_store_fail(c, rc, &e);
}

void engine_run(engine_call *c)
{
    c->out->kind = EK_OK;
    if (engine_authorize(c)) return;
    if (c->res && c->res->read_only && engine_writes(c->op, c->action) && c->op != OP_ACTION) {
        engine_fail(c, EK_FORBIDDEN, NULL, "%s are written by the server only", c->res->name);
        return;
    }
    if (!(c->dry_run && engine_writes(c->op, c->action))) {
        dispatch(c);
        settle(c);
        return;
    }
    /* A dry run does everything a write does (ids, defaults, hooks,
     * references, conflicts) inside a savepoint it then rolls back: what
     * it answers is what would have been stored, and nothing is. */
    store_err e;
    int rc = store_savepoint(c->conn, &e);
    if (rc) {
        engine_store_fail(c, rc, &e);
        return;
    }
    rc = dispatch(c);
    store_rollback_to(c->conn);
    if (rc == 0 && c->out->kind == EK_CREATED) c->out->kind = EK_OK;
}
