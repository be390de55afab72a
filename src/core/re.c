/* re.c - ECMA-262 patterns: a parser into a small tree, a code generator,
 * and a backtracking machine with an explicit stack and a step budget; see
 * re.h.
 *
 * Why an explicit backtrack stack rather than recursion: `.*` over a long
 * string leaves one choice point per character, and a recursive matcher
 * would spend C stack on each (a worker thread's stack is not ours to
 * exhaust). Only lookaheads recurse, and their nesting is capped by the
 * parser. */
#include "core/re.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEST  32    /* groups within groups: bounds the parser's and the matcher's recursion */
#define MAX_COUNT 10000 /* the largest n or m in {n,m} */
#define MAX_PROG  50000 /* instructions once counted repeats are unrolled */
#define MAX_CP    0x10FFFF

/* ------------------------------------------------------------------ UTF-8 */

/* The code point at s (n > 0 bytes): its length; an ill-formed byte reads as
 * one U+FFFD so that nothing is skipped or read past the end. */
static int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        goto bad;
    }
    if ((size_t)len > n) goto bad;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) goto bad;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > MAX_CP || (v >= 0xD800 && v <= 0xDFFF)) goto bad;
    *cp = v;
    return len;
bad:
    *cp = 0xFFFD;
    return 1;
}

/* ------------------------------------------------------- character sets */

typedef struct range {
    uint32_t lo, hi;
} range;

/* ECMA-262's \d, \w and \s, sorted, so that their complements are cheap. */
static const range digit_set[] = {{'0', '9'}};
static const range word_set[] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
static const range space_set[] = {
    {0x09, 0x0D},     {0x20, 0x20},     {0xA0, 0xA0},     {0x1680, 0x1680}, {0x2000, 0x200A},
    {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};

static bool is_word(uint32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= 'a' && c <= 'z');
}

/* `.` matches all but the line terminators. */
static bool is_line_term(uint32_t c)
{
    return c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029;
}

/* ------------------------------------------------------------ the tree */

enum {
    N_CHAR,   /* a: the code point */
    N_ANY,    /* . */
    N_CLASS,  /* a: first range, b: count; neg: [^...] */
    N_BOL,    /* ^ */
    N_EOL,    /* $ */
    N_WORDB,  /* \b; neg: \B */
    N_CAT,    /* child: first of a sibling list (may be empty) */
    N_ALT,    /* child: first alternative */
    N_REPEAT, /* child: operand; a: min, b: max (-1: unbounded); greedy */
    N_LOOK,   /* child: operand; neg: (?! ) */
};

typedef struct node {
    uint8_t kind;
    bool neg, greedy;
    int32_t a, b;
    int32_t child, next; /* -1: none */
} node;

typedef struct parser {
    const char *start, *p, *end;
    node *nodes;
    int nn, ncap;
    range *ranges;
    int nr, rcap;
    int depth;
    bool failed;
    char *err;
    size_t errcap;
} parser;

