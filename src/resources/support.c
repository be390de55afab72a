/* support.c - what tickets, their messages and comments do beyond the
 * generic engine: a ticket's status follows a transition table (nothing
 * goes back to new, closed is final, a resolved ticket reopens to open),
 * and its resolved_at and closed_at follow the status; its SLA clocks
 * (below) follow every write and the writers' timer; the first outbound
 * message is the ticket's first response; messages and comments are
 * written by the calling key unless told otherwise; a knowledge article's
 * published_at is when it last became published. */
#include <string.h>

#include "core/timeutil.h"
#include "resources/engine.h"
#include "resources/hooks.h"

static bool is(const char *s, const char *v)
{
    return s && strcmp(s, v) == 0;
}

/* The transition table: whether a ticket may go from `was` to `now`. */
static bool may_become(const char *was, const char *now)
{
    if (is(was, now)) return true;
    if (is(now, "new") || is(was, "closed")) return false;
    if (is(was, "resolved")) return is(now, "open") || is(now, "closed");
    return true;
}

static int check_transition(res_write *w)
{
    if (!w->is_create && !w->set[TICKET_status]) return 0;
    const char *now = engine_text(w->row, TICKET_status);
    const char *was = w->old ? engine_text(w->old, TICKET_status) : NULL;
    if (was && !may_become(was, now))
        return engine_fail(w->c, EK_CONFLICT, "status", "a ticket cannot go from %s to %s%s", was,
                           now,
                           is(was, "closed")     ? ": closed is final"
                           : is(was, "resolved") ? ": a resolved ticket reopens to open"
                                                 : ": no ticket goes back to new");
    if (is(was, now)) return 0;
    store_val at = sv_int(w->is_create ? w->row->created_ms : (int64_t)time_now_ms());
    if (is(now, "resolved"))
        engine_set(w->row, w->set, TICKET_resolved_at, at);
    else if (!is(now, "closed") && w->row->vals[TICKET_resolved_at].kind != SV_NULL)
        engine_set(w->row, w->set, TICKET_resolved_at, (store_val){.kind = SV_NULL});
    if (is(now, "closed")) engine_set(w->row, w->set, TICKET_closed_at, at);
    return 0;
}

/* ---- SLA clocks ----
 * Two clocks run from created_at: the first response (stopped by the
 * first outbound message) and the resolution (stopped by resolved_at,
 * paused while waiting_on_customer, its due time moved on by each pause).
 * Their due times come from the queue's targets when the ticket is made or
 * changes queue (from created_at again; earlier pauses are not carried
 * over). A clock that ran past its due time breaches the ticket for good;
 * one in the last quarter of its time puts it at risk. sla_next_change_at
 * says when the status changes next if nothing happens, and the writers'
 * timer (engine_timers) re-evaluates tickets whose time has come. */

#define MINUTE_MS INT64_C(60000)

static store_val ms_or_null(int64_t v)
{
    return v ? sv_int(v) : (store_val){.kind = SV_NULL};
}

static void set_if_changed(res_write *w, int field, store_val v)
{
    const store_val *o = &w->row->vals[field];
    bool same = o->kind == v.kind && (o->kind != SV_INT || o->i == v.i) &&
                (o->kind != SV_TEXT || strcmp(o->s, v.s) == 0);
    if (!same) engine_set(w->row, w->set, field, v);
}

/* One clock: due 0 = no target; stop 0 = running; paused: since when. */
typedef struct sla_clock {
    int64_t due, stop, paused;
} sla_clock;

static int sla_targets(res_write *w, int64_t *first, int64_t *resolution)
{
    *first = *resolution = 0;
    const char *qid = engine_text(w->row, TICKET_queue_id);
    if (!qid) return 0;
    res_row q;
    if (engine_load(w->c, RES(QUEUE), qid, "queue_id", &q)) return -1;
    *first = engine_int(&q, QUEUE_first_response_target_minutes, 0) * MINUTE_MS;
    *resolution = engine_int(&q, QUEUE_resolution_target_minutes, 0) * MINUTE_MS;
    return 0;
}

