"""The audit log (GET /v1/audit-log): one entry per write through /v1 and
per tool call (MCP over HTTP and stdio, /crm/agent), written with the write
(a failed call's entry too, a dry run's as a dry run), with the key, the
route or tool, the records written, the reason, the request id, a hash of
the input, the outcome and the duration; filters and cursors; the
workspace:admin scope; never another workspace's."""

import json
import re
import subprocess
import time

from harness import Server, binary, eq, expect, list_all, ok, uniq

S = A = R = B = SA = None


def setup_module():
    global S, A, R, B, SA
    S = Server(name="audit")
    A = S.key("audit-a")
    R = S.key("audit-a", scopes="crm:read,crm:write")
    B = S.key("audit-b")
    SA = S.key("audit-super", super_admin=True)
    S.start()


def teardown_module():
    S.stop_ok()


def entries(key=None, **params):
    return list_all(key or A, "/v1/audit-log", params=params)


def wait_for(pred, what, timeout=10):
    """Reads' entries are appended by the writer after the answer."""
    deadline = time.time() + timeout
    while True:
        got = [e for e in entries() if pred(e)]
        if got or time.time() > deadline:
            ok(got, "no audit entry: %s" % what)
            return got


def mcp(key, name, args):
    r = S.request("POST", "/mcp", body={"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                        "params": {"name": name, "arguments": args}},
                  token=key.token, direct=True)
    eq(r.status, 200, "mcp status")
    return json.loads(r.body)["result"], r.headers.get("x-request-id")


def test_rest_writes_are_recorded():
    r = A.post("/v1/contacts", {"name": "Audited One"})
    c = expect(r, 201)["data"]
    rid = r.headers.get("x-request-id")
    got = [e for e in entries(request_id=rid)]
    eq(len(got), 1, "one entry for the request")
    e = got[0]
    eq((e["channel"], e["route"], e["resource"], e["tool"], e["outcome"], e["dry_run"], e["key_id"]),
       ("api", "POST /v1/contacts", "contacts", None, "ok", False, A.id), "the entry")
    eq(e["records"], [{"id": c["id"]}], "the record written")
    ok(re.match(r"^[0-9a-f]{64}$", e["input_hash"]), "input hash")
    ok(isinstance(e["duration_ms"], (int, float)) and e["duration_ms"] >= 0, "duration")
    ok(e["id"].startswith("aud_") and e["occurred_at"], "id and time")
    # PATCH, DELETE, an action: each recorded with its route.
    expect(A.patch("/v1/contacts/" + c["id"], {"title": "x"}), 200)
    expect(A.delete("/v1/contacts/" + c["id"]), 200)
    routes = [e["route"] for e in entries(resource="contacts") if e["records"] == [{"id": c["id"]}]]
    for want in ("POST /v1/contacts", "PATCH /v1/contacts/{id}", "DELETE /v1/contacts/{id}"):
        ok(want in routes, "%s recorded (%s)" % (want, routes))


def test_failed_and_dry_run_writes_are_recorded_as_such():
    r = A.post("/v1/contacts", {"name": "X", "email": "nope"})
    expect(r, 400)
    e = entries(request_id=r.headers.get("x-request-id"))
    eq([(x["outcome"], x["records"]) for x in e], [("validation_failed", [])], "failed write's entry")
    r = A.post("/v1/contacts", {"name": "Just Looking"}, params={"dry_run": "true"})
    d = expect(r, 200)["data"]
    e = entries(request_id=r.headers.get("x-request-id"))
    eq([(x["outcome"], x["dry_run"], x["records"]) for x in e], [("ok", True, [{"id": d["id"]}])],
       "dry run's entry")
    expect(A.get("/v1/contacts/" + d["id"]), 404)
    r = A.post("/v1/contacts/con_00000000000000000000000000/merge", {"from_ids": ["con_00000000000000000000000001"]})
    e = entries(request_id=r.headers.get("x-request-id"))
    eq(e[0]["outcome"], "not_found", "merge of nothing")


def test_reads_through_v1_are_not_recorded():
    before = len(entries())
    expect(A.get("/v1/contacts"), 200)
    expect(A.get("/v1/dashboard"), 200)
    eq(len(entries()), before, "reads leave no entry")


def test_tool_calls_are_recorded():
    res, rid = mcp(A, "create_contact", {"name": "By MCP"})
    cid = res["structuredContent"]["id"]
    e = entries(request_id=rid)
    eq([(x["channel"], x["tool"], x["resource"], x["records"]) for x in e],
       [("mcp", "create_contact", "contacts", [{"id": cid}])], "an MCP write")
    res, rid = mcp(A, "create_contact", {"name": "Bad", "email": 7})
    eq(res["isError"], True, "refused")
    e = entries(request_id=rid)
    eq([(x["tool"], x["outcome"]) for x in e], [("create_contact", "validation_failed")], "a refused call")
    res, rid = mcp(A, "get_contact", {"id": cid})
    got = wait_for(lambda x: x["request_id"] == rid, "an MCP read")
    eq((got[0]["tool"], got[0]["outcome"], got[0]["records"]), ("get_contact", "ok", []), "a read's entry")
    res, rid = mcp(A, "delete_contact", {"id": cid, "dryRun": True})
    e = entries(request_id=rid)
    eq((e[0]["dry_run"], e[0]["records"]), (True, [{"id": cid}]), "a dry-run tool call")


def test_agent_calls_carry_reason_and_request_id():
    org = A.workspace_id
    rid = uniq("agent-rid")
    r = S.request("POST", "/crm/agent/tools/create_task", token=SA.token, direct=True,
                  body={"organizationId": org, "input": {"title": "Audited task"},
                        "reason": "follow up the audit", "requestId": rid})
    eq(r.status, 200, "agent call (%s)" % r.body[:300])
    e = entries(request_id=rid)
    eq([(x["channel"], x["tool"], x["reason"], x["key_id"]) for x in e],
       [("agent", "create_task", "follow up the audit", SA.id)], "the agent's entry, in the target")
    r = S.request("POST", "/crm/agent/tools/crm_resolve_workspace", token=SA.token, direct=True,
                  body={"input": {"query": "audit-a"}, "requestId": rid + "-r"})
    eq(r.status, 200, "resolve")
    got, deadline = None, time.time() + 10
    while time.time() < deadline:
        got = [x for x in list_all(SA, "/v1/audit-log") if x["request_id"] == rid + "-r"]
        if got:
            break
        time.sleep(0.2)
    ok(got and got[0]["tool"] == "crm_resolve_workspace", "resolve is recorded in the caller's workspace")


def test_stdio_calls_are_recorded():
    line = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "create_contact", "arguments": {"name": "Via Stdio"}}})
    p = subprocess.run([binary(), "mcp", "--db", S.db, "--token", A.token], input=line + "\n",
                       capture_output=True, text=True, timeout=30, cwd=S.dir)
    eq(p.returncode, 0, "stdio exit (%s)" % p.stderr[-300:])
    cid = json.loads(p.stdout)["result"]["structuredContent"]["id"]
    e = [x for x in entries(channel="stdio") if x["records"] == [{"id": cid}]]
    eq(len(e), 1, "one stdio entry")


