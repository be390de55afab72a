"""Imports (issue 13): POST /v1/imports takes a CSV (data, or a text/csv
body with the other fields in the query string) or JSON rows of contacts,
companies or leads into a named folder. Each row is created, updated (its
key matched a stored record: contacts' and leads' email, companies'
domain, case-insensitively), a duplicate (an earlier row's key, or a match
with on_duplicate=skip) or invalid, on its own; the import and each row's
outcome (/v1/imports/{id}/rows) are read-only records. A file refused as
a whole (not text, not CSV, a column naming nothing writable, too many
rows) is a 400 and writes nothing; a dry run answers the counts and
stores nothing. The folder's contacts are what bulk-add-contacts and the
deduplication analysis take as import_folder."""

import json

from harness import Server, count, eq, expect, ids, list_all, ok, uniq

S = A = B = RO = NOREAD = None


def setup_module():
    global S, A, B, RO, NOREAD
    S = Server(name="imports")
    A = S.key("imports-a")
    B = S.key("imports-b")
    RO = S.key("imports-a", "crm:read")
    NOREAD = S.key("imports-a", "support:read,support:write")
    S.start()


def teardown_module():
    S.stop_ok()


def ws(label="imp"):
    """A key of a fresh workspace: counts start from nothing."""
    return S.key(uniq(label))


def imp(client, body, status=201, **kw):
    return expect(client.post("/v1/imports", body, **kw), status)["data"]


def csv_import(client, object_type, folder, data, status=201, **kw):
    return imp(client, {"object_type": object_type, "folder": folder, "data": data}, status, **kw)


def rows_of(client, import_id, **params):
    return list_all(client, "/v1/imports/%s/rows" % import_id, params=params)


def outcomes(client, import_id):
    return [(r["row"], r["outcome"]) for r in rows_of(client, import_id)]


def counts(d):
    c = d["counts"]
    return c["created"], c["updated"], c["duplicate"], c["invalid"]


def by_email(client, path="/v1/contacts"):
    return {(x.get("email") or "").lower(): x for x in list_all(client, path)}


def refused(client, body, param, status=400, code="validation_failed", message_has=(), **kw):
    """A refused import writes nothing: no import, no record of any kind."""
    before = [count(client, p) for p in ("/v1/imports", "/v1/contacts", "/v1/companies", "/v1/leads")]
    r = expect(client.post("/v1/imports", body, **kw), status, code, param=param, message_has=message_has)
    after = [count(client, p) for p in ("/v1/imports", "/v1/contacts", "/v1/companies", "/v1/leads")]
    eq(after, before, "a refused import (%s) writes nothing" % r["error"]["message"])
    return r["error"]


# ------------------------------------------------------------- happy paths

def test_csv_contacts_quoted_cells_and_custom_fields():
    w = ws()
    data = ('email,First Name,last-name,title,custom_fields.tier\r\n'
            'ada@csv.test,Ada,Lovelace,"Countess, mathematician",gold\r\n'
            '"bob@csv.test","Bob ""the builder""",Smith,"two\nlines",\r\n'
            '\r\n'
            'cy@csv.test,  Cy  ,,,silver')
    d = csv_import(w, "contacts", "Spring 2031", data)
    ok(d["id"].startswith("imp_"), "import id prefix: %s" % d["id"])
    eq((d["object"], d["object_type"], d["folder"], d["format"], d["on_duplicate"], d["status"], d["row_count"]),
       ("import", "contacts", "Spring 2031", "csv", "update", "completed", 3), "the import")
    eq(counts(d), (3, 0, 0, 0), "every row created")
    eq(d["issues"], [], "no issues")
    got = by_email(w)
    eq(set(got), {"ada@csv.test", "bob@csv.test", "cy@csv.test"}, "the contacts")
    a, b, c = got["ada@csv.test"], got["bob@csv.test"], got["cy@csv.test"]
    eq((a["name"], a["title"], a["custom_fields"]), ("Ada Lovelace", "Countess, mathematician", {"tier": "gold"}),
       "quoted comma; header case and dashes; custom field")
    eq((b["first_name"], b["title"], b["custom_fields"]), ('Bob "the builder"', "two\nlines", {}),
       "doubled quotes, a line break in a cell, an empty custom cell is absent")
    eq((c["first_name"], c["last_name"], c["title"]), ("Cy", None, None), "spaces around a cell go; empty is absent")
    # Each row's outcome, in the file's order, with the line it starts on.
    rows = rows_of(w, d["id"])
    eq([(r["row"], r["line"], r["outcome"], r["record_type"], r["record_id"]) for r in rows],
       [(1, 2, "created", "contact", a["id"]), (2, 3, "created", "contact", b["id"]),
        (3, 6, "created", "contact", c["id"])], "rows: a quoted line break and a blank line count as lines")
    ok(all(r["object"] == "import_row" and r["id"].startswith("impr_") and r["import_id"] == d["id"] for r in rows),
       "row records")
    one = expect(w.get("/v1/imports/%s/rows/%s" % (d["id"], rows[1]["id"])), 200)["data"]
    eq(one, rows[1], "GET one row")
    eq(expect(w.get("/v1/imports/" + d["id"]), 200)["data"], d, "GET the import answers what POST did")
    # The engine's own create: search and the timeline know them.
    eq(ids(expect(w.get("/v1/contacts", params={"query": "lovelace"}), 200)["data"]), [a["id"]], "search finds it")
    tl = expect(w.get("/v1/contacts/%s/timeline" % a["id"]), 200)["data"]
    eq([e["type"] for e in tl], ["contact.created"], "its event")


