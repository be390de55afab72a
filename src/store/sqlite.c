/* sqlite.c - the embedded store: SQLite in WAL mode; see store.h.
 *
 * Owns: connections, transactions and savepoints, a prepared-statement
 * cache per connection, reading rows, and what only SQLite has: the
 * full-text index (FTS5, its triggers, and its changes deferred to COMMIT),
 * the group commit's deferred sync over the WAL layer (sqlite_wal.c), the
 * index merges and checkpoints of idle upkeep, and the server's secret in
 * a key file beside the database. Every statement of the generic store
 * comes from sql.c, in the dialect below; `rid` is the rowid, which every
 * index carries. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "store/impl.h"
#include "store/search.h"
#include "store/sql.h"
#include "store/sqlite_wal.h"

#define STMT_CACHE 256
#define STMT_PROBE 8

/* WAL frames (pages) that make a checkpoint due by default; see sq_connect. */
#define CHECKPOINT_FRAMES 65536

typedef struct sq_store {
    store base;
    char *path;
    store_opts opts;
    secret_memo secret; /* read from (or written to) <path>.key once */
} sq_store;

typedef struct stmt_slot {
    char *sql;
    size_t len;
    uint64_t hash;
    sqlite3_stmt *st;
} stmt_slot;

/* A full-text index change held back until COMMIT (see fts_defer_fn). */
typedef struct fts_op {
    int64_t rid;
    size_t table, doc; /* offsets of NUL-terminated strings in fts_text */
    int seq;           /* place in the queue */
    bool del;
} fts_op;

/* The queue's length when a savepoint opened, to cut it back on rollback. */
typedef struct fts_mark {
    int n;
    size_t text;
} fts_mark;

#define FTS_MARKS 16 /* savepoints open at once: a batch item in a job is 2 */

typedef struct sq_conn {
    store_conn base;
    sq_store *s;
    sqlite3 *db;
    stmt_slot cache[STMT_CACHE];
    bool fts_defer; /* in a write transaction: index changes wait for COMMIT */
    fts_op *fts_ops;
    int fts_n, fts_cap;
    buf fts_text;
    fts_mark fts_marks[FTS_MARKS];
    int fts_depth;
    int sync_fd;    /* >= 0 with store_sync_defer on: the WAL, for sq_sync */
    int wal_frames; /* frames in the WAL after the last commit (wal_hook) */
    sql_stmt q;     /* the statement being built (stmt()) */
} sq_conn;

static const sql_dialect sq_dialect;

/* errno values that mean the storage has no room: the disk, or the
 * user's quota (which SQLite reports as an I/O error). */
static bool no_room(int err)
{
    return err == ENOSPC || err == EDQUOT;
}

static int sqlfail(sq_conn *c, store_err *e, int rc)
{
    int code = STORE_ERROR;
    int ext = sqlite3_extended_errcode(c->db);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        code = STORE_BUSY;
    else if ((rc & 0xff) == SQLITE_FULL ||
             ((rc & 0xff) == SQLITE_IOERR && no_room(sqlite3_system_errno(c->db))))
        code = STORE_FULL;
    else if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        code = STORE_CONFLICT;
    else if (strcmp(sqlite3_errmsg(c->db), "integer overflow") == 0)
        code = STORE_RANGE; /* sum() of integers past 64 bits: no code of its own */
    return store_fail(e, code, "sqlite: %s", sqlite3_errmsg(c->db));
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void)
{
    /* With memory statistics on, every allocation takes a global mutex and
     * reads stop scaling past one thread. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_initialize();
    sqlite_wal_register();
}

static void fts_doc_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv);
static void fts_defer_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv);

static int sq_open(store **out, const char *url, const store_opts *opts, store_err *e)
{
    pthread_once(&global_once, global_init);
    if (!url || !*url) return store_fail(e, STORE_ERROR, "empty database path");
    const char *path = strncmp(url, "sqlite://", 9) == 0 ? url + 9 : url;
    sq_store *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->base.ops = &store_sqlite_ops;
    s->path = strdup(path);
    s->opts = *opts;
    secret_memo_init(&s->secret);
    if (s->opts.busy_ms <= 0) s->opts.busy_ms = 5000;
    if (s->opts.checkpoint_pages <= 0) s->opts.checkpoint_pages = CHECKPOINT_FRAMES;
    *out = &s->base;
    return STORE_OK;
}

static void sq_close(store *bs)
{
    sq_store *s = (sq_store *)bs;
    secret_memo_destroy(&s->secret);
    free(s->path);
    free(s);
}

static int exec(sq_conn *c, const char *sql, store_err *e)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int r = sqlfail(c, e, rc);
        if (e && msg) snprintf(e->msg, sizeof e->msg, "sqlite: %s", msg);
        sqlite3_free(msg);
        return r;
    }
    return STORE_OK;
}

static int sq_connect(store *bs, store_conn **out, store_err *e)
{
    sq_store *s = (sq_store *)bs;
    sq_conn *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->base.ops = &store_sqlite_ops;
    c->s = s;
    c->sync_fd = -1;
    sql_init(&c->q, &sq_dialect);
    int rc = sqlite3_open_v2(s->path, &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             SQLITE_WAL_VFS);
    if (rc != SQLITE_OK) {
        store_fail(e, STORE_ERROR, "cannot open %s: %s", s->path,
                   c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close(c->db);
        free(c);
        return STORE_ERROR;
    }
    sqlite3_busy_timeout(c->db, s->opts.busy_ms);
    sqlite3_create_function(c->db, "cairn_fts_doc", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                            fts_doc_fn, NULL, NULL);
    sqlite3_create_function(c->db, "cairn_fts_defer", 4, SQLITE_UTF8, c, fts_defer_fn, NULL, NULL);
    buf_init(&c->fts_text, (size_t)1 << 30);
    sqlite3_extended_result_codes(c->db, 1);
    /* Checkpoint every 256 MiB of WAL rather than SQLite's 4 MiB: a page
     * changed by many writes in between is copied into the database once.
     * Creates on 1M contacts (group commit, deferred sync), two 10 s runs
     * each: at 16,384 frames 7,626 and 8,240/s; at 32,768 8,773 and 9,102;
     * at 65,536 9,530 and 9,604. The price is a longer pause at each
     * checkpoint (create p99 ~48 -> ~90 ms) and a larger log. Checkpoints
     * in a thread beside the writer were slower each time they were tried:
     * last, PASSIVE from 4,096 frames with the writer finishing the rest,
     * 5,391 to 6,118/s; they contend with the log's fsyncs. */
    char pragmas[512];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=OFF;"
             "PRAGMA mmap_size=268435456; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
             "PRAGMA wal_autocheckpoint=%d;",
             s->opts.durable ? "FULL" : "NORMAL", s->opts.checkpoint_pages);
    if (exec(c, pragmas, e) != STORE_OK) {
        sqlite3_close(c->db);
        free(c);
        return STORE_ERROR;
    }
    *out = &c->base;
    return STORE_OK;
}

static int sq_sync_defer(sq_conn *c, bool on, store_err *e);

static void sq_disconnect(sq_conn *c)
{
    if (!c) return;
    sq_sync_defer(c, false, NULL); /* closing may checkpoint: with real syncs */
    for (int i = 0; i < STMT_CACHE; i++) {
        if (c->cache[i].st) sqlite3_finalize(c->cache[i].st);
        free(c->cache[i].sql);
    }
    sqlite3_close(c->db);
    free(c->fts_ops);
    buf_free(&c->fts_text);
    sql_free(&c->q);
    free(c);
}

/* Returns a reset statement for sql, from the cache when possible. The
 * statement belongs to the cache; callers only reset it (done()). */
static sqlite3_stmt *prep(sq_conn *c, const char *sql, store_err *e)
{
    size_t len = strlen(sql);
    uint64_t h = hash_bytes(sql, len);
    stmt_slot *free_slot = NULL;
    for (int i = 0; i < STMT_PROBE; i++) {
        stmt_slot *s = &c->cache[(h + (uint64_t)i) % STMT_CACHE];
        if (s->st && s->hash == h && s->len == len && memcmp(s->sql, sql, len) == 0) return s->st;
        if (!s->st && !free_slot) free_slot = s;
    }
    if (!free_slot) free_slot = &c->cache[h % STMT_CACHE]; /* evict */
    if (free_slot->st) {
        sqlite3_finalize(free_slot->st);
        free(free_slot->sql);
        free_slot->sql = NULL;
        free_slot->st = NULL;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        sqlfail(c, e, rc);
        return NULL;
    }
    free_slot->sql = strdup(sql);
    free_slot->len = len;
    free_slot->hash = h;
    free_slot->st = st;
    return st;
}

static void done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void bind_val(sqlite3_stmt *st, int i, const store_val *v)
{
    switch (v->kind) {
    case SV_NULL: sqlite3_bind_null(st, i); break;
    case SV_INT: sqlite3_bind_int64(st, i, v->i); break;
    case SV_REAL: sqlite3_bind_double(st, i, v->d); break;
    case SV_TEXT: sqlite3_bind_text(st, i, v->s, -1, SQLITE_STATIC); break;
    }
}

