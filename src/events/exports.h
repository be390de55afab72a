/* exports.h - the BI export worker.
 *
 * Owns: one thread that runs queued exports (what an export is and how
 * its file is written are resources/bi.c's). It reads with its own store
 * connection, so a long export never holds a request's reader nor the
 * writer, and writes each claim (running) and each outcome through the
 * writer (api/writer.h): on SQLite only the writer may write. Woken when
 * an export is made, and looking once a second besides. With several
 * nodes on one PostgreSQL, the worker that holds the store's lock runs
 * exports (store_try_hold); when it takes the lock it also takes again
 * the exports left running by a worker that died (kill -9), as it does
 * at every start on SQLite. */
#ifndef CAIRN_EXPORTS_H
#define CAIRN_EXPORTS_H

#include "store/store.h"

/* Starts the worker (after the writers). STORE_OK, or a status with
 * e->msg set. */
int exports_start(store *db, store_err *e);
/* Stops it (before the writers stop), after the export it is running. */
void exports_stop(void);

#endif
