/* test_calendar.c - calendar.c's interval arithmetic: merging busy time,
 * the free gaps between it, and the first slot free for every member. */
#include <stddef.h>

#include "resources/calendar.h"
#include "test.h"

#define H(x) ((int64_t)(x)*3600000) /* hours as ms */
#define M(x) ((int64_t)(x)*60000)   /* minutes as ms */

TEST(calendar_merge_sorts_clips_and_merges_touching)
{
    /* Out of order; [1,2) and [2,3) touch; [5,7) overlaps [6,8); [10,11)
     * lies past the clip; [-1,0) before it. */
    cal_span s[] = {{H(6), H(8), 0}, {H(1), H(2), 1}, {H(10), H(11), 2},
                    {H(5), H(7), 3}, {H(2), H(3), 4}, {H(-1), H(0), 5}};
    cal_span out[6];
    int n = cal_merge(s, 6, H(0), H(9), out);
    if (!CHECK_EQ_INT(n, 2)) return;
    CHECK_EQ_INT(out[0].start, H(1));
    CHECK_EQ_INT(out[0].end, H(3));
    CHECK_EQ_INT(out[1].start, H(5));
    CHECK_EQ_INT(out[1].end, H(8));
    /* Each merged span names the run of sorted input it covers, by tag. */
    CHECK_EQ_INT(out[0].n, 2);
    CHECK_EQ_INT(s[out[0].first].tag, 1);
    CHECK_EQ_INT(s[out[0].first + 1].tag, 4);
    CHECK_EQ_INT(out[1].n, 2);
    CHECK_EQ_INT(s[out[1].first].tag, 3);
    CHECK_EQ_INT(s[out[1].first + 1].tag, 0);
}

TEST(calendar_merge_clips_to_the_range)
{
    cal_span s[] = {{H(0), H(4), 0}, {H(8), H(12), 1}, {H(3), H(5), 2}};
    cal_span out[3];
    int n = cal_merge(s, 3, H(2), H(10), out);
    if (!CHECK_EQ_INT(n, 2)) return;
    CHECK_EQ_INT(out[0].start, H(2));
    CHECK_EQ_INT(out[0].end, H(5));
    CHECK_EQ_INT(out[1].start, H(8));
    CHECK_EQ_INT(out[1].end, H(10));
    CHECK_EQ_INT(cal_merge(s, 0, H(0), H(1), out), 0);
    /* A span contained in another merges into it. */
    cal_span in[] = {{H(1), H(9), 0}, {H(2), H(3), 1}};
    CHECK_EQ_INT(cal_merge(in, 2, INT64_MIN, INT64_MAX, out), 1);
    CHECK_EQ_INT(out[0].end, H(9));
}

TEST(calendar_gaps_tile_the_range)
{
    cal_span busy[] = {{H(1), H(3)}, {H(5), H(8)}};
    cal_span out[3];
    int n = cal_gaps(busy, 2, H(0), H(9), out);
    if (!CHECK_EQ_INT(n, 3)) return;
    CHECK_EQ_INT(out[0].start, H(0));
    CHECK_EQ_INT(out[0].end, H(1));
    CHECK_EQ_INT(out[1].start, H(3));
    CHECK_EQ_INT(out[1].end, H(5));
    CHECK_EQ_INT(out[2].start, H(8));
    CHECK_EQ_INT(out[2].end, H(9));
    /* Busy at both edges: only the middle is free. */
    cal_span edge[] = {{H(0), H(2)}, {H(7), H(9)}};
    n = cal_gaps(edge, 2, H(0), H(9), out);
    if (!CHECK_EQ_INT(n, 1)) return;
    CHECK_EQ_INT(out[0].start, H(2));
    CHECK_EQ_INT(out[0].end, H(7));
    /* Nothing busy: all of it; all busy: nothing. */
    CHECK_EQ_INT(cal_gaps(NULL, 0, H(0), H(9), out), 1);
    CHECK_EQ_INT(out[0].end, H(9));
    cal_span all[] = {{H(0), H(9)}};
    CHECK_EQ_INT(cal_gaps(all, 1, H(0), H(9), out), 0);
    /* Spans reaching past the range leave no gap outside it. */
    cal_span wide[] = {{H(-2), H(1)}, {H(12), H(14)}};
    n = cal_gaps(wide, 2, H(0), H(9), out);
    if (!CHECK_EQ_INT(n, 1)) return;
    CHECK_EQ_INT(out[0].start, H(1));
    CHECK_EQ_INT(out[0].end, H(9));
}

