/* sqlite.c - the embedded store: SQLite in WAL mode; see store.h.
 *
 * Owns: the SQLite schema (derived from the resource table plus a few core
 * tables), its versioned migrations, a prepared-statement cache per
 * connection, and every SQL statement Cairn runs on SQLite.
 *
 * Lists are keyset-paginated on the integer `rid` (the rowid): every index
 * on (workspace_id, ...) carries the rowid, so "newest first after cursor"
 * is an index range scan that stops after limit + 1 rows. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "store/impl.h"
#include "store/schema.h"
#include "store/search.h"
#include "store/sqlite_wal.h"

#define STMT_CACHE 256
#define STMT_PROBE 8

/* WAL frames (pages) that make a checkpoint due by default; see sq_connect. */
#define CHECKPOINT_FRAMES 65536

typedef struct sq_store {
    store base;
    char *path;
    store_opts opts;
} sq_store;

typedef struct stmt_slot {
    char *sql;
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
} sq_conn;

static int sqlfail(sq_conn *c, store_err *e, int rc)
{
    int code = STORE_ERROR;
    int ext = sqlite3_extended_errcode(c->db);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        code = STORE_BUSY;
    else if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        code = STORE_CONFLICT;
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
    if (s->opts.busy_ms <= 0) s->opts.busy_ms = 5000;
    if (s->opts.checkpoint_pages <= 0) s->opts.checkpoint_pages = CHECKPOINT_FRAMES;
    *out = &s->base;
    return STORE_OK;
}

static void sq_close(store *bs)
{
    sq_store *s = (sq_store *)bs;
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
    free(c);
}

/* Returns a reset statement for sql, from the cache when possible. The
 * statement belongs to the cache; callers only reset it (done()). */
