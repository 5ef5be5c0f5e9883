// The pieces behind OMNISTOCK_WORKERS: the SharedArrayBuffer command ring
// (order, wrap-around, fragments, a full ring, another thread at the other
// end), the shared stream tail (eviction, reads from another thread), and an
// engine with two HTTP worker threads (metrics summed over the threads,
// shutdown). The whole HTTP and stream suites also run against worker threads
// (vitest.config.ts, project http-workers).

import { rmSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RingConsumer, RingProducer, createRing } from "../src/threads/ring.js";
import { SharedTail } from "../src/stream/shared-tail.js";
import { MirrorFeed } from "../src/threads/mirror-feed.js";
import type { StreamMessage } from "../src/stream/messages.js";
import { startTestEngine, type TestEngine } from "./support/engine.js";
import { loadConfig, workersDefault } from "../src/config.js";
import { OmnistockEngine } from "../src/engine/engine.js";

const DIST_RING = new URL("../dist/src/threads/ring.js", import.meta.url).href;
const DIST_TAIL = new URL("../dist/src/stream/shared-tail.js", import.meta.url).href;

function bytesOf(i: number, length: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let k = 0; k < length; k++) b[k] = (i * 31 + k) & 0xff;
  return b;
}

function drainAll(consumer: RingConsumer): Buffer[] {
  const out: Buffer[] = [];
  consumer.drain((m) => out.push(Buffer.from(m)));
  return out;
}

describe("command ring", () => {
  test("messages arrive whole and in order across many wrap-arounds", () => {
    const sab = createRing(4096);
    const producer = new RingProducer(sab);
    const consumer = new RingConsumer(sab);
    const received: Buffer[] = [];
    for (let i = 0; i < 5000; i++) {
      producer.send(bytesOf(i, (i * 7) % 300)); // lengths 0 … 299, not 4-aligned
      if (i % 3 === 0) received.push(...drainAll(consumer));
    }
    received.push(...drainAll(consumer));
    expect(received.length).toBe(5000);
    for (let i = 0; i < 5000; i++) expect(received[i].equals(Buffer.from(bytesOf(i, (i * 7) % 300)))).toBe(true);
    producer.close();
  });

  test("a message larger than a fragment travels in parts and keeps its place", () => {
    const sab = createRing(4096); // fragments of 1020 bytes
    const producer = new RingProducer(sab);
    const consumer = new RingConsumer(sab);
    const big = bytesOf(7, 10_000);
    producer.send(bytesOf(1, 10));
    producer.send(big); // more than the whole ring: parts wait for room
    producer.send(bytesOf(2, 10));
    const received: Buffer[] = [];
    for (let i = 0; i < 50 && received.length < 3; i++) {
      received.push(...drainAll(consumer));
      (producer as unknown as { flushBacklog(): void }).flushBacklog(); // what its retry timer does
    }
    expect(received.map((b) => b.length)).toEqual([10, 10_000, 10]);
    expect(received[1].equals(Buffer.from(big))).toBe(true);
    expect(received[2].equals(Buffer.from(bytesOf(2, 10)))).toBe(true);
    expect(producer.backlogged).toBe(0);
    producer.close();
  });

  test("a full ring keeps the rest in order until the consumer makes room", async () => {
    const sab = createRing(1024);
    const producer = new RingProducer(sab);
    const consumer = new RingConsumer(sab);
    for (let i = 0; i < 100; i++) producer.send(bytesOf(i, 100));
    expect(producer.backlogged).toBeGreaterThan(0);
    const received: Buffer[] = [];
    const deadline = Date.now() + 5000;
    while (received.length < 100 && Date.now() < deadline) {
      received.push(...drainAll(consumer));
      await new Promise((r) => setTimeout(r, 5)); // the producer's retry timer refills
    }
    expect(received.length).toBe(100);
    for (let i = 0; i < 100; i++) expect(received[i][0]).toBe(bytesOf(i, 100)[0]);
    producer.close();
  });

  test("another thread produces 200,000 messages; this one receives every one, in order, through run()", async () => {
    const sab = createRing(1 << 16);
    const consumer = new RingConsumer(sab);
    const worker = new Worker(
      `const { RingProducer } = await import(${JSON.stringify(DIST_RING)});
       const { workerData } = await import("node:worker_threads");
       const p = new RingProducer(workerData);
       const b = Buffer.alloc(12);
       for (let i = 0; i < 200000; i++) { b.writeUInt32LE(i, 0); b.writeUInt32LE(i ^ 0x5a5a5a5a, 4); b.writeUInt32LE(i % 977, 8); p.send(b.subarray(0, 4 + (i % 9))); }
       const wait = () => p.backlogged > 0 ? setTimeout(wait, 1) : p.close();
       wait();`,
      { eval: true, workerData: sab },
    );
    let next = 0;
    let bad = 0;
    const done = new Promise<void>((resolve) => {
      void consumer.run((m) => {
        if (m.length !== 4 + (next % 9) || m.readUInt32LE(0) !== next) bad++;
        if (m.length >= 8 && m.readUInt32LE(4) !== ((next ^ 0x5a5a5a5a) >>> 0)) bad++;
        next++;
        if (next === 200_000) resolve();
      });
    });
    await done;
    consumer.close();
    await worker.terminate();
    expect(bad).toBe(0);
    expect(next).toBe(200_000);
  });
});

