"""Calendar (/v1/calendar/events, /v1/calendar/availability,
/v1/calendar/schedule; activity:read/activity:write, module calendar):
event CRUD and every validation rule (each refused write changes nothing),
list filters and a member's events, availability (merged busy time, free
gaps, cancelled events not busy, the team), booking the first free slot
for several members (an overlapping booking is 409 naming the busy
interval; concurrent bookings never double-book), the related record's
timeline, dry runs, Idempotency-Key, scopes, a disabled module, and other
workspaces' ids."""

import threading

from harness import Server, TIME_RE, check_record, count, eq, expect, ids, list_all, ok

S = A = B = RO = CRM = MODK = None
CON = LEAD = DEAL = None
BMEM = BCON = None
EVENTS = "/v1/calendar/events"
AVAIL = "/v1/calendar/availability"
SCHED = "/v1/calendar/schedule"
_n = [0]


def setup_module():
    global S, A, B, RO, CRM, MODK, CON, LEAD, DEAL, BMEM, BCON
    S = Server(name="calendar")
    A = S.key("cal-a")
    B = S.key("cal-b")
    RO = S.key("cal-a", "activity:read")
    CRM = S.key("cal-a", "crm:read,crm:write")
    MODK = S.key("cal-modules")
    S.start()
    CON = A.create("/v1/contacts", {"name": "Cal Contact", "email": "cal.contact@a.example"})
    LEAD = A.create("/v1/leads", {"name": "Cal Lead"})
    DEAL = A.create("/v1/deals", {"name": "Cal Deal"})
    BMEM = B.create("/v1/members", {"name": "B Member"})["id"]
    BCON = B.create("/v1/contacts", {"name": "B Contact"})


def teardown_module():
    S.stop_ok()


def mem(client=None, label="M"):
    """A fresh member: each test's busy time is its own."""
    _n[0] += 1
    return (client or A).create("/v1/members", {"name": "%s %d" % (label, _n[0])})["id"]


def T(day, hh, mm=0, year=2031, month=3):
    return "%04d-%02d-%02dT%02d:%02d:00.000Z" % (year, month, day, hh, mm)


def event(start, end, client=None, **kw):
    body = {"title": kw.pop("title", "Meeting"), "starts_at": start, "ends_at": end}
    body.update(kw)
    return (client or A).create(EVENTS, body)


def avail(member, frm, to, client=None):
    params = {"from": frm, "to": to}
    if member:
        params["member_id"] = member
    return expect((client or A).get(AVAIL, params=params), 200)["data"]


def spans(items):
    return [(x["starts_at"], x["ends_at"]) for x in items]


# ------------------------------------------------------------ events

def test_create_full_get_and_defaults():
    m1, m2 = mem(), mem()
    body = {"title": "Kick-off", "description": "agenda: scope", "starts_at": "2031-03-01T10:00:00+01:00",
            "ends_at": "2031-03-01T11:30:00+01:00", "time_zone": "Europe/Paris", "status": "tentative",
            "location": "Room 1", "organizer_id": m1,
            "attendees": [{"member_id": m2}, {"contact_id": CON["id"]},
                          {"email": "guest@elsewhere.example", "name": "Guest"}],
            "related_type": "contact", "related_id": CON["id"], "custom_fields": {"room": "r1"}}
    d = expect(A.post(EVENTS, body), 201)["data"]
    check_record(d, "cev_", "created event")
    eq(d["object"], "calendar_event", "object")
    eq((d["starts_at"], d["ends_at"]), ("2031-03-01T09:00:00.000Z", "2031-03-01T10:30:00.000Z"),
       "times normalised to UTC")
    for k in ("title", "description", "time_zone", "status", "location", "organizer_id", "related_type",
              "related_id", "custom_fields"):
        eq(d[k], body[k], "created event %s" % k)
    eq(d["attendees"], [{"member_id": m2, "contact_id": None, "email": None, "name": None},
                        {"member_id": None, "contact_id": CON["id"], "email": None, "name": None},
                        {"member_id": None, "contact_id": None, "email": "guest@elsewhere.example",
                         "name": "Guest"}], "attendees")
    eq(expect(A.get(EVENTS + "/" + d["id"]), 200)["data"], d, "GET after create")
    bare = event(T(1, 12), T(1, 13), title="Bare")
    eq((bare["status"], bare["attendees"], bare["time_zone"], bare["organizer_id"], bare["related_id"]),
       ("confirmed", None, None, None, None), "defaults of a bare event")
    # The organizer's and member attendees' time is held, as attendance rows.
    att = list_all(A, "/v1/calendar/attendances", {"event_id": d["id"]})
    eq(sorted((x["member_id"], x["role"], x["busy"]) for x in att),
       sorted([(m1, "organizer", True), (m2, "attendee", True)]), "attendance rows of the event")


