"""MCP (revision 2025-11-25): Streamable HTTP at POST /mcp and stdio
(`cairn mcp`). JSON-RPC shapes, version negotiation, Origin, keys and
scopes, tool sets, tools/list paging, tools/call of the tools derived from
the resource table (validation before anything runs, dryRun, confirm,
isError results), and nothing stored by a failed or dry-run call."""

import json
import os
import subprocess

from harness import Server, binary, eq, expect, ok, uniq

S = A = R = B = None
SEQ = [0]


def setup_module():
    global S, A, R, B
    S = Server(name="mcp", extra_args=["--mcp-origins", "https://app.example.com"])
    A = S.key("mcp-a")
    R = S.key("mcp-a", scopes="crm:read")
    B = S.key("mcp-b")
    S.start()


def teardown_module():
    S.stop_ok()


def post(body=None, key=None, raw=None, headers=None, params=None, ctype="application/json"):
    token = (key or A).token if key is not False else None
    return S.request("POST", "/mcp", body=body, raw=raw, token=token, headers=headers,
                     params=params, ctype=ctype, direct=True)


def rpc(method, params=None, key=None, headers=None, qs=None):
    SEQ[0] += 1
    msg = {"jsonrpc": "2.0", "id": SEQ[0], "method": method}
    if params is not None:
        msg["params"] = params
    r = post(msg, key=key, headers=headers, params=qs)
    eq(r.status, 200, "%s: status (%s)" % (method, r.body[:300]))
    ok(r.headers.get("content-type", "").startswith("application/json"), "%s: content type" % method)
    j = json.loads(r.body)
    eq(j.get("jsonrpc"), "2.0", "jsonrpc")
    eq(j.get("id"), SEQ[0], "id echoed")
    return j


def call(tool, args=None, key=None, qs=None):
    """tools/call; returns the result (isError included)."""
    p = {"name": tool}
    if args is not None:
        p["arguments"] = args
    j = rpc("tools/call", p, key=key, qs=qs)
    ok("result" in j, "tools/call %s: no result: %s" % (tool, j))
    res = j["result"]
    eq(res["content"][0]["type"], "text", "content type")
    return res


def good(tool, args=None, key=None, qs=None):
    res = call(tool, args, key, qs)
    ok(res["isError"] is False, "%s %s: isError: %s" % (tool, args, res["content"][0]["text"][:400]))
    eq(json.loads(res["content"][0]["text"]), res["structuredContent"], "text equals structuredContent")
    return res["structuredContent"]


def bad(tool, args=None, key=None, code=None, param=None, qs=None):
    res = call(tool, args, key, qs)
    ok(res["isError"] is True, "%s %s: expected isError, got %s" % (tool, args, res))
    ok("structuredContent" not in res, "an error carries no structuredContent")
    err = json.loads(res["content"][0]["text"])["error"]
    if code:
        eq(err["code"], code, "%s error code" % tool)
    if param:
        eq(err["param"], param, "%s error param" % tool)
    return err


def rpc_error(r, status, code):
    eq(r.status, status, "status (%s)" % r.body[:300])
    j = json.loads(r.body)
    eq(j["error"]["code"], code, "JSON-RPC error code")
    ok(isinstance(j["error"]["message"], str) and j["error"]["message"], "error message")
    return j


def all_tools(key=None, qs=None):
    tools, cursor, pages = [], None, 0
    while True:
        j = rpc("tools/list", {"cursor": cursor} if cursor else {}, key=key, qs=qs)
        tools += j["result"]["tools"]
        pages += 1
        cursor = j["result"].get("nextCursor")
        if not cursor:
            return tools, pages
        ok(pages < 50, "tools/list does not end")


def count(key, path):
    return len(expect(key.get(path, params={"limit": 100}), 200)["data"])


# ------------------------------------------------------------- lifecycle

