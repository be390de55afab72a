/* test_store.c - the store interface (store.h), one suite on every backend.
 *
 * Only store.h is used, so these tests hold for any implementation: each
 * STORE_TEST runs on SQLite (a file under the run's temp directory) and,
 * when CAIRN_TEST_PG names a server, on PostgreSQL (a fresh database) as
 * <name>_pg (store_harness.h). Each test opens its own database, so tests
 * do not depend on each other's rows. Rows are built the way the engine
 * builds them: one store_val per field of the resource, in table order.
 * What one backend alone has is tested in test_sqlite.c and test_pg.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "store/search.h"
#include "store/store.h"
#include "store_harness.h"
#include "test.h"

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

STORE_TEST(store_migrate_idempotent)
{
    db d;
    if (!db_open_bare(&d, "migrate.db")) return;
    store_conn *c = d.c;
    store_err e = {{0}};
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
    if (CHECK_EQ_INT(store_connect(d.s, &d.c, &e), STORE_OK)) {
        c = d.c;
        applied = -1;
        CHECK_EQ_INT(store_migrate(c, &applied, &e), STORE_OK);
        CHECK_EQ_INT(applied, 0);
        CHECK_EQ_INT(store_schema_version(c, &v3, &e), STORE_OK);
        CHECK_EQ_INT(v3, v1);
        store_workspace f;
        CHECK_EQ_INT(store_workspace_find(c, "keep", &f, &e), STORE_OK);
        CHECK_STR(f.id, w.id);
        CHECK_EQ_INT(store_ping(c, &e), STORE_OK);
    } else {
        d.c = NULL;
    }
    db_close(&d);
}

/* ------------------------------------------------------- workspaces, keys */

static void count_ws(const store_workspace *w, void *ud)
{
    (void)w;
    (*(int *)ud)++;
}

STORE_TEST(store_workspaces)
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

/* The disabled modules of every workspace, "name=modules" joined. */
static void modules_of(const store_workspace *w, void *ud)
{
    char *s = ud;
    size_t n = strlen(s);
    snprintf(s + n, 512 - n, "%s%s=%s", n ? " " : "", w->name, w->disabled_modules);
}

STORE_TEST(store_workspace_modules)
{
    db d;
    if (!db_open(&d, "modules.db")) return;
    store_err e = {{0}};
    store_workspace w;
    memset(&w, 0x7f, sizeof w);
    CHECK_EQ_INT(store_workspace_create(d.c, "C", &w, &e), STORE_OK);
    CHECK_STR(w.disabled_modules, ""); /* a new workspace has every module */
    CHECK_EQ_INT(store_workspace_set_modules(d.c, d.ws, "billing support", &e), STORE_OK);
    memset(&w, 0x7f, sizeof w);
    CHECK_EQ_INT(store_workspace_find(d.c, "A", &w, &e), STORE_OK);
    CHECK_STR(w.disabled_modules, "billing support");
    CHECK_EQ_INT(store_workspace_find(d.c, d.ws2, &w, &e), STORE_OK);
    CHECK_STR(w.disabled_modules, "");
    char seen[512] = "";
    CHECK_EQ_INT(store_workspace_each(d.c, modules_of, seen, &e), STORE_OK);
    CHECK(strstr(seen, "A=billing support") != NULL);
    CHECK(strstr(seen, "B=") != NULL);
    CHECK(strstr(seen, "C=") != NULL);
    /* Replaced whole, and back to none. */
    CHECK_EQ_INT(store_workspace_set_modules(d.c, d.ws, "cms", &e), STORE_OK);
    CHECK_EQ_INT(store_workspace_find(d.c, d.ws, &w, &e), STORE_OK);
    CHECK_STR(w.disabled_modules, "cms");
    CHECK_EQ_INT(store_workspace_set_modules(d.c, d.ws, "", &e), STORE_OK);
    CHECK_EQ_INT(store_workspace_find(d.c, d.ws, &w, &e), STORE_OK);
    CHECK_STR(w.disabled_modules, "");
    /* Inside a transaction, rolled back with it. */
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_workspace_set_modules(d.c, d.ws, "crm", &e), STORE_OK);
    store_rollback(d.c);
    CHECK_EQ_INT(store_workspace_find(d.c, d.ws, &w, &e), STORE_OK);
    CHECK_STR(w.disabled_modules, "");
    /* Unknown ids, and more than the struct holds. */
    CHECK_EQ_INT(store_workspace_set_modules(d.c, "wrk_01ARZ3NDEKTSV4RRFFQ69G5FAV", "cms", &e),
                 STORE_NOTFOUND);
    CHECK(e.msg[0] != '\0');
    CHECK_EQ_INT(store_workspace_set_modules(d.c, "A", "cms", &e), STORE_NOTFOUND); /* a name */
    /* The currency: USD until set, kept apart from the modules. */
    CHECK_EQ_INT(store_workspace_find(d.c, d.ws, &w, &e), STORE_OK);
    CHECK_STR(w.currency, "USD");
    CHECK_EQ_INT(store_workspace_set_currency(d.c, d.ws, "EUR", &e), STORE_OK);
    CHECK_EQ_INT(store_workspace_find(d.c, d.ws, &w, &e), STORE_OK);
    CHECK_STR(w.currency, "EUR");
    CHECK_STR(w.disabled_modules, "");
    CHECK_EQ_INT(store_workspace_find(d.c, d.ws2, &w, &e), STORE_OK);
    CHECK_STR(w.currency, "USD");
    CHECK_EQ_INT(store_workspace_set_currency(d.c, "wrk_01ARZ3NDEKTSV4RRFFQ69G5FAV", "EUR", &e),
                 STORE_NOTFOUND);
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_EQ_INT(store_workspace_set_modules(d.c, d.ws, big, &e), STORE_ERROR);
    CHECK_EQ_INT(store_workspace_find(d.c, d.ws, &w, &e), STORE_OK);
    CHECK_STR(w.disabled_modules, "");
    db_close(&d);
}

/* A database from before the column (schema version 4) gets it from the
 * next migration, its workspaces kept with every module enabled. */
STORE_TEST(store_workspace_modules_migrate)
{
    db d;
    if (!db_open(&d, "modulesmig.db")) return;
    store_err e = {{0}};
    int version = -1, applied = -1;
    CHECK_EQ_INT(store_schema_version(d.c, &version, &e), STORE_OK);
    CHECK(version >= 5);
    CHECK_EQ_INT(store_workspace_set_modules(d.c, d.ws, "billing", &e), STORE_OK);
    CHECK(raw_exec(&d, "ALTER TABLE workspaces DROP COLUMN disabled_modules"));
    CHECK(raw_exec(&d, "DROP TABLE server_secret"));                    /* version 6's */
    CHECK(raw_exec(&d, "ALTER TABLE workspaces DROP COLUMN currency")); /* version 7's */
    CHECK(raw_exec(&d, "DROP INDEX events_ws_sequence"));               /* version 8's */
    CHECK(raw_exec(&d, "ALTER TABLE events DROP COLUMN sequence"));
    CHECK(raw_exec(&d, "CREATE INDEX events_ws ON events(workspace_id)"));
    CHECK(raw_exec(&d, "DROP TABLE event_sequences"));
    CHECK(raw_exec(&d, "DELETE FROM schema_migrations WHERE version >= 5"));
    CHECK_EQ_INT(store_migrate(d.c, &applied, &e), STORE_OK);
    CHECK_EQ_INT(applied, version - 4);
    int64_t n = -1;
    CHECK_EQ_INT(store_workspace_count(d.c, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 2);
    store_workspace w;
    if (CHECK_EQ_INT(store_workspace_find(d.c, "A", &w, &e), STORE_OK)) {
        CHECK_STR(w.id, d.ws);
        CHECK_STR(w.disabled_modules, "");
        CHECK_STR(w.currency, "USD"); /* version 7 gives existing workspaces USD */
    }
    CHECK_EQ_INT(store_workspace_set_modules(d.c, d.ws2, "crm", &e), STORE_OK);
    CHECK_EQ_INT(store_workspace_find(d.c, "B", &w, &e), STORE_OK);
    CHECK_STR(w.disabled_modules, "crm");
    db_close(&d);
}

static void count_keys(const store_key *k, void *ud)
{
    (void)k;
    (*(int *)ud)++;
}

STORE_TEST(store_keys)
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

STORE_TEST(store_record_crud)
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
    CHECK_JSON(got.custom, "{\"tier\":\"gold\"}");
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
    CHECK_JSON(got.custom, "{\"tier\":\"gold\"}");
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
    CHECK_JSON(got.custom, "{\"tier\":\"silver\"}");

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

STORE_TEST(store_find_by)
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
    /* Case-insensitive, oldest first, and scoped; an import's lookup
     * (bulk: planned per call on PostgreSQL) answers the same. */
    for (int bulk = 0; bulk <= 1; bulk++) {
        CHECK_EQ_INT(
            store_rec_find_by(d.c, &d.a, con, d.ws, fe, "JANE.DOE@EXAMPLE.COM", bulk, &got, &e),
            STORE_OK);
        CHECK_STR(got.id, a1);
        CHECK_EQ_INT(
            store_rec_find_by(d.c, &d.a, con, d.ws2, fe, "jane.doe@example.com", bulk, &got, &e),
            STORE_OK);
        CHECK_STR(got.id, b1);
        CHECK_EQ_INT(
            store_rec_find_by(d.c, &d.a, con, d.ws, fe, "nobody@example.com", bulk, &got, &e),
            STORE_NOTFOUND);
    }

    db_close(&d);
}

STORE_TEST(store_workspace_scoping)
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
    CHECK_EQ_INT(
        store_rec_find_by(d.c, &d.a, r, d.ws2, FI(r, "email"), "alice@a.test", false, &got, &e),
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

/* An index's definition as the database keeps it ("" when there is no
 * index of that name). */
static const char *index_def(db *d, const char *name)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             d->be == TB_POSTGRES ? "SELECT indexdef FROM pg_indexes WHERE indexname = '%s'"
                                  : "SELECT sql FROM sqlite_master WHERE name = '%s'",
             name);
    return raw_text(d, sql);
}

