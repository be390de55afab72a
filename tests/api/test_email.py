"""Outbound email (issue 14): /v1/outbound/email-connections (SMTP
server, TLS mode, login with a write-only password stored sealed,
POST .../{id}/verify) and POST /v1/outbound/emails, sent by the server's
mail worker through libcurl to a local SMTP sink (smtp_sink.py) this
module starts. The server runs with CAIRN_MAIL_RETRY_MS=200 (a test-only
retry period: backoffs of 0.2 s, 1 s, 6 s, ... instead of minutes).

Covers: connection CRUD and the password never answered nor stored in
clear (the SQLite file's bytes, or the PostgreSQL row); verify ok and a
wrong password (422 naming the 535 reply, recorded on the connection);
sending to an address, a contact and a lead (an email activity on its
timeline); template variables; text+html as multipart/alternative; a 451
then success; a 550 failing for good; a refused connection retried until
the sink is back; validation (no body, CR/LF injection, bad addresses,
unknown and other workspaces' connections); scopes; kill -9 with emails
queued, then every one delivered after the restart (at least once).
Waits poll with deadlines; nothing asserts how long anything took."""

import glob
import os
import signal
import time

from harness import SCALE, Server, backend, eq, expect, list_all, ok, psql, uniq
from smtp_sink import Sink

S = A = B = RO = SINK = None
USER, PASSWORD = "mailer", "s3cret-Pa55-%s" % uniq("pw")
WAIT = 30 * SCALE
RETRY_MS = "200"


def setup_module():
    global S, A, B, RO, SINK
    SINK = Sink(users={USER: PASSWORD})
    os.environ["CAIRN_MAIL_RETRY_MS"] = RETRY_MS
    try:
        S = Server(name="email")
        A = S.key("email-a")
        B = S.key("email-b")
        RO = S.key("email-a", "crm:read")
        S.start()
    finally:
        os.environ.pop("CAIRN_MAIL_RETRY_MS", None)


def teardown_module():
    S.stop_ok()
    SINK.stop()


def _text(resp):
    b = resp.body
    return b.decode("utf-8", "replace") if isinstance(b, (bytes, bytearray)) else str(b)


def conn_body(sink=None, **kw):
    b = {"name": "Sink", "host": "127.0.0.1", "port": (sink or SINK).port, "tls": "none",
         "username": USER, "password": PASSWORD, "from_address": "sales@cairn.test", "from_name": "Cairn Sales"}
    b.update(kw)
    return b


def new_conn(client=None, **kw):
    return (client or A).create("/v1/outbound/email-connections", conn_body(**kw))


