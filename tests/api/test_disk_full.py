"""The disk fills under a running server, then space comes back.

The database lives on a small tmpfs of its own (the server's logs do not):
on SQLite its file, on PostgreSQL a database made in a tablespace there
(PostgreSQL's own log stays on its disk). A filler file takes all but a
few MiB, and contacts are written until the rest is gone. While full: every
write answers 507 insufficient_storage with Retry-After (a batch too; never
500, never "busy"), reads answer 200, /readyz 503 insufficient_storage, and
`cairn key create` says why if it fails. The filler deleted, without a
restart: writes answer 201 at once (a refused write retried with its
Idempotency-Key is stored once), /readyz 200, `cairn key create` works,
every acknowledged write is there and nothing else; on SQLite the log is
checkpointed and cut back, and the stopped database passes PRAGMA
integrity_check.

Mounting needs root (or passwordless sudo): elsewhere the test is skipped,
saying so, except under CI=true, where it must run. The mount goes away
when the test ends, also on failure, and at exit.
"""

import atexit
import os
import random
import re
import sqlite3
import subprocess
import tempfile
import time

from harness import (Server, backend, cli, eq, expect, ids, list_all, ok, pg_url, psql, skip,
                     uniq)

SIZE = 16 << 20          # the tmpfs
LEFT = 4 << 20           # what the filler leaves for the database to fill (SQLite: its log)
LEFT_PG = 1 << 20        # PostgreSQL's writes each wait for an fsync: fewer of them
WAL_AFTER = 256 << 10    # the SQLite log after a small write once space is back
_rng = random.Random(11)
NOTES = "".join(_rng.choice("abcdefghij klmnop") for _ in range(9000))  # hardly compressible
MAX_WRITES = 1000        # to fill LEFT takes a few hundred at the most

_mounted = []


def _sudo():
    return [] if os.geteuid() == 0 else ["sudo", "-n"]


def _umount(path):
    if path in _mounted:
        subprocess.run(_sudo() + ["umount", "-l", path], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30)
        _mounted.remove(path)
        os.rmdir(path)


atexit.register(lambda: [_umount(p) for p in list(_mounted)])


