/* impl.h - what a store backend implements; private to src/store/.
 *
 * Owns: the backend vtable (generated from store_ops.def) and the base
 * structs every backend embeds first in its own, so store.c can dispatch
 * without knowing which database it talks to. */
#ifndef CAIRN_STORE_IMPL_H
#define CAIRN_STORE_IMPL_H

#include <pthread.h>

#include "store/store.h"

typedef struct store_ops {
    const char *name;
    int writers; /* connections that may write at once; 0: any number */
    int (*open)(store **out, const char *url, const store_opts *opts, store_err *e);
    void (*close)(store *s);
    int (*connect)(store *s, store_conn **out, store_err *e);
#define STORE_OP(ret, name, params, args) ret(*name) params;
#define STORE_VOID(name, params, args)    void(*name) params;
#include "store/store_ops.def"
#undef STORE_OP
#undef STORE_VOID
} store_ops;

struct store {
    const store_ops *ops;
};

struct store_conn {
    const store_ops *ops;
};

/* Fills e (when given) and returns code: `return store_fail(e, ...)`. */
int store_fail(store_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* STORE_RANGE's message: what leaves the range and where. */
#define STORE_RANGE_FMT "%s: a total would leave the 64-bit range"

/* The server's secret as a store holds it once found, for every
 * connection of the store (store_secret). */
typedef struct secret_memo {
    pthread_mutex_t mu;
    bool known;
    unsigned char key[STORE_SECRET_LEN];
} secret_memo;

void secret_memo_init(secret_memo *m);
void secret_memo_destroy(secret_memo *m);
/* Copies the key to out, found first by find(ctx) when not known yet: once
 * per store, under the memo's lock. */
int secret_memo_get(secret_memo *m, int (*find)(void *ctx, unsigned char *key, store_err *e),
                    void *ctx, unsigned char *out, store_err *e);
/* A new secret, from OpenSSL's random generator. */
int store_secret_make(unsigned char *key, store_err *e);

/* The store status of a PostgreSQL SQLSTATE (NULL: none came), on a
 * connection that is still up (postgres.c; tests/unit/test_pg.c). */
int pg_state_status(const char *state);

extern const store_ops store_sqlite_ops;
extern const store_ops store_postgres_ops;

#endif
