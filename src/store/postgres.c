/* postgres.c - the scale-out store: PostgreSQL through libpq; see store.h.
 *
 * Owns: one libpq connection per store_conn with its prepared statements,
 * reconnecting after the server went away, transactions and savepoints
 * (sent in one pipeline with the first statement inside them), batches of
 * reads in one pipeline (store_read_many), and of an update and its
 * rollup moves (store_write_many), reading rows, and what only PostgreSQL
 * has: the search postings, events and audit-log rows held in a
 * transaction and sent together at its commit, advisory locks, and the
 * server's secret in a row every node reads. Every statement of the generic store comes
 * from sql.c, in the dialect below.
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
 * computed on every write into `search_doc` (sql.c), kept as a tsvector
 * that checks a row against every query word, and posted by word prefix
 * into <table>_terms, whose primary key yields a prefix's newest rows
 * first (sync_terms). */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "store/impl.h"
#include "store/search.h"
#include "store/sql.h"

#define STMT_CACHE 256
#define STMT_PROBE 8

typedef struct pg_store {
    store base;
    char *url;
    store_opts opts;
    secret_memo secret; /* read from (or written to) server_secret once */
} pg_store;

typedef struct pg_stmt {
    char *sql;
    size_t len;
    uint64_t hash;
    unsigned id; /* statement name "c<id>" on this connection */
} pg_stmt;

#define SP_DEPTH 8 /* savepoints open at once */

/* A write held in the open transaction until its commit (or until a
 * statement must see it): an event, or a row of an append-only table (the
 * audit log, res_def.log). Its values (NULL = SQL NULL), and a row's
 * INSERT, all in one allocation. */
typedef struct pg_held {
    char *mem;
    const char *sql; /* a row's INSERT; NULL: an event (SQL_EVENT_COLS) */
    int n;           /* values in v */
    const char **v;
} pg_held;

/* Statements are prepared once per connection and run generic plans;
 * those whose best plan depends on the values run unnamed under custom
 * plans (sql_stmt.plan_per_call). Either needs the connection's
 * plan_cache_mode set its way; a SET is undone with the transaction or
 * savepoint it ran in, after which the mode is not known until set again. */
typedef enum { PLANS_GENERIC, PLANS_CUSTOM, PLANS_UNKNOWN } pg_plans;

#define SET_GENERIC "SET plan_cache_mode = force_generic_plan"
#define SET_CUSTOM  "SET plan_cache_mode = force_custom_plan"

typedef struct pg_conn {
    store_conn base;
    pg_store *s;
    PGconn *db;
    pg_stmt cache[STMT_CACHE];
    unsigned next_id;
    bool in_tx;
    /* BEGIN not sent yet: it goes in one pipeline with the transaction's
     * first statement (run_pipeline), so nothing of the transaction is on
     * the server and a dead connection may still be replaced. */
    bool begin_due;
    bool broken_tx;   /* the connection failed inside the current transaction */
    pg_plans plans;   /* the server's plan_cache_mode for this connection */
    bool plans_moved; /* a SET of it ran in the open transaction */
    /* Savepoints (all named "sp": PostgreSQL takes the most recent). None
     * costs a round trip of its own: a SAVEPOINT is sent in one pipeline
     * with the first statement inside it (a request that fails before
     * touching the database never sends it), a RELEASE with the next
     * statement (COMMIT releases them all). sp_depth are open here, the
     * first sp_sent of them on the server, which also still holds
     * release_due released ones above those. */
    int sp_depth, sp_sent, release_due;
    /* Events and append-only rows written in the open transaction, sent in
     * one round trip at commit (or earlier, when a statement must see them:
     * held_flush): the events in one statement, the rows in one pipeline.
     * The first held_flushed are in their tables already. For each open
     * savepoint: how many were held (sp_held) and how many were in their
     * tables (sp_flushed) when it began. */
    pg_held *held;
    int nheld, held_cap, held_flushed;
    int sp_held[SP_DEPTH], sp_flushed[SP_DEPTH];
    /* Inserts of rows that no unique key can refuse (pending), sent in one
     * pipeline with the next statement instead of a round trip each: a
     * journal entry and its lines go with the entry's rollup upsert. They
     * never outlive their savepoint: opening, releasing or committing one
     * sends them first, rolling back forgets them. */
    pg_held *pend;
    int npend, pend_cap;
    sql_stmt q; /* the statement being built (stmt()) */
} pg_conn;

static const sql_dialect pg_dialect;

static void held_reset(pg_conn *c);
static void held_truncate(pg_conn *c, int n);
static int held_flush(pg_conn *c, const char *then, store_err *e);
static void hold(pg_conn *c, const char *sql, const char *const *v, int n);
static void held_add(pg_held **list, int *len_, int *cap, const char *sql, const char *const *v,
                     int n);
static int see(pg_conn *c, const res_def *r, store_err *e);
static void pend_reset(pg_conn *c);
static int pend_send(pg_conn *c, store_err *e);
static int pend_flush(pg_conn *c, store_err *e);

/* Parameters of one statement, as text. */
typedef struct pg_params {
    const char *v[SQL_MAX_PARAMS];
    char num[SQL_MAX_PARAMS][32];
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
        /* A new session writes the relation cache file when DDL made the
         * last one stale; PostgreSQL then fails with no SQLSTATE of its own
         * when that write fails, most often because its disk is full. */
        bool init_file = strstr(msg, "could not write init file") != NULL;
        return store_fail(e, STORE_UNAVAILABLE, "postgres: %s%s",
                          init_file ? "its disk is probably full (no relation cache file): " : "",
                          msg);
    }
    PQsetNoticeProcessor(c->db, quiet, NULL);
    /* Statements are prepared once per connection; with the default plan
     * cache mode PostgreSQL planned most of them again on every execution
     * (half the database's CPU on list pages). Searches opt out. */
    PQclear(PQexec(c->db, "SET client_min_messages = warning; " SET_GENERIC));
    /* Rows past 2 kB (a CMS entry with its search document) have their
     * big values compressed on every write: lz4 does it in a fraction of
     * pglz's time. A server built without it refuses, and keeps pglz. */
    PQclear(PQexec(c->db, "SET default_toast_compression = lz4"));
    c->plans = PLANS_GENERIC;
    c->plans_moved = false;
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
    secret_memo_init(&s->secret);
    *out = &s->base;
    return STORE_OK;
}

static void pg_close(store *bs)
{
    pg_store *s = (pg_store *)bs;
    secret_memo_destroy(&s->secret);
    free(s->url);
    free(s);
}

static int pg_connect(store *bs, store_conn **out, store_err *e)
{
    pg_conn *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->base.ops = &store_postgres_ops;
    c->s = (pg_store *)bs;
    sql_init(&c->q, &pg_dialect);
    int rc = pg_link(c, e);
    if (rc) {
        sql_free(&c->q);
        free(c);
        return rc;
    }
    *out = &c->base;
    return STORE_OK;
}

static void pg_disconnect(pg_conn *c)
{
    held_reset(c);
    free(c->held);
    pend_reset(c);
    free(c->pend);
    if (c->db) PQfinish(c->db);
    forget_statements(c);
    sql_free(&c->q);
    free(c);
}

static bool conn_lost(pg_conn *c)
{
    return !c->db || PQstatus(c->db) != CONNECTION_OK;
}

int pg_state_status(const char *state)
{
    if (!state) return STORE_ERROR;
    if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 || strcmp(state, "57P03") == 0)
        return STORE_UNAVAILABLE;
    if (strcmp(state, "23505") == 0) return STORE_CONFLICT;
    if (strcmp(state, "22003") == 0) return STORE_RANGE; /* numeric_value_out_of_range */
    /* disk_full. The rest of class 53 (out of memory, too many
     * connections, configuration limits) is no lack of storage. */
    if (strcmp(state, "53100") == 0) return STORE_FULL;
    if (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0 || strcmp(state, "55P03") == 0 ||
        strcmp(state, "57014") == 0)
        return STORE_BUSY;
    return STORE_ERROR;
}

/* Maps a failed result to a store status. */
static int result_fail(pg_conn *c, PGresult *res, store_err *e)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c->db);
    char m[200];
    snprintf(m, sizeof m, "%s", msg && *msg ? msg : "no result");
    m[strcspn(m, "\n")] = '\0';
    int code = conn_lost(c) ? STORE_UNAVAILABLE : pg_state_status(state);
    return store_fail(e, code, "postgres: %s", m);
}

/* Before a statement: a connection found dead is re-established outside a
 * transaction; inside one the transaction is gone and the caller learns
 * so. */
static int relink(pg_conn *c, store_err *e)
{
    if (!conn_lost(c)) return STORE_OK;
    if (c->in_tx && !c->begin_due) {
        c->broken_tx = true;
        return store_fail(e, STORE_UNAVAILABLE, "postgres: connection lost in a transaction");
    }
    return pg_link(c, e);
}

/* One statement of a round trip (run_cmds). */
typedef struct pg_cmd {
    const char *sql;
    const pg_params *p;
    bool planned;  /* planned for its values on every call: sent unnamed */
    int slot;      /* its prepared statement in the cache; -1: sent unnamed */
    bool parse;    /* the slot is new: the statement is prepared in the same trip */
    bool plain;    /* sent as it is, after the others, whatever the plan mode (COMMIT) */
    PGresult *res; /* out, when every statement succeeded */
    bool failed;   /* out: the server refused this one */
} pg_cmd;

static void stmt_name(const pg_conn *c, int slot, char name[16])
{
    snprintf(name, 16, "c%u", c->cache[slot].id);
}

static bool slot_used(const pg_cmd *cmds, int n, int slot)
{
    for (int i = 0; i < n; i++)
        if (cmds[i].slot == slot) return true;
    return false;
}

/* The cache slot of sql's prepared statement on this connection, or one
 * taken for it (*parse: to be prepared), evicting a statement that none of
 * the n commands before it in this round trip uses; -1 when all of its
 * candidates are in use (it is then sent unnamed). */
static int slot_for(pg_conn *c, const char *sql, const pg_cmd *cmds, int n, bool *parse)
{
    size_t len = strlen(sql);
    uint64_t h = hash_bytes(sql, len);
    int free_slot = -1, victim = -1;
    *parse = false;
    for (int i = 0; i < STMT_PROBE; i++) {
        int k = (int)((h + (uint64_t)i) % STMT_CACHE);
        pg_stmt *s = &c->cache[k];
        if (s->sql && s->hash == h && s->len == len && memcmp(s->sql, sql, len) == 0) return k;
        if (!s->sql && free_slot < 0) free_slot = k;
        if (s->sql && victim < 0 && !slot_used(cmds, n, k)) victim = k;
    }
    int k = free_slot >= 0 ? free_slot : victim;
    if (k < 0) return -1;
    pg_stmt *s = &c->cache[k];
    if (s->sql) {
        char dealloc[48], name[16];
        stmt_name(c, k, name);
        snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", name);
        PQclear(PQexec(c->db, dealloc));
        free(s->sql);
    }
    s->sql = strdup(sql);
    s->len = len;
    s->hash = h;
    s->id = c->next_id++;
    *parse = true;
    return k;
}

