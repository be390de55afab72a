/* bi.c - BI: queries described as JSON, datasets, metrics, reports,
 * dashboards and scheduled artifacts.
 *
 * A query is {source, filters, group_by, aggregates, fields, sort, limit,
 * timeout_ms} over one resource of the table. It never holds SQL: this
 * file checks it against the source's declared fields (a name that is not
 * one, or that is hidden, is a 400 naming where it stood) and turns it into
 * a store_bi_query, which store/sql.c, the one statement builder, compiles
 * with bound parameters for either database. The key needs the source's
 * read scope besides bi:write (403 naming it). A money aggregate is grouped
 * by the source's currency as well, so no sum mixes currencies.
 *
 * Queries run on the request's reader connection (POST
 * /v1/bi/queries/run is not a write) under their own time budget: past
 * timeout_ms the store interrupts the statement and the answer is 422
 * query_timeout naming timeout_ms.
 *
 * Datasets (table, view, semantic, mock), metrics and reports are checked
 * when written and resolved into a query when run. A scheduled artifact's
 * next_run_at is computed from its cron schedule in its time zone
 * whenever the schedule, zone or status changes.
 *
 * An export is checked when made (as POST run would check its query) and
 * queued; the worker (events/exports.c) claims it through the writer
 * (running), streams its rows from its own reader connection straight
 * into a blob (no row limit unless the query sets one; the query's
 * timeout_ms, else 10 minutes) and records the outcome through the
 * writer: succeeded with the file, or failed with why. CSV is RFC 4180
 * with CRLF and a header row; a text cell starting with = + - @ TAB or CR
 * gets a leading ' (OWASP's CSV injection rule) so no spreadsheet runs
 * it. The timer turns due schedules into exports under a lock per
 * workspace, so two nodes never both do (the second reads what the first
 * committed), and archives exports 7 days after they finished, removing
 * their files. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cron.h"
#include "core/crypto.h"
#include "core/timeutil.h"
#include "core/tz.h"
#include "resources/engine.h"
#include "resources/hooks.h"
#include "store/blob.h"

#define BI_LIMIT_DEFAULT   1000
#define BI_LIMIT_MAX       10000
#define BI_TIMEOUT_DEFAULT 5000
#define BI_TIMEOUT_MAX     30000
#define BI_MAX_FILTERS     20
#define BI_MAX_GROUPS      3
#define BI_MAX_AGGS        10
#define BI_MAX_SORTS       5
#define BI_MAX_COLS        32
#define BI_MAX_IN          100
#define BI_MOCK_MAX        1000

/* A query checked and ready to run: the store's description plus what the
 * answer needs to write each column. */
typedef struct bi_plan {
    const res_def *r;
    store_bi_filter filters[BI_MAX_FILTERS];
    store_bi_col cols[BI_MAX_COLS];
    const char *names[BI_MAX_COLS];
    const res_field *fields[BI_MAX_COLS]; /* the field a column shows (NULL: own or count) */
    int sort[BI_MAX_SORTS];
    bool desc[BI_MAX_SORTS];
    store_bi_query q;
} bi_plan;

static const char *const fn_names[] = {
    [BA_COUNT] = "count", [BA_SUM] = "sum", [BA_AVG] = "avg", [BA_MIN] = "min", [BA_MAX] = "max"};

static const char *at(engine_call *c, const char *pfx, const char *name)
{
    return pfx && *pfx ? arena_printf(c->a, "%s.%s", pfx, name) : name;
}

static bool is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* ------------------------------------------------------------- columns */

/* A readable column of r by name: a field index, STORE_BI_ID/CREATED/
 * UPDATED, or -100 when there is none BI reads (hidden fields and
 * structured values are not columns). */
static int column_of(const res_def *r, const char *name)
{
    if (is(name, "id")) return STORE_BI_ID;
    if (is(name, "created_at")) return STORE_BI_CREATED;
    if (is(name, "updated_at")) return STORE_BI_UPDATED;
    int i = res_field_index(r, name);
    if (i < 0) return -100;
    const res_field *f = &r->fields[i];
    if ((f->flags & RF_HIDDEN) || f->type == FT_LIST || f->type == FT_OBJECT || f->type == FT_JSON)
        return -100;
    return i;
}

static res_ftype column_type(const res_def *r, int col)
{
    if (col == STORE_BI_CREATED || col == STORE_BI_UPDATED) return FT_DATETIME;
    if (col < 0) return FT_STRING;
    return r->fields[col].type;
}

static sv_kind kind_of(res_ftype t)
{
    switch (t) {
    case FT_INT:
    case FT_MONEY:
    case FT_BOOL:
    case FT_DATETIME: return SV_INT;
    case FT_NUMBER: return SV_REAL;
    default: return SV_TEXT;
    }
}

static bool numeric(res_ftype t)
{
    return t == FT_INT || t == FT_MONEY || t == FT_NUMBER;
}

/* The column named by JSON string j at param p, or -1 (error set). */
static int want_column(engine_call *c, const res_def *r, json_t *j, const char *p)
{
    if (!json_is_string(j))
        return engine_fail(c, EK_INVALID, p, "%s must be a field name", p), -100;
    int col = column_of(r, json_string_value(j));
    if (col == -100)
        engine_fail(c, EK_INVALID, p, "%s: %s is not a declared field of %s", p,
                    json_string_value(j), r->name);
    return col;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64) return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

/* ------------------------------------------------------------- filters */

static const char *const op_names[] = {
    [BQ_EQ] = "eq",          [BQ_NEQ] = "neq", [BQ_GT] = "gt", [BQ_GTE] = "gte",
    [BQ_LT] = "lt",          [BQ_LTE] = "lte", [BQ_IN] = "in", [BQ_CONTAINS] = "contains",
    [BQ_IS_NULL] = "is_null"};

/* A filter value for column col, typed as the column stores it. */
static int filter_value(engine_call *c, const res_def *r, int col, json_t *j, const char *p,
                        store_val *out)
{
    res_ftype t = column_type(r, col);
    switch (t) {
    case FT_INT:
    case FT_MONEY:
        if (!json_is_integer(j)) return engine_fail(c, EK_INVALID, p, "%s must be an integer", p);
        *out = sv_int(json_integer_value(j));
        return 0;
    case FT_NUMBER:
        if (!json_is_number(j)) return engine_fail(c, EK_INVALID, p, "%s must be a number", p);
        *out = (store_val){.kind = SV_REAL, .d = json_number_value(j)};
        return 0;
    case FT_BOOL:
        if (!json_is_boolean(j)) return engine_fail(c, EK_INVALID, p, "%s must be a boolean", p);
        *out = sv_int(json_is_true(j));
        return 0;
    case FT_DATETIME: {
        int64_t ms;
        if (!json_is_string(j) || !time_parse(json_string_value(j), &ms))
            return engine_fail(c, EK_INVALID, p, "%s must be an RFC 3339 date-time", p);
        *out = sv_int(ms);
        return 0;
    }
    default:
        if (!json_is_string(j) || strlen(json_string_value(j)) > 1000)
            return engine_fail(c, EK_INVALID, p, "%s must be a string of at most 1000 bytes", p);
        *out = sv_text(arena_strdup(c->a, json_string_value(j)));
        return 0;
    }
}

