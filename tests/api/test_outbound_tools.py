"""002's outbound tools, each a table action: the REST route under
/v1/outbound/..., the same tool over MCP (POST /mcp?toolsets=outbound) and
through the CRM Agent API (POST /crm/agent/tools/{name}, super-admin).
Counts come from the campaign contacts' rollups or one grouped query; the
unhappy paths (wrong types, another workspace's ids, too many ids,
confirm, dry runs) change nothing."""

import json

from harness import SCALE, Server, eq, expect, ok, uniq

S = A = B = SA = RO = None
SEQ = [0]
W = {}  # the fixture: members, campaigns, contacts of workspace A


def setup_module():
    global S, A, B, SA, RO
    S = Server(name="outbound-tools")
    # 002's tools take super-admin keys on every transport; over MCP such a
    # key works in its own workspace.
    A = S.key("tools-a", super_admin=True)
    B = S.key("tools-b", super_admin=True)
    RO = S.key("tools-a", "crm:read")
    SA = S.key("tools-home", super_admin=True)
    S.start()
    _fixture()


def teardown_module():
    S.stop_ok()


# ------------------------------------------------------------- transports

def mcp(name, args, key=None):
    """tools/call over MCP with the outbound tool set: (isError, payload)."""
    SEQ[0] += 1
    msg = {"jsonrpc": "2.0", "id": SEQ[0], "method": "tools/call",
           "params": {"name": name, "arguments": args}}
    r = S.request("POST", "/mcp", body=msg, token=(key or A).token, params={"toolsets": "outbound"},
                  direct=True)
    eq(r.status, 200, "MCP %s: status (%s)" % (name, r.body[:300]))
    res = json.loads(r.body)["result"]
    text = json.loads(res["content"][0]["text"])
    if res["isError"]:
        return True, text["error"]
    eq(text, res["structuredContent"], "text equals structuredContent")
    return False, text


def agent(name, input, org=None):
    """POST /crm/agent/tools/{name} with a super-admin key: the parsed envelope."""
    body = {"organizationId": org or A.workspace_id, "input": input}
    r = S.request("POST", "/crm/agent/tools/" + name, body=body, token=SA.token, direct=True)
    j = json.loads(r.body)
    j["_status"] = r.status
    return j


def mcp_ok(name, args, key=None):
    err, data = mcp(name, args, key)
    ok(not err, "MCP %s %s: %s" % (name, args, data))
    return data


def mcp_bad(name, args, code, param=None, key=None):
    err, data = mcp(name, args, key)
    ok(err, "MCP %s %s: expected an error, got %s" % (name, args, str(data)[:300]))
    eq(data["code"], code, "MCP %s: code" % name)
    if param is not None:
        eq(data["param"], param, "MCP %s: param" % name)
    return data


def test_mcp_takes_super_admin_keys_for_002s_tools():
    """002's rule holds over MCP too: another key sees and runs the generic
    tools of its workspace, not 002's (listed nowhere, refused when called)."""
    plain = S.key("tools-a")
    msg = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    names = []
    for key in (plain, A):
        r = S.request("POST", "/mcp", body=msg, token=key.token, params={"toolsets": "outbound"},
                      direct=True)
        names.append({t["name"] for t in json.loads(r.body)["result"]["tools"]})
    ok("list_campaigns" in names[1] and "get_qualification_schema" in names[1], "super-admin sees 002's")
    ok("list_campaigns" not in names[0] and "get_qualification_schema" not in names[0],
       "another key does not: %s" % sorted(names[0])[:10])
    ok("list_call_logs" in names[0], "the generic outbound tools stay: %s" % sorted(names[0])[:10])
    data = mcp_bad("list_campaigns", {}, "forbidden", key=plain)
    ok("super-admin" in data["message"], data["message"])
    mcp_ok("list_call_logs", {}, key=plain)


def agent_ok(name, input):
    j = agent(name, input)
    eq((j["_status"], j["success"]), (200, True), "agent %s: %s" % (name, json.dumps(j)[:400]))
    eq(j["data"]["toolName"], name, "toolName")
    return j["data"]["data"]


def agent_bad(name, input, status, param=None):
    j = agent(name, input)
    eq((j["_status"], j["success"]), (status, False), "agent %s: %s" % (name, json.dumps(j)[:400]))
    if param is not None:
        eq(j["data"]["data"]["param"], param, "agent %s: param" % name)
    return j


def same_three(name, rest, args):
    """The tool answers what the REST route answered, over MCP and the agent
    API (a page: the same records, and a next cursor when REST has one)."""
    def norm(x):
        if isinstance(x, dict) and "next_cursor" in x:
            return {"data": x["data"], "more": x["next_cursor"] is not None}
        return x
    eq(norm(mcp_ok(name, args)), norm(rest), "MCP %s equals REST" % name)
    eq(norm(agent_ok(name, args)), norm(rest), "agent %s equals REST" % name)


# ---------------------------------------------------------------- fixture

def _fixture():
    tag = uniq("tf")
    W["agents"] = [A.create("/v1/members", {"name": "Agent %d" % i, "role": "agent", "capacity": 10 + i})
                   for i in range(3)]
    W["admin"] = A.create("/v1/members", {"name": "Boss", "role": "admin"})
    W["contacts"] = [A.create("/v1/contacts", {"name": "C%d %s" % (i, tag), "email": "c%d-%s@t.test" % (i, tag)})
                     for i in range(6)]
    W["camps"] = [A.create("/v1/outbound/campaigns", {"name": "Camp %d" % i}) for i in range(3)]
    c0, c1, c2 = [c["id"] for c in W["camps"]]
    k = [c["id"] for c in W["contacts"]]
    ag = [m["id"] for m in W["agents"]]
    # camp 0: contacts 0-3; camp 1: contacts 2-4; camp 2: contacts 3, 5.
    plan = [(c0, k[0], ag[0], "pending"), (c0, k[1], ag[0], "qualified"), (c0, k[2], ag[1], "in_progress"),
            (c0, k[3], None, "pending"), (c1, k[2], ag[1], "pending"), (c1, k[3], ag[1], "completed"),
            (c1, k[4], None, "follow_up"), (c2, k[3], ag[2], "pending"), (c2, k[5], None, "pending")]
    for camp, con, who, status in plan:
        body = {"contact_id": con, "status": status}
        if who:
            body["assignee_id"] = who
        A.create("/v1/outbound/campaigns/%s/contacts" % camp, body)
    W["b_camp"] = B.create("/v1/outbound/campaigns", {"name": "B camp"})
    W["b_member"] = B.create("/v1/members", {"name": "B agent", "role": "agent"})
    W["b_contact"] = B.create("/v1/contacts", {"name": "B contact"})


