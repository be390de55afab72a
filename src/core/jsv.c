/* jsv.c - JSON Schema 2020-12 validation with paths for people; see jsv.h.
 *
 * One recursive walk over schema and instance together. Where in the
 * instance we are is a chain of frames on the C stack (loc), turned into a
 * path only when something fails, so a valid input costs no string work.
 * Applicators that may discard a branch's failure (anyOf, oneOf, not, if,
 * contains) run the branch and then keep or drop what it recorded; a schema
 * error or an exceeded limit is fatal instead, and no applicator may turn
 * it into success (`not` of an unparsable pattern must not pass). */
#include "core/jsv.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/re.h"

#define PATH_CAP 512
#define MSG_CAP  320
#define RE_CACHE 8 /* compiled patterns kept for one validation (an array of items reuses them) */
#define EQ_DEPTH 4096 /* deep equality gives up (unequal) past this; Jansson parses 2048 levels */
#define SEG_CAP  256  /* a $ref pointer's segment */
/* Pattern steps for one whole validation: each search may take
 * RE_DEFAULT_BUDGET, and a 1 MiB array of strings must not multiply that
 * into minutes. */
#define TOTAL_STEPS (20 * (size_t)RE_DEFAULT_BUDGET)

/* ------------------------------------------------------------- locations */

typedef struct loc {
    const struct loc *up;
    const char *key; /* member name, or NULL for an array index */
    size_t klen, index;
    int depth; /* 1 for a member or item of the root */
} loc;

static int depth_of(const loc *at)
{
    return at ? at->depth : 0;
}

static loc member(const loc *up, const char *key, size_t klen)
{
    return (loc){up, key, klen, 0, depth_of(up) + 1};
}

static loc item(const loc *up, size_t i)
{
    return (loc){up, NULL, 0, i, depth_of(up) + 1};
}

/* ----------------------------------------------------------- capped text */

/* The length of s[0..len) without a UTF-8 sequence that a cut left unfinished
 * at its end: buffers go into JSON answers, and half a character is not
 * text. */
static size_t utf8_trim(const char *s, size_t len)
{
    size_t i = len;
    while (i > 0 && len - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0) return len;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return len - (i - 1) < need ? i - 1 : len;
}

typedef struct out {
    char *p;
    size_t cap, len; /* cap counts the NUL */
    bool cut;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->cut || !o->cap) {
        o->cut = true;
        return;
    }
    size_t room = o->cap - 1 - o->len;
    if (n > room) n = room, o->cut = true;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void putf(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(out *o, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k > 0) put(o, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

static void finish(out *o)
{
    if (!o->cap) return;
    if (o->cut) o->len = utf8_trim(o->p, o->len);
    o->p[o->len] = '\0';
}

static void copy_out(char *dst, size_t cap, const char *src)
{
    out o = {dst, cap, 0, false};
    puts_(&o, src);
    finish(&o);
}

/* A member name as a JSON string body: quotes, backslashes and control
 * characters escaped, everything else (UTF-8 included) as it is. */
static void put_escaped(out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '"': puts_(o, "\\\""); break;
        case '\\': puts_(o, "\\\\"); break;
        case '\b': puts_(o, "\\b"); break;
        case '\f': puts_(o, "\\f"); break;
        case '\n': puts_(o, "\\n"); break;
        case '\r': puts_(o, "\\r"); break;
        case '\t': puts_(o, "\\t"); break;
        default:
            if (ch < 0x20)
                putf(o, "\\u%04x", ch);
            else
                put(o, (const char *)&ch, 1);
        }
    }
}

static bool plain_name(const char *s, size_t n)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return false;
    }
    return true;
}

static void render_path(const loc *at, char *buf, size_t cap)
{
    const loc *seg[JSV_MAX_DEPTH + 2];
    int n = 0;
    for (const loc *l = at; l && n < (int)(sizeof seg / sizeof *seg); l = l->up)
        seg[n++] = l;
    out o = {buf, cap, 0, false};
    for (int i = n - 1; i >= 0; i--) {
        const loc *l = seg[i];
        if (!l->key) {
            putf(&o, "[%zu]", l->index);
        } else if (plain_name(l->key, l->klen)) {
            if (i != n - 1) put(&o, ".", 1);
            put(&o, l->key, l->klen);
        } else {
            put(&o, "[\"", 2);
            put_escaped(&o, l->key, l->klen);
            put(&o, "\"]", 2);
        }
    }
    finish(&o);
}

/* ---------------------------------------------------------------- context */

typedef struct failure {
    char path[PATH_CAP];
    char msg[MSG_CAP];
} failure;

/* The $refs being followed, innermost first: the same target again for the
 * same value would recurse for ever. */
typedef struct ref_frame {
    const struct ref_frame *up;
    const json_t *target, *inst;
} ref_frame;

