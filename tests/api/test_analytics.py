"""Analytics governance (/v1/analytics/properties, /v1/analytics/events,
POST /v1/analytics/events/validate; analytics:read/analytics:write, module
analytics_governance): properties with a unique key and a type, event
definitions (evt_) listing registered keys only (400 naming
properties[i]), validate reporting missing, mistyped and unexpected
properties with 004's shape (request_id in data equal to the envelope's)
and storing nothing, an unknown event name 404, filters, PATCH and
DELETE, scopes, and other workspaces."""

from harness import Server, check_record, count, eq, expect, list_all, ok

S = A = B = RO = NOSCOPE = None
PROPS = "/v1/analytics/properties"
EVENTS = "/v1/analytics/events"
VALIDATE = "/v1/analytics/events/validate"
TYPES = {"s_str": "string", "s_int": "integer", "s_num": "number", "s_bool": "boolean",
         "s_when": "datetime", "s_obj": "object", "s_arr": "array"}


def setup_module():
    global S, A, B, RO, NOSCOPE
    S = Server(name="analytics")
    A = S.key("an-a")
    B = S.key("an-b")
    RO = S.key("an-a", "analytics:read")
    NOSCOPE = S.key("an-a", "crm:read")
    S.start()
    for k, t in TYPES.items():
        A.create(PROPS, {"key": k, "type": t})
    A.create(PROPS, {"key": "workspace_id", "type": "string", "required": True,
                     "description": "Workspace identifier associated with the event."})
    A.create(EVENTS, {"name": "typed_event", "owner": "data",
                      "properties": ["workspace_id"] + list(TYPES)})


def teardown_module():
    S.stop_ok()


def validate(body, client=None):
    return (client or A).post(VALIDATE, body)


# ------------------------------------------------------------ properties

def test_property_create_get_patch_delete():
    p = A.create(PROPS, {"key": "source", "type": "string", "description": "Where it came from"})
    check_record(p, "prop_", "property", custom_fields=False)
    eq((p["key"], p["type"], p["required"]), ("source", "string", False), "defaults")
    eq(expect(A.get("%s/%s" % (PROPS, p["id"])), 200)["data"], p, "GET by id")
    q = expect(A.patch("%s/%s" % (PROPS, p["id"]), {"required": True, "type": "integer"}), 200)["data"]
    eq((q["required"], q["type"]), (True, "integer"), "PATCH")
    expect(A.patch("%s/%s" % (PROPS, p["id"]), {"key": "other"}), 400, "validation_failed", param="key")
    expect(A.delete("%s/%s" % (PROPS, p["id"])), 200)
    expect(A.get("%s/%s" % (PROPS, p["id"])), 404, "not_found")


def test_property_refusals():
    before = count(A, PROPS)
    for body, param in [
        ({"type": "string"}, "key"),
        ({"key": "k1"}, "type"),
        ({"key": "k1", "type": "date"}, "type"),
        ({"key": "has space", "type": "string"}, "key"),
        ({"key": "9lives", "type": "string"}, "key"),
        ({"key": "", "type": "string"}, "key"),
        ({"key": "k1", "type": "string", "required": "yes"}, "required"),
        ({"key": "k1", "type": "string", "extra": 1}, "extra"),
    ]:
        expect(A.post(PROPS, body), 400, "validation_failed", param=param)
    expect(A.post(PROPS, {"key": "workspace_id", "type": "string"}), 409, "conflict")
    eq(count(A, PROPS), before, "nothing stored")


def test_property_listed_by_an_event_cannot_be_deleted():
    p = A.create(PROPS, {"key": "plan", "type": "string"})
    e = A.create(EVENTS, {"name": "plan_chosen", "properties": ["plan"]})
    expect(A.delete("%s/%s" % (PROPS, p["id"])), 409, "conflict", message_has=["plan_chosen"])
    expect(A.patch("%s/%s" % (EVENTS, e["id"]), {"properties": []}), 200)
    expect(A.delete("%s/%s" % (PROPS, p["id"])), 200)


