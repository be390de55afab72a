"""Deals: defaults (default pipeline, first open stage, status open), stage
by key or id, cross-pipeline and cross-workspace stage errors, moves with
above_id/below_id (visible on the board and via sort=position), closing and
reopening, PATCH stage moves, and filters through a reference
(company.name, company.domain). Every rejected write changes nothing."""

from harness import Server, TIME_RE, check_record, count, eq, expect, ids, list_all, member, ok

S = A = B = None
DEFAULT = P2 = None
DST = P2ST = None          # stages of A's default pipeline / of P2, in position order
BSTAGE = BDEAL = None
ACME = OTHER = None        # companies for the reference filters
GHOST_DEAL = "deal_00000000000000000000000000"
GHOST_STAGE = "stage_00000000000000000000000000"


def setup_module():
    global S, A, B, DEFAULT, P2, DST, P2ST, BSTAGE, BDEAL, ACME, OTHER
    S = Server(name="deals")
    A = S.key("deals-a")
    B = S.key("deals-b")
    S.start()
    DEFAULT = _default(A)
    DST = _stages(A, DEFAULT["id"])
    P2 = A.create("/v1/pipelines", {"name": "Second Pipeline"})
    P2ST = _stages(A, P2["id"])
    bdef = _default(B)
    BSTAGE = _open(_stages(B, bdef["id"]))[0]
    BDEAL = B.create("/v1/deals", {"name": "B Deal"})
    ACME = A.create("/v1/companies", {"name": "Acme Related", "domain": "acme-related.test"})
    OTHER = A.create("/v1/companies", {"name": "Other Related", "domain": "other-related.test"})


def teardown_module():
    S.stop_ok()


def _default(c):
    ps = [p for p in list_all(c, "/v1/pipelines") if p.get("is_default") is True]
    eq(len(ps), 1, "default pipelines")
    return ps[0]


def _stages(c, pipe_id):
    return list_all(c, "/v1/pipelines/%s/stages" % pipe_id)


def _open(stages):
    return [s for s in stages if s.get("stage_type") == "open"]


def _typed(stages, t):
    return [s for s in stages if s.get("stage_type") == t][0]


def _new_stage(name):
    """A fresh empty open stage in P2, so ordering tests own their stage."""
    return A.create("/v1/pipelines/%s/stages" % P2["id"], {"name": name})


def _in_stage(stage_id):
    return ids(list_all(A, "/v1/deals", {"stage_id": stage_id, "sort": "position"}))


def _board_stage(pipe_id, stage_id):
    b = expect(A.get("/v1/pipelines/%s/board" % pipe_id, params={"limit": 100}), 200)["data"]
    return [s for s in b["stages"] if s["id"] == stage_id][0]


def _move(deal, body):
    return A.post("/v1/deals/%s/move" % deal["id"], body)


# ------------------------------------------------------------ create

def test_create_defaults():
    d = expect(A.post("/v1/deals", {"name": "Plain Deal"}), 201)["data"]
    check_record(d, "deal_", "created deal")
    first = _open(DST)[0]
    eq(d.get("pipeline_id"), DEFAULT["id"], "default pipeline_id")
    eq(d.get("stage_id"), first["id"], "default stage_id (first open stage)")
    eq(d.get("stage"), first["key"], "stage key of the default stage")
    eq(d.get("status"), "open", "default status")
    ok(d.get("closed_at") is None, "closed_at of an open deal: %r" % d.get("closed_at"))
    ok(isinstance(d.get("position"), str) and d["position"], "position is a non-empty string: %r" % d.get("position"))
    eq(d.get("custom_fields"), {}, "default custom_fields")
    eq(expect(A.get("/v1/deals/" + d["id"]), 200)["data"], d, "GET after create")


def test_create_full():
    con = A.create("/v1/contacts", {"name": "Deal Contact"})
    lead = A.create("/v1/leads", {"name": "Deal Lead"})
    body = {"name": "Full Deal", "company_id": ACME["id"], "contact_id": con["id"], "lead_id": lead["id"],
            "pipeline_id": P2["id"], "stage_id": P2ST[1]["id"], "amount_cents": 123456, "currency": "EUR",
            "close_date": "2031-06-30", "owner_id": member(A, "usr_9"), "notes": "big one", "custom_fields": {"src": "fair"}}
    d = A.create("/v1/deals", body)
    for k, v in body.items():
        eq(d.get(k), v, "created deal field %s" % k)
    eq(d.get("stage"), P2ST[1]["key"], "stage key")
    eq(expect(A.get("/v1/deals/" + d["id"]), 200)["data"], d, "GET after create")