static int parse_filter(engine_call *c, bi_plan *pl, json_t *f, const char *p, store_bi_filter *out)
{
    const res_def *r = pl->r;
    if (!json_is_object(f))
        return engine_fail(c, EK_INVALID, p, "%s must be an object {field, op, value}", p);
    const char *k;
    json_t *v;
    json_object_foreach(f, k, v)
    {
        if (!is(k, "field") && !is(k, "op") && !is(k, "value"))
            return engine_fail(c, EK_INVALID, at(c, p, k), "unknown member %s", at(c, p, k));
    }
    int col = want_column(c, r, json_object_get(f, "field"), at(c, p, "field"));
    if (col == -100) return -1;
    json_t *opj = json_object_get(f, "op");
    const char *op = opj ? json_string_value(opj) : "eq";
    int o = -1;
    for (int i = 0; op && i <= BQ_IS_NULL; i++)
        if (is(op, op_names[i])) o = i;
    if (o < 0)
        return engine_fail(c, EK_INVALID, at(c, p, "op"),
                           "%s must be one of eq, neq, gt, gte, lt, lte, in, contains, is_null",
                           at(c, p, "op"));
    *out = (store_bi_filter){.field = col, .op = (store_bi_op)o};
    json_t *val = json_object_get(f, "value");
    const char *vp = at(c, p, "value");
    res_ftype t = column_type(r, col);
    switch (o) {
    case BQ_IS_NULL:
        /* value false asks for the opposite; none means true */
        if (val && !json_is_boolean(val))
            return engine_fail(c, EK_INVALID, vp, "%s must be true or false", vp);
        if (val && json_is_false(val)) out->op = BQ_NOT_NULL;
        return 0;
    case BQ_IN: {
        if (!json_is_array(val) || json_array_size(val) < 1 || json_array_size(val) > BI_MAX_IN)
            return engine_fail(c, EK_INVALID, vp, "%s must be an array of 1 to %d values", vp,
                               BI_MAX_IN);
        store_val *in = arena_alloc(c->a, sizeof(store_val) * json_array_size(val));
        size_t i;
        json_t *x;
        json_array_foreach(val, i, x)
        {
            if (filter_value(c, r, col, x, arena_printf(c->a, "%s[%zu]", vp, i), &in[i])) return -1;
        }
        out->in = in;
        out->nin = (int)json_array_size(val);
        return 0;
    }
    case BQ_CONTAINS:
        if (kind_of(t) != SV_TEXT || t == FT_ENUM)
            return engine_fail(c, EK_INVALID, at(c, p, "op"),
                               "%s: contains applies to text fields only", at(c, p, "op"));
        break;
    case BQ_GT:
    case BQ_GTE:
    case BQ_LT:
    case BQ_LTE:
        if (t == FT_BOOL)
            return engine_fail(c, EK_INVALID, at(c, p, "op"),
                               "%s: a boolean is compared with eq or neq", at(c, p, "op"));
        break;
    default: break;
    }
    if (!val || json_is_null(val))
        return engine_fail(c, EK_INVALID, vp, "%s is required (is_null finds nulls)", vp);
    if (o == BQ_EQ || o == BQ_NEQ) {
        /* An enum compared with a value it cannot hold is a mistake. */
        if (t == FT_ENUM && json_is_string(val)) {
            bool ok = false;
            for (const char *const *e = r->fields[col].enum_vals; *e; e++)
                ok = ok || is(*e, json_string_value(val));
            if (!ok)
                return engine_fail(c, EK_INVALID, vp, "%s is not one of %s's values", vp,
                                   r->fields[col].name);
        }
    }
    return filter_value(c, r, col, val, vp, &out->v);
}

/* --------------------------------------------------------------- plans */

/* Adds a column; -1 (error set) past the most a query answers. */
static int add_col(engine_call *c, bi_plan *pl, const char *name, int field, store_bi_fn fn,
                   const char *p)
{
    store_bi_query *q = &pl->q;
    for (int k = 0; k < q->ncols; k++)
        if (is(pl->names[k], name))
            return engine_fail(c, EK_INVALID, p, "%s: column %s is named twice", p, name);
    if (q->ncols == BI_MAX_COLS)
        return engine_fail(c, EK_INVALID, p, "a query answers at most %d columns", BI_MAX_COLS);
    const res_def *r = pl->r;
    res_ftype t = field == STORE_BI_COUNT ? FT_INT : column_type(r, field);
    store_bi_col col = {.field = field, .fn = fn, .kind = kind_of(t)};
    if (fn == BA_COUNT) col.kind = SV_INT;
    if (fn == BA_AVG) {
        col.round = t == FT_MONEY;
        col.kind = col.round ? SV_INT : SV_REAL;
    }
    if (fn == BA_SUM && t == FT_NUMBER) col.kind = SV_REAL;
    pl->cols[q->ncols] = col;
    pl->names[q->ncols] = arena_strdup(c->a, name);
    pl->fields[q->ncols] = field >= 0 ? &r->fields[field] : NULL;
    q->ncols++;
    return 0;
}

/* The source's currency field, which money aggregates are grouped by. */
static int currency_field(const res_def *r)
{
    int i = res_field_index(r, "currency");
    return i >= 0 && r->fields[i].type == FT_CURRENCY ? i : -1;
}

static int parse_aggregate(engine_call *c, bi_plan *pl, json_t *a, const char *p, bool *money)
{
    const res_def *r = pl->r;
    if (!json_is_object(a))
        return engine_fail(c, EK_INVALID, p, "%s must be an object {fn, field, as}", p);
    const char *k;
    json_t *v;
    json_object_foreach(a, k, v)
    {
        if (!is(k, "fn") && !is(k, "field") && !is(k, "as"))
            return engine_fail(c, EK_INVALID, at(c, p, k), "unknown member %s", at(c, p, k));
    }
    const char *fn = json_string_value(json_object_get(a, "fn"));
    int f = -1;
    for (int i = BA_COUNT; fn && i <= BA_MAX; i++)
        if (is(fn, fn_names[i])) f = i;
    if (f < 0)
        return engine_fail(c, EK_INVALID, at(c, p, "fn"),
                           "%s must be one of count, sum, avg, min, max", at(c, p, "fn"));
    json_t *fj = json_object_get(a, "field");
    int col = STORE_BI_COUNT;
    if (fj && !json_is_null(fj)) {
        col = want_column(c, r, fj, at(c, p, "field"));
        if (col == -100) return -1;
    } else if (f != BA_COUNT) {
        return engine_fail(c, EK_INVALID, at(c, p, "field"), "%s is required for %s",
                           at(c, p, "field"), fn);
    }
    res_ftype t = col == STORE_BI_COUNT ? FT_INT : column_type(r, col);
    if ((f == BA_SUM || f == BA_AVG) && !numeric(t))
        return engine_fail(c, EK_INVALID, at(c, p, "field"), "%s: %s sums numbers only",
                           at(c, p, "field"), fn);
    if (f != BA_COUNT && t == FT_MONEY) *money = true;
    json_t *as = json_object_get(a, "as");
    const char *name;
    if (as && !json_is_null(as)) {
        if (!json_is_string(as) || !valid_name(json_string_value(as)))
            return engine_fail(c, EK_INVALID, at(c, p, "as"),
                               "%s must be 1 to 64 letters, digits or _", at(c, p, "as"));
        name = json_string_value(as);
    } else {
        name = col == STORE_BI_COUNT ? "count"
                                     : arena_printf(c->a, "%s_%s", fn, json_string_value(fj));
    }
    return add_col(c, pl, name, col, (store_bi_fn)f, p);
}

static int int_member(engine_call *c, json_t *q, const char *key, const char *p, int dflt, int max,
                      int *out)
{
    json_t *j = json_object_get(q, key);
    *out = dflt;
    if (!j || json_is_null(j)) return 0;
    if (!json_is_integer(j) || json_integer_value(j) < 1 || json_integer_value(j) > max)
        return engine_fail(c, EK_INVALID, p, "%s must be an integer from 1 to %d", p, max);
    *out = (int)json_integer_value(j);
    return 0;
}

/* The key may read r, and r's module is on. */
static const char worker_scopes[] = ""; /* the export worker's run: checked at create */

static int may_read(engine_call *c, const res_def *r, const char *p)
{
    if (r->scope_read && c->scopes != worker_scopes && !engine_has_scope(c, r->scope_read))
        return engine_fail(c, EK_FORBIDDEN, p, "this key lacks the %s scope %s needs",
                           r->scope_read, r->name);
    if (!r->core && (c->disabled & (1u << r->module))) {
        const char *m = res_module_names[r->module];
        engine_fail(c, EK_FORBIDDEN, p, "the %s module is disabled in this workspace", m);
        c->out->code = "module_disabled";
        c->out->extra_key = "module";
        c->out->extra_val = m;
        return -1;
    }
    return 0;
}

static json_t *array_member(engine_call *c, json_t *q, const char *key, const char *p, size_t max,
                            int *rc)
{
    json_t *j = json_object_get(q, key);
    *rc = 0;
    if (!j || json_is_null(j)) return NULL;
    if (!json_is_array(j) || json_array_size(j) > max) {
        *rc = engine_fail(c, EK_INVALID, p, "%s must be an array of at most %zu", p, max);
        return NULL;
    }
    return j;
}

