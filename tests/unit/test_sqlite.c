/* test_sqlite.c - what only the SQLite store has: the FTS5 index (its
 * segments and their merging, changes deferred to COMMIT, triggers
 * replaced without a rebuild), the WAL layer's deferred sync and
 * checkpoints, a full disk and the probe that recovers from it, busy
 * timeouts between connections, rollup totals left as
 * REALs by overflows from before the guards, and the server's secret in a
 * key file. The rest of the store runs on every backend in test_store.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "store/store.h"
#include "store_harness.h"
#include "test.h"

/* The first column of the first row of sql on a raw connection, or -1. */
static int file_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Each autocommitted insert leaves a full-text segment of its own; upkeep
 * merges segments of a size, in bounded steps (all small here: down to
 * one), and search answers the same. */
TEST(store_maintain_merges_search_index)
{
    db d;
    if (!db_open_on(&d, TB_SQLITE, "upkeep.db")) return;
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
    int segs_before = file_int(raw, segs_sql);
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
    CHECK_EQ_INT(file_int(raw, segs_sql), 1);
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
    if (!db_open_on(&d, TB_SQLITE, "ftstx.db")) return;
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
    int segs = file_int(raw, segs_sql);
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    for (int i = 0; i < 10; i++)
        add_contact(&d, d.ws, "November Batch", NULL, NULL, NULL);
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_OK);
    CHECK_EQ_INT(file_int(raw, segs_sql), segs + 1);
    CHECK_EQ_INT(search(&d, d.ws, "november"), 10);
    sqlite3_close(raw);
    db_close(&d);
}

