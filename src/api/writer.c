/* writer.c - group commit; see writer.h. */
#include "api/writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ids.h"
#include "core/timeutil.h"
#include "resources/engine.h"

#define BATCH_MAX     512
#define IDEM_SWEEP_MS (10 * 60 * 1000)
/* Upkeep (store_maintain) starts after this long without a write, in steps
 * of about this many pages, so a write arriving meanwhile waits one step. */
#define UPKEEP_IDLE_MS 200
#define UPKEEP_PAGES   256
/* While the storage is full and no write comes, a probe (store_probe)
 * this often: space comes back without a write to notice it. */
#define PROBE_MS 1000
/* Timers (engine_timers: SLA clocks, ...) run about this often. */
#define TIMER_MS 1000

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

/* An audit entry of a call that wrote nothing, with its strings. */
typedef struct audit_node {
    struct audit_node *next;
    char ws[ID_MAX];
    engine_audit a;
    char strings[]; /* every string of a, one after the other */
} audit_node;

/* Entries are written one after the other into blocks that the writer
 * hands back once it has appended them, rather than each malloc'd by the
 * worker that read and freed by the writer: tens of thousands a second,
 * each free taking the lock of the worker's malloc arena from another
 * thread. */
#define AUDIT_BLOCK (64 * 1024)
typedef struct audit_block {
    struct audit_block *next;
    size_t size, used; /* of data */
    _Alignas(max_align_t) char data[];
} audit_block;
/* Blocks kept for reuse: a second of entries at the rate of a busy node. */
#define AUDIT_SPARE_MAX 256

/* Entries waiting past this many are dropped (and said so once): a
 * writer that cannot keep up must not take the memory with it. */
#define AUDIT_QUEUE_MAX 100000
/* Reads' entries gather for this long, or until this many wait, then go
 * in one transaction (a write batch takes them sooner): a commit per few
 * entries would rewrite the same pages into the log again and again, and
 * every commit costs each SQLite reader its page cache and memory map (a
 * reader whose database changed starts from nothing), which at 4 commits
 * a second halved the rate of read tool calls. The price is that kill -9
 * loses at most this long of reads' entries; writes' entries are in their
 * own transaction. */
#define AUDIT_FLUSH_MS 1000
#define AUDIT_BATCH    65536

/* One writer: its connection, the requests routed to it and its batches
 * committed but not yet durable, each with the thread that drains it. */
typedef struct writer {
    job_queue in, committed;
    audit_node *audits, *audits_tail;  /* under in.mu */
    audit_block *blocks, *blocks_tail; /* under in.mu: audits' storage */
    audit_block *spare;                /* under in.mu: emptied blocks */
    int naudits, nspare;
    uint64_t audits_since; /* when the first of them came */
    pthread_t thread, sync_thread;
    store_conn *conn;
    int index;
    bool upkeep_due;    /* its writer thread only */
    uint64_t timers_ms; /* its writer thread only: when timers last ran */
    uint64_t probed_ms; /* its writer thread only: the last probe */
} writer;

static writer writers[WRITERS_MAX];
static int nwriters;
/* Set when a write fails for lack of room (its batch's begin or commit, a
 * request, the sync, upkeep), by a writer or its sync thread; cleared by
 * a writer when a probe succeeds; read by /readyz. */
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
    for (int i = 0; i < nwriters; i++) {
        pthread_mutex_lock(&writers[i].in.mu);
        pthread_cond_signal(&writers[i].in.cv);
        pthread_mutex_unlock(&writers[i].in.mu);
    }
}

/* Whether the storage was full and a probe finds room again. */
static void probe(writer *w)
{
    w->probed_ms = time_now_ms();
    store_err e;
    int rc = store_probe(w->conn, &e);
    if (rc == STORE_OK) {
        atomic_store(&storage_full, false);
        w->upkeep_due = w->index == 0;
        fprintf(stderr, "{\"level\":\"info\",\"msg\":\"storage has room again: writes "
                        "resume\"}\n");
    } else if (rc != STORE_FULL) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"storage probe failed\",\"store\":\"%s\"}\n",
                e.msg);
    }
}