/* Checks query q (the JSON at param pfx) and fills pl. */
static int compile(engine_call *c, json_t *q, const char *pfx, bi_plan *pl)
{
    memset(pl, 0, sizeof *pl);
    if (!json_is_object(q)) return engine_fail(c, EK_INVALID, pfx, "%s must be an object", pfx);
    static const char *const members[] = {"source", "filters", "group_by",   "aggregates", "fields",
                                          "sort",   "limit",   "timeout_ms", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(q, k, v)
    {
        bool ok = false;
        for (int i = 0; members[i]; i++)
            ok = ok || is(k, members[i]);
        if (!ok)
            return engine_fail(c, EK_INVALID, at(c, pfx, k),
                               "unknown member %s: a query has source, filters, group_by, "
                               "aggregates, fields, sort, limit and timeout_ms",
                               at(c, pfx, k));
    }
    const char *sp = at(c, pfx, "source");
    const char *src = json_string_value(json_object_get(q, "source"));
    if (!src) return engine_fail(c, EK_INVALID, sp, "%s is required: a resource name", sp);
    const res_def *r = res_find(src);
    if (!r) return engine_fail(c, EK_INVALID, sp, "%s: no resource is named %s", sp, src);
    pl->r = r;
    if (may_read(c, r, sp)) return -1;
    store_bi_query *bq = &pl->q;
    bq->filters = pl->filters;
    bq->cols = pl->cols;
    bq->sort = pl->sort;
    bq->desc = pl->desc;
    int rc;
    const char *fp = at(c, pfx, "filters");
    json_t *filters = array_member(c, q, "filters", fp, BI_MAX_FILTERS, &rc);
    if (rc) return -1;
    size_t i;
    json_t *x;
    json_array_foreach(filters, i, x)
    {
        if (parse_filter(c, pl, x, arena_printf(c->a, "%s[%zu]", fp, i), &pl->filters[i]))
            return -1;
        bq->nfilters++;
    }
    const char *gp = at(c, pfx, "group_by");
    json_t *groups = array_member(c, q, "group_by", gp, BI_MAX_GROUPS, &rc);
    if (rc) return -1;
    const char *ap = at(c, pfx, "aggregates");
    json_t *aggs = array_member(c, q, "aggregates", ap, BI_MAX_AGGS, &rc);
    if (rc) return -1;
    const char *fsp = at(c, pfx, "fields");
    json_t *fields = array_member(c, q, "fields", fsp, BI_MAX_COLS, &rc);
    if (rc) return -1;
    bq->grouped = json_array_size(groups) > 0 || json_array_size(aggs) > 0;
    if (bq->grouped && fields)
        return engine_fail(c, EK_INVALID, fsp,
                           "%s lists a record's columns: a grouped query answers its group_by "
                           "and aggregates",
                           fsp);
    json_array_foreach(groups, i, x)
    {
        const char *p = arena_printf(c->a, "%s[%zu]", gp, i);
        int col = want_column(c, r, x, p);
        if (col == -100 || add_col(c, pl, json_string_value(x), col, BA_NONE, p)) return -1;
    }
    bool money = false;
    json_array_foreach(aggs, i, x)
    {
        if (parse_aggregate(c, pl, x, arena_printf(c->a, "%s[%zu]", ap, i), &money)) return -1;
    }
    if (bq->grouped && json_array_size(aggs) == 0 &&
        add_col(c, pl, "count", STORE_BI_COUNT, BA_COUNT, ap))
        return -1;
    if (money) {
        /* Amounts of different currencies are never added together. */
        int cur = currency_field(r);
        if (cur < 0)
            return engine_fail(c, EK_INVALID, ap, "%s: %s has no currency to group money by", ap,
                               r->name);
        bool has = false;
        for (int k2 = 0; k2 < bq->ncols; k2++)
            has = has || (pl->cols[k2].fn == BA_NONE && pl->cols[k2].field == cur);
        if (!has) {
            if (bq->ncols == BI_MAX_COLS)
                return engine_fail(c, EK_INVALID, ap, "a query answers at most %d columns",
                                   BI_MAX_COLS);
            /* Keys first: the currency joins them. */
            int nkeys = 0;
            while (nkeys < bq->ncols && pl->cols[nkeys].fn == BA_NONE)
                nkeys++;
            memmove(&pl->cols[nkeys + 1], &pl->cols[nkeys],
                    sizeof pl->cols[0] * (size_t)(bq->ncols - nkeys));
            memmove(&pl->names[nkeys + 1], &pl->names[nkeys],
                    sizeof pl->names[0] * (size_t)(bq->ncols - nkeys));
            memmove(&pl->fields[nkeys + 1], &pl->fields[nkeys],
                    sizeof pl->fields[0] * (size_t)(bq->ncols - nkeys));
            pl->cols[nkeys] = (store_bi_col){.field = cur, .fn = BA_NONE, .kind = SV_TEXT};
            pl->names[nkeys] = r->fields[cur].name;
            pl->fields[nkeys] = &r->fields[cur];
            bq->ncols++;
            for (int k2 = 0; k2 < nkeys; k2++)
                if (is(pl->names[k2], pl->names[nkeys]))
                    return engine_fail(c, EK_INVALID, ap, "column %s is named twice",
                                       pl->names[nkeys]);
            for (int k2 = nkeys + 1; k2 < bq->ncols; k2++)
                if (is(pl->names[k2], pl->names[nkeys]))
                    return engine_fail(c, EK_INVALID, ap,
                                       "%s: an aggregate may not be named %s (the currency "
                                       "column money is grouped by)",
                                       ap, pl->names[nkeys]);
        }
    }
    if (!bq->grouped) {
        if (fields) {
            json_array_foreach(fields, i, x)
            {
                const char *p = arena_printf(c->a, "%s[%zu]", fsp, i);
                int col = want_column(c, r, x, p);
                if (col == -100 || add_col(c, pl, json_string_value(x), col, BA_NONE, p)) return -1;
            }
        } else {
            add_col(c, pl, "id", STORE_BI_ID, BA_NONE, fsp);
            for (int f = 0; f < r->nfields && bq->ncols < BI_MAX_COLS - 1; f++)
                if (column_of(r, r->fields[f].name) == f)
                    add_col(c, pl, r->fields[f].name, f, BA_NONE, fsp);
            add_col(c, pl, "created_at", STORE_BI_CREATED, BA_NONE, fsp);
        }
        if (bq->ncols == 0) return engine_fail(c, EK_INVALID, fsp, "%s lists no field", fsp);
    }
    const char *srp = at(c, pfx, "sort");
    json_t *sorts = array_member(c, q, "sort", srp, BI_MAX_SORTS, &rc);
    if (rc) return -1;
    json_array_foreach(sorts, i, x)
    {
        const char *p = arena_printf(c->a, "%s[%zu]", srp, i);
        const char *name = NULL;
        bool desc = false;
        if (json_is_string(x)) { /* "count", or "-count" descending */
            name = json_string_value(x);
            if (name[0] == '-') desc = true, name++;
        } else if (json_is_object(x)) {
            json_object_foreach(x, k, v)
            {
                if (!is(k, "field") && !is(k, "dir"))
                    return engine_fail(c, EK_INVALID, at(c, p, k), "unknown member %s",
                                       at(c, p, k));
            }
            name = json_string_value(json_object_get(x, "field"));
            json_t *dir = json_object_get(x, "dir");
            const char *d = dir ? json_string_value(dir) : "asc";
            if (!is(d, "asc") && !is(d, "desc"))
                return engine_fail(c, EK_INVALID, at(c, p, "dir"), "%s must be asc or desc",
                                   at(c, p, "dir"));
            desc = is(d, "desc");
        }
        int col = -1;
        for (int k2 = 0; name && k2 < bq->ncols; k2++)
            if (is(pl->names[k2], name)) col = k2;
        if (col < 0)
            return engine_fail(c, EK_INVALID, p,
                               "%s must name a column of the answer (a group_by field, an "
                               "aggregate, or a listed field)",
                               p);
        pl->sort[bq->nsort] = col;
        pl->desc[bq->nsort] = desc;
        bq->nsort++;
    }
    if (int_member(c, q, "limit", at(c, pfx, "limit"), BI_LIMIT_DEFAULT, BI_LIMIT_MAX,
                   &bq->limit) ||
        int_member(c, q, "timeout_ms", at(c, pfx, "timeout_ms"), BI_TIMEOUT_DEFAULT, BI_TIMEOUT_MAX,
                   &bq->timeout_ms))
        return -1;
    return 0;
}

/* ------------------------------------------------------------- answers */

static const char *type_label(const bi_plan *pl, int k)
{
    const store_bi_col *c = &pl->cols[k];
    if (c->kind == SV_REAL) return "number";
    if (c->fn == BA_COUNT || c->fn == BA_SUM || c->fn == BA_AVG) return "integer";
    res_ftype t = column_type(pl->r, c->field);
    switch (t) {
    case FT_INT:
    case FT_MONEY: return "integer";
    case FT_BOOL: return "boolean";
    case FT_DATETIME: return "datetime";
    default: return "string";
    }
}

static void write_cell(jw *w, const bi_plan *pl, int k, const store_val *v)
{
    if (v->kind == SV_NULL) {
        jw_null(w);
        return;
    }
    const char *t = type_label(pl, k);
    if (is(t, "datetime")) {
        char s[TIME_STR];
        time_format_ms((uint64_t)v->i, s);
        jw_str(w, s);
    } else if (is(t, "boolean")) {
        jw_bool(w, v->i != 0);
    } else if (v->kind == SV_INT) {
        jw_int(w, v->i);
    } else if (v->kind == SV_REAL) {
        jw_double(w, v->d);
    } else {
        jw_str(w, v->s);
    }
}

static int run_plan(engine_call *c, bi_plan *pl, int limit, int timeout_ms)
{
    if (limit > 0) pl->q.limit = limit;
    if (timeout_ms > 0) pl->q.timeout_ms = timeout_ms;
    store_val *cells;
    int n;
    bool more;
    store_err e;
    int rc = store_bi_run(c->conn, c->a, pl->r, c->ws, &pl->q, &cells, &n, &more, &e);
    if (rc == STORE_TIMEOUT) {
        engine_fail(c, EK_UNPROCESSABLE, "timeout_ms",
                    "the query ran past its timeout_ms of %d ms and was stopped: narrow it "
                    "(filters, fewer groups) or give it more time (at most %d ms)",
                    pl->q.timeout_ms, BI_TIMEOUT_MAX);
        c->out->code = "query_timeout";
        return -1;
    }
    if (rc) return engine_store_fail(c, rc, &e);
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "bi_query_result");
    jw_kstr(w, "source", pl->r->name);
    jw_key(w, "columns");
    jw_arr_open(w);
    for (int k = 0; k < pl->q.ncols; k++) {
        jw_obj_open(w);
        jw_kstr(w, "name", pl->names[k]);
        jw_kstr(w, "type", type_label(pl, k));
        jw_obj_close(w);
    }
    jw_arr_close(w);
    jw_key(w, "rows");
    jw_arr_open(w);
    for (int i = 0; i < n; i++) {
        jw_arr_open(w);
        for (int k = 0; k < pl->q.ncols; k++)
            write_cell(w, pl, k, &cells[(size_t)i * (size_t)pl->q.ncols + (size_t)k]);
        jw_arr_close(w);
    }
    jw_arr_close(w);
    jw_kbool(w, "truncated", more);
    jw_obj_close(w);
    return 0;
}

