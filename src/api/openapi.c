/* openapi.c - the OpenAPI 3.1 document, generated from the route table and
 * the resource table, so it cannot drift from what the server does. Built
 * once per process and served from memory. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/routes.h"

static buf doc;
static pthread_once_t doc_once = PTHREAD_ONCE_INIT;

static void field_schema(jw *w, const res_field *f)
{
    jw_obj_open(w);
    switch (f->type) {
    case FT_INT:
    case FT_MONEY:
        jw_kstr(w, "type", "integer");
        jw_kstr(w, "format", "int64");
        if (f->min < f->max) {
            jw_kint(w, "minimum", f->min);
            jw_kint(w, "maximum", f->max);
        } else if (f->type == FT_MONEY) {
            jw_kint(w, "minimum", -RES_MONEY_MAX);
            jw_kint(w, "maximum", RES_MONEY_MAX);
        }
        break;
    case FT_NUMBER: jw_kstr(w, "type", "number"); break;
    case FT_BOOL: jw_kstr(w, "type", "boolean"); break;
    default: jw_kstr(w, "type", "string"); jw_kint(w, "maxLength", res_field_max(f));
    }
    switch (f->type) {
    case FT_EMAIL: jw_kstr(w, "format", "email"); break;
    case FT_URL: jw_kstr(w, "format", "uri"); break;
    case FT_DATETIME: jw_kstr(w, "format", "date-time"); break;
    case FT_DATE: jw_kstr(w, "format", "date"); break;
    case FT_CURRENCY: jw_kstr(w, "pattern", "^[A-Z]{3}$"); break;
    case FT_ENUM:
        jw_key(w, "enum");
        jw_arr_open(w);
        for (const char *const *e = f->enum_vals; *e; e++)
            jw_str(w, *e);
        jw_arr_close(w);
        break;
    default: break;
    }
    char desc[300];
    if (f->type == FT_REF && f->ref_by)
        snprintf(desc, sizeof desc,
                 "%s%sid of a record, of the type %s names, in the same workspace",
                 f->doc ? f->doc : "", f->doc ? "; " : "", f->ref_by);
    else if (f->type == FT_REF)
        snprintf(desc, sizeof desc, "%s%sid of a %s in the same workspace", f->doc ? f->doc : "",
                 f->doc ? "; " : "", res_find(f->ref)->singular);
    else if (f->type == FT_MONEY)
        snprintf(desc, sizeof desc, "%s%sinteger cents", f->doc ? f->doc : "", f->doc ? "; " : "");
    else
        snprintf(desc, sizeof desc, "%s", f->doc ? f->doc : "");
    if (desc[0]) jw_kstr(w, "description", desc);
    if (f->dflt) {
        jw_key(w, "default");
        if (f->type == FT_BOOL)
            jw_bool(w, strcmp(f->dflt, "true") == 0);
        else
            jw_str(w, f->dflt);
    }
    jw_obj_close(w);
}

static void custom_schema(jw *w)
{
    jw_key(w, "custom_fields");
    jw_obj_open(w);
    jw_kstr(w, "type", "object");
    jw_key(w, "additionalProperties");
    jw_obj_open(w);
    jw_key(w, "type");
    jw_arr_open(w);
    jw_str(w, "string");
    jw_str(w, "number");
    jw_str(w, "boolean");
    jw_arr_close(w);
    jw_obj_close(w);
    jw_obj_close(w);
}

/* mode: 0 = record, 1 = create body, 2 = update body */
/* mode 0: the record, 1: a create body, 2: an update body; `skip` (may be
 * NULL) leaves out a sub-list's link field and its type field, which come
 * from the path. */
