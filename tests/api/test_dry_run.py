"""?dry_run=true on every write route: 200 with what would have been written
(a delete: the record that would go), and nothing stored, no event, no
idempotency record. A failing dry run fails as the write would."""

from harness import Server, eq, expect, ok, uniq

S = A = None
LEAD = CON = CON2 = DEAL = PIPE = STAGE2 = None

# What a workspace holds, read through the API: every list of every
# top-level resource, and the timelines of the records the tests touch.
LISTS = ["/v1/contacts", "/v1/companies", "/v1/leads", "/v1/deals", "/v1/pipelines",
         "/v1/pipeline-stages", "/v1/tasks", "/v1/activities"]


def setup_module():
    global S, A, LEAD, CON, CON2, DEAL, PIPE, STAGE2
    S = Server(name="dryrun")
    A = S.key("dry")
    S.start()
    CON = A.create("/v1/contacts", {"name": "Dry Contact", "email": "dry@example.com"})
    CON2 = A.create("/v1/contacts", {"name": "Dry Twin", "phone": "+1 555 0100"})
    LEAD = A.create("/v1/leads", {"name": "Dry Lead", "email": "lead@dry.example", "company_name": "Dry Co"})
    DEAL = A.create("/v1/deals", {"name": "Dry Deal", "amount_cents": 1000})
    PIPE = DEAL["pipeline_id"]
    stages = expect(A.get("/v1/pipelines/%s/stages" % PIPE), 200)["data"]
    STAGE2 = [s for s in stages if s["key"] == "proposal"][0]["id"]


def teardown_module():
    S.stop_ok()


def snapshot():
    state = {}
    for path in LISTS:
        state[path] = expect(A.get(path, params={"limit": 100}), 200)["data"]
    for rec in (CON, CON2, LEAD, DEAL):
        path = "/v1/%s/%s/timeline" % ({"con": "contacts", "lea": "leads", "dea": "deals"}[rec["id"][:3]], rec["id"])
        state[path] = expect(A.get(path, params={"limit": 100}), 200)["data"]
    return state


def dry(method, path, body=None, **kw):
    return A.request(method, path, body=body, params={"dry_run": "true"}, **kw)


# (name, method, path template, body, check of the answer's data)
CASES = [
    ("create", "POST", "/v1/contacts", {"first_name": "Would", "last_name": "Be"},
     lambda d: d["name"] == "Would Be" and d["id"].startswith("con_")),
    ("upsert_create", "POST", "/v1/contacts?upsert_on=email", {"email": "new@dry.example", "name": "New"},
     lambda d: d["email"] == "new@dry.example"),
    ("upsert_update", "POST", "/v1/contacts?upsert_on=email", {"email": "DRY@example.com", "title": "Chief"},
     lambda d: d["id"] == CON["id"] and d["title"] == "Chief"),
    ("update", "PATCH", "/v1/contacts/{CON}", {"title": "CEO"}, lambda d: d["title"] == "CEO"),
    ("delete", "DELETE", "/v1/contacts/{CON}", None,
     lambda d: d["id"] == CON["id"] and d["name"] == "Dry Contact" and d["object"] == "contact"),
    ("batch", "POST", "/v1/contacts/batch",
     {"operations": [{"action": "create", "data": {"name": "Batch One"}},
                     {"action": "update", "id": "{CON}", "data": {"city": "Lyon"}}]},
     lambda d: d["succeeded"] == 2 and d["results"][1]["data"]["city"] == "Lyon"),
    ("merge", "POST", "/v1/contacts/{CON}/merge", {"from_ids": ["{CON2}"]},
     lambda d: d["phone"] == "+1 555 0100"),
    ("membership", "POST", "/v1/contacts/{CON}/company-memberships", {"company_id": "{COMPANY}", "is_primary": True},
     lambda d: d["is_primary"] is True),
    ("lead_convert", "POST", "/v1/leads/{LEAD}/convert", {"create_deal": True},
     lambda d: d["status"] == "converted" and d["converted_deal_id"].startswith("deal_")),
    ("lead_stage", "PATCH", "/v1/leads/{LEAD}/stage", {"stage": "lost"},
     lambda d: d["status"] == "disqualified"),
    ("lead_activity", "POST", "/v1/leads/{LEAD}/activities", {"type": "note", "summary": "Dry note"},
     lambda d: d["related_resource_id"] == LEAD["id"]),
    ("deal_move", "POST", "/v1/deals/{DEAL}/move", {"stage_id": "{STAGE2}"},
     lambda d: d["stage_id"] == STAGE2),
    ("deal_stage_create", "POST", "/v1/deal-stages", {"name": "Dry Stage"},
     lambda d: d["key"] == "dry_stage"),
    ("pipeline_stage_create", "POST", "/v1/pipelines/{PIPE}/stages", {"name": "Dry Stage 2", "position": 1},
     lambda d: d["position"] == 1),
    ("pipeline_create", "POST", "/v1/pipelines", {"name": "Dry Pipeline"},
     lambda d: d["name"] == "Dry Pipeline"),
    ("task_create", "POST", "/v1/tasks", {"title": "Dry task", "related_resource_type": "deal",
                                          "related_resource_id": "{DEAL}"},
     lambda d: d["status"] == "open"),
]


