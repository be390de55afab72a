/* main.c - the `cairn` command line: serve, key, workspace, migrate, mcp.
 *
 * Owns: argument parsing, environment fallbacks (CAIRN_*), first-run setup
 * (default workspace + admin key on an empty database) and exit codes. The
 * only file that calls exit(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/mcp.h"
#include "api/api.h"
#include "api/writer.h"
#include "core/crypto.h"
#include "core/jw.h"
#include "core/timeutil.h"
#include "events/http_out.h"
#include "http/server.h"
#include "resources/engine.h"
#include "store/blob.h"
#include "store/store.h"

static const char usage_main[] = "usage: cairn <command> [options]\n"
                                 "\n"
                                 "commands:\n"
                                 "  serve       serve the HTTP API\n"
                                 "  key         create, list and revoke API keys\n"
                                 "  workspace   create and list workspaces\n"
                                 "  migrate     apply database migrations and exit\n"
                                 "  mcp         serve the agent tools over MCP on stdin/stdout\n"
                                 "\n"
                                 "Run 'cairn <command> --help' for a command's options.\n";

static const char usage_serve[] =
    "usage: cairn serve [--listen HOST:PORT] [--db PATH] [--threads N] [--writers N]\n"
    "                   [--key-concurrency N] [--key-rate N] [--access-log PATH|-|off]\n"
    "                   [--metrics-listen HOST:PORT] [--mcp-origins O1,O2]\n"
    "                   [--secret-key-file PATH] [--webhook-allow-private]\n"
    "                   [--data-dir PATH] [--public-url URL] [--asset-max-bytes N]\n"
    "\n"
    "  --listen            address to serve on (env CAIRN_LISTEN, default 127.0.0.1:8080;\n"
    "                      port 0 picks a free port)\n"
    "  --db                SQLite database file (env CAIRN_DB, default ./cairn.db)\n"
    "  --threads           worker threads (env CAIRN_THREADS, default: one per core)\n"
    "  --writers           write connections, each serving a share of the workspaces\n"
    "                      (env CAIRN_WRITERS; PostgreSQL only, default: one per core;\n"
    "                      SQLite has one)\n"
    "  --key-concurrency   default concurrent requests per key, 0 = unlimited (default 10)\n"
    "  --key-rate          default requests per second per key, 0 = unlimited (default 0)\n"
    "  --access-log        where the JSON access log goes (default - = stderr)\n"
    "  --metrics-listen    a second address serving only GET /metrics, to anyone who can\n"
    "                      reach it (env CAIRN_METRICS_LISTEN, default off; on --listen,\n"
    "                      /metrics needs a key with the workspace:admin scope)\n"
    "  --mcp-origins       browser origins (scheme://host[:port]) allowed at /mcp beside\n"
    "                      loopback ones (env CAIRN_MCP_ORIGINS; default none)\n"
    "  --secret-key-file   seal stored secrets (webhook signing secrets, SMTP passwords)\n"
    "                      with the 32-byte key in this file, made with mode 0600 when\n"
    "                      absent (env CAIRN_SECRET_KEY_FILE; default: the database's\n"
    "                      secret, <db>.key beside a SQLite file); give every node and\n"
    "                      `cairn mcp` the same file\n"
    "  --webhook-allow-private\n"
    "                      webhooks may point to loopback, private and link-local\n"
    "                      addresses (env CAIRN_WEBHOOK_ALLOW_PRIVATE=1; for tests and\n"
    "                      closed networks)\n"
    "  --data-dir          where asset bytes are kept (env CAIRN_DATA_DIR; default\n"
    "                      <db>.data beside a SQLite file, ./cairn-data with PostgreSQL;\n"
    "                      nodes of one PostgreSQL database need one shared directory)\n"
    "  --public-url        scheme://host[:port] that signed asset links start with (env\n"
    "                      CAIRN_PUBLIC_URL; default http:// and the request's Host)\n"
    "  --asset-max-bytes   the largest asset upload in bytes (env CAIRN_ASSET_MAX_BYTES,\n"
    "                      default 104857600 = 100 MiB)\n"
    "\n"
    "On an empty database, creates a default workspace and an admin key with\n"
    "every scope, and prints its token once.\n";

static const char usage_key[] =
    "usage: cairn key create --workspace NAME_OR_ID --scopes all|s1,s2,...\n"
    "                        [--super-admin] [--name LABEL] [--max-concurrent N]\n"
    "                        [--rate N] [--db PATH]\n"
    "       cairn key list [--db PATH]\n"
    "       cairn key revoke ID [--db PATH]\n"
    "\n"
    "'create' prints one JSON object with the token; the token is never shown again.\n"
    "It creates the workspace NAME when it does not exist.\n";

static const char usage_workspace[] =
    "usage: cairn workspace create NAME [--db PATH]\n"
    "       cairn workspace list [--db PATH]\n"
    "       cairn workspace modules NAME_OR_ID [--enable M1,M2] [--disable M3] [--db PATH]\n"
    "\n"
    "'modules' switches modules on and off (as PATCH /v1/workspace does) and\n"
    "prints the workspace with its enabled modules; without --enable or\n"
    "--disable it only prints.\n";

static const char usage_mcp[] =
    "usage: cairn mcp --token TOKEN [--db PATH] [--toolsets all|crm,support,...]\n"
    "\n"
    "Serves the agent tools over the Model Context Protocol on stdin and stdout\n"
    "(one JSON-RPC message per line; logs go to stderr), as the key TOKEN\n"
    "(env CAIRN_TOKEN) in its workspace and scopes. Tool sets are named after\n"
    "modules (crm, support, billing, accounting, knowledge, outbound, ...);\n"
    "the default is crm,outbound.\n";

static const char usage_migrate[] = "usage: cairn migrate [--db PATH]\n"
                                    "Applies pending migrations and exits.\n";

#define STR_(x) #x
#define STR(x)  STR_(x)

static int die(const char *fmt, const char *arg)
{
    fprintf(stderr, "cairn: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 2;
}

/* A store failure, said on stderr; returns 1 (the exit code). */
static int store_die(const store_err *e)
{
    fprintf(stderr, "cairn: %s\n", e->msg);
    return 1;
}

