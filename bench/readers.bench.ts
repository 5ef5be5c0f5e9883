// Shared-memory readers: reader threads attach to the writer's ledger memory
// and answer ATP reads straight from it (no messages to the writer) while the
// writer applies holds and releases. Prints reads/s with one reader thread and
// with two, and the ratio (the target is ≥ 1.7× on two cores). The writer
// works at a fixed pace so the readers' scaling, not the writer, is measured.
//
// Run: node dist/bench/readers.bench.js   (npm run build first)

import { Worker } from "node:worker_threads";
import { WasmLedger } from "../src/ledger/wasm-ledger.js";

const SKUS = 20_000;
const LOCATIONS = ["store-1", "store-2", "dc-1", "dc-2", "web"];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WRITES_PER_TICK = 500; // hold+release pairs every 10 ms: 50,000 pairs/s

async function runReaders(ledger: WasmLedger, readers: number): Promise<{ readsPerSec: number; pairs: number }> {
  let pairs = 0;
  let n = 0;
  const lines = [{ sku: "", location: "", qty: 1 }];
  const writer = setInterval(() => {
    for (let i = 0; i < WRITES_PER_TICK; i++, n++) {
      lines[0].sku = `SKU-${(n * 7919) % SKUS}`;
      lines[0].location = LOCATIONS[n % 5];
      const id = `w-${readers}-${n}`;
      ledger.placeHold(id, null, lines, 900_000, Date.now());
      ledger.moveStatus(id, 2, Date.now());
      pairs++;
    }
  }, 10);
  const workers = Array.from({ length: readers }, (_, k) => new Worker(new URL("./readers-worker.js", import.meta.url), {
    workerData: { memory: ledger.memory, slot: k + 1, seconds: SECONDS, skus: SKUS, locations: LOCATIONS },
  }));
  const counts = await Promise.all(workers.map((w) => new Promise<number>((resolve, reject) => {
    w.once("message", (m: { reads: number; torn: number }) => {
      if (m.torn !== 0) reject(new Error(`reader saw ${m.torn} inconsistent figures`));
      resolve(m.reads);
    });
    w.once("error", reject);
  })));
  clearInterval(writer);
  await Promise.all(workers.map((w) => w.terminate()));
  return { readsPerSec: counts.reduce((a, b) => a + b, 0) / SECONDS, pairs };
}

async function main(): Promise<void> {
  const ledger = new WasmLedger({ positionsMax: 200_000, reservationsMax: 4_000_000 });
  for (let s = 0; s < SKUS; s += 2000) {
    const items = [];
    for (let i = s; i < s + 2000; i++) for (const location of LOCATIONS) items.push({ sku: `SKU-${i}`, location, onHand: 1_000_000_000 });
    ledger.setStock(items);
  }
  const one = await runReaders(ledger, 1);
  const two = await runReaders(ledger, 2);
  console.log(`| readers | reads/s | writer hold+release pairs meanwhile |`);
  console.log(`| ---: | ---: | ---: |`);
  console.log(`| 1 | ${Math.round(one.readsPerSec).toLocaleString("en-US")} | ${one.pairs.toLocaleString("en-US")} |`);
  console.log(`| 2 | ${Math.round(two.readsPerSec).toLocaleString("en-US")} | ${two.pairs.toLocaleString("en-US")} |`);
  console.log(`scaling: ${(two.readsPerSec / one.readsPerSec).toFixed(2)}× (target ≥ 1.7×)`);
}

await main();
