/* sql.c - the statements of the generic store, built once from the
 * resource table and a dialect; see sql.h.
 *
 * Lists are keyset-paginated on the integer `rid`: every index on
 * (workspace_id, ...) but a grouping one (index_groups) also orders by rid
 * (SQLite's carry the rowid, the others end with it: index_rid), so
 * "newest first after the cursor" is an index range scan that stops after
 * limit + 1 rows. Builders that run on
 * every read (record columns, lists, inserts) avoid printf: its format
 * parsing was 2% of a GET on SQLite, where the text is built on every call
 * to find the statement in the connection's cache. */
#include "store/sql.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "store/impl.h"
#include "store/search.h"

/* ------------------------------------------------------------ statements */

void sql_init(sql_stmt *q, const sql_dialect *d)
{
    q->d = d;
    buf_init(&q->text, 1 << 20);
    q->nparam = 0;
    q->overflow = false;
    q->plan_per_call = false;
    arena_init(&q->mem);
}

void sql_reset(sql_stmt *q)
{
    buf_reset(&q->text);
    arena_release(&q->mem);
    q->nparam = 0;
    q->overflow = false;
    q->plan_per_call = false;
}

void sql_free(sql_stmt *q)
{
    buf_free(&q->text);
    arena_release(&q->mem);
}

const char *sql_text(sql_stmt *q)
{
    return buf_cstr(&q->text);
}

bool sql_failed(const sql_stmt *q)
{
    return q->overflow || q->text.overflow;
}

int sql_add(sql_stmt *q, store_val v)
{
    if (q->nparam == SQL_MAX_PARAMS) {
        q->overflow = true;
        return SQL_MAX_PARAMS;
    }
    q->param[q->nparam++] = v;
    return q->nparam;
}

void sql_ref(sql_stmt *q, buf *b, int k)
{
    char digits[12], out[16];
    int n = 0, m = 0;
    do {
        digits[m++] = (char)('0' + k % 10);
        k /= 10;
    } while (k > 0);
    out[n++] = q->d->param;
    while (m > 0)
        out[n++] = digits[--m];
    buf_append(b, out, (size_t)n);
}

int sql_param(sql_stmt *q, buf *b, store_val v)
{
    int k = sql_add(q, v);
    sql_ref(q, b, k);
    return k;
}

void sql_put(sql_stmt *q, buf *b, const char *sql)
{
    if (q->d->param == '?') {
        buf_puts(b, sql);
        return;
    }
    for (const char *p = sql; *p;) {
        size_t n = strcspn(p, "?");
        buf_append(b, p, n);
        p += n;
        if (*p == '?') {
            buf_putc(b, q->d->param);
            p++;
        }
    }
}

/* sql_put of a constant statement as the whole of q. */
static void put(sql_stmt *q, const char *sql)
{
    sql_put(q, &q->text, sql);
}

static void text_param(sql_stmt *q, const char *s)
{
    sql_add(q, sv_text(s));
}

static void int_param(sql_stmt *q, int64_t i)
{
    sql_add(q, sv_int(i));
}

/* ---------------------------------------------------------------- schema */

const char *sql_column_type(const sql_dialect *d, const res_field *f)
{
    switch (f->type) {
    case FT_INT:
    case FT_MONEY:
    case FT_DATETIME: return d->int64;
    case FT_BOOL: return "INTEGER";
    case FT_NUMBER: return d->real;
    case FT_RANK: return d->bytewise_text;
    default: return "TEXT";
    }
}

bool sql_nocase(const res_field *f)
{
    return f->type == FT_EMAIL || f->type == FT_STRING || f->type == FT_URL;
}

bool sql_indexed(const res_field *f)
{
    if (f->flags & RF_NOINDEX) return false;
    return (f->flags & (RF_FILTER | RF_PARENT | RF_SORT)) || f->type == FT_REF;
}

void sql_search_doc(const res_def *r, const char *ws, const store_val *vals, buf *out)
{
    char tag[SEARCH_TAG_LEN + 1];
    search_tag(ws, tag);
    for (int i = 0; i < r->nfields; i++)
        if ((r->fields[i].flags & RF_SEARCH) && vals[i].kind == SV_TEXT)
            search_doc_append(out, tag, vals[i].s, true);
}

/* The core tables, in the dialect's words: %I a 64-bit integer, %R the
 * rid column, %X what ends an index in rid order, %W what follows a table
 * clustered on its primary key. */
static const char *const migrations[] = {
    /* 1: workspaces, keys, event outbox, idempotency records */
    "CREATE TABLE workspaces (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
    "  created_at %I NOT NULL);"
    "CREATE TABLE api_keys (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, "
    "  name TEXT NOT NULL DEFAULT '', token_hash TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL, "
    "  super_admin INTEGER NOT NULL DEFAULT 0, max_concurrent INTEGER NOT NULL DEFAULT -1, "
    "  rate INTEGER NOT NULL DEFAULT -1, created_at %I NOT NULL, "
    "  revoked_at %I NOT NULL DEFAULT 0);"
    "CREATE TABLE events (rid %R, id TEXT NOT NULL UNIQUE, "
    "  workspace_id TEXT NOT NULL, type TEXT NOT NULL, resource_type TEXT NOT NULL, "
    "  resource_id TEXT NOT NULL, data TEXT NOT NULL, actor_key_id TEXT, "
    "  created_at %I NOT NULL);"
    "CREATE INDEX events_ws ON events(workspace_id%X);"
    "CREATE INDEX events_ws_resource ON events(workspace_id, resource_id%X);"
    "CREATE TABLE idempotency_keys (workspace_id TEXT NOT NULL, key TEXT NOT NULL, "
    "  request_hash TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL, "
    "  created_at %I NOT NULL, PRIMARY KEY (workspace_id, key))%W;"
    "CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);",
    /* 2: what each search structure was built from, to rebuild on change */
    "CREATE TABLE search_indexes (table_name TEXT PRIMARY KEY, ddl TEXT NOT NULL);",
    /* 3: timelines (an event's subject and changes) and merged-record stubs */
    "ALTER TABLE events ADD COLUMN subject_id TEXT;"
    "ALTER TABLE events ADD COLUMN changes TEXT;"
    "CREATE INDEX events_ws_subject ON events(workspace_id, subject_id%X) "
    "  WHERE subject_id IS NOT NULL;"
    "CREATE TABLE merged_records (workspace_id TEXT NOT NULL, resource_type TEXT NOT NULL, "
    "  id TEXT NOT NULL, into_id TEXT NOT NULL, snapshot TEXT NOT NULL, "
    "  merged_at %I NOT NULL, PRIMARY KEY (workspace_id, resource_type, id))%W;",
    /* 4: rollups (counts and sums per group, kept as rows change) */
    "CREATE TABLE rollups (workspace_id TEXT NOT NULL, resource TEXT NOT NULL, "
    "  k1 TEXT NOT NULL, k2 TEXT NOT NULL, k3 TEXT NOT NULL, n %I NOT NULL, "
    "  total %I NOT NULL, PRIMARY KEY (workspace_id, resource, k1, k2, k3))%W;"
    "CREATE TABLE rollup_specs (resource TEXT PRIMARY KEY, spec TEXT NOT NULL);",
    /* 5: the modules each workspace switched off (existing ones: none) */
    "ALTER TABLE workspaces ADD COLUMN disabled_modules TEXT NOT NULL DEFAULT '';",
    /* 6: the server's secret where every node must find it (PostgreSQL;
     * SQLite keeps its key in a file beside the database and leaves this
     * table empty): one row, its 32 bytes in hex */
    "CREATE TABLE server_secret (id INTEGER PRIMARY KEY, secret TEXT NOT NULL);",
    /* 7: the currency money defaults to in each workspace */
    "ALTER TABLE workspaces ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';",
    /* 8: the change feed: every event's place in its workspace's log, in
     * commit order (sql_event_insert), numbered from 1 for those already
     * stored; PostgreSQL's writers count in event_sequences. The index in
     * sequence order serves what events_ws did. */
    "ALTER TABLE events ADD COLUMN sequence %I;"
    "UPDATE events SET sequence = s.seq FROM (SELECT rid AS r, row_number() OVER "
    "  (PARTITION BY workspace_id ORDER BY rid) AS seq FROM events) AS s WHERE events.rid = s.r;"
    "CREATE UNIQUE INDEX events_ws_sequence ON events(workspace_id, sequence);"
    "DROP INDEX events_ws;"
    "CREATE TABLE event_sequences (workspace_id TEXT PRIMARY KEY, last %I NOT NULL)%W;"
    "INSERT INTO event_sequences (workspace_id, last) "
    "  SELECT workspace_id, max(sequence) FROM events GROUP BY workspace_id;",
};