def test_patch_and_delete():
    m = mem()
    e = event(T(2, 9), T(2, 10), attendees=[{"member_id": m}])
    p = expect(A.patch(EVENTS + "/" + e["id"], {"title": "Moved", "starts_at": T(2, 14), "ends_at": T(2, 15)}),
               200)["data"]
    eq((p["title"], p["starts_at"], p["ends_at"]), ("Moved", T(2, 14), T(2, 15)), "patched event")
    eq(spans(avail(m, T(2, 0), T(3, 0))["busy"]), [(T(2, 14), T(2, 15))], "busy time follows the move")
    # Only ends_at, before the stored start: refused, nothing changes.
    expect(A.patch(EVENTS + "/" + e["id"], {"ends_at": T(2, 13)}), 400, "validation_failed", "ends_at")
    eq(expect(A.get(EVENTS + "/" + e["id"]), 200)["data"], p, "event after a refused patch")
    # Dropping the member from the attendees frees their time.
    expect(A.patch(EVENTS + "/" + e["id"], {"attendees": [{"email": "x@y.example"}]}), 200)
    eq(avail(m, T(2, 0), T(3, 0))["busy"], [], "busy time after the member left")
    expect(A.patch(EVENTS + "/" + e["id"], {"attendees": [{"member_id": m}]}), 200)
    j = expect(A.delete(EVENTS + "/" + e["id"]), 200)["data"]
    eq((j["id"], j["deleted"]), (e["id"], True), "DELETE data")
    expect(A.get(EVENTS + "/" + e["id"]), 404, "not_found")
    expect(A.patch(EVENTS + "/" + e["id"], {"title": "ghost"}), 404, "not_found")
    eq(avail(m, T(2, 0), T(3, 0))["busy"], [], "busy time after the delete")
    eq(list_all(A, "/v1/calendar/attendances", {"event_id": e["id"]}), [], "attendance rows after the delete")


def test_deleting_a_member_frees_their_time_and_clears_organizer():
    m, other = mem(), mem()
    e = event(T(3, 9), T(3, 10), organizer_id=m, attendees=[{"member_id": other}])
    expect(A.delete("/v1/members/" + m), 200)
    d = expect(A.get(EVENTS + "/" + e["id"]), 200)["data"]
    eq(d["organizer_id"], None, "organizer_id after the member went")
    eq([x["member_id"] for x in list_all(A, "/v1/calendar/attendances", {"event_id": e["id"]})], [other],
       "attendance rows after the organizer went")


def test_list_filters_order_and_a_members_events():
    m, org, other = mem(), mem(), mem()
    e1 = event(T(5, 9), T(5, 10), attendees=[{"member_id": m}], related_type="lead", related_id=LEAD["id"])
    e2 = event(T(5, 11), T(5, 12), organizer_id=org, attendees=[{"member_id": m}], status="tentative")
    e3 = event(T(5, 8), T(5, 9), attendees=[{"member_id": other}], status="cancelled")
    e4 = event(T(5, 13), T(5, 14), organizer_id=m)
    # Events overlapping [09:30, 11:30): starts before its end, ends after its start.
    got = ids(list_all(A, EVENTS, {"starts_before": T(5, 11, 30), "ends_after": T(5, 9, 30)}))
    eq([i for i in got if i in (e1["id"], e2["id"], e3["id"], e4["id"])], [e1["id"], e2["id"]],
       "events overlapping a range, by start time")
    eq(ids(list_all(A, EVENTS, {"related_id": LEAD["id"]})), [e1["id"]], "?related_id")
    eq(ids(list_all(A, EVENTS, {"organizer_id": org})), [e2["id"]], "?organizer_id")
    ok(e3["id"] in ids(list_all(A, EVENTS, {"status": "cancelled"})), "?status=cancelled misses the event")
    ok(e3["id"] not in ids(list_all(A, EVENTS, {"status": "confirmed"})), "?status=confirmed lists a cancelled event")
    mine = list_all(A, "/v1/members/%s/calendar-events" % m)
    eq(ids(mine), [e1["id"], e2["id"], e4["id"]], "a member's events (attendee or organizer), by start")
    eq(ids(list_all(A, "/v1/members/%s/calendar-events" % m, {"status": "tentative"})), [e2["id"]],
       "a member's events filtered")
    # The default order is by start time, also across pages.
    starts = [x["starts_at"] for x in list_all(A, EVENTS, limit=2)]
    eq(starts, sorted(starts), "events listed by starts_at")
    expect(A.get(EVENTS, params={"starts_before": "tomorrow"}), 400, "validation_failed", "starts_before")
    expect(A.get("/v1/members/mem_00000000000000000000000000/calendar-events"), 404, "not_found")


