/* marketing.c - what marketing campaigns, posts and lists do beyond the
 * generic engine: a campaign ends after it starts; a scheduled post has a
 * time, and published_at is when a post last became published; a list's
 * members are added and removed by the hundred through
 * /v1/marketing/lists/{id}/members (all or none, repeats skipped), and a
 * contact or company that is deleted leaves every list (the engine clears
 * the member's typed reference; the member row then goes). */
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "resources/engine.h"
#include "resources/hooks.h"

/* Ids one call may add or remove, contacts and companies together. */
#define MEMBERS_MAX 1000
/* Values an SF_IN filter takes at once (store.h). */
#define IN_MAX 100

static bool is(const char *s, const char *v)
{
    return s && strcmp(s, v) == 0;
}

static int campaign_before(res_write *w)
{
    const store_val *s = &w->row->vals[MCAMP_starts_at], *e = &w->row->vals[MCAMP_ends_at];
    if ((w->is_create || w->set[MCAMP_starts_at] || w->set[MCAMP_ends_at]) && s->kind == SV_INT &&
        e->kind == SV_INT && e->i <= s->i)
        return engine_fail(w->c, EK_INVALID, "ends_at", "ends_at must be after starts_at");
    return 0;
}

const res_hooks mkt_campaign_hooks = {.before_write = campaign_before};

static int post_before(res_write *w)
{
    const char *status = engine_text(w->row, MPOST_status);
    if (is(status, "scheduled") && w->row->vals[MPOST_scheduled_at].kind == SV_NULL)
        return engine_fail(w->c, EK_INVALID, "scheduled_at", "a scheduled post needs scheduled_at");
    const char *was = w->old ? engine_text(w->old, MPOST_status) : NULL;
    if (is(status, "published") && !is(was, "published"))
        engine_set(w->row, w->set, MPOST_published_at,
                   sv_int(w->is_create ? w->row->created_ms : (int64_t)time_now_ms()));
    return 0;
}

const res_hooks mkt_post_hooks = {.before_write = post_before};

/* A member whose contact or company was deleted: the engine cleared its
 * reference (a typed one is cleared, not followed); it leaves the list. */
static int member_after(res_write *w)
{
    if (w->is_create || w->row->vals[MLMEMBER_member_id].kind != SV_NULL) return 0;
    return engine_delete_row(w->c, RES(MLMEMBER), w->row);
}

const res_hooks mkt_member_hooks = {.after_write = member_after};

/* ------------------------------------------------------------- members */

/* The ids of one kind in a members body: n of them, in the arena. */
typedef struct ids {
    const char **v;
    int n;
} ids;

static int read_ids(engine_call *c, const store_val *v, bool given, ids *out)
{
    out->n = 0;
    out->v = NULL;
    if (!given || v->kind != SV_TEXT) return 0;
    json_t *j = json_loads(v->s, 0, NULL);
    size_t n = json_array_size(j);
    out->v = arena_alloc(c->a, sizeof *out->v * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        out->v[out->n++] = arena_strdup(c->a, json_string_value(json_array_get(j, i)));
    json_decref(j);
    return 0;
}

/* The list's member rows for the ids v[0..n), as `found` (parallel to v:
 * the row, or an empty id). */
static int members_of(engine_call *c, const char *list, const ids *v, res_row *found)
{
    for (int i = 0; i < v->n; i++)
        found[i].id[0] = 0;
    for (int at = 0; at < v->n; at += IN_MAX) {
        int k = v->n - at < IN_MAX ? v->n - at : IN_MAX;
        store_val *in = arena_alloc(c->a, sizeof *in * (size_t)k);
        for (int i = 0; i < k; i++)
            in[i] = sv_text(v->v[at + i]);
        store_filter f = {.field = MLMEMBER_member_id, .op = SF_IN, .in = in, .nin = k};
        store_query sq = {.filters = &f,
                          .nfilters = 1,
                          .limit = IN_MAX,
                          .link_field = MLMEMBER_list_id,
                          .link_value = list};
        res_row *rows;
        int n;
        bool more;
        store_err e;
        int rc = store_rec_list(c->conn, c->a, RES(MLMEMBER), c->ws, &sq, &rows, &n, &more, &e);
        if (rc) return engine_store_fail(c, rc, &e);
        for (int r = 0; r < n; r++)
            for (int i = 0; i < v->n; i++)
                if (is(engine_text(&rows[r], MLMEMBER_member_id), v->v[i])) found[i] = rows[r];
    }
    return 0;
}

/* Reads the body of POST and DELETE /v1/marketing/lists/{id}/members:
 * the list, and the contact and company ids (at most MEMBERS_MAX). */
static int members_body(engine_call *c, res_row *list, ids *kinds)
{
    const res_action *a = c->action;
    store_val v[MLADD__COUNT];
    bool given[MLADD__COUNT];
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given) ||
        engine_load(c, RES(MLIST), c->ids[0], NULL, list) ||
        read_ids(c, &v[MLADD_contact_ids], given[MLADD_contact_ids], &kinds[0]) ||
        read_ids(c, &v[MLADD_company_ids], given[MLADD_company_ids], &kinds[1]))
        return -1;
    if (kinds[0].n + kinds[1].n > MEMBERS_MAX)
        return engine_fail(c, EK_INVALID, kinds[1].n ? "company_ids" : "contact_ids",
                           "at most %d ids in all may be given in one call, not %d", MEMBERS_MAX,
                           kinds[0].n + kinds[1].n);
    return 0;
}

