/* pipelines.c - what pipelines, their stages and deals do beyond the
 * generic engine: every pipeline has open stages plus one Won and one Lost
 * stage (protected, always last); a deal's stage decides its status and
 * closed_at; deals keep their order within a stage by a rank string, so a
 * move rewrites one row; the board and the default pipeline's /deal-stages. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/rank.h"
#include "core/timeutil.h"
#include "resources/engine.h"
#include "resources/hooks.h"

#define WON_POSITION  1000000 /* Won and Lost sort after every open stage */
#define LOST_POSITION 1000001

/* ------------------------------------------------------------- look-ups */

static int first_row(engine_call *c, const res_def *r, store_query *sq, res_row *out, bool *found)
{
    res_row *rows;
    int n;
    bool more;
    store_err e;
    sq->limit = 1;
    int rc = store_rec_list(c->conn, c->a, r, c->ws, sq, &rows, &n, &more, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    *found = n > 0;
    if (n) *out = rows[0];
    return 0;
}

static int default_pipeline(engine_call *c, res_row *out)
{
    const res_def *p = RES(PIPELINE);
    store_filter f = {.field = PIPELINE_is_default, .v = sv_int(1)};
    store_query sq = {.filters = &f, .nfilters = 1, .link_field = -1};
    bool found;
    if (first_row(c, p, &sq, out, &found)) return -1;
    if (!found) return engine_fail(c, EK_NOT_FOUND, NULL, "this workspace has no pipeline");
    return 0;
}

/* The pipeline's stages in board order, or its first open stage. */
static int pipeline_stages(engine_call *c, const char *pipeline, bool open_only, int limit,
                           res_row **rows, int *n)
{
    const res_def *s = RES(STAGE);
    store_filter f[2] = {{.field = STAGE_pipeline_id, .v = sv_text(pipeline)},
                         {.field = STAGE_stage_type, .v = sv_text("open")}};
    store_query sq = {.filters = f,
                      .nfilters = open_only ? 2 : 1,
                      .sort_by = &s->fields[STAGE_position],
                      .ascending = true,
                      .limit = limit,
                      .link_field = -1};
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, s, c->ws, &sq, rows, n, &more, &e);
    return rc ? engine_store_fail(c, rc, &e) : 0;
}

/* Deals of a stage in order (ascending) or from the end, `limit` of them. */
static int stage_deals(engine_call *c, const char *stage, bool ascending, int limit, res_row **rows,
                       int *n)
{
    const res_def *d = RES(DEAL);
    store_filter f = {.field = DEAL_stage_id, .v = sv_text(stage)};
    store_query sq = {.filters = &f,
                      .nfilters = 1,
                      .sort_by = &d->fields[DEAL_position],
                      .ascending = ascending,
                      .limit = limit,
                      .link_field = -1};
    bool more;
    store_err e;
    int rc = store_rec_list(c->conn, c->a, d, c->ws, &sq, rows, n, &more, &e);
    return rc ? engine_store_fail(c, rc, &e) : 0;
}

static int count_where(engine_call *c, const res_def *r, int field, const char *value,
                       int64_t *count)
{
    store_filter f = {.field = field, .v = sv_text(value)};
    store_agg_row *rows;
    int n;
    if (engine_aggregate(c, r, &f, 1, -1, -1, -1, &rows, &n)) return -1;
    *count = n ? rows[0].count : 0;
    return 0;
}

/* ---------------------------------------------------------- seeding */

static const struct {
    const char *name, *key, *type;
    int position;
} seed_stages[] = {
    {"Qualification", "qualification", "open", 1}, {"Proposal", "proposal", "open", 2},
    {"Negotiation", "negotiation", "open", 3},     {"Won", "won", "won", WON_POSITION},
    {"Lost", "lost", "lost", LOST_POSITION},
};
#define NSEED ((int)(sizeof seed_stages / sizeof seed_stages[0]))

/* The stages a new pipeline starts with. Inserted below the stage hook,
 * which admits only open stages from clients. */
