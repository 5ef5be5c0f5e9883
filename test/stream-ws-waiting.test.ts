// Proves the stream's Waiting state (src/stream/ws-stream.ts, Mode.Waiting) deterministically, through a real engine and real loopback WebSockets: a client whose `since` is older than retention, subscribing while writes are durable and answered but their messages not yet released, gets reset, the snapshot of the ledger at the staged seq S it is labelled with, snapshot_end, then every later matching message from S + 1 in seq order with no gap and no duplicate; a client that closes (or drops) while waiting leaves the waiting set and the release still reaches the others; and a waiting client whose filter matches nothing still gets its (empty) snapshot once S is released.
//
// How the Waiting state is forced: the test holds the writer's feed releases
// back (holdReleases below). The engine answers a write once its journal
// record is durable and releases the write's stream messages in a later
// event-loop turn (engine.ts, scheduleRelease); held, the writes are answered
// (the test awaits them) while their messages stay staged, so the feed's
// staged seq S is above its released seq, and a reset snapshot taken now is
// labelled S and must wait. The hold can let the oldest release it kept
// through (one group commit's messages), and opening it makes the newest one:
// everything durable, in one batch (a release the engine asks for later, of
// a commit that completed meanwhile, runs as usual).
//
// With HTTP worker threads (OMNISTOCK_TEST_WORKERS > 0) the stream runs on a
// worker and asks the writer for the snapshot by postMessage; waitingBarrier
// below orders the test after that round trip.

import { afterEach, describe, expect, test } from "vitest";
import type { OmnistockEngine } from "../src/engine/engine.js";
import { startTestEngine, type TestEngine } from "./support/engine.js";
import { StreamClient, eventually, expectConsecutive, expectedFor, metric, ok, settledSeq, type Message } from "./support/stream-client.js";

/** Stream messages retained for replays: a `since` of 1 is older than this once the prefill has run. */
const RETENTION = 50;
const SKUS = ["A", "B", "C"];
const LOCATIONS = ["L0", "L1", "L2"];

/** The writer's feed releases, held back from holdReleases() until open(). */
interface ReleaseHold {
  /** Makes the oldest release the engine asked for meanwhile (one group commit's messages); false when none is held. */
  releaseOldest(): boolean;
  /** Ends the hold and makes the newest release asked for, if any. */
  open(): void;
}

function holdReleases(engine: OmnistockEngine): ReleaseHold {
  const feed = engine.feed;
  const release = feed.release.bind(feed);
  const asked: number[] = []; // the durable lsn of each release the engine asked for, in order
  let held = true;
  feed.release = (durableLsn: number): void => {
    asked.push(durableLsn);
  };
  return {
    releaseOldest() {
      const lsn = asked.shift();
      if (lsn === undefined) return false;
      release(lsn);
      return true;
    },
    open() {
      if (!held) return;
      held = false;
      Reflect.deleteProperty(feed, "release"); // DeltaFeed.prototype.release again
      if (asked.length > 0) release(Math.max(...asked));
    },
  };
}

/**
 * Stream clients in Mode.Waiting over every thread (omnistock_stream_waiting_clients).
 * Read twice: with HTTP workers, each /metrics round asks every worker over
 * the same port its snapshot request travelled on, so once the first round is
 * answered the writer has taken the snapshot (at the staged seq, as no write
 * ran meanwhile), and once the second is, the worker has received it. On the
 * writer's thread both reads are plain reads of the waiting set.
 */
async function waitingBarrier(url: string): Promise<number> {
  await metric(url, "omnistock_stream_waiting_clients");
  return metric(url, "omnistock_stream_waiting_clients");
}

/**
 * One round of writes, every figure distinct per round: counts at every
 * position, two adjustments, a hold on channel `web`. Every position changes,
 * so a snapshot that took a later round's state would not match the ledger
 * at its seq.
 */
async function writeRound(engine: OmnistockEngine, round: number): Promise<void> {
  await ok(engine.setStock(SKUS.flatMap((sku, s) => LOCATIONS.map((location, l) => ({ sku, location, onHand: 100 * round + 10 * s + l })))));
  await ok(engine.adjustStock([{ sku: "A", location: "L1", delta: -1 }, { sku: "C", location: "L0", delta: 2 }]));
  await ok(engine.hold({ id: `hold-${round}`, channel: "web", lines: [{ sku: "B", location: "L0", qty: 1 }] }));
}

/** A channel and enough rounds that `since: 1` is older than retention. Returns the next round's number. */
async function prefill(engine: OmnistockEngine): Promise<number> {
  await ok(engine.putChannel("web", { locations: ["L0", "L1"], buffer: 1 }));
  let round = 1;
  while (engine.feed.readAfter(1, 1) !== null) await writeRound(engine, round++);
  await settledSeq(engine);
  expect(engine.feed.readAfter(1, 1)).toBeNull();
  return round;
}

type Filter = { skus?: string[]; locations?: string[]; channels?: string[] };

