/* writer.c - group commit; see writer.h. */
#include "api/writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "core/timeutil.h"

#define BATCH_MAX     512
#define IDEM_SWEEP_MS (10 * 60 * 1000)
/* Upkeep (store_maintain) starts after this long without a write, in steps
 * of about this many pages, so a write arriving meanwhile waits one step. */
#define UPKEEP_IDLE_MS 200
#define UPKEEP_PAGES   256
/* While the storage is full and no write comes, a probe (store_probe)
 * this often: space comes back without a write to notice it. */
#define PROBE_MS 1000

/* Jobs handed from one thread to the next, in order. */
typedef struct job_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    writer_job *head, *tail;
    bool stopping;
} job_queue;

static void queue_push(job_queue *jq, writer_job *first, writer_job *last)
{
    pthread_mutex_lock(&jq->mu);
    if (jq->tail)
        jq->tail->next = first;
    else
        jq->head = first;
    jq->tail = last;
    pthread_cond_signal(&jq->cv);
    pthread_mutex_unlock(&jq->mu);
}

/* Its consumer takes what is queued, then ends. */
static void queue_stop(job_queue *jq)
{
    pthread_mutex_lock(&jq->mu);
    jq->stopping = true;
    pthread_cond_signal(&jq->cv);
    pthread_mutex_unlock(&jq->mu);
}

/* Requests, to the writer thread; committed batches waiting for their
 * fsync, to the sync thread. */
static job_queue in = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
static job_queue committed = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
static pthread_t thread, sync_thread;
static store_conn *conn;
static bool upkeep_due = true; /* writer thread only */
static uint64_t probed_ms;     /* writer thread only: the last probe */
/* Set when a write fails for lack of room (its batch's begin or commit, a
 * request, the sync, upkeep), by the writer or its sync thread; cleared by
 * the writer when a probe succeeds; read by /readyz. */
static atomic_bool storage_full;

bool writer_storage_full(void)
{
    return atomic_load(&storage_full);
}

/* Notes a store failure; a first STORE_FULL is logged once (stderr may
 * be on the full disk too) and wakes an idle writer to start probing. */
static void note_failure(int rc, const store_err *e)
{
    if (rc != STORE_FULL || atomic_exchange(&storage_full, true)) return;
    fprintf(stderr,
            "{\"level\":\"error\",\"msg\":\"storage full: writes answer 507 until space is "
            "freed\",\"store\":\"%s\"}\n",
            e->msg);
    pthread_mutex_lock(&in.mu);
    pthread_cond_signal(&in.cv);
    pthread_mutex_unlock(&in.mu);
}

/* Whether the storage was full and a probe finds room again. */
static void probe(void)
{
    probed_ms = time_now_ms();
    store_err e;
    int rc = store_probe(conn, &e);
    if (rc == STORE_OK) {
        atomic_store(&storage_full, false);
        upkeep_due = true;
        fprintf(stderr, "{\"level\":\"info\",\"msg\":\"storage has room again: writes "
                        "resume\"}\n");
    } else if (rc != STORE_FULL) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"storage probe failed\",\"store\":\"%s\"}\n",
                e.msg);
    }
}

static void finish(writer_job *batch)
{
    for (writer_job *j = batch, *next; j; j = next) {
        next = j->next; /* done() may free the job */
        j->done(j);
    }
}

/* One fsync covers every batch committed before it, so a slow one lets
 * batches gather and the next covers them all. */
static void *sync_loop(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&committed.mu);
        while (!committed.head && !committed.stopping)
            pthread_cond_wait(&committed.cv, &committed.mu);
        writer_job *batch = committed.head;
        committed.head = committed.tail = NULL;
        pthread_mutex_unlock(&committed.mu);
        if (!batch) break;
        store_err e;
        int rc = store_sync(conn, &e);
        if (rc != STORE_OK) {
            note_failure(rc, &e);
            /* Committed and visible, but maybe not on disk: not a success
             * to report. A retry with its Idempotency-Key gets the stored
             * answer. */
            fprintf(stderr,
                    "{\"level\":\"error\",\"msg\":\"writer sync failed\",\"store\":\"%s\"}\n",
                    e.msg);
            for (writer_job *j = batch; j; j = j->next)
                if (j->q->status < 400) api_fail_store(j->q, rc, &e);
        }
        finish(batch);
    }
    return NULL;
}

