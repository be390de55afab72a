/* outbound.c - what members and the outbound-operations family do beyond
 * the generic engine: a member's email is unique in the workspace whatever
 * its case (the table's unique index compares bytes); a script template's
 * nodes form a call path an agent can follow (keys unique, yesno branches
 * Oui and Non, select branches among the options, no branch into nothing),
 * its first node the start. Errors name the element at fault
 * (nodes[2].branches[1].label) and the node's key, so a tool or a person
 * finds it in a long script. A qualification template's fields have
 * distinct keys that answers can name; a campaign ends after it starts.
 * A campaign contact goes to the campaign's default assignee unless told
 * otherwise, and while open counts against its assignee's capacity (read
 * from the rollup per assignee and status, one row per status); a call log
 * belongs to a campaign contact of its campaign and contact, and counts as
 * one of its attempts. A script execution's responses and a
 * qualification's answers are checked against the campaign's templates
 * (kept on the record: later answers are checked against the same one),
 * each refusal naming the response or answer at fault.
 *
 * Below the hooks, 002's outbound tools (table actions, so REST, MCP and
 * the agent API share them): the workspace's counts, agents and their
 * workloads, campaigns with their contact counts, overlaps between
 * campaigns, a campaign's contacts with their names, template exports and
 * imports, attaching templates, adding the contacts a filter selects,
 * removing and assigning campaign contacts in bulk, upserting a script
 * execution, and the duplicates an import folder brought. Counts come
 * from rollups or grouped queries; every write goes through the engine's
 * own insert, update and delete, so hooks, rollups and events hold. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

#include "resources/engine.h"
#include "resources/hooks.h"

/* ---------------------------------------------------------------- members */

static int member_before(res_write *w)
{
    const char *email = engine_text(w->row, MEMBER_email);
    if (!email || !w->set[MEMBER_email]) return 0;
    res_row other;
    int found = engine_find_by(w->c, w->r, MEMBER_email, email, &other);
    if (found < 0) return -1;
    if (found && strcmp(other.id, w->row->id) != 0)
        return engine_fail(w->c, EK_CONFLICT, "email", "member %s already has the email %s",
                           other.id, engine_text(&other, MEMBER_email));
    return 0;
}

const res_hooks member_hooks = {.before_write = member_before};

/* -------------------------------------------------------- script templates */

static bool is(const char *s, const char *v)
{
    return s && strcmp(s, v) == 0;
}

static const char *member_str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The index of the node keyed `key` in nodes, or -1. */
static int node_index(json_t *nodes, const char *key)
{
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        if (is(member_str(n, "key"), key)) return (int)i;
    }
    return -1;
}

/* Options are distinct; only a select has them and it needs some.
 * `list` and `what` say where: "nodes" and "node", "fields" and "field". */
static int check_options(engine_call *c, const char *list, const char *what, size_t i,
                         const char *key, const char *type, json_t *opts)
{
    size_t n = json_array_size(opts);
    const char *p = arena_printf(c->a, "%s[%zu].options", list, i);
    if (!is(type, "select") && n)
        return engine_fail(c, EK_INVALID, p, "%s: %s '%s' is a %s; only a select has options", p,
                           what, key, type);
    if (is(type, "select") && !n)
        return engine_fail(c, EK_INVALID, p, "%s: select %s '%s' needs at least one option", p,
                           what, key);
    for (size_t k = 1; k < n; k++)
        for (size_t m = 0; m < k; m++)
            if (is(json_string_value(json_array_get(opts, k)),
                   json_string_value(json_array_get(opts, m)))) {
                const char *pk = arena_printf(c->a, "%s[%zu]", p, k);
                return engine_fail(c, EK_INVALID, pk, "%s: %s '%s' lists option '%s' twice", pk,
                                   what, key, json_string_value(json_array_get(opts, k)));
            }
    return 0;
}

/* A node's branches fit its type and lead to nodes of the template. */
static int check_branches(engine_call *c, json_t *nodes, size_t i, const char *key,
                          const char *type, json_t *opts, json_t *branches)
{
    bool yesno = is(type, "yesno"), select = is(type, "select");
    size_t n = json_array_size(branches), k;
    json_t *b;
    if (!yesno && !select && n > 1)
        return engine_fail(c, EK_INVALID, arena_printf(c->a, "nodes[%zu].branches[1]", i),
                           "nodes[%zu].branches[1]: %s node '%s' has at most one next node", i,
                           type, key);
    json_array_foreach(branches, k, b)
    {
        const char *label = member_str(b, "label"), *next = member_str(b, "next");
        const char *lp = arena_printf(c->a, "nodes[%zu].branches[%zu].label", i, k);
        if (!yesno && !select && label)
            return engine_fail(c, EK_INVALID, lp,
                               "%s: %s node '%s' goes on unconditionally; its branch has no "
                               "label (got '%s')",
                               lp, type, key, label);
        if (yesno && !is(label, "Oui") && !is(label, "Non"))
            return engine_fail(c, EK_INVALID, lp,
                               "%s: yesno node '%s' branches are labelled Oui and Non, not '%s'",
                               lp, key, label ? label : "(none)");
        if (select) {
            bool found = false;
            size_t m;
            json_t *o;
            json_array_foreach(opts, m, o)
            {
                found = found || is(json_string_value(o), label);
            }
            if (!found)
                return engine_fail(c, EK_INVALID, lp,
                                   "%s: select node '%s' has no option '%s'; a branch label is one "
                                   "of its options",
                                   lp, key, label ? label : "(none)");
        }
        for (size_t m = 0; (yesno || select) && m < k; m++)
            if (is(member_str(json_array_get(branches, m), "label"), label))
                return engine_fail(c, EK_INVALID, lp, "%s: node '%s' has two branches '%s'", lp,
                                   key, label);
        if (node_index(nodes, next) < 0) {
            const char *np = arena_printf(c->a, "nodes[%zu].branches[%zu].next", i, k);
            return engine_fail(c, EK_INVALID, np,
                               "%s: branch %s%s%sof node '%s' leads to '%s', which is no node of "
                               "the template",
                               np, label ? "'" : "", label ? label : "", label ? "' " : "", key,
                               next);
        }
    }
    if (yesno && n != 2)
        return engine_fail(c, EK_INVALID, arena_printf(c->a, "nodes[%zu].branches", i),
                           "nodes[%zu].branches: yesno node '%s' needs two branches, Oui and Non "
                           "(it has %zu)",
                           i, key, n);
    return 0;
}

/* Keys first: a branch's next is only meaningful once they are known. */
static int check_nodes(engine_call *c, json_t *nodes)
{
    size_t i;
    json_t *node;
    json_array_foreach(nodes, i, node)
    {
        const char *key = member_str(node, "key");
        int first = node_index(nodes, key);
        if (first != (int)i)
            return engine_fail(c, EK_INVALID, arena_printf(c->a, "nodes[%zu].key", i),
                               "nodes[%zu].key: '%s' is already the key of nodes[%d]", i, key,
                               first);
    }
    json_array_foreach(nodes, i, node)
    {
        const char *key = member_str(node, "key"), *type = member_str(node, "type");
        json_t *opts = json_object_get(node, "options"),
               *branches = json_object_get(node, "branches");
        if (check_options(c, "nodes", "node", i, key, type, opts) ||
            check_branches(c, nodes, i, key, type, opts, branches))
            return -1;
    }
    return 0;
}

static int script_before(res_write *w)
{
    if (!w->is_create && !w->set[SCRIPT_nodes] && !w->set[SCRIPT_status]) return 0;
    json_t *nodes = engine_items(w->row, SCRIPT_nodes);
    int rc = check_nodes(w->c, nodes);
    if (rc == 0 && is(engine_text(w->row, SCRIPT_status), "active") && !json_array_size(nodes))
        rc = engine_fail(w->c, EK_INVALID, "nodes", "an active script template needs nodes");
    const char *start = json_array_size(nodes) ? member_str(json_array_get(nodes, 0), "key") : NULL;
    if (rc == 0)
        engine_set(w->row, w->set, SCRIPT_start_node_key,
                   start ? sv_text(arena_strdup(w->c->a, start)) : (store_val){.kind = SV_NULL});
    json_decref(nodes);
    return rc;
}

static int script_before_delete(res_write *w);

const res_hooks script_hooks = {.before_write = script_before,
                                .before_delete = script_before_delete};

/* ------------------------------------------------- qualification templates */

/* Keys become answer paths (answers.<key>): plain names only. */
static bool plain_key(const char *k)
{
    if (!k || !*k) return false;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
              *k == '_' || *k == '-'))
            return false;
    return true;
}

static int check_qfields(engine_call *c, json_t *fields)
{
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        const char *key = member_str(f, "key"), *type = member_str(f, "type");
        const char *p = arena_printf(c->a, "fields[%zu].key", i);
        if (!plain_key(key))
            return engine_fail(c, EK_INVALID, p, "%s: '%s' may hold only letters, digits, _ and -",
                               p, key);
        for (size_t k = 0; k < i; k++)
            if (is(member_str(json_array_get(fields, k), "key"), key))
                return engine_fail(c, EK_INVALID, p, "%s: '%s' is already the key of fields[%zu]",
                                   p, key, k);
        if (check_options(c, "fields", "field", i, key, type, json_object_get(f, "options")))
            return -1;
    }
    return 0;
}

