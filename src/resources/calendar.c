/* calendar.c - what calendar events do beyond the generic engine: their
 * rules (an end after the start, a known time zone, attendees that are
 * members, contacts or addresses, none twice), the attendance rows that
 * say whose time each event holds, a member's availability, and booking
 * the first slot where every member is free.
 *
 * Attendance rows (calendar-attendances) are the index availability and
 * booking read: one per member an event holds (its organizer and member
 * attendees), with the event's times and whether it is busy (not
 * cancelled), kept in step by the event's after_write and deleted with it
 * or with the member by the engine (their references are required).
 *
 * A booking reads the members' busy time and writes the event in one
 * write transaction: a workspace's writes commit one at a time through its
 * writer, and on PostgreSQL the members' key locks serialise bookings of
 * the same members across nodes, so two bookings never take one slot.
 * Plain creates and updates may overlap other events, as a calendar
 * allows; only POST /v1/calendar/schedule promises a free slot. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/timeutil.h"
#include "core/tz.h"
#include "resources/calendar.h"
#include "resources/engine.h"
#include "resources/hooks.h"

#define MINUTE_MS ((int64_t)60 * 1000)
#define DAY_MS    (1440 * MINUTE_MS)
/* The longest event, and the widest range availability and booking read. */
#define EVENT_MAX_MS (366 * DAY_MS)
#define RANGE_MAX_MS (90 * DAY_MS)
/* A member's events one availability or booking reads at most: a bound on
 * the work and the answer, far above a working calendar's 90 days. */
#define SPANS_MAX 10000
/* An event holds its organizer and up to 100 member attendees. */
#define HELD_MAX 101

/* ------------------------------------------------------------ intervals */

static int span_cmp(const void *a, const void *b)
{
    const cal_span *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->tag > y->tag) - (x->tag < y->tag);
}

int cal_merge(cal_span *s, int n, int64_t lo, int64_t hi, cal_span *out)
{
    qsort(s, (size_t)n, sizeof *s, span_cmp);
    int m = 0;
    for (int i = 0; i < n; i++) {
        int64_t a = s[i].start > lo ? s[i].start : lo, b = s[i].end < hi ? s[i].end : hi;
        if (a >= b) continue;
        /* Touching spans merge: no free gap of length 0 between them. */
        if (m > 0 && a <= out[m - 1].end) {
            if (b > out[m - 1].end) out[m - 1].end = b;
            out[m - 1].n = i - out[m - 1].first + 1;
            continue;
        }
        out[m++] = (cal_span){.start = a, .end = b, .tag = -1, .first = i, .n = 1};
    }
    return m;
}

int cal_gaps(const cal_span *busy, int n, int64_t lo, int64_t hi, cal_span *out)
{
    int m = 0;
    int64_t at = lo;
    for (int i = 0; i < n; i++) {
        int64_t s = busy[i].start < hi ? busy[i].start : hi;
        if (s > at) out[m++] = (cal_span){.start = at, .end = s, .tag = -1};
        if (busy[i].end > at) at = busy[i].end;
    }
    if (at < hi) out[m++] = (cal_span){.start = at, .end = hi, .tag = -1};
    return m;
}

bool cal_first_slot(const cal_span *const *busy, const int *nbusy, int nm, int64_t lo, int64_t hi,
                    int64_t dur, int64_t step, int64_t *slot, int *who, int *which)
{
    *who = *which = -1;
    if (dur <= 0 || step <= 0 || nm <= 0 || nm > CAL_MEMBERS_MAX) return false;
    int at[CAL_MEMBERS_MAX] = {0};
    for (int64_t t = lo; t <= hi - dur;) {
        int64_t past = INT64_MIN; /* the latest end of a span in the way */
        for (int m = 0; m < nm; m++) {
            /* t only grows: spans ending by t are behind every later slot. */
            while (at[m] < nbusy[m] && busy[m][at[m]].end <= t)
                at[m]++;
            if (at[m] == nbusy[m] || busy[m][at[m]].start >= t + dur) continue;
            /* Merged spans are apart and in order, so the first one not
             * behind t is the one in the way of [t, t + dur). */
            if (*who < 0) *who = m, *which = at[m];
            if (busy[m][at[m]].end > past) past = busy[m][at[m]].end;
        }
        if (past == INT64_MIN) {
            *slot = t;
            *who = *which = -1;
            return true;
        }
        /* The next slot of the grid at or after the end in the way. */
        t = lo + (past - lo + step - 1) / step * step;
    }
    return false;
}

