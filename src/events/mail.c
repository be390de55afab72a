/* mail.c - outbound email; see mail.h.
 *
 * Threads: mail_verify runs on the request's thread; mail_send and
 * everything below "the worker" on the one worker thread, which owns its
 * store connection. Each SMTP exchange has an easy handle of its own,
 * cleaned up before the function returns, and CURLOPT_NOSIGNAL (a timeout
 * must not raise SIGALRM in a threaded server). */
#include "events/mail.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/writer.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/timeutil.h"
#include "resources/hooks.h"

#define VERIFY_CONNECT_MS 5000
#define VERIFY_TOTAL_MS   10000
#define SEND_CONNECT_MS   10000
#define SEND_TOTAL_MS     120000
#define MESSAGE_MAX       (4u << 20) /* subject, two bodies of 500 KB, encoded */
#define DUE_PAGE          20

/* Set while the server stops: a send under way is cut short. */
static atomic_bool stopping;

/* ------------------------------------------------------------ templates */

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
}

static void put_escaped(buf *out, const char *s, size_t n, bool html)
{
    if (!html) {
        buf_append(out, s, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': buf_puts(out, "&amp;"); break;
        case '<': buf_puts(out, "&lt;"); break;
        case '>': buf_puts(out, "&gt;"); break;
        case '"': buf_puts(out, "&quot;"); break;
        case '\'': buf_puts(out, "&#39;"); break;
        default: buf_putc(out, s[i]);
        }
    }
}

int mail_render(const char *tmpl, json_t *vars, bool html, buf *out, char *missing, size_t cap)
{
    const char *p = tmpl;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (!open) {
            buf_puts(out, p);
            break;
        }
        buf_append(out, p, (size_t)(open - p));
        const char *n = open + 2, *close = strstr(n, "}}");
        while (close && *n == ' ')
            n++;
        const char *e = n;
        while (close && e < close && name_char(*e))
            e++;
        const char *end = e;
        while (close && end < close && *end == ' ')
            end++;
        if (!close || e == n || end != close || e - n > 100) {
            /* Not a placeholder: the braces are text. */
            buf_append(out, open, 2);
            p = open + 2;
            continue;
        }
        char name[101];
        memcpy(name, n, (size_t)(e - n));
        name[e - n] = '\0';
        json_t *v = json_object_get(vars, name);
        if (!v || json_is_null(v)) {
            snprintf(missing, cap, "%s", name);
            return -1;
        }
        if (json_is_string(v)) {
            put_escaped(out, json_string_value(v), json_string_length(v), html);
        } else {
            char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            if (s) put_escaped(out, s, strlen(s), html);
            free(s);
        }
        p = close + 2;
    }
    return 0;
}

bool mail_header_safe(const char *s)
{
    for (; s && *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f) return false;
    return true;
}

/* -------------------------------------------------------------- message */

static bool ascii_text(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return false;
    return true;
}

/* s as RFC 2047 encoded words ("=?UTF-8?B?...?="), each at most 75
 * characters and never splitting a UTF-8 character, folded onto lines of
 * their own. */
static void put_words(buf *b, const char *s)
{
    size_t n = strlen(s), at = 0;
    bool first = true;
    while (at < n || first) {
        size_t take = n - at > 45 ? 45 : n - at; /* 45 bytes: 60 of base64 */
        while (take > 0 && at + take < n && ((unsigned char)s[at + take] & 0xc0) == 0x80)
            take--;
        char enc[B64_LEN(45) + 1];
        b64_encode(s + at, take, enc);
        buf_printf(b, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", enc);
        at += take;
        first = false;
    }
}

/* A display name: a quoted string when it is ASCII, else encoded words. */
static void put_name(buf *b, const char *name)
{
    if (!ascii_text(name)) {
        put_words(b, name);
        return;
    }
    buf_putc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"' || *p == '\\') buf_putc(b, '\\');
        buf_putc(b, *p);
    }
    buf_putc(b, '"');
}

/* Quoted-printable (RFC 2045) with CRLF hard breaks for every line end of
 * the text, soft breaks keeping lines within 76 characters, and a dot
 * that would start a line encoded (SMTP's end of data is a lone dot). */