static void expand(const sql_dialect *d, const char *s, buf *out)
{
    for (;;) {
        size_t n = strcspn(s, "%");
        buf_append(out, s, n);
        s += n;
        if (!*s) return;
        switch (s[1]) {
        case 'I': buf_puts(out, d->int64); break;
        case 'R': buf_puts(out, d->rowid); break;
        case 'X': buf_puts(out, d->index_rid); break;
        case 'W': buf_puts(out, d->without_rowid); break;
        default: buf_append(out, s, s[1] ? 2 : 1);
        }
        s += s[1] ? 2 : 1;
    }
}

int sql_migration_count(void)
{
    return (int)(sizeof migrations / sizeof migrations[0]);
}

void sql_migration(const sql_dialect *d, int version, buf *out)
{
    expand(d, migrations[version - 1], out);
}

void sql_migrations_table(const sql_dialect *d, buf *out)
{
    if (d->migrate_lock) buf_puts(out, d->migrate_lock);
    expand(d,
           "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
           "applied_at %I NOT NULL);",
           out);
}

void sql_migration_done(sql_stmt *q, int version, int64_t now_ms)
{
    put(q, "INSERT INTO schema_migrations VALUES (?1, ?2)");
    int_param(q, version);
    int_param(q, now_ms);
}

void sql_schema_version(sql_stmt *q)
{
    put(q, "SELECT coalesce(max(version), 0) FROM schema_migrations");
}

/* A field as the dialect folds it with `pair` when it ignores case. */
static void field_expr(const char *const pair[2], const res_field *f, const char *alias, buf *b)
{
    bool fold = sql_nocase(f);
    if (fold) buf_puts(b, pair[0]);
    buf_puts(b, alias);
    buf_puts(b, f->name);
    if (fold) buf_puts(b, pair[1]);
}

void sql_create_table(const sql_dialect *d, const res_def *r, buf *out)
{
    buf_printf(out,
               "CREATE TABLE IF NOT EXISTS %s (rid %s, id TEXT NOT NULL UNIQUE, "
               "workspace_id TEXT NOT NULL, created_at %s NOT NULL, updated_at %s NOT NULL",
               r->table, d->rowid, d->int64, d->int64);
    for (int i = 0; i < r->nfields; i++)
        buf_printf(out, ", %s %s", r->fields[i].name, sql_column_type(d, &r->fields[i]));
    buf_printf(out, ", custom_fields %s", d->json);
    if (d->search_doc) buf_printf(out, ", %s TEXT", d->search_doc);
    buf_puts(out, ");");
}

void sql_add_column(const sql_dialect *d, const res_def *r, const res_field *f, buf *out)
{
    buf_printf(out, "ALTER TABLE %s %s %s %s;", r->table, d->add_column, f->name,
               sql_column_type(d, f));
}

/* A spec whose every column is "=f" serves GROUP BY only, which needs no
 * rid: without it equal keys are one entry (PostgreSQL deduplicates them),
 * so a count by country over 1M contacts reads 7 MB of index instead of
 * 117 MB, which a busy shared-buffer pool had to read back each time. */
static bool index_groups(const char *spec)
{
    for (const char *p = spec; *p;) {
        if (*p != '=') return false;
        p += strcspn(p, ",");
        if (*p == ',') p++;
    }
    return true;
}

/* Appends ", a, b..." for a composite index spec "a,b": fields as filters
 * and sorts compare them, then rid, so a keyset page over the prefix is
 * an index range scan. */
static void index_cols(const sql_dialect *d, const res_def *r, const char *spec, buf *b)
{
    bool has_rid = index_groups(spec);
    for (const char *p = spec; *p;) {
        size_t n = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        /* "=f": the value as stored (GROUP BY f reads it in order). */
        bool raw = name[0] == '=';
        int i = res_field_index(r, name + raw);
        buf_puts(b, ", ");
        if (i >= 0 && !raw)
            field_expr(d->fold, &r->fields[i], "", b);
        else
            buf_puts(b, name + raw);
        /* Sorted lists put NULLs first going up: an index in that order
         * serves them without a sort. */
        if (i >= 0 && (r->fields[i].flags & RF_SORT)) buf_puts(b, d->nulls_low[0]);
        has_rid |= strcmp(name, "rid") == 0;
        p += n;
        if (*p == ',') p++;
    }
    if (!has_rid) buf_puts(b, d->index_rid);
}

/* A unique key's column that a row may leave NULL. */
static bool key_optional(const res_def *r, const char *name)
{
    int k = res_field_index(r, name);
    return k >= 0 && !(r->fields[k].flags & RF_REQUIRED);
}

void sql_create_indexes(const sql_dialect *d, const res_def *r, buf *out)
{
    buf_printf(out, "CREATE INDEX IF NOT EXISTS %1$s_ws ON %1$s(workspace_id%2$s);", r->table,
               d->index_rid);
    for (int i = 0; i < r->nfields; i++) {
        const res_field *f = &r->fields[i];
        if (!sql_indexed(f)) continue;
        /* Where NULLs sort apart, a sorted field's index puts them first,
         * as sorted lists do; it serves equality filters as well, so the
         * index in the default order (made by earlier versions) would
         * only cost every write. */
        if ((f->flags & RF_SORT) && *d->nulls_low[0]) {
            buf_printf(out, "CREATE INDEX IF NOT EXISTS %1$s_ws_%2$s_sort ON %1$s(workspace_id, ",
                       r->table, f->name);
            field_expr(d->fold, f, "", out);
            buf_printf(out, "%s%s);", d->nulls_low[0], d->index_rid);
            buf_printf(out, "DROP INDEX IF EXISTS %s_ws_%s;", r->table, f->name);
            continue;
        }
        /* An optional field's index leaves its NULLs out: an equality
         * filter never matches them (it implies IS NOT NULL, so both
         * planners still use the index), and a row without the value,
         * most rows for fields such as reversal_of_id, costs no insert in
         * it. Named apart, so the index of earlier versions goes. */
        bool sparse = !(f->flags & (RF_REQUIRED | RF_PARENT | RF_SORT)) && !f->dflt;
        buf_printf(out, "CREATE INDEX IF NOT EXISTS %1$s_%3$s_%2$s ON %1$s(workspace_id, ",
                   r->table, f->name, sparse ? "wn" : "ws");
        field_expr(d->fold, f, "", out);
        buf_printf(out, "%s)", d->index_rid);
        if (sparse) buf_printf(out, " WHERE %s IS NOT NULL", f->name);
        buf_printf(out, ";DROP INDEX IF EXISTS %1$s_%3$s_%2$s;", r->table, f->name,
                   sparse ? "ws" : "wn");
    }
    for (int k = 0; k < 4; k++) {
        /* A slot no longer declared goes, and so does one of the other
         * kind (a grouping index is named apart, as its columns differ):
         * every index costs each write. */
        bool groups = r->indexes[k] && index_groups(r->indexes[k]);
        if (!r->indexes[k] || groups) buf_printf(out, "DROP INDEX IF EXISTS %s_ix%d;", r->table, k);
        if (!r->indexes[k] || !groups)
            buf_printf(out, "DROP INDEX IF EXISTS %s_gx%d;", r->table, k);
        if (!r->indexes[k]) continue;
        buf_printf(out, "CREATE INDEX IF NOT EXISTS %1$s_%2$s%3$d ON %1$s(workspace_id", r->table,
                   groups ? "gx" : "ix", k);
        index_cols(d, r, r->indexes[k], out);
        buf_puts(out, ");");
    }
    if (r->unique[0]) {
        /* Rows with a NULL in the key never conflict (NULLs are distinct),
         * so a key with optional columns is kept for the rows that have
         * them all: a journal entry without a reference costs no insert
         * in it. Named apart, so the full index of earlier versions goes. */
        bool partial = false;
        for (int i = 0; r->unique[i]; i++)
            partial |= key_optional(r, r->unique[i]);
        buf_printf(out, "CREATE UNIQUE INDEX IF NOT EXISTS %1$s_%2$s ON %1$s(workspace_id",
                   r->table, partial ? "unique_wn" : "unique");
        for (int i = 0; r->unique[i]; i++)
            buf_printf(out, ", %s", r->unique[i]);
        buf_putc(out, ')');
        const char *sep = " WHERE ";
        for (int i = 0; r->unique[i]; i++)
            if (key_optional(r, r->unique[i])) {
                buf_printf(out, "%s%s IS NOT NULL", sep, r->unique[i]);
                sep = " AND ";
            }
        buf_printf(out, ";DROP INDEX IF EXISTS %s_%s;", r->table, partial ? "unique" : "unique_wn");
    }
}

void sql_search_def_get(sql_stmt *q, const char *name)
{
    put(q, "SELECT ddl FROM search_indexes WHERE table_name = ?1");
    text_param(q, name);
}

void sql_search_def_put(sql_stmt *q, const char *name, const char *def)
{
    put(q, "INSERT INTO search_indexes (table_name, ddl) VALUES (?1, ?2) "
           "ON CONFLICT (table_name) DO UPDATE SET ddl = excluded.ddl");
    text_param(q, name);
    text_param(q, def);
}

