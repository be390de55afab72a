/* test_registry.c - the resource table's invariants, checked over every row.
 *
 * Nothing here names a particular resource: each test loops over res_table
 * (and res_sublists), so a resource added to the table is checked by
 * default. A failure names the resource and field. */
#include <stdio.h>
#include <string.h>

#include "resources/engine.h"
#include "resources/hooks.h"
#include "schema/table.h"
#include "test.h"

static bool nonempty(const char *s)
{
    return s && *s;
}

/* A plain SQL identifier: the store splices names into SQL unquoted. */
static bool ident(const char *s)
{
    if (!s || !((*s >= 'a' && *s <= 'z') || *s == '_')) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return false;
    return true;
}

/* Path segments: lower case, digits, '-', '/' between segments. */
static bool path_ok(const char *s)
{
    if (!nonempty(s) || *s == '/' || s[strlen(s) - 1] == '/') return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '/' ||
              *s == '_'))
            return false;
    return true;
}

#define R_CHECK(e, r)                                                                              \
    do {                                                                                           \
        if (!CHECK(e)) printf("  resource %s\n", (r)->name ? (r)->name : "(null)");                \
    } while (0)
#define F_CHECK(e, r, f)                                                                           \
    do {                                                                                           \
        if (!CHECK(e))                                                                             \
            printf("  resource %s field %s\n", (r)->name ? (r)->name : "(null)",                   \
                   (f)->name ? (f)->name : "(null)");                                              \
    } while (0)

TEST(registry_not_empty)
{
    CHECK(res_count > 0);
    for (int i = 0; i < res_count; i++)
        CHECK(res_table[i] != NULL);
}

TEST(registry_resource_basics)
{
    for (int i = 0; i < res_count; i++) {
        const res_def *r = res_table[i];
        R_CHECK(nonempty(r->name), r);
        R_CHECK(nonempty(r->singular), r);
        R_CHECK(nonempty(r->schema), r);
        R_CHECK(r->schema && r->schema[0] >= 'A' && r->schema[0] <= 'Z', r);
        R_CHECK(nonempty(r->prefix), r);
        R_CHECK(r->prefix && strspn(r->prefix, "abcdefghijklmnopqrstuvwxyz") == strlen(r->prefix),
                r);
        R_CHECK(r->prefix && strlen(r->prefix) <= 8, r); /* ids must fit ID_MAX */
        R_CHECK(ident(r->table), r);
        R_CHECK(nonempty(r->scope_read) && strchr(r->scope_read, ':'), r);
        R_CHECK(nonempty(r->scope_write) && strchr(r->scope_write, ':'), r);
        R_CHECK(ident(r->singular), r);               /* used in event names: contact.created */
        if (!r->parent) R_CHECK(path_ok(r->path), r); /* nested: path is optional */
        R_CHECK(r->fields != NULL, r);
        R_CHECK(r->nfields > 0, r);
        /* res_find finds each resource as itself. */
        R_CHECK(r->name && res_find(r->name) == r, r);
    }
    CHECK(res_find("no-such-resource") == NULL);
}

TEST(registry_unique_across_resources)
{
    for (int i = 0; i < res_count; i++)
        for (int j = i + 1; j < res_count; j++) {
            const res_def *a = res_table[i], *b = res_table[j];
            if (!CHECK(strcmp(a->name, b->name) != 0)) printf("  duplicate name %s\n", a->name);
            if (!CHECK(strcmp(a->prefix, b->prefix) != 0))
                printf("  %s and %s share prefix %s\n", a->name, b->name, a->prefix);
            if (!CHECK(strcmp(a->table, b->table) != 0))
                printf("  %s and %s share table %s\n", a->name, b->name, a->table);
            if (!CHECK(strcmp(a->singular, b->singular) != 0))
                printf("  %s and %s share singular %s\n", a->name, b->name, a->singular);
            if (!CHECK(strcmp(a->schema, b->schema) != 0))
                printf("  %s and %s share schema %s\n", a->name, b->name, a->schema);
            /* Two top-level resources cannot share a path. */
            if (!a->parent && !b->parent && !CHECK(strcmp(a->path, b->path) != 0))
                printf("  %s and %s share path %s\n", a->name, b->name, a->path);
            /* Two nested resources cannot share parent + subpath. */
            if (a->parent && b->parent && strcmp(a->parent, b->parent) == 0 &&
                !CHECK(strcmp(a->subpath, b->subpath) != 0))
                printf("  %s and %s share /%s/{id}/%s\n", a->name, b->name, a->parent, a->subpath);
        }
    /* The core tables are not resource tables. */
    static const char *const core[] = {"workspaces", "api_keys", "events", "idempotency_keys",
                                       "schema_migrations"};
    for (int i = 0; i < res_count; i++)
        for (size_t k = 0; k < sizeof core / sizeof core[0]; k++)
            R_CHECK(strcmp(res_table[i]->table, core[k]) != 0, res_table[i]);
}