def test_property_filters():
    ids = {x["key"] for x in list_all(A, PROPS, {"type": "integer"})}
    ok("s_int" in ids and "s_str" not in ids, "type filter: %s" % ids)
    ids = {x["key"] for x in list_all(A, PROPS, {"required": "true"})}
    ok("workspace_id" in ids and "s_int" not in ids, "required filter: %s" % ids)
    ids = {x["key"] for x in list_all(A, PROPS, {"query": "identifier"})}
    eq(ids, {"workspace_id"}, "query searches descriptions")


# ------------------------------------------------------------ event definitions

def test_event_create_as_004():
    A.create(PROPS, {"key": "tenant_id", "type": "string"})
    e = A.create(EVENTS, {"name": "first_contact_created",
                          "description": "A workspace created its first CRM contact.",
                          "owner": "growth", "properties": ["tenant_id", "workspace_id"]})
    check_record(e, "evt_", "event definition", custom_fields=False)
    eq((e["name"], e["owner"], e["properties"]),
       ("first_contact_created", "growth", ["tenant_id", "workspace_id"]), "fields")
    eq(expect(A.get("%s/%s" % (EVENTS, e["id"])), 200)["data"], e, "GET by id")
    found = list_all(A, EVENTS, {"owner": "growth"})
    eq([x["id"] for x in found], [e["id"]], "owner filter")
    found = list_all(A, EVENTS, {"query": "first"})
    ok(e["id"] in [x["id"] for x in found], "query finds the name")
    expect(A.post(EVENTS, {"name": "first_contact_created"}), 409, "conflict")


def test_event_properties_must_be_registered():
    before = count(A, EVENTS)
    for props, param in [
        (["workspace_id", "nope"], "properties[1]"),
        (["nope"], "properties[0]"),
        (["s_int", "s_str", "s_int"], "properties[2]"),
        ([1], "properties[0]"),
        ("workspace_id", "properties"),
    ]:
        expect(A.post(EVENTS, {"name": "bad_event", "properties": props}), 400, "validation_failed",
               param=param)
    for body, param in [({"owner": "x"}, "name"), ({"name": " padded"}, "name"),
                        ({"name": "ok", "bogus": True}, "bogus")]:
        expect(A.post(EVENTS, body), 400, "validation_failed", param=param)
    eq(count(A, EVENTS), before, "nothing stored")
    e = A.create(EVENTS, {"name": "patched_event", "properties": ["s_str"]})
    expect(A.patch("%s/%s" % (EVENTS, e["id"]), {"properties": ["s_str", "ghost"]}), 400,
           "validation_failed", param="properties[1]")
    eq(expect(A.get("%s/%s" % (EVENTS, e["id"])), 200)["data"]["properties"], ["s_str"], "unchanged")
    expect(A.delete("%s/%s" % (EVENTS, e["id"])), 200)


# ------------------------------------------------------------ validate

def test_validate_valid_payload_as_004():
    r = validate({"name": "typed_event", "properties": {
        "workspace_id": "wrk_123", "s_str": "x", "s_int": 3, "s_num": 2.5, "s_bool": False,
        "s_when": "2026-01-02T03:04:05Z", "s_obj": {"a": [1]}, "s_arr": [1, "two"]}})
    j = expect(r, 200)
    eq(j["data"], {"valid": True, "errors": [], "request_id": j["request_id"]}, "004's shape")
    eq(r.headers.get("x-request-id"), j["request_id"], "header and body agree")
    # Optional properties may be absent or null.
    eq(expect(validate({"name": "typed_event", "properties": {"workspace_id": "w", "s_int": None}}),
              200)["data"]["valid"], True, "optional ones absent")


def test_validate_reports_every_problem():
    j = expect(validate({"name": "typed_event", "properties": {
        "s_str": 1, "s_int": 1.5, "s_num": "2", "s_bool": "true", "s_when": "yesterday",
        "s_obj": [], "s_arr": {}, "stray": 1}}), 200)
    d = j["data"]
    eq(d["valid"], False, "invalid")
    eq(d["request_id"], j["request_id"], "request_id in data")
    got = [(e["param"], e["code"]) for e in d["errors"]]
    want = [("properties.workspace_id", "missing_property")] + [
        ("properties." + k, "invalid_type") for k in TYPES] + [("properties.stray", "unexpected_property")]
    eq(got, want, "errors in order")
    ok(all(e["message"] for e in d["errors"]), "each error has a message")
    # Integers: 3.0 is an integer, 3.5 is not; numbers take both.
    d = expect(validate({"name": "typed_event", "properties": {"workspace_id": "w", "s_int": 3.0,
                                                               "s_num": 7}}), 200)["data"]
    eq(d["valid"], True, "3.0 is an integer")
    d = expect(validate({"name": "typed_event"}), 200)["data"]
    eq([(e["param"], e["code"]) for e in d["errors"]],
       [("properties.workspace_id", "missing_property")], "no properties at all")


