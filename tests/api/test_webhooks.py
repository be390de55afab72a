"""Webhooks (issue 14): endpoints at /v1/webhooks, their deliveries
(/v1/webhooks/{id}/deliveries, /v1/webhook-deliveries), signatures, the
catalogue of event types (/v1/integrations/events).

A receiver runs in this process (a ThreadingHTTPServer on 127.0.0.1, port
0), scripted per path: a status (with headers), a redirect, a sleep past
the server's timeout, a connection closed without an answer, or a hold
until the test releases it; it records every request. Each test has its
own workspace and its own receiver path, so they never see each other's
deliveries. The servers run with --webhook-allow-private (the receiver is
on loopback) and short retry schedules and timeouts through the worker's
test knobs (CAIRN_WEBHOOK_RETRY_SCHEDULE_MS, CAIRN_WEBHOOK_TIMEOUT_MS,
CAIRN_WEBHOOK_DISABLE_AFTER_MS); the SSRF guard is checked on a server
started without the flag.

Signatures are checked by an independent implementation of the Standard
Webhooks scheme written here (verify()), never by the server's code.
Waiting is done by polling with generous deadlines: nothing asserts how
fast a delivery goes, only what arrives and what the API says about it.
"""

import base64
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import (SCALE, TIME_RE, Client, Server, _short, backend, expect, eq, id_re, list_all, ok,
                     skip, uniq)

S = NOPRIV = R = None
A = B = None                     # two workspaces on S (other-workspace checks)
WS_A = None                      # A's workspace name (more keys for it)
SCHEDULE = "0,300,300,300"       # 4 retries: 5 attempts, then failed
TIMEOUT_MS = int(1500 * SCALE)   # the worker's per-attempt timeout on S
ENV = {"CAIRN_WEBHOOK_RETRY_SCHEDULE_MS": SCHEDULE, "CAIRN_WEBHOOK_TIMEOUT_MS": str(TIMEOUT_MS)}
ATTEMPTS = len(SCHEDULE.split(",")) + 1
WAIT = 40.0 * SCALE              # deadline of every polling loop
SIG_WINDOW_S = 300               # Standard Webhooks: timestamps within 5 minutes


# ------------------------------------------------------------ the receiver

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _answer(self, status, headers=None, body=b"ok"):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        act = self.server.receiver._record(self.command, self.path, self.headers, body)
        try:
            kind = act[0]
            if kind == "status":
                self._answer(act[1], act[2] if len(act) > 2 else None)
            elif kind == "close":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif kind == "sleep":
                self.close_connection = True
                time.sleep(act[1])
                self._answer(200)
            elif kind == "hold":
                act[1].wait(WAIT)
                self._answer(act[2])
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    do_POST = _handle
    do_GET = _handle


class Receiver:
    """Records (method, path, headers, body, time) of every request; answers
    each path by its script: a list of actions taken one per request, the
    last one repeating. Actions: an int status, ("status", code, headers),
    ("redirect", location), ("sleep", seconds), "close", ("hold", Event,
    status). Unscripted paths answer 200."""

    def __init__(self):
        self.cv = threading.Condition()
        self.got = []
        self.scripts = {}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.receiver = self
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def script(self, path, *actions):
        with self.cv:
            self.scripts[path] = list(actions)

    def _record(self, method, path, headers, body):
        with self.cv:
            self.got.append({"method": method, "path": path, "body": body, "time": time.time(),
                             "headers": {k.lower(): v for k, v in headers.items()}})
            self.cv.notify_all()
            s = self.scripts.get(path) or [200]
            act = s.pop(0) if len(s) > 1 else s[0]
        if isinstance(act, int):
            return ("status", act)
        if act == "close":
            return ("close",)
        if act[0] == "redirect":
            return ("status", 302, {"Location": act[1]})
        return act

    def requests(self, path):
        with self.cv:
            return [g for g in self.got if g["path"] == path]

    def wait(self, path, n, what):
        """At least n requests on path; returns them all."""
        deadline = time.time() + WAIT
        with self.cv:
            while True:
                got = [g for g in self.got if g["path"] == path]
                if len(got) >= n:
                    return got
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("%s: receiver path %s got %d request(s) within %.0fs, want %d" % (
                        what, path, len(got), WAIT, n))
                self.cv.wait(min(left, 0.5))

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ------------------------------------------------------------ helpers

def verify(secret, headers, body, now=None):
    """Standard Webhooks, written from the specification: the signed content
    is "<webhook-id>.<webhook-timestamp>.<raw body>", the key the base64
    after "whsec_", HMAC-SHA256, base64; webhook-signature holds
    space-separated "v1,<sig>" entries. Returns the entries that verify
    (fails on a stale timestamp or a malformed header)."""
    ok(secret.startswith("whsec_"), "secret %r does not start with whsec_" % secret)
    key = base64.b64decode(secret[len("whsec_"):], validate=True)
    msg_id, ts, sig = headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
    ok(msg_id and ts and sig, "delivery lacks a Standard Webhooks header: %r" % headers)
    ok(re.match(r"^\d+$", ts), "webhook-timestamp %r is not unix seconds" % ts)
    ok(abs((now or time.time()) - int(ts)) <= SIG_WINDOW_S,
       "webhook-timestamp %s is more than 5 minutes from now (%d)" % (ts, time.time()))
    mac = hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256).digest()
    want = base64.b64encode(mac).decode()
    good = []
    for entry in sig.split(" "):
        ver, _, val = entry.partition(",")
        ok(ver and val, "webhook-signature entry %r is not <version>,<signature>" % entry)
        if ver == "v1" and hmac.compare_digest(val, want):
            good.append(entry)
    return good


def until(fn, what, timeout=None):
    """Poll fn() until it answers (True, value); returns value. fn answers
    (False, state) meanwhile, and the last state is in the failure."""
    deadline = time.time() + (timeout or WAIT)
    while True:
        done, v = fn()
        if done:
            return v
        if time.time() > deadline:
            raise AssertionError("%s: not within %.0fs; last: %s" % (what, timeout or WAIT, _short(v, 600)))
        time.sleep(0.1)


def ws(label="wh"):
    return S.key(uniq(label))


def path(label="p"):
    return "/" + uniq(label)


def endpoint(client, p, types=("contact.*",), **extra):
    body = {"name": "ep " + p, "url": R.url(p), "event_types": list(types)}
    body.update(extra)
    return client.create("/v1/webhooks", body)


def delivery(client, whd):
    return expect(client.get("/v1/webhook-deliveries/" + whd), 200)["data"]


def deliveries(client, wh, **params):
    return list_all(client, "/v1/webhooks/%s/deliveries" % wh, params=params)


def wait_delivery(client, whd, pred, what):
    def probe():
        d = delivery(client, whd)
        return pred(d), d
    return until(probe, what)


def wait_deliveries(client, wh, n, what, status=None):
    """At least n deliveries of the endpoint (with that status)."""
    def probe():
        ds = deliveries(client, wh, **({"status": status} if status else {}))
        return len(ds) >= n, ds
    return until(probe, what)


