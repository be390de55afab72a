/* postgres.c - the scale-out store: PostgreSQL through libpq; see store.h.
 *
 * Owns: the PostgreSQL schema (derived from the resource table like the
 * SQLite one, types from schema.c), its migrations, one libpq connection
 * per store_conn with its prepared statements, reconnecting after the
 * server went away, and every SQL statement Cairn runs on PostgreSQL.
 *
 * Several Cairn processes may share one database: migrations take an
 * advisory lock, and idempotency keys are locked per key for the length
 * of the writing transaction (store_idem_get), so two nodes racing one key
 * serialise and the second replays the first's answer; store_lock does the
 * same for natural keys (upserts).
 *
 * Parameters and results travel as text; rows are keyset-paginated on the
 * BIGSERIAL `rid`, with (workspace_id, ..., rid) indexes so a page reads
 * O(limit) index entries. Search: the tagged document (search.h) is
 * computed here on every write into `search_doc`, kept as a tsvector that
 * checks a row against every query word, and posted by word prefix into
 * <table>_terms, whose primary key yields a prefix's newest rows first
 * (sync_terms). */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "store/impl.h"
#include "store/schema.h"
#include "store/search.h"

#define STMT_CACHE 256
#define STMT_PROBE 8
#define MAX_PARAMS 64

typedef struct pg_store {
    store base;
    char *url;
    store_opts opts;
} pg_store;

typedef struct pg_stmt {
    char *sql;
    uint64_t hash;
    unsigned id; /* statement name "c<id>" on this connection */
} pg_stmt;

#define EV_COLS  10 /* columns of an event row */
#define SP_DEPTH 8  /* savepoints open at once */

/* An event appended in the open transaction: its column values (NULL =
 * SQL NULL), all in one allocation. */
typedef struct pg_event {
    char *mem;
    const char *v[EV_COLS];
} pg_event;

typedef struct pg_conn {
    store_conn base;
    pg_store *s;
    PGconn *db;
    pg_stmt cache[STMT_CACHE];
    unsigned next_id;
    bool in_tx;
    bool broken_tx;    /* the connection failed inside the current transaction */
    bool custom_plans; /* plan_cache_mode is force_custom_plan (run_planned) */
    /* Savepoints (all named "sp": PostgreSQL takes the most recent). None
     * costs a round trip of its own: a SAVEPOINT is sent in one pipeline
     * with the first statement inside it (a request that fails before
     * touching the database never sends it), a RELEASE with the next
     * statement (COMMIT releases them all). sp_depth are open here, the
     * first sp_sent of them on the server, which also still holds
     * release_due released ones above those. */
    int sp_depth, sp_sent, release_due;
    /* Events appended in the open transaction, inserted in one statement at
     * commit (or earlier, when a statement must see them: events_flush).
     * The first ev_flushed are in the table already. For each open
     * savepoint: how many events there were (sp_ev) and how many were in
     * the table (sp_flushed) when it began. */
    pg_event *ev;
    int nev, ev_cap, ev_flushed;
    int sp_ev[SP_DEPTH], sp_flushed[SP_DEPTH];
} pg_conn;

static void events_reset(pg_conn *c);
static void events_truncate(pg_conn *c, int n);
static int events_flush(pg_conn *c, store_err *e);

/* Parameters of one statement, as text. */
typedef struct pg_params {
    const char *v[MAX_PARAMS];
    char num[MAX_PARAMS][32];
    int n;
} pg_params;

static int p_text(pg_params *p, const char *s)
{
    p->v[p->n] = s;
    return ++p->n;
}

static int p_int(pg_params *p, int64_t v)
{
    snprintf(p->num[p->n], sizeof p->num[0], "%" PRId64, v);
    p->v[p->n] = p->num[p->n];
    return ++p->n;
}

static int p_val(pg_params *p, const store_val *v)
{
    switch (v->kind) {
    case SV_NULL: p->v[p->n] = NULL; return ++p->n;
    case SV_INT: return p_int(p, v->i);
    case SV_REAL:
        snprintf(p->num[p->n], sizeof p->num[0], "%.17g", v->d);
        p->v[p->n] = p->num[p->n];
        return ++p->n;
    case SV_TEXT: return p_text(p, v->s);
    }
    return p->n;
}

/* ------------------------------------------------------------ connection */

static void forget_statements(pg_conn *c)
{
    for (int i = 0; i < STMT_CACHE; i++) {
        free(c->cache[i].sql);
        c->cache[i].sql = NULL;
    }
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* (Re)connects. The URL is libpq's own; a connect timeout keeps an
 * unreachable server from holding a request past a few seconds. */
static int pg_link(pg_conn *c, store_err *e)
{
    if (c->db) PQfinish(c->db);
    forget_statements(c);
    const char *keys[] = {"dbname", "connect_timeout", "application_name", "options", NULL};
    const char *vals[] = {c->s->url, "3", "cairn", "-c statement_timeout=30000", NULL};
    c->db = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c->db) != CONNECTION_OK) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c->db));
        msg[strcspn(msg, "\n")] = '\0';
        PQfinish(c->db);
        c->db = NULL;
        return store_fail(e, STORE_UNAVAILABLE, "postgres: %s", msg);
    }
    PQsetNoticeProcessor(c->db, quiet, NULL);
    /* Statements are prepared once per connection; with the default plan
     * cache mode PostgreSQL planned most of them again on every execution
     * (half the database's CPU on list pages). Searches opt out. */
    PQclear(PQexec(c->db,
                   "SET client_min_messages = warning; SET plan_cache_mode = force_generic_plan"));
    c->custom_plans = false;
    return STORE_OK;
}

static int pg_open(store **out, const char *url, const store_opts *opts, store_err *e)
{
    (void)e;
    pg_store *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->base.ops = &store_postgres_ops;
    s->url = strdup(url);
    s->opts = *opts;
    *out = &s->base;
    return STORE_OK;
}

static void pg_close(store *bs)
{
    pg_store *s = (pg_store *)bs;
    free(s->url);
    free(s);
}

static int pg_connect(store *bs, store_conn **out, store_err *e)
{
    pg_conn *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->base.ops = &store_postgres_ops;
    c->s = (pg_store *)bs;
    int rc = pg_link(c, e);
    if (rc) {
        free(c);
        return rc;
    }
    *out = &c->base;
    return STORE_OK;
}

static void pg_disconnect(pg_conn *c)
{
    events_reset(c);
    free(c->ev);
    if (c->db) PQfinish(c->db);
    forget_statements(c);
    free(c);
}

static bool conn_lost(pg_conn *c)
{
    return !c->db || PQstatus(c->db) != CONNECTION_OK;
}

/* Maps a failed result to a store status. */
static int result_fail(pg_conn *c, PGresult *res, store_err *e)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c->db);
    char m[200];
    snprintf(m, sizeof m, "%s", msg && *msg ? msg : "no result");
    m[strcspn(m, "\n")] = '\0';
    int code = STORE_ERROR;
    if (conn_lost(c) || (state && (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
                                   strcmp(state, "57P03") == 0)))
        code = STORE_UNAVAILABLE;
    else if (state && strcmp(state, "23505") == 0)
        code = STORE_CONFLICT;
    else if (state && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0 ||
                       strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0))
        code = STORE_BUSY;
    return store_fail(e, code, "postgres: %s", m);
}

/* Before a statement: a connection found dead is re-established outside a
 * transaction; inside one the transaction is gone and the caller learns
 * so. */
static int relink(pg_conn *c, store_err *e)
{
    if (!conn_lost(c)) return STORE_OK;
    if (c->in_tx) {
        c->broken_tx = true;
        return store_fail(e, STORE_UNAVAILABLE, "postgres: connection lost in a transaction");
    }
    return pg_link(c, e);
}

/* After a statement: hands a good result to *out, or maps the failure;
 * *again when the connection dropped outside a transaction (worth one
 * more try on a new connection). */
static int outcome(pg_conn *c, PGresult *res, PGresult **out, bool *again, store_err *e)
{
    ExecStatusType st = PQresultStatus(res);
    *again = false;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        *out = res;
        return STORE_OK;
    }
    int rc = result_fail(c, res, e);
    PQclear(res);
    if (rc == STORE_UNAVAILABLE && !c->in_tx) *again = true;
    if (rc == STORE_UNAVAILABLE && c->in_tx) c->broken_tx = true;
    return rc;
}

/* Sends what the server owes of the savepoint stack (releases, then one
 * SAVEPOINT per level opened since) and the prepared statement `name` in
 * one pipeline: one round trip where there were two or more. */
static int run_pipelined(pg_conn *c, const char *name, const pg_params *p, PGresult **out,
                         store_err *e)
{
    int owed = c->release_due + (c->sp_depth - c->sp_sent);
    if (!PQenterPipelineMode(c->db)) return result_fail(c, NULL, e);
    bool sent = true;
    for (int i = 0; i < c->release_due && sent; i++)
        sent = PQsendQueryParams(c->db, "RELEASE SAVEPOINT sp", 0, NULL, NULL, NULL, NULL, 0);
    for (int i = c->sp_sent; i < c->sp_depth && sent; i++)
        sent = PQsendQueryParams(c->db, "SAVEPOINT sp", 0, NULL, NULL, NULL, NULL, 0);
    sent = sent && PQsendQueryPrepared(c->db, name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0);
    sent = sent && PQpipelineSync(c->db);
    /* Results come command by command, each closed by a NULL, then the
     * sync; a failed command turns the rest into PIPELINE_ABORTED. */
    PGresult *stmt = NULL, *bad = NULL;
    for (int cmd = 0, guard = 0; sent && guard < 4 * owed + 16; guard++) {
        PGresult *r = PQgetResult(c->db);
        if (!r) {
            cmd++;
            if (conn_lost(c)) break;
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (cmd == owed && !stmt)
            stmt = r;
        else if (cmd < owed && st != PGRES_COMMAND_OK && !bad)
            bad = r;
        else
            PQclear(r);
    }
    PQexitPipelineMode(c->db);
    int rc;
    if (!sent || (!stmt && !bad)) {
        rc = result_fail(c, NULL, e);
        if (rc != STORE_UNAVAILABLE) c->broken_tx = true; /* the stack is unknown now */
    } else if (bad) {
        rc = result_fail(c, bad, e);
        c->broken_tx = true;
    } else {
        c->release_due = 0;
        c->sp_sent = c->sp_depth;
        ExecStatusType st = PQresultStatus(stmt);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            *out = stmt;
            stmt = NULL;
            rc = STORE_OK;
        } else {
            rc = result_fail(c, stmt, e);
        }
    }
    PQclear(stmt);
    PQclear(bad);
    return rc;
}