def test_filters_cursor_scope_and_isolation():
    tag = uniq("flt")
    for i in range(3):
        expect(A.post("/v1/tasks", {"title": "%s %d" % (tag, i)}), 201)
    page = expect(A.get("/v1/audit-log", params={"limit": 2, "resource": "tasks"}), 200)
    eq(len(page["data"]), 2, "a page of two")
    ok(page["next_cursor"], "more")
    nxt = expect(A.get("/v1/audit-log", params={"limit": 2, "resource": "tasks", "cursor": page["next_cursor"]}), 200)
    ok(nxt["data"] and nxt["data"][0]["id"] not in [x["id"] for x in page["data"]], "the next page")
    for k, v in (("key_id", A.id), ("outcome", "ok"), ("channel", "api"), ("resource", "tasks"),
                 ("tool", "create_contact")):
        got = entries(**{k: v})
        ok(got and all(x[k] == v for x in got), "filter %s" % k)
    eq(entries(occurred_after="2999-01-01T00:00:00.000Z"), [], "a time range")
    ok(entries(occurred_before="2999-01-01T00:00:00.000Z"), "the other side")
    expect(A.get("/v1/audit-log", params={"outcome_x": "1"}), 400)
    expect(R.get("/v1/audit-log"), 403, "forbidden")
    eq(entries(B), [], "another workspace sees none of them")
    one = entries()[0]
    expect(B.get("/v1/audit-log/" + one["id"]), 404)
    eq(expect(A.get("/v1/audit-log/" + one["id"]), 200)["data"], one, "get by id")
    eq(A.post("/v1/audit-log", {"outcome": "ok"}).status, 405, "nobody writes it")
    eq(A.delete("/v1/audit-log/" + one["id"]).status, 405, "nobody deletes it")


def test_readable_with_every_module_off():
    W = S.key(uniq("audit-mods"))
    expect(W.patch("/v1/workspace", {"enabled_modules": []}), 200)
    ok(isinstance(expect(W.get("/v1/audit-log"), 200)["data"], list), "the log is of no module")


def test_zz_a_clean_stop_writes_the_reads_entries():
    # Reads' entries wait up to a moment for the writer; SIGTERM must not
    # lose them.
    c = expect(A.post("/v1/contacts", {"name": "Read Before Stop"}), 201)["data"]
    _, rid = mcp(A, "get_contact", {"id": c["id"]})
    S.stop_ok()
    S.start()
    eq([e["tool"] for e in entries(request_id=rid)], ["get_contact"], "the read's entry after a restart")
