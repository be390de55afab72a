/* store.h - the only storage interface the rest of Cairn sees.
 *
 * Owns: connections, transactions, the schema and its migrations, and every
 * query. Implementations: sqlite.c (the embedded default) and postgres.c
 * (a postgres:// URL), picked by store.c behind a vtable generated from
 * store_ops.def, so a new operation is one line there. Every function that
 * touches records takes the workspace id and scopes the SQL by it itself, so
 * no caller can forget. Rows come back as arrays of store_val allocated from
 * the caller's arena; the store never keeps them.
 *
 * Errors: functions return STORE_OK (0) or a negative store_status and fill
 * the caller's store_err (fixed buffer, never allocates). */
#ifndef CAIRN_STORE_H
#define CAIRN_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/ids.h"
#include "schema/table.h"

typedef enum store_status {
    STORE_OK = 0,
    STORE_NOTFOUND = -1,
    STORE_CONFLICT = -2,    /* unique constraint */
    STORE_ERROR = -3,       /* anything else: I/O, corruption, bug */
    STORE_BUSY = -4,        /* could not get the lock in time */
    STORE_UNAVAILABLE = -5, /* the database server cannot be reached */
    STORE_RANGE = -6,       /* a total would leave the 64-bit range */
    STORE_FULL = -7,        /* no room to write: the disk (or quota) is full */
    STORE_TIMEOUT = -8,     /* a statement ran past the time budget its caller gave */
} store_status;

/* What a caller tells its own caller of STORE_FULL (an API answer, the
 * command line), whatever the store said in store_err. */
#define STORE_FULL_MSG "the database's storage is full: no write can be stored until space is freed"

typedef struct store_err {
    char msg[256];
} store_err;

typedef enum { SV_NULL = 0, SV_INT, SV_REAL, SV_TEXT } sv_kind;

typedef struct store_val {
    sv_kind kind;
    int64_t i;
    double d;
    const char *s; /* NUL-terminated; arena or borrowed */
} store_val;

/* A text value (SV_NULL for NULL) and an integer value. */
static inline store_val sv_text(const char *s)
{
    return s ? (store_val){.kind = SV_TEXT, .s = s} : (store_val){.kind = SV_NULL};
}
static inline store_val sv_int(int64_t i)
{
    return (store_val){.kind = SV_INT, .i = i};
}

typedef struct res_row {
    int64_t rid; /* internal insertion order; cursors are built on it */
    char id[ID_MAX];
    int64_t created_ms, updated_ms;
    store_val *vals;    /* one per field of the resource */
    const char *custom; /* custom_fields as JSON text, NULL = {} */
} res_row;

typedef struct store store;           /* shared, thread-safe: the database */
typedef struct store_conn store_conn; /* one per thread */

typedef struct store_opts {
    bool durable;         /* fsync every commit (synchronous=FULL) */
    int busy_ms;          /* wait this long for a lock before STORE_BUSY */
    int checkpoint_pages; /* SQLite: WAL size that makes a checkpoint due; 0: 65,536 */
} store_opts;

int store_open(store **out, const char *url, const store_opts *opts, store_err *e);
void store_close(store *s);
int store_connect(store *s, store_conn **out, store_err *e);
/* How many connections may write at once: 1 for SQLite, whose write lock
 * covers the file; 0 (any number) for PostgreSQL. */
int store_writers(const store *s);
void store_disconnect(store_conn *c);
/* Applies pending migrations; *applied gets how many ran. */
int store_migrate(store_conn *c, int *applied, store_err *e);
int store_schema_version(store_conn *c, int *version, store_err *e);
/* Cheap liveness check for /readyz. */
int store_ping(store_conn *c, store_err *e);

/* Transactions. `write` takes the write lock at once (BEGIN IMMEDIATE), so a
 * transaction never fails half-way for lack of it. Savepoints nest inside. */
