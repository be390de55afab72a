"""Pipelines and stages (/v1/pipelines, /v1/pipeline-stages, /v1/deal-stages):
the default pipeline of a fresh workspace, seeded stages, stage create /
rename / reposition / delete rules, the board with per-stage cursors, and
workspace isolation. Every rejected write is checked to change nothing."""

from harness import Server, check_record, count, eq, expect, ids, list_all, ok

S = A = B = F = DS = None
DEFAULT = None       # A's default pipeline
BPIPE = None         # B's default pipeline
BSTAGE = None        # an open stage of B's default pipeline

SEEDED = [("Qualification", "qualification", "open"), ("Proposal", "proposal", "open"),
          ("Negotiation", "negotiation", "open"), ("Won", "won", "won"), ("Lost", "lost", "lost")]
GHOST_PIPE = "pipe_00000000000000000000000000"
GHOST_STAGE = "stage_00000000000000000000000000"


def setup_module():
    global S, A, B, F, DS, DEFAULT, BPIPE, BSTAGE
    S = Server(name="pipelines")
    A = S.key("pipe-a")
    B = S.key("pipe-b")
    F = S.key("pipe-fresh")          # never written to: the pristine default pipeline
    DS = S.key("pipe-deal-stages")   # /v1/deal-stages writes go here
    S.start()
    DEFAULT = _default(A)
    BPIPE = _default(B)
    BSTAGE = _open(_stages(B, BPIPE["id"]))[0]


def teardown_module():
    S.stop_ok()


def _default(c):
    ps = [p for p in list_all(c, "/v1/pipelines") if p.get("is_default") is True]
    eq(len(ps), 1, "default pipelines in workspace of key %s" % c.id)
    return ps[0]


def _stages(c, pipe_id):
    return list_all(c, "/v1/pipelines/%s/stages" % pipe_id)


def _open(stages):
    return [s for s in stages if s.get("stage_type") == "open"]


def _by_type(stages, t):
    return [s for s in stages if s.get("stage_type") == t][0]


def _new_pipeline(c, name):
    return c.create("/v1/pipelines", {"name": name})


def _check_stage_order(stages, what):
    pos = [s.get("position") for s in stages]
    ok(all(isinstance(p, int) and not isinstance(p, bool) for p in pos), "%s: positions are not integers: %s" % (what, pos))
    eq(pos, sorted(pos), "%s: stages ordered by position" % what)
    eq(len(set(pos)), len(pos), "%s: positions distinct" % what)
    types = [s.get("stage_type") for s in stages]
    ok(len(types) >= 3, "%s: at least one open stage plus Won and Lost: %s" % (what, types))
    eq(types[-2:], ["won", "lost"], "%s: last two stage types" % what)
    ok(all(t == "open" for t in types[:-2]), "%s: open stages first: %s" % (what, types))


# ------------------------------------------------------------ default pipeline

def test_fresh_workspace_has_one_default_pipeline():
    ps = list_all(F, "/v1/pipelines")
    eq(len(ps), 1, "pipelines of a fresh workspace")
    p = ps[0]
    check_record(p, "pipe_", "default pipeline", custom_fields=False)
    eq(p.get("name"), "Sales pipeline", "default pipeline name")
    eq(p.get("is_default"), True, "default pipeline is_default")
    eq(expect(F.get("/v1/pipelines/" + p["id"]), 200)["data"], p, "GET default pipeline")


def test_default_pipeline_stages_ordered_open_then_won_lost():
    p = _default(F)
    st = _stages(F, p["id"])
    for s in st:
        check_record(s, "stage_", "default pipeline stage", custom_fields=False)
        eq(s.get("pipeline_id"), p["id"], "stage %s pipeline_id" % s.get("name"))
    _check_stage_order(st, "default pipeline stages")
    eq([s.get("name") for s in st[-2:]], ["Won", "Lost"], "names of the last two stages")
    j = expect(F.get("/v1/pipelines/%s/stages" % p["id"]), 200)
    ok("next_cursor" in j, "stage list has no next_cursor key")
    for s in st:
        eq(expect(F.get("/v1/pipeline-stages/" + s["id"]), 200)["data"], s, "GET /v1/pipeline-stages/%s" % s["id"])


def test_generic_stage_list_filters_by_pipeline():
    st = _stages(F, _default(F)["id"])
    got = list_all(F, "/v1/pipeline-stages", {"pipeline_id": st[0]["pipeline_id"]})
    eq(sorted(ids(got)), sorted(ids(st)), "GET /v1/pipeline-stages?pipeline_id= stage set")


