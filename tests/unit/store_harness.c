/* store_harness.c - databases and helpers for the store tests on every
 * backend; see store_harness.h. */
#include "store_harness.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/timeutil.h"

static test_backend running = TB_SQLITE;

test_backend store_test_backend(void)
{
    return running;
}

void store_test_on(test_backend be, void (*body)(void))
{
    running = be;
    body();
    running = TB_SQLITE;
}

/* A new database on the PostgreSQL server; its URL to url (cap bytes). */
static bool pg_fresh(const char *name, char *url, size_t cap)
{
    const char *admin = getenv("CAIRN_TEST_PG");
    if (!admin || !*admin) {
        test_skip("needs PostgreSQL (run under scripts/with-postgres.sh)");
        return false;
    }
    static int n;
    char db_name[96];
    snprintf(db_name, sizeof db_name, "unit_%d_%d", (int)getpid(), n++);
    for (char *p = db_name; *p; p++)
        if (*p == '.') *p = '_';
    PGconn *pc = PQconnectdb(admin);
    char sql[160];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db_name);
    PGresult *r = PQexec(pc, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) printf("  %s: %s", name, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(pc);
    if (!CHECK(ok)) return false;
    const char *slash = strrchr(admin, '/');
    snprintf(url, cap, "%.*s/%s", (int)(slash - admin), admin, db_name);
    return true;
}

bool db_connect_again(const db *d, const store_opts *o, store **s, store_conn **c)
{
    store_err e = {{0}};
    if (!CHECK_EQ_INT(store_open(s, d->url, o, &e), STORE_OK)) {
        printf("  %s\n", e.msg);
        return false;
    }
    if (!CHECK_EQ_INT(store_connect(*s, c, &e), STORE_OK)) {
        printf("  %s\n", e.msg);
        store_close(*s);
        *s = NULL;
        return false;
    }
    return true;
}

static bool open_at(db *d, test_backend be, const char *name)
{
    memset(d, 0, sizeof *d);
    arena_init(&d->a);
    d->be = be;
    if (be == TB_POSTGRES) {
        if (!pg_fresh(name, d->url, sizeof d->url)) return false;
    } else {
        snprintf(d->url, sizeof d->url, "%s", test_path(name));
    }
    store_opts o = {.durable = be == TB_POSTGRES, .busy_ms = 2000};
    return db_connect_again(d, &o, &d->s, &d->c);
}

bool db_open_bare(db *d, const char *name)
{
    return open_at(d, running, name);
}

bool db_open_on(db *d, test_backend be, const char *name)
{
    if (!open_at(d, be, name)) {
        arena_release(&d->a);
        return false;
    }
    store_err e = {{0}};
    int applied = -1;
    if (!CHECK_EQ_INT(store_migrate(d->c, &applied, &e), STORE_OK)) printf("  %s\n", e.msg);
    store_workspace w;
    if (!CHECK_EQ_INT(store_workspace_create(d->c, "A", &w, &e), STORE_OK)) printf("  %s\n", e.msg);
    snprintf(d->ws, sizeof d->ws, "%s", w.id);
    if (!CHECK_EQ_INT(store_workspace_create(d->c, "B", &w, &e), STORE_OK)) printf("  %s\n", e.msg);
    snprintf(d->ws2, sizeof d->ws2, "%s", w.id);
    return true;
}

bool db_open(db *d, const char *name)
{
    return db_open_on(d, running, name);
}

void db_close(db *d)
{
    if (d->raw && d->be == TB_POSTGRES) PQfinish(d->raw);
    if (d->raw && d->be == TB_SQLITE) sqlite3_close(d->raw);
    d->raw = NULL;
    if (d->c) store_disconnect(d->c);
    if (d->s) store_close(d->s);
    d->c = NULL;
    d->s = NULL;
    arena_release(&d->a);
}

/* ------------------------------------------------------- raw connection */

