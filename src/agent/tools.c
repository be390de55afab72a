/* tools.c - the agent tool catalogue derived from the resource table; see
 * tools.h. */
#include "agent/tools.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/jsv.h"
#include "core/jw.h"
#include "core/timeutil.h"
#include "schema/schemas.h"

#define MAX_TOOLS 512

const char *const tool_risk_names[3] = {"read", "write", "destructive"};

static tool_def tools[MAX_TOOLS];
static int ntools;
/* tools_find's open-addressed table by name (index + 1; 0 is empty): a
 * scan of a few hundred names was a percent of every tool call. */
static short by_name[2 * MAX_TOOLS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ------------------------------------------------------------ tool sets */

/* Tasks and the activity log are part of working a CRM's records: one
 * set with contacts and deals, not three. */
static res_module set_of(res_module m)
{
    return m == MOD_TASKS || m == MOD_ACTIVITY_LOG ? MOD_CRM : m;
}

/* A set's name is its module's; NULL for the modules folded into crm. */
static const char *set_name(int m)
{
    return (int)set_of((res_module)m) == m ? res_module_names[m] : NULL;
}

uint32_t tools_default_sets(void)
{
    return 1u << MOD_CRM | 1u << MOD_OUTBOUND;
}

bool tools_parse_sets(const char *csv, uint32_t *mask, char *err, size_t cap)
{
    *mask = 0;
    const char *p = csv;
    while (*p) {
        size_t n = strcspn(p, ",");
        while (n && *p == ' ')
            p++, n--;
        size_t m = n;
        while (m && p[m - 1] == ' ')
            m--;
        if (m == 0) {
            snprintf(err, cap, "an empty tool set name in '%.100s'", csv);
            return false;
        }
        bool found = m == 3 && strncmp(p, "all", 3) == 0;
        if (found) *mask = TOOLSET_ALL;
        for (int i = 0; i < MOD__COUNT && !found; i++)
            if (set_name(i) && strlen(set_name(i)) == m && strncmp(p, set_name(i), m) == 0) {
                *mask |= 1u << i;
                found = true;
            }
        if (!found) {
            snprintf(err, cap, "unknown tool set '%.*s' (all, crm, support, billing, ...)",
                     (int)(m > 60 ? 60 : m), p);
            return false;
        }
        p += n;
        if (*p == ',' && !*++p) {
            snprintf(err, cap, "an empty tool set name in '%.100s'", csv);
            return false;
        }
    }
    if (!*mask) {
        snprintf(err, cap, "no tool set named");
        return false;
    }
    return true;
}

/* --------------------------------------------------------------- schemas */

#define pack res_schema_pack /* aborts on a bad format: a bug here */

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p) abort();
    return p;
}

static void add_prop(json_t *s, const char *name, json_t *schema, bool required)
{
    json_t *props = json_object_get(s, "properties");
    if (!props) {
        props = json_object();
        json_object_set_new(s, "properties", props);
    }
    json_object_set_new(props, name, schema);
    if (!required) return;
    json_t *req = json_object_get(s, "required");
    if (!req) {
        req = json_array();
        json_object_set_new(s, "required", req);
    }
    json_array_append_new(req, json_string(name));
}

static json_t *id_schema(const res_def *r)
{
    char d[160];
    snprintf(d, sizeof d, "id of the %s (%s_...)", r->singular, r->prefix);
    return pack("{s:s, s:I, s:I, s:s}", "type", "string", "minLength", (json_int_t)1, "maxLength",
                (json_int_t)64, "description", d);
}

static json_t *object_schema(void)
{
    return pack("{s:s, s:b, s:{}}", "type", "object", "additionalProperties", 0, "properties");
}

/* What every write tool accepts beside its own input. */
static void write_flags(json_t *s, bool destructive)
{
    add_prop(s, "dryRun",
             pack("{s:s, s:b, s:s}", "type", "boolean", "default", 0, "description",
                  "Validate and answer what would be written, storing nothing"),
             false);
    if (destructive)
        add_prop(s, "confirm",
                 pack("{s:s, s:b, s:s}", "type", "boolean", "default", 0, "description",
                      "Must be true to apply it (not needed with dryRun: true)"),
                 false);
}

