/* imports.c - POST /v1/imports: a CSV or JSON file of contacts, companies
 * or leads into a named folder, the first thing every CRM user does.
 *
 * A file is checked as a whole before anything is written: its text (UTF-8,
 * no control bytes), its CSV structure and its columns (each names a
 * writable field or custom_fields.<key>; the fields every record needs
 * have one) or its JSON rows' members. A file that fails is a 400 naming
 * the column or the line. Then each row goes its own way in a savepoint of
 * its own, through the engine's own create and update (the hooks,
 * references, events, search and rollups of POST and PATCH):
 *   - created, when no stored record has its key (contacts' and leads'
 *     email, companies' domain, compared case-insensitively, and locked as
 *     ?upsert_on= locks it);
 *   - updated, when one has and on_duplicate is update: only the fields
 *     the row gives change;
 *   - duplicate, when one has and on_duplicate is skip, or an earlier row
 *     of the file wrote the same key: nothing written;
 *   - invalid, when the engine refuses the row (its field and message are
 *     kept): nothing of it written, and the other rows go on. A partial
 *     import is normal; the counts say how it went.
 * The import itself is a record (read-only resource imports) holding the
 * counts and the first issues, and each row's outcome is a record of
 * import-rows under it, whose record_id the folder's contacts are found
 * by (outbound.c's bulk add and deduplication analysis). The file is not
 * kept. A dry run (the engine's savepoint, rolled back) answers the same
 * counts and issues and stores nothing.
 *
 * Memory: each row runs as a call of its own with an arena of its own,
 * released after it, so 10,000 rows cost what one does. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/csv.h"
#include "core/ids.h"
#include "resources/engine.h"
#include "resources/hooks.h"

#define ISSUES_MAX 100 /* issues an import record lists; its rows hold them all */

/* What a row of each object type is, and the field that tells two apart. */
static const struct {
    const char *object;
    int res, key;
} targets[] = {
    {"contacts", RES_CONTACT, CONTACT_email},
    {"companies", RES_COMPANY, COMPANY_domain},
    {"leads", RES_LEAD, LEAD_email},
};

enum { O_CREATED, O_UPDATED, O_DUPLICATE, O_INVALID };
static const char *const outcome_names[] = {"created", "updated", "duplicate", "invalid"};

/* The keys rows wrote, lower-cased, with the record and the row: a later
 * row with one of them is a duplicate. Open addressing, never full. */
typedef struct key_slot {
    const char *key, *id;
    int row;
} key_slot;

typedef struct importer {
    engine_call *c;
    const res_def *r;
    int key;   /* the dedup field of r */
    bool skip; /* on_duplicate=skip */
    res_row imp;
    int64_t counts[4];
    json_t *issues;
    key_slot *keys;
    size_t nkeys_cap;                       /* a power of two, at least twice the rows */
    uint64_t locked[ENGINE_KEY_LOCKS / 64]; /* key locks taken (engine_lock_key) */
} importer;

/* ------------------------------------------------------------ helpers */

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t') return false;
    return true;
}

/* s without the spaces and tabs around it, in a. */
static const char *trim(arena *a, const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return arena_strndup(a, s, n);
}

/* The fields a row may give, for messages: "email, first_name, ...". */
static const char *writable_names(engine_call *c, const res_def *r)
{
    buf b;
    buf_init(&b, 2048);
    for (int i = 0; i < r->nfields; i++)
        if (!(r->fields[i].flags & (RF_READONLY | RF_PARENT)))
            buf_printf(&b, "%s%s", b.len ? ", " : "", r->fields[i].name);
    if (r->custom_fields) buf_puts(&b, ", custom_fields.<key>");
    const char *s = arena_strdup(c->a, buf_cstr(&b));
    buf_free(&b);
    return s;
}

/* The writable field of r named `name` (a row's member or a column), or
 * -1 with the reason in why (NULL: no such field). */
