// Proves the delta feed at the engine: every change yields one delta with a
// global, gap-free seq; channel figures yield channel messages when they move;
// messages leave only after durability; and after a restart the retained
// messages and the seq are the same (replay regenerates, never repeats or skips).

import { cpSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { OmnistockEngine } from "../src/engine/engine.js";
import { Packr } from "msgpackr";
import { readJournal } from "../src/journal/journal.js";
import type { StreamMessage } from "../src/stream/messages.js";

const packr = new Packr({ useRecords: false, moreTypes: false });

const dirs: string[] = [];
/** A new data directory, removed after the test. */
function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "omnistock-feed-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const NOON = Date.UTC(2026, 10, 23, 12, 0, 0);

// Messages leave in the event-loop turn after the write's answer.
const released = (): Promise<void> => new Promise((r) => setImmediate(r));

function engineAt(dataDir: string, clock: { now: number }, extra: object = {}): OmnistockEngine {
  return new OmnistockEngine({
    dataDir, positionsMax: 10_000, reservationsMax: 10_000, snapshotEveryRecords: 1_000_000, expiryIntervalMs: 1000,
    clock: () => clock.now, log: () => undefined, ...extra,
  });
}

describe("delta feed", () => {
  it("under writes that never pause, released messages are not kept: the feed's staging holds only what awaits durability", async () => {
    const dataDir = freshDataDir();
    const engine = engineAt(dataDir, { now: NOON });
    await engine.recover();
    let received = 0;
    engine.feed.subscribe((batch) => (received += batch.length));
    // Each write is staged before the previous write's messages are released
    // (they leave in the event-loop turn after its answer), so staging is
    // never empty at a release: the case that used to keep every released
    // message referenced forever (a leak of ~230 B a delta).
    const feed = (engine.feed as unknown as { stagedLsns: unknown[]; stagedMessages: unknown[]; staged: { length: number } });
    let stagedMost = 0;
    let stagedBytesMost = 0;
    for (let round = 0; round < 200; round++) {
      const items = Array.from({ length: 100 }, (_, i) => ({ sku: `S${i}`, location: "L1", onHand: round + 1 }));
      await engine.setStock(items);
      stagedMost = Math.max(stagedMost, feed.stagedLsns.length, feed.stagedMessages.length);
      stagedBytesMost = Math.max(stagedBytesMost, feed.staged.length);
    }
    await released();
    expect(received).toBe(20_000);
    expect(stagedMost).toBeLessThan(10_000); // of 20,000 released: the released head is dropped on the way
    expect(stagedBytesMost).toBeLessThan(10_000 * 120); // and so are their bytes (a message here is ~100 bytes)
    await engine.close();
  });

  it("with no listener, releases every message from its compacted bytes intact, wakes onRelease readers without building objects, and gives back a burst's buffer", async () => {
    const dataDir = freshDataDir();
    const engine = engineAt(dataDir, { now: NOON });
    await engine.recover();
    const feed = engine.feed as unknown as { stagedMessages: unknown[]; staged: { buffer: Buffer; length: number } };
    let wakes = 0;
    let objectsBuilt = 0;
    engine.feed.onRelease(() => wakes++);
    for (let round = 0; round < 200; round++) {
      // Staged before the previous round's release: compaction (dropFront) runs on the way.
      await engine.setStock(Array.from({ length: 100 }, (_, i) => ({ sku: `S${i}`, location: "L1", onHand: round + 1 })));
      objectsBuilt += feed.stagedMessages.filter((m) => m !== null).length;
    }
    await released();
    expect(objectsBuilt).toBe(0);
    expect(wakes).toBeGreaterThan(0);
    let seq = 0;
    while (seq < 20_000) {
      const batch = engine.feed.readAfter(seq, 5000)!;
      for (const m of batch) {
        seq++;
        expect(m).toMatchObject({ type: "delta", seq, sku: `S${(seq - 1) % 100}`, location: "L1", onHand: Math.ceil(seq / 100), version: Math.ceil(seq / 100) });
      }
      if (batch.length === 0) break;
    }
    expect(seq).toBe(20_000);
    // A burst far above the kept size: its buffer goes once everything is released.
    await engine.setStock(Array.from({ length: 10_000 }, (_, i) => ({ sku: `B${i}`, location: "L1", onHand: 1 })));
    await released();
    expect(feed.staged.length).toBe(0);
    expect(feed.staged.buffer.length).toBeLessThanOrEqual(1024 * 1024);
    await engine.close();
  });

  it("writes a delta straight from the ledger as the same bytes as its message object, and builds the object when a listener comes late", async () => {
    const dataDir = freshDataDir();
    const engine = engineAt(dataDir, { now: NOON });
    await engine.recover();
    await engine.putChannel("web", { buffer: 1 });
    const ids = ["tee", "тест-ÿ-😀", "a\"b\\c", "x".repeat(128), "s p/a%c.e*>"];
    // No listener while these are staged: the feed keeps only their bytes.
    await engine.setStock(ids.map((sku, i) => ({ sku, location: ids[(i + 1) % ids.length].slice(0, 64), onHand: 10 + i })));
    const late: StreamMessage[] = [];
    engine.feed.subscribe((batch) => late.push(...batch)); // before the release, after the staging
    await released();
    const fromDisk = engine.feed.readAfter(0, 100)!;
    expect(late.length).toBe(10); // 5 deltas, 5 channel figures
    expect(late).toEqual(fromDisk);
    const expected = ids.map((sku, i) => ({
      type: "delta", sku, location: ids[(i + 1) % ids.length].slice(0, 64), available: 10 + i, onHand: 10 + i, reserved: 0,
      committed: 0, safetyStock: 0, shortfall: 0, version: 1, ts: new Date(NOON).toISOString(), seq: i + 1,
    }));
    expect(late.slice(0, 5)).toEqual(expected);
    expect(Object.keys(fromDisk[0])).toEqual(Object.keys(expected[0])); // seq last: clients may read it from the end
    // The bytes themselves, as the feed wrote them from the ledger (writeLedgerDelta) into the delta journal, are msgpackr's.
    await engine.feed.flushDisk(true);
    const written = new Map<number, string>();
    readJournal(engine.feed.directory, 0, (seq, payload) => written.set(seq, Buffer.from(payload).toString("hex")), { readOnly: true });
    for (const m of expected) expect(written.get(m.seq)).toBe(Buffer.from(packr.pack(m)).toString("hex"));
    // With a listener from the start the objects are built as they are staged: the same messages.
    await engine.adjustStock([{ sku: ids[1], location: ids[2], delta: 1 }]);
    await released();
    expect(late.slice(10)).toEqual(engine.feed.readAfter(10, 100));
    expect(late[10]).toMatchObject({ type: "delta", sku: ids[1], location: ids[2], available: 12, seq: 11 });
    expect(Object.keys(late[10])).toEqual(Object.keys(expected[0])); // built for the listener: seq last too
    expect(Object.keys(late[11])).toEqual(["type", "channel", "sku", "available", "ts", "seq"]);
    await engine.close();
  });

  it("emits one delta per changed position and channel messages when a channel figure moves, gap-free", async () => {
    const dataDir = freshDataDir();
    const clock = { now: NOON };
    const engine = engineAt(dataDir, clock);
    await engine.recover();
    const seen: StreamMessage[] = [];
    engine.feed.subscribe((batch) => seen.push(...batch));

    await engine.putChannel("web", { locations: ["s1"], buffer: 2 });

    await released();
    expect(seen).toEqual([]); // no SKU has stock yet: no channel figure moved
    await engine.setStock([{ sku: "A", location: "s1", onHand: 10 }, { sku: "A", location: "s2", onHand: 5 }, { sku: "A", location: "s1", onHand: 10 }]);
    await released();
    expect(seen.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(seen[0]).toEqual({
      type: "delta", seq: 1, sku: "A", location: "s1", available: 10, onHand: 10, reserved: 0, committed: 0,
      safetyStock: 0, shortfall: 0, version: 1, ts: "2026-11-23T12:00:00.000Z",
    });
    expect(seen[1]).toMatchObject({ type: "delta", seq: 2, location: "s2", available: 5, version: 1 });
    expect(seen[2]).toEqual({ type: "channel", seq: 3, channel: "web", sku: "A", available: 8, ts: "2026-11-23T12:00:00.000Z" });

    // A hold at s2 moves s2 but not the web channel (s2 is not one of its locations).
    await engine.hold({ id: "r1", lines: [{ sku: "A", location: "s2", qty: 1 }] });
    await released();
    expect(seen.slice(3)).toEqual([expect.objectContaining({ type: "delta", seq: 4, location: "s2", reserved: 1, available: 4, version: 2 })]);
    // A write that changes nothing emits nothing.
    await engine.setStock([{ sku: "A", location: "s1", onHand: 10 }]);
    await released();
    expect(seen.length).toBe(4);
    // Changing the channel's buffer moves its figure for A.
    await engine.putChannel("web", { buffer: 0 });
    await released();
    expect(seen.slice(4)).toEqual([expect.objectContaining({ type: "channel", seq: 5, channel: "web", sku: "A", available: 10 })]);
    // Disabling s1 moves the position and the channel.
    await engine.putLocation("s1", { enabled: false });
    await released();
    expect(seen.slice(5).map((m) => [m.type, m.seq, m.available])).toEqual([["delta", 6, 0], ["channel", 7, 0]]);
    expect(engine.feed.lastSeq).toBe(7);
    await engine.close();
  });

  it("keeps seq and retained messages across a restart, with or without a snapshot", async () => {
    const dataDir = freshDataDir();
    const clock = { now: NOON };
    const engine = engineAt(dataDir, clock);
    await engine.recover();
    const live: StreamMessage[] = [];
    engine.feed.subscribe((batch) => live.push(...batch));
    for (let i = 0; i < 50; i++) {
      clock.now += 10;
      await engine.adjustStock([{ sku: `S${i % 7}`, location: "s1", delta: 3 }]);
      await released();
      if (i === 20) await engine.snapshotNow();
    }
    expect(live.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    await engine.close();

    const again = engineAt(dataDir, clock);
    await again.recover();
    expect(again.feed.lastSeq).toBe(50);
    expect(again.feed.readAfter(0, 1000)).toEqual(live);
    expect(again.feed.readAfter(45, 1000)).toEqual(live.slice(45));
    const next: StreamMessage[] = [];
    again.feed.subscribe((batch) => next.push(...batch));
    await again.adjustStock([{ sku: "S0", location: "s1", delta: 1 }]);
    await released();
    expect(next.map((m) => m.seq)).toEqual([51]);
    await again.close();
  });

  it("numbers the same messages on replay whether it counts them (on disk) or rebuilds them (lost), channels included", async () => {
    const dataDir = freshDataDir();
    const clock = { now: NOON };
    const engine = engineAt(dataDir, clock);
    await engine.recover();
    const live: StreamMessage[] = [];
    engine.feed.subscribe((batch) => live.push(...batch));
    await engine.putChannel("web", { locations: ["s1"], buffer: 2 });
    await engine.putChannel("pos", { buffer: 0 });
    for (let i = 0; i < 40; i++) {
      clock.now += 10;
      await engine.adjustStock([{ sku: `S${i % 5}`, location: i % 2 === 0 ? "s1" : "s2", delta: 1 + (i % 3) }]);
      if (i % 4 === 0) await engine.hold({ id: `h${i}`, lines: [{ sku: `S${i % 5}`, location: "s1", qty: 1 }] });
    }
    await released();
    expect(live.some((m) => m.type === "channel")).toBe(true);
    await engine.close();

    const counted = engineAt(dataDir, clock); // the delta journal is intact: replay only counts
    await counted.recover();
    expect(counted.feed.readAfter(0, 10_000)).toEqual(live);
    await counted.close();

    rmSync(join(dataDir, "deltas"), { recursive: true, force: true }); // lost: replay rebuilds every message
    const rebuilt = engineAt(dataDir, clock);
    await rebuilt.recover();
    expect(rebuilt.feed.lastSeq).toBe(live.length);
    expect(rebuilt.feed.readAfter(0, 10_000)).toEqual(live);
    await rebuilt.close();
  });

  it("restarts the retained messages after the snapshot when they were lost or end before it: seqs stay the journal's lsns, older replays reset", async () => {
    for (const loss of ["deltas/ removed", "deltas/ from before the snapshot"]) {
      const dataDir = freshDataDir();
      const clock = { now: NOON };
      const first = engineAt(dataDir, clock);
      await first.recover();
      for (let i = 0; i < 30; i++) await first.adjustStock([{ sku: `S${i % 5}`, location: "s1", delta: 1 }]);
      await released();
      await first.feed.flushDisk(true);
      await first.close();
      const older = join(dataDir, "deltas-30");
      cpSync(join(dataDir, "deltas"), older, { recursive: true });
      const second = engineAt(dataDir, clock);
      await second.recover();
      for (let i = 0; i < 20; i++) await second.adjustStock([{ sku: `S${i % 5}`, location: "s1", delta: 1 }]);
      await released();
      await second.snapshotNow(); // the snapshot stands at seq 50
      for (let i = 0; i < 5; i++) await second.adjustStock([{ sku: `S${i}`, location: "s2", delta: 1 }]);
      await released();
      const live = second.feed.readAfter(50, 100)!;
      expect(live.map((m) => m.seq), loss).toEqual([51, 52, 53, 54, 55]);
      await second.close();

      rmSync(join(dataDir, "deltas"), { recursive: true, force: true });
      if (loss === "deltas/ from before the snapshot") renameSync(older, join(dataDir, "deltas")); // ends at seq 30
      // Twice: the second start counts what the first one rebuilt.
      for (let start = 0; start < 2; start++) {
        const again = engineAt(dataDir, clock);
        await again.recover();
        expect(again.feed.lastSeq, loss).toBe(55);
        expect(again.feed.oldestSeq, loss).toBe(51);
        expect(again.feed.readAfter(0, 100), loss).toBeNull(); // from before the snapshot: a reset
        expect(again.feed.readAfter(50, 100), `${loss}, start ${start}`).toEqual(live);
        expect(again.feed.readAfter(52, 100)!.map((m) => m.seq), loss).toEqual([53, 54, 55]);
        if (start === 1) {
          await again.adjustStock([{ sku: "S0", location: "s1", delta: 1 }]);
          await released();
          expect(again.feed.readAfter(52, 100)!.map((m) => m.seq), loss).toEqual([53, 54, 55, 56]);
        }
        await again.close();
      }
    }
  });

  it("answers null for a since older than retention, and serves older messages from disk past the memory tail", async () => {
    const dataDir = freshDataDir();
    const clock = { now: 1_700_000_000_000 };
    const engine = engineAt(dataDir, clock, { streamRetention: 1000, streamMemoryTail: 10 });
    await engine.recover();
    for (let i = 0; i < 30; i++) await engine.adjustStock([{ sku: `S${i}`, location: "s1", delta: 1 }]);
    await released();
    await engine.feed.flushDisk();
    const fromDisk = engine.feed.readAfter(5, 100)!;
    expect(fromDisk.map((m) => m.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 6));
    await engine.close();
    const small = engineAt(dataDir, clock, { streamRetention: 10, streamMemoryTail: 10 });
    await small.recover();
    expect(small.feed.readAfter(5, 100)).toBeNull();
    expect(small.feed.readAfter(25, 100)!.map((m) => m.seq)).toEqual([26, 27, 28, 29, 30]);
    await small.close();
  });
});
