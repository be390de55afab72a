/* buf.c - capped growable buffer; see buf.h. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
    b->overflow = false;
}

void buf_free(buf *b)
{
    free(b->data);
    buf_init(b, b->limit);
}

void buf_reset(buf *b)
{
    b->len = 0;
    b->overflow = false;
}

static bool reserve(buf *b, size_t extra)
{
    if (b->overflow) return false;
    if (b->len + extra + 1 > b->limit) {
        b->overflow = true;
        return false;
    }
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    if (cap > b->limit) cap = b->limit;
    char *p = realloc(b->data, cap);
    if (!p) abort();
    b->data = p;
    b->cap = cap;
    return true;
}

void buf_reserve(buf *b, size_t n)
{
    if (reserve(b, n)) return;
    b->overflow = false; /* a reservation past the cap is a hint, not data */
}

void buf_append(buf *b, const void *p, size_t n)
{
    if (!reserve(b, n)) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void buf_puts(buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_putc(buf *b, char c)
{
    if (!reserve(b, 1)) return;
    b->data[b->len++] = c;
}

void buf_printf(buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        buf_append(b, tmp, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *buf_cstr(buf *b)
{
    /* reserve() always leaves room for the NUL; only an empty buf lacks it. */
    if (b->len + 1 > b->cap) {
        char *p = realloc(b->data, b->len + 1);
        if (!p) abort();
        b->data = p;
        b->cap = b->len + 1;
    }
    b->data[b->len] = '\0';
    return b->data;
}
