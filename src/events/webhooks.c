/* webhooks.c - the webhook delivery worker; see webhooks.h. */
#include "events/webhooks.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/writer.h"
#include "core/crypto.h"
#include "core/timeutil.h"
#include "events/http_out.h"
#include "resources/engine.h"

#define MAX_OUT     256  /* deliveries out at once: sending, or their attempt being recorded */
#define POLL_MS     250  /* a look at every workspace with webhooks this often */
#define HOLD_MS     2000 /* how often the store's lock is asked for (several nodes) */
#define POLL_WS     64   /* workspaces noted between two looks */
#define HOLD_KEY    "cairn webhook deliveries"
#define WS_DUE_MAX  128 /* deliveries one workspace's look takes */
#define STOP_WAIT_S 10  /* how long a stop waits for attempts being recorded */

/* A delivery out: being sent (state 1), or its attempt being recorded by
 * the writer (state 2). */
typedef struct slot {
    int state;
    bool ok; /* state 2: it was answered 2xx */
    int attempts;
    bool failing;
    char id[ID_MAX], webhook_id[ID_MAX], ws[ID_MAX];
} slot;

/* An attempt; its error and excerpt are its own (malloc), NULL when none. */
typedef struct attempt {
    engine_attempt at;
    int slot;
    char ws[ID_MAX], id[ID_MAX];
} attempt;

/* Attempts on their way through the writer: those of one round of the
 * worker's loop go in one job, each in a savepoint of its own. */
#define RECORD_MAX 128
typedef struct record_job {
    writer_job j;
    int n;
    attempt a[RECORD_MAX];
} record_job;

static void record_free(record_job *r)
{
    for (int i = 0; i < r->n; i++) {
        free((char *)r->a[i].at.error);
        free((char *)r->a[i].at.excerpt);
    }
    free(r);
}

static struct {
    store *db;
    bool allow_private;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    int timeout_ms;
    slot slots[MAX_OUT];
    char repoll[MAX_OUT][ID_MAX]; /* workspaces with an answered delivery: look again */
    int nrepoll;
    /* Under mu: the http_out to wake (NULL once stopping), the slots whose
     * attempts are recorded, and how many records are still out. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    http_out *h;
    int finished[MAX_OUT], nfinished, recording;
    record_job *pending; /* the worker's: attempts of this round, not yet submitted */
    /* The worker's: an ordered endpoint's next deliveries, each sent when
     * the one before it was answered 2xx (a failure drops the rest, which
     * the store still has as pending). */
    struct queued {
        bool used;
        char ws[ID_MAX];
        engine_delivery d; /* its strings its own (malloc) */
    } queue[MAX_OUT];
    /* The worker's: per ordered endpoint, the highest sequence it was
     * handed (sent or queued), so that the looks between two full ones
     * read only what came after (a look of 32 rows per answered delivery
     * cost an eighth of the server's time). A failure forgets its
     * endpoint's; a full look, and an attempt not recorded, forget all. */
    struct high {
        char webhook_id[ID_MAX];
        int64_t seq;
    } high[MAX_OUT];
    int nhigh;
    atomic_bool reread;
} W = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void wake(void *ud)
{
    (void)ud;
    pthread_mutex_lock(&W.mu);
    if (W.h) http_out_wakeup(W.h);
    pthread_mutex_unlock(&W.mu);
}

/* ------------------------------------------------------------ the queue */

static void unqueue(struct queued *q)
{
    free((char *)q->d.id);
    free((char *)q->d.webhook_id);
    free((char *)q->d.url);
    free((char *)q->d.body);
    free((char *)q->d.secrets[0]);
    free((char *)q->d.secrets[1]);
    q->used = false;
}

/* false: no room (it stays pending, for a later look). */
static bool enqueue(const char *ws, const engine_delivery *d)
{
    for (int i = 0; i < MAX_OUT; i++) {
        struct queued *q = &W.queue[i];
        if (q->used) continue;
        q->d = *d;
        q->d.id = strdup(d->id);
        q->d.webhook_id = strdup(d->webhook_id);
        q->d.url = strdup(d->url);
        q->d.body = strdup(d->body);
        q->d.secrets[0] = d->secrets[0] ? strdup(d->secrets[0]) : NULL;
        q->d.secrets[1] = d->secrets[1] ? strdup(d->secrets[1]) : NULL;
        memcpy(q->ws, ws, ID_MAX);
        q->used = true;
        if (q->d.id && q->d.webhook_id && q->d.url && q->d.body) return true;
        unqueue(q);
        return false;
    }
    return false;
}

