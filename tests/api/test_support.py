"""Support (004's shapes; support:read/support:write; module support):
queues (/v1/support/queues, key unique), tickets (/v1/support/tickets: the
transition table, resolved_at and closed_at, filters, search), their
messages (the first outbound one sets first_response_at) and internal
comments (/v1/support/tickets/{id}/messages|comments, with 004's repeated
ticket_id query parameter). Every refused write is checked to change
nothing: forbidden transitions, another workspace's ids, wrong types,
missing fields, a duplicate queue key, missing scopes, a disabled module."""

from harness import Server, eq, expect, ids, list_all, member, ok, uniq

S = A = B = RO = CRM = None
Q = None


def setup_module():
    global S, A, B, RO, CRM, Q
    S = Server(name="support")
    A = S.key("support-a")
    B = S.key("support-b")
    RO = S.key("support-a", "support:read")
    CRM = S.key("support-a", "crm:read,crm:write")
    S.start()
    Q = A.create("/v1/support/queues", {"key": "priority", "name": "Priority Support",
                                        "first_response_target_minutes": 120})


def teardown_module():
    S.stop_ok()


def _ticket(client=None, **kw):
    body = {"subject": "Customer cannot download invoice", "priority": "urgent", "category": "billing"}
    body.update(kw)
    return (client or A).create("/v1/support/tickets", body)


def _unchanged(path, before, client=None):
    eq(expect((client or A).get(path), 200)["data"], before, "%s after a refused write" % path)


# ---------------------------------------------------------------- queues

def test_queue_create_as_004_shows():
    eq(Q["key"], "priority", "key")
    eq(Q["name"], "Priority Support", "name")
    eq(Q["status"], "active", "default status")
    eq(Q["first_response_target_minutes"], 120, "first_response_target_minutes")
    eq(Q["resolution_target_minutes"], None, "resolution_target_minutes")
    ok(Q["id"].startswith("queue_"), "queue id prefix: %s" % Q["id"])
    listed = expect(A.get("/v1/support/queues", params={"status": "active"}), 200)
    ok(Q["id"] in ids(listed["data"]), "queue in ?status=active")
    eq(expect(A.get("/v1/support/queues", params={"query": "priori"}), 200)["data"][0]["id"], Q["id"],
       "queue found by ?query=")


def test_queue_duplicate_key_and_bad_values():
    r = expect(A.post("/v1/support/queues", {"key": "priority", "name": "Again"}), 409)
    eq(r["error"]["param"], "key", "duplicate key names key")
    # Another workspace has its own keys.
    B.create("/v1/support/queues", {"key": "priority", "name": "B's"})
    for body, param in [({"name": "No key"}, "key"),
                        ({"key": "k1"}, "name"),
                        ({"key": "k2", "name": "n", "status": "closed"}, "status"),
                        ({"key": "k3", "name": "n", "first_response_target_minutes": 0},
                         "first_response_target_minutes"),
                        ({"key": "k4", "name": "n", "resolution_target_minutes": 9223372036854775807},
                         "resolution_target_minutes"),
                        ({"key": "k5", "name": "n", "first_response_target_minutes": "120"},
                         "first_response_target_minutes")]:
        r = expect(A.post("/v1/support/queues", body), 400)
        eq(r["error"]["param"], param, "queue %r names" % body)
    keys = [q["key"] for q in list_all(A, "/v1/support/queues")]
    eq(keys, ["priority"], "workspace A's queues after refused creates")


# ---------------------------------------------------------------- tickets

def test_ticket_create_defaults():
    t = _ticket(queue_id=Q["id"])
    eq(t["status"], "new", "a new ticket's status")
    eq(t["priority"], "urgent", "priority")
    eq(t["source"], "manual", "default source")
    eq(t["queue_id"], Q["id"], "queue_id")
    for f in ("first_response_at", "resolved_at", "closed_at"):
        eq(t[f], None, f)
    ok(t["id"].startswith("ticket_"), "ticket id prefix: %s" % t["id"])


