/* dashboard.c - GET /v1/dashboard: the sales and support picture in one
 * call, computed by grouped aggregates over covering indexes, never by
 * loading rows; each section only for keys that may read its resources. */
#include <string.h>
#include <time.h>

#include "core/timeutil.h"
#include "resources/engine.h"
#include "resources/hooks.h"

/* {"won": n, "lost": n} of deals closed since `since_ms`. */
static int closed_since(engine_call *c, jw *w, const char *key, int64_t since_ms, bool rate)
{
    const res_def *d = RES(DEAL);
    store_filter f = {.field = DEAL_closed_at, .v = {.kind = SV_INT, .i = since_ms}, .op = SF_GE};
    store_agg_row *rows;
    int n;
    if (engine_aggregate(c, d, &f, 1, DEAL_status, -1, -1, &rows, &n)) return -1;
    int64_t won = 0, lost = 0;
    for (int i = 0; i < n; i++) {
        if (rows[i].key[0].kind != SV_TEXT) continue;
        if (strcmp(rows[i].key[0].s, "won") == 0) won = rows[i].count;
        if (strcmp(rows[i].key[0].s, "lost") == 0) lost = rows[i].count;
    }
    jw_key(w, key);
    jw_obj_open(w);
    jw_kint(w, "won", won);
    jw_kint(w, "lost", lost);
    if (rate) {
        jw_key(w, "rate");
        if (won + lost)
            jw_double(w, (double)won / (double)(won + lost));
        else
            jw_null(w);
    }
    jw_obj_close(w);
    return 0;
}

static int counts_by(engine_call *c, jw *w, const res_def *r, int field)
{
    store_agg_row *rows;
    int n;
    if (engine_aggregate(c, r, NULL, 0, field, -1, -1, &rows, &n)) return -1;
    char key[64];
    snprintf(key, sizeof key, "by_%s", r->fields[field].name);
    jw_key(w, key);
    jw_obj_open(w);
    for (int i = 0; i < n; i++)
        if (rows[i].key[0].kind == SV_TEXT) jw_kint(w, rows[i].key[0].s, rows[i].count);
    jw_obj_close(w);
    return 0;
}

static int64_t month_start_ms(int64_t now_ms)
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    return (int64_t)timegm(&tm) * 1000;
}

/* Per currency: what sent invoices bill, what their payments brought
 * (less refunds) and the difference, from the invoices' rollup (status,
 * currency) and the payments' (currency). */