def test_initialize_negotiates_the_version():
    for asked, answered in (("2025-11-25", "2025-11-25"), ("2025-06-18", "2025-06-18"),
                            ("2025-03-26", "2025-03-26"), ("1999-01-01", "2025-11-25")):
        j = rpc("initialize", {"protocolVersion": asked, "capabilities": {},
                               "clientInfo": {"name": "t", "version": "1"}})
        res = j["result"]
        eq(res["protocolVersion"], answered, "version for %s" % asked)
        eq(res["capabilities"], {"tools": {"listChanged": False}}, "capabilities")
        eq(res["serverInfo"]["name"], "cairn", "serverInfo.name")
        ok(res["serverInfo"]["version"], "serverInfo.version")
        ok(res["instructions"], "instructions")
    j = rpc("initialize", {"capabilities": {}})
    eq(j["error"]["code"], -32602, "initialize without protocolVersion")


def test_stateless_and_id_zero():
    r = post({"jsonrpc": "2.0", "id": 0, "method": "ping"})
    eq(r.status, 200, "ping status")
    eq(json.loads(r.body), {"jsonrpc": "2.0", "id": 0, "result": {}}, "ping answer")
    ok("mcp-session-id" not in r.headers, "no session id")
    j = rpc("ping", key=A)
    eq(j["result"], {}, "ping result")
    r = post({"jsonrpc": "2.0", "id": "str-id", "method": "ping"})
    eq(json.loads(r.body)["id"], "str-id", "a string id is echoed")


