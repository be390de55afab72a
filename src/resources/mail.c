/* mail.c - what email connections and emails do beyond the generic
 * engine.
 *
 * A connection's password is sealed (core/crypto.h) before it is stored
 * and never answered (RF_HIDDEN); has_password says whether one is
 * set. Changing the server, the TLS mode or the login makes a verified
 * connection unverified again. Its port defaults by TLS mode (587, 465,
 * 25); its host is a name or an address, nothing a URL could smuggle a
 * path or a login into; its names hold no line break (headers).
 *
 * POST /v1/outbound/emails resolves `to` (a contact or a lead of the
 * workspace gives its email; else an address), refuses CR and LF in the
 * subject (header injection), applies template variables, and queues the
 * email; the mail worker (events/mail.c) sends it. Verify talks SMTP on
 * the request's thread (bounded at 10 s) and records its outcome through
 * the writer. The worker's results land here too: a claim before each
 * attempt, then sent (with an email activity on the contact or lead, in
 * the same savepoint), a retry after a backoff, or failed. Emails are
 * read_only in the table, so their events (email.queued, email.sent,
 * email.deferred, email.failed) are appended here, concerning the contact
 * or lead so they show on its timeline. */
#include <stdio.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"
#include "events/mail.h"
#include "resources/engine.h"
#include "resources/hooks.h"

#define MAIL_MAX_ATTEMPTS 6
/* Backoffs after attempts 1..5, in retry periods (a minute by default). */
static const int backoff[MAIL_MAX_ATTEMPTS - 1] = {1, 5, 30, 120, 360};

/* An engine call of the mail worker in ws: the system acts. */
typedef struct worker_call {
    arena a;
    engine_result r;
    engine_call c;
} worker_call;

static void worker_call_init(worker_call *w, store_conn *conn, const char *ws)
{
    arena_init(&w->a);
    engine_result_init(&w->r);
    w->c = (engine_call){
        .ws = ws, .actor = "system", .trace = "mail", .conn = conn, .a = &w->a, .out = &w->r};
}

/* The store status of the call's outcome (rc its hooks' -1 or 0). */
static int worker_call_end(worker_call *w, int rc)
{
    engine_kind k = w->r.kind;
    if (rc && k != EK_NOT_FOUND)
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"mail: %s\"}\n", w->r.message);
    int st = !rc || k == EK_NOT_FOUND ? STORE_OK
             : k == EK_UNAVAILABLE    ? STORE_UNAVAILABLE
             : k == EK_STORAGE_FULL   ? STORE_FULL
                                      : STORE_ERROR;
    engine_result_release(&w->r);
    arena_release(&w->a);
    return st;
}

static const char *cut(arena *a, const char *s, size_t max)
{
    if (!s || strlen(s) <= max) return s;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return arena_strndup(a, s, n);
}

/* ---------------------------------------------------------- connections */

static bool host_ok(const char *h)
{
    if (!h || !*h || *h == '-' || *h == '.') return false;
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == ':'))
            return false;
    return true;
}

static bool same_text(const store_val *a, const store_val *b)
{
    if (a->kind != b->kind) return false;
    if (a->kind == SV_TEXT) return strcmp(a->s, b->s) == 0;
    return a->kind != SV_INT || a->i == b->i;
}

static int conn_before(res_write *w)
{
    engine_call *c = w->c;
    res_row *row = w->row;
    store_val *v = row->vals;
    if (w->set[EMAILCONN_host] && !host_ok(engine_text(row, EMAILCONN_host)))
        return engine_fail(c, EK_INVALID, "host",
                           "host must be a host name or an IP address (letters, digits, '.', '-', "
                           "':')");
    static const int names[] = {EMAILCONN_name, EMAILCONN_from_name, EMAILCONN_username};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (w->set[names[i]] && !mail_header_safe(v[names[i]].s))
            return engine_fail(c, EK_INVALID, w->r->fields[names[i]].name,
                               "%s cannot hold a line break or another control character",
                               w->r->fields[names[i]].name);
    if (w->is_create && v[EMAILCONN_port].kind == SV_NULL) {
        const char *tls = engine_text(row, EMAILCONN_tls);
        engine_set(row, w->set, EMAILCONN_port,
                   sv_int(!strcmp(tls, "implicit") ? 465
                          : !strcmp(tls, "none")   ? 25
                                                   : 587));
    }
    if (w->set[EMAILCONN_password]) {
        const char *pw = engine_text(row, EMAILCONN_password);
        if (pw && !mail_header_safe(pw))
            return engine_fail(c, EK_INVALID, "password",
                               "password cannot hold a line break or another control character");
        engine_set(row, w->set, EMAILCONN_password,
                   sv_text(pw && *pw ? crypto_seal(c->a, pw) : NULL));
    }
    engine_set(row, w->set, EMAILCONN_has_password, sv_int(v[EMAILCONN_password].kind == SV_TEXT));
    if (w->is_create) return 0;
    /* What verify checked is no longer what would be used. */
    static const int login[] = {EMAILCONN_host, EMAILCONN_port, EMAILCONN_tls, EMAILCONN_username};
    bool changed = w->set[EMAILCONN_password];
    for (size_t i = 0; i < sizeof login / sizeof login[0] && !changed; i++)
        changed = w->set[login[i]] && !same_text(&w->old->vals[login[i]], &v[login[i]]);
    if (changed) {
        engine_set(row, w->set, EMAILCONN_status, sv_text("unverified"));
        engine_set(row, w->set, EMAILCONN_last_error, sv_text(NULL));
    }
    return 0;
}

