/* hooks.h - the hook tables and action handlers of each resource family,
 * one file each, and the arrays that bind them to the table (bind.c). */
#ifndef CAIRN_HOOKS_H
#define CAIRN_HOOKS_H

#include "core/ids.h"
#include "schema/table.h"

struct engine_call;
struct asset_info;
struct store_conn;
struct res_row;

typedef int (*engine_action_fn)(struct engine_call *c);
/* A family's work in a whole workspace, run as the "system" actor inside
 * the caller's transaction (engine_workspace_created, engine_timers). */
typedef int (*engine_system_fn)(struct engine_call *c, int64_t now_ms);

/* Indexed by RES_ and ACT_ numbers; NULL: no hooks (every action has one). */
extern const res_hooks *const engine_hooks[RES__COUNT];
extern const engine_action_fn engine_actions[ACT__COUNT];

extern const res_hooks contact_hooks;        /* contacts.c */
extern const res_hooks company_hooks;        /* contacts.c */
extern const res_hooks membership_hooks;     /* contacts.c */
extern const res_hooks pipeline_hooks;       /* pipelines.c */
extern const res_hooks stage_hooks;          /* pipelines.c */
extern const res_hooks deal_hooks;           /* pipelines.c */
extern const res_hooks task_hooks;           /* tasks.c */
extern const res_hooks activity_hooks;       /* tasks.c */
extern const res_hooks queue_hooks;          /* support.c */
extern const res_hooks ticket_hooks;         /* support.c */
extern const res_hooks ticket_message_hooks; /* support.c */
extern const res_hooks ticket_comment_hooks; /* support.c */
extern const res_hooks article_hooks;        /* support.c */
extern const res_hooks invoice_hooks;        /* billing.c */
extern const res_hooks payment_hooks;        /* billing.c */
extern const res_hooks account_hooks;        /* accounting.c */
extern const res_hooks entry_hooks;          /* accounting.c */
extern const res_hooks member_hooks;         /* outbound.c */
extern const res_hooks script_hooks;         /* outbound.c */
extern const res_hooks qualt_hooks;          /* outbound.c */
extern const res_hooks campaign_hooks;       /* outbound.c */
extern const res_hooks ccontact_hooks;       /* outbound.c */
extern const res_hooks calllog_hooks;        /* outbound.c */
extern const res_hooks sexec_hooks;          /* outbound.c */
extern const res_hooks qual_hooks;           /* outbound.c */
extern const res_hooks evtype_hooks;         /* integrations.c */
extern const res_hooks webhook_hooks;        /* integrations.c */
extern const res_hooks email_conn_hooks;     /* mail.c */

int lead_convert(struct engine_call *c);      /* leads.c */
int lead_stage(struct engine_call *c);        /* leads.c */
int pipeline_board(struct engine_call *c);    /* pipelines.c */
int deal_stages_list(struct engine_call *c);  /* pipelines.c */
int deal_stage_create(struct engine_call *c); /* pipelines.c */
int deal_move(struct engine_call *c);         /* pipelines.c */
int dashboard_get(struct engine_call *c);     /* dashboard.c */
int invoice_send(struct engine_call *c);      /* billing.c */
int invoice_void(struct engine_call *c);      /* billing.c */
int payment_refund(struct engine_call *c);    /* billing.c */
int entry_reverse(struct engine_call *c);     /* accounting.c */
int account_balance(struct engine_call *c);   /* accounting.c */
int trial_balance(struct engine_call *c);     /* accounting.c */
/* outbound.c: 002's outbound tools */
int outbound_overview(struct engine_call *c);
int outbound_agents(struct engine_call *c);
int outbound_workloads(struct engine_call *c);
int outbound_campaigns(struct engine_call *c);
int outbound_campaign(struct engine_call *c);
int outbound_cc_counts(struct engine_call *c);
int outbound_multi(struct engine_call *c);
int outbound_overlap(struct engine_call *c);
int outbound_contacts(struct engine_call *c);
int outbound_script_export(struct engine_call *c);
int outbound_qualt_export(struct engine_call *c);
int outbound_qual_schema(struct engine_call *c);
int outbound_attach(struct engine_call *c);
int outbound_bulk_add(struct engine_call *c);
int outbound_bulk_remove(struct engine_call *c);
int outbound_bulk_assign(struct engine_call *c);
int outbound_script_import(struct engine_call *c);
int outbound_qualt_import(struct engine_call *c);
int outbound_sexec_upsert(struct engine_call *c);
int outbound_dedup(struct engine_call *c);
int import_create(struct engine_call *c); /* imports.c: POST /v1/imports */
/* integrations.c: event types, the change feed, webhooks */
int evtypes_list(struct engine_call *c);
int evtype_get(struct engine_call *c);
int events_feed(struct engine_call *c);
int webhooks_list(struct engine_call *c);
int webhook_rotate(struct engine_call *c);
int webhook_test(struct engine_call *c);
int webhook_replay(struct engine_call *c);
int delivery_retry(struct engine_call *c);
int import_create(struct engine_call *c);     /* imports.c: POST /v1/imports */
int email_send(struct engine_call *c);        /* mail.c: POST /v1/outbound/emails */
int email_conn_verify(struct engine_call *c); /* mail.c: POST .../email-connections/{id}/verify */

