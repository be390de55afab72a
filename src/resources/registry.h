/* registry.h - the resource table: every resource Cairn serves, as data.
 *
 * Owns: the declaration of each resource (path, id prefix, scopes, fields
 * with their types and constraints, parent for nested paths, hooks). Routing,
 * validation, SQL schema and queries, JSON output, the OpenAPI document and
 * the tests all walk this one table; adding a plain resource means adding
 * rows here, not writing a handler. Behaviour a table cannot express lives in
 * one small hook file per resource family (contacts.c, ...). */
#ifndef CAIRN_REGISTRY_H
#define CAIRN_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum res_ftype {
    FT_STRING,   /* short text, max_len applies */
    FT_TEXT,     /* long text, max_len applies */
    FT_EMAIL,    /* validated address, stored as given, compared case-insensitively */
    FT_URL,      /* http(s) URL */
    FT_ENUM,     /* one of enum_vals */
    FT_INT,      /* 64-bit integer, [min, max] */
    FT_MONEY,    /* integer cents; never floating point */
    FT_NUMBER,   /* double */
    FT_BOOL,     /* true/false, stored 0/1 */
    FT_DATETIME, /* RFC 3339 in, stored as epoch ms, RFC 3339 UTC ms out */
    FT_DATE,     /* YYYY-MM-DD */
    FT_CURRENCY, /* ISO 4217: three upper-case letters */
    FT_REF,      /* id of a record of resource `ref` (or, with `ref_by`, of the
                    resource whose singular name field `ref_by` holds) in the
                    same workspace */
    FT_RANK,     /* server-made ordering key: compared byte-wise, never by case */
} res_ftype;

/* Field flags. */
enum {
    RF_REQUIRED = 1 << 0,   /* must be present (and non-null) on create */
    RF_FILTER = 1 << 1,     /* list filter `?name=value`, indexed */
    RF_SEARCH = 1 << 2,     /* part of the full-text index behind `query` */
    RF_SORT = 1 << 3,       /* may be used with `sort=` */
    RF_READONLY = 1 << 4,   /* set by the server (or the path); rejected in bodies */
    RF_PARENT = 1 << 5,     /* the parent id of a nested resource, from the path */
    RF_CREATEONLY = 1 << 6, /* set on create, rejected in updates */
    RF_RANGE = 1 << 7,      /* FT_DATETIME: list params `<x>_before`/`<x>_after` (x_at) */
};

typedef struct res_field {
    const char *name;
    res_ftype type;
    unsigned flags;
    int max_len;                  /* strings: max bytes; 0 = type default */
    const char *const *enum_vals; /* FT_ENUM: NULL-terminated */
    const char *ref;              /* FT_REF: target resource name */
    const char *ref_by;           /* FT_REF: the FT_ENUM field naming the target's singular */
    const char *dflt;             /* default on create: enum literal, "true"/"false", integer */
    int64_t min, max;             /* FT_INT: bounds when min < max */
    const char *doc;
} res_field;

typedef struct res_def res_def;
struct res_write;

/* Hooks: the only place a resource's special behaviour lives. Each returns 0
 * or an API error already written into the request (see api.h). */
typedef struct res_hooks {
    /* After generic validation, before the row is stored: derive fields,
     * check cross-field rules. `w->is_create` tells create from update. */
    int (*before_write)(struct res_write *w);
    /* After the row is stored, inside the same transaction. */
    int (*after_write)(struct res_write *w);
    /* Before a record is deleted: refuse (409) what must stay. */
    int (*before_delete)(struct res_write *w);
    /* After `old` was merged into `row` (references moved, before it is
     * deleted): repair what the move left inconsistent. */
    int (*after_merge)(struct res_write *w);
} res_hooks;

/* A secondary list route: GET /v1/{owner}/{id}/{name} lists `res` records
 * linked to the owner either by res.`field` = id or, when `via` is set, by
 * a `via` record whose `via_match` = id and whose `via_target` names them.
 * With `create`, POST to the same path creates one linked by `field` (and,
 * for a typed reference, its type field set to the owner's singular). */
typedef struct res_sublist {
    const char *owner;
    const char *name;
    const char *res;
    const char *field;
    const char *via;
    const char *via_match;
    const char *via_target;
    bool create;
    const char *op_list, *op_create; /* operationIds when the derived ones clash */
} res_sublist;

/* Counts and sums kept per group of field values as rows change, so that
 * "deals per stage" costs one row however many deals there are. */
typedef struct res_rollup {
    const char *group[4]; /* text fields (enum, ref, currency), NULL-ended, at most 3 */
    const char *sum;      /* integer field summed, or NULL */
} res_rollup;

struct res_def {
    const char *name;     /* plural, as in the path: "contacts" */
    const char *singular; /* event names: "contact.created" */
    const char *schema;   /* OpenAPI schema name: "Contact" */
    const char *path;     /* path under /v1 for top-level resources */
    const char *prefix;   /* id prefix without '_' */
    const char *table;    /* SQL table */
    const char *scope_read;
    const char *scope_write;
    const char *parent;            /* nested: parent resource name ... */
    const char *subpath;           /* ... and the segment after /{parent}/{id}/ */
    const char *unique[4];         /* optional unique tuple (field names), NULL-ended */
    const char *require_one_of[5]; /* create needs one of these, NULL-ended */
    const res_field *fields;
    int nfields;
    bool custom_fields;
    const res_hooks *hooks;
    const char *doc;
    const char *indexes[4];     /* extra composite indexes: "stage_id,position" */
    const char *default_sort;   /* list order when no sort= is given (ascending) */
    const char *upsert_keys[3]; /* fields `?upsert_on=` may name */
    bool mergeable;             /* POST /{id}/merge */
    bool timeline;              /* GET /{id}/timeline */
    bool batch;                 /* POST /batch */
    res_rollup rollup;          /* maintained by the engine on every write */
};

struct api_req;

/* A route with behaviour of its own (lead conversion, deal moves, the
 * board): declared here so routing, scopes and the OpenAPI document see it,
 * implemented in the resource family's hook file. */
typedef struct res_action {
    const char *method; /* "GET", "POST", "PATCH" */
    const char *path;   /* under /v1: "leads/{id}/convert" */
    const char *res;    /* resource whose scopes apply and whose record {id} names */
    bool write;         /* runs on the writer, inside a transaction */
    const char *scope;  /* NULL: the resource's read or write scope */
    int (*handler)(struct api_req *q);
    const res_field *body; /* accepted body fields, validated by the engine */
    int nbody;
    const char *response; /* OpenAPI schema of `data`; NULL: the resource's */
    bool list;            /* answers a list page */
    const char *op_id, *summary;
} res_action;

extern const res_def *const res_table[];
extern const int res_count;
extern const res_sublist res_sublists[];
extern const int res_sublist_count;
extern const res_action res_actions[];
extern const int res_action_count;

const res_def *res_find(const char *name);
int res_field_index(const res_def *r, const char *name); /* -1 if none */
/* Field of a nested resource that holds the parent id, or -1. */
int res_parent_field(const res_def *r);
/* Effective max length for string-like fields. */
int res_field_max(const res_field *f);
bool res_has_search(const res_def *r);
/* The resource whose singular name is `singular`, or NULL. */
const res_def *res_find_singular(const char *singular);

#endif