typedef struct opts {
    const char *db, *listen, *workspace, *scopes, *name, *access_log, *metrics_listen;
    const char *mcp_origins, *token, *toolsets, *secret_key_file;
    const char *data_dir, *public_url, *asset_max_bytes;
    const char *enable, *disable; /* workspace modules: comma-separated module names */
    int threads, writers, key_conc, key_rate, max_conc, rate;
    bool super_admin, help, webhook_allow_private;
    const char *pos[4];
    int npos;
} opts;

static bool parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 1000000) return false;
    *out = (int)v;
    return true;
}

/* Stored secrets (webhook signing secrets, SMTP passwords) are sealed
 * with the --secret-key-file key when one is given (made 0600 when
 * absent: keep it apart from the database's backups), else with the
 * database's own secret. */
static int set_sealing_key(const opts *o, const unsigned char *secret, size_t n)
{
    const char *path = o->secret_key_file ? o->secret_key_file : getenv("CAIRN_SECRET_KEY_FILE");
    if (!path || !*path) {
        crypto_set_secret(secret, n);
        return 0;
    }
    unsigned char key[STORE_SECRET_LEN];
    store_err e;
    if (store_key_file(path, key, &e) != STORE_OK) return die("--secret-key-file: %s", e.msg);
    crypto_set_secret(key, sizeof key);
    return 0;
}

