/* writer.h - group commit: the one thread that writes.
 *
 * Owns: the write connection, the queue of pending write requests and the
 * two threads that serve it (the writer and its sync thread).
 * Worker threads validate nothing here; they hand over whole requests. The
 * writer takes every request waiting (up to a batch cap), runs each inside
 * its own savepoint of one transaction, commits once and passes the batch
 * to its sync thread, which waits for the commit to be durable
 * (store_sync: one fsync for every batch committed meanwhile) and then
 * calls each job's done() so its worker can answer. The next batch runs
 * during that fsync. Every acknowledged write is on disk, and since only
 * this thread writes, no client ever sees "database is locked". When no
 * write has come for a moment, it does the store's upkeep (store_maintain)
 * in short steps, looking at the queue between steps. When a write fails
 * for lack of room (STORE_FULL), it stops upkeep and probes the store
 * (store_probe) once a second, idle or between batches, until a probe
 * finds room again. */
#ifndef CAIRN_WRITER_H
#define CAIRN_WRITER_H

#include "api/api.h"

typedef struct writer_job {
    api_req *q;
    void (*done)(struct writer_job *j); /* called on the sync thread */
    struct writer_job *next;
} writer_job;

int writer_start(store *s, store_err *e);
void writer_submit(writer_job *j);
/* Finishes what is queued, then stops the thread. */
void writer_stop(void);
/* Whether writes fail for lack of room (STORE_FULL) and no probe has
 * found room since: /readyz answers 503 meanwhile. */
bool writer_storage_full(void);

#endif