def test_notifications_and_responses_are_accepted():
    for msg in ({"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}},
                {"jsonrpc": "2.0", "id": 7, "result": {}}):
        r = post(msg)
        eq(r.status, 202, "202 for %s" % msg)
        eq(r.body, b"", "no body for %s" % msg)


def test_get_and_delete_are_405():
    for m in ("GET", "DELETE", "PATCH"):
        r = S.request(m, "/mcp", token=A.token, direct=True)
        eq(r.status, 405, "%s /mcp" % m)
        eq(r.headers.get("allow"), "POST", "Allow of %s" % m)


def test_auth():
    r = post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, key=False)
    eq(r.status, 401, "no key")
    ok(r.headers.get("www-authenticate", "").startswith("Bearer"), "WWW-Authenticate")
    r = S.request("POST", "/mcp", body={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                  token="ck_" + "x" * 40, direct=True)
    eq(r.status, 401, "unknown key")


def test_origin():
    msg = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    for origin in ("http://evil.example.com", "null", "https://app.example.com.evil.net",
                   "http://localhost.evil.net"):
        r = post(msg, headers={"Origin": origin})
        eq(r.status, 403, "Origin %s" % origin)
        eq(json.loads(r.body)["error"]["code"], -32600, "JSON-RPC error body")
        # Before the key: a page cannot even learn whether a key is good.
        r = post(msg, key=False, headers={"Origin": origin})
        eq(r.status, 403, "Origin %s without a key" % origin)
    for origin in ("http://127.0.0.1:%d" % S.port, "http://localhost:3000", "http://[::1]:9",
                   "https://app.example.com"):
        r = post(msg, headers={"Origin": origin, "Host": "127.0.0.1:%d" % S.port})
        eq(r.status, 200, "Origin %s" % origin)


def test_malformed_messages():
    rpc_error(post(raw=b'{"jsonrpc": "2.0", "id": 1, "method": '), 400, -32700)
    rpc_error(post(raw=b'{"jsonrpc":"2.0","id":1,"method":"ping","x":"\xff"}'), 400, -32700)
    rpc_error(post([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]), 400, -32600)
    rpc_error(post({"id": 1, "method": "ping"}), 400, -32600)
    rpc_error(post({"jsonrpc": "1.0", "id": 1, "method": "ping"}), 400, -32600)
    rpc_error(post({"jsonrpc": "2.0", "id": None, "method": "ping"}), 400, -32600)
    rpc_error(post({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}), 400, -32600)
    rpc_error(post({"jsonrpc": "2.0", "id": 1, "method": 5}), 400, -32600)
    rpc_error(post({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]}), 400, -32600)
    rpc_error(post({"jsonrpc": "2.0", "id": 1}), 400, -32600)
    rpc_error(post("ping"), 400, -32600)
    rpc_error(post(raw=b'{"jsonrpc":"2.0","id":1,"method":"ping","id":2}'), 400, -32700)
    rpc_error(post(raw=b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":"\\u0000"}}'), 400, -32700)
    r = post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, ctype="text/plain")
    eq(r.status, 415, "text/plain body")
    r = post(raw=b"", ctype="application/json")
    rpc_error(r, 400, -32700)


def test_unknown_method():
    j = rpc("resources/list")
    eq(j["error"]["code"], -32601, "resources/list is not offered")
    j = rpc("no/such/method", {})
    eq(j["error"]["code"], -32601, "unknown method")


def test_protocol_version_header():
    msg = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    for v in ("2025-11-25", "2025-06-18", "2025-03-26"):
        eq(post(msg, headers={"MCP-Protocol-Version": v}).status, 200, "version %s" % v)
    rpc_error(post(msg, headers={"MCP-Protocol-Version": "2030-01-01"}), 400, -32600)
    rpc_error(post(msg, headers={"MCP-Protocol-Version": "garbage"}), 400, -32600)


# ----------------------------------------------------------- tools/list

def test_tools_list_default_sets():
    tools, _ = all_tools()
    names = [t["name"] for t in tools]
    eq(len(names), len(set(names)), "tool names are unique")
    for n in ("list_contacts", "get_contact", "create_contact", "update_contact", "delete_contact",
              "merge_contacts", "list_companies", "create_lead", "convert_lead", "move_deal",
              "get_pipeline_board", "list_tasks", "create_activity", "get_lead_timeline"):
        ok(n in names, "default tool sets offer %s" % n)
    for n in ("create_invoice", "list_tickets", "get_trial_balance"):
        ok(n not in names, "default tool sets leave out %s" % n)
    for t in tools:
        ok(t["description"], "%s has a description" % t["name"])
        eq(t["inputSchema"].get("type"), "object", "%s inputSchema type" % t["name"])
        eq(t["outputSchema"].get("type"), "object", "%s outputSchema type" % t["name"])
        for k, v in t["inputSchema"].get("properties", {}).items():
            ok(isinstance(v, dict), "%s.%s is a schema object" % (t["name"], k))
        a = t["annotations"]
        read = t["name"].startswith(("list_", "get_", "bulk_get_", "find_", "export_", "analyze_"))
        eq(a["readOnlyHint"], read, "%s readOnlyHint" % t["name"])
        eq(a["destructiveHint"], t["name"].startswith(("delete_", "merge_", "bulk_remove_", "bulk_assign_")),
           "%s destructiveHint" % t["name"])
    by = {t["name"]: t for t in tools}
    eq(by["get_contact"]["inputSchema"]["required"], ["id"], "get_contact requires id")
    ok("confirm" in by["delete_contact"]["inputSchema"]["properties"], "delete takes confirm")
    ok("dryRun" in by["create_contact"]["inputSchema"]["properties"], "create takes dryRun")
    ok("stage_id" in by["move_deal"]["inputSchema"]["required"], "move_deal requires stage_id")
    ok("limit" in by["list_contacts"]["inputSchema"]["properties"], "list takes limit")


def test_tools_list_sets_and_paging():
    tools, pages = all_tools(qs={"toolsets": "all"})
    names = [t["name"] for t in tools]
    eq(len(names), len(set(names)), "no tool twice across pages")
    ok(pages >= 2, "the whole catalogue takes more than one page (%d tools)" % len(names))
    for n in ("create_invoice", "send_invoice", "list_tickets", "get_trial_balance", "list_contacts"):
        ok(n in names, "all offers %s" % n)
    again, _ = all_tools(qs={"toolsets": "all"})
    eq([t["name"] for t in again], names, "a stable order")
    billing, _ = all_tools(qs={"toolsets": "billing"})
    bn = [t["name"] for t in billing]
    ok("create_invoice" in bn and "refund_payment" in bn, "billing set")
    ok("list_contacts" not in bn, "billing set leaves out contacts")
    two, _ = all_tools(qs={"toolsets": "billing, support"})
    ok("list_tickets" in [t["name"] for t in two], "two sets")
    for qs in ({"toolsets": "bogus"}, {"toolsets": ""}, {"toolsets": "crm,"}, {"other": "1"}):
        r = post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, params=qs)
        rpc_error(r, 400, -32602)
    j = rpc("tools/list", {"cursor": "nonsense"})
    eq(j["error"]["code"], -32602, "a cursor the server never gave")
    j = rpc("tools/list", {"cursor": 5})
    eq(j["error"]["code"], -32602, "a cursor that is not a string")


