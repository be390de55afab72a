/* test_core.c - src/core: arena, buf, jw, ids/tokens/hashes, timeutil.
 *
 * Each module's contract as its header states it, with the edge cases that
 * bite in practice: alignment and huge allocations, the buffer cap, JSON
 * commas and escaping, jr_load answering as json_loadb, id ordering within
 * a millisecond, RFC 3339 rejects. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/ids.h"
#include "core/jr.h"
#include "core/jw.h"
#include "core/rank.h"
#include "core/timeutil.h"
#include "core/tz.h"
#include "test.h"

/* ------------------------------------------------------------------ arena */

TEST(arena_alignment_and_zalloc)
{
    arena a;
    arena_init(&a);
    static const size_t sizes[] = {1, 3, 7, 15, 16, 17, 31, 33, 100, 4095, 1, 0, 2};
    unsigned char *prev = NULL;
    size_t prev_size = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = arena_alloc(&a, sizes[i]);
        CHECK(p != NULL);
        CHECK_EQ_INT((uintptr_t)p % 16, 0);
        if (sizes[i]) memset(p, 0xab, sizes[i]); /* ASan: the whole size is ours */
        /* No overlap with the previous block (a zero-size one may share). */
        if (prev && prev_size) CHECK(p >= prev + prev_size || p + sizes[i] <= prev);
        prev = p;
        prev_size = sizes[i];
    }
    unsigned char *z = arena_zalloc(&a, 300);
    CHECK_EQ_INT((uintptr_t)z % 16, 0);
    bool zero = true;
    for (int i = 0; i < 300; i++)
        zero = zero && z[i] == 0;
    CHECK(zero);
    arena_release(&a);
    CHECK(a.head == NULL);
}

TEST(arena_big_allocations)
{
    arena a;
    arena_init(&a);
    char *small = arena_strdup(&a, "before");
    size_t big = 3u << 20; /* far past one chunk */
    unsigned char *p = arena_alloc(&a, big);
    CHECK_EQ_INT((uintptr_t)p % 16, 0);
    memset(p, 0x5a, big);
    CHECK_EQ_INT(p[0], 0x5a);
    CHECK_EQ_INT(p[big - 1], 0x5a);
    /* Allocations after a big one come from a usable chunk, and earlier
     * ones are untouched. */
    char *after = arena_strdup(&a, "after");
    CHECK_STR(small, "before");
    CHECK_STR(after, "after");
    /* Many chunks: 10,000 small strings all stay intact. */
    char **v = arena_alloc(&a, sizeof(char *) * 10000);
    for (int i = 0; i < 10000; i++)
        v[i] = arena_printf(&a, "item-%d", i);
    bool ok = true;
    char want[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(want, sizeof want, "item-%d", i);
        ok = ok && strcmp(v[i], want) == 0;
    }
    CHECK(ok);
    arena_release(&a);
    /* Reusable after release. */
    CHECK_STR(arena_strdup(&a, "again"), "again");
    arena_release(&a);
}

TEST(arena_strdup_printf)
{
    arena a;
    arena_init(&a);
    CHECK_STR(arena_strdup(&a, ""), "");
    CHECK_STR(arena_strdup(&a, "héllo"), "héllo");
    CHECK_STR(arena_strndup(&a, "abcdef", 3), "abc");
    char with_nul[] = {'a', 0, 'b'};
    char *d = arena_strndup(&a, with_nul, 3);
    CHECK(memcmp(d, with_nul, 3) == 0 && d[3] == 0);
    CHECK_STR(arena_printf(&a, "%s-%d-%05.1f", "x", -42, 3.14159), "x--42-003.1");
    CHECK_STR(arena_printf(&a, "%s", ""), "");
    /* Longer than a chunk. */
    char *long_s = arena_printf(&a, "%*s|", 20000, "z");
    CHECK_EQ_INT(strlen(long_s), 20001);
    CHECK_EQ_INT(long_s[19999], 'z');
    CHECK_EQ_INT(long_s[20000], '|');
    CHECK_EQ_INT(long_s[0], ' ');
    arena_release(&a);
}

/* -------------------------------------------------------------------- buf */

TEST(buf_cstr_empty_and_basic)
{
    buf b;
    buf_init(&b, 1024);
    const char *s = buf_cstr(&b);
    CHECK(s != NULL);
    CHECK_STR(s, "");
    CHECK_EQ_INT(b.len, 0);
    buf_puts(&b, "abc");
    buf_putc(&b, 'd');
    buf_append(&b, "efgh", 2);
    CHECK_EQ_INT(b.len, 6);
    CHECK_STR(buf_cstr(&b), "abcdef");
    CHECK_EQ_INT(b.len, 6);   /* the NUL is not counted */
    buf_append(&b, "\0x", 2); /* binary-safe */
    CHECK_EQ_INT(b.len, 8);
    CHECK(memcmp(b.data, "abcdef\0x", 8) == 0);
    buf_reset(&b);
    CHECK_EQ_INT(b.len, 0);
    CHECK_STR(buf_cstr(&b), "");
    buf_free(&b);
    CHECK(b.data == NULL);
    CHECK_EQ_INT(b.limit, 1024);
    /* Usable again after free. */
    buf_puts(&b, "again");
    CHECK_STR(buf_cstr(&b), "again");
    buf_free(&b);
}

