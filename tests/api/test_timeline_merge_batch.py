"""Timelines of leads/deals/contacts/companies, merging contacts and
companies, batch writes, and the dashboard (counted in fresh workspaces so
every number is exact). Every rejected write is checked to change nothing."""

import time

from harness import Server, TIME_RE, count, eq, expect, ids, list_all, ok

S = A = B = DASH = FLIP = None
BCON = BCOM = BLEAD = BDEAL = None
GAP = 0.02   # between writes whose order the timeline must show


def setup_module():
    global S, A, B, DASH, FLIP, BCON, BCOM, BLEAD, BDEAL
    S = Server(name="timeline")
    A = S.key("tl-a")
    B = S.key("tl-b")
    DASH = S.key("tl-dashboard")
    FLIP = S.key("tl-flip")
    S.start()
    BCON = B.create("/v1/contacts", {"name": "B Person", "email": "b.person@b.test"})
    BCOM = B.create("/v1/companies", {"name": "B Company"})
    BLEAD = B.create("/v1/leads", {"name": "B Lead"})
    BDEAL = B.create("/v1/deals", {"name": "B Deal"})


def teardown_module():
    S.stop_ok()


def _default(c):
    ps = [p for p in list_all(c, "/v1/pipelines") if p.get("is_default") is True]
    eq(len(ps), 1, "default pipelines")
    return ps[0]


def _stages(c, pipe_id):
    return list_all(c, "/v1/pipelines/%s/stages" % pipe_id)


def _typed(stages, t):
    return [s for s in stages if s.get("stage_type") == t]


# ------------------------------------------------------------ timelines

def _timeline(kind, rid, c=None, limit=100):
    return list_all(c or A, "/v1/%s/%s/timeline" % (kind, rid), limit=limit)


def _check_items(items, what):
    for it in items:
        ok(str(it.get("id", "")).startswith("ev_"), "%s: item id %r is not ev_..." % (what, it.get("id")))
        eq(it.get("object"), "timeline_item", "%s: item object" % what)
        ok(isinstance(it.get("type"), str) and "." in it["type"], "%s: item type %r" % (what, it.get("type")))
        ok(TIME_RE.match(str(it.get("occurred_at"))), "%s: occurred_at %r" % (what, it.get("occurred_at")))
        ok(isinstance(it.get("resource_id"), str), "%s: resource_id %r" % (what, it.get("resource_id")))
        ok(isinstance(it.get("resource_type"), str), "%s: resource_type %r" % (what, it.get("resource_type")))
        ok("changes" in it and (it["changes"] is None or isinstance(it["changes"], dict)),
           "%s: changes %r" % (what, it.get("changes")))
        ok(isinstance(it.get("data"), dict), "%s: data %r" % (what, it.get("data")))
    at = [it["occurred_at"] for it in items]
    eq(at, sorted(at, reverse=True), "%s: newest first" % what)
    eq(len(set(ids(items))), len(items), "%s: item ids distinct" % what)


def _find(items, typ, rid, what, changed=None):
    """Index of the first item of type typ about rid (and, when changed, whose changes has that field)."""
    for i, it in enumerate(items):
        if it.get("type") == typ and it.get("resource_id") == rid:
            if changed is None or changed in (it.get("changes") or {}):
                return i
    raise AssertionError("%s: no %s item for %s%s; types: %s" % (
        what, typ, rid, " changing %s" % changed if changed else "", [(x.get("type"), x.get("resource_id")) for x in items]))


def _order(idx, what):
    """idx: indexes of events written oldest..newest; the list shows them newest first."""
    eq(idx, sorted(idx, reverse=True), "%s: positions of the events (newest first)" % what)


def _paged_equals_whole(kind, rid, what):
    whole = _timeline(kind, rid)
    one = _timeline(kind, rid, limit=1)
    eq(ids(one), ids(whole), "%s walked with limit=1 (each item once, same order)" % what)
    j = expect(A.get("/v1/%s/%s/timeline" % (kind, rid), params={"limit": 1}), 200)
    eq(len(j["data"]), 1, "%s first page with limit=1" % what)
    ok(isinstance(j.get("next_cursor"), str), "%s next_cursor with limit=1: %r" % (what, j.get("next_cursor")))


def test_lead_timeline():
    lead = A.create("/v1/leads", {"name": "Tim Line", "email": "tim@timeline.test"})
    other = A.create("/v1/leads", {"name": "Other Line"})
    time.sleep(GAP)
    expect(A.patch("/v1/leads/" + lead["id"], {"name": "Tim Lined"}), 200)
    time.sleep(GAP)
    task = A.create("/v1/tasks", {"title": "Call Tim", "related_resource_type": "lead", "related_resource_id": lead["id"]})
    time.sleep(GAP)
    act = expect(A.post("/v1/leads/%s/activities" % lead["id"], {"type": "call", "summary": "Called Tim"}), 201)["data"]
    time.sleep(GAP)
    expect(A.patch("/v1/tasks/" + task["id"], {"status": "completed"}), 200)
    expect(A.patch("/v1/leads/" + other["id"], {"name": "Other Lined"}), 200)
    items = _timeline("leads", lead["id"])
    what = "lead timeline"
    _check_items(items, what)
    c = _find(items, "lead.created", lead["id"], what)
    eq(items[c].get("resource_type"), "leads", "lead.created resource_type")
    u = _find(items, "lead.updated", lead["id"], what, changed="name")
    eq(items[u]["changes"]["name"], {"from": "Tim Line", "to": "Tim Lined"}, "lead.updated changes.name")
    eq(items[u]["data"].get("name"), "Tim Lined", "lead.updated data snapshot name")
    tc = _find(items, "task.created", task["id"], what)
    eq(items[tc].get("resource_type"), "tasks", "task.created resource_type")
    ac = _find(items, "activity.created", act["id"], what)
    eq(items[ac].get("resource_type"), "activities", "activity.created resource_type")
    tu = _find(items, "task.updated", task["id"], what, changed="status")
    eq(items[tu]["changes"]["status"], {"from": "open", "to": "completed"}, "task.updated changes.status")
    _order([c, u, tc, ac, tu], what)
    ok(other["id"] not in [it.get("resource_id") for it in items], "another lead's events in the lead timeline")
    _paged_equals_whole("leads", lead["id"], what)


