#!/usr/bin/env bash
# soak.sh - the memory soak behind `make soak` (not part of `make test`).
#
# 1. Serves build/cairn on a fresh database (build/soak/soak.db; with
#    BACKEND=postgres a fresh database on a throwaway PostgreSQL 15 cluster)
#    on a free loopback port, with one API key per wrk thread.
# 2. Measures the capacity of the load's mix (bench/soak.lua: half creates,
#    half reads of recent contacts and first list pages) with wrk at full
#    speed for SOAK_PROBE, unless SOAK_RATE gives the rate.
# 3. Drives the same mix at half of that capacity for SOAK_DURATION,
#    sampling the server's memory from /proc/PID every SOAK_SAMPLE seconds:
#    VmRSS, RssAnon (anonymous memory: malloc's heap and arenas, SQLite's
#    page caches; nothing file-backed), the [heap] (brk) segment's Rss and
#    RssFile (mapped files: the binary, libraries, SQLite's mmap of the
#    database, which grows with the file and is not heap).
# 4. Prints memory before any load, after the warm-up (SOAK_WARMUP into the
#    paced run) and at its end, with the growth from warm-up to end and its
#    least-squares slope, also saved to build/soak/results.txt (samples in
#    build/soak/memory.tsv), then stops the server with SIGTERM.
#
# Exit status 1 when anonymous memory grew by more than SOAK_MAX_GROWTH_MB
# from the warm-up to the end, when more than 0.1% of requests failed, when
# the server died, logged errors or did not exit 0 on SIGTERM.
#
# Settings (environment):
#   SOAK_DURATION       paced run, seconds or with s/m/h  (default 10m)
#   SOAK_WARMUP         part of it before the baseline    (default a fifth)
#   SOAK_RATE           requests a second; unset: half the measured capacity
#   SOAK_PROBE          capacity measurement               (default 10s)
#   SOAK_CONNECTIONS    wrk connections                    (default 16)
#   SOAK_THREADS        wrk threads, one key each          (default 2)
#   SOAK_SAMPLE         seconds between memory samples     (default 5)
#   SOAK_MAX_GROWTH_MB  allowed anonymous growth after warm-up (default 32)
#   SOAK_SERVER_ARGS    extra `cairn serve` flags
#   BACKEND             sqlite (default) or postgres
set -euo pipefail

cd "$(dirname "$0")/.."
backend=${BACKEND:-sqlite}
case $backend in
  sqlite) ;;
  postgres)
    if [[ -z ${CAIRN_TEST_PG:-} ]]; then exec scripts/with-postgres.sh "$0" "$@"; fi ;;
  *) echo "soak: BACKEND must be sqlite or postgres, not '$backend'" >&2; exit 2 ;;
esac

die() {
  echo "soak: $*" >&2
  exit 1
}

seconds() { # 90, 90s, 10m, 1h -> seconds
  local v=$1
  case $v in
    *h) echo $((${v%h} * 3600)) ;;
    *m) echo $((${v%m} * 60)) ;;
    *s) echo "${v%s}" ;;
    *) echo "$v" ;;
  esac
}

duration=$(seconds "${SOAK_DURATION:-10m}")
warmup=$(seconds "${SOAK_WARMUP:-$((duration / 5))}")
probe=$(seconds "${SOAK_PROBE:-10s}")
conns=${SOAK_CONNECTIONS:-16}
threads=${SOAK_THREADS:-2}
sample=${SOAK_SAMPLE:-5}
max_growth=${SOAK_MAX_GROWTH_MB:-32}
rate=${SOAK_RATE:-}
server_args=${SOAK_SERVER_ARGS:-}
((warmup < duration)) || die "SOAK_WARMUP ($warmup s) must be shorter than SOAK_DURATION ($duration s)"
((conns / threads <= 10)) || die "more than 10 connections per wrk thread would pass the per-key limit"

out=build/soak
cairn=build/cairn
mkdir -p "$out"
for tool in wrk curl; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/deps.sh bench installs it)"
done
[[ -x $cairn ]] || die "build $cairn first (make soak does)"

