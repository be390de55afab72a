"""Harness for Cairn's black-box HTTP tests.

Owns everything a test needs to drive a real `cairn` binary and nothing else:
  - locating the binary (CAIRN_BIN, default build/cairn) and running its CLI;
  - Server: a `cairn serve` process on 127.0.0.1 with a private temp dir,
    started on port 0, stdout pumped into memory, stderr captured to a file;
  - the storage backend: SQLite (a file per server, the default) or, when
    CAIRN_TEST_PG is set (scripts/with-postgres.sh sets it), PostgreSQL: a
    fresh database `t_<unique>` per server, created from that admin URL with
    psql and dropped after its module (new_db/drop_db/db_has_schema, pg_ctl);
  - Client: a key bound to a server, with get/post/patch/delete helpers;
  - Resp: one HTTP exchange (status, headers, json), iterable as a 3-tuple,
    able to describe itself for failure messages;
  - expect()/eq()/ok(): assertions whose messages name the exact request,
    the expected and the actual response, on one line.

Standard library only. Never talks to anything but 127.0.0.1.
Timeouts scale with CAIRN_TIMEOUT_SCALE (default 1; ASan runs are ~3x slower,
and the defaults below already leave a wide margin).
"""

import atexit
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCALE = float(os.environ.get("CAIRN_TIMEOUT_SCALE", "1") or "1")
HTTP_TIMEOUT = 30.0 * SCALE
START_TIMEOUT = 30.0 * SCALE
STOP_TIMEOUT = 20.0 * SCALE
CLI_TIMEOUT = 30.0 * SCALE

_all_scopes = None


def all_scopes():
    """Every scope a key can hold, as the binary lists them from its table
    (`cairn key --help`), so a scope added there needs no edit here."""
    global _all_scopes
    if _all_scopes is None:
        out = cli("key", "--help").stdout
        line = [l for l in out.splitlines() if l.startswith("scopes:")]
        if not line:
            raise HarnessError("cairn key --help lists no scopes:\n" + out)
        _all_scopes = line[0].split()[1:]
    return _all_scopes

# tests/contract/check.py sends this suite once through a validating proxy
# (Prism): with CAIRN_TEST_PROXY=PORT, Server.request goes there, and
# tests/contract/proxy_hook.py says which requests can and records what the
# proxy reports. Raw-socket and curl tests always reach the server itself.
proxy_hook = None
if os.environ.get("CAIRN_TEST_PROXY"):
    sys.path.insert(0, os.path.join(ROOT, "tests", "contract"))
    import proxy_hook

LISTEN_RE = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def id_re(prefix):
    return re.compile(r"^" + re.escape(prefix) + r"[0-9A-Za-z]{26}$")


class HarnessError(Exception):
    """The harness itself could not do its job (binary missing, no listen line)."""


class Skip(Exception):
    """Raised by a test (or setup_module) that does not apply to this run; counted as skipped."""


def skip(reason):
    raise Skip(reason)


class ExpectedFailure(Skip):
    """A known server bug a test still finds (counted as skipped, printed as
    SKIP ... - expected failure: ...); the test fails once it is fixed."""


def xfail(reason):
    raise ExpectedFailure("expected failure: " + reason)


# ---------------------------------------------------------------- paths

def binary():
    b = os.environ.get("CAIRN_BIN") or "build/cairn"
    if not os.path.isabs(b) and not os.path.exists(b):
        alt = os.path.join(ROOT, b)
        if os.path.exists(alt):
            b = alt
    return os.path.abspath(b)


_tmp_root = None


def tmpdir(prefix="t"):
    """A fresh directory under one per-run root, removed at exit."""
    global _tmp_root
    if _tmp_root is None:
        _tmp_root = tempfile.mkdtemp(prefix="cairn-api-")
    return tempfile.mkdtemp(prefix=prefix + "-", dir=_tmp_root)


def _cleanup_tmp():
    if _tmp_root and not os.environ.get("CAIRN_TEST_KEEP"):
        shutil.rmtree(_tmp_root, ignore_errors=True)


_counter = [0]
_counter_lock = threading.Lock()


