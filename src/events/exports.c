/* exports.c - the BI export worker; see exports.h. */
#include "events/exports.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/writer.h"
#include "core/timeutil.h"
#include "resources/engine.h"
#include "resources/hooks.h"

#define POLL_MS  1000
#define HOLD_KEY "bi#exports"
#define DUE_MAX  20 /* exports of a workspace taken per look */

static struct {
    store *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool stop;
    bool woken, started;
} X = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void wake(void)
{
    pthread_mutex_lock(&X.mu);
    X.woken = true;
    pthread_cond_broadcast(&X.cv);
    pthread_mutex_unlock(&X.mu);
}

/* A claim or an outcome, written through the writer and waited for. */
typedef struct write_job {
    writer_job j;
    const char *id;
    const bi_export_outcome *o; /* NULL: the claim */
    bool taken, finished;
} write_job;

static int claim_fn(engine_call *c, void *ud)
{
    write_job *w = ud;
    return bi_export_claim(c, w->id, &w->taken);
}

static int record_fn(engine_call *c, void *ud)
{
    write_job *w = ud;
    return bi_export_record(c, w->id, w->o);
}

static int job_run(writer_job *j, store_conn *conn)
{
    write_job *w = (write_job *)j;
    arena a;
    arena_init(&a);
    store_err e;
    int rc = engine_as_system(conn, &a, j->ws, w->o ? record_fn : claim_fn, w, &e);
    if (rc)
        fprintf(stderr,
                "{\"level\":\"error\",\"msg\":\"export %s not recorded\",\"store\":\"%s\"}\n",
                w->id, e.msg);
    arena_release(&a);
    return rc;
}

static void job_done(writer_job *j)
{
    pthread_mutex_lock(&X.mu);
    ((write_job *)j)->finished = true;
    pthread_cond_broadcast(&X.cv);
    pthread_mutex_unlock(&X.mu);
}

static int through_writer(write_job *w, const char *ws)
{
    w->j = (writer_job){.run = job_run, .ws = ws, .done = job_done};
    writer_submit(&w->j);
    pthread_mutex_lock(&X.mu);
    while (!w->finished)
        pthread_cond_wait(&X.cv, &X.mu);
    pthread_mutex_unlock(&X.mu);
    return w->j.rc;
}

typedef struct due_ctx {
    bool orphans;
    char ids[DUE_MAX][ID_MAX];
    int n;
} due_ctx;

static int due_fn(engine_call *c, void *ud)
{
    due_ctx *d = ud;
    return bi_exports_due(c, d->orphans, d->ids, DUE_MAX, &d->n);
}

typedef struct write_ctx {
    const char *id;
    bi_export_outcome out;
} write_ctx;

static int write_fn(engine_call *c, void *ud)
{
    write_ctx *w = ud;
    return bi_export_write(c, w->id, &w->out);
}

/* Runs one export: claimed, written, recorded. */
static void run_one(store_conn *conn, const char *ws, const char *id)
{
    write_job claim = {.id = id};
    if (through_writer(&claim, ws) != STORE_OK || !claim.taken) return;
    write_ctx *w = calloc(1, sizeof *w);
    if (!w) return;
    w->id = id;
    arena a;
    arena_init(&a);
    store_err e;
    int rc = engine_as_system(conn, &a, ws, write_fn, w, &e);
    arena_release(&a);
    if (rc) {
        /* Its record cannot be read now: it stays running, taken again
         * at the next start. */
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"export %s not run\",\"store\":\"%s\"}\n",
                id, e.msg);
        free(w);
        return;
    }
    write_job rec = {.id = id, .o = &w->out};
    through_writer(&rec, ws);
    free(w);
}

/* Runs what is due in workspace ws. */
static void look(store_conn *conn, const char *ws, bool orphans)
{
    due_ctx d = {.orphans = orphans};
    arena a;
    arena_init(&a);
    store_err e;
    int rc = engine_as_system(conn, &a, ws, due_fn, &d, &e);
    arena_release(&a);
    if (rc) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"exports not read\",\"store\":\"%s\"}\n",
                e.msg);
        return;
    }
    for (int i = 0; i < d.n && !atomic_load(&X.stop); i++)
        run_one(conn, ws, d.ids[i]);
}

static void *loop(void *arg)
{
    (void)arg;
    store_conn *conn = NULL;
    store_err e;
    if (store_connect(X.db, &conn, &e) != STORE_OK) {
        fprintf(stderr,
                "{\"level\":\"error\",\"msg\":\"export worker has no connection\","
                "\"store\":\"%s\"}\n",
                e.msg);
        return NULL;
    }
    bool held = false, orphans = false;
    store_ws_list l = {0};
    while (!atomic_load(&X.stop)) {
        if (!held) {
            if (store_try_hold(conn, HOLD_KEY, &held, &e) != STORE_OK) held = false;
            orphans = held; /* what a dead holder left running is ours now */
        }
        if (held) {
            l.n = 0;
            if (store_workspace_ids(conn, &l, &e) != STORE_OK)
                fprintf(stderr,
                        "{\"level\":\"error\",\"msg\":\"export worker: no workspaces\","
                        "\"store\":\"%s\"}\n",
                        e.msg);
            for (int i = 0; i < l.n && !atomic_load(&X.stop); i++)
                look(conn, l.id[i], orphans);
            orphans = false;
        }
        pthread_mutex_lock(&X.mu);
        if (!X.woken && !atomic_load(&X.stop)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)POLL_MS * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&X.cv, &X.mu, &until);
        }
        X.woken = false;
        pthread_mutex_unlock(&X.mu);
    }
    store_ws_free(&l);
    store_disconnect(conn);
    return NULL;
}

int exports_start(store *db, store_err *e)
{
    X.db = db;
    X.woken = false;
    atomic_store(&X.stop, false);
    bi_exports_set_waker(wake);
    if (pthread_create(&X.thread, NULL, loop, NULL) != 0) {
        bi_exports_set_waker(NULL);
        snprintf(e->msg, sizeof e->msg, "cannot start the export worker");
        return STORE_ERROR;
    }
    pthread_setname_np(X.thread, "cairn-exports");
    X.started = true;
    return STORE_OK;
}

void exports_stop(void)
{
    if (!X.started) return;
    atomic_store(&X.stop, true);
    wake();
    pthread_join(X.thread, NULL);
    bi_exports_set_waker(NULL);
    X.started = false;
}