def test_ticket_transitions():
    t = _ticket()
    path = "/v1/support/tickets/" + t["id"]
    for status in ("open", "pending", "waiting_on_customer", "open"):
        eq(expect(A.patch(path, {"status": status}), 200)["data"]["status"], status, "to %s" % status)
    before = expect(A.get(path), 200)["data"]
    r = expect(A.patch(path, {"status": "new"}), 409)
    eq(r["error"]["param"], "status", "back to new names status")
    ok("open" in r["error"]["message"] and "new" in r["error"]["message"],
       "the message names both statuses: %r" % r["error"]["message"])
    _unchanged(path, before)

    res = expect(A.patch(path, {"status": "resolved"}), 200)["data"]
    ok(res["resolved_at"] is not None, "resolved_at set on resolve")
    before = res
    r = expect(A.patch(path, {"status": "pending"}), 409)
    ok("resolved" in r["error"]["message"] and "pending" in r["error"]["message"],
       "resolved -> pending names both: %r" % r["error"]["message"])
    _unchanged(path, before)
    reopened = expect(A.patch(path, {"status": "open"}), 200)["data"]
    eq(reopened["resolved_at"], None, "resolved_at cleared on reopen")

    expect(A.patch(path, {"status": "resolved"}), 200)
    closed = expect(A.patch(path, {"status": "closed"}), 200)["data"]
    ok(closed["closed_at"] is not None and closed["resolved_at"] is not None,
       "closing a resolved ticket keeps resolved_at and sets closed_at: %r" % closed)
    for status in ("open", "resolved", "new", "pending"):
        r = expect(A.patch(path, {"status": status}), 409)
        eq(r["error"]["param"], "status", "closed -> %s names status" % status)
    _unchanged(path, closed)
    # Other fields of a closed ticket may still change.
    eq(expect(A.patch(path, {"category": "refunds"}), 200)["data"]["category"], "refunds",
       "category of a closed ticket")


def test_ticket_created_resolved_or_closed():
    t = _ticket(status="resolved")
    ok(t["resolved_at"] == t["created_at"], "created resolved: resolved_at is created_at: %r" % t)
    t = _ticket(status="closed")
    ok(t["closed_at"] == t["created_at"], "created closed: closed_at is created_at: %r" % t)


def test_ticket_bad_input_changes_nothing():
    contact_b = B.create("/v1/contacts", {"name": "B Person"})
    queue_b = B.create("/v1/support/queues", {"key": "bq", "name": "B queue"})
    n = len(list_all(A, "/v1/support/tickets"))
    for body, status, param in [({"priority": "urgent"}, 400, "subject"),
                                ({"subject": "x", "status": "reopened"}, 400, "status"),
                                ({"subject": "x", "priority": "p1"}, 400, "priority"),
                                ({"subject": "x", "source": "fax"}, 400, "source"),
                                ({"subject": 7}, 400, "subject"),
                                ({"subject": "x" * 501}, 400, "subject"),
                                ({"subject": "x", "first_response_at": "2030-01-01T00:00:00Z"}, 400,
                                 "first_response_at"),
                                # A reference to a record not in the workspace: 404 naming it.
                                ({"subject": "x", "contact_id": contact_b["id"]}, 404, "contact_id"),
                                ({"subject": "x", "queue_id": queue_b["id"]}, 404, "queue_id"),
                                ({"subject": "x", "queue_id": "queue_nope"}, 404, "queue_id")]:
        r = A.post("/v1/support/tickets", body)
        got = expect(r, status)
        eq(got["error"]["param"], param, "ticket %r names" % {k: str(v)[:40] for k, v in body.items()})
    eq(len(list_all(A, "/v1/support/tickets")), n, "tickets after refused creates")