def body_of(req):
    try:
        return json.loads(req["body"])
    except ValueError:
        raise AssertionError("delivery body is not JSON: %r" % req["body"][:300])


def contact(client, **kw):
    b = {"first_name": kw.pop("first_name", "Wh"), "email": kw.pop("email", uniq("c") + "@wh.test")}
    b.update(kw)
    return client.create("/v1/contacts", b)


def events(client, **params):
    return list_all(client, "/v1/events", params=params)


def setup_module():
    global S, NOPRIV, R, A, B, WS_A
    R = Receiver()
    S = Server(name="webhooks", extra_args=["--webhook-allow-private"], env=ENV)
    WS_A = uniq("wha")
    A = S.key(WS_A)
    B = S.key(uniq("whb"))
    S.start()
    NOPRIV = Server(name="webhooks-noflag")
    NOPRIV.start()


def teardown_module():
    try:
        S.stop_ok()
        NOPRIV.stop_ok()
    finally:
        R.stop()


# ------------------------------------------------------------ secrets and signatures

SECRET_RE = re.compile(r"^whsec_[A-Za-z0-9+/]+={0,2}$")


def test_create_answers_the_whole_secret_once():
    w = ws()
    r = w.post("/v1/webhooks", {"name": "once", "url": R.url(path()), "event_types": ["contact.created"]})
    d = expect(r, 201)["data"]
    ok(id_re("wh_").match(d["id"]), "webhook id %r" % d["id"])
    eq((d["object"], d["status"], d["parallel"], d["fields"], d["event_types"]),
       ("webhook", "active", False, None, ["contact.created"]), "%s: defaults" % r.request_line())
    secret = d.get("signing_secret")
    ok(isinstance(secret, str) and SECRET_RE.match(secret), "%s: signing_secret %r is not whsec_+base64" % (
        r.request_line(), secret))
    raw = base64.b64decode(secret[6:])
    ok(24 <= len(raw) <= 64, "signing secret holds %d random bytes, want 24 to 64" % len(raw))
    prev = d.get("signing_secret_preview")
    ok(isinstance(prev, str) and prev.startswith("whsec_") and prev != secret and len(prev) < len(secret) - 10,
       "signing_secret_preview %r must be a short part of the secret" % prev)
    # No later answer carries it: GET, the list, PATCH, the change feed.
    for rr in (w.get("/v1/webhooks/" + d["id"]), w.get("/v1/webhooks"),
               w.patch("/v1/webhooks/" + d["id"], {"name": "renamed"}),
               w.get("/v1/webhooks", params={"query": "renamed"}), w.get("/v1/events")):
        expect(rr, 200)
        ok(secret[6:].encode() not in rr.body, "%s: the whole secret is in the answer" % rr.request_line())
        items = rr.data if isinstance(rr.data, list) else [rr.data]
        for it in items:
            if isinstance(it, dict) and it.get("object") == "webhook":
                for k in ("signing_secret", "secret", "previous_secret"):
                    ok(k not in it, "%s: answer has %s" % (rr.request_line(), k))
                eq(it["signing_secret_preview"], prev, "%s: signing_secret_preview" % rr.request_line())


def test_delivery_is_signed_as_standard_webhooks():
    w = ws()
    p = path()
    wh = endpoint(w, p, ["contact.created"])
    c = contact(w, first_name="Signed")
    req = R.wait(p, 1, "contact.created delivery")[0]
    h = req["headers"]
    eq(req["method"], "POST", "delivery method")
    ok(h.get("content-type", "").startswith("application/json"), "content-type %r" % h.get("content-type"))
    good = verify(wh["signing_secret"], h, req["body"])
    eq(len(good), 1, "signatures verifying under the endpoint's secret (header %r)" % h.get("webhook-signature"))
    # The verifier can fail: another secret, another body, another id.
    eq(verify("whsec_" + base64.b64encode(b"x" * 32).decode(), h, req["body"]), [], "a wrong secret verifies nothing")
    eq(verify(wh["signing_secret"], h, req["body"] + b" "), [], "a changed body verifies nothing")
    eq(verify(wh["signing_secret"], dict(h, **{"webhook-id": "msg_other"}), req["body"]), [],
       "another webhook-id verifies nothing")
    body = body_of(req)
    eq(sorted(body), ["data", "sequence", "timestamp", "type"], "delivery body keys")
    eq(body["type"], "contact.created", "body type")
    ok(TIME_RE.match(body["timestamp"]), "body timestamp %r" % body["timestamp"])
    rec = expect(w.get("/v1/contacts/" + c["id"]), 200)["data"]
    eq(body["data"], rec, "body data is the record as GET answers it")
    ev = [e for e in events(w, resource_id=c["id"]) if e["type"] == "contact.created"]
    eq(len(ev), 1, "one contact.created event in the feed")
    eq(body["sequence"], ev[0]["sequence"], "body sequence is the event's")
    # The delivery record says what happened.
    ds = deliveries(w, wh["id"])
    eq(len(ds), 1, "one delivery")
    ok(id_re("whd_").match(ds[0]["id"]), "delivery id %r" % ds[0]["id"])
    eq(h["webhook-id"], ds[0]["id"], "webhook-id is the delivery's id")
    d = wait_delivery(w, ds[0]["id"], lambda d: d["status"] == "succeeded", "delivery succeeded")
    eq((d["object"], d["webhook_id"], d["event_id"], d["event_type"], d["sequence"], d["attempt_count"],
        d["last_status_code"], d["last_error"]),
       ("webhook_delivery", wh["id"], ev[0]["id"], "contact.created", ev[0]["sequence"], 1, 200, None),
       "the succeeded delivery")
    ok(TIME_RE.match(str(d["delivered_at"])) and TIME_RE.match(str(d["last_attempt_at"])),
       "delivered_at/last_attempt_at set: %r" % d)
    ok(isinstance(d["duration_ms"], int) and d["duration_ms"] >= 0, "duration_ms %r" % d["duration_ms"])
    eq(d["response_excerpt"], "ok", "response_excerpt is the receiver's body")


def test_update_body_has_previous_attributes():
    w = ws()
    p = path()
    endpoint(w, p, ["contact.updated"])
    c = contact(w, first_name="Old", title="Clerk")
    expect(w.patch("/v1/contacts/" + c["id"], {"first_name": "New", "title": "Chief"}), 200)
    body = body_of(R.wait(p, 1, "contact.updated delivery")[0])
    eq(body["type"], "contact.updated", "type")
    rec = expect(w.get("/v1/contacts/" + c["id"]), 200)["data"]
    data = dict(body["data"])
    prev = data.pop("previous_attributes", None)
    ok(isinstance(prev, dict), "an update's data has previous_attributes: %r" % body["data"])
    eq(prev.get("first_name"), "Old", "previous_attributes.first_name")
    eq(prev.get("title"), "Clerk", "previous_attributes.title")
    ok(set(prev) <= {"first_name", "title", "name", "updated_at"},
       "previous_attributes names only changed fields: %r" % prev)
    eq(data, rec, "the rest of data is the record as GET answers it")


