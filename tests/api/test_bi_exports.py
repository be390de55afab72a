"""BI exports (issue 15; /v1/bi/exports, exp_): a dataset's, report's or
query's rows written in the background to the blob store as CSV or JSON.

Covers: 201 queued, then succeeded with a signed download_url (15
minutes) whose bytes are the rows: CSV per RFC 4180 (header row, CRLF,
quotes doubled, cells with commas, quotes or line breaks quoted) and
formula-safe (a cell starting with = + - @ TAB or CR gets a leading '),
JSON {columns, rows}; every row, past the 10,000 a query answers (no
limit unless the query sets one); a mock dataset; failed with `error`
for a query past its timeout_ms; the refusals at create (none or two of
dataset_id/report_id/query, an undeclared field, a source the key cannot
read), each a 4xx naming the field; GET/PATCH (metadata only)/DELETE
(archives: listed under status=archived, download gone); another
workspace's export is 404 and its link is refused; a scheduled artifact
due now makes exactly one export and moves last_run_at/next_run_at (two
nodes on one PostgreSQL: still one); exports past their keep time are
archived and their file removed."""

import csv
import io
import json
import os
import random
import string
import time
import urllib.parse

from harness import SCALE, Server, backend, eq, expect, id_re, list_all, ok, skip, tmpdir

S = A = B = BI = None
EXP = "/v1/bi/exports"
WAIT = 60 * SCALE
ENV = {"CAIRN_BI_SCHEDULE_DUE_NOW": "1"}
TRICKY = ["=SUM(A1:A9)", "+33 1 23", "-2", "@cmd", "\tTabbed", "\rReturn",
          'Quote "q", comma', "line\nbreak", "plain"]


def setup_module():
    global S, A, B, BI
    S = Server(name="bi-exports", env=ENV)
    A = S.key("exp-a")
    B = S.key("exp-b")
    BI = S.key("exp-a", "bi:read,bi:write")
    S.start()
    ops = [{"action": "create", "data": {"name": n, "country": "FR"}} for n in TRICKY]
    expect(A.post("/v1/contacts/batch", {"operations": ops}), 200)
    B.create("/v1/contacts", {"name": "B only", "country": "DE"})


def teardown_module():
    S.stop_ok()


def until(fn, what, timeout=None):
    deadline = time.time() + (timeout or WAIT)
    while True:
        done, v = fn()
        if done:
            return v
        if time.time() > deadline:
            raise AssertionError("%s: not within %.0fs; last: %s" % (what, timeout or WAIT, v))
        time.sleep(0.1)


def finished(client, eid):
    def probe():
        d = expect(client.get(EXP + "/" + eid), 200)["data"]
        return d["status"] in ("succeeded", "failed"), d
    return until(probe, "export %s finished" % eid)


def path_of(url):
    u = urllib.parse.urlsplit(url)
    return u.path + "?" + u.query


def download(d, ctype):
    url = d["download_url"]
    ok(url and "/v1/bi/exports/%s/content?" % d["id"] in url, "download_url: %s" % url)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    ok(800 <= int(q["expires"][0]) - time.time() <= 1000, "download_url lives 15 minutes")
    r = S.request("GET", path_of(url), direct=True)
    eq(r.status, 200, "download status")
    eq(r.headers.get("content-type"), ctype, "download content-type")
    ext = "csv" if ctype == "text/csv" else "json"
    eq(r.headers.get("content-disposition"), 'attachment; filename="%s.%s"' % (d["id"], ext),
       "disposition")
    eq(len(r.body), d["byte_size"], "byte_size is the file's")
    return r.body


def export(body, client=None):
    j = expect((client or A).post(EXP, body), 201)["data"]
    ok(id_re("exp_").match(j["id"]), "exp_ id: %s" % j["id"])
    eq(j["status"], "queued", "201 queued")
    eq(j.get("download_url"), None, "no download yet")
    return finished(client or A, j["id"])


def test_csv_export_of_a_query_is_formula_safe_and_quoted():
    d = export({"query": {"source": "contacts", "fields": ["name", "country"],
                          "sort": ["name"]}, "format": "csv", "name": "tricky"})
    eq(d["status"], "succeeded", "succeeded: %s" % d.get("error"))
    eq(d["row_count"], len(TRICKY), "row_count")
    ok(d["started_at"] and d["completed_at"] and d["expires_at"], "times set")
    body = download(d, "text/csv")
    text = body.decode()
    ok(text.startswith("name,country\r\n"), "header row and CRLF: %r" % text[:40])
    ok('"Quote ""q"", comma"' in text, "quotes doubled inside a quoted cell: %r" % text)
    ok('"line\nbreak"' in text, "a line break is quoted")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    eq(rows[0], ["name", "country"], "header")
    names = sorted(r[0] for r in rows[1:])
    want = sorted(("'" + n) if n[0] in "=+-@\t\r" else n for n in TRICKY)
    eq(names, want, "each cell, formulas behind a quote")
    ok(all(r[1] == "FR" for r in rows[1:]), "country column")


