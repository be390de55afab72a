/* tasks.c - what tasks and activities do beyond the generic engine: a
 * task's completed_at follows its status; an activity happened now and was
 * done by the calling key unless told otherwise. Both attach to a lead,
 * deal, contact or company by a typed reference the engine validates. */
#include <string.h>

#include "core/timeutil.h"
#include "resources/engine.h"
#include "resources/hooks.h"

static int task_before(res_write *w)
{
    const res_def *r = w->r;
    int st = res_field_index(r, "status");
    if (!w->is_create && !w->set[st]) return 0;
    const char *now = engine_text(r, w->row, "status");
    const char *was = w->old ? engine_text(r, w->old, "status") : NULL;
    if (strcmp(now, "completed") == 0) {
        if (!was || strcmp(was, "completed") != 0)
            engine_set(w->q, r, w->row, w->set, "completed_at", sv_int((int64_t)time_now_ms()));
    } else if (was && strcmp(was, "completed") == 0) {
        engine_set(w->q, r, w->row, w->set, "completed_at", (store_val){.kind = SV_NULL});
    }
    return 0;
}

const res_hooks task_hooks = {.before_write = task_before};

static int activity_before(res_write *w)
{
    const res_def *r = w->r;
    if (!w->is_create) return 0;
    if (w->row->vals[res_field_index(r, "occurred_at")].kind == SV_NULL)
        engine_set(w->q, r, w->row, w->set, "occurred_at",
                   (store_val){.kind = SV_INT, .i = w->row->created_ms});
    if (w->row->vals[res_field_index(r, "actor")].kind == SV_NULL)
        engine_set(w->q, r, w->row, w->set, "actor",
                   (store_val){.kind = SV_TEXT, .s = w->q->key.id});
    return 0;
}

const res_hooks activity_hooks = {.before_write = activity_before};