static int writable(const res_def *r, const char *name, const char **why)
{
    *why = NULL;
    int i = res_field_index(r, name);
    if (i >= 0 && !(r->fields[i].flags & (RF_READONLY | RF_PARENT))) return i;
    if (i >= 0 || !strcmp(name, "id") || !strcmp(name, "object") || !strcmp(name, "created_at") ||
        !strcmp(name, "updated_at"))
        *why = "is read-only";
    else if (!strcmp(name, "custom_fields") && r->custom_fields)
        *why = "is given as one custom_fields.<key> per custom field";
    return -1;
}

/* The slot of key (lower-case): its entry, or the empty one it would take. */
static key_slot *key_find(importer *im, const char *key)
{
    size_t mask = im->nkeys_cap - 1;
    for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask)
        if (!im->keys[i].key || !strcmp(im->keys[i].key, key)) return &im->keys[i];
}

static const char *lower(arena *a, const char *s)
{
    char *l = arena_strdup(a, s);
    for (char *p = l; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return l;
}

static void issue(importer *im, int row, int line, int outcome, const char *id, const char *field,
                  const char *msg)
{
    if (json_array_size(im->issues) >= ISSUES_MAX) return;
    json_t *o = json_object();
    json_object_set_new(o, "row", json_integer(row));
    json_object_set_new(o, "line", line ? json_integer(line) : json_null());
    json_object_set_new(o, "outcome", json_string(outcome_names[outcome]));
    json_object_set_new(o, "record_id", id ? json_string(id) : json_null());
    json_object_set_new(o, "field", field ? json_string(field) : json_null());
    json_object_set_new(o, "message", msg ? json_string(msg) : json_null());
    json_array_append_new(im->issues, o);
}

static void written(engine_call *c, const char *id)
{
    engine_result *o = c->out;
    for (int i = 0; i < o->nwritten; i++)
        if (!strcmp(o->written[i], id)) return;
    if (o->nwritten < ENGINE_MAX_WRITTEN) o->written[o->nwritten++] = arena_strdup(c->a, id);
}

/* ------------------------------------------------------------ one row */

/* Whether a row's failure is the row's (its values, its references) rather
 * than the store's, which ends the import. */
static bool row_fault(engine_kind k)
{
    return k == EK_INVALID || k == EK_NOT_FOUND || k == EK_CONFLICT || k == EK_UNPROCESSABLE ||
           k == EK_FORBIDDEN;
}

/* Writes the row's body (or records why it has none) and its outcome
 * record; -1 only when the import cannot go on. */
static int import_row(importer *im, int row, int line, json_t *body, const char *bad_field,
                      const char *bad_msg)
{
    engine_call *c = im->c;
    arena a;
    arena_init(&a);
    engine_result out;
    engine_result_init(&out);
    engine_call sc = *c;
    sc.op = OP_CREATE;
    sc.res = im->r;
    sc.sub = NULL;
    sc.action = NULL;
    sc.ids[0] = sc.ids[1] = sc.ids[2] = NULL;
    sc.params = NULL;
    sc.nparams = 0;
    sc.body = body;
    sc.dry_run = false; /* a dry run's savepoint is the whole import's */
    sc.bulk = true;
    sc.a = &a;
    sc.out = &out;
    sc.memo = NULL; /* what a refused row wrote is undone: remember nothing of it */

    int outcome = O_INVALID, rc = 0;
    const char *id = NULL, *field = bad_field, *msg = bad_msg;
    res_row old, made; /* id points into one of them */
    json_t *kv = body ? json_object_get(body, im->r->fields[im->key].name) : NULL;
    const char *key = json_is_string(kv) && *json_string_value(kv) ? json_string_value(kv) : NULL;
    key_slot *seen = key ? key_find(im, lower(&a, key)) : NULL;
    if (bad_msg) {
        /* Refused before the engine saw it: a cell of the wrong type. */
    } else if (seen && seen->key) {
        outcome = O_DUPLICATE;
        id = seen->id;
        msg = arena_printf(&a, "row %d has the same %s", seen->row, im->r->fields[im->key].name);
    } else {
        store_err e;
        int found = 0, lock = key ? engine_key_lock_of(key) : 0;
        /* The key's lock first, once an import, outside the row's savepoint. */
        if (key && !(im->locked[lock / 64] & (UINT64_C(1) << (lock % 64)))) {
            if ((rc = engine_lock_key(c, im->r, lock)) != 0) goto out;
            im->locked[lock / 64] |= UINT64_C(1) << (lock % 64);
        }
        if ((rc = store_savepoint(c->conn, &e)) != 0) {
            engine_store_fail(c, rc, &e);
            goto out;
        }
        if (key) found = engine_find_by(&sc, im->r, im->key, key, &old);
        if (found < 0) {
            rc = -1;
        } else if (found && im->skip) {
            outcome = O_DUPLICATE;
            id = old.id;
            msg = arena_printf(&a, "%s %s has the same %s", im->r->singular, old.id,
                               im->r->fields[im->key].name);
        } else if (found) {
            rc = engine_update_from(&sc, im->r, &old, body, &made);
            outcome = O_UPDATED;
        } else {
            rc = engine_create_from(&sc, im->r, body, &made);
            outcome = O_CREATED;
        }
        if (rc == 0 && outcome != O_DUPLICATE) id = made.id;
        if (rc == 0 && (rc = store_release(c->conn, &e)) != 0) {
            engine_store_fail(c, rc, &e);
            goto out;
        }
        if (rc) store_rollback_to(c->conn);
        if (rc && !row_fault(out.kind)) {
            engine_fail(c, out.kind, out.param, "row %d: %s", row, out.message);
            c->out->store_failed = out.store_failed;
            goto out;
        }
        if (rc) {
            outcome = O_INVALID;
            id = NULL;
            field = out.param;
            msg = out.message;
            rc = 0;
        }
    }
    if (key && !seen->key && (outcome == O_CREATED || outcome == O_UPDATED)) {
        seen->key = lower(c->a, key);
        seen->id = arena_strdup(c->a, id);
        seen->row = row;
    }
    if (outcome == O_CREATED || outcome == O_UPDATED) written(c, id);
    if (outcome == O_DUPLICATE || outcome == O_INVALID)
        issue(im, row, line, outcome, id, field, msg);
    im->counts[outcome]++;

    /* The row's outcome, a record under the import. */
    bool *set;
    res_row o = engine_new_row(&sc, RES(IMPROW), &set);
    engine_set(&o, set, IMPROW_import_id, sv_text(im->imp.id));
    engine_set(&o, set, IMPROW_row, sv_int(row));
    if (line) engine_set(&o, set, IMPROW_line, sv_int(line));
    engine_set(&o, set, IMPROW_outcome, sv_text(outcome_names[outcome]));
    if (id) {
        engine_set(&o, set, IMPROW_record_type, sv_text(im->r->singular));
        engine_set(&o, set, IMPROW_record_id, sv_text(id));
    }
    engine_set(&o, set, IMPROW_field, sv_text(field));
    engine_set(&o, set, IMPROW_message, sv_text(msg));
    if (engine_insert(&sc, RES(IMPROW), &o, set)) {
        engine_fail(c, out.kind, out.param, "row %d: %s", row, out.message);
        c->out->store_failed = out.store_failed;
        rc = -1;
    }
out:
    engine_result_release(&out);
    arena_release(&a);
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------- CSV */

/* A column of the header: a field of r, or a custom field. */
typedef struct column {
    int field; /* -1: custom */
    const char *custom;
} column;

static int bad_data(engine_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_data(engine_call *c, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return engine_fail(c, EK_INVALID, "data", "data: %s", msg);
}

/* Maps the header's names to r's writable fields ("First Name" is
 * first_name) and custom fields, and checks that every field a record
 * needs has a column. */
static int read_header(engine_call *c, const res_def *r, const csv_record *h, column *cols)
{
    for (int j = 0; j < h->n; j++) {
        const char *name = trim(c->a, h->cells[j]);
        if (!*name) return bad_data(c, "column %d of the header has no name", j + 1);
        if (strncasecmp(name, "custom_fields.", 14) == 0 && r->custom_fields) {
            const char *k = name + 14;
            if (!engine_custom_key_ok(k))
                return bad_data(c,
                                "column %d ('%s'): a custom field's key is 1 to 100 characters of "
                                "A-Z, a-z, 0-9, _, - and .",
                                j + 1, name);
            cols[j] = (column){.field = -1, .custom = k};
        } else {
            char *f = arena_strdup(c->a, name);
            for (char *p = f; *p; p++)
                *p = *p == ' ' || *p == '-' ? '_' : *p >= 'A' && *p <= 'Z' ? (char)(*p + 32) : *p;
            const char *why;
            int i = writable(r, f, &why);
            if (i < 0 && why) return bad_data(c, "column %d ('%s'): %s %s", j + 1, name, f, why);
            if (i < 0)
                return bad_data(c, "column %d ('%s') names no field of %s; a column is one of %s",
                                j + 1, name, r->name, writable_names(c, r));
            cols[j] = (column){.field = i};
        }
        for (int k = 0; k < j; k++)
            if (cols[k].field == cols[j].field &&
                (cols[j].field >= 0 || !strcmp(cols[k].custom, cols[j].custom)))
                return bad_data(c, "column %d ('%s') repeats column %d", j + 1, name, k + 1);
    }
    bool any = !r->require_one_of[0];
    for (int j = 0; j < h->n && !any; j++)
        for (int k = 0; r->require_one_of[k] && !any; k++)
            any = cols[j].field == res_field_index(r, r->require_one_of[k]);
    if (!any) {
        char names[256] = "";
        for (int k = 0; r->require_one_of[k]; k++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "",
                     r->require_one_of[k]);
        return bad_data(c, "the header needs a column for one of %s: every one of %s has one",
                        names, r->name);
    }
    for (int i = 0; i < r->nfields; i++) {
        if (!(r->fields[i].flags & RF_REQUIRED) || (r->fields[i].flags & RF_READONLY)) continue;
        bool has = false;
        for (int j = 0; j < h->n && !has; j++)
            has = cols[j].field == i;
        if (!has)
            return bad_data(c, "the header has no %s column, and every one of %s has a %s",
                            r->fields[i].name, r->name, r->fields[i].name);
    }
    return 0;
}

/* A cell's value for field f: a JSON value of the type POST takes, or
 * NULL with the reason in *why. */
static json_t *cell_value(const res_field *f, const char *s, const char **why)
{
    switch (f->type) {
    case FT_INT:
    case FT_MONEY: {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || *end) {
            *why = "must be an integer";
            return NULL;
        }
        if (errno == ERANGE) {
            *why = "is out of the 64-bit integer range";
            return NULL;
        }
        return json_integer(v);
    }
    case FT_NUMBER: {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || *end || errno == ERANGE || v != v) {
            *why = "must be a number";
            return NULL;
        }
        return json_real(v);
    }
    case FT_BOOL:
        if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1")) return json_true();
        if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0")) return json_false();
        *why = "must be true or false";
        return NULL;
    case FT_LIST:
    case FT_OBJECT: {
        json_t *j = json_loads(s, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
        if (!j) *why = f->type == FT_LIST ? "must be a JSON array" : "must be a JSON object";
        return j;
    }
    default: return json_string(s);
    }
}

/* The body a record gives, or NULL with the field at fault and why. A
 * record with fewer cells than the header leaves the last fields absent. */
static json_t *csv_body(engine_call *c, const res_def *r, const column *cols, int ncols,
                        const csv_record *rec, const char **field, const char **why)
{
    if (rec->n > ncols) {
        *field = NULL;
        *why = arena_printf(c->a, "the row has %d cells, the header %d", rec->n, ncols);
        return NULL;
    }
    json_t *body = json_object(), *custom = NULL;
    for (int j = 0; j < rec->n; j++) {
        const char *s = trim(c->a, rec->cells[j]);
        if (!*s) continue; /* an empty cell is absent */
        if (cols[j].field < 0) {
            if (!custom) json_object_set_new(body, "custom_fields", custom = json_object());
            json_object_set_new(custom, cols[j].custom, json_string(s));
            continue;
        }
        const res_field *f = &r->fields[cols[j].field];
        const char *bad = NULL;
        json_t *v = cell_value(f, s, &bad);
        if (!v) {
            json_decref(body);
            *field = f->name;
            *why = arena_printf(c->a, "%s %s", f->name, bad);
            return NULL;
        }
        json_object_set_new(body, f->name, v);
    }
    return body;
}

/* A CSV file as read: its columns and its rows of data. */
typedef struct csv_file {
    column *cols;
    int ncols;
    csv_record *recs;
    int nrecs;
} csv_file;

/* Reads the whole file before anything is written: a file that is not
 * CSV, or whose header names something not writable, is refused whole.
 * What it read stays in the call's arena. */
static int read_csv(engine_call *c, const res_def *r, const char *text, csv_file *f)
{
    size_t n = strlen(text);
    csv_err ce;
    if (!csv_check(text, n, &ce)) return bad_data(c, "%s", ce.msg);
    csv_reader rd;
    csv_init(&rd, text, n);
    csv_record h;
    int rc = csv_next(&rd, c->a, &h, &ce);
    if (rc < 0) return bad_data(c, "%s", ce.msg);
    if (rc == 0) return bad_data(c, "the file is empty: a CSV starts with a header row");
    *f = (csv_file){.cols = arena_alloc(c->a, sizeof *f->cols * (size_t)h.n), .ncols = h.n};
    if (read_header(c, r, &h, f->cols)) return -1;
    int cap = 0;
    for (;;) {
        csv_record rec;
        if ((rc = csv_next(&rd, c->a, &rec, &ce)) < 0) return bad_data(c, "%s", ce.msg);
        if (rc == 0) break;
        bool empty = true;
        for (int j = 0; j < rec.n && empty; j++)
            empty = blank(rec.cells[j]);
        if (empty) continue; /* a spreadsheet's blank row */
        if (f->nrecs == RES_IMPORT_MAX_ROWS)
            return bad_data(c, "more than %d rows (line %d starts row %d): split the file",
                            RES_IMPORT_MAX_ROWS, rec.line, f->nrecs + 1);
        if (f->nrecs == cap) {
            cap = cap ? cap * 2 : 256;
            csv_record *grown = arena_alloc(c->a, sizeof *grown * (size_t)cap);
            if (f->nrecs) memcpy(grown, f->recs, sizeof *grown * (size_t)f->nrecs);
            f->recs = grown;
        }
        f->recs[f->nrecs++] = rec;
    }
    if (!f->nrecs) return bad_data(c, "the file has a header but no rows");
    return 0;
}

/* ---------------------------------------------------------------- JSON */

/* Checks every member of every row names a writable field (or
 * custom_fields.<key>) before anything is written. */
static int check_rows(engine_call *c, const res_def *r, json_t *rows)
{
    size_t i;
    json_t *o;
    json_array_foreach(rows, i, o)
    {
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v)
        {
            const char *p = arena_printf(c->a, "rows[%zu].%s", i, k), *why;
            if (!strncmp(k, "custom_fields.", 14) && r->custom_fields) {
                if (!engine_custom_key_ok(k + 14))
                    return engine_fail(c, EK_INVALID, p,
                                       "%s: a custom field's key is 1 to 100 characters of A-Z, "
                                       "a-z, 0-9, _, - and .",
                                       p);
                continue;
            }
            if (writable(r, k, &why) >= 0) continue;
            if (why) return engine_fail(c, EK_INVALID, p, "%s %s", p, why);
            return engine_fail(c, EK_INVALID, p,
                               "%s: %s have no field '%s'; a row's members are %s", p, r->name, k,
                               writable_names(c, r));
        }
    }
    return 0;
}

/* A JSON row as POST's body: null members left out, custom_fields.<key>
 * members gathered into custom_fields. */
static json_t *json_body(json_t *o)
{
    json_t *body = json_object(), *custom = NULL, *v;
    const char *k;
    json_object_foreach(o, k, v)
    {
        if (json_is_null(v)) continue;
        if (!strncmp(k, "custom_fields.", 14)) {
            if (!custom) json_object_set_new(body, "custom_fields", custom = json_object());
            json_object_set(custom, k + 14, v);
        } else {
            json_object_set(body, k, v);
        }
    }
    return body;
}

/* ------------------------------------------------------------- the call */

static int counts_and_issues(importer *im)
{
    engine_call *c = im->c;
    bool *set;
    res_row row = engine_copy_row(c, RES(IMPORT), &im->imp, &set);
    const char *counts = arena_printf(
        c->a, "{\"created\":%lld,\"updated\":%lld,\"duplicate\":%lld,\"invalid\":%lld}",
        (long long)im->counts[O_CREATED], (long long)im->counts[O_UPDATED],
        (long long)im->counts[O_DUPLICATE], (long long)im->counts[O_INVALID]);
    engine_set(&row, set, IMPORT_counts, sv_text(counts));
    engine_set_items(c, &row, set, IMPORT_issues, im->issues);
    if (engine_save(c, RES(IMPORT), &row, &im->imp, set)) return -1;
    im->imp = row;
    return 0;
}

int import_create(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[IMPORTIN__COUNT];
    bool given[IMPORTIN__COUNT];
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given))
        return -1;
    const char *object = v[IMPORTIN_object_type].s, *folder = v[IMPORTIN_folder].s;
    if (blank(folder)) return engine_fail(c, EK_INVALID, "folder", "folder cannot be blank");
    bool csv = given[IMPORTIN_data], json = given[IMPORTIN_rows];
    if (csv && json)
        return engine_fail(c, EK_INVALID, "rows",
                           "give data (CSV text) or rows (JSON objects), not both");
    if (!csv && !json)
        return engine_fail(c, EK_INVALID, "data",
                           "data (CSV text) or rows (JSON objects) is required");
    const char *format = given[IMPORTIN_format] ? v[IMPORTIN_format].s : csv ? "csv" : "json";
    if (strcmp(format, csv ? "csv" : "json") != 0)
        return engine_fail(c, EK_INVALID, "format", "format %s takes %s, not %s", format,
                           csv ? "rows" : "data", csv ? "data" : "rows");

    importer im = {.c = c,
                   .skip =
                       given[IMPORTIN_on_duplicate] && !strcmp(v[IMPORTIN_on_duplicate].s, "skip")};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        if (!strcmp(targets[i].object, object)) {
            im.r = res_table[targets[i].res];
            im.key = targets[i].key;
        }
    /* The file as a whole first: nothing is written for a file refused. */
    json_t *rows = json ? json_object_get(c->body, "rows") : NULL;
    csv_file f = {0};
    if (csv && read_csv(c, im.r, v[IMPORTIN_data].s, &f)) return -1;
    if (json && !json_array_size(rows)) return engine_fail(c, EK_INVALID, "rows", "rows is empty");
    if (json && check_rows(c, im.r, rows)) return -1;
    int nrows = csv ? f.nrecs : (int)json_array_size(rows);

    /* The import, then its rows, then its counts. */
    bool *set;
    im.imp = engine_new_row(c, RES(IMPORT), &set);
    engine_set(&im.imp, set, IMPORT_object_type, sv_text(object));
    engine_set(&im.imp, set, IMPORT_folder, sv_text(folder));
    engine_set(&im.imp, set, IMPORT_format, sv_text(format));
    engine_set(&im.imp, set, IMPORT_on_duplicate, sv_text(im.skip ? "skip" : "update"));
    engine_set(&im.imp, set, IMPORT_status, sv_text(c->dry_run ? "dry_run" : "completed"));
    engine_set(&im.imp, set, IMPORT_row_count, sv_int(nrows));
    if (engine_insert(c, RES(IMPORT), &im.imp, set)) return -1;
    written(c, im.imp.id);
    im.issues = json_array();
    im.nkeys_cap = 16;
    while (im.nkeys_cap < (size_t)nrows * 2)
        im.nkeys_cap *= 2;
    im.keys = arena_zalloc(c->a, sizeof *im.keys * im.nkeys_cap);
    int rc = 0;
    for (int i = 0; i < nrows && rc == 0; i++) {
        const char *field = NULL, *why = NULL;
        json_t *body = csv ? csv_body(c, im.r, f.cols, f.ncols, &f.recs[i], &field, &why)
                           : json_body(json_array_get(rows, (size_t)i));
        rc = import_row(&im, i + 1, csv ? f.recs[i].line : 0, body, field, why);
        json_decref(body);
    }
    if (rc == 0) rc = counts_and_issues(&im);
    json_decref(im.issues);
    if (rc) return -1;
    return engine_respond(c, RES(IMPORT), &im.imp, EK_CREATED);
}