/* Runs a statement expected to produce no rows. */
static int step_done(sq_conn *c, sqlite3_stmt *st, store_err *e)
{
    int rc = sqlite3_step(st);
    int r = rc == SQLITE_DONE ? STORE_OK : sqlfail(c, e, rc);
    done(st);
    return r;
}

/* ------------------------------------------------------------ statements */

static void sq_custom_eq(sql_stmt *q, buf *b, const char *alias, const char *key,
                         const char *value);
static bool sq_search(sql_stmt *q, const res_def *r, const char *ws, const store_query *query);

/* SQLite's words for sql.c. NULLs sort lowest by nature; COLLATE NOCASE
 * folds case with the indexes built the same way; one writer holds the
 * database, so locks are no-ops; FTS5 triggers index rows themselves. */
static const sql_dialect sq_dialect = {
    .name = "sqlite",
    .param = '?',
    .int64 = "INTEGER",
    .real = "REAL",
    .bytewise_text = "TEXT",
    .json = "TEXT",
    .rowid = "INTEGER PRIMARY KEY",
    .without_rowid = " WITHOUT ROWID",
    .index_rid = "",
    .add_column = "ADD COLUMN",
    .fold = {"", " COLLATE NOCASE"},
    .fold_col = {"", ""},
    .fold_val = {"", " COLLATE NOCASE"},
    .nulls_low = {"", ""},
    .bytewise = "",
    .or_as_union = true,
    .instr = "instr",
    .custom_eq = sq_custom_eq,
    .search = sq_search,
};

/* The connection's statement builder, emptied for the next statement:
 * one per connection, so that building reuses its memory. */
static sql_stmt *stmt(sq_conn *c)
{
    sql_reset(&c->q);
    return &c->q;
}

/* Returns the built statement from the cache with its parameters bound,
 * or NULL. */
static sqlite3_stmt *prep_q(sq_conn *c, store_err *e)
{
    sql_stmt *q = &c->q;
    if (sql_failed(q)) {
        store_fail(e, STORE_ERROR, "sqlite: statement too large");
        return NULL;
    }
    sqlite3_stmt *st = prep(c, sql_text(q), e);
    if (!st) return NULL;
    for (int i = 0; i < q->nparam; i++)
        bind_val(st, i + 1, &q->param[i]);
    return st;
}

/* Runs the built statement, which yields no rows. */
static int run_q(sq_conn *c, store_err *e)
{
    sqlite3_stmt *st = prep_q(c, e);
    return st ? step_done(c, st, e) : STORE_ERROR;
}

/* Runs the built statement, handing each row to fn, at most `max` of them
 * (0: all); *nrows (when given) gets how many. */
static int rows_q(sq_conn *c, void (*fn)(sqlite3_stmt *st, void *ud), void *ud, int max, int *nrows,
                  store_err *e)
{
    sqlite3_stmt *st = prep_q(c, e);
    int rc = STORE_ERROR, src = SQLITE_DONE, n = 0;
    if (st) {
        while ((max == 0 || n < max) && (src = sqlite3_step(st)) == SQLITE_ROW) {
            fn(st, ud);
            n++;
        }
        rc = src == SQLITE_DONE || src == SQLITE_ROW ? STORE_OK : sqlfail(c, e, src);
        done(st);
    }
    if (nrows) *nrows = n;
    return rc;
}

/* Column 0 as an integer (rows_q's reader for counts). */
static void read_int(sqlite3_stmt *st, void *ud)
{
    *(int64_t *)ud = sqlite3_column_int64(st, 0);
}

/* ---------------------------------------------------------------- schema */

/* cairn_fts_doc(workspace_id, text...): the document the full-text index
 * holds for a row, every word tagged with its workspace (search.h). The
 * triggers call it, so every connection registers it. */
static void fts_doc_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const unsigned char *ws = sqlite3_value_text(argv[0]);
    char tag[SEARCH_TAG_LEN + 1];
    search_tag(ws ? (const char *)ws : "", tag);
    buf b;
    buf_init(&b, 1u << 24);
    for (int i = 1; i < argc; i++) {
        const unsigned char *t = sqlite3_value_text(argv[i]);
        if (t) search_doc_append(&b, tag, (const char *)t, false); /* unicode61 folds */
    }
    if (b.overflow) {
        sqlite3_result_error_toobig(ctx);
    } else {
        buf_cstr(&b);
        sqlite3_result_text(ctx, b.data, (int)b.len, SQLITE_TRANSIENT);
    }
    buf_free(&b);
}

/* cairn_fts_defer(table, is_delete, rid, doc): in a write transaction,
 * queues a change of table's full-text index for fts_flush and returns 1;
 * otherwise returns 0 and the trigger changes the index itself.
 *
 * Why: FTS5 writes its pending terms out as a new segment at the end of
 * every statement that has a statement journal, which every INSERT with a
 * trigger has. Applied from the triggers, a group commit of 16 creates
 * wrote 16 one-row segments (and merged them); queued, it writes one. */
static void fts_defer_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sq_conn *c = sqlite3_user_data(ctx);
    const unsigned char *table = sqlite3_value_text(argv[0]);
    const unsigned char *doc = sqlite3_value_text(argv[3]);
    if (!c->fts_defer || !table || !doc) {
        sqlite3_result_int(ctx, 0);
        return;
    }
    if (c->fts_n == c->fts_cap) {
        int cap = c->fts_cap ? 2 * c->fts_cap : 64;
        fts_op *ops = realloc(c->fts_ops, sizeof *ops * (size_t)cap);
        if (!ops) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        c->fts_ops = ops;
        c->fts_cap = cap;
    }
    fts_op *op = &c->fts_ops[c->fts_n];
    op->rid = sqlite3_value_int64(argv[2]);
    op->seq = c->fts_n;
    op->del = sqlite3_value_int(argv[1]) != 0;
    op->table = c->fts_text.len;
    buf_append(&c->fts_text, table, strlen((const char *)table) + 1);
    op->doc = c->fts_text.len;
    buf_append(&c->fts_text, doc, (size_t)sqlite3_value_bytes(argv[3]) + 1);
    if (c->fts_text.overflow) {
        sqlite3_result_error_toobig(ctx);
        return;
    }
    c->fts_n++;
    sqlite3_result_int(ctx, 1);
}

static void fts_clear(sq_conn *c)
{
    c->fts_defer = false;
    c->fts_n = 0;
    c->fts_depth = 0;
    buf_reset(&c->fts_text);
}

