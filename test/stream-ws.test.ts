// Proves the WebSocket stream of SPEC section 5 against the real engine and server on 127.0.0.1: filters (skus, locations, channels), replay with `since` (gap-free and in seq order into live, also while writes race the replay), reset + snapshot when `since` is older than retention, msgpack both ways, auth by ?token= and header (401/403 before upgrading), invalid subscribes answered without harm, a paused client under a 1,000,000-delta flood keeping the server's memory bounded (issue 3: under 100 MB) (coalesced newest state per key, or closed with 4008), one batch never putting more than 1 MiB and a frame into a congested socket buffer, and consecutive seqs for an unfiltered subscriber over a mixed workload.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { OmnistockEngine } from "../src/engine/engine.js";
import { SOCKET_BUFFERED_BYTES_MAX } from "../src/stream/ws-stream.js";
import { startTestEngine, type TestEngine } from "./support/engine.js";
import { StreamClient, expectConsecutive, expectedFor, metric, ok, settledSeq, type Message } from "./support/stream-client.js";

/** Writes `rounds` stock counts over `skus` × `locations`, each round changing every position once. */
async function writeRounds(engine: OmnistockEngine, skus: number, locations: number, rounds: number, base = 0): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    const items = [];
    for (let s = 0; s < skus; s++) for (let l = 0; l < locations; l++) items.push({ sku: `S${s}`, location: `L${l}`, onHand: base + r + 1 + s + l });
    await ok(engine.setStock(items));
  }
}

