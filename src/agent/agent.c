/* agent.c - 002's CRM Agent API over the tool catalogue; see agent.h. */
#include "agent/agent.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jr.h"
#include "core/jsv.h"
#include "core/jw.h"
#include "core/timeutil.h"
#include "schema/schemas.h"

#define pack      res_schema_pack /* aborts on a bad format: a bug here */
#define RESOLVE   "crm_resolve_workspace"
#define MAX_FOUND 20

/* ------------------------------------------------------------ catalogue */

static char *catalogue; /* the capabilities' tools array, rendered once */
static size_t catalogue_len;
static json_t *resolve_input;
static char all_scopes[1024];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* An input that passes the tool's schema, built from it: required members
 * with their example, first enum value or a value of their type. */
static json_t *example_of(const json_t *schema, const char *prefix)
{
    json_t *ex = json_object_get(schema, "examples");
    if (json_array_size(ex)) return json_incref(json_array_get(ex, 0));
    json_t *en = json_object_get(schema, "enum");
    if (json_array_size(en)) return json_incref(json_array_get(en, 0));
    json_t *t = json_object_get(schema, "type");
    const char *type =
        json_is_array(t) ? json_string_value(json_array_get(t, 0)) : json_string_value(t);
    if (!type) return json_string("example");
    if (!strcmp(type, "integer") || !strcmp(type, "number")) {
        json_t *min = json_object_get(schema, "minimum");
        return json_integer(
            json_is_integer(min) && json_integer_value(min) > 1 ? json_integer_value(min) : 1);
    }
    if (!strcmp(type, "boolean")) return json_false();
    if (!strcmp(type, "array")) return json_array();
    if (!strcmp(type, "object")) {
        json_t *o = json_object();
        json_t *req = json_object_get(schema, "required"),
               *props = json_object_get(schema, "properties");
        size_t i;
        json_t *k;
        json_array_foreach(req, i, k)
        {
            const char *name = json_string_value(k);
            json_t *p = json_object_get(props, name);
            size_t n = strlen(name);
            bool id = !strcmp(name, "id") || (n > 3 && !strcmp(name + n - 3, "_id"));
            char buf[64];
            snprintf(buf, sizeof buf, "%s_01JB8Z6R7VQ2XK3M4N5P6Q7R8S", prefix);
            json_object_set_new(o, name, id ? json_string(buf) : example_of(p, prefix));
        }
        return o;
    }
    const char *fmt = json_string_value(json_object_get(schema, "format"));
    if (fmt && !strcmp(fmt, "date-time")) return json_string("2026-01-15T09:30:00.000Z");
    if (fmt && !strcmp(fmt, "date")) return json_string("2026-01-15");
    return json_string("example");
}

static const char *module_of(const tool_def *t)
{
    return res_module_names[t->res->module];
}

static void build(void)
{
    for (int i = 0; res_scopes[i]; i++)
        snprintf(all_scopes + strlen(all_scopes), sizeof all_scopes - strlen(all_scopes), "%s%s",
                 i ? " " : "", res_scopes[i]);
    resolve_input =
        pack("{s:s, s:b, s:{s:{s:s, s:I, s:I, s:s}}, s:[s]}", "type", "object",
             "additionalProperties", 0, "properties", "query", "type", "string", "minLength",
             (json_int_t)1, "maxLength", (json_int_t)200, "description",
             "A workspace's id, name, slug or an admin member's email", "required", "query");
    json_t *tools = json_array();
    json_array_append_new(
        tools,
        pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:O, s:{s:s, s:{s:{s:[s,s]}, s:{s:s}}}, "
             "s:[{s:s, s:{s:s}}]}",
             "name", RESOLVE, "title", "Find a workspace's organizationId", "description",
             "Finds workspaces by id, name, slug (the name in lower case, words joined by '-') "
             "or an admin member's email. One match answers its organizationId; several answer "
             "the candidates, never a guess. The only tool that needs no organizationId.",
             "riskLevel", "read", "requiresOrganizationId", 0, "supportsDryRun", 0, "crmModule",
             "outbound", "inputSchema", resolve_input, "outputSchema", "type", "object",
             "properties", "workspace", "type", "object", "null", "candidates", "type", "array",
             "examples", "description", "Resolve a workspace by its name", "input", "query",
             "Acme Sales"));
    for (int i = 0; i < tools_count(); i++) {
        const tool_def *t = tools_at(i);
        json_t *ex = example_of(t->input_schema, t->res->prefix);
        char d[200];
        snprintf(d, sizeof d, "%s (an example input)", t->title);
        json_array_append_new(
            tools,
            pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:O, s:O, s:[{s:s, s:o}]}", "name", t->name,
                 "title", t->title, "description", t->description, "riskLevel",
                 tool_risk_names[t->risk], "requiresOrganizationId", 1, "supportsDryRun",
                 tools_writes(t), "crmModule", module_of(t), "inputSchema", t->input_schema,
                 "outputSchema", t->output_schema, "examples", "description", d, "input", ex));
    }
    catalogue = json_dumps(tools, JSON_COMPACT);
    if (!catalogue) abort();
    catalogue_len = strlen(catalogue);
    json_decref(tools);
}

