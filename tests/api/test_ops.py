"""Operational endpoints: healthz, readyz, metrics, OpenAPI, /v1/workspace,
and the request-id contract (X-Request-Id on every response, equal to the
body's request_id)."""

import datetime

from harness import Server, TIME_RE, eq, expect, id_re, ok

S = A = RO = SUP = None


def setup_module():
    global S, A, RO, SUP
    S = Server(name="ops")
    A = S.key("ops-main")
    RO = S.key("ops-main", "crm:read")
    SUP = S.key("ops-main", "support:read")
    S.start()


def teardown_module():
    S.stop_ok()


def test_healthz_no_auth():
    r = S.request("GET", "/healthz")
    j = expect(r, 200)
    eq(j.get("status"), "ok", "GET /healthz body status")
    ok(r.headers.get("x-request-id", "").startswith("req_"), "GET /healthz: X-Request-Id missing or not req_: %r" % r.headers.get("x-request-id"))


def test_readyz_no_auth():
    expect(S.request("GET", "/readyz"), 200)


def test_metrics_prometheus_text():
    S.request("GET", "/healthz")
    A.get("/v1/contacts")
    r = A.get("/metrics")  # a key with workspace:admin (--scopes all); test_metrics.py has the rest
    eq(r.status, 200, "GET /metrics status")
    text = r.body.decode("utf-8", "replace")
    ok(r.headers.get("content-type", "").startswith("text/plain"),
       "GET /metrics Content-Type %r, want text/plain..." % r.headers.get("content-type"))
    for name in ("cairn_http_requests_total", "cairn_http_request_duration_seconds_bucket"):
        ok(name in text, "GET /metrics: %s not in body (first 300 chars: %r)" % (name, text[:300]))
    ok("# TYPE cairn_http_requests_total counter" in text,
       "GET /metrics: no '# TYPE cairn_http_requests_total counter' line")
    ok('le="+Inf"' in text, 'GET /metrics: histogram has no le="+Inf" bucket')


def test_openapi_document():
    r = S.request("GET", "/v1/openapi.json")
    doc = expect(r, 200)
    ok(str(doc.get("openapi", "")).startswith("3.1"), "openapi version %r, want 3.1.x" % doc.get("openapi"))
    paths = doc.get("paths") or {}
    for p in ("/v1/contacts", "/v1/contacts/{id}", "/v1/companies", "/v1/companies/{id}/contacts",
              "/v1/contacts/{id}/company-memberships", "/v1/workspace"):
        ok(p in paths, "openapi paths lacks %s (has %d paths, e.g. %s)" % (p, len(paths), sorted(paths)[:8]))
    schemas = (doc.get("components") or {}).get("schemas") or {}
    for s in ("Contact", "Company"):
        ok(s in schemas, "openapi components.schemas lacks %s (has %s)" % (s, sorted(schemas)[:10]))
    props = schemas.get("Contact", {}).get("properties") or {}
    for f in ("id", "email", "company_id", "custom_fields", "created_at"):
        ok(f in props, "openapi Contact schema has no property %s" % f)
    ok("get" in paths["/v1/contacts"] and "post" in paths["/v1/contacts"],
       "openapi /v1/contacts lacks get or post")


def _refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                out.append(v)
            else:
                _refs(v, out)
    elif isinstance(node, list):
        for v in node:
            _refs(v, out)


def test_openapi_document_is_consistent():
    """Every route issue 3 added is documented; parameters are unique per
    operation; every $ref resolves; operationIds are unique."""
    doc = expect(S.request("GET", "/v1/openapi.json"), 200)
    paths = doc["paths"]
    for p, m in (("/v1/leads/{id}/convert", "post"), ("/v1/leads/{id}/stage", "patch"),
                 ("/v1/leads/{id}/activities", "get"), ("/v1/leads/{id}/activities", "post"),
                 ("/v1/leads/{id}/timeline", "get"), ("/v1/pipelines/{id}/board", "get"),
                 ("/v1/pipelines/{id}/stages", "post"), ("/v1/pipeline-stages/{id}", "delete"),
                 ("/v1/deal-stages", "get"), ("/v1/deal-stages", "post"), ("/v1/deals/{id}/move", "post"),
                 ("/v1/contacts/{id}/merge", "post"), ("/v1/companies/{id}/merge", "post"),
                 ("/v1/deals/batch", "post"), ("/v1/tasks", "get"), ("/v1/activities", "post"),
                 ("/v1/dashboard", "get")):
        ok(m in paths.get(p, {}), "openapi lacks %s %s" % (m.upper(), p))
    ops = set()
    for p, item in paths.items():
        for m, op in item.items():
            ok(op["operationId"] not in ops, "operationId %s repeats" % op["operationId"])
            ops.add(op["operationId"])
            seen = [(x["name"], x["in"]) for x in op.get("parameters", [])]
            eq(len(seen), len(set(seen)), "%s %s parameters are unique" % (m.upper(), p))
    names = {"#/components/schemas/" + k for k in doc["components"]["schemas"]}
    refs = []
    _refs(doc, refs)
    ok(refs, "the document uses $ref")
    for r in set(refs):
        ok(r in names, "$ref %s resolves" % r)
    create = paths["/v1/contacts"]["post"]
    ok("upsert_on" in [x["name"] for x in create["parameters"]], "POST /v1/contacts documents upsert_on")
    lst = paths["/v1/tasks"]["get"]
    for n in ("due_before", "due_after", "related_resource_type"):
        ok(n in [x["name"] for x in lst["parameters"]], "GET /v1/tasks documents %s" % n)