static void forget_slot(pg_conn *c, int slot)
{
    free(c->cache[slot].sql);
    c->cache[slot].sql = NULL;
}

/* A statement alone, prepared already and in the plan mode it wants:
 * one message and its answer. */
static int run_alone(pg_conn *c, pg_cmd *m, store_err *e)
{
    int np = m->p ? m->p->n : 0;
    const char *const *pv = m->p ? m->p->v : NULL;
    PGresult *res;
    if (m->slot >= 0) {
        char name[16];
        stmt_name(c, m->slot, name);
        res = PQexecPrepared(c->db, name, np, pv, NULL, NULL, 0);
    } else {
        res = PQexecParams(c->db, m->sql, np, NULL, pv, NULL, NULL, 0);
    }
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        m->res = res;
        return STORE_OK;
    }
    m->failed = true;
    int rc = result_fail(c, res, e);
    PQclear(res);
    return rc;
}

/* What a pipeline sent, in order: statement `cmd` (parse: its
 * preparation), or a savepoint owed (SENT_OWED), a plan mode change
 * (SENT_MODE) or the transaction's BEGIN (SENT_BEGIN); with the result
 * that came back for it. */
#define SENT_OWED  (-1)
#define SENT_MODE  (-2)
#define SENT_BEGIN (-3)

typedef struct pg_sent {
    int cmd;
    bool parse;
    PGresult *res;
} pg_sent;

static bool send_plain(pg_conn *c, const char *sql)
{
    return PQsendQueryParams(c->db, sql, 0, NULL, NULL, NULL, NULL, 0);
}

/* Sends in one libpq pipeline, so in one round trip: the transaction's
 * BEGIN when due, what the server owes of the savepoint stack (releases,
 * then one SAVEPOINT per level opened since), then the statements, each
 * prepared first when its slot is new: the named ones under generic plans
 * and those planned per call under custom plans, each group's mode set
 * before it when the connection is not in it; the plain ones last, in
 * order. Results come command by command, each closed by a NULL, then the
 * sync; a failed command turns the rest into PIPELINE_ABORTED. */
static int run_pipeline(pg_conn *c, pg_cmd *cmds, int n, store_err *e)
{
    int owed = c->begin_due + c->release_due + (c->sp_depth - c->sp_sent);
    pg_sent *sent = calloc((size_t)(owed + 2 * n + 2), sizeof *sent);
    if (!sent) abort();
    int k = 0;
    pg_plans mode = c->plans;
    bool set_mode = false;
    bool ok = PQenterPipelineMode(c->db);
    if (ok && c->begin_due) {
        ok = send_plain(c, "BEGIN");
        sent[k++].cmd = SENT_BEGIN;
    }
    for (int i = 0; ok && i < c->release_due; i++) {
        ok = send_plain(c, "RELEASE SAVEPOINT sp");
        sent[k++].cmd = SENT_OWED;
    }
    for (int i = c->sp_sent; ok && i < c->sp_depth; i++) {
        ok = send_plain(c, "SAVEPOINT sp");
        sent[k++].cmd = SENT_OWED;
    }
    /* Those the connection's mode suits first: one SET at most. */
    int first = c->plans == PLANS_CUSTOM;
    for (int pass = 0; pass < 2; pass++) {
        int planned = first ^ pass;
        pg_plans want = planned ? PLANS_CUSTOM : PLANS_GENERIC;
        for (int i = 0; ok && i < n; i++) {
            pg_cmd *m = &cmds[i];
            if (m->planned != planned || m->plain) continue;
            if (mode != want) {
                ok = send_plain(c, planned ? SET_CUSTOM : SET_GENERIC);
                sent[k++].cmd = SENT_MODE;
                mode = want;
                set_mode = true;
            }
            int np = m->p ? m->p->n : 0;
            const char *const *pv = m->p ? m->p->v : NULL;
            if (m->slot >= 0) {
                char name[16];
                stmt_name(c, m->slot, name);
                if (m->parse) {
                    ok = ok && PQsendPrepare(c->db, name, m->sql, 0, NULL);
                    sent[k++] = (pg_sent){.cmd = i, .parse = true};
                }
                ok = ok && PQsendQueryPrepared(c->db, name, np, pv, NULL, NULL, 0);
            } else {
                ok = ok && PQsendQueryParams(c->db, m->sql, np, NULL, pv, NULL, NULL, 0);
            }
            sent[k++] = (pg_sent){.cmd = i};
        }
    }
    for (int i = 0; ok && i < n; i++) {
        if (!cmds[i].plain) continue;
        ok = send_plain(c, cmds[i].sql);
        sent[k++] = (pg_sent){.cmd = i};
    }
    ok = ok && PQpipelineSync(c->db);
    int got = 0;
    while (ok && got < k) {
        PGresult *r = PQgetResult(c->db);
        if (!r) break; /* the connection failed */
        sent[got++].res = r;
        while ((r = PQgetResult(c->db)) != NULL) /* up to the NULL closing the command */
            PQclear(r);
    }
    bool synced = false;
    if (ok && got == k) {
        PGresult *r = PQgetResult(c->db);
        synced = r && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        PQclear(r);
    }

    int rc = STORE_OK;
    bool owed_done = got >= owed;
    for (int i = 0; i < got; i++) {
        ExecStatusType st = PQresultStatus(sent[i].res);
        bool good = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
        if (sent[i].cmd == SENT_OWED || sent[i].cmd == SENT_BEGIN) owed_done = owed_done && good;
        if (sent[i].cmd == SENT_BEGIN && good) c->begin_due = false;
        if (sent[i].parse && good) cmds[sent[i].cmd].parse = false; /* prepared */
        if (!good && rc == STORE_OK) {
            rc = result_fail(c, sent[i].res, e);
            if (sent[i].cmd >= 0) cmds[sent[i].cmd].failed = true;
        }
    }
    /* A prepared statement outlives a failed transaction; one that was
     * not prepared leaves the cache. */
    for (int i = 0; i < n; i++)
        if (cmds[i].parse) forget_slot(c, cmds[i].slot);
    if (rc == STORE_OK && !synced) rc = result_fail(c, NULL, e);
    if (owed_done) {
        c->release_due = 0;
        c->sp_sent = c->sp_depth;
    } else if (c->in_tx && !c->begin_due) {
        c->broken_tx = true; /* the savepoint stack is not what we think */
    }
    /* A SET is undone with a transaction that fails, also the implicit one
     * a pipeline runs in outside a transaction. */
    if (set_mode) c->plans = rc == STORE_OK ? mode : PLANS_UNKNOWN;
    if (set_mode && c->in_tx) c->plans_moved = true;
    for (int i = 0; i < k; i++) {
        if (rc == STORE_OK && sent[i].cmd >= 0 && !sent[i].parse)
            cmds[sent[i].cmd].res = sent[i].res;
        else
            PQclear(sent[i].res);
    }
    free(sent);
    /* Results left unread keep libpq in pipeline mode: the connection's
     * state is unknown, so it goes (run_cmds or the next call relinks, or
     * the transaction learns it was lost). */
    if (!PQexitPipelineMode(c->db)) {
        if (rc == STORE_OK) store_fail(e, 0, "postgres: a pipeline was left unfinished");
        rc = STORE_UNAVAILABLE;
        if (c->in_tx && !c->begin_due) c->broken_tx = true;
        PQfinish(c->db);
        c->db = NULL;
    }
    return rc;
}

/* Runs cmds in one round trip: alone as they stand when that is one
 * statement already prepared and in its plan mode with no savepoint owed,
 * otherwise in a pipeline. On success each cmd's res holds its result
 * (the caller PQclear()s it). A connection lost outside a transaction is
 * re-established and the statements retried once; inside one, the
 * transaction is gone and the caller learns so. */
static int run_cmds_now(pg_conn *c, pg_cmd *cmds, int n, store_err *e)
{
    int rc = STORE_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((rc = relink(c, e))) return rc;
        for (int i = 0; i < n; i++) {
            cmds[i].res = NULL;
            cmds[i].parse = false;
            cmds[i].failed = false;
            cmds[i].slot = cmds[i].planned || cmds[i].plain
                               ? -1
                               : slot_for(c, cmds[i].sql, cmds, i, &cmds[i].parse);
        }
        bool owed = c->begin_due || c->release_due || c->sp_sent < c->sp_depth;
        pg_plans want = cmds[0].planned ? PLANS_CUSTOM : PLANS_GENERIC;
        if (n == 1 && !owed && !cmds[0].parse && c->plans == want)
            rc = run_alone(c, &cmds[0], e);
        else
            rc = run_pipeline(c, cmds, n, e);
        if (rc != STORE_UNAVAILABLE) return rc;
        if (c->in_tx && !c->begin_due) {
            c->broken_tx = true;
            return rc;
        }
    }
    return rc;
}

/* The pending inserts as commands, into cmds (and their parameters into
 * p), in the order they were made. */
static void pend_cmds(const pg_conn *c, pg_cmd *cmds, pg_params *p)
{
    for (int k = 0; k < c->npend; k++) {
        const pg_held *h = &c->pend[k];
        memcpy(p[k].v, h->v, sizeof(char *) * (size_t)h->n);
        p[k].n = h->n;
        cmds[k] = (pg_cmd){.sql = h->sql, .p = &p[k]};
    }
}

/* run_cmds_now with the pending inserts sent first, in the same pipeline.
 * They never outlive their savepoint, so they are the caller's own, and
 * one that fails (only a full disk or a broken connection or server
 * refuses one) fails its statement as if it were one of cmds. A statement
 * planned for its values goes apart, after them: a pipeline sends those
 * of the connection's plan mode first. */
static int run_cmds(pg_conn *c, pg_cmd *cmds, int n, store_err *e)
{
    if (!c->npend) return run_cmds_now(c, cmds, n, e);
    bool planned = false;
    for (int i = 0; i < n; i++)
        planned |= cmds[i].planned;
    if (planned) {
        int rc = pend_send(c, e);
        return rc ? rc : run_cmds_now(c, cmds, n, e);
    }
    int np = c->npend, total = np + n;
    pg_cmd *all = calloc((size_t)total, sizeof *all);
    pg_params *p = calloc((size_t)np, sizeof *p);
    if (!all || !p) abort();
    pend_cmds(c, all, p);
    memcpy(all + np, cmds, sizeof *cmds * (size_t)n);
    int rc = run_cmds_now(c, all, total, e);
    for (int k = 0; k < np; k++)
        PQclear(all[k].res);
    memcpy(cmds, all + np, sizeof *cmds * (size_t)n);
    pend_reset(c);
    free(all);
    free(p);
    return rc;
}