static void resource_schema(jw *w, const res_def *r, int mode, const res_sublist *skip)
{
    int s1 = skip ? res_field_index(r, skip->field) : -1;
    int s2 = s1 >= 0 && r->fields[s1].ref_by ? res_field_index(r, r->fields[s1].ref_by) : -1;
    jw_obj_open(w);
    jw_kstr(w, "type", "object");
    if (mode == 0 && r->doc) jw_kstr(w, "description", r->doc);
    if (mode) jw_kbool(w, "additionalProperties", false);
    jw_key(w, "properties");
    jw_obj_open(w);
    if (mode == 0) {
        jw_key(w, "id");
        jw_obj_open(w);
        jw_kstr(w, "type", "string");
        jw_kstr(w, "pattern", "^[a-z]+_[0-9A-Z]{26}$");
        jw_obj_close(w);
        jw_key(w, "object");
        jw_obj_open(w);
        jw_kstr(w, "const", r->singular);
        jw_obj_close(w);
    }
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (mode && (f->flags & (RF_READONLY | RF_PARENT))) continue;
        if (i == s1 || i == s2) continue;
        jw_key(w, f->name);
        field_schema(w, f);
    }
    if (r->custom_fields) custom_schema(w);
    if (mode == 0) {
        for (int k = 0; k < 2; k++) {
            jw_key(w, k ? "updated_at" : "created_at");
            jw_obj_open(w);
            jw_kstr(w, "type", "string");
            jw_kstr(w, "format", "date-time");
            jw_obj_close(w);
        }
    }
    jw_obj_close(w);
    if (mode != 2) {
        jw_key(w, "required");
        jw_arr_open(w);
        if (mode == 0) {
            jw_str(w, "id");
            jw_str(w, "created_at");
            jw_str(w, "updated_at");
        }
        for (int i = 0; i < r->nfields; i++)
            if ((r->fields[i].flags & RF_REQUIRED) && !(mode && (r->fields[i].flags & RF_PARENT)) &&
                i != s1 && i != s2)
                jw_str(w, r->fields[i].name);
        jw_arr_close(w);
    }
    jw_obj_close(w);
}

static void ref(jw *w, const char *name)
{
    jw_obj_open(w);
    char s[160];
    snprintf(s, sizeof s, "#/components/schemas/%s", name);
    jw_kstr(w, "$ref", s);
    jw_obj_close(w);
}

static void param(jw *w, const char *name, const char *in, bool required, const char *type,
                  const char *desc)
{
    jw_obj_open(w);
    jw_kstr(w, "name", name);
    jw_kstr(w, "in", in);
    jw_kbool(w, "required", required);
    if (desc) jw_kstr(w, "description", desc);
    jw_key(w, "schema");
    jw_obj_open(w);
    jw_kstr(w, "type", type);
    if (strcmp(name, "limit") == 0) {
        jw_kint(w, "minimum", 1);
        jw_kint(w, "maximum", 100);
        jw_kint(w, "default", 20);
    }
    jw_obj_close(w);
    jw_obj_close(w);
}

static void json_content(jw *w, const char *schema_name, bool list)
{
    jw_key(w, "content");
    jw_obj_open(w);
    jw_key(w, "application/json");
    jw_obj_open(w);
    jw_key(w, "schema");
    jw_obj_open(w);
    jw_kstr(w, "type", "object");
    jw_key(w, "properties");
    jw_obj_open(w);
    jw_key(w, "data");
    if (list) {
        jw_obj_open(w);
        jw_kstr(w, "type", "array");
        jw_key(w, "items");
        ref(w, schema_name);
        jw_obj_close(w);
        jw_key(w, "next_cursor");
        jw_obj_open(w);
        jw_key(w, "type");
        jw_arr_open(w);
        jw_str(w, "string");
        jw_str(w, "null");
        jw_arr_close(w);
        jw_obj_close(w);
    } else {
        ref(w, schema_name);
    }
    jw_key(w, "request_id");
    jw_obj_open(w);
    jw_kstr(w, "type", "string");
    jw_obj_close(w);
    jw_obj_close(w);
    jw_obj_close(w);
    jw_obj_close(w);
    jw_obj_close(w);
}

static void error_responses(jw *w, const api_route *rt)
{
    static const struct {
        const char *code, *desc;
        bool write_only, auth;
    } errs[] = {
        {"400", "validation_failed: a parameter or field is invalid (param names it)", false,
         false},
        {"401", "unauthorized: missing or invalid bearer token", false, true},
        {"403", "forbidden: the key lacks the required scope", false, true},
        {"404", "not_found: no such record in this workspace", false, true},
        {"409", "conflict or idempotency_key_reused", true, true},
        {"413", "payload_too_large: body over 1 MiB", true, true},
        {"415", "unsupported_media_type: body is not application/json", true, true},
        {"429", "rate_limited: per-key rate or concurrency limit (Retry-After)", false, true},
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        if (errs[i].write_only && !rt->write) continue;
        if (errs[i].auth && rt->public) continue;
        jw_key(w, errs[i].code);
        jw_obj_open(w);
        jw_kstr(w, "description", errs[i].desc);
        jw_key(w, "content");
        jw_obj_open(w);
        jw_key(w, "application/json");
        jw_obj_open(w);
        jw_key(w, "schema");
        ref(w, "Error");
        jw_obj_close(w);
        jw_obj_close(w);
        jw_obj_close(w);
    }
}

