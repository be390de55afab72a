/* schemas.c - the JSON Schemas of the resource table (see schemas.h).
 *
 * A field's type, limits and nullability come from its declaration and the
 * engine's input rules, so a schema says what the server accepts and
 * answers; the list parameters are what engine.c's parse_query reads. */
#include "schema/schemas.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *res_schema_pack(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_error_t e;
    json_t *j = json_vpack_ex(&e, 0, fmt, ap);
    va_end(ap);
    if (!j) {
        fprintf(stderr, "schemas: %s in \"%s\"\n", e.text, fmt);
        abort();
    }
    return j;
}
#define pack res_schema_pack

/* Lets a schema also hold null: null joins its type and its enum. */
static json_t *or_null(json_t *s)
{
    json_t *t = json_object_get(s, "type");
    if (json_is_string(t))
        json_object_set_new(s, "type", pack("[s,s]", json_string_value(t), "null"));
    json_t *e = json_object_get(s, "enum");
    if (e) json_array_append_new(e, json_null());
    return s;
}

/* ---------------------------------------------------------------- fields */

/* What engine.c's valid_email() accepts: one '@' after a non-empty local
 * part, a domain with a dot that neither starts nor ends it and no "..",
 * and none of the bytes it refuses (controls, space, ,<>();"). */
#define EMAIL_CH   "[^@\\x00-\\x20,<>();\"]"
#define EMAIL_LAST "[^@.\\x00-\\x20,<>();\"]"
static const char email_pattern[] =
    "^" EMAIL_CH "+@(?!\\.)(?!.*\\.\\.)" EMAIL_CH "*\\." EMAIL_CH "*" EMAIL_LAST "$";
/* What valid_url() accepts: http(s)://, a host, no control or space. */
static const char url_pattern[] = "^https?://[^/\\x00-\\x20][^\\x00-\\x20]*$";

/* One element of an FT_LIST field: in answers every member is present; in
 * bodies the writable ones, as in a create (a list is written whole). */
static json_t *list_item_schema(const res_field *f, res_schema_use use)
{
    if (f->flags & RF_SCALARS)
        return res_schema_field(&f->items[0], use == RS_OUT ? RS_OUT : RS_CREATE);
    res_field m[f->nitems];
    int n = 0;
    for (int i = 0; i < f->nitems; i++)
        if (use == RS_OUT || !(f->items[i].flags & RF_READONLY)) m[n++] = f->items[i];
    json_t *s = res_schema_fields(m, n, use == RS_OUT ? RS_OUT : RS_CREATE, false);
    if (use == RS_OUT) {
        json_t *req = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(req, json_string(m[i].name));
        json_object_set_new(s, "required", req);
    }
    return s;
}

