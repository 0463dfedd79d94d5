#!/usr/bin/env bash
# Validates the e2e tests against the official Node server (socket.io 4.8.4):
# starts tests/e2e/node-app.mjs on a free port and runs tests/e2e/js/*.test.mjs
# in each transport mode.
#
# Then, when recovery.test.mjs is among the files, it starts a second app with
# connection state recovery (SIO_RECOVERY_MS, APP.md "Recovery mode") and runs
# recovery.test.mjs alone against it, in each mode.
#
# Usage: tests/e2e/run-node.sh [mode...]     (modes: websocket polling upgrade; default all)
# Env:   RUNS=n    repeat the whole thing n times (default 1)
#        FILES=... test files to run (default tests/e2e/js/*.test.mjs)
#        RECOVERY_MS=n  the recovery window of the second app (default 2000)
set -euo pipefail

cd "$(dirname "$0")/../.."
[ -d node_modules/socket.io ] || npm ci --no-audit --no-fund

modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(websocket polling upgrade)
runs=${RUNS:-1}
read -r -a files <<<"${FILES:-$(echo tests/e2e/js/*.test.mjs)}"

recovery_file=tests/e2e/js/recovery.test.mjs
recovery_ms=${RECOVERY_MS:-2000}
with_recovery=false
for f in "${files[@]}"; do
  if [ "$(basename "$f")" = recovery.test.mjs ]; then with_recovery=true; recovery_file=$f; fi
done

log=$(mktemp -d)
app_pids=()
cleanup() {
  for pid in "${app_pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$log"
}
trap cleanup EXIT

# start_app NAME [VAR=value...]: starts the reference app (with the given env)
# and waits (bounded) for "listening <port>"; sets $port.
start_app() {
  local name=$1; shift
  env "$@" PORT=0 node tests/e2e/node-app.mjs >"$log/$name.out" 2>"$log/$name.err" &
  local pid=$!
  app_pids+=("$pid")
  port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/^listening \([0-9][0-9]*\)$/\1/p' "$log/$name.out" | head -n1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log/$name.err" >&2; echo "node-app ($name) exited" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { echo "node-app ($name) did not print 'listening <port>' within 10 s" >&2; exit 1; }
  echo "node-app ($name) listening on $port"
}

start_app app -u SIO_RECOVERY_MS
app_port=$port
if $with_recovery; then
  start_app recovery SIO_RECOVERY_MS="$recovery_ms"
  recovery_port=$port
fi

status=0
for run in $(seq 1 "$runs"); do
  for mode in "${modes[@]}"; do
    echo "=== run $run/$runs, mode $mode"
    if env -u SIO_RECOVERY_MS SIO_URL="http://127.0.0.1:$app_port" SIO_TRANSPORTS="$mode" \
        timeout --kill-after=5 120 node --test --test-reporter=spec "${files[@]}"; then
      :
    else
      echo "FAILED: run $run mode $mode (exit $?)" >&2
      status=1
    fi
    if $with_recovery; then
      echo "=== run $run/$runs, mode $mode, recovery (SIO_RECOVERY_MS=$recovery_ms)"
      if SIO_RECOVERY_MS="$recovery_ms" SIO_URL="http://127.0.0.1:$recovery_port" SIO_TRANSPORTS="$mode" \
          timeout --kill-after=5 120 node --test --test-reporter=spec "$recovery_file"; then
        :
      else
        echo "FAILED: run $run mode $mode, recovery (exit $?)" >&2
        status=1
      fi
    fi
  done
done
for name in app recovery; do
  if [ -s "$log/$name.err" ]; then echo "--- node-app ($name) stderr:" >&2; cat "$log/$name.err" >&2; fi
done
exit $status
