/* accounting.c - the double-entry ledger beyond the generic engine: an
 * account's normal side follows its type, and one with postings is
 * archived, never deleted; a journal entry names each line's account by
 * id or code, has a debit or a credit per line, one currency and at least
 * two lines, and balances; posting it (on create, or a draft's update)
 * writes one journal line per debit and credit, whose rollups per account
 * and side (every day) and per account, side and day (as of a day)
 * answer balances and the trial balance; a posted entry
 * never changes or goes, and is undone by its reversal, once. Invoices and
 * payments (billing.c) post through ledger_post() in their write's
 * transaction, to the accounts of the default chart, which every workspace
 * gets and which a currency's first posting completes. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"
#include "resources/engine.h"
#include "resources/hooks.h"

static bool is(const char *s, const char *v)
{
    return s && strcmp(s, v) == 0;
}

const char *ledger_day(engine_call *c, int64_t ms)
{
    char t[TIME_STR];
    time_format_ms((uint64_t)ms, t);
    return arena_strndup(c->a, t, 10);
}

/* ---------------------------------------------------------------- accounts */

/* The default chart: what each role's account is called and typed. */
static const struct {
    const char *role, *code, *name, *type;
} chart[] = {
    {"cash", "1000", "Cash", "asset"},
    {"receivable", "1100", "Accounts receivable", "asset"},
    {"tax", "2100", "Tax payable", "liability"},
    {"revenue", "4000", "Revenue", "revenue"},
    {"refunds", "4900", "Refunds and allowances", "expense"},
};
#define NCHART ((int)(sizeof chart / sizeof chart[0]))

static const char *normal_side(const char *type)
{
    return is(type, "asset") || is(type, "expense") ? "debit" : "credit";
}

static int account_before(res_write *w)
{
    res_row *row = w->row;
    if (w->is_create) {
        engine_set(row, w->set, ACCOUNT_normal_side,
                   sv_text(normal_side(engine_text(row, ACCOUNT_type))));
        if (row->vals[ACCOUNT_currency].kind == SV_NULL)
            engine_set(row, w->set, ACCOUNT_currency, sv_text(engine_currency(w->c)));
    }
    if (!w->set[ACCOUNT_parent_id] || !engine_text(row, ACCOUNT_parent_id)) return 0;
    /* A parent chain never loops back to the account. */
    const char *p = engine_text(row, ACCOUNT_parent_id);
    for (int depth = 0; p; depth++) {
        if (is(p, row->id) || depth == 32)
            return engine_fail(w->c, EK_INVALID, "parent_id",
                               "parent_id %s would make the account its own ancestor", p);
        res_row up;
        if (engine_load(w->c, RES(ACCOUNT), p, "parent_id", &up)) return -1;
        p = engine_text(&up, ACCOUNT_parent_id);
    }
    return 0;
}

/* An account's debits and credits, per side, up to a day (every day
 * without one): the rollup per account and side, or the one per day
 * folded up to it (NULL account: every account). */
static int ledger_groups(engine_call *c, const char *account, const char *as_of,
                         store_agg_row **rows, int *n)
{
    const char *match[3] = {account, NULL, NULL};
    res_def total = res_rollup2_def(RES(JLINE));
    store_err e;
    int rc = store_rollup_list(c->conn, c->a, as_of ? RES(JLINE) : &total, c->ws,
                               account ? match : NULL, as_of, rows, n, &e);
    return rc ? engine_store_fail(c, rc, &e) : 0;
}

/* Whether the account has postings: a group of its rollup. */
static int has_postings(engine_call *c, const char *account, bool *any)
{
    store_agg_row *rows;
    int n;
    if (ledger_groups(c, account, NULL, &rows, &n)) return -1;
    *any = n > 0;
    return 0;
}
static int account_before_delete(res_write *w)
{
    bool any;
    if (has_postings(w->c, w->old->id, &any)) return -1;
    if (any)
        return engine_fail(w->c, EK_CONFLICT, NULL,
                           "account %s has postings: archive it (status archived) instead",
                           engine_text(w->old, ACCOUNT_code));
    return 0;
}

const res_hooks account_hooks = {.before_write = account_before,
                                 .before_delete = account_before_delete};

/* The account playing `role` in `currency`, made (with the chart's code,
 * or the code and the currency when the code is taken) when missing. */