/* Sends the pending inserts, alone; a failure is the caller's. */
static int pend_send(pg_conn *c, store_err *e)
{
    pg_cmd none; /* no statement of the caller's */
    return c->npend ? run_cmds(c, &none, 0, e) : STORE_OK;
}

/* pend_send where the caller may not undo what failed (a release, a new
 * savepoint, a commit): the transaction is lost, so its commit fails. */
static int pend_flush(pg_conn *c, store_err *e)
{
    int rc = pend_send(c, e);
    if (rc && c->in_tx) c->broken_tx = true;
    return rc;
}

static int pg_flush(pg_conn *c, store_err *e)
{
    return pend_send(c, e);
}

/* Runs sql (a prepared statement, cached per connection) with p. On
 * success *out holds the result (caller PQclear()s it). */
static int run(pg_conn *c, const char *sql, const pg_params *p, PGresult **out, store_err *e)
{
    pg_cmd m = {.sql = sql, .p = p};
    int rc = run_cmds(c, &m, 1, e);
    *out = m.res;
    return rc;
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
    int rc = pend_flush(c, e);
    if (rc) return rc;
    rc = STORE_UNAVAILABLE;
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((rc = relink(c, e))) return rc;
        if (c->begin_due) {
            PGresult *res = PQexec(c->db, "BEGIN");
            rc = PQresultStatus(res) == PGRES_COMMAND_OK ? STORE_OK : result_fail(c, res, e);
            PQclear(res);
            if (rc == STORE_OK) c->begin_due = false;
            if (rc == STORE_UNAVAILABLE) continue;
            if (rc) break;
        }
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

/* A count or sum into *out; false when it leaves 64 bits (sum() of a
 * BIGINT is NUMERIC, which has room for any). */
static bool get_int64(PGresult *r, int row, int col, int64_t *out)
{
    if (PQgetisnull(r, row, col)) {
        *out = 0;
        return true;
    }
    const char *t = PQgetvalue(r, row, col);
    char *end;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    *out = v;
    return errno == 0 && end != t && *end == '\0';
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

/* ------------------------------------------------------------ statements */

static void pg_custom_eq(sql_stmt *q, buf *b, const char *alias, const char *key,
                         const char *value);
static bool pg_search(sql_stmt *q, const res_def *r, const char *ws, const store_query *query);

/* A row's tsvector, of its search document. */
#define TSV_OPEN  "to_tsvector('simple'::regconfig, coalesce("
#define TSV_CLOSE ", ''))"
#define TSV(doc)  TSV_OPEN doc TSV_CLOSE

/* PostgreSQL's words for sql.c. B-trees put NULLs last going up, so lists
 * say where NULLs go and sortable fields get an index in that order; text
 * folds with lower(), indexed the same way; row order of group keys is
 * byte-wise only with the "C" collation; a transaction-scoped advisory
 * lock serialises writers of one key across nodes. */
static const sql_dialect pg_dialect = {
    .name = "postgres",
    .param = '$',
    .int64 = "BIGINT",
    .real = "DOUBLE PRECISION",
    .bytewise_text = "TEXT COLLATE \"C\"",
    .json = "JSONB",
    .rowid = "BIGSERIAL PRIMARY KEY",
    .without_rowid = "",
    .index_rid = ", rid",
    .add_column = "ADD COLUMN IF NOT EXISTS",
    .fold = {"lower(", ")"},
    .fold_col = {"lower(", ")"},
    .fold_val = {"lower(", ")"},
    .nulls_low = {" NULLS FIRST", " NULLS LAST"},
    .bytewise = " COLLATE \"C\"",
    .returning_rid = true,
    .search_doc = "search_doc",
    .search_vector = {"search_tsv", TSV_OPEN, TSV_CLOSE},
    .lock = "SELECT pg_advisory_xact_lock(hashtextextended(%1$s || ' ' || %2$s, %3$d))",
    /* Nodes starting together: one migrates, the others wait and find
     * nothing left to do. Neither side has a statement timeout: filling a
     * big table's search postings takes minutes, and so does the wait. */
    .migrate_lock = "SET LOCAL statement_timeout = 0;"
                    "SELECT pg_advisory_xact_lock(7244106917133461332);",
    .instr = "strpos",
    .custom_eq = pg_custom_eq,
    .search = pg_search,
};

/* The connection's statement builder, emptied for the next statement:
 * one per connection, so that building reuses its memory. */
static sql_stmt *stmt(pg_conn *c)
{
    sql_reset(&c->q);
    return &c->q;
}

/* The parameters of a built statement, as text. */
static void params_of(const sql_stmt *q, pg_params *p)
{
    p->n = 0;
    for (int i = 0; i < q->nparam; i++)
        p_val(p, &q->param[i]);
}

/* Runs the built statement (prepared, or planned for its values when its
 * plan depends on them); on success *out holds the result. */
static int run_q(pg_conn *c, PGresult **out, store_err *e)
{
    sql_stmt *q = &c->q;
    *out = NULL;
    if (sql_failed(q)) return store_fail(e, STORE_ERROR, "postgres: statement too large");
    pg_params p;
    params_of(q, &p);
    pg_cmd m = {.sql = sql_text(q), .p = &p, .planned = q->plan_per_call};
    int rc = run_cmds(c, &m, 1, e);
    *out = m.res;
    return rc;
}

/* run_q for statements whose result only matters as success. */
static int run_q_done(pg_conn *c, store_err *e)
{
    PGresult *res;
    int rc = run_q(c, &res, e);
    PQclear(res);
    return rc;
}

/* How many rows a statement returned or changed. */
static int64_t affected(PGresult *res)
{
    return PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res)
                                                  : strtoll(PQcmdTuples(res), NULL, 10);
}
/* ---------------------------------------------------------------- schema */

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
    sql_search_def_get(stmt(c), name);
    PGresult *res;
    int rc = run_q(c, &res, e);
    *same = rc == STORE_OK && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), def) == 0;
    PQclear(res);
    return rc;
}

static int search_def_record(pg_conn *c, const char *name, const char *def, store_err *e)
{
    sql_search_def_put(stmt(c), name, def);
    return run_q_done(c, e);
}

/* Search postings. A GIN index over the tsvector answers which rows hold
 * a word, but in no order: a common word's every match was read to keep
 * the newest page (263 searches/s on 1M contacts), and its upkeep on
 * every insert cost more than these postings do. <table>_terms holds
 * (term_hash, doc_rid) for the TERM_SHORT- and TERM_LONG-character
 * prefixes of each tagged word, so the newest rows holding a prefix are a
 * backward walk of its primary key, which stops after a page. The terms
 * are cut from the row's tsvector, whose lexemes are its words already
 * split and lowercased the way the query side's lower() does. Triggers
 * keep them in step however a row changes.
 *
 * A query looks up prefixes of exactly TERM_SHORT or TERM_LONG characters
 * (term_expr), so a word is posted only at the lengths it reaches: a
 * shorter word's whole was a tenth of the postings and never looked up.
 * Terms are stored as their 64-bit hashes (hashtextextended, stable as
 * hash partitioning needs it): a B-tree of integers costs a third less
 * per insert than one of text, and a collision only adds a row that the
 * tsvector check then drops. An entry of CMS content posts about 90. */
#define TERM_SHORT 2
#define TERM_LONG  4

/* The terms of the tsvector `tsv` as a query: SELECT DISTINCT term. The
 * one definition the triggers and the filling share. */
static void terms_query(buf *b, const char *tsv)
{
    /* A marked word's mark (search.h) comes on top of the prefix. */
    buf_printf(b,
               "SELECT DISTINCT hashtextextended(left(l, k.n + m.x), 0) "
               "FROM unnest(tsvector_to_array(%1$s)) AS l, "
               "LATERAL (SELECT (substr(l, %2$d, 1) = '%3$s')::int AS x) AS m, "
               "(VALUES (%4$d), (%5$d)) AS k(n) WHERE length(l) >= k.n + m.x",
               tsv, SEARCH_TAG_LEN + 1, SEARCH_MARK, SEARCH_TAG_LEN + TERM_SHORT,
               SEARCH_TAG_LEN + TERM_LONG);
}

/* The postings' table, trigger function and triggers are recorded with
 * their DDL: unchanged, nothing is sent (replacing triggers would lock the
 * table on every start of every node); changed or new, they are made again
 * and the postings filled from the rows. A row without searchable text (a
 * journal entry without memo or reference, most of them) has no postings,
 * so its insert and delete triggers do not fire: calling the function to
 * post nothing was 5% to 10% of PostgreSQL's CPU per posted entry. */