static bool raw_open(db *d)
{
    if (d->raw) return true;
    if (d->be == TB_POSTGRES) {
        PGconn *pc = PQconnectdb(d->url);
        if (!CHECK(PQstatus(pc) == CONNECTION_OK)) {
            PQfinish(pc);
            return false;
        }
        d->raw = pc;
    } else {
        sqlite3 *db = NULL;
        if (!CHECK_EQ_INT(sqlite3_open_v2(d->url, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK)) {
            sqlite3_close(db);
            return false;
        }
        d->raw = db;
    }
    return true;
}

/* Every row's first column (NULL as "-"), joined by spaces, in d's arena;
 * NULL on error. */
static const char *raw_rows(db *d, const char *sql)
{
    if (!raw_open(d)) return NULL;
    char *out = arena_strdup(&d->a, "");
    if (d->be == TB_POSTGRES) {
        PGresult *r = PQexec(d->raw, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            printf("  %s", PQresultErrorMessage(r));
            PQclear(r);
            return NULL;
        }
        for (int i = 0; i < PQntuples(r); i++)
            out = arena_printf(&d->a, "%s%s%s", out, i ? " " : "",
                               PQgetisnull(r, i, 0) ? "-" : PQgetvalue(r, i, 0));
        PQclear(r);
        return out;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->raw, sql, -1, &st, NULL) != SQLITE_OK) {
        printf("  %s\n", sqlite3_errmsg(d->raw));
        return NULL;
    }
    int rc, i = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        out = arena_printf(&d->a, "%s%s%s", out, i++ ? " " : "", t ? (const char *)t : "-");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        printf("  %s\n", sqlite3_errmsg(d->raw));
        return NULL;
    }
    return out;
}

bool raw_exec(db *d, const char *sql)
{
    if (!raw_open(d)) return false;
    if (d->be == TB_POSTGRES) {
        PGresult *r = PQexec(d->raw, sql);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok) printf("  %s", PQresultErrorMessage(r));
        PQclear(r);
        return CHECK(ok);
    }
    char *msg = NULL;
    bool ok = sqlite3_exec(d->raw, sql, NULL, NULL, &msg) == SQLITE_OK;
    if (!ok) printf("  %s\n", msg ? msg : "?");
    sqlite3_free(msg);
    return CHECK(ok);
}

long long raw_int(db *d, const char *sql)
{
    const char *s = raw_rows(d, sql);
    if (!s || !*s || *s == '-') return -1;
    return strtoll(s, NULL, 10);
}

const char *raw_text(db *d, const char *sql)
{
    const char *s = raw_rows(d, sql);
    return s ? s : "?";
}

const char *values_where(db *d, const char *table, const char *field, const char *by,
                         const char *value)
{
    char *sql = arena_printf(&d->a, "SELECT coalesce(%s, '-') FROM %s WHERE %s = '%s' ORDER BY 1",
                             field, table, by, value);
    return raw_text(d, sql);
}

/* s without the spaces outside its strings, in a (at most cap bytes). */
static void json_squeeze(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    bool in_str = false;
    for (; *s && n + 2 < cap; s++) {
        if (in_str && *s == '\\' && s[1]) {
            out[n++] = *s++;
        } else if (*s == '"') {
            in_str = !in_str;
        } else if (!in_str && *s == ' ') {
            continue;
        }
        out[n++] = *s;
    }
    out[n] = '\0';
}

bool json_same(const char *got, const char *want)
{
    if (!got || !want) return got == want;
    char a[4096], b[4096];
    json_squeeze(got, a, sizeof a);
    json_squeeze(want, b, sizeof b);
    return strcmp(a, b) == 0;
}

/* --------------------------------------------------------------- records */

const res_def *R(const char *name)
{
    const res_def *r = res_find(name);
    if (!CHECK(r != NULL)) printf("  no resource %s in the table\n", name);
    return r;
}

int FI(const res_def *r, const char *field)
{
    int i = res_field_index(r, field);
    if (!CHECK(i >= 0)) printf("  resource %s has no field %s\n", r->name, field);
    return i;
}

res_row new_row(db *d, const res_def *r)
{
    res_row row = {0};
    id_new(row.id, r->prefix);
    row.created_ms = row.updated_ms = (int64_t)time_now_ms();
    row.vals = arena_zalloc(&d->a, sizeof(store_val) * (size_t)r->nfields);
    return row;
}

void set_s(const res_def *r, res_row *row, const char *field, const char *s)
{
    int i = FI(r, field);
    if (i >= 0) row->vals[i] = s ? (store_val){.kind = SV_TEXT, .s = s} : (store_val){0};
}

