/* cms.c - what CMS collections and entries do beyond the generic engine.
 *
 * A collection's schema (schema.fields[]: key, type, required, unique,
 * options, to) is checked when it is written, and a change of it against
 * every entry the collection holds: one the stored entries would fail is
 * 409 naming the schema's field, so an entry never stops meeting its
 * schema. An entry's `fields` must meet its collection's schema on every
 * create and PATCH (a 400 naming fields.<key>): no unknown key, every
 * required one (title: the top-level title), values of their type,
 * references and assets that exist in the workspace, unique values unique
 * in the collection (409). Each change of an entry appends a revision
 * (cms-entry-revisions, read-only), and its search_text keeps what `query`
 * finds: the title's words once more under a prefix, so that a search can
 * ask for title hits alone (GET /v1/cms/entries/search answers those
 * first), then the values of its text fields.
 *
 * The schema's first unique field is checked through an index: each entry
 * keeps that field's key and a hash of its value in unique_key (hidden), so
 * a write reads only the entries holding the same hash (a value of 1000
 * characters would not fit PostgreSQL's index entries; the few a hash
 * finds are compared whole). A schema change rewrites the entries' keys
 * as it walks them to check them. Further unique fields are checked by
 * reading the collection's entries: that cost grows with the collection,
 * paid only by schemas that declare more than one. */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/timeutil.h"
#include "resources/cursor.h"
#include "resources/engine.h"
#include "resources/hooks.h"
#include "store/search.h"

/* The prefix of the title's words in search_text: one search word, so a
 * title word "launch" is also indexed as "0launch". The store's mark
 * (search.h): on PostgreSQL a search walks the postings of its word's first
 * characters, and under a longer mark ("cmsttl") every title word of the
 * collection shared one posting list (a rare title word walked all of
 * them: seconds on 100,000 entries). A text word that starts so ("0x")
 * may match a title query: title hits are checked against the title. */
#define TITLE_MARK SEARCH_MARK
/* The longest value of a string field; text and markdown ones may hold
 * what an object member may (engine.c's flat objects: 10000). */
#define STRING_MAX 1000
#define TEXT_MAX   10000
#define PAGE       100

static bool is(const char *s, const char *v)
{
    return s && strcmp(s, v) == 0;
}

/* Two texts alike, NULL like NULL only. */
static bool same(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

/* A collection's or a schema field's key: what an object's keys may be
 * (an entry's fields are one), 1-100 of [A-Za-z0-9_.-]. */
static bool key_ok(const char *k)
{
    return k && engine_custom_key_ok(k);
}

/* The resource a reference field's `to` names: its table name, its
 * singular or its path. */
static const res_def *target_of(const char *to)
{
    if (!to) return NULL;
    const res_def *r = res_find(to);
    if (!r) r = res_find_singular(to);
    for (int i = 0; !r && i < res_count; i++)
        if (res_table[i]->path && !res_table[i]->parent && strcmp(res_table[i]->path, to) == 0)
            r = res_table[i];
    return r;
}

/* The resource asset fields name: the assets family's, when this server
 * has it (NULL: asset values are refused). */
static const res_def *assets_res(void)
{
    return res_find("assets");
}

/* ------------------------------------------------------------- schemas */

/* One field of a schema, as the checks read it. */
typedef struct sfield {
    const char *key, *type, *to;
    bool required, unique;
    json_t *options; /* borrowed from the schema's JSON */
} sfield;

typedef struct schema {
    json_t *json; /* owned: json_decref */
    sfield *f;
    int n;
} schema;

/* Parsed schemas by their text, shared by the writers: every entry write
 * reads its collection's schema, and parsing it again each time was a
 * twentieth of a create's time on the writer. Keyed by the text itself, an
 * entry is never stale; the schemas are only read (jansson counts
 * references atomically), and the last few stay reachable until exit. */
#define SCHEMA_CACHE 8
static pthread_mutex_t schema_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char *text;
    json_t *json;
} schema_cache[SCHEMA_CACHE];
static unsigned schema_next;

static json_t *schema_parse(const char *text)
{
    if (!text) return NULL;
    json_t *j = NULL;
    pthread_mutex_lock(&schema_mu);
    for (int i = 0; i < SCHEMA_CACHE && !j; i++)
        if (same(schema_cache[i].text, text)) j = json_incref(schema_cache[i].json);
    pthread_mutex_unlock(&schema_mu);
    if (j) return j;
    j = json_loads(text, 0, NULL);
    char *copy = j ? strdup(text) : NULL;
    if (!copy) return j;
    pthread_mutex_lock(&schema_mu);
    unsigned k = schema_next++ % SCHEMA_CACHE;
    free(schema_cache[k].text);
    json_decref(schema_cache[k].json);
    schema_cache[k].text = copy;
    schema_cache[k].json = json_incref(j);
    pthread_mutex_unlock(&schema_mu);
    return j;
}

