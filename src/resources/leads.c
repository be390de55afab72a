/* leads.c - what leads do beyond the generic engine: conversion into a
 * contact, a company and optionally a deal in one transaction; stage moves
 * with win/loss automation. (Activities on a lead are a sub-list.) */
#include <string.h>

#include "core/timeutil.h"
#include "resources/engine.h"
#include "resources/hooks.h"

/* The lead's company: its company_id, one named like its company_name, or
 * a new one. *id stays NULL when the lead names no company. */
static int convert_company(api_req *q, const res_row *lead, const char **id)
{
    const res_def *l = res_find("leads"), *c = res_find("companies");
    *id = engine_text(l, lead, "company_id");
    const char *name = engine_text(l, lead, "company_name");
    if (*id || !name) return 0;
    res_row co;
    int found = engine_find_by(q, c, "name", name, &co);
    if (found < 0) return -1;
    if (!found) {
        bool *set;
        co = engine_new_row(q, c, &set);
        engine_set(q, c, &co, set, "name", sv_text(name));
        if (engine_insert(q, c, &co, set)) return -1;
    }
    *id = arena_strdup(&q->a, co.id);
    return 0;
}

/* The lead's contact: its contact_id, one with its email, or a new one. */
static int convert_contact(api_req *q, const res_row *lead, const char *company, const char **id)
{
    const res_def *l = res_find("leads"), *c = res_find("contacts");
    *id = engine_text(l, lead, "contact_id");
    if (*id) return 0;
    const char *email = engine_text(l, lead, "email");
    res_row ct;
    int found = email ? engine_find_by(q, c, "email", email, &ct) : 0;
    if (found < 0) return -1;
    if (!found) {
        bool *set;
        ct = engine_new_row(q, c, &set);
        engine_set(q, c, &ct, set, "name", sv_text(engine_text(l, lead, "name")));
        engine_set(q, c, &ct, set, "email", sv_text(email));
        engine_set(q, c, &ct, set, "phone", sv_text(engine_text(l, lead, "phone")));
        engine_set(q, c, &ct, set, "title", sv_text(engine_text(l, lead, "title")));
        if (company) engine_set(q, c, &ct, set, "company_id", sv_text(company));
        if (engine_insert(q, c, &ct, set)) return -1;
    }
    *id = arena_strdup(&q->a, ct.id);
    return 0;
}

/* Converts `old` (already loaded) and stores it with `stage` when given.
 * deal_body: vals/given of the convert action's body, or NULL for none. */
static int convert(api_req *q, const res_row *old, const store_val *v, const bool *given,
                   const char *stage)
{
    const res_def *l = res_find("leads"), *d = res_find("deals");
    const char *status = engine_text(l, old, "status");
    if (strcmp(status, "converted") == 0)
        return api_error(
            q, 409, "conflict", NULL, "lead %s was already converted (contact %s%s%s)", old->id,
            engine_text(l, old, "converted_contact_id")
                ? engine_text(l, old, "converted_contact_id")
                : "none",
            engine_text(l, old, "converted_deal_id") ? ", deal " : "",
            engine_text(l, old, "converted_deal_id") ? engine_text(l, old, "converted_deal_id")
                                                     : "");
    const char *company, *contact, *deal = NULL;
    if (convert_company(q, old, &company) || convert_contact(q, old, company, &contact)) return -1;
    if (v && v[0].kind == SV_INT && v[0].i) {
        bool *set;
        res_row dr = engine_new_row(q, d, &set);
        const char *name = given[1] ? v[1].s : engine_text(l, old, "name");
        engine_set(q, d, &dr, set, "name", sv_text(name ? name : engine_text(l, old, "email")));
        engine_set(q, d, &dr, set, "contact_id", sv_text(contact));
        engine_set(q, d, &dr, set, "company_id", sv_text(company));
        engine_set(q, d, &dr, set, "lead_id", sv_text(old->id));
        int vc = res_field_index(l, "value_cents");
        if (old->vals[vc].kind == SV_INT) engine_set(q, d, &dr, set, "amount_cents", old->vals[vc]);
        engine_set(q, d, &dr, set, "currency", sv_text(engine_text(l, old, "currency")));
        engine_set(q, d, &dr, set, "owner_id", sv_text(engine_text(l, old, "owner_id")));
        if (given[2]) engine_set(q, d, &dr, set, "pipeline_id", v[2]);
        if (given[3]) engine_set(q, d, &dr, set, "stage_id", v[3]);
        if (engine_insert(q, d, &dr, set)) return -1;
        deal = arena_strdup(&q->a, dr.id);
    }
    bool *set;
    res_row row = engine_copy_row(q, l, old, &set);
    engine_set(q, l, &row, set, "status", sv_text("converted"));
    engine_set(q, l, &row, set, "converted_at", sv_int((int64_t)time_now_ms()));
    engine_set(q, l, &row, set, "converted_contact_id", sv_text(contact));
    engine_set(q, l, &row, set, "converted_company_id", sv_text(company));
    engine_set(q, l, &row, set, "converted_deal_id", sv_text(deal));
    if (!engine_text(l, old, "contact_id"))
        engine_set(q, l, &row, set, "contact_id", sv_text(contact));
    if (!engine_text(l, old, "company_id") && company)
        engine_set(q, l, &row, set, "company_id", sv_text(company));
    if (stage) engine_set(q, l, &row, set, "stage", sv_text(stage));
    if (engine_update_row(q, l, old, &row, set, "converted")) return -1;
    return engine_respond(q, l, &row, 200);
}

int lead_convert(api_req *q)
{
    const res_action *a = q->route->action;
    store_val v[4];
    bool given[4];
    if (api_params_check(q)) return -1;
    if (engine_parse_fields(q, a->body, a->nbody, q->json, v, given)) return -1;
    res_row old;
    if (engine_load(q, res_find("leads"), q->pv[0], NULL, &old)) return -1;
    if (given[2]) {
        res_row p;
        if (engine_load(q, res_find("pipelines"), v[2].s, "pipeline_id", &p)) return -1;
    }
    return convert(q, &old, v, given, NULL);
}

/* PATCH /leads/{id}/stage {stage}: won converts, lost disqualifies, any
 * other stage is recorded (reviving a disqualified lead). */
int lead_stage(api_req *q)
{
    const res_def *l = res_find("leads");
    const res_action *a = q->route->action;
    store_val v[1];
    bool given[1];
    if (api_params_check(q)) return -1;
    if (engine_parse_fields(q, a->body, a->nbody, q->json, v, given)) return -1;
    res_row old;
    if (engine_load(q, l, q->pv[0], NULL, &old)) return -1;
    const char *status = engine_text(l, &old, "status"), *stage = v[0].s;
    if (strcmp(status, "converted") == 0)
        return api_error(q, 409, "conflict", "stage",
                         "lead %s is converted; its stage can no longer change", old.id);
    if (strcmp(stage, "won") == 0) return convert(q, &old, NULL, NULL, stage);
    bool *set;
    res_row row = engine_copy_row(q, l, &old, &set);
    engine_set(q, l, &row, set, "stage", sv_text(stage));
    if (strcmp(stage, "lost") == 0)
        engine_set(q, l, &row, set, "status", sv_text("disqualified"));
    else if (strcmp(status, "disqualified") == 0)
        engine_set(q, l, &row, set, "status", sv_text("working"));
    if (engine_update_row(q, l, &old, &row, set, "stage_changed")) return -1;
    return engine_respond(q, l, &row, 200);
}
