/* integrations.c - event types, webhooks, their deliveries and the change
 * feed, all read from the event log the engine writes in each write's
 * transaction.
 *
 * The catalogue of event types is the table's: every resource that
 * appends events has its created, updated and deleted, and the events its
 * hooks append (res_def.events), each in its module's category with the
 * OpenAPI schema of its data; a workspace registers more of its own.
 *
 * A webhook keeps a cursor in the log (dispatched_sequence, hidden). At
 * the end of every writer batch, inside its transaction, and once a
 * second from the timers, the dispatch (integrations_dispatch) reads the
 * workspace's events past the lowest cursor and queues a delivery (a
 * webhook-deliveries record holding the exact body to send) for each
 * endpoint whose event types match and whose field filter lets it
 * through, then moves the cursors: the deliveries and the cursor commit
 * together, so an event is queued once, and one committed is never
 * missed. The worker (events/webhooks.c) sends them.
 *
 * Signing secrets are `whsec_` + base64 of 32 random bytes, stored sealed
 * (core/crypto.h); the whole secret is answered once, at create and at
 * rotation. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/timeutil.h"
#include "events/http_out.h"
#include "resources/engine.h"
#include "resources/hooks.h"

#define REGISTERED_MAX  1000  /* event types a workspace may register */
#define DISPATCH_EVENTS 1000  /* events one dispatch reads; the next goes on */
#define REPLAY_MAX      10000 /* deliveries one replay queues */
#define WEBHOOKS_MAX    100   /* endpoints of a workspace (dispatch reads them in one page) */
#define ROTATION_MS     (24ll * 3600 * 1000)

static bool allow_private;

void engine_allow_private_urls(bool on)
{
    allow_private = on;
}

/* ------------------------------------------------------------ catalogue */

typedef struct evtype {
    char key[128];
    const char *category;
    char schema[160];
} evtype;

/* A built-in's id in workspace ws: iet_ + 26 characters of a hash of
 * both, the same on every call and never another workspace's. */
static void builtin_id(const char *ws, const evtype *t, char out[ID_MAX])
{
    static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    char in[ID_MAX + 130], hex[TOKEN_HASH_HEX];
    int n = snprintf(in, sizeof in, "%s|%s", ws, t->key);
    sha256_hex(in, (size_t)n, hex);
    char *o = out + snprintf(out, ID_MAX, "%s_", RES(EVTYPE)->prefix);
    for (int i = 0; i < ID_BODY_LEN; i++)
        *o++ = crockford[(hex[i] >= 'a' ? hex[i] - 'a' + 10 : hex[i] - '0') & 31];
    *o = '\0';
}

static evtype *builtins;
static int nbuiltins;
static pthread_once_t catalogue_once = PTHREAD_ONCE_INIT;

static int evtype_cmp(const void *a, const void *b)
{
    return strcmp(((const evtype *)a)->key, ((const evtype *)b)->key);
}

static void add_builtin(int *cap, const char *singular, const char *what, const char *category,
                        const char *schema)
{
    if (nbuiltins == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        builtins = realloc(builtins, sizeof *builtins * (size_t)*cap);
        if (!builtins) abort();
    }
    evtype *t = &builtins[nbuiltins++];
    snprintf(t->key, sizeof t->key, "%s.%s", singular, what);
    t->category = category;
    snprintf(t->schema, sizeof t->schema, "%s", schema);
}

static void build_catalogue(void)
{
    int cap = 0;
    static const char *const generic[] = {"created", "updated", "deleted"};
    for (int i = 0; i < res_count; i++) {
        const res_def *r = res_table[i];
        if (r->log) continue;
        char schema[160];
        snprintf(schema, sizeof schema, "/v1/openapi.json#/components/schemas/%s", r->schema);
        /* A read-only resource has only the events its hooks append. */
        for (int k = 0; k < 3 && !r->read_only; k++)
            add_builtin(&cap, r->singular, generic[k], res_module_names[r->module], schema);
        for (int k = 0; k < 8 && r->events[k]; k++)
            add_builtin(&cap, r->singular, r->events[k], res_module_names[r->module], schema);
    }
    add_builtin(&cap, "webhook", "test", res_module_names[MOD_INTEGRATIONS], "");
    qsort(builtins, (size_t)nbuiltins, sizeof *builtins, evtype_cmp);
}

static const evtype *catalogue(int *n)
{
    pthread_once(&catalogue_once, build_catalogue);
    *n = nbuiltins;
    return builtins;
}

static bool is_builtin(const char *key)
{
    int n;
    const evtype *all = catalogue(&n);
    evtype k;
    snprintf(k.key, sizeof k.key, "%s", key);
    return bsearch(&k, all, (size_t)n, sizeof *all, evtype_cmp) != NULL;
}

/* At least `min` words of [a-z0-9_] joined by dots. */
static bool words_ok(const char *k, int min)
{
    int words = 0;
    size_t len = 0;
    for (const char *p = k;; p++) {
        if (*p == '.' || !*p) {
            if (len == 0) return false;
            words++;
            len = 0;
            if (!*p) break;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_') {
            len++;
        } else {
            return false;
        }
    }
    return words >= min && strlen(k) <= 100;
}

/* A registered key: at least two words (external.publish.completed). */
static bool key_ok(const char *k)
{
    return words_ok(k, 2);
}

/* A type pattern: a key, "*", or words followed by ".*" (deal.*). */
static bool pattern_ok(const char *p)
{
    if (strcmp(p, "*") == 0) return true;
    size_t n = strlen(p);
    if (n > 2 && n < 100 && strcmp(p + n - 2, ".*") == 0) {
        char head[100];
        memcpy(head, p, n - 2);
        head[n - 2] = '\0';
        return words_ok(head, 1);
    }
    return key_ok(p);
}

static bool type_matches(const char *pattern, const char *type)
{
    size_t n = strlen(pattern);
    if (n == 1 && pattern[0] == '*') return true;
    if (n >= 2 && pattern[n - 1] == '*') return strncmp(pattern, type, n - 1) == 0;
    return strcmp(pattern, type) == 0;
}

/* The workspace's registered types (at most REGISTERED_MAX), by key. */
static int registered(engine_call *c, res_row **rows, int *n)
{
    store_query sq = {.sort_by = &RES(EVTYPE)->fields[EVTYPE_key],
                      .ascending = true,
                      .limit = REGISTERED_MAX,
                      .link_field = -1};
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, RES(EVTYPE), c->ws, &sq, rows, n, &more, &e);
    return rc ? engine_store_fail(c, rc, &e) : 0;
}

static int evtype_before_write(res_write *w)
{
    engine_call *c = w->c;
    if (!w->is_create) return 0;
    const char *key = engine_text(w->row, EVTYPE_key);
    if (!key_ok(key))
        return engine_fail(c, EK_INVALID, "key",
                           "key must be words of [a-z0-9_] joined by dots, at least two "
                           "(external.publish.completed)");
    if (is_builtin(key))
        return engine_fail(c, EK_CONFLICT, "key", "%s is a built-in event type", key);
    res_row *rows;
    int n;
    if (registered(c, &rows, &n)) return -1;
    if (n >= REGISTERED_MAX)
        return engine_fail(c, EK_CONFLICT, NULL, "a workspace registers at most %d event types",
                           REGISTERED_MAX);
    engine_set(w->row, w->set, EVTYPE_built_in, sv_int(0));
    return 0;
}

