/* engine.h - the resource engine: a call in, a result out.
 *
 * Owns: running one operation (list, create, get, update, delete, the
 * sub-lists, merge, timeline, batch, and the table's actions) on a resource
 * of the table for a caller: turning its input into validated row values
 * (types, required fields, lengths, enums, emails, references), the hooks,
 * the store calls, the event each write appends, the record's JSON form,
 * cursors, dry runs, and the scope and module checks. It knows nothing of
 * HTTP: a transport (src/api/ for HTTP; agent tools, MCP and the dialects
 * later) fills an engine_call and turns the engine_result into its own
 * answer. Hooks (res_hooks) get a res_write to adjust a row before it is
 * stored; they report errors through the call (engine_fail).
 *
 * Ownership: everything a call allocates comes from its arena `a`, except
 * result.data (heap, released by engine_result_release). The call borrows
 * its body, parameters and connection. */
#ifndef CAIRN_ENGINE_H
#define CAIRN_ENGINE_H

#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/jw.h"
#include "schema/table.h"
#include "store/store.h"

#define ENGINE_MAX_DATA    (64u << 20) /* the largest answer a call may build */
#define ENGINE_MAX_WRITTEN 16          /* record ids a result remembers for the audit log */

typedef enum engine_op {
    OP_LIST,
    OP_CREATE,
    OP_GET,
    OP_UPDATE,
    OP_DELETE,
    OP_SUBLIST,   /* GET /{owner}/{id}/{name} (c->sub) */
    OP_SUBCREATE, /* POST to the same (c->sub) */
    OP_BATCH,
    OP_MERGE,
    OP_TIMELINE,
    OP_ACTION,           /* c->action */
    OP_WORKSPACE_GET,    /* the key's workspace (c->res is NULL) */
    OP_WORKSPACE_UPDATE, /* its enabled modules */
} engine_op;

typedef enum engine_kind {
    EK_OK,            /* done; data holds the answer */
    EK_CREATED,       /* done; a record was created */
    EK_INVALID,       /* the input is wrong; param names the field */
    EK_FORBIDDEN,     /* the caller may not: a missing scope, a disabled module */
    EK_NOT_FOUND,     /* no such record in this workspace */
    EK_CONFLICT,      /* the stored state refuses it: a taken unique value, ... */
    EK_UNPROCESSABLE, /* well-formed, but the numbers do not add up: an overpayment,
                         an unbalanced entry; param names the field */
    EK_UNAVAILABLE,   /* the store is busy or unreachable: worth a retry */
    EK_STORAGE_FULL,  /* the store has no room to write: a retry once space is freed */
    EK_INTERNAL,      /* a bug or an I/O failure */
} engine_kind;

typedef struct engine_param {
    const char *k, *v;
    bool used; /* read by the operation; leftovers are refused */
} engine_param;

typedef struct engine_result {
    engine_kind kind;
    const char *code;  /* NULL: the kind's usual code; else e.g. "module_disabled" */
    const char *param; /* the field or parameter at fault, or NULL */
    char message[512]; /* what went wrong, for people */
    const char *extra_key, *extra_val; /* one more fact of a failure (merged_into) */
    bool store_failed;                 /* the failure came from the store (metrics) */
    buf data;                          /* the answer: one JSON value */
    bool list;                         /* data is an array of one page ... */
    const char *next_cursor;           /* ... continued by this cursor (NULL: the last page) */
    /* One member a success's answer alone carries, never its event: a
     * secret shown once (a webhook's signing_secret at create). */
    const char *reveal_key, *reveal_val;
    struct engine_result *items; /* OP_BATCH: one result per operation */
    int nitems;
    const char *written[ENGINE_MAX_WRITTEN]; /* records the call wrote (arena), ... */
    int nwritten;                            /* ... the first ENGINE_MAX_WRITTEN of them */
} engine_result;

/* One entry of the audit log (resource audit-log): a write through /v1 or
 * a tool call, as its transport saw it. Strings are borrowed. */
typedef struct engine_audit {
    const char *channel; /* "api", "mcp", "stdio", "agent" */
    const char *key_id;
    const char *tool;  /* NULL for a /v1 route */
    const char *route; /* "POST /v1/contacts" */
    const char *resource;
    const char *reason, *request_id;
    char input_hash[65];
    const char *outcome; /* "ok" or the error's code */
    const char *ids[ENGINE_MAX_WRITTEN];
    int nids;
    bool dry_run;
    int64_t at_ms;
    double duration_ms;
} engine_audit;

