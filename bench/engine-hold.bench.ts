// The writer's own cost of a durable hold, without HTTP: engine.hold() as the
// server calls it (the ledger, the journal record, the stream messages, the
// reply body), its group commit to a real journal on disk, and the release of
// its stream message after the fsync. Holds come in rounds of CONCURRENCY, as
// 64 connections give them under wrk, each round awaited like a group commit.
//
// Prints the main thread's CPU time per hold (user + system, from
// /proc/thread-self/stat: the journal's writes on libuv's pool are not in
// it) and holds per second of wall time. CPU per hold moves far less between
// runs on this shared machine than throughput does, so compare it, with
// alternating runs of two builds (see bench/RESULTS.md).
//
// Run: node dist/bench/engine-hold.bench.js   (npm run build first)

import "../src/msgpack-strings.js"; // first, as in the server: msgpackr's JavaScript string decoder
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OmnistockEngine } from "../src/engine/engine.js";

const SKUS = 1000;
const LOCATION = "store-0001";
const CONCURRENCY = 64;
const HOLDS = Number(process.env.BENCH_HOLDS ?? 300_000);
const WARMUP = 30_000;

/** User and system CPU of this thread, in ms (clock ticks of 10 ms on Linux). */
function threadCpuMs(): number {
  const fields = readFileSync("/proc/thread-self/stat", "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15 of stat)
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "omnistock-engine-hold-"));
  const engine = new OmnistockEngine({
    dataDir, positionsMax: 200_000, reservationsMax: 4_000_000, snapshotEveryRecords: 1e12, expiryIntervalMs: 1e9, log: () => undefined,
  });
  await engine.recover();
  const skus = Array.from({ length: SKUS }, (_, i) => `SKU-${String(i).padStart(6, "0")}`);
  await engine.setStock(skus.map((sku) => ({ sku, location: LOCATION, onHand: 1_000_000_000 })));
  let n = 0;
  let failed = 0;
  let random = 12345;
  const run = async (holds: number): Promise<void> => {
    for (let done = 0; done < holds; done += CONCURRENCY) {
      const round: Promise<{ status: number }>[] = [];
      for (let i = 0; i < CONCURRENCY; i++) {
        random = (Math.imul(random, 1103515245) + 12345) >>> 0;
        // A body as JSON.parse gives it: a fresh object and fresh strings per request.
        const request = JSON.parse(`{"id":"r-run-1-${n++}","lines":[{"sku":"${skus[random % SKUS]}","location":"${LOCATION}","qty":1}]}`);
        round.push(engine.hold(request));
      }
      for (const reply of await Promise.all(round)) if (reply.status !== 201) failed++;
    }
  };
  await run(WARMUP);
  const cpu0 = threadCpuMs();
  const t0 = performance.now();
  await run(HOLDS);
  const wallMs = performance.now() - t0;
  const cpuMs = threadCpuMs() - cpu0;
  await engine.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (failed > 0) {
    console.error(`engine-hold bench: ${failed} holds did not answer 201; the figures are not valid`);
    process.exitCode = 1;
  }
  console.log(`engine.hold, durable: ${HOLDS} holds, main thread ${(cpuMs * 1000 / HOLDS).toFixed(2)} µs CPU a hold, ` +
    `${Math.round(HOLDS / wallMs * 1000).toLocaleString("en-US")} holds/s of wall time (${CONCURRENCY} per round)`);
}

await main();
