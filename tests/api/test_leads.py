"""Leads: CRUD, enum errors, convert (linking or creating contact/company,
optional deal), PATCH /stage, lead activities, upsert on email, filters and
search. Every rejected write is checked to leave stored data unchanged."""

import time

from harness import Server, TIME_RE, check_record, count, eq, expect, ids, list_all, member, ok

S = A = B = LF = None
DEFAULT = P2 = None
DST = P2ST = None
COMPANY = CONTACT = None     # existing records of A that converts link to
BCOM = BPIPE = None
TARGET = None                # a lead that invalid PATCHes must not change
LFL = {}                     # filter-workspace leads by label

STATUSES = ("new", "working", "qualified", "disqualified", "converted")
SOURCES = ("manual", "website", "referral", "campaign", "import", "api", "mcp", "other")
GHOST_LEAD = "lead_00000000000000000000000000"


def setup_module():
    global S, A, B, LF, DEFAULT, P2, DST, P2ST, COMPANY, CONTACT, BCOM, BPIPE, TARGET
    S = Server(name="leads")
    A = S.key("leads-a")
    B = S.key("leads-b")
    LF = S.key("leads-filters")
    S.start()
    DEFAULT = _default(A)
    DST = list_all(A, "/v1/pipelines/%s/stages" % DEFAULT["id"])
    P2 = A.create("/v1/pipelines", {"name": "Lead Deals"})
    P2ST = list_all(A, "/v1/pipelines/%s/stages" % P2["id"])
    COMPANY = A.create("/v1/companies", {"name": "Existing Works", "domain": "existing-works.test"})
    CONTACT = A.create("/v1/contacts", {"name": "Existing Person", "email": "existing.person@leads.test"})
    BCOM = B.create("/v1/companies", {"name": "B Only Co"})
    BPIPE = _default(B)
    TARGET = A.create("/v1/leads", {"name": "Target Lead", "email": "target@leads.test", "status": "working",
                                     "source": "website", "value_cents": 500, "currency": "USD",
                                     "custom_fields": {"k": "v"}})
    mk = [
        ("ann", {"name": "Ann Alpha", "email": "ann@alpha.test", "status": "new", "source": "website",
                 "company_id": "CO1", "notes": "loves zeppelins"}),
        ("ben", {"name": "Ben Beta", "email": "ben@beta.test", "status": "working", "source": "referral",
                 "company_id": "CO1", "phone": "+1 555 0142"}),
        ("cid", {"name": "Cid Gamma", "status": "working", "source": "website", "company_name": "Quokka Industries"}),
        ("dee", {"name": "Dee Delta", "status": "qualified", "company_id": "CO2", "owner_id": "usr_lf"}),
        ("eve", {"email": "eve@epsilon.test", "status": "disqualified", "source": "campaign"}),
    ]
    co1 = LF.create("/v1/companies", {"name": "LF One"})
    co2 = LF.create("/v1/companies", {"name": "LF Two"})
    LFL["CO1"], LFL["CO2"] = co1, co2
    for label, body in mk:
        b = dict(body)
        if "company_id" in b:
            b["company_id"] = LFL[b["company_id"]]["id"]
        if "owner_id" in b:
            b["owner_id"] = member(LF, b["owner_id"])
        LFL[label] = LF.create("/v1/leads", b)


def teardown_module():
    S.stop_ok()


def _default(c):
    ps = [p for p in list_all(c, "/v1/pipelines") if p.get("is_default") is True]
    eq(len(ps), 1, "default pipelines")
    return ps[0]


def _open(stages):
    return [s for s in stages if s.get("stage_type") == "open"]


def _lead(body):
    return A.create("/v1/leads", body)


def _get(lead_id):
    return expect(A.get("/v1/leads/" + lead_id), 200)["data"]


def _counts():
    return {p: count(A, p) for p in ("/v1/contacts", "/v1/companies", "/v1/deals")}


# ------------------------------------------------------------ CRUD

