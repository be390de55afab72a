/* engine.c - the generic resource engine; see engine.h. */
#include "resources/engine.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

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
    default: jw_str(w, v->s ? v->s : "");
    }
}

void engine_write_row(jw *w, const res_def *r, const res_row *row)
{
    char t[TIME_STR];
    jw_obj_open(w);
    jw_kstr(w, "id", row->id);
    jw_kstr(w, "object", r->singular);
    for (int i = 0; i < r->nfields; i++) {
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
    jw_obj_close(w);
}

/* --------------------------------------------------------------- cursors */

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* A cursor is base64url("<resource>|<sort>|<rid>|<value>"): opaque to
 * clients, bound to the list and order it came from, and carrying the last
 * row's position (its rid, and its sort value, typed: n null, i integer,
 * r real, t text) so the next page is an index range scan. */
static char *cursor_encode(arena *a, const res_def *r, const char *sort, const res_row *last,
                           const store_query *sq)
{
    buf raw;
    buf_init(&raw, 4096);
    buf_printf(&raw, "%s|%s|%" PRId64 "|", r->name, sort ? sort : "", last->rid);
    if (sq->sort_by) {
        const store_val *v = &last->vals[sq->sort_by - r->fields];
        switch (v->kind) {
        case SV_NULL: buf_putc(&raw, 'n'); break;
        case SV_INT: buf_printf(&raw, "i%" PRId64, v->i); break;
        case SV_REAL: buf_printf(&raw, "r%.17g", v->d); break;
        case SV_TEXT: buf_printf(&raw, "t%s", v->s); break;
        }
    }
    size_t n = raw.len;
    const unsigned char *in = (const unsigned char *)raw.data;
    char *out = arena_alloc(a, n * 2 + 4), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        *o++ = b64u[(v >> 18) & 63];
        *o++ = b64u[(v >> 12) & 63];
        if (i + 1 < n) *o++ = b64u[(v >> 6) & 63];
        if (i + 2 < n) *o++ = b64u[v & 63];
    }
    *o = '\0';
    buf_free(&raw);
    return out;
}

static bool cursor_decode(arena *a, const res_def *r, const char *sort, const char *s,
                          store_query *sq)
{
    size_t n = strlen(s), k = 0;
    if (n == 0 || n > 2048) return false;
    char *raw = arena_alloc(a, n + 1);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = strchr(b64u, s[i]);
        if (!p) return false;
        acc = (acc << 6) | (uint32_t)(p - b64u);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[k++] = (char)((acc >> bits) & 0xff);
        }
    }
    raw[k] = '\0';
    if (strlen(raw) != k) return false; /* embedded NUL */
    char *f[4] = {raw, NULL, NULL, NULL};
    for (int i = 1; i < 4; i++) {
        char *bar = strchr(f[i - 1], '|');
        if (!bar) return false;
        *bar = '\0';
        f[i] = bar + 1;
    }
    if (strcmp(f[0], r->name) != 0 || strcmp(f[1], sort ? sort : "") != 0) return false;
    char *end;
    errno = 0;
    long long rid = strtoll(f[2], &end, 10);
    if (errno || end == f[2] || *end || rid <= 0) return false;
    sq->after_rid = rid;
    if (!sq->sort_by) return f[3][0] == '\0';
    const char *v = f[3];
    switch (v[0]) {
    case 'n': sq->after_val = (store_val){.kind = SV_NULL}; return v[1] == '\0';
    case 't': sq->after_val = (store_val){.kind = SV_TEXT, .s = v + 1}; return true;
    case 'i': {
        errno = 0;
        long long iv = strtoll(v + 1, &end, 10);
        sq->after_val = (store_val){.kind = SV_INT, .i = iv};
        return !errno && end != v + 1 && !*end;
    }
    case 'r': {
        double d = strtod(v + 1, &end);
        sq->after_val = (store_val){.kind = SV_REAL, .d = d};
        return end != v + 1 && !*end;
    }
    default: return false;
    }
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
    default: return "a string";
    }
}

static int bad(api_req *q, const char *field, const char *fmt, const char *arg)
{
    char msg[400];
    snprintf(msg, sizeof msg, fmt, field, arg);
    return api_error(q, 400, "validation_failed", field, "%s", msg);
}

/* Converts one JSON value into a stored value, enforcing the field's type
 * and constraints. References are checked separately (they need the store). */