function delta(seq: number, sku = `sku-${seq}`): StreamMessage {
  return {
    type: "delta", seq, sku, location: "L1", available: seq, onHand: seq, reserved: 0, committed: 0,
    safetyStock: 0, shortfall: 0, version: seq, ts: "2026-11-23T00:00:00.000Z",
  } as StreamMessage;
}

describe("shared stream tail", () => {
  test("holds the newest messages; older ones read as evicted (null), never as wrong ones", () => {
    const tail = new SharedTail(100);
    for (let seq = 1; seq <= 1000; seq++) tail.push(delta(seq));
    expect(tail.newestSeq).toBe(1000);
    expect(tail.after(0, 10, 1000)).toBeNull(); // seq 1 was evicted
    const last = tail.after(900, 1000, 1000)!;
    expect(last.map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 901 + i));
    expect(last[5]).toEqual(delta(906));
    expect(tail.after(990, 5, 993)!.map((m) => m.seq)).toEqual([991, 992, 993]); // never past upTo
  });

  test("long messages evict by bytes before the slots run out", () => {
    const tail = new SharedTail(16); // 16 slots, 8 KiB of bytes
    const long = "x".repeat(1500);
    for (let seq = 1; seq <= 16; seq++) tail.push(delta(seq, `${long}${seq}`));
    const fromFirst = tail.after(0, 16, 16);
    expect(fromFirst).toBeNull(); // 16 × ~1.6 KB do not fit in 8 KiB
    const newest = tail.after(15, 1, 16)!;
    expect(newest[0].sku).toBe(`${long}16`);
  });

  test("a reader on another thread decodes exactly what the writer pushed while it keeps pushing", async () => {
    const tail = new SharedTail(256);
    const worker = new Worker(
      `const { SharedTail } = await import(${JSON.stringify(DIST_TAIL)});
       const { workerData, parentPort } = await import("node:worker_threads");
       const tail = new SharedTail(256, workerData);
       let checked = 0, wrong = 0, evicted = 0;
       const until = Date.now() + 1500;
       while (Date.now() < until) {
         const newest = tail.newestSeq;
         if (newest < 10) continue;
         const got = tail.after(newest - 200, 200, newest);
         if (got === null) { evicted++; continue; }
         for (const m of got) { checked++; if (m.available !== m.seq || m.sku !== "sku-" + m.seq || m.version !== m.seq) wrong++; }
       }
       parentPort.postMessage({ checked, wrong, evicted });`,
      { eval: true, workerData: tail.buffer },
    );
    const result = new Promise<{ checked: number; wrong: number }>((resolve) => worker.once("message", resolve));
    let seq = 0;
    const started = Date.now();
    while (Date.now() - started < 1700) {
      for (let i = 0; i < 500; i++) tail.push(delta(++seq));
      await new Promise((r) => setImmediate(r));
    }
    const { checked, wrong } = await result;
    await worker.terminate();
    expect(checked).toBeGreaterThan(1000);
    expect(wrong).toBe(0);
  });
});