def test_create_full_lead_and_get_it_back():
    body = {"name": "Lena Lead", "email": "lena@lead.test", "phone": "+49 30 1234", "company_name": "Lena GmbH",
            "company_id": COMPANY["id"], "contact_id": CONTACT["id"], "title": "Head of Ops", "status": "qualified",
            "source": "referral", "owner_id": member(A, "usr_3"), "stage": "demo", "value_cents": 99900, "currency": "EUR",
            "notes": "warm intro", "custom_fields": {"size": 50, "vip": True}}
    d = expect(A.post("/v1/leads", body), 201)["data"]
    check_record(d, "lead_", "created lead")
    for k, v in body.items():
        eq(d.get(k), v, "created lead field %s" % k)
    for k in ("converted_at", "converted_contact_id", "converted_company_id", "converted_deal_id"):
        ok(d.get(k) is None, "%s of a new lead: %r" % (k, d.get(k)))
    eq(_get(d["id"]), d, "GET after create")


def test_create_defaults():
    d = A.create("/v1/leads", {"email": "only.email@leads.test"})
    check_record(d, "lead_")
    eq((d.get("status"), d.get("source"), d.get("custom_fields")), ("new", "api", {}), "(status, source, custom_fields) defaults")
    d2 = A.create("/v1/leads", {"name": "Only Name"})
    eq(d2.get("status"), "new", "default status with only a name")


def test_patch_is_partial():
    c = _lead({"name": "Pat Partial", "email": "pat@partial.test", "value_cents": 10, "title": "Eng"})
    time.sleep(0.01)
    d = expect(A.patch("/v1/leads/" + c["id"], {"status": "working", "value_cents": 20}), 200)["data"]
    eq((d.get("status"), d.get("value_cents")), ("working", 20), "patched fields")
    for k in ("name", "email", "title", "source", "created_at", "id"):
        eq(d.get(k), c.get(k), "unpatched field %s" % k)
    ok(d["updated_at"] > c["updated_at"], "updated_at did not advance")
    eq(_get(c["id"]), d, "GET after PATCH")


def test_delete_then_404():
    c = _lead({"name": "Doomed Lead"})
    j = expect(A.delete("/v1/leads/" + c["id"]), 200)
    eq((j["data"].get("id"), j["data"].get("deleted")), (c["id"], True), "DELETE data (id, deleted)")
    expect(A.get("/v1/leads/" + c["id"]), 404, "not_found")
    expect(A.patch("/v1/leads/" + c["id"], {"name": "ghost"}), 404, "not_found")
    expect(A.delete("/v1/leads/" + c["id"]), 404, "not_found")


def test_unknown_and_foreign_ids_are_404():
    bl = B.create("/v1/leads", {"name": "B Lead"})
    for lid in (GHOST_LEAD, bl["id"], CONTACT["id"]):
        expect(A.get("/v1/leads/" + lid), 404, "not_found")
        expect(A.patch("/v1/leads/" + lid, {"name": "x"}), 404, "not_found")
        expect(A.post("/v1/leads/%s/convert" % lid, {}), 404, "not_found")
        expect(A.patch("/v1/leads/%s/stage" % lid, {"stage": "x"}), 404, "not_found")
        expect(A.get("/v1/leads/%s/activities" % lid), 404, "not_found")
        expect(A.post("/v1/leads/%s/activities" % lid, {"type": "note", "summary": "x"}), 404, "not_found")
    eq(expect(B.get("/v1/leads/" + bl["id"]), 200)["data"], bl, "B's lead after A's attempts")