static sqlite3_stmt *prep(sq_conn *c, const char *sql, store_err *e)
{
    uint64_t h = hash_str(sql);
    stmt_slot *free_slot = NULL;
    for (int i = 0; i < STMT_PROBE; i++) {
        stmt_slot *s = &c->cache[(h + (uint64_t)i) % STMT_CACHE];
        if (s->st && s->hash == h && strcmp(s->sql, sql) == 0) return s->st;
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

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Runs a statement expected to produce no rows. */
static int step_done(sq_conn *c, sqlite3_stmt *st, store_err *e)
{
    int rc = sqlite3_step(st);
    int r = rc == SQLITE_DONE ? STORE_OK : sqlfail(c, e, rc);
    done(st);
    return r;
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

static int step_done(sq_conn *c, sqlite3_stmt *st, store_err *e);

/* Creates or rebuilds a resource's search index when its DDL differs from
 * the one recorded in search_indexes (new searchable field, new scheme),
 * then fills it from the table. When only the triggers differ, only they
 * are replaced: the index itself is still right. */
static int sync_fts(sq_conn *c, const res_def *r, buf *ddl, store_err *e)
{
    sqlite3_stmt *st = prep(c, "SELECT ddl FROM search_indexes WHERE table_name = ?", e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, r->table, -1, SQLITE_STATIC);
    const char *now = buf_cstr(ddl);
    size_t table_len = strcspn(now, ";") + 1;
    bool same = false, same_table = false;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *was = (const char *)sqlite3_column_text(st, 0);
        same = strcmp(was, now) == 0;
        same_table = strncmp(was, now, table_len) == 0;
    }
    done(st);
    if (same) return STORE_OK;
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
    int rc = exec(c, buf_cstr(&b), e);
    buf_free(&b);
    if (rc) return rc;
    st = prep(c, "INSERT OR REPLACE INTO search_indexes (table_name, ddl) VALUES (?, ?)", e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, r->table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, buf_cstr(ddl), -1, SQLITE_STATIC);
    return step_done(c, st, e);
}

static bool column_exists(sq_conn *c, const char *table, const char *col)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name='%s'", table, col);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) return false;
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

/* Appends ", a, b COLLATE NOCASE" for a composite index spec "a,b". */
static void index_cols(const res_def *r, const char *spec, buf *b)
{
    char name[64];
    for (const char *p = spec; *p;) {
        size_t n = strcspn(p, ",");
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        int i = res_field_index(r, name);
        buf_printf(b, ", %s%s", name,
                   i >= 0 && schema_nocase(&r->fields[i]) ? " COLLATE NOCASE" : "");
        p += n;
        if (*p == ',') p++;
    }
}

/* Brings one resource's table, indexes and FTS index in line with the
 * resource table. Idempotent: it only adds what is missing, so it runs on
 * every start and a new field in the table becomes a new column. */
static int sync_resource(sq_conn *c, const res_def *r, store_err *e)
{
    buf b;
    buf_init(&b, 1 << 20);
    buf_printf(
        &b,
        "CREATE TABLE IF NOT EXISTS %s (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
        "workspace_id TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL",
        r->table);
    for (int i = 0; i < r->nfields; i++)
        buf_printf(&b, ", %s %s", r->fields[i].name,
                   schema_column_type(&r->fields[i], DIALECT_SQLITE));
    buf_puts(&b, ", custom_fields TEXT);");
    int rc = exec(c, buf_cstr(&b), e);
    for (int i = 0; rc == STORE_OK && i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (column_exists(c, r->table, f->name)) continue;
        buf_reset(&b);
        buf_printf(&b, "ALTER TABLE %s ADD COLUMN %s %s;", r->table, f->name,
                   schema_column_type(f, DIALECT_SQLITE));
        rc = exec(c, buf_cstr(&b), e);
    }
    if (rc == STORE_OK) {
        buf_reset(&b);
        buf_printf(&b, "CREATE INDEX IF NOT EXISTS %s_ws ON %s(workspace_id);", r->table, r->table);
        for (int i = 0; i < r->nfields; i++) {
            const res_field *f = &r->fields[i];
            if (!schema_indexed(f)) continue;
            buf_printf(&b, "CREATE INDEX IF NOT EXISTS %s_ws_%s ON %s(workspace_id, %s%s);",
                       r->table, f->name, r->table, f->name,
                       schema_nocase(f) ? " COLLATE NOCASE" : "");
        }
        for (int k = 0; k < 4 && r->indexes[k]; k++) {
            buf_printf(&b, "CREATE INDEX IF NOT EXISTS %s_ix%d ON %s(workspace_id", r->table, k,
                       r->table);
            index_cols(r, r->indexes[k], &b);
            buf_puts(&b, ");");
        }
        if (r->unique[0]) {
            buf_printf(&b, "CREATE UNIQUE INDEX IF NOT EXISTS %s_unique ON %s(workspace_id",
                       r->table, r->table);
            for (int i = 0; r->unique[i]; i++)
                buf_printf(&b, ", %s", r->unique[i]);
            buf_puts(&b, ");");
        }
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

/* Versioned migrations of the core tables. Append only: a released
 * migration is never edited, a change is a new entry. */
static const char *const migrations[] = {
    /* 1: workspaces, keys, event outbox, idempotency records */
    "CREATE TABLE workspaces (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE api_keys (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, "
    "  name TEXT NOT NULL DEFAULT '', token_hash TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL, "
    "  super_admin INTEGER NOT NULL DEFAULT 0, max_concurrent INTEGER NOT NULL DEFAULT -1, "
    "  rate INTEGER NOT NULL DEFAULT -1, created_at INTEGER NOT NULL, "
    "  revoked_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE events (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
    "  workspace_id TEXT NOT NULL, type TEXT NOT NULL, resource_type TEXT NOT NULL, "
    "  resource_id TEXT NOT NULL, data TEXT NOT NULL, actor_key_id TEXT, "
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX events_ws ON events(workspace_id);"
    "CREATE INDEX events_ws_resource ON events(workspace_id, resource_id);"
    "CREATE TABLE idempotency_keys (workspace_id TEXT NOT NULL, key TEXT NOT NULL, "
    "  request_hash TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL, "
    "  created_at INTEGER NOT NULL, PRIMARY KEY (workspace_id, key)) WITHOUT ROWID;"
    "CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);",
    /* 2: the DDL each full-text index was built with, to rebuild on change */
    "CREATE TABLE search_indexes (table_name TEXT PRIMARY KEY, ddl TEXT NOT NULL);",
    /* 3: timelines (an event's subject and changes) and merged-record stubs */
    "ALTER TABLE events ADD COLUMN subject_id TEXT;"
    "ALTER TABLE events ADD COLUMN changes TEXT;"
    "CREATE INDEX events_ws_subject ON events(workspace_id, subject_id) "
    "  WHERE subject_id IS NOT NULL;"
    "CREATE TABLE merged_records (workspace_id TEXT NOT NULL, resource_type TEXT NOT NULL, "
    "  id TEXT NOT NULL, into_id TEXT NOT NULL, snapshot TEXT NOT NULL, "
    "  merged_at INTEGER NOT NULL, PRIMARY KEY (workspace_id, resource_type, id)) WITHOUT ROWID;",
    /* 4: rollups (counts and sums per group, kept as rows change) */
    "CREATE TABLE rollups (workspace_id TEXT NOT NULL, resource TEXT NOT NULL, "
    "  k1 TEXT NOT NULL, k2 TEXT NOT NULL, k3 TEXT NOT NULL, n INTEGER NOT NULL, "
    "  total INTEGER NOT NULL, PRIMARY KEY (workspace_id, resource, k1, k2, k3)) WITHOUT ROWID;"
    "CREATE TABLE rollup_specs (resource TEXT PRIMARY KEY, spec TEXT NOT NULL);",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

static int sq_rollup_rebuild(sq_conn *c, const res_def *r, store_err *e);

/* Recounts a rollup whose declaration differs from the one recorded. */
static int sync_rollup(sq_conn *c, const res_def *r, store_err *e)
{
    buf spec;
    buf_init(&spec, 4096);
    schema_rollup_spec(r, &spec);
    sqlite3_stmt *st = prep(c, "SELECT spec FROM rollup_specs WHERE resource = ?", e);
    int rc = st ? STORE_OK : STORE_ERROR;
    bool same = false;
    if (st) {
        sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
        same = sqlite3_step(st) == SQLITE_ROW
                   ? strcmp((const char *)sqlite3_column_text(st, 0), buf_cstr(&spec)) == 0
                   : spec.len == 0;
        done(st);
    }
    if (rc == STORE_OK && !same) rc = sq_rollup_rebuild(c, r, e);
    if (rc == STORE_OK && !same) {
        st = prep(c, "INSERT OR REPLACE INTO rollup_specs (resource, spec) VALUES (?, ?)", e);
        if (!st) rc = STORE_ERROR;
        if (st) {
            sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, buf_cstr(&spec), -1, SQLITE_STATIC);
            rc = step_done(c, st, e);
        }
    }
    buf_free(&spec);
    return rc;
}

static int sq_schema_version(sq_conn *c, int *version, store_err *e)
{
    *version = 0;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "SELECT max(version) FROM schema_migrations", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        return STORE_OK; /* no table yet: version 0 */
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    (void)e;
    return STORE_OK;
}

static int sq_migrate(sq_conn *c, int *applied, store_err *e)
{
    *applied = 0;
    int rc = sq_begin(c, true, e);
    if (rc) return rc;
    rc = exec(c,
              "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
              "applied_at INTEGER NOT NULL);",
              e);
    int version = 0;
    if (rc == STORE_OK) rc = sq_schema_version(c, &version, e);
    for (int v = version + 1; rc == STORE_OK && v <= NMIGRATIONS; v++) {
        rc = exec(c, migrations[v - 1], e);
        if (rc) break;
        char sql[128];
        snprintf(sql, sizeof sql, "INSERT INTO schema_migrations VALUES (%d, %llu);", v,
                 (unsigned long long)time_now_ms());
        rc = exec(c, sql, e);
        (*applied)++;
    }
    for (int i = 0; rc == STORE_OK && i < res_count; i++)
        rc = sync_resource(c, res_table[i], e);
    for (int i = 0; rc == STORE_OK && i < res_count; i++)
        rc = sync_rollup(c, res_table[i], e);
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
        return err ? store_fail(e, STORE_ERROR, "sqlite: fsync of the WAL: %s", strerror(err))
                   : STORE_OK;
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

static int sq_sync(sq_conn *c, store_err *e)
{
    if (c->sync_fd >= 0 && sqlite_wal_sync(c->sync_fd) != 0)
        return store_fail(e, STORE_ERROR, "sqlite: fsync of the WAL: %s", strerror(errno));
    return STORE_OK;
}

/* Copies the WAL into the database file, so that the next write can
 * start the log over. A PASSIVE checkpoint never waits: readers keep
 * their snapshots (and the part they still read stays for next time). */
static void checkpoint(sq_conn *c)
{
    sqlite_wal *w = sqlite_wal_of(c->db);
    if (!w) return;
    sqlite_wal_defer(w, false);
    if (sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK)
        c->wal_frames = 0;
    sqlite_wal_defer(w, true);
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
        checkpoint(c);
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

static void read_workspace(sqlite3_stmt *st, store_workspace *w)
{
    copy_col(w->id, sizeof w->id, st, 0);
    copy_col(w->name, sizeof w->name, st, 1);
    w->created_ms = sqlite3_column_int64(st, 2);
}

static int sq_workspace_create(sq_conn *c, const char *name, store_workspace *out, store_err *e)
{
    sqlite3_stmt *st = prep(c, "INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)", e);
    if (!st) return STORE_ERROR;
    id_new(out->id, "wrk");
    snprintf(out->name, sizeof out->name, "%s", name);
    out->created_ms = (int64_t)time_now_ms();
    sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, out->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, out->created_ms);
    return step_done(c, st, e);
}

static int sq_workspace_find(sq_conn *c, const char *name_or_id, store_workspace *out, store_err *e)
{
    sqlite3_stmt *st =
        prep(c, "SELECT id, name, created_at FROM workspaces WHERE id = ?1 OR name = ?1", e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, name_or_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int r = STORE_OK;
    if (rc == SQLITE_ROW)
        read_workspace(st, out);
    else if (rc == SQLITE_DONE)
        r = store_fail(e, STORE_NOTFOUND, "no workspace '%s'", name_or_id);
    else
        r = sqlfail(c, e, rc);
    done(st);
    return r;
}

static int sq_workspace_count(sq_conn *c, int64_t *n, store_err *e)
{
    sqlite3_stmt *st = prep(c, "SELECT count(*) FROM workspaces", e);
    if (!st) return STORE_ERROR;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        int r = sqlfail(c, e, rc);
        done(st);
        return r;
    }
    *n = sqlite3_column_int64(st, 0);
    done(st);
    return STORE_OK;
}

static int sq_workspace_each(sq_conn *c, store_workspace_cb cb, void *ud, store_err *e)
{
    sqlite3_stmt *st = prep(c, "SELECT id, name, created_at FROM workspaces ORDER BY id", e);
    if (!st) return STORE_ERROR;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_workspace w;
        read_workspace(st, &w);
        cb(&w, ud);
    }
    int r = rc == SQLITE_DONE ? STORE_OK : sqlfail(c, e, rc);
    done(st);
    return r;
}

#define KEY_COLS                                                                                   \
    "id, workspace_id, name, scopes, super_admin, max_concurrent, rate, created_at, revoked_at"

static void read_key(sqlite3_stmt *st, store_key *k)
{
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
    sqlite3_stmt *st = prep(c,
                            "INSERT INTO api_keys (" KEY_COLS ", token_hash) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                            e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, k->workspace_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, k->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, k->scopes, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, k->super_admin);
    sqlite3_bind_int(st, 6, k->max_concurrent);
    sqlite3_bind_int(st, 7, k->rate);
    sqlite3_bind_int64(st, 8, k->created_ms);
    sqlite3_bind_text(st, 9, token_hash, -1, SQLITE_STATIC);
    return step_done(c, st, e);
}

static int sq_key_by_hash(sq_conn *c, const char *token_hash, store_key *out, store_err *e)
{
    sqlite3_stmt *st = prep(c, "SELECT " KEY_COLS " FROM api_keys WHERE token_hash = ?", e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int r = STORE_OK;
    if (rc == SQLITE_ROW)
        read_key(st, out);
    else if (rc == SQLITE_DONE)
        r = store_fail(e, STORE_NOTFOUND, "no such key");
    else
        r = sqlfail(c, e, rc);
    done(st);
    return r;
}

static int sq_key_each(sq_conn *c, store_key_cb cb, void *ud, store_err *e)
{
    sqlite3_stmt *st = prep(c, "SELECT " KEY_COLS " FROM api_keys ORDER BY id", e);
    if (!st) return STORE_ERROR;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_key k;
        read_key(st, &k);
        cb(&k, ud);
    }
    int r = rc == SQLITE_DONE ? STORE_OK : sqlfail(c, e, rc);
    done(st);
    return r;
}

static int sq_key_revoke(sq_conn *c, const char *id, store_err *e)
{
    sqlite3_stmt *st =
        prep(c, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at = 0", e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_int64(st, 1, (int64_t)time_now_ms());
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int r = step_done(c, st, e);
    if (r == STORE_OK && sqlite3_changes(c->db) == 0)
        r = store_fail(e, STORE_NOTFOUND, "no active key '%s'", id);
    return r;
}

/* --------------------------------------------------------------- records */

/* Built on every read to find its cached statement, so without printf
 * (its format parsing was 2% of a GET). */
static void select_cols(const res_def *r, buf *b, const char *alias)
{
    static const char *const fixed[] = {"rid", "id", "created_at", "updated_at"};
    buf_puts(b, "SELECT ");
    for (int i = 0; i < 4; i++) {
        if (i) buf_puts(b, ", ");
        buf_puts(b, alias);
        buf_puts(b, fixed[i]);
    }
    for (int i = 0; i < r->nfields; i++) {
        buf_puts(b, ", ");
        buf_puts(b, alias);
        buf_puts(b, r->fields[i].name);
    }
    buf_puts(b, ", ");
    buf_puts(b, alias);
    buf_puts(b, "custom_fields FROM ");
    buf_puts(b, r->table);
}

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

/* Steps a bound statement expected to yield at most one record. */
static int one_row(sq_conn *c, arena *a, const res_def *r, sqlite3_stmt *st, res_row *out,
                   store_err *e)
{
    int rc = sqlite3_step(st);
    int ret = STORE_OK;
    if (rc == SQLITE_ROW)
        read_row(a, r, st, out);
    else if (rc == SQLITE_DONE)
        ret = store_fail(e, STORE_NOTFOUND, "no such %s", r->singular);
    else
        ret = sqlfail(c, e, rc);
    done(st);
    return ret;
}

static int sq_rec_get(sq_conn *c, arena *a, const res_def *r, const char *ws, const char *id,
                      res_row *out, store_err *e)
{
    buf b;
    buf_init(&b, 1 << 16);
    select_cols(r, &b, "");
    buf_puts(&b, " WHERE id = ? AND workspace_id = ?");
    sqlite3_stmt *st = prep(c, buf_cstr(&b), e);
    buf_free(&b);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ws, -1, SQLITE_STATIC);
    return one_row(c, a, r, st, out, e);
}

static int sq_rec_exists(sq_conn *c, const res_def *r, const char *ws, const char *id, store_err *e)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id = ? AND workspace_id = ?", r->table);
    sqlite3_stmt *st = prep(c, sql, e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ws, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_ROW    ? STORE_OK
              : rc == SQLITE_DONE ? store_fail(e, STORE_NOTFOUND, "no such %s", r->singular)
                                  : sqlfail(c, e, rc);
    done(st);
    return ret;
}

static int sq_rec_insert(sq_conn *c, const res_def *r, const char *ws, res_row *row, store_err *e)
{
    buf b;
    buf_init(&b, 1 << 16);
    buf_printf(&b, "INSERT INTO %s (id, workspace_id, created_at, updated_at", r->table);
    for (int i = 0; i < r->nfields; i++)
        buf_printf(&b, ", %s", r->fields[i].name);
    buf_puts(&b, ", custom_fields) VALUES (?, ?, ?, ?");
    for (int i = 0; i <= r->nfields; i++)
        buf_puts(&b, ", ?");
    buf_putc(&b, ')');
    sqlite3_stmt *st = prep(c, buf_cstr(&b), e);
    buf_free(&b);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, row->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ws, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, row->created_ms);
    sqlite3_bind_int64(st, 4, row->updated_ms);
    for (int i = 0; i < r->nfields; i++)
        bind_val(st, 5 + i, &row->vals[i]);
    bind_text(st, 5 + r->nfields, row->custom);
    int ret = step_done(c, st, e);
    if (ret == STORE_OK) row->rid = sqlite3_last_insert_rowid(c->db);
    return ret;
}

static int sq_rec_update(sq_conn *c, const res_def *r, const char *ws, const res_row *row,
                         const bool *set, bool set_custom, store_err *e)
{
    buf b;
    buf_init(&b, 1 << 16);
    buf_printf(&b, "UPDATE %s SET updated_at = ?", r->table);
    for (int i = 0; i < r->nfields; i++)
        if (set[i]) buf_printf(&b, ", %s = ?", r->fields[i].name);
    if (set_custom) buf_puts(&b, ", custom_fields = ?");
    buf_puts(&b, " WHERE id = ? AND workspace_id = ?");
    sqlite3_stmt *st = prep(c, buf_cstr(&b), e);
    buf_free(&b);
    if (!st) return STORE_ERROR;
    int k = 1;
    sqlite3_bind_int64(st, k++, row->updated_ms);
    for (int i = 0; i < r->nfields; i++)
        if (set[i]) bind_val(st, k++, &row->vals[i]);
    if (set_custom) bind_text(st, k++, row->custom);
    sqlite3_bind_text(st, k++, row->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, k++, ws, -1, SQLITE_STATIC);
    int ret = step_done(c, st, e);
    if (ret == STORE_OK && sqlite3_changes(c->db) == 0)
        ret = store_fail(e, STORE_NOTFOUND, "no such %s", r->singular);
    return ret;
}

static int sq_rec_delete(sq_conn *c, const res_def *r, const char *ws, const char *id, store_err *e)
{
    char sql[256];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ? AND workspace_id = ?", r->table);
    sqlite3_stmt *st = prep(c, sql, e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ws, -1, SQLITE_STATIC);
    int ret = step_done(c, st, e);
    if (ret == STORE_OK && sqlite3_changes(c->db) == 0)
        ret = store_fail(e, STORE_NOTFOUND, "no such %s", r->singular);
    return ret;
}

static int sq_rec_detach(sq_conn *c, const res_def *r, int field, const char *ws, const char *id,
                         bool delete_rows, store_err *e)
{
    char sql[256];
    const char *f = r->fields[field].name;
    if (delete_rows)
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE workspace_id = ? AND %s = ?", r->table, f);
    else
        snprintf(sql, sizeof sql, "UPDATE %s SET %s = NULL WHERE workspace_id = ? AND %s = ?",
                 r->table, f, f);
    sqlite3_stmt *st = prep(c, sql, e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    return step_done(c, st, e);
}

static int sq_rec_find_by(sq_conn *c, arena *a, const res_def *r, const char *ws, int field,
                          const char *value, res_row *out, store_err *e)
{
    buf b;
    buf_init(&b, 1 << 16);
    select_cols(r, &b, "");
    buf_printf(&b, " WHERE workspace_id = ? AND %s = ? COLLATE NOCASE ORDER BY rid LIMIT 1",
               r->fields[field].name);
    sqlite3_stmt *st = prep(c, buf_cstr(&b), e);
    buf_free(&b);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    return one_row(c, a, r, st, out, e);
}

/* One filter's condition and its binds (at most two). */
static void filter_sql(const res_def *r, const char *ws, const char *alias, const store_filter *fl,
                       buf *sql, store_val *binds, int *nb)
{
    const res_field *f = &r->fields[fl->field];
    switch (fl->op) {
    case SF_LT: buf_printf(sql, " AND %s%s < ?", alias, f->name); break;
    case SF_GE: buf_printf(sql, " AND %s%s >= ?", alias, f->name); break;
    case SF_REL: {
        const res_field *rf = &fl->rel->fields[fl->rel_field];
        buf_printf(sql, " AND %s%s IN (SELECT id FROM %s WHERE workspace_id = ? AND %s = ?%s)",
                   alias, f->name, fl->rel->table, rf->name,
                   schema_nocase(rf) ? " COLLATE NOCASE" : "");
        binds[(*nb)++] = (store_val){.kind = SV_TEXT, .s = ws};
        break;
    }
    default:
        buf_printf(sql, " AND %s%s = ?%s", alias, f->name,
                   schema_nocase(f) ? " COLLATE NOCASE" : "");
    }
    binds[(*nb)++] = fl->v;
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

static int sq_rec_list(sq_conn *c, arena *a, const res_def *r, const char *ws, const store_query *q,
                       res_row **rows, int *n, bool *more, store_err *e)
{
    *n = 0;
    *more = false;
    buf sql, fts;
    buf_init(&sql, 1 << 16);
    buf_init(&fts, 1 << 16);
    /* Fixed binds (match, workspace, cursor x3, custom field x3, link x3,
     * limit) plus up to two per filter. */
    store_val *binds = arena_alloc(a, sizeof(store_val) * (size_t)(14 + 2 * q->nfilters));
    int nb = 0;
    const char *alias = "";
    bool use_fts = q->fts && fts_expr(ws, q->fts, &fts);
    /* A search sees the transaction's own changes; inside a savepoint the
     * queue cannot be applied (its rollback would take older changes along
     * with it), and no write path searches. */
    if (use_fts && c->fts_n > 0) {
        int rc = c->fts_depth == 0 ? fts_flush(c, e)
                                   : store_fail(e, STORE_ERROR, "search inside a savepoint");
        if (rc) {
            buf_free(&sql);
            buf_free(&fts);
            return rc;
        }
    }
    if (q->fts && !use_fts) {
        /* Only punctuation: nothing can match. */
        buf_free(&sql);
        buf_free(&fts);
        *rows = NULL;
        return STORE_OK;
    }
    if (use_fts) {
        alias = "t.";
        select_cols(r, &sql, "t.");
        buf_printf(&sql, " AS t JOIN %1$s_fts ON %1$s_fts.rowid = t.rid WHERE %1$s_fts MATCH ?",
                   r->table);
        /* Terms carry the workspace tag; the workspace_id test below only
         * guards against two workspaces sharing a tag. */
        binds[nb++] = (store_val){.kind = SV_TEXT, .s = arena_strdup(a, buf_cstr(&fts))};
        buf_puts(&sql, " AND t.workspace_id = ?");
    } else {
        select_cols(r, &sql, "");
        buf_puts(&sql, " WHERE workspace_id = ?");
    }
    binds[nb++] = (store_val){.kind = SV_TEXT, .s = ws};
    const char *cmp = q->ascending ? ">" : "<";
    const res_field *sf = use_fts ? NULL : q->sort_by;
    const char *coll = sf && schema_nocase(sf) ? " COLLATE NOCASE" : "";
    if (q->after_rid > 0 && use_fts) {
        buf_printf(&sql, " AND %s_fts.rowid < ?", r->table);
        binds[nb++] = (store_val){.kind = SV_INT, .i = q->after_rid};
    } else if (q->after_rid > 0 && !sf) {
        buf_printf(&sql, " AND rid %s ?", cmp);
        binds[nb++] = (store_val){.kind = SV_INT, .i = q->after_rid};
    } else if (q->after_rid > 0) {
        /* Keyset on (value, rid) with NULLs lowest, as SQLite orders them. */
        const char *c = sf->name;
        if (q->after_val.kind == SV_NULL) {
            if (q->ascending)
                buf_printf(&sql, " AND ((%1$s IS NULL AND rid > ?) OR %1$s IS NOT NULL)", c);
            else
                buf_printf(&sql, " AND %s IS NULL AND rid < ?", c);
            binds[nb++] = (store_val){.kind = SV_INT, .i = q->after_rid};
        } else {
            if (q->ascending)
                buf_printf(&sql, " AND (%1$s > ?%2$s OR (%1$s = ?%2$s AND rid > ?))", c, coll);
            else
                buf_printf(&sql,
                           " AND (%1$s < ?%2$s OR (%1$s = ?%2$s AND rid < ?) OR %1$s IS NULL)", c,
                           coll);
            binds[nb++] = q->after_val;
            binds[nb++] = q->after_val;
            binds[nb++] = (store_val){.kind = SV_INT, .i = q->after_rid};
        }
    }
    for (int i = 0; i < q->nfilters; i++) {
        filter_sql(r, ws, alias, &q->filters[i], &sql, binds, &nb);
    }
    if (q->cf_key) {
        char *path = arena_printf(a, "$.\"%s\"", q->cf_key);
        buf_printf(
            &sql,
            " AND (CASE json_type(%1$scustom_fields, ?) WHEN 'true' THEN 'true' "
            "WHEN 'false' THEN 'false' ELSE CAST(json_extract(%1$scustom_fields, ?) AS TEXT) "
            "END) = ?",
            alias);
        binds[nb++] = (store_val){.kind = SV_TEXT, .s = path};
        binds[nb++] = (store_val){.kind = SV_TEXT, .s = path};
        binds[nb++] = (store_val){.kind = SV_TEXT, .s = q->cf_value};
    }
    if (q->link_field >= 0) {
        buf_printf(&sql, " AND (%s%s = ?", alias, r->fields[q->link_field].name);
        binds[nb++] = (store_val){.kind = SV_TEXT, .s = q->link_value};
        if (q->link_via) {
            buf_printf(&sql, " OR %sid IN (SELECT %s FROM %s WHERE workspace_id = ? AND %s = ?)",
                       alias, q->link_via->fields[q->link_via_target].name, q->link_via->table,
                       q->link_via->fields[q->link_via_match].name);
            binds[nb++] = (store_val){.kind = SV_TEXT, .s = ws};
            binds[nb++] = (store_val){.kind = SV_TEXT, .s = q->link_value};
        }
        buf_putc(&sql, ')');
    }
    /* FTS5 walks its rowids backwards itself when asked to order by them,
     * so a search page stops after limit + 1 hits. */
    const char *dir = q->ascending ? "ASC" : "DESC";
    if (use_fts)
        buf_printf(&sql, " ORDER BY %s_fts.rowid DESC LIMIT ?", r->table);
    else if (sf)
        buf_printf(&sql, " ORDER BY %s%s %s, rid %s LIMIT ?", sf->name, coll, dir, dir);
    else
        buf_printf(&sql, " ORDER BY rid %s LIMIT ?", dir);
    binds[nb++] = (store_val){.kind = SV_INT, .i = q->limit + 1};
    sqlite3_stmt *st = prep(c, buf_cstr(&sql), e);
    buf_free(&sql);
    buf_free(&fts);
    if (!st) return STORE_ERROR;
    for (int i = 0; i < nb; i++)
        bind_val(st, i + 1, &binds[i]);
    res_row *out = arena_alloc(a, sizeof(res_row) * (size_t)(q->limit + 1));
    int rc, k = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == q->limit) {
            *more = true;
            break;
        }
        read_row(a, r, st, &out[k++]);
    }
    int ret = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? STORE_OK : sqlfail(c, e, rc);
    done(st);
    *rows = out;
    *n = k;
    return ret;
}

/* ---------------------------------------------------------------- events */

static int sq_event_append(sq_conn *c, const char *ws, const char *type, const char *res_type,
                           const char *res_id, const char *subject_id, const char *data_json,
                           const char *changes_json, const char *actor_key, store_err *e)
{
    sqlite3_stmt *st = prep(c,
                            "INSERT INTO events (id, workspace_id, type, resource_type, "
                            "resource_id, subject_id, data, changes, actor_key_id, created_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            e);
    if (!st) return STORE_ERROR;
    char id[ID_MAX];
    id_new(id, "evt");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, ws, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, res_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, res_id, -1, SQLITE_STATIC);
    bind_text(st, 6, subject_id);
    sqlite3_bind_text(st, 7, data_json, -1, SQLITE_STATIC);
    bind_text(st, 8, changes_json);
    bind_text(st, 9, actor_key);
    sqlite3_bind_int64(st, 10, (int64_t)time_now_ms());
    return step_done(c, st, e);
}

/* The rids of a record's events (?1 workspace, ?2 record, ?3 below this rid). */
#define RECORD_EVENTS                                                                              \
    "SELECT rid FROM events WHERE workspace_id = ?1 AND resource_id = ?2 AND rid < ?3 "            \
    "UNION ALL SELECT rid FROM events WHERE workspace_id = ?1 AND subject_id = ?2 AND rid < ?3"

static int sq_event_list(sq_conn *c, arena *a, const char *ws, const char *id, int64_t before_rid,
                         int limit, store_event **out, int *n, bool *more, store_err *e)
{
    /* Spelled as two index range scans: with an OR the planner walked the
     * workspace's whole log backwards. The cost is the record's history. */
    sqlite3_stmt *st =
        prep(c,
             "SELECT rid, id, type, resource_type, resource_id, subject_id, data, "
             "changes, actor_key_id, created_at FROM events WHERE rid IN (" RECORD_EVENTS
             ") ORDER BY rid DESC LIMIT ?4",
             e);
    *n = 0;
    *more = false;
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, before_rid > 0 ? before_rid : INT64_MAX);
    sqlite3_bind_int(st, 4, limit + 1);
    store_event *ev = arena_alloc(a, sizeof(store_event) * (size_t)(limit + 1));
    int rc, k = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == limit) {
            *more = true;
            break;
        }
        store_event *v = &ev[k++];
        v->rid = sqlite3_column_int64(st, 0);
        copy_col(v->id, sizeof v->id, st, 1);
        v->type = col_text(a, st, 2);
        v->res_type = col_text(a, st, 3);
        v->res_id = col_text(a, st, 4);
        v->subject_id = col_text(a, st, 5);
        v->data = col_text(a, st, 6);
        v->changes = col_text(a, st, 7);
        v->actor = col_text(a, st, 8);
        v->created_ms = sqlite3_column_int64(st, 9);
    }
    int ret = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? STORE_OK : sqlfail(c, e, rc);
    done(st);
    *out = ev;
    *n = k;
    return ret;
}

static int sq_event_resubject(sq_conn *c, const char *ws, const char *from, const char *to,
                              store_err *e)
{
    sqlite3_stmt *st =
        prep(c, "UPDATE events SET subject_id = ?5 WHERE rid IN (" RECORD_EVENTS ")", e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, INT64_MAX);
    sqlite3_bind_text(st, 5, to, -1, SQLITE_STATIC);
    return step_done(c, st, e);
}

/* ------------------------------------------------- merges, aggregates */

static int sq_rec_repoint(sq_conn *c, const res_def *r, int field, const char *ws, const char *from,
                          const char *to, int type_field, const char *type_value, store_err *e)
{
    buf b;
    buf_init(&b, 1 << 14);
    int rc = STORE_OK;
    if (to) {
        schema_repoint_dupes(r, field, type_field, DIALECT_SQLITE, &b);
        sqlite3_stmt *st = b.len ? prep(c, buf_cstr(&b), e) : NULL;
        if (b.len && !st) rc = STORE_ERROR;
        if (st) {
            sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
            bind_text(st, 4, type_value);
            rc = step_done(c, st, e);
        }
    }
    buf_reset(&b);
    schema_repoint(r, field, to != NULL, type_field, DIALECT_SQLITE, &b);
    sqlite3_stmt *st = rc == STORE_OK ? prep(c, buf_cstr(&b), e) : NULL;
    buf_free(&b);
    if (rc) return rc;
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
    bind_text(st, 3, to);
    bind_text(st, 4, type_value);
    return step_done(c, st, e);
}

/* Slot k of a growing array of aggregate rows in the arena, zeroed. */
static store_agg_row *agg_next(arena *a, store_agg_row **rows, int *cap, int k)
{
    if (k == *cap) {
        int n = *cap ? *cap * 2 : 16;
        store_agg_row *bigger = arena_zalloc(a, sizeof(store_agg_row) * (size_t)n);
        if (*cap) memcpy(bigger, *rows, sizeof(store_agg_row) * (size_t)*cap);
        *rows = bigger;
        *cap = n;
    }
    return &(*rows)[k];
}

static int sq_rec_aggregate(sq_conn *c, arena *a, const res_def *r, const char *ws,
                            const store_agg *q, store_agg_row **rows, int *n, store_err *e)
{
    buf sql;
    buf_init(&sql, 1 << 14);
    store_val *binds = arena_alloc(a, sizeof(store_val) * (size_t)(1 + 2 * q->nfilters));
    int nb = 0;
    buf_puts(&sql, "SELECT ");
    for (int g = 0; g < 2; g++)
        if (q->group[g] >= 0)
            buf_printf(&sql, "%s, ", r->fields[q->group[g]].name);
        else
            buf_puts(&sql, "NULL, ");
    if (q->sum >= 0)
        buf_printf(&sql, "count(*), coalesce(sum(%s), 0)", r->fields[q->sum].name);
    else
        buf_puts(&sql, "count(*), 0");
    buf_printf(&sql, " FROM %s WHERE workspace_id = ?", r->table);
    binds[nb++] = (store_val){.kind = SV_TEXT, .s = ws};
    for (int i = 0; i < q->nfilters; i++)
        filter_sql(r, ws, "", &q->filters[i], &sql, binds, &nb);
    for (int g = 0; g < 2; g++)
        if (q->group[g] >= 0)
            buf_printf(&sql, "%s %s", g && q->group[0] >= 0 ? "," : " GROUP BY",
                       r->fields[q->group[g]].name);
    sqlite3_stmt *st = prep(c, buf_cstr(&sql), e);
    buf_free(&sql);
    *n = 0;
    *rows = NULL;
    if (!st) return STORE_ERROR;
    for (int i = 0; i < nb; i++)
        bind_val(st, i + 1, &binds[i]);
    int cap = 0, k = 0, rc;
    store_agg_row *out = NULL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_agg_row *o = agg_next(a, &out, &cap, k++);
        for (int g = 0; g < 2; g++) {
            o->key[g].kind = SV_NULL;
            int t = sqlite3_column_type(st, g);
            if (t == SQLITE_INTEGER) {
                o->key[g].kind = SV_INT;
                o->key[g].i = sqlite3_column_int64(st, g);
            } else if (t != SQLITE_NULL) {
                o->key[g].kind = SV_TEXT;
                o->key[g].s = col_text(a, st, g);
            }
        }
        o->count = sqlite3_column_int64(st, 2);
        o->sum = sqlite3_column_int64(st, 3);
    }
    int ret = rc == SQLITE_DONE ? STORE_OK : sqlfail(c, e, rc);
    done(st);
    *rows = out;
    *n = k;
    return ret;
}

