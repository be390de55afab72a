/* openapi.c - the OpenAPI 3.1 document served at GET /v1/openapi.json,
 * generated from the route table and the resource table so that it says
 * what the server does: the schemas of records, bodies and list parameters
 * come from the resource table (schema/schemas.c, which the agent tools read
 * too); an operation's parameters, body, statuses (errors included) and
 * answers come from its route's kind. Only what hook code builds (the board,
 * the dashboard, timeline items) and the fixed routes are described by hand,
 * here. The contract check in
 * tests/contract/ lints the document and sends the API suite through a
 * validating proxy, so a drift between the two fails `make test`.
 *
 * Built once per process as a jansson tree, dumped and served from memory. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "api/upload.h"
#include "schema/schemas.h"

static char *doc;
static size_t doc_len;
static pthread_once_t doc_once = PTHREAD_ONCE_INIT;

#define pack res_schema_pack /* aborts on a bad format: a bug here */

static json_t *schema_ref(const char *name)
{
    char s[400];
    snprintf(s, sizeof s, "#/components/schemas/%s", name);
    return pack("{s:s}", "$ref", s);
}

/* ------------------------------------------------------- fixed schemas */

static json_t *envelope(json_t *data, bool list)
{
    json_t *s =
        pack("{s:s, s:[s,s], s:{s:o, s:o}}", "type", "object", "required", "data", "request_id",
             "properties", "data", data, "request_id", schema_ref("RequestId"));
    if (list) {
        json_array_append_new(json_object_get(s, "required"), json_string("next_cursor"));
        json_object_set_new(json_object_get(s, "properties"), "next_cursor",
                            pack("{s:[s,s], s:s}", "type", "string", "null", "description",
                                 "Cursor of the next page; null on the last page"));
    }
    return s;
}

static json_t *array_of(json_t *items)
{
    return pack("{s:s, s:o}", "type", "array", "items", items);
}

static json_t *int_schema(void)
{
    return pack("{s:s, s:s}", "type", "integer", "format", "int64");
}

static json_t *str_schema(void)
{
    return pack("{s:s}", "type", "string");
}

static json_t *nullable_str(void)
{
    return pack("{s:[s,s]}", "type", "string", "null");
}

/* Adds the members of `more` to o, and lets go of `more`. */
static void merge_into(json_t *o, json_t *more)
{
    json_object_update(o, more);
    json_decref(more);
}

static json_t *object_of(json_t *props)
{
    json_t *req = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(props, k, v) json_array_append_new(req, json_string(k));
    return pack("{s:s, s:o, s:o}", "type", "object", "properties", props, "required", req);
}

/* Every error code the server answers with (api.c, engine results, the
 * HTTP adapter). */
static const char *const error_codes[] = {"validation_failed",
                                          "invalid_cursor",
                                          "bad_request",
                                          "unauthorized",
                                          "forbidden",
                                          "module_disabled",
                                          "not_found",
                                          "conflict",
                                          "idempotency_key_reused",
                                          "payload_too_large",
                                          "uri_too_long",
                                          "unsupported_media_type",
                                          "rate_limited",
                                          "headers_too_large",
                                          "method_not_allowed",
                                          "internal",
                                          "store_unavailable",
                                          "insufficient_storage",
                                          "query_timeout",
                                          NULL};

/* cms.c's search hits (an entry and its snippet) and marketing.c's list
 * member changes. */
static void cms_schemas(json_t *s)
{
    json_object_set_new(
        s, "CmsEntrySearchHit",
        pack("{s:[o, o]}", "allOf", schema_ref("CmsEntry"),
             object_of(pack("{s:{s:s, s:s}}", "snippet", "type", "string", "description",
                            "Up to 160 characters of the text field that matched, around the "
                            "first match (the title when no text field holds one)"))));
    json_object_set_new(
        s, "MarketingListMembersResult",
        pack("{s:s, s:o, s:[s,s,s,s], s:b}", "type", "object", "properties",
             pack("{s:{s:s, s:s}, s:o, s:o, s:o, s:o, s:{s:s}}", "object", "type", "string",
                  "const", "marketing_list_members", "list_id", str_schema(), "added", int_schema(),
                  "removed", int_schema(), "skipped", int_schema(), "dry_run", "type", "boolean"),
             "required", "object", "list_id", "skipped", "dry_run", "additionalProperties", 0));
}

/* calendar.c's availability: a member's merged busy time and the free
 * gaps between it, which together cover [from, to). */
static void calendar_schemas(json_t *s)
{
    json_t *span = pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "starts_at", "type", "string", "format",
                        "date-time", "ends_at", "type", "string", "format", "date-time");
    json_t *busy = json_deep_copy(span);
    json_object_set_new(busy, "event_ids", array_of(str_schema()));
    json_object_set_new(
        s, "CalendarAvailability",
        object_of(pack("{s:{s:s, s:s}, s:o, s:{s:s, s:s}, s:{s:s, s:s}, s:o, s:o}", "object",
                       "type", "string", "const", "calendar_availability", "member_id",
                       nullable_str(), "from", "type", "string", "format", "date-time", "to",
                       "type", "string", "format", "date-time", "busy", array_of(object_of(busy)),
                       "free", array_of(object_of(span)))));
}

/* outbound.c's tools (002): counts of campaign contacts by status, and
 * the views built on them. */
