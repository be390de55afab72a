/* fuzz_json.c - libFuzzer target: jr_load (src/core/jr.c) against Jansson.
 *
 * Input: a flags byte (bit 0 JSON_REJECT_DUPLICATES, bit 1 JSON_DECODE_ANY,
 * bit 2 JSON_ALLOW_NUL, bit 3 JSON_DISABLE_EOF_CHECK, which jr_load leaves
 * to Jansson), then the text. jr_load must answer exactly as json_loadb:
 * both fail with the same error, or both give equal values whose keys come
 * in the same order (their compact dumps are the same bytes). A value read
 * also checks tools_input_text (src/agent/tools.c), the audit log's input
 * text: the same bytes as Jansson's compact, key-sorted dump. */
#include <jansson.h>
#include <string.h>

#include "agent/tools.h"
#include "core/jr.h"
#include "fuzz.h"

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t flags = 0;
    if (data[0] & 1) flags |= JSON_REJECT_DUPLICATES;
    if (data[0] & 2) flags |= JSON_DECODE_ANY;
    if (data[0] & 4) flags |= JSON_ALLOW_NUL;
    if (data[0] & 8) flags |= JSON_DISABLE_EOF_CHECK;
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    json_error_t e1, e2;
    json_t *a = jr_load(text, n, flags, &e1);
    json_t *b = json_loadb(text, n, flags, &e2);
    if (!a != !b)
        FZ_FAIL("jr_load %s where json_loadb %s (%s)", a ? "parsed" : "failed",
                b ? "parsed" : "failed", a ? e2.text : e1.text);
    if (!a) {
        if (strcmp(e1.text, e2.text) != 0 || e1.line != e2.line || e1.column != e2.column ||
            e1.position != e2.position)
            FZ_FAIL("errors differ: '%s' at %d:%d against '%s' at %d:%d", e1.text, e1.line,
                    e1.column, e2.text, e2.line, e2.column);
        return 0;
    }
    if (!json_equal(a, b)) FZ_FAIL("values differ");
    char *da = dump(a), *db = dump(b);
    if (!da || !db || strcmp(da, db) != 0)
        FZ_FAIL("dumps differ: %.200s against %.200s", da ? da : "(none)", db ? db : "(none)");
    free(da);
    free(db);
    char *sorted = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS), small[256], *big;
    size_t len = tools_input_text(b, small, sizeof small, &big);
    const char *got = big ? big : small;
    if (!sorted || len != strlen(sorted) || memcmp(got, sorted, len) != 0)
        FZ_FAIL("input text differs: %.*s against %.200s", (int)(len < 200 ? len : 200), got,
                sorted ? sorted : "(none)");
    free(sorted);
    free(big);
    json_decref(a);
    json_decref(b);
    return 0;
}
