/* billing.c - what invoices and payments do beyond the generic engine: an
 * invoice's amounts come from its line items in integer cents (each line's
 * tax rounded half away from zero), its number from the workspace's
 * sequence when absent, its status from sending, payments, refunds and
 * voiding, and `overdue` from its due date (the writers' timer turns it on
 * when the day passes). Sending posts receivable against revenue and tax,
 * a payment cash against receivable, a refund and a void their reversals,
 * in the write's own transaction (accounting.c keeps the ledger), so a
 * sent invoice's amount_due_cents is what its receivable holds. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"
#include "resources/engine.h"
#include "resources/hooks.h"

#define DAY_MS INT64_C(86400000)

static bool is(const char *s, const char *v)
{
    return s && strcmp(s, v) == 0;
}

static const store_val null_val = {.kind = SV_NULL};

/* ------------------------------------------------------------- amounts */

/* v * bps / 10000 rounded half away from zero; false past 64 bits. */
static bool tax_of(int64_t v, int64_t bps, int64_t *out)
{
    __int128 num = (__int128)v * bps, q = num / 10000, r = num % 10000;
    if (r >= 5000) q++;
    if (r <= -5000) q--;
    if (q > INT64_MAX || q < INT64_MIN) return false;
    *out = (int64_t)q;
    return true;
}

static bool in_bound(int64_t v)
{
    return v >= -RES_MONEY_MAX && v <= RES_MONEY_MAX;
}

/* Each line's amount and tax, and the invoice's subtotal, tax and total:
 * every one within the money bound, or a 400 naming what left it. */
static int compute_lines(res_write *w)
{
    engine_call *c = w->c;
    store_val *lines;
    size_t n;
    if (engine_list_vals(c, w->r, w->row, INVOICE_line_items, &lines, &n)) return -1;
    int64_t sub = 0, tax = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        store_val *l = &lines[i * INVLINE__COUNT];
        int64_t qty = l[INVLINE_quantity].kind == SV_INT ? l[INVLINE_quantity].i : 0;
        int64_t unit =
            l[INVLINE_unit_amount_cents].kind == SV_INT ? l[INVLINE_unit_amount_cents].i : 0;
        int64_t bps = l[INVLINE_tax_rate_bps].kind == SV_INT ? l[INVLINE_tax_rate_bps].i : 0;
        int64_t amount, t;
        if (__builtin_mul_overflow(qty, unit, &amount) || !in_bound(amount)) {
            const char *p = arena_printf(c->a, "line_items[%zu].quantity", i);
            rc = engine_fail(c, EK_INVALID, p,
                             "%s x unit_amount_cents is out of range (|amount| <= %" PRId64 ")", p,
                             RES_MONEY_MAX);
            break;
        }
        if (!tax_of(amount, bps, &t) || __builtin_add_overflow(sub, amount, &sub) ||
            __builtin_add_overflow(tax, t, &tax) || !in_bound(sub) || !in_bound(tax)) {
            rc = engine_fail(c, EK_INVALID, "line_items",
                             "the line items' sum is out of range (|amount| <= %" PRId64 ")",
                             RES_MONEY_MAX);
            break;
        }
        l[INVLINE_amount_cents] = sv_int(amount);
        l[INVLINE_tax_cents] = sv_int(t);
    }
    int64_t total = 0;
    if (rc == 0 && (sub < 0 || tax < 0))
        rc = engine_fail(c, EK_INVALID, "line_items",
                         "the line items' %s is negative: discounts cannot exceed the charges",
                         sub < 0 ? "subtotal" : "tax");
    if (rc == 0 && (__builtin_add_overflow(sub, tax, &total) || !in_bound(total)))
        rc = engine_fail(c, EK_INVALID, "line_items",
                         "the invoice's total is out of range (<= %" PRId64 ")", RES_MONEY_MAX);
    if (rc == 0) {
        if (w->row->vals[INVOICE_line_items].kind != SV_NULL)
            engine_set_list_vals(c, w->r, w->row, w->set, INVOICE_line_items, lines, n);
        engine_set(w->row, w->set, INVOICE_subtotal_cents, sv_int(sub));
        engine_set(w->row, w->set, INVOICE_tax_cents, sv_int(tax));
        engine_set(w->row, w->set, INVOICE_total_cents, sv_int(total));
    }
    return rc;
}

/* amount_due_cents from the total and what was paid (0 once void). */
static void settle(res_write *w)
{
    res_row *row = w->row;
    int64_t total = engine_int(row, INVOICE_total_cents, 0);
    int64_t paid = engine_int(row, INVOICE_amount_paid_cents, 0);
    bool void_ = is(engine_text(row, INVOICE_status), "void");
    engine_set(row, w->set, INVOICE_amount_due_cents, sv_int(void_ ? 0 : total - paid));
}