def test_json_rows_typed_nulls_absent_custom_fields():
    w = ws()
    d = imp(w, {"object_type": "companies", "folder": "json", "rows": [
        {"name": "Acme", "domain": "acme.test", "employee_count": 12, "annual_revenue_cents": 500000,
         "currency": "EUR", "custom_fields.tier": "gold", "city": None},
        {"name": "Beta", "domain": None, "employee_count": "many"},
        {"name": "Gamma", "custom_fields.score": 7}]})
    eq((d["format"], d["row_count"], counts(d)), ("json", 3, (2, 0, 0, 1)), "json import")
    got = {x["name"]: x for x in list_all(w, "/v1/companies")}
    eq((got["Acme"]["employee_count"], got["Acme"]["currency"], got["Acme"]["custom_fields"], got["Acme"]["city"]),
       (12, "EUR", {"tier": "gold"}, None), "typed values, custom_fields.<key>, null absent")
    eq(got["Gamma"]["custom_fields"], {"score": 7}, "a custom field keeps its JSON type")
    eq([(i["row"], i["line"], i["outcome"], i["field"]) for i in d["issues"]],
       [(2, None, "invalid", "employee_count")], "a JSON row's wrong type is that row's issue")
    ok("integer" in d["issues"][0]["message"], "the engine's message: %s" % d["issues"][0]["message"])
    eq(set(got), {"Acme", "Gamma"}, "the invalid row wrote nothing")


def test_created_updated_duplicate_invalid():
    w = ws()
    old = w.create("/v1/contacts", {"first_name": "Old", "last_name": "Timer", "email": "old@dup.test",
                                    "title": "CEO", "city": "Paris", "custom_fields": {"keep": "yes"}})
    data = ("email,first_name,title,custom_fields.tier\n"
            "new@dup.test,New,CTO,\n"
            "OLD@dup.test,,Chair,gold\n"        # matches old: only title and tier change
            "new@DUP.test,,Intern,\n"           # repeats row 1's key
            "not-an-email,X,X,\n"               # refused by the engine
            "old@dup.test,,Again,\n"            # repeats row 2's key (an update)
            ",Nobody,Nobody,\n")                # no email: no key, a plain create
    d = csv_import(w, "contacts", "dups", data)
    eq(counts(d), (2, 1, 2, 1), "created, updated, duplicate, invalid")
    eq(d["row_count"], 6, "row_count")
    eq(sum(counts(d)), d["row_count"], "the counts add up")
    got = expect(w.get("/v1/contacts/" + old["id"]), 200)["data"]
    eq((got["email"], got["title"], got["city"], got["name"], got["custom_fields"]),
       ("OLD@dup.test", "Chair", "Paris", "Old Timer", {"keep": "yes", "tier": "gold"}),
       "the update changed only the fields the row gives")
    tl = expect(w.get("/v1/contacts/%s/timeline" % old["id"]), 200)["data"]
    eq(tl[0]["type"], "contact.updated", "the update is an event")
    eq(tl[0]["changes"]["title"], {"from": "CEO", "to": "Chair"}, "with its changes")
    new = by_email(w)["new@dup.test"]
    eq(new["title"], "CTO", "the duplicate row changed nothing")
    eq(outcomes(w, d["id"]), [(1, "created"), (2, "updated"), (3, "duplicate"), (4, "invalid"), (5, "duplicate"),
                              (6, "created")], "each row's outcome")
    eq([(i["row"], i["outcome"], i["record_id"], i["field"]) for i in d["issues"]],
       [(3, "duplicate", new["id"], None), (4, "invalid", None, "email"), (5, "duplicate", old["id"], None)],
       "issues: duplicates name what they repeat, invalid rows their field")
    eq(d["issues"][0]["message"], "row 1 has the same email", "what a duplicate repeats")
    bad = rows_of(w, d["id"], outcome="invalid")
    eq([(r["row"], r["line"], r["field"], r["record_id"]) for r in bad], [(4, 5, "email", None)],
       "?outcome=invalid lists the refused row")
    ok("email" in bad[0]["message"], "the engine's message: %s" % bad[0]["message"])
    eq([r["row"] for r in rows_of(w, d["id"], record_id=old["id"])], [2, 5], "?record_id= finds a record's rows")
    eq(count(w, "/v1/contacts"), 3, "old, new and the one without email")