TEST(registry_fields)
{
    /* Columns every resource table has already. */
    static const char *const reserved[] = {"rid",        "id",         "workspace_id",
                                           "created_at", "updated_at", "custom_fields"};
    for (int i = 0; i < res_count; i++) {
        const res_def *r = res_table[i];
        for (int k = 0; k < r->nfields; k++) {
            const res_field *f = &r->fields[k];
            F_CHECK(ident(f->name), r, f);
            for (size_t x = 0; x < sizeof reserved / sizeof reserved[0]; x++)
                F_CHECK(strcmp(f->name, reserved[x]) != 0, r, f);
            for (int m = k + 1; m < r->nfields; m++)
                F_CHECK(strcmp(f->name, r->fields[m].name) != 0, r, f);
            F_CHECK(res_field_index(r, f->name) == k, r, f);
            F_CHECK(f->type >= FT_STRING && f->type <= FT_JSON, r, f);
            F_CHECK(f->max_len >= 0, r, f);
            F_CHECK(res_field_max(f) > 0, r, f);
            /* A read-only field cannot be required of the client, unless it
             * comes from the path (the parent id). */
            if ((f->flags & RF_READONLY) && !(f->flags & RF_PARENT))
                F_CHECK(!(f->flags & RF_REQUIRED), r, f);
            /* enum_vals and ref belong to their types only. */
            if (f->type == FT_ENUM) {
                F_CHECK(f->enum_vals != NULL && f->enum_vals[0] != NULL, r, f);
                for (int v = 0; f->enum_vals && f->enum_vals[v]; v++) {
                    F_CHECK(nonempty(f->enum_vals[v]), r, f);
                    for (int w = v + 1; f->enum_vals[w]; w++)
                        F_CHECK(strcmp(f->enum_vals[v], f->enum_vals[w]) != 0, r, f);
                }
            } else {
                F_CHECK(f->enum_vals == NULL, r, f);
            }
            if (f->type == FT_REF && f->ref_by) {
                /* A typed reference: its type field is an enum of singulars. */
                int tf = res_field_index(r, f->ref_by);
                F_CHECK(f->ref == NULL && tf >= 0 && r->fields[tf].type == FT_ENUM, r, f);
                for (int v = 0; tf >= 0 && r->fields[tf].enum_vals[v]; v++)
                    F_CHECK(res_find_singular(r->fields[tf].enum_vals[v]) != NULL, r, f);
            } else if (f->type == FT_REF) {
                F_CHECK(nonempty(f->ref), r, f);
                F_CHECK(f->ref && res_find(f->ref) != NULL, r, f);
            } else {
                F_CHECK(f->ref == NULL, r, f);
            }
            /* Defaults must be values the field accepts. */
            if (f->dflt) {
                if (f->type == FT_ENUM) {
                    bool found = false;
                    for (int v = 0; f->enum_vals && f->enum_vals[v]; v++)
                        found = found || strcmp(f->enum_vals[v], f->dflt) == 0;
                    F_CHECK(found, r, f);
                } else if (f->type == FT_BOOL) {
                    F_CHECK(strcmp(f->dflt, "true") == 0 || strcmp(f->dflt, "false") == 0, r, f);
                } else if (f->type == FT_INT || f->type == FT_MONEY) {
                    const char *p = f->dflt + (*f->dflt == '-');
                    F_CHECK(*p && strspn(p, "0123456789") == strlen(p), r, f);
                }
            }
            if (f->type == FT_INT && f->min < f->max && f->dflt) {
                long long d = 0;
                sscanf(f->dflt, "%lld", &d);
                F_CHECK(d >= f->min && d <= f->max, r, f);
            }
            F_CHECK(f->min <= f->max, r, f);
        }
        /* Derived helpers agree with the flags. */
        bool any_search = false;
        for (int k = 0; k < r->nfields; k++)
            any_search = any_search || (r->fields[k].flags & RF_SEARCH);
        R_CHECK(res_has_search(r) == any_search, r);
        R_CHECK(res_field_index(r, "no_such_field") == -1, r);
    }
}

