#!/usr/bin/env bash
# webhooks.sh - the integrations benchmark (issue 14), on a fresh SQLite
# database (or PostgreSQL with BACKEND=postgres) and loopback only:
#   1. writes at 1,000/s or a little more (wrk, 14 connections each
#      waiting 10 ms after each answer: 12 made 892 to 918/s, as each
#      request's own time adds to the wait)
#      into a workspace with one ordered webhook: event to first delivery
#      attempt, p50/p99, measured by bench-receiver from each body's
#      timestamp;
#   2. deliveries/s: the same endpoint turned parallel and pointed at a
#      fresh receiver, its events replayed (10,000 at most): deliveries
#      over the time from the first to the last arrival;
#   3. change feed pages: GET /v1/events?after=<random>&limit=20 (wrk, 32
#      connections);
#   4. POST /v1/contacts at full speed, first with no webhook, then with
#      one subscribed: the create rate each way.
# Settings: BUILD (default build), BENCH_BIN (default $BUILD/cairn),
# BENCH_DURATION (default 10s), BENCH_CONNECTIONS (default 32).
# Every process it starts stops by itself (the receiver after 120 s at
# most) or at exit.
set -euo pipefail
trap 'echo "webhooks: failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."
backend=${BACKEND:-sqlite}
if [[ $backend == postgres && -z ${CAIRN_TEST_PG:-} ]]; then
  exec scripts/with-postgres.sh "$0" "$@"