TEST(buf_cap_and_overflow)
{
    buf b;
    buf_init(&b, 16); /* room for 15 bytes plus the NUL */
    buf_puts(&b, "0123456789abcde");
    CHECK_EQ_INT(b.len, 15);
    CHECK(!b.overflow);
    CHECK(b.cap <= 16);
    buf_putc(&b, 'X');
    CHECK(b.overflow);
    CHECK_EQ_INT(b.len, 15);
    /* Once overflowed, later appends are dropped even if they would fit. */
    buf_reset(&b);
    buf_puts(&b, "0123456789");
    buf_puts(&b, "0123456789"); /* does not fit: dropped whole, not truncated */
    CHECK(b.overflow);
    CHECK_EQ_INT(b.len, 10);
    buf_puts(&b, "a");
    CHECK_EQ_INT(b.len, 10);
    CHECK_STR(buf_cstr(&b), "0123456789");
    buf_printf(&b, "%d", 7);
    CHECK_EQ_INT(b.len, 10);
    /* Reset clears the overflow flag. */
    buf_reset(&b);
    CHECK(!b.overflow);
    buf_printf(&b, "%s", "ok");
    CHECK_STR(buf_cstr(&b), "ok");
    CHECK(b.cap <= b.limit);
    buf_free(&b);

    /* A zero cap takes nothing but still yields a C string. */
    buf_init(&b, 0);
    buf_putc(&b, 'a');
    CHECK(b.overflow);
    CHECK_STR(buf_cstr(&b), "");
    buf_free(&b);
}

