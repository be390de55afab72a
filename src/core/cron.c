/* cron.c - five-field cron schedules; see cron.h. */
#include "core/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

typedef struct field_def {
    const char *name;
    int lo, hi;
    const char *const *names; /* names of lo, lo + 1, ... or NULL */
    int nnames;
} field_def;

static const field_def fields[5] = {
    {"minute", 0, 59, NULL, 0},          {"hour", 0, 23, NULL, 0},
    {"day-of-month", 1, 31, NULL, 0},    {"month", 1, 12, month_names, 12},
    {"day-of-week", 0, 7, dow_names, 7},
};

/* A number or a name at *p; advances *p. */
static bool value(const field_def *f, const char **p, int *out)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        int v = 0;
        while (isdigit((unsigned char)*s)) {
            v = v * 10 + (*s++ - '0');
            if (v > 1000) return false;
        }
        *p = s;
        *out = v;
        return true;
    }
    for (int i = 0; i < f->nnames; i++)
        if (strncasecmp(s, f->names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
            *p = s + 3;
            *out = f->lo + i;
            return true;
        }
    return false;
}

static bool fail(char *err, size_t cap, const field_def *f, const char *what)
{
    snprintf(err, cap, "the %s field %s", f->name, what);
    return false;
}

/* One field's text (without spaces) into bits. */
static bool parse_field(const field_def *f, const char *s, size_t len, uint64_t *bits, char *err,
                        size_t cap)
{
    char text[64];
    if (len == 0 || len >= sizeof text) return fail(err, cap, f, "is empty or too long");
    memcpy(text, s, len);
    text[len] = '\0';
    *bits = 0;
    const char *p = text;
    for (;;) {
        int a, b, step = 1;
        bool single = false;
        if (*p == '*') {
            a = f->lo, b = f->hi;
            p++;
        } else {
            if (!value(f, &p, &a)) return fail(err, cap, f, "holds something not a number");
            b = a;
            single = true;
            if (*p == '-') {
                p++;
                single = false;
                if (!value(f, &p, &b)) return fail(err, cap, f, "has a range without an end");
            }
        }
        if (*p == '/') {
            p++;
            if (!isdigit((unsigned char)*p) || !value(f, &p, &step) || step < 1)
                return fail(err, cap, f, "has a step that is not a positive number");
            if (single) b = f->hi; /* a/n: every n from a on */
        }
        if (a < f->lo || b > f->hi || a > f->hi) {
            char m[64];
            snprintf(m, sizeof m, "is out of range %d-%d", f->lo, f->hi);
            return fail(err, cap, f, m);
        }
        if (a > b) return fail(err, cap, f, "has a range that runs backwards");
        for (int v = a; v <= b; v += step)
            *bits |= (uint64_t)1 << v;
        if (*p == '\0') break;
        if (*p != ',') return fail(err, cap, f, "holds an unexpected character");
        p++;
    }
    return true;
}

bool cron_parse(const char *text, cron_spec *out, char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    const char *p = text;
    uint64_t bits[5];
    bool star[5];
    int n = 0;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p) break;
        size_t len = strcspn(p, " \t");
        if (n == 5) {
            snprintf(err, cap,
                     "a schedule has 5 fields: minute hour day-of-month month "
                     "day-of-week");
            return false;
        }
        star[n] = *p == '*';
        if (!parse_field(&fields[n], p, len, &bits[n], err, cap)) return false;
        n++;
        p += len;
    }
    if (n != 5) {
        snprintf(err, cap, "a schedule has 5 fields: minute hour day-of-month month day-of-week");
        return false;
    }
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->dom = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->dow = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
    out->dom_star = star[2];
    out->dow_star = star[4];
    return true;
}

/* The civil date of a day counted from 1970-01-01 (H. Hinnant's). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool day_due(const cron_spec *c, int64_t day)
{
    int64_t y;
    int m, d;
    civil_from_days(day, &y, &m, &d);
    if (!(c->month & (1u << m))) return false;
    bool dom = (c->dom >> d) & 1;
    bool dow = (c->dow >> ((day % 7 + 11) % 7)) & 1; /* 1970-01-01 was a Thursday */
    if (c->dom_star || c->dow_star) return dom && dow;
    return dom || dow;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t cron_next(const cron_spec *c, const tz_zone *z, int64_t after_ms)
{
    int64_t after_s = floor_div(after_ms, 1000);
    int64_t local = after_s + (z ? tz_offset(z, after_s) : 0);
    /* The next whole minute of the wall clock, then on minute by minute
     * within a due day and day by day past the others. A wall time the
     * zone repeats (clocks going back) could map before `after`: the walk
     * goes on past it. */
    int64_t t = floor_div(local, 60) * 60 + 60;
    int64_t last_day = floor_div(t, 86400) + 366 * 5;
    while (floor_div(t, 86400) <= last_day) {
        int64_t day = floor_div(t, 86400);
        if (!day_due(c, day)) {
            t = (day + 1) * 86400;
            continue;
        }
        int64_t sod = t - day * 86400;
        int h = (int)(sod / 3600), mi = (int)(sod % 3600 / 60);
        if (!((c->hour >> h) & 1)) {
            t = day * 86400 + (int64_t)(h + 1) * 3600;
            continue;
        }
        if (!((c->minute >> mi) & 1)) {
            t += 60;
            continue;
        }
        int64_t utc = z ? tz_to_utc(z, t) : t;
        if (utc > after_s) return utc * 1000;
        t += 60;
    }
    return -1;
}