static void outbound_schemas(json_t *s)
{
    json_t *by =
        pack("{s:s, s:{s:s}}", "type", "object", "additionalProperties", "type", "integer");
    json_object_set_new(s, "ContactCounts",
                        object_of(pack("{s:o, s:o, s:O}", "total", int_schema(), "open",
                                       int_schema(), "by_status", by)));
    json_t *tally = object_of(pack("{s:o}", "total", int_schema()));
    /* by_role, by_status: the counts per value of a field. */
    json_object_set_new(tally, "additionalProperties", json_deep_copy(by));
    json_decref(by);
    json_object_set_new(
        s, "OutboundOverview",
        object_of(pack("{s:{s:s, s:s}, s:o, s:o, s:O, s:O, s:o, s:O, s:O, s:o}", "object", "type",
                       "string", "const", "crm_workspace_overview", "contacts", int_schema(),
                       "companies", int_schema(), "members", tally, "campaigns", tally,
                       "campaign_contacts", schema_ref("ContactCounts"), "script_templates", tally,
                       "qualification_templates", tally, "call_logs", int_schema())));
    json_decref(tally);
    json_object_set_new(
        s, "OutboundAgent",
        pack("{s:[o, o]}", "allOf", schema_ref("Member"),
             object_of(pack("{s:o, s:o, s:o}", "open_contacts", int_schema(), "available_capacity",
                            int_schema(), "contact_counts", schema_ref("ContactCounts")))));
    json_object_set_new(
        s, "AgentWorkloads",
        object_of(pack("{s:{s:s, s:s}, s:o}", "object", "type", "string", "const",
                       "agent_workloads", "workloads",
                       array_of(object_of(pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "member_id",
                                               str_schema(), "name", str_schema(), "role",
                                               str_schema(), "status", str_schema(), "capacity",
                                               int_schema(), "available_capacity", int_schema(),
                                               "contact_counts", schema_ref("ContactCounts")))))));
    json_object_set_new(
        s, "CampaignSummary",
        pack("{s:[o, o]}", "allOf", schema_ref("OutboundCampaign"),
             object_of(pack("{s:o}", "contact_counts", schema_ref("ContactCounts")))));
    json_object_set_new(
        s, "CampaignContactCounts",
        object_of(pack("{s:{s:s, s:s}, s:o}", "object", "type", "string", "const",
                       "campaign_contact_counts", "campaigns",
                       array_of(object_of(pack("{s:o, s:o, s:o, s:o}", "campaign_id", str_schema(),
                                               "name", str_schema(), "status", str_schema(),
                                               "contact_counts", schema_ref("ContactCounts")))))));
    json_object_set_new(
        s, "ContactsInCampaigns",
        object_of(pack(
            "{s:{s:s, s:s}, s:o, s:o, s:o, s:{s:s}}", "object", "type", "string", "const",
            "contacts_in_campaigns", "min_campaigns", int_schema(), "contacts",
            array_of(object_of(pack("{s:o, s:o, s:o}", "contact_id", str_schema(), "campaign_count",
                                    int_schema(), "campaign_ids", array_of(str_schema())))),
            "total_matching", int_schema(), "truncated", "type", "boolean")));
    json_object_set_new(
        s, "CampaignOverlap",
        object_of(
            pack("{s:{s:s, s:s}, s:o, s:o, s:o, s:o}", "object", "type", "string", "const",
                 "campaign_overlap", "campaigns",
                 array_of(object_of(pack("{s:o, s:o, s:o}", "campaign_id", str_schema(), "name",
                                         str_schema(), "contacts", int_schema()))),
                 "pairs",
                 array_of(object_of(pack("{s:o, s:o, s:o}", "campaign_a", str_schema(),
                                         "campaign_b", str_schema(), "overlap", int_schema()))),
                 "in_all", int_schema(), "in_several", int_schema())));
    json_object_set_new(
        s, "OutboundContact",
        pack("{s:[o, o]}", "allOf", schema_ref("CampaignContact"),
             object_of(pack("{s:{s:[s,s], s:o}}", "contact", "type", "object", "null", "properties",
                            pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "id", str_schema(), "name",
                                 nullable_str(), "email", nullable_str(), "phone", nullable_str(),
                                 "company_name", nullable_str(), "status", nullable_str())))));
    json_object_set_new(
        s, "BulkAddResult",
        object_of(pack("{s:{s:s, s:s}, s:o, s:o, s:o, s:o, s:{s:s}}", "object", "type", "string",
                       "const", "campaign_bulk_add", "campaign_id", str_schema(), "matched",
                       int_schema(), "added", int_schema(), "skipped", int_schema(), "dry_run",
                       "type", "boolean")));
    json_object_set_new(
        s, "BulkRemoveResult",
        object_of(pack("{s:{s:s, s:s}, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:s}}", "object",
                       "type", "string", "const", "campaign_bulk_remove", "campaign_id",
                       str_schema(), "matched", int_schema(), "removed", int_schema(),
                       "kept_with_follow_up", int_schema(), "not_matched", int_schema(),
                       "script_executions_deleted", int_schema(), "call_logs_deleted", int_schema(),
                       "dry_run", "type", "boolean")));
    json_object_set_new(
        s, "BulkAssignResult",
        object_of(pack("{s:{s:s, s:s}, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:s}}", "object", "type",
                       "string", "const", "campaign_bulk_assign", "campaign_id", str_schema(),
                       "strategy", str_schema(), "considered", int_schema(), "assigned",
                       int_schema(), "left_unassigned", int_schema(), "members",
                       array_of(object_of(pack("{s:o, s:o, s:o, s:o}", "member_id", str_schema(),
                                               "assigned", int_schema(), "open_contacts",
                                               int_schema(), "capacity", int_schema()))),
                       "dry_run", "type", "boolean")));
    json_object_set_new(
        s, "TemplateImportResult",
        object_of(pack("{s:{s:s, s:[s,s]}, s:o, s:o}", "object", "type", "string", "enum",
                       "script_template_import", "qualification_template_import", "imported",
                       int_schema(), "templates", array_of(pack("{s:s}", "type", "object")))));
    json_t *dd = object_of(
        pack("{s:{s:s, s:s}, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "object", "type",
             "string", "const", "import_deduplication", "import_folder", str_schema(), "imports",
             int_schema(), "import_rows",
             object_of(pack("{s:o, s:o, s:o, s:o}", "created", int_schema(), "updated",
                            int_schema(), "duplicate", int_schema(), "invalid", int_schema())),
             "rows", int_schema(), "contacts", int_schema(), "without_email", int_schema(),
             "duplicate_email", int_schema(), "unique_email", int_schema(), "examples",
             array_of(object_of(pack("{s:o, s:o, s:o}", "contact_id", str_schema(), "email",
                                     str_schema(), "others", int_schema())))));
    json_t *ddp = json_object_get(dd, "properties");
    static const char *const dd_docs[][2] = {
        {"imports", "Contact imports (POST /v1/imports) into the folder"},
        {"import_rows", "Their rows by outcome"},
        {"rows", "Campaign contacts of any campaign carrying the folder as import_folder"},
        {"contacts", "The folder's contacts: created or updated by its imports, or carried by "
                     "those campaign contacts"},
        {"duplicate_email", "Of them, those sharing their email with another contact"},
    };
    for (size_t i = 0; i < sizeof dd_docs / sizeof dd_docs[0]; i++)
        json_object_set_new(json_object_get(ddp, dd_docs[i][0]), "description",
                            json_string(dd_docs[i][1]));
    json_object_set_new(s, "ImportDeduplication", dd);
    json_object_set_new(
        s, "ScriptTemplateExport",
        object_of(pack("{s:{s:s, s:s}, s:{s:s}}", "object", "type", "string", "const",
                       "script_template_export", "template", "type", "object")));
    json_object_set_new(
        s, "QualificationTemplateExport",
        object_of(pack("{s:{s:s, s:s}, s:{s:s}}", "object", "type", "string", "const",
                       "qualification_template_export", "template", "type", "object")));
    merge_into(s, pack("{s:o}", "QualificationSchema",
                       object_of(pack("{s:{s:s, s:s}, s:o, s:o, s:{s:s, s:s}}", "object", "type",
                                      "string", "const", "qualification_schema", "campaign_id",
                                      str_schema(), "qualification_template_id", str_schema(),
                                      "schema", "type", "object", "description",
                                      "A JSON Schema (2020-12) of the answers"))));
}

/* bi.c's query answer: columns named and typed, rows as arrays of cells
 * in the columns' order. */
static void bi_schemas(json_t *s)
{
    json_t *cell =
        pack("{s:[s,s,s,s,s]}", "type", "string", "integer", "number", "boolean", "null");
    json_object_set_new(
        s, "BiQueryResult",
        object_of(pack(
            "{s:{s:s, s:s}, s:o, s:o, s:{s:s, s:o}, s:{s:s}}", "object", "type", "string", "const",
            "bi_query_result", "source", str_schema(), "columns",
            array_of(object_of(pack("{s:o, s:{s:s, s:[s,s,s,s,s]}}", "name", str_schema(), "type",
                                    "type", "string", "enum", "string", "integer", "number",
                                    "boolean", "datetime"))),
            "rows", "type", "array", "items", array_of(cell), "truncated", "type", "boolean")));
}