def test_search_finds_title_and_location():
    e = event(T(6, 9), T(6, 10), title="Quarterly zyxwvut review", location="Boardroom qwertzu")
    eq(ids(list_all(A, EVENTS, {"query": "zyxwvut"})), [e["id"]], "search by title")
    eq(ids(list_all(A, EVENTS, {"query": "qwertzu"})), [e["id"]], "search by location")


GOOD = {"title": "x", "starts_at": T(7, 9), "ends_at": T(7, 10)}


def _with(**kw):
    b = dict(GOOD)
    for k, v in kw.items():
        if v is None:
            b.pop(k, None)
        else:
            b[k] = v
    return b


INVALID_CREATE = [
    # label, body, status, code, param, message fragments
    ("missing_title", _with(title=None), 400, "validation_failed", "title", ()),
    ("title_wrong_type", _with(title=5), 400, "validation_failed", "title", ()),
    ("title_too_long", _with(title="t" * 501), 400, "validation_failed", "title", ("500",)),
    ("missing_starts_at", _with(starts_at=None), 400, "validation_failed", "starts_at", ()),
    ("missing_ends_at", _with(ends_at=None), 400, "validation_failed", "ends_at", ()),
    ("starts_at_not_a_time", _with(starts_at="next monday"), 400, "validation_failed", "starts_at", ()),
    ("starts_at_date_only", _with(starts_at="2031-03-07"), 400, "validation_failed", "starts_at", ()),
    ("starts_at_number", _with(starts_at=1900000000), 400, "validation_failed", "starts_at", ()),
    ("starts_at_year_99999", _with(starts_at="99999-01-01T00:00:00Z"), 400, "validation_failed", "starts_at", ()),
    ("ends_before_starts", _with(ends_at=T(7, 8)), 400, "validation_failed", "ends_at", ("after starts_at",)),
    ("ends_at_starts", _with(ends_at=T(7, 9)), 400, "validation_failed", "ends_at", ()),
    ("longer_than_366_days", _with(ends_at="2032-03-08T09:00:00Z"), 400, "validation_failed", "ends_at", ("366",)),
    ("time_zone_unknown", _with(time_zone="Mars/Olympus_Mons"), 400, "validation_failed", "time_zone", ("IANA",)),
    ("time_zone_path", _with(time_zone="../../../etc/passwd"), 400, "validation_failed", "time_zone", ()),
    ("time_zone_empty", _with(time_zone=""), 400, "validation_failed", "time_zone", ()),
    ("time_zone_number", _with(time_zone=2), 400, "validation_failed", "time_zone", ()),
    ("time_zone_too_long", _with(time_zone="A" * 65), 400, "validation_failed", "time_zone", ()),
    ("status_enum", _with(status="done"), 400, "validation_failed", "status", ("confirmed", "cancelled")),
    ("attendees_not_array", _with(attendees={"member_id": "x"}), 400, "validation_failed", "attendees", ()),
    ("attendee_not_object", _with(attendees=["a@b.example"]), 400, "validation_failed", "attendees[0]", ()),
    ("attendee_two_kinds", _with(attendees=[{"email": "a@b.example", "contact_id": "CON"}]), 400,
     "validation_failed", "attendees[0]", ("exactly one",)),
    ("attendee_name_only", _with(attendees=[{"name": "Nobody"}]), 400, "validation_failed", "attendees[0]", ()),
    ("attendee_unknown_member", _with(attendees=[{"member_id": "mem_00000000000000000000000000"}]), 404,
     "not_found", "attendees[0].member_id", ()),
    ("attendee_unknown_contact", _with(attendees=[{"email": "a@b.example"}, {"contact_id": "con_0000000000000000000000000X"}]),
     404, "not_found", "attendees[1].contact_id", ()),
    ("attendee_foreign_contact", _with(attendees=[{"contact_id": "BCON"}]), 404, "not_found",
     "attendees[0].contact_id", ()),
    ("attendee_foreign_member", _with(attendees=[{"member_id": "BMEM"}]), 404, "not_found",
     "attendees[0].member_id", ()),
    ("attendee_bad_email", _with(attendees=[{"email": "not-an-address"}]), 400, "validation_failed",
     "attendees[0].email", ()),
    ("attendee_unknown_key", _with(attendees=[{"email": "a@b.example", "role": "chair"}]), 400,
     "validation_failed", "attendees[0].role", ()),
    ("attendee_twice_email", _with(attendees=[{"email": "A@B.example"}, {"email": "a@b.example"}]), 400,
     "validation_failed", "attendees[1]", ("repeats",)),
    ("attendee_twice_contact", _with(attendees=[{"contact_id": "CON"}, {"contact_id": "CON"}]), 400,
     "validation_failed", "attendees[1]", ("repeats",)),
    ("attendees_101", _with(attendees=[{"email": "p%d@x.example" % i} for i in range(101)]), 400,
     "validation_failed", "attendees", ("100",)),
    ("organizer_unknown", _with(organizer_id="mem_00000000000000000000000000"), 404, "not_found",
     "organizer_id", ()),
    ("organizer_foreign", _with(organizer_id="BMEM"), 404, "not_found", "organizer_id", ()),
    ("related_type_enum", _with(related_type="invoice", related_id="CON"), 400, "validation_failed",
     "related_type", ("ticket",)),
    ("related_type_without_id", _with(related_type="contact"), 400, "validation_failed", "related_id", ()),
    ("related_id_without_type", _with(related_id="CON"), 400, "validation_failed", "related_type", ()),
    ("related_wrong_type", _with(related_type="lead", related_id="CON"), 400, "validation_failed",
     "related_id", ()),
    ("related_foreign", _with(related_type="contact", related_id="BCON"), 400, "validation_failed",
     "related_id", ()),
    ("unknown_field", _with(room="r1"), 400, "validation_failed", "room", ()),
    ("read_only_id", _with(id="cev_00000000000000000000000000"), 400, "validation_failed", "id", ()),
    ("body_array", b"[]", 400, "validation_failed", None, ()),
    ("title_invalid_utf8", b'{"title": "\xff\xfe", "starts_at": "2031-03-07T09:00:00Z", '
                           b'"ends_at": "2031-03-07T10:00:00Z"}', 400, None, None, ()),
    ("deep_json", b'{"title": ' + b"[" * 200 + b"]" * 200 + b"}", 400, None, None, ()),
]


