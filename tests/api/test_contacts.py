"""Contacts: create/get/patch/delete, derived fields, and every validation
rule of the contract, each checked to leave stored data unchanged."""

import time

from harness import Server, check_record, count, eq, expect, member, ok

S = A = None
COMPANY = None
TARGET = None  # a contact that invalid PATCHes must not change


def setup_module():
    global S, A, COMPANY, TARGET
    S = Server(name="contacts")
    A = S.key("contacts-main")
    S.start()
    COMPANY = A.create("/v1/companies", {"name": "Acme Corp", "domain": "acme.com"})
    TARGET = A.create("/v1/contacts", {"first_name": "Pat", "last_name": "Target", "email": "pat@target.test",
                                        "phone": "+1 555 0100", "title": "Buyer", "status": "active",
                                        "custom_fields": {"tier": "gold"}})


def teardown_module():
    S.stop_ok()


# ------------------------------------------------------------ happy paths

def test_create_full_contact_and_get_it_back():
    body = {"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.com", "phone": "+1 555 0199",
            "title": "VP Sales", "company_id": COMPANY["id"], "owner_id": member(A, "usr_42"), "status": "inactive",
            "lifecycle_stage": "customer", "city": "Berlin", "country": "DE", "notes": "Met at a fair.",
            "custom_fields": {"tier": "gold", "seats": 12, "vip": True, "score": 2.5}}
    r = A.post("/v1/contacts", body)
    j = expect(r, 201)
    d = j["data"]
    check_record(d, "con_", "created contact")
    ok(j.get("request_id", "").startswith("req_"), "create: request_id %r" % j.get("request_id"))
    for k, v in body.items():
        eq(d.get(k), v, "created contact field %s" % k)
    eq(d.get("name"), "Jane Doe", "derived name")
    eq(d.get("company_name"), "Acme Corp", "company_name filled from company_id")
    eq(d["created_at"], d["updated_at"], "created_at == updated_at on create")
    g = expect(A.get("/v1/contacts/" + d["id"]), 200)
    eq(g["data"], d, "GET after create equals create response")


def test_create_defaults():
    d = A.create("/v1/contacts", {"email": "only.email@example.com"})
    check_record(d, "con_")
    eq(d.get("status"), "active", "default status")
    eq(d.get("custom_fields"), {}, "default custom_fields")
    ok(d.get("lifecycle_stage") is None, "lifecycle_stage should be absent/null, got %r" % d.get("lifecycle_stage"))


DERIVED_NAME_CASES = [
    ({"first_name": "Ada", "last_name": "Lovelace"}, "Ada Lovelace"),
    ({"first_name": "Cher"}, "Cher"),
    ({"last_name": "Madonna"}, "Madonna"),
    ({"name": "Explicit Name", "first_name": "Other", "last_name": "Person"}, "Explicit Name"),
]


def test_derived_name():
    for body, want in DERIVED_NAME_CASES:
        eq(A.create("/v1/contacts", body).get("name"), want, "name derived from %s" % body)


def test_explicit_company_name_wins_over_company_id():
    d = A.create("/v1/contacts", {"name": "Own Co", "company_id": COMPANY["id"], "company_name": "Acme Europe"})
    eq(d.get("company_name"), "Acme Europe", "explicit company_name")
    eq(d.get("company_id"), COMPANY["id"], "company_id")


