"""002's CRM Agent API: GET /crm/agent/capabilities and POST
/crm/agent/tools/{toolName}. Super-admin keys only; the envelope {success,
data, error, meta}; organizationId and crm_resolve_workspace; the outbound
module; input checked against the tool's schema; dryRun, confirm with a
suggested next call, requestId replay; nothing stored by failed or dry-run
calls. Sent directly: 002, not the OpenAPI document, is this contract."""

import json

from harness import Server, eq, expect, ok, uniq

S = SA = N = T = O = None
T_ID = O_ID = None


def setup_module():
    global S, SA, N, T, O, T_ID, O_ID
    S = Server(name="agent")
    SA = S.key("agent-home", super_admin=True)
    N = S.key("Agent Target Co")  # an admin of the target workspace, not super-admin
    T = N
    O = S.key("agent-other")
    S.start()
    T_ID, O_ID = T.workspace_id, O.workspace_id


def teardown_module():
    S.stop_ok()


def req(method, path, key=None, body=None, raw=None, params=None, ctype="application/json"):
    token = (key or SA).token if key is not False else None
    return S.request(method, path, body=body, raw=raw, token=token, params=params, ctype=ctype,
                     direct=True)


def caps(key=None, params=None):
    return req("GET", "/crm/agent/capabilities", key=key, params=params)


def tool(name, input=None, org="T", key=None, **extra):
    body = dict(extra)
    if input is not None:
        body["input"] = input
    if org == "T":
        body["organizationId"] = T_ID
    elif org is not None:
        body["organizationId"] = org
    return req("POST", "/crm/agent/tools/" + name, key=key, body=body)


def env(r, status, success):
    eq(r.status, status, "status of %s %s (%s)" % (r.method, r.path, r.body[:400]))
    j = json.loads(r.body)
    eq(j["success"], success, "success")
    eq(set(j), {"success", "data", "error", "meta"}, "envelope members")
    eq(j["meta"]["requestId"], r.headers.get("x-request-id"), "meta.requestId is the request's id")
    if success:
        eq(j["error"], None, "error of a success")
    else:
        ok(isinstance(j["error"], str) and j["error"], "error is a sentence")
    return j


def good(name, input, **kw):
    j = env(tool(name, input, **kw), 200, True)
    res = j["data"]
    eq(res["toolName"], name, "toolName")
    eq(res["status"], "success", "status")
    for k in ("summary", "data", "warnings", "nextActions", "durationMs", "dryRun", "organizationId"):
        ok(k in res, "result has %s" % k)
    return res


def bad(name, input, status, **kw):
    j = env(tool(name, input, **kw), status, False)
    return j


# ---------------------------------------------------------- capabilities

def test_capabilities():
    j = env(caps(), 200, True)
    d = j["data"]
    eq(d["version"], "1.0.0", "version")
    eq(d["auth"]["requiredRole"], "super_admin", "requiredRole")
    eq(d["defaults"], {"maxPageSize": 100, "defaultPageSize": 20, "dryRunDefault": False}, "defaults")
    by = {t["name"]: t for t in d["tools"]}
    eq(len(by), len(d["tools"]), "unique names")
    eq(j["meta"]["total"], len(d["tools"]), "meta.total")
    r = by["crm_resolve_workspace"]
    eq(r["requiresOrganizationId"], False, "resolve needs no organizationId")
    eq(r["riskLevel"], "read", "resolve is a read")
    c = by["create_contact"]
    eq((c["riskLevel"], c["supportsDryRun"], c["crmModule"], c["requiresOrganizationId"]),
       ("write", True, "crm", True), "create_contact's card")
    eq(by["delete_contact"]["riskLevel"], "destructive", "delete is destructive")
    eq(by["get_contact"]["supportsDryRun"], False, "reads have no dry run")
    eq(by["create_invoice"]["crmModule"], "billing", "modules")
    for t in d["tools"]:
        for k in ("name", "title", "description", "riskLevel", "requiresOrganizationId",
                  "supportsDryRun", "crmModule", "inputSchema", "outputSchema", "examples"):
            ok(k in t, "%s has %s" % (t["name"], k))
        ok(t["examples"] and "input" in t["examples"][0] and t["examples"][0]["description"],
           "%s has an example" % t["name"])
        ok(t["riskLevel"] in ("read", "write", "destructive"), "riskLevel enum")