def test_on_duplicate_skip_leaves_stored_records():
    w = ws()
    old = w.create("/v1/contacts", {"name": "Kept", "email": "kept@skip.test", "title": "Boss"})
    d = imp(w, {"object_type": "contacts", "folder": "skip", "on_duplicate": "skip",
                "data": "email,title\nKEPT@skip.test,Changed\nfresh@skip.test,New\n"})
    eq((d["on_duplicate"], counts(d)), ("skip", (1, 0, 1, 0)), "skip: a duplicate, not an update")
    eq(expect(w.get("/v1/contacts/" + old["id"]), 200)["data"]["title"], "Boss", "the stored record is unchanged")
    eq((d["issues"][0]["record_id"], d["issues"][0]["message"]),
       (old["id"], "contact %s has the same email" % old["id"]), "the duplicate names the stored record")


def test_companies_by_domain_and_leads_by_email():
    w = ws()
    co = w.create("/v1/companies", {"name": "Acme", "domain": "acme.test", "industry": "tools"})
    d = csv_import(w, "companies", "accounts", "Name,Domain,Employee Count\nAcme Corp,ACME.test,50\n"
                                              "Beta,beta.test,7\nBeta again,Beta.Test,8\nNo domain,,\n")
    eq(counts(d), (2, 1, 1, 0), "companies deduplicated by domain, case-insensitively")
    got = expect(w.get("/v1/companies/" + co["id"]), 200)["data"]
    eq((got["name"], got["employee_count"], got["industry"], got["domain"]), ("Acme Corp", 50, "tools", "ACME.test"),
       "the stored company updated as the row says, its other fields kept")
    eq(count(w, "/v1/companies"), 3, "Acme, Beta, No domain")
    lead = w.create("/v1/leads", {"name": "Lee", "email": "lee@lead.test", "source": "website"})
    d = csv_import(w, "leads", "leads", "email,name,value_cents,source\nLEE@lead.test,Lee Updated,1000,\n"
                                        "new@lead.test,New Lead,250,import\nbad@lead.test,Bad,,nowhere\n")
    eq(counts(d), (1, 1, 0, 1), "leads deduplicated by email")
    got = expect(w.get("/v1/leads/" + lead["id"]), 200)["data"]
    eq((got["name"], got["value_cents"], got["source"]), ("Lee Updated", 1000, "website"), "the lead updated")
    eq([(i["row"], i["field"]) for i in d["issues"]], [(3, "source")], "an enum value not allowed")
    eq(rows_of(w, d["id"])[0]["record_type"], "lead", "rows name leads")


def test_dry_run_stores_nothing():
    w = ws()
    w.create("/v1/contacts", {"name": "There", "email": "there@dry.test"})
    before = {p: list_all(w, p) for p in ("/v1/imports", "/v1/contacts", "/v1/audit-log")}
    body = {"object_type": "contacts", "folder": "dry", "data": "email,name\nthere@dry.test,Renamed\n"
                                                                "new@dry.test,New\nbad,Bad\nnew@dry.test,Twice\n"}
    d = expect(w.post("/v1/imports", body, params={"dry_run": "true"}), 200)["data"]
    eq((d["status"], d["row_count"], counts(d)), ("dry_run", 4, (1, 1, 1, 1)), "the preview's counts")
    eq([(i["row"], i["outcome"]) for i in d["issues"]], [(3, "invalid"), (4, "duplicate")], "the preview's issues")
    for p in ("/v1/imports", "/v1/contacts"):
        eq(list_all(w, p), before[p], "%s after a dry run" % p)
    expect(w.get("/v1/imports/" + d["id"]), 404, "not_found")
    eq(expect(w.get("/v1/contacts", params={"email": "there@dry.test"}), 200)["data"][0]["name"], "There",
       "the match was not updated")
    # The same file for real: the counts the preview gave.
    real = csv_import(w, "contacts", "dry", body["data"])
    eq((real["status"], counts(real)), ("completed", counts(d)), "the real import does what the preview said")


# ---------------------------------------------------------------- refusals

