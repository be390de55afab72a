#!/usr/bin/env bash
# with-postgres.sh - runs a command against a throwaway PostgreSQL 15 cluster.
#
#   scripts/with-postgres.sh CMD [ARGS...]
#   scripts/with-postgres.sh python3 tests/api/run.py
#
# Creates a cluster in a fresh temp dir (initdb --auth=trust, UTF-8, C.UTF-8,
# fsync on, max_connections=200), listening only on 127.0.0.1 on a free port
# with its unix socket inside the temp dir, waits until it accepts
# connections, then runs CMD with:
#
#   CAIRN_TEST_PG      postgres://postgres@127.0.0.1:PORT/postgres (admin URL;
#                      the API tests create one database per server from it)
#   CAIRN_TEST_PG_CTL  a command taking stop|start|status: stops the cluster
#                      (fast shutdown) or starts it again on the same port and
#                      data dir; used by the outage test
#   CAIRN_TEST_PG_BIN  the PostgreSQL bin dir (psql, pg_isready, ...)
#
# The cluster is stopped and its dir removed when CMD ends, also on failure
# or Ctrl-C; the script exits with CMD's status. As root, the cluster runs as
# the `postgres` user (the Debian package creates it). Installs postgresql-15
# when its binaries are missing. CAIRN_TEST_KEEP=1 keeps the dir (server log).
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

PGBIN=${CAIRN_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ] || [ ! -x "$PGBIN/psql" ]; then
  echo "with-postgres: installing postgresql-15" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-client-15 >/dev/null
fi
for b in initdb pg_ctl pg_isready psql; do
  [ -x "$PGBIN/$b" ] || { echo "with-postgres: $PGBIN/$b not found" >&2; exit 2; }
done

# As root, PostgreSQL refuses to run: use the postgres user.
AS=()
if [ "$(id -u)" -eq 0 ]; then
  if ! id -u postgres >/dev/null 2>&1; then
    echo "with-postgres: running as root but there is no 'postgres' user" >&2
    exit 2
  fi
  if command -v runuser >/dev/null 2>&1; then
    AS=(runuser -u postgres --)
  else
    AS=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  fi
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/cairn-pg.XXXXXX")
DATA="$DIR/data"
LOG="$DIR/postgres.log"
CTL="$DIR/ctl"
cleanup_done=0

cleanup() {
  [ "$cleanup_done" -eq 1 ] && return
  cleanup_done=1
  if [ -f "$DATA/postmaster.pid" ]; then
    "${AS[@]}" "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
    # pg_ctl could not stop it (or left it behind): kill the postmaster.
    if [ -f "$DATA/postmaster.pid" ]; then
      pid=$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null || true)
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
    fi
  fi
  if [ -n "${CAIRN_TEST_KEEP:-}" ]; then
    echo "with-postgres: kept $DIR" >&2
  else
    rm -rf "$DIR"
  fi
}
on_signal() {
  trap - INT TERM HUP
  cleanup
  exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

chmod 755 "$DIR"
[ ${#AS[@]} -gt 0 ] && chown postgres: "$DIR"

"${AS[@]}" "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 \
  --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || {
  echo "with-postgres: initdb failed:" >&2
  cat "$DIR/initdb.log" >&2
  exit 2
}

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p
  while :; do  # no python3: a random high port nobody answers on
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# Settings go into postgresql.conf so that `ctl start` needs no options and
# always comes back on the same port and data dir.
cat >"$CTL" <<EOF
#!/bin/sh
# stop|start|status the throwaway cluster in $DATA
case "\$1" in
  stop)   exec ${AS[*]} "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop ;;
  start)  exec ${AS[*]} "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start ;;
  status) exec ${AS[*]} "$PGBIN/pg_ctl" -D "$DATA" status ;;
  *) echo "usage: \$0 stop|start|status" >&2; exit 2 ;;
esac
EOF
chmod 755 "$CTL"

started=0
for attempt in 1 2 3 4 5; do
  PORT=$(free_port)
  cat >>"$DATA/postgresql.conf" <<EOF

# with-postgres.sh (attempt $attempt)
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
max_connections = 200
fsync = on
synchronous_commit = on
full_page_writes = on
shared_buffers = ${CAIRN_TEST_PG_SHARED_BUFFERS:-128MB}
EOF
  if "$CTL" start >/dev/null 2>&1; then
    started=1
    break
  fi
  echo "with-postgres: start on port $PORT failed (attempt $attempt), retrying" >&2
done
if [ "$started" -ne 1 ]; then
  echo "with-postgres: could not start PostgreSQL; log:" >&2
  tail -n 30 "$LOG" >&2 || true
  exit 2
fi

ready=0
for _ in $(seq 100); do
  if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres; then
    ready=1
    break
  fi
  sleep 0.1
done
if [ "$ready" -ne 1 ]; then
  echo "with-postgres: PostgreSQL on port $PORT did not become ready; log:" >&2
  tail -n 30 "$LOG" >&2 || true
  exit 2
fi

export CAIRN_TEST_PG="postgres://postgres@127.0.0.1:$PORT/postgres"
export CAIRN_TEST_PG_CTL="$CTL"
export CAIRN_TEST_PG_BIN="$PGBIN"
echo "with-postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') at $CAIRN_TEST_PG (dir $DIR)" >&2

rc=0
"$@" || rc=$?
exit "$rc"