/* An optional field's index leaves its NULLs out, replaces the full index
 * of earlier versions on start, and still answers its equality filters; a
 * field with a default keeps its full index. */
STORE_TEST(optional_field_index_leaves_nulls_out)
{
    db d;
    if (!db_open(&d, "sparse.db")) return;
    const res_def *r = R("contacts");
    if (!r) return;
    CHECK(strstr(index_def(&d, "contacts_wn_company_id"), "WHERE (company_id IS NOT NULL)") ||
          strstr(index_def(&d, "contacts_wn_company_id"), "WHERE company_id IS NOT NULL"));
    CHECK_STR(index_def(&d, "contacts_ws_company_id"), "");
    CHECK(*index_def(&d, "contacts_ws_status") &&
          !strstr(index_def(&d, "contacts_ws_status"), "WHERE"));

    /* A database of an earlier version: the full index goes on start. */
    CHECK(raw_exec(&d,
                   "DROP INDEX contacts_wn_company_id;"
                   "CREATE INDEX contacts_ws_company_id ON contacts(workspace_id, company_id);"));
    CHECK(*index_def(&d, "contacts_ws_company_id"));
    int applied = -1;
    store_err e;
    CHECK_EQ_INT(store_migrate(d.c, &applied, &e), STORE_OK);
    CHECK(strstr(index_def(&d, "contacts_wn_company_id"), "company_id IS NOT NULL"));
    CHECK_STR(index_def(&d, "contacts_ws_company_id"), "");

    /* Rows without the value are listed, rows with it are found by it. */
    char co[ID_MAX], without[ID_MAX], with[ID_MAX];
    add1(&d, "companies", d.ws, "name", "Initech", co);
    add1(&d, "contacts", d.ws, "name", "No Company", without);
    res_row row = new_row(&d, r);
    set_s(r, &row, "name", "Peter Gibbons");
    set_s(r, &row, "company_id", co);
    CHECK(insert_row(&d, r, d.ws, &row));
    snprintf(with, sizeof with, "%s", row.id);
    store_filter f = {.field = FI(r, "company_id"), .v = {.kind = SV_TEXT, .s = co}};
    store_query q = q_all(100);
    q.filters = &f;
    q.nfilters = 1;
    res_row *rows = NULL;
    if (CHECK_EQ_INT(list(&d, r, d.ws, &q, &rows, NULL), 1)) CHECK_STR(rows[0].id, with);
    q = q_all(100);
    CHECK_EQ_INT(list(&d, r, d.ws, &q, NULL, NULL), 2);
    db_close(&d);
}

/* A unique key with an optional column is kept only for the rows that
 * have it (rows with a NULL never conflict), and replaces the full index
 * of earlier versions on start. */
STORE_TEST(optional_unique_key_leaves_nulls_out)
{
    db d;
    if (!db_open(&d, "sparse_unique.db")) return;
    const res_def *r = R("journal-entries");
    if (!r) return;
    const char *def = index_def(&d, "journal_entries_unique_wn");
    CHECK(strstr(def, "UNIQUE") && strstr(def, "reference IS NOT NULL"));
    CHECK_STR(index_def(&d, "journal_entries_unique"), "");
    /* A key of required columns keeps its full index. */
    def = index_def(&d, "accounting_accounts_unique");
    CHECK(strstr(def, "UNIQUE") && !strstr(def, "WHERE"));

    CHECK(raw_exec(&d, "DROP INDEX journal_entries_unique_wn;"
                       "CREATE UNIQUE INDEX journal_entries_unique ON "
                       "journal_entries(workspace_id, reference);"));
    int applied = -1;
    store_err e;
    CHECK_EQ_INT(store_migrate(d.c, &applied, &e), STORE_OK);
    CHECK(strstr(index_def(&d, "journal_entries_unique_wn"), "reference IS NOT NULL"));
    CHECK_STR(index_def(&d, "journal_entries_unique"), "");

    /* Many rows without a reference; a reference taken twice conflicts,
     * in its workspace only. */
    for (int i = 0; i < 3; i++) {
        res_row row = new_row(&d, r);
        set_s(r, &row, "memo", "no reference");
        CHECK(insert_row(&d, r, d.ws, &row));
    }
    res_row row = new_row(&d, r);
    set_s(r, &row, "reference", "INV-7");
    CHECK(insert_row(&d, r, d.ws, &row));
    row = new_row(&d, r);
    set_s(r, &row, "reference", "INV-7");
    CHECK(insert_row(&d, r, d.ws2, &row));
    row = new_row(&d, r);
    set_s(r, &row, "reference", "INV-7");
    CHECK_EQ_INT(store_rec_insert(d.c, r, d.ws, &row, &e), STORE_CONFLICT);
    CHECK_EQ_INT(raw_int(&d, "SELECT count(*) FROM journal_entries"), 5);
    db_close(&d);
}

STORE_TEST(store_list_order_and_keyset_pagination)
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

/* A page after a record given by its id is the page after its (value,
 * rid) cursor, ties and case folding included, both ways; another
 * workspace's id, or none, gives an empty page. */
STORE_TEST(store_list_after_id)
{
    db d;
    if (!db_open(&d, "after_id.db")) return;
    const res_def *r = R("contacts");
    if (!r) return;
    static const char *names[] = {"b", "A", "B", "c", "b", "a", "C"};
    enum { N = sizeof names / sizeof names[0] };
    char ids[N][ID_MAX], other[ID_MAX];
    for (int i = 0; i < N; i++)
        add_contact(&d, d.ws, names[i], NULL, NULL, ids[i]);
    add_contact(&d, d.ws2, "b", NULL, NULL, other);
    const res_field *sf = &r->fields[res_field_index(r, "name")];
    for (int up = 0; up < 2; up++) {
        for (int i = 0; i < N; i++) {
            store_query q = q_all(N);
            q.sort_by = sf;
            q.ascending = up;
            q.after_id = ids[i];
            res_row *by_id, *by_val, *self;
            bool more;
            int n = list(&d, r, d.ws, &q, &by_id, &more);
            store_query v = q_all(N);
            v.sort_by = sf;
            v.ascending = up;
            /* The record's own cursor, read from the full list. */
            int all = list(&d, r, d.ws, &v, &self, &more);
            int at = -1;
            for (int k = 0; k < all; k++)
                if (strcmp(self[k].id, ids[i]) == 0) at = k;
            if (!CHECK(at >= 0)) continue;
            v.after_rid = self[at].rid;
            v.after_val = self[at].vals[sf - r->fields];
            int m = list(&d, r, d.ws, &v, &by_val, &more);
            if (!CHECK_EQ_INT(n, m) || !CHECK_EQ_INT(n, all - at - 1))
                printf("  %s after %s (%d)\n", up ? "ascending" : "descending", names[i], i);
            for (int k = 0; k < n && k < m; k++)
                if (!CHECK_STR(by_id[k].id, by_val[k].id))
                    printf("  %s after %s (%d), row %d\n", up ? "ascending" : "descending",
                           names[i], i, k);
        }
        store_query q = q_all(N);
        q.sort_by = sf;
        q.ascending = up;
        q.after_id = other;
        CHECK_EQ_INT(list(&d, r, d.ws, &q, NULL, NULL), 0);
        q.after_id = "ct_none";
        CHECK_EQ_INT(list(&d, r, d.ws, &q, NULL, NULL), 0);
    }
    db_close(&d);
}

STORE_TEST(store_list_filters)
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

STORE_TEST(store_unique_tuple)
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

STORE_TEST(store_custom_field_filter)
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

STORE_TEST(store_full_text_search)
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
    /* As the engine does, the row carries every field's value, changed
     * or not (PostgreSQL rebuilds the search document from it). */
    set_s(cr, &up, "name", "John Brown");
    set_s(cr, &up, "email", "john@globex.com");
    set_s(cr, &up, "status", "active");
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

/* Tags are stored in every search document and posting: a change to how
 * they are cut would hide every stored row from search. */