def test_lead_timeline_stage_and_convert():
    lead = A.create("/v1/leads", {"name": "Conv Line", "email": "conv.line@timeline.test"})
    time.sleep(GAP)
    expect(A.patch("/v1/leads/%s/stage" % lead["id"], {"stage": "demo"}), 200)
    time.sleep(GAP)
    expect(A.post("/v1/leads/%s/convert" % lead["id"], {}), 200)
    items = _timeline("leads", lead["id"])
    _check_items(items, "converted lead timeline")
    cv = _find(items, "lead.converted", lead["id"], "converted lead timeline")
    st = [i for i, it in enumerate(items) if it.get("resource_id") == lead["id"] and (
        it.get("type") == "lead.stage_changed" or (it.get("type") == "lead.updated" and "stage" in (it.get("changes") or {})))]
    ok(st, "no stage change event in the lead timeline: %s" % [it.get("type") for it in items])
    cr = _find(items, "lead.created", lead["id"], "converted lead timeline")
    _order([cr, st[-1], cv], "converted lead timeline")


def test_deal_timeline():
    pipe = _default(A)
    st = _typed(_stages(A, pipe["id"]), "open")
    deal = A.create("/v1/deals", {"name": "Timeline Deal", "amount_cents": 100, "stage_id": st[0]["id"]})
    time.sleep(GAP)
    expect(A.patch("/v1/deals/" + deal["id"], {"amount_cents": 200}), 200)
    time.sleep(GAP)
    expect(A.post("/v1/deals/%s/move" % deal["id"], {"stage_id": st[1]["id"]}), 200)
    time.sleep(GAP)
    act = A.create("/v1/activities", {"type": "email", "summary": "Sent quote", "related_resource_type": "deal",
                                      "related_resource_id": deal["id"]})
    items = _timeline("deals", deal["id"])
    what = "deal timeline"
    _check_items(items, what)
    c = _find(items, "deal.created", deal["id"], what)
    eq(items[c].get("resource_type"), "deals", "deal.created resource_type")
    u = _find(items, "deal.updated", deal["id"], what, changed="amount_cents")
    eq(items[u]["changes"]["amount_cents"], {"from": 100, "to": 200}, "deal.updated changes.amount_cents")
    mv = [i for i, it in enumerate(items) if it.get("resource_id") == deal["id"] and (
        it.get("type") == "deal.stage_changed" or "stage_id" in (it.get("changes") or {}))]
    ok(mv, "no stage change event in the deal timeline: %s" % [it.get("type") for it in items])
    ac = _find(items, "activity.created", act["id"], what)
    _order([c, u, mv[0], ac], what)
    _paged_equals_whole("deals", deal["id"], what)


def test_contact_timeline():
    con = A.create("/v1/contacts", {"name": "Connie Timeline", "title": "Analyst"})
    time.sleep(GAP)
    expect(A.patch("/v1/contacts/" + con["id"], {"title": "Manager"}), 200)
    time.sleep(GAP)
    task = A.create("/v1/tasks", {"title": "Follow up Connie", "related_resource_type": "contact",
                                  "related_resource_id": con["id"]})
    time.sleep(GAP)
    act = A.create("/v1/activities", {"type": "meeting", "summary": "Met Connie", "related_resource_type": "contact",
                                      "related_resource_id": con["id"]})
    items = _timeline("contacts", con["id"])
    what = "contact timeline"
    _check_items(items, what)
    c = _find(items, "contact.created", con["id"], what)
    eq(items[c].get("resource_type"), "contacts", "contact.created resource_type")
    u = _find(items, "contact.updated", con["id"], what, changed="title")
    eq(items[u]["changes"]["title"], {"from": "Analyst", "to": "Manager"}, "contact.updated changes.title")
    tc = _find(items, "task.created", task["id"], what)
    ac = _find(items, "activity.created", act["id"], what)
    _order([c, u, tc, ac], what)
    eq(len(items), 4, "contact timeline length")
    _paged_equals_whole("contacts", con["id"], what)