/* Parses flags shared by all commands; unknown flags are errors. */
static int parse(int argc, char **argv, opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **str = NULL;
        int *num = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            o->help = true;
            continue;
        }
        if (!strcmp(a, "--super-admin")) {
            o->super_admin = true;
            continue;
        }
        if (!strcmp(a, "--webhook-allow-private")) {
            o->webhook_allow_private = true;
            continue;
        }
        if (!strcmp(a, "--db"))
            str = &o->db;
        else if (!strcmp(a, "--listen"))
            str = &o->listen;
        else if (!strcmp(a, "--workspace"))
            str = &o->workspace;
        else if (!strcmp(a, "--scopes"))
            str = &o->scopes;
        else if (!strcmp(a, "--name"))
            str = &o->name;
        else if (!strcmp(a, "--access-log"))
            str = &o->access_log;
        else if (!strcmp(a, "--enable"))
            str = &o->enable;
        else if (!strcmp(a, "--disable"))
            str = &o->disable;
        else if (!strcmp(a, "--metrics-listen"))
            str = &o->metrics_listen;
        else if (!strcmp(a, "--mcp-origins"))
            str = &o->mcp_origins;
        else if (!strcmp(a, "--secret-key-file"))
            str = &o->secret_key_file;
        else if (!strcmp(a, "--data-dir"))
            str = &o->data_dir;
        else if (!strcmp(a, "--public-url"))
            str = &o->public_url;
        else if (!strcmp(a, "--asset-max-bytes"))
            str = &o->asset_max_bytes;
        else if (!strcmp(a, "--token"))
            str = &o->token;
        else if (!strcmp(a, "--toolsets"))
            str = &o->toolsets;
        else if (!strcmp(a, "--threads"))
            num = &o->threads;
        else if (!strcmp(a, "--writers"))
            num = &o->writers;
        else if (!strcmp(a, "--key-concurrency"))
            num = &o->key_conc;
        else if (!strcmp(a, "--key-rate"))
            num = &o->key_rate;
        else if (!strcmp(a, "--max-concurrent"))
            num = &o->max_conc;
        else if (!strcmp(a, "--rate"))
            num = &o->rate;
        else if (a[0] == '-')
            return die("unknown option '%s' (see --help)", a);
        else {
            if (o->npos == 4) return die("unexpected argument '%s'", a);
            o->pos[o->npos++] = a;
            continue;
        }
        if (i + 1 >= argc) return die("option '%s' needs a value", a);
        if (str) *str = argv[++i];
        if (num && !parse_int(argv[++i], num)) return die("option '%s' wants a number", a);
    }
    return 0;
}

/* Gives a workspace what every workspace starts with (its default
 * pipeline), in one transaction; a no-op when it has it. */
static int ws_init(store_conn *c, const char *ws, store_err *e)
{
    int rc = store_begin(c, true, e);
    if (rc) return rc;
    rc = engine_workspace_created(c, ws, e);
    if (rc) {
        store_rollback(c);
        return rc;
    }
    return store_commit(c, e);
}

typedef struct ws_ids {
    char (*ids)[ID_MAX];
    int n, cap;
} ws_ids;

static void collect_ws(const store_workspace *w, void *ud)
{
    ws_ids *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->ids = realloc(l->ids, sizeof *l->ids * (size_t)l->cap);
        if (!l->ids) abort();
    }
    snprintf(l->ids[l->n++], ID_MAX, "%s", w->id);
}

/* Workspaces made before a default was introduced get it at start-up. */
static int ws_init_all(store_conn *c, store_err *e)
{
    ws_ids l = {0};
    int rc = store_workspace_each(c, collect_ws, &l, e);
    for (int i = 0; rc == STORE_OK && i < l.n; i++)
        rc = ws_init(c, l.ids[i], e);
    free(l.ids);
    return rc;
}

static store *open_db(const opts *o, store_conn **conn)
{
    store_opts so = {.durable = true, .busy_ms = 5000};
    store *db = NULL;
    store_err e;
    if (store_open(&db, o->db, &so, &e) != STORE_OK) {
        fprintf(stderr, "cairn: %s\n", e.msg);
        return NULL;
    }
    int applied;
    if (store_connect(db, conn, &e) != STORE_OK || store_migrate(*conn, &applied, &e) != STORE_OK ||
        ws_init_all(*conn, &e) != STORE_OK) {
        fprintf(stderr, "cairn: %s\n", e.msg);
        if (*conn) store_disconnect(*conn);
        store_close(db);
        return NULL;
    }
    return db;
}

/* Normalises "all" or "a,b,c" into a space-separated, validated list. */
static int scopes_parse(const char *in, char *out, size_t cap)
{
    out[0] = '\0';
    if (!strcmp(in, "all")) {
        for (int i = 0; res_scopes[i]; i++)
            snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? " " : "", res_scopes[i]);
        return 0;
    }
    char copy[512];
    snprintf(copy, sizeof copy, "%s", in);
    int n = 0;
    for (char *save = NULL, *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        while (*s == ' ')
            s++;
        bool known = false;
        for (int i = 0; res_scopes[i] && !known; i++)
            known = !strcmp(res_scopes[i], s);
        if (!known) return die("unknown scope '%s'", s);
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", n++ ? " " : "", s);
    }
    if (n == 0) return die("--scopes is empty%s", "");
    return 0;
}