TEST(search_tag_is_stable)
{
    char tag[SEARCH_TAG_LEN + 1];
    search_tag("wrk_f", tag);
    CHECK_STR(tag, "wq7b3q0");
    search_tag("ws_01JZ0000000000000000000000", tag);
    CHECK_STR(tag, "w5jud39");
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

STORE_TEST(store_search_pagination)
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

STORE_TEST(store_sublist_link)
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

STORE_TEST(store_sort_keyset_with_nulls)
{
    db d;
    if (!db_open(&d, "sortnulls.db")) return;
    store_conn *c = d.c;
    const res_def *r = res_find("contacts");
    int ln = res_field_index(r, "last_name"), nm = res_field_index(r, "name");
    const char *last[] = {"b", NULL, "A", "c", NULL, "a"};
    store_err e;
    for (int i = 0; i < 6; i++) {
        res_row row = {0};
        row.vals = arena_zalloc(&d.a, sizeof(store_val) * (size_t)r->nfields);
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
            if (!CHECK_EQ_INT(store_rec_list(c, &d.a, r, "wrk_s", &q, &rows, &n, &more, &e),
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
    case FT_LIST:
        return (store_val){.kind = SV_TEXT, .s = arena_printf(a, "[{\"n\":%d}]", variant)};
    case FT_OBJECT:
    case FT_JSON: return (store_val){.kind = SV_TEXT, .s = arena_printf(a, "{\"n\":%d}", variant)};
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

STORE_TEST(store_every_resource_round_trips)
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
        CHECK_JSON(got.custom, row.custom);
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
            CHECK_JSON(got.custom, up.custom);
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

STORE_TEST(store_idempotency)
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

STORE_TEST(store_events)
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

STORE_TEST(store_events_follow_savepoints)
{
    db d;
    if (!db_open(&d, "evsp.db")) return;
    store_conn *c = d.c;
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
    db_close(&d);
}

/* ----------------------------------------------------------- transactions */

STORE_TEST(store_transactions)
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

STORE_TEST(store_nested_savepoints)
{
    db d;
    if (!db_open(&d, "nested.db")) return;
    store_conn *c = d.c;
    store_err e;
    /* A batch item rolled back, the next kept, inside the request's own
     * savepoint: only the kept item's event exists. */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(&d, "wrk_n", "item.undone", "id1", NULL), STORE_OK);
    store_rollback_to(c);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(&d, "wrk_n", "item.kept", "id1", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_EQ_INT(count_events(&d, "wrk_n"), 1);
    CHECK_STR(timeline(&d, "wrk_n", "id1"), "item.kept");

    /* The request rolled back after an item was released: nothing stays,
     * neither the item's event and row nor the request's own. */
    const res_def *con = res_find("contacts");
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    char id[ID_MAX], outer[ID_MAX];
    add1(&d, "contacts", "wrk_n", "name", "Outer", outer);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    add1(&d, "contacts", "wrk_n", "name", "Gone", id);
    CHECK_EQ_INT(append(&d, "wrk_n", "item.gone", "id2", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    store_rollback_to(c);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_EQ_INT(count_events(&d, "wrk_n"), 1);
    CHECK_EQ_INT(store_rec_exists(c, con, "wrk_n", id, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_rec_exists(c, con, "wrk_n", outer, &e), STORE_NOTFOUND);

    /* The same after a statement failed the transaction: the rollback
     * still reaches the outer savepoint, and the transaction goes on. */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    add1(&d, "contacts", "wrk_n", "name", "Outer too", outer);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    add1(&d, "contacts", "wrk_n", "name", "Gone too", id);
    CHECK_EQ_INT(append(&d, "wrk_n", "item.gone", "id3", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    /* (A row with a unique key set is sent at once on PostgreSQL, so its
     * conflict is told at once.) */
    const res_def *je = res_find("journal-entries");
    res_row dup = new_row(&d, je);
    set_s(je, &dup, "reference", "nested-dup");
    CHECK_EQ_INT(store_rec_insert(c, je, "wrk_n", &dup, &e), STORE_OK);
    dup = new_row(&d, je);
    set_s(je, &dup, "reference", "nested-dup");
    CHECK_EQ_INT(store_rec_insert(c, je, "wrk_n", &dup, &e), STORE_CONFLICT);
    store_rollback_to(c);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(&d, "wrk_n", "after.failure", "id3", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_STR(timeline(&d, "wrk_n", "id3"), "after.failure");
    CHECK_EQ_INT(store_rec_exists(c, con, "wrk_n", id, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_rec_exists(c, con, "wrk_n", outer, &e), STORE_NOTFOUND);

    /* A fixed depth: one more savepoint fails cleanly, the rest works. */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    int depth = 0;
    while (depth < 64 && store_savepoint(c, &e) == STORE_OK) {
        append(&d, "wrk_n", "deep", "id4", NULL);
        depth++;
    }
    CHECK(depth >= 2 && depth < 64);
    for (int i = 0; i < depth - 1; i++)
        CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    store_rollback_to(c); /* the outermost: every level's event goes */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(&d, "wrk_n", "shallow", "id4", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_STR(timeline(&d, "wrk_n", "id4"), "shallow");
    db_close(&d);
}

/* ------------------------------------------------------ store robustness */

/* More filters than the store's bind array holds must still all apply:
 * dropping one silently returns rows the caller filtered out. */
STORE_TEST(store_many_filters_all_apply)
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

STORE_TEST(store_many_binds_no_overflow)
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

STORE_TEST(store_stmt_cache_eviction_then_prepare_error)
{
    child_arg ca = {"cache.db"};
    CHECK_NO_CRASH("statement cache: evict, failed prepare, disconnect", cache_churn_child, &ca);
}

/* ---------------------------------------- timelines, merges, aggregates */

STORE_TEST(store_event_timeline)
{
    db d;
    if (!db_open(&d, "timeline.db")) return;
    store_err e = {{0}};
    /* outside a transaction, then inside one (PostgreSQL buffers those) */
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

    /* newest first, in pages */
    store_event *ev;
    int n = 0;
    bool more = false;
    if (!CHECK_EQ_INT(store_event_list(d.c, &d.a, d.ws, "led_1", 0, 2, &ev, &n, &more, &e),
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
        CHECK_EQ_INT(store_event_list(d.c, &d.a, d.ws, "led_1", before, 2, &ev, &n, &more, &e),
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
    CHECK_STR(timeline(&d, d.ws, "led_2"), "activity.created");
    CHECK_STR(timeline(&d, d.ws, "nobody"), "");

    /* led_2 merged into led_1: its events (its own and those about it)
     * join led_1's timeline; the other workspace's stay apart */
    CHECK_EQ_INT(store_event_resubject(d.c, d.ws, "led_2", "led_1", &e), STORE_OK);
    CHECK_STR(timeline(&d, d.ws, "led_1"),
              "lead.deleted activity.created activity.created lead.updated lead.created");
    CHECK_STR(timeline(&d, d.ws2, "led_1"), "lead.updated");
    /* ... and inside a transaction, the transaction's own events included */
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    CHECK_EQ_INT(append(&d, d.ws, "lead.merge_prep", "led_2", NULL), STORE_OK);
    CHECK_EQ_INT(store_event_resubject(d.c, d.ws, "led_2", "led_1", &e), STORE_OK);
    CHECK_EQ_INT(append(&d, d.ws, "lead.merged", "led_1", NULL), STORE_OK);
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    CHECK_STR(timeline(&d, d.ws, "led_1"),
              "lead.merged lead.merge_prep lead.deleted activity.created activity.created "
              "lead.updated lead.created");
    CHECK_STR(timeline(&d, d.ws2, "led_1"), "lead.updated");
    CHECK_EQ_INT(count_events(&d, d.ws), 7);
    db_close(&d);
}

STORE_TEST(store_repoint_moves_and_clears)
{
    db d;
    if (!db_open(&d, "repoint.db")) return;
    store_err e = {{0}};
    const res_def *mem = R("company-memberships"), *con = R("contacts");
    char ca[ID_MAX], cb[ID_MAX], cx[ID_MAX], cy[ID_MAX];
    add_contact(&d, d.ws, "A", NULL, NULL, ca);
    add_contact(&d, d.ws, "B", NULL, NULL, cb);
    add1(&d, "companies", d.ws, "name", "X", cx);
    add1(&d, "companies", d.ws, "name", "Y", cy);
    add_membership(&d, d.ws, ca, cx, "a-x");
    add_membership(&d, d.ws, ca, cy, "a-y");
    add_membership(&d, d.ws, cb, cx, "b-x");
    add_membership(&d, d.ws2, ca, cy, "other-ws");
    int contact_id = FI(mem, "contact_id"), company_id = FI(mem, "company_id");

    /* A merged into B: (A,X) would duplicate (B,X) and goes; (A,Y) moves */
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    if (!CHECK_EQ_INT(store_rec_repoint(d.c, mem, contact_id, d.ws, ca, cb, -1, NULL, &e),
                      STORE_OK))
        printf("  %s\n", e.msg);
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    CHECK_STR(values_where(&d, mem->table, "role", "contact_id", ca), "other-ws");
    CHECK_STR(values_where(&d, mem->table, "role", "contact_id", cb), "a-y b-x");
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

    /* Company Y deleted: its memberships' reference cleared, in this
     * workspace only */
    if (!CHECK_EQ_INT(store_rec_repoint(d.c, mem, company_id, d.ws, cy, NULL, -1, NULL, &e),
                      STORE_OK))
        printf("  %s\n", e.msg);
    if (CHECK_EQ_INT(list(&d, mem, d.ws, &q, &rows, NULL), 2)) {
        CHECK(get_v(mem, &rows[0], "company_id")->kind == SV_NULL);
        CHECK_STR(get_s(mem, &rows[1], "company_id"), cx);
    }
    CHECK_STR(values_where(&d, mem->table, "role", "coalesce(company_id, 'none')", "none"), "a-y");
    CHECK_STR(values_where(&d, mem->table, "role", "company_id", cy), "other-ws");

    /* With a type field (as polymorphic references have): only rows of
     * that type move, and clearing clears the type too. Contacts stand in:
     * status plays the type. */
    int company = FI(con, "company_id"), status = FI(con, "status");
    char ids[3][ID_MAX];
    const char *st[] = {"active", "archived", "active"};
    for (int i = 0; i < 3; i++) {
        res_row row = new_row(&d, con);
        set_s(con, &row, "company_id", cx);
        set_s(con, &row, "status", st[i]);
        set_s(con, &row, "name", arena_printf(&d.a, "t%d", i));
        insert_row(&d, con, d.ws, &row);
        snprintf(ids[i], ID_MAX, "%s", row.id);
    }
    CHECK_EQ_INT(store_rec_repoint(d.c, con, company, d.ws, cx, cy, status, "active", &e),
                 STORE_OK);
    CHECK_STR(values_where(&d, "contacts", "name", "company_id", cy), "t0 t2");
    CHECK_STR(values_where(&d, "contacts", "name", "company_id", cx), "t1");
    if (!CHECK_EQ_INT(store_rec_repoint(d.c, con, company, d.ws, cy, NULL, status, "active", &e),
                      STORE_OK))
        printf("  %s\n", e.msg);
    res_row got;
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, con, d.ws, ids[0], &got, &e), STORE_OK);
    CHECK(get_v(con, &got, "company_id")->kind == SV_NULL);
    CHECK(get_v(con, &got, "status")->kind == SV_NULL);
    CHECK_EQ_INT(store_rec_get(d.c, &d.a, con, d.ws, ids[1], &got, &e), STORE_OK);
    CHECK_STR(get_s(con, &got, "company_id"), cx);
    CHECK_STR(get_s(con, &got, "status"), "archived");
    CHECK_STR(values_where(&d, "contacts", "coalesce(status, '-') || coalesce(company_id, '-')",
                           "name", "t0"),
              "--");
    CHECK_STR(values_where(&d, "contacts", "status", "name", "t1"), "archived");
    /* nothing matches: fine */
    CHECK_EQ_INT(store_rec_repoint(d.c, mem, contact_id, d.ws, "con_none", cb, -1, NULL, &e),
                 STORE_OK);
    db_close(&d);
}

STORE_TEST(store_aggregate_groups_and_ranges)
{
    db d;
    if (!db_open(&d, "aggregate.db")) return;
    store_conn *c = d.c;
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
        res_row row = new_row(&d, r);
        set_s(r, &row, "name", "co");
        set_s(r, &row, "status", rows[i].status);
        set_s(r, &row, "country", rows[i].country);
        set_i(r, &row, "employee_count", rows[i].employees);
        set_i(r, &row, "annual_revenue_cents", rows[i].revenue);
        insert_row(&d, r, "wrk_g", &row);
    }
    res_row x = new_row(&d, r);
    set_s(r, &x, "status", "active");
    set_i(r, &x, "annual_revenue_cents", 99999);
    insert_row(&d, r, "wrk_h", &x); /* another workspace */
    int status = res_field_index(r, "status"), country = res_field_index(r, "country");
    int emp = res_field_index(r, "employee_count"),
        rev = res_field_index(r, "annual_revenue_cents");
    store_agg_row *out;
    int n = -1;

    store_agg q = {.group = {status, -1}, .sum = rev};
    CHECK_EQ_INT(store_rec_aggregate(c, &d.a, r, "wrk_g", &q, &out, &n, &e), STORE_OK);
    CHECK_STR(agg_text(&d.a, out, n), "active/-/4:1330 inactive/-/1:7");

    q = (store_agg){.group = {status, country}, .sum = -1};
    CHECK_EQ_INT(store_rec_aggregate(c, &d.a, r, "wrk_g", &q, &out, &n, &e), STORE_OK);
    CHECK_STR(agg_text(&d.a, out, n), "active/-/1:0 active/DE/1:0 active/FR/2:0 inactive/FR/1:0");

    /* 10 <= employees < 500, grouped by an integer column */
    store_filter f[] = {
        {.field = emp, .op = SF_GE, .v = {.kind = SV_INT, .i = 10}},
        {.field = emp, .op = SF_LT, .v = {.kind = SV_INT, .i = 500}},
    };
    q = (store_agg){.filters = f, .nfilters = 2, .group = {emp, -1}, .sum = rev};
    if (!CHECK_EQ_INT(store_rec_aggregate(c, &d.a, r, "wrk_g", &q, &out, &n, &e), STORE_OK))
        printf("  %s\n", e.msg);
    CHECK_STR(agg_text(&d.a, out, n), "#10/-/1:100 #20/-/1:30 #50/-/1:200");

    /* no grouping: one row; with an equality filter (case-insensitive) */
    store_filter fc = {.field = country, .op = SF_EQ, .v = {.kind = SV_TEXT, .s = "fr"}};
    q = (store_agg){.filters = &fc, .nfilters = 1, .group = {-1, -1}, .sum = emp};
    CHECK_EQ_INT(store_rec_aggregate(c, &d.a, r, "wrk_g", &q, &out, &n, &e), STORE_OK);
    CHECK_STR(agg_text(&d.a, out, n), "-/-/3:560");

    /* nothing matches: grouped gives no rows */
    fc.v.s = "nowhere";
    q.group[0] = status;
    CHECK_EQ_INT(store_rec_aggregate(c, &d.a, r, "wrk_g", &q, &out, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 0);
    db_close(&d);
}

STORE_TEST(store_merged_records)
{
    db d;
    if (!db_open(&d, "merged.db")) return;
    store_err e = {{0}};
    char into[ID_MAX] = "";
    CHECK_EQ_INT(store_merged_get(d.c, d.ws, "contacts", "con_1", into, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_merged_put(d.c, d.ws, "contacts", "con_1", "con_2", "{\"a\":1}", &e),
                 STORE_OK);
    CHECK_EQ_INT(store_merged_get(d.c, d.ws, "contacts", "con_1", into, &e), STORE_OK);
    CHECK_STR(into, "con_2");
    /* merged again (the survivor itself merged away): the newer wins */
    CHECK_EQ_INT(store_merged_put(d.c, d.ws, "contacts", "con_1", "con_3", "{}", &e), STORE_OK);
    CHECK_EQ_INT(store_merged_get(d.c, d.ws, "contacts", "con_1", into, &e), STORE_OK);
    CHECK_STR(into, "con_3");
    CHECK_EQ_INT(store_merged_get(d.c, d.ws2, "contacts", "con_1", into, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_merged_get(d.c, d.ws, "companies", "con_1", into, &e), STORE_NOTFOUND);
    /* a lock outside a transaction and inside one */
    CHECK_EQ_INT(store_lock(d.c, d.ws, "email:a@b.c", &e), STORE_OK);
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_lock(d.c, d.ws, "email:a@b.c", &e), STORE_OK);
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    db_close(&d);
}

STORE_TEST(store_list_rel_filter)
{
    db d;
    if (!db_open(&d, "rel.db")) return;
    store_conn *c = d.c;
    store_err e;
    const res_def *con = res_find("contacts"), *com = res_find("companies");
    char acme[ID_MAX], other[ID_MAX], acme2[ID_MAX];
    add1(&d, "companies", "wrk_l", "domain", "Acme.COM", acme);
    add1(&d, "companies", "wrk_l", "domain", "other.org", other);
    add1(&d, "companies", "wrk_o", "domain", "acme.com", acme2); /* another workspace */
    const char *co[] = {acme, other, acme, NULL, acme2};
    for (int i = 0; i < 5; i++) {
        res_row row = new_row(&d, con);
        set_s(con, &row, "name", arena_printf(&d.a, "p%d", i));
        set_s(con, &row, "company_id", co[i]);
        insert_row(&d, con, "wrk_l", &row);
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
    if (!CHECK_EQ_INT(store_rec_list(c, &d.a, con, "wrk_l", &q, &rows, &n, &more, &e), STORE_OK))
        printf("  %s\n", e.msg);
    CHECK_EQ_INT(n, 2);
    CHECK(!more);
    if (n == 2) {
        CHECK_STR(get_s(con, &rows[0], "name"), "p2");
        CHECK_STR(get_s(con, &rows[1], "name"), "p0");
    }
    /* combined with a comparison and paged */
    q.limit = 1;
    CHECK_EQ_INT(store_rec_list(c, &d.a, con, "wrk_l", &q, &rows, &n, &more, &e), STORE_OK);
    CHECK_EQ_INT(n, 1);
    CHECK(more);
    if (n == 1) q.after_rid = rows[0].rid;
    CHECK_EQ_INT(store_rec_list(c, &d.a, con, "wrk_l", &q, &rows, &n, &more, &e), STORE_OK);
    CHECK_EQ_INT(n, 1);
    CHECK(!more);
    if (n == 1) CHECK_STR(get_s(con, &rows[0], "name"), "p0");
    store_filter f2[] = {
        f, {.field = res_field_index(con, "name"), .op = SF_GE, .v = {.kind = SV_TEXT, .s = "p1"}}};
    q = (store_query){.filters = f2, .nfilters = 2, .limit = 10, .link_field = -1};
    CHECK_EQ_INT(store_rec_list(c, &d.a, con, "wrk_l", &q, &rows, &n, &more, &e), STORE_OK);
    CHECK_EQ_INT(n, 1);
    if (n == 1) CHECK_STR(get_s(con, &rows[0], "name"), "p2");
    /* no company with that domain */
    f.v.s = "nobody.net";
    q = (store_query){.filters = &f, .nfilters = 1, .limit = 10, .link_field = -1};
    CHECK_EQ_INT(store_rec_list(c, &d.a, con, "wrk_l", &q, &rows, &n, &more, &e), STORE_OK);
    CHECK_EQ_INT(n, 0);
    db_close(&d);
}

/* ----------------------------------------------------------- read batches */

/* Names of a page's rows, joined with spaces. */
static const char *names_of(db *d, const res_def *r, const res_row *rows, int n)
{
    char *s = arena_strdup(&d->a, "");
    for (int i = 0; i < n; i++)
        s = arena_printf(&d->a, "%s%s%s", s, i ? " " : "", get_s(r, &rows[i], "name"));
    return s;
}

/* A batch answers each read as the call it stands for would: records by
 * id (found, missing, in another workspace), pages with filters, a filter
 * through a related record and a cursor, a search, an empty search; inside
 * a transaction it sees the transaction's writes, also as the first
 * statement of a savepoint. A read that fails fails the batch, and the
 * connection goes on. */
STORE_TEST(store_read_batches)
{
    db d;
    if (!db_open(&d, "readbatch.db")) return;
    store_conn *c = d.c;
    store_err e = {{0}};
    const res_def *con = R("contacts"), *com = R("companies");
    char acme[ID_MAX], a[ID_MAX], b[ID_MAX], other[ID_MAX];
    add1(&d, "companies", d.ws, "domain", "acme.com", acme);
    add_contact(&d, d.ws, "Ann Read", "ann@acme.com", "active", a);
    add_contact(&d, d.ws, "Bob Read", "bob@acme.com", "active", b);
    add_contact(&d, d.ws, "Cid Read", "cid@acme.com", "inactive", NULL);
    add_contact(&d, d.ws2, "Dan Else", "dan@else.com", "active", other);
    res_row arow = {0};
    CHECK_EQ_INT(store_rec_get(c, &d.a, con, d.ws, a, &arow, &e), STORE_OK);
    res_row up = arow;
    set_s(con, &up, "company_id", acme);
    bool *set = arena_zalloc(&d.a, sizeof(bool) * (size_t)con->nfields);
    set[FI(con, "company_id")] = true;
    CHECK_EQ_INT(store_rec_update(c, con, d.ws, &up, set, false, &e), STORE_OK);

    store_filter active = {.field = FI(con, "status"), .v = sv_text("active")};
    store_query page = q_all(1);
    page.filters = &active;
    page.nfilters = 1;
    store_filter rel = {.field = FI(con, "company_id"),
                        .op = SF_REL,
                        .v = sv_text("ACME.com"),
                        .rel = com,
                        .rel_field = FI(com, "domain")};
    store_query by_rel = q_all(10);
    by_rel.filters = &rel;
    by_rel.nfilters = 1;
    store_query found = q_all(10), nothing = q_all(10);
    found.fts = "read";
    nothing.fts = "!!";
    store_read rd[] = {
        {.r = con, .id = a},
        {.r = con, .id = "con_01ARZ3NDEKTSV4RRFFQ69G5FAV"},
        {.r = con, .q = &page},
        {.r = con, .id = other}, /* workspace B's */
        {.r = con, .q = &by_rel},
        {.r = con, .q = &found},
        {.r = con, .q = &nothing},
        /* by natural key: case-insensitive, and in this workspace only */
        {.r = con, .key_field = FI(con, "email"), .key = "ANN@ACME.COM"},
        {.r = con, .key_field = FI(con, "email"), .key = "dan@else.com"},
    };
    enum { N = sizeof rd / sizeof rd[0] };
    for (int i = 0; i < N; i++)
        rd[i].rc = 99;
    if (!CHECK_EQ_INT(store_read_many(c, &d.a, d.ws, rd, N, &e), STORE_OK)) printf("  %s\n", e.msg);
    CHECK_EQ_INT(rd[0].rc, STORE_OK);
    CHECK_STR(rd[0].row.id, a);
    CHECK_STR(get_s(con, &rd[0].row, "name"), "Ann Read");
    CHECK_EQ_INT(rd[1].rc, STORE_NOTFOUND);
    CHECK_EQ_INT(rd[2].rc, STORE_OK);
    CHECK_STR(names_of(&d, con, rd[2].rows, rd[2].n), "Bob Read");
    CHECK(rd[2].more);
    CHECK_EQ_INT(rd[3].rc, STORE_NOTFOUND);
    CHECK_STR(names_of(&d, con, rd[4].rows, rd[4].n), "Ann Read");
    CHECK(!rd[4].more);
    CHECK_STR(names_of(&d, con, rd[5].rows, rd[5].n), "Cid Read Bob Read Ann Read");
    CHECK_EQ_INT(rd[6].rc, STORE_OK);
    CHECK_EQ_INT(rd[6].n, 0);
    CHECK(!rd[6].more);
    CHECK_EQ_INT(rd[7].rc, STORE_OK);
    CHECK_STR(rd[7].row.id, a);
    CHECK_EQ_INT(rd[8].rc, STORE_NOTFOUND);

    /* The next page, with the cursor of the first. */
    if (rd[2].n == 1) page.after_rid = rd[2].rows[0].rid;
    store_read next = {.r = con, .q = &page};
    CHECK_EQ_INT(store_read_many(c, &d.a, d.ws, &next, 1, &e), STORE_OK);
    CHECK_STR(names_of(&d, con, next.rows, next.n), "Ann Read");
    CHECK(!next.more);
    CHECK_EQ_INT(store_read_many(c, &d.a, d.ws, NULL, 0, &e), STORE_OK);

    /* Inside a write transaction: the first read of a savepoint, then
     * reads after a write in a nested one. */
    char e1[ID_MAX];
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    store_read two[] = {{.r = con, .id = b}, {.r = con, .q = &page}};
    CHECK_EQ_INT(store_read_many(c, &d.a, d.ws, two, 2, &e), STORE_OK);
    CHECK_STR(get_s(con, &two[0].row, "name"), "Bob Read");
    CHECK_STR(names_of(&d, con, two[1].rows, two[1].n), "Ann Read");
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    add_contact(&d, d.ws, "Eve Read", "eve@acme.com", "active", e1);
    page.after_rid = 0;
    store_read mine[] = {{.r = con, .id = e1}, {.r = con, .q = &page}};
    CHECK_EQ_INT(store_read_many(c, &d.a, d.ws, mine, 2, &e), STORE_OK);
    CHECK_EQ_INT(mine[0].rc, STORE_OK);
    CHECK_STR(names_of(&d, con, mine[1].rows, mine[1].n), "Eve Read");
    store_rollback_to(c);
    CHECK_EQ_INT(store_read_many(c, &d.a, d.ws, mine, 2, &e), STORE_OK);
    CHECK_EQ_INT(mine[0].rc, STORE_NOTFOUND);
    CHECK_STR(names_of(&d, con, mine[1].rows, mine[1].n), "Bob Read");
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);

    /* A read that cannot run fails the batch (a column that does not
     * exist); the connection carries on. */
    res_field ghost_field = {.name = "no_such_column", .type = FT_STRING};
    res_def ghost = *con;
    ghost.fields = &ghost_field;
    ghost.nfields = 1;
    store_read bad[] = {{.r = con, .id = a}, {.r = &ghost, .id = a}};
    CHECK_EQ_INT(store_read_many(c, &d.a, d.ws, bad, 2, &e), STORE_ERROR);
    CHECK(e.msg[0] != '\0');
    CHECK_EQ_INT(store_read_many(c, &d.a, d.ws, rd, 2, &e), STORE_OK);
    CHECK_STR(rd[0].row.id, a);
    db_close(&d);
}

/* Rollups: increments land in their group atomically, lists match on any
 * key, empty groups disappear, and a rebuild recounts from the rows. */
STORE_TEST(store_rollups)
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
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, d.ws, NULL, NULL, &rows, &n, &e), STORE_OK);
    if (CHECK_EQ_INT(n, 2)) {
        CHECK_STR(rows[0].key[0].s, "open");
        CHECK(rows[0].key[2].kind == SV_NULL); /* a NULL key comes back NULL */
        CHECK_EQ_INT(rows[0].count, 2);
        CHECK_EQ_INT(rows[0].sum, 150);
        CHECK_STR(rows[1].key[2].s, "USD");
    }
    const char *won[3] = {"won", NULL, NULL};
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, d.ws, won, NULL, &rows, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(store_rollup_add(d.c, r, d.ws, k2, -1, -7, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, d.ws, won, NULL, &rows, &n, &e), STORE_OK);
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
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, d.ws, open, NULL, &rows, &n, &e), STORE_OK);
    if (CHECK_EQ_INT(n, 1)) {
        CHECK_EQ_INT(rows[0].count, 2);
        CHECK_EQ_INT(rows[0].sum, 50);
    }
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, d.ws, NULL, NULL, &rows, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 2); /* the increments without rows are gone */
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, d.ws2, NULL, NULL, &rows, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 0);

    /* Amounts by group with a NULL key, in a workspace of their own; a
     * rebuild without amounts sums NULLs to 0. */
    store_val k3[3] = {{.kind = SV_TEXT, .s = "open"}, {.kind = SV_TEXT, .s = "stage_a"}, {0}};
    CHECK_EQ_INT(store_rollup_add(d.c, r, "wrk_r", k3, 1, 100, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_add(d.c, r, "wrk_r", k3, 2, 50, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_add(d.c, r, "wrk_other", k3, 1, 1, &e), STORE_OK);
    const char *m[3] = {"open", "stage_a", NULL};
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, "wrk_r", m, NULL, &rows, &n, &e), STORE_OK);
    if (CHECK_EQ_INT(n, 1)) {
        CHECK_EQ_INT(rows[0].count, 3);
        CHECK_EQ_INT(rows[0].sum, 150);
        CHECK(rows[0].key[2].kind == SV_NULL);
    }
    for (int i = 0; i < 2; i++) {
        res_row row = new_row(&d, r);
        set_s(r, &row, "name", "deal");
        set_s(r, &row, "status", "won");
        set_s(r, &row, "stage_id", "stage_w");
        set_s(r, &row, "currency", "USD");
        insert_row(&d, r, "wrk_r", &row);
    }
    CHECK_EQ_INT(store_rollup_rebuild(d.c, r, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, "wrk_r", NULL, NULL, &rows, &n, &e), STORE_OK);
    if (CHECK_EQ_INT(n, 1)) {
        CHECK_STR(rows[0].key[0].s, "won");
        CHECK_EQ_INT(rows[0].count, 2);
        CHECK_EQ_INT(rows[0].sum, 0); /* no amounts: NULLs sum to 0 */
    }
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, "wrk_other", NULL, NULL, &rows, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 0);

    /* upto: groups whose last key (a day) is at most it, folded into one
     * row per account and side; read from the second rollup (every day,
     * kept beside the first as the engine keeps it) less the days after. */
    const res_def *jl = R("journal-lines");
    res_def total = res_rollup2_def(jl);
    CHECK(res_rollup2_folds(jl));
    CHECK(!res_rollup2_folds(r) && !res_rollup2_folds(R("campaign-contacts")));
    const char *days[] = {"2025-01-31", "2025-02-01", "2025-02-28", "2025-10-01"};
    for (int i = 0; i < 4; i++) {
        store_val k[3] = {{.kind = SV_TEXT, .s = "acct_1"},
                          {.kind = SV_TEXT, .s = i % 2 ? "credit" : "debit"},
                          {.kind = SV_TEXT, .s = days[i]}};
        CHECK_EQ_INT(store_rollup_add(d.c, jl, d.ws, k, 1, 100 << i, &e), STORE_OK);
        CHECK_EQ_INT(store_rollup_add(d.c, &total, d.ws, k, 1, 100 << i, &e), STORE_OK);
    }
    const char *acct[3] = {"acct_1", NULL, NULL};
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, jl, d.ws, acct, "2025-02-28", &rows, &n, &e),
                 STORE_OK);
    if (CHECK_EQ_INT(n, 2)) { /* credit before debit, byte-wise */
        CHECK_STR(rows[0].key[1].s, "credit");
        CHECK_EQ_INT(rows[0].sum, 200);
        CHECK_EQ_INT(rows[1].count, 2);
        CHECK_EQ_INT(rows[1].sum, 500);
        CHECK(rows[1].key[2].kind == SV_NULL);
    }
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, jl, d.ws, NULL, "2025-01-31", &rows, &n, &e),
                 STORE_OK);
    if (CHECK_EQ_INT(n, 1)) CHECK_EQ_INT(rows[0].sum, 100);
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, jl, d.ws, NULL, "2024-12-31", &rows, &n, &e),
                 STORE_OK);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, jl, d.ws, acct, "2025-12-31", &rows, &n, &e),
                 STORE_OK);
    if (CHECK_EQ_INT(n, 2)) {
        CHECK_EQ_INT(rows[0].sum, 200 + 800);
        CHECK_EQ_INT(rows[1].sum, 100 + 400);
    }
    /* a day of the match is folded the old way (no group after it) */
    const char *on_day[3] = {"acct_1", "debit", "2025-01-31"};
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, jl, d.ws, on_day, "2025-12-31", &rows, &n, &e),
                 STORE_OK);
    if (CHECK_EQ_INT(n, 1)) CHECK_EQ_INT(rows[0].sum, 100);
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, jl, d.ws, acct, NULL, &rows, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, &total, d.ws, acct, NULL, &rows, &n, &e), STORE_OK);
    if (CHECK_EQ_INT(n, 2)) {
        CHECK_STR(rows[1].key[1].s, "debit");
        CHECK_EQ_INT(rows[1].count, 2);
        CHECK_EQ_INT(rows[1].sum, 500);
        CHECK(rows[1].key[2].kind == SV_NULL);
    }
    db_close(&d);
}