static int sla_update(res_write *w)
{
    res_row *row = w->row;
    int64_t now = w->is_create ? row->created_ms : (int64_t)time_now_ms();
    int64_t created = row->created_ms;
    if (w->is_create || w->set[TICKET_queue_id]) {
        int64_t f, r;
        if (sla_targets(w, &f, &r)) return -1;
        set_if_changed(w, TICKET_first_response_due_at, ms_or_null(f ? created + f : 0));
        set_if_changed(w, TICKET_resolution_due_at, ms_or_null(r ? created + r : 0));
    }
    const char *status = engine_text(row, TICKET_status);
    int64_t resolved = engine_int(row, TICKET_resolved_at, 0);
    int64_t paused = engine_int(row, TICKET_sla_paused_at, 0);
    bool waiting = is(status, "waiting_on_customer") && !resolved;
    if (waiting && !paused) {
        paused = now;
        set_if_changed(w, TICKET_sla_paused_at, sv_int(paused));
    } else if (!waiting && paused) {
        int64_t due = engine_int(row, TICKET_resolution_due_at, 0);
        if (due) set_if_changed(w, TICKET_resolution_due_at, sv_int(due + (now - paused)));
        paused = 0;
        set_if_changed(w, TICKET_sla_paused_at, (store_val){.kind = SV_NULL});
    }
    sla_clock clocks[2] = {
        {.due = engine_int(row, TICKET_first_response_due_at, 0),
         .stop = engine_int(row, TICKET_first_response_at, 0)},
        {.due = engine_int(row, TICKET_resolution_due_at, 0),
         .stop = resolved ? resolved : engine_int(row, TICKET_closed_at, 0),
         .paused = paused},
    };
    bool any = false, breached = false, running = false, at_risk = false;
    int64_t next = 0;
    for (int i = 0; i < 2; i++) {
        sla_clock *k = &clocks[i];
        if (!k->due) continue;
        any = true;
        if (k->stop) {
            breached |= k->stop > k->due;
            continue;
        }
        running = true;
        int64_t at = k->paused ? k->paused : now;
        if (at >= k->due) {
            breached = true;
            continue;
        }
        /* The last quarter of the time it had from creation. */
        int64_t risk = k->due - (k->due - created) / 4;
        if (at >= risk) at_risk = true;
        if (k->paused) continue;
        int64_t change = at < risk ? risk : k->due;
        if (!next || change < next) next = change;
    }
    const char *sla = !any       ? NULL
                      : breached ? "breached"
                      : !running ? "met"
                      : at_risk  ? "at_risk"
                                 : "on_track";
    set_if_changed(w, TICKET_sla_status, sv_text(sla));
    set_if_changed(w, TICKET_sla_next_change_at, ms_or_null(breached ? 0 : next));
    return 0;
}

static int ticket_before(res_write *w)
{
    return check_transition(w) || sla_update(w) ? -1 : 0;
}

/* A breach is an event when it is found, by a write or by the timer. */
static int ticket_after(res_write *w)
{
    const char *was = w->old ? engine_text(w->old, TICKET_sla_status) : NULL;
    if (!is(engine_text(w->row, TICKET_sla_status), "breached") || is(was, "breached")) return 0;
    return engine_event(w->c, w->r, "sla_breached", w->row, w->old);
}

/* Tickets whose SLA status is due to change, a page at a time. */
int support_timers(engine_call *c, int64_t now)
{
    const res_def *t = RES(TICKET);
    store_filter f = {.field = TICKET_sla_next_change_at, .op = SF_LT, .v = sv_int(now + 1)};
    store_query q = {.filters = &f, .nfilters = 1, .limit = 100, .link_field = -1};
    res_row *rows;
    int n;
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, t, c->ws, &q, &rows, &n, &more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    for (int i = 0; i < n; i++) {
        bool *set;
        res_row row = engine_copy_row(c, t, &rows[i], &set);
        if (engine_update_row(c, t, &rows[i], &row, set, NULL)) return -1;
    }
    return 0;
}

const res_hooks ticket_hooks = {.before_write = ticket_before, .after_write = ticket_after};

static void default_author(res_write *w, int field)
{
    if (w->is_create && w->row->vals[field].kind == SV_NULL)
        engine_set(w->row, w->set, field, sv_text(w->c->actor));
}

static int message_before(res_write *w)
{
    default_author(w, TMSG_author);
    return 0;
}

/* The ticket's first outbound message is its first response, kept on the
 * ticket (the SLA's first clock stops there). */
static int message_after(res_write *w)
{
    if (!w->is_create || !is(engine_text(w->row, TMSG_direction), "outbound")) return 0;
    const res_def *t = RES(TICKET);
    res_row old;
    if (engine_load(w->c, t, engine_text(w->row, TMSG_ticket_id), NULL, &old)) return -1;
    if (old.vals[TICKET_first_response_at].kind != SV_NULL) return 0;
    bool *set;
    res_row row = engine_copy_row(w->c, t, &old, &set);
    engine_set(&row, set, TICKET_first_response_at, sv_int(w->row->created_ms));
    return engine_update_row(w->c, t, &old, &row, set, NULL); /* its clocks follow */
}

const res_hooks ticket_message_hooks = {.before_write = message_before,
                                        .after_write = message_after};

static int comment_before(res_write *w)
{
    default_author(w, TCOMMENT_author);
    return 0;
}

const res_hooks ticket_comment_hooks = {.before_write = comment_before};

static int article_before(res_write *w)
{
    if (!w->is_create && !w->set[ARTICLE_status]) return 0;
    const char *was = w->old ? engine_text(w->old, ARTICLE_status) : NULL;
    if (is(engine_text(w->row, ARTICLE_status), "published") && !is(was, "published"))
        engine_set(w->row, w->set, ARTICLE_published_at,
                   sv_int(w->is_create ? w->row->created_ms : (int64_t)time_now_ms()));
    return 0;
}

const res_hooks article_hooks = {.before_write = article_before};