typedef struct engine_call {
    /* What to do. */
    engine_op op;
    const res_def *res;
    const res_sublist *sub;   /* OP_SUBLIST, OP_SUBCREATE */
    const res_action *action; /* OP_ACTION */
    const char *ids[3];       /* ids of the path in order: {id}, {sub_id} */
    engine_param *params;     /* query parameters (borrowed; `used` is set) */
    int nparams;
    json_t *body; /* borrowed; NULL for reads */
    bool dry_run; /* a write runs in a savepoint rolled back at the end */
    bool bulk;    /* one of many rows written to a resource in one transaction (an
                     import): its natural-key lookups are planned per call */
    /* Who asks, and where. */
    const char *ws;
    const char *actor;    /* the key's id: events and activities name it */
    const char *scopes;   /* space-separated */
    uint32_t disabled;    /* 1 << module for each module the workspace switched off */
    const char *currency; /* the workspace's, what money defaults to (NULL: USD) */
    const char *trace;    /* the request id, for logs */
    const char *base_url; /* scheme://host[:port] the caller reaches this server at
                             (--public-url, else the request's Host): absolute links in
                             answers (an asset's upload_url); NULL: links are relative */
    store_conn *conn;     /* a write transaction is open for writes */
    arena *a;
    engine_result *out;
    struct engine_memo *memo;       /* the engine's own: records this call has read or
                                       written (callers leave it NULL) */
    struct engine_rollups *rollups; /* the engine's own: rollup changes held back
                                       (engine_rollups_defer; callers leave it NULL) */
    struct engine_listed *list;     /* the engine's own: the last list it converted, with its
                                     values (engine_list_vals; callers leave it NULL) */
} engine_call;

typedef struct res_write {
    engine_call *c;
    const res_def *r;
    bool is_create;
    res_row *row;       /* the record as it will be stored */
    const res_row *old; /* update: the record before */
    bool *set;          /* fields present in this write */
    bool cascade;       /* delete: it goes because the record it belongs to goes */
    void *hook_data;    /* the hooks' own, from before_write to after_write (arena memory):
                           what one worked out, so the other need not again */
} res_write;

/* Checks once, at start-up, that the table is consistent
 * (res_table_check) and that every action has a handler; false with the
 * first problem in err. */
bool engine_check(char *err, size_t cap);

/* Gives workspace ws what every workspace starts with (each family's
 * workspace hook: the default pipeline, ...), inside the caller's write
 * transaction; a no-op for what it has already. STORE_OK, or a store
 * status with e->msg set. */
int engine_workspace_created(store_conn *c, const char *ws, store_err *e);

/* Runs what is due by time in workspace ws (each family's timer hook:
 * tickets whose SLA status changes at now_ms, ...), inside the caller's
 * write transaction, as the "system" actor. STORE_OK, or a store status
 * with e->msg set. */
int engine_timers(store_conn *c, const char *ws, int64_t now_ms, store_err *e);

/* The writer's transaction committed, on this thread: caches of what it
 * may have changed are dropped (analytics validate's definitions). Called
 * after every commit of writes, before their answers go out. */
void engine_committed(void);

/* Queues the webhook deliveries of the events workspace ws appended,
 * inside the caller's write transaction (the writer, at the end of each
 * batch): STORE_OK, or a store status with e->msg set. Costs nothing for
 * a workspace without webhooks. */
int engine_dispatch(store_conn *c, const char *ws, store_err *e);

/* Webhook URLs may point to loopback and private addresses (`serve
 * --webhook-allow-private`, for tests and closed networks). */
void engine_allow_private_urls(bool on);

/* The delivery worker's wake-up (integrations.c). Writes that queue
 * deliveries note their workspace (integrations_notify); the writer pokes
 * after its commit (integrations_poke), which calls the waker the worker
 * set (or NULL: none). integrations_take copies the workspaces noted
 * before the last poke (up to cap; *all when some did not fit: look at
 * every workspace). integrations_has_webhooks: whether ws may have
 * endpoints (looked up again after 1 s, or 10 s when it had none). */
void integrations_notify(const char *ws);
void integrations_poke(void);
void integrations_set_waker(void (*fn)(void *ud), void *ud);
int integrations_take(char (*ws)[ID_MAX], int cap, bool *all);
bool integrations_has_webhooks(const char *ws);

/* Runs fn as the "system" actor of workspace ws on conn (a worker's own
 * work: the due deliveries, an attempt's record), its memory from a:
 * STORE_OK, or the store status of its failure with e->msg set. */
int engine_as_system(store_conn *conn, arena *a, const char *ws,
                     int (*fn)(struct engine_call *c, void *ud), void *ud, store_err *e);

