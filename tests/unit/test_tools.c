/* test_tools.c - the agent tool catalogue and MCP's messages, driven as a
 * library on a real SQLite store with no server: the catalogue derived
 * from the table is well formed, inputs are checked against their schemas
 * before anything runs, and JSON-RPC requests get their answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/mcp.h"
#include "agent/tools.h"
#include "core/ids.h"
#include "core/jsv.h"
#include "test.h"

static bool name_ok(const char *n)
{
    if (!n[0] || strlen(n) > 64 || n[0] < 'a' || n[0] > 'z') return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) return false;
    return true;
}

TEST(tools_catalogue_is_derived_from_the_table)
{
    int n = tools_count();
    CHECK(n > 50);
    CHECK(tools_find("") == NULL);
    CHECK(tools_find("get_contacts") == NULL); /* near a name, not one */
    CHECK(tools_find("GET_CONTACT") == NULL);
    json_t *empty = json_object();
    for (int i = 0; i < n; i++) {
        const tool_def *t = tools_at(i);
        if (!CHECK(name_ok(t->name))) printf("  bad tool name %s\n", t->name);
        CHECK(tools_find(t->name) == t);
        CHECK(t->description && t->description[0]);
        CHECK_STR(json_string_value(json_object_get(t->input_schema, "type")), "object");
        CHECK_STR(json_string_value(json_object_get(t->output_schema, "type")), "object");
        /* Every schema compiles: checking an empty input fails, if at all,
         * for the input's sake, never the schema's. */
        char path[128], msg[256];
        if (!jsv_validate(t->input_schema, empty, path, sizeof path, msg, sizeof msg) &&
            !CHECK(strncmp(msg, "schema error", 12) != 0))
            printf("  %s: %s %s\n", t->name, path, msg);
        bool writes = tools_writes(t);
        /* An action with effects outside the store (an SMTP verify) is not
         * read-only though the writer does not run it. */
        CHECK_EQ_INT(writes || (t->action && t->action->effects), t->risk != TOOL_READ);
        json_t *props = json_object_get(t->input_schema, "properties");
        CHECK_EQ_INT(writes, json_object_get(props, "dryRun") != NULL);
        CHECK_EQ_INT(t->risk == TOOL_DESTRUCTIVE, json_object_get(props, "confirm") != NULL);
        CHECK(t->json && strstr(t->json, t->name));
    }
    json_decref(empty);
    for (int i = 0; i < res_count; i++) {
        const res_def *r = res_table[i];
        char name[160];
        snprintf(name, sizeof name, "get_%s", r->singular);
        if (!CHECK(tools_find(name) != NULL)) printf("  missing %s\n", name);
        snprintf(name, sizeof name, "delete_%s", r->singular);
        CHECK_EQ_INT(tools_find(name) != NULL, !r->read_only);
    }
    CHECK(tools_find("move_deal") && tools_find("move_deal")->op == OP_ACTION);
    CHECK(tools_find("list_pipeline_stages") != NULL);
    CHECK(tools_find("merge_contacts")->risk == TOOL_DESTRUCTIVE);
    CHECK(tools_find("void_invoice")->risk == TOOL_DESTRUCTIVE);
    CHECK(tools_find("nope") == NULL);
}

TEST(tools_input_hash_of_canonical_text)
{
    char got[TOKEN_HASH_HEX], want[TOKEN_HASH_HEX];
    /* Keys sorted, compact: the same input in any order, the same hash. */
    json_t *in = json_pack("{s:i,s:s}", "b", 1, "a", "x");
    tools_input_hash(in, got);
    sha256_hex("{\"a\":\"x\",\"b\":1}", 15, want);
    CHECK_STR(got, want);
    json_decref(in);
    tools_input_hash(NULL, got);
    sha256_hex("{}", 2, want);
    CHECK_STR(got, want);
    /* Longer than the stack's 1 KiB: the same canonical text. */
    in = json_object();
    char k[8];
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof k, "k%03d", 299 - i);
        json_object_set_new(in, k, json_integer(i));
    }
    char *text = json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK(text && strlen(text) > 1024 && strncmp(text, "{\"k000\":299,", 12) == 0);
    tools_input_hash(in, got);
    sha256_hex(text, strlen(text), want);
    CHECK_STR(got, want);
    free(text);
    json_decref(in);
}

