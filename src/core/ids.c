/* ids.c - ids, tokens, hashes; see ids.h. */
#include "core/ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/crypto.h"
#include "core/timeutil.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void get_random(unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) abort(); /* no entropy source: nothing safe to do */
        p += r;
        n -= (size_t)r;
    }
}

/* The kernel's bytes, taken a block at a time: a system call costs about
 * a microsecond on a virtual machine (getrandom of 12 bytes 1.1 µs here),
 * more than an AES-GCM seal's own work. Per thread, so no lock; bytes
 * handed out are wiped from the block. Cairn never forks, which would
 * give a child its parent's next bytes. */
#define RAND_BLOCK 512

void rand_bytes(void *buf, size_t n)
{
    static _Thread_local unsigned char block[RAND_BLOCK];
    static _Thread_local size_t left;
    if (n > RAND_BLOCK / 4) {
        get_random(buf, n);
        return;
    }
    if (left < n) {
        get_random(block, sizeof block);
        left = sizeof block;
    }
    unsigned char *from = block + sizeof block - left;
    memcpy(buf, from, n);
    memset(from, 0, n);
    left -= n;
}

void id_new(char out[ID_MAX], const char *prefix)
{
    static _Thread_local uint64_t last_ms;
    static _Thread_local unsigned char last_rand[10];
    uint64_t ms = time_now_ms();
    unsigned char r[10];
    if (ms <= last_ms) {
        /* Same (or earlier: clock step) millisecond: increment the random
         * part so ids from this thread stay strictly increasing. */
        ms = last_ms;
        memcpy(r, last_rand, 10);
        for (int i = 9; i >= 0 && ++r[i] == 0; i--)
            ;
    } else {
        rand_bytes(r, sizeof r);
        r[0] &= 0x7f; /* headroom so increments do not wrap */
    }
    last_ms = ms;
    memcpy(last_rand, r, 10);

    size_t pl = strlen(prefix);
    memcpy(out, prefix, pl);
    out[pl] = '_';
    char *b = out + pl + 1;
    for (int i = 9; i >= 0; i--) {
        b[i] = crockford[ms & 31];
        ms >>= 5;
    }
    /* 80 random bits -> 16 chars of 5 bits. */
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 5; i++)
        hi = (hi << 8) | r[i];
    for (int i = 5; i < 10; i++)
        lo = (lo << 8) | r[i];
    for (int i = 7; i >= 0; i--) {
        b[10 + i] = crockford[hi & 31];
        hi >>= 5;
    }
    for (int i = 7; i >= 0; i--) {
        b[18 + i] = crockford[lo & 31];
        lo >>= 5;
    }
    b[ID_BODY_LEN] = '\0';
}

bool id_valid(const char *s, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(s, prefix, pl) != 0 || s[pl] != '_') return false;
    const char *b = s + pl + 1;
    for (int i = 0; i < ID_BODY_LEN; i++)
        if (!b[i] || !strchr(crockford, b[i])) return false;
    return b[ID_BODY_LEN] == '\0';
}

void token_new(char out[64])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char r[33];
    rand_bytes(r, sizeof r);
    memcpy(out, "ck_", 3);
    char *o = out + 3;
    for (int i = 0; i < 33; i += 3) {
        uint32_t v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | r[i + 2];
        *o++ = b64[(v >> 18) & 63];
        *o++ = b64[(v >> 12) & 63];
        *o++ = b64[(v >> 6) & 63];
        *o++ = b64[v & 63];
    }
    *o = '\0'; /* 3 + 44 chars */
}

uint64_t hash_more(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = HASH_SEED ^ (n * 0x9e3779b97f4a7c15ull);
    for (; n >= 8; b += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, b, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

uint64_t hash_str(const char *s)
{
    return hash_more(HASH_SEED, s);
}

uint64_t hash_str_nocase(const char *s)
{
    uint64_t h = HASH_SEED;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        h = (h ^ (ch >= 'A' && ch <= 'Z' ? ch + 32u : ch)) * 1099511628211ull;
    }
    return h;
}

void sha256_hex(const void *s, size_t n, char out[TOKEN_HASH_HEX])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[SHA256_LEN];
    sha256(s, n, d);
    /* Every request hashes its token: 32 snprintf calls were 3% of a GET. */
    for (int i = 0; i < SHA256_LEN; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * SHA256_LEN] = '\0';
}
