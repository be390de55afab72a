/* test_store.c - the store interface (store.h) against a temp SQLite file.
 *
 * Only store.h is used, so these tests hold for any implementation. Each
 * test opens its own database file under the run's temp directory, so tests
 * do not depend on each other's rows. Rows are built the way the engine
 * builds them: one store_val per field of the resource, in table order. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "store/search.h"
#include "store/store.h"
#include "test.h"

/* ---------------------------------------------------------------- helpers */

typedef struct db {
    store *s;
    store_conn *c;
    arena a;
    char ws[ID_MAX];  /* workspace "A" */
    char ws2[ID_MAX]; /* workspace "B" */
} db;

static bool db_open(db *d, const char *name)
{
    memset(d, 0, sizeof *d);
    arena_init(&d->a);
    store_err e = {{0}};
    store_opts o = {.durable = false, .busy_ms = 2000};
    if (!CHECK_EQ_INT(store_open(&d->s, test_path(name), &o, &e), STORE_OK)) {
        printf("  %s\n", e.msg);
        return false;
    }
    if (!CHECK_EQ_INT(store_connect(d->s, &d->c, &e), STORE_OK)) {
        printf("  %s\n", e.msg);
        store_close(d->s);
        d->s = NULL;
        return false;
    }
    int applied = -1;
    if (!CHECK_EQ_INT(store_migrate(d->c, &applied, &e), STORE_OK)) printf("  %s\n", e.msg);
    store_workspace w;
    if (!CHECK_EQ_INT(store_workspace_create(d->c, "A", &w, &e), STORE_OK)) printf("  %s\n", e.msg);
    snprintf(d->ws, sizeof d->ws, "%s", w.id);
    if (!CHECK_EQ_INT(store_workspace_create(d->c, "B", &w, &e), STORE_OK)) printf("  %s\n", e.msg);
    snprintf(d->ws2, sizeof d->ws2, "%s", w.id);
    return true;
}

static void db_close(db *d)
{
    store_disconnect(d->c);
    store_close(d->s);
    arena_release(&d->a);
}

static const res_def *R(const char *name)
{
    const res_def *r = res_find(name);
    if (!CHECK(r != NULL)) printf("  no resource %s in the table\n", name);
    return r;
}

static int FI(const res_def *r, const char *field)
{
    int i = res_field_index(r, field);
    if (!CHECK(i >= 0)) printf("  resource %s has no field %s\n", r->name, field);
    return i;
}

/* A fresh row for r: new id, times now, every field NULL. */
static res_row new_row(db *d, const res_def *r)
{
    res_row row = {0};
    id_new(row.id, r->prefix);
    row.created_ms = row.updated_ms = (int64_t)time_now_ms();
    row.vals = arena_zalloc(&d->a, sizeof(store_val) * (size_t)r->nfields);
    return row;
}

static void set_s(const res_def *r, res_row *row, const char *field, const char *s)
{
    int i = FI(r, field);
    if (i >= 0) row->vals[i] = s ? (store_val){.kind = SV_TEXT, .s = s} : (store_val){0};
}

static void set_i(const res_def *r, res_row *row, const char *field, int64_t v)
{
    int i = FI(r, field);
    if (i >= 0) row->vals[i] = (store_val){.kind = SV_INT, .i = v};
}

static const store_val *get_v(const res_def *r, const res_row *row, const char *field)
{
    static const store_val null_val = {0};
    int i = FI(r, field);
    return i >= 0 ? &row->vals[i] : &null_val;
}

static const char *get_s(const res_def *r, const res_row *row, const char *field)
{
    const store_val *v = get_v(r, row, field);
    return v->kind == SV_TEXT ? v->s : NULL;
}

static bool insert_row(db *d, const res_def *r, const char *ws, res_row *row)
{
    store_err e = {{0}};
    int rc = store_rec_insert(d->c, r, ws, row, &e);
    if (!CHECK_EQ_INT(rc, STORE_OK)) printf("  insert %s: %s\n", r->name, e.msg);
    return rc == STORE_OK;
}

/* Inserts a contact and copies its id to id_out (may be NULL). */
static int64_t add_contact(db *d, const char *ws, const char *name, const char *email,
                           const char *status, char *id_out)
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

static store_query q_all(int limit)
{
    return (store_query){.limit = limit, .link_field = -1};
}

/* Lists and returns the row count (rows in *out), checking for errors. */
static int list(db *d, const res_def *r, const char *ws, const store_query *q, res_row **out,
                bool *more)
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

/* The first column of the first row of sql, or -1. */
static int raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int search(db *d, const char *ws, const char *text)
{
    store_query q = q_all(100);
    q.fts = text;
    return list(d, R("contacts"), ws, &q, NULL, NULL);
}

/* --------------------------------------------------- open, connect, migrate */

TEST(store_open_rejects)
{
    store *s = NULL;
    store_err e = {{0}};
    store_opts o = {0};
    CHECK_EQ_INT(store_open(&s, "", &o, &e), STORE_ERROR);
    CHECK(e.msg[0] != '\0');
    e.msg[0] = 0;
    /* A PostgreSQL URL picks that backend; nothing listens on port 1, so
     * connecting says the database is unavailable (a 503, not a 500). */
    if (CHECK_EQ_INT(store_open(&s, "postgres://127.0.0.1:1/x", &o, &e), STORE_OK)) {
        store_conn *c = NULL;
        CHECK_EQ_INT(store_connect(s, &c, &e), STORE_UNAVAILABLE);
        CHECK(e.msg[0] != '\0');
        store_close(s);
    }
    e.msg[0] = 0;
    /* Opening is lazy; connecting to a path in a missing directory fails. */
    if (CHECK_EQ_INT(store_open(&s, test_path("no/such/dir/x.db"), &o, &e), STORE_OK)) {
        store_conn *c = NULL;
        e.msg[0] = 0;
        CHECK_EQ_INT(store_connect(s, &c, &e), STORE_ERROR);
        CHECK(e.msg[0] != '\0');
        store_close(s);
    }
    /* sqlite:// prefix is accepted. */
    char url[600];
    snprintf(url, sizeof url, "sqlite://%s", test_path("url.db"));
    if (CHECK_EQ_INT(store_open(&s, url, &o, &e), STORE_OK)) {
        store_conn *c = NULL;
        if (CHECK_EQ_INT(store_connect(s, &c, &e), STORE_OK)) {
            CHECK_EQ_INT(store_ping(c, &e), STORE_OK);
            store_disconnect(c);
        }
        store_close(s);
    }
}

TEST(store_migrate_idempotent)
{
    store *s = NULL;
    store_conn *c = NULL;
    store_err e = {{0}};
    store_opts o = {.busy_ms = 1000};
    if (!CHECK_EQ_INT(store_open(&s, test_path("migrate.db"), &o, &e), STORE_OK)) return;
    if (!CHECK_EQ_INT(store_connect(s, &c, &e), STORE_OK)) {
        store_close(s);
        return;
    }
    int v0 = -1, v1 = -1, v2 = -1, v3 = -1, applied = -1;
    CHECK_EQ_INT(store_schema_version(c, &v0, &e), STORE_OK);
    CHECK_EQ_INT(v0, 0);
    if (!CHECK_EQ_INT(store_migrate(c, &applied, &e), STORE_OK)) printf("  %s\n", e.msg);
    CHECK(applied > 0);
    CHECK_EQ_INT(store_schema_version(c, &v1, &e), STORE_OK);
    CHECK_EQ_INT(v1, applied);

    /* Data written between runs survives a second migrate. */
    store_workspace w;
    CHECK_EQ_INT(store_workspace_create(c, "keep", &w, &e), STORE_OK);

    applied = -1;
    if (!CHECK_EQ_INT(store_migrate(c, &applied, &e), STORE_OK)) printf("  %s\n", e.msg);
    CHECK_EQ_INT(applied, 0);
    CHECK_EQ_INT(store_schema_version(c, &v2, &e), STORE_OK);
    CHECK_EQ_INT(v2, v1);
    store_disconnect(c);

    /* A new connection (a restart) migrates to the same place, no-op. */
    if (CHECK_EQ_INT(store_connect(s, &c, &e), STORE_OK)) {
        applied = -1;
        CHECK_EQ_INT(store_migrate(c, &applied, &e), STORE_OK);
        CHECK_EQ_INT(applied, 0);
        CHECK_EQ_INT(store_schema_version(c, &v3, &e), STORE_OK);
        CHECK_EQ_INT(v3, v1);
        store_workspace f;
        CHECK_EQ_INT(store_workspace_find(c, "keep", &f, &e), STORE_OK);
        CHECK_STR(f.id, w.id);
        CHECK_EQ_INT(store_ping(c, &e), STORE_OK);
        store_disconnect(c);
    }
    store_close(s);
}

/* ------------------------------------------------------- workspaces, keys */

static void count_ws(const store_workspace *w, void *ud)
{
    (void)w;
    (*(int *)ud)++;
}

