/* table.c - the resource table's arrays, made from resources.def, its
 * look-ups, and the start-up check; see table.h. */
#include "schema/table.h"

#include <stdio.h>
#include <string.h>

const char *const res_module_names[MOD__COUNT] = {
    [MOD_CRM] = "crm",
    [MOD_TASKS] = "tasks",
    [MOD_ACTIVITY_LOG] = "activity_log",
    [MOD_SUPPORT] = "support",
    [MOD_CMS] = "cms",
    [MOD_ASSETS] = "assets",
    [MOD_INTEGRATIONS] = "integrations",
    [MOD_ANALYTICS_GOVERNANCE] = "analytics_governance",
    [MOD_BILLING] = "billing",
    [MOD_ACCOUNTING] = "accounting",
    [MOD_KNOWLEDGE] = "knowledge",
    [MOD_MARKETING] = "marketing",
    [MOD_BI] = "bi",
    [MOD_OUTBOUND] = "outbound",
    [MOD_CALENDAR] = "calendar",
};

const char *const res_scopes[] = {
    "crm:read",        "crm:write",     "support:read",      "support:write",      "tasks:read",
    "tasks:write",     "activity:read", "activity:write",    "cms:read",           "cms:write",
    "assets:read",     "assets:write",  "integrations:read", "integrations:write", "analytics:read",
    "analytics:write", "bi:read",       "bi:write",          "workspace:admin",    NULL};

/* Pass 1: value lists and field arrays. */
#define VALUES(name, ...)       static const char *const name[] = {__VA_ARGS__, NULL};
#define FIELDS(P)               static const res_field P##__fields[] = {
#define FIELD(P, n, t, fl, ...) {.name = #n, .type = (t), .flags = (fl), __VA_ARGS__},
#define END_FIELDS(P)                                                                              \
    }                                                                                              \
    ;
#define RESOURCE(P, ...)
#define SUBLIST(...)
#define ACTION(NAME, ...)
#include "schema/resources.def"
#undef VALUES
#undef FIELDS
#undef FIELD
#undef END_FIELDS
#define VALUES(name, ...)
#define FIELDS(P)
#define FIELD(P, n, ...)
#define END_FIELDS(P)

