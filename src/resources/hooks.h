/* hooks.h - the hook tables and action handlers of each resource family,
 * one file each, and the arrays that bind them to the table (bind.c). */
#ifndef CAIRN_HOOKS_H
#define CAIRN_HOOKS_H

#include "schema/table.h"

struct engine_call;
struct store_conn;

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
extern const res_hooks ticket_hooks;         /* support.c */
extern const res_hooks ticket_message_hooks; /* support.c */
extern const res_hooks ticket_comment_hooks; /* support.c */
extern const res_hooks article_hooks;        /* support.c */

int lead_convert(struct engine_call *c);      /* leads.c */
int lead_stage(struct engine_call *c);        /* leads.c */
int pipeline_board(struct engine_call *c);    /* pipelines.c */
int deal_stages_list(struct engine_call *c);  /* pipelines.c */
int deal_stage_create(struct engine_call *c); /* pipelines.c */
int deal_move(struct engine_call *c);         /* pipelines.c */
int dashboard_get(struct engine_call *c);     /* dashboard.c */

/* What a new workspace starts with, one hook per family that has some
 * (engine_workspace_created runs them); each is idempotent. NULL-ended. */
extern const engine_system_fn engine_workspace_hooks[];

/* pipelines.c: the default pipeline */
int sales_workspace_init(struct engine_call *c, int64_t now_ms);

/* What falls due with time, one hook per family that has some
 * (engine_timers runs them on a writer about once a second). NULL-ended. */
extern const engine_system_fn engine_timer_hooks[];

int support_timers(struct engine_call *c, int64_t now_ms); /* support.c: SLA clocks */

/* GET and PATCH /v1/workspace (workspace.c). */
int engine_workspace_get(struct engine_call *c);
int engine_workspace_update(struct engine_call *c);

#endif