def uniq(prefix="x"):
    """A short name unique within this run (safe in search tokens: letters+digits)."""
    with _counter_lock:
        _counter[0] += 1
        n = _counter[0]
    return "%s%d%s" % (prefix, n, format(int(time.time() * 1000) % 1000000, "x"))


# ---------------------------------------------------------------- backend

PG_ADMIN = os.environ.get("CAIRN_TEST_PG") or ""
PG_CTL = os.environ.get("CAIRN_TEST_PG_CTL") or ""
PG_TIMEOUT = 60.0 * SCALE


def backend():
    """'postgres' when CAIRN_TEST_PG is set, else 'sqlite'."""
    return "postgres" if PG_ADMIN else "sqlite"


def is_pg_url(db):
    return str(db).startswith(("postgres://", "postgresql://"))


def _redact(url):
    """The URL without a password (there is none with trust auth, but never print one)."""
    u = urllib.parse.urlsplit(url)
    if u.password:
        netloc = "%s:***@%s" % (u.username or "", u.hostname or "")
        if u.port:
            netloc += ":%d" % u.port
        u = u._replace(netloc=netloc)
    return urllib.parse.urlunsplit(u)


def psql_bin():
    cands = []
    if os.environ.get("CAIRN_TEST_PG_BIN"):
        cands.append(os.path.join(os.environ["CAIRN_TEST_PG_BIN"], "psql"))
    cands += ["/usr/lib/postgresql/15/bin/psql", "/usr/bin/psql"]
    for c in cands:
        if os.path.exists(c):
            return c
    raise HarnessError("psql not found (tried %s)" % ", ".join(cands))