void sql_rollup_def_get(sql_stmt *q, const res_def *r)
{
    put(q, "SELECT spec FROM rollup_specs WHERE resource = ?1");
    text_param(q, r->name);
}

void sql_rollup_def_put(sql_stmt *q, const res_def *r, const char *def)
{
    put(q, "INSERT INTO rollup_specs (resource, spec) VALUES (?1, ?2) "
           "ON CONFLICT (resource) DO UPDATE SET spec = excluded.spec");
    text_param(q, r->name);
    text_param(q, def);
}

void sql_rollup_spec(const res_def *r, buf *out)
{
    for (int g = 0; g < 3 && r->rollup.group[g]; g++)
        buf_printf(out, "%s%s", g ? "," : "", r->rollup.group[g]);
    if (r->rollup.group[0] && r->rollup.sum) buf_printf(out, ":%s", r->rollup.sum);
}

/* --------------------------------------------------------------- records */

void sql_select(sql_stmt *q, buf *b, const res_def *r, const char *alias)
{
    static const char *const fixed[] = {"rid", "id", "created_at", "updated_at"};
    (void)q;
    buf_puts(b, "SELECT ");
    for (int i = 0; i < 4; i++) {
        if (i) buf_puts(b, ", ");
        buf_puts(b, alias);
        buf_puts(b, fixed[i]);
    }
    for (int i = 0; i < r->nfields; i++) {
        buf_puts(b, ", ");
        buf_puts(b, alias);
        buf_puts(b, r->fields[i].name);
    }
    buf_puts(b, ", ");
    buf_puts(b, alias);
    buf_puts(b, "custom_fields FROM ");
}

/* " WHERE id = ? AND workspace_id = ?": one record. */
static void where_id(sql_stmt *q, const char *ws, const char *id)
{
    buf_puts(&q->text, " WHERE id = ");
    sql_param(q, &q->text, sv_text(id));
    buf_puts(&q->text, " AND workspace_id = ");
    sql_param(q, &q->text, sv_text(ws));
}

void sql_rec_get(sql_stmt *q, const res_def *r, const char *ws, const char *id)
{
    sql_select(q, &q->text, r, "");
    buf_puts(&q->text, r->table);
    where_id(q, ws, id);
}

void sql_rec_exists(sql_stmt *q, const res_def *r, const char *ws, const char *id)
{
    buf_puts(&q->text, "SELECT 1 FROM ");
    buf_puts(&q->text, r->table);
    where_id(q, ws, id);
}

void sql_rec_delete(sql_stmt *q, const res_def *r, const char *ws, const char *id)
{
    buf_puts(&q->text, "DELETE FROM ");
    buf_puts(&q->text, r->table);
    where_id(q, ws, id);
}

/* The row's search document as a parameter value (in q's memory). */
static store_val doc_val(sql_stmt *q, const res_def *r, const char *ws, const store_val *vals)
{
    buf b;
    buf_init(&b, 1u << 24);
    sql_search_doc(r, ws, vals, &b);
    const char *s = arena_strndup(&q->mem, b.data ? b.data : "", b.len);
    buf_free(&b);
    return sv_text(s);
}

/* ", vector" (", column = vector" to set it) of the document in parameter
 * k, where the dialect derives one (only searchable resources have it). */
static void search_vector(sql_stmt *q, buf *b, int k, bool set)
{
    const char *const *v = q->d->search_vector;
    if (!v[0]) return;
    buf_puts(b, ", ");
    if (set) buf_printf(b, "%s = ", v[0]);
    buf_puts(b, v[1]);
    sql_ref(q, b, k);
    buf_puts(b, v[2]);
}

void sql_rec_insert(sql_stmt *q, const res_def *r, const char *ws, const res_row *row)
{
    buf *b = &q->text;
    buf_puts(b, "INSERT INTO ");
    buf_puts(b, r->table);
    buf_puts(b, " (id, workspace_id, created_at, updated_at");
    for (int i = 0; i < r->nfields; i++) {
        buf_puts(b, ", ");
        buf_puts(b, r->fields[i].name);
    }
    buf_puts(b, ", custom_fields");
    if (q->d->search_doc) {
        buf_puts(b, ", ");
        buf_puts(b, q->d->search_doc);
    }
    bool vector = q->d->search_vector[0] && res_has_search(r);
    if (vector) {
        buf_puts(b, ", ");
        buf_puts(b, q->d->search_vector[0]);
    }
    buf_puts(b, ") VALUES (");
    sql_param(q, b, sv_text(row->id));
    buf_puts(b, ", ");
    sql_param(q, b, sv_text(ws));
    buf_puts(b, ", ");
    sql_param(q, b, sv_int(row->created_ms));
    buf_puts(b, ", ");
    sql_param(q, b, sv_int(row->updated_ms));
    for (int i = 0; i < r->nfields; i++) {
        buf_puts(b, ", ");
        sql_param(q, b, row->vals[i]);
    }
    buf_puts(b, ", ");
    sql_param(q, b, sv_text(row->custom));
    if (q->d->search_doc) {
        buf_puts(b, ", ");
        int k = sql_param(q, b, res_has_search(r) ? doc_val(q, r, ws, row->vals) : sv_text(NULL));
        if (vector) search_vector(q, b, k, false);
    }
    buf_putc(b, ')');
    if (q->d->returning_rid) buf_puts(b, " RETURNING rid");
}

void sql_rec_update(sql_stmt *q, const res_def *r, const char *ws, const res_row *row,
                    const bool *set, bool set_custom)
{
    buf *b = &q->text;
    buf_puts(b, "UPDATE ");
    buf_puts(b, r->table);
    buf_puts(b, " SET updated_at = ");
    sql_param(q, b, sv_int(row->updated_ms));
    bool searched = false;
    for (int i = 0; i < r->nfields; i++) {
        if (!set[i]) continue;
        buf_puts(b, ", ");
        buf_puts(b, r->fields[i].name);
        buf_puts(b, " = ");
        sql_param(q, b, row->vals[i]);
        searched |= (r->fields[i].flags & RF_SEARCH) != 0;
    }
    if (set_custom) {
        buf_puts(b, ", custom_fields = ");
        sql_param(q, b, sv_text(row->custom));
    }
    /* row carries every field, so the document can be rebuilt whole. */
    if (searched && q->d->search_doc) {
        buf_puts(b, ", ");
        buf_puts(b, q->d->search_doc);
        buf_puts(b, " = ");
        int k = sql_param(q, b, doc_val(q, r, ws, row->vals));
        search_vector(q, b, k, true);
    }
    where_id(q, ws, row->id);
}

/* Appends `pair[0] ?k pair[1]`: a value folded as the dialect does. */
static void folded_param(sql_stmt *q, buf *b, const char *const pair[2], bool fold, store_val v)
{
    if (fold) buf_puts(b, pair[0]);
    sql_param(q, b, v);
    if (fold) buf_puts(b, pair[1]);
}

void sql_rec_find_by(sql_stmt *q, const res_def *r, const char *ws, int field, const char *value,
                     bool bulk)
{
    const sql_dialect *d = q->d;
    buf *b = &q->text;
    sql_select(q, b, r, "");
    buf_puts(b, r->table);
    buf_puts(b, " WHERE workspace_id = ");
    sql_param(q, b, sv_text(ws));
    /* Natural keys match ignoring case whatever the field's type. */
    buf_printf(b, " AND %s%s%s = ", d->fold_col[0], r->fields[field].name, d->fold_col[1]);
    folded_param(q, b, d->fold_val, true, sv_text(value));
    buf_puts(b, " ORDER BY rid LIMIT 1");
    /* A generic plan made while the table was empty or small can walk the
     * workspace in rid order (its index costs the same as the key's when
     * nothing is known of the rows), and keeps doing so as the table
     * grows until an ANALYZE (autovacuum's, every 10% of growth) replans
     * it. Within one transaction nothing replans it: an import of 10,000
     * new contacts took 63 s so. An import's lookups are planned for their
     * values on every call instead; the others keep the generic plan, as
     * planning each one cost journal entries (two account lookups each)
     * a third of their rate on PostgreSQL. */
    q->plan_per_call = bulk;
}