def test_create_with_pipeline_only_uses_its_first_open_stage():
    d = A.create("/v1/deals", {"name": "P2 Default Stage", "pipeline_id": P2["id"]})
    eq((d.get("pipeline_id"), d.get("stage_id")), (P2["id"], _open(P2ST)[0]["id"]), "(pipeline_id, stage_id)")


def test_create_with_stage_key():
    s = _open(DST)[1]
    d = A.create("/v1/deals", {"name": "By Key", "stage": s["key"]})
    eq((d.get("pipeline_id"), d.get("stage_id"), d.get("stage")), (DEFAULT["id"], s["id"], s["key"]),
       "deal created with stage key (pipeline_id, stage_id, stage)")
    d2 = A.create("/v1/deals", {"name": "By Key P2", "pipeline_id": P2["id"], "stage": "proposal"})
    eq(d2.get("stage_id"), [x for x in P2ST if x["key"] == "proposal"][0]["id"], "stage key resolved within P2")


def test_create_in_won_stage_is_closed():
    won = _typed(DST, "won")
    d = A.create("/v1/deals", {"name": "Born Won", "stage_id": won["id"]})
    eq(d.get("status"), "won", "status of a deal created in Won")
    ok(TIME_RE.match(str(d.get("closed_at"))), "closed_at of a deal created in Won: %r" % d.get("closed_at"))


def test_patch_and_delete():
    d = A.create("/v1/deals", {"name": "Patch Deal", "amount_cents": 10})
    p = expect(A.patch("/v1/deals/" + d["id"], {"amount_cents": 20, "notes": "n"}), 200)["data"]
    eq((p.get("amount_cents"), p.get("notes"), p.get("name"), p.get("stage_id")), (20, "n", "Patch Deal", d["stage_id"]),
       "patched deal")
    eq(expect(A.get("/v1/deals/" + d["id"]), 200)["data"], p, "GET after PATCH")
    j = expect(A.delete("/v1/deals/" + d["id"]), 200)
    eq((j["data"].get("id"), j["data"].get("deleted")), (d["id"], True), "DELETE data")
    expect(A.get("/v1/deals/" + d["id"]), 404, "not_found")


INVALID_CREATE = [
    # label, body (tokens substituted), status, code, param
    ("missing_name", {"amount_cents": 5}, 400, "validation_failed", "name"),
    ("unknown_stage_key", {"name": "x", "stage": "no-such-stage"}, 400, "validation_failed", "stage"),
    ("stage_id_of_other_pipeline", {"name": "x", "pipeline_id": "DEFAULT", "stage_id": "P2_STAGE"}, 400,
     "validation_failed", "stage_id"),
    ("stage_id_of_default_with_p2", {"name": "x", "pipeline_id": "P2", "stage_id": "DEFAULT_STAGE"}, 400,
     "validation_failed", "stage_id"),
    ("stage_id_other_workspace", {"name": "x", "stage_id": "B_STAGE"}, 404, "not_found", "stage_id"),
    ("stage_id_unknown", {"name": "x", "stage_id": GHOST_STAGE}, 404, "not_found", "stage_id"),
    ("pipeline_id_unknown", {"name": "x", "pipeline_id": "pipe_00000000000000000000000000"}, 404, "not_found", "pipeline_id"),
    ("company_id_unknown", {"name": "x", "company_id": "com_00000000000000000000000000"}, 404, "not_found", "company_id"),
    ("contact_id_unknown", {"name": "x", "contact_id": "con_00000000000000000000000000"}, 404, "not_found", "contact_id"),
    ("lead_id_unknown", {"name": "x", "lead_id": "lead_00000000000000000000000000"}, 404, "not_found", "lead_id"),
    ("amount_string", {"name": "x", "amount_cents": "12"}, 400, "validation_failed", "amount_cents"),
    ("amount_float", {"name": "x", "amount_cents": 1.5}, 400, "validation_failed", "amount_cents"),
    ("currency_bad", {"name": "x", "currency": "usd"}, 400, "validation_failed", "currency"),
    ("close_date_bad", {"name": "x", "close_date": "30/06/2031"}, 400, "validation_failed", "close_date"),
    ("close_date_impossible", {"name": "x", "close_date": "2031-02-30"}, 400, "validation_failed", "close_date"),
    ("unknown_field", {"name": "x", "foo": 1}, 400, "validation_failed", "foo"),
]