/* Runs sql (a prepared statement, cached per connection) with p. On
 * success *out holds the result (caller PQclear()s it). A connection lost
 * outside a transaction is re-established and the statement retried once;
 * inside one, the transaction is gone and the caller learns so. */
static int run(pg_conn *c, const char *sql, const pg_params *p, PGresult **out, store_err *e)
{
    *out = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        int lrc = relink(c, e);
        if (lrc) return lrc;
        uint64_t h = hash_str(sql);
        pg_stmt *slot = NULL, *free_slot = NULL;
        for (int i = 0; i < STMT_PROBE && !slot; i++) {
            pg_stmt *s = &c->cache[(h + (uint64_t)i) % STMT_CACHE];
            if (s->sql && s->hash == h && strcmp(s->sql, sql) == 0) slot = s;
            if (!s->sql && !free_slot) free_slot = s;
        }
        char name[16];
        if (!slot) {
            if (!free_slot) {
                free_slot = &c->cache[h % STMT_CACHE];
                snprintf(name, sizeof name, "c%u", free_slot->id);
                char dealloc[48];
                snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", name);
                PQclear(PQexec(c->db, dealloc));
                free(free_slot->sql);
                free_slot->sql = NULL;
            }
            unsigned id = c->next_id++;
            snprintf(name, sizeof name, "c%u", id);
            PGresult *pr = PQprepare(c->db, name, sql, 0, NULL);
            if (PQresultStatus(pr) != PGRES_COMMAND_OK) {
                int rc = result_fail(c, pr, e);
                PQclear(pr);
                if (rc == STORE_UNAVAILABLE && !c->in_tx) continue;
                if (c->in_tx && rc == STORE_UNAVAILABLE) c->broken_tx = true;
                return rc;
            }
            PQclear(pr);
            free_slot->sql = strdup(sql);
            free_slot->hash = h;
            free_slot->id = id;
            slot = free_slot;
        }
        snprintf(name, sizeof name, "c%u", slot->id);
        if (c->custom_plans) {
            PQclear(PQexec(c->db, "SET plan_cache_mode = force_generic_plan"));
            c->custom_plans = false;
        }
        if (c->in_tx && (c->release_due || c->sp_sent < c->sp_depth)) {
            int rc = run_pipelined(c, name, p, out, e);
            if (rc == STORE_UNAVAILABLE) c->broken_tx = true;
            return rc;
        }
        PGresult *res = PQexecPrepared(c->db, name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0);
        bool again;
        int rc = outcome(c, res, out, &again, e);
        if (!again) return rc;
    }
    return store_fail(e, STORE_UNAVAILABLE, "postgres: unavailable");
}

/* Like run(), but planned for these parameter values on every call (an
 * unnamed statement), where one generic plan cannot serve all values.
 * Inside a transaction with savepoints owed it falls back to run(). */
static int run_planned(pg_conn *c, const char *sql, const pg_params *p, PGresult **out,
                       store_err *e)
{
    *out = NULL;
    if (c->in_tx && (c->release_due || c->sp_sent < c->sp_depth)) return run(c, sql, p, out, e);
    if (!c->custom_plans && !conn_lost(c)) {
        /* The mode applies to unnamed statements too; switched back by
         * run() (one SET per switch, not per statement). */
        PQclear(PQexec(c->db, "SET plan_cache_mode = force_custom_plan"));
        c->custom_plans = true;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        int lrc = relink(c, e);
        if (lrc) return lrc;
        PGresult *res =
            PQexecParams(c->db, sql, p ? p->n : 0, NULL, p ? p->v : NULL, NULL, NULL, 0);
        bool again;
        int rc = outcome(c, res, out, &again, e);
        if (!again) return rc;
    }
    return store_fail(e, STORE_UNAVAILABLE, "postgres: unavailable");
}

/* run() for statements whose result only matters as success. */
static int run_done(pg_conn *c, const char *sql, const pg_params *p, store_err *e)
{
    PGresult *res;
    int rc = run(c, sql, p, &res, e);
    PQclear(res);
    return rc;
}

/* Plain (unprepared, multi-statement) SQL: schema and transactions. Like
 * run(), a connection found dead outside a transaction is re-established
 * and the command tried once more: libpq only learns a connection died
 * when a command fails on it, so the first BEGIN after a database restart
 * would otherwise fail a whole batch. */
static int exec_sql(pg_conn *c, const char *sql, store_err *e)
{
    int rc = STORE_UNAVAILABLE;
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((rc = relink(c, e))) return rc;
        PGresult *res = PQexec(c->db, sql);
        ExecStatusType st = PQresultStatus(res);
        rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? STORE_OK : result_fail(c, res, e);
        PQclear(res);
        if (rc != STORE_UNAVAILABLE || c->in_tx) break;
    }
    if (rc == STORE_UNAVAILABLE && c->in_tx) c->broken_tx = true;
    return rc;
}

