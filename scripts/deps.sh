#!/usr/bin/env bash
# deps.sh - installs the Debian packages Cairn needs that are missing.
# Called by the Makefile before every build, so a fresh machine needs
# nothing by hand. Usage: scripts/deps.sh [build|test|bench|fuzz]
set -euo pipefail
what=${1:-build}
# tzdata: the zoneinfo files business hours are read in (src/core/tz.c).
# libcurl: webhook deliveries over HTTP and outbound email over SMTP.
pkgs=(gcc make pkg-config libh2o-evloop-dev libjansson-dev libsqlite3-dev libssl-dev zlib1g-dev libpq-dev libcurl4-openssl-dev tzdata)
# The fuzzers (tests/fuzz) need clang and its libFuzzer and sanitizer
# runtimes, which Debian ships apart from the compiler.
fuzz=(clang libclang-rt-14-dev)
case "$what" in
  test) pkgs+=(python3 curl postgresql-15 clang-format "${fuzz[@]}") ;;
  fuzz) pkgs+=("${fuzz[@]}") ;;
  bench) pkgs+=(wrk curl postgresql-15) ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