TEST(buf_printf_growth)
{
    buf b;
    buf_init(&b, 1 << 20);
    /* Short, then longer than printf's 256-byte stack scratch. */
    buf_printf(&b, "%s=%d;", "n", 1);
    char big[3000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = 0;
    buf_printf(&b, "[%s]", big);
    CHECK(!b.overflow);
    CHECK_EQ_INT(b.len, 4 + 2 + 2999);
    const char *s = buf_cstr(&b);
    CHECK(strncmp(s, "n=1;[qqq", 8) == 0);
    CHECK_EQ_INT(s[b.len - 1], ']');
    CHECK_EQ_INT(s[b.len - 2], 'q');
    /* Exactly 255 and 256 characters, the scratch boundary. */
    buf_reset(&b);
    buf_printf(&b, "%.*s", 255, big);
    CHECK_EQ_INT(b.len, 255);
    buf_printf(&b, "%.*s", 256, big);
    CHECK_EQ_INT(b.len, 511);
    CHECK_EQ_INT(strlen(buf_cstr(&b)), 511);
    /* Many appends grow the storage geometrically and keep every byte. */
    buf_reset(&b);
    for (int i = 0; i < 10000; i++)
        buf_printf(&b, "%d,", i % 10);
    CHECK_EQ_INT(b.len, 20000);
    s = buf_cstr(&b);
    CHECK(strncmp(s, "0,1,2,", 6) == 0);
    CHECK(strcmp(s + 19996, "8,9,") == 0);
    buf_free(&b);

    /* A long printf past the cap overflows and appends nothing. */
    buf_init(&b, 1000);
    buf_puts(&b, "head");
    buf_printf(&b, "%s", big);
    CHECK(b.overflow);
    CHECK_STR(buf_cstr(&b), "head");
    buf_free(&b);
}

/* --------------------------------------------------------------------- jw */

/* Runs a writer script and returns the JSON it wrote (static storage). */
static const char *jw_out(void (*script)(jw *))
{
    static char out[4096];
    buf b;
    buf_init(&b, 1 << 16);
    jw w;
    jw_init(&w, &b);
    script(&w);
    snprintf(out, sizeof out, "%s", buf_cstr(&b));
    buf_free(&b);
    return out;
}

static void js_empty(jw *w)
{
    jw_obj_open(w);
    jw_key(w, "o");
    jw_obj_open(w);
    jw_obj_close(w);
    jw_key(w, "a");
    jw_arr_open(w);
    jw_arr_close(w);
    jw_obj_close(w);
}

static void js_nested(jw *w)
{
    jw_obj_open(w);
    jw_kstr(w, "a", "x");
    jw_key(w, "b");
    jw_obj_open(w);
    jw_kint(w, "c", 1);
    jw_key(w, "d");
    jw_arr_open(w);
    jw_int(w, 1);
    jw_obj_open(w);
    jw_kbool(w, "e", true);
    jw_kstr(w, "f", NULL);
    jw_obj_close(w);
    jw_arr_open(w);
    jw_arr_close(w);
    jw_str(w, "s");
    jw_arr_close(w);
    jw_obj_close(w);
    jw_kbool(w, "g", false);
    jw_key(w, "h");
    jw_null(w);
    jw_key(w, "raw");
    jw_raw(w, "{\"k\":[1,2]}", 11);
    jw_key(w, "i");
    jw_arr_open(w);
    jw_arr_open(w);
    jw_int(w, 1);
    jw_arr_close(w);
    jw_arr_open(w);
    jw_int(w, 2);
    jw_arr_close(w);
    jw_arr_close(w);
    jw_obj_close(w);
}

static void js_top_array(jw *w)
{
    jw_arr_open(w);
    for (int i = 0; i < 3; i++) {
        jw_obj_open(w);
        jw_kint(w, "i", i);
        jw_obj_close(w);
    }
    jw_null(w);
    jw_bool(w, true);
    jw_raw(w, "{}", 2);
    jw_strn(w, "abcdef", 3);
    jw_arr_close(w);
}

static void js_ints(jw *w)
{
    jw_arr_open(w);
    jw_int(w, 0);
    jw_int(w, -1);
    jw_int(w, INT64_MAX);
    jw_int(w, INT64_MIN);
    jw_int(w, 1234567890123);
    jw_arr_close(w);
}

static void js_escapes(jw *w)
{
    jw_obj_open(w);
    jw_kstr(w, "q\"k", "say \"hi\"");
    jw_kstr(w, "bs", "a\\b");
    jw_kstr(w, "ctl", "\n\r\t\b\f\x01\x1f\x7f");
    jw_kstr(w, "utf8", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
    jw_kstr(w, "slash", "</script>");
    jw_key(w, "nul");
    jw_strn(w, "a\0b", 3);
    jw_obj_close(w);
}

TEST(jw_commas)
{
    CHECK_STR(jw_out(js_empty), "{\"o\":{},\"a\":[]}");
    CHECK_STR(jw_out(js_nested), "{\"a\":\"x\",\"b\":{\"c\":1,\"d\":[1,{\"e\":true,\"f\":null},[],"
                                 "\"s\"]},\"g\":false,\"h\":null,\"raw\":{\"k\":[1,2]},"
                                 "\"i\":[[1],[2]]}");
    CHECK_STR(jw_out(js_top_array), "[{\"i\":0},{\"i\":1},{\"i\":2},null,true,{},\"abc\"]");
    CHECK_STR(jw_out(js_ints), "[0,-1,9223372036854775807,-9223372036854775808,1234567890123]");
}

TEST(jw_escaping)
{
    CHECK_STR(jw_out(js_escapes), "{\"q\\\"k\":\"say \\\"hi\\\"\",\"bs\":\"a\\\\b\","
                                  "\"ctl\":\"\\n\\r\\t\\u0008\\u000c\\u0001\\u001f\x7f\","
                                  "\"utf8\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\","
                                  "\"slash\":\"</script>\",\"nul\":\"a\\u0000b\"}");
    /* jw_escape alone, on a plain run and on an all-escape string. */
    buf b;
    buf_init(&b, 1024);
    jw_escape(&b, "plain", 5);
    jw_escape(&b, "\"\"", 2);
    jw_escape(&b, "", 0);
    CHECK_STR(buf_cstr(&b), "\"plain\"\"\\\"\\\"\"\"\"");
    buf_free(&b);
}

/* Ill-formed UTF-8 never reaches the output: each maximal ill-formed
 * subpart becomes one U+FFFD (what Python's errors="replace" yields), and
 * well-formed sequences pass through untouched. */
#define U8(lit) lit, sizeof(lit) - 1
static const struct {
    const char *in;
    size_t len;
    const char *out;
} utf8_cases[] = {
    {U8("ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
     "\"ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
    {U8("\xff"), "\"\xef\xbf\xbd\""},
    {U8("a\xfe\xff!"), "\"a\xef\xbf\xbd\xef\xbf\xbd!\""},
    {U8("\x80"), "\"\xef\xbf\xbd\""},                                 /* lone continuation */
    {U8("\xc0\xaf"), "\"\xef\xbf\xbd\xef\xbf\xbd\""},                 /* overlong '/' */
    {U8("\xe0\x80\xaf"), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* overlong */
    {U8("\xed\xa0\x80"), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* surrogate */
    {U8("\xf4\x90\x80\x80"),
     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* past U+10FFFF */
    {U8("\xe2\x82"), "\"\xef\xbf\xbd\""},                     /* cut: one replacement */
    {U8("x\xe2\x82\""), "\"x\xef\xbf\xbd\\\"\""},             /* cut, then an escape */
    {U8("\xf0\x9f\x98"), "\"\xef\xbf\xbd\""},
    {U8("\xe2\x82z"), "\"\xef\xbf\xbdz\""},
    {U8("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\""}, /* U+10FFFF itself */
    {U8("\xef\xbf\xbd"), "\"\xef\xbf\xbd\""},         /* U+FFFD itself */
};

TEST(jw_replaces_ill_formed_utf8)
{
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        buf b;
        buf_init(&b, 1024);
        jw_escape(&b, utf8_cases[i].in, utf8_cases[i].len);
        if (!CHECK_STR(buf_cstr(&b), utf8_cases[i].out)) printf("  case %zu\n", i);
        /* What came out is well-formed, and valid input is left as is. */
        CHECK(jw_utf8_valid(b.data, b.len));
        bool same = b.len == utf8_cases[i].len + 2 &&
                    memcmp(b.data + 1, utf8_cases[i].in, utf8_cases[i].len) == 0;
        CHECK_EQ_INT(jw_utf8_valid(utf8_cases[i].in, utf8_cases[i].len), same);
        buf_free(&b);
    }
    /* Through the writer too: keys and values. */
    buf b;
    buf_init(&b, 1024);
    jw w;
    jw_init(&w, &b);
    jw_obj_open(&w);
    jw_kstr(&w, "k\xff", "v\xc3");
    jw_obj_close(&w);
    CHECK_STR(buf_cstr(&b), "{\"k\xef\xbf\xbd\":\"v\xef\xbf\xbd\"}");
    buf_free(&b);
}

/* Long strings are escaped a chunk at a time straight into the buffer;
 * chunk edges inside a sequence, and a cap reached mid-string, must not
 * show. The reference: each unit escaped on its own, after `shift` plain
 * bytes that move every unit across the chunk edges. */
static void escape_units(buf *in, buf *want, size_t shift)
{
    static const char *const units[] = {
        "plain text ",      "\"q\"", "\\",       "\n\t\x01", "\xc3\xa9", "\xe2\x82\xac",
        "\xf0\x9f\x98\x80", "\xff",  "\xe2\x82", "x"};
    const size_t nunits = sizeof units / sizeof units[0];
    buf one;
    buf_init(&one, 64);
    buf_reset(in);
    buf_reset(want);
    buf_putc(want, '"');
    for (size_t k = 0; k < shift; k++) {
        buf_putc(in, 'p');
        buf_putc(want, 'p');
    }
    for (size_t k = 0; in->len < 5000; k++) {
        /* "\xe2\x82" then "x" is ill-formed then plain, as on its own. */
        const char *u = units[(k * 7) % nunits];
        buf_puts(in, u);
        buf_reset(&one);
        jw_escape(&one, u, strlen(u));
        buf_append(want, one.data + 1, one.len - 2);
    }
    buf_putc(want, '"');
    buf_free(&one);
}

TEST(jw_escape_long_strings_and_the_cap)
{
    buf in, want, b;
    buf_init(&in, 1 << 20);
    buf_init(&want, 1 << 20);
    for (size_t shift = 0; shift < 32; shift++) {
        escape_units(&in, &want, shift);
        buf_init(&b, 1 << 20);
        jw_escape(&b, in.data, in.len);
        CHECK(!b.overflow);
        if (!CHECK(b.len == want.len && memcmp(b.data, want.data, b.len) == 0))
            printf("  shift %zu\n", shift);
        buf_free(&b);
    }
    /* Capped: what fits (with its NUL) is whole; one byte less overflows. */
    for (size_t limit = want.len - 40; limit <= want.len + 1; limit++) {
        buf_init(&b, limit);
        jw_escape(&b, in.data, in.len);
        if (limit == want.len + 1)
            CHECK(!b.overflow && b.len == want.len && memcmp(b.data, want.data, b.len) == 0);
        else
            CHECK(b.overflow && b.len < limit);
        buf_free(&b);
    }
    buf_free(&in);
    buf_free(&want);
}

TEST(jw_utf8_seq_lengths)
{
    CHECK_EQ_INT(jw_utf8_seq("a", 1), 1);
    CHECK_EQ_INT(jw_utf8_seq("\xc3\xa9", 2), 2);
    CHECK_EQ_INT(jw_utf8_seq("\xe2\x82\xac", 3), 3);
    CHECK_EQ_INT(jw_utf8_seq("\xf0\x9f\x98\x80", 4), 4);
    CHECK_EQ_INT(jw_utf8_seq("\xc3", 1), -1);
    CHECK_EQ_INT(jw_utf8_seq("\xe2\x82", 2), -2);
    CHECK_EQ_INT(jw_utf8_seq("\xf0\x9f\x98", 3), -3);
    CHECK_EQ_INT(jw_utf8_seq("\xf0\x9f\x98x", 4), -3);
    CHECK_EQ_INT(jw_utf8_seq("\xc1\xbf", 2), -1);
    CHECK_EQ_INT(jw_utf8_seq("\xed\x9f\xbf", 3), 3); /* U+D7FF, just below surrogates */
    CHECK_EQ_INT(jw_utf8_seq("\xed\xa0\x80", 3), -1);
    CHECK_EQ_INT(jw_utf8_seq("\xf5\x80\x80\x80", 4), -1);
    CHECK(jw_utf8_valid("", 0));
    CHECK(jw_utf8_valid("a\0b", 3));
    CHECK(!jw_utf8_valid("ab\xff", 3));
}

/* Doubles: written, then read back by strtod, must equal the input; and
 * the text is the short form a person expects. */
static const char *jw_one_double(double d)
{
    static char out[64];
    buf b;
    buf_init(&b, 256);
    jw w;
    jw_init(&w, &b);
    jw_double(&w, d);
    snprintf(out, sizeof out, "%s", buf_cstr(&b));
    buf_free(&b);
    return out;
}

TEST(jw_doubles)
{
    CHECK_STR(jw_one_double(0.1), "0.1");
    CHECK_STR(jw_one_double(1.5), "1.5");
    CHECK_STR(jw_one_double(0), "0");
    CHECK_STR(jw_one_double(-2.25), "-2.25");
    CHECK_STR(jw_one_double(1e300), "1e+300");
    CHECK_STR(jw_one_double(NAN), "null");
    CHECK_STR(jw_one_double(INFINITY), "null");
    CHECK_STR(jw_one_double(-INFINITY), "null");
    static const double round_trip[] = {
        0.1,           0.2 + 0.1, 1.0 / 3,           1e300, -1e-300, 5e-324, 1.7976931348623157e308,
        123456789.125, 1e21,      9007199254740993.0};
    for (size_t i = 0; i < sizeof round_trip / sizeof round_trip[0]; i++) {
        const char *s = jw_one_double(round_trip[i]);
        if (!CHECK(strtod(s, NULL) == round_trip[i]))
            printf("  value %.17g wrote %s\n", round_trip[i], s);
        /* JSON numbers: no "inf", "nan", no leading '+', no bare '.' */
        CHECK(strspn(s, "0123456789-+.e") == strlen(s));
        CHECK(s[0] != '+' && s[0] != '.');
    }
    /* Doubles inside containers get commas like everything else. */
    buf b;
    buf_init(&b, 256);
    jw w;
    jw_init(&w, &b);
    jw_arr_open(&w);
    jw_double(&w, 0.5);
    jw_double(&w, NAN);
    jw_double(&w, 2);
    jw_arr_close(&w);
    CHECK_STR(buf_cstr(&b), "[0.5,null,2]");
    buf_free(&b);
}

TEST(jw_deep_nesting_within_limit)
{
    buf b;
    buf_init(&b, 4096);
    jw w;
    jw_init(&w, &b);
    for (int i = 0; i < JW_MAX_DEPTH - 1; i++)
        jw_arr_open(&w);
    jw_int(&w, 1);
    jw_int(&w, 2);
    for (int i = 0; i < JW_MAX_DEPTH - 1; i++)
        jw_arr_close(&w);
    CHECK_EQ_INT(w.depth, 0);
    const char *s = buf_cstr(&b);
    CHECK_EQ_INT(strlen(s), 2 * (JW_MAX_DEPTH - 1) + 3);
    CHECK(strstr(s, "[[1,2]]") != NULL);
    buf_free(&b);
}

/* --------------------------------------------------------------------- jr */

/* jr_load's answer and json_loadb's for the same text and flags: both
 * fail with the same error, or both give the same compact dump (values
 * and key order). Returns jr_load's dump, or "error: ...". */
static const char *jr_same(const char *text, size_t len, size_t flags, char *out, size_t cap)
{
    json_error_t e1, e2;
    json_t *a = jr_load(text, len, flags, &e1), *b = json_loadb(text, len, flags, &e2);
    const size_t dump = JSON_COMPACT | JSON_ENCODE_ANY;
    char *da = a ? json_dumps(a, dump) : NULL, *db = b ? json_dumps(b, dump) : NULL;
    if (a && b)
        CHECK_STR(da, db);
    else if (!a && !b)
        CHECK_STR(e1.text, e2.text);
    else
        test_fail(__FILE__, __LINE__, "jr_load and json_loadb disagree on success");
    snprintf(out, cap, "%s%s", a ? "" : "error: ", a ? (da ? da : "") : e1.text);
    free(da);
    free(db);
    json_decref(a);
    json_decref(b);
    return out;
}

TEST(jr_load_fast_texts)
{
    char o[512];
    const size_t f = JSON_REJECT_DUPLICATES;
    const char *t = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
                    "\"get_contact\",\"arguments\":{\"id\":\"con_1\"}}}";
    CHECK_STR(jr_same(t, strlen(t), f | JSON_DECODE_ANY, o, sizeof o), t);
    /* Key order is the text's, whatever the keys. */
    t = " {\"z\" : [ ] , \"a\":{},\"m\":[true,false,null,-0,0,123456789012345678]}\r\n\t";
    CHECK_STR(jr_same(t, strlen(t), f, o, sizeof o),
              "{\"z\":[],\"a\":{},\"m\":[true,false,null,0,0,123456789012345678]}");
    /* The short escapes, and UTF-8 kept as sent. */
    t = "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"caf\xc3\xa9 \xf0\x9f\x98\x80\"]";
    CHECK_STR(jr_same(t, strlen(t), f, o, sizeof o),
              "[\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\",\"caf\xc3\xa9 \xf0\x9f\x98\x80\"]");
    /* An escaped key stays itself while its value (escaped too) is read. */
    t = "{\"k\\n1\":\"v\\t1\",\"k\\n2\":{\"k\\n3\":\"v\\t3\"}}";
    CHECK_STR(jr_same(t, strlen(t), f, o, sizeof o), t);
    /* Scalars at the top only with JSON_DECODE_ANY. */
    CHECK_STR(jr_same("  \"x\" ", 6, JSON_DECODE_ANY, o, sizeof o), "\"x\"");
    CHECK_STR(jr_same("42", 2, JSON_DECODE_ANY, o, sizeof o), "42");
    CHECK(strncmp(jr_same("42", 2, 0, o, sizeof o), "error: ", 7) == 0);
    /* The length bounds the text: what follows is not read. */
    CHECK_STR(jr_same("{}garbage", 2, 0, o, sizeof o), "{}");
}

TEST(jr_load_leaves_the_rest_to_jansson)
{
    char o[512];
    /* Values jr_load does not build itself, parsed all the same. */
    CHECK_STR(jr_same("[1.5,1e3,-2E-2]", 15, 0, o, sizeof o), "[1.5,1000.0,-0.02]");
    CHECK_STR(jr_same("[1234567890123456789]", 21, 0, o, sizeof o), "[1234567890123456789]");
    CHECK_STR(jr_same("[\"\\u00e9\\ud83d\\ude00\"]", 22, 0, o, sizeof o),
              "[\"\xc3\xa9\xf0\x9f\x98\x80\"]");
    CHECK_STR(jr_same("{\"a\":1,\"a\":2}", 13, 0, o, sizeof o), "{\"a\":2}");
    char deep[300];
    for (int i = 0; i < 100; i++)
        deep[i] = '[', deep[199 - i] = ']';
    CHECK(strncmp(jr_same(deep, 200, 0, o, sizeof o), "[[[[", 4) == 0);
    /* And the errors, word for word. */
    static const char *const bad[] = {
        "{\"a\":1,\"a\":2}",
        "{\"a\":01}",
        "[-]",
        "[1.]",
        "[9223372036854775808]",
        "[\"\\ud800\"]",
        "[\"\\x\"]",
        "[\"a\x01\"]",
        "[\"\xed\xa0\x80\"]",
        "[\"\xc0\xaf\"]",
        "[\"ab",
        "[1,]",
        "{\"a\" 1}",
        "[true false]",
        "[nul]",
        "[1]x",
        "\xef\xbb\xbf[]",
        "",
        "  ",
        "{\"a\":\"\\u0000\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(strncmp(jr_same(bad[i], strlen(bad[i]), JSON_REJECT_DUPLICATES, o, sizeof o),
                      "error: ", 7) == 0);
    /* A NUL byte in the text, and \u0000 allowed by the flag. */
    CHECK(strncmp(jr_same("[\"a\0b\"]", 7, 0, o, sizeof o), "error: ", 7) == 0);
    CHECK_STR(jr_same("[\"a\\u0000b\"]", 12, JSON_ALLOW_NUL, o, sizeof o), "[\"a\\u0000b\"]");
}

/* -------------------------------------------------------------------- ids */

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static uint64_t id_time_part(const char *body)
{
    uint64_t ms = 0;
    for (int i = 0; i < 10; i++)
        ms = ms * 32 + (uint64_t)(strchr(crockford, body[i]) - crockford);
    return ms;
}

TEST(ids_shape)
{
    static const char *const prefixes[] = {"wrk", "con", "com", "lead", "x"};
    for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++) {
        char id[ID_MAX];
        uint64_t before = time_now_ms();
        id_new(id, prefixes[k]);
        uint64_t after = time_now_ms();
        size_t pl = strlen(prefixes[k]);
        CHECK(strncmp(id, prefixes[k], pl) == 0);
        CHECK_EQ_INT(id[pl], '_');
        CHECK_EQ_INT(strlen(id + pl + 1), ID_BODY_LEN);
        CHECK_EQ_INT(strspn(id + pl + 1, crockford), ID_BODY_LEN);
        CHECK(id_valid(id, prefixes[k]));
        /* The first 10 characters are the creation time in ms (the thread
         * may have made ids in this ms already: then it is <= now). */
        uint64_t t = id_time_part(id + pl + 1);
        CHECK(t <= after);
        CHECK(t + 5000 >= before);
    }
}

TEST(ids_valid_rejects)
{
    char id[ID_MAX];
    id_new(id, "con");
    CHECK(id_valid(id, "con"));
    CHECK(!id_valid(id, "com"));
    CHECK(!id_valid(id, "co"));
    CHECK(!id_valid(id, "cont"));
    CHECK(!id_valid("", "con"));
    CHECK(!id_valid("con_", "con"));
    CHECK(!id_valid("con", "con"));
    CHECK(!id_valid("con-01ARZ3NDEKTSV4RRFFQ69G5FAV", "con"));
    CHECK(id_valid("con_01ARZ3NDEKTSV4RRFFQ69G5FAV", "con"));
    CHECK(!id_valid("con_01ARZ3NDEKTSV4RRFFQ69G5FA", "con"));   /* 25 */
    CHECK(!id_valid("con_01ARZ3NDEKTSV4RRFFQ69G5FAVX", "con")); /* 27 */
    CHECK(!id_valid("con_01arz3ndektsv4rrffq69g5fav", "con"));  /* lower case */
    CHECK(!id_valid("con_01ARZ3NDEKTSV4RRFFQ69G5FAI", "con"));  /* I, L, O, U */
    CHECK(!id_valid("con_01ARZ3NDEKTSV4RRFFQ69G5FAL", "con"));
    CHECK(!id_valid("con_01ARZ3NDEKTSV4RRFFQ69G5FAO", "con"));
    CHECK(!id_valid("con_01ARZ3NDEKTSV4RRFFQ69G5FAU", "con"));
    CHECK(!id_valid("con_01ARZ3NDEKTSV4RRFFQ69G5FA-", "con"));
    CHECK(!id_valid("con_01ARZ3NDEKTSV4RRFFQ69G5F V", "con"));
    CHECK(!id_valid("con_01ARZ3NDEKTSV4RRFFQ69G5F\xc3\xa9", "con"));
    /* A body of 26 then a NUL inside the expected length is too short. */
    char shortid[] = "con_01ARZ3NDEKTSV4RRFFQ69G5FAV";
    shortid[20] = '\0';
    CHECK(!id_valid(shortid, "con"));
}

TEST(ids_strictly_increasing)
{
    enum { N = 10000 };
    char(*ids)[ID_MAX] = malloc(sizeof(*ids) * N);
    for (int i = 0; i < N; i++)
        id_new(ids[i], "con");
    int bad = 0, first_bad = -1;
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1], ids[i]) >= 0 && bad++ == 0) first_bad = i;
    if (!CHECK_EQ_INT(bad, 0))
        printf("  first out of order at %d: %s then %s\n", first_bad, ids[first_bad - 1],
               ids[first_bad]);
    int invalid = 0;
    for (int i = 0; i < N; i++)
        invalid += !id_valid(ids[i], "con");
    CHECK_EQ_INT(invalid, 0);
    /* Different prefixes share the sequence but each id is still valid. */
    char a[ID_MAX], b[ID_MAX];
    id_new(a, "com");
    id_new(b, "com");
    CHECK(strcmp(a, b) < 0);
    CHECK(strcmp(a + 4, ids[N - 1] + 4) > 0);
    free(ids);
}

TEST(token_shape)
{
    static const char url_safe[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char t1[64], t2[64];
    token_new(t1);
    token_new(t2);
    CHECK(strncmp(t1, "ck_", 3) == 0);
    CHECK_EQ_INT(strlen(t1), 3 + 44);
    CHECK_EQ_INT(strspn(t1 + 3, url_safe), 44);
    CHECK_EQ_INT(strlen(t2), 3 + 44);
    CHECK(strcmp(t1, t2) != 0);
    /* 100 tokens, all different: the random part is really random. */
    char seen[100][64];
    int dup = 0;
    for (int i = 0; i < 100; i++) {
        token_new(seen[i]);
        for (int j = 0; j < i; j++)
            dup += strcmp(seen[i], seen[j]) == 0;
    }
    CHECK_EQ_INT(dup, 0);
}

TEST(sha256_vectors)
{
    char h[TOKEN_HASH_HEX];
    sha256_hex("abc", 3, h);
    CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex("", 0, h);
    CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(two, strlen(two), h);
    CHECK_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* Only the first n bytes count. */
    sha256_hex("abcdef", 3, h);
    CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_EQ_INT(strlen(h), 64);
}

TEST(hash_fnv1a_vectors)
{
    /* FNV-1a 64's published vectors. */
    CHECK(hash_str("") == 0xcbf29ce484222325ull);
    CHECK(hash_str("a") == 0xaf63dc4c8601ec8cull);
    CHECK(hash_str("foobar") == 0x85944171f73967e8ull);
    /* Continuing a hash is hashing the concatenation. */
    CHECK(hash_more(hash_str("foo"), "bar") == hash_str("foobar"));
    CHECK(hash_more(HASH_SEED, "") == hash_str(""));
    /* Case folds for ASCII letters only; other bytes hash as they are. */
    CHECK(hash_str_nocase("Foo-BAR_9") == hash_str("foo-bar_9"));
    CHECK(hash_str_nocase("\xc3\x89t\xc3\xa9") == hash_str("\xc3\x89t\xc3\xa9"));
    CHECK(hash_str_nocase("@[`{") == hash_str("@[`{"));
}

TEST(hash_bytes_words_and_tails)
{
    /* Every byte counts, wherever it falls: in a whole word or in the
     * tail, and the length too (a run of NULs is not the empty key). */
    const char *s = "SELECT * FROM contacts WHERE workspace_id = ?1 AND id = ?2";
    size_t n = strlen(s);
    char t[128];
    uint64_t h = hash_bytes(s, n);
    CHECK(h == hash_bytes(s, n));
    int distinct = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(t, s, n);
        t[i] ^= 1;
        distinct += hash_bytes(t, n) != h;
    }
    CHECK_EQ_INT(distinct, (int)n);
    for (size_t k = 0; k < n; k++)
        CHECK(hash_bytes(s, k) != hash_bytes(s, k + 1));
    static const char zeros[16] = {0};
    CHECK(hash_bytes(zeros, 0) != hash_bytes(zeros, 1));
    CHECK(hash_bytes(zeros, 8) != hash_bytes(zeros, 16));
}

/* --------------------------------------------------------------- timeutil */

TEST(time_format_known)
{
    char s[TIME_STR];
    static const struct {
        uint64_t ms;
        const char *want;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1, "1970-01-01T00:00:00.001Z"},
        {999, "1970-01-01T00:00:00.999Z"},
        {1700000000123, "2023-11-14T22:13:20.123Z"},
        {951782400000, "2000-02-29T00:00:00.000Z"},
        {1798761599999, "2026-12-31T23:59:59.999Z"},
        {253402300799999, "9999-12-31T23:59:59.999Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        time_format_ms(cases[i].ms, s);
        CHECK_STR(s, cases[i].want);
    }
}

TEST(time_parse_accepts)
{
    static const struct {
        const char *in;
        int64_t ms;
    } cases[] = {
        {"2023-11-14T22:13:20.123Z", 1700000000123},
        {"2023-11-14T22:13:20Z", 1700000000000},
        {"2023-11-14t22:13:20.123z", 1700000000123},
        {"2023-11-15T00:13:20.123+02:00", 1700000000123},
        {"2023-11-14T17:13:20.123-05:00", 1700000000123},
        {"2023-11-14T22:13:20.123+00:00", 1700000000123},
        {"2023-11-14T22:43:20.123+00:30", 1700000000123},
        {"2023-11-14T22:13:20.1Z", 1700000000100},
        {"2023-11-14T22:13:20.12Z", 1700000000120},
        {"2023-11-14T22:13:20.123456789Z", 1700000000123}, /* truncated to ms */
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01T01:00:00+01:00", 0},
        {"1969-12-31T23:59:59.000Z", -1000},
        {"2000-02-29T00:00:00Z", 951782400000},
        {"2024-02-29T12:00:00Z", 1709208000000},
        {"2026-01-01T00:00:00+02:00", 1767218400000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = 42;
        if (!CHECK(time_parse(cases[i].in, &ms))) {
            printf("  rejected %s\n", cases[i].in);
            continue;
        }
        if (!CHECK_EQ_INT(ms, cases[i].ms)) printf("  input %s\n", cases[i].in);
    }
}

TEST(time_parse_rejects)
{
    static const char *const bad[] = {
        "",
        "2026-02-30T00:00:00Z", /* no such day */
        "2023-02-29T00:00:00Z", /* not a leap year */
        "1900-02-29T00:00:00Z", /* century, not leap */
        "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-01-00T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2026-01-01T24:00:00Z", /* hour 24 */
        "2026-01-01T23:60:00Z",
        "2026-01-01T23:59:61Z",
        "2026-01-01T00:00:00",     /* no zone */
        "2026-01-01T00:00:00.123", /* no zone */
        "2026-01-01",              /* a date is not a date-time */
        "2026-01-01 00:00:00Z",    /* Cairn wants the T */
        "2026-01-01T00:00:00+0200",
        "2026-01-01T00:00:00+02",
        "2026-01-01T00:00:00+24:00",
        "2026-01-01T00:00:00+02:60",
        "2026-01-01T00:00:00.Z",
        "2026-01-01T00:00:00ZZ",
        "2026-01-01T00:00:00Z ",
        " 2026-01-01T00:00:00Z",
        "2026-1-01T00:00:00Z",
        "2026-01-01T0:00:00Z",
        "20a6-01-01T00:00:00Z",
        "2026-01-01T00:00:00.12aZ",
        "2026/01/01T00:00:00Z",
        "2026-01-01T00-00-00Z",
        "not a date at all, really",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 0;
        if (!CHECK(!time_parse(bad[i], &ms)))
            printf("  accepted \"%s\" as %lld\n", bad[i], (long long)ms);
    }
}

TEST(time_round_trip)
{
    static const uint64_t ms[] = {
        0, 1, 86399999, 951782400000, 1700000000123, 1767225599999, 4102444800000};
    char s[TIME_STR];
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        time_format_ms(ms[i], s);
        int64_t back = -1;
        CHECK(time_parse(s, &back));
        CHECK_EQ_INT(back, (int64_t)ms[i]);
    }
    /* Now, through format and parse. */
    uint64_t now = time_now_ms();
    time_format_ms(now, s);
    int64_t back = 0;
    CHECK(time_parse(s, &back));
    CHECK_EQ_INT(back, (int64_t)now);
    CHECK(now > 1700000000000ull); /* the clock is sane */
    /* Monotonic clock moves forward. */
    uint64_t a = time_mono_ns(), b = time_mono_ns();
    CHECK(b >= a);
}

TEST(time_parse_date_cases)
{
    CHECK(time_parse_date("2026-02-28"));
    CHECK(time_parse_date("2024-02-29"));
    CHECK(time_parse_date("2000-02-29"));
    CHECK(time_parse_date("0001-01-01"));
    CHECK(time_parse_date("9999-12-31"));
    CHECK(!time_parse_date("2026-02-29"));
    CHECK(!time_parse_date("2026-02-30"));
    CHECK(!time_parse_date("2026-13-01"));
    CHECK(!time_parse_date("2026-00-01"));
    CHECK(!time_parse_date("2026-01-32"));
    CHECK(!time_parse_date("2026-1-1"));
    CHECK(!time_parse_date("2026-01-01T00:00:00Z"));
    CHECK(!time_parse_date("2026/01/01"));
    CHECK(!time_parse_date(""));
    CHECK(!time_parse_date("abcd-ef-gh"));
}

/* ------------------------------------------------------------------ rank */

static bool rank_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || k[n - 1] == '0') return false;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'z'))) return false;
    return true;
}

