/* test_csv.c - src/core/csv: RFC 4180 records, and the text check.
 *
 * Cases are data: a text, the records it reads as (cells joined by '|',
 * records by '/', each with the line it starts on), or the error and its
 * line. */
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/csv.h"
#include "test.h"

/* The text read whole, as "line:cell|cell/line:cell..." or "!line: error". */
static const char *read_all(arena *a, const char *text, size_t n)
{
    csv_reader r;
    csv_init(&r, text, n);
    buf b;
    buf_init(&b, 1 << 20);
    for (;;) {
        csv_record rec;
        csv_err e;
        int rc = csv_next(&r, a, &rec, &e);
        if (rc < 0) {
            buf_reset(&b);
            buf_printf(&b, "!%d: %s", e.line, e.msg);
            break;
        }
        if (rc == 0) break;
        buf_printf(&b, "%s%d:", b.len ? "/" : "", rec.line);
        for (int i = 0; i < rec.n; i++)
            buf_printf(&b, "%s%s", i ? "|" : "", rec.cells[i]);
    }
    const char *out = arena_strdup(a, buf_cstr(&b));
    buf_free(&b);
    return out;
}

TEST(csv_records)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", ""},
        {"a,b,c", "1:a|b|c"},
        {"a,b\n1,2\n", "1:a|b/2:1|2"},
        {"a,b\r\n1,2\r\n", "1:a|b/2:1|2"},
        {"a,b\r1,2\r", "1:a|b/2:1|2"},         /* a lone CR ends a record too */
        {"a,b\n\n\r\n1,2\n\n", "1:a|b/4:1|2"}, /* blank lines passed over, counted */
        {"a,,c,\n", "1:a||c|"},
        {",\n", "1:|"},
        {"\"a\",\"b,c\"\n", "1:a|b,c"},
        {"\"say \"\"hi\"\"\",x\n", "1:say \"hi\"|x"},
        {"\"\"\n", "1:"},
        {"\"\"\"\"\n", "1:\""},
        {"\"two\nlines\",x\nnext,y\n", "1:two\nlines|x/3:next|y"},
        {"\"crlf\r\ninside\",x\r\nnext,y", "1:crlf\r\ninside|x/3:next|y"},
        {"\xEF\xBB\xBFname,email\n", "1:name|email"}, /* a byte order mark is dropped */
        {"caf\xC3\xA9,\xE2\x9C\x93\n", "1:caf\xC3\xA9|\xE2\x9C\x93"},
        {" a , b \n", "1: a | b "}, /* spaces are the cell's */
        {"a\tb,c\n", "1:a\tb|c"},
        /* Errors name the line. */
        {"a,b\n\"open,x\n1,2\n", "!2: line 2: a quoted cell opened on this line is never closed"},
        {"a,b\nx\"y,z\n",
         "!2: line 2: a quote inside an unquoted cell; quote the whole cell and write the quote "
         "twice (\"\")"},
        {"a\n\"q\"x,y\n",
         "!2: line 2: text follows a closing quote; a quote inside a quoted cell is written "
         "twice (\"\")"},
        {"\"multi\nline\"bad\n",
         "!2: line 2: text follows a closing quote; a quote inside a quoted cell is written "
         "twice (\"\")"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        arena a;
        arena_init(&a);
        const char *got = read_all(&a, cases[i].text, strlen(cases[i].text));
        if (!CHECK_STR(got, cases[i].want)) printf("  case %zu: %s\n", i, cases[i].text);
        arena_release(&a);
    }
}

TEST(csv_cells_are_bounded_and_grow)
{
    arena a;
    arena_init(&a);
    buf b;
    buf_init(&b, 1 << 20);
    /* 40 cells: past the first allocation of 16. */
    for (int i = 0; i < 40; i++)
        buf_printf(&b, "%sc%d", i ? "," : "", i);
    csv_reader r;
    csv_init(&r, b.data, b.len);
    csv_record rec;
    csv_err e;
    CHECK_EQ_INT(csv_next(&r, &a, &rec, &e), 1);
    CHECK_EQ_INT(rec.n, 40);
    CHECK_STR(rec.cells[39], "c39");
    CHECK_EQ_INT(csv_next(&r, &a, &rec, &e), 0);
    /* One more than CSV_MAX_CELLS is refused, naming the line. */
    buf_reset(&b);
    buf_puts(&b, "h\n");
    for (int i = 0; i <= CSV_MAX_CELLS; i++)
        buf_puts(&b, i ? ",x" : "x");
    csv_init(&r, b.data, b.len);
    CHECK_EQ_INT(csv_next(&r, &a, &rec, &e), 1);
    CHECK_EQ_INT(csv_next(&r, &a, &rec, &e), -1);
    CHECK_EQ_INT(e.line, 2);
    CHECK(strstr(e.msg, "more than 512 cells") != NULL);
    /* A spent reader stays spent. */
    CHECK_EQ_INT(csv_next(&r, &a, &rec, &e), 0);
    buf_free(&b);
    arena_release(&a);
}

TEST(csv_reads_only_its_length)
{
    /* The reader works on lengths: a NUL byte ends nothing (csv_check
     * refuses it before a caller reads). */
    arena a;
    arena_init(&a);
    static const char text[] = "a,b\nx,y";
    csv_reader r;
    csv_init(&r, text, 3); /* "a,b" only */
    csv_record rec;
    csv_err e;
    CHECK_EQ_INT(csv_next(&r, &a, &rec, &e), 1);
    CHECK_EQ_INT(rec.n, 2);
    CHECK_EQ_INT(csv_next(&r, &a, &rec, &e), 0);
    arena_release(&a);
}

TEST(csv_check_text)
{
    static const struct {
        const char *text;
        size_t n; /* 0: strlen */
        int line; /* 0: the text is fine */
        const char *msg;
    } cases[] = {
        {"a,b\r\nc\td\n", 0, 0, NULL},
        {"caf\xC3\xA9\n\xF0\x9F\x98\x80\n", 0, 0, NULL},
        {"a\nb\x01\n", 0, 2, "line 2 holds the control byte 0x01"},
        {"a\rb\r\nc\x7F", 0, 3, "line 3 holds the control byte 0x7F"},
        {"a\nb\0c", 5, 2, "line 2 holds the control byte 0x00"},
        {"ok\n\xC3\x28", 0, 2, "line 2 is not valid UTF-8 (byte 0xC3)"},
        {"\xED\xA0\x80", 0, 1, "line 1 is not valid UTF-8 (byte 0xED)"}, /* a surrogate */
        {"\xC0\xAF", 0, 1, "line 1 is not valid UTF-8 (byte 0xC0)"},     /* overlong */
        {"x\xE2\x82", 0, 1, "line 1 is not valid UTF-8 (byte 0xE2)"},    /* cut short */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        csv_err e = {0};
        size_t n = cases[i].n ? cases[i].n : strlen(cases[i].text);
        bool ok = csv_check(cases[i].text, n, &e);
        CHECK_EQ_INT(ok, cases[i].line == 0);
        if (cases[i].line) {
            CHECK_EQ_INT(e.line, cases[i].line);
            CHECK_STR(e.msg, cases[i].msg);
        }
    }
}
