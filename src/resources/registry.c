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
    F(.name = "name", .type = FT_STRING, .flags = RF_REQUIRED | RF_SEARCH | RF_SORT, .max_len = 200,
      .doc = "Company name"),
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

const res_def *const res_table[] = {&companies, &contacts, &memberships};
const int res_count = NF(res_table);

const res_sublist res_sublists[] = {
    {.owner = "companies",
     .name = "contacts",
     .res = "contacts",
     .field = "company_id",
     .via = "company-memberships",
     .via_match = "company_id",
     .via_target = "contact_id"},
};
const int res_sublist_count = NF(res_sublists);

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

bool res_has_search(const res_def *r)
{
    for (int i = 0; i < r->nfields; i++)
        if (r->fields[i].flags & RF_SEARCH) return true;
    return false;
}
