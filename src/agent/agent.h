/* agent.h - 002's CRM Agent API: capabilities and tool calls, in its envelope.
 *
 * Owns: the meaning of `GET /crm/agent/capabilities` and `POST
 * /crm/agent/tools/{toolName}` (002_ae84e72ccafe9fa2.txt): the catalogue with
 * risk levels, dry-run support, modules, schemas and examples; the call
 * body {organizationId, input, reason, requestId} and its checks; the
 * super-admin rule; the target workspace (organizationId) and its
 * `outbound` module; crm_resolve_workspace; and the result {toolName,
 * organizationId, status, summary, data, warnings, nextActions, durationMs,
 * dryRun} inside {success, data, error, meta}. Every error says the next
 * step where one exists (nextActions). The tools themselves are
 * agent/tools.h's: one catalogue for every transport. src/api/ turns the
 * returned kind into an HTTP status; this module writes the body.
 *
 * A call is handled in two steps so a transport can run writes on its
 * writer: agent_prepare checks it (and says whether it writes), then
 * agent_run runs it on a connection inside a write transaction when it
 * writes. Both write the whole answer body into `out`. */
#ifndef CAIRN_AGENT_H
#define CAIRN_AGENT_H

#include <jansson.h>
#include <stdbool.h>

#include "agent/tools.h"
#include "core/buf.h"

#define AGENT_MAX_REASON     500
#define AGENT_MAX_REQUEST_ID 120

typedef struct agent_req {
    const char *tool; /* the path's toolName */
    json_t *body;     /* the call body (borrowed) */
    const char *key_id;
    const char *key_ws; /* the key's own workspace: where crm_resolve_workspace is audited */
    bool super_admin;
    const char *request_id; /* the transport's, for meta.requestId */
    store_conn *conn;
    arena *a;
} agent_req;

/* What agent_prepare found, for agent_run. */
typedef struct agent_plan {
    const tool_def *tool; /* NULL for crm_resolve_workspace */
    const char *org;      /* the target workspace's id */
    store_workspace ws;
    tool_caller who;
    json_t *input;
    bool dry_run, writes;
} agent_plan;

/* GET /crm/agent/capabilities; org (may be NULL) must exist and have the
 * outbound module on. */
engine_kind agent_capabilities(const agent_req *r, const char *org, buf *out);
/* Checks the caller, the body, the tool and the workspace. EK_OK with
 * *plan set (plan->writes: agent_run needs a write transaction); otherwise
 * the error answer is in out. */
engine_kind agent_prepare(const agent_req *r, agent_plan *plan, buf *out);
/* Runs a prepared call. *rollback is set when a write failed (the caller
 * undoes it). *audit is the call's audit entry, for the caller to append
 * to workspace *audit_ws (after undoing a failed write). */
engine_kind agent_run(const agent_req *r, agent_plan *plan, buf *out, bool *rollback,
                      engine_audit *audit, const char **audit_ws);

#endif