const res_hooks evtype_hooks = {.before_write = evtype_before_write};

/* An item of the merged list: a built-in or a registered row. */
typedef struct listed {
    const char *key, *category, *description;
    const evtype *builtin;
    const res_row *row; /* registered */
} listed;

static int listed_cmp(const void *a, const void *b)
{
    return strcmp(((const listed *)a)->key, ((const listed *)b)->key);
}

static bool contains_ci(const char *hay, const char *needle)
{
    if (!hay) return false;
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0) return true;
    return false;
}

/* A built-in as the list answers it. */
static void write_builtin(jw *w, const char *ws, const evtype *t)
{
    /* Cairn's own have no record: an id of their own and the epoch. */
    char id[ID_MAX];
    builtin_id(ws, t, id);
    jw_obj_open(w);
    jw_kstr(w, "id", id);
    jw_kstr(w, "object", RES(EVTYPE)->singular);
    jw_kstr(w, "category", t->category);
    jw_kstr(w, "key", t->key);
    jw_kstr(w, "description", NULL);
    jw_kbool(w, "built_in", true);
    jw_kstr(w, "payload_schema", t->schema[0] ? t->schema : NULL);
    jw_kstr(w, "created_at", "1970-01-01T00:00:00.000Z");
    jw_kstr(w, "updated_at", "1970-01-01T00:00:00.000Z");
    jw_obj_close(w);
}

/* GET /v1/integrations/events: built-in and registered types by key; the
 * cursor is the last key of the page. */
int evtypes_list(engine_call *c)
{
    store_val q[EVTQ__COUNT];
    bool set[EVTQ__COUNT];
    int limit;
    if (engine_parse_query_fields(c, c->action->query, c->action->nquery, q, set)) return -1;
    if (engine_parse_limit(c, &limit)) return -1;
    const char *cursor = set[EVTQ_cursor] ? q[EVTQ_cursor].s : NULL;
    if (engine_params_check(c)) return -1;
    if (cursor && (strncmp(cursor, "k.", 2) != 0 || strlen(cursor) > 130))
        return engine_fail(c, EK_INVALID, "cursor", "cursor is not one this list gave");
    const char *after = cursor ? cursor + 2 : NULL;
    const char *query = set[EVTQ_query] ? q[EVTQ_query].s : NULL;
    const char *category = set[EVTQ_category] ? q[EVTQ_category].s : NULL;
    res_row *rows;
    int nrows, nb;
    if (registered(c, &rows, &nrows)) return -1;
    const evtype *all = catalogue(&nb);
    listed *items = arena_alloc(c->a, sizeof *items * (size_t)(nb + nrows + 1));
    int n = 0;
    for (int i = 0; i < nb; i++)
        items[n++] = (listed){all[i].key, all[i].category, NULL, &all[i], NULL};
    for (int i = 0; i < nrows; i++)
        items[n++] =
            (listed){engine_text(&rows[i], EVTYPE_key), engine_text(&rows[i], EVTYPE_category),
                     engine_text(&rows[i], EVTYPE_description), NULL, &rows[i]};
    qsort(items, (size_t)n, sizeof *items, listed_cmp);
    jw *w = engine_answer(c);
    jw_arr_open(w);
    int shown = 0;
    const char *last = NULL;
    bool more = false;
    for (int i = 0; i < n; i++) {
        const listed *it = &items[i];
        if (after && strcmp(it->key, after) <= 0) continue;
        if (category && strcmp(it->category, category) != 0) continue;
        if (query && !contains_ci(it->key, query) && !contains_ci(it->description, query)) continue;
        if (shown == limit) {
            more = true;
            break;
        }
        if (it->row)
            engine_write_row(w, RES(EVTYPE), it->row);
        else
            write_builtin(w, c->ws, it->builtin);
        last = it->key;
        shown++;
    }
    jw_arr_close(w);
    c->out->list = true;
    c->out->next_cursor = more ? arena_printf(c->a, "k.%s", last) : NULL;
    return 0;
}

/* GET /v1/integrations/events/{id}: a built-in by its id, or a
 * registered one. */
int evtype_get(engine_call *c)
{
    if (engine_params_check(c)) return -1;
    int n;
    const evtype *all = catalogue(&n);
    for (int i = 0; i < n; i++) {
        char id[ID_MAX];
        builtin_id(c->ws, &all[i], id);
        if (strcmp(id, c->ids[0]) == 0) {
            write_builtin(engine_answer(c), c->ws, &all[i]);
            return 0;
        }
    }
    res_row row;
    if (engine_load(c, RES(EVTYPE), c->ids[0], NULL, &row)) return -1;
    return engine_respond(c, RES(EVTYPE), &row, EK_OK);
}

/* Whether a pattern matches a built-in or a registered type. */
static bool pattern_known(const char *p, const res_row *rows, int nrows)
{
    int n;
    const evtype *all = catalogue(&n);
    for (int i = 0; i < n; i++)
        if (type_matches(p, all[i].key)) return true;
    for (int i = 0; i < nrows; i++)
        if (type_matches(p, engine_text(&rows[i], EVTYPE_key))) return true;
    return false;
}

/* ------------------------------------------------------------ the feed */

/* "types" of the feed: comma-separated patterns into the arena. */
static int parse_types(engine_call *c, const char *s, const char ***out, int *n)
{
    *n = 0;
    *out = NULL;
    if (!s) return 0;
    int cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    if (cap > 50) return engine_fail(c, EK_INVALID, "types", "types lists at most 50 patterns");
    const char **v = arena_alloc(c->a, sizeof *v * (size_t)cap);
    for (const char *p = s;;) {
        size_t len = strcspn(p, ",");
        char *t = arena_strndup(c->a, p, len);
        if (!pattern_ok(t))
            return engine_fail(c, EK_INVALID, "types",
                               "types: '%.100s' is not an event type or a wildcard (deal.*)", t);
        v[(*n)++] = t;
        if (!p[len]) break;
        p += len + 1;
    }
    *out = v;
    return 0;
}

/* A sequence: digits only, within 64 bits. */
static bool parse_seq(const char *s, int64_t *out)
{
    if (!*s || strlen(s) > 18) return false;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return true;
}

/* The feed's item: the event as the log keeps it. */
static void write_event(jw *w, const store_event *ev)
{
    char t[TIME_STR];
    jw_obj_open(w);
    jw_kstr(w, "id", ev->id);
    jw_kstr(w, "object", "event");
    jw_kint(w, "sequence", ev->seq);
    jw_kstr(w, "type", ev->type);
    jw_kstr(w, "resource_type", ev->res_type);
    jw_kstr(w, "resource_id", ev->res_id);
    jw_key(w, "data");
    jw_raw(w, ev->data, strlen(ev->data));
    jw_key(w, "changes");
    if (ev->changes)
        jw_raw(w, ev->changes, strlen(ev->changes));
    else
        jw_null(w);
    jw_kstr(w, "actor_key_id", ev->actor);
    time_format_ms((uint64_t)ev->created_ms, t);
    jw_kstr(w, "occurred_at", t);
    jw_obj_close(w);
}