static void fixed_schemas(json_t *s)
{
    json_t *codes = json_array(), *mods = json_array();
    for (int i = 0; error_codes[i]; i++)
        json_array_append_new(codes, json_string(error_codes[i]));
    for (int i = 0; i < MOD__COUNT; i++)
        json_array_append_new(mods, json_string(res_module_names[i]));
    json_object_set_new(s, "RequestId",
                        pack("{s:s, s:s, s:s}", "type", "string", "pattern",
                             "^req_" RES_SCHEMA_ID_TAIL, "description",
                             "Also sent as the X-Request-Id header"));
    json_object_set_new(
        s, "ErrorDetail",
        pack("{s:s, s:[s,s,s], s:{s:{s:s, s:o}, s:{s:s}, s:{s:[s,s], s:s}, s:{s:s, s:s}, "
             "s:{s:s, s:o, s:s}}}",
             "type", "object", "required", "code", "message", "param", "properties", "code", "type",
             "string", "enum", codes, "message", "type", "string", "param", "type", "string",
             "null", "description", "The field or parameter at fault; null when none is",
             "merged_into", "type", "string", "description",
             "not_found of a merged record: the id of the record it was merged into", "module",
             "type", "string", "enum", mods, "description",
             "module_disabled: the module switched off in this workspace"));
    json_object_set_new(s, "Error",
                        pack("{s:s, s:[s,s], s:{s:o, s:o}}", "type", "object", "required", "error",
                             "request_id", "properties", "error", schema_ref("ErrorDetail"),
                             "request_id", schema_ref("RequestId")));
    json_object_set_new(s, "Deleted",
                        object_of(pack("{s:o, s:o, s:{s:s, s:b}}", "id", str_schema(), "object",
                                       str_schema(), "deleted", "type", "boolean", "const", 1)));
    json_object_set_new(
        s, "Workspace",
        object_of(pack("{s:{s:s, s:s}, s:{s:s, s:s}, s:o, s:{s:s, s:{s:s, s:O}}, s:{s:s, s:s, "
                       "s:s}, s:{s:s, s:s}}",
                       "id", "type", "string", "pattern", "^wrk_" RES_SCHEMA_ID_TAIL, "object",
                       "type", "string", "const", "workspace", "name", str_schema(),
                       "enabled_modules", "type", "array", "items", "type", "string", "enum", mods,
                       "currency", "type", "string", "pattern", "^[A-Z]{3}$", "description",
                       "What money defaults to in the workspace (invoices, the ledger's chart)",
                       "created_at", "type", "string", "format", "date-time")));
    json_object_set_new(
        s, "BatchRequest",
        pack("{s:s, s:b, s:[s], s:{s:{s:s, s:I, s:I, s:{s:s, s:s, s:{s:{s:s}, s:{s:s}, "
             "s:{s:s}, s:{s:s}}}}}}",
             "type", "object", "additionalProperties", 0, "required", "operations", "properties",
             "operations", "type", "array", "minItems", (json_int_t)1, "maxItems", (json_int_t)100,
             "items", "type", "object", "description",
             "One operation. Its members are checked one operation at a time: a wrong one "
             "fails that operation's result (200 for the batch), not the batch",
             "properties", "action", "description", "create, update or upsert", "id", "description",
             "update: the record's id", "upsert_on", "description",
             "upsert: the natural key field, as ?upsert_on= of a create", "data", "description",
             "The record's fields, as the body of a create or an update"));
    json_object_set_new(s, "MergeRequest",
                        pack("{s:s, s:b, s:[s], s:{s:{s:s, s:I, s:I, s:{s:s, s:I}}}}", "type",
                             "object", "additionalProperties", 0, "required", "from_ids",
                             "properties", "from_ids", "type", "array", "minItems", (json_int_t)1,
                             "maxItems", (json_int_t)20, "items", "type", "string", "minLength",
                             (json_int_t)1));
    json_object_set_new(
        s, "TimelineItem",
        object_of(pack("{s:o, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}, s:o, s:o, "
                       "s:{s:[s,s], s:{s:s, s:{s:{}, s:{}}}, s:s}, s:{s:s, s:s}}",
                       "id", str_schema(), "object", "type", "string", "const", "timeline_item",
                       "type", "type", "string", "description",
                       "The event: <record>.<what>, e.g. contact.updated", "occurred_at", "type",
                       "string", "format", "date-time", "resource_type", str_schema(),
                       "resource_id", str_schema(), "changes", "type", "object", "null",
                       "additionalProperties", "type", "object", "properties", "from", "to",
                       "description", "An update's changed fields: {field: {from, to}}", "data",
                       "type", "object", "description", "The record as it was after the event")));
    json_object_set_new(
        s, "Event",
        object_of(pack(
            "{s:o, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:o, s:o, s:{s:s, s:s}, "
            "s:{s:[s,s], s:{s:s, s:{s:{}, s:{}}}, s:s}, s:{s:[s,s]}, s:{s:s, s:s}}",
            "id", str_schema(), "object", "type", "string", "const", "event", "sequence", "type",
            "integer", "format", "int64", "description",
            "Its place in the workspace's log: from 1, in commit order, never reused", "type",
            "type", "string", "description", "<record>.<what>, e.g. deal.stage_changed",
            "resource_type", str_schema(), "resource_id", str_schema(), "data", "type", "object",
            "description", "The record as the API answered it after the event", "changes", "type",
            "object", "null", "additionalProperties", "type", "object", "properties", "from", "to",
            "description", "An update's changed fields: {field: {from, to}}", "actor_key_id",
            "type", "string", "null", "occurred_at", "type", "string", "format", "date-time")));
    json_object_set_new(
        s, "WebhookSecret",
        object_of(pack("{s:o, s:{s:s, s:s}, s:{s:s, s:s}, s:o, s:{s:s, s:s}}", "id", str_schema(),
                       "object", "type", "string", "const", "webhook_secret", "signing_secret",
                       "type", "string", "description",
                       "whsec_ + base64 of 32 random bytes: shown this once",
                       "signing_secret_preview", str_schema(), "previous_secret_expires_at", "type",
                       "string", "format", "date-time")));
    json_object_set_new(
        s, "AnalyticsValidation",
        object_of(
            pack("{s:o, s:{s:s, s:o}, s:o}", "valid", pack("{s:s}", "type", "boolean"), "errors",
                 "type", "array", "items",
                 object_of(pack("{s:o, s:{s:s, s:[s,s,s]}, s:o}", "param", str_schema(), "code",
                                "type", "string", "enum", "missing_property", "invalid_type",
                                "unexpected_property", "message", str_schema())),
                 "request_id", schema_ref("RequestId"))));
    json_object_set_new(
        s, "WebhookReplay",
        object_of(pack("{s:{s:s, s:s}, s:o, s:o, s:{s:[s,s]}, s:{s:[s,s]}, s:{s:s}}", "object",
                       "type", "string", "const", "webhook_replay", "webhook_id", str_schema(),
                       "queued", int_schema(), "first_sequence", "type", "integer", "null",
                       "last_sequence", "type", "integer", "null", "truncated", "type",
                       "boolean")));
    json_object_set_new(
        s, "BoardStage",
        pack("{s:[o, o]}", "allOf", schema_ref("PipelineStage"),
             object_of(pack("{s:o, s:o, s:o, s:{s:[s,s], s:s}}", "deal_count", int_schema(),
                            "amount_cents", int_schema(), "deals", array_of(schema_ref("Deal")),
                            "next_cursor", "type", "string", "null", "description",
                            "Continue with GET /v1/deals?stage_id=...&sort=position&cursor="))));
    json_object_set_new(s, "Board",
                        object_of(pack("{s:{s:s, s:s}, s:o, s:o}", "object", "type", "string",
                                       "const", "board", "pipeline", schema_ref("Pipeline"),
                                       "stages", array_of(schema_ref("BoardStage")))));
    json_t *won_lost = pack("{s:o, s:o}", "won", int_schema(), "lost", int_schema());
    json_t *rate = json_deep_copy(won_lost);
    json_object_set_new(rate, "rate",
                        pack("{s:[s,s], s:s}", "type", "number", "null", "description",
                             "won / (won + lost); null when none closed"));
    json_t *counts =
        pack("{s:s, s:{s:s}}", "type", "object", "additionalProperties", "type", "integer");
    json_t *dash = object_of(pack(
        "{s:{s:s, s:s}, s:{s:s, s:s}, s:o, s:o, s:o, s:o}", "object", "type", "string", "const",
        "dashboard", "generated_at", "type", "string", "format", "date-time", "open_pipeline",
        array_of(object_of(pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "pipeline_id", nullable_str(),
                                "stage_id", nullable_str(), "stage_name", nullable_str(),
                                "currency", nullable_str(), "deal_count", int_schema(),
                                "amount_cents", int_schema()))),
        "win_rate_90d", object_of(rate), "this_month", object_of(won_lost), "leads",
        object_of(pack("{s:o, s:O}", "by_status", counts, "by_source", counts))));
    /* Added after object_of() made every other member required. */
    json_object_set_new(json_object_get(dash, "properties"), "tasks",
                        pack("{s:s, s:s, s:o, s:[s,s]}", "description",
                             "Only for keys with tasks:read in workspaces with the tasks module",
                             "type", "object", "properties",
                             pack("{s:o, s:o}", "open", int_schema(), "overdue", int_schema()),
                             "required", "open", "overdue"));
    json_object_set_new(
        json_object_get(dash, "properties"), "tickets",
        pack("{s:s, s:s, s:o, s:[s,s,s]}", "description",
             "Only for keys with support:read in workspaces with the support module", "type",
             "object", "properties",
             pack("{s:o, s:o, s:O}", "open", int_schema(), "breached", int_schema(), "by_status",
                  counts),
             "required", "open", "breached", "by_status"));
    json_object_set_new(
        json_object_get(dash, "properties"), "revenue",
        pack("{s:s, s:s, s:o}", "description",
             "Only for keys with crm:read in workspaces with the billing module: per currency, "
             "what sent invoices bill, what their payments brought less refunds, and what is "
             "left to collect",
             "type", "array", "items",
             object_of(pack("{s:o, s:o, s:o, s:o}", "currency", str_schema(), "invoiced_cents",
                            int_schema(), "paid_cents", int_schema(), "outstanding_cents",
                            int_schema()))));
    json_object_set_new(s, "Dashboard", dash);
    /* accounting.c's balances: debits and credits posted up to as_of, and
     * the balance on the account's normal side. */
    json_t *amounts = pack("{s:o, s:o, s:o, s:o}", "debit_cents", int_schema(), "credit_cents",
                           int_schema(), "balance_cents", int_schema(), "line_count", int_schema());
    json_t *side = pack("{s:s, s:[s,s]}", "type", "string", "enum", "debit", "credit");
    json_t *bal = json_deep_copy(amounts);
    merge_into(bal, pack("{s:{s:s, s:s}, s:o, s:o, s:o, s:O, s:{s:[s,s], s:s}}", "object", "type",
                         "string", "const", "account_balance", "account_id", str_schema(), "code",
                         str_schema(), "currency", str_schema(), "normal_side", side, "as_of",
                         "type", "string", "null", "format", "date"));
    json_object_set_new(s, "AccountBalance", object_of(bal));
    json_t *row = amounts;
    merge_into(row, pack("{s:o, s:o, s:o, s:o, s:o, s:O}", "account_id", str_schema(), "code",
                         str_schema(), "name", str_schema(), "type", str_schema(), "currency",
                         str_schema(), "normal_side", side));
    json_decref(side);
    json_t *total = pack("{s:o, s:o, s:o, s:{s:s}}", "currency", str_schema(), "debit_cents",
                         int_schema(), "credit_cents", int_schema(), "balanced", "type", "boolean");
    json_object_set_new(
        s, "TrialBalance",
        object_of(pack("{s:{s:s, s:s}, s:{s:[s,s], s:s}, s:o, s:o, s:{s:s}}", "object", "type",
                       "string", "const", "trial_balance", "as_of", "type", "string", "null",
                       "format", "date", "accounts", array_of(object_of(row)), "totals",
                       array_of(object_of(total)), "balanced", "type", "boolean")));
    cms_schemas(s);
    outbound_schemas(s);
    calendar_schemas(s);
    bi_schemas(s);
}

