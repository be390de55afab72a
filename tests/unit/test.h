/* test.h - the unit-test harness: registration, checks, a temp directory.
 *
 * Owns: the list of tests (each TEST() registers itself from a constructor,
 * so a new test file needs no table edit), the failure count, and one
 * mkdtemp directory that main.c removes at the end. Checks record a failure
 * with file:line, the expression and the values, then let the test go on, so
 * one run shows every broken thing at once. */
#ifndef CAIRN_TEST_H
#define CAIRN_TEST_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*test_fn)(void);

void test_register(const char *name, const char *file, test_fn fn);

/* Defines and registers a test: TEST(arena_alignment) { ... } */
#define TEST(name)                                                                                 \
    static void name(void);                                                                        \
    __attribute__((constructor)) static void test_reg_##name(void)                                 \
    {                                                                                              \
        test_register(#name, __FILE__, name);                                                      \
    }                                                                                              \
    static void name(void)

/* Records a failure of the running test; prints "file:line: test: message". */
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

bool test_check_int(const char *file, int line, const char *ea, const char *eb, long long a,
                    long long b);
bool test_check_str(const char *file, int line, const char *ea, const char *eb, const char *a,
                    const char *b);

/* Each evaluates its arguments once and returns whether the check held, so
 * a test can stop early: if (!CHECK(p)) return; */
#define CHECK(e) ((e) ? true : (test_fail(__FILE__, __LINE__, "CHECK(%s) failed", #e), false))
#define CHECK_EQ_INT(a, b)                                                                         \
    test_check_int(__FILE__, __LINE__, #a, #b, (long long)(a), (long long)(b))
#define CHECK_STR(a, b) test_check_str(__FILE__, __LINE__, #a, #b, (a), (b))

/* Marks the running test skipped (counted apart, never as passed); the
 * test returns right after. */
void test_skip(const char *why);

/* A fresh directory under $TMPDIR for this run; removed by main(). */
const char *test_tmpdir(void);
/* "<tmpdir>/<name>" in a static rotating buffer (valid for a few calls). */
const char *test_path(const char *name);

/* Runs fn(arg) in a forked child, for code that may crash (double free,
 * stack overflow) so the run survives and reports it. Returns true when the
 * child exited 0; otherwise records a failure naming `what` and the signal
 * or status. The child's own CHECK failures make it exit non-zero. */
bool test_in_child(const char *file, int line, const char *what, void (*fn)(void *), void *arg);
#define CHECK_NO_CRASH(what, fn, arg) test_in_child(__FILE__, __LINE__, what, fn, arg)

#endif
