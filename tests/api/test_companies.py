"""Companies: create/get/patch/delete and every validation rule of the
contract, each checked to leave stored data unchanged."""

import time

from harness import Server, check_record, count, eq, expect, member, ok

S = A = None
TARGET = None


def setup_module():
    global S, A, TARGET
    S = Server(name="companies")
    A = S.key("companies-main")
    S.start()
    TARGET = A.create("/v1/companies", {"name": "Target Co", "domain": "target.test", "employee_count": 10,
                                         "currency": "EUR", "custom_fields": {"segment": "smb"}})


def teardown_module():
    S.stop_ok()


def test_create_full_company_and_get_it_back():
    body = {"name": "Globex Corporation", "domain": "globex.com", "website": "https://www.globex.com/about",
            "industry": "Manufacturing", "phone": "+1 555 0100", "employee_count": 0,
            "annual_revenue_cents": 123456789012, "currency": "USD", "owner_id": member(A, "usr_7"),
            "status": "inactive", "city": "Springfield", "country": "US", "notes": "Big account.",
            "custom_fields": {"segment": "enterprise", "rank": 1, "partner": False}}
    d = expect(A.post("/v1/companies", body), 201)["data"]
    check_record(d, "com_", "created company")
    for k, v in body.items():
        eq(d.get(k), v, "created company field %s" % k)
    eq(expect(A.get("/v1/companies/" + d["id"]), 200)["data"], d, "GET after create equals create response")


def test_create_defaults():
    d = A.create("/v1/companies", {"name": "Minimal Co"})
    check_record(d, "com_")
    eq(d.get("status"), "active", "default status")
    eq(d.get("custom_fields"), {}, "default custom_fields")


def test_boundary_lengths_accepted():
    body = {"name": "n" * 200, "domain": "d" * 253, "website": "https://" + "w" * 2040, "industry": "i" * 100,
            "phone": "1" * 50, "notes": "z" * 10000, "annual_revenue_cents": 0, "employee_count": 0}
    d = A.create("/v1/companies", body)
    for k, v in body.items():
        eq(d.get(k), v, "boundary field %s" % k)


def test_large_revenue_is_exact():
    # Money is bounded at +-10^15 cents (test_money.py): the largest value
    # comes back to the cent, and one above 2^53 is refused, not rounded.
    d = A.create("/v1/companies", {"name": "Big Revenue", "annual_revenue_cents": 999999999999999})
    eq(d.get("annual_revenue_cents"), 999999999999999, "annual_revenue_cents at the bound (exact)")
    expect(A.post("/v1/companies", {"name": "Too Big", "annual_revenue_cents": 9007199254740993}), 400,
           "validation_failed", "annual_revenue_cents")


def test_large_employee_count_accepted():
    # The contract bounds employee_count only below (>= 0).
    d = A.create("/v1/companies", {"name": "Big Headcount", "employee_count": 2147483648})
    eq(d.get("employee_count"), 2147483648, "employee_count above 2^31")


def test_patch_partial_and_null():
    c = A.create("/v1/companies", {"name": "Patchable", "industry": "Retail", "phone": "1", "employee_count": 5})
    time.sleep(0.01)
    d = expect(A.patch("/v1/companies/" + c["id"], {"industry": "Wholesale", "phone": None}), 200)["data"]
    eq(d.get("industry"), "Wholesale", "patched industry")
    ok(d.get("phone") is None, "phone not cleared: %r" % d.get("phone"))
    for k in ("name", "employee_count", "status", "created_at"):
        eq(d.get(k), c.get(k), "unpatched field %s" % k)
    ok(d["updated_at"] > c["updated_at"], "updated_at did not advance")
    eq(expect(A.get("/v1/companies/" + c["id"]), 200)["data"], d, "GET after PATCH")


def test_patch_null_on_required_name_is_400():
    before = expect(A.get("/v1/companies/" + TARGET["id"]), 200)["data"]
    expect(A.patch("/v1/companies/" + TARGET["id"], {"name": None}), 400, "validation_failed", "name")
    eq(expect(A.get("/v1/companies/" + TARGET["id"]), 200)["data"], before, "company after rejected PATCH")


def test_delete_then_404():
    c = A.create("/v1/companies", {"name": "Doomed Co"})
    n = count(A, "/v1/companies")
    j = expect(A.delete("/v1/companies/" + c["id"]), 200)
    eq(j["data"].get("id"), c["id"], "DELETE data.id")
    eq(j["data"].get("deleted"), True, "DELETE data.deleted")
    expect(A.get("/v1/companies/" + c["id"]), 404, "not_found")
    expect(A.delete("/v1/companies/" + c["id"]), 404, "not_found")
    eq(count(A, "/v1/companies"), n - 1, "company count after DELETE")


