/* writer.c - group commit; see writer.h. */
#include "api/writer.h"

#include <pthread.h>
#include <stdio.h>

#include "core/timeutil.h"

#define BATCH_MAX     512
#define IDEM_SWEEP_MS (10 * 60 * 1000)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static writer_job *head, *tail;
static bool stopping;
static pthread_t thread;
static store_conn *conn;

static void run_batch(writer_job *batch)
{
    store_err e;
    int rc = store_begin(conn, true, &e);
    if (rc != STORE_OK) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"writer begin failed\",\"store\":\"%s\"}\n",
                e.msg);
        for (writer_job *j = batch; j; j = j->next)
            api_fail_store(j->q, rc, &e);
        return;
    }
    for (writer_job *j = batch; j; j = j->next) {
        if ((rc = store_savepoint(conn, &e)) != STORE_OK) {
            api_fail_store(j->q, rc, &e);
            continue;
        }
        if (api_run_write(j->q, conn))
            store_release(conn, &e);
        else
            store_rollback_to(conn);
    }
    if ((rc = store_commit(conn, &e)) != STORE_OK) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"writer commit failed\",\"store\":\"%s\"}\n",
                e.msg);
        /* Nothing of the batch is stored: successes become 503s; errors
         * stand as they are, since they changed nothing either way. */
        for (writer_job *j = batch; j; j = j->next)
            if (j->q->status < 400) api_fail_store(j->q, rc, &e);
    }
}

static void *loop(void *arg)
{
    (void)arg;
    uint64_t last_sweep = time_now_ms();
    for (;;) {
        pthread_mutex_lock(&mu);
        while (!head && !stopping)
            pthread_cond_wait(&cv, &mu);
        if (!head && stopping) {
            pthread_mutex_unlock(&mu);
            break;
        }
        writer_job *batch = head, *last = head;
        int n = 1;
        while (last->next && n < BATCH_MAX) {
            last = last->next;
            n++;
        }
        head = last->next;
        if (!head) tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&mu);

        run_batch(batch);
        for (writer_job *j = batch, *next; j; j = next) {
            next = j->next; /* done() may free the job */
            j->done(j);
        }
        uint64_t now = time_now_ms();
        if (now - last_sweep > IDEM_SWEEP_MS) {
            store_err e;
            store_idem_expire(conn, (int64_t)now - 24ll * 3600 * 1000, &e);
            last_sweep = now;
        }
    }
    return NULL;
}

int writer_start(store *s, store_err *e)
{
    int rc = store_connect(s, &conn, e);
    if (rc) return rc;
    stopping = false;
    if (pthread_create(&thread, NULL, loop, NULL) != 0) {
        store_disconnect(conn);
        conn = NULL;
        snprintf(e->msg, sizeof e->msg, "cannot start the writer thread");
        return STORE_ERROR;
    }
    return STORE_OK;
}

void writer_submit(writer_job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&mu);
    if (tail)
        tail->next = j;
    else
        head = j;
    tail = j;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

void writer_stop(void)
{
    if (!conn) return;
    pthread_mutex_lock(&mu);
    stopping = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    store_disconnect(conn);
    conn = NULL;
}
