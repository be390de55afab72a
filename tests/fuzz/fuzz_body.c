/* fuzz_body.c - libFuzzer target: a JSON body -> the engine's validation
 * and write path of a resource, as a dry run on a real store.
 *
 * Input: "<METHOD> <path>[?query]\n<JSON body>", e.g.
 *   POST /v1/contacts?upsert_on=email
 *   {"name": "Ann", "email": "ann@example.com", "company_id": "com_0"}
 * The path picks the resource and the operation: every write route the
 * API has (create, update, sub-creates, batch, merge, actions), each run
 * as a dry run inside a rolled-back transaction on the world of world.h,
 * where "com_0" and the like name real records. What must hold is there. */
#include "world.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_open(true);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_request r;
    if (!fz_request_parse(&r, data, size, true)) return 0;
    fz_request_run(&r);
    fz_request_release(&r);
    return 0;
}