/* mail.c: what the mail worker's results do to the records, each inside
 * the writer's savepoint (events/mail.c calls them through the writer).
 * A store status. Claims queued email `id` when it is due at now: one
 * more attempt, its next one pushed lease_ms ahead, *claimed set. */
struct mail_outcome;
int mail_claim(struct store_conn *c, const char *ws, const char *id, int64_t now, int64_t lease_ms,
               bool *claimed);
/* Records an attempt's outcome: sent (and its email activity), retried
 * after a backoff of retry_ms times 1, 5, 30, 120, 360, or failed. */
int mail_record(struct store_conn *c, const char *ws, const char *id, const struct mail_outcome *o,
                int64_t now, int64_t retry_ms);

/* accounting.c: postings of other families, in the caller's transaction.
 * A line debits (or credits) `amount` cents to the default chart's
 * account playing `role` (cash, receivable, revenue, tax, refunds) in the
 * entry's currency; lines of 0 are left out. */
typedef struct ledger_line {
    const char *role;
    bool debit;
    int64_t amount;
} ledger_line;
/* Posts an entry of `source` (invoice, payment, refund) on `day`. */
int ledger_post(struct engine_call *c, const char *source, const char *source_id,
                const char *currency, const char *day, const char *memo, const ledger_line *lines,
                int n, struct res_row *out);
/* Posts the mirror of posted entry `entry_id` (once: a second is 409), on
 * `day` (NULL: today), linked both ways. */
int ledger_reverse(struct engine_call *c, const char *entry_id, const char *source, const char *day,
                   const char *memo, struct res_row *out);
/* The UTC day (YYYY-MM-DD) of a time, from the call's arena. */
const char *ledger_day(struct engine_call *c, int64_t ms);

/* What a new workspace starts with, one hook per family that has some
 * (engine_workspace_created runs them); each is idempotent. NULL-ended. */
extern const engine_system_fn engine_workspace_hooks[];

/* pipelines.c: the default pipeline */
int sales_workspace_init(struct engine_call *c, int64_t now_ms);
/* accounting.c: the default chart of accounts */
int accounting_workspace_init(struct engine_call *c, int64_t now_ms);

/* What falls due with time, one hook per family that has some
 * (engine_timers runs them on a writer about once a second). NULL-ended. */
extern const engine_system_fn engine_timer_hooks[];

int support_timers(struct engine_call *c, int64_t now_ms); /* support.c: SLA clocks */
int billing_timers(struct engine_call *c, int64_t now_ms); /* billing.c: overdue invoices */
/* integrations.c: queues the deliveries of the events past each webhook's
 * cursor (also at the end of every writer batch: engine_dispatch) */
int integrations_dispatch(struct engine_call *c, int64_t now_ms);

/* GET and PATCH /v1/workspace (workspace.c). */
int engine_workspace_get(struct engine_call *c);
int engine_workspace_update(struct engine_call *c);

int calendar_availability(struct engine_call *c); /* calendar.c */
int calendar_schedule(struct engine_call *c);     /* calendar.c */
extern const res_hooks calendar_event_hooks;      /* calendar.c */

/* bi.c: BI datasets, metrics, reports, dashboards, scheduled artifacts,
 * and POST /v1/bi/queries/run */
