/* test_engine.c - the resource engine driven as a library: calls in,
 * results out, on a real store and no HTTP server (the way agent tools,
 * MCP and the dialects will call it). Writes run in a transaction as the
 * writer thread runs them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resources/engine.h"
#include "test.h"

typedef struct eng {
    store *s;
    store_conn *c;
    arena a;
    char ws[ID_MAX];
    const char *scopes;
    uint32_t disabled;
} eng;

static bool eng_open(eng *g, const char *name)
{
    memset(g, 0, sizeof *g);
    arena_init(&g->a);
    store_err e = {{0}};
    store_opts o = {.durable = false, .busy_ms = 2000};
    store_workspace w;
    int applied;
    if (!CHECK_EQ_INT(store_open(&g->s, test_path(name), &o, &e), STORE_OK)) return false;
    if (!CHECK_EQ_INT(store_connect(g->s, &g->c, &e), STORE_OK) ||
        !CHECK_EQ_INT(store_migrate(g->c, &applied, &e), STORE_OK) ||
        !CHECK_EQ_INT(store_workspace_create(g->c, "engine", &w, &e), STORE_OK) ||
        !CHECK_EQ_INT(engine_workspace_created(g->c, w.id, &e), STORE_OK)) {
        printf("  %s\n", e.msg);
        return false;
    }
    snprintf(g->ws, sizeof g->ws, "%s", w.id);
    g->scopes = "crm:read crm:write tasks:read tasks:write";
    return true;
}

static void eng_close(eng *g)
{
    store_disconnect(g->c);
    store_close(g->s);
    arena_release(&g->a);
}

/* One call: `params` as a query string ("k=v&k=v"), `body` as JSON text.
 * Writes run in a transaction, committed when the call succeeds. The
 * result's data is parsed into *data (NULL when there is none). */