int store_begin(store_conn *c, bool write, store_err *e);
int store_commit(store_conn *c, store_err *e);
void store_rollback(store_conn *c);
int store_savepoint(store_conn *c, store_err *e);
int store_release(store_conn *c, store_err *e);
void store_rollback_to(store_conn *c);
/* Sends the writes a backend let wait for the next statement (PostgreSQL:
 * inserts no unique key can refuse); a failure is the caller's, as if one
 * of its own statements failed. Opening, releasing or committing a
 * savepoint sends them too, but a failure there loses the transaction.
 * Nothing waits on SQLite. */
int store_flush(store_conn *c, store_err *e);

/* Group commit's last step, for the one connection that writes. With
 * store_sync_defer(c, true), store_commit returns once the transaction is
 * written and visible but before it is durable, and store_sync(c) makes
 * every transaction committed before the call durable. store_sync is the
 * one operation that may run on another thread while c is in use, so the
 * next batch runs while the last one's fsync waits. Both are no-ops where
 * a commit is durable by itself (PostgreSQL) or never fsyncs (a store
 * opened without `durable`). */
int store_sync_defer(store_conn *c, bool on, store_err *e);
int store_sync(store_conn *c, store_err *e);

/* Tunes c for a background worker's small reads (a few rows at a time),
 * where the default tuning serves scans: on SQLite, no memory map and a
 * small page cache. Best effort (a failure is logged). */
void store_small_reads(store_conn *c);

/* After STORE_FULL, for the connection that writes, outside a
 * transaction: STORE_OK once a small write is durable again, having first
 * given back what the full disk left behind. SQLite commits a one-page
 * write (its header's user_version, rewritten unchanged) and syncs it,
 * then checkpoints the whole log into the database and truncates it: a
 * disk that filled leaves the log at its largest, and writes would go on
 * appending to it (taking the space the checkpoint needs) rather than
 * start it over. PostgreSQL writes a row into a temporary table of its
 * own, whose file grows by a page in the database's tablespace, and
 * commits (its log written and flushed). Otherwise the store's status
 * (STORE_FULL while there is no room; STORE_BUSY when readers keep the
 * log in use). */
int store_probe(store_conn *c, store_err *e);

/* ---- workspaces and keys ---- */
typedef struct store_workspace {
    char id[ID_MAX];
    char name[128];
    int64_t created_ms;
    char disabled_modules[256]; /* space-separated modules switched off; "" = all enabled */
    char currency[4];           /* ISO 4217: what money defaults to; USD unless set */
} store_workspace;

typedef struct store_key {
    char id[ID_MAX];
    char workspace_id[ID_MAX];
    char name[128];
    char scopes[512]; /* space-separated */
    bool super_admin;
    int max_concurrent; /* -1 = server default */
    int rate;           /* -1 = server default */
    int64_t created_ms;
    int64_t revoked_ms; /* 0 = active */
} store_key;

int store_workspace_create(store_conn *c, const char *name, store_workspace *out, store_err *e);
/* Finds by id or by name. */
int store_workspace_find(store_conn *c, const char *name_or_id, store_workspace *out, store_err *e);
int store_workspace_count(store_conn *c, int64_t *n, store_err *e);
typedef void (*store_workspace_cb)(const store_workspace *w, void *ud);
int store_workspace_each(store_conn *c, store_workspace_cb cb, void *ud, store_err *e);
/* A list of workspace ids that grows (malloc; a worker's round over the
 * workspaces): store_ws_add appends ws (when `unique`, unless there);
 * store_workspace_ids appends every workspace's. Out of memory, an add is
 * dropped: the round misses it, the next one retries. */
typedef struct store_ws_list {
    char (*id)[ID_MAX];
    int n, cap;
} store_ws_list;
void store_ws_add(store_ws_list *l, const char *ws, bool unique);
int store_workspace_ids(store_conn *c, store_ws_list *l, store_err *e);
void store_ws_free(store_ws_list *l);
/* Replaces the workspace's disabled modules (space-separated names, ""
 * enables every module; at most 255 bytes, else STORE_ERROR);
 * STORE_NOTFOUND for an unknown id. */
