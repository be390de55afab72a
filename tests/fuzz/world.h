/* world.h - what the engine fuzz targets (fuzz_body.c, fuzz_query.c)
 * share: a real SQLite store (in memory) holding one workspace with a few
 * records of every resource, and one request run against it the way the
 * API runs it, minus HTTP and keys.
 *
 * A request is text: "<METHOD> <path>[?query]\n<body>". The target goes
 * through the server's own percent-decoding and checks (exchange_target)
 * and router (routes_match), then becomes the engine_call api.c would
 * make, with every scope. Ids that the fuzzer cannot know are written as
 * placeholders: "<prefix>_<digit>" (con_0, deal_2, stage_4) in the path,
 * a query value or any string of the body stands for the digit-th oldest
 * record of the resource with that id prefix (stage_0..4 are the default
 * pipeline's stages, pipe_0 the default pipeline).
 *
 * What must hold, beyond no sanitizer report: every result is one of the
 * engine's kinds; input alone never makes EK_INTERNAL or EK_UNAVAILABLE
 * (a 500 or 503 from a healthy store is a bug); success carries one JSON
 * object or array and failure a message and no data; a dry run stores
 * nothing. fuzz_query.c adds its own checks on list pages. */
#ifndef CAIRN_FUZZ_WORLD_H
#define CAIRN_FUZZ_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "http/internal.h"

/* One request on its way: its parsed form, its call and its result.
 * fz_request_parse fills it; fz_request_release frees it. */
typedef struct fz_request {
    http_exchange x; /* x.q: path, parameters, arena (exchange_target fills it) */
    const api_route *route;
    json_t *body;
    engine_call call;
    engine_result out;
} fz_request;

/* Opens the world once (aborts when it cannot); FUZZ_SHOW=1 in the
 * environment makes fz_show print what requests get. With FUZZ_DICT=path
 * it writes the target's libFuzzer dictionary there instead and exits:
 * route segments, placeholders, and each field's name and enum values
 * from the resource table, as JSON keys (writes) or parameters (reads). */
void fz_open(bool writes);
void fz_dict(FILE *f, bool writes);
extern bool fz_show;

/* Parses data[0..n) into r. Returns false (r released) when the API would
 * refuse it before the engine (no such route, a bad path or parameter, a
 * body that is not a JSON object), or when the route is not the kind the
 * target drives: writes (`writes`) or reads. */
bool fz_request_parse(fz_request *r, const uint8_t *data, size_t n, bool writes);
/* Runs r's call: a write in a transaction that is rolled back after,
 * as a dry run. Checks what must hold. */
void fz_request_run(fz_request *r);
void fz_request_release(fz_request *r);

/* Checks one result (and a batch's items); what = for messages. */
void fz_check_result(const engine_result *out, const char *what);
/* The id a placeholder stands for, or NULL when s is not one. */
const char *fz_seed_id(const char *s);

#endif
