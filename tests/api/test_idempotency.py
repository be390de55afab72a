"""Idempotency-Key on POST/PATCH/DELETE: replay of the first response,
409 idempotency_key_reused for a different body, keys scoped per workspace."""

from harness import Server, count, eq, expect, ok, uniq

S = A = B = None


def setup_module():
    global S, A, B
    S = Server(name="idem")
    A = S.key("idem-a")
    B = S.key("idem-b")
    S.start()


def teardown_module():
    S.stop_ok()


def _hk(k):
    return {"Idempotency-Key": k}


def test_post_replay_returns_same_response_and_creates_once():
    k = uniq("key")
    body = {"name": "Idem Once", "email": "idem.once@example.com"}
    n = count(A, "/v1/contacts")
    r1 = A.post("/v1/contacts", body, headers=_hk(k))
    expect(r1, 201)
    r2 = A.post("/v1/contacts", body, headers=_hk(k))
    eq(r2.status, 201, "replay status (%s)" % r2.describe())
    eq((r2.json or {}).get("data"), r1.json["data"], "replayed data")
    eq(count(A, "/v1/contacts"), n + 1, "contact count after a POST and its replay")
    r3 = A.post("/v1/contacts", body, headers=_hk(k))
    eq((r3.json or {}).get("data"), r1.json["data"], "second replay data")
    eq(count(A, "/v1/contacts"), n + 1, "contact count after two replays")


def test_post_replay_body_is_identical():
    k = uniq("key")
    body = {"name": "Idem Identical"}
    r1 = A.post("/v1/contacts", body, headers=_hk(k))
    expect(r1, 201)
    r2 = A.post("/v1/contacts", body, headers=_hk(k))
    eq(r2.json, r1.json, "replayed body (whole envelope)")
    eq(r2.headers.get("x-request-id"), (r2.json or {}).get("request_id"), "replay: X-Request-Id vs body request_id")


def test_same_key_different_body_is_409():
    k = uniq("key")
    expect(A.post("/v1/contacts", {"name": "Idem First"}, headers=_hk(k)), 201)
    n = count(A, "/v1/contacts")
    expect(A.post("/v1/contacts", {"name": "Idem Second"}, headers=_hk(k)), 409, "idempotency_key_reused")
    eq(count(A, "/v1/contacts"), n, "contact count after 409")
    eq(count(A, "/v1/contacts", {"query": "Second"}), 0, "contacts named Idem Second")
    expect(A.post("/v1/companies", {"name": "Idem Co"}, headers=_hk(k)), 409, "idempotency_key_reused")
    eq(count(A, "/v1/companies"), 0, "companies after key reuse on another path")


def test_keys_are_per_workspace():
    k = uniq("key")
    body = {"name": "Idem Shared Key"}
    a = expect(A.post("/v1/contacts", body, headers=_hk(k)), 201)["data"]
    nb = count(B, "/v1/contacts")
    b = expect(B.post("/v1/contacts", body, headers=_hk(k)), 201)["data"]
    ok(a["id"] != b["id"], "workspace B got A's replayed record %s" % a["id"])
    eq(count(B, "/v1/contacts"), nb + 1, "B contact count")
    expect(B.get("/v1/contacts/" + b["id"]), 200)
    expect(B.get("/v1/contacts/" + a["id"]), 404, "not_found")
    # and a different body under the same key in B is judged against B's own first use
    expect(B.post("/v1/contacts", {"name": "Other"}, headers=_hk(k)), 409, "idempotency_key_reused")


def test_patch_replay_does_not_reapply():
    c = A.create("/v1/contacts", {"name": "Idem Patch", "title": "T0"})
    path = "/v1/contacts/" + c["id"]
    k = uniq("key")
    r1 = A.patch(path, {"title": "T1"}, headers=_hk(k))
    eq(expect(r1, 200)["data"]["title"], "T1", "first PATCH title")
    expect(A.patch(path, {"title": "T2"}), 200)
    r2 = A.patch(path, {"title": "T1"}, headers=_hk(k))
    eq(r2.status, 200, "PATCH replay status (%s)" % r2.describe())
    eq((r2.json or {}).get("data"), r1.json["data"], "PATCH replay data (the first response)")
    eq(expect(A.get(path), 200)["data"]["title"], "T2", "title after PATCH replay (must not re-apply)")
    expect(A.patch(path, {"title": "T3"}, headers=_hk(k)), 409, "idempotency_key_reused")
    eq(expect(A.get(path), 200)["data"]["title"], "T2", "title after 409")


def test_delete_replay():
    c = A.create("/v1/contacts", {"name": "Idem Delete"})
    k = uniq("key")
    r1 = A.delete("/v1/contacts/" + c["id"], headers=_hk(k))
    expect(r1, 200)
    r2 = A.delete("/v1/contacts/" + c["id"], headers=_hk(k))
    eq(r2.status, 200, "DELETE replay status (%s)" % r2.describe())
    eq((r2.json or {}).get("data"), r1.json["data"], "DELETE replay data")
    expect(A.get("/v1/contacts/" + c["id"]), 404, "not_found")


def test_failed_request_with_key_then_valid_body():
    # A 400 for one body must not make the key unusable for... the same body: it replays the 400.
    k = uniq("key")
    n = count(A, "/v1/contacts")
    r1 = A.post("/v1/contacts", {"foo": 1}, headers=_hk(k))
    expect(r1, 400, "validation_failed", "foo")
    r2 = A.post("/v1/contacts", {"foo": 1}, headers=_hk(k))
    expect(r2, 400, "validation_failed", "foo")
    eq(count(A, "/v1/contacts"), n, "contact count after 400s with a key")


def test_without_key_creates_twice():
    body = {"name": "No Key Twice"}
    n = count(A, "/v1/contacts")
    a = A.create("/v1/contacts", body)
    b = A.create("/v1/contacts", body)
    ok(a["id"] != b["id"], "two POSTs without a key returned the same id")
    eq(count(A, "/v1/contacts"), n + 2, "contact count")


def test_replay_header_is_the_envelopes_request_id():
    # A record's own member named request_id comes before the envelope's:
    # the replay's X-Request-Id must be the envelope's.
    k = uniq("idem-rid")
    body = {"name": "Rid", "custom_fields": {"request_id": "req_not_this_one"}}
    r1 = A.post("/v1/contacts", body, headers={"Idempotency-Key": k})
    expect(r1, 201)
    r2 = A.post("/v1/contacts", body, headers={"Idempotency-Key": k})
    expect(r2, 201)
    eq(r2.headers.get("x-request-id"), r1.json["request_id"], "replay: X-Request-Id is the first answer's")
