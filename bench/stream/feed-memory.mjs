// node --expose-gc bench/stream/feed-memory.mjs [--paused-client] [--workers N]
// The engine's memory over a million deltas: writes 1,000-delta rounds
// (100 SKUs × 10 locations) into an in-process engine and prints heap +
// external of every thread after a full GC every 200,000 deltas, after first
// filling the feed's in-memory tail. With --paused-client a WebSocket client
// subscribes to everything and never reads. Build first (npm run build).
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../dist/src/config.js";
import { startOmnistock } from "../../dist/src/omnistock.js";

const args = process.argv.slice(2);
const paused = args.includes("--paused-client");
const workers = args.includes("--workers") ? args[args.indexOf("--workers") + 1] : "0";
if (typeof gc !== "function") throw new Error("run with node --expose-gc");
const WebSocket = createRequire(import.meta.url)("ws");

const dataDir = mkdtempSync(join(tmpdir(), "omnistock-feed-memory-"));
const running = await startOmnistock(loadConfig({
  OMNISTOCK_HOST: "127.0.0.1", OMNISTOCK_PORT: "0", OMNISTOCK_DATA_DIR: dataDir,
  OMNISTOCK_POSITIONS_MAX: "100000", OMNISTOCK_RESERVATIONS_MAX: "100000", OMNISTOCK_WORKERS: workers,
}), () => undefined);
await running.ready;
const engine = running.engine;

async function rounds(n, base) {
  for (let k = 0; k < n; k++) {
    const items = [];
    for (let s = 0; s < 100; s++) for (let l = 0; l < 10; l++) items.push({ sku: `S${s}`, location: `L${l}`, onHand: base + k + s + l + 1 });
    await engine.setStock(items);
  }
}
async function mib() {
  gc();
  const m = process.memoryUsage();
  return ((m.heapUsed + m.external + (await running.workerHeapBytes())) / 1048576).toFixed(1);
}

await rounds(101, 0); // fills the 100,000-message tail
let ws = null;
if (paused) {
  ws = new WebSocket(`ws://127.0.0.1:${running.port}/v1/stream`);
  await new Promise((resolve) => ws.once("open", resolve));
  ws.send(JSON.stringify({ op: "subscribe" }));
  await new Promise((resolve) => setTimeout(resolve, 200));
  ws._socket.pause();
}
console.log(`workers ${workers}, ${paused ? "a paused client" : "no client"}`);
console.log(`after filling the tail: ${await mib()} MiB`);
for (let step = 1; step <= 5; step++) {
  await rounds(200, step * 1000);
  console.log(`after ${(step * 200_000).toLocaleString("en-US")} deltas: ${await mib()} MiB`);
}
ws?.terminate();
await running.close();
rmSync(dataDir, { recursive: true, force: true });