static int64_t get_int(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void copy_col(char *dst, size_t cap, PGresult *r, int row, int col)
{
    snprintf(dst, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static const char *get_text(arena *a, PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) return NULL;
    return arena_strndup(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

/* ---------------------------------------------------------------- schema */

static const char *const migrations[] = {
    /* 1: workspaces, keys, event outbox, idempotency records */
    "CREATE TABLE workspaces (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE api_keys (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, "
    "  name TEXT NOT NULL DEFAULT '', token_hash TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL, "
    "  super_admin INTEGER NOT NULL DEFAULT 0, max_concurrent INTEGER NOT NULL DEFAULT -1, "
    "  rate INTEGER NOT NULL DEFAULT -1, created_at BIGINT NOT NULL, "
    "  revoked_at BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE events (rid BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
    "  workspace_id TEXT NOT NULL, type TEXT NOT NULL, resource_type TEXT NOT NULL, "
    "  resource_id TEXT NOT NULL, data TEXT NOT NULL, actor_key_id TEXT, "
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX events_ws ON events(workspace_id, rid);"
    "CREATE INDEX events_ws_resource ON events(workspace_id, resource_id, rid);"
    "CREATE TABLE idempotency_keys (workspace_id TEXT NOT NULL, key TEXT NOT NULL, "
    "  request_hash TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL, "
    "  created_at BIGINT NOT NULL, PRIMARY KEY (workspace_id, key));"
    "CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);",
    /* 2: what each search index was built from, to rebuild on change */
    "CREATE TABLE search_indexes (table_name TEXT PRIMARY KEY, ddl TEXT NOT NULL);",
    /* 3: timelines (an event's subject and changes) and merged-record stubs */
    "ALTER TABLE events ADD COLUMN subject_id TEXT;"
    "ALTER TABLE events ADD COLUMN changes TEXT;"
    "CREATE INDEX events_ws_subject ON events(workspace_id, subject_id, rid) "
    "  WHERE subject_id IS NOT NULL;"
    "CREATE TABLE merged_records (workspace_id TEXT NOT NULL, resource_type TEXT NOT NULL, "
    "  id TEXT NOT NULL, into_id TEXT NOT NULL, snapshot TEXT NOT NULL, "
    "  merged_at BIGINT NOT NULL, PRIMARY KEY (workspace_id, resource_type, id));",
    /* 4: rollups (counts and sums per group, kept as rows change) */
    "CREATE TABLE rollups (workspace_id TEXT NOT NULL, resource TEXT NOT NULL, "
    "  k1 TEXT NOT NULL, k2 TEXT NOT NULL, k3 TEXT NOT NULL, n BIGINT NOT NULL, "
    "  total BIGINT NOT NULL, PRIMARY KEY (workspace_id, resource, k1, k2, k3));"
    "CREATE TABLE rollup_specs (resource TEXT PRIMARY KEY, spec TEXT NOT NULL);",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* Expression of a field as filters and sorts compare it. */
static void col_expr(buf *b, const res_field *f)
{
    if (schema_nocase(f))
        buf_printf(b, "lower(%s)", f->name);
    else
        buf_puts(b, f->name);
}

/* Appends ", a, lower(b), rid" for a composite index spec "a,b": fields as
 * filters compare them, then rid, so a keyset page over the prefix is an
 * index range scan. */
static void index_cols(const res_def *r, const char *spec, buf *b)
{
    bool has_rid = false;
    for (const char *p = spec; *p;) {
        size_t n = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        int i = res_field_index(r, name);
        buf_puts(b, ", ");
        if (i >= 0)
            col_expr(b, &r->fields[i]);
        else
            buf_puts(b, name);
        /* Sorted lists put NULLs first going up (as SQLite does): an index
         * in that order serves them without a sort. */
        if (i >= 0 && (r->fields[i].flags & RF_SORT)) buf_puts(b, " NULLS FIRST");
        has_rid |= strcmp(name, "rid") == 0;
        p += n;
        if (*p == ',') p++;
    }
    if (!has_rid) buf_puts(b, ", rid");
}

/* What search_doc is built from: the searchable fields, and the folding
 * (search_fold, since documents were first folded). */
static void search_fields(const res_def *r, buf *b)
{
    for (int i = 0; i < r->nfields; i++)
        if (r->fields[i].flags & RF_SEARCH) buf_printf(b, "%s ", r->fields[i].name);
    buf_puts(b, "folded");
}

/* search_indexes records what each search structure was built from; a
 * different definition (or none yet) means building it again. */
static int search_def_same(pg_conn *c, const char *name, const char *def, bool *same, store_err *e)
{
    pg_params p = {0};
    p_text(&p, name);
    PGresult *res;
    int rc = run(c, "SELECT ddl FROM search_indexes WHERE table_name = $1", &p, &res, e);
    *same = rc == STORE_OK && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), def) == 0;
    PQclear(res);
    return rc;
}

static int search_def_record(pg_conn *c, const char *name, const char *def, store_err *e)
{
    pg_params p = {0};
    p_text(&p, name);
    p_text(&p, def);
    return run_done(c,
                    "INSERT INTO search_indexes (table_name, ddl) VALUES ($1, $2) "
                    "ON CONFLICT (table_name) DO UPDATE SET ddl = excluded.ddl",
                    &p, e);
}

/* Search postings. A GIN index over the tsvector answers which rows hold
 * a word, but in no order: a common word's every match was read to keep
 * the newest page (263 searches/s on 1M contacts), and its upkeep on
 * every insert cost more than these postings do. <table>_terms holds
 * (term, doc_rid) for the TERM_SHORT- and TERM_LONG-character prefixes of
 * each tagged word, so the newest rows holding a prefix are a backward
 * walk of its primary key, which stops after a page. The terms are cut
 * from the row's tsvector, whose lexemes are its words already split and
 * lowercased the way the query side's lower() does. Triggers keep them in
 * step however a row changes. */
#define TERM_SHORT 2
#define TERM_LONG  4

/* The terms of the tsvector `tsv` as a query: SELECT DISTINCT term. The
 * one definition the triggers and the filling share. */
static void terms_query(buf *b, const char *tsv)
{
    buf_printf(b,
               "SELECT DISTINCT left(l, k.n) FROM unnest(tsvector_to_array(%s)) AS l, "
               "(VALUES (%d), (%d)) AS k(n) WHERE length(l) > %d",
               tsv, SEARCH_TAG_LEN + TERM_SHORT, SEARCH_TAG_LEN + TERM_LONG, SEARCH_TAG_LEN);
}

/* The postings' table, trigger function and triggers are recorded with
 * their DDL: unchanged, nothing is sent (replacing triggers would lock the
 * table on every start of every node); changed or new, they are made again
 * and the postings filled from the rows. */
static int sync_terms(pg_conn *c, const res_def *r, store_err *e)
{
    buf ddl;
    buf_init(&ddl, 1 << 14);
    buf_printf(&ddl,
               "CREATE TABLE IF NOT EXISTS %1$s_terms (term TEXT NOT NULL, doc_rid BIGINT NOT "
               "NULL, PRIMARY KEY (term, doc_rid));"
               "CREATE OR REPLACE FUNCTION %1$s_terms_sync() RETURNS trigger LANGUAGE plpgsql "
               "AS $f$ BEGIN IF TG_OP <> 'INSERT' THEN "
               "DELETE FROM %1$s_terms WHERE doc_rid = OLD.rid AND term IN (",
               r->table);
    terms_query(&ddl, "OLD.search_tsv");
    buf_printf(&ddl,
               "); END IF; IF TG_OP <> 'DELETE' THEN "
               "INSERT INTO %1$s_terms (term, doc_rid) SELECT t, NEW.rid FROM (",
               r->table);
    terms_query(&ddl, "NEW.search_tsv");
    buf_printf(&ddl,
               ") AS x(t); END IF; RETURN NULL; END $f$;"
               "DROP TRIGGER IF EXISTS %1$s_terms_i ON %1$s;"
               "DROP TRIGGER IF EXISTS %1$s_terms_u ON %1$s;"
               "DROP TRIGGER IF EXISTS %1$s_terms_d ON %1$s;"
               "CREATE TRIGGER %1$s_terms_i AFTER INSERT ON %1$s FOR EACH ROW "
               "EXECUTE FUNCTION %1$s_terms_sync();"
               "CREATE TRIGGER %1$s_terms_u AFTER UPDATE OF search_doc ON %1$s FOR EACH ROW "
               "WHEN (OLD.search_doc IS DISTINCT FROM NEW.search_doc) "
               "EXECUTE FUNCTION %1$s_terms_sync();"
               "CREATE TRIGGER %1$s_terms_d AFTER DELETE ON %1$s FOR EACH ROW "
               "EXECUTE FUNCTION %1$s_terms_sync();",
               r->table);
    char name[160];
    snprintf(name, sizeof name, "%s_terms", r->table);
    bool same;
    int rc = search_def_same(c, name, buf_cstr(&ddl), &same, e);
    if (rc == STORE_OK && !same) {
        buf b;
        buf_init(&b, 1 << 14);
        buf_append(&b, ddl.data, ddl.len);
        buf_printf(&b,
                   "TRUNCATE %1$s_terms;"
                   "INSERT INTO %1$s_terms (term, doc_rid) SELECT x.t, %1$s.rid FROM %1$s, "
                   "LATERAL (",
                   r->table);
        terms_query(&b, "search_tsv");
        buf_puts(&b, ") AS x(t);");
        rc = exec_sql(c, buf_cstr(&b), e);
        buf_free(&b);
        if (rc == STORE_OK) rc = search_def_record(c, name, buf_cstr(&ddl), e);
    }
    buf_free(&ddl);
    return rc;
}

/* Rewrites search_doc of every row when the searchable fields changed:
 * the document is computed in C (the workspace tag), so SQL cannot. */
static int rebuild_search(pg_conn *c, const res_def *r, store_err *e)
{
    int64_t after = 0;
    for (;;) {
        buf sql;
        buf_init(&sql, 1 << 16);
        buf_printf(&sql, "SELECT rid, workspace_id");
        for (int i = 0; i < r->nfields; i++)
            if (r->fields[i].flags & RF_SEARCH) buf_printf(&sql, ", %s", r->fields[i].name);
        buf_printf(&sql, " FROM %s WHERE rid > $1 ORDER BY rid LIMIT 1000", r->table);
        pg_params p = {0};
        p_int(&p, after);
        PGresult *res;
        int rc = run(c, buf_cstr(&sql), &p, &res, e);
        buf_free(&sql);
        if (rc) return rc;
        int n = PQntuples(res);
        for (int row = 0; row < n && rc == STORE_OK; row++) {
            char tag[SEARCH_TAG_LEN + 1];
            search_tag(PQgetvalue(res, row, 1), tag);
            buf doc;
            buf_init(&doc, 1u << 24);
            for (int col = 2; col < PQnfields(res); col++)
                if (!PQgetisnull(res, row, col))
                    search_doc_append(&doc, tag, PQgetvalue(res, row, col), true);
            char upd[256];
            /* A document that comes out the same is left alone: no new row
             * version, and its postings' trigger does not fire. */
            snprintf(upd, sizeof upd,
                     "UPDATE %s SET search_doc = $1 WHERE rid = $2 AND "
                     "search_doc IS DISTINCT FROM $1",
                     r->table);
            pg_params q = {0};
            p_text(&q, buf_cstr(&doc));
            after = get_int(res, row, 0);
            p_int(&q, after);
            rc = run_done(c, upd, &q, e);
            buf_free(&doc);
        }
        PQclear(res);
        if (rc) return rc;
        if (n < 1000) return STORE_OK;
    }
}

static int sync_resource(pg_conn *c, const res_def *r, store_err *e)
{
    buf b;
    buf_init(&b, 1 << 20);
    buf_printf(&b,
               "CREATE TABLE IF NOT EXISTS %s (rid BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
               "workspace_id TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL",
               r->table);
    for (int i = 0; i < r->nfields; i++)
        buf_printf(&b, ", %s %s", r->fields[i].name,
                   schema_column_type(&r->fields[i], DIALECT_POSTGRES));
    buf_puts(&b, ", custom_fields JSONB, search_doc TEXT);");
    for (int i = 0; i < r->nfields; i++)
        buf_printf(&b, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s;", r->table,
                   r->fields[i].name, schema_column_type(&r->fields[i], DIALECT_POSTGRES));
    buf_printf(&b, "CREATE INDEX IF NOT EXISTS %1$s_ws ON %1$s(workspace_id, rid);", r->table);
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (!schema_indexed(f)) continue;
        buf_printf(&b, "CREATE INDEX IF NOT EXISTS %s_ws_%s ON %s(workspace_id, ", r->table,
                   f->name, r->table);
        col_expr(&b, f);
        buf_puts(&b, ", rid);");
        if (f->flags & RF_SORT) {
            /* NULLs lowest, as SQLite orders them: first going up. */
            buf_printf(&b, "CREATE INDEX IF NOT EXISTS %s_ws_%s_sort ON %s(workspace_id, ",
                       r->table, f->name, r->table);
            col_expr(&b, f);
            buf_puts(&b, " NULLS FIRST, rid);");
        }
    }
    for (int k = 0; k < 4 && r->indexes[k]; k++) {
        buf_printf(&b, "CREATE INDEX IF NOT EXISTS %s_ix%d ON %s(workspace_id", r->table, k,
                   r->table);
        index_cols(r, r->indexes[k], &b);
        buf_puts(&b, ");");
    }
    if (r->unique[0]) {
        buf_printf(&b, "CREATE UNIQUE INDEX IF NOT EXISTS %s_unique ON %s(workspace_id", r->table,
                   r->table);
        for (int i = 0; r->unique[i]; i++)
            buf_printf(&b, ", %s", r->unique[i]);
        buf_puts(&b, ");");
    }
    int rc = exec_sql(c, buf_cstr(&b), e);
    if (rc == STORE_OK && res_has_search(r)) {
        buf_reset(&b);
        buf_printf(&b,
                   "ALTER TABLE %1$s ADD COLUMN IF NOT EXISTS search_tsv tsvector GENERATED "
                   "ALWAYS AS (to_tsvector('simple'::regconfig, coalesce(search_doc, ''))) STORED;"
                   "DROP INDEX IF EXISTS %1$s_search;",
                   r->table);
        rc = exec_sql(c, buf_cstr(&b), e);
        if (rc == STORE_OK) rc = sync_terms(c, r, e);
        buf fields;
        buf_init(&fields, 4096);
        search_fields(r, &fields);
        bool same = false;
        if (rc == STORE_OK) rc = search_def_same(c, r->table, buf_cstr(&fields), &same, e);
        if (rc == STORE_OK && !same) rc = rebuild_search(c, r, e);
        if (rc == STORE_OK && !same) rc = search_def_record(c, r->table, buf_cstr(&fields), e);
        buf_free(&fields);
    }
    buf_free(&b);
    return rc;
}

static int pg_schema_version(pg_conn *c, int *version, store_err *e)
{
    *version = 0;
    PGresult *res;
    int rc = run(c, "SELECT to_regclass('schema_migrations') IS NOT NULL", NULL, &res, e);
    if (rc) return rc;
    bool exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists) return STORE_OK;
    rc = run(c, "SELECT coalesce(max(version), 0) FROM schema_migrations", NULL, &res, e);
    if (rc) return rc;
    *version = (int)get_int(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

static int pg_begin(pg_conn *c, bool write, store_err *e);
static int pg_commit(pg_conn *c, store_err *e);
static void pg_rollback(pg_conn *c);

static int pg_rollup_rebuild(pg_conn *c, const res_def *r, store_err *e)
{
    buf b;
    buf_init(&b, 1 << 14);
    schema_rollup_rebuild(r, &b);
    int rc = exec_sql(c, buf_cstr(&b), e);
    buf_free(&b);
    return rc;
}

/* Recounts a rollup whose declaration differs from the one recorded. */
static int sync_rollup(pg_conn *c, const res_def *r, store_err *e)
{
    buf spec;
    buf_init(&spec, 4096);
    schema_rollup_spec(r, &spec);
    pg_params p = {0};
    p_text(&p, r->name);
    PGresult *res = NULL;
    int rc = run(c, "SELECT spec FROM rollup_specs WHERE resource = $1", &p, &res, e);
    bool same =
        rc == STORE_OK &&
        (PQntuples(res) == 1 ? strcmp(PQgetvalue(res, 0, 0), buf_cstr(&spec)) == 0 : spec.len == 0);
    PQclear(res);
    if (rc == STORE_OK && !same) rc = pg_rollup_rebuild(c, r, e);
    if (rc == STORE_OK && !same) {
        p_text(&p, buf_cstr(&spec));
        rc = run_done(c,
                      "INSERT INTO rollup_specs (resource, spec) VALUES ($1, $2) "
                      "ON CONFLICT (resource) DO UPDATE SET spec = excluded.spec",
                      &p, e);
    }
    buf_free(&spec);
    return rc;
}

static int pg_migrate(pg_conn *c, int *applied, store_err *e)
{
    *applied = 0;
    int rc = pg_begin(c, true, e);
    if (rc) return rc;
    /* Nodes starting together: one migrates, the others wait and find
     * nothing left to do. Neither side has a statement timeout: filling a
     * big table's search postings takes minutes, and so does the wait. */
    rc = exec_sql(c,
                  "SET LOCAL statement_timeout = 0;"
                  "SELECT pg_advisory_xact_lock(7244106917133461332);"
                  "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                  "applied_at BIGINT NOT NULL);",
                  e);
    int version = 0;
    if (rc == STORE_OK) rc = pg_schema_version(c, &version, e);
    for (int v = version + 1; rc == STORE_OK && v <= NMIGRATIONS; v++) {
        rc = exec_sql(c, migrations[v - 1], e);
        if (rc) break;
        pg_params p = {0};
        p_int(&p, v);
        p_int(&p, (int64_t)time_now_ms());
        rc = run_done(c, "INSERT INTO schema_migrations VALUES ($1, $2)", &p, e);
        (*applied)++;
    }
    for (int i = 0; rc == STORE_OK && i < res_count; i++)
        rc = sync_resource(c, res_table[i], e);
    for (int i = 0; rc == STORE_OK && i < res_count; i++)
        rc = sync_rollup(c, res_table[i], e);
    if (rc) {
        pg_rollback(c);
        return rc;
    }
    return pg_commit(c, e);
}

static int pg_ping(pg_conn *c, store_err *e)
{
    return run_done(c, "SELECT 1", NULL, e);
}

/* ---------------------------------------------------------- transactions */

/* Forgets the transaction's savepoints and buffered events. */
static void tx_reset(pg_conn *c)
{
    c->sp_depth = c->sp_sent = c->release_due = 0;
    events_reset(c);
}

static int pg_begin(pg_conn *c, bool write, store_err *e)
{
    (void)write; /* row locks and the idempotency lock do what SQLite's write lock does */
    tx_reset(c);
    int rc = exec_sql(c, "BEGIN", e);
    if (rc == STORE_OK) {
        c->in_tx = true;
        c->broken_tx = false;
    }
    return rc;
}

static int pg_commit(pg_conn *c, store_err *e)
{
    if (c->broken_tx) {
        pg_rollback(c);
        return store_fail(e, STORE_UNAVAILABLE, "postgres: the transaction was lost");
    }
    int rc = events_flush(c, e);
    if (rc) {
        pg_rollback(c);
        return rc;
    }
    c->sp_depth = c->sp_sent = c->release_due = 0; /* COMMIT releases every savepoint */
    rc = exec_sql(c, "COMMIT", e);
    c->in_tx = false;
    tx_reset(c);
    if (rc) pg_rollback(c);
    return rc;
}

static void pg_rollback(pg_conn *c)
{
    if (!conn_lost(c) && PQtransactionStatus(c->db) != PQTRANS_IDLE)
        PQclear(PQexec(c->db, "ROLLBACK"));
    c->in_tx = false;
    c->broken_tx = false;
    tx_reset(c);
}

/* The writer wraps every request of a batch in a savepoint, and a batch
 * request each of its items in one more. Opening one only marks where its
 * events begin; run() sends it. */
static int pg_savepoint(pg_conn *c, store_err *e)
{
    if (c->sp_depth == SP_DEPTH)
        return store_fail(e, STORE_ERROR, "postgres: more than %d nested savepoints", SP_DEPTH);
    c->sp_ev[c->sp_depth] = c->nev;
    c->sp_flushed[c->sp_depth] = c->ev_flushed;
    c->sp_depth++;
    return STORE_OK;
}

static int pg_release(pg_conn *c, store_err *e)
{
    if (c->sp_depth == 0) return store_fail(e, STORE_ERROR, "postgres: no savepoint to release");
    c->sp_depth--;
    if (c->sp_sent > c->sp_depth) { /* on the server: release it with the next statement */
        c->sp_sent--;
        c->release_due++;
    }
    return STORE_OK;
}

/* Undoes the most recent open savepoint. Those released inside it since
 * are still open on the server, above it: each is rolled back to and
 * released first (a RELEASE alone would be refused when a statement has
 * failed the transaction), then the savepoint itself. One never sent saw
 * no statement: there is nothing to undo on the server. */
static void pg_rollback_to(pg_conn *c)
{
    if (c->sp_depth == 0) return;
    c->sp_depth--;
    if (c->sp_sent > c->sp_depth) {
        char sql[(SP_DEPTH + 1) * 48] = "";
        for (int i = 0; i <= c->release_due; i++)
            strcat(sql, "ROLLBACK TO SAVEPOINT sp; RELEASE SAVEPOINT sp;");
        if (!conn_lost(c)) PQclear(PQexec(c->db, sql));
        c->release_due = 0;
        c->sp_sent--;
    }
    /* The server dropped what was inserted since the savepoint began, also
     * events of enclosing scopes flushed inside it: those go back to the
     * buffer's unflushed part. */
    events_truncate(c, c->sp_ev[c->sp_depth]);
    c->ev_flushed = c->sp_flushed[c->sp_depth];
}

/* A commit here is durable when the server answers it. */
static int pg_sync_defer(pg_conn *c, bool on, store_err *e)
{
    (void)c, (void)on, (void)e;
    return STORE_OK;
}

static int pg_sync(pg_conn *c, store_err *e)
{
    (void)c, (void)e;
    return STORE_OK;
}

/* ------------------------------------------------------ workspaces, keys */

static void read_workspace(PGresult *r, int row, store_workspace *w)
{
    copy_col(w->id, sizeof w->id, r, row, 0);
    copy_col(w->name, sizeof w->name, r, row, 1);
    w->created_ms = get_int(r, row, 2);
}

static int pg_workspace_create(pg_conn *c, const char *name, store_workspace *out, store_err *e)
{
    id_new(out->id, "wrk");
    snprintf(out->name, sizeof out->name, "%s", name);
    out->created_ms = (int64_t)time_now_ms();
    pg_params p = {0};
    p_text(&p, out->id);
    p_text(&p, out->name);
    p_int(&p, out->created_ms);
    return run_done(c, "INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)", &p, e);
}

static int pg_workspace_find(pg_conn *c, const char *name_or_id, store_workspace *out, store_err *e)
{
    pg_params p = {0};
    p_text(&p, name_or_id);
    PGresult *res;
    int rc = run(c, "SELECT id, name, created_at FROM workspaces WHERE id = $1 OR name = $1", &p,
                 &res, e);
    if (rc) return rc;
    if (PQntuples(res) == 0)
        rc = store_fail(e, STORE_NOTFOUND, "no workspace '%s'", name_or_id);
    else
        read_workspace(res, 0, out);
    PQclear(res);
    return rc;
}

static int pg_workspace_count(pg_conn *c, int64_t *n, store_err *e)
{
    PGresult *res;
    int rc = run(c, "SELECT count(*) FROM workspaces", NULL, &res, e);
    if (rc) return rc;
    *n = get_int(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

static int pg_workspace_each(pg_conn *c, store_workspace_cb cb, void *ud, store_err *e)
{
    PGresult *res;
    int rc = run(c, "SELECT id, name, created_at FROM workspaces ORDER BY id", NULL, &res, e);
    if (rc) return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        store_workspace w;
        read_workspace(res, i, &w);
        cb(&w, ud);
    }
    PQclear(res);
    return STORE_OK;
}

#define KEY_COLS                                                                                   \
    "id, workspace_id, name, scopes, super_admin, max_concurrent, rate, created_at, revoked_at"

static void read_key(PGresult *r, int row, store_key *k)
{
    copy_col(k->id, sizeof k->id, r, row, 0);
    copy_col(k->workspace_id, sizeof k->workspace_id, r, row, 1);
    copy_col(k->name, sizeof k->name, r, row, 2);
    copy_col(k->scopes, sizeof k->scopes, r, row, 3);
    k->super_admin = get_int(r, row, 4) != 0;
    k->max_concurrent = (int)get_int(r, row, 5);
    k->rate = (int)get_int(r, row, 6);
    k->created_ms = get_int(r, row, 7);
    k->revoked_ms = get_int(r, row, 8);
}

static int pg_key_create(pg_conn *c, const store_key *k, const char *token_hash, store_err *e)
{
    pg_params p = {0};
    p_text(&p, k->id);
    p_text(&p, k->workspace_id);
    p_text(&p, k->name);
    p_text(&p, k->scopes);
    p_int(&p, k->super_admin);
    p_int(&p, k->max_concurrent);
    p_int(&p, k->rate);
    p_int(&p, k->created_ms);
    p_text(&p, token_hash);
    return run_done(c,
                    "INSERT INTO api_keys (" KEY_COLS ", token_hash) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)",
                    &p, e);
}

static int pg_key_by_hash(pg_conn *c, const char *token_hash, store_key *out, store_err *e)
{
    pg_params p = {0};
    p_text(&p, token_hash);
    PGresult *res;
    int rc = run(c, "SELECT " KEY_COLS " FROM api_keys WHERE token_hash = $1", &p, &res, e);
    if (rc) return rc;
    if (PQntuples(res) == 0)
        rc = store_fail(e, STORE_NOTFOUND, "no such key");
    else
        read_key(res, 0, out);
    PQclear(res);
    return rc;
}

static int pg_key_each(pg_conn *c, store_key_cb cb, void *ud, store_err *e)
{
    PGresult *res;
    int rc = run(c, "SELECT " KEY_COLS " FROM api_keys ORDER BY id", NULL, &res, e);
    if (rc) return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        store_key k;
        read_key(res, i, &k);
        cb(&k, ud);
    }
    PQclear(res);
    return STORE_OK;
}

static int pg_key_revoke(pg_conn *c, const char *id, store_err *e)
{
    pg_params p = {0};
    p_int(&p, (int64_t)time_now_ms());
    p_text(&p, id);
    PGresult *res;
    int rc =
        run(c, "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0", &p, &res, e);
    if (rc) return rc;
    if (strcmp(PQcmdTuples(res), "0") == 0)
        rc = store_fail(e, STORE_NOTFOUND, "no active key '%s'", id);
    PQclear(res);
    return rc;
}

/* --------------------------------------------------------------- records */

/* "SELECT <the columns read_row reads> FROM "; the caller names the source. */
static void select_list(const res_def *r, buf *b)
{
    buf_puts(b, "SELECT rid, id, created_at, updated_at");
    for (int i = 0; i < r->nfields; i++)
        buf_printf(b, ", %s", r->fields[i].name);
    buf_puts(b, ", custom_fields FROM ");
}

static void select_cols(const res_def *r, buf *b)
{
    select_list(r, b);
    buf_puts(b, r->table);
}

static void read_row(arena *a, const res_def *r, PGresult *res, int row, res_row *out)
{
    out->rid = get_int(res, row, 0);
    copy_col(out->id, sizeof out->id, res, row, 1);
    out->created_ms = get_int(res, row, 2);
    out->updated_ms = get_int(res, row, 3);
    out->vals = arena_alloc(a, sizeof(store_val) * (size_t)(r->nfields ? r->nfields : 1));
    for (int i = 0; i < r->nfields; i++) {
        store_val *v = &out->vals[i];
        int col = 4 + i;
        if (PQgetisnull(res, row, col)) {
            *v = (store_val){.kind = SV_NULL};
            continue;
        }
        const char *t = PQgetvalue(res, row, col);
        switch (r->fields[i].type) {
        case FT_INT:
        case FT_MONEY:
        case FT_BOOL:
        case FT_DATETIME: *v = (store_val){.kind = SV_INT, .i = strtoll(t, NULL, 10)}; break;
        case FT_NUMBER: *v = (store_val){.kind = SV_REAL, .d = strtod(t, NULL)}; break;
        default: *v = (store_val){.kind = SV_TEXT, .s = get_text(a, res, row, col)};
        }
    }
    out->custom = get_text(a, res, row, 4 + r->nfields);
}

static int one_row(pg_conn *c, arena *a, const res_def *r, const char *sql, const pg_params *p,
                   res_row *out, store_err *e)
{
    PGresult *res;
    int rc = run(c, sql, p, &res, e);
    if (rc) return rc;
    if (PQntuples(res) == 0)
        rc = store_fail(e, STORE_NOTFOUND, "no such %s", r->singular);
    else
        read_row(a, r, res, 0, out);
    PQclear(res);
    return rc;
}

static int pg_rec_get(pg_conn *c, arena *a, const res_def *r, const char *ws, const char *id,
                      res_row *out, store_err *e)
{
    buf b;
    buf_init(&b, 1 << 16);
    select_cols(r, &b);
    buf_puts(&b, " WHERE id = $1 AND workspace_id = $2");
    pg_params p = {0};
    p_text(&p, id);
    p_text(&p, ws);
    int rc = one_row(c, a, r, buf_cstr(&b), &p, out, e);
    buf_free(&b);
    return rc;
}

/* Runs a statement on one record (fmt has the table as %s, $1 = id, $2 =
 * workspace); STORE_NOTFOUND when it found or changed no row. */
static int by_id(pg_conn *c, const res_def *r, const char *fmt, const char *ws, const char *id,
                 store_err *e)
{
    char sql[256];
    snprintf(sql, sizeof sql, fmt, r->table);
    pg_params p = {0};
    p_text(&p, id);
    p_text(&p, ws);
    PGresult *res;
    int rc = run(c, sql, &p, &res, e);
    if (rc) return rc;
    bool hit = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) > 0
                                                      : strcmp(PQcmdTuples(res), "0") != 0;
    PQclear(res);
    return hit ? STORE_OK : store_fail(e, STORE_NOTFOUND, "no such %s", r->singular);
}

static int pg_rec_exists(pg_conn *c, const res_def *r, const char *ws, const char *id, store_err *e)
{
    return by_id(c, r, "SELECT 1 FROM %s WHERE id = $1 AND workspace_id = $2", ws, id, e);
}

static const char *search_doc(arena *a, const res_def *r, const char *ws, const store_val *vals)
{
    buf b;
    buf_init(&b, 1u << 24);
    schema_search_doc(r, ws, vals, &b);
    const char *s = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return s;
}

static int pg_rec_insert(pg_conn *c, const res_def *r, const char *ws, res_row *row, store_err *e)
{
    if (r->nfields + 8 > MAX_PARAMS) return store_fail(e, STORE_ERROR, "too many fields");
    arena a;
    arena_init(&a);
    buf b;
    buf_init(&b, 1 << 16);
    buf_printf(&b, "INSERT INTO %s (id, workspace_id, created_at, updated_at", r->table);
    for (int i = 0; i < r->nfields; i++)
        buf_printf(&b, ", %s", r->fields[i].name);
    buf_puts(&b, ", custom_fields, search_doc) VALUES ($1, $2, $3, $4");
    for (int i = 0; i < r->nfields + 2; i++)
        buf_printf(&b, ", $%d", 5 + i);
    buf_puts(&b, ") RETURNING rid");
    pg_params p = {0};
    p_text(&p, row->id);
    p_text(&p, ws);
    p_int(&p, row->created_ms);
    p_int(&p, row->updated_ms);
    for (int i = 0; i < r->nfields; i++)
        p_val(&p, &row->vals[i]);
    p_text(&p, row->custom);
    p_text(&p, res_has_search(r) ? search_doc(&a, r, ws, row->vals) : NULL);
    PGresult *res;
    int rc = run(c, buf_cstr(&b), &p, &res, e);
    buf_free(&b);
    if (rc == STORE_OK) {
        row->rid = get_int(res, 0, 0);
        PQclear(res);
    }
    arena_release(&a);
    return rc;
}

static int pg_rec_update(pg_conn *c, const res_def *r, const char *ws, const res_row *row,
                         const bool *set, bool set_custom, store_err *e)
{
    arena a;
    arena_init(&a);
    buf b;
    buf_init(&b, 1 << 16);
    pg_params p = {0};
    buf_printf(&b, "UPDATE %s SET updated_at = $%d", r->table, p_int(&p, row->updated_ms));
    bool searched = false;
    for (int i = 0; i < r->nfields; i++) {
        if (!set[i]) continue;
        buf_printf(&b, ", %s = $%d", r->fields[i].name, p_val(&p, &row->vals[i]));
        searched |= (r->fields[i].flags & RF_SEARCH) != 0;
    }
    if (set_custom) buf_printf(&b, ", custom_fields = $%d", p_text(&p, row->custom));
    /* row carries every field, so the document can be rebuilt whole. */
    if (searched)
        buf_printf(&b, ", search_doc = $%d", p_text(&p, search_doc(&a, r, ws, row->vals)));
    buf_printf(&b, " WHERE id = $%d", p_text(&p, row->id));
    buf_printf(&b, " AND workspace_id = $%d", p_text(&p, ws));
    PGresult *res;
    int rc = run(c, buf_cstr(&b), &p, &res, e);
    buf_free(&b);
    if (rc == STORE_OK) {
        if (strcmp(PQcmdTuples(res), "0") == 0)
            rc = store_fail(e, STORE_NOTFOUND, "no such %s", r->singular);
        PQclear(res);
    }
    arena_release(&a);
    return rc;
}

static int pg_rec_delete(pg_conn *c, const res_def *r, const char *ws, const char *id, store_err *e)
{
    return by_id(c, r, "DELETE FROM %s WHERE id = $1 AND workspace_id = $2", ws, id, e);
}

static int pg_rec_detach(pg_conn *c, const res_def *r, int field, const char *ws, const char *id,
                         bool delete_rows, store_err *e)
{
    char sql[256];
    const char *f = r->fields[field].name;
    if (delete_rows)
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE workspace_id = $1 AND %s = $2", r->table,
                 f);
    else
        snprintf(sql, sizeof sql, "UPDATE %s SET %s = NULL WHERE workspace_id = $1 AND %s = $2",
                 r->table, f, f);
    pg_params p = {0};
    p_text(&p, ws);
    p_text(&p, id);
    return run_done(c, sql, &p, e);
}