int store_workspace_set_modules(store_conn *c, const char *id, const char *disabled, store_err *e);
/* Sets the workspace's currency (three letters, checked by the caller). */
int store_workspace_set_currency(store_conn *c, const char *id, const char *currency, store_err *e);

/* k->id, workspace_id, scopes, ... filled by the caller; hash is the token's. */
int store_key_create(store_conn *c, const store_key *k, const char *token_hash, store_err *e);
int store_key_by_hash(store_conn *c, const char *token_hash, store_key *out, store_err *e);
typedef void (*store_key_cb)(const store_key *k, void *ud);
int store_key_each(store_conn *c, store_key_cb cb, void *ud, store_err *e);
int store_key_revoke(store_conn *c, const char *id, store_err *e);

/* ---- records ---- */
int store_rec_get(store_conn *c, arena *a, const res_def *r, const char *ws, const char *id,
                  res_row *out, store_err *e);
int store_rec_exists(store_conn *c, const res_def *r, const char *ws, const char *id, store_err *e);
/* Inserts row (id, times, vals, custom set by the caller); fills row->rid. */
int store_rec_insert(store_conn *c, const res_def *r, const char *ws, res_row *row, store_err *e);
/* Updates the fields whose set[i] is true (and custom when set_custom).
 * row->vals holds every field's current value, set or not: a backend that
 * keeps a search document (PostgreSQL) rebuilds it from them when a
 * searchable field is set. */
int store_rec_update(store_conn *c, const res_def *r, const char *ws, const res_row *row,
                     const bool *set, bool set_custom, store_err *e);
int store_rec_delete(store_conn *c, const res_def *r, const char *ws, const char *id, store_err *e);
/* Finds a record by a field value, case-insensitively (natural keys).
 * `bulk`: this transaction may be adding many rows to r (an import), so
 * that a plan made when the table was smaller may no longer fit it (see
 * sql_rec_find_by). */
int store_rec_find_by(store_conn *c, arena *a, const res_def *r, const char *ws, int field,
                      const char *value, bool bulk, res_row *out, store_err *e);

typedef enum store_op {
    SF_EQ = 0, /* field = v (case-insensitive for sql_nocase fields) */
    SF_LT,     /* field < v */
    SF_GE,     /* field >= v */
    SF_REL,    /* field references a `rel` record whose `rel_field` = v */
    SF_IN,     /* field is one of in[0..nin) (1 to 100 values: a statement binds at most 128) */
} store_op;

typedef struct store_filter {
    int field; /* index into r->fields */
    store_val v;
    store_op op;
    const res_def *rel;  /* SF_REL: the referenced resource ... */
    int rel_field;       /* ... and its field compared with v */
    const store_val *in; /* SF_IN: the values ... */
    int nin;             /* ... and how many */
} store_filter;

typedef struct store_query {
    const store_filter *filters;
    int nfilters;
    const char *cf_key, *cf_value; /* custom field equality (string form) */
    const char *fts;               /* full-text query as typed by the user */
    /* Order: by `sort_by` (NULLs first when ascending), ties by insertion
     * order; without sort_by, insertion order alone. Newest first unless
     * `ascending`. Not combinable with fts (which is always newest first). */
    const res_field *sort_by;
    bool ascending;
    /* Keyset cursor: the last row of the previous page (its rid, and its
     * sort_by value); after_rid 0 = first page. */
    int64_t after_rid;
    store_val after_val;
    /* Or after the record with this id, read by the same statement (a
     * caller that has only the id saves a round trip): its sort_by value
     * must be non-null; no rows when the workspace has no such record.
     * Needs sort_by; not combinable with after_rid or fts. */
    const char *after_id;
    int limit; /* rows wanted; the store reads limit + 1 to know if more */
    /* Sub-list link: rows where field `link_field` = link_value, or that a
     * `link_via` row (link_via_match = link_value) names in link_via_target. */
    int link_field; /* -1 = none */
    const char *link_value;
    const res_def *link_via;
    int link_via_match, link_via_target;
} store_query;