typedef struct ctx {
    const json_t *root;
    failure f;    /* the latest failure */
    bool fatal;   /* f is a schema error or a limit */
    int calls;    /* validate() frames active */
    size_t steps; /* pattern steps left */
    const ref_frame *refs;
    struct {
        const char *pat; /* the schema's own text: its address identifies it */
        re *r;
    } cache[RE_CACHE];
    int ncache;
} ctx;

static bool failv(ctx *c, const loc *at, const char *prefix, const char *fmt, va_list ap)
{
    render_path(at, c->f.path, sizeof c->f.path);
    size_t pl = strlen(prefix);
    memcpy(c->f.msg, prefix, pl + 1);
    int k = vsnprintf(c->f.msg + pl, sizeof c->f.msg - pl, fmt, ap);
    if (k >= 0 && (size_t)k >= sizeof c->f.msg - pl) {
        size_t len = utf8_trim(c->f.msg, sizeof c->f.msg - 1);
        c->f.msg[len] = '\0';
    }
    return false;
}

static bool fail(ctx *c, const loc *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(ctx *c, const loc *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(c, at, "", fmt, ap);
    va_end(ap);
    return false;
}

/* The schema is wrong: fatal, so that no applicator hides it. */
static bool schema_error(ctx *c, const loc *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool schema_error(ctx *c, const loc *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(c, at, "schema error: ", fmt, ap);
    va_end(ap);
    c->fatal = true;
    return false;
}

/* A limit was reached: the input is neither valid nor known to be invalid. */
static bool limit(ctx *c, const loc *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool limit(ctx *c, const loc *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(c, at, "", fmt, ap);
    va_end(ap);
    c->fatal = true;
    return false;
}

static bool validate(ctx *c, const json_t *s, const json_t *in, const loc *at);

/* Runs a branch whose failure the caller may drop: 1 valid, 0 invalid, -1
 * fatal (return false at once). */
static int try_branch(ctx *c, const json_t *s, const json_t *in, const loc *at)
{
    if (validate(c, s, in, at)) return 1;
    return c->fatal ? -1 : 0;
}

/* ---------------------------------------------------------------- values */

typedef struct num {
    bool is_int;
    json_int_t i;
    double d;
} num;

static num num_of(const json_t *j)
{
    if (json_is_integer(j)) return (num){true, json_integer_value(j), 0};
    return (num){false, 0, json_real_value(j)};
}

/* i <=> d exactly: converting i to double would make 2^63-1 equal 2^63. */
static int cmp_int_real(json_int_t i, double d)
{
    if (d >= 9223372036854775808.0) return -1;
    if (d < -9223372036854775808.0) return 1;
    double t = trunc(d);
    json_int_t ti = (json_int_t)t; /* in range: |t| < 2^63 or t == -2^63 */
    if (i != ti) return i < ti ? -1 : 1;
    return d > t ? -1 : d < t ? 1 : 0;
}

static int num_cmp(num a, num b)
{
    if (a.is_int && b.is_int) return (a.i > b.i) - (a.i < b.i);
    if (a.is_int) return cmp_int_real(a.i, b.d);
    if (b.is_int) return -cmp_int_real(b.i, a.d);
    return (a.d > b.d) - (a.d < b.d);
}

static void fmt_num(const json_t *j, char *buf, size_t cap)
{
    if (json_is_integer(j)) {
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        return;
    }
    double d = json_real_value(j);
    snprintf(buf, cap, "%.15g", d);
    if (strtod(buf, NULL) != d) snprintf(buf, cap, "%.17g", d);
}

/* Equality as JSON Schema defines it: numbers by value (1 equals 1.0),
 * objects regardless of member order. */
static bool json_eq(const json_t *a, const json_t *b, int depth)
{
    if (depth > EQ_DEPTH) return false;
    if (json_is_number(a) && json_is_number(b)) return num_cmp(num_of(a), num_of(b)) == 0;
    if (json_typeof(a) != json_typeof(b)) return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b)) return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!json_eq(json_array_get(a, i), json_array_get(b, i), depth + 1)) return false;
        return true;
    case JSON_OBJECT:
        if (json_object_size(a) != json_object_size(b)) return false;
        /* Jansson's iterators take a non-const object; nothing is written. */
        for (void *it = json_object_iter((json_t *)a); it;
             it = json_object_iter_next((json_t *)a, it)) {
            const json_t *bv =
                json_object_getn(b, json_object_iter_key(it), json_object_iter_key_len(it));
            if (!bv || !json_eq(json_object_iter_value(it), bv, depth + 1)) return false;
        }
        return true;
    default: return true; /* true, false, null: the type says it all */
    }
}

/* A value for a message: strings bare, anything else as compact JSON. */
static void put_value(out *o, const json_t *v)
{
    char num[40];
    switch (json_typeof(v)) {
    case JSON_STRING: put(o, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER:
    case JSON_REAL:
        fmt_num(v, num, sizeof num);
        puts_(o, num);
        break;
    case JSON_TRUE: puts_(o, "true"); break;
    case JSON_FALSE: puts_(o, "false"); break;
    case JSON_NULL: puts_(o, "null"); break;
    default: {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        puts_(o, s ? s : "(value)");
        free(s);
    }
    }
}

/* A keyword's non-negative integer (2020-12 accepts 2.0 as 2). */
static bool get_count(const json_t *v, size_t *n)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *n = (size_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v) && json_real_value(v) >= 0 &&
        json_real_value(v) == floor(json_real_value(v))) {
        double d = json_real_value(v);
        *n = d >= (double)SIZE_MAX ? SIZE_MAX : (size_t)d;
        return true;
    }
    return false;
}

