/* meta.c - the fixed routes: health, readiness, metrics, the workspace
 * summary. (The OpenAPI document is in openapi.c.) */
#include "api/routes.h"
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

static const char *const modules[] = {"crm", "activity_log", "tasks", NULL};

int meta_workspace(api_req *q)
{
    if (api_params_check(q)) return -1;
    store_workspace ws;
    store_err e;
    int rc = store_workspace_find(q->conn, q->ws, &ws, &e);
    if (rc) return api_store_error(q, rc, &e);
    jw *w = api_data(q, 200);
    jw_obj_open(w);
    jw_kstr(w, "id", ws.id);
    jw_kstr(w, "object", "workspace");
    jw_kstr(w, "name", ws.name);
    jw_key(w, "enabled_modules");
    jw_arr_open(w);
    for (int i = 0; modules[i]; i++)
        jw_str(w, modules[i]);
    jw_arr_close(w);
    char t[TIME_STR];
    time_format_ms((uint64_t)ws.created_ms, t);
    jw_kstr(w, "created_at", t);
    jw_obj_close(w);
    api_finish(q);
    return 0;
}
