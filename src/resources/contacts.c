/* contacts.c - what contacts, companies and memberships do beyond the
 * generic engine: a derived display name, company_name filled from the
 * linked company and kept in step with it (renames, merges), and one
 * primary membership per contact that also sets the contact's company_id. */
#include <string.h>

#include "resources/engine.h"
#include "resources/hooks.h"

static int field(const res_def *r, const char *name)
{
    return res_field_index(r, name);
}

static const char *text(const res_row *row, int i)
{
    return row->vals[i].kind == SV_TEXT ? row->vals[i].s : NULL;
}

static int contact_before(res_write *w)
{
    const res_def *r = w->r;
    res_row *row = w->row;
    int fn = field(r, "first_name"), ln = field(r, "last_name"), nm = field(r, "name");
    int cid = field(r, "company_id"), cname = field(r, "company_name");
    /* The name follows first/last only while it was never chosen apart
     * from them: absent on create, or equal to the old derived name. */
    bool derive = !w->set[nm];
    if (derive && !w->is_create) {
        const char *of = text(w->old, fn), *ol = text(w->old, ln), *on = text(w->old, nm);
        char *old_derived =
            arena_printf(&w->q->a, "%s%s%s", of ? of : "", of && ol ? " " : "", ol ? ol : "");
        derive = (w->set[fn] || w->set[ln]) && (!on || strcmp(on, old_derived) == 0);
    }
    if (derive) {
        const char *f = text(row, fn), *l = text(row, ln);
        if (f || l) {
            row->vals[nm] = (store_val){
                .kind = SV_TEXT,
                .s = arena_printf(&w->q->a, "%s%s%s", f ? f : "", f && l ? " " : "", l ? l : "")};
            w->set[nm] = true;
        }
    }
    if (w->set[cid] && text(row, cid) && !w->set[cname]) {
        res_row co;
        if (engine_load(w->q, res_find("companies"), text(row, cid), "company_id", &co)) return -1;
        row->vals[cname] = co.vals[res_field_index(res_find("companies"), "name")];
        w->set[cname] = true;
    }
    return 0;
}

/* A contact's primary memberships, newest first. */
static int primaries(api_req *q, const char *contact, res_row **rows, int *n)
{
    const res_def *m = res_find("company-memberships");
    store_filter fl = {.field = field(m, "is_primary"), .v = sv_int(1)};
    store_query sq = {.filters = &fl,
                      .nfilters = 1,
                      .limit = 100,
                      .link_field = field(m, "contact_id"),
                      .link_value = contact};
    bool more;
    store_err e;
    int rc = store_rec_list(q->conn, &q->a, m, q->ws, &sq, rows, n, &more, &e);
    return rc ? api_store_error(q, rc, &e) : 0;
}

/* Makes every one of rows but rows[keep] not primary. */
static int demote(api_req *q, const res_row *rows, int n, int keep)
{
    const res_def *m = res_find("company-memberships");
    for (int i = 0; i < n; i++) {
        if (i == keep) continue;
        bool *set;
        res_row row = engine_copy_row(q, m, &rows[i], &set);
        engine_set(q, m, &row, set, "is_primary", sv_int(0));
        if (engine_save(q, m, &row, &rows[i], set)) return -1;
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
    if (primaries(w->q, w->row->id, &rows, &n)) return -1;
    const res_def *m = res_find("company-memberships");
    const char *company = text(w->row, field(w->r, "company_id"));
    int keep = n - 1; /* oldest, when none matches the contact's company */
    for (int i = 0; i < n; i++)
        if (company && strcmp(text(&rows[i], field(m, "company_id")), company) == 0) keep = i;
    return demote(w->q, rows, n, keep);
}

const res_hooks contact_hooks = {.before_write = contact_before,
                                 .after_merge = contact_after_merge};

/* Contacts carry their company's name: a rename, or contacts moved over
 * from a merged company, must show the company's name as it is. */
static int sync_company_name(api_req *q, const char *company, const char *was, const char *now)
{
    if (!was || !now || strcmp(was, now) == 0) return 0;
    const res_def *c = res_find("contacts");
    store_err e;
    int rc = store_rec_repoint(q->conn, c, field(c, "company_name"), q->ws, was, now,
                               field(c, "company_id"), company, &e);
    return rc ? api_store_error(q, rc, &e) : 0;
}

static int company_after(res_write *w)
{
    if (w->is_create) return 0;
    int nm = field(w->r, "name");
    return sync_company_name(w->q, w->row->id, text(w->old, nm), text(w->row, nm));
}

static int company_after_merge(res_write *w)
{
    int nm = field(w->r, "name");
    return sync_company_name(w->q, w->row->id, text(w->old, nm), text(w->row, nm));
}

const res_hooks company_hooks = {.after_write = company_after, .after_merge = company_after_merge};

/* A primary membership makes its company the contact's company and
 * demotes the contact's other memberships. */
static int membership_after(res_write *w)
{
    const res_def *r = w->r;
    int prim = field(r, "is_primary"), co = field(r, "company_id"), ct = field(r, "contact_id");
    if (w->row->vals[prim].kind != SV_INT || w->row->vals[prim].i == 0) return 0;
    api_req *q = w->q;
    res_row *rows;
    int n, keep = -1;
    if (primaries(q, text(w->row, ct), &rows, &n)) return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].id, w->row->id) == 0) keep = i;
    if (demote(q, rows, n, keep)) return -1;

    const res_def *contacts = res_find("contacts");
    res_row c;
    if (engine_load(q, contacts, text(w->row, ct), NULL, &c)) return -1;
    int cid = field(contacts, "company_id"), cname = field(contacts, "company_name");
    if (text(&c, cid) && strcmp(text(&c, cid), text(w->row, co)) == 0) return 0;
    res_row company;
    if (engine_load(q, res_find("companies"), text(w->row, co), "company_id", &company)) return -1;
    bool *cset = arena_zalloc(&q->a, sizeof(bool) * (size_t)contacts->nfields);
    c.vals[cid] = (store_val){.kind = SV_TEXT, .s = company.id};
    c.vals[cname] = company.vals[field(res_find("companies"), "name")];
    cset[cid] = cset[cname] = true;
    return engine_save(q, contacts, &c, NULL, cset);
}

const res_hooks membership_hooks = {.after_write = membership_after};
