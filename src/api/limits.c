/* limits.c - per-key limits: a mutex-guarded open-addressing table of
 * in-flight counts and token buckets; see limits.h. The critical section is
 * a few arithmetic operations, far cheaper than the request it guards. */
#include "api/limits.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "core/timeutil.h"

#define SLOTS 4096

typedef struct slot {
    char key[ID_MAX];
    int inflight;
    double tokens;
    uint64_t last_ns;
} slot;

static slot table[SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static slot *find(const char *key)
{
    uint64_t h = hash_str(key);
    for (unsigned i = 0; i < SLOTS; i++) {
        slot *s = &table[(h + i) % SLOTS];
        if (s->key[0] == '\0') {
            snprintf(s->key, sizeof s->key, "%s", key);
            s->tokens = -1; /* bucket not started */
            return s;
        }
        if (strcmp(s->key, key) == 0) return s;
    }
    return NULL; /* more than SLOTS live keys: do not limit rather than fail */
}

bool limits_enter(const char *key_id, int max_conc, int rate, limit_result *out)
{
    memset(out, 0, sizeof *out);
    if (max_conc <= 0 && rate <= 0) return true;
    pthread_mutex_lock(&mu);
    slot *s = find(key_id);
    bool ok = true;
    if (s) {
        if (max_conc > 0 && s->inflight >= max_conc) {
            ok = false;
            out->concurrency = true;
            out->retry_after = 1;
        }
        if (ok && rate > 0) {
            uint64_t now = time_mono_ns();
            if (s->tokens < 0) {
                s->tokens = rate;
                s->last_ns = now;
            }
            s->tokens += (double)(now - s->last_ns) / 1e9 * rate;
            if (s->tokens > rate) s->tokens = rate;
            s->last_ns = now;
            if (s->tokens < 1) {
                ok = false;
                out->retry_after = (int)ceil((1 - s->tokens) / rate);
                if (out->retry_after < 1) out->retry_after = 1;
            } else {
                s->tokens -= 1;
            }
            out->remaining = (int)s->tokens;
            out->reset = (int)ceil((rate - s->tokens) / rate);
        }
        if (ok) s->inflight++;
    }
    pthread_mutex_unlock(&mu);
    return ok;
}

void limits_leave(const char *key_id)
{
    pthread_mutex_lock(&mu);
    slot *s = find(key_id);
    if (s && s->inflight > 0) s->inflight--;
    pthread_mutex_unlock(&mu);
}