def psql(sql, url=None, timeout=None):
    """Run one SQL command with psql (unaligned, tuples only); returns stdout. Raises HarnessError."""
    url = url or PG_ADMIN
    try:
        p = subprocess.run([psql_bin(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout or PG_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise HarnessError("psql %s -c %r: no answer within %.0fs" % (_redact(url), sql, timeout or PG_TIMEOUT))
    if p.returncode != 0:
        raise HarnessError("psql %s -c %r: exit %d: %s" % (_redact(url), sql, p.returncode, p.stderr.strip()[-400:]))
    return p.stdout


def pg_url(dbname):
    """The admin URL with its database replaced by dbname."""
    u = urllib.parse.urlsplit(PG_ADMIN)
    return urllib.parse.urlunsplit(u._replace(path="/" + dbname))


def describe_backend():
    if not PG_ADMIN:
        return "sqlite (a database file per server)"
    return "postgres %s (a fresh database per server)" % _redact(PG_ADMIN)


_pg_dbs = []          # URLs of the databases this run created and has not dropped yet
_pg_lock = threading.Lock()


def new_db(name="db", dir=None):
    """A fresh, empty database for one server or CLI test.

    SQLite: DIR/cairn.db (DIR defaults to a new temp dir); the file does not
    exist yet. PostgreSQL: CREATE DATABASE t_<unique> on CAIRN_TEST_PG and
    its URL (the schema is the server's/CLI's job).
    """
    if not PG_ADMIN:
        return os.path.join(dir or tmpdir(name), "cairn.db")
    with _counter_lock:
        _counter[0] += 1
        n = _counter[0]
    tag = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:24]
    dbname = ("t_%d_%d_%s_%s" % (os.getpid(), n, format(int(time.time() * 1000) % 0xFFFFFF, "x"), tag)).rstrip("_")
    psql('CREATE DATABASE "%s"' % dbname)
    url = pg_url(dbname)
    with _pg_lock:
        _pg_dbs.append(url)
    return url


def db_mark():
    """Position in the list of created databases (for drop_dbs_since)."""
    with _pg_lock:
        return len(_pg_dbs)


def drop_db(db):
    """Best effort: drop a PostgreSQL database this run created (no-op for SQLite paths)."""
    if not is_pg_url(db):
        return
    with _pg_lock:
        if db in _pg_dbs:
            _pg_dbs.remove(db)
    if os.environ.get("CAIRN_TEST_KEEP"):
        return
    name = urllib.parse.urlsplit(db).path.lstrip("/")
    try:
        psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name, timeout=30 * SCALE)
    except HarnessError:
        pass


def drop_dbs_since(mark):
    with _pg_lock:
        doomed = _pg_dbs[mark:]
    for db in doomed:
        drop_db(db)


def db_has_schema(db):
    """Whether `db` holds a Cairn database: the SQLite file exists, or the
    PostgreSQL database has at least one table outside the system schemas."""
    if not is_pg_url(db):
        return os.path.exists(db)
    out = psql("SELECT count(*) FROM pg_catalog.pg_tables"
               " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')", url=db)
    return int(out.strip() or "0") > 0


def pg_ctl(action, timeout=None):
    """Stop or start the throwaway cluster (CAIRN_TEST_PG_CTL stop|start|status); returns the exit code."""
    if not PG_CTL:
        raise HarnessError("CAIRN_TEST_PG_CTL is not set (run under scripts/with-postgres.sh)")
    try:
        p = subprocess.run(shlex.split(PG_CTL) + [action], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout or PG_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise HarnessError("%s %s: did not finish within %.0fs" % (PG_CTL, action, timeout or PG_TIMEOUT))
    if action != "status" and p.returncode != 0:
        raise HarnessError("%s %s: exit %d: %s" % (PG_CTL, action, p.returncode, (p.stderr or p.stdout).strip()[-400:]))
    return p.returncode


def pg_wait_ready(timeout=None):
    """Poll the admin database until it answers (after pg_ctl start)."""
    deadline = time.time() + (timeout or PG_TIMEOUT)
    while True:
        try:
            psql("SELECT 1", timeout=5)
            return
        except HarnessError as e:
            if time.time() > deadline:
                raise HarnessError("PostgreSQL does not answer: %s" % e)
        time.sleep(0.2)


# ---------------------------------------------------------------- CLI

def cli(*args, cwd=None, timeout=None):
    """Run `cairn ARGS...`; returns CompletedProcess (text). Never raises on exit code."""
    b = binary()
    if not os.path.exists(b):
        raise HarnessError("binary not found: %s (set CAIRN_BIN or run make)" % b)
    try:
        return subprocess.run([b] + [str(a) for a in args], cwd=cwd or tmpdir("cwd"),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout or CLI_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("cairn %s: did not exit within %.0fs" % (" ".join(map(str, args)), e.timeout))


def cli_json(*args):
    """Run a CLI command that must succeed and print one JSON object."""
    p = cli(*args)
    if p.returncode != 0:
        raise AssertionError("cairn %s: exit %d, stderr: %s" % (" ".join(map(str, args)), p.returncode, p.stderr.strip()[-400:]))
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise AssertionError("cairn %s: stdout is not one JSON object: %r" % (" ".join(map(str, args)), p.stdout[:400]))


def parse_json_listing(text):
    """`key list` / `workspace list` print a JSON array or JSON lines."""
    text = text.strip()
    if not text:
        return []
    try:
        v = json.loads(text)
        if isinstance(v, list):
            return v
        if isinstance(v, dict) and isinstance(v.get("data"), list):
            return v["data"]
        return [v]
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def create_key(db, workspace, scopes="all", super_admin=False, name=None, rate=None, max_concurrent=None):
    args = ["key", "create", "--db", db, "--workspace", workspace, "--scopes", scopes]
    if super_admin:
        args.append("--super-admin")
    if name:
        args += ["--name", name]
    if rate is not None:
        args += ["--rate", rate]
    if max_concurrent is not None:
        args += ["--max-concurrent", max_concurrent]
    k = cli_json(*args)
    if not str(k.get("token", "")).startswith("ck_"):
        raise AssertionError("key create printed no ck_ token: %r" % k)
    return k


# ---------------------------------------------------------------- HTTP

def _short(b, n=400):
    if b is None:
        return "null"
    if isinstance(b, (bytes, bytearray)):
        s = b.decode("utf-8", "replace")
    elif isinstance(b, str):
        s = b
    else:
        s = json.dumps(b)
    s = s.replace("\r", "\\r").replace("\n", "\\n")
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


class Resp:
    """One exchange. Iterates as (status, headers, json); headers keys are lower-case."""

    def __init__(self, method, path, req_body, req_headers, status, headers, body):
        self.method, self.path, self.req_body, self.req_headers = method, path, req_body, req_headers
        self.status, self.headers, self.body = status, headers, body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __iter__(self):
        return iter((self.status, self.headers, self.json))

    @property
    def data(self):
        return (self.json or {}).get("data") if isinstance(self.json, dict) else None

    @property
    def error(self):
        e = (self.json or {}).get("error") if isinstance(self.json, dict) else None
        return e if isinstance(e, dict) else {}

    def request_line(self):
        extra = []
        for h in ("Content-Type", "Idempotency-Key"):
            if h in self.req_headers:
                extra.append("%s: %s" % (h, self.req_headers[h]))
        auth = self.req_headers.get("Authorization")
        if auth is not None:
            extra.append("Authorization: " + (auth[:16] + "..." if len(auth) > 16 else auth))
        s = "%s %s" % (self.method, _short(self.path, 160))
        if extra:
            s += " [" + "; ".join(extra) + "]"
        if self.req_body is not None:
            s += " body=" + _short(self.req_body, 240)
        return s

    def describe(self):
        return "%s -> %s %s" % (self.request_line(), self.status, _short(self.body))


def _headers_dict(msg):
    d = {}
    for k, v in msg.items():
        k = k.lower()
        d[k] = d[k] + ", " + v if k in d else v
    return d


def _qs(path, params):
    if not params:
        return path
    return path + ("&" if "?" in path else "?") + urllib.parse.urlencode(params)


class Server:
    """A `cairn serve` process with its own temp dir and database.

    The database is new_db(): DIR/cairn.db on SQLite, a fresh PostgreSQL
    database when CAIRN_TEST_PG is set. db=OTHER.db makes a second node on
    the same database (PostgreSQL). env: variables added to the server's
    environment at each start (e.g. the webhook worker's CAIRN_WEBHOOK_*).
    """

    instances = []
    _live = set()

    def __init__(self, threads=2, extra_args=(), db_dir=None, name="srv", db=None, env=None):
        self.dir = db_dir or tmpdir(name)
        self.env = dict(env or {})  # added to the test's environment at each start
        self.db = db or new_db(name, self.dir)
        self.threads = threads
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.stdout_lines = []
        self.starts = 0
        self._cv = threading.Condition()
        self._eof = True
        Server.instances.append(self)

    # -- keys (CLI against this server's db; may run before or during serve)
    def key(self, workspace, scopes="all", **kw):
        return Client(self, create_key(self.db, workspace, scopes, **kw))

    # -- process lifecycle
    def start(self):
        b = binary()
        if not os.path.exists(b):
            raise HarnessError("binary not found: %s (set CAIRN_BIN or run make)" % b)
        self.starts += 1
        self.stderr_path = os.path.join(self.dir, "stderr.%d.log" % self.starts)
        self.stdout_path = os.path.join(self.dir, "stdout.%d.log" % self.starts)
        self.stdout_lines = []
        errf = open(self.stderr_path, "wb")
        args = [b, "serve", "--listen", "127.0.0.1:0", "--db", self.db,
                "--threads", str(self.threads)] + self.extra_args
        env = dict(os.environ, **self.env) if self.env else None
        proc = subprocess.Popen(args, cwd=self.dir, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=errf,
                                start_new_session=True, env=env)
        errf.close()
        # Both under the lock: the pump of a process killed just before
        # may end now, and it marks the end of output only for self.proc.
        with self._cv:
            self.proc = proc
            self._eof = False
        Server._live.add(self)
        self._pump_thread = threading.Thread(target=self._pump, args=(self.proc,), daemon=True)
        self._pump_thread.start()
        deadline = time.time() + START_TIMEOUT
        with self._cv:
            while True:
                m = self._listen_match()
                if m or self._eof:
                    break
                left = deadline - time.time()
                if left <= 0:
                    break
                self._cv.wait(min(left, 0.2))
        if not m:
            why = "exited with %s" % self.proc.poll() if self._eof else "no listen line within %.0fs" % START_TIMEOUT
            self.kill9()
            raise HarnessError("cairn serve %s; stdout=%r stderr tail: %s" % (
                why, self.stdout_lines[-5:], " | ".join(self.stderr_tail(8))))
        self.port = int(m.group(1))
        return self

    def _listen_match(self):
        for line in self.stdout_lines:
            m = LISTEN_RE.search(line)
            if m:
                return m
        return None

    def _pump(self, proc):
        with open(self.stdout_path, "ab") as f:
            for raw in proc.stdout:
                f.write(raw)
                f.flush()
                with self._cv:
                    self.stdout_lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                    self._cv.notify_all()
        with self._cv:
            # A killed process's pump may end after a restart began: only
            # the current process's end of output counts.
            if proc is self.proc:
                self._eof = True
            self._cv.notify_all()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Signal the server and wait; returns its exit code (SIGKILLs and raises on hang)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout or STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill9()
                raise AssertionError("server did not exit within %.0fs after signal %d" % (timeout or STOP_TIMEOUT, sig))
        rc = self.proc.returncode
        Server._live.discard(self)
        self._pump_thread.join(5)
        return rc

    def stop_ok(self):
        """SIGTERM and require exit code 0."""
        rc = self.stop()
        if rc != 0:
            raise AssertionError("server exited with code %s after SIGTERM (want 0); stderr tail: %s" % (
                rc, " | ".join(self.stderr_tail(8))))

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        Server._live.discard(self)

    def stderr_tail(self, n=12):
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - 8192))
                lines = f.read().decode("utf-8", "replace").splitlines()
            return lines[-n:]
        except (OSError, AttributeError):
            return []

    # -- HTTP
    def request(self, method, path, body=None, raw=None, token=None, headers=None,
                ctype="application/json", params=None, timeout=None, direct=False):
        """One request on a fresh connection.

        body: a Python value sent as JSON; raw: bytes sent as is; ctype: the
        Content-Type sent with a body (None: no header); params: query dict;
        direct: never through the contract proxy (routes the OpenAPI
        document leaves to another specification, such as MCP's /mcp).
        """
        path = _qs(path, params)
        hdrs = {}
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
        elif raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        if data is not None and ctype is not None:
            hdrs["Content-Type"] = ctype
        hdrs.update(headers or {})
        port = self.port
        ct = next((v for k, v in hdrs.items() if k.lower() == "content-type"), None)
        if proxy_hook and not direct and proxy_hook.proxyable(data, ct):
            hdrs[proxy_hook.UPSTREAM_HEADER] = str(self.port)
            port = proxy_hook.PORT
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout or HTTP_TIMEOUT)
        try:
            try:
                conn.request(method, path, body=data, headers=hdrs)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer early (413) and stop reading
            r = conn.getresponse()
            rb = r.read()
            resp = Resp(method, path, body if body is not None else raw, hdrs, r.status,
                        _headers_dict(r.msg), rb)
            if port != self.port:
                proxy_hook.observe(resp)
            return resp
        finally:
            conn.close()


