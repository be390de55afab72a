"""Marketing (004's shapes; cms:read/cms:write; module marketing): campaigns
(/v1/marketing/campaigns, key unique; not the outbound calling campaigns),
posts (/v1/marketing/posts) and 001's static marketing lists
(/v1/marketing/lists) whose members, contacts and companies, are added and
removed through /v1/marketing/lists/{id}/members (up to 1000 ids, all or
none, repeats skipped). Every refused write is checked to change nothing."""

from harness import Server, eq, expect, ids, list_all, ok, uniq

S = A = B = RO = CRM = None

CHANNELS = ["website", "email", "blog", "linkedin", "x", "facebook", "instagram", "youtube", "ads",
            "events", "other"]


def setup_module():
    global S, A, B, RO, CRM
    S = Server(name="marketing")
    A = S.key("marketing-a")
    B = S.key("marketing-b")
    RO = S.key("marketing-a", "cms:read")
    CRM = S.key("marketing-a", "crm:read,crm:write")
    S.start()


def teardown_module():
    S.stop_ok()


def _camp(client=None, **kw):
    body = {"key": uniq("camp"), "name": "Slab5 beta launch", "channel": "website"}
    body.update(kw)
    return (client or A).create("/v1/marketing/campaigns", body)


def _count(path, params=None, client=None):
    return len(list_all(client or A, path, params))


def _unchanged(path, before, client=None):
    eq(expect((client or A).get(path), 200)["data"], before, "%s after a refused write" % path)


# ---------------------------------------------------------------- campaigns

def test_campaign_create_as_004_shows():
    c = A.create("/v1/marketing/campaigns", {"key": "slab5_beta_launch", "name": "Slab5 beta launch",
                                             "channel": "website"})
    ok(c["id"].startswith("camp_"), "campaign id prefix: %s" % c["id"])
    eq((c["key"], c["name"], c["channel"], c["status"]), ("slab5_beta_launch", "Slab5 beta launch", "website",
                                                          "draft"), "004's fields, status draft")
    eq(expect(A.get("/v1/marketing/campaigns/" + c["id"]), 200)["data"], c, "GET by id")
    r = expect(A.post("/v1/marketing/campaigns", {"key": "slab5_beta_launch", "name": "again"}), 409)
    eq(r["error"]["param"], "key", "duplicate key")
    B.create("/v1/marketing/campaigns", {"key": "slab5_beta_launch", "name": "B's own"})
    expect(B.get("/v1/marketing/campaigns/" + c["id"]), 404)
    # Not the outbound calling campaigns.
    eq(c["id"] in ids(list_all(A, "/v1/outbound/campaigns")), False, "not an outbound campaign")


def test_campaign_filters_and_refusals():
    word = uniq("spring")
    a = _camp(name="%s newsletter" % word, channel="email", status="active",
              starts_at="2031-03-01T00:00:00.000Z", ends_at="2031-03-31T00:00:00.000Z")
    b = _camp(name="%s ads" % word, channel="ads")
    eq(ids(expect(A.get("/v1/marketing/campaigns", params={"query": word}), 200)["data"]), [b["id"], a["id"]],
       "?query=, newest first")
    eq(ids(expect(A.get("/v1/marketing/campaigns", params={"query": word, "status": "active"}), 200)["data"]),
       [a["id"]], "?status=")
    eq(ids(expect(A.get("/v1/marketing/campaigns", params={"query": word, "channel": "ads"}), 200)["data"]),
       [b["id"]], "?channel=")
    eq(ids(expect(A.get("/v1/marketing/campaigns", params={"starts_after": "2031-02-01T00:00:00Z",
                                                            "query": word}), 200)["data"]), [a["id"]],
       "starts_after")
    before = _count("/v1/marketing/campaigns")
    for body, param in [({"name": "x"}, "key"), ({"key": uniq("k")}, "name"),
                        ({"key": uniq("k"), "name": "x", "channel": "tv"}, "channel"),
                        ({"key": uniq("k"), "name": "x", "status": "running"}, "status"),
                        ({"key": uniq("k"), "name": "x", "starts_at": "2031-03-01T00:00:00Z",
                          "ends_at": "2031-02-01T00:00:00Z"}, "ends_at"),
                        ({"key": uniq("k"), "name": "x", "budget": 5}, "budget")]:
        expect(A.post("/v1/marketing/campaigns", body), 400, "validation_failed", param)
    eq(_count("/v1/marketing/campaigns"), before, "nothing stored")
    expect(A.patch("/v1/marketing/campaigns/" + a["id"], {"ends_at": "2031-02-01T00:00:00Z"}), 400,
           "validation_failed", "ends_at")
    _unchanged("/v1/marketing/campaigns/" + a["id"], a)
    for ch in CHANNELS:
        _camp(channel=ch)
    got = expect(A.patch("/v1/marketing/campaigns/" + a["id"], {"status": "paused"}), 200)["data"]
    eq(got["status"], "paused", "PATCH status")
    gone = expect(A.delete("/v1/marketing/campaigns/" + b["id"]), 200)["data"]
    eq((gone["id"], gone["status"]), (b["id"], "archived"), "DELETE archives")
    eq(expect(A.get("/v1/marketing/campaigns/" + b["id"]), 200)["data"], gone, "the archived campaign stays")
    ok(b["id"] in ids(list_all(A, "/v1/marketing/campaigns", {"status": "archived"})), "status=archived")
    expect(B.delete("/v1/marketing/campaigns/" + a["id"]), 404)


