/* hooks.h - the hook tables and action handlers of each resource family,
 * one file each, and the arrays that bind them to the table (bind.c). */
#ifndef CAIRN_HOOKS_H
#define CAIRN_HOOKS_H

#include "schema/table.h"

struct api_req;
struct store_conn;

typedef int (*engine_action_fn)(struct api_req *q);

/* Indexed by RES_ and ACT_ numbers; NULL: no hooks (every action has one). */
extern const res_hooks *const engine_hooks[RES__COUNT];
extern const engine_action_fn engine_actions[ACT__COUNT];

extern const res_hooks contact_hooks;    /* contacts.c */
extern const res_hooks company_hooks;    /* contacts.c */
extern const res_hooks membership_hooks; /* contacts.c */
extern const res_hooks pipeline_hooks;   /* pipelines.c */
extern const res_hooks stage_hooks;      /* pipelines.c */
extern const res_hooks deal_hooks;       /* pipelines.c */
extern const res_hooks task_hooks;       /* tasks.c */
extern const res_hooks activity_hooks;   /* tasks.c */

int lead_convert(struct api_req *q);      /* leads.c */
int lead_stage(struct api_req *q);        /* leads.c */
int pipeline_board(struct api_req *q);    /* pipelines.c */
int deal_stages_list(struct api_req *q);  /* pipelines.c */
int deal_stage_create(struct api_req *q); /* pipelines.c */
int deal_move(struct api_req *q);         /* pipelines.c */
int dashboard_get(struct api_req *q);     /* dashboard.c */

/* What every workspace starts with (its default pipeline); idempotent.
 * Runs inside the caller's write transaction. */
int sales_workspace_init(struct store_conn *c, const char *ws);

#endif