json_t *res_schema_field(const res_field *f, res_schema_use use)
{
    json_t *s = json_object();
    bool in = use != RS_OUT; /* limits are what the server checks on input */
    switch (f->type) {
    case FT_LIST:
        json_object_set_new(s, "type", json_string("array"));
        if (in) json_object_set_new(s, "maxItems", json_integer(f->max_len));
        if (in && (f->flags & RF_REQUIRED)) json_object_set_new(s, "minItems", json_integer(1));
        json_object_set_new(s, "items", list_item_schema(f, use));
        break;
    case FT_OBJECT: {
        if (f->items && in) { /* its members named: a body gives the writable ones */
            res_field m[f->nitems];
            int n = 0;
            for (int i = 0; i < f->nitems; i++)
                if (!(f->items[i].flags & RF_READONLY)) m[n++] = f->items[i];
            json_decref(s);
            s = res_schema_fields(m, n, RS_CREATE, false);
            break;
        }
        if (f->items) { /* its members named: answers hold every one */
            json_t *m = res_schema_fields(f->items, f->nitems, RS_OUT, false), *req = json_array();
            for (int i = 0; i < f->nitems; i++)
                json_array_append_new(req, json_string(f->items[i].name));
            json_object_set_new(m, "required", req);
            json_decref(s);
            s = m;
            break;
        }
        json_t *v = pack("{s:[s,s,s]}", "type", "string", "number", "boolean");
        if (f->flags & RF_SCALARS) { /* lists of names */
            json_decref(v);
            v = pack("{s:s, s:{s:s, s:I}, s:I}", "type", "array", "items", "type", "string",
                     "maxLength", (json_int_t)100, "maxItems", (json_int_t)100);
            if (in) json_object_set_new(v, "type", pack("[s,s]", "array", "null"));
        } else if (in) {
            json_array_append_new(json_object_get(v, "type"), json_string("null"));
            json_object_set_new(v, "maxLength", json_integer(10000));
            json_object_set_new(s, "maxProperties", json_integer(f->max_len));
            json_object_set_new(s, "propertyNames",
                                pack("{s:s}", "pattern", "^[A-Za-z0-9_.-]{1,100}$"));
        }
        json_object_set_new(s, "type", json_string("object"));
        json_object_set_new(s, "additionalProperties", v);
        break;
    }
    case FT_INT:
    case FT_MONEY: {
        json_object_set_new(s, "type", json_string("integer"));
        json_object_set_new(s, "format", json_string("int64"));
        int64_t lo = f->min, hi = f->max;
        if (f->type == FT_MONEY && lo >= hi) lo = -RES_MONEY_MAX, hi = RES_MONEY_MAX;
        /* Money is bounded in answers too: every stored amount came in
         * through this check. Other integers may be set past their input
         * range by hooks (Won and Lost stages sit at 1000000 and up). */
        if ((in || f->type == FT_MONEY) && lo < hi) {
            json_object_set_new(s, "minimum", json_integer(lo));
            json_object_set_new(s, "maximum", json_integer(hi));
        }
        break;
    }
    case FT_NUMBER: json_object_set_new(s, "type", json_string("number")); break;
    case FT_JSON: json_object_set_new(s, "type", json_string("object")); break;
    case FT_BOOL: json_object_set_new(s, "type", json_string("boolean")); break;
    default:
        json_object_set_new(s, "type", json_string("string"));
        if (in) json_object_set_new(s, "maxLength", json_integer(res_field_max(f)));
    }
    switch (f->type) {
    case FT_EMAIL:
        if (use == RS_CREATE || use == RS_UPDATE)
            json_object_set_new(s, "pattern", json_string(email_pattern));
        break;
    case FT_URL:
        if (use == RS_CREATE || use == RS_UPDATE)
            json_object_set_new(s, "pattern", json_string(url_pattern));
        break;
    case FT_REF:
        if (in) json_object_set_new(s, "minLength", json_integer(1));
        break;
    case FT_DATETIME: json_object_set_new(s, "format", json_string("date-time")); break;
    case FT_DATE: json_object_set_new(s, "format", json_string("date")); break;
    case FT_CURRENCY: json_object_set_new(s, "pattern", json_string("^[A-Z]{3}$")); break;
    case FT_ENUM: {
        json_t *e = json_array();
        for (const char *const *v = f->enum_vals; *v; v++)
            json_array_append_new(e, json_string(*v));
        json_object_set_new(s, "enum", e);
        break;
    }
    default: break;
    }
    char desc[400];
    const char *doc = f->doc ? f->doc : "", *sep = f->doc ? "; " : "";
    if (f->type == FT_REF && f->ref_by)
        snprintf(desc, sizeof desc,
                 "%s%sid of a record, of the type %s names, in the same workspace", doc, sep,
                 f->ref_by);
    else if (f->type == FT_REF)
        snprintf(desc, sizeof desc, "%s%sid of a %s in the same workspace", doc, sep,
                 res_find(f->ref)->singular);
    else if (f->type == FT_MONEY)
        snprintf(desc, sizeof desc, "%s%sinteger cents", doc, sep);
    else if (f->type == FT_EMAIL)
        snprintf(desc, sizeof desc, "%s%san email address, compared case-insensitively", doc, sep);
    else if (f->type == FT_URL)
        snprintf(desc, sizeof desc, "%s%san http(s) URL", doc, sep);
    else
        snprintf(desc, sizeof desc, "%s", doc);
    if (use == RS_UPDATE && (f->flags & RF_CREATEONLY))
        snprintf(desc + strlen(desc), sizeof desc - strlen(desc),
                 "%sset on create; an update may only repeat it", desc[0] ? "; " : "");
    if (desc[0]) json_object_set_new(s, "description", json_string(desc));
    if ((f->flags & RF_HIDDEN) && !(f->flags & RF_READONLY))
        json_object_set_new(s, "writeOnly", json_true());
    /* An example is a body's value: answers carry the computed members too. */
    json_t *ex = f->example && (use == RS_CREATE || use == RS_UPDATE)
                     ? json_loads(f->example, JSON_DECODE_ANY, NULL)
                     : NULL;
    if (ex) json_object_set_new(s, "examples", pack("[o]", ex));
    if (use == RS_CREATE && f->dflt) {
        json_t *d = f->type == FT_BOOL ? json_boolean(strcmp(f->dflt, "true") == 0)
                    : f->type == FT_INT || f->type == FT_MONEY
                        ? json_integer(strtoll(f->dflt, NULL, 10))
                        : json_string(f->dflt);
        json_object_set_new(s, "default", d);
    }
    /* A field that is not required may be null, in answers and in bodies
     * (null clears it); a required one never is. */
    if (use != RS_FILTER && !(f->flags & RF_REQUIRED)) or_null(s);
    return s;
}