static int insert_seed_stages(store_conn *c, arena *a, const char *ws, const char *pipeline,
                              res_row *out, store_err *e)
{
    const res_def *s = RES(STAGE);
    for (int k = 0; k < NSEED; k++) {
        res_row *row = &out[k];
        memset(row, 0, sizeof *row);
        row->vals = arena_zalloc(a, sizeof(store_val) * (size_t)s->nfields);
        id_new(row->id, s->prefix);
        row->created_ms = row->updated_ms = (int64_t)time_now_ms();
        row->vals[STAGE_pipeline_id] = sv_text(pipeline);
        row->vals[STAGE_name] = sv_text(seed_stages[k].name);
        row->vals[STAGE_key] = sv_text(seed_stages[k].key);
        row->vals[STAGE_stage_type] = sv_text(seed_stages[k].type);
        row->vals[STAGE_position] = sv_int(seed_stages[k].position);
        int rc = store_rec_insert(c, s, ws, row, e);
        if (rc) return rc;
    }
    return STORE_OK;
}

int sales_workspace_init(engine_call *c, int64_t now_ms)
{
    (void)now_ms;
    const res_def *p = RES(PIPELINE);
    store_err e;
    store_filter f = {.field = PIPELINE_is_default, .v = sv_int(1)};
    store_query sq = {.filters = &f, .nfilters = 1, .limit = 1, .link_field = -1};
    res_row *rows;
    int n;
    bool more;
    /* Nodes starting together on one database check and create under one
     * lock, so a workspace never gets two default pipelines. */
    int rc = store_lock(c->conn, c->ws, "default-pipeline", &e);
    if (rc == STORE_OK) rc = store_rec_list(c->conn, c->a, p, c->ws, &sq, &rows, &n, &more, &e);
    if (rc == STORE_OK && n == 0) {
        res_row row = {0};
        row.vals = arena_zalloc(c->a, sizeof(store_val) * (size_t)p->nfields);
        id_new(row.id, p->prefix);
        row.created_ms = row.updated_ms = (int64_t)time_now_ms();
        row.vals[PIPELINE_name] = sv_text("Sales pipeline");
        row.vals[PIPELINE_is_default] = sv_int(1);
        rc = store_rec_insert(c->conn, p, c->ws, &row, &e);
        res_row stages[NSEED];
        if (rc == STORE_OK) rc = insert_seed_stages(c->conn, c->a, c->ws, row.id, stages, &e);
    }
    return rc ? engine_store_fail(c, rc, &e) : 0;
}

