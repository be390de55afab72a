/* world.c - the store and the request runner of the engine fuzz targets;
 * see world.h. */
#include "world.h"

#include <string.h>

#include "api/routes.h"
#include "http/internal.h"

#define SEEDS_PER_RES 4  /* records made of each resource */
#define MAX_IDS       10 /* placeholders name one digit */

bool fz_show;

static struct {
    store *s;
    store_conn *c;
    char ws[ID_MAX];
    char scopes[1024];
    char ids[RES__COUNT][MAX_IDS][ID_MAX]; /* oldest first */
    int nids[RES__COUNT];
} w;

/* ---------------------------------------------------------- placeholders */

const char *fz_seed_id(const char *s)
{
    const char *us = strchr(s, '_');
    if (!us || us[1] < '0' || us[1] > '9' || us[2]) return NULL;
    int d = us[1] - '0';
    for (int i = 0; i < res_count; i++)
        if (strlen(res_table[i]->prefix) == (size_t)(us - s) &&
            memcmp(res_table[i]->prefix, s, (size_t)(us - s)) == 0)
            return d < w.nids[i] ? w.ids[i][d] : NULL;
    return NULL;
}

/* Replaces every placeholder string in j, at any depth. */
static void resolve_json(json_t *j)
{
    const char *k, *id;
    json_t *v;
    size_t i;
    if (json_is_object(j)) {
        json_object_foreach(j, k, v)
        {
            if (json_is_string(v) && (id = fz_seed_id(json_string_value(v))) != NULL)
                json_object_set_new(j, k, json_string(id));
            else
                resolve_json(v);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            if (json_is_string(v) && (id = fz_seed_id(json_string_value(v))) != NULL)
                json_array_set_new(j, i, json_string(id));
            else
                resolve_json(v);
        }
    }
}

/* -------------------------------------------------------------- checks */

void fz_check_result(const engine_result *out, const char *what)
{
    switch (out->kind) {
    case EK_OK:
    case EK_CREATED:
        if (out->items) {
            for (int i = 0; i < out->nitems; i++)
                fz_check_result(&out->items[i], what);
            return;
        }
        json_error_t je;
        json_t *j = out->data.len ? json_loadb(out->data.data, out->data.len, 0, &je) : NULL;
        if (!j) FZ_FAIL("%s: success without JSON data (%s)", what, out->data.len ? je.text : "");
        json_decref(j);
        if (out->data.overflow) FZ_FAIL("%s: data cut at its cap", what);
        return;
    case EK_INVALID:
    case EK_FORBIDDEN:
    case EK_NOT_FOUND:
    case EK_CONFLICT:
    case EK_UNPROCESSABLE:
        if (!out->message[0]) FZ_FAIL("%s: kind %d without a message", what, (int)out->kind);
        if (out->data.len) FZ_FAIL("%s: kind %d with data", what, (int)out->kind);
        return;
    case EK_UNAVAILABLE:
    case EK_STORAGE_FULL:
    case EK_INTERNAL:
        FZ_FAIL("%s: kind %d from input alone: %s", what, (int)out->kind, out->message);
    }
    FZ_FAIL("%s: kind %d is no kind of the engine", what, (int)out->kind);
}

/* ------------------------------------------------------------- requests */

static void make_call(fz_request *r)
{
    const api_route *rt = r->route;
    engine_result_init(&r->out);
    r->call = (engine_call){.op = rt->op,
                            .res = rt->res,
                            .sub = rt->sub,
                            .action = rt->action,
                            .ids = {r->x.q.pv[0], r->x.q.pv[1], r->x.q.pv[2]},
                            .params = r->x.q.params,
                            .nparams = r->x.q.nparams,
                            .body = r->body,
                            .dry_run = rt->write,
                            .ws = w.ws,
                            .actor = "key_fuzz",
                            .scopes = w.scopes,
                            .trace = "req_fuzz",
                            .conn = w.c,
                            .a = &r->x.q.a,
                            .out = &r->out};
}

