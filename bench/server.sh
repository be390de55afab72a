# shellcheck shell=bash
# server.sh - sourced by bench/run.sh and bench/soak.sh: one `cairn serve`
# on a free loopback port, and its stop. The caller defines die() and
# $cairn (the binary).
#   start_server OUTDIR DB [FLAGS...]  serves DB (access log off), output in
#                                      OUTDIR/server.out and server.err; waits
#                                      for /healthz; sets server_pid and url
#   stop_server                        SIGTERM, SIGKILL after 15 s; returns
#                                      the server's exit status (0 when none)

server_pid=
url=

start_server() {
  local out=$1 db=$2
  shift 2
  # shellcheck disable=SC2154 # cairn: set by the caller
  "$cairn" serve --listen 127.0.0.1:0 --db "$db" --access-log off "$@" \
    >"$out/server.out" 2>"$out/server.err" &
  server_pid=$!
  url=
  for _ in $(seq 300); do
    url=$(sed -n 's/^listening on //p' "$out/server.out")
    [[ -n $url ]] && break
    kill -0 "$server_pid" 2>/dev/null || die "the server exited: $(cat "$out/server.err")"
    sleep 0.1
  done
  [[ -n $url ]] || die "the server did not say where it listens within 30 s"
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "$url/healthz" && break
    sleep 0.1
  done
  curl -fsS -o /dev/null "$url/healthz" || die "$url/healthz does not answer"
}

stop_server() {
  [[ -n $server_pid ]] || return 0
  local rc=0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    for _ in $(seq 150); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$server_pid" 2>/dev/null; then
      echo "${0##*/}: the server ignored SIGTERM for 15 s; killing it" >&2
      kill -KILL "$server_pid" 2>/dev/null || true
    fi
  fi
  wait "$server_pid" 2>/dev/null || rc=$?
  server_pid=
  return "$rc"
}
