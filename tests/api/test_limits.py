"""Per-key rate limits (DESIGN.md section 2: token bucket, 429 rate_limited
with Retry-After and X-RateLimit-* headers; `serve --key-rate`, per key
`key create --rate`)."""

import time

from harness import Server, eq, expect, ok

S = A = B = None


def setup_module():
    global S, A, B
    S = Server(name="limits", extra_args=["--key-rate", "3"])
    A = S.key("limits-a")
    B = S.key("limits-b")
    S.start()


def teardown_module():
    S.stop_ok()


def _burst(client, n=60):
    return [client.get("/v1/workspace") for _ in range(n)]


def test_rate_limit_429_with_headers():
    rs = _burst(A)
    eq(rs[0].status, 200, "first request of a burst (%s)" % rs[0].describe())
    limited = [r for r in rs if r.status == 429]
    other = [r for r in rs if r.status not in (200, 429)]
    ok(not other, "burst statuses other than 200/429: %s" % [r.describe() for r in other[:2]])
    ok(limited, "60 immediate requests at --key-rate 3 were never limited")
    r = limited[0]
    expect(r, 429, "rate_limited")
    ra = r.headers.get("retry-after", "")
    ok(ra.isdigit(), "429 Retry-After %r is not a number of seconds" % ra)
    for h in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        ok(h in r.headers, "429 lacks header %s (has %s)" % (h, sorted(r.headers)))
    eq(r.headers.get("x-request-id"), r.json.get("request_id"), "429 X-Request-Id vs body request_id")


def test_rate_limit_is_per_key():
    _burst(A)
    expect(B.get("/v1/workspace"), 200)


def test_rate_limit_recovers():
    rs = _burst(A, 30)
    ok(any(r.status == 429 for r in rs), "burst not limited")
    time.sleep(1.5)
    expect(A.get("/v1/workspace"), 200)


def test_per_key_rate_from_key_create():
    srv = Server(name="limits-key")
    try:
        slow = srv.key("limits-k", "all", rate=2)
        fast = srv.key("limits-k")
        srv.start()
        rs = [slow.get("/v1/workspace") for _ in range(40)]
        ok(any(r.status == 429 for r in rs), "key created with --rate 2 was never limited in 40 requests")
        fr = [fast.get("/v1/workspace") for _ in range(40)]
        eq([r.status for r in fr if r.status != 200], [], "non-200 statuses of an unlimited key")
        srv.stop_ok()
    finally:
        srv.kill9()