def test_json_export_of_a_dataset_and_report():
    ds = A.create("/v1/bi/datasets", {"name": "All", "kind": "table", "source": "contacts"})
    d = export({"dataset_id": ds["id"], "format": "json"})
    eq(d["status"], "succeeded", "dataset export: %s" % d.get("error"))
    j = json.loads(download(d, "application/json"))
    cols = [c["name"] for c in j["columns"]]
    ok("id" in cols and "name" in cols, "columns: %s" % cols)
    names = sorted(r[cols.index("name")] for r in j["rows"])
    eq(names, sorted(TRICKY), "every contact of A's, as written (JSON needs no guard)")
    rep = A.create("/v1/bi/reports", {"name": "By country", "dataset_id": ds["id"],
                                      "query": {"group_by": ["country"],
                                                "aggregates": [{"fn": "count"}]}})
    d = export({"report_id": rep["id"]})
    eq((d["status"], d["format"]), ("succeeded", "csv"), "report export, csv by default")
    eq(download(d, "text/csv").decode(), "country,count\r\nFR,%d\r\n" % len(TRICKY), "report rows")
    mock = A.create("/v1/bi/datasets", {"name": "Mock", "kind": "mock",
                                        "rows": [{"k": "=1", "n": 2}, {"k": "b", "n": 3}]})
    d = export({"dataset_id": mock["id"]})
    eq(download(d, "text/csv").decode(), "k,n\r\n'=1,2\r\nb,3\r\n", "mock rows")


def test_every_row_past_the_query_limit():
    c = S.key("exp-many")
    for k in range(101):
        ops = [{"action": "create", "data": {"name": "M%05d" % (k * 100 + i)}} for i in range(100)]
        expect(c.post("/v1/contacts/batch", {"operations": ops}), 200)
    d = export({"query": {"source": "contacts", "fields": ["name"]}}, client=c)
    eq(d["row_count"], 10100, "past 10,000 rows: %s" % d.get("error"))
    lines = download(d, "text/csv").decode().split("\r\n")
    eq(len(lines), 10102, "header, rows and the final CRLF")
    d = export({"query": {"source": "contacts", "fields": ["name"], "limit": 5}}, client=c)
    eq(d["row_count"], 5, "the query's own limit applies")


def test_refusals_name_the_field():
    expect(A.post(EXP, {"format": "csv"}), 400, code="validation_failed", param="dataset_id")
    ds = A.create("/v1/bi/datasets", {"name": "x", "kind": "table", "source": "contacts"})
    expect(A.post(EXP, {"dataset_id": ds["id"], "query": {"source": "contacts"}}), 400,
           param="query")
    expect(A.post(EXP, {"query": {"source": "contacts", "fields": ["nope"]}}), 400,
           param="query.fields[0]")
    expect(A.post(EXP, {"query": {"source": "contacts"}, "format": "xml"}), 400, param="format")
    expect(BI.post(EXP, {"query": {"source": "contacts"}}), 403, message_has=("crm:read",))
    expect(A.post(EXP, {"dataset_id": "ds_nope"}), 404)
    eq(list_all(A, EXP, {"status": "queued"}) + list_all(A, EXP, {"status": "failed"}), [],
       "nothing stored")


def test_failed_export_past_its_timeout():
    c = S.key("exp-slow")
    rnd = random.Random(15)
    for _ in range(20):
        items = []
        for _ in range(90):
            notes = "".join(rnd.choice(string.ascii_lowercase + " ") for _ in range(9000))
            items.append({"action": "create", "data": {"name": "Bulk", "notes": notes}})
        expect(c.post("/v1/contacts/batch", {"operations": items}), 200)
    d = export({"query": {"source": "contacts", "filters": [
        {"field": "notes", "op": "contains", "value": "0123456789"}],
        "group_by": ["name"], "timeout_ms": 1}}, client=c)
    eq(d["status"], "failed", "failed")
    ok("timeout_ms" in (d["error"] or ""), "error says why: %s" % d["error"])
    eq(d.get("download_url"), None, "nothing to download")


