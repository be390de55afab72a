#!/usr/bin/env bash
# compare.sh - two server binaries on the bench's SQLite data, alternating,
# with the CPU each spends per request, thread by thread.
#
#   bench/compare.sh BEFORE_BIN AFTER_BIN [SCENARIO...]     (default: get mcp_get)
#   make bench   first, once: it generates the data (BENCH_SCENARIOS=get is enough)
#
# Changes worth a few microseconds a request drown in this machine's noise
# when two `make bench` runs are compared: the same binary's GET rate moved
# between 29,872 and 46,180 req/s in one session. So each round serves a
# fresh copy of build/bench/bench.db with one binary, then with the other
# (the order swaps every round, so neither always runs on a warmer page
# cache), and reports beside req/s what /proc says each server thread
# used per request, and wrk's own CPU per request (on two shared cores a
# request's cost is the server's and the client's together).
#
# Settings (environment): COMPARE_ROUNDS (default 3), BENCH_DURATION
# (default 8s), BENCH_WARMUP (default 2s), BENCH_CONNECTIONS (default 32),
# BENCH_THREADS (default 2), BUILD (default build). Loopback only; every
# server it starts is stopped on exit. The copies go to $BUILD/compare/.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "compare: $*" >&2
  exit 1
}
[[ $# -ge 2 ]] || die "usage: bench/compare.sh BEFORE_BIN AFTER_BIN [SCENARIO...]"
bins=("$1" "$2")
shift 2
scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(get mcp_get)
rounds=${COMPARE_ROUNDS:-3}
duration=${BENCH_DURATION:-8s}
warmup=${BENCH_WARMUP:-2s}
conns=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
build=${BUILD:-build}
data=$build/bench
out=$build/compare

for b in "${bins[@]}"; do
  [[ -x $b ]] || die "$b is not an executable"
done
for s in "${scenarios[@]}"; do
  [[ -f bench/$s.lua ]] || die "no scenario bench/$s.lua"
done
[[ -f $data/bench.db && -f $data/data.lua ]] ||
  die "no bench data in $data: run 'make bench' once (BENCH_SCENARIOS=get is enough)"
command -v wrk >/dev/null || die "wrk is missing (scripts/deps.sh bench installs it)"
mkdir -p "$out"

# shellcheck source=bench/server.sh
source bench/server.sh
trap 'stop_server || true; rm -rf "$out"/run.db*' EXIT
trap 'exit 130' INT TERM

# Every thread of the server: "name ticks" (user + system), one per line.
thread_ticks() {
  local t
  for t in /proc/"$server_pid"/task/*; do
    echo "$(cat "$t/comm") $(awk '{print $14 + $15}' "$t/stat")"
  done
}

# One measured run: prints "req/s server-us wrk-us thread=us ...".
measure() { # scenario
  local s=$1 before after secs
  wrk -t"$threads" -c"$conns" -d"$warmup" -s "bench/$s.lua" "$url" -- "$data/data.lua" >/dev/null
  before=$(thread_ticks)
  secs=$({
    TIMEFORMAT='%U %S'
    time wrk -t"$threads" -c"$conns" -d"$duration" -s "bench/$s.lua" "$url" -- \
      "$data/data.lua" >"$out/$s.txt" 2>&1
  } 2>&1)
  after=$(thread_ticks)
  grep -q 'BENCH_RESULT' "$out/$s.txt" || die "wrk failed on $s: $(cat "$out/$s.txt")"
  awk -v hz="$(getconf CLK_TCK)" -v wrk_secs="$secs" -v before="$before" -v after="$after" '
    /^BENCH_RESULT/ {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
    }
    END {
      n = r["requests"]
      if (r["non2xx"] + r["errors"] > n / 1000)
        printf "(%d non-2xx, %d errors) ", r["non2xx"], r["errors"]
      m = split(before, b, "\n"); for (i = 1; i <= m; i++) { split(b[i], f, " "); t0[f[1]] += f[2] }
      m = split(after, a, "\n"); for (i = 1; i <= m; i++) { split(a[i], f, " "); t1[f[1]] += f[2] }
      total = 0; detail = ""
      for (k in t1) {
        us = (t1[k] - t0[k]) * 1e6 / hz / n
        total += us
        if (us >= 0.5) detail = detail sprintf(" %s=%.1f", k, us)
      }
      split(wrk_secs, w, " ")
      printf "%9.0f req/s  server %5.1f us  wrk %5.1f us |%s\n", r["rps"], total,
        (w[1] + w[2]) * 1e6 / n, detail
    }' "$out/$s.txt"
}

echo "compare: ${bins[0]} (A) against ${bins[1]} (B), ${rounds} rounds of ${scenarios[*]}:" \
  "wrk -t$threads -c$conns -d$duration after $warmup, $(nproc) cores; CPU per request"
for ((round = 1; round <= rounds; round++)); do
  order=(0 1)
  ((round % 2 == 0)) && order=(1 0)
  for i in "${order[@]}"; do
    label=$([[ $i == 0 ]] && echo A || echo B)
    rm -rf "$out"/run.db*
    cp --reflink=auto "$data/bench.db" "$out/run.db"
    [[ -f $data/bench.db-wal ]] && cp "$data/bench.db-wal" "$out/run.db-wal"
    # shellcheck disable=SC2034 # cairn: read by start_server
    cairn=${bins[$i]}
    start_server "$out" "$out/run.db"
    for s in "${scenarios[@]}"; do
      line=$(measure "$s") || exit 1
      printf 'round %d %s %-10s %s\n' "$round" "$label" "$s" "$line"
    done
    stop_server || die "${bins[$i]} exited with status $? (see $out/server.err)"
  done
done