def test_ticket_filters_and_search():
    contact = A.create("/v1/contacts", {"name": "Filter Person"})
    inv = A.create("/v1/invoices", {"line_items": []})
    for bad in ("inv_1", B.create("/v1/invoices", {"line_items": []})["id"]):
        r = expect(A.post("/v1/support/tickets", {"subject": "s", "invoice_id": bad}), 404)
        eq(r["error"]["param"], "invoice_id", "an invoice_id of no invoice of this workspace")
    t1 = _ticket(subject="Zebra printer jams", priority="low", source="email", contact_id=contact["id"],
                 assignee_id=member(A, "usr_1"), invoice_id=inv["id"])
    t2 = _ticket(subject="Zebra scanner broken", priority="high", source="chat", queue_id=Q["id"])
    eq(ids(expect(A.get("/v1/support/tickets", params={"query": "zebra"}), 200)["data"]),
       [t2["id"], t1["id"]], "?query=zebra, newest first")
    for params, want in [({"priority": "low", "query": "zebra"}, [t1["id"]]),
                         ({"source": "chat", "query": "zebra"}, [t2["id"]]),
                         ({"contact_id": contact["id"]}, [t1["id"]]),
                         ({"assignee_id": member(A, "usr_1")}, [t1["id"]]),
                         ({"invoice_id": inv["id"]}, [t1["id"]]),
                         ({"queue_id": Q["id"], "query": "zebra"}, [t2["id"]])]:
        eq(ids(expect(A.get("/v1/support/tickets", params=params), 200)["data"]), want, "tickets %r" % params)
    r = expect(A.get("/v1/support/tickets", params={"status": "stuck"}), 400)
    eq(r["error"]["param"], "status", "?status=stuck")
    r = expect(A.get("/v1/support/tickets", params={"sla": "x"}), 400)
    eq(r["error"]["param"], "sla", "unknown parameter")


# ---------------------------------------------------------------- messages and comments

def test_messages_and_first_response():
    t = _ticket()
    base = "/v1/support/tickets/%s/messages" % t["id"]
    m1 = expect(A.post(base, {"direction": "inbound", "channel": "email",
                              "body": "I still cannot access the invoice."}), 201)["data"]
    eq(m1["ticket_id"], t["id"], "message's ticket_id")
    eq(m1["author"], A.id, "author defaults to the key's id")
    ok(m1["id"].startswith("msg_"), "message id prefix")
    eq(expect(A.get("/v1/support/tickets/" + t["id"]), 200)["data"]["first_response_at"], None,
       "an inbound message is no response")
    m2 = expect(A.post(base, {"direction": "outbound", "body": "Looking into it", "author": "agent 7"}), 201)["data"]
    eq(m2["channel"], "api", "default channel")
    eq(m2["author"], "agent 7", "author as given")
    got = expect(A.get("/v1/support/tickets/" + t["id"]), 200)["data"]
    eq(got["first_response_at"], m2["created_at"], "first_response_at is the first outbound message's time")
    expect(A.post(base, {"direction": "outbound", "body": "Fixed"}), 201)
    eq(expect(A.get("/v1/support/tickets/" + t["id"]), 200)["data"]["first_response_at"], m2["created_at"],
       "a later outbound message leaves first_response_at")

    listed = expect(A.get(base, params={"ticket_id": t["id"]}), 200)["data"]
    eq(len(listed), 3, "messages listed with the repeated ticket_id")
    eq(ids(expect(A.get(base, params={"direction": "inbound"}), 200)["data"]), [m1["id"]], "?direction=inbound")
    eq(ids(expect(A.get(base, params={"query": "invoice"}), 200)["data"]), [m1["id"]], "?query= on messages")
    other = _ticket()
    r = expect(A.get(base, params={"ticket_id": other["id"]}), 400)
    eq(r["error"]["param"], "ticket_id", "a ticket_id differing from the path's")
    eq(expect(A.get("%s/%s" % (base, m1["id"])), 200)["data"], m1, "GET a message")
    expect(A.get("/v1/support/tickets/%s/messages/%s" % (other["id"], m1["id"])), 404)

    for body, param in [({"body": "no direction"}, "direction"),
                        ({"direction": "sideways", "body": "x"}, "direction"),
                        ({"direction": "inbound"}, "body"),
                        ({"direction": "inbound", "body": "x", "channel": "fax"}, "channel"),
                        ({"direction": "inbound", "body": "x", "ticket_id": other["id"]}, "ticket_id")]:
        eq(expect(A.post(base, body), 400)["error"]["param"], param, "message %r names" % body)
    eq(len(list_all(A, base)), 3, "messages after refused creates")