bool fz_request_parse(fz_request *r, const uint8_t *data, size_t n, bool writes)
{
    memset(r, 0, sizeof *r);
    api_req *q = &r->x.q;
    api_req_init(q);
    engine_result_init(&r->out);
    const char *s = (const char *)data, *nl = memchr(s, '\n', n);
    size_t ll = nl ? (size_t)(nl - s) : n;
    const char *sp = memchr(s, ' ', ll);
    if (!sp) goto refused;
    size_t mlen = (size_t)(sp - s), tlen = ll - mlen - 1;
    const char *target = sp + 1;
    /* The HTTP layer's rules (http1.c): an origin-form target, no bytes
     * a request line cannot hold. */
    if (!tlen || target[0] != '/' || memchr(target, ' ', tlen) || memchr(target, '\0', tlen) ||
        memchr(target, '\r', tlen))
        goto refused;
    if (!exchange_target(&r->x, s, mlen, target, tlen)) goto refused;
    int allowed = 0;
    r->route = routes_match(q, &allowed);
    if (!r->route || r->route->handler || r->route->write != writes) goto refused;
    for (int i = 0; i < 3; i++) {
        const char *id = q->pv[i] ? fz_seed_id(q->pv[i]) : NULL;
        if (id) q->pv[i] = id;
    }
    for (int i = 0; i < q->nparams; i++) {
        const char *id = fz_seed_id(q->params[i].v);
        if (id) q->params[i].v = id;
    }
    if (writes) {
        /* As api.c: dry_run is the API's parameter (every run here is a
         * dry run), and the body must be a JSON object. */
        const char *dry = api_param_get(q, "dry_run");
        if (dry && strcmp(dry, "true") && strcmp(dry, "false")) goto refused;
        size_t blen = nl ? n - ll - 1 : 0;
        if (blen) {
            r->body = json_loadb(nl + 1, blen, JSON_REJECT_DUPLICATES, NULL);
            if (!json_is_object(r->body)) goto refused;
            resolve_json(r->body);
        } else if (q->method == M_DELETE) {
            /* needs no body */
        } else if (r->route->action) {
            r->body = json_object();
        } else {
            goto refused;
        }
    }
    make_call(r);
    return true;
refused:
    fz_request_release(r);
    return false;
}

/* FUZZ_SHOW=1: what a request got, when writing seeds. */
static void show(const fz_request *r)
{
    if (!fz_show) return;
    const engine_result *o = &r->out;
    fprintf(stderr, "%s: kind %d %s%s%s %.*s%s%s\n", r->route->pattern, (int)o->kind,
            o->param ? o->param : "", o->param ? ": " : "", o->message,
            (int)(o->data.len < 400 ? o->data.len : 400), o->data.data ? o->data.data : "",
            o->next_cursor ? " next_cursor " : "", o->next_cursor ? o->next_cursor : "");
}

void fz_request_run(fz_request *r)
{
    engine_call *c = &r->call;
    const char *what = r->route->pattern;
    if (!r->route->write) {
        engine_run(c);
        fz_check_result(&r->out, what);
        show(r);
        return;
    }
    /* As the writer runs a request: a transaction, a savepoint per
     * request. Both are undone here, so every run sees the same world. */
    store_err e;
    int64_t before = -1, after = -2;
    if (store_begin(w.c, true, &e) || store_savepoint(w.c, &e) ||
        store_event_count(w.c, w.ws, &before, &e))
        FZ_FAIL("%s: store: %s", what, e.msg);
    engine_run(c);
    fz_check_result(&r->out, what);
    if (r->out.kind == EK_CREATED) FZ_FAIL("%s: a dry run answered created", what);
    if (store_event_count(w.c, w.ws, &after, &e)) FZ_FAIL("%s: store: %s", what, e.msg);
    if (after != before)
        FZ_FAIL("%s: a dry run left %lld events", what, (long long)(after - before));
    store_rollback_to(w.c);
    store_rollback(w.c);
    show(r);
}

void fz_request_release(fz_request *r)
{
    engine_result_release(&r->out);
    if (r->body) json_decref(r->body);
    r->body = NULL;
    api_req_release(&r->x.q);
}

/* ----------------------------------------------------------- dictionary */

