/* registry.c - the resource table. See registry.h for what consumes it.
 *
 * Field lists are the union of the seed documents' fields, snake_case.
 * Keep each resource's block together: fields, then the resource row. */
#include "resources/registry.h"

#include <string.h>

#include "resources/hooks.h"

static const char *const record_status[] = {"active", "inactive", "archived", NULL};
static const char *const lifecycle[] = {"subscriber", "lead",  "opportunity", "customer",
                                        "evangelist", "other", NULL};

#define F(...)                                                                                     \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }
#define NF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- companies ---- */
static const res_field company_fields[] = {
    F(.name = "name", .type = FT_STRING, .flags = RF_REQUIRED | RF_FILTER | RF_SEARCH | RF_SORT,
      .max_len = 200, .doc = "Company name"),
    F(.name = "domain", .type = FT_STRING, .flags = RF_FILTER | RF_SEARCH, .max_len = 253,
      .doc = "Primary web domain, e.g. acme.com"),
    F(.name = "website", .type = FT_URL, .flags = RF_SEARCH, .max_len = 2048),
    F(.name = "industry", .type = FT_STRING, .flags = RF_FILTER, .max_len = 100),
    F(.name = "phone", .type = FT_STRING, .max_len = 50),
    F(.name = "employee_count", .type = FT_INT, .min = 0, .max = INT64_MAX),
    F(.name = "annual_revenue_cents", .type = FT_MONEY),
    F(.name = "currency", .type = FT_CURRENCY),
    F(.name = "owner_id", .type = FT_STRING, .flags = RF_FILTER, .max_len = 100),
    F(.name = "status", .type = FT_ENUM, .flags = RF_FILTER, .enum_vals = record_status,
      .dflt = "active"),
    F(.name = "city", .type = FT_STRING, .max_len = 100),
    F(.name = "country", .type = FT_STRING, .flags = RF_FILTER, .max_len = 100),
    F(.name = "notes", .type = FT_TEXT, .flags = RF_SEARCH, .max_len = 10000),
};
static const res_def companies = {.name = "companies",
                                  .singular = "company",
                                  .schema = "Company",
                                  .path = "companies",
                                  .prefix = "com",
                                  .table = "companies",
                                  .scope_read = "crm:read",
                                  .scope_write = "crm:write",
                                  .fields = company_fields,
                                  .nfields = NF(company_fields),
                                  .custom_fields = true,
                                  .hooks = &company_hooks,
                                  .upsert_keys = {"domain"},
                                  .mergeable = true,
                                  .timeline = true,
                                  .batch = true,
                                  .doc = "Organisations you sell to or work with."};

/* ---- contacts ---- */
static const res_field contact_fields[] = {
    F(.name = "first_name", .type = FT_STRING, .flags = RF_SEARCH | RF_SORT, .max_len = 100),
    F(.name = "last_name", .type = FT_STRING, .flags = RF_SEARCH | RF_SORT, .max_len = 100),
    F(.name = "name", .type = FT_STRING, .flags = RF_SEARCH | RF_SORT, .max_len = 200,
      .doc = "Full name; derived from first_name and last_name when absent"),
    F(.name = "email", .type = FT_EMAIL, .flags = RF_FILTER | RF_SEARCH, .max_len = 254),
    F(.name = "phone", .type = FT_STRING, .flags = RF_SEARCH, .max_len = 50),
    F(.name = "title", .type = FT_STRING, .max_len = 200),
    F(.name = "company_id", .type = FT_REF, .flags = RF_FILTER, .ref = "companies"),
    F(.name = "company_name", .type = FT_STRING, .flags = RF_SEARCH, .max_len = 200,
      .doc = "Filled from the company when company_id is set and this is not"),
    F(.name = "owner_id", .type = FT_STRING, .flags = RF_FILTER, .max_len = 100),
    F(.name = "status", .type = FT_ENUM, .flags = RF_FILTER, .enum_vals = record_status,
      .dflt = "active"),
    F(.name = "lifecycle_stage", .type = FT_ENUM, .flags = RF_FILTER, .enum_vals = lifecycle),
    F(.name = "city", .type = FT_STRING, .max_len = 100),
    F(.name = "country", .type = FT_STRING, .flags = RF_FILTER, .max_len = 100),
    F(.name = "notes", .type = FT_TEXT, .flags = RF_SEARCH, .max_len = 10000),
};
static const res_def contacts = {
    .name = "contacts",
    .singular = "contact",
    .schema = "Contact",
    .path = "contacts",
    .prefix = "con",
    .table = "contacts",
    .scope_read = "crm:read",
    .scope_write = "crm:write",
    .require_one_of = {"name", "first_name", "last_name", "email", NULL},
    .fields = contact_fields,
    .nfields = NF(contact_fields),
    .custom_fields = true,
    .hooks = &contact_hooks,
    .upsert_keys = {"email"},
    .mergeable = true,
    .timeline = true,
    .batch = true,
    .doc = "People: customers, prospects, partners."};