static int pg_rec_find_by(pg_conn *c, arena *a, const res_def *r, const char *ws, int field,
                          const char *value, res_row *out, store_err *e)
{
    buf b;
    buf_init(&b, 1 << 16);
    select_cols(r, &b);
    buf_printf(&b, " WHERE workspace_id = $1 AND lower(%s) = lower($2) ORDER BY rid LIMIT 1",
               r->fields[field].name);
    pg_params p = {0};
    p_text(&p, ws);
    p_text(&p, value);
    int rc = one_row(c, a, r, buf_cstr(&b), &p, out, e);
    buf_free(&b);
    return rc;
}

/* One filter's condition, its value the next parameter; the workspace is
 * $1. Equality ignores case as the indexes on lower() do. */
static void filter_sql(const res_def *r, const store_filter *fl, buf *sql, pg_params *p)
{
    const res_field *f = &r->fields[fl->field];
    int k = p_val(p, &fl->v);
    switch (fl->op) {
    case SF_LT: buf_printf(sql, " AND %s < $%d", f->name, k); break;
    case SF_GE: buf_printf(sql, " AND %s >= $%d", f->name, k); break;
    case SF_REL: {
        const res_field *rf = &fl->rel->fields[fl->rel_field];
        buf_printf(sql, " AND %s IN (SELECT id FROM %s WHERE workspace_id = $1 AND ", f->name,
                   fl->rel->table);
        col_expr(sql, rf);
        buf_printf(sql, schema_nocase(rf) ? " = lower($%d))" : " = $%d)", k);
        break;
    }
    default:
        buf_puts(sql, " AND ");
        col_expr(sql, f);
        buf_printf(sql, schema_nocase(f) ? " = lower($%d)" : " = $%d", k);
    }
}