def _fix(v):
    names = {"CON": lambda: CON["id"], "BCON": lambda: BCON["id"], "BMEM": lambda: BMEM}
    if isinstance(v, dict):
        return {k: _fix(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_fix(x) for x in v]
    if isinstance(v, str) and v in names:
        return names[v]()
    return v


def _make_invalid_create(label, body, status, code, param, frags):
    def t():
        n = count(A, EVENTS)
        r = A.post(EVENTS, raw=body) if isinstance(body, bytes) else A.post(EVENTS, _fix(body))
        if param is None:
            expect(r, status, code, message_has=frags)
        else:
            expect(r, status, code, param, message_has=frags)
        eq(count(A, EVENTS), n, "event count after a refused create (%s)" % label)
    return t


for _c in INVALID_CREATE:
    globals()["test_create_invalid_" + _c[0]] = _make_invalid_create(*_c)


def test_time_zone_names_the_server_knows():
    for tz in ("UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"):
        eq(event(T(8, 9), T(8, 10), time_zone=tz)["time_zone"], tz, "time_zone %s" % tz)


# ------------------------------------------------------------ availability

def test_availability_merges_busy_time_and_lists_the_gaps():
    m = mem()
    a = event(T(10, 7), T(10, 8, 30), attendees=[{"member_id": m}])        # clipped by from
    b = event(T(10, 9), T(10, 10), organizer_id=m)
    c = event(T(10, 9, 30), T(10, 10, 30), attendees=[{"member_id": m}])   # overlaps b
    d = event(T(10, 11), T(10, 12), attendees=[{"member_id": m}])
    e = event(T(10, 12), T(10, 13), attendees=[{"member_id": m}])          # touches d
    event(T(10, 14), T(10, 15), attendees=[{"member_id": m}], status="cancelled")
    f = event(T(10, 15), T(10, 16), attendees=[{"member_id": m}], status="tentative")
    event(T(10, 16), T(10, 17), attendees=[{"member_id": mem()}])          # someone else's
    g = event(T(10, 17, 30), T(10, 19), attendees=[{"member_id": m}])      # clipped by to
    v = avail(m, T(10, 8), T(10, 18))
    eq((v["object"], v["member_id"], v["from"], v["to"]), ("calendar_availability", m, T(10, 8), T(10, 18)),
       "availability header")
    eq(spans(v["busy"]), [(T(10, 8), T(10, 8, 30)), (T(10, 9), T(10, 10, 30)), (T(10, 11), T(10, 13)),
                          (T(10, 15), T(10, 16)), (T(10, 17, 30), T(10, 18))], "merged busy intervals")
    eq([sorted(x["event_ids"]) for x in v["busy"]],
       [[a["id"]], sorted([b["id"], c["id"]]), sorted([d["id"], e["id"]]), [f["id"]], [g["id"]]],
       "events of each busy interval")
    eq(spans(v["free"]), [(T(10, 8, 30), T(10, 9)), (T(10, 10, 30), T(10, 11)), (T(10, 13), T(10, 15)),
                          (T(10, 16), T(10, 17, 30))], "free intervals between them")
    # An event ending exactly at `from` or starting at `to` holds nothing in the range.
    w = avail(m, T(10, 13), T(10, 14))
    eq((w["busy"], spans(w["free"])), ([], [(T(10, 13), T(10, 14))]), "a range between events")
    empty = avail(mem(), T(10, 8), T(10, 18))
    eq((empty["busy"], spans(empty["free"])), ([], [(T(10, 8), T(10, 18))]), "a member with no events")


def test_cancelled_events_hold_no_time():
    m = mem()
    e = event(T(11, 9), T(11, 10), attendees=[{"member_id": m}])
    eq(spans(avail(m, T(11, 0), T(12, 0))["busy"]), [(T(11, 9), T(11, 10))], "busy while confirmed")
    expect(A.patch(EVENTS + "/" + e["id"], {"status": "cancelled"}), 200)
    eq(avail(m, T(11, 0), T(12, 0))["busy"], [], "busy once cancelled")
    att = list_all(A, "/v1/calendar/attendances", {"event_id": e["id"]})
    eq([x["busy"] for x in att], [False], "attendance of a cancelled event")
    # A booking may take the cancelled event's slot.
    s = expect(A.post(SCHED, {"member_ids": [m], "duration_minutes": 60, "window_start": T(11, 9),
                              "window_end": T(11, 10), "title": "Over a cancelled one"}), 201)["data"]
    eq(s["starts_at"], T(11, 9), "slot of a cancelled event booked")
    expect(A.patch(EVENTS + "/" + e["id"], {"status": "confirmed"}), 200)
    eq(spans(avail(m, T(11, 0), T(12, 0))["busy"]), [(T(11, 9), T(11, 10))],
       "busy again once confirmed (two events, one interval)")
    eq(len(avail(m, T(11, 0), T(12, 0))["busy"][0]["event_ids"]), 2, "both events in the interval")


def test_team_availability_without_member_id():
    m1, m2 = mem(), mem()
    e1 = event(T(1, 9, year=2033), T(1, 10, year=2033), attendees=[{"member_id": m1}, {"member_id": m2}])
    e2 = event(T(1, 9, 30, year=2033), T(1, 11, year=2033), attendees=[{"member_id": m2}])
    v = expect(A.get(AVAIL, params={"from": T(1, 8, year=2033), "to": T(1, 12, year=2033)}), 200)["data"]
    eq(v["member_id"], None, "member_id of the team's availability")
    eq(spans(v["busy"]), [(T(1, 9, year=2033), T(1, 11, year=2033))], "the team's busy time")
    eq(sorted(v["busy"][0]["event_ids"]), sorted([e1["id"], e2["id"]]), "each event once")
    # Without a range: from the start of today, 7 days.
    d = expect(A.get(AVAIL), 200)["data"]
    ok(TIME_RE.match(d["from"]) and d["from"].endswith("T00:00:00.000Z"), "default from: %r" % d["from"])


INVALID_AVAIL = [
    ("to_before_from", {"from": T(12, 10), "to": T(12, 9)}, 400, "validation_failed", "to"),
    ("to_equals_from", {"from": T(12, 10), "to": T(12, 10)}, 400, "validation_failed", "to"),
    ("range_over_90_days", {"from": T(1, 0), "to": T(1, 0, month=7)}, 400, "validation_failed", "to"),
    ("from_not_a_time", {"from": "yesterday", "to": T(12, 10)}, 400, "validation_failed", "from"),
    ("to_not_a_time", {"from": T(12, 10), "to": "1e9"}, 400, "validation_failed", "to"),
    ("unknown_member", {"member_id": "mem_00000000000000000000000000"}, 404, "not_found", "member_id"),
    ("foreign_member", {"member_id": "BMEM"}, 404, "not_found", "member_id"),
    ("unknown_param", {"members": "x"}, 400, "validation_failed", "members"),
]


def _make_invalid_avail(label, params, status, code, param):
    def t():
        p = {k: (BMEM if v == "BMEM" else v) for k, v in params.items()}
        expect(A.get(AVAIL, params=p), status, code, param)
    return t


for _c in INVALID_AVAIL:
    globals()["test_availability_invalid_" + _c[0]] = _make_invalid_avail(*_c)


# ------------------------------------------------------------ booking

def test_schedule_books_the_first_slot_free_for_two_members():
    m1, m2 = mem(), mem()
    event(T(13, 9), T(13, 10), attendees=[{"member_id": m1}])
    event(T(13, 10), T(13, 10, 20), attendees=[{"member_id": m2}])
    body = {"member_ids": [m1, m2], "duration_minutes": 60, "window_start": T(13, 9), "window_end": T(13, 17),
            "title": "Demo", "location": "Video", "time_zone": "Europe/Paris",
            "attendees": [{"contact_id": CON["id"]}], "related_type": "deal", "related_id": DEAL["id"],
            "custom_fields": {"source": "scheduler"}}
    d = expect(A.post(SCHED, body), 201)["data"]
    check_record(d, "cev_", "booked event")
    # 10:20 is off the 15-minute grid: the first slot is 10:30.
    eq((d["starts_at"], d["ends_at"]), (T(13, 10, 30), T(13, 11, 30)), "booked slot")
    eq((d["title"], d["location"], d["time_zone"], d["status"], d["related_type"], d["related_id"],
        d["custom_fields"]), ("Demo", "Video", "Europe/Paris", "confirmed", "deal", DEAL["id"],
                              {"source": "scheduler"}), "booked event fields")
    eq([(x["member_id"], x["contact_id"]) for x in d["attendees"]], [(None, CON["id"]), (m1, None), (m2, None)],
       "attendees: those given, then the members")
    eq(expect(A.get(EVENTS + "/" + d["id"]), 200)["data"], d, "GET of the booked event")
    for m in (m1, m2):
        ok((T(13, 10, 30), T(13, 11, 30)) in spans(avail(m, T(13, 0), T(14, 0))["busy"]),
           "the booking holds %s's time" % m)
    # With a 5-minute grid it would have been 10:20: the grid is the caller's.
    g = expect(A.post(SCHED, {"member_ids": [m2], "duration_minutes": 10, "window_start": T(13, 10),
                              "window_end": T(13, 11), "granularity_minutes": 5, "title": "Quick"}), 201)["data"]
    eq(g["starts_at"], T(13, 10, 20), "slot on a 5-minute grid")


def test_schedule_conflict_names_the_busy_interval():
    m1, m2 = mem(), mem()
    busy = event(T(14, 10), T(14, 11), attendees=[{"member_id": m2}])
    n = count(A, EVENTS)
    r = A.post(SCHED, {"member_ids": [m1, m2], "duration_minutes": 60, "window_start": T(14, 10),
                       "window_end": T(14, 11), "title": "Clash"})
    expect(r, 409, "conflict", "member_ids[1]",
           message_has=(m2, "%s/%s" % (T(14, 10), T(14, 11))))
    eq(count(A, EVENTS), n, "events after a refused booking")
    # The organizer must be free too.
    r = A.post(SCHED, {"member_ids": [m1], "organizer_id": m2, "duration_minutes": 30, "window_start": T(14, 10),
                       "window_end": T(14, 11), "title": "Clash"})
    expect(r, 409, "conflict", "organizer_id", message_has=(m2,))
    # A direct create over the busy time is allowed: calendars overlap.
    over = event(T(14, 10), T(14, 11), attendees=[{"member_id": m2}])
    ok(over["id"] != busy["id"], "overlapping direct create")
    # Booked once, the same slot is busy for the next booking.
    first = expect(A.post(SCHED, {"member_ids": [m1], "duration_minutes": 60, "window_start": T(14, 13),
                                  "window_end": T(14, 14), "title": "Once"}), 201)["data"]
    expect(A.post(SCHED, {"member_ids": [m1], "duration_minutes": 60, "window_start": T(14, 13),
                          "window_end": T(14, 14), "title": "Twice"}), 409, "conflict", "member_ids[0]",
           message_has=("%s/%s" % (first["starts_at"], first["ends_at"]),))


def test_concurrent_bookings_never_double_book():
    m = mem()
    body = {"member_ids": [m], "duration_minutes": 60, "window_start": T(15, 9), "window_end": T(15, 11),
            "granularity_minutes": 60, "title": "Race"}
    results = []
    lock = threading.Lock()

    def book():
        r = A.post(SCHED, body)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=book) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = sorted(r.json["data"]["starts_at"] for r in results if r.status == 201)
    eq(won, [T(15, 9), T(15, 10)], "slots booked by 6 concurrent bookings of a 2-slot window")
    for r in results:
        if r.status != 201:
            expect(r, 409, "conflict", "member_ids[0]")
    eq(spans(avail(m, T(15, 0), T(16, 0))["busy"]), [(T(15, 9), T(15, 11))], "busy time after the race")
    eq(len(list_all(A, "/v1/members/%s/calendar-events" % m)), 2, "events of the member")