/* --------------------------------------------------------------- mocks */

/* What a mock dataset without rows yields: always a few. */
static const char sample_rows[] =
    "[{\"country\":\"FR\",\"contacts\":12,\"revenue_cents\":125000,\"currency\":\"EUR\"},"
    "{\"country\":\"DE\",\"contacts\":9,\"revenue_cents\":98000,\"currency\":\"EUR\"},"
    "{\"country\":\"US\",\"contacts\":21,\"revenue_cents\":310000,\"currency\":\"USD\"},"
    "{\"country\":\"GB\",\"contacts\":7,\"revenue_cents\":64000,\"currency\":\"GBP\"}]";

static const char *json_label(json_t *v)
{
    if (json_is_integer(v)) return "integer";
    if (json_is_real(v)) return "number";
    if (json_is_boolean(v)) return "boolean";
    return "string";
}

/* The mock rows of dataset ds (a new reference: an array of objects). */
static json_t *mock_rows(engine_call *c, const res_row *ds)
{
    json_t *items = engine_items(ds, BIDS_rows);
    if (json_array_size(items) == 0) {
        json_decref(items);
        items = json_loads(sample_rows, 0, NULL);
    }
    (void)c;
    return items;
}

/* Answers mock rows (columns: their keys in first-seen order), or with
 * metric `agg` over `field` one number. */
static int run_mock(engine_call *c, const res_row *ds, const char *agg, const char *field,
                    int limit)
{
    json_t *rows = mock_rows(c, ds);
    size_t nrows = json_array_size(rows);
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "bi_query_result");
    jw_kstr(w, "source", "mock");
    if (agg) {
        size_t n = 0;
        double sum = 0, mn = 0, mx = 0;
        bool ints = true;
        for (size_t i = 0; i < nrows; i++) {
            json_t *v = field ? json_object_get(json_array_get(rows, i), field) : NULL;
            if (!is(agg, "count") && !json_is_number(v)) continue;
            if (is(agg, "count") && field && (!v || json_is_null(v))) continue;
            double d = v && json_is_number(v) ? json_number_value(v) : 0;
            ints = ints && (!v || json_is_integer(v));
            if (n == 0 || d < mn) mn = d;
            if (n == 0 || d > mx) mx = d;
            sum += d;
            n++;
        }
        double val = is(agg, "count") ? (double)n
                     : is(agg, "sum") ? sum
                     : is(agg, "avg") ? (n ? sum / (double)n : 0)
                     : is(agg, "min") ? mn
                                      : mx;
        bool whole = is(agg, "count") || (ints && !is(agg, "avg"));
        jw_key(w, "columns");
        jw_arr_open(w);
        jw_obj_open(w);
        jw_kstr(w, "name", "value");
        jw_kstr(w, "type", whole ? "integer" : "number");
        jw_obj_close(w);
        jw_arr_close(w);
        jw_key(w, "rows");
        jw_arr_open(w);
        jw_arr_open(w);
        if (!is(agg, "count") && n == 0)
            jw_null(w);
        else if (whole)
            jw_int(w, (int64_t)val);
        else
            jw_double(w, val);
        jw_arr_close(w);
        jw_arr_close(w);
        jw_kbool(w, "truncated", false);
        jw_obj_close(w);
        json_decref(rows);
        return 0;
    }
    /* Columns: every key, in the order rows first show them. */
    json_t *cols = json_object();
    json_t *order = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *k;
        json_t *v;
        json_object_foreach(row, k, v)
        {
            if (json_object_get(cols, k) || json_is_null(v)) continue;
            json_object_set_new(cols, k, json_string(json_label(v)));
            json_array_append_new(order, json_string(k));
        }
    }
    jw_key(w, "columns");
    jw_arr_open(w);
    json_t *k;
    json_array_foreach(order, i, k)
    {
        jw_obj_open(w);
        jw_kstr(w, "name", json_string_value(k));
        jw_kstr(w, "type", json_string_value(json_object_get(cols, json_string_value(k))));
        jw_obj_close(w);
    }
    jw_arr_close(w);
    jw_key(w, "rows");
    jw_arr_open(w);
    size_t shown = nrows < (size_t)limit ? nrows : (size_t)limit;
    for (size_t r = 0; r < shown; r++) {
        json_t *o = json_array_get(rows, r);
        jw_arr_open(w);
        size_t j;
        json_array_foreach(order, j, k)
        {
            json_t *v = json_object_get(o, json_string_value(k));
            if (!v || json_is_null(v))
                jw_null(w);
            else if (json_is_integer(v))
                jw_int(w, json_integer_value(v));
            else if (json_is_real(v))
                jw_double(w, json_real_value(v));
            else if (json_is_boolean(v))
                jw_bool(w, json_is_true(v));
            else
                jw_str(w, json_string_value(v));
        }
        jw_arr_close(w);
    }
    jw_arr_close(w);
    jw_kbool(w, "truncated", nrows > shown);
    jw_obj_close(w);
    json_decref(cols);
    json_decref(order);
    json_decref(rows);
    return 0;
}

/* ------------------------------------------------------------- datasets */

/* A stored FT_JSON or FT_LIST value as JSON (new reference), or NULL. */
static json_t *stored_json(const res_row *row, int field)
{
    const char *t = engine_text(row, field);
    return t ? json_loads(t, 0, NULL) : NULL;
}

/* The query dataset ds stands for (a new reference), or NULL for a mock. */
static json_t *dataset_query(const res_row *ds)
{
    const char *kind = engine_text(ds, BIDS_kind);
    const char *src = engine_text(ds, BIDS_source);
    if (is(kind, "view")) return stored_json(ds, BIDS_query);
    if (is(kind, "table")) return json_pack("{s:s}", "source", src ? src : "");
    if (is(kind, "semantic")) {
        json_t *q = json_pack("{s:s}", "source", src ? src : "");
        json_t *dims = engine_items(ds, BIDS_dimensions);
        if (json_array_size(dims)) json_object_set(q, "group_by", dims);
        json_decref(dims);
        json_t *meas = engine_items(ds, BIDS_measures), *aggs = json_array();
        size_t i;
        json_t *m;
        json_array_foreach(meas, i, m)
        {
            json_t *a = json_pack("{s:O, s:O}", "fn", json_object_get(m, "aggregate"), "as",
                                  json_object_get(m, "name"));
            json_t *f = json_object_get(m, "field");
            if (f && !json_is_null(f)) json_object_set(a, "field", f);
            json_array_append_new(aggs, a);
        }
        json_decref(meas);
        if (json_array_size(aggs)) json_object_set(q, "aggregates", aggs);
        json_decref(aggs);
        return q;
    }
    return NULL;
}