/* GET /v1/events: the workspace's events after a sequence, in order. The
 * cursor is the last sequence of the page; `wait` is the transport's (a
 * long poll re-runs the call when the page was empty). */
int events_feed(engine_call *c)
{
    store_val q[FEEDQ__COUNT];
    bool set[FEEDQ__COUNT];
    int limit;
    if (engine_parse_query_fields(c, c->action->query, c->action->nquery, q, set)) return -1;
    if (engine_parse_limit(c, &limit)) return -1;
    const char *cursor = set[FEEDQ_cursor] ? q[FEEDQ_cursor].s : NULL;
    if (engine_params_check(c)) return -1;
    store_feed_query fq = {.limit = limit};
    if (cursor && !parse_seq(cursor, &fq.after))
        return engine_fail(c, EK_INVALID, "cursor", "cursor is not one this list gave");
    if (set[FEEDQ_after]) {
        if (cursor) return engine_fail(c, EK_INVALID, "after", "give after or cursor, not both");
        const char *a = q[FEEDQ_after].s;
        if (!parse_seq(a, &fq.after)) {
            store_err e;
            int rc = store_event_seq(c->conn, c->ws, a, &fq.after, &e);
            if (rc == STORE_NOTFOUND)
                return engine_fail(c, EK_INVALID, "after",
                                   "after must be a sequence or the id of an event of this "
                                   "workspace");
            if (rc) return engine_store_fail(c, rc, &e);
        }
    }
    if (parse_types(c, set[FEEDQ_types] ? q[FEEDQ_types].s : NULL, (const char ***)&fq.types,
                    &fq.ntypes))
        return -1;
    fq.resource_id = set[FEEDQ_resource_id] ? q[FEEDQ_resource_id].s : NULL;
    store_event *ev;
    int n;
    bool more;
    store_err e;
    int rc = store_event_feed(c->conn, c->a, c->ws, &fq, &ev, &n, &more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    jw *w = engine_answer(c);
    jw_arr_open(w);
    for (int i = 0; i < n; i++)
        write_event(w, &ev[i]);
    jw_arr_close(w);
    c->out->list = true;
    c->out->next_cursor = more ? arena_printf(c->a, "%" PRId64, ev[n - 1].seq) : NULL;
    return 0;
}

/* ------------------------------------------------------------ the worker's wake-up */

/* Workspaces with deliveries queued by this process since the worker last
 * looked; the writer pokes it after its commit (integrations_poke). */
#define PENDING_MAX 256
static struct {
    pthread_mutex_t mu;
    char ws[PENDING_MAX][ID_MAX];
    int n;
    bool overflow, poked;
} pending = {PTHREAD_MUTEX_INITIALIZER};

void integrations_notify(const char *ws)
{
    pthread_mutex_lock(&pending.mu);
    bool seen = false;
    for (int i = 0; i < pending.n && !seen; i++)
        seen = strcmp(pending.ws[i], ws) == 0;
    if (!seen) {
        if (pending.n < PENDING_MAX)
            snprintf(pending.ws[pending.n++], ID_MAX, "%s", ws);
        else
            pending.overflow = true;
    }
    pthread_mutex_unlock(&pending.mu);
}

static void (*waker)(void *ud);
static void *waker_ud;

void integrations_set_waker(void (*fn)(void *ud), void *ud)
{
    pthread_mutex_lock(&pending.mu);
    waker = fn;
    waker_ud = ud;
    pthread_mutex_unlock(&pending.mu);
}

void integrations_poke(void)
{
    pthread_mutex_lock(&pending.mu);
    bool wake = pending.n || pending.overflow;
    pending.poked |= wake;
    void (*fn)(void *) = wake ? waker : NULL;
    void *ud = waker_ud;
    pthread_mutex_unlock(&pending.mu);
    if (fn) fn(ud);
}

int integrations_take(char (*ws)[ID_MAX], int cap, bool *all)
{
    pthread_mutex_lock(&pending.mu);
    int n = 0;
    *all = pending.overflow;
    if (pending.poked) {
        for (; n < pending.n && n < cap; n++)
            memcpy(ws[n], pending.ws[n], ID_MAX);
        *all |= n < pending.n;
        pending.n = 0;
        pending.overflow = pending.poked = false;
    }
    pthread_mutex_unlock(&pending.mu);
    return n;
}

/* ------------------------------------------------------------ webhooks */

/* Which workspaces have endpoints to dispatch to: looked up at most once
 * a second per workspace that has some and every 10 s for one that has
 * none, and again at once after this process changed one. Another node's
 * new endpoint is seen within 10 s; its cursor starts where it was
 * created, so nothing in between is lost, only late. */
#define WS_CACHE 1024
static struct {
    char ws[ID_MAX];
    bool has;
    int64_t checked_ms;
} ws_cache[WS_CACHE];
static pthread_mutex_t ws_cache_mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned ws_slot(const char *ws)
{
    return (unsigned)(hash_str(ws) % WS_CACHE);
}

static void ws_forget(const char *ws)
{
    pthread_mutex_lock(&ws_cache_mu);
    ws_cache[ws_slot(ws)].ws[0] = '\0';
    pthread_mutex_unlock(&ws_cache_mu);
}

/* 1 yes, 0 no, -1 not known (look it up). */
static int ws_known(const char *ws, int64_t now)
{
    pthread_mutex_lock(&ws_cache_mu);
    unsigned i = ws_slot(ws);
    /* A workspace without endpoints is asked again after 10 s, one with
     * them after 1 s: writes on this node forget the answer at once. */
    int64_t ttl = ws_cache[i].has ? 1000 : 10000;
    int v = strcmp(ws_cache[i].ws, ws) == 0 && now - ws_cache[i].checked_ms < ttl ? ws_cache[i].has
                                                                                  : -1;
    pthread_mutex_unlock(&ws_cache_mu);
    return v;
}

static void ws_note(const char *ws, bool has, int64_t now)
{
    pthread_mutex_lock(&ws_cache_mu);
    unsigned i = ws_slot(ws);
    snprintf(ws_cache[i].ws, sizeof ws_cache[i].ws, "%s", ws);
    ws_cache[i].has = has;
    ws_cache[i].checked_ms = now;
    pthread_mutex_unlock(&ws_cache_mu);
}

bool integrations_has_webhooks(const char *ws)
{
    return ws_known(ws, (int64_t)time_now_ms()) != 0;
}

static bool has_status(const res_row *row, const char *status)
{
    const char *s = engine_text(row, WEBHOOK_status);
    return s && strcmp(s, status) == 0;
}

/* "whsec_" + base64 of 32 random bytes. */
static char *new_secret(arena *a)
{
    unsigned char raw[32];
    rand_bytes(raw, sizeof raw);
    char *s = arena_alloc(a, 6 + B64_LEN(sizeof raw) + 1);
    memcpy(s, "whsec_", 6);
    b64_encode(raw, sizeof raw, s + 6);
    return s;
}

static const char *preview(arena *a, const char *secret)
{
    size_t n = strlen(secret);
    return arena_printf(a, "%.10s...%s", secret, secret + n - 4);
}

/* The last sequence of the workspace: a new cursor starts there. */
static int last_seq(engine_call *c, int64_t *seq)
{
    store_err e;
    int rc = store_event_seq(c->conn, c->ws, NULL, seq, &e);
    return rc ? engine_store_fail(c, rc, &e) : 0;
}

static int check_event_types(engine_call *c, const res_row *row)
{
    json_t *types = engine_items(row, WEBHOOK_event_types);
    res_row *rows = NULL;
    int nrows = 0, rc = 0;
    if (json_array_size(types) == 0)
        rc = engine_fail(c, EK_INVALID, "event_types", "event_types needs at least one type");
    if (!rc) rc = registered(c, &rows, &nrows);
    size_t i;
    json_t *t;
    json_array_foreach(types, i, t)
    {
        if (rc) break;
        const char *p = json_string_value(t);
        if (!p || !pattern_ok(p))
            rc = engine_fail(c, EK_INVALID, "event_types",
                             "event_types[%zu] is not an event type or a wildcard (deal.*)", i);
        else if (!pattern_known(p, rows, nrows))
            rc = engine_fail(c, EK_INVALID, "event_types",
                             "event_types[%zu]: %s matches no known event type (see GET "
                             "/v1/integrations/events)",
                             i, p);
    }
    json_decref(types);
    return rc;
}

/* fields: {"contact": ["email", ...]}: known record types and fields. */
static int check_fields(engine_call *c, const res_row *row)
{
    const char *text = engine_text(row, WEBHOOK_fields);
    if (!text) return 0;
    json_t *o = json_loads(text, 0, NULL);
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(o, k, v)
    {
        const res_def *r = res_find_singular(k);
        if (!r || r->log) {
            rc = engine_fail(c, EK_INVALID, arena_printf(c->a, "fields.%s", k),
                             "fields.%s: no record type of that name (contact, deal, ...)", k);
            break;
        }
        if (json_array_size(v) == 0) {
            rc = engine_fail(c, EK_INVALID, arena_printf(c->a, "fields.%s", k),
                             "fields.%s lists no field: leave %s out to have every update", k, k);
            break;
        }
        size_t i;
        json_t *f;
        json_array_foreach(v, i, f)
        {
            int fi = res_field_index(r, json_string_value(f));
            if (strcmp(json_string_value(f), "custom_fields") != 0 &&
                (fi < 0 || (r->fields[fi].flags & RF_HIDDEN))) {
                rc = engine_fail(c, EK_INVALID, arena_printf(c->a, "fields.%s", k),
                                 "fields.%s: %s has no field %s", k, k, json_string_value(f));
                break;
            }
        }
        if (rc) break;
    }
    json_decref(o);
    return rc;
}

static int webhook_before_write(res_write *w)
{
    engine_call *c = w->c;
    if (w->set[WEBHOOK_url]) {
        char why[200];
        if (!http_out_check_url(engine_text(w->row, WEBHOOK_url), allow_private, why, sizeof why))
            return engine_fail(c, EK_INVALID, "url", "%s", why);
    }
    if (w->set[WEBHOOK_event_types] && check_event_types(c, w->row)) return -1;
    if (w->set[WEBHOOK_fields] && check_fields(c, w->row)) return -1;
    int64_t seq;
    if (w->is_create) {
        store_query sq = {.limit = WEBHOOKS_MAX, .link_field = -1};
        res_row *rows;
        int n;
        bool more;
        store_err e;
        int rc = store_rec_list(c->conn, c->a, RES(WEBHOOK), c->ws, &sq, &rows, &n, &more, &e);
        if (rc) return engine_store_fail(c, rc, &e);
        if (n >= WEBHOOKS_MAX)
            return engine_fail(c, EK_CONFLICT, NULL,
                               "a workspace has at most %d webhook endpoints: delete one first",
                               WEBHOOKS_MAX);
        const char *secret = new_secret(c->a);
        engine_set(w->row, w->set, WEBHOOK_secret, sv_text(crypto_seal(c->a, secret)));
        engine_set(w->row, w->set, WEBHOOK_signing_secret_preview, sv_text(preview(c->a, secret)));
        if (last_seq(c, &seq)) return -1;
        engine_set(w->row, w->set, WEBHOOK_dispatched_sequence, sv_int(seq));
        c->out->reveal_key = "signing_secret";
        c->out->reveal_val = secret;
    } else if (w->set[WEBHOOK_status] && has_status(w->old, "disabled") &&
               !has_status(w->row, "disabled")) {
        /* Back from disabled: what happened meanwhile was not queued. */
        if (last_seq(c, &seq)) return -1;
        engine_set(w->row, w->set, WEBHOOK_dispatched_sequence, sv_int(seq));
        engine_set(w->row, w->set, WEBHOOK_failing_since, (store_val){0});
        engine_set(w->row, w->set, WEBHOOK_disabled_reason, (store_val){0});
    }
    return 0;
}

static int webhook_after_write(res_write *w)
{
    ws_forget(w->c->ws);
    return 0;
}

static int webhook_after_delete(res_write *w)
{
    ws_forget(w->c->ws);
    return 0;
}

const res_hooks webhook_hooks = {.before_write = webhook_before_write,
                                 .after_write = webhook_after_write,
                                 .after_delete = webhook_after_delete};

/* GET /v1/webhooks: 004's filters, event_type matched as deliveries
 * match it (an endpoint of deal.* has deal.stage_changed). The
 * workspace's endpoints are read in pages of 100, newest first, and
 * filtered here; the cursor is the last id answered. */
int webhooks_list(engine_call *c)
{
    store_val q[WHQ__COUNT];
    bool set[WHQ__COUNT];
    int limit;
    if (engine_parse_query_fields(c, c->action->query, c->action->nquery, q, set) ||
        engine_parse_limit(c, &limit) || engine_params_check(c))
        return -1;
    const char *cursor = set[WHQ_cursor] ? q[WHQ_cursor].s : NULL;
    if (cursor && !id_valid(cursor, RES(WEBHOOK)->prefix))
        return engine_fail(c, EK_INVALID, "cursor", "cursor is not one this list gave");
    const char *type = set[WHQ_event_type] ? q[WHQ_event_type].s : NULL;
    if (type && !key_ok(type))
        return engine_fail(c, EK_INVALID, "event_type", "event_type is not an event type key");
    store_filter f[1];
    int nf = 0;
    if (set[WHQ_status]) f[nf++] = (store_filter){.field = WEBHOOK_status, .v = q[WHQ_status]};
    store_query sq = {.filters = f, .nfilters = nf, .limit = 100, .link_field = -1};
    if (set[WHQ_query]) sq.fts = q[WHQ_query].s;
    res_row *rows;
    int n, shown = 0;
    bool more = true, past = !cursor, full = false; /* past: below the cursor */
    const char *last = NULL;
    jw *w = engine_answer(c);
    jw_arr_open(w);
    while (more && !full) {
        store_err e;
        int rc = store_rec_list(c->conn, c->a, RES(WEBHOOK), c->ws, &sq, &rows, &n, &more, &e);
        if (rc) return engine_store_fail(c, rc, &e);
        for (int i = 0; i < n; i++) {
            /* Ids grow with time, as rids do: the page goes on below the
             * cursor's, also when that endpoint is gone meanwhile. */
            if (!past && strcmp(rows[i].id, cursor) >= 0) continue;
            past = true;
            if (type) {
                json_t *types = engine_items(&rows[i], WEBHOOK_event_types);
                bool hit = false;
                size_t k;
                json_t *t;
                json_array_foreach(types, k, t) hit |= type_matches(json_string_value(t), type);
                json_decref(types);
                if (!hit) continue;
            }
            if (shown == limit) {
                full = true;
                break;
            }
            engine_write_row(w, RES(WEBHOOK), &rows[i]);
            last = rows[i].id;
            shown++;
        }
        if (n) sq.after_rid = rows[n - 1].rid;
    }
    jw_arr_close(w);
    c->out->list = true;
    c->out->next_cursor = full ? arena_strdup(c->a, last) : NULL;
    return 0;
}

/* POST /v1/webhooks/{id}/rotate-secret */
int webhook_rotate(engine_call *c)
{
    const res_def *r = RES(WEBHOOK);
    res_row old;
    if (engine_params_check(c) || engine_load(c, r, c->ids[0], NULL, &old)) return -1;
    bool *set;
    res_row row = engine_copy_row(c, r, &old, &set);
    const char *secret = new_secret(c->a);
    int64_t until = (int64_t)time_now_ms() + ROTATION_MS;
    engine_set(&row, set, WEBHOOK_previous_secret, old.vals[WEBHOOK_secret]);
    engine_set(&row, set, WEBHOOK_previous_secret_until, sv_int(until));
    engine_set(&row, set, WEBHOOK_secret, sv_text(crypto_seal(c->a, secret)));
    engine_set(&row, set, WEBHOOK_signing_secret_preview, sv_text(preview(c->a, secret)));
    if (engine_update_row(c, r, &old, &row, set, NULL)) return -1;
    char t[TIME_STR];
    time_format_ms((uint64_t)until, t);
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "id", row.id);
    jw_kstr(w, "object", "webhook_secret");
    jw_kstr(w, "signing_secret", secret);
    jw_kstr(w, "signing_secret_preview", engine_text(&row, WEBHOOK_signing_secret_preview));
    jw_kstr(w, "previous_secret_expires_at", t);
    jw_obj_close(w);
    return 0;
}