/* -------------------------------------------------- shared responses */

/* The error answers, each with the codes api.c and the engine give it. */
static const struct err_resp {
    int status;
    const char *name, *desc, *codes[3];
    bool retry, ratelimit;
} err_resps[] = {
    {400,
     "BadRequest",
     "validation_failed: a parameter, header or body field is wrong; error.param names it "
     "(null when the body as a whole is); invalid_cursor: the cursor is not one this list, "
     "in this order and workspace, made; bad_request: the request itself is malformed",
     {"validation_failed", "invalid_cursor", "bad_request"}},
    {401, "Unauthorized", "unauthorized: no bearer token, or not a valid one", {"unauthorized"}},
    {403,
     "Forbidden",
     "forbidden: the key lacks the scope the operation needs (the message names it); "
     "module_disabled: the workspace has the resource's module switched off (error.module)",
     {"forbidden", "module_disabled"}},
    {404,
     "NotFound",
     "not_found: no such record in this workspace (another workspace's ids too); the id of a "
     "merged record also carries error.merged_into",
     {"not_found"}},
    {409,
     "Conflict",
     "conflict: the stored state refuses the write (a taken unique value, a protected record); "
     "idempotency_key_reused: the Idempotency-Key came with another request within 24 h",
     {"conflict", "idempotency_key_reused"}},
    {413, "PayloadTooLarge", "payload_too_large: the body is over 1 MiB", {"payload_too_large"}},
    {414, "UriTooLong", "uri_too_long: the URL is over 8 KiB", {"uri_too_long"}},
    {415,
     "UnsupportedMediaType",
     "unsupported_media_type: a body not sent as Content-Type: application/json (or as the "
     "other media type the operation's request body names)",
     {"unsupported_media_type"}},
    {422,
     "Unprocessable",
     "validation_failed: the request is well-formed but its amounts do not add up (an "
     "overpayment, a refund over what is left, an entry whose debits and credits differ), or "
     "another server refused it (an SMTP verify: the message quotes its reply); error.param "
     "names the field; query_timeout: a BI query ran past its timeout_ms (error.param)",
     {"validation_failed", "query_timeout"}},
    {429,
     "RateLimited",
     "rate_limited: the key's request rate or concurrent requests are over its limit",
     {"rate_limited"},
     true,
     true},
    {431,
     "HeadersTooLarge",
     "headers_too_large: the request headers are over 16 KiB",
     {"headers_too_large"}},
    {500, "Internal", "internal: the server failed; nothing was half written", {"internal"}},
    {503,
     "Unavailable",
     "store_unavailable: the database is busy or unreachable; retry; insufficient_storage "
     "(GET /readyz only): writes fail for lack of room",
     {"store_unavailable", "insufficient_storage"},
     true},
    {507,
     "InsufficientStorage",
     "insufficient_storage: the database's storage is full; nothing was stored; retry once "
     "space is freed",
     {"insufficient_storage"},
     true},
};
#define NERR ((int)(sizeof err_resps / sizeof err_resps[0]))

/* Headers, parameters and error answers many operations share, built once
 * and written out in full wherever used: the document refers only to
 * schemas, so a reader (or a test) resolves $ref in one place. */
static json_t *headers, *params, *errors;

static json_t *shared(json_t *set, const char *name)
{
    json_t *j = json_object_get(set, name);
    if (!j) abort(); /* a name misspelt here */
    return json_incref(j);
}

static json_t *header_ref(const char *name)
{
    return shared(headers, name);
}

