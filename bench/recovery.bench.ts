// Restart time with 1M positions in a snapshot plus a 1M-record journal tail:
// the time from a cold start to ready (snapshot load, index rebuild, journal
// replay with its stream messages). Baseline in the same run: reading the same
// files from disk (the floor any recovery pays).
//
// Run: node dist/bench/recovery.bench.js   (npm run build first)

import "../src/msgpack-strings.js"; // first, as in the server: msgpackr's JavaScript string decoder
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OmnistockEngine } from "../src/engine/engine.js";

const POSITIONS = Number(process.env.BENCH_POSITIONS ?? 1_000_000);
const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const SKUS = POSITIONS / 4;
const LOCATIONS = ["store-1", "store-2", "dc-1", "dc-2"];

function engineAt(dataDir: string): OmnistockEngine {
  return new OmnistockEngine({
    dataDir, positionsMax: POSITIONS * 2, reservationsMax: 1_048_576, snapshotEveryRecords: 1e12,
    expiryIntervalMs: 1000, log: () => undefined,
  });
}

async function build(dataDir: string): Promise<void> {
  const engine = engineAt(dataDir);
  await engine.recover();
  for (let s = 0; s < SKUS; s += 2500) {
    const items = [];
    for (let i = s; i < s + 2500; i++) for (const location of LOCATIONS) items.push({ sku: `SKU-${i}`, location, onHand: 1000 });
    await engine.setStock(items);
  }
  await engine.snapshotNow();
  const pending: Promise<unknown>[] = [];
  for (let r = 0; r < RECORDS; r++) {
    pending.push(engine.adjustStock([{ sku: `SKU-${(r * 7919) % SKUS}`, location: LOCATIONS[r % 4], delta: (r & 1) === 0 ? 1 : -1 }]));
    if (pending.length >= 10_000) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  await engine.close();
}

function bytesIn(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    if (statSync(path).isFile()) total += statSync(path).size;
  }
  return total;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "omnistock-recovery-bench-"));
  try {
    let t = performance.now();
    await build(dataDir);
    console.log(`built ${POSITIONS.toLocaleString("en-US")} positions + ${RECORDS.toLocaleString("en-US")} records in ${((performance.now() - t) / 1000).toFixed(1)} s (${(bytesIn(dataDir) / 1e6).toFixed(0)} MB on disk)`);

    t = performance.now();
    for (const name of readdirSync(dataDir, { recursive: true }) as string[]) {
      const path = join(dataDir, name);
      if (statSync(path).isFile()) readFileSync(path);
    }
    const readMs = performance.now() - t;

    const engine = engineAt(dataDir);
    t = performance.now();
    const report = await engine.recover();
    const recoverMs = performance.now() - t;
    await engine.close();
    console.log(`| measure | ms |`);
    console.log(`| --- | ---: |`);
    console.log(`| read every file (baseline) | ${readMs.toFixed(0)} |`);
    console.log(`| recover to ready (snapshot ${report.snapshotLsn}, ${report.replayedRecords} records replayed) | ${recoverMs.toFixed(0)} |`);
    console.log(`ratio recover / read: ${(recoverMs / readMs).toFixed(1)}×; target: ready in under 5,000 ms`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
