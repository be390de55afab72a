/* tools.h - the agent tool catalogue: tools derived from the resource table.
 *
 * Owns: the list of tools every agent transport offers (MCP over HTTP and
 * stdio today, 002's /crm/agent next), each a name, a description, a risk
 * level, a tool set, JSON Schemas of its input and output (built from the
 * same declarations as the OpenAPI document), and how one call of it
 * becomes an engine call: the input is checked against the input schema
 * first (a failure names the JSON path), then translated (ids, query
 * parameters, body, dry run) and run by the engine. Tools are derived, not
 * written: every resource of the table gets list, get, create, update and
 * delete tools (as its routes allow), every action one tool, mergeable
 * resources a merge and timelines a timeline tool, so a new resource is new
 * tools with no code. Transports know their own envelopes; this module
 * knows none, and nothing of HTTP.
 *
 * The catalogue is built once (tools_init, idempotent and thread-safe) and
 * read-only afterwards. */
#ifndef CAIRN_TOOLS_H
#define CAIRN_TOOLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "resources/engine.h"

typedef enum tool_risk { TOOL_READ, TOOL_WRITE, TOOL_DESTRUCTIVE } tool_risk;

extern const char *const tool_risk_names[3]; /* "read", "write", "destructive" */

typedef struct tool_def {
    const char *name;  /* snake case of the route's operationId: list_contacts */
    const char *title; /* the route's summary */
    const char *description;
    tool_risk risk;
    bool idempotent;   /* calling it twice with the same input changes nothing more */
    uint32_t toolsets; /* 1 << the module of its set */
    engine_op op;
    const res_def *res;
    const res_action *action;
    bool agent_api;       /* one of 002's tools: super-admin keys only */
    const char *id_field; /* the input member holding the record's id, or NULL */
    int parent_field;     /* nested resources: the field holding the parent's id, else -1 */
    json_t *input_schema, *output_schema;
    char *json; /* the tool as MCP lists it (name, title, description, schemas,
                   annotations), rendered once */
    size_t json_len;
} tool_def;

/* Who calls, and where: what an engine call needs of its caller. */
typedef struct tool_caller {
    const char *ws;
    const char *actor;  /* the key's id */
    const char *scopes; /* space-separated */
    bool super_admin;   /* 002's tools take only these keys */
    uint32_t disabled;  /* the workspace's switched-off modules, 1 << res_module */
    const char *currency;
    const char *trace; /* the request id, for logs */
    /* For the audit log: how the call came, and what the caller said. */
    const char *channel;    /* "mcp", "stdio", "agent" */
    const char *route;      /* "POST /mcp tools/call", ... */
    const char *reason;     /* may be NULL */
    const char *request_id; /* the caller's, else the request's */
} tool_caller;

/* Tool sets, so a model's context holds only what it needs: one per
 * module, with tasks and the activity log in `crm`. */
#define TOOLSET_ALL UINT32_MAX
/* What to offer when the client does not choose: crm and outbound. */
uint32_t tools_default_sets(void);
/* Parses "crm,support" or "all" into a mask; false with err naming the
 * unknown set. */
bool tools_parse_sets(const char *csv, uint32_t *mask, char *err, size_t cap);

void tools_init(void);
int tools_count(void);
const tool_def *tools_at(int i);
const tool_def *tools_find(const char *name);
/* The key may call the tool: its scope, and the tool's module is enabled. */
bool tools_allowed(const tool_def *t, const tool_caller *who);
/* Whether a call of the tool writes (needs a write transaction). */
bool tools_writes(const tool_def *t);

/* Runs one call of t with input (an object; NULL counts as {}): checks it
 * against the input schema, then runs the engine call on conn (inside a
 * write transaction when the tool writes; a failed write leaves undoing
 * to the caller's savepoint). out holds the engine's result; audit (may
 * be NULL) gets the call's audit entry, for the transport to append. */
void tools_call(const tool_def *t, const tool_caller *who, json_t *input, store_conn *conn,
                arena *a, engine_result *out, engine_audit *audit);

/* The audit log's hash of an input: SHA-256 (hex, out holds 65 bytes) of
 * its compact JSON with sorted keys; NULL hashes as {}. */
void tools_input_hash(const json_t *input, char *out);
/* The text that hash is of: into out (cap bytes) when it fits, else into
 * *big (malloc, the caller frees); its length, 0 for NULL or no memory. */
size_t tools_input_text(const json_t *input, char *out, size_t cap, char **big);

/* The structured answer of a successful call as one JSON object: the
 * record, or {"data": [...], "next_cursor": ...} for a page. */
void tools_write_result(buf *b, const engine_result *r);

#endif