const res_hooks email_conn_hooks = {.before_write = conn_before};

typedef struct verified {
    const char *id;
    const mail_outcome *o;
    int64_t now;
} verified;

static int record_verified(store_conn *conn, const char *ws, void *ud)
{
    verified *vf = ud;
    worker_call w;
    worker_call_init(&w, conn, ws);
    engine_call *c = &w.c;
    c->trace = "mail-verify";
    res_row old;
    /* Deleted meanwhile: nothing to record (not_found counts as done). */
    if (engine_load(c, RES(EMAILCONN), vf->id, NULL, &old)) return worker_call_end(&w, -1);
    bool *set;
    res_row row = engine_copy_row(c, RES(EMAILCONN), &old, &set);
    engine_set(&row, set, EMAILCONN_status, sv_text(vf->o->ok ? "verified" : "failed"));
    engine_set(&row, set, EMAILCONN_last_verified_at, sv_int(vf->now));
    engine_set(&row, set, EMAILCONN_last_error,
               sv_text(vf->o->ok ? NULL : cut(c->a, vf->o->error, 1000)));
    return worker_call_end(&w, engine_save(c, RES(EMAILCONN), &row, &old, set));
}

int email_conn_verify(engine_call *c)
{
    if (engine_params_check(c)) return -1;
    if (c->body && json_object_size(c->body) > 0)
        return engine_fail(c, EK_INVALID, json_object_iter_key(json_object_iter(c->body)),
                           "verify takes no body");
    res_row conn;
    if (engine_load(c, RES(EMAILCONN), c->ids[0], NULL, &conn)) return -1;
    if (c->dry_run) return engine_respond(c, RES(EMAILCONN), &conn, EK_OK);
    const store_val *v = conn.vals;
    mail_server s = {.host = engine_text(&conn, EMAILCONN_host),
                     .port = (int)engine_int(&conn, EMAILCONN_port, 25),
                     .tls = engine_text(&conn, EMAILCONN_tls),
                     .username = engine_text(&conn, EMAILCONN_username),
                     .helo = mail_domain(engine_text(&conn, EMAILCONN_from_address))};
    mail_outcome o = {0};
    if (v[EMAILCONN_password].kind == SV_TEXT &&
        !(s.password = crypto_open(c->a, v[EMAILCONN_password].s))) {
        o.param = "password";
        snprintf(o.error, sizeof o.error,
                 "the password cannot be decrypted with this server's key: set it again");
    } else {
        mail_verify(&s, &o);
    }
    verified vf = {.id = conn.id, .o = &o, .now = (int64_t)time_now_ms()};
    /* A server writes through its writer; `cairn mcp` runs each tool call
     * in a write transaction of its own connection. */
    int rc = mail_running() ? mail_write(c->ws, record_verified, &vf)
                            : record_verified(c->conn, c->ws, &vf);
    if (rc != STORE_OK) {
        store_err e;
        snprintf(e.msg, sizeof e.msg, "recording the verification failed");
        return engine_store_fail(c, rc, &e);
    }
    if (!o.ok)
        return engine_fail(c, EK_UNPROCESSABLE, o.param, "verifying the connection failed: %s",
                           o.error);
    bool *set;
    res_row row = engine_copy_row(c, RES(EMAILCONN), &conn, &set);
    row.vals[EMAILCONN_status] = sv_text("verified");
    row.vals[EMAILCONN_last_verified_at] = sv_int(vf.now);
    row.vals[EMAILCONN_last_error] = sv_text(NULL);
    row.updated_ms = vf.now;
    return engine_respond(c, RES(EMAILCONN), &row, EK_OK);
}