static void print_key_json(const store_key *k, const char *token)
{
    buf b;
    buf_init(&b, 8192);
    jw w;
    jw_init(&w, &b);
    jw_obj_open(&w);
    jw_kstr(&w, "id", k->id);
    if (token) jw_kstr(&w, "token", token);
    jw_kstr(&w, "workspace_id", k->workspace_id);
    jw_kstr(&w, "name", k->name);
    jw_key(&w, "scopes");
    jw_arr_open(&w);
    char copy[512];
    snprintf(copy, sizeof copy, "%s", k->scopes);
    for (char *save = NULL, *s = strtok_r(copy, " ", &save); s; s = strtok_r(NULL, " ", &save))
        jw_str(&w, s);
    jw_arr_close(&w);
    jw_kbool(&w, "super_admin", k->super_admin);
    if (!token) {
        char t[TIME_STR];
        time_format_ms((uint64_t)k->created_ms, t);
        jw_kstr(&w, "created_at", t);
        jw_kbool(&w, "revoked", k->revoked_ms != 0);
    }
    jw_obj_close(&w);
    printf("%s\n", buf_cstr(&b));
    buf_free(&b);
}

static int make_key(store_conn *c, const store_workspace *ws, const char *scopes, bool super,
                    const char *name, int max_conc, int rate, char token[64], store_key *k)
{
    memset(k, 0, sizeof *k);
    id_new(k->id, "key");
    snprintf(k->workspace_id, sizeof k->workspace_id, "%s", ws->id);
    snprintf(k->name, sizeof k->name, "%s", name ? name : "");
    snprintf(k->scopes, sizeof k->scopes, "%s", scopes);
    k->super_admin = super;
    k->max_concurrent = max_conc;
    k->rate = rate;
    k->created_ms = (int64_t)time_now_ms();
    token_new(token);
    char hash[TOKEN_HASH_HEX];
    sha256_hex(token, strlen(token), hash);
    store_err e;
    if (store_key_create(c, k, hash, &e) != STORE_OK) {
        fprintf(stderr, "cairn: %s\n", e.msg);
        return 1;
    }
    return 0;
}

static int find_or_create_ws(store_conn *c, const char *name, store_workspace *ws)
{
    store_err e;
    int rc = store_workspace_find(c, name, ws, &e);
    if (rc == STORE_NOTFOUND) {
        if (strlen(name) == 0 || strlen(name) > 100)
            return die("workspace names are 1 to 100 characters%s", "");
        rc = store_workspace_create(c, name, ws, &e);
        /* The caller's transaction covers both. */
        if (rc == STORE_OK) rc = engine_workspace_created(c, ws->id, &e);
    }
    if (rc) {
        fprintf(stderr, "cairn: %s\n", e.msg);
        return 1;
    }
    return 0;
}

static void key_list_cb(const store_key *k, void *ud)
{
    (void)ud;
    print_key_json(k, NULL);
}

static int cmd_key(opts *o)
{
    if (o->help || o->npos == 0) {
        FILE *f = o->help ? stdout : stderr;
        fputs(usage_key, f);
        /* From the table, so a new scope needs no edit here. */
        fputs("\nscopes:", f);
        for (int i = 0; res_scopes[i]; i++)
            fprintf(f, " %s", res_scopes[i]);
        fputc('\n', f);
        return o->help ? 0 : 2;
    }
    const char *sub = o->pos[0];
    if (strcmp(sub, "create") && strcmp(sub, "list") && strcmp(sub, "revoke"))
        return die("unknown key command '%s'", sub);
    if (!strcmp(sub, "create")) {
        if (!o->workspace) return die("key create needs --workspace%s", "");
        if (!o->scopes) return die("key create needs --scopes%s", "");
    }
    if (!strcmp(sub, "revoke") && o->npos < 2) return die("key revoke needs an ID%s", "");
    char scopes[512] = "";
    if (o->scopes && scopes_parse(o->scopes, scopes, sizeof scopes)) return 2;
    store_conn *c = NULL;
    store *db = open_db(o, &c);
    if (!db) return 1;
    int ret = 0;
    store_err e;
    if (!strcmp(sub, "create")) {
        store_workspace ws;
        char token[64];
        store_key k;
        ret = store_begin(c, true, &e) ? store_die(&e) : find_or_create_ws(c, o->workspace, &ws);
        if (!ret)
            ret =
                make_key(c, &ws, scopes, o->super_admin, o->name, o->max_conc, o->rate, token, &k);
        if (!ret && store_commit(c, &e)) ret = store_die(&e);
        if (ret)
            store_rollback(c);
        else
            print_key_json(&k, token);
    } else if (!strcmp(sub, "list")) {
        if (store_key_each(c, key_list_cb, NULL, &e)) {
            fprintf(stderr, "cairn: %s\n", e.msg);
            ret = 1;
        }
    } else {
        int rc = store_key_revoke(c, o->pos[1], &e);
        if (rc) {
            fprintf(stderr, "cairn: %s\n", e.msg);
            ret = 1;
        } else {
            printf("{\"id\":\"%s\",\"revoked\":true}\n", o->pos[1]);
        }
    }
    store_disconnect(c);
    store_close(db);
    return ret;
}

