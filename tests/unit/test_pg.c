/* test_pg.c - the PostgreSQL backend through store.h, where SQLite-file
 * tests cannot reach: events buffered inside a transaction (dropped with a
 * savepoint, inserted at commit), and keyset sorting with NULLs. Runs when
 * CAIRN_TEST_PG names an admin URL (scripts/with-postgres.sh sets it);
 * otherwise every test here is skipped. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/timeutil.h"
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
    CHECK_EQ_INT(store_event_append(c, "wrk_a", "t.one", "r", "id1", "{}", NULL, &e), STORE_OK);
    CHECK_EQ_INT(store_event_count(c, "wrk_a", &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 1);
    /* a batch: request 1 kept, request 2 rolled back, request 3 kept */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(
        store_event_append(c, "wrk_a", "t.two", "r", "id2", "{\"q\":\"a\\\"b\"}", "key_1", &e),
        STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_event_append(c, "wrk_a", "t.gone", "r", "id3", "{}", NULL, &e), STORE_OK);
    store_rollback_to(c);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_event_append(c, "wrk_a", "t.three", "r", "id4", "{}", NULL, &e), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_EQ_INT(store_event_count(c, "wrk_a", &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 3);
    /* a rolled-back transaction leaves nothing */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_event_append(c, "wrk_a", "t.four", "r", "id5", "{}", NULL, &e), STORE_OK);
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