/* ---- contact-company memberships ---- */
static const res_field membership_fields[] = {
    F(.name = "contact_id", .type = FT_REF, .flags = RF_PARENT | RF_READONLY, .ref = "contacts"),
    F(.name = "company_id", .type = FT_REF, .flags = RF_REQUIRED | RF_FILTER, .ref = "companies"),
    F(.name = "role", .type = FT_STRING, .max_len = 100),
    F(.name = "is_primary", .type = FT_BOOL, .flags = RF_FILTER, .dflt = "false"),
};
static const res_def memberships = {
    .name = "company-memberships",
    .singular = "company_membership",
    .schema = "CompanyMembership",
    .path = "company-memberships",
    .prefix = "ccm",
    .table = "contact_company_memberships",
    .scope_read = "crm:read",
    .scope_write = "crm:write",
    .parent = "contacts",
    .subpath = "company-memberships",
    .unique = {"contact_id", "company_id", NULL},
    .fields = membership_fields,
    .nfields = NF(membership_fields),
    .custom_fields = true,
    .hooks = &membership_hooks,
    .doc = "Links a contact to a company with a role; one may be primary."};

/* ---- leads ---- */
static const char *const lead_status[] = {"new",          "working",   "qualified",
                                          "disqualified", "converted", NULL};
static const char *const lead_source[] = {"manual", "website", "referral", "campaign", "import",
                                          "api",    "mcp",     "other",    NULL};
static const res_field lead_fields[] = {
    F(.name = "name", .type = FT_STRING, .flags = RF_SEARCH | RF_SORT, .max_len = 200),
    F(.name = "email", .type = FT_EMAIL, .flags = RF_FILTER | RF_SEARCH, .max_len = 254),
    F(.name = "phone", .type = FT_STRING, .flags = RF_SEARCH, .max_len = 50),
    F(.name = "company_name", .type = FT_STRING, .flags = RF_SEARCH, .max_len = 200),
    F(.name = "company_id", .type = FT_REF, .flags = RF_FILTER, .ref = "companies"),
    F(.name = "contact_id", .type = FT_REF, .flags = RF_FILTER, .ref = "contacts"),
    F(.name = "title", .type = FT_STRING, .max_len = 200),
    F(.name = "status", .type = FT_ENUM, .flags = RF_FILTER, .enum_vals = lead_status,
      .dflt = "new"),
    F(.name = "source", .type = FT_ENUM, .flags = RF_FILTER, .enum_vals = lead_source,
      .dflt = "api"),
    F(.name = "owner_id", .type = FT_STRING, .flags = RF_FILTER, .max_len = 100),
    F(.name = "stage", .type = FT_STRING, .flags = RF_FILTER, .max_len = 100,
      .doc = "Free-form stage; PATCH /leads/{id}/stage applies won/lost automation"),
    F(.name = "value_cents", .type = FT_MONEY, .flags = RF_SORT),
    F(.name = "currency", .type = FT_CURRENCY),
    F(.name = "notes", .type = FT_TEXT, .flags = RF_SEARCH, .max_len = 10000),
    F(.name = "converted_at", .type = FT_DATETIME, .flags = RF_READONLY),
    F(.name = "converted_contact_id", .type = FT_REF, .flags = RF_READONLY, .ref = "contacts"),
    F(.name = "converted_company_id", .type = FT_REF, .flags = RF_READONLY, .ref = "companies"),
    F(.name = "converted_deal_id", .type = FT_REF, .flags = RF_READONLY, .ref = "deals"),
};
static const res_def leads = {.name = "leads",
                              .singular = "lead",
                              .schema = "Lead",
                              .path = "leads",
                              .prefix = "lead",
                              .table = "leads",
                              .scope_read = "crm:read",
                              .scope_write = "crm:write",
                              .require_one_of = {"name", "email", NULL},
                              .fields = lead_fields,
                              .nfields = NF(lead_fields),
                              .custom_fields = true,
                              .indexes = {"status,source"},
                              .upsert_keys = {"email"},
                              .timeline = true,
                              .batch = true,
                              .doc = "Prospects not yet qualified; convert into contacts, "
                                     "companies and deals."};