static int fts_op_cmp(const void *a, const void *b)
{
    const fts_op *x = a, *y = b;
    if (x->rid != y->rid) return x->rid < y->rid ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Applies the queued index changes as plain single-row inserts (no
 * statement journal, so FTS5 keeps them in memory until COMMIT). They go
 * in rowid order, each row's in the order made: FTS5 writes its pending
 * terms out whenever a rowid is lower than the one before. */
static int fts_flush(sq_conn *c, store_err *e)
{
    int rc = STORE_OK;
    if (c->fts_n > 1) qsort(c->fts_ops, (size_t)c->fts_n, sizeof *c->fts_ops, fts_op_cmp);
    for (int i = 0; rc == STORE_OK && i < c->fts_n; i++) {
        const fts_op *op = &c->fts_ops[i];
        const char *t = c->fts_text.data + op->table;
        char sql[192];
        if (op->del)
            snprintf(sql, sizeof sql,
                     "INSERT INTO %1$s_fts(%1$s_fts, rowid, doc) VALUES ('delete', ?, ?)", t);
        else
            snprintf(sql, sizeof sql, "INSERT INTO %s_fts(rowid, doc) VALUES (?, ?)", t);
        sqlite3_stmt *st = prep(c, sql, e);
        if (!st) {
            rc = STORE_ERROR;
            break;
        }
        sqlite3_bind_int64(st, 1, op->rid);
        sqlite3_bind_text(st, 2, c->fts_text.data + op->doc, -1, SQLITE_STATIC);
        rc = step_done(c, st, e);
    }
    c->fts_n = 0;
    buf_reset(&c->fts_text);
    return rc;
}

static void fts_doc_call(const res_def *r, buf *b, const char *row)
{
    buf_printf(b, "cairn_fts_doc(%s.workspace_id", row);
    for (int i = 0; i < r->nfields; i++)
        if (r->fields[i].flags & RF_SEARCH) buf_printf(b, ", %s.%s", row, r->fields[i].name);
    buf_putc(b, ')');
}

/* One trigger statement: the index change as an INSERT into the FTS5
 * table that only runs when cairn_fts_defer did not queue it. */
static void fts_trigger_change(const res_def *r, buf *b, const char *row)
{
    bool del = strcmp(row, "old") == 0;
    if (del)
        buf_printf(b, "INSERT INTO %1$s_fts(%1$s_fts, rowid, doc) SELECT 'delete', old.rid, ",
                   r->table);
    else
        buf_printf(b, "INSERT INTO %s_fts(rowid, doc) SELECT new.rid, ", r->table);
    fts_doc_call(r, b, row);
    buf_printf(b, " WHERE NOT cairn_fts_defer('%s', %d, %s.rid, ", r->table, del, row);
    fts_doc_call(r, b, row);
    buf_puts(b, ");");
}

/* The full-text index of a resource: contentless FTS5 over the tagged
 * document, kept in step by triggers. The prefix indexes cover a tag plus
 * one to three characters, so short prefixes are single index lookups.
 * The table comes first and ends at the first ';' (sync_fts relies on it). */
static void fts_ddl(const res_def *r, buf *b)
{
    buf_printf(b,
               "CREATE VIRTUAL TABLE %1$s_fts USING fts5(doc, content='', prefix='%2$d %3$d %4$d', "
               "tokenize='unicode61');",
               r->table, SEARCH_TAG_LEN + 1, SEARCH_TAG_LEN + 2, SEARCH_TAG_LEN + 3);
    buf_printf(b, "CREATE TRIGGER %1$s_fts_i AFTER INSERT ON %1$s BEGIN ", r->table);
    fts_trigger_change(r, b, "new");
    buf_puts(b, " END;");
    buf_printf(b, "CREATE TRIGGER %1$s_fts_d AFTER DELETE ON %1$s BEGIN ", r->table);
    fts_trigger_change(r, b, "old");
    buf_puts(b, " END;");
    /* Only updates of indexed columns touch the index. */
    buf_printf(b, "CREATE TRIGGER %s_fts_u AFTER UPDATE OF workspace_id", r->table);
    for (int i = 0; i < r->nfields; i++)
        if (r->fields[i].flags & RF_SEARCH) buf_printf(b, ", %s", r->fields[i].name);
    buf_printf(b, " ON %s BEGIN ", r->table);
    fts_trigger_change(r, b, "old");
    fts_trigger_change(r, b, "new");
    buf_puts(b, " END;");
}

/* Column 0 as text, and that there was a row (rows_q's reader for the
 * definitions recorded in search_indexes and rollup_specs). */
typedef struct found_text {
    buf text;
    bool found;
} found_text;

static void read_found(sqlite3_stmt *st, void *ud)
{
    found_text *f = ud;
    const unsigned char *t = sqlite3_column_text(st, 0);
    f->found = true;
    buf_puts(&f->text, t ? (const char *)t : "");
}

/* Creates or rebuilds a resource's search index when its DDL differs from
 * the one recorded in search_indexes (new searchable field, new scheme),
 * then fills it from the table. When only the triggers differ, only they
 * are replaced: the index itself is still right. */
static int sync_fts(sq_conn *c, const res_def *r, buf *ddl, store_err *e)
{
    sql_search_def_get(stmt(c), r->table);
    found_text was = {.found = false};
    buf_init(&was.text, 1 << 20);
    int rc = rows_q(c, read_found, &was, 1, NULL, e);
    const char *now = buf_cstr(ddl);
    size_t table_len = strcspn(now, ";") + 1;
    bool same = was.found && strcmp(buf_cstr(&was.text), now) == 0;
    bool same_table = was.found && strncmp(buf_cstr(&was.text), now, table_len) == 0;
    buf_free(&was.text);
    if (rc || same) return rc;
    buf b;
    buf_init(&b, 1 << 20);
    buf_printf(&b,
               "DROP TRIGGER IF EXISTS %1$s_fts_i; DROP TRIGGER IF EXISTS %1$s_fts_d;"
               "DROP TRIGGER IF EXISTS %1$s_fts_u;",
               r->table);
    if (same_table) {
        buf_puts(&b, now + table_len);
    } else {
        buf_printf(&b, "DROP TABLE IF EXISTS %s_fts;", r->table);
        buf_append(&b, ddl->data, ddl->len);
        buf_printf(&b, "INSERT INTO %s_fts(rowid, doc) SELECT rid, ", r->table);
        fts_doc_call(r, &b, r->table);
        buf_printf(&b, " FROM %s;", r->table);
    }
    rc = exec(c, buf_cstr(&b), e);
    buf_free(&b);
    if (rc) return rc;
    sql_search_def_put(stmt(c), r->table, now);
    return run_q(c, e);
}

static bool column_exists(sq_conn *c, const char *table, const char *col)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &st,
                           NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

/* Brings one resource's table, indexes and FTS index in line with the
 * resource table. Idempotent: it only adds what is missing, so it runs on
 * every start and a new field in the table becomes a new column. */
static int sync_resource(sq_conn *c, const res_def *r, store_err *e)
{
    buf b;
    buf_init(&b, 1 << 20);
    sql_create_table(&sq_dialect, r, &b);
    int rc = exec(c, buf_cstr(&b), e);
    /* SQLite's ALTER TABLE has no IF NOT EXISTS: ask first. */
    for (int i = 0; rc == STORE_OK && i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (column_exists(c, r->table, f->name)) continue;
        buf_reset(&b);
        sql_add_column(&sq_dialect, r, f, &b);
        rc = exec(c, buf_cstr(&b), e);
    }
    if (rc == STORE_OK) {
        buf_reset(&b);
        sql_create_indexes(&sq_dialect, r, &b);
        rc = exec(c, buf_cstr(&b), e);
    }
    if (rc == STORE_OK && res_has_search(r)) {
        buf_reset(&b);
        fts_ddl(r, &b);
        rc = sync_fts(c, r, &b, e);
    }
    buf_free(&b);
    return rc;
}

static int sq_begin(sq_conn *c, bool write, store_err *e);
static int sq_commit(sq_conn *c, store_err *e);
static void sq_rollback(sq_conn *c);
static int sq_rollup_rebuild(sq_conn *c, const res_def *r, store_err *e);

/* Recounts a rollup whose declaration differs from the one recorded. */
static int sync_rollup(sq_conn *c, const res_def *r, store_err *e)
{
    buf spec;
    buf_init(&spec, 4096);
    sql_rollup_spec(r, &spec);
    sql_rollup_def_get(stmt(c), r);
    found_text was = {.found = false};
    buf_init(&was.text, 4096);
    int rc = rows_q(c, read_found, &was, 1, NULL, e);
    bool same = was.found ? strcmp(buf_cstr(&was.text), buf_cstr(&spec)) == 0 : spec.len == 0;
    buf_free(&was.text);
    if (rc == STORE_OK && !same) rc = sq_rollup_rebuild(c, r, e);
    if (rc == STORE_OK && !same) {
        sql_rollup_def_put(stmt(c), r, buf_cstr(&spec));
        rc = run_q(c, e);
    }
    buf_free(&spec);
    return rc;
}

static int sq_schema_version(sq_conn *c, int *version, store_err *e)
{
    (void)e;
    *version = 0;
    sql_schema_version(stmt(c));
    /* Not cached: before the first migration the table is missing and the
     * statement does not prepare (version 0). */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql_text(&c->q), -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return STORE_OK;
}

static int sq_migrate(sq_conn *c, int *applied, store_err *e)
{
    *applied = 0;
    int rc = sq_begin(c, true, e);
    if (rc) return rc;
    buf b;
    buf_init(&b, 1 << 20);
    sql_migrations_table(&sq_dialect, &b);
    rc = exec(c, buf_cstr(&b), e);
    int version = 0;
    if (rc == STORE_OK) rc = sq_schema_version(c, &version, e);
    for (int v = version + 1; rc == STORE_OK && v <= sql_migration_count(); v++) {
        buf_reset(&b);
        sql_migration(&sq_dialect, v, &b);
        rc = exec(c, buf_cstr(&b), e);
        if (rc) break;
        sql_migration_done(stmt(c), v, (int64_t)time_now_ms());
        rc = run_q(c, e);
        (*applied)++;
    }
    buf_free(&b);
    for (int i = 0; rc == STORE_OK && i < res_count; i++)
        rc = sync_resource(c, res_table[i], e);
    for (int i = 0; rc == STORE_OK && i < res_count; i++) {
        res_def two = res_rollup2_def(res_table[i]); /* kept under its own name */
        rc = sync_rollup(c, res_table[i], e);
        if (rc == STORE_OK && two.rollup.group[0]) rc = sync_rollup(c, &two, e);
    }
    if (rc) {
        sq_rollback(c);
        return rc;
    }
    return sq_commit(c, e);
}

static int sq_ping(sq_conn *c, store_err *e)
{
    sqlite3_stmt *st = prep(c, "SELECT 1", e);
    if (!st) return STORE_ERROR;
    int rc = sqlite3_step(st);
    done(st);
    return rc == SQLITE_ROW ? STORE_OK : sqlfail(c, e, rc);
}

/* --------------------------------------------------------- deferred sync */

static int wal_hook(void *ud, sqlite3 *db, const char *name, int frames)
{
    (void)db, (void)name;
    ((sq_conn *)ud)->wal_frames = frames;
    return SQLITE_OK;
}

/* A failed fsync of the log: some file systems (network, thin or
 * over-committed ones) learn only at the fsync that there is no room. */
static int sync_fail(store_err *e, int err)
{
    return store_fail(e, no_room(err) ? STORE_FULL : STORE_ERROR, "sqlite: fsync of the WAL: %s",
                      strerror(err));
}

/* With deferral on, SQLite's own checkpoints are off: one would copy
 * frames not yet durable into the database file. checkpoint() runs them
 * instead, with deferral off meanwhile, so the log is synced first. Off
 * again, every commit so far is made durable. */
static int sq_sync_defer(sq_conn *c, bool on, store_err *e)
{
    if (on == (c->sync_fd >= 0) || !c->s->opts.durable) return STORE_OK;
    sqlite_wal *w = sqlite_wal_of(c->db);
    if (!on) {
        if (w) sqlite_wal_defer(w, false);
        int err = sqlite_wal_sync(c->sync_fd) ? errno : 0;
        close(c->sync_fd);
        c->sync_fd = -1;
        sqlite3_wal_autocheckpoint(c->db, c->s->opts.checkpoint_pages);
        return err ? sync_fail(e, err) : STORE_OK;
    }
    if (!w) return store_fail(e, STORE_ERROR, "sqlite: the database has no open WAL file");
    c->sync_fd = sqlite_wal_dup_fd(w);
    if (c->sync_fd < 0)
        return store_fail(e, STORE_ERROR, "sqlite: cannot open the WAL: %s", strerror(errno));
    sqlite3_wal_hook(c->db, wal_hook, c);
    c->wal_frames = 0;
    sqlite_wal_defer(w, true);
    return STORE_OK;
}

/* A worker reading a few rows at a time maps nothing: a reader whose
 * database another connection changed unmaps its whole map before its
 * next read (and faults it in again), which cost the webhook worker more
 * than its reads while every create was delivered. */
static void sq_small_reads(sq_conn *c)
{
    store_err e;
    if (exec(c, "PRAGMA mmap_size=0; PRAGMA cache_size=-4096;", &e) != STORE_OK)
        fprintf(stderr, "{\"level\":\"warn\",\"msg\":\"sqlite: small reads: %s\"}\n", e.msg);
}

static int sq_sync(sq_conn *c, store_err *e)
{
    if (c->sync_fd >= 0 && sqlite_wal_sync(c->sync_fd) != 0) return sync_fail(e, errno);
    return STORE_OK;
}

/* Copies the WAL into the database file, so that the next write can
 * start the log over; SQLite's result. A PASSIVE checkpoint never waits:
 * readers keep their snapshots (and the part they still read stays for
 * next time). */
static int checkpoint(sq_conn *c, int mode)
{
    sqlite_wal *w = sqlite_wal_of(c->db);
    if (!w) return SQLITE_OK;
    bool deferred = c->sync_fd >= 0;
    if (deferred) sqlite_wal_defer(w, false);
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, mode, NULL, NULL);
    if (rc == SQLITE_OK) c->wal_frames = 0;
    if (deferred) sqlite_wal_defer(w, true);
    return rc;
}

