/* meta.c - the fixed routes: health, readiness, metrics. (The OpenAPI
 * document is in openapi.c; the workspace is the engine's.) */
#include "api/routes.h"
#include "api/writer.h"
#include "core/timeutil.h"

int meta_healthz(api_req *q)
{
    q->status = 200;
    buf_printf(&q->out, "{\"status\":\"ok\",\"request_id\":\"%s\"}", q->request_id);
    return 0;
}

int meta_readyz(api_req *q)
{
    store_err e;
    if (store_ping(q->conn, &e) != STORE_OK) {
        q->retry_after = 1;
        return api_error(q, 503, "store_unavailable", NULL, "the database does not answer");
    }
    /* Reads still work, but a node that cannot store a write is not ready
     * for traffic that writes; 503 (not 507), as a load balancer expects. */
    if (writer_storage_full()) {
        q->retry_after = 1;
        return api_error(q, 503, "insufficient_storage", NULL, "%s", STORE_FULL_MSG);
    }
    buf_reset(&q->out);
    q->status = 200;
    buf_printf(&q->out, "{\"status\":\"ready\",\"request_id\":\"%s\"}", q->request_id);
    return 0;
}

int meta_metrics(api_req *q)
{
    buf_reset(&q->out);
    q->status = 200;
    q->out_type = "text/plain; version=0.0.4";
    api_metrics_render(&q->out);
    return 0;
}