describe("a worker's mirror of the feed", () => {
  test("decodes nothing without a listener, then hands a new listener every later message once, in order", async () => {
    const tail = new SharedTail(1000);
    const feed = new MirrorFeed(tail.buffer, "/nonexistent"); // every read here is served by the tail
    const until = async (done: () => boolean): Promise<void> => {
      for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 2));
      expect(done()).toBe(true);
    };
    feed.start(0);
    // 0xc1 is never valid msgpack: a follow loop that decoded these for
    // nobody would throw (an unhandled rejection fails the run).
    for (let seq = 1; seq <= 100; seq++) tail.pushEncoded(seq, Uint8Array.of(0xc1));
    tail.wake();
    await new Promise((r) => setTimeout(r, 20));
    expect(feed.lastSeq).toBe(100); // no listener: the tail's newest
    const received: number[] = [];
    const unsubscribe = feed.subscribe((batch) => received.push(...batch.map((m) => m.seq)));
    for (let seq = 101; seq <= 150; seq++) tail.push(delta(seq));
    tail.wake();
    await until(() => feed.lastSeq === 150);
    expect(received).toEqual(Array.from({ length: 50 }, (_, i) => 101 + i));
    expect(feed.readAfter(120, 1000)!.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => 121 + i)); // replays read the tail itself
    unsubscribe();
    feed.stop();
  });
});

describe("an engine with two HTTP worker threads", () => {
  let server: TestEngine;
  beforeAll(async () => {
    server = await startTestEngine({ env: { OMNISTOCK_WORKERS: "2" } });
  });
  afterAll(async () => server.close());

  test("reads on the workers see every acknowledged write; /metrics counts the requests of both threads once", async () => {
    const put = await fetch(`${server.url}/v1/stock`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ items: [{ sku: "T1", location: "L1", onHand: 50 }] }),
    });
    expect(put.status).toBe(200);
    // Many connections: the kernel spreads them over both workers' sockets.
    const answers = await Promise.all(Array.from({ length: 64 }, async (_, i) => {
      const hold = await fetch(`${server.url}/v1/reservations`, {
        method: "POST", headers: { "content-type": "application/json", connection: "close" },
        body: JSON.stringify({ id: `t-${i}`, lines: [{ sku: "T1", location: "L1", qty: 1 }] }),
      });
      const read = await fetch(`${server.url}/v1/availability/T1?location=L1`, { headers: { connection: "close" } });
      return { hold: hold.status, available: ((await read.json()) as { available: number }).available };
    }));
    expect(answers.filter((a) => a.hold === 201).length).toBe(50);
    expect(answers.filter((a) => a.hold === 409).length).toBe(14);
    for (const a of answers) expect(a.available).toBeLessThanOrEqual(50 - 1); // its own hold, at least, was acknowledged
    const final = await (await fetch(`${server.url}/v1/availability/T1?location=L1`)).json() as { available: number; reserved: number };
    expect(final).toMatchObject({ available: 0, reserved: 50 });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const count = (status: string): number => {
      const line = metrics.split("\n").find((l) => l.startsWith(`omnistock_http_requests_total{route="/v1/reservations",status="${status}"}`));
      return line === undefined ? 0 : Number(line.split(" ")[1]);
    };
    expect(count("201")).toBe(50);
    expect(count("409")).toBe(14);
    expect(metrics).toContain("omnistock_process_cpu_seconds_total"); // process metrics once, from the writer's thread
    expect(metrics.match(/^omnistock_ledger_positions \d+/m)?.[0]).toBe("omnistock_ledger_positions 1");
  });

  test("GET reservation, locations and channels go through the writer", async () => {
    const r = await fetch(`${server.url}/v1/reservations/t-0`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { status: string }).status).toBe("held");
    expect((await fetch(`${server.url}/v1/reservations/nope`)).status).toBe(404);
    const locations = (await (await fetch(`${server.url}/v1/locations`)).json()) as { items: { id: string }[] };
    expect(locations.items.map((l) => l.id)).toEqual(["L1"]);
  });
});

