"""Several nodes on one PostgreSQL database (only when CAIRN_TEST_PG is set;
skipped otherwise): two `cairn serve` processes A and B share a database.
A record written via one is read, listed and searched via the other; an
Idempotency-Key replayed on the other node returns the stored response byte
for byte; the same POST with the same key sent to both at once creates one
record and both answer alike; and when PostgreSQL goes away both answer 503
store_unavailable (never hang), /healthz stays 200, /readyz is 503, and they
recover by themselves once it is back. The outage test is last (and run.py
runs this module last): it stops and restarts the cluster."""

import http.client
import json
import threading
import time

from harness import (HTTP_TIMEOUT, SCALE, Client, Resp, Server, backend, cli, count, create_key, eq,
                     expect, ids, list_all, ok, pg_ctl, pg_wait_ready, skip, uniq)

A = B = None        # the two nodes
CA = CB = None      # one key, bound to A and to B


def setup_module():
    global A, B, CA, CB
    if backend() != "postgres":
        skip("needs PostgreSQL (CAIRN_TEST_PG is not set; run under scripts/with-postgres.sh)")
    A = Server(name="node-a")
    B = Server(name="node-b", db=A.db)
    CA = A.key("nodes")
    CB = Client(B, CA.key)
    A.start()
    B.start()


def teardown_module():
    for s in (A, B):
        if s is not None and s.alive():
            s.stop_ok()


def _hk(k):
    return {"Idempotency-Key": k}


# ---------------------------------------------------------------- (a) shared data

def test_create_on_a_read_list_search_on_b():
    tok = uniq("nodeab")
    co = CA.create("/v1/companies", {"name": "Nodeco %s" % tok, "domain": "%s.example.com" % tok})
    c = CA.create("/v1/contacts", {"first_name": "Node", "last_name": tok, "email": "%s@example.com" % tok,
                                   "company_id": co["id"]})
    # GET on B: the very same record
    eq(expect(CB.get("/v1/contacts/" + c["id"]), 200)["data"], c, "GET /v1/contacts/%s on B vs create on A" % c["id"])
    eq(expect(CB.get("/v1/companies/" + co["id"]), 200)["data"], co, "GET /v1/companies/%s on B vs create on A" % co["id"])
    # list on B
    items = list_all(CB, "/v1/contacts")
    found = [x for x in items if x.get("id") == c["id"]]
    eq(found, [c], "contact %s in GET /v1/contacts on B" % c["id"])
    eq(ids(list_all(CB, "/v1/companies/%s/contacts" % co["id"])), [c["id"]], "GET /v1/companies/{id}/contacts on B")
    # search and filter on B
    eq(ids(list_all(CB, "/v1/contacts", {"query": tok})), [c["id"]], "GET /v1/contacts?query=%s on B" % tok)
    eq(ids(list_all(CB, "/v1/contacts", {"query": "%s@exa" % tok})), [c["id"]], "email prefix search on B")
    eq(ids(list_all(CB, "/v1/companies", {"query": tok})), [co["id"]], "GET /v1/companies?query=%s on B" % tok)
    eq(ids(list_all(CB, "/v1/contacts", {"email": "%s@example.com" % tok})), [c["id"]], "filter email= on B")


def test_cursor_from_one_node_pages_on_the_other():
    # Cursors are sealed with the database's secret, which both nodes share.
    for i in range(3):
        CA.create("/v1/contacts", {"name": "Paged %d" % i})
    first = expect(CA.get("/v1/contacts", params={"limit": 1}), 200)
    ok(first["next_cursor"], "a next_cursor on A")
    on_b = expect(CB.get("/v1/contacts", params={"limit": 1, "cursor": first["next_cursor"]}), 200)
    on_a = expect(CA.get("/v1/contacts", params={"limit": 1, "cursor": first["next_cursor"]}), 200)
    eq(on_b["data"], on_a["data"], "the page after A's cursor, on B and on A")