fi
build=${BUILD:-build}
cairn=${BENCH_BIN:-$build/cairn}
recv=$build/bench-receiver
duration=${BENCH_DURATION:-10s}
conns=${BENCH_CONNECTIONS:-32}
out=$build/bench-webhooks
die() {
  echo "webhooks: $*" >&2
  exit 1
}
[[ -x $cairn && -x $recv ]] || die "build $cairn and $recv first (make bench-webhooks does)"
command -v wrk >/dev/null || die "wrk is missing (scripts/deps.sh bench installs it)"
rm -rf "$out"
mkdir -p "$out"
db=$out/cairn.db
if [[ $backend == postgres ]]; then
  "$CAIRN_TEST_PG_BIN/psql" -qX "$CAIRN_TEST_PG" -c 'CREATE DATABASE cairn_webhooks' >/dev/null
  db=${CAIRN_TEST_PG%/*}/cairn_webhooks
fi

# shellcheck source=bench/server.sh
source bench/server.sh
rpid=
cleanup() {
  [[ -z $rpid ]] || kill -TERM "$rpid" 2>/dev/null || true
  stop_server || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# One key makes all the load: no per-key concurrency limit here.
start_server "$out" "$db" --webhook-allow-private --key-concurrency 0
token=$(sed -n 's/^admin token (shown once, keep it): //p' "$out/server.out")
[[ -n $token ]] || die "no admin token in $out/server.out"

api() { # method path [body]
  local args=(-sS -X "$1" -H "Authorization: Bearer $token")
  [[ $# -lt 3 ]] || args+=(-H 'Content-Type: application/json' --data "$3")
  curl "${args[@]}" "$url$2"
}
field() { # name: the first "name":"value" of stdin
  grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4
}
receiver() { # portfile: starts one, sets rpid and rport
  rm -f "$1"
  "$recv" "$1" 120 >"$1.out" &
  rpid=$!
  for _ in $(seq 50); do [[ -s $1 ]] && break; sleep 0.1; done
  rport=$(cat "$1")
}
receiver_stop() { # portfile: prints its RECEIVER line
  kill -TERM "$rpid"
  # Called as $(receiver_stop ...), in a subshell, whose wait does not
  # wait for the receiver: its line is awaited in its file instead.
  wait "$rpid" 2>/dev/null || true
  rpid=
  for _ in $(seq 100); do
    grep -q '^RECEIVER' "$1.out" && break
    sleep 0.1
  done
  grep '^RECEIVER' "$1.out"
}
kv() { # key line
  tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"
}
run_wrk() { # name args...: wrk's BENCH_RESULT line
  local name=$1
  shift
  wrk "$@" >"$out/$name.txt" 2>&1 || die "wrk failed: $(cat "$out/$name.txt")"
  grep '^BENCH_RESULT' "$out/$name.txt" || die "no result from wrk: $(cat "$out/$name.txt")"
}

# 4a. The create rate with no webhook (first: an empty database for both).
create0=$(run_wrk create0 -t2 -c"$conns" -d"$duration" -s bench/wh_create.lua "$url" -- "$token" 0)

# 1. Event to first delivery attempt at 1,000 writes/s or a little more.
receiver "$out/port1"
wh=$(api POST /v1/webhooks "{\"name\":\"bench\",\"url\":\"http://127.0.0.1:$rport/hook\",\"event_types\":[\"contact.created\"]}" | field id)
[[ $wh == wh_* ]] || die "no webhook made"
paced=$(run_wrk paced -t2 -c14 -d"$duration" -s bench/wh_create.lua "$url" -- "$token" 10)
sleep 3
lat=$(receiver_stop "$out/port1")

# 2. Deliveries per second: the endpoint's events again, in parallel.
receiver "$out/port2"
api PATCH "/v1/webhooks/$wh" "{\"url\":\"http://127.0.0.1:$rport/hook\",\"parallel\":true}" >/dev/null
replay=$(api POST "/v1/webhooks/$wh/replay" '{"since":"0"}')
queued=$(grep -o '"queued":[0-9]*' <<<"$replay" | cut -d: -f2)
for _ in $(seq 600); do
  n=$(api GET "/v1/webhooks/$wh/deliveries?status=pending&limit=1" | grep -c '"id"' || true)
  ((n == 0)) && break
  sleep 0.1
done
sleep 1
thr=$(receiver_stop "$out/port2")

# 3. Change feed pages.
# The PATCH above came after every contact: its event's sequence is near the last.
last=$(api GET "/v1/events?types=webhook.updated&limit=100" | { grep -o '"sequence":[0-9]*' || true; } |
  tail -1 | cut -d: -f2)
[[ -n $last ]] || die "no webhook.updated event to find the last sequence by"
feed=$(run_wrk feed -t2 -c"$conns" -d"$duration" -s bench/feed.lua "$url" -- "$token" "$last")

# 4b. The create rate with the webhook subscribed (a receiver answering).
receiver "$out/port3"
api PATCH "/v1/webhooks/$wh" "{\"url\":\"http://127.0.0.1:$rport/hook\",\"parallel\":false}" >/dev/null
create1=$(run_wrk create1 -t2 -c"$conns" -d"$duration" -s bench/wh_create.lua "$url" -- "$token" 0)
sleep 3
after=$(receiver_stop "$out/port3")

stop_server || true
errors=$(grep -c '"level":"error"' "$out/server.err" || true)
span=$(awk -v a="$(kv first_ms "$thr")" -v b="$(kv last_ms "$thr")" 'BEGIN { printf "%.3f", (b - a) / 1000 }')
{
  echo "Cairn integrations benchmark ($backend), $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores shared by client, receiver and server"
  echo "1. writes at a set pace: $(kv rps "$paced") writes/s for $duration;" \
    "event to first delivery attempt: p50 $(kv p50_ms "$lat") ms, p99 $(kv p99_ms "$lat") ms," \
    "max $(kv max_ms "$lat") ms over $(kv n "$lat") deliveries (target p99 < 100 ms at 1,000 writes/s)"
  echo "2. deliveries: $(kv n "$thr") of $queued replayed in $span s:" \
    "$(awk -v n="$(kv n "$thr")" -v s="$span" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }') deliveries/s (target >= 2,000)"
  echo "3. change feed pages of 20: $(kv rps "$feed") req/s, p99 $(kv p99_ms "$feed") ms (target >= 20,000)"
  echo "4. POST /v1/contacts, $conns connections: $(kv rps "$create0") req/s with no webhook," \
    "$(kv rps "$create1") req/s with one subscribed ($(kv n "$after") delivered meanwhile;" \
    "p99 event to delivery $(kv p99_ms "$after") ms)"
  echo "non-2xx: $(kv non2xx "$create0") $(kv non2xx "$paced") $(kv non2xx "$feed") $(kv non2xx "$create1"); server log: $errors error lines"
} | tee "$out/results.txt"
