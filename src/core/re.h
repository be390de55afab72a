/* re.h - ECMA-262 regular expressions for JSON Schema's `pattern`.
 *
 * Owns: compiling a pattern into a small program and searching a string
 * with it (unanchored, as `pattern` and `patternProperties` mean). A
 * backtracking matcher, because lookaheads (the e-mail pattern's
 * `(?!.*\.\.)`) need one; every search gets a step budget, so a
 * catastrophic pattern such as ^(a+)+$ costs a bounded amount of time and
 * reports RE_TOO_COMPLEX instead of hanging a worker. Matching is on code
 * points of UTF-8 (as with the `u` flag), never on bytes.
 *
 * Supported: literals, `.`, `^`, `$` (input start and end; no multiline),
 * \b \B, escapes \d \D \w \W \s \S \n \t \r \f \v \0 \cX \xHH \uHHHH
 * (surrogate pairs join) \u{H...} and any escaped punctuation, classes
 * [...] [^...] with ranges and class escapes, groups ( ) (?: ) (?<name> ),
 * lookaheads (?= ) (?! ), `|`, and greedy or lazy * + ? {n} {n,} {n,m}.
 * Rejected as errors: backreferences, lookbehind, \p{...}, unknown letter
 * escapes. A `{` that does not start a quantifier is a literal (Annex B).
 *
 * A compiled re is immutable: several threads may search with one. */
#ifndef CAIRN_RE_H
#define CAIRN_RE_H

#include <stddef.h>

typedef struct re re;

enum {
    RE_NOMATCH = 0,
    RE_MATCH = 1,
    RE_TOO_COMPLEX = -1, /* the step budget ran out (or the string is over 2^31 code points) */
    RE_NOMEM = -2,
};

/* The steps one search may take when the caller has no better figure:
 * some milliseconds of work. */
#define RE_DEFAULT_BUDGET 1000000

/* Compiles pat[0..len) (UTF-8). Returns a new re (re_free releases it), or
 * NULL with a reason for people in err ("missing ) at offset 3"); err is
 * always NUL-terminated. */
re *re_compile(const char *pat, size_t len, char *err, size_t errcap);
void re_free(re *r);

/* Whether r matches anywhere in s[0..n) (UTF-8): RE_MATCH, RE_NOMATCH,
 * RE_TOO_COMPLEX when more than *steps steps would be needed, RE_NOMEM.
 * *steps is decreased by the steps taken, so that one budget can span
 * several searches. */
int re_search(const re *r, const char *s, size_t n, size_t *steps);

#endif
