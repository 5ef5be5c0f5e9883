// Proves the NATS adapter against a real nats-server and the real engine:
// deltas and channel figures go out on percent-encoded subjects, as msgpack
// or JSON, with Nats-Msg-Id = seq; JetStream gets stream OMNISTOCK and, across
// a NATS outage (writes keep succeeding) and across an engine restart, holds
// every message exactly once in seq order, the restarted engine resuming right
// after the last seq JetStream acknowledged; an outage longer than the feed's
// retention skips to the oldest retained message and counts the loss; ATP
// requests get the HTTP bodies. Skipped, with the reason, without nats-server.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unpack } from "msgpackr";
import { connect, type JetStreamManager, type Msg, type NatsConnection } from "nats";
import { afterEach, describe, expect, it } from "vitest";
import { ATP_SUBJECT, STATUS_HEADER } from "../src/adapters/nats/atp-responder.js";
import { MSG_ID_HEADER, STREAM_NAME, STREAM_SUBJECTS } from "../src/adapters/nats/outbox.js";
import { subjectFor } from "../src/adapters/nats/subject-token.js";
import { loadConfig } from "../src/config.js";
import { startOmnistock, type RunningOmnistock } from "../src/omnistock.js";
import type { StreamMessage } from "../src/stream/messages.js";
import { startTestEngine } from "./support/engine.js";
import { natsServerMissing, startNatsServer } from "./support/nats-server.js";

