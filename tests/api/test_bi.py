"""BI (issue 15; bi:read/bi:write, module bi): queries as JSON compiled by
the store's one SQL builder (POST /v1/bi/queries/run), datasets (table,
view, semantic, mock), metrics, reports, dashboards, scheduled artifacts
(cron schedules and next_run_at in a time zone), and the generic
/v1/bi/{collection}/{id} rules (GET, PATCH, DELETE archives; another
collection is 404).

Covers: counts by a field, filters of every operator, sums, averages,
minima and maxima, money grouped by currency (never mixed), sorting,
record rows with chosen fields, limit and truncated; the refusals the
issue asks for, each a 4xx naming the field with nothing stored: a source
the key cannot read (403 naming the scope), an undeclared field, a limit
over 10,000, a query past its timeout_ms (422 query_timeout), a schedule
that cannot parse; workspace isolation (another workspace's rows and ids);
dry runs of the writes."""

import random
import string

from harness import Server, TIME_RE, eq, expect, id_re, list_all, ok

S = A = B = BI = NOCRM = RO = None
RUN = "/v1/bi/queries/run"
COUNTRIES = {"FR": 3, "DE": 2, "US": 4}


def setup_module():
    global S, A, B, BI, NOCRM, RO
    S = Server(name="bi")
    A = S.key("bi-a")
    B = S.key("bi-b")
    NOCRM = S.key("bi-a", "bi:read,bi:write")
    RO = S.key("bi-a", "bi:read,crm:read")
    S.start()
    for c, n in COUNTRIES.items():
        for i in range(n):
            A.create("/v1/contacts", {"name": "%s contact %d" % (c, i), "country": c,
                                      "email": "%s%d@bi.example" % (c.lower(), i)})
    A.create("/v1/contacts", {"name": "Nowhere"})
    # Workspace B has contacts of its own that A's queries must never see.
    for i in range(5):
        B.create("/v1/contacts", {"name": "B %d" % i, "country": "FR"})
    # Deals in two currencies.
    for amount, cur in ((1000, "EUR"), (2500, "EUR"), (700, "USD")):
        A.create("/v1/deals", {"name": "Deal %d %s" % (amount, cur), "amount_cents": amount,
                               "currency": cur})


def teardown_module():
    S.stop_ok()


def run(body, client=None, status=200, **kw):
    return expect((client or A).post(RUN, body), status, **kw)


def rows_of(j):
    cols = [c["name"] for c in j["data"]["columns"]]
    return [dict(zip(cols, r)) for r in j["data"]["rows"]]


def q(**kw):
    d = {"source": "contacts"}
    d.update(kw)
    return {"query": d}


# ------------------------------------------------------------------ queries

def test_count_by_country():
    j = run(q(group_by=["country"], aggregates=[{"fn": "count"}]))
    d = j["data"]
    eq([c["name"] for c in d["columns"]], ["country", "count"], "columns")
    eq([c["type"] for c in d["columns"]], ["string", "integer"], "column types")
    got = {r["country"]: r["count"] for r in rows_of(j)}
    want = dict(COUNTRIES)
    want[None] = 1
    eq(got, want, "count by country (workspace A only)")
    eq(d["truncated"], False, "truncated")


def test_group_by_alone_counts():
    j = run(q(group_by=["country"], sort=[{"field": "count", "dir": "desc"}]))
    r = rows_of(j)
    eq(r[0], {"country": "US", "count": 4}, "largest group first")


def test_sort_strings_and_ties():
    j = run(q(group_by=["country"], sort=["country"]))
    eq([r["country"] for r in rows_of(j)], [None, "DE", "FR", "US"], "NULLs lowest, then bytewise")
    j = run(q(group_by=["country"], sort=["-country"]))
    eq([r["country"] for r in rows_of(j)], ["US", "FR", "DE", None], "descending")


def test_group_by_keeps_each_spelling():
    # Groups are the values as stored: "fr" and "Fr" are not FR's (a filter
    # folds case, a group shows what the data holds).
    for c in ("fr", "Fr"):
        B.create("/v1/contacts", {"name": "B spelled " + c, "country": c})
    j = run(q(group_by=["country"], aggregates=[{"fn": "count"}], sort=["country"]), client=B)
    got = [(r["country"], r["count"]) for r in rows_of(j)]
    ok(("FR", 5) in got and ("Fr", 1) in got and ("fr", 1) in got, "each spelling: %r" % got)
    eq([k for k, _ in got if k and k.lower() == "fr"], ["FR", "Fr", "fr"], "byte-wise order")