def test_other_workspace_cannot_reach_a_ticket():
    t = _ticket()
    before = expect(A.get("/v1/support/tickets/" + t["id"]), 200)["data"]
    expect(B.get("/v1/support/tickets/" + t["id"]), 404)
    expect(B.patch("/v1/support/tickets/" + t["id"], {"status": "open"}), 404)
    expect(B.post("/v1/support/tickets/%s/messages" % t["id"], {"direction": "outbound", "body": "hi"}), 404)
    expect(B.post("/v1/support/tickets/%s/comments" % t["id"], {"body": "hi"}), 404)
    expect(B.get("/v1/support/tickets/%s/messages" % t["id"]), 404)
    expect(B.delete("/v1/support/tickets/" + t["id"]), 404)
    _unchanged("/v1/support/tickets/" + t["id"], before)
    eq(list_all(A, "/v1/support/tickets/%s/messages" % t["id"]), [], "no message arrived from B")


def test_comments():
    t = _ticket()
    base = "/v1/support/tickets/%s/comments" % t["id"]
    c = expect(A.post(base, {"body": "Finance is checking the invoice export.", "pinned": True}), 201)["data"]
    eq(c["pinned"], True, "pinned")
    ok(c["id"].startswith("comment_"), "comment id prefix")
    plain = A.create(base, {"body": "a second note"})
    eq(plain["pinned"], False, "pinned defaults to false")
    eq(ids(expect(A.get(base, params={"pinned": "true", "ticket_id": t["id"]}), 200)["data"]), [c["id"]],
       "?pinned=true")
    eq(expect(A.patch("%s/%s" % (base, plain["id"]), {"pinned": True}), 200)["data"]["pinned"], True,
       "pin a comment")
    eq(expect(A.post(base, {"body": "x", "pinned": "yes"}), 400)["error"]["param"], "pinned", "pinned: 'yes'")
    eq(expect(A.post(base, {"pinned": True}), 400)["error"]["param"], "body", "a comment without body")
    # Deleting the ticket takes its messages and comments with it.
    A.create("/v1/support/tickets/%s/messages" % t["id"], {"direction": "inbound", "body": "x"})
    expect(A.delete("/v1/support/tickets/" + t["id"]), 200)
    expect(A.get("%s/%s" % (base, c["id"])), 404)
    expect(A.get(base), 404)


def test_scopes_and_module():
    t = _ticket()
    expect(RO.get("/v1/support/tickets/" + t["id"]), 200)
    r = expect(RO.post("/v1/support/tickets", {"subject": "read only"}), 403)
    ok("support:write" in r["error"]["message"], "403 names support:write: %r" % r["error"]["message"])
    expect(RO.post("/v1/support/tickets/%s/comments" % t["id"], {"body": "x"}), 403)
    expect(CRM.get("/v1/support/tickets"), 403)
    expect(CRM.get("/v1/support/queues"), 403)
    expect(A.patch("/v1/workspace", {"enabled_modules": ["crm", "tasks"]}), 200)
    try:
        r = expect(A.get("/v1/support/tickets"), 403)
        eq(r["error"]["code"], "module_disabled", "support switched off")
        expect(A.get("/v1/support/tickets/%s/messages" % t["id"]), 403)
    finally:
        expect(A.patch("/v1/workspace", {"enabled_modules": [
            "crm", "tasks", "activity_log", "support", "cms", "assets", "integrations", "analytics_governance",
            "billing", "accounting", "knowledge", "marketing", "bi", "outbound", "calendar"]}), 200)
    expect(A.get("/v1/support/tickets"), 200)