/* ------------------------------------------------------------ busy time */

static bool same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

typedef struct busy_acc {
    const char *param;
    cal_span *spans;
    const char **ids;
    int n, cap;
} busy_acc;

static int busy_add(engine_call *c, const res_row *row, void *ud)
{
    busy_acc *b = ud;
    const char *ev = engine_text(row, CATT_event_id);
    int64_t s = engine_int(row, CATT_starts_at, 0);
    /* An event's rows (one per member) share its start: a team's event is
     * listed once. */
    for (int k = b->n - 1; k >= 0 && b->spans[k].start == s; k--)
        if (same(b->ids[k], ev)) return 0;
    if (b->n == SPANS_MAX)
        return engine_fail(c, EK_INVALID, b->param, "more than %d events in the range: narrow it",
                           SPANS_MAX);
    if (b->n == b->cap) {
        b->cap *= 2;
        cal_span *sp = arena_alloc(c->a, sizeof *sp * (size_t)b->cap);
        const char **d = arena_alloc(c->a, sizeof *d * (size_t)b->cap);
        memcpy(sp, b->spans, sizeof *sp * (size_t)b->n);
        memcpy(d, b->ids, sizeof *d * (size_t)b->n);
        b->spans = sp, b->ids = d;
    }
    b->ids[b->n] = ev;
    b->spans[b->n] = (cal_span){.start = s, .end = engine_int(row, CATT_ends_at, 0), .tag = b->n};
    b->n++;
    return 0;
}

/* The busy spans meeting [lo, hi) of `member` (NULL: of every member), in
 * start order, each tagged with its index in *ids (the events', each
 * once). More than SPANS_MAX is a 400 naming `param` (the range's end). */
static int member_busy(engine_call *c, const char *member, int64_t lo, int64_t hi,
                       const char *param, cal_span **spans, const char ***ids, int *n)
{
    const res_def *r = RES(CATT);
    store_filter f[4] = {
        {.field = CATT_busy, .v = sv_int(1)},
        {.field = CATT_starts_at, .v = sv_int(hi), .op = SF_LT},
        {.field = CATT_ends_at, .v = sv_int(lo + 1), .op = SF_GE},
        {.field = CATT_member_id, .v = sv_text(member)},
    };
    store_query q = {.filters = f,
                     .nfilters = member ? 4 : 3,
                     .sort_by = &r->fields[CATT_starts_at],
                     .ascending = true,
                     .limit = 100,
                     .link_field = -1};
    busy_acc acc = {.param = param, .cap = 128};
    acc.spans = arena_alloc(c->a, sizeof *acc.spans * (size_t)acc.cap);
    acc.ids = arena_alloc(c->a, sizeof *acc.ids * (size_t)acc.cap);
    int rc = engine_each_row(c, r, &q, busy_add, &acc);
    *spans = acc.spans, *ids = acc.ids, *n = acc.n;
    return rc;
}

static const char *iso(engine_call *c, int64_t ms)
{
    char t[TIME_STR];
    time_format_ms((uint64_t)ms, t);
    return arena_strdup(c->a, t);
}

/* ---------------------------------------------------------------- events */

/* attendees: each exactly one of member_id, contact_id or email, none
 * twice, and the members and contacts records of the workspace (404
 * naming the element's member). */