static int sync_terms(pg_conn *c, const res_def *r, store_err *e)
{
    buf ddl;
    buf_init(&ddl, 1 << 14);
    buf_printf(&ddl,
               "CREATE TABLE IF NOT EXISTS %1$s_terms (term_hash BIGINT NOT NULL, doc_rid BIGINT "
               "NOT NULL, PRIMARY KEY (term_hash, doc_rid));"
               "CREATE OR REPLACE FUNCTION %1$s_terms_sync() RETURNS trigger LANGUAGE plpgsql "
               "AS $f$ BEGIN IF TG_OP <> 'INSERT' THEN "
               "DELETE FROM %1$s_terms WHERE doc_rid = OLD.rid AND term_hash IN (",
               r->table);
    terms_query(&ddl, "OLD.search_tsv");
    buf_printf(&ddl,
               "); END IF; IF TG_OP <> 'DELETE' THEN "
               "INSERT INTO %1$s_terms (term_hash, doc_rid) SELECT t, NEW.rid FROM (",
               r->table);
    terms_query(&ddl, "NEW.search_tsv");
    buf_printf(&ddl,
               ") AS x(t); END IF; RETURN NULL; END $f$;"
               "DROP TRIGGER IF EXISTS %1$s_terms_i ON %1$s;"
               "DROP TRIGGER IF EXISTS %1$s_terms_u ON %1$s;"
               "DROP TRIGGER IF EXISTS %1$s_terms_d ON %1$s;"
               "CREATE TRIGGER %1$s_terms_i AFTER INSERT ON %1$s FOR EACH ROW "
               "WHEN (NEW.search_doc <> '') EXECUTE FUNCTION %1$s_terms_sync();"
               "CREATE TRIGGER %1$s_terms_u AFTER UPDATE OF search_doc ON %1$s FOR EACH ROW "
               "WHEN (OLD.search_doc IS DISTINCT FROM NEW.search_doc) "
               "EXECUTE FUNCTION %1$s_terms_sync();"
               "CREATE TRIGGER %1$s_terms_d AFTER DELETE ON %1$s FOR EACH ROW "
               "WHEN (OLD.search_doc <> '') EXECUTE FUNCTION %1$s_terms_sync();",
               r->table);
    char name[160];
    snprintf(name, sizeof name, "%s_terms", r->table);
    bool same;
    int rc = search_def_same(c, name, buf_cstr(&ddl), &same, e);
    if (rc == STORE_OK && !same) {
        buf b;
        buf_init(&b, 1 << 14);
        /* Made again: the columns may have changed too. */
        buf_printf(&b, "DROP TABLE IF EXISTS %s_terms;", r->table);
        buf_append(&b, ddl.data, ddl.len);
        buf_printf(&b,
                   "INSERT INTO %1$s_terms (term_hash, doc_rid) SELECT x.t, %1$s.rid FROM %1$s, "
                   "LATERAL (",
                   r->table);
        terms_query(&b, "search_tsv");
        /* Planned from what they hold now, not from before the refill. */
        buf_printf(&b, ") AS x(t); ANALYZE %s_terms;", r->table);
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
            static const char set[] = "search_doc = $1, search_tsv = " TSV("$1");
            snprintf(upd, sizeof upd,
                     "UPDATE %s SET %s WHERE rid = $2 AND search_doc IS DISTINCT FROM $1", r->table,
                     set);
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

/* Makes search_tsv a plain column that writes of search_doc fill
 * (pg_dialect.search_vector): added and filled where missing, and no
 * longer generated where earlier versions made it so (which keeps its
 * values and rewrites nothing). */
static int sync_vector(pg_conn *c, const res_def *r, store_err *e)
{
    pg_params p = {0};
    p_text(&p, r->table);
    PGresult *res;
    int rc = run(c,
                 "SELECT is_generated FROM information_schema.columns WHERE table_schema = "
                 "current_schema() AND table_name = $1 AND column_name = 'search_tsv'",
                 &p, &res, e);
    if (rc) return rc;
    bool missing = PQntuples(res) == 0;
    bool generated = !missing && strcmp(PQgetvalue(res, 0, 0), "NEVER") != 0;
    PQclear(res);
    char sql[512];
    if (missing)
        snprintf(sql, sizeof sql,
                 "ALTER TABLE %1$s ADD COLUMN search_tsv tsvector;"
                 "UPDATE %1$s SET search_tsv = " TSV("search_doc") ";",
                 r->table);
    else if (generated)
        snprintf(sql, sizeof sql,
                 "ALTER TABLE %1$s ALTER COLUMN search_tsv DROP EXPRESSION;"
                 "DROP INDEX IF EXISTS %1$s_search;",
                 r->table);
    else
        return STORE_OK;
    return exec_sql(c, sql, e);
}

static int sync_resource(pg_conn *c, const res_def *r, store_err *e)
{
    buf b;
    buf_init(&b, 1 << 20);
    sql_create_table(&pg_dialect, r, &b);
    for (int i = 0; i < r->nfields; i++)
        sql_add_column(&pg_dialect, r, &r->fields[i], &b);
    sql_create_indexes(&pg_dialect, r, &b);
    int rc = exec_sql(c, buf_cstr(&b), e);
    if (rc == STORE_OK && res_has_search(r)) {
        buf_reset(&b);
        rc = sync_vector(c, r, e);
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
    /* Asked first: a failed statement would end the migration's transaction. */
    int rc = run(c, "SELECT to_regclass('schema_migrations') IS NOT NULL", NULL, &res, e);
    if (rc) return rc;
    bool exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists) return STORE_OK;
    sql_schema_version(stmt(c));
    rc = run_q(c, &res, e);
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
    sql_rollup_clear(stmt(c), r);
    int rc = run_q_done(c, e);
    if (rc == STORE_OK && sql_rollup_fill(stmt(c), r)) rc = run_q_done(c, e);
    return rc;
}

/* Recounts a rollup whose declaration differs from the one recorded. */
static int sync_rollup(pg_conn *c, const res_def *r, store_err *e)
{
    buf spec;
    buf_init(&spec, 4096);
    sql_rollup_spec(r, &spec);
    sql_rollup_def_get(stmt(c), r);
    PGresult *res = NULL;
    int rc = run_q(c, &res, e);
    bool same =
        rc == STORE_OK &&
        (PQntuples(res) == 1 ? strcmp(PQgetvalue(res, 0, 0), buf_cstr(&spec)) == 0 : spec.len == 0);
    PQclear(res);
    if (rc == STORE_OK && !same) rc = pg_rollup_rebuild(c, r, e);
    if (rc == STORE_OK && !same) {
        sql_rollup_def_put(stmt(c), r, buf_cstr(&spec));
        rc = run_q_done(c, e);
    }
    buf_free(&spec);
    return rc;
}

static int pg_migrate(pg_conn *c, int *applied, store_err *e)
{
    *applied = 0;
    int rc = pg_begin(c, true, e);
    if (rc) return rc;
    buf b;
    buf_init(&b, 1 << 20);
    sql_migrations_table(&pg_dialect, &b); /* with the dialect's migration lock */
    rc = exec_sql(c, buf_cstr(&b), e);
    int version = 0;
    if (rc == STORE_OK) rc = pg_schema_version(c, &version, e);
    for (int v = version + 1; rc == STORE_OK && v <= sql_migration_count(); v++) {
        buf_reset(&b);
        sql_migration(&pg_dialect, v, &b);
        rc = exec_sql(c, buf_cstr(&b), e);
        if (rc) break;
        sql_migration_done(stmt(c), v, (int64_t)time_now_ms());
        rc = run_q_done(c, e);
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

/* Forgets the transaction's savepoints and held writes. */
static void tx_reset(pg_conn *c)
{
    c->begin_due = false;
    c->sp_depth = c->sp_sent = c->release_due = 0;
    c->plans_moved = false;
    held_reset(c);
    pend_reset(c);
}

/* Sends nothing: BEGIN goes with the transaction's first statement. */
static int pg_begin(pg_conn *c, bool write, store_err *e)
{
    (void)write; /* row locks and the idempotency lock do what SQLite's write lock does */
    (void)e;
    tx_reset(c);
    c->in_tx = true;
    c->begin_due = true;
    c->broken_tx = false;
    return STORE_OK;
}

/* The held writes and the COMMIT go in one round trip; a transaction that
 * sent nothing has nothing to commit. */
static int pg_commit(pg_conn *c, store_err *e)
{
    if (c->broken_tx) {
        pg_rollback(c);
        return store_fail(e, STORE_UNAVAILABLE, "postgres: the transaction was lost");
    }
    int rc = STORE_OK;
    if (c->held_flushed < c->nheld) {
        rc = held_flush(c, "COMMIT", e); /* the pending inserts go first */
    } else if ((rc = pend_flush(c, e)) == STORE_OK && !c->begin_due) {
        c->sp_depth = c->sp_sent = c->release_due = 0; /* COMMIT releases every savepoint */
        rc = exec_sql(c, "COMMIT", e);
    }
    c->in_tx = false;
    tx_reset(c);
    if (rc) pg_rollback(c);
    return rc;
}

static void pg_rollback(pg_conn *c)
{
    if (!conn_lost(c) && PQtransactionStatus(c->db) != PQTRANS_IDLE)
        PQclear(PQexec(c->db, "ROLLBACK"));
    if (c->plans_moved) c->plans = PLANS_UNKNOWN;
    c->in_tx = false;
    c->broken_tx = false;
    tx_reset(c);
}

/* The writer wraps every request of a batch in a savepoint, and a batch
 * request each of its items in one more. Opening one only marks where its
 * held writes begin; run() sends it. */
static int pg_savepoint(pg_conn *c, store_err *e)
{
    if (c->sp_depth == SP_DEPTH)
        return store_fail(e, STORE_ERROR, "postgres: more than %d nested savepoints", SP_DEPTH);
    int rc = pend_flush(c, e);
    if (rc) return rc;
    c->sp_held[c->sp_depth] = c->nheld;
    c->sp_flushed[c->sp_depth] = c->held_flushed;
    c->sp_depth++;
    return STORE_OK;
}

static int pg_release(pg_conn *c, store_err *e)
{
    if (c->sp_depth == 0) return store_fail(e, STORE_ERROR, "postgres: no savepoint to release");
    int rc = pend_flush(c, e);
    if (rc) return rc;
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
    pend_reset(c); /* all made inside it: opening it sent those before */
    c->sp_depth--;
    if (c->sp_sent > c->sp_depth) {
        char sql[(SP_DEPTH + 1) * 48] = "";
        for (int i = 0; i <= c->release_due; i++)
            strcat(sql, "ROLLBACK TO SAVEPOINT sp; RELEASE SAVEPOINT sp;");
        if (!conn_lost(c)) PQclear(PQexec(c->db, sql));
        c->release_due = 0;
        c->sp_sent--;
        if (c->plans_moved) c->plans = PLANS_UNKNOWN;
    }
    /* The server dropped what was inserted since the savepoint began, also
     * held writes of enclosing scopes flushed inside it: those go back to
     * the unflushed part. */
    held_truncate(c, c->sp_held[c->sp_depth]);
    c->held_flushed = c->sp_flushed[c->sp_depth];
}

/* A commit here is durable when the server answers it. */
static int pg_sync_defer(pg_conn *c, bool on, store_err *e)
{
    (void)c, (void)on, (void)e;
    return STORE_OK;
}

/* The server's buffers are shared: nothing to tune per connection. */
static void pg_small_reads(pg_conn *c)
{
    (void)c;
}

static int pg_sync(pg_conn *c, store_err *e)
{
    (void)c, (void)e;
    return STORE_OK;
}

/* A row in a table of its own makes the table's file grow by a page on
 * the database's disk, and the commit writes and flushes the log. One
 * query, one implicit transaction: a failure leaves nothing behind. */
static int pg_probe(pg_conn *c, store_err *e)
{
    return exec_sql(c,
                    "CREATE TEMP TABLE cairn_probe (x int); INSERT INTO cairn_probe VALUES (1); "
                    "DROP TABLE cairn_probe",
                    e);
}

/* ------------------------------------------------------ workspaces, keys */

static void read_workspace(PGresult *r, int row, store_workspace *w)
{
    copy_col(w->id, sizeof w->id, r, row, 0);
    copy_col(w->name, sizeof w->name, r, row, 1);
    w->created_ms = get_int(r, row, 2);
    copy_col(w->disabled_modules, sizeof w->disabled_modules, r, row, 3);
    copy_col(w->currency, sizeof w->currency, r, row, 4);
}

static int pg_workspace_create(pg_conn *c, const char *name, store_workspace *out, store_err *e)
{
    id_new(out->id, "wrk");
    snprintf(out->name, sizeof out->name, "%s", name);
    out->created_ms = (int64_t)time_now_ms();
    out->disabled_modules[0] = '\0';
    memcpy(out->currency, "USD", 4);
    sql_workspace_create(stmt(c), out);
    return run_q_done(c, e);
}

static int pg_workspace_find(pg_conn *c, const char *name_or_id, store_workspace *out, store_err *e)
{
    sql_workspace_find(stmt(c), name_or_id);
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc) return rc;
    if (PQntuples(res) == 0)
        rc = store_fail(e, STORE_NOTFOUND, "no workspace '%s'", name_or_id);
    else
        read_workspace(res, 0, out);
    PQclear(res);
    return rc;
}

/* Runs a workspace's update: STORE_NOTFOUND when no row changed. */
static int workspace_changed(pg_conn *c, const char *id, store_err *e)
{
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc) return rc;
    if (affected(res) == 0) rc = store_fail(e, STORE_NOTFOUND, "no workspace '%s'", id);
    PQclear(res);
    return rc;
}

static int pg_workspace_set_modules(pg_conn *c, const char *id, const char *disabled, store_err *e)
{
    if (strlen(disabled) >= sizeof((store_workspace *)0)->disabled_modules)
        return store_fail(e, STORE_ERROR, "disabled modules: more than %zu bytes",
                          sizeof((store_workspace *)0)->disabled_modules - 1);
    sql_workspace_set_modules(stmt(c), id, disabled);
    return workspace_changed(c, id, e);
}

static int pg_workspace_set_currency(pg_conn *c, const char *id, const char *currency, store_err *e)
{
    sql_workspace_set_currency(stmt(c), id, currency);
    return workspace_changed(c, id, e);
}

static int pg_workspace_count(pg_conn *c, int64_t *n, store_err *e)
{
    sql_workspace_count(stmt(c));
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc) return rc;
    *n = get_int(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

static int pg_workspace_each(pg_conn *c, store_workspace_cb cb, void *ud, store_err *e)
{
    sql_workspace_each(stmt(c));
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc) return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        store_workspace w;
        read_workspace(res, i, &w);
        cb(&w, ud);
    }
    PQclear(res);
    return STORE_OK;
}

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
    sql_key_create(stmt(c), k, token_hash);
    return run_q_done(c, e);
}

