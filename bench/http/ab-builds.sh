#!/usr/bin/env bash
# bench/http/ab-builds.sh SCRIPT ROUNDS DIR...: alternating A/B of builds of
# omnistock (each DIR a checkout with dist/ and build/ built, e.g. a git
# worktree of an older commit beside this one) under one wrk workload
# (bench/http/wrk/SCRIPT), on the writer's thread (OMNISTOCK_WORKERS=0), each
# run against a fresh engine with 1,000 SKUs at one location.
#
# Prints per run: req/s, p99, status errors, and the engine's CPU per request
# on its main thread (user and system µs, from /proc/PID/task/PID/stat) and
# in its other threads. On this shared 2-core machine throughput swings
# ±10 % between runs of one build; CPU per request moves much less, so it is
# the figure that tells a small change apart.
#
# Example: bash bench/http/ab-builds.sh hold-spread.lua 3 /work/base /work/main
# Needs wrk; build each DIR first (npm run build).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script=$1; rounds=$2; shift 2
seconds=${AB_SECONDS:-5}
stock=$(mktemp)
node -e 'const items = []; for (let i = 0; i < 1000; i++) items.push({ sku: `SKU-${String(i).padStart(6, "0")}`, location: "store-0001", onHand: 1000000 }); process.stdout.write(JSON.stringify({ items }));' > "$stock"
export BENCH_SKUS=1000 BENCH_LOCATIONS=store-0001 BENCH_HOT_SKU=SKU-000001 BENCH_HOT_LOCATION=store-0001
hz=$(getconf CLK_TCK)

# user and system ticks of the main thread, and of all threads, of process $1
ticks() { awk '{print $14, $15}' "/proc/$1/task/$1/stat"; awk '{print $14 + $15}' "/proc/$1/stat"; }

for round in $(seq "$rounds"); do
  for dir in "$@"; do
    d=$(mktemp -d)
    port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
    (cd "$dir" && OMNISTOCK_WORKERS=0 OMNISTOCK_DATA_DIR=$d OMNISTOCK_PORT=$port OMNISTOCK_POSITIONS_MAX=200000 \
      OMNISTOCK_RESERVATIONS_MAX=4000000 exec node dist/src/main.js) > "$d/log" 2>&1 &
    pid=$!
    trap 'kill "$pid" 2>/dev/null; rm -rf "$d" "$stock"' EXIT
    for _ in $(seq 100); do curl -sf "127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.1; done
    curl -sf "127.0.0.1:$port/readyz" > /dev/null || { echo "$dir: not ready after 10 s" >&2; exit 1; }
    curl -sf -XPOST "127.0.0.1:$port/v1/stock" -H 'content-type: application/json' --data-binary @"$stock" > /dev/null
    (cd "$here/wrk" && wrk -t1 -c64 -d1s -s "$script" "http://127.0.0.1:$port" -- "warm$round" > /dev/null 2>&1)
    read -r u0 s0 < <(ticks "$pid" | head -1); all0=$(ticks "$pid" | tail -1)
    out=$(cd "$here/wrk" && wrk -t1 -c64 -d"${seconds}s" -s "$script" "http://127.0.0.1:$port" -- "run$round" 2>&1)
    read -r u1 s1 < <(ticks "$pid" | head -1); all1=$(ticks "$pid" | tail -1)
    requests=$(echo "$out" | grep -o '"requests":[0-9]*' | cut -d: -f2)
    node -e '
      const [dir, rps, p99, errs, u, s, other, n, hz] = process.argv.slice(1);
      const us = (t) => (Number(t) / Number(hz) * 1e6 / Number(n)).toFixed(2);
      console.log(`${dir}  ${Math.round(rps)} req/s  p99 ${(p99 / 1000).toFixed(2)} ms  errors ${errs}  main thread ${us(u)} user + ${us(s)} sys µs/req  other threads ${us(other)} µs/req`);
    ' "$dir" "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" "$(echo "$out" | grep -o '"p99Us":[0-9]*' | cut -d: -f2)" \
      "$(echo "$out" | grep -o '"statusErrors":[0-9]*' | cut -d: -f2)" $((u1 - u0)) $((s1 - s0)) \
      $(( (all1 - all0) - (u1 - u0) - (s1 - s0) )) "$requests" "$hz"
    kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$d"
  done
done
rm -f "$stock"