def test_rotate_secret_signs_with_both():
    w = ws()
    p = path()
    wh = endpoint(w, p, ["contact.created"])
    old = wh["signing_secret"]
    r = w.post("/v1/webhooks/%s/rotate-secret" % wh["id"])
    d = expect(r, 200)["data"]
    new = d.get("signing_secret")
    ok(isinstance(new, str) and SECRET_RE.match(new) and new != old, "%s: a new whole secret: %r" % (
        r.request_line(), new))
    eq((d["id"], d["object"]), (wh["id"], "webhook_secret"), "rotate answer")
    ok(TIME_RE.match(str(d.get("previous_secret_expires_at"))), "previous_secret_expires_at %r" % d)
    g = w.get("/v1/webhooks/" + wh["id"])
    expect(g, 200)
    eq(g.data["signing_secret_preview"], d["signing_secret_preview"], "GET shows the new preview")
    ok(new[6:].encode() not in g.body and "signing_secret" not in g.data, "GET never shows the new secret")
    contact(w)
    req = R.wait(p, 1, "delivery after rotation")[0]
    sigs = req["headers"]["webhook-signature"].split(" ")
    eq(len(sigs), 2, "two signatures during rotation (%r)" % req["headers"]["webhook-signature"])
    eq(len(verify(new, req["headers"], req["body"])), 1, "one signature verifies under the new secret")
    eq(len(verify(old, req["headers"], req["body"])), 1, "one signature verifies under the old secret")
    # A second rotation: the newest and the one before sign; the first no longer does.
    newer = expect(w.post("/v1/webhooks/%s/rotate-secret" % wh["id"]), 200)["data"]["signing_secret"]
    contact(w)
    req = R.wait(p, 2, "delivery after the second rotation")[1]
    eq(len(req["headers"]["webhook-signature"].split(" ")), 2, "two signatures after a second rotation")
    eq(len(verify(newer, req["headers"], req["body"])), 1, "verifies under the newest secret")
    eq(len(verify(new, req["headers"], req["body"])), 1, "verifies under the previous secret")
    eq(verify(old, req["headers"], req["body"]), [], "the first secret no longer signs")


# ------------------------------------------------------------ bad input

def _url_refused(url):
    def t():
        w = NOPRIV.key(uniq("ssrf"))
        r = w.post("/v1/webhooks", {"name": "x", "url": url, "event_types": ["contact.created"]})
        expect(r, 400, "validation_failed", "url")
        eq(list_all(w, "/v1/webhooks"), [], "nothing stored after %s" % r.request_line())
        # PATCH to it is refused too.
        good = w.create("/v1/webhooks", {"name": "x", "url": "https://hooks.example.com/in",
                                         "event_types": ["contact.created"]})
        expect(w.patch("/v1/webhooks/" + good["id"], {"url": url}), 400, "validation_failed", "url")
        eq(expect(w.get("/v1/webhooks/" + good["id"]), 200)["data"]["url"], "https://hooks.example.com/in",
           "url unchanged after a refused PATCH")
        expect(w.delete("/v1/webhooks/" + good["id"]), 200)
    return t


for _label, _url in [("loopback", "http://127.0.0.1:8080/hook"), ("localhost", "http://localhost/hook"),
                     ("private10", "http://10.0.0.1/hook"), ("private192", "https://192.168.1.20/hook"),
                     ("metadata", "http://169.254.169.254/latest/meta-data/"),
                     ("ipv6_loopback", "http://[::1]:8080/hook"), ("hex_loopback", "http://0x7f000001/hook")]:
    globals()["test_url_refused_without_flag_" + _label] = _url_refused(_url)


def _create_invalid(label, body, param, status=400):
    def t():
        w = ws("bad")
        base = {"name": "bad", "url": R.url("/never"), "event_types": ["contact.created"]}
        b = body if isinstance(body, (bytes, str)) else dict(base, **body)
        for k in [k for k, v in b.items() if v is DROP] if isinstance(b, dict) else []:
            del b[k]
        r = w.post("/v1/webhooks", raw=b) if isinstance(b, (bytes, str)) else w.post("/v1/webhooks", b)
        expect(r, status, "validation_failed", param)
        eq(list_all(w, "/v1/webhooks"), [], "nothing stored after %s" % r.request_line())
    return t


DROP = object()
INVALID_CREATE = [
    ("ftp_scheme", {"url": "ftp://hooks.example.com/in"}, "url"),
    ("file_scheme", {"url": "file:///etc/passwd"}, "url"),
    ("no_scheme", {"url": "hooks.example.com/in"}, "url"),
    ("userinfo", {"url": "https://user:pw@hooks.example.com/in"}, "url"),
    ("huge_url", {"url": "https://hooks.example.com/" + "a" * 3000}, "url"),
    ("url_control_bytes", {"url": "https://hooks.example.com/a\x01b"}, "url"),
    ("url_not_string", {"url": 5}, "url"),
    ("url_missing", {"url": DROP}, "url"),
    ("unknown_event_type", {"event_types": ["contact.exploded"]}, "event_types"),
    ("wildcard_matches_nothing", {"event_types": ["nosuchthing.*"]}, "event_types"),
    ("malformed_event_type", {"event_types": ["Contact Created"]}, "event_types"),
    ("empty_event_types", {"event_types": []}, "event_types"),
    ("event_types_string", {"event_types": "contact.created"}, "event_types"),
    ("event_types_number_item", {"event_types": [5]}, "event_types[0]"),
    ("event_types_missing", {"event_types": DROP}, "event_types"),
    ("name_missing", {"name": DROP}, "name"),
    ("name_number", {"name": 5}, "name"),
    ("status_unknown", {"status": "sleeping"}, "status"),
    ("parallel_string", {"parallel": "yes"}, "parallel"),
    ("fields_list", {"fields": ["email"]}, "fields"),
    ("fields_unknown_record_type", {"fields": {"spaceship": ["email"]}}, "fields.spaceship"),
    ("fields_unknown_field", {"fields": {"contact": ["shoe_size"]}}, "fields.contact"),
    ("fields_empty_list", {"fields": {"contact": []}}, "fields.contact"),
    ("unknown_field", {"colour": "red"}, "colour"),
]
for _c in INVALID_CREATE:
    globals()["test_create_invalid_" + _c[0]] = _create_invalid(*_c)


def test_control_bytes_in_name_round_trip():
    # Names are free text here as in every resource (control bytes are
    # JSON-escaped, never interpreted); the URL is where they are refused.
    w = ws("bad")
    name = "a\x01b\x1b[31mred\t"
    wh = endpoint(w, path(), ["contact.created"], name=name)
    eq(wh["name"], name, "name answered as sent")
    eq(expect(w.get("/v1/webhooks/" + wh["id"]), 200)["data"]["name"], name, "name stored as sent")