def _counts(total, open_, **by):
    statuses = ["pending", "in_progress", "follow_up", "qualified", "disqualified", "completed"]
    return {"total": total, "open": open_, "by_status": {s: by.get(s, 0) for s in statuses}}


# ------------------------------------------------------------------ reads

def test_workspace_overview():
    d = expect(A.get("/v1/outbound/overview"), 200)["data"]
    eq(d["object"], "crm_workspace_overview", "object")
    eq(d["campaign_contacts"], _counts(9, 7, pending=5, in_progress=1, follow_up=1, qualified=1, completed=1),
       "campaign contacts by status")
    eq(d["members"]["by_role"], {"admin": 1, "member": 0, "agent": 3}, "members by role")
    eq(d["campaigns"]["by_status"]["draft"], 3, "campaigns by status")
    ok(d["contacts"] >= 6 and d["companies"] == 0, "contacts and companies: %s" % d)
    eq((d["script_templates"]["total"], d["qualification_templates"]["total"]), (0, 0), "templates")
    same_three("get_crm_workspace_overview", d, {})
    b = expect(B.get("/v1/outbound/overview"), 200)["data"]
    eq((b["campaign_contacts"]["total"], b["members"]["total"], b["campaigns"]["total"]), (0, 1, 1),
       "B's overview counts B's records only")
    expect(A.get("/v1/outbound/overview", params={"x": "1"}), 400, "validation_failed", "x")


def test_list_outbound_agents():
    page = expect(A.get("/v1/outbound/agents", params={"limit": 2}), 200)
    eq(len(page["data"]), 2, "a page of 2")
    ok(page["next_cursor"], "a next cursor")
    rest = page["data"] + expect(A.get("/v1/outbound/agents", params={"cursor": page["next_cursor"]}), 200)["data"]
    eq(sorted(m["id"] for m in rest), sorted(m["id"] for m in W["agents"]), "every agent, no admin")
    by = {m["id"]: m for m in rest}
    a0, a1 = W["agents"][0]["id"], W["agents"][1]["id"]
    eq((by[a0]["open_contacts"], by[a0]["capacity"], by[a0]["available_capacity"]), (1, 10, 9), "agent 0 load")
    eq(by[a1]["contact_counts"], _counts(3, 2, pending=1, in_progress=1, completed=1), "agent 1 counts")
    same_three("list_outbound_agents", page, {"limit": 2})
    eq(expect(A.get("/v1/outbound/agents", params={"status": "inactive"}), 200)["data"], [], "no inactive agent")
    expect(A.get("/v1/outbound/agents", params={"limit": 101}), 400, "validation_failed", "limit")
    expect(A.get("/v1/outbound/agents", params={"status": "gone"}), 400, "validation_failed", "status")
    expect(A.get("/v1/outbound/agents", params={"cursor": "nope"}), 400, "invalid_cursor", "cursor")
    mcp_bad("list_outbound_agents", {"limit": "2"}, "validation_failed", "limit")
    eq([m["id"] for m in expect(B.get("/v1/outbound/agents"), 200)["data"]], [W["b_member"]["id"]], "B's agents")


def test_bulk_get_agent_workloads():
    ids = [m["id"] for m in W["agents"]] + [W["admin"]["id"]]
    d = expect(A.post("/v1/outbound/agent-workloads", {"member_ids": ids}), 200)["data"]
    eq([x["member_id"] for x in d["workloads"]], ids, "in the order given")
    eq(d["workloads"][1]["contact_counts"], _counts(3, 2, pending=1, in_progress=1, completed=1), "agent 1")
    eq(d["workloads"][3]["contact_counts"], _counts(0, 0), "the admin holds none")
    same_three("bulk_get_agent_workloads", d, {"member_ids": ids})
    # Repeats answer once; reads need only crm:read.
    eq(expect(RO.post("/v1/outbound/agent-workloads", {"member_ids": ids[:1] * 3}), 200)["data"]["workloads"],
       d["workloads"][:1], "a repeated id answers once")
    expect(A.post("/v1/outbound/agent-workloads", {"member_ids": [ids[0], W["b_member"]["id"]]}), 404,
           "not_found", "member_ids[1]")
    mcp_bad("bulk_get_agent_workloads", {"member_ids": [W["b_member"]["id"]]}, "not_found", "member_ids[0]")
    expect(A.post("/v1/outbound/agent-workloads", {"member_ids": ["mem_x"] * 101}), 400, "validation_failed",
           "member_ids")
    mcp_bad("bulk_get_agent_workloads", {"member_ids": ["mem_x"] * 101}, "validation_failed", "member_ids")
    expect(A.post("/v1/outbound/agent-workloads", {"member_ids": []}), 400, "validation_failed", "member_ids")
    expect(A.post("/v1/outbound/agent-workloads", {"member_ids": "mem_x"}), 400, "validation_failed", "member_ids")
    expect(A.post("/v1/outbound/agent-workloads", {"member_ids": [7]}), 400, "validation_failed", "member_ids[0]")
    expect(A.post("/v1/outbound/agent-workloads", {}), 400, "validation_failed", "member_ids")
    expect(A.post("/v1/outbound/agent-workloads", {"member_ids": ids, "more": 1}), 400, "validation_failed", "more")
    agent_bad("bulk_get_agent_workloads", {"member_ids": "x"}, 400, "member_ids")


def test_campaigns_with_counts():
    c0 = W["camps"][0]["id"]
    one = expect(A.get("/v1/outbound/campaigns/%s/summary" % c0), 200)["data"]
    eq(one["contact_counts"], _counts(4, 3, pending=2, in_progress=1, qualified=1), "campaign 0 counts")
    eq({k: v for k, v in one.items() if k != "contact_counts"},
       expect(A.get("/v1/outbound/campaigns/" + c0), 200)["data"], "the campaign's own members")
    same_three("get_campaign", one, {"id": c0})
    page = expect(A.get("/v1/outbound/campaign-summaries"), 200)
    eq([c["id"] for c in page["data"]], [c["id"] for c in reversed(W["camps"])], "newest first")
    eq(page["data"][-1], one, "the list's item is the summary")
    same_three("list_campaigns", page, {})
    eq(expect(A.get("/v1/outbound/campaign-summaries", params={"status": "active"}), 200)["data"], [],
       "filtered by status")
    expect(A.get("/v1/outbound/campaigns/%s/summary" % W["b_camp"]["id"]), 404, "not_found")
    mcp_bad("get_campaign", {"id": W["b_camp"]["id"]}, "not_found")
    agent_bad("get_campaign", {"id": W["b_camp"]["id"]}, 404)


