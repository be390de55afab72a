/* mcp.c - Model Context Protocol messages and the stdio transport; see
 * mcp.h. */
#include "agent/mcp.h"

#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/jr.h"
#include "core/jw.h"

#define PAGE_TOOLS     100
#define SERVER_VERSION "0.1.0"

/* JSON-RPC 2.0's error codes. */
enum {
    RPC_PARSE = -32700,
    RPC_INVALID_REQUEST = -32600,
    RPC_NO_METHOD = -32601,
    RPC_INVALID_PARAMS = -32602,
    RPC_INTERNAL = -32603,
};

/* Newest first: initialize answers the client's when it is here, else the
 * first. The older ones differ from the newest in nothing this server
 * offers (tools, no sessions, no streaming). */
static const char *const versions[] = {MCP_LATEST_VERSION, "2025-06-18", "2025-03-26",
                                       "2024-11-05"};

bool mcp_version_supported(const char *v)
{
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++)
        if (strcmp(v, versions[i]) == 0) return true;
    return false;
}

/* ------------------------------------------------------------- replies */

static void put_id(buf *b, const json_t *id)
{
    char *s = id ? json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    buf_puts(b, s ? s : "null");
    free(s);
}

/* Starts {"jsonrpc":"2.0","id":...,"result": and leaves the result open
 * for the caller, who closes the whole with result_end. */
static void result_start(buf *b, const json_t *id)
{
    buf_reset(b);
    buf_puts(b, "{\"jsonrpc\":\"2.0\",\"id\":");
    put_id(b, id);
    buf_puts(b, ",\"result\":");
}

static void result_end(buf *b)
{
    buf_putc(b, '}');
}

static void rpc_error(buf *b, const json_t *id, int code, const char *msg)
{
    buf_reset(b);
    buf_puts(b, "{\"jsonrpc\":\"2.0\",\"id\":");
    put_id(b, id);
    buf_printf(b, ",\"error\":{\"code\":%d,\"message\":", code);
    jw_escape(b, msg, strlen(msg));
    buf_puts(b, "}}");
}

/* ------------------------------------------------------------- reading */

static bool valid_id(const json_t *id)
{
    /* MCP narrows JSON-RPC: a request's id is a string or an integer,
     * never null. */
    return json_is_string(id) || json_is_integer(id);
}

mcp_kind mcp_read(const char *text, size_t len, json_t **out, buf *reply)
{
    *out = NULL;
    if (len > MCP_MAX_MESSAGE) {
        rpc_error(reply, NULL, RPC_INVALID_REQUEST, "the message is larger than 4 MiB");
        return MCP_INVALID;
    }
    json_error_t je;
    json_t *j = jr_load(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!j) {
        char m[300];
        snprintf(m, sizeof m, "parse error: %s (at %d:%d)", je.text, je.line, je.column);
        rpc_error(reply, NULL, RPC_PARSE, m);
        return MCP_INVALID;
    }
    const char *why = NULL;
    json_t *id = NULL;
    if (json_is_array(j))
        why = "batches are not supported: send one JSON-RPC message at a time";
    else if (!json_is_object(j))
        why = "a JSON-RPC message is an object";
    else {
        id = json_object_get(j, "id");
        json_t *v = json_object_get(j, "jsonrpc"), *m = json_object_get(j, "method");
        if (id && !valid_id(id)) id = NULL, why = "id must be a string or an integer";
        if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
            why = "jsonrpc must be \"2.0\"";
        else if (m && !json_is_string(m))
            why = "method must be a string";
        else if (!m && !(id && (json_object_get(j, "result") || json_object_get(j, "error"))))
            why = "a message needs a method (or, as a response, an id and a result or error)";
        else if (m && json_object_get(j, "params") && !json_is_object(json_object_get(j, "params")))
            why = "params must be an object";
        else if (!why) {
            *out = j;
            return !m ? MCP_RESPONSE : id ? MCP_REQUEST : MCP_NOTIFICATION;
        }
    }
    rpc_error(reply, id, RPC_INVALID_REQUEST, why);
    json_decref(j);
    return MCP_INVALID;
}

static const char *method_of(const json_t *msg)
{
    return json_string_value(json_object_get(msg, "method"));
}

static const tool_def *called_tool(const json_t *msg)
{
    const char *m = method_of(msg);
    if (!m || strcmp(m, "tools/call") != 0) return NULL;
    json_t *p = json_object_get(msg, "params");
    const char *name = json_string_value(json_object_get(p, "name"));
    return name ? tools_find(name) : NULL;
}