/* ------------------------------------------------------------- answers */

/* {success, data, error, meta}: data (stolen, may be NULL) is the value. */
static void envelope(buf *out, const agent_req *r, bool ok, json_t *data, const char *error,
                     int per_page, int total)
{
    buf_reset(out);
    json_t *env = pack("{s:b, s:o?, s:s?, s:{s:i, s:i, s:i, s:i, s:s}}", "success", ok, "data",
                       data, "error", error, "meta", "page", 1, "perPage", per_page, "total", total,
                       "totalPages", 1, "requestId", r->request_id);
    if (!json_object_get(env, "data")) json_object_set_new(env, "data", json_null());
    if (!json_object_get(env, "error")) json_object_set_new(env, "error", json_null());
    char *s = json_dumps(env, JSON_COMPACT);
    buf_puts(out, s ? s : "{}");
    free(s);
    json_decref(env);
}

/* The result object of a call (002's ToolResult). */
static json_t *result(const agent_req *r, const char *org, const char *status, const char *summary,
                      json_t *data, json_t *warnings, json_t *next, uint64_t start, bool dry)
{
    return pack("{s:s, s:s?, s:s, s:s, s:o, s:o, s:o, s:I, s:b}", "toolName", r->tool,
                "organizationId", org, "status", status, "summary", summary, "data",
                data ? data : json_null(), "warnings", warnings ? warnings : json_array(),
                "nextActions", next ? next : json_array(), "durationMs",
                (json_int_t)((time_mono_ns() - start) / 1000000), "dryRun", dry);
}

static json_t *next_action(const char *tool, const char *why, json_t *input)
{
    return pack("{s:s, s:s, s:o}", "toolName", tool, "reason", why, "suggestedInput", input);
}