/* A store failure the job's answer must show: a request's 503/507, or a
 * run job's rc. Errors a request already has stand. */
static void job_fail(writer_job *j, int rc, const store_err *e)
{
    if (!j->q)
        j->rc = rc;
    else if (j->q->status < 400)
        api_fail_store(j->q, rc, e);
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
    writer *w = arg;
    job_queue *committed = &w->committed;
    for (;;) {
        pthread_mutex_lock(&committed->mu);
        while (!committed->head && !committed->stopping)
            pthread_cond_wait(&committed->cv, &committed->mu);
        writer_job *batch = committed->head;
        committed->head = committed->tail = NULL;
        pthread_mutex_unlock(&committed->mu);
        if (!batch) break;
        store_err e;
        int rc = store_sync(w->conn, &e);
        if (rc != STORE_OK) {
            note_failure(rc, &e);
            /* Committed and visible, but maybe not on disk: not a success
             * to report. A retry with its Idempotency-Key gets the stored
             * answer. */
            fprintf(stderr,
                    "{\"level\":\"error\",\"msg\":\"writer sync failed\",\"store\":\"%s\"}\n",
                    e.msg);
            for (writer_job *j = batch; j; j = j->next)
                job_fail(j, rc, &e);
        }
        finish(batch);
    }
    return NULL;
}

/* One step of store upkeep; false when there is nothing left to do (or
 * it failed: the next write makes it due again). */
static bool upkeep_step(writer *w)
{
    store_err e;
    bool more = false;
    int rc = store_maintain(w->conn, UPKEEP_PAGES, &more, &e);
    if (rc != STORE_OK) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"store upkeep failed\",\"store\":\"%s\"}\n",
                e.msg);
        note_failure(rc, &e);
        return false;
    }
    return more;
}

/* Appends one entry in a savepoint of its own; a failure is logged and
 * the entry dropped. */
static void append_one(store_conn *conn, const audit_node *n)
{
    store_err e;
    int rc = store_savepoint(conn, &e);
    if (rc == STORE_OK) {
        rc = engine_audit_append(conn, n->ws, &n->a, &e);
        if (rc == STORE_OK)
            rc = store_release(conn, &e);
        else
            store_rollback_to(conn);
    }
    if (rc != STORE_OK) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"audit entry dropped\",\"store\":\"%s\"}\n",
                e.msg);
        note_failure(rc, &e);
    }
}

/* Appends queued audit entries inside the open transaction: all in one
 * savepoint, and only when that fails one savepoint each, so one bad entry
 * costs only itself (an entry refused by SQLite; PostgreSQL holds them all
 * until the commit, store_rec_insert, and sends them in one round trip). */
static void append_audits(store_conn *conn, audit_node *list)
{
    store_err e;
    bool open = list && store_savepoint(conn, &e) == STORE_OK;
    int rc = open ? STORE_OK : STORE_ERROR;
    for (const audit_node *n = list; n && rc == STORE_OK; n = n->next)
        rc = engine_audit_append(conn, n->ws, &n->a, &e);
    if (open && rc == STORE_OK) rc = store_release(conn, &e);
    if (list && rc != STORE_OK) {
        if (open) store_rollback_to(conn);
        for (const audit_node *n = list; n; n = n->next)
            append_one(conn, n);
    }
}

/* Queues the webhook deliveries of the batch's events, once per
 * workspace, inside its transaction (engine_dispatch): in a savepoint, so
 * a failure costs the deliveries only, which the timers' dispatch queues
 * a second later. */