/* One page in the query's order. *n rows in *rows; *more tells if another
 * page exists. */
int store_rec_list(store_conn *c, arena *a, const res_def *r, const char *ws, const store_query *q,
                   res_row **rows, int *n, bool *more, store_err *e);

/* One read of a batch: a record by id (`id`), or one page of a list (`q`). */
typedef struct store_read {
    const res_def *r;
    const char *id;       /* get by id, or NULL ... */
    const store_query *q; /* ... one page of r for q, or NULL ... */
    int key_field;        /* ... find by natural key: the record whose field */
    const char *key;      /* key_field is key, as store_rec_find_by (not bulk) */
    res_row row;          /* out, for a get or a find */
    res_row *rows;        /* out, for a page: n rows, and whether more follow */
    int n;
    bool more;
    int rc; /* this read's STORE_OK or STORE_NOTFOUND (a get or a find) */
} store_read;

/* Runs independent reads of workspace ws together: on PostgreSQL in one
 * pipeline (one round trip, also inside a transaction and with a pending
 * savepoint), on SQLite one after another. Each read answers as
 * store_rec_get or store_rec_list would, searches included (a search
 * inside a savepoint is refused on SQLite as by store_rec_list). Returns
 * STORE_OK when every read ran (each rc says whether its record was
 * found), else the first failure. Rows come from the arena `a`. */
int store_read_many(store_conn *c, arena *a, const char *ws, store_read *reads, int n,
                    store_err *e);

/* One write of a batch (store_write_many): an update of a record, as
 * store_rec_update (`row` set), or a move of its share between r's rollup
 * groups, as store_rollup_move (`row` NULL). */
typedef struct store_write {
    const res_def *r;
    const res_row *row; /* an update: the row, its set fields, and custom */
    const bool *set;
    bool set_custom;
    const store_val *from_keys, *to_keys; /* a rollup move */
    int64_t from_sum, to_sum;
} store_write;

/* Runs writes of workspace ws that need nothing of each other's results
 * (an update and the rollup moves it makes): on PostgreSQL in one pipeline
 * (one round trip), on SQLite one after another. Each fails as the call it
 * stands for would (an update STORE_NOTFOUND or STORE_CONFLICT, a rollup
 * move STORE_RANGE). Returns STORE_OK when all succeeded, else the first
 * failure, with its index in *failed (-1 when no one write is at fault);
 * writes after it may have run, so the caller rolls back to its savepoint
 * as after any failed write. */
int store_write_many(store_conn *c, const char *ws, store_write *w, int n, int *failed,
                     store_err *e);

/* Re-points every `r` row whose `field` holds `from` to `to` (merges), or
 * clears it when `to` is NULL (deletes: `type_field`, when >= 0, is cleared
 * with it). `type_field` >= 0 restricts to rows whose type_field equals
 * type_value (polymorphic references). Rows that would break r's unique
 * tuple by the move are deleted instead: the survivor already has one. */
int store_rec_repoint(store_conn *c, const res_def *r, int field, const char *ws, const char *from,
                      const char *to, int type_field, const char *type_value, store_err *e);

/* Counts (and sums) rows matching filters, grouped by up to two fields. */
typedef struct store_agg {
    const store_filter *filters;
    int nfilters;
    int group[2]; /* field indexes; -1 = unused */
    int sum;      /* field index summed; -1 = none */
} store_agg;

typedef struct store_agg_row {
    store_val key[3];
    int64_t count, sum;
} store_agg_row;

/* Counts and sums come back exact: STORE_RANGE when one leaves 64 bits. */
int store_rec_aggregate(store_conn *c, arena *a, const res_def *r, const char *ws,
                        const store_agg *q, store_agg_row **rows, int *n, store_err *e);

