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
#include "resources/hooks.h"

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
    char into[ID_MAX];
    if (rc == STORE_NOTFOUND && r->mergeable &&
        store_merged_get(q->conn, q->ws, r->name, id, into, &e) == STORE_OK) {
        q->err_extra_key = "merged_into";
        q->err_extra_val = arena_strdup(&q->a, into);
        return api_error(q, 404, "not_found", param, "%s '%s' was merged into %s", r->singular, id,
                         into);
    }
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
        if (f->type != FT_REF) continue;
        const res_def *t = f->ref ? res_find(f->ref) : NULL;
        if (f->ref_by) {
            /* A polymorphic reference: its type field and it come as a pair. */
            int tf = res_field_index(r, f->ref_by);
            bool has_id = row->vals[i].kind == SV_TEXT, has_type = row->vals[tf].kind == SV_TEXT;
            if (has_id != has_type)
                return api_error(q, 400, "validation_failed", has_id ? f->ref_by : f->name,
                                 "%s and %s go together", f->ref_by, f->name);
            if (!has_id || (!set[i] && !set[tf])) continue;
            t = res_find_singular(row->vals[tf].s);
        } else if (!set[i] || row->vals[i].kind != SV_TEXT) {
            continue;
        }
        store_err e;
        int rc = store_rec_exists(q->conn, t, q->ws, row->vals[i].s, &e);
        /* A typed reference names a record to attach to: a missing one is
         * a bad value (400), where a plain reference is a missing record. */
        if (rc == STORE_NOTFOUND && f->ref_by)
            return api_error(q, 400, "validation_failed", f->name,
                             "%s: no %s '%s' in this workspace", f->name, t->singular,
                             row->vals[i].s);
        if (rc == STORE_NOTFOUND)
            return api_error(q, 404, "not_found", f->name, "%s: no %s '%s' in this workspace",
                             f->name, t->singular, row->vals[i].s);
        if (rc) return api_store_error(q, rc, &e);
    }
    return 0;
}