void set_i(const res_def *r, res_row *row, const char *field, int64_t v)
{
    int i = FI(r, field);
    if (i >= 0) row->vals[i] = (store_val){.kind = SV_INT, .i = v};
}

const store_val *get_v(const res_def *r, const res_row *row, const char *field)
{
    static const store_val null_val = {0};
    int i = FI(r, field);
    return i >= 0 ? &row->vals[i] : &null_val;
}

const char *get_s(const res_def *r, const res_row *row, const char *field)
{
    const store_val *v = get_v(r, row, field);
    return v->kind == SV_TEXT ? v->s : NULL;
}

bool insert_row(db *d, const res_def *r, const char *ws, res_row *row)
{
    store_err e = {{0}};
    int rc = store_rec_insert(d->c, r, ws, row, &e);
    if (!CHECK_EQ_INT(rc, STORE_OK)) printf("  insert %s: %s\n", r->name, e.msg);
    return rc == STORE_OK;
}

void add1(db *d, const char *res, const char *ws, const char *field, const char *value,
          char *id_out)
{
    const res_def *r = R(res);
    res_row row = new_row(d, r);
    if (field) set_s(r, &row, field, value);
    insert_row(d, r, ws, &row);
    snprintf(id_out, ID_MAX, "%s", row.id);
}

int64_t add_contact(db *d, const char *ws, const char *name, const char *email, const char *status,
                    char *id_out)
{
    const res_def *r = R("contacts");
    res_row row = new_row(d, r);
    set_s(r, &row, "name", name);
    set_s(r, &row, "email", email);
    set_s(r, &row, "status", status ? status : "active");
    insert_row(d, r, ws, &row);
    if (id_out) snprintf(id_out, ID_MAX, "%s", row.id);
    return row.rid;
}

void add_membership(db *d, const char *ws, const char *contact, const char *company,
                    const char *role)
{
    const res_def *r = R("company-memberships");
    res_row row = new_row(d, r);
    set_s(r, &row, "contact_id", contact);
    set_s(r, &row, "company_id", company);
    set_s(r, &row, "role", role);
    insert_row(d, r, ws, &row);
}

store_query q_all(int limit)
{
    return (store_query){.limit = limit, .link_field = -1};
}

int list(db *d, const res_def *r, const char *ws, const store_query *q, res_row **out, bool *more)
{
    res_row *rows = NULL;
    int n = -1;
    bool m = false;
    store_err e = {{0}};
    int rc = store_rec_list(d->c, &d->a, r, ws, q, &rows, &n, &m, &e);
    if (!CHECK_EQ_INT(rc, STORE_OK)) printf("  list %s: %s\n", r->name, e.msg);
    if (out) *out = rows;
    if (more) *more = m;
    return n;
}

int search(db *d, const char *ws, const char *text)
{
    store_query q = q_all(100);
    q.fts = text;
    return list(d, R("contacts"), ws, &q, NULL, NULL);
}

/* ---------------------------------------------------------------- events */

int append(db *d, const char *ws, const char *type, const char *res_id, const char *subject)
{
    store_err e = {{0}};
    int rc = store_event_append(d->c, ws, type, "contact", res_id, subject, "{}", NULL, NULL, &e);
    if (rc) printf("  append: %s\n", e.msg);
    return rc;
}

int64_t count_events(db *d, const char *ws)
{
    store_err e = {{0}};
    int64_t n = -1;
    CHECK_EQ_INT(store_event_count(d->c, ws, &n, &e), STORE_OK);
    return n;
}

const char *timeline(db *d, const char *ws, const char *id)
{
    store_event *ev;
    int n = 0;
    bool more = false;
    store_err e = {{0}};
    if (!CHECK_EQ_INT(store_event_list(d->c, &d->a, ws, id, 0, 100, &ev, &n, &more, &e),
                      STORE_OK)) {
        printf("  %s\n", e.msg);
        return "?";
    }
    char *s = arena_strdup(&d->a, "");
    for (int i = 0; i < n; i++)
        s = arena_printf(&d->a, "%s%s%s", s, i ? " " : "", ev[i].type);
    return s;
}

const char *agg_text(arena *a, const store_agg_row *rows, int n)
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