/* The collection's stored schema, read into s (its fields in order). */
static void schema_read(engine_call *c, const char *text, schema *s)
{
    s->json = schema_parse(text);
    json_t *fields = json_object_get(s->json, "fields");
    size_t n = json_array_size(fields);
    s->f = arena_zalloc(c->a, sizeof *s->f * (n ? n : 1));
    s->n = (int)n;
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(fields, i);
        s->f[i] = (sfield){.key = json_string_value(json_object_get(f, "key")),
                           .type = json_string_value(json_object_get(f, "type")),
                           .to = json_string_value(json_object_get(f, "to")),
                           .required = json_is_true(json_object_get(f, "required")),
                           .unique = json_is_true(json_object_get(f, "unique")),
                           .options = json_object_get(f, "options")};
    }
}

static const sfield *schema_find(const schema *s, const char *key)
{
    for (int i = 0; i < s->n; i++)
        if (is(s->f[i].key, key)) return &s->f[i];
    return NULL;
}

static bool text_type(const char *t)
{
    return is(t, "string") || is(t, "text") || is(t, "markdown");
}

/* Checks a schema's own rules (keys, options, to, unique) and writes its
 * canonical form (each `to` as the table names it) into *out. */
static int schema_check(engine_call *c, const char *text, const char **out)
{
    json_t *j = json_loads(text, 0, NULL);
    json_t *fields = json_object_get(j, "fields");
    if (!json_is_array(fields)) json_object_set_new(j, "fields", fields = json_array());
    size_t i;
    json_t *f;
    int rc = 0;
    json_array_foreach(fields, i, f)
    {
        const char *key = json_string_value(json_object_get(f, "key"));
        const char *type = json_string_value(json_object_get(f, "type"));
        const char *to = json_string_value(json_object_get(f, "to"));
        json_t *opts = json_object_get(f, "options");
        const char *at = arena_printf(c->a, "schema.fields[%zu]", i);
        if (!key_ok(key)) {
            rc = engine_fail(c, EK_INVALID, arena_printf(c->a, "%s.key", at),
                             "%s.key must be 1-100 letters, digits, _, . or -", at);
            break;
        }
        for (size_t k = 0; k < i && rc == 0; k++)
            if (is(json_string_value(json_object_get(json_array_get(fields, k), "key")), key))
                rc = engine_fail(c, EK_INVALID, arena_printf(c->a, "%s.key", at),
                                 "%s.key: '%s' is the key of schema.fields[%zu] already", at, key,
                                 k);
        if (rc) break;
        if (is(type, "enum") != (json_array_size(opts) > 0)) {
            rc = engine_fail(c, EK_INVALID, arena_printf(c->a, "%s.options", at),
                             is(type, "enum") ? "%s.options: an enum field lists its values"
                                              : "%s.options: only an enum field has options",
                             at);
            break;
        }
        for (size_t a = 0; a < json_array_size(opts) && rc == 0; a++)
            for (size_t b = 0; b < a && rc == 0; b++)
                if (json_equal(json_array_get(opts, a), json_array_get(opts, b)))
                    rc = engine_fail(c, EK_INVALID, arena_printf(c->a, "%s.options[%zu]", at, a),
                                     "%s.options[%zu] repeats options[%zu]", at, a, b);
        if (rc) break;
        if (is(type, "reference")) {
            const res_def *t = target_of(to);
            if (!t) {
                rc = engine_fail(c, EK_INVALID, arena_printf(c->a, "%s.to", at),
                                 to ? "%s.to: '%s' names no resource"
                                    : "%s.to: a reference field names the resource its ids are "
                                      "of%s",
                                 at, to ? to : "");
                break;
            }
            json_object_set_new(f, "to", json_string(t->name));
        } else if (to) {
            rc = engine_fail(c, EK_INVALID, arena_printf(c->a, "%s.to", at),
                             "%s.to: only a reference field has to", at);
            break;
        }
        if (json_is_true(json_object_get(f, "unique")) &&
            (is(type, "text") || is(type, "markdown") || is(type, "boolean"))) {
            rc = engine_fail(c, EK_INVALID, arena_printf(c->a, "%s.unique", at),
                             "%s.unique: a %s field cannot be unique", at, type);
            break;
        }
    }
    if (rc == 0) {
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        *out = arena_strdup(c->a, s);
        free(s);
    }
    json_decref(j);
    return rc;
}