def test_company_timeline():
    com = A.create("/v1/companies", {"name": "Timeline Co", "industry": "Retail"})
    time.sleep(GAP)
    expect(A.patch("/v1/companies/" + com["id"], {"industry": "Wholesale"}), 200)
    time.sleep(GAP)
    act = A.create("/v1/activities", {"type": "note", "summary": "Company note", "related_resource_type": "company",
                                      "related_resource_id": com["id"]})
    time.sleep(GAP)
    task = A.create("/v1/tasks", {"title": "Company task", "related_resource_type": "company",
                                  "related_resource_id": com["id"]})
    time.sleep(GAP)
    expect(A.patch("/v1/activities/" + act["id"], {"summary": "Company note, edited"}), 200)
    items = _timeline("companies", com["id"])
    what = "company timeline"
    _check_items(items, what)
    c = _find(items, "company.created", com["id"], what)
    eq(items[c].get("resource_type"), "companies", "company.created resource_type")
    u = _find(items, "company.updated", com["id"], what, changed="industry")
    eq(items[u]["changes"]["industry"], {"from": "Retail", "to": "Wholesale"}, "company.updated changes.industry")
    ac = _find(items, "activity.created", act["id"], what)
    tc = _find(items, "task.created", task["id"], what)
    au = _find(items, "activity.updated", act["id"], what, changed="summary")
    _order([c, u, ac, tc, au], what)
    _paged_equals_whole("companies", com["id"], what)


def test_timeline_of_other_workspace_or_unknown_is_404():
    for kind, rec in (("leads", BLEAD), ("deals", BDEAL), ("contacts", BCON), ("companies", BCOM)):
        expect(A.get("/v1/%s/%s/timeline" % (kind, rec["id"])), 404, "not_found")
        ok(len(_timeline(kind, rec["id"], c=B)) >= 1, "B's own %s timeline is empty" % kind)
    for kind, prefix in (("leads", "lead_"), ("deals", "deal_"), ("contacts", "con_"), ("companies", "com_")):
        expect(A.get("/v1/%s/%s00000000000000000000000000/timeline" % (kind, prefix)), 404, "not_found")


def test_timeline_bad_params():
    con = A.create("/v1/contacts", {"name": "Param Timeline"})
    path = "/v1/contacts/%s/timeline" % con["id"]
    expect(A.get(path, params={"limit": "0"}), 400, "validation_failed", "limit")
    expect(A.get(path, params={"limit": "101"}), 400, "validation_failed", "limit")
    expect(A.get(path, params={"cursor": "garbage"}), 400, "invalid_cursor", "cursor")


# ------------------------------------------------------------ merge contacts

def _mem(cid):
    return "/v1/contacts/%s/company-memberships" % cid


def test_merge_contacts():
    co = A.create("/v1/companies", {"name": "Merge Member Co"})
    surv = A.create("/v1/contacts", {"name": "Sur Vivor", "email": "survivor@merge.test", "title": "CEO"})
    dup = A.create("/v1/contacts", {"name": "Dup Licate", "email": "dup@merge.test", "phone": "+1 555 0123",
                                    "title": "CFO", "city": "Oslo"})
    m = expect(A.post(_mem(dup["id"]), {"company_id": co["id"], "role": "Owner"}), 201)["data"]
    task = A.create("/v1/tasks", {"title": "Dup task", "related_resource_type": "contact", "related_resource_id": dup["id"]})
    act = A.create("/v1/activities", {"type": "note", "summary": "Dup note", "related_resource_type": "contact",
                                      "related_resource_id": dup["id"]})
    deal = A.create("/v1/deals", {"name": "Dup Deal", "contact_id": dup["id"]})
    lead = A.create("/v1/leads", {"name": "Dup Lead", "contact_id": dup["id"]})
    n = count(A, "/v1/contacts")
    r = expect(A.post("/v1/contacts/%s/merge" % surv["id"], {"from_ids": [dup["id"]]}), 200)["data"]
    eq(r.get("id"), surv["id"], "merge answers the survivor")
    eq((r.get("name"), r.get("email"), r.get("title")), ("Sur Vivor", "survivor@merge.test", "CEO"),
       "survivor's own fields kept (name, email, title)")
    eq((r.get("phone"), r.get("city")), ("+1 555 0123", "Oslo"), "survivor's empty fields filled (phone, city)")
    eq(expect(A.get("/v1/contacts/" + surv["id"]), 200)["data"], r, "GET survivor after merge")
    eq(count(A, "/v1/contacts"), n - 1, "contact count after merge")
    mems = list_all(A, _mem(surv["id"]))
    eq([(x.get("company_id"), x.get("role")) for x in mems], [(co["id"], "Owner")], "survivor memberships")
    t = expect(A.get("/v1/tasks/" + task["id"]), 200)["data"]
    eq((t.get("related_resource_type"), t.get("related_resource_id")), ("contact", surv["id"]), "task re-pointed")
    a = expect(A.get("/v1/activities/" + act["id"]), 200)["data"]
    eq(a.get("related_resource_id"), surv["id"], "activity re-pointed")
    eq(expect(A.get("/v1/deals/" + deal["id"]), 200)["data"].get("contact_id"), surv["id"], "deal re-pointed")
    eq(expect(A.get("/v1/leads/" + lead["id"]), 200)["data"].get("contact_id"), surv["id"], "lead re-pointed")
    g = A.get("/v1/contacts/" + dup["id"])
    expect(g, 404, "not_found", message_has=(surv["id"],))
    eq(g.error.get("merged_into"), surv["id"], "error.merged_into of the merged contact")
    ok(dup["id"] not in ids(list_all(A, "/v1/contacts")), "merged contact still listed")
    # the same merge again: 200, nothing changes
    time.sleep(GAP)
    r2 = expect(A.post("/v1/contacts/%s/merge" % surv["id"], {"from_ids": [dup["id"]]}), 200)["data"]
    eq(r2, r, "survivor after repeating the merge")
    eq(expect(A.get("/v1/contacts/" + surv["id"]), 200)["data"], r, "GET survivor after repeating the merge")
    eq(count(A, "/v1/contacts"), n - 1, "contact count after repeating the merge")