/* The endpoint's next queued delivery (lowest sequence), or NULL. */
static struct queued *next_queued(const char *webhook_id)
{
    struct queued *best = NULL;
    for (int i = 0; i < MAX_OUT; i++) {
        struct queued *q = &W.queue[i];
        if (q->used && strcmp(q->d.webhook_id, webhook_id) == 0 &&
            (!best || q->d.sequence < best->d.sequence))
            best = q;
    }
    return best;
}

static struct high *high_of(const char *webhook_id)
{
    for (int i = 0; i < W.nhigh; i++)
        if (strcmp(W.high[i].webhook_id, webhook_id) == 0) return &W.high[i];
    return NULL;
}

static void high_note(const char *webhook_id, int64_t seq)
{
    struct high *h = high_of(webhook_id);
    if (!h) {
        if (W.nhigh == MAX_OUT) return; /* not noted: only read again */
        h = &W.high[W.nhigh++];
        snprintf(h->webhook_id, sizeof h->webhook_id, "%s", webhook_id);
        h->seq = 0;
    }
    if (seq > h->seq) h->seq = seq;
}

static void high_forget(const char *webhook_id)
{
    struct high *h = high_of(webhook_id);
    if (h) *h = W.high[--W.nhigh];
}

static int64_t read_after(const char *webhook_id, void *ud)
{
    (void)ud;
    const struct high *h = high_of(webhook_id);
    return h ? h->seq : 0;
}

static void drop_queued(const char *webhook_id)
{
    for (int i = 0; i < MAX_OUT; i++)
        if (W.queue[i].used && strcmp(W.queue[i].d.webhook_id, webhook_id) == 0)
            unqueue(&W.queue[i]);
}

static bool send_one(http_out *h, const char *ws, const engine_delivery *d);

/* ------------------------------------------------------------ recording */

static int record_fn(engine_call *c, void *ud)
{
    return integrations_record(c, ud);
}

static int record_run(writer_job *j, store_conn *conn)
{
    record_job *r = (record_job *)j;
    arena a;
    arena_init(&a);
    for (int i = 0; i < r->n; i++) {
        attempt *t = &r->a[i];
        store_err e;
        int rc = store_savepoint(conn, &e);
        if (rc == STORE_OK) {
            rc = engine_as_system(conn, &a, t->ws, record_fn, &t->at, &e);
            if (rc == STORE_OK)
                rc = store_release(conn, &e);
            else
                store_rollback_to(conn);
        }
        if (rc) atomic_store(&W.reread, true); /* still pending: the next looks find it */
        if (rc)
            fprintf(stderr,
                    "{\"level\":\"error\",\"msg\":\"webhook attempt not recorded\","
                    "\"delivery\":\"%s\",\"store\":\"%s\"}\n",
                    t->id, e.msg);
    }
    arena_release(&a);
    return STORE_OK; /* each attempt stands or falls alone */
}

/* On the writer's sync thread: the attempts are stored (or not: their
 * deliveries are still pending, and go again). */
static void record_done(writer_job *j)
{
    record_job *r = (record_job *)j;
    pthread_mutex_lock(&W.mu);
    for (int i = 0; i < r->n; i++)
        W.finished[W.nfinished++] = r->a[i].slot;
    W.recording--;
    if (W.h) http_out_wakeup(W.h);
    pthread_cond_broadcast(&W.cv);
    pthread_mutex_unlock(&W.mu);
    record_free(r);
}

/* Hands the attempts gathered so far to the writer. While a job of them
 * is still on its way (the writer is busy), later attempts wait for it,
 * up to RECORD_EAGER of them: as group commit does, the load sets the
 * size of the jobs. An ordered endpoint sent one delivery a round, so
 * each became a job of one attempt in the writer's batch beside the
 * creates, its own savepoint, arena and wake-up on the way back. */
#define RECORD_EAGER 32

static void record_submit(bool force)
{
    record_job *r = W.pending;
    if (!r) return;
    pthread_mutex_lock(&W.mu);
    bool wait = !force && W.recording > 0 && r->n < RECORD_EAGER;
    if (!wait) W.recording++;
    pthread_mutex_unlock(&W.mu);
    if (wait) return; /* record_done wakes the loop, which comes back here */
    W.pending = NULL;
    r->j = (writer_job){.run = record_run, .ws = r->a[0].ws, .done = record_done};
    writer_submit(&r->j);
}