const clients: StreamClient[] = [];
async function open(base: string, query: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<StreamClient> {
  const c = await StreamClient.open(base, query, headers);
  clients.push(c);
  return c;
}
afterEach(() => {
  for (const c of clients.splice(0)) c.ws.terminate();
});

// ---------------------------------------------------------------- filters, replay, formats

describe("stream on a shared engine", () => {
  let server: TestEngine;
  let engine: OmnistockEngine;
  beforeAll(async () => {
    server = await startTestEngine();
    engine = server.running.engine;
  });
  afterAll(async () => server.close());

  test("without since: subscribed with the newest seq, then live messages only", async () => {
    await ok(engine.setStock([{ sku: "old", location: "s1", onHand: 1 }]));
    const c = await open(server.url);
    c.subscribe();
    const subscribed = await c.subscribed();
    expect(subscribed).toEqual({ type: "subscribed", seq: (await settledSeq(engine)) });
    await ok(engine.setStock([{ sku: "new", location: "s1", onHand: 4 }]));
    await c.untilSeq((await settledSeq(engine)));
    expect(c.data()).toHaveLength(1);
    expect(c.data()[0]).toMatchObject({
      type: "delta", seq: subscribed.seq + 1, sku: "new", location: "s1",
      available: 4, onHand: 4, reserved: 0, committed: 0, safetyStock: 0, shortfall: 0, version: 1,
    });
    expect(typeof c.data()[0].ts).toBe("string");
  });

  test("skus and locations filter deltas; channels select channel messages; skus filter those too", async () => {
    await ok(engine.putChannel("web", { locations: ["f1"] }));
    await ok(engine.putChannel("pos", { locations: ["f2"] }));
    const filters = [
      {},
      { skus: ["FA"] },
      { locations: ["f2"] },
      { channels: ["web"] },
      { channels: ["web", "pos"], skus: ["FB"] },
      { channels: ["pos"], locations: [] },
      { skus: ["FA", "FC"], locations: ["f1"] },
    ];
    const subs: StreamClient[] = [];
    for (const f of filters) {
      const c = await open(server.url);
      c.subscribe(f);
      await c.subscribed();
      subs.push(c);
    }
    const from = (await settledSeq(engine)) + 1;
    for (let i = 1; i <= 3; i++) {
      await ok(engine.setStock(["FA", "FB", "FC"].flatMap((sku) => ["f1", "f2", "f3"].map((location) => ({ sku, location, onHand: i * 10 })))));
      await ok(engine.adjustStock([{ sku: "FB", location: "f2", delta: -1 }]));
    }
    await ok(engine.hold({ id: "filter-hold", channel: "web", lines: [{ sku: "FA", location: "f1", qty: 2 }] }));
    const last = (await settledSeq(engine));
    await subs[0].untilSeq(last);
    const all = subs[0].data();
    expectConsecutive(all, from, last);
    expect(all.some((m) => m.type === "channel" && m.channel === "pos")).toBe(true);
    for (let i = 1; i < filters.length; i++) {
      const expected = expectedFor(all, filters[i]);
      expect(expected.length).toBeGreaterThan(0);
      await subs[i].until((ms) => ms.filter((m) => m.type !== "subscribed").length >= expected.length, `filter ${JSON.stringify(filters[i])}`);
      expect(subs[i].data(), JSON.stringify(filters[i])).toEqual(expected);
    }
  });

  test("since: the retained messages after it, then live ones, gap-free, while writes race the replay", async () => {
    await writeRounds(engine, 5, 4, 10); // 200 deltas
    const since = (await settledSeq(engine)) - 150;
    const c = await open(server.url);
    const writer = writeRounds(engine, 5, 4, 20, 100); // 400 more, released while the client replays
    c.subscribe({ since });
    await c.subscribed();
    await writer;
    const last = (await settledSeq(engine));
    await c.untilSeq(last);
    expect(c.messages[0].type).toBe("subscribed");
    expectConsecutive(c.data(), since + 1, last);
    // A second client resubscribing at every point of the range sees the same messages.
    const d = await open(server.url);
    d.subscribe({ since: last - 3 });
    await d.untilSeq(last);
    expect(d.data()).toEqual(c.data().slice(-3));
  });

  test("since with filters replays only matching messages; since at the newest seq is live only", async () => {
    const since = (await settledSeq(engine));
    await writeRounds(engine, 3, 3, 3, 500);
    const last = (await settledSeq(engine));
    const all = await open(server.url);
    all.subscribe({ since });
    await all.untilSeq(last);
    const filtered = await open(server.url);
    filtered.subscribe({ since, skus: ["S1"], locations: ["L2"] });
    const expected = expectedFor(all.data(), { skus: ["S1"], locations: ["L2"] });
    expect(expected).toHaveLength(3);
    await filtered.until((ms) => ms.length >= 1 + expected.length, "filtered replay");
    expect(filtered.data()).toEqual(expected);
    const atHead = await open(server.url);
    atHead.subscribe({ since: last });
    await atHead.subscribed();
    await ok(engine.setStock([{ sku: "head", location: "L0", onHand: 3 }]));
    await atHead.untilSeq(last + 1);
    expectConsecutive(atHead.data(), last + 1, last + 1);
  });

  test("a second subscribe replaces the first", async () => {
    const c = await open(server.url);
    c.subscribe({ skus: ["R1"] });
    await c.subscribed();
    c.subscribe({ skus: ["R2"] });
    await c.subscribed(2);
    await ok(engine.setStock([{ sku: "R1", location: "x", onHand: 1 }, { sku: "R2", location: "x", onHand: 2 }]));
    await c.until((ms) => ms.some((m) => m.sku === "R2"), "R2");
    await ok(engine.setStock([{ sku: "R2", location: "x", onHand: 3 }]));
    await c.until((ms) => ms.some((m) => m.sku === "R2" && m.onHand === 3), "R2 again");
    expect(c.data().map((m) => m.sku)).toEqual(["R2", "R2"]);
  });

  test("msgpack: binary frames both ways, errors included", async () => {
    const since = (await settledSeq(engine));
    await ok(engine.setStock([{ sku: "MP", location: "m1", onHand: 7 }]));
    const c = await open(server.url, { format: "msgpack" });
    c.subscribe({ since, skus: ["MP"] });
    expect(await c.subscribed()).toEqual({ type: "subscribed", seq: (await settledSeq(engine)) });
    await c.untilSeq(since + 1);
    expect(c.data()[0]).toMatchObject({ type: "delta", seq: since + 1, sku: "MP", location: "m1", onHand: 7, version: 1 });
    c.ws.send(Buffer.from([0xc1])); // never used in msgpack
    c.send({ op: "subscribe", since: -1 });
    await c.until((ms) => ms.filter((m) => m.type === "error").length === 2, "two errors");
    expect(c.messages.filter((m) => m.type === "error").map((m) => m.error)).toEqual(["invalid_request", "invalid_request"]);
    c.send({ op: "subscribe", skus: ["MP"] }); // still usable
    await c.subscribed(2);
  });

  test("invalid subscribes get an error and change nothing; the connection stays usable", async () => {
    const c = await open(server.url);
    c.subscribe({ skus: ["V1"] });
    await c.subscribed();
    const bad: unknown[] = [
      "not json",
      "[]",
      "null",
      { op: "unsubscribe" },
      { skus: ["V1"] },
      { op: "subscribe", skus: "V1" },
      { op: "subscribe", skus: [""] },
      { op: "subscribe", skus: [1] },
      { op: "subscribe", skus: ["x".repeat(129)] },
      { op: "subscribe", skus: ["a\u0001b"] },
      { op: "subscribe", locations: ["y".repeat(65)] },
      { op: "subscribe", channels: ["Web"] },
      { op: "subscribe", skus: Array.from({ length: 10_001 }, (_, i) => `k${i}`) },
      { op: "subscribe", since: -1 },
      { op: "subscribe", since: 1.5 },
      '{"op":"subscribe","since":1.0000000000000001}', // JSON.parse would make it 1
      { op: "subscribe", since: "3" },
      { op: "subscribe", since: 2 ** 53 },
      { op: "subscribe", extra: true },
    ];
    for (const b of bad) c.send(b);
    await c.until((ms) => ms.filter((m) => m.type === "error").length === bad.length, "every error");
    for (const m of c.messages.filter((x) => x.type === "error")) {
      expect(m.error).toBe("invalid_request");
      expect(typeof m.message).toBe("string");
    }
    // The first subscription still holds.
    await ok(engine.setStock([{ sku: "V2", location: "v", onHand: 1 }, { sku: "V1", location: "v", onHand: 1 }]));
    await c.until((ms) => ms.some((m) => m.type === "delta"), "V1 delta");
    expect(c.data().map((m) => m.sku)).toEqual(["V1"]);
    // Ids at their limits are fine.
    c.subscribe({ skus: ["x".repeat(128), ...Array.from({ length: 9_999 }, (_, i) => `k${i}`)], locations: ["y".repeat(64)], channels: ["a-b_9"] });
    await c.subscribed(2);
  });

  test("a plain GET (no upgrade) is a 400", async () => {
    const res = await fetch(`${server.url}/v1/stream`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_request" });
  });
});

// ---------------------------------------------------------------- fan-out metrics

describe("stream fan-out metrics", () => {
  test("each released batch that reaches clients is timed once (omnistock_stream_fanout_seconds) and counts one delivery per client; a batch no client matches is not", async () => {
    const server = await startTestEngine();
    try {
      const engine = server.running.engine;
      const a = await open(server.url);
      a.subscribe({ skus: ["fan-a"] });
      await a.subscribed();
      const b = await open(server.url);
      b.subscribe({ skus: ["fan-a", "fan-b"] });
      await b.subscribed();
      const count0 = await metric(server.url, "omnistock_stream_fanout_seconds_count");
      const deliveries0 = await metric(server.url, "omnistock_stream_fanout_deliveries_total");
      // One command, two deltas, one released batch: a gets one frame, b two (corked).
      await ok(engine.setStock([{ sku: "fan-a", location: "f", onHand: 1 }, { sku: "fan-b", location: "f", onHand: 2 }]));
      const seq = await settledSeq(engine);
      await b.untilSeq(seq);
      await a.untilSeq(seq - 1);
      // With HTTP worker threads each thread fans out to its own clients: a and b may sit on two.
      const count1 = await metric(server.url, "omnistock_stream_fanout_seconds_count");
      expect(count1 - count0).toBeGreaterThanOrEqual(1);
      expect(count1 - count0).toBeLessThanOrEqual(threaded ? 2 : 1);
      expect(await metric(server.url, "omnistock_stream_fanout_deliveries_total")).toBe(deliveries0 + 2);
      // Matches nobody: nothing sent, nothing observed.
      await ok(engine.setStock([{ sku: "fan-z", location: "f", onHand: 3 }]));
      await settledSeq(engine);
      await ok(engine.setStock([{ sku: "fan-b", location: "f", onHand: 4 }]));
      await b.untilSeq(await settledSeq(engine));
      expect(await metric(server.url, "omnistock_stream_fanout_seconds_count")).toBe(count1 + 1);
      expect(await metric(server.url, "omnistock_stream_fanout_deliveries_total")).toBe(deliveries0 + 3);
      expect(a.data().map((m) => m.sku)).toEqual(["fan-a"]);
      expect(b.data().map((m) => m.sku)).toEqual(["fan-a", "fan-b", "fan-b"]);
    } finally {
      await server.close();
    }
  });
});

// ---------------------------------------------------------------- auth

describe("stream auth", () => {
  let server: TestEngine;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "omnistock-stream-tokens-"));
    const tokensFile = join(dir, "tokens.json");
    writeFileSync(tokensFile, JSON.stringify([{ token: "reader", scopes: ["read"] }, { token: "writer", scopes: ["write"] }]));
    server = await startTestEngine({ tokensFile });
  });
  afterAll(async () => server.close());

  test("401 without a token, 403 without the read scope; ?token= or the header lets a reader in", async () => {
    expect(await StreamClient.refusal(server.url)).toMatchObject({ status: 401, body: { error: "unauthorized" } });
    expect(await StreamClient.refusal(server.url, { token: "nope" })).toMatchObject({ status: 401, body: { error: "unauthorized" } });
    expect(await StreamClient.refusal(server.url, { token: "writer" })).toMatchObject({ status: 403, body: { error: "forbidden" } });
    expect(await StreamClient.refusal(server.url, {}, { authorization: "Bearer writer" })).toMatchObject({ status: 403 });
    for (const c of [await open(server.url, { token: "reader" }), await open(server.url, {}, { authorization: "Bearer reader" })]) {
      c.subscribe();
      await c.subscribed();
    }
  });
});

