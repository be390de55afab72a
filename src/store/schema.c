/* schema.c - the derived-schema rules both backends share; see schema.h. */
#include "store/schema.h"

#include "store/search.h"

const char *schema_column_type(const res_field *f, store_dialect d)
{
    switch (f->type) {
    case FT_INT:
    case FT_MONEY:
    case FT_DATETIME: return d == DIALECT_POSTGRES ? "BIGINT" : "INTEGER";
    case FT_BOOL: return "INTEGER";
    case FT_NUMBER: return d == DIALECT_POSTGRES ? "DOUBLE PRECISION" : "REAL";
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
            search_doc_append(out, tag, vals[i].s);
}