static int sq_rollup_add(sq_conn *c, const res_def *r, const char *ws, const store_val *keys,
                         int64_t dcount, int64_t dsum, store_err *e)
{
    sqlite3_stmt *st =
        prep(c,
             "INSERT INTO rollups (workspace_id, resource, k1, k2, k3, n, total) VALUES "
             "(?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, resource, k1, k2, k3) DO UPDATE "
             "SET n = n + excluded.n, total = total + excluded.total",
             e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->name, -1, SQLITE_STATIC);
    for (int g = 0; g < 3; g++) {
        bool on = g < 3 && r->rollup.group[g] && keys[g].kind == SV_TEXT;
        sqlite3_bind_text(st, 3 + g, on ? keys[g].s : "", -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 6, dcount);
    sqlite3_bind_int64(st, 7, dsum);
    return step_done(c, st, e);
}

static int sq_rollup_list(sq_conn *c, arena *a, const res_def *r, const char *ws,
                          const char *const *match, store_agg_row **rows, int *n, store_err *e)
{
    sqlite3_stmt *st = prep(c,
                            "SELECT k1, k2, k3, n, total FROM rollups WHERE workspace_id = ?1 "
                            "AND resource = ?2 AND (?3 IS NULL OR k1 = ?3) AND "
                            "(?4 IS NULL OR k2 = ?4) AND (?5 IS NULL OR k3 = ?5) AND n <> 0 "
                            "ORDER BY k1, k2, k3",
                            e);
    *n = 0;
    *rows = NULL;
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->name, -1, SQLITE_STATIC);
    for (int g = 0; g < 3; g++)
        bind_text(st, 3 + g, match ? match[g] : NULL);
    int cap = 0, k = 0, rc;
    store_agg_row *out = NULL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_agg_row *o = agg_next(a, &out, &cap, k++);
        for (int g = 0; g < 3; g++) {
            const char *v = (const char *)sqlite3_column_text(st, g);
            o->key[g] = v && *v ? (store_val){.kind = SV_TEXT, .s = col_text(a, st, g)}
                                : (store_val){.kind = SV_NULL};
        }
        o->count = sqlite3_column_int64(st, 3);
        o->sum = sqlite3_column_int64(st, 4);
    }
    int ret = rc == SQLITE_DONE ? STORE_OK : sqlfail(c, e, rc);
    done(st);
    *rows = out;
    *n = k;
    return ret;
}