/* What a 429 says of a key with a rate limit (api.c apply_limits). */
static const char *const ratelimit[3][2] = {
    {"X-RateLimit-Limit", "The key's requests per second (keys with a rate limit)"},
    {"X-RateLimit-Remaining", "Requests left in the bucket (keys with a rate limit)"},
    {"X-RateLimit-Reset", "Seconds until the bucket is full (keys with a rate limit)"},
};

static void shared_headers(json_t *h)
{
    json_object_set_new(h, "X-Request-Id",
                        pack("{s:s, s:b, s:o}", "description",
                             "The request's id, as the body's request_id", "required", 1, "schema",
                             schema_ref("RequestId")));
    json_object_set_new(h, "Retry-After",
                        pack("{s:s, s:b, s:{s:s, s:I}}", "description",
                             "Seconds to wait before a retry", "required", 1, "schema", "type",
                             "integer", "minimum", (json_int_t)1));
    for (int i = 0; i < 3; i++)
        json_object_set_new(
            h, ratelimit[i][0],
            pack("{s:s, s:{s:s}}", "description", ratelimit[i][1], "schema", "type", "integer"));
    json_object_set_new(h, "Idempotent-Replayed",
                        pack("{s:s, s:{s:s, s:s}}", "description",
                             "Present when the answer replays the first one of this "
                             "Idempotency-Key",
                             "schema", "type", "string", "const", "true"));
}

static json_t *json_body(json_t *schema)
{
    return pack("{s:{s:o}}", "application/json", "schema", schema);
}

static void shared_responses(json_t *out)
{
    for (int i = 0; i < NERR; i++) {
        const struct err_resp *e = &err_resps[i];
        json_t *codes = json_array();
        for (int k = 0; k < 3 && e->codes[k]; k++)
            json_array_append_new(codes, json_string(e->codes[k]));
        json_t *schema = pack("{s:[o, {s:{s:{s:{s:{s:o}}}}}]}", "allOf", schema_ref("Error"),
                              "properties", "error", "properties", "code", "enum", codes);
        json_t *h = pack("{s:o}", "X-Request-Id", header_ref("X-Request-Id"));
        if (e->retry) json_object_set_new(h, "Retry-After", header_ref("Retry-After"));
        for (int k = 0; k < 3 && e->ratelimit; k++)
            json_object_set_new(h, ratelimit[k][0], header_ref(ratelimit[k][0]));
        json_object_set_new(out, e->name,
                            pack("{s:s, s:o, s:o}", "description", e->desc, "headers", h, "content",
                                 json_body(schema)));
    }
}

/* --------------------------------------------------------- parameters */

static json_t *param(const char *name, const char *in, bool required, json_t *schema,
                     const char *desc)
{
    return pack("{s:s, s:s, s:b, s:s*, s:o}", "name", name, "in", in, "required", required,
                "description", desc, "schema", schema);
}

/* A query parameter of a property of res_schema_list_input(): its
 * description goes to the parameter, the rest is the schema. */
static json_t *list_param(const char *name, json_t *prop)
{
    json_t *s = json_copy(prop);
    json_t *d = json_incref(json_object_get(s, "description"));
    json_object_del(s, "description");
    json_t *p = param(name, "query", false, s, json_string_value(d));
    json_decref(d);
    return p;
}

static bool page_param(const char *name)
{
    return !strcmp(name, "limit") || !strcmp(name, "cursor");
}

static void shared_parameters(json_t *p)
{
    /* Every list pages alike (and the board and timelines page as lists
     * do): any resource's list gives the page parameters. */
    json_t *in = res_schema_list_input(res_table[0]);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(in, "properties"), k, v)
    {
        if (page_param(k)) json_object_set_new(p, k, list_param(k, v));
    }
    json_decref(in);
    json_object_set_new(
        p, "dry_run",
        param("dry_run", "query", false, pack("{s:s}", "type", "boolean"),
              "true: validate and run the write, then roll it back; answers 200 with what would "
              "have been written (a delete: the record that would go). Nothing is stored, no "
              "event is recorded, and Idempotency-Key is neither replayed nor recorded"));
    json_object_set_new(p, "Idempotency-Key",
                        param("Idempotency-Key", "header", false,
                              pack("{s:s, s:I, s:I}", "type", "string", "minLength", (json_int_t)1,
                                   "maxLength", (json_int_t)255),
                              "The same key with the same request within 24 h replays the "
                              "first answer; with another request it is 409"));
}

static json_t *param_ref(const char *name)
{
    return shared(params, name);
}

/* Every list's parameters, as res_schema_list_input() has them; the page
 * ones shared. */
static void list_params(json_t *ps, const res_def *r)
{
    json_t *in = res_schema_list_input(r);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(in, "properties"), k, v)
    {
        if (page_param(k)) {
            json_array_append_new(ps, param_ref(k));
            continue;
        }
        json_t *p = list_param(k, v);
        int i = res_field_index(r, k);
        if (i >= 0 && r->fields[i].type == FT_REF && (r->fields[i].flags & RF_FILTER)) {
            /* What the id names, as the field's own schema says it. */
            res_field ref = r->fields[i];
            ref.doc = NULL;
            json_t *full = res_schema_field(&ref, RS_FILTER);
            json_object_set(json_object_get(p, "schema"), "description",
                            json_object_get(full, "description"));
            json_decref(full);
        }
        json_array_append_new(ps, p);
    }
    json_decref(in);
}

/* --------------------------------------------------------- operations */

/* GET and PATCH /v1/workspace: engine routes of no resource. */
static bool workspace_route(const api_route *rt)
{
    return !rt->handler && !rt->res;
}

static bool is(const api_route *rt, const char *kind)
{
    return rt->kind && strcmp(rt->kind, kind) == 0;
}

/* An action whose body is its resource's own fields creates one of them
 * (POST /v1/deal-stages): the engine answers 201, as for a create. */
static bool action_creates(const res_action *a)
{
    return a && a->creates;
}

static bool creates(const api_route *rt)
{
    return is(rt, "create") || is(rt, "subcreate") || action_creates(rt->action);
}

static bool lists(const api_route *rt)
{
    return is(rt, "list") || is(rt, "sublist") || (rt->action && rt->action->list);
}

/* Whether a route can answer an error status, from what the HTTP adapter,
 * api.c and the engine check. */
static bool transfer(const api_route *rt)
{
    return rt->handler == upload_put || rt->handler == upload_get;
}

static bool can_fail(const api_route *rt, int status)
{
    if (transfer(rt)) {
        /* The link authorizes (403 naming signature or expires); the
         * asset may be gone or not in the state the transfer needs. */
        switch (status) {
        case 400:
        case 414:
        case 431:
        case 403:
        case 404:
        case 500:
        case 503: return true;
        case 409:
        case 413:
        case 415: return rt->handler == upload_put;
        }
        return false;
    }
    switch (status) {
    case 400: /* the HTTP adapter checks these before routing */
    case 414:
    case 431: return true;
    case 500: /* the store, which readyz asks too */
    case 503: return !rt->public || rt->handler == meta_readyz;
    case 507: return !rt->public; /* the store, out of room for a write (or a read's temp files) */
    case 401:
    case 429: return !rt->public;
    case 403: /* a fixed route's scope (/metrics); the engine's scope and module
               * checks, of which reading the workspace needs neither */
        if (rt->public) return false;
        return rt->handler ? rt->scope != NULL : rt->res || rt->write;
    case 404:
        return !rt->public && (strchr(rt->pattern, '{') || rt->action || workspace_route(rt) ||
                               (rt->write && !is(rt, "batch")));
    case 413:
    case 415: return rt->write || (rt->action && rt->method == M_POST); /* a read with a body */
    case 409: return rt->write;
    case 422: /* an SMTP refusal; a BI query past its time */
        return rt->write || (rt->action && (rt->action->effects || rt->method == M_POST));
    }
    return false;
}