static int convert(api_req *q, const res_field *f, json_t *j, store_val *out)
{
    if (json_is_null(j)) {
        if (f->flags & RF_REQUIRED) return bad(q, f->name, "%s is required and cannot be null", "");
        *out = (store_val){.kind = SV_NULL};
        return 0;
    }
    switch (f->type) {
    case FT_BOOL:
        if (!json_is_boolean(j)) return bad(q, f->name, "%s must be %s", type_name(f->type));
        *out = (store_val){.kind = SV_INT, .i = json_is_true(j)};
        return 0;
    case FT_INT:
    case FT_MONEY: {
        if (!json_is_integer(j)) return bad(q, f->name, "%s must be %s", type_name(f->type));
        int64_t v = json_integer_value(j);
        if (f->min < f->max && (v < f->min || v > f->max)) {
            char range[64];
            snprintf(range, sizeof range, "%" PRId64 " and %" PRId64, f->min, f->max);
            return bad(q, f->name, "%s must be between %s", range);
        }
        *out = (store_val){.kind = SV_INT, .i = v};
        return 0;
    }
    case FT_NUMBER:
        if (!json_is_number(j)) return bad(q, f->name, "%s must be %s", type_name(f->type));
        *out = (store_val){.kind = SV_REAL, .d = json_number_value(j)};
        return 0;
    default: break;
    }
    if (!json_is_string(j)) return bad(q, f->name, "%s must be %s", type_name(f->type));
    const char *s = json_string_value(j);
    int max = res_field_max(f);
    if (max > 0 && utf8_len(s) > (size_t)max) {
        char lim[32];
        snprintf(lim, sizeof lim, "%d", max);
        return bad(q, f->name, "%s must be at most %s characters", lim);
    }
    switch (f->type) {
    case FT_EMAIL:
        if (!valid_email(s)) return bad(q, f->name, "%s is not a valid email address", "");
        break;
    case FT_URL:
        if (!valid_url(s)) return bad(q, f->name, "%s must be an http(s) URL", "");
        break;
    case FT_CURRENCY:
        if (strlen(s) != 3 || !isupper((unsigned char)s[0]) || !isupper((unsigned char)s[1]) ||
            !isupper((unsigned char)s[2]))
            return bad(q, f->name, "%s must be an ISO 4217 code such as USD", "");
        break;
    case FT_DATE:
        if (!time_parse_date(s)) return bad(q, f->name, "%s must be a date (YYYY-MM-DD)", "");
        break;
    case FT_DATETIME: {
        int64_t ms;
        if (!time_parse(s, &ms)) return bad(q, f->name, "%s must be an RFC 3339 date-time", "");
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
            bad(q, f->name, "%s must be one of: %s", buf_cstr(&b));
            buf_free(&b);
            return -1;
        }
        break;
    }
    case FT_REF:
        if (!*s) return bad(q, f->name, "%s must be a non-empty id", "");
        break;
    default:
        if ((f->flags & RF_REQUIRED) && !*s) return bad(q, f->name, "%s cannot be empty", "");
    }
    *out = (store_val){.kind = SV_TEXT, .s = arena_strdup(&q->a, s)};
    return 0;
}

static bool valid_cf_key(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 100) return false;
    for (const char *p = k; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.') return false;
    return true;
}

/* custom_fields: a flat object of string/number/bool values. PATCH merges
 * keys into the stored object; a null value removes a key. */
static int convert_custom(api_req *q, json_t *j, const char *old, const char **out)
{
    if (!json_is_object(j)) return bad(q, "custom_fields", "%s must be an object", "");
    if (json_object_size(j) > 100)
        return bad(q, "custom_fields", "%s may hold at most 100 keys", "");
    json_t *merged = NULL;
    if (old) merged = json_loads(old, 0, NULL);
    if (!merged) merged = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        if (!valid_cf_key(k)) {
            json_decref(merged);
            return bad(q, "custom_fields", "%s keys must be 1-100 characters of [A-Za-z0-9_.-]",
                       "");
        }
        if (json_is_null(v)) {
            json_object_del(merged, k);
            continue;
        }
        if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) {
            json_decref(merged);
            return bad(q, "custom_fields", "%s values must be strings, numbers or booleans", "");
        }
        if (json_is_string(v) && utf8_len(json_string_value(v)) > 10000) {
            json_decref(merged);
            return bad(q, "custom_fields", "%s string values must be at most 10000 characters", "");
        }
        json_object_set(merged, k, v);
    }
    char *s = json_dumps(merged, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(merged);
    *out = arena_strdup(&q->a, s);
    free(s);
    return 0;
}