static int sq_rollup_rebuild(sq_conn *c, const res_def *r, store_err *e)
{
    buf b;
    buf_init(&b, 1 << 14);
    schema_rollup_rebuild(r, &b);
    int rc = exec(c, buf_cstr(&b), e);
    buf_free(&b);
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
                     "INSERT INTO %1$s_fts(%1$s_fts, rank) VALUES ('usermerge', %2$d)", r->table,
                     FTS_USERMERGE);
            if ((rc = exec(c, sql, e)) != STORE_OK) break;
        }
        snprintf(sql, sizeof sql, "INSERT INTO %1$s_fts(%1$s_fts, rank) VALUES ('merge', %2$d)",
                 r->table, budget > 0 ? budget : 1);
        st = prep(c, sql, e);
        if (!st) {
            rc = STORE_ERROR;
            break;
        }
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
    if (rc == STORE_OK && !*more && c->sync_fd >= 0 && c->wal_frames > 0) checkpoint(c);
    return rc;
}

static int sq_lock(sq_conn *c, const char *ws, const char *key, store_err *e)
{
    (void)c, (void)ws, (void)key, (void)e; /* the writer holds the only write lock */
    return STORE_OK;
}

static int sq_merged_put(sq_conn *c, const char *ws, const char *res_type, const char *id,
                         const char *into, const char *snapshot, store_err *e)
{
    sqlite3_stmt *st = prep(c,
                            "INSERT OR REPLACE INTO merged_records (workspace_id, resource_type, "
                            "id, into_id, snapshot, merged_at) VALUES (?, ?, ?, ?, ?, ?)",
                            e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, res_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, into, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, snapshot, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (int64_t)time_now_ms());
    return step_done(c, st, e);
}