static void dispatch(store_conn *conn, writer_job *batch)
{
    const char *done[64];
    int n = 0;
    for (writer_job *j = batch; j; j = j->next) {
        const char *ws = j->q ? j->q->ws : j->ws;
        bool seen = !ws;
        for (int i = 0; i < n && !seen; i++)
            seen = strcmp(done[i], ws) == 0;
        if (seen) continue;
        if (n < 64) done[n++] = ws;
        store_err e;
        if (store_savepoint(conn, &e) != STORE_OK) return;
        int rc = engine_dispatch(conn, ws, &e);
        if (rc == STORE_OK) rc = store_release(conn, &e);
        if (rc != STORE_OK) {
            store_rollback_to(conn);
            fprintf(stderr,
                    "{\"level\":\"error\",\"msg\":\"webhook dispatch failed\",\"store\":\"%s\"}\n",
                    e.msg);
        }
    }
}

static void run_batch(store_conn *conn, writer_job *batch, audit_node *audits)
{
    store_err e;
    int rc = store_begin(conn, true, &e);
    if (rc != STORE_OK) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"writer begin failed\",\"store\":\"%s\"}\n",
                e.msg);
        note_failure(rc, &e);
        for (writer_job *j = batch; j; j = j->next)
            job_fail(j, rc, &e);
        return;
    }
    for (writer_job *j = batch; j; j = j->next) {
        if ((rc = store_savepoint(conn, &e)) != STORE_OK) {
            job_fail(j, rc, &e);
            continue;
        }
        if (!j->q) {
            if ((j->rc = j->run(j, conn)) == STORE_OK)
                store_release(conn, &e);
            else
                store_rollback_to(conn);
            continue;
        }
        if (api_run_write(j->q, conn))
            store_release(conn, &e);
        else
            store_rollback_to(conn);
        if (j->q->storage_full)
            note_failure(STORE_FULL, &(store_err){"a request found no room to write"});
    }
    append_audits(conn, audits);
    dispatch(conn, batch);
    if ((rc = store_commit(conn, &e)) == STORE_OK) {
        /* Visible to other connections now: caches may refetch, and the
         * delivery worker may send what the batch queued. */
        integrations_poke();
        engine_committed();
        api_committed();
        for (writer_job *j = batch; j; j = j->next)
            if (j->q && j->q->settings_changed) api_settings_changed();
    } else {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"writer commit failed\",\"store\":\"%s\"}\n",
                e.msg);
        note_failure(rc, &e);
        /* Nothing of the batch is stored: successes become 503s (507s
         * when the disk is full); errors stand as they are, since they
         * changed nothing either way. */
        for (writer_job *j = batch; j; j = j->next)
            job_fail(j, rc, &e);
    }
}

/* Waits on the queue (its mutex held) for at most ms; whether it timed out. */
static bool timed_wait(job_queue *q, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    return pthread_cond_timedwait(&q->cv, &q->mu, &until) == ETIMEDOUT;
}

static writer *route(const char *ws);

/* What falls due with time (engine_timers) in this writer's workspaces,
 * each in its own savepoint of one transaction. Nothing waits on it, so
 * its commit is made durable by the next batch's sync. */
static void run_timers(writer *w)
{
    w->timers_ms = time_now_ms();
    store_ws_list l = {0};
    store_err e;
    int rc = store_workspace_ids(w->conn, &l, &e);
    if (rc == STORE_OK) rc = store_begin(w->conn, true, &e);
    if (rc == STORE_OK) {
        for (int i = 0; i < l.n && rc == STORE_OK; i++) {
            if (route(l.id[i]) != w) continue;
            if ((rc = store_savepoint(w->conn, &e)) != STORE_OK) break;
            store_err te;
            int trc = engine_timers(w->conn, l.id[i], (int64_t)w->timers_ms, &te);
            if (trc == STORE_OK) {
                rc = store_release(w->conn, &e);
            } else {
                /* One workspace's failure leaves the others' work. */
                store_rollback_to(w->conn);
                fprintf(stderr,
                        "{\"level\":\"error\",\"msg\":\"timers failed\",\"store\":\"%s\"}\n",
                        te.msg);
                note_failure(trc, &te);
            }
        }
        if (rc == STORE_OK) {
            rc = store_commit(w->conn, &e);
            if (rc == STORE_OK) integrations_poke();
        } else {
            store_rollback(w->conn);
        }
    }
    store_ws_free(&l);
    if (rc != STORE_OK) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"timers failed\",\"store\":\"%s\"}\n",
                e.msg);
        note_failure(rc, &e);
    }
}

