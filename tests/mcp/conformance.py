#!/usr/bin/env python3
"""The official MCP conformance suite (@modelcontextprotocol/conformance,
pinned in tests/contract/package.json) against Cairn's Streamable HTTP
endpoint, POST /mcp (a step of `make test`: `make test-mcp`).

    python3 tests/mcp/conformance.py [--bin build/cairn] [-v] [SCENARIO ...]

Builds nothing: CAIRN_BIN (default build/cairn) or --bin names the binary.
Starts one `cairn serve` on a free loopback port with a fresh database
(tests/api/harness.py), makes a key with every scope, then runs each
scenario the suite lists (`conformance list --server`) as its own
`scripts/node.sh conformance server --url http://127.0.0.1:PORT/mcp
--scenario NAME`, each under a timeout and the whole run under a deadline.
A scenario passes when the CLI exits 0 and its checks.json holds checks
and no FAILURE; a failure prints the suite's failed checks and messages.

Scenarios in tests/mcp/not-applicable.txt (`name: reason`, they need the
suite's own fixture tools, resources or prompts, or capabilities Cairn does
not declare) are not run. A scenario the suite lists that is neither run
nor in that file (a suite upgrade's new one, or one the deadline cut off),
and a line of that file naming a scenario the suite does not list, each
count as a failure. Naming scenarios on the command line runs only those.

The suite's CLI cannot send an Authorization header, so the CLI runs with
NODE_OPTIONS=--import tests/mcp/bearer.mjs, which adds `Authorization:
Bearer <key>` to its requests for the server's origin (see that file).

Ends with exactly `N passed, N failed` and exits 1 on any failure.
Standard library only; talks to nothing but 127.0.0.1 (the first run of
scripts/node.sh installs the pinned tools from the npm registry).
CAIRN_TIMEOUT_SCALE multiplies the timeouts, CAIRN_TEST_KEEP=1 keeps the
temp dir (server logs, each scenario's checks.json).
"""

import argparse
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
import harness  # noqa: E402 - after the path is set

NODE = os.path.join(ROOT, "scripts", "node.sh")
NODE_DIR = os.environ.get("CAIRN_NODE_DIR") or os.path.join(ROOT, "build", "contract")
PACKAGE = os.path.join(NODE_DIR, "node_modules", "@modelcontextprotocol", "conformance", "package.json")
BEARER = os.path.join(HERE, "bearer.mjs")
NOT_APPLICABLE = os.path.join(HERE, "not-applicable.txt")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class SetupError(Exception):
    """The run could not start: the suite, its list or not-applicable.txt."""


def say(*a):
    print("mcp:", *a, flush=True)


def one_line(s, n=600):
    s = " | ".join(x.strip() for x in ANSI.sub("", str(s)).splitlines() if x.strip())
    return s if len(s) <= n else s[:n] + "..."


def run(args, timeout, env=None):
    """(exit code or None on timeout, stdout+stderr). The command runs in a
    session of its own, and on timeout that whole group is killed."""
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=max(timeout, 1))
        return p.returncode, out.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = p.communicate()
        return None, out.decode("utf-8", "replace")


def suite_scenarios(timeout):
    """The server scenarios the pinned suite lists (installs it on first use)."""
    rc, out = run([NODE, "conformance", "list", "--server"], timeout)
    if rc != 0:
        raise SetupError("`conformance list --server` %s: %s" % (
            "timed out" if rc is None else "exited %d" % rc, one_line(out[-2000:])))
    names = re.findall(r"^\s+- (\S+)", out, re.M)
    if not names:
        raise SetupError("`conformance list --server` listed no scenario: " + one_line(out))
    return names


def not_applicable():
    """{name: reason} from not-applicable.txt (# comments and blank lines skipped)."""
    na = {}
    with open(NOT_APPLICABLE) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, reason = line.partition(":")
            if not sep or not name.strip() or not reason.strip():
                raise SetupError("%s:%d: not `name: reason`: %r" % (NOT_APPLICABLE, n, line))
            na[name.strip()] = reason.strip()
    return na