#define TERM_WORDS 8 /* a query's words looked up in the postings */

typedef struct tsq_ctx {
    buf *b;
    arena *a;
    const char *tag;
    int terms;
    int nwords; /* words kept below, in the order typed */
    const char *word[TERM_WORDS];
    int len[TERM_WORDS];   /* bytes */
    int chars[TERM_WORDS]; /* characters, as SQL's left() counts them */
} tsq_ctx;

static void tsq_word(const char *w, size_t n, void *ud)
{
    tsq_ctx *x = ud;
    /* Folded as the documents are (search_doc_append). */
    char *f = arena_alloc(x->a, n + 1);
    n = search_fold(w, n, f);
    w = f;
    if (x->nwords < TERM_WORDS) {
        int k = x->nwords++;
        x->word[k] = w;
        x->len[k] = (int)n;
        x->chars[k] = 0;
        for (size_t i = 0; i < n; i++)
            x->chars[k] += ((unsigned char)w[i] & 0xC0) != 0x80;
    }
    /* Words are letters, digits and non-ASCII bytes only (search.h), so
     * nothing a user types can be read as tsquery syntax. */
    buf_printf(x->b, "%s%s%.*s:*", x->terms++ ? " & " : "", x->tag, (int)n, w);
}

/* The postings term of query word i, cut as terms_query() cuts a row's. */
static void term_expr(buf *b, pg_params *p, arena *a, const tsq_ctx *x, int i)
{
    int w = p_text(p, arena_printf(a, "%s%.*s", x->tag, x->len[i], x->word[i]));
    buf_printf(b, "left(lower($%d), %d)", w,
               SEARCH_TAG_LEN + (x->chars[i] >= TERM_LONG ? TERM_LONG : TERM_SHORT));
}