static const char *mlower(api_method m)
{
    static const char *n[] = {"get", "post", "patch", "delete", "put", "head", "other"};
    return n[m];
}

/* An inline object schema of declared body fields (an action's input). */
static void fields_schema(jw *w, const res_field *f, int n)
{
    jw_obj_open(w);
    jw_kstr(w, "type", "object");
    jw_kbool(w, "additionalProperties", false);
    jw_key(w, "properties");
    jw_obj_open(w);
    for (int i = 0; i < n; i++) {
        jw_key(w, f[i].name);
        field_schema(w, &f[i]);
    }
    jw_obj_close(w);
    jw_key(w, "required");
    jw_arr_open(w);
    for (int i = 0; i < n; i++)
        if (f[i].flags & RF_REQUIRED) jw_str(w, f[i].name);
    jw_arr_close(w);
    jw_obj_close(w);
}

static void body_schema(jw *w, const api_route *rt)
{
    const res_def *r = rt->res;
    char s[128];
    if (!strcmp(rt->kind, "action")) {
        fields_schema(w, rt->action->body, rt->action->nbody);
    } else if (!strcmp(rt->kind, "batch")) {
        ref(w, "BatchRequest");
    } else if (!strcmp(rt->kind, "merge")) {
        ref(w, "MergeRequest");
    } else if (!strcmp(rt->kind, "subcreate")) {
        resource_schema(w, r, 1, rt->sub);
    } else if (!strcmp(rt->kind, "workspace")) {
        jw_obj_open(w);
        jw_kstr(w, "type", "object");
        jw_key(w, "required");
        jw_arr_open(w);
        jw_str(w, "enabled_modules");
        jw_arr_close(w);
        jw_key(w, "additionalProperties");
        jw_bool(w, false);
        jw_key(w, "properties");
        jw_obj_open(w);
        jw_key(w, "enabled_modules");
        jw_obj_open(w);
        jw_kstr(w, "type", "array");
        jw_kstr(w, "description", "Every module the workspace uses; the others are switched off");
        jw_key(w, "items");
        jw_obj_open(w);
        jw_key(w, "enum");
        jw_arr_open(w);
        for (int m = 0; m < MOD__COUNT; m++)
            jw_str(w, res_module_names[m]);
        jw_arr_close(w);
        jw_obj_close(w);
        jw_obj_close(w);
        jw_obj_close(w);
        jw_obj_close(w);
    } else {
        snprintf(s, sizeof s, "%s%s", r->schema, strcmp(rt->kind, "create") ? "Update" : "Create");
        ref(w, s);
    }
}

static void range_params(jw *w, const res_def *r)
{
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (!(f->flags & RF_RANGE)) continue;
        size_t n = strlen(f->name) - (strstr(f->name, "_at") ? 3 : 0);
        char name[128], d[160];
        snprintf(name, sizeof name, "%.*s_before", (int)n, f->name);
        snprintf(d, sizeof d, "Only records whose %s is before this RFC 3339 time", f->name);
        param(w, name, "query", false, "string", d);
        snprintf(name, sizeof name, "%.*s_after", (int)n, f->name);
        snprintf(d, sizeof d, "Only records whose %s is at or after this RFC 3339 time", f->name);
        param(w, name, "query", false, "string", d);
    }
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (f->type != FT_REF || !f->ref || strlen(f->name) < 4) continue;
        const res_def *t = res_find(f->ref);
        for (int k = 0; k < t->nfields; k++) {
            if (!(t->fields[k].flags & RF_FILTER)) continue;
            char name[160], d[200];
            snprintf(name, sizeof name, "%.*s.%s", (int)(strlen(f->name) - 3), f->name,
                     t->fields[k].name);
            snprintf(d, sizeof d, "Records whose %s has this %s", t->singular, t->fields[k].name);
            param(w, name, "query", false, "string", d);
        }
    }
}