/* A count keyword of s into *n (left alone when absent); false after a
 * schema error. */
static bool count_kw(ctx *c, const json_t *s, const char *kw, size_t *n, bool *present,
                     const loc *at)
{
    const json_t *v = json_object_get(s, kw);
    *present = v != NULL;
    if (v && !get_count(v, n)) return schema_error(c, at, "%s must be a non-negative integer", kw);
    return true;
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

/* ----------------------------------------------------------------- types */

static const struct {
    const char *name, *phrase;
} types[] = {
    {"null", "null"},          {"boolean", "a boolean"}, {"object", "an object"},
    {"array", "an array"},     {"number", "a number"},   {"string", "a string"},
    {"integer", "an integer"},
};
#define NTYPES (int)(sizeof types / sizeof *types)

static int type_index(const json_t *name)
{
    if (json_is_string(name))
        for (int i = 0; i < NTYPES; i++)
            if (strcmp(json_string_value(name), types[i].name) == 0) return i;
    return -1;
}

static bool has_type(int t, const json_t *in)
{
    switch (t) {
    case 0: return json_is_null(in);
    case 1: return json_is_boolean(in);
    case 2: return json_is_object(in);
    case 3: return json_is_array(in);
    case 4: return json_is_number(in);
    case 5: return json_is_string(in);
    default:
        if (json_is_integer(in)) return true;
        if (!json_is_real(in)) return false;
        double d = json_real_value(in);
        return isfinite(d) && d == floor(d);
    }
}

/* Whether in has one of the types t names; -1 when t is malformed. */
static int type_ok(const json_t *t, const json_t *in)
{
    if (!json_is_array(t)) {
        int i = type_index(t);
        return i < 0 ? -1 : has_type(i, in);
    }
    if (json_array_size(t) == 0) return -1;
    int ok = 0;
    for (size_t k = 0; k < json_array_size(t); k++) {
        int i = type_index(json_array_get(t, k));
        if (i < 0) return -1;
        ok |= has_type(i, in);
    }
    return ok;
}

static bool check_type(ctx *c, const json_t *t, const json_t *in, const loc *at)
{
    int ok = type_ok(t, in);
    if (ok < 0) return schema_error(c, at, "type must be a type name or a non-empty array of them");
    if (ok) return true;
    if (!json_is_array(t)) return fail(c, at, "must be %s", types[type_index(t)].phrase);
    char msg[MSG_CAP];
    out o = {msg, sizeof msg, 0, false};
    puts_(&o, "must be ");
    size_t n = json_array_size(t);
    for (size_t k = 0; k < n; k++) {
        if (k) puts_(&o, k + 1 == n ? " or " : ", ");
        puts_(&o, types[type_index(json_array_get(t, k))].phrase);
    }
    finish(&o);
    return fail(c, at, "%s", msg);
}

/* --------------------------------------------------------------- numbers */

static bool check_number(ctx *c, const json_t *s, const json_t *in, const loc *at)
{
    static const struct {
        const char *kw, *op;
        int bad_a, bad_b; /* the comparisons of value against limit that fail */
    } bounds[] = {
        {"minimum", ">=", -1, -1},
        {"maximum", "<=", 1, 1},
        {"exclusiveMinimum", ">", -1, 0},
        {"exclusiveMaximum", "<", 1, 0},
    };
    num v = num_of(in);
    char lim[40];
    for (size_t i = 0; i < sizeof bounds / sizeof *bounds; i++) {
        const json_t *b = json_object_get(s, bounds[i].kw);
        if (!b) continue;
        if (!json_is_number(b)) return schema_error(c, at, "%s must be a number", bounds[i].kw);
        int r = num_cmp(v, num_of(b));
        if (r == bounds[i].bad_a || r == bounds[i].bad_b) {
            fmt_num(b, lim, sizeof lim);
            return fail(c, at, "must be %s %s", bounds[i].op, lim);
        }
    }
    const json_t *m = json_object_get(s, "multipleOf");
    if (m) {
        if (!json_is_number(m) || num_cmp(num_of(m), (num){true, 0, 0}) <= 0)
            return schema_error(c, at, "multipleOf must be a number greater than 0");
        bool ok;
        if (v.is_int && json_is_integer(m)) {
            ok = v.i % json_integer_value(m) == 0;
        } else {
            /* Decimal fractions are not exact in binary (0.07 / 0.01 is
             * 7.000000000000001), so a quotient within rounding error of an
             * integer counts as one. */
            double x = v.is_int ? (double)v.i : v.d, q = x / json_number_value(m);
            ok = isfinite(q) &&
                 fabs(q - nearbyint(q)) <= fmax(1e-9, fabs(q) * 4 * 2.2204460492503131e-16);
        }
        if (!ok) {
            fmt_num(m, lim, sizeof lim);
            return fail(c, at, "must be a multiple of %s", lim);
        }
    }
    return true;
}

/* --------------------------------------------------------------- strings */

/* A pattern of the schema compiled (kept for the rest of this validation),
 * or NULL after a fatal failure naming the keyword. */
static re *get_re(ctx *c, const loc *at, const char *pat, size_t plen, const char *kw)
{
    for (int i = 0; i < c->ncache; i++)
        if (c->cache[i].pat == pat) return c->cache[i].r;
    char err[128];
    re *r = re_compile(pat, plen, err, sizeof err);
    if (!r) {
        schema_error(c, at, "%s %s cannot be used: %s", kw, pat, err);
        return NULL;
    }
    if (c->ncache == RE_CACHE) {
        re_free(c->cache[0].r);
        memmove(c->cache, c->cache + 1, sizeof c->cache - sizeof c->cache[0]);
        c->ncache--;
    }
    c->cache[c->ncache].pat = pat;
    c->cache[c->ncache++].r = r;
    return r;
}

/* re_search's verdict: 1 match, 0 none, -1 after a fatal failure. */
static int search(ctx *c, const loc *at, const re *r, const char *pat, const char *s, size_t n)
{
    size_t budget = c->steps < RE_DEFAULT_BUDGET ? c->steps : RE_DEFAULT_BUDGET, left = budget;
    int k = re_search(r, s, n, &left);
    c->steps -= budget - left;
    if (k == RE_MATCH || k == RE_NOMATCH) return k == RE_MATCH;
    if (k == RE_NOMEM)
        limit(c, at, "out of memory checking the pattern %s", pat);
    else if (budget < RE_DEFAULT_BUDGET)
        limit(c, at, "cannot be checked: the input's patterns need over %zu steps in all",
              TOTAL_STEPS);
    else
        limit(c, at, "pattern too complex to check: %s", pat);
    return -1;
}

static bool check_string(ctx *c, const json_t *s, const json_t *in, const loc *at)
{
    const char *str = json_string_value(in);
    size_t n = json_string_length(in), min = 0, max = SIZE_MAX;
    bool has_min, has_max;
    if (!count_kw(c, s, "minLength", &min, &has_min, at)) return false;
    if (!count_kw(c, s, "maxLength", &max, &has_max, at)) return false;
    if (has_min || has_max) {
        size_t cps = 0; /* code points, as the spec counts: "é" is 1 */
        for (size_t i = 0; i < n; i++)
            cps += ((unsigned char)str[i] & 0xC0) != 0x80;
        if (cps < min) return fail(c, at, "must be at least %zu character%s", min, plural(min));
        if (cps > max) return fail(c, at, "must be at most %zu character%s", max, plural(max));
    }
    const json_t *p = json_object_get(s, "pattern");
    if (p) {
        if (!json_is_string(p)) return schema_error(c, at, "pattern must be a string");
        const char *pat = json_string_value(p);
        re *r = get_re(c, at, pat, json_string_length(p), "pattern");
        if (!r) return false;
        int k = search(c, at, r, pat, str, n);
        if (k < 0) return false;
        if (!k) return fail(c, at, "must match the pattern %s", pat);
    }
    return true;
}

/* ---------------------------------------------------------------- arrays */

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return mix(h);
}

