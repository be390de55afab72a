/* table.h - the resource table: every resource Cairn serves, as data.
 *
 * Owns: the types of a declaration (res_def, res_field, res_sublist,
 * res_action), the modules and scopes a workspace and a key can hold, and
 * the enums generated from resources.def that name resources, fields and
 * actions at compile time (RES_DEAL, DEAL_stage_id, ACT_DEAL_MOVE). This is
 * the floor below everything: the engine, the store, the API and the
 * OpenAPI document read it, and it includes none of them. Behaviour a table
 * cannot express lives in one hook file per resource family
 * (src/resources/), bound to the table by name in resources/bind.c. */
#ifndef CAIRN_TABLE_H
#define CAIRN_TABLE_H

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
    FT_MONEY,    /* integer cents, |v| <= RES_MONEY_MAX; never floating point */
    FT_NUMBER,   /* double */
    FT_BOOL,     /* true/false, stored 0/1 */
    FT_DATETIME, /* RFC 3339 in, stored as epoch ms, RFC 3339 UTC ms out */
    FT_DATE,     /* YYYY-MM-DD */
    FT_CURRENCY, /* ISO 4217: three upper-case letters */
    FT_REF,      /* id of a record of resource `ref` (or, with `ref_by`, of the
                    resource whose singular name field `ref_by` holds) in the
                    same workspace */
    FT_RANK,     /* server-made ordering key: compared byte-wise, never by case */
    FT_LIST,     /* an array of objects whose members are the fields `items`
                    (line items): each checked as a field is, stored as JSON
                    text in declaration order, at most max_len elements; a
                    member may be a list itself (a script's nodes hold their
                    branches), and with RF_SCALARS the elements are plain
                    values of the one item field (a select's options) */
    FT_OBJECT,   /* a flat object of strings, numbers and booleans whose keys
                    and values a hook checks (qualification answers): keys
                    as custom_fields', at most max_len; stored as JSON text,
                    replaced whole, a null value leaves its key out. A
                    read-only one may name its members in `items` (an
                    import's counts): answers then always hold those */
    FT_JSON,     /* a JSON object, nested as it likes, whose shape a hook checks (a
                    BI query): stored as compact JSON text of at most max_len
                    bytes, answered as stored, replaced whole */
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
    RF_SCALARS = 1 << 8,    /* FT_LIST: elements are values of its one item field, not objects;
                               FT_OBJECT: values are lists of names (a webhook's fields) */
    RF_NOINDEX = 1 << 9,    /* RF_FILTER without an index: a list scans in its order for
                               matches (a log's filters, where each index would cost
                               every write more than the rare filtered read saves) */
    RF_HIDDEN = 1 << 10,    /* never answered: left out of every record's JSON (answers,
                               lists, events, changes) and answer schemas; taken in bodies
                               (a password a hook stores sealed) unless RF_READONLY too
                               (a sealed secret or a worker's cursor hooks keep) */
};

typedef struct res_field {
    const char *name;
    res_ftype type;
    unsigned flags;
    int max_len;                   /* strings: max bytes; 0 = type default */
    const char *const *enum_vals;  /* FT_ENUM: NULL-terminated */
    const char *ref;               /* FT_REF: target resource name */
    const char *ref_by;            /* FT_REF: the FT_ENUM field naming the target's singular */
    const char *dflt;              /* default on create: enum literal, "true"/"false", integer */
    int64_t min, max;              /* FT_INT: bounds when min < max */
    const struct res_field *items; /* FT_LIST: the members of an element (FT_OBJECT:
                                      of the object, each checked as a field is; in a
                                      writable one a list too: a collection's schema) ... */
    int nitems;                    /* ... and how many */
    const char *example;           /* a valid value as JSON, for the OpenAPI document */
    const char *doc;
} res_field;

/* Modules a workspace switches on and off: 004's names, then Cairn's own.
 * Every resource belongs to one; a disabled module's routes answer 403. */
typedef enum res_module {
    MOD_CRM,
    MOD_TASKS,
    MOD_ACTIVITY_LOG,
    MOD_SUPPORT,
    MOD_CMS,
    MOD_ASSETS,
    MOD_INTEGRATIONS,
    MOD_ANALYTICS_GOVERNANCE,
    MOD_BILLING,
    MOD_ACCOUNTING,
    MOD_KNOWLEDGE,
    MOD_MARKETING,
    MOD_BI,
    MOD_OUTBOUND,
    MOD_CALENDAR,
    MOD__COUNT
} res_module;