/* One step of store upkeep; false when there is nothing left to do (or
 * it failed: the next write makes it due again). */
static bool upkeep_step(void)
{
    store_err e;
    bool more = false;
    int rc = store_maintain(conn, UPKEEP_PAGES, &more, &e);
    if (rc != STORE_OK) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"store upkeep failed\",\"store\":\"%s\"}\n",
                e.msg);
        note_failure(rc, &e);
        return false;
    }
    return more;
}

static void run_batch(writer_job *batch)
{
    store_err e;
    int rc = store_begin(conn, true, &e);
    if (rc != STORE_OK) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"writer begin failed\",\"store\":\"%s\"}\n",
                e.msg);
        note_failure(rc, &e);
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
        if (j->q->storage_full)
            note_failure(STORE_FULL, &(store_err){"a request found no room to write"});
    }
    if ((rc = store_commit(conn, &e)) == STORE_OK) {
        /* Visible to other connections now: caches may refetch. */
        for (writer_job *j = batch; j; j = j->next)
            if (j->q->settings_changed) api_settings_changed();
    } else {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"writer commit failed\",\"store\":\"%s\"}\n",
                e.msg);
        note_failure(rc, &e);
        /* Nothing of the batch is stored: successes become 503s (507s
         * when the disk is full); errors stand as they are, since they
         * changed nothing either way. */
        for (writer_job *j = batch; j; j = j->next)
            if (j->q->status < 400) api_fail_store(j->q, rc, &e);
    }
}

static void *loop(void *arg)
{
    (void)arg;
    uint64_t last_sweep = time_now_ms();
    for (;;) {
        pthread_mutex_lock(&in.mu);
        while (!in.head && !in.stopping) {
            /* Full: nothing but the probe, as upkeep writes too. */
            bool full = atomic_load(&storage_full);
            if (!full && !upkeep_due) {
                pthread_cond_wait(&in.cv, &in.mu);
                continue;
            }
            uint64_t since = time_now_ms() - probed_ms;
            long wait_ms = !full ? UPKEEP_IDLE_MS : since < PROBE_MS ? (long)(PROBE_MS - since) : 0;
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += wait_ms * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            if (pthread_cond_timedwait(&in.cv, &in.mu, &until) != ETIMEDOUT) continue;
            if (full) {
                pthread_mutex_unlock(&in.mu);
                probe();
                pthread_mutex_lock(&in.mu);
                continue;
            }
            while (upkeep_due && !in.head && !in.stopping) {
                pthread_mutex_unlock(&in.mu);
                upkeep_due = upkeep_step();
                pthread_mutex_lock(&in.mu);
            }
        }
        if (!in.head && in.stopping) {
            pthread_mutex_unlock(&in.mu);
            break;
        }
        writer_job *batch = in.head, *last = in.head;
        int n = 1;
        while (last->next && n < BATCH_MAX) {
            last = last->next;
            n++;
        }
        in.head = last->next;
        if (!in.head) in.tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&in.mu);

        /* Before every batch while full: space that comes back goes first
         * to the checkpoint the probe makes, which the batch's writes would
         * otherwise take, leaving the log to grow rather than start over.
         * Where the disk is still full, the probe fails on its first page. */
        if (atomic_load(&storage_full)) probe();
        run_batch(batch);
        upkeep_due = true;
        queue_push(&committed, batch, last);
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
    if (rc == STORE_OK) rc = store_sync_defer(conn, true, e);
    if (rc) {
        store_disconnect(conn);
        conn = NULL;
        return rc;
    }
    in.stopping = committed.stopping = false;
    if (pthread_create(&sync_thread, NULL, sync_loop, NULL) != 0) {
        store_disconnect(conn);
        conn = NULL;
        snprintf(e->msg, sizeof e->msg, "cannot start the writer's sync thread");
        return STORE_ERROR;
    }
    if (pthread_create(&thread, NULL, loop, NULL) != 0) {
        queue_stop(&committed);
        pthread_join(sync_thread, NULL);
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
    queue_push(&in, j, j);
}

void writer_stop(void)
{
    if (!conn) return;
    queue_stop(&in);
    pthread_join(thread, NULL);
    queue_stop(&committed);
    pthread_join(sync_thread, NULL);
    store_disconnect(conn);
    conn = NULL;
}