static int pg_key_by_hash(pg_conn *c, const char *token_hash, store_key *out, store_err *e)
{
    sql_key_by_hash(stmt(c), token_hash);
    PGresult *res;
    int rc = run_q(c, &res, e);
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
    sql_key_each(stmt(c));
    PGresult *res;
    int rc = run_q(c, &res, e);
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
    sql_key_revoke(stmt(c), id, (int64_t)time_now_ms());
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc) return rc;
    if (affected(res) == 0) rc = store_fail(e, STORE_NOTFOUND, "no active key '%s'", id);
    PQclear(res);
    return rc;
}

/* --------------------------------------------------------------- records */

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

/* The record of a result of at most one row, into *out. */
static int read_one(arena *a, const res_def *r, PGresult *res, res_row *out, store_err *e)
{
    if (PQntuples(res) == 0) return store_fail(e, STORE_NOTFOUND, "no such %s", r->singular);
    read_row(a, r, res, 0, out);
    return STORE_OK;
}

/* A list page of a result of up to limit + 1 rows. */
static void read_page(arena *a, const res_def *r, PGresult *res, int limit, res_row **rows, int *n,
                      bool *more)
{
    int total = PQntuples(res);
    int k = total > limit ? limit : total;
    res_row *out = arena_alloc(a, sizeof(res_row) * (size_t)(k ? k : 1));
    for (int i = 0; i < k; i++)
        read_row(a, r, res, i, &out[i]);
    *rows = out;
    *n = k;
    *more = total > limit;
}

/* Runs the built statement, which yields at most one record, into *out. */
static int one_row(pg_conn *c, arena *a, const res_def *r, res_row *out, store_err *e)
{
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc) return rc;
    rc = read_one(a, r, res, out, e);
    PQclear(res);
    return rc;
}

/* Runs the built statement, on one record: STORE_NOTFOUND when it found
 * or changed no row. */
static int on_record(pg_conn *c, const res_def *r, store_err *e)
{
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc) return rc;
    bool hit = affected(res) > 0;
    PQclear(res);
    return hit ? STORE_OK : store_fail(e, STORE_NOTFOUND, "no such %s", r->singular);
}

static int pg_rec_get(pg_conn *c, arena *a, const res_def *r, const char *ws, const char *id,
                      res_row *out, store_err *e)
{
    int rc = see(c, r, e);
    if (rc) return rc;
    sql_rec_get(stmt(c), r, ws, id);
    return one_row(c, a, r, out, e);
}

static int pg_rec_exists(pg_conn *c, const res_def *r, const char *ws, const char *id, store_err *e)
{
    int rc = see(c, r, e);
    if (rc) return rc;
    sql_rec_exists(stmt(c), r, ws, id);
    return on_record(c, r, e);
}

/* Pending inserts sent at once, at most: a pipeline's results are read
 * only after its last statement is sent. */
#define PEND_MAX 64

/* An insert that no unique key of r can refuse: r has none, or the row
 * leaves one of its columns NULL (NULLs never conflict). The id is new. */
static bool insert_infallible(const res_def *r, const res_row *row)
{
    for (int i = 0; r->unique[i]; i++) {
        int f = res_field_index(r, r->unique[i]);
        if (f < 0 || row->vals[f].kind == SV_NULL) return true;
    }
    return !r->unique[0];
}

/* In a transaction, a row of an append-only table (the audit log) is held
 * until the commit, and one that no unique key can refuse waits for the
 * next statement (pend): nobody reads their rid. */
static int pg_rec_insert(pg_conn *c, const res_def *r, const char *ws, res_row *row, store_err *e)
{
    sql_rec_insert(stmt(c), r, ws, row);
    bool pend = !r->log && c->in_tx && insert_infallible(r, row);
    if ((r->log || pend) && c->in_tx) {
        if (sql_failed(&c->q)) return store_fail(e, STORE_ERROR, "postgres: statement too large");
        pg_params p;
        params_of(&c->q, &p);
        row->rid = 0;
        if (!pend) {
            hold(c, sql_text(&c->q), p.v, p.n);
            return STORE_OK;
        }
        held_add(&c->pend, &c->npend, &c->pend_cap, sql_text(&c->q), p.v, p.n);
        return c->npend < PEND_MAX ? STORE_OK : pend_send(c, e);
    }
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc == STORE_OK) {
        row->rid = get_int(res, 0, 0);
        PQclear(res);
    }
    return rc;
}

static int pg_rec_update(pg_conn *c, const res_def *r, const char *ws, const res_row *row,
                         const bool *set, bool set_custom, store_err *e)
{
    int rc = see(c, r, e);
    if (rc) return rc;
    sql_rec_update(stmt(c), r, ws, row, set, set_custom);
    return on_record(c, r, e);
}

static int pg_rec_delete(pg_conn *c, const res_def *r, const char *ws, const char *id, store_err *e)
{
    int rc = see(c, r, e);
    if (rc) return rc;
    sql_rec_delete(stmt(c), r, ws, id);
    return on_record(c, r, e);
}

static int pg_rec_find_by(pg_conn *c, arena *a, const res_def *r, const char *ws, int field,
                          const char *value, bool bulk, res_row *out, store_err *e)
{
    int rc = see(c, r, e);
    if (rc) return rc;
    sql_rec_find_by(stmt(c), r, ws, field, value, bulk);
    return one_row(c, a, r, out, e);
}

/* A custom field's value as text (->> turns booleans into true/false). */
static void pg_custom_eq(sql_stmt *q, buf *b, const char *alias, const char *key, const char *value)
{
    buf_printf(b, " AND %scustom_fields ->> ", alias);
    sql_param(q, b, sv_text(key));
    buf_puts(b, " = ");
    sql_param(q, b, sv_text(value));
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
    int chars[TERM_WORDS]; /* characters, as SQL's left() counts them, less the mark */
    int mark[TERM_WORDS];  /* 1 when the word carries SEARCH_MARK */
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
        x->mark[k] = n > 0 && w[0] == SEARCH_MARK[0];
        x->chars[k] = -x->mark[k];
        for (size_t i = 0; i < n; i++)
            x->chars[k] += ((unsigned char)w[i] & 0xC0) != 0x80;
    }
    /* Words are letters, digits and non-ASCII bytes only (search.h), so
     * nothing a user types can be read as tsquery syntax. */
    buf_printf(x->b, "%s%s%.*s:*", x->terms++ ? " & " : "", x->tag, (int)n, w);
}

/* The postings term of query word i, cut as terms_query() cuts a row's. */
static void term_expr(sql_stmt *q, buf *b, const tsq_ctx *x, int i)
{
    buf_puts(b, "hashtextextended(left(lower(");
    sql_param(q, b, sv_text(arena_printf(&q->mem, "%s%.*s", x->tag, x->len[i], x->word[i])));
    buf_printf(b, "), %d), 0)",
               SEARCH_TAG_LEN + x->mark[i] + (x->chars[i] >= TERM_LONG ? TERM_LONG : TERM_SHORT));
}

/* A search page: the tsvector checks every row against the whole query
 * (every word, whole prefix); the postings choose which rows to check. */
static bool pg_search(sql_stmt *q, const res_def *r, const char *ws, const store_query *query)
{
    char tag[SEARCH_TAG_LEN + 1];
    search_tag(ws, tag);
    buf tsq;
    buf_init(&tsq, 1 << 16);
    tsq_ctx x = {&tsq, &q->mem, tag, 0, 0, {0}, {0}, {0}, {0}};
    if (search_words(query->fts, tsq_word, &x) == 0) {
        buf_free(&tsq);
        return false;
    }
    int driver = -1; /* the word whose postings lead: the longest */
    for (int i = 0; i < x.nwords; i++)
        if (x.chars[i] >= TERM_SHORT && (driver < 0 || x.chars[i] > x.chars[driver])) driver = i;
    /* cond holds the conditions; the SELECT goes in front, from the
     * postings or from the table. */
    buf cond;
    buf_init(&cond, 1 << 16);
    buf_puts(&cond, " WHERE workspace_id = ");
    int wsp = sql_param(q, &cond, sv_text(ws));
    buf_puts(&cond, " AND search_tsv @@ to_tsquery('simple'::regconfig, ");
    sql_param(q, &cond, sv_text(arena_strdup(&q->mem, buf_cstr(&tsq))));
    buf_putc(&cond, ')');
    int cursor = 0;
    if (query->after_rid > 0) {
        buf_puts(&cond, " AND rid < ");
        cursor = sql_param(q, &cond, sv_int(query->after_rid));
    }
    sql_list_conds(q, &cond, r, query, "", wsp);
    buf *b = &q->text;
    sql_select(q, b, r, "");
    if (driver >= 0) {
        /* The newest rows holding the longest word's prefix, walked back
         * through its postings. The other words' postings are probed
         * there, in the index alone; only rows that pass are read, and
         * the conditions check each against the whole query. The two
         * subqueries are fenced (OFFSET 0): joined freely, the planner may
         * read every posting and sort. The postings decide the plan,
         * whatever the values: one generic plan serves. */
        buf_printf(b, "(SELECT doc_rid FROM %s_terms AS t0 WHERE t0.term_hash = ", r->table);
        term_expr(q, b, &x, driver);
        if (cursor) {
            buf_puts(b, " AND t0.doc_rid < ");
            sql_ref(q, b, cursor);
        }
        for (int i = 0; i < x.nwords; i++) {
            if (i == driver || x.chars[i] < TERM_SHORT) continue;
            buf_printf(b, " AND EXISTS (SELECT 1 FROM %1$s_terms AS t%2$d WHERE t%2$d.term_hash = ",
                       r->table, i + 1);
            term_expr(q, b, &x, i);
            buf_printf(b, " AND t%d.doc_rid = t0.doc_rid)", i + 1);
        }
        buf_printf(b,
                   " ORDER BY doc_rid DESC OFFSET 0) AS terms, LATERAL (SELECT * FROM %1$s "
                   "WHERE rid = terms.doc_rid OFFSET 0) AS %1$s",
                   r->table);
        buf_append(b, cond.data, cond.len);
        buf_puts(b, " ORDER BY doc_rid DESC");
        q->plan_per_call = false;
    } else {
        /* One-character words only have no postings: the newest rows are
         * walked and checked, which is quick because such a prefix
         * matches many. */
        buf_puts(b, r->table);
        buf_append(b, cond.data, cond.len);
        buf_puts(b, " ORDER BY rid DESC");
    }
    sql_limit(q, b, query);
    buf_free(&cond);
    buf_free(&tsq);
    return true;
}

