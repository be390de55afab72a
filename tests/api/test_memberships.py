"""Contact-company memberships (/v1/contacts/{id}/company-memberships) and
the company's contacts view (/v1/companies/{id}/contacts)."""

from harness import Server, check_record, count, eq, expect, ids, list_all, ok

S = A = B = None
X = Y = Z = None          # companies in A
C1 = C2 = C3 = None       # contacts in A
BCON = BCOM = None        # records of workspace B


def setup_module():
    global S, A, B, X, Y, Z, C1, C2, C3, BCON, BCOM
    S = Server(name="memberships")
    A = S.key("mem-a")
    B = S.key("mem-b")
    S.start()
    X = A.create("/v1/companies", {"name": "Xenon Labs"})
    Y = A.create("/v1/companies", {"name": "Yarrow Inc"})
    Z = A.create("/v1/companies", {"name": "Zephyr Ltd"})
    C1 = A.create("/v1/contacts", {"name": "Member One"})
    C2 = A.create("/v1/contacts", {"name": "Member Two"})
    C3 = A.create("/v1/contacts", {"name": "Direct Three", "company_id": X["id"]})
    BCON = B.create("/v1/contacts", {"name": "Other Workspace Person"})
    BCOM = B.create("/v1/companies", {"name": "Other Workspace Co"})


def teardown_module():
    S.stop_ok()


def _mpath(contact, mid=None):
    p = "/v1/contacts/%s/company-memberships" % contact["id"]
    return p + "/" + mid if mid else p


def test_membership_lifecycle():
    m = expect(A.post(_mpath(C1), {"company_id": X["id"], "role": "CTO", "is_primary": True}), 201)["data"]
    check_record(m, "ccm_", "membership", custom_fields=False)
    eq(m.get("contact_id"), C1["id"], "membership contact_id")
    eq(m.get("company_id"), X["id"], "membership company_id")
    eq(m.get("role"), "CTO", "membership role")
    eq(m.get("is_primary"), True, "membership is_primary")
    m2 = expect(A.post(_mpath(C1), {"company_id": Y["id"]}), 201)["data"]
    eq(m2.get("is_primary"), False, "default is_primary")
    j = expect(A.get(_mpath(C1)), 200)
    ok("next_cursor" in j, "membership list has no next_cursor key")
    eq(sorted(ids(j["data"])), sorted([m["id"], m2["id"]]), "memberships of C1")
    eq(expect(A.get(_mpath(C1, m["id"])), 200)["data"], m, "GET membership")
    p = expect(A.patch(_mpath(C1, m2["id"]), {"role": "Advisor", "is_primary": True}), 200)["data"]
    eq(p.get("role"), "Advisor", "patched role")
    eq(p.get("is_primary"), True, "patched is_primary")
    eq(p.get("company_id"), Y["id"], "company_id after PATCH")
    d = expect(A.delete(_mpath(C1, m2["id"])), 200)["data"]
    eq((d.get("id"), d.get("deleted")), (m2["id"], True), "DELETE membership data (id, deleted)")
    expect(A.get(_mpath(C1, m2["id"])), 404, "not_found")
    eq(ids(list_all(A, _mpath(C1))), [m["id"]], "memberships of C1 after DELETE")


def test_membership_has_custom_fields():
    # The brief: every record has custom_fields (an object, default {}).
    c = A.create("/v1/contacts", {"name": "Member Custom"})
    m = expect(A.post(_mpath(c), {"company_id": X["id"]}), 201)["data"]
    eq(m.get("custom_fields"), {}, "membership custom_fields")


def test_duplicate_membership_is_409():
    expect(A.post(_mpath(C2), {"company_id": Z["id"]}), 201)
    n = count(A, _mpath(C2))
    expect(A.post(_mpath(C2), {"company_id": Z["id"], "role": "Again"}), 409, "conflict")
    eq(count(A, _mpath(C2)), n, "membership count after 409")