/* A hash that agrees with json_eq: 1 and 1.0 hash alike, and an object's
 * members are summed, so their order does not count. */
static uint64_t json_hash(const json_t *v, int depth)
{
    if (depth > EQ_DEPTH) return 0;
    switch (json_typeof(v)) {
    case JSON_INTEGER: return mix((uint64_t)json_integer_value(v) ^ 0x9e3779b97f4a7c15ULL);
    case JSON_REAL: {
        double d = json_real_value(v);
        if (d == trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
            return mix((uint64_t)(json_int_t)d ^ 0x9e3779b97f4a7c15ULL);
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        return mix(bits);
    }
    case JSON_STRING: return hash_bytes(json_string_value(v), json_string_length(v));
    case JSON_ARRAY: {
        uint64_t h = 0xa;
        for (size_t i = 0; i < json_array_size(v); i++)
            h = mix(h * 31 + json_hash(json_array_get(v, i), depth + 1));
        return h;
    }
    case JSON_OBJECT: {
        uint64_t h = 0xb;
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it))
            h += mix(hash_bytes(json_object_iter_key(it), json_object_iter_key_len(it)) ^
                     json_hash(json_object_iter_value(it), depth + 1));
        return h;
    }
    case JSON_TRUE: return 1;
    case JSON_FALSE: return 2;
    default: return 3;
    }
}

typedef struct hashed {
    uint64_t h;
    size_t i;
} hashed;

