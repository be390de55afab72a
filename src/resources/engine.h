/* engine.h - the generic resource engine: list, create, get, update,
 * delete and sub-lists for any resource in the table.
 *
 * Owns: turning a request into validated row values (types, required
 * fields, lengths, enums, emails, references), the record's JSON form,
 * cursors, and the event each write appends. Hooks (res_hooks) get a
 * res_write to adjust a row before it is stored. */
#ifndef CAIRN_ENGINE_H
#define CAIRN_ENGINE_H

#include "api/api.h"

typedef struct res_write {
    api_req *q;
    const res_def *r;
    bool is_create;
    res_row *row;       /* the record as it will be stored */
    const res_row *old; /* update: the record before */
    bool *set;          /* fields present in this request */
} res_write;

/* Checks once, at start-up, that the table is consistent
 * (res_table_check) and that every action has a handler; false with the
 * first problem in err. */
bool engine_check(char *err, size_t cap);

int engine_list(api_req *q);
int engine_create(api_req *q);
int engine_get(api_req *q);
int engine_update(api_req *q);
int engine_delete(api_req *q);
int engine_sublist(api_req *q);
int engine_sublist_create(api_req *q);

/* The record's JSON object. */
void engine_write_row(jw *w, const res_def *r, const res_row *row);
/* Its members only, into an object the caller opened (to add more). */
void engine_write_members(jw *w, const res_def *r, const res_row *row);
/* Loads a record of r by id in the request's workspace; on failure writes
 * the error (404 naming `param` when given) and returns -1. */
int engine_load(api_req *q, const res_def *r, const char *id, const char *param, res_row *out);
/* Stores an update of row's fields marked in set (hooks use it for related
 * records) and appends the event; old (may be NULL) gives its changes. */
int engine_save(api_req *q, const res_def *r, res_row *row, const res_row *old, const bool *set);

/* Building records in hooks: an empty row or a copy of old, each with a
 * zeroed `set` array, and a field setter by name. */
res_row engine_new_row(api_req *q, const res_def *r, bool **set);
res_row engine_copy_row(api_req *q, const res_def *r, const res_row *old, bool **set);
void engine_set(res_row *row, bool *set, int field, store_val v);
/* Applies a JSON object to row as a request body would (validation, unknown
 * fields rejected). */
int engine_body_into(api_req *q, const res_def *r, json_t *body, res_row *row, bool *set);
/* Full create of a row (defaults, hooks, references, event) without
 * answering; row->id is set. */
int engine_insert(api_req *q, const res_def *r, res_row *row, bool *set);
/* Full update with hooks and an event named `action` ("updated" when NULL). */
int engine_update_row(api_req *q, const res_def *r, const res_row *old, res_row *row, bool *set,
                      const char *action);
/* Appends `<singular>.<action>` with the row's JSON (changes against old). */
int engine_event(api_req *q, const res_def *r, const char *action, const res_row *row,
                 const res_row *old);

/* Validates a body against declared fields (an action's input): vals and
 * set get one slot per field. Unknown keys are rejected. */
int engine_parse_fields(api_req *q, const res_field *fields, int n, json_t *body, store_val *vals,
                        bool *set);

/* The record whose `field` equals value case-insensitively (a natural
 * key): 1 found (in *out), 0 none, -1 error written. */
int engine_find_by(api_req *q, const res_def *r, int field, const char *value, res_row *out);
/* Counts (and sums `sum`) of r's rows matching f, grouped by up to two
 * fields (NULL: unused); -1 with the error written. */
int engine_aggregate(api_req *q, const res_def *r, const store_filter *f, int nf, int g0, int g1,
                     int sum, store_agg_row **rows, int *n);
/* `limit`: 1..100, 20 when absent; a 400 naming it otherwise. */
int engine_parse_limit(api_req *q, int *limit);
/* A field's value: text (NULL when null) or integer (dflt when null). */
const char *engine_text(const res_row *row, int field);
int64_t engine_int(const res_row *row, int field, int64_t dflt);
/* One page of r for sq, with the next cursor as GET /v1/{r}?sort=`sort` would
 * give it (NULL on the last page). */
int engine_page(api_req *q, const res_def *r, store_query *sq, const char *sort, res_row **rows,
                int *n, const char **next);

/* Generic routes derived from res_def flags. */
int engine_merge(api_req *q);
int engine_timeline(api_req *q);
int engine_batch(api_req *q);
/* Lists r with one extra filter field = value (hooks' own list routes). */
int engine_list_where(api_req *q, const res_def *r, int field, const char *value);
/* Creates r from the body with field = value taken from the path (201);
 * a typed reference's type field gets `type`. */
int engine_create_where(api_req *q, const res_def *r, int field, const char *value,
                        const char *type);
/* Answers with the record. */
int engine_respond(api_req *q, const res_def *r, const res_row *row, int status);

#endif
