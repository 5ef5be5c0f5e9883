#!/usr/bin/env bash
# load/smoke.sh (npm run load:smoke): a short run of every k6 script against a
# fresh engine. Starts `node dist/src/main.js` on a free port with an empty
# temporary data directory, runs browse, checkout, flash-sale and subscribers
# (the last one only if GET /v1/stream upgrades to a WebSocket) for a few
# seconds each, stops the engine, and exits non-zero if any script failed its
# thresholds or checks.
#
# Overrides (environment):
#   SMOKE_DURATION   each script's duration (default 5s)
#   SMOKE_FLASH_VUS  flash-sale virtual users (default 2000)
#   SMOKE_SCRIPTS    which scripts to run (default "browse checkout flash-sale subscribers")
#   K6               path of the k6 binary (default: k6 on PATH, else $(go env GOPATH)/bin/k6)
#   SMOKE_KEEP       1 keeps the temporary directory (engine log, data, k6 summaries)
# Any other variable the scripts read (RATE, VUS, P99_MS, …) passes through to k6.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${SMOKE_DURATION:-5s}"
FLASH_VUS="${SMOKE_FLASH_VUS:-2000}"
SCRIPTS="${SMOKE_SCRIPTS:-browse checkout flash-sale subscribers}"

# --- k6 ---------------------------------------------------------------------
K6="${K6:-}"
if [ -z "$K6" ]; then
  if command -v k6 >/dev/null 2>&1; then
    K6="$(command -v k6)"
  elif command -v go >/dev/null 2>&1 && [ -x "$(go env GOPATH)/bin/k6" ]; then
    K6="$(go env GOPATH)/bin/k6"
  fi
fi
if [ -z "$K6" ] || [ ! -x "$K6" ]; then
  cat >&2 <<'MSG'
smoke: k6 not found (looked on PATH and in $(go env GOPATH)/bin).
Install it with Go (a few minutes to build):
    go install go.k6.io/k6@v1.8.1
then run again, or point K6=/path/to/k6 at a binary. See load/README.md.
MSG
  exit 2
fi
echo "smoke: $("$K6" version 2>/dev/null | head -1)"

# --- engine -----------------------------------------------------------------
if [ ! -f dist/src/main.js ]; then
  echo "smoke: dist/ missing, npm run build"
  npm run build || { echo "smoke: build failed" >&2; exit 1; }
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/omnistock-smoke.XXXXXX")"
ENGINE_PID=""
stop_engine() {
  if [ -n "$ENGINE_PID" ] && kill -0 "$ENGINE_PID" 2>/dev/null; then
    kill -TERM "$ENGINE_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$ENGINE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$ENGINE_PID" 2>/dev/null && kill -KILL "$ENGINE_PID" 2>/dev/null
    wait "$ENGINE_PID" 2>/dev/null
  fi
  ENGINE_PID=""
}
cleanup() {
  stop_engine
  if [ "${SMOKE_KEEP:-0}" = 1 ]; then echo "smoke: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Port 0: the engine picks a free port and reports it on its "listening" line.
OMNISTOCK_HOST=127.0.0.1 OMNISTOCK_PORT=0 OMNISTOCK_DATA_DIR="$TMP/data" \
  node dist/src/main.js >"$TMP/engine.out" 2>"$TMP/engine.err" &
ENGINE_PID=$!
for _ in $(seq 1 300); do
  grep -q '"event":"ready"' "$TMP/engine.out" 2>/dev/null && break
  kill -0 "$ENGINE_PID" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q '"event":"ready"' "$TMP/engine.out" 2>/dev/null; then
  echo "smoke: the engine did not become ready within 30 s" >&2
  cat "$TMP/engine.out" "$TMP/engine.err" >&2
  exit 1
fi
PORT="$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$TMP/engine.out" | head -1)"
URL="http://127.0.0.1:$PORT"
export OMNISTOCK_URL="$URL"
echo "smoke: engine pid $ENGINE_PID ready at $URL (data in $TMP/data)"

# --- does the stream exist yet? ----------------------------------------------
stream_status() {
  # A WebSocket upgrade: 101 when /v1/stream exists (curl then times out on the
  # open socket, which is fine), 404 until it does.
  curl -s -o /dev/null -w '%{http_code}' --max-time 2 --http1.1 \
    -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: b21uaXN0b2NrLXNtb2tlLTE=' "$URL/v1/stream" 2>/dev/null
}

# --- scripts -----------------------------------------------------------------
summary_line() { # $1 = summary-export json
  node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).metrics;
    const v = (m) => (s[m] ? (s[m].values || s[m]) : null);
    const reqs = v("http_reqs"), dur = v("http_req_duration"), checks = v("checks");
    const ms = (x) => (x === undefined ? "n/a" : x.toFixed(2) + " ms");
    const out = [];
    if (reqs) out.push(`${reqs.count} req, ${reqs.rate.toFixed(0)} req/s`);
    if (dur) out.push(`p95 ${ms(dur["p(95)"])}, p99 ${ms(dur["p(99)"])}`);
    if (checks) out.push(`checks ${checks.passes}/${checks.passes + checks.fails}`);
    console.log(out.join("; "));
  ' "$1" 2>/dev/null || echo "(no summary)"
}

declare -A RESULT
FAILED=0
for name in $SCRIPTS; do
  args=(-e "DURATION=$DURATION")
  case "$name" in
    browse) ;;
    checkout) ;;
    flash-sale) args+=(-e "VUS=$FLASH_VUS") ;;
    subscribers)
      code="$(stream_status)"
      if [ "$code" != 101 ]; then
        echo "smoke: SKIP subscribers: GET /v1/stream answers ${code:-nothing} to a WebSocket upgrade (the stream endpoint is not there yet)"
        RESULT[$name]="skipped (no /v1/stream: $code)"
        continue
      fi
      ;;
    *) echo "smoke: unknown script $name" >&2; FAILED=1; RESULT[$name]="unknown"; continue ;;
  esac
  busy="$(awk -v n="$(nproc 2>/dev/null || echo 1)" '{ print ($1 > n) ? 1 : 0 }' /proc/loadavg 2>/dev/null)"
  if [ "$busy" = 1 ]; then
    echo "smoke: WARNING: load average $(cut -d' ' -f1 /proc/loadavg) exceeds the $(nproc) CPUs before $name:" \
      "other work competes with k6 and the engine, latency thresholds may fail for reasons outside the engine"
  fi
  echo
  echo "==== $name ($DURATION; load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)) ===="
  "$K6" run --quiet --no-usage-report --summary-export "$TMP/$name.json" "${args[@]}" "load/$name.js"
  rc=$?
  if ! kill -0 "$ENGINE_PID" 2>/dev/null; then
    echo "smoke: the engine died during $name" >&2
    tail -20 "$TMP/engine.err" >&2
    RESULT[$name]="FAILED (engine died)"
    FAILED=1
    break
  fi
  line="$(summary_line "$TMP/$name.json")"
  if [ "$rc" -eq 0 ]; then RESULT[$name]="ok: $line"; else RESULT[$name]="FAILED (k6 exit $rc): $line"; FAILED=1; fi
done

stop_engine
echo
echo "==== smoke summary ($URL, $(nproc 2>/dev/null || echo '?') CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)) ===="
for name in $SCRIPTS; do
  printf '  %-12s %s\n' "$name" "${RESULT[$name]:-not run}"
done
if [ "$FAILED" -ne 0 ]; then
  echo "smoke: FAILED"
  exit 1
fi
echo "smoke: all passed"
