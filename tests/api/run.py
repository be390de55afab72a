#!/usr/bin/env python3
"""Runner for Cairn's black-box HTTP tests.

Discovers tests/api/test_*.py, calls each module's setup_module(), then every
module-level function named test_* in definition order (tables may generate
them), then teardown_module(). Prints the storage backend first, one line
per failure with its reason (followed by the tail of the stderr of the
servers the module started) and one per skip, and ends with exactly
`N passed, N failed` (`, N skipped` appended when a test or a module's
setup raised harness.Skip); exits 1 when anything failed.

    python3 tests/api/run.py [--bin build/cairn] [-k SUBSTR] [-v] [module ...]

CAIRN_BIN selects the binary when --bin is not given (default build/cairn).
CAIRN_TIMEOUT_SCALE multiplies every timeout (e.g. 3 for sanitizer builds).
CAIRN_TEST_KEEP=1 keeps the temp dirs (server logs, databases).
CAIRN_TEST_PG=postgres://USER@HOST:PORT/DB runs every server on PostgreSQL: a
fresh database per server, created from that admin URL and dropped after its
module (scripts/with-postgres.sh sets it up: `scripts/with-postgres.sh
python3 tests/api/run.py`). Modules in LAST run after the others.
"""

import argparse
import importlib
import os
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
# Run after every other module: test_nodes stops and restarts PostgreSQL.
LAST = ("test_nodes",)


def one_line(s, n=1500):
    s = " | ".join(x.strip() for x in str(s).splitlines() if x.strip())
    return s if len(s) <= n else s[:n] + "..."


def main():
    ap = argparse.ArgumentParser(description="Cairn black-box HTTP tests")
    ap.add_argument("--bin", help="cairn binary (default $CAIRN_BIN or build/cairn)")
    ap.add_argument("-k", dest="filter", help="run only tests whose module::name contains this")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every test with its time")
    ap.add_argument("--deadline", type=float, default=float(os.environ.get("CAIRN_TEST_DEADLINE", "900")),
                    help="abort the whole run after this many seconds (default 900)")
    ap.add_argument("modules", nargs="*", help="module names (test_auth or test_auth.py)")
    a = ap.parse_args()
    if a.bin:
        os.environ["CAIRN_BIN"] = a.bin
    sys.path.insert(0, HERE)
    import harness

    counts = {"passed": 0, "failed": 0, "skipped": 0}

    def summary():
        line = "%d passed, %d failed" % (counts["passed"], counts["failed"])
        if counts["skipped"]:
            line += ", %d skipped" % counts["skipped"]
        return line

    def watchdog():
        print("ABORT: run exceeded %.0fs" % a.deadline, flush=True)
        for s in list(harness.Server._live):
            s.kill9()
        counts["failed"] += 1
        print(summary(), flush=True)
        os._exit(1)

    print("backend: %s; binary: %s" % (harness.describe_backend(), harness.binary()), flush=True)
    if harness.backend() == "postgres":
        try:
            harness.psql("SELECT 1", timeout=10)
        except harness.HarnessError as e:
            print("FAIL backend - %s" % one_line(e), flush=True)
            counts["failed"] += 1
            print(summary(), flush=True)
            return 1

    wd = threading.Timer(a.deadline, watchdog)
    wd.daemon = True
    wd.start()

    names = [m[:-3] if m.endswith(".py") else m for m in a.modules] or sorted(
        f[:-3] for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    names = [n for n in names if n not in LAST] + [n for n in names if n in LAST]
    t_all = time.time()
    for modname in names:
        first_server = len(harness.Server.instances)
        first_db = harness.db_mark()

        def skipped(label, exc):
            counts["skipped"] += 1
            print("SKIP %s::%s - %s" % (modname, label, one_line(exc)), flush=True)

        def fail(label, exc):
            counts["failed"] += 1
            if isinstance(exc, AssertionError):
                reason = str(exc) or "assertion failed"
            elif isinstance(exc, harness.HarnessError):
                reason = "harness: %s" % exc
            else:
                tb = traceback.extract_tb(exc.__traceback__)
                where = "%s:%d" % (os.path.basename(tb[-1].filename), tb[-1].lineno) if tb else "?"
                reason = "%s: %s (at %s)" % (type(exc).__name__, exc, where)
            print("FAIL %s::%s - %s" % (modname, label, one_line(reason)), flush=True)
            for s in harness.Server.instances[first_server:]:
                tail = s.stderr_tail(6)
                if tail:
                    print("    server stderr (%s):" % s.dir, flush=True)
                    for line in tail:
                        print("    | " + line[:300], flush=True)

        try:
            mod = importlib.import_module(modname)
        except Exception as e:  # noqa: BLE001 - report import errors as failures
            fail("import", e)
            continue
        tests = [(n, f) for n, f in vars(mod).items()
                 if n.startswith("test_") and callable(f) and getattr(f, "__module__", None) == mod.__name__]
        if a.filter:
            tests = [(n, f) for n, f in tests if a.filter in "%s::%s" % (modname, n)]
        if not tests:
            continue
        setup_ok, setup_skipped = True, False
        if hasattr(mod, "setup_module"):
            try:
                mod.setup_module()
            except harness.Skip as e:
                setup_ok, setup_skipped = False, True
                for n, _ in tests:
                    skipped(n, e)
            except Exception as e:  # noqa: BLE001
                setup_ok = False
                for n, _ in tests:
                    fail(n, e)
        if setup_ok:
            for n, f in tests:
                t0 = time.time()
                try:
                    f()
                    counts["passed"] += 1
                    if a.verbose:
                        print("ok   %s::%s (%.2fs)" % (modname, n, time.time() - t0), flush=True)
                except harness.Skip as e:
                    skipped(n, e)
                except Exception as e:  # noqa: BLE001
                    fail(n, e)
        if not setup_skipped and hasattr(mod, "teardown_module"):
            try:
                mod.teardown_module()
            except Exception as e:  # noqa: BLE001
                fail("teardown_module", e)
        for s in harness.Server.instances[first_server:]:
            s.kill9()
        harness.drop_dbs_since(first_db)
    if a.verbose:
        print("total %.1fs" % (time.time() - t_all))
    wd.cancel()
    print(summary(), flush=True)
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
