/* tz.c - IANA time zones from TZif files; see tz.h. */
#include "core/tz.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_MAX_ZONES 64
#define TZ_FILE_MAX  (1 << 20)

struct tz_zone {
    char name[64];
    int n;           /* transitions */
    int64_t *at;     /* their UTC instants, ascending */
    int32_t *offset; /* the offset from each transition on */
    int32_t first;   /* the offset before the first transition */
};

static tz_zone zones[TZ_MAX_ZONES];
static int nzones;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    if (n == 4) return (int32_t)(uint32_t)v;
    return (int64_t)v;
}

/* A name of letters, digits and _+-/ without "..": never a path out of
 * the zoneinfo directory. */
static bool valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof zones[0].name || name[0] == '/' || strstr(name, "..")) return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '+' || *p == '-' || *p == '/'))
            return false;
    return true;
}

/* Parses a TZif file (version 1 data, or the 64-bit data of 2 and up)
 * into z; false when it is not one. */
static bool parse(const unsigned char *d, size_t len, tz_zone *z)
{
    if (len < 44 || memcmp(d, "TZif", 4) != 0) return false;
    int tsize = 4;
    size_t off = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (off + 44 > len || memcmp(d + off, "TZif", 4) != 0) return false;
        const unsigned char *h = d + off + 20;
        int64_t isut = be(h, 4), isstd = be(h + 4, 4), leap = be(h + 8, 4);
        int64_t timecnt = be(h + 12, 4), typecnt = be(h + 16, 4), charcnt = be(h + 20, 4);
        if (isut < 0 || isstd < 0 || leap < 0 || timecnt < 0 || timecnt > 100000 || typecnt < 1 ||
            typecnt > 256 || charcnt < 0)
            return false;
        size_t body = (size_t)(timecnt * tsize + timecnt + typecnt * 6 + charcnt +
                               leap * (tsize + 4) + isstd + isut);
        off += 44;
        if (off + body > len) return false;
        if (pass == 0 && d[4] >= '2') { /* skip to the 64-bit data */
            off += body;
            tsize = 8;
            continue;
        }
        const unsigned char *t = d + off, *idx = t + timecnt * tsize, *types = idx + timecnt;
        z->n = (int)timecnt;
        z->at = malloc(sizeof *z->at * (size_t)(timecnt ? timecnt : 1));
        z->offset = malloc(sizeof *z->offset * (size_t)(timecnt ? timecnt : 1));
        if (!z->at || !z->offset) return false;
        for (int64_t i = 0; i < timecnt; i++) {
            if (idx[i] >= typecnt) return false;
            z->at[i] = be(t + i * tsize, tsize);
            z->offset[i] = (int32_t)be(types + idx[i] * 6, 4);
        }
        /* Before the first transition: the first standard-time type. */
        z->first = (int32_t)be(types, 4);
        for (int64_t k = 0; k < typecnt; k++)
            if (!types[k * 6 + 4]) {
                z->first = (int32_t)be(types + k * 6, 4);
                break;
            }
        return true;
    }
    return false;
}

static bool load(const char *name, tz_zone *z)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    unsigned char *d = malloc(TZ_FILE_MAX);
    size_t len = d ? fread(d, 1, TZ_FILE_MAX, f) : 0;
    fclose(f);
    bool ok = d && len < TZ_FILE_MAX && parse(d, len, z);
    free(d);
    if (!ok) {
        free(z->at);
        free(z->offset);
        memset(z, 0, sizeof *z);
    }
    return ok;
}

const tz_zone *tz_find(const char *name)
{
    if (!valid_name(name)) return NULL;
    pthread_mutex_lock(&lock);
    const tz_zone *found = NULL;
    for (int i = 0; i < nzones && !found; i++)
        if (strcmp(zones[i].name, name) == 0) found = &zones[i];
    if (!found && nzones < TZ_MAX_ZONES && load(name, &zones[nzones])) {
        snprintf(zones[nzones].name, sizeof zones[nzones].name, "%s", name);
        found = &zones[nzones++];
    }
    pthread_mutex_unlock(&lock);
    return found;
}

int32_t tz_offset(const tz_zone *z, int64_t utc_s)
{
    if (z->n == 0 || utc_s < z->at[0]) return z->first;
    int lo = 0, hi = z->n - 1; /* the last transition at or before utc_s */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (z->at[mid] <= utc_s)
            lo = mid;
        else
            hi = mid - 1;
    }
    return z->offset[lo];
}

int64_t tz_to_utc(const tz_zone *z, int64_t local_s)
{
    /* The offset in force an offset's width before, then checked at the
     * candidate itself: exact away from a change, one side of it at one. */
    int64_t guess = local_s - tz_offset(z, local_s);
    return local_s - tz_offset(z, guess);
}