def test_unknown_read_only_and_repeated_columns():
    w = ws()
    for data, msg in [
            ("email,favourite_colour\na@x.test,red\n", "column 2 ('favourite_colour') names no field of contacts"),
            ("email,id\na@x.test,con_1\n", "column 2 ('id'): id is read-only"),
            ("email,created_at\na@x.test,x\n", "created_at is read-only"),
            ("email,custom_fields\na@x.test,x\n", "custom_fields.<key>"),
            ("email,custom_fields.bad key!\na@x.test,x\n", "custom field's key"),
            ("email,Email\na@x.test,b@x.test\n", "column 2 ('Email') repeats column 1"),
            ("email,,name\na@x.test,,A\n", "column 2 of the header has no name")]:
        e = refused(w, {"object_type": "contacts", "folder": "f", "data": data}, "data")
        ok(msg in e["message"], "%r: %s" % (data, e["message"]))
    e = refused(w, {"object_type": "contacts", "folder": "f", "rows": [{"email": "a@x.test"}, {"colour": "red"}]},
                "rows[1].colour")
    ok("no field 'colour'" in e["message"], e["message"])
    refused(w, {"object_type": "contacts", "folder": "f", "rows": [{"email": "a@x.test", "id": "con_x"}]},
            "rows[0].id", message_has=["read-only"])
    refused(w, {"object_type": "contacts", "folder": "f", "rows": [{"custom_fields": {"a": 1}}]},
            "rows[0].custom_fields")
    refused(w, {"object_type": "contacts", "folder": "f", "rows": ["email"]}, "rows[0]")


def test_missing_required_header():
    w = ws()
    e = refused(w, {"object_type": "companies", "folder": "f", "data": "domain,city\nacme.test,Paris\n"}, "data")
    ok("no name column" in e["message"], e["message"])
    e = refused(w, {"object_type": "contacts", "folder": "f", "data": "title,city\nCTO,Paris\n"}, "data")
    ok("one of name, first_name, last_name, email" in e["message"], e["message"])
    e = refused(w, {"object_type": "leads", "folder": "f", "data": "phone\n123\n"}, "data")
    ok("one of name, email" in e["message"], e["message"])
    # A column present but a row's cell empty: that row alone is refused.
    d = csv_import(w, "companies", "f", "name,domain\n,nameless.test\nNamed,named.test\n")
    eq((counts(d), d["issues"][0]["field"]), ((1, 0, 0, 1), "name"), "an empty required cell")


def test_wrong_types_and_int64_overflow_in_cells():
    w = ws()
    data = ("name,employee_count,annual_revenue_cents\n"
            "Ok,10,100\n"
            "Words,ten,\n"
            "Huge,99999999999999999999,\n"
            "Negative huge,-99999999999999999999,\n"
            "Too rich,,10000000000000001\n"
            "Fraction,1.5,\n"
            "Max,9223372036854775807,\n"
            "Cells,1,2,3\n")
    d = csv_import(w, "companies", "types", data)
    eq(counts(d), (2, 0, 0, 6), "two rows fit their types")
    got = {(i["row"], i["field"]): i["message"] for i in d["issues"]}
    eq(sorted(got), [(2, "employee_count"), (3, "employee_count"), (4, "employee_count"),
                     (5, "annual_revenue_cents"), (6, "employee_count"), (8, None)], "each refusal names its field")
    eq(got[(2, "employee_count")], "employee_count must be an integer", "not a number")
    eq(got[(3, "employee_count")], "employee_count is out of the 64-bit integer range", "past INT64_MAX")
    eq(got[(4, "employee_count")], "employee_count is out of the 64-bit integer range", "past INT64_MIN")
    ok("between" in got[(5, "annual_revenue_cents")], "money bounds: %s" % got[(5, "annual_revenue_cents")])
    eq(got[(8, None)], "the row has 4 cells, the header 3", "too many cells")
    # Read past the contract proxy: JavaScript (Prism) has no integer that large.
    eq(expect(w.get("/v1/companies", params={"name": "Max"}, direct=True), 200)["data"][0]["employee_count"],
       9223372036854775807, "INT64_MAX itself fits")


def test_control_bytes_and_invalid_utf8():
    w = ws()
    e = refused(w, {"object_type": "contacts", "folder": "f", "data": "email,name\na@x.test,A\x01B\n"}, "data")
    eq(e["message"], "data: line 2 holds the control byte 0x01", "a control byte, by line")
    refused(w, {"object_type": "contacts", "folder": "f", "data": "email,name\r\na@x.test,A\r\nb@x.test,\x7f\n"},
            "data", message_has=["line 3", "0x7F"])
    # Raw bytes can only come as text/csv: not UTF-8, or a NUL, is refused before the engine.
    for raw, frag in [(b"email,name\na@x.test,Caf\xe9\n", "line 2 of the text/csv body is not valid UTF-8"),
                      (b"email,name\n\xed\xa0\x80,x\n", "not valid UTF-8"),
                      (b"email,name\na@x.test,A\x00B\n", "holds a NUL byte")]:
        r = expect(w.request("POST", "/v1/imports", raw=raw, ctype="text/csv",
                             params={"object_type": "contacts", "folder": "f"}), 400, "validation_failed",
                   param="data")
        ok(frag in r["error"]["message"], "%r: %s" % (raw, r["error"]["message"]))
    eq(count(w, "/v1/contacts"), 0, "nothing written")