static void ws_print(const store_workspace *w, void *ud)
{
    (void)ud;
    char t[TIME_STR];
    time_format_ms((uint64_t)w->created_ms, t);
    buf b;
    buf_init(&b, 4096);
    jw j;
    jw_init(&j, &b);
    jw_obj_open(&j);
    jw_kstr(&j, "id", w->id);
    jw_kstr(&j, "name", w->name);
    jw_key(&j, "enabled_modules");
    jw_arr_open(&j);
    uint32_t off = engine_modules_disabled(w->disabled_modules);
    for (int m = 0; m < MOD__COUNT; m++)
        if (!(off & (1u << m))) jw_str(&j, res_module_names[m]);
    jw_arr_close(&j);
    jw_kstr(&j, "created_at", t);
    jw_obj_close(&j);
    printf("%s\n", buf_cstr(&b));
    buf_free(&b);
}

/* Sets bit `1 << module` in *mask for each module of a comma-separated
 * list; false (with the message printed) for a name that is no module. */
static bool module_list(const char *list, uint32_t *mask)
{
    for (const char *p = list; p && *p;) {
        size_t n = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        int m = res_module_find(name);
        if (m < 0) {
            fprintf(stderr, "cairn: unknown module '%s'; modules are:", name);
            for (int k = 0; k < MOD__COUNT; k++)
                fprintf(stderr, " %s", res_module_names[k]);
            fputc('\n', stderr);
            return false;
        }
        *mask |= 1u << m;
        p += n + (p[n] == ',');
    }
    return true;
}

/* cairn workspace modules: the same engine call as PATCH /v1/workspace,
 * made by the command line on the workspace's behalf. */
static int ws_modules(store_conn *c, opts *o)
{
    uint32_t on = 0, off = 0;
    if (!module_list(o->enable, &on) || !module_list(o->disable, &off)) return 2;
    if (on & off) return die("a module cannot be both enabled and disabled%s", "");
    store_workspace ws;
    store_err e;
    int rc = store_workspace_find(c, o->pos[1], &ws, &e);
    if (rc == STORE_NOTFOUND) return die("no workspace '%s'", o->pos[1]);
    if (rc) return die("%s", e.msg);
    uint32_t disabled = (engine_modules_disabled(ws.disabled_modules) & ~on) | off;
    json_t *list = json_array();
    for (int m = 0; m < MOD__COUNT; m++)
        if (!(disabled & (1u << m))) json_array_append_new(list, json_string(res_module_names[m]));
    json_t *body = json_pack("{s:o}", "enabled_modules", list);
    arena a;
    arena_init(&a);
    engine_result r;
    engine_result_init(&r);
    bool change = o->enable || o->disable;
    engine_call call = {.op = change ? OP_WORKSPACE_UPDATE : OP_WORKSPACE_GET,
                        .body = change ? body : NULL,
                        .ws = ws.id,
                        .actor = "cli",
                        .scopes = "workspace:admin",
                        .trace = "cli",
                        .conn = c,
                        .a = &a,
                        .out = &r};
    int ret = 0;
    if (change && store_begin(c, true, &e)) {
        ret = die("%s", e.msg);
    } else {
        engine_run(&call);
        bool ok = r.kind == EK_OK;
        if (change && ok && store_commit(c, &e)) {
            ret = die("%s", e.msg);
        } else if (!ok) {
            if (change) store_rollback(c);
            ret = die("%s", r.message);
        } else {
            printf("%s\n", buf_cstr(&r.data));
        }
    }
    engine_result_release(&r);
    arena_release(&a);
    json_decref(body);
    return ret;
}

