/* sql.h - every statement of the generic store, written once; private to
 * src/store/.
 *
 * Owns: the SQL text of the schema, its migrations and every query the
 * store runs for the engine (records, lists with filters, sorts and keyset
 * cursors, related-record filters, aggregates, rollups, re-pointing,
 * events, idempotency, workspaces and keys), built from the resource table
 * and a small description of the database's dialect. SQLite and PostgreSQL
 * each fill one sql_dialect; sqlite.c and postgres.c run what is built here
 * (connections, transactions, statement caches, reading rows) and keep
 * what truly differs between them: the full-text index (FTS5 and its
 * deferral; the prefix postings), libpq pipelining, the WAL layer. The
 * dialect's hooks are how a builder reaches those pieces.
 *
 * Values never enter SQL text: each goes into the statement's parameter
 * list (sql_param) and the backend binds them in order; the text holds
 * only identifiers from the resource table and constant SQL. Every
 * parameter a statement carries is referenced by it (PostgreSQL cannot
 * type one that is not). */
#ifndef CAIRN_STORE_SQL_H
#define CAIRN_STORE_SQL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "store/store.h"

#define SQL_MAX_PARAMS 128

typedef struct sql_stmt sql_stmt;

/* How one database spells what the builders write. Where both accept the
 * same text (ON CONFLICT ... DO UPDATE upserts, CAST, UNION ALL) there is
 * no field: the text is written once for both. */
typedef struct sql_dialect {
    const char *name;
    char param; /* placeholder sigil: '?' writes ?1, '$' writes $1 */

    /* Type names. */
    const char *int64;         /* 64-bit integers (times, money, counts) */
    const char *real;          /* FT_NUMBER */
    const char *bytewise_text; /* text ordered byte by byte (FT_RANK) */
    const char *json;          /* custom_fields */
    const char *rowid;         /* the rid column: an insertion-ordered key */
    const char *without_rowid; /* after a table clustered on its primary key */
    /* What ends an index so that its entries run in rid order within a
     * key: "" where every index carries the rowid (SQLite). */
    const char *index_rid;
    const char *add_column; /* ALTER TABLE's clause adding a column */

    /* Case folding of human-typed text (sql_nocase fields), each an opening
     * and a closing part: around such a column where it is sorted and
     * indexed (fold), and around both sides of a comparison (fold_col,
     * fold_val). An index serves a filter only when the two agree. */
    const char *fold[2];
    const char *fold_col[2];
    const char *fold_val[2];

    /* What follows ASC and DESC in ORDER BY so that NULLs sort lowest, as
     * lists promise; "" where they do by nature. Where they do not,
     * sortable fields get a second index in that order. */
    const char *nulls_low[2];
    /* Collation comparing text byte by byte (the order aggregate and
     * rollup keys come back in); "" where that is the default. */
    const char *bytewise;

    /* An OR of conditions that two indexes serve is spelled as a UNION
     * ALL of the rids each finds (a planner that would not use both). */
    bool or_as_union;
    /* Inserts end " RETURNING rid"; otherwise the backend asks its
     * connection for the row it just inserted. */
    bool returning_rid;
    /* Column holding each row's search document (sql_search_doc), kept by
     * inserts and updates of searchable fields; NULL when the backend
     * indexes rows itself (SQLite's FTS5 triggers). */
    const char *search_doc;
    /* Where the dialect keeps what it derives from that document, written
     * beside it: the column, and the expression around a reference to the
     * document's parameter (PostgreSQL's tsvector). Computed only where
     * the document is written: a generated column would be recomputed by
     * every update, also of fields no search reads. NULL: none. */
    const char *search_vector[3];
    /* A lock held to the end of the transaction, over two text values and
     * a key space: a printf format taking the two placeholders (%1$s,
     * %2$s) and the space (%3$d). NULL where one writer already holds the
     * whole database: locking is then a no-op. */
    const char *lock;
    /* Statements that start a migration, before sql_migrations_table's
     * (nodes that start together serialise on them), or NULL. */
    const char *migrate_lock;

    /* The function giving where text b starts in text a, from 1, or 0
     * (BI's contains): instr(a, b) or strpos(a, b). */
    const char *instr;

    /* Appends " AND <custom field key> = <value>" (JSON access differs).
     * `alias` prefixes the column. */
    void (*custom_eq)(sql_stmt *q, buf *b, const char *alias, const char *key, const char *value);
    /* Builds the whole list statement of a query with full-text search
     * (q->fts), from the index that backend keeps, with sql_select,
     * sql_list_conds and sql_limit for the generic parts. Returns false
     * when the text holds no word, so nothing can match. */
    bool (*search)(sql_stmt *q, const res_def *r, const char *ws, const store_query *query);
} sql_dialect;