def test_get_patch_delete_and_isolation():
    d = export({"query": {"source": "contacts", "fields": ["name"]}})
    p = expect(A.patch(EXP + "/" + d["id"], {"name": "renamed", "description": "x"}), 200)["data"]
    eq((p["name"], p["status"]), ("renamed", "succeeded"), "PATCH changes metadata only")
    expect(A.patch(EXP + "/" + d["id"], {"format": "json"}), 400, param="format")
    expect(A.patch(EXP + "/" + d["id"], {"status": "queued"}), 400, param="status")
    # Another workspace: 404, and its signed link does not serve B's id.
    expect(B.get(EXP + "/" + d["id"]), 404)
    expect(B.delete(EXP + "/" + d["id"]), 404)
    url = A.get(EXP + "/" + d["id"]).data["download_url"]
    forged = path_of(url).replace("workspace_id=" + A.workspace_id, "workspace_id=" + B.workspace_id)
    eq(S.request("GET", forged, direct=True).status, 403, "the link is for A's workspace")
    eq(S.request("GET", path_of(url).replace("/exports/", "/exports/x"), direct=True).status, 403,
       "the link is for this export only")
    g = expect(A.delete(EXP + "/" + d["id"]), 200)["data"]
    eq(g["status"], "archived", "DELETE archives")
    ok(d["id"] in [x["id"] for x in list_all(A, EXP, {"status": "archived"})],
       "listed under status=archived")
    eq(A.get(EXP + "/" + d["id"]).data["download_url"], None, "no download once archived")
    eq(S.request("GET", path_of(url), direct=True).status, 404, "the old link serves nothing")


def schedule_once(server_b=None):
    c = S.key("exp-sched-%d" % random.randrange(1 << 30))
    c.create("/v1/contacts", {"name": "Scheduled"})
    ds = c.create("/v1/bi/datasets", {"name": "s", "kind": "table", "source": "contacts"})
    # Due now (CAIRN_BI_SCHEDULE_DUE_NOW), then once a year.
    sc = c.create("/v1/bi/scheduled-artifacts", {"name": "Yearly", "dataset_id": ds["id"],
                                                 "schedule": "0 0 1 1 *", "format": "json"})

    def probe():
        got = list_all(c, EXP, {"scheduled_artifact_id": sc["id"]})
        return len(got) >= 1 and all(g["status"] == "succeeded" for g in got), got
    got = until(probe, "the schedule's export")
    s2 = c.get("/v1/bi/scheduled-artifacts/" + sc["id"]).data
    ok(s2["last_run_at"], "last_run_at set")
    ok(s2["next_run_at"] > s2["last_run_at"], "next_run_at advanced: %s" % s2)
    ok(s2["next_run_at"][5:10] == "01-01", "to the next 1 January: %s" % s2["next_run_at"])
    # Timers keep running on every node: still exactly one export.
    time.sleep(3)
    got = list_all(c, EXP, {"scheduled_artifact_id": sc["id"]})
    eq(len(got), 1, "exactly one export: %s" % got)
    eq(got[0]["name"], "Yearly", "named after its schedule")
    j = json.loads(download(c.get(EXP + "/" + got[0]["id"]).data, "application/json"))
    eq([r for r in j["rows"] if "Scheduled" in r], j["rows"], "its rows")
    return c


def test_schedule_due_now_makes_one_export():
    schedule_once()


def test_two_nodes_make_one_export_postgres():
    if backend() != "postgres":
        skip("needs PostgreSQL (two nodes on one database; run under scripts/with-postgres.sh)")
    N2 = Server(name="bi-exports-node2", db=S.db, env=ENV)
    N2.start()
    try:
        schedule_once()
    finally:
        N2.stop_ok()


def test_exports_past_their_days_are_archived_with_their_file():
    data = os.path.join(tmpdir("keep"), "blobs")
    R = Server(name="bi-exports-keep", extra_args=["--data-dir", data],
               env={"CAIRN_BI_EXPORT_KEEP_MS": "1"})
    R.start()
    try:
        c = R.key("keep")
        c.create("/v1/contacts", {"name": "Kept a moment"})
        j = expect(c.post(EXP, {"query": {"source": "contacts"}}), 201)["data"]

        def probe():
            got = list_all(c, EXP, {"status": "archived"})
            return len(got) == 1, got
        got = until(probe, "archived after its keep time")
        eq(got[0]["id"], j["id"], "that export")
        ok(got[0]["completed_at"], "it had finished first")
        eq(c.get(EXP + "/" + j["id"]).data["download_url"], None, "no download")
        files = [f for _, _, fs in os.walk(os.path.join(data, "blobs")) for f in fs]
        eq(files, [], "its file removed")
    finally:
        R.stop_ok()
