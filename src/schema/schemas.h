/* schemas.h - the JSON Schemas the resource table yields.
 *
 * Owns: the schema of a field for each use (an answer, a create or update
 * body, a list filter), of a record, of a create or update body, of an
 * action's body, and of a list's query parameters taken as one object.
 *
 * Every transport that describes its input or output reads them here: the
 * OpenAPI document (src/api/openapi.c) and the agent tools, which must not
 * reach into src/api/. So they live on the table's floor and, like it,
 * include nothing of the engine, store or API.
 *
 * Every function returns a new reference and cannot fail but for a bug in
 * a format written here, on which it aborts. */
#ifndef CAIRN_SCHEMAS_H
#define CAIRN_SCHEMAS_H

#include <jansson.h>

#include "schema/table.h"

/* Crockford base32, as ids.c writes the random part of every id: the tail
 * of an id's pattern after "^<prefix>_". */
#define RES_SCHEMA_ID_TAIL "[0-9A-HJKMNP-TV-Z]{26}$"

/* What a field's schema describes: a value the server answers with, one a
 * create or an update body may carry, or a list filter's query value. */
/* json_pack for formats written in the code: a format json_pack refuses
 * is a bug, so it aborts with the reason instead of returning NULL. */
json_t *res_schema_pack(const char *fmt, ...);

typedef enum res_schema_use { RS_OUT, RS_CREATE, RS_UPDATE, RS_FILTER } res_schema_use;

/* One field's schema for a use (answers, create body, update body, list filter). New reference. */
json_t *res_schema_field(const res_field *f, res_schema_use use);
/* Inline object schema of declared fields (an action's body, a create), `custom` adds
 * custom_fields. */
json_t *res_schema_fields(const res_field *f, int n, res_schema_use use, bool custom);
/* A record as the server answers it (every member present). */
json_t *res_schema_record(const res_def *r);
/* A create or update body of r (writable fields); skip (may be NULL) leaves out a sub-list's link
 * field and its type field. */
json_t *res_schema_body(const res_def *r, res_schema_use use, const res_sublist *skip);
/* Every list query parameter of r as ONE object schema:
 * {"type":"object","additionalProperties":false,"properties":{...}}: limit, cursor, sort, query
 * (when r has search), each filterable field, the _before/_after ranges, the `ref.field` filters
 * through references, the parent field of a nested resource, custom_field_key/value. Each
 * property carries the description the OpenAPI parameter has, in the OpenAPI parameter order. */
json_t *res_schema_list_input(const res_def *r);

#endif