static int cmd_workspace(opts *o)
{
    if (o->help || o->npos == 0) {
        fputs(usage_workspace, o->help ? stdout : stderr);
        return o->help ? 0 : 2;
    }
    const char *sub = o->pos[0];
    if (strcmp(sub, "create") && strcmp(sub, "list") && strcmp(sub, "modules"))
        return die("unknown workspace command '%s'", sub);
    if (!strcmp(sub, "modules") && o->npos < 2)
        return die("workspace modules needs a NAME_OR_ID%s", "");
    if (!strcmp(sub, "create") && o->npos < 2) return die("workspace create needs a NAME%s", "");
    if (!strcmp(sub, "create") && (strlen(o->pos[1]) == 0 || strlen(o->pos[1]) > 100))
        return die("workspace names are 1 to 100 characters%s", "");
    store_conn *c = NULL;
    store *db = open_db(o, &c);
    if (!db) return 1;
    store_err e;
    int ret = 0;
    if (!strcmp(sub, "modules")) {
        ret = ws_modules(c, o);
    } else if (!strcmp(sub, "create")) {
        store_workspace ws;
        int rc = store_workspace_create(c, o->pos[1], &ws, &e);
        if (rc == STORE_OK) rc = ws_init(c, ws.id, &e);
        if (rc == STORE_CONFLICT) {
            fprintf(stderr, "cairn: a workspace named '%s' already exists\n", o->pos[1]);
            ret = 1;
        } else if (rc) {
            fprintf(stderr, "cairn: %s\n", e.msg);
            ret = 1;
        } else {
            ws_print(&ws, NULL);
        }
    } else if (store_workspace_each(c, ws_print, NULL, &e)) {
        fprintf(stderr, "cairn: %s\n", e.msg);
        ret = 1;
    }
    store_disconnect(c);
    store_close(db);
    return ret;
}

static int cmd_migrate(opts *o)
{
    if (o->help) {
        fputs(usage_migrate, stdout);
        return 0;
    }
    if (o->npos) return die("unexpected argument '%s'", o->pos[0]);
    store_conn *c = NULL;
    store *db = open_db(o, &c);
    if (!db) return 1;
    int version = 0;
    store_err e;
    store_schema_version(c, &version, &e);
    printf("{\"schema_version\":%d}\n", version);
    store_disconnect(c);
    store_close(db);
    return 0;
}

/* First run: an empty database gets a workspace and an admin key, whose
 * token is printed once so a newcomer can make the first call. */
static int first_run(store_conn *c)
{
    int64_t n = 0;
    store_err e;
    if (store_workspace_count(c, &n, &e)) {
        fprintf(stderr, "cairn: %s\n", e.msg);
        return 1;
    }
    if (n > 0) return 0;
    char scopes[512], token[64];
    scopes_parse("all", scopes, sizeof scopes);
    store_workspace ws;
    store_key k;
    if (store_begin(c, true, &e)) return store_die(&e);
    int ret = find_or_create_ws(c, "default", &ws);
    if (!ret) ret = make_key(c, &ws, scopes, false, "admin", -1, -1, token, &k);
    if (!ret && store_commit(c, &e)) ret = store_die(&e);
    if (ret) {
        store_rollback(c);
        return ret;
    }
    printf("created workspace 'default' (%s) and an admin key with every scope.\n", ws.id);
    printf("admin token (shown once, keep it): %s\n", token);
    fflush(stdout);
    return 0;
}

/* Asset storage: the blob store's directory (made, and cleared of what
 * a crash left half-written), the links' base and the upload cap. */