/* A report's query over its dataset's: the report's own (its source the
 * dataset's when it names none), behind the dataset's filters. */
static json_t *report_query(const res_row *rep, const res_row *ds)
{
    json_t *base = dataset_query(ds);
    json_t *own = stored_json(rep, BIREP_query);
    if (!own || !base) {
        json_decref(own);
        return base;
    }
    if (!json_object_get(own, "source"))
        json_object_set(own, "source", json_object_get(base, "source"));
    json_t *bf = json_object_get(base, "filters");
    if (json_array_size(bf)) {
        json_t *all = json_deep_copy(bf), *of = json_object_get(own, "filters");
        if (json_is_array(of)) json_array_extend(all, of);
        json_object_set_new(own, "filters", all);
    }
    json_decref(base);
    return own;
}

/* ------------------------------------------------------------- POST run */

int bi_query_run(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[BIRUN__COUNT];
    bool given[BIRUN__COUNT];
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given))
        return -1;
    int which = given[BIRUN_dataset_id] + given[BIRUN_metric_id] + given[BIRUN_report_id] +
                given[BIRUN_query];
    if (which != 1)
        return engine_fail(c, EK_INVALID, NULL,
                           "give one of dataset_id, metric_id, report_id or query");
    int limit = given[BIRUN_limit] ? (int)v[BIRUN_limit].i : 0;
    int timeout = given[BIRUN_timeout_ms] ? (int)v[BIRUN_timeout_ms].i : 0;
    json_t *q = NULL;
    const char *pfx = "query";
    res_row ds, rec;
    if (given[BIRUN_query]) {
        q = json_loads(v[BIRUN_query].s, 0, NULL);
    } else if (given[BIRUN_dataset_id]) {
        if (engine_load(c, RES(BIDS), v[BIRUN_dataset_id].s, "dataset_id", &ds)) return -1;
        if (is(engine_text(&ds, BIDS_kind), "mock"))
            return run_mock(c, &ds, NULL, NULL, limit ? limit : BI_LIMIT_DEFAULT);
        q = dataset_query(&ds);
        pfx = "dataset_id";
    } else if (given[BIRUN_report_id]) {
        if (engine_load(c, RES(BIREP), v[BIRUN_report_id].s, "report_id", &rec) ||
            engine_load(c, RES(BIDS), engine_text(&rec, BIREP_dataset_id), "report_id", &ds))
            return -1;
        if (is(engine_text(&ds, BIDS_kind), "mock"))
            return run_mock(c, &ds, NULL, NULL, limit ? limit : BI_LIMIT_DEFAULT);
        q = report_query(&rec, &ds);
        pfx = "report_id";
    } else {
        if (engine_load(c, RES(BIMET), v[BIRUN_metric_id].s, "metric_id", &rec) ||
            engine_load(c, RES(BIDS), engine_text(&rec, BIMET_dataset_id), "metric_id", &ds))
            return -1;
        const char *agg = engine_text(&rec, BIMET_aggregate);
        const char *field = engine_text(&rec, BIMET_field);
        if (!agg) agg = "count";
        if (is(engine_text(&ds, BIDS_kind), "mock")) return run_mock(c, &ds, agg, field, 1);
        json_t *base = dataset_query(&ds);
        q = json_pack("{s:O}", "source", json_object_get(base, "source"));
        json_t *f = json_object_get(base, "filters");
        if (f) json_object_set(q, "filters", f);
        json_t *ag = json_pack("{s:s, s:s}", "fn", agg, "as", "value");
        if (field) json_object_set_new(ag, "field", json_string(field));
        json_object_set_new(q, "aggregates", json_pack("[o]", ag));
        json_decref(base);
        pfx = "metric_id";
    }
    if (!q) return engine_fail(c, EK_INVALID, pfx, "%s: its query cannot be read", pfx);
    bi_plan *pl = arena_alloc(c->a, sizeof *pl);
    int rc = compile(c, q, pfx, pl);
    json_decref(q);
    if (rc) return -1;
    return run_plan(c, pl, limit, timeout);
}

/* ----------------------------------------------------------------- hooks */

/* A stored query checked as POST run would check it, with source
 * defaulting to `source` (a report's over its dataset's). */
static int check_query(engine_call *c, const res_row *row, int field, const char *name,
                       const char *source)
{
    json_t *q = stored_json(row, field);
    if (!q) return 0;
    if (source && json_is_object(q) && !json_object_get(q, "source"))
        json_object_set_new(q, "source", json_string(source));
    bi_plan *pl = arena_alloc(c->a, sizeof *pl);
    int rc = compile(c, q, name, pl);
    json_decref(q);
    return rc;
}

static int refuse_unless(engine_call *c, const res_row *row, bool *set, int field, const char *name,
                         const char *kind, bool applies)
{
    (void)set;
    if (!applies && row->vals[field].kind != SV_NULL)
        return engine_fail(c, EK_INVALID, name, "%s does not apply to a %s dataset", name, kind);
    return 0;
}

static int dataset_before(res_write *w)
{
    engine_call *c = w->c;
    res_row *row = w->row;
    const char *kind = engine_text(row, BIDS_kind);
    bool mock = is(kind, "mock"), table = is(kind, "table"), view = is(kind, "view"),
         sem = is(kind, "semantic");
    if (refuse_unless(c, row, w->set, BIDS_query, "query", kind, view) ||
        refuse_unless(c, row, w->set, BIDS_rows, "rows", kind, mock) ||
        refuse_unless(c, row, w->set, BIDS_dimensions, "dimensions", kind, sem) ||
        refuse_unless(c, row, w->set, BIDS_measures, "measures", kind, sem) ||
        refuse_unless(c, row, w->set, BIDS_source, "source", kind, table || sem || view))
        return -1;
    if (view) {
        if (!engine_text(row, BIDS_query))
            return engine_fail(c, EK_INVALID, "query", "query is required for a view dataset");
        if (check_query(c, row, BIDS_query, "query", NULL)) return -1;
        /* Its source, to filter datasets by. */
        json_t *q = stored_json(row, BIDS_query);
        engine_set(row, w->set, BIDS_source,
                   sv_text(arena_strdup(c->a, json_string_value(json_object_get(q, "source")))));
        json_decref(q);
        return 0;
    }
    if (table || sem) {
        const char *src = engine_text(row, BIDS_source);
        if (!src)
            return engine_fail(c, EK_INVALID, "source", "source is required for a %s dataset",
                               kind);
        const res_def *r = res_find(src);
        if (!r) return engine_fail(c, EK_INVALID, "source", "source: no resource is named %s", src);
        if (may_read(c, r, "source")) return -1;
    }
    if (sem) {
        json_t *dims = engine_items(row, BIDS_dimensions), *meas = engine_items(row, BIDS_measures);
        int rc = 0;
        if (json_array_size(dims) + json_array_size(meas) == 0)
            rc = engine_fail(c, EK_INVALID, "dimensions",
                             "a semantic dataset needs dimensions, measures or both");
        json_t *q = dataset_query(row);
        bi_plan *pl = arena_alloc(c->a, sizeof *pl);
        /* Named after the dataset's own members, not the query's. */
        if (!rc && compile(c, q, "", pl)) {
            const char *p = c->out->param ? c->out->param : "";
            if (strncmp(p, "group_by", 8) == 0)
                c->out->param = arena_printf(c->a, "dimensions%s", p + 8);
            else if (strncmp(p, "aggregates", 10) == 0)
                c->out->param = arena_printf(c->a, "measures%s", p + 10);
            rc = -1;
        }
        json_decref(q);
        json_decref(dims);
        json_decref(meas);
        return rc;
    }
    return 0;
}

static int metric_before(res_write *w)
{
    engine_call *c = w->c;
    res_row *row = w->row, ds;
    if (engine_load(c, RES(BIDS), engine_text(row, BIMET_dataset_id), "dataset_id", &ds)) return -1;
    const char *agg = engine_text(row, BIMET_aggregate);
    const char *field = engine_text(row, BIMET_field);
    if (!agg) agg = "count";
    if (!is(agg, "count") && !field)
        return engine_fail(c, EK_INVALID, "field", "field is required for %s", agg);
    if (is(engine_text(&ds, BIDS_kind), "mock")) return 0;
    json_t *base = dataset_query(&ds);
    json_t *q = json_pack("{s:O, s:[{s:s}]}", "source", json_object_get(base, "source"),
                          "aggregates", "fn", agg);
    if (field)
        json_object_set_new(json_array_get(json_object_get(q, "aggregates"), 0), "field",
                            json_string(field));
    json_decref(base);
    bi_plan *pl = arena_alloc(c->a, sizeof *pl);
    int rc = compile(c, q, "", pl);
    json_decref(q);
    if (rc && c->out->param && strncmp(c->out->param, "aggregates[0].", 14) == 0)
        c->out->param = arena_strdup(c->a, c->out->param + 14);
    if (rc && is(c->out->param, "fn")) c->out->param = "aggregate";
    return rc;
}