def test_merge_several_contacts_first_filled_wins_nothing_lost():
    surv = A.create("/v1/contacts", {"name": "Multi Survivor"})
    d1 = A.create("/v1/contacts", {"name": "Multi One", "phone": "111"})
    d2 = A.create("/v1/contacts", {"name": "Multi Two", "country": "NO"})
    r = expect(A.post("/v1/contacts/%s/merge" % surv["id"], {"from_ids": [d1["id"], d2["id"]]}), 200)["data"]
    eq((r.get("name"), r.get("phone"), r.get("country")), ("Multi Survivor", "111", "NO"), "survivor after merging two")
    for d in (d1, d2):
        g = A.get("/v1/contacts/" + d["id"])
        expect(g, 404, "not_found")
        eq(g.error.get("merged_into"), surv["id"], "merged_into of %s" % d["id"])


MERGE_CONTACT_ERRORS = [
    # label, body (tokens substituted), status, code, param
    ("into_itself", {"from_ids": ["SURV"]}, 400, "validation_failed", "from_ids"),
    ("empty_list", {"from_ids": []}, 400, "validation_failed", "from_ids"),
    ("missing", {}, 400, "validation_failed", "from_ids"),
    ("not_a_list", {"from_ids": "DUP"}, 400, "validation_failed", "from_ids"),
    ("twenty_one", {"from_ids": "21"}, 400, "validation_failed", "from_ids"),
    ("other_workspace", {"from_ids": ["BCON"]}, 404, "not_found", "from_ids"),
    ("unknown_id", {"from_ids": ["con_00000000000000000000000000"]}, 404, "not_found", "from_ids"),
    ("one_bad_among_good", {"from_ids": ["DUP", "con_00000000000000000000000000"]}, 404, "not_found", "from_ids"),
    ("company_id_given", {"from_ids": ["COMPANY"]}, 404, "not_found", "from_ids"),
    ("unknown_field", {"from_ids": ["DUP"], "strategy": "x"}, 400, "validation_failed", "strategy"),
]


def _make_merge_contact_error(label, body, status, code, param):
    def t():
        surv = A.create("/v1/contacts", {"name": "Err Survivor " + label})
        dup = A.create("/v1/contacts", {"name": "Err Dup " + label, "phone": "999"})
        com = A.create("/v1/companies", {"name": "Err Co " + label})
        m = {"SURV": surv["id"], "DUP": dup["id"], "BCON": BCON["id"], "COMPANY": com["id"]}
        fi = body.get("from_ids")
        b = dict(body)
        if fi == "21":
            b["from_ids"] = [dup["id"]] + ["con_%026d" % i for i in range(20)]
        elif isinstance(fi, list):
            b["from_ids"] = [m.get(x, x) for x in fi]
        elif isinstance(fi, str):
            b["from_ids"] = m.get(fi, fi)
        n = count(A, "/v1/contacts")
        expect(A.post("/v1/contacts/%s/merge" % surv["id"], b), status, code, param)
        eq(expect(A.get("/v1/contacts/" + surv["id"]), 200)["data"], surv, "survivor after rejected merge (%s)" % label)
        eq(expect(A.get("/v1/contacts/" + dup["id"]), 200)["data"], dup, "other contact after rejected merge (%s)" % label)
        eq(count(A, "/v1/contacts"), n, "contact count after rejected merge (%s)" % label)
        eq(expect(B.get("/v1/contacts/" + BCON["id"]), 200)["data"], BCON, "B's contact after rejected merge (%s)" % label)
    return t


for _c in MERGE_CONTACT_ERRORS:
    globals()["test_merge_contacts_invalid_" + _c[0]] = _make_merge_contact_error(*_c)


def test_merge_into_other_workspace_or_unknown_survivor_is_404():
    dup = A.create("/v1/contacts", {"name": "Orphan Dup"})
    expect(A.post("/v1/contacts/%s/merge" % BCON["id"], {"from_ids": [dup["id"]]}), 404, "not_found")
    expect(A.post("/v1/contacts/con_00000000000000000000000000/merge", {"from_ids": [dup["id"]]}), 404, "not_found")
    eq(expect(A.get("/v1/contacts/" + dup["id"]), 200)["data"], dup, "contact after rejected merges")
    eq(expect(B.get("/v1/contacts/" + BCON["id"]), 200)["data"], BCON, "B's contact after rejected merges")


# ------------------------------------------------------------ merge companies

