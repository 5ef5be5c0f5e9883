// The ledger's hot paths, in-process and single-threaded, beside the plain
// TypeScript reference model (Map<string, …>) measured in the same run: ATP
// reads, single-line hold+release, 5-line holds, commit+fulfill, and
// hold+release with a purge after each batch (retention 0: the steady state of
// a ledger that reuses purged room), and that purged loop once more over 100
// SKUs whose every byte stays in cache (the ledger's own cost, without the
// memory latency the 20k-SKU rows pay). Called with string ids, as the server
// calls them. Each tinybench iteration runs a batch of BATCH operations so the
// timer's own cost does not dominate. Reservation ids are made for each batch
// before its timing starts, decoded from a JSON array as the server's parser
// hands them over (flat strings): building them is the parser's work, and a
// template-literal id of 13+ characters is a cons string that no request
// ever carries, whose flattening the ledger's encoder would pay.
// BENCH_IDS=in-loop builds them inside the timed loop instead, as figures
// before 2026-12-07 were measured.
//
// Run: npm run bench   (or: node dist/bench/ledger.bench.js after npm run build)

import { Bench } from "tinybench";
import { ReferenceLedger } from "../src/ledger/reference-model.js";
import type { HoldLine, PositionFigures, StockLedger } from "../src/ledger/types.js";
import { WasmLedger } from "../src/ledger/wasm-ledger.js";
import { LedgerStatus } from "../src/ledger/status.js";
import { uniformPicks, zipfPicks } from "./picks.js";

const BATCH = 10_000;
const SKUS = 20_000;
const HOT_SKUS = 100;
const LOCATIONS = ["store-0001", "store-0002", "store-0003", "dc-east", "dc-west"];
const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 1500);

const skuIds = Array.from({ length: SKUS }, (_, i) => `SKU-${String(i).padStart(6, "0")}`);

function stock(ledger: StockLedger, skus: readonly string[] = skuIds): void {
  for (let s = 0; s < skus.length; s += 2000) {
    const items = [];
    for (let i = s; i < Math.min(s + 2000, skus.length); i++) for (const location of LOCATIONS) items.push({ sku: skus[i], location, onHand: 1_000_000_000 });
    ledger.setStock(items);
  }
}

// Storefront traffic is Zipfian: a few SKUs get most of it. Picks are drawn
// once (seeded) with s = 1 over all SKUs, so both systems see the same keys.
const picks = zipfPicks(65_536 * 5, SKUS, 42);

// Pre-built inputs, so the loop measures the ledger and not string building.
const oneLine: HoldLine[][] = Array.from({ length: 65_536 }, (_, i) => [{ sku: skuIds[picks[i]], location: LOCATIONS[i % 5], qty: 1 }]);
const fiveLines: HoldLine[][] = Array.from({ length: 65_536 }, (_, i) =>
  Array.from({ length: 5 }, (_, k) => ({ sku: skuIds[picks[65_536 + i * 4 + k]], location: LOCATIONS[k], qty: 1 })));
let idCounter = 0;
let ids: string[] = [];
const IDS_IN_LOOP = process.env.BENCH_IDS === "in-loop";
/** The batch's reservation ids (made by newIds before each timed iteration, or here with BENCH_IDS=in-loop). */
function nextIds(n: number): string[] {
  if (IDS_IN_LOOP) {
    ids = [];
    for (let i = 0; i < n; i++) ids.push(`order-${idCounter++}`);
  }
  if (ids.length !== n) throw new Error("reservation ids of the batch were not made");
  return ids;
}
/** Makes the next batch's ids: `order-N`, new in every batch, as JSON.parse gives them. */
function newIds(): void {
  const made: string[] = [];
  for (let i = 0; i < BATCH; i++) made.push(`order-${idCounter++}`);
  ids = JSON.parse(JSON.stringify(made)) as string[];
}
const withIds = IDS_IN_LOOP ? {} : { beforeEach: newIds };

interface Row { workload: string; system: string; opsPerSec: number }

