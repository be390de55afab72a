"""GET /metrics is not for everyone: on the API listener it needs a key with
the workspace:admin scope (`--scopes all` grants it); `serve
--metrics-listen ADDR` (off by default) opens a second listener that
serves /metrics, and only /metrics, without a key, for a scraper on a
private address."""

import re
import socket

from harness import HTTP_TIMEOUT, Server, eq, expect, ok, read_until_close, split_response

S = ADMIN = RO = None
MPORT = None
METRICS_RE = re.compile(r"metrics on http://127\.0\.0\.1:(\d+)/metrics")


def setup_module():
    global S, ADMIN, RO, MPORT
    S = Server(name="metrics", extra_args=["--metrics-listen", "127.0.0.1:0"])
    ADMIN = S.key("metrics-ws", "workspace:admin")
    RO = S.key("metrics-ws", "crm:read,crm:write")
    S.start()
    m = None
    for line in S.stdout_lines:
        m = m or METRICS_RE.search(line)
    ok(m is not None, "serve --metrics-listen 127.0.0.1:0 printed no 'metrics on http://...' line: %r" % S.stdout_lines)
    MPORT = int(m.group(1))


def teardown_module():
    S.stop_ok()


def _on_metrics_port(method, path, headers=b""):
    s = socket.create_connection(("127.0.0.1", MPORT), timeout=HTTP_TIMEOUT)
    try:
        s.sendall(method.encode() + b" " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n")
        data = read_until_close(s)
    finally:
        s.close()
    r = split_response(data, head_only=method == "HEAD")
    ok(r is not None, "%s %s on the metrics listener: no complete answer in %r" % (method, path, data[:200]))
    line, hdrs, body, rest = r
    eq(rest, b"", "%s %s on the metrics listener: bytes after the answer" % (method, path))
    return int(line.split()[1]), hdrs, body


def test_metrics_without_a_key_is_401():
    expect(S.request("GET", "/metrics"), 401, "unauthorized")


def test_metrics_without_the_admin_scope_is_403_naming_it():
    RO.get("/v1/contacts")
    expect(RO.get("/metrics"), 403, "forbidden", message_has=["workspace:admin"])


def test_metrics_with_workspace_admin():
    r = ADMIN.get("/metrics")
    eq(r.status, 200, "GET /metrics with a workspace:admin key (%s)" % r.describe()[:200])
    ok(r.headers.get("content-type", "").startswith("text/plain"), "Content-Type %r" % r.headers.get("content-type"))
    ok(b"cairn_http_requests_total" in r.body, "no cairn_http_requests_total in %r" % r.body[:200])


def test_scopes_all_grants_workspace_admin():
    k = S.key("metrics-ws")  # --scopes all
    ok("workspace:admin" in k.key.get("scopes", []), "key create --scopes all: scopes %r" % k.key.get("scopes"))
    eq(k.get("/metrics").status, 200, "GET /metrics with a --scopes all key")


def test_metrics_listener_serves_metrics_without_a_key():
    ADMIN.get("/v1/workspace")
    status, hdrs, body = _on_metrics_port("GET", "/metrics")
    eq(status, 200, "GET /metrics on the metrics listener")
    ok(hdrs.get("content-type", "").startswith("text/plain"), "Content-Type %r" % hdrs.get("content-type"))
    ok(b'route="/v1/workspace"' in body, "the API listener's requests are not counted: %r" % body[:400])
    status, hdrs, body = _on_metrics_port("HEAD", "/metrics")
    eq((status, body), (200, b""), "HEAD /metrics on the metrics listener: status and body")


def test_metrics_listener_serves_nothing_else():
    for method, path, want in (("GET", "/healthz", 404), ("GET", "/v1/contacts", 404), ("GET", "/v1/openapi.json", 404),
                               ("POST", "/metrics", 405)):
        status, hdrs, _ = _on_metrics_port(method, path, b"Authorization: Bearer " + ADMIN.token.encode() + b"\r\n")
        eq(status, want, "%s %s on the metrics listener" % (method, path))


def test_metrics_listener_is_off_by_default():
    s2 = Server(name="nometrics")
    s2.start()
    try:
        ok(not any(METRICS_RE.search(l) for l in s2.stdout_lines), "a metrics listener without the flag: %r" % s2.stdout_lines)
        expect(s2.request("GET", "/metrics"), 401, "unauthorized")
    finally:
        s2.stop_ok()