def test_filters_every_operator():
    def n(*filters):
        j = run(q(filters=list(filters), aggregates=[{"fn": "count"}]))
        return j["data"]["rows"][0][0]
    eq(n({"field": "country", "op": "eq", "value": "FR"}), 3, "eq")
    eq(n({"field": "country", "value": "fr"}), 3, "eq is the default op; text folds case")
    eq(n({"field": "country", "op": "neq", "value": "FR"}), 7, "neq counts nulls as differing")
    eq(n({"field": "country", "op": "in", "value": ["DE", "US"]}), 6, "in")
    eq(n({"field": "country", "op": "is_null"}), 1, "is_null")
    eq(n({"field": "country", "op": "is_null", "value": False}), 9, "is_null false")
    eq(n({"field": "name", "op": "contains", "value": "CONTACT 1"}), 3, "contains ignores case")
    eq(n({"field": "country", "op": "gte", "value": "FR"}), 7, "gte on text")
    eq(n({"field": "country", "op": "lt", "value": "FR"}), 2, "lt on text")
    eq(n({"field": "created_at", "op": "gt", "value": "2000-01-01T00:00:00Z"}), 10, "gt on a time")
    eq(n({"field": "created_at", "op": "lte", "value": "2000-01-01T00:00:00Z"}), 0, "lte on a time")
    eq(n({"field": "country", "op": "eq", "value": "FR"},
         {"field": "name", "op": "contains", "value": "0"}), 1, "filters combine with AND")


def test_money_sums_never_mix_currencies():
    j = run({"query": {"source": "deals", "aggregates": [
        {"fn": "sum", "field": "amount_cents", "as": "total"},
        {"fn": "avg", "field": "amount_cents"}, {"fn": "max", "field": "amount_cents"},
        {"fn": "count"}]}})
    cols = j["data"]["columns"]
    eq([c["name"] for c in cols], ["currency", "total", "avg_amount_cents", "max_amount_cents",
                                   "count"], "the currency joins the keys")
    got = {r["currency"]: r for r in rows_of(j)}
    eq(got["EUR"]["total"], 3500, "EUR sum")
    eq(got["USD"]["total"], 700, "USD sum")
    eq(got["EUR"]["avg_amount_cents"], 1750, "money averages stay whole cents")
    eq(got["EUR"]["max_amount_cents"], 2500, "max")
    eq(got["EUR"]["count"], 2, "count")


def test_record_rows_limit_and_truncated():
    j = run(q(fields=["id", "name", "country", "created_at"], limit=4,
              filters=[{"field": "country", "op": "is_null", "value": False}]))
    d = j["data"]
    eq(len(d["rows"]), 4, "limit rows")
    eq(d["truncated"], True, "more rows matched")
    eq([c["type"] for c in d["columns"]], ["string", "string", "string", "datetime"], "types")
    for r in rows_of(j):
        ok(id_re("con_").match(r["id"]), "an id: %r" % r)
        ok(TIME_RE.match(r["created_at"]), "a time: %r" % r)
    j = run(q(fields=["id"], limit=4), )
    j2 = run({"query": {"source": "contacts", "fields": ["id"]}, "limit": 100})
    eq(j2["data"]["truncated"], False, "all rows fit")
    eq(len(j2["data"]["rows"]), 10, "workspace A's ten contacts")
    # Default columns: id, every readable field, created_at.
    j3 = run(q(limit=1))
    names = [c["name"] for c in j3["data"]["columns"]]
    ok(names[0] == "id" and names[-1] == "created_at" and "country" in names, "defaults: %r" % names)


def test_limit_over_the_maximum():
    for body, param in ((dict(q(), limit=10001), "limit"),
                        (q(limit=10001), "query.limit"),
                        (q(limit=0), "query.limit"),
                        (dict(q(), timeout_ms=30001), "timeout_ms"),
                        (q(timeout_ms=0), "query.timeout_ms")):
        run(body, status=400, code="validation_failed", param=param)


