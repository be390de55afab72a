/* analytics.c - analytics governance beyond the generic engine: the
 * properties a workspace registers, the event definitions that list them,
 * and validating a payload against a definition.
 *
 * A property's key and an event's name are identifiers (no spaces at the
 * ends, no control characters); an event lists registered keys only, each
 * once (400 naming properties[i]); a property an event lists cannot be
 * deleted (409) while it does, so a definition never names a key that is
 * gone. Validate stores nothing and runs where reads run, with no writer
 * involved: one read of the definition by its unique name and one read of
 * the properties it lists (their unique keys, one IN), kept by each thread
 * for DEFS_KEEP_MS and forgotten sooner when this node writes a definition
 * or a property (another node's write shows within DEFS_KEEP_MS, as a
 * revoked key does). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "core/timeutil.h"
#include "resources/engine.h"
#include "resources/hooks.h"

/* An event lists at most this many properties (resources.def), so that
 * validate reads them all in one statement (SF_IN takes 100). */
#define AEVENT_MAX_PROPS 100

/* Bumped by every write of a definition or a property on this node, as
 * it starts and again once its transaction committed: threads' kept
 * definitions older than it are read again. The second bump drops what a
 * validate read meanwhile, before the write's answer goes out. */
static atomic_uint_fast64_t defs_gen = 1;
static _Thread_local bool defs_touched; /* this thread's transaction wrote some */

static void defs_changed(void)
{
    atomic_fetch_add(&defs_gen, 1);
    defs_touched = true;
}

void analytics_committed(void)
{
    if (!defs_touched) return;
    defs_touched = false;
    atomic_fetch_add(&defs_gen, 1);
}

static bool ident_ok(const char *s, bool spaces)
{
    unsigned char f = (unsigned char)s[0];
    if (!((f >= 'a' && f <= 'z') || (f >= 'A' && f <= 'Z') || f == '_' || f == '$')) return false;
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || strchr("_.-$:", ch) || (spaces && ch == ' ');
        if (!ok || !ch) return false;
    }
    return s[strlen(s) - 1] != ' ';
}

static int aprop_before(res_write *w)
{
    defs_changed();
    if (w->set[APROP_key] && !ident_ok(engine_text(w->row, APROP_key), false))
        return engine_fail(w->c, EK_INVALID, "key",
                           "key must start with a letter, '_' or '$' and hold only letters, "
                           "digits, '_', '.', '-', ':' and '$'");
    return 0;
}

typedef struct key_use {
    const char *key, *by;
} key_use;

static int lists_key(engine_call *c, const res_row *row, void *ud)
{
    key_use *u = ud;
    json_t *items = engine_items(row, AEVENT_properties);
    size_t k;
    json_t *v;
    bool found = false;
    json_array_foreach(items, k, v) found |=
        json_is_string(v) && !strcasecmp(json_string_value(v), u->key);
    json_decref(items);
    if (found) u->by = arena_strdup(c->a, engine_text(row, AEVENT_name));
    return found;
}

/* Whether an event definition lists key: a scan of the workspace's
 * definitions, a page at a time (a delete of a property is rare). */
static int key_in_use(engine_call *c, const char *key, const char **by)
{
    store_query sq = {.limit = 500, .link_field = -1, .ascending = true};
    key_use u = {.key = key};
    if (engine_each_row(c, RES(AEVENT), &sq, lists_key, &u)) return -1;
    *by = u.by;
    return u.by != NULL;
}

static int aprop_before_delete(res_write *w)
{
    defs_changed();
    const char *by = NULL;
    int rc = key_in_use(w->c, engine_text(w->row, APROP_key), &by);
    if (rc < 0) return -1;
    if (rc)
        return engine_fail(w->c, EK_CONFLICT, NULL,
                           "event '%s' lists this property: remove it there first", by);
    return 0;
}

const res_hooks aprop_hooks = {.before_write = aprop_before, .before_delete = aprop_before_delete};