int engine_load(api_req *q, const res_def *r, const char *id, const char *param, res_row *out)
{
    store_err e;
    int rc = store_rec_get(q->conn, &q->a, r, q->ws, id, out, &e);
    if (rc == STORE_NOTFOUND) {
        if (param)
            return api_error(q, 404, "not_found", param, "%s: no %s '%s' in this workspace", param,
                             r->singular, id);
        return api_error(q, 404, "not_found", NULL, "no %s '%s' in this workspace", r->singular,
                         id);
    }
    if (rc) return api_store_error(q, rc, &e);
    return 0;
}

/* Checks references set in this write point at records of this workspace. */
static int check_refs(api_req *q, const res_def *r, const res_row *row, const bool *set)
{
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (f->type != FT_REF || !set[i] || row->vals[i].kind != SV_TEXT) continue;
        const res_def *t = res_find(f->ref);
        store_err e;
        int rc = store_rec_exists(q->conn, t, q->ws, row->vals[i].s, &e);
        if (rc == STORE_NOTFOUND)
            return api_error(q, 404, "not_found", f->name, "%s: no %s '%s' in this workspace",
                             f->name, t->singular, row->vals[i].s);
        if (rc) return api_store_error(q, rc, &e);
    }
    return 0;
}

/* Applies a JSON body to row: every key must be a writable field. */
static int apply_body(api_req *q, const res_def *r, res_row *row, bool *set, bool *set_custom,
                      const char *old_custom)
{
    const char *k;
    json_t *v;
    json_object_foreach(q->json, k, v)
    {
        if (strcmp(k, "custom_fields") == 0 && r->custom_fields) {
            if (convert_custom(q, v, old_custom, &row->custom)) return -1;
            *set_custom = true;
            continue;
        }
        int i = res_field_index(r, k);
        if (i < 0 || (r->fields[i].flags & (RF_READONLY | RF_PARENT))) {
            if (i >= 0 || strcmp(k, "id") == 0 || strcmp(k, "created_at") == 0 ||
                strcmp(k, "updated_at") == 0 || strcmp(k, "object") == 0)
                return api_error(q, 400, "validation_failed", k, "%s is read-only", k);
            return api_error(q, 400, "validation_failed", k, "unknown field '%s'", k);
        }
        if (convert(q, &r->fields[i], v, &row->vals[i])) return -1;
        set[i] = true;
    }
    return 0;
}

static int append_event(api_req *q, const res_def *r, const char *action, const res_row *row,
                        const char *json, size_t n)
{
    char type[128];
    snprintf(type, sizeof type, "%s.%s", r->singular, action);
    store_err e;
    char *data = arena_strndup(&q->a, json, n);
    int rc = store_event_append(q->conn, q->ws, type, r->name, row->id, data, q->key.id, &e);
    return rc ? api_store_error(q, rc, &e) : 0;
}

/* Serialises row once, appends the event with it, and answers with it. */
static int respond_row(api_req *q, const res_def *r, const res_row *row, int status,
                       const char *action)
{
    buf b;
    buf_init(&b, API_MAX_RESPONSE);
    jw w;
    jw_init(&w, &b);
    engine_write_row(&w, r, row);
    int rc = action ? append_event(q, r, action, row, b.data, b.len) : 0;
    if (rc == 0) {
        jw *o = api_data(q, status);
        jw_raw(o, b.data, b.len);
        api_finish(q);
    }
    buf_free(&b);
    return rc;
}

static int run_hook(res_write *w, int (*fn)(res_write *))
{
    return fn ? fn(w) : 0;
}

static const char *parent_id(api_req *q)
{
    return q->route->res->parent ? q->pv[0] : NULL;
}
static const char *item_id(api_req *q)
{
    return q->route->res->parent ? q->pv[1] : q->pv[0];
}

/* A nested resource's parent must exist in this workspace. */
static int check_parent(api_req *q, const res_def *r)
{
    if (!r->parent) return 0;
    res_row p;
    return engine_load(q, res_find(r->parent), q->pv[0], NULL, &p);
}

/* A write hit the resource's unique tuple: name its last field, the one
 * that tells records apart within the tuple (company_id of a contact's
 * memberships). */
static int conflict(api_req *q, const res_def *r)
{
    int n = 0;
    while (n < 3 && r->unique[n])
        n++;
    const char *f = n ? r->unique[n - 1] : "id";
    return api_error(q, 409, "conflict", n ? f : NULL, "a %s with the same %s already exists",
                     r->singular, f);
}