static engine_kind call(eng *g, engine_op op, const res_def *r, const res_action *act,
                        const char *id, const char *params, const char *body, bool dry,
                        engine_result *out, json_t **data)
{
    engine_param ps[16];
    int np = 0;
    if (params) {
        char *copy = arena_strdup(&g->a, params);
        for (char *save = NULL, *kv = strtok_r(copy, "&", &save); kv && np < 16;
             kv = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(kv, '=');
            if (eq) *eq = '\0';
            ps[np++] = (engine_param){.k = kv, .v = eq ? eq + 1 : ""};
        }
    }
    json_t *j = body ? json_loads(body, 0, NULL) : NULL;
    engine_result_init(out);
    /* "parent/id" names a nested record */
    const char *id2 = NULL;
    if (id && strchr(id, '/')) {
        char *copy = arena_strdup(&g->a, id);
        char *slash = strchr(copy, '/');
        *slash = '\0';
        id2 = slash + 1;
        id = copy;
    }
    engine_call c = {.op = op,
                     .res = r,
                     .action = act,
                     .ids = {id, id2},
                     .params = ps,
                     .nparams = np,
                     .body = j,
                     .dry_run = dry,
                     .ws = g->ws,
                     .actor = "key_test",
                     .scopes = g->scopes,
                     .disabled = g->disabled,
                     .trace = "req_test",
                     .conn = g->c,
                     .a = &g->a,
                     .out = out};
    bool writes = engine_writes(op, act);
    store_err e;
    if (writes) CHECK_EQ_INT(store_begin(g->c, true, &e), STORE_OK);
    engine_run(&c);
    bool ok = out->kind == EK_OK || out->kind == EK_CREATED;
    if (writes && ok) CHECK_EQ_INT(store_commit(g->c, &e), STORE_OK);
    if (writes && !ok) store_rollback(g->c);
    json_decref(j);
    if (data) *data = out->data.len ? json_loadb(out->data.data, out->data.len, 0, NULL) : NULL;
    return out->kind;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int64_t events(eng *g)
{
    int64_t n = -1;
    store_err e;
    store_event_count(g->c, g->ws, &n, &e);
    return n;
}

/* Creates one record and returns its id (arena). */
static const char *create(eng *g, const res_def *r, const char *body)
{
    engine_result res;
    json_t *d;
    const char *id = NULL;
    if (CHECK_EQ_INT(call(g, OP_CREATE, r, NULL, NULL, NULL, body, false, &res, &d), EK_CREATED))
        id = arena_strdup(&g->a, str(d, "id"));
    else
        printf("  create %s %s: %s\n", r->name, body, res.message);
    json_decref(d);
    engine_result_release(&res);
    return id;
}

TEST(engine_crud_list_cursor_without_a_server)
{
    eng g;
    if (!eng_open(&g, "engine_crud.db")) return;
    engine_result res;
    json_t *d;
    const char *co = create(&g, RES(COMPANY), "{\"name\": \"Acme\", \"domain\": \"acme.com\"}");
    char body[256];
    const char *ids[3];
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof body, "{\"first_name\": \"P%d\", \"company_id\": \"%s\"}", i, co);
        ids[i] = create(&g, RES(CONTACT), body);
    }
    create(&g, RES(CONTACT), "{\"name\": \"Elsewhere\"}");

    /* get: the hook filled company_name from the company */
    CHECK_EQ_INT(call(&g, OP_GET, RES(CONTACT), NULL, ids[0], NULL, NULL, false, &res, &d), EK_OK);
    CHECK_STR(str(d, "company_name"), "Acme");
    CHECK_STR(str(d, "name"), "P0");
    json_decref(d);
    engine_result_release(&res);

    /* list with a filter, two a page: newest first, then the cursor */
    char q[256];
    snprintf(q, sizeof q, "company_id=%s&limit=2", co);
    CHECK_EQ_INT(call(&g, OP_LIST, RES(CONTACT), NULL, NULL, q, NULL, false, &res, &d), EK_OK);
    CHECK(res.list && res.next_cursor);
    CHECK_EQ_INT(json_array_size(d), 2);
    CHECK_STR(str(json_array_get(d, 0), "id"), ids[2]);
    CHECK_STR(str(json_array_get(d, 1), "id"), ids[1]);
    snprintf(q, sizeof q, "company_id=%s&limit=2&cursor=%s", co, res.next_cursor);
    json_decref(d);
    engine_result_release(&res);
    CHECK_EQ_INT(call(&g, OP_LIST, RES(CONTACT), NULL, NULL, q, NULL, false, &res, &d), EK_OK);
    CHECK_EQ_INT(json_array_size(d), 1);
    CHECK_STR(str(json_array_get(d, 0), "id"), ids[0]);
    CHECK(res.next_cursor == NULL);
    json_decref(d);
    engine_result_release(&res);

    /* a search for no word finds nothing; one that is not UTF-8 is refused */
    CHECK_EQ_INT(
        call(&g, OP_LIST, RES(CONTACT), NULL, NULL, "query=\xe2\x9c\x93", NULL, false, &res, &d),
        EK_OK);
    CHECK_EQ_INT(json_array_size(d), 0);
    json_decref(d);
    engine_result_release(&res);
    CHECK_EQ_INT(
        call(&g, OP_LIST, RES(CONTACT), NULL, NULL, "query=p\xc0\xaf", NULL, false, &res, NULL),
        EK_INVALID);
    CHECK_STR(res.param, "query");
    engine_result_release(&res);

    /* an unknown parameter is refused, naming it */
    CHECK_EQ_INT(call(&g, OP_LIST, RES(CONTACT), NULL, NULL, "colour=red", NULL, false, &res, NULL),
                 EK_INVALID);
    CHECK_STR(res.param, "colour");
    engine_result_release(&res);

    /* update, then a bad value names its field and changes nothing */
    CHECK_EQ_INT(call(&g, OP_UPDATE, RES(CONTACT), NULL, ids[1], NULL, "{\"title\": \"CTO\"}",
                      false, &res, &d),
                 EK_OK);
    CHECK_STR(str(d, "title"), "CTO");
    json_decref(d);
    engine_result_release(&res);
    CHECK_EQ_INT(call(&g, OP_UPDATE, RES(CONTACT), NULL, ids[1], NULL, "{\"email\": \"nope\"}",
                      false, &res, NULL),
                 EK_INVALID);
    CHECK_STR(res.param, "email");
    engine_result_release(&res);

    /* delete, then it is gone */
    CHECK_EQ_INT(call(&g, OP_DELETE, RES(CONTACT), NULL, ids[2], NULL, NULL, false, &res, &d),
                 EK_OK);
    CHECK(json_is_true(json_object_get(d, "deleted")));
    json_decref(d);
    engine_result_release(&res);
    CHECK_EQ_INT(call(&g, OP_GET, RES(CONTACT), NULL, ids[2], NULL, NULL, false, &res, NULL),
                 EK_NOT_FOUND);
    CHECK(res.param == NULL);
    engine_result_release(&res);
    eng_close(&g);
}