static int role_account(engine_call *c, const char *role, const char *currency, res_row *out)
{
    const res_def *a = RES(ACCOUNT);
    store_filter f[2] = {{.field = ACCOUNT_role, .v = sv_text(role)},
                         {.field = ACCOUNT_currency, .v = sv_text(currency)}};
    store_query q = {.filters = f, .nfilters = 2, .limit = 1, .link_field = -1};
    res_row *rows;
    int n;
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, a, c->ws, &q, &rows, &n, &more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    if (n) {
        *out = rows[0];
        return 0;
    }
    int k = 0;
    while (k < NCHART && !is(chart[k].role, role))
        k++;
    if (k == NCHART) return engine_fail(c, EK_INTERNAL, NULL, "no account role %s", role);
    const char *code = chart[k].code;
    res_row taken;
    int found = engine_find_by(c, a, ACCOUNT_code, code, &taken);
    if (found < 0) return -1;
    if (found) code = arena_printf(c->a, "%s-%s", chart[k].code, currency);
    bool *set;
    *out = engine_new_row(c, a, &set);
    engine_set(out, set, ACCOUNT_code, sv_text(code));
    engine_set(out, set, ACCOUNT_name,
               sv_text(is(currency, engine_currency(c))
                           ? chart[k].name
                           : arena_printf(c->a, "%s (%s)", chart[k].name, currency)));
    engine_set(out, set, ACCOUNT_type, sv_text(chart[k].type));
    engine_set(out, set, ACCOUNT_currency, sv_text(currency));
    engine_set(out, set, ACCOUNT_role, sv_text(role));
    return engine_insert(c, a, out, set);
}

int accounting_workspace_init(engine_call *c, int64_t now_ms)
{
    (void)now_ms;
    store_err e;
    int rc = store_lock(c->conn, c->ws, "default-chart", &e);
    if (rc) return engine_store_fail(c, rc, &e);
    for (int k = 0; k < NCHART; k++) {
        res_row acct;
        if (role_account(c, chart[k].role, engine_currency(c), &acct)) return -1;
    }
    return 0;
}

/* ----------------------------------------------------------------- entries */

/* An entry's lines as checked, for its posting (res_write.hook_data): the
 * posting need not read them back from their JSON. */
typedef struct checked_line {
    const char *account_id, *description;
    int64_t debit, credit;
} checked_line;

typedef struct checked_lines {
    int n;
    checked_line *l;
} checked_lines;

/* Checks an entry's lines and completes them (both account_id and
 * account_code, 0 for the unused side), its currency and total. */