static int sq_merged_get(sq_conn *c, const char *ws, const char *res_type, const char *id,
                         char *into, store_err *e)
{
    sqlite3_stmt *st = prep(c,
                            "SELECT into_id FROM merged_records WHERE workspace_id = ? AND "
                            "resource_type = ? AND id = ?",
                            e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, res_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_ROW    ? STORE_OK
              : rc == SQLITE_DONE ? store_fail(e, STORE_NOTFOUND, "not merged")
                                  : sqlfail(c, e, rc);
    if (rc == SQLITE_ROW) copy_col(into, ID_MAX, st, 0);
    done(st);
    return ret;
}

static int sq_event_count(sq_conn *c, const char *ws, int64_t *n, store_err *e)
{
    sqlite3_stmt *st = prep(c, "SELECT count(*) FROM events WHERE workspace_id = ?", e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_ROW ? STORE_OK : sqlfail(c, e, rc);
    if (rc == SQLITE_ROW) *n = sqlite3_column_int64(st, 0);
    done(st);
    return ret;
}

/* ----------------------------------------------------------- idempotency */

static int sq_idem_get(sq_conn *c, arena *a, const char *ws, const char *key, store_idem *out,
                       store_err *e)
{
    sqlite3_stmt *st = prep(c,
                            "SELECT request_hash, status, body, created_at FROM idempotency_keys "
                            "WHERE workspace_id = ? AND key = ?",
                            e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret = STORE_OK;
    if (rc == SQLITE_ROW) {
        copy_col(out->req_hash, sizeof out->req_hash, st, 0);
        out->status = sqlite3_column_int(st, 1);
        out->body = col_text(a, st, 2);
        out->created_ms = sqlite3_column_int64(st, 3);
    } else if (rc == SQLITE_DONE) {
        ret = store_fail(e, STORE_NOTFOUND, "no such key");
    } else {
        ret = sqlfail(c, e, rc);
    }
    done(st);
    return ret;
}

static int sq_idem_put(sq_conn *c, const char *ws, const char *key, const char *req_hash,
                       int status, const char *body, size_t body_len, store_err *e)
{
    /* REPLACE: an expired record for the same key may still be present. */
    sqlite3_stmt *st = prep(c,
                            "INSERT OR REPLACE INTO idempotency_keys (workspace_id, key, "
                            "request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                            e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, req_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, status);
    sqlite3_bind_text(st, 5, body, (int)body_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (int64_t)time_now_ms());
    return step_done(c, st, e);
}

static int sq_idem_expire(sq_conn *c, int64_t cutoff_ms, store_err *e)
{
    sqlite3_stmt *st = prep(c, "DELETE FROM idempotency_keys WHERE created_at < ?", e);
    if (!st) return STORE_ERROR;
    sqlite3_bind_int64(st, 1, cutoff_ms);
    return step_done(c, st, e);
}

/* ------------------------------------------------------------- the table */

#define BACKEND_CONN  sq_conn
#define BACKEND_FN(x) sq_##x
#define BACKEND_OPS   store_sqlite_ops
#define BACKEND_NAME  "sqlite"
#include "store/backend.inc"