/** What a snapshot for `filter` must hold now: the ledger's figures (snapshot order: positions by SKU then location, then channel figures). */
function ledgerNow(engine: OmnistockEngine, filter: Filter, seq: number): Message[] {
  const out: Message[] = [];
  const skus = filter.skus ?? SKUS;
  for (const sku of skus) {
    for (const location of LOCATIONS) {
      if (filter.locations !== undefined && !filter.locations.includes(location)) continue;
      out.push({ type: "snapshot", seq, ...(engine.availabilityAt(sku, location).body as object) });
    }
  }
  for (const channel of filter.channels ?? []) {
    for (const sku of skus) out.push({ type: "snapshot", seq, channel, sku, available: (engine.availabilityForChannel(sku, channel).body as { available: number }).available });
  }
  return out;
}

/** The client's snapshot entries, without their `ts` (the snapshot's time, not a figure). */
function snapshotEntries(client: StreamClient): Message[] {
  return client.messages.filter((m) => m.type === "snapshot").map(({ ts, ...entry }) => {
    expect(typeof ts).toBe("string");
    return entry;
  });
}

/** Messages after snapshot_end. */
function afterSnapshot(client: StreamClient): Message[] {
  const end = client.messages.findIndex((m) => m.type === "snapshot_end");
  expect(end).toBeGreaterThan(0);
  return client.messages.slice(end + 1);
}

let server: TestEngine | null = null;
let hold: ReleaseHold | null = null;
const clients: StreamClient[] = [];

async function start(): Promise<{ engine: OmnistockEngine; url: string }> {
  server = await startTestEngine({ env: { OMNISTOCK_STREAM_RETENTION: String(RETENTION) } });
  return { engine: server.running.engine, url: server.url };
}

async function open(url: string): Promise<StreamClient> {
  const client = await StreamClient.open(url);
  clients.push(client);
  return client;
}

afterEach(async () => {
  hold?.open(); // a failed test must not leave the engine unable to release (its close waits for durability, not releases)
  hold = null;
  for (const c of clients.splice(0)) c.ws.terminate();
  await server?.close();
  server = null;
});

