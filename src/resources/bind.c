/* bind.c - which hook file implements each resource and action of the
 * table (schema/resources.def), by name, and what a new workspace gets:
 * the engine reads these arrays, and engine_check() refuses to start when
 * an action has no handler. */
#include "resources/hooks.h"

const res_hooks *const engine_hooks[RES__COUNT] = {
    [RES_COMPANY] = &company_hooks,
    [RES_CONTACT] = &contact_hooks,
    [RES_MEMBERSHIP] = &membership_hooks,
    [RES_PIPELINE] = &pipeline_hooks,
    [RES_STAGE] = &stage_hooks,
    [RES_DEAL] = &deal_hooks,
    [RES_TASK] = &task_hooks,
    [RES_ACTIVITY] = &activity_hooks,
    [RES_QUEUE] = &queue_hooks,
    [RES_TICKET] = &ticket_hooks,
    [RES_TMSG] = &ticket_message_hooks,
    [RES_TCOMMENT] = &ticket_comment_hooks,
    [RES_ARTICLE] = &article_hooks,
    [RES_INVOICE] = &invoice_hooks,
    [RES_PAYMENT] = &payment_hooks,
    [RES_ACCOUNT] = &account_hooks,
    [RES_JE] = &entry_hooks,
    [RES_MEMBER] = &member_hooks,
    [RES_SCRIPT] = &script_hooks,
    [RES_QUALT] = &qualt_hooks,
    [RES_CAMPAIGN] = &campaign_hooks,
    [RES_CCONTACT] = &ccontact_hooks,
    [RES_CALLLOG] = &calllog_hooks,
    [RES_SEXEC] = &sexec_hooks,
    [RES_QUAL] = &qual_hooks,
    [RES_EMAILCONN] = &email_conn_hooks,
};

const engine_action_fn engine_actions[ACT__COUNT] = {
    [ACT_LEAD_CONVERT] = lead_convert,
    [ACT_LEAD_STAGE] = lead_stage,
    [ACT_PIPELINE_BOARD] = pipeline_board,
    [ACT_DEAL_STAGES_LIST] = deal_stages_list,
    [ACT_DEAL_STAGE_CREATE] = deal_stage_create,
    [ACT_DEAL_MOVE] = deal_move,
    [ACT_DASHBOARD] = dashboard_get,
    [ACT_INVOICE_SEND] = invoice_send,
    [ACT_INVOICE_VOID] = invoice_void,
    [ACT_PAYMENT_REFUND] = payment_refund,
    [ACT_JE_REVERSE] = entry_reverse,
    [ACT_ACCOUNT_BALANCE] = account_balance,
    [ACT_TRIAL_BALANCE] = trial_balance,
    [ACT_OUT_OVERVIEW] = outbound_overview,
    [ACT_OUT_AGENTS] = outbound_agents,
    [ACT_OUT_WORKLOADS] = outbound_workloads,
    [ACT_OUT_CAMPAIGNS] = outbound_campaigns,
    [ACT_OUT_CAMPAIGN] = outbound_campaign,
    [ACT_OUT_CC_COUNTS] = outbound_cc_counts,
    [ACT_OUT_MULTI] = outbound_multi,
    [ACT_OUT_OVERLAP] = outbound_overlap,
    [ACT_OUT_CONTACTS] = outbound_contacts,
    [ACT_OUT_SCRIPT_EXPORT] = outbound_script_export,
    [ACT_OUT_QUALT_EXPORT] = outbound_qualt_export,
    [ACT_OUT_QUAL_SCHEMA] = outbound_qual_schema,
    [ACT_OUT_ATTACH] = outbound_attach,
    [ACT_OUT_BULK_ADD] = outbound_bulk_add,
    [ACT_OUT_BULK_REMOVE] = outbound_bulk_remove,
    [ACT_OUT_BULK_ASSIGN] = outbound_bulk_assign,
    [ACT_OUT_SCRIPT_IMPORT] = outbound_script_import,
    [ACT_OUT_QUALT_IMPORT] = outbound_qualt_import,
    [ACT_OUT_SEXEC_UPSERT] = outbound_sexec_upsert,
    [ACT_OUT_DEDUP] = outbound_dedup,
    [ACT_IMPORT_CREATE] = import_create,
    [ACT_EMAIL_SEND] = email_send,
    [ACT_EMC_VERIFY] = email_conn_verify,
};

const engine_system_fn engine_workspace_hooks[] = {
    sales_workspace_init,
    accounting_workspace_init,
    NULL,
};

const engine_system_fn engine_timer_hooks[] = {
    support_timers,
    billing_timers,
    NULL,
};