static int qualt_before(res_write *w)
{
    if (!w->is_create && !w->set[QUALT_fields] && !w->set[QUALT_status]) return 0;
    json_t *fields = engine_items(w->row, QUALT_fields);
    int rc = check_qfields(w->c, fields);
    if (rc == 0 && is(engine_text(w->row, QUALT_status), "active") && !json_array_size(fields))
        rc = engine_fail(w->c, EK_INVALID, "fields",
                         "an active qualification template needs fields");
    json_decref(fields);
    return rc;
}

static int qualt_before_delete(res_write *w);

const res_hooks qualt_hooks = {.before_write = qualt_before, .before_delete = qualt_before_delete};

/* ------------------------------------------------------------- campaigns */

static int campaign_before(res_write *w)
{
    const store_val *s = &w->row->vals[CAMPAIGN_starts_at], *e = &w->row->vals[CAMPAIGN_ends_at];
    if ((w->set[CAMPAIGN_starts_at] || w->set[CAMPAIGN_ends_at]) && s->kind == SV_INT &&
        e->kind == SV_INT && e->i <= s->i)
        return engine_fail(w->c, EK_INVALID, w->set[CAMPAIGN_ends_at] ? "ends_at" : "starts_at",
                           "ends_at must be after starts_at");
    return 0;
}

const res_hooks campaign_hooks = {.before_write = campaign_before};

/* A template a campaign uses stays: archive it instead. */
static int template_in_use(res_write *w, int field)
{
    res_row camp;
    int found = engine_find_by(w->c, RES(CAMPAIGN), field, w->old->id, &camp);
    if (found <= 0) return found;
    return engine_fail(w->c, EK_CONFLICT, NULL,
                       "%s %s is used by campaign %s: archive it instead, or detach it first",
                       w->r->singular, w->old->id, camp.id);
}

static int script_before_delete(res_write *w)
{
    return template_in_use(w, CAMPAIGN_script_template_id);
}

static int qualt_before_delete(res_write *w)
{
    return template_in_use(w, CAMPAIGN_qualification_template_id);
}

/* ------------------------------------------------------ campaign contacts */

static bool open_status(const char *s)
{
    return is(s, "pending") || is(s, "in_progress") || is(s, "follow_up");
}

/* How many open campaign contacts member `id` holds, from the rollup. */
static int open_load(engine_call *c, const char *id, int64_t *out)
{
    res_def two = res_rollup2_def(RES(CCONTACT));
    const char *match[3] = {id, NULL, NULL};
    store_agg_row *rows;
    int n;
    store_err e;
    int rc = store_rollup_list(c->conn, c->a, &two, c->ws, match, NULL, &rows, &n, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    *out = 0;
    for (int i = 0; i < n; i++)
        if (rows[i].key[1].kind == SV_TEXT && open_status(rows[i].key[1].s)) *out += rows[i].count;
    return 0;
}

static int check_capacity(res_write *w)
{
    const char *who = engine_text(w->row, CCONTACT_assignee_id);
    bool now_open = open_status(engine_text(w->row, CCONTACT_status));
    const char *was = w->old ? engine_text(w->old, CCONTACT_assignee_id) : NULL;
    bool was_open = w->old && open_status(engine_text(w->old, CCONTACT_status));
    if (!who || !now_open || (is(was, who) && was_open))
        return 0; /* it holds no more than before */
    res_row m;
    int64_t held = 0;
    if (engine_load(w->c, RES(MEMBER), who, "assignee_id", &m)) return -1;
    if (is(engine_text(&m, MEMBER_status), "inactive"))
        return engine_fail(w->c, EK_CONFLICT, "assignee_id",
                           "member %s is inactive: assign the contact to an active member", who);
    if (open_load(w->c, who, &held)) return -1;
    int64_t cap = engine_int(&m, MEMBER_capacity, 0);
    if (held + 1 > cap)
        return engine_fail(w->c, EK_CONFLICT, "assignee_id",
                           "member %s already holds %lld open campaign contacts, their capacity",
                           who, (long long)held);
    return 0;
}

static int ccontact_before(res_write *w)
{
    if (w->is_create && !engine_text(w->row, CCONTACT_assignee_id)) {
        res_row camp;
        if (engine_load(w->c, RES(CAMPAIGN), engine_text(w->row, CCONTACT_campaign_id), NULL,
                        &camp))
            return -1;
        const char *dflt = engine_text(&camp, CAMPAIGN_default_assignee_id);
        if (dflt) engine_set(w->row, w->set, CCONTACT_assignee_id, sv_text(dflt));
    }
    if (!w->is_create && !w->set[CCONTACT_assignee_id] && !w->set[CCONTACT_status]) return 0;
    return check_capacity(w);
}

const res_hooks ccontact_hooks = {.before_write = ccontact_before};

/* -------------------------------------------------------------- call logs */

/* The campaign contact of the log's campaign and contact: 1 found, 0 none. */
static int find_ccontact(engine_call *c, const char *campaign, const char *contact, res_row *out)
{
    store_filter f[2] = {{.field = CCONTACT_campaign_id, .v = sv_text(campaign)},
                         {.field = CCONTACT_contact_id, .v = sv_text(contact)}};
    store_query q = {.filters = f, .nfilters = 2, .limit = 1, .link_field = -1};
    res_row *rows;
    int n;
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, RES(CCONTACT), c->ws, &q, &rows, &n, &more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    if (n) *out = rows[0];
    return n > 0;
}

static int calllog_before(res_write *w)
{
    res_row *row = w->row;
    if (w->is_create && row->vals[CALLLOG_called_at].kind == SV_NULL)
        engine_set(row, w->set, CALLLOG_called_at, sv_int((int64_t)time_now_ms()));
    const char *camp = engine_text(row, CALLLOG_campaign_id),
               *con = engine_text(row, CALLLOG_contact_id),
               *cc = engine_text(row, CALLLOG_campaign_contact_id);
    res_row ccr;
    if (w->is_create && !cc && !w->set[CALLLOG_campaign_contact_id]) {
        int found = find_ccontact(w->c, camp, con, &ccr);
        if (found < 0) return -1;
        if (found)
            engine_set(row, w->set, CALLLOG_campaign_contact_id,
                       sv_text(arena_strdup(w->c->a, ccr.id)));
        return 0;
    }
    if (!cc || !w->set[CALLLOG_campaign_contact_id]) return 0;
    if (engine_load(w->c, RES(CCONTACT), cc, "campaign_contact_id", &ccr)) return -1;
    if (!is(engine_text(&ccr, CCONTACT_campaign_id), camp) ||
        !is(engine_text(&ccr, CCONTACT_contact_id), con))
        return engine_fail(w->c, EK_INVALID, "campaign_contact_id",
                           "campaign contact %s is contact %s in campaign %s, not contact %s in "
                           "campaign %s",
                           cc, engine_text(&ccr, CCONTACT_contact_id),
                           engine_text(&ccr, CCONTACT_campaign_id), con, camp);
    return 0;
}

/* A new call is one more attempt of its campaign contact. */
static int calllog_after(res_write *w)
{
    const char *cc = engine_text(w->row, CALLLOG_campaign_contact_id);
    if (!w->is_create || !cc) return 0;
    res_row old;
    if (engine_load(w->c, RES(CCONTACT), cc, "campaign_contact_id", &old)) return -1;
    bool *set;
    res_row row = engine_copy_row(w->c, RES(CCONTACT), &old, &set);
    int64_t at = engine_int(w->row, CALLLOG_called_at, 0);
    engine_set(&row, set, CCONTACT_attempts, sv_int(engine_int(&old, CCONTACT_attempts, 0) + 1));
    if (at > engine_int(&old, CCONTACT_last_called_at, INT64_MIN))
        engine_set(&row, set, CCONTACT_last_called_at, sv_int(at));
    return engine_save(w->c, RES(CCONTACT), &row, &old, set);
}

const res_hooks calllog_hooks = {.before_write = calllog_before, .after_write = calllog_after};

/* ----------------------------------------- script executions, qualifications */

/* The template a record of campaign `camp` is checked against: the one it
 * was (field `own` of row), else the campaign's (field `of_campaign`),
 * loaded into *t; 0 with *t untouched when there is none. */
static int campaign_template(res_write *w, int own, int camp_field, int of_campaign,
                             const res_def *tr, res_row *t, bool *found)
{
    *found = false;
    const char *id = engine_text(w->row, own);
    if (!id) {
        res_row camp;
        if (engine_load(w->c, RES(CAMPAIGN), engine_text(w->row, camp_field), "campaign_id", &camp))
            return -1;
        id = engine_text(&camp, of_campaign);
        if (!id) return 0;
        engine_set(w->row, w->set, own, sv_text(id));
    }
    if (engine_load(w->c, tr, id, w->r->fields[own].name, t)) return -1;
    *found = true;
    return 0;
}

static int check_response(engine_call *c, json_t *nodes, json_t *resps, size_t i, const char *tid)
{
    json_t *r = json_array_get(resps, i);
    const char *key = member_str(r, "node_key"), *answer = member_str(r, "answer");
    const char *kp = arena_printf(c->a, "responses[%zu].node_key", i),
               *ap = arena_printf(c->a, "responses[%zu].answer", i);
    int n = node_index(nodes, key);
    if (n < 0)
        return engine_fail(c, EK_INVALID, kp, "%s: '%s' is no node of script template %s", kp, key,
                           tid);
    for (size_t k = 0; k < i; k++)
        if (is(member_str(json_array_get(resps, k), "node_key"), key))
            return engine_fail(c, EK_INVALID, kp, "%s: node '%s' is answered twice", kp, key);
    json_t *node = json_array_get(nodes, (size_t)n);
    const char *type = member_str(node, "type");
    if (is(type, "instruction") && answer)
        return engine_fail(c, EK_INVALID, ap, "%s: node '%s' is an instruction: it takes no answer",
                           ap, key);
    if (is(type, "yesno") && answer && !is(answer, "Oui") && !is(answer, "Non"))
        return engine_fail(c, EK_INVALID, ap, "%s: node '%s' is answered Oui or Non, not '%s'", ap,
                           key, answer);
    if (is(type, "select") && answer) {
        bool found = false;
        size_t m;
        json_t *o;
        json_array_foreach(json_object_get(node, "options"), m, o)
        {
            found = found || is(json_string_value(o), answer);
        }
        if (!found)
            return engine_fail(c, EK_INVALID, ap, "%s: '%s' is no option of node '%s'", ap, answer,
                               key);
    }
    return 0;
}

static int sexec_before(res_write *w)
{
    if (!w->is_create && !w->set[SEXEC_responses]) return 0;
    json_t *resps = engine_items(w->row, SEXEC_responses);
    res_row t;
    bool found;
    int rc = campaign_template(w, SEXEC_script_template_id, SEXEC_campaign_id,
                               CAMPAIGN_script_template_id, RES(SCRIPT), &t, &found);
    if (rc == 0 && !found && json_array_size(resps))
        rc = engine_fail(w->c, EK_CONFLICT, "campaign_id",
                         "campaign %s has no script template to check the responses against",
                         engine_text(w->row, SEXEC_campaign_id));
    if (rc == 0 && found) {
        json_t *nodes = engine_items(&t, SCRIPT_nodes);
        for (size_t i = 0; rc == 0 && i < json_array_size(resps); i++)
            rc = check_response(w->c, nodes, resps, i, t.id);
        json_decref(nodes);
    }
    json_decref(resps);
    return rc;
}

const res_hooks sexec_hooks = {.before_write = sexec_before};

/* One answer against its field: 0, or -1 naming answers.<key>. */
static int check_answer(engine_call *c, json_t *field, json_t *v)
{
    const char *key = member_str(field, "key"), *type = member_str(field, "type");
    const char *p = arena_printf(c->a, "answers.%s", key);
    if (!v) {
        if (!json_is_true(json_object_get(field, "required"))) return 0;
        return engine_fail(c, EK_INVALID, p, "%s is required (field '%s')", p,
                           member_str(field, "label"));
    }
    bool ok = is(type, "number")    ? json_is_number(v)
              : is(type, "boolean") ? json_is_boolean(v)
                                    : json_is_string(v);
    if (ok && is(type, "date")) ok = time_parse_date(json_string_value(v));
    if (!ok)
        return engine_fail(c, EK_INVALID, p, "%s must be %s", p,
                           is(type, "number")    ? "a number"
                           : is(type, "boolean") ? "a boolean"
                           : is(type, "date")    ? "a date (YYYY-MM-DD)"
                                                 : "a string");
    if (is(type, "select")) {
        bool found = false;
        size_t m;
        json_t *o;
        json_array_foreach(json_object_get(field, "options"), m, o)
        {
            found = found || is(json_string_value(o), json_string_value(v));
        }
        if (!found)
            return engine_fail(c, EK_INVALID, p, "%s: '%s' is not one of the field's options", p,
                               json_string_value(v));
    }
    return 0;
}

static int qual_before(res_write *w)
{
    if (!w->is_create && !w->set[QUAL_answers]) return 0;
    res_row t;
    bool found;
    if (campaign_template(w, QUAL_qualification_template_id, QUAL_campaign_id,
                          CAMPAIGN_qualification_template_id, RES(QUALT), &t, &found))
        return -1;
    if (!found)
        return engine_fail(w->c, EK_CONFLICT, "campaign_id",
                           "campaign %s has no qualification template to check the answers "
                           "against",
                           engine_text(w->row, QUAL_campaign_id));
    json_t *answers = json_loads(engine_text(w->row, QUAL_answers), 0, NULL);
    json_t *fields = engine_items(&t, QUALT_fields);
    int rc = 0;
    const char *k;
    json_t *v;
    json_object_foreach(answers, k, v)
    {
        size_t i;
        json_t *f;
        bool known = false;
        json_array_foreach(fields, i, f)
        {
            known = known || is(member_str(f, "key"), k);
        }
        if (!known) {
            const char *p = arena_printf(w->c->a, "answers.%s", k);
            rc = engine_fail(w->c, EK_INVALID, p, "%s: qualification template %s has no field '%s'",
                             p, t.id, k);
            break;
        }
    }
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        if (rc) break;
        rc = check_answer(w->c, f, json_object_get(answers, member_str(f, "key")));
    }
    json_decref(fields);
    json_decref(answers);
    return rc;
}