INVALID = [
    # label, body, status, code, param
    ("missing_company", {"role": "x"}, 400, "validation_failed", "company_id"),
    ("empty", {}, 400, "validation_failed", "company_id"),
    ("role_101", {"company_id": "Y", "role": "r" * 101}, 400, "validation_failed", "role"),
    ("is_primary_string", {"company_id": "Y", "is_primary": "yes"}, 400, "validation_failed", "is_primary"),
    ("unknown_field", {"company_id": "Y", "foo": 1}, 400, "validation_failed", "foo"),
    ("company_unknown", {"company_id": "com_00000000000000000000000000"}, 404, "not_found", "company_id"),
    ("company_other_workspace", {"company_id": "BCOM"}, 404, "not_found", "company_id"),
    ("company_is_contact", {"company_id": "C1"}, 404, "not_found", "company_id"),
]


def _resolve(body):
    m = {"Y": Y, "BCOM": BCOM, "C1": C1}
    return {k: (m[v]["id"] if isinstance(v, str) and v in m else v) for k, v in body.items()}


def _make_invalid(label, body, status, code, param):
    def t():
        n = count(A, _mpath(C3))
        expect(A.post(_mpath(C3), _resolve(body)), status, code, param)
        eq(count(A, _mpath(C3)), n, "membership count after rejected create (%s)" % label)
    return t


for _c in INVALID:
    globals()["test_invalid_membership_" + _c[0]] = _make_invalid(*_c)


def test_unknown_contact_is_404():
    ghost = {"id": "con_00000000000000000000000000"}
    expect(A.get(_mpath(ghost)), 404, "not_found")
    expect(A.post(_mpath(ghost), {"company_id": X["id"]}), 404, "not_found")


def test_membership_of_other_contact_is_404():
    m = expect(A.post(_mpath(C3), {"company_id": Y["id"]}), 201)["data"]
    expect(A.get(_mpath(C2, m["id"])), 404, "not_found")
    expect(A.patch(_mpath(C2, m["id"]), {"role": "x"}), 404, "not_found")
    expect(A.delete(_mpath(C2, m["id"])), 404, "not_found")
    eq(expect(A.get(_mpath(C3, m["id"])), 200)["data"].get("role"), m.get("role"), "membership untouched")


def test_other_workspace_contact_is_404():
    expect(A.get(_mpath(BCON)), 404, "not_found")
    expect(A.post(_mpath(BCON), {"company_id": X["id"]}), 404, "not_found")
    eq(count(B, _mpath(BCON)), 0, "B contact memberships after A's attempts")
    bm = expect(B.post(_mpath(BCON), {"company_id": BCOM["id"]}), 201)["data"]
    expect(A.get(_mpath(BCON, bm["id"])), 404, "not_found")
    expect(A.patch(_mpath(BCON, bm["id"]), {"role": "hijack"}), 404, "not_found")
    expect(A.delete(_mpath(BCON, bm["id"])), 404, "not_found")
    eq(expect(B.get(_mpath(BCON, bm["id"])), 200)["data"], bm, "B membership after A's attempts")


def test_company_contacts_view():
    co = A.create("/v1/companies", {"name": "View Co"})
    direct = A.create("/v1/contacts", {"name": "Direct View", "company_id": co["id"]})
    member = A.create("/v1/contacts", {"name": "Member View"})
    A.create("/v1/contacts", {"name": "Unrelated View"})
    m = expect(A.post(_mpath(member), {"company_id": co["id"]}), 201)["data"]
    both = A.create("/v1/contacts", {"name": "Both View", "company_id": co["id"]})
    expect(A.post(_mpath(both), {"company_id": co["id"]}), 201)
    path = "/v1/companies/%s/contacts" % co["id"]
    j = expect(A.get(path), 200)
    ok("next_cursor" in j, "GET %s: no next_cursor key" % path)
    got = ids(list_all(A, path))
    eq(sorted(got), sorted([direct["id"], member["id"], both["id"]]), "GET %s contact set (each once)" % path)
    expect(A.delete(_mpath(member, m["id"])), 200)
    eq(sorted(ids(list_all(A, path))), sorted([direct["id"], both["id"]]), "GET %s after the membership is deleted" % path)


def test_company_contacts_view_404s():
    expect(A.get("/v1/companies/%s/contacts" % BCOM["id"]), 404, "not_found")
    expect(A.get("/v1/companies/com_00000000000000000000000000/contacts"), 404, "not_found")