/* One statement: its text and its parameters, numbered from 1. Text
 * values are borrowed (from the caller, or from `mem` for those the
 * builder made): they live until the statement has run. */
struct sql_stmt {
    const sql_dialect *d;
    buf text;
    store_val param[SQL_MAX_PARAMS];
    int nparam;
    bool overflow;      /* more than SQL_MAX_PARAMS parameters: not to be run */
    bool plan_per_call; /* its best plan depends on the values (PostgreSQL) */
    arena mem;          /* values made while building (documents, paths) */
};

void sql_init(sql_stmt *q, const sql_dialect *d);
/* Empties q for the next statement, keeping its text's buffer. */
void sql_reset(sql_stmt *q);
void sql_free(sql_stmt *q);
/* The statement's text, NUL-terminated. */
const char *sql_text(sql_stmt *q);
/* True when the text or the parameters did not fit. */
bool sql_failed(const sql_stmt *q);

/* Adds a parameter and returns its number (from 1), writing nothing. */
int sql_add(sql_stmt *q, store_val v);
/* Writes the placeholder of parameter k to b. */
void sql_ref(sql_stmt *q, buf *b, int k);
/* sql_add, then sql_ref: the usual way a value enters a statement. */
int sql_param(sql_stmt *q, buf *b, store_val v);
/* Appends constant SQL whose placeholders are written ?N, in the
 * dialect's spelling. */
void sql_put(sql_stmt *q, buf *b, const char *sql);

/* ---- derived schema ---- */

const char *sql_column_type(const sql_dialect *d, const res_field *f);
/* Human-typed text (names, emails, domains): filters and sorts ignore case. */
bool sql_nocase(const res_field *f);
/* Gets a (workspace_id, field) index: filters, references, parents, sorts
 * (an optional field's without its NULLs: sql_create_indexes). */
bool sql_indexed(const res_field *f);
/* Appends the search document of a row: every word of its searchable
 * fields, tagged with the workspace and folded (search_fold); for
 * dialects with a search_doc column. */
void sql_search_doc(const res_def *r, const char *ws, const store_val *vals, buf *out);

/* Versioned migrations of the core tables (1 .. sql_migration_count()),
 * each a script of statements without parameters. Append only: a
 * released migration is never changed, a change is a new one. */
int sql_migration_count(void);
void sql_migration(const sql_dialect *d, int version, buf *out);
/* The table recording them, created when missing, after the dialect's
 * migrate_lock. */
void sql_migrations_table(const sql_dialect *d, buf *out);
void sql_migration_done(sql_stmt *q, int version, int64_t now_ms);
/* Column 0: the highest version applied (0 for none). */
void sql_schema_version(sql_stmt *q);

/* A resource's table, created when missing (without indexes); one column
 * added to it; its indexes, each created when missing. Re-run on every
 * start, so a new field in the table becomes a new column and index. */
void sql_create_table(const sql_dialect *d, const res_def *r, buf *out);
void sql_add_column(const sql_dialect *d, const res_def *r, const res_field *f, buf *out);
void sql_create_indexes(const sql_dialect *d, const res_def *r, buf *out);

/* What a derived structure was built from, recorded to rebuild it when
 * that changes: search_indexes (by table name) and rollup_specs (by
 * resource). _get reads the recorded text as column 0. */