TEST(store_workspaces)
{
    db d;
    if (!db_open(&d, "ws.db")) return;
    store_err e = {{0}};
    int64_t n = -1;
    CHECK_EQ_INT(store_workspace_count(d.c, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 2);
    CHECK(id_valid(d.ws, "wrk"));

    store_workspace w;
    CHECK_EQ_INT(store_workspace_find(d.c, d.ws, &w, &e), STORE_OK);
    CHECK_STR(w.id, d.ws);
    CHECK_STR(w.name, "A");
    CHECK(w.created_ms > 1700000000000);
    memset(&w, 0, sizeof w);
    CHECK_EQ_INT(store_workspace_find(d.c, "B", &w, &e), STORE_OK);
    CHECK_STR(w.id, d.ws2);
    CHECK_STR(w.name, "B");

    CHECK_EQ_INT(store_workspace_find(d.c, "C", &w, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_workspace_find(d.c, "wrk_01ARZ3NDEKTSV4RRFFQ69G5FAV", &w, &e),
                 STORE_NOTFOUND);
    /* Names are unique. */
    CHECK_EQ_INT(store_workspace_create(d.c, "A", &w, &e), STORE_CONFLICT);
    CHECK_EQ_INT(store_workspace_count(d.c, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 2);

    CHECK_EQ_INT(store_workspace_create(d.c, "C with spaces", &w, &e), STORE_OK);
    store_workspace f;
    CHECK_EQ_INT(store_workspace_find(d.c, "C with spaces", &f, &e), STORE_OK);
    CHECK_STR(f.id, w.id);
    CHECK_EQ_INT(store_workspace_count(d.c, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 3);
    int seen = 0;
    CHECK_EQ_INT(store_workspace_each(d.c, count_ws, &seen, &e), STORE_OK);
    CHECK_EQ_INT(seen, 3);
    db_close(&d);
}

static void count_keys(const store_key *k, void *ud)
{
    (void)k;
    (*(int *)ud)++;
}

TEST(store_keys)
{
    db d;
    if (!db_open(&d, "keys.db")) return;
    store_err e = {{0}};
    char token[64], hash[TOKEN_HASH_HEX];
    token_new(token);
    sha256_hex(token, strlen(token), hash);

    store_key k = {0};
    id_new(k.id, "key");
    snprintf(k.workspace_id, sizeof k.workspace_id, "%s", d.ws);
    snprintf(k.name, sizeof k.name, "ci key");
    snprintf(k.scopes, sizeof k.scopes, "crm:read crm:write");
    k.super_admin = false;
    k.max_concurrent = 3;
    k.rate = -1;
    k.created_ms = (int64_t)time_now_ms();
    CHECK_EQ_INT(store_key_create(d.c, &k, hash, &e), STORE_OK);

    store_key got;
    memset(&got, 0x7f, sizeof got);
    CHECK_EQ_INT(store_key_by_hash(d.c, hash, &got, &e), STORE_OK);
    CHECK_STR(got.id, k.id);
    CHECK_STR(got.workspace_id, d.ws);
    CHECK_STR(got.name, "ci key");
    CHECK_STR(got.scopes, "crm:read crm:write");
    CHECK(!got.super_admin);
    CHECK_EQ_INT(got.max_concurrent, 3);
    CHECK_EQ_INT(got.rate, -1);
    CHECK_EQ_INT(got.created_ms, k.created_ms);
    CHECK_EQ_INT(got.revoked_ms, 0);

    /* Unknown hash; the token itself is not a hash that matches. */
    char other[TOKEN_HASH_HEX];
    sha256_hex("nope", 4, other);
    CHECK_EQ_INT(store_key_by_hash(d.c, other, &got, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_key_by_hash(d.c, token, &got, &e), STORE_NOTFOUND);

    /* The same token hash twice is a conflict. */
    store_key k2 = k;
    id_new(k2.id, "key");
    CHECK_EQ_INT(store_key_create(d.c, &k2, hash, &e), STORE_CONFLICT);

    /* A super-admin key with per-key limits. */
    store_key k3 = k;
    id_new(k3.id, "key");
    k3.super_admin = true;
    k3.rate = 50;
    CHECK_EQ_INT(store_key_create(d.c, &k3, other, &e), STORE_OK);
    CHECK_EQ_INT(store_key_by_hash(d.c, other, &got, &e), STORE_OK);
    CHECK(got.super_admin);
    CHECK_EQ_INT(got.rate, 50);

    int nkeys = 0;
    CHECK_EQ_INT(store_key_each(d.c, count_keys, &nkeys, &e), STORE_OK);
    CHECK_EQ_INT(nkeys, 2);

    /* Revoke: still found (so auth can say "revoked"), marked with a time. */
    CHECK_EQ_INT(store_key_revoke(d.c, k.id, &e), STORE_OK);
    CHECK_EQ_INT(store_key_by_hash(d.c, hash, &got, &e), STORE_OK);
    CHECK(got.revoked_ms > 0);
    CHECK_EQ_INT(store_key_revoke(d.c, k.id, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_key_revoke(d.c, "key_01ARZ3NDEKTSV4RRFFQ69G5FAV", &e), STORE_NOTFOUND);
    /* The other key is untouched. */
    CHECK_EQ_INT(store_key_by_hash(d.c, other, &got, &e), STORE_OK);
    CHECK_EQ_INT(got.revoked_ms, 0);
    db_close(&d);
}

/* ---------------------------------------------------------------- records */

TEST(store_record_crud)
{
    db d;
    if (!db_open(&d, "crud.db")) return;
    const res_def *r = R("companies");
    if (!r) return;
    store_err e = {{0}};
    res_row row = new_row(&d, r);
    row.created_ms = 1700000000000;
    row.updated_ms = 1700000000001;
    set_s(r, &row, "name", "Acme Corp");
    set_s(r, &row, "domain", "acme.com");
    set_i(r, &row, "employee_count", 250);
    set_i(r, &row, "annual_revenue_cents", 123456789012);
    set_s(r, &row, "currency", "EUR");
    set_s(r, &row, "status", "active");
    set_s(r, &row, "notes", "quotes \" and 'single' and \xc3\xa9");
    row.custom = "{\"tier\":\"gold\"}";
    CHECK(insert_row(&d, r, d.ws, &row));
    CHECK(row.rid > 0);

    res_row got = {0};
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, row.id, &got, &e), STORE_OK);
    CHECK_STR(got.id, row.id);
    CHECK_EQ_INT(got.rid, row.rid);
    CHECK_EQ_INT(got.created_ms, 1700000000000);
    CHECK_EQ_INT(got.updated_ms, 1700000000001);
    CHECK_STR(get_s(r, &got, "name"), "Acme Corp");
    CHECK_STR(get_s(r, &got, "domain"), "acme.com");
    CHECK_EQ_INT(get_v(r, &got, "employee_count")->kind, SV_INT);
    CHECK_EQ_INT(get_v(r, &got, "employee_count")->i, 250);
    CHECK_EQ_INT(get_v(r, &got, "annual_revenue_cents")->i, 123456789012);
    CHECK_STR(get_s(r, &got, "currency"), "EUR");
    CHECK_STR(get_s(r, &got, "notes"), "quotes \" and 'single' and \xc3\xa9");
    CHECK_EQ_INT(get_v(r, &got, "website")->kind, SV_NULL);
    CHECK_EQ_INT(get_v(r, &got, "city")->kind, SV_NULL);
    CHECK_STR(got.custom, "{\"tier\":\"gold\"}");
    CHECK_EQ_INT(store_rec_exists(d.c, r, d.ws, row.id, &e), STORE_OK);

    /* The same id twice is a conflict. */
    res_row dup = row;
    CHECK_EQ_INT(store_rec_insert(d.c, r, d.ws, &dup, &e), STORE_CONFLICT);

    /* Update: only the fields marked set change. */
    bool *set = arena_zalloc(&d.a, sizeof(bool) * (size_t)r->nfields);
    res_row up = new_row(&d, r);
    snprintf(up.id, sizeof up.id, "%s", row.id);
    up.updated_ms = 1700000009999;
    set_s(r, &up, "city", "Lisbon");
    set[FI(r, "city")] = true;
    set_i(r, &up, "employee_count", 300);
    set[FI(r, "employee_count")] = true;
    /* Not set: these NULLs must not overwrite stored values. */
    set_s(r, &up, "name", NULL);
    up.custom = "{\"ignored\":true}";
    CHECK_EQ_INT(store_rec_update(d.c, r, d.ws, &up, set, false, &e), STORE_OK);
    memset(&got, 0, sizeof got);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, row.id, &got, &e), STORE_OK);
    CHECK_STR(get_s(r, &got, "city"), "Lisbon");
    CHECK_EQ_INT(get_v(r, &got, "employee_count")->i, 300);
    CHECK_STR(get_s(r, &got, "name"), "Acme Corp");
    CHECK_STR(get_s(r, &got, "domain"), "acme.com");
    CHECK_EQ_INT(get_v(r, &got, "annual_revenue_cents")->i, 123456789012);
    CHECK_STR(got.custom, "{\"tier\":\"gold\"}");
    CHECK_EQ_INT(got.created_ms, 1700000000000);
    CHECK_EQ_INT(got.updated_ms, 1700000009999);
    CHECK_EQ_INT(got.rid, row.rid);

    /* Setting a field to NULL, and replacing custom fields. */
    memset(set, 0, sizeof(bool) * (size_t)r->nfields);
    set[FI(r, "domain")] = true;
    set_s(r, &up, "domain", NULL);
    up.custom = "{\"tier\":\"silver\"}";
    CHECK_EQ_INT(store_rec_update(d.c, r, d.ws, &up, set, true, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, row.id, &got, &e), STORE_OK);
    CHECK_EQ_INT(get_v(r, &got, "domain")->kind, SV_NULL);
    CHECK_STR(get_s(r, &got, "city"), "Lisbon");
    CHECK_STR(got.custom, "{\"tier\":\"silver\"}");

    /* Update of a missing id. */
    res_row ghost = new_row(&d, r);
    CHECK_EQ_INT(store_rec_update(d.c, r, d.ws, &ghost, set, false, &e), STORE_NOTFOUND);

    /* Delete, then everything says not found. */
    CHECK_EQ_INT(store_rec_delete(d.c, r, d.ws, row.id, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, row.id, &got, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_rec_exists(d.c, r, d.ws, row.id, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_rec_delete(d.c, r, d.ws, row.id, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_rec_update(d.c, r, d.ws, &up, set, false, &e), STORE_NOTFOUND);
    store_query q = q_all(10);
    CHECK_EQ_INT(list(&d, r, d.ws, &q, NULL, NULL), 0);
    db_close(&d);
}

TEST(store_find_by_and_detach)
{
    db d;
    if (!db_open(&d, "findby.db")) return;
    const res_def *con = R("contacts");
    if (!con) return;
    store_err e = {{0}};
    char a1[ID_MAX], a2[ID_MAX], b1[ID_MAX];
    add_contact(&d, d.ws, "Jane", "Jane.Doe@Example.com", NULL, a1);
    add_contact(&d, d.ws, "Jane again", "jane.doe@example.com", NULL, a2);
    add_contact(&d, d.ws2, "Jane in B", "jane.doe@example.com", NULL, b1);
    int fe = FI(con, "email");
    res_row got = {0};
    /* Case-insensitive, oldest first, and scoped. */
    CHECK_EQ_INT(store_rec_find_by(d.c, &d.a, con, d.ws, fe, "JANE.DOE@EXAMPLE.COM", &got, &e),
                 STORE_OK);
    CHECK_STR(got.id, a1);
    CHECK_EQ_INT(store_rec_find_by(d.c, &d.a, con, d.ws2, fe, "jane.doe@example.com", &got, &e),
                 STORE_OK);
    CHECK_STR(got.id, b1);
    CHECK_EQ_INT(store_rec_find_by(d.c, &d.a, con, d.ws, fe, "nobody@example.com", &got, &e),
                 STORE_NOTFOUND);

    /* Detach: a company is deleted; contacts pointing at it lose the link
     * (only in this workspace); memberships pointing at it go. */
    const res_def *com = R("companies"), *mem = R("company-memberships");
    if (!com || !mem) return;
    char company[ID_MAX];
    id_new(company, "com");
    bool *set = arena_zalloc(&d.a, sizeof(bool) * (size_t)con->nfields);
    int fc = FI(con, "company_id");
    set[fc] = true;
    const char *targets[] = {a1, a2, b1};
    const char *wss[] = {d.ws, d.ws, d.ws2};
    for (int i = 0; i < 3; i++) {
        res_row up = new_row(&d, con);
        snprintf(up.id, sizeof up.id, "%s", targets[i]);
        set_s(con, &up, "company_id", company);
        CHECK_EQ_INT(store_rec_update(d.c, con, wss[i], &up, set, false, &e), STORE_OK);
    }
    res_row m = new_row(&d, mem);
    set_s(mem, &m, "contact_id", a1);
    set_s(mem, &m, "company_id", company);
    set_i(mem, &m, "is_primary", 1);
    insert_row(&d, mem, d.ws, &m);

    CHECK_EQ_INT(store_rec_detach(d.c, con, fc, d.ws, company, false, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_detach(d.c, mem, FI(mem, "company_id"), d.ws, company, true, &e),
                 STORE_OK);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, con, d.ws, a1, &got, &e), STORE_OK);
    CHECK_EQ_INT(get_v(con, &got, "company_id")->kind, SV_NULL);
    CHECK_STR(get_s(con, &got, "name"), "Jane"); /* the row itself stays */
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, con, d.ws, a2, &got, &e), STORE_OK);
    CHECK_EQ_INT(get_v(con, &got, "company_id")->kind, SV_NULL);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, con, d.ws2, b1, &got, &e), STORE_OK);
    CHECK_STR(get_s(con, &got, "company_id"), company); /* other workspace untouched */
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, mem, d.ws, m.id, &got, &e), STORE_NOTFOUND);
    db_close(&d);
}

TEST(store_workspace_scoping)
{
    db d;
    if (!db_open(&d, "scope.db")) return;
    const res_def *r = R("contacts");
    if (!r) return;
    store_err e = {{0}};
    char a[ID_MAX];
    add_contact(&d, d.ws, "Alice", "alice@a.test", NULL, a);

    res_row got = {0};
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws2, a, &got, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_rec_exists(d.c, r, d.ws2, a, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_rec_find_by(d.c, &d.a, r, d.ws2, FI(r, "email"), "alice@a.test", &got, &e),
                 STORE_NOTFOUND);

    bool *set = arena_zalloc(&d.a, sizeof(bool) * (size_t)r->nfields);
    res_row up = new_row(&d, r);
    snprintf(up.id, sizeof up.id, "%s", a);
    set_s(r, &up, "name", "Mallory");
    set[FI(r, "name")] = true;
    CHECK_EQ_INT(store_rec_update(d.c, r, d.ws2, &up, set, false, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_rec_delete(d.c, r, d.ws2, a, &e), STORE_NOTFOUND);

    store_query q = q_all(100);
    CHECK_EQ_INT(list(&d, r, d.ws2, &q, NULL, NULL), 0);
    q.fts = "alice";
    CHECK_EQ_INT(list(&d, r, d.ws2, &q, NULL, NULL), 0);
    store_filter f = {.field = FI(r, "email"), .v = {.kind = SV_TEXT, .s = "alice@a.test"}};
    q = q_all(100);
    q.filters = &f;
    q.nfilters = 1;
    CHECK_EQ_INT(list(&d, r, d.ws2, &q, NULL, NULL), 0);
    /* A made-up workspace id sees nothing either. */
    CHECK_EQ_INT(list(&d, r, "wrk_01ARZ3NDEKTSV4RRFFQ69G5FAV", &q, NULL, NULL), 0);

    /* And the record in A is intact. */
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, a, &got, &e), STORE_OK);
    CHECK_STR(get_s(r, &got, "name"), "Alice");
    CHECK_EQ_INT(list(&d, r, d.ws, &q, NULL, NULL), 1);
    db_close(&d);
}