def test_undeclared_field_refused():
    cases = [
        (q(group_by=["nope"]), "query.group_by[0]"),
        (q(filters=[{"field": "nope", "value": 1}]), "query.filters[0].field"),
        (q(aggregates=[{"fn": "sum", "field": "nope"}]), "query.aggregates[0].field"),
        (q(fields=["custom_fields"]), "query.fields[0]"),
        (q(group_by=["country"], sort=["nope"]), "query.sort[0]"),
        (q(filters=[{"field": "country", "op": "like", "value": "x"}]), "query.filters[0].op"),
        (q(filters=[{"field": "status", "value": "gone"}]), "query.filters[0].value"),
        (q(aggregates=[{"fn": "sum", "field": "name"}]), "query.aggregates[0].field"),
        (q(aggregates=[{"fn": "median", "field": "name"}]), "query.aggregates[0].fn"),
        (q(select="*"), "query.select"),
        ({"query": {"source": "webhooks", "fields": ["secret"]}}, "query.fields[0]"),
        ({"query": {"source": "webhooks", "filters": [{"field": "secret", "op": "is_null"}]}},
         "query.filters[0].field"),
        ({"query": {"source": "email-connections", "group_by": ["password"]}}, "query.group_by[0]"),
        ({"query": {"source": "nothing"}}, "query.source"),
        ({"query": {"source": "contacts; DROP TABLE contacts"}}, "query.source"),
        ({"query": {}}, "query.source"),
    ]
    for body, param in cases:
        run(body, status=400, code="validation_failed", param=param)
    run({}, status=400, code="validation_failed")
    run({"query": {"source": "contacts"}, "dataset_id": "ds_x"}, status=400)
    # The contacts are all still there.
    eq(len(list_all(A, "/v1/contacts")), 10, "nothing changed")


def test_source_the_key_cannot_read():
    r = NOCRM.post(RUN, q(group_by=["country"]))
    expect(r, 403, code="forbidden", message_has=("crm:read",))
    # A view over it is refused too, and not stored.
    r = NOCRM.post("/v1/bi/datasets", {"name": "V", "kind": "view",
                                       "query": {"source": "contacts"}})
    expect(r, 403, code="forbidden", message_has=("crm:read",))
    eq(len(list_all(NOCRM, "/v1/bi/datasets", {"kind": "view"})), 0, "nothing stored")
    # bi:write is the route's own scope.
    expect(RO.post(RUN, q()), 403, code="forbidden", message_has=("bi:write",))


def test_query_past_its_budget():
    # Enough text that scanning it takes far longer than 1 ms on any
    # machine: a filter no row matches reads every byte of every note.
    rnd = random.Random(15)
    for _ in range(20):
        items = []
        for _ in range(90):
            notes = "".join(rnd.choice(string.ascii_lowercase + " ") for _ in range(9000))
            items.append({"action": "create", "data": {"name": "Bulk", "notes": notes}})
        j = expect(B.post("/v1/contacts/batch", {"operations": items}), 200)
        ok(all(r.get("status") == 201 for r in j["data"]["results"]), "batch created: %r"
           % [r.get("status") for r in j["data"]["results"]][:3])
    j = run({"query": {"source": "contacts", "filters": [
        {"field": "notes", "op": "contains", "value": "0123456789"}],
        "group_by": ["name"], "timeout_ms": 1}}, client=B, status=422, code="query_timeout",
        param="query.timeout_ms" if False else "timeout_ms")
    ok("timeout_ms" in j["error"]["message"], "the message names timeout_ms")
    # The same query with time to spare answers.
    j = run({"query": {"source": "contacts", "filters": [
        {"field": "notes", "op": "contains", "value": "0123456789"}],
        "aggregates": [{"fn": "count"}]}}, client=B)
    eq(j["data"]["rows"], [[0]], "no row matches")