bool mcp_writes(const json_t *msg)
{
    const tool_def *t = called_tool(msg);
    return t && tools_writes(t);
}

/* ------------------------------------------------------------- methods */

static void initialize(const json_t *id, const json_t *params, buf *b)
{
    const char *want = json_string_value(json_object_get(params, "protocolVersion"));
    if (!want) {
        rpc_error(b, id, RPC_INVALID_PARAMS, "params.protocolVersion is required");
        return;
    }
    const char *v = mcp_version_supported(want) ? want : MCP_LATEST_VERSION;
    result_start(b, id);
    buf_puts(b, "{\"protocolVersion\":");
    jw_escape(b, v, strlen(v));
    buf_puts(
        b,
        ",\"capabilities\":{\"tools\":{\"listChanged\":false}},"
        "\"serverInfo\":{\"name\":\"cairn\",\"title\":\"Cairn CRM\",\"version\":\"" SERVER_VERSION
        "\"},\"instructions\":\"Cairn is a CRM server. Every tool acts inside the "
        "workspace of the key you connected with, within its scopes. Ids carry a type "
        "prefix (con_, com_, deal_...). Lists answer a page and a next_cursor to pass as "
        "cursor. Writes accept dryRun: true to see what would be stored; deletes and "
        "merges need confirm: true. Money is integer cents with an ISO 4217 "
        "currency.\"}");
    result_end(b);
}

static bool listed(const mcp_ctx *ctx, const tool_def *t)
{
    return (t->toolsets & ctx->toolsets) && tools_allowed(t, &ctx->who);
}

static void list_tools(mcp_ctx *ctx, const json_t *id, const json_t *params, buf *b)
{
    int start = 0, n = tools_count();
    json_t *cur = json_object_get(params, "cursor");
    if (cur) {
        const char *s = json_string_value(cur);
        char *end = NULL;
        long v = s && s[0] == 't' ? strtol(s + 1, &end, 10) : -1;
        if (!end || *end || v < 0 || v > n) {
            rpc_error(b, id, RPC_INVALID_PARAMS, "params.cursor is not a cursor this server gave");
            return;
        }
        start = (int)v;
    }
    result_start(b, id);
    buf_puts(b, "{\"tools\":[");
    int shown = 0, i = start;
    for (; i < n && shown < PAGE_TOOLS; i++) {
        const tool_def *t = tools_at(i);
        if (!listed(ctx, t)) continue;
        if (shown++) buf_putc(b, ',');
        buf_append(b, t->json, t->json_len);
    }
    while (i < n && !listed(ctx, tools_at(i)))
        i++;
    buf_puts(b, "]");
    if (i < n) buf_printf(b, ",\"nextCursor\":\"t%d\"", i);
    buf_putc(b, '}');
    result_end(b);
}

static void call_tool(mcp_ctx *ctx, const json_t *id, const json_t *params, buf *b, bool *rollback,
                      engine_audit *audit)
{
    json_t *name = json_object_get(params, "name");
    if (!json_is_string(name)) {
        rpc_error(b, id, RPC_INVALID_PARAMS, "params.name must be the name of a tool");
        return;
    }
    const tool_def *t = tools_find(json_string_value(name));
    if (!t || !(t->toolsets & ctx->toolsets)) {
        char m[300];
        snprintf(m, sizeof m, "Unknown tool: %.200s", json_string_value(name));
        rpc_error(b, id, RPC_INVALID_PARAMS, m);
        return;
    }
    engine_result r;
    engine_result_init(&r);
    tools_call(t, &ctx->who, json_object_get(params, "arguments"), ctx->conn, ctx->a, &r, audit);
    bool ok = r.kind == EK_OK || r.kind == EK_CREATED;
    *rollback = !ok && tools_writes(t);
    /* The answer's text: a record's as the engine wrote it (no copy), a
     * page's with its cursor, or the error as the REST API words it, for
     * a model to correct. */
    buf text;
    buf_init(&text, ENGINE_MAX_DATA + 4096);
    const char *out = r.data.data;
    size_t n = r.data.len;
    if (!ok || r.list || !out) {
        if (ok) {
            tools_write_result(&text, &r);
        } else {
            jw w;
            jw_init(&w, &text);
            jw_obj_open(&w);
            jw_key(&w, "error");
            jw_obj_open(&w);
            jw_kstr(&w, "code", engine_result_code(&r));
            jw_kstr(&w, "message", r.message);
            jw_kstr(&w, "param", r.param);
            if (r.extra_key) jw_kstr(&w, r.extra_key, r.extra_val);
            jw_obj_close(&w);
            jw_obj_close(&w);
        }
        out = text.data ? text.data : "";
        n = text.len;
    }
    if (text.overflow) {
        rpc_error(b, id, RPC_INTERNAL, "the answer is too large; ask for a smaller page");
    } else {
        buf_reserve(b, 2 * n + 256); /* escaped and as is: one allocation */
        result_start(b, id);
        buf_puts(b, "{\"content\":[{\"type\":\"text\",\"text\":");
        jw_escape(b, out, n);
        buf_puts(b, "}]");
        if (ok) {
            buf_puts(b, ",\"structuredContent\":");
            buf_append(b, out, n);
        }
        buf_printf(b, ",\"isError\":%s}", ok ? "false" : "true");
        result_end(b);
    }
    buf_free(&text);
    engine_result_release(&r);
}