static void sent(void *ud, const http_out_result *res)
{
    int i = (int)(intptr_t)ud;
    slot *s = &W.slots[i];
    if (res->error == HTTP_OUT_ABORTED) { /* stopping: it goes again after a start */
        s->state = 0;
        return;
    }
    if (W.pending && W.pending->n == RECORD_MAX) record_submit(true);
    if (!W.pending) {
        if (!(W.pending = malloc(sizeof *W.pending))) {
            s->state = 0;
            return;
        }
        W.pending->n = 0;
    }
    attempt *r = &W.pending->a[W.pending->n++];
    r->slot = i;
    memcpy(r->ws, s->ws, ID_MAX);
    memcpy(r->id, s->id, ID_MAX);
    bool ok = res->status >= 200 && res->status < 300 && res->error == HTTP_OUT_OK;
    char error[HTTP_OUT_MESSAGE_MAX + 64] = "";
    if (!ok && res->error == HTTP_OUT_OK)
        snprintf(error, sizeof error, "the endpoint answered %d", res->status);
    else if (!ok)
        snprintf(error, sizeof error, "%s: %s", http_out_error_name(res->error), res->message);
    r->at = (engine_attempt){
        .delivery_id = r->id,
        .attempts = s->attempts,
        .failing = s->failing,
        .at_ms = (int64_t)time_now_ms() - res->duration_ms,
        .status = res->error == HTTP_OUT_OK || res->error == HTTP_OUT_REDIRECT ? res->status : 0,
        .error = ok ? NULL : strdup(error),
        .excerpt = res->excerpt[0] ? strdup(res->excerpt) : NULL,
        .duration_ms = res->duration_ms,
        .retry_after_s = res->retry_after_s};
    /* A 2xx with a transport error after it (a cut body) is no success. */
    if (!ok && r->at.status >= 200 && r->at.status < 300) r->at.status = 0;
    s->state = 2;
    s->ok = ok;
    if (!ok) {
        drop_queued(s->webhook_id);
        high_forget(s->webhook_id);
        return;
    }
    /* An ordered endpoint's next goes now, before this is recorded. */
    struct queued *q = next_queued(s->webhook_id);
    if (q) {
        /* Not sent: it and those after it are read again, in order. */
        if (!send_one(W.h, q->ws, &q->d)) {
            drop_queued(s->webhook_id);
            high_forget(s->webhook_id);
        } else {
            unqueue(q);
        }
    } else if (W.nrepoll < MAX_OUT) {
        memcpy(W.repoll[W.nrepoll++], s->ws, ID_MAX);
    }
}

/* ------------------------------------------------------------ sending */

static int out_already(const char *id, const char *webhook_id, void *ud)
{
    (void)ud;
    for (int i = 0; i < MAX_OUT; i++) {
        const slot *s = &W.slots[i];
        if (!s->state) continue;
        int out = s->state == 2 && s->ok ? ENGINE_OUT_PASSED : ENGINE_OUT_BUSY;
        if (id) {
            if (strcmp(s->id, id) == 0) return out;
        } else if (strcmp(s->webhook_id, webhook_id) == 0 && out == ENGINE_OUT_BUSY) {
            return out; /* one going: the endpoint waits, whatever passed before it */
        }
    }
    return ENGINE_OUT_NO;
}

/* "v1,<base64 HMAC-SHA256 of id.timestamp.body>" under a whsec_ secret. */
static bool sign(const char *secret, const char *id, const char *ts, const char *body, char *out,
                 size_t cap)
{
    if (strncmp(secret, "whsec_", 6) != 0) return false;
    const char *k = secret + 6;
    unsigned char key[128];
    size_t klen = 0;
    if (strlen(k) > 160 || !b64_decode(k, strlen(k), key, &klen)) return false;
    size_t idn = strlen(id), tsn = strlen(ts), bn = strlen(body);
    char *msg = malloc(idn + tsn + bn + 3);
    if (!msg) return false;
    memcpy(msg, id, idn);
    msg[idn] = '.';
    memcpy(msg + idn + 1, ts, tsn);
    msg[idn + 1 + tsn] = '.';
    memcpy(msg + idn + tsn + 2, body, bn);
    unsigned char mac[HMAC_SHA256_LEN];
    hmac_sha256(key, klen, msg, idn + tsn + bn + 2, mac);
    free(msg);
    char b64[B64_LEN(HMAC_SHA256_LEN) + 1];
    b64_encode(mac, sizeof mac, b64);
    snprintf(out, cap, "v1,%s", b64);
    return true;
}