def test_merge_companies():
    surv = A.create("/v1/companies", {"name": "Merge Survivor Co"})
    dup = A.create("/v1/companies", {"name": "Merge Dup Co", "domain": "merge-dup.test", "industry": "Retail"})
    con = A.create("/v1/contacts", {"name": "Works At Dup", "company_id": dup["id"]})
    other = A.create("/v1/contacts", {"name": "Member Of Dup"})
    expect(A.post(_mem(other["id"]), {"company_id": dup["id"], "role": "Advisor"}), 201)
    deal = A.create("/v1/deals", {"name": "Dup Co Deal", "company_id": dup["id"]})
    lead = A.create("/v1/leads", {"name": "Dup Co Lead", "company_id": dup["id"]})
    task = A.create("/v1/tasks", {"title": "Dup Co task", "related_resource_type": "company", "related_resource_id": dup["id"]})
    n = count(A, "/v1/companies")
    r = expect(A.post("/v1/companies/%s/merge" % surv["id"], {"from_ids": [dup["id"]]}), 200)["data"]
    eq((r.get("id"), r.get("name")), (surv["id"], "Merge Survivor Co"), "survivor (id, name)")
    eq((r.get("domain"), r.get("industry")), ("merge-dup.test", "Retail"), "survivor's empty fields filled")
    eq(expect(A.get("/v1/companies/" + surv["id"]), 200)["data"], r, "GET survivor")
    eq(count(A, "/v1/companies"), n - 1, "company count after merge")
    eq(expect(A.get("/v1/contacts/" + con["id"]), 200)["data"].get("company_id"), surv["id"], "contact.company_id re-pointed")
    eq([x.get("company_id") for x in list_all(A, _mem(other["id"]))], [surv["id"]], "membership re-pointed")
    eq(expect(A.get("/v1/deals/" + deal["id"]), 200)["data"].get("company_id"), surv["id"], "deal re-pointed")
    eq(expect(A.get("/v1/leads/" + lead["id"]), 200)["data"].get("company_id"), surv["id"], "lead re-pointed")
    eq(expect(A.get("/v1/tasks/" + task["id"]), 200)["data"].get("related_resource_id"), surv["id"], "task re-pointed")
    g = A.get("/v1/companies/" + dup["id"])
    expect(g, 404, "not_found", message_has=(surv["id"],))
    eq(g.error.get("merged_into"), surv["id"], "error.merged_into of the merged company")
    view = ids(list_all(A, "/v1/companies/%s/contacts" % surv["id"]))
    eq(sorted(view), sorted([con["id"], other["id"]]), "survivor's contacts view")
    r2 = expect(A.post("/v1/companies/%s/merge" % surv["id"], {"from_ids": [dup["id"]]}), 200)["data"]
    eq(r2, r, "survivor after repeating the merge")


def test_merge_companies_renames_their_contacts_company_name():
    keep = A.create("/v1/companies", {"name": "Keeper Co"})
    away = A.create("/v1/companies", {"name": "Away Co"})
    ck = A.create("/v1/contacts", {"name": "Keeper Person", "company_id": keep["id"]})
    ca = A.create("/v1/contacts", {"name": "Away Person", "company_id": away["id"]})
    eq(ca["company_name"], "Away Co", "company_name filled from the company")
    expect(A.post("/v1/companies/%s/merge" % keep["id"], {"from_ids": [away["id"]]}), 200)
    got = expect(A.get("/v1/contacts/" + ca["id"]), 200)["data"]
    eq((got["company_id"], got["company_name"]), (keep["id"], "Keeper Co"), "moved contact's company")
    expect(A.patch("/v1/companies/" + keep["id"], {"name": "Keeper Renamed"}), 200)
    for c in (ck, ca):
        eq(expect(A.get("/v1/contacts/" + c["id"]), 200)["data"]["company_name"], "Keeper Renamed",
           "company_name after the company's rename")


def test_merge_contacts_leaves_one_primary_membership():
    c1 = A.create("/v1/companies", {"name": "Primary One"})
    c2 = A.create("/v1/companies", {"name": "Primary Two"})
    keep = A.create("/v1/contacts", {"name": "Prim Keep"})
    away = A.create("/v1/contacts", {"name": "Prim Away"})
    A.create("/v1/contacts/%s/company-memberships" % keep["id"], {"company_id": c1["id"], "is_primary": True})
    A.create("/v1/contacts/%s/company-memberships" % away["id"], {"company_id": c2["id"], "is_primary": True})
    expect(A.post("/v1/contacts/%s/merge" % keep["id"], {"from_ids": [away["id"]]}), 200)
    ms = list_all(A, "/v1/contacts/%s/company-memberships" % keep["id"])
    eq(sorted(m["company_id"] for m in ms), sorted([c1["id"], c2["id"]]), "both memberships on the survivor")
    eq([m["company_id"] for m in ms if m["is_primary"]], [c1["id"]], "the survivor's primary stays the only one")
    eq(expect(A.get("/v1/contacts/" + keep["id"]), 200)["data"]["company_id"], c1["id"], "survivor's company")


def test_merge_companies_errors():
    surv = A.create("/v1/companies", {"name": "Err Co Survivor"})
    n = count(A, "/v1/companies")
    expect(A.post("/v1/companies/%s/merge" % surv["id"], {"from_ids": [surv["id"]]}), 400, "validation_failed", "from_ids")
    expect(A.post("/v1/companies/%s/merge" % surv["id"], {"from_ids": [BCOM["id"]]}), 404, "not_found", "from_ids")
    expect(A.post("/v1/companies/%s/merge" % BCOM["id"], {"from_ids": [surv["id"]]}), 404, "not_found")
    expect(A.post("/v1/companies/%s/merge" % surv["id"], {"from_ids": []}), 400, "validation_failed", "from_ids")
    eq(expect(A.get("/v1/companies/" + surv["id"]), 200)["data"], surv, "survivor after rejected merges")
    eq(count(A, "/v1/companies"), n, "company count after rejected merges")
    eq(expect(B.get("/v1/companies/" + BCOM["id"]), 200)["data"], BCOM, "B's company after rejected merges")


# ------------------------------------------------------------ batch

def _batch(path, ops, c=None):
    return (c or A).post(path + "/batch", {"operations": ops})


def _results(j, n, what):
    b = j["data"]
    eq(b.get("object"), "batch", "%s: object" % what)
    rs = b.get("results") or []
    eq([x.get("index") for x in rs], list(range(n)), "%s: result indexes" % what)
    return b, rs


