#!/usr/bin/env bash
# bench/http/ab-workers.sh SCRIPT WORKERS...: alternating A/B of OMNISTOCK_WORKERS
# settings under one wrk workload (bench/http/wrk/SCRIPT), two rounds, each
# against a fresh `node dist/src/main.js` with 1,000 SKUs at one location.
# Example: bash bench/http/ab-workers.sh hold-spread.lua 0 2 1
# Prints req/s and p99 per run. Build first (npm run build); needs wrk.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
script=$1; shift
stock=$(mktemp)
node -e 'const items = []; for (let i = 0; i < 1000; i++) items.push({ sku: `SKU-${String(i).padStart(6, "0")}`, location: "store-0001", onHand: 1000000 }); process.stdout.write(JSON.stringify({ items }));' > "$stock"
export BENCH_SKUS=1000 BENCH_LOCATIONS=store-0001 BENCH_HOT_SKU=SKU-000001 BENCH_HOT_LOCATION=store-0001
for round in 1 2; do
  for w in "$@"; do
    d=$(mktemp -d)
    port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
    OMNISTOCK_WORKERS=$w OMNISTOCK_DATA_DIR=$d OMNISTOCK_PORT=$port OMNISTOCK_POSITIONS_MAX=200000 OMNISTOCK_RESERVATIONS_MAX=4000000 node dist/src/main.js > "$d/log" 2>&1 &
    pid=$!
    trap 'kill "$pid" 2>/dev/null; rm -rf "$d" "$stock"' EXIT # also when a step below fails
    # -f: only a 200 counts (a 503 body, "not_ready", also contains "ready").
    for _ in $(seq 100); do curl -sf "127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.1; done
    curl -sf "127.0.0.1:$port/readyz" > /dev/null || { echo "OMNISTOCK_WORKERS=$w: not ready after 10 s" >&2; exit 1; }
    curl -sf -XPOST "127.0.0.1:$port/v1/stock" -H 'content-type: application/json' --data-binary @"$stock" > /dev/null
    (cd bench/http/wrk && wrk -t1 -c64 -d1s -s "$script" "http://127.0.0.1:$port" -- "warm$w$round" > /dev/null 2>&1)
    out=$(cd bench/http/wrk && wrk -t1 -c64 -d5s -s "$script" "http://127.0.0.1:$port" -- "run$w$round" 2>&1)
    echo "OMNISTOCK_WORKERS=$w $(echo "$out" | grep Requests/sec) $(echo "$out" | grep -o '"p99Us":[0-9]*') $(echo "$out" | grep -o '"statusErrors":[0-9]*')"
    kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$d"
  done
done
rm -f "$stock"