/* A database from before the journal lines' second rollup (per account
 * and side) gets it from the lines at the next migration, and balances as
 * of any day read from it come out as the per-day groups folded. */
STORE_TEST(store_ledger_rollup2_migrates)
{
    db d;
    if (!db_open(&d, "ledger_rollup2.db")) return;
    const res_def *jl = R("journal-lines");
    res_def total = res_rollup2_def(jl);
    store_err e = {{0}};
    const char *accts[] = {"acct_cash", "acct_ar", "acct_rev"};
    const char *days[] = {"2025-01-01", "2025-01-15", "2025-02-01", "2025-03-31"};
    int64_t want[2][3][2] = {{{0}}}; /* [ws][account][credit, debit] */
    for (int i = 0; i < 40; i++) {
        const char *ws = i % 5 == 4 ? d.ws2 : d.ws;
        res_row l = new_row(&d, jl);
        int a = i % 3, side = (i / 3) % 2;
        int64_t amount = 1000 + 37 * i;
        set_s(jl, &l, "entry_id", "je_x");
        set_s(jl, &l, "account_id", accts[a]);
        set_s(jl, &l, "side", side ? "debit" : "credit");
        set_i(jl, &l, "amount_cents", amount);
        set_s(jl, &l, "currency", "USD");
        set_s(jl, &l, "entry_date", days[i % 4]);
        if (!insert_row(&d, jl, ws, &l)) goto out;
        want[ws == d.ws2][a][side] += amount;
    }
    /* As a database of before: the per-day rollup kept, the other unknown. */
    CHECK_EQ_INT(store_rollup_rebuild(d.c, jl, &e), STORE_OK);
    CHECK(raw_exec(&d, "DELETE FROM rollups WHERE resource = 'journal-lines:account'"));
    CHECK(raw_exec(&d, "DELETE FROM rollup_specs WHERE resource = 'journal-lines:account'"));
    store_agg_row *rows;
    int n = -1, applied = -1;
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, &total, d.ws, NULL, NULL, &rows, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 0);
    if (!CHECK_EQ_INT(store_migrate(d.c, &applied, &e), STORE_OK)) printf("  %s\n", e.msg);
    CHECK_EQ_INT(applied, 0); /* no schema step: the rollup follows its declaration */
    CHECK_STR(
        raw_text(&d, "SELECT spec FROM rollup_specs WHERE resource = 'journal-lines:account'"),
        "account_id,side:amount_cents");
    for (int w = 0; w < 2; w++) {
        const char *ws = w ? d.ws2 : d.ws;
        CHECK_EQ_INT(store_rollup_list(d.c, &d.a, &total, ws, NULL, NULL, &rows, &n, &e), STORE_OK);
        int64_t sum = 0, count = 0;
        for (int i = 0; i < n; i++) {
            int a = -1;
            for (int k = 0; k < 3; k++)
                if (!strcmp(rows[i].key[0].s, accts[k])) a = k;
            bool debit = !strcmp(rows[i].key[1].s, "debit");
            if (CHECK(a >= 0)) CHECK_EQ_INT(rows[i].sum, want[w][a][debit]);
            sum += rows[i].sum;
            count += rows[i].count;
        }
        CHECK_EQ_INT(count, w ? 8 : 32);
        int64_t all = 0;
        for (int a = 0; a < 3; a++)
            all += want[w][a][0] + want[w][a][1];
        CHECK_EQ_INT(sum, all);
        /* as of each day (and before the first, after the last): the same
         * as summing the per-day groups up to it */
        const char *asof[] = {"2024-12-31", "2025-01-01", "2025-01-20",
                              "2025-02-01", "2025-03-31", "2026-01-01"};
        for (int k = 0; k < 6; k++) {
            store_agg_row *all_days;
            int nd;
            CHECK_EQ_INT(store_rollup_list(d.c, &d.a, jl, ws, NULL, NULL, &all_days, &nd, &e),
                         STORE_OK);
            CHECK_EQ_INT(store_rollup_list(d.c, &d.a, jl, ws, NULL, asof[k], &rows, &n, &e),
                         STORE_OK);
            int64_t got = 0, exp = 0, got_n = 0, exp_n = 0;
            for (int i = 0; i < n; i++) {
                got += rows[i].sum;
                got_n += rows[i].count;
            }
            for (int i = 0; i < nd; i++)
                if (strcmp(all_days[i].key[2].s, asof[k]) <= 0) {
                    exp += all_days[i].sum;
                    exp_n += all_days[i].count;
                }
            CHECK_EQ_INT(got, exp);
            CHECK_EQ_INT(got_n, exp_n);
            if (k == 0) CHECK_EQ_INT(n, 0);
        }
    }
