/* metrics.c - Prometheus counters: requests by route and status, a latency
 * histogram, store errors. Lock-free: relaxed atomic adds on fixed arrays
 * indexed by route, so the hot path never waits on another thread. */
#include <stdatomic.h>
#include <stdio.h>

#include "api/api.h"

#define MAX_ROUTES 512
#define NSTATUS    600
#define NBUCKETS   14

static const double bucket_le[NBUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                           0.025,  0.05,    0.1,    0.25,  0.5,    1,     5};

static _Atomic uint64_t by_route[MAX_ROUTES + 1][NSTATUS];
static _Atomic uint64_t buckets[NBUCKETS + 1];
static _Atomic uint64_t dur_sum_us, dur_count, store_errors;

void api_metrics_observe(const api_req *q, uint64_t dur_ns)
{
    int nr;
    const api_route *routes = api_routes(&nr);
    int ri = q->route ? (int)(q->route - routes) : MAX_ROUTES;
    if (ri < 0 || ri > MAX_ROUTES) ri = MAX_ROUTES;
    int st = q->status >= 100 && q->status < NSTATUS ? q->status : 500;
    atomic_fetch_add_explicit(&by_route[ri][st], 1, memory_order_relaxed);
    double s = (double)dur_ns / 1e9;
    int b = 0;
    while (b < NBUCKETS && s > bucket_le[b])
        b++;
    atomic_fetch_add_explicit(&buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&dur_sum_us, dur_ns / 1000, memory_order_relaxed);
    atomic_fetch_add_explicit(&dur_count, 1, memory_order_relaxed);
}

void api_metrics_store_error(void)
{
    atomic_fetch_add_explicit(&store_errors, 1, memory_order_relaxed);
}

static const char *mname(api_method m)
{
    static const char *n[] = {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OTHER"};
    return n[m];
}

void api_metrics_render(buf *b)
{
    int nr;
    const api_route *routes = api_routes(&nr);
    buf_puts(b, "# HELP cairn_http_requests_total HTTP requests by route and status.\n"
                "# TYPE cairn_http_requests_total counter\n");
    for (int r = 0; r <= MAX_ROUTES; r++) {
        if (r >= nr && r != MAX_ROUTES) continue;
        for (int s = 100; s < NSTATUS; s++) {
            uint64_t v = atomic_load_explicit(&by_route[r][s], memory_order_relaxed);
            if (!v) continue;
            if (r == MAX_ROUTES)
                buf_printf(b,
                           "cairn_http_requests_total{method=\"\",route=\"unmatched\",status=\"%"
                           "d\"} %llu\n",
                           s, (unsigned long long)v);
            else
                buf_printf(
                    b, "cairn_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
                    mname(routes[r].method), routes[r].pattern, s, (unsigned long long)v);
        }
    }
    buf_puts(b, "# HELP cairn_http_request_duration_seconds Request latency.\n"
                "# TYPE cairn_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < NBUCKETS; i++) {
        cum += atomic_load_explicit(&buckets[i], memory_order_relaxed);
        buf_printf(b, "cairn_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_le[i],
                   (unsigned long long)cum);
    }
    cum += atomic_load_explicit(&buckets[NBUCKETS], memory_order_relaxed);
    buf_printf(b, "cairn_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
               (unsigned long long)cum);
    buf_printf(b, "cairn_http_request_duration_seconds_sum %.6f\n",
               (double)atomic_load(&dur_sum_us) / 1e6);
    buf_printf(b, "cairn_http_request_duration_seconds_count %llu\n",
               (unsigned long long)atomic_load(&dur_count));
    buf_printf(b,
               "# HELP cairn_store_errors_total Store failures answered as 5xx.\n"
               "# TYPE cairn_store_errors_total counter\ncairn_store_errors_total %llu\n",
               (unsigned long long)atomic_load(&store_errors));
}