def test_unknown_ids_are_404():
    con = A.create("/v1/contacts", {"name": "Not A Company"})
    for cid in ("com_00000000000000000000000000", "garbage", con["id"]):
        expect(A.get("/v1/companies/" + cid), 404, "not_found")
        expect(A.patch("/v1/companies/" + cid, {"name": "x"}), 404, "not_found")
        expect(A.delete("/v1/companies/" + cid), 404, "not_found")


def _long(n):
    return "x" * n


INVALID_CREATE = [
    # label, body, status, code, param, message fragments
    ("empty_object", {}, 400, "validation_failed", "name", ()),
    ("missing_name", {"domain": "x.com"}, 400, "validation_failed", "name", ()),
    ("name_null", {"name": None}, 400, "validation_failed", "name", ()),
    ("name_wrong_type", {"name": 5}, 400, "validation_failed", "name", ()),
    ("unknown_field", {"name": "x", "foo": 1}, 400, "validation_failed", "foo", ()),
    ("name_201", {"name": _long(201)}, 400, "validation_failed", "name", ()),
    ("domain_254", {"name": "x", "domain": _long(254)}, 400, "validation_failed", "domain", ()),
    ("website_2049", {"name": "x", "website": "https://" + "w" * 2041}, 400, "validation_failed", "website", ()),
    ("industry_101", {"name": "x", "industry": _long(101)}, 400, "validation_failed", "industry", ()),
    ("phone_51", {"name": "x", "phone": "1" * 51}, 400, "validation_failed", "phone", ()),
    ("notes_10001", {"name": "x", "notes": _long(10001)}, 400, "validation_failed", "notes", ()),
    ("employee_count_negative", {"name": "x", "employee_count": -1}, 400, "validation_failed", "employee_count", ()),
    ("employee_count_string", {"name": "x", "employee_count": "ten"}, 400, "validation_failed", "employee_count", ()),
    ("employee_count_float", {"name": "x", "employee_count": 1.5}, 400, "validation_failed", "employee_count", ()),
    ("revenue_float", {"name": "x", "annual_revenue_cents": 10.25}, 400, "validation_failed", "annual_revenue_cents", ()),
    ("revenue_string", {"name": "x", "annual_revenue_cents": "100"}, 400, "validation_failed", "annual_revenue_cents", ()),
    ("currency_lowercase", {"name": "x", "currency": "usd"}, 400, "validation_failed", "currency", ()),
    ("currency_short", {"name": "x", "currency": "US"}, 400, "validation_failed", "currency", ()),
    ("currency_long", {"name": "x", "currency": "USDX"}, 400, "validation_failed", "currency", ()),
    ("currency_digits", {"name": "x", "currency": "123"}, 400, "validation_failed", "currency", ()),
    ("status_enum", {"name": "x", "status": "gone"}, 400, "validation_failed", "status", ("active", "inactive", "archived")),
    ("custom_fields_nested", {"name": "x", "custom_fields": {"a": {"b": 1}}}, 400, "validation_failed", "custom_fields", ()),
    ("custom_fields_array_value", {"name": "x", "custom_fields": {"a": []}}, 400, "validation_failed", "custom_fields", ()),
    ("body_not_json", b"name=x", 400, "validation_failed", None, ()),
    ("body_array", b'[{"name":"x"}]', 400, "validation_failed", None, ()),
    ("body_empty", b"", 400, "validation_failed", None, ()),
]


def _make_invalid_create(label, body, status, code, param, frags):
    def t():
        n = count(A, "/v1/companies")
        r = A.post("/v1/companies", raw=body) if isinstance(body, bytes) else A.post("/v1/companies", body)
        if param is None:
            expect(r, status, code, message_has=frags)
        else:
            expect(r, status, code, param, message_has=frags)
        eq(count(A, "/v1/companies"), n, "company count after rejected create (%s)" % label)
    return t


for _c in INVALID_CREATE:
    globals()["test_create_invalid_" + _c[0]] = _make_invalid_create(*_c)


INVALID_PATCH = [
    ("unknown_field", {"foo": "bar"}, "foo"),
    ("employee_count_negative", {"employee_count": -3}, "employee_count"),
    ("currency_bad", {"currency": "euro"}, "currency"),
    ("status_enum", {"status": "closed"}, "status"),
    ("name_empty_type", {"name": ["x"]}, "name"),
]


def _make_invalid_patch(label, body, param):
    def t():
        path = "/v1/companies/" + TARGET["id"]
        before = expect(A.get(path), 200)["data"]
        expect(A.patch(path, body), 400, "validation_failed", param)
        eq(expect(A.get(path), 200)["data"], before, "company after rejected PATCH (%s)" % label)
    return t


for _c in INVALID_PATCH:
    globals()["test_patch_invalid_" + _c[0]] = _make_invalid_patch(*_c)