async function main(): Promise<void> {
  const wasm = new WasmLedger({ positionsMax: SKUS * LOCATIONS.length * 2, reservationsMax: 16_000_000, reservationCellsMax: 64_000_000 });
  const reference = new ReferenceLedger();
  stock(wasm);
  stock(reference);
  const figures: PositionFigures = { available: 0, onHand: 0, reserved: 0, committed: 0, safetyStock: 0, shortfall: 0, version: 0 };
  let sink = 0;
  let failed = 0; // holds and moves that did not answer Ok
  const now = 1_700_000_000_000;
  const bench = new Bench({ time: TIME_MS, warmupTime: 200 });

  const readLoop = (ledger: StockLedger) => () => {
    for (let i = 0; i < BATCH; i++) {
      const line = oneLine[i & 65535][0];
      ledger.readPosition(line.sku, line.location, figures);
      sink += figures.available;
    }
  };
  bench.add("atp-read|omnistock", readLoop(wasm));
  bench.add("atp-read|reference", readLoop(reference));
  bench.add("atp-read (figure only)|omnistock", () => {
    for (let i = 0; i < BATCH; i++) {
      const line = oneLine[i & 65535][0];
      sink += wasm.availableAt(line.sku, line.location);
    }
  });

  bench.add("hold+release 1 line|omnistock", () => {
    const batch = nextIds(BATCH);
    for (let i = 0; i < BATCH; i++) {
      if (wasm.placeHold(batch[i], null, oneLine[i & 65535], 900_000, now) !== LedgerStatus.Ok) failed++;
      if (wasm.moveStatus(batch[i], 2, now) !== LedgerStatus.Ok) failed++;
    }
  }, withIds);
  bench.add("hold+release 1 line (answer objects)|omnistock", holdRelease(wasm, oneLine, now), withIds);
  bench.add("hold+release 1 line|reference", holdRelease(reference, oneLine, now), withIds);
  bench.add("hold+release 5 lines|omnistock", () => {
    const batch = nextIds(BATCH);
    for (let i = 0; i < BATCH; i++) {
      if (wasm.placeHold(batch[i], null, fiveLines[i & 65535], 900_000, now) !== LedgerStatus.Ok) failed++;
      if (wasm.moveStatus(batch[i], 2, now) !== LedgerStatus.Ok) failed++;
    }
  }, withIds);
  bench.add("hold+release 5 lines|reference", holdRelease(reference, fiveLines, now), withIds);
  bench.add("hold+commit+fulfill|omnistock", () => {
    const batch = nextIds(BATCH);
    for (let i = 0; i < BATCH; i++) {
      if (wasm.placeHold(batch[i], null, oneLine[i & 65535], 900_000, now) !== LedgerStatus.Ok) failed++;
      if (wasm.moveStatus(batch[i], 1, now) !== LedgerStatus.Ok) failed++;
      if (wasm.moveStatus(batch[i], 3, now) !== LedgerStatus.Ok) failed++;
    }
  }, withIds);
  // Their own ledgers, so that the purges take this task's reservations, not the millions the others left.
  const purging = new WasmLedger({ positionsMax: SKUS * LOCATIONS.length * 2, reservationsMax: 4 * BATCH });
  const purgingReference = new ReferenceLedger();
  stock(purging);
  stock(purgingReference);
  /** The purged rows: hold + release of a batch, then a purge that must take the whole batch. */
  const addPurged = (workload: string, ledger: WasmLedger, model: ReferenceLedger, lines: HoldLine[][]): void => {
    bench.add(`${workload}|omnistock`, () => {
      const batch = nextIds(BATCH);
      for (let i = 0; i < BATCH; i++) {
        if (ledger.placeHold(batch[i], null, lines[i & 65535], 900_000, now) !== LedgerStatus.Ok) failed++;
        if (ledger.moveStatus(batch[i], 2, now) !== LedgerStatus.Ok) failed++;
      }
      if (ledger.purge(now, 0, BATCH) !== BATCH) failed++;
    }, withIds);
    bench.add(`${workload}|reference`, () => {
      holdRelease(model, lines, now)();
      if (model.purge(now, 0, BATCH) !== BATCH) failed++;
    }, withIds);
  };
  addPurged("hold+release, purged", purging, purgingReference, oneLine);
  // The purged loop again over 100 SKUs, so that everything it touches stays in
  // cache: the ledger's own cost per pair, without this machine's memory
  // latency (the rows above, over 20k SKUs, are bound by it; bench/RESULTS.md).
  const hotSkus = skuIds.slice(0, HOT_SKUS);
  const hotPicks = uniformPicks(65_536, HOT_SKUS, 7);
  const hotLine: HoldLine[][] = hotPicks.map((p, i) => [{ sku: hotSkus[p], location: LOCATIONS[i % 5], qty: 1 }]);
  const hot = new WasmLedger({ positionsMax: HOT_SKUS * LOCATIONS.length * 2, reservationsMax: 4 * BATCH });
  const hotReference = new ReferenceLedger();
  stock(hot, hotSkus);
  stock(hotReference, hotSkus);
  addPurged(`hold+release, purged, ${HOT_SKUS} SKUs in cache`, hot, hotReference, hotLine);
  bench.add("hold+commit+fulfill|reference", () => {
    const batch = nextIds(BATCH);
    for (let i = 0; i < BATCH; i++) {
      reference.hold(batch[i], null, oneLine[i & 65535], 900_000, now);
      reference.commit(batch[i], now);
      reference.fulfill(batch[i], now);
    }
  }, withIds);

  await bench.run();
  // A full ledger would make holds fail fast and the figures look better than they are.
  if (failed > 0) {
    console.error(`ledger bench: ${failed} holds or moves did not answer Ok; the figures are not valid`);
    process.exitCode = 1;
  }
  const rows: Row[] = bench.tasks.map((task) => {
    const [workload, system] = task.name.split("|");
    const result = task.result as unknown as { throughput?: { mean: number } };
    return { workload, system, opsPerSec: (result.throughput?.mean ?? 0) * BATCH };
  });
  printTable(rows);
  if (sink === -1) console.log(sink); // keep the reads observable
}

function holdRelease(ledger: StockLedger, lines: HoldLine[][], now: number): () => void {
  return () => {
    const batch = nextIds(BATCH);
    for (let i = 0; i < BATCH; i++) {
      ledger.hold(batch[i], null, lines[i & 65535], 900_000, now);
      ledger.release(batch[i], now);
    }
  };
}

function printTable(rows: Row[]): void {
  const byWorkload = new Map<string, Row[]>();
  for (const row of rows) {
    const base = row.workload.replace(/ \(.*\)$/, "");
    byWorkload.set(base, [...(byWorkload.get(base) ?? []), row]);
  }
  console.log(`| workload | system | ops/s | × reference |`);
  console.log(`| --- | --- | ---: | ---: |`);
  for (const [, group] of byWorkload) {
    const ref = group.find((r) => r.system === "reference")?.opsPerSec ?? NaN;
    for (const row of group) {
      console.log(`| ${row.workload} | ${row.system} | ${Math.round(row.opsPerSec).toLocaleString("en-US")} | ${(row.opsPerSec / ref).toFixed(1)}× |`);
    }
  }
}

await main();