/* One filter's condition; ws_param is the workspace's parameter. */
static void filter_sql(sql_stmt *q, buf *b, const res_def *r, const store_filter *fl,
                       const char *alias, int ws_param)
{
    const sql_dialect *d = q->d;
    const res_field *f = &r->fields[fl->field];
    buf_puts(b, " AND ");
    switch (fl->op) {
    case SF_LT:
    case SF_GE:
        buf_puts(b, alias);
        buf_puts(b, f->name);
        buf_puts(b, fl->op == SF_LT ? " < " : " >= ");
        sql_param(q, b, fl->v);
        break;
    case SF_REL: {
        /* How many records match the value decides the best plan. */
        const res_field *rf = &fl->rel->fields[fl->rel_field];
        q->plan_per_call = true;
        buf_puts(b, alias);
        buf_puts(b, f->name);
        buf_printf(b, " IN (SELECT id FROM %s WHERE workspace_id = ", fl->rel->table);
        sql_ref(q, b, ws_param);
        buf_puts(b, " AND ");
        field_expr(d->fold_col, rf, "", b);
        buf_puts(b, " = ");
        folded_param(q, b, d->fold_val, sql_nocase(rf), fl->v);
        buf_putc(b, ')');
        break;
    }
    case SF_IN:
        /* Exact values (ids): compared as stored, so an index serves it. */
        buf_puts(b, alias);
        buf_puts(b, f->name);
        buf_puts(b, " IN (");
        for (int k = 0; k < fl->nin; k++) {
            if (k) buf_puts(b, ", ");
            sql_param(q, b, fl->in[k]);
        }
        buf_putc(b, ')');
        break;
    default:
        field_expr(d->fold_col, f, alias, b);
        buf_puts(b, " = ");
        folded_param(q, b, d->fold_val, sql_nocase(f), fl->v);
    }
}

void sql_list_conds(sql_stmt *q, buf *b, const res_def *r, const store_query *query,
                    const char *alias, int ws_param)
{
    for (int i = 0; i < query->nfilters; i++)
        filter_sql(q, b, r, &query->filters[i], alias, ws_param);
    if (query->cf_key) q->d->custom_eq(q, b, alias, query->cf_key, query->cf_value);
    if (query->link_field >= 0) {
        buf_puts(b, " AND (");
        buf_puts(b, alias);
        buf_puts(b, r->fields[query->link_field].name);
        buf_puts(b, " = ");
        int v = sql_param(q, b, sv_text(query->link_value));
        if (query->link_via) {
            const res_def *via = query->link_via;
            buf_printf(b, " OR %sid IN (SELECT %s FROM %s WHERE workspace_id = ", alias,
                       via->fields[query->link_via_target].name, via->table);
            sql_ref(q, b, ws_param);
            buf_printf(b, " AND %s = ", via->fields[query->link_via_match].name);
            sql_ref(q, b, v);
            buf_putc(b, ')');
        }
        buf_putc(b, ')');
    }
}

void sql_limit(sql_stmt *q, buf *b, const store_query *query)
{
    buf_puts(b, " LIMIT ");
    sql_param(q, b, sv_int(query->limit + 1));
}

/* `(SELECT column FROM table WHERE the record after_id)`: an uncorrelated
 * subquery, evaluated once and usable as an index bound like a value. */
static void after_record(sql_stmt *q, buf *out, const res_def *r, const char *column, int wsp,
                         int idp)
{
    buf_printf(out, "(SELECT k.%s FROM %s k WHERE k.workspace_id = ", column, r->table);
    sql_ref(q, out, wsp);
    buf_puts(out, " AND k.id = ");
    sql_ref(q, out, idp);
    buf_putc(out, ')');
}

/* The keyset condition of a sorted list: rows after (value, rid) in the
 * list's order, NULLs lowest; or after the record query->after_id. */
static void keyset(sql_stmt *q, buf *b, const res_def *r, const store_query *query, int wsp)
{
    const sql_dialect *d = q->d;
    const res_field *sf = query->sort_by;
    const char *c = sf->name;
    bool up = query->ascending;
    if (!query->after_id && query->after_val.kind == SV_NULL) {
        if (up)
            buf_printf(b, " AND ((%1$s IS NULL AND rid > ", c);
        else
            buf_printf(b, " AND %s IS NULL AND rid < ", c);
        sql_param(q, b, sv_int(query->after_rid));
        if (up) buf_printf(b, ") OR %s IS NOT NULL)", c);
        return;
    }
    buf x, v, rid;
    buf_init(&x, 256);
    buf_init(&v, 1024);
    buf_init(&rid, 1024);
    field_expr(d->fold_col, sf, "", &x);
    if (query->after_id) {
        int idp = sql_add(q, sv_text(query->after_id));
        /* Folded as a value is, so ties compare as the list orders them. */
        bool fold = sql_nocase(sf);
        if (fold) buf_puts(&v, d->fold_val[0]);
        after_record(q, &v, r, sf->name, wsp, idp);
        if (fold) buf_puts(&v, d->fold_val[1]);
        after_record(q, &rid, r, "rid", wsp, idp);
    } else {
        folded_param(q, &v, d->fold_val, sql_nocase(sf), query->after_val);
        sql_param(q, &rid, sv_int(query->after_rid));
    }
    /* x >= v bounds an index range scan; the OR alone is only a filter,
     * and a page deep in a stage read every row before it (0.76 ms for a
     * deal move's neighbour on PostgreSQL, 10,000 deals on a board). */
    const char *xs = buf_cstr(&x), *vs = buf_cstr(&v), *op = up ? ">" : "<";
    buf_printf(b, " AND ((%1$s %3$s= %2$s AND (%1$s %3$s %2$s OR rid %3$s %4$s))", xs, vs, op,
               buf_cstr(&rid));
    if (!up) buf_printf(b, " OR %s IS NULL", c);
    buf_putc(b, ')');
    buf_free(&x);
    buf_free(&v);
    buf_free(&rid);
}

bool sql_list(sql_stmt *q, const res_def *r, const char *ws, const store_query *query)
{
    if (query->fts) return q->d->search(q, r, ws, query);
    const sql_dialect *d = q->d;
    buf *b = &q->text;
    sql_select(q, b, r, "");
    buf_puts(b, r->table);
    buf_puts(b, " WHERE workspace_id = ");
    int wsp = sql_param(q, b, sv_text(ws));
    const res_field *sf = query->sort_by;
    bool up = query->ascending;
    if (query->after_rid > 0 && !sf) {
        buf_puts(b, up ? " AND rid > " : " AND rid < ");
        sql_param(q, b, sv_int(query->after_rid));
    } else if (query->after_rid > 0 || query->after_id) {
        assert(sf && !(query->after_id && (query->after_rid > 0 || query->fts)));
        keyset(q, b, r, query, wsp);
    }
    sql_list_conds(q, b, r, query, "", wsp);
    const char *dir = up ? " ASC" : " DESC";
    buf_puts(b, " ORDER BY ");
    if (sf) {
        field_expr(d->fold, sf, "", b);
        buf_puts(b, dir);
        buf_puts(b, d->nulls_low[up ? 0 : 1]);
        buf_puts(b, ", ");
    }
    buf_puts(b, "rid");
    buf_puts(b, dir);
    sql_limit(q, b, query);
    return true;
}

bool sql_read(sql_stmt *q, const char *ws, const store_read *rd)
{
    if (rd->id) {
        sql_rec_get(q, rd->r, ws, rd->id);
        return true;
    }
    if (rd->key) {
        sql_rec_find_by(q, rd->r, ws, rd->key_field, rd->key, false);
        return true;
    }
    return sql_list(q, rd->r, ws, rd->q);
}

/* Group keys come back in byte order on every backend: text compared as
 * bytes, numbers as numbers. */
static bool bytewise_key(const res_field *f)
{
    switch (f->type) {
    case FT_INT:
    case FT_MONEY:
    case FT_BOOL:
    case FT_DATETIME:
    case FT_NUMBER: return false;
    default: return true;
    }
}

void sql_aggregate(sql_stmt *q, const res_def *r, const char *ws, const store_agg *agg)
{
    buf *b = &q->text;
    buf_puts(b, "SELECT ");
    for (int g = 0; g < 2; g++)
        if (agg->group[g] >= 0)
            buf_printf(b, "%s, ", r->fields[agg->group[g]].name);
        else
            buf_puts(b, "NULL, ");
    if (agg->sum >= 0)
        buf_printf(b, "count(*), coalesce(sum(%s), 0)", r->fields[agg->sum].name);
    else
        buf_puts(b, "count(*), 0");
    buf_printf(b, " FROM %s WHERE workspace_id = ", r->table);
    int wsp = sql_param(q, b, sv_text(ws));
    for (int i = 0; i < agg->nfilters; i++)
        filter_sql(q, b, r, &agg->filters[i], "", wsp);
    for (int g = 0, k = 0; g < 2; g++)
        if (agg->group[g] >= 0)
            buf_printf(b, "%s %s", k++ ? "," : " GROUP BY", r->fields[agg->group[g]].name);
    for (int g = 0, k = 0; g < 2; g++) {
        if (agg->group[g] < 0) continue;
        const res_field *f = &r->fields[agg->group[g]];
        buf_printf(b, "%s %s%s%s", k++ ? "," : " ORDER BY", f->name,
                   bytewise_key(f) ? q->d->bytewise : "", q->d->nulls_low[0]);
    }
    /* Ranges (closed in the last 90 days) and rare groups: planned for
     * the values at hand. */
    q->plan_per_call = true;
}

/* ------------------------------------------------------------ BI queries */

/* A BI column's SQL name: a declared field's, or the record's own. */
static const char *bi_column(const res_def *r, int field)
{
    switch (field) {
    case STORE_BI_ID: return "id";
    case STORE_BI_CREATED: return "created_at";
    case STORE_BI_UPDATED: return "updated_at";
    default: assert(field >= 0 && field < r->nfields); return r->fields[field].name;
    }
}

