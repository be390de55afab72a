/* mcp.h - the Model Context Protocol (revision 2025-11-25) over any byte
 * transport: JSON-RPC 2.0 messages in, answers out.
 *
 * Owns: reading one JSON-RPC message (parse errors, batches and malformed
 * requests answered with JSON-RPC errors), version negotiation
 * (`initialize` echoes a version it supports, else its latest), `ping`,
 * `tools/list` (the catalogue of agent/tools.h for the chosen tool sets,
 * in a stable order, paged by an opaque cursor) and `tools/call` (business
 * and validation failures as `isError` results a model can correct;
 * unknown tools and bad parameters as JSON-RPC errors), and the stdio
 * transport (`cairn mcp`: one message per line). The server is stateless:
 * no session is needed to call a tool. Streamable HTTP's own rules
 * (status codes, Origin, headers) live in src/api/, which calls this.
 *
 * A message is handled in two steps so that a transport can run writes
 * elsewhere: mcp_read classifies it, mcp_writes says whether answering it
 * needs a write transaction, and mcp_answer answers it on a connection. */
#ifndef CAIRN_MCP_H
#define CAIRN_MCP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "agent/tools.h"
#include "core/buf.h"

#define MCP_LATEST_VERSION "2025-11-25"
#define MCP_MAX_MESSAGE    (4u << 20)

typedef enum mcp_kind {
    MCP_REQUEST,      /* has an id and a method: answer it */
    MCP_NOTIFICATION, /* a method without an id: nothing to answer */
    MCP_RESPONSE,     /* a client's answer to a server request: nothing to answer */
    MCP_INVALID,      /* not a message: the reply holds a JSON-RPC error */
} mcp_kind;

typedef struct mcp_ctx {
    tool_caller who;
    uint32_t toolsets; /* tools_parse_sets mask */
    store_conn *conn;
    arena *a;
} mcp_ctx;

/* Whether MCP-Protocol-Version names a revision this server speaks. */
bool mcp_version_supported(const char *v);

/* Parses one message. *out gets the parsed value (json_decref it) for
 * requests, notifications and responses; for MCP_INVALID reply holds the
 * error answer and *out is NULL. */
mcp_kind mcp_read(const char *text, size_t len, json_t **out, buf *reply);
/* A request needs a write transaction: a tools/call of a tool that writes. */
bool mcp_writes(const json_t *msg);
/* Answers the request msg into reply. *rollback is set when a write it
 * ran failed (the caller undoes it). When the request called a tool,
 * audit->tool is set and *audit is the call's audit entry, for the
 * caller to append (after undoing a failed write); NULL otherwise. */
void mcp_answer(mcp_ctx *ctx, const json_t *msg, buf *reply, bool *rollback, engine_audit *audit);

/* Serves newline-delimited messages from in, answers to out, until end of
 * input; writes run each in their own transaction on ctx->conn, with
 * their audit entry (a read's entry in a transaction of its own). Logs go
 * to stderr. Returns 0, or 1 when the store failed for good. */
int mcp_serve_stdio(mcp_ctx *ctx, FILE *in, FILE *out);

#endif
