/* outbound.c - what members and the outbound-operations family do beyond
 * the generic engine: a member's email is unique in the workspace whatever
 * its case (the table's unique index compares bytes). */
#include <string.h>

#include "resources/engine.h"
#include "resources/hooks.h"

/* ---------------------------------------------------------------- members */

static int member_before(res_write *w)
{
    const char *email = engine_text(w->row, MEMBER_email);
    if (!email || !w->set[MEMBER_email]) return 0;
    res_row other;
    int found = engine_find_by(w->c, w->r, MEMBER_email, email, &other);
    if (found < 0) return -1;
    if (found && strcmp(other.id, w->row->id) != 0)
        return engine_fail(w->c, EK_CONFLICT, "email", "member %s already has the email %s",
                           other.id, engine_text(&other, MEMBER_email));
    return 0;
}

const res_hooks member_hooks = {.before_write = member_before};
