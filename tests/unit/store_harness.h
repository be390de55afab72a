/* store_harness.h - one store test suite, run on every backend.
 *
 * Owns: opening a fresh, migrated database of a backend (a SQLite file
 * under the run's temp directory; a new database on the PostgreSQL
 * server CAIRN_TEST_PG names, as scripts/with-postgres.sh sets it), a raw
 * connection beside the store's for what store.h cannot show, and the
 * helpers the store tests share. STORE_TEST(name) registers a test body
 * twice: `name` on SQLite, always, and `name_pg` on PostgreSQL, skipped
 * when CAIRN_TEST_PG is not set. Tests of what one backend alone has (FTS5
 * and the WAL layer; postings, pipelining, buffered events) open that
 * backend with db_open_on (test_sqlite.c, test_pg.c). */
#ifndef CAIRN_TEST_STORE_HARNESS_H
#define CAIRN_TEST_STORE_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "test.h"

typedef enum { TB_SQLITE, TB_POSTGRES } test_backend;

typedef struct db {
    test_backend be;
    char url[512]; /* SQLite path or PostgreSQL URL */
    store *s;
    store_conn *c;
    arena a;
    char ws[ID_MAX];  /* workspace "A" */
    char ws2[ID_MAX]; /* workspace "B" */
    void *raw;        /* sqlite3 * or PGconn *, opened on first use */
} db;

/* The backend the running STORE_TEST body is on. */
test_backend store_test_backend(void);
/* Runs body on backend be (skipping it when PostgreSQL is not there). */
void store_test_on(test_backend be, void (*body)(void));

#define STORE_TEST(name)                                                                           \
    static void name##_body(void);                                                                 \
    static void name(void)                                                                         \
    {                                                                                              \
        store_test_on(TB_SQLITE, name##_body);                                                     \
    }                                                                                              \
    static void name##_pg(void)                                                                    \
    {                                                                                              \
        store_test_on(TB_POSTGRES, name##_body);                                                   \
    }                                                                                              \
    __attribute__((constructor)) static void test_reg_##name(void)                                 \
    {                                                                                              \
        test_register(#name, __FILE__, name);                                                      \
        test_register(#name "_pg", __FILE__, name##_pg);                                           \
    }                                                                                              \
    static void name##_body(void)

/* JSON text as stored: byte for byte on SQLite; PostgreSQL keeps JSONB,
 * which spells it its own way (spaces after ':' and ','). */
bool json_same(const char *got, const char *want);
#define CHECK_JSON(got, want)                                                                      \
    (store_test_backend() == TB_SQLITE ? CHECK_STR(got, want)                                      \
                                       : (json_same(got, want) ? true : CHECK_STR(got, want)))

/* A fresh database of the running backend named after `name`, migrated,
 * with workspaces A (d->ws) and B (d->ws2). False when it could not be
 * had (the test then failed or was skipped). */
bool db_open(db *d, const char *name);
/* The same on a given backend. */
bool db_open_on(db *d, test_backend be, const char *name);
/* A fresh database, connected but not migrated, without workspaces. */
bool db_open_bare(db *d, const char *name);
void db_close(db *d);
/* Another connection to d's database (store_open + store_connect). */
bool db_connect_again(const db *d, const store_opts *o, store **s, store_conn **c);

/* The raw connection's answers to sql (portable SQL): the first column
 * of the first row as an integer (-1 on error or none), and the first
 * column of every row joined by spaces ("" for none, "?" on error). */
long long raw_int(db *d, const char *sql);
/* Runs statements that return no rows; false (and a failed check) on error. */
bool raw_exec(db *d, const char *sql);
const char *raw_text(db *d, const char *sql);
/* `field` of every row of `table` whose `by` = value, sorted, NULL as "-". */
const char *values_where(db *d, const char *table, const char *field, const char *by,
                         const char *value);

const res_def *R(const char *name);
int FI(const res_def *r, const char *field);
/* A fresh row for r: new id, times now, every field NULL. */
res_row new_row(db *d, const res_def *r);
void set_s(const res_def *r, res_row *row, const char *field, const char *s);
void set_i(const res_def *r, res_row *row, const char *field, int64_t v);
const store_val *get_v(const res_def *r, const res_row *row, const char *field);
const char *get_s(const res_def *r, const res_row *row, const char *field);
bool insert_row(db *d, const res_def *r, const char *ws, res_row *row);
/* Inserts a record of `res` with one text field set; its id to id_out. */
void add1(db *d, const char *res, const char *ws, const char *field, const char *value,
          char *id_out);
/* Inserts a contact and copies its id to id_out (may be NULL). */
int64_t add_contact(db *d, const char *ws, const char *name, const char *email, const char *status,
                    char *id_out);
void add_membership(db *d, const char *ws, const char *contact, const char *company,
                    const char *role);
store_query q_all(int limit);
/* Lists and returns the row count (rows in *out), checking for errors. */
int list(db *d, const res_def *r, const char *ws, const store_query *q, res_row **out, bool *more);
/* Contacts matching a full-text query (up to 100). */
int search(db *d, const char *ws, const char *text);
/* Appends an event about a contact; returns the store's status. */
int append(db *d, const char *ws, const char *type, const char *res_id, const char *subject);
int64_t count_events(db *d, const char *ws);
/* Types of a record's timeline, newest first, joined with spaces. */
const char *timeline(db *d, const char *ws, const char *id);
/* Aggregate rows as "key/key/count:sum ...", integer keys as #n, NULL as -. */
const char *agg_text(arena *a, const store_agg_row *rows, int n);

#endif
