"""The change feed (issue 14): GET /v1/events answers every event of the
workspace in sequence order: sequences from 1, contiguous, per workspace;
after=<sequence or event id>, types= (keys and wildcards, comma-separated),
resource_id=, limit and next_cursor; wait=N long-polls until an event
arrives. Bad parameters are 400 naming the parameter, another workspace's
events never appear, and a key without integrations:read is refused.

A reader that follows `after` while writers race sees every committed
event exactly once: on one node (both backends) and, on PostgreSQL only,
with writers and the reader spread over two nodes on one database.
Long polls are checked for what they answer, never for how fast; the only
timing checked is that an empty long poll waited (nearly) as long as asked.
"""

import threading
import time

from harness import (SCALE, TIME_RE, Client, Server, backend, eq, expect, id_re, list_all, ok,
                     skip, uniq)

S = None
WS_A = None
A = B = None

EVENT_KEYS = ["id", "object", "sequence", "type", "resource_type", "resource_id", "data", "changes",
              "actor_key_id", "occurred_at"]


def setup_module():
    global S, A, B, WS_A
    S = Server(name="events")
    WS_A = uniq("eva")
    A = S.key(WS_A)
    B = S.key(uniq("evb"))
    S.start()


def teardown_module():
    S.stop_ok()


def ws(label="ev"):
    return S.key(uniq(label))


def feed(client, **params):
    return list_all(client, "/v1/events", params=params)


def contact(client, **kw):
    b = {"first_name": kw.pop("first_name", "Ev"), "email": uniq("e") + "@ev.test"}
    b.update(kw)
    return client.create("/v1/contacts", b)


def seqs(evs):
    return [e["sequence"] for e in evs]


def check_contiguous(evs, what):
    s = seqs(evs)
    eq(s, list(range(1, len(s) + 1)), "%s: sequences 1..%d, contiguous, in order" % (what, len(s)))
    eq(len({e["id"] for e in evs}), len(evs), "%s: every event id once" % what)


# ------------------------------------------------------------ shape and order

def test_items_and_contiguous_sequences_from_one():
    w = ws()
    c = contact(w, first_name="Feed")
    expect(w.patch("/v1/contacts/" + c["id"], {"title": "Boss"}), 200)
    expect(w.delete("/v1/contacts/" + c["id"]), 200)
    evs = feed(w)
    check_contiguous(evs, "GET /v1/events")
    for e in evs:
        eq(list(e), EVENT_KEYS, "event keys")
        ok(id_re("ev_").match(e["id"]), "event id %r is ev_ + 26" % e["id"])
        eq(e["object"], "event", "object")
        ok(TIME_RE.match(e["occurred_at"]), "occurred_at %r" % e["occurred_at"])
        ok(isinstance(e["data"], dict), "data is an object: %r" % e)
    mine = [e for e in evs if e["resource_id"] == c["id"]]
    eq([e["type"] for e in mine], ["contact.created", "contact.updated", "contact.deleted"], "the contact's events")
    eq(mine[0]["resource_type"], "contacts", "resource_type")
    eq(mine[0]["data"]["id"], c["id"], "created data is the record")
    eq(mine[0]["data"]["first_name"], "Feed", "created data")
    eq(mine[0]["changes"], None, "a create has no changes")
    eq(mine[1]["changes"].get("title"), {"from": None, "to": "Boss"}, "an update's changes")
    eq(mine[1]["data"]["title"], "Boss", "update data is the record after it")
    eq({e["actor_key_id"] for e in mine}, {w.id}, "actor_key_id is the writing key")
    ok(mine[0]["sequence"] < mine[1]["sequence"] < mine[2]["sequence"], "in write order")


def test_sequences_are_per_workspace():
    busy = ws()
    for _ in range(5):
        contact(busy)
    fresh = ws()
    contact(fresh)
    check_contiguous(feed(busy), "busy workspace")
    f = feed(fresh)
    check_contiguous(f, "fresh workspace after another's writes")
    ok(not {e["id"] for e in f} & {e["id"] for e in feed(busy)}, "no event in both workspaces")


