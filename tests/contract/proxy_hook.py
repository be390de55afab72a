"""What tests/api/harness.py asks when the API suite runs through the
validating proxy (tests/contract/check.py sets CAIRN_TEST_PROXY).

Owns two decisions, so the harness keeps only a few lines:
  - proxyable(): whether a request can go through Prism unchanged. Prism
    parses a JSON body and sends its own serialisation upstream, so a body
    it cannot parse (hostile JSON: invalid UTF-8, deep nesting), or one
    that would not come out the same (duplicate keys, integers past 2^53),
    goes straight to the server, as raw-socket tests do; so does any other
    body that is not UTF-8 (a text/csv import's bad bytes), which Prism
    would pass on as U+FFFD;
  - observe(): records every proxied exchange that carries Prism's
    sl-violations header (or that Prism answered itself) as one JSON line
    in CAIRN_TEST_CONTRACT_LOG, with the test that made it. check.py
    judges the lines after the run.

Standard library only.
"""

import atexit
import json
import os
import sys
import threading

PORT = int(os.environ.get("CAIRN_TEST_PROXY") or 0)
LOG = os.environ.get("CAIRN_TEST_CONTRACT_LOG") or ""
# The header that tells check.py's router which server a request is for.
UPSTREAM_HEADER = "X-Cairn-Upstream"
# ... and the one its answer carries when that server could not be reached.
UNREACHABLE_HEADER = "X-Cairn-Unreachable"

_lock = threading.Lock()
_counts = {"proxied": 0, "direct": 0}
JS_SAFE = 2 ** 53


class _NotSame(Exception):
    pass


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise _NotSame("duplicate key")
    return dict(pairs)


def _safe_int(s):
    n = int(s)
    if abs(n) > JS_SAFE:
        raise _NotSame("integer past 2^53")
    return n


def _survives_prism(data):
    """Whether Prism's JSON.parse + JSON.stringify leaves data's meaning as is."""
    try:
        json.loads(data.decode("utf-8", "strict"), object_pairs_hook=_no_duplicates,
                   parse_int=_safe_int)
        return True
    except (_NotSame, ValueError, RecursionError):
        return False


def _utf8(data):
    try:
        data.decode("utf-8", "strict")
        return True
    except ValueError:
        return False


def proxyable(data, ctype):
    """data: the body bytes or None; ctype: the Content-Type sent or None."""
    if data is not None and not (ctype or "").lower().startswith("application/json"):
        # Prism reads any other body as UTF-8 text: ill-formed bytes would
        # reach the server as U+FFFD.
        ok = _utf8(data)
    else:
        ok = data is None or _survives_prism(data)
    with _lock:
        _counts["proxied" if ok else "direct"] += 1
    return ok


def _test_name():
    """module::test of the running test: run.py's loop knows the name a
    test was registered under (tables of cases make functions named t)."""
    f, fallback = sys._getframe(2), "?"
    while f is not None:
        base = os.path.basename(f.f_code.co_filename)
        if base == "run.py" and "modname" in f.f_locals and "n" in f.f_locals:
            return "%s::%s" % (f.f_locals["modname"], f.f_locals["n"])
        if fallback == "?" and base.startswith("test_") and base.endswith(".py"):
            fallback = "%s::%s" % (base[:-3], f.f_code.co_name)
        f = f.f_back
    return fallback


def observe(resp):
    """Records resp (a harness.Resp that went through the proxy) when Prism
    reported violations on it or answered it itself. When the router could
    not reach the server (stopped, killed), raises the ConnectionError the
    test would have seen without the proxy in between."""
    gone = resp.headers.get(UNREACHABLE_HEADER.lower())
    if gone:
        raise ConnectionResetError("through the contract proxy: %s" % gone)
    raw = resp.headers.get("sl-violations")
    prism_own = (resp.headers.get("content-type") or "").startswith("application/problem+json")
    if not raw and not prism_own:
        return
    try:
        violations = json.loads(raw) if raw else []
    except ValueError:
        violations = [{"location": ["response"], "message": "unreadable sl-violations: %s" % raw[:200]}]
    err = resp.error
    rec = {
        "test": _test_name(),
        "request": resp.request_line(),
        "status": resp.status,
        "error_code": err.get("code") if isinstance(err, dict) else None,
        "prism_own": prism_own,
        "violations": violations,
        "body": resp.body[:300].decode("utf-8", "replace") if prism_own else None,
    }
    if LOG:
        with _lock, open(LOG, "a") as f:
            f.write(json.dumps(rec) + "\n")


def _write_counts():
    if LOG:
        with _lock, open(LOG, "a") as f:
            f.write(json.dumps({"counts": _counts}) + "\n")


atexit.register(_write_counts)
