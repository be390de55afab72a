/* buf.h - growable byte buffer with a size cap from birth.
 *
 * Owns: its heap storage (buf_free releases it). Appending past the cap sets
 * `overflow` and drops the bytes instead of growing without bound, so the
 * caller checks once at the end rather than after every append. */
#ifndef CAIRN_BUF_H
#define CAIRN_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;   /* allocated */
    size_t limit; /* never grow past this */
    bool overflow;
} buf;

void buf_init(buf *b, size_t limit);
void buf_free(buf *b);
void buf_reset(buf *b);
/* Makes room for n more bytes up front (a response's usual size), so
 * appends do not grow the buffer step by step. */
void buf_reserve(buf *b, size_t n);
void buf_append(buf *b, const void *p, size_t n);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminates without counting the NUL in len; returns data. */
const char *buf_cstr(buf *b);

#endif
