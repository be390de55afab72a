/* csv.h - RFC 4180 text read into records of cells.
 *
 * Owns: nothing but a position in the caller's text. A record is a line of
 * cells separated by commas and ended by CRLF, LF or a lone CR (or the end
 * of the text); a cell in double quotes may hold commas, line breaks and
 * quotes written twice (""). Blank lines are passed over and a UTF-8 byte
 * order mark at the start is dropped, as spreadsheets write them. Cells
 * are copied into the caller's arena, unquoted; a quoted cell's line
 * breaks stay as written.
 *
 * Strict where a guess would corrupt data: a quote inside an unquoted
 * cell, text after a closing quote, and a quoted cell never closed are
 * errors naming the line, not cells read some other way. csv_check()
 * refuses what is not text at all (ill-formed UTF-8, NUL and the other
 * control bytes but tab, CR and LF) before anything is read.
 *
 * Errors go into the caller's csv_err (a fixed buffer, never allocated). */
#ifndef CAIRN_CSV_H
#define CAIRN_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"

#define CSV_MAX_CELLS 512 /* cells of one record: more is an error */

typedef struct csv_err {
    int line; /* 1-based line of the text the error is on */
    char msg[200];
} csv_err;

typedef struct csv_record {
    const char **cells; /* n cells, NUL-terminated, in the arena */
    int n;
    int line; /* the line the record starts on */
} csv_record;

typedef struct csv_reader {
    const char *p, *end;
    int line; /* of p */
} csv_reader;

/* Starts reading text[0..n): borrowed until the last csv_next(). */
void csv_init(csv_reader *r, const char *text, size_t n);
/* The next record: 1 with it in *out, 0 after the last, -1 with e filled
 * (the reader is then spent). */
int csv_next(csv_reader *r, arena *a, csv_record *out, csv_err *e);
/* Whether text[0..n) is well-formed UTF-8 without control bytes other
 * than tab, CR and LF (NUL and DEL included): false with the line and the
 * byte in e. */
bool csv_check(const char *text, size_t n, csv_err *e);

#endif