def test_bad_csv_structure_names_the_line():
    w = ws()
    for data, frag in [("email,name\n\"a@x.test,A\n", "line 2: a quoted cell opened on this line is never closed"),
                       ("email,name\na@x.test,5'10\"\n", "line 2: a quote inside an unquoted cell"),
                       ("email,name\n\"a@x.test\"x,A\n", "line 2: text follows a closing quote"),
                       ("", "the file is empty"),
                       ("\n\n", "the file is empty"),
                       ("email,name\n", "a header but no rows"),
                       ("email,name\n , \n", "a header but no rows")]:
        refused(w, {"object_type": "contacts", "folder": "f", "data": data}, "data", message_has=[frag])


def test_body_shape_refusals():
    w = ws()
    base = {"object_type": "contacts", "folder": "f"}
    for body, param, frag in [
            (dict(base), "data", "data (CSV text) or rows (JSON objects) is required"),
            (dict(base, data="email\na@x.test\n", rows=[{"email": "a@x.test"}]), "rows", "not both"),
            (dict(base, format="json", data="email\na@x.test\n"), "format", "format json takes rows"),
            (dict(base, format="csv", rows=[{"email": "a@x.test"}]), "format", "format csv takes data"),
            (dict(base, rows=[]), "rows", "rows is empty"),
            ({"folder": "f", "data": "email\na@x.test\n"}, "object_type", "required"),
            (dict(base, object_type="deals", data="name\nx\n"), "object_type", "one of"),
            ({"object_type": "contacts", "data": "email\na@x.test\n"}, "folder", "required"),
            (dict(base, folder="f" * 201, data="email\na@x.test\n"), "folder", "at most 200"),
            (dict(base, folder="", data="email\na@x.test\n"), "folder", "empty"),
            (dict(base, folder="   ", data="email\na@x.test\n"), "folder", "blank"),
            (dict(base, on_duplicate="merge", data="email\na@x.test\n"), "on_duplicate", "one of"),
            (dict(base, data=5), "data", "string"),
            (dict(base, rows={"email": "a@x.test"}), "rows", "array"),
            (dict(base, data="email\na@x.test\n", extra=1), "extra", "unknown field")]:
        refused(w, body, param, message_has=[frag])
    ok(csv_import(w, "contacts", "f" * 200, "email\nlong@x.test\n")["folder"] == "f" * 200, "200 characters fit")


def test_row_limit_and_body_limit():
    w = ws()
    data = "email\n" + "".join("r%d@limit.test\n" % i for i in range(10001))
    e = refused(w, {"object_type": "contacts", "folder": "big", "data": data}, "data")
    ok("more than 10000 rows" in e["message"] and "line 10002" in e["message"], e["message"])
    refused(w, {"object_type": "contacts", "folder": "big", "rows": [{"email": "r@x.test"}] * 10001}, "rows",
            message_has=["at most 10000"])
    huge = "email,notes\n" + "a@x.test," + "x" * (1 << 20) + "\n"
    expect(w.request("POST", "/v1/imports", raw=huge, ctype="text/csv",
                     params={"object_type": "contacts", "folder": "big"}), 413, "payload_too_large")
    # Exactly at the limit: every row imported.
    data = "email,first_name\n" + "".join("r%d@limit.test,R%d\n" % (i, i) for i in range(10000))
    d = csv_import(w, "contacts", "big", data)
    eq((d["row_count"], counts(d)), (10000, (10000, 0, 0, 0)), "10,000 rows")
    eq(count(w, "/v1/contacts"), 10000, "10,000 contacts")
    last = rows_of(w, d["id"])[-1]
    eq((last["row"], last["line"], last["outcome"]), (10000, 10001, "created"), "the last row's outcome")


# ------------------------------------------------------------- text/csv