/* ------------------------------------------------------------ deliveries */

/* The body of a delivery: {type, timestamp, sequence, data}; an update's
 * data carries previous_attributes, the changed fields' old values. */
static const char *payload(engine_call *c, const char *type, int64_t at_ms, int64_t seq,
                           const char *data, const char *changes)
{
    char t[TIME_STR];
    time_format_ms((uint64_t)at_ms, t);
    buf b;
    buf_init(&b, ENGINE_MAX_DATA);
    jw w;
    jw_init(&w, &b);
    jw_obj_open(&w);
    jw_kstr(&w, "type", type);
    jw_kstr(&w, "timestamp", t);
    jw_kint(&w, "sequence", seq);
    jw_key(&w, "data");
    json_t *prev = changes ? json_loads(changes, 0, NULL) : NULL;
    size_t n = strlen(data);
    if (json_object_size(prev) && n > 1 && data[n - 1] == '}') {
        jw_raw(&w, data, n - 1);
        buf_puts(&b, n > 2 ? ",\"previous_attributes\":{" : "\"previous_attributes\":{");
        const char *k;
        json_t *v;
        bool first = true;
        json_object_foreach(prev, k, v)
        {
            if (!first) buf_putc(&b, ',');
            first = false;
            jw_escape(&b, k, strlen(k));
            buf_putc(&b, ':');
            char *from = json_dumps(json_object_get(v, "from"), JSON_COMPACT | JSON_ENCODE_ANY);
            buf_puts(&b, from ? from : "null");
            free(from);
        }
        buf_puts(&b, "}}");
    } else {
        jw_raw(&w, data, n);
    }
    json_decref(prev);
    jw_obj_close(&w);
    const char *out = arena_strndup(c->a, b.data, b.len);
    buf_free(&b);
    return out;
}