def test_update_on_b_seen_on_a_delete_on_a_gone_on_b():
    tok = uniq("nodeupd")
    c = CB.create("/v1/contacts", {"name": "Upd %s" % tok})
    eq(expect(CA.get("/v1/contacts/" + c["id"]), 200)["data"], c, "GET on A of a contact created on B")
    p = expect(CB.patch("/v1/contacts/" + c["id"], {"title": "CTO"}), 200)["data"]
    eq(p.get("title"), "CTO", "PATCH title on B")
    eq(expect(CA.get("/v1/contacts/" + c["id"]), 200)["data"], p, "GET on A after PATCH on B")
    expect(CA.delete("/v1/contacts/" + c["id"]), 200)
    expect(CB.get("/v1/contacts/" + c["id"]), 404, "not_found")
    eq(ids(list_all(CB, "/v1/contacts", {"query": tok})), [], "search on B after DELETE on A")


def test_key_created_and_revoked_while_nodes_run():
    k = create_key(A.db, "nodes-late")
    ka, kb = Client(A, k), Client(B, k)
    expect(ka.get("/v1/workspace"), 200)
    expect(kb.get("/v1/workspace"), 200)
    p = cli("key", "revoke", k["id"], "--db", A.db)
    eq(p.returncode, 0, "key revoke exit code (stderr %r)" % p.stderr.strip()[-200:])
    deadline = time.time() + 4 * SCALE
    last = {}
    while time.time() < deadline:
        last = {"A": ka.get("/v1/workspace"), "B": kb.get("/v1/workspace")}
        if all(r.status == 401 for r in last.values()):
            break
        time.sleep(0.2)
    for n, r in last.items():
        expect(r, 401, "unauthorized")


# ---------------------------------------------------------------- (b) idempotency across nodes

def test_idempotency_key_replayed_on_other_node():
    tok = uniq("nodeidem")
    k = uniq("key")
    body = {"name": "Idem %s" % tok, "email": "%s@example.com" % tok}
    r1 = CA.post("/v1/contacts", body, headers=_hk(k))
    expect(r1, 201)
    eq(r1.headers.get("x-request-id"), r1.json.get("request_id"), "first response: X-Request-Id vs body request_id")
    r2 = CB.post("/v1/contacts", body, headers=_hk(k))
    eq(r2.status, r1.status, "replay on B status (%s)" % r2.describe())
    eq(r2.body, r1.body, "replay on B: body bytes vs the first response on A")
    eq(r2.headers.get("x-request-id"), (r2.json or {}).get("request_id"), "replay on B: X-Request-Id vs body request_id")
    r3 = CA.post("/v1/contacts", body, headers=_hk(k))
    eq((r3.status, r3.body), (r1.status, r1.body), "replay on A after the replay on B")
    eq(ids(list_all(CB, "/v1/contacts", {"query": tok})), [r1.json["data"]["id"]], "contacts after POST on A + replays")
    # another body under the same key, on either node
    expect(CB.post("/v1/contacts", {"name": "Idem Other %s" % tok}, headers=_hk(k)), 409, "idempotency_key_reused")
    expect(CA.post("/v1/contacts", {"name": "Idem Other %s" % tok}, headers=_hk(k)), 409, "idempotency_key_reused")
    eq(ids(list_all(CA, "/v1/contacts", {"query": tok})), [r1.json["data"]["id"]], "contacts after 409s")


def test_idempotent_patch_replayed_on_other_node():
    c = CA.create("/v1/contacts", {"name": "Idem Patch"})
    k = uniq("key")
    r1 = CA.patch("/v1/contacts/" + c["id"], {"title": "VP"}, headers=_hk(k))
    expect(r1, 200)
    r2 = CB.patch("/v1/contacts/" + c["id"], {"title": "VP"}, headers=_hk(k))
    eq((r2.status, r2.body), (r1.status, r1.body), "PATCH replay on B vs first PATCH on A")


