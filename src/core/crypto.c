/* crypto.c - base64, HMAC and sealed secrets; see crypto.h. */
#include "core/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NONCE         12
#define TAG           16
#define SEALED_PREFIX "s1."

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_encode(const void *in, size_t n, char *out)
{
    const unsigned char *p = in;
    char *o = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        *o++ = b64[(v >> 18) & 63];
        *o++ = b64[(v >> 12) & 63];
        *o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *o = '\0';
    return (size_t)(o - out);
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool b64_decode(const char *s, size_t n, unsigned char *out, size_t *out_len)
{
    if (n % 4) return false;
    size_t k = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            char c = s[i + j];
            /* Padding only at the very end, at most two. */
            if (c == '=' && i + 4 == n && j >= 2 && (j == 3 || s[i + 3] == '=')) {
                v[j] = 0;
                pad++;
                continue;
            }
            if (pad || (v[j] = b64_value(c)) < 0) return false;
        }
        uint32_t x =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[k++] = (unsigned char)(x >> 16);
        if (pad < 2) out[k++] = (unsigned char)(x >> 8);
        if (pad < 1) out[k++] = (unsigned char)x;
    }
    *out_len = k;
    return true;
}

void hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                 unsigned char out[HMAC_SHA256_LEN])
{
    unsigned int len = HMAC_SHA256_LEN;
    if (!HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &len)) abort();
}

static unsigned char key[32], sign_key[32];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static bool key_set;

static void key_random(void)
{
    if (!key_set &&
        (RAND_bytes(key, sizeof key) != 1 || RAND_bytes(sign_key, sizeof sign_key) != 1))
        abort();
}

void crypto_set_secret(const unsigned char *secret, size_t n)
{
    static const char label[] = "cairn sealed secrets v1";
    static const char sign_label[] = "cairn signed urls v1";
    hmac_sha256(secret, n, label, sizeof label - 1, key);
    hmac_sha256(secret, n, sign_label, sizeof sign_label - 1, sign_key);
    key_set = true;
}

void crypto_sign(const void *msg, size_t n, unsigned char out[HMAC_SHA256_LEN])
{
    pthread_once(&key_once, key_random);
    hmac_sha256(sign_key, sizeof sign_key, msg, n, out);
}

char *crypto_seal(arena *a, const char *plain)
{
    pthread_once(&key_once, key_random);
    size_t pn = strlen(plain), n = NONCE + pn + TAG;
    unsigned char *raw = arena_alloc(a, n);
    int len = 0;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    bool ok = x && RAND_bytes(raw, NONCE) == 1 &&
              EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, raw) == 1 &&
              EVP_EncryptUpdate(x, raw + NONCE, &len, (const unsigned char *)plain, (int)pn) == 1 &&
              EVP_EncryptFinal_ex(x, raw + NONCE + len, &len) == 1 &&
              EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, TAG, raw + n - TAG) == 1;
    EVP_CIPHER_CTX_free(x);
    if (!ok) abort(); /* the crypto library failing here is not a client's problem */
    char *out = arena_alloc(a, sizeof SEALED_PREFIX + B64_LEN(n));
    memcpy(out, SEALED_PREFIX, sizeof SEALED_PREFIX - 1);
    b64_encode(raw, n, out + sizeof SEALED_PREFIX - 1);
    return out;
}

char *crypto_open(arena *a, const char *sealed)
{
    pthread_once(&key_once, key_random);
    if (!sealed || strncmp(sealed, SEALED_PREFIX, sizeof SEALED_PREFIX - 1)) return NULL;
    const char *s = sealed + sizeof SEALED_PREFIX - 1;
    size_t sn = strlen(s), n = 0;
    unsigned char *raw = arena_alloc(a, sn / 4 * 3 + 3);
    if (!b64_decode(s, sn, raw, &n) || n < NONCE + TAG) return NULL;
    size_t pn = n - NONCE - TAG;
    char *plain = arena_alloc(a, pn + 1);
    int len = 0;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    bool ok = x && EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, raw) == 1 &&
              EVP_DecryptUpdate(x, (unsigned char *)plain, &len, raw + NONCE, (int)pn) == 1 &&
              EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, TAG, raw + n - TAG) == 1 &&
              EVP_DecryptFinal_ex(x, (unsigned char *)plain + len, &len) == 1;
    EVP_CIPHER_CTX_free(x);
    if (!ok || memchr(plain, '\0', pn)) return NULL;
    plain[pn] = '\0';
    return plain;
}