static void dict_word(FILE *f, const char *pre, const char *word, const char *post)
{
    char s[256];
    snprintf(s, sizeof s, "%s%s%s", pre, word, post);
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p == '"' || *p == '\\' || *p < 0x20 || *p > 0x7e)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    fputs("\"\n", f);
}

/* The words of one field: its name as a JSON key or a parameter, its
 * enum values, and for a list the range and relation filters it gives. */
static void dict_field(FILE *f, const res_def *r, const res_field *fd, bool writes)
{
    dict_word(f, writes ? "\"" : "", fd->name, writes ? "\":" : "=");
    for (int k = 0; fd->enum_vals && fd->enum_vals[k]; k++)
        dict_word(f, writes ? "\"" : "", fd->enum_vals[k], writes ? "\"" : "");
    if (writes || !r) return;
    if (fd->flags & RF_SORT) dict_word(f, "sort=-", fd->name, "");
    if (fd->flags & RF_RANGE) {
        size_t n = strlen(fd->name);
        char base[128];
        snprintf(base, sizeof base, "%.*s", (int)(n > 3 ? n - 3 : n), fd->name);
        dict_word(f, "", base, "_before=");
        dict_word(f, "", base, "_after=");
    }
    if (fd->type == FT_REF && fd->ref) {
        const res_def *t = res_find(fd->ref);
        char ref[128];
        snprintf(ref, sizeof ref, "%.*s.", (int)(strlen(fd->name) - 3), fd->name);
        for (int k = 0; k < t->nfields; k++)
            if (t->fields[k].flags & RF_FILTER) dict_word(f, ref, t->fields[k].name, "=");
    }
}

void fz_dict(FILE *f, bool writes)
{
    static const char *const common[] = {"true", "false", "null", "{", "}", "[", "]", ",", "\n"};
    static const char *const body[] = {"\"custom_fields\":{",
                                       "\"operations\":[",
                                       "\"action\":",
                                       "\"create\"",
                                       "\"update\"",
                                       "\"upsert\"",
                                       "\"data\":",
                                       "\"id\":",
                                       "\"upsert_on\":",
                                       "\"from_ids\":[",
                                       "\"enabled_modules\":[",
                                       "?upsert_on=",
                                       "?dry_run=true",
                                       "POST /v1/",
                                       "PATCH /v1/",
                                       "DELETE /v1/",
                                       "\\u0000",
                                       "\\ud800",
                                       "1e400",
                                       "-0",
                                       "9223372036854775808",
                                       "2026-01-15T10:00:00.000Z",
                                       "2026-01-15"};
    static const char *const query[] = {"?",
                                        "&",
                                        "=",
                                        "limit=",
                                        "sort=",
                                        "cursor=",
                                        "query=",
                                        "custom_field_key=",
                                        "custom_field_value=",
                                        "created_at",
                                        "%00",
                                        "%C3%A9",
                                        "%2B",
                                        "/v1/",
                                        "2026-01-15T10:00:00Z",
                                        "/timeline",
                                        "/board"};
    for (size_t i = 0; i < sizeof common / sizeof *common; i++)
        dict_word(f, "", common[i], "");
    for (size_t i = 0; writes && i < sizeof body / sizeof *body; i++)
        dict_word(f, "", body[i], "");
    for (size_t i = 0; !writes && i < sizeof query / sizeof *query; i++)
        dict_word(f, "", query[i], "");
    for (int i = 0; i < MOD__COUNT; i++)
        dict_word(f, "\"", res_module_names[i], "\"");
    for (int i = 0; i < res_count; i++) {
        const res_def *r = res_table[i];
        dict_word(f, "", r->path, "");
        if (r->subpath) dict_word(f, "", r->subpath, "");
        for (int k = 0; k < 3; k++) {
            char id[32];
            snprintf(id, sizeof id, "%s_%d", r->prefix, k);
            dict_word(f, writes ? "\"" : "", id, writes ? "\"" : "");
        }
        for (int k = 0; k < r->nfields; k++)
            dict_field(f, r, &r->fields[k], writes);
    }
    for (int i = 0; i < res_action_count; i++) {
        dict_word(f, "", res_actions[i].path, "");
        for (int k = 0; k < res_actions[i].nbody; k++)
            dict_field(f, NULL, &res_actions[i].body[k], writes);
    }
    for (int i = 0; i < res_sublist_count; i++)
        dict_word(f, "/", res_sublists[i].name, "");
}

