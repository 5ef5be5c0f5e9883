// Where in-process hold + release pairs go on this machine: the same loop
// (single-line hold, release, a purge after each batch of 10,000, as the
// ledger bench's purged row) over ledgers that differ only in how much of
// their memory a pair touches, batches alternating between them in one
// process so the host's noise hits every row alike. The ratio between rows
// is the figure; absolute rates swing 20-30 % between runs here.
//
// Run: npm run build && node bench/experiments/ledger-memory.mjs [seconds]
//   BENCH_IDS=reused  ids made once and reused (8 sets, each purged before it
//                     comes back) instead of fresh strings per batch.
//   BENCH_ROWS=0,2    only these rows (indexes into the table), e.g. 0 for one
//                     ledger alone, with the caches to itself.

import { WasmLedger } from "../../dist/src/ledger/wasm-ledger.js";
import { uniformPicks, zipfPicks } from "../../dist/bench/picks.js";

const LOCATIONS = ["store-0001", "store-0002", "store-0003", "dc-east", "dc-west"];
const BATCH = 10_000;
const NOW = 1_700_000_000_000;
const REUSED_IDS = process.env.BENCH_IDS === "reused";

function row(name, skus, picks, reservationsMax) {
  const skuIds = Array.from({ length: skus }, (_, i) => `SKU-${String(i).padStart(6, "0")}`);
  const ledger = new WasmLedger({ positionsMax: Math.max(skus * 10, 1024), reservationsMax });
  for (let s = 0; s < skus; s += 2000) {
    const items = [];
    for (let i = s; i < Math.min(s + 2000, skus); i++) for (const location of LOCATIONS) items.push({ sku: skuIds[i], location, onHand: 1e9 });
    ledger.setStock(items);
  }
  const lines = picks(65_536, skus, picks === zipfPicks ? 42 : 7).map((p, i) => [{ sku: skuIds[p], location: LOCATIONS[i % 5], qty: 1 }]);
  return { name, ledger, lines, ms: 0, pairs: 0 };
}

const allRows = [ // made only when chosen
  () => row("100 SKUs (all in cache), 40k-reservation table", 100, uniformPicks, 4 * BATCH),
  () => row("20k SKUs, Zipf (the ledger bench), 40k table", 20_000, zipfPicks, 4 * BATCH),
  () => row("20k SKUs, Zipf, 1M-reservation table", 20_000, zipfPicks, 1 << 20),
  () => row("20k SKUs, uniform, 40k table", 20_000, uniformPicks, 4 * BATCH),
];
const rows = (process.env.BENCH_ROWS ? process.env.BENCH_ROWS.split(",").map((i) => allRows[Number(i)]) : allRows).map((make) => make());
let counter = 0;
const makeIds = () => JSON.parse(JSON.stringify(Array.from({ length: BATCH }, () => `order-${counter++}`)));
const reused = Array.from({ length: 8 }, makeIds);
let failed = 0, batches = 0;
const seconds = Number(process.argv[2] ?? 8);
const start = performance.now();
while (performance.now() - start < seconds * 1000) {
  for (const r of rows) {
    const ids = REUSED_IDS ? reused[batches & 7] : makeIds();
    const { ledger, lines } = r;
    const t = performance.now();
    for (let i = 0; i < BATCH; i++) {
      if (ledger.placeHold(ids[i], null, lines[i & 65535], 900_000, NOW) !== 0) failed++;
      if (ledger.moveStatus(ids[i], 2, NOW) !== 0) failed++;
    }
    if (ledger.purge(NOW, 0, BATCH) !== BATCH) failed++;
    r.ms += performance.now() - t;
    r.pairs += BATCH;
  }
  batches++;
}
if (failed > 0) throw new Error(`${failed} holds, moves or purges did not answer as expected`);
const first = rows[0].pairs / rows[0].ms;
console.log(`ids: ${REUSED_IDS ? "reused (8 sets)" : "fresh strings per batch"}`);
console.log("| ledger | M pairs/s | × the all-in-cache row |\n| --- | ---: | ---: |");
for (const r of rows) console.log(`| ${r.name} | ${(r.pairs / r.ms / 1000).toFixed(2)} | ${(r.pairs / r.ms / first).toFixed(2)} |`);