def test_after_sequence_and_after_event_id():
    w = ws()
    for _ in range(4):
        contact(w)
    evs = feed(w)
    n = len(evs)
    eq(feed(w, after=str(n - 3)), evs[-3:], "after=<sequence>")
    eq(feed(w, after=evs[-4]["id"]), evs[-3:], "after=<event id>")
    eq(feed(w, after=str(n)), [], "after the last: nothing")
    eq(feed(w, after="0"), evs, "after=0: everything")
    eq(feed(w, after=str(n + 1000)), [], "after a future sequence: nothing")


def test_types_filter():
    w = ws()
    c = contact(w)
    co = w.create("/v1/companies", {"name": uniq("Co")})
    expect(w.patch("/v1/contacts/" + c["id"], {"title": "T"}), 200)
    evs = feed(w)
    def want(pred):
        return [e for e in evs if pred(e["type"])]
    eq(feed(w, types="contact.created"), want(lambda t: t == "contact.created"), "types=<key>")
    eq(feed(w, types="contact.*"), want(lambda t: t.startswith("contact.")), "types=<wildcard>")
    eq(feed(w, types="contact.updated,company.*"),
       want(lambda t: t == "contact.updated" or t.startswith("company.")), "types=<comma list>")
    eq(feed(w, types="*"), evs, "types=*")
    eq(feed(w, types="deal.created"), want(lambda t: t == "deal.created"), "types with no events")
    ok(any(e["resource_id"] == co["id"] for e in feed(w, types="company.*")), "company event found")


def test_resource_id_filter():
    w = ws()
    c1, c2 = contact(w), contact(w)
    expect(w.patch("/v1/contacts/" + c1["id"], {"title": "A"}), 200)
    expect(w.patch("/v1/contacts/" + c2["id"], {"title": "B"}), 200)
    got = feed(w, resource_id=c1["id"])
    eq([(e["resource_id"], e["type"]) for e in got], [(c1["id"], "contact.created"), (c1["id"], "contact.updated")],
       "resource_id=")
    eq(feed(w, resource_id="con_00000000000000000000000000"), [], "resource_id of nothing")
    eq(feed(w, resource_id=c1["id"], types="contact.updated"), got[1:], "resource_id and types together")


def test_limit_and_cursor_paging():
    w = ws()
    for _ in range(7):
        contact(w)
    evs = feed(w)
    r = w.get("/v1/events", params={"limit": 3})
    j = expect(r, 200)
    eq(seqs(j["data"]), [1, 2, 3], "%s: the first page" % r.request_line())
    eq(j["next_cursor"] is not None, True, "a full page has next_cursor")
    for lim in (1, 2, 3, 100):
        eq(list_all(w, "/v1/events", limit=lim), evs, "following cursors with limit=%d: every event once" % lim)
    # A cursor goes on with the same filters.
    eq(list_all(w, "/v1/events", {"types": "contact.created"}, limit=2), feed(w, types="contact.created"),
       "cursors with types=")
    j = expect(w.get("/v1/events", params={"limit": 100}), 200)
    eq(j["next_cursor"], None, "the last page has no next_cursor")


def _bad(label, params, param):
    def t():
        r = A.get("/v1/events", params=params)
        expect(r, 400, "validation_failed", param)
    return t


BAD = [
    ("after_unknown_event_id", {"after": "ev_00000000000000000000000000"}, "after"),
    ("after_negative", {"after": "-1"}, "after"),
    ("after_letters", {"after": "abc"}, "after"),
    ("after_empty", {"after": ""}, "after"),
    ("after_and_cursor", {"after": "1", "cursor": "2"}, "after"),
    ("types_malformed", {"types": "Contact Created"}, "types"),
    ("types_empty_item", {"types": "contact.created,,deal.*"}, "types"),
    ("wait_31", {"wait": "31"}, "wait"),
    ("wait_negative", {"wait": "-1"}, "wait"),
    ("wait_letters", {"wait": "soon"}, "wait"),
    ("limit_0", {"limit": "0"}, "limit"),
    ("limit_101", {"limit": "101"}, "limit"),
    ("cursor_garbage", {"cursor": "xyz"}, "cursor"),
    ("unknown_parameter", {"colour": "red"}, "colour"),
]
for _c in BAD:
    globals()["test_bad_parameter_" + _c[0]] = _bad(*_c)


