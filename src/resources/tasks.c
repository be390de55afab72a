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
    if (!w->is_create && !w->set[TASK_status]) return 0;
    const char *now = engine_text(w->row, TASK_status);
    const char *was = w->old ? engine_text(w->old, TASK_status) : NULL;
    /* PATCH {"status": null} clears it: a task not completed. */
    if (now && strcmp(now, "completed") == 0) {
        if (!was || strcmp(was, "completed") != 0)
            engine_set(w->row, w->set, TASK_completed_at, sv_int((int64_t)time_now_ms()));
    } else if (was && strcmp(was, "completed") == 0) {
        engine_set(w->row, w->set, TASK_completed_at, (store_val){.kind = SV_NULL});
    }
    return 0;
}

const res_hooks task_hooks = {.before_write = task_before};

static int activity_before(res_write *w)
{
    if (!w->is_create) return 0;
    if (w->row->vals[ACTIVITY_occurred_at].kind == SV_NULL)
        engine_set(w->row, w->set, ACTIVITY_occurred_at, sv_int(w->row->created_ms));
    if (w->row->vals[ACTIVITY_actor].kind == SV_NULL)
        engine_set(w->row, w->set, ACTIVITY_actor, sv_text(w->c->actor));
    return 0;
}

const res_hooks activity_hooks = {.before_write = activity_before};
