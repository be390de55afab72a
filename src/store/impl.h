/* impl.h - what a store backend implements; private to src/store/.
 *
 * Owns: the backend vtable (generated from store_ops.def) and the base
 * structs every backend embeds first in its own, so store.c can dispatch
 * without knowing which database it talks to. */
#ifndef CAIRN_STORE_IMPL_H
#define CAIRN_STORE_IMPL_H

#include "store/store.h"

typedef struct store_ops {
    const char *name;
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

extern const store_ops store_sqlite_ops;
extern const store_ops store_postgres_ops;

#endif
