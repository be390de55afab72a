"""Small contract rules every route keeps: a 405 names the methods in
Allow, every error body carries param (null when no field is at fault),
an Idempotency-Key is bound to the query string too, and the dashboard
shows a key only the sections its scopes may read."""

from harness import Server, eq, expect, ok, uniq

S = A = None


def setup_module():
    global S, A
    S = Server(name="contract")
    A = S.key("contract")
    S.start()


def teardown_module():
    S.stop_ok()


ALLOW = [
    ("PUT", "/v1/contacts", "GET, HEAD, POST"),
    ("DELETE", "/v1/contacts", "GET, HEAD, POST"),
    ("PUT", "/v1/contacts/con_00000000000000000000000000", "GET, HEAD, PATCH, DELETE"),
    ("GET", "/v1/deals/deal_00000000000000000000000000/move", "POST"),
    ("POST", "/v1/dashboard", "GET, HEAD"),
]


def test_405_carries_allow():
    for method, path, allow in ALLOW:
        r = A.request(method, path, body={} if method in ("PUT", "POST") else None)
        expect(r, 405, "method_not_allowed")
        eq(r.headers.get("allow"), allow, "%s: Allow" % r.request_line())


def test_every_error_has_param():
    for r in (A.get("/v1/contacts/con_00000000000000000000000000"),
              A.get("/v1/nowhere"),
              A.request("PUT", "/v1/contacts", body={}),
              S.request("GET", "/v1/contacts"),
              A.post("/v1/contacts", {"email": "bad"})):
        ok(r.status >= 400, "%s: %s" % (r.request_line(), r.status))
        ok("param" in (r.json or {}).get("error", {}), "%s: no param in %s" % (r.request_line(), r.body[:200]))
    eq(A.get("/v1/contacts/con_00000000000000000000000000").error.get("param"), None, "a 404's param")


def test_idempotency_key_covers_the_query_string():
    k = {"Idempotency-Key": uniq("qs")}
    body = {"email": "qs@example.com", "name": "Query"}
    expect(A.post("/v1/contacts", body, headers=k), 201)
    # the same key and body with ?upsert_on= is another request
    expect(A.post("/v1/contacts", body, headers=k, params={"upsert_on": "email"}), 409, "idempotency_key_reused")
    expect(A.post("/v1/contacts", body, headers=k), 201)  # the first still replays


def test_dashboard_shows_tasks_only_to_tasks_readers():
    crm_only = S.key("contract", scopes="crm:read")
    d = expect(crm_only.get("/v1/dashboard"), 200)["data"]
    ok("tasks" not in d, "a key without tasks:read sees task counts: %r" % d.get("tasks"))
    ok("open_pipeline" in d and "leads" in d, "the crm sections are there")
    d = expect(A.get("/v1/dashboard"), 200)["data"]
    ok("tasks" in d, "a key with tasks:read gets the tasks section")