def test_capabilities_for_an_organization():
    env(caps(params={"organizationId": T_ID}), 200, True)
    env(caps(params={"organizationId": "wrk_00000000000000000000000000"}), 404, False)
    env(caps(params={"organizationId": ""}), 400, False)
    env(caps(params={"bogus": "1"}), 400, False)
    W = S.key(uniq("agent-nobound"))
    expect(W.patch("/v1/workspace", {"enabled_modules": ["crm"]}), 200)
    j = env(caps(params={"organizationId": W.workspace_id}), 403, False)
    ok("outbound" in j["error"], "the error names the module")


def test_super_admin_only():
    for key in (N, O):
        j = env(caps(key=key), 403, False)
        ok("super-admin" in j["error"], "says why")
        env(tool("list_contacts", {}, key=key), 403, False)
    env(tool("list_contacts", {}, key=N, org=N.workspace_id), 403, False)
    env(caps(key=False), 401, False)
    env(tool("list_contacts", {}, key=False), 401, False)
    r = S.request("GET", "/crm/agent/capabilities", token="ck_" + "z" * 40, direct=True)
    env(r, 401, False)


# ------------------------------------------------------------ resolution

def test_resolve_workspace():
    for q in (T_ID, "Agent Target Co", "agent target co", "agent-target-co"):
        res = good("crm_resolve_workspace", {"query": q}, org=None)
        eq(res["data"]["workspace"]["organizationId"], T_ID, "resolved %r" % q)
        eq(res["organizationId"], T_ID, "result's organizationId")
        ok(res["nextActions"], "a next step")
    name = uniq("Twin Shop")
    a = S.key(name)
    b = S.key(name.lower().replace(" ", "-"))
    res = good("crm_resolve_workspace", {"query": name.lower().replace(" ", "-")}, org=None)
    eq(res["data"]["workspace"], None, "ambiguous: no guess")
    eq(sorted(c["organizationId"] for c in res["data"]["candidates"]),
       sorted([a.workspace_id, b.workspace_id]), "both candidates")
    eq(res["warnings"][0]["code"], "ambiguous", "warned")
    res = good("crm_resolve_workspace", {"query": "no such workspace anywhere"}, org=None)
    eq(res["data"]["candidates"], [], "none")
    bad("crm_resolve_workspace", {}, 400, org=None)
    bad("crm_resolve_workspace", {"query": 5}, 400, org=None)
    bad("crm_resolve_workspace", {"query": "x", "extra": 1}, 400, org=None)


# ----------------------------------------------------------------- calls

def test_create_get_list_in_the_target_workspace():
    email = "%s@agent.example.com" % uniq("a")
    res = good("create_contact", {"name": "Agent Made", "email": email}, reason="onboarding",
               requestId=uniq("rid"))
    c = res["data"]
    ok(c["id"].startswith("con_"), "created")
    eq(res["dryRun"], False, "not a dry run")
    ok(c["id"] in res["summary"], "summary names it")
    eq(expect(T.get("/v1/contacts/" + c["id"]), 200)["data"]["email"], email, "in the target workspace")
    expect(SA.get("/v1/contacts/" + c["id"]), 404)  # not in the super-admin's own
    eq(good("get_contact", {"id": c["id"]})["data"]["id"], c["id"], "get")
    page = good("list_contacts", {"email": email})["data"]
    eq([x["id"] for x in page["data"]], [c["id"]], "list")
    bad("get_contact", {"id": c["id"]}, 404, org=O_ID)


def test_dry_run_stores_nothing():
    before = len(expect(T.get("/v1/contacts", params={"limit": 100}), 200)["data"])
    res = good("create_contact", {"name": "Only A Preview", "dryRun": True})
    eq(res["dryRun"], True, "dryRun")
    ok("would be" in res["summary"], "the summary says so")
    eq(len(expect(T.get("/v1/contacts", params={"limit": 100}), 200)["data"]), before, "nothing stored")


