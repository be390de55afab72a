/* test_schemas.c - the JSON Schemas the resource table yields (schema/schemas.c).
 *
 * The OpenAPI document and the agent tools both read these, so what one
 * promises the other does too. Most tests loop over res_table, so a new
 * resource is checked by default; a few name a resource to pin a shape a
 * client relies on. A failure names the resource and member. */
#include <stdio.h>
#include <string.h>

#include "schema/schemas.h"
#include "test.h"

#define R_CHECK(e, r, what)                                                                        \
    do {                                                                                           \
        if (!CHECK(e)) printf("  resource %s: %s\n", (r)->name, (what));                           \
    } while (0)

static json_t *prop(json_t *schema, const char *name)
{
    return json_object_get(json_object_get(schema, "properties"), name);
}

static bool is_str(json_t *j, const char *s)
{
    return json_is_string(j) && !strcmp(json_string_value(j), s);
}

static bool has_string(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (is_str(v, s)) return true;
    }
    return false;
}

/* A closed object: an agent (or a validator) learns of a typo at once. */
static bool closed_object(json_t *s)
{
    return json_is_object(s) && is_str(json_object_get(s, "type"), "object") &&
           json_is_false(json_object_get(s, "additionalProperties")) &&
           json_is_object(json_object_get(s, "properties"));
}

TEST(schemas_list_input_contact)
{
    json_t *in = res_schema_list_input(RES(CONTACT));
    CHECK(closed_object(in));
    json_t *limit = prop(in, "limit");
    CHECK_STR(json_string_value(json_object_get(limit, "type")), "integer");
    CHECK_EQ_INT(json_integer_value(json_object_get(limit, "minimum")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(limit, "maximum")), 100);
    CHECK_EQ_INT(json_integer_value(json_object_get(limit, "default")), 20);
    CHECK_STR(json_string_value(json_object_get(prop(in, "cursor"), "type")), "string");
    json_t *sort = json_object_get(prop(in, "sort"), "enum");
    CHECK(has_string(sort, "-created_at") && has_string(sort, "last_name"));
    CHECK(prop(in, "query") != NULL);
    /* A filter of each kind: text, enum, a reference, through a reference. */
    CHECK_EQ_INT(json_integer_value(json_object_get(prop(in, "email"), "maxLength")), 254);
    CHECK(has_string(json_object_get(prop(in, "status"), "enum"), "archived"));
    CHECK(prop(in, "company_id") != NULL);
    CHECK(prop(in, "company.name") != NULL);
    CHECK(prop(in, "custom_field_key") != NULL && prop(in, "custom_field_value") != NULL);
    /* Not a filter: a write may set it, a list may not match on it. */
    CHECK(prop(in, "notes") == NULL);
    json_decref(in);
}

TEST(schemas_list_input_every_resource)
{
    for (int i = 0; i < res_count; i++) {
        const res_def *r = res_table[i];
        json_t *in = res_schema_list_input(r);
        R_CHECK(closed_object(in), r, "not a closed object");
        /* The page and the order come first, as the OpenAPI document has them. */
        const char *want[] = {"limit", "cursor", "sort"};
        json_t *props = json_object_get(in, "properties");
        void *it = json_object_iter(props);
        for (int k = 0; k < 3; k++, it = json_object_iter_next(props, it))
            R_CHECK(it && !strcmp(json_object_iter_key(it), want[k]), r, want[k]);
        R_CHECK((prop(in, "query") != NULL) == res_has_search(r), r, "query");
        R_CHECK((prop(in, "custom_field_key") != NULL) == r->custom_fields, r, "custom_field_key");
        for (int f = 0; f < r->nfields; f++)
            if (r->fields[f].flags & RF_FILTER)
                R_CHECK(prop(in, r->fields[f].name), r, r->fields[f].name);
        if (r->parent) R_CHECK(prop(in, r->fields[res_parent_field(r)].name), r, "parent field");
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(in, "properties"), k, v)
        {
            const char *d = json_string_value(json_object_get(v, "description"));
            R_CHECK(d && *d, r, k);
        }
        json_decref(in);
    }
}

