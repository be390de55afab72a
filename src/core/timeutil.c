/* timeutil.c - see timeutil.h. */
#include "core/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

uint64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void time_format_ms(uint64_t ms, char out[TIME_STR])
{
    /* Lists format two times per row: remember the last second's calendar
     * date per thread instead of calling gmtime_r and snprintf each time. */
    static _Thread_local int64_t last_sec = -1;
    static _Thread_local char last[20]; /* "YYYY-MM-DDTHH:MM:SS" */
    int64_t sec = (int64_t)(ms / 1000);
    if (sec != last_sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        int y = (tm.tm_year + 1900) % 10000;
        put2(last, y / 100);
        put2(last + 2, y % 100);
        last[4] = '-';
        put2(last + 5, tm.tm_mon + 1);
        last[7] = '-';
        put2(last + 8, tm.tm_mday);
        last[10] = 'T';
        put2(last + 11, tm.tm_hour);
        last[13] = ':';
        put2(last + 14, tm.tm_min);
        last[16] = ':';
        put2(last + 17, tm.tm_sec);
        last_sec = sec;
    }
    memcpy(out, last, 19);
    unsigned f = (unsigned)(ms % 1000);
    out[19] = '.';
    out[20] = (char)('0' + f / 100);
    out[21] = (char)('0' + f / 10 % 10);
    out[22] = (char)('0' + f % 10);
    out[23] = 'Z';
    out[24] = '\0';
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static bool valid_ymd(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1) return false;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

bool time_parse_date(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return false;
    return valid_ymd(digits(s, 4), digits(s + 5, 2), digits(s + 8, 2));
}

bool time_parse(const char *s, int64_t *ms_out)
{
    size_t n = strlen(s);
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return false;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
    if (!valid_ymd(y, mo, d) || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
        return false;
    const char *p = s + 19;
    int frac_ms = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 3) frac_ms = frac_ms * 10 + (*p - '0');
            nd++;
            p++;
        }
        if (nd == 0) return false;
        for (int i = nd; i < 3; i++)
            frac_ms *= 10;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
        off = (oh * 60 + om) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return false;
    }
    if (*p) return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = se};
    time_t t = timegm(&tm);
    *ms_out = ((int64_t)t - (int64_t)off * 60) * 1000 + frac_ms;
    return true;
}