def test_other_workspace_events_never_appear():
    cb = contact(B)
    contact(A)
    theirs = feed(B)
    mine = feed(A)
    ok(not {e["id"] for e in theirs} & {e["id"] for e in mine}, "no event in both feeds")
    ok(cb["id"] not in {e["resource_id"] for e in mine}, "B's contact is not in A's feed")
    eq(feed(A, resource_id=cb["id"]), [], "resource_id of B's record: nothing")
    expect(A.get("/v1/events", params={"after": theirs[-1]["id"]}), 400, "validation_failed", "after")


def test_missing_scope_is_403():
    for scopes in ("crm:read,crm:write", "integrations:write"):
        k = S.key(WS_A, scopes)
        expect(k.get("/v1/events"), 403, "forbidden")
    expect(S.key(WS_A, "integrations:read").get("/v1/events"), 200)


# ------------------------------------------------------------ long poll

def test_long_poll_answers_a_new_event():
    w = ws()
    contact(w)
    last = feed(w)[-1]["sequence"]
    out = {}

    def reader():
        out["r"] = w.get("/v1/events", params={"after": str(last), "wait": "20"}, timeout=60 * SCALE)
    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.5)  # ordering help only: the poll is usually parked by now
    c = contact(w, first_name="Awaited")
    t.join(60 * SCALE)
    ok(not t.is_alive(), "the long poll did not return")
    d = expect(out["r"], 200)["data"]
    ok(d and d[0]["sequence"] == last + 1 and d[0]["resource_id"] == c["id"] and d[0]["type"] == "contact.created",
       "%s: answered the new event, got %r" % (out["r"].request_line(), d))


def test_long_poll_with_nothing_to_come_waits_and_answers_empty():
    w = ws()
    contact(w)
    last = feed(w)[-1]["sequence"]
    for wait in (1, 2):
        t0 = time.time()
        r = w.get("/v1/events", params={"after": str(last), "wait": str(wait)}, timeout=60 * SCALE)
        took = time.time() - t0
        j = expect(r, 200)
        eq((j["data"], j["next_cursor"]), ([], None), "%s: nothing came" % r.request_line())
        ok(took >= wait - 0.2, "%s: answered after %.2fs, before the %ds asked" % (r.request_line(), took, wait))
        ok(took < wait + 10 * SCALE, "%s: answered after %.2fs" % (r.request_line(), took))


def test_long_poll_ignores_events_its_filter_excludes():
    w = ws()
    contact(w)
    last = feed(w)[-1]["sequence"]
    out = {}

    def reader():
        t0 = time.time()
        out["r"] = w.get("/v1/events", params={"after": str(last), "wait": "2", "types": "company.*"},
                         timeout=60 * SCALE)
        out["took"] = time.time() - t0
    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.3)
    contact(w)
    t.join(60 * SCALE)
    eq(expect(out["r"], 200)["data"], [], "a contact event does not answer a poll for company.*")
    ok(out["took"] >= 1.8, "the filtered poll kept waiting (answered after %.2fs)" % out["took"])


def test_wait_zero_and_a_page_waiting_answer_at_once():
    w = ws()
    contact(w)
    evs = feed(w)
    r = w.get("/v1/events", params={"wait": "0", "after": str(evs[-1]["sequence"])})
    eq(expect(r, 200)["data"], [], "wait=0 with nothing: empty")
    r = w.get("/v1/events", params={"wait": "30", "after": "0"}, timeout=60 * SCALE)
    eq(expect(r, 200)["data"], evs, "%s: events already there are answered (no wait)" % r.request_line())


def test_sequences_survive_kill9():
    K = Server(name="events-kill")
    k = K.key(uniq("kill"))
    K.start()
    try:
        made = [contact(k)["id"] for _ in range(10)]
        out, errs = [], []

        def writer():
            try:
                for _ in range(200):
                    out.append(contact(k)["id"])
            except Exception as e:  # noqa: BLE001 - the kill cuts it off
                errs.append(e)
        t = threading.Thread(target=writer)
        t.start()
        time.sleep(0.5)
        K.kill9()
        t.join(60 * SCALE)
        K.start()
        made += out
        made += [contact(k)["id"] for _ in range(5)]
        evs = feed(k)
        check_contiguous(evs, "after kill -9 and a restart")
        created = [e["resource_id"] for e in evs if e["type"] == "contact.created"]
        eq(len(created), len(set(created)), "no create twice")
        ok(set(made) <= set(created), "every acknowledged create has its event: missing %s" % (
            sorted(set(made) - set(created))[:3]))
    finally:
        K.stop()