/* --------------------------------------------------------------- emails */

static void written(engine_call *c, const char *id)
{
    engine_result *o = c->out;
    for (int i = 0; i < o->nwritten; i++)
        if (!strcmp(o->written[i], id)) return;
    if (o->nwritten < ENGINE_MAX_WRITTEN) o->written[o->nwritten++] = arena_strdup(c->a, id);
}

/* Appends email.<action> with the record, concerning its contact or lead. */
static int email_event(engine_call *c, const res_row *row, const char *action)
{
    buf b;
    buf_init(&b, ENGINE_MAX_DATA);
    jw w;
    jw_init(&w, &b);
    engine_write_row(&w, RES(EMAIL), row);
    char type[64];
    snprintf(type, sizeof type, "email.%s", action);
    const char *subject = engine_text(row, EMAIL_contact_id);
    if (!subject) subject = engine_text(row, EMAIL_lead_id);
    store_err e;
    int rc = store_event_append(c->conn, c->ws, type, RES(EMAIL)->name, row->id, subject,
                                buf_cstr(&b), NULL, c->actor, &e);
    buf_free(&b);
    if (rc) return engine_store_fail(c, rc, &e);
    written(c, row->id);
    return 0;
}

/* `to`: a contact or a lead of the workspace (its email), or an address. */
static int resolve_to(engine_call *c, const char *to, const char **addr, const char **contact,
                      const char **lead)
{
    const res_def *r = !strncmp(to, "con_", 4)    ? RES(CONTACT)
                       : !strncmp(to, "lead_", 5) ? RES(LEAD)
                                                  : NULL;
    if (r) {
        res_row rec;
        if (engine_load(c, r, to, "to", &rec)) return -1;
        *addr = engine_text(&rec, r == RES(CONTACT) ? CONTACT_email : LEAD_email);
        if (!*addr)
            return engine_fail(c, EK_INVALID, "to", "%s %s has no email address", r->singular, to);
        *(r == RES(CONTACT) ? contact : lead) = arena_strdup(c->a, rec.id);
        return 0;
    }
    if (!strchr(to, '@'))
        return engine_fail(c, EK_INVALID, "to",
                           "to must be a contact id (con_...), a lead id (lead_...) or an email "
                           "address");
    /* The engine's own address rules, naming `to`. */
    static const res_field field = {.name = "to", .type = FT_EMAIL, .max_len = 254};
    json_t *body = json_pack("{s:s}", "to", to);
    store_val v;
    bool set;
    int rc = engine_parse_fields(c, &field, 1, body, &v, &set);
    json_decref(body);
    *addr = to;
    return rc;
}

/* s with template variables applied (NULL stays NULL). */
static int render(engine_call *c, const char *field, const char *s, json_t *vars, bool html,
                  int max, const char **out)
{
    *out = s;
    if (!s || !vars) return 0;
    buf b;
    buf_init(&b, (size_t)max * 4 + 1);
    char missing[128];
    int rc = mail_render(s, vars, html, &b, missing, sizeof missing);
    if (rc == 0 && b.overflow) rc = 1;
    if (rc == 0) *out = arena_strndup(c->a, b.data ? b.data : "", b.len);
    buf_free(&b);
    if (rc < 0)
        return engine_fail(c, EK_INVALID, "template_variables",
                           "%s uses {{%s}}, which template_variables does not give", field,
                           missing);
    if (rc > 0)
        return engine_fail(c, EK_INVALID, field, "%s is over %d characters with its variables",
                           field, max);
    return 0;
}