/* Money is integer cents within +-10^15 (ten trillion units of a
 * currency); a value outside is refused with a 400 naming the field, so
 * no stored amount is near the 64-bit edge (sums are still checked). */
#define RES_MONEY_MAX INT64_C(1000000000000000)

/* An import (POST /v1/imports) holds at most this many rows, in a CSV of
 * at most this many characters (what a request body of 1 MiB holds). */
#define RES_IMPORT_MAX_ROWS 10000
#define RES_IMPORT_MAX_DATA (1 << 20)

extern const char *const res_module_names[MOD__COUNT];
/* Every scope a key can hold, NULL-terminated (DESIGN.md section 2). */
extern const char *const res_scopes[];

struct res_write;

/* Hooks: the only place a resource's special behaviour lives, bound to a
 * resource in resources/bind.c. Each returns 0, or -1 with the error set
 * in the call's result (see resources/engine.h). */
typedef struct res_hooks {
    /* After generic validation, before the row is stored: derive fields,
     * check cross-field rules. `w->is_create` tells create from update. */
    int (*before_write)(struct res_write *w);
    /* After the row is stored, inside the same transaction. */
    int (*after_write)(struct res_write *w);
    /* Before a record is deleted: refuse (409) what must stay. */
    int (*before_delete)(struct res_write *w);
    /* After the record is deleted and its dependants followed it. */
    int (*after_delete)(struct res_write *w);
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
    const char *as;       /* rollup2 only: the name its groups are kept under */
} res_rollup;

typedef struct res_def {
    int id;               /* its RES_ number: res_defs[id] is this */
    const char *name;     /* plural, as in the path: "contacts" */
    const char *singular; /* event names: "contact.created" */
    const char *schema;   /* OpenAPI schema name: "Contact" */
    const char *path;     /* path under /v1 for top-level resources */
    const char *prefix;   /* id prefix without '_' */
    const char *table;    /* SQL table */
    res_module module;
    const char *scope_read;
    const char *scope_write;
    const char *parent;            /* nested: parent resource name ... */
    const char *subpath;           /* ... and the segment after /{parent}/{id}/ */
    const char *unique[4];         /* optional unique tuple (field names), NULL-ended */
    const char *require_one_of[5]; /* create needs one of these, NULL-ended */
    const res_field *fields;
    int nfields;
    bool custom_fields;
    const char *doc;
    const char *indexes[4];     /* extra composite indexes: "stage_id,position"; "=f": f
                                 * as stored where its filters fold case */
    const char *default_sort;   /* list order when no sort= is given (ascending) */
    const char *upsert_keys[3]; /* fields `?upsert_on=` may name */
    bool mergeable;             /* POST /{id}/merge */
    bool timeline;              /* GET /{id}/timeline */
    bool batch;                 /* POST /batch */
    res_rollup rollup;          /* maintained by the engine on every write */
    res_rollup rollup2;         /* a second one, over other groups, named by its `as`
                                   (a campaign's contacts per status, and per assignee) */
    bool read_only;             /* written only by hooks (a ledger's lines): list and get
                                   routes, and no events of its own (its owner's tell) */
    bool core;                  /* of no module: never switched off (the audit log) */
    bool log;                   /* append-only: every call adds to it, a refused one too, and
                                   nothing in it ever changes (the audit log) */
    const char *events[8];      /* what its hooks append beside created, updated and deleted
                                   ("stage_changed" is deal.stage_changed), NULL-ended: the
                                   catalogue of event types lists them */
    bool archive;               /* DELETE archives: its `status` (an enum holding "archived")
                                   becomes archived, the record stays (listed under
                                   status=archived) and the answer is the record */
} res_def;

/* A route with behaviour of its own (lead conversion, deal moves, the
 * board): declared here so routing, scopes and the OpenAPI document see it;
 * its handler is bound by its ACT_ number in resources/bind.c. */