/* -------------------------------------------------------------- values */

/* Whether v is a value of field f: NULL, or why not (a message in the
 * arena, after the field's name). References and assets are looked up in
 * the workspace. *failed is set when the lookup itself failed (the call's
 * error set then). */
static const char *value_error(engine_call *c, const sfield *f, json_t *v, bool *failed)
{
    const char *t = f->type;
    *failed = false;
    if (text_type(t)) {
        if (!json_is_string(v)) return "must be a string";
        size_t max = is(t, "string") ? STRING_MAX : TEXT_MAX, n = 0;
        for (const char *p = json_string_value(v); *p; p++)
            n += ((unsigned char)*p & 0xc0) != 0x80;
        return n > max ? arena_printf(c->a, "must be at most %zu characters", max) : NULL;
    }
    if (is(t, "number")) return json_is_number(v) ? NULL : "must be a number";
    if (is(t, "integer")) return json_is_integer(v) ? NULL : "must be an integer";
    if (is(t, "boolean")) return json_is_boolean(v) ? NULL : "must be a boolean";
    if (!json_is_string(v)) return "must be a string";
    const char *s = json_string_value(v);
    if (is(t, "date")) return time_parse_date(s) ? NULL : "must be a date (YYYY-MM-DD)";
    if (is(t, "datetime")) {
        int64_t ms;
        return time_parse(s, &ms) ? NULL : "must be an RFC 3339 date-time";
    }
    if (is(t, "enum")) {
        size_t i;
        json_t *o;
        json_array_foreach(f->options, i, o) if (is(json_string_value(o), s)) return NULL;
        buf b;
        buf_init(&b, 1 << 16);
        json_array_foreach(f->options, i, o)
            buf_printf(&b, "%s%s", i ? ", " : "", json_string_value(o));
        const char *m = arena_printf(c->a, "must be one of: %s", buf_cstr(&b));
        buf_free(&b);
        return m;
    }
    const res_def *r = is(t, "asset") ? assets_res() : target_of(f->to);
    if (!r)
        return is(t, "asset") ? "names an asset, and assets are not available on this server"
                              : "names a resource this server does not have";
    if (!id_valid(s, r->prefix))
        return arena_printf(c->a, "must be the id of %s %s",
                            strchr("aeiou", r->singular[0]) ? "an" : "a", r->singular);
    store_err e;
    int rc = store_rec_exists(c->conn, r, c->ws, s, &e);
    if (rc == STORE_NOTFOUND)
        return arena_printf(c->a, "no %s '%s' in this workspace", r->singular, s);
    if (rc) {
        engine_store_fail(c, rc, &e);
        *failed = true;
    }
    return NULL;
}

/* Checks the fields object fs (and the title, which a field keyed title
 * stands for) against schema s: 0, or -1 with a 400 naming fields.<key>. */
static int fields_check(engine_call *c, const schema *s, json_t *fs, const char *title)
{
    const char *k;
    json_t *v;
    json_object_foreach(fs, k, v)
    {
        const char *p = arena_printf(c->a, "fields.%s", k);
        const sfield *f = schema_find(s, k);
        if (!f)
            return engine_fail(c, EK_INVALID, p, "%s: the collection's schema has no field '%s'", p,
                               k);
        if (is(k, "title"))
            return engine_fail(c, EK_INVALID, p, "%s: an entry's title is its top-level title", p);
        bool failed;
        const char *why = value_error(c, f, v, &failed);
        if (failed) return -1;
        if (why) return engine_fail(c, EK_INVALID, p, "%s %s", p, why);
    }
    for (int i = 0; i < s->n; i++) {
        const sfield *f = &s->f[i];
        if (!f->required) continue;
        if (is(f->key, "title")) {
            if (!title || !*title) return engine_fail(c, EK_INVALID, "title", "title is required");
            continue;
        }
        if (!json_object_get(fs, f->key))
            return engine_fail(c, EK_INVALID, arena_printf(c->a, "fields.%s", f->key),
                               "fields.%s is required by the collection's schema", f->key);
    }
    return 0;
}

/* Calls fn for every entry of collection `col` (a page of rows at a time;
 * fn as engine_each_row's): 0, or -1 with the call's error set. */
static int each_entry(engine_call *c, const char *col,
                      int (*fn)(engine_call *c, const res_row *row, void *ud), void *ud)
{
    store_filter f = {.field = CMSENTRY_collection_id, .v = sv_text(col)};
    store_query sq = {.filters = &f, .nfilters = 1, .limit = PAGE, .link_field = -1};
    return engine_each_row(c, RES(CMSENTRY), &sq, fn, ud);
}