int email_send(engine_call *c)
{
    const res_action *a = c->action;
    store_val v[EMAILIN__COUNT];
    bool given[EMAILIN__COUNT];
    if (engine_params_check(c) || engine_parse_fields(c, a->body, a->nbody, c->body, v, given))
        return -1;
    const char *text = given[EMAILIN_text] && *v[EMAILIN_text].s ? v[EMAILIN_text].s : NULL;
    const char *html = given[EMAILIN_html] && *v[EMAILIN_html].s ? v[EMAILIN_html].s : NULL;
    if (!text && !html)
        return engine_fail(c, EK_INVALID, "text", "text or html (or both) is required");
    if (!mail_header_safe(v[EMAILIN_subject].s))
        return engine_fail(c, EK_INVALID, "subject",
                           "subject cannot hold CR, LF or another control character");
    res_row conn;
    if (engine_load(c, RES(EMAILCONN), v[EMAILIN_connection_id].s, "connection_id", &conn))
        return -1;
    const char *addr = NULL, *contact = NULL, *lead = NULL;
    if (resolve_to(c, v[EMAILIN_to].s, &addr, &contact, &lead)) return -1;
    json_t *vars =
        given[EMAILIN_template_variables] ? json_object_get(c->body, "template_variables") : NULL;
    const char *subject;
    if (render(c, "subject", v[EMAILIN_subject].s, vars, false, 998, &subject) ||
        render(c, "text", text, vars, false, 500000, &text) ||
        render(c, "html", html, vars, true, 500000, &html))
        return -1;
    if (!mail_header_safe(subject))
        return engine_fail(c, EK_INVALID, "template_variables",
                           "subject would hold CR, LF or another control character once its "
                           "variables are applied");
    int64_t now = (int64_t)time_now_ms();
    bool *set;
    res_row row = engine_new_row(c, RES(EMAIL), &set);
    id_new(row.id, RES(EMAIL)->prefix);
    engine_set(&row, set, EMAIL_connection_id, sv_text(conn.id));
    engine_set(&row, set, EMAIL_to_address, sv_text(addr));
    engine_set(&row, set, EMAIL_contact_id, sv_text(contact));
    engine_set(&row, set, EMAIL_lead_id, sv_text(lead));
    engine_set(&row, set, EMAIL_subject, sv_text(subject));
    engine_set(&row, set, EMAIL_text, sv_text(text));
    engine_set(&row, set, EMAIL_html, sv_text(html));
    engine_set(&row, set, EMAIL_template_variables, v[EMAILIN_template_variables]);
    engine_set(&row, set, EMAIL_status, sv_text("queued"));
    engine_set(&row, set, EMAIL_attempt_count, sv_int(0));
    engine_set(&row, set, EMAIL_next_attempt_at, sv_int(now));
    engine_set(&row, set, EMAIL_message_id,
               sv_text(arena_printf(c->a, "<%s@%s>", row.id,
                                    mail_domain(engine_text(&conn, EMAILCONN_from_address)))));
    if (engine_insert(c, RES(EMAIL), &row, set) || email_event(c, &row, "queued")) return -1;
    if (!c->dry_run) mail_wake();
    return engine_respond(c, RES(EMAIL), &row, EK_CREATED);
}

/* ------------------------------------------------- the worker's results */

/* Marks old failed with why (a reply or a reason); -1 on failure. */
static int fail_email(engine_call *c, const res_row *old, res_row *row, bool *set, const char *why)
{
    engine_set(row, set, EMAIL_status, sv_text("failed"));
    engine_set(row, set, EMAIL_next_attempt_at, sv_text(NULL));
    engine_set(row, set, EMAIL_last_error, sv_text(cut(c->a, why, 1000)));
    if (engine_save(c, RES(EMAIL), row, old, set)) return -1;
    return email_event(c, row, "failed");
}

int mail_claim(store_conn *conn, const char *ws, const char *id, int64_t now, int64_t lease_ms,
               bool *claimed)
{
    *claimed = false;
    worker_call w;
    worker_call_init(&w, conn, ws);
    engine_call *c = &w.c;
    /* Another node's claim of the same email waits here, then finds it
     * claimed (PostgreSQL); SQLite has one writer anyway. */
    store_err e;
    int rc = store_lock(conn, ws, id, &e);
    if (rc) return worker_call_end(&w, engine_store_fail(c, rc, &e));
    res_row old;
    if (engine_load(c, RES(EMAIL), id, NULL, &old)) return worker_call_end(&w, -1);
    if (strcmp(engine_text(&old, EMAIL_status), "queued") != 0 ||
        engine_int(&old, EMAIL_next_attempt_at, 0) > now)
        return worker_call_end(&w, 0);
    bool *set;
    res_row row = engine_copy_row(c, RES(EMAIL), &old, &set);
    int64_t n = engine_int(&old, EMAIL_attempt_count, 0);
    if (n >= MAIL_MAX_ATTEMPTS) /* every attempt was cut short (a crash, a stop) */
        return worker_call_end(
            &w, fail_email(c, &old, &row, set,
                           arena_printf(c->a, "no outcome after %d attempts", MAIL_MAX_ATTEMPTS)));
    engine_set(&row, set, EMAIL_attempt_count, sv_int(n + 1));
    engine_set(&row, set, EMAIL_last_attempt_at, sv_int(now));
    engine_set(&row, set, EMAIL_next_attempt_at, sv_int(now + lease_ms));
    rc = engine_save(c, RES(EMAIL), &row, &old, set);
    *claimed = rc == 0;
    return worker_call_end(&w, rc);
}

