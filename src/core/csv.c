/* csv.c - RFC 4180 records; see csv.h. */
#include "core/csv.h"

#include <stdio.h>
#include <string.h>

#include "core/jw.h"

void csv_init(csv_reader *r, const char *text, size_t n)
{
    r->p = text;
    r->end = text + n;
    r->line = 1;
    if (n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) r->p += 3;
}

bool csv_check(const char *text, size_t n, csv_err *e)
{
    int line = 1;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x80) {
            int k = jw_utf8_seq(text + i, n - i);
            if (k < 0) {
                e->line = line;
                snprintf(e->msg, sizeof e->msg, "line %d is not valid UTF-8 (byte 0x%02X)", line,
                         c);
                return false;
            }
            i += (size_t)k;
            continue;
        }
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f) {
            e->line = line;
            snprintf(e->msg, sizeof e->msg, "line %d holds the control byte 0x%02X", line, c);
            return false;
        }
        /* CRLF and a lone CR each end one line, as they end a record. */
        if (c == '\n' || (c == '\r' && (i + 1 == n || text[i + 1] != '\n'))) line++;
        i++;
    }
    return true;
}

static int fail(csv_reader *r, csv_err *e, int line, const char *msg)
{
    e->line = line;
    snprintf(e->msg, sizeof e->msg, "line %d: %s", line, msg);
    r->p = r->end;
    return -1;
}

/* A line break at p (CRLF, LF or CR): its length, or 0. */
static size_t newline(const csv_reader *r, const char *p)
{
    if (p >= r->end) return 0;
    if (*p == '\n') return 1;
    if (*p != '\r') return 0;
    return p + 1 < r->end && p[1] == '\n' ? 2 : 1;
}

int csv_next(csv_reader *r, arena *a, csv_record *out, csv_err *e)
{
    size_t nl;
    while ((nl = newline(r, r->p)) > 0) { /* blank lines */
        r->p += nl;
        r->line++;
    }
    if (r->p >= r->end) return 0;
    const char **cells = arena_alloc(a, sizeof *cells * 16);
    int n = 0, cap = 16;
    out->line = r->line;
    for (;;) {
        const char *p = r->p;
        char *cell;
        if (p < r->end && *p == '"') {
            int opened = r->line;
            /* The cell unquoted is never longer than it is quoted. */
            const char *q = ++p;
            size_t len = 0;
            cell = NULL;
            for (;;) {
                if (q >= r->end)
                    return fail(r, e, opened, "a quoted cell opened on this line is never closed");
                if (*q == '"') {
                    if (q + 1 < r->end && q[1] == '"') {
                        q += 2;
                        len++;
                        continue;
                    }
                    break;
                }
                size_t k = newline(r, q);
                if (k) {
                    r->line++;
                    q += k;
                    len += k;
                    continue;
                }
                q++;
                len++;
            }
            cell = arena_alloc(a, len + 1);
            size_t w = 0;
            for (const char *s = p; s < q; s++) {
                cell[w++] = *s;
                if (*s == '"') s++; /* the second of a doubled quote */
            }
            cell[w] = '\0';
            r->p = q + 1;
            if (r->p < r->end && *r->p != ',' && !newline(r, r->p))
                return fail(r, e, r->line,
                            "text follows a closing quote; a quote inside a quoted cell is "
                            "written twice (\"\")");
        } else {
            const char *q = p;
            while (q < r->end && *q != ',' && *q != '"' && !newline(r, q))
                q++;
            if (q < r->end && *q == '"')
                return fail(r, e, r->line,
                            "a quote inside an unquoted cell; quote the whole cell and write the "
                            "quote twice (\"\")");
            cell = arena_strndup(a, p, (size_t)(q - p));
            r->p = q;
        }
        if (n == CSV_MAX_CELLS) {
            char msg[80];
            snprintf(msg, sizeof msg, "more than %d cells", CSV_MAX_CELLS);
            return fail(r, e, out->line, msg);
        }
        if (n == cap) {
            const char **grown = arena_alloc(a, sizeof *grown * (size_t)cap * 2);
            memcpy(grown, cells, sizeof *cells * (size_t)n);
            cells = grown, cap *= 2;
        }
        cells[n++] = cell;
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        nl = newline(r, r->p);
        r->p += nl;
        if (nl) r->line++;
        break;
    }
    out->cells = cells;
    out->n = n;
    return 1;
}
