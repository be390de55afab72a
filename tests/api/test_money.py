"""Money is integer cents within +-10^15: every money field refuses values
outside with a 400 naming it, and totals built from bounded values are
exact on boards and dashboards (no wrapped or saturated sums)."""

from harness import Server, eq, expect

S = A = None
BOUND = 10 ** 15
INT64_MAX = 2 ** 63 - 1
INT64_MIN = -2 ** 63

MONEY_FIELDS = [("/v1/deals", {"name": "M"}, "amount_cents"),
                ("/v1/leads", {"name": "M"}, "value_cents"),
                ("/v1/companies", {"name": "M"}, "annual_revenue_cents")]


def setup_module():
    global S, A
    S = Server(name="money")
    A = S.key("money")
    S.start()


def teardown_module():
    S.stop_ok()


def test_money_bounds_on_create_and_patch():
    for path, base, field in MONEY_FIELDS:
        for v in (BOUND + 1, -BOUND - 1, INT64_MAX, INT64_MIN):
            body = dict(base, **{field: v})
            expect(A.post(path, body), 400, "validation_failed", field)
        rec = A.create(path, dict(base, **{field: BOUND}))
        eq(rec[field], BOUND, "%s at the bound" % field)
        rec = A.create(path, dict(base, **{field: -BOUND}))
        eq(rec[field], -BOUND, "%s at the negative bound" % field)
        expect(A.patch("%s/%s" % (path, rec["id"]), {field: INT64_MIN}), 400, "validation_failed", field)
        eq(expect(A.get("%s/%s" % (path, rec["id"])), 200)["data"][field], -BOUND, "%s after a refused PATCH" % field)


def test_openapi_states_the_bound():
    doc = expect(S.request("GET", "/v1/openapi.json"), 200)
    f = doc["components"]["schemas"]["Deal"]["properties"]["amount_cents"]
    eq((f.get("minimum"), f.get("maximum")), (-BOUND, BOUND), "Deal.amount_cents bounds")


def test_totals_of_large_amounts_are_exact():
    p = A.create("/v1/pipelines", {"name": "Big money"})
    stage = expect(A.get("/v1/pipelines/%s/stages" % p["id"]), 200)["data"][0]
    for _ in range(3):
        A.create("/v1/deals", {"name": "Whale", "pipeline_id": p["id"], "amount_cents": BOUND, "currency": "JPY"})
    board = expect(A.get("/v1/pipelines/%s/board" % p["id"]), 200)["data"]
    st = [s for s in board["stages"] if s["id"] == stage["id"]][0]
    eq((st["deal_count"], st["amount_cents"]), (3, 3 * BOUND), "board totals")
    dash = expect(A.get("/v1/dashboard"), 200)["data"]
    rows = [r for r in dash["open_pipeline"] if r["stage_id"] == stage["id"] and r["currency"] == "JPY"]
    eq([(r["deal_count"], r["amount_cents"]) for r in rows], [(3, 3 * BOUND)], "dashboard open pipeline")