const res_hooks qual_hooks = {.before_write = qual_before};

/* ==================================================================== tools
 * 002's outbound tools, one table action each (schema/resources.def). Counts
 * come from the campaign contacts' two rollups (per campaign and status, per
 * assignee and status: one row per status whatever the number of contacts)
 * or from one grouped query; lists page as GET /v1/... lists do. */

/* Counts per status, in cc_status's order, and their total. */
typedef struct status_counts {
    int64_t n[8];
    int64_t total, open;
} status_counts;

static const char *const *cc_statuses(void)
{
    return RES(CCONTACT)->fields[CCONTACT_status].enum_vals;
}

static void count_status(status_counts *sc, const store_val *status, int64_t n)
{
    const char *const *v = cc_statuses();
    for (int i = 0; v[i] && i < 8; i++)
        if (status->kind == SV_TEXT && is(status->s, v[i])) sc->n[i] += n;
    sc->total += n;
    if (status->kind == SV_TEXT && open_status(status->s)) sc->open += n;
}

/* The rollup groups of r whose first key is `id` (every group when NULL),
 * folded by their second key, the status. */
static int rollup_counts(engine_call *c, const res_def *r, const char *id, status_counts *sc)
{
    const char *match[3] = {id, NULL, NULL};
    store_agg_row *rows;
    int n;
    store_err e;
    int rc = store_rollup_list(c->conn, c->a, r, c->ws, id ? match : NULL, NULL, &rows, &n, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    *sc = (status_counts){0};
    for (int i = 0; i < n; i++)
        count_status(sc, &rows[i].key[1], rows[i].count);
    return 0;
}

static int campaign_counts(engine_call *c, const char *campaign, status_counts *sc)
{
    return rollup_counts(c, RES(CCONTACT), campaign, sc);
}

static int member_counts(engine_call *c, const char *member, status_counts *sc)
{
    res_def two = res_rollup2_def(RES(CCONTACT));
    return rollup_counts(c, &two, member, sc);
}

static void write_counts(jw *w, const char *key, const status_counts *sc)
{
    jw_key(w, key);
    jw_obj_open(w);
    jw_kint(w, "total", sc->total);
    jw_kint(w, "open", sc->open);
    jw_key(w, "by_status");
    jw_obj_open(w);
    const char *const *v = cc_statuses();
    for (int i = 0; v[i] && i < 8; i++)
        jw_kint(w, v[i], sc->n[i]);
    jw_obj_close(w);
    jw_obj_close(w);
}

/* Count of r's records, and per value of `field` when field >= 0. */
static int write_tally(engine_call *c, jw *w, const char *key, const res_def *r, int field)
{
    store_agg_row *rows;
    int n;
    if (engine_aggregate(c, r, NULL, 0, field, -1, -1, &rows, &n)) return -1;
    int64_t total = 0;
    for (int i = 0; i < n; i++)
        total += rows[i].count;
    if (field < 0) {
        jw_kint(w, key, total);
        return 0;
    }
    jw_key(w, key);
    jw_obj_open(w);
    jw_kint(w, "total", total);
    jw_key(w, arena_printf(c->a, "by_%s", r->fields[field].name));
    jw_obj_open(w);
    for (const char *const *v = r->fields[field].enum_vals; *v; v++) {
        int64_t k = 0;
        for (int i = 0; i < n; i++)
            if (rows[i].key[0].kind == SV_TEXT && is(rows[i].key[0].s, *v)) k = rows[i].count;
        jw_kint(w, *v, k);
    }
    jw_obj_close(w);
    jw_obj_close(w);
    return 0;
}

int outbound_overview(engine_call *c)
{
    if (engine_params_check(c)) return -1;
    status_counts cc;
    if (campaign_counts(c, NULL, &cc)) return -1;
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "crm_workspace_overview");
    if (write_tally(c, w, "contacts", RES(CONTACT), -1) ||
        write_tally(c, w, "companies", RES(COMPANY), -1) ||
        write_tally(c, w, "members", RES(MEMBER), MEMBER_role) ||
        write_tally(c, w, "campaigns", RES(CAMPAIGN), CAMPAIGN_status))
        return -1;
    write_counts(w, "campaign_contacts", &cc);
    if (write_tally(c, w, "script_templates", RES(SCRIPT), SCRIPT_status) ||
        write_tally(c, w, "qualification_templates", RES(QUALT), QUALT_status) ||
        write_tally(c, w, "call_logs", RES(CALLLOG), -1))
        return -1;
    jw_obj_close(w);
    return 0;
}