/* ---------------------------------------------------------------- seeds */

/* A value for field f of the i-th seed record, or NULL to leave it out. */
static json_t *seed_value(const res_def *r, const res_field *f, int i)
{
    char s[128];
    int nvals = 0;
    if (f->flags & (RF_READONLY | RF_PARENT)) return NULL;
    switch (f->type) {
    case FT_STRING:
    case FT_TEXT: snprintf(s, sizeof s, "Seed %d %s", i, f->name); return json_string(s);
    case FT_EMAIL:
        snprintf(s, sizeof s, "seed%d.%s@example.com", i, r->prefix);
        return json_string(s);
    case FT_URL: snprintf(s, sizeof s, "https://example.com/%d", i); return json_string(s);
    case FT_ENUM:
        while (f->enum_vals[nvals])
            nvals++;
        return json_string(f->enum_vals[i % nvals]);
    case FT_INT: return json_integer(f->min < f->max ? f->min + i : i);
    case FT_MONEY: return json_integer(1000 * (i + 1));
    case FT_NUMBER: return json_real(i + 0.5);
    case FT_BOOL: return json_boolean(i % 2);
    case FT_DATETIME:
        snprintf(s, sizeof s, "2026-0%d-15T10:00:00.000Z", i + 1);
        return json_string(s);
    case FT_DATE: snprintf(s, sizeof s, "2026-0%d-15", i + 1); return json_string(s);
    case FT_CURRENCY: return json_string(i % 2 ? "EUR" : "USD");
    case FT_RANK: return NULL;
    case FT_LIST:
    case FT_OBJECT:
    case FT_JSON: return f->example ? json_loads(f->example, 0, NULL) : NULL;
    case FT_REF: {
        const res_def *t = NULL;
        if (f->ref_by) {
            /* The type field got enum_vals[i % n] above: the same one. */
            const res_field *tf = &r->fields[res_field_index(r, f->ref_by)];
            while (tf->enum_vals[nvals])
                nvals++;
            t = res_find_singular(tf->enum_vals[i % nvals]);
        } else {
            t = res_find(f->ref);
        }
        /* Two records in a row point at the same one: deals 0 and 1 share
         * a stage, so a move can go between them. */
        if (!t || !w.nids[t->id]) return NULL;
        return json_string(w.ids[t->id][i / 2 % w.nids[t->id]]);
    }
    }
    return NULL;
}

static void remember(const res_def *r, const char *id)
{
    if (w.nids[r->id] < MAX_IDS) snprintf(w.ids[r->id][w.nids[r->id]++], ID_MAX, "%s", id);
}

static engine_kind seed_call(engine_op op, const res_def *r, const char *parent, const char *params,
                             json_t *body, json_t **data, char *msg, size_t cap)
{
    arena a;
    arena_init(&a);
    engine_param ps[2];
    int np = 0;
    if (params) ps[np++] = (engine_param){.k = "sort", .v = params};
    if (params) ps[np++] = (engine_param){.k = "limit", .v = "100"};
    engine_result out;
    engine_result_init(&out);
    engine_call c = {.op = op,
                     .res = r,
                     .ids = {parent},
                     .params = ps,
                     .nparams = np,
                     .body = body,
                     .ws = w.ws,
                     .actor = "key_fuzz",
                     .scopes = w.scopes,
                     .trace = "seed",
                     .conn = w.c,
                     .a = &a,
                     .out = &out};
    store_err e;
    bool writes = engine_writes(op, NULL);
    if (writes && store_begin(w.c, true, &e)) FZ_FAIL("seed: %s", e.msg);
    engine_run(&c);
    bool ok = out.kind == EK_OK || out.kind == EK_CREATED;
    if (writes && ok && store_commit(w.c, &e)) FZ_FAIL("seed: %s", e.msg);
    if (writes && !ok) store_rollback(w.c);
    *data = ok ? json_loadb(out.data.data, out.data.len, 0, NULL) : NULL;
    snprintf(msg, cap, "%s%s%s", out.param ? out.param : "", out.param ? ": " : "", out.message);
    engine_kind k = out.kind;
    engine_result_release(&out);
    arena_release(&a);
    return k;
}