def test_create_invalid_not_json():
    w = ws("bad")
    r = w.post("/v1/webhooks", raw=b'{"name": "x", "url": ')
    expect(r, 400)
    eq(list_all(w, "/v1/webhooks"), [], "nothing stored after %s" % r.request_line())


def test_patch_invalid():
    w = ws("bad")
    wh = endpoint(w, path(), ["contact.created"])
    before = expect(w.get("/v1/webhooks/" + wh["id"]), 200)["data"]
    for body, param in [({"colour": "red"}, "colour"), ({"event_types": ["nope.*"]}, "event_types"),
                        ({"event_types": []}, "event_types"), ({"url": "ftp://x.example.com/"}, "url"),
                        ({"status": "on"}, "status"), ({"fields": {"contact": ["nope"]}}, "fields.contact"),
                        ({"signing_secret_preview": "whsec_mine"}, "signing_secret_preview")]:
        expect(w.patch("/v1/webhooks/" + wh["id"], body), 400, "validation_failed", param)
    eq(expect(w.get("/v1/webhooks/" + wh["id"]), 200)["data"], before, "refused PATCHes changed nothing")


def test_other_workspace_ids_are_404():
    wh = endpoint(B, path(), ["contact.created"])
    t = expect(B.post("/v1/webhooks/%s/test" % wh["id"]), 201)["data"]
    et = B.create("/v1/integrations/events", {"key": uniq("other") + ".thing", "category": "x"})
    for r in (A.get("/v1/webhooks/" + wh["id"]), A.patch("/v1/webhooks/" + wh["id"], {"name": "mine"}),
              A.delete("/v1/webhooks/" + wh["id"]), A.post("/v1/webhooks/%s/test" % wh["id"]),
              A.post("/v1/webhooks/%s/rotate-secret" % wh["id"]),
              A.post("/v1/webhooks/%s/replay" % wh["id"], {"since": "0"}),
              A.get("/v1/webhooks/%s/deliveries" % wh["id"]), A.get("/v1/webhook-deliveries/" + t["id"]),
              A.post("/v1/webhook-deliveries/%s/retry" % t["id"]),
              A.get("/v1/integrations/events/" + et["id"]),
              A.patch("/v1/integrations/events/" + et["id"], {"description": "mine"}),
              A.delete("/v1/integrations/events/" + et["id"])):
        expect(r, 404, "not_found")
    eq(expect(B.get("/v1/webhooks/" + wh["id"]), 200)["data"]["name"], wh["name"], "B's webhook unchanged")
    ok(t["id"] not in [d["id"] for d in list_all(A, "/v1/webhook-deliveries")], "A's list hides B's delivery")
    ok(wh["id"] not in [d["id"] for d in list_all(A, "/v1/webhooks")], "A's list hides B's webhook")
    r = A.get("/v1/webhook-deliveries", params={"webhook_id": wh["id"]})
    ok(r.status in (200, 404) and not (r.data or []), "%s: nothing of B's: %s" % (r.request_line(), r.status))


def test_scopes():
    ro = S.key(WS_A, "integrations:read")
    crm = S.key(WS_A, "crm:read,crm:write")
    wh = endpoint(A, path(), ["contact.created"])
    t = expect(A.post("/v1/webhooks/%s/test" % wh["id"]), 201)["data"]
    for r in (ro.post("/v1/webhooks", {"name": "x", "url": R.url("/n"), "event_types": ["contact.created"]}),
              ro.patch("/v1/webhooks/" + wh["id"], {"name": "x"}), ro.delete("/v1/webhooks/" + wh["id"]),
              ro.post("/v1/webhooks/%s/test" % wh["id"]), ro.post("/v1/webhooks/%s/rotate-secret" % wh["id"]),
              ro.post("/v1/webhooks/%s/replay" % wh["id"], {"since": "0"}),
              ro.post("/v1/webhook-deliveries/%s/retry" % t["id"]),
              ro.post("/v1/integrations/events", {"key": "a.b", "category": "x"}),
              crm.get("/v1/webhooks"), crm.get("/v1/webhooks/" + wh["id"]),
              crm.get("/v1/webhook-deliveries"), crm.get("/v1/integrations/events"), crm.get("/v1/events")):
        expect(r, 403, "forbidden")
    for r in (ro.get("/v1/webhooks/" + wh["id"]), ro.get("/v1/webhooks/%s/deliveries" % wh["id"]),
              ro.get("/v1/webhook-deliveries/" + t["id"]), ro.get("/v1/integrations/events"),
              ro.get("/v1/events")):
        expect(r, 200)
    eq(expect(A.get("/v1/webhooks/" + wh["id"]), 200)["data"]["name"], wh["name"], "refused writes changed nothing")


# ------------------------------------------------------------ the receiver misbehaves

def test_500_is_retried_until_the_receiver_recovers():
    w = ws()
    p = path()
    release = threading.Event()
    R.script(p, 500, 500, ("hold", release, 200))
    wh = endpoint(w, p, ["contact.created"])
    contact(w)
    got = R.wait(p, 3, "two 500s then a third attempt")
    d = deliveries(w, wh["id"])
    eq(len(d), 1, "one delivery")
    d = delivery(w, d[0]["id"])
    release.set()
    eq((d["status"], d["attempt_count"], d["last_status_code"]), ("retrying", 2, 500),
       "after two 500s (the third attempt held by the receiver)")
    ok("500" in (d["last_error"] or ""), "last_error names the status: %r" % d["last_error"])
    ok(TIME_RE.match(str(d["next_attempt_at"])), "a retrying delivery has next_attempt_at: %r" % d)
    d = wait_delivery(w, d["id"], lambda d: d["status"] == "succeeded", "succeeded once the receiver answers 200")
    eq((d["attempt_count"], d["last_status_code"], d["last_error"]), (3, 200, None), "after the third attempt")
    eq(len({g["headers"]["webhook-id"] for g in got}), 1, "every attempt carries the same webhook-id")
    ok(expect(w.get("/v1/webhooks/" + wh["id"]), 200)["data"]["failing_since"] is None,
       "a success clears failing_since")