out:
    db_close(&d);
}

/* The group's count and total as "n:total", "-" when it has no row. */
static const char *group_of(db *d, const char *ws, const store_val *keys)
{
    store_agg_row *rows;
    int n = 0;
    store_err e = {{0}};
    const char *m[3] = {keys[0].s, keys[1].s, keys[2].s};
    if (!CHECK_EQ_INT(store_rollup_list(d->c, &d->a, R("deals"), ws, m, NULL, &rows, &n, &e),
                      STORE_OK)) {
        printf("  %s\n", e.msg);
        return "?";
    }
    return n ? arena_printf(&d->a, "%lld:%lld", (long long)rows[0].count, (long long)rows[0].sum)
             : "-";
}

/* Several groups of several rollups in one statement: each gets its own
 * change, new groups appear, and when one group would leave 64 bits none
 * changes (STORE_RANGE) and the transaction goes on. */
STORE_TEST(store_rollups_add_many)
{
    db d;
    if (!db_open(&d, "rollupmany.db")) return;
    const res_def *r = R("deals"), *jl = R("journal-lines");
    res_def total = res_rollup2_def(jl);
    store_conn *c = d.c;
    store_err e = {{0}};
    store_val a[3] = {sv_text("open"), sv_text("stage_a"), sv_text("USD")};
    store_val hi[3] = {sv_text("open"), sv_text("stage_hi"), sv_text("USD")};
    store_val day[3] = {sv_text("acct_1"), sv_text("debit"), sv_text("2025-03-01")};
    store_val all[3] = {sv_text("acct_1"), sv_text("debit"), {0}};
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, a, 1, 100, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, hi, 1, INT64_MAX - 10, &e), STORE_OK);
    store_rollup_delta ds[4] = {{.r = r, .dcount = 2, .dsum = 50},
                                {.r = jl, .dcount = 1, .dsum = 700},
                                {.r = &total, .dcount = 1, .dsum = 700},
                                {.r = r, .dcount = 1, .dsum = 10}};
    memcpy(ds[0].keys, a, sizeof a);
    memcpy(ds[1].keys, day, sizeof day);
    memcpy(ds[2].keys, all, sizeof all);
    memcpy(ds[3].keys, hi, sizeof hi);
    if (!CHECK_EQ_INT(store_rollup_add_many(c, d.ws, ds, 4, &e), STORE_OK)) printf("  %s\n", e.msg);
    CHECK_STR(group_of(&d, d.ws, a), "3:150");
    CHECK_STR(group_of(&d, d.ws, hi), "2:9223372036854775807");
    store_agg_row *rows;
    int n = -1;
    CHECK_EQ_INT(store_rollup_list(c, &d.a, &total, d.ws, NULL, NULL, &rows, &n, &e), STORE_OK);
    if (CHECK_EQ_INT(n, 1)) {
        CHECK_EQ_INT(rows[0].count, 1);
        CHECK_EQ_INT(rows[0].sum, 700);
        CHECK(rows[0].key[2].kind == SV_NULL);
    }
    CHECK_EQ_INT(store_rollup_list(c, &d.a, jl, d.ws, NULL, "2025-03-01", &rows, &n, &e), STORE_OK);
    if (CHECK_EQ_INT(n, 1)) CHECK_EQ_INT(rows[0].sum, 700);
    CHECK_EQ_INT(store_rollup_list(c, &d.a, r, d.ws2, NULL, NULL, &rows, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 0); /* another workspace's groups are its own */

    /* One group past the bound: nothing changes, the transaction goes on. */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    ds[3].dsum = 1;
    CHECK_EQ_INT(store_rollup_add_many(c, d.ws, ds, 4, &e), STORE_RANGE);
    CHECK(strstr(e.msg, "64-bit") != NULL);
    ds[3].dsum = -7;
    ds[3].dcount = -1;
    CHECK_EQ_INT(store_rollup_add_many(c, d.ws, ds, 4, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_STR(group_of(&d, d.ws, a), "5:200");
    CHECK_STR(group_of(&d, d.ws, hi), "1:9223372036854775800");
    CHECK_EQ_INT(store_rollup_list(c, &d.a, &total, d.ws, NULL, NULL, &rows, &n, &e), STORE_OK);
    if (CHECK_EQ_INT(n, 1)) CHECK_EQ_INT(rows[0].sum, 1400);
    /* One is store_rollup_add. */
    CHECK_EQ_INT(store_rollup_add_many(c, d.ws, ds, 1, &e), STORE_OK);
    CHECK_STR(group_of(&d, d.ws, a), "7:250");
    db_close(&d);
}

/* Totals never leave 64 bits: a rollup change that would is refused
 * whole (STORE_RANGE, nothing changed, the transaction goes on), an
 * aggregate or recount that would is STORE_RANGE, and one that ends at
 * the bound is exact. */
STORE_TEST(store_totals_stay_in_range)
{
    db d;
    if (!db_open(&d, "range.db")) return;
    const res_def *r = R("deals");
    store_conn *c = d.c;
    store_err e = {{0}};
    store_val hi[3] = {sv_text("open"), sv_text("stage_hi"), sv_text("USD")};
    store_val lo[3] = {sv_text("open"), sv_text("stage_lo"), sv_text("USD")};
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, hi, 1, INT64_MAX - 5, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, hi, 1, 5, &e), STORE_OK);
    CHECK_STR(group_of(&d, d.ws, hi), "2:9223372036854775807");
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, hi, 1, 1, &e), STORE_RANGE);
    CHECK(strstr(e.msg, "64-bit") != NULL);
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, hi, 1, INT64_MAX, &e), STORE_RANGE);
    CHECK_STR(group_of(&d, d.ws, hi), "2:9223372036854775807");
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, hi, -1, -5, &e), STORE_OK);
    CHECK_STR(group_of(&d, d.ws, hi), "1:9223372036854775802");
    /* The low bound, and a count that would leave the range. */
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, lo, 1, INT64_MIN, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, lo, 1, -1, &e), STORE_RANGE);
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, lo, INT64_MAX, 0, &e), STORE_RANGE);
    CHECK_STR(group_of(&d, d.ws, lo), "1:-9223372036854775808");
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, lo, 1, INT64_MAX, &e), STORE_OK);
    CHECK_STR(group_of(&d, d.ws, lo), "2:-1");
    /* Refused inside a transaction: the rest of it commits. */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, hi, 1, 10, &e), STORE_RANGE);
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, hi, 1, 2, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_STR(group_of(&d, d.ws, hi), "2:9223372036854775804");

    /* Aggregates: exact at the bound, STORE_RANGE past it, either way. */
    const res_def *co = R("companies");
    int status = FI(co, "status"), rev = FI(co, "annual_revenue_cents");
    struct {
        const char *ws, *status;
        int64_t revenue;
    } rows[] = {
        {"wrk_at", "a", INT64_MAX - 1}, {"wrk_at", "a", 1},           {"wrk_at", "b", INT64_MIN},
        {"wrk_up", "a", INT64_MAX},     {"wrk_up", "a", 1},           {"wrk_down", "a", INT64_MIN},
        {"wrk_down", "a", -1},          {"wrk_down", "b", INT64_MAX},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        res_row row = new_row(&d, co);
        set_s(co, &row, "name", "co");
        set_s(co, &row, "status", rows[i].status);
        set_i(co, &row, "annual_revenue_cents", rows[i].revenue);
        insert_row(&d, co, rows[i].ws, &row);
    }
    store_agg q = {.group = {status, -1}, .sum = rev};
    store_agg_row *out;
    int n = -1;
    if (!CHECK_EQ_INT(store_rec_aggregate(c, &d.a, co, "wrk_at", &q, &out, &n, &e), STORE_OK))
        printf("  %s\n", e.msg);
    CHECK_STR(agg_text(&d.a, out, n), "a/-/2:9223372036854775807 b/-/1:-9223372036854775808");
    CHECK_EQ_INT(store_rec_aggregate(c, &d.a, co, "wrk_up", &q, &out, &n, &e), STORE_RANGE);
    CHECK(e.msg[0] != '\0');
    CHECK_EQ_INT(store_rec_aggregate(c, &d.a, co, "wrk_down", &q, &out, &n, &e), STORE_RANGE);
    q.group[0] = -1;
    CHECK_EQ_INT(store_rec_aggregate(c, &d.a, co, "wrk_up", &q, &out, &n, &e), STORE_RANGE);
    q.sum = -1; /* counting alone is fine */
    CHECK_EQ_INT(store_rec_aggregate(c, &d.a, co, "wrk_up", &q, &out, &n, &e), STORE_OK);
    CHECK_STR(agg_text(&d.a, out, n), "-/-/2:0");

    /* A recount from rows whose total leaves the range fails, and leaves
     * the groups as they were. */
    for (int i = 0; i < 2; i++) {
        res_row row = new_row(&d, r);
        set_s(r, &row, "name", "big");
        set_s(r, &row, "status", "open");
        set_s(r, &row, "stage_id", "stage_big");
        set_s(r, &row, "currency", "USD");
        set_i(r, &row, "amount_cents", INT64_MAX);
        insert_row(&d, r, d.ws2, &row);
    }
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_rebuild(c, r, &e), STORE_RANGE);
    store_rollback(c);
    CHECK_STR(group_of(&d, d.ws, hi), "2:9223372036854775804");
    db_close(&d);
}

