/* limits.h - per-key concurrency and rate limits.
 *
 * Owns: the in-process table of keys' in-flight counts and token buckets.
 * Limits are per server process (per node); see README for why. */
#ifndef CAIRN_LIMITS_H
#define CAIRN_LIMITS_H

#include <stdbool.h>

typedef struct limit_result {
    bool concurrency; /* refused for concurrency (else for rate) */
    int retry_after;  /* seconds */
    int remaining;    /* tokens left in the bucket */
    int reset;        /* seconds until the bucket is full */
} limit_result;

/* Takes a concurrency slot and a rate token; false when refused. max_conc
 * or rate <= 0 disables that limit. */
bool limits_enter(const char *key_id, int max_conc, int rate, limit_result *out);
void limits_leave(const char *key_id);

#endif
