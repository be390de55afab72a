"""Tasks (/v1/tasks, tasks:read/tasks:write) and activities (/v1/activities,
activity:read/activity:write): CRUD, defaults, completed_at, related
records, date filters, search, and scope refusals. Every rejected write
is checked to change nothing."""

import datetime
import time

from harness import Server, TIME_RE, check_record, count, eq, expect, ids, list_all, member, ok

S = A = B = CRM = TRO = ARO = TF = None
LEAD = DEAL = CONTACT = COMPANY = None
BCON = None
TARGET_TASK = TARGET_ACT = None
FT = {}    # filter-workspace tasks by label
FA = {}    # filter-workspace activities by label

TASK_STATUSES = ("open", "completed", "canceled")
PRIORITIES = ("low", "normal", "high", "urgent")
RELATED_TYPES = ("lead", "deal", "contact", "company")
ACT_TYPES = ("note", "call", "email", "meeting", "agent_action")


def setup_module():
    global S, A, B, CRM, TRO, ARO, TF, LEAD, DEAL, CONTACT, COMPANY, BCON, TARGET_TASK, TARGET_ACT
    S = Server(name="tasks")
    A = S.key("tasks-a")
    B = S.key("tasks-b")
    CRM = S.key("tasks-a", "crm:read,crm:write")
    TRO = S.key("tasks-a", "tasks:read,activity:read")
    ARO = S.key("tasks-a", "activity:read,activity:write")
    TF = S.key("tasks-filters")
    S.start()
    LEAD = A.create("/v1/leads", {"name": "Task Lead"})
    DEAL = A.create("/v1/deals", {"name": "Task Deal"})
    CONTACT = A.create("/v1/contacts", {"name": "Task Contact"})
    COMPANY = A.create("/v1/companies", {"name": "Task Company"})
    BCON = B.create("/v1/contacts", {"name": "B Task Contact"})
    TARGET_TASK = A.create("/v1/tasks", {"title": "Target Task", "priority": "high", "due_at": "2030-01-01T00:00:00Z",
                                          "related_resource_type": "contact", "related_resource_id": CONTACT["id"]})
    TARGET_ACT = A.create("/v1/activities", {"type": "note", "summary": "Target activity",
                                              "related_resource_type": "contact", "related_resource_id": CONTACT["id"]})
    for label, due, status, pri in [("past", "2020-01-15T12:00:00Z", "open", "low"),
                                    ("mid", "2025-06-15T12:00:00Z", "completed", "normal"),
                                    ("future", "2035-01-15T12:00:00Z", "open", "urgent"),
                                    ("nodue", None, "canceled", "normal")]:
        body = {"title": "Filter %s" % label, "status": status, "priority": pri, "assignee_id": member(TF, "usr_%s" % label)}
        if due:
            body["due_at"] = due
        FT[label] = TF.create("/v1/tasks", body)
    for label, when, typ, summary, text in [
            ("old", "2019-05-01T08:00:00Z", "call", "Called about pricing", "discussed kumquat discounts"),
            ("mid", "2023-05-01T08:00:00Z", "email", "Sent proposal", "attached the quote"),
            ("new", "2031-05-01T08:00:00Z", "meeting", "Kickoff meeting", "agenda: onboarding")]:
        FA[label] = TF.create("/v1/activities", {"type": typ, "summary": summary, "body": text, "occurred_at": when})


def teardown_module():
    S.stop_ok()


def _t(s):
    """RFC 3339 (Z) with or without fractional seconds -> aware datetime."""
    s = str(s)
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.datetime.strptime(s, fmt).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            pass
    raise AssertionError("not an RFC 3339 UTC time: %r" % s)


def _rel(kind):
    return {"lead": LEAD, "deal": DEAL, "contact": CONTACT, "company": COMPANY}[kind]


# ------------------------------------------------------------ tasks