/* Whether a BI column's text is folded where it is compared (names,
 * emails: as list filters compare them). */
static bool bi_nocase(const res_def *r, int field)
{
    return field >= 0 && sql_nocase(&r->fields[field]);
}

/* Text ordered byte by byte on every backend. */
static bool bi_bytewise(const res_def *r, int field)
{
    return field == STORE_BI_ID || (field >= 0 && bytewise_key(&r->fields[field]));
}

static void bi_cmp(sql_stmt *q, buf *b, const res_def *r, const store_bi_filter *f, const char *op)
{
    const sql_dialect *d = q->d;
    bool fold = bi_nocase(r, f->field);
    if (fold) buf_puts(b, d->fold_col[0]);
    buf_puts(b, bi_column(r, f->field));
    if (fold) buf_puts(b, d->fold_col[1]);
    buf_puts(b, op);
    folded_param(q, b, d->fold_val, fold, f->v);
}

static void bi_filter(sql_stmt *q, buf *b, const res_def *r, const store_bi_filter *f)
{
    const sql_dialect *d = q->d;
    const char *col = bi_column(r, f->field);
    buf_puts(b, " AND ");
    switch (f->op) {
    case BQ_EQ: bi_cmp(q, b, r, f, " = "); break;
    case BQ_NEQ:
        buf_printf(b, "(%s IS NULL OR ", col);
        bi_cmp(q, b, r, f, " <> ");
        buf_putc(b, ')');
        break;
    case BQ_GT: bi_cmp(q, b, r, f, " > "); break;
    case BQ_GTE: bi_cmp(q, b, r, f, " >= "); break;
    case BQ_LT: bi_cmp(q, b, r, f, " < "); break;
    case BQ_LTE: bi_cmp(q, b, r, f, " <= "); break;
    case BQ_IN: {
        /* Folded values as equalities: SQLite's IN compares by the left
         * side's collation only. */
        bool fold = bi_nocase(r, f->field);
        buf_puts(b, fold ? "(" : col);
        if (!fold) buf_puts(b, " IN (");
        for (int k = 0; k < f->nin; k++) {
            store_bi_filter one = *f;
            one.v = f->in[k];
            if (k) buf_puts(b, fold ? " OR " : ", ");
            if (fold)
                bi_cmp(q, b, r, &one, " = ");
            else
                sql_param(q, b, f->in[k]);
        }
        buf_putc(b, ')');
        break;
    }
    case BQ_CONTAINS:
        /* lower() on both sides: the same folding on both backends
         * (SQLite's folds ASCII only, as its NOCASE does). */
        buf_printf(b, "%s(lower(%s), lower(", d->instr, col);
        sql_param(q, b, f->v);
        buf_puts(b, ")) > 0");
        break;
    case BQ_IS_NULL: buf_printf(b, "%s IS NULL", col); break;
    case BQ_NOT_NULL: buf_printf(b, "%s IS NOT NULL", col); break;
    }
}

static void bi_select(sql_stmt *q, buf *b, const res_def *r, const store_bi_col *c)
{
    const sql_dialect *d = q->d;
    if (c->fn == BA_COUNT && c->field == STORE_BI_COUNT) {
        buf_puts(b, "count(*)");
        return;
    }
    const char *col = bi_column(r, c->field);
    switch (c->fn) {
    case BA_NONE: buf_puts(b, col); break;
    case BA_COUNT: buf_printf(b, "count(%s)", col); break;
    /* An empty group sums to 0, as the dashboard's totals do. */
    case BA_SUM: buf_printf(b, "coalesce(sum(%s), 0)", col); break;
    case BA_AVG:
        if (c->round)
            buf_printf(b, "CAST(round(avg(%s)) AS %s)", col, d->int64);
        else
            buf_printf(b, "CAST(avg(%s) AS %s)", col, d->real);
        break;
    case BA_MIN: buf_printf(b, "min(%s)", col); break;
    case BA_MAX: buf_printf(b, "max(%s)", col); break;
    }
}

/* One ORDER BY term for column k: an aggregate by its alias, a field by
 * itself, text byte by byte, NULLs lowest. */
static void bi_order(sql_stmt *q, buf *b, const res_def *r, const store_bi_query *bq, int k,
                     bool desc)
{
    const sql_dialect *d = q->d;
    const store_bi_col *c = &bq->cols[k];
    if (c->fn != BA_NONE) {
        buf_printf(b, "c%d", k);
    } else {
        buf_puts(b, bi_column(r, c->field));
        if (bi_bytewise(r, c->field)) buf_puts(b, d->bytewise);
    }
    buf_puts(b, desc ? " DESC" : " ASC");
    buf_puts(b, d->nulls_low[desc ? 1 : 0]);
}

void sql_bi_query(sql_stmt *q, const res_def *r, const char *ws, const store_bi_query *bq)
{
    buf *b = &q->text;
    buf_puts(b, "SELECT ");
    for (int k = 0; k < bq->ncols; k++) {
        if (k) buf_puts(b, ", ");
        bi_select(q, b, r, &bq->cols[k]);
        buf_printf(b, " AS c%d", k);
    }
    buf_printf(b, " FROM %s WHERE workspace_id = ", r->table);
    sql_param(q, b, sv_text(ws));
    for (int i = 0; i < bq->nfilters; i++)
        bi_filter(q, b, r, &bq->filters[i]);
    bool keys = false;
    if (bq->grouped)
        for (int k = 0; k < bq->ncols; k++) {
            if (bq->cols[k].fn != BA_NONE) continue;
            buf_puts(b, keys ? ", " : " GROUP BY ");
            buf_puts(b, bi_column(r, bq->cols[k].field));
            keys = true;
        }
    bool any = false;
    for (int i = 0; i < bq->nsort; i++) {
        buf_puts(b, any ? ", " : " ORDER BY ");
        bi_order(q, b, r, bq, bq->sort[i], bq->desc[i]);
        any = true;
    }
    /* Ties (and no sort) in a stable order: by the group keys, or by
     * insertion. */
    if (bq->grouped) {
        for (int k = 0; k < bq->ncols; k++) {
            if (bq->cols[k].fn != BA_NONE) continue;
            buf_puts(b, any ? ", " : " ORDER BY ");
            bi_order(q, b, r, bq, k, false);
            any = true;
        }
    } else {
        buf_puts(b, any ? ", rid" : " ORDER BY rid");
    }
    buf_puts(b, " LIMIT ");
    sql_param(q, b, sv_int(bq->limit + 1));
    /* Filters' selectivity decides the plan. */
    q->plan_per_call = true;
}

static bool in_unique(const res_def *r, const char *f)
{
    for (int i = 0; r->unique[i]; i++)
        if (strcmp(r->unique[i], f) == 0) return true;
    return false;
}

/* " WHERE workspace_id = ? AND <field> = ?[ AND <type> = ?]" */
static void repoint_where(sql_stmt *q, const res_def *r, int field, const char *ws,
                          const char *from, int type_field, const char *type_value)
{
    buf_puts(&q->text, " WHERE workspace_id = ");
    sql_param(q, &q->text, sv_text(ws));
    buf_printf(&q->text, " AND %s = ", r->fields[field].name);
    sql_param(q, &q->text, sv_text(from));
    if (type_field >= 0) {
        buf_printf(&q->text, " AND %s = ", r->fields[type_field].name);
        sql_param(q, &q->text, sv_text(type_value));
    }
}

bool sql_repoint_dupes(sql_stmt *q, const res_def *r, int field, const char *ws, const char *from,
                       const char *to, int type_field, const char *type_value)
{
    const char *f = r->fields[field].name;
    if (!in_unique(r, f)) return false;
    buf_printf(&q->text, "DELETE FROM %s", r->table);
    repoint_where(q, r, field, ws, from, type_field, type_value);
    buf_printf(&q->text,
               " AND EXISTS (SELECT 1 FROM %1$s t2 WHERE t2.workspace_id = %1$s.workspace_id "
               "AND t2.%2$s = ",
               r->table, f);
    sql_param(q, &q->text, sv_text(to));
    for (int i = 0; r->unique[i]; i++)
        if (strcmp(r->unique[i], f) != 0)
            buf_printf(&q->text, " AND t2.%1$s = %2$s.%1$s", r->unique[i], r->table);
    buf_putc(&q->text, ')');
    return true;
}

void sql_repoint(sql_stmt *q, const res_def *r, int field, const char *ws, const char *from,
                 const char *to, int type_field, const char *type_value)
{
    const char *f = r->fields[field].name;
    buf_printf(&q->text, "UPDATE %s SET %s = ", r->table, f);
    if (to)
        sql_param(q, &q->text, sv_text(to));
    else if (type_field >= 0)
        buf_printf(&q->text, "NULL, %s = NULL", r->fields[type_field].name);
    else
        buf_puts(&q->text, "NULL");
    repoint_where(q, r, field, ws, from, type_field, type_value);
}