def test_bulk_get_campaign_contact_counts():
    ids = [c["id"] for c in W["camps"]]
    d = expect(A.post("/v1/outbound/campaign-contact-counts", {"campaign_ids": ids}), 200)["data"]
    eq([x["contact_counts"]["total"] for x in d["campaigns"]], [4, 3, 2], "totals per campaign")
    eq(d["campaigns"][1]["contact_counts"], _counts(3, 2, pending=1, completed=1, follow_up=1), "campaign 1")
    same_three("bulk_get_campaign_contact_counts", d, {"campaign_ids": ids})
    expect(A.post("/v1/outbound/campaign-contact-counts", {"campaign_ids": ids + [W["b_camp"]["id"]]}), 404,
           "not_found", "campaign_ids[3]")
    expect(A.post("/v1/outbound/campaign-contact-counts", {"campaign_ids": ids * 34}), 400, "validation_failed",
           "campaign_ids")
    mcp_bad("bulk_get_campaign_contact_counts", {"campaign_ids": [True]}, "validation_failed")
    agent_bad("bulk_get_campaign_contact_counts", {"campaign_ids": [W["b_camp"]["id"]]}, 404, "campaign_ids[0]")


def test_contacts_in_multiple_campaigns_and_overlap():
    ids = [c["id"] for c in W["camps"]]
    k = [c["id"] for c in W["contacts"]]
    d = expect(A.post("/v1/outbound/contacts-in-multiple-campaigns", {"campaign_ids": ids}), 200)["data"]
    got = {x["contact_id"]: sorted(x["campaign_ids"]) for x in d["contacts"]}
    eq(got, {k[2]: sorted(ids[:2]), k[3]: sorted(ids)}, "contacts in 2 or more")
    eq((d["total_matching"], d["truncated"]), (2, False), "totals")
    same_three("find_contacts_in_multiple_campaigns", d, {"campaign_ids": ids})
    d3 = expect(A.post("/v1/outbound/contacts-in-multiple-campaigns", {"campaign_ids": ids, "min_campaigns": 3}),
                200)["data"]
    eq([x["contact_id"] for x in d3["contacts"]], [k[3]], "in all three")
    d1 = expect(A.post("/v1/outbound/contacts-in-multiple-campaigns", {"campaign_ids": ids, "limit": 1}),
                200)["data"]
    eq((len(d1["contacts"]), d1["total_matching"], d1["truncated"]), (1, 2, True), "limited")
    expect(A.post("/v1/outbound/contacts-in-multiple-campaigns", {"campaign_ids": ids[:2], "min_campaigns": 3}),
           400, "validation_failed", "min_campaigns")
    expect(A.post("/v1/outbound/contacts-in-multiple-campaigns", {"campaign_ids": ids[:1]}), 400,
           "validation_failed", "campaign_ids")
    expect(A.post("/v1/outbound/contacts-in-multiple-campaigns", {"campaign_ids": [ids[0], W["b_camp"]["id"]]}),
           404, "not_found", "campaign_ids[1]")

    o = expect(A.post("/v1/outbound/campaign-overlap", {"campaign_ids": ids}), 200)["data"]
    eq([x["contacts"] for x in o["campaigns"]], [4, 3, 2], "sizes")
    eq({(p["campaign_a"], p["campaign_b"]): p["overlap"] for p in o["pairs"]},
       {(ids[0], ids[1]): 2, (ids[0], ids[2]): 1, (ids[1], ids[2]): 1}, "pairwise overlap")
    eq((o["in_all"], o["in_several"]), (1, 2), "in all, in several")
    same_three("get_campaign_contact_overlap", o, {"campaign_ids": ids})
    expect(A.post("/v1/outbound/campaign-overlap", {"campaign_ids": ids * 7}), 400, "validation_failed",
           "campaign_ids")
    mcp_bad("get_campaign_contact_overlap", {"campaign_ids": [ids[0], W["b_camp"]["id"]]}, "not_found",
            "campaign_ids[1]")


def test_list_outbound_contacts():
    c0 = W["camps"][0]["id"]
    k = W["contacts"]
    page = expect(A.get("/v1/outbound/campaigns/%s/outbound-contacts" % c0), 200)
    eq([x["contact_id"] for x in page["data"]], [c["id"] for c in reversed(k[:4])], "newest first")
    eq(page["data"][-1]["contact"]["email"], k[0]["email"], "joined with the contact")
    eq(page["data"][-1]["contact"]["name"], k[0]["name"], "its name")
    same_three("list_outbound_contacts", page, {"id": c0})
    a1 = W["agents"][1]["id"]
    f = expect(A.get("/v1/outbound/campaigns/%s/outbound-contacts" % c0,
                     params={"assignee_id": a1, "status": "in_progress"}), 200)["data"]
    eq([x["contact_id"] for x in f], [k[2]["id"]], "filtered by assignee and status")
    p1 = expect(A.get("/v1/outbound/campaigns/%s/outbound-contacts" % c0, params={"limit": 3}), 200)
    p2 = expect(A.get("/v1/outbound/campaigns/%s/outbound-contacts" % c0,
                      params={"limit": 3, "cursor": p1["next_cursor"]}), 200)
    eq([x["id"] for x in p1["data"] + p2["data"]], [x["id"] for x in page["data"]], "pages by cursor")
    eq(p2["next_cursor"], None, "the last page")
    eq(expect(A.get("/v1/outbound/campaigns/%s/outbound-contacts" % c0,
                    params={"assignee_id": W["b_member"]["id"]}), 200)["data"], [], "B's member: nothing")
    expect(A.get("/v1/outbound/campaigns/%s/outbound-contacts" % W["b_camp"]["id"]), 404, "not_found")
    mcp_bad("list_outbound_contacts", {"id": c0, "status": "nope"}, "validation_failed", "status")


