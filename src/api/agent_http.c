/* agent_http.c - 002's CRM Agent API over HTTP: GET /crm/agent/capabilities
 * and POST /crm/agent/tools/{toolName}.
 *
 * Owns what HTTP adds to agent/agent.h: the key (refusals in 002's
 * envelope, not /v1's), the body's media type and JSON, the status of
 * each outcome, tool calls that write run on the writer of the target
 * workspace (organizationId, not the key's), and `requestId` as the
 * Idempotency-Key of a write, so a retried call replays its first answer. */
#include <string.h>

#include "agent/agent.h"
#include "api/api.h"
#include "api/routes.h"
#include "api/writer.h"
#include "core/jr.h"

/* A refusal api.c wrote in /v1's envelope (the key, limits), rewritten in
 * 002's with the same status and message. */
static int rewrap(api_req *q)
{
    json_t *j = jr_load(q->out.data ? q->out.data : "", q->out.len, 0, NULL);
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    json_t *env = json_pack("{s:b, s:n, s:s, s:{s:i, s:i, s:i, s:i, s:s}}", "success", 0, "data",
                            "error", msg ? msg : "refused", "meta", "page", 1, "perPage", 0,
                            "total", 0, "totalPages", 1, "requestId", q->request_id);
    char *s = env ? json_dumps(env, JSON_COMPACT) : NULL;
    buf_reset(&q->out);
    buf_puts(&q->out, s ? s : "{\"success\":false}");
    free(s);
    json_decref(env);
    json_decref(j);
    return -1;
}

static agent_req request_of(api_req *q)
{
    return (agent_req){.tool = q->pv[0],
                       .body = q->json,
                       .key_id = q->key.id,
                       .key_ws = q->key.workspace_id,
                       .super_admin = q->key.super_admin,
                       .request_id = q->request_id,
                       .conn = q->conn,
                       .a = &q->a};
}

int api_agent_capabilities(api_req *q)
{
    if (api_auth(q)) return rewrap(q);
    const char *org = api_param_get(q, "organizationId");
    agent_req r = request_of(q);
    for (int i = 0; i < q->nparams; i++)
        if (!q->params[i].used) {
            api_error(q, 400, "validation_failed", q->params[i].k,
                      "unknown query parameter '%.100s' (organizationId is the one)",
                      q->params[i].k);
            return rewrap(q);
        }
    q->status = api_status(agent_capabilities(&r, org, &q->out));
    return 0;
}

int api_agent_tool(api_req *q)
{
    if (api_auth(q)) return rewrap(q);
    if (!api_is_json(q->content_type)) {
        api_error(q, 415, "unsupported_media_type", NULL,
                  "the body must be sent as Content-Type: application/json");
        return rewrap(q);
    }
    json_error_t je;
    q->json = jr_load(q->body ? q->body : "", q->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(q->json)) {
        api_error(q, 400, "validation_failed", NULL, "the body must be a JSON object: %s",
                  q->json ? "it is another JSON value" : je.text);
        return rewrap(q);
    }
    if (q->nparams) {
        api_error(q, 400, "validation_failed", q->params[0].k,
                  "a tool call takes no query parameters ('%.100s')", q->params[0].k);
        return rewrap(q);
    }
    agent_req r = request_of(q);
    agent_plan p;
    engine_kind k = agent_prepare(&r, &p, &q->out);
    if (k != EK_OK) {
        q->status = api_status(k);
        return -1;
    }
    if (p.writes) {
        /* The target workspace's writer, as for its own keys' writes. */
        q->ws = arena_strdup(&q->a, p.org);
        const char *rid = json_string_value(json_object_get(q->json, "requestId"));
        if (rid && !p.dry_run) q->idem_key = arena_printf(&q->a, "agent:%s", rid);
        q->deferred = true;
        return 0;
    }
    bool rollback;
    engine_audit audit;
    const char *ws;
    q->status = api_status(agent_run(&r, &p, &q->out, &rollback, &audit, &ws));
    writer_audit(ws, &audit); /* a read: the writer appends it */
    return 0;
}

int api_agent_tool_write(api_req *q)
{
    agent_req r = request_of(q);
    agent_plan p;
    bool rollback = false;
    engine_kind k = agent_prepare(&r, &p, &q->out);
    if (k == EK_OK) {
        k = agent_run(&r, &p, &q->out, &rollback, &q->audit, &q->audit_ws);
        q->audited = true;
    }
    q->status = api_status(k);
    return k == EK_OK || k == EK_CREATED ? 0 : -1;
}