INVALID_CREATE = [
    # label, body, status, code, param, message fragments
    ("empty_object", {}, 400, "validation_failed", "name", ()),
    ("only_unrelated_fields", {"title": "CEO", "phone": "1"}, 400, "validation_failed", "name", ()),
    ("unknown_field", {"name": "x", "foo": 1}, 400, "validation_failed", "foo", ()),
    ("status_enum", {"name": "x", "status": "hot"}, 400, "validation_failed", "status", STATUSES),
    ("source_enum", {"name": "x", "source": "billboard"}, 400, "validation_failed", "source", SOURCES),
    ("status_wrong_type", {"name": "x", "status": 1}, 400, "validation_failed", "status", ()),
    ("email_invalid", {"email": "not-an-email"}, 400, "validation_failed", "email", ()),
    ("value_cents_string", {"name": "x", "value_cents": "100"}, 400, "validation_failed", "value_cents", ()),
    ("value_cents_float", {"name": "x", "value_cents": 1.5}, 400, "validation_failed", "value_cents", ()),
    ("currency_lowercase", {"name": "x", "currency": "usd"}, 400, "validation_failed", "currency", ()),
    ("currency_long", {"name": "x", "currency": "EURO"}, 400, "validation_failed", "currency", ()),
    ("stage_wrong_type", {"name": "x", "stage": 3}, 400, "validation_failed", "stage", ()),
    ("custom_fields_nested", {"name": "x", "custom_fields": {"a": {"b": 1}}}, 400, "validation_failed", "custom_fields", ()),
    ("company_id_unknown", {"name": "x", "company_id": "com_00000000000000000000000000"}, 404, "not_found", "company_id", ()),
    ("company_id_other_workspace", {"name": "x", "company_id": "BCOM"}, 404, "not_found", "company_id", ()),
    ("company_id_is_contact", {"name": "x", "company_id": "CONTACT"}, 404, "not_found", "company_id", ()),
    ("contact_id_unknown", {"name": "x", "contact_id": "con_00000000000000000000000000"}, 404, "not_found", "contact_id", ()),
    ("body_not_json", b"{name:", 400, "validation_failed", None, ()),
]


def _sub(v):
    m = {"BCOM": BCOM["id"], "CONTACT": CONTACT["id"], "COMPANY": COMPANY["id"]}
    if isinstance(v, str):
        return m.get(v, v)
    if isinstance(v, dict):
        return {k: _sub(x) for k, x in v.items()}
    return v


def _make_invalid_create(label, body, status, code, param, frags):
    def t():
        n = count(A, "/v1/leads")
        b = _sub(body)
        r = A.post("/v1/leads", raw=b) if isinstance(b, bytes) else A.post("/v1/leads", b)
        if param is None:
            expect(r, status, code, message_has=frags)
        else:
            expect(r, status, code, param, message_has=frags)
        eq(count(A, "/v1/leads"), n, "lead count after rejected create (%s)" % label)
    return t


for _c in INVALID_CREATE:
    globals()["test_create_invalid_" + _c[0]] = _make_invalid_create(*_c)


INVALID_PATCH = [
    ("status_enum", {"status": "lukewarm"}, 400, "validation_failed", "status", STATUSES),
    ("source_enum", {"source": "tv"}, 400, "validation_failed", "source", SOURCES),
    ("unknown_field", {"bogus": 1}, 400, "validation_failed", "bogus", ()),
    ("value_cents_string", {"value_cents": "x"}, 400, "validation_failed", "value_cents", ()),
    ("company_unknown", {"company_id": "com_00000000000000000000000000"}, 404, "not_found", "company_id", ()),
    ("contact_id_is_foreign_company", {"contact_id": "BCOM"}, 404, "not_found", "contact_id", ()),
]


def _make_invalid_patch(label, body, status, code, param, frags):
    def t():
        before = _get(TARGET["id"])
        expect(A.patch("/v1/leads/" + TARGET["id"], _sub(body)), status, code, param, message_has=frags)
        eq(_get(TARGET["id"]), before, "lead after rejected PATCH (%s)" % label)
    return t


for _c in INVALID_PATCH:
    globals()["test_patch_invalid_" + _c[0]] = _make_invalid_patch(*_c)


# ------------------------------------------------------------ convert

def _convert(lead, body=None):
    return A.post("/v1/leads/%s/convert" % lead["id"], body if body is not None else {})