static int aevent_before(res_write *w)
{
    engine_call *c = w->c;
    defs_changed();
    if (w->set[AEVENT_name] && !ident_ok(engine_text(w->row, AEVENT_name), true))
        return engine_fail(c, EK_INVALID, "name",
                           "name must start with a letter, '_' or '$' and hold only letters, "
                           "digits, spaces, '_', '.', '-', ':' and '$'");
    if (!w->set[AEVENT_properties]) return 0;
    json_t *items = engine_items(w->row, AEVENT_properties);
    size_t i;
    json_t *v;
    int rc = 0;
    json_array_foreach(items, i, v)
    {
        const char *key = json_string_value(v);
        char param[48];
        snprintf(param, sizeof param, "properties[%zu]", i);
        for (size_t k = 0; k < i && !rc; k++)
            if (!strcasecmp(json_string_value(json_array_get(items, k)), key))
                rc = engine_fail(c, EK_INVALID, arena_strdup(c->a, param),
                                 "%s: '%s' is listed twice", param, key);
        res_row prop;
        if (!rc) {
            int found = engine_find_by(c, RES(APROP), APROP_key, key, &prop);
            if (found < 0)
                rc = -1;
            else if (!found)
                rc = engine_fail(c, EK_INVALID, arena_strdup(c->a, param),
                                 "%s: no property '%s' is registered (POST "
                                 "/v1/analytics/properties first)",
                                 param, key);
        }
        if (rc) break;
    }
    json_decref(items);
    return rc;
}

static int aevent_before_delete(res_write *w)
{
    (void)w;
    defs_changed();
    return 0;
}

const res_hooks aevent_hooks = {.before_write = aevent_before,
                                .before_delete = aevent_before_delete};

/* ------------------------------------------------------------- validate */

static bool type_ok(const char *type, json_t *v)
{
    if (!strcmp(type, "string")) return json_is_string(v);
    if (!strcmp(type, "integer"))
        return json_is_integer(v) ||
               (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v) &&
                fabs(json_real_value(v)) < 9.007199254740992e15);
    if (!strcmp(type, "number")) return json_is_number(v);
    if (!strcmp(type, "boolean")) return json_is_boolean(v);
    if (!strcmp(type, "datetime")) {
        int64_t ms;
        return json_is_string(v) && time_parse(json_string_value(v), &ms);
    }
    if (!strcmp(type, "object")) return json_is_object(v);
    if (!strcmp(type, "array")) return json_is_array(v);
    return false;
}

static void error_item(jw *w, const char *param, const char *code, const char *msg)
{
    jw_obj_open(w);
    jw_kstr(w, "param", param);
    jw_kstr(w, "code", code);
    jw_kstr(w, "message", msg);
    jw_obj_close(w);
}

/* An event definition as validate reads it: the keys it lists, each with
 * its property's type and whether it is required (type NULL: no such
 * property), kept per thread in one block of memory. */
typedef struct evdef {
    char ws[ID_MAX];
    const char *name;
    uint64_t gen, at_ms;
    int n;
    const char **key, **type;
    bool *required;
} evdef;

#define DEFS_KEEP_MS 1000
#define DEFS_SLOTS   64 /* per thread; a name's slot is its hash's */

typedef struct defs_cache {
    evdef *slot[DEFS_SLOTS];
} defs_cache;

static pthread_key_t defs_key;
static pthread_once_t defs_once = PTHREAD_ONCE_INIT;

static void defs_free(void *p)
{
    defs_cache *dc = p;
    for (int i = 0; i < DEFS_SLOTS; i++)
        free(dc->slot[i]);
    free(dc);
}

static void defs_key_make(void)
{
    if (pthread_key_create(&defs_key, defs_free)) abort();
}

static defs_cache *defs_mine(void)
{
    pthread_once(&defs_once, defs_key_make);
    defs_cache *dc = pthread_getspecific(defs_key);
    if (!dc && (dc = calloc(1, sizeof *dc)) && pthread_setspecific(defs_key, dc)) {
        free(dc);
        dc = NULL;
    }
    return dc;
}

