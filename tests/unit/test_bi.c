/* test_bi.c - BI's pieces below the API: cron schedules (core/cron.c)
 * and the query compiler and runner (store_bi_run, sql.c's builder) on
 * both backends. */
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/cron.h"
#include "core/timeutil.h"
#include "core/tz.h"
#include "store_harness.h"
#include "test.h"

/* ------------------------------------------------------------------ cron */

static int64_t at(const char *t)
{
    int64_t ms = -1;
    CHECK(time_parse(t, &ms));
    return ms;
}

/* The next run of spec after `after` in zone (NULL: UTC), formatted. */
static const char *next_of(const char *spec, const char *zone, const char *after)
{
    static char out[256];
    cron_spec c;
    char err[200];
    if (!cron_parse(spec, &c, err, sizeof err)) {
        snprintf(out, sizeof out, "invalid: %s", err);
        return out;
    }
    const tz_zone *z = zone ? tz_find(zone) : NULL;
    if (zone && !CHECK(z != NULL)) return "no zone";
    int64_t n = cron_next(&c, z, at(after));
    if (n < 0) return "never";
    time_format_ms((uint64_t)n, out);
    return out;
}

TEST(cron_parse_accepts_and_refuses)
{
    static const char *const good[] = {"* * * * *",        "0 0 * * *",       "*/15 * * * *",
                                       "0 8-18/2 * * 1-5", "5,10,15 * * * *", "0 0 1 jan,JUL *",
                                       "0 0 * * sun-sat",  "0 0 * * 7",       "30 4 1/3 * *",
                                       " 0  0 * *  * ",    "59 23 31 12 6",   "0 0 * Feb-Mar Mon"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        cron_spec c;
        char err[200] = "";
        if (!cron_parse(good[i], &c, err, sizeof err))
            test_fail(__FILE__, __LINE__, "refused %s: %s", good[i], err);
    }
    static const struct {
        const char *spec, *why;
    } bad[] = {
        {"", "5 fields"},
        {"* * * *", "5 fields"},
        {"* * * * * *", "5 fields"},
        {"60 * * * *", "minute"},
        {"* 24 * * *", "hour"},
        {"* * 0 * *", "day-of-month"},
        {"* * 32 * *", "day-of-month"},
        {"* * * 13 *", "month"},
        {"* * * * 8", "day-of-week"},
        {"5-1 * * * *", "backwards"},
        {"*/0 * * * *", "step"},
        {"*/ * * * *", "step"},
        {"1- * * * *", "range"},
        {"a * * * *", "minute"},
        {"1,,2 * * * *", "minute"},
        {"* * * foo *", "month"},
        {"* * * * mondays", "day-of-week"},
        {"1;2 * * * *", "minute"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cron_spec c;
        char err[200] = "";
        if (cron_parse(bad[i].spec, &c, err, sizeof err))
            test_fail(__FILE__, __LINE__, "accepted %s", bad[i].spec);
        else if (!strstr(err, bad[i].why))
            test_fail(__FILE__, __LINE__, "%s: '%s' does not say %s", bad[i].spec, err, bad[i].why);
    }
}

TEST(cron_next_in_utc)
{
    /* 2026-01-03 is a Saturday. */
    CHECK_STR(next_of("0 0 * * *", NULL, "2026-01-03T10:00:00Z"), "2026-01-04T00:00:00.000Z");
    CHECK_STR(next_of("* * * * *", NULL, "2026-01-03T10:00:00Z"), "2026-01-03T10:01:00.000Z");
    CHECK_STR(next_of("* * * * *", NULL, "2026-01-03T10:00:30.5Z"), "2026-01-03T10:01:00.000Z");
    CHECK_STR(next_of("*/15 * * * *", NULL, "2026-01-03T10:16:00Z"), "2026-01-03T10:30:00.000Z");
    CHECK_STR(next_of("0 9 * * 1-5", NULL, "2026-01-03T10:00:00Z"), "2026-01-05T09:00:00.000Z");
    CHECK_STR(next_of("0 9 * * mon-fri", NULL, "2026-01-05T09:00:00Z"), "2026-01-06T09:00:00.000Z");
    CHECK_STR(next_of("0 0 * * 7", NULL, "2026-01-03T10:00:00Z"), "2026-01-04T00:00:00.000Z");
    /* Both days restricted: the 13th or a Friday, whichever comes first. */
    CHECK_STR(next_of("0 0 13 * 5", NULL, "2026-01-03T10:00:00Z"), "2026-01-09T00:00:00.000Z");
    CHECK_STR(next_of("0 0 13 * 5", NULL, "2026-01-10T10:00:00Z"), "2026-01-13T00:00:00.000Z");
    /* Only the day of month: Fridays do not count. */
    CHECK_STR(next_of("0 0 13 * *", NULL, "2026-01-03T10:00:00Z"), "2026-01-13T00:00:00.000Z");
    CHECK_STR(next_of("0 12 29 2 *", NULL, "2026-03-01T00:00:00Z"), "2028-02-29T12:00:00.000Z");
    CHECK_STR(next_of("0 0 30 2 *", NULL, "2026-01-01T00:00:00Z"), "never");
    CHECK_STR(next_of("30 4 1/10 * *", NULL, "2026-01-02T00:00:00Z"), "2026-01-11T04:30:00.000Z");
    CHECK_STR(next_of("59 23 31 12 *", NULL, "2026-12-31T23:59:00Z"), "2027-12-31T23:59:00.000Z");
}

TEST(cron_next_in_a_zone)
{
    /* Paris is UTC+1 in winter, UTC+2 from 2026-03-29 01:00 UTC. */
    CHECK_STR(next_of("30 8 * * *", "Europe/Paris", "2026-01-03T10:00:00Z"),
              "2026-01-04T07:30:00.000Z");
    CHECK_STR(next_of("30 8 * * *", "Europe/Paris", "2026-03-28T10:00:00Z"),
              "2026-03-29T06:30:00.000Z");
    /* 02:30 does not happen on the 29th in Paris: it runs at an instant
     * of that hour, after the last run and before the next day's. */
    const char *skipped = next_of("30 2 * * *", "Europe/Paris", "2026-03-28T12:00:00Z");
    CHECK(strncmp(skipped, "2026-03-29T0", 12) == 0);
    /* New York is UTC-5 in January; midnight there is 05:00 UTC. */
    CHECK_STR(next_of("0 0 * * *", "America/New_York", "2026-01-03T04:00:00Z"),
              "2026-01-03T05:00:00.000Z");
    CHECK_STR(next_of("0 0 * * *", "America/New_York", "2026-01-03T05:00:00Z"),
              "2026-01-04T05:00:00.000Z");
    /* A zone east of UTC whose day starts the day before in UTC. */
    CHECK_STR(next_of("0 0 1 * *", "Asia/Tokyo", "2026-01-15T00:00:00Z"),
              "2026-01-31T15:00:00.000Z");
}

/* ---------------------------------------------------- the query compiler */

/* Every cell of every row: "a,b;c,d" (NULL as -). */
static const char *cells_text(arena *a, const store_val *cells, int n, int nc)
{
    buf b;
    buf_init(&b, 1 << 16);
    for (int i = 0; i < n; i++) {
        if (i) buf_putc(&b, ';');
        for (int k = 0; k < nc; k++) {
            const store_val *v = &cells[i * nc + k];
            if (k) buf_putc(&b, ',');
            if (v->kind == SV_NULL)
                buf_putc(&b, '-');
            else if (v->kind == SV_INT)
                buf_printf(&b, "%lld", (long long)v->i);
            else if (v->kind == SV_REAL)
                buf_printf(&b, "%g", v->d);
            else
                buf_puts(&b, v->s);
        }
    }
    const char *s = arena_strdup(a, buf_cstr(&b));
    buf_free(&b);
    return s;
}

STORE_TEST(store_bi_queries)
{
    db d;
    if (!db_open(&d, "bi.db")) return;
    store_conn *c = d.c;
    store_err e;
    const res_def *r = res_find("companies");
    struct {
        const char *name, *country, *currency;
        int64_t employees, revenue;
    } rows[] = {
        {"Acme", "FR", "EUR", 10, 100},  {"Beta", "FR", "EUR", 50, 200},
        {"Gamma", "DE", "EUR", 5, 1000}, {"Delta", "FR", "USD", 500, 7},
        {"Omega", NULL, "USD", 20, 30},  {"x'); DROP TABLE companies; --", "US", "USD", 1, 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        res_row row = new_row(&d, r);
        set_s(r, &row, "name", rows[i].name);
        set_s(r, &row, "country", rows[i].country);
        set_s(r, &row, "currency", rows[i].currency);
        set_i(r, &row, "employee_count", rows[i].employees);
        set_i(r, &row, "annual_revenue_cents", rows[i].revenue);
        insert_row(&d, r, d.ws, &row);
    }
    res_row other = new_row(&d, r);
    set_s(r, &other, "name", "Elsewhere");
    set_s(r, &other, "country", "FR");
    insert_row(&d, r, d.ws2, &other);
    int country = FI(r, "country"), emp = FI(r, "employee_count"),
        rev = FI(r, "annual_revenue_cents"), cur = FI(r, "currency"), name = FI(r, "name");
    store_val *cells;
    int n = -1;
    bool more = true;

    /* Count by country, largest first, ties by country; NULL lowest. */
    store_bi_col by_country[] = {{.field = country, .kind = SV_TEXT},
                                 {.field = STORE_BI_COUNT, .fn = BA_COUNT, .kind = SV_INT}};
    int sort1[] = {1};
    bool desc1[] = {true};
    store_bi_query q = {.cols = by_country,
                        .ncols = 2,
                        .grouped = true,
                        .sort = sort1,
                        .desc = desc1,
                        .nsort = 1,
                        .limit = 100,
                        .timeout_ms = 5000};
    CHECK_EQ_INT(store_bi_run(c, &d.a, r, d.ws, &q, &cells, &n, &more, &e), STORE_OK);
    CHECK_STR(cells_text(&d.a, cells, n, 2), "FR,3;-,1;DE,1;US,1");
    CHECK(!more);

    /* Limit: one more row is read to tell. */
    q.limit = 2;
    CHECK_EQ_INT(store_bi_run(c, &d.a, r, d.ws, &q, &cells, &n, &more, &e), STORE_OK);
    CHECK_EQ_INT(n, 2);
    CHECK(more);

    /* Sums, averages (money rounded), minima and maxima per currency. */
    store_bi_col money[] = {
        {.field = cur, .kind = SV_TEXT},
        {.field = rev, .fn = BA_SUM, .kind = SV_INT},
        {.field = rev, .fn = BA_AVG, .round = true, .kind = SV_INT},
        {.field = emp, .fn = BA_AVG, .kind = SV_REAL},
        {.field = emp, .fn = BA_MIN, .kind = SV_INT},
        {.field = name, .fn = BA_MAX, .kind = SV_TEXT},
    };
    q = (store_bi_query){
        .cols = money, .ncols = 6, .grouped = true, .limit = 10, .timeout_ms = 5000};
    CHECK_EQ_INT(store_bi_run(c, &d.a, r, d.ws, &q, &cells, &n, &more, &e), STORE_OK);
    CHECK_STR(cells_text(&d.a, cells, n, 6),
              "EUR,1300,433,21.6667,5,Gamma;USD,38,13,173.667,1,x'); DROP TABLE companies; --");

    /* Filters: each operator, values bound (a quote is a value). */
    store_bi_col count_only[] = {{.field = STORE_BI_COUNT, .fn = BA_COUNT, .kind = SV_INT}};
    store_val in[] = {sv_text("DE"), sv_text("us")};
    struct {
        store_bi_filter f;
        const char *want;
    } cases[] = {
        {{.field = country, .op = BQ_EQ, .v = sv_text("fr")}, "3"},
        {{.field = country, .op = BQ_NEQ, .v = sv_text("FR")}, "3"},
        {{.field = country, .op = BQ_IN, .in = in, .nin = 2}, "2"},
        {{.field = country, .op = BQ_IS_NULL}, "1"},
        {{.field = country, .op = BQ_NOT_NULL}, "5"},
        {{.field = name, .op = BQ_CONTAINS, .v = sv_text("ELT")}, "1"},
        {{.field = name, .op = BQ_CONTAINS, .v = sv_text("'); DROP")}, "1"},
        {{.field = name, .op = BQ_EQ, .v = sv_text("x'); DROP TABLE companies; --")}, "1"},
        {{.field = emp, .op = BQ_GT, .v = sv_int(10)}, "3"},
        {{.field = emp, .op = BQ_GTE, .v = sv_int(10)}, "4"},
        {{.field = emp, .op = BQ_LT, .v = sv_int(10)}, "2"},
        {{.field = emp, .op = BQ_LTE, .v = sv_int(10)}, "3"},
        {{.field = STORE_BI_CREATED, .op = BQ_GT, .v = sv_int(0)}, "6"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        q = (store_bi_query){.filters = &cases[i].f,
                             .nfilters = 1,
                             .cols = count_only,
                             .ncols = 1,
                             .grouped = true,
                             .limit = 10,
                             .timeout_ms = 5000};
        if (!CHECK_EQ_INT(store_bi_run(c, &d.a, r, d.ws, &q, &cells, &n, &more, &e), STORE_OK))
            continue;
        if (strcmp(cells_text(&d.a, cells, n, 1), cases[i].want) != 0)
            test_fail(__FILE__, __LINE__, "filter case %zu: %s, want %s", i,
                      cells_text(&d.a, cells, n, 1), cases[i].want);
    }

    /* Records: chosen columns in insertion order, or sorted. */
    store_bi_col recs[] = {{.field = STORE_BI_ID, .kind = SV_TEXT},
                           {.field = name, .kind = SV_TEXT},
                           {.field = emp, .kind = SV_INT}};
    int sort2[] = {2};
    bool desc2[] = {true};
    q = (store_bi_query){.cols = recs,
                         .ncols = 3,
                         .sort = sort2,
                         .desc = desc2,
                         .nsort = 1,
                         .limit = 2,
                         .timeout_ms = 5000};
    CHECK_EQ_INT(store_bi_run(c, &d.a, r, d.ws, &q, &cells, &n, &more, &e), STORE_OK);
    CHECK_EQ_INT(n, 2);
    CHECK(more);
    if (n == 2) {
        CHECK_STR(cells[1].s, "Delta");
        CHECK_STR(cells[4].s, "Beta");
        CHECK(strncmp(cells[0].s, "com_", 4) == 0);
    }
    /* The tables are all there after the hostile values. */
    q = (store_bi_query){
        .cols = count_only, .ncols = 1, .grouped = true, .limit = 1, .timeout_ms = 5000};
    CHECK_EQ_INT(store_bi_run(c, &d.a, r, d.ws2, &q, &cells, &n, &more, &e), STORE_OK);
    CHECK_STR(cells_text(&d.a, cells, n, 1), "1");
    db_close(&d);
}