def wait_email(eid, pred, what, client=None):
    """The email once pred(email) holds; fails after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while True:
        e = expect((client or A).get("/v1/outbound/emails/" + eid), 200)["data"]
        if pred(e):
            return e
        if time.monotonic() > deadline:
            raise AssertionError("%s: email %s never got there; last: %r" % (what, eid, e))
        time.sleep(0.05)


def sent(eid, what):
    return wait_email(eid, lambda e: e["status"] != "queued", what)


def sink_message(sink, message_id, what):
    deadline = time.monotonic() + WAIT
    while True:
        for m in sink.messages:
            if m.header("Message-ID") == message_id:
                return m
        if time.monotonic() > deadline:
            raise AssertionError("%s: the sink never got %s (it has %d messages)" % (
                what, message_id, len(sink.messages)))
        time.sleep(0.05)


# ---------------------------------------------------------------- connections

def test_connection_crud_and_write_only_password():
    c = new_conn(port=None, tls="starttls", host="smtp.example.com", name="Main")
    ok(c["id"].startswith("emc_"), "connection id prefix: %s" % c["id"])
    ok("password" not in c, "create answers no password: %r" % c)
    eq((c["object"], c["port"], c["tls"], c["has_password"], c["status"], c["last_error"]),
       ("email_connection", 587, "starttls", True, "unverified", None), "defaults of a new connection")
    for tls, port in (("implicit", 465), ("none", 25)):
        eq(new_conn(port=None, tls=tls)["port"], port, "default port for tls %s" % tls)
    got = expect(A.get("/v1/outbound/email-connections/" + c["id"]), 200)["data"]
    eq(got, c, "GET the connection")
    listed = list_all(A, "/v1/outbound/email-connections")
    ok(any(x["id"] == c["id"] for x in listed), "the connection is listed")
    ok(all("password" not in x for x in listed), "no listed connection has a password")
    r = expect(A.patch("/v1/outbound/email-connections/" + c["id"], {"name": "Renamed"}), 200)["data"]
    eq((r["name"], r["has_password"]), ("Renamed", True), "PATCH name keeps the password")
    r = expect(A.patch("/v1/outbound/email-connections/" + c["id"], {"password": None}), 200)["data"]
    eq(r["has_password"], False, "password null removes it")
    r = A.patch("/v1/outbound/email-connections/" + c["id"], {"password": "another-" + PASSWORD})
    ok("password" not in expect(r, 200)["data"] and PASSWORD not in _text(r), "PATCH answers no password")
    expect(A.delete("/v1/outbound/email-connections/" + c["id"]), 200)
    expect(A.get("/v1/outbound/email-connections/" + c["id"]), 404, "not_found")
    expect(B.get("/v1/outbound/email-connections/" + got["id"]), 404, "not_found")
    # Nothing the server answers about it holds the password: the audit log
    # of these writes, and the OpenAPI document marks it writeOnly.
    audit = A.get("/v1/audit-log", params={"limit": 100})
    ok(PASSWORD not in _text(audit), "the audit log holds no password")
    doc = expect(A.get("/v1/openapi.json"), 200)
    schemas = doc["components"]["schemas"]
    ok("password" not in schemas["EmailConnection"]["properties"], "EmailConnection has no password member")


def test_password_not_stored_in_clear():
    c = new_conn()
    if backend() == "postgres":
        stored = psql("SELECT password FROM outbound_email_connections WHERE id = '%s'" % c["id"],
                      url=S.db).strip()
        ok(stored.startswith("s1.") and PASSWORD not in stored, "PostgreSQL holds it sealed: %r" % stored[:20])
        whole = psql("SELECT row_to_json(t)::text FROM outbound_email_connections t", url=S.db)
        ok(PASSWORD not in whole, "no row of the table holds the password in clear")
        return
    # The database, its log and anything beside it, as bytes.
    files = [f for f in glob.glob(S.db + "*") if os.path.isfile(f)]
    ok(any(f.endswith("-wal") or f == S.db for f in files), "database files found: %r" % files)
    for f in files:
        with open(f, "rb") as fh:
            ok(PASSWORD.encode() not in fh.read(), "%s holds the password in clear" % os.path.basename(f))
    key = S.db + ".key"
    ok(os.path.exists(key) and (os.stat(key).st_mode & 0o077) == 0, "the server key is 0600 beside the database")


def test_verify_ok_and_wrong_password():
    c = new_conn()
    before = len(SINK.auth_attempts)
    dry = expect(A.post("/v1/outbound/email-connections/%s/verify" % c["id"], params={"dry_run": "true"}), 200)
    eq((dry["data"], len(SINK.auth_attempts)), (c, before), "a dry run contacts nothing and records nothing")
    v = expect(A.post("/v1/outbound/email-connections/%s/verify" % c["id"]), 200)["data"]
    eq((v["id"], v["status"], v["last_error"]), (c["id"], "verified", None), "verify answers the verified connection")
    ok(v["last_verified_at"] is not None, "last_verified_at set")
    eq(SINK.auth_attempts[before:], [("PLAIN", USER, True)], "verify logged in once with AUTH PLAIN")
    eq(expect(A.get("/v1/outbound/email-connections/" + c["id"]), 200)["data"]["status"], "verified",
       "verified is recorded")
    expect(A.patch("/v1/outbound/email-connections/" + c["id"], {"password": "wrong"}), 200)
    eq(expect(A.get("/v1/outbound/email-connections/" + c["id"]), 200)["data"]["status"], "unverified",
       "a new password makes it unverified")
    r = expect(A.post("/v1/outbound/email-connections/%s/verify" % c["id"]), 422, "validation_failed",
               param="password", message_has=["535", "Authentication credentials invalid"])
    got = expect(A.get("/v1/outbound/email-connections/" + c["id"]), 200)["data"]
    eq(got["status"], "failed", "the failure is recorded: %r" % r)
    ok("535" in (got["last_error"] or ""), "last_error names the reply: %r" % got["last_error"])
    ok("wrong" not in (got["last_error"] or ""), "the error does not echo the password")
    # Nobody listening: a clear error naming the host.
    dead = Sink()
    port = dead.port
    dead.stop()
    d = new_conn(port=port)
    expect(A.post("/v1/outbound/email-connections/%s/verify" % d["id"]), 422, "validation_failed", param="host",
           message_has=["127.0.0.1:%d" % port])
    expect(A.post("/v1/outbound/email-connections/%s/verify" % d["id"], {"x": 1}), 400, "validation_failed")
    expect(B.post("/v1/outbound/email-connections/%s/verify" % c["id"]), 404, "not_found")
    expect(RO.post("/v1/outbound/email-connections/%s/verify" % c["id"]), 403, "forbidden")


# ---------------------------------------------------------------- sending

def test_send_to_an_address():
    c = new_conn()
    e = expect(A.post("/v1/outbound/emails", {"connection_id": c["id"], "to": "Someone@Example.test",
                                              "subject": "Plain hello", "text": "Hello.\nSecond line."}), 201)["data"]
    ok(e["id"].startswith("em_"), "email id prefix")
    eq((e["status"], e["to_address"], e["contact_id"], e["attempt_count"]),
       ("queued", "Someone@Example.test", None, 0), "a new email is queued")
    done = sent(e["id"], "send to an address")
    eq((done["status"], done["smtp_code"], done["attempt_count"]), ("sent", 250, 1), "sent on the first attempt")
    ok(done["smtp_response"].startswith("250 2.0.0 Ok: queued as SINK"), "the server's reply: %r" % done["smtp_response"])
    ok(done["sent_at"] and done["activity_id"] is None, "sent_at set; no activity for a bare address")
    m = sink_message(SINK, e["message_id"], "send to an address")
    eq((m.mail_from, m.rcpt_to, m.auth), ("sales@cairn.test", ["Someone@Example.test"], ("PLAIN", USER, PASSWORD)),
       "envelope and login")
    eq((str(m.header("From")), str(m.header("To")), str(m.header("Subject"))),
       ('Cairn Sales <sales@cairn.test>', "Someone@Example.test", "Plain hello"), "headers")
    ok(m.header("Date") is not None and m.header("MIME-Version") == "1.0", "Date and MIME-Version")
    eq(m.parts(), [("text/plain", "Hello.\nSecond line.")], "one text/plain part")
    eq(expect(A.get("/v1/outbound/emails", params={"status": "sent", "connection_id": c["id"]}), 200)["data"][0]["id"],
       e["id"], "listed by status and connection")


def test_send_to_contact_logs_activity_on_timeline():
    c = new_conn()
    con = A.create("/v1/contacts", {"name": "Ada Lovelace", "email": "ada@engine.test"})
    e = A.create("/v1/outbound/emails", {"connection_id": c["id"], "to": con["id"], "subject": "Über Maschinen ✓",
                                         "text": "Dear Ada"})
    eq((e["to_address"], e["contact_id"]), ("ada@engine.test", con["id"]), "the contact's address")
    done = sent(e["id"], "send to a contact")
    eq(done["status"], "sent", "sent")
    act = expect(A.get("/v1/activities/" + done["activity_id"]), 200)["data"]
    eq((act["type"], act["related_resource_type"], act["related_resource_id"], act["body"]),
       ("email", "contact", con["id"], "Dear Ada"), "the email activity")
    ok("Über Maschinen ✓" in act["summary"], "the summary names the subject: %r" % act["summary"])
    tl = expect(A.get("/v1/contacts/%s/timeline" % con["id"]), 200)["data"]
    types = [t["type"] for t in tl]
    ok("activity.created" in types and "email.sent" in types, "the timeline shows the email: %r" % types)
    m = sink_message(SINK, e["message_id"], "send to a contact")
    eq(str(m.header("Subject")), "Über Maschinen ✓", "a UTF-8 subject round-trips (RFC 2047)")
    ok(b"\r\nSubject: =?UTF-8?B?" in m.data, "the subject is sent in RFC 2047 words")
    eq(expect(A.get("/v1/outbound/emails", params={"contact_id": con["id"]}), 200)["data"][0]["id"], e["id"],
       "listed by contact")


def test_send_to_lead():
    c = new_conn()
    lead = A.create("/v1/leads", {"name": "Lead Person", "email": "lead@prospect.test"})
    e = A.create("/v1/outbound/emails", {"connection_id": c["id"], "to": lead["id"], "subject": "Hi", "html": "<p>Hi</p>"})
    done = sent(e["id"], "send to a lead")
    eq((done["status"], done["lead_id"], done["to_address"]), ("sent", lead["id"], "lead@prospect.test"), "sent")
    act = expect(A.get("/v1/activities/" + done["activity_id"]), 200)["data"]
    eq((act["type"], act["related_resource_type"], act["related_resource_id"]), ("email", "lead", lead["id"]),
       "the activity is on the lead")
    m = sink_message(SINK, e["message_id"], "send to a lead")
    eq(m.parts(), [("text/html", "<p>Hi</p>")], "one text/html part")


def test_template_variables_and_multipart():
    c = new_conn()
    con = A.create("/v1/contacts", {"name": "Bob", "email": "bob@x.test"})
    e = A.create("/v1/outbound/emails", {
        "connection_id": c["id"], "to": con["id"], "subject": "Hi {{ first_name }}, {{n}} offers",
        "text": "Dear {{first_name}}, plan {{plan}}.\n.leading dot\n{{not a var}}",
        "html": "<p>Dear {{first_name}}</p><p>{{plan}}</p>",
        "template_variables": {"first_name": "Bob", "plan": "<Pro & Co>", "n": 3}})
    eq(e["subject"], "Hi Bob, 3 offers", "subject rendered")
    eq(e["text"], "Dear Bob, plan <Pro & Co>.\n.leading dot\n{{not a var}}", "text rendered as is")
    eq(e["html"], "<p>Dear Bob</p><p>&lt;Pro &amp; Co&gt;</p>", "html values escaped")
    sent(e["id"], "templated")
    m = sink_message(SINK, e["message_id"], "templated")
    eq(m.msg.get_content_type(), "multipart/alternative", "text and html: multipart/alternative")
    eq(m.parts(), [("text/plain", e["text"]), ("text/html", e["html"])], "both parts, in order")
    r = expect(A.post("/v1/outbound/emails", {"connection_id": c["id"], "to": "x@y.test", "subject": "Hi {{name}}",
                                              "text": "t", "template_variables": {"other": 1}}),
               400, "validation_failed", param="template_variables", message_has=["{{name}}"])
    ok("subject" in r["error"]["message"], "names where: %r" % r)
    # Without template_variables the braces are text.
    e2 = A.create("/v1/outbound/emails", {"connection_id": c["id"], "to": "x@y.test", "subject": "{{raw}}", "text": "t"})
    eq(e2["subject"], "{{raw}}", "no variables: sent as written")


def test_temporary_failure_then_success():
    sink = Sink(users={USER: PASSWORD})
    try:
        c = new_conn(sink=sink)
        sink.fail("RCPT", 451, times=1)
        e = A.create("/v1/outbound/emails", {"connection_id": c["id"], "to": "retry@x.test", "subject": "Retry",
                                             "text": "t"})
        mid = wait_email(e["id"], lambda x: x["attempt_count"] >= 1 and x["smtp_code"] is not None, "first attempt")
        if mid["status"] == "queued":
            eq(mid["smtp_code"], 451, "the temporary reply is kept while queued")
            ok(mid["next_attempt_at"] is not None and "451" in mid["last_error"], "a retry is scheduled: %r" % mid)
        done = sent(e["id"], "retried")
        eq((done["status"], done["attempt_count"], done["smtp_code"]), ("sent", 2, 250), "sent on the second attempt")
        eq(len([m for m in sink.messages if m.header("Message-ID") == e["message_id"]]), 1, "delivered once")
        # The same with a 4xx at the end of DATA.
        sink.fail("DATA", 452, times=2)
        e = A.create("/v1/outbound/emails", {"connection_id": c["id"], "to": "retry2@x.test", "subject": "Retry",
                                             "text": "t"})
        done = sent(e["id"], "retried after DATA")
        eq((done["status"], done["attempt_count"]), ("sent", 3), "sent on the third attempt")
    finally:
        sink.stop()


def test_permanent_failure_fails():
    sink = Sink(users={USER: PASSWORD})
    try:
        c = new_conn(sink=sink)
        sink.fail("RCPT", 550, times=1)
        e = A.create("/v1/outbound/emails", {"connection_id": c["id"], "to": "nobody@x.test", "subject": "Bounce",
                                             "text": "t"})
        done = sent(e["id"], "permanent failure")
        eq((done["status"], done["attempt_count"], done["smtp_code"], done["next_attempt_at"], done["sent_at"]),
           ("failed", 1, 550, None, None), "failed at once on a 5xx")
        ok("550 5.1.1 Mailbox unavailable" in done["smtp_response"] and "550" in done["last_error"],
           "the reply is kept: %r" % done)
        # A wrong password is a 535: failed too, never sent.
        bad = new_conn(sink=sink, password="nope")
        e = A.create("/v1/outbound/emails", {"connection_id": bad["id"], "to": "x@x.test", "subject": "s", "text": "t"})
        done = sent(e["id"], "auth failure")
        eq((done["status"], done["smtp_code"]), ("failed", 535), "an authentication failure fails the email")
    finally:
        sink.stop()


def test_connection_refused_is_retried_until_the_server_is_back():
    sink = Sink(users={USER: PASSWORD})
    port = sink.port
    sink.stop()
    c = new_conn(port=port)
    e = A.create("/v1/outbound/emails", {"connection_id": c["id"], "to": "later@x.test", "subject": "Later",
                                         "text": "t"})
    mid = wait_email(e["id"], lambda x: x["attempt_count"] >= 2, "refused twice")
    eq((mid["status"], mid["smtp_code"]), ("queued", None), "still queued, no reply came")
    ok("127.0.0.1:%d" % port in (mid["last_error"] or ""), "last_error names the server: %r" % mid["last_error"])
    back = Sink(users={USER: PASSWORD}, port=port)
    try:
        done = sent(e["id"], "after the server is back")
        eq(done["status"], "sent", "delivered once the server is back")
        ok(done["attempt_count"] >= 3, "after retries: %r" % done["attempt_count"])
        sink_message(back, e["message_id"], "after the server is back")
    finally:
        back.stop()


# ---------------------------------------------------------------- refusals

def test_validation_errors():
    c = new_conn()
    base = {"connection_id": c["id"], "to": "ok@x.test", "subject": "s", "text": "t"}

    def refused(change, status, param, *frag, drop=()):
        body = dict(base, **change)
        for k in drop:
            body.pop(k)
        expect(A.post("/v1/outbound/emails", body), status, "validation_failed" if status == 400 else "not_found",
               param=param, message_has=frag)

    refused({}, 400, "text", "text or html", drop=("text",))
    refused({"text": "", "html": ""}, 400, "text")
    refused({"subject": "Hi\r\nBcc: victim@x.test"}, 400, "subject", "CR")
    refused({"subject": "Hi\nX: y"}, 400, "subject")
    refused({"to": "ok@x.test\r\nBcc: v@x.test"}, 400, "to")
    refused({"to": "not an address"}, 400, "to")
    refused({"to": "a@b"}, 400, "to")
    refused({}, 400, "subject", drop=("subject",))
    refused({}, 400, "to", drop=("to",))
    refused({}, 400, "connection_id", drop=("connection_id",))
    refused({"subject": "{{x}}", "template_variables": {"x": "a\r\nBcc: v@x.test"}}, 400, "template_variables")
    refused({"unknown": 1}, 400, "unknown")
    refused({"connection_id": "emc_00000000000000000000000000"}, 404, "connection_id")
    refused({"connection_id": new_conn(client=B)["id"]}, 404, "connection_id")
    refused({"to": "con_00000000000000000000000000"}, 404, "to")
    refused({"to": B.create("/v1/contacts", {"name": "Theirs", "email": "t@x.test"})["id"]}, 404, "to")
    refused({"to": A.create("/v1/contacts", {"name": "No Email"})["id"]}, 400, "to", "no email")
    for body, param in [({"host": "smtp.x.test/evil"}, "host"), ({"host": "user@smtp.x.test"}, "host"),
                        ({"port": 0}, "port"), ({"port": 70000}, "port"), ({"tls": "ssl"}, "tls"),
                        ({"from_address": "nope"}, "from_address"), ({"from_name": "A\r\nBcc: x"}, "from_name"),
                        ({"password": 5}, "password")]:
        expect(A.post("/v1/outbound/email-connections", conn_body(**body)), 400, "validation_failed", param=param)
    expect(A.patch("/v1/outbound/email-connections/" + c["id"], {"has_password": False}), 400, "validation_failed")
    # Emails are written by the server only.
    e = A.create("/v1/outbound/emails", base)
    ok(A.patch("/v1/outbound/emails/" + e["id"], {"subject": "x"}).status in (403, 404, 405), "no PATCH of an email")
    expect(B.get("/v1/outbound/emails/" + e["id"]), 404, "not_found")


def test_scopes():
    c = new_conn()
    body = {"connection_id": c["id"], "to": "a@x.test", "subject": "s", "text": "t"}
    expect(RO.post("/v1/outbound/emails", body), 403, "forbidden")
    expect(RO.post("/v1/outbound/email-connections", conn_body()), 403, "forbidden")
    expect(RO.get("/v1/outbound/email-connections/" + c["id"]), 200)
    tasks_only = S.key("email-a", "tasks:read,tasks:write")
    expect(tasks_only.get("/v1/outbound/emails"), 403, "forbidden")
    expect(tasks_only.get("/v1/outbound/email-connections"), 403, "forbidden")


# ---------------------------------------------------------------- crash

def test_kill9_with_emails_queued_delivers_all_after_restart():
    sink = Sink(users={USER: PASSWORD})
    os.environ["CAIRN_MAIL_RETRY_MS"] = RETRY_MS
    srv = Server(name="email-crash")
    try:
        k = srv.key("crash")
        srv.start()
        c = k.create("/v1/outbound/email-connections", conn_body(sink=sink))
        emails = [k.create("/v1/outbound/emails", {"connection_id": c["id"], "to": "n%d@x.test" % i,
                                                   "subject": "Crash %d" % i, "text": "t"}) for i in range(20)]
        eq(srv.stop(sig=signal.SIGKILL), -signal.SIGKILL, "killed with emails queued")
        srv.start()
        for e in emails:
            done = wait_email(e["id"], lambda x: x["status"] != "queued", "after restart", client=k)
            eq(done["status"], "sent", "sent after the restart")
            sink_message(sink, e["message_id"], "after restart")
        ids = [m.header("Message-ID") for m in sink.messages]
        ok(all(ids.count(e["message_id"]) >= 1 for e in emails), "every email delivered at least once")
        ok(srv.stop() == 0, "clean stop after the restart")
    finally:
        os.environ.pop("CAIRN_MAIL_RETRY_MS", None)
        srv.kill9()
        sink.stop()
