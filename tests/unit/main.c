/* main.c - runs every registered unit test and prints the tally.
 *
 * Output: one line per failed check ("file:line: test: what"), then exactly
 * "N passed, N failed" counting tests (a test passes when none of its
 * checks failed). Exit status 1 on any failure. Takes no arguments. */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define MAX_TESTS 1024

typedef struct test_case {
    const char *name;
    const char *file;
    test_fn fn;
    int seq; /* registration order, for a stable sort */
} test_case;

static test_case tests[MAX_TESTS];
static int ntests;
static const char *current = "?";
static int current_failures;
static bool current_skipped;
static char tmpdir[256];

void test_register(const char *name, const char *file, test_fn fn)
{
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "test.h: more than %d tests; raise MAX_TESTS\n", MAX_TESTS);
        abort();
    }
    tests[ntests] = (test_case){name, file, fn, ntests};
    ntests++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    current_failures++;
    printf("%s:%d: %s: ", file, line, current);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

bool test_check_int(const char *file, int line, const char *ea, const char *eb, long long a,
                    long long b)
{
    if (a == b) return true;
    test_fail(file, line, "CHECK_EQ_INT(%s, %s) failed: %lld != %lld", ea, eb, a, b);
    return false;
}

bool test_check_str(const char *file, int line, const char *ea, const char *eb, const char *a,
                    const char *b)
{
    if (a == b || (a && b && strcmp(a, b) == 0)) return true;
    test_fail(file, line, "CHECK_STR(%s, %s) failed: %s%s%s != %s%s%s", ea, eb, a ? "\"" : "",
              a ? a : "NULL", a ? "\"" : "", b ? "\"" : "", b ? b : "NULL", b ? "\"" : "");
    return false;
}

const char *test_tmpdir(void)
{
    return tmpdir;
}

const char *test_path(const char *name)
{
    static char bufs[8][512];
    static int next;
    char *p = bufs[next++ % 8];
    snprintf(p, sizeof bufs[0], "%s/%s", tmpdir, name);
    return p;
}

bool test_in_child(const char *file, int line, const char *what, void (*fn)(void *), void *arg)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        test_fail(file, line, "%s: fork: %s", what, strerror(errno));
        return false;
    }
    if (pid == 0) {
        current_failures = 0;
        fn(arg);
        fflush(stdout);
        /* _exit: the parent's state was copied into this process, and a
         * leak check here would report the parent's live allocations. */
        _exit(current_failures ? 3 : 0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return true;
    if (WIFSIGNALED(st))
        test_fail(file, line, "%s: child killed by signal %d (%s)", what, WTERMSIG(st),
                  strsignal(WTERMSIG(st)));
    else if (WEXITSTATUS(st) == 3)
        test_fail(file, line, "%s: checks failed in child (see above)", what);
    else
        test_fail(file, line, "%s: child exited with status %d (sanitizer report above?)", what,
                  WEXITSTATUS(st));
    return false;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0) fprintf(stderr, "cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

static int by_file_then_order(const void *a, const void *b)
{
    const test_case *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (c) return c;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

void test_skip(const char *why)
{
    printf("SKIP %s: %s\n", current, why);
    current_skipped = true;
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: unit (no arguments; runs every test)\n");
        return 2;
    }
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/cairn-unit-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "mkdtemp %s: %s\n", tmpdir, strerror(errno));
        return 2;
    }
    /* Constructors run in link order; sort by file so output is stable,
     * keeping each file's tests in source order. */
    qsort(tests, (size_t)ntests, sizeof tests[0], by_file_then_order);

    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < ntests; i++) {
        current = tests[i].name;
        current_failures = 0;
        current_skipped = false;
        tests[i].fn();
        if (current_failures)
            failed++;
        else if (current_skipped)
            skipped++;
        else
            passed++;
    }
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    if (skipped)
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