static int check_attendees(engine_call *c, const res_row *row)
{
    const res_def *r = RES(CEVENT);
    const int ni = CATTENDEE__COUNT;
    store_val *v;
    size_t n;
    if (engine_list_vals(c, r, row, CEVENT_attendees, &v, &n)) return -1;
    store_read *reads = arena_zalloc(c->a, sizeof *reads * (n ? n : 1));
    int *of = arena_alloc(c->a, sizeof *of * (n ? n : 1));
    int nr = 0;
    for (size_t i = 0; i < n; i++) {
        const store_val *a = &v[i * ni];
        int kinds = (a[CATTENDEE_member_id].kind == SV_TEXT) +
                    (a[CATTENDEE_contact_id].kind == SV_TEXT) +
                    (a[CATTENDEE_email].kind == SV_TEXT);
        if (kinds != 1)
            return engine_fail(c, EK_INVALID, arena_printf(c->a, "attendees[%zu]", i),
                               "attendees[%zu] needs exactly one of member_id, contact_id or email",
                               i);
        for (size_t k = 0; k < i; k++) {
            const store_val *b = &v[k * ni];
            bool dup = same(a[CATTENDEE_member_id].s, b[CATTENDEE_member_id].s) ||
                       same(a[CATTENDEE_contact_id].s, b[CATTENDEE_contact_id].s) ||
                       (a[CATTENDEE_email].s && b[CATTENDEE_email].s &&
                        strcasecmp(a[CATTENDEE_email].s, b[CATTENDEE_email].s) == 0);
            if (dup)
                return engine_fail(c, EK_INVALID, arena_printf(c->a, "attendees[%zu]", i),
                                   "attendees[%zu] repeats attendees[%zu]", i, k);
        }
        if (a[CATTENDEE_member_id].kind == SV_TEXT)
            reads[nr] = (store_read){.r = RES(MEMBER), .id = a[CATTENDEE_member_id].s};
        else if (a[CATTENDEE_contact_id].kind == SV_TEXT)
            reads[nr] = (store_read){.r = RES(CONTACT), .id = a[CATTENDEE_contact_id].s};
        else
            continue;
        of[nr++] = (int)i;
    }
    if (nr == 0) return 0;
    if (engine_prefetch(c, reads, nr)) return -1;
    for (int k = 0; k < nr; k++) {
        if (reads[k].rc == STORE_OK) continue;
        bool mem = reads[k].r == RES(MEMBER);
        const char *p =
            arena_printf(c->a, "attendees[%d].%s", of[k], mem ? "member_id" : "contact_id");
        return engine_fail(c, EK_NOT_FOUND, p, "%s: no %s '%s' in this workspace", p,
                           reads[k].r->singular, reads[k].id);
    }
    return 0;
}

static int event_before(res_write *w)
{
    engine_call *c = w->c;
    res_row *row = w->row;
    if (w->is_create || w->set[CEVENT_starts_at] || w->set[CEVENT_ends_at]) {
        int64_t s = engine_int(row, CEVENT_starts_at, 0), e = engine_int(row, CEVENT_ends_at, 0);
        if (e <= s)
            return engine_fail(c, EK_INVALID, "ends_at", "ends_at must be after starts_at (%s)",
                               iso(c, s));
        if (e - s > EVENT_MAX_MS)
            return engine_fail(c, EK_INVALID, "ends_at",
                               "ends_at must be at most 366 days after starts_at");
    }
    const char *tz = engine_text(row, CEVENT_time_zone);
    if ((w->is_create || w->set[CEVENT_time_zone]) && tz && !tz_find(tz))
        return engine_fail(c, EK_INVALID, "time_zone",
                           "time_zone must be an IANA time zone this server knows, e.g. "
                           "Europe/Paris");
    if ((w->is_create || w->set[CEVENT_attendees]) && check_attendees(c, row)) return -1;
    return 0;
}

/* The members an event holds: its organizer first, then its member
 * attendees, each once. */
static int held_members(engine_call *c, const res_row *row, const char **ids, const char **roles,
                        int *n)
{
    store_val *v;
    size_t na;
    if (engine_list_vals(c, RES(CEVENT), row, CEVENT_attendees, &v, &na)) return -1;
    *n = 0;
    const char *org = engine_text(row, CEVENT_organizer_id);
    if (org) ids[*n] = org, roles[(*n)++] = "organizer";
    for (size_t i = 0; i < na && *n < HELD_MAX; i++) {
        const char *m = v[i * CATTENDEE__COUNT + CATTENDEE_member_id].s;
        if (v[i * CATTENDEE__COUNT + CATTENDEE_member_id].kind != SV_TEXT) continue;
        bool seen = false;
        for (int k = 0; k < *n && !seen; k++)
            seen = same(ids[k], m);
        if (!seen) ids[*n] = m, roles[(*n)++] = "attendee";
    }
    return 0;
}

/* Brings the event's attendance rows in step with it: one per member it
 * holds, with its times and whether it is busy. */