TEST(store_list_order_and_keyset_pagination)
{
    db d;
    if (!db_open(&d, "pages.db")) return;
    const res_def *r = R("contacts");
    if (!r) return;
    enum { N = 25 };
    char ids[N][ID_MAX];
    int64_t rids[N];
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "Person %02d", i);
        rids[i] = add_contact(&d, d.ws, name, NULL, NULL, ids[i]);
        if (i % 5 == 0) add_contact(&d, d.ws2, "Other tenant", NULL, NULL, NULL);
    }
    static const int limits[] = {1, 5, 7, 24, 25, 26, 100};
    for (size_t li = 0; li < sizeof limits / sizeof limits[0]; li++) {
        int limit = limits[li];
        store_query q = q_all(limit);
        int seen = 0, pages = 0;
        bool ok_order = true, more = true;
        int64_t last_rid = INT64_MAX;
        while (more && pages <= N + 1) {
            res_row *rows;
            int n = list(&d, r, d.ws, &q, &rows, &more);
            pages++;
            if (!CHECK(n >= 0 && n <= limit)) break;
            /* Pages are full except the last; more means another non-empty page. */
            if (more)
                CHECK_EQ_INT(n, limit);
            else
                CHECK(n > 0 || seen == N);
            for (int i = 0; i < n; i++) {
                /* Newest first: the k-th row seen is the (N-1-k)-th inserted. */
                int want = N - 1 - seen;
                if (want < 0 || strcmp(rows[i].id, ids[want]) != 0 || rows[i].rid != rids[want] ||
                    rows[i].rid >= last_rid)
                    ok_order = false;
                last_rid = rows[i].rid;
                seen++;
            }
            if (n > 0) q.after_rid = rows[n - 1].rid;
        }
        if (!CHECK(ok_order)) printf("  limit %d\n", limit);
        if (!CHECK_EQ_INT(seen, N)) printf("  limit %d\n", limit);
        if (!CHECK_EQ_INT(pages, (N + limit - 1) / limit)) printf("  limit %d\n", limit);
    }
    /* A cursor below every row: empty page, no more. */
    store_query q = q_all(10);
    q.after_rid = rids[0];
    bool more = true;
    CHECK_EQ_INT(list(&d, r, d.ws, &q, NULL, &more), 0);
    CHECK(!more);
    db_close(&d);
}

TEST(store_list_filters)
{
    db d;
    if (!db_open(&d, "filters.db")) return;
    const res_def *r = R("contacts");
    if (!r) return;
    char c1[ID_MAX], c2[ID_MAX], c3[ID_MAX], c4[ID_MAX];
    add_contact(&d, d.ws, "One", "One@Example.com", "active", c1);
    add_contact(&d, d.ws, "Two", "two@example.com", "inactive", c2);
    add_contact(&d, d.ws, "Three", "three@example.com", "inactive", c3);
    add_contact(&d, d.ws, "Four", NULL, "archived", c4);
    add_contact(&d, d.ws2, "Two in B", "two@example.com", "inactive", NULL);

    int fs = FI(r, "status"), fe = FI(r, "email");
    res_row *rows;
    bool more;
    store_filter f[2];
    store_query q = q_all(100);
    q.filters = f;

    f[0] = (store_filter){fs, {.kind = SV_TEXT, .s = "inactive"}};
    q.nfilters = 1;
    if (CHECK_EQ_INT(list(&d, r, d.ws, &q, &rows, &more), 2)) {
        CHECK_STR(rows[0].id, c3);
        CHECK_STR(rows[1].id, c2);
    }
    /* Email compares case-insensitively. */
    f[0] = (store_filter){fe, {.kind = SV_TEXT, .s = "one@EXAMPLE.com"}};
    if (CHECK_EQ_INT(list(&d, r, d.ws, &q, &rows, &more), 1)) CHECK_STR(rows[0].id, c1);
    /* Filters AND together. */
    f[0] = (store_filter){fs, {.kind = SV_TEXT, .s = "inactive"}};
    f[1] = (store_filter){fe, {.kind = SV_TEXT, .s = "two@example.com"}};
    q.nfilters = 2;
    if (CHECK_EQ_INT(list(&d, r, d.ws, &q, &rows, &more), 1)) CHECK_STR(rows[0].id, c2);
    f[1] = (store_filter){fe, {.kind = SV_TEXT, .s = "one@example.com"}};
    CHECK_EQ_INT(list(&d, r, d.ws, &q, &rows, &more), 0);
    /* Filter + pagination. */
    q.nfilters = 1;
    q.limit = 1;
    if (CHECK_EQ_INT(list(&d, r, d.ws, &q, &rows, &more), 1)) {
        CHECK_STR(rows[0].id, c3);
        CHECK(more);
        q.after_rid = rows[0].rid;
        if (CHECK_EQ_INT(list(&d, r, d.ws, &q, &rows, &more), 1)) CHECK_STR(rows[0].id, c2);
        CHECK(!more);
    }
    /* A NULL-valued field never matches a value. */
    q = q_all(100);
    q.filters = f;
    q.nfilters = 1;
    f[0] = (store_filter){fe, {.kind = SV_TEXT, .s = ""}};
    CHECK_EQ_INT(list(&d, r, d.ws, &q, &rows, &more), 0);

    /* Boolean filter on memberships. */
    const res_def *mem = R("company-memberships");
    if (!mem) return;
    char company[ID_MAX];
    id_new(company, "com");
    for (int i = 0; i < 3; i++) {
        res_row m = new_row(&d, mem);
        set_s(mem, &m, "contact_id", i == 0 ? c1 : i == 1 ? c2 : c3);
        set_s(mem, &m, "company_id", company);
        set_i(mem, &m, "is_primary", i == 1);
        insert_row(&d, mem, d.ws, &m);
    }
    f[0] = (store_filter){FI(mem, "is_primary"), {.kind = SV_INT, .i = 1}};
    if (CHECK_EQ_INT(list(&d, mem, d.ws, &q, &rows, &more), 1))
        CHECK_STR(get_s(mem, &rows[0], "contact_id"), c2);
    f[0] = (store_filter){FI(mem, "is_primary"), {.kind = SV_INT, .i = 0}};
    CHECK_EQ_INT(list(&d, mem, d.ws, &q, &rows, &more), 2);
    db_close(&d);
}

TEST(store_unique_tuple)
{
    db d;
    if (!db_open(&d, "unique.db")) return;
    const res_def *mem = R("company-memberships");
    if (!mem || !mem->unique[0]) return;
    store_err e = {{0}};
    char con[ID_MAX], com[ID_MAX];
    id_new(con, "con");
    id_new(com, "com");
    res_row m = new_row(&d, mem);
    set_s(mem, &m, "contact_id", con);
    set_s(mem, &m, "company_id", com);
    CHECK(insert_row(&d, mem, d.ws, &m));
    res_row m2 = new_row(&d, mem);
    set_s(mem, &m2, "contact_id", con);
    set_s(mem, &m2, "company_id", com);
    CHECK_EQ_INT(store_rec_insert(d.c, mem, d.ws, &m2, &e), STORE_CONFLICT);
    /* Unique per workspace: the same pair in B is fine. */
    CHECK(insert_row(&d, mem, d.ws2, &m2));
    db_close(&d);
}