/* A page of r for the call's parameters (limit, cursor, filters), limited
 * to field = value when field >= 0. */
static int tool_page(engine_call *c, const res_def *r, int field, const char *value, res_row **rows,
                     int *n, const char **next)
{
    store_query sq;
    bool none;
    if (engine_parse_query(c, r, &sq, &none) || engine_params_check(c)) return -1;
    *rows = NULL, *n = 0, *next = NULL;
    if (field >= 0) {
        sq.link_field = field;
        sq.link_value = value;
    }
    return none ? 0 : engine_page(c, r, &sq, NULL, rows, n, next);
}

static void end_page(engine_call *c, jw *w, const char *next)
{
    jw_arr_close(w);
    c->out->list = true;
    c->out->next_cursor = next;
}

static void write_agent(jw *w, const res_row *m, const status_counts *sc)
{
    jw_obj_open(w);
    engine_write_members(w, RES(MEMBER), m);
    int64_t cap = engine_int(m, MEMBER_capacity, 0);
    jw_kint(w, "open_contacts", sc->open);
    jw_kint(w, "available_capacity", cap > sc->open ? cap - sc->open : 0);
    write_counts(w, "contact_counts", sc);
    jw_obj_close(w);
}

int outbound_agents(engine_call *c)
{
    res_row *rows;
    int n;
    const char *next;
    if (tool_page(c, RES(MEMBER), MEMBER_role, "agent", &rows, &n, &next)) return -1;
    status_counts *sc = arena_zalloc(c->a, sizeof *sc * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        if (member_counts(c, rows[i].id, &sc[i])) return -1;
    jw *w = engine_answer(c);
    jw_arr_open(w);
    for (int i = 0; i < n; i++)
        write_agent(w, &rows[i], &sc[i]);
    end_page(c, w, next);
    return 0;
}

/* The ids of an id-list body field (validated by engine_parse_fields),
 * without repeats, each a record of r in the workspace (404 naming
 * `name[i]` otherwise), loaded into rows in one round trip. */
static int load_ids(engine_call *c, const res_def *r, const char *name, const store_val *v, int min,
                    const char ***ids, res_row **rows, int *n)
{
    json_t *arr = v->kind == SV_TEXT ? json_loads(v->s, 0, NULL) : NULL;
    size_t len = json_array_size(arr);
    *ids = arena_alloc(c->a, sizeof **ids * (len ? len : 1));
    int *at = arena_alloc(c->a, sizeof *at * (len ? len : 1));
    *n = 0;
    for (size_t i = 0; i < len; i++) {
        const char *id = json_string_value(json_array_get(arr, i));
        bool seen = false;
        for (int k = 0; k < *n && !seen; k++)
            seen = is((*ids)[k], id);
        if (seen) continue;
        at[*n] = (int)i;
        (*ids)[(*n)++] = arena_strdup(c->a, id);
    }
    json_decref(arr);
    if (*n < min)
        return engine_fail(c, EK_INVALID, name, "%s needs at least %d different ids", name, min);
    store_read *reads = arena_zalloc(c->a, sizeof *reads * (size_t)*n);
    for (int i = 0; i < *n; i++)
        reads[i] = (store_read){.r = r, .id = (*ids)[i]};
    if (engine_prefetch(c, reads, *n)) return -1;
    *rows = arena_alloc(c->a, sizeof **rows * (size_t)*n);
    for (int i = 0; i < *n; i++) {
        if (reads[i].rc != STORE_OK) {
            const char *p = arena_printf(c->a, "%s[%d]", name, at[i]);
            return engine_fail(c, EK_NOT_FOUND, p, "%s: no %s '%s' in this workspace", p,
                               r->singular, (*ids)[i]);
        }
        (*rows)[i] = reads[i].row;
    }
    return 0;
}

int outbound_workloads(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[WORKLOAD__COUNT];
    bool given[WORKLOAD__COUNT];
    const char **ids;
    res_row *rows;
    int n;
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given) ||
        load_ids(c, RES(MEMBER), "member_ids", &v[WORKLOAD_member_ids], 1, &ids, &rows, &n))
        return -1;
    status_counts *sc = arena_zalloc(c->a, sizeof *sc * (size_t)n);
    for (int i = 0; i < n; i++)
        if (member_counts(c, ids[i], &sc[i])) return -1;
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "agent_workloads");
    jw_key(w, "workloads");
    jw_arr_open(w);
    for (int i = 0; i < n; i++) {
        jw_obj_open(w);
        jw_kstr(w, "member_id", ids[i]);
        jw_kstr(w, "name", engine_text(&rows[i], MEMBER_name));
        jw_kstr(w, "role", engine_text(&rows[i], MEMBER_role));
        jw_kstr(w, "status", engine_text(&rows[i], MEMBER_status));
        int64_t cap = engine_int(&rows[i], MEMBER_capacity, 0);
        jw_kint(w, "capacity", cap);
        jw_kint(w, "available_capacity", cap > sc[i].open ? cap - sc[i].open : 0);
        write_counts(w, "contact_counts", &sc[i]);
        jw_obj_close(w);
    }
    jw_arr_close(w);
    jw_obj_close(w);
    return 0;
}

static void write_summary(jw *w, const res_row *camp, const status_counts *sc)
{
    jw_obj_open(w);
    engine_write_members(w, RES(CAMPAIGN), camp);
    write_counts(w, "contact_counts", sc);
    jw_obj_close(w);
}

int outbound_campaigns(engine_call *c)
{
    res_row *rows;
    int n;
    const char *next;
    if (tool_page(c, RES(CAMPAIGN), -1, NULL, &rows, &n, &next)) return -1;
    status_counts *sc = arena_zalloc(c->a, sizeof *sc * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        if (campaign_counts(c, rows[i].id, &sc[i])) return -1;
    jw *w = engine_answer(c);
    jw_arr_open(w);
    for (int i = 0; i < n; i++)
        write_summary(w, &rows[i], &sc[i]);
    end_page(c, w, next);
    return 0;
}

int outbound_campaign(engine_call *c)
{
    res_row camp;
    status_counts sc;
    if (engine_params_check(c) || engine_load(c, RES(CAMPAIGN), c->ids[0], NULL, &camp) ||
        campaign_counts(c, camp.id, &sc))
        return -1;
    write_summary(engine_answer(c), &camp, &sc);
    return 0;
}

int outbound_cc_counts(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[CCOUNTS__COUNT];
    bool given[CCOUNTS__COUNT];
    const char **ids;
    res_row *rows;
    int n;
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given) ||
        load_ids(c, RES(CAMPAIGN), "campaign_ids", &v[CCOUNTS_campaign_ids], 1, &ids, &rows, &n))
        return -1;
    status_counts *sc = arena_zalloc(c->a, sizeof *sc * (size_t)n);
    for (int i = 0; i < n; i++)
        if (campaign_counts(c, ids[i], &sc[i])) return -1;
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "campaign_contact_counts");
    jw_key(w, "campaigns");
    jw_arr_open(w);
    for (int i = 0; i < n; i++) {
        jw_obj_open(w);
        jw_kstr(w, "campaign_id", ids[i]);
        jw_kstr(w, "name", engine_text(&rows[i], CAMPAIGN_name));
        jw_kstr(w, "status", engine_text(&rows[i], CAMPAIGN_status));
        write_counts(w, "contact_counts", &sc[i]);
        jw_obj_close(w);
    }
    jw_arr_close(w);
    jw_obj_close(w);
    return 0;
}

/* Which of the n campaigns each contact of any of them is in: one query
 * grouped by (contact, campaign), in contact order. */
static int memberships(engine_call *c, const char **ids, int n, store_agg_row **rows, int *nrows)
{
    store_val *in = arena_alloc(c->a, sizeof *in * (size_t)n);
    for (int i = 0; i < n; i++)
        in[i] = sv_text(ids[i]);
    store_filter f = {.field = CCONTACT_campaign_id, .op = SF_IN, .in = in, .nin = n};
    return engine_aggregate(c, RES(CCONTACT), &f, 1, CCONTACT_contact_id, CCONTACT_campaign_id, -1,
                            rows, nrows);
}

static int index_of(const char **ids, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (is(ids[i], id)) return i;
    return -1;
}

int outbound_multi(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[MULTI__COUNT];
    bool given[MULTI__COUNT];
    const char **ids;
    res_row *camps;
    int n, nrows;
    store_agg_row *rows;
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given) ||
        load_ids(c, RES(CAMPAIGN), "campaign_ids", &v[MULTI_campaign_ids], 2, &ids, &camps, &n))
        return -1;
    int64_t min = given[MULTI_min_campaigns] && v[MULTI_min_campaigns].kind == SV_INT
                      ? v[MULTI_min_campaigns].i
                      : 2;
    int64_t limit = given[MULTI_limit] && v[MULTI_limit].kind == SV_INT ? v[MULTI_limit].i : 100;
    if (min > n)
        return engine_fail(c, EK_INVALID, "min_campaigns",
                           "min_campaigns (%lld) is more than the %d campaigns given",
                           (long long)min, n);
    if (memberships(c, ids, n, &rows, &nrows)) return -1;
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "contacts_in_campaigns");
    jw_kint(w, "min_campaigns", min);
    jw_key(w, "contacts");
    jw_arr_open(w);
    int64_t matching = 0, listed = 0;
    for (int i = 0; i < nrows;) {
        int k = i;
        while (k < nrows && rows[k].key[0].kind == SV_TEXT && rows[i].key[0].kind == SV_TEXT &&
               is(rows[k].key[0].s, rows[i].key[0].s))
            k++;
        if (k == i) k = i + 1; /* a null contact: never, the field is required */
        if (k - i >= min && rows[i].key[0].kind == SV_TEXT) {
            matching++;
            if (listed < limit) {
                listed++;
                jw_obj_open(w);
                jw_kstr(w, "contact_id", rows[i].key[0].s);
                jw_kint(w, "campaign_count", k - i);
                jw_key(w, "campaign_ids");
                jw_arr_open(w);
                for (int m = i; m < k; m++)
                    jw_str(w, rows[m].key[1].s);
                jw_arr_close(w);
                jw_obj_close(w);
            }
        }
        i = k;
    }
    jw_arr_close(w);
    jw_kint(w, "total_matching", matching);
    jw_kbool(w, "truncated", matching > listed);
    jw_obj_close(w);
    return 0;
}