# ------------------------------------------------------------ pipelines CRUD

def test_create_pipeline_seeds_stages():
    p = expect(A.post("/v1/pipelines", {"name": "Partners", "description": "Channel deals"}), 201)["data"]
    check_record(p, "pipe_", "created pipeline", custom_fields=False)
    eq((p.get("name"), p.get("description"), p.get("is_default")), ("Partners", "Channel deals", False),
       "created pipeline (name, description, is_default)")
    eq(expect(A.get("/v1/pipelines/" + p["id"]), 200)["data"], p, "GET after create")
    st = _stages(A, p["id"])
    eq([(s.get("name"), s.get("key"), s.get("stage_type")) for s in st], SEEDED, "seeded stages (name, key, type)")
    _check_stage_order(st, "seeded stages")
    eq(_default(A)["id"], DEFAULT["id"], "default pipeline unchanged after creating another")


def test_patch_pipeline():
    p = _new_pipeline(A, "Patch Me")
    d = expect(A.patch("/v1/pipelines/" + p["id"], {"name": "Patched", "description": "now described"}), 200)["data"]
    eq((d.get("name"), d.get("description"), d.get("is_default")), ("Patched", "now described", False), "patched pipeline")
    eq(expect(A.get("/v1/pipelines/" + p["id"]), 200)["data"], d, "GET after PATCH")


INVALID_PIPELINE_CREATE = [
    ("missing_name", {"description": "x"}, 400, "validation_failed", "name"),
    ("name_wrong_type", {"name": 5}, 400, "validation_failed", "name"),
    ("unknown_field", {"name": "x", "foo": 1}, 400, "validation_failed", "foo"),
]


def _make_invalid_pipeline(label, body, status, code, param):
    def t():
        n = count(A, "/v1/pipelines")
        expect(A.post("/v1/pipelines", body), status, code, param)
        eq(count(A, "/v1/pipelines"), n, "pipeline count after rejected create (%s)" % label)
    return t


for _c in INVALID_PIPELINE_CREATE:
    globals()["test_pipeline_create_invalid_" + _c[0]] = _make_invalid_pipeline(*_c)


def test_delete_empty_pipeline():
    p = _new_pipeline(A, "Doomed Pipeline")
    st = _stages(A, p["id"])
    d = expect(A.delete("/v1/pipelines/" + p["id"]), 200)["data"]
    eq((d.get("id"), d.get("deleted")), (p["id"], True), "DELETE pipeline data (id, deleted)")
    expect(A.get("/v1/pipelines/" + p["id"]), 404, "not_found")
    expect(A.get("/v1/pipelines/%s/stages" % p["id"]), 404, "not_found")
    expect(A.get("/v1/pipelines/%s/board" % p["id"]), 404, "not_found")
    ok(p["id"] not in ids(list_all(A, "/v1/pipelines")), "deleted pipeline still listed")
    expect(A.get("/v1/pipeline-stages/" + st[0]["id"]), 404, "not_found")


def test_delete_default_pipeline_is_409():
    before = expect(A.get("/v1/pipelines/" + DEFAULT["id"]), 200)["data"]
    n = len(_stages(A, DEFAULT["id"]))
    expect(A.delete("/v1/pipelines/" + DEFAULT["id"]), 409, "conflict")
    eq(expect(A.get("/v1/pipelines/" + DEFAULT["id"]), 200)["data"], before, "default pipeline after 409")
    eq(len(_stages(A, DEFAULT["id"])), n, "default pipeline stage count after 409")


def test_delete_pipeline_with_deals_is_409():
    p = _new_pipeline(A, "Has Deals")
    deal = A.create("/v1/deals", {"name": "Keeps Pipeline", "pipeline_id": p["id"]})
    expect(A.delete("/v1/pipelines/" + p["id"]), 409, "conflict")
    expect(A.get("/v1/pipelines/" + p["id"]), 200)
    eq(expect(A.get("/v1/deals/" + deal["id"]), 200)["data"], deal, "deal after refused pipeline delete")


# ------------------------------------------------------------ stages