# ---------------------------------------------------------------- (c) racing the same key

def _send_at_barrier(srv, token, path, body, key, barrier, out, slot):
    """Connect first, then wait at the barrier and send: both requests leave together."""
    data = json.dumps(body).encode()
    hdrs = {"Authorization": "Bearer " + token, "Content-Type": "application/json", "Idempotency-Key": key}
    try:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=HTTP_TIMEOUT)
        conn.connect()
        try:
            barrier.wait(10 * SCALE)
            conn.request("POST", path, body=data, headers=hdrs)
            r = conn.getresponse()
            out[slot] = Resp("POST", path, body, hdrs, r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()
    except Exception as e:  # noqa: BLE001 - reported by the caller
        out[slot] = e


def test_race_same_key_on_both_nodes_20_rounds():
    tok = uniq("noderace")
    made = []
    for rnd in range(20):
        key = uniq("race")
        body = {"name": "Race %s r%02d" % (tok, rnd), "email": "%s.r%02d@example.com" % (tok, rnd)}
        out = [None, None]
        barrier = threading.Barrier(2)
        ts = [threading.Thread(target=_send_at_barrier, args=(s, CA.token, "/v1/contacts", body, key, barrier, out, i))
              for i, s in enumerate((A, B))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(HTTP_TIMEOUT + 15 * SCALE)
        for i, n in enumerate("AB"):
            ok(isinstance(out[i], Resp), "round %d: POST /v1/contacts [Idempotency-Key: %s] on %s raised %r" % (rnd, key, n, out[i]))
        ra, rb = out
        for n, r in (("A", ra), ("B", rb)):
            if r.status != 201:
                raise AssertionError("round %d on %s: %s: expected 201 (the create or its replay), got %s %s (other node: %s %s)" % (
                    rnd, n, r.request_line(), r.status, r.body[:300], (rb if n == "A" else ra).status,
                    (rb if n == "A" else ra).body[:300]))
            eq(r.headers.get("x-request-id"), (r.json or {}).get("request_id"),
               "round %d on %s: X-Request-Id vs body request_id" % (rnd, n))
        eq(rb.body, ra.body, "round %d: body from B vs body from A for the same POST and Idempotency-Key %s" % (rnd, key))
        made.append(ra.json["data"]["id"])
    eq(len(set(made)), 20, "distinct ids over 20 rounds")
    got = list_all(CB, "/v1/contacts", {"query": tok})
    eq(sorted(ids(got)), sorted(made), "contacts named Race %s after 20 raced rounds (one per key)" % tok)


# ---------------------------------------------------------------- (d) outage (keep last)

def _timed(fn, what, limit=15.0):
    t0 = time.time()
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001
        raise AssertionError("%s: no HTTP answer after %.1fs during the outage (%s: %s)" % (what, time.time() - t0, type(e).__name__, e))
    took = time.time() - t0
    ok(took < limit * SCALE, "%s took %.1fs (want < %.0fs): %s" % (what, took, limit * SCALE, r.describe()))
    return r


def _expect_unavailable(r):
    expect(r, 503, "store_unavailable")
    ra = r.headers.get("retry-after")
    ok(ra is not None and ra.strip().isdigit() and int(ra) >= 1,
       "%s: 503 without a Retry-After of >= 1 second (got %r)" % (r.request_line(), ra))
    eq(r.headers.get("x-request-id"), (r.json or {}).get("request_id"), "%s: X-Request-Id vs body request_id" % r.request_line())


def test_outage_503_then_recovery_zz_last():
    ws = A.key("nodes-outage")
    wb = Client(B, ws.key)
    c = ws.create("/v1/contacts", {"name": "Before Outage", "email": "before.outage@example.com"})
    co = ws.create("/v1/companies", {"name": "Before Outage Co"})
    n_before = count(wb, "/v1/contacts")
    for s in (A, B):
        expect(s.request("GET", "/readyz"), 200)
    lost = uniq("lost")
    stopped = False
    try:
        pg_ctl("stop")
        stopped = True
        t_stop = time.time()
        # (1) within ~10 s a request gets 503 store_unavailable with Retry-After, never a hang
        last = None
        while True:
            last = _timed(lambda: ws.get("/v1/contacts/" + c["id"], timeout=30), "GET /v1/contacts/{id} on A")
            if last.status == 503:
                break
            ok(time.time() - t_stop < 10 * SCALE,
               "no 503 within %.0fs after PostgreSQL stopped; last: %s" % (10 * SCALE, last.describe()))
            time.sleep(0.2)
        _expect_unavailable(last)
        # (2) both nodes answer 503 quickly, /healthz 200, /readyz 503. Writes
        # go to A only: B's writer stays idle through the outage (a node that
        # happened to serve only reads then) and must still write afterwards.
        for n, cl in (("A", ws), ("B", wb)):
            _expect_unavailable(_timed(lambda: cl.get("/v1/contacts/" + c["id"], timeout=30), "GET contact on %s" % n))
            _expect_unavailable(_timed(lambda: cl.get("/v1/contacts", timeout=30), "GET /v1/contacts on %s" % n))
            if n == "A":
                for i in range(2):
                    _expect_unavailable(_timed(lambda: cl.post("/v1/contacts", {"name": "Lost %s %d" % (lost, i)}, timeout=30),
                                               "POST /v1/contacts on A"))
            expect(_timed(lambda: cl.server.request("GET", "/healthz", timeout=30), "GET /healthz on %s" % n), 200)
            expect(_timed(lambda: cl.server.request("GET", "/readyz", timeout=30), "GET /readyz on %s" % n), 503)
        for s in (A, B):
            ok(s.alive(), "node %s died during the outage; stderr: %s" % (s.dir, " | ".join(s.stderr_tail(6))))
        # (3) PostgreSQL back on the same port and data dir: within ~15 s each
        # node reads again and reports ready (polled), without a restart; from
        # then on its requests, writes included, succeed.
        pg_ctl("start")
        stopped = False
        t_start = time.time()
        for n, cl in (("A", ws), ("B", wb)):
            while True:
                r = _timed(lambda: cl.get("/v1/contacts/" + c["id"], timeout=30), "GET contact on %s after restart" % n)
                rr = _timed(lambda: cl.server.request("GET", "/readyz", timeout=30), "GET /readyz on %s after restart" % n)
                if r.status == 200 and rr.status == 200:
                    break
                ok(time.time() - t_start < 15 * SCALE,
                   "node %s not serving %.0fs after PostgreSQL came back; last: %s; %s" % (
                       n, 15 * SCALE, r.describe(), rr.describe()))
                time.sleep(0.25)
            eq(r.data, c, "contact on %s after the outage vs before" % n)
        for n, cl, other in (("A", ws, wb), ("B", wb, ws)):
            for _ in range(10):  # fresh connections, spread over the node's threads
                expect(cl.get("/v1/contacts/" + c["id"]), 200)
            made = expect(cl.post("/v1/contacts", {"name": "After Outage %s" % n}), 201)["data"]
            eq(expect(other.get("/v1/contacts/" + made["id"]), 200)["data"], made,
               "contact created on %s after the outage, read on the other node" % n)
            eq(expect(cl.get("/v1/companies/" + co["id"]), 200)["data"], co, "company on %s after the outage" % n)
            expect(cl.server.request("GET", "/healthz"), 200)
        eq(ids(list_all(ws, "/v1/contacts", {"query": lost})), [], "contacts from POSTs answered 503 during the outage")
        eq(count(wb, "/v1/contacts"), n_before + 2, "contacts after the outage: the ones before + one per node after")
        # (4) both nodes still stop cleanly
        A.stop_ok()
        B.stop_ok()
    finally:
        if stopped:
            pg_ctl("start")
        pg_wait_ready()
