/* store.c - picks the backend for a database URL (postgres:// or
 * postgresql:// is PostgreSQL, anything else a SQLite path) and dispatches
 * every store.h call to it; keeps what the backends share beyond SQL (the
 * server's secret once found). Nothing here knows SQL. */
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

void secret_memo_init(secret_memo *m)
{
    pthread_mutex_init(&m->mu, NULL);
    m->known = false;
}

void secret_memo_destroy(secret_memo *m)
{
    pthread_mutex_destroy(&m->mu);
}

int secret_memo_get(secret_memo *m, int (*find)(void *ctx, unsigned char *key, store_err *e),
                    void *ctx, unsigned char *out, store_err *e)
{
    pthread_mutex_lock(&m->mu);
    int rc = m->known ? STORE_OK : find(ctx, m->key, e);
    if (rc == STORE_OK) {
        m->known = true;
        memcpy(out, m->key, STORE_SECRET_LEN);
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int store_secret_make(unsigned char *key, store_err *e)
{
    if (RAND_bytes(key, STORE_SECRET_LEN) != 1)
        return store_fail(e, STORE_ERROR, "no random bytes for the server's secret");
    return STORE_OK;
}

void store_ws_add(store_ws_list *l, const char *ws, bool unique)
{
    for (int i = 0; unique && i < l->n; i++)
        if (strcmp(l->id[i], ws) == 0) return;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        void *p = realloc(l->id, sizeof *l->id * (size_t)cap);
        if (!p) return;
        l->id = p;
        l->cap = cap;
    }
    snprintf(l->id[l->n++], ID_MAX, "%s", ws);
}

static void add_each(const store_workspace *w, void *ud)
{
    store_ws_add(ud, w->id, false);
}

int store_workspace_ids(store_conn *c, store_ws_list *l, store_err *e)
{
    return store_workspace_each(c, add_each, l, e);
}

void store_ws_free(store_ws_list *l)
{
    free(l->id);
    *l = (store_ws_list){0};
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

int store_writers(const store *s)
{
    return s->ops->writers;
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