TEST(registry_nesting)
{
    for (int i = 0; i < res_count; i++) {
        const res_def *r = res_table[i];
        int nparent = 0, pf = -1;
        for (int k = 0; k < r->nfields; k++)
            if (r->fields[k].flags & RF_PARENT) {
                nparent++;
                pf = k;
            }
        if (!r->parent) {
            R_CHECK(nparent == 0, r);
            R_CHECK(r->subpath == NULL, r);
            R_CHECK(res_parent_field(r) == -1, r);
            continue;
        }
        const res_def *p = res_find(r->parent);
        R_CHECK(p != NULL, r);
        R_CHECK(p != r, r);
        R_CHECK(path_ok(r->subpath), r);
        R_CHECK(nparent == 1, r);
        R_CHECK(res_parent_field(r) == pf, r);
        if (pf >= 0) {
            const res_field *f = &r->fields[pf];
            /* The parent field holds the parent's id and comes from the path. */
            F_CHECK(f->type == FT_REF, r, f);
            F_CHECK(f->ref && strcmp(f->ref, r->parent) == 0, r, f);
            F_CHECK(f->flags & RF_READONLY, r, f);
        }
        /* No cycles: walking parents ends at a top-level resource. */
        const res_def *q = r;
        int hops = 0;
        while (q && q->parent && hops <= res_count) {
            q = res_find(q->parent);
            hops++;
        }
        R_CHECK(hops <= res_count, r);
    }
}

TEST(registry_unique_and_require_one_of)
{
    for (int i = 0; i < res_count; i++) {
        const res_def *r = res_table[i];
        int n = 0;
        for (; n < 4 && r->unique[n]; n++) {
            if (!CHECK(res_field_index(r, r->unique[n]) >= 0))
                printf("  resource %s unique names unknown field %s\n", r->name, r->unique[n]);
            for (int m = 0; m < n; m++)
                R_CHECK(strcmp(r->unique[m], r->unique[n]) != 0, r);
        }
        R_CHECK(n < 4, r); /* the array is NULL-ended */
        n = 0;
        for (; n < 5 && r->require_one_of[n]; n++) {
            int k = res_field_index(r, r->require_one_of[n]);
            if (!CHECK(k >= 0))
                printf("  resource %s require_one_of names unknown field %s\n", r->name,
                       r->require_one_of[n]);
            /* Required-one-of fields are ones a client can send. */
            else
                R_CHECK(!(r->fields[k].flags & RF_READONLY), r);
        }
        R_CHECK(n < 5, r);
    }
}

TEST(registry_sublists)
{
    CHECK(res_sublist_count >= 0);
    for (int i = 0; i < res_sublist_count; i++) {
        const res_sublist *s = &res_sublists[i];
        const res_def *owner = s->owner ? res_find(s->owner) : NULL;
        const res_def *res = s->res ? res_find(s->res) : NULL;
        if (!CHECK(owner != NULL && res != NULL)) {
            printf("  sublist %d: owner %s res %s\n", i, s->owner ? s->owner : "(null)",
                   s->res ? s->res : "(null)");
            continue;
        }
        CHECK(path_ok(s->name));
        int f = s->field ? res_field_index(res, s->field) : -1;
        if (!CHECK(f >= 0)) printf("  sublist %s/%s: no field %s\n", s->owner, s->name, s->field);
        /* The link field names the owner: as its target, or for a typed
         * reference, among the values of its type field. */
        if (f >= 0 && res->fields[f].type == FT_REF && res->fields[f].ref_by) {
            int tf = res_field_index(res, res->fields[f].ref_by);
            bool named = false;
            for (int v = 0; tf >= 0 && res->fields[tf].enum_vals[v]; v++)
                named |= strcmp(res->fields[tf].enum_vals[v], owner->singular) == 0;
            if (!CHECK(named))
                printf("  sublist %s/%s: %s cannot name a %s\n", s->owner, s->name,
                       res->fields[f].ref_by, owner->singular);
        } else if (f >= 0 && res->fields[f].type == FT_REF) {
            CHECK_STR(res->fields[f].ref, s->owner);
        }
        /* A creating sublist links by its own field, not through another. */
        if (s->create) CHECK(s->via == NULL && f >= 0);
        /* A sublist may not shadow a nested resource's path. */
        for (int k = 0; k < res_count; k++) {
            const res_def *r = res_table[k];
            if (r->parent && strcmp(r->parent, s->owner) == 0 &&
                !CHECK(strcmp(r->subpath, s->name)))
                printf("  sublist %s/%s shadows %s\n", s->owner, s->name, r->name);
        }
        if (!s->via) {
            CHECK(s->via_match == NULL && s->via_target == NULL);
            continue;
        }
        const res_def *via = res_find(s->via);
        if (!CHECK(via != NULL)) {
            printf("  sublist %s/%s: no via resource %s\n", s->owner, s->name, s->via);
            continue;
        }
        int m = s->via_match ? res_field_index(via, s->via_match) : -1;
        int t = s->via_target ? res_field_index(via, s->via_target) : -1;
        if (!CHECK(m >= 0 && t >= 0))
            printf("  sublist %s/%s: via %s lacks %s or %s\n", s->owner, s->name, s->via,
                   s->via_match ? s->via_match : "(null)",
                   s->via_target ? s->via_target : "(null)");
        if (m >= 0 && via->fields[m].type == FT_REF) CHECK_STR(via->fields[m].ref, s->owner);
        if (t >= 0 && via->fields[t].type == FT_REF) CHECK_STR(via->fields[t].ref, s->res);
    }
    /* Sublists are unique per owner. */
    for (int i = 0; i < res_sublist_count; i++)
        for (int j = i + 1; j < res_sublist_count; j++)
            if (strcmp(res_sublists[i].owner, res_sublists[j].owner) == 0)
                CHECK(strcmp(res_sublists[i].name, res_sublists[j].name) != 0);
}