# ------------------------------------------------------------ racing writers

def _race(nodes, client_for, writers=4, per_writer=75):
    """writers threads create contacts round-robin over nodes while a reader
    follows after=<last seen> with limit=100 (alternating nodes); returns
    (seen events, final full read, created ids)."""
    tok = client_for(nodes[0])
    done = threading.Event()
    made, errs, seen = [], [], []
    lock = threading.Lock()

    def writer(k):
        try:
            for i in range(per_writer):
                c = client_for(nodes[(k + i) % len(nodes)])
                cid = c.create("/v1/contacts", {"first_name": "R%d_%d" % (k, i), "email": uniq("r") + "@race.test"})["id"]
                with lock:
                    made.append(cid)
        except Exception as e:  # noqa: BLE001
            errs.append(e)

    def reader():
        last, turn, idle_after_done = 0, 0, 0
        try:
            while idle_after_done < 2:
                finished = done.is_set()
                c = client_for(nodes[turn % len(nodes)])
                turn += 1
                r = c.get("/v1/events", params={"after": str(last), "limit": "100"})
                page = expect(r, 200)["data"]
                seen.extend(page)
                if page:
                    last = page[-1]["sequence"]
                elif finished:
                    idle_after_done += 1
        except Exception as e:  # noqa: BLE001
            errs.append(e)

    ts = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
    rd = threading.Thread(target=reader)
    rd.start()
    [t.start() for t in ts]
    [t.join(120 * SCALE) for t in ts]
    done.set()
    rd.join(120 * SCALE)
    ok(not rd.is_alive() and not any(t.is_alive() for t in ts), "writers or reader did not finish")
    ok(not errs, "a writer or the reader failed: %s" % (errs[:1],))
    final = list_all(tok, "/v1/events")
    return seen, final, made


def _check_race(seen, final, made, what):
    s = seqs(seen)
    dups = len(s) - len(set(s))
    eq(dups, 0, "%s: sequences the reader saw twice" % what)
    check_contiguous(seen, what + ": the reader")
    check_contiguous(final, what + ": the final read")
    eq([(e["id"], e["sequence"]) for e in seen], [(e["id"], e["sequence"]) for e in final],
       "%s: the reader saw exactly the final read" % what)
    created = [e["resource_id"] for e in seen if e["type"] == "contact.created"]
    eq(sorted(created), sorted(made), "%s: one contact.created per acknowledged create" % what)


def test_reader_racing_writers_one_node():
    k = S.key(uniq("race1"))
    seen, final, made = _race([S], lambda node: k, writers=4, per_writer=40)
    _check_race(seen, final, made, "one node, 4 writers")


def test_reader_racing_writers_two_nodes_postgres():
    if backend() != "postgres":
        skip("needs PostgreSQL (two nodes on one database; run under scripts/with-postgres.sh)")
    S2 = Server(name="events-node2", db=S.db)
    k = S.key(uniq("race2"))
    S2.start()
    try:
        clients = {S: k, S2: Client(S2, k.key)}
        seen, final, made = _race([S, S2], lambda node: clients[node], writers=4, per_writer=75)
        eq(len(made), 300, "acknowledged creates")
        _check_race(seen, final, made, "two nodes, 4 writers")
        # Both nodes answer the same feed.
        eq(list_all(clients[S2], "/v1/events"), final, "node 2's full read is node 1's")
        # A long poll on one node is answered by a write on the other.
        out = {}
        last = final[-1]["sequence"]

        def reader():
            out["r"] = clients[S].get("/v1/events", params={"after": str(last), "wait": "20"}, timeout=60 * SCALE)
        t = threading.Thread(target=reader)
        t.start()
        time.sleep(0.5)
        c = clients[S2].create("/v1/contacts", {"first_name": "Other node"})
        t.join(60 * SCALE)
        d = expect(out["r"], 200)["data"]
        ok(d and d[0]["resource_id"] == c["id"], "%s: answered node 2's event, got %r" % (out["r"].request_line(), d))
    finally:
        S2.stop_ok()