static unsigned defs_hash(const char *ws, const char *name)
{
    return (unsigned)(hash_more(hash_str(ws), name) % DEFS_SLOTS);
}

/* A copy of the definition in one block (freed whole). */
static evdef *defs_copy(const char *ws, const char *name, int n, const char *const *key,
                        const char *const *type, const bool *required)
{
    size_t len = sizeof(evdef) + (size_t)n * (2 * sizeof(char *) + sizeof(bool)) + strlen(name) + 1;
    for (int i = 0; i < n; i++)
        len += strlen(key[i]) + 1 + (type[i] ? strlen(type[i]) + 1 : 0);
    evdef *d = malloc(len);
    if (!d) return NULL;
    *d = (evdef){.n = n};
    snprintf(d->ws, sizeof d->ws, "%s", ws);
    d->key = (const char **)(d + 1);
    d->type = d->key + n;
    d->required = (bool *)(d->type + n);
    char *p = (char *)(d->required + n);
    size_t k = strlen(name) + 1;
    d->name = memcpy(p, name, k);
    p += k;
    for (int i = 0; i < n; i++) {
        d->required[i] = required[i];
        k = strlen(key[i]) + 1;
        d->key[i] = memcpy(p, key[i], k);
        p += k;
        d->type[i] = NULL;
        if (type[i]) {
            k = strlen(type[i]) + 1;
            d->type[i] = memcpy(p, type[i], k);
            p += k;
        }
    }
    return d;
}

/* The definition named name, as this thread last read it when still
 * fresh, or read now (one read of the event, one of its properties); NULL
 * with the call's error set (404 when there is none). */
static const evdef *defs_get(engine_call *c, const char *name)
{
    uint64_t gen = atomic_load(&defs_gen), now = time_now_ms();
    defs_cache *dc = defs_mine();
    evdef **slot = dc ? &dc->slot[defs_hash(c->ws, name)] : NULL;
    evdef *d = slot ? *slot : NULL;
    if (d && d->gen == gen && now - d->at_ms < DEFS_KEEP_MS && !strcmp(d->ws, c->ws) &&
        !strcmp(d->name, name))
        return d;
    res_row ev;
    int found = engine_find_by(c, RES(AEVENT), AEVENT_name, name, &ev);
    if (found < 0) return NULL;
    if (!found) {
        engine_fail(c, EK_NOT_FOUND, "name", "no analytics event named '%s' is defined", name);
        return NULL;
    }
    json_t *listed = engine_items(&ev, AEVENT_properties);
    int n = (int)json_array_size(listed);
    const char **key = arena_zalloc(c->a, sizeof *key * (size_t)(n ? n : 1));
    const char **type = arena_zalloc(c->a, sizeof *type * (size_t)(n ? n : 1));
    bool *required = arena_zalloc(c->a, sizeof *required * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        const char *k = json_string_value(json_array_get(listed, (size_t)i));
        key[i] = arena_strdup(c->a, k ? k : "");
    }
    json_decref(listed);
    if (n) {
        /* Every listed property in one read: key IN (...). */
        store_val *in = arena_alloc(c->a, sizeof *in * (size_t)n);
        for (int i = 0; i < n; i++)
            in[i] = sv_text(key[i]);
        store_filter f = {.field = APROP_key, .op = SF_IN, .in = in, .nin = n};
        store_query sq = {
            .filters = &f, .nfilters = 1, .limit = AEVENT_MAX_PROPS, .link_field = -1};
        res_row *rows;
        int m;
        bool more;
        store_err e;
        int rc = store_rec_list(c->conn, c->a, RES(APROP), c->ws, &sq, &rows, &m, &more, &e);
        if (rc) {
            engine_store_fail(c, rc, &e);
            return NULL;
        }
        for (int i = 0; i < n; i++)
            for (int k = 0; k < m && !type[i]; k++)
                if (!strcasecmp(engine_text(&rows[k], APROP_key), key[i])) {
                    type[i] = engine_text(&rows[k], APROP_type);
                    required[i] = engine_int(&rows[k], APROP_required, 0) != 0;
                }
    }
    evdef *copy = slot ? defs_copy(c->ws, name, n, key, type, required) : NULL;
    if (!copy) {
        /* Not kept (no memory): this call's own, in its arena. */
        evdef *own = arena_zalloc(c->a, sizeof *own);
        *own = (evdef){.name = name, .n = n, .key = key, .type = type, .required = required};
        return own;
    }
    copy->gen = gen;
    copy->at_ms = now;
    free(*slot);
    *slot = copy;
    return copy;
}