/* custom_fields: a flat object; in a body a null value removes a key. */
static json_t *custom_schema(bool in)
{
    json_t *v = pack("{s:[s,s,s]}", "type", "string", "number", "boolean");
    if (!in)
        return pack("{s:s, s:o, s:s}", "type", "object", "additionalProperties", v, "description",
                    "Your own keys and values");
    json_array_append_new(json_object_get(v, "type"), json_string("null"));
    json_object_set_new(v, "maxLength", json_integer(10000));
    return pack("{s:s, s:I, s:{s:s}, s:o, s:s}", "type", "object", "maxProperties", (json_int_t)100,
                "propertyNames", "pattern", "^[A-Za-z0-9_.-]{1,100}$", "additionalProperties", v,
                "description",
                "Keys to set (merged into the stored ones); a null value removes its key");
}

/* A record as the server answers it: every member is always present. */
json_t *res_schema_record(const res_def *r)
{
    char pat[64];
    snprintf(pat, sizeof pat, "^%s_" RES_SCHEMA_ID_TAIL, r->prefix);
    json_t *p = pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "id", "type", "string", "pattern", pat,
                     "object", "type", "string", "const", r->singular);
    for (int i = 0; i < r->nfields; i++)
        if (!(r->fields[i].flags & RF_HIDDEN))
            json_object_set_new(p, r->fields[i].name, res_schema_field(&r->fields[i], RS_OUT));
    if (r->custom_fields) json_object_set_new(p, "custom_fields", custom_schema(false));
    json_object_set_new(p, "created_at",
                        pack("{s:s, s:s}", "type", "string", "format", "date-time"));
    json_object_set_new(p, "updated_at",
                        pack("{s:s, s:s}", "type", "string", "format", "date-time"));
    json_t *req = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(p, k, v) json_array_append_new(req, json_string(k));
    return pack("{s:s, s:s*, s:o, s:o}", "type", "object", "description", r->doc, "properties", p,
                "required", req);
}

/* An inline object schema of declared body fields: an action's input, or a
 * resource's create (fields of r, `custom` adding custom_fields). */
json_t *res_schema_fields(const res_field *f, int n, res_schema_use use, bool custom)
{
    json_t *p = json_object(), *req = json_array();
    for (int i = 0; i < n; i++) {
        json_object_set_new(p, f[i].name, res_schema_field(&f[i], use));
        if (use == RS_CREATE && (f[i].flags & RF_REQUIRED))
            json_array_append_new(req, json_string(f[i].name));
    }
    if (custom) json_object_set_new(p, "custom_fields", custom_schema(true));
    json_t *s =
        pack("{s:s, s:b, s:o}", "type", "object", "additionalProperties", 0, "properties", p);
    if (json_array_size(req))
        json_object_set_new(s, "required", req);
    else
        json_decref(req);
    return s;
}

/* A create or update body of r: its writable fields. `skip` (may be NULL)
 * leaves out a sub-list's link field and its type field, which come from
 * the path. */
json_t *res_schema_body(const res_def *r, res_schema_use use, const res_sublist *skip)
{
    int s1 = skip ? res_field_index(r, skip->field) : -1;
    int s2 = s1 >= 0 && r->fields[s1].ref_by ? res_field_index(r, r->fields[s1].ref_by) : -1;
    res_field f[r->nfields > 0 ? r->nfields : 1];
    int n = 0;
    for (int i = 0; i < r->nfields; i++)
        if (!(r->fields[i].flags & (RF_READONLY | RF_PARENT)) && i != s1 && i != s2)
            f[n++] = r->fields[i];
    json_t *s = res_schema_fields(f, n, use, r->custom_fields);
    if (use == RS_CREATE && r->require_one_of[0]) {
        /* The engine wants one of these non-null; presence is what a schema
         * can say, the message of the 400 says the rest. */
        json_t *any = json_array();
        for (int k = 0; r->require_one_of[k]; k++)
            json_array_append_new(any, pack("{s:[s]}", "required", r->require_one_of[k]));
        json_object_set_new(s, "anyOf", any);
    }
    return s;
}

/* ------------------------------------------------------ list parameters */

/* Adds parameter `name` to the properties p: its schema s (stolen) with the
 * parameter's description. */