TEST(calendar_first_slot_for_two_members)
{
    /* A busy 9-10, B busy 10:30-11: a free hour for both from 11:00. */
    cal_span a[] = {{H(9), H(10)}}, b[] = {{H(10) + M(30), H(11)}};
    const cal_span *busy[] = {a, b};
    int nbusy[] = {1, 1}, who, which;
    int64_t t;
    CHECK(cal_first_slot(busy, nbusy, 2, H(9), H(17), H(1), M(15), &t, &who, &which));
    CHECK_EQ_INT(t, H(11));
    CHECK_EQ_INT(who, -1);
    /* Half an hour fits between them. */
    CHECK(cal_first_slot(busy, nbusy, 2, H(9), H(17), M(30), M(15), &t, &who, &which));
    CHECK_EQ_INT(t, H(10));
    /* The grid: after a span ending at 10:07 the next slot is 10:15. */
    cal_span c[] = {{H(9), H(10) + M(7)}};
    const cal_span *one[] = {c};
    int none[] = {1};
    CHECK(cal_first_slot(one, none, 1, H(9), H(12), M(30), M(15), &t, &who, &which));
    CHECK_EQ_INT(t, H(10) + M(15));
    /* A slot may end exactly at the window's end, and start at a span's. */
    CHECK(cal_first_slot(one, none, 1, H(9), H(10) + M(45), M(30), M(15), &t, &who, &which));
    CHECK_EQ_INT(t, H(10) + M(15));
}

TEST(calendar_first_slot_none_names_the_span_in_the_way)
{
    cal_span a[] = {{H(8), H(10)}}, b[] = {{H(9), H(12)}};
    const cal_span *busy[] = {a, b};
    int nbusy[] = {1, 1}, who, which;
    int64_t t = 12345;
    /* Window 9-11, one hour: A blocks 9:00, B blocks every later slot. */
    CHECK(!cal_first_slot(busy, nbusy, 2, H(9), H(11), H(1), M(15), &t, &who, &which));
    CHECK_EQ_INT(t, 12345);
    CHECK_EQ_INT(who, 0);
    CHECK_EQ_INT(which, 0);
    /* Only B in the way: B is named. */
    const cal_span *bonly[] = {b};
    CHECK(!cal_first_slot(bonly, nbusy, 1, H(9), H(11), H(1), M(15), &t, &who, &which));
    CHECK_EQ_INT(who, 0);
    /* A window shorter than the duration tries nothing. */
    CHECK(!cal_first_slot(busy, nbusy, 2, H(13), H(13) + M(30), H(1), M(15), &t, &who, &which));
    CHECK_EQ_INT(who, -1);
    /* Bad arguments answer none rather than loop. */
    CHECK(!cal_first_slot(busy, nbusy, 2, H(9), H(17), H(1), 0, &t, &who, &which));
    CHECK(!cal_first_slot(busy, nbusy, 0, H(9), H(17), H(1), M(15), &t, &who, &which));
    CHECK(!cal_first_slot(busy, nbusy, CAL_MEMBERS_MAX + 1, H(9), H(17), H(1), M(15), &t, &who,
                          &which));
}

TEST(calendar_first_slot_skips_many_spans_and_negative_times)
{
    /* Busy every other quarter hour from 0:00 to 10:00; an hour is free
     * from 10:00. Times before 1970 are times like any other. */
    enum { N = 20 };
    cal_span a[N];
    for (int i = 0; i < N; i++)
        a[i] = (cal_span){.start = H(-5) + i * M(30), .end = H(-5) + i * M(30) + M(15)};
    const cal_span *busy[] = {a};
    int nbusy[] = {N}, who, which;
    int64_t t;
    CHECK(cal_first_slot(busy, nbusy, 1, H(-5), H(10), H(1), M(15), &t, &who, &which));
    CHECK_EQ_INT(t, H(5) - M(15));
    /* Fifteen minutes fit in the first gap. */
    CHECK(cal_first_slot(busy, nbusy, 1, H(-5), H(10), M(15), M(15), &t, &who, &which));
    CHECK_EQ_INT(t, H(-5) + M(15));
}