/* A unique field's value held by another entry of the collection. */
typedef struct dup_find {
    const char *self, *key;
    json_t *value;
    const char *found; /* the other entry's id */
} dup_find;

static int dup_one(engine_call *c, const res_row *row, void *ud)
{
    dup_find *d = ud;
    if (d->found || strcmp(row->id, d->self) == 0) return 0;
    const char *text = engine_text(row, CMSENTRY_fields);
    json_t *fs = text ? json_loads(text, 0, NULL) : NULL;
    if (json_equal(json_object_get(fs, d->key), d->value)) d->found = arena_strdup(c->a, row->id);
    json_decref(fs);
    return d->found != NULL;
}

/* The schema's first unique field, or NULL. */
static const sfield *first_unique(const schema *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->f[i].unique) return &s->f[i];
    return NULL;
}

/* unique_key of an entry whose fields are fs under schema s: the first
 * unique field's key and the SHA-256 of its value as compact JSON; NULL
 * when the schema has none or the entry no value for it. */
static const char *unique_key(engine_call *c, const schema *s, json_t *fs)
{
    const sfield *f = first_unique(s);
    json_t *v = f ? json_object_get(fs, f->key) : NULL;
    if (!v) return NULL;
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), hash[TOKEN_HASH_HEX];
    if (!text) return NULL;
    sha256_hex(text, strlen(text), hash);
    free(text);
    return arena_printf(c->a, "%s\n%s", f->key, hash);
}

/* The entries of collection col whose unique_key is key (one hash: read
 * whole, they are few), each compared as dup_one does. */
static int dup_indexed(engine_call *c, const char *col, const char *key, dup_find *d)
{
    store_filter f[2] = {{.field = CMSENTRY_collection_id, .v = sv_text(col)},
                         {.field = CMSENTRY_unique_key, .v = sv_text(key)}};
    store_query sq = {.filters = f, .nfilters = 2, .limit = PAGE, .link_field = -1};
    return engine_each_row(c, RES(CMSENTRY), &sq, dup_one, d);
}

static int unique_check(engine_call *c, const schema *s, json_t *fs, const char *col,
                        const char *self)
{
    const sfield *indexed = first_unique(s);
    for (int i = 0; i < s->n; i++) {
        json_t *v = json_object_get(fs, s->f[i].key);
        if (!s->f[i].unique || !v) continue;
        dup_find d = {.self = self, .key = s->f[i].key, .value = v};
        if (&s->f[i] == indexed ? dup_indexed(c, col, unique_key(c, s, fs), &d)
                                : each_entry(c, col, dup_one, &d))
            return -1;
        if (d.found) {
            const char *p = arena_printf(c->a, "fields.%s", s->f[i].key);
            return engine_fail(c, EK_CONFLICT, p, "%s: entry %s of the collection has this value",
                               p, d.found);
        }
    }
    return 0;
}

/* ---------------------------------------------------------- collections */

/* A schema change against a stored entry: the entry must meet the new
 * schema as a write of it would. */
typedef struct recheck {
    const schema *old, *now;
    json_t *seen; /* unique key -> {value as JSON text: entry id} */
} recheck;

/* The schema field a stored entry fails under the new schema, as a 409. */
static int refuse(engine_call *c, const recheck *rc, const char *key, const char *entry,
                  const char *why)
{
    int at = -1;
    for (int i = 0; i < rc->now->n && at < 0; i++)
        if (is(rc->now->f[i].key, key)) at = i;
    const char *p = at >= 0 ? arena_printf(c->a, "schema.fields[%d]", at) : "schema.fields";
    return engine_fail(c, EK_CONFLICT, p, "%s: entry %s would not meet the new schema: %s", p,
                       entry, why);
}