def test_tools_list_follows_scopes_and_modules():
    tools, _ = all_tools(key=R)
    names = [t["name"] for t in tools]
    ok("list_contacts" in names and "get_deal" in names, "a reader sees the read tools")
    ok("create_contact" not in names and "move_deal" not in names, "a reader sees no writes")


# ----------------------------------------------------------- tools/call

def test_crud_through_tools():
    email = "%s@mcp.example.com" % uniq("c")
    c = good("create_contact", {"name": "Ada MCP", "email": email, "custom_fields": {"tier": "gold"}})
    ok(c["id"].startswith("con_"), "created id")
    eq(c["email"], email, "email stored")
    eq(expect(A.get("/v1/contacts/" + c["id"]), 200)["data"], c, "REST sees what the tool answered")
    eq(good("get_contact", {"id": c["id"]}), c, "get_contact")
    page = good("list_contacts", {"email": email, "limit": 1})
    eq([x["id"] for x in page["data"]], [c["id"]], "list filtered by email")
    ok("next_cursor" in page, "a page carries next_cursor")
    up = good("update_contact", {"id": c["id"], "title": "Engineer", "phone": None})
    eq(up["title"], "Engineer", "update")
    err = bad("delete_contact", {"id": c["id"]}, code="validation_failed", param="confirm")
    ok("confirm" in err["message"], "the error says what to do")
    gone = good("delete_contact", {"id": c["id"], "dryRun": True})
    eq(gone["id"], c["id"], "a dry-run delete answers the record")
    expect(A.get("/v1/contacts/" + c["id"]), 200)
    good("delete_contact", {"id": c["id"], "confirm": True})
    expect(A.get("/v1/contacts/" + c["id"]), 404)
    bad("get_contact", {"id": c["id"]}, code="not_found")


