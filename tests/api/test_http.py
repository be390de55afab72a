"""HTTP-level behaviour: unknown routes, 405, 413 body limit, 415 media type,
414 long URLs, 431 big headers, hostile JSON, keep-alive and HTTP/2 (h2c,
prior knowledge and upgrade) through curl."""

import http.client
import json
import os
import socket
import subprocess

from harness import (HTTP_TIMEOUT, Server, count, eq, expect, id_re, ok,
                     raw_exchange, read_until_close, split_response, uniq)

CURL = "/usr/bin/curl"
S = A = None


def setup_module():
    global S, A
    S = Server(name="http")
    A = S.key("http-main")
    S.start()


def teardown_module():
    S.stop_ok()


def _healthy():
    expect(S.request("GET", "/healthz"), 200)


# ------------------------------------------------------------ routing

ROUTE_CASES = [
    # label, method, path, status, code
    ("unknown_collection", "GET", "/v1/no-such-thing", 404, "not_found"),
    ("unknown_nested", "GET", "/v1/contacts/con_00000000000000000000000000/nope", 404, "not_found"),
    ("unknown_top", "GET", "/nope", 404, "not_found"),
    ("put_collection", "PUT", "/v1/contacts", 405, "method_not_allowed"),
    ("delete_collection", "DELETE", "/v1/contacts", 405, "method_not_allowed"),
    ("put_companies", "PUT", "/v1/companies", 405, "method_not_allowed"),
]


def _make_route_test(label, method, path, status, code):
    def t():
        n = count(A, "/v1/contacts")
        body = {"name": "x"} if method in ("PUT", "POST", "PATCH") else None
        expect(A.request(method, path, body=body), status, code)
        eq(count(A, "/v1/contacts"), n, "contact count after %s %s" % (method, path))
    return t


for _c in ROUTE_CASES:
    globals()["test_route_" + _c[0]] = _make_route_test(*_c)


def test_put_and_post_on_item_are_405():
    c = A.create("/v1/contacts", {"name": "Method Check"})
    expect(A.request("PUT", "/v1/contacts/" + c["id"], body={"name": "y"}), 405, "method_not_allowed")
    expect(A.post("/v1/contacts/" + c["id"], {"name": "y"}), 405, "method_not_allowed")
    eq(expect(A.get("/v1/contacts/" + c["id"]), 200)["data"]["name"], "Method Check", "name after 405s")


# ------------------------------------------------------------ 413 / 415

def test_body_over_1mib_is_413_and_not_stored():
    n = count(A, "/v1/contacts")
    marker = uniq("big")
    body = json.dumps({"name": marker, "notes": "a" * (1024 * 1024 + 100 * 1024)}).encode()
    req = (b"POST /v1/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + A.token.encode() +
           b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
           b"\r\nConnection: close\r\n\r\n" + body)
    status, headers, rb = raw_exchange(S.port, req)
    ok(status == 413, "POST /v1/contacts with a %d-byte body: expected 413 payload_too_large, got %s %s" % (
        len(body), status, rb[:300]))
    j = json.loads(rb or b"{}")
    eq((j.get("error") or {}).get("code"), "payload_too_large", "413 error code")
    eq(count(A, "/v1/contacts"), n, "contact count after 413")
    eq(count(A, "/v1/contacts", {"query": marker}), 0, "search for the 413 record")
    _healthy()


def test_body_just_under_1mib_is_validated_not_413():
    # ~1,000,000 bytes: within the limit, so the notes length rule (10000) answers.
    n = count(A, "/v1/contacts")
    r = A.post("/v1/contacts", {"name": "Under Limit", "notes": "a" * 1000000})
    expect(r, 400, "validation_failed", "notes")
    eq(count(A, "/v1/contacts"), n, "contact count after 400")


MEDIA_CASES = [
    # label, ctype, status
    ("text_plain", "text/plain", 415),
    ("form", "application/x-www-form-urlencoded", 415),
    ("missing", None, 415),
    ("json_charset", "application/json; charset=utf-8", 201),
    ("json", "application/json", 201),
]