static void operation(jw *w, const api_route *rt)
{
    jw_key(w, mlower(rt->method));
    jw_obj_open(w);
    jw_kstr(w, "operationId", rt->op_id);
    jw_kstr(w, "summary", rt->summary);
    if (rt->res) {
        jw_key(w, "tags");
        jw_arr_open(w);
        jw_str(w, rt->res->name);
        jw_arr_close(w);
    }
    if (rt->public) {
        jw_key(w, "security");
        jw_arr_open(w);
        jw_arr_close(w);
    } else {
        jw_key(w, "x-required-scopes");
        jw_arr_open(w);
        if (rt->scope) jw_str(w, rt->scope);
        jw_arr_close(w);
    }
    jw_key(w, "parameters");
    jw_arr_open(w);
    for (int i = 0, v = 0; i < rt->nsegs; i++) {
        if (rt->segs[i][0] != '*') continue;
        /* Names come from the pattern: "{id}", "{company_membership_id}". */
        const char *p = rt->pattern;
        for (int k = 0; k <= v; k++)
            p = strchr(p, '{') + 1;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(strchr(p, '}') - p), p);
        param(w, name, "path", true, "string", NULL);
        v++;
    }
    const res_def *r = rt->res;
    bool is_list = rt->kind && (!strcmp(rt->kind, "list") || !strcmp(rt->kind, "sublist") ||
                                (rt->action && rt->action->list && !rt->action->response));
    if (rt->kind && !strcmp(rt->kind, "timeline")) {
        param(w, "limit", "query", false, "integer", "Page size, 1 to 100 (default 20)");
        param(w, "cursor", "query", false, "string", "Opaque cursor from next_cursor");
    }
    if (rt->kind && !strcmp(rt->kind, "create") && r->upsert_keys[0])
        param(w, "upsert_on", "query", false, "string",
              "Natural key: update the record whose field matches (case-insensitive), 200, "
              "else create, 201");
    if (is_list) {
        param(w, "limit", "query", false, "integer", "Page size, 1 to 100 (default 20)");
        param(w, "cursor", "query", false, "string", "Opaque cursor from next_cursor");
        jw_obj_open(w);
        jw_kstr(w, "name", "sort");
        jw_kstr(w, "in", "query");
        jw_kbool(w, "required", false);
        jw_kstr(w, "description",
                "Order; '-' prefix for descending. Default -created_at. "
                "Not combinable with query.");
        jw_key(w, "schema");
        jw_obj_open(w);
        jw_kstr(w, "type", "string");
        jw_key(w, "enum");
        jw_arr_open(w);
        jw_str(w, "created_at");
        jw_str(w, "-created_at");
        for (int i = 0; i < r->nfields; i++) {
            if (!(r->fields[i].flags & RF_SORT)) continue;
            jw_str(w, r->fields[i].name);
            char d[80];
            snprintf(d, sizeof d, "-%s", r->fields[i].name);
            jw_str(w, d);
        }
        jw_arr_close(w);
        jw_obj_close(w);
        jw_obj_close(w);
        if (res_has_search(r)) {
            buf b;
            buf_init(&b, 1024);
            buf_puts(&b, "Full-text prefix search across");
            for (int i = 0, n = 0; i < r->nfields; i++)
                if (r->fields[i].flags & RF_SEARCH)
                    buf_printf(&b, "%s %s", n++ ? "," : "", r->fields[i].name);
            param(w, "query", "query", false, "string", buf_cstr(&b));
            buf_free(&b);
        }
        for (int i = 0; i < r->nfields; i++) {
            const res_field *f = &r->fields[i];
            if (!(f->flags & RF_FILTER)) continue;
            jw_obj_open(w);
            jw_kstr(w, "name", f->name);
            jw_kstr(w, "in", "query");
            jw_kbool(w, "required", false);
            jw_kstr(w, "description", "Exact match (case-insensitive for text)");
            jw_key(w, "schema");
            field_schema(w, f);
            jw_obj_close(w);
        }
        range_params(w, r);
        if (r->custom_fields) {
            param(w, "custom_field_key", "query", false, "string",
                  "Custom field to match; requires custom_field_value");
            param(w, "custom_field_value", "query", false, "string",
                  "Value the custom field must equal (string form)");
        }
    }
    if (rt->write) {
        param(w, "Idempotency-Key", "header", false, "string",
              "Same key + same body replays the first response for 24 h");
        param(w, "dry_run", "query", false, "boolean",
              "true: validate and run the write, then roll it back; answers 200 with what "
              "would have been written (a delete: the record that would go). Nothing is "
              "stored, no event is recorded, and Idempotency-Key is ignored");
    }
    jw_arr_close(w);
    if (rt->write && rt->kind && strcmp(rt->kind, "delete") != 0) {
        jw_key(w, "requestBody");
        jw_obj_open(w);
        jw_kbool(w, "required",
                 !rt->action || rt->action->nbody == 0 ||
                     (rt->action->body[0].flags & RF_REQUIRED));
        jw_key(w, "content");
        jw_obj_open(w);
        jw_key(w, "application/json");
        jw_obj_open(w);
        jw_key(w, "schema");
        body_schema(w, rt);
        jw_obj_close(w);
        jw_obj_close(w);
        jw_obj_close(w);
    }
    jw_key(w, "responses");
    jw_obj_open(w);
    jw_key(w, rt->kind && (!strcmp(rt->kind, "create") || !strcmp(rt->kind, "subcreate")) ? "201"
                                                                                          : "200");
    jw_obj_open(w);
    jw_kstr(w, "description", "Success");
    if (rt->action && rt->action->response)
        json_content(w, rt->action->response, rt->action->list);
    else if (rt->kind && !strcmp(rt->kind, "batch"))
        json_content(w, "BatchResult", false);
    else if (rt->kind && !strcmp(rt->kind, "timeline"))
        json_content(w, "TimelineItem", true);
    else if (r && rt->kind && strcmp(rt->kind, "delete") != 0)
        json_content(w, r->schema, is_list);
    else if (rt->kind && !strcmp(rt->kind, "delete"))
        json_content(w, "Deleted", false);
    else if (rt->kind && !strcmp(rt->kind, "workspace"))
        json_content(w, "Workspace", false);
    jw_obj_close(w);
    error_responses(w, rt);
    jw_obj_close(w);
    jw_obj_close(w);
}