TEST(engine_dry_runs_store_nothing)
{
    eng g;
    if (!eng_open(&g, "engine_dry.db")) return;
    engine_result res;
    json_t *d;
    const char *id = create(&g, RES(CONTACT), "{\"name\": \"Kept\"}");
    int64_t before = events(&g);

    /* a create answers the record it would make, with its id, as ok */
    CHECK_EQ_INT(call(&g, OP_CREATE, RES(CONTACT), NULL, NULL, NULL,
                      "{\"first_name\": \"Dry\", \"last_name\": \"Run\"}", true, &res, &d),
                 EK_OK);
    CHECK_STR(str(d, "name"), "Dry Run");
    const char *would = arena_strdup(&g.a, str(d, "id"));
    CHECK(strncmp(would, "con_", 4) == 0);
    json_decref(d);
    engine_result_release(&res);
    CHECK_EQ_INT(call(&g, OP_GET, RES(CONTACT), NULL, would, NULL, NULL, false, &res, NULL),
                 EK_NOT_FOUND);
    engine_result_release(&res);

    /* an update and a delete: the answer shows them, the store does not */
    CHECK_EQ_INT(
        call(&g, OP_UPDATE, RES(CONTACT), NULL, id, NULL, "{\"title\": \"Boss\"}", true, &res, &d),
        EK_OK);
    CHECK_STR(str(d, "title"), "Boss");
    json_decref(d);
    engine_result_release(&res);
    CHECK_EQ_INT(call(&g, OP_DELETE, RES(CONTACT), NULL, id, NULL, NULL, true, &res, &d), EK_OK);
    CHECK_STR(str(d, "name"), "Kept"); /* the record that would go */
    json_decref(d);
    engine_result_release(&res);
    CHECK_EQ_INT(call(&g, OP_GET, RES(CONTACT), NULL, id, NULL, NULL, false, &res, &d), EK_OK);
    CHECK(json_is_null(json_object_get(d, "title")));
    json_decref(d);
    engine_result_release(&res);

    /* a dry run that fails fails as the write would */
    CHECK_EQ_INT(call(&g, OP_CREATE, RES(CONTACT), NULL, NULL, NULL, "{\"email\": \"bad\"}", true,
                      &res, NULL),
                 EK_INVALID);
    CHECK_STR(res.param, "email");
    engine_result_release(&res);
    CHECK_EQ_INT(events(&g), before);
    eng_close(&g);
}