int outbound_overlap(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[OVERLAP__COUNT];
    bool given[OVERLAP__COUNT];
    const char **ids;
    res_row *camps;
    int n, nrows;
    store_agg_row *rows;
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given) ||
        load_ids(c, RES(CAMPAIGN), "campaign_ids", &v[OVERLAP_campaign_ids], 2, &ids, &camps, &n) ||
        memberships(c, ids, n, &rows, &nrows))
        return -1;
    int64_t *size = arena_zalloc(c->a, sizeof *size * (size_t)n);
    int64_t *pair = arena_zalloc(c->a, sizeof *pair * (size_t)(n * n));
    int64_t in_all = 0, in_several = 0;
    int *at = arena_alloc(c->a, sizeof *at * (size_t)n);
    for (int i = 0; i < nrows;) {
        int k = i, m = 0;
        while (k < nrows && rows[k].key[0].kind == SV_TEXT && rows[i].key[0].kind == SV_TEXT &&
               is(rows[k].key[0].s, rows[i].key[0].s)) {
            int x = rows[k].key[1].kind == SV_TEXT ? index_of(ids, n, rows[k].key[1].s) : -1;
            if (x >= 0) at[m++] = x, size[x]++;
            k++;
        }
        if (k == i) k = i + 1;
        for (int p = 0; p < m; p++)
            for (int q = p + 1; q < m; q++)
                pair[at[p] * n + at[q]]++, pair[at[q] * n + at[p]]++;
        in_all += m == n;
        in_several += m >= 2;
        i = k;
    }
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "campaign_overlap");
    jw_key(w, "campaigns");
    jw_arr_open(w);
    for (int i = 0; i < n; i++) {
        jw_obj_open(w);
        jw_kstr(w, "campaign_id", ids[i]);
        jw_kstr(w, "name", engine_text(&camps[i], CAMPAIGN_name));
        jw_kint(w, "contacts", size[i]);
        jw_obj_close(w);
    }
    jw_arr_close(w);
    jw_key(w, "pairs");
    jw_arr_open(w);
    for (int i = 0; i < n; i++)
        for (int k = i + 1; k < n; k++) {
            jw_obj_open(w);
            jw_kstr(w, "campaign_a", ids[i]);
            jw_kstr(w, "campaign_b", ids[k]);
            jw_kint(w, "overlap", pair[i * n + k]);
            jw_obj_close(w);
        }
    jw_arr_close(w);
    jw_kint(w, "in_all", in_all);
    jw_kint(w, "in_several", in_several);
    jw_obj_close(w);
    return 0;
}

int outbound_contacts(engine_call *c)
{
    res_row camp, *rows;
    int n;
    const char *next;
    if (engine_load(c, RES(CAMPAIGN), c->ids[0], NULL, &camp) ||
        tool_page(c, RES(CCONTACT), CCONTACT_campaign_id, camp.id, &rows, &n, &next))
        return -1;
    /* The page's contacts in one round trip. */
    store_read *reads = arena_zalloc(c->a, sizeof *reads * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        reads[i] =
            (store_read){.r = RES(CONTACT), .id = engine_text(&rows[i], CCONTACT_contact_id)};
    if (n && engine_prefetch(c, reads, n)) return -1;
    jw *w = engine_answer(c);
    jw_arr_open(w);
    for (int i = 0; i < n; i++) {
        jw_obj_open(w);
        engine_write_members(w, RES(CCONTACT), &rows[i]);
        jw_key(w, "contact");
        if (reads[i].rc != STORE_OK) {
            jw_null(w);
        } else {
            const res_row *k = &reads[i].row;
            jw_obj_open(w);
            jw_kstr(w, "id", k->id);
            jw_kstr(w, "name", engine_text(k, CONTACT_name));
            jw_kstr(w, "email", engine_text(k, CONTACT_email));
            jw_kstr(w, "phone", engine_text(k, CONTACT_phone));
            jw_kstr(w, "company_name", engine_text(k, CONTACT_company_name));
            jw_kstr(w, "status", engine_text(k, CONTACT_status));
            jw_obj_close(w);
        }
        jw_obj_close(w);
    }
    end_page(c, w, next);
    return 0;
}

/* A template as import takes it: its writable fields, no id, no times. */
static int export_template(engine_call *c, const res_def *r, const char *object)
{
    res_row t;
    if (engine_params_check(c) || engine_load(c, r, c->ids[0], NULL, &t)) return -1;
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", object);
    jw_key(w, "template");
    jw_obj_open(w);
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (f->flags & RF_READONLY) continue;
        const store_val *v = &t.vals[i];
        jw_key(w, f->name);
        if (v->kind == SV_NULL)
            jw_null(w);
        else if (f->type == FT_LIST)
            jw_raw(w, v->s, strlen(v->s));
        else
            jw_str(w, v->s);
    }
    jw_obj_close(w);
    jw_obj_close(w);
    return 0;
}

int outbound_script_export(engine_call *c)
{
    return export_template(c, RES(SCRIPT), "script_template_export");
}

int outbound_qualt_export(engine_call *c)
{
    return export_template(c, RES(QUALT), "qualification_template_export");
}

/* One answer's schema, as qual_before checks it (check_answer). */
static void answer_schema(jw *w, json_t *field)
{
    const char *type = json_string_value(json_object_get(field, "type"));
    jw_obj_open(w);
    const char *label = json_string_value(json_object_get(field, "label"));
    if (label) jw_kstr(w, "title", label);
    if (!strcmp(type, "number")) {
        jw_kstr(w, "type", "number");
    } else if (!strcmp(type, "boolean")) {
        jw_kstr(w, "type", "boolean");
    } else if (!strcmp(type, "select")) {
        jw_kstr(w, "type", "string");
        jw_key(w, "enum");
        jw_arr_open(w);
        size_t i;
        json_t *o;
        json_array_foreach(json_object_get(field, "options"), i, o) jw_str(w, json_string_value(o));
        jw_arr_close(w);
    } else if (!strcmp(type, "date")) {
        jw_kstr(w, "type", "string");
        jw_kstr(w, "format", "date");
    } else {
        jw_kstr(w, "type", "string");
    }
    jw_obj_close(w);
}

int outbound_qual_schema(engine_call *c)
{
    res_row camp, t;
    if (engine_params_check(c) || engine_load(c, RES(CAMPAIGN), c->ids[0], NULL, &camp)) return -1;
    const char *tid = engine_text(&camp, CAMPAIGN_qualification_template_id);
    if (!tid)
        return engine_fail(c, EK_NOT_FOUND, "qualification_template_id",
                           "campaign %s has no qualification template: attach one first "
                           "(attach_campaign_templates)",
                           camp.id);
    if (engine_load(c, RES(QUALT), tid, "qualification_template_id", &t)) return -1;
    json_t *fields = engine_items(&t, QUALT_fields);
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "qualification_schema");
    jw_kstr(w, "campaign_id", camp.id);
    jw_kstr(w, "qualification_template_id", tid);
    jw_key(w, "schema");
    jw_obj_open(w);
    jw_kstr(w, "$schema", "https://json-schema.org/draft/2020-12/schema");
    jw_kstr(w, "type", "object");
    jw_kbool(w, "additionalProperties", false);
    jw_key(w, "properties");
    jw_obj_open(w);
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        jw_key(w, json_string_value(json_object_get(f, "key")));
        answer_schema(w, f);
    }
    jw_obj_close(w);
    jw_key(w, "required");
    jw_arr_open(w);
    json_array_foreach(fields, i, f) if (json_is_true(json_object_get(f, "required")))
        jw_str(w, json_string_value(json_object_get(f, "key")));
    jw_arr_close(w);
    jw_obj_close(w);
    jw_obj_close(w);
    json_decref(fields);
    return 0;
}

int outbound_attach(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[ATTACH__COUNT];
    bool given[ATTACH__COUNT];
    res_row old, t;
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given) ||
        engine_load(c, RES(CAMPAIGN), c->ids[0], NULL, &old))
        return -1;
    if (given[ATTACH_script_template_id] && v[ATTACH_script_template_id].kind == SV_TEXT &&
        engine_load(c, RES(SCRIPT), v[ATTACH_script_template_id].s, "script_template_id", &t))
        return -1;
    if (given[ATTACH_qualification_template_id] &&
        v[ATTACH_qualification_template_id].kind == SV_TEXT &&
        engine_load(c, RES(QUALT), v[ATTACH_qualification_template_id].s,
                    "qualification_template_id", &t))
        return -1;
    /* Named with null: detached; not named: kept. */
    bool named[2] = {json_object_get(c->body, "script_template_id") != NULL,
                     json_object_get(c->body, "qualification_template_id") != NULL};
    bool *set;
    res_row row = engine_copy_row(c, RES(CAMPAIGN), &old, &set);
    if (named[0]) engine_set(&row, set, CAMPAIGN_script_template_id, v[ATTACH_script_template_id]);
    if (named[1])
        engine_set(&row, set, CAMPAIGN_qualification_template_id,
                   v[ATTACH_qualification_template_id]);
    if ((named[0] || named[1]) && engine_update_row(c, RES(CAMPAIGN), &old, &row, set, NULL))
        return -1;
    return engine_respond(c, RES(CAMPAIGN), &row, EK_OK);
}

