/* test_crypto.c - src/core/crypto: base64, HMAC-SHA256 (with the Standard
 * Webhooks example signature), sealed secrets. */
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