static int by_hash_then_index(const void *a, const void *b)
{
    const hashed *x = a, *y = b;
    if (x->h != y->h) return x->h < y->h ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* uniqueItems by sorting hashes, not comparing all pairs: a 1 MiB body holds
 * 100,000 numbers, and n^2/2 comparisons of them would take seconds. Reports
 * the pair the pairwise scan would find first: the smallest second index. */
static bool check_unique(ctx *c, const json_t *in, const loc *at)
{
    size_t n = json_array_size(in);
    if (n < 2) return true;
    hashed *hs = malloc(n * sizeof *hs);
    if (!hs) return limit(c, at, "out of memory");
    for (size_t i = 0; i < n; i++)
        hs[i] = (hashed){json_hash(json_array_get(in, i), 0), i};
    qsort(hs, n, sizeof *hs, by_hash_then_index);
    size_t best_j = 0, best_i = SIZE_MAX;
    for (size_t g = 0, e; g < n; g = e) {
        for (e = g + 1; e < n && hs[e].h == hs[g].h; e++)
            ;
        /* Within a run, indexes ascend: the first y equal to an earlier x is
         * the run's smallest second index. */
        for (size_t y = g + 1; y < e && hs[y].i < best_i; y++) {
            size_t x = g;
            while (x < y && !json_eq(json_array_get(in, hs[x].i), json_array_get(in, hs[y].i), 0))
                x++;
            if (x < y) {
                best_j = hs[x].i, best_i = hs[y].i;
                break;
            }
        }
    }
    free(hs);
    if (best_i == SIZE_MAX) return true;
    return fail(c, at, "must not contain duplicates (items %zu and %zu are equal)", best_j, best_i);
}

static bool check_array(ctx *c, const json_t *s, const json_t *in, const loc *at)
{
    size_t n = json_array_size(in), min = 0, max = SIZE_MAX;
    bool has;
    if (!count_kw(c, s, "minItems", &min, &has, at)) return false;
    if (!count_kw(c, s, "maxItems", &max, &has, at)) return false;
    if (n < min) return fail(c, at, "must have at least %zu item%s", min, plural(min));
    if (n > max) return fail(c, at, "must have at most %zu item%s", max, plural(max));

    const json_t *prefix = json_object_get(s, "prefixItems"), *items = json_object_get(s, "items");
    if (prefix && (!json_is_array(prefix) || json_array_size(prefix) == 0))
        return schema_error(c, at, "prefixItems must be a non-empty array of schemas");
    if (items && !json_is_object(items) && !json_is_boolean(items))
        return schema_error(c, at, "items must be a schema (2020-12; tuples use prefixItems)");
    size_t np = prefix ? json_array_size(prefix) : 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *is = i < np ? json_array_get(prefix, i) : items;
        if (!is) break;
        loc l = item(at, i);
        if (!validate(c, is, json_array_get(in, i), &l)) return false;
    }

    const json_t *contains = json_object_get(s, "contains");
    if (contains) {
        size_t cmin = 1, cmax = SIZE_MAX, count = 0;
        if (!count_kw(c, s, "minContains", &cmin, &has, at)) return false;
        if (!count_kw(c, s, "maxContains", &cmax, &has, at)) return false;
        for (size_t i = 0; i < n; i++) {
            loc l = item(at, i);
            int r = try_branch(c, contains, json_array_get(in, i), &l);
            if (r < 0) return false;
            count += (size_t)r;
        }
        if (count < cmin)
            return fail(c, at, "must contain at least %zu item%s matching contains", cmin,
                        plural(cmin));
        if (count > cmax)
            return fail(c, at, "must contain at most %zu item%s matching contains", cmax,
                        plural(cmax));
    }

    const json_t *u = json_object_get(s, "uniqueItems");
    if (u && !json_is_boolean(u)) return schema_error(c, at, "uniqueItems must be a boolean");
    return !json_is_true(u) || check_unique(c, in, at);
}

/* --------------------------------------------------------------- objects */

static bool check_member(ctx *c, const json_t *s, const char *key, size_t klen, const json_t *v,
                         const loc *m)
{
    const json_t *names = json_object_get(s, "propertyNames");
    if (names) {
        json_t *name = json_stringn_nocheck(key, klen);
        if (!name) return limit(c, m, "out of memory");
        bool ok = validate(c, names, name, m);
        json_decref(name);
        if (!ok) {
            if (!c->fatal) {
                char msg[MSG_CAP];
                copy_out(msg, sizeof msg, c->f.msg);
                out o = {c->f.msg, sizeof c->f.msg, 0, false};
                puts_(&o, "member name ");
                puts_(&o, msg);
                finish(&o);
            }
            return false;
        }
    }

    bool known = false;
    const json_t *props = json_object_get(s, "properties");
    if (props && !json_is_object(props))
        return schema_error(c, m, "properties must be an object of schemas");
    const json_t *ps = props ? json_object_getn(props, key, klen) : NULL;
    if (ps) {
        known = true;
        if (!validate(c, ps, v, m)) return false;
    }

    const json_t *pp = json_object_get(s, "patternProperties");
    if (pp && !json_is_object(pp))
        return schema_error(c, m, "patternProperties must be an object of schemas");
    if (pp)
        for (void *it = json_object_iter((json_t *)pp); it;
             it = json_object_iter_next((json_t *)pp, it)) {
            const char *pat = json_object_iter_key(it);
            re *r = get_re(c, m, pat, json_object_iter_key_len(it), "patternProperties");
            if (!r) return false;
            int k = search(c, m, r, pat, key, klen);
            if (k < 0) return false;
            if (!k) continue;
            known = true;
            if (!validate(c, json_object_iter_value(it), v, m)) return false;
        }

    const json_t *ap = json_object_get(s, "additionalProperties");
    if (known || !ap) return true;
    if (json_is_false(ap)) return fail(c, m, "is not allowed (unknown member)");
    return validate(c, ap, v, m);
}