static int recheck_one(engine_call *c, const res_row *row, void *ud)
{
    recheck *rk = ud;
    const char *text = engine_text(row, CMSENTRY_fields);
    json_t *fs = text ? json_loads(text, 0, NULL) : json_object();
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(fs, k, v)
    {
        const sfield *f = schema_find(rk->now, k);
        if (!f) {
            rc = refuse(c, rk, k, row->id,
                        arena_printf(c->a, "it holds fields.%s, a field the schema drops", k));
            break;
        }
        bool failed;
        const char *why = value_error(c, f, v, &failed);
        if (failed) {
            rc = -1;
            break;
        }
        if (why) {
            rc = refuse(c, rk, k, row->id, arena_printf(c->a, "fields.%s %s", k, why));
            break;
        }
        if (!f->unique) continue;
        char *vs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        json_t *per = json_object_get(rk->seen, k);
        if (!per) json_object_set_new(rk->seen, k, per = json_object());
        json_t *other = json_object_get(per, vs);
        if (other)
            rc = refuse(c, rk, k, row->id,
                        arena_printf(c->a,
                                     "fields.%s holds the value of entry %s, and the field "
                                     "is unique",
                                     k, json_string_value(other)));
        else
            json_object_set_new(per, vs, json_string(row->id));
        free(vs);
        if (rc) break;
    }
    for (int i = 0; i < rk->now->n && rc == 0; i++) {
        const sfield *f = &rk->now->f[i];
        if (f->required && !is(f->key, "title") && !json_object_get(fs, f->key))
            rc = refuse(c, rk, f->key, row->id,
                        arena_printf(c->a, "it has no fields.%s, which is required", f->key));
    }
    /* The entry's unique_key under the new schema (its first unique field
     * may be another now), written without an event: nothing an answer
     * shows changes. */
    const char *key = rc == 0 ? unique_key(c, rk->now, fs) : NULL;
    if (rc == 0 && !same(key, engine_text(row, CMSENTRY_unique_key))) {
        res_row up = *row;
        bool set[CMSENTRY__COUNT] = {0};
        up.vals = arena_alloc(c->a, sizeof *up.vals * CMSENTRY__COUNT);
        memcpy(up.vals, row->vals, sizeof *up.vals * CMSENTRY__COUNT);
        up.vals[CMSENTRY_unique_key] = sv_text(key);
        set[CMSENTRY_unique_key] = true;
        store_err e;
        int src = store_rec_update(c->conn, RES(CMSENTRY), c->ws, &up, set, false, &e);
        if (src) rc = engine_store_fail(c, src, &e);
    }
    json_decref(fs);
    return rc;
}

static int collection_before(res_write *w)
{
    engine_call *c = w->c;
    const char *key = engine_text(w->row, CMSCOL_key);
    if ((w->is_create || w->set[CMSCOL_key]) && !key_ok(key))
        return engine_fail(c, EK_INVALID, "key", "key must be 1-100 letters, digits, _, . or -");
    if (!w->is_create && !w->set[CMSCOL_schema]) return 0;
    const char *text = engine_text(w->row, CMSCOL_schema), *canon;
    if (schema_check(c, text ? text : "{\"fields\":[]}", &canon)) return -1;
    engine_set(w->row, w->set, CMSCOL_schema, sv_text(canon));
    if (w->is_create) return 0;
    schema old, now;
    schema_read(c, engine_text(w->old, CMSCOL_schema), &old);
    schema_read(c, canon, &now);
    recheck rk = {.old = &old, .now = &now, .seen = json_object()};
    int rc = each_entry(c, w->row->id, recheck_one, &rk);
    json_decref(rk.seen);
    json_decref(old.json);
    json_decref(now.json);
    return rc;
}

static int live_entry(engine_call *c, const res_row *row, void *ud)
{
    (void)c;
    if (is(engine_text(row, CMSENTRY_status), "archived")) return 0;
    *(const char **)ud = row->id;
    return 1; /* one is enough */
}

/* A collection goes with its archived entries (the engine follows their
 * required reference), never with one that is not archived. */
static int collection_before_delete(res_write *w)
{
    const char *entry = NULL;
    engine_call *c = w->c;
    int rc = each_entry(c, w->old->id, live_entry, &entry);
    if (entry)
        return engine_fail(c, EK_CONFLICT, NULL,
                           "collection %s has entries not archived (%s, ...): archive them first "
                           "(DELETE /v1/cms/entries/{id})",
                           w->old->id, entry);
    return rc;
}

const res_hooks cms_collection_hooks = {.before_write = collection_before,
                                        .before_delete = collection_before_delete};

/* -------------------------------------------------------------- entries */

typedef struct text_ctx {
    buf *b;
} text_ctx;

static void mark_word(const char *w, size_t n, void *ud)
{
    text_ctx *t = ud;
    buf_printf(t->b, " " TITLE_MARK "%.*s", (int)n, w);
}

/* search_text: the title's words marked, then the text fields' values. */
static const char *search_text(engine_call *c, const char *title, const schema *s, json_t *fs)
{
    buf b;
    buf_init(&b, ENGINE_MAX_DATA);
    text_ctx t = {&b};
    search_words(title, mark_word, &t);
    for (int i = 0; i < s->n; i++) {
        json_t *v = json_object_get(fs, s->f[i].key);
        if (text_type(s->f[i].type) && json_is_string(v)) {
            buf_putc(&b, '\n');
            buf_puts(&b, json_string_value(v));
        }
    }
    const char *out = arena_strndup(c->a, b.data, b.len);
    buf_free(&b);
    return out;
}

