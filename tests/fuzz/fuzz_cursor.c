/* fuzz_cursor.c - libFuzzer target: list cursors (src/resources/cursor.c),
 * compiled into this file so that the harness can seal with the file's
 * own key and associated data.
 *
 * Input: a mode byte, a resource byte and a sort byte (the list the cursor
 * is for: a resource of the table, and no sort, created_at or one of its
 * sortable fields, ascending or descending), then:
 *   mode 0  a string a client sends as ?cursor=: it must not open, since
 *           only the server seals (AES-GCM: a forgery is a bug);
 *   mode 1  a position in clear, sealed here for that list: the decoder's
 *           parsing of what it opened must hold up to any plaintext;
 *   mode 2  a row's position (rid, then the sort value: null, or bytes for
 *           the field's type, text being characters up to the field's
 *           length): its cursor must open for that list to the same
 *           position, and not for another workspace, resource or sort. */
#include <openssl/evp.h>

#include "fuzz.h"

#include "resources/cursor.c"

static const char *const WS = "wrk_fuzz", *const OTHER_WS = "wrk_other";

/* The list: its sort parameter as a client gives it (NULL: none) and the
 * field it sorts by, as the engine's parse_query sets them. */
typedef struct list {
    const res_def *r;
    const char *sort;
    const res_field *by;
} list;

static list pick(uint8_t res, uint8_t sort, arena *a)
{
    list l = {.r = res_table[res % res_count]};
    int nsort = 0;
    for (int i = 0; i < l.r->nfields; i++)
        nsort += (l.r->fields[i].flags & RF_SORT) != 0;
    int k = (sort & 0x7f) % (nsort + 2);
    const char *dash = sort & 0x80 ? "-" : "";
    if (k == 0) {
        if (l.r->default_sort) l.by = &l.r->fields[res_field_index(l.r, l.r->default_sort)];
    } else if (k == 1) {
        l.sort = arena_printf(a, "%screated_at", dash);
    } else {
        for (int i = 0; i < l.r->nfields; i++)
            if ((l.r->fields[i].flags & RF_SORT) && --k == 1) l.by = &l.r->fields[i];
        l.sort = arena_printf(a, "%s%s", dash, l.by->name);
    }
    return l;
}

static bool open_for(arena *a, const char *ws, const list *l, const char *cur, store_query *sq)
{
    *sq = (store_query){.sort_by = l->by};
    return cursor_decode(a, ws, l->r, l->sort, cur, sq);
}

/* Seals plain[0..n) for list l as cursor_encode seals a position. */
static char *seal(arena *a, const list *l, const uint8_t *plain, size_t n)
{
    pthread_once(&key_once, key_random);
    buf ad;
    buf_init(&ad, 4096);
    aad(&ad, WS, l->r, l->sort);
    size_t rn = CRYPTO_NONCE_LEN + n + CRYPTO_TAG_LEN;
    unsigned char *raw = arena_alloc(a, rn);
    int len = 0;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    bool ok = x && RAND_bytes(raw, CRYPTO_NONCE_LEN) == 1 &&
              EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, raw) == 1 &&
              EVP_EncryptUpdate(x, NULL, &len, (unsigned char *)ad.data, (int)ad.len) == 1 &&
              EVP_EncryptUpdate(x, raw + CRYPTO_NONCE_LEN, &len, plain, (int)n) == 1 &&
              EVP_EncryptFinal_ex(x, raw + CRYPTO_NONCE_LEN + len, &len) == 1 &&
              EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN,
                                  raw + rn - CRYPTO_TAG_LEN) == 1;
    EVP_CIPHER_CTX_free(x);
    buf_free(&ad);
    if (!ok) FZ_FAIL("sealing failed");
    /* Base64 by OpenSSL, then the URL alphabet without padding. */
    char *out = arena_alloc(a, rn * 2 + 8);
    int m = EVP_EncodeBlock((unsigned char *)out, raw, (int)rn);
    while (m > 0 && out[m - 1] == '=')
        m--;
    out[m] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

static int64_t read_i64(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | (*p < end ? *(*p)++ : 0);
    return (int64_t)v;
}