TEST(store_custom_field_filter)
{
    db d;
    if (!db_open(&d, "custom.db")) return;
    const res_def *r = R("contacts");
    if (!r) return;
    static const char *const custom[] = {
        "{\"tier\":\"gold\",\"seats\":5,\"vip\":true,\"ratio\":0.5,\"a.b\":\"dot\"}",
        "{\"tier\":\"silver\",\"seats\":50,\"vip\":false}",
        NULL,
        "{}",
    };
    char ids[4][ID_MAX];
    for (int i = 0; i < 4; i++) {
        res_row row = new_row(&d, r);
        set_s(r, &row, "name", "cf");
        row.custom = custom[i];
        insert_row(&d, r, d.ws, &row);
        snprintf(ids[i], ID_MAX, "%s", row.id);
    }
    /* The same custom fields in B never show in A. */
    res_row other = new_row(&d, r);
    other.custom = custom[0];
    insert_row(&d, r, d.ws2, &other);

    static const struct {
        const char *k, *v;
        int want; /* index into ids, -1 = no rows */
    } cases[] = {
        {"tier", "gold", 0}, {"tier", "silver", 1}, {"tier", "bronze", -1}, {"seats", "5", 0},
        {"seats", "50", 1},  {"vip", "true", 0},    {"vip", "false", 1},    {"ratio", "0.5", 0},
        {"a.b", "dot", 0},   {"missing", "x", -1},  {"tier", "GOLD", -1},   {"tier", "", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        store_query q = q_all(100);
        q.cf_key = cases[i].k;
        q.cf_value = cases[i].v;
        res_row *rows;
        int n = list(&d, r, d.ws, &q, &rows, NULL);
        if (!CHECK_EQ_INT(n, cases[i].want < 0 ? 0 : 1)) {
            printf("  custom_field %s=%s\n", cases[i].k, cases[i].v);
            continue;
        }
        if (n == 1) CHECK_STR(rows[0].id, ids[cases[i].want]);
    }
    /* Custom filter + full-text search together. */
    store_query q = q_all(100);
    q.cf_key = "tier";
    q.cf_value = "gold";
    q.fts = "cf";
    CHECK_EQ_INT(list(&d, r, d.ws, &q, NULL, NULL), 1);
    db_close(&d);
}

TEST(store_full_text_search)
{
    db d;
    if (!db_open(&d, "fts.db")) return;
    const res_def *r = R("contacts");
    if (!r) return;
    store_err e = {{0}};
    char jane[ID_MAX], john[ID_MAX], janet[ID_MAX];
    add_contact(&d, d.ws, "Jane Doe", "jane@acme.com", NULL, jane);
    add_contact(&d, d.ws, "John Smith", "john@globex.com", NULL, john);
    add_contact(&d, d.ws, "Janet Roe", "janet@initech.io", NULL, janet);
    add_contact(&d, d.ws2, "Jane Doe", "jane@acme.com", NULL, NULL);
    add_contact(&d, d.ws2, "Zed Other", "zed@acme.com", NULL, NULL);

    CHECK_EQ_INT(search(&d, d.ws, "jane@ac"), 1); /* email fragment */
    CHECK_EQ_INT(search(&d, d.ws, "acme.com"), 1);
    CHECK_EQ_INT(search(&d, d.ws, "Jan"), 2);  /* name prefix: Jane, Janet */
    CHECK_EQ_INT(search(&d, d.ws, "JANE"), 2); /* case-insensitive, prefix */
    CHECK_EQ_INT(search(&d, d.ws, "janet"), 1);
    CHECK_EQ_INT(search(&d, d.ws, "smi"), 1);
    CHECK_EQ_INT(search(&d, d.ws, "doe jane"), 1); /* every word must match */
    CHECK_EQ_INT(search(&d, d.ws, "doe john"), 0);
    CHECK_EQ_INT(search(&d, d.ws, "zed"), 0); /* only in workspace B */
    CHECK_EQ_INT(search(&d, d.ws2, "zed"), 1);
    CHECK_EQ_INT(search(&d, d.ws2, "jane"), 1);
    CHECK_EQ_INT(search(&d, d.ws, "nothing"), 0);
    /* User input is never FTS syntax. */
    CHECK_EQ_INT(search(&d, d.ws, "@@@ ..."), 0);
    CHECK_EQ_INT(search(&d, d.ws, "\"jane"), 2);
    CHECK_EQ_INT(search(&d, d.ws, "jane OR john"), 0);
    CHECK_EQ_INT(search(&d, d.ws, "jane*"), 2);
    CHECK_EQ_INT(search(&d, d.ws, "name:jane"), 0);
    CHECK_EQ_INT(search(&d, d.ws, "(jane) AND NOT"), 0);
    CHECK_EQ_INT(search(&d, d.ws, "workspace_id"), 0);
    /* Searching for the workspace id must not match rows by their tenant. */
    CHECK_EQ_INT(search(&d, d.ws, d.ws), 0);
    CHECK_EQ_INT(search(&d, d.ws, "wrk"), 0);

    /* The index follows updates and deletes. */
    const res_def *cr = r;
    bool *set = arena_zalloc(&d.a, sizeof(bool) * (size_t)cr->nfields);
    res_row up = new_row(&d, cr);
    snprintf(up.id, sizeof up.id, "%s", john);
    set_s(cr, &up, "name", "John Brown");
    set[FI(cr, "name")] = true;
    CHECK_EQ_INT(store_rec_update(d.c, cr, d.ws, &up, set, false, &e), STORE_OK);
    CHECK_EQ_INT(search(&d, d.ws, "smith"), 0);
    CHECK_EQ_INT(search(&d, d.ws, "brown"), 1);
    CHECK_EQ_INT(search(&d, d.ws, "globex"), 1); /* unchanged field still indexed */
    CHECK_EQ_INT(store_rec_delete(d.c, cr, d.ws, jane, &e), STORE_OK);
    CHECK_EQ_INT(search(&d, d.ws, "jane@ac"), 0);
    CHECK_EQ_INT(search(&d, d.ws, "jan"), 1);
    CHECK_EQ_INT(search(&d, d.ws2, "jane@ac"), 1);

    /* Search + filter. */
    store_filter f = {FI(r, "email"), {.kind = SV_TEXT, .s = "JANET@initech.io"}};
    store_query q = q_all(10);
    q.fts = "jan";
    q.filters = &f;
    q.nfilters = 1;
    res_row *rows;
    if (CHECK_EQ_INT(list(&d, r, d.ws, &q, &rows, NULL), 1)) CHECK_STR(rows[0].id, janet);
    db_close(&d);
}

TEST(search_fold_latin_diacritics)
{
    const char *in = "Müller José Øvergård ÀÿĀžİı æß ĳ Łódź naïve";
    char out[128];
    size_t n = search_fold(in, strlen(in), out);
    out[n] = '\0';
    CHECK_STR(out, "Muller Jose Øvergard AyAzIı æß ĳ Łodz naive");
    /* a lone lead byte at the end is copied, not read past */
    const char cut[] = {'a', (char)0xC3};
    CHECK_EQ_INT((int)search_fold(cut, 2, out), 2);
    CHECK_EQ_INT((unsigned char)out[1], 0xC3);
}

/* Each autocommitted insert leaves a full-text segment of its own; upkeep
 * merges segments of a size, in bounded steps (all small here: down to
 * one), and search answers the same. */
TEST(store_maintain_merges_search_index)
{
    db d;
    if (!db_open(&d, "upkeep.db")) return;
    enum { N = 40 };
    char name[64], email[64];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "Upkeep Person%02d", i);
        snprintf(email, sizeof email, "p%02d@upkeep.example", i);
        add_contact(&d, i % 4 ? d.ws : d.ws2, name, email, NULL, NULL);
    }
    CHECK_EQ_INT(search(&d, d.ws, "upkeep"), N - N / 4);
    CHECK_EQ_INT(search(&d, d.ws2, "upkeep"), N / 4);

    sqlite3 *raw = NULL;
    CHECK_EQ_INT(sqlite3_open_v2(test_path("upkeep.db"), &raw, SQLITE_OPEN_READONLY, NULL),
                 SQLITE_OK);
    const char *segs_sql = "SELECT count(DISTINCT segid) FROM contacts_fts_idx";
    int segs_before = raw_int(raw, segs_sql);
    CHECK(segs_before > 1);

    store_err e = {{0}};
    int steps = 0;
    bool more = true;
    while (more && steps < 1000) {
        if (!CHECK_EQ_INT(store_maintain(d.c, 1, &more, &e), STORE_OK)) printf("  %s\n", e.msg);
        steps++;
    }
    CHECK(!more);
    CHECK(steps > 1); /* a budget of one page cannot merge it all at once */
    CHECK_EQ_INT(raw_int(raw, segs_sql), 1);
    sqlite3_close(raw);

    /* Done: a further step finds nothing. */
    CHECK_EQ_INT(store_maintain(d.c, 100, &more, &e), STORE_OK);
    CHECK(!more);

    CHECK_EQ_INT(search(&d, d.ws, "upkeep"), N - N / 4);
    CHECK_EQ_INT(search(&d, d.ws2, "upkeep"), N / 4);
    CHECK_EQ_INT(search(&d, d.ws, "person01"), 1);
    CHECK_EQ_INT(search(&d, d.ws, "person04"), 0); /* in workspace B */
    CHECK_EQ_INT(search(&d, d.ws2, "p04@upk"), 1);
    db_close(&d);
}

TEST(store_search_pagination)
{
    db d;
    if (!db_open(&d, "ftspages.db")) return;
    const res_def *r = R("contacts");
    if (!r) return;
    enum { N = 12 };
    char ids[N][ID_MAX];
    for (int i = 0; i < N; i++) {
        add_contact(&d, d.ws, "Quinn Match", NULL, NULL, ids[i]);
        add_contact(&d, d.ws, "Someone Else", NULL, NULL, NULL);
        add_contact(&d, d.ws2, "Quinn Match", NULL, NULL, NULL);
    }
    store_query q = q_all(5);
    q.fts = "quinn";
    int seen = 0, pages = 0;
    bool more = true, ok = true;
    while (more && pages < 10) {
        res_row *rows;
        int n = list(&d, r, d.ws, &q, &rows, &more);
        pages++;
        for (int i = 0; i < n; i++, seen++)
            if (seen >= N || strcmp(rows[i].id, ids[N - 1 - seen]) != 0) ok = false;
        if (n > 0) q.after_rid = rows[n - 1].rid;
    }
    CHECK(ok);
    CHECK_EQ_INT(seen, N);
    CHECK_EQ_INT(pages, 3);
    db_close(&d);
}

TEST(store_sublist_link)
{
    db d;
    if (!db_open(&d, "link.db")) return;
    const res_def *con = R("contacts"), *mem = R("company-memberships");
    if (!con || !mem) return;
    char company[ID_MAX], other_company[ID_MAX];
    id_new(company, "com");
    id_new(other_company, "com");
    /* c1 by company_id, c2 by membership, c3 by both, c4 unrelated. */
    char c[4][ID_MAX];
    for (int i = 0; i < 4; i++) {
        res_row row = new_row(&d, con);
        set_s(con, &row, "name", "linked");
        if (i == 0 || i == 2) set_s(con, &row, "company_id", company);
        if (i == 3) set_s(con, &row, "company_id", other_company);
        insert_row(&d, con, d.ws, &row);
        snprintf(c[i], ID_MAX, "%s", row.id);
        if (i == 1 || i == 2) {
            res_row m = new_row(&d, mem);
            set_s(mem, &m, "contact_id", row.id);
            set_s(mem, &m, "company_id", company);
            insert_row(&d, mem, d.ws, &m);
        }
    }
    /* A membership for the same company id in B must not leak c4 in. */
    res_row m = new_row(&d, mem);
    set_s(mem, &m, "contact_id", c[3]);
    set_s(mem, &m, "company_id", company);
    insert_row(&d, mem, d.ws2, &m);

    store_query q = q_all(100);
    q.link_field = FI(con, "company_id");
    q.link_value = company;
    res_row *rows;
    /* Without via: only the direct link. */
    if (CHECK_EQ_INT(list(&d, con, d.ws, &q, &rows, NULL), 2)) {
        CHECK_STR(rows[0].id, c[2]);
        CHECK_STR(rows[1].id, c[0]);
    }
    q.link_via = mem;
    q.link_via_match = FI(mem, "company_id");
    q.link_via_target = FI(mem, "contact_id");
    if (CHECK_EQ_INT(list(&d, con, d.ws, &q, &rows, NULL), 3)) {
        CHECK_STR(rows[0].id, c[2]); /* once, though linked twice */
        CHECK_STR(rows[1].id, c[1]);
        CHECK_STR(rows[2].id, c[0]);
    }
    /* With search too. */
    q.fts = "linked";
    CHECK_EQ_INT(list(&d, con, d.ws, &q, &rows, NULL), 3);
    /* Nested list: memberships of one contact (the parent field). */
    store_query pq = q_all(100);
    pq.link_field = res_parent_field(mem);
    pq.link_value = c[2];
    if (CHECK_EQ_INT(list(&d, mem, d.ws, &pq, &rows, NULL), 1))
        CHECK_STR(get_s(mem, &rows[0], "contact_id"), c[2]);
    db_close(&d);
}

/* Every resource in the table round-trips through the store: the schema
 * derived from the table accepts a full row, every field reads back with its
 * kind and value, filters on every filterable field find it, search finds
 * it, update changes every field, delete removes it. New resources are
 * covered without a line here. */
static store_val sample_val(arena *a, const res_field *f, int variant)
{
    const char *tag = variant ? "Second" : "Roundtrip";
    switch (f->type) {
    case FT_STRING:
        return (store_val){.kind = SV_TEXT, .s = arena_printf(a, "%s %s", tag, f->name)};
    case FT_TEXT:
        return (store_val){.kind = SV_TEXT, .s = arena_printf(a, "%s text for %s", tag, f->name)};
    case FT_EMAIL:
        return (store_val){.kind = SV_TEXT,
                           .s = arena_printf(a, "%s.%s@example.com", tag, f->name)};
    case FT_URL:
        return (store_val){.kind = SV_TEXT,
                           .s = arena_printf(a, "https://%s.example.com/%s", tag, f->name)};
    case FT_ENUM: {
        int n = 0;
        while (f->enum_vals && f->enum_vals[n])
            n++;
        return (store_val){.kind = SV_TEXT, .s = n ? f->enum_vals[variant % n] : "x"};
    }
    case FT_INT: {
        int64_t v = f->min < f->max ? f->min + 1 + variant : 7 + variant;
        return (store_val){.kind = SV_INT, .i = v};
    }
    case FT_MONEY: return (store_val){.kind = SV_INT, .i = 123456 + variant};
    case FT_NUMBER: return (store_val){.kind = SV_REAL, .d = 2.5 + variant};
    case FT_BOOL: return (store_val){.kind = SV_INT, .i = !variant};
    case FT_DATETIME: return (store_val){.kind = SV_INT, .i = 1700000000123 + variant};
    case FT_DATE: return (store_val){.kind = SV_TEXT, .s = variant ? "2026-02-28" : "2026-01-31"};
    case FT_CURRENCY: return (store_val){.kind = SV_TEXT, .s = variant ? "USD" : "EUR"};
    case FT_RANK: return (store_val){.kind = SV_TEXT, .s = variant ? "b0" : "a0"};
    case FT_REF: {
        const res_def *t = f->ref ? res_find(f->ref) : NULL;
        char *id = arena_alloc(a, ID_MAX);
        id_new(id, t ? t->prefix : "x");
        return (store_val){.kind = SV_TEXT, .s = id};
    }
    }
    return (store_val){0};
}

static bool same_val(const store_val *a, const store_val *b)
{
    if (a->kind != b->kind) return false;
    switch (a->kind) {
    case SV_NULL: return true;
    case SV_INT: return a->i == b->i;
    case SV_REAL: return a->d == b->d;
    case SV_TEXT: return a->s && b->s && strcmp(a->s, b->s) == 0;
    }
    return false;
}

static bool text_kind(res_ftype t)
{
    return t == FT_STRING || t == FT_TEXT || t == FT_EMAIL || t == FT_URL;
}