def test_convert_deal_fields_need_create_deal():
    # Without create_deal the deal's fields would be ignored: refused, and
    # an unknown stage is a 404 whatever create_deal says.
    lead = _lead({"name": "Deal Fields"})
    expect(_convert(lead, {"stage_id": "stage_00000000000000000000000000"}), 404, "not_found", "stage_id")
    stage = expect(A.get("/v1/deal-stages"), 200)["data"][0]
    for body, field in (({"stage_id": stage["id"]}, "stage_id"), ({"deal_name": "x"}, "deal_name"),
                        ({"create_deal": False, "pipeline_id": stage["pipeline_id"]}, "pipeline_id")):
        expect(_convert(lead, body), 400, "validation_failed", field)
    eq(_get(lead["id"])["status"], "new", "the lead after refused converts")


def test_convert_creates_contact_and_company():
    lead = _lead({"name": "Nina Newman", "email": "nina@newco-leads.test", "phone": "+1 555 0177", "title": "CTO",
                  "company_name": "Newco Leads Unique"})
    n = _counts()
    d = expect(_convert(lead), 200)["data"]
    eq((d.get("id"), d.get("status")), (lead["id"], "converted"), "converted lead (id, status)")
    ok(TIME_RE.match(str(d.get("converted_at"))), "converted_at: %r" % d.get("converted_at"))
    ok(d.get("converted_deal_id") is None, "converted_deal_id without create_deal: %r" % d.get("converted_deal_id"))
    con = expect(A.get("/v1/contacts/%s" % d.get("converted_contact_id")), 200)["data"]
    eq((con.get("name"), con.get("email"), con.get("phone"), con.get("title")),
       ("Nina Newman", "nina@newco-leads.test", "+1 555 0177", "CTO"), "created contact (name, email, phone, title)")
    com = expect(A.get("/v1/companies/%s" % d.get("converted_company_id")), 200)["data"]
    eq(com.get("name"), "Newco Leads Unique", "created company name")
    after = _counts()
    eq((after["/v1/contacts"], after["/v1/companies"], after["/v1/deals"]),
       (n["/v1/contacts"] + 1, n["/v1/companies"] + 1, n["/v1/deals"]), "(contacts, companies, deals) after convert")
    eq(_get(lead["id"]), d, "GET after convert")


def test_convert_links_existing_contact_and_company_case_insensitive():
    lead = _lead({"name": "Someone Else", "email": "EXISTING.Person@Leads.TEST", "company_name": "existing WORKS"})
    n = _counts()
    d = expect(_convert(lead), 200)["data"]
    eq((d.get("converted_contact_id"), d.get("converted_company_id")), (CONTACT["id"], COMPANY["id"]),
       "linked (contact, company)")
    eq(_counts(), n, "record counts after a linking convert")


def test_convert_links_given_contact_id_and_company_id():
    con = A.create("/v1/contacts", {"name": "Given Contact", "email": "given@leads.test"})
    co = A.create("/v1/companies", {"name": "Given Co"})
    # email and company_name match other records: the explicit refs win
    lead = _lead({"name": "Refs Lead", "email": CONTACT["email"], "contact_id": con["id"], "company_id": co["id"],
                  "company_name": COMPANY["name"]})
    n = _counts()
    d = expect(_convert(lead), 200)["data"]
    eq((d.get("converted_contact_id"), d.get("converted_company_id")), (con["id"], co["id"]), "linked (contact, company)")
    eq(_counts(), n, "record counts after convert with refs")


def test_convert_without_company_name_creates_no_company():
    lead = _lead({"name": "Solo Lead", "email": "solo@leads.test"})
    n = _counts()
    d = expect(_convert(lead), 200)["data"]
    ok(d.get("converted_company_id") is None, "converted_company_id: %r" % d.get("converted_company_id"))
    eq(count(A, "/v1/companies"), n["/v1/companies"], "company count")
    eq(count(A, "/v1/contacts"), n["/v1/contacts"] + 1, "contact count")