static bool check_object(ctx *c, const json_t *s, const json_t *in, const loc *at)
{
    const json_t *req = json_object_get(s, "required");
    if (req && !json_is_array(req))
        return schema_error(c, at, "required must be an array of member names");
    for (size_t i = 0; i < json_array_size(req); i++) {
        const json_t *name = json_array_get(req, i);
        if (!json_is_string(name))
            return schema_error(c, at, "required must be an array of member names");
        const char *k = json_string_value(name);
        size_t kl = json_string_length(name);
        if (!json_object_getn(in, k, kl)) {
            loc m = member(at, k, kl);
            return fail(c, &m, "is required");
        }
    }

    size_t n = json_object_size(in), min = 0, max = SIZE_MAX;
    bool has;
    if (!count_kw(c, s, "minProperties", &min, &has, at)) return false;
    if (!count_kw(c, s, "maxProperties", &max, &has, at)) return false;
    if (n < min) return fail(c, at, "must have at least %zu member%s", min, plural(min));
    if (n > max) return fail(c, at, "must have at most %zu member%s", max, plural(max));

    const json_t *dr = json_object_get(s, "dependentRequired");
    if (dr && !json_is_object(dr))
        return schema_error(c, at, "dependentRequired must be an object of arrays of names");
    if (dr)
        for (void *it = json_object_iter((json_t *)dr); it;
             it = json_object_iter_next((json_t *)dr, it)) {
            const char *k = json_object_iter_key(it);
            const json_t *list = json_object_iter_value(it);
            if (!json_is_array(list))
                return schema_error(c, at,
                                    "dependentRequired must be an object of arrays of names");
            if (!json_object_getn(in, k, json_object_iter_key_len(it))) continue;
            for (size_t i = 0; i < json_array_size(list); i++) {
                const json_t *name = json_array_get(list, i);
                if (!json_is_string(name))
                    return schema_error(c, at,
                                        "dependentRequired must be an object of arrays of names");
                if (json_object_getn(in, json_string_value(name), json_string_length(name)))
                    continue;
                loc m = member(at, json_string_value(name), json_string_length(name));
                return fail(c, &m, "is required when %s is present", k);
            }
        }

    for (void *it = json_object_iter((json_t *)in); it;
         it = json_object_iter_next((json_t *)in, it)) {
        const char *k = json_object_iter_key(it);
        size_t kl = json_object_iter_key_len(it);
        loc m = member(at, k, kl);
        if (!check_member(c, s, k, kl, json_object_iter_value(it), &m)) return false;
    }

    const json_t *ds = json_object_get(s, "dependentSchemas");
    if (ds && !json_is_object(ds))
        return schema_error(c, at, "dependentSchemas must be an object of schemas");
    if (ds)
        for (void *it = json_object_iter((json_t *)ds); it;
             it = json_object_iter_next((json_t *)ds, it))
            if (json_object_getn(in, json_object_iter_key(it), json_object_iter_key_len(it)) &&
                !validate(c, json_object_iter_value(it), in, at))
                return false;
    return true;
}

/* ----------------------------------------------------------- applicators */

static bool in_enum(const json_t *list, const json_t *in)
{
    for (size_t i = 0; i < json_array_size(list); i++)
        if (json_eq(in, json_array_get(list, i), 0)) return true;
    return false;
}

static const json_t *resolve(const json_t *root, const char *ref, size_t n);

/* Whether branch s of an anyOf/oneOf was plainly written for other values:
 * its type, const or enum rejects the value, or one of its properties pins
 * a member with const or enum that the value's member fails (a tagged
 * union's tag). Looks through $ref and allOf a few levels. Only picks which
 * failure to report; validity never depends on it. */