/* See store.h. The write comes first: where the disk is still full it
 * fails after one page, while a checkpoint would copy much of the log
 * into the database before it failed. TRUNCATE waits (the busy timeout)
 * for readers to leave the log, then cuts it to nothing. */
static int sq_probe(sq_conn *c, store_err *e)
{
    int rc = sq_begin(c, true, e);
    sqlite3_stmt *st = rc == STORE_OK ? prep(c, "PRAGMA user_version", e) : NULL;
    if (st) {
        int src = sqlite3_step(st);
        int version = sqlite3_column_int(st, 0);
        done(st);
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
        rc = src == SQLITE_ROW ? exec(c, sql, e) : sqlfail(c, e, src);
    } else if (rc == STORE_OK) {
        rc = STORE_ERROR;
    }
    if (rc == STORE_OK)
        rc = sq_commit(c, e);
    else
        sq_rollback(c);
    if (rc == STORE_OK) rc = sq_sync(c, e);
    if (rc == STORE_OK) {
        int src = checkpoint(c, SQLITE_CHECKPOINT_TRUNCATE);
        if (src != SQLITE_OK) rc = sqlfail(c, e, src);
    }
    return rc;
}

/* ---------------------------------------------------------- transactions */

/* A write transaction queues its full-text index changes (fts_defer_fn)
 * and applies them just before COMMIT; savepoints mark the queue so that
 * rolling one back drops its changes with it. */
static int sq_begin(sq_conn *c, bool write, store_err *e)
{
    sqlite3_stmt *st = prep(c, write ? "BEGIN IMMEDIATE" : "BEGIN", e);
    if (!st) return STORE_ERROR;
    fts_clear(c);
    int rc = step_done(c, st, e);
    c->fts_defer = write && rc == STORE_OK;
    return rc;
}

static int sq_commit(sq_conn *c, store_err *e)
{
    int rc = fts_flush(c, e);
    if (rc == STORE_OK) {
        sqlite3_stmt *st = prep(c, "COMMIT", e);
        rc = st ? step_done(c, st, e) : STORE_ERROR;
    }
    if (rc != STORE_OK) sq_rollback(c);
    fts_clear(c);
    if (rc == STORE_OK && c->sync_fd >= 0 && c->wal_frames >= c->s->opts.checkpoint_pages)
        checkpoint(c, SQLITE_CHECKPOINT_PASSIVE);
    return rc;
}

static void sq_rollback(sq_conn *c)
{
    if (!sqlite3_get_autocommit(c->db)) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    fts_clear(c);
}

static int sq_savepoint(sq_conn *c, store_err *e)
{
    if (c->fts_depth == FTS_MARKS)
        return store_fail(e, STORE_ERROR, "more than %d savepoints open", FTS_MARKS);
    sqlite3_stmt *st = prep(c, "SAVEPOINT sp", e);
    if (!st) return STORE_ERROR;
    int rc = step_done(c, st, e);
    if (rc == STORE_OK) c->fts_marks[c->fts_depth++] = (fts_mark){c->fts_n, c->fts_text.len};
    return rc;
}

static int sq_release(sq_conn *c, store_err *e)
{
    sqlite3_stmt *st = prep(c, "RELEASE sp", e);
    if (!st) return STORE_ERROR;
    int rc = step_done(c, st, e);
    if (rc == STORE_OK && c->fts_depth > 0) c->fts_depth--;
    return rc;
}

static int sq_flush(sq_conn *c, store_err *e)
{
    (void)c, (void)e;
    return STORE_OK;
}

static void sq_rollback_to(sq_conn *c)
{
    sqlite3_exec(c->db, "ROLLBACK TO sp; RELEASE sp;", NULL, NULL, NULL);
    if (c->fts_depth > 0) {
        fts_mark m = c->fts_marks[--c->fts_depth];
        if (m.n < c->fts_n) {
            c->fts_n = m.n;
            c->fts_text.len = m.text;
            c->fts_text.overflow = false;
        }
    }
}

/* ------------------------------------------------------ workspaces, keys */

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void read_workspace(sqlite3_stmt *st, void *ud)
{
    store_workspace *w = ud;
    copy_col(w->id, sizeof w->id, st, 0);
    copy_col(w->name, sizeof w->name, st, 1);
    w->created_ms = sqlite3_column_int64(st, 2);
    copy_col(w->disabled_modules, sizeof w->disabled_modules, st, 3);
    copy_col(w->currency, sizeof w->currency, st, 4);
}

static int sq_workspace_create(sq_conn *c, const char *name, store_workspace *out, store_err *e)
{
    id_new(out->id, "wrk");
    snprintf(out->name, sizeof out->name, "%s", name);
    out->created_ms = (int64_t)time_now_ms();
    out->disabled_modules[0] = '\0';
    memcpy(out->currency, "USD", 4);
    sql_workspace_create(stmt(c), out);
    return run_q(c, e);
}

static int sq_workspace_find(sq_conn *c, const char *name_or_id, store_workspace *out, store_err *e)
{
    sql_workspace_find(stmt(c), name_or_id);
    int n = 0, rc = rows_q(c, read_workspace, out, 1, &n, e);
    if (rc == STORE_OK && n == 0)
        rc = store_fail(e, STORE_NOTFOUND, "no workspace '%s'", name_or_id);
    return rc;
}

/* Runs a workspace's update: STORE_NOTFOUND when no row changed. */
static int workspace_changed(sq_conn *c, const char *id, store_err *e)
{
    int rc = run_q(c, e);
    if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
        rc = store_fail(e, STORE_NOTFOUND, "no workspace '%s'", id);
    return rc;
}

static int sq_workspace_set_modules(sq_conn *c, const char *id, const char *disabled, store_err *e)
{
    if (strlen(disabled) >= sizeof((store_workspace *)0)->disabled_modules)
        return store_fail(e, STORE_ERROR, "disabled modules: more than %zu bytes",
                          sizeof((store_workspace *)0)->disabled_modules - 1);
    sql_workspace_set_modules(stmt(c), id, disabled);
    return workspace_changed(c, id, e);
}

static int sq_workspace_set_currency(sq_conn *c, const char *id, const char *currency, store_err *e)
{
    sql_workspace_set_currency(stmt(c), id, currency);
    return workspace_changed(c, id, e);
}

static int sq_workspace_count(sq_conn *c, int64_t *n, store_err *e)
{
    sql_workspace_count(stmt(c));
    return rows_q(c, read_int, n, 1, NULL, e);
}

/* Hands rows on to a store_workspace_cb or a store_key_cb. */
typedef struct each_ctx {
    store_workspace_cb workspace;
    store_key_cb key;
    void *ud;
} each_ctx;

static void read_key(sqlite3_stmt *st, void *ud);

static void each_row(sqlite3_stmt *st, void *ud)
{
    each_ctx *x = ud;
    if (x->workspace) {
        store_workspace w;
        read_workspace(st, &w);
        x->workspace(&w, x->ud);
    } else {
        store_key k;
        read_key(st, &k);
        x->key(&k, x->ud);
    }
}