// ---------------------------------------------------------------- reset and snapshot

describe("stream reset", () => {
  let server: TestEngine;
  let engine: OmnistockEngine;
  beforeAll(async () => {
    server = await startTestEngine({ env: { OMNISTOCK_STREAM_RETENTION: "1000" } });
    engine = server.running.engine;
  });
  afterAll(async () => server.close());

  test("since older than retention: reset, one snapshot per matching position, snapshot_end, then live", async () => {
    await ok(engine.putChannel("web", { locations: ["L0", "L1"], buffer: 1 }));
    await writeRounds(engine, 20, 5, 30); // 3,000 deltas (and channel messages) > retention
    await ok(engine.hold({ id: "snap-hold", lines: [{ sku: "S3", location: "L2", qty: 5 }] }));
    expect(engine.feed.readAfter(5, 1)).toBeNull();

    const all = await open(server.url);
    all.subscribe({ since: 5 });
    await all.until((ms) => ms.some((m) => m.type === "snapshot_end"), "snapshot_end");
    const types = all.messages.map((m) => m.type);
    expect(types[0]).toBe("subscribed");
    expect(types[1]).toBe("reset");
    const reset = all.messages[1];
    expect(reset.seq).toBe((await settledSeq(engine)));
    const snapshot = all.messages.filter((m) => m.type === "snapshot");
    const positions = snapshot.filter((m) => m.location !== undefined);
    expect(positions).toHaveLength(100);
    for (const p of positions) {
      const read = engine.availabilityAt(p.sku, p.location).body as Record<string, unknown>;
      expect(p).toEqual({ type: "snapshot", seq: reset.seq, ts: p.ts, ...read });
    }
    // An unfiltered subscriber also gets every channel's figures.
    const channels = snapshot.filter((m) => m.channel !== undefined);
    expect(channels).toHaveLength(20);
    for (const c of channels) expect(c.available).toBe((engine.availabilityForChannel(c.sku, "web").body as any).available);
    expect(all.messages.at(-1)).toEqual({ type: "snapshot_end", seq: reset.seq });

    await writeRounds(engine, 2, 2, 2, 1000);
    await all.untilSeq((await settledSeq(engine)));
    expectConsecutive(all.data(), reset.seq + 1, (await settledSeq(engine)));

    // Filtered: only matching positions, and the named channels' figures of the named SKUs.
    const some = await open(server.url, { format: "msgpack" });
    some.subscribe({ since: 0, skus: ["S1", "S2", "unknown"], locations: ["L4"], channels: ["web", "nochannel"] });
    await some.until((ms) => ms.some((m) => m.type === "snapshot_end"), "filtered snapshot_end");
    const entries = some.messages.filter((m) => m.type === "snapshot");
    expect(entries.filter((m) => m.location !== undefined).map((m) => `${m.sku}@${m.location}`)).toEqual(["S1@L4", "S2@L4"]);
    expect(entries.filter((m) => m.channel !== undefined).map((m) => `${m.channel}:${m.sku}`)).toEqual(["web:S1", "web:S2", "web:unknown"]);
  });

  test("a reset while writes are in flight: snapshot then live messages end at the ledger's state, gap-free after the reset seq", async () => {
    const c = await open(server.url);
    c.subscribe({ since: 1 });
    // Keep writes staged (not yet durable) around the subscribe, so the snapshot may have to wait for them.
    const writes: Promise<unknown>[] = [];
    let round = 0;
    while (!c.messages.some((m) => m.type === "snapshot_end")) {
      round++;
      writes.push(engine.setStock([{ sku: `S${round % 20}`, location: `L${round % 5}`, onHand: 5000 + round }]));
      await new Promise((resolve) => setImmediate(resolve)); // let the loop send what is released
      if (round > 200_000) throw new Error("no snapshot_end");
    }
    await Promise.all(writes);
    const last = (await settledSeq(engine));
    await c.untilSeq(last);
    const subscribed = c.messages[0];
    const reset = c.messages.find((m) => m.type === "reset");
    console.log(`reset during writes: subscribed at ${subscribed.seq}, snapshot labelled ${reset.seq} (${reset.seq > subscribed.seq ? "waited for staged messages" : "nothing staged"}), ${round} writes`);
    expect(reset.seq).toBeGreaterThanOrEqual(subscribed.seq);
    const afterEnd = c.messages.slice(c.messages.findIndex((m) => m.type === "snapshot_end") + 1);
    expectConsecutive(afterEnd, reset.seq + 1, last);
    const state = new Map<string, Message>();
    for (const m of c.messages) if (m.type === "snapshot" || m.type === "delta") if (m.location !== undefined) state.set(`${m.sku}@${m.location}`, m);
    expect(state.size).toBe(100);
    for (const m of state.values()) {
      const read = engine.availabilityAt(m.sku, m.location).body as Record<string, unknown>;
      expect({ ...m, type: undefined, seq: undefined, ts: undefined }).toEqual({ ...read, type: undefined, seq: undefined, ts: undefined });
    }
  });

  test("since beyond the newest seq (another history) also resets", async () => {
    const c = await open(server.url);
    c.subscribe({ since: (await settledSeq(engine)) + 1000, skus: ["S0"] });
    await c.until((ms) => ms.some((m) => m.type === "snapshot_end"), "snapshot_end");
    expect(c.messages.map((m) => m.type)).toEqual(["subscribed", "reset", "snapshot", "snapshot", "snapshot", "snapshot", "snapshot", "snapshot_end"]);
  });
});