static json_t *page_schema(json_t *item)
{
    return pack("{s:s, s:{s:{s:s, s:o}, s:{s:[s,s], s:s}}, s:[s,s]}", "type", "object",
                "properties", "data", "type", "array", "items", item, "next_cursor", "type",
                "string", "null", "description",
                "Pass as cursor for the next page; null on the last page", "required", "data",
                "next_cursor");
}

/* ----------------------------------------------------------------- names */

/* moveDeal -> move_deal; "company-memberships" -> company_memberships. */
static void snake(char *out, size_t cap, const char *in)
{
    size_t n = 0;
    for (const char *p = in; *p && n + 2 < cap; p++) {
        char ch = *p;
        if (ch == '-' || ch == '/') ch = '_';
        if (ch >= 'A' && ch <= 'Z') {
            if (n && out[n - 1] != '_') out[n++] = '_';
            ch = (char)(ch - 'A' + 'a');
        }
        out[n++] = ch;
    }
    out[n] = '\0';
}

/* ------------------------------------------------------------ catalogue */

static tool_def *add_tool(const char *name, const char *title, const char *desc, tool_risk risk,
                          engine_op op, const res_def *r, const res_action *a)
{
    if (ntools == MAX_TOOLS) abort();
    for (int i = 0; i < ntools; i++)
        if (strcmp(tools[i].name, name) == 0) {
            fprintf(stderr, "tools: two tools named %s\n", name);
            abort();
        }
    tool_def *t = &tools[ntools++];
    *t = (tool_def){.name = xstrdup(name),
                    .title = xstrdup(title),
                    .description = xstrdup(desc),
                    .risk = risk,
                    .idempotent = risk == TOOL_READ || op == OP_UPDATE || op == OP_DELETE,
                    .toolsets = 1u << set_of(r->module),
                    .op = op,
                    .res = r,
                    .action = a,
                    .parent_field = r->parent && !a ? res_parent_field(r) : -1};
    return t;
}

/* The parent's id of a nested resource's tools: a required input member
 * named as the field that holds it. */
static void parent_prop(tool_def *t, json_t *s)
{
    if (t->parent_field < 0) return;
    const res_def *p = res_find(t->res->parent);
    add_prop(s, t->res->fields[t->parent_field].name, id_schema(p), true);
}

static const char *describe(char *d, size_t cap, const char *summary, const res_def *r,
                            const char *more)
{
    snprintf(d, cap, "%s.%s%s%s%s", summary, r->doc ? " " : "", r->doc ? r->doc : "",
             more[0] ? " " : "", more);
    return d;
}

/* The five generic operations, as api/routes.c derives their routes. */
static const struct {
    engine_op op;
    const char *name, *title; /* formats of the noun: the plural for a list */
    tool_risk risk;
    const char *more;
} generic_ops[] = {
    {OP_LIST, "list_%s", "List %s", TOOL_READ,
     "Filters match exactly; `query` searches text. A page holds up to `limit` records; pass "
     "`next_cursor` as `cursor` for the next."},
    {OP_GET, "get_%s", "Get a %s", TOOL_READ, "By id."},
    {OP_CREATE, "create_%s", "Create a %s", TOOL_WRITE,
     "Answers the record as stored; dryRun: true answers it without storing it."},
    {OP_UPDATE, "update_%s", "Update a %s (partial)", TOOL_WRITE,
     "Only the members given change; null clears a field. dryRun: true answers the result "
     "without storing it."},
    {OP_DELETE, "delete_%s", "Delete a %s", TOOL_DESTRUCTIVE,
     "Irreversible: needs confirm: true; dryRun: true answers the record that would go."},
};