static json_t *success(const char *desc, json_t *schema, bool write)
{
    json_t *h = pack("{s:o}", "X-Request-Id", header_ref("X-Request-Id"));
    if (write) json_object_set_new(h, "Idempotent-Replayed", header_ref("Idempotent-Replayed"));
    return pack("{s:s, s:o, s:o}", "description", desc, "headers", h, "content", json_body(schema));
}

/* The success answers of an engine route. */
static void engine_responses(json_t *resp, const api_route *rt)
{
    const res_def *r = rt->res;
    if (workspace_route(rt)) {
        json_object_set_new(resp, "200",
                            success(rt->write ? "The workspace as changed (with dry_run=true, "
                                                "as it would be)"
                                              : "The workspace",
                                    envelope(schema_ref("Workspace"), false), rt->write));
        return;
    }
    const char *data = rt->action && rt->action->response ? rt->action->response : r->schema;
    char s[160];
    if (creates(rt)) {
        json_object_set_new(resp, "201",
                            success("Created", envelope(schema_ref(data), false), true));
        snprintf(s, sizeof s, "dry_run=true: the %s that would have been created%s", r->singular,
                 is(rt, "create") && r->upsert_keys[0] ? "; or upsert_on matched a record, updated"
                                                       : "");
        json_object_set_new(resp, "200", success(s, envelope(schema_ref(data), false), true));
    } else if (is(rt, "delete")) {
        snprintf(s, sizeof s, "Deleted; with dry_run=true, the %s that would go", r->singular);
        json_t *d = pack("{s:[o,o]}", "anyOf", schema_ref("Deleted"), schema_ref(r->schema));
        json_object_set_new(resp, "200", success(s, envelope(d, false), true));
    } else if (is(rt, "batch")) {
        snprintf(s, sizeof s, "%sBatchResult", r->schema);
        json_object_set_new(resp, "200",
                            success("One result per operation, in order (also for a dry run)",
                                    envelope(schema_ref(s), false), true));
    } else if (is(rt, "timeline")) {
        json_object_set_new(resp, "200",
                            success("A page of the record's history, newest first",
                                    envelope(array_of(schema_ref("TimelineItem")), true), false));
    } else if (lists(rt)) {
        json_object_set_new(
            resp, "200",
            success("A page of records", envelope(array_of(schema_ref(data)), true), false));
    } else {
        json_object_set_new(
            resp, "200",
            success(rt->write ? "Done; with dry_run=true, what it would have written" : "Found",
                    envelope(schema_ref(data), false), rt->write));
    }
}

/* The success answers of a fixed route (meta.c, openapi.c). */
static void meta_responses(json_t *resp, const api_route *rt)
{
    json_t *h = pack("{s:o}", "X-Request-Id", header_ref("X-Request-Id"));
    if (rt->handler == meta_healthz || rt->handler == meta_readyz) {
        json_t *b = object_of(pack("{s:{s:s, s:s}, s:o}", "status", "type", "string", "const",
                                   rt->handler == meta_healthz ? "ok" : "ready", "request_id",
                                   schema_ref("RequestId")));
        json_object_set_new(
            resp, "200",
            pack("{s:s, s:o, s:o}", "description", "Up", "headers", h, "content", json_body(b)));
    } else if (rt->handler == meta_metrics) {
        json_object_set_new(resp, "200",
                            pack("{s:s, s:o, s:{s:{s:{s:s}}}}", "description",
                                 "Prometheus text exposition format 0.0.4", "headers", h, "content",
                                 "text/plain", "schema", "type", "string"));
    } else if (rt->handler == upload_put) {
        json_object_set_new(
            resp, "200",
            pack("{s:s, s:o, s:o}", "description",
                 "Stored: the asset (still upload_pending until complete)", "headers", h, "content",
                 json_body(object_of(pack("{s:o, s:o}", "data", schema_ref("Asset"), "request_id",
                                          schema_ref("RequestId"))))));
    } else if (rt->handler == upload_get) {
        json_object_set_new(h, "Content-Disposition",
                            pack("{s:s, s:{s:s}}", "description",
                                 "attachment; filename=\"...\" (and filename* when not ASCII)",
                                 "schema", "type", "string"));
        json_object_set_new(resp, "200",
                            pack("{s:s, s:o, s:{s:{s:{s:s, s:s}}}}", "description",
                                 "The bytes, as the asset's mime_type", "headers", h, "content",
                                 "*/*", "schema", "type", "string", "format", "binary"));
    } else if (rt->handler == meta_openapi) {
        json_object_set_new(resp, "200",
                            pack("{s:s, s:o, s:o}", "description", "This document", "headers", h,
                                 "content", json_body(pack("{s:s}", "type", "object"))));
    } else {
        json_decref(h);
    }
}

/* What an operation does, for people: the summary says what, this says
 * how it answers and what it needs. */
static char *describe(const api_route *rt, char *d, size_t cap)
{
    static const struct {
        api_handler handler;
        const char *text;
    } fixed[] = {
        {meta_healthz, "200 while the process serves requests; needs no key."},
        {meta_readyz, "200 when the database answers and takes writes, else 503 (take the node "
                      "out of a load balancer): store_unavailable, or insufficient_storage while "
                      "its storage is full; needs no key."},
        {meta_metrics, "Request counts by route and status, a latency histogram and store "
                       "errors, in Prometheus text format; needs no key."},
        {meta_openapi, "This document, generated from the route and resource tables the "
                       "server runs on; needs no key."},
        {upload_put, "The URL is the asset's upload_url (valid an hour): its signature "
                     "authorizes, no key is needed. The body is the file, streamed to disk "
                     "(HTTP/1.1 with Content-Length; over HTTP/2 at most 1 MiB), its "
                     "Content-Type the asset's mime_type (415), at most the asset's byte_size "
                     "and the server's --asset-max-bytes (413). Then POST .../complete."},
        {upload_get, "The URL is the asset's download_url (valid 15 minutes): its signature "
                     "authorizes, no key is needed. Answers the bytes as an attachment."},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (rt->handler == fixed[i].handler) {
            snprintf(d, cap, "%s", fixed[i].text);
            return d;
        }
    if (workspace_route(rt)) {
        snprintf(d, cap, "%s",
                 rt->write ? "Sets the modules the workspace uses (enabled_modules, the whole "
                             "list; the others are switched off) and its currency. A route of a "
                             "switched-off module answers 403 module_disabled. Needs "
                             "workspace:admin."
                           : "The id, name and enabled modules of the key's workspace; any "
                             "valid key may read it.");
        return d;
    }
    /* Each names the record with its one %s. */
    static const struct {
        const char *kind, *text;
        bool plural;
    } kinds[] = {
        {"list",
         "One page of %s (limit, then next_cursor until it is null), newest first unless "
         "sort says otherwise; every filter must match; unknown parameters are a 400.",
         true},
        {"get", "The %s with this id; another workspace's id is 404.", false},
        {"update",
         "Changes only the given fields of the %s; null clears an optional field; "
         "unknown or read-only fields are a 400 naming the field.",
         false},
        {"delete",
         "Deletes the %s; records that belong to it go with it and optional links to "
         "it are cleared. Answers {id, object, deleted}.",
         false},
        {"batch",
         "Up to 100 create, update or upsert operations on %s, each in a savepoint of "
         "its own: one failing undoes only itself. Answers 200 with each operation's "
         "status and record or error.",
         true},
        {"merge",
         "Folds the %s of from_ids into this one: references, tasks, activities and "
         "history move to it, its empty fields are filled, and the merged ids then "
         "answer 404 with merged_into.",
         true},
        {"timeline",
         "The %s's events (updates with their changes) and those of its tasks and "
         "activities, newest first.",
         false},
    };
    const res_def *r = rt->res;
    int n = -1;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0] && n < 0; i++)
        if (is(rt, kinds[i].kind) || (lists(rt) && !strcmp(kinds[i].kind, "list")))
            n = snprintf(d, cap, kinds[i].text, kinds[i].plural ? r->name : r->singular);
    if (n < 0 && (is(rt, "create") || is(rt, "subcreate")))
        n = snprintf(d, cap,
                     "Creates a %s%s and answers 201 with it.%s Unknown or read-only fields are "
                     "a 400 naming the field.",
                     r->singular, is(rt, "subcreate") ? " linked to the record of the path" : "",
                     r->upsert_keys[0] ? " With upsert_on, the record whose field matches "
                                         "(case-insensitively) is updated instead and the answer "
                                         "is 200."
                                       : "");
    if (n < 0)
        n = snprintf(d, cap, "%s.%s", rt->summary,
                     action_creates(rt->action) ? " Answers 201 with the new record." : "");
    if ((size_t)n < cap) snprintf(d + n, cap - (size_t)n, " Needs %s.", rt->scope);
    return d;
}