static void build(void)
{
    buf_init(&doc, 16u << 20);
    jw w;
    jw_init(&w, &doc);
    jw_obj_open(&w);
    jw_kstr(&w, "openapi", "3.1.0");
    jw_key(&w, "info");
    jw_obj_open(&w);
    jw_kstr(&w, "title", "Cairn API");
    jw_kstr(&w, "version", "1");
    jw_kstr(&w, "description",
            "API-first CRM. Envelope {data, request_id}; lists add next_cursor; errors "
            "{error: {code, message, param}, request_id}.");
    jw_obj_close(&w);
    jw_key(&w, "security");
    jw_arr_open(&w);
    jw_obj_open(&w);
    jw_key(&w, "bearer");
    jw_arr_open(&w);
    jw_arr_close(&w);
    jw_obj_close(&w);
    jw_arr_close(&w);

    int n;
    const api_route *rts = api_routes(&n);
    jw_key(&w, "paths");
    jw_obj_open(&w);
    /* Routes sharing a pattern go under one path item; patterns repeat
     * only adjacently except for sub-lists, so look back for a match. */
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int k = 0; k < i && !seen; k++)
            seen = strcmp(rts[k].pattern, rts[i].pattern) == 0;
        if (seen) continue;
        jw_key(&w, rts[i].pattern);
        jw_obj_open(&w);
        for (int k = i; k < n; k++)
            if (strcmp(rts[k].pattern, rts[i].pattern) == 0) operation(&w, &rts[k]);
        jw_obj_close(&w);
    }
    jw_obj_close(&w);

    jw_key(&w, "components");
    jw_obj_open(&w);
    jw_key(&w, "securitySchemes");
    jw_obj_open(&w);
    jw_key(&w, "bearer");
    jw_obj_open(&w);
    jw_kstr(&w, "type", "http");
    jw_kstr(&w, "scheme", "bearer");
    jw_kstr(&w, "description", "API key: ck_...; scopes per operation in x-required-scopes");
    jw_obj_close(&w);
    jw_obj_close(&w);
    jw_key(&w, "schemas");
    jw_obj_open(&w);
    for (int i = 0; i < res_count; i++) {
        const res_def *r = res_table[i];
        char s[128];
        jw_key(&w, r->schema);
        resource_schema(&w, r, 0, NULL);
        snprintf(s, sizeof s, "%sCreate", r->schema);
        jw_key(&w, s);
        resource_schema(&w, r, 1, NULL);
        snprintf(s, sizeof s, "%sUpdate", r->schema);
        jw_key(&w, s);
        resource_schema(&w, r, 2, NULL);
    }
    buf_puts(&doc,
             ",\"Error\":{\"type\":\"object\",\"required\":[\"error\",\"request_id\"],"
             "\"properties\":{\"error\":{\"type\":\"object\",\"required\":[\"code\",\"message\"],"
             "\"properties\":{\"code\":{\"type\":\"string\",\"enum\":[\"unauthorized\","
             "\"forbidden\",\"not_found\",\"validation_failed\",\"idempotency_key_reused\","
             "\"conflict\",\"payload_too_large\",\"unsupported_media_type\",\"rate_limited\","
             "\"method_not_allowed\",\"store_unavailable\",\"internal\"]},"
             "\"message\":{\"type\":\"string\"},\"param\":{\"type\":\"string\"}}},"
             "\"request_id\":{\"type\":\"string\"}}}"
             ",\"Deleted\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},"
             "\"object\":{\"type\":\"string\"},\"deleted\":{\"const\":true}}}"
             ",\"Workspace\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},"
             "\"name\":{\"type\":\"string\"},\"enabled_modules\":{\"type\":\"array\","
             "\"items\":{\"type\":\"string\"}},\"created_at\":{\"type\":\"string\","
             "\"format\":\"date-time\"}}}"
             ",\"BatchRequest\":{\"type\":\"object\",\"required\":[\"operations\"],"
             "\"properties\":{\"operations\":{\"type\":\"array\",\"minItems\":1,"
             "\"maxItems\":100,\"items\":{\"type\":\"object\",\"required\":[\"action\","
             "\"data\"],\"properties\":{\"action\":{\"enum\":[\"create\",\"update\","
             "\"upsert\"]},\"id\":{\"type\":\"string\",\"description\":\"update: the "
             "record\"},\"upsert_on\":{\"type\":\"string\"},\"data\":{\"type\":"
             "\"object\"}}}}}}"
             ",\"BatchResult\":{\"type\":\"object\",\"properties\":{\"object\":{\"const\":"
             "\"batch\"},\"results\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
             "\"properties\":{\"index\":{\"type\":\"integer\"},\"status\":{\"type\":"
             "\"integer\"},\"data\":{\"type\":\"object\"},\"error\":{\"type\":"
             "\"object\"}}}},\"succeeded\":{\"type\":\"integer\"},\"failed\":{\"type\":"
             "\"integer\"}}}"
             ",\"MergeRequest\":{\"type\":\"object\",\"required\":[\"from_ids\"],"
             "\"properties\":{\"from_ids\":{\"type\":\"array\",\"minItems\":1,"
             "\"maxItems\":20,\"items\":{\"type\":\"string\"}}}}"
             ",\"TimelineItem\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":"
             "\"string\"},\"object\":{\"const\":\"timeline_item\"},\"type\":{\"type\":"
             "\"string\"},\"occurred_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
             "\"resource_type\":{\"type\":\"string\"},\"resource_id\":{\"type\":"
             "\"string\"},\"changes\":{\"type\":[\"object\",\"null\"]},\"data\":"
             "{\"type\":\"object\"}}}"
             ",\"Board\":{\"type\":\"object\",\"properties\":{\"object\":{\"const\":"
             "\"board\"},\"pipeline\":{\"$ref\":\"#/components/schemas/Pipeline\"},"
             "\"stages\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
             "\"description\":\"A PipelineStage plus deal_count, amount_cents, deals (in "
             "order) and next_cursor\"}}}}"
             ",\"Dashboard\":{\"type\":\"object\",\"properties\":{\"object\":{\"const\":"
             "\"dashboard\"},\"open_pipeline\":{\"type\":\"array\"},\"win_rate_90d\":"
             "{\"type\":\"object\"},\"this_month\":{\"type\":\"object\"},\"tasks\":"
             "{\"type\":\"object\"},\"leads\":{\"type\":\"object\"}}}");
    jw_obj_close(&w);
    jw_obj_close(&w);
    jw_obj_close(&w);
}

int meta_openapi(api_req *q)
{
    pthread_once(&doc_once, build);
    buf_reset(&q->out);
    q->status = 200;
    buf_append(&q->out, doc.data, doc.len);
    return 0;
}