static void roundtrip(arena *a, const list *l, const uint8_t *p, const uint8_t *end)
{
    /* Rows come from the store with rid >= 1. */
    int64_t rid = (int64_t)((uint64_t)read_i64(&p, end) % INT64_MAX) + 1;
    bool null = p < end && (*p++ & 1);
    store_val v = {.kind = SV_NULL};
    if (l->by && !null) {
        switch (l->by->type) {
        case FT_INT:
        case FT_MONEY:
        case FT_BOOL:
        case FT_DATETIME: v = sv_int(read_i64(&p, end)); break;
        case FT_NUMBER: {
            int64_t bits = read_i64(&p, end);
            v.kind = SV_REAL;
            memcpy(&v.d, &bits, sizeof v.d);
            break;
        }
        default: {
            /* Text as the store holds it: valid UTF-8, up to the field's
             * length in characters. Each input byte is one character of
             * 1 to 4 bytes (ASCII, Latin-1, CJK, emoji by its top bits),
             * so mutations reach every byte length a field allows; a rank
             * (deals' position) is made of rank.c's digits only. */
            size_t n = (size_t)(end - p), max = (size_t)res_field_max(l->by);
            if (n > max) n = max;
            char *t = arena_alloc(a, 4 * n + 1), *o = t;
            for (size_t i = 0; i < n; i++) {
                unsigned b = p[i];
                if (l->by->type == FT_RANK)
                    b = (unsigned char)"0123456789abcdefghijklmnopqrstuvwxyz"[b % 36]; /* rank.c's
                                                                                          digits */
                uint32_t cp = b < 0x80   ? (b ? b : ' ')
                              : b < 0xc0 ? 0xc0 + (b - 0x80)
                              : b < 0xf0 ? 0x4e00 + (b - 0xc0)
                                         : 0x1f600 + (b - 0xf0);
                if (cp < 0x80) {
                    *o++ = (char)cp;
                } else if (cp < 0x800) {
                    *o++ = (char)(0xc0 | cp >> 6);
                    *o++ = (char)(0x80 | (cp & 0x3f));
                } else if (cp < 0x10000) {
                    *o++ = (char)(0xe0 | cp >> 12);
                    *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
                    *o++ = (char)(0x80 | (cp & 0x3f));
                } else {
                    *o++ = (char)(0xf0 | cp >> 18);
                    *o++ = (char)(0x80 | (cp >> 12 & 0x3f));
                    *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
                    *o++ = (char)(0x80 | (cp & 0x3f));
                }
            }
            *o = '\0';
            v = sv_text(t);
        }
        }
    }
    res_row row = {.rid = rid, .vals = arena_zalloc(a, sizeof(store_val) * (size_t)l->r->nfields)};
    if (l->by) row.vals[l->by - l->r->fields] = v;
    store_query sq = {.sort_by = l->by};
    char *cur = cursor_encode(a, WS, l->r, l->sort, &row, &sq);
    if (!open_for(a, WS, l, cur, &sq))
        FZ_FAIL("%s sort=%s: its own cursor (%zu characters) does not open", l->r->name,
                l->sort ? l->sort : "", strlen(cur));
    if (sq.after_rid != rid)
        FZ_FAIL("rid %lld came back %lld", (long long)rid, (long long)sq.after_rid);
    if (l->by) {
        const store_val *w = &sq.after_val;
        bool same = w->kind == v.kind && (v.kind != SV_INT || w->i == v.i) &&
                    (v.kind != SV_TEXT || strcmp(w->s, v.s) == 0) &&
                    (v.kind != SV_REAL || w->d == v.d || (v.d != v.d && w->d != w->d));
        if (!same) FZ_FAIL("%s: the sort value came back changed", l->r->name);
    }
    list other = *l;
    if (open_for(a, OTHER_WS, l, cur, &sq)) FZ_FAIL("a cursor opened in another workspace");
    other.r = res_table[(l->r->id + 1) % res_count];
    if (other.r != l->r && open_for(a, WS, &other, cur, &sq))
        FZ_FAIL("a cursor of %s opened for %s", l->r->name, other.r->name);
    other = *l;
    other.sort = l->sort ? NULL : "created_at";
    if (open_for(a, WS, &other, cur, &sq)) FZ_FAIL("a cursor opened for another sort");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    arena a;
    arena_init(&a);
    list l = pick(data[1], data[2], &a);
    const uint8_t *p = data + 3, *end = data + size;
    store_query sq;
    switch (data[0] % 3) {
    case 0:
        if (open_for(&a, WS, &l, arena_strndup(&a, (const char *)p, (size_t)(end - p)), &sq))
            FZ_FAIL("a cursor the server never sealed opened");
        break;
    case 1:
        if (open_for(&a, WS, &l, seal(&a, &l, p, (size_t)(end - p)), &sq) && sq.after_rid <= 0)
            FZ_FAIL("a position opened with rid %lld", (long long)sq.after_rid);
        break;
    default: roundtrip(&a, &l, p, end);
    }
    arena_release(&a);
    return 0;
}