def test_pages_through_a_cursor():
    tag = uniq("pg")
    for i in range(5):
        good("create_contact", {"name": "P %d" % i, "custom_fields": {"batch": tag}})
    seen, cursor = [], None
    for _ in range(5):
        args = {"limit": 2, "custom_field_key": "batch", "custom_field_value": tag}
        if cursor:
            args["cursor"] = cursor
        page = good("list_contacts", args)
        seen += [x["id"] for x in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    eq(len(seen), 5, "five contacts over three pages")
    eq(len(set(seen)), 5, "no repeats")


def test_dry_run_stores_nothing():
    before = count(A, "/v1/contacts")
    c = good("create_contact", {"name": "Would Be", "dryRun": True})
    ok(c["id"].startswith("con_"), "a dry run answers the would-be record")
    eq(count(A, "/v1/contacts"), before, "nothing stored")
    expect(A.get("/v1/contacts/" + c["id"]), 404)


def test_invalid_input_names_the_path():
    before = count(A, "/v1/contacts")
    err = bad("create_contact", {"name": "X", "email": 5}, code="validation_failed", param="email")
    ok("email" in err["message"], "message names the member")
    bad("create_contact", {"name": "X", "bogus": 1}, code="validation_failed", param="bogus")
    bad("create_contact", {"name": "X", "custom_fields": {"k": [1]}}, code="validation_failed",
        param="custom_fields.k")
    bad("list_contacts", {"limit": 1000}, code="validation_failed", param="limit")
    bad("list_contacts", {"limit": "5"}, code="validation_failed", param="limit")
    bad("get_contact", {}, code="validation_failed", param="id")
    bad("get_contact", [1], code="validation_failed")
    bad("create_contact", {"name": "X", "email": "not-an-address"}, code="validation_failed", param="email")
    bad("create_contact", {"name": "X" * 100000}, code="validation_failed", param="name")
    # Control characters are text like any other: stored and answered escaped.
    eq(good("create_contact", {"name": "bell\u0007"})["name"], "bell\u0007", "control bytes")
    before += 1
    bad("create_deal", {"name": "D", "amount_cents": 2 ** 63 - 1}, code="validation_failed",
        param="amount_cents")
    eq(count(A, "/v1/contacts"), before, "nothing stored by failed calls")


def test_unknown_tools_are_protocol_errors():
    j = rpc("tools/call", {"name": "no_such_tool", "arguments": {}})
    eq(j["error"]["code"], -32602, "unknown tool")
    ok("no_such_tool" in j["error"]["message"], "names the tool")
    j = rpc("tools/call", {"name": "create_invoice", "arguments": {}})
    eq(j["error"]["code"], -32602, "a tool outside the chosen sets")
    j = rpc("tools/call", {"arguments": {}})
    eq(j["error"]["code"], -32602, "no name")
    j = rpc("tools/call", {"name": 7})
    eq(j["error"]["code"], -32602, "a name that is not a string")


def test_scopes_workspaces_and_modules():
    c = good("create_contact", {"name": "Scoped"})
    bad("create_contact", {"name": "Nope"}, key=R, code="forbidden")
    eq(good("get_contact", {"id": c["id"]}, key=R)["id"], c["id"], "a reader reads")
    bad("get_contact", {"id": c["id"]}, key=B, code="not_found")
    bad("update_contact", {"id": c["id"], "title": "x"}, key=B, code="not_found")
    bad("delete_contact", {"id": c["id"], "confirm": True}, key=B, code="not_found")
    bad("merge_contacts", {"id": good("create_contact", {"name": "B's"}, key=B)["id"],
                           "from_ids": [c["id"]], "confirm": True}, key=B, code="not_found")
    expect(A.get("/v1/contacts/" + c["id"]), 200)
    # A workspace without the crm module offers none of its tools.
    W = S.key(uniq("ws-mod"))
    expect(W.patch("/v1/workspace", {"enabled_modules": ["support", "tasks"]}), 200)
    tools, _ = all_tools(key=W)
    names = [t["name"] for t in tools]
    ok("list_contacts" not in names, "crm tools gone with the module")
    ok("list_tasks" in names, "tasks stay")
    bad("list_contacts", {}, key=W, code="module_disabled")


def test_actions_through_tools():
    deal = good("create_deal", {"name": "MCP deal", "amount_cents": 5000})
    stages = good("list_pipeline_stages", {"pipeline_id": deal["pipeline_id"], "limit": 100})["data"]
    target = [s for s in stages if s["id"] != deal["stage_id"] and s["stage_type"] == "open"][0]
    moved = good("move_deal", {"id": deal["id"], "stage_id": target["id"], "dryRun": True})
    eq(moved["stage_id"], target["id"], "a dry-run move answers the moved deal")
    eq(expect(A.get("/v1/deals/" + deal["id"]), 200)["data"]["stage_id"], deal["stage_id"],
       "the dry run moved nothing")
    moved = good("move_deal", {"id": deal["id"], "stage_id": target["id"]})
    eq(expect(A.get("/v1/deals/" + deal["id"]), 200)["data"]["stage_id"], target["id"], "moved")
    bad("move_deal", {"id": deal["id"]}, code="validation_failed", param="stage_id")
    bad("move_deal", {"id": deal["id"], "stage_id": "stage_00000000000000000000000000"},
        code="not_found")
    board = good("get_pipeline_board", {"id": deal["pipeline_id"]})
    ok(isinstance(board, dict), "the board is an object")


def test_merge_needs_confirm():
    a = good("create_contact", {"name": "Keep"})
    b = good("create_contact", {"name": "Fold"})
    bad("merge_contacts", {"id": a["id"], "from_ids": [b["id"]]}, param="confirm")
    expect(A.get("/v1/contacts/" + b["id"]), 200)
    good("merge_contacts", {"id": a["id"], "from_ids": [b["id"]], "confirm": True})
    expect(A.get("/v1/contacts/" + b["id"]), 404)


# ----------------------------------------------------------------- stdio

def stdio(lines, token=None, extra=(), timeout=30):
    args = [binary(), "mcp", "--db", S.db] + list(extra)
    if token is not False:
        args += ["--token", token or A.token]
    p = subprocess.run(args, input="".join(l + "\n" for l in lines), capture_output=True,
                       text=True, timeout=timeout, cwd=S.dir)
    return p


def test_stdio_session():
    email = "%s@stdio.example.com" % uniq("s")
    msgs = [
        json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                    "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                               "clientInfo": {"name": "t", "version": "1"}}}),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        "",
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": "create_contact", "arguments": {"name": "Stdio", "email": email}}}),
        "{not json",
        json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                    "params": {"name": "create_contact", "arguments": {"email": 1}}}),
        json.dumps({"jsonrpc": "2.0", "id": 4, "method": "nope"}),
    ]
    p = stdio(msgs)
    eq(p.returncode, 0, "exit status (stderr %s)" % p.stderr[-400:])
    out = [json.loads(l) for l in p.stdout.splitlines()]
    eq([m.get("id") for m in out], [0, 1, 2, None, 3, 4], "one answer per request, in order")
    eq(out[0]["result"]["protocolVersion"], "2025-11-25", "initialize")
    ok(any(t["name"] == "create_contact" for t in out[1]["result"]["tools"]), "tools/list")
    eq(out[2]["result"]["isError"], False, "create over stdio")
    cid = out[2]["result"]["structuredContent"]["id"]
    eq(expect(A.get("/v1/contacts/" + cid), 200)["data"]["email"], email, "the server sees it")
    eq(out[3]["error"]["code"], -32700, "parse error")
    eq(out[4]["result"]["isError"], True, "invalid input")
    eq(out[5]["error"]["code"], -32601, "unknown method")


def test_stdio_refusals():
    p = stdio([], token=False)
    ok(p.returncode != 0 and "token" in p.stderr, "no token: %s" % p.stderr)
    p = stdio([], token="ck_" + "y" * 40)
    ok(p.returncode != 0 and "not valid" in p.stderr, "bad token: %s" % p.stderr)
    p = stdio([], extra=["--toolsets", "bogus"])
    ok(p.returncode == 2 and "bogus" in p.stderr, "bad tool set: %s" % p.stderr)
    p = stdio([json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                           "params": {"name": "create_invoice", "arguments": {}}})],
              extra=["--toolsets", "billing"])
    out = json.loads(p.stdout.splitlines()[0])
    ok("result" in out, "billing tools over stdio with --toolsets billing: %s" % out)
    p = stdio([json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                           "params": {"name": "create_contact", "arguments": {"name": "R"}}})],
              token=R.token)
    out = json.loads(p.stdout.splitlines()[0])
    eq(out["result"]["isError"], True, "a reader's write over stdio")
    ok(os.path.exists(binary()), "binary")