/* ---------------------------------------------------- bulk add by filter */

#define BULK_ADD_MAX 50000 /* contacts one call may add: a bigger filter is split */

/* The filter's members as GET /v1/contacts's parameters, read by the
 * engine's own list parser into sq: the same filters, the same checks. */
static int contact_filter(engine_call *c, const char *filter_json, store_query *sq, bool *none)
{
    static const char *const allowed[] = {
        "status", "company_id", "owner_id",         "lifecycle_stage",    "country",
        "email",  "query",      "custom_field_key", "custom_field_value", NULL};
    json_t *f = filter_json ? json_loads(filter_json, 0, NULL) : json_object();
    size_t n = json_object_size(f);
    engine_param *ps = arena_zalloc(c->a, sizeof *ps * (n ? n : 1));
    int np = 0, rc = 0;
    const char *k;
    json_t *v;
    json_object_foreach(f, k, v)
    {
        const char *p = arena_printf(c->a, "filter.%s", k);
        bool known = false;
        for (int i = 0; allowed[i] && !known; i++)
            known = is(allowed[i], k);
        if (!known) {
            rc = engine_fail(c, EK_INVALID, p,
                             "%s: contacts cannot be filtered by '%s' (status, company_id, "
                             "owner_id, lifecycle_stage, country, email, query, custom_field_key, "
                             "custom_field_value)",
                             p, k);
            break;
        }
        if (!json_is_string(v)) {
            rc = engine_fail(c, EK_INVALID, p, "%s must be a string", p);
            break;
        }
        ps[np++] = (engine_param){.k = arena_strdup(c->a, k),
                                  .v = arena_strdup(c->a, json_string_value(v))};
    }
    json_decref(f);
    if (rc) return -1;
    engine_param *saved = c->params;
    int nsaved = c->nparams;
    c->params = ps, c->nparams = np;
    rc = engine_parse_query(c, RES(CONTACT), sq, none);
    c->params = saved, c->nparams = nsaved;
    if (rc && c->out->param) c->out->param = arena_printf(c->a, "filter.%s", c->out->param);
    return rc;
}

/* Appends the ids of a page of rows (or aggregate groups) to a growing list. */
typedef struct id_list {
    const char **v;
    int n, cap;
} id_list;

static void id_push(engine_call *c, id_list *l, const char *id)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        const char **grown = arena_alloc(c->a, sizeof *grown * (size_t)l->cap);
        if (l->n) memcpy(grown, l->v, sizeof *grown * (size_t)l->n);
        l->v = grown;
    }
    l->v[l->n++] = id;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The contacts the filter selects, in pages of 1000 (no more than max+1). */
static int filter_contacts(engine_call *c, const char *filter_json, id_list *out, int max)
{
    store_query sq;
    bool none;
    if (contact_filter(c, filter_json, &sq, &none)) return -1;
    if (none) return 0;
    sq.limit = 1000;
    sq.after_rid = 0;
    res_row *rows;
    int n;
    if (engine_rows(c, RES(CONTACT), &sq, max, &rows, &n)) return -1;
    for (int i = 0; i < n; i++)
        id_push(c, out, arena_strdup(c->a, rows[i].id));
    return 0;
}

/* Contact ids of the campaign contacts whose field equals value, one
 * grouped query, in id order. */
static int ccontact_ids(engine_call *c, int field, const char *value, id_list *out)
{
    store_filter f = {.field = field, .v = sv_text(value)};
    store_agg_row *rows;
    int n;
    if (engine_aggregate(c, RES(CCONTACT), &f, 1, CCONTACT_contact_id, -1, -1, &rows, &n))
        return -1;
    for (int i = 0; i < n; i++)
        if (rows[i].key[0].kind == SV_TEXT) id_push(c, out, rows[i].key[0].s);
    return 0;
}

/* Contact ids the imports into `folder` created or updated (their rows'
 * record_id), one grouped query. */
static int imported_ids(engine_call *c, const char *folder, id_list *out)
{
    store_val wrote[2] = {sv_text("created"), sv_text("updated")};
    store_filter f[3] = {{.field = IMPROW_import_id,
                          .op = SF_REL,
                          .rel = RES(IMPORT),
                          .rel_field = IMPORT_folder,
                          .v = sv_text(folder)},
                         {.field = IMPROW_record_type, .v = sv_text("contact")},
                         {.field = IMPROW_outcome, .op = SF_IN, .in = wrote, .nin = 2}};
    store_agg_row *rows;
    int n;
    if (engine_aggregate(c, RES(IMPROW), f, 3, IMPROW_record_id, -1, -1, &rows, &n)) return -1;
    for (int i = 0; i < n; i++)
        if (rows[i].key[0].kind == SV_TEXT) id_push(c, out, rows[i].key[0].s);
    return 0;
}

/* The contacts of an import folder, in id order, once each: those its
 * imports (POST /v1/imports) created or updated, and those campaign
 * contacts of any campaign carry with it as their import_folder. */
static int folder_contacts(engine_call *c, const char *folder, id_list *out)
{
    if (ccontact_ids(c, CCONTACT_import_folder, folder, out) || imported_ids(c, folder, out))
        return -1;
    if (out->n) qsort(out->v, (size_t)out->n, sizeof *out->v, by_id);
    int w = 0;
    for (int i = 0; i < out->n; i++)
        if (!w || strcmp(out->v[w - 1], out->v[i]) != 0) out->v[w++] = out->v[i];
    out->n = w;
    return 0;
}

int outbound_bulk_add(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[BULKADD__COUNT];
    bool given[BULKADD__COUNT];
    res_row camp, m;
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given) ||
        engine_load(c, RES(CAMPAIGN), c->ids[0], NULL, &camp))
        return -1;
    if (given[BULKADD_filter] && given[BULKADD_import_folder])
        return engine_fail(c, EK_INVALID, "import_folder",
                           "give filter or import_folder, not both");
    const char *who = given[BULKADD_assignee_id] ? v[BULKADD_assignee_id].s
                                                 : engine_text(&camp, CAMPAIGN_default_assignee_id);
    if (who && engine_load(c, RES(MEMBER), who, "assignee_id", &m)) return -1;

    id_list cand = {0}, in = {0};
    const char *folder = given[BULKADD_import_folder] ? v[BULKADD_import_folder].s : NULL;
    if (folder ? folder_contacts(c, folder, &cand)
               : filter_contacts(c, given[BULKADD_filter] ? v[BULKADD_filter].s : NULL, &cand,
                                 BULK_ADD_MAX + 1000000))
        return -1;
    if (ccontact_ids(c, CCONTACT_campaign_id, camp.id, &in)) return -1;
    /* Already in the campaign: skipped. `in` is in id order. */
    id_list add = {0};
    for (int i = 0; i < cand.n; i++)
        if (!in.n || !bsearch(&cand.v[i], in.v, (size_t)in.n, sizeof *in.v, by_id))
            id_push(c, &add, cand.v[i]);
    if (add.n > BULK_ADD_MAX)
        return engine_fail(c, EK_INVALID, folder ? "import_folder" : "filter",
                           "%d contacts would be added, more than %d in one call: narrow the "
                           "filter and call again (contacts already in the campaign are skipped)",
                           add.n, BULK_ADD_MAX);
    if (!c->dry_run) {
        /* Oldest first, as they were created. */
        for (int i = add.n - 1; i >= 0; i--) {
            bool *set;
            res_row row = engine_new_row(c, RES(CCONTACT), &set);
            engine_set(&row, set, CCONTACT_campaign_id, sv_text(camp.id));
            engine_set(&row, set, CCONTACT_contact_id, sv_text(add.v[i]));
            engine_set(&row, set, CCONTACT_source, sv_text(folder ? "import" : "filter"));
            if (folder) engine_set(&row, set, CCONTACT_import_folder, sv_text(folder));
            if (who) engine_set(&row, set, CCONTACT_assignee_id, sv_text(who));
            if (engine_insert(c, RES(CCONTACT), &row, set)) return -1;
        }
    }
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "campaign_bulk_add");
    jw_kstr(w, "campaign_id", camp.id);
    jw_kint(w, "matched", cand.n);
    jw_kint(w, "added", add.n);
    jw_kint(w, "skipped", cand.n - add.n);
    jw_kbool(w, "dry_run", c->dry_run);
    jw_obj_close(w);
    return 0;
}

/* ------------------------------------------------------- bulk remove, assign */

#define BULK_ROWS_MAX 10000 /* campaign contacts one remove or assign call may change */

/* The campaign's contacts matching f (nf filters), oldest first, at most
 * max + 1 of them (the caller refuses more than max). */