/* A delivery due to go out (integrations_due), its strings in the call's
 * arena. secrets: the endpoint's whsec_ secrets, the current one and,
 * during a rotation, the previous one (else NULL): each signs. */
typedef struct engine_delivery {
    const char *id, *webhook_id, *url, *body;
    const char *secrets[2];
    int64_t sequence;
    int attempts; /* made before this one */
    bool failing; /* the endpoint's failing_since is set */
    bool ordered; /* its endpoint takes its deliveries one at a time, in order */
} engine_delivery;
/* Where the worker has delivery `id` (or with id NULL, endpoint
 * webhook_id: its worst): not out; out, going or failed and not yet
 * recorded (busy); or answered 2xx and not yet recorded (passed: an
 * ordered endpoint's next may go). */
enum { ENGINE_OUT_NO, ENGINE_OUT_BUSY, ENGINE_OUT_PASSED };
typedef int (*engine_delivery_skip)(const char *id, const char *webhook_id, void *ud);
/* The sequence after which an ordered endpoint's deliveries are still to
 * be read: those up to it the worker has (sent or queued), so a look
 * need not read them again. 0: read from the first. */
typedef int64_t (*engine_delivery_after)(const char *webhook_id, void *ud);
/* Up to max deliveries of the call's workspace due at now, active
 * endpoints only: a parallel endpoint's by due time; an ordered one's
 * first undelivered ones (by sequence, past those passed and after
 * after()'s), as many as are due in a row, and none while one of its is
 * busy: the worker sends them one after another. 0, or -1 with the
 * call's error set. */
int integrations_due(struct engine_call *c, int64_t now, int max, engine_delivery_skip skip,
                     engine_delivery_after after, void *ud, engine_delivery **out, int *n);
/* How an attempt went, for integrations_record. */
typedef struct engine_attempt {
    const char *delivery_id;
    int attempts; /* engine_delivery's: a success of an endpoint not */
    bool failing; /* failing is recorded without reading anything */
    int64_t at_ms;
    int status;          /* HTTP status; 0 when none came */
    const char *error;   /* why it failed, or NULL */
    const char *excerpt; /* the response body's first 1 KiB, or NULL */
    int64_t duration_ms;
    long retry_after_s; /* -1: none */
} engine_attempt;
/* Records an attempt on its delivery (inside the caller's write
 * transaction): succeeded; or retrying after the schedule's next delay
 * (Retry-After of a 429 or 503 when longer), with jitter; or failed after
 * the last retry or on a 410, which also disables the endpoint (as do 5
 * days of failures), with its webhook.disabled event. */
int integrations_record(struct engine_call *c, const engine_attempt *at);

/* The server's secret (from the store, the same on every node): list
 * cursors are sealed with a key derived from it. Without it they are
 * sealed with a key of the process's own. Call before serving. */
void engine_set_secret(const unsigned char *secret, size_t n);

void engine_result_init(engine_result *r);
/* The failure's code word: r->code, or its kind's usual one
 * ("validation_failed", "not_found", ...); NULL for a success. */
const char *engine_result_code(const engine_result *r);
void engine_result_release(engine_result *r);

/* Fills the outcome and the written records of a finished call into a. */
void engine_audit_result(engine_audit *a, const engine_result *r);
/* Appends one audit entry to workspace ws inside the caller's write
 * transaction (a transport knows what a call was and how it ended; a
 * failed call's entry is written after its savepoint is undone). STORE_OK
 * or a store status with e->msg set. */
int engine_audit_append(store_conn *conn, const char *ws, const engine_audit *a, store_err *e);

/* The currency money defaults to in the call's workspace. */
const char *engine_currency(const engine_call *c);

/* The modules a workspace has switched off, from their stored names
 * (space-separated), as 1 << res_module bits. */
uint32_t engine_modules_disabled(const char *names);

/* The scope an operation needs, NULL for any key (route documentation
 * uses it too). */
const char *engine_scope(engine_op op, const res_def *r, const res_action *a);
/* Whether the operation writes (runs in a write transaction). */
bool engine_writes(engine_op op, const res_action *a);
/* The caller's scope and the workspace's modules allow the call: 0, or -1
 * with the result set. engine_run checks it too; a transport may check
 * first to refuse before queueing a write. */
int engine_authorize(engine_call *c);
/* Runs the call; c->out holds the result. Writes need c->conn inside a
 * write transaction, which the engine leaves as it found it on success
 * (and on failure, a savepoint the caller opened is the caller's to undo). */
void engine_run(engine_call *c);