class Client:
    """A key bound to a server: client.get('/v1/contacts', params={...})."""

    def __init__(self, server, key):
        self.server = server
        self.key = key
        self.token = key["token"]
        self.id = key.get("id")
        self.workspace_id = key.get("workspace_id")

    def request(self, method, path, **kw):
        kw.setdefault("token", self.token)
        return self.server.request(method, path, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def create(self, path, body, **kw):
        """POST that must answer 201; returns data."""
        return expect(self.post(path, body, **kw), 201)["data"]


def raw_exchange(port, data, timeout=None):
    """Send raw bytes on a new socket, read one HTTP response.

    Returns (status, headers, body) or raises AssertionError when the server
    closed the connection without a response.
    """
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout or HTTP_TIMEOUT)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = http.client.HTTPResponse(s, method="GET")
        try:
            r.begin()
        except (http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine) as e:
            raise AssertionError("server closed the connection without an HTTP response (%s: %s)" % (type(e).__name__, e))
        body = r.read()
        return r.status, _headers_dict(r.msg), body
    finally:
        s.close()


def read_until_close(s):
    """Every byte the server sends on socket s until it closes it. Raises
    AssertionError on a reset (a clean close is the point of many callers)
    or when the socket's timeout passes first."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            raise AssertionError("connection reset instead of closed (after %r)" % data[:200])
        except socket.timeout:
            raise AssertionError("connection neither answered nor closed in time (got %r)" % data[:300])
        if not chunk:
            return data
        data += chunk


def split_response(data, head_only=False):
    """One HTTP/1.x response off the front of raw bytes: (status line,
    {lower-case name: value}, body, the bytes after it), or None while its
    head or body is incomplete. head_only: the answer to a HEAD (no body,
    whatever Content-Length says)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].split(b"\r\n")
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        hdrs[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    n = 0 if head_only else int(hdrs.get("content-length", "0"))
    if len(data) < end + 4 + n:
        return None
    return lines[0].decode("latin-1"), hdrs, data[end + 4:end + 4 + n], data[end + 4 + n:]


# ---------------------------------------------------------------- assertions

_MISSING = object()


def expect(resp, status, code=None, param=_MISSING, message_has=()):
    """Assert status (and error code/param/message fragments); returns resp.json."""
    bad = resp.status != status
    if code is not None and resp.error.get("code") != code:
        bad = True
    if param is not _MISSING and resp.error.get("param") != param:
        bad = True
    msg = resp.error.get("message") or ""
    for frag in message_has:
        if frag.lower() not in msg.lower():
            bad = True
    if status < 400 and not isinstance(resp.json, dict):
        bad = True
    if bad:
        want = str(status)
        if code is not None:
            want += " " + code
        if param is not _MISSING:
            want += " param=%s" % param
        if message_has:
            want += " message containing %s" % list(message_has)
        raise AssertionError("%s: expected %s, got %s %s" % (
            resp.request_line(), want, resp.status, _short(resp.body)))
    return resp.json


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s: expected %s, got %s" % (what, _short(expected, 300), _short(actual, 300)))


def ok(cond, what):
    if not cond:
        raise AssertionError(what)


def check_record(rec, prefix, what="record", custom_fields=True):
    """Every record has a well-formed id, created_at, updated_at and custom_fields."""
    ok(isinstance(rec, dict), "%s is not an object: %s" % (what, _short(rec)))
    ok(id_re(prefix).match(str(rec.get("id"))), "%s id %r is not %s + 26 chars" % (what, rec.get("id"), prefix))
    for f in ("created_at", "updated_at"):
        ok(TIME_RE.match(str(rec.get(f))), "%s %s %r is not RFC 3339 UTC with ms" % (what, f, rec.get(f)))
    ok(not custom_fields or isinstance(rec.get("custom_fields"), dict), "%s custom_fields is not an object: %r" % (what, rec.get("custom_fields")))


def list_all(client, path, params=None, limit=100, max_pages=500):
    """Walk next_cursor; returns every item. Fails on non-200 or a cursor loop."""
    items, cursor, seen = [], None, set()
    for _ in range(max_pages):
        q = dict(params or {})
        q["limit"] = limit
        if cursor:
            q["cursor"] = cursor
        j = expect(client.get(path, params=q), 200)
        ok(isinstance(j.get("data"), list), "GET %s: data is not a list" % path)
        ok("next_cursor" in j, "GET %s: list response has no next_cursor key" % path)
        items += j["data"]
        cursor = j["next_cursor"]
        if cursor is None:
            return items
        ok(cursor not in seen, "GET %s: next_cursor repeats (%s)" % (path, cursor))
        seen.add(cursor)
    raise AssertionError("GET %s: more than %d pages" % (path, max_pages))


def count(client, path, params=None):
    return len(list_all(client, path, params))


def ids(items):
    return [x.get("id") for x in items]


_MEMBERS = {}


def member(client, label="Owner"):
    """The id of the member named `label` in client's workspace, made on
    first use: every owner_id and assignee_id names a member."""
    k = (client.server.db, client.workspace_id, label)
    if k not in _MEMBERS:
        _MEMBERS[k] = client.create("/v1/members", {"name": label})["id"]
    return _MEMBERS[k]


# ---------------------------------------------------------------- cleanup

def _kill_all():
    for s in list(Server._live):
        s.kill9()
    drop_dbs_since(0)
    _cleanup_tmp()


atexit.register(_kill_all)