/* --------------------------------------------------------------- rollups */

/* Appends a condition true when a + d fits in 64 bits, written so that no
 * step of it can leave them: d's sign picks the bound it is taken from.
 * (Past the bounds SQLite turns an integer into a REAL and PostgreSQL
 * raises an error.) */
static void sum_fits(buf *b, const char *a, const char *d)
{
    buf_printf(b,
               "CASE WHEN %2$s >= 0 THEN %1$s <= 9223372036854775807 - %2$s "
               "ELSE %1$s >= -9223372036854775807 - 1 - %2$s END",
               a, d);
}

/* sum_fits(a, d) as a literal, for constant statements: the hottest of
 * them (every rollup change) is then built without printf. */
#define SUM_FITS(a, d)                                                                             \
    "CASE WHEN " d " >= 0 THEN " a " <= 9223372036854775807 - " d " ELSE " a                       \
    " >= -9223372036854775807 - 1 - " d " END"

/* The text a group key is kept as: '' for NULL or a level not used. */
static const char *rollup_key(const res_def *r, const store_val *keys, int g)
{
    return r->rollup.group[g] && keys[g].kind == SV_TEXT ? keys[g].s : "";
}

/* A group's count and total change only when both stay in 64 bits: the
 * upsert's WHERE leaves the row alone otherwise, and the statement
 * changes no row (STORE_RANGE). */
void sql_rollup_add(sql_stmt *q, const res_def *r, const char *ws, const store_val *keys,
                    int64_t dcount, int64_t dsum)
{
    put(q, "INSERT INTO rollups AS r (workspace_id, resource, k1, k2, k3, n, total) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (workspace_id, resource, k1, k2, k3) "
           "DO UPDATE SET n = r.n + excluded.n, total = r.total + excluded.total "
           "WHERE " SUM_FITS("r.n", "excluded.n") " AND " SUM_FITS("r.total", "excluded.total"));
    text_param(q, ws);
    text_param(q, r->name);
    for (int g = 0; g < 3; g++)
        text_param(q, rollup_key(r, keys, g));
    int_param(q, dcount);
    int_param(q, dsum);
}

/* "CAST(?k AS type)": a parameter typed where its use does not say. */
static void cast_ref(sql_stmt *q, buf *b, int k, const char *type)
{
    buf_puts(b, "CAST(");
    sql_ref(q, b, k);
    buf_printf(b, " AS %s)", type);
}

/* Appends "NOT (o.n + ?n fits AND o.total + ?total fits)" for the
 * parameters n and n + 1. */
static void group_leaves_range(sql_stmt *q, buf *b, int n)
{
    buf cn, ct;
    buf_init(&cn, 64);
    buf_init(&ct, 64);
    cast_ref(q, &cn, n, q->d->int64);
    cast_ref(q, &ct, n + 1, q->d->int64);
    buf_puts(b, "NOT (");
    sum_fits(b, "o.n", buf_cstr(&cn));
    buf_puts(b, " AND ");
    sum_fits(b, "o.total", buf_cstr(&ct));
    buf_putc(b, ')');
    buf_free(&cn);
    buf_free(&ct);
}

/* n groups in one upsert of n rows, inserted only when NOT EXISTS finds
 * none of them that would leave 64 bits (as sql_rollup_move's two). Each
 * group's condition names the whole primary key, so each is one probe of
 * it. */
void sql_rollup_add_many(sql_stmt *q, const char *ws, const store_rollup_delta *d, int n)
{
    const char *i64 = q->d->int64;
    buf *b = &q->text;
    put(q, "INSERT INTO rollups AS r (workspace_id, resource, k1, k2, k3, n, total) "
           "SELECT ?1, v.column1, v.column2, v.column3, v.column4, v.column5, v.column6 "
           "FROM (VALUES ");
    text_param(q, ws);
    /* Parameters of row i: resource, keys, count and sum from 2 + 6i. */
    for (int i = 0; i < n; i++) {
        buf_puts(b, i ? ", (" : "(");
        for (int g = 0; g < 6; g++) {
            if (g) buf_puts(b, ", ");
            cast_ref(q, b, 2 + 6 * i + g, g < 4 ? "TEXT" : i64);
        }
        buf_putc(b, ')');
        text_param(q, d[i].r->name);
        for (int g = 0; g < 3; g++)
            text_param(q, rollup_key(d[i].r, d[i].keys, g));
        int_param(q, d[i].dcount);
        int_param(q, d[i].dsum);
    }
    buf_puts(b, ") AS v WHERE NOT EXISTS (SELECT 1 FROM rollups o WHERE ");
    for (int i = 0; i < n; i++) {
        int k = 2 + 6 * i;
        buf_puts(b, i ? " OR (o.workspace_id = " : "(o.workspace_id = ");
        sql_ref(q, b, 1);
        static const char *const col[] = {
            " AND o.resource = ", " AND o.k1 = ", " AND o.k2 = ", " AND o.k3 = "};
        for (int g = 0; g < 4; g++) {
            buf_puts(b, col[g]);
            sql_ref(q, b, k + g);
        }
        buf_puts(b, " AND ");
        group_leaves_range(q, b, k + 4);
        buf_putc(b, ')');
    }
    put(q, ") ON CONFLICT (workspace_id, resource, k1, k2, k3) "
           "DO UPDATE SET n = r.n + excluded.n, total = r.total + excluded.total");
}

/* Two groups in one upsert of two rows: the row leaving (-1, -from_sum)
 * and the row arriving (+1, +to_sum). Both change or neither: the rows
 * are inserted only when NOT EXISTS finds no group of the two that would
 * leave 64 bits, checked against the groups as they were (a condition on
 * no row, evaluated once). The update itself is not guarded: where the
 * check let it through it fits, and should another node change a group
 * between the check and the update, PostgreSQL's own overflow error (a
 * STORE_RANGE) fails the statement whole rather than one row of it. One
 * group is one row (an upsert cannot change a row twice): its sum moves by
 * the difference. */
int sql_rollup_move(sql_stmt *q, const res_def *r, const char *ws, const store_val *from_keys,
                    int64_t from_sum, const store_val *to_keys, int64_t to_sum, store_err *e)
{
    bool same = true;
    for (int g = 0; g < 3; g++)
        same = same && strcmp(rollup_key(r, from_keys, g), rollup_key(r, to_keys, g)) == 0;
    int64_t d;
    if (same ? __builtin_sub_overflow(to_sum, from_sum, &d)
             : __builtin_sub_overflow((int64_t)0, from_sum, &d))
        return store_fail(e, STORE_RANGE, STORE_RANGE_FMT, r->name);
    if (same && d == 0) return 0;
    if (same) {
        sql_rollup_add(q, r, ws, to_keys, 0, d);
        return 1;
    }
    const char *i64 = q->d->int64;
    buf *b = &q->text;
    put(q, "INSERT INTO rollups AS r (workspace_id, resource, k1, k2, k3, n, total) "
           "SELECT ?1, ?2, v.column1, v.column2, v.column3, v.column4, v.column5 FROM (VALUES ");
    text_param(q, ws);
    text_param(q, r->name);
    /* Parameters of row i: its keys from 3 + 5i, then its count and sum. */
    for (int i = 0; i < 2; i++) {
        const store_val *keys = i ? to_keys : from_keys;
        buf_puts(b, i ? ", (" : "(");
        for (int g = 0; g < 5; g++) {
            if (g) buf_puts(b, ", ");
            cast_ref(q, b, 3 + 5 * i + g, g < 3 ? "TEXT" : i64);
        }
        buf_putc(b, ')');
        for (int g = 0; g < 3; g++)
            text_param(q, rollup_key(r, keys, g));
        int_param(q, i ? 1 : -1);
        int_param(q, i ? to_sum : d);
    }
    put(q, ") AS v WHERE NOT EXISTS (SELECT 1 FROM rollups o WHERE o.workspace_id = ?1 "
           "AND o.resource = ?2 AND (");
    buf n, total;
    buf_init(&n, 64);
    buf_init(&total, 64);
    for (int i = 0; i < 2; i++) {
        int k = 3 + 5 * i;
        buf_reset(&n);
        buf_reset(&total);
        cast_ref(q, &n, k + 3, i64);
        cast_ref(q, &total, k + 4, i64);
        buf_puts(b, i ? " OR (o.k1 = " : "(o.k1 = ");
        sql_ref(q, b, k);
        buf_puts(b, " AND o.k2 = ");
        sql_ref(q, b, k + 1);
        buf_puts(b, " AND o.k3 = ");
        sql_ref(q, b, k + 2);
        buf_puts(b, " AND NOT (");
        sum_fits(b, "o.n", buf_cstr(&n));
        buf_puts(b, " AND ");
        sum_fits(b, "o.total", buf_cstr(&total));
        buf_puts(b, "))");
    }
    buf_free(&n);
    buf_free(&total);
    put(q, ")) ON CONFLICT (workspace_id, resource, k1, k2, k3) "
           "DO UPDATE SET n = r.n + excluded.n, total = r.total + excluded.total");
    return 1;
}