def test_add_stage_goes_after_last_open_stage():
    p = _new_pipeline(A, "Add Stage")
    s = expect(A.post("/v1/pipelines/%s/stages" % p["id"], {"name": "Demo", "probability": 40}), 201)["data"]
    check_record(s, "stage_", "created stage", custom_fields=False)
    eq((s.get("pipeline_id"), s.get("name"), s.get("key"), s.get("stage_type"), s.get("probability")),
       (p["id"], "Demo", "demo", "open", 40), "created stage (pipeline_id, name, key, stage_type, probability)")
    st = _stages(A, p["id"])
    eq([x.get("name") for x in st], ["Qualification", "Proposal", "Negotiation", "Demo", "Won", "Lost"],
       "stage order after adding one")
    _check_stage_order(st, "stages after adding one")
    eq(expect(A.get("/v1/pipeline-stages/" + s["id"]), 200)["data"], [x for x in st if x["id"] == s["id"]][0],
       "GET created stage equals its list entry")


def test_add_stage_derives_lowercase_key():
    p = _new_pipeline(A, "Slug Stage")
    s = A.create("/v1/pipelines/%s/stages" % p["id"], {"name": "Contract Sent"})
    k = s.get("key") or ""
    ok(k == k.lower() and "contract" in k and "sent" in k and " " not in k,
       "key derived from 'Contract Sent' is not a lower-case slug: %r" % k)
    s2 = A.create("/v1/pipelines/%s/stages" % p["id"], {"name": "Explicit", "key": "my_key"})
    eq(s2.get("key"), "my_key", "explicit key kept")


def test_add_stage_via_generic_endpoint():
    p = _new_pipeline(A, "Generic Stage")
    s = expect(A.post("/v1/pipeline-stages", {"pipeline_id": p["id"], "name": "Trial"}), 201)["data"]
    eq((s.get("pipeline_id"), s.get("key"), s.get("stage_type")), (p["id"], "trial", "open"), "generic stage create")
    eq([x.get("name") for x in _stages(A, p["id"])][-3:], ["Trial", "Won", "Lost"], "last three stages")


def test_stage_type_open_is_accepted():
    p = _new_pipeline(A, "Open Type")
    s = A.create("/v1/pipelines/%s/stages" % p["id"], {"name": "Typed", "stage_type": "open"})
    eq(s.get("stage_type"), "open", "stage_type")


def test_same_key_in_another_pipeline_is_fine():
    p = _new_pipeline(A, "Same Key")
    s = A.create("/v1/pipelines/%s/stages" % p["id"], {"name": "Demo"})
    eq(s.get("key"), "demo", "key of Demo in a second pipeline")


INVALID_STAGE_CREATE = [
    # label, body, status, code, param
    ("missing_name", {"key": "nameless"}, 400, "validation_failed", "name"),
    ("name_wrong_type", {"name": 3}, 400, "validation_failed", "name"),
    ("stage_type_won", {"name": "Won Again", "stage_type": "won"}, 400, "validation_failed", "stage_type"),
    ("stage_type_lost", {"name": "Lost Again", "stage_type": "lost"}, 400, "validation_failed", "stage_type"),
    ("stage_type_bogus", {"name": "Weird", "stage_type": "bogus"}, 400, "validation_failed", "stage_type"),
    ("probability_101", {"name": "Too Likely", "probability": 101}, 400, "validation_failed", "probability"),
    ("probability_negative", {"name": "Unlikely", "probability": -1}, 400, "validation_failed", "probability"),
    ("probability_string", {"name": "Stringy", "probability": "50"}, 400, "validation_failed", "probability"),
    ("position_string", {"name": "Posy", "position": "first"}, 400, "validation_failed", "position"),
    ("unknown_field", {"name": "Foo", "foo": 1}, 400, "validation_failed", "foo"),
    ("duplicate_explicit_key", {"name": "Another", "key": "proposal"}, 409, "conflict", "key"),
    ("duplicate_derived_key", {"name": "Proposal"}, 409, "conflict", "key"),
    ("duplicate_won_key", {"name": "Won"}, 409, "conflict", "key"),
]


def _make_invalid_stage(label, body, status, code, param):
    def t():
        p = _new_pipeline(A, "Invalid Stage " + label)
        before = _stages(A, p["id"])
        expect(A.post("/v1/pipelines/%s/stages" % p["id"], body), status, code, param)
        eq(_stages(A, p["id"]), before, "stages after rejected create (%s)" % label)
    return t


for _c in INVALID_STAGE_CREATE:
    globals()["test_stage_create_invalid_" + _c[0]] = _make_invalid_stage(*_c)


