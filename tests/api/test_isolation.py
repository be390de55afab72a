"""Workspace isolation: a key of workspace B never sees, changes or links to
records of workspace A; every such attempt is 404 (never 403), and A's data
stays as it was."""

from harness import Server, count, eq, expect, ids, list_all, ok

S = A = B = None
ACON = ACOM = BCON = None
MARK = "quetzalcoatl"   # a word only A's records contain


def setup_module():
    global S, A, B, ACON, ACOM, BCON
    S = Server(name="isolation")
    A = S.key("iso-a")
    B = S.key("iso-b")
    S.start()
    ACOM = A.create("/v1/companies", {"name": "Alpha " + MARK, "domain": "alpha.test", "industry": "Isolated",
                                       "custom_fields": {"secret": "a"}})
    ACON = A.create("/v1/contacts", {"name": "Alice " + MARK, "email": "alice@alpha.test", "company_id": ACOM["id"],
                                      "country": "IS", "custom_fields": {"secret": "a"}})
    BCON = B.create("/v1/contacts", {"name": "Bert Beta"})


def teardown_module():
    S.stop_ok()


def _a_unchanged():
    eq(expect(A.get("/v1/contacts/" + ACON["id"]), 200)["data"], ACON, "A's contact")
    eq(expect(A.get("/v1/companies/" + ACOM["id"]), 200)["data"], ACOM, "A's company")


CROSS = [
    # label, method, path template, body
    ("get_contact", "GET", "/v1/contacts/{con}", None),
    ("patch_contact", "PATCH", "/v1/contacts/{con}", {"name": "Hijacked"}),
    ("delete_contact", "DELETE", "/v1/contacts/{con}", None),
    ("get_company", "GET", "/v1/companies/{com}", None),
    ("patch_company", "PATCH", "/v1/companies/{com}", {"name": "Hijacked Co"}),
    ("delete_company", "DELETE", "/v1/companies/{com}", None),
    ("company_contacts", "GET", "/v1/companies/{com}/contacts", None),
    ("list_memberships", "GET", "/v1/contacts/{con}/company-memberships", None),
    ("add_membership", "POST", "/v1/contacts/{con}/company-memberships", {"company_id": "{com}"}),
]


def _fill(v):
    if isinstance(v, str):
        return v.replace("{con}", ACON["id"]).replace("{com}", ACOM["id"])
    if isinstance(v, dict):
        return {k: _fill(x) for k, x in v.items()}
    return v


def _make_cross_test(label, method, path, body):
    def t():
        expect(B.request(method, _fill(path), body=_fill(body)), 404, "not_found")
        _a_unchanged()
    return t


for _c in CROSS:
    globals()["test_b_cannot_" + _c[0]] = _make_cross_test(*_c)


def test_b_list_and_search_do_not_show_a():
    b_ids = ids(list_all(B, "/v1/contacts"))
    eq(b_ids, [BCON["id"]], "B's contact list")
    ok(ACOM["id"] not in ids(list_all(B, "/v1/companies")), "A's company in B's company list")
    for path, params in [("/v1/contacts", {"query": MARK}), ("/v1/companies", {"query": MARK}),
                         ("/v1/contacts", {"email": "alice@alpha.test"}), ("/v1/contacts", {"country": "IS"}),
                         ("/v1/companies", {"industry": "Isolated"}),
                         ("/v1/contacts", {"custom_field_key": "secret", "custom_field_value": "a"})]:
        eq(ids(list_all(B, path, params)), [], "B: GET %s %s" % (path, params))


def test_b_filter_by_a_company_id_shows_nothing():
    r = B.get("/v1/contacts", params={"company_id": ACOM["id"]})
    ok(r.status in (200, 404), "%s: %s" % (r.request_line(), r.describe()))
    if r.status == 200:
        eq(ids(r.json["data"]), [], "B: contacts filtered by A's company_id")


def test_b_cannot_link_a_company():
    n = count(B, "/v1/contacts")
    expect(B.post("/v1/contacts", {"name": "Linker", "company_id": ACOM["id"]}), 404, "not_found", "company_id")
    eq(count(B, "/v1/contacts"), n, "B contact count after 404")
    expect(B.patch("/v1/contacts/" + BCON["id"], {"company_id": ACOM["id"]}), 404, "not_found", "company_id")
    ok(expect(B.get("/v1/contacts/" + BCON["id"]), 200)["data"].get("company_id") is None, "B contact got A's company")
    expect(B.post("/v1/contacts/%s/company-memberships" % BCON["id"], {"company_id": ACOM["id"]}), 404, "not_found", "company_id")
    eq(count(B, "/v1/contacts/%s/company-memberships" % BCON["id"]), 0, "B memberships")
    _a_unchanged()


def test_a_cannot_touch_b_either():
    expect(A.get("/v1/contacts/" + BCON["id"]), 404, "not_found")
    expect(A.delete("/v1/contacts/" + BCON["id"]), 404, "not_found")
    expect(B.get("/v1/contacts/" + BCON["id"]), 200)


def test_workspaces_differ():
    wa = expect(A.get("/v1/workspace"), 200)["data"]
    wb = expect(B.get("/v1/workspace"), 200)["data"]
    ok(wa["id"] != wb["id"], "both keys see workspace %s" % wa["id"])
    eq((wa["name"], wb["name"]), ("iso-a", "iso-b"), "workspace names")