static void add_generic_tool(const res_def *r, size_t k)
{
    char name[160], title[200], d[2048];
    engine_op op = generic_ops[k].op;
    const char *noun = op == OP_LIST ? r->name : r->singular;
    snprintf(name, sizeof name, generic_ops[k].name, noun);
    snake(name, sizeof name, name);
    snprintf(title, sizeof title, generic_ops[k].title, noun);
    tool_def *t = add_tool(name, title, describe(d, sizeof d, title, r, generic_ops[k].more),
                           generic_ops[k].risk, op, r, NULL);
    json_t *s = op == OP_LIST     ? res_schema_list_input(r)
                : op == OP_CREATE ? res_schema_body(r, RS_CREATE, NULL)
                : op == OP_UPDATE ? res_schema_body(r, RS_UPDATE, NULL)
                                  : object_schema();
    parent_prop(t, s);
    if (op != OP_LIST && op != OP_CREATE) {
        add_prop(s, "id", id_schema(r), true);
        t->id_field = "id";
    }
    if (op != OP_LIST && op != OP_GET) write_flags(s, op == OP_DELETE);
    t->input_schema = s;
    t->output_schema = op == OP_LIST ? page_schema(res_schema_record(r)) : res_schema_record(r);
}

static void add_resource_tools(const res_def *r)
{
    char name[160], title[200], d[2048];
    tool_def *t;
    json_t *s;

    for (size_t k = 0; k < sizeof generic_ops / sizeof generic_ops[0]; k++) {
        /* An action answering instead has its own tool. */
        if ((generic_ops[k].op == OP_LIST || generic_ops[k].op == OP_GET) &&
            res_get_action(r, generic_ops[k].op == OP_GET))
            continue;
        if (!r->read_only || generic_ops[k].op == OP_LIST || generic_ops[k].op == OP_GET)
            add_generic_tool(r, k);
    }
    if (r->read_only) return;

    if (r->mergeable) {
        snprintf(name, sizeof name, "merge_%s", r->name);
        snprintf(title, sizeof title, "Merge other %s into this one", r->name);
        t = add_tool(name, title,
                     describe(d, sizeof d, title, r,
                              "References, tasks, activities and history move to the survivor "
                              "`id`; the merged records are gone. Needs confirm: true."),
                     TOOL_DESTRUCTIVE, OP_MERGE, r, NULL);
        s = object_schema();
        add_prop(s, "id", id_schema(r), true);
        add_prop(s, "from_ids",
                 pack("{s:s, s:I, s:I, s:o}", "type", "array", "minItems", (json_int_t)1,
                      "maxItems", (json_int_t)100, "items", id_schema(r)),
                 true);
        t->id_field = "id";
        write_flags(s, true);
        t->input_schema = s;
        t->output_schema = res_schema_record(r);
    }
    if (r->timeline) {
        snprintf(name, sizeof name, "get_%s_timeline", r->singular);
        snprintf(title, sizeof title, "A %s's history, related tasks and activities", r->singular);
        t = add_tool(name, title, describe(d, sizeof d, title, r, "Newest first."), TOOL_READ,
                     OP_TIMELINE, r, NULL);
        s = res_schema_list_input(RES(ACTIVITY));
        /* The timeline takes a page, not the activity list's filters. */
        json_t *props = json_object_get(s, "properties");
        json_t *keep = json_object();
        json_object_set(keep, "limit", json_object_get(props, "limit"));
        json_object_set(keep, "cursor", json_object_get(props, "cursor"));
        json_object_set_new(s, "properties", keep);
        add_prop(s, "id", id_schema(r), true);
        t->id_field = "id";
        t->input_schema = s;
        t->output_schema = page_schema(pack("{s:s}", "type", "object"));
    }
}

