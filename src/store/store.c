/* store.c - picks the backend for a database URL (postgres:// or
 * postgresql:// is PostgreSQL, anything else a SQLite path) and dispatches
 * every store.h call to it. Nothing here knows SQL. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/impl.h"

int store_fail(store_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int store_open(store **out, const char *url, const store_opts *opts, store_err *e)
{
    if (!url || !*url) {
        snprintf(e->msg, sizeof e->msg, "empty database URL");
        return STORE_ERROR;
    }
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return store_postgres_ops.open(out, url, opts, e);
    return store_sqlite_ops.open(out, url, opts, e);
}

void store_close(store *s)
{
    if (s) s->ops->close(s);
}

int store_connect(store *s, store_conn **out, store_err *e)
{
    return s->ops->connect(s, out, e);
}

#define SELF c
#define STORE_OP(ret, name, params, args)                                                          \
    ret store_##name params                                                                        \
    {                                                                                              \
        return c->ops->name args;                                                                  \
    }
#define STORE_VOID(name, params, args)                                                             \
    void store_##name params                                                                       \
    {                                                                                              \
        c->ops->name args;                                                                         \
    }
#include "store/store_ops.def"