TEST(engine_lists_nest_and_hold_scalars)
{
    eng g;
    if (!eng_open(&g, "engine_lists.db")) return;
    g.scopes = "crm:read crm:write";
    engine_result res;
    json_t *d;
    /* a list member that is a list (branches), and a list of values (options) */
    const char *ok = "{\"name\": \"Nested\", \"nodes\": [{\"key\": \"pick\", \"type\": \"select\", "
                     "\"options\": [\"a\", \"b\"], \"branches\": [{\"label\": \"b\", \"next\": "
                     "\"pick\"}]}]}";
    CHECK_EQ_INT(call(&g, OP_CREATE, RES(SCRIPT), NULL, NULL, NULL, ok, false, &res, &d),
                 EK_CREATED);
    json_t *node = json_array_get(json_object_get(d, "nodes"), 0);
    CHECK_STR(json_string_value(json_array_get(json_object_get(node, "options"), 1)), "b");
    json_t *br = json_array_get(json_object_get(node, "branches"), 0);
    CHECK_STR(str(br, "next"), "pick");
    CHECK_STR(str(br, "label"), "b");
    CHECK(json_is_null(json_object_get(node, "text"))); /* every member, declared order */
    json_decref(d);
    engine_result_release(&res);

    /* a failure deep down names its path */
    static const struct {
        const char *nodes, *param;
    } bad[] = {
        {"[{\"key\": \"k\", \"type\": \"select\", \"options\": [\"a\", 5]}]",
         "nodes[0].options[1]"},
        {"[{\"key\": \"k\", \"type\": \"select\", \"options\": [\"a\", null]}]",
         "nodes[0].options[1]"},
        {"[{\"key\": \"k\", \"type\": \"select\", \"options\": {\"a\": 1}}]", "nodes[0].options"},
        {"[{\"key\": \"k\", \"type\": \"yesno\", \"branches\": [{\"next\": \"k\", \"to\": 1}]}]",
         "nodes[0].branches[0].to"},
        {"[{\"key\": \"k\", \"type\": \"yesno\", \"branches\": [{\"label\": \"Oui\"}]}]",
         "nodes[0].branches[0].next"},
        {"[{\"key\": \"k\", \"type\": \"yesno\", \"branches\": [7]}]", "nodes[0].branches[0]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[512];
        snprintf(body, sizeof body, "{\"name\": \"Bad %zu\", \"nodes\": %s}", i, bad[i].nodes);
        CHECK_EQ_INT(call(&g, OP_CREATE, RES(SCRIPT), NULL, NULL, NULL, body, false, &res, NULL),
                     EK_INVALID);
        if (!CHECK_STR(res.param, bad[i].param)) printf("  case %zu: %s\n", i, res.message);
        engine_result_release(&res);
    }

    /* an object field: flat, a null value left out, a bad value named by its key */
    const char *qt = create(&g, RES(QUALT),
                            "{\"name\": \"Q\", \"fields\": [{\"key\": \"k\", \"label\": "
                            "\"K\", \"type\": \"text\"}]}");
    char body[512];
    snprintf(body, sizeof body, "{\"name\": \"C\", \"qualification_template_id\": \"%s\"}", qt);
    const char *camp = create(&g, RES(CAMPAIGN), body);
    const char *con = create(&g, RES(CONTACT), "{\"name\": \"P\"}");
    static const struct {
        const char *answers, *param;
    } objs[] = {{"{\"k\": {\"a\": 1}}", "answers.k"},
                {"{\"k\": [1]}", "answers.k"},
                {"\"k=v\"", "answers"},
                {"{\"k k\": 1}", "answers"},
                {"{\"k\": \"v\", \"gone\": null}", NULL}};
    for (size_t i = 0; qt && camp && con && i < sizeof objs / sizeof objs[0]; i++) {
        snprintf(body, sizeof body,
                 "{\"campaign_id\": \"%s\", \"contact_id\": \"%s\", \"answers\": %s}", camp, con,
                 objs[i].answers);
        CHECK_EQ_INT(call(&g, OP_CREATE, RES(QUAL), NULL, NULL, NULL, body, false, &res, &d),
                     objs[i].param ? EK_INVALID : EK_CREATED);
        if (objs[i].param && !CHECK_STR(res.param, objs[i].param))
            printf("  object case %zu: %s\n", i, res.message);
        if (!objs[i].param) {
            json_t *a = json_object_get(d, "answers");
            CHECK(json_object_size(a) == 1);
            CHECK_STR(json_string_value(json_object_get(a, "k")), "v");
        }
        json_decref(d);
        d = NULL;
        engine_result_release(&res);
    }
    eng_close(&g);
}

/* Whether r's rollup holds exactly the groups "k1/k2=n" given (any order). */
static bool groups_are(eng *g, const res_def *r, const char *const *want, int nwant)
{
    store_agg_row *rows;
    int n;
    store_err e;
    if (!CHECK_EQ_INT(store_rollup_list(g->c, &g->a, r, g->ws, NULL, NULL, &rows, &n, &e),
                      STORE_OK))
        return false;
    bool ok = n == nwant;
    for (int i = 0; i < n; i++) {
        const char *got = arena_printf(
            &g->a, "%s/%s=%lld", rows[i].key[0].kind == SV_TEXT ? rows[i].key[0].s : "",
            rows[i].key[1].kind == SV_TEXT ? rows[i].key[1].s : "", (long long)rows[i].count);
        bool found = false;
        for (int k = 0; k < nwant && !found; k++)
            found = strcmp(want[k], got) == 0;
        if (!found) printf("  %s: unexpected group %s\n", r->name, got);
        ok = ok && found;
    }
    if (n != nwant) printf("  %s: %d groups, want %d\n", r->name, n, nwant);
    return ok;
}

#define GROUPS(g, r, ...)                                                                          \
    CHECK(groups_are((g), (r), (const char *const[]){__VA_ARGS__},                                 \
                     (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))))