static int perr(parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first error, with the byte offset of `at` (the construct at
 * fault); returns -1 so that callers can `return perr(...)`. */
static int perr(parser *ps, const char *at, const char *fmt, ...)
{
    if (ps->failed) return -1;
    ps->failed = true;
    if (!ps->errcap) return -1;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(ps->err, ps->errcap, fmt, ap);
    va_end(ap);
    if (k >= 0 && (size_t)k < ps->errcap)
        snprintf(ps->err + k, ps->errcap - (size_t)k, " at offset %zu", (size_t)(at - ps->start));
    return -1;
}

static int new_node(parser *ps, int kind)
{
    if (ps->nn == ps->ncap) {
        int cap = ps->ncap ? ps->ncap * 2 : 32;
        node *n = realloc(ps->nodes, (size_t)cap * sizeof *n);
        if (!n) return perr(ps, ps->p, "out of memory");
        ps->nodes = n, ps->ncap = cap;
    }
    ps->nodes[ps->nn] = (node){.kind = (uint8_t)kind, .greedy = true, .child = -1, .next = -1};
    return ps->nn++;
}

static bool add_range(parser *ps, uint32_t lo, uint32_t hi)
{
    if (ps->nr == ps->rcap) {
        int cap = ps->rcap ? ps->rcap * 2 : 16;
        range *r = realloc(ps->ranges, (size_t)cap * sizeof *r);
        if (!r) return perr(ps, ps->p, "out of memory"), false;
        ps->ranges = r, ps->rcap = cap;
    }
    ps->ranges[ps->nr++] = (range){lo, hi};
    return true;
}

/* Appends the set of a class escape (d w s; upper case: the complement). */
static bool add_set(parser *ps, char kind)
{
    const range *set;
    size_t n;
    switch (kind | 0x20) {
    case 'd': set = digit_set, n = sizeof digit_set / sizeof *set; break;
    case 'w': set = word_set, n = sizeof word_set / sizeof *set; break;
    default: set = space_set, n = sizeof space_set / sizeof *set; break;
    }
    if (kind >= 'a') {
        for (size_t i = 0; i < n; i++)
            if (!add_range(ps, set[i].lo, set[i].hi)) return false;
        return true;
    }
    uint32_t from = 0;
    for (size_t i = 0; i < n; i++) {
        if (set[i].lo > from && !add_range(ps, from, set[i].lo - 1)) return false;
        from = set[i].hi + 1;
    }
    return add_range(ps, from, MAX_CP);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads exactly n hex digits; -1 when they are not there. */
static long hex_fixed(parser *ps, int n)
{
    if (ps->end - ps->p < n) return -1;
    long v = 0;
    for (int i = 0; i < n; i++) {
        int h = hexval(ps->p[i]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    ps->p += n;
    return v;
}

enum { ESC_ERR = -1, ESC_CHAR = 0, ESC_SET = 1 };

/* After a backslash (ps->p is past it): a code point into *cp, or a class
 * escape's letter into *set. \b and \B outside a class are the caller's. */
static int parse_escape(parser *ps, bool in_class, uint32_t *cp, char *set)
{
    const char *bs = ps->p - 1;
    if (ps->p == ps->end) return perr(ps, bs, "\\ at end of pattern");
    unsigned char c = (unsigned char)*ps->p;
    if (c >= 0x80) { /* an escaped non-ASCII character is itself */
        ps->p += utf8_decode((const unsigned char *)ps->p, (size_t)(ps->end - ps->p), cp);
        return ESC_CHAR;
    }
    ps->p++;
    switch (c) {
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 's':
    case 'S': *set = (char)c; return ESC_SET;
    case 'n': *cp = '\n'; return ESC_CHAR;
    case 't': *cp = '\t'; return ESC_CHAR;
    case 'r': *cp = '\r'; return ESC_CHAR;
    case 'f': *cp = '\f'; return ESC_CHAR;
    case 'v': *cp = '\v'; return ESC_CHAR;
    case 'b':
        if (!in_class) break;
        *cp = '\b';
        return ESC_CHAR;
    case '0':
        if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            return perr(ps, bs, "octal escapes are not supported");
        *cp = 0;
        return ESC_CHAR;
    case 'x': {
        long v = hex_fixed(ps, 2);
        if (v < 0) return perr(ps, bs, "\\x needs two hex digits");
        *cp = (uint32_t)v;
        return ESC_CHAR;
    }
    case 'u': {
        long v;
        if (ps->p < ps->end && *ps->p == '{') {
            const char *q = ++ps->p;
            v = 0;
            while (ps->p < ps->end && hexval(*ps->p) >= 0 && v <= MAX_CP)
                v = v * 16 + hexval(*ps->p++);
            if (ps->p == q || ps->p == ps->end || *ps->p != '}' || v > MAX_CP)
                return perr(ps, bs, "bad \\u{...} escape");
            ps->p++;
        } else {
            v = hex_fixed(ps, 4);
            if (v < 0) return perr(ps, bs, "\\u needs four hex digits");
            /* A UTF-16 pair written as two escapes is one code point. */
            if (v >= 0xD800 && v <= 0xDBFF && ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
                ps->p[1] == 'u') {
                const char *save = ps->p;
                ps->p += 2;
                long lo = hex_fixed(ps, 4);
                if (lo >= 0xDC00 && lo <= 0xDFFF)
                    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                else
                    ps->p = save;
            }
        }
        *cp = (uint32_t)v;
        return ESC_CHAR;
    }
    case 'c':
        if (ps->p < ps->end && ((*ps->p | 0x20) >= 'a' && (*ps->p | 0x20) <= 'z')) {
            *cp = (uint32_t)(*ps->p++ % 32);
            return ESC_CHAR;
        }
        return perr(ps, bs, "\\c needs a letter");
    case 'p':
    case 'P': return perr(ps, bs, "Unicode property escapes are not supported");
    case 'k': return perr(ps, bs, "named backreferences are not supported");
    default: break;
    }
    if (c >= '1' && c <= '9') return perr(ps, bs, "backreferences are not supported");
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return perr(ps, bs, "unknown escape \\%c", c);
    *cp = c; /* escaped punctuation (\. \/ \- \$ ...) is itself */
    return ESC_CHAR;
}

/* One class member: a code point (ESC_CHAR) or a set (ESC_SET). */
static int class_atom(parser *ps, uint32_t *cp, char *set)
{
    if (*ps->p == '\\') {
        ps->p++;
        if (ps->p < ps->end && *ps->p == 'B') return perr(ps, ps->p - 1, "\\B inside a class");
        return parse_escape(ps, true, cp, set);
    }
    ps->p += utf8_decode((const unsigned char *)ps->p, (size_t)(ps->end - ps->p), cp);
    return ESC_CHAR;
}

/* [...] with ps->p past the '['. A '-' next to a class escape ([\w-.]) is a
 * literal, as Annex B reads it. */
static int parse_class(parser *ps)
{
    int n = new_node(ps, N_CLASS);
    if (n < 0) return -1;
    if (ps->p < ps->end && *ps->p == '^') ps->nodes[n].neg = true, ps->p++;
    int first = ps->nr;
    for (;;) {
        if (ps->p == ps->end) return perr(ps, ps->p, "missing ]");
        if (*ps->p == ']') {
            ps->p++;
            break;
        }
        uint32_t lo, hi;
        char set = 0, set2 = 0;
        const char *r0 = ps->p;
        int k = class_atom(ps, &lo, &set);
        if (k < 0) return -1;
        bool dash = ps->end - ps->p >= 2 && ps->p[0] == '-' && ps->p[1] != ']';
        if (!dash) {
            if (!(k == ESC_SET ? add_set(ps, set) : add_range(ps, lo, lo))) return -1;
            continue;
        }
        if (k == ESC_SET) { /* the '-' is read as a literal on the next turn */
            if (!add_set(ps, set)) return -1;
            continue;
        }
        ps->p++;
        int k2 = class_atom(ps, &hi, &set2);
        if (k2 < 0) return -1;
        if (k2 == ESC_SET) {
            if (!add_range(ps, lo, lo) || !add_range(ps, '-', '-') || !add_set(ps, set2)) return -1;
            continue;
        }
        if (lo > hi) return perr(ps, r0, "range out of order in character class");
        if (!add_range(ps, lo, hi)) return -1;
    }
    ps->nodes[n].a = first;
    ps->nodes[n].b = ps->nr - first;
    return n;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* At '{': 1 with the bounds when a quantifier {n} {n,} {n,m} follows (and
 * then ps->p is past it), 0 when the '{' is a literal, -1 on error. */
static int parse_braces(parser *ps, int32_t *min, int32_t *max)
{
    const char *q = ps->p + 1;
    long a = 0, b;
    if (q == ps->end || !is_digit(*q)) return 0;
    while (q < ps->end && is_digit(*q))
        if ((a = a * 10 + (*q++ - '0')) > MAX_COUNT) a = MAX_COUNT + 1;
    b = a;
    if (q < ps->end && *q == ',') {
        q++;
        b = -1;
        if (q < ps->end && is_digit(*q))
            for (b = 0; q < ps->end && is_digit(*q);)
                if ((b = b * 10 + (*q++ - '0')) > MAX_COUNT) b = MAX_COUNT + 1;
    }
    if (q == ps->end || *q != '}') return 0;
    if (a > MAX_COUNT || b > MAX_COUNT) return perr(ps, ps->p, "repeat count over %d", MAX_COUNT);
    if (b >= 0 && a > b) return perr(ps, ps->p, "numbers out of order in {} quantifier");
    ps->p = q + 1;
    *min = (int32_t)a, *max = (int32_t)b;
    return 1;
}

static int parse_alt(parser *ps);

/* One term: an assertion, or an atom with its quantifier. */
static int parse_term(parser *ps)
{
    int n;
    bool assertion = false;
    const char *t0 = ps->p;
    char c = *ps->p;
    int32_t min, max;
    switch (c) {
    case '^':
    case '$':
        ps->p++;
        n = new_node(ps, c == '^' ? N_BOL : N_EOL);
        assertion = true;
        break;
    case '.':
        ps->p++;
        n = new_node(ps, N_ANY);
        break;
    case '[':
        ps->p++;
        n = parse_class(ps);
        break;
    case '*':
    case '+':
    case '?': return perr(ps, ps->p, "nothing to repeat");
    case '(': {
        if (++ps->depth > MAX_NEST) return perr(ps, ps->p, "groups nested over %d deep", MAX_NEST);
        ps->p++;
        int look = 0; /* 1: (?= ), 2: (?! ) */
        if (ps->p < ps->end && *ps->p == '?') {
            const char *q = ps->p + 1;
            if (q < ps->end && *q == ':') {
                ps->p = q + 1;
            } else if (q < ps->end && (*q == '=' || *q == '!')) {
                look = *q == '=' ? 1 : 2;
                ps->p = q + 1;
            } else if (q + 1 < ps->end && *q == '<' && (q[1] == '=' || q[1] == '!')) {
                return perr(ps, ps->p - 1, "lookbehind is not supported");
            } else if (q < ps->end && *q == '<') { /* a named group; we capture nothing */
                const char *s = ++q;
                while (q < ps->end && (is_word((unsigned char)*q) || *q == '$'))
                    q++;
                if (q == s || q == ps->end || *q != '>' || is_digit(*s))
                    return perr(ps, ps->p - 1, "bad group name");
                ps->p = q + 1;
            } else {
                return perr(ps, ps->p - 1, "unknown group (?%c", q < ps->end ? *q : ' ');
            }
        }
        int inner = parse_alt(ps);
        if (inner < 0) return -1;
        if (ps->p == ps->end || *ps->p != ')') return perr(ps, ps->p, "missing )");
        ps->p++;
        ps->depth--;
        if (look) {
            n = new_node(ps, N_LOOK);
            if (n >= 0) ps->nodes[n].child = inner, ps->nodes[n].neg = look == 2;
        } else {
            n = inner;
        }
        break;
    }
    case '\\':
        if (ps->p + 1 < ps->end && (ps->p[1] == 'b' || ps->p[1] == 'B')) {
            n = new_node(ps, N_WORDB);
            if (n >= 0) ps->nodes[n].neg = ps->p[1] == 'B';
            ps->p += 2;
            assertion = true;
            break;
        } else {
            uint32_t cp;
            char set;
            ps->p++;
            int k = parse_escape(ps, false, &cp, &set);
            if (k < 0) return -1;
            if (k == ESC_SET) {
                n = new_node(ps, N_CLASS);
                if (n < 0) return -1;
                ps->nodes[n].a = ps->nr;
                /* Outside a class, \D is \d negated: no complement needed. */
                ps->nodes[n].neg = set < 'a';
                if (!add_set(ps, (char)(set | 0x20))) return -1;
                ps->nodes[n].b = ps->nr - ps->nodes[n].a;
            } else {
                n = new_node(ps, N_CHAR);
                if (n >= 0) ps->nodes[n].a = (int32_t)cp;
            }
        }
        break;
    case '{': /* a literal unless a quantifier follows, and then there is nothing to repeat */
        if (parse_braces(ps, &min, &max) != 0)
            return ps->failed ? -1 : perr(ps, t0, "nothing to repeat");
        /* fall through */
    default: {
        uint32_t cp;
        ps->p += utf8_decode((const unsigned char *)ps->p, (size_t)(ps->end - ps->p), &cp);
        n = new_node(ps, N_CHAR);
        if (n >= 0) ps->nodes[n].a = (int32_t)cp;
        break;
    }
    }
    if (n < 0 || ps->p == ps->end) return n;

    const char *q0 = ps->p;
    c = *ps->p;
    if (c == '*') {
        min = 0, max = -1;
        ps->p++;
    } else if (c == '+') {
        min = 1, max = -1;
        ps->p++;
    } else if (c == '?') {
        min = 0, max = 1;
        ps->p++;
    } else if (c == '{') {
        int k = parse_braces(ps, &min, &max);
        if (k <= 0) return k < 0 ? -1 : n;
    } else {
        return n;
    }
    if (assertion) return perr(ps, q0, "nothing to repeat");
    int r = new_node(ps, N_REPEAT);
    if (r < 0) return -1;
    ps->nodes[r].child = n, ps->nodes[r].a = min, ps->nodes[r].b = max;
    if (ps->p < ps->end && *ps->p == '?') ps->nodes[r].greedy = false, ps->p++;
    return r;
}

static int parse_cat(parser *ps)
{
    int cat = new_node(ps, N_CAT), last = -1;
    if (cat < 0) return -1;
    while (ps->p < ps->end && *ps->p != '|' && *ps->p != ')') {
        int t = parse_term(ps);
        if (t < 0) return -1;
        if (last < 0)
            ps->nodes[cat].child = t;
        else
            ps->nodes[last].next = t;
        last = t;
    }
    return cat;
}

static int parse_alt(parser *ps)
{
    int first = parse_cat(ps);
    if (first < 0 || ps->p == ps->end || *ps->p != '|') return first;
    int alt = new_node(ps, N_ALT), last = first;
    if (alt < 0) return -1;
    ps->nodes[alt].child = first;
    while (ps->p < ps->end && *ps->p == '|') {
        ps->p++;
        int c = parse_cat(ps);
        if (c < 0) return -1;
        ps->nodes[last].next = c;
        last = c;
    }
    return alt;
}

/* ---------------------------------------------------------- the program */

enum {
    I_CHAR,     /* x: code point */
    I_ANY,      /* anything but a line terminator */
    I_CLASS,    /* x: first range, y: count */
    I_NCLASS,   /* as I_CLASS, negated */
    I_BOL,      /* at the start */
    I_EOL,      /* at the end */
    I_WORDB,    /* \b */
    I_NWORDB,   /* \B */
    I_SPLIT,    /* go on at x; on failure, at y */
    I_JMP,      /* go on at x */
    I_MARK,     /* register x = position (undone on backtracking) */
    I_PROGRESS, /* fail unless position != register x: an empty loop turn ends the loop */
    I_LOOK,     /* (?= ): the body follows, up to I_LOOKEND; x: after it */
    I_NLOOK,    /* (?! ) */
    I_LOOKEND,
    I_MATCH,
};

typedef struct inst {
    uint8_t op;
    int32_t x, y;
} inst;

struct re {
    inst *prog;
    int nprog;
    range *ranges;
    int nregs;
    bool anchored; /* starts with ^: only position 0 can match */
};

typedef struct cgen {
    parser *ps;
    re *r;
    int cap;
} cgen;

static int add(cgen *g, int op, int32_t x, int32_t y)
{
    if (g->ps->failed) return -1;
    if (g->r->nprog == MAX_PROG)
        return perr(g->ps, g->ps->p, "pattern too large once repeats are expanded");
    if (g->r->nprog == g->cap) {
        int cap = g->cap ? g->cap * 2 : 64;
        inst *p = realloc(g->r->prog, (size_t)cap * sizeof *p);
        if (!p) return perr(g->ps, g->ps->p, "out of memory");
        g->r->prog = p, g->cap = cap;
    }
    g->r->prog[g->r->nprog] = (inst){(uint8_t)op, x, y};
    return g->r->nprog++;
}

static bool nullable(const parser *ps, int n)
{
    const node *d = &ps->nodes[n];
    switch (d->kind) {
    case N_CHAR:
    case N_ANY:
    case N_CLASS: return false;
    case N_CAT:
        for (int c = d->child; c >= 0; c = ps->nodes[c].next)
            if (!nullable(ps, c)) return false;
        return true;
    case N_ALT:
        for (int c = d->child; c >= 0; c = ps->nodes[c].next)
            if (nullable(ps, c)) return true;
        return false;
    case N_REPEAT: return d->a == 0 || nullable(ps, d->child);
    default: return true; /* assertions */
    }
}

/* Points a SPLIT at its preferred (body) and other (exit) targets. */
static void aim(cgen *g, int split, int32_t body, int32_t exit, bool greedy)
{
    g->r->prog[split].x = greedy ? body : exit;
    g->r->prog[split].y = greedy ? exit : body;
}

static void emit(cgen *g, int n)
{
    if (g->ps->failed) return;
    const node d = g->ps->nodes[n];
    switch (d.kind) {
    case N_CHAR: add(g, I_CHAR, d.a, 0); break;
    case N_ANY: add(g, I_ANY, 0, 0); break;
    case N_CLASS: add(g, d.neg ? I_NCLASS : I_CLASS, d.a, d.b); break;
    case N_BOL: add(g, I_BOL, 0, 0); break;
    case N_EOL: add(g, I_EOL, 0, 0); break;
    case N_WORDB: add(g, d.neg ? I_NWORDB : I_WORDB, 0, 0); break;
    case N_CAT:
        for (int c = d.child; c >= 0; c = g->ps->nodes[c].next)
            emit(g, c);
        break;
    case N_ALT: {
        /* Each alternative but the last: SPLIT next, other; body; JMP end. */
        int jumps = -1; /* chained through the JMPs' x until patched */
        for (int c = d.child; c >= 0; c = g->ps->nodes[c].next) {
            if (g->ps->nodes[c].next < 0) {
                emit(g, c);
                break;
            }
            int s = add(g, I_SPLIT, 0, 0);
            emit(g, c);
            int j = add(g, I_JMP, jumps, 0);
            if (s < 0 || j < 0) return;
            jumps = j;
            aim(g, s, s + 1, g->r->nprog, true);
        }
        while (jumps >= 0 && !g->ps->failed) {
            int next = g->r->prog[jumps].x;
            g->r->prog[jumps].x = g->r->nprog;
            jumps = next;
        }
        break;
    }
    case N_LOOK: {
        int l = add(g, d.neg ? I_NLOOK : I_LOOK, 0, 0);
        emit(g, d.child);
        add(g, I_LOOKEND, 0, 0);
        if (l >= 0 && !g->ps->failed) g->r->prog[l].x = g->r->nprog;
        break;
    }
    case N_REPEAT:
        for (int i = 0; i < d.a && !g->ps->failed; i++)
            emit(g, d.child);
        if (d.b < 0) {
            /* L: SPLIT body, out; [MARK r]; body; [PROGRESS r]; JMP L. The
             * register only for a body that can match empty: such a turn
             * would loop for ever, and ECMA-262 ends the loop there. */
            int reg = nullable(g->ps, d.child) ? g->r->nregs++ : -1;
            int s = add(g, I_SPLIT, 0, 0);
            if (reg >= 0) add(g, I_MARK, reg, 0);
            emit(g, d.child);
            if (reg >= 0) add(g, I_PROGRESS, reg, 0);
            add(g, I_JMP, s, 0);
            if (s >= 0 && !g->ps->failed) aim(g, s, s + 1, g->r->nprog, d.greedy);
        } else {
            /* (body(body(body)?)?)?: every SPLIT leaves for the end, so an
             * optional turn not taken skips the rest too. */
            int splits = -1; /* chained through their x until aimed */
            for (int i = d.a; i < d.b && !g->ps->failed; i++) {
                splits = add(g, I_SPLIT, splits, 0);
                emit(g, d.child);
            }
            while (splits >= 0 && !g->ps->failed) {
                int next = g->r->prog[splits].x;
                aim(g, splits, splits + 1, g->r->nprog, d.greedy);
                splits = next;
            }
        }
        break;
    }
}

re *re_compile(const char *pat, size_t len, char *err, size_t errcap)
{
    if (errcap) err[0] = '\0';
    parser ps = {.start = pat, .p = pat, .end = pat + len, .err = err, .errcap = errcap};
    re *r = calloc(1, sizeof *r);
    if (!r) {
        perr(&ps, ps.p, "out of memory");
        return NULL;
    }
    int root = parse_alt(&ps);
    if (root >= 0 && ps.p != ps.end) perr(&ps, ps.p, "unmatched )");
    if (!ps.failed) {
        cgen g = {&ps, r, 0};
        emit(&g, root);
        add(&g, I_MATCH, 0, 0);
    }
    free(ps.nodes);
    r->ranges = ps.ranges;
    if (ps.failed) {
        re_free(r);
        return NULL;
    }
    r->anchored = r->prog[0].op == I_BOL;
    return r;
}

void re_free(re *r)
{
    if (!r) return;
    free(r->prog);
    free(r->ranges);
    free(r);
}

/* ---------------------------------------------------------- the machine */

/* A choice point (pc >= 0: resume there at sp) or an undo record (pc < 0:
 * register -pc-1 had the value sp). */
typedef struct choice {
    int32_t pc;
    uint32_t sp;
} choice;

typedef struct vm {
    const re *r;
    const uint32_t *s;
    uint32_t n;
    uint32_t *regs;
    choice *stk;
    size_t len, cap;
    size_t steps; /* left */
} vm;

static bool push(vm *m, int32_t pc, uint32_t sp)
{
    if (m->len == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        choice *c = realloc(m->stk, cap * sizeof *c);
        if (!c) return false;
        m->stk = c, m->cap = cap;
    }
    m->stk[m->len++] = (choice){pc, sp};
    return true;
}

static bool in_class(const re *r, const inst *in, uint32_t c)
{
    for (int32_t i = in->x; i < in->x + in->y; i++)
        if (c >= r->ranges[i].lo && c <= r->ranges[i].hi) return true;
    return false;
}

/* Runs from pc at sp until I_MATCH or I_LOOKEND, backtracking only through
 * choices it pushed itself. A lookahead's body runs in a nested call and its
 * choices are dropped when it ends: ECMA-262 never backtracks into one. */
static int run(vm *m, int32_t pc, uint32_t sp)
{
    const size_t base = m->len;
    for (;;) {
        if (m->steps == 0) return RE_TOO_COMPLEX;
        m->steps--;
        const inst *in = &m->r->prog[pc];
        bool ok = true;
        switch (in->op) {
        case I_CHAR:
            ok = sp < m->n && m->s[sp] == (uint32_t)in->x;
            sp += ok, pc++;
            break;
        case I_ANY:
            ok = sp < m->n && !is_line_term(m->s[sp]);
            sp += ok, pc++;
            break;
        case I_CLASS:
        case I_NCLASS:
            ok = sp < m->n && in_class(m->r, in, m->s[sp]) == (in->op == I_CLASS);
            sp += ok, pc++;
            break;
        case I_BOL: ok = sp == 0, pc++; break;
        case I_EOL: ok = sp == m->n, pc++; break;
        case I_WORDB:
        case I_NWORDB: {
            bool before = sp > 0 && is_word(m->s[sp - 1]), after = sp < m->n && is_word(m->s[sp]);
            ok = (before != after) == (in->op == I_WORDB), pc++;
            break;
        }
        case I_SPLIT:
            if (!push(m, in->y, sp)) return RE_NOMEM;
            pc = in->x;
            break;
        case I_JMP: pc = in->x; break;
        case I_MARK:
            if (!push(m, -1 - in->x, m->regs[in->x])) return RE_NOMEM;
            m->regs[in->x] = sp, pc++;
            break;
        case I_PROGRESS: ok = m->regs[in->x] != sp, pc++; break;
        case I_LOOK:
        case I_NLOOK: {
            size_t save = m->len;
            int res = run(m, pc + 1, sp);
            m->len = save;
            if (res < 0) return res;
            ok = (res == RE_MATCH) == (in->op == I_LOOK), pc = in->x;
            break;
        }
        default: return RE_MATCH; /* I_MATCH, I_LOOKEND */
        }
        while (!ok) {
            if (m->len == base) return RE_NOMATCH;
            choice c = m->stk[--m->len];
            if (c.pc >= 0)
                pc = c.pc, sp = c.sp, ok = true;
            else
                m->regs[-1 - c.pc] = c.sp;
        }
    }
}

int re_search(const re *r, const char *s, size_t n, size_t *steps)
{
    if (n >= INT32_MAX) return RE_TOO_COMPLEX;
    uint32_t *cps = malloc((n ? n : 1) * sizeof *cps);
    uint32_t *regs = calloc(r->nregs ? (size_t)r->nregs : 1, sizeof *regs);
    if (!cps || !regs) {
        free(cps), free(regs);
        return RE_NOMEM;
    }
    uint32_t ncp = 0;
    for (size_t i = 0; i < n; ncp++)
        i += (size_t)utf8_decode((const unsigned char *)s + i, n - i, &cps[ncp]);
    vm m = {.r = r, .s = cps, .n = ncp, .regs = regs, .steps = *steps};
    int res = RE_NOMATCH;
    for (uint32_t start = 0; start <= ncp; start++) {
        m.len = 0;
        res = run(&m, 0, start);
        if (res != RE_NOMATCH || r->anchored) break;
    }
    *steps = m.steps;
    free(m.stk);
    free(regs);
    free(cps);
    return res;
}
