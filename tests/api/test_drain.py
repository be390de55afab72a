"""SIGTERM on a server with open HTTP/1.1 connections: requests still
arriving on them while in-flight work drains are answered (with
Connection: close), a request whose body is still coming in is finished
and acknowledged durably, idle keep-alive connections are closed cleanly
(FIN, never a reset), and the server exits 0. Over raw sockets: a client
library would hide a reset behind a retry."""

import json
import os
import signal
import socket
import time

from harness import (HTTP_TIMEOUT, SCALE, STOP_TIMEOUT, Server, eq, expect, ok, read_until_close,
                     split_response, uniq)


def _conn(port):
    return socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT)


def _read_answer(s):
    """One response on s: (status line, headers, body). Raises on a reset
    or a close before a complete answer; bytes after it fail the test."""
    data = b""
    while True:
        r = split_response(data)
        if r:
            eq(r[3], b"", "bytes after the answer")
            return r[:3]
        try:
            c = s.recv(65536)
        except ConnectionResetError:
            raise AssertionError("connection reset while waiting for an answer (got %r)" % data[:200])
        if not c:
            raise AssertionError("connection closed without an answer (got %r)" % data[:200])
        data += c


def _wait_eof(s, what):
    """The server closes s cleanly: a FIN, not a reset, and nothing more."""
    s.settimeout(STOP_TIMEOUT)
    try:
        eq(read_until_close(s), b"", "%s: bytes after the last answer" % what)
    except AssertionError as e:
        raise AssertionError("%s: %s" % (what, e))


def _get(path, token=None, close=False):
    h = b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if token:
        h += b"Authorization: Bearer " + token.encode() + b"\r\n"
    if close:
        h += b"Connection: close\r\n"
    return h + b"\r\n"


def test_requests_on_open_connections_are_answered_while_draining():
    srv = Server(name="drain")
    k = srv.key("drain-ws")
    srv.start()
    slow = idle = None
    try:
        # An upload in progress: its head and half its body are in.
        name = uniq("drain")
        body = json.dumps({"name": name, "notes": "n" * 2000}).encode()
        slow = _conn(srv.port)
        slow.sendall(b"POST /v1/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + k.token.encode() +
                     b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:1000])
        # A keep-alive connection that has been used once and sits idle.
        idle = _conn(srv.port)
        idle.sendall(_get("/healthz"))
        line, hdrs, _ = _read_answer(idle)
        ok(line.startswith("HTTP/1.1 200"), "first request on the keep-alive connection: %r" % line)
        ok(hdrs.get("connection", "").lower() != "close", "keep-alive answer says Connection: close")

        os.kill(srv.proc.pid, signal.SIGTERM)
        time.sleep(1.0 * SCALE)  # well past the old 300 ms drain

        # A request arriving on the open connection during the drain.
        idle.sendall(_get("/v1/workspace", k.token))
        line, hdrs, b = _read_answer(idle)
        ok(line.startswith("HTTP/1.1 200") or line.startswith("HTTP/1.1 503"),
           "request on an open connection while draining: %r %r" % (line, b[:200]))
        eq(hdrs.get("connection", "").lower(), "close", "Connection header of an answer while draining")
        _wait_eof(idle, "keep-alive connection after its answer while draining")

        # The upload finishes; it is answered and acknowledged.
        slow.sendall(body[1000:])
        line, hdrs, b = _read_answer(slow)
        ok(line.startswith("HTTP/1.1 201"), "upload completed while draining: %r %r" % (line, b[:200]))
        cid = json.loads(b)["data"]["id"]
        eq(hdrs.get("connection", "").lower(), "close", "Connection header of the upload's answer")
        _wait_eof(slow, "upload connection after its answer")

        eq(srv.stop(), 0, "exit code after SIGTERM")
        srv.start()
        eq(expect(k.get("/v1/contacts/" + cid), 200)["data"]["name"], name, "the acknowledged upload after restart")
        srv.stop_ok()
    finally:
        for s in (slow, idle):
            if s:
                s.close()
        srv.kill9()


def test_idle_keepalive_connections_are_closed_cleanly():
    srv = Server(name="drainidle")
    srv.start()
    socks = []
    try:
        for _ in range(4):
            s = _conn(srv.port)
            s.sendall(_get("/healthz"))
            line, _, _ = _read_answer(s)
            ok(line.startswith("HTTP/1.1 200"), "request before SIGTERM: %r" % line)
            socks.append(s)
        t0 = time.time()
        os.kill(srv.proc.pid, signal.SIGTERM)
        for i, s in enumerate(socks):
            _wait_eof(s, "idle keep-alive connection %d" % i)
        # A closed connection: the server is still lingering on it, so even
        # a request sent now is read and dropped, not answered with a reset.
        socks[0].sendall(_get("/healthz"))
        time.sleep(0.2)  # a reset, if one came, would be here by now
        _wait_eof(socks[0], "request sent after the server's FIN")
        eq(srv.stop(), 0, "exit code after SIGTERM")
        ok(time.time() - t0 < 10 * SCALE, "drain of idle connections took %.1fs" % (time.time() - t0))
    finally:
        for s in socks:
            s.close()
        srv.kill9()