static int sq_workspace_each(sq_conn *c, store_workspace_cb cb, void *ud, store_err *e)
{
    sql_workspace_each(stmt(c));
    each_ctx x = {.workspace = cb, .ud = ud};
    return rows_q(c, each_row, &x, 0, NULL, e);
}

static void read_key(sqlite3_stmt *st, void *ud)
{
    store_key *k = ud;
    copy_col(k->id, sizeof k->id, st, 0);
    copy_col(k->workspace_id, sizeof k->workspace_id, st, 1);
    copy_col(k->name, sizeof k->name, st, 2);
    copy_col(k->scopes, sizeof k->scopes, st, 3);
    k->super_admin = sqlite3_column_int(st, 4) != 0;
    k->max_concurrent = sqlite3_column_int(st, 5);
    k->rate = sqlite3_column_int(st, 6);
    k->created_ms = sqlite3_column_int64(st, 7);
    k->revoked_ms = sqlite3_column_int64(st, 8);
}

static int sq_key_create(sq_conn *c, const store_key *k, const char *token_hash, store_err *e)
{
    sql_key_create(stmt(c), k, token_hash);
    return run_q(c, e);
}

static int sq_key_by_hash(sq_conn *c, const char *token_hash, store_key *out, store_err *e)
{
    sql_key_by_hash(stmt(c), token_hash);
    int n = 0, rc = rows_q(c, read_key, out, 1, &n, e);
    if (rc == STORE_OK && n == 0) rc = store_fail(e, STORE_NOTFOUND, "no such key");
    return rc;
}

static int sq_key_each(sq_conn *c, store_key_cb cb, void *ud, store_err *e)
{
    sql_key_each(stmt(c));
    each_ctx x = {.key = cb, .ud = ud};
    return rows_q(c, each_row, &x, 0, NULL, e);
}

static int sq_key_revoke(sq_conn *c, const char *id, store_err *e)
{
    sql_key_revoke(stmt(c), id, (int64_t)time_now_ms());
    int rc = run_q(c, e);
    if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
        rc = store_fail(e, STORE_NOTFOUND, "no active key '%s'", id);
    return rc;
}

/* --------------------------------------------------------------- records */

static const char *col_text(arena *a, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    if (!t) return NULL;
    return arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(st, col));
}

static void read_row(arena *a, const res_def *r, sqlite3_stmt *st, res_row *row)
{
    row->rid = sqlite3_column_int64(st, 0);
    copy_col(row->id, sizeof row->id, st, 1);
    row->created_ms = sqlite3_column_int64(st, 2);
    row->updated_ms = sqlite3_column_int64(st, 3);
    row->vals = arena_alloc(a, sizeof(store_val) * (size_t)(r->nfields ? r->nfields : 1));
    for (int i = 0; i < r->nfields; i++) {
        store_val *v = &row->vals[i];
        int col = 4 + i;
        v->kind = SV_NULL;
        switch (sqlite3_column_type(st, col)) {
        case SQLITE_NULL: break;
        case SQLITE_INTEGER:
            v->kind = SV_INT;
            v->i = sqlite3_column_int64(st, col);
            break;
        case SQLITE_FLOAT:
            v->kind = SV_REAL;
            v->d = sqlite3_column_double(st, col);
            break;
        default: v->kind = SV_TEXT; v->s = col_text(a, st, col);
        }
    }
    row->custom = col_text(a, st, 4 + r->nfields);
}

typedef struct record_read {
    arena *a;
    const res_def *r;
    res_row *out;
} record_read;

static void read_record(sqlite3_stmt *st, void *ud)
{
    record_read *x = ud;
    read_row(x->a, x->r, st, x->out);
}

/* Runs the built statement, which yields at most one record, into *out. */
static int one_row(sq_conn *c, arena *a, const res_def *r, res_row *out, store_err *e)
{
    record_read x = {a, r, out};
    int n = 0, rc = rows_q(c, read_record, &x, 1, &n, e);
    if (rc == STORE_OK && n == 0) rc = store_fail(e, STORE_NOTFOUND, "no such %s", r->singular);
    return rc;
}

/* Runs the built statement, on one record: STORE_NOTFOUND when it found
 * (rows) or changed (!rows) none. */
static int on_record(sq_conn *c, const res_def *r, bool rows, store_err *e)
{
    sqlite3_stmt *st = prep_q(c, e);
    if (!st) return STORE_ERROR;
    int rc = sqlite3_step(st);
    bool hit = rows ? rc == SQLITE_ROW : sqlite3_changes(c->db) > 0;
    int ret = rc != SQLITE_ROW && rc != SQLITE_DONE ? sqlfail(c, e, rc)
              : hit                                 ? STORE_OK
                    : store_fail(e, STORE_NOTFOUND, "no such %s", r->singular);
    done(st);
    return ret;
}

static int sq_rec_get(sq_conn *c, arena *a, const res_def *r, const char *ws, const char *id,
                      res_row *out, store_err *e)
{
    sql_rec_get(stmt(c), r, ws, id);
    return one_row(c, a, r, out, e);
}

static int sq_rec_exists(sq_conn *c, const res_def *r, const char *ws, const char *id, store_err *e)
{
    sql_rec_exists(stmt(c), r, ws, id);
    return on_record(c, r, true, e);
}

static int sq_rec_insert(sq_conn *c, const res_def *r, const char *ws, res_row *row, store_err *e)
{
    sql_rec_insert(stmt(c), r, ws, row);
    int ret = run_q(c, e);
    if (ret == STORE_OK) row->rid = sqlite3_last_insert_rowid(c->db);
    return ret;
}

static int sq_rec_update(sq_conn *c, const res_def *r, const char *ws, const res_row *row,
                         const bool *set, bool set_custom, store_err *e)
{
    sql_rec_update(stmt(c), r, ws, row, set, set_custom);
    return on_record(c, r, false, e);
}

static int sq_rec_delete(sq_conn *c, const res_def *r, const char *ws, const char *id, store_err *e)
{
    sql_rec_delete(stmt(c), r, ws, id);
    return on_record(c, r, false, e);
}

static int sq_rec_find_by(sq_conn *c, arena *a, const res_def *r, const char *ws, int field,
                          const char *value, bool bulk, res_row *out, store_err *e)
{
    sql_rec_find_by(stmt(c), r, ws, field, value, bulk);
    return one_row(c, a, r, out, e);
}

/* A custom field's value as text, booleans as true/false (json_extract
 * gives 1/0), compared with what the user typed. */
static void sq_custom_eq(sql_stmt *q, buf *b, const char *alias, const char *key, const char *value)
{
    int path = sql_add(q, sv_text(arena_printf(&q->mem, "$.\"%s\"", key)));
    buf_printf(b, " AND (CASE json_type(%scustom_fields, ", alias);
    sql_ref(q, b, path);
    buf_printf(b,
               ") WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE "
               "CAST(json_extract(%scustom_fields, ",
               alias);
    sql_ref(q, b, path);
    buf_puts(b, ") AS TEXT) END) = ");
    sql_param(q, b, sv_text(value));
}

typedef struct expr_ctx {
    buf *b;
    const char *tag;
    int terms;
} expr_ctx;

static void expr_word(const char *w, size_t n, void *ud)
{
    expr_ctx *x = ud;
    buf_printf(x->b, "%s\"%s%.*s\"*", x->terms++ ? " AND " : "", x->tag, (int)n, w);
}

/* Turns what a user typed into an FTS5 expression: each word becomes a
 * quoted prefix term in this workspace's tag, all ANDed, so "jane@ac"
 * finds jane@acme.com and no user input is ever parsed as FTS syntax. */
static bool fts_expr(const char *ws, const char *q, buf *b)
{
    char tag[SEARCH_TAG_LEN + 1];
    search_tag(ws, tag);
    expr_ctx x = {b, tag, 0};
    return search_words(q, expr_word, &x) > 0;
}

/* A search page from the FTS5 index, newest first: the index's rows
 * joined to the table's. */
static bool sq_search(sql_stmt *q, const res_def *r, const char *ws, const store_query *query)
{
    buf fts;
    buf_init(&fts, 1 << 16);
    bool any = fts_expr(ws, query->fts, &fts);
    if (any) {
        buf *b = &q->text;
        sql_select(q, b, r, "t.");
        buf_printf(b, "%1$s AS t JOIN %1$s_fts ON %1$s_fts.rowid = t.rid WHERE %1$s_fts MATCH ",
                   r->table);
        sql_param(q, b, sv_text(arena_strdup(&q->mem, buf_cstr(&fts))));
        /* Terms carry the workspace tag; the workspace_id test only guards
         * against two workspaces sharing a tag. */
        buf_puts(b, " AND t.workspace_id = ");
        int wsp = sql_param(q, b, sv_text(ws));
        if (query->after_rid > 0) {
            buf_printf(b, " AND %s_fts.rowid < ", r->table);
            sql_param(q, b, sv_int(query->after_rid));
        }
        sql_list_conds(q, b, r, query, "t.", wsp);
        /* FTS5 walks its rowids backwards itself when asked to order by
         * them, so a search page stops after limit + 1 hits. */
        buf_printf(b, " ORDER BY %s_fts.rowid DESC", r->table);
        sql_limit(q, b, query);
    }
    buf_free(&fts);
    return any;
}

