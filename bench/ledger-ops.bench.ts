// Nanoseconds per ledger operation, one at a time, in-process: the figures
// behind the tuning notes in bench/RESULTS.md (a read, a hold with a new id,
// its repeat, a release with a million holds live, and hold+release pairs).
// 10,000 SKUs × 5 locations; ids pre-built so the loop measures the ledger.
//
// Run: node dist/bench/ledger-ops.bench.js   (npm run build first)

import { WasmLedger } from "../src/ledger/wasm-ledger.js";

const M = 1_000_000;
const ledger = new WasmLedger({ positionsMax: 200_000, reservationsMax: 2_100_000 });
const skus = Array.from({ length: 10_000 }, (_, i) => `SKU-${i}`);
const locations = ["store-1", "store-2", "dc-east", "dc-west", "web"];
for (let s = 0; s < skus.length; s += 2000) {
  const items = [];
  for (let i = s; i < s + 2000; i++) for (const location of locations) items.push({ sku: skus[i], location, onHand: 1_000_000_000 });
  ledger.setStock(items);
}
const ids = Array.from({ length: 2 * M }, (_, i) => `order-${i}`);
const lines = Array.from({ length: 50_000 }, (_, i) => [{ sku: skus[(i * 7919) % skus.length], location: locations[i % 5], qty: 1 }]);

function time(name: string, run: () => void): void {
  const started = performance.now();
  run();
  const ms = performance.now() - started;
  console.log(`| ${name} | ${((ms * 1e6) / M).toFixed(0)} | ${(M / ms / 1000).toFixed(2)} |`);
}

console.log("| operation | ns/op | M ops/s |");
console.log("| --- | ---: | ---: |");
time("ATP read (availableAt)", () => { for (let i = 0; i < M; i++) ledger.availableAt(lines[i % 50_000][0].sku, lines[i % 50_000][0].location); });
time("hold, new id", () => { for (let i = 0; i < M; i++) ledger.placeHold(ids[i], null, lines[i % 50_000], 9e5, 1000); });
time("hold, repeated id", () => { for (let i = 0; i < M; i++) ledger.placeHold(ids[i], null, lines[i % 50_000], 9e5, 1000); });
time("release (a million holds live)", () => { for (let i = 0; i < M; i++) ledger.moveStatus(ids[i], 2, 1001); });
time("hold + release pair", () => {
  for (let i = M; i < 2 * M; i++) {
    ledger.placeHold(ids[i], null, lines[i % 50_000], 9e5, 1000);
    ledger.moveStatus(ids[i], 2, 1001);
  }
});