def test_export_templates():
    s = A.create("/v1/outbound/script-templates", {
        "name": uniq("Export script"), "status": "active",
        "nodes": [{"key": "q", "type": "yesno", "text": "Ok?", "branches": [{"label": "Oui", "next": "end"},
                                                                          {"label": "Non", "next": "end"}]},
                  {"key": "end", "type": "instruction", "text": "Bye"}]})
    d = expect(A.get("/v1/outbound/script-templates/%s/export" % s["id"]), 200)["data"]
    eq(d["object"], "script_template_export", "object")
    eq(d["template"], {"name": s["name"], "description": None, "status": "active", "nodes": s["nodes"]},
       "the writable fields, no ids")
    ok(s["id"] not in json.dumps(d), "no id")
    same_three("export_script_template", d, {"id": s["id"]})
    q = A.create("/v1/outbound/qualification-templates", {
        "name": uniq("Export qual"), "fields": [{"key": "budget", "label": "Budget", "type": "number"}]})
    d = expect(A.get("/v1/outbound/qualification-templates/%s/export" % q["id"]), 200)["data"]
    eq(d["template"], {"name": q["name"], "description": None, "status": "draft", "fields": q["fields"]},
       "qualification template export")
    same_three("export_qualification_template", d, {"id": q["id"]})
    # The export is a create's body.
    copy = dict(d["template"], name=uniq("copy"))
    expect(A.post("/v1/outbound/qualification-templates", copy), 201)
    bs = B.create("/v1/outbound/script-templates", {"name": "B script"})
    expect(A.get("/v1/outbound/script-templates/%s/export" % bs["id"]), 404, "not_found")
    mcp_bad("export_script_template", {"id": bs["id"]}, "not_found")


def test_get_qualification_schema():
    q = A.create("/v1/outbound/qualification-templates", {
        "name": uniq("Schema qual"),
        "fields": [{"key": "budget", "label": "Budget", "type": "number", "required": True},
                   {"key": "plan", "label": "Plan", "type": "select", "options": ["basic", "pro"]},
                   {"key": "decided", "label": "Decided", "type": "boolean"},
                   {"key": "when", "label": "When", "type": "date"},
                   {"key": "notes", "label": "Notes", "type": "text"}]})
    camp = A.create("/v1/outbound/campaigns", {"name": "Schema", "qualification_template_id": q["id"]})
    d = expect(A.get("/v1/outbound/campaigns/%s/qualification-schema" % camp["id"]), 200)["data"]
    eq((d["object"], d["campaign_id"], d["qualification_template_id"]),
       ("qualification_schema", camp["id"], q["id"]), "what it is")
    sch = d["schema"]
    eq((sch["type"], sch["additionalProperties"], sch["required"]), ("object", False, ["budget"]), "the shape")
    eq(sch["properties"]["plan"], {"title": "Plan", "type": "string", "enum": ["basic", "pro"]}, "a select")
    eq(sch["properties"]["budget"]["type"], "number", "a number")
    eq(sch["properties"]["when"], {"title": "When", "type": "string", "format": "date"}, "a date")
    same_three("get_qualification_schema", d, {"id": camp["id"]})
    # What the schema says is what a qualification takes.
    con = A.create("/v1/contacts", {"name": uniq("Schema contact")})
    expect(A.post("/v1/outbound/qualifications", {"campaign_id": camp["id"], "contact_id": con["id"],
                                                   "answers": {"plan": "pro"}}), 400, "validation_failed")
    expect(A.post("/v1/outbound/qualifications", {"campaign_id": camp["id"], "contact_id": con["id"],
                                                   "answers": {"budget": 10, "plan": "pro"}}), 201)
    bare = A.create("/v1/outbound/campaigns", {"name": "No template"})
    expect(A.get("/v1/outbound/campaigns/%s/qualification-schema" % bare["id"]), 404, "not_found",
           "qualification_template_id")
    mcp_bad("get_qualification_schema", {"id": bare["id"]}, "not_found", "qualification_template_id")
    expect(A.get("/v1/outbound/campaigns/%s/qualification-schema" % W["b_camp"]["id"]), 404, "not_found")
    mcp_bad("get_qualification_schema", {"id": W["b_camp"]["id"]}, "not_found")
    expect(A.get("/v1/outbound/campaigns/%s/qualification-schema" % camp["id"], params={"x": "1"}), 400)


# ----------------------------------------------------------------- writes

def test_attach_campaign_templates():
    camp = A.create("/v1/outbound/campaigns", {"name": "Attach"})
    s = A.create("/v1/outbound/script-templates", {"name": uniq("Attach script")})
    q = A.create("/v1/outbound/qualification-templates", {"name": uniq("Attach qual")})
    path = "/v1/outbound/campaigns/%s/attach-templates" % camp["id"]
    d = expect(A.post(path, {"script_template_id": s["id"]}, params={"dry_run": "true"}), 200)["data"]
    eq(d["script_template_id"], s["id"], "the dry run answers the result")
    eq(expect(A.get("/v1/outbound/campaigns/" + camp["id"]), 200)["data"], camp, "a dry run stores nothing")
    d = expect(A.post(path, {"script_template_id": s["id"]}), 200)["data"]
    eq((d["script_template_id"], d["qualification_template_id"]), (s["id"], None), "script attached")
    d = mcp_ok("attach_campaign_templates", {"id": camp["id"], "qualification_template_id": q["id"]})
    eq((d["script_template_id"], d["qualification_template_id"]), (s["id"], q["id"]), "the other stays")
    d = agent_ok("attach_campaign_templates", {"id": camp["id"], "script_template_id": None})
    eq((d["script_template_id"], d["qualification_template_id"]), (None, q["id"]), "null detaches")
    stored = expect(A.get("/v1/outbound/campaigns/" + camp["id"]), 200)["data"]
    bq = B.create("/v1/outbound/qualification-templates", {"name": "B qual"})
    expect(A.post(path, {"qualification_template_id": bq["id"]}), 404, "not_found", "qualification_template_id")
    expect(A.post(path, {"script_template_id": 5}), 400, "validation_failed", "script_template_id")
    expect(RO.post(path, {"script_template_id": s["id"]}), 403, "forbidden")
    mcp_bad("attach_campaign_templates", {"id": camp["id"], "script_template_id": bq["id"]}, "not_found",
            "script_template_id")
    expect(A.post("/v1/outbound/campaigns/%s/attach-templates" % W["b_camp"]["id"], {"script_template_id": s["id"]}),
           404, "not_found")
    eq(expect(A.get("/v1/outbound/campaigns/" + camp["id"]), 200)["data"], stored, "refused calls change nothing")


