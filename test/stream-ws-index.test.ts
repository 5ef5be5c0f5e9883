// Proves the WebSocket stream's fan-out through the filter index (ws-filter-index.ts) against the real engine and server on 127.0.0.1: a client whose filter changes with a second (third, fourth) subscribe gets exactly what its newest filter matches, sku-and-location filters need both (whichever set they are filed under), channel messages reach the clients naming their channel (and sku), and clients sharing a key keep getting theirs when one of them leaves — each in seq order, compared with an unfiltered client's copy through the rule restated independently.

import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import type { OmnistockEngine } from "../src/engine/engine.js";
import { startTestEngine, type TestEngine } from "./support/engine.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Message = any;
interface FilterSpec {
  skus?: string[];
  locations?: string[];
  channels?: string[];
}

const WAIT_MS = 30_000; // a bound for a wait that should end in milliseconds (not a timing assertion)

/** A JSON stream client recording every message. */
class Client {
  readonly messages: Message[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => this.messages.push(JSON.parse(data.toString("utf8"))));
  }

  static open(base: string): Promise<Client> {
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/v1/stream`);
    const client = new Client(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(client));
      ws.once("error", reject);
    });
  }

  /** Subscribes and waits for the n-th `subscribed` (n counts this one). */
  async subscribe(filter: FilterSpec): Promise<void> {
    const n = this.messages.filter((m) => m.type === "subscribed").length + 1;
    this.ws.send(JSON.stringify({ op: "subscribe", ...filter }));
    await this.until(() => this.messages.filter((m) => m.type === "subscribed").length >= n, "subscribed");
  }

  async until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${this.messages.length} messages`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Data messages with seq in [from, to]. */
  between(from: number, to: number): Message[] {
    return this.messages.filter((m) => (m.type === "delta" || m.type === "channel") && m.seq >= from && m.seq <= to);
  }
}

/** The subscription rule of ws-subscription.ts, restated independently. */
function expectedFor(all: Message[], f: FilterSpec): Message[] {
  const open = f.skus === undefined && f.locations === undefined && f.channels === undefined;
  return all.filter((m) => {
    if (open) return true;
    if (m.type === "delta") return (f.skus === undefined || f.skus.includes(m.sku)) && (f.locations === undefined || f.locations.includes(m.location));
    return f.channels !== undefined && f.channels.includes(m.channel) && (f.skus === undefined || f.skus.includes(m.sku));
  });
}

async function ok<T extends { status: number }>(reply: Promise<T>): Promise<T> {
  const r = await reply;
  if (r.status >= 300) throw new Error(`engine answered ${r.status}: ${JSON.stringify(r)}`);
  return r;
}

/** Messages leave in the turn after their writes' answers: read the newest seq once that turn has run. */
async function settledSeq(engine: OmnistockEngine): Promise<number> {
  await new Promise((r) => setImmediate(r));
  return engine.feed.lastSeq;
}

const SKUS = ["IA", "IB", "IC", "ID"];
const LOCATIONS = ["x1", "x2", "x3"];