def _fill(v, extra):
    ids = {"CON": CON["id"], "CON2": CON2["id"], "LEAD": LEAD["id"], "DEAL": DEAL["id"],
           "PIPE": PIPE, "STAGE2": STAGE2}
    ids.update(extra)
    if isinstance(v, str):
        for k, x in ids.items():
            v = v.replace("{%s}" % k, x)
        return v
    if isinstance(v, list):
        return [_fill(x, extra) for x in v]
    if isinstance(v, dict):
        return {k: _fill(x, extra) for k, x in v.items()}
    return v


def _case(name, method, path, body, check):
    def t():
        extra = {}
        if "{COMPANY}" in str(body):
            extra["COMPANY"] = A.create("/v1/companies", {"name": uniq("Dry Member Co")})["id"]
        before = snapshot()
        p, b = _fill(path, extra), _fill(body, extra)
        params = {"dry_run": "true"}
        if "?" in p:
            p, q = p.split("?")
            params.update(dict([q.split("=")]))
        r = A.request(method, p, body=b, params=params)
        d = expect(r, 200)["data"]
        ok(check(d), "%s: dry-run data %r" % (r.request_line(), d))
        eq(snapshot(), before, "%s: the workspace after a dry run" % r.request_line())
        if isinstance(d, dict) and d.get("id") and method == "POST" and "/merge" not in p and "/move" not in p \
                and "/convert" not in p and "upsert" not in name:
            expect(A.get("/v1/%s/%s" % (_plural(d), d["id"])), 404, "not_found")
    t.__name__ = "test_dry_run_" + name
    return t


def _plural(d):
    return {"contact": "contacts", "company_membership": "contacts/%s/company-memberships" % CON["id"],
            "activity": "activities", "pipeline_stage": "pipeline-stages", "pipeline": "pipelines",
            "task": "tasks"}.get(d["object"], d["object"] + "s")


for _c in CASES:
    globals()["test_dry_run_" + _c[0]] = _case(*_c)


def test_dry_run_failure_is_the_writes_failure():
    before = snapshot()
    expect(dry("POST", "/v1/contacts", {"email": "not-an-address"}), 400, "validation_failed", "email")
    expect(dry("PATCH", "/v1/contacts/con_00000000000000000000000000", {"title": "x"}), 404, "not_found")
    expect(dry("POST", "/v1/deals/%s/move" % DEAL["id"], {"stage_id": "stage_00000000000000000000000000"}),
           404, "not_found", "stage_id")
    eq(snapshot(), before, "the workspace after failed dry runs")


def test_dry_run_value_and_routes():
    expect(A.post("/v1/contacts", {"name": "x"}, params={"dry_run": "yes"}), 400, "validation_failed", "dry_run")
    expect(A.get("/v1/contacts", params={"dry_run": "true"}), 400, "validation_failed", "dry_run")
    expect(A.get("/v1/contacts/%s" % CON["id"], params={"dry_run": "true"}), 400, "validation_failed", "dry_run")
    # dry_run=false is an ordinary write
    c = expect(A.post("/v1/contacts", {"name": "Not Dry"}, params={"dry_run": "false"}), 201)["data"]
    expect(A.get("/v1/contacts/%s" % c["id"]), 200)


def test_dry_run_ignores_idempotency_key():
    k = {"Idempotency-Key": uniq("dry-key")}
    body = {"name": "Keyed Dry"}
    d1 = expect(A.post("/v1/contacts", body, params={"dry_run": "true"}, headers=k), 200)["data"]
    # the real request with the same key is not a replay of the dry run
    r = A.post("/v1/contacts", body, headers=k)
    real = expect(r, 201)["data"]
    ok(real["id"] != d1["id"], "the real create got the dry run's id")
    ok("idempotent-replayed" not in r.headers, "the real create was a replay")
    # a dry run after it does not replay the real one either
    d2 = expect(A.post("/v1/contacts", body, params={"dry_run": "true"}, headers=k), 200)["data"]
    ok(d2["id"] != real["id"], "a dry run replayed the stored response")
    # and the key still replays the real create
    again = expect(A.post("/v1/contacts", body, headers=k), 201)["data"]
    eq(again, real, "replay after dry runs")


def test_openapi_documents_dry_run_on_every_write():
    doc = expect(S.request("GET", "/v1/openapi.json"), 200)
    n = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in ("post", "patch", "delete"):
                continue
            names = [p["name"] for p in op.get("parameters", [])]
            ok("dry_run" in names, "%s %s: no dry_run parameter" % (method.upper(), path))
            n += 1
    ok(n > 20, "only %d write operations in the document" % n)