/* Moves between two groups, into a new one, within one, out of the last
 * row of one; refused whole (nothing changed, the transaction goes on)
 * when either group, or the change itself, would leave 64 bits. */
STORE_TEST(store_rollup_moves)
{
    db d;
    if (!db_open(&d, "rollupmove.db")) return;
    const res_def *r = R("deals");
    store_conn *c = d.c;
    store_err e = {{0}};
    store_val a[3] = {sv_text("open"), sv_text("stage_a"), sv_text("USD")};
    store_val b[3] = {sv_text("open"), sv_text("stage_b"), sv_text("USD")};
    store_val n[3] = {sv_text("open"), sv_text("stage_n"), {0}}; /* a NULL key */
    store_val hi[3] = {sv_text("won"), sv_text("stage_w"), sv_text("USD")};
    store_val lo[3] = {sv_text("lost"), sv_text("stage_l"), sv_text("USD")};
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, a, 2, 300, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, b, 1, 50, &e), STORE_OK);
    if (!CHECK_EQ_INT(store_rollup_move(c, r, d.ws, a, 100, b, 120, &e), STORE_OK))
        printf("  %s\n", e.msg);
    CHECK_STR(group_of(&d, d.ws, a), "1:200");
    CHECK_STR(group_of(&d, d.ws, b), "2:170");
    CHECK_EQ_INT(store_rollup_move(c, r, d.ws, b, 120, n, 120, &e), STORE_OK);
    CHECK_STR(group_of(&d, d.ws, b), "1:50");
    CHECK_STR(group_of(&d, d.ws, n), "1:120");
    CHECK_EQ_INT(store_rollup_move(c, r, d.ws, n, 120, n, 150, &e), STORE_OK);
    CHECK_STR(group_of(&d, d.ws, n), "1:150");
    CHECK_EQ_INT(store_rollup_move(c, r, d.ws, n, 150, n, 150, &e), STORE_OK);
    CHECK_STR(group_of(&d, d.ws, n), "1:150");
    CHECK_EQ_INT(store_rollup_move(c, r, d.ws, b, 50, a, 50, &e), STORE_OK);
    CHECK_STR(group_of(&d, d.ws, b), "-"); /* emptied */
    CHECK_STR(group_of(&d, d.ws, a), "2:250");
    CHECK_STR(group_of(&d, d.ws2, a), "-"); /* scoped by workspace */

    /* Refused whole: the group moved into, or the group moved out of,
     * would leave the range; or the change has no 64-bit form. */
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, hi, 1, INT64_MAX - 10, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, lo, 1, INT64_MIN + 5, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_move(c, r, d.ws, a, 50, hi, 20, &e), STORE_RANGE);
    CHECK(strstr(e.msg, "64-bit") != NULL);
    CHECK_EQ_INT(store_rollup_move(c, r, d.ws, lo, 10, a, 10, &e), STORE_RANGE);
    CHECK_EQ_INT(store_rollup_move(c, r, d.ws, hi, -20, hi, INT64_MAX - 10, &e), STORE_RANGE);
    CHECK_EQ_INT(store_rollup_move(c, r, d.ws, hi, 0, hi, 11, &e), STORE_RANGE);
    CHECK_EQ_INT(store_rollup_move(c, r, d.ws, a, INT64_MIN, b, 0, &e), STORE_RANGE);
    CHECK_STR(group_of(&d, d.ws, a), "2:250");
    CHECK_STR(group_of(&d, d.ws, b), "-");
    CHECK_STR(group_of(&d, d.ws, hi), "1:9223372036854775797");
    CHECK_STR(group_of(&d, d.ws, lo), "1:-9223372036854775803");
    /* Up to the bound is fine. */
    if (!CHECK_EQ_INT(store_rollup_move(c, r, d.ws, a, 50, hi, 10, &e), STORE_OK))
        printf("  %s\n", e.msg);
    CHECK_STR(group_of(&d, d.ws, hi), "2:9223372036854775807");
    CHECK_STR(group_of(&d, d.ws, a), "1:200");
    /* In a transaction, a refused move leaves the rest to commit. */
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_move(c, r, d.ws, a, 200, hi, 1, &e), STORE_RANGE);
    CHECK_EQ_INT(store_rollup_move(c, r, d.ws, a, 200, b, 1, &e), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_STR(group_of(&d, d.ws, a), "-");
    CHECK_STR(group_of(&d, d.ws, b), "1:1");
    db_close(&d);
}