/* ---- reporting: each returns -1, so `return engine_fail(...)` ---- */
int engine_fail(engine_call *c, engine_kind kind, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int engine_store_fail(engine_call *c, int rc, const store_err *e);
bool engine_has_scope(const engine_call *c, const char *scope);

/* ---- parameters ---- */
/* The value of parameter k (marking it used), or NULL. */
const char *engine_param_get(engine_call *c, const char *k);
/* Reads declared query parameters (an action's `query`) as fields: vals
 * and set get one slot per field, SV_NULL where absent; 400 naming a bad
 * one. */
int engine_parse_query_fields(engine_call *c, const res_field *fields, int n, store_val *vals,
                              bool *set);
/* Refuses parameters nobody read: 400 naming the first. */
int engine_params_check(engine_call *c);
/* What GET /v1/{r} reads from the parameters (limit, sort, cursor, query,
 * filters, custom-field filters) as a store query for r; *none when the
 * query can match nothing. A hook's own list routes page with it. */
int engine_parse_query(engine_call *c, const res_def *r, store_query *sq, bool *none);
/* `limit`: 1..100, 20 when absent. */
int engine_parse_limit(engine_call *c, int *limit);

/* ---- answers ---- */
/* The record's JSON object, or its members only into an object the caller
 * opened (to add more). */
void engine_write_row(jw *w, const res_def *r, const res_row *row);
void engine_write_members(jw *w, const res_def *r, const res_row *row);
/* Answers with the record. */
int engine_respond(engine_call *c, const res_def *r, const res_row *row, engine_kind kind);
/* Starts the answer (kind ok) and returns the writer for its one value. */
jw *engine_answer(engine_call *c);

/* ---- records, for hooks and actions ---- */
/* Runs independent reads together (one round trip on PostgreSQL) and
 * remembers the records found, so engine_load serves them. */
int engine_prefetch(engine_call *c, store_read *reads, int n);
/* Loads a record of r by id in the workspace; not_found naming `param`
 * (when given) otherwise, with merged_into for a merged-away id. */
int engine_load(engine_call *c, const res_def *r, const char *id, const char *param, res_row *out);
/* An empty row or a copy of old, each with a zeroed `set` array. */
res_row engine_new_row(engine_call *c, const res_def *r, bool **set);
res_row engine_copy_row(engine_call *c, const res_def *r, const res_row *old, bool **set);
void engine_set(res_row *row, bool *set, int field, store_val v);
/* An FT_LIST field's elements (a new reference: json_decref it), or an
 * empty array when null; and setting one from elements. */
json_t *engine_items(const res_row *row, int field);
void engine_set_items(engine_call *c, res_row *row, bool *set, int field, json_t *items);
/* The elements of r's list field `field` in row (not RF_SCALARS) as *n
 * rows of its item fields' values: (*vals)[i * nitems + k], SV_NULL where
 * null, in the arena, the caller's to change. A list this call converted
 * from a body comes as converted, without parsing its text again (an
 * invoice's 10 lines cost 300 K instructions through json_loads); another
 * is parsed and converted. -1 (the call's error set) when the text does
 * not convert. */
int engine_list_vals(engine_call *c, const res_def *r, const res_row *row, int field,
                     store_val **vals, size_t *n);
/* Sets list field `field` from such values, written as a converted list
 * is (every member in declaration order). */
void engine_set_list_vals(engine_call *c, const res_def *r, res_row *row, bool *set, int field,
                          const store_val *vals, size_t n);
/* A field's value: text (NULL when null) or integer (dflt when null). */
const char *engine_text(const res_row *row, int field);
int64_t engine_int(const res_row *row, int field, int64_t dflt);
/* A full create (defaults, hooks, references, event); row->id is set. */
int engine_insert(engine_call *c, const res_def *r, res_row *row, bool *set);
/* From here to engine_rollups_end, the rollup counts of the records
 * engine_insert creates are held back and merged per group, then written
 * in as few statements as STORE_ROLLUP_MANY allows (a posting's lines:
 * one statement, where each line and rollup was one). In between, nothing
 * may read a rollup or update or delete a record that has one. */
void engine_rollups_defer(engine_call *c);
/* Writes what was held back when rc is 0 (-1, the call's error set, when
 * a group would leave 64 bits), drops it otherwise; returns rc or that. */
int engine_rollups_end(engine_call *c, int rc);
/* A full update with hooks and an event named `action` ("updated" when
 * NULL); old is the row before. */
int engine_update_row(engine_call *c, const res_def *r, const res_row *old, res_row *row, bool *set,
                      const char *action);
/* Stores the fields of row marked in set without hooks (a hook's own
 * bookkeeping on related records) and appends the event; old (may be NULL
 * where r keeps no rollup) gives its changes. */
int engine_save(engine_call *c, const res_def *r, res_row *row, const res_row *old,
                const bool *set);
/* A full delete of a loaded record (hooks, dependants followed or
 * unlinked, rollups, event), as DELETE /v1/{r}/{id} does it. */
int engine_delete_row(engine_call *c, const res_def *r, const res_row *gone);
/* store_rec_repoint for hooks (a rename followed into the rows that carry
 * it): what the call remembered of r's records is forgotten. */
int engine_repoint(engine_call *c, const res_def *r, int field, const char *from, const char *to,
                   int type_field, const char *type_value);
/* Appends `<singular>.<action>` with the row's JSON (changes against old). */
int engine_event(engine_call *c, const res_def *r, const char *action, const res_row *row,
                 const res_row *old);
/* Whether k may name a custom field: 1 to 100 of [A-Za-z0-9_.-]. */
bool engine_custom_key_ok(const char *k);
/* Validates a body against declared fields (an action's input): vals and
 * set get one slot per field. Unknown keys are refused. */
int engine_parse_fields(engine_call *c, const res_field *fields, int n, json_t *body,
                        store_val *vals, bool *set);
/* The record whose `field` equals value case-insensitively (a natural
 * key): 1 found (in *out), 0 none, -1 failed. */
int engine_find_by(engine_call *c, const res_def *r, int field, const char *value, res_row *out);
/* The same, first locking the key to the end of the transaction, as
 * ?upsert_on= does: a create of the same key on another node waits. */
int engine_find_key(engine_call *c, const res_def *r, int field, const char *value, res_row *out);
/* A natural key's lock is one of ENGINE_KEY_LOCKS per resource and
 * workspace (keys compared case-insensitively share theirs): PostgreSQL
 * keeps a transaction's advisory locks in a table every transaction
 * shares (max_locks_per_transaction x connections, 6,400 by default), so
 * an import looking up 10,000 keys takes each of the few locks once
 * (engine_lock_key) rather than one per key. Taken outside a savepoint
 * that may be rolled back, which would release it. */
#define ENGINE_KEY_LOCKS 256
int engine_key_lock_of(const char *value);
int engine_lock_key(engine_call *c, const res_def *r, int lock);
/* A create as POST /v1/{r} makes it from a JSON body (unknown and
 * read-only members refused, custom_fields, defaults, hooks, references,
 * event), answering nothing; *out (may be NULL) gets the record. Not for
 * nested resources. */
int engine_create_from(engine_call *c, const res_def *r, json_t *body, res_row *out);
/* An update as PATCH makes it of the loaded record old: only the body's
 * members change. */
int engine_update_from(engine_call *c, const res_def *r, const res_row *old, json_t *body,
                       res_row *out);
/* Counts (and sums field `sum`) of r's rows matching f, grouped by up to
 * two fields (-1: unused). */
int engine_aggregate(engine_call *c, const res_def *r, const store_filter *f, int nf, int g0,
                     int g1, int sum, store_agg_row **rows, int *n);
/* Every row of r that q selects, a page of q->limit at a time (q's cursor
 * moves along): fn answers 0 to go on, 1 to stop there, -1 with the call's
 * error set. 0 once done or stopped, -1 on an error. */
int engine_each_row(engine_call *c, const res_def *r, store_query *q,
                    int (*fn)(engine_call *c, const res_row *row, void *ud), void *ud);
/* The rows of r that q selects, in one arena array: all of them, or the
 * first pages once more than max are read (so *n > max says "too many"). */
int engine_rows(engine_call *c, const res_def *r, store_query *q, int max, res_row **out, int *n);
/* One page of r for sq, with the next cursor as GET /v1/{r}?sort=`sort`
 * would give it (NULL on the last page). */
int engine_page(engine_call *c, const res_def *r, store_query *sq, const char *sort, res_row **rows,
                int *n, const char **next);
/* Runs an update without changes (its hooks re-derive the row) on the
 * first 100 rows of r matching f, in the order of the time field `due`
 * that f bounds: timers' due rows are a range of that field's index. */
int engine_update_due(engine_call *c, const res_def *r, const store_filter *f, int nf, int due);
/* Lists r with one extra condition field = value (hooks' own list routes). */
int engine_list_where(engine_call *c, const res_def *r, int field, const char *value);
/* Creates r from the body with field = value (the path's); a typed
 * reference's type field gets `type`. */
int engine_create_where(engine_call *c, const res_def *r, int field, const char *value,
                        const char *type);

#endif