def _make_media_test(label, ctype, status):
    def t():
        n = count(A, "/v1/contacts")
        r = A.post("/v1/contacts", raw=json.dumps({"name": "Media " + label}).encode(), ctype=ctype)
        if status == 415:
            expect(r, 415, "unsupported_media_type")
            eq(count(A, "/v1/contacts"), n, "contact count after 415")
        else:
            expect(r, status)
            eq(count(A, "/v1/contacts"), n + 1, "contact count after 201")
    return t


for _c in MEDIA_CASES:
    globals()["test_content_type_" + _c[0]] = _make_media_test(*_c)


def test_patch_with_wrong_media_type_is_415_and_unchanged():
    c = A.create("/v1/contacts", {"name": "Patch Media", "title": "Before"})
    expect(A.patch("/v1/contacts/" + c["id"], raw=b'{"title":"After"}', ctype="text/plain"), 415,
           "unsupported_media_type")
    eq(expect(A.get("/v1/contacts/" + c["id"]), 200)["data"].get("title"), "Before", "title after 415")


# ------------------------------------------------------------ hostile JSON

def test_deeply_nested_json_is_400_not_crash():
    n = count(A, "/v1/contacts")
    raw = b'{"name":"deep","custom_fields":{"a":' + b"[" * 50000 + b"]" * 50000 + b"}}"
    expect(A.post("/v1/contacts", raw=raw), 400, "validation_failed")
    raw2 = b"[" * 200000
    expect(A.post("/v1/contacts", raw=raw2), 400, "validation_failed")
    _healthy()
    eq(count(A, "/v1/contacts"), n, "contact count after nested bodies")


def test_invalid_utf8_in_json_is_400():
    n = count(A, "/v1/contacts")
    expect(A.post("/v1/contacts", raw=b'{"name":"bad \xff\xfe utf8"}'), 400, "validation_failed")
    eq(count(A, "/v1/contacts"), n, "contact count after invalid UTF-8")


def test_unicode_round_trip():
    name = "Zo\u00eb \u00d1and\u00fa \u65e5\u672c \U0001F600"
    c = A.create("/v1/contacts", {"name": name, "city": "M\u00fcnchen"})
    d = expect(A.get("/v1/contacts/" + c["id"]), 200)["data"]
    eq(d["name"], name, "unicode name round trip")
    eq(d["city"], "M\u00fcnchen", "unicode city round trip")
    c2 = A.create("/v1/contacts", {"name": "esc"})
    r = A.patch("/v1/contacts/" + c2["id"], raw=b'{"title":"caf\\u00e9 \\"q\\" \\\\ \\n"}')
    eq(expect(r, 200)["data"]["title"], 'caf\u00e9 "q" \\ \n', "escaped title round trip")


# ------------------------------------------------------------ limits on the request head

def test_url_over_8kib_is_414():
    r = A.get("/v1/contacts", params={"query": "a" * 9000})
    eq(r.status, 414, "GET /v1/contacts?query=<9000 chars>: status (%s)" % r.describe()[:200])
    _healthy()


def test_header_over_16kib_is_431():
    req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (17 * 1024) + b"\r\nConnection: close\r\n\r\n"
    status, _, body = raw_exchange(S.port, req)
    ok(400 <= status < 500, "GET /healthz with a 17 KiB header: expected 431 (or another 4xx), got %s %s" % (status, body[:200]))
    _healthy()


def test_header_of_8kib_is_fine():
    r = S.request("GET", "/healthz", headers={"X-Pad": "b" * 8192})
    expect(r, 200)


# ------------------------------------------------------------ connections