db=$out/soak.db
if [[ $backend == postgres ]]; then
  db=${CAIRN_TEST_PG%/*}/cairn_soak
  "$CAIRN_TEST_PG_BIN/psql" -qX "$CAIRN_TEST_PG" -c 'CREATE DATABASE cairn_soak' >/dev/null
else
  rm -f "$db" "$db-wal" "$db-shm"
fi

# One key per wrk thread: a thread's connections are its key's requests in flight.
tokens=()
for i in $(seq "$threads"); do
  tokens+=("$("$cairn" key create --db "$db" --workspace soak --scopes crm:read,crm:write \
    --name "soak-$i" | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')")
  [[ -n ${tokens[-1]} ]] || die "key create printed no token"
done
data_lua() { # rate -> the data file soak.lua reads
  {
    echo "return {"
    printf '  tokens = {'
    printf '"%s", ' "${tokens[@]}"
    echo '},'
    echo "  connections = $conns, threads = $threads, rate = $1,"
    echo "}"
  } >"$out/data.lua"
}

# -------------------------------------------------------------- server
# shellcheck source=bench/server.sh
source bench/server.sh
wrk_pid=
cleanup() {
  [[ -z $wrk_pid ]] || kill "$wrk_pid" 2>/dev/null || true
  stop_server || true
  [[ $backend == postgres || -n ${SOAK_KEEP:-} ]] || rm -f "$db" "$db-wal" "$db-shm"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2086 # server_args is a list of flags
start_server "$out" "$db" $server_args
code=$(curl -sS -o "$out/smoke.body" -w '%{http_code}' -H "Authorization: Bearer ${tokens[0]}" \
  "$url/v1/contacts?limit=1")
[[ $code == 200 ]] || die "GET /v1/contacts answered $code: $(head -c 300 "$out/smoke.body")"

# -------------------------------------------------------------- memory
mib() { awk -v k="$1" '{ printf "%.1f", k / 1024 }' <<<""; }
memory() { # -> "rss anon heap file" in KiB
  local st=/proc/$server_pid/status
  [[ -r $st ]] || die "the server (pid $server_pid) is gone: $(tail -5 "$out/server.err")"
  local rss anon file heap
  rss=$(awk '/^VmRSS:/ { print $2 }' "$st")
  anon=$(awk '/^RssAnon:/ { print $2 }' "$st")
  file=$(awk '/^RssFile:/ { print $2 }' "$st")
  heap=$(awk '/\[heap\]/ { h = 1; next } h && /^Rss:/ { print $2; exit }' "/proc/$server_pid/smaps")
  echo "$rss $anon ${heap:-0} $file"
}
result() { # label: one line of the table from a memory sample
  local rss anon heap file
  read -r rss anon heap file <<<"$2"
  printf '%-34s %9s %9s %9s %9s\n' "$1" "$(mib "$rss")" "$(mib "$anon")" "$(mib "$heap")" "$(mib "$file")"
}
db_kib() { # the SQLite database and its log, KiB (0 on PostgreSQL)
  [[ $backend == sqlite ]] || { echo 0; return; }
  stat -c %s "$db" "$db-wal" 2>/dev/null | awk '{ s += $1 } END { printf "%d", s / 1024 }'
}
mem_start=$(memory)

# ---------------------------------------------------------------- load
wrk_run() { # seconds label -> wrk's output in $out/<label>.txt
  wrk -t"$threads" -c"$conns" -d"$1"s --timeout 10s -s bench/soak.lua "$url" -- "$out/data.lua" \
    >"$out/$2.txt" 2>&1
}
wrk_field() { # file key -> value from its BENCH_RESULT line
  sed -n "s/^BENCH_RESULT.* $2=\([^ ]*\).*/\1/p" "$1"
}
check_errors() { # file label
  local n bad
  n=$(wrk_field "$1" requests)
  [[ -n $n ]] || die "no result from wrk ($2): $(cat "$1")"
  bad=$(($(wrk_field "$1" non2xx) + $(wrk_field "$1" errors)))
  if ((n == 0 || bad * 1000 > n)); then
    grep '^BENCH_FIRST_BAD' "$1" >&2 || true
    die "$2: $bad of $n requests failed (more than 0.1%)"
  fi
}

capacity=
if [[ -z $rate ]]; then
  data_lua 0
  echo "soak: measuring capacity: wrk -t$threads -c$conns -d${probe}s, as fast as it goes"
  wrk_run "$probe" probe || die "wrk failed: $(cat "$out/probe.txt")"
  check_errors "$out/probe.txt" "capacity probe"
  capacity=$(wrk_field "$out/probe.txt" rps)
  rate=$(awk -v c="$capacity" 'BEGIN { printf "%d", c / 2 }')