/* Creates the i-th record of r from every field the table gives it;
 * each field the engine refuses (a hook's rule no table states) is
 * dropped and the create tried again. */
static void seed_one(const res_def *r, int i)
{
    const char *parent = NULL;
    if (r->parent) {
        const res_def *p = res_find(r->parent);
        if (!w.nids[p->id]) return;
        parent = w.ids[p->id][i % w.nids[p->id]];
    }
    json_t *body = json_object();
    for (int k = 0; k < r->nfields; k++) {
        json_t *v = seed_value(r, &r->fields[k], i);
        if (v) json_object_set_new(body, r->fields[k].name, v);
    }
    if (r->custom_fields && i < 2)
        json_object_set_new(body, "custom_fields",
                            json_pack("{s:s, s:i}", "tier", i ? "silver" : "gold", "score", i));
    char msg[600];
    for (int tries = 0; tries <= r->nfields + 1; tries++) {
        json_t *data;
        engine_kind k = seed_call(OP_CREATE, r, parent, NULL, body, &data, msg, sizeof msg);
        if (k == EK_CREATED) {
            remember(r, json_string_value(json_object_get(data, "id")));
            json_decref(data);
            break;
        }
        if (fz_show) fprintf(stderr, "seed %s %d: %s\n", r->name, i, msg);
        char *colon = strchr(msg, ':');
        if (!colon) break;
        *colon = '\0';
        if (json_object_del(body, msg)) break; /* refused for no one field */
    }
    json_decref(body);
}

void fz_open(bool writes)
{
    fz_show = getenv("FUZZ_SHOW") != NULL;
    const char *dict = getenv("FUZZ_DICT");
    if (dict) {
        /* tests/fuzz/run.sh writes the dictionary from the table, so it
         * holds every field a new resource brings. */
        FILE *f = fopen(dict, "w");
        if (!f) FZ_FAIL("cannot write %s", dict);
        fz_dict(f, writes);
        fclose(f);
        exit(0);
    }
    api_init(&(api_config){0});
    char err[256];
    if (!engine_check(err, sizeof err)) FZ_FAIL("table: %s", err);
    for (int i = 0; res_scopes[i]; i++)
        snprintf(w.scopes + strlen(w.scopes), sizeof w.scopes - strlen(w.scopes), "%s%s",
                 i ? " " : "", res_scopes[i]);
    store_err e;
    store_opts o = {.durable = false, .busy_ms = 1000};
    store_workspace ws;
    int applied;
    if (store_open(&w.s, ":memory:", &o, &e) || store_connect(w.s, &w.c, &e) ||
        store_migrate(w.c, &applied, &e) || store_workspace_create(w.c, "fuzz", &ws, &e))
        FZ_FAIL("store: %s", e.msg);
    snprintf(w.ws, sizeof w.ws, "%s", ws.id);
    if (store_begin(w.c, true, &e) || engine_workspace_created(w.c, w.ws, &e) ||
        store_commit(w.c, &e))
        FZ_FAIL("workspace: %s", e.msg);
    /* What every workspace starts with (the default pipeline and its
     * stages) comes first, oldest first. */
    for (int i = 0; i < res_count; i++) {
        const res_def *r = res_table[i];
        json_t *data;
        char msg[600];
        if (r->parent) continue;
        if (seed_call(OP_LIST, r, NULL, "created_at", NULL, &data, msg, sizeof msg) != EK_OK)
            FZ_FAIL("listing %s: %s", r->name, msg);
        size_t k;
        json_t *v;
        json_array_foreach(data, k, v) remember(r, json_string_value(json_object_get(v, "id")));
        json_decref(data);
    }
    for (int i = 0; i < SEEDS_PER_RES; i++)
        for (int k = 0; k < res_count; k++)
            seed_one(res_table[k], i);
    for (int i = 0; fz_show && i < res_count; i++)
        for (int k = 0; k < w.nids[i]; k++)
            fprintf(stderr, "%s_%d = %s\n", res_table[i]->prefix, k, w.ids[i][k]);
}