extern const res_hooks bi_dataset_hooks;
extern const res_hooks bi_metric_hooks;
extern const res_hooks bi_report_hooks;
extern const res_hooks bi_dashboard_hooks;
extern const res_hooks bi_schedule_hooks;
int bi_query_run(struct engine_call *c);
/* BI exports (bi.c; the worker is events/exports.c). */
extern const res_hooks bi_export_hooks;
int bi_export_get(struct engine_call *c);
/* Due schedules become exports (once across nodes), and exports past
 * their 7 days are archived with their files removed. */
int bi_timers(struct engine_call *c, int64_t now_ms);
/* Who is told an export was made (the worker's wake-up), and telling. */
void bi_exports_set_waker(void (*fn)(void));
void bi_exports_poke(void);
/* Up to cap exports of the workspace waiting to run, oldest first: the
 * queued ones, and with orphans the running ones too (their worker is
 * gone). Ids in ids[]. */
int bi_exports_due(struct engine_call *c, bool orphans, char (*ids)[ID_MAX], int cap, int *n);
/* On the writer: export id becomes running; *taken false when it is no
 * longer queued or running (archived meanwhile). */
int bi_export_claim(struct engine_call *c, const char *id, bool *taken);
/* What running an export came to. */
typedef struct bi_export_outcome {
    bool ok;
    char blob_key[96];
    int64_t rows, bytes;
    char error[512];
} bi_export_outcome;
/* On the worker's own reader connection: runs export id's query, its
 * rows streamed into a new blob. Fills out; -1 only when the export
 * itself cannot be read (store failure). */
int bi_export_write(struct engine_call *c, const char *id, bi_export_outcome *out);
/* On the writer: records the outcome (succeeded or failed). */
int bi_export_record(struct engine_call *c, const char *id, const bi_export_outcome *o);
/* The file a signed download of export id serves (status "available"
 * once it succeeded), as assets_transfer_info. */
int bi_export_transfer_info(struct engine_call *c, const char *id, struct asset_info *out);
/* cms.c: collections' schemas, entries' fields, revisions and search */
extern const res_hooks cms_collection_hooks;
extern const res_hooks cms_entry_hooks;
int cms_search(struct engine_call *c);
/* marketing.c: campaigns, posts, list members */
extern const res_hooks mkt_campaign_hooks;
extern const res_hooks mkt_post_hooks;
extern const res_hooks mkt_member_hooks;
int mkt_list_add(struct engine_call *c);
int mkt_list_remove(struct engine_call *c);
/* ---- assets.c and analytics.c ---- */
extern const res_hooks asset_hooks;
extern const res_hooks aprop_hooks;
extern const res_hooks aevent_hooks;
int asset_get(struct engine_call *c);       /* GET /v1/assets/{id}: with download_url */
int asset_archive(struct engine_call *c);   /* DELETE /v1/assets/{id} */
int asset_complete(struct engine_call *c);  /* POST /v1/assets/{id}/complete */
int aevent_validate(struct engine_call *c); /* POST /v1/analytics/events/validate */
void analytics_committed(void);             /* engine_committed's part */
/* The signed links of assets: upload_url (PUT) lives an hour, download_url
 * (GET) 15 minutes. The signature is hex HMAC-SHA256 under the server's
 * signing key (crypto_sign) of "METHOD\nws\nid\nexpires" (Unix seconds). */
#define ASSET_UPLOAD_TTL_S   3600
#define ASSET_DOWNLOAD_TTL_S 900
void assets_sign(const char *method, const char *ws, const char *id, int64_t expires, char hex[65]);
/* What the transfer routes (api/upload.c) check of asset id before they
 * move a byte: strings in the call's arena; byte_size -1 when none. */
typedef struct asset_info {
    const char *status, *mime_type, *file_name, *blob_key;
    int64_t byte_size;
} asset_info;
int assets_transfer_info(struct engine_call *c, const char *id, asset_info *out);
/* Records, on the writer, the size and SHA-256 of the bytes an upload
 * committed to the blob store (asset.uploaded), answering the asset;
 * 409 once it is no longer upload_pending. */
int assets_record_upload(struct engine_call *c, const char *id, int64_t size, const char *sha256,
                         const char *blob_key);

#endif