/* Pass 2: the resource rows. */
#undef RESOURCE
#define RESOURCE(P, ...)                                                                           \
    [RES_##P] = {.id = RES_##P, .fields = P##__fields, .nfields = P##__COUNT, __VA_ARGS__},
const res_def res_defs[RES__COUNT] = {
#include "schema/resources.def"
};
#undef RESOURCE
#define RESOURCE(P, ...) [RES_##P] = &res_defs[RES_##P],
const res_def *const res_table[RES__COUNT] = {
#include "schema/resources.def"
};
const int res_count = RES__COUNT;
#undef RESOURCE
#define RESOURCE(P, ...)

/* Pass 3: sub-lists and actions. */
#undef SUBLIST
#define SUBLIST(...) {__VA_ARGS__},
const res_sublist res_sublists[] = {
#include "schema/resources.def"
};
const int res_sublist_count = (int)(sizeof res_sublists / sizeof res_sublists[0]);
#undef SUBLIST
#define SUBLIST(...)
#undef ACTION
#define ACTION(NAME, ...) [ACT_##NAME] = {.id = ACT_##NAME, __VA_ARGS__},
const res_action res_actions[ACT__COUNT] = {
#include "schema/resources.def"
};
const int res_action_count = ACT__COUNT;
#undef VALUES
#undef FIELDS
#undef FIELD
#undef END_FIELDS
#undef RESOURCE
#undef SUBLIST
#undef ACTION

const res_def *res_find(const char *name)
{
    for (int i = 0; i < RES__COUNT; i++)
        if (strcmp(res_defs[i].name, name) == 0) return &res_defs[i];
    return NULL;
}

int res_field_index(const res_def *r, const char *name)
{
    for (int i = 0; i < r->nfields; i++)
        if (strcmp(r->fields[i].name, name) == 0) return i;
    return -1;
}

int res_parent_field(const res_def *r)
{
    for (int i = 0; i < r->nfields; i++)
        if (r->fields[i].flags & RF_PARENT) return i;
    return -1;
}

int res_field_max(const res_field *f)
{
    if (f->max_len) return f->max_len;
    switch (f->type) {
    case FT_TEXT: return 10000;
    case FT_EMAIL: return 254;
    case FT_URL: return 2048;
    case FT_REF: return 64;
    case FT_ENUM: return 64;
    default: return 255;
    }
}

const res_def *res_find_singular(const char *singular)
{
    for (int i = 0; i < RES__COUNT; i++)
        if (strcmp(res_defs[i].singular, singular) == 0) return &res_defs[i];
    return NULL;
}

bool res_has_search(const res_def *r)
{
    for (int i = 0; i < r->nfields; i++)
        if (r->fields[i].flags & RF_SEARCH) return true;
    return false;
}

res_def res_rollup2_def(const res_def *r)
{
    res_def v = *r;
    v.rollup = r->rollup2;
    v.rollup2 = (res_rollup){0};
    if (r->rollup2.group[0]) v.name = r->rollup2.as;
    return v;
}

static bool same_name(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

bool res_rollup2_folds(const res_def *r)
{
    int last = 0;
    while (last < 2 && r->rollup.group[last + 1])
        last++;
    if (last == 0 || !r->rollup2.group[0] || r->rollup2.group[last] ||
        !same_name(r->rollup.sum, r->rollup2.sum))
        return false;
    for (int g = 0; g < last; g++)
        if (!same_name(r->rollup.group[g], r->rollup2.group[g])) return false;
    return true;
}

int res_module_find(const char *name)
{
    for (int i = 0; i < MOD__COUNT; i++)
        if (strcmp(res_module_names[i], name) == 0) return i;
    return -1;
}

/* ------------------------------------------------------------ the check */

#define FAIL(...) (snprintf(err, cap, __VA_ARGS__), false)

static bool has_field(const res_def *r, const char *name)
{
    return name && res_field_index(r, name) >= 0;
}

/* Each name of a comma-separated list ("stage_id,position") is a field. */
static bool fields_of_list(const res_def *r, const char *list, char *bad, size_t cap)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        snprintf(bad, cap, "%.*s", (int)n, p);
        if (res_field_index(r, bad + (bad[0] == '=')) < 0) return false;
        p += n;
        if (*p) p++;
    }
    return true;
}

static bool check_fields(const char *owner, const res_field *fs, int n, char *err, size_t cap)
{
    for (int i = 0; i < n; i++) {
        const res_field *f = &fs[i];
        for (int k = 0; k < i; k++)
            if (strcmp(fs[k].name, f->name) == 0)
                return FAIL("%s: field %s declared twice", owner, f->name);
        if (f->type == FT_ENUM && !f->enum_vals)
            return FAIL("%s.%s: an enum without values", owner, f->name);
        if (f->type == FT_REF && !f->ref == !f->ref_by)
            return FAIL("%s.%s: a reference names exactly one of ref, ref_by", owner, f->name);
        if (f->ref && !res_find(f->ref))
            return FAIL("%s.%s: references unknown resource %s", owner, f->name, f->ref);
        if (f->ref_by) {
            int t = -1;
            for (int k = 0; k < n; k++)
                if (strcmp(fs[k].name, f->ref_by) == 0) t = k;
            if (t < 0 || fs[t].type != FT_ENUM)
                return FAIL("%s.%s: ref_by %s is not an enum field", owner, f->name, f->ref_by);
            for (const char *const *v = fs[t].enum_vals; *v; v++)
                if (!res_find_singular(*v))
                    return FAIL("%s.%s: %s names no resource", owner, fs[t].name, *v);
        }
        if (f->type == FT_LIST && f->items && f->nitems > 0 &&
            !check_fields(f->name, f->items, f->nitems, err, cap))
            return false;
        if (f->type == FT_LIST && (!f->items || f->nitems < 1 || f->max_len < 1 ||
                                   (f->flags & (RF_FILTER | RF_SEARCH | RF_SORT | RF_RANGE))))
            return FAIL("%s.%s: a list needs items and max_len, and cannot be filtered, searched "
                        "or sorted",
                        owner, f->name);
        if (f->type == FT_OBJECT &&
            (f->max_len < 1 || (f->flags & (RF_FILTER | RF_SEARCH | RF_SORT | RF_RANGE))))
            return FAIL("%s.%s: an object needs max_len, and cannot be filtered, searched or "
                        "sorted",
                        owner, f->name);
        if (f->type == FT_JSON && (f->max_len < 1 || f->items ||
                                   (f->flags & (RF_FILTER | RF_SEARCH | RF_SORT | RF_RANGE))))
            return FAIL("%s.%s: a JSON field needs max_len, has no items, and cannot be filtered, "
                        "searched or sorted",
                        owner, f->name);
        if (f->type == FT_OBJECT && f->items) {
            if (f->nitems < 1)
                return FAIL("%s.%s: an object's items name its members", owner, f->name);
            /* A writable one may hold a list (a collection's schema.fields). */
            for (int k = 0; k < f->nitems; k++)
                if (f->items[k].type == FT_OBJECT ||
                    (f->items[k].type == FT_LIST && (f->flags & RF_READONLY)))
                    return FAIL("%s.%s: an object's members are plain values", owner, f->name);
            if (!check_fields(f->name, f->items, f->nitems, err, cap)) return false;
        }
        if (f->type != FT_LIST && f->type != FT_OBJECT && f->items)
            return FAIL("%s.%s: only a list or an object has items", owner, f->name);
        /* An object's RF_SCALARS: its values are lists of names. */
        if ((f->flags & RF_SCALARS) && f->type == FT_OBJECT && f->items)
            return FAIL("%s.%s: an object of lists names no members", owner, f->name);
        if ((f->flags & RF_SCALARS) && f->type != FT_OBJECT &&
            (f->type != FT_LIST || f->nitems != 1 || f->items[0].type == FT_LIST))
            return FAIL("%s.%s: a list of scalars has one item field, not a list", owner, f->name);
        if (f->dflt && f->type == FT_ENUM) {
            bool ok = false;
            for (const char *const *v = f->enum_vals; *v && !ok; v++)
                ok = strcmp(*v, f->dflt) == 0;
            if (!ok) return FAIL("%s.%s: default %s is not a value", owner, f->name, f->dflt);
        }
    }
    return true;
}