static bool off_target(const ctx *c, const json_t *s, const json_t *in, int hops)
{
    if (!json_is_object(s) || hops > 8) return false;
    const json_t *v;
    if ((v = json_object_get(s, "type")) && type_ok(v, in) == 0) return true;
    if ((v = json_object_get(s, "const")) && !json_eq(in, v, 0)) return true;
    if ((v = json_object_get(s, "enum")) && json_is_array(v) && !in_enum(v, in)) return true;
    if (json_is_object(in) && (v = json_object_get(s, "properties")) && json_is_object(v))
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            const json_t *ps = json_object_iter_value(it), *pin, *m;
            if (!json_is_object(ps) ||
                !(m = json_object_getn(in, json_object_iter_key(it), json_object_iter_key_len(it))))
                continue;
            if ((pin = json_object_get(ps, "const")) && !json_eq(m, pin, 0)) return true;
            if ((pin = json_object_get(ps, "enum")) && json_is_array(pin) && !in_enum(pin, m))
                return true;
        }
    if ((v = json_object_get(s, "$ref")) && json_is_string(v) &&
        off_target(c, resolve(c->root, json_string_value(v), json_string_length(v)), in, hops + 1))
        return true;
    if ((v = json_object_get(s, "allOf")))
        for (size_t i = 0; i < json_array_size(v); i++)
            if (off_target(c, json_array_get(v, i), in, hops + 1)) return true;
    return false;
}

/* anyOf (exactly_one false) and oneOf. When no branch matches, the failure
 * shown is that of the one branch meant for this value (see off_target),
 * when there is exactly one; otherwise a summary, since no branch can be
 * said to be the one the caller had in mind. */
static bool check_some_of(ctx *c, const json_t *list, const json_t *in, const loc *at,
                          bool exactly_one)
{
    const char *kw = exactly_one ? "oneOf" : "anyOf";
    if (!json_is_array(list) || json_array_size(list) == 0)
        return schema_error(c, at, "%s must be a non-empty array of schemas", kw);
    size_t matches = 0, first = 0, second = 0, meant = 0;
    failure *keep = NULL;
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *branch = json_array_get(list, i);
        int r = try_branch(c, branch, in, at);
        if (r < 0) {
            free(keep);
            return false;
        }
        if (r == 1) {
            if (!exactly_one) {
                free(keep);
                return true;
            }
            if (matches++ == 0) {
                first = i;
                continue;
            }
            second = i;
            break;
        }
        if (off_target(c, branch, in, 0)) continue;
        if (meant++ == 0 && (keep = malloc(sizeof *keep))) *keep = c->f;
    }
    if (matches == 1) {
        free(keep);
        return true;
    }
    if (matches > 1) {
        free(keep);
        return fail(c, at, "must match exactly one schema in oneOf, but matches #%zu and #%zu",
                    first, second);
    }
    if (meant == 1 && keep) {
        c->f = *keep;
        free(keep);
        return false;
    }
    free(keep);
    return fail(c, at, "must match %s of the schemas in %s",
                exactly_one ? "exactly one" : "at least one", kw);
}

static bool check_applicators(ctx *c, const json_t *s, const json_t *in, const loc *at)
{
    const json_t *all = json_object_get(s, "allOf");
    if (all) {
        if (!json_is_array(all) || json_array_size(all) == 0)
            return schema_error(c, at, "allOf must be a non-empty array of schemas");
        for (size_t i = 0; i < json_array_size(all); i++)
            if (!validate(c, json_array_get(all, i), in, at)) return false;
    }
    const json_t *any = json_object_get(s, "anyOf");
    if (any && !check_some_of(c, any, in, at, false)) return false;
    const json_t *one = json_object_get(s, "oneOf");
    if (one && !check_some_of(c, one, in, at, true)) return false;
    const json_t *neg = json_object_get(s, "not");
    if (neg) {
        int r = try_branch(c, neg, in, at);
        if (r < 0) return false;
        if (r) return fail(c, at, "must not match the schema in not");
    }
    const json_t *cond = json_object_get(s, "if");
    if (cond) {
        int r = try_branch(c, cond, in, at);
        if (r < 0) return false;
        const json_t *next = json_object_get(s, r ? "then" : "else");
        if (next && !validate(c, next, in, at)) return false;
    }
    return true;
}

/* ------------------------------------------------------------------ $ref */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* The value a same-document reference ("#", "#/$defs/money") names, or
 * NULL. The fragment is percent-decoded first, then read as a JSON pointer
 * (RFC 6901: ~1 is '/', ~0 is '~'). */