def test_batch_contacts_mixed():
    keep = A.create("/v1/contacts", {"name": "Batch Keep", "email": "batch.keep@batch.test"})
    upd = A.create("/v1/contacts", {"name": "Batch Existing"})
    n = count(A, "/v1/contacts")
    ops = [
        {"action": "create", "data": {"name": "Batch One", "email": "batch.one@batch.test"}},
        {"action": "create", "data": {"name": "Batch Zanzibar", "bogus": 1}},
        {"action": "create", "data": {"name": "Batch Two"}},
        {"action": "update", "id": upd["id"], "data": {"title": "Updated By Batch"}},
        {"action": "update", "id": keep["id"], "data": {"email": "not-an-email"}},
        {"action": "update", "id": "con_00000000000000000000000000", "data": {"title": "x"}},
    ]
    b, rs = _results(expect(_batch("/v1/contacts", ops), 200), len(ops), "contacts batch")
    eq([x.get("status") for x in rs], [201, 400, 201, 200, 400, 404], "contacts batch statuses")
    eq((b.get("succeeded"), b.get("failed")), (3, 3), "contacts batch (succeeded, failed)")
    eq((rs[1]["error"].get("code"), rs[1]["error"].get("param")), ("validation_failed", "bogus"), "item 1 error")
    eq((rs[4]["error"].get("code"), rs[4]["error"].get("param")), ("validation_failed", "email"), "item 4 error")
    eq(rs[5]["error"].get("code"), "not_found", "item 5 error code")
    for i in (0, 2):
        d = rs[i]["data"]
        eq(expect(A.get("/v1/contacts/" + d["id"]), 200)["data"], d, "GET of batch-created contact %d" % i)
    eq(rs[0]["data"].get("email"), "batch.one@batch.test", "item 0 data.email")
    eq(rs[3]["data"].get("title"), "Updated By Batch", "item 3 data.title")
    eq(expect(A.get("/v1/contacts/" + upd["id"]), 200)["data"].get("title"), "Updated By Batch", "updated contact title")
    eq(expect(A.get("/v1/contacts/" + keep["id"]), 200)["data"], keep, "contact whose batch update failed")
    eq(count(A, "/v1/contacts"), n + 2, "contact count after batch")
    eq(count(A, "/v1/contacts", {"query": "Zanzibar"}), 0, "contacts from the failed create")


def test_batch_contacts_upsert():
    ops = [{"action": "upsert", "upsert_on": "email", "data": {"email": "Batch.Up@batch.test", "name": "Batch Up"}}]
    _, rs = _results(expect(_batch("/v1/contacts", ops), 200), 1, "upsert batch 1")
    eq(rs[0].get("status"), 201, "first upsert status")
    first = rs[0]["data"]
    n = count(A, "/v1/contacts")
    ops = [{"action": "upsert", "upsert_on": "email", "data": {"email": "batch.up@BATCH.test", "title": "Upserted"}},
           {"action": "upsert", "upsert_on": "email", "data": {"name": "No Email Batch"}},
           {"action": "upsert", "upsert_on": "phone", "data": {"name": "Phone Batch", "phone": "1"}}]
    b, rs = _results(expect(_batch("/v1/contacts", ops), 200), 3, "upsert batch 2")
    eq([x.get("status") for x in rs], [200, 400, 400], "upsert batch statuses")
    eq((rs[0]["data"].get("id"), rs[0]["data"].get("title"), rs[0]["data"].get("name")),
       (first["id"], "Upserted", "Batch Up"), "upserted contact (id, title, name)")
    eq([rs[1]["error"].get("param"), rs[2]["error"].get("param")], ["upsert_on", "upsert_on"], "upsert error params")
    eq((b.get("succeeded"), b.get("failed")), (1, 2), "(succeeded, failed)")
    eq(count(A, "/v1/contacts"), n, "contact count after upsert batch")


def test_batch_companies_upsert_on_domain():
    ops = [{"action": "upsert", "upsert_on": "domain", "data": {"name": "Batch Dom", "domain": "batch-dom.test"}},
           {"action": "create", "data": {"name": "Batch Co Plain"}}]
    _, rs = _results(expect(_batch("/v1/companies", ops), 200), 2, "companies batch")
    eq([x.get("status") for x in rs], [201, 201], "companies batch statuses")
    ops = [{"action": "upsert", "upsert_on": "domain", "data": {"domain": "BATCH-DOM.test", "industry": "Batching"}}]
    _, rs2 = _results(expect(_batch("/v1/companies", ops), 200), 1, "companies upsert")
    eq((rs2[0].get("status"), rs2[0]["data"].get("id"), rs2[0]["data"].get("industry")),
       (200, rs[0]["data"]["id"], "Batching"), "company upsert (status, id, industry)")