def test_isolation():
    j = run(q(aggregates=[{"fn": "count"}]), client=B)
    ok(j["data"]["rows"][0][0] >= 5, "B counts its own")
    ds = A.create("/v1/bi/datasets", {"name": "A table", "kind": "table", "source": "contacts"})
    expect(B.get("/v1/bi/datasets/" + ds["id"]), 404, code="not_found")
    expect(B.post(RUN, {"dataset_id": ds["id"]}), 404, code="not_found", param="dataset_id")
    expect(B.patch("/v1/bi/datasets/" + ds["id"], {"name": "x"}), 404)
    expect(B.delete("/v1/bi/datasets/" + ds["id"]), 404)


# ----------------------------------------------------------------- datasets

def test_datasets_of_each_kind():
    t = A.create("/v1/bi/datasets", {"name": "Contacts", "kind": "table", "source": "contacts"})
    ok(id_re("ds_").match(t["id"]), "ds_ id")
    eq(t["status"], "active", "default status")
    j = run({"dataset_id": t["id"], "limit": 3})
    eq(len(j["data"]["rows"]), 3, "table rows")
    eq(j["data"]["truncated"], True, "truncated")

    v = A.create("/v1/bi/datasets", {"name": "By country", "kind": "view", "query": {
        "source": "contacts", "group_by": ["country"], "filters": [
            {"field": "country", "op": "is_null", "value": False}]}})
    eq(v["source"], "contacts", "a view's source is its query's")
    got = {r["country"]: r["count"] for r in rows_of(run({"dataset_id": v["id"]}))}
    eq(got, COUNTRIES, "view rows")

    s = A.create("/v1/bi/datasets", {"name": "Semantic", "kind": "semantic", "source": "deals",
                                     "dimensions": ["currency"], "measures": [
                                         {"name": "revenue", "aggregate": "sum",
                                          "field": "amount_cents"},
                                         {"name": "deals", "aggregate": "count"}]})
    got = {r["currency"]: (r["revenue"], r["deals"]) for r in rows_of(run({"dataset_id": s["id"]}))}
    eq(got, {"EUR": (3500, 2), "USD": (700, 1)}, "semantic rows")

    m = A.create("/v1/bi/datasets", {"name": "Mock", "kind": "mock"})
    j = run({"dataset_id": m["id"]})
    ok(len(j["data"]["rows"]) > 0, "a mock without rows yields its sample")
    m2 = A.create("/v1/bi/datasets", {"name": "Mock rows", "kind": "mock",
                                      "rows": [{"a": 1, "b": "x"}, {"a": 2, "c": True}]})
    j = run({"dataset_id": m2["id"]})
    eq([c["name"] for c in j["data"]["columns"]], ["a", "b", "c"], "mock columns")
    eq(j["data"]["rows"], [[1, "x", None], [2, None, True]], "mock rows")

    kinds = {d["id"]: d["kind"] for d in list_all(A, "/v1/bi/datasets", {"kind": "mock"})}
    ok(set(kinds.values()) == {"mock"} and m["id"] in kinds, "filter by kind")


def test_dataset_validation():
    D = "/v1/bi/datasets"
    before = len(list_all(A, D))
    for body, param in (
            ({"name": "x", "kind": "table"}, "source"),
            ({"name": "x", "kind": "table", "source": "nothing"}, "source"),
            ({"name": "x", "kind": "view"}, "query"),
            ({"name": "x", "kind": "view", "query": {"source": "contacts",
                                                     "group_by": ["nope"]}}, "query.group_by[0]"),
            ({"name": "x", "kind": "view", "query": "SELECT 1"}, "query"),
            ({"name": "x", "kind": "semantic", "source": "contacts"}, "dimensions"),
            ({"name": "x", "kind": "semantic", "source": "contacts",
              "dimensions": ["nope"]}, "dimensions[0]"),
            ({"name": "x", "kind": "mock", "source": "contacts"}, "source"),
            ({"name": "x", "kind": "other"}, "kind"),
            ({"kind": "mock"}, "name")):
        expect(A.post(D, body), 400, code="validation_failed", param=param)
    eq(len(list_all(A, D)), before, "nothing stored")


# ------------------------------------------------- metrics, reports, dashboards