def test_boundary_lengths_accepted():
    body = {"first_name": "f" * 100, "last_name": "l" * 100, "name": "n" * 200, "phone": "1" * 50,
            "title": "t" * 200, "company_name": "c" * 200, "city": "y" * 100,
            "country": "k" * 100, "notes": "z" * 10000, "email": "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 61}
    ok(len(body["email"]) == 254, "test bug: email length %d" % len(body["email"]))
    d = A.create("/v1/contacts", body)
    for k, v in body.items():
        eq(d.get(k), v, "boundary-length field %s" % k)


def test_ids_are_time_ordered():
    a = A.create("/v1/contacts", {"name": "Order One"})
    time.sleep(0.01)
    b = A.create("/v1/contacts", {"name": "Order Two"})
    ok(a["id"] < b["id"], "ids not time-ordered: %s then %s" % (a["id"], b["id"]))


def test_patch_is_partial():
    c = A.create("/v1/contacts", {"first_name": "Sam", "last_name": "Partial", "email": "sam@p.test",
                                   "title": "Eng", "phone": "123", "custom_fields": {"a": "1"}})
    time.sleep(0.01)
    d = expect(A.patch("/v1/contacts/" + c["id"], {"title": "Staff Eng", "lifecycle_stage": "lead"}), 200)["data"]
    eq(d.get("title"), "Staff Eng", "patched title")
    eq(d.get("lifecycle_stage"), "lead", "patched lifecycle_stage")
    for k in ("first_name", "last_name", "email", "phone", "name", "status", "created_at", "id", "custom_fields"):
        eq(d.get(k), c.get(k), "unpatched field %s" % k)
    ok(d["updated_at"] > c["updated_at"], "updated_at did not advance: %s -> %s" % (c["updated_at"], d["updated_at"]))
    eq(expect(A.get("/v1/contacts/" + c["id"]), 200)["data"], d, "GET after PATCH equals PATCH response")


def test_patch_null_clears_optional_field():
    c = A.create("/v1/contacts", {"name": "Null Clear", "phone": "555", "title": "X", "lifecycle_stage": "lead"})
    d = expect(A.patch("/v1/contacts/" + c["id"], {"phone": None, "lifecycle_stage": None}), 200)["data"]
    ok(d.get("phone") is None, "phone not cleared: %r" % d.get("phone"))
    ok(d.get("lifecycle_stage") is None, "lifecycle_stage not cleared: %r" % d.get("lifecycle_stage"))
    eq(d.get("title"), "X", "title untouched")
    g = expect(A.get("/v1/contacts/" + c["id"]), 200)["data"]
    ok(g.get("phone") is None, "phone not cleared in GET: %r" % g.get("phone"))


def test_patch_custom_fields_and_company():
    c = A.create("/v1/contacts", {"name": "Custom Patch"})
    d = expect(A.patch("/v1/contacts/" + c["id"], {"custom_fields": {"tier": "silver", "n": 3},
                                                   "company_id": COMPANY["id"]}), 200)["data"]
    eq(d["custom_fields"].get("tier"), "silver", "custom_fields.tier after PATCH")
    eq(d["custom_fields"].get("n"), 3, "custom_fields.n after PATCH")
    eq(d.get("company_id"), COMPANY["id"], "company_id after PATCH")


def test_delete_then_404():
    c = A.create("/v1/contacts", {"name": "Doomed Contact"})
    n = count(A, "/v1/contacts")
    j = expect(A.delete("/v1/contacts/" + c["id"]), 200)
    eq(j["data"].get("id"), c["id"], "DELETE data.id")
    eq(j["data"].get("deleted"), True, "DELETE data.deleted")
    expect(A.get("/v1/contacts/" + c["id"]), 404, "not_found")
    expect(A.patch("/v1/contacts/" + c["id"], {"title": "ghost"}), 404, "not_found")
    expect(A.delete("/v1/contacts/" + c["id"]), 404, "not_found")
    eq(count(A, "/v1/contacts"), n - 1, "contact count after DELETE")
    ok(c["id"] not in [x["id"] for x in A.get("/v1/contacts", params={"limit": 100}).json["data"]],
       "deleted contact still listed")


UNKNOWN_ID_CASES = [
    "con_00000000000000000000000000",
    "con_ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
    "not-an-id",
    "con_%27%20OR%201%3D1--",
]


def test_unknown_ids_are_404():
    for cid in UNKNOWN_ID_CASES + [COMPANY["id"]]:
        expect(A.get("/v1/contacts/" + cid), 404, "not_found")
        expect(A.patch("/v1/contacts/" + cid, {"title": "x"}), 404, "not_found")
        expect(A.delete("/v1/contacts/" + cid), 404, "not_found")


# ------------------------------------------------------------ invalid creates

def _long(n):
    return "x" * n


INVALID_CREATE = [
    # label, body (dict) or raw bytes, status, code, param (None: not checked), message fragments
    ("empty_object", {}, 400, "validation_failed", "name", ()),
    ("only_unrelated_fields", {"title": "CEO", "city": "Paris"}, 400, "validation_failed", "name", ()),
    ("unknown_field", {"name": "x", "foo": 1}, 400, "validation_failed", "foo", ()),
    ("name_wrong_type", {"name": 5}, 400, "validation_failed", "name", ()),
    ("email_wrong_type", {"name": "x", "email": 5}, 400, "validation_failed", "email", ()),
    ("first_name_bool", {"first_name": True}, 400, "validation_failed", "first_name", ()),
    ("status_wrong_type", {"name": "x", "status": 1}, 400, "validation_failed", "status", ()),
    ("first_name_101", {"first_name": _long(101)}, 400, "validation_failed", "first_name", ()),
    ("last_name_101", {"last_name": _long(101)}, 400, "validation_failed", "last_name", ()),
    ("name_201", {"name": _long(201)}, 400, "validation_failed", "name", ()),
    ("email_255", {"email": "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 62}, 400, "validation_failed", "email", ()),
    ("phone_51", {"name": "x", "phone": "1" * 51}, 400, "validation_failed", "phone", ()),
    ("title_201", {"name": "x", "title": _long(201)}, 400, "validation_failed", "title", ()),
    ("company_name_201", {"name": "x", "company_name": _long(201)}, 400, "validation_failed", "company_name", ()),
    ("owner_id_unknown", {"name": "x", "owner_id": "mem_00000000000000000000000000"}, 404, "not_found", "owner_id", ()),
    ("owner_id_is_contact", {"name": "x", "owner_id": "TARGET"}, 404, "not_found", "owner_id", ()),
    ("owner_id_65", {"name": "x", "owner_id": _long(65)}, 400, "validation_failed", "owner_id", ()),
    ("city_101", {"name": "x", "city": _long(101)}, 400, "validation_failed", "city", ()),
    ("country_101", {"name": "x", "country": _long(101)}, 400, "validation_failed", "country", ()),
    ("notes_10001", {"name": "x", "notes": _long(10001)}, 400, "validation_failed", "notes", ()),
    ("email_no_at", {"email": "not-an-email"}, 400, "validation_failed", "email", ()),
    ("email_no_domain", {"email": "jane@"}, 400, "validation_failed", "email", ()),
    ("email_no_local", {"email": "@acme.com"}, 400, "validation_failed", "email", ()),
    ("email_space", {"email": "jane doe@acme.com"}, 400, "validation_failed", "email", ()),
    ("status_enum", {"name": "x", "status": "deleted"}, 400, "validation_failed", "status", ("active", "inactive", "archived")),
    ("lifecycle_enum", {"name": "x", "lifecycle_stage": "prospect"}, 400, "validation_failed", "lifecycle_stage",
     ("subscriber", "lead", "opportunity", "customer", "evangelist", "other")),
    ("custom_fields_nested_object", {"name": "x", "custom_fields": {"a": {"b": 1}}}, 400, "validation_failed", "custom_fields", ()),
    ("custom_fields_array_value", {"name": "x", "custom_fields": {"a": [1, 2]}}, 400, "validation_failed", "custom_fields", ()),
    ("custom_fields_not_object", {"name": "x", "custom_fields": "tier=gold"}, 400, "validation_failed", "custom_fields", ()),
    ("custom_fields_array", {"name": "x", "custom_fields": [1]}, 400, "validation_failed", "custom_fields", ()),
    ("company_id_unknown", {"name": "x", "company_id": "com_00000000000000000000000000"}, 404, "not_found", "company_id", ()),
    ("company_id_is_contact", {"name": "x", "company_id": "TARGET"}, 404, "not_found", "company_id", ()),
    ("company_id_wrong_type", {"name": "x", "company_id": 7}, 400, "validation_failed", "company_id", ()),
    ("body_not_json", b"{name: x}", 400, "validation_failed", None, ()),
    ("body_truncated", b'{"name": "x"', 400, "validation_failed", None, ()),
    ("body_trailing_garbage", b'{"name": "x"} extra', 400, "validation_failed", None, ()),
    ("body_array", b"[1]", 400, "validation_failed", None, ()),
    ("body_string", b'"x"', 400, "validation_failed", None, ()),
    ("body_null", b"null", 400, "validation_failed", None, ()),
    ("body_number", b"42", 400, "validation_failed", None, ()),
    ("body_empty", b"", 400, "validation_failed", None, ()),
]


def _fix(body):
    if isinstance(body, dict):
        return {k: (TARGET["id"] if v == "TARGET" else v) for k, v in body.items()}
    return body


def _make_invalid_create(label, body, status, code, param, frags):
    def t():
        n = count(A, "/v1/contacts")
        b = _fix(body)
        r = A.post("/v1/contacts", raw=b) if isinstance(b, bytes) else A.post("/v1/contacts", b)
        if param is None:
            expect(r, status, code, message_has=frags)
        else:
            expect(r, status, code, param, message_has=frags)
        eq(count(A, "/v1/contacts"), n, "contact count after rejected create (%s)" % label)
    return t


for _c in INVALID_CREATE:
    globals()["test_create_invalid_" + _c[0]] = _make_invalid_create(*_c)


# ------------------------------------------------------------ invalid patches

INVALID_PATCH = [
    # label, body, status, code, param
    ("unknown_field", {"foo": 1}, 400, "validation_failed", "foo"),
    ("unknown_and_known", {"title": "New", "bar": True}, 400, "validation_failed", "bar"),
    ("email_invalid", {"email": "bad"}, 400, "validation_failed", "email"),
    ("email_wrong_type", {"email": ["a@b.c"]}, 400, "validation_failed", "email"),
    ("title_201", {"title": _long(201)}, 400, "validation_failed", "title"),
    ("status_enum", {"status": "gone"}, 400, "validation_failed", "status"),
    ("lifecycle_enum", {"lifecycle_stage": "whale"}, 400, "validation_failed", "lifecycle_stage"),
    ("custom_fields_nested", {"custom_fields": {"x": {"y": 1}}}, 400, "validation_failed", "custom_fields"),
    ("company_unknown", {"company_id": "com_00000000000000000000000000"}, 404, "not_found", "company_id"),
    ("body_not_json", b"{", 400, "validation_failed", None),
    ("body_array", b"[]", 400, "validation_failed", None),
]


def _make_invalid_patch(label, body, status, code, param):
    def t():
        path = "/v1/contacts/" + TARGET["id"]
        before = expect(A.get(path), 200)["data"]
        r = A.patch(path, raw=body) if isinstance(body, bytes) else A.patch(path, body)
        if param is None:
            expect(r, status, code)
        else:
            expect(r, status, code, param)
        eq(expect(A.get(path), 200)["data"], before, "contact after rejected PATCH (%s)" % label)
    return t


for _c in INVALID_PATCH:
    globals()["test_patch_invalid_" + _c[0]] = _make_invalid_patch(*_c)
