#!/usr/bin/env bash
# Validates the e2e tests against the official Node server (socket.io 4.8.4):
# starts tests/e2e/node-app.mjs on a free port and runs tests/e2e/js/*.test.mjs
# in each transport mode.
#
# Usage: tests/e2e/run-node.sh [mode...]     (modes: websocket polling upgrade; default all)
# Env:   RUNS=n    repeat the whole thing n times (default 1)
#        FILES=... test files to run (default tests/e2e/js/*.test.mjs)
set -euo pipefail

cd "$(dirname "$0")/../.."
[ -d node_modules/socket.io ] || npm ci --no-audit --no-fund

modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(websocket polling upgrade)
runs=${RUNS:-1}
read -r -a files <<<"${FILES:-$(echo tests/e2e/js/*.test.mjs)}"

log=$(mktemp -d)
app_pid=""
cleanup() {
  if [ -n "$app_pid" ]; then kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi
  rm -rf "$log"
}
trap cleanup EXIT

# Start the reference app and wait (bounded) for "listening <port>".
PORT=0 node tests/e2e/node-app.mjs >"$log/app.out" 2>"$log/app.err" &
app_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/^listening \([0-9][0-9]*\)$/\1/p' "$log/app.out" | head -n1)
  [ -n "$port" ] && break
  kill -0 "$app_pid" 2>/dev/null || { cat "$log/app.err" >&2; echo "node-app exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "node-app did not print 'listening <port>' within 10 s" >&2; exit 1; }
echo "node-app listening on $port"

status=0
for run in $(seq 1 "$runs"); do
  for mode in "${modes[@]}"; do
    echo "=== run $run/$runs, mode $mode"
    if SIO_URL="http://127.0.0.1:$port" SIO_TRANSPORTS="$mode" \
        timeout --kill-after=5 120 node --test --test-reporter=spec "${files[@]}"; then
      :
    else
      echo "FAILED: run $run mode $mode (exit $?)" >&2
      status=1
    fi
  done
done
if [ -s "$log/app.err" ]; then echo "--- node-app stderr:" >&2; cat "$log/app.err" >&2; fi
exit $status