static int report_before(res_write *w)
{
    engine_call *c = w->c;
    res_row *row = w->row, ds;
    if (engine_load(c, RES(BIDS), engine_text(row, BIREP_dataset_id), "dataset_id", &ds)) return -1;
    if (!engine_text(row, BIREP_query)) return 0;
    if (is(engine_text(&ds, BIDS_kind), "mock"))
        return engine_fail(c, EK_INVALID, "query", "a report of a mock dataset takes no query");
    json_t *base = dataset_query(&ds);
    const char *src = base ? json_string_value(json_object_get(base, "source")) : NULL;
    int rc = check_query(c, row, BIREP_query, "query", src);
    json_decref(base);
    return rc;
}

static int dashboard_before(res_write *w)
{
    engine_call *c = w->c;
    if (!w->set[BIDASH_layout]) return 0;
    json_t *items = engine_items(w->row, BIDASH_layout);
    size_t i;
    json_t *x;
    int rc = 0;
    json_array_foreach(items, i, x)
    {
        res_row rep;
        const char *p = arena_printf(c->a, "layout[%zu].report_id", i);
        if ((rc = engine_load(c, RES(BIREP), json_string_value(json_object_get(x, "report_id")), p,
                              &rep)))
            break;
    }
    json_decref(items);
    return rc;
}

static int schedule_before(res_write *w)
{
    engine_call *c = w->c;
    res_row *row = w->row;
    bool rep = engine_text(row, BISCHED_report_id) != NULL,
         ds = engine_text(row, BISCHED_dataset_id) != NULL;
    if (rep == ds)
        return engine_fail(c, EK_INVALID, rep ? "dataset_id" : "report_id",
                           "give one of report_id and dataset_id");
    cron_spec spec;
    char why[200];
    if (!cron_parse(engine_text(row, BISCHED_schedule), &spec, why, sizeof why))
        return engine_fail(c, EK_INVALID, "schedule", "schedule cannot be parsed: %s", why);
    const char *zone = engine_text(row, BISCHED_timezone);
    if (!zone) {
        zone = "UTC";
        engine_set(row, w->set, BISCHED_timezone, sv_text(zone));
    }
    const tz_zone *z = tz_find(zone);
    if (!z)
        return engine_fail(c, EK_INVALID, "timezone", "timezone %s is not a known IANA zone", zone);
    /* When it next runs: recomputed whenever what decides it changes. */
    bool changed = w->is_create || w->set[BISCHED_schedule] || w->set[BISCHED_timezone] ||
                   w->set[BISCHED_status];
    if (!changed) return 0;
    int64_t next = -1;
    if (is(engine_text(row, BISCHED_status), "active"))
        next = cron_next(&spec, z, (int64_t)time_now_ms());
    /* Tests: due at once, so the timer's run is seen without waiting for
     * the schedule's time. */
    if (next >= 0 && getenv("CAIRN_BI_SCHEDULE_DUE_NOW")) next = (int64_t)time_now_ms();
    engine_set(row, w->set, BISCHED_next_run_at,
               next < 0 ? (store_val){.kind = SV_NULL} : sv_int(next));
    return 0;
}

const res_hooks bi_dataset_hooks = {.before_write = dataset_before};
const res_hooks bi_metric_hooks = {.before_write = metric_before};
const res_hooks bi_report_hooks = {.before_write = report_before};
const res_hooks bi_dashboard_hooks = {.before_write = dashboard_before};
const res_hooks bi_schedule_hooks = {.before_write = schedule_before};

/* ------------------------------------------------------------- exports */

#define EXPORT_TIMEOUT_MS 600000    /* a query's time when it sets none */
#define EXPORT_ALL_ROWS   (1 << 30) /* no limit but the query's own */
#define EXPORT_URL_TTL_S  900
#define EXPORT_FLUSH      (64 * 1024)
#define EXPORT_DUE_MAX    100

/* How long an export's file is kept: 7 days (tests shorten it). */
static int64_t keep_ms(void)
{
    const char *t = getenv("CAIRN_BI_EXPORT_KEEP_MS");
    return t && atoll(t) > 0 ? atoll(t) : 7ll * 24 * 3600 * 1000;
}

static void (*export_waker)(void);

void bi_exports_set_waker(void (*fn)(void))
{
    export_waker = fn;
}

void bi_exports_poke(void)
{
    void (*fn)(void) = export_waker;
    if (fn) fn();
}

/* The query export (or schedule) row stands for, checked: pl filled, or
 * *mock set with ds the mock dataset; -1 with the error set. */
static int export_plan(engine_call *c, const char *ds_id, const char *rep_id, const char *query,
                       bi_plan *pl, bool *mock, res_row *ds)
{
    json_t *q = NULL;
    const char *pfx = "query";
    res_row rep;
    *mock = false;
    if (query) {
        q = json_loads(query, 0, NULL);
    } else if (ds_id) {
        if (engine_load(c, RES(BIDS), ds_id, "dataset_id", ds)) return -1;
        pfx = "dataset_id";
        if (is(engine_text(ds, BIDS_kind), "mock")) return *mock = true, 0;
        q = dataset_query(ds);
    } else {
        if (engine_load(c, RES(BIREP), rep_id, "report_id", &rep) ||
            engine_load(c, RES(BIDS), engine_text(&rep, BIREP_dataset_id), "report_id", ds))
            return -1;
        pfx = "report_id";
        if (is(engine_text(ds, BIDS_kind), "mock")) return *mock = true, 0;
        q = report_query(&rep, ds);
    }
    if (!q) return engine_fail(c, EK_INVALID, pfx, "%s: its query cannot be read", pfx);
    int rc = compile(c, q, is(pfx, "query") ? "query" : "", pl);
    if (!rc) {
        /* Every row, unless the query itself says otherwise. */
        if (!json_object_get(q, "limit")) pl->q.limit = EXPORT_ALL_ROWS;
        if (!json_object_get(q, "timeout_ms")) pl->q.timeout_ms = EXPORT_TIMEOUT_MS;
    } else if (!is(pfx, "query")) {
        c->out->param = pfx;
    }
    json_decref(q);
    return rc;
}

static int export_before(res_write *w)
{
    engine_call *c = w->c;
    res_row *row = w->row;
    if (!w->is_create) return 0;
    const char *ds_id = engine_text(row, BIEXP_dataset_id),
               *rep_id = engine_text(row, BIEXP_report_id), *query = engine_text(row, BIEXP_query);
    int given = (ds_id != NULL) + (rep_id != NULL) + (query != NULL);
    /* Two given: the second is the one named, the one to leave out. */
    if (given != 1)
        return engine_fail(c, EK_INVALID,
                           given == 0 ? "dataset_id"
                           : query    ? "query"
                                      : "report_id",
                           "give one of dataset_id, report_id or query");
    engine_set(row, w->set, BIEXP_status, sv_text("queued"));
    /* A schedule's export is checked when it runs: a report broken since
     * fails that export, not the timer. */
    if (engine_text(row, BIEXP_scheduled_artifact_id)) return 0;
    bi_plan *pl = arena_alloc(c->a, sizeof *pl);
    bool mock;
    res_row ds;
    return export_plan(c, ds_id, rep_id, query, pl, &mock, &ds);
}

static int export_after(res_write *w)
{
    if (w->is_create) bi_exports_poke();
    return 0;
}

const res_hooks bi_export_hooks = {.before_write = export_before, .after_write = export_after};

static const char *export_url(engine_call *c, const char *id)
{
    int64_t expires = (int64_t)(time_now_ms() / 1000) + EXPORT_URL_TTL_S;
    char sig[65];
    assets_sign("GET", c->ws, id, expires, sig);
    return arena_printf(
        c->a, "%s/v1/bi/exports/%s/content?workspace_id=%s&expires=%" PRId64 "&signature=%s",
        c->base_url ? c->base_url : "", id, c->ws, expires, sig);
}

