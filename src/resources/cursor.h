/* cursor.h - list cursors: opaque, tamper-proof, bound to their list.
 *
 * Owns: the cursor key and the cursor format. A cursor carries the last
 * row's position in its list (its insertion order and sort value), which
 * must not leak (row numbers tell how many records other workspaces hold)
 * nor be forged (a made-up position walks another list). So a cursor is
 * AES-256-GCM of that position under a key derived from the server's
 * secret, with the workspace, the resource and the sort as associated
 * data: one from another workspace, list or order, truncated or changed,
 * does not open. Engine-internal. */
#ifndef CAIRN_CURSOR_H
#define CAIRN_CURSOR_H

#include <stdbool.h>

#include "core/arena.h"
#include "store/store.h"

/* The cursor of the page after row `last` of r in workspace ws, listed by
 * sort (NULL: the default order) and sq's sort field; from arena a. */
char *cursor_encode(arena *a, const char *ws, const res_def *r, const char *sort,
                    const res_row *last, const store_query *sq);
/* Opens s into sq's after_rid / after_val (text in arena a); false when s
 * is not a cursor this server made for this workspace, list and sort. */
bool cursor_decode(arena *a, const char *ws, const res_def *r, const char *sort, const char *s,
                   store_query *sq);

#endif