void mcp_answer(mcp_ctx *ctx, const json_t *msg, buf *reply, bool *rollback, engine_audit *audit)
{
    *rollback = false;
    audit->tool = NULL;
    const json_t *id = json_object_get(msg, "id");
    const json_t *params = json_object_get(msg, "params");
    const char *m = method_of(msg);
    if (strcmp(m, "initialize") == 0) {
        initialize(id, params, reply);
    } else if (strcmp(m, "ping") == 0) {
        result_start(reply, id);
        buf_puts(reply, "{}");
        result_end(reply);
    } else if (strcmp(m, "tools/list") == 0) {
        list_tools(ctx, id, params, reply);
    } else if (strcmp(m, "tools/call") == 0) {
        call_tool(ctx, id, params, reply, rollback, audit);
    } else {
        char e[300];
        snprintf(e, sizeof e, "Method not found: %.200s", m);
        rpc_error(reply, id, RPC_NO_METHOD, e);
    }
}

/* --------------------------------------------------------------- stdio */

/* Answers one request: a tool call in a write transaction of its own,
 * which holds its audit entry too (after a failed write is undone).
 * Returns false when the store failed on begin or commit. */
static bool answer_one(mcp_ctx *ctx, const json_t *msg, buf *reply)
{
    bool rollback = false;
    engine_audit audit;
    const char *m = method_of(msg);
    if (strcmp(m, "tools/call") != 0) {
        mcp_answer(ctx, msg, reply, &rollback, &audit);
        return true;
    }
    store_err e;
    int rc = store_begin(ctx->conn, true, &e);
    if (rc == STORE_OK) rc = store_savepoint(ctx->conn, &e);
    if (rc == STORE_OK) {
        mcp_answer(ctx, msg, reply, &rollback, &audit);
        if (rollback)
            store_rollback_to(ctx->conn);
        else
            rc = store_release(ctx->conn, &e);
    }
    if (rc == STORE_OK && audit.tool) rc = engine_audit_append(ctx->conn, ctx->who.ws, &audit, &e);
    if (rc == STORE_OK) rc = store_commit(ctx->conn, &e);
    if (rc == STORE_OK) {
        engine_committed();
        return true;
    }
    store_rollback(ctx->conn);
    fprintf(stderr, "{\"level\":\"error\",\"msg\":\"mcp write failed\",\"store\":\"%s\"}\n", e.msg);
    char text[400];
    snprintf(text, sizeof text, "the database could not write: %.300s", e.msg);
    rpc_error(reply, json_object_get(msg, "id"), RPC_INTERNAL, text);
    return rc != STORE_UNAVAILABLE;
}

int mcp_serve_stdio(mcp_ctx *ctx, FILE *in, FILE *out)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    buf reply;
    buf_init(&reply, ENGINE_MAX_DATA + (1u << 20));
    int ret = 0;
    char rid[ID_MAX]; /* each message is a request of its own, in logs and the audit log */
    while ((n = getline(&line, &cap, in)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0) continue;
        arena a;
        arena_init(&a);
        ctx->a = &a;
        id_new(rid, "req");
        ctx->who.trace = ctx->who.request_id = rid;
        json_t *msg;
        buf_reset(&reply);
        mcp_kind k = mcp_read(line, (size_t)n, &msg, &reply);
        bool ok = true;
        if (k == MCP_REQUEST) ok = answer_one(ctx, msg, &reply);
        json_decref(msg);
        arena_release(&a);
        ctx->a = NULL;
        if (reply.len) {
            fwrite(reply.data, 1, reply.len, out);
            fputc('\n', out);
            fflush(out);
        }
        if (!ok) {
            ret = 1;
            break;
        }
    }
    free(line);
    buf_free(&reply);
    return ret;
}
