// Proves that reader threads attached to the ledger's shared memory read
// consistent figures while the writer applies holds, releases and stock
// writes concurrently (the per-position seqlock): no torn read, no position
// lost, and a reader cannot write.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { WasmLedger } from "../src/ledger/wasm-ledger.js";

const FIXTURE = join(__dirname, "fixtures", "ledger-reader.mjs");
const BUILT = join(__dirname, "..", "dist", "src", "ledger", "wasm-ledger.js");
const SKUS = 200;

describe.skipIf(!existsSync(BUILT))("shared-memory readers", () => {
  it("never see a torn or missing position while the writer changes them", async () => {
    const ledger = new WasmLedger({ positionsMax: 10_000, reservationsMax: 200_000 });
    const items = Array.from({ length: SKUS }, (_, i) => ({ sku: `SKU-${i}`, location: "s1", onHand: 1_000_000 }));
    expect(ledger.setStock(items).status).toBe(0);
    const stop = new SharedArrayBuffer(4);
    const readers = [1, 2].map((slot) => new Worker(FIXTURE, { workerData: { memory: ledger.memory, slot, skus: SKUS, stop } }));
    const results = readers.map((w) => new Promise<{ reads: number; torn: number; unknown: number }>((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    }));
    // The writer: holds (reserved up), commits (reserved → committed), releases and recounts, all while the readers read.
    const line = [{ sku: "", location: "s1", qty: 3 }];
    for (let n = 0; n < 60_000; n++) {
      line[0].sku = `SKU-${n % SKUS}`;
      const id = `r-${n}`;
      expect(ledger.placeHold(id, null, line, 60_000, 1)).toBe(0);
      if (n % 3 === 0) ledger.moveStatus(id, 1, 1); // commit
      else ledger.moveStatus(id, 2, 1); // release
      if (n % 1000 === 0) ledger.setStock([{ sku: `SKU-${n % SKUS}`, location: "s1", onHand: 1_000_000 + n }]);
      if (n % 5000 === 0) await new Promise((r) => setImmediate(r)); // let the readers start
    }
    Atomics.store(new Int32Array(stop), 0, 1);
    const totals = await Promise.all(results);
    await Promise.all(readers.map((w) => w.terminate()));
    for (const t of totals) {
      expect(t.reads).toBeGreaterThan(0);
      expect(t.torn).toBe(0);
      expect(t.unknown).toBe(0);
    }
    const reader = new WasmLedger({}, { memory: ledger.memory, readerSlot: 3 });
    expect(() => reader.setStock(items)).toThrow(/reader/);
  });
});
