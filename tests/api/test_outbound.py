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


# ---------------------------------------------------------------- script templates

SCRIPTS = "/v1/outbound/script-templates"


def _path():
    """A valid call path: intro, a yes/no, a select, a question, the end."""
    return [
        {"key": "intro", "type": "instruction", "text": "Introduce yourself", "branches": [{"next": "interested"}]},
        {"key": "interested", "type": "yesno", "text": "Interested?",
         "branches": [{"label": "Oui", "next": "size"}, {"label": "Non", "next": "end"}]},
        {"key": "size", "type": "select", "text": "Company size?", "options": ["1-10", "11-50", "51+"],
         "branches": [{"label": "1-10", "next": "end"}, {"label": "51+", "next": "budget"}]},
        {"key": "budget", "type": "question", "text": "What budget?", "branches": [{"next": "end"}]},
        {"key": "end", "type": "instruction", "text": "Thank them"},
    ]


def test_script_template_create_and_get():
    t = A.create(SCRIPTS, {"name": "Cold call", "description": "First contact", "nodes": _path()})
    ok(t["id"].startswith("stpl_"), "script template id prefix: %s" % t["id"])
    eq((t["object"], t["status"], t["start_node_key"]), ("script_template", "draft", "intro"), "defaults, start")
    eq([n["key"] for n in t["nodes"]], ["intro", "interested", "size", "budget", "end"], "nodes in order")
    eq(t["nodes"][2]["options"], ["1-10", "11-50", "51+"], "a select's options")
    eq(t["nodes"][1]["branches"], [{"label": "Oui", "next": "size"}, {"label": "Non", "next": "end"}], "branches")
    eq(t["nodes"][0]["branches"], [{"label": None, "next": "interested"}], "an unlabelled branch")
    eq((t["nodes"][4]["options"], t["nodes"][4]["branches"]), (None, None), "absent members are null")
    eq(expect(A.get("%s/%s" % (SCRIPTS, t["id"])), 200)["data"], t, "GET it back")
    eq(ids(list_all(A, SCRIPTS, {"name": "Cold call"})), [t["id"]], "?name=")
    eq(ids(list_all(A, SCRIPTS, {"query": "cold"})), [t["id"]], "?query=")
    u = expect(A.patch("%s/%s" % (SCRIPTS, t["id"]), {"nodes": _path()[3:], "status": "active"}), 200)["data"]
    eq((u["start_node_key"], u["status"], len(u["nodes"])), ("budget", "active", 2), "nodes replaced whole")
    empty = A.create(SCRIPTS, {"name": "Empty draft"})
    eq((empty["nodes"], empty["start_node_key"]), (None, None), "a draft without nodes")


def _with(i, **kw):
    nodes = _path()
    for k, v in kw.items():
        if v is None:
            nodes[i].pop(k, None)
        else:
            nodes[i][k] = v
    return nodes


SCRIPT_INVALID = [
    # (label, nodes, param, fragments of the message)
    ("yesno_label", _with(1, branches=[{"label": "Oui", "next": "end"}, {"label": "Peut-etre", "next": "end"}]),
     "nodes[1].branches[1].label", ("interested", "Peut-etre", "Oui", "Non")),
    ("yesno_yes", _with(1, branches=[{"label": "Yes", "next": "end"}, {"label": "Non", "next": "end"}]),
     "nodes[1].branches[0].label", ("interested", "Yes")),
    ("yesno_one_branch", _with(1, branches=[{"label": "Oui", "next": "end"}]),
     "nodes[1].branches", ("interested", "Oui and Non")),
    ("yesno_twice_oui", _with(1, branches=[{"label": "Oui", "next": "end"}, {"label": "Oui", "next": "size"}]),
     "nodes[1].branches[1].label", ("interested", "Oui")),
    ("yesno_unlabelled", _with(1, branches=[{"next": "end"}, {"label": "Non", "next": "end"}]),
     "nodes[1].branches[0].label", ("interested",)),
    ("select_label_not_option", _with(2, branches=[{"label": "1-10", "next": "end"}, {"label": "huge", "next": "end"}]),
     "nodes[2].branches[1].label", ("size", "huge")),
    ("select_without_options", _with(2, options=None), "nodes[2].options", ("size",)),
    ("select_empty_options", _with(2, options=[]), "nodes[2].options", ("size",)),
    ("select_options_twice", _with(2, options=["a", "b", "a"], branches=[]), "nodes[2].options[2]", ("size", "a")),
    ("options_on_yesno", _with(1, options=["Oui", "Non"]), "nodes[1].options", ("interested", "yesno")),
    ("option_not_string", _with(2, options=["a", 5]), "nodes[2].options[1]", ()),
    ("option_too_long", _with(2, options=["a", "o" * 201]), "nodes[2].options[1]", ()),
    ("options_not_array", _with(2, options="a,b"), "nodes[2].options", ()),
    ("instruction_labelled", _with(0, branches=[{"label": "Oui", "next": "interested"}]),
     "nodes[0].branches[0].label", ("intro", "Oui")),
    ("question_two_nexts", _with(3, branches=[{"next": "end"}, {"next": "intro"}]), "nodes[3].branches[1]", ("budget",)),
    ("dangling_next", _with(3, branches=[{"next": "nowhere"}]), "nodes[3].branches[0].next", ("budget", "nowhere")),
    ("dangling_labelled", _with(1, branches=[{"label": "Oui", "next": "size"}, {"label": "Non", "next": "gone"}]),
     "nodes[1].branches[1].next", ("interested", "Non", "gone")),
    ("branch_without_next", _with(3, branches=[{}]), "nodes[3].branches[0].next", ()),
    ("branch_unknown_member", _with(3, branches=[{"next": "end", "goto": "x"}]), "nodes[3].branches[0].goto", ()),
    ("duplicate_key", _with(4, key="intro"), "nodes[4].key", ("intro", "nodes[0]")),
    ("missing_key", _with(4, key=None), "nodes[4].key", ()),
    ("bad_type", _with(4, type="menu"), "nodes[4].type", ("instruction", "select")),
    ("node_not_object", _path()[:4] + ["end"], "nodes[4]", ()),
    ("text_too_long", _with(4, text="t" * 10001), "nodes[4].text", ()),
    ("too_many_nodes", [{"key": "n%d" % i, "type": "instruction"} for i in range(201)], "nodes", ("200",)),
    ("nodes_not_array", {"key": "a"}, "nodes", ()),
]