INVALID_SCHED = [
    ("missing_member_ids", {"member_ids": None}, 400, "validation_failed", "member_ids"),
    ("empty_member_ids", {"member_ids": []}, 400, "validation_failed", "member_ids"),
    ("member_ids_not_list", {"member_ids": "M"}, 400, "validation_failed", "member_ids"),
    ("member_ids_21", {"member_ids": ["mem_%026d" % i for i in range(21)]}, 400, "validation_failed", "member_ids"),
    ("unknown_member", {"member_ids": ["M", "mem_00000000000000000000000000"]}, 404, "not_found", "member_ids[1]"),
    ("foreign_member", {"member_ids": ["BMEM"]}, 404, "not_found", "member_ids[0]"),
    ("foreign_organizer", {"organizer_id": "BMEM"}, 404, "not_found", "organizer_id"),
    ("missing_duration", {"duration_minutes": None}, 400, "validation_failed", "duration_minutes"),
    ("duration_zero", {"duration_minutes": 0}, 400, "validation_failed", "duration_minutes"),
    ("duration_over_a_day", {"duration_minutes": 1441}, 400, "validation_failed", "duration_minutes"),
    ("duration_string", {"duration_minutes": "60"}, 400, "validation_failed", "duration_minutes"),
    ("duration_huge", {"duration_minutes": 2 ** 62}, 400, "validation_failed", "duration_minutes"),
    ("duration_longer_than_window", {"duration_minutes": 600}, 400, "validation_failed", "duration_minutes"),
    ("window_end_before_start", {"window_end": T(16, 8)}, 400, "validation_failed", "window_end"),
    ("window_over_90_days", {"window_end": T(16, 9, month=7)}, 400, "validation_failed", "window_end"),
    ("window_start_bad", {"window_start": "soon"}, 400, "validation_failed", "window_start"),
    ("granularity_zero", {"granularity_minutes": 0}, 400, "validation_failed", "granularity_minutes"),
    ("missing_title", {"title": None}, 400, "validation_failed", "title"),
    ("status_cancelled", {"status": "cancelled"}, 400, "validation_failed", "status"),
    ("starts_at_given", {"starts_at": T(16, 9)}, 400, "validation_failed", "starts_at"),
    ("bad_time_zone", {"time_zone": "Nowhere/Land"}, 400, "validation_failed", "time_zone"),
    ("attendee_unknown_contact", {"attendees": [{"contact_id": "con_00000000000000000000000000"}]}, 404,
     "not_found", "attendees[0].contact_id"),
    ("related_foreign", {"related_type": "contact", "related_id": "BCON"}, 400, "validation_failed", "related_id"),
    ("unknown_field", {"slot": 3}, 400, "validation_failed", "slot"),
]


