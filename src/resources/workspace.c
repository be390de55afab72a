/* workspace.c - the key's workspace as the engine answers it: GET and
 * PATCH /v1/workspace, its name, the modules it has switched on and the
 * currency money defaults to in it (USD unless set). The
 * store keeps the modules switched off, so a module a later version adds
 * is on for every workspace that exists (nothing breaks for its clients;
 * admins switch off what they don't use). */
#include <string.h>

#include "core/timeutil.h"
#include "resources/engine.h"
#include "resources/hooks.h"

uint32_t engine_modules_disabled(const char *names)
{
    uint32_t mask = 0;
    const char *p = names ? names : "";
    while (*p) {
        size_t n = strcspn(p, " ");
        for (int m = 0; m < MOD__COUNT; m++)
            if (strlen(res_module_names[m]) == n && !strncmp(res_module_names[m], p, n))
                mask |= 1u << m;
        p += n;
        while (*p == ' ')
            p++;
    }
    return mask;
}

static int answer(engine_call *c, const store_workspace *ws, uint32_t disabled,
                  const char *currency)
{
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "id", ws->id);
    jw_kstr(w, "object", "workspace");
    jw_kstr(w, "name", ws->name);
    jw_key(w, "enabled_modules");
    jw_arr_open(w);
    for (int m = 0; m < MOD__COUNT; m++)
        if (!(disabled & (1u << m))) jw_str(w, res_module_names[m]);
    jw_arr_close(w);
    jw_kstr(w, "currency", currency[0] ? currency : "USD");
    char t[TIME_STR];
    time_format_ms((uint64_t)ws->created_ms, t);
    jw_kstr(w, "created_at", t);
    jw_obj_close(w);
    return 0;
}

static int load(engine_call *c, store_workspace *ws)
{
    store_err e;
    int rc = store_workspace_find(c->conn, c->ws, ws, &e);
    if (rc == STORE_NOTFOUND)
        return engine_fail(c, EK_NOT_FOUND, NULL, "the workspace of this key no longer exists");
    return rc ? engine_store_fail(c, rc, &e) : 0;
}

int engine_workspace_get(engine_call *c)
{
    store_workspace ws;
    if (engine_params_check(c) || load(c, &ws)) return -1;
    return answer(c, &ws, engine_modules_disabled(ws.disabled_modules), ws.currency);
}

static bool iso_currency(const char *s)
{
    return s && strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
           s[2] >= 'A' && s[2] <= 'Z';
}

/* The modules of `list` (the whole list a workspace uses) as the names
 * of those switched off, into off; -1 with the error set. */
static int modules_off(engine_call *c, json_t *list, uint32_t *on, char off[256])
{
    if (!json_is_array(list))
        return engine_fail(c, EK_INVALID, "enabled_modules",
                           "enabled_modules must be an array of module names");
    *on = 0;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        int m = json_is_string(v) ? res_module_find(json_string_value(v)) : -1;
        if (m < 0) {
            char names[512] = "";
            for (int k2 = 0; k2 < MOD__COUNT; k2++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         k2 ? ", " : "", res_module_names[k2]);
            return engine_fail(c, EK_INVALID, "enabled_modules",
                               "enabled_modules[%zu] is not a module; modules are: %s", i, names);
        }
        *on |= 1u << m;
    }
    off[0] = '\0';
    for (int m = 0; m < MOD__COUNT; m++)
        if (!(*on & (1u << m)))
            snprintf(off + strlen(off), 256 - strlen(off), "%s%s", off[0] ? " " : "",
                     res_module_names[m]);
    return 0;
}

/* PATCH /v1/workspace {"enabled_modules": [...], "currency": "EUR"}: the
 * whole list of the modules it uses (the others are switched off), and
 * the currency money defaults to (existing records keep theirs; the
 * ledger's chart gets accounts in it at its first posting). */
int engine_workspace_update(engine_call *c)
{
    if (engine_params_check(c)) return -1;
    const char *k;
    json_t *v;
    json_object_foreach(c->body, k, v)
    {
        if (strcmp(k, "enabled_modules") != 0 && strcmp(k, "currency") != 0)
            return engine_fail(c, EK_INVALID, k, "unknown field '%s'", k);
    }
    json_t *list = json_object_get(c->body, "enabled_modules");
    json_t *cur = json_object_get(c->body, "currency");
    if (!list && !cur)
        return engine_fail(c, EK_INVALID, "enabled_modules",
                           "give enabled_modules, currency or both");
    uint32_t on = 0;
    char off[256];
    if (list && modules_off(c, list, &on, off)) return -1;
    if (cur && !iso_currency(json_string_value(cur)))
        return engine_fail(c, EK_INVALID, "currency",
                           "currency must be an ISO 4217 code such as USD");
    store_workspace ws;
    if (load(c, &ws)) return -1;
    store_err e;
    int rc = list ? store_workspace_set_modules(c->conn, c->ws, off, &e) : STORE_OK;
    if (rc == STORE_OK && cur) {
        rc = store_workspace_set_currency(c->conn, c->ws, json_string_value(cur), &e);
        snprintf(ws.currency, sizeof ws.currency, "%s", json_string_value(cur));
    }
    if (rc) return engine_store_fail(c, rc, &e);
    return answer(c, &ws, list ? ~on : engine_modules_disabled(ws.disabled_modules), ws.currency);
}