def test_task_create_full_and_get():
    body = {"title": "Call back", "description": "about the renewal", "status": "open",
            "due_at": "2030-02-03T04:05:06Z", "assignee_id": member(A, "usr_1"), "priority": "urgent",
            "related_resource_type": "deal", "related_resource_id": DEAL["id"]}
    d = expect(A.post("/v1/tasks", body), 201)["data"]
    check_record(d, "task_", "created task", custom_fields=False)
    for k, v in body.items():
        if k == "due_at":
            eq(_t(d.get(k)), _t(v), "created task due_at")
        else:
            eq(d.get(k), v, "created task field %s" % k)
    ok(d.get("completed_at") is None, "completed_at of an open task: %r" % d.get("completed_at"))
    eq(expect(A.get("/v1/tasks/" + d["id"]), 200)["data"], d, "GET after create")


def test_task_defaults():
    d = A.create("/v1/tasks", {"title": "Bare task"})
    eq((d.get("status"), d.get("priority")), ("open", "normal"), "(status, priority) defaults")
    for k in ("due_at", "completed_at", "related_resource_type", "related_resource_id"):
        ok(d.get(k) is None, "%s of a bare task: %r" % (k, d.get(k)))


def test_task_related_to_each_type():
    for kind in RELATED_TYPES:
        d = A.create("/v1/tasks", {"title": "Rel " + kind, "related_resource_type": kind,
                                   "related_resource_id": _rel(kind)["id"]})
        eq((d.get("related_resource_type"), d.get("related_resource_id")), (kind, _rel(kind)["id"]), "related %s" % kind)
        ok(d["id"] in ids(list_all(A, "/v1/tasks", {"related_resource_id": _rel(kind)["id"]})),
           "task not found by ?related_resource_id of its %s" % kind)


def test_task_complete_sets_completed_at_and_reopen_clears():
    t = A.create("/v1/tasks", {"title": "Complete me"})
    c = expect(A.patch("/v1/tasks/" + t["id"], {"status": "completed", "completed_note": "done"}), 200)["data"]
    eq((c.get("status"), c.get("completed_note")), ("completed", "done"), "(status, completed_note)")
    ok(TIME_RE.match(str(c.get("completed_at"))), "completed_at after completing: %r" % c.get("completed_at"))
    ok(c["completed_at"] >= t["created_at"], "completed_at before created_at")
    eq(expect(A.get("/v1/tasks/" + t["id"]), 200)["data"], c, "GET after completing")
    o = expect(A.patch("/v1/tasks/" + t["id"], {"status": "open"}), 200)["data"]
    eq(o.get("status"), "open", "status after reopening")
    ok(o.get("completed_at") is None, "completed_at after reopening: %r" % o.get("completed_at"))
    eq(expect(A.get("/v1/tasks/" + t["id"]), 200)["data"], o, "GET after reopening")


def test_task_created_completed_has_completed_at():
    d = A.create("/v1/tasks", {"title": "Born done", "status": "completed"})
    ok(TIME_RE.match(str(d.get("completed_at"))), "completed_at of a task created completed: %r" % d.get("completed_at"))


def test_task_patch_and_delete():
    t = A.create("/v1/tasks", {"title": "Patch task", "priority": "low"})
    p = expect(A.patch("/v1/tasks/" + t["id"], {"title": "Patched task", "priority": "high"}), 200)["data"]
    eq((p.get("title"), p.get("priority"), p.get("status")), ("Patched task", "high", "open"), "patched task")
    j = expect(A.delete("/v1/tasks/" + t["id"]), 200)
    eq((j["data"].get("id"), j["data"].get("deleted")), (t["id"], True), "DELETE data")
    expect(A.get("/v1/tasks/" + t["id"]), 404, "not_found")
    expect(A.patch("/v1/tasks/" + t["id"], {"title": "ghost"}), 404, "not_found")