int aevent_validate(engine_call *c)
{
    if (engine_params_check(c)) return -1;
    json_t *body = c->body, *jname = NULL, *props = NULL;
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (!strcmp(k, "name"))
            jname = v;
        else if (!strcmp(k, "properties"))
            props = v;
        else
            return engine_fail(c, EK_INVALID, k, "unknown field '%s'", k);
    }
    if (!jname || json_is_null(jname))
        return engine_fail(c, EK_INVALID, "name", "name is required");
    if (!json_is_string(jname) || !json_string_length(jname))
        return engine_fail(c, EK_INVALID, "name", "name must be a non-empty string");
    if (props && !json_is_null(props) && !json_is_object(props))
        return engine_fail(c, EK_INVALID, "properties", "properties must be an object");
    if (props && json_object_size(props) > 200)
        return engine_fail(c, EK_INVALID, "properties", "properties holds more than 200 members");
    const char *name = json_string_value(jname);
    const evdef *d = defs_get(c, name);
    if (!d) return -1;
    size_t n = (size_t)d->n;
    /* The errors first, aside: "valid" comes before them. */
    buf eb;
    buf_init(&eb, ENGINE_MAX_DATA);
    jw ew, *w = &ew;
    jw_init(w, &eb);
    jw_arr_open(w);
    int nerr = 0;
    char param[160], msg[400];
    /* In the definition's order: missing and mistyped ones. */
    for (size_t i = 0; i < n; i++) {
        const char *key = d->key[i];
        json_t *val = props ? json_object_get(props, key) : NULL;
        snprintf(param, sizeof param, "properties.%.140s", key);
        if (!val || json_is_null(val)) {
            if (d->required[i]) {
                snprintf(msg, sizeof msg, "%.140s is required", key);
                error_item(w, param, "missing_property", msg);
                nerr++;
            }
            continue;
        }
        const char *type = d->type[i];
        if (type && !type_ok(type, val)) {
            snprintf(msg, sizeof msg, "%.140s must be %s %s", key,
                     strchr("aeiou", type[0]) ? "an" : "a", type);
            error_item(w, param, "invalid_type", msg);
            nerr++;
        }
    }
    /* Then what the definition does not list, in the payload's order. */
    if (props && json_is_object(props)) {
        const char *pk;
        json_t *pv;
        json_object_foreach(props, pk, pv)
        {
            bool known = false;
            for (size_t i = 0; i < n && !known; i++)
                known = !strcmp(d->key[i], pk);
            if (known) continue;
            snprintf(param, sizeof param, "properties.%.140s", pk);
            snprintf(msg, sizeof msg, "%.140s is not a property of %.200s", pk, name);
            error_item(w, param, "unexpected_property", msg);
            nerr++;
        }
    }
    jw_arr_close(w);
    w = engine_answer(c);
    jw_obj_open(w);
    jw_kbool(w, "valid", nerr == 0);
    jw_key(w, "errors");
    jw_raw(w, eb.data, eb.len);
    jw_kstr(w, "request_id", c->trace);
    jw_obj_close(w);
    buf_free(&eb);
    return 0;
}
