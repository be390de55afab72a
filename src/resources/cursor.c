/* cursor.c - opaque list cursors; see cursor.h. */
#include "resources/cursor.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "resources/engine.h"

/* MAX_CURSOR: characters of a cursor (and bytes of a position), as many as
 * a URL holds. The longest position the table allows, a task title of 500
 * 4-byte characters, makes a cursor of 2,732; at 2,048 such a page's own
 * next cursor was refused. */
#define MAX_CURSOR 8192

static unsigned char key[CRYPTO_KEY_LEN];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static bool key_set;

/* Without a server secret (unit tests, tools) cursors still work, for the
 * life of the process. */
static void key_random(void)
{
    if (!key_set && RAND_bytes(key, sizeof key) != 1) abort();
}

void engine_set_secret(const unsigned char *secret, size_t n)
{
    static const char label[] = "cairn list cursor v1";
    hmac_sha256(secret, n, label, sizeof label - 1, key);
    key_set = true;
}

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* What the cursor is bound to: workspace, resource and sort. */
static void aad(buf *b, const char *ws, const res_def *r, const char *sort)
{
    buf_printf(b, "%s|%s|%s", ws ? ws : "", r->name, sort ? sort : "");
}

char *cursor_encode(arena *a, const char *ws, const res_def *r, const char *sort,
                    const res_row *last, const store_query *sq)
{
    pthread_once(&key_once, key_random);
    /* The position: "<rid>|<value>", the value typed (n null, i integer,
     * r real, t text) so the next page is an index range scan. */
    buf pos, ad;
    buf_init(&pos, MAX_CURSOR);
    buf_init(&ad, 4096);
    buf_printf(&pos, "%" PRId64 "|", last->rid);
    if (sq->sort_by) {
        const store_val *v = &last->vals[sq->sort_by - r->fields];
        switch (v->kind) {
        case SV_NULL: buf_putc(&pos, 'n'); break;
        case SV_INT: buf_printf(&pos, "i%" PRId64, v->i); break;
        case SV_REAL: buf_printf(&pos, "r%.17g", v->d); break;
        case SV_TEXT: buf_printf(&pos, "t%s", v->s); break;
        }
    }
    aad(&ad, ws, r, sort);
    size_t n = pos.len + CRYPTO_SEAL_OVERHEAD;
    unsigned char *raw = arena_alloc(a, n);
    crypto_aead_seal(key, ad.data, ad.len, pos.data, pos.len, raw);
    buf_free(&pos);
    buf_free(&ad);
    char *out = arena_alloc(a, n * 2 + 4), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16;
        if (i + 1 < n) v |= (uint32_t)raw[i + 1] << 8;
        if (i + 2 < n) v |= raw[i + 2];
        *o++ = b64u[(v >> 18) & 63];
        *o++ = b64u[(v >> 12) & 63];
        if (i + 1 < n) *o++ = b64u[(v >> 6) & 63];
        if (i + 2 < n) *o++ = b64u[v & 63];
    }
    *o = '\0';
    return out;
}

bool cursor_decode(arena *a, const char *ws, const res_def *r, const char *sort, const char *s,
                   store_query *sq)
{
    pthread_once(&key_once, key_random);
    size_t n = strlen(s), k = 0;
    if (n == 0 || n > MAX_CURSOR) return false;
    unsigned char *raw = arena_alloc(a, n);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = s[i] ? strchr(b64u, s[i]) : NULL;
        if (!p) return false;
        acc = (acc << 6) | (uint32_t)(p - b64u);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[k++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    if (k <= CRYPTO_SEAL_OVERHEAD) return false;
    size_t plen = k - CRYPTO_SEAL_OVERHEAD;
    char *pos = arena_alloc(a, plen + 1);
    buf ad;
    buf_init(&ad, 4096);
    aad(&ad, ws, r, sort);
    bool ok = crypto_aead_open(key, ad.data, ad.len, raw, k, pos);
    buf_free(&ad);
    if (!ok) return false;
    pos[plen] = '\0';
    if (strlen(pos) != plen) return false;
    /* Sealed by this server, so well formed; checked anyway. */
    char *bar = strchr(pos, '|'), *end;
    if (!bar) return false;
    *bar = '\0';
    errno = 0;
    long long rid = strtoll(pos, &end, 10);
    if (errno || end == pos || *end || rid <= 0) return false;
    sq->after_rid = rid;
    const char *v = bar + 1;
    if (!sq->sort_by) return v[0] == '\0';
    switch (v[0]) {
    case 'n': sq->after_val = (store_val){.kind = SV_NULL}; return v[1] == '\0';
    case 't': sq->after_val = (store_val){.kind = SV_TEXT, .s = v + 1}; return true;
    case 'i': {
        errno = 0;
        long long iv = strtoll(v + 1, &end, 10);
        sq->after_val = (store_val){.kind = SV_INT, .i = iv};
        return !errno && end != v + 1 && !*end;
    }
    case 'r': {
        double d = strtod(v + 1, &end);
        sq->after_val = (store_val){.kind = SV_REAL, .d = d};
        return end != v + 1 && !*end;
    }
    default: return false;
    }
}