/* ---- pipelines and their stages ---- */
static const res_field pipeline_fields[] = {
    F(.name = "name", .type = FT_STRING, .flags = RF_REQUIRED | RF_SORT, .max_len = 200),
    F(.name = "description", .type = FT_TEXT, .max_len = 2000),
    F(.name = "is_default", .type = FT_BOOL, .flags = RF_READONLY | RF_FILTER, .dflt = "false",
      .doc = "The workspace's default pipeline (one, created with the workspace)"),
};
static const res_def pipelines = {.name = "pipelines",
                                  .singular = "pipeline",
                                  .schema = "Pipeline",
                                  .path = "pipelines",
                                  .prefix = "pipe",
                                  .table = "pipelines",
                                  .scope_read = "crm:read",
                                  .scope_write = "crm:write",
                                  .fields = pipeline_fields,
                                  .nfields = NF(pipeline_fields),
                                  .hooks = &pipeline_hooks,
                                  .batch = true,
                                  .doc = "Deal pipelines; each has open stages plus Won and Lost."};

static const char *const stage_types[] = {"open", "won", "lost", NULL};
static const res_field stage_fields[] = {
    F(.name = "pipeline_id", .type = FT_REF, .flags = RF_REQUIRED | RF_FILTER | RF_CREATEONLY,
      .ref = "pipelines"),
    F(.name = "name", .type = FT_STRING, .flags = RF_REQUIRED, .max_len = 100),
    F(.name = "key", .type = FT_STRING, .flags = RF_FILTER, .max_len = 100,
      .doc = "Stable key, unique in the pipeline; derived from the name when absent"),
    F(.name = "stage_type", .type = FT_ENUM, .flags = RF_FILTER | RF_CREATEONLY,
      .enum_vals = stage_types, .dflt = "open",
      .doc = "open, or won/lost for the two closing stages every pipeline has"),
    F(.name = "position", .type = FT_INT, .flags = RF_SORT, .min = 0, .max = 999999,
      .doc = "Order among open stages; Won and Lost always come last"),
    F(.name = "probability", .type = FT_INT, .min = 0, .max = 100, .doc = "Chance to win, percent"),
};
static const res_def stages = {.name = "pipeline-stages",
                               .singular = "pipeline_stage",
                               .schema = "PipelineStage",
                               .path = "pipeline-stages",
                               .prefix = "stage",
                               .table = "pipeline_stages",
                               .scope_read = "crm:read",
                               .scope_write = "crm:write",
                               .unique = {"pipeline_id", "key", NULL},
                               .fields = stage_fields,
                               .nfields = NF(stage_fields),
                               .hooks = &stage_hooks,
                               .default_sort = "position",
                               .doc = "A column of a pipeline."};

/* ---- deals ---- */
static const char *const deal_status[] = {"open", "won", "lost", NULL};
static const res_field deal_fields[] = {
    F(.name = "name", .type = FT_STRING, .flags = RF_REQUIRED | RF_SEARCH | RF_SORT,
      .max_len = 200),
    F(.name = "company_id", .type = FT_REF, .flags = RF_FILTER, .ref = "companies"),
    F(.name = "contact_id", .type = FT_REF, .flags = RF_FILTER, .ref = "contacts"),
    F(.name = "lead_id", .type = FT_REF, .flags = RF_FILTER, .ref = "leads"),
    F(.name = "pipeline_id", .type = FT_REF, .flags = RF_FILTER, .ref = "pipelines",
      .doc = "Default pipeline when absent"),
    F(.name = "stage_id", .type = FT_REF, .flags = RF_FILTER, .ref = "pipeline-stages",
      .doc = "First open stage when neither this nor stage is given"),
    F(.name = "stage", .type = FT_STRING, .flags = RF_FILTER, .max_len = 100,
      .doc = "The stage's key; may be given instead of stage_id"),
    F(.name = "amount_cents", .type = FT_MONEY, .flags = RF_SORT),
    F(.name = "currency", .type = FT_CURRENCY),
    F(.name = "close_date", .type = FT_DATE, .flags = RF_SORT),
    F(.name = "owner_id", .type = FT_STRING, .flags = RF_FILTER, .max_len = 100),
    F(.name = "status", .type = FT_ENUM, .flags = RF_READONLY | RF_FILTER, .enum_vals = deal_status,
      .doc = "From the stage: won and lost stages close the deal"),
    F(.name = "closed_at", .type = FT_DATETIME, .flags = RF_READONLY | RF_RANGE),
    F(.name = "position", .type = FT_RANK, .flags = RF_READONLY | RF_SORT, .max_len = 1024,
      .doc = "Order within the stage (sort=position); changed by POST /deals/{id}/move"),
    F(.name = "notes", .type = FT_TEXT, .flags = RF_SEARCH, .max_len = 10000),
};
static const res_def deals = {
    .name = "deals",
    .singular = "deal",
    .schema = "Deal",
    .path = "deals",
    .prefix = "deal",
    .table = "deals",
    .scope_read = "crm:read",
    .scope_write = "crm:write",
    .fields = deal_fields,
    .nfields = NF(deal_fields),
    .custom_fields = true,
    .hooks = &deal_hooks,
    .indexes = {"stage_id,position", "closed_at,status"},
    /* Board columns and the dashboard's open pipeline read
     * this, not the deals. stage_id is never cleared under a
     * deal: a stage holding deals cannot be deleted. */
    .rollup = {.group = {"status", "stage_id", "currency"}, .sum = "amount_cents"},
    .timeline = true,
    .batch = true,
    .doc = "Opportunities moving through a pipeline's stages."};