/* The entry's fields after this write: the stored ones with the body's
 * merged in (null removes a key) on an update, the body's on a create. A
 * new reference. */
static json_t *merged_fields(res_write *w)
{
    const char *now = engine_text(w->row, CMSENTRY_fields);
    if (w->is_create || !w->set[CMSENTRY_fields]) {
        json_t *j = now ? json_loads(now, 0, NULL) : NULL;
        return json_is_object(j) ? j : (json_decref(j), json_object());
    }
    const char *was = engine_text(w->old, CMSENTRY_fields);
    json_t *out = was ? json_loads(was, 0, NULL) : NULL;
    if (!json_is_object(out)) out = (json_decref(out), json_object());
    json_t *given = json_object_get(w->c->body, "fields");
    const char *k;
    json_t *v;
    json_object_foreach(given, k, v)
    {
        if (json_is_null(v))
            json_object_del(out, k);
        else
            json_object_set(out, k, v);
    }
    return out;
}

static int entry_before(res_write *w)
{
    engine_call *c = w->c;
    /* A missing site or campaign is named before a taken unique value. */
    static const struct {
        int field;
        int res;
        const char *name;
    } refs[] = {{CMSENTRY_site_id, RES_CMSSITE, "site_id"},
                {CMSENTRY_campaign_id, RES_MCAMP, "campaign_id"}};
    enum { NREFS = sizeof refs / sizeof refs[0] };
    /* The collection and the references set, in one round trip on
     * PostgreSQL: the loads below find them remembered. */
    const char *col_id = engine_text(w->row, CMSENTRY_collection_id);
    store_read rd[1 + NREFS] = {{.r = RES(CMSCOL), .id = col_id}};
    const char *param[1 + NREFS];
    int nr = 1;
    for (int i = 0; i < NREFS; i++) {
        const char *id = engine_text(w->row, refs[i].field);
        if (!id || !w->set[refs[i].field]) continue;
        param[nr] = refs[i].name;
        rd[nr++] = (store_read){.r = res_table[refs[i].res], .id = id};
    }
    if (engine_prefetch(c, rd, nr)) return -1;
    res_row col;
    if (engine_load(c, RES(CMSCOL), col_id, "collection_id", &col)) return -1;
    schema s;
    schema_read(c, engine_text(&col, CMSCOL_schema), &s);
    json_t *fs = merged_fields(w);
    const char *title = engine_text(w->row, CMSENTRY_title);
    int rc = 0;
    for (int i = 1; i < nr && rc == 0; i++) {
        res_row ref;
        rc = engine_load(c, rd[i].r, rd[i].id, param[i], &ref);
    }
    if (rc == 0) rc = fields_check(c, &s, fs, title);
    if (rc == 0) rc = unique_check(c, &s, fs, col.id, w->row->id);
    if (rc == 0) {
        char *text = json_dumps(fs, JSON_COMPACT | JSON_SORT_KEYS);
        if (!w->old || !is(engine_text(w->old, CMSENTRY_fields), text))
            engine_set(w->row, w->set, CMSENTRY_fields, sv_text(arena_strdup(c->a, text)));
        free(text);
        engine_set(w->row, w->set, CMSENTRY_search_text, sv_text(search_text(c, title, &s, fs)));
        const char *key = unique_key(c, &s, fs);
        if (!w->old || !same(engine_text(w->old, CMSENTRY_unique_key), key))
            engine_set(w->row, w->set, CMSENTRY_unique_key, sv_text(key));
        engine_set(w->row, w->set, CMSENTRY_revision,
                   sv_int(w->old ? engine_int(w->old, CMSENTRY_revision, 0) + 1 : 1));
        const char *was = w->old ? engine_text(w->old, CMSENTRY_status) : NULL;
        if (is(engine_text(w->row, CMSENTRY_status), "published") && !is(was, "published"))
            engine_set(w->row, w->set, CMSENTRY_published_at,
                       sv_int(w->is_create ? w->row->created_ms : (int64_t)time_now_ms()));
    }
    json_decref(fs);
    json_decref(s.json);
    return rc;
}

