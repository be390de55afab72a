/* support.c - what tickets, their messages and comments do beyond the
 * generic engine: a ticket's status follows a transition table (nothing
 * goes back to new, closed is final, a resolved ticket reopens to open),
 * and its resolved_at and closed_at follow the status; the first outbound
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

static int ticket_before(res_write *w)
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

const res_hooks ticket_hooks = {.before_write = ticket_before};

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
    return engine_save(w->c, t, &row, &old, set);
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