void sql_search_def_get(sql_stmt *q, const char *name);
void sql_search_def_put(sql_stmt *q, const char *name, const char *def);
void sql_rollup_def_get(sql_stmt *q, const res_def *r);
void sql_rollup_def_put(sql_stmt *q, const res_def *r, const char *def);
/* The rollup's declaration as text ("status,stage_id,currency:amount_cents");
 * "" when r has none. */
void sql_rollup_spec(const res_def *r, buf *out);

/* ---- records ----
 * Statements reading records select rid, id, created_at, updated_at, every
 * field in table order, then custom_fields. */

/* "SELECT <alias>rid, ..., <alias>custom_fields FROM " */
void sql_select(sql_stmt *q, buf *b, const res_def *r, const char *alias);
void sql_rec_get(sql_stmt *q, const res_def *r, const char *ws, const char *id);
void sql_rec_exists(sql_stmt *q, const res_def *r, const char *ws, const char *id);
/* Reads rid back when the dialect says returning_rid. */
void sql_rec_insert(sql_stmt *q, const res_def *r, const char *ws, const res_row *row);
void sql_rec_update(sql_stmt *q, const res_def *r, const char *ws, const res_row *row,
                    const bool *set, bool set_custom);
void sql_rec_delete(sql_stmt *q, const res_def *r, const char *ws, const char *id);
void sql_rec_find_by(sql_stmt *q, const res_def *r, const char *ws, int field, const char *value,
                     bool bulk);

/* A page of a list, limit + 1 rows. Returns false when nothing can match
 * (a search of punctuation only): no statement then. */
bool sql_list(sql_stmt *q, const res_def *r, const char *ws, const store_query *query);
/* The parts of a list a search hook shares: filters, custom field and
 * sub-list link (ws_param: the workspace's parameter), and the limit. */
void sql_list_conds(sql_stmt *q, buf *b, const res_def *r, const store_query *query,
                    const char *alias, int ws_param);
void sql_limit(sql_stmt *q, buf *b, const store_query *query);

/* One read of a batch (store_read_many): sql_rec_get or sql_list. */
bool sql_read(sql_stmt *q, const char *ws, const store_read *rd);

/* Columns: the two group keys (NULL when unused), count, sum. */
void sql_aggregate(sql_stmt *q, const res_def *r, const char *ws, const store_agg *agg);

/* A BI query (store_bi_query): columns c0, c1, ... as q->cols says, at
 * most q->limit + 1 rows. */
void sql_bi_query(sql_stmt *q, const res_def *r, const char *ws, const store_bi_query *bq);

/* store_rec_repoint: first the rows the move would make duplicates of
 * the unique tuple go (false, no statement, when `field` is not in it),
 * then the rest move or are cleared. */
bool sql_repoint_dupes(sql_stmt *q, const res_def *r, int field, const char *ws, const char *from,
                       const char *to, int type_field, const char *type_value);
void sql_repoint(sql_stmt *q, const res_def *r, int field, const char *ws, const char *from,
                 const char *to, int type_field, const char *type_value);

/* ---- rollups ---- */
/* Changes no row when the group's count or total would leave 64 bits. */
void sql_rollup_add(sql_stmt *q, const res_def *r, const char *ws, const store_val *keys,
                    int64_t dcount, int64_t dsum);
/* store_rollup_add_many's statement (n > 1), which changes no row when a
 * group would leave 64 bits. */
void sql_rollup_add_many(sql_stmt *q, const char *ws, const store_rollup_delta *d, int n);
/* store_rollup_move's statement, which changes no row when a group would
 * leave 64 bits: 1 when built; 0, with no statement, when there is
 * nothing to change (the same group and sum); STORE_RANGE (e filled) when
 * the change cannot be written in 64 bits (-from_sum, or to_sum -
 * from_sum in one group). */