static void put_qp(buf *b, const char *s)
{
    int col = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            if (*p == '\r' && p[1] == '\n') p++;
            buf_puts(b, "\r\n");
            col = 0;
            continue;
        }
        unsigned char ch = (unsigned char)*p;
        bool eol = p[1] == '\0' || p[1] == '\r' || p[1] == '\n';
        bool lit = (ch >= 33 && ch <= 126 && ch != '=') || ((ch == ' ' || ch == '\t') && !eol);
        if (col + (lit ? 1 : 3) > 75) {
            buf_puts(b, "=\r\n");
            col = 0;
        }
        if (col == 0 && ch == '.') lit = false;
        if (lit)
            buf_putc(b, (char)ch);
        else
            buf_printf(b, "=%02X", ch);
        col += lit ? 1 : 3;
    }
    buf_puts(b, "\r\n");
}

static void put_part_headers(buf *b, const char *type)
{
    buf_printf(b,
               "Content-Type: text/%s; charset=UTF-8\r\n"
               "Content-Transfer-Encoding: quoted-printable\r\n",
               type);
}

bool mail_build(const mail_message *m, buf *b)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(m->date_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday,
               months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    buf_puts(b, "From: ");
    if (m->from_name && m->from_name[0]) {
        put_name(b, m->from_name);
        buf_putc(b, ' ');
    }
    buf_printf(b, "<%s>\r\n", m->from_address);
    buf_printf(b, "To: <%s>\r\n", m->to);
    buf_puts(b, "Subject: ");
    if (ascii_text(m->subject) && strlen(m->subject) <= 900)
        buf_puts(b, m->subject);
    else
        put_words(b, m->subject);
    buf_puts(b, "\r\n");
    buf_printf(b, "Message-ID: %s\r\nMIME-Version: 1.0\r\n", m->message_id);
    bool text = m->text && m->text[0], html = m->html && m->html[0];
    if (text && html) {
        /* "=_" never occurs in quoted-printable, so no part holds it. */
        unsigned char r[12];
        char boundary[64] = "=_cairn_";
        rand_bytes(r, sizeof r);
        for (size_t i = 0; i < sizeof r; i++)
            snprintf(boundary + strlen(boundary), 3, "%02x", r[i]);
        buf_printf(b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary);
        buf_printf(b, "This is a message in MIME format.\r\n--%s\r\n", boundary);
        put_part_headers(b, "plain");
        buf_puts(b, "\r\n");
        put_qp(b, m->text);
        buf_printf(b, "--%s\r\n", boundary);
        put_part_headers(b, "html");
        buf_puts(b, "\r\n");
        put_qp(b, m->html);
        buf_printf(b, "--%s--\r\n", boundary);
    } else {
        put_part_headers(b, html ? "html" : "plain");
        buf_puts(b, "\r\n");
        put_qp(b, html ? m->html : text ? m->text : "");
    }
    return !b->overflow;
}

/* ----------------------------------------------------------------- SMTP */

typedef struct exchange {
    int code;        /* the last reply's code, but QUIT's */
    char reply[512]; /* and its text */
    const char *msg; /* the message being uploaded */
    size_t len, at;
} exchange;

/* libcurl hands every SMTP reply line to the header callback. A final
 * line ("250 ok", not "250-...") ends a reply; QUIT's 221 is not what the
 * caller wants to hear about. */
static size_t on_reply(char *p, size_t size, size_t n, void *ud)
{
    exchange *x = ud;
    size_t len = size * n, l = len;
    while (l > 0 && (p[l - 1] == '\r' || p[l - 1] == '\n'))
        l--;
    if (l >= 3 && p[0] >= '1' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
        p[2] <= '9' && (l == 3 || p[3] == ' ')) {
        int code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
        if (code != 221) {
            x->code = code;
            if (l >= sizeof x->reply) l = sizeof x->reply - 1;
            memcpy(x->reply, p, l);
            x->reply[l] = '\0';
            for (char *c = x->reply; *c; c++)
                if ((unsigned char)*c < 0x20) *c = ' ';
        }
    }
    return len;
}

static size_t on_read(char *dst, size_t size, size_t n, void *ud)
{
    exchange *x = ud;
    size_t room = size * n, left = x->len - x->at;
    if (room > left) room = left;
    memcpy(dst, x->msg + x->at, room);
    x->at += room;
    return room;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)ud, (void)dt, (void)dn, (void)ut, (void)un;
    return atomic_load(&stopping) ? 1 : 0;
}

/* An easy handle set up for the server s; NULL when libcurl has no
 * memory. url gets the URL (kept alive by the caller). */
