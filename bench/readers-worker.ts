// One reader thread of bench/readers.bench.ts: attaches to the ledger memory
// and reads positions for a fixed time, checking every figure's consistency
// (available + reserved + committed + safetyStock never exceeds onHand when
// available > 0: a torn read of a concurrent hold would break it).

import { parentPort, workerData } from "node:worker_threads";
import { WasmLedger } from "../src/ledger/wasm-ledger.js";
import type { PositionFigures } from "../src/ledger/types.js";

const { memory, slot, seconds, skus, locations } = workerData as {
  memory: WebAssembly.Memory; slot: number; seconds: number; skus: number; locations: string[];
};
const ledger = new WasmLedger({}, { memory, readerSlot: slot });
const skuIds = Array.from({ length: skus }, (_, i) => `SKU-${i}`);
const figures: PositionFigures = { available: 0, onHand: 0, reserved: 0, committed: 0, safetyStock: 0, shortfall: 0, version: 0 };
let reads = 0;
let torn = 0;
const end = performance.now() + seconds * 1000;
while (performance.now() < end) {
  for (let i = 0; i < 10_000; i++) {
    ledger.readPosition(skuIds[(i * 31 + slot) % skus], locations[i % 5], figures);
    if (figures.available > 0 && figures.available + figures.reserved + figures.committed + figures.safetyStock !== figures.onHand) torn++;
  }
  reads += 10_000;
}
parentPort!.postMessage({ reads, torn });