fi
mem_probe=$(memory)
data_lua "$rate"

echo "soak: $rate req/s for ${duration}s (warm-up ${warmup}s), memory every ${sample}s; $url (pid $server_pid)"
t0=$(date +%s)
wrk_run "$duration" soak &
wrk_pid=$!
printf 't_s\trss_kib\tanon_kib\theap_kib\tfile_kib\tdb_kib\n' >"$out/memory.tsv"
mem_warm=
mem_end=
while kill -0 "$wrk_pid" 2>/dev/null; do
  m=$(memory)
  t=$(($(date +%s) - t0))
  # The last sample before wrk's end is the run's end (wrk ends at $duration).
  if ((t <= duration)); then
    printf '%s\t%s\t%s\n' "$t" "${m// /$'\t'}" "$(db_kib)" >>"$out/memory.tsv"
    mem_end=$m
    if [[ -z $mem_warm ]] && ((t >= warmup)); then mem_warm=$m; fi
  fi
  sleep "$sample"
done
wait "$wrk_pid" || die "wrk failed: $(cat "$out/soak.txt")"
wrk_pid=
check_errors "$out/soak.txt" "soak"
[[ -n $mem_warm ]] || die "no sample after the warm-up"
achieved=$(wrk_field "$out/soak.txt" rps)

# Growth of anonymous memory after the warm-up: end minus warm-up, and the
# least-squares slope over the samples after the warm-up (MiB a minute).
read -r _ anon_warm _ _ <<<"$mem_warm"
read -r _ anon_end _ _ <<<"$mem_end"
growth=$(mib $((anon_end - anon_warm)))
slope=$(awk -F'\t' -v w="$warmup" 'NR > 1 && $1 >= w { n++; sx += $1; sy += $3; sxx += $1 * $1; sxy += $1 * $3 }
  END { d = n * sxx - sx * sx; printf "%.2f", (d > 0 ? (n * sxy - sx * sy) / d * 60 / 1024 : 0) }' "$out/memory.tsv")

if ! stop_server; then
  die "the server did not exit 0 on SIGTERM: $(tail -5 "$out/server.err")"
fi
server_errors=$(grep -c '"level":"error"' "$out/server.err" || true)
if [[ $backend == postgres ]]; then
  rows=$("$CAIRN_TEST_PG_BIN/psql" -qXAt "$db" -c 'SELECT count(*) FROM contacts' 2>/dev/null || echo '?')
else
  rows=$(sqlite3 "$db" 'SELECT count(*) FROM contacts' 2>/dev/null || echo '?')
fi

{
  echo "Cairn soak ($backend), $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  if [[ -n $capacity ]]; then
    echo "capacity of the mix (creates, reads by id, first pages): $capacity req/s over ${probe}s"
  fi
  echo "load: $rate req/s asked, $achieved req/s done, for ${duration}s;" \
    "wrk -t$threads -c$conns; $(nproc) cores shared by client and server"
  echo "latency: p50 $(wrk_field "$out/soak.txt" p50_ms) ms, p99 $(wrk_field "$out/soak.txt" p99_ms) ms;" \
    "$(wrk_field "$out/soak.txt" requests) requests, contacts in the database at the end: $rows"
  echo
  printf '%-34s %9s %9s %9s %9s\n' "memory (MiB)" VmRSS RssAnon "[heap]" RssFile
  result "start (idle, empty database)" "$mem_start"
  [[ -z $capacity ]] || result "after the ${probe}s capacity probe" "$mem_probe"
  result "after the warm-up (${warmup}s)" "$mem_warm"
  result "end (${duration}s)" "$mem_end"
  echo
  echo "anonymous memory after the warm-up: ${growth} MiB (bound ${max_growth} MiB), slope ${slope} MiB/min"
  echo "server log: $server_errors error lines"
} | tee "$out/results.txt"

((server_errors == 0)) || die "the server logged errors: $(grep '"level":"error"' "$out/server.err" | head -3)"
awk -v g="$growth" -v m="$max_growth" 'BEGIN { exit !(g > m) }' &&
  die "anonymous memory grew by $growth MiB after the warm-up (more than $max_growth MiB)"
echo "soak: ok"