/* The record the path names: {id}, or {sub_id} under its parent {id}. */
static int load_item(api_req *q, const res_def *r, res_row *row)
{
    if (check_parent(q, r)) return -1;
    if (engine_load(q, r, item_id(q), NULL, row)) return -1;
    int pf = res_parent_field(r);
    if (pf >= 0 && strcmp(row->vals[pf].s, parent_id(q)) != 0)
        return api_error(q, 404, "not_found", NULL, "no %s '%s' under this %s", r->singular,
                         item_id(q), res_find(r->parent)->singular);
    return 0;
}

int engine_create(api_req *q)
{
    const res_def *r = q->route->res;
    if (check_parent(q, r)) return -1;
    res_row row = {0};
    row.vals = arena_zalloc(&q->a, sizeof(store_val) * (size_t)(r->nfields + 1));
    bool *set = arena_zalloc(&q->a, sizeof(bool) * (size_t)(r->nfields + 1));
    bool set_custom = false;
    if (apply_body(q, r, &row, set, &set_custom, NULL)) return -1;
    int pf = res_parent_field(r);
    if (pf >= 0) {
        row.vals[pf] = (store_val){.kind = SV_TEXT, .s = parent_id(q)};
        set[pf] = true;
    }
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (set[i] || !f->dflt) continue;
        json_t *d = f->type == FT_BOOL ? json_boolean(strcmp(f->dflt, "true") == 0)
                    : (f->type == FT_INT || f->type == FT_MONEY)
                        ? json_integer(strtoll(f->dflt, NULL, 10))
                        : json_string(f->dflt);
        int rc = convert(q, f, d, &row.vals[i]);
        json_decref(d);
        if (rc) return -1;
    }
    if (r->require_one_of[0]) {
        bool any = false;
        for (int k = 0; r->require_one_of[k] && !any; k++) {
            int i = res_field_index(r, r->require_one_of[k]);
            any = i >= 0 && row.vals[i].kind != SV_NULL;
        }
        if (!any) {
            buf b;
            buf_init(&b, 512);
            for (int k = 0; r->require_one_of[k]; k++)
                buf_printf(&b, "%s%s", k ? ", " : "", r->require_one_of[k]);
            api_error(q, 400, "validation_failed", r->require_one_of[0],
                      "at least one of %s is required", buf_cstr(&b));
            buf_free(&b);
            return -1;
        }
    }
    id_new(row.id, r->prefix);
    row.created_ms = row.updated_ms = (int64_t)time_now_ms();
    res_write w = {.q = q, .r = r, .is_create = true, .row = &row, .set = set};
    if (r->hooks && run_hook(&w, r->hooks->before_write)) return -1;
    for (int i = 0; i < r->nfields; i++)
        if ((r->fields[i].flags & RF_REQUIRED) && row.vals[i].kind == SV_NULL)
            return api_error(q, 400, "validation_failed", r->fields[i].name, "%s is required",
                             r->fields[i].name);
    if (check_refs(q, r, &row, set)) return -1;
    store_err e;
    int rc = store_rec_insert(q->conn, r, q->ws, &row, &e);
    if (rc == STORE_CONFLICT) return conflict(q, r);
    if (rc) return api_store_error(q, rc, &e);
    if (r->hooks && run_hook(&w, r->hooks->after_write)) return -1;
    return respond_row(q, r, &row, 201, "created");
}

int engine_get(api_req *q)
{
    const res_def *r = q->route->res;
    if (api_params_check(q)) return -1;
    res_row row;
    if (load_item(q, r, &row)) return -1;
    return respond_row(q, r, &row, 200, NULL);
}

int engine_save(api_req *q, const res_def *r, res_row *row, const bool *set)
{
    store_err e;
    row->updated_ms = (int64_t)time_now_ms();
    int rc = store_rec_update(q->conn, r, q->ws, row, set, false, &e);
    if (rc) return api_store_error(q, rc, &e);
    buf b;
    buf_init(&b, API_MAX_RESPONSE);
    jw w;
    jw_init(&w, &b);
    engine_write_row(&w, r, row);
    rc = append_event(q, r, "updated", row, b.data, b.len);
    buf_free(&b);
    return rc;
}