def _sub(v):
    m = {"P2": P2["id"], "DEFAULT": DEFAULT["id"], "P2_STAGE": P2ST[0]["id"], "DEFAULT_STAGE": _open(DST)[0]["id"],
         "B_STAGE": BSTAGE["id"]}
    if isinstance(v, str):
        return m.get(v, v)
    if isinstance(v, dict):
        return {k: _sub(x) for k, x in v.items()}
    return v


def _make_invalid_create(label, body, status, code, param):
    def t():
        n = count(A, "/v1/deals")
        expect(A.post("/v1/deals", _sub(body)), status, code, param)
        eq(count(A, "/v1/deals"), n, "deal count after rejected create (%s)" % label)
    return t


for _c in INVALID_CREATE:
    globals()["test_create_invalid_" + _c[0]] = _make_invalid_create(*_c)


def test_default_only_stage_key_exists_in_default():
    # A key that exists, but in the default pipeline only: unknown within P2.
    A.create("/v1/pipelines/%s/stages" % DEFAULT["id"], {"name": "Default Only", "key": "demo_default_only"})
    n = count(A, "/v1/deals")
    expect(A.post("/v1/deals", {"name": "x", "pipeline_id": P2["id"], "stage": "demo_default_only"}), 400,
           "validation_failed", "stage")
    eq(count(A, "/v1/deals"), n, "deal count after rejected create")
    d = A.create("/v1/deals", {"name": "Default Only Deal", "stage": "demo_default_only"})
    eq(d.get("pipeline_id"), DEFAULT["id"], "pipeline of a deal created by a default-pipeline key")


# ------------------------------------------------------------ move

def test_move_to_won_closes_and_back_reopens():
    d = A.create("/v1/deals", {"name": "Closer", "amount_cents": 500})
    won, lost, first = _typed(DST, "won"), _typed(DST, "lost"), _open(DST)[0]
    w = expect(_move(d, {"stage_id": won["id"]}), 200)["data"]
    eq((w.get("id"), w.get("stage_id"), w.get("status")), (d["id"], won["id"], "won"), "deal moved to Won")
    ok(TIME_RE.match(str(w.get("closed_at"))), "closed_at after moving to Won: %r" % w.get("closed_at"))
    eq(expect(A.get("/v1/deals/" + d["id"]), 200)["data"], w, "GET after move to Won")
    ok(d["id"] in ids(list_all(A, "/v1/deals", {"status": "won"})), "deal not in ?status=won")
    o = expect(_move(d, {"stage_id": first["id"]}), 200)["data"]
    eq((o.get("stage_id"), o.get("status")), (first["id"], "open"), "deal moved back to an open stage")
    ok(o.get("closed_at") is None, "closed_at after reopening: %r" % o.get("closed_at"))
    ok(d["id"] not in ids(list_all(A, "/v1/deals", {"status": "won"})), "reopened deal still in ?status=won")
    lo = expect(_move(d, {"stage_id": lost["id"]}), 200)["data"]
    eq(lo.get("status"), "lost", "status after moving to Lost")
    ok(TIME_RE.match(str(lo.get("closed_at"))), "closed_at after moving to Lost: %r" % lo.get("closed_at"))


def test_move_without_neighbours_appends():
    st = _new_stage("Append Stage")
    a = A.create("/v1/deals", {"name": "Append A", "pipeline_id": P2["id"], "stage_id": st["id"]})
    b = A.create("/v1/deals", {"name": "Append B", "pipeline_id": P2["id"], "stage_id": st["id"]})
    c = A.create("/v1/deals", {"name": "Append C", "pipeline_id": P2["id"]})
    eq(_in_stage(st["id"]), [a["id"], b["id"]], "creation order within a stage")
    m = expect(_move(c, {"stage_id": st["id"]}), 200)["data"]
    eq(m.get("stage_id"), st["id"], "moved deal stage_id")
    eq(_in_stage(st["id"]), [a["id"], b["id"], c["id"]], "order after an append move")


