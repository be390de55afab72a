/* rank.c - order keys between any two; see rank.h. */
#include "core/rank.h"

#include <string.h>

static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";

static int dval(char c)
{
    return c >= 'a' ? c - 'a' + 10 : c - '0';
}

/* A rank strictly between a and b (b NULL: no upper bound; a "" : none
 * below). Requires a < b. */
static char *mid(arena *A, const char *a, const char *b)
{
    size_t cap = strlen(a) + (b ? strlen(b) : 0) + 4;
    char *out = arena_alloc(A, cap), *o = out;
    while (b && (*a ? *a : '0') == *b) {
        *o++ = *b++;
        if (*a) a++;
    }
    for (;;) {
        int da = *a ? dval(*a) : 0, db = b ? dval(*b) : 36;
        if (db - da > 1) {
            *o++ = digits[(da + db) / 2];
            break;
        }
        if (b && b[1]) {
            *o++ = *b;
            break;
        }
        *o++ = digits[da];
        a = *a ? a + 1 : "";
        b = NULL;
    }
    *o = '\0';
    return out;
}

/* Incrementing a fixed digit keeps appended keys short, where repeated
 * midpoints would grow a character every few appends. */
char *rank_after(arena *A, const char *a)
{
    if (!a || !*a) return arena_strdup(A, "i");
    size_t n = strlen(a), longest = n + 1 > 4 ? n + 1 : 4;
    /* The shortest prefix of a (four characters, padded with '0') that can
     * be incremented: a long key made by midpoints is followed by a short
     * one again. */
    for (size_t w = 4; w <= longest; w++) {
        char *r = arena_alloc(A, w + 1);
        for (size_t i = 0; i < w; i++)
            r[i] = i < n ? a[i] : '0';
        r[w] = '\0';
        for (size_t i = w; i-- > 0;) {
            int d = dval(r[i]) + 1;
            if (d < 36) {
                r[i] = digits[d];
                size_t len = w;
                while (len > 1 && r[len - 1] == '0')
                    r[--len] = '\0';
                return r;
            }
            r[i] = '0';
        }
    }
    return mid(A, a, NULL);
}

char *rank_between(arena *A, const char *lo, const char *hi)
{
    if (!hi) return rank_after(A, lo);
    return mid(A, lo ? lo : "", hi);
}