static void add_action_tool(const res_action *a)
{
    const res_def *r = res_find(a->res);
    char name[160], d[2048];
    snake(name, sizeof name, a->op_id);
    bool destructive = a->destructive;
    tool_risk risk = !a->write && !a->effects ? TOOL_READ
                     : destructive            ? TOOL_DESTRUCTIVE
                                              : TOOL_WRITE;
    tool_def *t = add_tool(name, a->summary,
                           describe(d, sizeof d, a->summary, r,
                                    risk == TOOL_DESTRUCTIVE ? "Irreversible: needs confirm: true."
                                    : a->write ? "dryRun: true answers without storing."
                                               : ""),
                           risk, OP_ACTION, r, a);
    json_t *s = res_schema_fields(a->body, a->nbody, RS_CREATE, a->creates && r->custom_fields);
    for (int i = 0; i < a->nquery; i++)
        add_prop(s, a->query[i].name, res_schema_field(&a->query[i], RS_FILTER), false);
    if (strstr(a->path, "{id}")) {
        add_prop(s, "id", id_schema(r), true);
        t->id_field = "id";
    }
    if (a->write) write_flags(s, destructive);
    t->input_schema = s;
    json_t *rec = res_schema_record(r);
    if (a->response) {
        json_decref(rec);
        rec = pack("{s:s}", "type", "object");
    }
    t->output_schema = a->list ? page_schema(rec) : rec;
}

/* 002's tools (its CrmAgentToolName enum but crm_resolve_workspace, which
 * only /crm/agent serves): they keep 002's rule, super-admin keys only, on
 * every transport. */
static const char *const agent_api_names[] = {
    "get_crm_workspace_overview",
    "list_outbound_agents",
    "bulk_get_agent_workloads",
    "list_campaigns",
    "get_campaign",
    "create_outbound_campaign",
    "update_outbound_campaign",
    "attach_campaign_templates",
    "bulk_add_contacts_to_campaign_by_filter",
    "bulk_remove_contacts_from_campaign",
    "find_contacts_in_multiple_campaigns",
    "get_campaign_contact_overlap",
    "bulk_get_campaign_contact_counts",
    "analyze_import_contact_deduplication",
    "bulk_assign_campaign_contacts",
    "list_outbound_contacts",
    "list_script_templates",
    "get_script_template",
    "create_script_template",
    "update_script_template",
    "delete_script_template",
    "import_script_templates",
    "export_script_template",
    "list_qualification_templates",
    "get_qualification_template",
    "create_qualification_template",
    "update_qualification_template",
    "import_qualification_templates",
    "export_qualification_template",
    "get_script_execution",
    "upsert_script_execution",
    "get_qualification_schema",
    "get_qualification",
    "create_qualification",
    "update_qualification",
    "list_qualifications",
};

static void mark_agent_api(void)
{
    for (size_t i = 0; i < sizeof agent_api_names / sizeof agent_api_names[0]; i++) {
        tool_def *t = NULL;
        for (int k = 0; k < ntools && !t; k++)
            if (strcmp(tools[k].name, agent_api_names[i]) == 0) t = &tools[k];
        if (!t) {
            fprintf(stderr, "tools: 002's tool %s is missing from the catalogue\n",
                    agent_api_names[i]);
            abort();
        }
        t->agent_api = true;
    }
}

/* An output schema says what comes back, for a client to check and a
 * model to read: types, members, enums. The input schemas carry the
 * fields' descriptions and limits already, and in tools/list the output
 * schemas were the larger half (117 of 255 KB on the first page); without
 * them it is 80 KB smaller. */
static void lean(json_t *s)
{
    if (!json_is_object(s)) return;
    static const char *const drop[] = {"description", "pattern",   "format",    "minimum",
                                       "maximum",     "minLength", "maxLength", "minItems",
                                       "maxItems",    "examples",  "default"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        json_object_del(s, drop[i]);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(s, "properties"), k, v) lean(v);
    lean(json_object_get(s, "items"));
    lean(json_object_get(s, "additionalProperties"));
    static const char *const lists[] = {"anyOf", "oneOf", "allOf"};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        size_t j;
        json_array_foreach(json_object_get(s, lists[i]), j, v) lean(v);
    }
}

