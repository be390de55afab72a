/* crypto.h - the primitives stored secrets and signatures need.
 *
 * Owns: standard base64 (RFC 4648 with padding, as Standard Webhooks
 * signatures and whsec_ secrets use it), SHA-256 and HMAC-SHA256,
 * AES-256-GCM under a caller's key (list cursors), and sealing a
 * secret before it is stored (webhook signing secrets, SMTP passwords):
 * AES-256-GCM under a key derived from the server's secret, so a copy of
 * the database alone does not give the secrets away. A sealed value is
 * text: "s1." + base64(12-byte nonce | ciphertext | 16-byte tag). */
#ifndef CAIRN_CRYPTO_H
#define CAIRN_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"

#define SHA256_LEN       32
#define HMAC_SHA256_LEN  32
#define CRYPTO_KEY_LEN   32 /* AES-256 */
#define CRYPTO_NONCE_LEN 12
#define CRYPTO_TAG_LEN   16
/* What sealing adds to a plaintext: the nonce before it, the tag after. */
#define CRYPTO_SEAL_OVERHEAD (CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN)

/* Characters base64 of n bytes takes, without the NUL. */
#define B64_LEN(n) (4 * (((n) + 2) / 3))

/* Writes base64 of in[0..n) and a NUL into out (B64_LEN(n) + 1 bytes);
 * returns its length. */
size_t b64_encode(const void *in, size_t n, char *out);
/* Decodes base64 text s[0..n) (padding required, no whitespace) into out
 * (at least n / 4 * 3 bytes); false when it is not base64. */
bool b64_decode(const char *s, size_t n, unsigned char *out, size_t *out_len);

void sha256(const void *msg, size_t n, unsigned char out[SHA256_LEN]);
void hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                 unsigned char out[HMAC_SHA256_LEN]);

/* AES-256-GCM of plain[0..n) bound to ad[0..adn) (authenticated, not
 * encrypted; adn 0: none) into out: a random nonce, the ciphertext, the
 * tag (n + CRYPTO_SEAL_OVERHEAD bytes). */
void crypto_aead_seal(const unsigned char key[CRYPTO_KEY_LEN], const void *ad, size_t adn,
                      const void *plain, size_t n, unsigned char *out);
/* The reverse, into plain (n - CRYPTO_SEAL_OVERHEAD bytes); false when
 * sealed[0..n) is too short, or was sealed under another key or ad, or
 * altered. */
bool crypto_aead_open(const unsigned char key[CRYPTO_KEY_LEN], const void *ad, size_t adn,
                      const unsigned char *sealed, size_t n, void *plain);

/* Derives the sealing key from the server's secret (main.c, at start).
 * Without it (unit tests, tools) a random key serves the process. */
void crypto_set_secret(const unsigned char *secret, size_t n);
/* HMAC-SHA256 of msg under a key derived from the same server secret
 * (apart from the sealing key): signed URLs (an asset's upload and
 * download links) that only this server, or a node sharing its secret,
 * makes and accepts. */
void crypto_sign(const void *msg, size_t n, unsigned char out[HMAC_SHA256_LEN]);
/* The sealed form of text `plain`, in a. */
char *crypto_seal(arena *a, const char *plain);
/* The text sealed in `sealed`, in a; NULL when it is not a sealed value
 * or was sealed under another key or altered. */
char *crypto_open(arena *a, const char *sealed);

#endif
