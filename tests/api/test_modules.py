"""Workspace modules as data: every module is on in a new workspace;
PATCH /v1/workspace (scope workspace:admin) and `cairn workspace modules`
switch them; a route of a switched-off module answers 403 module_disabled
naming the module, in that workspace only."""

import time

from harness import Server, cli, eq, expect, ok

S = A = B = None
MODULES = ["crm", "tasks", "activity_log", "support", "cms", "assets", "integrations",
           "analytics_governance", "billing", "accounting", "knowledge", "marketing", "bi",
           "outbound", "calendar"]


def setup_module():
    global S, A, B
    S = Server(name="modules")
    A = S.key("modules-a")
    B = S.key("modules-b")
    S.start()


def teardown_module():
    S.stop_ok()


def _set(client, modules, **kw):
    return client.patch("/v1/workspace", {"enabled_modules": modules}, **kw)


def test_a_new_workspace_has_every_module():
    d = expect(A.get("/v1/workspace"), 200)["data"]
    eq(d["enabled_modules"], MODULES, "enabled_modules of a new workspace")
    eq(d["object"], "workspace", "object")


def test_patch_needs_workspace_admin_and_names_modules():
    crm = S.key("modules-a", scopes="crm:read,crm:write")
    r = _set(crm, MODULES)
    expect(r, 403, "forbidden", message_has=["workspace:admin"])
    expect(_set(A, MODULES + ["payroll"]), 400, "validation_failed", "enabled_modules")
    expect(_set(A, "crm"), 400, "validation_failed", "enabled_modules")
    expect(_set(A, [1]), 400, "validation_failed", "enabled_modules")
    expect(A.patch("/v1/workspace", {"enabled_modules": MODULES, "name": "x"}), 400, "validation_failed",
           "name")
    expect(A.patch("/v1/workspace", {}), 400, "validation_failed", "enabled_modules")
    eq(expect(A.get("/v1/workspace"), 200)["data"]["enabled_modules"], MODULES, "modules after refusals")


def test_a_disabled_module_answers_403_in_its_workspace_only():
    task = A.create("/v1/tasks", {"title": "Before"})
    without = [m for m in MODULES if m != "tasks"]
    d = expect(_set(A, without), 200)["data"]
    eq(d["enabled_modules"], without, "the answer's modules")
    for method, path, body in (("GET", "/v1/tasks", None), ("POST", "/v1/tasks", {"title": "No"}),
                               ("GET", "/v1/tasks/" + task["id"], None),
                               ("DELETE", "/v1/tasks/" + task["id"], None)):
        r = A.request(method, path, body=body)
        expect(r, 403, "module_disabled", message_has=["tasks"])
        eq(r.error.get("module"), "tasks", "%s: error.module" % r.request_line())
    expect(A.get("/v1/contacts"), 200)
    ok("tasks" not in expect(A.get("/v1/dashboard"), 200)["data"], "dashboard tasks with tasks off")
    expect(B.get("/v1/tasks"), 200)  # another workspace keeps its modules
    # a dry run changes nothing
    d = expect(_set(A, MODULES, params={"dry_run": "true"}), 200)["data"]
    eq(d["enabled_modules"], MODULES, "a dry run's answer")
    expect(A.get("/v1/tasks"), 403, "module_disabled")
    # on again: the record is still there
    expect(_set(A, MODULES), 200)
    eq(expect(A.get("/v1/tasks/" + task["id"]), 200)["data"]["title"], "Before", "the task after")


def test_every_module_off_still_allows_switching_on():
    expect(_set(A, []), 200)
    expect(A.get("/v1/contacts"), 403, "module_disabled")
    eq(expect(A.get("/v1/workspace"), 200)["data"]["enabled_modules"], [], "no modules")
    expect(_set(A, MODULES), 200)
    expect(A.get("/v1/contacts"), 200)


def test_cli_switches_modules():
    ws = A.workspace_id
    p = cli("workspace", "modules", ws, "--disable", "crm,bi", "--db", S.db)
    eq(p.returncode, 0, "exit of workspace modules (stderr %r)" % p.stderr)
    ok('"crm"' not in p.stdout and '"tasks"' in p.stdout, "printed modules: %s" % p.stdout)
    # another process changed it: every thread of this server sees it once
    # its 2 s key cache has expired
    time.sleep(2.2)
    for _ in range(4):
        expect(A.get("/v1/contacts"), 403, "module_disabled")
    p = cli("workspace", "modules", ws, "--enable", "crm,bi", "--db", S.db)
    eq(p.returncode, 0, "exit of workspace modules --enable")
    p = cli("workspace", "modules", ws, "--enable", "crm", "--disable", "crm", "--db", S.db)
    ok(p.returncode != 0 and p.stderr, "both --enable and --disable of one module")
    p = cli("workspace", "modules", ws, "--disable", "payroll", "--db", S.db)
    ok(p.returncode != 0 and "payroll" in p.stderr, "an unknown module: %r" % p.stderr)
    time.sleep(2.2)
    for _ in range(4):
        expect(A.get("/v1/contacts"), 200)