describe("stream fan-out through the filter index", () => {
  let server: TestEngine;
  let engine: OmnistockEngine;
  let reference: Client; // unfiltered: every message
  const opened: Client[] = [];
  let round = 0;

  const open = async (): Promise<Client> => {
    const c = await Client.open(server.url);
    opened.push(c);
    return c;
  };

  /** One write round: every SKU at every location, a move, and a hold on the web channel; returns its seq range. */
  const writeRound = async (): Promise<[number, number]> => {
    const from = (await settledSeq(engine)) + 1;
    round++;
    await ok(engine.setStock(SKUS.flatMap((sku) => LOCATIONS.map((location) => ({ sku, location, onHand: 100 + round })))));
    await ok(engine.adjustStock([{ sku: "IB", location: "x2", delta: -1 }]));
    await ok(engine.hold({ id: `index-hold-${round}`, channel: "web", lines: [{ sku: "IA", location: "x1", qty: 1 }] }));
    const to = await settledSeq(engine);
    await reference.until(() => reference.between(to, to).length === 1, `reference at ${to}`);
    return [from, to];
  };

  /** Waits until `c` has everything `filter` matches in [from, to], then checks it got exactly that, in seq order. */
  const expectExactly = async (c: Client, filter: FilterSpec, [from, to]: [number, number]): Promise<void> => {
    const expected = expectedFor(reference.between(from, to), filter);
    await c.until(() => c.between(from, to).length >= expected.length, `${JSON.stringify(filter)}: ${expected.length} messages`);
    await new Promise((r) => setTimeout(r, 20)); // anything extra would have arrived by now
    expect(c.between(from, to), JSON.stringify(filter)).toEqual(expected);
  };

  beforeAll(async () => {
    server = await startTestEngine();
    engine = server.running.engine;
    await ok(engine.putChannel("web", { locations: ["x1", "x2"] }));
    await ok(engine.putChannel("pos", { locations: ["x3"] }));
    reference = await Client.open(server.url);
    await reference.subscribe({});
  });
  afterEach(() => {
    for (const c of opened.splice(0)) c.ws.terminate();
  });
  afterAll(async () => {
    reference.ws.terminate();
    await server.close();
  });

  test("a client whose filter changes with each subscribe gets exactly what the newest one matches", async () => {
    const c = await open();
    const filters: FilterSpec[] = [
      { skus: ["IA"] },
      { locations: ["x2"] },
      { skus: ["IA", "IB"], locations: ["x1"] },
      {},
      { channels: ["web"] },
      { skus: ["IC"] },
      { skus: [] },
    ];
    for (const filter of filters) {
      await c.subscribe(filter);
      const range = await writeRound();
      await expectExactly(c, filter, range);
    }
    // Back to a filter used before: filed again, nothing left over from the others.
    await c.subscribe({ skus: ["IA"] });
    const range = await writeRound();
    await expectExactly(c, { skus: ["IA"] }, range);
  });

  test("skus and locations together: both must match, however many of each", async () => {
    const filters: FilterSpec[] = [
      { skus: ["IA"], locations: ["x1", "x2"] }, // fewer skus
      { skus: ["IA", "IB", "IC"], locations: ["x2"] }, // fewer locations
      { skus: ["IB", "ID"], locations: ["x2", "x3"] }, // as many of each
      { skus: ["IA"], locations: [] }, // empty: nothing
      { skus: ["IA", "IB"], locations: ["x1"], channels: ["web"] }, // with channel figures of IA and IB
    ];
    const subs = await Promise.all(filters.map(() => open()));
    for (let i = 0; i < filters.length; i++) await subs[i].subscribe(filters[i]);
    const range = await writeRound();
    for (let i = 0; i < filters.length; i++) await expectExactly(subs[i], filters[i], range);
  });

  test("channel messages go to the clients naming their channel, and their sku when skus are given", async () => {
    const filters: FilterSpec[] = [
      { channels: ["web"] }, // every delta too: skus and locations absent
      { channels: ["web", "pos"], skus: ["IA"] }, // filed by sku (fewer skus than channels)
      { channels: ["web"], skus: ["IA", "IB", "IC"] }, // filed by channel
      { channels: ["pos"], locations: [] }, // channel figures only
      { channels: ["app"] }, // a channel nothing changes
      { skus: ["IA"] }, // no channels: no channel messages
    ];
    const subs = await Promise.all(filters.map(() => open()));
    for (let i = 0; i < filters.length; i++) await subs[i].subscribe(filters[i]);
    const range = await writeRound();
    const all = reference.between(...range);
    expect(all.some((m) => m.type === "channel" && m.channel === "web")).toBe(true);
    expect(all.some((m) => m.type === "channel" && m.channel === "pos")).toBe(true);
    for (let i = 0; i < filters.length; i++) await expectExactly(subs[i], filters[i], range);
  });

  test("clients sharing a key keep getting theirs when one of them disconnects or changes filter", async () => {
    const filter: FilterSpec = { skus: ["IB"] };
    const subs = await Promise.all([0, 1, 2, 3].map(() => open()));
    for (const c of subs) await c.subscribe(filter);
    subs[1].ws.terminate();
    await subs[2].subscribe({ locations: ["x3"] });
    await new Promise((r) => setTimeout(r, 20)); // the server sees the close
    const range = await writeRound();
    await expectExactly(subs[0], filter, range);
    await expectExactly(subs[2], { locations: ["x3"] }, range);
    await expectExactly(subs[3], filter, range);
  });
});