static int pg_rec_list(pg_conn *c, arena *a, const res_def *r, const char *ws, const store_query *q,
                       res_row **rows, int *n, bool *more, store_err *e)
{
    *n = 0;
    *more = false;
    *rows = NULL;
    if (q->nfilters + 16 > MAX_PARAMS) return store_fail(e, STORE_ERROR, "too many filters");
    buf sql, tsq;
    buf_init(&sql, 1 << 16);
    buf_init(&tsq, 1 << 16);
    pg_params p = {0};
    bool use_fts = false;
    char tag[SEARCH_TAG_LEN + 1];
    tsq_ctx x = {0};
    int driver = -1; /* the word whose postings lead a search: the longest */
    if (q->fts) {
        search_tag(ws, tag);
        x = (tsq_ctx){&tsq, a, tag, 0, 0, {0}, {0}, {0}};
        if (search_words(q->fts, tsq_word, &x) == 0) {
            buf_free(&sql);
            buf_free(&tsq);
            return STORE_OK; /* only punctuation: nothing can match */
        }
        use_fts = true;
        for (int i = 0; i < x.nwords; i++)
            if (x.chars[i] >= TERM_SHORT && (driver < 0 || x.chars[i] > x.chars[driver]))
                driver = i;
    }
    /* sql holds the conditions; the SELECT goes in front at the end, from
     * the table or, for a search, from its postings. */
    buf_printf(&sql, " WHERE workspace_id = $%d", p_text(&p, ws));
    int cursor_param = 0;
    if (use_fts)
        buf_printf(&sql, " AND search_tsv @@ to_tsquery('simple'::regconfig, $%d)",
                   p_text(&p, arena_strdup(a, buf_cstr(&tsq))));
    const res_field *sf = use_fts ? NULL : q->sort_by;
    if (q->after_rid > 0 && !sf) {
        const char *cmp = q->ascending && !use_fts ? ">" : "<";
        cursor_param = p_int(&p, q->after_rid);
        buf_printf(&sql, " AND rid %s $%d", cmp, cursor_param);
    } else if (q->after_rid > 0) {
        buf e1;
        buf_init(&e1, 256);
        col_expr(&e1, sf);
        const char *x = buf_cstr(&e1);
        const char *vx = schema_nocase(sf) ? "lower($%d)" : "$%d";
        if (q->after_val.kind == SV_NULL) {
            if (q->ascending)
                buf_printf(&sql, " AND ((%s IS NULL AND rid > $%d) OR %s IS NOT NULL)", sf->name,
                           p_int(&p, q->after_rid), sf->name);
            else
                buf_printf(&sql, " AND %s IS NULL AND rid < $%d", sf->name,
                           p_int(&p, q->after_rid));
        } else {
            char v1[32];
            snprintf(v1, sizeof v1, vx, p_val(&p, &q->after_val));
            int ri = p_int(&p, q->after_rid);
            if (q->ascending)
                buf_printf(&sql, " AND (%1$s > %2$s OR (%1$s = %2$s AND rid > $%3$d))", x, v1, ri);
            else
                buf_printf(&sql,
                           " AND (%1$s < %2$s OR (%1$s = %2$s AND rid < $%3$d) OR %4$s IS NULL)", x,
                           v1, ri, sf->name);
        }
        buf_free(&e1);
    }
    for (int i = 0; i < q->nfilters; i++)
        filter_sql(r, &q->filters[i], &sql, &p);
    if (q->cf_key) {
        int k = p_text(&p, q->cf_key);
        buf_printf(&sql, " AND custom_fields ->> $%d = $%d", k, p_text(&p, q->cf_value));
    }
    if (q->link_field >= 0) {
        int v = p_text(&p, q->link_value);
        buf_printf(&sql, " AND (%s = $%d", r->fields[q->link_field].name, v);
        if (q->link_via)
            buf_printf(&sql, " OR id IN (SELECT %s FROM %s WHERE workspace_id = $1 AND %s = $%d)",
                       q->link_via->fields[q->link_via_target].name, q->link_via->table,
                       q->link_via->fields[q->link_via_match].name, v);
        buf_putc(&sql, ')');
    }
    int limit_param = p_int(&p, q->limit + 1);
    PGresult *res = NULL;
    int rc;
    if (driver >= 0) {
        /* The newest rows holding the longest word's prefix, walked back
         * through its postings. The other words' postings are probed
         * there, in the index alone; only rows that pass are read, and
         * the conditions above check each against the whole query (every
         * word, whole prefix). The two subqueries are fenced (OFFSET 0):
         * joined freely, the planner may read every posting and sort. */
        buf_reset(&tsq);
        select_list(r, &tsq);
        buf_printf(&tsq, "(SELECT doc_rid FROM %s_terms AS t0 WHERE t0.term = ", r->table);
        term_expr(&tsq, &p, a, &x, driver);
        if (cursor_param) buf_printf(&tsq, " AND t0.doc_rid < $%d", cursor_param);
        for (int i = 0; i < x.nwords; i++) {
            if (i == driver || x.chars[i] < TERM_SHORT) continue;
            buf_printf(&tsq, " AND EXISTS (SELECT 1 FROM %1$s_terms AS t%2$d WHERE t%2$d.term = ",
                       r->table, i + 1);
            term_expr(&tsq, &p, a, &x, i);
            buf_printf(&tsq, " AND t%d.doc_rid = t0.doc_rid)", i + 1);
        }
        buf_printf(&tsq,
                   " ORDER BY doc_rid DESC OFFSET 0) AS terms, LATERAL (SELECT * FROM %1$s "
                   "WHERE rid = terms.doc_rid OFFSET 0) AS %1$s",
                   r->table);
        buf_append(&tsq, sql.data, sql.len);
        buf_printf(&tsq, " ORDER BY doc_rid DESC LIMIT $%d", limit_param);
        rc = run(c, buf_cstr(&tsq), &p, &res, e);
    } else {
        /* A search by one-character words only has no postings: it walks
         * the newest rows, checking each, which is quick because such a
         * prefix matches many. A filter through a reference is planned
         * for its value (how many records match it decides the plan);
         * every other page keeps one generic plan. */
        bool by_value = false;
        for (int i = 0; i < q->nfilters; i++)
            by_value |= q->filters[i].op == SF_REL;
        buf_reset(&tsq);
        select_cols(r, &tsq);
        buf_append(&tsq, sql.data, sql.len);
        const char *dir = q->ascending ? "ASC" : "DESC";
        if (sf) {
            buf_puts(&tsq, " ORDER BY ");
            col_expr(&tsq, sf);
            buf_printf(&tsq, " %s NULLS %s, rid %s", dir, q->ascending ? "FIRST" : "LAST", dir);
        } else {
            buf_printf(&tsq, " ORDER BY rid %s", use_fts ? "DESC" : dir);
        }
        buf_printf(&tsq, " LIMIT $%d", limit_param);
        rc = by_value ? run_planned(c, buf_cstr(&tsq), &p, &res, e)
                      : run(c, buf_cstr(&tsq), &p, &res, e);
    }
    buf_free(&sql);
    buf_free(&tsq);
    if (rc) return rc;
    int total = PQntuples(res);
    int k = total > q->limit ? q->limit : total;
    res_row *out = arena_alloc(a, sizeof(res_row) * (size_t)(k ? k : 1));
    for (int i = 0; i < k; i++)
        read_row(a, r, res, i, &out[i]);
    PQclear(res);
    *rows = out;
    *n = k;
    *more = total > q->limit;
    return STORE_OK;
}