def test_text_csv_body():
    w = ws()
    q = {"object_type": "contacts", "folder": "raw", "on_duplicate": "skip"}
    r = expect(w.request("POST", "/v1/imports", raw="email,name\nraw@csv.test,Raw\n", ctype="text/csv; charset=utf-8",
                         params=q), 201)["data"]
    eq((r["format"], r["folder"], r["on_duplicate"], counts(r)), ("csv", "raw", "skip", (1, 0, 0, 0)),
       "the query string gives the other fields")
    r = expect(w.request("POST", "/v1/imports", raw="email,name\nraw@csv.test,Again\n", ctype="text/csv",
                         params=dict(q, dry_run="true")), 200)["data"]
    eq((r["status"], counts(r)), ("dry_run", (0, 0, 1, 0)), "a dry run of a text/csv body")
    expect(w.request("POST", "/v1/imports", raw="email\nx@csv.test\n", ctype="text/csv", params={"folder": "raw"}),
           400, "validation_failed", param="object_type")
    expect(w.request("POST", "/v1/imports", raw="email\nx@csv.test\n", ctype="text/csv",
                     params=dict(q, bogus="1")), 400, "validation_failed", param="bogus")
    expect(w.request("POST", "/v1/imports", raw="email\nx@csv.test\n", ctype="text/csv; charset=latin-1",
                     params=q), 415, "unsupported_media_type")
    expect(w.request("POST", "/v1/imports", raw="email\nx@csv.test\n", ctype="text/plain", params=q),
           415, "unsupported_media_type")
    # The query's fields are the text/csv form's only: with JSON they are unknown.
    expect(w.post("/v1/imports", {"object_type": "contacts", "folder": "raw", "data": "email\nx@csv.test\n"},
                  params={"folder": "other"}), 400, "validation_failed", param="folder")
    # Only imports take text/csv.
    expect(w.request("POST", "/v1/contacts", raw="email\nx@csv.test\n", ctype="text/csv"), 415,
           "unsupported_media_type")
    eq(count(w, "/v1/contacts"), 1, "only the first import wrote a contact")


# ------------------------------------------------ routes, scopes, tenants

def test_lists_filters_and_no_update_or_delete():
    w = ws()
    a = csv_import(w, "contacts", "Alpha", "email\na@l.test\n")
    b = csv_import(w, "companies", "Beta", "name\nB\n")
    c = imp(w, {"object_type": "contacts", "folder": "alpha", "rows": [{"email": "c@l.test"}]})
    eq(ids(list_all(w, "/v1/imports")), [c["id"], b["id"], a["id"]], "newest first")
    eq(ids(list_all(w, "/v1/imports", {"folder": "ALPHA"})), [c["id"], a["id"]], "folder, case-insensitively")
    eq(ids(list_all(w, "/v1/imports", {"object_type": "companies"})), [b["id"]], "object_type")
    eq(ids(list_all(w, "/v1/imports", {"format": "json"})), [c["id"]], "format")
    eq(ids(list_all(w, "/v1/imports", {"status": "completed"})), [c["id"], b["id"], a["id"]], "status")
    eq(ids(list_all(w, "/v1/imports", {"sort": "folder"})), [a["id"], c["id"], b["id"]], "sort=folder")
    expect(w.get("/v1/imports", params={"object_type": "deals"}), 400, "validation_failed", param="object_type")
    expect(w.patch("/v1/imports/" + a["id"], {"folder": "x"}), 405)
    expect(w.delete("/v1/imports/" + a["id"]), 405)
    expect(w.post("/v1/imports/%s/rows" % a["id"], {"row": 1}), 405)
    expect(w.get("/v1/imports/imp_01J0000000000000000000000"), 404, "not_found")


def test_scopes():
    d = csv_import(A, "contacts", "scoped", "email\nscoped@s.test\n")
    eq(expect(RO.get("/v1/imports/" + d["id"]), 200)["data"]["id"], d["id"], "crm:read reads imports")
    ok(len(rows_of(RO, d["id"])) == 1, "and their rows")
    before = count(A, "/v1/contacts")
    r = expect(RO.post("/v1/imports", {"object_type": "contacts", "folder": "f", "data": "email\nro@s.test\n"}),
               403, "forbidden")
    ok("crm:write" in r["error"]["message"], r["error"]["message"])
    expect(RO.request("POST", "/v1/imports", raw="email\nro@s.test\n", ctype="text/csv",
                      params={"object_type": "contacts", "folder": "f"}), 403, "forbidden")
    for path in ("/v1/imports", "/v1/imports/" + d["id"], "/v1/imports/%s/rows" % d["id"]):
        r = expect(NOREAD.get(path), 403, "forbidden")
        ok("crm:read" in r["error"]["message"], r["error"]["message"])
    eq(count(A, "/v1/contacts"), before, "refused imports wrote nothing")


def test_another_workspace_sees_nothing():
    d = csv_import(A, "contacts", "mine", "email\nmine@t.test\n")
    row = rows_of(A, d["id"])[0]
    for path in ("/v1/imports/" + d["id"], "/v1/imports/%s/rows" % d["id"],
                 "/v1/imports/%s/rows/%s" % (d["id"], row["id"])):
        expect(B.get(path), 404, "not_found")
    ok(d["id"] not in ids(list_all(B, "/v1/imports")), "B's list")
    # B's import of the same key is B's own: A's contact is not matched.
    theirs = csv_import(B, "contacts", "mine", "email,title\nmine@t.test,B's\n")
    eq(counts(theirs), (1, 0, 0, 0), "created in B, not an update of A's")
    ok(expect(A.get("/v1/contacts/" + row["record_id"]), 200)["data"]["title"] is None, "A's contact untouched")
    # A row naming another workspace's record is refused like POST refuses it.
    bco = B.create("/v1/companies", {"name": "B Co"})
    d = csv_import(A, "contacts", "mine", "email,company_id\nref@t.test,%s\n" % bco["id"])
    eq((counts(d), d["issues"][0]["field"]), ((0, 0, 0, 1), "company_id"), "another workspace's company")


