"""Members and the outbound-operations family (issue 13's data model):
/v1/members (module crm; every owner_id and assignee_id names one),
/v1/outbound/script-templates, qualification-templates, campaigns, their
contacts, call logs, script executions and qualifications (module
outbound; scopes crm:read/crm:write). Every refused write is checked to
change nothing: wrong types, missing fields, huge values, another
workspace's ids, duplicates, a read-only key, a disabled module, dry runs."""

from harness import Server, count, eq, expect, ids, list_all, ok, uniq

S = A = B = RO = None

ALL_MODULES = ["crm", "tasks", "activity_log", "support", "cms", "assets", "integrations", "analytics_governance",
               "billing", "accounting", "knowledge", "marketing", "bi", "outbound", "calendar"]


def setup_module():
    global S, A, B, RO
    S = Server(name="outbound")
    A = S.key("outbound-a")
    B = S.key("outbound-b")
    RO = S.key("outbound-a", "crm:read")
    S.start()


def teardown_module():
    S.stop_ok()


def _unchanged(path, before, client=None):
    eq(expect((client or A).get(path), 200)["data"], before, "%s after a refused write" % path)


def _refused(client, method, path, body, status, code, param, what):
    r = expect(client.request(method, path, body=body), status, code)
    eq(r["error"].get("param"), param, "%s: param" % what)
    return r


# ---------------------------------------------------------------- members

def test_member_create_defaults_and_get():
    m = A.create("/v1/members", {"name": "Ada Agent", "email": "ada@outbound.test", "role": "agent"})
    ok(m["id"].startswith("mem_"), "member id prefix: %s" % m["id"])
    eq((m["object"], m["name"], m["email"], m["role"], m["capacity"], m["status"], m["custom_fields"]),
       ("member", "Ada Agent", "ada@outbound.test", "agent", 50, "active", {}), "member and its defaults")
    eq(expect(A.get("/v1/members/" + m["id"]), 200)["data"], m, "GET the member")
    full = A.create("/v1/members", {"name": "Max Capacity", "capacity": 10000, "status": "inactive",
                                    "role": "admin", "custom_fields": {"team": "north"}})
    eq((full["capacity"], full["status"], full["role"], full["custom_fields"]),
       (10000, "inactive", "admin", {"team": "north"}), "every field given")


def test_member_filters_and_search():
    w = S.key(uniq("outbound-mf"))
    a = w.create("/v1/members", {"name": "Fil Agent", "email": "fil@f.test", "role": "agent"})
    b = w.create("/v1/members", {"name": "Fil Admin", "role": "admin", "status": "inactive"})
    c = w.create("/v1/members", {"name": "Fil Member"})
    for params, want in [({"role": "agent"}, [a]), ({"role": "admin"}, [b]), ({"status": "inactive"}, [b]),
                         ({"status": "active"}, [c, a]), ({"email": "FIL@f.test"}, [a]),
                         ({"role": "member", "status": "active"}, [c]), ({"query": "admin"}, [b])]:
        eq(ids(list_all(w, "/v1/members", params)), ids(want), "members %r" % params)
    expect(w.get("/v1/members", params={"role": "boss"}), 400, "validation_failed", "role")


MEMBER_INVALID = [
    ("name_missing", {"email": "x@y.test"}, "name"),
    ("name_null", {"name": None}, "name"),
    ("name_number", {"name": 7}, "name"),
    ("name_201", {"name": "n" * 201}, "name"),
    ("email_bad", {"name": "x", "email": "not-an-email"}, "email"),
    ("role_enum", {"name": "x", "role": "owner"}, "role"),
    ("capacity_negative", {"name": "x", "capacity": -1}, "capacity"),
    ("capacity_huge", {"name": "x", "capacity": 10001}, "capacity"),
    ("capacity_2_63", {"name": "x", "capacity": 9223372036854775807}, "capacity"),
    ("capacity_string", {"name": "x", "capacity": "50"}, "capacity"),
    ("capacity_float", {"name": "x", "capacity": 1.5}, "capacity"),
    ("status_enum", {"name": "x", "status": "archived"}, "status"),
    ("unknown_field", {"name": "x", "team": "north"}, "team"),
    ("id_given", {"name": "x", "id": "mem_1"}, "id"),
]


def _make_member_invalid(label, body, param):
    def t():
        n = count(A, "/v1/members")
        expect(A.post("/v1/members", body), 400, "validation_failed", param)
        eq(count(A, "/v1/members"), n, "members after a refused create")
    return t


for _label, _body, _param in MEMBER_INVALID:
    globals()["test_member_invalid_%s" % _label] = _make_member_invalid(_label, _body, _param)