/* The collation comparing a rollup's last key with a day: days order
 * alike under every collation (fixed-width digits), and compared in the
 * column's own the comparison can use the key's index. */
static const char *last_key_by(const sql_stmt *q, const res_def *r, int last)
{
    int f = res_field_index(r, r->rollup.group[last]);
    return f >= 0 && r->fields[f].type == FT_DATE ? "" : q->d->bytewise;
}

/* Folded up to `upto` from the second rollup (the same groups without the
 * last key: every day), less the groups after upto: one range of the
 * primary key per group, where folding the groups up to it reads them
 * all. Differences are exact or out of range: a REAL on SQLite, an
 * overflow error on PostgreSQL, never a cast that saturates. */
static void rollup_list_less_after(sql_stmt *q, const res_def *r, int last)
{
    const char *by = q->d->bytewise, *i64 = q->d->int64;
    buf *b = &q->text;
    buf_puts(b, "SELECT ");
    for (int g = 0; g < 3; g++)
        buf_printf(b, g < last ? "t.k%d, " : "'', ", g + 1);
    buf_printf(b,
               "t.n - CAST(coalesce(sum(d.n), 0) AS %1$s), "
               "t.total - CAST(coalesce(sum(d.total), 0) AS %1$s) "
               "FROM rollups t LEFT JOIN rollups d ON d.workspace_id = t.workspace_id",
               i64);
    put(q, " AND d.resource = ?2");
    for (int g = 0; g < last; g++)
        buf_printf(b, " AND d.k%1$d = t.k%1$d", g + 1);
    buf_printf(b, " AND d.k%d%s > ", last + 1, last_key_by(q, r, last));
    put(q, "?6 AND d.n <> 0 WHERE t.workspace_id = ?1 AND t.resource = ?7");
    /* Every parameter appears (PostgreSQL types each from its use); from
     * the last key on they are NULL (see the caller). */
    for (int g = 0; g < 3; g++) {
        buf_puts(b, " AND (CAST(");
        sql_ref(q, b, 3 + g);
        buf_puts(b, " AS TEXT) IS NULL");
        if (g < last) {
            buf_printf(b, " OR t.k%d = ", g + 1);
            sql_ref(q, b, 3 + g);
        }
        buf_putc(b, ')');
    }
    buf_puts(b, " AND t.n <> 0 GROUP BY ");
    for (int g = 0; g < last; g++)
        buf_printf(b, "t.k%d, ", g + 1);
    buf_puts(b, "t.n, t.total HAVING t.n - coalesce(sum(d.n), 0) <> 0 ORDER BY ");
    for (int g = 0; g < last; g++)
        buf_printf(b, "%st.k%d%s", g ? ", " : "", g + 1, by);
}

void sql_rollup_list(sql_stmt *q, const res_def *r, const char *ws, const char *const *match,
                     const char *upto)
{
    const char *by = q->d->bytewise;
    int last = 0;
    while (last < 2 && r->rollup.group[last + 1])
        last++;
    bool less_after = upto && res_rollup2_folds(r);
    for (int g = last; g < 3 && less_after && match; g++)
        less_after = !match[g];
    buf *b = &q->text;
    if (less_after) {
        rollup_list_less_after(q, r, last);
    } else if (!upto) {
        put(q, "SELECT k1, k2, k3, n, total");
    } else {
        /* Folded over the last key: the sums of every group up to it,
         * exact or an overflow error (a STORE_RANGE) on both backends. */
        buf_puts(b, "SELECT ");
        for (int g = 0; g < 3; g++)
            buf_printf(b, g == last ? "'', " : "k%d, ", g + 1);
        buf_printf(b, "CAST(sum(n) AS %1$s), CAST(sum(total) AS %1$s)", q->d->int64);
    }
    if (less_after) {
        /* built whole above */
    } else if (upto) {
        put(q,
            " FROM rollups WHERE workspace_id = ?1 AND resource = ?2 "
            "AND (CAST(?3 AS TEXT) IS NULL OR k1 = ?3) AND (CAST(?4 AS TEXT) IS NULL OR k2 = ?4) "
            "AND (CAST(?5 AS TEXT) IS NULL OR k3 = ?5) AND n <> 0");
        buf_printf(b, " AND k%d%s <= ", last + 1, last_key_by(q, r, last));
        put(q, "?6 GROUP BY ");
        for (int g = 0, k = 0; g < 3; g++)
            if (g != last) buf_printf(b, "%sk%d", k++ ? ", " : "", g + 1);
        buf_puts(b, " HAVING sum(n) <> 0 ORDER BY ");
        for (int g = 0, k = 0; g < 3; g++)
            if (g != last) buf_printf(b, "%sk%d%s", k++ ? ", " : "", g + 1, by);
    } else {
        put(q,
            " FROM rollups WHERE workspace_id = ?1 AND resource = ?2 "
            "AND (CAST(?3 AS TEXT) IS NULL OR k1 = ?3) AND (CAST(?4 AS TEXT) IS NULL OR k2 = ?4) "
            "AND (CAST(?5 AS TEXT) IS NULL OR k3 = ?5) AND n <> 0");
        buf_printf(b, " ORDER BY k1%1$s, k2%1$s, k3%1$s", by);
    }
    text_param(q, ws);
    text_param(q, r->name);
    for (int g = 0; g < 3; g++)
        text_param(q, match ? match[g] : NULL);
    if (upto) text_param(q, upto);
    if (less_after) text_param(q, r->rollup2.as);
}

void sql_rollup_clear(sql_stmt *q, const res_def *r)
{
    put(q, "DELETE FROM rollups WHERE resource = ?1");
    text_param(q, r->name);
}

bool sql_rollup_fill(sql_stmt *q, const res_def *r)
{
    if (!r->rollup.group[0]) return false;
    put(q, "INSERT INTO rollups (workspace_id, resource, k1, k2, k3, n, total) "
           "SELECT workspace_id, CAST(?1 AS TEXT)");
    text_param(q, r->name);
    for (int g = 0; g < 3; g++)
        if (r->rollup.group[g])
            buf_printf(&q->text, ", coalesce(%s, '')", r->rollup.group[g]);
        else
            buf_puts(&q->text, ", ''");
    buf_printf(&q->text, ", count(*), coalesce(sum(%s), 0) FROM %s GROUP BY workspace_id",
               r->rollup.sum ? r->rollup.sum : "0", r->table);
    for (int g = 0; g < 3 && r->rollup.group[g]; g++)
        buf_printf(&q->text, ", %s", r->rollup.group[g]);
    return true;
}

/* --------------------------------------------------------- server secret */

void sql_secret_get(sql_stmt *q)
{
    put(q, "SELECT secret FROM server_secret WHERE id = 1");
}

void sql_secret_put(sql_stmt *q, const char *hex)
{
    put(q, "INSERT INTO server_secret (id, secret) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING");
    text_param(q, hex);
}

/* ------------------------------------------------ locks, merged records */

bool sql_lock(sql_stmt *q, const char *ws, const char *key, int space)
{
    if (!q->d->lock) return false;
    buf a, b;
    buf_init(&a, 32);
    buf_init(&b, 32);
    sql_param(q, &a, sv_text(ws));
    sql_param(q, &b, sv_text(key));
    buf_printf(&q->text, q->d->lock, buf_cstr(&a), buf_cstr(&b), space);
    buf_free(&a);
    buf_free(&b);
    return true;
}

void sql_merged_put(sql_stmt *q, const char *ws, const char *res_type, const char *id,
                    const char *into, const char *snapshot, int64_t now_ms)
{
    put(q, "INSERT INTO merged_records (workspace_id, resource_type, id, into_id, snapshot, "
           "merged_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
           "ON CONFLICT (workspace_id, resource_type, id) DO UPDATE SET "
           "into_id = excluded.into_id, snapshot = excluded.snapshot, "
           "merged_at = excluded.merged_at");
    text_param(q, ws);
    text_param(q, res_type);
    text_param(q, id);
    text_param(q, into);
    text_param(q, snapshot);
    int_param(q, now_ms);
}

void sql_merged_get(sql_stmt *q, const char *ws, const char *res_type, const char *id)
{
    put(q, "SELECT into_id FROM merged_records WHERE workspace_id = ?1 AND resource_type = ?2 "
           "AND id = ?3");
    text_param(q, ws);
    text_param(q, res_type);
    text_param(q, id);
}

/* ---------------------------------------------------------------- events */

/* An event's sequence is the next of its workspace's, taken as the
 * event is inserted, so that sequences run in commit order: where one
 * writer holds the whole database (no `lock`), one more than the last;
 * elsewhere from the workspace's row of event_sequences, whose lock the
 * transaction holds until it commits, so that a writer on another node
 * numbers after it, and only once it is visible. */