def test_metrics_reports_dashboards():
    ds = A.create("/v1/bi/datasets", {"name": "Deals", "kind": "table", "source": "deals"})
    met = A.create("/v1/bi/metrics", {"name": "Deal count", "dataset_id": ds["id"]})
    ok(id_re("met_").match(met["id"]), "met_ id")
    eq(met["aggregate"], "count", "default aggregate")
    eq(run({"metric_id": met["id"]})["data"]["rows"], [[3]], "count metric")
    rev = A.create("/v1/bi/metrics", {"name": "Revenue", "dataset_id": ds["id"],
                                      "aggregate": "sum", "field": "amount_cents"})
    got = {r["currency"]: r["value"] for r in rows_of(run({"metric_id": rev["id"]}))}
    eq(got, {"EUR": 3500, "USD": 700}, "a money metric per currency")
    expect(A.post("/v1/bi/metrics", {"name": "x", "dataset_id": ds["id"], "aggregate": "sum"}),
           400, param="field")
    expect(A.post("/v1/bi/metrics", {"name": "x", "dataset_id": ds["id"], "aggregate": "sum",
                                     "field": "nope"}), 400, param="field")
    expect(A.post("/v1/bi/metrics", {"name": "x", "dataset_id": "ds_01JAAAAAAAAAAAAAAAAAAAAAAA"}),
           404)

    dash = A.create("/v1/bi/dashboards", {"name": "Sales"})
    ok(id_re("dash_").match(dash["id"]), "dash_ id")
    rep = A.create("/v1/bi/reports", {"name": "By currency", "dataset_id": ds["id"],
                                      "dashboard_id": dash["id"], "query": {
                                          "group_by": ["currency"], "sort": ["-count"]}})
    ok(id_re("rep_").match(rep["id"]), "rep_ id")
    eq(rows_of(run({"report_id": rep["id"]})), [{"currency": "EUR", "count": 2},
                                                 {"currency": "USD", "count": 1}], "report rows")
    plain = A.create("/v1/bi/reports", {"name": "All", "dataset_id": ds["id"]})
    eq(len(run({"report_id": plain["id"]})["data"]["rows"]), 3, "a report without a query")
    expect(A.post("/v1/bi/reports", {"name": "x", "dataset_id": ds["id"],
                                     "query": {"group_by": ["nope"]}}), 400,
           param="query.group_by[0]")
    eq([r["id"] for r in list_all(A, "/v1/bi/reports", {"dashboard_id": dash["id"]})],
       [rep["id"]], "reports filtered by dashboard")
    eq(len(list_all(A, "/v1/bi/metrics", {"dataset_id": ds["id"]})), 2, "metrics by dataset")

    d2 = expect(A.patch("/v1/bi/dashboards/" + dash["id"], {"layout": [
        {"report_id": rep["id"], "x": 0, "y": 0, "w": 6, "h": 4}]}), 200)["data"]
    eq(d2["layout"][0]["report_id"], rep["id"], "layout")
    expect(A.patch("/v1/bi/dashboards/" + dash["id"], {"layout": [
        {"report_id": "rep_01JAAAAAAAAAAAAAAAAAAAAAAA"}]}), 404)


# ------------------------------------------------- generic collection rules

def test_get_patch_delete_archive():
    for coll, body in (("datasets", {"name": "Arch", "kind": "mock"}),
                       ("dashboards", {"name": "Arch"})):
        path = "/v1/bi/" + coll
        rec = A.create(path, body)
        got = expect(A.get(path + "/" + rec["id"]), 200)["data"]
        eq(got["name"], "Arch", "get")
        got = expect(A.patch(path + "/" + rec["id"], {"name": "Renamed", "status": "draft"}),
                     200)["data"]
        eq((got["name"], got["status"]), ("Renamed", "draft"), "patch")
        expect(A.patch(path + "/" + rec["id"], {"bogus": 1}), 400, param="bogus")
        gone = expect(A.delete(path + "/" + rec["id"]), 200)["data"]
        eq(gone["status"], "archived", "delete archives")
        eq(expect(A.get(path + "/" + rec["id"]), 200)["data"]["status"], "archived", "kept")
        ids = [x["id"] for x in list_all(A, path, {"status": "archived"})]
        ok(rec["id"] in ids, "listed under status=archived")
    expect(A.get("/v1/bi/widgets/ds_01JAAAAAAAAAAAAAAAAAAAAAAA"), 404, code="not_found")
    expect(A.delete("/v1/bi/widgets/ds_01JAAAAAAAAAAAAAAAAAAAAAAA"), 404, code="not_found")