INVALID_TASK_CREATE = [
    # label, body, status, code, param, message fragments
    ("missing_title", {"priority": "low"}, 400, "validation_failed", "title", ()),
    ("title_wrong_type", {"title": 1}, 400, "validation_failed", "title", ()),
    ("status_enum", {"title": "x", "status": "done"}, 400, "validation_failed", "status", TASK_STATUSES),
    ("priority_enum", {"title": "x", "priority": "critical"}, 400, "validation_failed", "priority", PRIORITIES),
    ("related_type_enum", {"title": "x", "related_resource_type": "ticket", "related_resource_id": "CONTACT"}, 400,
     "validation_failed", "related_resource_type", RELATED_TYPES),
    ("due_at_bad", {"title": "x", "due_at": "tomorrow"}, 400, "validation_failed", "due_at", ()),
    ("due_at_date_only", {"title": "x", "due_at": "2030-01-01"}, 400, "validation_failed", "due_at", ()),
    ("type_without_id", {"title": "x", "related_resource_type": "contact"}, 400, "validation_failed",
     "related_resource_id", ()),
    ("id_without_type", {"title": "x", "related_resource_id": "CONTACT"}, 400, "validation_failed",
     "related_resource_type", ()),
    ("related_missing", {"title": "x", "related_resource_type": "contact",
                         "related_resource_id": "con_00000000000000000000000000"}, 400, "validation_failed", "related_resource_id", ()),
    ("related_wrong_kind", {"title": "x", "related_resource_type": "deal", "related_resource_id": "CONTACT"}, 400,
     "validation_failed", "related_resource_id", ()),
    ("related_other_workspace", {"title": "x", "related_resource_type": "contact", "related_resource_id": "BCON"}, 400,
     "validation_failed", "related_resource_id", ()),
    ("completed_at_read_only", {"title": "x", "completed_at": "2020-01-01T00:00:00Z"}, 400, "validation_failed",
     "completed_at", ()),
    ("unknown_field", {"title": "x", "foo": 1}, 400, "validation_failed", "foo", ()),
]


def _sub(v):
    m = {"CONTACT": CONTACT["id"], "BCON": BCON["id"]}
    if isinstance(v, str):
        return m.get(v, v)
    if isinstance(v, dict):
        return {k: _sub(x) for k, x in v.items()}
    return v


def _make_invalid_task(label, body, status, code, param, frags):
    def t():
        n = count(A, "/v1/tasks")
        expect(A.post("/v1/tasks", _sub(body)), status, code, param, message_has=frags)
        eq(count(A, "/v1/tasks"), n, "task count after rejected create (%s)" % label)
    return t


for _c in INVALID_TASK_CREATE:
    globals()["test_task_create_invalid_" + _c[0]] = _make_invalid_task(*_c)


INVALID_TASK_PATCH = [
    ("status_enum", {"status": "finished"}, 400, "validation_failed", "status"),
    ("priority_enum", {"priority": "meh"}, 400, "validation_failed", "priority"),
    ("title_null", {"title": None}, 400, "validation_failed", "title"),
    ("due_at_bad", {"due_at": "soon"}, 400, "validation_failed", "due_at"),
    ("related_missing", {"related_resource_type": "lead", "related_resource_id": "lead_00000000000000000000000000"},
     400, "validation_failed", "related_resource_id"),
    ("related_other_workspace", {"related_resource_type": "contact", "related_resource_id": "BCON"}, 400, "validation_failed",
     "related_resource_id"),
    ("unknown_field", {"bar": 2}, 400, "validation_failed", "bar"),
]


def _make_invalid_task_patch(label, body, status, code, param):
    def t():
        path = "/v1/tasks/" + TARGET_TASK["id"]
        before = expect(A.get(path), 200)["data"]
        expect(A.patch(path, _sub(body)), status, code, param)
        eq(expect(A.get(path), 200)["data"], before, "task after rejected PATCH (%s)" % label)
    return t


for _c in INVALID_TASK_PATCH:
    globals()["test_task_patch_invalid_" + _c[0]] = _make_invalid_task_patch(*_c)


TASK_FILTERS = [
    ({"due_before": "2026-01-01T00:00:00Z"}, ["past", "mid"]),
    ({"due_after": "2026-01-01T00:00:00Z"}, ["future"]),
    ({"due_after": "2021-01-01T00:00:00Z", "due_before": "2030-01-01T00:00:00Z"}, ["mid"]),
    ({"due_before": "2000-01-01T00:00:00Z"}, []),
    ({"due_before": "2026-01-01T00:00:00.000Z", "status": "open"}, ["past"]),
    ({"status": "open"}, ["past", "future"]),
    ({"status": "canceled"}, ["nodue"]),
    ({"priority": "normal"}, ["mid", "nodue"]),
    ({"assignee_id": "usr_future"}, ["future"]),
]


