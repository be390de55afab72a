/* calendar.h - the interval arithmetic of calendar.c (availability's
 * merged busy time and free gaps, booking's first free slot), pure and
 * declared apart so the unit tests reach it. A span is [start, end) in
 * milliseconds since the epoch. */
#ifndef CAIRN_CALENDAR_H
#define CAIRN_CALENDAR_H

#include <stdbool.h>
#include <stdint.h>

#define CAL_MEMBERS_MAX 21 /* a booking's members (20) and its organizer */

typedef struct cal_span {
    int64_t start, end;
    int tag;      /* the caller's (an index into its records) */
    int first, n; /* cal_merge's output: the run of sorted input it covers */
} cal_span;

/* Sorts s[0..n) by start, clips each to [lo, hi) and merges overlapping
 * or touching ones into out (room for n); returns how many. A merged
 * span's run of sorted input is exact when every input span meets
 * [lo, hi), as the ones a range query read do. */
int cal_merge(cal_span *s, int n, int64_t lo, int64_t hi, cal_span *out);
/* The gaps between merged spans busy[0..n) within [lo, hi) into out (room
 * for n + 1); returns how many. */
int cal_gaps(const cal_span *busy, int n, int64_t lo, int64_t hi, cal_span *out);
/* The first t = lo + k * step with [t, t + dur) inside [lo, hi) that meets
 * no span of any of the nm (1 to CAL_MEMBERS_MAX) members' merged busy
 * lists: true with *slot = t; or false with *who and *which the member and
 * the span in the way of the first slot tried (-1 when none was). */
bool cal_first_slot(const cal_span *const *busy, const int *nbusy, int nm, int64_t lo, int64_t hi,
                    int64_t dur, int64_t step, int64_t *slot, int *who, int *which);

#endif