def test_idempotency_key_replays_the_first_import():
    w = ws()
    body = {"object_type": "contacts", "folder": "idem", "data": "email\none@idem.test\ntwo@idem.test\n"}
    first = w.post("/v1/imports", body, headers={"Idempotency-Key": "import-1"})
    eq(first.status, 201, "first")
    again = w.post("/v1/imports", body, headers={"Idempotency-Key": "import-1"})
    eq((again.status, again.json["data"]), (201, first.json["data"]), "replayed")
    eq(again.headers.get("idempotent-replayed"), "true", "marked as a replay")
    eq((count(w, "/v1/imports"), count(w, "/v1/contacts")), (1, 2), "imported once")
    expect(w.post("/v1/imports", dict(body, folder="other"), headers={"Idempotency-Key": "import-1"}), 409,
           "idempotency_key_reused")
    raw = {"raw": "email\nthree@idem.test\n", "ctype": "text/csv",
           "params": {"object_type": "contacts", "folder": "idem"}, "headers": {"Idempotency-Key": "import-2"}}
    a = w.request("POST", "/v1/imports", **raw)
    b = w.request("POST", "/v1/imports", **raw)
    eq((a.status, b.status, a.json["data"]), (201, 201, b.json["data"]), "a text/csv import replays too")
    eq((count(w, "/v1/imports"), count(w, "/v1/contacts")), (2, 3), "each imported once")


def test_deleted_and_merged_records_leave_their_rows():
    w = ws()
    d = csv_import(w, "contacts", "gone", "email\ngone@g.test\nkept@g.test\nloser@g.test\n")
    rows = rows_of(w, d["id"])
    expect(w.delete("/v1/contacts/" + rows[0]["record_id"]), 200)
    expect(w.post("/v1/contacts/%s/merge" % rows[1]["record_id"], {"from_ids": [rows[2]["record_id"]]}), 200)
    after = rows_of(w, d["id"])
    eq([(r["outcome"], r["record_type"], r["record_id"]) for r in after],
       [("created", None, None), ("created", "contact", rows[1]["record_id"]),
        ("created", "contact", rows[1]["record_id"])], "a deleted record is cleared, a merged one followed")


# ------------------------------------------------------ folders in outbound

def test_bulk_add_by_import_folder():
    w = ws()
    stored = w.create("/v1/contacts", {"name": "Stored", "email": "stored@f.test"})
    other = w.create("/v1/contacts", {"name": "Not imported", "email": "other@f.test"})
    d = csv_import(w, "contacts", "Fair 2031", "email,name\nstored@f.test,Stored again\nnew@f.test,New\n"
                                               "new@f.test,Dup\nbad,Bad\n")
    eq(counts(d), (1, 1, 1, 1), "the import")
    csv_import(w, "companies", "Fair 2031", "name\nA company, not a contact\n")
    skipped = imp(w, {"object_type": "contacts", "folder": "fair 2031", "on_duplicate": "skip",
                      "rows": [{"email": "other@f.test", "name": "Skipped"}]})
    eq(counts(skipped), (0, 0, 1, 0), "a skipped row touches nothing")
    new = by_email(w)["new@f.test"]
    camp = w.create("/v1/outbound/campaigns", {"name": "Call the fair"})
    path = "/v1/outbound/campaigns/%s/bulk-add-contacts" % camp["id"]
    dry = expect(w.post(path, {"import_folder": "FAIR 2031"}, params={"dry_run": "true"}), 200)["data"]
    eq((dry["matched"], dry["added"], dry["dry_run"]), (2, 2, True), "a dry run counts them")
    eq(count(w, "/v1/outbound/campaigns/%s/contacts" % camp["id"]), 0, "and adds nothing")
    got = expect(w.post(path, {"import_folder": "fair 2031"}), 200)["data"]
    eq((got["matched"], got["added"], got["skipped"]), (2, 2, 0), "created and updated contacts, case-insensitively")
    cc = list_all(w, "/v1/outbound/campaigns/%s/contacts" % camp["id"])
    eq(sorted(x["contact_id"] for x in cc), sorted([stored["id"], new["id"]]), "not the skipped nor other contacts")
    ok(other["id"] not in [x["contact_id"] for x in cc], "a duplicate-skipped contact is not the folder's")
    eq({(x["source"], x["import_folder"]) for x in cc}, {("import", "fair 2031")}, "source import, the folder")
    again = expect(w.post(path, {"import_folder": "fair 2031"}), 200)["data"]
    eq((again["matched"], again["added"], again["skipped"]), (2, 0, 2), "again: already in")
    # Tagged campaign contacts of another campaign still count as the folder's.
    camp2 = w.create("/v1/outbound/campaigns", {"name": "Second"})
    got = expect(w.post("/v1/outbound/campaigns/%s/bulk-add-contacts" % camp2["id"],
                        {"import_folder": "fair 2031"}), 200)["data"]
    eq((got["matched"], got["added"]), (2, 2), "the same two, once each")
    eq(expect(w.post(path, {"import_folder": "no such folder"}), 200)["data"]["matched"], 0, "an unknown folder")
    # Another workspace's folder of the same name is its own.
    bcamp = B.create("/v1/outbound/campaigns", {"name": "B"})
    eq(expect(B.post("/v1/outbound/campaigns/%s/bulk-add-contacts" % bcamp["id"], {"import_folder": "Fair 2031"}),
              200)["data"]["matched"], 0, "B has no such contacts")


