/* server.h - the HTTP server: h2o adapter between sockets and api_req.
 *
 * Owns: listening, one h2o event loop and one store connection per worker
 * thread, translating h2o requests into api_req and responses back,
 * header/URL limits, the access log, handing writes to the writer and
 * answering them when it is done, and draining on SIGTERM. */
#ifndef CAIRN_SERVER_H
#define CAIRN_SERVER_H

#include <stdio.h>

#include "api/api.h"
#include "store/store.h"

typedef struct server_config {
    const char *listen; /* "host:port"; port 0 picks a free one */
    int threads;
    store *db;
    FILE *access_log; /* NULL: off */
} server_config;

/* Serves until SIGTERM/SIGINT, then drains and returns 0; non-zero when it
 * cannot start (message on stderr). */
int server_run(const server_config *cfg);

#endif