def test_move_above_and_below_ordering():
    st = _new_stage("Order Stage")
    d1, d2, d3 = [A.create("/v1/deals", {"name": "Ord %d" % i, "pipeline_id": P2["id"], "stage_id": st["id"],
                                         "amount_cents": i}) for i in (1, 2, 3)]
    eq(_in_stage(st["id"]), ids([d1, d2, d3]), "initial order")
    # above_id = the deal directly above (before) the moved one
    expect(_move(d3, {"stage_id": st["id"], "above_id": d1["id"]}), 200)
    eq(_in_stage(st["id"]), ids([d1, d3, d2]), "order after moving d3 with above_id=d1 (sort=position)")
    eq(ids(_board_stage(P2["id"], st["id"])["deals"]), ids([d1, d3, d2]), "board order after moving d3 below d1")
    # below_id = the deal directly below (after) the moved one
    expect(_move(d2, {"stage_id": st["id"], "below_id": d1["id"]}), 200)
    eq(_in_stage(st["id"]), ids([d2, d1, d3]), "order after moving d2 with below_id=d1")
    eq(ids(_board_stage(P2["id"], st["id"])["deals"]), ids([d2, d1, d3]), "board order after moving d2 above d1")
    # both neighbours
    expect(_move(d3, {"stage_id": st["id"], "above_id": d2["id"], "below_id": d1["id"]}), 200)
    eq(_in_stage(st["id"]), ids([d2, d3, d1]), "order after moving d3 between d2 and d1")
    # the last place, by above_id
    expect(_move(d2, {"stage_id": st["id"], "above_id": d1["id"]}), 200)
    eq(_in_stage(st["id"]), ids([d3, d1, d2]), "order after moving d2 below the last deal")
    bs = _board_stage(P2["id"], st["id"])
    eq(ids(bs["deals"]), ids([d3, d1, d2]), "board order at the end")
    eq((bs.get("deal_count"), bs.get("amount_cents")), (3, 6), "board (deal_count, amount_cents)")
    pos = [d["position"] for d in list_all(A, "/v1/deals", {"stage_id": st["id"], "sort": "position"})]
    eq(pos, sorted(pos), "positions ascending under sort=position")
    eq(len(set(pos)), 3, "positions distinct")


def test_move_into_other_stage_at_a_place():
    src, dst = _new_stage("From Stage"), _new_stage("To Stage")
    x = A.create("/v1/deals", {"name": "Mover", "pipeline_id": P2["id"], "stage_id": src["id"]})
    y1 = A.create("/v1/deals", {"name": "Stay 1", "pipeline_id": P2["id"], "stage_id": dst["id"]})
    y2 = A.create("/v1/deals", {"name": "Stay 2", "pipeline_id": P2["id"], "stage_id": dst["id"]})
    m = expect(_move(x, {"stage_id": dst["id"], "below_id": y1["id"]}), 200)["data"]
    eq(m.get("stage_id"), dst["id"], "moved deal stage_id")
    eq(_in_stage(dst["id"]), ids([x, y1, y2]), "target stage order")
    eq(_in_stage(src["id"]), [], "source stage after the move")


MOVE_ERRORS = [
    # label, body (tokens substituted), status, code, param
    ("missing_stage_id", {}, 400, "validation_failed", "stage_id"),
    ("stage_of_other_pipeline", {"stage_id": "DEFAULT_STAGE"}, 400, "validation_failed", "stage_id"),
    ("stage_other_workspace", {"stage_id": "B_STAGE"}, 404, "not_found", "stage_id"),
    ("stage_unknown", {"stage_id": GHOST_STAGE}, 404, "not_found", "stage_id"),
    ("above_in_another_stage", {"stage_id": "HOME", "above_id": "ELSEWHERE"}, 400, "validation_failed", "above_id"),
    ("below_in_another_stage", {"stage_id": "HOME", "below_id": "ELSEWHERE"}, 400, "validation_failed", "below_id"),
    ("above_other_workspace", {"stage_id": "HOME", "above_id": "B_DEAL"}, 404, "not_found", "above_id"),
    ("below_unknown", {"stage_id": "HOME", "below_id": GHOST_DEAL}, 404, "not_found", "below_id"),
    ("unknown_field", {"stage_id": "HOME", "after": "x"}, 400, "validation_failed", "after"),
]