// ---------------------------------------------------------------- mixed workload

describe("stream over a mixed workload", () => {
  let server: TestEngine;
  beforeAll(async () => {
    server = await startTestEngine();
  });
  afterAll(async () => server.close());

  test("an unfiltered subscriber sees consecutive seqs, from the first to the newest", async () => {
    const engine = server.running.engine;
    const c = await open(server.url);
    c.subscribe({ since: 0 });
    await c.subscribed();
    let late: StreamClient | null = null;
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 400; i++) {
      const sku = `M${i % 13}`;
      const location = `w${i % 3}`;
      switch (i % 8) {
        case 0: writes.push(engine.setStock([{ sku, location, onHand: 50 + (i % 7) }])); break;
        case 1: writes.push(engine.adjustStock([{ sku, location, delta: -1 }, { sku: `M${(i + 1) % 13}`, location, delta: 2 }])); break;
        case 2: writes.push(engine.hold({ id: `h${i}`, channel: i % 16 === 2 ? "web" : undefined, lines: [{ sku, location, qty: 1 }] })); break;
        case 3: writes.push(engine.move(`h${i - 1}`, "commit")); break;
        case 4: writes.push(engine.move(`h${i - 2}`, i % 16 === 4 ? "fulfill" : "release")); break;
        case 5: writes.push(engine.putChannel("web", { locations: i % 3 === 0 ? ["w0"] : ["w0", "w1"], buffer: i % 4 })); break;
        case 6: writes.push(engine.putLocation(location, { enabled: i % 5 !== 0, safetyStock: i % 3 })); break;
        default: writes.push(engine.setStock([{ sku, location, onHand: i % 11, safetyStock: i % 2 === 0 ? 1 : null }]));
      }
      if (i === 200) {
        late = await open(server.url);
        late.subscribe({ since: 17 });
      }
      if (i % 50 === 49) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    const last = (await settledSeq(engine));
    expect(last).toBeGreaterThan(500);
    await c.untilSeq(last);
    expectConsecutive(c.data(), 1, last);
    expect(new Set(c.data().map((m) => m.type))).toEqual(new Set(["delta", "channel"]));
    await late!.untilSeq(last);
    expect(late!.data()).toEqual(c.data().slice(17));
  });
});

