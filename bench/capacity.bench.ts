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

// Reads at capacity: uniformly random positions of the full ledger (its
// position table at the load positionsMax gives it), so nearly every read
// misses the caches, beside the Map's reads of the same keys in the same run.
// Ids are made before the timing, as the server's parser hands them over.
const READS = 2_000_000;
let seed = 12345;
const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
const readSkus: string[] = [];
const readLocations: string[] = [];
for (let i = 0; i < READS; i++) {
  readSkus.push(`SKU-${Math.floor(random() * SKUS)}`);
  readLocations.push(LOCATIONS[Math.floor(random() * LOCATIONS.length)]);
}
const readKeys = readSkus.map((sku, i) => `${sku}\u0000${readLocations[i]}`);
const flatSkus = JSON.parse(JSON.stringify(readSkus)) as string[];
const flatKeys = JSON.parse(JSON.stringify(readKeys)) as string[];
let sink = 0;
const ledgerReadsPerSec = (): number => {
  const start = performance.now();
  for (let i = 0; i < READS; i++) sink += ledger.availableAt(flatSkus[i], readLocations[i]);
  return READS / ((performance.now() - start) / 1000);
};
const mapReadsPerSec = (): number => {
  const start = performance.now();
  for (let i = 0; i < READS; i++) sink += map.get(flatKeys[i])!.onHand;
  return READS / ((performance.now() - start) / 1000);
};
ledgerReadsPerSec(); // warm-up: compiled code, and the pages of both stores touched once more
mapReadsPerSec();
const ledgerRate = Math.max(ledgerReadsPerSec(), ledgerReadsPerSec());
const mapRate = Math.max(mapReadsPerSec(), mapReadsPerSec());
if (sink !== READS * 7 * 6) throw new Error(`reads at capacity saw wrong figures (sum ${sink})`);
console.log();
console.log(`| uniform random reads at capacity | reads/s | × Map |`);
console.log(`| --- | ---: | ---: |`);
console.log(`| omnistock ledger (availableAt) | ${Math.round(ledgerRate).toLocaleString("en-US")} | ${(ledgerRate / mapRate).toFixed(2)}× |`);
console.log(`| Map<string, object>.get | ${Math.round(mapRate).toLocaleString("en-US")} | 1.00× |`);