static CURL *open_handle(const mail_server *s, exchange *x, char *url, size_t cap, char *err,
                         long connect_ms, long total_ms)
{
    CURL *h = curl_easy_init();
    if (!h) return NULL;
    bool v6 = strchr(s->host, ':') != NULL;
    snprintf(url, cap, "%s://%s%s%s:%d/%s", strcmp(s->tls, "implicit") ? "smtp" : "smtps",
             v6 ? "[" : "", s->host, v6 ? "]" : "", s->port, s->helo ? s->helo : "");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     strcmp(s->tls, "none") ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
    if (s->username && s->username[0]) {
        curl_easy_setopt(h, CURLOPT_USERNAME, s->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, s->password ? s->password : "");
    }
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_reply);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    return h;
}

/* What libcurl's result and the last reply come to. */
static void classify(const mail_server *s, CURL *h, CURLcode rc, const exchange *x, const char *err,
                     mail_outcome *o)
{
    o->code = x->code;
    snprintf(o->reply, sizeof o->reply, "%s", x->reply);
    if (rc == CURLE_OK) {
        o->ok = true;
        return;
    }
    long last = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &last);
    if (!o->code && last >= 100 && last < 600) o->code = (int)last;
    const char *why = err[0] ? err : curl_easy_strerror(rc);
    o->aborted = rc == CURLE_ABORTED_BY_CALLBACK;
    if (o->code >= 400) {
        o->temporary = o->code < 500;
        /* The reply names the refusal; libcurl's words say at which step. */
        snprintf(o->error, sizeof o->error, "%s: the SMTP server answered %s", why,
                 o->reply[0] ? o->reply : "with an error");
        o->param = rc == CURLE_LOGIN_DENIED ? "password" : NULL;
        return;
    }
    switch (rc) {
    case CURLE_USE_SSL_FAILED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
        o->temporary = rc == CURLE_SSL_CONNECT_ERROR;
        o->param = "tls";
        break;
    case CURLE_LOGIN_DENIED: o->param = "username"; break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: o->param = "host"; break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        o->temporary = true;
        o->param = "host";
        break;
    default: o->temporary = true; /* timeouts, a connection cut: try again */
    }
    snprintf(o->error, sizeof o->error, "%s (SMTP server %s:%d, tls %s)", why, s->host, s->port,
             s->tls);
}

void mail_verify(const mail_server *s, mail_outcome *o)
{
    memset(o, 0, sizeof *o);
    exchange x = {0};
    char url[600], err[CURL_ERROR_SIZE] = "";
    CURL *h = open_handle(s, &x, url, sizeof url, err, VERIFY_CONNECT_MS, VERIFY_TOTAL_MS);
    if (!h) {
        o->temporary = true;
        snprintf(o->error, sizeof o->error, "out of memory");
        return;
    }
    /* SMTP's connect phase is the greeting, EHLO, STARTTLS and AUTH:
     * stopping there checks all a send needs before MAIL FROM. */
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    CURLcode rc = curl_easy_perform(h);
    classify(s, h, rc, &x, err, o);
    curl_easy_cleanup(h);
}

void mail_send(const mail_server *s, const char *from, const char *to, const char *msg, size_t len,
               mail_outcome *o)
{
    memset(o, 0, sizeof *o);
    exchange x = {.msg = msg, .len = len};
    char url[600], err[CURL_ERROR_SIZE] = "", mfrom[300], mto[300];
    CURL *h = open_handle(s, &x, url, sizeof url, err, SEND_CONNECT_MS, SEND_TOTAL_MS);
    if (!h) {
        o->temporary = true;
        snprintf(o->error, sizeof o->error, "out of memory");
        return;
    }
    snprintf(mfrom, sizeof mfrom, "<%s>", from);
    snprintf(mto, sizeof mto, "<%s>", to);
    struct curl_slist *rcpt = curl_slist_append(NULL, mto);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, mfrom);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &x);
    CURLcode rc = rcpt ? curl_easy_perform(h) : CURLE_OUT_OF_MEMORY;
    classify(s, h, rc, &x, err, o);
    curl_easy_cleanup(h);
    curl_slist_free_all(rcpt);
}

/* ------------------------------------------------------ through the writer */

typedef struct wait_job {
    writer_job j; /* first: the writer hands this back */
    int (*fn)(store_conn *c, const char *ws, void *ud);
    void *ud;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
} wait_job;

static int wait_run(writer_job *j, store_conn *c)
{
    wait_job *w = (wait_job *)j;
    return w->fn(c, j->ws, w->ud);
}