static int sync_attendances(engine_call *c, const res_row *ev)
{
    const res_def *r = RES(CATT);
    const char *ids[HELD_MAX], *roles[HELD_MAX];
    int n;
    if (held_members(c, ev, ids, roles, &n)) return -1;
    bool done[HELD_MAX] = {0};
    int64_t s = engine_int(ev, CEVENT_starts_at, 0), e = engine_int(ev, CEVENT_ends_at, 0);
    bool busy = !same(engine_text(ev, CEVENT_status), "cancelled");
    store_filter f = {.field = CATT_event_id, .v = sv_text(ev->id)};
    store_query q = {.filters = &f, .nfilters = 1, .limit = 2 * HELD_MAX, .link_field = -1};
    res_row *rows;
    int got;
    bool more;
    store_err err;
    int rc = store_rec_list(c->conn, c->a, r, c->ws, &q, &rows, &got, &more, &err);
    if (rc) return engine_store_fail(c, rc, &err);
    for (int i = 0; i < got; i++) {
        const char *m = engine_text(&rows[i], CATT_member_id);
        int k = 0;
        while (k < n && (done[k] || !same(ids[k], m)))
            k++;
        if (k == n) {
            if (engine_delete_row(c, r, &rows[i])) return -1;
            continue;
        }
        done[k] = true;
        if (engine_int(&rows[i], CATT_starts_at, 0) == s &&
            engine_int(&rows[i], CATT_ends_at, 0) == e &&
            engine_int(&rows[i], CATT_busy, 0) == busy &&
            same(engine_text(&rows[i], CATT_role), roles[k]))
            continue;
        bool *set;
        res_row row = engine_copy_row(c, r, &rows[i], &set);
        engine_set(&row, set, CATT_starts_at, sv_int(s));
        engine_set(&row, set, CATT_ends_at, sv_int(e));
        engine_set(&row, set, CATT_busy, sv_int(busy));
        engine_set(&row, set, CATT_role, sv_text(roles[k]));
        if (engine_save(c, r, &row, &rows[i], set)) return -1;
    }
    for (int k = 0; k < n; k++) {
        if (done[k]) continue;
        bool *set;
        res_row row = engine_new_row(c, r, &set);
        engine_set(&row, set, CATT_event_id, sv_text(ev->id));
        engine_set(&row, set, CATT_member_id, sv_text(ids[k]));
        engine_set(&row, set, CATT_role, sv_text(roles[k]));
        engine_set(&row, set, CATT_starts_at, sv_int(s));
        engine_set(&row, set, CATT_ends_at, sv_int(e));
        engine_set(&row, set, CATT_busy, sv_int(busy));
        if (engine_insert(c, r, &row, set)) return -1;
    }
    return 0;
}

static int event_after(res_write *w)
{
    static const int held[] = {CEVENT_starts_at, CEVENT_ends_at, CEVENT_status, CEVENT_organizer_id,
                               CEVENT_attendees};
    bool changed = w->is_create;
    for (size_t i = 0; i < sizeof held / sizeof held[0] && !changed; i++)
        changed = w->set[held[i]];
    return changed ? sync_attendances(w->c, w->row) : 0;
}

const res_hooks calendar_event_hooks = {.before_write = event_before, .after_write = event_after};

/* ---------------------------------------------------------- availability */

