/* leads.c - what leads do beyond the generic engine: conversion into a
 * contact, a company and optionally a deal in one transaction; stage moves
 * with win/loss automation. (Activities on a lead are a sub-list.) */
#include <string.h>

#include "core/timeutil.h"
#include "resources/engine.h"
#include "resources/hooks.h"

/* The lead's company: its company_id, one named like its company_name, or
 * a new one. *id stays NULL when the lead names no company. */
static int convert_company(engine_call *c, const res_row *lead, const char **id)
{
    const res_def *co_r = RES(COMPANY);
    *id = engine_text(lead, LEAD_company_id);
    const char *name = engine_text(lead, LEAD_company_name);
    if (*id || !name) return 0;
    res_row co;
    int found = engine_find_by(c, co_r, COMPANY_name, name, &co);
    if (found < 0) return -1;
    if (!found) {
        bool *set;
        co = engine_new_row(c, co_r, &set);
        engine_set(&co, set, COMPANY_name, sv_text(name));
        if (engine_insert(c, co_r, &co, set)) return -1;
    }
    *id = arena_strdup(c->a, co.id);
    return 0;
}

/* The lead's contact: its contact_id, one with its email, or a new one. */
static int convert_contact(engine_call *c, const res_row *lead, const char *company,
                           const char **id)
{
    const res_def *ct_r = RES(CONTACT);
    *id = engine_text(lead, LEAD_contact_id);
    if (*id) return 0;
    const char *email = engine_text(lead, LEAD_email);
    res_row ct;
    int found = email ? engine_find_by(c, ct_r, CONTACT_email, email, &ct) : 0;
    if (found < 0) return -1;
    if (!found) {
        bool *set;
        ct = engine_new_row(c, ct_r, &set);
        engine_set(&ct, set, CONTACT_name, sv_text(engine_text(lead, LEAD_name)));
        engine_set(&ct, set, CONTACT_email, sv_text(email));
        engine_set(&ct, set, CONTACT_phone, sv_text(engine_text(lead, LEAD_phone)));
        engine_set(&ct, set, CONTACT_title, sv_text(engine_text(lead, LEAD_title)));
        if (company) engine_set(&ct, set, CONTACT_company_id, sv_text(company));
        if (engine_insert(c, ct_r, &ct, set)) return -1;
    }
    *id = arena_strdup(c->a, ct.id);
    return 0;
}

/* Converts `old` (already loaded) and stores it with `stage` when given.
 * deal_body: vals/given of the convert action's body, or NULL for none. */
static int convert(engine_call *c, const res_row *old, const store_val *v, const bool *given,
                   const char *stage)
{
    const res_def *l = RES(LEAD), *d = RES(DEAL);
    const char *status = engine_text(old, LEAD_status);
    if (strcmp(status, "converted") == 0)
        return engine_fail(
            c, EK_CONFLICT, NULL, "lead %s was already converted (contact %s%s%s)", old->id,
            engine_text(old, LEAD_converted_contact_id)
                ? engine_text(old, LEAD_converted_contact_id)
                : "none",
            engine_text(old, LEAD_converted_deal_id) ? ", deal " : "",
            engine_text(old, LEAD_converted_deal_id) ? engine_text(old, LEAD_converted_deal_id)
                                                     : "");
    const char *company, *contact, *deal = NULL;
    if (convert_company(c, old, &company) || convert_contact(c, old, company, &contact)) return -1;
    if (v && v[CONVERT_create_deal].kind == SV_INT && v[CONVERT_create_deal].i) {
        bool *set;
        res_row dr = engine_new_row(c, d, &set);
        const char *name =
            given[CONVERT_deal_name] ? v[CONVERT_deal_name].s : engine_text(old, LEAD_name);
        engine_set(&dr, set, DEAL_name, sv_text(name ? name : engine_text(old, LEAD_email)));
        engine_set(&dr, set, DEAL_contact_id, sv_text(contact));
        engine_set(&dr, set, DEAL_company_id, sv_text(company));
        engine_set(&dr, set, DEAL_lead_id, sv_text(old->id));
        if (old->vals[LEAD_value_cents].kind == SV_INT)
            engine_set(&dr, set, DEAL_amount_cents, old->vals[LEAD_value_cents]);
        engine_set(&dr, set, DEAL_currency, sv_text(engine_text(old, LEAD_currency)));
        engine_set(&dr, set, DEAL_owner_id, sv_text(engine_text(old, LEAD_owner_id)));
        if (given[CONVERT_pipeline_id])
            engine_set(&dr, set, DEAL_pipeline_id, v[CONVERT_pipeline_id]);
        if (given[CONVERT_stage_id]) engine_set(&dr, set, DEAL_stage_id, v[CONVERT_stage_id]);
        if (engine_insert(c, d, &dr, set)) return -1;
        deal = arena_strdup(c->a, dr.id);
    }
    bool *set;
    res_row row = engine_copy_row(c, l, old, &set);
    engine_set(&row, set, LEAD_status, sv_text("converted"));
    engine_set(&row, set, LEAD_converted_at, sv_int((int64_t)time_now_ms()));
    engine_set(&row, set, LEAD_converted_contact_id, sv_text(contact));
    engine_set(&row, set, LEAD_converted_company_id, sv_text(company));
    engine_set(&row, set, LEAD_converted_deal_id, sv_text(deal));
    if (!engine_text(old, LEAD_contact_id))
        engine_set(&row, set, LEAD_contact_id, sv_text(contact));
    if (!engine_text(old, LEAD_company_id) && company)
        engine_set(&row, set, LEAD_company_id, sv_text(company));
    if (stage) engine_set(&row, set, LEAD_stage, sv_text(stage));
    if (engine_update_row(c, l, old, &row, set, "converted")) return -1;
    return engine_respond(c, l, &row, EK_OK);
}