def test_member_email_unique_whatever_its_case():
    m = A.create("/v1/members", {"name": "Uma Unique", "email": "uma@unique.test"})
    n = count(A, "/v1/members")
    for email in ("uma@unique.test", "UMA@Unique.TEST"):
        r = expect(A.post("/v1/members", {"name": "Again", "email": email}), 409, "conflict", "email")
        ok("email" in r["error"]["message"], "409 names email: %r" % r["error"]["message"])
    other = A.create("/v1/members", {"name": "Other"})
    expect(A.patch("/v1/members/" + other["id"], {"email": "Uma@unique.test"}), 409, "conflict", "email")
    eq(count(A, "/v1/members"), n + 1, "no member added by a duplicate")
    # Its own email again is no conflict; another workspace has its own.
    expect(A.patch("/v1/members/" + m["id"], {"email": "UMA@unique.test", "name": "Uma"}), 200)
    B.create("/v1/members", {"name": "Uma in B", "email": "uma@unique.test"})


def test_member_scopes_dry_run_and_module():
    n = count(A, "/v1/members")
    r = expect(RO.post("/v1/members", {"name": "Read Only"}), 403, "forbidden")
    ok("crm:write" in r["error"]["message"], "403 names crm:write: %r" % r["error"]["message"])
    d = expect(A.post("/v1/members?dry_run=true", {"name": "Dry Member"}), 200)["data"]
    eq(d["name"], "Dry Member", "dry run answers the member")
    expect(A.get("/v1/members/" + d["id"]), 404)
    eq(count(A, "/v1/members"), n, "a dry run stores nothing")
    # Members are crm's: switching outbound off leaves them.
    expect(A.patch("/v1/workspace", {"enabled_modules": [m for m in ALL_MODULES if m != "outbound"]}), 200)
    try:
        expect(A.get("/v1/members"), 200)
    finally:
        expect(A.patch("/v1/workspace", {"enabled_modules": ALL_MODULES}), 200)


OWNED = [("/v1/companies", "owner_id", {"name": "Owned Co"}),
         ("/v1/contacts", "owner_id", {"name": "Owned Person"}),
         ("/v1/leads", "owner_id", {"name": "Owned Lead"}),
         ("/v1/deals", "owner_id", {"name": "Owned Deal"}),
         ("/v1/tasks", "assignee_id", {"title": "Owned Task"}),
         ("/v1/support/tickets", "assignee_id", {"subject": "Owned Ticket"})]


def test_owner_and_assignee_name_members():
    m = A.create("/v1/members", {"name": "Owen Owner"})
    bm = B.create("/v1/members", {"name": "B Owner"})
    con = A.create("/v1/contacts", {"name": "Not a member"})
    for path, field, body in OWNED:
        rec = A.create(path, dict(body, **{field: m["id"]}))
        eq(rec[field], m["id"], "%s %s" % (path, field))
        eq(ids(list_all(A, path, {field: m["id"]})), [rec["id"]], "%s?%s=" % (path, field))
        n = count(A, path)
        for bad in ("usr_1", "mem_00000000000000000000000000", bm["id"], con["id"]):
            r = expect(A.post(path, dict(body, **{field: bad})), 404, "not_found", field)
            ok(bad in r["error"]["message"], "404 names the id: %r" % r["error"]["message"])
            expect(A.patch("%s/%s" % (path, rec["id"]), {field: bad}), 404, "not_found", field)
        expect(A.post(path, dict(body, **{field: 5})), 400, "validation_failed", field)
        eq(count(A, path), n, "%s: nothing made by a refused owner" % path)
        eq(expect(A.get("%s/%s" % (path, rec["id"])), 200)["data"][field], m["id"], "%s: owner kept" % path)
        eq(expect(A.patch("%s/%s" % (path, rec["id"]), {field: None}), 200)["data"][field], None,
           "%s: %s cleared" % (path, field))


def test_deleting_a_member_unassigns_what_they_owned():
    m = A.create("/v1/members", {"name": "Leaving Soon"})
    keep = A.create("/v1/members", {"name": "Staying"})
    made = []
    for path, field, body in OWNED:
        made.append((path, field, A.create(path, dict(body, **{field: m["id"]}))))
    other = A.create("/v1/contacts", {"name": "Someone else's", "owner_id": keep["id"]})
    d = expect(A.delete("/v1/members/%s?dry_run=true" % m["id"]), 200)["data"]
    eq(d["id"], m["id"], "a dry-run delete shows the member")
    for path, field, rec in made:
        eq(expect(A.get("%s/%s" % (path, rec["id"])), 200)["data"][field], m["id"], "%s after a dry run" % path)
    expect(A.delete("/v1/members/" + m["id"]), 200)
    expect(A.get("/v1/members/" + m["id"]), 404)
    for path, field, rec in made:
        got = expect(A.get("%s/%s" % (path, rec["id"])), 200)["data"]
        eq(got[field], None, "%s: %s cleared when the member went" % (path, field))
    eq(expect(A.get("/v1/contacts/" + other["id"]), 200)["data"]["owner_id"], keep["id"], "other owners kept")
    events = expect(A.get("/v1/contacts/%s/timeline" % made[1][2]["id"], params={"limit": 100}), 200)["data"]
    ok(any(e["type"] == "contact.updated" for e in events), "the unassignment is in the contact's timeline")