def _labels(items, table):
    back = {v["id"]: k for k, v in table.items()}
    return sorted(back.get(i, i) for i in ids(items))


def _make_task_filter(params, want):
    def t():
        p = {k: (member(TF, v) if k == "assignee_id" else v) for k, v in params.items()}
        eq(_labels(list_all(TF, "/v1/tasks", p), FT), sorted(want), "GET /v1/tasks?%s" % params)
    return t


for _i, (_p, _w) in enumerate(TASK_FILTERS):
    globals()["test_task_filter_%02d_%s" % (_i, "_".join(_p))] = _make_task_filter(_p, _w)


BAD_TASK_PARAMS = [
    ({"due_before": "yesterday"}, "due_before"),
    ({"due_after": "2024-13-45T00:00:00Z"}, "due_after"),
    ({"due_after": "12345"}, "due_after"),
    ({"status": "done"}, "status"),
    ({"priority": "critical"}, "priority"),
    ({"related_resource_type": "ticket"}, "related_resource_type"),
    ({"title": "x"}, "title"),
]


def _make_bad_task_param(params, param):
    def t():
        expect(TF.get("/v1/tasks", params=params), 400, "validation_failed", param)
    return t


for _i, (_p, _n) in enumerate(BAD_TASK_PARAMS):
    globals()["test_task_bad_param_%02d_%s" % (_i, _n)] = _make_bad_task_param(_p, _n)


# ------------------------------------------------------------ activities

def test_activity_create_full_and_get():
    body = {"type": "meeting", "summary": "Quarterly review", "body": "went well",
            "occurred_at": "2024-02-03T10:20:30Z", "related_resource_type": "company",
            "related_resource_id": COMPANY["id"], "actor": "usr_77"}
    d = expect(A.post("/v1/activities", body), 201)["data"]
    check_record(d, "act_", "created activity", custom_fields=False)
    for k, v in body.items():
        if k == "occurred_at":
            eq(_t(d.get(k)), _t(v), "created activity occurred_at")
        else:
            eq(d.get(k), v, "created activity field %s" % k)
    eq(expect(A.get("/v1/activities/" + d["id"]), 200)["data"], d, "GET after create")


def test_activity_defaults():
    t0 = time.time()
    d = A.create("/v1/activities", {"type": "note", "summary": "Default time"})
    t1 = time.time()
    ok(TIME_RE.match(str(d.get("occurred_at"))), "default occurred_at %r is not RFC 3339 UTC with ms" % d.get("occurred_at"))
    at = _t(d["occurred_at"]).timestamp()
    ok(t0 - 5 <= at <= t1 + 5, "default occurred_at %s is not now" % d["occurred_at"])
    if A.id:
        eq(d.get("actor"), A.id, "default actor (the key id)")
    else:
        ok(isinstance(d.get("actor"), str) and d["actor"], "default actor: %r" % d.get("actor"))


def test_activity_related_to_each_type():
    for kind in RELATED_TYPES:
        d = A.create("/v1/activities", {"type": "call", "summary": "Rel " + kind, "related_resource_type": kind,
                                        "related_resource_id": _rel(kind)["id"]})
        ok(d["id"] in ids(list_all(A, "/v1/activities", {"related_resource_type": kind,
                                                          "related_resource_id": _rel(kind)["id"]})),
           "activity not found by its %s" % kind)


def test_activity_patch_and_delete():
    a = A.create("/v1/activities", {"type": "call", "summary": "Patch activity"})
    p = expect(A.patch("/v1/activities/" + a["id"], {"summary": "Patched activity", "type": "email"}), 200)["data"]
    eq((p.get("summary"), p.get("type"), p.get("occurred_at")), ("Patched activity", "email", a["occurred_at"]),
       "patched activity (summary, type, occurred_at kept)")
    eq(expect(A.get("/v1/activities/" + a["id"]), 200)["data"], p, "GET after PATCH")
    j = expect(A.delete("/v1/activities/" + a["id"]), 200)
    eq((j["data"].get("id"), j["data"].get("deleted")), (a["id"], True), "DELETE data")
    expect(A.get("/v1/activities/" + a["id"]), 404, "not_found")