int sql_rollup_move(sql_stmt *q, const res_def *r, const char *ws, const store_val *from_keys,
                    int64_t from_sum, const store_val *to_keys, int64_t to_sum, store_err *e);
/* Columns: k1, k2, k3 ('' for none), n, total. */
void sql_rollup_list(sql_stmt *q, const res_def *r, const char *ws, const char *const *match,
                     const char *upto);
/* Recounting from the table: clear the resource's groups, then fill. */
void sql_rollup_clear(sql_stmt *q, const res_def *r);
/* false (no statement) when r has no rollup. */
bool sql_rollup_fill(sql_stmt *q, const res_def *r);

/* ---- the server's secret (where the database keeps it) ---- */
/* Column 0: the secret in hex; no row before one was put. */
void sql_secret_get(sql_stmt *q);
/* Puts the secret unless one is there: of nodes racing, the first wins. */
void sql_secret_put(sql_stmt *q, const char *hex);

/* ---- locks, merged records ---- */
/* false (no statement) where the dialect has no locks. `space` keeps
 * kinds of keys apart (idempotency keys, natural keys). */
bool sql_lock(sql_stmt *q, const char *ws, const char *key, int space);
void sql_merged_put(sql_stmt *q, const char *ws, const char *res_type, const char *id,
                    const char *into, const char *snapshot, int64_t now_ms);
void sql_merged_get(sql_stmt *q, const char *ws, const char *res_type, const char *id);

/* ---- events ---- */
/* The columns of an event row as inserted, in store_event_append's order. */
#define SQL_EVENT_COLS                                                                             \
    "id, workspace_id, type, resource_type, resource_id, subject_id, data, changes, "              \
    "actor_key_id, created_at"
#define SQL_EVENT_NCOLS 10
/* One event: v holds the text columns of SQL_EVENT_COLS (all but the
 * last; NULL = SQL NULL). */
void sql_event_insert(sql_stmt *q, const char *const *v, int64_t created_ms);
/* Columns: rid, id, type, resource_type, resource_id, subject_id, data,
 * changes, actor_key_id, created_at, sequence. */
void sql_event_list(sql_stmt *q, const char *ws, const char *id, int64_t before_rid, int limit);
void sql_event_resubject(sql_stmt *q, const char *ws, const char *from, const char *to);
void sql_event_count(sql_stmt *q, const char *ws);
/* The change feed's page (store_event_feed), columns as sql_event_list's,
 * limit + 1 rows. */
void sql_event_feed(sql_stmt *q, const char *ws, const store_feed_query *fq);
/* Column: the sequence of event `id`, or the workspace's last (id NULL,
 * 0 when it has none). */
void sql_event_seq(sql_stmt *q, const char *ws, const char *id);

/* ---- idempotency ---- */
/* Columns: request_hash, status, body, created_at. */
void sql_idem_get(sql_stmt *q, const char *ws, const char *key);
void sql_idem_put(sql_stmt *q, const char *ws, const char *key, const char *req_hash, int status,
                  const char *body, size_t body_len, int64_t now_ms);
void sql_idem_expire(sql_stmt *q, int64_t cutoff_ms);

/* ---- workspaces, keys ---- */
/* Columns: id, name, created_at, disabled_modules. */
void sql_workspace_create(sql_stmt *q, const store_workspace *w);
void sql_workspace_find(sql_stmt *q, const char *name_or_id);
void sql_workspace_count(sql_stmt *q);
void sql_workspace_each(sql_stmt *q);
void sql_workspace_set_modules(sql_stmt *q, const char *id, const char *disabled);
void sql_workspace_set_currency(sql_stmt *q, const char *id, const char *currency);
/* Columns: id, workspace_id, name, scopes, super_admin, max_concurrent,
 * rate, created_at, revoked_at. */
void sql_key_create(sql_stmt *q, const store_key *k, const char *token_hash);
void sql_key_by_hash(sql_stmt *q, const char *token_hash);
void sql_key_each(sql_stmt *q);
void sql_key_revoke(sql_stmt *q, const char *id, int64_t now_ms);

#endif