def test_batch_leads_deals_tasks_activities_pipelines():
    n = count(A, "/v1/leads")
    lead = A.create("/v1/leads", {"name": "Batch Lead Existing"})
    ops = [{"action": "create", "data": {"name": "Batch Lead", "source": "import"}},
           {"action": "create", "data": {"name": "Batch Lead Bad", "status": "hot"}},
           {"action": "update", "id": lead["id"], "data": {"status": "qualified"}},
           {"action": "upsert", "upsert_on": "email", "data": {"email": "batch.lead@batch.test", "name": "Batch Lead Up"}}]
    b, rs = _results(expect(_batch("/v1/leads", ops), 200), 4, "leads batch")
    eq([x.get("status") for x in rs], [201, 400, 200, 201], "leads batch statuses")
    eq(rs[1]["error"].get("param"), "status", "leads batch item 1 param")
    eq(count(A, "/v1/leads"), n + 3, "lead count after batch")
    eq(expect(A.get("/v1/leads/" + lead["id"]), 200)["data"].get("status"), "qualified", "batch-updated lead status")

    nd = count(A, "/v1/deals")
    ops = [{"action": "create", "data": {"name": "Batch Deal", "amount_cents": 5}},
           {"action": "create", "data": {"name": "Batch Deal Bad", "stage": "no-such-stage"}}]
    b, rs = _results(expect(_batch("/v1/deals", ops), 200), 2, "deals batch")
    eq([x.get("status") for x in rs], [201, 400], "deals batch statuses")
    eq(rs[1]["error"].get("param"), "stage", "deals batch item 1 param")
    eq(count(A, "/v1/deals"), nd + 1, "deal count after batch")

    nt = count(A, "/v1/tasks")
    ops = [{"action": "create", "data": {"title": "Batch Task"}}, {"action": "create", "data": {"priority": "low"}}]
    b, rs = _results(expect(_batch("/v1/tasks", ops), 200), 2, "tasks batch")
    eq([x.get("status") for x in rs], [201, 400], "tasks batch statuses")
    eq(rs[1]["error"].get("param"), "title", "tasks batch item 1 param")
    eq(count(A, "/v1/tasks"), nt + 1, "task count after batch")

    na = count(A, "/v1/activities")
    ops = [{"action": "create", "data": {"type": "note", "summary": "Batch note"}},
           {"action": "create", "data": {"type": "fax", "summary": "Batch fax"}}]
    b, rs = _results(expect(_batch("/v1/activities", ops), 200), 2, "activities batch")
    eq([x.get("status") for x in rs], [201, 400], "activities batch statuses")
    eq(rs[1]["error"].get("param"), "type", "activities batch item 1 param")
    eq(count(A, "/v1/activities"), na + 1, "activity count after batch")

    np_ = count(A, "/v1/pipelines")
    ops = [{"action": "create", "data": {"name": "Batch Pipeline"}}, {"action": "create", "data": {}}]
    b, rs = _results(expect(_batch("/v1/pipelines", ops), 200), 2, "pipelines batch")
    eq([x.get("status") for x in rs], [201, 400], "pipelines batch statuses")
    eq(count(A, "/v1/pipelines"), np_ + 1, "pipeline count after batch")
    eq(len(_stages(A, rs[0]["data"]["id"])), 5, "stages seeded for a batch-created pipeline")


BATCH_ERRORS = [
    # label, body
    ("101_operations", {"operations": [{"action": "create", "data": {"name": "Too Many %d" % i}} for i in range(101)]}),
    ("empty_operations", {"operations": []}),
    ("missing_operations", {}),
    ("operations_not_list", {"operations": {"action": "create", "data": {"name": "Obj"}}}),
]


def _make_batch_error(label, body):
    def t():
        n = count(A, "/v1/contacts")
        expect(A.post("/v1/contacts/batch", body), 400, "validation_failed", "operations")
        eq(count(A, "/v1/contacts"), n, "contact count after rejected batch (%s)" % label)
    return t


for _c in BATCH_ERRORS:
    globals()["test_batch_invalid_" + _c[0]] = _make_batch_error(*_c)


def test_batch_100_operations_is_fine():
    n = count(A, "/v1/contacts")
    ops = [{"action": "create", "data": {"name": "Hundred %d" % i}} for i in range(100)]
    b, rs = _results(expect(_batch("/v1/contacts", ops), 200), 100, "100-op batch")
    eq((b.get("succeeded"), b.get("failed")), (100, 0), "(succeeded, failed)")
    eq(count(A, "/v1/contacts"), n + 100, "contact count after 100-op batch")


def test_batch_update_of_other_workspace_record_is_404_item():
    ops = [{"action": "update", "id": BCON["id"], "data": {"name": "Hijacked"}}]
    _, rs = _results(expect(_batch("/v1/contacts", ops), 200), 1, "cross-workspace batch")
    eq((rs[0].get("status"), rs[0]["error"].get("code")), (404, "not_found"), "cross-workspace update item")
    eq(expect(B.get("/v1/contacts/" + BCON["id"]), 200)["data"], BCON, "B's contact after A's batch")


# ------------------------------------------------------------ dashboard