def test_dedup_analysis_reads_the_folder():
    w = ws()
    w.create("/v1/contacts", {"name": "Twin one", "email": "twin@dd.test"})
    w.create("/v1/contacts", {"name": "Twin two", "email": "TWIN@dd.test"})
    d = csv_import(w, "contacts", "May", "email,name\ntwin@dd.test,Twin updated\nsolo@dd.test,Solo\n"
                                         "solo@dd.test,Again\n,No email\nbad,Bad\n")
    eq(counts(d), (2, 1, 1, 1), "the import")
    imp(w, {"object_type": "contacts", "folder": "may", "rows": [{"email": "late@dd.test"}]})
    csv_import(w, "companies", "May", "name\nNot counted\n")
    a = expect(w.post("/v1/outbound/import-deduplication", {"import_folder": "MAY"}), 200)["data"]
    eq((a["imports"], a["import_rows"]), (2, {"created": 3, "updated": 1, "duplicate": 1, "invalid": 1}),
       "the folder's contact imports and their rows")
    eq((a["rows"], a["contacts"], a["without_email"], a["duplicate_email"], a["unique_email"]), (0, 4, 1, 1, 2),
       "its contacts: one shares its email with a contact outside the import")
    twin = expect(w.get("/v1/contacts/" + rows_of(w, d["id"])[0]["record_id"]), 200)["data"]
    eq(twin["name"], "Twin updated", "the twin the import matched")
    eq(a["examples"], [{"contact_id": twin["id"], "email": twin["email"], "others": 1}], "the duplicate")
    none = expect(w.post("/v1/outbound/import-deduplication", {"import_folder": "June"}), 200)["data"]
    eq((none["imports"], none["import_rows"], none["contacts"]),
       (0, {"created": 0, "updated": 0, "duplicate": 0, "invalid": 0}, 0), "an unknown folder")


# ---------------------------------------------------------------- tools

def test_agent_tools_come_from_the_table():
    w = ws()
    r = S.request("POST", "/mcp", body={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
                  token=w.token, params={"toolsets": "crm"}, direct=True)
    tools = {t["name"]: t for t in json.loads(r.body)["result"]["tools"]}
    for name in ("create_import", "list_imports", "get_import", "list_import_rows", "get_import_row"):
        ok(name in tools, "tool %s in the crm set" % name)
    ok("update_import" not in tools and "delete_import" not in tools, "no update or delete tool")
    props = tools["create_import"]["inputSchema"]["properties"]
    eq(sorted(props), sorted(["object_type", "folder", "format", "data", "rows", "on_duplicate", "dryRun"]),
       "create_import's input")
    eq(tools["create_import"]["annotations"]["readOnlyHint"], False, "it writes")

    def call(args):
        r = S.request("POST", "/mcp", body={"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                            "params": {"name": "create_import", "arguments": args}},
                      token=w.token, params={"toolsets": "crm"}, direct=True)
        return json.loads(r.body)["result"]

    res = call({"object_type": "leads", "folder": "agent", "rows": [{"email": "a@agent.test"}], "dryRun": True})
    ok(not res["isError"], "dry run: %s" % res)
    eq((res["structuredContent"]["status"], counts(res["structuredContent"])), ("dry_run", (1, 0, 0, 0)), "preview")
    eq(count(w, "/v1/leads"), 0, "the tool's dry run stored nothing")
    res = call({"object_type": "leads", "folder": "agent", "data": "email\na@agent.test\n"})
    eq((res["isError"], counts(res["structuredContent"])), (False, (1, 0, 0, 0)), "imported by the tool")
    res = call({"object_type": "leads", "folder": "agent", "data": "email,colour\na@agent.test,red\n"})
    ok(res["isError"] and "colour" in res["content"][0]["text"], "a refused file is a correctable error: %s" % res)
