/* support.c - what tickets, their messages and comments do beyond the
 * generic engine: a ticket's status follows a transition table (nothing
 * goes back to new, closed is final, a resolved ticket reopens to open),
 * and its resolved_at and closed_at follow the status; its SLA clocks
 * (below) follow every write and the writers' timer, counting only a
 * queue's business hours when it has them; the first outbound
 * message is the ticket's first response; messages and comments are
 * written by the calling key unless told otherwise; a knowledge article's
 * published_at is when it last became published. */
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "core/tz.h"
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

/* ---- business hours ----
 * A queue's weekly open windows in its time zone. With them, a target's
 * minutes are counted in open time only: a ticket made on Friday evening
 * with a one-hour first-response target is due an hour after Monday's
 * opening. Without them the clocks run around the clock. */

#define DAY_S INT64_C(86400)

static const char *const weekdays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

typedef struct window {
    int day, start, end; /* Monday 0; minutes after local midnight */
} window;

typedef struct hours {
    const tz_zone *z; /* NULL: UTC */
    int n;            /* 0: always open */
    window w[28];     /* by day, then start */
} hours;

/* Minutes after midnight of "HH:MM" (24:00 included), or -1. */
static int hhmm(const char *s)
{
    if (!s || strlen(s) != 5 || s[2] != ':') return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9')) return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m)) return -1;
    return h * 60 + m;
}

static int by_start(const void *a, const void *b)
{
    const window *x = a, *y = b;
    return x->day != y->day ? x->day - y->day : x->start - y->start;
}

/* A queue's hours from its row, checked: 0, or -1 with a 400 naming the
 * field at fault. */