/* GET /v1/calendar/availability?member_id=&from=&to= */
int calendar_availability(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[AVAILQ__COUNT];
    bool given[AVAILQ__COUNT];
    if (engine_parse_query_fields(c, a->query, a->nquery, v, given) || engine_params_check(c))
        return -1;
    int64_t now = (int64_t)time_now_ms();
    int64_t lo = given[AVAILQ_from] ? v[AVAILQ_from].i : now - (now % DAY_MS + DAY_MS) % DAY_MS;
    int64_t hi = given[AVAILQ_to] ? v[AVAILQ_to].i : lo + 7 * DAY_MS;
    if (hi <= lo) return engine_fail(c, EK_INVALID, "to", "to must be after from");
    if (hi - lo > RANGE_MAX_MS)
        return engine_fail(c, EK_INVALID, "to", "to must be at most 90 days after from");
    res_row mem = {0};
    if (given[AVAILQ_member_id] &&
        engine_load(c, RES(MEMBER), v[AVAILQ_member_id].s, "member_id", &mem))
        return -1;
    const char *who = given[AVAILQ_member_id] ? mem.id : NULL;
    cal_span *spans;
    const char **ids;
    int n;
    if (member_busy(c, who, lo, hi, "to", &spans, &ids, &n)) return -1;
    cal_span *busy = arena_alloc(c->a, sizeof *busy * (size_t)(n ? n : 1));
    cal_span *free_ = arena_alloc(c->a, sizeof *free_ * (size_t)(n + 1));
    int nb = cal_merge(spans, n, lo, hi, busy);
    int nf = cal_gaps(busy, nb, lo, hi, free_);
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "calendar_availability");
    jw_kstr(w, "member_id", who);
    jw_kstr(w, "from", iso(c, lo));
    jw_kstr(w, "to", iso(c, hi));
    jw_key(w, "busy");
    jw_arr_open(w);
    for (int i = 0; i < nb; i++) {
        jw_obj_open(w);
        jw_kstr(w, "starts_at", iso(c, busy[i].start));
        jw_kstr(w, "ends_at", iso(c, busy[i].end));
        jw_key(w, "event_ids");
        jw_arr_open(w);
        for (int k = busy[i].first; k < busy[i].first + busy[i].n; k++)
            jw_str(w, ids[spans[k].tag]);
        jw_arr_close(w);
        jw_obj_close(w);
    }
    jw_arr_close(w);
    jw_key(w, "free");
    jw_arr_open(w);
    for (int i = 0; i < nf; i++) {
        jw_obj_open(w);
        jw_kstr(w, "starts_at", iso(c, free_[i].start));
        jw_kstr(w, "ends_at", iso(c, free_[i].end));
        jw_obj_close(w);
    }
    jw_arr_close(w);
    jw_obj_close(w);
    return 0;
}

/* -------------------------------------------------------------- booking */

static int int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The body without what a booking decides (its times) or reads itself,
 * as the event's create takes it; the booked members become attendees. */
static json_t *event_body(engine_call *c, json_t *body, const char *const *members, int nm,
                          int64_t start, int64_t end)
{
    static const char *const own[] = {"member_ids", "duration_minutes", "window_start",
                                      "window_end", "granularity_minutes"};
    json_t *ev = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        bool skip = false;
        for (size_t i = 0; i < sizeof own / sizeof own[0] && !skip; i++)
            skip = strcmp(k, own[i]) == 0;
        if (!skip && !json_is_null(v)) json_object_set(ev, k, v);
    }
    json_t *att = json_object_get(ev, "attendees");
    att = att ? json_copy(att) : json_array();
    const char *org = json_string_value(json_object_get(ev, "organizer_id"));
    for (int m = 0; m < nm; m++) {
        bool listed = same(org, members[m]);
        for (size_t i = 0; i < json_array_size(att) && !listed; i++)
            listed = same(json_string_value(json_object_get(json_array_get(att, i), "member_id")),
                          members[m]);
        if (!listed) json_array_append_new(att, json_pack("{s:s}", "member_id", members[m]));
    }
    json_object_set_new(ev, "attendees", att);
    json_object_set_new(ev, "starts_at", json_string(iso(c, start)));
    json_object_set_new(ev, "ends_at", json_string(iso(c, end)));
    return ev;
}