/* Each change leaves the entry as it is now in a revision. */
static int entry_after(res_write *w)
{
    engine_call *c = w->c;
    const res_row *e = w->row;
    bool *set;
    res_row rev = engine_new_row(c, RES(CMSREV), &set);
    engine_set(&rev, set, CMSREV_entry_id, sv_text(e->id));
    engine_set(&rev, set, CMSREV_revision, e->vals[CMSENTRY_revision]);
    engine_set(&rev, set, CMSREV_change, sv_text(w->is_create ? "created" : "updated"));
    if (c->actor) engine_set(&rev, set, CMSREV_actor, sv_text(c->actor));
    engine_set(&rev, set, CMSREV_title, e->vals[CMSENTRY_title]);
    engine_set(&rev, set, CMSREV_status, e->vals[CMSENTRY_status]);
    engine_set(&rev, set, CMSREV_content_type, e->vals[CMSENTRY_content_type]);
    engine_set(&rev, set, CMSREV_fields, e->vals[CMSENTRY_fields]);
    engine_set(&rev, set, CMSREV_site_id, e->vals[CMSENTRY_site_id]);
    engine_set(&rev, set, CMSREV_campaign_id, e->vals[CMSENTRY_campaign_id]);
    return engine_insert(c, RES(CMSREV), &rev, set);
}

const res_hooks cms_entry_hooks = {.before_write = entry_before, .after_write = entry_after};

/* --------------------------------------------------------------- search */

/* A search's words, folded and lower-cased as the index compares them. */
#define QWORDS_MAX 32
typedef struct qwords {
    char *w[QWORDS_MAX];
    size_t len[QWORDS_MAX];
    int n;
    arena *a;
    buf *marked; /* the title query: each word under TITLE_MARK */
} qwords;