def _make_script_invalid(label, nodes, param, frags):
    def t():
        n = count(A, SCRIPTS)
        r = expect(A.post(SCRIPTS, {"name": "Bad " + label, "nodes": nodes}), 400, "validation_failed", param)
        for f in frags:
            ok(f in r["error"]["message"], "message names %r: %r" % (f, r["error"]["message"]))
        eq(count(A, SCRIPTS), n, "script templates after a refused create")
    return t


for _label, _nodes, _param, _frags in SCRIPT_INVALID:
    globals()["test_script_invalid_%s" % _label] = _make_script_invalid(_label, _nodes, _param, _frags)


def test_script_template_refused_updates_change_nothing():
    t = A.create(SCRIPTS, {"name": "Keep me", "nodes": _path()})
    path = "%s/%s" % (SCRIPTS, t["id"])
    expect(A.patch(path, {"nodes": _with(1, branches=[{"label": "Si", "next": "end"}])}), 400,
           "validation_failed", "nodes[1].branches[0].label")
    expect(A.patch(path, {"status": "published"}), 400, "validation_failed", "status")
    expect(A.patch(path, {"start_node_key": "end"}), 400, "validation_failed", "start_node_key")
    _unchanged(path, t)
    d = A.create(SCRIPTS, {"name": "Draft only"})
    expect(A.patch("%s/%s" % (SCRIPTS, d["id"]), {"status": "active"}), 400, "validation_failed", "nodes")
    expect(A.post(SCRIPTS, {"name": "Active empty", "status": "active", "nodes": []}), 400,
           "validation_failed", "nodes")


def test_script_template_name_unique_scopes_module_dry_run():
    A.create(SCRIPTS, {"name": "Unique script"})
    n = count(A, SCRIPTS)
    r = expect(A.post(SCRIPTS, {"name": "Unique script"}), 409, "conflict", "name")
    ok("name" in r["error"]["message"], "409 names name: %r" % r["error"]["message"])
    B.create(SCRIPTS, {"name": "Unique script"})  # another workspace has its own names
    expect(A.post(SCRIPTS, {"description": "no name"}), 400, "validation_failed", "name")
    expect(A.post(SCRIPTS, {"name": 5}), 400, "validation_failed", "name")
    expect(RO.post(SCRIPTS, {"name": "Read only"}), 403, "forbidden")
    expect(RO.get(SCRIPTS), 200)
    d = expect(A.post(SCRIPTS + "?dry_run=true", {"name": "Dry script", "nodes": _path()}), 200)["data"]
    eq(d["start_node_key"], "intro", "a dry run answers the template")
    expect(A.get("%s/%s" % (SCRIPTS, d["id"])), 404)
    eq(count(A, SCRIPTS), n, "refusals and dry runs store nothing")
    expect(A.patch("/v1/workspace", {"enabled_modules": [m for m in ALL_MODULES if m != "outbound"]}), 200)
    try:
        r = expect(A.get(SCRIPTS), 403, "module_disabled")
        expect(A.post(SCRIPTS, {"name": "Off"}), 403, "module_disabled")
    finally:
        expect(A.patch("/v1/workspace", {"enabled_modules": ALL_MODULES}), 200)
    eq(count(A, SCRIPTS), n, "nothing made while the module was off")


# ---------------------------------------------------------------- qualification templates

QUALS = "/v1/outbound/qualification-templates"


def _qfields():
    return [{"key": "budget", "label": "Budget", "type": "number", "required": True},
            {"key": "timing", "label": "When", "type": "select", "options": ["now", "later"]},
            {"key": "decision_maker", "label": "Decides?", "type": "boolean"},
            {"key": "next-call", "label": "Next call", "type": "date"},
            {"key": "notes", "label": "Notes", "type": "text"}]