# ---------------------------------------------------------------- posts

def test_post_create_as_004_shows_and_filters():
    camp = _camp()
    p = A.create("/v1/marketing/posts", {"channel": "linkedin", "title": "Beta launch",
                                         "body": "We are opening Slab5 private beta.", "campaign_id": camp["id"]})
    ok(p["id"].startswith("post_"), "post id prefix")
    eq((p["channel"], p["status"], p["campaign_id"], p["published_at"]), ("linkedin", "draft", camp["id"], None),
       "004's fields, status draft")
    q = A.create("/v1/marketing/posts", {"channel": "x", "title": "Other", "body": "nothing to see"})
    eq(ids(expect(A.get("/v1/marketing/posts", params={"campaign_id": camp["id"]}), 200)["data"]), [p["id"]],
       "?campaign_id=")
    eq(p["id"] in ids(expect(A.get("/v1/marketing/posts", params={"query": "private beta"}), 200)["data"]), True,
       "?query= over body")
    eq(q["id"] in ids(expect(A.get("/v1/marketing/posts", params={"channel": "x"}), 200)["data"]), True,
       "?channel=")
    eq(p["id"] in ids(expect(A.get("/v1/marketing/posts", params={"channel": "x"}), 200)["data"]), False,
       "?channel= leaves others out")
    got = expect(A.patch("/v1/marketing/posts/" + p["id"], {"status": "published"}), 200)["data"]
    ok(got["published_at"], "published_at set")
    eq(ids(expect(A.get("/v1/marketing/posts", params={"status": "published"}), 200)["data"]), [p["id"]],
       "?status=")


def test_post_refusals_store_nothing():
    camp_b = _camp(client=B)
    before = _count("/v1/marketing/posts")
    expect(A.post("/v1/marketing/posts", {"title": "no channel"}), 400, "validation_failed", "channel")
    expect(A.post("/v1/marketing/posts", {"channel": "fax"}), 400, "validation_failed", "channel")
    expect(A.post("/v1/marketing/posts", {"channel": "x", "status": "scheduled"}), 400, "validation_failed",
           "scheduled_at")
    expect(A.post("/v1/marketing/posts", {"channel": "x", "campaign_id": camp_b["id"]}), 404, None,
           "campaign_id")
    expect(A.post("/v1/marketing/posts", {"channel": "x", "scheduled_at": "soon"}), 400, "validation_failed",
           "scheduled_at")
    eq(_count("/v1/marketing/posts"), before, "nothing stored")
    p = A.create("/v1/marketing/posts", {"channel": "x", "status": "scheduled",
                                         "scheduled_at": "2031-01-10T09:00:00.000Z"})
    eq(p["scheduled_at"], "2031-01-10T09:00:00.000Z", "scheduled_at")
    expect(A.patch("/v1/marketing/posts/" + p["id"], {"scheduled_at": None}), 400, "validation_failed",
           "scheduled_at")
    _unchanged("/v1/marketing/posts/" + p["id"], p)
    # DELETE archives a post; an archived campaign keeps its posts.
    camp = _camp()
    q = A.create("/v1/marketing/posts", {"channel": "email", "campaign_id": camp["id"]})
    expect(A.delete("/v1/marketing/campaigns/" + camp["id"]), 200)
    eq(expect(A.get("/v1/marketing/posts/" + q["id"]), 200)["data"]["campaign_id"], camp["id"], "campaign kept")
    eq(expect(A.delete("/v1/marketing/posts/" + q["id"]), 200)["data"]["status"], "archived", "post archived")


# ---------------------------------------------------------------- lists

def _people(n, client=None):
    c = client or A
    return ([c.create("/v1/contacts", {"name": uniq("Person")})["id"] for _ in range(n)],
            [c.create("/v1/companies", {"name": uniq("Company")})["id"] for _ in range(n)])