static int sq_rec_list(sq_conn *c, arena *a, const res_def *r, const char *ws, const store_query *q,
                       res_row **rows, int *n, bool *more, store_err *e)
{
    *n = 0;
    *more = false;
    *rows = NULL;
    /* Without a statement only punctuation was searched: nothing matches. */
    if (!sql_list(stmt(c), r, ws, q)) return STORE_OK;
    /* A search sees the transaction's own changes; inside a savepoint the
     * queue cannot be applied (its rollback would take older changes along
     * with it), and no write path searches. */
    if (q->fts && c->fts_n > 0) {
        int rc = c->fts_depth == 0 ? fts_flush(c, e)
                                   : store_fail(e, STORE_ERROR, "search inside a savepoint");
        if (rc) return rc;
    }
    sqlite3_stmt *st = prep_q(c, e);
    if (!st) return STORE_ERROR;
    res_row *page = arena_alloc(a, sizeof(res_row) * (size_t)(q->limit + 1));
    int rc, k = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == q->limit) {
            *more = true;
            break;
        }
        read_row(a, r, st, &page[k++]);
    }
    int ret = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? STORE_OK : sqlfail(c, e, rc);
    done(st);
    *rows = page;
    *n = k;
    return ret;
}

/* SQLite answers from memory with no round trips to save: the reads run
 * one after another, as the calls they stand for. */
static int sq_read_many(sq_conn *c, arena *a, const char *ws, store_read *reads, int n,
                        store_err *e)
{
    for (int i = 0; i < n; i++) {
        store_read *rd = &reads[i];
        assert(rd->r && (!!rd->id + !!rd->q + !!rd->key) == 1);
        rd->rows = NULL;
        rd->n = 0;
        rd->more = false;
        int rc = rd->id ? sq_rec_get(c, a, rd->r, ws, rd->id, &rd->row, e)
                 : rd->key
                     ? sq_rec_find_by(c, a, rd->r, ws, rd->key_field, rd->key, false, &rd->row, e)
                     : sq_rec_list(c, a, rd->r, ws, rd->q, &rd->rows, &rd->n, &rd->more, e);
        rd->rc = rc == STORE_NOTFOUND ? rc : STORE_OK;
        if (rc != STORE_OK && rc != STORE_NOTFOUND) return rc;
    }
    return STORE_OK;
}

static int sq_rollup_move(sq_conn *c, const res_def *r, const char *ws, const store_val *from_keys,
                          int64_t from_sum, const store_val *to_keys, int64_t to_sum, store_err *e);

/* The writes of a batch too run one after another, as the calls they
 * stand for. */
static int sq_write_many(sq_conn *c, const char *ws, store_write *w, int n, int *failed,
                         store_err *e)
{
    *failed = -1;
    for (int i = 0; i < n; i++) {
        int rc = w[i].row ? sq_rec_update(c, w[i].r, ws, w[i].row, w[i].set, w[i].set_custom, e)
                          : sq_rollup_move(c, w[i].r, ws, w[i].from_keys, w[i].from_sum,
                                           w[i].to_keys, w[i].to_sum, e);
        if (rc) {
            *failed = i;
            return rc;
        }
    }
    return STORE_OK;
}

/* ---------------------------------------------------------------- events */

static int sq_event_append(sq_conn *c, const char *ws, const char *type, const char *res_type,
                           const char *res_id, const char *subject_id, const char *data_json,
                           const char *changes_json, const char *actor_key, store_err *e)
{
    char id[ID_MAX];
    id_new(id, "ev");
    const char *v[] = {id,         ws,        type,         res_type, res_id,
                       subject_id, data_json, changes_json, actor_key};
    sql_event_insert(stmt(c), v, (int64_t)time_now_ms());
    return run_q(c, e);
}

/* Events read into a page: limit of them, *more when there was one more. */
typedef struct event_page {
    arena *a;
    store_event *ev;
    int n, limit;
    bool more;
} event_page;

static void read_event(sqlite3_stmt *st, void *ud)
{
    event_page *p = ud;
    if (p->n == p->limit) {
        p->more = true;
        return;
    }
    store_event *v = &p->ev[p->n++];
    v->rid = sqlite3_column_int64(st, 0);
    copy_col(v->id, sizeof v->id, st, 1);
    v->type = col_text(p->a, st, 2);
    v->res_type = col_text(p->a, st, 3);
    v->res_id = col_text(p->a, st, 4);
    v->subject_id = col_text(p->a, st, 5);
    v->data = col_text(p->a, st, 6);
    v->changes = col_text(p->a, st, 7);
    v->actor = col_text(p->a, st, 8);
    v->created_ms = sqlite3_column_int64(st, 9);
    v->seq = sqlite3_column_int64(st, 10);
}

static int sq_event_list(sq_conn *c, arena *a, const char *ws, const char *id, int64_t before_rid,
                         int limit, store_event **out, int *n, bool *more, store_err *e)
{
    event_page p = {a, arena_alloc(a, sizeof(store_event) * (size_t)(limit + 1)), 0, limit, false};
    sql_event_list(stmt(c), ws, id, before_rid, limit);
    int rc = rows_q(c, read_event, &p, limit + 1, NULL, e);
    *out = p.ev;
    *n = p.n;
    *more = p.more;
    return rc;
}

static int sq_event_resubject(sq_conn *c, const char *ws, const char *from, const char *to,
                              store_err *e)
{
    sql_event_resubject(stmt(c), ws, from, to);
    return run_q(c, e);
}

static int sq_event_feed(sq_conn *c, arena *a, const char *ws, const store_feed_query *fq,
                         store_event **out, int *n, bool *more, store_err *e)
{
    event_page p = {a, arena_alloc(a, sizeof(store_event) * (size_t)(fq->limit + 1)), 0, fq->limit,
                    false};
    sql_event_feed(stmt(c), ws, fq);
    int rc = rows_q(c, read_event, &p, fq->limit + 1, NULL, e);
    *out = p.ev;
    *n = p.n;
    *more = p.more;
    return rc;
}

static int sq_event_seq(sq_conn *c, const char *ws, const char *id, int64_t *seq, store_err *e)
{
    int found = 0;
    *seq = 0;
    sql_event_seq(stmt(c), ws, id);
    int rc = rows_q(c, read_int, seq, 1, &found, e);
    if (rc == STORE_OK && id && !found) return STORE_NOTFOUND;
    return rc;
}

static int sq_event_count(sq_conn *c, const char *ws, int64_t *n, store_err *e)
{
    sql_event_count(stmt(c), ws);
    return rows_q(c, read_int, n, 1, NULL, e);
}

/* ------------------------------------------------- merges, aggregates */

static int sq_rec_repoint(sq_conn *c, const res_def *r, int field, const char *ws, const char *from,
                          const char *to, int type_field, const char *type_value, store_err *e)
{
    int rc = STORE_OK;
    if (to && sql_repoint_dupes(stmt(c), r, field, ws, from, to, type_field, type_value))
        rc = run_q(c, e);
    if (rc) return rc;
    sql_repoint(stmt(c), r, field, ws, from, to, type_field, type_value);
    return run_q(c, e);
}

/* Aggregate rows read into a growing array in the arena. */
typedef struct agg_page {
    arena *a;
    store_agg_row *rows;
    int n, cap;
    int nkeys;  /* key columns before count and sum */
    bool range; /* a count or sum was no 64-bit integer */
} agg_page;

/* The next row, zeroed. */
static store_agg_row *agg_next(agg_page *p)
{
    if (p->n == p->cap) {
        int n = p->cap ? p->cap * 2 : 16;
        store_agg_row *bigger = arena_zalloc(p->a, sizeof(store_agg_row) * (size_t)n);
        if (p->cap) memcpy(bigger, p->rows, sizeof(store_agg_row) * (size_t)p->cap);
        p->rows = bigger;
        p->cap = n;
    }
    return &p->rows[p->n++];
}

/* Keys as SQLite typed them: integers or text; NULL stays NULL. */
static void read_agg(sqlite3_stmt *st, void *ud)
{
    agg_page *p = ud;
    store_agg_row *o = agg_next(p);
    for (int g = 0; g < p->nkeys; g++) {
        int t = sqlite3_column_type(st, g);
        if (t == SQLITE_INTEGER)
            o->key[g] = sv_int(sqlite3_column_int64(st, g));
        else if (t != SQLITE_NULL)
            o->key[g] = sv_text(col_text(p->a, st, g));
    }
    o->count = sqlite3_column_int64(st, p->nkeys);
    o->sum = sqlite3_column_int64(st, p->nkeys + 1);
}

static int sq_rec_aggregate(sq_conn *c, arena *a, const res_def *r, const char *ws,
                            const store_agg *q, store_agg_row **rows, int *n, store_err *e)
{
    agg_page p = {.a = a, .nkeys = 2};
    sql_aggregate(stmt(c), r, ws, q);
    /* sum() of integers fails past 64 bits (sqlfail: STORE_RANGE) */
    int rc = rows_q(c, read_agg, &p, 0, NULL, e);
    *rows = p.rows;
    *n = rc == STORE_OK ? p.n : 0;
    return rc;
}

