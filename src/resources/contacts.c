/* contacts.c - what contacts, companies and memberships do beyond the
 * generic engine: a derived display name, company_name filled from the
 * linked company and kept in step with it (renames, merges), and one
 * primary membership per contact that also sets the contact's company_id. */
#include <string.h>

#include "resources/engine.h"
#include "resources/hooks.h"

static int contact_before(res_write *w)
{
    res_row *row = w->row;
    enum { fn = CONTACT_first_name, ln = CONTACT_last_name, nm = CONTACT_name };
    enum { cid = CONTACT_company_id, cname = CONTACT_company_name };
    /* The name follows first/last only while it was never chosen apart
     * from them: absent on create, or equal to the old derived name. */
    bool derive = !w->set[nm];
    if (derive && !w->is_create) {
        const char *of = engine_text(w->old, fn), *ol = engine_text(w->old, ln),
                   *on = engine_text(w->old, nm);
        char *old_derived =
            arena_printf(w->c->a, "%s%s%s", of ? of : "", of && ol ? " " : "", ol ? ol : "");
        derive = (w->set[fn] || w->set[ln]) && (!on || strcmp(on, old_derived) == 0);
    }
    if (derive) {
        const char *f = engine_text(row, fn), *l = engine_text(row, ln);
        if (f || l) {
            row->vals[nm] = (store_val){
                .kind = SV_TEXT,
                .s = arena_printf(w->c->a, "%s%s%s", f ? f : "", f && l ? " " : "", l ? l : "")};
            w->set[nm] = true;
        }
    }
    if (w->set[cid] && engine_text(row, cid) && !w->set[cname]) {
        res_row co;
        if (engine_load(w->c, RES(COMPANY), engine_text(row, cid), "company_id", &co)) return -1;
        row->vals[cname] = co.vals[COMPANY_name];
        w->set[cname] = true;
    }
    return 0;
}

/* A contact's primary memberships, newest first. */
static int primaries(engine_call *c, const char *contact, res_row **rows, int *n)
{
    const res_def *m = RES(MEMBERSHIP);
    store_filter fl = {.field = MEMBERSHIP_is_primary, .v = sv_int(1)};
    store_query sq = {.filters = &fl,
                      .nfilters = 1,
                      .limit = 100,
                      .link_field = MEMBERSHIP_contact_id,
                      .link_value = contact};
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, m, c->ws, &sq, rows, n, &more, &e);
    return rc ? engine_store_fail(c, rc, &e) : 0;
}

/* Makes every one of rows but rows[keep] not primary. */
static int demote(engine_call *c, const res_row *rows, int n, int keep)
{
    const res_def *m = RES(MEMBERSHIP);
    for (int i = 0; i < n; i++) {
        if (i == keep) continue;
        bool *set;
        res_row row = engine_copy_row(c, m, &rows[i], &set);
        engine_set(&row, set, MEMBERSHIP_is_primary, sv_int(0));
        if (engine_save(c, m, &row, &rows[i], set)) return -1;
    }
    return 0;
}

/* Memberships moved from a merged contact may leave two primaries: the
 * survivor's own stays primary (the one matching its company), the others
 * are demoted. */
static int contact_after_merge(res_write *w)
{
    res_row *rows;
    int n;
    if (primaries(w->c, w->row->id, &rows, &n)) return -1;
    const char *company = engine_text(w->row, CONTACT_company_id);
    int keep = n - 1; /* oldest, when none matches the contact's company */
    for (int i = 0; i < n; i++)
        if (company && strcmp(engine_text(&rows[i], MEMBERSHIP_company_id), company) == 0) keep = i;
    return demote(w->c, rows, n, keep);
}

const res_hooks contact_hooks = {.before_write = contact_before,
                                 .after_merge = contact_after_merge};

/* Contacts carry their company's name: a rename, or contacts moved over
 * from a merged company, must show the company's name as it is. */
static int sync_company_name(engine_call *c, const char *company, const char *was, const char *now)
{
    if (!was || !now || strcmp(was, now) == 0) return 0;
    return engine_repoint(c, RES(CONTACT), CONTACT_company_name, was, now, CONTACT_company_id,
                          company);
}

static int company_after(res_write *w)
{
    if (w->is_create) return 0;
    return sync_company_name(w->c, w->row->id, engine_text(w->old, COMPANY_name),
                             engine_text(w->row, COMPANY_name));
}

static int company_after_merge(res_write *w)
{
    return sync_company_name(w->c, w->row->id, engine_text(w->old, COMPANY_name),
                             engine_text(w->row, COMPANY_name));
}

const res_hooks company_hooks = {.after_write = company_after, .after_merge = company_after_merge};

/* A primary membership makes its company the contact's company and
 * demotes the contact's other memberships. */
static int membership_after(res_write *w)
{
    enum { prim = MEMBERSHIP_is_primary, co = MEMBERSHIP_company_id, ct = MEMBERSHIP_contact_id };
    if (w->row->vals[prim].kind != SV_INT || w->row->vals[prim].i == 0) return 0;
    engine_call *c = w->c;
    res_row *rows;
    int n, keep = -1;
    if (primaries(c, engine_text(w->row, ct), &rows, &n)) return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].id, w->row->id) == 0) keep = i;
    if (demote(c, rows, n, keep)) return -1;

    res_row contact;
    if (engine_load(c, RES(CONTACT), engine_text(w->row, ct), NULL, &contact)) return -1;
    const char *now = engine_text(&contact, CONTACT_company_id);
    if (now && strcmp(now, engine_text(w->row, co)) == 0) return 0;
    res_row company;
    if (engine_load(c, RES(COMPANY), engine_text(w->row, co), "company_id", &company)) return -1;
    bool *set;
    res_row row = engine_copy_row(c, RES(CONTACT), &contact, &set);
    engine_set(&row, set, CONTACT_company_id, sv_text(company.id));
    engine_set(&row, set, CONTACT_company_name, company.vals[COMPANY_name]);
    return engine_save(c, RES(CONTACT), &row, &contact, set);
}

/* The contact's company came from its primary membership: with that
 * membership gone, the contact no longer names the company. Not when the
 * contact or the company is being deleted itself (a cascade): then the
 * contact goes too, or its company reference is cleared anyway. */
static int membership_after_delete(res_write *w)
{
    if (w->cascade || engine_int(w->old, MEMBERSHIP_is_primary, 0) == 0) return 0;
    engine_call *c = w->c;
    res_row ct;
    if (engine_load(c, RES(CONTACT), engine_text(w->old, MEMBERSHIP_contact_id), NULL, &ct))
        return -1;
    const char *company = engine_text(&ct, CONTACT_company_id);
    if (!company || strcmp(company, engine_text(w->old, MEMBERSHIP_company_id)) != 0) return 0;
    bool *set;
    res_row row = engine_copy_row(c, RES(CONTACT), &ct, &set);
    engine_set(&row, set, CONTACT_company_id, (store_val){.kind = SV_NULL});
    engine_set(&row, set, CONTACT_company_name, (store_val){.kind = SV_NULL});
    return engine_update_row(c, RES(CONTACT), &ct, &row, set, NULL);
}

const res_hooks membership_hooks = {.after_write = membership_after,
                                    .after_delete = membership_after_delete};