def test_410_disables_the_endpoint():
    w = ws()
    p = path()
    R.script(p, 410)
    wh = endpoint(w, p, ["contact.created"])
    contact(w)
    R.wait(p, 1, "the attempt answered 410")
    d = wait_delivery(w, deliveries(w, wh["id"])[0]["id"], lambda d: d["status"] == "failed", "410 fails it")
    eq((d["attempt_count"], d["last_status_code"]), (1, 410), "one attempt, no retry after 410")
    e = until(lambda: (lambda e: (e["status"] == "disabled", e))(
        expect(w.get("/v1/webhooks/" + wh["id"]), 200)["data"]), "endpoint disabled")
    ok(e["disabled_reason"] and "410" in e["disabled_reason"], "disabled_reason names 410: %r" % e["disabled_reason"])
    evs = events(w, types="webhook.disabled")
    eq([(x["type"], x["resource_id"]) for x in evs], [("webhook.disabled", wh["id"])], "one webhook.disabled event")
    eq(evs[0]["data"]["status"], "disabled", "the event's data is the disabled endpoint")
    contact(w)
    eq(len(deliveries(w, wh["id"])), 1, "a disabled endpoint queues nothing")
    eq(len(R.requests(p)), 1, "the receiver got one request")
    expect(w.post("/v1/webhooks/%s/replay" % wh["id"], {"since": "0"}), 409)
    # Enabled again: what happened while disabled is not queued, what
    # follows is.
    R.script(p, 200)
    e = expect(w.patch("/v1/webhooks/" + wh["id"], {"status": "active"}), 200)["data"]
    eq((e["status"], e["disabled_reason"], e["failing_since"]), ("active", None, None), "re-enabled")
    c = contact(w)
    got = R.wait(p, 2, "the event after re-enabling")
    eq([body_of(g)["data"]["id"] for g in got[1:]], [c["id"]], "only the event after re-enabling")
    eq(len(deliveries(w, wh["id"])), 2, "one new delivery")