static int revenue(engine_call *c, jw *w)
{
    store_agg_row *inv, *pay;
    int ni, np;
    store_err e;
    int rc = store_rollup_list(c->conn, c->a, RES(INVOICE), c->ws, NULL, NULL, &inv, &ni, &e);
    if (rc == STORE_OK)
        rc = store_rollup_list(c->conn, c->a, RES(PAYMENT), c->ws, NULL, NULL, &pay, &np, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    jw_key(w, "revenue");
    jw_arr_open(w);
    /* Groups of rows written below the engine may lack a key: skipped. */
    for (int i = 0; i < ni; i++) {
        const char *cur = inv[i].key[1].s;
        bool first = inv[i].key[0].kind == SV_TEXT && inv[i].key[1].kind == SV_TEXT;
        for (int k = 0; k < i && first; k++)
            first = inv[k].key[1].kind != SV_TEXT || strcmp(inv[k].key[1].s, cur) != 0;
        if (!first) continue;
        int64_t billed = 0, paid = 0, due;
        bool fits = true;
        for (int k = i; k < ni; k++) {
            const char *st = inv[k].key[0].s;
            if (inv[k].key[0].kind != SV_TEXT || inv[k].key[1].kind != SV_TEXT ||
                strcmp(inv[k].key[1].s, cur) != 0 || !strcmp(st, "draft") || !strcmp(st, "void"))
                continue;
            fits &= !__builtin_add_overflow(billed, inv[k].sum, &billed);
        }
        for (int k = 0; k < np; k++)
            if (pay[k].key[0].kind == SV_TEXT && strcmp(pay[k].key[0].s, cur) == 0)
                fits &= !__builtin_add_overflow(paid, pay[k].sum, &paid);
        fits &= !__builtin_sub_overflow(billed, paid, &due);
        if (!fits)
            return engine_fail(c, EK_INTERNAL, NULL, "the %s revenue would leave 64 bits", cur);
        if (!billed && !paid) continue;
        jw_obj_open(w);
        jw_kstr(w, "currency", cur);
        jw_kint(w, "invoiced_cents", billed);
        jw_kint(w, "paid_cents", paid);
        jw_kint(w, "outstanding_cents", due);
        jw_obj_close(w);
    }
    jw_arr_close(w);
    return 0;
}

int dashboard_get(engine_call *c)
{
    const res_def *d = RES(DEAL), *s = RES(STAGE), *t = RES(TASK), *l = RES(LEAD);
    if (engine_params_check(c)) return -1;
    int64_t now = (int64_t)time_now_ms();
    store_agg_row *rows;
    int n;
    store_err e;
    /* The deals' rollup is kept per (status, stage, currency). */
    const char *open[3] = {"open", NULL, NULL};
    int rc = store_rollup_list(c->conn, c->a, d, c->ws, open, NULL, &rows, &n, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    jw *w = engine_answer(c);
    char ts[TIME_STR];
    time_format_ms((uint64_t)now, ts);
    jw_obj_open(w);
    jw_kstr(w, "object", "dashboard");
    jw_kstr(w, "generated_at", ts);
    jw_key(w, "open_pipeline");
    jw_arr_open(w);
    res_row stage;
    bool known = false;
    for (int i = 0; i < n; i++) {
        const store_val *sid = &rows[i].key[1];
        if (sid->kind == SV_TEXT && (!known || strcmp(stage.id, sid->s) != 0))
            known = store_rec_get(c->conn, c->a, s, c->ws, sid->s, &stage, &e) == 0;
        jw_obj_open(w);
        jw_kstr(w, "pipeline_id", known ? engine_text(&stage, STAGE_pipeline_id) : NULL);
        jw_kstr(w, "stage_id", sid->kind == SV_TEXT ? sid->s : NULL);
        jw_kstr(w, "stage_name", known ? engine_text(&stage, STAGE_name) : NULL);
        jw_kstr(w, "currency", rows[i].key[2].kind == SV_TEXT ? rows[i].key[2].s : NULL);
        jw_kint(w, "deal_count", rows[i].count);
        jw_kint(w, "amount_cents", rows[i].sum);
        jw_obj_close(w);
    }
    jw_arr_close(w);
    if (closed_since(c, w, "win_rate_90d", now - 90ll * 86400 * 1000, true) ||
        closed_since(c, w, "this_month", month_start_ms(now), false))
        return -1;

    /* Tasks are another module with their own scope: a key that may not
     * read them, or a workspace without them, gets no tasks section. */
    if (engine_has_scope(c, t->scope_read) && !(c->disabled & (1u << t->module))) {
        store_filter tf[2] = {{.field = TASK_status, .v = sv_text("open")},
                              {.field = TASK_due_at, .v = sv_int(now), .op = SF_LT}};
        int64_t open_tasks = 0, overdue = 0;
        if (engine_aggregate(c, t, tf, 1, -1, -1, -1, &rows, &n)) return -1;
        if (n) open_tasks = rows[0].count;
        if (engine_aggregate(c, t, tf, 2, -1, -1, -1, &rows, &n)) return -1;
        if (n) overdue = rows[0].count;
        jw_key(w, "tasks");
        jw_obj_open(w);
        jw_kint(w, "open", open_tasks);
        jw_kint(w, "overdue", overdue);
        jw_obj_close(w);
    }

    /* Tickets likewise: support's scope and module. */
    const res_def *k = RES(TICKET);
    if (engine_has_scope(c, k->scope_read) && !(c->disabled & (1u << k->module))) {
        if (engine_aggregate(c, k, NULL, 0, TICKET_status, -1, -1, &rows, &n)) return -1;
        int64_t unresolved = 0;
        for (int i = 0; i < n; i++)
            if (rows[i].key[0].kind == SV_TEXT && strcmp(rows[i].key[0].s, "resolved") != 0 &&
                strcmp(rows[i].key[0].s, "closed") != 0)
                unresolved += rows[i].count;
        store_filter bf = {.field = TICKET_sla_status, .v = sv_text("breached")};
        if (engine_aggregate(c, k, &bf, 1, TICKET_status, -1, -1, &rows, &n)) return -1;
        int64_t breached = 0;
        for (int i = 0; i < n; i++)
            if (rows[i].key[0].kind == SV_TEXT && strcmp(rows[i].key[0].s, "resolved") != 0 &&
                strcmp(rows[i].key[0].s, "closed") != 0)
                breached += rows[i].count;
        jw_key(w, "tickets");
        jw_obj_open(w);
        jw_kint(w, "open", unresolved);
        jw_kint(w, "breached", breached);
        if (counts_by(c, w, k, TICKET_status)) return -1;
        jw_obj_close(w);
    }
    if (engine_has_scope(c, RES(INVOICE)->scope_read) &&
        !(c->disabled & (1u << RES(INVOICE)->module)) && revenue(c, w))
        return -1;

    jw_key(w, "leads");
    jw_obj_open(w);
    if (counts_by(c, w, l, LEAD_status) || counts_by(c, w, l, LEAD_source)) return -1;
    jw_obj_close(w);
    jw_obj_close(w);
    return 0;
}