// ---------------------------------------------------------------- slow clients

// A full collection before each reading, so the figures are what is retained, not garbage awaiting collection.
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

// With HTTP worker threads (OMNISTOCK_TEST_WORKERS > 0) the stream lives in
// other isolates of this process: their memory is asked of them (each runs a
// full GC first: vitest runs node with --expose-gc), and the stream's gauges
// show only in /metrics, which sums every thread.
const threaded = (process.env.OMNISTOCK_TEST_WORKERS ?? "0") !== "0";

async function memory(server: TestEngine): Promise<number> {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + (await server.running.workerHeapBytes());
}

// Through /metrics: in both thread modes, as workers hold the clients when there are any.
const pendingKeys = (url: string): Promise<number> => metric(url, "omnistock_stream_pending_keys");
const bufferedBytes = (url: string): Promise<number> => metric(url, "omnistock_stream_socket_buffered_bytes");

/** An unfiltered subscriber whose socket is no longer read: the server's sends back up behind it. */
async function pausedSubscriber(url: string): Promise<StreamClient> {
  const slow = await open(url);
  slow.subscribe();
  await slow.subscribed();
  (slow.ws as any)._socket.pause();
  return slow;
}

const MiB = 1024 * 1024;
/** Rounds of 1,000 deltas the paused client sits through: issue 3's million. */
const FLOOD_ROUNDS = 1000;