static int check_lines(res_write *w)
{
    engine_call *c = w->c;
    res_row *row = w->row;
    /* The lines as values, not JSON: parsing them back and writing them
     * again took 6% of a posting's time on the writer (SQLite). */
    store_val *lines;
    size_t n;
    if (engine_list_vals(c, w->r, row, JE_lines, &lines, &n)) return -1;
    const char *currency = engine_text(row, JE_currency);
    bool manual = is(engine_text(row, JE_source), "manual");
    int64_t debits = 0, credits = 0;
    int rc = 0;
    checked_lines *out = arena_alloc(c->a, sizeof *out);
    out->n = 0;
    out->l = arena_alloc(c->a, sizeof *out->l * (n ? n : 1));
    if (n < 2) rc = engine_fail(c, EK_INVALID, "lines", "an entry needs at least two lines");
    /* Every line's account in one round trip (PostgreSQL), by id or else
     * by code, in the lines' order (lines naming none have no read). */
    store_read *reads = arena_alloc(c->a, sizeof *reads * (n ? n : 1));
    int nreads = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const store_val *l = &lines[i * JEL__COUNT];
        if (l[JEL_account_id].kind == SV_TEXT)
            reads[nreads++] = (store_read){.r = RES(ACCOUNT), .id = l[JEL_account_id].s};
        else if (l[JEL_account_code].kind == SV_TEXT)
            reads[nreads++] = (store_read){
                .r = RES(ACCOUNT), .key_field = ACCOUNT_code, .key = l[JEL_account_code].s};
    }
    if (rc == 0 && nreads > 0 && engine_prefetch(c, reads, nreads)) rc = -1;
    for (size_t i = 0, k = 0; i < n && rc == 0; i++) {
        store_val *l = &lines[i * JEL__COUNT];
        const char *id = l[JEL_account_id].kind == SV_TEXT ? l[JEL_account_id].s : NULL;
        const char *code = l[JEL_account_code].kind == SV_TEXT ? l[JEL_account_code].s : NULL;
        const store_read *got = id || code ? &reads[k++] : NULL;
        char *pid = arena_printf(c->a, "lines[%zu].account_id", i);
        char *pcode = arena_printf(c->a, "lines[%zu].account_code", i);
        res_row acct;
        if (id) {
            /* Found, it is remembered; missing, engine_load says so. */
            if ((rc = engine_load(c, RES(ACCOUNT), id, pid, &acct))) break;
            if (code && !is(code, engine_text(&acct, ACCOUNT_code))) {
                rc = engine_fail(c, EK_INVALID, pcode, "%s %s is not the code of account %s", pcode,
                                 code, id);
                break;
            }
        } else if (code) {
            if (got->rc != STORE_OK) {
                rc = engine_fail(c, EK_NOT_FOUND, pcode,
                                 "%s: no account with code '%s' in this workspace", pcode, code);
                break;
            }
            acct = got->row;
            pid = pcode;
        } else {
            rc = engine_fail(c, EK_INVALID, pid,
                             "%s: each line names its account by account_id "
                             "or account_code",
                             pid);
            break;
        }
        const char *cur = engine_text(&acct, ACCOUNT_currency);
        if (!currency) currency = cur;
        if (!is(cur, currency)) {
            /* The entry's stated currency, or the line that parts from
             * the lines before it. */
            const char *p = i == 0 ? "currency" : pid;
            rc = engine_fail(c, EK_INVALID, p, "%s: account %s is in %s, the entry in %s", p,
                             engine_text(&acct, ACCOUNT_code), cur, currency);
            break;
        }
        if (manual && is(engine_text(&acct, ACCOUNT_status), "archived")) {
            rc = engine_fail(c, EK_CONFLICT, pid, "%s: account %s is archived", pid,
                             engine_text(&acct, ACCOUNT_code));
            break;
        }
        int64_t d = l[JEL_debit_cents].kind == SV_INT ? l[JEL_debit_cents].i : 0;
        int64_t k = l[JEL_credit_cents].kind == SV_INT ? l[JEL_credit_cents].i : 0;
        if ((d > 0) == (k > 0)) {
            const char *p = arena_printf(c->a, "lines[%zu]", i);
            rc = engine_fail(c, EK_INVALID, p,
                             d > 0 ? "%s has both debit_cents and credit_cents: a line is one "
                                     "or the other"
                                   : "%s needs debit_cents or credit_cents above 0",
                             p);
            break;
        }
        /* Each line is at most 10^15 and there are at most 100. */
        debits += d;
        credits += k;
        l[JEL_account_id] = sv_text(arena_strdup(c->a, acct.id));
        l[JEL_account_code] = sv_text(engine_text(&acct, ACCOUNT_code));
        l[JEL_debit_cents] = sv_int(d);
        l[JEL_credit_cents] = sv_int(k);
        out->l[out->n++] = (checked_line){
            .account_id = l[JEL_account_id].s,
            .description = l[JEL_description].kind == SV_TEXT ? l[JEL_description].s : NULL,
            .debit = d,
            .credit = k};
    }
    if (rc == 0 && debits != credits)
        rc = engine_fail(c, EK_UNPROCESSABLE, "lines",
                         "the debits (%" PRId64 ") and the credits (%" PRId64
                         ") differ: an entry balances",
                         debits, credits);
    if (rc == 0 && debits > RES_MONEY_MAX)
        rc = engine_fail(c, EK_INVALID, "lines",
                         "the entry's total %" PRId64 " is over the bound of %" PRId64, debits,
                         RES_MONEY_MAX);
    if (rc == 0) {
        engine_set_list_vals(c, w->r, row, w->set, JE_lines, lines, n);
        engine_set(row, w->set, JE_currency, sv_text(currency));
        engine_set(row, w->set, JE_total_cents, sv_int(debits));
        w->hook_data = out;
    }
    return rc;
}

/* The first field an update of a posted entry sets, to name it. */
static const char *first_set(const res_write *w)
{
    for (int i = 0; i < w->r->nfields; i++)
        if (w->set[i]) return w->r->fields[i].name;
    return NULL;
}

static int entry_before(res_write *w)
{
    engine_call *c = w->c;
    res_row *row = w->row;
    if (w->old && is(engine_text(w->old, JE_status), "posted"))
        return engine_fail(c, EK_CONFLICT, first_set(w),
                           "journal entry %s is posted: it never changes (reverse it instead)",
                           w->old->id);
    if (row->vals[JE_entry_date].kind == SV_NULL)
        engine_set(row, w->set, JE_entry_date, sv_text(ledger_day(c, row->updated_ms)));
    if (check_lines(w)) return -1;
    if (is(engine_text(row, JE_status), "posted"))
        engine_set(row, w->set, JE_posted_at, sv_int(row->updated_ms));
    return 0;
}