TEST(store_every_resource_round_trips)
{
    db d;
    if (!db_open(&d, "every.db")) return;
    store_err e = {{0}};
    for (int ri = 0; ri < res_count; ri++) {
        const res_def *r = res_table[ri];
        res_row row = new_row(&d, r);
        for (int i = 0; i < r->nfields; i++)
            row.vals[i] = sample_val(&d.a, &r->fields[i], 0);
        if (r->custom_fields) row.custom = "{\"k\":\"v\"}";
        if (!insert_row(&d, r, d.ws, &row)) {
            printf("  resource %s\n", r->name);
            continue;
        }
        res_row got = {0};
        if (!CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, row.id, &got, &e), STORE_OK)) {
            printf("  resource %s: %s\n", r->name, e.msg);
            continue;
        }
        for (int i = 0; i < r->nfields; i++)
            if (!CHECK(same_val(&got.vals[i], &row.vals[i])))
                printf("  resource %s field %s: kind %d vs %d\n", r->name, r->fields[i].name,
                       got.vals[i].kind, row.vals[i].kind);
        CHECK_STR(got.custom, row.custom);
        CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws2, row.id, &got, &e), STORE_NOTFOUND);

        /* Every filterable (or parent) field finds the row by its value. */
        for (int i = 0; i < r->nfields; i++) {
            if (!(r->fields[i].flags & (RF_FILTER | RF_PARENT))) continue;
            store_filter f = {.field = i, .v = row.vals[i]};
            store_query q = q_all(10);
            q.filters = &f;
            q.nfilters = 1;
            if (!CHECK_EQ_INT(list(&d, r, d.ws, &q, NULL, NULL), 1))
                printf("  resource %s filter %s\n", r->name, r->fields[i].name);
            if (!CHECK_EQ_INT(list(&d, r, d.ws2, &q, NULL, NULL), 0))
                printf("  resource %s filter %s in another workspace\n", r->name,
                       r->fields[i].name);
        }
        /* Search finds it by the word every text field starts with. */
        bool searchable = false;
        for (int i = 0; i < r->nfields; i++)
            searchable =
                searchable || ((r->fields[i].flags & RF_SEARCH) && text_kind(r->fields[i].type));
        if (searchable) {
            store_query q = q_all(10);
            q.fts = "roundtrip";
            if (!CHECK_EQ_INT(list(&d, r, d.ws, &q, NULL, NULL), 1))
                printf("  resource %s search\n", r->name);
            q.fts = "second";
            CHECK_EQ_INT(list(&d, r, d.ws, &q, NULL, NULL), 0);
        }

        /* Update every field. */
        bool *set = arena_zalloc(&d.a, sizeof(bool) * (size_t)r->nfields);
        res_row up = new_row(&d, r);
        snprintf(up.id, sizeof up.id, "%s", row.id);
        for (int i = 0; i < r->nfields; i++) {
            up.vals[i] = sample_val(&d.a, &r->fields[i], 1);
            set[i] = true;
        }
        up.custom = r->custom_fields ? "{\"k\":\"w\"}" : NULL;
        if (!CHECK_EQ_INT(store_rec_update(d.c, r, d.ws, &up, set, r->custom_fields, &e), STORE_OK))
            printf("  resource %s update: %s\n", r->name, e.msg);
        if (CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, row.id, &got, &e), STORE_OK)) {
            for (int i = 0; i < r->nfields; i++)
                if (!CHECK(same_val(&got.vals[i], &up.vals[i])))
                    printf("  resource %s field %s after update\n", r->name, r->fields[i].name);
            CHECK_STR(got.custom, up.custom);
        }
        if (searchable) {
            store_query q = q_all(10);
            q.fts = "second";
            if (!CHECK_EQ_INT(list(&d, r, d.ws, &q, NULL, NULL), 1))
                printf("  resource %s search after update\n", r->name);
            q.fts = "roundtrip";
            CHECK_EQ_INT(list(&d, r, d.ws, &q, NULL, NULL), 0);
        }
        /* Delete. */
        CHECK_EQ_INT(store_rec_delete(d.c, r, d.ws, row.id, &e), STORE_OK);
        CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, row.id, &got, &e), STORE_NOTFOUND);
        store_query q = q_all(10);
        CHECK_EQ_INT(list(&d, r, d.ws, &q, NULL, NULL), 0);
        if (searchable) {
            q.fts = "second";
            CHECK_EQ_INT(list(&d, r, d.ws, &q, NULL, NULL), 0);
        }
    }
    db_close(&d);
}

/* ---------------------------------------------------- idempotency, events */

TEST(store_idempotency)
{
    db d;
    if (!db_open(&d, "idem.db")) return;
    store_err e = {{0}};
    char h1[TOKEN_HASH_HEX], h2[TOKEN_HASH_HEX];
    sha256_hex("body one", 8, h1);
    sha256_hex("body two", 8, h2);
    const char *body = "{\"data\":{\"id\":\"con_1\"}}";
    store_idem got;
    CHECK_EQ_INT(store_idem_get(d.c, &d.a, d.ws, "k1", &got, &e), STORE_NOTFOUND);

    int64_t before = (int64_t)time_now_ms();
    /* body_len counts: only the first bytes are stored. */
    CHECK_EQ_INT(store_idem_put(d.c, d.ws, "k1", h1, 201, body, strlen(body), &e), STORE_OK);
    CHECK_EQ_INT(store_idem_put(d.c, d.ws, "k2", h2, 200, "{}xyz", 2, &e), STORE_OK);
    memset(&got, 0, sizeof got);
    if (CHECK_EQ_INT(store_idem_get(d.c, &d.a, d.ws, "k1", &got, &e), STORE_OK)) {
        CHECK_STR(got.req_hash, h1);
        CHECK_EQ_INT(got.status, 201);
        CHECK_STR(got.body, body);
        CHECK(got.created_ms >= before && got.created_ms <= (int64_t)time_now_ms());
    }
    if (CHECK_EQ_INT(store_idem_get(d.c, &d.a, d.ws, "k2", &got, &e), STORE_OK))
        CHECK_STR(got.body, "{}");
    /* Keys are per workspace. */
    CHECK_EQ_INT(store_idem_get(d.c, &d.a, d.ws2, "k1", &got, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_idem_put(d.c, d.ws2, "k1", h2, 409, "{}", 2, &e), STORE_OK);
    if (CHECK_EQ_INT(store_idem_get(d.c, &d.a, d.ws, "k1", &got, &e), STORE_OK))
        CHECK_EQ_INT(got.status, 201);
    if (CHECK_EQ_INT(store_idem_get(d.c, &d.a, d.ws2, "k1", &got, &e), STORE_OK))
        CHECK_EQ_INT(got.status, 409);

    /* Expire: a cutoff in the past keeps everything, one past now drops all. */
    CHECK_EQ_INT(store_idem_expire(d.c, before - 60000, &e), STORE_OK);
    CHECK_EQ_INT(store_idem_get(d.c, &d.a, d.ws, "k1", &got, &e), STORE_OK);
    CHECK_EQ_INT(store_idem_expire(d.c, (int64_t)time_now_ms() + 1000, &e), STORE_OK);
    CHECK_EQ_INT(store_idem_get(d.c, &d.a, d.ws, "k1", &got, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_idem_get(d.c, &d.a, d.ws, "k2", &got, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_idem_get(d.c, &d.a, d.ws2, "k1", &got, &e), STORE_NOTFOUND);
    /* A key can be used again after it expired. */
    CHECK_EQ_INT(store_idem_put(d.c, d.ws, "k1", h2, 200, "{\"again\":1}", 11, &e), STORE_OK);
    if (CHECK_EQ_INT(store_idem_get(d.c, &d.a, d.ws, "k1", &got, &e), STORE_OK)) {
        CHECK_STR(got.req_hash, h2);
        CHECK_STR(got.body, "{\"again\":1}");
    }
    db_close(&d);
}

TEST(store_events)
{
    db d;
    if (!db_open(&d, "events.db")) return;
    store_err e = {{0}};
    int64_t n = -1;
    CHECK_EQ_INT(store_event_count(d.c, d.ws, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(store_event_append(d.c, d.ws, "contact.created", "contact", "con_1", NULL,
                                    "{\"a\":1}", NULL, "key_1", &e),
                 STORE_OK);
    CHECK_EQ_INT(store_event_append(d.c, d.ws, "contact.updated", "contact", "con_1", NULL, "{}",
                                    NULL, NULL, &e),
                 STORE_OK);
    CHECK_EQ_INT(store_event_append(d.c, d.ws2, "contact.created", "contact", "con_2", NULL, "{}",
                                    NULL, "key_2", &e),
                 STORE_OK);
    CHECK_EQ_INT(store_event_count(d.c, d.ws, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(store_event_count(d.c, d.ws2, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 1);
    /* Many events made back to back get distinct ids (no conflict). */
    int fails = 0;
    for (int i = 0; i < 500; i++)
        fails += store_event_append(d.c, d.ws, "contact.deleted", "contact", "con_3", NULL, "{}",
                                    NULL, NULL, &e) != STORE_OK;
    CHECK_EQ_INT(fails, 0);
    CHECK_EQ_INT(store_event_count(d.c, d.ws, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 502);
    /* An event inside a rolled-back transaction is gone with it. */
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_event_append(d.c, d.ws, "x.y", "x", "x_1", NULL, "{}", NULL, NULL, &e),
                 STORE_OK);
    store_rollback(d.c);
    CHECK_EQ_INT(store_event_count(d.c, d.ws, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 502);
    db_close(&d);
}

/* ----------------------------------------------------------- transactions */

TEST(store_transactions)
{
    db d;
    if (!db_open(&d, "tx.db")) return;
    const res_def *r = R("contacts");
    if (!r) return;
    store_err e = {{0}};
    res_row got;
    char a[ID_MAX], b[ID_MAX], c[ID_MAX], x[ID_MAX];

    /* Rollback discards. */
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    add_contact(&d, d.ws, "rolled back", NULL, NULL, x);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, x, &got, &e), STORE_OK); /* visible inside */
    store_rollback(d.c);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, x, &got, &e), STORE_NOTFOUND);

    /* Commit keeps. */
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    add_contact(&d, d.ws, "committed", NULL, NULL, a);
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, a, &got, &e), STORE_OK);

    /* Savepoint: rollback_to discards only the inner work. */
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    add_contact(&d, d.ws, "outer", NULL, NULL, b);
    CHECK_EQ_INT(store_savepoint(d.c, &e), STORE_OK);
    add_contact(&d, d.ws, "inner", NULL, NULL, x);
    store_rollback_to(d.c);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, x, &got, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, b, &got, &e), STORE_OK);
    /* The transaction is still open and usable after rollback_to. */
    add_contact(&d, d.ws, "after savepoint", NULL, NULL, c);
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, b, &got, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, c, &got, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, x, &got, &e), STORE_NOTFOUND);

    /* Released savepoint keeps its work. */
    char y[ID_MAX];
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(d.c, &e), STORE_OK);
    add_contact(&d, d.ws, "released", NULL, NULL, y);
    CHECK_EQ_INT(store_release(d.c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, y, &got, &e), STORE_OK);

    /* Nested savepoints: rolling back the inner keeps the middle. */
    char m1[ID_MAX], m2[ID_MAX], m3[ID_MAX];
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    add_contact(&d, d.ws, "level 0", NULL, NULL, m1);
    CHECK_EQ_INT(store_savepoint(d.c, &e), STORE_OK);
    add_contact(&d, d.ws, "level 1", NULL, NULL, m2);
    CHECK_EQ_INT(store_savepoint(d.c, &e), STORE_OK);
    add_contact(&d, d.ws, "level 2", NULL, NULL, m3);
    store_rollback_to(d.c);
    CHECK_EQ_INT(store_release(d.c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, m1, &got, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, m2, &got, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, m3, &got, &e), STORE_NOTFOUND);

    /* Rollback of the whole transaction discards savepoint work too. */
    char z[ID_MAX];
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(d.c, &e), STORE_OK);
    add_contact(&d, d.ws, "gone", NULL, NULL, z);
    CHECK_EQ_INT(store_release(d.c, &e), STORE_OK);
    store_rollback(d.c);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, z, &got, &e), STORE_NOTFOUND);

    /* A read transaction works too, and a rollback with none open is harmless. */
    CHECK_EQ_INT(store_begin(d.c, false, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, a, &got, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    store_rollback(d.c);
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK); /* no transaction was left open */
    store_rollback(d.c);
    db_close(&d);
}