def _retry_after(status):
    def t():
        w = ws()
        p = path()
        R.script(p, ("status", status, {"Retry-After": "2"}), 200)
        wh = endpoint(w, p, ["contact.created"])
        contact(w)
        R.wait(p, 1, "first attempt answered %d" % status)
        whd = deliveries(w, wh["id"])[0]["id"]
        d = wait_delivery(w, whd, lambda d: d["attempt_count"] >= 1, "first attempt recorded")
        if d["status"] == "retrying":
            ms = lambda s: time.mktime(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(s[20:23])
            gap = ms(d["next_attempt_at"]) - ms(d["last_attempt_at"])
            ok(gap >= 2000, "Retry-After: 2 -> next_attempt_at %s is %d ms after last_attempt_at %s, want >= 2000" % (
                d["next_attempt_at"], gap, d["last_attempt_at"]))
            eq(d["last_status_code"], status, "last_status_code")
        d = wait_delivery(w, whd, lambda d: d["status"] == "succeeded", "succeeded after the wait")
        eq(d["attempt_count"], 2, "two attempts")
        got = R.requests(p)
        ok(got[1]["time"] - got[0]["time"] >= 1.5,
           "the retry came %.2fs after the %d with Retry-After: 2" % (got[1]["time"] - got[0]["time"], status))
    return t


test_429_retry_after_is_honoured = _retry_after(429)
test_503_retry_after_is_honoured = _retry_after(503)


def test_redirect_is_a_failure_and_never_followed():
    w = ws()
    p, target = path("redir"), path("target")
    R.script(p, ("redirect", R.url(target)))
    wh = endpoint(w, p, ["contact.created"])
    contact(w)
    whd = R.wait(p, 1, "the redirected attempt")[0]["headers"]["webhook-id"]
    d = wait_delivery(w, whd, lambda d: d["status"] == "failed", "failed after the schedule's last retry")
    eq(d["attempt_count"], ATTEMPTS, "attempts (schedule %s)" % SCHEDULE)
    ok("redirect" in (d["last_error"] or "").lower(), "last_error names the redirect: %r" % d["last_error"])
    eq(R.requests(target), [], "the Location was never requested")
    eq(len(R.requests(p)), ATTEMPTS, "one request per attempt")
    eq(d["next_attempt_at"], None, "a failed delivery has no next attempt")
    ok(expect(w.get("/v1/webhooks/" + wh["id"]), 200)["data"]["failing_since"] is not None,
       "failing_since set while failing")
    # A failed delivery retried by hand once the receiver is fixed.
    R.script(p, 200)
    d = expect(w.post("/v1/webhook-deliveries/%s/retry" % whd), 200)["data"]
    eq(d["status"], "pending", "a failed delivery is pending again after retry")
    d = wait_delivery(w, whd, lambda d: d["status"] == "succeeded", "the retried failed delivery succeeds")
    eq((d["attempt_count"], d["last_status_code"], d["last_error"]), (ATTEMPTS + 1, 200, None), "after the retry")
    eq(expect(w.get("/v1/webhooks/" + wh["id"]), 200)["data"]["failing_since"], None, "a success clears failing_since")


def test_timeout_is_a_failure():
    w = ws()
    p = path()
    R.script(p, ("sleep", TIMEOUT_MS / 1000.0 + 2))
    wh = endpoint(w, p, ["contact.created"])
    contact(w)
    R.wait(p, 1, "the slow attempt")
    whd = deliveries(w, wh["id"])[0]["id"]
    d = wait_delivery(w, whd, lambda d: d["attempt_count"] >= 1, "first attempt recorded")
    R.script(p, 200)
    ok(d["status"] in ("retrying", "failed"), "a timed-out attempt is no success: %r" % d)
    ok("timeout" in (d["last_error"] or "").lower() or "timed out" in (d["last_error"] or "").lower(),
       "last_error names the timeout: %r" % d)
    ok(d["last_status_code"] is None, "no status after a timeout: %r" % d["last_status_code"])
    d = wait_delivery(w, whd, lambda d: d["status"] == "succeeded", "succeeds on a later attempt")
    ok(d["attempt_count"] >= 2, "retried after the timeout: %r" % d)


def test_closed_connection_is_a_failure():
    w = ws()
    p = path()
    R.script(p, "close")
    wh = endpoint(w, p, ["contact.created"])
    contact(w)
    R.wait(p, 1, "the closed attempt")
    whd = deliveries(w, wh["id"])[0]["id"]
    d = wait_delivery(w, whd, lambda d: d["status"] == "failed", "failed after the schedule's last retry")
    eq((d["attempt_count"], d["last_status_code"]), (ATTEMPTS, None), "attempts, no status")
    ok(d["last_error"], "last_error says why: %r" % d)
    # libcurl sends a request again, once, when a reused keep-alive
    # connection closes before any answer: at least one per attempt.
    got = R.requests(p)
    ok(len(got) >= ATTEMPTS, "at least one request per attempt: %d" % len(got))
    eq({g["headers"]["webhook-id"] for g in got}, {whd}, "every request is the one delivery")


def test_list_filters_query_status_event_type():
    w = ws()
    a = endpoint(w, path(), ["contact.created"], name="Alpha hook")
    b = endpoint(w, path(), ["deal.*"], name="Beta hook", status="paused")
    eq([x["id"] for x in list_all(w, "/v1/webhooks", {"query": "alpha"})], [a["id"]], "query=")
    eq([x["id"] for x in list_all(w, "/v1/webhooks", {"status": "paused"})], [b["id"]], "status=")
    expect(w.get("/v1/webhooks", params={"status": "asleep"}), 400, "validation_failed", "status")
    # 004's event_type filter: the endpoints subscribed to a type.
    r = w.get("/v1/webhooks", params={"event_type": "contact.created"})
    got = [x["id"] for x in expect(r, 200)["data"]]
    ok(a["id"] in got and b["id"] not in got, "%s: want %s, not %s: got %s" % (r.request_line(), a["id"], b["id"], got))
    r = w.get("/v1/webhooks", params={"event_type": "deal.stage_changed"})
    got = [x["id"] for x in expect(r, 200)["data"]]
    ok(b["id"] in got and a["id"] not in got, "%s: the deal.* endpoint: got %s" % (r.request_line(), got))


# ------------------------------------------------------------ subscriptions and order

def test_field_level_subscription():
    w = ws()
    p = path()
    wh = endpoint(w, p, ["contact.updated"], fields={"contact": ["email"]})
    eq(wh["fields"], {"contact": ["email"]}, "fields stored")
    c = contact(w)
    expect(w.patch("/v1/contacts/" + c["id"], {"first_name": "Renamed"}), 200)
    expect(w.patch("/v1/contacts/" + c["id"], {"email": uniq("n") + "@wh.test"}), 200)
    body = body_of(R.wait(p, 1, "the email change")[0])
    eq(body["data"]["previous_attributes"].get("email"), c["email"], "the delivered update is the email change")
    # Both updates are in the log; the first_name one came first, so had it
    # been queued it would be there before the email one.
    eq(len([e for e in events(w, resource_id=c["id"]) if e["type"] == "contact.updated"]), 2, "two updates")
    ds = deliveries(w, wh["id"])
    eq([d["sequence"] for d in ds], [body["sequence"]], "only the email change is queued")
    eq(len(R.requests(p)), 1, "only the email change is sent")


def test_non_parallel_endpoint_gets_events_in_sequence_order():
    w = ws()
    p = path()
    endpoint(w, p, ["contact.created"])
    made, errs = [], []

    def writer(k):
        try:
            for i in range(10):
                made.append(contact(w, first_name="Ord%d_%d" % (k, i))["id"])
        except Exception as e:  # noqa: BLE001
            errs.append(e)
    ts = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    [t.start() for t in ts]
    [t.join(WAIT) for t in ts]
    ok(not errs, "writers failed: %r" % errs[:1])
    got = R.wait(p, 30, "30 creates")
    bodies = [body_of(g) for g in got]
    seqs = [b["sequence"] for b in bodies]
    ok(all(a < b for a, b in zip(seqs, seqs[1:])), "sequences in arrival order are strictly increasing: %r" % seqs)
    eq(sorted(b["data"]["id"] for b in bodies), sorted(made), "every contact once")


def test_parallel_flag_and_wildcards():
    w = ws()
    p = path()
    wh = endpoint(w, p, ["contact.*", "company.created"], parallel=True)
    eq(wh["parallel"], True, "parallel stored")
    c = contact(w)
    co = w.create("/v1/companies", {"name": uniq("Co")})
    expect(w.patch("/v1/contacts/" + c["id"], {"title": "X"}), 200)
    got = R.wait(p, 3, "three events")
    eq(sorted(body_of(g)["type"] for g in got), ["company.created", "contact.created", "contact.updated"],
       "what the patterns match")
    eq(sorted(body_of(g)["data"]["id"] for g in got), sorted([c["id"], co["id"], c["id"]]), "the records")


# ------------------------------------------------------------ test, deliveries, retry, replay

def test_test_event_and_delivery_filters():
    w = ws()
    p = path()
    wh = endpoint(w, p, ["contact.created"])
    other = endpoint(w, path(), ["contact.created"])
    r = w.post("/v1/webhooks/%s/test" % wh["id"])
    t = expect(r, 201)["data"]
    eq((t["event_type"], t["status"], t["webhook_id"], t["event_id"], t["sequence"], t["attempt_count"]),
       ("webhook.test", "pending", wh["id"], None, 0, 0), "%s: the test delivery" % r.request_line())
    req = R.wait(p, 1, "the test delivery")[0]
    body = body_of(req)
    eq(body["type"], "webhook.test", "test body type")
    eq(req["headers"]["webhook-id"], t["id"], "webhook-id")
    eq(len(verify(wh["signing_secret"], req["headers"], req["body"])), 1, "test delivery signed")
    wait_delivery(w, t["id"], lambda d: d["status"] == "succeeded", "test delivered")
    contact(w)
    R.wait(p, 2, "the contact delivery")
    wait_deliveries(w, wh["id"], 2, "both succeeded", status="succeeded")
    base = "/v1/webhooks/%s/deliveries" % wh["id"]
    eq([d["id"] for d in list_all(w, base, {"event_type": "webhook.test"})], [t["id"]], "event_type filter")
    eq([d["event_type"] for d in list_all(w, base, {"event_type": "contact.created"})], ["contact.created"],
       "event_type filter (contact.created)")
    eq(len(list_all(w, base, {"status": "succeeded"})), 2, "status=succeeded")
    for st in ("pending", "retrying", "failed"):
        eq(list_all(w, base, {"status": st}), [], "status=%s" % st)
    expect(w.get(base, params={"status": "lost"}), 400, "validation_failed", "status")
    eq(len(list_all(w, base, {"webhook_id": wh["id"]})), 2, "webhook_id equal to the path's")
    mine = {d["id"] for d in list_all(w, "/v1/webhook-deliveries", {"webhook_id": wh["id"]})}
    eq(mine, {d["id"] for d in deliveries(w, wh["id"])}, "GET /v1/webhook-deliveries?webhook_id=")
    theirs = {d["id"] for d in list_all(w, "/v1/webhook-deliveries", {"webhook_id": other["id"]})}
    ok(not (mine & theirs), "the other endpoint's deliveries are its own")
    r = w.get(base, params={"webhook_id": other["id"]})
    ok(r.status == 400 or (r.status == 200 and r.data == []),
       "%s: another endpoint's id in the query answers 400 or nothing, got %s" % (r.request_line(), r.describe()))


def test_retry_sends_again_with_the_same_id():
    w = ws()
    p = path()
    wh = endpoint(w, p, ["contact.created"])
    contact(w)
    first = R.wait(p, 1, "the delivery")[0]
    whd = first["headers"]["webhook-id"]
    wait_delivery(w, whd, lambda d: d["status"] == "succeeded", "succeeded")
    r = w.post("/v1/webhook-deliveries/%s/retry" % whd)
    d = expect(r, 200)["data"]
    eq((d["id"], d["status"]), (whd, "pending"), "%s: pending again" % r.request_line())
    second = R.wait(p, 2, "the retried delivery")[1]
    eq(second["headers"]["webhook-id"], whd, "the same webhook-id on a retry")
    eq(second["body"], first["body"], "the same body on a retry")
    eq(len(verify(wh["signing_secret"], second["headers"], second["body"])), 1, "the retry is signed")
    d = wait_delivery(w, whd, lambda d: d["status"] == "succeeded" and d["attempt_count"] == 2, "retried")
    expect(w.post("/v1/webhook-deliveries/whd_00000000000000000000000000/retry"), 404, "not_found")


def test_replay_since_sequence_and_time():
    w = ws()
    p = path()
    wh = endpoint(w, p, ["contact.created"])
    cs = []
    for i in range(3):
        cs.append(contact(w, first_name="Rep%d" % i))
        time.sleep(0.02)
    R.wait(p, 3, "three deliveries")
    evs = [e for e in events(w, types="contact.created")]
    eq([e["resource_id"] for e in evs], [c["id"] for c in cs], "the events")
    r = w.post("/v1/webhooks/%s/replay" % wh["id"], {"since": "0"})
    d = expect(r, 200)["data"]
    eq((d["object"], d["webhook_id"], d["queued"], d["first_sequence"], d["last_sequence"], d["truncated"]),
       ("webhook_replay", wh["id"], 3, evs[0]["sequence"], evs[2]["sequence"], False), r.request_line())
    got = R.wait(p, 6, "the replayed three")
    eq([body_of(g)["data"]["id"] for g in got[3:]], [c["id"] for c in cs], "replayed in order")
    eq([g["body"] for g in got[3:]], [g["body"] for g in got[:3]], "the same bodies")
    r = w.post("/v1/webhooks/%s/replay" % wh["id"], {"since": str(evs[0]["sequence"])})
    eq(expect(r, 200)["data"]["queued"], 2, "%s: events after that sequence" % r.request_line())
    R.wait(p, 8, "two more")
    r = w.post("/v1/webhooks/%s/replay" % wh["id"], {"since": evs[2]["occurred_at"]})
    d = expect(r, 200)["data"]
    eq((d["queued"], d["first_sequence"]), (1, evs[2]["sequence"]), "%s: events at or after a time" % r.request_line())
    R.wait(p, 9, "one more")
    for since in ("yesterday", "-1", "", "12abc", 5):
        expect(w.post("/v1/webhooks/%s/replay" % wh["id"], {"since": since}), 400, "validation_failed", "since")
    expect(w.post("/v1/webhooks/%s/replay" % wh["id"], {}), 400, "validation_failed", "since")
    wait_deliveries(w, wh["id"], 9, "all nine succeeded", status="succeeded")


def test_paused_endpoint_queues_and_sends_when_active():
    w = ws()
    p, sentinel = path("paused"), path("sentinel")
    wh = endpoint(w, p, ["contact.created"], status="paused")
    eq(wh["status"], "paused", "created paused")
    endpoint(w, sentinel, ["contact.created"])
    cs = [contact(w)["id"] for _ in range(3)]
    R.wait(sentinel, 3, "the active endpoint got all three")
    ds = deliveries(w, wh["id"])
    eq([(d["status"], d["attempt_count"]) for d in ds], [("pending", 0)] * 3, "queued as pending")
    eq(R.requests(p), [], "a paused endpoint is sent nothing")
    expect(w.patch("/v1/webhooks/" + wh["id"], {"status": "active"}), 200)
    got = R.wait(p, 3, "sent once active")
    eq([body_of(g)["data"]["id"] for g in got], cs, "in order")
    wait_deliveries(w, wh["id"], 3, "succeeded", status="succeeded")


def test_delete_webhook_deletes_its_deliveries():
    w = ws()
    p = path()
    wh = endpoint(w, p, ["contact.created"])
    t = expect(w.post("/v1/webhooks/%s/test" % wh["id"]), 201)["data"]
    contact(w)
    R.wait(p, 2, "two deliveries")
    ds = deliveries(w, wh["id"])
    eq(len(ds), 2, "two deliveries")
    expect(w.delete("/v1/webhooks/" + wh["id"]), 200)
    expect(w.get("/v1/webhooks/" + wh["id"]), 404, "not_found")
    for d in ds:
        expect(w.get("/v1/webhook-deliveries/" + d["id"]), 404, "not_found")
    expect(w.get("/v1/webhooks/%s/deliveries" % wh["id"]), 404, "not_found")
    expect(w.post("/v1/webhook-deliveries/%s/retry" % t["id"]), 404, "not_found")
    eq(list_all(w, "/v1/webhook-deliveries"), [], "none left in the workspace")
    n = len(R.requests(p))
    contact(w)
    eq(list_all(w, "/v1/webhook-deliveries"), [], "nothing queued for a deleted endpoint")
    eq(len(R.requests(p)), n, "nothing sent")


# ------------------------------------------------------------ durability and the 5-day rule

def test_kill9_with_deliveries_pending_loses_none():
    env = {"CAIRN_WEBHOOK_RETRY_SCHEDULE_MS": "0,1000,1000,1000,1000,1000,1000,1000,1000,1000",
           "CAIRN_WEBHOOK_TIMEOUT_MS": str(TIMEOUT_MS)}
    K = Server(name="webhooks-kill", extra_args=["--webhook-allow-private"], env=env)
    w = K.key(uniq("kill"))
    K.start()
    try:
        p = path("kill")
        R.script(p, 503)
        endpoint(w, p, ["contact.created"])
        made = [contact(w, first_name="K%d" % i)["id"] for i in range(20)]
        R.wait(p, 1, "an attempt before the kill")
        K.kill9()
        n_before = len(R.requests(p))
        before = {body_of(g)["data"]["id"]: g["headers"]["webhook-id"] for g in R.requests(p)}
        R.script(p, 200)
        K.start()
        got = R.wait(p, n_before + 20, "all twenty after the restart")
        ids_ = {}
        for g in got:
            cid, wid = body_of(g)["data"]["id"], g["headers"]["webhook-id"]
            ok(ids_.setdefault(cid, wid) == wid, "contact %s came with webhook-ids %s and %s" % (cid, ids_[cid], wid))
            ok(before.get(cid, wid) == wid, "contact %s: webhook-id %s before the kill, %s after" % (
                cid, before.get(cid), wid))
        eq(sorted(ids_), sorted(made), "every event delivered")
        wh = list_all(w, "/v1/webhooks")[0]
        ds = wait_deliveries(w, wh["id"], 20, "every delivery succeeded", status="succeeded")
        eq(len(ds), 20, "twenty deliveries, none queued twice")
    finally:
        K.stop()


def test_failing_for_the_disable_window_disables():
    env = dict(ENV, CAIRN_WEBHOOK_DISABLE_AFTER_MS="1500",
               CAIRN_WEBHOOK_RETRY_SCHEDULE_MS="0,500,500,500,500,500,500,500,500,500")
    D = Server(name="webhooks-disable", extra_args=["--webhook-allow-private"], env=env)
    w = D.key(uniq("dis"))
    D.start()
    try:
        p = path("dis")
        R.script(p, 500)
        wh = endpoint(w, p, ["contact.created"])
        contact(w)
        e = until(lambda: (lambda e: (e["status"] == "disabled", e))(
            expect(w.get("/v1/webhooks/" + wh["id"]), 200)["data"]), "disabled after failing for the window")
        ok(e["disabled_reason"], "disabled_reason set: %r" % e)
        evs = events(w, types="webhook.disabled")
        eq([x["resource_id"] for x in evs], [wh["id"]], "one webhook.disabled event")
        # Enabled again: a fresh start, nothing failing.
        e = expect(w.patch("/v1/webhooks/" + wh["id"], {"status": "active"}), 200)["data"]
        eq((e["status"], e["disabled_reason"], e["failing_since"]), ("active", None, None), "re-enabled")
    finally:
        D.stop()


def test_two_nodes_send_each_event_once_postgres():
    if backend() != "postgres":
        skip("needs PostgreSQL (two nodes on one database; run under scripts/with-postgres.sh)")
    N2 = Server(name="webhooks-node2", db=S.db, extra_args=["--webhook-allow-private"], env=ENV)
    w = ws("nodes")
    N2.start()
    try:
        w2 = Client(N2, w.key)
        p = path("nodes")
        endpoint(w, p, ["contact.created"])
        made = [contact(w if i % 2 else w2, first_name="N%d" % i)["id"] for i in range(20)]
        got = R.wait(p, 20, "twenty events written on two nodes")
        wh = list_all(w, "/v1/webhooks")[0]["id"]
        wait_deliveries(w, wh, 20, "all succeeded", status="succeeded")
        got = R.requests(p)
        eq(sorted(body_of(g)["data"]["id"] for g in got), sorted(made), "each event sent once, by one node")
        seqs = [body_of(g)["sequence"] for g in got]
        ok(all(a < b for a, b in zip(seqs, seqs[1:])), "in sequence order across nodes: %r" % seqs)
        eq(len(deliveries(w, wh)), 20, "each event queued once")
    finally:
        N2.stop_ok()


# ------------------------------------------------------------ event types

BUILTINS = {"contact.created": "crm", "deal.stage_changed": None, "lead.converted": None,
            "ticket.sla_breached": None, "webhook.test": None}


def test_event_types_builtins():
    w = ws("et")
    all_ = list_all(w, "/v1/integrations/events")
    keys = [t["key"] for t in all_]
    eq(keys, sorted(set(keys)), "every key once, sorted")
    by = {t["key"]: t for t in all_}
    for k, cat in BUILTINS.items():
        ok(k in by, "built-in %s listed" % k)
        eq(by[k]["built_in"], True, "%s built_in" % k)
        if cat:
            eq(by[k]["category"], cat, "%s category" % k)
    eq(by["ticket.sla_breached"]["category"], by["ticket.created"]["category"], "an action's category is its resource's")
    ok("Contact" in (by["contact.created"]["payload_schema"] or ""), "payload_schema %r" % by["contact.created"])
    paged = list_all(w, "/v1/integrations/events", limit=7)
    eq([t["key"] for t in paged], keys, "pages of 7 give every key once, in order")
    crm = list_all(w, "/v1/integrations/events", {"category": "crm"})
    ok(crm and all(t["category"] == "crm" for t in crm), "category=crm")
    ok("contact.created" in [t["key"] for t in crm] and "ticket.sla_breached" not in [t["key"] for t in crm],
       "category=crm holds contact.created, not tickets")
    q = list_all(w, "/v1/integrations/events", {"query": "stage_changed"})
    ok("deal.stage_changed" in [t["key"] for t in q], "query finds deal.stage_changed")
    ok(all("stage_changed" in t["key"] or "stage_changed" in (t["description"] or "") for t in q),
       "query answers only matches: %r" % [t["key"] for t in q])
    eq(list_all(w, "/v1/integrations/events", {"category": "nonesuch"}), [], "unknown category: empty")
    for params, param in [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"cursor": "garbage"}, "cursor"),
                          ({"colour": "red"}, "colour")]:
        expect(w.get("/v1/integrations/events", params=params), 400, "validation_failed", param)