def _make_invalid_sched(label, changes, status, code, param):
    def t():
        m = mem()
        body = {"member_ids": [m], "duration_minutes": 60, "window_start": T(16, 9), "window_end": T(16, 17),
                "title": "x"}
        for k, v in changes.items():
            if v is None:
                body.pop(k)
            else:
                v = _fix(v)
                if isinstance(v, list):
                    v = [m if x == "M" else x for x in v]
                body[k] = m if v == "M" else v
        n = count(A, EVENTS)
        expect(A.post(SCHED, body), status, code, param)
        eq(count(A, EVENTS), n, "event count after a refused booking (%s)" % label)
    return t


for _c in INVALID_SCHED:
    globals()["test_schedule_invalid_" + _c[0]] = _make_invalid_sched(*_c)


def test_schedule_dry_run_and_idempotency():
    m = mem()
    body = {"member_ids": [m], "duration_minutes": 30, "window_start": T(17, 9), "window_end": T(17, 12),
            "title": "Maybe"}
    n = count(A, EVENTS)
    d = expect(A.post(SCHED, body, params={"dry_run": "true"}), 200)["data"]
    eq((d["starts_at"], d["title"]), (T(17, 9), "Maybe"), "dry-run booking")
    eq(count(A, EVENTS), n, "events after a dry run")
    eq(avail(m, T(17, 0), T(18, 0))["busy"], [], "busy time after a dry run")
    h = {"Idempotency-Key": "cal-book-%d" % _n[0]}
    r1 = A.post(SCHED, body, headers=h)
    r2 = A.post(SCHED, body, headers=h)
    expect(r1, 201)
    expect(r2, 201)
    eq(r2.json["data"], r1.json["data"], "replayed booking")
    eq(count(A, EVENTS), n + 1, "events after a replayed booking")
    expect(A.post(SCHED, dict(body, title="Other"), headers=h), 409, "idempotency_key_reused")
    # A dry-run event create and delete store nothing either.
    e = event(T(17, 13), T(17, 14), attendees=[{"member_id": m}])
    expect(A.delete(EVENTS + "/" + e["id"], params={"dry_run": "true"}), 200)
    expect(A.get(EVENTS + "/" + e["id"]), 200)
    eq(len(avail(m, T(17, 0), T(18, 0))["busy"]), 2, "busy intervals after a dry-run delete")


