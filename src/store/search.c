/* search.c - search words and workspace tags; see search.h. */
#include "store/search.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/ids.h"

static int is_word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

void search_tag(const char *workspace_id, char out[SEARCH_TAG_LEN + 1])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    /* Tags are stored in every search document, so their hash keeps the
     * seed they were first cut with (a digit short of FNV's offset basis,
     * harmless for spreading). */
    uint64_t h = hash_more(1469598103934665603ull, workspace_id);
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

/* The base letter of U+00C0..U+017F, '.' where there is none: only letters
 * whose Unicode decomposition is a base letter plus marks (so not æ, ø, ß,
 * đ, ł), the ones FTS5's unicode61 tokenizer folds too. */
static const char fold_table[] = "AAAAAA.CEEEEIIII"
                                 ".NOOOOO..UUUUY.."
                                 "aaaaaa.ceeeeiiii"
                                 ".nooooo..uuuuy.y"
                                 "AaAaAaCcCcCcCcDd"
                                 "..EeEeEeEeEeGgGg"
                                 "GgGgHh..IiIiIiIi"
                                 "I...JjKk.LlLlLl."
                                 "...NnNnNn...OoOo"
                                 "Oo..RrRrRrSsSsSs"
                                 "SsTtTt..UuUuUuUu"
                                 "UuUuWwYyYZzZzZz.";

size_t search_fold(const char *w, size_t n, char *out)
{
    const unsigned char *p = (const unsigned char *)w;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0xC3 && p[i] <= 0xC5 && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
            unsigned cp = ((p[i] & 0x1Fu) << 6) | (p[i + 1] & 0x3Fu);
            char base = fold_table[cp - 0xC0];
            if (base != '.') {
                out[k++] = base;
                i++;
                continue;
            }
        }
        out[k++] = (char)p[i];
    }
    return k;
}

typedef struct doc_ctx {
    buf *b;
    const char *tag;
    bool fold;
} doc_ctx;

static void doc_word(const char *w, size_t n, void *ud)
{
    doc_ctx *d = ud;
    buf_putc(d->b, ' ');
    buf_puts(d->b, d->tag);
    if (!d->fold) {
        buf_append(d->b, w, n);
        return;
    }
    char small[256];
    char *out = n <= sizeof small ? small : malloc(n);
    if (!out) abort();
    buf_append(d->b, out, search_fold(w, n, out));
    if (out != small) free(out);
}

void search_doc_append(buf *b, const char *tag, const char *s, bool fold)
{
    doc_ctx d = {b, tag, fold};
    search_words(s, doc_word, &d);
}
