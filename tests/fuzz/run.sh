#!/usr/bin/env bash
# run.sh - runs the fuzz targets (`make fuzz` calls it after building them).
# Usage: [FUZZ_BUILD=DIR] tests/fuzz/run.sh SECONDS TARGET...
# (DIR: the build folder the targets are in, `make BUILD=`'s; build by default)
#
# For each target, one at a time (the machine has two cores, shared):
#  1. every committed input under tests/fuzz/TARGET/regressions/ once: each
#     is a crash a fuzzer once found, kept so that it stays fixed;
#  2. SECONDS of fuzzing from the committed seeds (tests/fuzz/TARGET/corpus/)
#     plus what earlier runs on this machine found (build/fuzz/run/TARGET/
#     corpus/, never committed), with the target's dictionary: the
#     committed TARGET.dict, or the one the target writes from the
#     resource table (FUZZ_DICT, see world.h).
# Exits non-zero when any target crashed, leaked, hit a sanitizer report or
# a timeout; the input that did it is in build/fuzz/run/TARGET/artifacts/,
# and the log says how to make it a regression input.
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:?seconds}
shift
b=${FUZZ_BUILD:-build}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Per target: longest input, and what else it needs. An HTTP head may be
# 16 KiB of fields after an 8 KiB URL; a body or a query needs far less to
# reach every branch, and shorter inputs run faster.
opts_for() {
  case "$1" in
    http1) echo "-max_len=24576" ;;
    body) echo "-max_len=8192" ;;
    query) echo "-max_len=4096" ;;
    cursor) echo "-max_len=4096" ;; # a 500-character title is 2,000 bytes
    *) echo "-max_len=4096" ;;
  esac
}

failed=()
for t in "$@"; do
  bin=$b/fuzz/$t
  src=tests/fuzz/$t
  work=$b/fuzz/run/$t
  mkdir -p "$work/corpus" "$work/artifacts"
  # -timeout: one input taking 20 s is a hang (they take milliseconds);
  # -rss_limit_mb: the store, the corpus and ASan's shadow fit well within.
  opts=($(opts_for "$t") -timeout=20 -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/")
  dict=$src/$t.dict
  if [ ! -f "$dict" ]; then # the engine targets write theirs (world.h)
    dict=$work/$t.dict
    FUZZ_DICT=$dict "$bin" >/dev/null 2>&1 || { echo "fuzz $t: cannot write its dictionary" >&2; failed+=("$t"); continue; }
  fi

  mapfile -t regs < <(find "$src/regressions" -type f ! -name 'README*' 2>/dev/null | sort)
  if [ ${#regs[@]} -gt 0 ]; then
    if ! "$bin" "${opts[@]}" "${regs[@]}" >"$work/regressions.log" 2>&1; then
      echo "fuzz $t: a regression input fails again ($work/regressions.log):" >&2
      grep -E '^Running:|ERROR|SUMMARY|fuzz' "$work/regressions.log" | tail -20 >&2
      failed+=("$t")
      continue
    fi
  fi

  log=$work/fuzz.log
  start=$SECONDS
  "$bin" "${opts[@]}" -max_total_time="$secs" -print_final_stats=1 -dict="$dict" \
    "$work/corpus" "$src/corpus" >"$log" 2>&1
  rc=$?
  last=$(grep -E '^#[0-9]+[[:space:]]+(INITED|NEW|REDUCE|pulse|DONE)' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/\1 edges, \2 features, corpus \3/p' <<<"$last")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  if [ $rc -ne 0 ]; then
    echo "fuzz $t: FAILED after $((SECONDS - start)) s ($log):" >&2
    grep -E 'ERROR|SUMMARY|fuzz_|fuzz:|Test unit written|runtime error' "$log" | head -20 >&2
    echo "  Replay: $bin <input>; minimise: $bin -minimize_crash=1 -runs=20000 <input>;" >&2
    echo "  fix it, then commit the input under $src/regressions/." >&2
    failed+=("$t")
    continue
  fi
  echo "fuzz $t: ${#regs[@]} regression inputs ok; ${runs:-?} runs in $((SECONDS - start)) s (${rate:-?}/s), ${cov:-no coverage line}; no crash, leak or timeout"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