static int asset_flags(opts *o, int64_t *max)
{
    if (!o->data_dir) o->data_dir = getenv("CAIRN_DATA_DIR");
    if (!o->public_url) o->public_url = getenv("CAIRN_PUBLIC_URL");
    if (!o->asset_max_bytes) o->asset_max_bytes = getenv("CAIRN_ASSET_MAX_BYTES");
    static char dflt[4096];
    if (!o->data_dir || !*o->data_dir) {
        bool pg = !strncmp(o->db, "postgres://", 11) || !strncmp(o->db, "postgresql://", 13);
        snprintf(dflt, sizeof dflt, "%s%s", pg ? "./cairn-data" : o->db, pg ? "" : ".data");
        o->data_dir = dflt;
    }
    if (o->public_url) {
        size_t n = strlen(o->public_url);
        if ((strncmp(o->public_url, "http://", 7) && strncmp(o->public_url, "https://", 8)) ||
            strchr(o->public_url, '?') || strchr(o->public_url, '#') || n > 200)
            return die("--public-url wants http(s)://host[:port][/path] (%s)", o->public_url);
        while (n > 8 && o->public_url[n - 1] == '/')
            n--;
        char *u = strndup(o->public_url, n);
        if (!u) return die("out of memory%s", "");
        o->public_url = u; /* for the process */
    }
    *max = 0;
    if (o->asset_max_bytes) {
        char *end;
        errno = 0;
        long long v = strtoll(o->asset_max_bytes, &end, 10);
        if (errno || end == o->asset_max_bytes || *end || v < 1)
            return die("--asset-max-bytes wants a positive number of bytes (%s)",
                       o->asset_max_bytes);
        *max = v;
    }
    char err[BLOB_ERR];
    int removed = 0;
    if (blob_init(o->data_dir, &removed, err)) return die("--data-dir: %s", err);
    if (removed)
        fprintf(stderr,
                "{\"level\":\"info\",\"msg\":\"removed %d unfinished upload(s) from %s/tmp\"}\n",
                removed, o->data_dir);
    return 0;
}

static int cmd_serve(opts *o)
{
    if (o->help) {
        fputs(usage_serve, stdout);
        return 0;
    }
    if (o->npos) return die("unexpected argument '%s'", o->pos[0]);
    if (!o->listen) o->listen = getenv("CAIRN_LISTEN") ? getenv("CAIRN_LISTEN") : "127.0.0.1:8080";
    if (!o->metrics_listen) o->metrics_listen = getenv("CAIRN_METRICS_LISTEN");
    if (!o->mcp_origins) o->mcp_origins = getenv("CAIRN_MCP_ORIGINS");
    if (getenv("CAIRN_WEBHOOK_ALLOW_PRIVATE") &&
        !strcmp(getenv("CAIRN_WEBHOOK_ALLOW_PRIVATE"), "1"))
        o->webhook_allow_private = true;
    engine_allow_private_urls(o->webhook_allow_private);
    if (!o->threads && getenv("CAIRN_THREADS") && !parse_int(getenv("CAIRN_THREADS"), &o->threads))
        return die("CAIRN_THREADS wants a number%s", "");
    if (!o->threads) o->threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (!o->writers && getenv("CAIRN_WRITERS") && !parse_int(getenv("CAIRN_WRITERS"), &o->writers))
        return die("CAIRN_WRITERS wants a number%s", "");
    if (o->writers < 0 || o->writers > WRITERS_MAX)
        return die("--writers wants 1 to %s", STR(WRITERS_MAX));
    store_conn *c = NULL;
    store *db = open_db(o, &c);
    if (!db) return 1;
    int most = store_writers(db);
    if (most && o->writers > most) {
        store_disconnect(c);
        store_close(db);
        return die("a SQLite database takes one writer: --writers must be 1%s", "");
    }
    if (!o->writers) o->writers = most ? most : (int)sysconf(_SC_NPROCESSORS_ONLN);
    /* Cursors are sealed with the database's secret, so every node of one
     * database (and a restarted one) opens the others' cursors. */
    unsigned char secret[STORE_SECRET_LEN];
    store_err e;
    int ret = first_run(c);
    if (!ret && store_secret(c, secret, &e)) ret = die("%s", e.msg);
    if (!ret) {
        engine_set_secret(secret, sizeof secret);
        ret = set_sealing_key(o, secret, sizeof secret);
    }
    store_disconnect(c);
    if (ret) {
        store_close(db);
        return ret;
    }
    FILE *log = stderr;
    bool close_log = false;
    if (o->access_log && !strcmp(o->access_log, "off")) {
        log = NULL;
    } else if (o->access_log && strcmp(o->access_log, "-")) {
        log = fopen(o->access_log, "a");
        if (!log) {
            store_close(db);
            return die("cannot open access log '%s'", o->access_log);
        }
        close_log = true;
    }
    int64_t asset_max = 0;
    if (!ret) ret = asset_flags(o, &asset_max);
    if (ret) {
        if (close_log) fclose(log);
        store_close(db);
        return ret;
    }
    api_config ac = {.key_concurrency = o->key_conc,
                     .key_rate = o->key_rate,
                     .mcp_origins = o->mcp_origins,
                     .public_url = o->public_url,
                     .asset_max_bytes = asset_max};
    api_init(&ac);
    http_out_global_init(); /* curl_global_init, before any thread starts */
    server_config sc = {.listen = o->listen,
                        .metrics_listen = o->metrics_listen,
                        .threads = o->threads,
                        .writers = o->writers,
                        .db = db,
                        .access_log = log,
                        .webhook_allow_private = o->webhook_allow_private};
    ret = server_run(&sc);
    if (close_log) fclose(log);
    store_close(db);
    return ret;
}