def _make_move_error(label, body, status, code, param):
    def t():
        home = _new_stage("Home " + label)
        other = _new_stage("Elsewhere " + label)
        d1 = A.create("/v1/deals", {"name": "Home 1", "pipeline_id": P2["id"], "stage_id": home["id"]})
        d2 = A.create("/v1/deals", {"name": "Home 2", "pipeline_id": P2["id"], "stage_id": home["id"]})
        e = A.create("/v1/deals", {"name": "Elsewhere", "pipeline_id": P2["id"], "stage_id": other["id"]})
        m = {"HOME": home["id"], "ELSEWHERE": e["id"], "B_DEAL": BDEAL["id"]}
        b = {k: m.get(v, v) for k, v in _sub(body).items()}
        expect(_move(d2, b), status, code, param)
        eq(expect(A.get("/v1/deals/" + d2["id"]), 200)["data"], d2, "moved deal after rejected move (%s)" % label)
        eq(_in_stage(home["id"]), ids([d1, d2]), "home stage order after rejected move (%s)" % label)
        eq(_in_stage(other["id"]), [e["id"]], "other stage after rejected move (%s)" % label)
    return t


for _c in MOVE_ERRORS:
    globals()["test_move_invalid_" + _c[0]] = _make_move_error(*_c)


def test_move_unknown_or_foreign_deal_is_404():
    st = _open(DST)[0]
    expect(A.post("/v1/deals/%s/move" % GHOST_DEAL, {"stage_id": st["id"]}), 404, "not_found")
    expect(A.post("/v1/deals/%s/move" % BDEAL["id"], {"stage_id": st["id"]}), 404, "not_found")
    eq(expect(B.get("/v1/deals/" + BDEAL["id"]), 200)["data"], BDEAL, "B's deal after A's move attempt")


# ------------------------------------------------------------ PATCH stage

def test_patch_stage_id_moves_to_end():
    src, dst = _new_stage("Patch From"), _new_stage("Patch To")
    x = A.create("/v1/deals", {"name": "Patched Mover", "pipeline_id": P2["id"], "stage_id": src["id"]})
    y = A.create("/v1/deals", {"name": "Already There", "pipeline_id": P2["id"], "stage_id": dst["id"]})
    d = expect(A.patch("/v1/deals/" + x["id"], {"stage_id": dst["id"]}), 200)["data"]
    eq((d.get("stage_id"), d.get("stage"), d.get("status")), (dst["id"], dst["key"], "open"), "deal after PATCH stage_id")
    eq(_in_stage(dst["id"]), ids([y, x]), "target stage order after PATCH (appended)")
    eq(_in_stage(src["id"]), [], "source stage after PATCH")


def test_patch_stage_key_moves_and_closes():
    d = A.create("/v1/deals", {"name": "Patch Key", "pipeline_id": P2["id"]})
    p = expect(A.patch("/v1/deals/" + d["id"], {"stage": "won"}), 200)["data"]
    eq((p.get("stage_id"), p.get("status")), (_typed(P2ST, "won")["id"], "won"), "deal after PATCH stage=won")
    ok(TIME_RE.match(str(p.get("closed_at"))), "closed_at after PATCH to won: %r" % p.get("closed_at"))


PATCH_ERRORS = [
    ("stage_id_other_pipeline", {"stage_id": "DEFAULT_STAGE"}, 400, "validation_failed", "stage_id"),
    ("stage_id_other_workspace", {"stage_id": "B_STAGE"}, 404, "not_found", "stage_id"),
    ("stage_key_unknown", {"stage": "nope-nope"}, 400, "validation_failed", "stage"),
    ("status_read_only", {"status": "won"}, 400, "validation_failed", "status"),
    ("amount_string", {"amount_cents": "1"}, 400, "validation_failed", "amount_cents"),
    ("name_null", {"name": None}, 400, "validation_failed", "name"),
]


def _make_patch_error(label, body, status, code, param):
    def t():
        d = A.create("/v1/deals", {"name": "Patch Target " + label, "pipeline_id": P2["id"], "amount_cents": 7})
        expect(A.patch("/v1/deals/" + d["id"], _sub(body)), status, code, param)
        eq(expect(A.get("/v1/deals/" + d["id"]), 200)["data"], d, "deal after rejected PATCH (%s)" % label)
    return t