/* The tool as MCP's tools/list shows it, rendered once. */
static void render(tool_def *t)
{
    json_t *j = pack("{s:s, s:s, s:s, s:O, s:O, s:{s:b, s:b, s:b, s:b}}", "name", t->name, "title",
                     t->title, "description", t->description, "inputSchema", t->input_schema,
                     "outputSchema", t->output_schema, "annotations", "readOnlyHint",
                     t->risk == TOOL_READ, "destructiveHint", t->risk == TOOL_DESTRUCTIVE,
                     "idempotentHint", t->idempotent, "openWorldHint", 0);
    t->json = json_dumps(j, JSON_COMPACT);
    if (!t->json) abort();
    t->json_len = strlen(t->json);
    json_decref(j);
}

static void build(void)
{
    for (int i = 0; i < res_action_count; i++)
        add_action_tool(&res_actions[i]);
    for (int i = 0; i < res_count; i++)
        add_resource_tools(res_table[i]);
    mark_agent_api();
    for (int i = 0; i < ntools; i++) {
        lean(tools[i].output_schema);
        render(&tools[i]);
        size_t h = hash_str(tools[i].name) % (2 * MAX_TOOLS);
        while (by_name[h])
            h = (h + 1) % (2 * MAX_TOOLS);
        by_name[h] = (short)(i + 1);
    }
}

void tools_init(void)
{
    pthread_once(&once, build);
}

int tools_count(void)
{
    tools_init();
    return ntools;
}

const tool_def *tools_at(int i)
{
    tools_init();
    return i >= 0 && i < ntools ? &tools[i] : NULL;
}

const tool_def *tools_find(const char *name)
{
    tools_init();
    for (size_t h = hash_str(name) % (2 * MAX_TOOLS); by_name[h]; h = (h + 1) % (2 * MAX_TOOLS))
        if (strcmp(tools[by_name[h] - 1].name, name) == 0) return &tools[by_name[h] - 1];
    return NULL;
}

bool tools_writes(const tool_def *t)
{
    return engine_writes(t->op, t->action);
}

static engine_call caller_call(const tool_def *t, const tool_caller *who)
{
    return (engine_call){.op = t->op,
                         .res = t->res,
                         .action = t->action,
                         .ws = who->ws,
                         .actor = who->actor,
                         .scopes = who->scopes,
                         .disabled = who->disabled,
                         .currency = who->currency,
                         .trace = who->trace};
}

bool tools_allowed(const tool_def *t, const tool_caller *who)
{
    if (t->agent_api && !who->super_admin) return false;
    if (!t->res->core && (who->disabled & (1u << t->res->module))) return false;
    const char *scope = engine_scope(t->op, t->res, t->action);
    engine_call c = caller_call(t, who);
    return !scope || engine_has_scope(&c, scope);
}

/* ----------------------------------------------------------------- calls */

/* A query parameter's text from a checked input value. */
static const char *param_text(arena *a, json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return json_string_value(v);
    case JSON_INTEGER: return arena_printf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL: return arena_printf(a, "%.17g", json_real_value(v));
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    default: return NULL;
    }
}

static bool is_flag(const char *k)
{
    return strcmp(k, "dryRun") == 0 || strcmp(k, "confirm") == 0;
}

static bool is_query(const res_action *a, const char *k)
{
    for (int i = 0; a && i < a->nquery; i++)
        if (strcmp(a->query[i].name, k) == 0) return true;
    return false;
}

static void run(const tool_def *t, const tool_caller *who, json_t *input, store_conn *conn,
                arena *a, engine_result *out);

void tools_call(const tool_def *t, const tool_caller *who, json_t *input, store_conn *conn,
                arena *a, engine_result *out, engine_audit *audit)
{
    uint64_t start = time_mono_ns();
    int64_t at = (int64_t)time_now_ms();
    run(t, who, input, conn, a, out);
    if (!audit) return;
    *audit = (engine_audit){.channel = who->channel,
                            .key_id = who->actor,
                            .tool = t->name,
                            .route = who->route,
                            .resource = t->res->name,
                            .reason = who->reason,
                            .request_id = who->request_id ? who->request_id : who->trace,
                            .dry_run = input && json_is_true(json_object_get(input, "dryRun")) &&
                                       tools_writes(t),
                            .at_ms = at,
                            .duration_ms = (double)(time_mono_ns() - start) / 1e6};
    tools_input_hash(input, audit->input_hash);
    engine_audit_result(audit, out);
}