static const char *const kind_field[2] = {"contact_ids", "company_ids"};
static const char *const kind_type[2] = {"contact", "company"};

static int members_answer(engine_call *c, const char *list, int changed, int skipped, bool add)
{
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "marketing_list_members");
    jw_kstr(w, "list_id", list);
    jw_kint(w, add ? "added" : "removed", changed);
    jw_kint(w, "skipped", skipped);
    jw_kbool(w, "dry_run", c->dry_run);
    jw_obj_close(w);
    return 0;
}

/* POST /v1/marketing/lists/{id}/members */
int mkt_list_add(engine_call *c)
{
    res_row list;
    ids kinds[2];
    if (members_body(c, &list, kinds)) return -1;
    int added = 0, skipped = 0;
    for (int k = 0; k < 2; k++) {
        const res_def *t = k ? RES(COMPANY) : RES(CONTACT);
        res_row *found = arena_alloc(c->a, sizeof *found * (size_t)(kinds[k].n ? kinds[k].n : 1));
        if (members_of(c, list.id, &kinds[k], found)) return -1;
        for (int i = 0; i < kinds[k].n; i++) {
            const char *id = kinds[k].v[i];
            const char *p = arena_printf(c->a, "%s[%d]", kind_field[k], i);
            bool repeat = found[i].id[0] != 0;
            for (int j = 0; j < i && !repeat; j++)
                repeat = is(kinds[k].v[j], id);
            if (repeat) {
                skipped++;
                continue;
            }
            store_err e;
            int rc = store_rec_exists(c->conn, t, c->ws, id, &e);
            if (rc == STORE_NOTFOUND)
                return engine_fail(c, EK_INVALID, p, "%s: no %s '%s' in this workspace", p,
                                   t->singular, id);
            if (rc) return engine_store_fail(c, rc, &e);
            bool *set;
            res_row row = engine_new_row(c, RES(MLMEMBER), &set);
            engine_set(&row, set, MLMEMBER_list_id, sv_text(list.id));
            engine_set(&row, set, MLMEMBER_member_type, sv_text(kind_type[k]));
            engine_set(&row, set, MLMEMBER_member_id, sv_text(id));
            if (engine_insert(c, RES(MLMEMBER), &row, set)) return -1;
            added++;
        }
    }
    return members_answer(c, list.id, added, skipped, true);
}

/* DELETE /v1/marketing/lists/{id}/members */
int mkt_list_remove(engine_call *c)
{
    res_row list;
    ids kinds[2];
    if (members_body(c, &list, kinds)) return -1;
    int removed = 0, skipped = 0;
    for (int k = 0; k < 2; k++) {
        res_row *found = arena_alloc(c->a, sizeof *found * (size_t)(kinds[k].n ? kinds[k].n : 1));
        if (members_of(c, list.id, &kinds[k], found)) return -1;
        for (int i = 0; i < kinds[k].n; i++) {
            bool gone =
                !found[i].id[0] || !is(engine_text(&found[i], MLMEMBER_member_type), kind_type[k]);
            for (int j = 0; j < i && !gone; j++)
                gone = is(kinds[k].v[j], kinds[k].v[i]);
            if (gone) {
                skipped++;
                continue;
            }
            if (engine_delete_row(c, RES(MLMEMBER), &found[i])) return -1;
            removed++;
        }
    }
    return members_answer(c, list.id, removed, skipped, false);
}