/* Campaign contacts keep two rollups: per campaign and status, and per
 * assignee and status (under its own name); every write moves both. */
TEST(engine_second_rollup_follows_writes)
{
    eng g;
    if (!eng_open(&g, "engine_rollup2.db")) return;
    g.scopes = "crm:read crm:write";
    res_def two = res_rollup2_def(RES(CCONTACT));
    CHECK_STR(two.name, "campaign-contacts:assignee");
    CHECK(res_rollup2_def(RES(DEAL)).rollup.group[0] == NULL);
    const char *m1 = create(&g, RES(MEMBER), "{\"name\": \"M1\"}");
    const char *m2 = create(&g, RES(MEMBER), "{\"name\": \"M2\"}");
    const char *camp = create(&g, RES(CAMPAIGN), "{\"name\": \"C\"}");
    if (!m1 || !m2 || !camp) goto out;
    const char *cc[3];
    char body[256];
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof body, "{\"name\": \"K%d\"}", i);
        const char *con = create(&g, RES(CONTACT), body);
        snprintf(body, sizeof body, "{\"contact_id\": \"%s\", \"assignee_id\": \"%s\"%s}", con,
                 i == 2 ? m2 : m1, i == 1 ? ", \"status\": \"in_progress\"" : "");
        engine_result res;
        json_t *d = NULL;
        CHECK_EQ_INT(call(&g, OP_CREATE, RES(CCONTACT), NULL, camp, NULL, body, false, &res, &d),
                     EK_CREATED);
        cc[i] = d ? arena_strdup(&g.a, str(d, "id")) : "";
        json_decref(d);
        engine_result_release(&res);
    }
    GROUPS(&g, RES(CCONTACT), arena_printf(&g.a, "%s/pending=2", camp),
           arena_printf(&g.a, "%s/in_progress=1", camp));
    GROUPS(&g, &two, arena_printf(&g.a, "%s/pending=1", m1),
           arena_printf(&g.a, "%s/in_progress=1", m1), arena_printf(&g.a, "%s/pending=1", m2));

    /* moving one to m2 and closing it moves both rollups */
    engine_result res;
    snprintf(body, sizeof body, "{\"assignee_id\": \"%s\", \"status\": \"completed\"}", m2);
    CHECK_EQ_INT(call(&g, OP_UPDATE, RES(CCONTACT), NULL, arena_printf(&g.a, "%s/%s", camp, cc[1]),
                      NULL, body, false, &res, NULL),
                 EK_OK);
    engine_result_release(&res);
    GROUPS(&g, RES(CCONTACT), arena_printf(&g.a, "%s/pending=2", camp),
           arena_printf(&g.a, "%s/completed=1", camp));
    GROUPS(&g, &two, arena_printf(&g.a, "%s/pending=1", m1), arena_printf(&g.a, "%s/pending=1", m2),
           arena_printf(&g.a, "%s/completed=1", m2));

    /* deleting the member clears the assignee: its groups move to none */
    CHECK_EQ_INT(call(&g, OP_DELETE, RES(MEMBER), NULL, m1, NULL, NULL, false, &res, NULL), EK_OK);
    engine_result_release(&res);
    GROUPS(&g, &two, "/pending=1", arena_printf(&g.a, "%s/pending=1", m2),
           arena_printf(&g.a, "%s/completed=1", m2));

    /* deleting the campaign takes its contacts and both rollups' counts */
    CHECK_EQ_INT(call(&g, OP_DELETE, RES(CAMPAIGN), NULL, camp, NULL, NULL, false, &res, NULL),
                 EK_OK);
    engine_result_release(&res);
    CHECK(groups_are(&g, RES(CCONTACT), NULL, 0));
    CHECK(groups_are(&g, &two, NULL, 0));
