/* routes.c - route table built from the resource table; see routes.h. */
#include "api/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/upload.h"
#include "resources/engine.h"

#define MAX_ROUTES 512

static api_route routes[MAX_ROUTES];
static int nroutes;

const api_route *api_routes(int *n)
{
    *n = nroutes;
    return routes;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p) abort();
    return p;
}

/* Splits a pattern like "/v1/contacts/{id}" into segments; variables
 * become "*". The strings live for the process. */
static api_route *add_route(api_method m, const char *pattern, const char *kind, const char *op_id,
                            const char *summary)
{
    if (nroutes == MAX_ROUTES) abort();
    api_route *rt = &routes[nroutes++];
    *rt = (api_route){.method = m,
                      .pattern = xstrdup(pattern),
                      .kind = kind,
                      .op_id = xstrdup(op_id),
                      .summary = xstrdup(summary)};
    char *copy = xstrdup(pattern);
    for (char *save = NULL, *s = strtok_r(copy, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (rt->nsegs == API_MAX_SEGS) abort();
        rt->segs[rt->nsegs++] = s[0] == '{' ? "*" : s;
    }
    return rt;
}

/* A fixed route, answered by the API itself. */
static void add_meta(const char *pattern, api_handler h, const char *scope, bool pub,
                     const char *op_id, const char *summary)
{
    api_route *rt = add_route(M_GET, pattern, NULL, op_id, summary);
    rt->handler = h;
    rt->scope = scope;
    rt->public = pub;
}

/* A route the engine answers: its scope and whether it writes come from
 * the engine, which checks them again on every call. */
static void add(api_method m, const char *pattern, engine_op op, const res_def *r,
                const res_sublist *sub, const res_action *a, const char *kind, const char *op_id,
                const char *summary)
{
    api_route *rt = add_route(m, pattern, kind, op_id, summary);
    rt->op = op;
    rt->res = r;
    rt->sub = sub;
    rt->action = a;
    rt->scope = engine_scope(op, r, a);
    rt->write = engine_writes(op, a);
}

static void camel(char *out, size_t cap, const char *verb, const char *name)
{
    size_t n = (size_t)snprintf(out, cap, "%s", verb);
    bool up = true;
    for (const char *p = name; *p && n + 1 < cap; p++) {
        if (*p == '-' || *p == '_' || *p == '/') {
            up = true;
            continue;
        }
        out[n++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p;
        up = false;
    }
    out[n] = '\0';
}

/* Whether an action answers method at pattern (an asset's DELETE
 * archives). */
static bool action_at(const char *pattern, const char *method)
{
    for (int i = 0; i < res_action_count; i++)
        if (!strcmp(res_actions[i].method, method) && !strncmp(pattern, "/v1/", 4) &&
            !strcmp(res_actions[i].path, pattern + 4))
            return true;
    return false;
}

static void add_resource(const res_def *r)
{
    char base[200], item[300], op[128], sum[256];
    if (r->parent) {
        const res_def *p = res_find(r->parent);
        snprintf(base, sizeof base, "/v1/%s/{id}/%s", p->path, r->subpath);
        snprintf(item, sizeof item, "%s/{%s_id}", base, r->singular);
    } else {
        snprintf(base, sizeof base, "/v1/%s", r->path);
        snprintf(item, sizeof item, "%s/{id}", base);
    }
    /* The five generic operations every resource gets. */
    static const struct {
        api_method m;
        engine_op op;
        const char *kind, *summary;
        bool item;
    } ops[] = {
        {M_GET, OP_LIST, "list", "List %s", false},
        {M_POST, OP_CREATE, "create", "Create a %s", false},
        {M_GET, OP_GET, "get", "Get a %s", true},
        {M_PATCH, OP_UPDATE, "update", "Update a %s (partial)", true},
        {M_DELETE, OP_DELETE, "delete", "Delete a %s", true},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (r->read_only && ops[i].op != OP_LIST && ops[i].op != OP_GET) continue;
        if ((ops[i].op == OP_LIST || ops[i].op == OP_GET) && res_get_action(r, ops[i].item))
            continue;                                                      /* it answers instead */
        if (ops[i].op == OP_DELETE && action_at(item, "DELETE")) continue; /* the same */
        const char *noun = ops[i].op == OP_LIST ? r->name : r->singular;
        camel(op, sizeof op, ops[i].kind, noun);
        snprintf(sum, sizeof sum,
                 ops[i].op == OP_DELETE && r->archive ? "Archive a %s" : ops[i].summary, noun);
        add(ops[i].m, ops[i].item ? item : base, ops[i].op, r, NULL, NULL, ops[i].kind, op, sum);
    }
}

/* Routes the engine derives from a resource's flags. */
static void add_derived(const res_def *r)
{
    char pat[300], op[128], sum[256];
    if (r->batch) {
        snprintf(pat, sizeof pat, "/v1/%s/batch", r->path);
        camel(op, sizeof op, "batch", r->name);
        snprintf(sum, sizeof sum, "Create, update or upsert up to 100 %s, each on its own",
                 r->name);
        add(M_POST, pat, OP_BATCH, r, NULL, NULL, "batch", op, sum);
    }
    if (r->mergeable) {
        snprintf(pat, sizeof pat, "/v1/%s/{id}/merge", r->path);
        camel(op, sizeof op, "merge", r->name);
        snprintf(sum, sizeof sum, "Merge other %s into this one", r->name);
        add(M_POST, pat, OP_MERGE, r, NULL, NULL, "merge", op, sum);
    }
    if (r->timeline) {
        snprintf(pat, sizeof pat, "/v1/%s/{id}/timeline", r->path);
        camel(op, sizeof op, "timeline", r->singular);
        snprintf(sum, sizeof sum, "A %s's history, related tasks and activities, newest first",
                 r->singular);
        add(M_GET, pat, OP_TIMELINE, r, NULL, NULL, "timeline", op, sum);
    }
}

static api_method method_of(const char *m)
{
    if (strcmp(m, "GET") == 0) return M_GET;
    if (strcmp(m, "POST") == 0) return M_POST;
    if (strcmp(m, "PATCH") == 0) return M_PATCH;
    if (strcmp(m, "DELETE") == 0) return M_DELETE;
    abort(); /* a typo in the action table */
}

void routes_build(void)
{
    if (nroutes) return;
    add_meta("/healthz", meta_healthz, NULL, true, "healthz", "Liveness");
    add_meta("/readyz", meta_readyz, NULL, true, "readyz", "Readiness: the database answers");
    add_meta("/metrics", meta_metrics, "workspace:admin", false, "metrics", "Prometheus metrics");
    add_meta("/v1/openapi.json", meta_openapi, NULL, true, "getOpenapi",
             "This API's OpenAPI 3.1 document");
    api_route *mcp = add_route(M_POST, "/mcp", NULL, "mcp", "Model Context Protocol");
    mcp->handler = api_mcp;
    mcp->on_writer = api_mcp_write;
    mcp->public = true; /* it checks Origin before the key */
    mcp->hidden = true;
    /* 002's own envelope, even for a refused key: they authenticate
     * themselves, and 002 is their contract, not the OpenAPI document. */
    api_route *caps = add_route(M_GET, "/crm/agent/capabilities", NULL, "agentCapabilities",
                                "CRM Agent API: the tool catalogue");
    caps->handler = api_agent_capabilities;
    caps->public = caps->hidden = true;
    api_route *tool = add_route(M_POST, "/crm/agent/tools/{toolName}", NULL, "agentTool",
                                "CRM Agent API: run one tool");
    tool->handler = api_agent_tool;
    tool->on_writer = api_agent_tool_write;
    tool->public = tool->hidden = true;
    /* An asset's bytes, in and out: the link's signature authorizes
     * (api/upload.c), and the transport streams the body. */
    api_route *put = add_route(M_PUT, "/v1/assets/{id}/content", NULL, "uploadAssetContent",
                               "Upload an asset's bytes to its signed upload_url");
    put->handler = upload_put;
    put->on_writer = upload_put_record;
    put->public = true;
    api_route *get = add_route(M_GET, "/v1/assets/{id}/content", NULL, "downloadAssetContent",
                               "Download an asset's bytes from its signed download_url");
    get->handler = upload_get;
    get->public = true;
    api_route *exp =
        add_route(M_GET, "/v1/bi/exports/{id}/content", NULL, "downloadBiExportContent",
                  "Download a BI export's file from its signed download_url");
    exp->handler = upload_get;
    exp->public = true;
    add(M_GET, "/v1/workspace", OP_WORKSPACE_GET, NULL, NULL, NULL, "workspace", "getWorkspace",
        "Get workspace summary");
    add(M_PATCH, "/v1/workspace", OP_WORKSPACE_UPDATE, NULL, NULL, NULL, "workspace",
        "updateWorkspace", "Switch the workspace's modules on and off");
    /* Actions before the generic routes: the first match wins, and an
     * action's path is the more specific of two of the same shape. */
    for (int i = 0; i < res_action_count; i++) {
        const res_action *a = &res_actions[i];
        const res_def *r = res_find(a->res);
        char pat[256];
        snprintf(pat, sizeof pat, "/v1/%s", a->path);
        add(method_of(a->method), pat, OP_ACTION, r, NULL, a, "action", a->op_id, a->summary);
    }
    for (int i = 0; i < res_count; i++) {
        add_derived(res_table[i]);
        add_resource(res_table[i]);
    }
    for (int i = 0; i < res_sublist_count; i++) {
        const res_sublist *s = &res_sublists[i];
        const res_def *owner = res_find(s->owner), *r = res_find(s->res);
        char pat[256], op[128], sum[256];
        snprintf(pat, sizeof pat, "/v1/%s/{id}/%s", owner->path, s->name);
        camel(op, sizeof op, "list", owner->singular);
        camel(op + strlen(op), sizeof op - strlen(op), "", s->name);
        snprintf(sum, sizeof sum, "List %s linked to a %s", s->name, owner->singular);
        add(M_GET, pat, OP_SUBLIST, r, s, NULL, "sublist", s->op_list ? s->op_list : op, sum);
        if (!s->create) continue;
        camel(op, sizeof op, "create", owner->singular);
        camel(op + strlen(op), sizeof op - strlen(op), "", r->singular);
        snprintf(sum, sizeof sum, "Create a %s linked to a %s", r->singular, owner->singular);
        add(M_POST, pat, OP_SUBCREATE, r, s, NULL, "subcreate", s->op_create ? s->op_create : op,
            sum);
    }
}

const api_route *routes_match(api_req *q, int *allowed)
{
    const char *segs[API_MAX_SEGS + 1];
    size_t lens[API_MAX_SEGS + 1];
    int n = 0;
    const char *p = q->path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p) break;
        if (n > API_MAX_SEGS) return NULL;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        segs[n] = s;
        lens[n++] = (size_t)(p - s);
    }
    if (n > API_MAX_SEGS) return NULL;
    *allowed = 0;
    for (int i = 0; i < nroutes; i++) {
        const api_route *rt = &routes[i];
        if (rt->nsegs != n) continue;
        int v = 0;
        bool ok = true;
        const char *pv[3] = {0};
        for (int k = 0; k < n && ok; k++) {
            if (rt->segs[k][0] == '*') {
                if (v < 3) pv[v++] = arena_strndup(&q->a, segs[k], lens[k]);
            } else {
                ok = strlen(rt->segs[k]) == lens[k] && memcmp(rt->segs[k], segs[k], lens[k]) == 0;
            }
        }
        if (!ok) continue;
        if (rt->method != q->method && !(q->method == M_HEAD && rt->method == M_GET)) {
            *allowed |= 1 << rt->method;
            continue;
        }
        memcpy(q->pv, pv, sizeof pv);
        return rt;
    }
    return NULL;
}
