/* api.h - the request lifecycle, independent of the HTTP library.
 *
 * Owns: api_req (one request: its arena, parsed input, auth result and
 * response), routing, authentication, per-key limits, idempotency, and the
 * one place that turns an engine result into a status code, headers and
 * the `{data, request_id}` / `{error}` envelope (api_error is the only
 * function that writes an error body). A request for a resource becomes an
 * engine_call (resources/engine.h); the engine answers in data. The HTTP
 * adapter (http/server.c) fills an api_req, calls api_handle(), and either
 * sends the response or, for writes, hands the request to the group-commit
 * writer (api/writer.h), which runs api_run_write() inside a batch
 * transaction. */
#ifndef CAIRN_API_H
#define CAIRN_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/ids.h"
#include "core/jw.h"
#include "resources/engine.h"
#include "schema/table.h"
#include "store/store.h"

#define API_MAX_BODY     (1u << 20)
#define API_MAX_PARAMS   32
#define API_MAX_SEGS     8
#define API_MAX_RESPONSE (64u << 20)

typedef enum api_method { M_GET, M_POST, M_PATCH, M_DELETE, M_PUT, M_HEAD, M_OTHER } api_method;

/* A query parameter; the engine marks what it reads (leftovers are refused). */
typedef engine_param api_param;

typedef struct api_key_info {
    char id[ID_MAX];
    char workspace_id[ID_MAX];
    char scopes[512];
    bool super_admin;
    int max_concurrent, rate;
    uint32_t disabled_modules; /* of its workspace: 1 << res_module */
    char currency[4];          /* of its workspace */
} api_key_info;

struct api_route;

typedef struct api_req {
    arena a;
    api_method method;
    const char *path; /* without the query string */
    api_param params[API_MAX_PARAMS];
    int nparams;
    const char *authorization, *content_type, *idem_key; /* NULL when absent */
    const char *origin, *host, *mcp_version;             /* the same (MCP's checks) */
    const char *body;
    size_t body_len;
    store_conn *conn; /* this thread's connection; the writer's during writes */

    const struct api_route *route;
    const char *pv[3]; /* path variables in order: {id}, {sub_id} */
    api_key_info key;
    bool authed;
    const char *ws; /* workspace of the key */
    json_t *json;   /* parsed body of writes */
    bool limited;   /* holds a concurrency slot to give back */

    char request_id[ID_MAX];
    int status;
    buf out;
    const char *out_type;
    int retry_after;          /* seconds; 0 = no header */
    const char *ratelimit[3]; /* X-RateLimit-Limit/Remaining/Reset values */
    const char *allow;        /* a 405's Allow header */
    bool replayed;            /* answered from an idempotency record */
    bool deferred;            /* must run on the writer */
    bool dry_run;             /* ?dry_run=true on a write: nothing is stored */
    bool settings_changed;    /* a write of the workspace's settings succeeded */
    bool storage_full;        /* the store had no room for it (or a batch item) */
    engine_audit audit;       /* a fixed route's write: its audit entry ... */
    const char *audit_ws;     /* ... for this workspace ... */
    bool audited;             /* ... when set by its on_writer half */
    uint64_t start_ns;
    /* A long poll (GET /v1/events?wait=N) whose page came back empty: the
     * transport keeps the request and runs it again (api_poll) when
     * something committed, until this time, then answers what it has. */
    bool parked;
    uint64_t poll_until_ms, polled_ms, polled_commits;
    /* Signed asset transfers (api/upload.h): an upload the transport
     * streams into the blob store before the handler runs, and a
     * download whose body is a file the transport streams (file_fd, -1:
     * the body is `out`; it owns the fd once it sends). */
    struct api_upload *upload;
    int file_fd;
    uint64_t file_size;
    const char *disposition; /* Content-Disposition of a file's answer */
} api_req;

typedef int (*api_handler)(api_req *q);