def test_bulk_add_contacts_by_filter():
    w = S.key(uniq("tools-add"), super_admin=True)
    tag = uniq("lot")
    com = w.create("/v1/companies", {"name": "Add Co"})
    made = [w.create("/v1/contacts", {"name": "Add %d" % i, "company_id": com["id"] if i % 2 else None,
                                      "custom_fields": {"lot": tag}}) for i in range(6)]
    other = w.create("/v1/contacts", {"name": "Not in the lot"})
    camp = w.create("/v1/outbound/campaigns", {"name": "Add"})
    path = "/v1/outbound/campaigns/%s/bulk-add-contacts" % camp["id"]
    lot = {"filter": {"custom_field_key": "lot", "custom_field_value": tag}}
    # One already in: skipped.
    w.create("/v1/outbound/campaigns/%s/contacts" % camp["id"], {"contact_id": made[0]["id"]})
    d = expect(w.post(path, lot, params={"dry_run": "true"}), 200)["data"]
    eq((d["matched"], d["added"], d["skipped"], d["dry_run"]), (6, 5, 1, True), "dry run counts")
    summary = "/v1/outbound/campaigns/%s/summary" % camp["id"]
    eq(expect(w.get(summary), 200)["data"]["contact_counts"]["total"], 1, "a dry run adds nothing")
    d = mcp_ok("bulk_add_contacts_to_campaign_by_filter",
               {"id": camp["id"], "filter": {"company_id": com["id"]}, "dryRun": True}, key=w)
    eq((d["matched"], d["added"], d["skipped"]), (3, 3, 0), "MCP dry run, by company")
    d = expect(w.post(path, lot), 200)["data"]
    eq((d["matched"], d["added"], d["skipped"], d["dry_run"]), (6, 5, 1, False), "added")
    cc = expect(w.get("/v1/outbound/campaigns/%s/contacts" % camp["id"], params={"limit": 100}), 200)["data"]
    eq(sorted(x["contact_id"] for x in cc), sorted(c["id"] for c in made), "the lot, once each")
    eq(sorted(x["source"] for x in cc), ["filter"] * 5 + ["manual"], "source filter")
    eq(expect(w.get(summary), 200)["data"]["contact_counts"]["by_status"]["pending"], 6, "the rollup follows")
    d = expect(w.post(path, lot), 200)["data"]
    eq((d["added"], d["skipped"]), (0, 6), "again: every one skipped")
    # Everyone (an empty filter), through the agent API.
    j = agent("bulk_add_contacts_to_campaign_by_filter", {"id": camp["id"], "filter": {}}, org=w.workspace_id)
    eq((j["_status"], j["data"]["data"]["added"]), (200, 1), "the agent API adds the last one: %s" % j)
    ok(other["id"] in [x["contact_id"] for x in expect(
        w.get("/v1/outbound/campaigns/%s/contacts" % camp["id"], params={"limit": 100}), 200)["data"]], "everyone")
    # By import folder: the contacts imported under it elsewhere.
    camp2 = w.create("/v1/outbound/campaigns", {"name": "Import"})
    for c in made[:2]:
        w.create("/v1/outbound/campaigns/%s/contacts" % camp2["id"],
                 {"contact_id": c["id"], "source": "import", "import_folder": "spring.csv"})
    camp3 = w.create("/v1/outbound/campaigns", {"name": "From import"})
    d = expect(w.post("/v1/outbound/campaigns/%s/bulk-add-contacts" % camp3["id"], {"import_folder": "spring.csv"}),
               200)["data"]
    eq((d["matched"], d["added"]), (2, 2), "by import folder")
    got = expect(w.get("/v1/outbound/campaigns/%s/contacts" % camp3["id"]), 200)["data"]
    eq({(x["source"], x["import_folder"]) for x in got}, {("import", "spring.csv")}, "source import")
    # Refused, nothing added.
    before = expect(w.get(summary), 200)["data"]
    for body, status, param in [
            ({"filter": {"nope": "x"}}, 400, "filter.nope"),
            ({"filter": {"status": 5}}, 400, "filter.status"),
            ({"filter": {"status": "gone"}}, 400, "filter.status"),
            ({"filter": {"custom_field_key": "lot"}}, 400, "filter.custom_field_value"),
            ({"filter": "status=active"}, 400, "filter"),
            ({"filter": {}, "import_folder": "x"}, 400, "import_folder"),
            ({"assignee_id": 7}, 400, "assignee_id"),
            ({"extra": 1}, 400, "extra"),
            ({"assignee_id": W["b_member"]["id"]}, 404, "assignee_id")]:
        expect(w.post(path, body), status, param=param)
    eq(expect(w.get(summary), 200)["data"], before, "refused calls add nothing")
    expect(w.post("/v1/outbound/campaigns/%s/bulk-add-contacts" % W["b_camp"]["id"], {}), 404, "not_found")
    # Another workspace's company in the filter matches nothing of this one.
    d = expect(w.post(path, {"filter": {"company_id": W["b_contact"]["id"]}}), 200)["data"]
    eq((d["matched"], d["added"]), (0, 0), "a foreign id matches nothing")
    # Capacity: an agent who can take 2 more refuses the whole call.
    agent_m = w.create("/v1/members", {"name": "Small", "role": "agent", "capacity": 2})
    camp4 = w.create("/v1/outbound/campaigns", {"name": "Cap"})
    r = expect(w.post("/v1/outbound/campaigns/%s/bulk-add-contacts" % camp4["id"],
                      dict(lot, assignee_id=agent_m["id"])), 409, "conflict", "assignee_id")
    eq(expect(w.get("/v1/outbound/campaigns/%s/summary" % camp4["id"]), 200)["data"]["contact_counts"]["total"],
       0, "all or nothing")
    ok(r, "refused")


def test_bulk_add_ten_thousand_contacts():
    """10,000 contacts (made through the batch route), added to a campaign by
    one filter, all of them, counted by the rollup. The server's own
    duration (its request log) is printed, not asserted: speed is the
    benchmarks' business, and the machines are shared."""
    import time
    w = S.key(uniq("tools-10k"), super_admin=True)
    tag = uniq("big")
    for b in range(100):
        ops = [{"action": "create", "data": {"name": "Big %d-%d" % (b, i), "custom_fields": {"lot": tag}}}
               for i in range(100)]
        expect(w.post("/v1/contacts/batch", {"operations": ops}), 200)
    camp = w.create("/v1/outbound/campaigns", {"name": "Ten thousand"})
    t = time.time()
    # One transaction of 10,000 rows: on PostgreSQL under ASan on a busy
    # machine that took 20 s to more than the usual client timeout.
    r = w.post("/v1/outbound/campaigns/%s/bulk-add-contacts" % camp["id"],
               {"filter": {"custom_field_key": "lot", "custom_field_value": tag}},
               timeout=300 * SCALE)
    wall = time.time() - t
    d = expect(r, 200)["data"]
    eq((d["matched"], d["added"]), (10000, 10000), "ten thousand added")
    rid = r.headers.get("x-request-id")
    took = None
    with open(S.stderr_path) as f:
        for line in f:
            if rid in line:
                took = json.loads(line)["duration_ms"]
    print("bulk add of 10,000 contacts: %.1f ms in the server, %.3f s wall" % (took or -1, wall))
    counts = expect(w.get("/v1/outbound/campaigns/%s/summary" % camp["id"]), 200)["data"]["contact_counts"]
    eq(counts["by_status"]["pending"], 10000, "the rollup counts them")