static void wait_done(writer_job *j)
{
    wait_job *w = (wait_job *)j;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static atomic_bool running;

bool mail_running(void)
{
    return atomic_load(&running);
}

int mail_write(const char *ws, int (*fn)(store_conn *c, const char *ws, void *ud), void *ud)
{
    wait_job w = {.j = {.run = wait_run, .ws = ws, .done = wait_done}, .fn = fn, .ud = ud};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    writer_submit(&w.j);
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return w.j.rc;
}

/* ------------------------------------------------------------- the worker */

static struct {
    pthread_t tid;
    store_conn *conn;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool woken;
    int64_t retry_ms;
} W;

void mail_wake(void)
{
    if (!mail_running()) return;
    pthread_mutex_lock(&W.mu);
    W.woken = true;
    pthread_cond_signal(&W.cv);
    pthread_mutex_unlock(&W.mu);
}

typedef struct claim_ctx {
    const char *id;
    int64_t now, lease_ms;
    bool claimed;
} claim_ctx;

static int claim_fn(store_conn *c, const char *ws, void *ud)
{
    claim_ctx *k = ud;
    return mail_claim(c, ws, k->id, k->now, k->lease_ms, &k->claimed);
}

typedef struct record_ctx {
    const char *id;
    const mail_outcome *o;
    int64_t now, retry_ms;
} record_ctx;

static int record_fn(store_conn *c, const char *ws, void *ud)
{
    record_ctx *r = ud;
    return mail_record(c, ws, r->id, r->o, r->now, r->retry_ms);
}

const char *mail_domain(const char *address)
{
    const char *at = address ? strrchr(address, '@') : NULL;
    return at ? at + 1 : "localhost";
}

/* A text value, NULL when null (a null value's s is not defined). */
static const char *txt(const store_val *v)
{
    return v->kind == SV_TEXT ? v->s : NULL;
}

/* The connection an email goes through, as SMTP needs it; false with the
 * reason in o when it cannot be used. */
static bool load_server(arena *a, const char *ws, const char *conn_id, mail_server *s,
                        const char **from, const char **from_name, mail_outcome *o)
{
    res_row r;
    store_err e;
    int rc =
        conn_id ? store_rec_get(W.conn, a, RES(EMAILCONN), ws, conn_id, &r, &e) : STORE_NOTFOUND;
    if (rc == STORE_NOTFOUND) {
        snprintf(o->error, sizeof o->error, "its email connection was deleted");
        return false;
    }
    if (rc != STORE_OK) {
        o->temporary = true;
        snprintf(o->error, sizeof o->error, "reading its email connection: %s", e.msg);
        return false;
    }
    const store_val *v = r.vals;
    *s = (mail_server){.host = txt(&v[EMAILCONN_host]),
                       .port = (int)v[EMAILCONN_port].i,
                       .tls = txt(&v[EMAILCONN_tls]),
                       .username = txt(&v[EMAILCONN_username]),
                       .helo = mail_domain(txt(&v[EMAILCONN_from_address]))};
    if (v[EMAILCONN_password].kind == SV_TEXT) {
        s->password = crypto_open(a, v[EMAILCONN_password].s);
        if (!s->password) {
            snprintf(o->error, sizeof o->error,
                     "the connection's password cannot be decrypted with this server's key: set "
                     "it again");
            return false;
        }
    }
    *from = txt(&v[EMAILCONN_from_address]);
    *from_name = txt(&v[EMAILCONN_from_name]);
    return true;
}

/* One due email: claim, send, record. */
static void deliver(const char *ws, const res_row *em)
{
    claim_ctx k = {.id = em->id, .now = (int64_t)time_now_ms(), .lease_ms = 10 * W.retry_ms};
    if (mail_write(ws, claim_fn, &k) != STORE_OK || !k.claimed) return;
    arena a;
    arena_init(&a);
    mail_outcome o = {0};
    mail_server s;
    const char *from, *from_name;
    const store_val *v = em->vals;
    if (load_server(&a, ws, txt(&v[EMAIL_connection_id]), &s, &from, &from_name, &o)) {
        mail_message m = {.from_address = from,
                          .from_name = from_name,
                          .to = txt(&v[EMAIL_to_address]),
                          .subject = txt(&v[EMAIL_subject]) ? v[EMAIL_subject].s : "",
                          .text = txt(&v[EMAIL_text]),
                          .html = txt(&v[EMAIL_html]),
                          .message_id = txt(&v[EMAIL_message_id]),
                          .date_ms = (int64_t)time_now_ms()};
        buf msg;
        buf_init(&msg, MESSAGE_MAX);
        if (!mail_build(&m, &msg))
            snprintf(o.error, sizeof o.error, "the message is over %u bytes", MESSAGE_MAX);
        else
            mail_send(&s, from, m.to, msg.data, msg.len, &o);
        buf_free(&msg);
    }
    /* Cut short by the stop: the claim's lease runs out and it goes again. */
    if (!o.aborted) {
        record_ctx r = {
            .id = em->id, .o = &o, .now = (int64_t)time_now_ms(), .retry_ms = W.retry_ms};
        int rc = mail_write(ws, record_fn, &r);
        if (rc != STORE_OK)
            fprintf(stderr,
                    "{\"level\":\"error\",\"msg\":\"recording an email's outcome failed; it is "
                    "sent again\",\"email\":\"%s\",\"store\":%d}\n",
                    em->id, rc);
    }
    arena_release(&a);
}

/* Sends what is due in every workspace; how many it tried. */
static int scan(void)
{
    store_ws_list l = {0};
    store_err e;
    int tried = 0;
    if (store_workspace_ids(W.conn, &l, &e) != STORE_OK) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"mail worker: %s\"}\n", e.msg);
        store_ws_free(&l);
        return 0;
    }
    for (int i = 0; i < l.n && !atomic_load(&stopping); i++) {
        arena a;
        arena_init(&a);
        store_filter f[2] = {
            {.field = EMAIL_status, .v = sv_text("queued")},
            {.field = EMAIL_next_attempt_at, .op = SF_LT, .v = sv_int((int64_t)time_now_ms() + 1)},
        };
        store_query q = {
            .filters = f, .nfilters = 2, .ascending = true, .limit = DUE_PAGE, .link_field = -1};
        res_row *rows;
        int n = 0;
        bool more;
        if (store_rec_list(W.conn, &a, RES(EMAIL), l.id[i], &q, &rows, &n, &more, &e) != STORE_OK)
            fprintf(stderr, "{\"level\":\"error\",\"msg\":\"mail worker: %s\"}\n", e.msg);
        for (int k = 0; k < n && !atomic_load(&stopping); k++, tried++)
            deliver(l.id[i], &rows[k]);
        arena_release(&a);
    }
    store_ws_free(&l);
    return tried;
}