TEST(rank_append_stays_short_and_ordered)
{
    arena a;
    arena_init(&a);
    char *prev = rank_after(&a, NULL);
    CHECK(rank_ok(prev));
    for (int i = 0; i < 200000; i++) {
        char *next = rank_after(&a, prev);
        if (!CHECK(rank_ok(next) && strcmp(prev, next) < 0 && strlen(next) <= 4)) break;
        prev = next;
    }
    arena_release(&a);
}

TEST(rank_between_always_fits)
{
    arena a;
    arena_init(&a);
    /* Squeeze repeatedly towards each side and into the middle. */
    char *lo = rank_after(&a, NULL), *hi = rank_after(&a, lo);
    for (int i = 0; i < 300; i++) {
        char *m = rank_between(&a, lo, hi);
        if (!CHECK(rank_ok(m) && strcmp(lo, m) < 0 && strcmp(m, hi) < 0)) break;
        if (i % 3 == 0)
            lo = m;
        else
            hi = m;
    }
    char *first = rank_after(&a, NULL);
    for (int i = 0; i < 100; i++) {
        char *before = rank_between(&a, NULL, first);
        if (!CHECK(rank_ok(before) && strcmp(before, first) < 0)) break;
        first = before;
    }
    CHECK(strcmp(rank_between(&a, "i", NULL), "i") > 0);
    CHECK_STR(rank_between(&a, "a", "c"), "b");
    CHECK(strcmp(rank_between(&a, "a", "b"), "a") > 0 &&
          strcmp(rank_between(&a, "a", "b"), "b") < 0);
    CHECK(strcmp(rank_after(&a, "zzzz"), "zzzz") > 0);
    /* After a long key from many midpoints, appends are short again. */
    const char *longk = "i001hhhhhhhhhhhhhhhhhhhhhhhhhhhhh";
    char *next = rank_after(&a, longk);
    CHECK(strcmp(next, longk) > 0 && strlen(next) <= 4 && rank_ok(next));
    arena_release(&a);
}

