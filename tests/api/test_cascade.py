"""Deletes go through the engine all the way down: children and required
links are deleted with their record (with their own events and rollups),
optional links are cleared as updates (with an event naming the change),
and a contact's primary membership takes the contact's company with it."""

from harness import Server, eq, expect, ok

S = A = None


def setup_module():
    global S, A
    S = Server(name="cascade")
    A = S.key("cascade")
    S.start()


def teardown_module():
    S.stop_ok()


def _timeline(path):
    return expect(A.get(path + "/timeline", params={"limit": 100}), 200)["data"]


def test_deleting_a_contact_clears_links_and_deletes_children():
    co = A.create("/v1/companies", {"name": "Cascade Co"})
    c = A.create("/v1/contacts", {"name": "Going", "company_id": co["id"]})
    m = A.create("/v1/contacts/%s/company-memberships" % c["id"], {"company_id": co["id"]})
    deal = A.create("/v1/deals", {"name": "Stays", "contact_id": c["id"], "amount_cents": 700})
    task = A.create("/v1/tasks", {"title": "Call", "related_resource_type": "contact",
                                  "related_resource_id": c["id"]})
    lead = A.create("/v1/leads", {"name": "Lead of Going", "contact_id": c["id"]})
    expect(A.delete("/v1/contacts/%s" % c["id"]), 200)
    expect(A.get("/v1/contacts/%s/company-memberships/%s" % (c["id"], m["id"])), 404, "not_found")
    d = expect(A.get("/v1/deals/%s" % deal["id"]), 200)["data"]
    eq(d["contact_id"], None, "the deal's contact_id after its contact went")
    eq(d["amount_cents"], 700, "the deal's amount")
    t = expect(A.get("/v1/tasks/%s" % task["id"]), 200)["data"]
    eq((t["related_resource_type"], t["related_resource_id"]), (None, None), "the task's link")
    eq(expect(A.get("/v1/leads/%s" % lead["id"]), 200)["data"]["contact_id"], None, "the lead's contact_id")
    # the clearing is an update with its change, in the deal's history
    ev = [e for e in _timeline("/v1/deals/%s" % deal["id"]) if e["type"] == "deal.updated"]
    ok(ev, "no deal.updated event after its contact was deleted")
    eq(ev[0]["changes"].get("contact_id"), {"from": c["id"], "to": None}, "the event's change")


def test_deleting_a_pipeline_deletes_all_its_stages():
    p = A.create("/v1/pipelines", {"name": "Short-lived"})
    stages = expect(A.get("/v1/pipelines/%s/stages" % p["id"]), 200)["data"]
    eq(sorted(s["key"] for s in stages), ["lost", "negotiation", "proposal", "qualification", "won"],
       "a new pipeline's stages")
    expect(A.delete("/v1/pipelines/%s" % p["id"]), 200)
    for s in stages:
        expect(A.get("/v1/pipeline-stages/%s" % s["id"]), 404, "not_found")
    # Won and Lost still refuse to go on their own
    default = expect(A.get("/v1/deal-stages"), 200)["data"]
    won = [s for s in default if s["key"] == "won"][0]
    expect(A.delete("/v1/pipeline-stages/%s" % won["id"]), 409, "conflict")


def test_deleting_a_company_clears_deals_and_keeps_board_totals():
    co = A.create("/v1/companies", {"name": "Board Co"})
    deal = A.create("/v1/deals", {"name": "Board deal", "company_id": co["id"], "amount_cents": 5000,
                                  "currency": "EUR"})
    board = expect(A.get("/v1/pipelines/%s/board" % deal["pipeline_id"]), 200)["data"]
    before = {s["id"]: (s["deal_count"], s["amount_cents"]) for s in board["stages"]}
    expect(A.delete("/v1/companies/%s" % co["id"]), 200)
    eq(expect(A.get("/v1/deals/%s" % deal["id"]), 200)["data"]["company_id"], None, "the deal's company_id")
    board = expect(A.get("/v1/pipelines/%s/board" % deal["pipeline_id"]), 200)["data"]
    eq({s["id"]: (s["deal_count"], s["amount_cents"]) for s in board["stages"]}, before,
       "board totals after the company went")
    # and deleting the deal takes it out of its stage's totals
    expect(A.delete("/v1/deals/%s" % deal["id"]), 200)
    board = expect(A.get("/v1/pipelines/%s/board" % deal["pipeline_id"]), 200)["data"]
    st = [s for s in board["stages"] if s["id"] == deal["stage_id"]][0]
    eq((st["deal_count"], st["amount_cents"]),
       (before[deal["stage_id"]][0] - 1, before[deal["stage_id"]][1] - 5000), "stage totals after the delete")


def test_deleting_the_primary_membership_clears_the_contacts_company():
    co = A.create("/v1/companies", {"name": "Primary Co"})
    other = A.create("/v1/companies", {"name": "Other Co"})
    c = A.create("/v1/contacts", {"name": "Member"})
    base = "/v1/contacts/%s/company-memberships" % c["id"]
    prim = A.create(base, {"company_id": co["id"], "is_primary": True})
    side = A.create(base, {"company_id": other["id"]})
    got = expect(A.get("/v1/contacts/%s" % c["id"]), 200)["data"]
    eq((got["company_id"], got["company_name"]), (co["id"], "Primary Co"), "company from the primary")
    expect(A.delete("%s/%s" % (base, side["id"])), 200)
    got = expect(A.get("/v1/contacts/%s" % c["id"]), 200)["data"]
    eq(got["company_id"], co["id"], "company after deleting a non-primary membership")
    expect(A.delete("%s/%s" % (base, prim["id"])), 200)
    got = expect(A.get("/v1/contacts/%s" % c["id"]), 200)["data"]
    eq((got["company_id"], got["company_name"]), (None, None), "company after deleting the primary membership")