/* Declared extras: composite indexes name real fields, a default sort and
 * upsert keys name sortable / filterable fields, and actions resolve. */
TEST(registry_indexes_sorts_upserts_actions)
{
    for (int t = 0; t < res_count; t++) {
        const res_def *r = res_table[t];
        for (int k = 0; k < 4 && r->indexes[k]; k++) {
            char spec[256];
            snprintf(spec, sizeof spec, "%s", r->indexes[k]);
            for (char *save = NULL, *f = strtok_r(spec, ",", &save); f;
                 f = strtok_r(NULL, ",", &save))
                if (!CHECK(res_field_index(r, f + (*f == '=')) >= 0)) /* "=f": f as stored */
                    printf("  resource %s index %s field %s\n", r->name, r->indexes[k], f);
        }
        if (r->default_sort) {
            int i = res_field_index(r, r->default_sort);
            if (!CHECK(i >= 0 && (r->fields[i].flags & RF_SORT)))
                printf("  resource %s default_sort %s\n", r->name, r->default_sort);
        }
        for (int k = 0; k < 3 && r->upsert_keys[k]; k++) {
            int i = res_field_index(r, r->upsert_keys[k]);
            if (!CHECK(i >= 0 && (r->fields[i].flags & RF_FILTER)))
                printf("  resource %s upsert key %s\n", r->name, r->upsert_keys[k]);
        }
        /* Rollup groups are text fields; the sum is an integer field. */
        for (int g = 0; g < 4 && r->rollup.group[g]; g++) {
            int i = res_field_index(r, r->rollup.group[g]);
            res_ftype ty = i >= 0 ? r->fields[i].type : FT_INT;
            if (!CHECK(g < 3 && i >= 0 && ty != FT_INT && ty != FT_MONEY && ty != FT_BOOL &&
                       ty != FT_DATETIME && ty != FT_NUMBER))
                printf("  resource %s rollup group %s\n", r->name, r->rollup.group[g]);
        }
        if (r->rollup.sum) {
            int i = res_field_index(r, r->rollup.sum);
            if (!CHECK(r->rollup.group[0] && i >= 0 &&
                       (r->fields[i].type == FT_INT || r->fields[i].type == FT_MONEY)))
                printf("  resource %s rollup sum %s\n", r->name, r->rollup.sum);
        }
        /* Nested resources have no /batch, /merge or /timeline of their own. */
        if (r->parent) CHECK(!r->batch && !r->mergeable && !r->timeline);
    }
    for (int i = 0; i < res_action_count; i++) {
        const res_action *a = &res_actions[i];
        /* Like a resource path, with {id} placeholders. */
        char plain[256];
        size_t n = 0;
        for (const char *c = a->path; *c && n + 1 < sizeof plain; c++)
            if (*c != '{' && *c != '}') plain[n++] = *c;
        plain[n] = '\0';
        bool ok = path_ok(plain) && res_find(a->res) != NULL && engine_actions[a->id] != NULL &&
                  nonempty(a->op_id) && nonempty(a->summary) &&
                  (!strcmp(a->method, "GET") || !strcmp(a->method, "POST") ||
                   !strcmp(a->method, "PATCH") || !strcmp(a->method, "DELETE")) &&
                  (strcmp(a->method, "GET") != 0 || !a->write) && (a->nbody == 0 || a->body);
        for (int k = 0; k < a->nbody && ok; k++)
            ok = ident(a->body[k].name) && (a->body[k].type != FT_REF || a->body[k].ref);
        for (int k = 0; k < i; k++)
            ok = ok && strcmp(res_actions[k].op_id, a->op_id) != 0;
        if (!CHECK(ok)) printf("  action %s %s\n", a->method, a->path);
    }
}