def run_scenario(url, name, token, outdir, timeout):
    """(passed, lines to print) for one scenario."""
    env = dict(os.environ)
    env.update({
        "NODE_OPTIONS": ('%s --import "%s"' % (env.get("NODE_OPTIONS", ""), BEARER)).strip(),
        "CAIRN_MCP_TOKEN": token,
        "CAIRN_MCP_ORIGIN": url.rsplit("/", 1)[0],
        "CAIRN_MCP_PACKAGE": PACKAGE,
        "NO_COLOR": "1",
    })
    rc, out = run([NODE, "conformance", "server", "--url", url, "--scenario", name, "-o", outdir],
                  timeout, env)
    found = sorted(glob.glob(os.path.join(outdir, "server-%s-*" % name, "checks.json")))
    checks = None
    if found:
        try:
            with open(found[-1]) as f:
                checks = json.load(f)
        except ValueError:
            checks = None
    lines = []
    if rc is None:
        lines.append("no result within %.0fs (killed)" % timeout)
    if not isinstance(checks, list) or not checks:
        lines.append("no checks recorded (exit %s): %s" % (rc, one_line(out[-1500:])))
        return False, lines
    failed = [c for c in checks if c.get("status") == "FAILURE"]
    for c in checks:
        if c.get("status") == "SUCCESS":
            lines.append("SUCCESS %s: %s" % (c.get("id") or c.get("name"), c.get("description")))
    for c in failed:
        lines.append("FAILURE %s: %s" % (c.get("id") or c.get("name"),
                                         one_line(c.get("errorMessage") or c.get("description"))))
    for c in checks:
        if c.get("status") == "WARNING":
            lines.append("WARNING %s: %s" % (c.get("id") or c.get("name"),
                                             one_line(c.get("errorMessage") or (c.get("details") or {}).get("message")
                                                      or c.get("description"))))
    if rc not in (0, None) and not failed:
        lines.append("exit %d with no failed check: %s" % (rc, one_line(out[-1500:])))
    return rc == 0 and not failed, lines


def main():
    try:
        return run_all()
    except (SetupError, harness.HarnessError, AssertionError) as e:
        say("FAIL " + one_line(e, 3000))
        print("0 passed, 1 failed", flush=True)
        return 1


def run_all():
    ap = argparse.ArgumentParser(description="MCP conformance suite against cairn's /mcp")
    ap.add_argument("--bin", help="cairn binary (default $CAIRN_BIN or build/cairn)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each check, and why scenarios are not run")
    ap.add_argument("--timeout", type=float, default=30 * harness.SCALE,
                    help="seconds one scenario may take (default 30)")
    ap.add_argument("--deadline", type=float, default=170 * harness.SCALE,
                    help="seconds the whole run may take, the suite's install included (default 170)")
    ap.add_argument("scenarios", nargs="*", help="run only these scenarios")
    a = ap.parse_args()
    if a.bin:
        os.environ["CAIRN_BIN"] = a.bin
    start = time.time()
    left = lambda: a.deadline - (time.time() - start)  # noqa: E731

    listed = suite_scenarios(left())
    na = not_applicable()
    counts = {"passed": 0, "failed": 0}
    problems = []
    for name in sorted(set(na) - set(listed)):
        problems.append("%s: in not-applicable.txt but the suite lists no such scenario" % name)
    if a.scenarios:
        unknown = [s for s in a.scenarios if s not in listed]
        if unknown:
            raise SetupError("the suite has no scenario %s" % ", ".join(unknown))
        todo = [s for s in listed if s in a.scenarios]
    else:
        todo = [s for s in listed if s not in na]
    say("suite %s: %d server scenarios, %d not applicable, %d to run; binary %s" % (
        os.path.basename(os.path.dirname(PACKAGE)) + "@" + json.load(open(PACKAGE))["version"],
        len(listed), len([s for s in listed if s in na]), len(todo), harness.binary()))
    if a.verbose:
        for s in listed:
            if s in na and s not in todo:
                say("  not applicable %s: %s" % (s, na[s]))

    server = harness.Server(name="mcp").start()
    token = server.key("mcp-conformance").token
    url = "http://127.0.0.1:%d/mcp" % server.port
    outdir = harness.tmpdir("conformance")
    ran = set()
    for name in todo:
        if left() < 5:
            break
        t0 = time.time()
        passed, lines = run_scenario(url, name, token, outdir, min(a.timeout, left() - 2))
        ran.add(name)
        counts["passed" if passed else "failed"] += 1
        say("%s %s (%.1fs)" % ("PASS" if passed else "FAIL", name, time.time() - t0))
        for line in lines if (not passed or a.verbose) else [l for l in lines if l.startswith("WARNING")]:
            say("    " + line)
        if not server.alive():
            problems.append("cairn serve exited with %s during %s; stderr tail: %s" % (
                server.proc.poll(), name, " | ".join(server.stderr_tail(8))))
            break
    # Every scenario the suite lists was run or is in not-applicable.txt
    # (todo is the rest), unless the deadline or a dead server cut it short.
    for name in todo:
        if name not in ran:
            problems.append("%s: neither run nor in not-applicable.txt (the %.0fs deadline passed first, "
                            "or the server died)" % (name, a.deadline))
    if server.alive():
        rc = server.stop()
        if rc != 0:
            problems.append("cairn serve exited with %s after SIGTERM; stderr tail: %s" % (
                rc, " | ".join(server.stderr_tail(8))))
    for p in problems:
        say("FAIL " + p)
        counts["failed"] += 1
    print("%d passed, %d failed" % (counts["passed"], counts["failed"]), flush=True)
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