def test_keep_alive_many_requests_one_connection():
    conn = http.client.HTTPConnection("127.0.0.1", S.port, timeout=HTTP_TIMEOUT)
    auth = {"Authorization": "Bearer " + A.token}
    ports = set()
    steps = [
        ("GET", "/healthz", None, 200),
        ("GET", "/v1/contacts", None, 200),
        ("POST", "/v1/contacts", {"name": "Keep Alive"}, 201),
        ("GET", "/v1/no-such-route", None, 404),
        ("POST", "/v1/contacts", {"foo": 1}, 400),
        ("GET", "/v1/workspace", None, 200),
        ("GET", "/healthz", None, 200),
    ]
    try:
        for method, path, body, status in steps:
            hdrs = dict(auth)
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            r.read()
            eq(r.status, status, "keep-alive %s %s status" % (method, path))
            ok((r.getheader("Connection") or "").lower() != "close",
               "keep-alive: %s %s answered Connection: close" % (method, path))
            ports.add(conn.sock.getsockname()[1] if conn.sock else None)
    finally:
        conn.close()
    eq(len(ports), 1, "number of TCP connections used for %d keep-alive requests" % len(steps))


def test_pipelined_requests():
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 2 + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", S.port), timeout=HTTP_TIMEOUT)
    try:
        s.sendall(req)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    eq(data.count(b"HTTP/1.1 200"), 3, "200 responses to 3 pipelined requests (got %r)" % data[:300])


# ------------------------------------------------------------ HTTP/2 via curl

def _curl(*args):
    ok(os.path.exists(CURL), "curl not found at %s" % CURL)
    p = subprocess.run([CURL, "-sS", "--no-progress-meter", "--max-time", str(int(HTTP_TIMEOUT))] + list(args),
                       capture_output=True, text=True, timeout=HTTP_TIMEOUT + 10)
    return p


def test_http2_prior_knowledge():
    p = _curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
              "http://127.0.0.1:%d/healthz" % S.port)
    eq(p.stdout.strip(), "2 200", "curl --http2-prior-knowledge /healthz -> http_version http_code (stderr %r)" % p.stderr.strip())


def test_http2_h2c_upgrade():
    p = _curl("--http2", "-D", "-", "-w", "\n%{http_version} %{http_code}", "http://127.0.0.1:%d/healthz" % S.port)
    last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    eq(last, "2 200", "curl --http2 (h2c upgrade) /healthz -> http_version http_code (stderr %r)" % p.stderr.strip())
    ok('"ok"' in p.stdout, "curl --http2 /healthz body lacks \"ok\": %r" % p.stdout[-300:])


def test_http2_post_with_body_and_request_id():
    name = uniq("htwo")
    p = _curl("--http2-prior-knowledge", "-D", "-", "-X", "POST",
              "-H", "Authorization: Bearer " + A.token, "-H", "Content-Type: application/json",
              "--data-binary", json.dumps({"name": name, "email": name + "@example.com"}),
              "-w", "\n%{http_version} %{http_code}", "http://127.0.0.1:%d/v1/contacts" % S.port)
    lines = p.stdout.strip().splitlines()
    eq(lines[-1] if lines else "", "2 201", "curl h2 POST /v1/contacts -> version code (stderr %r, out %r)" % (p.stderr.strip(), p.stdout[-300:]))
    hdr = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines if ":" in l and not l.startswith("{")}
    body = json.loads(lines[-2])
    ok(id_re("con_").match(body["data"]["id"]), "h2 POST: id %r" % body["data"]["id"])
    eq(hdr.get("x-request-id"), body.get("request_id"), "h2 POST: X-Request-Id vs body request_id")
    eq(expect(A.get("/v1/contacts/" + body["data"]["id"]), 200)["data"]["name"], name, "h2-created contact over HTTP/1.1")


def test_http2_multiplexed_streams():
    url = "http://127.0.0.1:%d/healthz" % S.port
    args = ["--http2-prior-knowledge", "--parallel", "--parallel-immediate", "-w", "%{http_version} %{http_code}\n"]
    for _ in range(10):
        args += ["-o", "/dev/null", url]
    p = _curl(*args)
    got = p.stdout.split("\n")
    got = [g for g in got if g.strip()]
    eq(got, ["2 200"] * 10, "10 parallel h2 streams: version/code per stream (stderr %r)" % p.stderr.strip()[:300])


# ------------------------------------------------------------ hostile connections

def _chunked(body, size=65536):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def _head(method, path, extra=b""):
    return (method.encode() + b" " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
            A.token.encode() + b"\r\nContent-Type: application/json\r\nConnection: close\r\n" + extra + b"\r\n")


