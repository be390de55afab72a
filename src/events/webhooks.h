/* webhooks.h - the webhook delivery worker.
 *
 * Owns: one thread that sends the deliveries the writers queue
 * (resources/integrations.c decides what is due and records how each
 * attempt went), with its own store connection and an http_out of many
 * POSTs in flight; the Standard Webhooks headers and signatures; which
 * deliveries are out, so none goes twice at once. A delivery stays
 * pending in the store until its attempt is recorded through the writer,
 * so one cut short by kill -9 goes again after the restart, with the same
 * webhook-id (at least once). With several nodes on one PostgreSQL, the
 * worker that holds the store's lock sends (store_try_hold); the others
 * wait, ready to take over. */
#ifndef CAIRN_WEBHOOKS_H
#define CAIRN_WEBHOOKS_H

#include <stdbool.h>

#include "store/store.h"

/* Starts the worker (after the writers); allow_private as `serve
 * --webhook-allow-private`. STORE_OK, or a status with e->msg set. */
int webhooks_start(store *db, bool allow_private, store_err *e);
/* Stops it (before the writers stop): what is in flight is abandoned, to
 * go again after the next start. */
void webhooks_stop(void);

#endif