/* Queues one delivery of webhook `wh`. */
static int queue(engine_call *c, const res_row *wh, const char *event_id, const char *type,
                 int64_t seq, const char *body, int64_t now, res_row *out)
{
    bool *set;
    res_row row = engine_new_row(c, RES(WHD), &set);
    engine_set(&row, set, WHD_webhook_id, sv_text(wh->id));
    engine_set(&row, set, WHD_event_id, sv_text(event_id));
    engine_set(&row, set, WHD_event_type, sv_text(type));
    engine_set(&row, set, WHD_sequence, sv_int(seq));
    engine_set(&row, set, WHD_status, sv_text("pending"));
    engine_set(&row, set, WHD_attempt_count, sv_int(0));
    engine_set(&row, set, WHD_next_attempt_at, sv_int(now));
    engine_set(&row, set, WHD_payload, sv_text(body));
    id_new(row.id, RES(WHD)->prefix);
    row.created_ms = row.updated_ms = now;
    store_err e;
    int rc = store_rec_insert(c->conn, RES(WHD), c->ws, &row, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    if (out) *out = row;
    return 0;
}

/* POST /v1/webhooks/{id}/test */
int webhook_test(engine_call *c)
{
    res_row wh, d;
    if (engine_params_check(c) || engine_load(c, RES(WEBHOOK), c->ids[0], NULL, &wh)) return -1;
    int64_t now = (int64_t)time_now_ms();
    char t[TIME_STR];
    time_format_ms((uint64_t)now, t);
    const char *data = arena_printf(c->a,
                                    "{\"object\":\"webhook_test\",\"webhook_id\":\"%s\","
                                    "\"message\":\"A test event sent by POST "
                                    "/v1/webhooks/{id}/test\",\"sent_at\":\"%s\"}",
                                    wh.id, t);
    if (queue(c, &wh, NULL, "webhook.test", 0, payload(c, "webhook.test", now, 0, data, NULL), now,
              &d))
        return -1;
    integrations_notify(c->ws);
    return engine_respond(c, RES(WHD), &d, EK_CREATED);
}

/* POST /v1/webhook-deliveries/{id}/retry: goes out at once, whatever its
 * status was. */
int delivery_retry(engine_call *c)
{
    const res_def *r = RES(WHD);
    res_row old;
    if (engine_params_check(c) || engine_load(c, r, c->ids[0], NULL, &old)) return -1;
    bool *set;
    res_row row = engine_copy_row(c, r, &old, &set);
    int64_t now = (int64_t)time_now_ms();
    engine_set(&row, set, WHD_status, sv_text("pending"));
    engine_set(&row, set, WHD_next_attempt_at, sv_int(now));
    row.updated_ms = now;
    store_err e;
    int rc = store_rec_update(c->conn, r, c->ws, &row, set, false, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    integrations_notify(c->ws);
    return engine_respond(c, r, &row, EK_OK);
}

/* Whether the event goes to the endpoint: its types, and for an update
 * its field filter for that record type (when it has one). */
static bool wanted(const res_row *wh, json_t *types, json_t *fields, const store_event *ev)
{
    size_t i;
    json_t *t;
    bool match = false;
    json_array_foreach(types, i, t)
    {
        if (type_matches(json_string_value(t), ev->type)) {
            match = true;
            break;
        }
    }
    if (!match) return false;
    const res_def *r = res_find(ev->res_type);
    json_t *want = r ? json_object_get(fields, r->singular) : NULL;
    size_t n = strlen(ev->type);
    if (!want || n < 8 || strcmp(ev->type + n - 8, ".updated") != 0) return true;
    json_t *changes = ev->changes ? json_loads(ev->changes, 0, NULL) : NULL;
    bool hit = false;
    json_array_foreach(want, i, t)
    {
        if (json_object_get(changes, json_string_value(t))) {
            hit = true;
            break;
        }
    }
    json_decref(changes);
    (void)wh;
    return hit;
}

/* An endpoint the dispatch or a replay feeds. */
typedef struct endpoint {
    res_row row;
    json_t *types, *fields;
    int64_t cursor;
    bool moved;
} endpoint;

static void endpoint_init(endpoint *ep, const res_row *row)
{
    ep->row = *row;
    ep->types = engine_items(row, WEBHOOK_event_types);
    const char *f = engine_text(row, WEBHOOK_fields);
    ep->fields = f ? json_loads(f, 0, NULL) : NULL;
    ep->cursor = engine_int(row, WEBHOOK_dispatched_sequence, 0);
    ep->moved = false;
}

static void endpoint_free(endpoint *ep)
{
    json_decref(ep->types);
    json_decref(ep->fields);
}

/* The workspace's endpoints that queue deliveries (active and paused). */
static int endpoints(engine_call *c, endpoint **out, int *n)
{
    store_val in[2] = {sv_text("active"), sv_text("paused")};
    store_filter f = {.field = WEBHOOK_status, .op = SF_IN, .in = in, .nin = 2};
    store_query sq = {
        .filters = &f, .nfilters = 1, .limit = 100, .link_field = -1, .ascending = true};
    res_row *rows;
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, RES(WEBHOOK), c->ws, &sq, &rows, n, &more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    *out = arena_alloc(c->a, sizeof **out * (size_t)(*n ? *n : 1));
    for (int i = 0; i < *n; i++)
        endpoint_init(&(*out)[i], &rows[i]);
    return 0;
}

/* Queues the events past each endpoint's cursor (at most DISPATCH_EVENTS
 * of them; *more when there are more) and moves the cursors. */
static int dispatch_once(engine_call *c, endpoint *eps, int n, int64_t now, bool *more)
{
    int64_t lo = INT64_MAX;
    for (int i = 0; i < n; i++)
        if (eps[i].cursor < lo) lo = eps[i].cursor;
    store_feed_query fq = {.after = lo, .limit = DISPATCH_EVENTS};
    store_event *ev;
    int nev;
    store_err e;
    int rc = store_event_feed(c->conn, c->a, c->ws, &fq, &ev, &nev, more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    int queued = 0;
    for (int k = 0; k < nev; k++) {
        const char *body = NULL;
        for (int i = 0; i < n; i++) {
            endpoint *ep = &eps[i];
            if (ev[k].seq <= ep->cursor) continue;
            ep->cursor = ev[k].seq;
            ep->moved = true;
            if (!wanted(&ep->row, ep->types, ep->fields, &ev[k])) continue;
            if (!body)
                body =
                    payload(c, ev[k].type, ev[k].created_ms, ev[k].seq, ev[k].data, ev[k].changes);
            if (queue(c, &ep->row, ev[k].id, ev[k].type, ev[k].seq, body, now, NULL)) return -1;
            queued++;
        }
    }
    for (int i = 0; i < n; i++) {
        if (!eps[i].moved) continue;
        bool set[WEBHOOK__COUNT] = {false};
        set[WEBHOOK_dispatched_sequence] = true;
        res_row row = eps[i].row;
        row.vals = arena_alloc(c->a, sizeof *row.vals * WEBHOOK__COUNT);
        memcpy(row.vals, eps[i].row.vals, sizeof *row.vals * WEBHOOK__COUNT);
        row.vals[WEBHOOK_dispatched_sequence] = sv_int(eps[i].cursor);
        if ((rc = store_rec_update(c->conn, RES(WEBHOOK), c->ws, &row, set, false, &e)))
            return engine_store_fail(c, rc, &e);
        eps[i].moved = false;
    }
    if (queued) integrations_notify(c->ws);
    return 0;
}

int integrations_dispatch(engine_call *c, int64_t now_ms)
{
    int known = ws_known(c->ws, now_ms);
    if (known == 0) return 0;
    endpoint *eps = NULL;
    int n;
    /* Not known: a look first, without the lock, which the timers would
     * otherwise take in every workspace. Known to have endpoints (looked
     * up within the second): only the look under the lock, once a batch. */
    if (known < 0) {
        if (endpoints(c, &eps, &n)) return -1;
        ws_note(c->ws, n > 0, now_ms);
        if (!n) return 0;
        for (int i = 0; i < n; i++)
            endpoint_free(&eps[i]);
    }
    /* Two nodes dispatching one workspace would queue its events twice:
     * the second waits for the first's commit, then reads the cursors it
     * moved. */
    store_err e;
    int rc = store_lock(c->conn, c->ws, "webhooks#dispatch", &e);
    if (rc) return engine_store_fail(c, rc, &e);
    if (endpoints(c, &eps, &n)) return -1;
    if (known > 0 && !n) ws_note(c->ws, false, now_ms); /* another node removed the last */
    bool more = n > 0;
    for (int round = 0; more && round < 10 && !rc; round++)
        rc = dispatch_once(c, eps, n, now_ms, &more);
    for (int i = 0; i < n; i++)
        endpoint_free(&eps[i]);
    return rc;
}

/* POST /v1/webhooks/{id}/replay {"since": sequence | time} */
int webhook_replay(engine_call *c)
{
    store_val v[REPLAY__COUNT];
    bool set[REPLAY__COUNT];
    if (engine_parse_fields(c, c->action->body, c->action->nbody, c->body, v, set)) return -1;
    res_row wh;
    if (engine_params_check(c) || engine_load(c, RES(WEBHOOK), c->ids[0], NULL, &wh)) return -1;
    if (has_status(&wh, "disabled"))
        return engine_fail(c, EK_CONFLICT, NULL, "webhook %s is disabled: enable it first", wh.id);
    const char *since = v[REPLAY_since].s;
    int64_t after = 0, at_ms = -1;
    if (!parse_seq(since, &after)) {
        if (!time_parse(since, &at_ms))
            return engine_fail(c, EK_INVALID, "since",
                               "since must be a sequence or an RFC 3339 time");
        after = 0;
    }
    endpoint ep;
    endpoint_init(&ep, &wh);
    int64_t now = (int64_t)time_now_ms(), queued = 0, first = -1, last = -1;
    bool more = true, truncated = false;
    store_feed_query fq = {.after = after, .limit = 1000};
    int rc = 0;
    while (more && !rc) {
        store_event *ev;
        int nev;
        store_err e;
        rc = store_event_feed(c->conn, c->a, c->ws, &fq, &ev, &nev, &more, &e);
        if (rc) {
            rc = engine_store_fail(c, rc, &e);
            break;
        }
        for (int k = 0; k < nev && !rc; k++) {
            fq.after = ev[k].seq;
            /* Only what the endpoint has been sent or was due: its cursor. */
            if (ev[k].seq > ep.cursor) {
                more = false;
                break;
            }
            if (at_ms >= 0 && ev[k].created_ms < at_ms) continue;
            if (!wanted(&wh, ep.types, ep.fields, &ev[k])) continue;
            if (queued == REPLAY_MAX) {
                truncated = true;
                more = false;
                break;
            }
            rc = queue(
                c, &wh, ev[k].id, ev[k].type, ev[k].seq,
                payload(c, ev[k].type, ev[k].created_ms, ev[k].seq, ev[k].data, ev[k].changes), now,
                NULL);
            if (first < 0) first = ev[k].seq;
            last = ev[k].seq;
            queued++;
        }
    }
    endpoint_free(&ep);
    if (rc) return -1;
    if (queued) integrations_notify(c->ws);
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "webhook_replay");
    jw_kstr(w, "webhook_id", wh.id);
    jw_kint(w, "queued", queued);
    jw_key(w, "first_sequence");
    if (first >= 0)
        jw_int(w, first);
    else
        jw_null(w);
    jw_key(w, "last_sequence");
    if (last >= 0)
        jw_int(w, last);
    else
        jw_null(w);
    jw_kbool(w, "truncated", truncated);
    jw_obj_close(w);
    return 0;
}

/* ------------------------------------------------------------ the worker's side */

/* Retries after a failed attempt k (1-based): the schedule, then
 * failed; tests shorten it (CAIRN_WEBHOOK_RETRY_SCHEDULE_MS, comma-
 * separated milliseconds) and the 5 days that disable an endpoint
 * (CAIRN_WEBHOOK_DISABLE_AFTER_MS). */
#define SCHEDULE_MAX 16
static int64_t schedule[SCHEDULE_MAX] = {
    0,           5000,         5 * 60000,    30 * 60000,   2 * 3600000,
    5 * 3600000, 10 * 3600000, 14 * 3600000, 20 * 3600000, 24 * 3600000};
static int nschedule = 10;
static int64_t disable_after_ms = 5ll * 24 * 3600000;
static pthread_once_t schedule_once = PTHREAD_ONCE_INIT;

static void schedule_init(void)
{
    const char *s = getenv("CAIRN_WEBHOOK_RETRY_SCHEDULE_MS");
    if (s && *s) {
        nschedule = 0;
        for (char *end; *s && nschedule < SCHEDULE_MAX; s = *end ? end + 1 : end) {
            long long v = strtoll(s, &end, 10);
            if (end == s || v < 0) break;
            schedule[nschedule++] = v;
        }
    }
    s = getenv("CAIRN_WEBHOOK_DISABLE_AFTER_MS");
    if (s && *s) disable_after_ms = strtoll(s, NULL, 10);
}

/* An endpoint with its opened secrets, for the due list. */
typedef struct open_endpoint {
    res_row row;
    const char *secrets[2];
} open_endpoint;

static void open_secrets(engine_call *c, const res_row *wh, int64_t now, const char **out)
{
    out[0] = crypto_open(c->a, engine_text(wh, WEBHOOK_secret));
    out[1] = NULL;
    if (engine_text(wh, WEBHOOK_previous_secret) &&
        engine_int(wh, WEBHOOK_previous_secret_until, 0) > now)
        out[1] = crypto_open(c->a, engine_text(wh, WEBHOOK_previous_secret));
}

static void add_due(engine_call *c, engine_delivery **out, int *n, int *cap, const res_row *d,
                    const res_row *wh, const char *const *secrets)
{
    if (*n == *cap) {
        int ncap = *cap ? *cap * 2 : 64;
        engine_delivery *m = arena_alloc(c->a, sizeof *m * (size_t)ncap);
        if (*n) memcpy(m, *out, sizeof *m * (size_t)*n);
        *out = m;
        *cap = ncap;
    }
    (*out)[(*n)++] = (engine_delivery){.id = arena_strdup(c->a, d->id),
                                       .webhook_id = arena_strdup(c->a, wh->id),
                                       .url = engine_text(wh, WEBHOOK_url),
                                       .body = engine_text(d, WHD_payload),
                                       .secrets = {secrets[0], secrets[1]},
                                       .sequence = engine_int(d, WHD_sequence, 0),
                                       .attempts = (int)engine_int(d, WHD_attempt_count, 0),
                                       .failing = engine_int(wh, WEBHOOK_failing_since, 0) != 0};
}

/* An ordered endpoint's deliveries looked at in one go: those answered
 * and not yet recorded come first, then those the worker sends in turn. */
#define ORDERED_AHEAD 32

int integrations_due(engine_call *c, int64_t now, int max, engine_delivery_skip skip,
                     engine_delivery_after after, void *ud, engine_delivery **out_, int *n)
{
    *out_ = NULL;
    *n = 0;
    int cap = 0;
    store_filter f = {.field = WEBHOOK_status, .v = sv_text("active")};
    store_query sq = {.filters = &f, .nfilters = 1, .limit = WEBHOOKS_MAX, .link_field = -1};
    res_row *whs;
    int nwh;
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, RES(WEBHOOK), c->ws, &sq, &whs, &nwh, &more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    store_val open[2] = {sv_text("pending"), sv_text("retrying")};
    for (int i = 0; i < nwh && *n < max; i++) {
        const res_row *wh = &whs[i];
        bool parallel = engine_int(wh, WEBHOOK_parallel, 0) != 0;
        /* In order: nothing while one of the endpoint's is busy. */
        if (!parallel && skip(NULL, wh->id, ud) == ENGINE_OUT_BUSY) continue;
        int64_t from = parallel || !after ? 0 : after(wh->id, ud);
        store_filter df[3] = {
            {.field = WHD_webhook_id, .v = sv_text(wh->id)},
            {.field = WHD_status, .op = SF_IN, .in = open, .nin = 2},
            parallel
                ? (store_filter){.field = WHD_next_attempt_at, .op = SF_LT, .v = sv_int(now + 1)}
                : (store_filter){.field = WHD_sequence, .op = SF_GE, .v = sv_int(from + 1)},
        };
        store_query dq = {.filters = df,
                          .nfilters = parallel || from > 0 ? 3 : 2,
                          .sort_by =
                              &RES(WHD)->fields[parallel ? WHD_next_attempt_at : WHD_sequence],
                          .ascending = true,
                          .limit = parallel ? max - *n : ORDERED_AHEAD,
                          .link_field = -1};
        res_row *ds;
        int nd;
        if ((rc = store_rec_list(c->conn, c->a, RES(WHD), c->ws, &dq, &ds, &nd, &more, &e)))
            return engine_store_fail(c, rc, &e);
        const char *secrets[2] = {NULL, NULL};
        for (int k = 0; k < nd && *n < max; k++) {
            int out = skip(ds[k].id, wh->id, ud);
            if (out != ENGINE_OUT_NO) {
                if (!parallel && out == ENGINE_OUT_BUSY) break;
                continue; /* out already; an ordered endpoint's next may follow a passed one */
            }
            if (engine_int(&ds[k], WHD_next_attempt_at, 0) > now) {
                if (!parallel) break; /* in order: not yet */
                continue;
            }
            if (!secrets[0]) open_secrets(c, wh, now, secrets);
            if (!secrets[0]) break; /* sealed under another key: nothing can sign it */
            add_due(c, out_, n, &cap, &ds[k], wh, secrets);
            (*out_)[*n - 1].ordered = !parallel;
        }
    }
    return 0;
}

/* The endpoint goes to disabled, with its webhook.disabled event. */
static int disable(engine_call *c, const res_row *wh, const char *why)
{
    bool *set;
    res_row row = engine_copy_row(c, RES(WEBHOOK), wh, &set);
    engine_set(&row, set, WEBHOOK_status, sv_text("disabled"));
    engine_set(&row, set, WEBHOOK_disabled_reason, sv_text(why));
    ws_forget(c->ws);
    return engine_update_row(c, RES(WEBHOOK), wh, &row, set, "disabled");
}

/* Sets the endpoint's failing_since (no event: its own bookkeeping). */
static int set_failing(engine_call *c, const res_row *wh, store_val v)
{
    bool set[WEBHOOK__COUNT] = {false};
    set[WEBHOOK_failing_since] = true;
    res_row row = *wh;
    row.vals = arena_alloc(c->a, sizeof *row.vals * WEBHOOK__COUNT);
    memcpy(row.vals, wh->vals, sizeof *row.vals * WEBHOOK__COUNT);
    row.vals[WEBHOOK_failing_since] = v;
    store_err e;
    int rc = store_rec_update(c->conn, RES(WEBHOOK), c->ws, &row, set, false, &e);
    return rc ? engine_store_fail(c, rc, &e) : 0;
}

/* A success of an endpoint not failing, the usual case: one UPDATE of the
 * delivery's attempt fields, from what the worker knew. */
static int record_success(engine_call *c, const engine_attempt *at)
{
    store_val vals[WHD__COUNT];
    bool set[WHD__COUNT] = {false};
    memset(vals, 0, sizeof vals);
    res_row row = {.vals = vals, .updated_ms = (int64_t)time_now_ms()};
    snprintf(row.id, sizeof row.id, "%s", at->delivery_id);
#define SET(f, v) (vals[WHD_##f] = (v), set[WHD_##f] = true)
    SET(attempt_count, sv_int(at->attempts + 1));
    SET(last_attempt_at, sv_int(at->at_ms));
    SET(last_status_code, sv_int(at->status));
    SET(last_error, (store_val){0});
    SET(response_excerpt, sv_text(at->excerpt));
    SET(duration_ms, sv_int(at->duration_ms));
    SET(status, sv_text("succeeded"));
    SET(delivered_at, sv_int(at->at_ms));
    SET(next_attempt_at, (store_val){0});
#undef SET
    store_err e;
    int rc = store_rec_update(c->conn, RES(WHD), c->ws, &row, set, false, &e);
    return rc && rc != STORE_NOTFOUND ? engine_store_fail(c, rc, &e) : 0;
}

int integrations_record(engine_call *c, const engine_attempt *at)
{
    pthread_once(&schedule_once, schedule_init);
    if (at->status >= 200 && at->status < 300 && !at->failing) return record_success(c, at);
    res_row d, wh;
    store_err e;
    int rc = store_rec_get(c->conn, c->a, RES(WHD), c->ws, at->delivery_id, &d, &e);
    if (rc == STORE_NOTFOUND) return 0; /* its endpoint was deleted meanwhile */
    if (rc) return engine_store_fail(c, rc, &e);
    rc =
        store_rec_get(c->conn, c->a, RES(WEBHOOK), c->ws, engine_text(&d, WHD_webhook_id), &wh, &e);
    if (rc == STORE_NOTFOUND) return 0;
    if (rc) return engine_store_fail(c, rc, &e);
    bool *set;
    res_row row = engine_copy_row(c, RES(WHD), &d, &set);
    int attempts = (int)engine_int(&d, WHD_attempt_count, 0) + 1;
    bool ok = at->status >= 200 && at->status < 300;
    engine_set(&row, set, WHD_attempt_count, sv_int(attempts));
    engine_set(&row, set, WHD_last_attempt_at, sv_int(at->at_ms));
    engine_set(&row, set, WHD_last_status_code, at->status ? sv_int(at->status) : (store_val){0});
    engine_set(&row, set, WHD_last_error, sv_text(ok ? NULL : at->error));
    engine_set(&row, set, WHD_response_excerpt, sv_text(at->excerpt));
    engine_set(&row, set, WHD_duration_ms, sv_int(at->duration_ms));
    const char *status;
    int64_t next = 0;
    if (ok) {
        status = "succeeded";
        engine_set(&row, set, WHD_delivered_at, sv_int(at->at_ms));
    } else if (at->status == 410 || attempts > nschedule) {
        status = "failed";
    } else {
        status = "retrying";
        int64_t delay = schedule[attempts - 1];
        if ((at->status == 429 || at->status == 503) && at->retry_after_s >= 0)
            delay = (int64_t)at->retry_after_s * 1000 > delay ? (int64_t)at->retry_after_s * 1000
                                                              : delay;
        if (delay > 24ll * 3600000) delay = 24ll * 3600000;
        /* Jitter of up to a tenth, so that endpoints failing together do
         * not retry together. */
        if (delay >= 10) {
            uint32_t r;
            rand_bytes(&r, sizeof r);
            delay += (int64_t)(r % (uint32_t)(delay / 10 + 1));
        }
        next = at->at_ms + delay;
    }
    engine_set(&row, set, WHD_status, sv_text(status));
    engine_set(&row, set, WHD_next_attempt_at, next ? sv_int(next) : (store_val){0});
    row.updated_ms = (int64_t)time_now_ms();
    if ((rc = store_rec_update(c->conn, RES(WHD), c->ws, &row, set, false, &e)))
        return engine_store_fail(c, rc, &e);
    if (ok)
        return engine_int(&wh, WEBHOOK_failing_since, 0) ? set_failing(c, &wh, (store_val){0}) : 0;
    if (at->status == 410 && !has_status(&wh, "disabled"))
        return disable(c, &wh, "the endpoint answered 410 Gone");
    int64_t since = engine_int(&wh, WEBHOOK_failing_since, 0);
    if (!since) return set_failing(c, &wh, sv_int(at->at_ms));
    if (at->at_ms - since >= disable_after_ms && !has_status(&wh, "disabled"))
        return disable(c, &wh, "every attempt failed for 5 days");
    return 0;
}