/* ---- tasks and activities: attached to a record by a typed reference ---- */
static const char *const related_types[] = {"lead", "deal", "contact", "company", NULL};
static const char *const task_status[] = {"open", "completed", "canceled", NULL};
static const char *const task_priority[] = {"low", "normal", "high", "urgent", NULL};
static const res_field task_fields[] = {
    F(.name = "title", .type = FT_STRING, .flags = RF_REQUIRED | RF_SEARCH | RF_SORT,
      .max_len = 500),
    F(.name = "description", .type = FT_TEXT, .flags = RF_SEARCH, .max_len = 10000),
    F(.name = "status", .type = FT_ENUM, .flags = RF_FILTER, .enum_vals = task_status,
      .dflt = "open"),
    F(.name = "due_at", .type = FT_DATETIME, .flags = RF_SORT | RF_RANGE),
    F(.name = "assignee_id", .type = FT_STRING, .flags = RF_FILTER, .max_len = 100),
    F(.name = "priority", .type = FT_ENUM, .flags = RF_FILTER, .enum_vals = task_priority,
      .dflt = "normal"),
    F(.name = "related_resource_type", .type = FT_ENUM, .flags = RF_FILTER,
      .enum_vals = related_types),
    F(.name = "related_resource_id", .type = FT_REF, .flags = RF_FILTER,
      .ref_by = "related_resource_type", .doc = "Must exist; goes with related_resource_type"),
    F(.name = "completed_note", .type = FT_TEXT, .max_len = 10000),
    F(.name = "completed_at", .type = FT_DATETIME, .flags = RF_READONLY,
      .doc = "Set when status becomes completed"),
};
static const res_def tasks = {.name = "tasks",
                              .singular = "task",
                              .schema = "Task",
                              .path = "tasks",
                              .prefix = "task",
                              .table = "tasks",
                              .scope_read = "tasks:read",
                              .scope_write = "tasks:write",
                              .fields = task_fields,
                              .nfields = NF(task_fields),
                              .custom_fields = true,
                              .hooks = &task_hooks,
                              .indexes = {"status,due_at"},
                              .batch = true,
                              .doc = "Things to do, optionally about a lead, deal, contact or "
                                     "company."};

static const char *const activity_types[] = {"note",    "call",         "email",
                                             "meeting", "agent_action", NULL};
static const res_field activity_fields[] = {
    F(.name = "type", .type = FT_ENUM, .flags = RF_REQUIRED | RF_FILTER,
      .enum_vals = activity_types),
    F(.name = "summary", .type = FT_STRING, .flags = RF_REQUIRED | RF_SEARCH, .max_len = 500),
    F(.name = "body", .type = FT_TEXT, .flags = RF_SEARCH, .max_len = 100000),
    F(.name = "occurred_at", .type = FT_DATETIME, .flags = RF_SORT | RF_RANGE,
      .doc = "Defaults to the time of creation"),
    F(.name = "related_resource_type", .type = FT_ENUM, .flags = RF_FILTER,
      .enum_vals = related_types),
    F(.name = "related_resource_id", .type = FT_REF, .flags = RF_FILTER,
      .ref_by = "related_resource_type"),
    F(.name = "actor", .type = FT_STRING, .flags = RF_FILTER, .max_len = 200,
      .doc = "Who did it; defaults to the API key's id"),
};
static const res_def activities = {.name = "activities",
                                   .singular = "activity",
                                   .schema = "Activity",
                                   .path = "activities",
                                   .prefix = "act",
                                   .table = "activities",
                                   .scope_read = "activity:read",
                                   .scope_write = "activity:write",
                                   .fields = activity_fields,
                                   .nfields = NF(activity_fields),
                                   .custom_fields = true,
                                   .hooks = &activity_hooks,
                                   .batch = true,
                                   .doc = "Calls, emails, meetings, notes and agent actions."};