describe("slow clients", () => {
  test("a paused client under 1,000,000 deltas: memory grows by less than 100 MB and it gets the newest state per key", async () => {
    const server = await startTestEngine();
    try {
      const engine = server.running.engine;
      // 1,000 keys, and enough deltas to fill the feed's in-memory tail
      // (100,000 messages): a fixed cost of the engine, paid with or without
      // clients, so that what grows below is what the paused client costs.
      await writeRounds(engine, 100, 10, 101);
      const slow = await open(server.url);
      slow.subscribe();
      await slow.subscribed();
      const fast = await open(server.url, { format: "msgpack" });
      fast.subscribe({ skus: ["S7"] });
      await fast.subscribed();
      (slow.ws as any)._socket.pause();
      const before = await memory(server);
      const rssBefore = process.memoryUsage().rss;
      let peak = before;
      let pendingPeak = 0;
      for (let r = 0; r < FLOOD_ROUNDS; r++) {
        await writeRounds(engine, 100, 10, 1, (r + 1) * 1000); // 1,000 deltas each
        if (r % 10 === 9) pendingPeak = Math.max(pendingPeak, await pendingKeys(server.url));
        if (r % 100 === 99) peak = Math.max(peak, await memory(server));
      }
      const growth = peak - before;
      const rssGrowth = process.memoryUsage().rss - rssBefore;
      console.log(
        `paused client, ${FLOOD_ROUNDS * 1000} deltas over 1,000 keys: retained heap+external ${(before / MiB).toFixed(1)} MiB before, ` +
          `peak ${(peak / MiB).toFixed(1)} MiB (+${(growth / MiB).toFixed(1)} MiB); ` +
          `rss +${(rssGrowth / MiB).toFixed(1)} MiB; pending keys peak ${pendingPeak}`,
      );
      expect(growth).toBeLessThan(100 * MiB);
      expect(pendingPeak).toBeGreaterThan(0); // it did coalesce
      expect(pendingPeak).toBeLessThanOrEqual(1000); // one entry per key at most
      // The fast client was not held back by the slow one.
      const last = (await settledSeq(engine));
      await fast.until((ms) => ms.filter((m) => m.type === "delta").length === FLOOD_ROUNDS * 10, "fast client");

      (slow.ws as any)._socket.resume();
      await slow.untilSeq(last);
      const received = slow.data();
      const seqs = received.map((m) => m.seq);
      for (let i = 1; i < seqs.length; i++) if (seqs[i] <= seqs[i - 1]) expect.fail(`seq ${seqs[i]} after ${seqs[i - 1]}`);
      expect(received.length).toBeLessThan(FLOOD_ROUNDS * 1000); // coalesced
      const newest = new Map<string, Message>();
      for (const m of received) newest.set(`${m.sku}@${m.location}`, m);
      expect(newest.size).toBe(1000);
      for (const [, m] of newest) {
        const read = engine.availabilityAt(m.sku, m.location).body as Record<string, unknown>;
        expect({ ...m, type: undefined, seq: undefined, ts: undefined }).toEqual({ ...read, type: undefined, seq: undefined, ts: undefined });
      }
      console.log(`paused client received ${received.length} of ${FLOOD_ROUNDS * 1000} deltas after resuming (newest state of all 1,000 keys)`);
    } finally {
      for (const c of clients.splice(0)) c.ws.terminate();
      await server.close();
    }
  });

  test("one batch of 10,000 deltas leaves at most 1 MiB and a frame in a congested client's socket buffer; the rest is coalesced", async () => {
    const server = await startTestEngine();
    try {
      const engine = server.running.engine;
      const slow = await pausedSubscriber(server.url);
      // Rounds of 1,000 deltas (about 0.2 MB) until the kernel takes no more and uWS holds the
      // rest: some bytes buffered, under 1 MiB, nothing parked yet.
      let rounds = 0;
      while ((await bufferedBytes(server.url)) === 0) {
        if (++rounds > 500) expect.fail("the paused client's socket never filled");
        await writeRounds(engine, 100, 10, 1, rounds * 1000);
      }
      const before = await bufferedBytes(server.url);
      expect(before).toBeLessThan(SOCKET_BUFFERED_BYTES_MAX);
      expect(await pendingKeys(server.url)).toBe(0);
      // One command, so one released batch, of about 2.3 MB of frames.
      const items = [];
      for (let s = 0; s < 1000; s++) for (let l = 0; l < 10; l++) items.push({ sku: `B${s}`, location: `L${l}`, onHand: 1 + s + l });
      await ok(engine.setStock(items));
      await settledSeq(engine);
      const after = await bufferedBytes(server.url);
      console.log(`congested client: ${before} bytes buffered after ${rounds} rounds; ${after} after a batch of 10,000 deltas; ${await pendingKeys(server.url)} keys parked`);
      // Each frame is a few hundred bytes; without the per-batch bound all 2.3 MB would be in uWS's buffer.
      expect(after).toBeLessThanOrEqual(SOCKET_BUFFERED_BYTES_MAX + 1024);
      expect(await pendingKeys(server.url)).toBeGreaterThan(0); // what did not fit was parked
    } finally {
      for (const c of clients.splice(0)) c.ws.terminate();
      await server.close();
    }
  });

  test("a paused client with more pending keys than OMNISTOCK_WS_PENDING_MAX is closed with 4008", async () => {
    const server = await startTestEngine({ env: { OMNISTOCK_WS_PENDING_MAX: "100" } });
    try {
      const engine = server.running.engine;
      const slow = await pausedSubscriber(server.url);
      let pendingPeak = 0;
      for (let r = 0; r < 40; r++) {
        await writeRounds(engine, 500, 10, 1, r * 1000); // 5,000 keys, 5,000 deltas each round
        pendingPeak = Math.max(pendingPeak, await pendingKeys(server.url));
      }
      console.log(`4008 case: pending keys peak ${pendingPeak} (limit 100)`);
      expect(pendingPeak).toBeLessThanOrEqual(100);
      (slow.ws as any)._socket.resume();
      await slow.until(() => slow.closeCode !== null, "close").catch(() => undefined);
      expect(slow.closeCode).toBe(4008);
      expect(slow.closeReason).toMatch(/slow consumer/);
      // The server still serves others.
      const next = await open(server.url);
      next.subscribe();
      expect((await next.subscribed()).seq).toBe((await settledSeq(engine)));
    } finally {
      for (const c of clients.splice(0)) c.ws.terminate();
      await server.close();
    }
  });
});