def test_validate_sees_each_change_at_once():
    """Validate keeps definitions a moment per thread; a change made on this
    server is seen by the next validate, never an old copy."""
    p = A.create(PROPS, {"key": "fresh_prop", "type": "string"})
    e = A.create(EVENTS, {"name": "fresh_event", "properties": ["fresh_prop"]})
    body = {"name": "fresh_event", "properties": {"fresh_prop": "text"}}
    for _ in range(4):  # kept by each worker thread
        eq(expect(validate(body), 200)["data"]["valid"], True, "valid as defined")
    expect(A.patch("%s/%s" % (PROPS, p["id"]), {"type": "integer", "required": True}), 200)
    for _ in range(4):
        d = expect(validate(body), 200)["data"]
        eq([(x["param"], x["code"]) for x in d["errors"]],
           [("properties.fresh_prop", "invalid_type")], "the property's new type")
        d = expect(validate({"name": "fresh_event"}), 200)["data"]
        eq([x["code"] for x in d["errors"]], ["missing_property"], "now required")
    expect(A.patch("%s/%s" % (EVENTS, e["id"]), {"properties": []}), 200)
    for _ in range(4):
        d = expect(validate(body), 200)["data"]
        eq([x["code"] for x in d["errors"]], ["unexpected_property"], "no longer listed")
    expect(A.delete("%s/%s" % (EVENTS, e["id"])), 200)
    for _ in range(4):
        expect(validate(body), 404, "not_found", param="name")
    A.create(EVENTS, {"name": "fresh_event", "properties": ["fresh_prop"]})
    for _ in range(4):
        eq(expect(validate({"name": "fresh_event", "properties": {"fresh_prop": 5}}), 200)
           ["data"]["valid"], True, "defined again")


def test_validate_refusals_and_stores_nothing():
    props, events = count(A, PROPS), count(A, EVENTS)
    expect(validate({"name": "never_defined", "properties": {}}), 404, "not_found", param="name")
    expect(validate({"properties": {}}), 400, "validation_failed", param="name")
    expect(validate({"name": 5}), 400, "validation_failed", param="name")
    expect(validate({"name": "typed_event", "properties": [1]}), 400, "validation_failed",
           param="properties")
    expect(validate({"name": "typed_event", "extra": 1}), 400, "validation_failed", param="extra")
    expect(B.post(VALIDATE, {"name": "typed_event", "properties": {}}), 404, "not_found",
           param="name")
    eq((count(A, PROPS), count(A, EVENTS)), (props, events), "validate stores nothing")


def test_scopes_and_workspaces():
    eq(expect(validate({"name": "typed_event", "properties": {"workspace_id": "w"}}, RO), 200)
       ["data"]["valid"], True, "analytics:read validates")
    expect(RO.post(PROPS, {"key": "ro_key", "type": "string"}), 403, "forbidden")
    expect(RO.post(EVENTS, {"name": "ro_event"}), 403, "forbidden")
    expect(NOSCOPE.post(VALIDATE, {"name": "typed_event"}), 403, "forbidden")
    expect(NOSCOPE.get(PROPS), 403, "forbidden")
    e = list_all(A, EVENTS, {"name": "typed_event"})[0]
    expect(B.get("%s/%s" % (EVENTS, e["id"])), 404, "not_found")
    expect(B.patch("%s/%s" % (EVENTS, e["id"]), {"owner": "b"}), 404, "not_found")
    expect(B.delete("%s/%s" % (EVENTS, e["id"])), 404, "not_found")
    # B's own registry is separate: the same key is free there.
    B.create(PROPS, {"key": "workspace_id", "type": "integer"})
    expect(B.post(EVENTS, {"name": "b_event", "properties": ["s_str"]}), 400, "validation_failed",
           param="properties[0]")