/* A failed call: the error sentence, and the result with what to do next. */
static engine_kind fail(const agent_req *r, buf *out, engine_kind kind, const char *org,
                        json_t *next, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static engine_kind fail(const agent_req *r, buf *out, engine_kind kind, const char *org,
                        json_t *next, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *nexts = json_array();
    if (next) json_array_append_new(nexts, next);
    json_t *res = r->tool ? result(r, org, "error", msg, NULL, NULL, nexts, time_mono_ns(), false)
                          : (json_decref(nexts), NULL);
    envelope(out, r, false, res, msg, 0, 0);
    return kind;
}

static json_t *resolve_next(void)
{
    return next_action(RESOLVE, "find the workspace's organizationId first",
                       pack("{s:s}", "query", "<workspace name, slug or id>"));
}

/* ----------------------------------------------------------- workspaces */

/* Finds the workspace org (an id, exactly); EK_OK or the error answered. */
static engine_kind target(const agent_req *r, const char *org, store_workspace *ws, buf *out)
{
    store_err e;
    int rc = store_workspace_find(r->conn, org, ws, &e);
    if (rc != STORE_OK && rc != STORE_NOTFOUND)
        return fail(r, out,
                    rc == STORE_BUSY || rc == STORE_UNAVAILABLE ? EK_UNAVAILABLE : EK_INTERNAL, org,
                    NULL, "the database could not be read: %s", e.msg);
    if (rc == STORE_NOTFOUND || strcmp(ws->id, org) != 0)
        return fail(r, out, EK_NOT_FOUND, NULL, resolve_next(),
                    "no organization has the id '%.120s'; resolve a name with " RESOLVE, org);
    if (engine_modules_disabled(ws->disabled_modules) & (1u << MOD_OUTBOUND))
        return fail(r, out, EK_FORBIDDEN, org, NULL,
                    "the outbound module is disabled on organization %s; enable it "
                    "(PATCH /v1/workspace) to use the agent tools",
                    org);
    return EK_OK;
}

engine_kind agent_capabilities(const agent_req *r, const char *org, buf *out)
{
    pthread_once(&once, build);
    if (!r->super_admin)
        return fail(r, out, EK_FORBIDDEN, NULL, NULL,
                    "the CRM Agent API takes super-admin keys only (cairn key create "
                    "--super-admin)");
    store_workspace ws;
    if (org) {
        if (!org[0]) return fail(r, out, EK_INVALID, NULL, NULL, "organizationId is empty");
        engine_kind k = target(r, org, &ws, out);
        if (k != EK_OK) return k;
    }
    int n = tools_count() + 1;
    buf_reset(out);
    buf_puts(out, "{\"success\":true,\"data\":{\"version\":\"1.0.0\",\"auth\":{\"requiredRole\":"
                  "\"super_admin\",\"requiresOrganizationId\":true,\"tokenTypes\":[\"api_key\"]},"
                  "\"defaults\":{\"maxPageSize\":100,\"defaultPageSize\":20,\"dryRunDefault\":"
                  "false},\"tools\":");
    buf_append(out, catalogue, catalogue_len);
    buf_printf(out,
               "},\"error\":null,\"meta\":{\"page\":1,\"perPage\":%d,\"total\":%d,"
               "\"totalPages\":1,\"requestId\":",
               n, n);
    jw_escape(out, r->request_id, strlen(r->request_id));
    buf_puts(out, "}}");
    return EK_OK;
}

/* ---------------------------------------------------------------- calls */

/* Characters (code points) of valid UTF-8, as 002's limits count them. */
static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

engine_kind agent_prepare(const agent_req *r, agent_plan *p, buf *out)
{
    pthread_once(&once, build);
    memset(p, 0, sizeof *p);
    if (!r->super_admin)
        return fail(r, out, EK_FORBIDDEN, NULL, NULL,
                    "the CRM Agent API takes super-admin keys only, even in the key's own "
                    "workspace");
    bool resolve = strcmp(r->tool, RESOLVE) == 0;
    p->tool = resolve ? NULL : tools_find(r->tool);
    if (!resolve && !p->tool)
        return fail(r, out, EK_NOT_FOUND, NULL, NULL,
                    "no tool is named '%.100s'; GET /crm/agent/capabilities lists them", r->tool);
    const char *k;
    json_t *v;
    json_object_foreach(r->body, k, v)
    {
        if (strcmp(k, "organizationId") && strcmp(k, "input") && strcmp(k, "reason") &&
            strcmp(k, "requestId"))
            return fail(r, out, EK_INVALID, NULL, NULL,
                        "%.60s is not a member of a tool call (organizationId, input, reason, "
                        "requestId)",
                        k);
    }
    json_t *org = json_object_get(r->body, "organizationId");
    json_t *reason = json_object_get(r->body, "reason");
    json_t *rid = json_object_get(r->body, "requestId");
    p->input = json_object_get(r->body, "input");
    if (!json_is_object(p->input))
        return fail(r, out, EK_INVALID, NULL, NULL, "input is required: an object");
    if (reason && (!json_is_string(reason) || chars(json_string_value(reason)) > AGENT_MAX_REASON))
        return fail(r, out, EK_INVALID, NULL, NULL,
                    "reason must be a string of at most %d characters", AGENT_MAX_REASON);
    if (rid && (!json_is_string(rid) || !json_string_length(rid) ||
                chars(json_string_value(rid)) > AGENT_MAX_REQUEST_ID))
        return fail(r, out, EK_INVALID, NULL, NULL,
                    "requestId must be a string of 1 to %d characters", AGENT_MAX_REQUEST_ID);
    if (org && !json_is_string(org))
        return fail(r, out, EK_INVALID, NULL, NULL, "organizationId must be a string");
    p->org = json_string_value(org);
    if (resolve) return EK_OK; /* unscoped: any organizationId is ignored */
    if (!p->org || !p->org[0])
        return fail(r, out, EK_INVALID, NULL, resolve_next(),
                    "organizationId is required for %s: resolve it with " RESOLVE, r->tool);
    engine_kind kind = target(r, p->org, &p->ws, out);
    if (kind != EK_OK) return kind;
    p->who = (tool_caller){.ws = p->ws.id,
                           .actor = r->key_id,
                           .scopes = all_scopes,
                           .super_admin = true,
                           .disabled = engine_modules_disabled(p->ws.disabled_modules),
                           .currency = p->ws.currency[0] ? p->ws.currency : "USD",
                           .trace = r->request_id,
                           .channel = "agent",
                           .route = "POST /crm/agent/tools/{toolName}",
                           .reason = json_string_value(reason),
                           .request_id = json_string_value(rid)};
    p->writes = tools_writes(p->tool);
    p->dry_run = p->writes && json_is_true(json_object_get(p->input, "dryRun"));
    return EK_OK;
}

/* The slug of a workspace name: lower case, runs of other bytes as '-'. */
static void slug(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    bool dash = false;
    for (const unsigned char *s = (const unsigned char *)name; *s && n + 1 < cap; s++) {
        if (isalnum(*s) || *s >= 0x80) {
            if (dash && n) out[n++] = '-';
            if (n + 1 < cap) out[n++] = (char)tolower(*s);
            dash = false;
        } else {
            dash = true;
        }
    }
    out[n] = '\0';
}

typedef struct found {
    const char *query;
    json_t *list;
} found;

static void match_ws(const store_workspace *w, void *ud)
{
    found *f = ud;
    char s[160];
    slug(w->name, s, sizeof s);
    if (json_array_size(f->list) >= MAX_FOUND) return;
    if (strcmp(w->id, f->query) && strcasecmp(w->name, f->query) && strcasecmp(s, f->query)) return;
    json_t *mods = json_array();
    uint32_t off = engine_modules_disabled(w->disabled_modules);
    for (int m = 0; m < MOD__COUNT; m++)
        if (!(off & (1u << m))) json_array_append_new(mods, json_string(res_module_names[m]));
    char t[TIME_STR];
    time_format_ms((uint64_t)w->created_ms, t);
    json_array_append_new(f->list,
                          pack("{s:s, s:s, s:s, s:b, s:o, s:s}", "organizationId", w->id, "name",
                               w->name, "slug", s, "outboundEnabled", !(off & (1u << MOD_OUTBOUND)),
                               "enabledModules", mods, "createdAt", t));
}

static engine_kind run_resolve(const agent_req *r, agent_plan *p, buf *out, uint64_t start)
{
    char path[128], msg[256];
    if (!jsv_validate(resolve_input, p->input, path, sizeof path, msg, sizeof msg))
        return fail(r, out, EK_INVALID, NULL, NULL, "input%s%s %s", path[0] ? "." : "", path, msg);
    found f = {json_string_value(json_object_get(p->input, "query")), json_array()};
    store_err e;
    int rc = store_workspace_each(r->conn, match_ws, &f, &e);
    if (rc != STORE_OK) {
        json_decref(f.list);
        return fail(r, out, EK_UNAVAILABLE, NULL, NULL, "the database could not be read: %s",
                    e.msg);
    }
    size_t n = json_array_size(f.list);
    char summary[300];
    json_t *next = json_array(), *warnings = json_array();
    json_t *one = n == 1 ? json_array_get(f.list, 0) : NULL;
    if (one) {
        snprintf(summary, sizeof summary, "one workspace matches: %s (%s)",
                 json_string_value(json_object_get(one, "name")),
                 json_string_value(json_object_get(one, "organizationId")));
        json_array_append_new(next, next_action("list_contacts",
                                                "work in this workspace with its organizationId",
                                                pack("{s:i}", "limit", 20)));
    } else if (n) {
        snprintf(summary, sizeof summary,
                 "%zu workspaces match '%.100s': pick one by its organizationId", n, f.query);
        json_array_append_new(warnings, pack("{s:s, s:s}", "code", "ambiguous", "message",
                                             "several workspaces match; none was chosen"));
    } else {
        snprintf(summary, sizeof summary, "no workspace matches '%.100s'", f.query);
    }
    json_t *data = pack("{s:O?, s:o}", "workspace", one, "candidates", f.list);
    if (!one) json_object_set_new(data, "workspace", json_null());
    json_t *res = result(r, one ? json_string_value(json_object_get(one, "organizationId")) : NULL,
                         "success", summary, data, warnings, next, start, false);
    envelope(out, r, true, res, NULL, (int)n, (int)n);
    return EK_OK;
}

/* What a successful call did, in a sentence. */
static void summarize(const agent_plan *p, json_t *data, bool list, char *s, size_t cap)
{
    const char *id = json_string_value(json_object_get(data, "id"));
    const char *verb = p->dry_run ? "would be" : "was";
    if (list)
        snprintf(s, cap, "%zu %s%s", json_array_size(json_object_get(data, "data")),
                 p->tool->res->name,
                 json_is_string(json_object_get(data, "next_cursor"))
                     ? "; more: pass next_cursor as cursor"
                     : "");
    else if (p->tool->op == OP_CREATE)
        snprintf(s, cap, "%s %s %s created", p->tool->res->singular, id ? id : "", verb);
    else if (p->tool->op == OP_UPDATE)
        snprintf(s, cap, "%s %s %s updated", p->tool->res->singular, id ? id : "", verb);
    else if (p->tool->op == OP_DELETE)
        snprintf(s, cap, "%s %s %s deleted", p->tool->res->singular, id ? id : "", verb);
    else
        snprintf(s, cap, "%s done%s", p->tool->name,
                 p->dry_run ? " (dry run: nothing stored)" : "");
}

engine_kind agent_run(const agent_req *r, agent_plan *p, buf *out, bool *rollback,
                      engine_audit *audit, const char **audit_ws)
{
    uint64_t start = time_mono_ns();
    *rollback = false;
    if (!p->tool) {
        int64_t at = (int64_t)time_now_ms();
        engine_kind k = run_resolve(r, p, out, start);
        const char *rid = json_string_value(json_object_get(r->body, "requestId"));
        *audit = (engine_audit){.channel = "agent",
                                .key_id = r->key_id,
                                .tool = RESOLVE,
                                .route = "POST /crm/agent/tools/{toolName}",
                                .reason = json_string_value(json_object_get(r->body, "reason")),
                                .request_id = rid ? rid : r->request_id,
                                .at_ms = at,
                                .duration_ms = (double)(time_mono_ns() - start) / 1e6};
        engine_result kind = {.kind = k};
        const char *code = engine_result_code(&kind);
        audit->outcome = code ? code : "ok";
        tools_input_hash(p->input, audit->input_hash);
        *audit_ws = r->key_ws;
        return k;
    }
    *audit_ws = p->org;
    engine_result res;
    engine_result_init(&res);
    tools_call(p->tool, &p->who, p->input, r->conn, r->a, &res, audit);
    engine_kind kind = res.kind;
    if (kind != EK_OK && kind != EK_CREATED) {
        *rollback = p->writes;
        json_t *next = NULL;
        if (res.param && !strcmp(res.param, "confirm")) {
            json_t *in = json_deep_copy(p->input);
            json_object_set_new(in, "confirm", json_true());
            json_object_del(in, "dryRun");
            next = next_action(p->tool->name, "apply it: the same call with confirm: true", in);
        }
        json_t *err = pack("{s:s, s:s, s:s?}", "code", engine_result_code(&res), "message",
                           res.message, "param", res.param);
        json_t *nexts = json_array();
        if (next) json_array_append_new(nexts, next);
        json_t *rs = result(r, p->org, "error", res.message, err, NULL, nexts, start, p->dry_run);
        envelope(out, r, false, rs, res.message, 0, 0);
        engine_result_release(&res);
        return kind;
    }
    buf b;
    buf_init(&b, ENGINE_MAX_DATA + 4096);
    tools_write_result(&b, &res);
    json_t *data = jr_load(b.data ? b.data : "null", b.len, JSON_DECODE_ANY, NULL);
    buf_free(&b);
    char summary[400];
    summarize(p, data, res.list, summary, sizeof summary);
    int n = res.list ? (int)json_array_size(json_object_get(data, "data")) : 1;
    json_t *rs = result(r, p->org, "success", summary, data, NULL, NULL, start, p->dry_run);
    envelope(out, r, true, rs, NULL, n, n);
    engine_result_release(&res);
    return EK_OK;
}