def _campaign_with(w, n, **cc):
    camp = w.create("/v1/outbound/campaigns", {"name": uniq("camp")})
    cons = [w.create("/v1/contacts", {"name": uniq("k")}) for _ in range(n)]
    ccs = [w.create("/v1/outbound/campaigns/%s/contacts" % camp["id"], dict(cc, contact_id=k["id"])) for k in cons]
    return camp, cons, ccs


def test_bulk_remove_contacts_from_campaign():
    w = S.key(uniq("tools-rm"), super_admin=True)
    camp, cons, ccs = _campaign_with(w, 5)
    other, _, _ = _campaign_with(w, 0)
    k = [c["id"] for c in cons]
    w.create("/v1/outbound/campaigns/%s/contacts" % other["id"], {"contact_id": k[0]})  # also elsewhere
    w.patch("/v1/outbound/campaigns/%s/contacts/%s" % (camp["id"], ccs[1]["id"]),
            {"follow_up_status": "pending", "next_follow_up_at": "2031-01-01T09:00:00.000Z"})
    w.patch("/v1/outbound/campaigns/%s/contacts/%s" % (camp["id"], ccs[4]["id"]), {"status": "completed"})
    call = w.create("/v1/outbound/call-logs", {"campaign_id": camp["id"], "contact_id": k[0], "outcome": "connected"})
    path = "/v1/outbound/campaigns/%s/bulk-remove-contacts" % camp["id"]
    summary = "/v1/outbound/campaigns/%s/summary" % camp["id"]
    before = expect(w.get(summary), 200)["data"]
    # The tool asks for confirm (and says how), a dry run previews.
    err = mcp_bad("bulk_remove_contacts_from_campaign", {"id": camp["id"], "contact_ids": k[:2]},
                  "validation_failed", "confirm", key=w)
    ok("confirm" in err["message"], "the error says what to do")
    j = agent("bulk_remove_contacts_from_campaign", {"id": camp["id"], "contact_ids": k[:2]}, org=w.workspace_id)
    eq(j["_status"], 400, "agent without confirm: %s" % j)
    nxt = j["data"]["nextActions"][0]
    eq((nxt["toolName"], nxt["suggestedInput"].get("confirm")), ("bulk_remove_contacts_from_campaign", True),
       "the next action is the confirmed call")
    d = mcp_ok("bulk_remove_contacts_from_campaign", {"id": camp["id"], "contact_ids": k[:2], "dryRun": True},
               key=w)
    eq((d["removed"], d["dry_run"]), (2, True), "dry run")
    eq(expect(w.get(summary), 200)["data"], before, "a dry run removes nothing")
    # Live: keep the one with a follow-up when asked to.
    d = expect(w.post(path, {"contact_ids": k[:2], "cancel_follow_ups": False}), 200)["data"]
    eq((d["matched"], d["removed"], d["kept_with_follow_up"], d["call_logs_deleted"]), (2, 1, 1, 0), "removed")
    left = [x["contact_id"] for x in expect(w.get("/v1/outbound/campaigns/%s/contacts" % camp["id"]), 200)["data"]]
    eq(sorted(left), sorted(k[1:]), "contact 0 gone, 1 kept")
    eq(expect(w.get("/v1/outbound/call-logs/" + call["id"]), 200)["data"]["campaign_contact_id"], None,
       "the call stays, unlinked")
    eq(len(expect(w.get("/v1/outbound/campaigns/%s/contacts" % other["id"]), 200)["data"]), 1,
       "the other campaign keeps contact 0")
    # By status, through the agent API with confirm; detach calls.
    w.create("/v1/outbound/call-logs", {"campaign_id": camp["id"], "contact_id": k[4], "outcome": "busy"})
    d = agent_ok_in(w, "bulk_remove_contacts_from_campaign",
                    {"id": camp["id"], "status": "completed", "detach_call_logs": True, "confirm": True})
    eq((d["removed"], d["call_logs_deleted"]), (1, 1), "by status, calls detached")
    eq(expect(w.get("/v1/outbound/call-logs", params={"contact_id": k[4]}), 200)["data"], [], "its call went")
    counts = expect(w.get(summary), 200)["data"]["contact_counts"]
    eq((counts["total"], counts["by_status"]["completed"]), (3, 0), "the rollup follows")
    # Refused: nothing named, foreign ids, too many, wrong types.
    mid = expect(w.get(summary), 200)["data"]
    eq(expect(w.post(path, {}), 200)["data"]["matched"], 0, "naming nothing removes nothing")
    for body, status, param in [({"contact_ids": [W["b_contact"]["id"]]}, 404,
                                                              "contact_ids[0]"),
                                ({"contact_ids": ["con_x"] * 101}, 400, "contact_ids"),
                                ({"status": "gone"}, 400, "status"), ({"contact_ids": k[2]}, 400, "contact_ids"),
                                ({"status": "pending", "detach_call_logs": "yes"}, 400, "detach_call_logs")]:
        expect(w.post(path, body), status, param=param)
    expect(w.post("/v1/outbound/campaigns/%s/bulk-remove-contacts" % W["b_camp"]["id"], {"status": "pending"}),
           404, "not_found")
    eq(expect(w.get(summary), 200)["data"], mid, "refused calls remove nothing")


def agent_ok_in(w, name, input):
    j = agent(name, input, org=w.workspace_id)
    eq((j["_status"], j["success"]), (200, True), "agent %s: %s" % (name, json.dumps(j)[:400]))
    return j["data"]["data"]