/* POST /v1/calendar/schedule */
int calendar_schedule(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[SCHED__COUNT];
    bool given[SCHED__COUNT];
    if (engine_params_check(c)) return -1;
    if (!json_is_object(c->body))
        return engine_fail(c, EK_INVALID, NULL, "the body must be a JSON object");
    /* custom_fields go to the event as they are; the rest is declared. */
    json_t *own = json_copy(c->body);
    json_object_del(own, "custom_fields");
    int rc = engine_parse_fields(c, a->body, a->nbody, own, v, given);
    json_decref(own);
    if (rc) return -1;
    if (given[SCHED_status] && same(v[SCHED_status].s, "cancelled"))
        return engine_fail(c, EK_INVALID, "status",
                           "status of a booking is confirmed or tentative");
    int64_t lo = v[SCHED_window_start].i, hi = v[SCHED_window_end].i;
    int64_t dur = v[SCHED_duration_minutes].i * MINUTE_MS;
    int64_t step =
        (given[SCHED_granularity_minutes] ? v[SCHED_granularity_minutes].i : 15) * MINUTE_MS;
    /* The members, each once, then the organizer: all must be free. */
    const char *ids[CAL_MEMBERS_MAX];
    const char *params[CAL_MEMBERS_MAX];
    int nm = 0;
    json_t *list = json_loads(v[SCHED_member_ids].s, 0, NULL);
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *id = json_string_value(json_array_get(list, i));
        bool seen = false;
        for (int k = 0; k < nm && !seen; k++)
            seen = same(ids[k], id);
        if (seen) continue;
        ids[nm] = arena_strdup(c->a, id);
        params[nm++] = arena_printf(c->a, "member_ids[%zu]", i);
    }
    json_decref(list);
    int booked = nm; /* members who become attendees */
    const char *org = given[SCHED_organizer_id] ? v[SCHED_organizer_id].s : NULL;
    bool org_listed = false;
    for (int k = 0; k < nm && org; k++)
        org_listed |= same(ids[k], org);
    if (org && !org_listed) ids[nm] = org, params[nm++] = "organizer_id";
    store_read reads[CAL_MEMBERS_MAX] = {{0}};
    for (int k = 0; k < nm; k++)
        reads[k] = (store_read){.r = RES(MEMBER), .id = ids[k]};
    if (engine_prefetch(c, reads, nm)) return -1;
    for (int k = 0; k < nm; k++)
        if (reads[k].rc != STORE_OK)
            return engine_fail(c, EK_NOT_FOUND, params[k], "%s: no member '%s' in this workspace",
                               params[k], ids[k]);
    if (hi <= lo)
        return engine_fail(c, EK_INVALID, "window_end", "window_end must be after window_start");
    if (hi - lo > RANGE_MAX_MS)
        return engine_fail(c, EK_INVALID, "window_end",
                           "window_end must be at most 90 days after window_start");
    if (dur > hi - lo)
        return engine_fail(c, EK_INVALID, "duration_minutes",
                           "duration_minutes is longer than the window");
    /* Bookings of the same members on other nodes wait here until this
     * one commits, then see its event; locks in one order never deadlock. */
    int locks[CAL_MEMBERS_MAX];
    for (int k = 0; k < nm; k++)
        locks[k] = engine_key_lock_of(ids[k]);
    qsort(locks, (size_t)nm, sizeof locks[0], int_cmp);
    for (int k = 0; k < nm; k++)
        if ((k == 0 || locks[k] != locks[k - 1]) && engine_lock_key(c, RES(CATT), locks[k]))
            return -1;
    const cal_span *busy[CAL_MEMBERS_MAX];
    int nbusy[CAL_MEMBERS_MAX];
    for (int k = 0; k < nm; k++) {
        cal_span *spans;
        const char **evs;
        int n;
        if (member_busy(c, ids[k], lo, hi, "window_end", &spans, &evs, &n)) return -1;
        cal_span *merged = arena_alloc(c->a, sizeof *merged * (size_t)(n ? n : 1));
        nbusy[k] = cal_merge(spans, n, INT64_MIN, INT64_MAX, merged);
        busy[k] = merged;
    }
    int who, which;
    int64_t t;
    bool found = cal_first_slot(busy, nbusy, nm, lo, hi, dur, step, &t, &who, &which);
    if (!found && who < 0)
        return engine_fail(c, EK_CONFLICT, "window_end", "no free slot in the window");
    if (!found) {
        const cal_span *s = &busy[who][which];
        return engine_fail(c, EK_CONFLICT, params[who],
                           "no free %" PRId64 "-minute slot for every member between %s and %s: "
                           "member %s is busy %s/%s",
                           dur / MINUTE_MS, iso(c, lo), iso(c, hi), ids[who], iso(c, s->start),
                           iso(c, s->end));
    }
    json_t *ev = event_body(c, c->body, ids, booked, t, t + dur);
    res_row row;
    rc = engine_create_from(c, RES(CEVENT), ev, &row);
    json_decref(ev);
    if (rc) return -1;
    return engine_respond(c, RES(CEVENT), &row, EK_CREATED);
}