def test_chunked_request_body():
    name = uniq("chunk")
    body = json.dumps({"name": name, "notes": "n" * 5000}).encode()
    status, _, rb = raw_exchange(S.port, _head("POST", "/v1/contacts", b"Transfer-Encoding: chunked\r\n") + _chunked(body, 1000))
    ok(status == 201, "chunked POST /v1/contacts: expected 201, got %s %s" % (status, rb[:300]))
    eq(count(A, "/v1/contacts", {"query": name}), 1, "contacts created by the chunked POST")


def test_chunked_body_over_1mib_is_413():
    n = count(A, "/v1/contacts")
    body = json.dumps({"name": "Big Chunks", "notes": "a" * (1200 * 1024)}).encode()
    status, _, rb = raw_exchange(S.port, _head("POST", "/v1/contacts", b"Transfer-Encoding: chunked\r\n") + _chunked(body))
    ok(status == 413, "chunked POST of %d bytes: expected 413, got %s %s" % (len(body), status, rb[:300]))
    eq(count(A, "/v1/contacts"), n, "contact count after chunked 413")
    _healthy()


def test_garbage_request_is_400_and_server_survives():
    for junk in (b"\x00\x01\x02\xff\xfe garbage\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"POST /v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                 b"POST /v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"):
        s = socket.create_connection(("127.0.0.1", S.port), timeout=HTTP_TIMEOUT)
        try:
            s.sendall(junk)
            data = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            data = b""
        finally:
            s.close()
        ok(data == b"" or data.startswith(b"HTTP/1.1 4") or data.startswith(b"HTTP/1.0 4"),
           "garbage %r: expected a 4xx or a closed connection, got %r" % (junk[:40], data[:80]))
        _healthy()


def test_truncated_body_stores_nothing():
    n = count(A, "/v1/contacts")
    name = uniq("trunc")
    body = json.dumps({"name": name}).encode()
    s = socket.create_connection(("127.0.0.1", S.port), timeout=HTTP_TIMEOUT)
    try:
        s.sendall(_head("POST", "/v1/contacts", b"Content-Length: %d\r\n" % (len(body) + 50)) + body)
        s.shutdown(socket.SHUT_WR)
        try:
            s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        s.close()
    _healthy()
    eq(count(A, "/v1/contacts"), n, "contact count after a truncated body")


def test_idle_connections_do_not_block_others():
    socks = []
    try:
        for _ in range(64):
            socks.append(socket.create_connection(("127.0.0.1", S.port), timeout=HTTP_TIMEOUT))
        socks[0].sendall(b"GET /healthz HTTP/1.1\r\nHo")  # a half-sent request head
        for _ in range(5):
            expect(A.get("/v1/contacts", params={"limit": 1}), 200)
    finally:
        for s in socks:
            s.close()
    _healthy()


# ------------------------------------------------------------ raw HTTP/1.1 (issue 11)
#
# Over raw sockets: the client library would hide a body after HEAD, fix up
# framing, and refuse to send the malformed heads these cases are about.

def _raw(data):
    """Sends bytes on a new connection and reads until the server closes it
    (a reset instead fails the test)."""
    s = socket.create_connection(("127.0.0.1", S.port), timeout=HTTP_TIMEOUT)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered before reading all of it; the answer is what counts
        return read_until_close(s)
    finally:
        s.close()


def _parse(data, head_only=False):
    """One complete response off the front of data (see split_response)."""
    r = split_response(data, head_only)
    ok(r is not None, "no complete response in %r" % data[:300])
    return r