def test_convert_with_deal_in_default_pipeline():
    lead = _lead({"name": "Deal Lead", "email": "deal.lead@leads.test", "company_name": "Deal Lead Co",
                  "value_cents": 123400, "currency": "EUR"})
    d = expect(_convert(lead, {"create_deal": True}), 200)["data"]
    deal = expect(A.get("/v1/deals/%s" % d.get("converted_deal_id")), 200)["data"]
    eq((deal.get("name"), deal.get("amount_cents"), deal.get("currency"), deal.get("contact_id"), deal.get("company_id"),
        deal.get("pipeline_id"), deal.get("stage_id"), deal.get("status")),
       ("Deal Lead", 123400, "EUR", d["converted_contact_id"], d["converted_company_id"], DEFAULT["id"],
        _open(DST)[0]["id"], "open"),
       "created deal (name, amount_cents, currency, contact_id, company_id, pipeline_id, stage_id, status)")


def test_convert_with_deal_given_pipeline_and_stage():
    lead = _lead({"name": "Staged Lead", "email": "staged@leads.test", "value_cents": 10})
    st = _open(P2ST)[1]
    d = expect(_convert(lead, {"create_deal": True, "deal_name": "Custom Deal Name", "pipeline_id": P2["id"],
                               "stage_id": st["id"]}), 200)["data"]
    deal = expect(A.get("/v1/deals/%s" % d.get("converted_deal_id")), 200)["data"]
    eq((deal.get("name"), deal.get("pipeline_id"), deal.get("stage_id")), ("Custom Deal Name", P2["id"], st["id"]),
       "created deal (name, pipeline_id, stage_id)")


def test_convert_with_deal_given_pipeline_only():
    lead = _lead({"name": "Pipeline Only Lead"})
    d = expect(_convert(lead, {"create_deal": True, "pipeline_id": P2["id"]}), 200)["data"]
    deal = expect(A.get("/v1/deals/%s" % d.get("converted_deal_id")), 200)["data"]
    eq((deal.get("pipeline_id"), deal.get("stage_id")), (P2["id"], _open(P2ST)[0]["id"]), "deal (pipeline_id, stage_id)")


def test_second_convert_is_409():
    lead = _lead({"name": "Twice Lead", "email": "twice@leads.test"})
    d = expect(_convert(lead), 200)["data"]
    n = _counts()
    expect(_convert(lead), 409, "conflict", message_has=(d["converted_contact_id"],))
    expect(_convert(lead, {"create_deal": True}), 409, "conflict")
    eq(_get(lead["id"]), d, "lead after second convert")
    eq(_counts(), n, "record counts after second convert")


CONVERT_ERRORS = [
    # label, body (tokens substituted), status, code, param
    ("stage_of_other_pipeline", {"create_deal": True, "pipeline_id": "P2", "stage_id": "DEFAULT_STAGE"}, 400,
     "validation_failed", "stage_id"),
    ("pipeline_unknown", {"create_deal": True, "pipeline_id": "pipe_00000000000000000000000000"}, 404, "not_found",
     "pipeline_id"),
    ("pipeline_other_workspace", {"create_deal": True, "pipeline_id": "BPIPE"}, 404, "not_found", "pipeline_id"),
    ("stage_unknown", {"create_deal": True, "stage_id": "stage_00000000000000000000000000"}, 404, "not_found", "stage_id"),
    ("create_deal_string", {"create_deal": "yes"}, 400, "validation_failed", "create_deal"),
    ("deal_name_wrong_type", {"create_deal": True, "deal_name": 5}, 400, "validation_failed", "deal_name"),
    ("unknown_field", {"foo": 1}, 400, "validation_failed", "foo"),
]