/* overdue_at: the start of the day after due_date while the invoice is
 * sent and not fully paid; overdue once that time has come. */
static void follow_due(res_write *w)
{
    res_row *row = w->row;
    const char *status = engine_text(row, INVOICE_status),
               *due = engine_text(row, INVOICE_due_date);
    int64_t at = 0;
    if (due && (is(status, "sent") || is(status, "partially_paid"))) {
        char t[32];
        snprintf(t, sizeof t, "%sT00:00:00Z", due);
        if (time_parse(t, &at)) at += DAY_MS;
    }
    bool overdue = at && (int64_t)time_now_ms() >= at;
    engine_set(row, w->set, INVOICE_overdue_at, at ? sv_int(at) : null_val);
    engine_set(row, w->set, INVOICE_overdue, sv_int(overdue));
}

/* The next sequence number of the workspace's invoices. */
static int next_sequence(engine_call *c, int64_t *out)
{
    const res_def *r = RES(INVOICE);
    store_query q = {.sort_by = &r->fields[INVOICE_sequence], .limit = 1, .link_field = -1};
    res_row *rows;
    int n;
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, r, c->ws, &q, &rows, &n, &more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    *out = n ? engine_int(&rows[0], INVOICE_sequence, 0) + 1 : 1;
    return 0;
}

static int invoice_before(res_write *w)
{
    engine_call *c = w->c;
    res_row *row = w->row;
    const char *was = w->old ? engine_text(w->old, INVOICE_status) : NULL;
    static const int frozen[] = {INVOICE_line_items, INVOICE_currency};
    for (size_t k = 0; was && !is(was, "draft") && k < sizeof frozen / sizeof frozen[0]; k++)
        if (w->set[frozen[k]])
            return engine_fail(c, EK_CONFLICT, w->r->fields[frozen[k]].name,
                               "invoice %s is %s: its %s change only while draft", row->id, was,
                               w->r->fields[frozen[k]].name);
    if (w->is_create) {
        int64_t seq = 0;
        if (next_sequence(c, &seq)) return -1;
        if (!engine_text(row, INVOICE_invoice_number)) {
            /* The sequence's number, or the next one nobody took by hand. */
            for (;; seq++) {
                char *num = arena_printf(c->a, "INV-%04" PRId64, seq);
                res_row taken;
                int found = engine_find_by(c, w->r, INVOICE_invoice_number, num, &taken);
                if (found < 0) return -1;
                if (!found) {
                    engine_set(row, w->set, INVOICE_invoice_number, sv_text(num));
                    break;
                }
            }
        }
        engine_set(row, w->set, INVOICE_sequence, sv_int(seq));
        if (!engine_text(row, INVOICE_currency))
            engine_set(row, w->set, INVOICE_currency, sv_text(engine_currency(c)));
        engine_set(row, w->set, INVOICE_amount_paid_cents, sv_int(0));
    }
    if (w->is_create || w->set[INVOICE_line_items])
        if (compute_lines(w)) return -1;
    settle(w);
    follow_due(w);
    return 0;
}

/* Turning overdue is an event, by a write or by the timer. */
static int invoice_after(res_write *w)
{
    bool was = w->old && engine_int(w->old, INVOICE_overdue, 0);
    if (!engine_int(w->row, INVOICE_overdue, 0) || was) return 0;
    return engine_event(w->c, w->r, "overdue", w->row, w->old);
}

static int invoice_before_delete(res_write *w)
{
    const char *status = engine_text(w->old, INVOICE_status);
    if (is(status, "draft")) return 0;
    return engine_fail(w->c, EK_CONFLICT, NULL,
                       "invoice %s is %s: only a draft can be deleted (void it instead)",
                       w->old->id, status);
}

const res_hooks invoice_hooks = {.before_write = invoice_before,
                                 .after_write = invoice_after,
                                 .before_delete = invoice_before_delete};

/* Invoices whose due day has passed, a page at a time. */
int billing_timers(engine_call *c, int64_t now)
{
    const res_def *r = RES(INVOICE);
    store_filter f[2] = {{.field = INVOICE_overdue, .v = sv_int(0)},
                         {.field = INVOICE_overdue_at, .op = SF_LT, .v = sv_int(now + 1)}};
    return engine_update_due(c, r, f, 2, INVOICE_overdue_at);
}

/* ------------------------------------------------------------- actions */