static void param(json_t *p, const char *name, json_t *s, const char *desc)
{
    if (json_object_get(p, name)) {
        /* A table whose names collide (a filter and a range, say): one
         * would hide the other from clients. */
        fprintf(stderr, "schemas: list parameter %s twice\n", name);
        abort();
    }
    json_object_set_new(s, "description", json_string(desc));
    json_object_set_new(p, name, s);
}

static json_t *str_schema(void)
{
    return pack("{s:s}", "type", "string");
}

/* Every list's parameters: page, order, search, one per filterable field,
 * time ranges, filters through a reference, custom fields (engine.c's
 * parse_query reads exactly these). */
json_t *res_schema_list_input(const res_def *r)
{
    json_t *p = json_object();
    param(p, "limit",
          pack("{s:s, s:I, s:I, s:I}", "type", "integer", "minimum", (json_int_t)1, "maximum",
               (json_int_t)100, "default", (json_int_t)20),
          "Page size");
    param(p, "cursor", str_schema(), "next_cursor of the previous page (same list, same sort)");
    json_t *sorts = pack("[s,s]", "created_at", "-created_at");
    for (int i = 0; i < r->nfields; i++) {
        if (!(r->fields[i].flags & RF_SORT)) continue;
        char d[80];
        snprintf(d, sizeof d, "-%s", r->fields[i].name);
        json_array_append_new(sorts, json_string(r->fields[i].name));
        json_array_append_new(sorts, json_string(d));
    }
    char d[200];
    snprintf(d, sizeof d, "Order; '-' for descending. Default %s%s. Not combinable with query",
             r->default_sort ? "" : "-created_at", r->default_sort ? r->default_sort : "");
    param(p, "sort", pack("{s:s, s:o}", "type", "string", "enum", sorts), d);
    if (res_has_search(r)) {
        char q[512] = "Full-text prefix search (newest first) across";
        for (int i = 0, n = 0; i < r->nfields; i++)
            if (r->fields[i].flags & RF_SEARCH)
                snprintf(q + strlen(q), sizeof q - strlen(q), "%s %s", n++ ? "," : "",
                         r->fields[i].name);
        param(p, "query", pack("{s:s, s:I}", "type", "string", "maxLength", (json_int_t)200), q);
    }
    for (int i = 0; i < r->nfields; i++) {
        if (!(r->fields[i].flags & RF_FILTER)) continue;
        /* Filters take what writes take, minus the format checks an exact
         * match needs no help from (as parse_query does). */
        res_field loose = r->fields[i];
        loose.flags &= ~(unsigned)RF_REQUIRED;
        loose.doc = NULL;
        if (loose.type == FT_EMAIL || loose.type == FT_URL || loose.type == FT_REF)
            loose.type = FT_STRING, loose.ref = loose.ref_by = NULL;
        param(p, loose.name, res_schema_field(&loose, RS_FILTER),
              "Exact match (case-insensitive for text)");
    }
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (!(f->flags & RF_RANGE)) continue;
        size_t n = strlen(f->name);
        if (n > 3 && strcmp(f->name + n - 3, "_at") == 0) n -= 3;
        for (int k = 0; k < 2; k++) {
            char name[128], desc[160];
            snprintf(name, sizeof name, "%.*s_%s", (int)n, f->name, k ? "after" : "before");
            snprintf(desc, sizeof desc, "Only records whose %s is %s this time", f->name,
                     k ? "at or after" : "before");
            param(p, name, pack("{s:s, s:s}", "type", "string", "format", "date-time"), desc);
        }
    }
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        size_t n = strlen(f->name);
        if (f->type != FT_REF || !f->ref || n < 4 || strcmp(f->name + n - 3, "_id") != 0) continue;
        const res_def *t = res_find(f->ref);
        for (int k = 0; k < t->nfields; k++) {
            if (!(t->fields[k].flags & RF_FILTER)) continue;
            char name[160], desc[200];
            snprintf(name, sizeof name, "%.*s.%s", (int)(n - 3), f->name, t->fields[k].name);
            snprintf(desc, sizeof desc, "Records whose %s has this %s", t->singular,
                     t->fields[k].name);
            param(p, name, str_schema(), desc);
        }
    }
    if (r->parent)
        param(p, r->fields[res_parent_field(r)].name, str_schema(),
              "The id in the path, repeated (any other is refused with a 400)");
    if (r->custom_fields) {
        param(p, "custom_field_key",
              pack("{s:s, s:s}", "type", "string", "pattern", "^[A-Za-z0-9_.-]{1,100}$"),
              "Custom field to match; goes with custom_field_value");
        param(p, "custom_field_value", str_schema(),
              "Value the custom field must equal (string form)");
    }
    return pack("{s:s, s:b, s:o}", "type", "object", "additionalProperties", 0, "properties", p);
}