# ---------------------------------------------------------------- dashboard

def test_dashboard_tickets_section():
    w = S.key(uniq("support-dash"))
    for status in ("new", "open", "open", "pending", "resolved", "closed"):
        w.create("/v1/support/tickets", {"subject": "Dash %s" % status, "status": status})
    d = expect(w.get("/v1/dashboard"), 200)["data"]
    eq(d.get("tickets"), {"open": 4, "breached": 0, "by_status": {"new": 1, "open": 2, "pending": 1, "resolved": 1,
                                                    "closed": 1}},
       "dashboard tickets")
    ok("tickets" not in expect(CRM.get("/v1/dashboard"), 200)["data"],
       "a key without support:read sees ticket counts")


# ---------------------------------------------------------------- knowledge base

def test_knowledge_categories_and_articles():
    cat = A.create("/v1/knowledge/categories", {"name": "Billing", "slug": "billing", "position": 1})
    ok(cat["id"].startswith("kbcat_"), "category id prefix")
    r = expect(A.post("/v1/knowledge/categories", {"name": "Again", "slug": "billing"}), 409)
    eq(r["error"]["param"], "slug", "duplicate category slug")
    B.create("/v1/knowledge/categories", {"name": "B Billing", "slug": "billing"})

    draft = A.create("/v1/knowledge/articles", {"title": "Downloading invoices", "slug": "download-invoices",
                                                "body": "# Steps\nOpen **Billing**, then Invoices.",
                                                "category_id": cat["id"]})
    eq(draft["status"], "draft", "default status")
    eq(draft["published_at"], None, "a draft has no published_at")
    ok(draft["id"].startswith("kb_"), "article id prefix")
    pub = expect(A.patch("/v1/knowledge/articles/" + draft["id"], {"status": "published"}), 200)["data"]
    ok(pub["published_at"] is not None, "published_at set on publish")
    arch = expect(A.patch("/v1/knowledge/articles/" + draft["id"], {"status": "archived"}), 200)["data"]
    eq(arch["published_at"], pub["published_at"], "archiving keeps published_at")
    born = A.create("/v1/knowledge/articles", {"title": "Refund policy", "status": "published"})
    eq(born["published_at"], born["created_at"], "created published")

    eq(ids(expect(A.get("/v1/knowledge/articles", params={"query": "invoic"}), 200)["data"]), [draft["id"]],
       "?query= over title and body")
    eq(ids(expect(A.get("/v1/knowledge/articles", params={"query": "billing"}), 200)["data"]), [draft["id"]],
       "?query= finds words of the markdown body")
    eq(ids(expect(A.get("/v1/knowledge/articles", params={"status": "published"}), 200)["data"]), [born["id"]],
       "?status=published")
    eq(ids(expect(A.get("/v1/knowledge/articles", params={"category_id": cat["id"]}), 200)["data"]),
       [draft["id"]], "?category_id=")

    b_cat = expect(B.get("/v1/knowledge/categories"), 200)["data"][0]
    for body, status, param in [({"title": "x", "category_id": b_cat["id"]}, 404, "category_id"),
                                ({"title": "x", "status": "live"}, 400, "status"),
                                ({"title": "x", "published_at": "2030-01-01T00:00:00Z"}, 400, "published_at"),
                                ({"body": "no title"}, 400, "title"),
                                ({"title": "x", "slug": "download-invoices"}, 409, "slug")]:
        eq(expect(A.post("/v1/knowledge/articles", body), status)["error"]["param"], param,
           "article %r names" % body)
    eq(len(list_all(A, "/v1/knowledge/articles")), 2, "articles after refused creates")
    expect(B.get("/v1/knowledge/articles/" + draft["id"]), 404)
    expect(CRM.get("/v1/knowledge/articles"), 403)
    expect(RO.post("/v1/knowledge/articles", {"title": "read only"}), 403)