/* The email activity of a sent email, on its contact or lead. */
static int log_activity(engine_call *c, res_row *email, bool *eset, int64_t now)
{
    const char *contact = engine_text(email, EMAIL_contact_id);
    const char *lead = engine_text(email, EMAIL_lead_id);
    if (!contact && !lead) return 0;
    bool *set;
    res_row act = engine_new_row(c, RES(ACTIVITY), &set);
    const char *subject = engine_text(email, EMAIL_subject);
    const char *body = engine_text(email, EMAIL_text);
    if (!body) body = engine_text(email, EMAIL_html);
    engine_set(&act, set, ACTIVITY_type, sv_text("email"));
    engine_set(
        &act, set, ACTIVITY_summary,
        sv_text(cut(c->a,
                    arena_printf(c->a, "Email to %s: %s", engine_text(email, EMAIL_to_address),
                                 subject ? subject : ""),
                    480)));
    engine_set(&act, set, ACTIVITY_body, sv_text(cut(c->a, body, 100000)));
    engine_set(&act, set, ACTIVITY_occurred_at, sv_int(now));
    engine_set(&act, set, ACTIVITY_related_resource_type, sv_text(contact ? "contact" : "lead"));
    engine_set(&act, set, ACTIVITY_related_resource_id, sv_text(contact ? contact : lead));
    engine_set(&act, set, ACTIVITY_actor, sv_text(email->id));
    if (engine_insert(c, RES(ACTIVITY), &act, set)) return -1;
    engine_set(email, eset, EMAIL_activity_id, sv_text(arena_strdup(c->a, act.id)));
    return 0;
}

int mail_record(store_conn *conn, const char *ws, const char *id, const mail_outcome *o,
                int64_t now, int64_t retry_ms)
{
    worker_call w;
    worker_call_init(&w, conn, ws);
    engine_call *c = &w.c;
    res_row old;
    if (engine_load(c, RES(EMAIL), id, NULL, &old)) return worker_call_end(&w, -1);
    /* Recorded already (a claim that outlived its lease elsewhere). */
    if (strcmp(engine_text(&old, EMAIL_status), "queued") != 0) return worker_call_end(&w, 0);
    bool *set;
    res_row row = engine_copy_row(c, RES(EMAIL), &old, &set);
    engine_set(&row, set, EMAIL_smtp_code, o->code ? sv_int(o->code) : sv_text(NULL));
    engine_set(&row, set, EMAIL_smtp_response, sv_text(o->reply[0] ? o->reply : NULL));
    if (o->ok) {
        engine_set(&row, set, EMAIL_status, sv_text("sent"));
        engine_set(&row, set, EMAIL_sent_at, sv_int(now));
        engine_set(&row, set, EMAIL_next_attempt_at, sv_text(NULL));
        engine_set(&row, set, EMAIL_last_error, sv_text(NULL));
        int rc = log_activity(c, &row, set, now);
        if (!rc) rc = engine_save(c, RES(EMAIL), &row, &old, set);
        if (!rc) rc = email_event(c, &row, "sent");
        return worker_call_end(&w, rc);
    }
    int64_t n = engine_int(&old, EMAIL_attempt_count, 1);
    if (!o->temporary || n >= MAIL_MAX_ATTEMPTS) {
        const char *why = o->temporary ? arena_printf(c->a, "gave up after %d attempts: %s",
                                                      MAIL_MAX_ATTEMPTS, o->error)
                                       : o->error;
        return worker_call_end(&w, fail_email(c, &old, &row, set, why));
    }
    engine_set(&row, set, EMAIL_next_attempt_at,
               sv_int(now + retry_ms * backoff[n < 1 ? 0 : n - 1]));
    engine_set(&row, set, EMAIL_last_error, sv_text(cut(c->a, o->error, 1000)));
    int rc = engine_save(c, RES(EMAIL), &row, &old, set);
    if (!rc) rc = email_event(c, &row, "deferred");
    return worker_call_end(&w, rc);
}