def test_dry_run_stores_nothing():
    before = len(list_all(A, "/v1/bi/dashboards"))
    r = A.post("/v1/bi/dashboards", {"name": "Dry"}, params={"dry_run": "true"})
    eq(expect(r, 200)["data"]["name"], "Dry", "a dry run answers the record")
    eq(len(list_all(A, "/v1/bi/dashboards")), before, "nothing stored")


# ------------------------------------------------------ scheduled artifacts

def test_schedules_and_next_run():
    ds = A.create("/v1/bi/datasets", {"name": "Sched", "kind": "mock"})
    P = "/v1/bi/scheduled-artifacts"
    s = A.create(P, {"name": "Daily", "dataset_id": ds["id"], "schedule": "30 8 * * *",
                     "timezone": "Europe/Paris"})
    ok(id_re("sched_").match(s["id"]), "sched_ id")
    eq((s["format"], s["status"], s["last_run_at"]), ("csv", "active", None), "defaults")
    nxt = s["next_run_at"]
    ok(TIME_RE.match(nxt), "next_run_at: %r" % nxt)
    # 08:30 in Paris is 07:30 UTC in winter, 06:30 in summer.
    ok(nxt[11:16] in ("07:30", "06:30"), "08:30 Paris in UTC: %s" % nxt)
    u = A.create(P, {"name": "Quarterly", "dataset_id": ds["id"], "schedule": "*/15 * * * *"})
    eq(u["timezone"], "UTC", "UTC by default")
    ok(u["next_run_at"][14:16] in ("00", "15", "30", "45"), "quarter hours: %s" % u["next_run_at"])
    p = expect(A.patch(P + "/" + u["id"], {"status": "paused"}), 200)["data"]
    eq(p["next_run_at"], None, "a paused schedule has no next run")
    p = expect(A.patch(P + "/" + u["id"], {"status": "active", "schedule": "0 0 1 1 *"}),
               200)["data"]
    ok(p["next_run_at"].endswith("-01-01T00:00:00.000Z"), "yearly: %s" % p["next_run_at"])
    before = len(list_all(A, P))
    for body, param in (
            ({"name": "S", "dataset_id": ds["id"], "schedule": "61 * * * *"}, "schedule"),
            ({"name": "S", "dataset_id": ds["id"], "schedule": "* * * *"}, "schedule"),
            ({"name": "S", "dataset_id": ds["id"], "schedule": "every day"}, "schedule"),
            ({"name": "S", "dataset_id": ds["id"], "schedule": "5-1 * * * *"}, "schedule"),
            ({"name": "S", "dataset_id": ds["id"], "schedule": "*/0 * * * *"}, "schedule"),
            ({"name": "S", "dataset_id": ds["id"], "schedule": "0 8 * * *", "timezone": "Mars/Base"}, "timezone"),
            ({"name": "S", "schedule": "0 8 * * *"}, "report_id"),
            ({"dataset_id": ds["id"], "schedule": "0 8 * * *"}, "name"),
            ({"name": "S", "dataset_id": ds["id"], "schedule": "0 8 * * *", "format": "xml"}, "format")):
        expect(A.post(P, body), 400, code="validation_failed", param=param)
    eq(len(list_all(A, P)), before, "nothing stored")
    expect(A.patch(P + "/" + u["id"], {"schedule": "bad"}), 400, param="schedule")
    gone = expect(A.delete(P + "/" + u["id"]), 200)["data"]
    eq(gone["status"], "archived", "delete archives")


def test_openapi_lists_bi():
    doc = expect(A.get("/v1/openapi.json"), 200)
    paths = doc["paths"]
    for p in ("/v1/bi/datasets", "/v1/bi/datasets/{id}", "/v1/bi/metrics", "/v1/bi/reports",
              "/v1/bi/dashboards", "/v1/bi/scheduled-artifacts", "/v1/bi/queries/run"):
        ok(p in paths, "%s in the OpenAPI document" % p)
    ok("BiQueryResult" in doc["components"]["schemas"], "the answer's schema")