/* ---- rollups (res_def.rollup): counts and sums per group ---- */
/* Adds dcount and dsum to the group `keys` (one per group field, SV_NULL
 * or SV_TEXT). Atomic across connections and nodes. STORE_RANGE, with
 * nothing changed and the transaction usable, when the group's count or
 * total would leave 64 bits. */
int store_rollup_add(store_conn *c, const res_def *r, const char *ws, const store_val *keys,
                     int64_t dcount, int64_t dsum, store_err *e);
/* One change of store_rollup_add_many: dcount and dsum to the group `keys`
 * of r's rollup (r: any resource, or a second rollup's res_rollup2_def). */
typedef struct store_rollup_delta {
    const res_def *r;
    store_val keys[3];
    int64_t dcount, dsum;
} store_rollup_delta;
/* The most groups store_rollup_add_many changes in one statement. */
#define STORE_ROLLUP_MANY 16
/* store_rollup_add of n (1..STORE_ROLLUP_MANY) groups, of any rollups, in
 * one statement (one round trip): all or none, STORE_RANGE with nothing
 * changed and the transaction usable when one group would leave 64 bits.
 * No two of d may be one group (merge them first). Should another node
 * change a group between the check and the update (PostgreSQL), the
 * statement fails whole: STORE_RANGE, as for store_rollup_move. */
int store_rollup_add_many(store_conn *c, const char *ws, const store_rollup_delta *d, int n,
                          store_err *e);
/* Moves one row's share of r's rollup: -1 and -from_sum to the group
 * from_keys, +1 and +to_sum to the group to_keys, in one statement (when
 * both are one group, its sum moves by the difference). STORE_RANGE, with
 * nothing changed and the transaction usable, when either group would
 * leave 64 bits, or the change itself cannot be written in them (from_sum
 * INT64_MIN). Should another node change a group between the check and
 * the update (PostgreSQL), the statement fails whole: STORE_RANGE, and the
 * transaction is to be rolled back as after any failed statement. */
int store_rollup_move(store_conn *c, const res_def *r, const char *ws, const store_val *from_keys,
                      int64_t from_sum, const store_val *to_keys, int64_t to_sum, store_err *e);
/* Groups whose keys equal `match` where given (NULL: any), non-empty
 * only. With `upto`, folded over the last key used (a day): one row per
 * value of the other keys, its last key NULL, summing the groups whose
 * last key is at most `upto` byte-wise (every day up to it).
 * STORE_RANGE for a group whose count or total is not an exact 64-bit
 * integer (one written before the guard above, on SQLite a REAL). */
int store_rollup_list(store_conn *c, arena *a, const res_def *r, const char *ws,
                      const char *const *match, const char *upto, store_agg_row **rows, int *n,
                      store_err *e);
/* Recounts r's rollup (its second: res_rollup2_def(r)) from its table (rows written below the
 * engine, as the bench generator does). Migrations run it when the declaration changes. */
int store_rollup_rebuild(store_conn *c, const res_def *r, store_err *e);

/* ---- upkeep ---- */
/* One bounded step, about `budget` pages, of the upkeep a store does when
 * it is idle; *more says whether a further step has work. SQLite merges the
 * full-text index's segments of a size together: writes leave many small
 * ones, and a search reads every segment. It runs in a write transaction of its own, so
 * call it outside one. A no-op on PostgreSQL, whose search postings are
 * B-trees (autovacuum does the rest). */
int store_maintain(store_conn *c, int budget, bool *more, store_err *e);

/* Serialises writers that must not race on a natural key across nodes
 * (upserts): held until the transaction ends. A no-op where one writer
 * already holds the database (SQLite). */
int store_lock(store_conn *c, const char *ws, const char *key, store_err *e);
/* Takes lock `key` for as long as the connection lives, when no other
 * connection of the database holds it (*held tells): one node's worker of
 * several does a job that must not run twice at once (webhook deliveries
 * in order). On SQLite, whose database one process serves, always held. */
int store_try_hold(store_conn *c, const char *key, bool *held, store_err *e);