/* An update and its rollup move written together (store_write_many): both
 * land; a failure names the write at fault (a rollup move out of range, an
 * update of no row), and rolling back to the savepoint undoes the rest. */
STORE_TEST(store_write_batches)
{
    db d;
    if (!db_open(&d, "writemany.db")) return;
    const res_def *r = R("deals");
    store_conn *c = d.c;
    store_err e = {{0}};
    store_val a[3] = {sv_text("open"), sv_text("stage_a"), sv_text("USD")};
    store_val b[3] = {sv_text("open"), sv_text("stage_b"), sv_text("USD")};
    store_val hi[3] = {sv_text("won"), sv_text("stage_w"), sv_text("USD")};
    res_row row = new_row(&d, r);
    set_s(r, &row, "name", "Deal");
    set_s(r, &row, "stage_id", "stage_a");
    set_s(r, &row, "status", "open");
    set_i(r, &row, "amount_cents", 100);
    set_s(r, &row, "currency", "USD");
    if (!CHECK(insert_row(&d, r, d.ws, &row))) return;
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, a, 1, 100, &e), STORE_OK);
    CHECK_EQ_INT(store_rollup_add(c, r, d.ws, hi, 1, INT64_MAX - 10, &e), STORE_OK);
    bool *set = arena_zalloc(&d.a, sizeof(bool) * (size_t)r->nfields);
    set[FI(r, "stage_id")] = true;

    /* Into stage_b: the row and both groups. */
    set_s(r, &row, "stage_id", "stage_b");
    store_write w[2] = {{.r = r, .row = &row, .set = set},
                        {.r = r, .from_keys = a, .from_sum = 100, .to_keys = b, .to_sum = 100}};
    int failed = 7;
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    if (!CHECK_EQ_INT(store_write_many(c, d.ws, w, 2, &failed, &e), STORE_OK))
        printf("  %s\n", e.msg);
    CHECK_EQ_INT(failed, -1);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    res_row got = {0};
    CHECK_EQ_INT(store_rec_get(c, &d.a, r, d.ws, row.id, &got, &e), STORE_OK);
    CHECK_STR(get_s(r, &got, "stage_id"), "stage_b");
    CHECK_STR(group_of(&d, d.ws, a), "-");
    CHECK_STR(group_of(&d, d.ws, b), "1:100");

    /* Into the won stage, whose total would leave 64 bits: the move is at
     * fault; the savepoint undoes the update that ran with it. */
    set_s(r, &row, "stage_id", "stage_w");
    w[1] = (store_write){.r = r, .from_keys = b, .from_sum = 100, .to_keys = hi, .to_sum = 100};
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_write_many(c, d.ws, w, 2, &failed, &e), STORE_RANGE);
    CHECK_EQ_INT(failed, 1);
    CHECK(strstr(e.msg, "64-bit") != NULL);
    store_rollback_to(c);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(c, &d.a, r, d.ws, row.id, &got, &e), STORE_OK);
    CHECK_STR(get_s(r, &got, "stage_id"), "stage_b");
    CHECK_STR(group_of(&d, d.ws, b), "1:100");
    CHECK_STR(group_of(&d, d.ws, hi), "1:9223372036854775797");

    /* An update of a row of another workspace finds none: it is at fault,
     * though the move after it ran (and is undone with the savepoint). */
    w[1] = (store_write){.r = r, .from_keys = b, .from_sum = 100, .to_keys = a, .to_sum = 100};
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_write_many(c, d.ws2, w, 2, &failed, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(failed, 0);
    store_rollback_to(c);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_STR(group_of(&d, d.ws, b), "1:100");
    CHECK_STR(group_of(&d, d.ws2, a), "-");

    /* Nothing to write is no failure. */
    CHECK_EQ_INT(store_write_many(c, d.ws, w, 0, &failed, &e), STORE_OK);
    CHECK_EQ_INT(failed, -1);
    db_close(&d);
}

