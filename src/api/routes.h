/* routes.h - the route table, derived from the resource table plus the
 * few fixed routes (health, metrics, workspace, OpenAPI).
 *
 * Owns: building the routes once at start-up and matching a path to one. */
#ifndef CAIRN_ROUTES_H
#define CAIRN_ROUTES_H

#include "api/api.h"

void routes_build(void);
/* The route for q's method and path, filling q->pv; NULL when none. When a
 * route matches the path but not the method, *allowed has bit 1 << method
 * set for each method that path takes. */
const api_route *routes_match(api_req *q, int *allowed);

/* Handlers of the fixed routes (api/meta.c). */
int meta_healthz(api_req *q);
int meta_readyz(api_req *q);
int meta_metrics(api_req *q);
int meta_openapi(api_req *q);

#endif