def test_bulk_assign_campaign_contacts():
    w = S.key(uniq("tools-as"), super_admin=True)
    camp, cons, ccs = _campaign_with(w, 7)
    m = [w.create("/v1/members", {"name": "M%d" % i, "role": "agent", "capacity": cap})
         for i, cap in enumerate((2, 10, 1))]
    ids = [x["id"] for x in m]
    path = "/v1/outbound/campaigns/%s/bulk-assign-contacts" % camp["id"]
    w.patch("/v1/outbound/campaigns/%s/contacts/%s" % (camp["id"], ccs[6]["id"]), {"status": "qualified"})
    mcp_bad("bulk_assign_campaign_contacts", {"id": camp["id"], "member_ids": ids}, "validation_failed",
            "confirm", key=w)
    d = mcp_ok("bulk_assign_campaign_contacts", {"id": camp["id"], "member_ids": ids, "dryRun": True}, key=w)
    eq((d["considered"], d["assigned"], d["dry_run"]), (6, 6, True), "dry run")
    eq([x["assignee_id"] for x in expect(w.get("/v1/outbound/campaigns/%s/contacts" % camp["id"]), 200)["data"]],
       [None] * 7, "a dry run assigns nothing")
    d = expect(w.post(path, {"member_ids": ids}), 200)["data"]
    eq([x["assigned"] for x in d["members"]], [2, 3, 1], "in turn, nobody past capacity")
    eq((d["considered"], d["assigned"], d["left_unassigned"]), (6, 6, 0), "every open one")
    got = {x["contact_id"]: x["assignee_id"] for x in
           expect(w.get("/v1/outbound/campaigns/%s/contacts" % camp["id"]), 200)["data"]}
    eq(got[cons[6]["id"]], None, "a qualified contact is left alone")
    eq([got[c["id"]] for c in cons[:3]], ids, "oldest first, in the order given")
    wl = expect(w.post("/v1/outbound/agent-workloads", {"member_ids": ids}), 200)["data"]["workloads"]
    eq([x["contact_counts"]["open"] for x in wl], [2, 3, 1], "the workloads follow")
    d = expect(w.post(path, {"member_ids": ids}), 200)["data"]
    eq((d["considered"], d["assigned"]), (0, 0), "only unassigned ones by default")
    # Reassign by capacity: all to where the room is.
    d = agent_ok_in(w, "bulk_assign_campaign_contacts",
                    {"id": camp["id"], "member_ids": ids[1:], "strategy": "capacity", "reassign": True,
                     "confirm": True})
    eq((d["considered"], d["left_unassigned"]), (6, 0), "reassigned")
    eq([x["open_contacts"] for x in d["members"]], [6, 0], "M1 has the most room each time: it takes all six")
    # Refused.
    inactive = w.create("/v1/members", {"name": "Off", "status": "inactive"})
    for body, status, param in [({"member_ids": [inactive["id"]]}, 409, "member_ids[0]"),
                                ({"member_ids": [W["b_member"]["id"]]}, 404, "member_ids[0]"),
                                ({"member_ids": ids, "strategy": "random"}, 400, "strategy"),
                                ({"member_ids": ["mem_x"] * 101}, 400, "member_ids"),
                                ({}, 400, "member_ids"), ({"member_ids": ids, "reassign": 1}, 400, "reassign")]:
        expect(w.post(path, body), status, param=param)
    expect(w.post("/v1/outbound/campaigns/%s/bulk-assign-contacts" % W["b_camp"]["id"], {"member_ids": ids}),
           404, "not_found")


SCRIPT_NODES = [{"key": "q", "type": "yesno", "text": "Ok?",
                 "branches": [{"label": "Oui", "next": "end"}, {"label": "Non", "next": "end"}]},
                {"key": "end", "type": "instruction", "text": "Bye"}]


def test_import_templates():
    w = S.key(uniq("tools-imp"), super_admin=True)
    src = w.create("/v1/outbound/script-templates", {"name": "Source", "status": "active", "nodes": SCRIPT_NODES})
    exported = expect(w.get("/v1/outbound/script-templates/%s/export" % src["id"]), 200)["data"]["template"]
    one = dict(exported, name="Imported one")
    two = dict(exported, name="Imported two", status="draft")
    path = "/v1/outbound/script-templates/import"
    d = expect(w.post(path, {"templates": [one, two]}, params={"dry_run": "true"}), 200)["data"]
    eq((d["object"], d["imported"], [t["name"] for t in d["templates"]]),
       ("script_template_import", 2, ["Imported one", "Imported two"]), "dry run")
    eq(len(expect(w.get("/v1/outbound/script-templates"), 200)["data"]), 1, "a dry run creates nothing")
    d = expect(w.post(path, {"templates": [one, two]}), 200)["data"]
    got = expect(w.get("/v1/outbound/script-templates/" + d["templates"][0]["id"]), 200)["data"]
    eq((got["nodes"], got["status"], got["start_node_key"]), (src["nodes"], "active", "q"), "as exported")
    d = mcp_ok("import_script_templates", {"templates": [dict(exported, name="Via MCP")]}, key=w)
    eq(d["imported"], 1, "MCP import")
    # Each validated as a create; all or none; errors name templates[i].
    bad_node = dict(exported, name="Bad", nodes=[dict(SCRIPT_NODES[0], branches=[{"label": "Yes", "next": "end"}]),
                                                 SCRIPT_NODES[1]])
    count = len(expect(w.get("/v1/outbound/script-templates", params={"limit": 100}), 200)["data"])
    for body, status, param in [
            ({"templates": [dict(exported, name="Fine"), bad_node]}, 400, "templates[1].nodes[0].branches[0].label"),
            ({"templates": [dict(exported, name="Source")]}, 409, "templates[0].name"),
            ({"templates": [dict(exported, name=None)]}, 400, "templates[0].name"),
            ({"templates": [dict(exported, name="X", id="stpl_1")]}, 400, "templates[0].id"),
            ({"templates": [dict(exported, name="X", start_node_key="q")]}, 400, "templates[0].start_node_key"),
            ({"templates": [dict(exported, name="X", nodes=[{"key": "a", "type": "nope"}])]}, 400,
             "templates[0].nodes[0].type"),
            ({"templates": []}, 400, "templates"),
            ({"templates": [dict(exported, name="n%d" % i) for i in range(51)]}, 400, "templates"),
            ({"templates": "x"}, 400, "templates")]:
        r = expect(w.post(path, body), status, param=param)
        ok(param.split(".")[0] in r["error"]["message"],
           "the message names the template: %s" % r["error"]["message"])
    eq(len(expect(w.get("/v1/outbound/script-templates", params={"limit": 100}), 200)["data"]), count,
       "refused imports create nothing")
    err = mcp_bad("import_script_templates", {"templates": [bad_node]}, "validation_failed", key=w)
    ok("templates[0]" in err["message"], "MCP names the template: %s" % err["message"])
    # Qualification templates, through the agent API.
    q = w.create("/v1/outbound/qualification-templates", {
        "name": "QSource", "fields": [{"key": "budget", "label": "Budget", "type": "number", "required": True}]})
    qe = expect(w.get("/v1/outbound/qualification-templates/%s/export" % q["id"]), 200)["data"]["template"]
    d = agent_ok_in(w, "import_qualification_templates", {"templates": [dict(qe, name="QCopy")]})
    eq((d["object"], d["templates"][0]["fields"]), ("qualification_template_import", q["fields"]), "qual import")
    expect(w.post("/v1/outbound/qualification-templates/import",
                  {"templates": [dict(qe, name="QBad", fields=[{"key": "a b", "label": "x", "type": "text"}])]}),
           400, param="templates[0].fields[0].key")