/* Keeps emptied blocks for the next entries, up to AUDIT_SPARE_MAX (an
 * oversized one is freed). */
static void blocks_return(writer *w, audit_block *list)
{
    if (!list) return;
    pthread_mutex_lock(&w->in.mu);
    while (list) {
        audit_block *b = list;
        list = b->next;
        if (b->size == AUDIT_BLOCK && w->nspare < AUDIT_SPARE_MAX) {
            b->next = w->spare;
            w->spare = b;
            w->nspare++;
        } else {
            free(b);
        }
    }
    pthread_mutex_unlock(&w->in.mu);
}

static void blocks_free(audit_block *list)
{
    for (audit_block *next; list; list = next) {
        next = list->next;
        free(list);
    }
}

/* Room for n bytes at the end of w's blocks: the last one's, a spare's
 * or a new block's; NULL when no memory. Under in.mu. */
static void *block_room(writer *w, size_t n)
{
    n = (n + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
    audit_block *b = w->blocks_tail;
    if (!b || b->size - b->used < n) {
        if (w->spare && n <= AUDIT_BLOCK) {
            b = w->spare;
            w->spare = b->next;
            w->nspare--;
        } else {
            size_t size = n > AUDIT_BLOCK ? n : AUDIT_BLOCK;
            if (!(b = malloc(sizeof *b + size))) return NULL;
            b->size = size;
        }
        b->next = NULL;
        b->used = 0;
        if (w->blocks_tail)
            w->blocks_tail->next = b;
        else
            w->blocks = b;
        w->blocks_tail = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

/* Reads' audit entries are due: enough of them, or the first waited long
 * enough. Under in.mu. */
static bool audits_due(const writer *w, uint64_t now)
{
    return w->audits && (w->naudits >= AUDIT_BATCH || now - w->audits_since >= AUDIT_FLUSH_MS);
}

static void *loop(void *arg)
{
    writer *w = arg;
    job_queue *in = &w->in;
    uint64_t last_sweep = time_now_ms();
    for (;;) {
        pthread_mutex_lock(&in->mu);
        while (!in->head && !audits_due(w, time_now_ms()) && !in->stopping) {
            /* Full: nothing but the probe, as upkeep and timers write too. */
            bool full = atomic_load(&storage_full);
            uint64_t now = time_now_ms();
            if (!full && now - w->timers_ms >= TIMER_MS) {
                pthread_mutex_unlock(&in->mu);
                run_timers(w);
                pthread_mutex_lock(&in->mu);
                continue;
            }
            uint64_t timer_in = TIMER_MS - (now - w->timers_ms);
            if (w->audits && AUDIT_FLUSH_MS - (now - w->audits_since) < timer_in)
                timer_in = AUDIT_FLUSH_MS - (now - w->audits_since);
            if (!full && !w->upkeep_due) {
                timed_wait(in, (long)timer_in);
                continue;
            }
            uint64_t since = now - w->probed_ms;
            long wait_ms = !full ? UPKEEP_IDLE_MS : since < PROBE_MS ? (long)(PROBE_MS - since) : 0;
            if (!timed_wait(in, wait_ms)) continue;
            if (full) {
                pthread_mutex_unlock(&in->mu);
                probe(w);
                pthread_mutex_lock(&in->mu);
                continue;
            }
            while (w->upkeep_due && !in->head && !audits_due(w, time_now_ms()) && !in->stopping) {
                pthread_mutex_unlock(&in->mu);
                w->upkeep_due = upkeep_step(w);
                pthread_mutex_lock(&in->mu);
            }
        }
        if (!in->head && !w->audits && in->stopping) {
            pthread_mutex_unlock(&in->mu);
            break;
        }
        audit_node *audits = w->audits;
        audit_block *blocks = w->blocks;
        w->audits = w->audits_tail = NULL;
        w->blocks = w->blocks_tail = NULL;
        w->naudits = 0;
        writer_job *batch = in->head, *last = in->head;
        int n = batch ? 1 : 0;
        while (last && last->next && n < BATCH_MAX) {
            last = last->next;
            n++;
        }
        if (last) {
            in->head = last->next;
            if (!in->head) in->tail = NULL;
            last->next = NULL;
        }
        pthread_mutex_unlock(&in->mu);
        if (!batch) {
            /* Only reads' audit entries: a transaction of their own, made
             * durable by the next batch's sync. */
            run_batch(w->conn, NULL, audits);
            blocks_return(w, blocks);
            continue;
        }

        /* Before every batch while full: space that comes back goes first
         * to the checkpoint the probe makes, which the batch's writes would
         * otherwise take, leaving the log to grow rather than start over.
         * Where the disk is still full, the probe fails on its first page. */
        if (atomic_load(&storage_full)) probe(w);
        run_batch(w->conn, batch, audits);
        blocks_return(w, blocks);
        if (!atomic_load(&storage_full) && time_now_ms() - w->timers_ms >= TIMER_MS) run_timers(w);
        w->upkeep_due = w->index == 0;
        queue_push(&w->committed, batch, last);
        uint64_t now = time_now_ms();
        if (w->index == 0 && now - last_sweep > IDEM_SWEEP_MS) {
            store_err e;
            store_idem_expire(w->conn, (int64_t)now - 24ll * 3600 * 1000, &e);
            last_sweep = now;
        }
    }
    return NULL;
}

/* Stops writer i's threads (those started) and closes its connection. */
static void stop_one(writer *w, bool thread, bool sync_thread)
{
    if (thread) {
        queue_stop(&w->in);
        pthread_join(w->thread, NULL);
    }
    if (sync_thread) {
        queue_stop(&w->committed);
        pthread_join(w->sync_thread, NULL);
    }
    store_disconnect(w->conn);
    w->conn = NULL;
}

static int start_one(store *s, writer *w, store_err *e)
{
    int rc = store_connect(s, &w->conn, e);
    if (rc == STORE_OK) rc = store_sync_defer(w->conn, true, e);
    if (rc) {
        store_disconnect(w->conn);
        w->conn = NULL;
        return rc;
    }
    if (pthread_create(&w->sync_thread, NULL, sync_loop, w) != 0) {
        stop_one(w, false, false);
        snprintf(e->msg, sizeof e->msg, "cannot start a writer's sync thread");
        return STORE_ERROR;
    }
    if (pthread_create(&w->thread, NULL, loop, w) != 0) {
        stop_one(w, false, true);
        snprintf(e->msg, sizeof e->msg, "cannot start a writer thread");
        return STORE_ERROR;
    }
    char name[32]; /* for top -H, perf and gdb: 15 bytes at most */
    snprintf(name, sizeof name, "cairn-writer%d", w->index);
    name[15] = '\0';
    pthread_setname_np(w->thread, name);
    snprintf(name, sizeof name, "cairn-sync%d", w->index);
    name[15] = '\0';
    pthread_setname_np(w->sync_thread, name);
    return STORE_OK;
}

/* Releases writers [0, n): their threads and connections are gone. */
static void destroy(int n)
{
    for (int i = 0; i < n; i++) {
        writer *w = &writers[i];
        blocks_free(w->blocks);
        blocks_free(w->spare);
        w->blocks = w->blocks_tail = w->spare = NULL;
        w->nspare = 0;
        pthread_mutex_destroy(&w->in.mu);
        pthread_cond_destroy(&w->in.cv);
        pthread_mutex_destroy(&w->committed.mu);
        pthread_cond_destroy(&w->committed.cv);
    }
}

int writer_start(store *s, int n, store_err *e)
{
    int most = store_writers(s);
    if (n < 1) n = 1;
    if (most && n > most) n = most;
    if (n > WRITERS_MAX) n = WRITERS_MAX;
    for (int i = 0; i < n; i++) {
        writer *w = &writers[i];
        *w = (writer){.index = i, .upkeep_due = i == 0};
        pthread_mutex_init(&w->in.mu, NULL);
        pthread_cond_init(&w->in.cv, NULL);
        pthread_mutex_init(&w->committed.mu, NULL);
        pthread_cond_init(&w->committed.cv, NULL);
    }
    /* Routing (route) divides by the count: set before any writer runs. */
    nwriters = n;
    for (int i = 0; i < n; i++) {
        int rc = start_one(s, &writers[i], e);
        if (rc) {
            for (int k = 0; k < i; k++)
                stop_one(&writers[k], true, true);
            destroy(n);
            nwriters = 0;
            return rc;
        }
    }
    return STORE_OK;
}

/* By the workspace id's hash: one workspace's writes always take the same
 * writer, so they commit in the order they came, and two writers never
 * wait for each other's rows. */
static writer *route(const char *ws)
{
    return &writers[hash_str(ws ? ws : "") % (uint64_t)nwriters];
}

void writer_submit(writer_job *j)
{
    j->next = NULL;
    writer *w = route(j->q ? j->q->ws : j->ws);
    queue_push(&w->in, j, j);
}

void writer_audit(const char *ws, const engine_audit *a)
{
    if (!nwriters) return;
    const char *strs[8 + ENGINE_MAX_WRITTEN] = {a->channel,  a->key_id, a->tool,       a->route,
                                                a->resource, a->reason, a->request_id, a->outcome};
    size_t lens[8 + ENGINE_MAX_WRITTEN];
    int ns = 8;
    for (int i = 0; i < a->nids; i++)
        strs[ns++] = a->ids[i];
    size_t total = 0;
    for (int i = 0; i < ns; i++)
        total += lens[i] = strs[i] ? strlen(strs[i]) + 1 : 0;
    writer *w = route(ws);
    static atomic_bool warned;
    pthread_mutex_lock(&w->in.mu);
    audit_node *n = w->naudits < AUDIT_QUEUE_MAX ? block_room(w, sizeof *n + total) : NULL;
    if (n) {
        n->next = NULL;
        snprintf(n->ws, sizeof n->ws, "%s", ws);
        n->a = *a;
        const char **dst[8] = {&n->a.channel,  &n->a.key_id, &n->a.tool,       &n->a.route,
                               &n->a.resource, &n->a.reason, &n->a.request_id, &n->a.outcome};
        char *p = n->strings;
        for (int i = 0; i < ns; i++) {
            const char *copy = NULL;
            if (strs[i]) {
                memcpy(p, strs[i], lens[i]);
                copy = p;
                p += lens[i];
            }
            if (i < 8)
                *dst[i] = copy;
            else
                n->a.ids[i - 8] = copy;
        }
        if (w->audits_tail) {
            w->audits_tail->next = n;
        } else {
            w->audits = n;
            w->audits_since = time_now_ms();
        }
        w->audits_tail = n;
        /* The writer wakes by itself when they are due by time. */
        if (++w->naudits == AUDIT_BATCH) pthread_cond_signal(&w->in.cv);
    }
    pthread_mutex_unlock(&w->in.mu);
    if (!n && !atomic_exchange(&warned, true))
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"audit entries of reads dropped: "
                        "the writer is behind, or no memory\"}\n");
}

void writer_stop(void)
{
    for (int i = 0; i < nwriters; i++)
        stop_one(&writers[i], true, true);
    destroy(nwriters);
    nwriters = 0;
}