typedef struct res_action {
    int id;                /* its ACT_ number */
    const char *method;    /* "GET", "POST", "PATCH" */
    const char *path;      /* under /v1: "leads/{id}/convert" */
    const char *res;       /* resource whose scopes apply and whose record {id} names */
    bool write;            /* runs on the writer, inside a transaction */
    const char *scope;     /* NULL: the resource's read or write scope */
    const res_field *body; /* accepted body fields, validated by the engine */
    int nbody;
    const res_field *query; /* accepted query parameters (engine_parse_query_fields) */
    int nquery;
    const char *response; /* OpenAPI schema of `data`; NULL: the resource's */
    bool list;            /* answers a list page */
    bool creates;         /* makes a record of `res` and answers it (201) */
    bool destructive;     /* cannot be undone (a void, a bulk removal): agent tools ask for
                             confirm: true unless it is a dry run */
    bool effects;         /* not run on the writer (it talks to another server on the
                             request's thread: an SMTP verify), yet not read-only: tools
                             do not call it so */
    const char *op_id, *summary;
    /* A body sent as this media type ("text/csv") instead of JSON is the
     * value of the body field `media_field`, and query parameters named as
     * the other body fields give them: the transport builds the same body
     * (the engine sees no difference). NULL: JSON only. */
    const char *media_type, *media_field;
} res_action;

/* ---- the enums resources.def yields ---- */
#define VALUES(name, ...)
#define FIELDS(P)                                                                                  \
    enum P##_field                                                                                 \
    {
#define FIELD(P, n, ...) P##_##n,
#define END_FIELDS(P)                                                                              \
    P##__COUNT                                                                                     \
    }                                                                                              \
    ;
#define RESOURCE(P, ...)
#define SUBLIST(...)
#define ACTION(NAME, ...)
#include "schema/resources.def"
#undef RESOURCE
#undef ACTION
#define RESOURCE(P, ...) RES_##P,
#define ACTION(NAME, ...)
#undef FIELDS
#undef FIELD
#undef END_FIELDS
#define FIELDS(P)
#define FIELD(P, n, ...)
#define END_FIELDS(P)
enum res_id {
#include "schema/resources.def"
    RES__COUNT
};
#undef RESOURCE
#undef ACTION
#define RESOURCE(P, ...)
#define ACTION(NAME, ...) ACT_##NAME,
enum res_action_id {
#include "schema/resources.def"
    ACT__COUNT
};
#undef VALUES
#undef FIELDS
#undef FIELD
#undef END_FIELDS
#undef RESOURCE
#undef SUBLIST
#undef ACTION

extern const res_def res_defs[RES__COUNT];
extern const res_def *const res_table[RES__COUNT]; /* the same, as pointers */
extern const int res_count;
extern const res_sublist res_sublists[];
extern const int res_sublist_count;
extern const res_action res_actions[ACT__COUNT];
extern const int res_action_count;

/* The resource named P in resources.def: RES(DEAL). */
#define RES(P) (&res_defs[RES_##P])

const res_def *res_find(const char *name);
/* Index of the field named `name` (names that come from requests), or -1.
 * Code names fields by their generated constants instead. */
int res_field_index(const res_def *r, const char *name);
/* Field of a nested resource that holds the parent id, or -1. */
int res_parent_field(const res_def *r);
/* Effective max length for string-like fields. */
int res_field_max(const res_field *f);
bool res_has_search(const res_def *r);
/* The resource whose singular name is `singular`, or NULL. */
const res_def *res_find_singular(const char *singular);
/* The action that answers GET /v1/{r's path} (or, with `item`, GET
 * /v1/{r's path}/{id}) instead of the generic list or get (the event
 * types', which answer Cairn's own beside the workspace's), or NULL. */
const res_action *res_get_action(const res_def *r, bool item);
/* The module named `name`, or -1. */
int res_module_find(const char *name);

/* The resource as the store sees its second rollup: a copy named
 * rollup2.as whose rollup is rollup2 (the store keeps, lists and rebuilds
 * a rollup's groups under the resource's name), or with no rollup when
 * r has no second one. */
res_def res_rollup2_def(const res_def *r);
/* Whether r's second rollup is its first without the last group (a day)
 * and with the same sum: the totals over every day, which a fold up to a
 * day reads less the days after it (store_rollup_list). */
bool res_rollup2_folds(const res_def *r);

/* Checks the table once at start-up: every reference, parent, sub-list,
 * rollup, index, unique tuple, upsert key, sort and action resolves, and
 * names are unique. false with the first problem in err. */
bool res_table_check(char *err, size_t cap);
/* The same over given arrays (references still resolve in the real table):
 * the unit tests break a copy of the table one way at a time. */
bool res_check(const res_def *defs, int ndefs, const res_sublist *subs, int nsubs,
               const res_action *acts, int nacts, char *err, size_t cap);

#endif
