/* fuzz_query.c - libFuzzer target: a query string -> the engine's list
 * parameters (filters, sort, limit, cursor, query, custom_field_key and
 * _value, relation filters such as company.domain=) on a real store.
 *
 * Input: "<path>?<query>", e.g. /v1/contacts?sort=-name&limit=1&status=active
 * Every read route the engine answers can be reached (lists, sub-lists,
 * timelines, gets, the board, the dashboard); the query goes through the
 * server's own decoding first. Placeholders (world.h) name records in
 * paths and values. Cursors are sealed, so a mutated one only reaches the
 * refusal: what a cursor holds is fuzz_cursor.c's to fuzz, and the pages a
 * real one leads to are followed here.
 *
 * What must hold, beyond world.h's checks: a page with a next cursor is
 * followed by a page that the same query with that cursor answers, and the
 * two share no record (keyset paging neither repeats nor loops). */
#include <string.h>

#include "world.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_open(false);
    return 0;
}

/* The ids of a page's records (timeline items have ids too). */
static json_t *page_ids(const engine_result *out)
{
    json_t *page = json_loadb(out->data.data, out->data.len, 0, NULL), *ids = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(page, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "id"));
        if (id) json_object_set_new(ids, id, json_true());
    }
    json_decref(page);
    return ids;
}

/* The same request again with the page's cursor: it must be answered, and
 * with other records. */
static void follow(fz_request *r)
{
    engine_call c = r->call;
    engine_result next;
    engine_result_init(&next);
    c.out = &next;
    engine_param ps[API_MAX_PARAMS + 1];
    int np = 0;
    for (int i = 0; i < c.nparams; i++)
        if (strcmp(c.params[i].k, "cursor") != 0)
            ps[np++] = (engine_param){.k = c.params[i].k, .v = c.params[i].v};
    ps[np++] = (engine_param){.k = "cursor", .v = r->out.next_cursor};
    c.params = ps;
    c.nparams = np;
    engine_run(&c);
    fz_check_result(&next, "the next page");
    if (next.kind != EK_OK)
        FZ_FAIL("%s: its own next cursor refused: %s (%s)", r->route->pattern, next.message,
                r->out.next_cursor);
    json_t *a = page_ids(&r->out), *b = page_ids(&next);
    const char *id;
    json_t *v;
    json_object_foreach(b, id, v)
    {
        if (json_object_get(a, id))
            FZ_FAIL("%s: %s on two pages (cursor %s)", r->route->pattern, id, r->out.next_cursor);
    }
    json_decref(a);
    json_decref(b);
    engine_result_release(&next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The request line's method is always GET here: the input is its target. */
    uint8_t *line = malloc(size + 4);
    if (!line) abort();
    memcpy(line, "GET ", 4);
    memcpy(line + 4, data, size);
    fz_request r;
    bool ok = fz_request_parse(&r, line, size + 4, false);
    free(line);
    if (!ok) return 0;
    fz_request_run(&r);
    if (r.out.kind == EK_OK && r.out.list && r.out.next_cursor) follow(&r);
    fz_request_release(&r);
    return 0;
}
