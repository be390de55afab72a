/* search.c - search words and workspace tags; see search.h. */
#include "store/search.h"

#include <stdint.h>

#include "core/ids.h"

static int is_word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

void search_tag(const char *workspace_id, char out[SEARCH_TAG_LEN + 1])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint64_t h = hash_str(workspace_id);
    out[0] = 'w';
    for (int i = 1; i < SEARCH_TAG_LEN; i++) {
        out[i] = digits[h % 36];
        h /= 36;
    }
    out[SEARCH_TAG_LEN] = '\0';
}

int search_words(const char *s, void (*fn)(const char *w, size_t n, void *ud), void *ud)
{
    int n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        while (*p && !is_word_byte(*p))
            p++;
        const unsigned char *start = p;
        while (*p && is_word_byte(*p))
            p++;
        if (p > start) {
            fn((const char *)start, (size_t)(p - start), ud);
            n++;
        }
    }
    return n;
}

typedef struct doc_ctx {
    buf *b;
    const char *tag;
} doc_ctx;

static void doc_word(const char *w, size_t n, void *ud)
{
    doc_ctx *d = ud;
    buf_putc(d->b, ' ');
    buf_puts(d->b, d->tag);
    buf_append(d->b, w, n);
}

void search_doc_append(buf *b, const char *tag, const char *s)
{
    doc_ctx d = {b, tag};
    search_words(s, doc_word, &d);
}