/* Jansson's compact, key-sorted text of v into o (cap bytes), for the
 * inputs agents send: objects, arrays, integers, literals and strings of
 * printable ASCII. Anything else (a real, an escape, a byte past 0x7e,
 * deep nesting, many keys, no room) answers false and goes to Jansson,
 * which stays the reference: tests/fuzz/fuzz_json.c holds the two to the
 * same bytes. Jansson's dump of get_contact's input took 0.7 to 1.0 us
 * here (it allocates, sorts through a list, writes by callback); this
 * takes 0.2 to 0.3 (300,000 in a loop, SHA-256 apart). */
#define CANON_DEPTH 8
#define CANON_KEYS  32

static bool canon_str(const char *s, size_t n, char *o, size_t cap, size_t *len)
{
    if (*len + n + 2 > cap) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
            return false;
    o[(*len)++] = '"';
    memcpy(o + *len, s, n);
    *len += n;
    o[(*len)++] = '"';
    return true;
}

static bool canon_put(const char *s, size_t n, char *o, size_t cap, size_t *len)
{
    if (*len + n > cap) return false;
    memcpy(o + *len, s, n);
    *len += n;
    return true;
}

static bool canon(const json_t *v, int depth, char *o, size_t cap, size_t *len)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        if (depth >= CANON_DEPTH || n > CANON_KEYS) return false;
        const char *keys[CANON_KEYS];
        size_t k = 0;
        const char *key;
        size_t klen;
        json_t *m;
        json_object_keylen_foreach((json_t *)v, key, klen, m)
        {
            if (klen != strlen(key)) return false; /* a NUL inside */
            /* Insertion sort by strcmp, as Jansson orders them. */
            size_t at = k++;
            while (at > 0 && strcmp(keys[at - 1], key) > 0) {
                keys[at] = keys[at - 1];
                at--;
            }
            keys[at] = key;
        }
        if (!canon_put("{", 1, o, cap, len)) return false;
        for (size_t i = 0; i < k; i++) {
            if ((i && !canon_put(",", 1, o, cap, len)) ||
                !canon_str(keys[i], strlen(keys[i]), o, cap, len) ||
                !canon_put(":", 1, o, cap, len) ||
                !canon(json_object_get(v, keys[i]), depth + 1, o, cap, len))
                return false;
        }
        return canon_put("}", 1, o, cap, len);
    }
    case JSON_ARRAY: {
        if (depth >= CANON_DEPTH || !canon_put("[", 1, o, cap, len)) return false;
        for (size_t i = 0; i < json_array_size(v); i++)
            if ((i && !canon_put(",", 1, o, cap, len)) ||
                !canon(json_array_get(v, i), depth + 1, o, cap, len))
                return false;
        return canon_put("]", 1, o, cap, len);
    }
    case JSON_STRING: return canon_str(json_string_value(v), json_string_length(v), o, cap, len);
    case JSON_INTEGER: {
        char num[24];
        int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return canon_put(num, (size_t)n, o, cap, len);
    }
    case JSON_TRUE: return canon_put("true", 4, o, cap, len);
    case JSON_FALSE: return canon_put("false", 5, o, cap, len);
    case JSON_NULL: return canon_put("null", 4, o, cap, len);
    default: return false; /* a real: Jansson's own formatting */
    }
}

size_t tools_input_text(const json_t *input, char *out, size_t cap, char **big)
{
    const size_t flags = JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY;
    *big = NULL;
    size_t n = 0;
    if (!input) return 0;
    if (canon(input, 0, out, cap, &n)) return n;
    n = json_dumpb(input, out, cap, flags);
    if (n > cap) {
        *big = json_dumps(input, flags);
        n = *big ? strlen(*big) : 0;
    }
    return n;
}