# ------------------------------------------------------------ timelines

def _timeline(path):
    return list_all(A, path + "/timeline")


def test_events_show_on_the_related_records_timeline():
    c = A.create("/v1/contacts", {"name": "Timeline Contact"})
    e = event(T(18, 9), T(18, 10), related_type="contact", related_id=c["id"])
    expect(A.patch(EVENTS + "/" + e["id"], {"title": "Renamed"}), 200)
    items = [(x["type"], x["resource_id"]) for x in _timeline("/v1/contacts/" + c["id"])]
    ok(("calendar_event.created", e["id"]) in items, "contact timeline lacks the event's creation: %r" % items)
    ok(("calendar_event.updated", e["id"]) in items, "contact timeline lacks the event's update: %r" % items)
    lead = A.create("/v1/leads", {"name": "Timeline Lead"})
    m = mem()
    b = expect(A.post(SCHED, {"member_ids": [m], "duration_minutes": 30, "window_start": T(18, 9),
                              "window_end": T(18, 12), "title": "Call", "related_type": "lead",
                              "related_id": lead["id"]}), 201)["data"]
    items = _timeline("/v1/leads/" + lead["id"])
    ok(any(x["type"] == "calendar_event.created" and x["resource_id"] == b["id"] for x in items),
       "lead timeline lacks the booked event: %r" % items)
    created = [x for x in items if x["resource_id"] == b["id"]][0]
    eq(created["data"]["starts_at"], b["starts_at"], "timeline item data")


