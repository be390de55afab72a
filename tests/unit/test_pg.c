/* test_pg.c - the PostgreSQL backend through store.h, where SQLite-file
 * tests cannot reach: events buffered inside a transaction (dropped with a
 * savepoint, inserted at commit or earlier, nested savepoints with deferred
 * releases), keyset sorting with NULLs, and the SQL of timelines, repoints,
 * aggregates, merged records, locks and relation filters. Runs when
 * CAIRN_TEST_PG names an admin URL (scripts/with-postgres.sh sets it);
 * otherwise every test here is skipped. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "store/search.h"
#include "store/store.h"
#include "test.h"

/* Creates a fresh database and returns its URL, or NULL (and skips). */
static const char *fresh_db(void)
{
    static char url[512];
    const char *admin = getenv("CAIRN_TEST_PG");
    if (!admin || !*admin) {
        test_skip("needs PostgreSQL (run under scripts/with-postgres.sh)");
        return NULL;
    }
    static int n;
    char name[64];
    snprintf(name, sizeof name, "unit_%d_%d", (int)getpid(), n++);
    PGconn *pc = PQconnectdb(admin);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    PGresult *r = PQexec(pc, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    PQfinish(pc);
    if (!CHECK(ok)) return NULL;
    const char *slash = strrchr(admin, '/');
    snprintf(url, sizeof url, "%.*s/%s", (int)(slash - admin), admin, name);
    return url;
}

static store_conn *open_conn(const char *url, store **s)
{
    store_opts o = {.durable = true, .busy_ms = 2000};
    store_err e = {{0}};
    store_conn *c = NULL;
    int applied = 0;
    if (!CHECK_EQ_INT(store_open(s, url, &o, &e), STORE_OK)) return NULL;
    if (!CHECK_EQ_INT(store_connect(*s, &c, &e), STORE_OK)) {
        store_close(*s);
        return NULL;
    }
    CHECK_EQ_INT(store_migrate(c, &applied, &e), STORE_OK);
    return c;
}

TEST(pg_events_follow_savepoints_and_commit)
{
    const char *url = fresh_db();
    if (!url) return;
    store *s;
    store_conn *c = open_conn(url, &s);
    if (!c) return;
    store_err e;
    int64_t n = -1;
    /* outside a transaction: written at once */
    CHECK_EQ_INT(store_event_append(c, "wrk_a", "t.one", "r", "id1", NULL, "{}", NULL, NULL, &e),
                 STORE_OK);
    CHECK_EQ_INT(store_event_count(c, "wrk_a", &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 1);
    /* a batch: request 1 kept, request 2 rolled back, request 3 kept */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_event_append(c, "wrk_a", "t.two", "r", "id2", NULL, "{\"q\":\"a\\\"b\"}",
                                    NULL, "key_1", &e),
                 STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_event_append(c, "wrk_a", "t.gone", "r", "id3", NULL, "{}", NULL, NULL, &e),
                 STORE_OK);
    store_rollback_to(c);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_event_append(c, "wrk_a", "t.three", "r", "id4", NULL, "{}", NULL, NULL, &e),
                 STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_EQ_INT(store_event_count(c, "wrk_a", &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 3);
    /* a rolled-back transaction leaves nothing */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_event_append(c, "wrk_a", "t.four", "r", "id5", NULL, "{}", NULL, NULL, &e),
                 STORE_OK);
    store_rollback(c);
    CHECK_EQ_INT(store_event_count(c, "wrk_a", &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 3);
    store_disconnect(c);
    store_close(s);
}

TEST(pg_sort_keyset_with_nulls)
{
    const char *url = fresh_db();
    if (!url) return;
    store *s;
    store_conn *c = open_conn(url, &s);
    if (!c) return;
    const res_def *r = res_find("contacts");
    int ln = res_field_index(r, "last_name"), nm = res_field_index(r, "name");
    const char *last[] = {"b", NULL, "A", "c", NULL, "a"};
    store_err e;
    arena a;
    arena_init(&a);
    for (int i = 0; i < 6; i++) {
        res_row row = {0};
        row.vals = arena_zalloc(&a, sizeof(store_val) * (size_t)r->nfields);
        row.vals[nm] = (store_val){.kind = SV_TEXT, .s = "x"};
        if (last[i]) row.vals[ln] = (store_val){.kind = SV_TEXT, .s = last[i]};
        id_new(row.id, "con");
        row.created_ms = row.updated_ms = (int64_t)time_now_ms();
        CHECK_EQ_INT(store_rec_insert(c, r, "wrk_s", &row, &e), STORE_OK);
    }
    for (int asc = 0; asc < 2; asc++) {
        store_query q = {.sort_by = &r->fields[ln], .ascending = asc, .limit = 2, .link_field = -1};
        char seen[64] = "";
        for (int page = 0; page < 5; page++) {
            res_row *rows;
            int n;
            bool more;
            if (!CHECK_EQ_INT(store_rec_list(c, &a, r, "wrk_s", &q, &rows, &n, &more, &e),
                              STORE_OK))
                break;
            for (int i = 0; i < n; i++) {
                const store_val *v = &rows[i].vals[ln];
                strcat(seen, v->kind == SV_NULL ? "-" : v->s);
            }
            if (!more) break;
            q.after_rid = rows[n - 1].rid;
            q.after_val = rows[n - 1].vals[ln];
        }
        /* NULLs lowest; case-insensitive; ties in insertion order */
        CHECK_STR(seen, asc ? "--Aabc" : "cbaA--");
    }
    arena_release(&a);
    store_disconnect(c);
    store_close(s);
}

/* ---------------------------------------------- helpers for the tests below */

/* An admin connection to the test database, for what store.h cannot show. */
static PGconn *raw_conn(const char *url)
{
    PGconn *pc = PQconnectdb(url);
    if (!CHECK(PQstatus(pc) == CONNECTION_OK)) {
        PQfinish(pc);
        return NULL;
    }
    return pc;
}

/* The first column of the first row of sql as an integer (-1 on error). */
static long long raw_int(PGconn *pc, const char *sql)
{
    PGresult *r = PQexec(pc, sql);
    long long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else if (PQresultStatus(r) != PGRES_TUPLES_OK)
        printf("  %s", PQresultErrorMessage(r));
    PQclear(r);
    return v;
}

static int64_t count_events(store_conn *c, const char *ws)
{
    store_err e;
    int64_t n = -1;
    CHECK_EQ_INT(store_event_count(c, ws, &n, &e), STORE_OK);
    return n;
}

static int append(store_conn *c, const char *ws, const char *type, const char *res_id,
                  const char *subject)
{
    store_err e;
    int rc = store_event_append(c, ws, type, "contact", res_id, subject, "{}", NULL, NULL, &e);
    if (rc) printf("  append: %s\n", e.msg);
    return rc;
}

/* Types of a record's timeline, newest first, joined with spaces. */
static const char *timeline(store_conn *c, arena *a, const char *ws, const char *id)
{
    store_event *ev;
    int n = 0;
    bool more = false;
    store_err e;
    if (!CHECK_EQ_INT(store_event_list(c, a, ws, id, 0, 100, &ev, &n, &more, &e), STORE_OK)) {
        printf("  %s\n", e.msg);
        return "?";
    }
    char *s = arena_strdup(a, "");
    for (int i = 0; i < n; i++)
        s = arena_printf(a, "%s%s%s", s, i ? " " : "", ev[i].type);
    return s;
}

static res_row new_row(arena *a, const res_def *r)
{
    res_row row = {0};
    id_new(row.id, r->prefix);
    row.created_ms = row.updated_ms = (int64_t)time_now_ms();
    row.vals = arena_zalloc(a, sizeof(store_val) * (size_t)r->nfields);
    return row;
}

static void set_s(const res_def *r, res_row *row, const char *field, const char *s)
{
    int i = res_field_index(r, field);
    if (CHECK(i >= 0)) row->vals[i] = s ? (store_val){.kind = SV_TEXT, .s = s} : (store_val){0};
}

static void set_i(const res_def *r, res_row *row, const char *field, int64_t v)
{
    int i = res_field_index(r, field);
    if (CHECK(i >= 0)) row->vals[i] = (store_val){.kind = SV_INT, .i = v};
}

static const char *get_s(const res_def *r, const res_row *row, const char *field)
{
    int i = res_field_index(r, field);
    return i >= 0 && row->vals[i].kind == SV_TEXT ? row->vals[i].s : NULL;
}

static bool insert(store_conn *c, const res_def *r, const char *ws, res_row *row)
{
    store_err e;
    int rc = store_rec_insert(c, r, ws, row, &e);
    if (!CHECK_EQ_INT(rc, STORE_OK)) printf("  insert %s: %s\n", r->name, e.msg);
    return rc == STORE_OK;
}

/* Inserts a record with one text field set; its id goes to id_out. */
static void add1(store_conn *c, arena *a, const char *res, const char *ws, const char *field,
                 const char *value, char *id_out)
{
    const res_def *r = res_find(res);
    res_row row = new_row(a, r);
    if (field) set_s(r, &row, field, value);
    insert(c, r, ws, &row);
    snprintf(id_out, ID_MAX, "%s", row.id);
}

static void add_membership(store_conn *c, arena *a, const char *ws, const char *contact,
                           const char *company, const char *role)
{
    const res_def *r = res_find("company-memberships");
    res_row row = new_row(a, r);
    set_s(r, &row, "contact_id", contact);
    set_s(r, &row, "company_id", company);
    set_s(r, &row, "role", role);
    insert(c, r, ws, &row);
}

/* The `field` values of every r row whose `by` = value, sorted, joined. */
static const char *values_where(PGconn *pc, arena *a, const char *table, const char *field,
                                const char *by, const char *value)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(string_agg(coalesce(%s, '-'), ' ' ORDER BY %s), '') FROM %s "
             "WHERE %s = '%s'",
             field, field, table, by, value);
    PGresult *r = PQexec(pc, sql);
    const char *s = "?";
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        s = arena_strdup(a, PQgetvalue(r, 0, 0));
    else
        printf("  %s", PQresultErrorMessage(r));
    PQclear(r);
    return s;
}

