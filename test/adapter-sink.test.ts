// Proves the adapters deliver every SKU's final state through real sockets: a stand-in engine stream (the SPEC 5 subscribe protocol over `ws`, with drops, resets and retention) feeds the webhook adapter, whose HTTP sink on 127.0.0.1 fails with 500s, throttles with 429 + Retry-After and refuses poison batches; signatures verify, a killed adapter resumes from its checkpoint without re-pushing anything before it, a reset zeroes SKUs the snapshot lacks, the meaningful-changes policy holds, and the feed adapter keeps its file current.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { MarketplaceAdapter } from "../src/adapters/marketplace/adapter.js";
import { FileCheckpoint } from "../src/adapters/marketplace/checkpoint.js";
import { FeedSink, parseFeed } from "../src/adapters/marketplace/feed-sink.js";
import { meaningfulChange, type PushPolicyOptions } from "../src/adapters/marketplace/push-policy.js";
import type { Sink } from "../src/adapters/marketplace/pusher.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../src/adapters/marketplace/signature.js";
import { TokenBucket } from "../src/adapters/marketplace/token-bucket.js";
import { WebhookSink } from "../src/adapters/marketplace/webhook-sink.js";
import { WsSource } from "../src/adapters/marketplace/ws-source.js";
import { createHmac, timingSafeEqual } from "node:crypto";

const SECRET = "test-secret";
const CHANNEL = "amazon";