def test_workspace_endpoint():
    d = expect(A.get("/v1/workspace"), 200)["data"]
    ok(id_re("wrk_").match(str(d.get("id"))), "workspace id %r" % d.get("id"))
    eq(d.get("id"), A.workspace_id, "GET /v1/workspace id vs key create workspace_id")
    eq(d.get("name"), "ops-main", "GET /v1/workspace name")
    ok(isinstance(d.get("enabled_modules"), list), "enabled_modules is not a list: %r" % d.get("enabled_modules"))
    ok(TIME_RE.match(str(d.get("created_at"))), "workspace created_at %r" % d.get("created_at"))


def test_workspace_endpoint_any_read_key():
    for c, label in ((RO, "crm:read"), (SUP, "support:read")):
        d = expect(c.get("/v1/workspace"), 200)["data"]
        eq(d.get("id"), A.workspace_id, "GET /v1/workspace with a %s key: id" % label)


def test_workspace_requires_auth():
    expect(S.request("GET", "/v1/workspace"), 401, "unauthorized")


def test_times_are_utc_now():
    d = A.create("/v1/contacts", {"name": "Clock Check"})
    t = datetime.datetime.strptime(d["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    skew = abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())
    ok(skew < 300, "created_at %s is %.0fs away from now (UTC?)" % (d["created_at"], skew))


# Every kind of response carries X-Request-Id = body request_id.
REQUEST_ID_CASES = [
    # label, method, path, kwargs, expected status
    ("healthz", "GET", "/healthz", {"token": None}, 200),
    ("list", "GET", "/v1/contacts", {}, 200),
    ("create", "POST", "/v1/contacts", {"body": {"name": "Req Id"}}, 201),
    ("validation_400", "POST", "/v1/contacts", {"body": {"foo": 1}}, 400),
    ("unauthorized_401", "GET", "/v1/contacts", {"token": None}, 401),
    ("bad_token_401", "GET", "/v1/contacts", {"token": "ck_nope"}, 401),
    ("unknown_route_404", "GET", "/v1/no-such-resource", {}, 404),
    ("unknown_id_404", "GET", "/v1/contacts/con_00000000000000000000000000", {}, 404),
    ("method_405", "PUT", "/v1/contacts", {"body": {"name": "x"}}, 405),
    ("media_type_415", "POST", "/v1/contacts", {"raw": b'{"name":"x"}', "ctype": "text/plain"}, 415),
]


def _make_request_id_test(label, method, path, kw, status):
    def t():
        kw2 = dict(kw)
        tok = kw2.pop("token", A.token)
        r = S.request(method, path, token=tok, **kw2)
        eq(r.status, status, "status of " + r.describe())
        hid = r.headers.get("x-request-id")
        ok(hid and id_re("req_").match(hid), "%s: X-Request-Id %r is not req_ + 26 chars" % (r.request_line(), hid))
        if status >= 400:
            ok(isinstance(r.json, dict) and "error" in r.json,
               "%s: error body is not {\"error\": ...}: %s" % (r.request_line(), r.describe()))
            ok(r.error.get("code") and r.error.get("message"),
               "%s: error lacks code or message: %s" % (r.request_line(), r.describe()))
        if isinstance(r.json, dict) and ("data" in r.json or "error" in r.json):
            eq(r.json.get("request_id"), hid, "%s: body request_id vs X-Request-Id header" % r.request_line())
    t.__name__ = "test_request_id_" + label
    return t


for _c in REQUEST_ID_CASES:
    globals()["test_request_id_" + _c[0]] = _make_request_id_test(*_c)


def test_request_ids_are_distinct():
    seen = set()
    for _ in range(5):
        seen.add(S.request("GET", "/healthz").headers.get("x-request-id"))
    eq(len(seen), 5, "distinct X-Request-Id over 5 requests")