def test_qualification_template_create_and_get():
    t = A.create(QUALS, {"name": "BANT", "description": "Budget, authority, need, timing", "fields": _qfields(),
                         "status": "active"})
    ok(t["id"].startswith("qtpl_"), "qualification template id prefix: %s" % t["id"])
    eq((t["object"], t["status"]), ("qualification_template", "active"), "object, status")
    eq(t["fields"][0], {"key": "budget", "label": "Budget", "type": "number", "required": True, "options": None},
       "a field with every member")
    eq(t["fields"][2]["required"], False, "required defaults to false")
    eq(t["fields"][1]["options"], ["now", "later"], "a select's options")
    eq(expect(A.get("%s/%s" % (QUALS, t["id"])), 200)["data"], t, "GET it back")
    eq(ids(list_all(A, QUALS, {"status": "active", "name": "BANT"})), [t["id"]], "?status=&name=")


def _qwith(i, **kw):
    fields = _qfields()
    for k, v in kw.items():
        if v is None:
            fields[i].pop(k, None)
        else:
            fields[i][k] = v
    return fields


QUAL_INVALID = [
    ("duplicate_key", _qwith(4, key="budget"), "fields[4].key", ("budget", "fields[0]")),
    ("key_with_dot", _qwith(4, key="a.b"), "fields[4].key", ("a.b",)),
    ("key_empty", _qwith(4, key=""), "fields[4].key", ()),
    ("key_missing", _qwith(4, key=None), "fields[4].key", ()),
    ("label_missing", _qwith(4, label=None), "fields[4].label", ()),
    ("type_enum", _qwith(4, type="email"), "fields[4].type", ("text", "select")),
    ("required_string", _qwith(4, required="yes"), "fields[4].required", ()),
    ("select_without_options", _qwith(1, options=None), "fields[1].options", ("timing",)),
    ("select_options_twice", _qwith(1, options=["now", "now"]), "fields[1].options[1]", ("timing", "now")),
    ("options_on_text", _qwith(4, options=["a"]), "fields[4].options", ("notes", "text")),
    ("option_number", _qwith(1, options=["now", 3]), "fields[1].options[1]", ()),
    ("unknown_member", _qwith(4, placeholder="x"), "fields[4].placeholder", ()),
    ("too_many", [{"key": "k%d" % i, "label": "L", "type": "text"} for i in range(201)], "fields", ()),
]


def _make_qual_invalid(label, fields, param, frags):
    def t():
        n = count(A, QUALS)
        r = expect(A.post(QUALS, {"name": "Bad " + label, "fields": fields}), 400, "validation_failed", param)
        for f in frags:
            ok(f in r["error"]["message"], "message names %r: %r" % (f, r["error"]["message"]))
        eq(count(A, QUALS), n, "qualification templates after a refused create")
    return t


for _label, _fields, _param, _frags in QUAL_INVALID:
    globals()["test_qualification_invalid_%s" % _label] = _make_qual_invalid(_label, _fields, _param, _frags)


def test_qualification_template_unique_scopes_module_dry_run():
    t = A.create(QUALS, {"name": "Unique qual"})
    n = count(A, QUALS)
    expect(A.post(QUALS, {"name": "Unique qual"}), 409, "conflict", "name")
    expect(A.patch("%s/%s" % (QUALS, t["id"]), {"status": "active"}), 400, "validation_failed", "fields")
    expect(A.patch("%s/%s" % (QUALS, t["id"]), {"fields": _qwith(4, key="budget")}), 400, "validation_failed",
           "fields[4].key")
    _unchanged("%s/%s" % (QUALS, t["id"]), t)
    expect(RO.post(QUALS, {"name": "Read only"}), 403, "forbidden")
    expect(A.post(QUALS + "?dry_run=true", {"name": "Dry qual", "fields": _qfields()}), 200)
    eq(count(A, QUALS), n, "refusals and dry runs store nothing")
    expect(A.patch("/v1/workspace", {"enabled_modules": [m for m in ALL_MODULES if m != "outbound"]}), 200)
    try:
        expect(A.get(QUALS), 403, "module_disabled")
    finally:
        expect(A.patch("/v1/workspace", {"enabled_modules": ALL_MODULES}), 200)


# ---------------------------------------------------------------- campaigns

CAMPAIGNS = "/v1/outbound/campaigns"


def test_campaign_create_and_filters():
    st = A.create(SCRIPTS, {"name": "Campaign script", "nodes": _path()})
    qt = A.create(QUALS, {"name": "Campaign qual", "fields": _qfields()})
    agent = A.create("/v1/members", {"name": "Campaign Agent", "role": "agent"})
    c = A.create(CAMPAIGNS, {"name": "Q3 outreach", "description": "Mid-market", "script_template_id": st["id"],
                             "qualification_template_id": qt["id"], "default_assignee_id": agent["id"],
                             "starts_at": "2030-07-01T08:00:00Z", "ends_at": "2030-09-30T18:00:00Z",
                             "custom_fields": {"region": "emea"}})
    ok(c["id"].startswith("ocmp_"), "campaign id prefix: %s" % c["id"])
    eq((c["object"], c["status"], c["starts_at"], c["ends_at"], c["custom_fields"]),
       ("outbound_campaign", "draft", "2030-07-01T08:00:00.000Z", "2030-09-30T18:00:00.000Z", {"region": "emea"}),
       "campaign fields")
    eq(expect(A.get("%s/%s" % (CAMPAIGNS, c["id"])), 200)["data"], c, "GET it back")
    other = A.create(CAMPAIGNS, {"name": "Other outreach", "status": "active"})
    for params, want in [({"script_template_id": st["id"]}, [c]), ({"qualification_template_id": qt["id"]}, [c]),
                         ({"default_assignee_id": agent["id"]}, [c]), ({"status": "active"}, [other]),
                         ({"starts_after": "2030-01-01T00:00:00Z"}, [c]), ({"query": "outreach"}, [other, c])]:
        got = [i for i in ids(list_all(A, CAMPAIGNS, params)) if i in (c["id"], other["id"])]
        eq(got, ids(want), "campaigns %r" % params)
    u = expect(A.patch("%s/%s" % (CAMPAIGNS, c["id"]), {"status": "active", "script_template_id": None}), 200)["data"]
    eq((u["status"], u["script_template_id"]), ("active", None), "template detached")


