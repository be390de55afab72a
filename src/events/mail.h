/* mail.h - outbound email: the message, SMTP through libcurl, the worker.
 *
 * Owns: turning an email into an RFC 5322 message (Date, From, To,
 * Subject in RFC 2047 words when not ASCII, Message-ID, UTF-8 parts in
 * quoted-printable, multipart/alternative for text and HTML), template
 * variables ({{name}}), talking SMTP to a connection's server with
 * libcurl (connect, TLS as configured, AUTH, MAIL, RCPT, DATA) and
 * classifying what it answered (sent, worth a retry, refused for good),
 * and the worker thread that sends queued emails. The worker reads with
 * its own store connection and writes every result through the writer
 * (api/writer.h): on SQLite only the writer may write. What a result does
 * to the records (an email's status, its activity, a connection's
 * verification) is the email family's, in resources/mail.c.
 *
 * At least once: an email stays queued until its result is committed. The
 * worker first claims it (attempt_count + 1, next_attempt_at pushed past a
 * lease of 10 retry periods, under a lock on its id so two nodes never
 * both claim it), then sends, then records; a process killed between the
 * two sends it again once the lease runs out. */
#ifndef CAIRN_MAIL_H
#define CAIRN_MAIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "store/store.h"

/* An email connection as SMTP needs it; strings borrowed. */
typedef struct mail_server {
    const char *host;
    int port;
    const char *tls;      /* "starttls", "implicit" or "none" */
    const char *username; /* NULL: no AUTH */
    const char *password; /* in clear, NULL when none */
    const char *helo;     /* the name EHLO gives: the sender's domain */
} mail_server;

/* What one SMTP exchange came to. */
typedef struct mail_outcome {
    bool ok;
    bool temporary;    /* a failure worth another attempt: a 4xx reply, no connection */
    bool aborted;      /* the server is stopping: nothing to record */
    int code;          /* the server's last reply code (0: none came) */
    char reply[512];   /* that reply, as the server wrote it */
    char error[768];   /* for people: what failed, with the reply */
    const char *param; /* verify: the connection's field most likely at fault, or NULL */
} mail_outcome;

/* Connects, does TLS as configured and logs in (when a username is set),
 * then says QUIT; bounded by a connect timeout of 5 s and 10 s in all,
 * since it runs on the thread of the request that asked. */
void mail_verify(const mail_server *s, mail_outcome *out);
/* Sends the message msg[0..len) (CRLF lines) from `from` to `to`. */
void mail_send(const mail_server *s, const char *from, const char *to, const char *msg, size_t len,
               mail_outcome *out);

/* An email as mail_build writes it; strings borrowed. text and html:
 * either or both (NULL when absent). */
typedef struct mail_message {
    const char *from_address, *from_name, *to, *subject, *text, *html, *message_id;
    int64_t date_ms;
} mail_message;

/* Writes the message into out (CRLF line ends). false when it does not
 * fit out's cap. */
bool mail_build(const mail_message *m, buf *out);

/* Replaces each {{name}} (spaces allowed inside the braces; names of
 * [A-Za-z0-9_.-]) in tmpl with its value in vars (strings as they are,
 * numbers and booleans as JSON writes them), HTML-escaped when html.
 * Braces around anything else stay as written. 0, or -1 with the first
 * name vars lacks in missing (cap bytes). */
int mail_render(const char *tmpl, json_t *vars, bool html, buf *out, char *missing, size_t cap);

/* The domain of an address (what EHLO and Message-ID name), "localhost"
 * when it has none. */
const char *mail_domain(const char *address);

/* Whether s is fit for a header: no control character but TAB. */
bool mail_header_safe(const char *s);

/* Starts the worker (after the writers; it writes through them), reading
 * CAIRN_MAIL_RETRY_MS: the retry period, 60000 (a minute) by default;
 * tests shorten it. Calls curl_global_init first, so call it before other
 * threads use libcurl. */
int mail_start(store *db, store_err *e);
/* Stops it (a send under way is cut short and left queued), before the
 * writers stop. */
void mail_stop(void);
/* Whether the worker runs (a server): writes then go through the writer. */
bool mail_running(void);
/* Tells the worker an email was queued. */
void mail_wake(void);
/* Runs fn(c, ws, ud) in a savepoint of the writer's next batch for
 * workspace ws and waits until it is durable: fn's store status, or the
 * batch's failure. Only while mail_running(). */
int mail_write(const char *ws, int (*fn)(store_conn *c, const char *ws, void *ud), void *ud);

#endif