static size_t norm(const char *w, size_t n, char *out)
{
    size_t k = search_fold(w, n, out);
    for (size_t i = 0; i < k; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
    return k;
}

static void query_word(const char *w, size_t n, void *ud)
{
    qwords *q = ud;
    buf_printf(q->marked, "%s" TITLE_MARK "%.*s", q->n ? " " : "", (int)n, w);
    if (q->n == QWORDS_MAX) return;
    q->w[q->n] = arena_alloc(q->a, n + 1);
    q->len[q->n] = norm(w, n, q->w[q->n]);
    q->n++;
}

/* Which of the query's words some word of a text starts: bit i for word i. */
typedef struct scan {
    const qwords *q;
    const char *text;
    unsigned hits;
    const char *first; /* the first word that starts a query word */
} scan;

static void scan_word(const char *w, size_t n, void *ud)
{
    scan *s = ud;
    char tmp[256];
    if (n > sizeof tmp) n = sizeof tmp;
    size_t k = norm(w, n, tmp);
    for (int i = 0; i < s->q->n; i++)
        if (k >= s->q->len[i] && memcmp(tmp, s->q->w[i], s->q->len[i]) == 0) {
            s->hits |= 1u << i;
            if (!s->first) s->first = w;
        }
}

static bool title_hit(const qwords *q, const char *title)
{
    scan s = {.q = q};
    if (title) search_words(title, scan_word, &s);
    return q->n > 0 && s.hits == (1u << q->n) - 1;
}

/* Up to 160 characters of the first text field holding a query word,
 * around it, cut at character boundaries (… marks a cut); the title when
 * no text field holds one (a title hit); without a query, the first text
 * field's start. */
static const char *snippet(engine_call *c, const qwords *q, const schema *s, const res_row *row)
{
    const char *text = engine_text(row, CMSENTRY_fields);
    json_t *fs = text ? json_loads(text, 0, NULL) : NULL;
    const char *src = NULL, *at = NULL;
    for (int i = 0; i < s->n && !at; i++) {
        json_t *v = json_object_get(fs, s->f[i].key);
        if (!text_type(s->f[i].type) || !json_is_string(v)) continue;
        scan sc = {.q = q};
        search_words(json_string_value(v), scan_word, &sc);
        if (sc.first || (!q->n && !src)) src = json_string_value(v), at = sc.first;
    }
    if (!src) src = engine_text(row, CMSENTRY_title);
    if (!src) src = "";
    size_t len = strlen(src), from = at ? (size_t)(at - src) : 0;
    from = from > 60 ? from - 60 : 0;
    size_t to = from + 160 < len ? from + 160 : len;
    while (from > 0 && ((unsigned char)src[from] & 0xc0) == 0x80)
        from--;
    while (to < len && ((unsigned char)src[to] & 0xc0) == 0x80)
        to--;
    const char *out = arena_printf(c->a, "%s%.*s%s", from ? "…" : "", (int)(to - from), src + from,
                                   to < len ? "…" : "");
    json_decref(fs);
    return out;
}

/* The schema of collection `id`, remembered for the page's other hits. */
typedef struct schemas {
    const char *id[PAGE + 1];
    schema s[PAGE + 1];
    int n;
} schemas;

static const schema *schema_of(engine_call *c, schemas *ss, const char *id)
{
    for (int i = 0; i < ss->n; i++)
        if (is(ss->id[i], id)) return &ss->s[i];
    res_row col;
    const char *text = NULL;
    store_err e;
    if (store_rec_get(c->conn, c->a, RES(CMSCOL), c->ws, id, &col, &e) == STORE_OK)
        text = engine_text(&col, CMSCOL_schema);
    ss->id[ss->n] = id;
    schema_read(c, text, &ss->s[ss->n]);
    return &ss->s[ss->n++];
}

/* GET /v1/cms/entries/search: title hits first, then the entries whose
 * text fields match (not their title), each newest first; without a query,
 * every entry the filters select. A cursor holds the phase (as the list it
 * continues) and the last row. */
int cms_search(engine_call *c)
{
    const res_def *r = RES(CMSENTRY);
    store_val q[CMSSQ__COUNT];
    bool set[CMSSQ__COUNT];
    int limit;
    if (engine_parse_query_fields(c, c->action->query, c->action->nquery, q, set) ||
        engine_parse_limit(c, &limit) || engine_params_check(c))
        return -1;
    /* Without a query, the entries the filters select, newest first. */
    static const char *const phases[] = {"search:title", "search:text", "search:all"};
    store_filter f[5];
    int nf = 0;
    static const struct {
        int in, field;
    } filters[] = {{CMSSQ_collection_id, CMSENTRY_collection_id},
                   {CMSSQ_site_id, CMSENTRY_site_id},
                   {CMSSQ_campaign_id, CMSENTRY_campaign_id},
                   {CMSSQ_content_type, CMSENTRY_content_type},
                   {CMSSQ_status, CMSENTRY_status}};
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        if (set[filters[i].in])
            f[nf++] = (store_filter){.field = filters[i].field, .v = q[filters[i].in]};
    store_query sq = {.filters = f, .nfilters = nf, .limit = limit + 1, .link_field = -1};
    int phase = set[CMSSQ_query] ? 0 : 2, end = set[CMSSQ_query] ? 2 : 3;
    if (set[CMSSQ_cursor]) {
        while (phase < end && !cursor_decode(c->a, c->ws, r, phases[phase], q[CMSSQ_cursor].s, &sq))
            phase++;
        if (phase == end) {
            engine_fail(c, EK_INVALID, "cursor", "cursor is not one this search gave");
            c->out->code = "invalid_cursor";
            return -1;
        }
    }
    buf marked;
    buf_init(&marked, 1 << 16);
    qwords qw = {.a = c->a, .marked = &marked};
    if (set[CMSSQ_query]) search_words(q[CMSSQ_query].s, query_word, &qw);
    const char *texts[3] = {arena_strdup(c->a, buf_cstr(&marked)), q[CMSSQ_query].s, NULL};
    buf_free(&marked);

    res_row *hits = arena_alloc(c->a, sizeof *hits * (size_t)(limit + 1));
    int hphase[PAGE + 1], nh = 0;
    while ((qw.n > 0 || !set[CMSSQ_query]) && phase < end && nh <= limit) {
        sq.fts = texts[phase];
        res_row *rows;
        int n;
        bool more;
        store_err e;
        int rc = store_rec_list(c->conn, c->a, r, c->ws, &sq, &rows, &n, &more, &e);
        if (rc) return engine_store_fail(c, rc, &e);
        for (int i = 0; i < n && nh <= limit; i++) {
            if ((phase == 1) == title_hit(&qw, engine_text(&rows[i], CMSENTRY_title)) && phase < 2)
                continue;
            hphase[nh] = phase;
            hits[nh++] = rows[i];
        }
        if (more && n > 0) {
            sq.after_rid = rows[n - 1].rid;
        } else {
            phase++;
            sq.after_rid = 0;
        }
    }
    int shown = nh > limit ? limit : nh;
    schemas *ss = arena_zalloc(c->a, sizeof *ss);
    jw *w = engine_answer(c);
    jw_arr_open(w);
    for (int i = 0; i < shown; i++) {
        jw_obj_open(w);
        engine_write_members(w, r, &hits[i]);
        const schema *s = schema_of(c, ss, engine_text(&hits[i], CMSENTRY_collection_id));
        jw_kstr(w, "snippet", snippet(c, &qw, s, &hits[i]));
        jw_obj_close(w);
    }
    jw_arr_close(w);
    for (int i = 0; i < ss->n; i++)
        json_decref(ss->s[i].json);
    c->out->list = true;
    c->out->next_cursor =
        nh > limit ? cursor_encode(c->a, c->ws, r, phases[hphase[shown - 1]], &hits[shown - 1], &sq)
                   : NULL;
    return 0;
}