TEST(schemas_body_deal_create)
{
    json_t *b = res_schema_body(RES(DEAL), RS_CREATE, NULL);
    CHECK(closed_object(b));
    json_t *req = json_object_get(b, "required");
    CHECK_EQ_INT(json_array_size(req), 1);
    CHECK(has_string(req, "name"));
    CHECK(prop(b, "stage_id") != NULL && prop(b, "custom_fields") != NULL);
    /* Set by the server: not in a body. */
    CHECK(prop(b, "status") == NULL && prop(b, "position") == NULL);
    json_decref(b);
}

/* Every create requires exactly the writable required fields; an update
 * requires none; neither carries a read-only or parent field. */
TEST(schemas_body_every_resource)
{
    for (int i = 0; i < res_count; i++) {
        const res_def *r = res_table[i];
        if (r->read_only) continue;
        json_t *c = res_schema_body(r, RS_CREATE, NULL), *u = res_schema_body(r, RS_UPDATE, NULL);
        R_CHECK(closed_object(c) && closed_object(u), r, "not closed objects");
        R_CHECK(json_object_get(u, "required") == NULL, r, "update requires fields");
        size_t nreq = 0;
        for (int f = 0; f < r->nfields; f++) {
            const res_field *fd = &r->fields[f];
            bool writable = !(fd->flags & (RF_READONLY | RF_PARENT));
            R_CHECK((prop(c, fd->name) != NULL) == writable, r, fd->name);
            if (writable && (fd->flags & RF_REQUIRED)) {
                nreq++;
                R_CHECK(has_string(json_object_get(c, "required"), fd->name), r, fd->name);
            }
        }
        R_CHECK(json_array_size(json_object_get(c, "required")) == nreq, r, "required count");
        json_decref(c);
        json_decref(u);
    }
}

/* A sub-list's create takes its link field from the path. */
TEST(schemas_body_sublist_skips_link)
{
    for (int i = 0; i < res_sublist_count; i++) {
        const res_sublist *s = &res_sublists[i];
        if (!s->create) continue;
        const res_def *r = res_find(s->res);
        json_t *b = res_schema_body(r, RS_CREATE, s);
        R_CHECK(prop(b, s->field) == NULL, r, s->field);
        json_decref(b);
    }
}

/* An answer has every member, id and timestamps included, but those only
 * written (a password). */
TEST(schemas_record_every_resource)
{
    for (int i = 0; i < res_count; i++) {
        const res_def *r = res_table[i];
        json_t *s = res_schema_record(r), *req = json_object_get(s, "required");
        R_CHECK(json_array_size(req) == json_object_size(json_object_get(s, "properties")), r,
                "a member not required");
        R_CHECK(has_string(req, "id") && has_string(req, "created_at"), r, "id, created_at");
        char pat[64];
        snprintf(pat, sizeof pat, "^%s_" RES_SCHEMA_ID_TAIL, r->prefix);
        R_CHECK(!strcmp(json_string_value(json_object_get(prop(s, "id"), "pattern")), pat), r,
                "id pattern");
        for (int f = 0; f < r->nfields; f++)
            R_CHECK(has_string(req, r->fields[f].name) == !(r->fields[f].flags & RF_HIDDEN), r,
                    r->fields[f].name); /* hidden ones are never answered */
        json_decref(s);
    }
}

/* What each use adds to one field: the format check only on input, null
 * for an optional field except as a filter, the create-only note only on
 * update. */
TEST(schemas_field_uses)
{
    const res_field *email = &RES(CONTACT)->fields[CONTACT_email];
    json_t *out = res_schema_field(email, RS_OUT), *cr = res_schema_field(email, RS_CREATE),
           *fl = res_schema_field(email, RS_FILTER);
    CHECK(json_object_get(out, "pattern") == NULL && json_object_get(cr, "pattern") != NULL);
    CHECK(json_object_get(out, "maxLength") == NULL && json_object_get(cr, "maxLength") != NULL);
    CHECK(has_string(json_object_get(out, "type"), "null"));
    CHECK_STR(json_string_value(json_object_get(fl, "type")), "string");
    json_decref(out), json_decref(cr), json_decref(fl);

    const res_field *inv = &RES(PAYMENT)->fields[PAYMENT_invoice_id];
    json_t *up = res_schema_field(inv, RS_UPDATE);
    CHECK(strstr(json_string_value(json_object_get(up, "description")), "set on create") != NULL);
    CHECK_STR(json_string_value(json_object_get(up, "type")), "string"); /* required: no null */
    json_decref(up);
}