void sql_event_insert(sql_stmt *q, const char *const *v, int64_t created_ms)
{
    if (!q->d->lock)
        put(q, "INSERT INTO events (" SQL_EVENT_COLS ", sequence) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, (SELECT coalesce(max(sequence), "
               "0) + 1 FROM events WHERE workspace_id = ?2))");
    else
        put(q, "WITH s AS (INSERT INTO event_sequences (workspace_id, last) VALUES (?2, 1) "
               "ON CONFLICT (workspace_id) DO UPDATE SET last = event_sequences.last + 1 "
               "RETURNING last) "
               "INSERT INTO events (" SQL_EVENT_COLS ", sequence) "
               "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, s.last FROM s");
    for (int i = 0; i < SQL_EVENT_NCOLS - 1; i++)
        text_param(q, v[i]);
    int_param(q, created_ms);
}

/* Events of a record (?1 workspace, ?2 record[, ?3 below this rid]): its
 * own and those it is the subject of. PostgreSQL answers the OR with
 * both indexes at once (a BitmapOr); SQLite's planner walked the
 * workspace's whole log backwards, so there it is spelled as two index
 * range scans of rids. Either way the cost is the record's history. */
static void record_events(sql_stmt *q, bool below)
{
    const char *bound = below ? " AND rid < ?3" : "";
    if (!q->d->or_as_union) {
        sql_put(q, &q->text, "workspace_id = ?1 AND (resource_id = ?2 OR subject_id = ?2)");
        sql_put(q, &q->text, bound);
        return;
    }
    buf_puts(&q->text, "rid IN (");
    sql_put(q, &q->text, "SELECT rid FROM events WHERE workspace_id = ?1 AND resource_id = ?2");
    sql_put(q, &q->text, bound);
    sql_put(q, &q->text,
            " UNION ALL SELECT rid FROM events WHERE workspace_id = ?1 AND subject_id = ?2");
    sql_put(q, &q->text, bound);
    buf_putc(&q->text, ')');
}

#define EVENT_SELECT                                                                               \
    "SELECT rid, id, type, resource_type, resource_id, subject_id, data, changes, "                \
    "actor_key_id, created_at, sequence FROM events WHERE "

void sql_event_list(sql_stmt *q, const char *ws, const char *id, int64_t before_rid, int limit)
{
    put(q, EVENT_SELECT);
    record_events(q, true);
    put(q, " ORDER BY rid DESC LIMIT ?4");
    text_param(q, ws);
    text_param(q, id);
    int_param(q, before_rid > 0 ? before_rid : INT64_MAX);
    int_param(q, limit + 1);
}

void sql_event_resubject(sql_stmt *q, const char *ws, const char *from, const char *to)
{
    put(q, "UPDATE events SET subject_id = ?3 WHERE ");
    record_events(q, false);
    text_param(q, ws);
    text_param(q, from);
    text_param(q, to);
}

/* A type pattern as LIKE reads it: "deal.*" is "deal.%", and the
 * pattern's own % and _ are literal. */
static const char *type_like(sql_stmt *q, const char *pattern)
{
    char *out = arena_alloc(&q->mem, 2 * strlen(pattern) + 1), *o = out;
    for (const char *p = pattern; *p; p++) {
        if (*p == '*') {
            *o++ = '%';
            continue;
        }
        if (*p == '%' || *p == '_' || *p == '\\') *o++ = '\\';
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

void sql_event_feed(sql_stmt *q, const char *ws, const store_feed_query *fq)
{
    put(q, EVENT_SELECT "workspace_id = ?1 AND sequence > ?2");
    text_param(q, ws);
    int_param(q, fq->after);
    buf *b = &q->text;
    if (fq->resource_id) {
        buf_puts(b, " AND resource_id = ");
        sql_param(q, b, sv_text(fq->resource_id));
    }
    for (int i = 0; i < fq->ntypes; i++) {
        buf_puts(b, i ? " OR " : " AND (");
        if (strchr(fq->types[i], '*')) {
            buf_puts(b, "type LIKE ");
            sql_param(q, b, sv_text(type_like(q, fq->types[i])));
            buf_puts(b, " ESCAPE '\\'");
        } else {
            buf_puts(b, "type = ");
            sql_param(q, b, sv_text(fq->types[i]));
        }
    }
    if (fq->ntypes) buf_putc(b, ')');
    buf_puts(b, " ORDER BY sequence LIMIT ");
    sql_param(q, b, sv_int(fq->limit + 1));
}

void sql_event_seq(sql_stmt *q, const char *ws, const char *id)
{
    if (id) {
        put(q, "SELECT sequence FROM events WHERE workspace_id = ?1 AND id = ?2");
        text_param(q, ws);
        text_param(q, id);
    } else {
        put(q, "SELECT coalesce(max(sequence), 0) FROM events WHERE workspace_id = ?1");
        text_param(q, ws);
    }
}

void sql_event_count(sql_stmt *q, const char *ws)
{
    put(q, "SELECT count(*) FROM events WHERE workspace_id = ?1");
    text_param(q, ws);
}

/* ----------------------------------------------------------- idempotency */

void sql_idem_get(sql_stmt *q, const char *ws, const char *key)
{
    put(q, "SELECT request_hash, status, body, created_at FROM idempotency_keys "
           "WHERE workspace_id = ?1 AND key = ?2");
    text_param(q, ws);
    text_param(q, key);
}

void sql_idem_put(sql_stmt *q, const char *ws, const char *key, const char *req_hash, int status,
                  const char *body, size_t body_len, int64_t now_ms)
{
    /* An upsert: an expired record for the same key may still be there. */
    put(q, "INSERT INTO idempotency_keys (workspace_id, key, request_hash, status, body, "
           "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (workspace_id, key) "
           "DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status, "
           "body = excluded.body, created_at = excluded.created_at");
    text_param(q, ws);
    text_param(q, key);
    text_param(q, req_hash);
    int_param(q, status);
    text_param(q, arena_strndup(&q->mem, body, body_len));
    int_param(q, now_ms);
}

void sql_idem_expire(sql_stmt *q, int64_t cutoff_ms)
{
    put(q, "DELETE FROM idempotency_keys WHERE created_at < ?1");
    int_param(q, cutoff_ms);
}

/* ------------------------------------------------------ workspaces, keys */

#define WORKSPACE_COLS "id, name, created_at, disabled_modules, currency"

void sql_workspace_create(sql_stmt *q, const store_workspace *w)
{
    put(q, "INSERT INTO workspaces (id, name, created_at, disabled_modules, currency) "
           "VALUES (?1, ?2, ?3, ?4, ?5)");
    text_param(q, w->id);
    text_param(q, w->name);
    int_param(q, w->created_ms);
    text_param(q, w->disabled_modules);
    text_param(q, w->currency);
}

void sql_workspace_find(sql_stmt *q, const char *name_or_id)
{
    put(q, "SELECT " WORKSPACE_COLS " FROM workspaces WHERE id = ?1 OR name = ?1");
    text_param(q, name_or_id);
}

void sql_workspace_count(sql_stmt *q)
{
    put(q, "SELECT count(*) FROM workspaces");
}

void sql_workspace_each(sql_stmt *q)
{
    put(q, "SELECT " WORKSPACE_COLS " FROM workspaces ORDER BY id");
}

void sql_workspace_set_modules(sql_stmt *q, const char *id, const char *disabled)
{
    put(q, "UPDATE workspaces SET disabled_modules = ?1 WHERE id = ?2");
    text_param(q, disabled);
    text_param(q, id);
}

void sql_workspace_set_currency(sql_stmt *q, const char *id, const char *currency)
{
    put(q, "UPDATE workspaces SET currency = ?1 WHERE id = ?2");
    text_param(q, currency);
    text_param(q, id);
}

#define KEY_COLS                                                                                   \
    "id, workspace_id, name, scopes, super_admin, max_concurrent, rate, created_at, revoked_at"

void sql_key_create(sql_stmt *q, const store_key *k, const char *token_hash)
{
    put(q, "INSERT INTO api_keys (" KEY_COLS ", token_hash) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9)");
    text_param(q, k->id);
    text_param(q, k->workspace_id);
    text_param(q, k->name);
    text_param(q, k->scopes);
    int_param(q, k->super_admin);
    int_param(q, k->max_concurrent);
    int_param(q, k->rate);
    int_param(q, k->created_ms);
    text_param(q, token_hash);
}

void sql_key_by_hash(sql_stmt *q, const char *token_hash)
{
    put(q, "SELECT " KEY_COLS " FROM api_keys WHERE token_hash = ?1");
    text_param(q, token_hash);
}

void sql_key_each(sql_stmt *q)
{
    put(q, "SELECT " KEY_COLS " FROM api_keys ORDER BY id");
}

void sql_key_revoke(sql_stmt *q, const char *id, int64_t now_ms)
{
    put(q, "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at = 0");
    int_param(q, now_ms);
    text_param(q, id);
}