bool res_table_check(char *err, size_t cap)
{
    return res_check(res_defs, RES__COUNT, res_sublists, res_sublist_count, res_actions, ACT__COUNT,
                     err, cap);
}

bool res_check(const res_def *defs, int ndefs, const res_sublist *subs, int nsubs,
               const res_action *acts, int nacts, char *err, size_t cap)
{
    char bad[128];
    for (int i = 0; i < ndefs; i++) {
        const res_def *r = &defs[i];
        if (r->id != i || !r->name || !r->singular || !r->prefix || !r->table)
            return FAIL("resource %d: id, name, singular, prefix and table are required", i);
        if ((unsigned)r->module >= MOD__COUNT) return FAIL("%s: unknown module", r->name);
        for (int k = 0; k < i; k++) {
            const res_def *o = &defs[k];
            if (!strcmp(o->name, r->name) || !strcmp(o->prefix, r->prefix) ||
                !strcmp(o->table, r->table) || !strcmp(o->singular, r->singular))
                return FAIL("%s and %s share a name, prefix, table or singular", o->name, r->name);
        }
        if (!check_fields(r->name, r->fields, r->nfields, err, cap)) return false;
        if (r->parent && (!res_find(r->parent) || !r->subpath || res_parent_field(r) < 0))
            return FAIL("%s: parent %s needs a known resource, a subpath and an RF_PARENT field",
                        r->name, r->parent);
        for (int k = 0; k < 4 && r->unique[k]; k++)
            if (!has_field(r, r->unique[k]))
                return FAIL("%s: unique field %s is not a field", r->name, r->unique[k]);
        for (int k = 0; k < 5 && r->require_one_of[k]; k++)
            if (!has_field(r, r->require_one_of[k]))
                return FAIL("%s: require_one_of %s is not a field", r->name, r->require_one_of[k]);
        for (int k = 0; k < 4 && r->indexes[k]; k++)
            if (!fields_of_list(r, r->indexes[k], bad, sizeof bad))
                return FAIL("%s: index %s names unknown field %s", r->name, r->indexes[k], bad);
        for (int k = 0; k < 3 && r->upsert_keys[k]; k++)
            if (!has_field(r, r->upsert_keys[k]))
                return FAIL("%s: upsert key %s is not a field", r->name, r->upsert_keys[k]);
        if (r->archive) {
            int sf = res_field_index(r, "status");
            bool ok = false;
            if (sf >= 0 && r->fields[sf].type == FT_ENUM)
                for (const char *const *v = r->fields[sf].enum_vals; *v; v++)
                    ok = ok || strcmp(*v, "archived") == 0;
            if (!ok) return FAIL("%s: archive needs a status enum holding archived", r->name);
        }
        if (r->default_sort && (!has_field(r, r->default_sort) ||
                                !(r->fields[res_field_index(r, r->default_sort)].flags & RF_SORT)))
            return FAIL("%s: default sort %s is not a sortable field", r->name, r->default_sort);
        for (int g = 0; g < 4 && r->rollup.group[g]; g++)
            if (g == 3 || !has_field(r, r->rollup.group[g]))
                return FAIL("%s: rollup group %s is not a field (at most 3)", r->name,
                            r->rollup.group[g]);
        if (r->rollup.sum) {
            int s = res_field_index(r, r->rollup.sum);
            if (s < 0 || (r->fields[s].type != FT_MONEY && r->fields[s].type != FT_INT))
                return FAIL("%s: rollup sum %s is not an integer field", r->name, r->rollup.sum);
        }
        const res_rollup *r2 = &r->rollup2;
        for (int g = 0; g < 4 && r2->group[g]; g++)
            if (g == 3 || !has_field(r, r2->group[g]))
                return FAIL("%s: rollup2 group %s is not a field (at most 3)", r->name,
                            r2->group[g]);
        if (r2->sum && (res_field_index(r, r2->sum) < 0 ||
                        (r->fields[res_field_index(r, r2->sum)].type != FT_MONEY &&
                         r->fields[res_field_index(r, r2->sum)].type != FT_INT)))
            return FAIL("%s: rollup2 sum %s is not an integer field", r->name, r2->sum);
        if (r->rollup.as || (r2->group[0] && (!r->rollup.group[0] || !r2->as)) ||
            (!r2->group[0] && (r2->as || r2->sum)))
            return FAIL("%s: a second rollup comes after the first and is named by `as` (only it)",
                        r->name);
        for (int k = 0; r2->as && k < ndefs; k++)
            if (!strcmp(defs[k].name, r2->as) ||
                (k < i && defs[k].rollup2.as && !strcmp(defs[k].rollup2.as, r2->as)))
                return FAIL("%s: rollup2 name %s is taken", r->name, r2->as);
    }
    for (int i = 0; i < nsubs; i++) {
        const res_sublist *s = &subs[i];
        const res_def *o = res_find(s->owner), *r = res_find(s->res);
        if (!o || !r || !has_field(r, s->field))
            return FAIL("sublist %s of %s: unknown owner, resource or field", s->name, s->owner);
        const res_def *v = s->via ? res_find(s->via) : NULL;
        if (s->via && (!v || !has_field(v, s->via_match) || !has_field(v, s->via_target)))
            return FAIL("sublist %s of %s: unknown via resource or fields", s->name, s->owner);
    }
    for (int i = 0; i < nacts; i++) {
        const res_action *a = &acts[i];
        if (a->id != i || !a->method || !a->path || !res_find(a->res))
            return FAIL("action %d (%s): id, method, path and a known resource are required", i,
                        a->path ? a->path : "?");
        if (!check_fields(a->path, a->body, a->nbody, err, cap) ||
            !check_fields(a->path, a->query, a->nquery, err, cap))
            return false;
        if (!a->media_type != !a->media_field || (a->media_field && !a->write))
            return FAIL("action %s: a media type goes with a body field, on a write", a->path);
        bool found = false;
        for (int k = 0; a->media_field && k < a->nbody; k++)
            found = found || strcmp(a->body[k].name, a->media_field) == 0;
        if (a->media_field && !found)
            return FAIL("action %s: media field %s is not a body field", a->path, a->media_field);
    }
    return true;
}

const res_action *res_get_action(const res_def *r, bool item)
{
    if (r->parent) return NULL;
    size_t n = strlen(r->path);
    for (int i = 0; i < res_action_count; i++) {
        const char *p = res_actions[i].path;
        if (strcmp(res_actions[i].method, "GET") == 0 && strncmp(p, r->path, n) == 0 &&
            strcmp(p + n, item ? "/{id}" : "") == 0)
            return &res_actions[i];
    }
    return NULL;
}
