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

int engine_list(api_req *q);
int engine_create(api_req *q);
int engine_get(api_req *q);
int engine_update(api_req *q);
int engine_delete(api_req *q);
int engine_sublist(api_req *q);

/* The record's JSON object. */
void engine_write_row(jw *w, const res_def *r, const res_row *row);
/* Loads a record of r by id in the request's workspace; on failure writes
 * the error (404 naming `param` when given) and returns -1. */
int engine_load(api_req *q, const res_def *r, const char *id, const char *param, res_row *out);
/* Stores an update of row's fields marked in set (hooks use it for related
 * records) and appends the event. */
int engine_save(api_req *q, const res_def *r, res_row *row, const bool *set);

#endif