/* ------------------------------------------------- merges, aggregates */

static int pg_rec_repoint(pg_conn *c, const res_def *r, int field, const char *ws, const char *from,
                          const char *to, int type_field, const char *type_value, store_err *e)
{
    /* Parameters as schema.h numbers them, each statement given only those
     * it uses: PostgreSQL cannot type a parameter a statement never reads. */
    buf b;
    buf_init(&b, 1 << 14);
    int rc = STORE_OK;
    pg_params p = {0};
    p_text(&p, ws);
    p_text(&p, from);
    if (to) {
        p_text(&p, to);
        if (type_field >= 0) p_text(&p, type_value);
        schema_repoint_dupes(r, field, type_field, DIALECT_POSTGRES, &b);
        if (b.len) rc = run_done(c, buf_cstr(&b), &p, e);
    } else if (type_field >= 0) {
        p_text(&p, NULL); /* $3: read (as NULL) so that $4 can be sent */
        p_text(&p, type_value);
    }
    buf_reset(&b);
    schema_repoint(r, field, to != NULL, type_field, DIALECT_POSTGRES, &b);
    if (!to && type_field >= 0) buf_puts(&b, " AND $3::text IS NULL");
    if (rc == STORE_OK) rc = run_done(c, buf_cstr(&b), &p, e);
    buf_free(&b);
    return rc;
}

/* The kind of an aggregate key as SQLite returns it: integer columns as
 * SV_INT, the rest as text. */
static sv_kind agg_key_kind(const res_field *f)
{
    switch (f->type) {
    case FT_INT:
    case FT_MONEY:
    case FT_BOOL:
    case FT_DATETIME: return SV_INT;
    default: return SV_TEXT;
    }
}

static store_val agg_key(arena *a, const res_def *r, int field, PGresult *res, int row, int col)
{
    if (field < 0 || PQgetisnull(res, row, col)) return (store_val){.kind = SV_NULL};
    if (agg_key_kind(&r->fields[field]) == SV_INT)
        return (store_val){.kind = SV_INT, .i = get_int(res, row, col)};
    return (store_val){.kind = SV_TEXT, .s = get_text(a, res, row, col)};
}

static int pg_rec_aggregate(pg_conn *c, arena *a, const res_def *r, const char *ws,
                            const store_agg *q, store_agg_row **rows, int *n, store_err *e)
{
    *n = 0;
    *rows = NULL;
    if (q->nfilters + 1 > MAX_PARAMS) return store_fail(e, STORE_ERROR, "too many filters");
    buf sql;
    buf_init(&sql, 1 << 14);
    pg_params p = {0};
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
    buf_printf(&sql, " FROM %s WHERE workspace_id = $%d", r->table, p_text(&p, ws));
    for (int i = 0; i < q->nfilters; i++)
        filter_sql(r, &q->filters[i], &sql, &p);
    /* Ordered by the keys as SQLite's grouping returns them: NULLs first,
     * text byte-wise. */
    for (int g = 0, k = 0; g < 2; g++)
        if (q->group[g] >= 0)
            buf_printf(&sql, "%s %s", k++ ? "," : " GROUP BY", r->fields[q->group[g]].name);
    for (int g = 0, k = 0; g < 2; g++) {
        if (q->group[g] < 0) continue;
        const res_field *f = &r->fields[q->group[g]];
        bool text = agg_key_kind(f) == SV_TEXT && f->type != FT_NUMBER;
        buf_printf(&sql, "%s %s%s NULLS FIRST", k++ ? "," : " ORDER BY", f->name,
                   text ? " COLLATE \"C\"" : "");
    }
    PGresult *res;
    /* Ranges (closed in the last 90 days) and rare groups: planned for
     * the values at hand. */
    int rc = run_planned(c, buf_cstr(&sql), &p, &res, e);
    buf_free(&sql);
    if (rc) return rc;
    int k = PQntuples(res);
    store_agg_row *out = arena_alloc(a, sizeof(store_agg_row) * (size_t)(k ? k : 1));
    for (int i = 0; i < k; i++) {
        for (int g = 0; g < 2; g++)
            out[i].key[g] = agg_key(a, r, q->group[g], res, i, g);
        out[i].count = get_int(res, i, 2);
        /* sum() of a BIGINT is NUMERIC: its text is the integer */
        out[i].sum = get_int(res, i, 3);
    }
    PQclear(res);
    *rows = out;
    *n = k;
    return STORE_OK;
}

static int pg_rollup_add(pg_conn *c, const res_def *r, const char *ws, const store_val *keys,
                         int64_t dcount, int64_t dsum, store_err *e)
{
    pg_params p = {0};
    p_text(&p, ws);
    p_text(&p, r->name);
    for (int g = 0; g < 3; g++)
        p_text(&p, r->rollup.group[g] && keys[g].kind == SV_TEXT ? keys[g].s : "");
    p_int(&p, dcount);
    p_int(&p, dsum);
    return run_done(c,
                    "INSERT INTO rollups AS r (workspace_id, resource, k1, k2, k3, n, total) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (workspace_id, resource, k1, "
                    "k2, k3) DO UPDATE SET n = r.n + excluded.n, total = r.total + excluded.total",
                    &p, e);
}

static int pg_rollup_list(pg_conn *c, arena *a, const res_def *r, const char *ws,
                          const char *const *match, store_agg_row **rows, int *n, store_err *e)
{
    *n = 0;
    *rows = NULL;
    pg_params p = {0};
    p_text(&p, ws);
    p_text(&p, r->name);
    for (int g = 0; g < 3; g++)
        p_text(&p, match ? match[g] : NULL);
    PGresult *res;
    int rc = run(c,
                 "SELECT k1, k2, k3, n, total FROM rollups WHERE workspace_id = $1 AND "
                 "resource = $2 AND ($3::text IS NULL OR k1 = $3) AND ($4::text IS NULL OR "
                 "k2 = $4) AND ($5::text IS NULL OR k3 = $5) AND n <> 0 ORDER BY k1 COLLATE \"C\", "
                 "k2 COLLATE \"C\", k3 COLLATE \"C\"",
                 &p, &res, e);
    if (rc) return rc;
    int k = PQntuples(res);
    store_agg_row *out = arena_alloc(a, sizeof(store_agg_row) * (size_t)(k ? k : 1));
    for (int i = 0; i < k; i++) {
        for (int g = 0; g < 3; g++) {
            const char *v = PQgetvalue(res, i, g);
            out[i].key[g] = *v ? (store_val){.kind = SV_TEXT, .s = get_text(a, res, i, g)}
                               : (store_val){.kind = SV_NULL};
        }
        out[i].count = get_int(res, i, 3);
        out[i].sum = get_int(res, i, 4);
    }
    PQclear(res);
    *rows = out;
    *n = k;
    return STORE_OK;
}

static int pg_maintain(pg_conn *c, int budget, bool *more, store_err *e)
{
    (void)c, (void)budget, (void)e; /* postings and B-trees need no merging */
    *more = false;
    return STORE_OK;
}

/* Held until the transaction ends; the seed keeps these locks apart from
 * the idempotency keys' (pg_idem_get). */
static int pg_lock(pg_conn *c, const char *ws, const char *key, store_err *e)
{
    if (!c->in_tx) return STORE_OK; /* would be released at once */
    pg_params p = {0};
    p_text(&p, ws);
    p_text(&p, key);
    return run_done(c, "SELECT pg_advisory_xact_lock(hashtextextended($1 || ' ' || $2, 1))", &p, e);
}

static int pg_merged_put(pg_conn *c, const char *ws, const char *res_type, const char *id,
                         const char *into, const char *snapshot, store_err *e)
{
    pg_params p = {0};
    p_text(&p, ws);
    p_text(&p, res_type);
    p_text(&p, id);
    p_text(&p, into);
    p_text(&p, snapshot);
    p_int(&p, (int64_t)time_now_ms());
    return run_done(c,
                    "INSERT INTO merged_records (workspace_id, resource_type, id, into_id, "
                    "snapshot, merged_at) VALUES ($1, $2, $3, $4, $5, $6) "
                    "ON CONFLICT (workspace_id, resource_type, id) DO UPDATE SET "
                    "into_id = excluded.into_id, snapshot = excluded.snapshot, "
                    "merged_at = excluded.merged_at",
                    &p, e);
}

