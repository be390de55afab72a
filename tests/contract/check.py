#!/usr/bin/env python3
"""The API contract check (a step of `make test`): the OpenAPI document
the server serves is linted by Redocly CLI (recommended rules) and Spectral
(spectral:oas), then the black-box API suite (tests/api/run.py) runs once
through Stoplight Prism's validating proxy, which checks every request and
response against the document. Any lint error or warning, any suite
failure and any contract violation fails the check.

    python3 tests/contract/check.py [--bin build/cairn] [--doc FILE] [--lint-only]
                                    [suite args, e.g. -k pagination test_lists]

--doc checks that file instead of the document the binary serves (the
proxy still fronts the binary's servers). The tools run on Node 22 through
scripts/node.sh, which installs them on first use. Standard library only.

How a violation is judged. Prism forwards every request (it runs without
--errors, which would refuse invalid requests itself) and lists what it
found in an sl-violations header; tests/contract/proxy_hook.py records
each such exchange with the test that made it. Then:
  - a response violation always fails: the server answered something the
    document does not describe;
  - a request violation passes only when the server refused the request
    with a 4xx error envelope (the document declares those answers, so
    Prism has checked the error body too): the suite sends invalid requests
    on purpose (wrong types, unknown fields, missing token) to see them
    refused. The same violation on a request the server accepted (2xx) or
    failed on (5xx) means the document and the server disagree, and fails;
  - a request to a path or method the document lacks passes only when the
    server answered it 404 not_found or 405 method_not_allowed;
  - an answer Prism made itself (it could not forward the request) fails:
    proxy_hook must send such requests straight to the server.
Requests whose bodies Prism would rewrite (see proxy_hook.proxyable) and
raw-socket or curl tests reach the server directly and are not checked.
"""

import argparse
import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import proxy_hook  # noqa: E402 - after the path is set

NODE = os.path.join(ROOT, "scripts", "node.sh")
WORK = os.environ.get("CAIRN_NODE_DIR") or os.path.join(ROOT, "build", "contract")
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade", "content-length", proxy_hook.UPSTREAM_HEADER.lower()}