/* The input text is Jansson's compact, key-sorted dump, whichever way it
 * is written: by the fast path or by Jansson itself (reals, escapes,
 * UTF-8, deep nesting, many keys, a small buffer). */
TEST(tools_input_text_as_jansson_dumps)
{
    static const char *const inputs[] = {
        "{}",
        "[]",
        "{\"id\":\"con_01HZ\"}",
        "{\"b\":1,\"a\":[true,false,null,-9223372036854775808,9223372036854775807],\"ab\":{}}",
        "{\"z\":{\"y\":{\"x\":[{\"b\":2,\"a\":1}]}},\"a\":\"\"}",
        "{\"price\":1.5,\"n\":1}",
        "{\"q\":\"line\\nbreak\",\"s\":\"a/b\",\"t\":\"quote\\\"d\"}",
        "{\"name\":\"Zo\u00eb \u2603\",\"del\":\"\\u007f\"}",
        "[[[[[[[[[[1]]]]]]]]]]",
        "\"just a string\"",
        "42",
        "{\"B\":1,\"a\":2,\"_\":3,\"A\":4,\"aa\":5,\"a0\":6}",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        json_t *in = json_loads(inputs[i], JSON_DECODE_ANY, NULL);
        CHECK(in != NULL);
        char *want = json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        for (size_t cap = 8; cap <= 1024; cap *= 8) {
            char small[1024], *big;
            size_t n = tools_input_text(in, small, cap, &big);
            const char *got = big ? big : small;
            CHECK_EQ_INT((int)n, (int)strlen(want));
            CHECK(memcmp(got, want, n) == 0);
            free(big);
        }
        free(want);
        json_decref(in);
    }
    /* More keys than the fast path sorts: Jansson's order still. */
    json_t *in = json_object();
    char k[8];
    for (int i = 0; i < 40; i++) {
        snprintf(k, sizeof k, "k%02d", 39 - i);
        json_object_set_new(in, k, json_integer(i));
    }
    char *want = json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS), small[1024], *big;
    size_t n = tools_input_text(in, small, sizeof small, &big);
    CHECK(!big && n == strlen(want) && memcmp(small, want, n) == 0);
    free(want);
    json_decref(in);
}

TEST(tools_sets_parse)
{
    uint32_t m;
    char err[200];
    CHECK(tools_parse_sets("crm", &m, err, sizeof err) && m == 1u << MOD_CRM);
    CHECK(tools_parse_sets(" crm , support ", &m, err, sizeof err) &&
          m == (1u << MOD_CRM | 1u << MOD_SUPPORT));
    CHECK(tools_parse_sets("all", &m, err, sizeof err) && m == TOOLSET_ALL);
    CHECK(!tools_parse_sets("crm,,support", &m, err, sizeof err));
    CHECK(!tools_parse_sets("crm,", &m, err, sizeof err));
    CHECK(!tools_parse_sets("", &m, err, sizeof err));
    CHECK(!tools_parse_sets("tasks", &m, err, sizeof err)); /* part of crm */
    CHECK(!tools_parse_sets("payroll", &m, err, sizeof err) || !CHECK(strstr(err, "payroll")));
    CHECK(tools_find("list_tasks")->toolsets == 1u << MOD_CRM);
    CHECK(tools_find("create_invoice")->toolsets == 1u << MOD_BILLING);
}

/* ------------------------------------------------------------ over MCP */

typedef struct rig {
    store *s;
    store_conn *c;
    arena a;
    char ws[ID_MAX];
    mcp_ctx ctx;
    buf out;
} rig;

static bool rig_open(rig *g, const char *name)
{
    memset(g, 0, sizeof *g);
    arena_init(&g->a);
    buf_init(&g->out, 1u << 24);
    store_err e = {{0}};
    store_opts o = {.durable = false, .busy_ms = 2000};
    store_workspace w;
    int applied;
    if (!CHECK_EQ_INT(store_open(&g->s, test_path(name), &o, &e), STORE_OK) ||
        !CHECK_EQ_INT(store_connect(g->s, &g->c, &e), STORE_OK) ||
        !CHECK_EQ_INT(store_migrate(g->c, &applied, &e), STORE_OK) ||
        !CHECK_EQ_INT(store_workspace_create(g->c, "tools", &w, &e), STORE_OK) ||
        !CHECK_EQ_INT(engine_workspace_created(g->c, w.id, &e), STORE_OK)) {
        printf("  %s\n", e.msg);
        return false;
    }
    snprintf(g->ws, sizeof g->ws, "%s", w.id);
    g->ctx = (mcp_ctx){.who = {.ws = g->ws,
                               .actor = "key_test",
                               .scopes = "crm:read crm:write tasks:read tasks:write",
                               .trace = "req_test"},
                       .toolsets = tools_default_sets(),
                       .conn = g->c,
                       .a = &g->a};
    return true;
}