static int load_invoice(engine_call *c, res_row *old)
{
    if (engine_params_check(c)) return -1;
    if (c->body && json_object_size(c->body) > 0)
        return engine_fail(c, EK_INVALID, json_object_iter_key(json_object_iter(c->body)),
                           "this action takes no body fields");
    return engine_load(c, RES(INVOICE), c->ids[0], NULL, old);
}

int invoice_send(engine_call *c)
{
    const res_def *r = RES(INVOICE);
    res_row old;
    if (load_invoice(c, &old)) return -1;
    const char *status = engine_text(&old, INVOICE_status);
    if (!is(status, "draft"))
        return engine_fail(c, EK_CONFLICT, NULL, "invoice %s is %s already", old.id, status);
    if (engine_int(&old, INVOICE_total_cents, 0) <= 0)
        return engine_fail(c, EK_UNPROCESSABLE, "line_items",
                           "invoice %s totals 0: add line items before sending it", old.id);
    bool *set;
    res_row row = engine_copy_row(c, r, &old, &set);
    int64_t now = (int64_t)time_now_ms();
    engine_set(&row, set, INVOICE_status, sv_text("sent"));
    engine_set(&row, set, INVOICE_sent_at, sv_int(now));
    if (row.vals[INVOICE_issued_at].kind == SV_NULL)
        engine_set(&row, set, INVOICE_issued_at, sv_int(now));
    int64_t sub = engine_int(&row, INVOICE_subtotal_cents, 0);
    int64_t tax = engine_int(&row, INVOICE_tax_cents, 0);
    ledger_line lines[] = {
        {"receivable", true, sub + tax},
        {"revenue", false, sub},
        {"tax", false, tax},
    };
    res_row je;
    if (ledger_post(c, "invoice", old.id, engine_text(&row, INVOICE_currency),
                    ledger_day(c, engine_int(&row, INVOICE_issued_at, now)),
                    arena_printf(c->a, "Invoice %s", engine_text(&row, INVOICE_invoice_number)),
                    lines, 3, &je))
        return -1;
    engine_set(&row, set, INVOICE_journal_entry_id, sv_text(arena_strdup(c->a, je.id)));
    if (engine_update_row(c, r, &old, &row, set, "sent")) return -1;
    return engine_respond(c, r, &row, EK_OK);
}

int invoice_void(engine_call *c)
{
    const res_def *r = RES(INVOICE);
    res_row old;
    if (load_invoice(c, &old)) return -1;
    const char *status = engine_text(&old, INVOICE_status);
    if (is(status, "void"))
        return engine_fail(c, EK_CONFLICT, NULL, "invoice %s is void already", old.id);
    int64_t paid = engine_int(&old, INVOICE_amount_paid_cents, 0);
    if (paid)
        return engine_fail(c, EK_CONFLICT, NULL,
                           "invoice %s has %" PRId64 " cents paid: refund its payments first",
                           old.id, paid);
    bool *set;
    res_row row = engine_copy_row(c, r, &old, &set);
    engine_set(&row, set, INVOICE_status, sv_text("void"));
    engine_set(&row, set, INVOICE_voided_at, sv_int((int64_t)time_now_ms()));
    const char *je = engine_text(&old, INVOICE_journal_entry_id);
    res_row rev;
    if (je && ledger_reverse(c, je, "void", NULL,
                             arena_printf(c->a, "Void of invoice %s",
                                          engine_text(&old, INVOICE_invoice_number)),
                             &rev))
        return -1;
    if (engine_update_row(c, r, &old, &row, set, "voided")) return -1;
    return engine_respond(c, r, &row, EK_OK);
}

/* ------------------------------------------------------------ payments */

/* Moves `delta` cents into (or, negative, out of) the invoice's paid
 * amount; its status follows. */
static int apply_to_invoice(engine_call *c, const res_row *old, int64_t delta)
{
    const res_def *r = RES(INVOICE);
    bool *set;
    res_row row = engine_copy_row(c, r, old, &set);
    int64_t paid = engine_int(old, INVOICE_amount_paid_cents, 0) + delta;
    int64_t total = engine_int(old, INVOICE_total_cents, 0);
    engine_set(&row, set, INVOICE_amount_paid_cents, sv_int(paid));
    engine_set(&row, set, INVOICE_status,
               sv_text(paid >= total ? "paid"
                       : paid > 0    ? "partially_paid"
                                     : "sent"));
    engine_set(&row, set, INVOICE_paid_at,
               paid >= total ? sv_int((int64_t)time_now_ms()) : null_val);
    return engine_update_row(c, r, old, &row, set, delta > 0 ? "payment_applied" : "refunded");
}