# ---------------------------------------------------------------- SLA clocks

def _ms(ts):
    import datetime
    return int(datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() * 1000 + 0.5)


def test_sla_clocks_and_the_breach_timer():
    import time
    from harness import HTTP_TIMEOUT
    w = S.key(uniq("support-sla"))
    q = w.create("/v1/support/queues", {"key": "fast", "name": "Fast", "first_response_target_minutes": 1,
                                        "resolution_target_minutes": 2})
    plain = w.create("/v1/support/tickets", {"subject": "No queue, no clock"})
    for f in ("first_response_due_at", "resolution_due_at", "sla_status", "sla_next_change_at"):
        eq(plain[f], None, "%s without a queue" % f)

    late = w.create("/v1/support/tickets", {"subject": "Nobody answers", "queue_id": q["id"]})
    created = _ms(late["created_at"])
    eq(_ms(late["first_response_due_at"]) - created, 60000, "first response due a minute after creation")
    eq(_ms(late["resolution_due_at"]) - created, 120000, "resolution due two minutes after creation")
    eq(late["sla_status"], "on_track", "a new ticket's sla_status")
    eq(_ms(late["sla_next_change_at"]) - created, 45000, "at risk in the last quarter of the first response's time")

    answered = w.create("/v1/support/tickets", {"subject": "Answered at once", "queue_id": q["id"]})
    w.create("/v1/support/tickets/%s/messages" % answered["id"], {"direction": "outbound", "body": "On it"})
    answered = expect(w.get("/v1/support/tickets/" + answered["id"]), 200)["data"]
    eq(answered["sla_status"], "on_track", "first response in time, resolution running")
    eq(_ms(answered["sla_next_change_at"]) - _ms(answered["created_at"]), 90000,
       "next change: the resolution clock's last quarter")

    done = w.create("/v1/support/tickets", {"subject": "Solved at once", "queue_id": q["id"]})
    w.create("/v1/support/tickets/%s/messages" % done["id"], {"direction": "outbound", "body": "Fixed"})
    done = expect(w.patch("/v1/support/tickets/" + done["id"], {"status": "resolved"}), 200)["data"]
    eq(done["sla_status"], "met", "both clocks stopped in time")
    eq(done["sla_next_change_at"], None, "a met ticket changes no more")

    waiting = w.create("/v1/support/tickets", {"subject": "Waiting on the customer", "queue_id": q["id"]})
    w.create("/v1/support/tickets/%s/messages" % waiting["id"], {"direction": "outbound", "body": "Which invoice?"})
    waiting = expect(w.patch("/v1/support/tickets/" + waiting["id"], {"status": "waiting_on_customer"}), 200)["data"]
    ok(waiting["sla_paused_at"] is not None, "the resolution clock pauses while waiting_on_customer")
    eq(waiting["sla_next_change_at"], None, "a paused clock schedules no change")

    for body in ({"subject": "x", "sla_status": "met"}, {"subject": "x", "first_response_due_at": "2030-01-01T00:00:00Z"}):
        r = expect(w.post("/v1/support/tickets", body), 400)
        eq(r["error"]["param"], list(body)[1], "a server-kept SLA field in a body")
    eq(expect(w.get("/v1/support/tickets", params={"sla_status": "late"}), 400)["error"]["param"], "sla_status",
       "?sla_status=late")
    eq(ids(expect(w.get("/v1/support/tickets", params={"sla_status": "met"}), 200)["data"]), [done["id"]],
       "?sla_status=met")
    cut = late["first_response_due_at"]
    before = ids(expect(w.get("/v1/support/tickets", params={"first_response_due_before": "2099-01-01T00:00:00Z"}),
                        200)["data"])
    eq(sorted(before), sorted([late["id"], answered["id"], done["id"], waiting["id"]]),
       "?first_response_due_before= (tickets with a first response clock)")

    # No request touches `late`: the writers' timer finds its breach.
    deadline = time.monotonic() + 60 + HTTP_TIMEOUT
    got = None
    while time.monotonic() < deadline:
        got = expect(w.get("/v1/support/tickets/" + late["id"]), 200)["data"]
        if got["sla_status"] == "breached":
            break
        time.sleep(1)
    eq(got["sla_status"], "breached", "sla_status after the first response's due time (%s) passed" % cut)
    eq(got["sla_next_change_at"], None, "a breached ticket changes no more")
    events = expect(w.get("/v1/support/tickets/%s/timeline" % late["id"]), 200)["data"]
    eq([e["type"] for e in events if e.get("type") == "ticket.sla_breached"], ["ticket.sla_breached"],
       "one ticket.sla_breached event in the timeline")
    eq(ids(expect(w.get("/v1/support/tickets", params={"sla_status": "breached"}), 200)["data"]), [late["id"]],
       "?sla_status=breached")
    # An answer now is late: breached stays.
    w.create("/v1/support/tickets/%s/messages" % late["id"], {"direction": "outbound", "body": "Sorry"})
    eq(expect(w.get("/v1/support/tickets/" + late["id"]), 200)["data"]["sla_status"], "breached",
       "a late first response leaves the ticket breached")

    again = expect(w.get("/v1/support/tickets/" + waiting["id"]), 200)["data"]
    ok(again["sla_status"] in ("on_track", "at_risk") and again["sla_status"] != "breached",
       "a paused resolution clock did not run: %r" % again["sla_status"])
    resumed = expect(w.patch("/v1/support/tickets/" + waiting["id"], {"status": "open"}), 200)["data"]
    eq(resumed["sla_paused_at"], None, "the clock runs again")
    moved = _ms(resumed["resolution_due_at"]) - _ms(waiting["resolution_due_at"])
    ok(moved >= 55000, "resolution_due_at moved on by the pause (%d ms)" % moved)