/* ---- merged records: what a merged-away id became ---- */
int store_merged_put(store_conn *c, const char *ws, const char *res_type, const char *id,
                     const char *into, const char *snapshot, store_err *e);
/* Fills into (ID_MAX) with the survivor of a merged id, or STORE_NOTFOUND. */
int store_merged_get(store_conn *c, const char *ws, const char *res_type, const char *id,
                     char *into, store_err *e);

/* ---- the server's secret ---- */
#define STORE_SECRET_LEN 32

/* The server's 32-byte secret, made on first use and the same for every
 * connection and node of this database: on SQLite a file beside the
 * database (<db path>.key, mode 0600, written atomically), on PostgreSQL a
 * row of the database (every node must open cursors another node made).
 * A key file that group or others may read, or of another size, is
 * refused (STORE_ERROR, saying which). A SQLite database in memory
 * (":memory:", or "" for a temporary one) keeps its secret in the
 * process. */
int store_secret(store_conn *c, unsigned char out[STORE_SECRET_LEN], store_err *e);
/* A 32-byte key kept in file `path` (read, or made with mode 0600 when
 * absent), under the same rules as SQLite's secret: `serve
 * --secret-key-file`, the key stored secrets are sealed with. */
int store_key_file(const char *path, unsigned char out[STORE_SECRET_LEN], store_err *e);

/* ---- events (outbox) ---- */
typedef struct store_event {
    int64_t rid;
    int64_t seq; /* its place in the workspace's log, from 1, in commit order */
    char id[ID_MAX];
    const char *type, *res_type, *res_id, *subject_id, *data, *changes, *actor; /* arena */
    int64_t created_ms;
} store_event;

/* subject_id: the record an event also concerns (an activity's lead), or
 * NULL; changes: {"field":{"from":..,"to":..}} of an update, or NULL. */
int store_event_append(store_conn *c, const char *ws, const char *type, const char *res_type,
                       const char *res_id, const char *subject_id, const char *data_json,
                       const char *changes_json, const char *actor_key, store_err *e);
int store_event_count(store_conn *c, const char *ws, int64_t *n, store_err *e);
/* A record's timeline: events whose resource_id or subject_id is `id`,
 * newest first, after the event with rid `before_rid` (0 = from the newest). */
int store_event_list(store_conn *c, arena *a, const char *ws, const char *id, int64_t before_rid,
                     int limit, store_event **out, int *n, bool *more, store_err *e);
/* The change feed: events of ws whose sequence is above fq->after, in
 * sequence order, at most fq->limit (*more when there are more), of any
 * of fq->types (exact types or patterns with '*', e.g. "deal.*"; none:
 * all) and of record fq->resource_id (NULL: any). Sequences are taken in
 * commit order, so a reader that goes on after the last one it saw sees
 * every committed event once. */
typedef struct store_feed_query {
    int64_t after;
    const char *const *types;
    int ntypes;
    const char *resource_id;
    int limit;
} store_feed_query;
int store_event_feed(store_conn *c, arena *a, const char *ws, const store_feed_query *fq,
                     store_event **out, int *n, bool *more, store_err *e);
/* The sequence of event `id` of ws (STORE_NOTFOUND when none), or with
 * id NULL the workspace's last (0 when it has none). */
int store_event_seq(store_conn *c, const char *ws, const char *id, int64_t *seq, store_err *e);
/* Makes `from`'s events (its own and those it is the subject of) concern
 * `to` as well: a merged record's history joins the survivor's timeline. */
int store_event_resubject(store_conn *c, const char *ws, const char *from, const char *to,
                          store_err *e);

/* ---- idempotency ---- */
typedef struct store_idem {
    char req_hash[TOKEN_HASH_HEX];
    int status;
    const char *body; /* arena */
    int64_t created_ms;
} store_idem;

int store_idem_get(store_conn *c, arena *a, const char *ws, const char *key, store_idem *out,
                   store_err *e);