/* Zones from the system's TZif files: offsets on both sides of a change,
 * local times placed back on the UTC timeline, names that are no zone. */
TEST(tz_offsets_from_zoneinfo)
{
    const tz_zone *paris = tz_find("Europe/Paris"), *utc = tz_find("UTC");
    if (!CHECK(paris && utc)) return;
    CHECK(tz_find("Europe/Paris") == paris); /* loaded once */
    int64_t winter = 1767225600;             /* 2026-01-01T00:00:00Z */
    int64_t summer = 1782864000;             /* 2026-07-01T00:00:00Z */
    CHECK_EQ_INT(tz_offset(paris, winter), 3600);
    CHECK_EQ_INT(tz_offset(paris, summer), 7200);
    CHECK_EQ_INT(tz_offset(utc, summer), 0);
    /* 2026-03-29 01:00:00Z is when Paris goes from +1 to +2. */
    CHECK_EQ_INT(tz_offset(paris, 1774746000 - 1), 3600);
    CHECK_EQ_INT(tz_offset(paris, 1774746000), 7200);
    /* 09:00 local on 2026-07-01 is 07:00Z; on 2026-01-01, 08:00Z. */
    CHECK_EQ_INT(tz_to_utc(paris, summer + 9 * 3600), summer + 7 * 3600);
    CHECK_EQ_INT(tz_to_utc(paris, winter + 9 * 3600), winter + 8 * 3600);
    CHECK_EQ_INT(tz_offset(tz_find("America/New_York"), winter), -5 * 3600);
    CHECK(tz_find("Mars/Olympus_Mons") == NULL);
    CHECK(tz_find("../../etc/passwd") == NULL);
    CHECK(tz_find("/etc/passwd") == NULL);
    CHECK(tz_find("") == NULL);
    CHECK(tz_find("Europe") == NULL); /* a directory, not a zone */
}