/* Triggers changed but not the index: the index is kept, not rebuilt. */
TEST(store_search_triggers_change_alone)
{
    db d;
    if (!db_open_on(&d, TB_SQLITE, "ftstrig.db")) return;
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
        file_int(raw, "SELECT count(*) FROM contacts_fts WHERE contacts_fts MATCH 'marker'"), 1);
    CHECK_EQ_INT(file_int(raw, "SELECT count(*) FROM sqlite_master WHERE name = 'contacts_fts_i' "
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
        count = file_int(raw, "SELECT count(*) FROM contacts");
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

/* d on a fresh durable database `name`, migrated, with workspace A (d->ws):
 * the writer's connection before store_sync_defer. */
static bool open_writer(db *d, const char *name, int checkpoint_pages)
{
    memset(d, 0, sizeof *d);
    arena_init(&d->a);
    snprintf(d->url, sizeof d->url, "%s", test_path(name));
    if (!open_durable(name, checkpoint_pages, &d->s, &d->c)) return false;
    store_err e = {{0}};
    int applied;
    store_workspace w;
    if (!CHECK_EQ_INT(store_migrate(d->c, &applied, &e), STORE_OK) ||
        !CHECK_EQ_INT(store_workspace_create(d->c, "A", &w, &e), STORE_OK)) {
        printf("  %s\n", e.msg);
        db_close(d);
        return false;
    }
    snprintf(d->ws, sizeof d->ws, "%s", w.id);
    return true;
}

/* n contacts named `name` in d->ws, each committed on its own. */
static void commit_contacts(db *d, const char *name, int n)
{
    store_err e;
    for (int i = 0; i < n; i++) {
        CHECK_EQ_INT(store_begin(d->c, true, &e), STORE_OK);
        add_contact(d, d->ws, name, NULL, NULL, NULL);
        CHECK_EQ_INT(store_commit(d->c, &e), STORE_OK);
    }
}

/* The writer's connection (store_sync_defer): a commit's WAL frames go to
 * the file in one gathered write, before the commit is visible, and the
 * fsync waits for store_sync. Another connection sees each commit at once,
 * one larger than the gathering buffer too (rows larger than a page), and
 * checkpoints copy them into the database file. */
TEST(store_deferred_sync)
{
    db d;
    store *s2 = NULL;
    store_conn *c2 = NULL;
    if (!open_writer(&d, "defer.db", 64)) return;
    store_err e = {{0}};
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
    if (!open_writer(&d, "deferidle.db", 0)) return;
    store_err e = {{0}};
    /* Whatever the migration left in the log goes into the file first. */
    sqlite3 *raw = NULL;
    CHECK_EQ_INT(sqlite3_open_v2(test_path("deferidle.db"), &raw, SQLITE_OPEN_READWRITE, NULL),
                 SQLITE_OK);
    CHECK(file_int(raw, "SELECT count(*) FROM sqlite_master") > 0); /* opens the WAL */
    CHECK_EQ_INT(sqlite3_wal_checkpoint_v2(raw, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(raw);
    CHECK_EQ_INT(store_sync_defer(d.c, true, &e), STORE_OK);
    commit_contacts(&d, "Idle Person", 10);
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
    if (!db_open_on(&d, TB_SQLITE, "conc.db")) return;
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

/* A group whose total left 64 bits before the guards (SQLite kept it as a
 * REAL) is reported, not read back saturated; other workspaces' groups
 * list as before. */
TEST(store_rollup_real_total_is_range)
{
    db d;
    if (!db_open_on(&d, TB_SQLITE, "realtotal.db")) return;
    const res_def *r = R("deals");
    store_err e = {{0}};
    store_val k[3] = {sv_text("open"), sv_text("stage_a"), sv_text("USD")};
    CHECK_EQ_INT(store_rollup_add(d.c, r, d.ws, k, 1, 10, &e), STORE_OK);
    CHECK(raw_exec(&d, "INSERT INTO rollups VALUES ('wrk_old', 'deals', 'open', 'stage_a', 'USD', "
                       "2, 9223372036854775807 + 1)"));
    CHECK_STR(raw_text(&d, "SELECT typeof(total) FROM rollups WHERE workspace_id = 'wrk_old'"),
              "real");
    store_agg_row *rows;
    int n = -1;
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, "wrk_old", NULL, NULL, &rows, &n, &e),
                 STORE_RANGE);
    CHECK(strstr(e.msg, "64-bit") != NULL);
    CHECK_EQ_INT(store_rollup_list(d.c, &d.a, r, d.ws, NULL, NULL, &rows, &n, &e), STORE_OK);
    CHECK_EQ_INT(n, 1);
    db_close(&d);
}

/* The secret of a store opened on path, fresh (nothing remembered). */
static int secret_of(const char *path, unsigned char *key, store_err *e)
{
    store *s = NULL;
    store_conn *c = NULL;
    store_opts o = {.busy_ms = 1000};
    int rc = store_open(&s, path, &o, e);
    if (rc == STORE_OK) rc = store_connect(s, &c, e);
    if (rc == STORE_OK) rc = store_secret(c, key, e);
    if (c) store_disconnect(c);
    store_close(s);
    return rc;
}

static void write_file(const char *path, const void *data, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (!CHECK(fd >= 0)) return;
    CHECK_EQ_INT(write(fd, data, n), (long long)n);
    CHECK_EQ_INT(fchmod(fd, mode), 0);
    close(fd);
}

/* SQLite's secret is <db>.key: made 0600 with exactly the key, no file
 * left behind; an existing one is used as it is; one that group or others
 * may read, or of another size, is refused with a message saying so; a
 * database in memory keeps its secret in the process. */
TEST(store_secret_key_file)
{
    db d;
    if (!db_open_on(&d, TB_SQLITE, "keyfile.db")) return;
    store_err e = {{0}};
    unsigned char key[STORE_SECRET_LEN], again[STORE_SECRET_LEN];
    if (!CHECK_EQ_INT(store_secret(d.c, key, &e), STORE_OK)) printf("  %s\n", e.msg);
    char path[600];
    snprintf(path, sizeof path, "%s.key", d.url);
    struct stat st;
    if (CHECK_EQ_INT(stat(path, &st), 0)) {
        CHECK_EQ_INT(st.st_mode & 0777, 0600);
        CHECK_EQ_INT(st.st_size, STORE_SECRET_LEN);
    }
    unsigned char on_disk[STORE_SECRET_LEN] = {0};
    int fd = open(path, O_RDONLY);
    CHECK_EQ_INT(read(fd, on_disk, sizeof on_disk), STORE_SECRET_LEN);
    close(fd);
    CHECK(memcmp(on_disk, key, sizeof key) == 0);
    int others = 0; /* temporary files of the write */
    DIR *dir = opendir(test_tmpdir());
    for (struct dirent *de; dir && (de = readdir(dir)) != NULL;)
        others += strncmp(de->d_name, "keyfile.db.key.", 15) == 0;
    if (dir) closedir(dir);
    CHECK_EQ_INT(others, 0);

    /* A key file made elsewhere (restored with the database) is used. */
    const char *db2 = test_path("given.db");
    char path2[600];
    snprintf(path2, sizeof path2, "%s.key", db2);
    unsigned char given[STORE_SECRET_LEN];
    for (int i = 0; i < STORE_SECRET_LEN; i++)
        given[i] = (unsigned char)(i * 7 + 1);
    write_file(path2, given, sizeof given, 0600);
    CHECK_EQ_INT(secret_of(db2, again, &e), STORE_OK);
    CHECK(memcmp(again, given, sizeof given) == 0);

    /* Refused: readable by the group, then too short. */
    CHECK_EQ_INT(chmod(path2, 0640), 0);
    e.msg[0] = '\0';
    CHECK_EQ_INT(secret_of(db2, again, &e), STORE_ERROR);
    CHECK(strstr(e.msg, "0600") != NULL && strstr(e.msg, path2) != NULL);
    write_file(path2, given, sizeof given - 1, 0600);
    e.msg[0] = '\0';
    CHECK_EQ_INT(secret_of(db2, again, &e), STORE_ERROR);
    CHECK(strstr(e.msg, "31 bytes") != NULL);
    /* The store that had read the key keeps it. */
    CHECK_EQ_INT(store_secret(d.c, again, &e), STORE_OK);
    CHECK(memcmp(again, key, sizeof key) == 0);

    /* In memory: a secret of the process, no file. */
    store *s = NULL;
    store_conn *c = NULL;
    store_opts o = {0};
    if (CHECK_EQ_INT(store_open(&s, ":memory:", &o, &e), STORE_OK) &&
        CHECK_EQ_INT(store_connect(s, &c, &e), STORE_OK)) {
        unsigned char m1[STORE_SECRET_LEN], m2[STORE_SECRET_LEN], zero[STORE_SECRET_LEN] = {0};
        CHECK_EQ_INT(store_secret(c, m1, &e), STORE_OK);
        CHECK_EQ_INT(store_secret(c, m2, &e), STORE_OK);
        CHECK(memcmp(m1, m2, sizeof m1) == 0 && memcmp(m1, zero, sizeof zero) != 0);
        CHECK(access(":memory:.key", F_OK) != 0);
        store_disconnect(c);
    }
    store_close(s);
    db_close(&d);
}

/* A disk that fills, made with SQLite's own fault hook: the unix VFS's
 * pwrite64 replaced by one that refuses with ENOSPC every write (NO_ROOM)
 * or, as a disk with a little room left would, the database file's only
 * (its log still grows). */
enum { ROOM, NO_ROOM, NO_ROOM_FOR_DB };
static int room = ROOM;
static sqlite3_syscall_ptr real_pwrite64;

static ssize_t full_pwrite64(int fd, const void *p, size_t n, off_t off)
{
    char link[64], path[512] = "";
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, path, sizeof path - 1);
    path[len > 0 ? len : 0] = '\0';
    bool wal = len > 4 && strcmp(path + len - 4, "-wal") == 0;
    if (room == NO_ROOM || (room == NO_ROOM_FOR_DB && !wal)) {
        errno = ENOSPC;
        return -1;
    }
    return ((ssize_t(*)(int, const void *, size_t, off_t))real_pwrite64)(fd, p, n, off);
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* The writer's connection on a full disk: a commit fails with STORE_FULL
 * and stores nothing, the probe fails while there is no room (also when
 * only the checkpoint lacks it), and once there is, the probe's write is
 * durable, the log is checkpointed and cut to nothing, and writes go on
 * with every committed row there and the database intact. */
TEST(store_full_disk)
{
    db d;
    if (!open_writer(&d, "full.db", 0)) return;
    sqlite3_vfs *unix_vfs = sqlite3_vfs_find("unix");
    real_pwrite64 = unix_vfs ? unix_vfs->xGetSystemCall(unix_vfs, "pwrite64") : NULL;
    if (!real_pwrite64) {
        test_skip("the unix VFS has no pwrite64 to replace");
        db_close(&d);
        return;
    }
    store_err e = {{0}};
    CHECK_EQ_INT(store_sync_defer(d.c, true, &e), STORE_OK);
    commit_contacts(&d, "Stored Before", 5);
    CHECK_EQ_INT(store_sync(d.c, &e), STORE_OK);

    CHECK_EQ_INT(unix_vfs->xSetSystemCall(unix_vfs, "pwrite64", (sqlite3_syscall_ptr)full_pwrite64),
                 SQLITE_OK);
    room = NO_ROOM;
    CHECK_EQ_INT(store_begin(d.c, true, &e), STORE_OK);
    add_contact(&d, d.ws, "Never Stored", NULL, NULL, NULL);
    e.msg[0] = '\0';
    CHECK_EQ_INT(store_commit(d.c, &e), STORE_FULL);
    CHECK(strstr(e.msg, "full") != NULL);
    CHECK_EQ_INT(store_probe(d.c, &e), STORE_FULL);
    room = NO_ROOM_FOR_DB;
    CHECK_EQ_INT(store_probe(d.c, &e), STORE_FULL);
    room = ROOM;
    const char *wal = test_path("full.db-wal");
    CHECK(file_size(wal) > 0);
    if (!CHECK_EQ_INT(store_probe(d.c, &e), STORE_OK)) printf("  %s\n", e.msg);
    CHECK_EQ_INT(file_size(wal), 0);
    commit_contacts(&d, "Stored After", 1);
    CHECK_EQ_INT(store_sync(d.c, &e), STORE_OK);
    unix_vfs->xSetSystemCall(unix_vfs, "pwrite64", NULL);

    CHECK_STR(raw_text(&d, "SELECT name || ' x' || count(*) FROM contacts GROUP BY name"),
              "Stored After x1 Stored Before x5");
    CHECK_STR(raw_text(&d, "PRAGMA integrity_check"), "ok");
    db_close(&d);
}