int store_idem_put(store_conn *c, const char *ws, const char *key, const char *req_hash, int status,
                   const char *body, size_t body_len, store_err *e);
/* Drops keys older than `cutoff_ms`. */
int store_idem_expire(store_conn *c, int64_t cutoff_ms, store_err *e);

/* ---- BI queries: described as data, compiled by sql.c ----
 * Columns name a field of the resource by its index, or one of the
 * record's own columns below; nothing else reaches SQL text. */
#define STORE_BI_ID      (-2) /* the record's id */
#define STORE_BI_CREATED (-3) /* created_at (epoch ms) */
#define STORE_BI_UPDATED (-4) /* updated_at (epoch ms) */
#define STORE_BI_COUNT   (-1) /* count(*): an aggregate over no field */

typedef enum store_bi_op {
    BQ_EQ,       /* = v (case-insensitive for sql_nocase fields, as list filters) */
    BQ_NEQ,      /* differs from v; null differs from every value */
    BQ_GT,       /* > v */
    BQ_GTE,      /* >= v */
    BQ_LT,       /* < v */
    BQ_LTE,      /* <= v */
    BQ_IN,       /* one of in[0..nin), 1 to 100 values */
    BQ_CONTAINS, /* text holding v, ignoring case */
    BQ_IS_NULL,  /* null */
    BQ_NOT_NULL, /* not null */
} store_bi_op;

typedef struct store_bi_filter {
    int field; /* a field index or STORE_BI_ID/CREATED/UPDATED */
    store_bi_op op;
    store_val v;
    const store_val *in;
    int nin;
} store_bi_filter;

typedef enum store_bi_fn { BA_NONE, BA_COUNT, BA_SUM, BA_AVG, BA_MIN, BA_MAX } store_bi_fn;

typedef struct store_bi_col {
    int field;      /* a field index, STORE_BI_ID/CREATED/UPDATED, or STORE_BI_COUNT */
    store_bi_fn fn; /* BA_NONE: a group key (grouped) or a plain column */
    bool round;     /* BA_AVG: rounded to an integer (money: cents stay whole) */
    sv_kind kind;   /* what its cells hold: SV_INT, SV_REAL or SV_TEXT (or SV_NULL) */
} store_bi_col;

typedef struct store_bi_query {
    const store_bi_filter *filters; /* at most 20 */
    int nfilters;
    const store_bi_col *cols; /* answered in this order, at most 32 */
    int ncols;
    bool grouped;     /* the BA_NONE columns are GROUP BY keys; else rows are records */
    const int *sort;  /* columns (indexes into cols) to order by, first first ... */
    const bool *desc; /* ... each descending or not; then group keys (records: insertion order) */
    int nsort;
    int limit;      /* rows wanted; one more is read to tell there are more */
    int timeout_ms; /* the statement is interrupted past it */
} store_bi_query;

/* Runs q over r's rows in ws: *n rows of q->ncols cells each, row-major in
 * *cells (arena); *more when more than q->limit matched. STORE_TIMEOUT
 * when it ran past q->timeout_ms (interrupted; it wrote nothing),
 * STORE_RANGE when a sum leaves 64 bits. Meant for reader connections. */
int store_bi_run(store_conn *c, arena *a, const res_def *r, const char *ws, const store_bi_query *q,
                 store_val **cells, int *n, bool *more, store_err *e);
/* One row of a streamed BI query: q->ncols cells, valid during the call
 * only. Non-zero stops the query. */
typedef int (*store_bi_row_fn)(void *ud, const store_val *cells);
/* Runs q as store_bi_run does but hands each row to fn as it is read,
 * holding none (an export of a million rows): at most q->limit rows.
 * STORE_TIMEOUT past q->timeout_ms; STORE_ERROR ("stopped") when fn
 * stopped it. Meant for a worker's reader connection outside a
 * transaction. */
int store_bi_each(store_conn *c, const res_def *r, const char *ws, const store_bi_query *q,
                  store_bi_row_fn fn, void *ud, store_err *e);

#endif