/* false: not sent (no room, or no secret signs it); it stays pending. */
static bool send_one(http_out *h, const char *ws, const engine_delivery *d)
{
    int i = 0;
    while (i < MAX_OUT && W.slots[i].state)
        i++;
    if (i == MAX_OUT) return false;
    char ts[24], sigs[2][80], sig_header[200];
    snprintf(ts, sizeof ts, "%" PRId64, (int64_t)time_now_ms() / 1000);
    int n = 0;
    for (int k = 0; k < 2; k++)
        if (d->secrets[k] && sign(d->secrets[k], d->id, ts, d->body, sigs[n], sizeof sigs[n])) n++;
    if (!n) return false;
    snprintf(sig_header, sizeof sig_header, "webhook-signature: %s%s%s", sigs[0], n > 1 ? " " : "",
             n > 1 ? sigs[1] : "");
    char id_header[ID_MAX + 16], ts_header[48];
    snprintf(id_header, sizeof id_header, "webhook-id: %s", d->id);
    snprintf(ts_header, sizeof ts_header, "webhook-timestamp: %s", ts);
    const char *headers[] = {id_header, ts_header, sig_header};
    slot *s = &W.slots[i];
    snprintf(s->id, sizeof s->id, "%s", d->id);
    snprintf(s->webhook_id, sizeof s->webhook_id, "%s", d->webhook_id);
    snprintf(s->ws, sizeof s->ws, "%s", ws);
    s->state = 1;
    s->ok = false;
    s->attempts = d->attempts;
    s->failing = d->failing;
    if (!http_out_post(h, d->url, headers, 3, d->body, strlen(d->body), W.timeout_ms, sent,
                       (void *)(intptr_t)i)) {
        s->state = 0;
        return false;
    }
    return true;
}

typedef struct due_ctx {
    int64_t now;
    int max;
    engine_delivery *d;
    int n;
} due_ctx;

static int due_fn(engine_call *c, void *ud)
{
    due_ctx *x = ud;
    return integrations_due(c, x->now, x->max, out_already, read_after, NULL, &x->d, &x->n);
}

static int out_count(void)
{
    int n = 0;
    for (int i = 0; i < MAX_OUT; i++)
        n += W.slots[i].state != 0;
    return n;
}

/* Sends what is due in workspace ws. */
static void look(store_conn *conn, http_out *h, const char *ws)
{
    int room = MAX_OUT - out_count();
    if (room <= 0) return;
    arena a;
    arena_init(&a);
    due_ctx x = {.now = (int64_t)time_now_ms(), .max = room < WS_DUE_MAX ? room : WS_DUE_MAX};
    store_err e;
    int rc = engine_as_system(conn, &a, ws, due_fn, &x, &e);
    if (rc)
        fprintf(stderr,
                "{\"level\":\"error\",\"msg\":\"webhook deliveries not read\",\"store\":\"%s\"}\n",
                e.msg);
    /* An ordered endpoint's first goes now, the rest in turn. It came
     * only because nothing of its is out: what was queued for it before
     * is older news. */
    const char *sent_to = NULL;
    bool taken = false; /* sent_to's deliveries so far are sent or queued */
    for (int i = 0; i < x.n; i++) {
        const engine_delivery *d = &x.d[i];
        if (!d->ordered) {
            send_one(h, ws, d);
            continue;
        }
        if (!sent_to || strcmp(sent_to, d->webhook_id) != 0) {
            drop_queued(d->webhook_id);
            high_forget(d->webhook_id);
            sent_to = d->webhook_id;
            taken = send_one(h, ws, d);
        } else if (taken) {
            taken = enqueue(ws, d);
        }
        /* The first not taken and those after it stay for the next look. */
        if (taken) high_note(d->webhook_id, d->sequence);
    }
    arena_release(&a);
}