static void *worker(void *arg)
{
    (void)arg;
    /* Often enough that a retry is not late by much more than the period
     * (and that tests, which shorten it, see them soon). */
    long tick = (long)(W.retry_ms / 4);
    if (tick < 20) tick = 20;
    if (tick > 1000) tick = 1000;
    while (!atomic_load(&stopping)) {
        int tried = scan();
        pthread_mutex_lock(&W.mu);
        if (!tried && !W.woken && !atomic_load(&stopping)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += tick * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&W.cv, &W.mu, &until);
        }
        bool woken = W.woken;
        W.woken = false;
        pthread_mutex_unlock(&W.mu);
        /* Woken by a create, which commits with its writer's batch a
         * moment later. */
        if (woken) nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
    }
    return NULL;
}

int mail_start(store *db, store_err *e)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    W.retry_ms = 60000;
    const char *env = getenv("CAIRN_MAIL_RETRY_MS");
    if (env && *env) {
        char *end;
        errno = 0;
        long long v = strtoll(env, &end, 10);
        if (errno || *end || v < 1 || v > 86400000) {
            snprintf(e->msg, sizeof e->msg, "CAIRN_MAIL_RETRY_MS wants 1 to 86400000 (ms)");
            curl_global_cleanup();
            return STORE_ERROR;
        }
        W.retry_ms = v;
    }
    int rc = store_connect(db, &W.conn, e);
    if (rc != STORE_OK) {
        curl_global_cleanup();
        return rc;
    }
    store_small_reads(W.conn);
    pthread_mutex_init(&W.mu, NULL);
    pthread_cond_init(&W.cv, NULL);
    atomic_store(&stopping, false);
    atomic_store(&running, true);
    if (pthread_create(&W.tid, NULL, worker, NULL) != 0) {
        atomic_store(&running, false);
        store_disconnect(W.conn);
        pthread_mutex_destroy(&W.mu);
        pthread_cond_destroy(&W.cv);
        curl_global_cleanup();
        snprintf(e->msg, sizeof e->msg, "cannot start the mail worker");
        return STORE_ERROR;
    }
    pthread_setname_np(W.tid, "cairn-mail");
    return STORE_OK;
}

void mail_stop(void)
{
    if (!mail_running()) return;
    atomic_store(&stopping, true);
    pthread_mutex_lock(&W.mu);
    pthread_cond_signal(&W.cv);
    pthread_mutex_unlock(&W.mu);
    pthread_join(W.tid, NULL);
    atomic_store(&running, false);
    store_disconnect(W.conn);
    pthread_mutex_destroy(&W.mu);
    pthread_cond_destroy(&W.cv);
    curl_global_cleanup();
}