/* `cairn mcp`: the key's workspace and scopes, as the HTTP API would
 * authenticate it, then MCP over stdio until stdin ends. */
static int cmd_mcp(opts *o)
{
    if (o->help) {
        fputs(usage_mcp, stdout);
        return 0;
    }
    if (o->npos) return die("unexpected argument '%s'", o->pos[0]);
    if (!o->token) o->token = getenv("CAIRN_TOKEN");
    if (!o->token || !o->token[0])
        return die("a key is needed: --token TOKEN or CAIRN_TOKEN%s", "");
    uint32_t sets = tools_default_sets();
    char err[200];
    if (o->toolsets && !tools_parse_sets(o->toolsets, &sets, err, sizeof err))
        return die("--toolsets: %s", err);
    store_conn *c = NULL;
    store *db = open_db(o, &c);
    if (!db) return 1;
    unsigned char secret[STORE_SECRET_LEN];
    store_key k;
    store_workspace ws = {{0}};
    store_err e;
    char hash[TOKEN_HASH_HEX];
    sha256_hex(o->token, strlen(o->token), hash);
    int ret = 0, rc = store_secret(c, secret, &e);
    if (rc == STORE_OK) rc = store_key_by_hash(c, hash, &k, &e);
    if (rc == STORE_OK && k.revoked_ms == 0) rc = store_workspace_find(c, k.workspace_id, &ws, &e);
    if (rc == STORE_NOTFOUND || (rc == STORE_OK && k.revoked_ms != 0))
        ret = die("the token is not valid%s", "");
    else if (rc != STORE_OK)
        ret = store_die(&e);
    if (!ret) {
        engine_set_secret(secret, sizeof secret);
        ret = set_sealing_key(o, secret, sizeof secret);
    }
    if (!ret) {
        mcp_ctx ctx = {.who = {.ws = k.workspace_id,
                               .actor = k.id,
                               .scopes = k.scopes,
                               .super_admin = k.super_admin,
                               .disabled = engine_modules_disabled(ws.disabled_modules),
                               .currency = ws.currency[0] ? ws.currency : "USD",
                               .trace = "mcp-stdio",
                               .channel = "stdio",
                               .route = "stdio tools/call"},
                       .toolsets = sets,
                       .conn = c};
        ret = mcp_serve_stdio(&ctx, stdin, stdout);
    }
    store_disconnect(c);
    store_close(db);
    return ret;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(usage_main, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    char err[256];
    if (!engine_check(err, sizeof err)) {
        fprintf(stderr, "cairn: the resource table is inconsistent: %s\n", err);
        return 70; /* EX_SOFTWARE: a build that must not run */
    }
    opts o = {.key_conc = 10, .max_conc = -1, .rate = -1};
    if (parse(argc - 2, argv + 2, &o)) return 2;
    if (!o.db) o.db = getenv("CAIRN_DB") ? getenv("CAIRN_DB") : "./cairn.db";
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serve")) return cmd_serve(&o);
    if (!strcmp(cmd, "key")) return cmd_key(&o);
    if (!strcmp(cmd, "workspace")) return cmd_workspace(&o);
    if (!strcmp(cmd, "migrate")) return cmd_migrate(&o);
    if (!strcmp(cmd, "mcp")) return cmd_mcp(&o);
    return die("unknown command '%s' (see cairn --help)", cmd);
}