const res_def *const res_table[] = {&companies, &contacts, &memberships, &leads,     &pipelines,
                                    &stages,    &deals,    &tasks,       &activities};
const int res_count = NF(res_table);

const res_sublist res_sublists[] = {
    {.owner = "companies",
     .name = "contacts",
     .res = "contacts",
     .field = "company_id",
     .via = "company-memberships",
     .via_match = "company_id",
     .via_target = "contact_id"},
    {.owner = "leads",
     .name = "activities",
     .res = "activities",
     .field = "related_resource_id",
     .create = true},
    {.owner = "pipelines",
     .name = "stages",
     .res = "pipeline-stages",
     .field = "pipeline_id",
     .create = true,
     .op_list = "listStagesOfPipeline",
     .op_create = "createStageOfPipeline"},
};
const int res_sublist_count = NF(res_sublists);

/* ---- actions: routes with behaviour of their own ---- */
static const res_field convert_body[] = {
    F(.name = "create_deal", .type = FT_BOOL, .dflt = "false"),
    F(.name = "deal_name", .type = FT_STRING, .max_len = 200),
    F(.name = "pipeline_id", .type = FT_REF, .ref = "pipelines"),
    F(.name = "stage_id", .type = FT_REF, .ref = "pipeline-stages"),
};
static const res_field lead_stage_body[] = {
    F(.name = "stage", .type = FT_STRING, .flags = RF_REQUIRED, .max_len = 100,
      .doc = "won converts the lead, lost disqualifies it"),
};
static const res_field move_body[] = {
    F(.name = "stage_id", .type = FT_REF, .flags = RF_REQUIRED, .ref = "pipeline-stages"),
    F(.name = "above_id", .type = FT_REF, .ref = "deals",
      .doc = "The deal that ends up directly above this one"),
    F(.name = "below_id", .type = FT_REF, .ref = "deals",
      .doc = "The deal that ends up directly below this one"),
};

const res_action res_actions[] = {
    {.method = "POST",
     .path = "leads/{id}/convert",
     .res = "leads",
     .write = true,
     .handler = lead_convert,
     .body = convert_body,
     .nbody = NF(convert_body),
     .op_id = "convertLead",
     .summary = "Convert a lead into a contact, a company and optionally a deal"},
    {.method = "PATCH",
     .path = "leads/{id}/stage",
     .res = "leads",
     .write = true,
     .handler = lead_stage,
     .body = lead_stage_body,
     .nbody = NF(lead_stage_body),
     .op_id = "moveLeadStage",
     .summary = "Move a lead's stage (won converts, lost disqualifies)"},
    {.method = "GET",
     .path = "pipelines/{id}/board",
     .res = "pipelines",
     .handler = pipeline_board,
     .response = "Board",
     .op_id = "getPipelineBoard",
     .summary = "Each stage of the pipeline with its first deals in order"},
    {.method = "GET",
     .path = "deal-stages",
     .res = "pipeline-stages",
     .handler = deal_stages_list,
     .list = true,
     .op_id = "listDealStages",
     .summary = "List the default pipeline's stages"},
    {.method = "POST",
     .path = "deal-stages",
     .res = "pipeline-stages",
     .write = true,
     .handler = deal_stage_create,
     .body = stage_fields + 1,
     .nbody = NF(stage_fields) - 1,
     .op_id = "createDealStage",
     .summary = "Add an open stage to the default pipeline"},
    {.method = "POST",
     .path = "deals/{id}/move",
     .res = "deals",
     .write = true,
     .handler = deal_move,
     .body = move_body,
     .nbody = NF(move_body),
     .op_id = "moveDeal",
     .summary = "Move a deal to a stage, optionally between two deals"},
    {.method = "GET",
     .path = "dashboard",
     .res = "deals",
     .handler = dashboard_get,
     .response = "Dashboard",
     .op_id = "getDashboard",
     .summary = "Pipeline value, win rate, tasks and leads at a glance"},
};
const int res_action_count = NF(res_actions);

const res_def *res_find(const char *name)
{
    for (int i = 0; i < res_count; i++)
        if (strcmp(res_table[i]->name, name) == 0) return res_table[i];
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
    for (int i = 0; i < res_count; i++)
        if (strcmp(res_table[i]->singular, singular) == 0) return res_table[i];
    return NULL;
}

bool res_has_search(const res_def *r)
{
    for (int i = 0; i < r->nfields; i++)
        if (r->fields[i].flags & RF_SEARCH) return true;
    return false;
}