void tools_input_hash(const json_t *input, char *out)
{
    /* Most inputs fit the stack: no allocation for the common call. */
    char small[1024], *big;
    size_t n = tools_input_text(input, small, sizeof small, &big);
    if (n == 0)
        sha256_hex("{}", 2, out);
    else
        sha256_hex(big ? big : small, n, out);
    free(big);
}

static void run(const tool_def *t, const tool_caller *who, json_t *input, store_conn *conn,
                arena *a, engine_result *out)
{
    json_t *owned = input ? NULL : json_object();
    if (!input) input = owned;
    engine_call c = caller_call(t, who);
    c.conn = conn;
    c.a = a;
    c.out = out;
    out->kind = EK_OK;

    if (t->agent_api && !who->super_admin) {
        engine_fail(&c, EK_FORBIDDEN, NULL,
                    "%s is one of the CRM Agent API's tools, for super-admin keys only (cairn "
                    "key create --super-admin); the generic tools (list_contacts, ...) take "
                    "this key",
                    t->name);
        json_decref(owned);
        return;
    }
    char path[256], msg[400];
    if (!jsv_validate(t->input_schema, input, path, sizeof path, msg, sizeof msg)) {
        engine_fail(&c, EK_INVALID, path[0] ? arena_strdup(a, path) : NULL, "%s%s%s", path,
                    path[0] ? " " : "input ", msg);
        json_decref(owned);
        return;
    }
    bool dry = json_is_true(json_object_get(input, "dryRun"));
    if (t->risk == TOOL_DESTRUCTIVE && !dry && !json_is_true(json_object_get(input, "confirm"))) {
        engine_fail(&c, EK_INVALID, "confirm",
                    "%s cannot be undone: call it again with confirm: true, or with dryRun: "
                    "true to see what it would do",
                    t->name);
        json_decref(owned);
        return;
    }
    c.dry_run = dry && tools_writes(t);

    int nid = 0;
    const char *parent_name = t->parent_field >= 0 ? t->res->fields[t->parent_field].name : NULL;
    if (parent_name) c.ids[nid++] = json_string_value(json_object_get(input, parent_name));
    if (t->id_field) c.ids[nid++] = json_string_value(json_object_get(input, t->id_field));

    size_t n = json_object_size(input);
    c.params = arena_alloc(a, sizeof *c.params * (n ? n : 1));
    json_t *body = NULL;
    /* A read action with body fields (lists of ids) takes them as a body. */
    bool body_action = t->op == OP_ACTION && (t->action->write || t->action->nbody);
    bool takes_body = t->op == OP_CREATE || t->op == OP_UPDATE || t->op == OP_MERGE || body_action;
    if (takes_body) body = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(input, k, v)
    {
        if (is_flag(k) || (t->id_field && strcmp(k, t->id_field) == 0) ||
            (parent_name && strcmp(k, parent_name) == 0))
            continue;
        if (t->op == OP_LIST || t->op == OP_TIMELINE || is_query(t->action, k) ||
            (t->op == OP_ACTION && !body_action)) {
            const char *s = param_text(a, v);
            if (s) c.params[c.nparams++] = (engine_param){.k = k, .v = s};
        } else if (body) {
            json_object_set(body, k, v);
        }
    }
    c.body = body;
    engine_run(&c);
    json_decref(body);
    json_decref(owned);
}

void tools_write_result(buf *b, const engine_result *r)
{
    const char *d = r->data.data ? r->data.data : "null";
    size_t n = r->data.data ? r->data.len : 4;
    if (!r->list) {
        buf_append(b, d, n);
        return;
    }
    buf_puts(b, "{\"data\":");
    buf_append(b, d, n);
    buf_puts(b, ",\"next_cursor\":");
    if (r->next_cursor)
        jw_escape(b, r->next_cursor, strlen(r->next_cursor));
    else
        buf_puts(b, "null");
    buf_putc(b, '}');
}
