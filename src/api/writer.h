/* writer.h - group commit: the threads that write.
 *
 * Owns: the writers, each with its write connection, its queue of pending
 * write requests and the two threads that serve it (the writer and its
 * sync thread). SQLite has one writer, as its write lock covers the file;
 * PostgreSQL may have several, and each workspace's writes go to one of
 * them (by a hash of its id), so a workspace's writes still commit one
 * batch at a time in the order they came while other workspaces' run
 * beside them, on rows no other writer touches.
 * Worker threads validate nothing here; they hand over whole requests. A
 * writer takes every request waiting (up to a batch cap), runs each inside
 * its own savepoint of one transaction, commits once and passes the batch
 * to its sync thread, which waits for the commit to be durable
 * (store_sync: one fsync for every batch committed meanwhile) and then
 * calls each job's done() so its worker can answer. The next batch runs
 * during that fsync. Every acknowledged write is on disk, and since only
 * one thread writes to a SQLite file, no client ever sees "database is
 * locked". When no write has come for a moment, the first writer does the
 * store's upkeep (store_maintain) in short steps, looking at its queue
 * between steps. When a write fails for lack of room (STORE_FULL), the
 * writers stop upkeep and probe the store (store_probe) once a second,
 * idle or between batches, until a probe finds room again. */
#ifndef CAIRN_WRITER_H
#define CAIRN_WRITER_H

#include "api/api.h"

typedef struct writer_job {
    api_req *q; /* a request's write, or NULL for a job that brings run */
    /* A write nobody's request makes (a worker's results: deliveries,
     * emails sent), for workspace ws: runs in its own savepoint of the
     * batch; a non-zero store code rolls it back and is kept in rc, as is
     * a failed commit or sync, so done() can tell. */
    int (*run)(struct writer_job *j, store_conn *c);
    const char *ws;
    int rc;
    void (*done)(struct writer_job *j); /* called on the sync thread */
    struct writer_job *next;
} writer_job;

#define WRITERS_MAX 32

/* Starts n writers (at least 1; at most what the store allows, see
 * store_writers, and WRITERS_MAX). */
int writer_start(store *s, int n, store_err *e);
void writer_submit(writer_job *j);
/* Queues the audit entry of a call that wrote nothing (a read tool call)
 * for the writer of workspace ws, which appends it with its next
 * transaction; nobody waits for it. Copies a. */
void writer_audit(const char *ws, const engine_audit *a);
/* Finishes what is queued, then stops the threads. */
void writer_stop(void);
/* Whether writes fail for lack of room (STORE_FULL) and no probe has
 * found room since: /readyz answers 503 meanwhile. */
bool writer_storage_full(void);

#endif