static int pg_rec_list(pg_conn *c, arena *a, const res_def *r, const char *ws, const store_query *q,
                       res_row **rows, int *n, bool *more, store_err *e)
{
    *n = 0;
    *more = false;
    *rows = NULL;
    int rc = see(c, r, e);
    if (rc) return rc;
    if (!sql_list(stmt(c), r, ws, q)) return STORE_OK; /* punctuation searched: no match */
    PGresult *res;
    rc = run_q(c, &res, e);
    if (rc) return rc;
    read_page(a, r, res, q->limit, rows, n, more);
    PQclear(res);
    return STORE_OK;
}

/* One read of a batch on its way: its statement and parameters. */
typedef struct pg_read {
    sql_stmt q;
    pg_params p;
} pg_read;

/* The reads' statements go in one pipeline (run_cmds), with any savepoint
 * owed, so a batch costs one round trip where each read alone costs one. */
static int pg_read_many(pg_conn *c, arena *a, const char *ws, store_read *reads, int n,
                        store_err *e)
{
    if (n <= 0) return STORE_OK;
    for (int i = 0; i < n; i++) {
        int rc = see(c, reads[i].r, e);
        if (rc) return rc;
    }
    pg_read *rd = calloc((size_t)n, sizeof *rd);
    pg_cmd *cmds = calloc((size_t)n, sizeof *cmds);
    int *which = calloc((size_t)n, sizeof *which); /* the read of each command */
    if (!rd || !cmds || !which) abort();
    int m = 0, rc = STORE_OK;
    for (int i = 0; i < n && rc == STORE_OK; i++) {
        store_read *x = &reads[i];
        assert(x->r && (!!x->id + !!x->q + !!x->key) == 1);
        x->rc = STORE_OK;
        x->rows = NULL;
        x->n = 0;
        x->more = false;
        sql_init(&rd[i].q, &pg_dialect);
        if (!sql_read(&rd[i].q, ws, x)) continue; /* punctuation searched: no match */
        if (sql_failed(&rd[i].q)) {
            rc = store_fail(e, STORE_ERROR, "postgres: statement too large");
            break;
        }
        params_of(&rd[i].q, &rd[i].p);
        cmds[m] =
            (pg_cmd){.sql = sql_text(&rd[i].q), .p = &rd[i].p, .planned = rd[i].q.plan_per_call};
        which[m++] = i;
    }
    if (rc == STORE_OK && m > 0) rc = run_cmds(c, cmds, m, e);
    for (int k = 0; k < m; k++) {
        store_read *x = &reads[which[k]];
        if (rc == STORE_OK && (x->id || x->key))
            x->rc = read_one(a, x->r, cmds[k].res, &x->row, NULL);
        else if (rc == STORE_OK)
            read_page(a, x->r, cmds[k].res, x->q->limit, &x->rows, &x->n, &x->more);
        PQclear(cmds[k].res);
    }
    for (int i = 0; i < n; i++)
        sql_free(&rd[i].q);
    free(rd);
    free(cmds);
    free(which);
    return rc;
}

/* The writes' statements go in one pipeline too: an update and the rollup
 * moves it makes cost one round trip where each alone costs one. A
 * statement refused by the server ends the pipeline (the rest are not
 * run); an update that found no row or a rollup move out of range is no
 * error to the server, and the statements after it run. */
static int pg_write_many(pg_conn *c, const char *ws, store_write *w, int n, int *failed,
                         store_err *e)
{
    *failed = -1;
    if (n <= 0) return STORE_OK;
    for (int i = 0; i < n; i++) {
        int rc = see(c, w[i].r, e);
        if (rc) return rc;
    }
    sql_stmt *q = calloc((size_t)n, sizeof *q);
    pg_params *p = calloc((size_t)n, sizeof *p);
    pg_cmd *cmds = calloc((size_t)n, sizeof *cmds);
    int *which = calloc((size_t)n, sizeof *which); /* the write of each command */
    if (!q || !p || !cmds || !which) abort();
    int m = 0, rc = STORE_OK;
    for (int i = 0; i < n && rc == STORE_OK; i++) {
        const store_write *x = &w[i];
        sql_init(&q[i], &pg_dialect);
        if (x->row) {
            sql_rec_update(&q[i], x->r, ws, x->row, x->set, x->set_custom);
        } else {
            int built = sql_rollup_move(&q[i], x->r, ws, x->from_keys, x->from_sum, x->to_keys,
                                        x->to_sum, e);
            if (built < 0) rc = built;
            if (built <= 0) {
                if (rc) *failed = i;
                continue; /* nothing to change */
            }
        }
        if (sql_failed(&q[i])) {
            rc = store_fail(e, STORE_ERROR, "postgres: statement too large");
            *failed = i;
            break;
        }
        params_of(&q[i], &p[i]);
        cmds[m] = (pg_cmd){.sql = sql_text(&q[i]), .p = &p[i], .planned = q[i].plan_per_call};
        which[m++] = i;
    }
    if (rc == STORE_OK && m > 0) {
        rc = run_cmds(c, cmds, m, e);
        for (int k = 0; k < m && rc != STORE_OK && *failed < 0; k++)
            if (cmds[k].failed) *failed = which[k];
    }
    for (int k = 0; k < m && rc == STORE_OK; k++) {
        if (affected(cmds[k].res) > 0) continue;
        const store_write *x = &w[which[k]];
        rc = x->row ? store_fail(e, STORE_NOTFOUND, "no such %s", x->r->singular)
                    : store_fail(e, STORE_RANGE, STORE_RANGE_FMT, x->r->name);
        *failed = which[k];
    }
    for (int k = 0; k < m; k++)
        PQclear(cmds[k].res);
    for (int i = 0; i < n; i++)
        sql_free(&q[i]);
    free(q);
    free(p);
    free(cmds);
    free(which);
    return rc;
}

/* ------------------------------------------------- merges, aggregates */

static int pg_rec_repoint(pg_conn *c, const res_def *r, int field, const char *ws, const char *from,
                          const char *to, int type_field, const char *type_value, store_err *e)
{
    int rc = see(c, r, e);
    if (rc) return rc;
    if (to && sql_repoint_dupes(stmt(c), r, field, ws, from, to, type_field, type_value))
        rc = run_q_done(c, e);
    if (rc) return rc;
    sql_repoint(stmt(c), r, field, ws, from, to, type_field, type_value);
    return run_q_done(c, e);
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
    int rc = see(c, r, e);
    if (rc) return rc;
    sql_aggregate(stmt(c), r, ws, q);
    PGresult *res;
    rc = run_q(c, &res, e);
    if (rc) return rc;
    int k = PQntuples(res);
    store_agg_row *out = arena_alloc(a, sizeof(store_agg_row) * (size_t)(k ? k : 1));
    bool fits = true;
    for (int i = 0; i < k; i++) {
        for (int g = 0; g < 2; g++)
            out[i].key[g] = agg_key(a, r, q->group[g], res, i, g);
        out[i].key[2] = (store_val){.kind = SV_NULL};
        fits = get_int64(res, i, 2, &out[i].count) && fits;
        fits = get_int64(res, i, 3, &out[i].sum) && fits;
    }
    PQclear(res);
    if (!fits) return store_fail(e, STORE_RANGE, STORE_RANGE_FMT, r->name);
    *rows = out;
    *n = k;
    return STORE_OK;
}

/* ---------------------------------------------------------- BI queries */

/* A BI query runs under a statement_timeout of its own, set for it and
 * reset (to the connection's 30 s) after, whatever became of it: this sets
 * it and writes the query into the statement buffer. And without parallel
 * workers: each is a new process, which faults in every shared-buffer page
 * it reads (the count by country of 1,000,000 contacts on the bench: 650 to
 * 820 ms with two workers, 110 ms without, on 2 cores). */
static int bi_begin(pg_conn *c, const res_def *r, const char *ws, const store_bi_query *q,
                    store_err *e)
{
    int rc = see(c, r, e);
    if (rc) return rc;
    pg_params tp = {.n = 0};
    char ms[24];
    snprintf(ms, sizeof ms, "%d", q->timeout_ms);
    p_text(&tp, ms);
    rc = run_done(c,
                  "SELECT set_config('statement_timeout', $1, false), "
                  "set_config('max_parallel_workers_per_gather', '0', false)",
                  &tp, e);
    if (rc) return rc;
    sql_bi_query(stmt(c), r, ws, q);
    return STORE_OK;
}

#define BI_RESET "RESET statement_timeout; RESET max_parallel_workers_per_gather"

static bool bi_timed_out(int rc, const store_err *e)
{
    return rc == STORE_BUSY && strstr(e->msg, "statement timeout");
}

/* Cell (i, j) of res as a value of kind; text copied into a, or pointing
 * into res when a is NULL. False when an integer does not fit. */
static bool bi_cell(PGresult *res, int i, int j, sv_kind kind, arena *a, store_val *v)
{
    *v = (store_val){.kind = SV_NULL};
    if (PQgetisnull(res, i, j)) return true;
    switch (kind) {
    case SV_INT: v->kind = SV_INT; return get_int64(res, i, j, &v->i);
    case SV_REAL:
        *v = (store_val){.kind = SV_REAL, .d = strtod(PQgetvalue(res, i, j), NULL)};
        break;
    default: *v = sv_text(a ? get_text(a, res, i, j) : PQgetvalue(res, i, j));
    }
    return true;
}