static const char *mlower(api_method m)
{
    static const char *n[] = {"get", "post", "patch", "delete", "put", "head", "other"};
    return n[m];
}

static const char *route_tag(const api_route *rt)
{
    if (rt->res) return rt->res->name;
    return workspace_route(rt) ? "workspace" : "operations";
}

static json_t *request_body(const api_route *rt)
{
    const res_def *r = rt->res;
    const res_action *a = rt->action;
    json_t *schema;
    bool required = true;
    char s[160];
    if (workspace_route(rt)) {
        json_t *mods = json_array();
        for (int m = 0; m < MOD__COUNT; m++)
            json_array_append_new(mods, json_string(res_module_names[m]));
        schema = pack("{s:s, s:b, s:I, s:{s:{s:s, s:s, s:{s:s, s:o}}, s:{s:s, s:s, s:s}}}", "type",
                      "object", "additionalProperties", 0, "minProperties", (json_int_t)1,
                      "properties", "enabled_modules", "type", "array", "description",
                      "Every module the workspace uses; the others are switched off", "items",
                      "type", "string", "enum", mods, "currency", "type", "string", "pattern",
                      "^[A-Z]{3}$", "description",
                      "ISO 4217: what money defaults to from now on (existing records keep "
                      "theirs)");
    } else if (a) {
        schema =
            res_schema_fields(a->body, a->nbody, RS_CREATE, action_creates(a) && r->custom_fields);
        required = json_object_get(schema, "required") != NULL;
        if (a->media_type) {
            /* The same body as text of its own type: the text is the
             * media field, query parameters give the others. */
            const res_field *f = NULL;
            for (int i = 0; i < a->nbody; i++)
                if (!strcmp(a->body[i].name, a->media_field)) f = &a->body[i];
            char d[300];
            snprintf(d, sizeof d,
                     "The %s of the JSON form, as the whole body; the query "
                     "parameters give its other fields",
                     a->media_field);
            json_t *content = json_body(schema);
            json_object_set_new(content, a->media_type,
                                pack("{s:{s:s, s:I, s:s}}", "schema", "type", "string", "maxLength",
                                     (json_int_t)res_field_max(f), "description", d));
            return pack("{s:b, s:o}", "required", true, "content", content);
        }
    } else if (is(rt, "batch")) {
        schema = schema_ref("BatchRequest");
    } else if (is(rt, "merge")) {
        schema = schema_ref("MergeRequest");
    } else if (is(rt, "subcreate")) {
        schema = res_schema_body(r, RS_CREATE, rt->sub);
    } else if (is(rt, "create") && r->upsert_keys[0]) {
        /* With upsert_on a body may be an update of the record the key
         * matches: the create's required fields are needed only when none
         * does. */
        snprintf(s, sizeof s, "%sCreate", r->schema);
        json_t *up = json_array();
        for (int k = 0; k < 3 && r->upsert_keys[k]; k++) {
            char u[160];
            snprintf(u, sizeof u, "%sUpdate", r->schema);
            json_array_append_new(
                up, pack("{s:[o,{s:[s]}]}", "allOf", schema_ref(u), "required", r->upsert_keys[k]));
        }
        json_t *any = pack("[o]", schema_ref(s));
        json_array_extend(any, up);
        json_decref(up);
        schema = pack("{s:o}", "anyOf", any);
    } else {
        snprintf(s, sizeof s, "%s%s", r->schema, is(rt, "create") ? "Create" : "Update");
        schema = schema_ref(s);
    }
    return pack("{s:b, s:o}", "required", required, "content", json_body(schema));
}

