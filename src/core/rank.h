/* rank.h - ordering keys for lists users rearrange (deals in a stage).
 *
 * Owns: making a key strictly between two others. Keys are strings over
 * [0-9a-z] compared byte-wise; there is always room between two of them,
 * so moving an item rewrites that item alone. Keys never end in '0', which
 * keeps room below every key. */
#ifndef CAIRN_RANK_H
#define CAIRN_RANK_H

#include "core/arena.h"

/* A key after `lo` (NULL or "": the first key). Appending keeps keys four
 * characters long for hundreds of thousands of items. */
char *rank_after(arena *a, const char *lo);
/* A key strictly between lo and hi (either NULL: unbounded). Requires
 * lo < hi when both are given. */
char *rank_between(arena *a, const char *lo, const char *hi);

#endif
