/* jr.c - JSON text to Jansson values: the fast path of json_loadb. */
#include "core/jr.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/jw.h"

/* Deeper nesting is Jansson's to parse (or refuse, past its 2048). */
#define JR_MAX_DEPTH 64
#define JR_FLAGS     (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL)

typedef struct jr {
    const char *p, *end;
    /* Unescaped strings, appended one after the other: never longer in
     * all than the text, and never overwritten, so that a key stays put
     * while its value is parsed. */
    char *tmp;
    size_t tmp_len, tmp_cap;
    int depth;
    char small[1024];
} jr;

static void skip_ws(jr *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

/* A string's escapes undone, from `from` (the byte after the opening
 * quote) into r->tmp. False: something Jansson must judge. */
static bool unescape(jr *r, const char *from, const char **s, size_t *n)
{
    if (!r->tmp) {
        size_t need = (size_t)(r->end - from);
        r->tmp = need <= sizeof r->small ? r->small : malloc(need);
        if (!r->tmp) return false;
        r->tmp_cap = need <= sizeof r->small ? sizeof r->small : need;
    }
    char *out = r->tmp + r->tmp_len;
    size_t o = 0;
    for (const char *q = from; q < r->end;) {
        unsigned char c = (unsigned char)*q;
        if (c == '"') {
            *s = out;
            *n = o;
            r->tmp_len += o;
            r->p = q + 1;
            return true;
        }
        if (c < 0x20) return false;
        if (c != '\\') {
            int k = c < 0x80 ? 1 : jw_utf8_seq(q, (size_t)(r->end - q));
            if (k <= 0) return false;
            memcpy(out + o, q, (size_t)k);
            o += (size_t)k;
            q += k;
            continue;
        }
        if (q + 1 >= r->end) return false;
        char e;
        switch (q[1]) {
        case '"': e = '"'; break;
        case '\\': e = '\\'; break;
        case '/': e = '/'; break;
        case 'b': e = '\b'; break;
        case 'f': e = '\f'; break;
        case 'n': e = '\n'; break;
        case 'r': e = '\r'; break;
        case 't': e = '\t'; break;
        default: return false; /* \u (surrogates, NUL) and the invalid ones */
        }
        out[o++] = e;
        q += 2;
    }
    return false;
}

/* The string at r->p (an opening quote): its bytes in the text when it
 * has no escape, else unescaped into r->tmp. */
static bool string(jr *r, const char **s, size_t *n)
{
    const char *start = r->p + 1;
    for (const char *q = start; q < r->end;) {
        unsigned char c = (unsigned char)*q;
        if (c == '"') {
            *s = start;
            *n = (size_t)(q - start);
            r->p = q + 1;
            return true;
        }
        if (c == '\\') return unescape(r, start, s, n);
        if (c < 0x20) return false;
        if (c < 0x80) {
            q++;
            continue;
        }
        int k = jw_utf8_seq(q, (size_t)(r->end - q));
        if (k <= 0) return false;
        q += k;
    }
    return false;
}

/* An integer of up to 18 digits (always within json_int_t); a real, a
 * longer one or a malformed one is Jansson's. */
static json_t *number(jr *r)
{
    const char *p = r->p;
    bool neg = *p == '-';
    if (neg) p++;
    const char *d = p;
    while (p < r->end && *p >= '0' && *p <= '9')
        p++;
    size_t nd = (size_t)(p - d);
    if (nd == 0 || nd > 18 || (*d == '0' && nd > 1)) return NULL;
    if (p < r->end && (*p == '.' || *p == 'e' || *p == 'E')) return NULL;
    json_int_t v = 0;
    for (; d < p; d++)
        v = v * 10 + (*d - '0');
    r->p = p;
    return json_integer(neg ? -v : v);
}

static json_t *literal(jr *r, const char *word, size_t n, json_t *v)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) return NULL;
    r->p += n;
    return v;
}

static json_t *value(jr *r);

static json_t *object(jr *r)
{
    json_t *o = json_object();
    if (!o) return NULL;
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return o;
    }
    for (;;) {
        const char *k;
        size_t kn;
        if (r->p >= r->end || *r->p != '"' || !string(r, &k, &kn)) break;
        /* A repeated key is Jansson's to refuse or replace, as the flags say. */
        if (json_object_getn(o, k, kn)) break;
        skip_ws(r);
        if (r->p >= r->end || *r->p != ':') break;
        r->p++;
        skip_ws(r);
        json_t *v = value(r);
        if (!v || json_object_setn_new_nocheck(o, k, kn, v)) break;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            skip_ws(r);
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return o;
        }
        break;
    }
    json_decref(o);
    return NULL;
}

static json_t *array(jr *r)
{
    json_t *a = json_array();
    if (!a) return NULL;
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return a;
    }
    for (;;) {
        json_t *v = value(r);
        if (!v || json_array_append_new(a, v)) break;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            skip_ws(r);
            continue;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            return a;
        }
        break;
    }
    json_decref(a);
    return NULL;
}

static json_t *value(jr *r)
{
    if (r->p >= r->end) return NULL;
    json_t *v = NULL;
    switch (*r->p) {
    case '{':
    case '[':
        if (r->depth >= JR_MAX_DEPTH) return NULL;
        r->depth++;
        v = *r->p == '{' ? object(r) : array(r);
        r->depth--;
        return v;
    case '"': {
        const char *s;
        size_t n;
        return string(r, &s, &n) ? json_stringn_nocheck(s, n) : NULL;
    }
    case 't': return literal(r, "true", 4, json_true());
    case 'f': return literal(r, "false", 5, json_false());
    case 'n': return literal(r, "null", 4, json_null());
    default: return *r->p == '-' || (*r->p >= '0' && *r->p <= '9') ? number(r) : NULL;
    }
}

json_t *jr_load(const char *text, size_t len, size_t flags, json_error_t *err)
{
    if (text && !(flags & ~(size_t)JR_FLAGS)) {
        jr r = {.p = text, .end = text + len};
        skip_ws(&r);
        json_t *v = NULL;
        if (r.p < r.end && ((flags & JSON_DECODE_ANY) || *r.p == '{' || *r.p == '[')) v = value(&r);
        skip_ws(&r);
        if (r.tmp != r.small) free(r.tmp);
        if (v && r.p == r.end) return v;
        json_decref(v);
    }
    return json_loadb(text, len, flags, err);
}