def _mount_tmpfs():
    """A fresh tmpfs of SIZE bytes; skips (fails under CI=true) when mounting is refused.

    Not under the run's temp dir, which only its owner may enter: a
    PostgreSQL cluster runs as a user of its own."""
    path = tempfile.mkdtemp(prefix="cairn-diskfull-")
    try:
        p = subprocess.run(_sudo() + ["mount", "-t", "tmpfs", "-o", "size=%d,mode=0777" % SIZE,
                                      "tmpfs", path],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        why = (p.stderr or p.stdout).strip() if p.returncode else None
    except OSError as e:  # no mount or sudo binary
        why = str(e)
    if why:
        os.rmdir(path)
        msg = "cannot mount a tmpfs to fill (needs root or passwordless sudo): %s" % why
        if os.environ.get("CI"):
            raise AssertionError("CI=true, where the disk-full test must run: " + msg)
        skip(msg)
    _mounted.append(path)
    return path


def _database_on(mnt):
    """The database to serve from mnt, and what undoes it."""
    if backend() == "sqlite":
        return os.path.join(mnt, "cairn.db"), lambda: None
    # A tablespace directory belongs to the cluster's user, as its data directory does.
    ts = os.path.join(mnt, "ts")
    os.mkdir(ts)
    owner = os.stat(psql("SHOW data_directory").strip())
    subprocess.run(_sudo() + ["chown", "%d:%d" % (owner.st_uid, owner.st_gid), ts], check=True,
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    name = uniq("diskfull")
    psql("CREATE TABLESPACE %s LOCATION '%s'" % (name, ts))
    psql('CREATE DATABASE "%s" TABLESPACE %s' % (name, name))

    def drop():
        psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        psql("DROP TABLESPACE IF EXISTS %s" % name)
    return pg_url(name), drop


def _free(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _fill(path, left):
    """A file that takes all of path's file system but `left` bytes."""
    with open(os.path.join(path, "filler"), "wb") as f:
        chunk = b"\xa5" * 65536
        try:
            while _free(path) > left:
                f.write(chunk)
                f.flush()
        except OSError:
            pass


def _post(client, i, key):
    return client.post("/v1/contacts", {"name": "Fill %d" % i, "email": "fill%d@full.example" % i,
                                        "notes": NOTES}, headers={"Idempotency-Key": key})


def _is_full_answer(r):
    return (r.status == 507 and r.error.get("code") == "insufficient_storage"
            and int(r.headers.get("retry-after", "0")) >= 1)


def _wal(mnt):
    return os.path.getsize(os.path.join(mnt, "cairn.db-wal"))


def test_disk_full_answers_truthfully_and_recovers_without_restart():
    mnt = _mount_tmpfs()
    sqlite = backend() == "sqlite"
    srv, drop = None, lambda: None
    try:
        db, drop = _database_on(mnt)
        srv = Server(name="diskfull", db=db)
        a = srv.key("diskfull")
        srv.start()
        acked = [a.create("/v1/contacts", {"name": "Before %d" % i})["id"] for i in range(3)]
        _fill(mnt, LEFT if sqlite else LEFT_PG)

        # Writes until the disk is full: each answer 201, or 507.
        refused = []  # Idempotency-Keys of writes answered 507
        bad = []
        for i in range(MAX_WRITES):
            key = uniq("full")
            r = _post(a, i, key)
            if r.status == 201:
                acked.append(r.data["id"])
            elif _is_full_answer(r):
                refused.append(key)
                if len(refused) == 5:
                    break
            else:
                bad.append("write %d -> %d %s" % (i, r.status, r.body[:240].decode("utf-8", "replace")))
                break
        eq(bad, [], "answers other than 201 or 507 insufficient_storage with Retry-After")
        ok(len(refused) == 5, "the disk never filled: %d writes all stored, %d bytes free"
           % (len(acked), _free(mnt)))
        wal_full = _wal(mnt) if sqlite else 0
        r = a.post("/v1/contacts/batch", {"operations": [
            {"action": "create", "data": {"name": "Batch %d" % n, "notes": NOTES}} for n in range(3)]})
        if r.status == 200:  # PostgreSQL: each item finds out for itself
            for x in r.data["results"]:
                if x["status"] == 201:
                    acked.append(x["data"]["id"])
                else:
                    eq((x["status"], x["error"]["code"]), (507, "insufficient_storage"),
                       "an item of a batch on a full disk")
        else:
            ok(_is_full_answer(r), "a batch on a full disk: %s" % r.describe())

        # Reads work; the node says it is not ready, and why, and stays so.
        expect(a.get("/v1/contacts/" + acked[-1]), 200)
        expect(a.get("/v1/contacts", params={"limit": 5}), 200)
        expect(srv.request("GET", "/healthz"), 200)
        time.sleep(1.5)  # the writer's idle probes find no room either
        r = srv.request("GET", "/readyz")
        expect(r, 503, code="insufficient_storage")
        ok(int(r.headers.get("retry-after", "0")) >= 1, "readyz 503 without Retry-After")
        # A key is small: it may still fit where a contact did not (pages
        # a refused write took); if not, the command says why.
        p = cli("key", "create", "--db", srv.db, "--workspace", "diskfull", "--scopes", "all")
        ok(p.returncode == 0 or re.search("full|no space", p.stderr, re.I),
           "key create on a full disk: exit %d, stderr %r" % (p.returncode, p.stderr[-300:]))

        # Space comes back: no restart.
        os.unlink(os.path.join(mnt, "filler"))
        acked.append(a.create("/v1/contacts", {"name": "After"})["id"])
        deadline = time.time() + 5
        while srv.request("GET", "/readyz").status != 200 and time.time() < deadline:
            time.sleep(0.1)
        expect(srv.request("GET", "/readyz"), 200)
        if sqlite:
            wal = _wal(mnt)
            ok(wal <= WAL_AFTER < wal_full, "the log is %d bytes after a write once space is "
               "back (%d when full; want <= %d)" % (wal, wal_full, WAL_AFTER))
        for n, key in enumerate(refused):
            acked.append(expect(_post(a, 1000 + n, key), 201)["data"]["id"])
        replay = _post(a, 1000, refused[0])
        expect(replay, 201)
        eq(replay.data["id"], acked[-len(refused)], "a refused write's key, replayed once stored")
        k = srv.key("diskfull-after")
        expect(k.get("/v1/contacts", params={"limit": 1}), 200)

        got = ids(list_all(a, "/v1/contacts"))
        eq(sorted(got), sorted(acked), "contacts after the disk filled and emptied (%d acknowledged)"
           % len(acked))
        srv.stop_ok()
        if sqlite:
            con = sqlite3.connect(srv.db)
            try:
                eq(con.execute("PRAGMA integrity_check").fetchone()[0], "ok", "PRAGMA integrity_check")
            finally:
                con.close()
    finally:
        if srv:
            srv.kill9()
        drop()
        _umount(mnt)