int lead_convert(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[CONVERT__COUNT];
    bool given[CONVERT__COUNT];
    if (engine_params_check(c)) return -1;
    if (engine_parse_fields(c, a->body, a->nbody, c->body, v, given)) return -1;
    res_row old, p, s;
    if (engine_load(c, RES(LEAD), c->ids[0], NULL, &old)) return -1;
    if (given[CONVERT_pipeline_id] &&
        engine_load(c, RES(PIPELINE), v[CONVERT_pipeline_id].s, "pipeline_id", &p))
        return -1;
    if (given[CONVERT_stage_id] &&
        engine_load(c, RES(STAGE), v[CONVERT_stage_id].s, "stage_id", &s))
        return -1;
    /* The deal's fields say how to make a deal: without one they would be
     * ignored, so they are refused. */
    static const int deal_only[] = {CONVERT_deal_name, CONVERT_pipeline_id, CONVERT_stage_id};
    bool deal = v[CONVERT_create_deal].kind == SV_INT && v[CONVERT_create_deal].i;
    for (size_t i = 0; i < sizeof deal_only / sizeof deal_only[0] && !deal; i++)
        if (given[deal_only[i]])
            return engine_fail(c, EK_INVALID, a->body[deal_only[i]].name,
                               "%s applies only with create_deal: true",
                               a->body[deal_only[i]].name);
    return convert(c, &old, v, given, NULL);
}

/* PATCH /leads/{id}/stage {stage}: won converts, lost disqualifies, any
 * other stage is recorded (reviving a disqualified lead). */
int lead_stage(engine_call *c)
{
    const res_def *l = RES(LEAD);
    const res_action *a = c->action;
    store_val v[LEAD_STAGE__COUNT];
    bool given[LEAD_STAGE__COUNT];
    if (engine_params_check(c)) return -1;
    if (engine_parse_fields(c, a->body, a->nbody, c->body, v, given)) return -1;
    res_row old;
    if (engine_load(c, l, c->ids[0], NULL, &old)) return -1;
    const char *status = engine_text(&old, LEAD_status), *stage = v[LEAD_STAGE_stage].s;
    if (strcmp(status, "converted") == 0)
        return engine_fail(c, EK_CONFLICT, "stage",
                           "lead %s is converted; its stage can no longer change", old.id);
    if (strcmp(stage, "won") == 0) return convert(c, &old, NULL, NULL, stage);
    bool *set;
    res_row row = engine_copy_row(c, l, &old, &set);
    engine_set(&row, set, LEAD_stage, sv_text(stage));
    if (strcmp(stage, "lost") == 0)
        engine_set(&row, set, LEAD_status, sv_text("disqualified"));
    else if (strcmp(status, "disqualified") == 0)
        engine_set(&row, set, LEAD_status, sv_text("working"));
    if (engine_update_row(c, l, &old, &row, set, "stage_changed")) return -1;
    return engine_respond(c, l, &row, EK_OK);
}