int engine_update(api_req *q)
{
    const res_def *r = q->route->res;
    res_row old, row;
    if (load_item(q, r, &old)) return -1;
    row = old;
    row.vals = arena_alloc(&q->a, sizeof(store_val) * (size_t)(r->nfields + 1));
    memcpy(row.vals, old.vals, sizeof(store_val) * (size_t)r->nfields);
    bool *set = arena_zalloc(&q->a, sizeof(bool) * (size_t)(r->nfields + 1));
    bool set_custom = false;
    if (apply_body(q, r, &row, set, &set_custom, old.custom)) return -1;
    row.updated_ms = (int64_t)time_now_ms();
    res_write w = {.q = q, .r = r, .is_create = false, .row = &row, .old = &old, .set = set};
    if (r->hooks && run_hook(&w, r->hooks->before_write)) return -1;
    if (check_refs(q, r, &row, set)) return -1;
    store_err e;
    int rc = store_rec_update(q->conn, r, q->ws, &row, set, set_custom, &e);
    if (rc == STORE_CONFLICT) return conflict(q, r);
    if (rc) return api_store_error(q, rc, &e);
    if (r->hooks && run_hook(&w, r->hooks->after_write)) return -1;
    return respond_row(q, r, &row, 200, "updated");
}

int engine_delete(api_req *q)
{
    const res_def *r = q->route->res;
    if (q->json && json_object_size(q->json) > 0)
        return api_error(q, 400, "validation_failed", NULL, "DELETE takes no body");
    res_row row;
    if (load_item(q, r, &row)) return -1;
    store_err e;
    /* Records pointing here: children and required links go with it,
     * optional links are cleared. */
    for (int t = 0; t < res_count; t++) {
        const res_def *o = res_table[t];
        for (int i = 0; i < o->nfields; i++) {
            const res_field *f = &o->fields[i];
            if (f->type != FT_REF || strcmp(f->ref, r->name) != 0) continue;
            bool del = (f->flags & (RF_PARENT | RF_REQUIRED)) != 0;
            int rc = store_rec_detach(q->conn, o, i, q->ws, row.id, del, &e);
            if (rc) return api_store_error(q, rc, &e);
        }
    }
    int rc = store_rec_delete(q->conn, r, q->ws, row.id, &e);
    if (rc) return api_store_error(q, rc, &e);
    buf b;
    buf_init(&b, API_MAX_RESPONSE);
    jw w;
    jw_init(&w, &b);
    engine_write_row(&w, r, &row);
    rc = append_event(q, r, "deleted", &row, b.data, b.len);
    buf_free(&b);
    if (rc) return -1;
    jw *o = api_data(q, 200);
    jw_obj_open(o);
    jw_kstr(o, "id", row.id);
    jw_kstr(o, "object", r->singular);
    jw_kbool(o, "deleted", true);
    jw_obj_close(o);
    api_finish(q);
    return 0;
}

/* ----------------------------------------------------------------- lists */

static int parse_limit(api_req *q, int *limit)
{
    *limit = 20;
    const char *s = api_param_get(q, "limit");
    if (!s) return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 100)
        return api_error(q, 400, "validation_failed", "limit",
                         "limit must be an integer from 1 to 100");
    *limit = (int)v;
    return 0;
}

/* sort=field or sort=-field (descending), over sortable fields and
 * created_at. The default, newest first, is sort=-created_at. */
static int parse_sort(api_req *q, const res_def *r, const char *s, store_query *sq)
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
    buf b;
    buf_init(&b, 1024);
    buf_puts(&b, "created_at");
    for (int k = 0; k < r->nfields; k++)
        if (r->fields[k].flags & RF_SORT) buf_printf(&b, ", %s", r->fields[k].name);
    api_error(q, 400, "validation_failed", "sort",
              "sort must be one of %s, optionally prefixed with '-' for descending", buf_cstr(&b));
    buf_free(&b);
    return -1;
}