def test_list_members_add_skip_list_and_remove():
    lst = A.create("/v1/marketing/lists", {"name": "Beta invitees", "description": "First wave"})
    ok(lst["id"].startswith("mlist_"), "list id prefix")
    path = "/v1/marketing/lists/%s/members" % lst["id"]
    cons, coms = _people(3)
    r = expect(A.post(path, {"contact_ids": cons[:2] + [cons[0]], "company_ids": coms[:1]}), 200)["data"]
    eq((r["object"], r["list_id"], r["added"], r["skipped"]), ("marketing_list_members", lst["id"], 3, 1),
       "a repeat in the body is skipped")
    r = expect(A.post(path, {"contact_ids": cons}), 200)["data"]
    eq((r["added"], r["skipped"]), (1, 2), "members already there are skipped")
    members = list_all(A, path)
    eq(sorted(m["member_id"] for m in members), sorted(cons + coms[:1]), "GET members")
    eq(sorted(m["member_type"] for m in members), ["company", "contact", "contact", "contact"], "member types")
    eq([m["member_id"] for m in list_all(A, path, {"member_type": "company"})], coms[:1], "?member_type=")
    one = members[0]
    eq(expect(A.get("%s/%s" % (path, one["id"])), 200)["data"], one, "a member by id")
    r = expect(A.request("DELETE", path, body={"contact_ids": [cons[0], cons[0]], "company_ids": coms[1:2]}),
               200)["data"]
    eq((r["removed"], r["skipped"]), (1, 2), "remove: the absent and repeated are skipped")
    eq(sorted(m["member_id"] for m in list_all(A, path)), sorted(cons[1:] + coms[:1]), "after remove")
    # A deleted contact leaves the list.
    expect(A.delete("/v1/contacts/" + cons[1]), 200)
    eq(sorted(m["member_id"] for m in list_all(A, path)), sorted(cons[2:] + coms[:1]), "after contact delete")
    expect(A.delete("/v1/companies/" + coms[0]), 200)
    eq([m["member_id"] for m in list_all(A, path)], cons[2:], "after company delete")
    # The list itself: PATCH, query, delete (its members go with it).
    got = expect(A.patch("/v1/marketing/lists/" + lst["id"], {"name": "Beta wave 1"}), 200)["data"]
    eq(got["name"], "Beta wave 1", "PATCH")
    ok(lst["id"] in ids(expect(A.get("/v1/marketing/lists", params={"query": "wave"}), 200)["data"]), "?query=")
    expect(A.delete("/v1/marketing/lists/" + lst["id"]), 200)
    expect(A.get(path), 404)


def test_list_members_refusals_store_nothing():
    lst = A.create("/v1/marketing/lists", {"name": uniq("L")})
    path = "/v1/marketing/lists/%s/members" % lst["id"]
    cons, coms = _people(2)
    b_cons, _ = _people(1, client=B)
    cases = [
        ({"contact_ids": [cons[0], "con_01JAAAAAAAAAAAAAAAAAAAAAAA"]}, 400, "contact_ids[1]"),
        ({"contact_ids": [cons[0], b_cons[0]]}, 400, "contact_ids[1]"),
        ({"contact_ids": [coms[0]]}, 400, "contact_ids[0]"),
        ({"company_ids": [coms[0], cons[0]]}, 400, "company_ids[1]"),
        ({"contact_ids": cons[0]}, 400, "contact_ids"),
        ({"contact_ids": [1]}, 400, "contact_ids[0]"),
        ({"member_ids": cons}, 400, "member_ids"),
        ({"contact_ids": ["con_x"] * 600, "company_ids": ["com_x"] * 401}, 400, "company_ids"),
        ({"contact_ids": ["con_x"] * 1001}, 400, "contact_ids"),
    ]
    for body, status, param in cases:
        r = expect(A.post(path, body), status)
        eq(r["error"]["param"], param, "POST %s" % str(body)[:80])
    eq(list_all(A, path), [], "nothing stored: all or none")
    r = expect(A.post(path, {}), 200)["data"]
    eq((r["added"], r["skipped"]), (0, 0), "no ids: nothing to do")
    # 1000 ids in one call are fine (repeats count toward the 1000).
    r = expect(A.post(path, {"contact_ids": cons * 250, "company_ids": coms * 250}), 200)["data"]
    eq((r["added"], r["skipped"]), (4, 996), "1000 ids")
    expect(B.post(path, {"contact_ids": b_cons}), 404)
    expect(B.get(path), 404)
    expect(RO.post(path, {"contact_ids": cons}), 403)
    expect(RO.get(path), 200)
    expect(CRM.get(path), 403)
    expect(A.post("/v1/marketing/lists/mlist_01JAAAAAAAAAAAAAAAAAAAAAAA/members", {"contact_ids": cons}), 404)
    # Members are written through this route only.
    expect(A.patch("%s/%s" % (path, list_all(A, path)[0]["id"]), {"member_type": "company"}), 405)


def test_scopes_and_module():
    expect(RO.get("/v1/marketing/campaigns"), 200)
    r = expect(RO.post("/v1/marketing/campaigns", {"key": uniq("k"), "name": "x"}), 403)
    ok("cms:write" in r["error"]["message"], "403 names cms:write")
    expect(CRM.get("/v1/marketing/posts"), 403)
    expect(A.patch("/v1/workspace", {"enabled_modules": ["crm", "cms"]}), 200)
    try:
        r = expect(A.get("/v1/marketing/campaigns"), 403)
        eq(r["error"]["code"], "module_disabled", "marketing switched off")
        expect(A.get("/v1/marketing/lists"), 403)
        expect(A.get("/v1/cms/sites"), 200)
    finally:
        expect(A.patch("/v1/workspace", {"enabled_modules": [
            "crm", "tasks", "activity_log", "support", "cms", "assets", "integrations", "analytics_governance",
            "billing", "accounting", "knowledge", "marketing", "bi", "outbound", "calendar"]}), 200)
    expect(A.get("/v1/marketing/campaigns"), 200)
