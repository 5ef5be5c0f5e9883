// Proves durability under kill -9: a child engine serving a stream of writes
// is SIGKILLed at random moments, several times; after every restart each
// acknowledged write is there (and no more than was sent), every acknowledged
// hold exists, and holds whose TTL passed while the engine was down are
// expired and their stock released.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";

const MAIN = join(__dirname, "..", "dist", "src", "main.js");
const SKUS = Array.from({ length: 12 }, (_, i) => `crash-${i}`);
const ROUNDS = 4;

interface Child { process: ChildProcess; url: string; exited: Promise<unknown> }

function startChild(dataDir: string): Promise<Child> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env, OMNISTOCK_PORT: "0", OMNISTOCK_HOST: "127.0.0.1", OMNISTOCK_DATA_DIR: dataDir,
      OMNISTOCK_POSITIONS_MAX: "10000", OMNISTOCK_RESERVATIONS_MAX: "200000", OMNISTOCK_EXPIRY_INTERVAL_MS: "100",
      OMNISTOCK_SNAPSHOT_EVERY: "3000", OMNISTOCK_WORKERS: "2", // crashes with HTTP worker threads in front of the writer
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((r) => child.once("exit", r));
  return new Promise((resolve, reject) => {
    let url = "";
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const event = JSON.parse(line) as { event: string; port?: number };
      if (event.event === "listening") url = `http://127.0.0.1:${event.port}`;
      if (event.event === "ready") resolve({ process: child, url, exited });
    });
    child.once("exit", (code) => reject(new Error(`engine exited with ${code} before ready`)));
  });
}

async function post(url: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.json() };
}

const dataDir = mkdtempSync(join(tmpdir(), "omnistock-crash-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe.skipIf(!existsSync(MAIN))("crash recovery under SIGKILL", () => {
  it(`loses no acknowledged write across ${ROUNDS} kills`, async () => {
    const sent = new Map<string, number>(SKUS.map((s) => [s, 0]));
    const acked = new Map<string, number>(SKUS.map((s) => [s, 0]));
    const ackedHolds: string[] = [];
    let holdSeq = 0;
    let child = await startChild(dataDir);
    expect((await post(child.url, "/v1/stock", { items: [{ sku: "hold-me", location: "s1", onHand: 1_000_000 }] })).status).toBe(200);

    for (let round = 0; round < ROUNDS; round++) {
      let stop = false;
      const writer = async (): Promise<void> => {
        while (!stop) {
          const sku = SKUS[Math.floor(Math.random() * SKUS.length)];
          sent.set(sku, sent.get(sku)! + 1);
          try {
            const r = await post(child.url, "/v1/stock/adjust", { items: [{ sku, location: "s1", delta: 1 }] });
            if (r.status === 200) acked.set(sku, acked.get(sku)! + 1);
            const id = `hold-${round}-${holdSeq++}`;
            const h = await post(child.url, "/v1/reservations", { id, ttlSeconds: 1, lines: [{ sku: "hold-me", location: "s1", qty: 1 }] });
            if (h.status === 201) ackedHolds.push(id);
          } catch {
            return; // the connection died with the engine
          }
        }
      };
      const writers = Array.from({ length: 16 }, writer);
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 500));
      child.process.kill("SIGKILL");
      stop = true;
      await Promise.all(writers);
      await child.exited;

      child = await startChild(dataDir);
      for (const sku of SKUS) {
        const res = await fetch(`${child.url}/v1/availability/${sku}?location=s1`);
        const onHand = ((await res.json()) as { onHand: number }).onHand;
        expect(onHand, `${sku} after round ${round}`).toBeGreaterThanOrEqual(acked.get(sku)!);
        expect(onHand, `${sku} after round ${round}`).toBeLessThanOrEqual(sent.get(sku)!);
        // What was applied but not acknowledged is now durable too: count it as sent and acked.
        sent.set(sku, onHand);
        acked.set(sku, onHand);
      }
      for (const id of ackedHolds.slice(-50)) {
        const res = await fetch(`${child.url}/v1/reservations/${id}`);
        expect(res.status, id).toBe(200);
      }
    }
    // The kills landed mid-stream: many writes were acknowledged before them.
    expect([...acked.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
    expect(ackedHolds.length).toBeGreaterThan(50);
    // Every hold had a 1 s TTL: after it passes, the sweeper has released all of them.
    await new Promise((r) => setTimeout(r, 1600));
    const held = (await (await fetch(`${child.url}/v1/availability/hold-me?location=s1`)).json()) as { reserved: number; available: number };
    expect(held.reserved).toBe(0);
    expect(held.available).toBe(1_000_000);
    const sample = (await (await fetch(`${child.url}/v1/reservations/${ackedHolds[0]}`)).json()) as { status: string };
    expect(sample.status).toBe("expired");
    child.process.kill("SIGKILL");
  });
});