def test_generic_stage_create_errors():
    n = count(A, "/v1/pipeline-stages")
    expect(A.post("/v1/pipeline-stages", {"name": "Orphan"}), 400, "validation_failed", "pipeline_id")
    expect(A.post("/v1/pipeline-stages", {"name": "Ghost", "pipeline_id": GHOST_PIPE}), 404, "not_found", "pipeline_id")
    expect(A.post("/v1/pipeline-stages", {"name": "Foreign", "pipeline_id": BPIPE["id"]}), 404, "not_found", "pipeline_id")
    eq(count(A, "/v1/pipeline-stages"), n, "stage count after rejected creates")
    ok("Foreign" not in [s.get("name") for s in _stages(B, BPIPE["id"])], "A created a stage in B's pipeline")


def test_post_stage_to_unknown_pipeline_is_404():
    expect(A.post("/v1/pipelines/%s/stages" % GHOST_PIPE, {"name": "Ghost"}), 404, "not_found")
    expect(A.get("/v1/pipelines/%s/stages" % GHOST_PIPE), 404, "not_found")


def test_rename_stage():
    p = _new_pipeline(A, "Rename")
    st = _stages(A, p["id"])
    s = st[1]
    d = expect(A.patch("/v1/pipeline-stages/" + s["id"], {"name": "Proposal Sent", "probability": 60}), 200)["data"]
    eq((d.get("name"), d.get("probability"), d.get("pipeline_id"), d.get("stage_type")),
       ("Proposal Sent", 60, p["id"], "open"), "renamed stage")
    after = _stages(A, p["id"])
    eq(ids(after), ids(st), "stage order unchanged by a rename")
    eq(after[1], d, "list entry equals PATCH response")


def test_reposition_stage_to_front():
    p = _new_pipeline(A, "Reposition Front")
    st = _stages(A, p["id"])
    q, pr, ne = st[0], st[1], st[2]
    expect(A.patch("/v1/pipeline-stages/" + ne["id"], {"position": q["position"]}), 200)
    after = _stages(A, p["id"])
    eq([s["name"] for s in after], ["Negotiation", "Qualification", "Proposal", "Won", "Lost"],
       "order after moving Negotiation to Qualification's position")
    _check_stage_order(after, "stages after reposition")


def test_reposition_stage_far_back_stays_before_won_lost():
    p = _new_pipeline(A, "Reposition Back")
    st = _stages(A, p["id"])
    expect(A.patch("/v1/pipeline-stages/" + st[0]["id"], {"position": 1000}), 200)
    after = _stages(A, p["id"])
    eq([s["name"] for s in after], ["Proposal", "Negotiation", "Qualification", "Won", "Lost"],
       "order after moving Qualification to position 1000")
    _check_stage_order(after, "stages after reposition to 1000")


def test_patch_stage_key_to_duplicate_is_409():
    p = _new_pipeline(A, "Dup Key Patch")
    st = _stages(A, p["id"])
    expect(A.patch("/v1/pipeline-stages/" + st[0]["id"], {"key": "proposal"}), 409, "conflict", "key")
    eq(_stages(A, p["id"]), st, "stages after rejected key PATCH")


INVALID_STAGE_PATCH = [
    # label, body (OTHER_PIPE substituted), status, code, param
    ("pipeline_id_change", {"pipeline_id": "OTHER_PIPE"}, 400, "validation_failed", "pipeline_id"),
    ("pipeline_id_to_default", {"pipeline_id": "DEFAULT"}, 400, "validation_failed", "pipeline_id"),
    ("stage_type_won", {"stage_type": "won"}, 400, "validation_failed", "stage_type"),
    ("name_null", {"name": None}, 400, "validation_failed", "name"),
    ("probability_200", {"probability": 200}, 400, "validation_failed", "probability"),
    ("unknown_field", {"bar": True}, 400, "validation_failed", "bar"),
]