const DEADLINE_MS = 30_000;
const SKU_ODD = "a.b*c> d%Жё"; // every character a subject cannot hold raw
const LOCATION_ODD = "store.1 >*%";

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function waitFor(what: string, check: () => boolean | Promise<boolean>, deadlineMs = DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let last: unknown = null;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error; // e.g. NATS still down: keep polling
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function http(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function client(url: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  cleanups.push(() => nc.close());
  return nc;
}

/** Every message published on the engine's subjects, as seen by a core subscriber. */
function collect(nc: NatsConnection): Msg[] {
  const seen: Msg[] = [];
  nc.subscribe("omnistock.delta.>", { callback: (_e, m) => seen.push(m) });
  nc.subscribe("omnistock.channel.>", { callback: (_e, m) => seen.push(m) });
  return seen;
}

/** The Nats-Msg-Id of the stream's newest message (0 when empty). */
async function lastStoredId(jsm: JetStreamManager): Promise<number> {
  const info = await jsm.streams.info(STREAM_NAME);
  if (info.state.last_seq === 0) return 0;
  const stored = await jsm.streams.getMessage(STREAM_NAME, { seq: info.state.last_seq });
  return Number(stored.header.get(MSG_ID_HEADER));
}

/** The whole stream, oldest first: each message's Nats-Msg-Id and decoded payload. */
async function storedMessages(jsm: JetStreamManager): Promise<{ id: string; message: StreamMessage; subject: string }[]> {
  const info = await jsm.streams.info(STREAM_NAME);
  const out: { id: string; message: StreamMessage; subject: string }[] = [];
  for (let s = info.state.first_seq; s <= info.state.last_seq; s++) {
    const stored = await jsm.streams.getMessage(STREAM_NAME, { seq: s });
    out.push({ id: stored.header.get(MSG_ID_HEADER), message: unpack(stored.data) as StreamMessage, subject: stored.subject });
  }
  return out;
}

function range(from: number, to: number): string[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => String(from + i));
}

/** An engine on `dataDir` (kept across restarts, unlike startTestEngine's). */
async function engineAt(dataDir: string, natsUrl: string): Promise<RunningOmnistock & { url: string }> {
  const config = loadConfig({
    OMNISTOCK_HOST: "127.0.0.1", OMNISTOCK_PORT: "0", OMNISTOCK_DATA_DIR: dataDir, OMNISTOCK_POSITIONS_MAX: "100000",
    OMNISTOCK_RESERVATIONS_MAX: "100000", OMNISTOCK_NATS_URL: natsUrl,
  });
  const running = await startOmnistock(config, () => undefined);
  await running.ready;
  return { ...running, url: `http://127.0.0.1:${running.port}` };
}

const missing = natsServerMissing();
const suite = missing === null ? describe : describe.skip;

suite(`NATS adapter${missing === null ? "" : ` (skipped: ${missing})`}`, () => {
  it("publishes on encoded subjects, msgpack, Nats-Msg-Id = seq, into stream OMNISTOCK", async () => {
    const nats = await startNatsServer();
    cleanups.push(() => nats.close());
    const nc = await client(nats.url);
    const seen = collect(nc);
    await nc.flush();
    const engine = await startTestEngine({ env: { OMNISTOCK_NATS_URL: nats.url } });
    cleanups.push(() => engine.close());

    expect((await http(engine.url, "PUT", "/v1/channels/web", {})).status).toBe(200);
    const write = await http(engine.url, "POST", "/v1/stock", {
      items: [{ sku: SKU_ODD, location: LOCATION_ODD, onHand: 7 }, { sku: "plain", location: "Склад 2", onHand: 3 }],
    });
    expect(write.status).toBe(200);
    const feed = engine.running.engine.feed;
    await waitFor("every message on core NATS", () => feed.lastSeq > 0 && seen.length === feed.lastSeq);

    const expected = feed.readAfter(0, 100)!;
    expect(expected.map((m) => m.type)).toEqual(["delta", "delta", "channel", "channel"]);
    expect(seen.map((m) => m.subject)).toEqual([
      "omnistock.delta.store%2E1%20%3E%2A%25.a%2Eb%2Ac%3E%20d%25%D0%96%D1%91",
      "omnistock.delta.%D0%A1%D0%BA%D0%BB%D0%B0%D0%B4%202.plain",
      "omnistock.channel.web.a%2Eb%2Ac%3E%20d%25%D0%96%D1%91",
      "omnistock.channel.web.plain",
    ]);
    expect(seen.map((m) => m.subject)).toEqual(expected.map(subjectFor));
    expect(seen.map((m) => unpack(m.data))).toEqual(expected);
    expect(seen.map((m) => m.headers?.get(MSG_ID_HEADER))).toEqual(expected.map((m) => String(m.seq)));

    const jsm = await nc.jetstreamManager({ timeout: 1_000 });
    await waitFor("JetStream to hold every message", async () => (await lastStoredId(jsm)) === feed.lastSeq);
    const info = await jsm.streams.info(STREAM_NAME);
    expect([...info.config.subjects].sort()).toEqual([...STREAM_SUBJECTS].sort());
    expect(info.config.max_msgs).toBe(10_000_000);
    expect(info.config.max_age).toBe(7 * 24 * 3600 * 1e9);
    const stored = await storedMessages(jsm);
    expect(stored.map((s) => s.id)).toEqual(range(1, feed.lastSeq));
    expect(stored.map((s) => s.message)).toEqual(expected);
    expect(stored.map((s) => s.subject)).toEqual(expected.map(subjectFor));
  });

  it("without JetStream publishes with core NATS, JSON with OMNISTOCK_NATS_FORMAT=json", async () => {
    const nats = await startNatsServer({ jetstream: false });
    cleanups.push(() => nats.close());
    const nc = await client(nats.url);
    const seen = collect(nc);
    await nc.flush();
    const engine = await startTestEngine({ env: { OMNISTOCK_NATS_URL: nats.url, OMNISTOCK_NATS_FORMAT: "json" } });
    cleanups.push(() => engine.close());
    const feed = engine.running.engine.feed;
    // The adapter connects in the background: write until its first message arrives, then some more.
    await waitFor("the adapter to publish", async () => {
      await http(engine.url, "POST", "/v1/stock/adjust", { items: [{ sku: SKU_ODD, location: "s1", delta: 1 }] });
      return seen.length > 0;
    });
    for (let i = 0; i < 5; i++) await http(engine.url, "POST", "/v1/stock/adjust", { items: [{ sku: SKU_ODD, location: "s1", delta: 1 }] });
    await waitFor("the live messages", () => seen.length > 0 && Number(seen[seen.length - 1].headers?.get(MSG_ID_HEADER)) === feed.lastSeq);

    const first = Number(seen[0].headers!.get(MSG_ID_HEADER));
    const expected = feed.readAfter(first - 1, 100)!;
    expect(seen.map((m) => m.headers?.get(MSG_ID_HEADER))).toEqual(range(first, feed.lastSeq));
    expect(seen.map((m) => JSON.parse(new TextDecoder().decode(m.data)))).toEqual(expected);
    expect(seen.every((m) => m.subject === "omnistock.delta.s1.a%2Eb%2Ac%3E%20d%25%D0%96%D1%91")).toBe(true);
  });

  it("keeps reserving through a NATS outage; afterwards JetStream holds every message once, in seq order", async () => {
    const nats = await startNatsServer();
    cleanups.push(() => nats.close());
    const engine = await startTestEngine({ env: { OMNISTOCK_NATS_URL: nats.url } });
    cleanups.push(() => engine.close());
    const feed = engine.running.engine.feed;
    const nc = await client(nats.url);
    const jsm = await nc.jetstreamManager({ timeout: 1_000 });
    expect((await http(engine.url, "POST", "/v1/stock", { items: [{ sku: "S", location: "L", onHand: 1_000_000 }] })).status).toBe(200);
    await waitFor("the first message in JetStream", async () => (await lastStoredId(jsm)) === feed.lastSeq);

    // One writer, holding one unit per request, across the whole outage.
    let holds = 0;
    let writing = true;
    const statuses: number[] = [];
    const writer = (async () => {
      while (writing) {
        const r = await http(engine.url, "POST", "/v1/reservations", { id: `r${holds++}`, lines: [{ sku: "S", location: "L", qty: 1 }] });
        statuses.push(r.status);
      }
    })();
    cleanups.push(async () => {
      writing = false;
      await writer;
    });
    await waitFor("holds before the outage", () => holds >= 30);

    await nats.stop("SIGKILL"); // a crash, while publishes are in flight
    const duringFrom = statuses.length;
    await waitFor("holds during the outage", () => statuses.length >= duringFrom + 100);
    const during = statuses.slice(duringFrom);
    expect(during.every((s) => s === 201)).toBe(true);
    expect((await http(engine.url, "GET", "/readyz")).status).toBe(200);

    await nats.start();
    const afterFrom = statuses.length;
    await waitFor("holds after the outage", () => statuses.length >= afterFrom + 30);
    writing = false;
    await writer;
    expect(statuses.every((s) => s === 201)).toBe(true);

    await waitFor("JetStream to catch up", async () => (await lastStoredId(jsm)) === feed.lastSeq);
    const stored = await storedMessages(jsm);
    expect(stored.map((s) => s.id)).toEqual(range(1, feed.lastSeq));
    expect(stored.map((s) => s.message.seq)).toEqual(range(1, feed.lastSeq).map(Number));
    expect(stored.map((s) => s.message)).toEqual(feed.readAfter(0, 10_000));
    const metrics = await (await fetch(`${engine.url}/metrics`)).text();
    expect(metrics).toMatch(/^omnistock_nats_reconnects_total [1-9]/m);
    expect(metrics).toMatch(/^omnistock_nats_cursor_lag 0$/m);
  });

  it("after an engine restart resumes right after the last seq JetStream acknowledged, without duplicates", async () => {
    const nats = await startNatsServer();
    cleanups.push(() => nats.close());
    const dataDir = mkdtempSync(join(tmpdir(), "omnistock-nats-restart-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const nc = await client(nats.url);
    const jsm = await nc.jetstreamManager({ timeout: 1_000 });
    const stock = (base: string, n: number, onHand: number) =>
      http(base, "POST", "/v1/stock", { items: Array.from({ length: n }, (_, i) => ({ sku: `k${i}`, location: "L", onHand })) });

    const first = await engineAt(dataDir, nats.url);
    expect((await stock(first.url, 20, 5)).status).toBe(200);
    await waitFor("the first engine's messages in JetStream", async () => (await lastStoredId(jsm)) === first.engine.feed.lastSeq);
    // NATS goes away; the engine writes on, then stops with those messages unpublished.
    await nats.stop();
    expect((await stock(first.url, 20, 6)).status).toBe(200);
    const firstLastSeq = first.engine.feed.lastSeq;
    await first.close();
    await nats.start();
    await waitFor("JetStream back", async () => (await lastStoredId(jsm)) >= 0);
    const acknowledged = await lastStoredId(jsm);
    expect(acknowledged).toBeLessThan(firstLastSeq);

    const seen = collect(nc);
    await nc.flush();
    const second = await engineAt(dataDir, nats.url);
    cleanups.push(() => second.close());
    expect(second.engine.feed.lastSeq).toBe(firstLastSeq);
    expect((await stock(second.url, 20, 7)).status).toBe(200);
    await waitFor("the second engine to catch up", async () => (await lastStoredId(jsm)) === second.engine.feed.lastSeq);

    // Published by the restarted engine: exactly the seqs after the acknowledged one, once each.
    expect(seen.map((m) => m.headers?.get(MSG_ID_HEADER))).toEqual(range(acknowledged + 1, second.engine.feed.lastSeq));
    const stored = await storedMessages(jsm);
    expect(stored.map((s) => s.id)).toEqual(range(1, second.engine.feed.lastSeq));
    expect(stored.map((s) => s.message)).toEqual(second.engine.feed.readAfter(0, 10_000));
  });

  it("after an outage longer than the feed's retention skips to the oldest retained message, and counts the loss", async () => {
    const nats = await startNatsServer();
    cleanups.push(() => nats.close());
    const engine = await startTestEngine({ env: { OMNISTOCK_NATS_URL: nats.url, OMNISTOCK_STREAM_RETENTION: "1000" } });
    cleanups.push(() => engine.close());
    const feed = engine.running.engine.feed;
    const nc = await client(nats.url);
    const jsm = await nc.jetstreamManager({ timeout: 1_000 });
    const stock = (onHand: number) =>
      http(engine.url, "POST", "/v1/stock", { items: Array.from({ length: 100 }, (_, i) => ({ sku: `k${i}`, location: "L", onHand })) });
    expect((await stock(1)).status).toBe(200);
    await waitFor("the first messages in JetStream", async () => (await lastStoredId(jsm)) === feed.lastSeq);
    const before = feed.lastSeq;

    await nats.stop();
    for (let onHand = 2; onHand <= 16; onHand++) expect((await stock(onHand)).status).toBe(200);
    const oldest = feed.oldestSeq;
    expect(oldest).toBeGreaterThan(before + 1); // the outage outlasted retention
    await nats.start();
    await waitFor("JetStream to catch up", async () => (await lastStoredId(jsm)) === feed.lastSeq);

    const stored = await storedMessages(jsm);
    expect(stored.map((s) => s.id)).toEqual([...range(1, before), ...range(oldest, feed.lastSeq)]);
    const metrics = await (await fetch(`${engine.url}/metrics`)).text();
    expect(metrics).toContain(`omnistock_nats_skipped_total{reason="retention"} ${oldest - 1 - before}`);
  });

  it("answers ATP requests with the HTTP bodies, and bad requests with {error, message}", async () => {
    const nats = await startNatsServer();
    cleanups.push(() => nats.close());
    const engine = await startTestEngine({ env: { OMNISTOCK_NATS_URL: nats.url } });
    cleanups.push(() => engine.close());
    const nc = await client(nats.url);
    await http(engine.url, "PUT", "/v1/channels/web", { buffer: 1 });
    await http(engine.url, "POST", "/v1/stock", {
      items: [{ sku: SKU_ODD, location: "s1", onHand: 5 }, { sku: SKU_ODD, location: LOCATION_ODD, onHand: 2 }, { sku: "B", location: "s1", onHand: 9 }],
    });
    const ask = async (payload: unknown): Promise<{ status: string | undefined; body: any }> => {
      const data = typeof payload === "string" ? new TextEncoder().encode(payload) : new TextEncoder().encode(JSON.stringify(payload));
      const reply = await nc.request(ATP_SUBJECT, data, { timeout: 5_000 });
      return { status: reply.headers?.get(STATUS_HEADER), body: JSON.parse(new TextDecoder().decode(reply.data)) };
    };
    await waitFor("the ATP responder", async () => (await ask({ sku: "B" })).status === "200");

    const sku = encodeURIComponent(SKU_ODD);
    const reads: [unknown, string][] = [
      [{ sku: SKU_ODD, location: LOCATION_ODD }, `/v1/availability/${sku}?location=${encodeURIComponent(LOCATION_ODD)}`],
      [{ sku: SKU_ODD }, `/v1/availability/${sku}`],
      [{ sku: SKU_ODD, channel: "web" }, `/v1/availability/${sku}?channel=web`],
      [{ sku: "unknown", location: "s1" }, `/v1/availability/unknown?location=s1`],
      [{ sku: "B", channel: "nope" }, `/v1/availability/B?channel=nope`],
    ];
    for (const [request, path] of reads) {
      const viaHttp = await http(engine.url, "GET", path);
      const viaNats = await ask(request);
      expect(viaNats.body).toEqual(viaHttp.body);
      expect(viaNats.status).toBe(String(viaHttp.status));
    }
    expect((await ask({ sku: "B", channel: "nope" })).body.error).toBe("not_found");
    for (const query of [{ skus: [SKU_ODD, "B", "unknown"] }, { skus: [SKU_ODD, "B"], channel: "web" }, { skus: ["B"], location: "s1" }]) {
      expect((await ask(query)).body).toEqual((await http(engine.url, "POST", "/v1/availability/query", query)).body);
    }

    const bad: unknown[] = [
      "not json", "[1]", "null", {}, { sku: 5 }, { sku: "" }, { sku: "x".repeat(129) }, { sku: "a\u0001" },
      { sku: "B", location: "s1", channel: "web" }, { sku: "B", channel: "WEB" }, { sku: "B", extra: 1 },
      { sku: "B", skus: ["B"] }, { skus: "B" }, { skus: ["B"], location: "s1", channel: "web" },
    ];
    for (const request of bad) {
      const reply = await ask(request);
      expect(reply, JSON.stringify(request)).toEqual({ status: "400", body: { error: "invalid_request", message: expect.any(String) } });
    }
    expect((await ask({ sku: "B", location: "s1" })).body).toMatchObject({ sku: "B", location: "s1", available: 9 });
  });
});
