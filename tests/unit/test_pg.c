/* test_pg.c - what only the PostgreSQL store has, through store.h and a
 * raw connection: events buffered inside a transaction (written to the
 * table early, then dropped with a savepoint), savepoints sent in one
 * pipeline with the first statement inside them, the search postings and
 * their migrations, and advisory locks held to commit. The rest of the
 * store runs on PostgreSQL too, in test_store.c (the *_pg tests). Runs
 * when CAIRN_TEST_PG names an admin URL (scripts/with-postgres.sh sets
 * it); otherwise every test here is skipped. */
#include <stdio.h>
#include <string.h>

#include "store/search.h"
#include "store/store.h"
#include "store_harness.h"
#include "test.h"

/* Events written to the table before commit (a merge re-subjects them)
 * and then rolled back with a savepoint: those of the savepoint go, those
 * of earlier requests and enclosing scopes stay. */
TEST(pg_events_flushed_mid_transaction)
{
    db d;
    if (!db_open_on(&d, TB_POSTGRES, "pg_events_flushed_mid_transaction")) return;
    store_conn *c = d.c;
    store_err e;
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    /* request 1: kept */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(&d, "wrk_f", "r1", "con_1", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    /* request 2: merges (events go to the table), then fails */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(&d, "wrk_f", "r2", "con_2", NULL), STORE_OK);
    CHECK_EQ_INT(store_event_resubject(c, "wrk_f", "con_1", "con_9", &e), STORE_OK);
    CHECK_STR(timeline(&d, "wrk_f", "con_9"), "r1");
    store_rollback_to(c);
    /* request 3: a batch whose first item merges, the second fails */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(&d, "wrk_f", "r3", "con_3", NULL), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(&d, "wrk_f", "r3.item1", "con_3", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(append(&d, "wrk_f", "r3.item2", "con_3", NULL), STORE_OK);
    CHECK_EQ_INT(store_event_resubject(c, "wrk_f", "con_3", "con_8", &e), STORE_OK);
    CHECK_STR(timeline(&d, "wrk_f", "con_8"), "r3.item2 r3.item1 r3");
    store_rollback_to(c);
    CHECK_EQ_INT(append(&d, "wrk_f", "r3.end", "con_3", NULL), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_EQ_INT(count_events(&d, "wrk_f"), 4);
    CHECK_STR(timeline(&d, "wrk_f", "con_1"), "r1");
    CHECK_STR(timeline(&d, "wrk_f", "con_9"), "");
    CHECK_STR(timeline(&d, "wrk_f", "con_2"), "");
    CHECK_STR(timeline(&d, "wrk_f", "con_3"), "r3.end r3.item1 r3");
    CHECK_STR(timeline(&d, "wrk_f", "con_8"), "");
    db_close(&d);
}

/* Savepoints travel with the first statement inside them: levels that saw
 * no statement never reach the server, and every mix of sent and unsent
 * levels still undoes exactly what it should. */
TEST(pg_savepoints_sent_with_statements)
{
    db d;
    if (!db_open_on(&d, TB_POSTGRES, "pg_savepoints_sent_with_statements")) return;
    store_conn *c = d.c;
    store_err e;
    const res_def *con = res_find("contacts");
    char kept[ID_MAX], gone[ID_MAX], late[ID_MAX];
    CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
    /* Request 1: a statement, released (the release is owed). */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    add1(&d, "contacts", "wrk_p", "name", "Kept", kept);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    /* Request 2: fails before any statement; nothing to undo. */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    store_rollback_to(c);
    /* Request 3: an unsent inner level released, then a statement in the
     * outer one, then the outer rolled back. */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    add1(&d, "contacts", "wrk_p", "name", "Gone", gone);
    store_rollback_to(c);
    /* Request 4: nested, both with statements, kept. */
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    add1(&d, "contacts", "wrk_p", "name", "Late", late);
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
    res_row dup = new_row(&d, con);
    snprintf(dup.id, sizeof dup.id, "%s", kept);
    CHECK_EQ_INT(store_rec_insert(c, con, "wrk_p", &dup, &e), STORE_CONFLICT);
    store_rollback_to(c);
    CHECK_EQ_INT(store_savepoint(c, &e), STORE_OK);
    add1(&d, "contacts", "wrk_p", "name", "After", gone);
    CHECK_EQ_INT(store_release(c, &e), STORE_OK);
    CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
    CHECK_EQ_INT(store_rec_exists(c, con, "wrk_p", gone, &e), STORE_OK);
    db_close(&d);
}

/* ------------------------------------------------------ search postings */

/* The terms posted for the row with this id, sorted, without the tag. */
static const char *terms_of(db *d, const char *id)
{
    const char *rid = values_where(d, "contacts", "rid::text", "id", id);
    char term[32];
    snprintf(term, sizeof term, "substr(term, %d)", SEARCH_TAG_LEN + 1);
    return values_where(d, "contacts_terms", term, "doc_rid", rid);
}

static int search_n(db *d, const char *ws, const char *text)
{
    store_query q = {.limit = 10, .link_field = -1, .fts = text};
    res_row *rows;
    int n = -1;
    bool more;
    store_err e;
    if (!CHECK_EQ_INT(
            store_rec_list(d->c, &d->a, res_find("contacts"), ws, &q, &rows, &n, &more, &e),
            STORE_OK))
        printf("  %s\n", e.msg);
    return n;
}

/* Postings follow every write: a row's 2- and 4-character word prefixes
 * on insert, the new ones only after an update, none after a delete. */
TEST(pg_search_postings)
{
    db d;
    if (!db_open_on(&d, TB_POSTGRES, "pg_search_postings")) return;
    store_conn *c = d.c;
    const res_def *r = res_find("contacts");
    char id[ID_MAX], other[ID_MAX];
    add1(&d, "contacts", "wrk_t", "name", "Alpha Bravo Al", id);
    add1(&d, "contacts", "wrk_t", "name", "Alphonse", other);
    CHECK_STR(terms_of(&d, id), "al alph br brav");
    CHECK_EQ_INT(search_n(&d, "wrk_t", "alph"), 2);
    CHECK_EQ_INT(search_n(&d, "wrk_t", "alpha"), 1); /* the prefix posting, then the check */
    CHECK_EQ_INT(search_n(&d, "wrk_t", "bravo alp"), 1);
    CHECK_EQ_INT(search_n(&d, "wrk_x", "alph"), 0); /* another workspace's tag */

    res_row row = new_row(&d, r);
    snprintf(row.id, sizeof row.id, "%s", id);
    set_s(r, &row, "name", "Charlie");
    bool *set = arena_zalloc(&d.a, sizeof(bool) * (size_t)r->nfields);
    set[res_field_index(r, "name")] = true;
    store_err e;
    CHECK_EQ_INT(store_rec_update(c, r, "wrk_t", &row, set, false, &e), STORE_OK);
    CHECK_STR(terms_of(&d, id), "ch char");
    CHECK_EQ_INT(search_n(&d, "wrk_t", "alph"), 1);
    CHECK_EQ_INT(search_n(&d, "wrk_t", "charl"), 1);

    CHECK_EQ_INT(store_rec_delete(c, r, "wrk_t", id, &e), STORE_OK);
    CHECK_EQ_INT(raw_int(&d, "SELECT count(*)::int FROM contacts_terms t WHERE NOT EXISTS "
                             "(SELECT 1 FROM contacts WHERE rid = t.doc_rid)"),
                 0);
    CHECK_EQ_INT(search_n(&d, "wrk_t", "charl"), 0);

    /* A migration with nothing changed leaves the triggers as they are
     * (re-creating them would lock the table at every node's start). */
    const char *trig = "SELECT oid::int FROM pg_trigger WHERE tgname = 'contacts_terms_i'";
    long long oid = raw_int(&d, trig);
    int applied0 = -1;
    CHECK_EQ_INT(store_migrate(c, &applied0, &e), STORE_OK);
    CHECK(oid > 0 && raw_int(&d, trig) == oid);

    /* A database from before the postings, or cut another way: the
     * migration fills them again from the rows. */
    CHECK_EQ_INT(raw_int(&d, "WITH d AS (DELETE FROM contacts_terms RETURNING 1), "
                             "u AS (UPDATE search_indexes SET ddl = 'an older cut' "
                             "WHERE table_name = 'contacts_terms' RETURNING 1) "
                             "SELECT (SELECT count(*) FROM u)::int"),
                 1);
    CHECK_EQ_INT(search_n(&d, "wrk_t", "alph"), 0);
    int applied = -1;
    CHECK_EQ_INT(store_migrate(c, &applied, &e), STORE_OK);
    CHECK_STR(terms_of(&d, other), "al alph");
    CHECK_EQ_INT(search_n(&d, "wrk_t", "alph"), 1);
    db_close(&d);
}

/* Documents written before folding (an older database) are rewritten by
 * the migration, postings included, and then found without accents. */
TEST(pg_search_folding_migrates)
{
    db d;
    if (!db_open_on(&d, TB_POSTGRES, "pg_search_folding_migrates")) return;
    store_conn *c = d.c;
    char id[ID_MAX];
    add1(&d, "contacts", "wrk_f", "name", "Zoë Müller", id);
    CHECK_EQ_INT(search_n(&d, "wrk_f", "zoe mull"), 1);
    char tag[SEARCH_TAG_LEN + 1], sql[512];
    search_tag("wrk_f", tag);
    snprintf(sql, sizeof sql,
             "WITH u AS (UPDATE contacts SET search_doc = ' %1$sZoë %1$sMüller' WHERE id = '%2$s' "
             "RETURNING 1), v AS (UPDATE search_indexes SET ddl = 'an older document' "
             "WHERE table_name = 'contacts' RETURNING 1) "
             "SELECT (SELECT count(*) FROM u) + (SELECT count(*) FROM v)",
             tag, id);
    CHECK_EQ_INT(raw_int(&d, sql), 2);
    CHECK_EQ_INT(search_n(&d, "wrk_f", "mull"), 0);
    CHECK_EQ_INT(search_n(&d, "wrk_f", "müll"), 0); /* the query side folds */
    int applied = -1;
    store_err e;
    CHECK_EQ_INT(store_migrate(c, &applied, &e), STORE_OK);
    CHECK_STR(values_where(&d, "contacts", "search_doc", "id", id),
              arena_printf(&d.a, " %1$sZoe %1$sMuller", tag));
    CHECK_EQ_INT(search_n(&d, "wrk_f", "mull"), 1);
    CHECK_EQ_INT(search_n(&d, "wrk_f", "ZOË MÜLLER"), 1);
    db_close(&d);
}

TEST(pg_lock_held_until_commit)
{
    db d;
    if (!db_open_on(&d, TB_POSTGRES, "pg_lock_held_until_commit")) return;
    store_conn *c = d.c;
    store_err e;
    /* nothing to merge on PostgreSQL, and upkeep says so */
    bool more = true;
    CHECK_EQ_INT(store_maintain(c, 100, &more, &e), STORE_OK);
    CHECK(!more);

    /* a lock is held until the transaction ends, and only that key's */
    {
        const char *probe = "SELECT pg_try_advisory_xact_lock(hashtextextended("
                            "'wrk_m' || ' ' || 'email:a@b.c', 1))::int";
        CHECK_EQ_INT(store_begin(c, true, &e), STORE_OK);
        CHECK_EQ_INT(store_lock(c, "wrk_m", "email:a@b.c", &e), STORE_OK);
        CHECK_EQ_INT(raw_int(&d, probe), 0);
        CHECK_EQ_INT(raw_int(&d, "SELECT pg_try_advisory_xact_lock(hashtextextended("
                                 "'wrk_m' || ' ' || 'email:x@b.c', 1))::int"),
                     1);
        CHECK_EQ_INT(store_commit(c, &e), STORE_OK);
        CHECK_EQ_INT(raw_int(&d, probe), 1);
    }
    db_close(&d);
}