typedef struct api_route {
    api_method method;
    const char *pattern; /* OpenAPI path, e.g. "/v1/contacts/{id}" */
    const char *segs[API_MAX_SEGS];
    int nsegs;
    api_handler handler;   /* the fixed routes; NULL: an engine operation */
    api_handler on_writer; /* a fixed route's second half, on the writer when the
                              handler set q->deferred (after an Idempotency-Key replay
                              check, like any write); -1 undoes its writes */
    bool hidden;           /* not a REST route: left out of the OpenAPI document */
    engine_op op;
    const res_def *res;
    const res_sublist *sub;
    const char *scope; /* NULL: any valid key */
    bool write;        /* runs on the writer, inside a transaction */
    bool public;       /* no key needed */
    const char *op_id; /* OpenAPI operationId */
    const char *summary;
    const char *kind;         /* "list", "create", "get", "update", "delete", "sublist", "batch",
                                 "merge", "timeline", "action", or NULL */
    const res_action *action; /* kind "action": its declaration */
} api_route;

typedef struct api_config {
    int key_concurrency;     /* default per-key concurrent requests; 0 = unlimited */
    int key_rate;            /* default per-key requests/second; 0 = unlimited */
    const char *mcp_origins; /* browser origins allowed at /mcp beside loopback ones */
    const char *public_url;  /* scheme://host[:port] links in answers start with; NULL:
                                http:// and the request's Host */
    int64_t asset_max_bytes; /* the largest asset upload; 0: 100 MiB */
} api_config;

void api_init(const api_config *cfg);
const api_route *api_routes(int *n);

/* Prepares req for a new request (arena, request id, buffers). */
void api_req_init(api_req *q);
/* Frees everything the request holds, releasing its limit slot. */
void api_req_release(api_req *q);

/* Runs the request as far as this thread can: everything for reads, or up
 * to the point where a write must go to the writer (q->deferred set). */
void api_handle(api_req *q);
/* Runs a deferred write on the writer's connection, inside the writer's
 * transaction; the caller wraps it in a savepoint and rolls it back when
 * it returns false. A failed call rolls back to that savepoint itself and
 * opens it again for its audit entry, so the caller's release keeps the
 * entry (true); false means the write must not stand (a store failure). */
bool api_run_write(api_req *q, store_conn *writer_conn);
/* A committed write changed a workspace's settings: cached keys refetch
 * them (the writer calls it after the commit). */
void api_settings_changed(void);
/* Replaces the response with a store failure (a batch that could not
 * begin or commit): rc and e say what the store reported. */
void api_fail_store(api_req *q, int rc, const store_err *e);

/* A parked request (q->parked) runs its read again: parked again while
 * its page is still empty and its time not up. */
void api_poll(api_req *q);
/* Writers count their commits, so a parked request runs again only when
 * something may have changed (or now and then: another node's writes). */
void api_committed(void);
uint64_t api_commits(void);

/* Authenticates the request's key and takes its limit slot, for a public
 * route that checks something else first (MCP's Origin): 0, or -1 with
 * the error answered. */
int api_auth(api_req *q);

/* Writes the error body; returns -1 so handlers can `return api_error(...)`. */
int api_error(api_req *q, int status, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int api_store_error(api_req *q, int rc, const store_err *e);

/* Response envelope. api_data() starts `{"data":` and returns the writer for
 * the value; api_finish() closes it with request_id (and next_cursor for lists). */
jw *api_data(api_req *q, int status);
void api_finish(api_req *q);
void api_finish_list(api_req *q, const char *next_cursor);

/* The HTTP status of an engine result's kind. */
int api_status(engine_kind k);

/* Whether a Content-Type is application/json (parameters allowed). */
bool api_is_json(const char *ct);

/* Query parameters: returns the value and marks it used, or NULL. */
const char *api_param_get(api_req *q, const char *k);
bool api_has_scope(const api_req *q, const char *scope);

/* Per-thread statistics the metrics endpoint sums. */
void api_metrics_render(buf *b);
void api_metrics_observe(const api_req *q, uint64_t dur_ns);
void api_metrics_store_error(void);

#endif