/* The start-up check passes on the real table, and each kind of mistake it
 * exists for is caught: a table copy with one thing broken at a time. */
TEST(registry_startup_check)
{
    char err[256];
    if (!CHECK(engine_check(err, sizeof err))) printf("  %s\n", err);
    /* The generated constants name the fields they say. */
    CHECK_STR(RES(DEAL)->fields[DEAL_stage_id].name, "stage_id");
    CHECK_STR(RES(CONTACT)->fields[CONTACT_email].name, "email");
    CHECK_STR(res_actions[ACT_DEAL_MOVE].body[MOVE_below_id].name, "below_id");
    CHECK_EQ_INT(RES(DEAL)->nfields, DEAL__COUNT);
    for (int i = 0; i < RES__COUNT; i++) {
        CHECK_EQ_INT(res_defs[i].id, i);
        CHECK(res_table[i] == &res_defs[i]);
        CHECK(res_module_find(res_module_names[res_defs[i].module]) == (int)res_defs[i].module);
    }
    CHECK_EQ_INT(res_module_find("no-such-module"), -1);

    /* One broken copy at a time: each must be refused, naming the problem. */
    static res_field fields[64];
    static res_def defs[RES__COUNT];
    static res_action acts[ACT__COUNT];
    static res_sublist subs[16];
    CHECK(res_sublist_count <= 16 && RES(DEAL)->nfields <= 64);
    static res_field counts[8];
    for (int c = 0; c < 18; c++) {
        memcpy(defs, res_defs, sizeof defs);
        memcpy(acts, res_actions, sizeof acts);
        memcpy(subs, res_sublists, sizeof(res_sublist) * (size_t)res_sublist_count);
        memcpy(fields, RES(DEAL)->fields, sizeof(res_field) * DEAL__COUNT);
        defs[RES_DEAL].fields = fields;
        const char *want = "?";
        switch (c) {
        case 0: fields[DEAL_stage_id].ref = "stages", want = "unknown resource stages"; break;
        case 1: defs[RES_DEAL].rollup.sum = "name", want = "rollup sum"; break;
        case 2: defs[RES_DEAL].rollup.group[1] = "stages", want = "rollup group"; break;
        case 3: defs[RES_DEAL].indexes[0] = "stage_id,pos", want = "unknown field pos"; break;
        case 4: defs[RES_DEAL].prefix = "con", want = "share"; break;
        case 5: fields[DEAL_name].name = "notes", want = "declared twice"; break;
        case 6: defs[RES_DEAL].upsert_keys[0] = "mail", want = "upsert key"; break;
        case 7: subs[0].field = "company", want = "sublist"; break;
        case 8: acts[ACT_DEAL_MOVE].res = "deal", want = "known resource"; break;
        case 9: fields[DEAL_status].dflt = "closed", want = "default closed"; break;
        case 10: defs[RES_DEAL].default_sort = "notes", want = "default sort"; break;
        case 11: fields[DEAL_name].flags |= RF_SCALARS, want = "list of scalars"; break;
        case 12: defs[RES_DEAL].rollup2.group[0] = "status", want = "second rollup"; break;
        case 13:
            defs[RES_DEAL].rollup2 = (res_rollup){.group = {"status"}, .as = "contacts"};
            want = "is taken";
            break;
        case 14: acts[ACT_IMPORT_CREATE].media_field = "csv", want = "media field csv"; break;
        case 15: acts[ACT_IMPORT_CREATE].media_type = NULL, want = "media type"; break;
        case 16:
            /* A writable object's members may hold a list (a collection's
             * schema.fields); a read-only one's are plain values. */
            memcpy(counts, RES(CMSCOL)->fields, sizeof(res_field) * CMSCOL__COUNT);
            defs[RES_CMSCOL].fields = counts;
            counts[CMSCOL_schema].flags |= RF_READONLY;
            want = "plain values";
            break;
        case 17:
            fields[DEAL_name].items = RES(IMPORT)->fields[IMPORT_counts].items;
            fields[DEAL_name].nitems = 1;
            want = "only a list or an object has items";
            break;
        }
        err[0] = '\0';
        bool ok =
            res_check(defs, RES__COUNT, subs, res_sublist_count, acts, ACT__COUNT, err, sizeof err);
        if (!CHECK(!ok && strstr(err, want))) printf("  case %d: '%s'\n", c, err);
    }
}