/* Rows of an append-only table (the audit log) written in a transaction:
 * seen by the transaction's own reads of that table, gone with a savepoint
 * rolled back to (also when a read sent them before it), kept by a commit
 * (PostgreSQL holds them until it, store_rec_insert). */
STORE_TEST(store_log_rows_in_transactions)
{
    db d;
    if (!db_open(&d, "logrows.db")) return;
    const res_def *r = R("audit-log");
    if (!CHECK(r && r->log)) return;
    store_conn *c = d.c;
    store_err e = {{0}};
    const char *kept[3];
    for (int i = 0; i < 3; i++) {
        res_row row = new_row(&d, r);
        set_s(r, &row, "route", "POST /v1/contacts");
        set_s(r, &row, "outcome", i == 1 ? "gone" : "ok");
        if (i == 0) CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
        CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
        CHECK_EQ_INT(store_rec_insert(c, r, d.ws, &row, &e), STORE_OK);
        kept[i] = arena_strdup(&d.a, row.id);
        res_row *rows;
        bool more;
        store_query q = q_all(10);
        if (i == 1) { /* read inside the savepoint, which is then undone */
            CHECK_EQ_INT(list(&d, r, d.ws, &q, &rows, &more), 2);
            store_rollback_to(c);
            CHECK_EQ_INT(list(&d, r, d.ws, &q, &rows, &more), 1);
            continue;
        }
        CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    }
    res_row got;
    CHECK_EQ_INT(store_rec_get(c, &d.a, r, d.ws, kept[2], &got, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    res_row *rows;
    bool more;
    store_query q = q_all(10);
    CHECK_EQ_INT(list(&d, r, d.ws, &q, &rows, &more), 2);
    CHECK_EQ_INT(store_rec_get(c, &d.a, r, d.ws, kept[0], &got, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_get(c, &d.a, r, d.ws, kept[1], &got, &e), STORE_NOTFOUND);
    CHECK_EQ_INT(store_rec_get(c, &d.a, r, d.ws, kept[2], &got, &e), STORE_OK);
    CHECK_STR(get_s(r, &got, "outcome"), "ok");
    /* A rolled-back transaction leaves none. */
    res_row row = new_row(&d, r);
    set_s(r, &row, "outcome", "rolled back");
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_insert(c, r, d.ws, &row, &e), STORE_OK);
    store_rollback(c);
    CHECK_EQ_INT(list(&d, r, d.ws, &q, &rows, &more), 2);
    db_close(&d);
}

/* ------------------------------------------------------- server secret */

/* The server's secret: made once, the same on every call, connection and
 * store of the database (another node, a restart), and on a database from
 * before it (schema version 5), which the migration upgrades with its
 * data. */
STORE_TEST(store_secret_shared)
{
    db d;
    if (!db_open(&d, "secret.db")) return;
    store_err e = {{0}};
    unsigned char k1[STORE_SECRET_LEN], k2[STORE_SECRET_LEN], zero[STORE_SECRET_LEN] = {0};
    if (!CHECK_EQ_INT(store_secret(d.c, k1, &e), STORE_OK)) printf("  %s\n", e.msg);
    CHECK(memcmp(k1, zero, sizeof zero) != 0);
    CHECK_EQ_INT(store_secret(d.c, k2, &e), STORE_OK);
    CHECK(memcmp(k1, k2, sizeof k1) == 0);
    store *s2;
    store_conn *c2;
    if (db_connect_again(&d, &(store_opts){.busy_ms = 2000}, &s2, &c2)) {
        memset(k2, 0, sizeof k2);
        if (!CHECK_EQ_INT(store_secret(c2, k2, &e), STORE_OK)) printf("  %s\n", e.msg);
        CHECK(memcmp(k1, k2, sizeof k1) == 0);
        store_disconnect(c2);
        store_close(s2);
    }

    /* A database at version 5: the migration adds the secret's table and
     * keeps what was there. */
    db old;
    if (!db_open(&old, "secret5.db")) {
        db_close(&d);
        return;
    }
    int version = -1, applied = -1;
    CHECK_EQ_INT(store_schema_version(old.c, &version, &e), STORE_OK);
    CHECK(version >= 6);
    CHECK(raw_exec(&old, "DROP TABLE server_secret"));
    CHECK(raw_exec(&old, "ALTER TABLE workspaces DROP COLUMN currency")); /* version 7's */
    CHECK(raw_exec(&old, "DROP INDEX events_ws_sequence"));               /* version 8's */
    CHECK(raw_exec(&old, "ALTER TABLE events DROP COLUMN sequence"));
    CHECK(raw_exec(&old, "CREATE INDEX events_ws ON events(workspace_id)"));
    CHECK(raw_exec(&old, "DROP TABLE event_sequences"));
    CHECK(raw_exec(&old, "DELETE FROM schema_migrations WHERE version >= 6"));
    if (!CHECK_EQ_INT(store_migrate(old.c, &applied, &e), STORE_OK)) printf("  %s\n", e.msg);
    CHECK_EQ_INT(applied, version - 5);
    int64_t n = -1;
    CHECK_EQ_INT(store_workspace_count(old.c, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 2);
    if (db_connect_again(&old, &(store_opts){.busy_ms = 2000}, &s2, &c2)) {
        CHECK_EQ_INT(store_secret(c2, k2, &e), STORE_OK);
        CHECK(memcmp(k2, zero, sizeof zero) != 0);
        CHECK(memcmp(k1, k2, sizeof k1) != 0); /* a database of its own */
        store_disconnect(c2);
        store_close(s2);
    }
    db_close(&old);
    db_close(&d);
}