describe("stream: a reset whose snapshot waits for its seq", () => {
  test("subscribing while writes are durable but unreleased: reset, the snapshot of the ledger at its seq S, snapshot_end, then every matching message after S, gap-free, no duplicate", async () => {
    const { engine, url } = await start();
    let round = await prefill(engine);
    const filter: Filter = { skus: ["A", "B"], channels: ["web"] };
    const witness = await open(url); // unfiltered and live: every message, as released
    witness.subscribe();
    const released = (await witness.subscribed()).seq;
    expect(released).toBe(engine.feed.lastSeq);

    hold = holdReleases(engine);
    await writeRound(engine, round++); // answered (durable), messages staged
    const s = engine.feed.stagedSeq;
    expect(engine.feed.lastSeq).toBe(released);
    expect(s).toBeGreaterThan(released);
    const atS = ledgerNow(engine, filter, s);

    const target = await open(url);
    target.subscribe({ since: 1, ...filter });
    expect(await target.subscribed()).toEqual({ type: "subscribed", seq: released });
    expect(await waitingBarrier(url)).toBe(1);

    // A release that stops short of S (the round's first command only) leaves it waiting.
    expect(hold.releaseOldest()).toBe(true);
    const partly = engine.feed.lastSeq;
    expect(partly).toBeGreaterThan(released);
    expect(partly).toBeLessThan(s);
    await witness.untilSeq(partly);
    expect(await waitingBarrier(url)).toBe(1);

    await writeRound(engine, round++); // staged behind S, also held: the client replays these after its snapshot
    const heldThrough = engine.feed.stagedSeq;
    expect(ledgerNow(engine, filter, s)).not.toEqual(atS); // a snapshot of a later state would show
    expect(await waitingBarrier(url)).toBe(1);
    expect(target.messages.map((m) => m.type)).toEqual(["subscribed"]); // nothing may leave before S is released
    expect(witness.data().at(-1).seq).toBe(partly);

    hold.open(); // partly + 1 … the newest durable seq: it starts the snapshot
    await target.until((ms) => ms.some((m) => m.type === "snapshot_end"), "snapshot_end");
    expect(await waitingBarrier(url)).toBe(0);
    await writeRound(engine, round++); // live
    await writeRound(engine, round++);
    const last = await settledSeq(engine);
    expect(last).toBeGreaterThan(heldThrough);

    await witness.untilSeq(last);
    expectConsecutive(witness.data(), released + 1, last);
    const expected = expectedFor(witness.data(), filter).filter((m) => m.seq > s);
    expect(expected.some((m) => m.seq <= heldThrough)).toBe(true); // some replayed from the feed,
    expect(expected.some((m) => m.seq > heldThrough)).toBe(true); //   some sent live
    expect(new Set(expected.map((m) => m.type))).toEqual(new Set(["delta", "channel"]));
    await target.until((ms) => ms.length >= 3 + atS.length + expected.length, "every matching message");

    const types = target.messages.map((m) => m.type);
    expect(types.slice(0, 2)).toEqual(["subscribed", "reset"]);
    expect(target.messages[1]).toEqual({ type: "reset", seq: s });
    expect(snapshotEntries(target)).toEqual(atS);
    expect(types.slice(2, 2 + atS.length).every((t) => t === "snapshot")).toBe(true);
    expect(target.messages[2 + atS.length]).toEqual({ type: "snapshot_end", seq: s });
    // Values, by seq: exactly the matching messages after S, in order.
    expect(afterSnapshot(target)).toEqual(expected);

    // The snapshot and what followed it end at the ledger's state.
    const keyOf = (m: Message): string => (m.location === undefined ? `${m.channel}:${m.sku}` : `${m.sku}@${m.location}`);
    const newest = new Map<string, Message>();
    for (const m of target.messages) if (m.type === "snapshot" || m.type === "delta" || m.type === "channel") newest.set(keyOf(m), m);
    const now = ledgerNow(engine, filter, 0);
    expect(newest.size).toBe(now.length);
    for (const entry of now) {
      const { type: _type, seq: _seq, ts: _ts, ...figures } = newest.get(keyOf(entry));
      const { type: _t, seq: _s, ...want } = entry;
      expect(figures).toEqual(want);
    }
  });

  test("a client that closes or drops while waiting leaves the waiting set; the release still reaches the live and the waiting clients", async () => {
    const { engine, url } = await start();
    let round = await prefill(engine);
    const live = await open(url);
    live.subscribe();
    const released = (await live.subscribed()).seq;

    hold = holdReleases(engine);
    await writeRound(engine, round++);
    const s = engine.feed.stagedSeq;
    expect(s).toBeGreaterThan(released);
    const stayFilter: Filter = { locations: ["L1"] };
    const atS = ledgerNow(engine, stayFilter, s);

    const stays = await open(url);
    const closes = await open(url);
    const drops = await open(url);
    stays.subscribe({ since: 1, ...stayFilter });
    closes.subscribe({ since: 1 });
    drops.subscribe({ since: 1, skus: ["A"] });
    for (const c of [stays, closes, drops]) expect((await c.subscribed()).seq).toBe(released);
    expect(await waitingBarrier(url)).toBe(3);

    closes.close(); // a close handshake
    await closes.until(() => closes.closeCode !== null, "close").catch(() => undefined);
    expect(closes.closeCode).not.toBeNull();
    drops.ws.terminate(); // the TCP connection just ends
    await eventually(async () => (await metric(url, "omnistock_stream_waiting_clients")) === 1, "1 waiting client");
    await eventually(async () => (await metric(url, "omnistock_stream_clients")) === 2, "2 clients");
    await writeRound(engine, round++); // still held

    hold.open(); // on the writer's thread this runs the stream's feed listener here: it must not throw
    await stays.until((ms) => ms.some((m) => m.type === "snapshot_end"), "snapshot_end");
    expect(await waitingBarrier(url)).toBe(0);
    await writeRound(engine, round++);
    const last = await settledSeq(engine);

    await live.untilSeq(last);
    expectConsecutive(live.data(), released + 1, last);
    const expected = expectedFor(live.data(), stayFilter).filter((m) => m.seq > s);
    await stays.until((ms) => ms.length >= 3 + atS.length + expected.length, "every matching message");
    expect(stays.messages[1]).toEqual({ type: "reset", seq: s });
    expect(snapshotEntries(stays)).toEqual(atS);
    expect(afterSnapshot(stays)).toEqual(expected);
    expect(await metric(url, "omnistock_stream_clients")).toBe(2);
    expect(await metric(url, "omnistock_stream_waiting_clients")).toBe(0);
  });

  test("a waiting client whose filter matches nothing gets reset and snapshot_end at its seq once that seq is released, and nothing else", async () => {
    const { engine, url } = await start();
    let round = await prefill(engine);
    const released = engine.feed.lastSeq;

    hold = holdReleases(engine);
    await writeRound(engine, round++);
    const s = engine.feed.stagedSeq;
    expect(s).toBeGreaterThan(released);
    // The only clients: no live client whose delivery could move them on.
    const empty = await open(url); // an empty array matches nothing
    const unknown = await open(url); // ids that name nothing in the ledger
    empty.subscribe({ since: 1, skus: [] });
    unknown.subscribe({ since: 1, skus: ["no-such-sku"], locations: ["no-such-location"], channels: ["no-such-channel"] });
    for (const c of [empty, unknown]) expect((await c.subscribed()).seq).toBe(released);
    expect(await waitingBarrier(url)).toBe(2);
    await writeRound(engine, round++);
    const heldThrough = engine.feed.stagedSeq;

    hold.open();
    for (const c of [empty, unknown]) await c.until((ms) => ms.some((m) => m.type === "snapshot_end"), "snapshot_end");
    expect(await waitingBarrier(url)).toBe(0);
    await writeRound(engine, round++);
    await settledSeq(engine);
    for (const c of [empty, unknown]) {
      c.subscribe(); // its answer follows every frame sent before it
      const again = await c.subscribed(2);
      expect(again.seq).toBeGreaterThanOrEqual(heldThrough);
      expect(c.messages).toEqual([
        { type: "subscribed", seq: released },
        { type: "reset", seq: s },
        { type: "snapshot_end", seq: s },
        again,
      ]);
    }
  });
});
