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

/* MCP's Streamable HTTP transport (api/mcp_http.c): POST /mcp, and its
 * tool calls that write, on the writer. */
void mcp_http_init(const char *origins);
int api_mcp(api_req *q);
int api_mcp_write(api_req *q);

/* 002's CRM Agent API (api/agent_http.c). */
int api_agent_capabilities(api_req *q);
int api_agent_tool(api_req *q);
int api_agent_tool_write(api_req *q);

#endif