/* Posting: one journal line per debit and credit; the rollups follow, in
 * one statement for every line (two groups per account and side: its day,
 * and every day). */
static int entry_after(res_write *w)
{
    engine_call *c = w->c;
    const res_row *row = w->row;
    if (!is(engine_text(row, JE_status), "posted")) return 0;
    const checked_lines *lines = w->hook_data; /* check_lines' */
    if (!lines) return engine_fail(c, EK_INTERNAL, NULL, "posting unchecked lines");
    const char *entry_id = arena_strdup(c->a, row->id);
    int rc = 0;
    engine_rollups_defer(c);
    for (int i = 0; i < lines->n && rc == 0; i++) {
        const checked_line *l = &lines->l[i];
        bool *set;
        res_row jl = engine_new_row(c, RES(JLINE), &set);
        engine_set(&jl, set, JLINE_entry_id, sv_text(entry_id));
        engine_set(&jl, set, JLINE_account_id, sv_text(l->account_id));
        engine_set(&jl, set, JLINE_side, sv_text(l->debit > 0 ? "debit" : "credit"));
        engine_set(&jl, set, JLINE_amount_cents, sv_int(l->debit > 0 ? l->debit : l->credit));
        engine_set(&jl, set, JLINE_currency, row->vals[JE_currency]);
        engine_set(&jl, set, JLINE_entry_date, row->vals[JE_entry_date]);
        engine_set(&jl, set, JLINE_description, sv_text(l->description));
        rc = engine_insert(c, RES(JLINE), &jl, set);
    }
    if (engine_rollups_end(c, rc)) return -1;
    return engine_event(c, w->r, "posted", row, NULL);
}

static int entry_before_delete(res_write *w)
{
    if (!is(engine_text(w->old, JE_status), "posted")) return 0;
    return engine_fail(w->c, EK_CONFLICT, NULL,
                       "journal entry %s is posted: it never goes (reverse it instead)",
                       w->old->id);
}

const res_hooks entry_hooks = {
    .before_write = entry_before, .after_write = entry_after, .before_delete = entry_before_delete};

int ledger_post(engine_call *c, const char *source, const char *source_id, const char *currency,
                const char *day, const char *memo, const ledger_line *lines, int n, res_row *out)
{
    json_t *items = json_array();
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (lines[i].amount == 0) continue;
        res_row acct;
        if ((rc = role_account(c, lines[i].role, currency, &acct))) break;
        json_array_append_new(
            items, json_pack("{s:s, s:s, s:I, s:I, s:n}", "account_id", acct.id, "account_code",
                             engine_text(&acct, ACCOUNT_code), "debit_cents",
                             (json_int_t)(lines[i].debit ? lines[i].amount : 0), "credit_cents",
                             (json_int_t)(lines[i].debit ? 0 : lines[i].amount), "description"));
    }
    if (rc == 0) {
        bool *set;
        *out = engine_new_row(c, RES(JE), &set);
        engine_set_items(c, out, set, JE_lines, items);
        engine_set(out, set, JE_status, sv_text("posted"));
        engine_set(out, set, JE_source, sv_text(source));
        engine_set(out, set, JE_source_id, sv_text(source_id));
        engine_set(out, set, JE_currency, sv_text(currency));
        engine_set(out, set, JE_entry_date, sv_text(day));
        engine_set(out, set, JE_memo, sv_text(memo));
        rc = engine_insert(c, RES(JE), out, set);
    }
    json_decref(items);
    return rc;
}

