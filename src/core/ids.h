/* ids.h - identifiers, tokens and hashes.
 *
 * Owns: the id format (type prefix + 26-char Crockford base32 of a 48-bit
 * millisecond time and 80 random bits, monotonic within a thread so ids made
 * in one millisecond still sort in creation order), API token generation and
 * token hashing. Time-ordered ids keep inserts at the right edge of every
 * index instead of scattering writes. */
#ifndef CAIRN_IDS_H
#define CAIRN_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ID_BODY_LEN    26
#define ID_MAX         48 /* prefix + '_' + body + NUL, with room to spare */
#define TOKEN_HASH_HEX 65 /* sha256 hex + NUL */

/* Writes "<prefix>_<26 chars>" into out (ID_MAX bytes). */
void id_new(char out[ID_MAX], const char *prefix);
/* True when s looks like an id with this prefix (cheap shape check). */
bool id_valid(const char *s, const char *prefix);
/* Fills buf with n cryptographically random bytes. */
void rand_bytes(void *buf, size_t n);
/* "ck_" + 44 base64url chars (33 random bytes). out must hold 64 bytes. */
void token_new(char out[64]);
/* FNV-1a of a string: a fast non-cryptographic hash for table slots and
 * cache keys (never for anything a client could exploit). */
#define HASH_SEED 14695981039346656037ull /* FNV-1a 64's offset basis */
uint64_t hash_str(const char *s);
/* The hash of s continued from h, so that several strings hash as one:
 * hash_more(hash_str(a), b). */
uint64_t hash_more(uint64_t h, const char *s);
/* A hash of n bytes a word at a time, for long keys (SQL text keys the
 * statement caches): byte-at-a-time FNV-1a of a 500-byte statement was 3%
 * of the writer's time in the journal benchmark. Not hash_str's value. */
uint64_t hash_bytes(const void *p, size_t n);
/* hash_str of s with ASCII letters folded to lower case, for keys that
 * compare without case. */
uint64_t hash_str_nocase(const char *s);
/* Lower-case hex SHA-256 of s. */
void sha256_hex(const void *s, size_t n, char out[TOKEN_HASH_HEX]);

#endif
