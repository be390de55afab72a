"""The `cairn` command line: key and workspace management, migrate, --help on
every command, and errors (message on stderr, non-zero exit)."""

import os

from harness import (SCALE, all_scopes, cli, cli_json, create_key, db_has_schema, eq, id_re,
                     new_db, ok, parse_json_listing, tmpdir)

DB = None


def setup_module():
    global DB
    DB = new_db("cli")


def _run_ok(*args):
    p = cli(*args)
    ok(p.returncode == 0, "cairn %s: exit %d, stderr %r" % (" ".join(args), p.returncode, p.stderr.strip()[-300:]))
    return p


def _run_fails(*args):
    p = cli(*args, timeout=10 * SCALE)
    ok(p.returncode != 0, "cairn %s: expected a non-zero exit, got 0 (stdout %r)" % (" ".join(args), p.stdout[:200]))
    ok(p.stderr.strip(), "cairn %s: failed without a message on stderr" % " ".join(args))
    return p


def test_migrate_fresh_and_again():
    db = new_db("cli-migrate")
    ok(not db_has_schema(db), "fresh database %s already has a schema before migrate" % db)
    _run_ok("migrate", "--db", db)
    ok(db_has_schema(db), "migrate did not create %s" % db)
    _run_ok("migrate", "--db", db)
    ok(db_has_schema(db), "second migrate left no schema in %s" % db)


def test_key_create_all_scopes():
    k = create_key(DB, "cli-alpha")
    ok(id_re("key_").match(str(k.get("id"))), "key id %r" % k.get("id"))
    ok(str(k.get("token")).startswith("ck_") and len(k["token"]) >= 24, "token %r" % k.get("token"))
    ok(id_re("wrk_").match(str(k.get("workspace_id"))), "workspace_id %r" % k.get("workspace_id"))
    eq(sorted(k.get("scopes") or []), sorted(all_scopes()), "scopes of --scopes all")
    ok("workspace:admin" in all_scopes(), "--scopes all includes workspace:admin")
    eq(k.get("super_admin"), False, "super_admin default")


def test_key_create_listed_scopes_and_flags():
    k = create_key(DB, "cli-alpha", "crm:read,support:read", name="reader")
    eq(sorted(k["scopes"]), ["crm:read", "support:read"], "scopes")
    s = create_key(DB, "cli-alpha", "crm:read", super_admin=True)
    eq(s.get("super_admin"), True, "super_admin with --super-admin")


def test_key_create_reuses_workspace_by_name_and_id():
    a = create_key(DB, "cli-beta")
    b = create_key(DB, "cli-beta")
    eq(b["workspace_id"], a["workspace_id"], "workspace_id for the same --workspace name")
    c = create_key(DB, a["workspace_id"])
    eq(c["workspace_id"], a["workspace_id"], "workspace_id for --workspace <id>")
    ok(a["token"] != b["token"] and a["id"] != b["id"], "two keys share id or token")


def test_workspace_create_and_list():
    w = cli_json("workspace", "create", "cli-gamma", "--db", DB)
    ok(id_re("wrk_").match(str(w.get("id"))), "workspace id %r" % w.get("id"))
    eq(w.get("name"), "cli-gamma", "workspace name")
    k = create_key(DB, "cli-gamma")
    eq(k["workspace_id"], w["id"], "key create --workspace on the created workspace")
    rows = parse_json_listing(_run_ok("workspace", "list", "--db", DB).stdout)
    found = [r for r in rows if r.get("id") == w["id"]]
    eq(len(found), 1, "created workspace in `workspace list`")
    eq(found[0].get("name"), "cli-gamma", "listed workspace name")


def test_key_list_never_shows_tokens():
    k = create_key(DB, "cli-delta")
    p = _run_ok("key", "list", "--db", DB)
    rows = parse_json_listing(p.stdout)
    ok(any(r.get("id") == k["id"] for r in rows), "key %s not in `key list`" % k["id"])
    ok(k["token"] not in p.stdout and k["token"] not in p.stderr, "`key list` prints a token")
    ok(k["token"][3:] not in p.stdout, "`key list` prints the secret part of a token")


def test_key_revoke():
    k = create_key(DB, "cli-epsilon")
    _run_ok("key", "revoke", k["id"], "--db", DB)
    rows = parse_json_listing(_run_ok("key", "list", "--db", DB).stdout)
    row = [r for r in rows if r.get("id") == k["id"]]
    ok(not row or row[0].get("revoked") or row[0].get("revoked_at") or row[0].get("status") == "revoked",
       "revoked key %s still listed as active: %r" % (k["id"], row[:1]))


ERRORS = [
    # label, argv (DB substituted)
    ("unknown_command", ["frobnicate"]),
    ("unknown_subcommand", ["key", "frobnicate", "--db", "DB"]),
    ("unknown_flag", ["key", "create", "--db", "DB", "--workspace", "w", "--scopes", "all", "--bogus"]),
    ("unknown_scope", ["key", "create", "--db", "DB", "--workspace", "cli-err", "--scopes", "crm:read,crm:bogus"]),
    ("revoke_unknown_key", ["key", "revoke", "key_00000000000000000000000000", "--db", "DB"]),
    ("serve_unknown_flag", ["serve", "--db", "DB", "--listen", "127.0.0.1:0", "--bogus"]),
    ("serve_bad_listen", ["serve", "--db", "DB", "--listen", "not-an-address"]),
    ("migrate_unknown_flag", ["migrate", "--db", "DB", "--bogus"]),
    ("migrate_unreachable_postgres", ["migrate", "--db", "postgres://postgres@127.0.0.1:1/cairn_nowhere"]),
]


def _make_error_test(label, argv):
    def t():
        before = parse_json_listing(_run_ok("key", "list", "--db", DB).stdout)
        _run_fails(*[DB if a == "DB" else a for a in argv])
        after = parse_json_listing(_run_ok("key", "list", "--db", DB).stdout)
        eq(len(after), len(before), "number of keys after a failed `cairn %s`" % " ".join(argv))
    return t


for _c in ERRORS:
    globals()["test_error_" + _c[0]] = _make_error_test(*_c)


HELP = [
    [], ["serve"], ["key"], ["key", "create"], ["key", "list"], ["key", "revoke"],
    ["workspace"], ["workspace", "create"], ["workspace", "list"], ["migrate"],
]


def _make_help_test(argv):
    def t():
        cwd = tmpdir("help")
        p = cli(*(argv + ["--help"]), cwd=cwd)
        eq(p.returncode, 0, "`cairn %s --help` exit code (stderr %r)" % (" ".join(argv), p.stderr.strip()[-200:]))
        ok(p.stdout.strip(), "`cairn %s --help` printed nothing on stdout" % " ".join(argv))
        ok("usage" in (p.stdout + p.stderr).lower(), "`cairn %s --help` output has no usage: %r" % (" ".join(argv), p.stdout[:200]))
        eq(os.listdir(cwd), [], "files created by `cairn %s --help` in its cwd" % " ".join(argv))
    return t


for _a in HELP:
    globals()["test_help_" + ("_".join(_a) or "top")] = _make_help_test(_a)
