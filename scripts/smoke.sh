#!/usr/bin/env bash
# What a new user does: `npm start` with no .env and no data/, then open http://localhost:PORT.
# Fails unless the landing page, /healthz and /readyz answer within 60 seconds, and prints how long
# it took. Run from the repository root (CI runs it on a fresh clone, so it includes the web build).
set -euo pipefail
port=${SMOKE_PORT:-3190}
data=$(mktemp -d)
log=$(mktemp)
trap 'kill -TERM -- -"$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data" "$log"' EXIT
t0=$(date +%s%N)
PORT=$port DATA_DIR=$data setsid npm start >"$log" 2>&1 &
pid=$!
up=""
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/" 2>/dev/null | grep -q '<div id="root">'; then up=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ -z "$up" ]; then
  echo "smoke: the landing page did not come up; server output:"; cat "$log"; exit 1
fi
echo "smoke: landing page served $((ms / 1000)).$(( (ms % 1000) / 100 )) s after npm start (build included)"
curl -fsS "http://127.0.0.1:$port/healthz"; echo
curl -fsS "http://127.0.0.1:$port/readyz"; echo
if [ "$ms" -gt 60000 ]; then echo "smoke: slower than the promised 60 s"; exit 1; fi
kill -TERM -- -"$pid"
wait "$pid" 2>/dev/null || true
# npm may exit before the server it started has finished shutting down: wait for the whole group (at most 25 s)
for _ in $(seq 1 50); do kill -0 -- -"$pid" 2>/dev/null || break; sleep 0.5; done
grep -q '"msg":"shutting down"' "$log" || { echo "smoke: no graceful shutdown"; cat "$log"; exit 1; }
echo "smoke: ok"