int bi_export_get(engine_call *c)
{
    if (engine_params_check(c)) return -1;
    res_row row;
    if (engine_load(c, RES(BIEXP), c->ids[0], NULL, &row)) return -1;
    jw *w = engine_answer(c);
    jw_obj_open(w);
    engine_write_members(w, RES(BIEXP), &row);
    bool ready =
        is(engine_text(&row, BIEXP_status), "succeeded") && engine_text(&row, BIEXP_blob_key);
    jw_kstr(w, "download_url", ready ? export_url(c, row.id) : NULL);
    jw_obj_close(w);
    return 0;
}

int bi_export_transfer_info(engine_call *c, const char *id, asset_info *out)
{
    res_row row;
    if (engine_load(c, RES(BIEXP), id, NULL, &row)) return -1;
    bool csv = is(engine_text(&row, BIEXP_format), "csv");
    bool ready =
        is(engine_text(&row, BIEXP_status), "succeeded") && engine_text(&row, BIEXP_blob_key);
    *out = (asset_info){.status = ready ? "available" : engine_text(&row, BIEXP_status),
                        .mime_type = csv ? "text/csv" : "application/json",
                        .file_name = arena_printf(c->a, "%s.%s", id, csv ? "csv" : "json"),
                        .blob_key = engine_text(&row, BIEXP_blob_key),
                        .byte_size = engine_int(&row, BIEXP_byte_size, -1)};
    return 0;
}

int bi_exports_due(engine_call *c, bool orphans, char (*ids)[ID_MAX], int cap, int *n)
{
    store_val st[2] = {sv_text("queued"), sv_text("running")};
    store_filter f = {.field = BIEXP_status, .op = SF_IN, .in = st, .nin = orphans ? 2 : 1};
    store_query q = {
        .filters = &f, .nfilters = 1, .ascending = true, .limit = cap, .link_field = -1};
    res_row *rows;
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, RES(BIEXP), c->ws, &q, &rows, n, &more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    for (int i = 0; i < *n; i++)
        snprintf(ids[i], ID_MAX, "%s", rows[i].id);
    return 0;
}

int bi_export_claim(engine_call *c, const char *id, bool *taken)
{
    res_row old;
    *taken = false;
    if (engine_load(c, RES(BIEXP), id, NULL, &old)) return -1;
    const char *st = engine_text(&old, BIEXP_status);
    if (!is(st, "queued") && !is(st, "running")) return 0;
    bool *set;
    res_row row = engine_copy_row(c, RES(BIEXP), &old, &set);
    engine_set(&row, set, BIEXP_status, sv_text("running"));
    engine_set(&row, set, BIEXP_started_at, sv_int((int64_t)time_now_ms()));
    if (engine_update_row(c, RES(BIEXP), &old, &row, set, NULL)) return -1;
    *taken = true;
    return 0;
}

/* ---- the file: rows streamed into a blob through a small buffer ---- */

typedef struct export_sink {
    blob_put put;
    buf b;
    const bi_plan *pl;
    bool csv;
    jw w;
    int64_t rows;
    char err[BLOB_ERR];
    bool failed;
} export_sink;

static int sink_flush(export_sink *s, bool always)
{
    if (s->failed) return -1;
    if (s->b.overflow) {
        snprintf(s->err, sizeof s->err, "a row is too large to write");
        s->failed = true;
        return -1;
    }
    if (s->b.len == 0 || (!always && s->b.len < EXPORT_FLUSH)) return 0;
    if (blob_put_write(&s->put, s->b.data, s->b.len, s->err)) {
        s->failed = true;
        return -1;
    }
    buf_reset(&s->b);
    return 0;
}

/* An RFC 4180 cell: quoted when it holds a comma, a quote or a line
 * break; a leading = + - @ TAB or CR gets a ' first (OWASP), inside the
 * quotes. */
static void csv_text(buf *b, const char *s)
{
    bool formula = s[0] && strchr("=+-@\t\r", s[0]);
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote) buf_putc(b, '"');
    if (formula) buf_putc(b, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '"') buf_putc(b, '"');
        buf_putc(b, *p);
    }
    if (quote) buf_putc(b, '"');
}

static void csv_cell(buf *b, const bi_plan *pl, int k, const store_val *v)
{
    if (v->kind == SV_NULL) return;
    const char *t = type_label(pl, k);
    if (is(t, "datetime")) {
        char s[TIME_STR];
        time_format_ms((uint64_t)v->i, s);
        buf_puts(b, s);
    } else if (is(t, "boolean")) {
        buf_puts(b, v->i ? "true" : "false");
    } else if (v->kind == SV_INT) {
        buf_printf(b, "%" PRId64, v->i);
    } else if (v->kind == SV_REAL) {
        buf_printf(b, "%.17g", v->d);
    } else {
        csv_text(b, v->s);
    }
}

static int sink_row(void *ud, const store_val *cells)
{
    export_sink *s = ud;
    const bi_plan *pl = s->pl;
    if (s->csv) {
        for (int k = 0; k < pl->q.ncols; k++) {
            if (k) buf_putc(&s->b, ',');
            csv_cell(&s->b, pl, k, &cells[k]);
        }
        buf_puts(&s->b, "\r\n");
    } else {
        jw_arr_open(&s->w);
        for (int k = 0; k < pl->q.ncols; k++)
            write_cell(&s->w, pl, k, &cells[k]);
        jw_arr_close(&s->w);
    }
    s->rows++;
    return sink_flush(s, false);
}

static void sink_head(export_sink *s, const char *const *names, const char *const *types, int n)
{
    if (s->csv) {
        for (int k = 0; k < n; k++) {
            if (k) buf_putc(&s->b, ',');
            csv_text(&s->b, names[k]);
        }
        buf_puts(&s->b, "\r\n");
        return;
    }
    jw_obj_open(&s->w);
    jw_key(&s->w, "columns");
    jw_arr_open(&s->w);
    for (int k = 0; k < n; k++) {
        jw_obj_open(&s->w);
        jw_kstr(&s->w, "name", names[k]);
        jw_kstr(&s->w, "type", types[k]);
        jw_obj_close(&s->w);
    }
    jw_arr_close(&s->w);
    jw_key(&s->w, "rows");
    jw_arr_open(&s->w);
}

static void sink_tail(export_sink *s)
{
    if (s->csv) return;
    jw_arr_close(&s->w);
    jw_obj_close(&s->w);
    buf_putc(&s->b, '\n');
}