static void rig_close(rig *g)
{
    store_disconnect(g->c);
    store_close(g->s);
    arena_release(&g->a);
    buf_free(&g->out);
}

/* One message in, its answer parsed (NULL when there is none). Writes run
 * in a transaction, as the writer and stdio run them. */
static json_t *send(rig *g, const char *text)
{
    json_t *msg;
    buf_reset(&g->out);
    mcp_kind k = mcp_read(text, strlen(text), &msg, &g->out);
    if (k == MCP_REQUEST) {
        bool rollback, w = mcp_writes(msg);
        store_err e;
        if (w) CHECK_EQ_INT(store_begin(g->c, true, &e), STORE_OK);
        engine_audit audit;
        mcp_answer(&g->ctx, msg, &g->out, &rollback, &audit);
        if (w && rollback) store_rollback(g->c);
        if (w && !rollback) CHECK_EQ_INT(store_commit(g->c, &e), STORE_OK);
    }
    json_decref(msg);
    return g->out.len ? json_loadb(g->out.data, g->out.len, 0, NULL) : NULL;
}

static json_t *result(json_t *j)
{
    return json_object_get(j, "result");
}

TEST(mcp_messages_without_a_server)
{
    rig g;
    if (!rig_open(&g, "mcp.db")) return;
    json_t *j = send(&g, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
                         "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{}}}");
    CHECK_STR(json_string_value(json_object_get(result(j), "protocolVersion")), "2025-06-18");
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "id")), 0);
    json_decref(j);

    CHECK(send(&g, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}") == NULL);
    j = send(&g, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "error"), "code")), -32600);
    json_decref(j);
    j = send(&g, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "error"), "code")), -32700);
    json_decref(j);

    j = send(&g, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"create_contact\",\"arguments\":{\"name\":\"Ada\",\"email\":\"ada@x.io\"}}}");
    json_t *sc = json_object_get(result(j), "structuredContent");
    CHECK(json_is_false(json_object_get(result(j), "isError")));
    char id[ID_MAX] = "";
    const char *made = json_string_value(json_object_get(sc, "id"));
    snprintf(id, sizeof id, "%s", made ? made : "");
    CHECK(strncmp(id, "con_", 4) == 0);
    json_decref(j);

    char text[512];
    snprintf(text, sizeof text,
             "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"get_contact\",\"arguments\":{\"id\":\"%s\"}}}",
             id);
    j = send(&g, text);
    sc = json_object_get(result(j), "structuredContent");
    CHECK_STR(json_string_value(json_object_get(sc, "email")), "ada@x.io");
    json_decref(j);

    /* A wrong input is an isError result naming the path, and stores
     * nothing; so is a delete without confirm. */
    j = send(&g, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"create_contact\",\"arguments\":{\"name\":\"B\",\"email\":[]}}}");
    CHECK(json_is_true(json_object_get(result(j), "isError")));
    const char *t = json_string_value(
        json_object_get(json_array_get(json_object_get(result(j), "content"), 0), "text"));
    CHECK(t && strstr(t, "\"param\":\"email\""));
    json_decref(j);
    snprintf(text, sizeof text,
             "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"delete_contact\",\"arguments\":{\"id\":\"%s\"}}}",
             id);
    j = send(&g, text);
    CHECK(json_is_true(json_object_get(result(j), "isError")));
    json_decref(j);
    j = send(&g, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"list_contacts\",\"arguments\":{\"limit\":10}}}");
    CHECK_EQ_INT(
        json_array_size(json_object_get(json_object_get(result(j), "structuredContent"), "data")),
        1);
    json_decref(j);

    j = send(&g, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"nope\"}}");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "error"), "code")), -32602);
    json_decref(j);
    rig_close(&g);
}