/* ------------------------------------------------------ nested savepoints */

TEST(pg_nested_savepoints)
{
    const char *url = fresh_db();
    if (!url) return;
    store *s;
    store_conn *c = open_conn(url, &s);
    if (!c) return;
    arena a;
    arena_init(&a);
    store_err e;
    /* A batch item rolled back, the next kept, inside the request's own
     * savepoint: only the kept item's event exists. */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(c, "wrk_n", "item.undone", "id1", NULL), STORE_OK);
    store_rollback_to(c);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(c, "wrk_n", "item.kept", "id1", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_EQ_INT(count_events(c, "wrk_n"), 1);
    CHECK_STR(timeline(c, &a, "wrk_n", "id1"), "item.kept");

    /* The request rolled back after an item was released: nothing stays,
     * neither the item's event and row nor the request's own. */
    const res_def *con = res_find("contacts");
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    char id[ID_MAX], outer[ID_MAX];
    add1(c, &a, "contacts", "wrk_n", "name", "Outer", outer);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    add1(c, &a, "contacts", "wrk_n", "name", "Gone", id);
    CHECK_EQ_INT(append(c, "wrk_n", "item.gone", "id2", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    store_rollback_to(c);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_EQ_INT(count_events(c, "wrk_n"), 1);
    CHECK_EQ_INT(store_rec_exists(c, con, "wrk_n", id, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_rec_exists(c, con, "wrk_n", outer, &e), STORE_NOTFOUND);

    /* The same after a statement failed the transaction: the rollback
     * still reaches the outer savepoint, and the transaction goes on. */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    add1(c, &a, "contacts", "wrk_n", "name", "Outer too", outer);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    add1(c, &a, "contacts", "wrk_n", "name", "Gone too", id);
    CHECK_EQ_INT(append(c, "wrk_n", "item.gone", "id3", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    res_row dup = new_row(&a, con);
    snprintf(dup.id, sizeof dup.id, "%s", id);
    CHECK_EQ_INT(store_rec_insert(c, con, "wrk_n", &dup, &e), STORE_CONFLICT);
    store_rollback_to(c);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(c, "wrk_n", "after.failure", "id3", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_STR(timeline(c, &a, "wrk_n", "id3"), "after.failure");
    CHECK_EQ_INT(store_rec_exists(c, con, "wrk_n", id, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_rec_exists(c, con, "wrk_n", outer, &e), STORE_NOTFOUND);

    /* A fixed depth: one more savepoint fails cleanly, the rest works. */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    int depth = 0;
    while (depth < 64 && store_savepoint(c, &e) == STORE_OK) {
        append(c, "wrk_n", "deep", "id4", NULL);
        depth++;
    }
    CHECK(depth >= 2 && depth < 64);
    for (int i = 0; i < depth - 1; i++)
        CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    store_rollback_to(c); /* the outermost: every level's event goes */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(c, "wrk_n", "shallow", "id4", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_STR(timeline(c, &a, "wrk_n", "id4"), "shallow");
    arena_release(&a);
    store_disconnect(c);
    store_close(s);
}

/* Events written to the table before commit (a merge re-subjects them)
 * and then rolled back with a savepoint: those of the savepoint go, those
 * of earlier requests and enclosing scopes stay. */
TEST(pg_events_flushed_mid_transaction)
{
    const char *url = fresh_db();
    if (!url) return;
    store *s;
    store_conn *c = open_conn(url, &s);
    if (!c) return;
    arena a;
    arena_init(&a);
    store_err e;
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    /* request 1: kept */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(c, "wrk_f", "r1", "con_1", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    /* request 2: merges (events go to the table), then fails */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(c, "wrk_f", "r2", "con_2", NULL), STORE_OK);
    CHECK_EQ_INT(store_event_resubject(c, "wrk_f", "con_1", "con_9", &e), STORE_OK);
    CHECK_STR(timeline(c, &a, "wrk_f", "con_9"), "r1");
    store_rollback_to(c);
    /* request 3: a batch whose first item merges, the second fails */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(c, "wrk_f", "r3", "con_3", NULL), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(c, "wrk_f", "r3.item1", "con_3", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(c, "wrk_f", "r3.item2", "con_3", NULL), STORE_OK);
    CHECK_EQ_INT(store_event_resubject(c, "wrk_f", "con_3", "con_8", &e), STORE_OK);
    CHECK_STR(timeline(c, &a, "wrk_f", "con_8"), "r3.item2 r3.item1 r3");
    store_rollback_to(c);
    CHECK_EQ_INT(append(c, "wrk_f", "r3.end", "con_3", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_EQ_INT(count_events(c, "wrk_f"), 4);
    CHECK_STR(timeline(c, &a, "wrk_f", "con_1"), "r1");
    CHECK_STR(timeline(c, &a, "wrk_f", "con_9"), "");
    CHECK_STR(timeline(c, &a, "wrk_f", "con_2"), "");
    CHECK_STR(timeline(c, &a, "wrk_f", "con_3"), "r3.end r3.item1 r3");
    CHECK_STR(timeline(c, &a, "wrk_f", "con_8"), "");
    arena_release(&a);
    store_disconnect(c);
    store_close(s);
}

/* ---------------------------------------------------------------- timeline */

TEST(pg_event_timeline)
{
    const char *url = fresh_db();
    if (!url) return;
    store *s;
    store_conn *c = open_conn(url, &s);
    if (!c) return;
    arena a;
    arena_init(&a);
    store_err e;
    /* outside a transaction, then inside one (buffered until commit) */
    CHECK_EQ_INT(store_event_append(c, "wrk_t", "lead.created", "lead", "led_1", NULL, "{\"n\":1}",
                                    NULL, "key_1", &e),
                 STORE_OK);
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_event_append(c, "wrk_t", "lead.updated", "lead", "led_1", NULL, "{}",
                                    "{\"stage\":{\"from\":\"a\",\"to\":\"b\"}}", NULL, &e),
                 STORE_OK);
    CHECK_EQ_INT(store_event_append(c, "wrk_t", "activity.created", "activity", "act_1", "led_1",
                                    "{}", NULL, NULL, &e),
                 STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_EQ_INT(store_event_append(c, "wrk_t", "activity.created", "activity", "act_2", "led_2",
                                    "{}", NULL, NULL, &e),
                 STORE_OK);
    CHECK_EQ_INT(
        store_event_append(c, "wrk_u", "lead.updated", "lead", "led_1", NULL, "{}", NULL, NULL, &e),
        STORE_OK);
    CHECK_EQ_INT(append(c, "wrk_t", "lead.deleted", "led_1", NULL), STORE_OK);

    /* newest first, in pages */
    store_event *ev;
    int n = 0;
    bool more = false;
    if (!CHECK_EQ_INT(store_event_list(c, &a, "wrk_t", "led_1", 0, 2, &ev, &n, &more, &e),
                      STORE_OK))
        printf("  %s\n", e.msg);
    CHECK_EQ_INT(n, 2);
    CHECK(more);
    if (n == 2) {
        CHECK_STR(ev[0].type, "lead.deleted");
        CHECK_STR(ev[1].type, "activity.created");
        CHECK_STR(ev[1].res_type, "activity");
        CHECK_STR(ev[1].res_id, "act_1");
        CHECK_STR(ev[1].subject_id, "led_1");
        CHECK(ev[1].changes == NULL);
        CHECK(ev[0].rid > ev[1].rid);
        CHECK(ev[1].created_ms > 0);
        CHECK(ev[1].id[0] != '\0');
        int64_t before = ev[1].rid;
        CHECK_EQ_INT(store_event_list(c, &a, "wrk_t", "led_1", before, 2, &ev, &n, &more, &e),
                     STORE_OK);
        CHECK_EQ_INT(n, 2);
        CHECK(!more);
        if (n == 2) {
            CHECK_STR(ev[0].type, "lead.updated");
            CHECK_STR(ev[0].changes, "{\"stage\":{\"from\":\"a\",\"to\":\"b\"}}");
            CHECK(ev[0].subject_id == NULL);
            CHECK(ev[0].actor == NULL);
            CHECK_STR(ev[1].type, "lead.created");
            CHECK_STR(ev[1].data, "{\"n\":1}");
            CHECK_STR(ev[1].actor, "key_1");
            CHECK(ev[0].rid < before);
        }
    }
    CHECK_STR(timeline(c, &a, "wrk_t", "led_2"), "activity.created");
    CHECK_STR(timeline(c, &a, "wrk_t", "nobody"), "");

    /* led_2 merged into led_1: its events (its own and those about it)
     * join led_1's timeline, the transaction's own included */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(append(c, "wrk_t", "lead.merge_prep", "led_2", NULL), STORE_OK);
    CHECK_EQ_INT(store_event_resubject(c, "wrk_t", "led_2", "led_1", &e), STORE_OK);
    CHECK_EQ_INT(append(c, "wrk_t", "lead.merged", "led_1", NULL), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_STR(timeline(c, &a, "wrk_t", "led_1"),
              "lead.merged lead.merge_prep lead.deleted activity.created activity.created "
              "lead.updated lead.created");
    /* the other workspace is untouched */
    CHECK_STR(timeline(c, &a, "wrk_u", "led_1"), "lead.updated");
    CHECK_EQ_INT(count_events(c, "wrk_t"), 7);
    arena_release(&a);
    store_disconnect(c);
    store_close(s);
}

/* ----------------------------------------------------------------- repoint */

TEST(pg_rec_repoint)
{
    const char *url = fresh_db();
    if (!url) return;
    store *s;
    store_conn *c = open_conn(url, &s);
    if (!c) return;
    PGconn *pc = raw_conn(url);
    if (!pc) {
        store_disconnect(c);
        store_close(s);
        return;
    }
    arena a;
    arena_init(&a);
    store_err e;
    const res_def *mem = res_find("company-memberships");
    const res_def *con = res_find("contacts");
    int contact_id = res_field_index(mem, "contact_id");
    int company_id = res_field_index(mem, "company_id");
    char ca[ID_MAX], cb[ID_MAX], cx[ID_MAX], cy[ID_MAX];
    add1(c, &a, "contacts", "wrk_r", "name", "A", ca);
    add1(c, &a, "contacts", "wrk_r", "name", "B", cb);
    add1(c, &a, "companies", "wrk_r", "name", "X", cx);
    add1(c, &a, "companies", "wrk_r", "name", "Y", cy);
    add_membership(c, &a, "wrk_r", ca, cx, "a-x");
    add_membership(c, &a, "wrk_r", ca, cy, "a-y");
    add_membership(c, &a, "wrk_r", cb, cx, "b-x");
    add_membership(c, &a, "wrk_q", ca, cy, "other-ws");

    /* A merged into B: (A,X) would duplicate (B,X) and goes; (A,Y) moves */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    if (!CHECK_EQ_INT(store_rec_repoint(c, mem, contact_id, "wrk_r", ca, cb, -1, NULL, &e),
                      STORE_OK))
        printf("  %s\n", e.msg);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_STR(values_where(pc, &a, mem->table, "role", "contact_id", ca), "other-ws");
    CHECK_STR(values_where(pc, &a, mem->table, "role", "contact_id", cb), "a-y b-x");

    /* Company Y deleted: its memberships' reference cleared */
    if (!CHECK_EQ_INT(store_rec_repoint(c, mem, company_id, "wrk_r", cy, NULL, -1, NULL, &e),
                      STORE_OK))
        printf("  %s\n", e.msg);
    CHECK_STR(values_where(pc, &a, mem->table, "role", "coalesce(company_id, 'none')", "none"),
              "a-y");
    CHECK_STR(values_where(pc, &a, mem->table, "role", "company_id", cy), "other-ws");

    /* With a type field (as polymorphic references have): only rows of
     * that type move, and clearing clears the type too. Contacts stand in:
     * status plays the type. */
    int company = res_field_index(con, "company_id"), status = res_field_index(con, "status");
    char c1[ID_MAX], c2[ID_MAX], c3[ID_MAX];
    const char *st[] = {"active", "archived", "active"};
    char *ids[] = {c1, c2, c3};
    for (int i = 0; i < 3; i++) {
        res_row row = new_row(&a, con);
        set_s(con, &row, "company_id", cx);
        set_s(con, &row, "status", st[i]);
        set_s(con, &row, "name", arena_printf(&a, "t%d", i));
        insert(c, con, "wrk_r", &row);
        snprintf(ids[i], ID_MAX, "%s", row.id);
    }
    CHECK_EQ_INT(store_rec_repoint(c, con, company, "wrk_r", cx, cy, status, "active", &e),
                 STORE_OK);
    CHECK_STR(values_where(pc, &a, "contacts", "name", "company_id", cy), "t0 t2");
    CHECK_STR(values_where(pc, &a, "contacts", "name", "company_id", cx), "t1");
    if (!CHECK_EQ_INT(store_rec_repoint(c, con, company, "wrk_r", cy, NULL, status, "active", &e),
                      STORE_OK))
        printf("  %s\n", e.msg);
    CHECK_STR(values_where(pc, &a, "contacts", "coalesce(status, '-') || coalesce(company_id, '-')",
                           "name", "t0"),
              "--");
    CHECK_STR(values_where(pc, &a, "contacts", "status", "name", "t1"), "archived");
    /* nothing matches: fine */
    CHECK_EQ_INT(store_rec_repoint(c, mem, contact_id, "wrk_r", "con_none", cb, -1, NULL, &e),
                 STORE_OK);
    arena_release(&a);
    PQfinish(pc);
    store_disconnect(c);
    store_close(s);
}

/* --------------------------------------------------------------- aggregate */

static const char *agg_text(arena *a, const store_agg_row *rows, int n)
{
    char *s = arena_strdup(a, "");
    for (int i = 0; i < n; i++) {
        s = arena_printf(a, "%s%s", s, i ? " " : "");
        for (int g = 0; g < 2; g++) {
            const store_val *k = &rows[i].key[g];
            if (k->kind == SV_INT)
                s = arena_printf(a, "%s#%lld/", s, (long long)k->i);
            else if (k->kind == SV_TEXT)
                s = arena_printf(a, "%s%s/", s, k->s);
            else
                s = arena_printf(a, "%s-/", s);
        }
        s = arena_printf(a, "%s%lld:%lld", s, (long long)rows[i].count, (long long)rows[i].sum);
    }
    return s;
}

TEST(pg_rec_aggregate)
{
    const char *url = fresh_db();
    if (!url) return;
    store *s;
    store_conn *c = open_conn(url, &s);
    if (!c) return;
    arena a;
    arena_init(&a);
    store_err e;
    const res_def *r = res_find("companies");
    struct {
        const char *status, *country;
        int64_t employees, revenue;
    } rows[] = {
        {"active", "FR", 10, 100},  {"active", "FR", 50, 200}, {"active", "DE", 5, 1000},
        {"inactive", "FR", 500, 7}, {"active", NULL, 20, 30},
    };
    for (int i = 0; i < 5; i++) {
        res_row row = new_row(&a, r);
        set_s(r, &row, "name", "co");
        set_s(r, &row, "status", rows[i].status);
        set_s(r, &row, "country", rows[i].country);
        set_i(r, &row, "employee_count", rows[i].employees);
        set_i(r, &row, "annual_revenue_cents", rows[i].revenue);
        insert(c, r, "wrk_g", &row);
    }
    res_row x = new_row(&a, r);
    set_s(r, &x, "status", "active");
    set_i(r, &x, "annual_revenue_cents", 99999);
    insert(c, r, "wrk_h", &x); /* another workspace */
    int status = res_field_index(r, "status"), country = res_field_index(r, "country");
    int emp = res_field_index(r, "employee_count"),
        rev = res_field_index(r, "annual_revenue_cents");
    store_agg_row *out;
    int n = -1;

    store_agg q = {.group = {status, -1}, .sum = rev};
    CHECK_EQ_INT(store_rec_aggregate(c, &a, r, "wrk_g", &q, &out, &n, &e), STORE_OK);
    CHECK_STR(agg_text(&a, out, n), "active/-/4:1330 inactive/-/1:7");

    q = (store_agg){.group = {status, country}, .sum = -1};
    CHECK_EQ_INT(store_rec_aggregate(c, &a, r, "wrk_g", &q, &out, &n, &e), STORE_OK);
    CHECK_STR(agg_text(&a, out, n), "active/-/1:0 active/DE/1:0 active/FR/2:0 inactive/FR/1:0");

    /* 10 <= employees < 500, grouped by an integer column */
    store_filter f[] = {
        {.field = emp, .op = SF_GE, .v = {.kind = SV_INT, .i = 10}},
        {.field = emp, .op = SF_LT, .v = {.kind = SV_INT, .i = 500}},
    };
    q = (store_agg){.filters = f, .nfilters = 2, .group = {emp, -1}, .sum = rev};
    if (!CHECK_EQ_INT(store_rec_aggregate(c, &a, r, "wrk_g", &q, &out, &n, &e), STORE_OK))
        printf("  %s\n", e.msg);
    CHECK_STR(agg_text(&a, out, n), "#10/-/1:100 #20/-/1:30 #50/-/1:200");

    /* no grouping: one row; with an equality filter (case-insensitive) */
    store_filter fc = {.field = country, .op = SF_EQ, .v = {.kind = SV_TEXT, .s = "fr"}};
    q = (store_agg){.filters = &fc, .nfilters = 1, .group = {-1, -1}, .sum = emp};
    CHECK_EQ_INT(store_rec_aggregate(c, &a, r, "wrk_g", &q, &out, &n, &e), STORE_OK);
    CHECK_STR(agg_text(&a, out, n), "-/-/3:560");

    /* nothing matches: grouped gives no rows */
    fc.v.s = "nowhere";
    q.group[0] = status;
    CHECK_EQ_INT(store_rec_aggregate(c, &a, r, "wrk_g", &q, &out, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 0);
    arena_release(&a);
    store_disconnect(c);
    store_close(s);
}

/* ----------------------------------------------------- merged, lock, SF_REL */

/* ------------------------------------------------------ search postings */

/* The terms posted for the row with this id, sorted, without the tag. */
static const char *terms_of(PGconn *pc, arena *a, const char *id)
{
    const char *rid = values_where(pc, a, "contacts", "rid::text", "id", id);
    char term[32];
    snprintf(term, sizeof term, "substr(term, %d)", SEARCH_TAG_LEN + 1);
    return values_where(pc, a, "contacts_terms", term, "doc_rid", rid);
}

static int search_n(store_conn *c, arena *a, const char *ws, const char *text)
{
    store_query q = {.limit = 10, .link_field = -1, .fts = text};
    res_row *rows;
    int n = -1;
    bool more;
    store_err e;
    if (!CHECK_EQ_INT(store_rec_list(c, a, res_find("contacts"), ws, &q, &rows, &n, &more, &e),
                      STORE_OK))
        printf("  %s\n", e.msg);
    return n;
}

/* Postings follow every write: a row's 2- and 4-character word prefixes
 * on insert, the new ones only after an update, none after a delete. */
TEST(pg_search_postings)
{
    const char *url = fresh_db();
    if (!url) return;
    store *s;
    store_conn *c = open_conn(url, &s);
    if (!c) return;
    PGconn *pc = raw_conn(url);
    if (!pc) {
        store_disconnect(c);
        store_close(s);
        return;
    }
    arena a;
    arena_init(&a);
    const res_def *r = res_find("contacts");
    char id[ID_MAX], other[ID_MAX];
    add1(c, &a, "contacts", "wrk_t", "name", "Alpha Bravo Al", id);
    add1(c, &a, "contacts", "wrk_t", "name", "Alphonse", other);
    CHECK_STR(terms_of(pc, &a, id), "al alph br brav");
    CHECK_EQ_INT(search_n(c, &a, "wrk_t", "alph"), 2);
    CHECK_EQ_INT(search_n(c, &a, "wrk_t", "alpha"), 1); /* the prefix posting, then the check */
    CHECK_EQ_INT(search_n(c, &a, "wrk_t", "bravo alp"), 1);
    CHECK_EQ_INT(search_n(c, &a, "wrk_x", "alph"), 0); /* another workspace's tag */

    res_row row = new_row(&a, r);
    snprintf(row.id, sizeof row.id, "%s", id);
    set_s(r, &row, "name", "Charlie");
    bool *set = arena_zalloc(&a, sizeof(bool) * (size_t)r->nfields);
    set[res_field_index(r, "name")] = true;
    store_err e;
    CHECK_EQ_INT(store_rec_update(c, r, "wrk_t", &row, set, false, &e), STORE_OK);
    CHECK_STR(terms_of(pc, &a, id), "ch char");
    CHECK_EQ_INT(search_n(c, &a, "wrk_t", "alph"), 1);
    CHECK_EQ_INT(search_n(c, &a, "wrk_t", "charl"), 1);

    CHECK_EQ_INT(store_rec_delete(c, r, "wrk_t", id, &e), STORE_OK);
    CHECK_EQ_INT(raw_int(pc, "SELECT count(*)::int FROM contacts_terms t WHERE NOT EXISTS "
                             "(SELECT 1 FROM contacts WHERE rid = t.doc_rid)"),
                 0);
    CHECK_EQ_INT(search_n(c, &a, "wrk_t", "charl"), 0);

    /* A migration with nothing changed leaves the triggers as they are
     * (re-creating them would lock the table at every node's start). */
    const char *trig = "SELECT oid::int FROM pg_trigger WHERE tgname = 'contacts_terms_i'";
    long long oid = raw_int(pc, trig);
    int applied0 = -1;
    CHECK_EQ_INT(store_migrate(c, &applied0, &e), STORE_OK);
    CHECK(oid > 0 && raw_int(pc, trig) == oid);

    /* A database from before the postings, or cut another way: the
     * migration fills them again from the rows. */
    CHECK_EQ_INT(raw_int(pc, "WITH d AS (DELETE FROM contacts_terms RETURNING 1), "
                             "u AS (UPDATE search_indexes SET ddl = 'an older cut' "
                             "WHERE table_name = 'contacts_terms' RETURNING 1) "
                             "SELECT (SELECT count(*) FROM u)::int"),
                 1);
    CHECK_EQ_INT(search_n(c, &a, "wrk_t", "alph"), 0);
    int applied = -1;
    CHECK_EQ_INT(store_migrate(c, &applied, &e), STORE_OK);
    CHECK_STR(terms_of(pc, &a, other), "al alph");
    CHECK_EQ_INT(search_n(c, &a, "wrk_t", "alph"), 1);
    PQfinish(pc);
    arena_release(&a);
    store_disconnect(c);
    store_close(s);
}

/* Documents written before folding (an older database) are rewritten by
 * the migration, postings included, and then found without accents. */
TEST(pg_search_folding_migrates)
{
    const char *url = fresh_db();
    if (!url) return;
    store *s;
    store_conn *c = open_conn(url, &s);
    if (!c) return;
    PGconn *pc = raw_conn(url);
    if (!pc) {
        store_disconnect(c);
        store_close(s);
        return;
    }
    arena a;
    arena_init(&a);
    char id[ID_MAX];
    add1(c, &a, "contacts", "wrk_f", "name", "Zoë Müller", id);
    CHECK_EQ_INT(search_n(c, &a, "wrk_f", "zoe mull"), 1);
    char tag[SEARCH_TAG_LEN + 1], sql[512];
    search_tag("wrk_f", tag);
    snprintf(sql, sizeof sql,
             "WITH u AS (UPDATE contacts SET search_doc = ' %1$sZoë %1$sMüller' WHERE id = '%2$s' "
             "RETURNING 1), v AS (UPDATE search_indexes SET ddl = 'an older document' "
             "WHERE table_name = 'contacts' RETURNING 1) "
             "SELECT (SELECT count(*) FROM u) + (SELECT count(*) FROM v)",
             tag, id);
    CHECK_EQ_INT(raw_int(pc, sql), 2);
    CHECK_EQ_INT(search_n(c, &a, "wrk_f", "mull"), 0);
    CHECK_EQ_INT(search_n(c, &a, "wrk_f", "müll"), 0); /* the query side folds */
    int applied = -1;
    store_err e;
    CHECK_EQ_INT(store_migrate(c, &applied, &e), STORE_OK);
    CHECK_STR(values_where(pc, &a, "contacts", "search_doc", "id", id),
              arena_printf(&a, " %1$sZoe %1$sMuller", tag));
    CHECK_EQ_INT(search_n(c, &a, "wrk_f", "mull"), 1);
    CHECK_EQ_INT(search_n(c, &a, "wrk_f", "ZOË MÜLLER"), 1);
    PQfinish(pc);
    arena_release(&a);
    store_disconnect(c);
    store_close(s);
}

TEST(pg_merged_records_and_lock)
{
    const char *url = fresh_db();
    if (!url) return;
    store *s;
    store_conn *c = open_conn(url, &s);
    if (!c) return;
    store_err e;
    char into[ID_MAX] = "";
    CHECK_EQ_INT(store_merged_get(c, "wrk_m", "contacts", "con_1", into, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_merged_put(c, "wrk_m", "contacts", "con_1", "con_2", "{\"a\":1}", &e),
                 STORE_OK);
    CHECK_EQ_INT(store_merged_get(c, "wrk_m", "contacts", "con_1", into, &e), STORE_OK);
    CHECK_STR(into, "con_2");
    /* merged again (the survivor itself merged away): the newer wins */
    CHECK_EQ_INT(store_merged_put(c, "wrk_m", "contacts", "con_1", "con_3", "{}", &e), STORE_OK);
    CHECK_EQ_INT(store_merged_get(c, "wrk_m", "contacts", "con_1", into, &e), STORE_OK);
    CHECK_STR(into, "con_3");
    CHECK_EQ_INT(store_merged_get(c, "wrk_x", "contacts", "con_1", into, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_merged_get(c, "wrk_m", "companies", "con_1", into, &e), STORE_NOTFOUND);

    /* nothing to merge on PostgreSQL, and upkeep says so */
    bool more = true;
    CHECK_EQ_INT(store_maintain(c, 100, &more, &e), STORE_OK);
    CHECK(!more);

    /* a lock is held until the transaction ends, and only that key's */
    PGconn *pc = raw_conn(url);
    if (pc) {
        const char *probe = "SELECT pg_try_advisory_xact_lock(hashtextextended("
                            "'wrk_m' || ' ' || 'email:a@b.c', 1))::int";
        CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
        CHECK_EQ_INT(store_lock(c, "wrk_m", "email:a@b.c", &e), STORE_OK);
        CHECK_EQ_INT(raw_int(pc, probe), 0);
        CHECK_EQ_INT(raw_int(pc, "SELECT pg_try_advisory_xact_lock(hashtextextended("
                                 "'wrk_m' || ' ' || 'email:x@b.c', 1))::int"),
                     1);
        CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
        CHECK_EQ_INT(raw_int(pc, probe), 1);
        PQfinish(pc);
    }
    store_disconnect(c);
    store_close(s);
}

TEST(pg_list_rel_filter)
{
    const char *url = fresh_db();
    if (!url) return;
    store *s;
    store_conn *c = open_conn(url, &s);
    if (!c) return;
    arena a;
    arena_init(&a);
    store_err e;
    const res_def *con = res_find("contacts"), *com = res_find("companies");
    char acme[ID_MAX], other[ID_MAX], acme2[ID_MAX];
    add1(c, &a, "companies", "wrk_l", "domain", "Acme.COM", acme);
    add1(c, &a, "companies", "wrk_l", "domain", "other.org", other);
    add1(c, &a, "companies", "wrk_o", "domain", "acme.com", acme2); /* another workspace */
    const char *co[] = {acme, other, acme, NULL, acme2};
    for (int i = 0; i < 5; i++) {
        res_row row = new_row(&a, con);
        set_s(con, &row, "name", arena_printf(&a, "p%d", i));
        set_s(con, &row, "company_id", co[i]);
        insert(c, con, "wrk_l", &row);
    }
    store_filter f = {.field = res_field_index(con, "company_id"),
                      .op = SF_REL,
                      .v = {.kind = SV_TEXT, .s = "ACME.com"},
                      .rel = com,
                      .rel_field = res_field_index(com, "domain")};
    store_query q = {.filters = &f, .nfilters = 1, .limit = 10, .link_field = -1};
    res_row *rows;
    int n = -1;
    bool more = true;
    if (!CHECK_EQ_INT(store_rec_list(c, &a, con, "wrk_l", &q, &rows, &n, &more, &e), STORE_OK))
        printf("  %s\n", e.msg);
    CHECK_EQ_INT(n, 2);
    CHECK(!more);
    if (n == 2) {
        CHECK_STR(get_s(con, &rows[0], "name"), "p2");
        CHECK_STR(get_s(con, &rows[1], "name"), "p0");
    }
    /* combined with a comparison and paged */
    q.limit = 1;
    CHECK_EQ_INT(store_rec_list(c, &a, con, "wrk_l", &q, &rows, &n, &more, &e), STORE_OK);
    CHECK_EQ_INT(n, 1);
    CHECK(more);
    if (n == 1) q.after_rid = rows[0].rid;
    CHECK_EQ_INT(store_rec_list(c, &a, con, "wrk_l", &q, &rows, &n, &more, &e), STORE_OK);
    CHECK_EQ_INT(n, 1);
    CHECK(!more);
    if (n == 1) CHECK_STR(get_s(con, &rows[0], "name"), "p0");
    store_filter f2[] = {
        f, {.field = res_field_index(con, "name"), .op = SF_GE, .v = {.kind = SV_TEXT, .s = "p1"}}};
    q = (store_query){.filters = f2, .nfilters = 2, .limit = 10, .link_field = -1};
    CHECK_EQ_INT(store_rec_list(c, &a, con, "wrk_l", &q, &rows, &n, &more, &e), STORE_OK);
    CHECK_EQ_INT(n, 1);
    if (n == 1) CHECK_STR(get_s(con, &rows[0], "name"), "p2");
    /* no company with that domain */
    f.v.s = "nobody.net";
    q = (store_query){.filters = &f, .nfilters = 1, .limit = 10, .link_field = -1};
    CHECK_EQ_INT(store_rec_list(c, &a, con, "wrk_l", &q, &rows, &n, &more, &e), STORE_OK);
    CHECK_EQ_INT(n, 0);
    arena_release(&a);
    store_disconnect(c);
    store_close(s);
}

/* Rollups on PostgreSQL: atomic increments, matching, NULL keys, rebuild. */
TEST(pg_rollups)
{
    const char *url = fresh_db();
    if (!url) return;
    store *s;
    store_conn *c = open_conn(url, &s);
    if (!c) return;
    arena a;
    arena_init(&a);
    store_err e;
    const res_def *r = res_find("deals");
    store_val k1[3] = {{.kind = SV_TEXT, .s = "open"}, {.kind = SV_TEXT, .s = "stage_a"}, {0}};
    CHECK_EQ_INT(store_rollup_add(c, r, "wrk_r", k1, 1, 100, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_add(c, r, "wrk_r", k1, 2, 50, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_add(c, r, "wrk_other", k1, 1, 1, &e), STORE_OK);
    store_agg_row *rows;
    int n;
    const char *m[3] = {"open", "stage_a", NULL};
    CHECK_EQ_INT(store_rollup_list(c, &a, r, "wrk_r", m, &rows, &n, &e), STORE_OK);
    if (CHECK_EQ_INT(n, 1)) {
        CHECK_EQ_INT(rows[0].count, 3);
        CHECK_EQ_INT(rows[0].sum, 150);
        CHECK(rows[0].key[2].kind == SV_NULL);
    }
    for (int i = 0; i < 2; i++) {
        res_row row = new_row(&a, r);
        set_s(r, &row, "name", "deal");
        set_s(r, &row, "status", "won");
        set_s(r, &row, "stage_id", "stage_w");
        set_s(r, &row, "currency", "USD");
        insert(c, r, "wrk_r", &row);
    }
    CHECK_EQ_INT(store_rollup_rebuild(c, r, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_list(c, &a, r, "wrk_r", NULL, &rows, &n, &e), STORE_OK);
    if (CHECK_EQ_INT(n, 1)) {
        CHECK_STR(rows[0].key[0].s, "won");
        CHECK_EQ_INT(rows[0].count, 2);
        CHECK_EQ_INT(rows[0].sum, 0); /* no amounts: NULLs sum to 0 */
    }
    arena_release(&a);
    store_disconnect(c);
    store_close(s);
}

/* Savepoints travel with the first statement inside them: levels that saw
 * no statement never reach the server, and every mix of sent and unsent
 * levels still undoes exactly what it should. */
TEST(pg_savepoints_sent_with_statements)
{
    const char *url = fresh_db();
    if (!url) return;
    store *s;
    store_conn *c = open_conn(url, &s);
    if (!c) return;
    arena a;
    arena_init(&a);
    store_err e;
    const res_def *con = res_find("contacts");
    char kept[ID_MAX], gone[ID_MAX], late[ID_MAX];
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    /* Request 1: a statement, released (the release is owed). */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    add1(c, &a, "contacts", "wrk_p", "name", "Kept", kept);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    /* Request 2: fails before any statement; nothing to undo. */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    store_rollback_to(c);
    /* Request 3: an unsent inner level released, then a statement in the
     * outer one, then the outer rolled back. */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    add1(c, &a, "contacts", "wrk_p", "name", "Gone", gone);
    store_rollback_to(c);
    /* Request 4: nested, both with statements, kept. */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    add1(c, &a, "contacts", "wrk_p", "name", "Late", late);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_exists(c, con, "wrk_p", kept, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_exists(c, con, "wrk_p", gone, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_rec_exists(c, con, "wrk_p", late, &e), STORE_OK);
    /* A failed statement inside a level sent with it: rolled back, the
     * transaction carries on. */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    res_row dup = new_row(&a, con);
    snprintf(dup.id, sizeof dup.id, "%s", kept);
    CHECK_EQ_INT(store_rec_insert(c, con, "wrk_p", &dup, &e), STORE_CONFLICT);
    store_rollback_to(c);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    add1(c, &a, "contacts", "wrk_p", "name", "After", gone);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_exists(c, con, "wrk_p", gone, &e), STORE_OK);
    arena_release(&a);
    store_disconnect(c);
    store_close(s);
}