static int campaign_rows(engine_call *c, const char *camp, const store_filter *f, int nf, int max,
                         res_row **out, int *nout)
{
    store_query sq = {.filters = f,
                      .nfilters = nf,
                      .ascending = true,
                      .limit = 1000,
                      .link_field = CCONTACT_campaign_id,
                      .link_value = camp};
    return engine_rows(c, RES(CCONTACT), &sq, max, out, nout);
}

/* Deletes every record of r for this campaign and contact (through the
 * engine): how many went, or -1. */
static int64_t delete_of(engine_call *c, const res_def *r, int camp_field, int con_field,
                         const char *camp, const char *con)
{
    store_filter f[2] = {{.field = camp_field, .v = sv_text(camp)},
                         {.field = con_field, .v = sv_text(con)}};
    store_query sq = {.filters = f, .nfilters = 2, .limit = 100, .link_field = -1};
    int64_t gone = 0;
    for (;;) {
        res_row *rows;
        int n;
        bool more;
        store_err e;
        int rc = store_rec_list(c->conn, c->a, r, c->ws, &sq, &rows, &n, &more, &e);
        if (rc) return engine_store_fail(c, rc, &e);
        for (int i = 0; i < n; i++)
            if (engine_delete_row(c, r, &rows[i])) return -1;
        gone += n;
        if (!more || n == 0) return gone;
    }
}

int outbound_bulk_remove(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[BULKRM__COUNT];
    bool given[BULKRM__COUNT];
    res_row camp, *cons = NULL, *rows;
    const char **ids = NULL;
    int nids = 0, n;
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given) ||
        engine_load(c, RES(CAMPAIGN), c->ids[0], NULL, &camp))
        return -1;
    /* Naming none removes none (never "all"). */
    bool none = !given[BULKRM_contact_ids] && !given[BULKRM_status];
    if (given[BULKRM_contact_ids] &&
        load_ids(c, RES(CONTACT), "contact_ids", &v[BULKRM_contact_ids], 1, &ids, &cons, &nids))
        return -1;
    store_filter f[2];
    int nf = 0;
    if (given[BULKRM_status])
        f[nf++] = (store_filter){.field = CCONTACT_status, .v = v[BULKRM_status]};
    if (nids) {
        store_val *in = arena_alloc(c->a, sizeof *in * (size_t)nids);
        for (int i = 0; i < nids; i++)
            in[i] = sv_text(ids[i]);
        f[nf++] = (store_filter){.field = CCONTACT_contact_id, .op = SF_IN, .in = in, .nin = nids};
    }
    rows = NULL, n = 0;
    if (!none && campaign_rows(c, camp.id, f, nf, BULK_ROWS_MAX, &rows, &n)) return -1;
    if (n > BULK_ROWS_MAX)
        return engine_fail(c, EK_INVALID, "status",
                           "more than %d campaign contacts match: remove them in several calls",
                           BULK_ROWS_MAX);
    bool cancel = v[BULKRM_cancel_follow_ups].i != 0, detach = v[BULKRM_detach_call_logs].i != 0;
    int64_t removed = 0, kept = 0, execs = 0, calls = 0;
    for (int i = 0; i < n; i++) {
        const char *con = engine_text(&rows[i], CCONTACT_contact_id);
        if (!cancel && is(engine_text(&rows[i], CCONTACT_follow_up_status), "pending")) {
            kept++;
            continue;
        }
        int64_t k;
        if (detach) {
            if ((k = delete_of(c, RES(CALLLOG), CALLLOG_campaign_id, CALLLOG_contact_id, camp.id,
                               con)) < 0)
                return -1;
            calls += k;
        }
        if ((k = delete_of(c, RES(SEXEC), SEXEC_campaign_id, SEXEC_contact_id, camp.id, con)) < 0)
            return -1;
        execs += k;
        if (engine_delete_row(c, RES(CCONTACT), &rows[i])) return -1;
        removed++;
    }
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "campaign_bulk_remove");
    jw_kstr(w, "campaign_id", camp.id);
    jw_kint(w, "matched", n);
    jw_kint(w, "removed", removed);
    jw_kint(w, "kept_with_follow_up", kept);
    jw_kint(w, "not_matched", nids ? nids - n : 0);
    jw_kint(w, "script_executions_deleted", execs);
    jw_kint(w, "call_logs_deleted", calls);
    jw_kbool(w, "dry_run", c->dry_run);
    jw_obj_close(w);
    return 0;
}

typedef struct assignee {
    const char *id;
    int64_t open, cap, assigned;
} assignee;

/* The member who takes the next contact: in turn from *turn, or the one
 * with the most room; -1 when nobody has room. */
static int pick(assignee *m, int n, bool by_capacity, int *turn)
{
    int best = -1;
    for (int k = 0; k < n; k++) {
        int i = by_capacity ? k : (*turn + k) % n;
        if (m[i].open >= m[i].cap) continue;
        if (!by_capacity) {
            *turn = (i + 1) % n;
            return i;
        }
        if (best < 0 || m[i].cap - m[i].open > m[best].cap - m[best].open) best = i;
    }
    return best;
}

int outbound_bulk_assign(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[BULKASSIGN__COUNT];
    bool given[BULKASSIGN__COUNT];
    res_row camp, *mrows, *rows;
    const char **ids;
    int nm, n;
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given) ||
        engine_load(c, RES(CAMPAIGN), c->ids[0], NULL, &camp) ||
        load_ids(c, RES(MEMBER), "member_ids", &v[BULKASSIGN_member_ids], 1, &ids, &mrows, &nm))
        return -1;
    bool by_capacity = given[BULKASSIGN_strategy] && is(v[BULKASSIGN_strategy].s, "capacity");
    bool reassign = v[BULKASSIGN_reassign].i != 0;
    assignee *m = arena_zalloc(c->a, sizeof *m * (size_t)nm);
    for (int i = 0; i < nm; i++) {
        if (is(engine_text(&mrows[i], MEMBER_status), "inactive"))
            return engine_fail(c, EK_CONFLICT, arena_printf(c->a, "member_ids[%d]", i),
                               "member %s is inactive: name active members", ids[i]);
        status_counts sc;
        if (member_counts(c, ids[i], &sc)) return -1;
        m[i] = (assignee){
            .id = ids[i], .open = sc.open, .cap = engine_int(&mrows[i], MEMBER_capacity, 0)};
    }
    /* The open contacts, oldest first: unassigned ones, or all with reassign. */
    const char *const open[] = {"pending", "in_progress", "follow_up"};
    int64_t considered = 0, assigned = 0, left = 0;
    int turn = 0;
    for (int s = 0; s < 3; s++) {
        store_filter f[2] = {{.field = CCONTACT_status, .v = sv_text(open[s])},
                             {.field = CCONTACT_assignee_id, .v = {.kind = SV_NULL}}};
        /* Unassigned: the list's equality cannot say IS NULL; filtered below. */
        if (campaign_rows(c, camp.id, f, 1, BULK_ROWS_MAX, &rows, &n)) return -1;
        for (int i = 0; i < n; i++) {
            const char *was = engine_text(&rows[i], CCONTACT_assignee_id);
            if (was && !reassign) continue;
            if (++considered > BULK_ROWS_MAX)
                return engine_fail(c, EK_INVALID, NULL,
                                   "more than %d open contacts to assign: split the campaign",
                                   BULK_ROWS_MAX);
            int from = was ? index_of(ids, nm, was) : -1;
            if (from >= 0) m[from].open--; /* its own contact is room it may keep */
            int to = pick(m, nm, by_capacity, &turn);
            if (to < 0) {
                if (from >= 0) m[from].open++;
                left++;
                continue;
            }
            m[to].open++;
            if (is(was, m[to].id)) continue; /* stays where it is */
            bool *set;
            res_row row = engine_copy_row(c, RES(CCONTACT), &rows[i], &set);
            engine_set(&row, set, CCONTACT_assignee_id, sv_text(m[to].id));
            if (engine_update_row(c, RES(CCONTACT), &rows[i], &row, set, NULL)) return -1;
            m[to].assigned++;
            assigned++;
        }
    }
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "campaign_bulk_assign");
    jw_kstr(w, "campaign_id", camp.id);
    jw_kstr(w, "strategy", by_capacity ? "capacity" : "round_robin");
    jw_kint(w, "considered", considered);
    jw_kint(w, "assigned", assigned);
    jw_kint(w, "left_unassigned", left);
    jw_key(w, "members");
    jw_arr_open(w);
    for (int i = 0; i < nm; i++) {
        jw_obj_open(w);
        jw_kstr(w, "member_id", m[i].id);
        jw_kint(w, "assigned", m[i].assigned);
        jw_kint(w, "open_contacts", m[i].open);
        jw_kint(w, "capacity", m[i].cap);
        jw_obj_close(w);
    }
    jw_arr_close(w);
    jw_kbool(w, "dry_run", c->dry_run);
    jw_obj_close(w);
    return 0;
}

/* ------------------------------------------------ template imports, upsert */

/* Creates r's records from the converted list (JSON text of objects whose
 * members are r's first fields): each a full create, all in the call's
 * transaction; a refusal names templates[i] before the field. */
