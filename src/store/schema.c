/* schema.c - the derived-schema rules both backends share; see schema.h. */
#include "store/schema.h"

#include <string.h>

#include "store/search.h"

const char *schema_column_type(const res_field *f, store_dialect d)
{
    switch (f->type) {
    case FT_INT:
    case FT_MONEY:
    case FT_DATETIME: return d == DIALECT_POSTGRES ? "BIGINT" : "INTEGER";
    case FT_BOOL: return "INTEGER";
    case FT_NUMBER: return d == DIALECT_POSTGRES ? "DOUBLE PRECISION" : "REAL";
    case FT_RANK: return d == DIALECT_POSTGRES ? "TEXT COLLATE \"C\"" : "TEXT";
    default: return "TEXT";
    }
}

bool schema_nocase(const res_field *f)
{
    return f->type == FT_EMAIL || f->type == FT_STRING || f->type == FT_URL;
}

bool schema_indexed(const res_field *f)
{
    return (f->flags & (RF_FILTER | RF_PARENT | RF_SORT)) || f->type == FT_REF;
}

void schema_search_doc(const res_def *r, const char *ws, const store_val *vals, buf *out)
{
    char tag[SEARCH_TAG_LEN + 1];
    search_tag(ws, tag);
    for (int i = 0; i < r->nfields; i++)
        if ((r->fields[i].flags & RF_SEARCH) && vals[i].kind == SV_TEXT)
            search_doc_append(out, tag, vals[i].s, true);
}

static const char *ph(store_dialect d)
{
    return d == DIALECT_POSTGRES ? "$" : "?";
}

void schema_repoint_dupes(const res_def *r, int field, int type_field, store_dialect d, buf *out)
{
    const char *f = r->fields[field].name;
    bool in_unique = false;
    for (int i = 0; r->unique[i]; i++)
        in_unique |= strcmp(r->unique[i], f) == 0;
    if (!in_unique) return;
    buf_printf(out, "DELETE FROM %1$s WHERE workspace_id = %2$s1 AND %3$s = %2$s2", r->table, ph(d),
               f);
    if (type_field >= 0) buf_printf(out, " AND %s = %s4", r->fields[type_field].name, ph(d));
    buf_printf(out,
               " AND EXISTS (SELECT 1 FROM %1$s t2 WHERE t2.workspace_id = %1$s.workspace_id "
               "AND t2.%2$s = %3$s3",
               r->table, f, ph(d));
    for (int i = 0; r->unique[i]; i++)
        if (strcmp(r->unique[i], f) != 0)
            buf_printf(out, " AND t2.%1$s = %2$s.%1$s", r->unique[i], r->table);
    buf_putc(out, ')');
}

void schema_repoint(const res_def *r, int field, bool to_set, int type_field, store_dialect d,
                    buf *out)
{
    const char *f = r->fields[field].name;
    if (to_set)
        buf_printf(out, "UPDATE %s SET %s = %s3", r->table, f, ph(d));
    else if (type_field >= 0)
        buf_printf(out, "UPDATE %s SET %s = NULL, %s = NULL", r->table, f,
                   r->fields[type_field].name);
    else
        buf_printf(out, "UPDATE %s SET %s = NULL", r->table, f);
    buf_printf(out, " WHERE workspace_id = %1$s1 AND %2$s = %1$s2", ph(d), f);
    if (type_field >= 0) buf_printf(out, " AND %s = %s4", r->fields[type_field].name, ph(d));
}

void schema_rollup_spec(const res_def *r, buf *out)
{
    for (int g = 0; g < 3 && r->rollup.group[g]; g++)
        buf_printf(out, "%s%s", g ? "," : "", r->rollup.group[g]);
    if (r->rollup.group[0] && r->rollup.sum) buf_printf(out, ":%s", r->rollup.sum);
}

void schema_rollup_rebuild(const res_def *r, buf *out)
{
    buf_printf(out, "DELETE FROM rollups WHERE resource = '%s';", r->name);
    if (!r->rollup.group[0]) return;
    buf_printf(out,
               "INSERT INTO rollups (workspace_id, resource, k1, k2, k3, n, total) "
               "SELECT workspace_id, '%s'",
               r->name);
    for (int g = 0; g < 3; g++)
        if (r->rollup.group[g])
            buf_printf(out, ", coalesce(%s, '')", r->rollup.group[g]);
        else
            buf_puts(out, ", ''");
    buf_printf(out, ", count(*), coalesce(sum(%s), 0) FROM %s GROUP BY workspace_id",
               r->rollup.sum ? r->rollup.sum : "0", r->table);
    for (int g = 0; g < 3 && r->rollup.group[g]; g++)
        buf_printf(out, ", %s", r->rollup.group[g]);
    buf_putc(out, ';');
}