/* ---------------------------------------------------------- BI queries */

/* A BI query's rows read into the arena, and its deadline: the progress
 * handler interrupts the statement past it. */
typedef struct bi_page {
    arena *a;
    const store_bi_query *q;
    store_val *cells;
    int n, cap;
    uint64_t deadline_ns;
    bool fired;
} bi_page;

static int bi_deadline(void *ud)
{
    bi_page *p = ud;
    if (time_mono_ns() < p->deadline_ns) return 0;
    p->fired = true;
    return 1;
}

/* Cells as the query's columns say: an integer column's value read as an
 * integer, a real one's as a double, text as text; NULL stays NULL. */
static void read_bi(sqlite3_stmt *st, void *ud)
{
    bi_page *p = ud;
    int nc = p->q->ncols;
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 64;
        store_val *bigger = arena_alloc(p->a, sizeof(store_val) * (size_t)cap * (size_t)nc);
        if (p->cap) memcpy(bigger, p->cells, sizeof(store_val) * (size_t)p->cap * (size_t)nc);
        p->cells = bigger;
        p->cap = cap;
    }
    store_val *row = &p->cells[(size_t)p->n++ * (size_t)nc];
    for (int k = 0; k < nc; k++) {
        row[k] = (store_val){.kind = SV_NULL};
        if (sqlite3_column_type(st, k) == SQLITE_NULL) continue;
        switch (p->q->cols[k].kind) {
        case SV_INT: row[k] = sv_int(sqlite3_column_int64(st, k)); break;
        case SV_REAL:
            row[k] = (store_val){.kind = SV_REAL, .d = sqlite3_column_double(st, k)};
            break;
        default: row[k] = sv_text(col_text(p->a, st, k));
        }
    }
}

static int sq_bi_run(sq_conn *c, arena *a, const res_def *r, const char *ws,
                     const store_bi_query *q, store_val **cells, int *n, bool *more, store_err *e)
{
    bi_page p = {.a = a, .q = q};
    sql_bi_query(stmt(c), r, ws, q);
    p.deadline_ns = time_mono_ns() + (uint64_t)q->timeout_ms * 1000000u;
    /* Every 1,000 virtual machine steps: well under a millisecond. */
    sqlite3_progress_handler(c->db, 1000, bi_deadline, &p);
    int rc = rows_q(c, read_bi, &p, 0, NULL, e);
    sqlite3_progress_handler(c->db, 0, NULL, NULL);
    if (rc != STORE_OK && p.fired)
        rc = store_fail(e, STORE_TIMEOUT, "the query ran past its %d ms", q->timeout_ms);
    *more = rc == STORE_OK && p.n > q->limit;
    *n = rc == STORE_OK ? (p.n > q->limit ? q->limit : p.n) : 0;
    *cells = p.cells;
    return rc;
}

/* Each row straight from the statement: text cells point into SQLite's
 * own buffers, valid until the next step. */
static int sq_bi_each(sq_conn *c, const res_def *r, const char *ws, const store_bi_query *q,
                      store_bi_row_fn fn, void *ud, store_err *e)
{
    bi_page p = {.q = q};
    sql_bi_query(stmt(c), r, ws, q);
    sqlite3_stmt *st = prep_q(c, e);
    if (!st) return STORE_ERROR;
    p.deadline_ns = time_mono_ns() + (uint64_t)q->timeout_ms * 1000000u;
    sqlite3_progress_handler(c->db, 1000, bi_deadline, &p);
    store_val cells[64];
    int nc = q->ncols < 64 ? q->ncols : 64, n = 0, src, rc = STORE_OK;
    bool stopped = false;
    while (n < q->limit && (src = sqlite3_step(st)) == SQLITE_ROW) {
        for (int k = 0; k < nc; k++) {
            cells[k] = (store_val){.kind = SV_NULL};
            if (sqlite3_column_type(st, k) == SQLITE_NULL) continue;
            switch (q->cols[k].kind) {
            case SV_INT: cells[k] = sv_int(sqlite3_column_int64(st, k)); break;
            case SV_REAL:
                cells[k] = (store_val){.kind = SV_REAL, .d = sqlite3_column_double(st, k)};
                break;
            default: cells[k] = sv_text((const char *)sqlite3_column_text(st, k));
            }
        }
        n++;
        if (fn(ud, cells)) {
            stopped = true;
            break;
        }
    }
    if (!stopped && n < q->limit && src != SQLITE_DONE) rc = sqlfail(c, e, src);
    done(st);
    sqlite3_progress_handler(c->db, 0, NULL, NULL);
    if (rc != STORE_OK && p.fired)
        rc = store_fail(e, STORE_TIMEOUT, "the query ran past its %d ms", q->timeout_ms);
    if (stopped) rc = store_fail(e, STORE_ERROR, "stopped");
    return rc;
}

/* Runs a rollup change built by sql.c, which changes no row when a
 * group would leave the range. */
static int rollup_change(sq_conn *c, const res_def *r, store_err *e)
{
    int rc = run_q(c, e);
    if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
        rc = store_fail(e, STORE_RANGE, STORE_RANGE_FMT, r->name);
    return rc;
}

static int sq_rollup_add(sq_conn *c, const res_def *r, const char *ws, const store_val *keys,
                         int64_t dcount, int64_t dsum, store_err *e)
{
    sql_rollup_add(stmt(c), r, ws, keys, dcount, dsum);
    return rollup_change(c, r, e);
}

/* One guarded upsert per group: in process a statement costs no round
 * trip, and the many-row one costs more to build and to run (its guard
 * probes every group once more) than the upserts it replaces. All or
 * none still: a group that would leave the range takes back the changes
 * before it, each of which restores a total that was there (one writer:
 * nothing came between). */
static int sq_rollup_add_many(sq_conn *c, const char *ws, const store_rollup_delta *d, int n,
                              store_err *e)
{
    assert(n >= 1 && n <= STORE_ROLLUP_MANY);
    for (int i = 0; i < n; i++) {
        int rc = sq_rollup_add(c, d[i].r, ws, d[i].keys, d[i].dcount, d[i].dsum, e);
        if (rc == STORE_OK) continue;
        for (int k = i - 1; k >= 0 && rc == STORE_RANGE; k--) {
            store_err undo;
            if (d[k].dcount == INT64_MIN || d[k].dsum == INT64_MIN ||
                sq_rollup_add(c, d[k].r, ws, d[k].keys, -d[k].dcount, -d[k].dsum, &undo))
                return store_fail(e, STORE_ERROR, "sqlite: a rollup change could not be undone");
        }
        return rc;
    }
    return STORE_OK;
}

static int sq_rollup_move(sq_conn *c, const res_def *r, const char *ws, const store_val *from_keys,
                          int64_t from_sum, const store_val *to_keys, int64_t to_sum, store_err *e)
{
    int built = sql_rollup_move(stmt(c), r, ws, from_keys, from_sum, to_keys, to_sum, e);
    return built > 0 ? rollup_change(c, r, e) : built;
}

/* Rollup keys: '' is a NULL key. A count or total past 64 bits from
 * before the guards is a REAL: read as an integer it would saturate. */
static void read_rollup(sqlite3_stmt *st, void *ud)
{
    agg_page *p = ud;
    store_agg_row *o = agg_next(p);
    for (int g = 0; g < 3; g++) {
        const char *v = (const char *)sqlite3_column_text(st, g);
        o->key[g] = sv_text(v && *v ? col_text(p->a, st, g) : NULL);
    }
    p->range |= sqlite3_column_type(st, 3) != SQLITE_INTEGER ||
                sqlite3_column_type(st, 4) != SQLITE_INTEGER;
    o->count = sqlite3_column_int64(st, 3);
    o->sum = sqlite3_column_int64(st, 4);
}

static int sq_rollup_list(sq_conn *c, arena *a, const res_def *r, const char *ws,
                          const char *const *match, const char *upto, store_agg_row **rows, int *n,
                          store_err *e)
{
    agg_page p = {.a = a, .nkeys = 3};
    sql_rollup_list(stmt(c), r, ws, match, upto);
    int rc = rows_q(c, read_rollup, &p, 0, NULL, e);
    if (rc == STORE_OK && p.range) rc = store_fail(e, STORE_RANGE, STORE_RANGE_FMT, r->name);
    *rows = p.rows;
    *n = rc == STORE_OK ? p.n : 0;
    return rc;
}

static int sq_rollup_rebuild(sq_conn *c, const res_def *r, store_err *e)
{
    sql_rollup_clear(stmt(c), r);
    int rc = run_q(c, e);
    if (rc == STORE_OK && sql_rollup_fill(stmt(c), r)) rc = run_q(c, e);
    return rc;
}

/* FTS5's incremental merge, with 'usermerge' 2: segments merge two or more
 * of a size (a level) at a time, as in any log-structured merge, so a big
 * segment is rewritten only when another of its size has formed; what is
 * left is about one segment per level. (A negative budget would merge all
 * into one: after a single write, the whole index rewritten, 150 MB for a
 * million contacts.) A step changed something when the connection's change
 * count grew by 2 or more (FTS5's contract); one resource's index per step
 * keeps the step bounded. */
#define FTS_USERMERGE 2