int ledger_reverse(engine_call *c, const char *entry_id, const char *source, const char *day,
                   const char *memo, res_row *out)
{
    const res_def *r = RES(JE);
    res_row old;
    if (engine_load(c, r, entry_id, NULL, &old)) return -1;
    if (!is(engine_text(&old, JE_status), "posted"))
        return engine_fail(c, EK_CONFLICT, NULL,
                           "journal entry %s is a draft: change or delete it instead", old.id);
    const char *by = engine_text(&old, JE_reversed_by_id);
    if (by)
        return engine_fail(c, EK_CONFLICT, NULL, "journal entry %s was reversed already, by %s",
                           old.id, by);
    json_t *lines = engine_items(&old, JE_lines);
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l)
    {
        /* By id alone: the account's code may have changed since. */
        json_object_del(l, "account_code");
        json_t *d = json_incref(json_object_get(l, "debit_cents"));
        json_object_set(l, "debit_cents", json_object_get(l, "credit_cents"));
        json_object_set_new(l, "credit_cents", d);
    }
    bool *set;
    *out = engine_new_row(c, r, &set);
    engine_set_items(c, out, set, JE_lines, lines);
    json_decref(lines);
    engine_set(out, set, JE_status, sv_text("posted"));
    engine_set(out, set, JE_source, sv_text(source));
    engine_set(out, set, JE_source_id, old.vals[JE_source_id]);
    engine_set(out, set, JE_currency, old.vals[JE_currency]);
    engine_set(out, set, JE_reversal_of_id, sv_text(arena_strdup(c->a, old.id)));
    if (day) engine_set(out, set, JE_entry_date, sv_text(day));
    engine_set(out, set, JE_memo,
               sv_text(memo ? memo : arena_printf(c->a, "Reversal of %s", old.id)));
    if (engine_insert(c, r, out, set)) return -1;
    /* The one change a posted entry takes: the link to its reversal. */
    bool *oset;
    res_row row = engine_copy_row(c, r, &old, &oset);
    engine_set(&row, oset, JE_reversed_by_id, sv_text(arena_strdup(c->a, out->id)));
    if (engine_save(c, r, &row, &old, oset)) return -1;
    return engine_event(c, r, "reversed", &row, NULL);
}

int entry_reverse(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[REVERSE__COUNT];
    bool given[REVERSE__COUNT];
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given))
        return -1;
    res_row out;
    if (ledger_reverse(c, c->ids[0], "reversal",
                       given[REVERSE_entry_date] ? v[REVERSE_entry_date].s : NULL,
                       given[REVERSE_memo] ? v[REVERSE_memo].s : NULL, &out))
        return -1;
    return engine_respond(c, RES(JE), &out, EK_CREATED);
}

/* ---------------------------------------------------------------- balances */

/* An account's debits and credits up to a day, from the rollup. */
typedef struct totals {
    int64_t debit, credit, lines;
} totals;

/* Adds a rollup group (k1 account, k2 side) to t; false when a sum would
 * leave 64 bits. */
static bool add_group(totals *t, const store_agg_row *g)
{
    int64_t *side = is(g->key[1].s, "debit") ? &t->debit : &t->credit;
    return !__builtin_add_overflow(*side, g->sum, side) &&
           !__builtin_add_overflow(t->lines, g->count, &t->lines);
}

static int64_t balance_of(const totals *t, const char *normal, bool *ok)
{
    int64_t b;
    *ok = is(normal, "debit") ? !__builtin_sub_overflow(t->debit, t->credit, &b)
                              : !__builtin_sub_overflow(t->credit, t->debit, &b);
    return b;
}

static int range_fail(engine_call *c, const char *what)
{
    return engine_fail(c, EK_INTERNAL, NULL, "%s would leave the 64-bit range", what);
}

static void write_totals(jw *w, const totals *t, int64_t balance)
{
    jw_kint(w, "debit_cents", t->debit);
    jw_kint(w, "credit_cents", t->credit);
    jw_kint(w, "balance_cents", balance);
    jw_kint(w, "line_count", t->lines);
}

int account_balance(engine_call *c)
{
    const res_action *a = c->action;
    store_val q[ASOF__COUNT];
    bool given[ASOF__COUNT];
    if (engine_parse_query_fields(c, a->query, a->nquery, q, given) || engine_params_check(c))
        return -1;
    res_row acct;
    if (engine_load(c, RES(ACCOUNT), c->ids[0], NULL, &acct)) return -1;
    store_agg_row *rows;
    int n;
    if (ledger_groups(c, acct.id, q[ASOF_as_of].s, &rows, &n)) return -1;
    totals t = {0};
    for (int i = 0; i < n; i++)
        if (!add_group(&t, &rows[i])) return range_fail(c, "the account's total");
    bool ok;
    int64_t bal = balance_of(&t, engine_text(&acct, ACCOUNT_normal_side), &ok);
    if (!ok) return range_fail(c, "the account's balance");
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "account_balance");
    jw_kstr(w, "account_id", acct.id);
    jw_kstr(w, "code", engine_text(&acct, ACCOUNT_code));
    jw_kstr(w, "currency", engine_text(&acct, ACCOUNT_currency));
    jw_kstr(w, "normal_side", engine_text(&acct, ACCOUNT_normal_side));
    jw_kstr(w, "as_of", q[ASOF_as_of].s);
    write_totals(w, &t, bal);
    jw_obj_close(w);
    return 0;
}