/** Polls `check` until it returns true, or fails with `what` after the deadline. */
async function until(what: string, check: () => boolean | Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Deterministic PRNG (mulberry32), so a failure can be replayed from the printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Msg {
  type: "channel";
  seq: number;
  channel: string;
  sku: string;
  available: number;
  ts: string;
}

/** A stand-in for GET /v1/stream: subscribe with since, replay, live, reset + snapshot when since is older than retention. */
class FakeStream {
  readonly log: Msg[] = [];
  readonly state = new Map<string, Map<string, number>>(); // channel → sku → available
  readonly subscribes: number[] = [];
  retainFrom = 1; // oldest seq still replayable
  private seq = 0;
  private readonly clients = new Set<WebSocket>();
  private server!: WebSocketServer;
  url = "";

  async start(): Promise<void> {
    this.server = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/v1/stream" });
    await new Promise<void>((r) => this.server.once("listening", () => r()));
    this.url = `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.server.on("connection", (ws) => {
      ws.on("message", (data) => {
        const m = JSON.parse(data.toString()) as { op: string; channels: string[]; since: number };
        if (m.op !== "subscribe") return;
        this.subscribes.push(m.since);
        ws.send(JSON.stringify({ type: "subscribed", seq: this.seq }));
        if (m.since + 1 < this.retainFrom || m.since > this.seq) {
          ws.send(JSON.stringify({ type: "reset", seq: this.seq }));
          for (const [sku, available] of this.state.get(CHANNEL) ?? []) ws.send(JSON.stringify({ type: "snapshot", channel: CHANNEL, sku, available }));
          ws.send(JSON.stringify({ type: "snapshot_end", seq: this.seq }));
        } else {
          for (const msg of this.log) if (msg.seq > m.since) ws.send(JSON.stringify(msg));
        }
        this.clients.add(ws);
      });
      ws.on("close", () => this.clients.delete(ws));
    });
  }

  /** Appends one channel figure (and broadcasts it); returns its seq. */
  set(sku: string, available: number, channel = CHANNEL): number {
    const msg: Msg = { type: "channel", seq: ++this.seq, channel, sku, available, ts: new Date().toISOString() };
    this.log.push(msg);
    if (!this.state.has(channel)) this.state.set(channel, new Map());
    this.state.get(channel)!.set(sku, available);
    for (const ws of this.clients) ws.send(JSON.stringify(msg));
    return msg.seq;
  }

  /** A position change no channel figure follows (an unrelated delta): takes a seq, as in the engine. */
  gap(): void {
    this.seq++;
    for (const ws of this.clients) ws.send(JSON.stringify({ type: "delta", seq: this.seq, sku: "x", location: "l", available: 0 }));
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Seq of the newest figure of our channel (the adapter never sees the others). */
  get lastChannelSeq(): number {
    for (let i = this.log.length - 1; i >= 0; i--) if (this.log[i].channel === CHANNEL) return this.log[i].seq;
    return 0;
  }

  truth(): Map<string, number> {
    return this.state.get(CHANNEL) ?? new Map();
  }

  /** Starts a new history (as a wiped data directory would): seqs from 1 again, a new state. */
  replaceHistory(state: Map<string, number>): void {
    this.log.length = 0;
    this.seq = 0;
    this.retainFrom = 1;
    this.state.set(CHANNEL, new Map(state));
    this.seq = 3; // the new engine has written a little already
  }

  dropAll(): void {
    for (const ws of this.clients) ws.terminate();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

interface Received {
  sku: string;
  available: number;
  seq: number;
}

/** A marketplace endpoint that verifies signatures, applies items idempotently by seq, and misbehaves on a schedule. */
class Sink500 {
  readonly applied = new Map<string, { available: number; seq: number }>();
  readonly received: Received[] = [];
  requests = 0;
  served500 = 0;
  served429 = 0;
  badSignatures = 0;
  missingTimestamps = 0;
  fail500 = (_n: number) => false;
  throttle429 = (_n: number): string | null => null; // Retry-After value, or null
  reject400 = (_items: Received[]) => false;
  inArrivalOrder = false; // apply every item as it comes (a receiver that does not compare seqs)
  private server!: Server;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const n = ++this.requests;
    const expected = Buffer.from("sha256=" + createHmac("sha256", SECRET).update(raw).digest("hex"));
    const given = Buffer.from(String(req.headers[SIGNATURE_HEADER.toLowerCase()] ?? ""));
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      this.badSignatures++;
      res.writeHead(401).end();
      return;
    }
    if (!/^\d+$/.test(String(req.headers[TIMESTAMP_HEADER.toLowerCase()] ?? ""))) this.missingTimestamps++;
    if (this.fail500(n)) {
      this.served500++;
      return void res.writeHead(500).end("boom");
    }
    const retryAfter = this.throttle429(n);
    if (retryAfter !== null) {
      this.served429++;
      return void res.writeHead(429, { "retry-after": retryAfter }).end();
    }
    const body = JSON.parse(raw.toString("utf8")) as { channel: string; items: Received[] };
    if (body.channel !== CHANNEL) return void res.writeHead(422).end();
    if (this.reject400(body.items)) return void res.writeHead(400).end("bad sku");
    for (const item of body.items) {
      this.received.push(item);
      const held = this.applied.get(item.sku);
      if (!held || held.seq < item.seq || this.inArrivalOrder) this.applied.set(item.sku, { available: item.available, seq: item.seq });
    }
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  }

  matches(truth: Map<string, number>): boolean {
    if (this.applied.size !== truth.size) return false;
    for (const [sku, available] of truth) if (this.applied.get(sku)?.available !== available) return false;
    return true;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

let dir: string;
let stream: FakeStream;
let sink: Sink500;
const running: MarketplaceAdapter[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "adapter-sink-"));
  stream = new FakeStream();
  await stream.start();
  sink = new Sink500();
  await sink.start();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.kill()));
  await stream.close();
  await sink.close();
  rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 }); // a killed adapter may still be finishing a write
});

async function webhookAdapter(options: { rate?: number; batch?: number; pendingMax?: number; policy?: PushPolicyOptions | null; sinkOverride?: Sink; logs?: string[] } = {}) {
  const checkpoint = await FileCheckpoint.open(join(dir, "amazon.ckpt"), CHANNEL);
  const logs = options.logs ?? [];
  const adapter = new MarketplaceAdapter({
    channel: CHANNEL,
    source: new WsSource({ engine: stream.url, channel: CHANNEL, since: checkpoint.seq, reconnectBaseMs: 10, reconnectCapMs: 50, log: (l) => logs.push(l) }),
    sink: options.sinkOverride ?? new WebhookSink({ url: sink.url, secret: SECRET, channel: CHANNEL, timeoutMs: 5_000 }),
    checkpoint,
    limiter: new TokenBucket({ ratePerSecond: options.rate ?? 500, burst: 20 }),
    retry: { baseMs: 5, capMs: 50, attemptsMax: 4, elapsedMaxMs: 10_000, retryAfterMaxMs: 2_000 },
    exhaustedPauseMs: 20,
    batchMax: options.batch ?? 25,
    lingerMs: 5,
    pendingMax: options.pendingMax ?? 1000,
    policy: options.policy ?? null,
    log: (l) => logs.push(l),
  });
  running.push(adapter);
  const done = adapter.start();
  done.catch(() => undefined);
  return { adapter, checkpoint, done, logs };
}

/** Writes `count` changes over `skus` SKUs with a hot-SKU skew, other channels' figures and seq gaps in between. */
function workload(random: () => number, count: number, skus: number): void {
  for (let i = 0; i < count; i++) {
    const r = random();
    const sku = `SKU-${Math.floor(skus * r * r)}`; // skewed towards low numbers: hot SKUs
    const available = random() < 0.15 ? 0 : Math.floor(random() * 50);
    stream.set(sku, available);
    if (random() < 0.1) stream.set(sku, 1, "google");
    if (random() < 0.1) stream.gap();
  }
}

describe("webhook adapter against a failing, throttling sink", () => {
  it("delivers every SKU's final state, signed, through 500s, 429s, a dropped stream and a full coalescer", async () => {
    const seed = Date.now() >>> 0;
    console.log(`seed ${seed}`);
    const random = prng(seed);
    sink.fail500 = (n) => n % 5 === 1;
    sink.throttle429 = (n) => (n % 7 === 3 && n < 40 ? "1" : null);
    workload(random, 1500, 300); // retained before the adapter starts: replayed
    const { checkpoint } = await webhookAdapter({ pendingMax: 40 });
    workload(random, 500, 300);
    await until("some pushes", () => sink.received.length > 50);
    stream.dropAll(); // the adapter reconnects with since = last seq processed
    workload(random, 1000, 300);
    await until("every SKU's final state at the sink", () => sink.matches(stream.truth()));
    await until("the checkpoint to reach the newest channel figure", () => checkpoint.seq === stream.lastChannelSeq);
    expect(sink.badSignatures).toBe(0);
    expect(sink.missingTimestamps).toBe(0);
    expect(sink.served500).toBeGreaterThan(0); // the failures really happened
    expect(sink.served429).toBeGreaterThan(0);
    expect(stream.subscribes.length).toBeGreaterThanOrEqual(2);
    expect(stream.subscribes[1]).toBeGreaterThan(0); // resubscribed from where it was, not from 0
    const reread = await FileCheckpoint.open(join(dir, "amazon.ckpt"), CHANNEL);
    expect(reread.seq).toBe(checkpoint.seq);
  });

  it("resumes from the checkpoint after being killed: nothing at or before it is pushed again, nothing after it is lost", async () => {
    const seed = Date.now() >>> 0;
    console.log(`seed ${seed}`);
    const random = prng(seed);
    sink.fail500 = (n) => n % 9 === 4;
    workload(random, 2000, 400);
    const first = await webhookAdapter({ rate: 100, batch: 10 });
    await until("a few batches delivered", () => sink.received.length >= 60);
    await first.adapter.kill(); // no flush, no final checkpoint write
    const killedAt = (await FileCheckpoint.open(join(dir, "amazon.ckpt"), CHANNEL)).seq;
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(stream.lastSeq); // killed mid-stream
    workload(random, 500, 400); // changes while it is down
    const receivedBefore = sink.received.length;
    await new Promise((r) => setTimeout(r, 50)); // let any push the kill cut short land before counting
    const baseline = Math.max(receivedBefore, sink.received.length);
    const second = await webhookAdapter({ rate: 500, batch: 50 });
    await until("every SKU's final state after the restart", () => sink.matches(stream.truth()));
    const afterRestart = sink.received.slice(baseline);
    expect(afterRestart.length).toBeGreaterThan(0);
    expect(afterRestart.filter((i) => i.seq <= killedAt)).toEqual([]);
    expect(stream.subscribes[stream.subscribes.length - 1]).toBe(killedAt);
    await second.adapter.stop();
    expect((await FileCheckpoint.open(join(dir, "amazon.ckpt"), CHANNEL)).seq).toBe(stream.lastChannelSeq);
  });

  it("skips a batch the marketplace refuses with a 4xx, once, and moves on", async () => {
    sink.reject400 = (items) => items.some((i) => i.sku === "poison");
    stream.set("poison", 3);
    const { checkpoint, logs } = await webhookAdapter({ batch: 1 });
    for (let i = 0; i < 20; i++) stream.set(`ok-${i}`, i);
    const last = stream.lastSeq;
    await until("the good SKUs", () => [...Array(20).keys()].every((i) => sink.applied.get(`ok-${i}`)?.available === i));
    await until("the checkpoint past the refused batch", () => checkpoint.seq >= last);
    expect(sink.applied.has("poison")).toBe(false);
    expect(logs.some((l) => l.includes("HTTP 400") && l.includes("skipped"))).toBe(true);
  });

  it("after a reset, treats the snapshot as the whole truth: SKUs it lacks go to 0", async () => {
    stream.set("stays", 5);
    stream.set("vanishes", 7);
    const { checkpoint } = await webhookAdapter();
    await until("both SKUs pushed", () => sink.applied.get("vanishes")?.available === 7 && sink.applied.get("stays")?.available === 5);
    await until("checkpoint", () => checkpoint.seq === stream.lastSeq);
    stream.dropAll();
    // While it is away: more changes, retention drops everything it has not seen, and "vanishes" is gone from the state.
    stream.state.get(CHANNEL)!.delete("vanishes");
    stream.set("stays", 9);
    stream.set("new", 2);
    stream.retainFrom = stream.lastSeq + 1;
    await until("the snapshot applied", () => sink.applied.get("vanishes")?.available === 0 && sink.applied.get("stays")?.available === 9 && sink.applied.get("new")?.available === 2);
    await until("checkpoint at the snapshot's seq", () => checkpoint.seq === stream.lastSeq);
  });

  it("killed halfway through pushing a reset's snapshot, resumes before the reset and still delivers all of it", async () => {
    stream.set("seen", 1);
    const first = await webhookAdapter({ rate: 40, batch: 5 });
    await until("the first figure", () => first.checkpoint.seq === stream.lastSeq);
    const beforeReset = first.checkpoint.seq;
    stream.dropAll();
    for (let i = 0; i < 300; i++) stream.set(`R-${i}`, i % 7);
    stream.retainFrom = stream.lastSeq + 1; // all of it out of retention: a reset
    await until("part of the snapshot pushed", () => sink.received.filter((r) => r.sku.startsWith("R-")).length >= 20);
    await first.adapter.kill();
    expect((await FileCheckpoint.open(join(dir, "amazon.ckpt"), CHANNEL)).seq).toBe(beforeReset); // not past the reset
    await webhookAdapter({ rate: 1000, batch: 100 });
    await until("the whole snapshot at the sink", () => sink.matches(stream.truth()));
  });

  it("when the engine's history is replaced (seq behind the checkpoint), pushes the new snapshot and rewinds the checkpoint", async () => {
    sink.inArrivalOrder = true;
    for (let i = 0; i < 30; i++) stream.set(`H-${i % 10}`, i);
    const { checkpoint, logs } = await webhookAdapter();
    await until("first history pushed", () => checkpoint.seq === stream.lastSeq);
    stream.dropAll();
    stream.replaceHistory(new Map([["H-1", 42], ["H-2", 0], ["H-new", 8]]));
    await until("the new snapshot at the sink", () => sink.applied.get("H-1")?.available === 42 && sink.applied.get("H-new")?.available === 8 && sink.applied.get("H-5")?.available === 0);
    await until("the checkpoint rewound to the new history", () => checkpoint.seq === 3);
    stream.set("H-1", 41);
    await until("live changes of the new history", () => sink.applied.get("H-1")?.available === 41);
    await until("checkpoint 4", () => checkpoint.seq === 4);
    expect(logs.some((l) => l.includes("history was replaced"))).toBe(true);
  });

  it("with --only-meaningful, pushes only crossings and large moves, and the sink ends within the policy of the truth", async () => {
    const policy = { lowStock: 5, minChangeRatio: 0.25 };
    const random = prng(7);
    for (let i = 0; i < 20; i++) stream.set(`M-${i}`, 100);
    const { checkpoint } = await webhookAdapter({ policy, batch: 5 });
    await until("first figures", () => sink.applied.size === 20);
    for (let i = 0; i < 800; i++) stream.set(`M-${Math.floor(random() * 20)}`, Math.floor(random() * 120));
    const last = stream.lastSeq;
    await until("the checkpoint at the end of the workload", () => checkpoint.seq >= last);
    for (const [sku, truth] of stream.truth()) {
      const shown = sink.applied.get(sku)!.available;
      expect(meaningfulChange(shown, truth, policy), `${sku}: shows ${shown}, truth ${truth}`).toBeNull();
    }
    // A large drift and an out-of-stock are always shown.
    stream.set("M-0", 0);
    await until("out of stock shown", () => sink.applied.get("M-0")?.available === 0);
  });
});

describe("feed adapter", () => {
  it("keeps the feed file equal to the truth, atomically rewritten, and reloads it after a restart", async () => {
    const random = prng(11);
    const file = join(dir, "feed.tsv");
    const make = async () => {
      const checkpoint = await FileCheckpoint.open(join(dir, "google.ckpt"), CHANNEL);
      const adapter = new MarketplaceAdapter({
        channel: CHANNEL,
        source: new WsSource({ engine: stream.url, channel: CHANNEL, since: checkpoint.seq, reconnectBaseMs: 10 }),
        sink: new FeedSink({ file, storeCode: "S1", format: "tsv", writeIntervalMs: 50 }),
        checkpoint,
        limiter: new TokenBucket({ ratePerSecond: 1000, burst: 100 }),
        retry: { baseMs: 5, capMs: 50, attemptsMax: 3, elapsedMaxMs: 5000, retryAfterMaxMs: 1000 },
        batchMax: 10_000,
        lingerMs: 5,
        pendingMax: 100_000,
        policy: null,
      });
      running.push(adapter);
      void adapter.start().catch(() => undefined);
      return { adapter, checkpoint };
    };
    const fileMatches = (): boolean => {
      let rows;
      try {
        rows = parseFeed(readFileSync(file, "utf8"), "tsv");
      } catch {
        return false;
      }
      const truth = stream.truth();
      return rows.length === truth.size && rows.every((r) => r.storeCode === "S1" && truth.get(r.sku) === r.quantity);
    };
    workload(random, 1000, 200);
    const first = await make();
    await until("the feed file to match", fileMatches);
    await first.adapter.stop();
    workload(random, 300, 250); // new SKUs too
    const second = await make();
    await until("the feed file to match after the restart", fileMatches);
    const text = readFileSync(file, "utf8");
    expect(text.split("\n")[0]).toBe("store_code\tid\tquantity\tavailability");
    expect(text).toMatch(/\tout_of_stock\n/);
    await second.adapter.stop();
  });
});