def say(*a):
    print("contract:", *a, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fetch_document(binary, out):
    """Starts the binary on a scratch database and saves what it serves."""
    d = tempfile.mkdtemp(prefix="cairn-contract-")
    p = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--db", os.path.join(d, "c.db"),
                          "--access-log", "off"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    try:
        port = None
        for line in p.stdout:
            if "listening on http://127.0.0.1:" in line:
                port = int(line.rsplit(":", 1)[1])
                break
        if port is None:
            raise SystemExit("contract: %s printed no listening line" % binary)
        with urllib.request.urlopen("http://127.0.0.1:%d/v1/openapi.json" % port, timeout=30) as r:
            data = r.read()
        with open(out, "wb") as f:
            f.write(data)
    finally:
        p.terminate()
        p.wait(20)


# ------------------------------------------------------------------ lint

def lint(doc):
    """Both linters; returns the number of errors and warnings together."""
    bad = 0
    r = subprocess.run([NODE, "redocly", "lint", "--config", os.path.join(HERE, "redocly.yaml"),
                        "--format", "json", doc], capture_output=True, text=True)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        say("redocly printed no JSON (exit %d): %s" % (r.returncode, (r.stderr or r.stdout)[-2000:]))
        return 1
    t = out.get("totals", {})
    say("redocly lint (recommended): %d errors, %d warnings" % (t.get("errors", 0), t.get("warnings", 0)))
    for p in out.get("problems", []):
        where = ", ".join(l.get("pointer", "") for l in p.get("location", []))
        say("  %s %s: %s (%s)" % (p.get("severity"), p.get("ruleId"), p.get("message"), where))
    bad += t.get("errors", 0) + t.get("warnings", 0)

    r = subprocess.run([NODE, "spectral", "lint", "--ruleset", os.path.join(HERE, "spectral.yaml"),
                        "--format", "json", "--quiet", "--fail-severity", "hint", doc],
                       capture_output=True, text=True)
    try:
        results = json.loads(r.stdout or "[]")
    except ValueError:
        say("spectral printed no JSON (exit %d): %s" % (r.returncode, (r.stderr or r.stdout)[-2000:]))
        return bad + 1
    sev = [0, 0, 0, 0]  # error, warn, info, hint
    for x in results:
        sev[x.get("severity", 0)] += 1
    say("spectral lint (spectral:oas): %d errors, %d warnings, %d infos, %d hints" % tuple(sev))
    for x in results[:200]:
        say("  %s %s: %s (%s)" % (["error", "warn", "info", "hint"][x.get("severity", 0)], x.get("code"),
                                  x.get("message"), ".".join(str(p) for p in x.get("path", []))))
    return bad + sev[0] + sev[1]


# ------------------------------------------------------------ the proxy

class Router(http.server.BaseHTTPRequestHandler):
    """Prism's one upstream: forwards each request to the test server its
    X-Cairn-Upstream header names (every test module starts servers of its
    own). When that server cannot be reached, answers 502 with
    X-Cairn-Unreachable, which proxy_hook turns back into the connection
    error the test would have seen."""

    protocol_version = "HTTP/1.1"
    # An answer goes out as headers, then body: with Nagle's algorithm the
    # body would wait for the ACK of the headers, which Prism delays.
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def _body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                n = int(self.rfile.readline().split(b";")[0], 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(n))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else None

    def _forward(self):
        body = self._body()
        port = self.headers.get(proxy_hook.UPSTREAM_HEADER)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        try:
            c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=300)
            try:
                c.request(self.command, self.path, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                status, headers = r.status, r.getheaders()
            finally:
                c.close()
        except (OSError, ValueError, TypeError, http.client.HTTPException) as e:
            status, data = 502, b""
            headers = [(proxy_hook.UNREACHABLE_HEADER, "%s: %s" % (type(e).__name__, e))]
        self.send_response_only(status)
        for k, v in headers:
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = do_OPTIONS = _forward


def start_prism(doc, upstream, log_path):
    port = free_port()
    log = open(log_path, "w")
    p = subprocess.Popen([NODE, "prism", "proxy", doc, "http://127.0.0.1:%d" % upstream, "-h", "127.0.0.1",
                          "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline:
        if p.poll() is not None:
            raise SystemExit("contract: prism exited %d; see %s" % (p.returncode, log_path))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p, port
        except OSError:
            time.sleep(0.3)
    os.killpg(p.pid, signal.SIGKILL)
    raise SystemExit("contract: prism did not listen within 180 s; see %s" % log_path)


def judge(log_path):
    """Sorts the recorded exchanges; returns (failures, accepted, counts)."""
    failures, accepted, counts = [], {}, {}
    if not os.path.exists(log_path):
        return failures, accepted, counts
    with open(log_path) as f:
        for line in f:
            rec = json.loads(line)
            if "counts" in rec:
                counts = rec["counts"]
                continue
            vs = rec["violations"]
            resp_v = [v for v in vs if (v.get("location") or [""])[0] == "response"]
            req_v = [v for v in vs if v not in resp_v]
            unrouted = any(v.get("message") == "Selected route not found" for v in req_v)
            refused = 400 <= rec["status"] < 500 and rec.get("error_code")
            why = None
            if rec["prism_own"]:
                why = "Prism answered itself: %s" % rec["body"]
            elif resp_v:
                why = "the response breaks the document"
            elif unrouted and not (rec["status"] in (404, 405) and
                                   rec.get("error_code") in ("not_found", "method_not_allowed")):
                why = "a route the document lacks answered %d" % rec["status"]
            elif req_v and not refused:
                why = "the document refuses a request the server answered %d" % rec["status"]
            if why:
                failures.append((why, rec))
            else:
                key = "%d %s" % (rec["status"], rec.get("error_code"))
                accepted[key] = accepted.get(key, 0) + 1
    return failures, accepted, counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.environ.get("CAIRN_BIN") or os.path.join(ROOT, "build", "cairn"))
    ap.add_argument("--doc", help="check this document instead of the one the binary serves")
    ap.add_argument("--lint-only", action="store_true")
    a, suite_args = ap.parse_known_args()
    os.makedirs(WORK, exist_ok=True)
    t0 = time.time()
    # Installs Node and the tools when the lock file changed (timed apart).
    subprocess.run([NODE, "node", "--version"], check=True, stdout=subprocess.DEVNULL)
    t_install = time.time() - t0
    doc = a.doc or os.path.join(WORK, "openapi.json")
    if not a.doc:
        fetch_document(os.path.abspath(a.bin), doc)
    with open(doc) as f:
        d = json.load(f)
    say("%s: OpenAPI %s, %d paths, %d operations" % (
        os.path.relpath(doc, ROOT), d.get("openapi"), len(d.get("paths", {})),
        sum(len(v) for v in d.get("paths", {}).values())))
    lint_bad = lint(doc)
    t_lint = time.time() - t0 - t_install
    if a.lint_only:
        say("FAIL" if lint_bad else "ok", "(%d lint problems)" % lint_bad)
        return 1 if lint_bad else 0

    router = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Router)
    router.daemon_threads = True
    threading.Thread(target=router.serve_forever, daemon=True).start()
    prism_log = os.path.join(WORK, "prism.log")
    prism, port = start_prism(doc, router.server_address[1], prism_log)
    vlog = os.path.join(WORK, "violations.jsonl")
    if os.path.exists(vlog):
        os.remove(vlog)
    say("API suite through Prism's validating proxy (127.0.0.1:%d; log %s)" % (port, os.path.relpath(prism_log, ROOT)))
    env = dict(os.environ, CAIRN_BIN=os.path.abspath(a.bin), CAIRN_TEST_PROXY=str(port),
               CAIRN_TEST_CONTRACT_LOG=vlog)
    env.pop("CAIRN_TEST_PG", None)  # once, on SQLite
    try:
        suite = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "api", "run.py")] + suite_args,
                               env=env)
    finally:
        os.killpg(prism.pid, signal.SIGTERM)
        try:
            prism.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(prism.pid, signal.SIGKILL)
        router.shutdown()
    failures, accepted, counts = judge(vlog)
    for why, rec in failures[:100]:
        say("VIOLATION %s - %s: %s -> %d; %s" % (
            rec["test"], why, rec["request"], rec["status"],
            "; ".join("%s: %s" % (".".join(str(x) for x in v.get("location", [])), v.get("message"))
                      for v in rec["violations"][:8])))
    say("%d exchanges through the proxy, %d sent straight to the server (bodies Prism would rewrite)" % (
        counts.get("proxied", 0), counts.get("direct", 0)))
    if accepted:
        say("request violations the server refused as it should: %s" % ", ".join(
            "%d x %s" % (n, k) for k, n in sorted(accepted.items())))
    say("%d contract violations; suite exit %d; lint problems %d; %.0f s (tools %.0f s, lint %.0f s)" % (
        len(failures), suite.returncode, lint_bad, time.time() - t0, t_install, t_lint))
    ok = not failures and suite.returncode == 0 and lint_bad == 0 and counts.get("proxied", 0) > 0
    say("ok" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