static int payment_before(res_write *w)
{
    engine_call *c = w->c;
    res_row *row = w->row;
    if (!w->is_create) return 0;
    res_row inv;
    if (engine_load(c, RES(INVOICE), engine_text(row, PAYMENT_invoice_id), "invoice_id", &inv))
        return -1;
    const char *status = engine_text(&inv, INVOICE_status);
    if (is(status, "draft") || is(status, "void"))
        return engine_fail(c, EK_CONFLICT, "invoice_id", "invoice %s is %s: %s", inv.id, status,
                           is(status, "draft") ? "send it first" : "it takes no payments");
    const char *cur = engine_text(&inv, INVOICE_currency),
               *given = engine_text(row, PAYMENT_currency);
    if (given && !is(given, cur))
        return engine_fail(c, EK_INVALID, "currency", "currency %s is not the invoice's (%s)",
                           given, cur);
    int64_t amount = engine_int(row, PAYMENT_amount_cents, 0);
    int64_t due = engine_int(&inv, INVOICE_amount_due_cents, 0);
    if (amount > due)
        return engine_fail(c, EK_UNPROCESSABLE, "amount_cents",
                           "amount_cents %" PRId64
                           " is more than invoice %s's amount_due_cents %" PRId64,
                           amount, inv.id, due);
    engine_set(row, w->set, PAYMENT_currency, sv_text(cur));
    if (row->vals[PAYMENT_received_at].kind == SV_NULL)
        engine_set(row, w->set, PAYMENT_received_at, sv_int(row->created_ms));
    engine_set(row, w->set, PAYMENT_net_cents, sv_int(amount));
    ledger_line lines[] = {{"cash", true, amount}, {"receivable", false, amount}};
    res_row je;
    if (ledger_post(
            c, "payment", row->id, cur, ledger_day(c, engine_int(row, PAYMENT_received_at, 0)),
            arena_printf(c->a, "Payment of invoice %s", engine_text(&inv, INVOICE_invoice_number)),
            lines, 2, &je))
        return -1;
    engine_set(row, w->set, PAYMENT_journal_entry_id, sv_text(arena_strdup(c->a, je.id)));
    return apply_to_invoice(c, &inv, amount);
}

static int payment_before_delete(res_write *w)
{
    return engine_fail(w->c, EK_CONFLICT, NULL,
                       "payment %s cannot be deleted: refund it (POST /v1/payments/%s/refund)",
                       w->old->id, w->old->id);
}

const res_hooks payment_hooks = {.before_write = payment_before,
                                 .before_delete = payment_before_delete};

int payment_refund(engine_call *c)
{
    const res_def *r = RES(PAYMENT);
    const res_action *a = c->action;
    store_val v[REFUND__COUNT];
    bool given[REFUND__COUNT];
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given))
        return -1;
    res_row old;
    if (engine_load(c, r, c->ids[0], NULL, &old)) return -1;
    int64_t amount = engine_int(&old, PAYMENT_amount_cents, 0);
    int64_t refunded = engine_int(&old, PAYMENT_refunded_cents, 0), left = amount - refunded;
    if (left == 0)
        return engine_fail(c, EK_CONFLICT, NULL, "payment %s is refunded in full already", old.id);
    int64_t give = given[REFUND_amount_cents] ? v[REFUND_amount_cents].i : left;
    if (give > left)
        return engine_fail(c, EK_UNPROCESSABLE, "amount_cents",
                           "amount_cents %" PRId64 " is more than the %" PRId64
                           " cents left of payment %s",
                           give, left, old.id);
    res_row inv;
    if (engine_load(c, RES(INVOICE), engine_text(&old, PAYMENT_invoice_id), NULL, &inv)) return -1;
    const char *reason = given[REFUND_reason] ? v[REFUND_reason].s : NULL;
    ledger_line lines[] = {{"receivable", true, give}, {"cash", false, give}};
    res_row je;
    if (ledger_post(c, "refund", old.id, engine_text(&old, PAYMENT_currency),
                    ledger_day(c, (int64_t)time_now_ms()),
                    reason ? arena_printf(c->a, "Refund of %s: %s", old.id, reason)
                           : arena_printf(c->a, "Refund of %s", old.id),
                    lines, 2, &je))
        return -1;
    bool *set;
    res_row row = engine_copy_row(c, r, &old, &set);
    engine_set(&row, set, PAYMENT_refunded_cents, sv_int(refunded + give));
    engine_set(&row, set, PAYMENT_net_cents, sv_int(left - give));
    engine_set(&row, set, PAYMENT_status,
               sv_text(left - give == 0 ? "refunded" : "partially_refunded"));
    if (engine_update_row(c, r, &old, &row, set, "refunded")) return -1;
    if (apply_to_invoice(c, &inv, -give)) return -1;
    return engine_respond(c, r, &row, EK_OK);
}