# ------------------------------------------------------------ access

def test_other_workspaces_ids_are_404():
    m = mem()
    e = event(T(19, 9), T(19, 10), attendees=[{"member_id": m}])
    expect(B.get(EVENTS + "/" + e["id"]), 404, "not_found")
    expect(B.patch(EVENTS + "/" + e["id"], {"title": "theirs"}), 404, "not_found")
    expect(B.delete(EVENTS + "/" + e["id"]), 404, "not_found")
    expect(B.get(AVAIL, params={"member_id": m}), 404, "not_found", "member_id")
    expect(B.get("/v1/members/%s/calendar-events" % m), 404, "not_found")
    expect(B.post(SCHED, {"member_ids": [m], "duration_minutes": 30, "window_start": T(19, 9),
                          "window_end": T(19, 12), "title": "x"}), 404, "not_found", "member_ids[0]")
    ok(e["id"] not in ids(list_all(B, EVENTS)), "B lists A's event")
    eq(list_all(B, "/v1/calendar/attendances", {"member_id": m}), [], "B lists A's attendances")
    eq(expect(A.get(EVENTS + "/" + e["id"]), 200)["data"], e, "A's event after B's attempts")


def test_scopes():
    e = event(T(20, 9), T(20, 10))
    expect(RO.get(EVENTS + "/" + e["id"]), 200)
    expect(RO.get(AVAIL), 200)
    for r in (RO.post(EVENTS, GOOD), RO.patch(EVENTS + "/" + e["id"], {"title": "ro"}),
              RO.delete(EVENTS + "/" + e["id"]),
              RO.post(SCHED, {"member_ids": [mem()], "duration_minutes": 30, "window_start": T(20, 9),
                              "window_end": T(20, 12), "title": "x"})):
        expect(r, 403, "forbidden", message_has=("activity:write",))
    for r in (CRM.get(EVENTS), CRM.get(AVAIL), CRM.get(EVENTS + "/" + e["id"])):
        expect(r, 403, "forbidden", message_has=("activity:read",))
    eq(expect(A.get(EVENTS + "/" + e["id"]), 200)["data"], e, "event after refused writes")


def test_disabled_module():
    m = MODK.create("/v1/members", {"name": "Mod Member"})["id"]
    e = event(T(21, 9), T(21, 10), client=MODK, attendees=[{"member_id": m}])
    mods = expect(MODK.get("/v1/workspace"), 200)["data"]["enabled_modules"]
    expect(MODK.patch("/v1/workspace", {"enabled_modules": [x for x in mods if x != "calendar"]}), 200)
    try:
        for r in (MODK.get(EVENTS), MODK.get(EVENTS + "/" + e["id"]), MODK.post(EVENTS, GOOD),
                  MODK.get(AVAIL, params={"member_id": m}),
                  MODK.post(SCHED, {"member_ids": [m], "duration_minutes": 30, "window_start": T(21, 9),
                                    "window_end": T(21, 12), "title": "x"}),
                  MODK.get("/v1/members/%s/calendar-events" % m)):
            expect(r, 403, "module_disabled")
        expect(MODK.get("/v1/members/" + m), 200)
    finally:
        expect(MODK.patch("/v1/workspace", {"enabled_modules": mods}), 200)
    eq(expect(MODK.get(EVENTS + "/" + e["id"]), 200)["data"], e, "event once the module is back")