describe("graceful shutdown", () => {
  test.each(["0", "2"])("OMNISTOCK_WORKERS=%s: close() with holds in flight: every hold the journal has was acknowledged 201 (none lost its answer)", async (workers) => {
    const server = await startTestEngine({ env: { OMNISTOCK_WORKERS: workers } });
    const url = server.url;
    await fetch(`${url}/v1/stock`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ items: [{ sku: "Z", location: "L1", onHand: 100_000 }] }),
    });
    // 32 clients hold one unit after another until the server stops answering.
    let answered201 = 0;
    const other: number[] = [];
    let next = 0;
    const client = async (): Promise<void> => {
      for (;;) {
        let status: number;
        try {
          const r = await fetch(`${url}/v1/reservations`, {
            method: "POST", headers: { "content-type": "application/json" },
            body: JSON.stringify({ id: `z-${next++}`, lines: [{ sku: "Z", location: "L1", qty: 1 }] }),
          });
          status = r.status;
          await r.arrayBuffer();
        } catch {
          return; // refused or reset: never acknowledged
        }
        if (status === 201) answered201++;
        else {
          other.push(status);
          return;
        }
      }
    };
    const clients = Array.from({ length: 32 }, client);
    await new Promise((r) => setTimeout(r, 300)); // holds in flight all the time now
    await server.running.close();
    await Promise.all(clients);
    // What the journal kept, after a restart on the same data directory:
    const engine = new OmnistockEngine({ dataDir: server.dataDir, positionsMax: 100_000, reservationsMax: 100_000, snapshotEveryRecords: 1_000_000, expiryIntervalMs: 1000, log: () => undefined });
    await engine.recover();
    const held = engine.ledgerView.counts().reservationsHeld;
    await engine.close();
    rmSync(server.dataDir, { recursive: true, force: true });
    expect(answered201).toBeGreaterThan(100);
    expect(other.every((status) => status === 503)).toBe(true);
    expect(held).toBe(answered201); // applied ⇔ acknowledged
  });

  test("close() ends the workers and frees the port", async () => {
    const server = await startTestEngine({ env: { OMNISTOCK_WORKERS: "2" } });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    await server.close();
    await expect(fetch(`${server.url}/readyz`)).rejects.toThrow();
  });
});

describe("OMNISTOCK_WORKERS", () => {
  test("default: none up to 2 cores, else one per core beside the writer, at most 14", () => {
    expect([1, 2, 3, 4, 8, 16, 64].map((cores) => workersDefault(cores))).toEqual([0, 0, 2, 3, 7, 14, 14]);
  });

  test("a value outside 0 … 14 stops the start with a message naming the variable", () => {
    expect(loadConfig({ OMNISTOCK_WORKERS: "3" }).workers).toBe(3);
    expect(loadConfig({ OMNISTOCK_WORKERS: "0" }).workers).toBe(0);
    expect(() => loadConfig({ OMNISTOCK_WORKERS: "15" })).toThrow(/OMNISTOCK_WORKERS/);
    expect(() => loadConfig({ OMNISTOCK_WORKERS: "-1" })).toThrow(/OMNISTOCK_WORKERS/);
    expect(() => loadConfig({ OMNISTOCK_WORKERS: "two" })).toThrow(/OMNISTOCK_WORKERS/);
  });
});