def test_upsert_script_execution():
    w = S.key(uniq("tools-up"), super_admin=True)
    s = w.create("/v1/outbound/script-templates", {"name": "S", "status": "active", "nodes": SCRIPT_NODES})
    camp = w.create("/v1/outbound/campaigns", {"name": "Up", "script_template_id": s["id"]})
    con = w.create("/v1/contacts", {"name": "Up contact"})
    path = "/v1/outbound/script-executions/upsert"
    key = {"campaign_id": camp["id"], "contact_id": con["id"]}
    d = expect(w.post(path, dict(key, responses=[{"node_key": "q", "answer": "Oui"}]), params={"dry_run": "true"}),
               200)["data"]
    eq(d["responses"], [{"node_key": "q", "answer": "Oui"}], "dry run answers the record")
    eq(expect(w.get("/v1/outbound/script-executions"), 200)["data"], [], "a dry run stores nothing")
    first = expect(w.post(path, dict(key, responses=[{"node_key": "q", "answer": "Oui"}])), 200)["data"]
    eq((first["status"], first["script_template_id"]), ("in_progress", s["id"]), "created")
    again = mcp_ok("upsert_script_execution", dict(key, status="completed"), key=w)
    eq((again["id"], again["status"], again["responses"]), (first["id"], "completed", first["responses"]),
       "updated, the responses kept")
    third = agent_ok_in(w, "upsert_script_execution", dict(key, responses=[{"node_key": "end"}]))
    eq((third["id"], third["responses"]), (first["id"], [{"node_key": "end", "answer": None}]), "agent upsert")
    eq(len(expect(w.get("/v1/outbound/script-executions"), 200)["data"]), 1, "one per campaign and contact")
    for body, status, param in [
            (dict(key, responses=[{"node_key": "q", "answer": "Maybe"}]), 400, "responses[0].answer"),
            ({"campaign_id": camp["id"]}, 400, "contact_id"),
            (dict(key, campaign_id=W["b_camp"]["id"]), 404, "campaign_id"),
            (dict(key, contact_id=W["b_contact"]["id"]), 404, "contact_id"),
            (dict(key, member_id=W["b_member"]["id"]), 404, "member_id"),
            (dict(key, status="done"), 400, "status"),
            (dict(key, script_template_id=s["id"]), 400, "script_template_id")]:
        expect(w.post(path, body), status, param=param)
    eq(expect(w.get("/v1/outbound/script-executions/" + first["id"]), 200)["data"]["responses"],
       [{"node_key": "end", "answer": None}], "refused upserts change nothing")


def test_analyze_import_contact_deduplication():
    w = S.key(uniq("tools-dd"), super_admin=True)
    old = w.create("/v1/contacts", {"name": "Already here", "email": "ann@dup.test"})
    imported = [w.create("/v1/contacts", {"name": "Ann again", "email": "ANN@dup.test"}),
                w.create("/v1/contacts", {"name": "New", "email": "new@dup.test"}),
                w.create("/v1/contacts", {"name": "No email"})]
    c1 = w.create("/v1/outbound/campaigns", {"name": "I1"})
    c2 = w.create("/v1/outbound/campaigns", {"name": "I2"})
    for camp in (c1, c2):
        for k in imported[:2]:
            w.create("/v1/outbound/campaigns/%s/contacts" % camp["id"],
                     {"contact_id": k["id"], "source": "import", "import_folder": "may.csv"})
    w.create("/v1/outbound/campaigns/%s/contacts" % c1["id"],
             {"contact_id": imported[2]["id"], "source": "import", "import_folder": "may.csv"})
    w.create("/v1/outbound/campaigns/%s/contacts" % c2["id"], {"contact_id": old["id"]})
    d = expect(w.post("/v1/outbound/import-deduplication", {"import_folder": "may.csv"}), 200)["data"]
    eq((d["rows"], d["contacts"], d["without_email"], d["duplicate_email"], d["unique_email"]), (5, 3, 1, 1, 1),
       "counts")
    eq(d["examples"], [{"contact_id": imported[0]["id"], "email": "ANN@dup.test", "others": 1}], "the duplicate")
    same_in = mcp_ok("analyze_import_contact_deduplication", {"import_folder": "may.csv"}, key=w)
    eq(same_in, d, "MCP")
    eq(agent_ok_in(w, "analyze_import_contact_deduplication", {"import_folder": "may.csv"}), d, "agent API")
    e = expect(w.post("/v1/outbound/import-deduplication", {"import_folder": "none.csv"}), 200)["data"]
    eq((e["rows"], e["contacts"], e["examples"]), (0, 0, []), "an unknown folder")
    expect(w.post("/v1/outbound/import-deduplication", {}), 400, param="import_folder")
    expect(w.post("/v1/outbound/import-deduplication", {"import_folder": 5}), 400, param="import_folder")
    expect(w.post("/v1/outbound/import-deduplication", {"import_folder": "x", "limit": 101}), 400, param="limit")
    # Another workspace's folder of the same name is its own.
    eq(expect(B.post("/v1/outbound/import-deduplication", {"import_folder": "may.csv"}), 200)["data"]["rows"], 0,
       "B sees none of it")


def test_reads_that_post_take_dry_run_and_store_nothing():
    ids = [c["id"] for c in W["camps"]]
    plain = expect(A.post("/v1/outbound/campaign-contact-counts", {"campaign_ids": ids}), 200)["data"]
    eq(expect(A.post("/v1/outbound/campaign-contact-counts", {"campaign_ids": ids}, params={"dry_run": "true"}),
              200)["data"], plain, "dry_run on a read answers the read")
    expect(A.post("/v1/outbound/campaign-contact-counts", {"campaign_ids": ids}, params={"dry_run": "maybe"}),
           400, "validation_failed", "dry_run")
    expect(A.post("/v1/outbound/campaign-contact-counts", raw=b"{nope"), 400, "validation_failed")
    expect(A.post("/v1/outbound/campaign-contact-counts", raw=b"[]"), 400, "validation_failed")
    expect(A.post("/v1/outbound/campaign-contact-counts", body={"campaign_ids": ids}, ctype="text/plain"), 415)
    # Reads are not in the audit log (writes and tool calls are).
    log = expect(A.get("/v1/audit-log", params={"limit": 100}), 200)["data"]
    ok(not [e for e in log if "campaign-contact-counts" in (e.get("route") or "")], "no audit entry for a read")