for _c in PATCH_ERRORS:
    globals()["test_patch_invalid_" + _c[0]] = _make_patch_error(*_c)


# ------------------------------------------------------------ filters

def test_filters_pipeline_stage_status():
    d = A.create("/v1/deals", {"name": "Filter Me", "pipeline_id": P2["id"], "stage": "negotiation",
                               "owner_id": member(A, "usr_filter")})
    got = ids(list_all(A, "/v1/deals", {"owner_id": member(A, "usr_filter")}))
    eq(got, [d["id"]], "?owner_id=")
    ok(d["id"] in ids(list_all(A, "/v1/deals", {"pipeline_id": P2["id"], "stage": "negotiation"})), "?pipeline_id&stage=")
    ok(d["id"] not in ids(list_all(A, "/v1/deals", {"pipeline_id": DEFAULT["id"]})), "P2 deal under ?pipeline_id=default")
    expect(A.get("/v1/deals", params={"status": "bogus"}), 400, "validation_failed", "status")


def test_related_filters():
    da = A.create("/v1/deals", {"name": "Acme Deal", "company_id": ACME["id"]})
    da2 = A.create("/v1/deals", {"name": "Acme Deal 2", "company_id": ACME["id"]})
    A.create("/v1/deals", {"name": "Other Deal", "company_id": OTHER["id"]})
    A.create("/v1/deals", {"name": "No Company Deal"})
    got = list_all(A, "/v1/deals", {"company.name": "Acme Related"})
    ok({da["id"], da2["id"]} <= set(ids(got)), "GET /v1/deals?company.name=Acme Related has both deals")
    eq({d["company_id"] for d in got}, {ACME["id"]}, "GET /v1/deals?company.name=Acme Related: only Acme's deals")
    eq(list_all(A, "/v1/deals", {"company.name": "Nobody Inc"}), [], "GET /v1/deals?company.name=Nobody Inc")
    ca = A.create("/v1/contacts", {"name": "Acme Person", "company_id": ACME["id"]})
    A.create("/v1/contacts", {"name": "Other Person", "company_id": OTHER["id"]})
    A.create("/v1/contacts", {"name": "Loose Person"})
    eq(ids(list_all(A, "/v1/contacts", {"company.domain": "acme-related.test"})), [ca["id"]],
       "GET /v1/contacts?company.domain=acme-related.test")
    got = list_all(A, "/v1/deals", {"company.domain": "acme-related.test"})
    eq(sorted(ids(got)), sorted(ids([d for d in list_all(A, "/v1/deals", {"company_id": ACME["id"]})])),
       "GET /v1/deals?company.domain=acme-related.test equals company_id=Acme")


def test_related_filter_does_not_cross_workspaces():
    B.create("/v1/companies", {"name": "Acme Related", "domain": "acme-related.test"})
    got = list_all(B, "/v1/deals", {"company.name": "Acme Related"})
    eq(got, [], "B's deals through company.name of A's company")
    eq(list_all(B, "/v1/contacts", {"company.domain": "acme-related.test"}), [], "B's contacts through company.domain")


BAD_RELATED = [
    ("/v1/deals", "nosuch.name"),
    ("/v1/deals", "company.notes"),
    ("/v1/deals", "owner.name"),
    ("/v1/contacts", "company.bogus"),
    ("/v1/contacts", "deal.name"),
]


def _make_bad_related(path, param):
    def t():
        expect(A.get(path, params={param: "x"}), 400, "validation_failed", param)
    return t


for _i, (_p, _n) in enumerate(BAD_RELATED):
    globals()["test_related_filter_invalid_%02d_%s" % (_i, _n.replace(".", "_"))] = _make_bad_related(_p, _n)


def test_bad_sort_is_400():
    expect(A.get("/v1/deals", params={"sort": "bogus"}), 400, "validation_failed", "sort")


# ------------------------------------------------------------ isolation