static int load_hours(engine_call *c, const res_row *q, hours *h)
{
    memset(h, 0, sizeof *h);
    const char *tz = engine_text(q, QUEUE_time_zone);
    if (tz && !(h->z = tz_find(tz)))
        return engine_fail(c, EK_INVALID, "time_zone",
                           "time_zone '%s' is not an IANA time zone this server knows", tz);
    json_t *items = engine_items(q, QUEUE_business_hours);
    size_t i;
    json_t *it;
    int rc = 0;
    json_array_foreach(items, i, it)
    {
        window *w = &h->w[h->n++];
        const char *day = json_string_value(json_object_get(it, "day"));
        for (w->day = 0; w->day < 6 && !is(weekdays[w->day], day); w->day++)
            ;
        w->start = hhmm(json_string_value(json_object_get(it, "start")));
        w->end = hhmm(json_string_value(json_object_get(it, "end")));
        if (w->start < 0 || w->start == 24 * 60 || w->end < 0 || w->end <= w->start) {
            const char *p = arena_printf(c->a, "business_hours[%zu].%s", i,
                                         w->start < 0 || w->start == 24 * 60 ? "start" : "end");
            rc = engine_fail(c, EK_INVALID, p, "%s must be HH:MM%s", p,
                             w->start < 0 || w->start == 24 * 60 ? "" : ", after start");
            break;
        }
    }
    json_decref(items);
    if (rc) return -1;
    qsort(h->w, (size_t)h->n, sizeof h->w[0], by_start);
    for (int k = 1; k < h->n; k++)
        if (h->w[k].day == h->w[k - 1].day && h->w[k].start < h->w[k - 1].end)
            return engine_fail(c, EK_INVALID, "business_hours",
                               "business_hours: two windows of %s overlap", weekdays[h->w[k].day]);
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

/* The UTC instant (ms) of a local day's minute. */
static int64_t at_local(const hours *h, int64_t day, int minute)
{
    int64_t local = day * DAY_S + minute * 60;
    return (h->z ? tz_to_utc(h->z, local) : local) * 1000;
}

/* Calls fn for each open window (its UTC bounds in ms) from the one open
 * at `from` on, until fn returns true or about two years have passed. */
static void each_window(const hours *h, int64_t from, bool (*fn)(int64_t s, int64_t e, void *ud),
                        void *ud)
{
    int64_t s0 = floor_div(from, 1000);
    int64_t day0 = floor_div(s0 + (h->z ? tz_offset(h->z, s0) : 0), DAY_S) - 1;
    for (int64_t d = day0; d < day0 + 800; d++) {
        int wd = (int)((d % 7 + 10) % 7); /* 1970-01-01 was a Thursday */
        for (int k = 0; k < h->n; k++)
            if (h->w[k].day == wd &&
                fn(at_local(h, d, h->w[k].start), at_local(h, d, h->w[k].end), ud))
                return;
    }
}

typedef struct span {
    int64_t t, left, out; /* hours_add: from, still to place, the end */
    int64_t b;            /* hours_between: until */
} span;

static bool add_step(int64_t s, int64_t e, void *ud)
{
    span *p = ud;
    if (s < p->t) s = p->t;
    if (s >= e) return false;
    if (p->left <= e - s) {
        p->out = s + p->left;
        return true;
    }
    p->left -= e - s;
    return false;
}

/* The instant `ms` of open time after t. */
static int64_t hours_add(const hours *h, int64_t t, int64_t ms)
{
    if (!h->n || ms <= 0) return t + (ms > 0 ? ms : 0);
    span p = {.t = t, .left = ms, .out = 0};
    each_window(h, t, add_step, &p);
    return p.out ? p.out : t + ms;
}

static bool between_step(int64_t s, int64_t e, void *ud)
{
    span *p = ud;
    if (s >= p->b) return true;
    if (s < p->t) s = p->t;
    if (e > p->b) e = p->b;
    if (e > s) p->out += e - s;
    return false;
}

/* Open time in [a, b). */
static int64_t hours_between(const hours *h, int64_t a, int64_t b)
{
    if (b <= a) return 0;
    if (!h->n) return b - a;
    span p = {.t = a, .b = b};
    each_window(h, a, between_step, &p);
    return p.out;
}

static int queue_before(res_write *w)
{
    if (!w->is_create && !w->set[QUEUE_time_zone] && !w->set[QUEUE_business_hours]) return 0;
    hours h;
    return load_hours(w->c, w->row, &h);
}

const res_hooks queue_hooks = {.before_write = queue_before};

/* The ticket's queue's targets (0: none) and hours. */
static int sla_targets(res_write *w, int64_t *first, int64_t *resolution, hours *h)
{
    *first = *resolution = 0;
    memset(h, 0, sizeof *h);
    const char *qid = engine_text(w->row, TICKET_queue_id);
    if (!qid) return 0;
    res_row q;
    if (engine_load(w->c, RES(QUEUE), qid, "queue_id", &q)) return -1;
    *first = engine_int(&q, QUEUE_first_response_target_minutes, 0) * MINUTE_MS;
    *resolution = engine_int(&q, QUEUE_resolution_target_minutes, 0) * MINUTE_MS;
    return load_hours(w->c, &q, h);
}

static int sla_update(res_write *w)
{
    res_row *row = w->row;
    int64_t now = w->is_create ? row->created_ms : (int64_t)time_now_ms();
    int64_t created = row->created_ms;
    if (w->is_create || w->set[TICKET_queue_id]) {
        int64_t f, r;
        hours h;
        if (sla_targets(w, &f, &r, &h)) return -1;
        set_if_changed(w, TICKET_first_response_due_at,
                       ms_or_null(f ? hours_add(&h, created, f) : 0));
        set_if_changed(w, TICKET_resolution_due_at, ms_or_null(r ? hours_add(&h, created, r) : 0));
    }
    const char *status = engine_text(row, TICKET_status);
    int64_t resolved = engine_int(row, TICKET_resolved_at, 0);
    int64_t paused = engine_int(row, TICKET_sla_paused_at, 0);
    bool waiting = is(status, "waiting_on_customer") && !resolved;
    if (waiting && !paused) {
        paused = now;
        set_if_changed(w, TICKET_sla_paused_at, sv_int(paused));
    } else if (!waiting && paused) {
        /* The clock goes on with the open time it had left at the pause. */
        int64_t due = engine_int(row, TICKET_resolution_due_at, 0);
        int64_t f, r;
        hours h;
        if (due && sla_targets(w, &f, &r, &h)) return -1;
        if (due)
            set_if_changed(w, TICKET_resolution_due_at,
                           sv_int(hours_add(&h, now, hours_between(&h, paused, due))));
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
    return engine_update_due(c, t, &f, 1, TICKET_sla_next_change_at);
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