def _json_error(status_line, hdrs, body, status, code, what):
    """The answer is Cairn's JSON error envelope, as strict UTF-8 JSON."""
    ok(status_line.startswith("HTTP/1.1 %d " % status),
       "%s: expected %d, got %r %r" % (what, status, status_line, body[:200]))
    ok(hdrs.get("content-type", "").startswith("application/json"),
       "%s: Content-Type %r, want application/json (body %r)" % (what, hdrs.get("content-type"), body[:200]))
    try:
        j = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise AssertionError("%s: body is not valid UTF-8 JSON (%s): %r" % (what, e, body[:300]))
    err = j.get("error") if isinstance(j, dict) else None
    ok(isinstance(err, dict), "%s: no error object in %r" % (what, j))
    eq(err.get("code"), code, "%s: error code" % what)
    ok(isinstance(err.get("message"), str) and err["message"], "%s: error message %r" % (what, err.get("message")))
    ok(err.get("param") is None or isinstance(err.get("param"), str), "%s: error param %r" % (what, err.get("param")))
    ok(str(j.get("request_id", "")).startswith("req_"), "%s: request_id %r" % (what, j.get("request_id")))
    eq(hdrs.get("x-request-id"), j.get("request_id"), "%s: X-Request-Id vs body request_id" % what)
    return err


def _req(method, path, headers=b"", body=b"", close=True, auth=True):
    h = method.encode() + b" " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if auth:
        h += b"Authorization: Bearer " + A.token.encode() + b"\r\n"
    if body or b"content-length" in headers.lower():
        h += b"Content-Type: application/json\r\n"
    if body and b"content-length" not in headers.lower() and b"transfer-encoding" not in headers.lower():
        h += b"Content-Length: %d\r\n" % len(body)
    if close:
        h += b"Connection: close\r\n"
    return h + headers + b"\r\n" + body


# -- HEAD (finding 3)

def test_head_sends_no_body_and_keeps_the_connection_in_step():
    c = A.create("/v1/contacts", {"name": "Head Check"})
    path = ("/v1/contacts/" + c["id"]).encode()
    r = A.get("/v1/contacts/" + c["id"])
    expect(r, 200)
    get_len = len(r.body)  # request ids have one length, so every GET's body has this one
    data = _raw(_req("HEAD", path, close=False) + _req("GET", b"/healthz"))
    line, hdrs, body, rest = _parse(data, head_only=True)
    ok(line.startswith("HTTP/1.1 200"), "HEAD %s: status line %r" % (path.decode(), line))
    eq(int(hdrs.get("content-length", "-1")), get_len, "HEAD Content-Length (the length GET sends)")
    ok(rest.startswith(b"HTTP/1.1 200"),
       "after a HEAD answer the next bytes must be the next answer's status line, got %r" % rest[:120])
    line2, _, body2, _ = _parse(rest)
    eq(json.loads(body2).get("status"), "ok", "GET /healthz after HEAD on one connection")


def test_head_over_http2():
    for how in ("--http2-prior-knowledge", "--http2"):
        p = _curl(how, "-I", "http://127.0.0.1:%d/healthz" % S.port)
        eq(p.returncode, 0, "curl %s -I /healthz exit code (stderr %r)" % (how, p.stderr.strip()))
        ok("HTTP/2 200" in p.stdout, "curl %s -I /healthz: no 'HTTP/2 200' in %r" % (how, p.stdout[:300]))


# -- control bytes in a path id (finding 4)

PATH_BYTE_CASES = [
    # label, suffix appended to a real id
    ("nul_then_junk", "%00junk"),
    ("nul_at_end", "%00"),
    ("newline", "%0a"),
    ("escape", "%1b"),
    ("del", "%7f"),
]


def _make_path_byte_test(label, suffix):
    def t():
        c = A.create("/v1/contacts", {"name": "Path Byte " + label, "title": "Before"})
        bad = "/v1/contacts/" + c["id"] + suffix
        r = A.get(bad)
        ok(r.status in (400, 404), "GET %s: expected 400 or 404, got %s" % (bad, r.describe()))
        ok(r.error.get("code") in ("validation_failed", "not_found"), "GET %s: error %r" % (bad, r.json))
        r = A.patch(bad, {"title": "After"})
        ok(r.status in (400, 404), "PATCH %s: expected 400 or 404, got %s" % (bad, r.describe()))
        r = A.delete(bad)
        ok(r.status in (400, 404), "DELETE %s: expected 400 or 404, got %s" % (bad, r.describe()))
        d = expect(A.get("/v1/contacts/" + c["id"]), 200)["data"]
        eq(d.get("title"), "Before", "title of %s after PATCH/DELETE of %s" % (c["id"], bad))
    return t


