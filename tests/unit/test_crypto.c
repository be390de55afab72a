/* test_crypto.c - src/core/crypto: base64, SHA-256 and HMAC-SHA256
 * (standard vectors and the Standard Webhooks example signature), AES-GCM
 * with associated data, sealed secrets. */
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "test.h"

TEST(crypto_base64_round_trips_and_refuses)
{
    static const struct {
        const char *plain, *enc;
    } cases[] = {{"", ""},
                 {"f", "Zg=="},
                 {"fo", "Zm8="},
                 {"foo", "Zm9v"},
                 {"foob", "Zm9vYg=="},
                 {"fooba", "Zm9vYmE="},
                 {"foobar", "Zm9vYmFy"},
                 {"\xfb\xff", "+/8="}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        size_t n = b64_encode(cases[i].plain, strlen(cases[i].plain), out);
        CHECK_STR(out, cases[i].enc);
        CHECK_EQ_INT(n, strlen(cases[i].enc));
        unsigned char back[64];
        size_t bn = 0;
        CHECK(b64_decode(out, n, back, &bn));
        CHECK_EQ_INT(bn, strlen(cases[i].plain));
        CHECK(memcmp(back, cases[i].plain, bn) == 0);
    }
    static const char *const bad[] = {"Zg", "Zg=", "Z===", "Zm=v", "Zm9v\n", "Zm9-", "=Zm9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char back[16];
        size_t bn = 0;
        if (!CHECK(!b64_decode(bad[i], strlen(bad[i]), back, &bn)))
            test_fail(__FILE__, __LINE__, "%s", bad[i]);
    }
}

/* The example of the Standard Webhooks specification: its secret, message
 * id, timestamp and body give this signature. */
TEST(crypto_hmac_signs_the_standard_webhooks_example)
{
    const char *secret = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    unsigned char key[64];
    size_t kn = 0;
    CHECK(b64_decode(secret, strlen(secret), key, &kn));
    const char *msg = "msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}";
    unsigned char mac[HMAC_SHA256_LEN];
    hmac_sha256(key, kn, msg, strlen(msg), mac);
    char sig[B64_LEN(HMAC_SHA256_LEN) + 1];
    b64_encode(mac, sizeof mac, sig);
    CHECK_STR(sig, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* FIPS 180-2's "abc", and RFC 4231's test cases 1, 2 and 6: a key shorter
 * than the message, a short key, and a key of 131 bytes (longer than a
 * block, so hashed first). */
TEST(crypto_sha256_and_hmac_match_the_standards)
{
    unsigned char d[SHA256_LEN];
    char h[2 * SHA256_LEN + 1];
    sha256("abc", 3, d);
    hex(d, sizeof d, h);
    CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    unsigned char k1[20], k6[131];
    memset(k1, 0x0b, sizeof k1);
    memset(k6, 0xaa, sizeof k6);
    static const char m6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    const struct {
        const void *key;
        size_t kn;
        const char *msg, *mac;
    } cases[] = {
        {k1, sizeof k1, "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", 4, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {k6, sizeof k6, m6, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char mac[HMAC_SHA256_LEN];
        hmac_sha256(cases[i].key, cases[i].kn, cases[i].msg, strlen(cases[i].msg), mac);
        hex(mac, sizeof mac, h);
        if (!CHECK_STR(h, cases[i].mac)) test_fail(__FILE__, __LINE__, "case %zu", i);
    }
}

/* What list cursors use: the associated data must match too. */
TEST(crypto_aead_opens_only_with_its_key_and_data)
{
    unsigned char key[CRYPTO_KEY_LEN], other[CRYPTO_KEY_LEN];
    memset(key, 7, sizeof key);
    memset(other, 8, sizeof other);
    const char *plain = "42|tAcme";
    size_t n = strlen(plain) + CRYPTO_SEAL_OVERHEAD;
    unsigned char sealed[64], again[64];
    char back[64] = "";
    crypto_aead_seal(key, "ws|contacts|", 12, plain, strlen(plain), sealed);
    crypto_aead_seal(key, "ws|contacts|", 12, plain, strlen(plain), again);
    CHECK(memcmp(sealed, again, n) != 0); /* a fresh nonce each time */
    CHECK(crypto_aead_open(key, "ws|contacts|", 12, sealed, n, back));
    CHECK(memcmp(back, plain, strlen(plain)) == 0);
    CHECK(!crypto_aead_open(key, "ws|companies|", 13, sealed, n, back));
    CHECK(!crypto_aead_open(key, NULL, 0, sealed, n, back));
    CHECK(!crypto_aead_open(other, "ws|contacts|", 12, sealed, n, back));
    CHECK(!crypto_aead_open(key, "ws|contacts|", 12, sealed, n - 1, back));
    CHECK(!crypto_aead_open(key, "ws|contacts|", 12, sealed, CRYPTO_SEAL_OVERHEAD - 1, back));
    sealed[CRYPTO_NONCE_LEN] ^= 1;
    CHECK(!crypto_aead_open(key, "ws|contacts|", 12, sealed, n, back));
    /* Nothing to hide but the data it is bound to. */
    crypto_aead_seal(key, "ad", 2, "", 0, sealed);
    CHECK(crypto_aead_open(key, "ad", 2, sealed, CRYPTO_SEAL_OVERHEAD, back));
    CHECK(!crypto_aead_open(key, "AD", 2, sealed, CRYPTO_SEAL_OVERHEAD, back));
}

TEST(crypto_seal_opens_only_what_it_sealed)
{
    arena a;
    arena_init(&a);
    crypto_set_secret((const unsigned char *)"0123456789abcdef0123456789abcdef", 32);
    const char *plain = "smtp password \xc3\xa9";
    char *s1 = crypto_seal(&a, plain), *s2 = crypto_seal(&a, plain);
    CHECK(strncmp(s1, "s1.", 3) == 0);
    CHECK(strcmp(s1, s2) != 0); /* a fresh nonce each time */
    CHECK(!strstr(s1, "smtp"));
    CHECK_STR(crypto_open(&a, s1), plain);
    CHECK_STR(crypto_open(&a, crypto_seal(&a, "")), "");
    /* Altered, truncated, foreign or not sealed at all: NULL. */
    char *bent = arena_strdup(&a, s1);
    bent[10] = bent[10] == 'A' ? 'B' : 'A';
    CHECK(crypto_open(&a, bent) == NULL);
    CHECK(crypto_open(&a, arena_strndup(&a, s1, strlen(s1) - 4)) == NULL);
    CHECK(crypto_open(&a, "plain text") == NULL);
    CHECK(crypto_open(&a, "s1.") == NULL);
    CHECK(crypto_open(&a, NULL) == NULL);
    crypto_set_secret((const unsigned char *)"another secret, another key.....", 32);
    CHECK(crypto_open(&a, s1) == NULL);
    arena_release(&a);
}