out:
    eng_close(&g);
}

TEST(engine_action_merge_and_refusals)
{
    eng g;
    if (!eng_open(&g, "engine_action.db")) return;
    engine_result res;
    json_t *d;
    const char *deal = create(&g, RES(DEAL), "{\"name\": \"Big one\", \"amount_cents\": 500}");
    /* the default pipeline's stages, in board order */
    CHECK_EQ_INT(call(&g, OP_LIST, RES(STAGE), NULL, NULL, NULL, NULL, false, &res, &d), EK_OK);
    const char *won = NULL;
    for (size_t i = 0; i < json_array_size(d); i++)
        if (!strcmp(str(json_array_get(d, i), "key"), "won"))
            won = arena_strdup(&g.a, str(json_array_get(d, i), "id"));
    json_decref(d);
    engine_result_release(&res);
    if (!CHECK(won != NULL)) return;

    /* an action: the deal moves to Won and is closed */
    char body[256];
    snprintf(body, sizeof body, "{\"stage_id\": \"%s\"}", won);
    CHECK_EQ_INT(call(&g, OP_ACTION, RES(DEAL), &res_actions[ACT_DEAL_MOVE], deal, NULL, body,
                      false, &res, &d),
                 EK_OK);
    CHECK_STR(str(d, "stage_id"), won);
    CHECK_STR(str(d, "status"), "won");
    CHECK(json_is_string(json_object_get(d, "closed_at")));
    json_decref(d);
    engine_result_release(&res);
    /* its body is validated by name */
    CHECK_EQ_INT(call(&g, OP_ACTION, RES(DEAL), &res_actions[ACT_DEAL_MOVE], deal, NULL,
                      "{\"stage\": \"won\"}", false, &res, NULL),
                 EK_INVALID);
    CHECK_STR(res.param, "stage");
    engine_result_release(&res);

    /* a merge: the second contact folds into the first */
    const char *a = create(&g, RES(CONTACT), "{\"name\": \"Ann\"}");
    const char *b = create(&g, RES(CONTACT), "{\"name\": \"Ann B\", \"phone\": \"+1 555\"}");
    snprintf(body, sizeof body, "{\"from_ids\": [\"%s\"]}", b);
    CHECK_EQ_INT(call(&g, OP_MERGE, RES(CONTACT), NULL, a, NULL, body, false, &res, &d), EK_OK);
    CHECK_STR(str(d, "phone"), "+1 555");
    json_decref(d);
    engine_result_release(&res);
    CHECK_EQ_INT(call(&g, OP_GET, RES(CONTACT), NULL, b, NULL, NULL, false, &res, NULL),
                 EK_NOT_FOUND);
    CHECK_STR(res.extra_key, "merged_into");
    CHECK_STR(res.extra_val, a);
    engine_result_release(&res);

    /* a missing scope, a disabled module */
    g.scopes = "crm:read";
    CHECK_EQ_INT(call(&g, OP_CREATE, RES(CONTACT), NULL, NULL, NULL, "{\"name\": \"No\"}", false,
                      &res, NULL),
                 EK_FORBIDDEN);
    CHECK(strstr(res.message, "crm:write") != NULL);
    engine_result_release(&res);
    g.scopes = "crm:read crm:write";
    g.disabled = 1u << MOD_CRM;
    CHECK_EQ_INT(call(&g, OP_GET, RES(CONTACT), NULL, a, NULL, NULL, false, &res, NULL),
                 EK_FORBIDDEN);
    CHECK_STR(res.code, "module_disabled");
    CHECK_STR(res.extra_val, "crm");
    engine_result_release(&res);
    eng_close(&g);
}

