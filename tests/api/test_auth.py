"""Authentication and scopes: 401 for missing/malformed/unknown/revoked
tokens, 403 naming the missing scope, and nothing written by a refused
request."""

import time

from harness import Server, cli, count, eq, expect, ok

S = A = RO = WO = SUP = DOOMED = None
CONTACT = COMPANY = None


def setup_module():
    global S, A, RO, WO, SUP, DOOMED, CONTACT, COMPANY
    S = Server(name="auth")
    A = S.key("auth-main")
    RO = S.key("auth-main", "crm:read")
    WO = S.key("auth-main", "crm:write")
    SUP = S.key("auth-main", "support:read")
    DOOMED = S.key("auth-main", "all", name="doomed")
    S.start()
    CONTACT = A.create("/v1/contacts", {"name": "Auth Target", "title": "Original"})
    COMPANY = A.create("/v1/companies", {"name": "Auth Co"})


def teardown_module():
    S.stop_ok()


UNAUTH_CASES = [
    # label, Authorization header value (None: no header)
    ("no_header", None),
    ("basic_scheme", "Basic dXNlcjpwYXNz"),
    ("bearer_no_token", "Bearer"),
    ("bearer_empty", "Bearer "),
    ("unknown_token", "Bearer ck_0000000000000000000000000000000000000000"),
    ("no_ck_prefix", "Bearer abcdef"),
    ("token_only_no_scheme", "TOKEN"),  # replaced with the real token, without "Bearer "
    ("token_with_suffix", "Bearer TOKENx"),
]


def _make_unauth_test(label, value):
    def t():
        hdrs = {}
        if value is not None:
            hdrs["Authorization"] = value.replace("TOKEN", A.token)
        n = count(A, "/v1/contacts")
        expect(S.request("GET", "/v1/contacts", headers=hdrs), 401, "unauthorized")
        expect(S.request("POST", "/v1/contacts", body={"name": "Should Not Exist"}, headers=hdrs), 401, "unauthorized")
        expect(S.request("GET", "/v1/contacts/" + CONTACT["id"], headers=hdrs), 401, "unauthorized")
        eq(count(A, "/v1/contacts"), n, "contact count after 401s")
    return t


for _c in UNAUTH_CASES:
    globals()["test_401_" + _c[0]] = _make_unauth_test(*_c)


def test_valid_token_works():
    expect(A.get("/v1/contacts"), 200)
    expect(RO.get("/v1/contacts"), 200)
    expect(RO.get("/v1/contacts/" + CONTACT["id"]), 200)


FORBIDDEN_CASES = [
    # label, client name, method, path (CONTACT/COMPANY substituted), body, scope named in the message
    ("read_key_post_contact", "RO", "POST", "/v1/contacts", {"name": "No"}, "crm:write"),
    ("read_key_patch_contact", "RO", "PATCH", "/v1/contacts/{con}", {"title": "Changed"}, "crm:write"),
    ("read_key_delete_contact", "RO", "DELETE", "/v1/contacts/{con}", None, "crm:write"),
    ("read_key_post_company", "RO", "POST", "/v1/companies", {"name": "No Co"}, "crm:write"),
    ("read_key_post_membership", "RO", "POST", "/v1/contacts/{con}/company-memberships", {"company_id": "{com}"}, "crm:write"),
    ("support_key_list_contacts", "SUP", "GET", "/v1/contacts", None, "crm:read"),
    ("support_key_get_contact", "SUP", "GET", "/v1/contacts/{con}", None, "crm:read"),
    ("support_key_list_companies", "SUP", "GET", "/v1/companies", None, "crm:read"),
    ("support_key_post_contact", "SUP", "POST", "/v1/contacts", {"name": "No"}, "crm:write"),
]


def _sub(v):
    if isinstance(v, str):
        return v.replace("{con}", CONTACT["id"]).replace("{com}", COMPANY["id"])
    if isinstance(v, dict):
        return {k: _sub(x) for k, x in v.items()}
    return v


def _make_forbidden_test(label, who, method, path, body, scope):
    def t():
        c = {"RO": RO, "SUP": SUP}[who]
        before_n = count(A, "/v1/contacts")
        before = expect(A.get("/v1/contacts/" + CONTACT["id"]), 200)["data"]
        r = c.request(method, _sub(path), body=_sub(body))
        expect(r, 403, "forbidden", message_has=(scope,))
        eq(count(A, "/v1/contacts"), before_n, "contact count after 403")
        eq(expect(A.get("/v1/contacts/" + CONTACT["id"]), 200)["data"], before, "contact after 403")
        eq(count(A, "/v1/contacts/%s/company-memberships" % CONTACT["id"]), 0, "memberships after 403")
    return t


for _c in FORBIDDEN_CASES:
    globals()["test_403_" + _c[0]] = _make_forbidden_test(*_c)


def test_write_only_key_can_create():
    c = WO.create("/v1/contacts", {"name": "Written By WO"})
    expect(A.get("/v1/contacts/" + c["id"]), 200)


def test_revoked_key_is_401_after_cache_window():
    expect(DOOMED.get("/v1/contacts"), 200)
    p = cli("key", "revoke", DOOMED.id, "--db", S.db)
    eq(p.returncode, 0, "cairn key revoke %s exit code (stderr %r)" % (DOOMED.id, p.stderr.strip()))
    time.sleep(2.5)
    expect(DOOMED.get("/v1/contacts"), 401, "unauthorized")
    expect(DOOMED.post("/v1/contacts", {"name": "After Revoke"}), 401, "unauthorized")
    eq(count(A, "/v1/contacts", {"query": "Revoke"}), 0, "contacts named After Revoke")
    # other keys are unaffected
    expect(A.get("/v1/contacts"), 200)


def test_token_not_in_error_bodies():
    r = S.request("GET", "/v1/contacts", headers={"Authorization": "Bearer " + A.token + "x"})
    ok(A.token not in r.body.decode("utf-8", "replace"), "401 body echoes the token")