for _c in PATH_BYTE_CASES:
    globals()["test_path_id_with_control_byte_" + _c[0]] = _make_path_byte_test(*_c)


# -- framing: request smuggling (finding 5)

def _smuggle_case(headers, body, marker):
    n = count(A, "/v1/contacts", {"query": marker})
    s = socket.create_connection(("127.0.0.1", S.port), timeout=HTTP_TIMEOUT)
    try:
        s.sendall(_req("POST", b"/v1/contacts", headers, body, close=False))
        s.shutdown(socket.SHUT_WR)
        data = read_until_close(s)  # the server must close: nothing after the answer
    finally:
        s.close()
    line, hdrs, rbody, rest = _parse(data)
    err = _json_error(line, hdrs, rbody, 400, "bad_request", "smuggling attempt")
    eq(hdrs.get("connection", "").lower(), "close", "Connection header of the 400")
    eq(rest, b"", "bytes after the 400 (a second answer means the rest was run as a request)")
    eq(count(A, "/v1/contacts", {"query": marker}), n, "contacts named %s after the refused request" % marker)
    _healthy()
    return err


def test_two_different_content_lengths_are_400_and_close():
    m1, m2 = uniq("smugA"), uniq("smugB")
    first = json.dumps({"name": m1}).encode()
    second = (b"POST /v1/contacts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + A.token.encode() +
              b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(json.dumps({"name": m2})) +
              json.dumps({"name": m2}).encode())
    body = first + second
    hdr = b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(first), len(body))
    _smuggle_case(hdr, body, m1)
    eq(count(A, "/v1/contacts", {"query": m2}), 0, "contacts from the smuggled second request")


def test_content_length_list_with_different_values_is_400():
    m = uniq("smugL")
    body = json.dumps({"name": m}).encode()
    _smuggle_case(b"Content-Length: %d, %d\r\n" % (len(body), len(body) + 1), body, m)