static int pipeline_after(res_write *w)
{
    if (!w->is_create) return 0;
    engine_call *c = w->c;
    res_row stages[NSEED];
    store_err e;
    int rc = insert_seed_stages(c->conn, c->a, c->ws, w->row->id, stages, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    for (int k = 0; k < NSEED; k++)
        if (engine_event(c, RES(STAGE), "created", &stages[k], NULL)) return -1;
    return 0;
}

static int pipeline_before_delete(res_write *w)
{
    engine_call *c = w->c;
    if (engine_int(w->old, PIPELINE_is_default, 0))
        return engine_fail(c, EK_CONFLICT, NULL, "the default pipeline cannot be deleted");
    int64_t n;
    if (count_where(c, RES(DEAL), DEAL_pipeline_id, w->old->id, &n)) return -1;
    if (n)
        return engine_fail(c, EK_CONFLICT, NULL,
                           "pipeline %s holds %lld deals; move or delete them first", w->old->id,
                           (long long)n);
    return 0;
}

const res_hooks pipeline_hooks = {.after_write = pipeline_after,
                                  .before_delete = pipeline_before_delete};

/* ---------------------------------------------------------------- stages */

static char *slug(arena *a, const char *name)
{
    size_t n = strlen(name);
    char *s = arena_alloc(a, n + 8), *o = s;
    for (const char *p = name; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (isalnum(ch))
            *o++ = (char)tolower(ch);
        else if (o > s && o[-1] != '_')
            *o++ = '_';
    }
    while (o > s && o[-1] == '_')
        o--;
    *o = '\0';
    return *s ? s : arena_strdup(a, "stage");
}

/* Puts an open stage at `want` among the pipeline's open stages and
 * renumbers them 1..n, so positions stay distinct: the stage takes that
 * slot and the ones from there on shift back. Saves only what changed. */
static int place_stage(res_write *w, int64_t want)
{
    engine_call *c = w->c;
    const res_def *r = w->r;
    enum { pos = STAGE_position };
    res_row *rows;
    int n;
    if (pipeline_stages(c, engine_text(w->row, STAGE_pipeline_id), true, 100, &rows, &n)) return -1;
    int64_t next = 1;
    bool placed = false;
    bool *set = arena_zalloc(c->a, sizeof(bool) * (size_t)r->nfields);
    set[pos] = true;
    for (int i = 0; i <= n; i++) {
        if (!placed && (i == n || engine_int(&rows[i], STAGE_position, 0) >= want)) {
            w->row->vals[pos] = sv_int(next++);
            w->set[pos] = placed = true;
        }
        if (i == n) break;
        if (strcmp(rows[i].id, w->row->id) == 0) continue;
        if (engine_int(&rows[i], STAGE_position, 0) != next) {
            res_row old = rows[i];
            old.vals = arena_alloc(c->a, sizeof(store_val) * (size_t)r->nfields);
            memcpy(old.vals, rows[i].vals, sizeof(store_val) * (size_t)r->nfields);
            rows[i].vals[pos] = sv_int(next);
            if (engine_save(c, r, &rows[i], &old, set)) return -1;
        }
        next++;
    }
    return 0;
}

static int stage_before(res_write *w)
{
    engine_call *c = w->c;
    enum { type = STAGE_stage_type, pos = STAGE_position };
    if (w->is_create) {
        if (strcmp(w->row->vals[type].s, "open") != 0)
            return engine_fail(c, EK_INVALID, "stage_type",
                               "new stages are open; every pipeline has exactly one won and one "
                               "lost stage");
        if (w->row->vals[STAGE_key].kind == SV_NULL)
            engine_set(w->row, w->set, STAGE_key,
                       sv_text(slug(c->a, engine_text(w->row, STAGE_name))));
        return place_stage(w, w->row->vals[pos].kind == SV_INT ? w->row->vals[pos].i : INT64_MAX);
    }
    if (w->set[pos] && w->row->vals[pos].kind == SV_NULL)
        return engine_fail(c, EK_INVALID, "position", "position cannot be null");
    if (!w->set[pos] || w->row->vals[pos].i == w->old->vals[pos].i) return 0;
    if (strcmp(engine_text(w->old, STAGE_stage_type), "open") != 0)
        return engine_fail(c, EK_INVALID, "position",
                           "won and lost stages always come last; their position is fixed");
    /* Moving down past a stage means taking the slot after it. */
    int64_t want = w->row->vals[pos].i;
    return place_stage(w, want > w->old->vals[pos].i ? want + 1 : want);
}

/* A renamed key follows into the deals that carry it. */
static int stage_after(res_write *w)
{
    const res_def *d = RES(DEAL);
    if (w->is_create) return 0;
    const char *was = engine_text(w->old, STAGE_key), *now = engine_text(w->row, STAGE_key);
    if (!was || !now || strcmp(was, now) == 0) return 0;
    return engine_repoint(w->c, d, DEAL_stage, was, now, DEAL_stage_id, w->row->id);
}

static int stage_before_delete(res_write *w)
{
    engine_call *c = w->c;
    /* With its pipeline every stage goes; the pipeline's own hook has
     * checked that it holds no deals. */
    if (w->cascade) return 0;
    if (strcmp(engine_text(w->old, STAGE_stage_type), "open") != 0)
        return engine_fail(c, EK_CONFLICT, NULL,
                           "won and lost stages are part of every pipeline and cannot be deleted");
    int64_t n;
    if (count_where(c, RES(DEAL), DEAL_stage_id, w->old->id, &n)) return -1;
    if (n)
        return engine_fail(c, EK_CONFLICT, NULL,
                           "stage %s holds %lld deals; move them to another stage first",
                           w->old->id, (long long)n);
    return 0;
}

const res_hooks stage_hooks = {
    .before_write = stage_before, .after_write = stage_after, .before_delete = stage_before_delete};

/* ----------------------------------------------------------------- deals */

/* Sets stage_id, stage, status and closed_at for a deal entering `stage`
 * (appended last in it unless the caller placed it already). */
static int enter_stage(res_write *w, const res_row *stage)
{
    engine_call *c = w->c;
    const char *type = engine_text(stage, STAGE_stage_type);
    engine_set(w->row, w->set, DEAL_stage_id, sv_text(arena_strdup(c->a, stage->id)));
    engine_set(w->row, w->set, DEAL_stage, sv_text(engine_text(stage, STAGE_key)));
    engine_set(w->row, w->set, DEAL_status, sv_text(type));
    const char *old_stage = w->old ? engine_text(w->old, DEAL_stage_id) : NULL;
    bool moved = !old_stage || strcmp(old_stage, stage->id) != 0;
    if (strcmp(type, "open") == 0)
        engine_set(w->row, w->set, DEAL_closed_at, (store_val){.kind = SV_NULL});
    else if (moved || engine_int(w->row, DEAL_closed_at, 0) == 0)
        engine_set(w->row, w->set, DEAL_closed_at, sv_int((int64_t)time_now_ms()));
    int pos = DEAL_position;
    if (moved && !w->set[pos]) {
        res_row *last;
        int n;
        if (stage_deals(c, stage->id, false, 1, &last, &n)) return -1;
        const char *after = n ? engine_text(&last[0], DEAL_position) : NULL;
        engine_set(w->row, w->set, DEAL_position, sv_text(rank_after(c->a, after)));
    }
    return 0;
}

static int deal_before(res_write *w)
{
    engine_call *c = w->c;
    const res_def *s = RES(STAGE);
    enum { pf = DEAL_pipeline_id, sf = DEAL_stage_id, kf = DEAL_stage };
    if (!w->is_create && !w->set[pf] && !w->set[sf] && !w->set[kf]) return 0;
    if (w->set[sf] && w->row->vals[sf].kind == SV_NULL)
        return engine_fail(c, EK_INVALID, "stage_id", "a deal always has a stage");
    if (w->set[kf] && w->row->vals[kf].kind == SV_NULL)
        return engine_fail(c, EK_INVALID, "stage", "a deal always has a stage");
    res_row stage, pipe;
    bool have_stage = false;
    if (w->set[pf] && w->row->vals[pf].kind == SV_TEXT &&
        engine_load(c, RES(PIPELINE), w->row->vals[pf].s, "pipeline_id", &pipe))
        return -1;
    if (w->set[sf]) {
        if (engine_load(c, s, w->row->vals[sf].s, "stage_id", &stage)) return -1;
        have_stage = true;
    }
    if (w->row->vals[pf].kind == SV_NULL) {
        if (have_stage) {
            engine_set(w->row, w->set, DEAL_pipeline_id,
                       sv_text(engine_text(&stage, STAGE_pipeline_id)));
        } else {
            if (default_pipeline(c, &pipe)) return -1;
            engine_set(w->row, w->set, DEAL_pipeline_id, sv_text(arena_strdup(c->a, pipe.id)));
        }
    }
    const char *pipeline = w->row->vals[pf].s;
    if (have_stage && strcmp(engine_text(&stage, STAGE_pipeline_id), pipeline) != 0)
        return engine_fail(c, EK_INVALID, "stage_id",
                           "stage %s belongs to another pipeline than %s", stage.id, pipeline);
    if (!have_stage && w->set[kf]) {
        store_filter f[2] = {{.field = STAGE_pipeline_id, .v = sv_text(pipeline)},
                             {.field = STAGE_key, .v = w->row->vals[kf]}};
        store_query sq = {.filters = f, .nfilters = 2, .link_field = -1};
        if (first_row(c, s, &sq, &stage, &have_stage)) return -1;
        if (!have_stage)
            return engine_fail(c, EK_INVALID, "stage", "pipeline %s has no stage with key '%s'",
                               pipeline, w->row->vals[kf].s);
    }
    if (!have_stage) {
        const char *cur = w->old ? engine_text(w->old, DEAL_stage_id) : NULL;
        if (cur && !w->set[pf]) return 0;
        res_row *rows;
        int n;
        if (pipeline_stages(c, pipeline, true, 1, &rows, &n)) return -1;
        if (!n)
            return engine_fail(c, EK_CONFLICT, "pipeline_id", "pipeline %s has no open stage",
                               pipeline);
        stage = rows[0];
    }
    return enter_stage(w, &stage);
}

const res_hooks deal_hooks = {.before_write = deal_before};

/* ------------------------------------------------------------- actions */

int deal_stages_list(engine_call *c)
{
    res_row p;
    if (default_pipeline(c, &p)) return -1;
    return engine_list_where(c, RES(STAGE), STAGE_pipeline_id, p.id);
}

int deal_stage_create(engine_call *c)
{
    res_row p;
    if (default_pipeline(c, &p)) return -1;
    return engine_create_where(c, RES(STAGE), STAGE_pipeline_id, p.id, NULL);
}

/* GET /pipelines/{id}/board: every stage in order with its deal count and
 * value and its first `limit` deals; a stage's next_cursor continues with
 * GET /deals?stage_id=...&sort=position. */
int pipeline_board(engine_call *c)
{
    const res_def *p = RES(PIPELINE), *s = RES(STAGE), *d = RES(DEAL);
    int limit;
    if (engine_parse_limit(c, &limit) || engine_params_check(c)) return -1;
    res_row pipe;
    if (engine_load(c, p, c->ids[0], NULL, &pipe)) return -1;
    res_row *stages;
    int ns;
    if (pipeline_stages(c, pipe.id, false, 100, &stages, &ns)) return -1;
    store_agg_row *tot;
    int nt;
    store_err e;
    int rc = store_rollup_list(c->conn, c->a, d, c->ws, NULL, NULL, &tot, &nt, &e);
    if (rc) return engine_store_fail(c, rc, &e);
    jw *w = engine_answer(c);
    jw_obj_open(w);
    jw_kstr(w, "object", "board");
    jw_key(w, "pipeline");
    engine_write_row(w, p, &pipe);
    jw_key(w, "stages");
    jw_arr_open(w);
    for (int i = 0; i < ns && rc == 0; i++) {
        store_filter f = {.field = DEAL_stage_id, .v = sv_text(stages[i].id)};
        store_query sq = {.filters = &f,
                          .nfilters = 1,
                          .sort_by = &d->fields[DEAL_position],
                          .ascending = true,
                          .limit = limit,
                          .link_field = -1};
        res_row *deals;
        int nd;
        const char *next;
        if ((rc = engine_page(c, d, &sq, "position", &deals, &nd, &next))) break;
        int64_t count = 0, sum = 0; /* over the stage's statuses and currencies */
        for (int k = 0; k < nt; k++)
            if (tot[k].key[1].kind == SV_TEXT && strcmp(tot[k].key[1].s, stages[i].id) == 0 &&
                (__builtin_add_overflow(count, tot[k].count, &count) ||
                 __builtin_add_overflow(sum, tot[k].sum, &sum)))
                return engine_fail(c, EK_INVALID, "amount_cents",
                                   "the deals of stage %s add up past the 64-bit range",
                                   stages[i].id);
        jw_obj_open(w);
        engine_write_members(w, s, &stages[i]);
        jw_kint(w, "deal_count", count);
        jw_kint(w, "amount_cents", sum);
        jw_key(w, "deals");
        jw_arr_open(w);
        for (int k = 0; k < nd; k++)
            engine_write_row(w, d, &deals[k]);
        jw_arr_close(w);
        jw_kstr(w, "next_cursor", next);
        jw_obj_close(w);
    }
    jw_arr_close(w);
    jw_obj_close(w);
    return rc;
}

/* Loads an anchor deal of a move: in this workspace (404) and in the
 * target stage (400), and not the deal being moved. */
static int anchor(engine_call *c, const char *id, const char *param, const char *stage,
                  const char *moving, res_row *out)
{
    const res_def *d = RES(DEAL);
    if (engine_load(c, d, id, param, out)) return -1;
    if (strcmp(out->id, moving) == 0)
        return engine_fail(c, EK_INVALID, param, "%s cannot be the deal being moved", param);
    if (strcmp(engine_text(out, DEAL_stage_id), stage) != 0)
        return engine_fail(c, EK_INVALID, param, "%s: deal %s is not in stage %s", param, id,
                           stage);
    return 0;
}

/* The rank of the first deal of a page that is not the one moving; NULL
 * when none. */
static const char *first_rank(const store_read *rd, const char *moving)
{
    for (int i = 0; i < rd->n; i++)
        if (strcmp(rd->rows[i].id, moving) != 0) return engine_text(&rd->rows[i], DEAL_position);
    return NULL;
}

/* POST /deals/{id}/move {stage_id, above_id?, below_id?} */
int deal_move(engine_call *c)
{
    const res_def *d = RES(DEAL), *s = RES(STAGE);
    const res_action *a = c->action;
    store_val v[MOVE__COUNT];
    bool given[MOVE__COUNT];
    if (engine_params_check(c)) return -1;
    if (engine_parse_fields(c, a->body, a->nbody, c->body, v, given)) return -1;
    bool up = given[MOVE_above_id], down = given[MOVE_below_id];
    /* What the move reads, in one round trip on PostgreSQL: the deal, the
     * stage, the anchors, and the deals next to them: with one anchor, its
     * neighbour in the stage (the next after above_id, or the one before
     * below_id, found by the anchor's id), without one the stage's last
     * deal, whose rank an arriving deal follows. The loads below find the
     * records remembered. */
    store_filter in_stage = {.field = DEAL_stage_id, .v = v[MOVE_stage_id]};
    store_query next = {.filters = &in_stage,
                        .nfilters = 1,
                        .sort_by = &d->fields[DEAL_position],
                        .ascending = up,
                        .after_id = up     ? v[MOVE_above_id].s
                                    : down ? v[MOVE_below_id].s
                                           : NULL,
                        .limit = up || down ? 2 : 1, /* a neighbour may be the deal moving */
                        .link_field = -1};
    store_read rd[4] = {{.r = d, .id = c->ids[0]}, {.r = s, .id = v[MOVE_stage_id].s}};
    int nr = 2;
    if (up) rd[nr++] = (store_read){.r = d, .id = v[MOVE_above_id].s};
    if (down) rd[nr++] = (store_read){.r = d, .id = v[MOVE_below_id].s};
    if (!(up && down)) rd[nr++] = (store_read){.r = d, .q = &next};
    if (engine_prefetch(c, rd, nr)) return -1;
    res_row old, stage;
    if (engine_load(c, d, c->ids[0], NULL, &old)) return -1;
    if (engine_load(c, s, v[MOVE_stage_id].s, "stage_id", &stage)) return -1;
    if (strcmp(engine_text(&stage, STAGE_pipeline_id), engine_text(&old, DEAL_pipeline_id)) != 0)
        return engine_fail(c, EK_INVALID, "stage_id",
                           "stage %s belongs to another pipeline than the deal's", stage.id);
    const char *lo = NULL, *hi = NULL;
    res_row above, below;
    if (up) {
        if (anchor(c, v[MOVE_above_id].s, "above_id", stage.id, old.id, &above)) return -1;
        lo = engine_text(&above, DEAL_position);
    }
    if (down) {
        if (anchor(c, v[MOVE_below_id].s, "below_id", stage.id, old.id, &below)) return -1;
        hi = engine_text(&below, DEAL_position);
    }
    if (up && !down) hi = first_rank(&rd[nr - 1], old.id);
    if (down && !up) lo = first_rank(&rd[nr - 1], old.id);
    if (lo && hi && strcmp(lo, hi) >= 0)
        return engine_fail(c, EK_INVALID, "below_id",
                           "below_id must come after above_id in the stage");
    bool *set;
    res_row row = engine_copy_row(c, d, &old, &set);
    if (up || down) engine_set(&row, set, DEAL_position, sv_text(rank_between(c->a, lo, hi)));
    engine_set(&row, set, DEAL_stage_id, sv_text(arena_strdup(c->a, stage.id)));
    bool changed = strcmp(engine_text(&old, DEAL_stage_id), stage.id) != 0;
    if (!up && !down && changed) {
        /* Last in its new stage (the hook would ask the store again). */
        const res_row *tail = rd[nr - 1].n ? &rd[nr - 1].rows[0] : NULL;
        const char *after = tail ? engine_text(tail, DEAL_position) : NULL;
        engine_set(&row, set, DEAL_position, sv_text(rank_after(c->a, after)));
    }
    if (engine_update_row(c, d, &old, &row, set, changed ? "stage_changed" : "moved")) return -1;
    return engine_respond(c, d, &row, EK_OK);
}