/* Every account of the workspace, a page at a time, in code order. */
static int load_accounts(engine_call *c, res_row **out, int *nout)
{
    const res_def *r = RES(ACCOUNT);
    store_query q = {
        .sort_by = &r->fields[ACCOUNT_code], .ascending = true, .limit = 100, .link_field = -1};
    return engine_rows(c, r, &q, INT_MAX, out, nout);
}

int trial_balance(engine_call *c)
{
    const res_action *a = c->action;
    store_val q[TBQ__COUNT];
    bool given[TBQ__COUNT];
    if (engine_parse_query_fields(c, a->query, a->nquery, q, given) || engine_params_check(c))
        return -1;
    res_row *accts;
    int na;
    if (load_accounts(c, &accts, &na)) return -1;
    store_agg_row *rows;
    int n;
    if (ledger_groups(c, NULL, q[TBQ_as_of].s, &rows, &n)) return -1;
    totals *t = arena_zalloc(c->a, sizeof *t * (size_t)(na + 1));
    /* Groups come in account id order; accounts in code order. */
    for (int i = 0, k = -1; i < n; i++) {
        if (k < 0 || strcmp(accts[k].id, rows[i].key[0].s) != 0) {
            k = -1;
            for (int j = 0; j < na && k < 0; j++)
                if (strcmp(accts[j].id, rows[i].key[0].s) == 0) k = j;
            if (k < 0) continue; /* an account deleted since: it had no postings */
        }
        if (!add_group(&t[k], &rows[i])) return range_fail(c, "an account's total");
    }
    /* Totals per currency, in the order currencies first appear. */
    const char *cur[64];
    totals sum[64];
    int ncur = 0;
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "trial_balance");
    jw_kstr(w, "as_of", q[TBQ_as_of].s);
    jw_key(w, "accounts");
    jw_arr_open(w);
    for (int k = 0; k < na; k++) {
        const char *ac = engine_text(&accts[k], ACCOUNT_currency);
        if (given[TBQ_currency] && !is(ac, q[TBQ_currency].s)) continue;
        bool ok;
        int64_t bal = balance_of(&t[k], engine_text(&accts[k], ACCOUNT_normal_side), &ok);
        if (!ok) return range_fail(c, "an account's balance");
        int ci = 0;
        while (ci < ncur && !is(cur[ci], ac))
            ci++;
        if (ci == ncur) {
            if (ncur == 64) return engine_fail(c, EK_INTERNAL, NULL, "over 64 currencies");
            cur[ncur] = ac;
            sum[ncur++] = (totals){0};
        }
        if (__builtin_add_overflow(sum[ci].debit, t[k].debit, &sum[ci].debit) ||
            __builtin_add_overflow(sum[ci].credit, t[k].credit, &sum[ci].credit) ||
            __builtin_add_overflow(sum[ci].lines, t[k].lines, &sum[ci].lines))
            return range_fail(c, "the trial balance's total");
        jw_obj_open(w);
        jw_kstr(w, "account_id", accts[k].id);
        jw_kstr(w, "code", engine_text(&accts[k], ACCOUNT_code));
        jw_kstr(w, "name", engine_text(&accts[k], ACCOUNT_name));
        jw_kstr(w, "type", engine_text(&accts[k], ACCOUNT_type));
        jw_kstr(w, "normal_side", engine_text(&accts[k], ACCOUNT_normal_side));
        jw_kstr(w, "currency", ac);
        write_totals(w, &t[k], bal);
        jw_obj_close(w);
    }
    jw_arr_close(w);
    jw_key(w, "totals");
    jw_arr_open(w);
    bool balanced = true;
    for (int i = 0; i < ncur; i++) {
        jw_obj_open(w);
        jw_kstr(w, "currency", cur[i]);
        jw_kint(w, "debit_cents", sum[i].debit);
        jw_kint(w, "credit_cents", sum[i].credit);
        jw_kbool(w, "balanced", sum[i].debit == sum[i].credit);
        jw_obj_close(w);
        balanced &= sum[i].debit == sum[i].credit;
    }
    jw_arr_close(w);
    jw_kbool(w, "balanced", balanced);
    jw_obj_close(w);
    return 0;
}