def _make_convert_error(label, body, status, code, param):
    def t():
        lead = _lead({"name": "Convert Error " + label, "email": "ce.%s@leads.test" % label.replace("_", "."),
                      "company_name": "Convert Error Co " + label})
        n = _counts()
        m = {"P2": P2["id"], "DEFAULT_STAGE": _open(DST)[0]["id"], "P2_STAGE": _open(P2ST)[0]["id"], "BPIPE": BPIPE["id"]}
        b = {k: m.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
        expect(_convert(lead, b), status, code, param)
        eq(_get(lead["id"]), lead, "lead after rejected convert (%s)" % label)
        eq(_counts(), n, "(contacts, companies, deals) after rejected convert (%s)" % label)
    return t


for _c in CONVERT_ERRORS:
    globals()["test_convert_invalid_" + _c[0]] = _make_convert_error(*_c)


# ------------------------------------------------------------ PATCH /stage

def _stage(lead, body):
    return A.patch("/v1/leads/%s/stage" % lead["id"], body)


def test_stage_won_converts():
    lead = _lead({"name": "Winner Lead", "email": "winner@leads.test", "company_name": "Winner Lead Co"})
    n = _counts()
    d = expect(_stage(lead, {"stage": "won"}), 200)["data"]
    eq((d.get("status"), d.get("stage")), ("converted", "won"), "(status, stage) after stage=won")
    ok(TIME_RE.match(str(d.get("converted_at"))), "converted_at: %r" % d.get("converted_at"))
    expect(A.get("/v1/contacts/%s" % d.get("converted_contact_id")), 200)
    expect(A.get("/v1/companies/%s" % d.get("converted_company_id")), 200)
    ok(d.get("converted_deal_id") is None, "stage=won made a deal: %r" % d.get("converted_deal_id"))
    eq(count(A, "/v1/deals"), n["/v1/deals"], "deal count after stage=won")
    eq(_get(lead["id"]), d, "GET after stage=won")


def test_stage_lost_disqualifies():
    lead = _lead({"name": "Loser Lead", "status": "working"})
    n = _counts()
    d = expect(_stage(lead, {"stage": "lost"}), 200)["data"]
    eq(d.get("status"), "disqualified", "status after stage=lost")
    ok(d.get("converted_contact_id") is None, "stage=lost converted the lead")
    eq(_counts(), n, "record counts after stage=lost")


def test_stage_other_value_sets_stage_and_revives_disqualified():
    lead = _lead({"name": "Stage Lead"})
    d = expect(_stage(lead, {"stage": "demo_booked"}), 200)["data"]
    eq((d.get("stage"), d.get("status")), ("demo_booked", "new"), "(stage, status) of a new lead after stage=demo_booked")
    dq = _lead({"name": "Disq Lead", "status": "disqualified"})
    d2 = expect(_stage(dq, {"stage": "nurture"}), 200)["data"]
    eq((d2.get("stage"), d2.get("status")), ("nurture", "working"), "(stage, status) of a disqualified lead after stage=nurture")
    eq(_get(dq["id"]), d2, "GET after stage PATCH")


def test_stage_filter():
    lead = _lead({"name": "Stage Filter Lead", "stage": "very_unique_stage"})
    eq(ids(list_all(A, "/v1/leads", {"stage": "very_unique_stage"})), [lead["id"]], "?stage=")


def test_stage_on_converted_lead_is_409():
    lead = _lead({"name": "Done Lead", "email": "done@leads.test"})
    d = expect(_convert(lead), 200)["data"]
    n = _counts()
    for st in ("lost", "won", "demo"):
        expect(_stage(lead, {"stage": st}), 409, "conflict")
    eq(_get(lead["id"]), d, "converted lead after stage PATCHes")
    eq(_counts(), n, "record counts after refused stage PATCHes")


STAGE_ERRORS = [
    ("missing_stage", {}, "stage"),
    ("stage_null", {"stage": None}, "stage"),
    ("stage_number", {"stage": 3}, "stage"),
    ("unknown_field", {"stage": "x", "status": "new"}, "status"),
]


def _make_stage_error(label, body, param):
    def t():
        before = _get(TARGET["id"])
        expect(A.patch("/v1/leads/%s/stage" % TARGET["id"], body), 400, "validation_failed", param)
        eq(_get(TARGET["id"]), before, "lead after rejected stage PATCH (%s)" % label)
    return t


for _c in STAGE_ERRORS:
    globals()["test_stage_invalid_" + _c[0]] = _make_stage_error(*_c)


# ------------------------------------------------------------ lead activities

def test_lead_activities():
    lead = _lead({"name": "Active Lead"})
    other = _lead({"name": "Quiet Lead"})
    a1 = expect(A.post("/v1/leads/%s/activities" % lead["id"], {"type": "call", "summary": "First call",
                                                                "body": "talked", "actor": "usr_5"}), 201)["data"]
    check_record(a1, "act_", "lead activity", custom_fields=False)
    eq((a1.get("type"), a1.get("summary"), a1.get("body"), a1.get("actor"), a1.get("related_resource_type"),
        a1.get("related_resource_id")), ("call", "First call", "talked", "usr_5", "lead", lead["id"]),
       "lead activity (type, summary, body, actor, related type, related id)")
    a2 = expect(A.post("/v1/leads/%s/activities" % lead["id"], {"type": "note", "summary": "A note",
                                                                "occurred_at": "2024-03-01T10:00:00Z"}), 201)["data"]
    j = expect(A.get("/v1/leads/%s/activities" % lead["id"]), 200)
    ok("next_cursor" in j, "lead activities list has no next_cursor key")
    eq(sorted(ids(list_all(A, "/v1/leads/%s/activities" % lead["id"]))), sorted(ids([a1, a2])), "activities of the lead")
    eq(list_all(A, "/v1/leads/%s/activities" % other["id"]), [], "activities of another lead")
    eq(expect(A.get("/v1/activities/" + a1["id"]), 200)["data"], a1, "GET /v1/activities/{id}")
    eq(sorted(ids(list_all(A, "/v1/activities", {"related_resource_id": lead["id"]}))), sorted(ids([a1, a2])),
       "GET /v1/activities?related_resource_id=")


LEAD_ACTIVITY_ERRORS = [
    ("missing_type", {"summary": "x"}, "type", ()),
    ("type_enum", {"type": "fax", "summary": "x"}, "type", ("note", "call", "email", "meeting", "agent_action")),
    ("missing_summary", {"type": "note"}, "summary", ()),
    ("occurred_at_bad", {"type": "note", "summary": "x", "occurred_at": "yesterday"}, "occurred_at", ()),
    ("unknown_field", {"type": "note", "summary": "x", "foo": 1}, "foo", ()),
]


def _make_lead_activity_error(label, body, param, frags):
    def t():
        path = "/v1/leads/%s/activities" % TARGET["id"]
        n = count(A, path)
        expect(A.post(path, body), 400, "validation_failed", param, message_has=frags)
        eq(count(A, path), n, "lead activities after rejected create (%s)" % label)
    return t


for _c in LEAD_ACTIVITY_ERRORS:
    globals()["test_lead_activity_invalid_" + _c[0]] = _make_lead_activity_error(*_c)


# ------------------------------------------------------------ upsert

def test_upsert_creates_then_updates_case_insensitively():
    n = count(A, "/v1/leads")
    r1 = A.post("/v1/leads", {"email": "Upsert.Me@Leads.test", "name": "Upsert Me", "title": "First"},
                params={"upsert_on": "email"})
    d1 = expect(r1, 201)["data"]
    eq(count(A, "/v1/leads"), n + 1, "lead count after the upsert create")
    r2 = A.post("/v1/leads", {"email": "upsert.me@LEADS.TEST", "title": "Second", "status": "working"},
                params={"upsert_on": "email"})
    d2 = expect(r2, 200)["data"]
    eq(d2.get("id"), d1["id"], "upsert matched the same lead")
    eq((d2.get("title"), d2.get("status"), d2.get("name")), ("Second", "working", "Upsert Me"),
       "upserted lead (title, status, name kept)")
    eq(count(A, "/v1/leads"), n + 1, "lead count after the upsert update")
    eq(_get(d1["id"]), d2, "GET after upsert update")


UPSERT_ERRORS = [
    # label, params, body, param
    ("missing_email", {"upsert_on": "email"}, {"name": "No Email"}, "upsert_on"),
    ("upsert_on_name", {"upsert_on": "name"}, {"name": "By Name", "email": "byname@leads.test"}, "upsert_on"),
    ("upsert_on_domain", {"upsert_on": "domain"}, {"name": "By Domain", "email": "bydomain@leads.test"}, "upsert_on"),
    ("upsert_on_empty", {"upsert_on": ""}, {"name": "Empty", "email": "empty.upsert@leads.test"}, "upsert_on"),
]


def _make_upsert_error(label, params, body, param):
    def t():
        n = count(A, "/v1/leads")
        expect(A.post("/v1/leads", body, params=params), 400, "validation_failed", param)
        eq(count(A, "/v1/leads"), n, "lead count after rejected upsert (%s)" % label)
    return t


for _c in UPSERT_ERRORS:
    globals()["test_upsert_invalid_" + _c[0]] = _make_upsert_error(*_c)


def test_upsert_invalid_update_changes_nothing():
    d = A.create("/v1/leads", {"email": "upsert.keep@leads.test", "name": "Keep Me"}, params={"upsert_on": "email"})
    expect(A.post("/v1/leads", {"email": "UPSERT.KEEP@leads.test", "status": "boiling"}, params={"upsert_on": "email"}),
           400, "validation_failed", "status")
    eq(_get(d["id"]), d, "lead after rejected upsert update")


# ------------------------------------------------------------ filters and search

LEAD_FILTERS = [
    ({"status": "working"}, ["ben", "cid"]),
    ({"status": "new"}, ["ann"]),
    ({"status": "converted"}, []),
    ({"source": "website"}, ["ann", "cid"]),
    ({"source": "api"}, ["dee"]),
    ({"source": "campaign"}, ["eve"]),
    ({"company_id": "CO1"}, ["ann", "ben"]),
    ({"company_id": "CO1", "status": "working"}, ["ben"]),
    ({"company_id": "CO2"}, ["dee"]),
    ({"owner_id": "usr_lf"}, ["dee"]),
    ({"email": "eve@epsilon.test"}, ["eve"]),
    ({"status": "working", "source": "website"}, ["cid"]),
]

LEAD_SEARCH = [
    ("Alpha", ["ann"]),
    ("zeppelins", ["ann"]),
    ("Quokka", ["cid"]),
    ("epsilon", ["eve"]),
    ("0142", ["ben"]),     # phone '+1 555 0142'
    ("beta", ["ben"]),
    ("nomatchatall", []),
]


def _labels(items):
    back = {v["id"]: k for k, v in LFL.items()}
    return sorted(back.get(i, i) for i in ids(items))


def _make_filter(params, want):
    def t():
        p = {k: (LFL[v]["id"] if v in ("CO1", "CO2") else member(LF, v) if k == "owner_id" else v)
             for k, v in params.items()}
        eq(_labels(list_all(LF, "/v1/leads", p)), sorted(want), "GET /v1/leads?%s" % params)
    return t


for _i, (_p, _w) in enumerate(LEAD_FILTERS):
    globals()["test_filter_%02d_%s" % (_i, "_".join(_p))] = _make_filter(_p, _w)


def _make_search(q, want):
    def t():
        eq(_labels(list_all(LF, "/v1/leads", {"query": q})), sorted(want), "GET /v1/leads?query=%s" % q)
    return t


for _i, (_q, _w) in enumerate(LEAD_SEARCH):
    globals()["test_search_%02d_%s" % (_i, _q)] = _make_search(_q, _w)


BAD_LIST_PARAMS = [
    ({"status": "hot"}, "status"),
    ({"source": "tv"}, "source"),
    ({"foo": "1"}, "foo"),
    ({"value_cents": "5"}, "value_cents"),   # not a filter
]


def _make_bad_param(params, param):
    def t():
        expect(LF.get("/v1/leads", params=params), 400, "validation_failed", param)
    return t


for _i, (_p, _n) in enumerate(BAD_LIST_PARAMS):
    globals()["test_bad_param_%02d_%s" % (_i, _n)] = _make_bad_param(_p, _n)


def test_other_workspace_leads_not_listed():
    lf_ids = set(ids(list_all(LF, "/v1/leads")))
    eq(sorted(lf_ids & set(ids(list_all(A, "/v1/leads")))), [], "LF leads visible to A")
    eq(list_all(A, "/v1/leads", {"query": "zeppelins"}), [], "A searching LF's notes")
