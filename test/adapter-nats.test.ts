// Proves the JetStream source against a real nats-server (-js, ephemeral port): the webhook adapter reads one channel's figures (msgpack and JSON payloads) from stream OMNISTOCK through a durable consumer, acks only what its durable checkpoint covers, and after being killed resumes with every SKU's final state delivered and nothing at or before the checkpoint pushed again. Skipped, with the reason, when nats-server is not installed.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Packr } from "msgpackr";
import { connect, headers, type NatsConnection } from "nats";
import { afterAll, describe, expect, it } from "vitest";
import { MarketplaceAdapter } from "../src/adapters/marketplace/adapter.js";
import { FileCheckpoint } from "../src/adapters/marketplace/checkpoint.js";
import { NatsSource, subjectToken } from "../src/adapters/marketplace/nats-source.js";
import { TokenBucket } from "../src/adapters/marketplace/token-bucket.js";
import { WebhookSink } from "../src/adapters/marketplace/webhook-sink.js";

const natsBinary = spawnSync("nats-server", ["--version"]).status === 0 ? "nats-server" : null;
const packr = new Packr({ useRecords: false });

async function until(what: string, check: () => boolean | Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts nats-server with JetStream on an ephemeral loopback port; resolves with its URL. */
function startNats(storeDir: string): Promise<{ url: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(natsBinary!, ["-js", "-a", "127.0.0.1", "-p", "-1", "-sd", storeDir], { stdio: ["ignore", "ignore", "pipe"] });
    let text = "";
    const timer = setTimeout(() => reject(new Error(`nats-server did not start: ${text}`)), 15_000);
    child.stderr!.on("data", (d: Buffer) => {
      text += d.toString();
      const m = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve({ url: `nats://127.0.0.1:${m[1]}`, child });
      }
    });
    child.on("exit", (code) => reject(new Error(`nats-server exited ${code}: ${text}`)));
  });
}

describe("JetStream source", () => {
  const dir = mkdtempSync(join(tmpdir(), "adapter-nats-"));
  let child: ChildProcess | null = null;
  afterAll(() => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 }); // a killed adapter may still be finishing a write
  });

  it.skipIf(natsBinary === null)(`delivers every SKU's final state across a kill and restart${natsBinary ? "" : " (skipped: nats-server is not installed)"}`, async () => {
    const nats = await startNats(join(dir, "js"));
    child = nats.child;
    const nc: NatsConnection = await connect({ servers: nats.url });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: "OMNISTOCK", subjects: ["omnistock.>"] });
    const js = nc.jetstream();
    let seq = 0;
    const truth = new Map<string, number>();
    const publish = async (channel: string, sku: string, available: number, json: boolean) => {
      const m = { type: "channel", seq: ++seq, channel, sku, available, ts: new Date().toISOString() };
      const h = headers();
      h.set("Nats-Msg-Id", String(m.seq));
      const data = json ? Buffer.from(JSON.stringify(m)) : packr.pack(m);
      await js.publish(`omnistock.channel.${subjectToken(channel)}.${subjectToken(sku)}`, data, { headers: h });
      if (channel === "amazon") truth.set(sku, available);
    };
    const write = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const sku = `N.${(i * 7919) % 97} é`; // dots and non-ASCII: percent-encoded subject tokens
        await publish("amazon", sku, (i * 31) % 23, i % 3 === 0);
        if (i % 5 === 0) await publish("google", sku, 1, false);
        if (i % 6 === 0) {
          const h = headers();
          h.set("Nats-Msg-Id", String(++seq));
          await js.publish(`omnistock.delta.L1.${subjectToken(sku)}`, packr.pack({ type: "delta", seq, sku }), { headers: h });
        }
      }
    };

    const applied = new Map<string, { available: number; seq: number }>();
    const received: { sku: string; seq: number }[] = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { items: { sku: string; available: number; seq: number }[] };
        for (const i of body.items) {
          received.push(i);
          if ((applied.get(i.sku)?.seq ?? 0) < i.seq) applied.set(i.sku, i);
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const make = async (rate: number) => {
      const checkpoint = await FileCheckpoint.open(join(dir, "amazon.ckpt"), "amazon");
      const adapter = new MarketplaceAdapter({
        channel: "amazon",
        source: new NatsSource({ servers: nats.url, channel: "amazon", since: checkpoint.seq, durable: "adapter-amazon" }),
        sink: new WebhookSink({ url: hook, secret: "s", channel: "amazon", timeoutMs: 5000 }),
        checkpoint,
        limiter: new TokenBucket({ ratePerSecond: rate, burst: 1 }),
        retry: { baseMs: 5, capMs: 50, attemptsMax: 3, elapsedMaxMs: 5000, retryAfterMaxMs: 1000 },
        batchMax: 5,
        lingerMs: 0,
        pendingMax: 1000,
        policy: null,
      });
      void adapter.start().catch(() => undefined);
      return { adapter, checkpoint };
    };
    const matches = () => truth.size === applied.size && [...truth].every(([sku, a]) => applied.get(sku)?.available === a);

    try {
      await write(400);
      const first = await make(100);
      await until("some pushes", () => received.length >= 30);
      await first.adapter.kill();
      const killedAt = (await FileCheckpoint.open(join(dir, "amazon.ckpt"), "amazon")).seq;
      expect(killedAt).toBeGreaterThan(0);
      await write(100);
      await new Promise((r) => setTimeout(r, 50)); // a push the kill cut short may still land
      const baseline = received.length;
      const second = await make(1000);
      await until("every SKU's final state", matches);
      expect(received.slice(baseline).filter((i) => i.seq <= killedAt)).toEqual([]);
      await second.adapter.stop();
      const info = await jsm.consumers.info("OMNISTOCK", "adapter-amazon");
      expect(info.num_ack_pending).toBe(0); // every message acked once its checkpoint was durable
      expect(second.checkpoint.seq).toBeGreaterThanOrEqual(Math.max(...[...applied.values()].map((a) => a.seq)));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await nc.close();
    }
  });
});