static int sq_maintain(sq_conn *c, int budget, bool *more, store_err *e)
{
    *more = false;
    int rc = sq_begin(c, true, e);
    for (int i = 0; rc == STORE_OK && !*more && i < res_count; i++) {
        const res_def *r = res_table[i];
        if (!res_has_search(r)) continue;
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT v FROM %s_fts_config WHERE k = 'usermerge'", r->table);
        sqlite3_stmt *st = prep(c, sql, e);
        if (!st) {
            rc = STORE_ERROR;
            break;
        }
        bool set = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == FTS_USERMERGE;
        done(st);
        if (!set) {
            snprintf(sql, sizeof sql,
                     "INSERT INTO %1$s_fts(%1$s_fts, rank) VALUES ('usermerge', ?1)", r->table);
            if (!(st = prep(c, sql, e))) {
                rc = STORE_ERROR;
                break;
            }
            sqlite3_bind_int(st, 1, FTS_USERMERGE);
            if ((rc = step_done(c, st, e)) != STORE_OK) break;
        }
        snprintf(sql, sizeof sql, "INSERT INTO %1$s_fts(%1$s_fts, rank) VALUES ('merge', ?1)",
                 r->table);
        st = prep(c, sql, e);
        if (!st) {
            rc = STORE_ERROR;
            break;
        }
        sqlite3_bind_int(st, 1, budget > 0 ? budget : 1);
        int before = sqlite3_total_changes(c->db);
        int src = sqlite3_step(st);
        done(st);
        if (src != SQLITE_DONE)
            rc = sqlfail(c, e, src);
        else
            *more = sqlite3_total_changes(c->db) - before >= 2;
    }
    if (rc == STORE_OK)
        rc = sq_commit(c, e);
    else
        sq_rollback(c);
    if (rc != STORE_OK) *more = false;
    /* Idle with merges done: copy the log into the database now rather
     * than at the next burst's expense, and let readers skip the log. */
    if (rc == STORE_OK && !*more && c->sync_fd >= 0 && c->wal_frames > 0)
        checkpoint(c, SQLITE_CHECKPOINT_PASSIVE);
    return rc;
}

static int sq_lock(sq_conn *c, const char *ws, const char *key, store_err *e)
{
    (void)c, (void)ws, (void)key, (void)e; /* the writer holds the only write lock */
    return STORE_OK;
}

static int sq_try_hold(sq_conn *c, const char *key, bool *held, store_err *e)
{
    (void)c, (void)key, (void)e; /* one process serves the file */
    *held = true;
    return STORE_OK;
}

static int sq_merged_put(sq_conn *c, const char *ws, const char *res_type, const char *id,
                         const char *into, const char *snapshot, store_err *e)
{
    sql_merged_put(stmt(c), ws, res_type, id, into, snapshot, (int64_t)time_now_ms());
    return run_q(c, e);
}

static void read_id(sqlite3_stmt *st, void *ud)
{
    copy_col(ud, ID_MAX, st, 0);
}

static int sq_merged_get(sq_conn *c, const char *ws, const char *res_type, const char *id,
                         char *into, store_err *e)
{
    sql_merged_get(stmt(c), ws, res_type, id);
    int n = 0, rc = rows_q(c, read_id, into, 1, &n, e);
    if (rc == STORE_OK && n == 0) rc = store_fail(e, STORE_NOTFOUND, "not merged");
    return rc;
}

/* ----------------------------------------------------------- idempotency */

typedef struct idem_read {
    arena *a;
    store_idem *out;
} idem_read;

static void read_idem(sqlite3_stmt *st, void *ud)
{
    idem_read *x = ud;
    copy_col(x->out->req_hash, sizeof x->out->req_hash, st, 0);
    x->out->status = sqlite3_column_int(st, 1);
    x->out->body = col_text(x->a, st, 2);
    x->out->created_ms = sqlite3_column_int64(st, 3);
}

static int sq_idem_get(sq_conn *c, arena *a, const char *ws, const char *key, store_idem *out,
                       store_err *e)
{
    sql_idem_get(stmt(c), ws, key);
    idem_read x = {a, out};
    int n = 0, rc = rows_q(c, read_idem, &x, 1, &n, e);
    if (rc == STORE_OK && n == 0) rc = store_fail(e, STORE_NOTFOUND, "no such key");
    return rc;
}

static int sq_idem_put(sq_conn *c, const char *ws, const char *key, const char *req_hash,
                       int status, const char *body, size_t body_len, store_err *e)
{
    sql_idem_put(stmt(c), ws, key, req_hash, status, body, body_len, (int64_t)time_now_ms());
    return run_q(c, e);
}

static int sq_idem_expire(sq_conn *c, int64_t cutoff_ms, store_err *e)
{
    sql_idem_expire(stmt(c), cutoff_ms);
    return run_q(c, e);
}

/* --------------------------------------------------------- server secret */

/* The key lives beside the database rather than in it, readable by its
 * owner alone: a copy of the database (a backup, a file sent for
 * support) does not carry it, and its permissions are its own. */

/* Reads the key file: STORE_NOTFOUND when there is none. */
static int secret_read(const char *path, unsigned char *key, store_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return STORE_NOTFOUND;
    if (fd < 0) return store_fail(e, STORE_ERROR, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    int rc = STORE_OK;
    ssize_t got = 0;
    if (fstat(fd, &st) != 0)
        rc = store_fail(e, STORE_ERROR, "cannot stat %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = store_fail(e, STORE_ERROR, "%s is not a regular file", path);
    else if (st.st_mode & 077)
        rc = store_fail(e, STORE_ERROR,
                        "%s may be read by group or others (mode %03o): it must be 0600", path,
                        (unsigned)(st.st_mode & 0777));
    else if (st.st_size != STORE_SECRET_LEN)
        rc = store_fail(e, STORE_ERROR, "%s holds %lld bytes, not the key's %d", path,
                        (long long)st.st_size, STORE_SECRET_LEN);
    else if ((got = read(fd, key, STORE_SECRET_LEN)) != STORE_SECRET_LEN)
        rc = store_fail(e, STORE_ERROR, "cannot read %s: %s", path,
                        got < 0 ? strerror(errno) : "short read");
    close(fd);
    return rc;
}

/* fsync of the directory holding path, so that a name made there lasts. */
static int sync_dir(const char *path, store_err *e)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        slash[slash == dir] = '\0'; /* "/x" keeps its "/" */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0
                 ? STORE_OK
                 : store_fail(e, STORE_ERROR, "cannot sync directory %s: %s", dir, strerror(errno));
    if (fd >= 0) close(fd);
    return rc;
}

/* Writes a new key to path atomically: to a file of its own first
 * (created O_EXCL, mode 0600, synced), then linked to its name, which
 * fails when the name exists. A reader never sees half a key, and of two
 * processes making one at once, one wins and the other reads the
 * winner's: STORE_CONFLICT. */
static int secret_write(const char *path, unsigned char *key, store_err *e)
{
    int rc = store_secret_make(key, e);
    if (rc) return rc;
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp)
        return store_fail(e, STORE_ERROR, "key file path too long: %s", path);
    int fd = mkostemp(tmp, O_CLOEXEC); /* O_CREAT | O_EXCL, mode 0600 */
    if (fd < 0) return store_fail(e, STORE_ERROR, "cannot create %s: %s", tmp, strerror(errno));
    if (fchmod(fd, 0600) != 0 || write(fd, key, STORE_SECRET_LEN) != STORE_SECRET_LEN ||
        fsync(fd) != 0)
        rc = store_fail(e, STORE_ERROR, "cannot write %s: %s", tmp, strerror(errno));
    close(fd);
    if (rc == STORE_OK && link(tmp, path) != 0)
        rc = errno == EEXIST
                 ? STORE_CONFLICT
                 : store_fail(e, STORE_ERROR, "cannot create %s: %s", path, strerror(errno));
    unlink(tmp);
    return rc == STORE_OK ? sync_dir(path, e) : rc;
}

int store_key_file(const char *path, unsigned char out[STORE_SECRET_LEN], store_err *e)
{
    int rc = secret_read(path, out, e);
    if (rc == STORE_NOTFOUND) rc = secret_write(path, out, e);
    if (rc == STORE_CONFLICT) rc = secret_read(path, out, e);
    if (rc == STORE_NOTFOUND) rc = store_fail(e, STORE_ERROR, "%s vanished as it was made", path);
    return rc;
}

static int secret_find(void *ctx, unsigned char *key, store_err *e)
{
    const sq_store *s = ctx;
    if (strcmp(s->path, ":memory:") == 0 || !*s->path) return store_secret_make(key, e);
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s.key", s->path) >= (int)sizeof path)
        return store_fail(e, STORE_ERROR, "key file path too long: %s.key", s->path);
    return store_key_file(path, key, e);
}

static int sq_secret(sq_conn *c, unsigned char *out, store_err *e)
{
    return secret_memo_get(&c->s->secret, secret_find, c->s, out, e);
}

/* ------------------------------------------------------------- the table */

#define BACKEND_CONN    sq_conn
#define BACKEND_FN(x)   sq_##x
#define BACKEND_OPS     store_sqlite_ops
#define BACKEND_NAME    "sqlite"
#define BACKEND_WRITERS 1 /* a write locks the whole file */
#include "store/backend.inc"
