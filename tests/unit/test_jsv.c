/* test_jsv.c - src/core/re: the ECMA-262 matcher behind JSON Schema's
 * `pattern`.
 *
 * Cases are rows of a table: a pattern, a subject, whether it matches. The
 * hostile ones must come back within the step budget. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/re.h"
#include "test.h"

/* Error messages ending in '*' match any rest. */
static bool msg_matches(const char *got, const char *want)
{
    size_t n = strlen(want);
    if (n && want[n - 1] == '*') return strncmp(got, want, n - 1) == 0;
    return strcmp(got, want) == 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct pcase {
    const char *pat;
    const char *s;
    size_t n; /* 0: strlen(s) */
    bool ok;
} pcase;

/* ------------------------------------------------------------ the matcher */

TEST(re_syntax)
{
    static const pcase cases[] = {
        {"abc", "xxabcxx", 0, true},
        {"abc", "ab", 0, false},
        {"", "", 0, true},
        {"", "abc", 0, true},
        {"^$", "", 0, true},
        {"^$", "a", 0, false},
        {"a.c", "abc", 0, true},
        {"a.c", "a\nc", 0, false},
        {"a.c", "a\u00e9c", 0, true}, /* . is one code point, not one byte */
        {"^.$", "\xf0\x9f\x98\x80", 0, true},
        {"^..$", "\xf0\x9f\x98\x80", 0, false},
        {"^\\d+$", "0123456789", 0, true},
        {"^\\d+$", "12a", 0, false},
        {"^\\D+$", "ab-", 0, true},
        {"^\\w+$", "a_Z9", 0, true},
        {"^\\w$", "\u00e9", 0, false},
        {"^\\W$", "\u00e9", 0, true},
        {"^\\s$", " ", 0, true},
        {"^\\s$", "\u00a0", 0, true},
        {"^\\S$", " ", 0, false},
        {"^\\.\\\\\\/\\-\\[\\]\\(\\)\\{\\}\\*\\+\\?\\|\\^\\$$", ".\\/-[](){}*+?|^$", 0, true},
        {"^\\x41\\u00e9\\n\\t\\r$", "A\u00e9\n\t\r", 0, true},
        {"^\\ud83d\\ude00$", "\xf0\x9f\x98\x80", 0, true},
        {"^\\u{1F600}$", "\xf0\x9f\x98\x80", 0, true},
        {"^[abc]+$", "abcabc", 0, true},
        {"^[abc]+$", "abd", 0, false},
        {"^[^abc]+$", "xyz", 0, true},
        {"^[^abc]+$", "xaz", 0, false},
        {"^[a-c\\d_]+$", "a1_c", 0, true},
        {"^[\\w-]+$", "a-b", 0, true},
        {"^[\\w.-]+$", "a.b-c", 0, true},
        {"^[-a]+$", "-a", 0, true},
        {"^[a-]+$", "-a", 0, true},
        {"^[\\]\\[]+$", "][", 0, true},
        {"^[\\D]$", "a", 0, true},
        {"^[\\D]$", "1", 0, false},
        {"^[^\\s]+$", "ab", 0, true},
        {"^[^\\S]$", " ", 0, true},
        {"^[\u00e0-\u00ff]$", "\u00e9", 0, true},
        {"^[^@\\x00-\\x20]$", " ", 0, false},
        {"^[^@\\x00-\\x20]$", "\x01", 0, false},
        {"^[^@\\x00-\\x20]$", "!", 0, true},
        {"[]", "a", 0, false},
        {"^[^]$", "\n", 0, true},
        {"^(ab)+$", "ababab", 0, true},
        {"^(?:ab)+$", "ababa", 0, false},
        {"^(?<word>ab)$", "ab", 0, true},
        {"^(a|bc|d)+$", "abcdbc", 0, true},
        {"^(a|bc|d)+$", "abce", 0, false},
        {"cat|dog", "hotdog", 0, true},
        {"^cat|dog$", "cats", 0, true},
        {"^(?:cat|dog)$", "cats", 0, false},
        {"^a*$", "", 0, true},
        {"^a+$", "", 0, false},
        {"^ab?c$", "ac", 0, true},
        {"^ab?c$", "abbc", 0, false},
        {"^a{3}$", "aaa", 0, true},
        {"^a{3}$", "aaaa", 0, false},
        {"^a{2,}$", "aaaaa", 0, true},
        {"^a{2,}$", "a", 0, false},
        {"^a{2,3}$", "aaa", 0, true},
        {"^a{2,3}$", "aaaa", 0, false},
        {"^a{0}$", "", 0, true},
        {"^a{,3}$", "a{,3}", 0, true}, /* not a quantifier: literal (Annex B) */
        {"^x{$", "x{", 0, true},
        {"^a*?b$", "aaab", 0, true},
        {"^a+?$", "aaa", 0, true},
        {"^a??b$", "ab", 0, true},
        {"^a{1,2}?$", "aa", 0, true},
        {"^(?=.*\\d)(?=.*[a-z]).{6,}$", "abc123", 0, true},
        {"^(?=.*\\d)(?=.*[a-z]).{6,}$", "abcdef", 0, false},
        {"^(?!.*\\.\\.).*$", "a.b.c", 0, true},
        {"^(?!.*\\.\\.).*$", "a..b", 0, false},
        {"^(?!ab)a", "ac", 0, true},
        {"\\bcat\\b", "the cat sat", 0, true},
        {"\\bcat\\b", "concatenate", 0, false},
        {"\\Bcat\\B", "concatenate", 0, true},
        {"^(a|b?)*c$", "ababbc", 0, true},
        {"(a|b?)*c", "xyz", 0, false}, /* an empty loop turn ends the loop */
        {"^(?:a?)*$", "aaa", 0, true},
        {"^(?:)*$", "", 0, true},
        {"^(a*)*b$", "aaab", 0, true},
        {"^(?:(?:a|b)c)*$", "acbc", 0, true},
        {"^\\cJ$", "\n", 0, true},
        {"^\\0$", "\0", 1, true},
        {"^a\\]b}$", "a]b}", 0, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[128];
        re *r = re_compile(cases[i].pat, strlen(cases[i].pat), err, sizeof err);
        if (!r) {
            test_fail(__FILE__, __LINE__, "case %zu: %s does not compile: %s", i, cases[i].pat,
                      err);
            continue;
        }
        size_t n = cases[i].n ? cases[i].n : strlen(cases[i].s);
        size_t steps = RE_DEFAULT_BUDGET;
        int got = re_search(r, cases[i].s, n, &steps);
        if (got != (cases[i].ok ? RE_MATCH : RE_NOMATCH))
            test_fail(__FILE__, __LINE__, "case %zu: %s against \"%s\": want %d, got %d", i,
                      cases[i].pat, cases[i].s, cases[i].ok, got);
        re_free(r);
    }
}

TEST(re_errors)
{
    static const struct {
        const char *pat, *err;
    } cases[] = {
        {"(ab", "missing ) at offset 3"},
        {"ab)", "unmatched ) at offset 2"},
        {"[ab", "missing ] at offset 3"},
        {"*a", "nothing to repeat at offset 0"},
        {"a**", "nothing to repeat at offset 2"},
        {"a{2}{3}", "nothing to repeat at offset 4"},
        {"^*", "nothing to repeat at offset 1"},
        {"{2}", "nothing to repeat at offset 0"},
        {"a|?", "nothing to repeat at offset 2"},
        {"[z-a]", "range out of order in character class at offset 1"},
        {"a{3,2}", "numbers out of order in {} quantifier at offset 1"},
        {"a{10001}", "repeat count over 10000 at offset 1"},
        {"(a)\\1", "backreferences are not supported at offset 3"},
        {"(?<=a)b", "lookbehind is not supported at offset 0"},
        {"\\p{L}", "Unicode property escapes are not supported at offset 0"},
        {"\\q", "unknown escape \\q at offset 0"},
        {"\\x4", "\\x needs two hex digits at offset 0"},
        {"\\u12", "\\u needs four hex digits at offset 0"},
        {"a\\", "\\ at end of pattern at offset 1"},
        {"(?x)", "unknown group (?x at offset 0"},
        {"[\\B]", "\\B inside a class at offset 1"},
        {"((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))",
         "groups nested over 32 deep at offset 32"},
        {"((a{100}){100}){100}", "pattern too large once repeats are expanded*"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[128];
        re *r = re_compile(cases[i].pat, strlen(cases[i].pat), err, sizeof err);
        if (r) {
            test_fail(__FILE__, __LINE__, "case %zu: %s compiled", i, cases[i].pat);
            re_free(r);
        } else if (!msg_matches(err, cases[i].err)) {
            test_fail(__FILE__, __LINE__, "case %zu: %s: want \"%s\", got \"%s\"", i, cases[i].pat,
                      cases[i].err, err);
        }
    }
    char tiny[4];
    CHECK(re_compile("(", 1, tiny, sizeof tiny) == NULL);
    CHECK_STR(tiny, "mis");
}

/* ------------------------------------------------------ hostile inputs */

TEST(re_catastrophic_pattern_is_bounded)
{
    const char *s = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!";
    char err[64];
    re *r = re_compile("^(a+)+$", 7, err, sizeof err);
    if (!CHECK(r != NULL)) return;
    double t0 = now_s();
    size_t steps = RE_DEFAULT_BUDGET;
    CHECK_EQ_INT(re_search(r, s, strlen(s), &steps), RE_TOO_COMPLEX);
    CHECK_EQ_INT(steps, 0);
    CHECK(now_s() - t0 < 2.0);
    steps = RE_DEFAULT_BUDGET;
    CHECK_EQ_INT(re_search(r, "aaaa", 4, &steps), RE_MATCH);
    CHECK(steps < RE_DEFAULT_BUDGET && steps > RE_DEFAULT_BUDGET - 100);
    steps = RE_DEFAULT_BUDGET;
    CHECK_EQ_INT(re_search(r, "aaa!", 4, &steps), RE_NOMATCH);
    re_free(r);
}

TEST(re_long_subjects)
{
    /* One choice point per character on an explicit stack, not the C one. */
    size_t n = 200000;
    char *s = malloc(n + 2);
    if (!CHECK(s != NULL)) return;
    memset(s, 'x', n + 2);
    s[0] = 'a';
    s[n + 1] = 'b';
    char err[64];
    re *r = re_compile("^a.*b$", 6, err, sizeof err);
    size_t steps = RE_DEFAULT_BUDGET;
    CHECK_EQ_INT(re_search(r, s, n + 2, &steps), RE_MATCH);
    steps = RE_DEFAULT_BUDGET;
    CHECK_EQ_INT(re_search(r, s, n + 1, &steps), RE_NOMATCH);
    re_free(r);
    /* Unanchored: a failed search from every position is still bounded. */
    r = re_compile("x*y", 3, err, sizeof err);
    steps = RE_DEFAULT_BUDGET;
    CHECK_EQ_INT(re_search(r, s, n, &steps), RE_TOO_COMPLEX);
    steps = 100;
    CHECK_EQ_INT(re_search(r, s, n, &steps), RE_TOO_COMPLEX);
    steps = 100;
    CHECK_EQ_INT(re_search(r, "xxy", 3, &steps), RE_MATCH);
    re_free(r);
    free(s);
}