def test_content_length_and_chunked_together_are_400_and_close():
    m = uniq("smugT")
    body = _chunked(json.dumps({"name": m}).encode())
    _smuggle_case(b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", body, m)
    # The other order, which some parsers read differently.
    _smuggle_case(b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n" % len(body), body, m)


def test_equal_content_lengths_are_accepted():
    # RFC 9110 8.6 allows a repeated identical value; nothing ambiguous.
    m = uniq("dupcl")
    body = json.dumps({"name": m}).encode()
    data = _raw(_req("POST", b"/v1/contacts", b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(body), len(body)), body))
    line, _, rbody, _ = _parse(data)
    ok(line.startswith("HTTP/1.1 201"), "POST with two equal Content-Lengths: %r %r" % (line, rbody[:200]))
    eq(count(A, "/v1/contacts", {"query": m}), 1, "contacts created")


# -- limits and malformed heads answered with Cairn's JSON errors (finding 6)

def _many_headers(n, size=8):
    return b"".join(b"X-H%d: %s\r\n" % (i, b"v" * size) for i in range(n))


HEAD_LIMIT_CASES = [
    # label, request bytes (builder), status, code
    ("101_header_fields", lambda: _req("GET", b"/healthz", _many_headers(101 - 2), auth=False), 431, "headers_too_large"),
    ("500_header_fields", lambda: _req("GET", b"/healthz", _many_headers(500), auth=False), 431, "headers_too_large"),
    ("one_17k_header", lambda: _req("GET", b"/healthz", b"X-Big: " + b"a" * (17 * 1024) + b"\r\n", auth=False), 431, "headers_too_large"),
    ("headers_over_16k_in_90_lines", lambda: _req("GET", b"/healthz", _many_headers(90, 200), auth=False), 431, "headers_too_large"),
    ("url_over_8k", lambda: _req("GET", b"/v1/contacts?query=" + b"a" * 9000), 414, "uri_too_long"),
    ("body_over_1mib_not_sent", lambda: _req("POST", b"/v1/contacts", b"Content-Length: %d\r\n" % (2 << 20), b"{"), 413, "payload_too_large"),
    ("body_over_16mib_not_sent", lambda: _req("POST", b"/v1/contacts", b"Content-Length: %d\r\n" % (20 << 20), b"{"), 413, "payload_too_large"),
    ("garbage_line", lambda: b"GARBAGE\r\n\r\n", 400, "bad_request"),
    ("method_only", lambda: b"GET\r\n\r\n", 400, "bad_request"),
    ("no_version", lambda: b"GET /healthz\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ("extra_token", lambda: b"GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ("space_in_target", lambda: b"GET /health z HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ("two_spaces", lambda: b"GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ("binary", lambda: b"\x00\x01\x02\xff\xfe garbage\r\n\r\n", 400, "bad_request"),
    ("bad_version", lambda: b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ("folded_header", lambda: b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", 400, "bad_request"),
    ("space_before_colon", lambda: b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", 400, "bad_request"),
    ("nul_in_header", lambda: b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400, "bad_request"),
    ("negative_length", lambda: b"POST /v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400, "bad_request"),
    ("huge_length", lambda: b"POST /v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400, "bad_request"),
    ("broken_chunk_size", lambda: _req("POST", b"/v1/contacts", b"Transfer-Encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n"), 400, "bad_request"),
    ("unknown_transfer_coding", lambda: _req("POST", b"/v1/contacts", b"Transfer-Encoding: gzip\r\n", b"{}"), 501, "not_implemented"),
]


def _make_head_limit_test(label, build, status, code):
    def t():
        data = _raw(build())
        line, hdrs, body, _ = _parse(data)
        _json_error(line, hdrs, body, status, code, label)
        eq(hdrs.get("connection", "").lower(), "close", "%s: Connection header" % label)
        _healthy()
    return t


for _c in HEAD_LIMIT_CASES:
    globals()["test_json_error_" + _c[0]] = _make_head_limit_test(*_c)


def test_exactly_100_header_fields_are_fine():
    data = _raw(_req("GET", b"/healthz", _many_headers(100 - 3)))  # + Host, Authorization, Connection
    line, _, body, _ = _parse(data)
    ok(line.startswith("HTTP/1.1 200"), "GET /healthz with 100 header fields: %r %r" % (line, body[:200]))


def test_chunked_over_1mib_is_a_json_413():
    body = json.dumps({"name": "Big Chunks", "notes": "a" * (1200 * 1024)}).encode()
    data = _raw(_req("POST", b"/v1/contacts", b"Transfer-Encoding: chunked\r\n", _chunked(body)))
    line, hdrs, rbody, _ = _parse(data)
    _json_error(line, hdrs, rbody, 413, "payload_too_large", "chunked body of %d bytes" % len(body))


def test_expect_continue_over_limit_is_413_before_the_body():
    s = socket.create_connection(("127.0.0.1", S.port), timeout=HTTP_TIMEOUT)
    try:
        s.sendall(_req("POST", b"/v1/contacts", b"Content-Length: %d\r\nExpect: 100-continue\r\n" % (5 << 20)))
        line, hdrs, body, _ = _parse(read_until_close(s))  # answered without a byte of the body
    finally:
        s.close()
    _json_error(line, hdrs, body, 413, "payload_too_large", "Expect: 100-continue with 5 MiB")


def test_expect_continue_within_limit_gets_100_then_201():
    m = uniq("cont")
    body = json.dumps({"name": m}).encode()
    s = socket.create_connection(("127.0.0.1", S.port), timeout=HTTP_TIMEOUT)
    try:
        s.sendall(_req("POST", b"/v1/contacts", b"Content-Length: %d\r\nExpect: 100-continue\r\n" % len(body)))
        first = s.recv(4096)
        ok(first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), "answer to Expect: 100-continue: %r" % first[:100])
        s.sendall(body)
        rest = first[len(b"HTTP/1.1 100 Continue\r\n\r\n"):] + read_until_close(s)
    finally:
        s.close()
    line, _, rbody, _ = _parse(rest)
    ok(line.startswith("HTTP/1.1 201"), "POST after 100 Continue: %r %r" % (line, rbody[:200]))


# -- response headers (finding 7)

def test_status_lines_carry_reason_phrases():
    c = A.create("/v1/contacts", {"name": "Reason"})
    for req, want in ((_req("GET", b"/healthz"), "HTTP/1.1 200 OK"),
                      (_req("GET", b"/v1/no-such-thing"), "HTTP/1.1 404 Not Found"),
                      (_req("GET", b"/v1/contacts", auth=False), "HTTP/1.1 401 Unauthorized"),
                      (_req("PUT", b"/v1/contacts", body=b"{}"), "HTTP/1.1 405 Method Not Allowed"),
                      (_req("POST", b"/v1/contacts", body=json.dumps({"name": "R"}).encode()), "HTTP/1.1 201 Created"),
                      (_req("GET", ("/v1/contacts/" + c["id"]).encode()), "HTTP/1.1 200 OK")):
        line = _parse(_raw(req))[0]
        eq(line, want, "status line of %r" % req.split(b"\r\n")[0])


def test_security_headers_on_every_response():
    reqs = [_req("GET", b"/healthz", auth=False), _req("GET", b"/v1/contacts"),
            _req("POST", b"/v1/contacts", body=json.dumps({"name": "Hdr"}).encode()),
            _req("GET", b"/v1/nope"), _req("GET", b"/v1/contacts", auth=False),
            _req("GET", b"/v1/contacts?limit=zz"), b"GARBAGE\r\n\r\n",
            _req("GET", b"/healthz", _many_headers(150), auth=False)]
    for req in reqs:
        line, hdrs, _, _ = _parse(_raw(req))
        what = "%r -> %s" % (req.split(b"\r\n")[0][:60], line)
        eq(hdrs.get("x-content-type-options"), "nosniff", "%s: X-Content-Type-Options" % what)
        eq(hdrs.get("cache-control"), "no-store", "%s: Cache-Control" % what)
        ok("server" not in hdrs or "h2o" not in hdrs["server"].lower() and "/" not in hdrs["server"],
           "%s: Server header %r leaks the implementation" % (what, hdrs.get("server")))


def test_no_server_version_over_http2():
    p = _curl("--http2-prior-knowledge", "-D", "-", "-o", "/dev/null", "http://127.0.0.1:%d/healthz" % S.port)
    heads = p.stdout.lower()
    ok("h2o" not in heads, "HTTP/2 response headers name h2o: %r" % p.stdout[:300])
    ok("x-content-type-options: nosniff" in heads, "HTTP/2 response lacks nosniff: %r" % p.stdout[:300])


# -- invalid UTF-8 and NUL in the target (finding 8)

UTF8_CASES = [
    # label, raw target, param
    ("query_value", b"/v1/contacts?query=%ff%fe", "query"),
    ("filter_value", b"/v1/contacts?status=act%c3", "status"),
    ("unknown_param_name", b"/v1/contacts?%ff%fe=1", None),
    ("nul_in_value", b"/v1/contacts?status=active%00x", "status"),
    ("overlong_slash_in_path", b"/v1/contacts/%c0%af", None),
    ("path_percent_ff", b"/v1/contacts/con_%ff", None),
    ("raw_bytes_in_path", b"/v1/contacts/con_\xff\xfe", None),
    ("surrogate_in_path", b"/v1/companies/%ed%a0%80", None),
]


def _make_utf8_test(label, target, param):
    def t():
        line, hdrs, body, _ = _parse(_raw(_req("GET", target)))
        err = _json_error(line, hdrs, body, 400, "validation_failed", "GET %r" % target)
        if param is not None:
            eq(err.get("param"), param, "GET %r: error param" % target)
    return t


for _c in UTF8_CASES:
    globals()["test_invalid_utf8_" + _c[0]] = _make_utf8_test(*_c)


def test_valid_utf8_in_query_and_path_still_works():
    name = "Zo\u00eb " + uniq("utf")
    A.create("/v1/contacts", {"name": name})
    eq(count(A, "/v1/contacts", {"query": name}), 1, "search for a name with \u00eb")
    expect(A.get("/v1/contacts/con_%C3%A9t%C3%A9"), 404, "not_found")
