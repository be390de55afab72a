/* jw.c - streaming JSON writer; see jw.h. */
#include "core/jw.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_init(jw *w, buf *out)
{
    w->out = out;
    w->depth = 0;
    w->need_comma[0] = false;
}

/* Called before every value: a comma if a sibling came before. A value
 * right after a key never gets one (jw_key clears the flag). */
static void pre_value(jw *w)
{
    if (w->need_comma[w->depth]) buf_putc(w->out, ',');
    w->need_comma[w->depth] = true;
}

static void push(jw *w, char c)
{
    pre_value(w);
    buf_putc(w->out, c);
    assert(w->depth + 1 < JW_MAX_DEPTH);
    w->need_comma[++w->depth] = false;
}

void jw_obj_open(jw *w)
{
    push(w, '{');
}
void jw_arr_open(jw *w)
{
    push(w, '[');
}

void jw_obj_close(jw *w)
{
    assert(w->depth > 0);
    w->depth--;
    buf_putc(w->out, '}');
}

void jw_arr_close(jw *w)
{
    assert(w->depth > 0);
    w->depth--;
    buf_putc(w->out, ']');
}

int jw_utf8_seq(const char *str, size_t n)
{
    assert(n > 0);
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0], lo = 0x80, hi = 0xbf;
    int len;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0; /* overlong */
        if (c == 0xed) hi = 0x9f; /* UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90; /* overlong */
        if (c == 0xf4) hi = 0x8f; /* past U+10FFFF */
    } else {
        return -1; /* a continuation byte, C0/C1 (overlong) or F5..FF */
    }
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n || s[i] < lo || s[i] > hi) return -i;
        lo = 0x80;
        hi = 0xbf;
    }
    return len;
}

bool jw_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        int k = jw_utf8_seq(s + i, n - i);
        if (k < 0) return false;
        i += (size_t)k;
    }
    return true;
}

/* 1 for the bytes a JSON string cannot hold as they are: controls, the
 * quote, the backslash, and every byte of a UTF-8 sequence (checked). */
static const unsigned char special[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* The end of the run of bytes from i that need no escape. */
static size_t plain_run(const char *s, size_t i, size_t n)
{
    while (i < n && !special[(unsigned char)s[i]])
        i++;
    return i;
}

/* One escaped byte c (below 0x20, a quote or a backslash) at o; returns
 * the bytes written (2 or 6). */
static size_t escape_byte(char *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    o[0] = '\\';
    switch (c) {
    case '"': o[1] = '"'; return 2;
    case '\\': o[1] = '\\'; return 2;
    case '\n': o[1] = 'n'; return 2;
    case '\r': o[1] = 'r'; return 2;
    case '\t': o[1] = 't'; return 2;
    default:
        memcpy(o + 1, "u00", 3);
        o[4] = hex[c >> 4];
        o[5] = hex[c & 15];
        return 6;
    }
}

/* Escapes up to JW_CHUNK bytes of input a time straight into the buffer,
 * with room for the worst case (6 bytes out for one in) made first: one
 * check per chunk instead of an append per run and per escape (a record's
 * JSON escaped whole, as MCP's text content is, has a quote every few
 * bytes). */
#define JW_CHUNK 1024

void jw_escape(buf *b, const char *s, size_t n)
{
    buf_putc(b, '"');
    size_t i = 0;
    while (i < n && !b->overflow) {
        size_t end = n - i > JW_CHUNK ? i + JW_CHUNK : n;
        buf_reserve(b, 6 * (end - i));
        if (b->cap - b->len < 6 * (end - i) + 1) break; /* near the cap: the careful way */
        char *o = b->data + b->len;
        while (i < end) {
            while (i < end && !special[(unsigned char)s[i]])
                *o++ = s[i++];
            if (i == end) break;
            unsigned char c = (unsigned char)s[i];
            if (c < 0x80) {
                o += escape_byte(o, c);
                i++;
                continue;
            }
            /* A sequence may run past the chunk: it is read whole (at
             * most 4 bytes out for 4 in, within the room made). */
            int k = jw_utf8_seq(s + i, n - i);
            if (k > 0) {
                memcpy(o, s + i, (size_t)k);
                o += k;
                i += (size_t)k;
            } else {
                /* Ill-formed: one U+FFFD for the maximal subpart, so the
                 * output stays valid JSON whatever a client or a database
                 * handed us. */
                memcpy(o, "\xef\xbf\xbd", 3);
                o += 3;
                i += (size_t)-k;
            }
        }
        b->len = (size_t)(o - b->data);
    }
    /* What is left when the buffer nears its cap, a byte or a run at a
     * time, so that overflow is set exactly as appends set it. */
    while (i < n) {
        size_t j = plain_run(s, i, n);
        buf_append(b, s + i, j - i);
        i = j;
        if (i == n) break;
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            char e[6];
            buf_append(b, e, escape_byte(e, c));
            i++;
            continue;
        }
        int k = jw_utf8_seq(s + i, n - i);
        if (k > 0) {
            buf_append(b, s + i, (size_t)k);
            i += (size_t)k;
        } else {
            buf_append(b, "\xef\xbf\xbd", 3);
            i += (size_t)-k;
        }
    }
    buf_putc(b, '"');
}

void jw_key(jw *w, const char *k)
{
    pre_value(w);
    jw_escape(w->out, k, strlen(k));
    buf_putc(w->out, ':');
    w->need_comma[w->depth] = false;
}

/* After a value following a key the next key needs a comma again. */
static void post_value(jw *w)
{
    w->need_comma[w->depth] = true;
}

void jw_strn(jw *w, const char *s, size_t n)
{
    pre_value(w);
    jw_escape(w->out, s, n);
    post_value(w);
}

void jw_str(jw *w, const char *s)
{
    if (!s) {
        jw_null(w);
        return;
    }
    jw_strn(w, s, strlen(s));
}

void jw_int(jw *w, int64_t v)
{
    pre_value(w);
    /* By hand: printf is a measurable share of rendering a list page. */
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    buf_append(w->out, p, (size_t)(tmp + sizeof tmp - p));
    post_value(w);
}

void jw_double(jw *w, double v)
{
    pre_value(w);
    if (!isfinite(v))
        buf_puts(w->out, "null");
    else {
        /* Shortest of %.15g/%.17g that reads back exactly: 0.1, not 0.1000...01. */
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%.15g", v);
        if (strtod(tmp, NULL) != v) snprintf(tmp, sizeof tmp, "%.17g", v);
        buf_puts(w->out, tmp);
    }
    post_value(w);
}

void jw_bool(jw *w, bool v)
{
    pre_value(w);
    buf_puts(w->out, v ? "true" : "false");
    post_value(w);
}

void jw_null(jw *w)
{
    pre_value(w);
    buf_puts(w->out, "null");
    post_value(w);
}

void jw_raw(jw *w, const char *json, size_t n)
{
    pre_value(w);
    buf_append(w->out, json, n);
    post_value(w);
}

void jw_kstr(jw *w, const char *k, const char *v)
{
    jw_key(w, k);
    jw_str(w, v);
}

void jw_kint(jw *w, const char *k, int64_t v)
{
    jw_key(w, k);
    jw_int(w, v);
}

void jw_kbool(jw *w, const char *k, bool v)
{
    jw_key(w, k);
    jw_bool(w, v);
}