def test_campaign_refusals_change_nothing():
    c = A.create(CAMPAIGNS, {"name": "Refusals", "starts_at": "2030-01-01T00:00:00Z"})
    path = "%s/%s" % (CAMPAIGNS, c["id"])
    bst = B.create(SCRIPTS, {"name": "B script"})
    bm = B.create("/v1/members", {"name": "B agent"})
    n = count(A, CAMPAIGNS)
    for body, status, param in [
            ({"description": "no name"}, 400, "name"),
            ({"name": "x" * 201}, 400, "name"),
            ({"name": "x", "status": "running"}, 400, "status"),
            ({"name": "x", "starts_at": "tomorrow"}, 400, "starts_at"),
            ({"name": "x", "starts_at": "2030-02-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}, 400, "ends_at"),
            ({"name": "x", "starts_at": "2030-02-01T00:00:00Z", "ends_at": "2030-02-01T00:00:00Z"}, 400, "ends_at"),
            ({"name": "x", "script_template_id": bst["id"]}, 404, "script_template_id"),
            ({"name": "x", "qualification_template_id": bst["id"]}, 404, "qualification_template_id"),
            ({"name": "x", "default_assignee_id": bm["id"]}, 404, "default_assignee_id"),
            ({"name": "x", "default_assignee_id": 12}, 400, "default_assignee_id"),
            ({"name": "x", "custom_fields": {"a": {"b": 1}}}, 400, "custom_fields")]:
        expect(A.post(CAMPAIGNS, body), status, param=param)
    expect(A.patch(path, {"ends_at": "2029-12-31T23:59:59Z"}), 400, "validation_failed", "ends_at")
    expect(A.patch(path, {"default_assignee_id": bm["id"]}), 404, "not_found", "default_assignee_id")
    _unchanged(path, c)
    expect(RO.post(CAMPAIGNS, {"name": "Read only"}), 403, "forbidden")
    expect(RO.patch(path, {"name": "Read only"}), 403, "forbidden")
    d = expect(A.post(CAMPAIGNS + "?dry_run=true", {"name": "Dry campaign"}), 200)["data"]
    expect(A.get("%s/%s" % (CAMPAIGNS, d["id"])), 404)
    eq(count(A, CAMPAIGNS), n, "refusals and dry runs store nothing")
    expect(A.patch("/v1/workspace", {"enabled_modules": [m for m in ALL_MODULES if m != "outbound"]}), 200)
    try:
        expect(A.get(path), 403, "module_disabled")
        expect(A.patch(path, {"name": "Off"}), 403, "module_disabled")
    finally:
        expect(A.patch("/v1/workspace", {"enabled_modules": ALL_MODULES}), 200)
    _unchanged(path, c)


def test_templates_in_use_stay_and_members_go():
    st = A.create(SCRIPTS, {"name": "Used script"})
    qt = A.create(QUALS, {"name": "Used qual"})
    m = A.create("/v1/members", {"name": "Default Agent"})
    c = A.create(CAMPAIGNS, {"name": "Uses them", "script_template_id": st["id"],
                             "qualification_template_id": qt["id"], "default_assignee_id": m["id"]})
    for path, t in ((SCRIPTS, st), (QUALS, qt)):
        r = expect(A.delete("%s/%s" % (path, t["id"])), 409, "conflict")
        ok(c["id"] in r["error"]["message"], "409 names the campaign: %r" % r["error"]["message"])
        expect(A.patch("%s/%s" % (path, t["id"]), {"status": "archived"}), 200)
    expect(A.delete("/v1/members/" + m["id"]), 200)
    eq(expect(A.get("%s/%s" % (CAMPAIGNS, c["id"])), 200)["data"]["default_assignee_id"], None,
       "a deleted member is no campaign's default assignee")
    expect(A.patch("%s/%s" % (CAMPAIGNS, c["id"]), {"script_template_id": None}), 200)
    expect(A.delete("%s/%s" % (SCRIPTS, st["id"])), 200)


# ---------------------------------------------------------------- campaign contacts and call logs

CALLS = "/v1/outbound/call-logs"


def _contacts_of(campaign):
    return "%s/%s/contacts" % (CAMPAIGNS, campaign["id"])


def test_campaign_contacts_defaults_filters_and_uniqueness():
    agent = A.create("/v1/members", {"name": "CC Agent", "role": "agent"})
    other = A.create("/v1/members", {"name": "CC Other", "role": "agent"})
    camp = A.create(CAMPAIGNS, {"name": "CC campaign", "default_assignee_id": agent["id"]})
    con1 = A.create("/v1/contacts", {"name": "CC One"})
    con2 = A.create("/v1/contacts", {"name": "CC Two"})
    base = _contacts_of(camp)
    cc1 = A.create(base, {"contact_id": con1["id"]})
    ok(cc1["id"].startswith("occ_"), "campaign contact id prefix: %s" % cc1["id"])
    eq((cc1["object"], cc1["campaign_id"], cc1["assignee_id"], cc1["status"], cc1["follow_up_status"],
        cc1["attempts"], cc1["source"]),
       ("campaign_contact", camp["id"], agent["id"], "pending", "none", 0, "manual"),
       "defaults: the campaign's default assignee")
    cc2 = A.create(base, {"contact_id": con2["id"], "assignee_id": other["id"], "status": "follow_up",
                          "next_follow_up_at": "2031-01-10T09:00:00Z", "follow_up_status": "pending",
                          "source": "import", "import_folder": "fair-2030"})
    eq(expect(A.get("%s/%s" % (base, cc2["id"])), 200)["data"], cc2, "GET it back")
    for params, want in [({"assignee_id": other["id"]}, [cc2]), ({"status": "pending"}, [cc1]),
                         ({"contact_id": con1["id"]}, [cc1]), ({"import_folder": "fair-2030"}, [cc2]),
                         ({"next_follow_up_before": "2031-02-01T00:00:00Z"}, [cc2]),
                         ({"next_follow_up_after": "2031-02-01T00:00:00Z"}, []),
                         ({"follow_up_status": "pending", "source": "import"}, [cc2])]:
        eq(ids(list_all(A, base, params)), ids(want), "campaign contacts %r" % params)
    n = count(A, base)
    r = expect(A.post(base, {"contact_id": con1["id"]}), 409, "conflict", "contact_id")
    ok("contact_id" in r["error"]["message"], "409 names contact_id: %r" % r["error"]["message"])
    # The same contact in another campaign is another campaign contact.
    camp2 = A.create(CAMPAIGNS, {"name": "CC campaign 2"})
    eq(A.create(_contacts_of(camp2), {"contact_id": con1["id"]})["assignee_id"], None, "no default assignee")
    eq(count(A, base), n, "no duplicate")


def test_campaign_contacts_refusals():
    camp = A.create(CAMPAIGNS, {"name": "CC refusals"})
    base = _contacts_of(camp)
    con = A.create("/v1/contacts", {"name": "CC Refused"})
    bcon = B.create("/v1/contacts", {"name": "CC in B"})
    bm = B.create("/v1/members", {"name": "CC B member"})
    cc = A.create(base, {"contact_id": con["id"]})
    n = count(A, base)
    for body, status, param in [
            ({}, 400, "contact_id"),
            ({"contact_id": None}, 400, "contact_id"),
            ({"contact_id": bcon["id"]}, 404, "contact_id"),
            ({"contact_id": camp["id"]}, 404, "contact_id"),
            ({"contact_id": con["id"], "campaign_id": camp["id"]}, 400, "campaign_id"),
            ({"contact_id": con["id"], "assignee_id": bm["id"]}, 404, "assignee_id"),
            ({"contact_id": con["id"], "status": "won"}, 400, "status"),
            ({"contact_id": con["id"], "attempts": -1}, 400, "attempts"),
            ({"contact_id": con["id"], "attempts": 10 ** 7}, 400, "attempts"),
            ({"contact_id": con["id"], "next_follow_up_at": "soon"}, 400, "next_follow_up_at"),
            ({"contact_id": con["id"], "import_folder": "f" * 201}, 400, "import_folder")]:
        expect(A.post(base, body), status, param=param)
    path = "%s/%s" % (base, cc["id"])
    expect(A.patch(path, {"contact_id": A.create("/v1/contacts", {"name": "Other"})["id"]}), 400,
           "validation_failed", "contact_id")
    _unchanged(path, cc)
    eq(count(A, base), n, "nothing added by refusals")
    expect(A.get("%s/%s/contacts" % (CAMPAIGNS, "ocmp_00000000000000000000000000")), 404)
    other = A.create(CAMPAIGNS, {"name": "CC elsewhere"})
    expect(A.get("%s/%s" % (_contacts_of(other), cc["id"])), 404)  # not under this campaign
    expect(RO.post(base, {"contact_id": con["id"]}), 403, "forbidden")
    expect(A.post(base + "?dry_run=true", {"contact_id": A.create("/v1/contacts", {"name": "Dry"})["id"]}), 200)
    eq(count(A, base), n, "a dry run stores nothing")
    expect(A.patch("/v1/workspace", {"enabled_modules": [m for m in ALL_MODULES if m != "outbound"]}), 200)
    try:
        expect(A.get(base), 403, "module_disabled")
    finally:
        expect(A.patch("/v1/workspace", {"enabled_modules": ALL_MODULES}), 200)


def test_capacity_counts_open_campaign_contacts():
    w = S.key(uniq("outbound-cap"))
    small = w.create("/v1/members", {"name": "Small", "capacity": 2})
    idle = w.create("/v1/members", {"name": "Idle", "status": "inactive"})
    camp = w.create(CAMPAIGNS, {"name": "Capacity"})
    base = _contacts_of(camp)
    cons = [w.create("/v1/contacts", {"name": "Cap %d" % i})["id"] for i in range(4)]
    a = w.create(base, {"contact_id": cons[0], "assignee_id": small["id"]})
    w.create(base, {"contact_id": cons[1], "assignee_id": small["id"], "status": "in_progress"})
    r = expect(w.post(base, {"contact_id": cons[2], "assignee_id": small["id"]}), 409, "conflict", "assignee_id")
    ok("capacity" in r["error"]["message"], "409 says capacity: %r" % r["error"]["message"])
    # A closed one holds no place; closing one frees a place.
    w.create(base, {"contact_id": cons[2], "assignee_id": small["id"], "status": "completed"})
    expect(w.post(base, {"contact_id": cons[3], "assignee_id": small["id"]}), 409, "conflict", "assignee_id")
    expect(w.patch("%s/%s" % (base, a["id"]), {"status": "qualified"}), 200)
    w.create(base, {"contact_id": cons[3], "assignee_id": small["id"]})
    expect(w.patch("%s/%s" % (base, a["id"]), {"status": "follow_up"}), 409, "conflict", "assignee_id")
    expect(w.patch("/v1/members/" + small["id"], {"capacity": 3}), 200)
    expect(w.patch("%s/%s" % (base, a["id"]), {"status": "follow_up"}), 200)
    other = w.create("/v1/contacts", {"name": "Idle's"})
    r = expect(w.post(base, {"contact_id": other["id"], "assignee_id": idle["id"]}), 409, "conflict", "assignee_id")
    ok("inactive" in r["error"]["message"], "409 says inactive: %r" % r["error"]["message"])


def test_call_logs_follow_their_campaign_contact():
    m = A.create("/v1/members", {"name": "Caller"})
    camp = A.create(CAMPAIGNS, {"name": "Calls"})
    con = A.create("/v1/contacts", {"name": "Called"})
    cc = A.create(_contacts_of(camp), {"contact_id": con["id"]})
    log = A.create(CALLS, {"campaign_id": camp["id"], "contact_id": con["id"], "member_id": m["id"],
                           "outcome": "no_answer", "duration_seconds": 12, "notes": "rang out",
                           "called_at": "2030-03-01T10:00:00Z"})
    ok(log["id"].startswith("call_"), "call log id prefix: %s" % log["id"])
    eq((log["object"], log["campaign_contact_id"], log["outcome"], log["called_at"]),
       ("call_log", cc["id"], "no_answer", "2030-03-01T10:00:00.000Z"), "linked to its campaign contact")
    got = expect(A.get("%s/%s" % (_contacts_of(camp), cc["id"])), 200)["data"]
    eq((got["attempts"], got["last_called_at"]), (1, "2030-03-01T10:00:00.000Z"), "an attempt counted")
    log2 = A.create(CALLS, {"campaign_id": camp["id"], "contact_id": con["id"], "outcome": "connected",
                            "campaign_contact_id": cc["id"]})
    ok(log2["called_at"], "called_at defaults to now")
    eq(expect(A.get("%s/%s" % (_contacts_of(camp), cc["id"])), 200)["data"]["attempts"], 2, "two attempts")
    eq(ids(list_all(A, CALLS, {"campaign_contact_id": cc["id"]})), [log2["id"], log["id"]], "?campaign_contact_id=")
    eq(ids(list_all(A, CALLS, {"outcome": "no_answer", "campaign_id": camp["id"]})), [log["id"]], "?outcome=")
    # Without a campaign contact: a call to someone not (or no longer) in the campaign.
    stranger = A.create("/v1/contacts", {"name": "Stranger"})
    lone = A.create(CALLS, {"campaign_id": camp["id"], "contact_id": stranger["id"], "outcome": "busy"})
    eq(lone["campaign_contact_id"], None, "no campaign contact to link")
    # Removing the campaign contact keeps the calls, detached.
    expect(A.delete("%s/%s" % (_contacts_of(camp), cc["id"])), 200)
    for l in (log, log2):
        eq(expect(A.get("%s/%s" % (CALLS, l["id"])), 200)["data"]["campaign_contact_id"], None,
           "the call stays, detached")


def test_call_log_refusals():
    camp = A.create(CAMPAIGNS, {"name": "Call refusals"})
    other = A.create(CAMPAIGNS, {"name": "Call refusals 2"})
    con = A.create("/v1/contacts", {"name": "Refused callee"})
    cc_other = A.create(_contacts_of(other), {"contact_id": con["id"]})
    bcamp = B.create(CAMPAIGNS, {"name": "B calls"})
    good = {"campaign_id": camp["id"], "contact_id": con["id"], "outcome": "busy"}
    n = count(A, CALLS)
    for change, status, param in [
            ({"outcome": None}, 400, "outcome"),
            ({"outcome": "hung_up"}, 400, "outcome"),
            ({"campaign_id": None}, 400, "campaign_id"),
            ({"campaign_id": bcamp["id"]}, 404, "campaign_id"),
            ({"contact_id": "con_00000000000000000000000000"}, 404, "contact_id"),
            ({"campaign_contact_id": cc_other["id"]}, 400, "campaign_contact_id"),
            ({"campaign_contact_id": "occ_00000000000000000000000000"}, 404, "campaign_contact_id"),
            ({"duration_seconds": -5}, 400, "duration_seconds"),
            ({"duration_seconds": 86401}, 400, "duration_seconds"),
            ({"duration_seconds": "60"}, 400, "duration_seconds"),
            ({"notes": "n" * 10001}, 400, "notes"),
            ({"called_at": "yesterday"}, 400, "called_at")]:
        body = dict(good)
        for k, v in change.items():
            if v is None:
                body.pop(k)
            else:
                body[k] = v
        expect(A.post(CALLS, body), status, param=param)
    expect(RO.post(CALLS, good), 403, "forbidden")
    expect(A.post(CALLS + "?dry_run=true", good), 200)
    eq(count(A, CALLS), n, "refusals and dry runs store nothing")
    expect(A.patch("/v1/workspace", {"enabled_modules": [m for m in ALL_MODULES if m != "outbound"]}), 200)
    try:
        expect(A.post(CALLS, good), 403, "module_disabled")
    finally:
        expect(A.patch("/v1/workspace", {"enabled_modules": ALL_MODULES}), 200)
    eq(count(A, CALLS), n, "nothing made while the module was off")


# ---------------------------------------------------------------- script executions and qualifications

EXECS = "/v1/outbound/script-executions"
QUALIFS = "/v1/outbound/qualifications"


def _scripted_campaign(client=None):
    c = client or A
    st = c.create(SCRIPTS, {"name": uniq("Exec script"), "nodes": _path()})
    qt = c.create(QUALS, {"name": uniq("Exec qual"), "fields": _qfields()})
    camp = c.create(CAMPAIGNS, {"name": "Scripted", "script_template_id": st["id"],
                                "qualification_template_id": qt["id"]})
    return camp, st, qt, c.create("/v1/contacts", {"name": uniq("Exec contact")})


def test_script_execution_checked_against_the_campaign_script():
    camp, st, _, con = _scripted_campaign()
    m = A.create("/v1/members", {"name": "Exec Agent"})
    e = A.create(EXECS, {"campaign_id": camp["id"], "contact_id": con["id"], "member_id": m["id"],
                         "responses": [{"node_key": "intro"}, {"node_key": "interested", "answer": "Oui"},
                                       {"node_key": "size", "answer": "51+"},
                                       {"node_key": "budget", "answer": "about 10k"}]})
    ok(e["id"].startswith("sexe_"), "script execution id prefix: %s" % e["id"])
    eq((e["object"], e["status"], e["script_template_id"], len(e["responses"])),
       ("script_execution", "in_progress", st["id"], 4), "execution")
    eq(e["responses"][0], {"node_key": "intro", "answer": None}, "an instruction's response")
    eq(expect(A.get("%s/%s" % (EXECS, e["id"])), 200)["data"], e, "GET it back")
    eq(ids(list_all(A, EXECS, {"campaign_id": camp["id"], "status": "in_progress"})), [e["id"]], "?campaign_id=")
    u = expect(A.patch("%s/%s" % (EXECS, e["id"]), {"status": "completed",
                                                    "responses": e["responses"] + [{"node_key": "end"}]}), 200)
    eq(len(u["data"]["responses"]), 5, "responses replaced whole")
    n = count(A, EXECS)
    expect(A.post(EXECS, {"campaign_id": camp["id"], "contact_id": con["id"]}), 409, "conflict", "contact_id")
    for resps, param, frags in [
            ([{"node_key": "nope", "answer": "x"}], "responses[0].node_key", ("nope", st["id"])),
            ([{"node_key": "intro"}, {"node_key": "intro"}], "responses[1].node_key", ("intro", "twice")),
            ([{"node_key": "interested", "answer": "Yes"}], "responses[0].answer", ("interested", "Yes")),
            ([{"node_key": "size", "answer": "huge"}], "responses[0].answer", ("size", "huge")),
            ([{"node_key": "intro", "answer": "hello"}], "responses[0].answer", ("intro",)),
            ([{"answer": "Oui"}], "responses[0].node_key", ()),
            ([{"node_key": "intro", "extra": 1}], "responses[0].extra", ()),
            ([{"node_key": 5}], "responses[0].node_key", ()),
            ("Oui", "responses", ())]:
        other = A.create("/v1/contacts", {"name": "Exec refused"})
        r = expect(A.post(EXECS, {"campaign_id": camp["id"], "contact_id": other["id"], "responses": resps}),
                   400, "validation_failed", param)
        for f in frags:
            ok(f in r["error"]["message"], "message names %r: %r" % (f, r["error"]["message"]))
        expect(A.patch("%s/%s" % (EXECS, e["id"]), {"responses": resps}), 400, "validation_failed", param)
    _unchanged("%s/%s" % (EXECS, e["id"]), u["data"])
    eq(count(A, EXECS), n, "nothing made by refusals")
    bare = A.create(CAMPAIGNS, {"name": "No script"})
    expect(A.post(EXECS, {"campaign_id": bare["id"], "contact_id": con["id"],
                          "responses": [{"node_key": "intro"}]}), 409, "conflict", "campaign_id")
    eq(A.create(EXECS, {"campaign_id": bare["id"], "contact_id": con["id"]})["script_template_id"], None,
       "an execution without responses needs no script")
    bcamp, _, _, bcon = _scripted_campaign(B)
    expect(A.post(EXECS, {"campaign_id": bcamp["id"], "contact_id": con["id"]}), 404, "not_found", "campaign_id")
    expect(RO.post(EXECS, {"campaign_id": camp["id"], "contact_id": con["id"]}), 403, "forbidden")
    d = A.create("/v1/contacts", {"name": "Exec dry"})
    expect(A.post(EXECS + "?dry_run=true", {"campaign_id": camp["id"], "contact_id": d["id"]}), 200)
    eq(count(A, EXECS), n + 1, "a dry run stores nothing")


def test_qualification_checked_against_the_campaign_template():
    camp, _, qt, con = _scripted_campaign()
    good = {"budget": 5000, "timing": "now", "decision_maker": True, "next-call": "2030-05-01", "notes": "warm"}
    q = A.create(QUALIFS, {"campaign_id": camp["id"], "contact_id": con["id"], "answers": good,
                           "notes": "call back in May", "custom_fields": {"src": "fair"}})
    ok(q["id"].startswith("qual_"), "qualification id prefix: %s" % q["id"])
    eq((q["object"], q["answers"], q["qualification_template_id"]), ("qualification", good, qt["id"]),
       "qualification")
    eq(expect(A.get("%s/%s" % (QUALIFS, q["id"])), 200)["data"], q, "GET it back")
    only = A.create(QUALIFS, {"campaign_id": camp["id"], "contact_id": A.create("/v1/contacts", {"name": "Q2"})["id"],
                              "answers": {"budget": 1.5}})
    eq(only["answers"], {"budget": 1.5}, "only the required field")
    eq(ids(list_all(A, QUALIFS, {"campaign_id": camp["id"], "query": "May"})), [q["id"]], "?query=")
    n = count(A, QUALIFS)
    expect(A.post(QUALIFS, {"campaign_id": camp["id"], "contact_id": con["id"], "answers": good}), 409,
           "conflict", "contact_id")
    for answers, param, frags in [
            ({"timing": "now"}, "answers.budget", ("budget", "required")),
            ({"budget": None}, "answers.budget", ("required",)),
            ({"budget": "5000"}, "answers.budget", ("number",)),
            ({"budget": 1, "timing": "someday"}, "answers.timing", ("someday",)),
            ({"budget": 1, "timing": 3}, "answers.timing", ("string",)),
            ({"budget": 1, "decision_maker": "yes"}, "answers.decision_maker", ("boolean",)),
            ({"budget": 1, "next-call": "May 1st"}, "answers.next-call", ("date",)),
            ({"budget": 1, "notes": 5}, "answers.notes", ()),
            ({"budget": 1, "colour": "red"}, "answers.colour", ("colour", qt["id"])),
            ({"budget": {"min": 1}}, "answers.budget", ()),
            ({"budget": "x" * 10001}, "answers.budget", ()),
            ({"bad key!": 1}, "answers", ()),
            ([1], "answers", ()),
            (None, "answers", ())]:
        other = A.create("/v1/contacts", {"name": "Qual refused"})
        r = expect(A.post(QUALIFS, {"campaign_id": camp["id"], "contact_id": other["id"], "answers": answers}),
                   400, "validation_failed", param)
        for f in frags:
            ok(f in r["error"]["message"], "message names %r: %r" % (f, r["error"]["message"]))
    expect(A.patch("%s/%s" % (QUALIFS, q["id"]), {"answers": {"timing": "now"}}), 400, "validation_failed",
           "answers.budget")
    _unchanged("%s/%s" % (QUALIFS, q["id"]), q)
    u = expect(A.patch("%s/%s" % (QUALIFS, q["id"]), {"answers": {"budget": 7}}), 200)["data"]
    eq(u["answers"], {"budget": 7}, "answers replaced whole")
    expect(A.post(QUALIFS, {"campaign_id": camp["id"], "contact_id": con["id"]}), 400, "validation_failed",
           "answers")
    bare = A.create(CAMPAIGNS, {"name": "No qualification"})
    expect(A.post(QUALIFS, {"campaign_id": bare["id"], "contact_id": con["id"], "answers": {}}), 409, "conflict",
           "campaign_id")
    expect(RO.post(QUALIFS, {"campaign_id": camp["id"], "contact_id": con["id"], "answers": good}), 403,
           "forbidden")
    d = A.create("/v1/contacts", {"name": "Qual dry"})
    expect(A.post(QUALIFS + "?dry_run=true", {"campaign_id": camp["id"], "contact_id": d["id"], "answers": good}),
           200)
    eq(count(A, QUALIFS), n, "refusals and dry runs store nothing")
    expect(A.patch("/v1/workspace", {"enabled_modules": [m for m in ALL_MODULES if m != "outbound"]}), 200)
    try:
        expect(A.get(QUALIFS), 403, "module_disabled")
        expect(A.get(EXECS), 403, "module_disabled")
    finally:
        expect(A.patch("/v1/workspace", {"enabled_modules": ALL_MODULES}), 200)