def test_bad_calls():
    j = bad("list_contacts", {}, 400, org=None)
    eq(j["data"]["nextActions"][0]["toolName"], "crm_resolve_workspace", "next: resolve")
    j = bad("list_contacts", {}, 404, org="wrk_00000000000000000000000000")
    eq(j["data"]["nextActions"][0]["toolName"], "crm_resolve_workspace", "next: resolve")
    bad("list_contacts", {}, 404, org="Agent Target Co")  # a name is not an id
    bad("no_such_tool", {}, 404)
    bad("list_contacts", None, 400)
    bad("list_contacts", [], 400)
    bad("list_contacts", {}, 400, org=5)
    bad("list_contacts", {}, 400, reason="x" * 501)
    good("list_contacts", {}, reason="é" * 500)
    bad("list_contacts", {}, 400, requestId="r" * 121)
    bad("list_contacts", {}, 400, requestId="")
    bad("list_contacts", {}, 400, requestId=7)
    bad("list_contacts", {}, 400, extra=True)
    j = bad("create_contact", {"name": "X", "email": []}, 400)
    eq(j["data"]["data"]["param"], "email", "the path is named")
    bad("create_contact", {"name": "X", "nope": 1}, 400)
    bad("list_contacts", {"limit": 0}, 400)
    r = req("POST", "/crm/agent/tools/list_contacts", raw=b"{nope", ctype="application/json")
    env(r, 400, False)
    r = req("POST", "/crm/agent/tools/list_contacts", raw=b"[]", ctype="application/json")
    env(r, 400, False)
    r = req("POST", "/crm/agent/tools/list_contacts", body={"input": {}}, ctype="text/plain")
    env(r, 415, False)
    r = req("POST", "/crm/agent/tools/list_contacts", body={"input": {}, "organizationId": T_ID},
            params={"x": "1"})
    env(r, 400, False)
    eq(req("GET", "/crm/agent/tools/list_contacts").status, 405, "GET a tool")


def test_confirm_suggests_the_confirmed_call():
    c = good("create_contact", {"name": "To Delete"})["data"]
    j = bad("delete_contact", {"id": c["id"]}, 400)
    nxt = j["data"]["nextActions"][0]
    eq(nxt["toolName"], "delete_contact", "suggested tool")
    eq(nxt["suggestedInput"], {"id": c["id"], "confirm": True}, "suggested input")
    expect(T.get("/v1/contacts/" + c["id"]), 200)
    res = good("delete_contact", {"id": c["id"], "dryRun": True})
    eq(res["dryRun"], True, "dry-run delete")
    expect(T.get("/v1/contacts/" + c["id"]), 200)
    good("delete_contact", nxt["suggestedInput"])
    expect(T.get("/v1/contacts/" + c["id"]), 404)


def test_request_id_replays_the_first_result():
    rid = uniq("replay")
    first = tool("create_contact", {"name": "Once Only"}, requestId=rid)
    env(first, 200, True)
    again = tool("create_contact", {"name": "Once Only"}, requestId=rid)
    env(again, 200, True)
    eq(json.loads(again.body)["data"]["data"]["id"], json.loads(first.body)["data"]["data"]["id"],
       "the same record")
    eq(again.headers.get("idempotent-replayed"), "true", "replayed")
    page = expect(T.get("/v1/contacts", params={"limit": 100}), 200)["data"]
    eq(len([x for x in page if x["name"] == "Once Only"]), 1, "stored once")
    r = tool("create_contact", {"name": "Something Else"}, requestId=rid)
    eq(r.status, 409, "a requestId reused for another call")
    # Another workspace's requestIds are its own.
    env(tool("create_contact", {"name": "Once Only"}, requestId=rid, org=O_ID), 200, True)


def test_outbound_module_and_scopes_of_the_target():
    W = S.key(uniq("agent-off"))
    expect(W.patch("/v1/workspace", {"enabled_modules": ["crm", "tasks"]}), 200)
    j = bad("list_contacts", {}, 403, org=W.workspace_id)
    ok("outbound" in j["error"], "names the module")
    W2 = S.key(uniq("agent-nocrm"))
    expect(W2.patch("/v1/workspace", {"enabled_modules": ["outbound", "tasks"]}), 200)
    j = bad("list_contacts", {}, 403, org=W2.workspace_id)
    eq(j["data"]["data"]["code"], "module_disabled", "the tool's own module")
    good("list_tasks", {}, org=W2.workspace_id)


def test_writes_in_two_workspaces_interleave():
    ids = set()
    for i in range(6):
        org = T_ID if i % 2 else O_ID
        ids.add(good("create_task", {"title": "t%d" % i}, org=org)["data"]["id"])
    eq(len(ids), 6, "six tasks")