static const json_t *resolve(const json_t *root, const char *ref, size_t n)
{
    if (n == 0 || ref[0] != '#') return NULL;
    char frag[1024];
    size_t fl = 0;
    for (size_t i = 1; i < n; i++) {
        char ch = ref[i];
        if (ch == '%') {
            if (n - i < 3 || hexval(ref[i + 1]) < 0 || hexval(ref[i + 2]) < 0) return NULL;
            ch = (char)(hexval(ref[i + 1]) * 16 + hexval(ref[i + 2]));
            i += 2;
        }
        if (fl == sizeof frag) return NULL;
        frag[fl++] = ch;
    }
    if (fl == 0) return root;
    if (frag[0] != '/') return NULL; /* "#name" anchors are not supported */
    const json_t *cur = root;
    for (size_t i = 0; i < fl && cur;) {
        char seg[SEG_CAP];
        size_t sl = 0;
        for (i++; i < fl && frag[i] != '/'; i++) {
            char ch = frag[i];
            if (ch == '~') {
                if (i + 1 == fl || (frag[i + 1] != '0' && frag[i + 1] != '1')) return NULL;
                ch = frag[++i] == '0' ? '~' : '/';
            }
            if (sl == sizeof seg) return NULL;
            seg[sl++] = ch;
        }
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, seg, sl);
        } else if (json_is_array(cur)) {
            size_t idx = 0;
            if (sl == 0 || (sl > 1 && seg[0] == '0') || sl > 9) return NULL;
            for (size_t k = 0; k < sl; k++) {
                if (seg[k] < '0' || seg[k] > '9') return NULL;
                idx = idx * 10 + (size_t)(seg[k] - '0');
            }
            cur = json_array_get(cur, idx);
        } else {
            return NULL;
        }
    }
    return cur;
}

static bool check_ref(ctx *c, const json_t *ref, const json_t *in, const loc *at)
{
    if (!json_is_string(ref)) return schema_error(c, at, "$ref must be a string");
    const char *r = json_string_value(ref);
    const json_t *target = resolve(c->root, r, json_string_length(ref));
    if (!target)
        return schema_error(c, at,
                            "$ref %s cannot be resolved (only # and #/pointer are supported)", r);
    for (const ref_frame *f = c->refs; f; f = f->up)
        if (f->target == target && f->inst == in)
            return schema_error(c, at, "$ref %s loops back to itself for the same value", r);
    ref_frame frame = {c->refs, target, in};
    c->refs = &frame;
    bool ok = validate(c, target, in, at);
    c->refs = frame.up;
    return ok;
}

/* --------------------------------------------------------------- the walk */

static bool check(ctx *c, const json_t *s, const json_t *in, const loc *at)
{
    static const char *const unsupported[] = {"unevaluatedProperties", "unevaluatedItems",
                                              "$dynamicRef", "$recursiveRef"};
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
        if (json_object_get(s, unsupported[i]))
            return schema_error(c, at, "%s is not supported", unsupported[i]);

    const json_t *v = json_object_get(s, "$ref");
    if (v && !check_ref(c, v, in, at)) return false;
    if ((v = json_object_get(s, "type")) && !check_type(c, v, in, at)) return false;
    if ((v = json_object_get(s, "const")) && !json_eq(in, v, 0)) {
        char msg[MSG_CAP];
        out o = {msg, sizeof msg, 0, false};
        put_value(&o, v);
        finish(&o);
        return fail(c, at, "must equal: %s", msg);
    }
    if ((v = json_object_get(s, "enum"))) {
        if (!json_is_array(v)) return schema_error(c, at, "enum must be an array");
        bool found = false;
        for (size_t i = 0; i < json_array_size(v) && !found; i++)
            found = json_eq(in, json_array_get(v, i), 0);
        if (!found) {
            char msg[MSG_CAP];
            out o = {msg, sizeof msg, 0, false};
            for (size_t i = 0; i < json_array_size(v); i++) {
                if (i) puts_(&o, ", ");
                put_value(&o, json_array_get(v, i));
            }
            finish(&o);
            return fail(c, at, "must be one of: %s", msg);
        }
    }

    bool ok = true;
    switch (json_typeof(in)) {
    case JSON_INTEGER:
    case JSON_REAL: ok = check_number(c, s, in, at); break;
    case JSON_STRING: ok = check_string(c, s, in, at); break;
    case JSON_ARRAY: ok = check_array(c, s, in, at); break;
    case JSON_OBJECT: ok = check_object(c, s, in, at); break;
    default: break;
    }
    return ok && check_applicators(c, s, in, at);
}

static bool validate(ctx *c, const json_t *s, const json_t *in, const loc *at)
{
    if (json_is_true(s)) return true;
    if (json_is_false(s)) return fail(c, at, "is not allowed");
    if (!json_is_object(s)) return schema_error(c, at, "a schema must be an object or a boolean");
    if (depth_of(at) > JSV_MAX_DEPTH)
        return limit(c, at, "is nested too deeply (over %d levels)", JSV_MAX_DEPTH);
    if (c->calls >= JSV_MAX_CALLS)
        return limit(c, at, "cannot be checked: the schema nests over %d levels", JSV_MAX_CALLS);
    c->calls++;
    bool ok = check(c, s, in, at);
    c->calls--;
    return ok;
}

bool jsv_validate(const json_t *schema, const json_t *inst, char *path, size_t pcap, char *msg,
                  size_t mcap)
{
    assert(schema && inst);
    ctx c = {.root = schema, .steps = TOTAL_STEPS};
    bool ok = validate(&c, schema, inst, NULL);
    for (int i = 0; i < c.ncache; i++)
        re_free(c.cache[i].r);
    copy_out(path, pcap, ok ? "" : c.f.path);
    copy_out(msg, mcap, ok ? "" : c.f.msg);
    return ok;
}
