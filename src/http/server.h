/* server.h - the HTTP server: between sockets and api_req.
 *
 * Owns: listening, one event loop and one store connection per worker
 * thread, HTTP/1.x (parsed by Cairn, src/http/http1.c) and HTTP/2 (h2o),
 * translating requests into api_req and responses back, the limits on a
 * request head and body (every refusal is a JSON error), the access log,
 * handing writes to the writer and answering them when it is done, the
 * metrics listener, and draining on SIGTERM. */
#ifndef CAIRN_SERVER_H
#define CAIRN_SERVER_H

#include <stdbool.h>
#include <stdio.h>

#include "api/api.h"
#include "store/store.h"

typedef struct server_config {
    const char *listen;         /* "host:port"; port 0 picks a free one */
    const char *metrics_listen; /* a second listener serving only /metrics; NULL: none */
    int threads;
    int writers; /* writer threads, each with its connection (api/writer.h) */
    store *db;
    FILE *access_log;           /* NULL: off */
    bool webhook_allow_private; /* the delivery worker may call private addresses */
} server_config;

/* Serves until SIGTERM/SIGINT, then drains and returns 0; non-zero when it
 * cannot start (message on stderr). */
int server_run(const server_config *cfg);

#endif
