"""Writers (`cairn serve --writers N`): SQLite takes one, and any other
count is refused at start with a message; PostgreSQL takes several, each
workspace's writes going to one of them by a hash of its id (FNV-1a 64, as
src/api/writer.c routes). On PostgreSQL a write of workspace A held in the
database (by the advisory lock its Idempotency-Key takes) keeps A's next
write waiting, in order, while a workspace on another writer is answered
meanwhile; once the lock goes, both of A's writes complete."""

import os
import subprocess
import threading
import time

from harness import (HTTP_TIMEOUT, SCALE, Client, Server, backend, binary, create_key, eq, expect,
                     new_db, ok, psql, psql_bin, uniq)

WRITERS = 3


def _fnv1a(s):
    """The writer's choice of writer: FNV-1a 64 of the workspace id (core/ids.c hash_str)."""
    h = 14695981039346656037
    for b in s.encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def _refused(args, env=None, want=""):
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30 * SCALE, env=env)
    eq(p.returncode, 2, "%s: exit status (stderr %r)" % (" ".join(args[1:]), p.stderr.strip()[-200:]))
    ok(want in p.stderr, "%s: stderr %r does not say %r" % (" ".join(args[1:]), p.stderr.strip(), want))


def test_writer_counts_refused():
    db = new_db("writers-flags")
    create_key(db, "writers-flags")
    b = binary()
    serve = [b, "serve", "--listen", "127.0.0.1:0", "--db", db]
    _refused(serve + ["--writers", "33"], want="--writers wants 1 to 32")
    _refused(serve + ["--writers", "-1"], want="'--writers' wants a number")
    _refused(serve + ["--writers", "two"], want="'--writers' wants a number")
    _refused(serve, env=dict(os.environ, CAIRN_WRITERS="x"), want="CAIRN_WRITERS wants a number")
    if backend() == "sqlite":
        _refused(serve + ["--writers", "2"], want="a SQLite database takes one writer")


def test_sqlite_one_writer_serves():
    if backend() != "sqlite":
        return
    s = Server(name="writers-one", extra_args=["--writers", "1"])
    c = s.key("writers-one")
    s.start()
    try:
        expect(c.post("/v1/contacts", {"first_name": "One", "last_name": "Writer"}), 201)
    finally:
        s.stop_ok()


class _Locker:
    """A psql session holding a session-level advisory lock until close()."""

    def __init__(self, url, ws, key):
        self.p = subprocess.Popen([psql_bin(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        # The key of store_idem_get's lock (postgres.c, space 0).
        self.p.stdin.write("SELECT 'locked' FROM (SELECT pg_advisory_lock(hashtextextended('%s' || ' ' || '%s', 0))) x;\n"
                           % (ws, key))
        self.p.stdin.flush()
        line = self.p.stdout.readline().strip()
        if line != "locked":
            self.close()
            raise AssertionError("psql did not take the advisory lock: %r %r" % (line, self.p.stderr.read()))

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("\\q\n")
                self.p.stdin.close()
                self.p.wait(timeout=30 * SCALE)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait()


def _wait_for_lock_wait(url):
    """Until a session waits for an advisory lock: the held write is in."""
    deadline = time.monotonic() + HTTP_TIMEOUT
    while time.monotonic() < deadline:
        if psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                url=url).strip() == "1":
            return
        time.sleep(0.05)
    raise AssertionError("no write came to wait for the held Idempotency-Key's lock")


def test_postgres_workspaces_write_beside_each_other():
    if backend() != "postgres":
        return
    s = Server(name="writers-pg", extra_args=["--writers", str(WRITERS)])
    keys = {}
    for i in range(8):
        k = create_key(s.db, uniq("writers-ws%d" % i))
        keys.setdefault(_fnv1a(k["workspace_id"]) % WRITERS, k)
    ok(len(keys) >= 2, "8 workspaces all hash to one of %d writers: %r" % (WRITERS, keys))
    ka, kb = list(keys.values())[:2]
    s.start()
    locker = None
    try:
        ca, cb = Client(s, ka), Client(s, kb)
        locker = _Locker(s.db, ka["workspace_id"], "held-key")
        answers = {}

        def post(name, client, body, headers=None):
            answers[name] = client.post("/v1/contacts", body, headers=headers or {})

        first = threading.Thread(target=post, args=("a1", ca, {"first_name": "Held", "last_name": "First"},
                                                    {"Idempotency-Key": "held-key"}))
        first.start()
        _wait_for_lock_wait(s.db)
        # A's second write is queued on the same writer, behind the first.
        second = threading.Thread(target=post, args=("a2", ca, {"first_name": "Held", "last_name": "Second"}))
        second.start()
        # B's writer is another: answered while A's first write waits.
        rb = cb.post("/v1/contacts", {"first_name": "Other", "last_name": "Workspace"})
        expect(rb, 201)
        ok(first.is_alive() and "a1" not in answers,
           "workspace A's write held by the lock was answered: %r" % answers.get("a1"))
        ok(second.is_alive() and "a2" not in answers,
           "workspace A's write queued behind the held one was answered first: %r" % answers.get("a2"))
        locker.close()
        locker = None
        first.join(HTTP_TIMEOUT)
        second.join(HTTP_TIMEOUT)
        ok(not first.is_alive() and not second.is_alive(), "A's writes still unanswered after the lock went")
        a1 = expect(answers["a1"], 201)["data"]
        a2 = expect(answers["a2"], 201)["data"]
        # Stored one after the other, in the order they came (newest first).
        listed = [x["id"] for x in expect(ca.get("/v1/contacts"), 200)["data"]]
        eq(listed, [a2["id"], a1["id"]], "workspace A's contacts, newest first")
    finally:
        if locker:
            locker.close()
        s.stop_ok()