def _make_invalid_stage_patch(label, body, status, code, param):
    def t():
        p = _new_pipeline(A, "Patch Invalid " + label)
        other = _new_pipeline(A, "Patch Other " + label)
        sub = {"OTHER_PIPE": other["id"], "DEFAULT": DEFAULT["id"]}
        b = {k: sub.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
        st = _stages(A, p["id"])
        target = st[0]
        expect(A.patch("/v1/pipeline-stages/" + target["id"], b), status, code, param)
        eq(expect(A.get("/v1/pipeline-stages/" + target["id"]), 200)["data"], target, "stage after rejected PATCH (%s)" % label)
        eq(_stages(A, p["id"]), st, "stages of its pipeline after rejected PATCH (%s)" % label)
        eq(len(_stages(A, other["id"])), len(SEEDED), "stages of the other pipeline after rejected PATCH (%s)" % label)
    return t


for _c in INVALID_STAGE_PATCH:
    globals()["test_stage_patch_invalid_" + _c[0]] = _make_invalid_stage_patch(*_c)


def test_delete_empty_open_stage():
    p = _new_pipeline(A, "Delete Stage")
    st = _stages(A, p["id"])
    s = st[1]
    d = expect(A.delete("/v1/pipeline-stages/" + s["id"]), 200)["data"]
    eq(d, {"id": s["id"], "object": "pipeline_stage", "deleted": True}, "DELETE stage data")
    expect(A.get("/v1/pipeline-stages/" + s["id"]), 404, "not_found")
    expect(A.delete("/v1/pipeline-stages/" + s["id"]), 404, "not_found")
    eq([x["name"] for x in _stages(A, p["id"])], ["Qualification", "Negotiation", "Won", "Lost"], "stages after DELETE")


def test_delete_won_and_lost_is_409():
    p = _new_pipeline(A, "Keep Won Lost")
    st = _stages(A, p["id"])
    for t in ("won", "lost"):
        expect(A.delete("/v1/pipeline-stages/" + _by_type(st, t)["id"]), 409, "conflict")
    eq(_stages(A, p["id"]), st, "stages after refused Won/Lost deletes")


def test_delete_stage_with_deals_is_409():
    p = _new_pipeline(A, "Busy Stage")
    st = _stages(A, p["id"])
    deal = A.create("/v1/deals", {"name": "Sitting Here", "pipeline_id": p["id"], "stage_id": st[1]["id"]})
    expect(A.delete("/v1/pipeline-stages/" + st[1]["id"]), 409, "conflict")
    eq(_stages(A, p["id"]), st, "stages after refused delete")
    eq(expect(A.get("/v1/deals/" + deal["id"]), 200)["data"], deal, "deal after refused stage delete")
    # once the deal is gone the stage can go
    expect(A.delete("/v1/deals/" + deal["id"]), 200)
    expect(A.delete("/v1/pipeline-stages/" + st[1]["id"]), 200)


# ------------------------------------------------------------ /v1/deal-stages

def test_deal_stages_list_default_pipeline():
    p = _default(DS)
    got = list_all(DS, "/v1/deal-stages")
    eq(ids(got), ids(_stages(DS, p["id"])), "GET /v1/deal-stages ids (ordered by position)")


def test_deal_stages_create():
    p = _default(DS)
    s = expect(DS.post("/v1/deal-stages", {"key": "demo_ds", "name": "Demo DS"}), 201)["data"]
    check_record(s, "stage_", "deal-stage", custom_fields=False)
    eq((s.get("pipeline_id"), s.get("key"), s.get("name"), s.get("stage_type")),
       (p["id"], "demo_ds", "Demo DS", "open"), "created deal-stage")
    st = _stages(DS, p["id"])
    ok(s["id"] in ids(st), "new deal-stage not in the default pipeline")
    _check_stage_order(st, "default pipeline after POST /v1/deal-stages")
    eq(ids(list_all(DS, "/v1/deal-stages")), ids(st), "GET /v1/deal-stages after POST")
    n = len(st)
    expect(DS.post("/v1/deal-stages", {"key": "demo_ds", "name": "Demo Again"}), 409, "conflict", "key")
    expect(DS.post("/v1/deal-stages", {"name": "Won Too", "stage_type": "won"}), 400, "validation_failed", "stage_type")
    expect(DS.post("/v1/deal-stages", {"key": "no_name"}), 400, "validation_failed", "name")
    eq(len(_stages(DS, p["id"])), n, "default pipeline stage count after rejected deal-stage creates")


# ------------------------------------------------------------ board

def test_board():
    p = _new_pipeline(A, "Board")
    st = _stages(A, p["id"])
    q, pr = st[0], st[1]
    qd = [A.create("/v1/deals", {"name": "Q%d" % i, "pipeline_id": p["id"], "stage_id": q["id"],
                                 "amount_cents": 100 * (i + 1), "currency": "USD"}) for i in range(3)]
    pd = A.create("/v1/deals", {"name": "P0", "pipeline_id": p["id"], "stage_id": pr["id"],
                                "amount_cents": 50, "currency": "USD"})
    j = expect(A.get("/v1/pipelines/%s/board" % p["id"], params={"limit": 2}), 200)
    b = j["data"]
    eq(b.get("object"), "board", "board object")
    eq((b.get("pipeline") or {}).get("id"), p["id"], "board pipeline id")
    eq(ids(b.get("stages") or []), ids(st), "board stages in position order")
    by = {s["id"]: s for s in b["stages"]}
    eq((by[q["id"]].get("deal_count"), by[q["id"]].get("amount_cents")), (3, 600), "Qualification (deal_count, amount_cents)")
    eq(ids(by[q["id"]].get("deals") or []), ids(qd[:2]), "Qualification first two deals")
    cur = by[q["id"]].get("next_cursor")
    ok(isinstance(cur, str) and cur, "Qualification next_cursor with limit=2: %r" % cur)
    eq((by[pr["id"]].get("deal_count"), by[pr["id"]].get("amount_cents")), (1, 50), "Proposal (deal_count, amount_cents)")
    eq(ids(by[pr["id"]]["deals"]), [pd["id"]], "Proposal deals")
    ok(by[pr["id"]].get("next_cursor") is None, "Proposal next_cursor: %r" % by[pr["id"]].get("next_cursor"))
    for s in st[2:]:
        e = by[s["id"]]
        eq((e.get("deal_count"), e.get("amount_cents"), e.get("deals"), e.get("next_cursor")), (0, 0, [], None),
           "empty stage %s (deal_count, amount_cents, deals, next_cursor)" % s["name"])
        eq(e.get("name"), s["name"], "board stage name")
    rest = expect(A.get("/v1/deals", params={"stage_id": q["id"], "sort": "position", "cursor": cur, "limit": 2}), 200)
    eq(ids(rest["data"]), [qd[2]["id"]], "deals after the board's Qualification cursor")
    ok(rest.get("next_cursor") is None, "next_cursor after the last Qualification deal: %r" % rest.get("next_cursor"))
    full = expect(A.get("/v1/pipelines/%s/board" % p["id"]), 200)["data"]
    fq = [s for s in full["stages"] if s["id"] == q["id"]][0]
    eq(ids(fq["deals"]), ids(qd), "Qualification deals with the default limit")
    ok(fq.get("next_cursor") is None, "Qualification next_cursor with the default limit")


def test_board_limit_errors():
    for lim in ("0", "101", "abc"):
        expect(A.get("/v1/pipelines/%s/board" % DEFAULT["id"], params={"limit": lim}), 400, "validation_failed", "limit")


def test_board_unknown_pipeline_is_404():
    expect(A.get("/v1/pipelines/%s/board" % GHOST_PIPE), 404, "not_found")


# ------------------------------------------------------------ isolation

OTHER_WORKSPACE = [
    # label, method, path, body
    ("get_pipeline", "GET", "/v1/pipelines/{pipe}", None),
    ("patch_pipeline", "PATCH", "/v1/pipelines/{pipe}", {"name": "Hijacked"}),
    ("delete_pipeline", "DELETE", "/v1/pipelines/{pipe}", None),
    ("list_stages", "GET", "/v1/pipelines/{pipe}/stages", None),
    ("add_stage", "POST", "/v1/pipelines/{pipe}/stages", {"name": "Hijack Stage"}),
    ("board", "GET", "/v1/pipelines/{pipe}/board", None),
    ("get_stage", "GET", "/v1/pipeline-stages/{stage}", None),
    ("patch_stage", "PATCH", "/v1/pipeline-stages/{stage}", {"name": "Hijacked"}),
    ("delete_stage", "DELETE", "/v1/pipeline-stages/{stage}", None),
]


def _make_other_ws(label, method, path, body):
    def t():
        before_p = expect(B.get("/v1/pipelines/" + BPIPE["id"]), 200)["data"]
        before_s = _stages(B, BPIPE["id"])
        pth = path.replace("{pipe}", BPIPE["id"]).replace("{stage}", BSTAGE["id"])
        expect(A.request(method, pth, body=body), 404, "not_found")
        eq(expect(B.get("/v1/pipelines/" + BPIPE["id"]), 200)["data"], before_p, "B's pipeline after A's %s" % label)
        eq(_stages(B, BPIPE["id"]), before_s, "B's stages after A's %s" % label)
    return t


for _c in OTHER_WORKSPACE:
    globals()["test_other_workspace_" + _c[0]] = _make_other_ws(*_c)


def test_other_workspace_pipelines_not_listed():
    ok(BPIPE["id"] not in ids(list_all(A, "/v1/pipelines")), "B's pipeline listed for A")
    ok(BSTAGE["id"] not in ids(list_all(A, "/v1/pipeline-stages")), "B's stage listed for A")
    ok(DEFAULT["id"] != BPIPE["id"], "two workspaces share a default pipeline id")