/* Applies a JSON body to row: every key must be a writable field. */
static int apply_body(api_req *q, const res_def *r, json_t *body, res_row *row, bool *set,
                      bool *set_custom, const char *old_custom)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
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
static const char *changes_json(api_req *q, const res_def *r, const res_row *old,
                                const res_row *row)
{
    buf b;
    buf_init(&b, API_MAX_RESPONSE);
    jw w;
    jw_init(&w, &b);
    jw_obj_open(&w);
    int n = 0;
    for (int i = 0; i < r->nfields; i++) {
        if (same_val(&old->vals[i], &row->vals[i])) continue;
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
    const char *out = n ? arena_strndup(&q->a, b.data, b.len) : NULL;
    buf_free(&b);
    return out;
}

static int append_event(api_req *q, const res_def *r, const char *action, const res_row *row,
                        const res_row *old, const char *json, size_t n)
{
    char type[128];
    snprintf(type, sizeof type, "%s.%s", r->singular, action);
    store_err e;
    char *data = arena_strndup(&q->a, json, n);
    const char *changes = old ? changes_json(q, r, old, row) : NULL;
    int rc = store_event_append(q->conn, q->ws, type, r->name, row->id, event_subject(r, row), data,
                                changes, q->key.id, &e);
    return rc ? api_store_error(q, rc, &e) : 0;
}

/* Serialises row once, for its event `action` (changes against old) and,
 * when json is given, for the response. */
static int emit(api_req *q, const res_def *r, const char *action, const res_row *row,
                const res_row *old, buf *json)
{
    buf b;
    buf_init(&b, API_MAX_RESPONSE);
    jw w;
    jw_init(&w, &b);
    engine_write_row(&w, r, row);
    int rc = append_event(q, r, action, row, old, b.data, b.len);
    if (rc == 0 && json) {
        buf_reset(json);
        buf_append(json, b.data, b.len);
    }
    buf_free(&b);
    return rc;
}

int engine_event(api_req *q, const res_def *r, const char *action, const res_row *row,
                 const res_row *old)
{
    return emit(q, r, action, row, old, NULL);
}

/* Serialises row once, appends the event with it, and answers with it. */
static int respond_row(api_req *q, const res_def *r, const res_row *row, const res_row *old,
                       int status, const char *action)
{
    buf b;
    buf_init(&b, API_MAX_RESPONSE);
    jw w;
    jw_init(&w, &b);
    engine_write_row(&w, r, row);
    int rc = action ? append_event(q, r, action, row, old, b.data, b.len) : 0;
    if (rc == 0) {
        jw *o = api_data(q, status);
        jw_raw(o, b.data, b.len);
        api_finish(q);
    }
    buf_free(&b);
    return rc;
}

/* The resource's hook `name`, or NULL. */
#define HOOK(r, name) (engine_hooks[(r)->id] ? engine_hooks[(r)->id]->name : NULL)

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

/* Counts row into (sign 1) or out of (sign -1) its rollup group. */
static int rollup_apply(api_req *q, const res_def *r, const res_row *row, int sign)
{
    if (!r->rollup.group[0]) return 0;
    store_val keys[3] = {{0}};
    for (int g = 0; g < 3 && r->rollup.group[g]; g++)
        keys[g] = row->vals[res_field_index(r, r->rollup.group[g])];
    int64_t sum = 0;
    if (r->rollup.sum) {
        const store_val *v = &row->vals[res_field_index(r, r->rollup.sum)];
        if (v->kind == SV_INT) sum = v->i;
    }
    store_err e;
    int rc = store_rollup_add(q->conn, r, q->ws, keys, sign, sign * sum, &e);
    return rc ? api_store_error(q, rc, &e) : 0;
}

/* Moves an updated row between rollup groups when its keys or sum changed. */
static int rollup_move(api_req *q, const res_def *r, const res_row *old, const res_row *row)
{
    if (!r->rollup.group[0]) return 0;
    bool same = true;
    for (int g = 0; g < 3 && r->rollup.group[g]; g++) {
        int i = res_field_index(r, r->rollup.group[g]);
        same = same && same_val(&old->vals[i], &row->vals[i]);
    }
    if (r->rollup.sum) {
        int i = res_field_index(r, r->rollup.sum);
        same = same && same_val(&old->vals[i], &row->vals[i]);
    }
    if (same) return 0;
    return rollup_apply(q, r, old, -1) || rollup_apply(q, r, row, 1) ? -1 : 0;
}

/* Defaults, required fields, hooks, references, the insert, and the
 * event; `json` receives the record's JSON when given (the response). */
static int insert_row(api_req *q, const res_def *r, res_row *row, bool *set, buf *json)
{
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (set[i] || !f->dflt) continue;
        json_t *d = f->type == FT_BOOL ? json_boolean(strcmp(f->dflt, "true") == 0)
                    : (f->type == FT_INT || f->type == FT_MONEY)
                        ? json_integer(strtoll(f->dflt, NULL, 10))
                        : json_string(f->dflt);
        int rc = convert(q, f, d, &row->vals[i]);
        json_decref(d);
        if (rc) return -1;
    }
    if (r->require_one_of[0]) {
        bool any = false;
        for (int k = 0; r->require_one_of[k] && !any; k++) {
            int i = res_field_index(r, r->require_one_of[k]);
            any = i >= 0 && row->vals[i].kind != SV_NULL;
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
    if (!row->id[0]) id_new(row->id, r->prefix);
    row->created_ms = row->updated_ms = (int64_t)time_now_ms();
    res_write w = {.q = q, .r = r, .is_create = true, .row = row, .set = set};
    if (run_hook(&w, HOOK(r, before_write))) return -1;
    for (int i = 0; i < r->nfields; i++)
        if ((r->fields[i].flags & RF_REQUIRED) && row->vals[i].kind == SV_NULL)
            return api_error(q, 400, "validation_failed", r->fields[i].name, "%s is required",
                             r->fields[i].name);
    if (check_refs(q, r, row, set)) return -1;
    store_err e;
    int rc = store_rec_insert(q->conn, r, q->ws, row, &e);
    if (rc == STORE_CONFLICT) return conflict(q, r);
    if (rc) return api_store_error(q, rc, &e);
    if (rollup_apply(q, r, row, 1)) return -1;
    if (run_hook(&w, HOOK(r, after_write))) return -1;
    return emit(q, r, "created", row, NULL, json);
}

/* Validates row's changed fields, runs hooks, stores the update and its
 * event (with the changes against old). */
static int update_row(api_req *q, const res_def *r, const res_row *old, res_row *row, bool *set,
                      bool set_custom, const char *action, buf *json)
{
    for (int i = 0; i < r->nfields; i++)
        if (set[i] && (r->fields[i].flags & RF_CREATEONLY) &&
            !same_val(&old->vals[i], &row->vals[i]))
            return api_error(q, 400, "validation_failed", r->fields[i].name,
                             "%s cannot be changed after creation", r->fields[i].name);
    row->updated_ms = (int64_t)time_now_ms();
    res_write w = {.q = q, .r = r, .is_create = false, .row = row, .old = old, .set = set};
    if (run_hook(&w, HOOK(r, before_write))) return -1;
    if (check_refs(q, r, row, set)) return -1;
    store_err e;
    int rc = store_rec_update(q->conn, r, q->ws, row, set, set_custom, &e);
    if (rc == STORE_CONFLICT) return conflict(q, r);
    if (rc) return api_store_error(q, rc, &e);
    if (rollup_move(q, r, old, row)) return -1;
    if (run_hook(&w, HOOK(r, after_write))) return -1;
    return emit(q, r, action ? action : "updated", row, old, json);
}

static void respond_json(api_req *q, int status, const buf *json)
{
    jw *o = api_data(q, status);
    jw_raw(o, json->data, json->len);
    api_finish(q);
}

res_row engine_new_row(api_req *q, const res_def *r, bool **set)
{
    res_row row = {0};
    row.vals = arena_zalloc(&q->a, sizeof(store_val) * (size_t)(r->nfields + 1));
    *set = arena_zalloc(&q->a, sizeof(bool) * (size_t)(r->nfields + 1));
    return row;
}

res_row engine_copy_row(api_req *q, const res_def *r, const res_row *old, bool **set)
{
    res_row row = *old;
    row.vals = arena_alloc(&q->a, sizeof(store_val) * (size_t)(r->nfields + 1));
    memcpy(row.vals, old->vals, sizeof(store_val) * (size_t)r->nfields);
    *set = arena_zalloc(&q->a, sizeof(bool) * (size_t)(r->nfields + 1));
    return row;
}

void engine_set(res_row *row, bool *set, int field, store_val v)
{
    row->vals[field] = v;
    set[field] = true;
}

int engine_insert(api_req *q, const res_def *r, res_row *row, bool *set)
{
    return insert_row(q, r, row, set, NULL);
}

int engine_body_into(api_req *q, const res_def *r, json_t *body, res_row *row, bool *set)
{
    bool set_custom = false;
    return apply_body(q, r, body, row, set, &set_custom, row->custom);
}

/* The record `upsert_on` matches, case-insensitively: 1 found (in *old), 0
 * none, -1 error written. */
static int upsert_match(api_req *q, const res_def *r, json_t *body, const char *on, res_row *old)
{
    bool allowed = false;
    for (int k = 0; k < 3 && r->upsert_keys[k]; k++)
        allowed |= strcmp(r->upsert_keys[k], on) == 0;
    if (!allowed) {
        if (!r->upsert_keys[0])
            return api_error(q, 400, "validation_failed", "upsert_on", "%s cannot be upserted",
                             r->name);
        return api_error(q, 400, "validation_failed", "upsert_on", "upsert_on must be %s",
                         r->upsert_keys[0]);
    }
    json_t *v = json_object_get(body, on);
    if (!json_is_string(v) || !*json_string_value(v))
        return api_error(q, 400, "validation_failed", "upsert_on",
                         "upsert_on=%s needs a non-empty %s in the body", on, on);
    store_err e;
    char *lock = arena_printf(&q->a, "%s:%s", r->name, json_string_value(v));
    for (char *p = lock; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    int rc = store_lock(q->conn, q->ws, lock, &e);
    if (rc) return api_store_error(q, rc, &e);
    return engine_find_by(q, r, res_field_index(r, on), json_string_value(v), old);
}

/* Create (201), or with `upsert_on` an update of the matching record (200). */
static int create_or_upsert(api_req *q, const res_def *r, json_t *body, const char *upsert_on,
                            int *status, buf *json)
{
    if (!json_is_object(body))
        return api_error(q, 400, "validation_failed", "data", "data must be an object");
    if (upsert_on) {
        res_row old;
        int found = upsert_match(q, r, body, upsert_on, &old);
        if (found < 0) return -1;
        if (found) {
            bool *set, set_custom = false;
            res_row row = engine_copy_row(q, r, &old, &set);
            if (apply_body(q, r, body, &row, set, &set_custom, old.custom)) return -1;
            *status = 200;
            return update_row(q, r, &old, &row, set, set_custom, NULL, json);
        }
    }
    bool *set, set_custom = false;
    res_row row = engine_new_row(q, r, &set);
    if (apply_body(q, r, body, &row, set, &set_custom, NULL)) return -1;
    int pf = res_parent_field(r);
    if (pf >= 0) {
        row.vals[pf] = (store_val){.kind = SV_TEXT, .s = parent_id(q)};
        set[pf] = true;
    }
    *status = 201;
    return insert_row(q, r, &row, set, json);
}

int engine_create(api_req *q)
{
    const res_def *r = q->route->res;
    const char *upsert_on = api_param_get(q, "upsert_on");
    if (api_params_check(q)) return -1;
    if (check_parent(q, r)) return -1;
    buf json;
    buf_init(&json, API_MAX_RESPONSE);
    int status = 201;
    int rc = create_or_upsert(q, r, q->json, upsert_on, &status, &json);
    if (rc == 0) respond_json(q, status, &json);
    buf_free(&json);
    return rc;
}

int engine_get(api_req *q)
{
    const res_def *r = q->route->res;
    if (api_params_check(q)) return -1;
    res_row row;
    if (load_item(q, r, &row)) return -1;
    return respond_row(q, r, &row, NULL, 200, NULL);
}

int engine_save(api_req *q, const res_def *r, res_row *row, const res_row *old, const bool *set)
{
    store_err e;
    row->updated_ms = (int64_t)time_now_ms();
    int rc = store_rec_update(q->conn, r, q->ws, row, set, false, &e);
    if (rc) return api_store_error(q, rc, &e);
    if (r->rollup.group[0]) {
        /* Moving a row between rollup groups needs the row before. */
        if (!old)
            return api_error(q, 500, "internal", NULL, "updating %s needs the row before", r->name);
        if (rollup_move(q, r, old, row)) return -1;
    }
    return engine_event(q, r, "updated", row, old);
}

int engine_update_row(api_req *q, const res_def *r, const res_row *old, res_row *row, bool *set,
                      const char *action)
{
    return update_row(q, r, old, row, set, false, action, NULL);
}

static int update_by_id(api_req *q, const res_def *r, const res_row *old, json_t *body, buf *json)
{
    if (!json_is_object(body))
        return api_error(q, 400, "validation_failed", "data", "data must be an object");
    bool *set, set_custom = false;
    res_row row = engine_copy_row(q, r, old, &set);
    if (apply_body(q, r, body, &row, set, &set_custom, old->custom)) return -1;
    return update_row(q, r, old, &row, set, set_custom, NULL, json);
}

int engine_update(api_req *q)
{
    const res_def *r = q->route->res;
    if (api_params_check(q)) return -1;
    res_row old;
    if (load_item(q, r, &old)) return -1;
    buf json;
    buf_init(&json, API_MAX_RESPONSE);
    int rc = update_by_id(q, r, &old, q->json, &json);
    if (rc == 0) respond_json(q, 200, &json);
    buf_free(&json);
    return rc;
}

/* Records pointing at a record being deleted or merged away: children and
 * required links go with a delete, optional links are cleared; a merge
 * (to != NULL) moves them all to the survivor. */
static int relink(api_req *q, const res_def *r, const char *from, const char *to)
{
    store_err e;
    for (int t = 0; t < res_count; t++) {
        const res_def *o = res_table[t];
        for (int i = 0; i < o->nfields; i++) {
            const res_field *f = &o->fields[i];
            if (f->type != FT_REF) continue;
            int rc = STORE_OK;
            if (f->ref_by) {
                int tf = res_field_index(o, f->ref_by);
                bool names = false;
                for (const char *const *ev = o->fields[tf].enum_vals; *ev; ev++)
                    names |= strcmp(*ev, r->singular) == 0;
                if (!names) continue;
                rc = store_rec_repoint(q->conn, o, i, q->ws, from, to, tf, r->singular, &e);
            } else if (strcmp(f->ref, r->name) != 0) {
                continue;
            } else if (to) {
                rc = store_rec_repoint(q->conn, o, i, q->ws, from, to, -1, NULL, &e);
            } else {
                bool del = (f->flags & (RF_PARENT | RF_REQUIRED)) != 0;
                rc = store_rec_detach(q->conn, o, i, q->ws, from, del, &e);
            }
            if (rc) return api_store_error(q, rc, &e);
        }
    }
    return 0;
}

int engine_delete(api_req *q)
{
    const res_def *r = q->route->res;
    if (api_params_check(q)) return -1;
    if (q->json && json_object_size(q->json) > 0)
        return api_error(q, 400, "validation_failed", NULL, "DELETE takes no body");
    res_row row;
    if (load_item(q, r, &row)) return -1;
    res_write w = {.q = q, .r = r, .row = &row, .old = &row};
    if (run_hook(&w, HOOK(r, before_delete))) return -1;
    if (relink(q, r, row.id, NULL)) return -1;
    store_err e;
    int rc = store_rec_delete(q->conn, r, q->ws, row.id, &e);
    if (rc) return api_store_error(q, rc, &e);
    if (rollup_apply(q, r, &row, -1)) return -1;
    if (engine_event(q, r, "deleted", &row, NULL)) return -1;
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

int engine_parse_limit(api_req *q, int *limit)
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

/* `<x>_before` / `<x>_after` on RF_RANGE date-time fields named `<x>_at`. */
static int range_filters(api_req *q, const res_def *r, store_filter *fl, int *nf)
{
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (!(f->flags & RF_RANGE)) continue;
        size_t n = strlen(f->name);
        if (n > 3 && strcmp(f->name + n - 3, "_at") == 0) n -= 3;
        for (int k = 0; k < 2; k++) {
            char name[128];
            snprintf(name, sizeof name, "%.*s_%s", (int)n, f->name, k ? "after" : "before");
            const char *v = api_param_get(q, name);
            if (!v) continue;
            int64_t ms;
            if (!time_parse(v, &ms))
                return api_error(q, 400, "validation_failed", arena_strdup(&q->a, name),
                                 "%s must be an RFC 3339 date-time", name);
            fl[*nf] =
                (store_filter){.field = i, .v = {.kind = SV_INT, .i = ms}, .op = k ? SF_GE : SF_LT};
            (*nf)++;
        }
    }
    return 0;
}

/* `company.domain=acme.com`: a filter through a declared reference, one
 * level deep, on a filterable field of the referenced resource. */
static int related_filters(api_req *q, const res_def *r, store_filter *fl, int *nf)
{
    for (int p = 0; p < q->nparams; p++) {
        const char *k = q->params[p].k, *dot = strchr(k, '.');
        if (!dot) continue;
        char ref[80];
        snprintf(ref, sizeof ref, "%.*s_id", (int)(dot - k), k);
        int i = res_field_index(r, ref);
        if (i < 0 || r->fields[i].type != FT_REF || !r->fields[i].ref)
            return api_error(q, 400, "validation_failed", k, "%s: %s have no reference '%.*s'", k,
                             r->name, (int)(dot - k), k);
        const res_def *t = res_find(r->fields[i].ref);
        int j = res_field_index(t, dot + 1);
        if (j < 0 || !(t->fields[j].flags & RF_FILTER))
            return api_error(q, 400, "validation_failed", k, "%s: %s cannot be filtered by '%s'", k,
                             t->name, dot + 1);
        q->params[p].used = true;
        fl[*nf] = (store_filter){.field = i,
                                 .v = {.kind = SV_TEXT, .s = q->params[p].v},
                                 .op = SF_REL,
                                 .rel = t,
                                 .rel_field = j};
        if (t->fields[j].type == FT_BOOL || t->fields[j].type == FT_INT) {
            char *end;
            long long n = strtoll(q->params[p].v, &end, 10);
            if (!strcmp(q->params[p].v, "true") || !strcmp(q->params[p].v, "false"))
                n = strcmp(q->params[p].v, "true") == 0, end = "";
            if (*end || end == q->params[p].v)
                return api_error(q, 400, "validation_failed", k, "%s must be an integer", k);
            fl[*nf].v = (store_val){.kind = SV_INT, .i = n};
        }
        (*nf)++;
    }
    return 0;
}

/* Reads limit, sort, cursor, query, field filters and custom-field filters. */
static int parse_query(api_req *q, const res_def *r, store_query *sq)
{
    memset(sq, 0, sizeof *sq);
    sq->link_field = -1;
    if (engine_parse_limit(q, &sq->limit)) return -1;
    const char *sort = api_param_get(q, "sort");
    if (sort && parse_sort(q, r, sort, sq)) return -1;
    if (!sort && r->default_sort) {
        sq->sort_by = &r->fields[res_field_index(r, r->default_sort)];
        sq->ascending = true;
    }
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
    store_filter *fl =
        arena_zalloc(&q->a, sizeof(store_filter) * (size_t)(3 * r->nfields + API_MAX_PARAMS + 1));
    int nf = 0;
    if (range_filters(q, r, fl, &nf) || related_filters(q, r, fl, &nf)) return -1;
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

int engine_sublist_create(api_req *q)
{
    const res_sublist *s = q->route->sub;
    const res_def *o = res_find(s->owner);
    res_row owner;
    if (engine_load(q, o, q->pv[0], NULL, &owner)) return -1;
    return engine_create_where(q, q->route->res, res_field_index(q->route->res, s->field),
                               arena_strdup(&q->a, owner.id), o->singular);
}

int engine_list_where(api_req *q, const res_def *r, int field, const char *value)
{
    store_query sq;
    if (parse_query(q, r, &sq)) return -1;
    sq.link_field = field;
    sq.link_value = value;
    return run_list(q, r, &sq);
}

int engine_create_where(api_req *q, const res_def *r, int field, const char *value,
                        const char *type)
{
    if (api_params_check(q)) return -1;
    bool *set, set_custom = false;
    res_row row = engine_new_row(q, r, &set);
    if (apply_body(q, r, q->json, &row, set, &set_custom, NULL)) return -1;
    int i = field;
    int t = r->fields[i].ref_by ? res_field_index(r, r->fields[i].ref_by) : -1;
    for (int k = 0; k < 2; k++) {
        int f = k ? t : i;
        if (f >= 0 && set[f])
            return api_error(q, 400, "validation_failed", r->fields[f].name,
                             "%s comes from the path", r->fields[f].name);
    }
    row.vals[i] = (store_val){.kind = SV_TEXT, .s = value};
    set[i] = true;
    if (t >= 0) {
        row.vals[t] = (store_val){.kind = SV_TEXT, .s = type};
        set[t] = true;
    }
    buf json;
    buf_init(&json, API_MAX_RESPONSE);
    int rc = insert_row(q, r, &row, set, &json);
    if (rc == 0) respond_json(q, 201, &json);
    buf_free(&json);
    return rc;
}

int engine_respond(api_req *q, const res_def *r, const res_row *row, int status)
{
    return respond_row(q, r, row, NULL, status, NULL);
}

int engine_parse_fields(api_req *q, const res_field *fields, int n, json_t *body, store_val *vals,
                        bool *set)
{
    for (int i = 0; i < n; i++) {
        vals[i] = (store_val){.kind = SV_NULL};
        set[i] = false;
    }
    if (body && !json_is_object(body))
        return api_error(q, 400, "validation_failed", NULL, "the body must be a JSON object");
    const char *k;
    json_t *v;
    if (body) json_object_foreach(body, k, v)
        {
            int i = 0;
            while (i < n && strcmp(fields[i].name, k) != 0)
                i++;
            if (i == n) return api_error(q, 400, "validation_failed", k, "unknown field '%s'", k);
            if (convert(q, &fields[i], v, &vals[i])) return -1;
            set[i] = vals[i].kind != SV_NULL;
        }
    for (int i = 0; i < n; i++) {
        if (set[i]) continue;
        if (fields[i].flags & RF_REQUIRED)
            return api_error(q, 400, "validation_failed", fields[i].name, "%s is required",
                             fields[i].name);
        if (fields[i].type == FT_BOOL && fields[i].dflt)
            vals[i] = (store_val){.kind = SV_INT, .i = strcmp(fields[i].dflt, "true") == 0};
    }
    return 0;
}

/* ----------------------------------------------------------------- merge */

/* POST /{id}/merge {"from_ids": [...]}: each record is folded into this one.
 * References to it move here, its history joins this timeline, the fields
 * this one lacks are taken from it, and a stub remembers where it went. A
 * record already merged into this one is skipped, so a retry is a no-op. */
int engine_merge(api_req *q)
{
    const res_def *r = q->route->res;
    if (api_params_check(q)) return -1;
    json_t *ids = q->json ? json_object_get(q->json, "from_ids") : NULL;
    const char *k;
    json_t *v;
    if (q->json) json_object_foreach(q->json, k, v)
        {
            if (strcmp(k, "from_ids") != 0)
                return api_error(q, 400, "validation_failed", k, "unknown field '%s'", k);
        }
    if (!json_is_array(ids) || json_array_size(ids) < 1 || json_array_size(ids) > 20)
        return api_error(q, 400, "validation_failed", "from_ids",
                         "from_ids must be an array of 1 to 20 ids");
    res_row old;
    if (engine_load(q, r, q->pv[0], NULL, &old)) return -1;
    bool *set, set_custom = false;
    res_row row = engine_copy_row(q, r, &old, &set);
    json_t *custom = row.custom ? json_loads(row.custom, 0, NULL) : NULL;
    if (!custom) custom = json_object();
    int merged = 0, rc = 0;
    store_err e;
    size_t idx;
    json_array_foreach(ids, idx, v)
    {
        if (!json_is_string(v)) {
            rc = api_error(q, 400, "validation_failed", "from_ids", "from_ids must hold ids");
            break;
        }
        const char *from = json_string_value(v);
        if (strcmp(from, old.id) == 0) {
            rc = api_error(q, 400, "validation_failed", "from_ids",
                           "a %s cannot be merged into itself", r->singular);
            break;
        }
        res_row src;
        char into[ID_MAX];
        int grc = store_rec_get(q->conn, &q->a, r, q->ws, from, &src, &e);
        if (grc == STORE_NOTFOUND &&
            store_merged_get(q->conn, q->ws, r->name, from, into, &e) == STORE_OK &&
            strcmp(into, old.id) == 0)
            continue;
        if (grc == STORE_NOTFOUND) {
            rc = engine_load(q, r, from, "from_ids", &src);
            break;
        }
        if (grc) {
            rc = api_store_error(q, grc, &e);
            break;
        }
        for (int i = 0; i < r->nfields; i++) {
            const res_field *f = &r->fields[i];
            if (f->flags & (RF_READONLY | RF_PARENT)) continue;
            if (row.vals[i].kind == SV_NULL && src.vals[i].kind != SV_NULL) {
                row.vals[i] = src.vals[i];
                set[i] = true;
            }
        }
        json_t *sc = src.custom ? json_loads(src.custom, 0, NULL) : NULL;
        const char *ck;
        json_t *cv;
        if (sc) json_object_foreach(sc, ck, cv)
            {
                if (!json_object_get(custom, ck)) {
                    json_object_set(custom, ck, cv);
                    set_custom = true;
                }
            }
        json_decref(sc);
        buf snap;
        buf_init(&snap, API_MAX_RESPONSE);
        jw sw;
        jw_init(&sw, &snap);
        engine_write_row(&sw, r, &src);
        res_write mw = {.q = q, .r = r, .row = &old, .old = &src};
        if (relink(q, r, from, old.id) || run_hook(&mw, HOOK(r, after_merge)) ||
            (rc = store_event_resubject(q->conn, q->ws, from, old.id, &e)) ||
            (rc = store_rec_delete(q->conn, r, q->ws, from, &e)) || rollup_apply(q, r, &src, -1) ||
            (rc = store_merged_put(q->conn, q->ws, r->name, from, old.id, buf_cstr(&snap), &e))) {
            buf_free(&snap);
            if (rc) rc = api_store_error(q, rc, &e);
            rc = -1;
            break;
        }
        buf_free(&snap);
        merged++;
    }
    if (rc == 0 && set_custom) {
        char *cs = json_dumps(custom, JSON_COMPACT | JSON_SORT_KEYS);
        row.custom = arena_strdup(&q->a, cs);
        free(cs);
    }
    json_decref(custom);
    if (rc) return -1;
    if (!merged) return respond_row(q, r, &old, NULL, 200, NULL);
    buf json;
    buf_init(&json, API_MAX_RESPONSE);
    rc = update_row(q, r, &old, &row, set, set_custom, "merged", &json);
    if (rc == 0) respond_json(q, 200, &json);
    buf_free(&json);
    return rc;
}

/* -------------------------------------------------------------- timeline */

/* GET /{id}/timeline: the record's events and those of records related to
 * it (tasks, activities), newest first. */
int engine_timeline(api_req *q)
{
    const res_def *r = q->route->res;
    store_query sq = {0};
    if (engine_parse_limit(q, &sq.limit)) return -1;
    const char *cur = api_param_get(q, "cursor");
    if (cur && !cursor_decode(&q->a, r, "timeline", cur, &sq))
        return api_error(q, 400, "validation_failed", "cursor",
                         "cursor is not a cursor returned by this timeline");
    if (api_params_check(q)) return -1;
    res_row owner;
    if (engine_load(q, r, q->pv[0], NULL, &owner)) return -1;
    store_event *ev;
    int n;
    bool more;
    store_err e;
    int rc = store_event_list(q->conn, &q->a, q->ws, owner.id, sq.after_rid, sq.limit, &ev, &n,
                              &more, &e);
    if (rc) return api_store_error(q, rc, &e);
    jw *w = api_data(q, 200);
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
    const char *next = NULL;
    if (more && n > 0) {
        res_row last = {.rid = ev[n - 1].rid};
        store_query plain = {0};
        next = cursor_encode(&q->a, r, "timeline", &last, &plain);
    }
    api_finish_list(q, next);
    return 0;
}

/* ----------------------------------------------------------------- batch */

/* One batch item: its own savepoint, so a failure undoes only itself. */
static void batch_item(api_req *q, const res_def *r, size_t index, json_t *op, buf *out, int *ok)
{
    int status = 400;
    buf json;
    buf_init(&json, API_MAX_RESPONSE);
    store_err e;
    int rc = store_savepoint(q->conn, &e);
    if (rc) {
        api_store_error(q, rc, &e);
        status = q->status;
        goto done;
    }
    const char *action = json_string_value(json_object_get(op, "action"));
    json_t *data = json_object_get(op, "data");
    const char *k;
    json_t *v;
    rc = -1;
    json_object_foreach(op, k, v)
    {
        if (strcmp(k, "action") && strcmp(k, "data") && strcmp(k, "id") && strcmp(k, "upsert_on")) {
            api_error(q, 400, "validation_failed", k, "unknown operation member '%s'", k);
            goto failed;
        }
    }
    if (!action ||
        (strcmp(action, "create") && strcmp(action, "update") && strcmp(action, "upsert"))) {
        api_error(q, 400, "validation_failed", "action",
                  "action must be one of: create, update, upsert");
    } else if (!json_is_object(data)) {
        api_error(q, 400, "validation_failed", "data", "data must be an object");
    } else if (strcmp(action, "update") == 0) {
        const char *id = json_string_value(json_object_get(op, "id"));
        res_row old;
        if (!id)
            api_error(q, 400, "validation_failed", "id", "update needs the record's id");
        else if (engine_load(q, r, id, "id", &old) == 0)
            rc = update_by_id(q, r, &old, data, &json), status = 200;
    } else {
        const char *on = json_string_value(json_object_get(op, "upsert_on"));
        if (strcmp(action, "upsert") == 0 && !on)
            api_error(q, 400, "validation_failed", "upsert_on", "upsert needs upsert_on");
        else
            rc = create_or_upsert(q, r, data, strcmp(action, "upsert") == 0 ? on : NULL, &status,
                                  &json);
    }
failed:
    if (rc == 0) {
        store_release(q->conn, &e);
    } else {
        store_rollback_to(q->conn);
        status = q->status;
    }
done:
    buf_printf(out, "%s{\"index\":%zu,\"status\":%d,", index ? "," : "", index, status);
    if (rc == 0) {
        buf_puts(out, "\"data\":");
        buf_append(out, json.data, json.len);
        (*ok)++;
    } else {
        buf_puts(out, "\"error\":");
        buf_append(out, q->out.data, q->out.len);
    }
    buf_putc(out, '}');
    buf_free(&json);
    buf_reset(&q->out);
}

int engine_batch(api_req *q)
{
    const res_def *r = q->route->res;
    if (api_params_check(q)) return -1;
    json_t *ops = json_object_get(q->json, "operations");
    const char *k;
    json_t *v;
    json_object_foreach(q->json, k, v)
    {
        if (strcmp(k, "operations") != 0)
            return api_error(q, 400, "validation_failed", k, "unknown field '%s'", k);
    }
    if (!json_is_array(ops) || json_array_size(ops) < 1 || json_array_size(ops) > 100)
        return api_error(q, 400, "validation_failed", "operations",
                         "operations must be an array of 1 to 100 operations");
    size_t i;
    json_array_foreach(ops, i, v)
    {
        if (!json_is_object(v))
            return api_error(q, 400, "validation_failed", "operations",
                             "operations[%zu] must be an object", i);
    }
    buf out;
    buf_init(&out, API_MAX_RESPONSE);
    buf_putc(&out, '[');
    int ok = 0;
    q->bare = true;
    json_array_foreach(ops, i, v)
    {
        batch_item(q, r, i, v, &out, &ok);
    }
    q->bare = false;
    buf_putc(&out, ']');
    jw *w = api_data(q, 200);
    jw_obj_open(w);
    jw_kstr(w, "object", "batch");
    jw_key(w, "results");
    jw_raw(w, out.data, out.len);
    jw_kint(w, "succeeded", ok);
    jw_kint(w, "failed", (int64_t)json_array_size(ops) - ok);
    jw_obj_close(w);
    api_finish(q);
    buf_free(&out);
    return 0;
}

const char *engine_text(const res_row *row, int field)
{
    return row->vals[field].kind == SV_TEXT ? row->vals[field].s : NULL;
}

int64_t engine_int(const res_row *row, int field, int64_t dflt)
{
    return row->vals[field].kind == SV_INT ? row->vals[field].i : dflt;
}

int engine_page(api_req *q, const res_def *r, store_query *sq, const char *sort, res_row **rows,
                int *n, const char **next)
{
    bool more;
    store_err e;
    int rc = store_rec_list(q->conn, &q->a, r, q->ws, sq, rows, n, &more, &e);
    if (rc) return api_store_error(q, rc, &e);
    *next = more && *n > 0 ? cursor_encode(&q->a, r, sort, &(*rows)[*n - 1], sq) : NULL;
    return 0;
}

int engine_find_by(api_req *q, const res_def *r, int field, const char *value, res_row *out)
{
    store_err e;
    int rc = store_rec_find_by(q->conn, &q->a, r, q->ws, field, value, out, &e);
    if (rc == STORE_NOTFOUND) return 0;
    if (rc) return api_store_error(q, rc, &e);
    return 1;
}

int engine_aggregate(api_req *q, const res_def *r, const store_filter *f, int nf, int g0, int g1,
                     int sum, store_agg_row **rows, int *n)
{
    store_agg ag = {.filters = f, .nfilters = nf, .group = {g0, g1}, .sum = sum};
    store_err e;
    int rc = store_rec_aggregate(q->conn, &q->a, r, q->ws, &ag, rows, n, &e);
    return rc ? api_store_error(q, rc, &e) : 0;
}