static int pg_merged_get(pg_conn *c, const char *ws, const char *res_type, const char *id,
                         char *into, store_err *e)
{
    pg_params p = {0};
    p_text(&p, ws);
    p_text(&p, res_type);
    p_text(&p, id);
    PGresult *res;
    int rc = run(c,
                 "SELECT into_id FROM merged_records WHERE workspace_id = $1 AND "
                 "resource_type = $2 AND id = $3",
                 &p, &res, e);
    if (rc) return rc;
    if (PQntuples(res) == 0)
        rc = store_fail(e, STORE_NOTFOUND, "not merged");
    else
        copy_col(into, ID_MAX, res, 0, 0);
    PQclear(res);
    return rc;
}

/* ---------------------------------------------------------------- events */

/* Appends one value to a PostgreSQL array literal: "..." with quotes and
 * backslashes escaped, or NULL. */
static void array_elem(buf *b, const char *v)
{
    buf_putc(b, b->len ? ',' : '{');
    if (!v) {
        buf_puts(b, "NULL");
        return;
    }
    buf_putc(b, '"');
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\') buf_putc(b, '\\');
        buf_putc(b, *p);
    }
    buf_putc(b, '"');
}

/* Forgets events from the n-th on. */
static void events_truncate(pg_conn *c, int n)
{
    for (int k = n; k < c->nev; k++)
        free(c->ev[k].mem);
    if (n < c->nev) c->nev = n;
    if (c->ev_flushed > c->nev) c->ev_flushed = c->nev;
}

static void events_reset(pg_conn *c)
{
    events_truncate(c, 0);
    c->ev_flushed = 0;
}

#define EV_INSERT                                                                                  \
    "INSERT INTO events (id, workspace_id, type, resource_type, resource_id, subject_id, data, "   \
    "changes, actor_key_id, created_at) "

/* Inserts the events not in the table yet with one statement: a round trip
 * per batch instead of one per write. They stay buffered (flushed) until
 * the transaction ends: rolling back to a savepoint that began before this
 * flush drops them from the table, also those of enclosing scopes, which
 * must then be inserted again (pg_rollback_to). */
static int events_flush(pg_conn *c, store_err *e)
{
    if (c->ev_flushed == c->nev) return STORE_OK;
    buf col[EV_COLS];
    pg_params p = {0};
    bool overflow = false;
    for (int i = 0; i < EV_COLS; i++) {
        buf_init(&col[i], 1u << 30);
        for (int k = c->ev_flushed; k < c->nev; k++)
            array_elem(&col[i], c->ev[k].v[i]);
        buf_putc(&col[i], '}');
        overflow |= col[i].overflow;
        p_text(&p, buf_cstr(&col[i]));
    }
    int rc = overflow ? store_fail(e, STORE_ERROR, "postgres: too many events in a transaction")
                      : run_done(c,
                                 EV_INSERT "SELECT * FROM unnest($1::text[], $2::text[], "
                                           "$3::text[], $4::text[], $5::text[], $6::text[], "
                                           "$7::text[], $8::text[], $9::text[], $10::bigint[])",
                                 &p, e);
    for (int i = 0; i < EV_COLS; i++)
        buf_free(&col[i]);
    if (rc == STORE_OK) c->ev_flushed = c->nev;
    return rc;
}

static int pg_event_append(pg_conn *c, const char *ws, const char *type, const char *res_type,
                           const char *res_id, const char *subject_id, const char *data_json,
                           const char *changes_json, const char *actor_key, store_err *e)
{
    char id[ID_MAX], ms[32];
    id_new(id, "evt");
    snprintf(ms, sizeof ms, "%" PRId64, (int64_t)time_now_ms());
    const char *v[EV_COLS] = {id,         ws,        type,         res_type,  res_id,
                              subject_id, data_json, changes_json, actor_key, ms};
    if (!c->in_tx) {
        pg_params p = {0};
        for (int i = 0; i < EV_COLS; i++)
            p_text(&p, v[i]);
        return run_done(c, EV_INSERT "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", &p, e);
    }
    if (c->nev == c->ev_cap) {
        c->ev_cap = c->ev_cap ? c->ev_cap * 2 : 64;
        c->ev = realloc(c->ev, sizeof(pg_event) * (size_t)c->ev_cap);
        if (!c->ev) abort();
    }
    size_t len[EV_COLS], total = 0;
    for (int i = 0; i < EV_COLS; i++)
        total += len[i] = v[i] ? strlen(v[i]) + 1 : 0;
    pg_event *ev = &c->ev[c->nev];
    ev->mem = malloc(total ? total : 1);
    if (!ev->mem) abort();
    char *m = ev->mem;
    for (int i = 0; i < EV_COLS; i++) {
        ev->v[i] = v[i] ? memcpy(m, v[i], len[i]) : NULL;
        m += len[i];
    }
    c->nev++;
    return STORE_OK;
}

static int pg_event_list(pg_conn *c, arena *a, const char *ws, const char *id, int64_t before_rid,
                         int limit, store_event **out, int *n, bool *more, store_err *e)
{
    *n = 0;
    *more = false;
    *out = NULL;
    /* The transaction's own events too, as SQLite (which writes them at
     * once) would list them. */
    int rc = c->in_tx ? events_flush(c, e) : STORE_OK;
    if (rc) return rc;
    pg_params p = {0};
    p_text(&p, ws);
    p_text(&p, id);
    p_int(&p, before_rid > 0 ? before_rid : INT64_MAX);
    p_int(&p, limit + 1);
    PGresult *res;
    rc = run(c,
             "SELECT rid, id, type, resource_type, resource_id, subject_id, data, changes, "
             "actor_key_id, created_at FROM events WHERE workspace_id = $1 AND "
             "(resource_id = $2 OR subject_id = $2) AND rid < $3 ORDER BY rid DESC LIMIT $4",
             &p, &res, e);
    if (rc) return rc;
    int total = PQntuples(res);
    int k = total > limit ? limit : total;
    store_event *ev = arena_alloc(a, sizeof(store_event) * (size_t)(k ? k : 1));
    for (int i = 0; i < k; i++) {
        store_event *v = &ev[i];
        v->rid = get_int(res, i, 0);
        copy_col(v->id, sizeof v->id, res, i, 1);
        v->type = get_text(a, res, i, 2);
        v->res_type = get_text(a, res, i, 3);
        v->res_id = get_text(a, res, i, 4);
        v->subject_id = get_text(a, res, i, 5);
        v->data = get_text(a, res, i, 6);
        v->changes = get_text(a, res, i, 7);
        v->actor = get_text(a, res, i, 8);
        v->created_ms = get_int(res, i, 9);
    }
    PQclear(res);
    *out = ev;
    *n = k;
    *more = total > limit;
    return STORE_OK;
}

static int pg_event_resubject(pg_conn *c, const char *ws, const char *from, const char *to,
                              store_err *e)
{
    /* The transaction's own events are re-subjected too (a merge's own
     * updates before it): they go to the table first. */
    int rc = c->in_tx ? events_flush(c, e) : STORE_OK;
    if (rc) return rc;
    pg_params p = {0};
    p_text(&p, ws);
    p_text(&p, from);
    p_text(&p, to);
    return run_done(c,
                    "UPDATE events SET subject_id = $3 WHERE workspace_id = $1 AND "
                    "(resource_id = $2 OR subject_id = $2)",
                    &p, e);
}

static int pg_event_count(pg_conn *c, const char *ws, int64_t *n, store_err *e)
{
    pg_params p = {0};
    p_text(&p, ws);
    PGresult *res;
    int rc = run(c, "SELECT count(*) FROM events WHERE workspace_id = $1", &p, &res, e);
    if (rc) return rc;
    *n = get_int(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

/* ----------------------------------------------------------- idempotency */

static int pg_idem_get(pg_conn *c, arena *a, const char *ws, const char *key, store_idem *out,
                       store_err *e)
{
    pg_params p = {0};
    p_text(&p, ws);
    p_text(&p, key);
    /* Inside a write transaction, hold the key until commit: a request
     * with the same key on another node waits here, then sees our record
     * and replays it instead of writing a second time. */
    if (c->in_tx) {
        int rc = run_done(c, "SELECT pg_advisory_xact_lock(hashtextextended($1 || ' ' || $2, 0))",
                          &p, e);
        if (rc) return rc;
    }
    PGresult *res;
    int rc = run(c,
                 "SELECT request_hash, status, body, created_at FROM idempotency_keys "
                 "WHERE workspace_id = $1 AND key = $2",
                 &p, &res, e);
    if (rc) return rc;
    if (PQntuples(res) == 0) {
        rc = store_fail(e, STORE_NOTFOUND, "no such key");
    } else {
        copy_col(out->req_hash, sizeof out->req_hash, res, 0, 0);
        out->status = (int)get_int(res, 0, 1);
        out->body = get_text(a, res, 0, 2);
        out->created_ms = get_int(res, 0, 3);
    }
    PQclear(res);
    return rc;
}

static int pg_idem_put(pg_conn *c, const char *ws, const char *key, const char *req_hash,
                       int status, const char *body, size_t body_len, store_err *e)
{
    arena a;
    arena_init(&a);
    pg_params p = {0};
    p_text(&p, ws);
    p_text(&p, key);
    p_text(&p, req_hash);
    p_int(&p, status);
    p_text(&p, arena_strndup(&a, body, body_len));
    p_int(&p, (int64_t)time_now_ms());
    int rc =
        run_done(c,
                 "INSERT INTO idempotency_keys (workspace_id, key, request_hash, status, body, "
                 "created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace_id, key) "
                 "DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status, "
                 "body = excluded.body, created_at = excluded.created_at",
                 &p, e);
    arena_release(&a);
    return rc;
}

static int pg_idem_expire(pg_conn *c, int64_t cutoff_ms, store_err *e)
{
    pg_params p = {0};
    p_int(&p, cutoff_ms);
    return run_done(c, "DELETE FROM idempotency_keys WHERE created_at < $1", &p, e);
}

/* ------------------------------------------------------------- the table */

#define BACKEND_CONN  pg_conn
#define BACKEND_FN(x) pg_##x
#define BACKEND_OPS   store_postgres_ops
#define BACKEND_NAME  "postgres"
#include "store/backend.inc"