INVALID_ACT_CREATE = [
    ("missing_type", {"summary": "x"}, 400, "validation_failed", "type", ()),
    ("missing_summary", {"type": "note"}, 400, "validation_failed", "summary", ()),
    ("type_enum", {"type": "sms", "summary": "x"}, 400, "validation_failed", "type", ACT_TYPES),
    ("occurred_at_bad", {"type": "note", "summary": "x", "occurred_at": "last week"}, 400, "validation_failed",
     "occurred_at", ()),
    ("type_without_id", {"type": "note", "summary": "x", "related_resource_type": "lead"}, 400, "validation_failed",
     "related_resource_id", ()),
    ("id_without_type", {"type": "note", "summary": "x", "related_resource_id": "CONTACT"}, 400, "validation_failed",
     "related_resource_type", ()),
    ("related_missing", {"type": "note", "summary": "x", "related_resource_type": "company",
                         "related_resource_id": "com_00000000000000000000000000"}, 400, "validation_failed",
     "related_resource_id", ()),
    ("related_other_workspace", {"type": "note", "summary": "x", "related_resource_type": "contact",
                                 "related_resource_id": "BCON"}, 400, "validation_failed", "related_resource_id", ()),
    ("unknown_field", {"type": "note", "summary": "x", "foo": 1}, 400, "validation_failed", "foo", ()),
]


def _make_invalid_act(label, body, status, code, param, frags):
    def t():
        n = count(A, "/v1/activities")
        expect(A.post("/v1/activities", _sub(body)), status, code, param, message_has=frags)
        eq(count(A, "/v1/activities"), n, "activity count after rejected create (%s)" % label)
    return t


for _c in INVALID_ACT_CREATE:
    globals()["test_activity_create_invalid_" + _c[0]] = _make_invalid_act(*_c)


def test_activity_patch_invalid_changes_nothing():
    path = "/v1/activities/" + TARGET_ACT["id"]
    before = expect(A.get(path), 200)["data"]
    expect(A.patch(path, {"type": "fax"}), 400, "validation_failed", "type", message_has=ACT_TYPES)
    expect(A.patch(path, {"summary": None}), 400, "validation_failed", "summary")
    expect(A.patch(path, {"occurred_at": "nope"}), 400, "validation_failed", "occurred_at")
    eq(expect(A.get(path), 200)["data"], before, "activity after rejected PATCHes")


ACT_LISTS = [
    ({"query": "kumquat"}, ["old"]),            # body
    ({"query": "proposal"}, ["mid"]),           # summary
    ({"query": "Kickoff"}, ["new"]),
    ({"query": "nosuchwordanywhere"}, []),
    ({"occurred_before": "2024-01-01T00:00:00Z"}, ["old", "mid"]),
    ({"occurred_after": "2024-01-01T00:00:00Z"}, ["new"]),
    ({"occurred_after": "2020-01-01T00:00:00Z", "occurred_before": "2030-01-01T00:00:00Z"}, ["mid"]),
    ({"type": "call"}, ["old"]),
    ({"type": "email", "occurred_before": "2024-01-01T00:00:00Z"}, ["mid"]),
]


def _make_act_list(params, want):
    def t():
        eq(_labels(list_all(TF, "/v1/activities", params), FA), sorted(want), "GET /v1/activities?%s" % params)
    return t


for _i, (_p, _w) in enumerate(ACT_LISTS):
    globals()["test_activity_list_%02d_%s" % (_i, "_".join(_p))] = _make_act_list(_p, _w)


BAD_ACT_PARAMS = [
    ({"occurred_before": "soon"}, "occurred_before"),
    ({"occurred_after": "2024-13-01T00:00:00Z"}, "occurred_after"),
    ({"type": "sms"}, "type"),
    ({"due_before": "2024-01-01T00:00:00Z"}, "due_before"),
]


def _make_bad_act_param(params, param):
    def t():
        expect(TF.get("/v1/activities", params=params), 400, "validation_failed", param)
    return t


for _i, (_p, _n) in enumerate(BAD_ACT_PARAMS):
    globals()["test_activity_bad_param_%02d_%s" % (_i, _n)] = _make_bad_act_param(_p, _n)