static void *loop(void *arg)
{
    (void)arg;
    store_conn *conn = NULL;
    store_err e;
    if (store_connect(W.db, &conn, &e) != STORE_OK) {
        fprintf(stderr,
                "{\"level\":\"error\",\"msg\":\"webhook worker has no connection\","
                "\"store\":\"%s\"}\n",
                e.msg);
        return NULL;
    }
    store_small_reads(conn);
    http_out *h = W.h;
    uint64_t last_full = 0, last_hold = 0;
    bool held = false;
    store_ws_list todo = {0}, all_ws = {0};
    while (!atomic_load(&W.stop)) {
        uint64_t now = time_now_ms();
        if (now - last_hold >= HOLD_MS) {
            last_hold = now;
            if (store_try_hold(conn, HOLD_KEY, &held, &e) != STORE_OK) held = false;
        }
        char noted[POLL_WS][ID_MAX];
        bool all = false;
        int n = integrations_take(noted, POLL_WS, &all);
        todo.n = 0;
        for (int i = 0; i < n; i++)
            store_ws_add(&todo, noted[i], true);
        pthread_mutex_lock(&W.mu);
        for (int i = 0; i < W.nfinished; i++) {
            slot *s = &W.slots[W.finished[i]];
            store_ws_add(&todo, s->ws, true); /* its endpoint's next may go now */
            s->state = 0;
        }
        W.nfinished = 0;
        pthread_mutex_unlock(&W.mu);
        for (int i = 0; i < W.nrepoll; i++)
            store_ws_add(&todo, W.repoll[i], true);
        W.nrepoll = 0;
        if (atomic_exchange(&W.reread, false)) W.nhigh = 0;
        if (all || now - last_full >= POLL_MS) {
            last_full = now;
            W.nhigh = 0; /* replays, retries and other nodes' sends: read from the first */
            all_ws.n = 0;
            if (store_workspace_ids(conn, &all_ws, &e) != STORE_OK)
                fprintf(stderr,
                        "{\"level\":\"error\",\"msg\":\"webhook worker: no workspaces\","
                        "\"store\":\"%s\"}\n",
                        e.msg);
            for (int i = 0; i < all_ws.n; i++)
                if (integrations_has_webhooks(all_ws.id[i]))
                    store_ws_add(&todo, all_ws.id[i], true);
        }
        if (held)
            for (int i = 0; i < todo.n && !atomic_load(&W.stop); i++)
                look(conn, h, todo.id[i]);
        uint64_t since = time_now_ms() - last_full;
        http_out_run(h, since >= POLL_MS ? 0 : (int)(POLL_MS - since));
        record_submit(false);
    }
    record_submit(true);
    for (int i = 0; i < MAX_OUT; i++)
        if (W.queue[i].used) unqueue(&W.queue[i]);
    store_ws_free(&todo);
    store_ws_free(&all_ws);
    store_disconnect(conn);
    return NULL;
}

int webhooks_start(store *db, bool allow_private, store_err *e)
{
    http_out_global_init();
    W.db = db;
    W.allow_private = allow_private;
    const char *t = getenv("CAIRN_WEBHOOK_TIMEOUT_MS"); /* tests: a quick timeout */
    W.timeout_ms = t && atoi(t) > 0 ? atoi(t) : HTTP_OUT_TIMEOUT_MS;
    memset(W.slots, 0, sizeof W.slots);
    W.nfinished = W.recording = 0;
    atomic_store(&W.stop, false);
    http_out *h = http_out_new(allow_private, MAX_OUT);
    if (!h) {
        snprintf(e->msg, sizeof e->msg, "no memory for the webhook client");
        return STORE_ERROR;
    }
    pthread_mutex_lock(&W.mu);
    W.h = h;
    pthread_mutex_unlock(&W.mu);
    integrations_set_waker(wake, NULL);
    if (pthread_create(&W.thread, NULL, loop, NULL) != 0) {
        integrations_set_waker(NULL, NULL);
        pthread_mutex_lock(&W.mu);
        W.h = NULL;
        pthread_mutex_unlock(&W.mu);
        http_out_free(h);
        snprintf(e->msg, sizeof e->msg, "cannot start the webhook worker");
        return STORE_ERROR;
    }
    pthread_setname_np(W.thread, "cairn-webhooks");
    W.started = true;
    return STORE_OK;
}

void webhooks_stop(void)
{
    if (!W.started) return;
    atomic_store(&W.stop, true);
    wake(NULL);
    pthread_join(W.thread, NULL);
    integrations_set_waker(NULL, NULL);
    /* Attempts on their way through the writer come back before the
     * client they name goes (the writers still run). */
    pthread_mutex_lock(&W.mu);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += STOP_WAIT_S;
    while (W.recording > 0)
        if (pthread_cond_timedwait(&W.cv, &W.mu, &until)) break;
    http_out *h = W.h;
    W.h = NULL;
    pthread_mutex_unlock(&W.mu);
    http_out_free(h);
    W.started = false;
}