static int pg_bi_run(pg_conn *c, arena *a, const res_def *r, const char *ws,
                     const store_bi_query *q, store_val **cells, int *n, bool *more, store_err *e)
{
    *cells = NULL;
    *n = 0;
    *more = false;
    int rc = bi_begin(c, r, ws, q, e);
    if (rc) return rc;
    PGresult *res;
    rc = run_q(c, &res, e);
    store_err reset_e;
    int reset = exec_sql(c, BI_RESET, &reset_e);
    if (bi_timed_out(rc, e))
        return store_fail(e, STORE_TIMEOUT, "the query ran past its %d ms", q->timeout_ms);
    if (rc) return rc;
    if (reset) {
        PQclear(res);
        *e = reset_e;
        return reset;
    }
    int k = PQntuples(res), nc = q->ncols;
    int rows = k > q->limit ? q->limit : k;
    store_val *out = arena_alloc(a, sizeof(store_val) * (size_t)(rows ? rows : 1) * (size_t)nc);
    bool fits = true;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < nc; j++) {
            fits =
                bi_cell(res, i, j, q->cols[j].kind, a, &out[(size_t)i * (size_t)nc + (size_t)j]) &&
                fits;
        }
    PQclear(res);
    if (!fits) return store_fail(e, STORE_RANGE, STORE_RANGE_FMT, r->name);
    *cells = out;
    *n = rows;
    *more = k > q->limit;
    return STORE_OK;
}

/* Streamed in libpq's single-row mode, so no result holds every row;
 * under its own statement_timeout as pg_bi_run. Outside a transaction
 * only: the statement is sent on its own, not through the pipeline. */
static int pg_bi_each(pg_conn *c, const res_def *r, const char *ws, const store_bi_query *q,
                      store_bi_row_fn fn, void *ud, store_err *e)
{
    if (c->in_tx) return store_fail(e, STORE_ERROR, "postgres: a streamed query in a transaction");
    int rc = bi_begin(c, r, ws, q, e);
    if (rc) return rc;
    pg_params p;
    params_of(&c->q, &p);
    if (sql_failed(&c->q)) return store_fail(e, STORE_ERROR, "postgres: statement too large");
    if (!PQsendQueryParams(c->db, sql_text(&c->q), p.n, NULL, p.v, NULL, NULL, 0) ||
        !PQsetSingleRowMode(c->db)) {
        rc = result_fail(c, NULL, e);
        while (PQgetResult(c->db)) /* drain whatever was sent */
            ;
        return rc;
    }
    store_val cells[64];
    int nc = q->ncols < 64 ? q->ncols : 64, n = 0;
    bool stopped = false, fits = true;
    PGresult *res;
    rc = STORE_OK;
    while ((res = PQgetResult(c->db)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE && !stopped && n < q->limit) {
            for (int j = 0; j < nc; j++)
                fits = bi_cell(res, 0, j, q->cols[j].kind, NULL, &cells[j]) && fits;
            n++;
            if (fn(ud, cells)) {
                stopped = true;
                /* The rest is not wanted: the server stops sending. */
                PGcancel *cancel = PQgetCancel(c->db);
                char buf[256];
                if (cancel) PQcancel(cancel, buf, sizeof buf);
                PQfreeCancel(cancel);
            }
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && rc == STORE_OK &&
                   !stopped) {
            rc = result_fail(c, res, e);
        }
        PQclear(res);
    }
    store_err reset_e;
    int reset = exec_sql(c, BI_RESET, &reset_e);
    if (stopped) return store_fail(e, STORE_ERROR, "stopped");
    if (bi_timed_out(rc, e))
        return store_fail(e, STORE_TIMEOUT, "the query ran past its %d ms", q->timeout_ms);
    if (rc) return rc;
    if (!fits) return store_fail(e, STORE_RANGE, STORE_RANGE_FMT, r->name);
    if (reset) *e = reset_e;
    return reset;
}

/* Runs a rollup change built by sql.c, which changes no row when a
 * group would leave the range. */
static int rollup_change(pg_conn *c, const res_def *r, store_err *e)
{
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc) return rc;
    if (affected(res) == 0) rc = store_fail(e, STORE_RANGE, STORE_RANGE_FMT, r->name);
    PQclear(res);
    return rc;
}

static int pg_rollup_add(pg_conn *c, const res_def *r, const char *ws, const store_val *keys,
                         int64_t dcount, int64_t dsum, store_err *e)
{
    sql_rollup_add(stmt(c), r, ws, keys, dcount, dsum);
    return rollup_change(c, r, e);
}

static int pg_rollup_add_many(pg_conn *c, const char *ws, const store_rollup_delta *d, int n,
                              store_err *e)
{
    assert(n >= 1 && n <= STORE_ROLLUP_MANY);
    if (n == 1) return pg_rollup_add(c, d->r, ws, d->keys, d->dcount, d->dsum, e);
    sql_rollup_add_many(stmt(c), ws, d, n);
    return rollup_change(c, d->r, e);
}

static int pg_rollup_move(pg_conn *c, const res_def *r, const char *ws, const store_val *from_keys,
                          int64_t from_sum, const store_val *to_keys, int64_t to_sum, store_err *e)
{
    int built = sql_rollup_move(stmt(c), r, ws, from_keys, from_sum, to_keys, to_sum, e);
    return built > 0 ? rollup_change(c, r, e) : built;
}

static int pg_rollup_list(pg_conn *c, arena *a, const res_def *r, const char *ws,
                          const char *const *match, const char *upto, store_agg_row **rows, int *n,
                          store_err *e)
{
    *n = 0;
    *rows = NULL;
    sql_rollup_list(stmt(c), r, ws, match, upto);
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc) return rc;
    int k = PQntuples(res);
    store_agg_row *out = arena_alloc(a, sizeof(store_agg_row) * (size_t)(k ? k : 1));
    for (int i = 0; i < k; i++) {
        for (int g = 0; g < 3; g++) {
            const char *v = PQgetvalue(res, i, g);
            out[i].key[g] = *v ? (store_val){.kind = SV_TEXT, .s = get_text(a, res, i, g)}
                               : (store_val){.kind = SV_NULL};
        }
        /* BIGINT columns: a value past 64 bits never got in (22003) */
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

/* The advisory lock of a key, held until the transaction ends (outside
 * one it would be released at once). Key spaces: 0 idempotency keys
 * (pg_idem_get), 1 natural keys (store_lock). */
static int lock_key(pg_conn *c, const char *ws, const char *key, int space, store_err *e)
{
    if (!c->in_tx) return STORE_OK;
    sql_lock(stmt(c), ws, key, space);
    return run_q_done(c, e);
}

static int pg_lock(pg_conn *c, const char *ws, const char *key, store_err *e)
{
    return lock_key(c, ws, key, 1, e);
}

static int pg_try_hold(pg_conn *c, const char *key, bool *held, store_err *e)
{
    /* A connection re-established (relink) lost it: callers ask again
     * before each round of the work, and a lock asked for twice by one
     * session is simply held twice. */
    sql_stmt *q = stmt(c);
    sql_put(q, &q->text, "SELECT pg_try_advisory_lock(hashtextextended(?1, 7))");
    sql_add(q, sv_text(key));
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc) return rc;
    *held = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return STORE_OK;
}

static int pg_merged_put(pg_conn *c, const char *ws, const char *res_type, const char *id,
                         const char *into, const char *snapshot, store_err *e)
{
    sql_merged_put(stmt(c), ws, res_type, id, into, snapshot, (int64_t)time_now_ms());
    return run_q_done(c, e);
}

static int pg_merged_get(pg_conn *c, const char *ws, const char *res_type, const char *id,
                         char *into, store_err *e)
{
    sql_merged_get(stmt(c), ws, res_type, id);
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc) return rc;
    if (PQntuples(res) == 0)
        rc = store_fail(e, STORE_NOTFOUND, "not merged");
    else
        copy_col(into, ID_MAX, res, 0, 0);
    PQclear(res);
    return rc;
}

/* --------------------------------------------------------- server secret */

/* A lowercase hex digit's value, or -1. */
static int hex_digit(char ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* The secret recorded in server_secret: STORE_NOTFOUND when there is none. */
static int secret_read(pg_conn *c, unsigned char *key, store_err *e)
{
    sql_secret_get(stmt(c));
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc) return rc;
    if (PQntuples(res) == 0) {
        rc = STORE_NOTFOUND;
    } else {
        const char *hex = PQgetvalue(res, 0, 0);
        bool ok = strlen(hex) == 2 * STORE_SECRET_LEN;
        for (int i = 0; ok && i < STORE_SECRET_LEN; i++) {
            int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
            ok = hi >= 0 && lo >= 0;
            key[i] = (unsigned char)(hi << 4 | lo);
        }
        if (!ok) rc = store_fail(e, STORE_ERROR, "postgres: server_secret holds no 32-byte key");
    }
    PQclear(res);
    return rc;
}

/* The row is put with ON CONFLICT DO NOTHING and then read: of nodes
 * starting together, each reads the one that got in first. It is put
 * outside the caller's transaction, on a connection of its own when there
 * is one, since a rollback would take away a key already handed out. */