/* A write that would take a rollup group's total out of 64 bits is
 * refused naming the amount, and leaves nothing behind; a board whose
 * stage sums past it says so instead of wrapping. */
TEST(engine_totals_never_wrap)
{
    eng g;
    if (!eng_open(&g, "engine_totals.db")) return;
    engine_result res;
    json_t *d;
    const char *deal =
        create(&g, RES(DEAL), "{\"name\": \"Seed\", \"amount_cents\": 1, \"currency\": \"EUR\"}");
    CHECK_EQ_INT(call(&g, OP_GET, RES(DEAL), NULL, deal, NULL, NULL, false, &res, &d), EK_OK);
    const char *stage = arena_strdup(&g.a, json_string_value(json_object_get(d, "stage_id")));
    store_val keys[3] = {sv_text("open"), sv_text(stage), sv_text("EUR")};
    const char *pipe = arena_strdup(&g.a, json_string_value(json_object_get(d, "pipeline_id")));
    json_decref(d);
    engine_result_release(&res);
    /* The group's total, as thousands of deals at the bound would make it. */
    store_err e;
    CHECK_EQ_INT(store_rollup_add(g.c, RES(DEAL), g.ws, keys, 0, INT64_MAX - 10, &e), STORE_OK);
    CHECK_EQ_INT(call(&g, OP_CREATE, RES(DEAL), NULL, NULL, NULL,
                      "{\"name\": \"One too many\", \"amount_cents\": 1000, \"currency\": \"EUR\"}",
                      false, &res, NULL),
                 EK_INVALID);
    CHECK_STR(res.param, "amount_cents");
    engine_result_release(&res);
    CHECK_EQ_INT(call(&g, OP_UPDATE, RES(DEAL), NULL, deal, NULL, "{\"amount_cents\": 100}", false,
                      &res, NULL),
                 EK_INVALID);
    CHECK_STR(res.param, "amount_cents");
    engine_result_release(&res);
    /* another currency is another group */
    create(&g, RES(DEAL), "{\"name\": \"Yen\", \"amount_cents\": 1000, \"currency\": \"JPY\"}");
    /* the board adds a stage's groups: past 64 bits it is refused, not wrapped */
    if (!CHECK_EQ_INT(call(&g, OP_ACTION, RES(PIPELINE), &res_actions[ACT_PIPELINE_BOARD], pipe,
                           NULL, NULL, false, &res, NULL),
                      EK_INVALID))
        printf("  %.600s\n", buf_cstr(&res.data));
    if (!CHECK_STR(res.param, "amount_cents")) printf("  %s\n", res.message);
    engine_result_release(&res);
    eng_close(&g);
}

/* What a store failure becomes: each status its kind, a full disk one of
 * its own (an answer of its own: 507, not "busy"), every one counted as
 * the store's. */
TEST(engine_store_failures)
{
    static const struct {
        int rc;
        engine_kind kind;
        bool store_failed;
    } cases[] = {
        {STORE_NOTFOUND, EK_NOT_FOUND, false},     {STORE_CONFLICT, EK_CONFLICT, false},
        {STORE_RANGE, EK_INVALID, false},          {STORE_BUSY, EK_UNAVAILABLE, true},
        {STORE_UNAVAILABLE, EK_UNAVAILABLE, true}, {STORE_FULL, EK_STORAGE_FULL, true},
        {STORE_ERROR, EK_INTERNAL, true},
    };
    arena a;
    arena_init(&a);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        engine_result r;
        engine_result_init(&r);
        engine_call c = {.ws = "wrk_test", .trace = "req_test", .a = &a, .out = &r};
        store_err e = {"what the store said"};
        CHECK_EQ_INT(engine_store_fail(&c, cases[i].rc, &e), -1);
        if (!CHECK_EQ_INT(r.kind, cases[i].kind)) printf("  store status %d\n", cases[i].rc);
        CHECK_EQ_INT(r.store_failed, cases[i].store_failed);
        if (cases[i].rc == STORE_FULL) CHECK_STR(r.message, STORE_FULL_MSG);
        engine_result_release(&r);
    }
    arena_release(&a);
}