static void rename_contact(db *d, const char *ws, const char *id, const char *name)
{
    const res_def *r = R("contacts");
    store_err e = {{0}};
    bool *set = arena_zalloc(&d->a, sizeof(bool) * (size_t)r->nfields);
    res_row up = new_row(d, r);
    snprintf(up.id, sizeof up.id, "%s", id);
    set_s(r, &up, "name", name);
    set[FI(r, "name")] = true;
    if (!CHECK_EQ_INT(store_rec_update(d->c, r, ws, &up, set, false, &e), STORE_OK))
        printf("  rename: %s\n", e.msg);
}

/* In a write transaction, full-text changes wait for COMMIT (one index
 * segment per transaction); a savepoint rolled back takes its own with
 * it and nothing else, and the index stays consistent throughout. */
TEST(store_search_follows_savepoints)
{
    db d;
    if (!db_open(&d, "ftstx.db")) return;
    const res_def *r = R("contacts");
    if (!r) return;
    store_err e = {{0}};
    char keep[ID_MAX], gone[ID_MAX], temp[ID_MAX];

    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    add_contact(&d, d.ws, "Alpha Outer", NULL, NULL, keep);
    CHECK_EQ_INT(store_savepoint(d.c, &e), STORE_OK);
    add_contact(&d, d.ws, "Bravo Kept", NULL, NULL, NULL);
    CHECK_EQ_INT(store_savepoint(d.c, &e), STORE_OK);
    add_contact(&d, d.ws, "Charlie Undone", NULL, NULL, gone);
    rename_contact(&d, d.ws, keep, "Delta Undone");
    /* Searching here could not be undone with the savepoint: refused. */
    store_query q = q_all(10);
    q.fts = "charlie";
    res_row *rows;
    int n;
    bool more;
    CHECK_EQ_INT(store_rec_list(d.c, &d.a, r, d.ws, &q, &rows, &n, &more, &e), STORE_ERROR);
    store_rollback_to(d.c);
    CHECK_EQ_INT(store_release(d.c, &e), STORE_OK);
    /* Outside any savepoint a search sees the transaction's own changes. */
    CHECK_EQ_INT(search(&d, d.ws, "bravo"), 1);
    CHECK_EQ_INT(search(&d, d.ws, "charlie"), 0);
    add_contact(&d, d.ws, "Echo After", NULL, NULL, NULL);
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    CHECK_EQ_INT(search(&d, d.ws, "alpha outer"), 1);
    CHECK_EQ_INT(search(&d, d.ws, "bravo"), 1);
    CHECK_EQ_INT(search(&d, d.ws, "echo"), 1);
    CHECK_EQ_INT(search(&d, d.ws, "charlie"), 0);
    CHECK_EQ_INT(search(&d, d.ws, "delta"), 0);

    /* A transaction rolled back leaves the index as it was. */
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    add_contact(&d, d.ws, "Foxtrot Gone", NULL, NULL, NULL);
    rename_contact(&d, d.ws, keep, "Golf Gone");
    store_rollback(d.c);
    CHECK_EQ_INT(search(&d, d.ws, "foxtrot"), 0);
    CHECK_EQ_INT(search(&d, d.ws, "golf"), 0);
    CHECK_EQ_INT(search(&d, d.ws, "alpha"), 1);

    /* Created, renamed and deleted in one transaction: the queued changes
     * apply in order and cancel out. */
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    add_contact(&d, d.ws, "Hotel Temp", NULL, NULL, temp);
    rename_contact(&d, d.ws, temp, "India Temp");
    CHECK_EQ_INT(store_rec_delete(d.c, r, d.ws, temp, &e), STORE_OK);
    rename_contact(&d, d.ws, keep, "Juliet Renamed");
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    CHECK_EQ_INT(search(&d, d.ws, "hotel"), 0);
    CHECK_EQ_INT(search(&d, d.ws, "india"), 0);
    CHECK_EQ_INT(search(&d, d.ws, "temp"), 0);
    CHECK_EQ_INT(search(&d, d.ws, "alpha"), 0);
    CHECK_EQ_INT(search(&d, d.ws, "juliet"), 1);

    /* Outside a transaction a write indexes at once. */
    add_contact(&d, d.ws, "Kilo Auto", NULL, NULL, NULL);
    CHECK_EQ_INT(search(&d, d.ws, "kilo"), 1);

    sqlite3 *raw = NULL;
    CHECK_EQ_INT(sqlite3_open_v2(test_path("ftstx.db"), &raw, SQLITE_OPEN_READWRITE, NULL),
                 SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(raw,
                              "INSERT INTO contacts_fts(contacts_fts) VALUES ('integrity-check')",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    /* Creates in one transaction make one segment, not one each (with
     * automatic merges off, so that each one stays). */
    CHECK_EQ_INT(
        sqlite3_exec(raw, "INSERT INTO contacts_fts(contacts_fts, rank) VALUES ('automerge', 0)",
                     NULL, NULL, NULL),
        SQLITE_OK);
    const char *segs_sql = "SELECT count(DISTINCT segid) FROM contacts_fts_idx";
    int segs = raw_int(raw, segs_sql);
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    for (int i = 0; i < 10; i++)
        add_contact(&d, d.ws, "November Batch", NULL, NULL, NULL);
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    CHECK_EQ_INT(raw_int(raw, segs_sql), segs + 1);
    CHECK_EQ_INT(search(&d, d.ws, "november"), 10);
    sqlite3_close(raw);
    db_close(&d);
}

/* Triggers changed but not the index: the index is kept, not rebuilt. */
TEST(store_search_triggers_change_alone)
{
    db d;
    if (!db_open(&d, "ftstrig.db")) return;
    add_contact(&d, d.ws, "Lima Before", NULL, NULL, NULL);
    sqlite3 *raw = NULL;
    CHECK_EQ_INT(sqlite3_open_v2(test_path("ftstrig.db"), &raw, SQLITE_OPEN_READWRITE, NULL),
                 SQLITE_OK);
    /* A row only the index has: a rebuild from the table would drop it. */
    CHECK_EQ_INT(sqlite3_exec(raw,
                              "INSERT INTO contacts_fts(rowid, doc) VALUES (999999, 'marker');"
                              "DROP TRIGGER contacts_fts_i;"
                              "CREATE TRIGGER contacts_fts_i AFTER INSERT ON contacts BEGIN "
                              "SELECT 1; END;"
                              "UPDATE search_indexes SET ddl = substr(ddl, 1, instr(ddl, ';')) "
                              "|| 'CREATE TRIGGER contacts_fts_i AFTER INSERT ON contacts BEGIN "
                              "SELECT 1; END;' WHERE table_name = 'contacts';",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    store_err e = {{0}};
    int applied = -1;
    CHECK_EQ_INT(store_migrate(d.c, &applied, &e), STORE_OK);
    CHECK_EQ_INT(
        raw_int(raw, "SELECT count(*) FROM contacts_fts WHERE contacts_fts MATCH 'marker'"), 1);
    CHECK_EQ_INT(raw_int(raw, "SELECT count(*) FROM sqlite_master WHERE name = 'contacts_fts_i' "
                              "AND sql LIKE '%cairn_fts_defer%'"),
                 1);
    sqlite3_close(raw);
    add_contact(&d, d.ws, "Mike After", NULL, NULL, NULL);
    CHECK_EQ_INT(search(&d, d.ws, "lima"), 1);
    CHECK_EQ_INT(search(&d, d.ws, "mike"), 1);
    db_close(&d);
}

/* Copies the database file alone, without its WAL, and counts contacts
 * there: what checkpoints have copied into it. */
static int contacts_in_db_file(const char *name)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%s.copy", test_path(name));
    FILE *in = fopen(test_path(name), "rb"), *out = fopen(copy, "wb");
    char chunk[65536];
    size_t n;
    while (in && out && (n = fread(chunk, 1, sizeof chunk, in)) > 0)
        fwrite(chunk, 1, n, out);
    if (in) fclose(in);
    if (out) fclose(out);
    sqlite3 *raw = NULL;
    int count = -1;
    if (sqlite3_open_v2(copy, &raw, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK)
        count = raw_int(raw, "SELECT count(*) FROM contacts");
    sqlite3_close(raw);
    remove(copy);
    return count;
}

static bool open_durable(const char *name, int checkpoint_pages, store **s, store_conn **c)
{
    store_err e = {{0}};
    store_opts o = {.durable = true, .busy_ms = 2000, .checkpoint_pages = checkpoint_pages};
    if (!CHECK_EQ_INT(store_open(s, test_path(name), &o, &e), STORE_OK)) return false;
    if (!CHECK_EQ_INT(store_connect(*s, c, &e), STORE_OK)) {
        printf("  %s\n", e.msg);
        store_close(*s);
        return false;
    }
    return true;
}

/* The writer's connection (store_sync_defer): a commit's WAL frames go to
 * the file in one gathered write, before the commit is visible, and the
 * fsync waits for store_sync. Another connection sees each commit at once,
 * one larger than the gathering buffer too (rows larger than a page), and
 * checkpoints copy them into the database file. */
TEST(store_deferred_sync)
{
    db d;
    memset(&d, 0, sizeof d);
    arena_init(&d.a);
    store *s2 = NULL;
    store_conn *c2 = NULL;
    if (!open_durable("defer.db", 64, &d.s, &d.c)) return;
    store_err e = {{0}};
    int applied;
    CHECK_EQ_INT(store_migrate(d.c, &applied, &e), STORE_OK);
    store_workspace w;
    CHECK_EQ_INT(store_workspace_create(d.c, "A", &w, &e), STORE_OK);
    snprintf(d.ws, sizeof d.ws, "%s", w.id);
    if (!CHECK_EQ_INT(store_sync_defer(d.c, true, &e), STORE_OK)) printf("  %s\n", e.msg);
    CHECK_EQ_INT(store_sync_defer(d.c, true, &e), STORE_OK); /* twice is harmless */
    if (!open_durable("defer.db", 0, &s2, &c2)) goto out;

    const res_def *r = R("contacts");
    res_row got;
    char id[ID_MAX], name[64];
    for (int i = 0; i < 20; i++) {
        CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
        snprintf(name, sizeof name, "Deferred Person%02d", i);
        add_contact(&d, d.ws, name, NULL, NULL, id);
        CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
        CHECK_EQ_INT(store_rec_get(c2, &d.a, r, d.ws, id, &got, &e), STORE_OK);
        if (i % 5 == 0) CHECK_EQ_INT(store_sync(d.c, &e), STORE_OK);
    }

    enum { BIG = 1500 };
    char *notes = malloc(6001);
    memset(notes, 'x', 6000);
    notes[6000] = '\0';
    memcpy(notes, "bulkword ", 9);
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    for (int i = 0; i < BIG; i++) {
        res_row row = new_row(&d, r);
        set_s(r, &row, "name", "Bulk Person");
        notes[9] = (char)('a' + i % 26); /* rows differ */
        set_s(r, &row, "notes", notes);
        insert_row(&d, r, d.ws, &row);
        if (i == BIG - 1) snprintf(id, sizeof id, "%s", row.id);
    }
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    CHECK_EQ_INT(store_sync(d.c, &e), STORE_OK);
    if (CHECK_EQ_INT(store_rec_get(c2, &d.a, r, d.ws, id, &got, &e), STORE_OK))
        CHECK_STR(get_s(r, &got, "notes") + 10, notes + 10);
    store_query q = q_all(100);
    q.fts = "bulkword";
    res_row *rows;
    int n = 0;
    bool more = false;
    CHECK_EQ_INT(store_rec_list(c2, &d.a, r, d.ws, &q, &rows, &n, &more, &e), STORE_OK);
    CHECK_EQ_INT(n, 100);
    CHECK(more);
    /* Past 64 pages of log a commit checkpoints: the file has them all. */
    CHECK_EQ_INT(contacts_in_db_file("defer.db"), 20 + BIG);
    free(notes);

    CHECK_EQ_INT(store_sync_defer(d.c, false, &e), STORE_OK);
    CHECK_EQ_INT(store_sync(d.c, &e), STORE_OK); /* no-op once off */
    store_disconnect(c2);
    store_close(s2);
out:
    db_close(&d);
}

/* With the default checkpoint size, an idle writer's upkeep copies the
 * log into the database file. */
TEST(store_deferred_sync_idle_checkpoint)
{
    db d;
    memset(&d, 0, sizeof d);
    arena_init(&d.a);
    if (!open_durable("deferidle.db", 0, &d.s, &d.c)) return;
    store_err e = {{0}};
    int applied;
    CHECK_EQ_INT(store_migrate(d.c, &applied, &e), STORE_OK);
    store_workspace w;
    CHECK_EQ_INT(store_workspace_create(d.c, "A", &w, &e), STORE_OK);
    snprintf(d.ws, sizeof d.ws, "%s", w.id);
    /* Whatever the migration left in the log goes into the file first. */
    sqlite3 *raw = NULL;
    CHECK_EQ_INT(sqlite3_open_v2(test_path("deferidle.db"), &raw, SQLITE_OPEN_READWRITE, NULL),
                 SQLITE_OK);
    CHECK(raw_int(raw, "SELECT count(*) FROM sqlite_master") > 0); /* opens the WAL */
    CHECK_EQ_INT(sqlite3_wal_checkpoint_v2(raw, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(raw);
    CHECK_EQ_INT(store_sync_defer(d.c, true, &e), STORE_OK);
    for (int i = 0; i < 10; i++) {
        CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
        add_contact(&d, d.ws, "Idle Person", NULL, NULL, NULL);
        CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    }
    CHECK_EQ_INT(store_sync(d.c, &e), STORE_OK);
    CHECK_EQ_INT(contacts_in_db_file("deferidle.db"), 0);
    bool more = true;
    for (int steps = 0; more && steps < 100; steps++)
        CHECK_EQ_INT(store_maintain(d.c, 256, &more, &e), STORE_OK);
    CHECK(!more);
    CHECK_EQ_INT(contacts_in_db_file("deferidle.db"), 10);
    db_close(&d);
}

TEST(store_two_connections)
{
    db d;
    if (!db_open(&d, "conc.db")) return;
    const res_def *r = R("contacts");
    if (!r) return;
    store_err e = {{0}};
    /* A second store handle with a short busy timeout, as another process. */
    store *s2 = NULL;
    store_conn *c2 = NULL;
    store_opts o = {.busy_ms = 50};
    if (!CHECK_EQ_INT(store_open(&s2, test_path("conc.db"), &o, &e), STORE_OK)) {
        db_close(&d);
        return;
    }
    if (!CHECK_EQ_INT(store_connect(s2, &c2, &e), STORE_OK)) {
        store_close(s2);
        db_close(&d);
        return;
    }
    char a[ID_MAX];
    res_row got;
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    add_contact(&d, d.ws, "uncommitted", NULL, NULL, a);
    /* Not visible to the other connection until commit. */
    CHECK_EQ_INT(store_rec_get(c2, &d.a, r, d.ws, a, &got, &e), STORE_NOTFOUND);
    /* A second writer waits busy_ms then reports STORE_BUSY. */
    uint64_t t0 = time_mono_ns();
    CHECK_EQ_INT(store_begin(c2, true, &e), STORE_BUSY);
    uint64_t waited_ms = (time_mono_ns() - t0) / 1000000;
    CHECK(waited_ms >= 40 && waited_ms < 2000);
    store_rollback(c2);
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(c2, &d.a, r, d.ws, a, &got, &e), STORE_OK);
    /* Now the second writer gets in. */
    CHECK_EQ_INT(store_begin(c2, true, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_delete(c2, r, d.ws, a, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c2, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, r, d.ws, a, &got, &e), STORE_NOTFOUND);
    store_disconnect(c2);
    store_close(s2);
    db_close(&d);
}

/* ------------------------------------------------------ store robustness */

/* More filters than the store's bind array holds must still all apply:
 * dropping one silently returns rows the caller filtered out. */
TEST(store_many_filters_all_apply)
{
    db d;
    if (!db_open(&d, "manyfilters.db")) return;
    const res_def *r = R("contacts");
    if (!r) return;
    add_contact(&d, d.ws, "Only", NULL, "active", NULL);
    enum { NF = 30 };
    store_filter f[NF];
    int fs = FI(r, "status");
    for (int i = 0; i < NF; i++)
        f[i] = (store_filter){fs, {.kind = SV_TEXT, .s = "active"}};
    f[NF - 1].v.s = "inactive"; /* the last one excludes the row */
    store_query q = q_all(10);
    q.filters = f;
    q.nfilters = NF;
    res_row *rows = NULL;
    int n = -1;
    bool more;
    store_err e = {{0}};
    int rc = store_rec_list(d.c, &d.a, r, d.ws, &q, &rows, &n, &more, &e);
    /* Either refuse the query or honour every filter; never ignore one. */
    if (rc == STORE_OK)
        CHECK_EQ_INT(n, 0);
    else
        CHECK(rc == STORE_ERROR);
    db_close(&d);
}

typedef struct child_arg {
    const char *file;
} child_arg;

/* Many filters plus search, cursor, custom field and sub-list link: the
 * store's fixed bind array must not be overrun (ASan: stack-buffer-overflow). */
static void many_binds_child(void *p)
{
    child_arg *ca = p;
    db d;
    if (!db_open(&d, ca->file)) return;
    const res_def *r = res_find("contacts"), *mem = res_find("company-memberships");
    enum { NF = 30 };
    store_filter f[NF];
    for (int i = 0; i < NF; i++)
        f[i] = (store_filter){res_field_index(r, "status"), {.kind = SV_TEXT, .s = "active"}};
    store_query q = q_all(10);
    q.filters = f;
    q.nfilters = NF;
    q.fts = "x";
    q.after_rid = 1000;
    q.cf_key = "k";
    q.cf_value = "v";
    q.link_field = res_field_index(r, "company_id");
    q.link_value = "com_x";
    q.link_via = mem;
    q.link_via_match = res_field_index(mem, "company_id");
    q.link_via_target = res_field_index(mem, "contact_id");
    res_row *rows;
    int n;
    bool more;
    store_err e;
    store_rec_list(d.c, &d.a, r, d.ws, &q, &rows, &n, &more, &e);
    db_close(&d);
}

TEST(store_many_binds_no_overflow)
{
    child_arg ca = {"manybinds.db"};
    CHECK_NO_CRASH("store_rec_list with 30 filters + fts + cursor + custom + link",
                   many_binds_child, &ca);
}

/* Fills the per-connection statement cache with distinct statements until
 * it must evict, then makes statements that fail to prepare, then
 * disconnects. A failed prepare after an eviction must leave the slot clean
 * (no dangling SQL pointer freed again at disconnect). */
static void cache_churn_child(void *p)
{
    child_arg *ca = p;
    db d;
    if (!db_open(&d, ca->file)) return;
    const res_def *r = res_find("contacts");
    store_filter f[20];
    int listed = 0;
    for (int fi = 0; fi < r->nfields; fi++)
        for (int k = 1; k <= 20; k++)
            for (int before = 0; before < 2; before++) {
                for (int i = 0; i < k; i++)
                    f[i] = (store_filter){fi, {.kind = SV_TEXT, .s = "x"}};
                store_query q = q_all(1);
                q.filters = f;
                q.nfilters = k;
                q.after_rid = before ? 1000 : 0;
                res_row *rows;
                int n;
                bool more;
                store_err e;
                listed += store_rec_list(d.c, &d.a, r, d.ws, &q, &rows, &n, &more, &e) == STORE_OK;
            }
    CHECK(listed > 256);
    /* Statements that cannot be prepared: a column that does not exist. */
    int failed = 0;
    for (int i = 0; i < 64; i++) {
        res_field ff = {.name = arena_printf(&d.a, "no_such_column_%d", i), .type = FT_STRING};
        res_def fake = *r;
        fake.fields = &ff;
        fake.nfields = 1;
        res_row row;
        store_err e;
        failed += store_rec_get(d.c, &d.a, &fake, d.ws, "con_x", &row, &e) == STORE_ERROR;
    }
    CHECK_EQ_INT(failed, 64);
    /* The connection still works after failed prepares. */
    store_err e;
    CHECK_EQ_INT(store_ping(d.c, &e), STORE_OK);
    db_close(&d);
}

TEST(store_stmt_cache_eviction_then_prepare_error)
{
    child_arg ca = {"cache.db"};
    CHECK_NO_CRASH("statement cache: evict, failed prepare, disconnect", cache_churn_child, &ca);
}

/* ---------------------------------------- timelines, merges, aggregates */

/* Types of a record's timeline, newest first, joined with spaces. */
static const char *timeline(db *d, const char *ws, const char *id)
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

TEST(store_event_timeline)
{
    db d;
    if (!db_open(&d, "timeline.db")) return;
    store_err e = {{0}};
    CHECK_EQ_INT(store_event_append(d.c, d.ws, "lead.created", "lead", "led_1", NULL, "{\"n\":1}",
                                    NULL, "key_1", &e),
                 STORE_OK);
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_event_append(d.c, d.ws, "lead.updated", "lead", "led_1", NULL, "{}",
                                    "{\"stage\":{\"from\":\"a\",\"to\":\"b\"}}", NULL, &e),
                 STORE_OK);
    CHECK_EQ_INT(store_event_append(d.c, d.ws, "activity.created", "activity", "act_1", "led_1",
                                    "{}", NULL, NULL, &e),
                 STORE_OK);
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    CHECK_EQ_INT(store_event_append(d.c, d.ws, "activity.created", "activity", "act_2", "led_2",
                                    "{}", NULL, NULL, &e),
                 STORE_OK);
    CHECK_EQ_INT(
        store_event_append(d.c, d.ws2, "lead.updated", "lead", "led_1", NULL, "{}", NULL, NULL, &e),
        STORE_OK);
    CHECK_EQ_INT(
        store_event_append(d.c, d.ws, "lead.deleted", "lead", "led_1", NULL, "{}", NULL, NULL, &e),
        STORE_OK);
    store_event *ev;
    int n = 0;
    bool more = false;
    CHECK_EQ_INT(store_event_list(d.c, &d.a, d.ws, "led_1", 0, 2, &ev, &n, &more, &e), STORE_OK);
    CHECK_EQ_INT(n, 2);
    CHECK(more);
    if (n == 2) {
        CHECK_STR(ev[0].type, "lead.deleted");
        CHECK_STR(ev[1].type, "activity.created");
        CHECK_STR(ev[1].subject_id, "led_1");
        CHECK(ev[1].changes == NULL);
        int64_t before = ev[1].rid;
        CHECK_EQ_INT(store_event_list(d.c, &d.a, d.ws, "led_1", before, 2, &ev, &n, &more, &e),
                     STORE_OK);
        CHECK_EQ_INT(n, 2);
        CHECK(!more);
        if (n == 2) {
            CHECK_STR(ev[0].changes, "{\"stage\":{\"from\":\"a\",\"to\":\"b\"}}");
            CHECK(ev[0].subject_id == NULL);
            CHECK_STR(ev[1].data, "{\"n\":1}");
            CHECK_STR(ev[1].actor, "key_1");
        }
    }
    CHECK_EQ_INT(store_event_resubject(d.c, d.ws, "led_2", "led_1", &e), STORE_OK);
    CHECK_STR(timeline(&d, d.ws, "led_1"),
              "lead.deleted activity.created activity.created lead.updated lead.created");
    CHECK_STR(timeline(&d, d.ws2, "led_1"), "lead.updated");
    db_close(&d);
}

TEST(store_repoint_moves_and_clears)
{
    db d;
    if (!db_open(&d, "repoint.db")) return;
    store_err e = {{0}};
    const res_def *mem = R("company-memberships"), *con = R("contacts"), *com = R("companies");
    char ca[ID_MAX], cb[ID_MAX], cx[ID_MAX], cy[ID_MAX];
    add_contact(&d, d.ws, "A", NULL, NULL, ca);
    add_contact(&d, d.ws, "B", NULL, NULL, cb);
    char *co[] = {cx, cy};
    for (int i = 0; i < 2; i++) {
        res_row row = new_row(&d, com);
        set_s(com, &row, "name", i ? "Y" : "X");
        insert_row(&d, com, d.ws, &row);
        snprintf(co[i], ID_MAX, "%s", row.id);
    }
    const char *pairs[][3] = {{ca, cx, "a-x"}, {ca, cy, "a-y"}, {cb, cx, "b-x"}};
    for (int i = 0; i < 3; i++) {
        res_row row = new_row(&d, mem);
        set_s(mem, &row, "contact_id", pairs[i][0]);
        set_s(mem, &row, "company_id", pairs[i][1]);
        set_s(mem, &row, "role", pairs[i][2]);
        insert_row(&d, mem, d.ws, &row);
    }
    int contact_id = FI(mem, "contact_id"), company_id = FI(mem, "company_id");
    CHECK_EQ_INT(store_rec_repoint(d.c, mem, contact_id, d.ws, ca, cb, -1, NULL, &e), STORE_OK);
    store_query q = q_all(10);
    q.ascending = true;
    q.link_field = contact_id;
    q.link_value = ca;
    CHECK_EQ_INT(list(&d, mem, d.ws, &q, NULL, NULL), 0);
    res_row *rows;
    q.link_value = cb;
    if (CHECK_EQ_INT(list(&d, mem, d.ws, &q, &rows, NULL), 2)) {
        CHECK_STR(get_s(mem, &rows[0], "role"), "a-y");
        CHECK_STR(get_s(mem, &rows[1], "role"), "b-x");
    }
    CHECK_EQ_INT(store_rec_repoint(d.c, mem, company_id, d.ws, cy, NULL, -1, NULL, &e), STORE_OK);
    if (CHECK_EQ_INT(list(&d, mem, d.ws, &q, &rows, NULL), 2)) {
        CHECK(get_v(mem, &rows[0], "company_id")->kind == SV_NULL);
        CHECK_STR(get_s(mem, &rows[1], "company_id"), cx);
    }
    /* with a type field: status stands in for one */
    int company = FI(con, "company_id"), status = FI(con, "status");
    char ids[3][ID_MAX];
    const char *st[] = {"active", "archived", "active"};
    for (int i = 0; i < 3; i++) {
        res_row row = new_row(&d, con);
        set_s(con, &row, "company_id", cx);
        set_s(con, &row, "status", st[i]);
        insert_row(&d, con, d.ws, &row);
        snprintf(ids[i], ID_MAX, "%s", row.id);
    }
    CHECK_EQ_INT(store_rec_repoint(d.c, con, company, d.ws, cx, cy, status, "active", &e),
                 STORE_OK);
    CHECK_EQ_INT(store_rec_repoint(d.c, con, company, d.ws, cy, NULL, status, "active", &e),
                 STORE_OK);
    res_row got;
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, con, d.ws, ids[0], &got, &e), STORE_OK);
    CHECK(get_v(con, &got, "company_id")->kind == SV_NULL);
    CHECK(get_v(con, &got, "status")->kind == SV_NULL);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, con, d.ws, ids[1], &got, &e), STORE_OK);
    CHECK_STR(get_s(con, &got, "company_id"), cx);
    CHECK_STR(get_s(con, &got, "status"), "archived");
    db_close(&d);
}

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

TEST(store_aggregate_groups_and_ranges)
{
    db d;
    if (!db_open(&d, "aggregate.db")) return;
    store_err e = {{0}};
    const res_def *r = R("companies");
    struct {
        const char *status, *country;
        int64_t employees, revenue;
    } rows[] = {
        {"active", "FR", 10, 100},  {"active", "FR", 50, 200}, {"active", "DE", 5, 1000},
        {"inactive", "FR", 500, 7}, {"active", NULL, 20, 30},
    };
    for (int i = 0; i < 5; i++) {
        res_row row = new_row(&d, r);
        set_s(r, &row, "name", "co");
        set_s(r, &row, "status", rows[i].status);
        set_s(r, &row, "country", rows[i].country);
        set_i(r, &row, "employee_count", rows[i].employees);
        set_i(r, &row, "annual_revenue_cents", rows[i].revenue);
        insert_row(&d, r, d.ws, &row);
    }
    res_row x = new_row(&d, r);
    set_s(r, &x, "status", "active");
    set_i(r, &x, "annual_revenue_cents", 99999);
    insert_row(&d, r, d.ws2, &x);
    int status = FI(r, "status"), country = FI(r, "country");
    int emp = FI(r, "employee_count"), rev = FI(r, "annual_revenue_cents");
    store_agg_row *out;
    int n = -1;
    store_agg q = {.group = {status, -1}, .sum = rev};
    CHECK_EQ_INT(store_rec_aggregate(d.c, &d.a, r, d.ws, &q, &out, &n, &e), STORE_OK);
    CHECK_STR(agg_text(&d.a, out, n), "active/-/4:1330 inactive/-/1:7");
    q = (store_agg){.group = {status, country}, .sum = -1};
    CHECK_EQ_INT(store_rec_aggregate(d.c, &d.a, r, d.ws, &q, &out, &n, &e), STORE_OK);
    CHECK_STR(agg_text(&d.a, out, n), "active/-/1:0 active/DE/1:0 active/FR/2:0 inactive/FR/1:0");
    store_filter f[] = {
        {.field = emp, .op = SF_GE, .v = {.kind = SV_INT, .i = 10}},
        {.field = emp, .op = SF_LT, .v = {.kind = SV_INT, .i = 500}},
    };
    q = (store_agg){.filters = f, .nfilters = 2, .group = {emp, -1}, .sum = rev};
    CHECK_EQ_INT(store_rec_aggregate(d.c, &d.a, r, d.ws, &q, &out, &n, &e), STORE_OK);
    CHECK_STR(agg_text(&d.a, out, n), "#10/-/1:100 #20/-/1:30 #50/-/1:200");
    store_filter fc = {.field = country, .op = SF_EQ, .v = {.kind = SV_TEXT, .s = "fr"}};
    q = (store_agg){.filters = &fc, .nfilters = 1, .group = {-1, -1}, .sum = emp};
    CHECK_EQ_INT(store_rec_aggregate(d.c, &d.a, r, d.ws, &q, &out, &n, &e), STORE_OK);
    CHECK_STR(agg_text(&d.a, out, n), "-/-/3:560");
    db_close(&d);
}

TEST(store_merged_records)
{
    db d;
    if (!db_open(&d, "merged.db")) return;
    store_err e = {{0}};
    char into[ID_MAX] = "";
    CHECK_EQ_INT(store_merged_get(d.c, d.ws, "contacts", "con_1", into, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_merged_put(d.c, d.ws, "contacts", "con_1", "con_2", "{}", &e), STORE_OK);
    CHECK_EQ_INT(store_merged_get(d.c, d.ws, "contacts", "con_1", into, &e), STORE_OK);
    CHECK_STR(into, "con_2");
    CHECK_EQ_INT(store_merged_put(d.c, d.ws, "contacts", "con_1", "con_3", "{}", &e), STORE_OK);
    CHECK_EQ_INT(store_merged_get(d.c, d.ws, "contacts", "con_1", into, &e), STORE_OK);
    CHECK_STR(into, "con_3");
    CHECK_EQ_INT(store_merged_get(d.c, d.ws2, "contacts", "con_1", into, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_lock(d.c, d.ws, "email:a@b.c", &e), STORE_OK);
    db_close(&d);
}

TEST(store_list_rel_filter)
{
    db d;
    if (!db_open(&d, "rel.db")) return;
    const res_def *con = R("contacts"), *com = R("companies");
    char acme[ID_MAX], other[ID_MAX], acme2[ID_MAX];
    char *ids[] = {acme, other, acme2};
    const char *dom[] = {"Acme.COM", "other.org", "acme.com"};
    for (int i = 0; i < 3; i++) {
        res_row row = new_row(&d, com);
        set_s(com, &row, "domain", dom[i]);
        insert_row(&d, com, i == 2 ? d.ws2 : d.ws, &row);
        snprintf(ids[i], ID_MAX, "%s", row.id);
    }
    const char *co[] = {acme, other, acme, NULL, acme2};
    for (int i = 0; i < 5; i++) {
        res_row row = new_row(&d, con);
        set_s(con, &row, "name", arena_printf(&d.a, "p%d", i));
        set_s(con, &row, "company_id", co[i]);
        insert_row(&d, con, d.ws, &row);
    }
    store_filter f = {.field = FI(con, "company_id"),
                      .op = SF_REL,
                      .v = {.kind = SV_TEXT, .s = "ACME.com"},
                      .rel = com,
                      .rel_field = FI(com, "domain")};
    store_query q = q_all(10);
    q.filters = &f;
    q.nfilters = 1;
    res_row *rows;
    if (CHECK_EQ_INT(list(&d, con, d.ws, &q, &rows, NULL), 2)) {
        CHECK_STR(get_s(con, &rows[0], "name"), "p2");
        CHECK_STR(get_s(con, &rows[1], "name"), "p0");
    }
    f.v.s = "nobody.net";
    CHECK_EQ_INT(list(&d, con, d.ws, &q, &rows, NULL), 0);
    db_close(&d);
}

/* Rollups: increments land in their group atomically, lists match on any
 * key, empty groups disappear, and a rebuild recounts from the rows. */
TEST(store_rollups)
{
    db d;
    if (!db_open(&d, "rollups.db")) return;
    const res_def *r = R("deals");
    store_err e = {{0}};
    store_val k1[3] = {{.kind = SV_TEXT, .s = "open"}, {.kind = SV_TEXT, .s = "stage_a"}, {0}};
    store_val k2[3] = {{.kind = SV_TEXT, .s = "won"},
                       {.kind = SV_TEXT, .s = "stage_w"},
                       {.kind = SV_TEXT, .s = "USD"}};
    CHECK_EQ_INT(store_rollup_add(d.c, r, d.ws, k1, 1, 100, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_add(d.c, r, d.ws, k1, 1, 50, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_add(d.c, r, d.ws, k2, 1, 7, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_add(d.c, r, d.ws2, k2, 1, 1, &e), STORE_OK);
    store_agg_row *rows;
    int n;
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, d.ws, NULL, &rows, &n, &e), STORE_OK);
    if (CHECK_EQ_INT(n, 2)) {
        CHECK_STR(rows[0].key[0].s, "open");
        CHECK(rows[0].key[2].kind == SV_NULL); /* a NULL key comes back NULL */
        CHECK_EQ_INT(rows[0].count, 2);
        CHECK_EQ_INT(rows[0].sum, 150);
        CHECK_STR(rows[1].key[2].s, "USD");
    }
    const char *won[3] = {"won", NULL, NULL};
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, d.ws, won, &rows, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(store_rollup_add(d.c, r, d.ws, k2, -1, -7, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, d.ws, won, &rows, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 0);

    /* Rows written below the engine: a rebuild counts them, per workspace. */
    for (int i = 0; i < 3; i++) {
        res_row row = new_row(&d, r);
        set_s(r, &row, "name", "deal");
        set_s(r, &row, "status", i ? "open" : "lost");
        set_s(r, &row, "stage_id", i ? "stage_a" : "stage_l");
        set_s(r, &row, "currency", "EUR");
        set_i(r, &row, "amount_cents", 10 * (i + 1));
        insert_row(&d, r, d.ws, &row);
    }
    CHECK_EQ_INT(store_rollup_rebuild(d.c, r, &e), STORE_OK);
    const char *open[3] = {"open", "stage_a", "EUR"};
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, d.ws, open, &rows, &n, &e), STORE_OK);
    if (CHECK_EQ_INT(n, 1)) {
        CHECK_EQ_INT(rows[0].count, 2);
        CHECK_EQ_INT(rows[0].sum, 50);
    }
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, d.ws, NULL, &rows, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 2); /* the increments without rows are gone */
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, d.ws2, NULL, &rows, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 0);
    db_close(&d);
}
