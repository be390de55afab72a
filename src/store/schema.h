/* schema.h - what both backends derive alike from the resource table.
 *
 * Owns: the column type of each field type per SQL dialect (the one type
 * mapping), which fields compare case-insensitively, which get an index,
 * and the tagged search document of a row (search.h). */
#ifndef CAIRN_SCHEMA_H
#define CAIRN_SCHEMA_H

#include <stdbool.h>

#include "core/buf.h"
#include "store/store.h"

typedef enum { DIALECT_SQLITE, DIALECT_POSTGRES } store_dialect;

const char *schema_column_type(const res_field *f, store_dialect d);
/* Human-typed text (names, emails, domains): filters and sorts ignore case. */
bool schema_nocase(const res_field *f);
/* Gets a (workspace_id, field) index: filters, references, parents, sorts. */
bool schema_indexed(const res_field *f);
/* Appends the search document of a row: every word of its searchable
 * fields, tagged with the workspace and folded (search_fold), as
 * PostgreSQL indexes it; SQLite's FTS5 builds its own in a trigger. */
void schema_search_doc(const res_def *r, const char *ws, const store_val *vals, buf *out);

/* SQL of store_rec_repoint, parameters 1 workspace, 2 from, 3 to, 4 type
 * value (placeholders "?N" or "$N" by dialect). The first statement deletes
 * the rows the move would make duplicates of the unique tuple (empty when
 * `field` is not in it); the second moves or clears the rest. */
void schema_repoint_dupes(const res_def *r, int field, int type_field, store_dialect d, buf *out);
void schema_repoint(const res_def *r, int field, bool to_set, int type_field, store_dialect d,
                    buf *out);

/* The rollup's declaration as text ("status,stage_id,currency:amount_cents"),
 * recorded to rebuild when it changes; "" when r has none. */
void schema_rollup_spec(const res_def *r, buf *out);
/* Statements recounting r's rollup from its table (one parameter-free
 * script for both dialects). */
void schema_rollup_rebuild(const res_def *r, buf *out);

#endif