# ---------------------------------------------------------------- business hours

def _open_after(created_ms, minutes, zone, windows):
    """Where `minutes` of open time after created_ms end, walking the
    queue's local windows day by day (Python's own zoneinfo as the oracle)."""
    import datetime
    import zoneinfo
    tz = zoneinfo.ZoneInfo(zone)
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    t = datetime.datetime.fromtimestamp(created_ms / 1000, tz=datetime.timezone.utc)
    left = minutes * 60000
    day = t.astimezone(tz).date() - datetime.timedelta(days=1)
    for _ in range(30):
        for d, start, end in sorted(windows, key=lambda w: (days.index(w[0]), w[1])):
            if days.index(d) != day.weekday():
                continue
            def at(hm):
                h, m = map(int, hm.split(":"))
                local = datetime.datetime.combine(day, datetime.time(0, 0)) + datetime.timedelta(hours=h, minutes=m)
                return int(local.replace(tzinfo=tz).timestamp() * 1000)
            s, e = max(at(start), created_ms), at(end)
            if s >= e:
                continue
            if left <= e - s:
                return s + left
            left -= e - s
        day += datetime.timedelta(days=1)
    raise AssertionError("no open time within 30 days")


def test_business_hours_count_only_open_time():
    wins = [("mon", "09:00", "12:30"), ("mon", "13:30", "17:00"), ("tue", "09:00", "17:00"),
            ("wed", "09:00", "17:00"), ("thu", "09:00", "17:00"), ("fri", "09:00", "16:00")]
    q = A.create("/v1/support/queues", {
        "key": "office", "name": "Office hours", "time_zone": "Europe/Paris",
        "first_response_target_minutes": 90, "resolution_target_minutes": 2400,
        "business_hours": [{"day": d, "start": s, "end": e} for d, s, e in wins]})
    eq(q["business_hours"][1], {"day": "mon", "start": "13:30", "end": "17:00"}, "windows kept as given")
    t = _ticket(queue_id=q["id"])
    created = _ms(t["created_at"])
    eq(_ms(t["first_response_due_at"]), _open_after(created, 90, "Europe/Paris", wins),
       "first response due after 90 open minutes")
    eq(_ms(t["resolution_due_at"]), _open_after(created, 2400, "Europe/Paris", wins),
       "resolution due after 40 open hours")
    # A queue in another zone: the same windows fall elsewhere on the UTC timeline.
    ny = A.create("/v1/support/queues", {"key": "ny", "name": "New York", "time_zone": "America/New_York",
                                         "first_response_target_minutes": 90,
                                         "business_hours": [{"day": d, "start": s, "end": e} for d, s, e in wins]})
    t2 = _ticket(queue_id=ny["id"])
    eq(_ms(t2["first_response_due_at"]), _open_after(_ms(t2["created_at"]), 90, "America/New_York", wins),
       "the zone places the windows")
    # Without business hours the clock runs around the clock.
    flat = A.create("/v1/support/queues", {"key": "flat", "name": "Flat", "first_response_target_minutes": 90})
    t3 = _ticket(queue_id=flat["id"])
    eq(_ms(t3["first_response_due_at"]) - _ms(t3["created_at"]), 90 * 60000, "no hours: wall time")