def test_event_types_register():
    w = ws("et")
    other = ws("et")
    key = "external.%s.completed" % uniq("pub")
    r = w.post("/v1/integrations/events", {"key": key, "category": "publishing", "description": "Published out"})
    t = expect(r, 201)["data"]
    ok(id_re("iet_").match(t["id"]), "%s: iet_ id" % r.request_line())
    eq((t["key"], t["category"], t["description"], t["built_in"]), (key, "publishing", "Published out", False),
       "registered type")
    expect(w.post("/v1/integrations/events", {"key": key, "category": "x"}), 409)
    expect(w.post("/v1/integrations/events", {"key": "contact.created", "category": "x"}), 409)
    for bad in ("single", "Upper.Case", "a..b", "a.b-c", ".a.b", "a.b.", "a.*", "", "a b.c", "x" * 99 + ".y"):
        expect(w.post("/v1/integrations/events", {"key": bad, "category": "x"}), 400, "validation_failed", "key")
    expect(w.post("/v1/integrations/events", {"key": "ok.key"}), 400, "validation_failed", "category")
    expect(w.post("/v1/integrations/events", {"key": 5, "category": "x"}), 400, "validation_failed", "key")
    eq(expect(w.get("/v1/integrations/events/" + t["id"]), 200)["data"], t, "GET the registered type")
    u = expect(w.patch("/v1/integrations/events/" + t["id"], {"description": "Now described"}), 200)["data"]
    eq(u["description"], "Now described", "PATCH description")
    expect(w.patch("/v1/integrations/events/" + t["id"], {"key": "other.key"}), 400, "validation_failed", "key")
    listed = list_all(w, "/v1/integrations/events", {"category": "publishing"})
    eq([x["key"] for x in listed], [key], "listed under its category")
    keys = [x["key"] for x in list_all(w, "/v1/integrations/events")]
    eq(keys, sorted(keys), "merged list sorted")
    ok(key in keys, "in the full list")
    ok(key not in [x["key"] for x in list_all(other, "/v1/integrations/events")], "not in another workspace")
    # Subscribing: unknown before, known after; a wildcard over it too.
    expect(other.post("/v1/webhooks", {"name": "x", "url": R.url("/n"), "event_types": [key]}), 400,
           "validation_failed", "event_types")
    wh = endpoint(w, path(), [key, "external.*"])
    eq(wh["event_types"], [key, "external.*"], "subscribed to a registered type")
    expect(w.delete("/v1/integrations/events/" + t["id"]), 200)
    expect(w.get("/v1/integrations/events/" + t["id"]), 404, "not_found")
    ok(key not in [x["key"] for x in list_all(w, "/v1/integrations/events")], "gone from the list")


def test_a_workspace_has_at_most_100_endpoints():
    w = ws("cap")
    for i in range(100):
        expect(w.post("/v1/webhooks", {"name": "cap %d" % i, "url": "https://example.com/cap/%d" % i,
                                       "event_types": ["contact.created"]}), 201)
    expect(w.post("/v1/webhooks", {"name": "one too many", "url": "https://example.com/cap/x",
                                   "event_types": ["contact.created"]}), 409, "conflict")
    first = list_all(w, "/v1/webhooks")
    eq(len(first), 100, "endpoints listed")
    expect(w.delete("/v1/webhooks/" + first[0]["id"]), 200)
    expect(w.post("/v1/webhooks", {"name": "room again", "url": "https://example.com/cap/y",
                                   "event_types": ["contact.created"]}), 201)