# ------------------------------------------------------------ scopes

SCOPE_CASES = [
    # label, client, method, path (TASK/ACT substituted), body, scope named in the message
    ("crm_key_list_tasks", "CRM", "GET", "/v1/tasks", None, "tasks:read"),
    ("crm_key_get_task", "CRM", "GET", "/v1/tasks/TASK", None, "tasks:read"),
    ("crm_key_create_task", "CRM", "POST", "/v1/tasks", {"title": "Nope"}, "tasks:write"),
    ("crm_key_patch_task", "CRM", "PATCH", "/v1/tasks/TASK", {"title": "Nope"}, "tasks:write"),
    ("crm_key_delete_task", "CRM", "DELETE", "/v1/tasks/TASK", None, "tasks:write"),
    ("crm_key_list_activities", "CRM", "GET", "/v1/activities", None, "activity:read"),
    ("crm_key_create_activity", "CRM", "POST", "/v1/activities", {"type": "note", "summary": "Nope"}, "activity:write"),
    ("crm_key_delete_activity", "CRM", "DELETE", "/v1/activities/ACT", None, "activity:write"),
    ("read_key_create_task", "TRO", "POST", "/v1/tasks", {"title": "Nope"}, "tasks:write"),
    ("read_key_patch_task", "TRO", "PATCH", "/v1/tasks/TASK", {"status": "completed"}, "tasks:write"),
    ("read_key_create_activity", "TRO", "POST", "/v1/activities", {"type": "note", "summary": "Nope"}, "activity:write"),
    ("activity_key_list_tasks", "ARO", "GET", "/v1/tasks", None, "tasks:read"),
    ("activity_key_list_contacts", "ARO", "GET", "/v1/contacts", None, "crm:read"),
]


def _make_scope(label, who, method, path, body, scope):
    def t():
        c = {"CRM": CRM, "TRO": TRO, "ARO": ARO}[who]
        nt, na = count(A, "/v1/tasks"), count(A, "/v1/activities")
        task_before = expect(A.get("/v1/tasks/" + TARGET_TASK["id"]), 200)["data"]
        p = path.replace("TASK", TARGET_TASK["id"]).replace("ACT", TARGET_ACT["id"])
        expect(c.request(method, p, body=body), 403, "forbidden", message_has=(scope,))
        eq((count(A, "/v1/tasks"), count(A, "/v1/activities")), (nt, na), "(tasks, activities) after 403 (%s)" % label)
        eq(expect(A.get("/v1/tasks/" + TARGET_TASK["id"]), 200)["data"], task_before, "task after 403 (%s)" % label)
        expect(A.get("/v1/activities/" + TARGET_ACT["id"]), 200)
    return t


for _c in SCOPE_CASES:
    globals()["test_403_" + _c[0]] = _make_scope(*_c)


def test_scoped_keys_do_what_they_may():
    expect(TRO.get("/v1/tasks"), 200)
    expect(TRO.get("/v1/activities/" + TARGET_ACT["id"]), 200)
    a = ARO.create("/v1/activities", {"type": "note", "summary": "By activity key"})
    if ARO.id:
        eq(a.get("actor"), ARO.id, "default actor is the creating key")
    expect(CRM.get("/v1/contacts"), 200)


# ------------------------------------------------------------ isolation

def test_other_workspace_tasks_and_activities_are_404():
    bt = B.create("/v1/tasks", {"title": "B task"})
    ba = B.create("/v1/activities", {"type": "note", "summary": "B activity"})
    for path in ("/v1/tasks/" + bt["id"], "/v1/activities/" + ba["id"]):
        expect(A.get(path), 404, "not_found")
        expect(A.patch(path, {"title": "x"} if "tasks" in path else {"summary": "x"}), 404, "not_found")
        expect(A.delete(path), 404, "not_found")
    eq(expect(B.get("/v1/tasks/" + bt["id"]), 200)["data"], bt, "B's task after A's attempts")
    eq(expect(B.get("/v1/activities/" + ba["id"]), 200)["data"], ba, "B's activity after A's attempts")
    ok(bt["id"] not in ids(list_all(A, "/v1/tasks")), "B's task listed for A")
