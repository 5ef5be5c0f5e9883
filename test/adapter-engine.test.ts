// Proves the webhook adapter end to end against the real engine: channel figures from GET /v1/stream reach a signed HTTP sink until every SKU's channel ATP there equals the engine's, across a graceful restart from the checkpoint. Skipped, with the reason, while the engine has no WebSocket stream yet.

import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { MarketplaceAdapter } from "../src/adapters/marketplace/adapter.js";
import { FileCheckpoint } from "../src/adapters/marketplace/checkpoint.js";
import { TokenBucket } from "../src/adapters/marketplace/token-bucket.js";
import { WebhookSink } from "../src/adapters/marketplace/webhook-sink.js";
import { WsSource } from "../src/adapters/marketplace/ws-source.js";
import { startTestEngine } from "./support/engine.js";

const SECRET = "e2e-secret";

/** "ok" when GET /v1/stream upgrades to a WebSocket, else why not. */
function probeStream(base: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/v1/stream`);
    const timer = setTimeout(() => {
      ws.terminate();
      resolve("no answer to the upgrade within 5 s");
    }, 5000);
    ws.on("open", () => {
      clearTimeout(timer);
      ws.close();
      resolve("ok");
    });
    ws.on("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      res.resume();
      resolve(`GET /v1/stream answers ${res.statusCode} instead of a WebSocket upgrade (the stream endpoint has not landed yet)`);
      ws.terminate();
    });
    ws.on("error", (e) => {
      clearTimeout(timer);
      resolve(`cannot reach /v1/stream: ${e.message}`);
    });
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const engine = await startTestEngine();
const streamStatus = await probeStream(engine.url);
afterAll(() => engine.close());

async function call(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${engine.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

describe("webhook adapter on the real engine", () => {
  it.skipIf(streamStatus !== "ok")(`pushes every SKU's final channel ATP${streamStatus === "ok" ? "" : ` (skipped: ${streamStatus})`}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "adapter-e2e-"));
    const applied = new Map<string, { available: number; seq: number }>();
    let badSignatures = 0;
    const sink: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const raw = Buffer.concat(chunks);
        if (req.headers["x-omnistock-signature"] !== "sha256=" + createHmac("sha256", SECRET).update(raw).digest("hex")) badSignatures++;
        const body = JSON.parse(raw.toString()) as { items: { sku: string; available: number; seq: number }[] };
        for (const i of body.items) if ((applied.get(i.sku)?.seq ?? 0) < i.seq) applied.set(i.sku, i);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
    const hook = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;
    const skus = Array.from({ length: 40 }, (_, i) => `E2E-${i}`);
    const make = async () => {
      const checkpoint = await FileCheckpoint.open(join(dir, "amazon.ckpt"), "amazon");
      const adapter = new MarketplaceAdapter({
        channel: "amazon",
        source: new WsSource({ engine: engine.url.replace(/^http/, "ws"), channel: "amazon", since: checkpoint.seq }),
        sink: new WebhookSink({ url: hook, secret: SECRET, channel: "amazon", timeoutMs: 5000 }),
        checkpoint,
        limiter: new TokenBucket({ ratePerSecond: 200, burst: 20 }),
        retry: { baseMs: 10, capMs: 200, attemptsMax: 5, elapsedMaxMs: 10_000, retryAfterMaxMs: 1000 },
        batchMax: 50,
        lingerMs: 10,
        pendingMax: 10_000,
        policy: null,
      });
      const done = adapter.start();
      done.catch(() => undefined);
      return { adapter, checkpoint, done };
    };
    const write = async (round: number) => {
      const items = skus.flatMap((sku, i) => [
        { sku, location: "L1", onHand: (i * 7 + round * 13) % 30 },
        { sku, location: "L2", onHand: (i * 3 + round * 5) % 11 },
      ]);
      await call("POST", "/v1/stock", { items });
    };
    const truth = async (): Promise<Map<string, number>> => {
      const body = (await call("POST", "/v1/availability/query", { skus, channel: "amazon" })) as { items: { sku: string; available: number }[] };
      return new Map(body.items.map((i) => [i.sku, i.available]));
    };
    const sinkMatches = async (): Promise<boolean> => {
      const t = await truth();
      return [...t].every(([sku, available]) => (applied.get(sku)?.available ?? 0) === available);
    };
    try {
      await call("PUT", "/v1/channels/amazon", {});
      await write(0); // before the adapter: replayed from since 0
      const first = await make();
      for (let round = 1; round <= 5; round++) await write(round);
      await call("POST", "/v1/stock/adjust", { items: [{ sku: "E2E-1", location: "L1", delta: 5 }] });
      await until("the sink to equal the engine", sinkMatches);
      await first.adapter.stop();
      const stoppedAt = first.checkpoint.seq;
      expect(stoppedAt).toBeGreaterThan(0);
      for (let round = 6; round <= 8; round++) await write(round); // while it is down
      const second = await make();
      expect(second.checkpoint.seq).toBe(stoppedAt);
      await until("the sink to equal the engine after the restart", sinkMatches);
      await second.adapter.stop();
      expect(badSignatures).toBe(0);
    } finally {
      sink.closeAllConnections();
      await new Promise<void>((r) => sink.close(() => r()));
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 }); // a killed adapter may still be finishing a write
    }
  });
});