def test_dashboard_counts():
    pipe = _default(DASH)
    st = _stages(DASH, pipe["id"])
    op = _typed(st, "open")
    won, lost = _typed(st, "won")[0], _typed(st, "lost")[0]
    s0, s1 = op[0], op[1]
    for name, stage, cur, amt in [("D1", s0, "USD", 100), ("D2", s0, "USD", 250), ("D3", s0, "EUR", 999),
                                  ("D4", s1, "USD", 500)]:
        DASH.create("/v1/deals", {"name": name, "stage_id": stage["id"], "currency": cur, "amount_cents": amt})
    w = DASH.create("/v1/deals", {"name": "W", "stage_id": s0["id"], "currency": "USD", "amount_cents": 7000})
    lo = DASH.create("/v1/deals", {"name": "L", "stage_id": s1["id"], "currency": "USD", "amount_cents": 300})
    expect(DASH.post("/v1/deals/%s/move" % w["id"], {"stage_id": won["id"]}), 200)
    expect(DASH.post("/v1/deals/%s/move" % lo["id"], {"stage_id": lost["id"]}), 200)
    past, future = "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z"
    for title, status, due in [("T1", "open", past), ("T2", "open", future), ("T3", "completed", past),
                               ("T4", "canceled", past), ("T5", "open", None)]:
        body = {"title": title, "status": status}
        if due:
            body["due_at"] = due
        DASH.create("/v1/tasks", body)
    for body in [{"name": "L1"}, {"name": "L2", "status": "working", "source": "website"},
                 {"name": "L3", "source": "referral"}, {"name": "L4", "status": "disqualified", "source": "website"}]:
        DASH.create("/v1/leads", body)

    d = expect(DASH.get("/v1/dashboard"), 200)["data"]
    eq(d.get("object"), "dashboard", "dashboard object")
    ok(TIME_RE.match(str(d.get("generated_at"))), "generated_at %r" % d.get("generated_at"))
    got = {}
    for e in d.get("open_pipeline") or []:
        if e.get("deal_count"):
            got[(e.get("stage_id"), e.get("currency"))] = (e.get("pipeline_id"), e.get("stage_name"), e.get("deal_count"),
                                                           e.get("amount_cents"))
    want = {(s0["id"], "USD"): (pipe["id"], s0["name"], 2, 350), (s0["id"], "EUR"): (pipe["id"], s0["name"], 1, 999),
            (s1["id"], "USD"): (pipe["id"], s1["name"], 1, 500)}
    eq(got, want, "open_pipeline entries with deals (by stage and currency)")
    for e in d.get("open_pipeline") or []:
        ok(e.get("stage_id") not in (won["id"], lost["id"]), "open_pipeline lists a closed stage: %s" % e)
    wr = d.get("win_rate_90d") or {}
    eq((wr.get("won"), wr.get("lost")), (1, 1), "win_rate_90d (won, lost)")
    ok(isinstance(wr.get("rate"), (int, float)) and abs(wr["rate"] - 0.5) < 1e-9, "win_rate_90d.rate %r" % wr.get("rate"))
    eq(d.get("this_month"), {"won": 1, "lost": 1}, "this_month")
    eq(d.get("tasks"), {"open": 3, "overdue": 1}, "tasks (open, overdue)")
    leads = d.get("leads") or {}
    eq(_nonzero(leads.get("by_status")), {"new": 2, "working": 1, "disqualified": 1}, "leads.by_status (non-zero)")
    eq(_nonzero(leads.get("by_source")), {"api": 1, "website": 2, "referral": 1}, "leads.by_source (non-zero)")


def _nonzero(m):
    return {k: v for k, v in (m or {}).items() if v}


def test_dashboard_reflects_a_reopened_deal():
    pipe = _default(FLIP)
    st = _stages(FLIP, pipe["id"])
    op, won = _typed(st, "open"), _typed(st, "won")[0]
    deal = FLIP.create("/v1/deals", {"name": "Flip", "stage_id": op[0]["id"], "currency": "USD", "amount_cents": 40})
    expect(FLIP.post("/v1/deals/%s/move" % deal["id"], {"stage_id": won["id"]}), 200)
    d = expect(FLIP.get("/v1/dashboard"), 200)["data"]
    eq(((d.get("win_rate_90d") or {}).get("won"), d.get("this_month")), (1, {"won": 1, "lost": 0}), "after winning")
    ok(abs(d["win_rate_90d"]["rate"] - 1.0) < 1e-9, "rate after one win: %r" % d["win_rate_90d"].get("rate"))
    expect(FLIP.post("/v1/deals/%s/move" % deal["id"], {"stage_id": op[0]["id"]}), 200)
    d = expect(FLIP.get("/v1/dashboard"), 200)["data"]
    eq(d.get("win_rate_90d"), {"won": 0, "lost": 0, "rate": None}, "win_rate_90d after reopening")
    eq(d.get("this_month"), {"won": 0, "lost": 0}, "this_month after reopening")
    open_ = [(e.get("stage_id"), e.get("currency"), e.get("deal_count"), e.get("amount_cents"))
             for e in d.get("open_pipeline") or [] if e.get("deal_count")]
    eq(open_, [(op[0]["id"], "USD", 1, 40)], "open_pipeline after reopening")


def test_dashboard_empty_workspace():
    fresh = S.key("tl-dashboard-fresh")
    d = expect(fresh.get("/v1/dashboard"), 200)["data"]
    eq([e for e in d.get("open_pipeline") or [] if e.get("deal_count")], [], "open_pipeline with deals")
    eq(d.get("win_rate_90d"), {"won": 0, "lost": 0, "rate": None}, "win_rate_90d")
    eq(d.get("this_month"), {"won": 0, "lost": 0}, "this_month")
    eq(d.get("tasks"), {"open": 0, "overdue": 0}, "tasks")
    leads = d.get("leads") or {}
    eq([v for v in (leads.get("by_status") or {}).values() if v], [], "leads.by_status non-zero values")
    eq([v for v in (leads.get("by_source") or {}).values() if v], [], "leads.by_source non-zero values")


def test_dashboard_needs_crm_read():
    k = S.key("tl-dashboard", "tasks:read")
    expect(k.get("/v1/dashboard"), 403, "forbidden", message_has=("crm:read",))
    expect(DASH.get("/v1/dashboard", params={"foo": "1"}), 400, "validation_failed", "foo")