/* A mock dataset's rows: columns are their keys in first-seen order. */
static void mock_write(engine_call *c, export_sink *s, const res_row *ds)
{
    json_t *rows = mock_rows(c, ds), *order = json_array(), *seen = json_object();
    size_t i, j;
    json_t *row, *k;
    json_array_foreach(rows, i, row)
    {
        const char *key;
        json_t *v;
        json_object_foreach(row, key, v)
        {
            if (json_object_get(seen, key) || json_is_null(v)) continue;
            json_object_set_new(seen, key, json_string(json_label(v)));
            json_array_append_new(order, json_string(key));
        }
    }
    size_t nc = json_array_size(order);
    const char **names = arena_alloc(c->a, sizeof *names * (nc + 1));
    const char **types = arena_alloc(c->a, sizeof *types * (nc + 1));
    json_array_foreach(order, j, k)
    {
        names[j] = json_string_value(k);
        types[j] = json_string_value(json_object_get(seen, names[j]));
    }
    sink_head(s, names, types, (int)nc);
    json_array_foreach(rows, i, row)
    {
        if (!s->csv) jw_arr_open(&s->w);
        for (j = 0; j < nc; j++) {
            json_t *v = json_object_get(row, names[j]);
            if (s->csv && j) buf_putc(&s->b, ',');
            if (!v || json_is_null(v)) {
                if (!s->csv) jw_null(&s->w);
            } else if (json_is_integer(v)) {
                if (s->csv)
                    buf_printf(&s->b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                else
                    jw_int(&s->w, json_integer_value(v));
            } else if (json_is_real(v)) {
                if (s->csv)
                    buf_printf(&s->b, "%.17g", json_real_value(v));
                else
                    jw_double(&s->w, json_real_value(v));
            } else if (json_is_boolean(v)) {
                if (s->csv)
                    buf_puts(&s->b, json_is_true(v) ? "true" : "false");
                else
                    jw_bool(&s->w, json_is_true(v));
            } else {
                const char *t = json_is_string(v) ? json_string_value(v) : "";
                if (s->csv)
                    csv_text(&s->b, t);
                else
                    jw_str(&s->w, t);
            }
        }
        if (s->csv)
            buf_puts(&s->b, "\r\n");
        else
            jw_arr_close(&s->w);
        s->rows++;
    }
    json_decref(seen);
    json_decref(order);
    json_decref(rows);
}

static void fail_out(bi_export_outcome *out, const char *msg)
{
    out->ok = false;
    snprintf(out->error, sizeof out->error, "%s", msg);
}

int bi_export_write(engine_call *c, const char *id, bi_export_outcome *out)
{
    memset(out, 0, sizeof *out);
    res_row row, ds;
    if (engine_load(c, RES(BIEXP), id, NULL, &row)) return -1;
    bi_plan *pl = arena_alloc(c->a, sizeof *pl);
    bool mock;
    c->scopes = worker_scopes;
    if (export_plan(c, engine_text(&row, BIEXP_dataset_id), engine_text(&row, BIEXP_report_id),
                    engine_text(&row, BIEXP_query), pl, &mock, &ds)) {
        if (c->out->kind == EK_UNAVAILABLE) return -1;
        fail_out(out, c->out->message);
        return 0;
    }
    export_sink *s = calloc(1, sizeof *s);
    if (!s) return engine_fail(c, EK_INTERNAL, NULL, "no memory for an export");
    s->pl = pl;
    s->csv = is(engine_text(&row, BIEXP_format), "csv");
    buf_init(&s->b, 64u << 20);
    jw_init(&s->w, &s->b);
    if (blob_put_begin(&s->put, c->ws, id, s->err)) {
        fail_out(out, s->err);
        buf_free(&s->b);
        free(s);
        return 0;
    }
    int rc = STORE_OK;
    store_err e = {0};
    if (mock) {
        mock_write(c, s, &ds);
    } else {
        const char *names[BI_MAX_COLS], *types[BI_MAX_COLS];
        for (int k = 0; k < pl->q.ncols; k++) {
            names[k] = pl->names[k];
            types[k] = type_label(pl, k);
        }
        sink_head(s, names, types, pl->q.ncols);
        rc = store_bi_each(c->conn, pl->r, c->ws, &pl->q, sink_row, s, &e);
    }
    sink_tail(s);
    uint64_t size = 0;
    char sha[65];
    if (rc == STORE_TIMEOUT)
        fail_out(out, arena_printf(c->a,
                                   "the query ran past its timeout_ms of %d ms and was stopped: "
                                   "narrow it or give it more time",
                                   pl->q.timeout_ms));
    else if (s->failed)
        fail_out(out, arena_printf(c->a, "the file could not be written: %s", s->err));
    else if (rc)
        fail_out(out, arena_printf(c->a, "the query failed: %s", e.msg));
    else if (sink_flush(s, true) || blob_put_commit(&s->put, &size, sha, s->err))
        fail_out(out, arena_printf(c->a, "the file could not be written: %s", s->err));
    else {
        out->ok = true;
        out->rows = s->rows;
        out->bytes = (int64_t)size;
        snprintf(out->blob_key, sizeof out->blob_key, "%s", s->put.name);
    }
    if (!out->ok) blob_put_abort(&s->put);
    buf_free(&s->b);
    free(s);
    return 0;
}

int bi_export_record(engine_call *c, const char *id, const bi_export_outcome *o)
{
    res_row old;
    if (engine_load(c, RES(BIEXP), id, NULL, &old)) return -1;
    if (!is(engine_text(&old, BIEXP_status), "running")) {
        /* Archived meanwhile: its file is not wanted. */
        if (o->ok) blob_remove(c->ws, o->blob_key);
        return 0;
    }
    bool *set;
    res_row row = engine_copy_row(c, RES(BIEXP), &old, &set);
    int64_t now = (int64_t)time_now_ms();
    engine_set(&row, set, BIEXP_status, sv_text(o->ok ? "succeeded" : "failed"));
    engine_set(&row, set, BIEXP_completed_at, sv_int(now));
    engine_set(&row, set, BIEXP_expires_at, sv_int(now + keep_ms()));
    if (o->ok) {
        engine_set(&row, set, BIEXP_row_count, sv_int(o->rows));
        engine_set(&row, set, BIEXP_byte_size, sv_int(o->bytes));
        engine_set(&row, set, BIEXP_blob_key, sv_text(arena_strdup(c->a, o->blob_key)));
    } else {
        engine_set(&row, set, BIEXP_error, sv_text(arena_strdup(c->a, o->error)));
    }
    return engine_update_row(c, RES(BIEXP), &old, &row, set, NULL);
}

/* ---- the timer: due schedules, and exports past their days ---- */

static int due_schedules(engine_call *c, int64_t now, res_row **rows, int *n)
{
    store_filter f[2] = {{.field = BISCHED_status, .op = SF_EQ, .v = sv_text("active")},
                         {.field = BISCHED_next_run_at, .op = SF_LT, .v = sv_int(now + 1)}};
    store_query q = {.filters = f,
                     .nfilters = 2,
                     .sort_by = &RES(BISCHED)->fields[BISCHED_next_run_at],
                     .ascending = true,
                     .limit = EXPORT_DUE_MAX,
                     .link_field = -1};
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, RES(BISCHED), c->ws, &q, rows, n, &more, &e);
    return rc ? engine_store_fail(c, rc, &e) : 0;
}

static int run_schedule(engine_call *c, const res_row *old, int64_t now)
{
    bool *set;
    res_row ex = engine_new_row(c, RES(BIEXP), &set);
    engine_set(&ex, set, BIEXP_name, sv_text(engine_text(old, BISCHED_name)));
    const char *rep = engine_text(old, BISCHED_report_id),
               *ds = engine_text(old, BISCHED_dataset_id);
    if (rep) engine_set(&ex, set, BIEXP_report_id, sv_text(rep));
    if (ds) engine_set(&ex, set, BIEXP_dataset_id, sv_text(ds));
    const char *fmt = engine_text(old, BISCHED_format);
    engine_set(&ex, set, BIEXP_format, sv_text(fmt ? fmt : "csv"));
    engine_set(&ex, set, BIEXP_scheduled_artifact_id, sv_text(old->id));
    if (engine_insert(c, RES(BIEXP), &ex, set)) return -1;
    /* Advanced from now: runs missed while the server was down are one. */
    cron_spec spec;
    char why[200];
    const tz_zone *z = tz_find(engine_text(old, BISCHED_timezone));
    int64_t next = -1;
    if (cron_parse(engine_text(old, BISCHED_schedule), &spec, why, sizeof why) && z)
        next = cron_next(&spec, z, now);
    res_row row = engine_copy_row(c, RES(BISCHED), old, &set);
    engine_set(&row, set, BISCHED_last_run_at, sv_int(now));
    engine_set(&row, set, BISCHED_next_run_at,
               next < 0 ? (store_val){.kind = SV_NULL} : sv_int(next));
    return engine_save(c, RES(BISCHED), &row, old, set);
}

static int expire_exports(engine_call *c, int64_t now)
{
    store_val st[2] = {sv_text("succeeded"), sv_text("failed")};
    store_filter f[2] = {{.field = BIEXP_status, .op = SF_IN, .in = st, .nin = 2},
                         {.field = BIEXP_expires_at, .op = SF_LT, .v = sv_int(now + 1)}};
    store_query q = {.filters = f,
                     .nfilters = 2,
                     .sort_by = &RES(BIEXP)->fields[BIEXP_expires_at],
                     .ascending = true,
                     .limit = EXPORT_DUE_MAX,
                     .link_field = -1};
    res_row *rows;
    int n;
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, RES(BIEXP), c->ws, &q, &rows, &n, &more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    for (int i = 0; i < n; i++) {
        bool *set;
        const char *key = engine_text(&rows[i], BIEXP_blob_key);
        res_row row = engine_copy_row(c, RES(BIEXP), &rows[i], &set);
        engine_set(&row, set, BIEXP_status, sv_text("archived"));
        engine_set(&row, set, BIEXP_blob_key, (store_val){.kind = SV_NULL});
        if (engine_save(c, RES(BIEXP), &row, &rows[i], set)) return -1;
        /* Before the commit: a rollback leaves a record whose file is
         * gone, which answers 404 on download, never another's bytes. */
        if (key) blob_remove(c->ws, key);
    }
    return 0;
}

int bi_timers(engine_call *c, int64_t now)
{
    res_row *rows;
    int n;
    if (due_schedules(c, now, &rows, &n)) return -1;
    if (n > 0) {
        /* Two nodes' timers: the second waits for the first's commit and
         * then reads the next_run_at it moved, so a run is made once. */
        store_err e;
        int rc = store_lock(c->conn, c->ws, "bi#schedules", &e);
        if (rc) return engine_store_fail(c, rc, &e);
        if (due_schedules(c, now, &rows, &n)) return -1;
        for (int i = 0; i < n; i++)
            if (run_schedule(c, &rows[i], now)) return -1;
        if (n) bi_exports_poke();
    }
    return expire_exports(c, now);
}
