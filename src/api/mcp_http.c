/* mcp_http.c - MCP's Streamable HTTP transport at POST /mcp (stateless).
 *
 * Owns what HTTP adds to MCP (agent/mcp.h has the messages): the Origin
 * check against DNS rebinding (before anything else, 403), the key (the
 * same Bearer keys as /v1), the MCP-Protocol-Version header (400 when
 * unsupported), one JSON-RPC message per POST answered as
 * application/json, 202 for notifications and responses, and tool calls
 * that write run on the writer like every other write. No session is kept
 * or needed, so GET and DELETE are 405. */
#include <string.h>

#include "agent/mcp.h"
#include "api/api.h"
#include "api/routes.h"
#include "api/writer.h"

static const char *allowed_origins; /* --mcp-origins: more origins, comma-separated */

void mcp_http_init(const char *origins)
{
    allowed_origins = origins;
}

/* The host of an origin "scheme://host[:port]", without the port. */
static bool origin_host(const char *o, char *host, size_t cap)
{
    const char *p = strstr(o, "://");
    if (!p) return false;
    p += 3;
    size_t n = p[0] == '[' ? strcspn(p, "]") + 1 : strcspn(p, ":/");
    if (n == 0 || n >= cap) return false;
    memcpy(host, p, n);
    host[n] = '\0';
    return true;
}

/* A page of another site must not reach a server on this machine through
 * a name that resolves here: browsers send its Origin, which must be this
 * machine's own (loopback) or one the operator allowed. Clients that are
 * not browsers send none. */
static bool origin_ok(const char *origin)
{
    if (!origin) return true;
    char host[256];
    if (origin_host(origin, host, sizeof host) &&
        (strcasecmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0 ||
         strcmp(host, "[::1]") == 0))
        return true;
    size_t n = strlen(origin);
    for (const char *p = allowed_origins; p && *p;) {
        size_t m = strcspn(p, ",");
        if (m == n && strncasecmp(p, origin, n) == 0) return true;
        p += m;
        if (*p == ',') p++;
    }
    return false;
}

/* A transport-level refusal: JSON-RPC's error shape without an id. */
static int refuse(api_req *q, int status, int code, const char *msg)
{
    buf_reset(&q->out);
    q->status = status;
    q->out_type = "application/json";
    buf_printf(&q->out,
               "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":%d,\"message\":", code);
    jw_escape(&q->out, msg, strlen(msg));
    buf_puts(&q->out, "}}");
    return -1;
}

/* The call's context: the key's workspace and scopes, and ?toolsets=. */
static int context(api_req *q, mcp_ctx *ctx)
{
    *ctx = (mcp_ctx){.who = {.ws = q->ws,
                             .actor = q->key.id,
                             .scopes = q->key.scopes,
                             .super_admin = q->key.super_admin,
                             .disabled = q->key.disabled_modules,
                             .currency = q->key.currency,
                             .trace = q->request_id,
                             .channel = "mcp",
                             .route = "POST /mcp tools/call",
                             .request_id = q->request_id},
                     .toolsets = tools_default_sets(),
                     .conn = q->conn,
                     .a = &q->a};
    const char *sets = api_param_get(q, "toolsets");
    char err[200];
    if (sets && !tools_parse_sets(sets, &ctx->toolsets, err, sizeof err))
        return refuse(q, 400, -32602, err);
    for (int i = 0; i < q->nparams; i++)
        if (!q->params[i].used) {
            char m[200];
            snprintf(m, sizeof m, "unknown query parameter '%.100s' (toolsets is the one)",
                     q->params[i].k);
            return refuse(q, 400, -32602, m);
        }
    return 0;
}

int api_mcp(api_req *q)
{
    if (!origin_ok(q->origin)) return refuse(q, 403, -32600, "this Origin may not use the server");
    if (api_auth(q)) return -1;
    if (!api_is_json(q->content_type))
        return refuse(q, 415, -32600,
                      "send one JSON-RPC message as Content-Type: application/json");
    mcp_ctx ctx;
    if (context(q, &ctx)) return -1;
    json_t *msg;
    buf_reset(&q->out);
    mcp_kind k = mcp_read(q->body ? q->body : "", q->body_len, &msg, &q->out);
    if (k == MCP_INVALID) {
        q->status = 400;
        return -1;
    }
    if (k != MCP_REQUEST) {
        json_decref(msg);
        q->status = 202;
        return 0;
    }
    if (q->mcp_version && !mcp_version_supported(q->mcp_version)) {
        json_decref(msg);
        return refuse(q, 400, -32600,
                      "unsupported MCP-Protocol-Version (this server speaks " MCP_LATEST_VERSION
                      ", 2025-06-18, 2025-03-26 and 2024-11-05)");
    }
    if (mcp_writes(msg)) {
        q->json = msg; /* the writer answers it; api_req_release frees it */
        q->deferred = true;
        return 0;
    }
    bool rollback;
    engine_audit audit;
    q->status = 200;
    mcp_answer(&ctx, msg, &q->out, &rollback, &audit);
    if (audit.tool) writer_audit(q->ws, &audit); /* a read: the writer appends it */
    json_decref(msg);
    return 0;
}

int api_mcp_write(api_req *q)
{
    mcp_ctx ctx;
    if (context(q, &ctx)) return -1;
    bool rollback;
    q->status = 200;
    mcp_answer(&ctx, q->json, &q->out, &rollback, &q->audit);
    q->audited = q->audit.tool != NULL;
    q->audit_ws = q->ws;
    return rollback ? -1 : 0;
}