static json_t *operation(const api_route *rt)
{
    char d[1024];
    json_t *op = pack("{s:s, s:s, s:s, s:[s]}", "operationId", rt->op_id, "summary", rt->summary,
                      "description", describe(rt, d, sizeof d), "tags", route_tag(rt));
    if (rt->public) {
        json_object_set_new(op, "security", json_array());
    } else {
        /* The bearer requirement is the document's default; the scope
         * goes in x-required-scopes, as linters take roles of a bearer
         * requirement for undeclared OAuth scopes. */
        json_object_set_new(op, "x-required-scopes",
                            rt->scope ? pack("[s]", rt->scope) : json_array());
    }
    /* A log grows with every call, a refused one too: what it held
     * before never changes, but it is never the same twice. */
    if (rt->res && rt->res->log) json_object_set_new(op, "x-append-only", json_true());
    json_t *ps = json_array();
    /* Path variables, named as the pattern names them: {id}, {..._id}. */
    for (const char *p = strchr(rt->pattern, '{'); p; p = strchr(p + 1, '{')) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(strchr(p, '}') - p - 1), p + 1);
        json_array_append_new(
            ps, param(name, "path", true,
                      pack("{s:s, s:I}", "type", "string", "minLength", (json_int_t)1), NULL));
    }
    const res_def *r = rt->res;
    if (is(rt, "timeline") ||
        (rt->action && rt->action->response && !strcmp(rt->action->response, "Board")))
        /* The board pages each stage's deals with limit (pipeline_board). */
        json_array_append_new(ps, param_ref("limit"));
    if (is(rt, "timeline")) json_array_append_new(ps, param_ref("cursor"));
    if (is(rt, "create") && r->upsert_keys[0]) {
        json_t *keys = json_array();
        for (int k = 0; k < 3 && r->upsert_keys[k]; k++)
            json_array_append_new(keys, json_string(r->upsert_keys[k]));
        json_array_append_new(ps, param("upsert_on", "query", false,
                                        pack("{s:s, s:o}", "type", "string", "enum", keys),
                                        "Natural key: update the record whose field matches "
                                        "(case-insensitive) and answer 200, else create, 201"));
    }
    /* A list action answering its own items declares its parameters. */
    if (lists(rt) && !(rt->action && rt->action->response)) list_params(ps, r);
    for (int i = 0; rt->action && i < rt->action->nquery; i++) {
        const res_field *f = &rt->action->query[i];
        json_t *fs = res_schema_field(f, RS_FILTER);
        json_object_del(fs, "description");
        json_array_append_new(ps,
                              param(f->name, "query", (f->flags & RF_REQUIRED) != 0, fs, f->doc));
    }
    /* A body of the action's own media type takes its other fields here. */
    for (int i = 0; rt->action && rt->action->media_type && i < rt->action->nbody; i++) {
        const res_field *f = &rt->action->body[i];
        if (!strcmp(f->name, rt->action->media_field) ||
            (f->type != FT_STRING && f->type != FT_TEXT && f->type != FT_ENUM))
            continue;
        json_t *fs = res_schema_field(f, RS_FILTER);
        json_object_del(fs, "description");
        char d[600];
        snprintf(d, sizeof d, "With a %s body only%s: %s", rt->action->media_type,
                 (f->flags & RF_REQUIRED) ? ", and then required" : "", f->doc ? f->doc : f->name);
        json_array_append_new(ps, param(f->name, "query", false, fs, d));
    }
    if (transfer(rt)) {
        static const char *const link[][2] = {
            {"workspace_id", "The asset's workspace"},
            {"expires", "Unix seconds after which the link is refused (403 naming expires)"},
            {"signature", "Hex HMAC-SHA256 of the server over the method, workspace, asset and "
                          "expiry (403 naming signature when it does not match)"}};
        for (size_t i = 0; i < sizeof link / sizeof link[0]; i++)
            json_array_append_new(
                ps, param(link[i][0], "query", true,
                          pack("{s:s, s:I}", "type", "string", "minLength", (json_int_t)1),
                          link[i][1]));
    }
    if (rt->write) {
        json_array_append_new(ps, param_ref("Idempotency-Key"));
        json_array_append_new(ps, param_ref("dry_run"));
    } else if (rt->action && rt->method == M_POST) {
        json_array_append_new(ps, param_ref("dry_run")); /* a read: nothing to store anyway */
    }
    json_object_set_new(op, "parameters", ps);
    if ((rt->write && !is(rt, "delete")) || (rt->action && rt->method == M_POST))
        json_object_set_new(op, "requestBody", request_body(rt));
    if (rt->action && rt->action->id == ACT_AEVENT_VALIDATE) {
        /* A payload's properties are any JSON (objects and arrays too):
         * the definition's types judge them, not the document. */
        json_t *b = json_object_get(op, "requestBody");
        json_t *sch = json_object_get(
            json_object_get(json_object_get(json_object_get(b, "content"), "application/json"),
                            "schema"),
            "properties");
        json_t *pp = json_object_get(sch, "properties");
        if (pp) {
            json_object_set_new(pp, "additionalProperties", json_object());
            json_object_del(pp, "propertyNames");
        }
    }
    if (rt->handler == upload_put)
        json_object_set_new(op, "requestBody",
                            pack("{s:b, s:{s:{s:{s:s, s:s}}}}", "required", 1, "content", "*/*",
                                 "schema", "type", "string", "format", "binary"));
    json_t *resp = json_object();
    if (rt->handler)
        meta_responses(resp, rt);
    else
        engine_responses(resp, rt);
    for (int i = 0; i < NERR; i++) {
        char st[8];
        snprintf(st, sizeof st, "%d", err_resps[i].status);
        if (can_fail(rt, err_resps[i].status))
            json_object_set_new(resp, st, shared(errors, err_resps[i].name));
    }
    json_object_set_new(op, "responses", resp);
    return op;
}

/* ------------------------------------------------------------ document */

static json_t *components(void)
{
    json_t *s = json_object();
    for (int i = 0; i < res_count; i++) {
        const res_def *r = res_table[i];
        char n[160];
        json_object_set_new(s, r->schema, res_schema_record(r));
        if (r->read_only) continue;
        snprintf(n, sizeof n, "%sCreate", r->schema);
        json_object_set_new(s, n, res_schema_body(r, RS_CREATE, NULL));
        snprintf(n, sizeof n, "%sUpdate", r->schema);
        json_object_set_new(s, n, res_schema_body(r, RS_UPDATE, NULL));
        if (!r->batch) continue;
        snprintf(n, sizeof n, "%sBatchResult", r->schema);
        json_t *item = pack("{s:s, s:[s,s], s:{s:o, s:o, s:o, s:o}}", "type", "object", "required",
                            "index", "status", "properties", "index", int_schema(), "status",
                            pack("{s:s, s:s}", "type", "integer", "description",
                                 "The HTTP status the operation alone would get"),
                            "data", schema_ref(r->schema), "error", schema_ref("ErrorDetail"));
        json_object_set_new(item, "description",
                            json_string("data when the operation succeeded, error when not"));
        json_object_set_new(s, n,
                            object_of(pack("{s:{s:s, s:s}, s:o, s:o, s:o}", "object", "type",
                                           "string", "const", "batch", "results", array_of(item),
                                           "succeeded", int_schema(), "failed", int_schema())));
    }
    fixed_schemas(s);
    return pack("{s:{s:{s:s, s:s, s:s}}, s:o}", "securitySchemes", "bearer", "type", "http",
                "scheme", "bearer", "description",
                "An API key, ck_...; the scope each operation needs is in its x-required-scopes",
                "schemas", s);
}

static json_t *tags(void)
{
    json_t *t = json_array();
    for (int i = 0; i < res_count; i++)
        json_array_append_new(t, pack("{s:s, s:s}", "name", res_table[i]->name, "description",
                                      res_table[i]->doc ? res_table[i]->doc : res_table[i]->name));
    json_array_append_new(t, pack("{s:s, s:s}", "name", "workspace", "description",
                                  "The workspace the API key belongs to"));
    json_array_append_new(t, pack("{s:s, s:s}", "name", "operations", "description",
                                  "Health, readiness, metrics and this document"));
    return t;
}

static void build(void)
{
    int n;
    const api_route *rts = api_routes(&n);
    headers = json_object(), params = json_object(), errors = json_object();
    shared_headers(headers);
    shared_parameters(params);
    shared_responses(errors);
    json_t *paths = json_object();
    for (int i = 0; i < n; i++) {
        if (rts[i].hidden) continue; /* /mcp: JSON-RPC, MCP's specification says it all */
        json_t *item = json_object_get(paths, rts[i].pattern);
        if (!item) json_object_set_new(paths, rts[i].pattern, item = json_object());
        json_object_set_new(item, mlower(rts[i].method), operation(&rts[i]));
    }
    json_t *d = pack(
        "{s:s, s:{s:s, s:s, s:s, s:{s:s}, s:{s:s, s:s}}, s:[{s:s, s:s, s:{s:{s:s, s:s}}}], "
        "s:[{s:[]}], s:o, s:o, s:o}",
        "openapi", "3.1.0", "info", "title", "Cairn API", "version", "1", "description",
        "API-first CRM. Answers are {data, request_id} (lists add next_cursor, null on the last "
        "page); errors are {error: {code, message, param}, request_id} with param null when no "
        "field is at fault. Every answer carries X-Request-Id. Ids are strings: a type prefix "
        "and 26 characters (con_01J...). Money is integer cents with an ISO 4217 currency; "
        "times are RFC 3339 UTC with milliseconds. Writes take Idempotency-Key and "
        "dry_run=true.",
        "contact", "name", "Cairn", "license", "name", "Proprietary", "identifier",
        "LicenseRef-Cairn-Proprietary", "servers", "url", "http://{listen}", "description",
        "A cairn serve process (or the load balancer in front of several)", "variables", "listen",
        "default", "127.0.0.1:8080", "description", "The address cairn serve --listen binds",
        "security", "bearer", "tags", tags(), "paths", paths, "components", components());
    doc = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    json_decref(headers), json_decref(params), json_decref(errors);
    if (!doc) abort();
    doc_len = strlen(doc);
}

int meta_openapi(api_req *q)
{
    pthread_once(&doc_once, build);
    buf_reset(&q->out);
    q->status = 200;
    buf_append(&q->out, doc, doc_len);
    return 0;
}