static int secret_find(void *ctx, unsigned char *key, store_err *e)
{
    pg_conn *c = ctx;
    int rc = secret_read(c, key, e);
    if (rc != STORE_NOTFOUND) return rc;
    unsigned char mine[STORE_SECRET_LEN];
    if ((rc = store_secret_make(mine, e))) return rc;
    char hex[2 * STORE_SECRET_LEN + 1];
    for (int i = 0; i < STORE_SECRET_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", mine[i]);
    store_conn *own = NULL;
    if (c->in_tx && (rc = pg_connect(&c->s->base, &own, e))) return rc;
    pg_conn *w = own ? (pg_conn *)own : c;
    sql_secret_put(stmt(w), hex);
    rc = run_q_done(w, e);
    if (own) pg_disconnect(w);
    if (rc == STORE_OK) rc = secret_read(c, key, e);
    if (rc == STORE_NOTFOUND) rc = store_fail(e, STORE_ERROR, "postgres: server_secret is empty");
    return rc;
}

static int pg_secret(pg_conn *c, unsigned char *out, store_err *e)
{
    return secret_memo_get(&c->s->secret, secret_find, c, out, e);
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

/* Forgets held writes from the n-th on. */
static void held_truncate(pg_conn *c, int n)
{
    for (int k = n; k < c->nheld; k++)
        free(c->held[k].mem);
    if (n < c->nheld) c->nheld = n;
    if (c->held_flushed > c->nheld) c->held_flushed = c->nheld;
}

static void held_reset(pg_conn *c)
{
    held_truncate(c, 0);
    c->held_flushed = 0;
}

/* Appends sql (NULL for an event) with n values, copied, to a list of
 * held writes. */
static void held_add(pg_held **list, int *len_, int *cap, const char *sql, const char *const *v,
                     int n)
{
    assert(n <= SQL_MAX_PARAMS);
    if (*len_ == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *list = realloc(*list, sizeof(pg_held) * (size_t)*cap);
        if (!*list) abort();
    }
    size_t len[SQL_MAX_PARAMS], total = sizeof(char *) * (size_t)n + (sql ? strlen(sql) + 1 : 0);
    for (int i = 0; i < n; i++)
        total += len[i] = v[i] ? strlen(v[i]) + 1 : 0;
    pg_held *h = &(*list)[(*len_)++];
    h->mem = malloc(total);
    if (!h->mem) abort();
    h->v = (const char **)(void *)h->mem;
    char *m = h->mem + sizeof(char *) * (size_t)n;
    for (int i = 0; i < n; i++) {
        h->v[i] = v[i] ? memcpy(m, v[i], len[i]) : NULL;
        m += len[i];
    }
    h->sql = sql ? memcpy(m, sql, strlen(sql) + 1) : NULL;
    h->n = n;
}

/* Holds a write until commit: sql (NULL for an event) with n values. */
static void hold(pg_conn *c, const char *sql, const char *const *v, int n)
{
    held_add(&c->held, &c->nheld, &c->held_cap, sql, v, n);
}

static void pend_reset(pg_conn *c)
{
    for (int k = 0; k < c->npend; k++)
        free(c->pend[k].mem);
    c->npend = 0;
}

/* Statements of one pipeline of held rows, at most: their results are
 * read only after the last is sent, and must fit the socket's buffers. */
#define HELD_PIPELINE 256

/* Sends the held writes not in their tables yet, in one round trip for up
 * to HELD_PIPELINE rows: the events in one statement (a round trip per
 * batch instead of one per write), the rows one statement each, and
 * `then` (plain SQL: the COMMIT) after the last of them. They stay held
 * (flushed) until the transaction ends: rolling back to a savepoint that
 * began before this flush drops them from their tables, also those of
 * enclosing scopes, which must then be sent again (pg_rollback_to). */
static int held_flush(pg_conn *c, const char *then, store_err *e)
{
    int rc = STORE_OK;
    while (rc == STORE_OK && c->held_flushed < c->nheld) {
        int from = c->held_flushed, upto = from, nrows = 0, nev = 0;
        for (; upto < c->nheld && nrows < HELD_PIPELINE; upto++) {
            if (c->held[upto].sql)
                nrows++;
            else
                nev++;
        }
        pg_cmd *cmds = calloc((size_t)(nrows + 2), sizeof *cmds);
        pg_params *p = calloc((size_t)(nrows + 1), sizeof *p);
        if (!cmds || !p) abort();
        int m = 0;
        buf col[SQL_EVENT_NCOLS];
        bool overflow = false;
        if (nev) {
            for (int i = 0; i < SQL_EVENT_NCOLS; i++) {
                buf_init(&col[i], 1u << 30);
                for (int k = from; k < upto; k++)
                    if (!c->held[k].sql) array_elem(&col[i], c->held[k].v[i]);
                buf_putc(&col[i], '}');
                overflow |= col[i].overflow;
                p_text(&p[m], buf_cstr(&col[i]));
            }
            /* Each event's sequence is the next of its workspace's
             * (sql_event_insert says why), the counters
             * locked in workspace order against deadlocks. */
            cmds[m] = (pg_cmd){
                .sql = "WITH ev AS (SELECT t.*, row_number() OVER (PARTITION BY t.workspace_id "
                       "ORDER BY t.ord) AS rn FROM unnest($1::text[], $2::text[], $3::text[], "
                       "$4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], "
                       "$10::bigint[]) WITH ORDINALITY AS t(id, workspace_id, type, "
                       "resource_type, resource_id, subject_id, data, changes, actor_key_id, "
                       "created_at, ord)), "
                       "n AS (SELECT workspace_id, count(*) AS c FROM ev GROUP BY workspace_id), "
                       "s AS (INSERT INTO event_sequences (workspace_id, last) SELECT "
                       "workspace_id, c FROM n ORDER BY workspace_id ON CONFLICT (workspace_id) "
                       "DO UPDATE SET last = event_sequences.last + excluded.last RETURNING "
                       "workspace_id, last) "
                       "INSERT INTO events (" SQL_EVENT_COLS ", sequence) SELECT ev.id, "
                       "ev.workspace_id, ev.type, ev.resource_type, ev.resource_id, "
                       "ev.subject_id, ev.data, ev.changes, ev.actor_key_id, ev.created_at, "
                       "s.last - n.c + ev.rn FROM ev JOIN n USING (workspace_id) JOIN s USING "
                       "(workspace_id) ORDER BY ev.ord",
                .p = &p[m]};
            m++;
        }
        for (int k = from; k < upto; k++) {
            const pg_held *h = &c->held[k];
            if (!h->sql) continue;
            memcpy(p[m].v, h->v, sizeof(char *) * (size_t)h->n);
            p[m].n = h->n;
            cmds[m] = (pg_cmd){.sql = h->sql, .p = &p[m]};
            m++;
        }
        if (then && upto == c->nheld) cmds[m++] = (pg_cmd){.sql = then, .plain = true};
        rc = overflow ? store_fail(e, STORE_ERROR, "postgres: too many events in a transaction")
                      : run_cmds(c, cmds, m, e);
        for (int k = 0; k < m; k++)
            PQclear(cmds[k].res);
        if (nev)
            for (int i = 0; i < SQL_EVENT_NCOLS; i++)
                buf_free(&col[i]);
        free(cmds);
        free(p);
        if (rc == STORE_OK) c->held_flushed = upto;
    }
    return rc;
}

/* Before a statement on r: rows of an append-only table held in this
 * transaction go to their table first, so that it sees them. */
static int see(pg_conn *c, const res_def *r, store_err *e)
{
    return r->log && c->held_flushed < c->nheld ? held_flush(c, NULL, e) : STORE_OK;
}

static int pg_event_append(pg_conn *c, const char *ws, const char *type, const char *res_type,
                           const char *res_id, const char *subject_id, const char *data_json,
                           const char *changes_json, const char *actor_key, store_err *e)
{
    char id[ID_MAX], ms[32];
    id_new(id, "ev");
    int64_t now = (int64_t)time_now_ms();
    snprintf(ms, sizeof ms, "%" PRId64, now);
    const char *v[SQL_EVENT_NCOLS] = {id,         ws,        type,         res_type,  res_id,
                                      subject_id, data_json, changes_json, actor_key, ms};
    if (!c->in_tx) {
        sql_event_insert(stmt(c), v, now);
        return run_q_done(c, e);
    }
    hold(c, NULL, v, SQL_EVENT_NCOLS);
    return STORE_OK;
}

/* Events of a result into the arena: its first `limit` rows. */
static store_event *read_events(arena *a, PGresult *res, int k)
{
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
        v->seq = get_int(res, i, 10);
    }
    return ev;
}

/* Runs the statement built (an event page of limit + 1 rows at most). */
static int event_page(pg_conn *c, arena *a, int limit, store_event **out, int *n, bool *more,
                      store_err *e)
{
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc) return rc;
    int total = PQntuples(res);
    int k = total > limit ? limit : total;
    *out = read_events(a, res, k);
    *n = k;
    *more = total > limit;
    PQclear(res);
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
    int rc = c->in_tx ? held_flush(c, NULL, e) : STORE_OK;
    if (rc) return rc;
    sql_event_list(stmt(c), ws, id, before_rid, limit);
    return event_page(c, a, limit, out, n, more, e);
}

static int pg_event_feed(pg_conn *c, arena *a, const char *ws, const store_feed_query *fq,
                         store_event **out, int *n, bool *more, store_err *e)
{
    *n = 0;
    *more = false;
    *out = NULL;
    int rc = c->in_tx ? held_flush(c, NULL, e) : STORE_OK;
    if (rc) return rc;
    sql_event_feed(stmt(c), ws, fq);
    return event_page(c, a, fq->limit, out, n, more, e);
}

static int pg_event_seq(pg_conn *c, const char *ws, const char *id, int64_t *seq, store_err *e)
{
    *seq = 0;
    int rc = c->in_tx ? held_flush(c, NULL, e) : STORE_OK;
    if (rc) return rc;
    sql_event_seq(stmt(c), ws, id);
    PGresult *res;
    if ((rc = run_q(c, &res, e))) return rc;
    bool found = PQntuples(res) > 0;
    if (found) *seq = get_int(res, 0, 0);
    PQclear(res);
    return id && !found ? STORE_NOTFOUND : STORE_OK;
}

static int pg_event_resubject(pg_conn *c, const char *ws, const char *from, const char *to,
                              store_err *e)
{
    /* The transaction's own events are re-subjected too (a merge's own
     * updates before it): they go to the table first. */
    int rc = c->in_tx ? held_flush(c, NULL, e) : STORE_OK;
    if (rc) return rc;
    sql_event_resubject(stmt(c), ws, from, to);
    return run_q_done(c, e);
}

static int pg_event_count(pg_conn *c, const char *ws, int64_t *n, store_err *e)
{
    sql_event_count(stmt(c), ws);
    PGresult *res;
    int rc = run_q(c, &res, e);
    if (rc) return rc;
    *n = get_int(res, 0, 0);
    PQclear(res);
    return STORE_OK;
}

/* ----------------------------------------------------------- idempotency */

static int pg_idem_get(pg_conn *c, arena *a, const char *ws, const char *key, store_idem *out,
                       store_err *e)
{
    /* Inside a write transaction, hold the key until commit: a request
     * with the same key on another node waits here, then sees our record
     * and replays it instead of writing a second time. */
    int rc = lock_key(c, ws, key, 0, e);
    if (rc) return rc;
    sql_idem_get(stmt(c), ws, key);
    PGresult *res;
    rc = run_q(c, &res, e);
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
    sql_idem_put(stmt(c), ws, key, req_hash, status, body, body_len, (int64_t)time_now_ms());
    return run_q_done(c, e);
}

static int pg_idem_expire(pg_conn *c, int64_t cutoff_ms, store_err *e)
{
    sql_idem_expire(stmt(c), cutoff_ms);
    return run_q_done(c, e);
}

/* ------------------------------------------------------------- the table */

#define BACKEND_CONN    pg_conn
#define BACKEND_FN(x)   pg_##x
#define BACKEND_OPS     store_postgres_ops
#define BACKEND_NAME    "postgres"
#define BACKEND_WRITERS 0 /* row locks: writers of different rows run at once */
#include "store/backend.inc"