/* Reads limit, sort, cursor, query, field filters and custom-field filters. */
static int parse_query(api_req *q, const res_def *r, store_query *sq)
{
    memset(sq, 0, sizeof *sq);
    sq->link_field = -1;
    if (parse_limit(q, &sq->limit)) return -1;
    const char *sort = api_param_get(q, "sort");
    if (sort && parse_sort(q, r, sort, sq)) return -1;
    const char *cur = api_param_get(q, "cursor");
    if (cur && !cursor_decode(&q->a, r, sort, cur, sq))
        return api_error(q, 400, "validation_failed", "cursor",
                         "cursor is not a cursor returned by this list with this sort");
    const char *qs = api_param_get(q, "query");
    if (qs && sort)
        return api_error(q, 400, "validation_failed", "sort",
                         "sort cannot be combined with query (search results are newest first)");
    if (qs && res_has_search(r)) {
        if (strlen(qs) > 200)
            return api_error(q, 400, "validation_failed", "query",
                             "query must be at most 200 characters");
        sq->fts = qs;
    } else if (qs) {
        return api_error(q, 400, "validation_failed", "query", "%s cannot be searched", r->name);
    }
    store_filter *fl = arena_alloc(&q->a, sizeof(store_filter) * (size_t)(r->nfields + 1));
    int nf = 0;
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (!(f->flags & RF_FILTER)) continue;
        const char *v = api_param_get(q, f->name);
        if (!v) continue;
        json_t *j;
        if (f->type == FT_BOOL) {
            if (strcmp(v, "true") && strcmp(v, "false"))
                return api_error(q, 400, "validation_failed", f->name, "%s must be true or false",
                                 f->name);
            j = json_boolean(strcmp(v, "true") == 0);
        } else if (f->type == FT_INT || f->type == FT_MONEY) {
            char *end;
            errno = 0;
            long long n = strtoll(v, &end, 10);
            if (errno || end == v || *end)
                return api_error(q, 400, "validation_failed", f->name, "%s must be an integer",
                                 f->name);
            j = json_integer(n);
        } else {
            j = json_string(v);
        }
        if (!j)
            return api_error(q, 400, "validation_failed", f->name, "%s is not valid UTF-8",
                             f->name);
        /* Filters accept what writes accept, except format checks that
         * would reject a fragment-free exact match anyway. */
        res_field loose = *f;
        loose.flags &= ~(unsigned)RF_REQUIRED;
        if (loose.type == FT_EMAIL || loose.type == FT_URL || loose.type == FT_REF)
            loose.type = FT_STRING;
        int rc = convert(q, &loose, j, &fl[nf].v);
        json_decref(j);
        if (rc) return -1;
        fl[nf++].field = i;
    }
    sq->filters = fl;
    sq->nfilters = nf;
    const char *ck = api_param_get(q, "custom_field_key");
    const char *cv = api_param_get(q, "custom_field_value");
    if ((ck != NULL) != (cv != NULL))
        return api_error(q, 400, "validation_failed",
                         ck ? "custom_field_value" : "custom_field_key",
                         "custom_field_key and custom_field_value go together");
    if (ck && !r->custom_fields)
        return api_error(q, 400, "validation_failed", "custom_field_key",
                         "%s have no custom fields", r->name);
    if (ck && !valid_cf_key(ck))
        return api_error(q, 400, "validation_failed", "custom_field_key",
                         "custom_field_key must be 1-100 characters of [A-Za-z0-9_.-]");
    sq->cf_key = ck;
    sq->cf_value = cv;
    return 0;
}

static int run_list(api_req *q, const res_def *r, store_query *sq)
{
    if (api_params_check(q)) return -1;
    res_row *rows;
    int n;
    bool more;
    store_err e;
    int rc = store_rec_list(q->conn, &q->a, r, q->ws, sq, &rows, &n, &more, &e);
    if (rc) return api_store_error(q, rc, &e);
    jw *w = api_data(q, 200);
    jw_arr_open(w);
    for (int i = 0; i < n; i++)
        engine_write_row(w, r, &rows[i]);
    jw_arr_close(w);
    const char *sort = api_param_get(q, "sort");
    api_finish_list(q, more && n > 0 ? cursor_encode(&q->a, r, sort, &rows[n - 1], sq) : NULL);
    return 0;
}

int engine_list(api_req *q)
{
    const res_def *r = q->route->res;
    store_query sq;
    if (parse_query(q, r, &sq)) return -1;
    if (r->parent) {
        if (check_parent(q, r)) return -1;
        sq.link_field = res_parent_field(r);
        sq.link_value = parent_id(q);
    }
    return run_list(q, r, &sq);
}

int engine_sublist(api_req *q)
{
    const res_sublist *s = q->route->sub;
    const res_def *r = q->route->res;
    res_row owner;
    if (engine_load(q, res_find(s->owner), q->pv[0], NULL, &owner)) return -1;
    store_query sq;
    if (parse_query(q, r, &sq)) return -1;
    sq.link_field = res_field_index(r, s->field);
    sq.link_value = owner.id;
    if (s->via) {
        sq.link_via = res_find(s->via);
        sq.link_via_match = res_field_index(sq.link_via, s->via_match);
        sq.link_via_target = res_field_index(sq.link_via, s->via_target);
    }
    return run_list(q, r, &sq);
}
