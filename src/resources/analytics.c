/* analytics.c - analytics governance beyond the generic engine: the
 * properties a workspace registers, the event definitions that list them,
 * and validating a payload against a definition.
 *
 * A property's key and an event's name are identifiers (no spaces at the
 * ends, no control characters); an event lists registered keys only, each
 * once (400 naming properties[i]); a property an event lists cannot be
 * deleted (409) while it does, so a definition never names a key that is
 * gone. Validate stores nothing and runs where reads run, with no writer
 * involved: one read of the definition by its unique name and one of each
 * property it lists (their unique keys), each an index lookup. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/timeutil.h"
#include "resources/engine.h"
#include "resources/hooks.h"

/* An event lists at most this many properties (resources.def), so that
 * validate reads them all in one statement (SF_IN takes 100). */
#define AEVENT_MAX_PROPS 100

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
    if (w->set[APROP_key] && !ident_ok(engine_text(w->row, APROP_key), false))
        return engine_fail(w->c, EK_INVALID, "key",
                           "key must start with a letter, '_' or '$' and hold only letters, "
                           "digits, '_', '.', '-', ':' and '$'");
    return 0;
}

/* Whether an event definition lists key: a scan of the workspace's
 * definitions, a page at a time (a delete of a property is rare). */
static int key_in_use(engine_call *c, const char *key, const char **by)
{
    store_query sq = {.limit = 500, .link_field = -1, .ascending = true};
    for (;;) {
        res_row *rows;
        int n;
        bool more;
        store_err e;
        int rc = store_rec_list(c->conn, c->a, RES(AEVENT), c->ws, &sq, &rows, &n, &more, &e);
        if (rc) return engine_store_fail(c, rc, &e);
        for (int i = 0; i < n; i++) {
            json_t *items = engine_items(&rows[i], AEVENT_properties);
            size_t k;
            json_t *v;
            bool found = false;
            json_array_foreach(items, k, v) found |=
                json_is_string(v) && !strcasecmp(json_string_value(v), key);
            json_decref(items);
            if (found) {
                *by = arena_strdup(c->a, engine_text(&rows[i], AEVENT_name));
                return 1;
            }
        }
        if (!more || n == 0) return 0;
        sq.after_rid = rows[n - 1].rid;
    }
}

static int aprop_before_delete(res_write *w)
{
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

const res_hooks aevent_hooks = {.before_write = aevent_before};

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
    res_row ev;
    int found = engine_find_by(c, RES(AEVENT), AEVENT_name, name, &ev);
    if (found < 0) return -1;
    if (!found)
        return engine_fail(c, EK_NOT_FOUND, "name", "no analytics event named '%s' is defined",
                           name);
    json_t *listed = engine_items(&ev, AEVENT_properties);
    size_t n = json_array_size(listed);
    res_row *defs = arena_zalloc(c->a, sizeof *defs * (n ? n : 1));
    bool *have = arena_zalloc(c->a, sizeof *have * (n ? n : 1));
    if (n) {
        /* Every listed property in one read: key IN (...). */
        store_val *in = arena_alloc(c->a, sizeof *in * n);
        for (size_t i = 0; i < n; i++)
            in[i] = sv_text(json_string_value(json_array_get(listed, i)));
        store_filter f = {.field = APROP_key, .op = SF_IN, .in = in, .nin = (int)n};
        store_query sq = {
            .filters = &f, .nfilters = 1, .limit = AEVENT_MAX_PROPS, .link_field = -1};
        res_row *rows;
        int m;
        bool more;
        store_err e;
        int rc = store_rec_list(c->conn, c->a, RES(APROP), c->ws, &sq, &rows, &m, &more, &e);
        if (rc) {
            json_decref(listed);
            return engine_store_fail(c, rc, &e);
        }
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < m && !have[i]; k++)
                if (!strcasecmp(engine_text(&rows[k], APROP_key), in[i].s)) {
                    defs[i] = rows[k];
                    have[i] = true;
                }
    }
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
        const char *key = json_string_value(json_array_get(listed, i));
        json_t *val = props ? json_object_get(props, key) : NULL;
        snprintf(param, sizeof param, "properties.%.140s", key);
        if (!val || json_is_null(val)) {
            if (have[i] && engine_int(&defs[i], APROP_required, 0)) {
                snprintf(msg, sizeof msg, "%.140s is required", key);
                error_item(w, param, "missing_property", msg);
                nerr++;
            }
            continue;
        }
        const char *type = have[i] ? engine_text(&defs[i], APROP_type) : NULL;
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
                known = !strcmp(json_string_value(json_array_get(listed, i)), pk);
            if (known) continue;
            snprintf(param, sizeof param, "properties.%.140s", pk);
            snprintf(msg, sizeof msg, "%.140s is not a property of %.200s", pk, name);
            error_item(w, param, "unexpected_property", msg);
            nerr++;
        }
    }
    json_decref(listed);
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