static int import_templates(engine_call *c, const res_def *r, const char *list, const char *object)
{
    json_t *items = json_loads(list, 0, NULL);
    size_t n = json_array_size(items);
    res_row *made = arena_alloc(c->a, sizeof *made * (n ? n : 1));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *t = json_array_get(items, i);
        bool *set;
        res_row row = engine_new_row(c, r, &set);
        for (int k = 0; k < r->nfields; k++) {
            json_t *v = json_object_get(t, r->fields[k].name);
            if (!v || json_is_null(v) || (r->fields[k].flags & RF_READONLY)) continue;
            if (json_is_string(v)) {
                engine_set(&row, set, k, sv_text(arena_strdup(c->a, json_string_value(v))));
            } else {
                char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
                engine_set(&row, set, k, sv_text(arena_strdup(c->a, s ? s : "[]")));
                free(s);
            }
        }
        rc = engine_insert(c, r, &row, set);
        if (rc) {
            const char *p = c->out->param;
            c->out->param = arena_printf(c->a, "templates[%zu]%s%s", i, p ? "." : "", p ? p : "");
            char msg[sizeof c->out->message];
            snprintf(msg, sizeof msg, "templates[%d]: %.460s", (int)i, c->out->message);
            memcpy(c->out->message, msg, sizeof msg);
        }
        made[i] = row;
    }
    json_decref(items);
    if (rc) return -1;
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", object);
    jw_kint(w, "imported", (int64_t)n);
    jw_key(w, "templates");
    jw_arr_open(w);
    for (size_t i = 0; i < n; i++)
        engine_write_row(w, r, &made[i]);
    jw_arr_close(w);
    jw_obj_close(w);
    return 0;
}

int outbound_script_import(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[SIMPORT__COUNT];
    bool given[SIMPORT__COUNT];
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given))
        return -1;
    return import_templates(c, RES(SCRIPT), v[SIMPORT_templates].s, "script_template_import");
}

int outbound_qualt_import(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[QIMPORT__COUNT];
    bool given[QIMPORT__COUNT];
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given))
        return -1;
    return import_templates(c, RES(QUALT), v[QIMPORT_templates].s, "qualification_template_import");
}

int outbound_sexec_upsert(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[SEXEC__COUNT];
    bool given[SEXEC__COUNT];
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given))
        return -1;
    const char *camp = v[SEXEC_campaign_id].s, *con = v[SEXEC_contact_id].s;
    res_row k;
    if (engine_load(c, RES(CAMPAIGN), camp, "campaign_id", &k) ||
        engine_load(c, RES(CONTACT), con, "contact_id", &k))
        return -1;
    store_filter f[2] = {{.field = SEXEC_campaign_id, .v = sv_text(camp)},
                         {.field = SEXEC_contact_id, .v = sv_text(con)}};
    store_query sq = {.filters = f, .nfilters = 2, .limit = 1, .link_field = -1};
    res_row *found;
    int n;
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, RES(SEXEC), c->ws, &sq, &found, &n, &more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    bool *set;
    res_row row =
        n ? engine_copy_row(c, RES(SEXEC), &found[0], &set) : engine_new_row(c, RES(SEXEC), &set);
    /* The fields the body names change (null clears); the others stay. */
    for (int i = 0; i < a->nbody; i++)
        if (json_object_get(c->body, a->body[i].name) &&
            (!n || !(a->body[i].flags & RF_CREATEONLY)))
            engine_set(&row, set, i, v[i]);
    if (n ? engine_update_row(c, RES(SEXEC), &found[0], &row, set, NULL)
          : engine_insert(c, RES(SEXEC), &row, set))
        return -1;
    return engine_respond(c, RES(SEXEC), &row, EK_OK);
}

/* ------------------------------------------------ import deduplication */

#define DEDUP_MAX 50000 /* contacts of one folder analysed: five full imports */

typedef struct email_count {
    const char *email; /* lower-cased */
    int64_t n;
} email_count;

static int by_email(const void *a, const void *b)
{
    return strcmp(((const email_count *)a)->email, ((const email_count *)b)->email);
}

static const char *lower(arena *a, const char *s)
{
    char *l = arena_strdup(a, s);
    for (char *p = l; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return l;
}

int outbound_dedup(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[DEDUP__COUNT];
    bool given[DEDUP__COUNT];
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given))
        return -1;
    const char *folder = v[DEDUP_import_folder].s;
    int64_t limit = given[DEDUP_limit] ? v[DEDUP_limit].i : 20;
    /* The campaign contacts tagged with the folder: one grouped query. */
    store_filter f = {.field = CCONTACT_import_folder, .v = sv_text(folder)};
    store_agg_row *tagged;
    int ntagged;
    if (engine_aggregate(c, RES(CCONTACT), &f, 1, CCONTACT_contact_id, -1, -1, &tagged, &ntagged))
        return -1;
    int64_t rows = 0;
    for (int i = 0; i < ntagged; i++)
        rows += tagged[i].count;
    /* The folder's contact imports and their rows by outcome. */
    store_filter fi[2] = {{.field = IMPORT_folder, .v = sv_text(folder)},
                          {.field = IMPORT_object_type, .v = sv_text("contacts")}};
    store_filter fr[2] = {{.field = IMPROW_import_id,
                           .op = SF_REL,
                           .rel = RES(IMPORT),
                           .rel_field = IMPORT_folder,
                           .v = sv_text(folder)},
                          {.field = IMPROW_import_id,
                           .op = SF_REL,
                           .rel = RES(IMPORT),
                           .rel_field = IMPORT_object_type,
                           .v = sv_text("contacts")}};
    store_agg_row *imps, *outcomes;
    int nimps, noutcomes;
    if (engine_aggregate(c, RES(IMPORT), fi, 2, -1, -1, -1, &imps, &nimps) ||
        engine_aggregate(c, RES(IMPROW), fr, 2, IMPROW_outcome, -1, -1, &outcomes, &noutcomes))
        return -1;
    /* The folder's contacts: imported, or tagged. */
    id_list ids = {0};
    if (folder_contacts(c, folder, &ids)) return -1;
    int nin = ids.n;
    if (nin > DEDUP_MAX)
        return engine_fail(c, EK_INVALID, "import_folder",
                           "%d contacts were imported under '%s': at most %d can be analysed", nin,
                           folder, DEDUP_MAX);
    /* Every email of the workspace with its count: one grouped query,
     * folded to lower case. */
    store_agg_row *all;
    int nall;
    if (engine_aggregate(c, RES(CONTACT), NULL, 0, CONTACT_email, -1, -1, &all, &nall)) return -1;
    email_count *ec = arena_alloc(c->a, sizeof *ec * (size_t)(nall ? nall : 1));
    int nec = 0;
    for (int i = 0; i < nall; i++)
        if (all[i].key[0].kind == SV_TEXT)
            ec[nec++] = (email_count){lower(c->a, all[i].key[0].s), all[i].count};
    qsort(ec, (size_t)nec, sizeof *ec, by_email);
    int w = 0;
    for (int i = 0; i < nec; i++) {
        if (w && strcmp(ec[w - 1].email, ec[i].email) == 0)
            ec[w - 1].n += ec[i].n;
        else
            ec[w++] = ec[i];
    }
    nec = w;
    /* The folder's contacts' emails, 100 a round trip. */
    int64_t none = 0, dup = 0, listed = 0;
    jw *out = NULL;
    buf ex;
    buf_init(&ex, ENGINE_MAX_DATA);
    jw exw;
    jw_init(&exw, &ex);
    jw_arr_open(&exw);
    for (int i = 0; i < nin; i += 100) {
        int n = nin - i < 100 ? nin - i : 100;
        store_read reads[100];
        for (int k = 0; k < n; k++)
            reads[k] = (store_read){.r = RES(CONTACT), .id = ids.v[i + k]};
        if (engine_prefetch(c, reads, n)) {
            buf_free(&ex);
            return -1;
        }
        for (int k = 0; k < n; k++) {
            const char *email =
                reads[k].rc == STORE_OK ? engine_text(&reads[k].row, CONTACT_email) : NULL;
            if (!email) {
                none++;
                continue;
            }
            email_count key = {lower(c->a, email), 0};
            email_count *hit = bsearch(&key, ec, (size_t)nec, sizeof *ec, by_email);
            if (!hit || hit->n < 2) continue;
            dup++;
            if (listed++ < limit) {
                jw_obj_open(&exw);
                jw_kstr(&exw, "contact_id", reads[k].row.id);
                jw_kstr(&exw, "email", email);
                jw_kint(&exw, "others", hit->n - 1);
                jw_obj_close(&exw);
            }
        }
    }
    jw_arr_close(&exw);
    out = engine_answer(c);
    jw_obj_open(out);
    jw_kstr(out, "object", "import_deduplication");
    jw_kstr(out, "import_folder", folder);
    jw_kint(out, "imports", nimps ? imps[0].count : 0);
    jw_key(out, "import_rows");
    jw_obj_open(out);
    static const char *const names[] = {"created", "updated", "duplicate", "invalid"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        int64_t n = 0;
        for (int i = 0; i < noutcomes; i++)
            if (outcomes[i].key[0].kind == SV_TEXT && !strcmp(outcomes[i].key[0].s, names[k]))
                n = outcomes[i].count;
        jw_kint(out, names[k], n);
    }
    jw_obj_close(out);
    jw_kint(out, "rows", rows);
    jw_kint(out, "contacts", nin);
    jw_kint(out, "without_email", none);
    jw_kint(out, "duplicate_email", dup);
    jw_kint(out, "unique_email", nin - none - dup);
    jw_key(out, "examples");
    jw_raw(out, ex.data, ex.len);
    jw_obj_close(out);
    buf_free(&ex);
    return 0;
}