def test_business_hours_bad_input():
    n = len(list_all(A, "/v1/support/queues"))
    good = [{"day": "mon", "start": "09:00", "end": "17:00"}]
    for extra, param in [({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
                         ({"time_zone": "../../etc/passwd"}, "time_zone"),
                         ({"time_zone": "Europe/Paris\u0000"}, None),
                         ({"business_hours": [{"day": "funday", "start": "09:00", "end": "17:00"}]},
                          "business_hours[0].day"),
                         ({"business_hours": [{"day": "mon", "start": "9:00", "end": "17:00"}]},
                          "business_hours[0].start"),
                         ({"business_hours": [{"day": "mon", "start": "24:00", "end": "24:00"}]},
                          "business_hours[0].start"),
                         ({"business_hours": [{"day": "mon", "start": "10:00", "end": "09:59"}]},
                          "business_hours[0].end"),
                         ({"business_hours": [{"day": "mon", "start": "10:00", "end": "25:00"}]},
                          "business_hours[0].end"),
                         ({"business_hours": [{"day": "mon", "start": "10:00"}]}, "business_hours[0].end"),
                         ({"business_hours": good + [{"day": "mon", "start": "16:00", "end": "18:00"}]},
                          "business_hours"),
                         ({"business_hours": good * 29}, "business_hours"),
                         ({"business_hours": "mon-fri"}, "business_hours")]:
        body = {"key": uniq("bh"), "name": "Bad hours"}
        body.update(extra)
        r = A.post("/v1/support/queues", body)
        if param is None:
            ok(r.status == 400, "a control byte in time_zone: %d" % r.status)
            continue
        r = expect(r, 400)
        eq(r["error"]["param"], param, "queue %r names" % extra)
    q = A.create("/v1/support/queues", {"key": uniq("bh"), "name": "Hours later"})
    r = expect(A.patch("/v1/support/queues/" + q["id"], {"time_zone": "Nowhere/Town"}), 400)
    eq(r["error"]["param"], "time_zone", "PATCH time_zone")
    q2 = expect(A.patch("/v1/support/queues/" + q["id"], {"time_zone": "UTC", "business_hours": good}), 200)["data"]
    eq(q2["time_zone"], "UTC", "time_zone set by PATCH")
    eq(len(list_all(A, "/v1/support/queues")), n + 1, "queues after refused creates")