def test_other_workspace_deal_is_404():
    expect(A.get("/v1/deals/" + BDEAL["id"]), 404, "not_found")
    expect(A.patch("/v1/deals/" + BDEAL["id"], {"name": "Hijacked"}), 404, "not_found")
    expect(A.delete("/v1/deals/" + BDEAL["id"]), 404, "not_found")
    ok(BDEAL["id"] not in ids(list_all(A, "/v1/deals")), "B's deal listed for A")
    eq(expect(B.get("/v1/deals/" + BDEAL["id"]), 200)["data"], BDEAL, "B's deal after A's attempts")


def _totals_from_deals(c, pipe_id):
    """Per stage: (count, sum of amount_cents) computed from the deals themselves."""
    out = {}
    for d in list_all(c, "/v1/deals", {"pipeline_id": pipe_id}):
        n, s = out.get(d["stage_id"], (0, 0))
        out[d["stage_id"]] = (n + 1, s + (d["amount_cents"] or 0))
    return out


def _totals_from_board(c, pipe_id):
    j = expect(c.get("/v1/pipelines/%s/board" % pipe_id), 200)
    return {s["id"]: (s["deal_count"], s["amount_cents"]) for s in j["data"]["stages"] if s["deal_count"]}


def _open_from_dashboard(c, pipe_id):
    j = expect(c.get("/v1/dashboard"), 200)
    return {(r["stage_id"], r["currency"]): (r["deal_count"], r["amount_cents"])
            for r in j["data"]["open_pipeline"] if r["pipeline_id"] == pipe_id}


def _open_from_deals(c, pipe_id):
    out = {}
    for d in list_all(c, "/v1/deals", {"pipeline_id": pipe_id, "status": "open"}):
        k = (d["stage_id"], d["currency"])
        n, s = out.get(k, (0, 0))
        out[k] = (n + 1, s + (d["amount_cents"] or 0))
    return out


def test_board_and_dashboard_totals_follow_every_write():
    """The board's and dashboard's totals are kept as deals change (not
    recounted): after creates, amount and currency edits, moves in and out
    of Won, a failed batch item, a lead conversion and a delete they still
    equal what the deals themselves add up to."""
    p = A.create("/v1/pipelines", {"name": "Totals"})
    st = _stages(A, p["id"])
    op, won = _open(st), _typed(st, "won")
    made = [A.create("/v1/deals", {"name": "T%d" % i, "pipeline_id": p["id"], "amount_cents": 100 * (i + 1),
                                   "currency": "USD" if i % 2 else "EUR"}) for i in range(6)]
    expect(A.patch("/v1/deals/" + made[0]["id"], {"amount_cents": 5000}), 200)
    expect(A.patch("/v1/deals/" + made[1]["id"], {"currency": "GBP"}), 200)
    expect(A.post("/v1/deals/%s/move" % made[2]["id"], {"stage_id": won["id"]}), 200)
    expect(A.post("/v1/deals/%s/move" % made[3]["id"], {"stage_id": won["id"]}), 200)
    expect(A.post("/v1/deals/%s/move" % made[3]["id"], {"stage_id": op[1]["id"]}), 200)
    expect(A.patch("/v1/deals/" + made[4]["id"], {"stage_id": op[2]["id"], "amount_cents": None}), 200)
    expect(A.delete("/v1/deals/" + made[5]["id"]), 200)
    j = expect(A.post("/v1/deals/batch", {"operations": [
        {"action": "create", "data": {"name": "B1", "pipeline_id": p["id"], "amount_cents": 7, "currency": "USD"}},
        {"action": "create", "data": {"name": "B2", "pipeline_id": p["id"], "amount_cents": "x"}},
        {"action": "update", "id": made[0]["id"], "data": {"stage_id": GHOST_STAGE}}]}), 200)
    eq([r["status"] for r in j["data"]["results"]], [201, 400, 404], "batch item statuses")
    lead = A.create("/v1/leads", {"name": "Totals Lead", "value_cents": 900, "currency": "USD"})
    expect(A.post("/v1/leads/%s/convert" % lead["id"],
                  {"create_deal": True, "pipeline_id": p["id"], "stage_id": op[0]["id"]}), 200)
    eq(_totals_from_board(A, p["id"]), _totals_from_deals(A, p["id"]), "board totals vs the deals")
    eq(_open_from_dashboard(A, p["id"]), _open_from_deals(A, p["id"]), "dashboard open pipeline vs the deals")
    ok(_totals_from_deals(A, p["id"]).get(won["id"]) == (1, 300), "one deal left in Won with 300 cents")
