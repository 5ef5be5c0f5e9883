// Proves the engine is deterministic and durable in-process: replaying the
// journal (with or without a snapshot) rebuilds byte-identical ledger state,
// and expiry and purges stamped with the writer's clock replay the same way,
// also when purged records, cells and table slots were reused.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { OmnistockEngine, type EngineOptions } from "../src/engine/engine.js";
import { reservationsPurged } from "../src/metrics.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A data directory of its own, removed after the test. */
function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "omnistock-recovery-"));
  dirs.push(dir);
  return dir;
}

function newEngine(dataDir: string, clock: () => number, options: Partial<EngineOptions> = {}): OmnistockEngine {
  return new OmnistockEngine({
    dataDir, positionsMax: 10_000, reservationsMax: 10_000, snapshotEveryRecords: 1_000_000,
    expiryIntervalMs: 1000, clock, log: () => undefined, ...options,
  });
}

/** Few reservations, kept briefly once finished: the workload's sweeps purge, and its holds reuse the room. */
const PURGING: Partial<EngineOptions> = { reservationsMax: 48, reservationRetentionMs: 1_500 };

async function purgedSoFar(): Promise<number> {
  return (await reservationsPurged.get()).values[0]?.value ?? 0;
}

function sweep(engine: OmnistockEngine): void {
  (engine as unknown as { sweep(): void }).sweep();
}

// A small seeded generator so a failure can be reproduced from the printed seed.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function workload(engine: OmnistockEngine, seed: number, steps: number, clock: { now: number }, midway?: () => Promise<void>): Promise<void> {
  const random = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
  const skus = ["A", "B", "C", "Ж-1", "x.y*z"];
  const locations = ["s1", "s2", "dc"];
  await engine.putChannel("web", { locations: ["s1", "dc"], buffer: 1 });
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < steps; i++) {
    clock.now += Math.floor(random() * 400);
    const r = random();
    if (r < 0.2) pending.push(engine.setStock([{ sku: pick(skus), location: pick(locations), onHand: Math.floor(random() * 50) }]));
    else if (r < 0.35) pending.push(engine.adjustStock([{ sku: pick(skus), location: pick(locations), delta: Math.floor(random() * 20) - 8 }]));
    else if (r < 0.6) {
      pending.push(engine.hold({
        id: `r${Math.floor(random() * steps)}`, channel: random() < 0.3 ? "web" : undefined, ttlSeconds: 1 + Math.floor(random() * 3),
        lines: [{ sku: pick(skus), location: pick(locations), qty: 1 + Math.floor(random() * 3) }],
      }));
    } else if (r < 0.8) pending.push(engine.move(`r${Math.floor(random() * steps)}`, pick(["commit", "release", "fulfill"] as const)));
    else if (r < 0.85) pending.push(engine.putLocation(pick(locations), { enabled: random() < 0.8, safetyStock: Math.floor(random() * 3) }));
    else sweep(engine);
    if (midway && i === Math.floor(steps / 2)) {
      await Promise.all(pending);
      await midway();
    }
  }
  await Promise.all(pending);
}

describe("engine recovery", () => {
  // Seeds 4 and 5 run a tiny ledger with a short retention: purges and reused room in the journal.
  const replays: { seed: number; options: Partial<EngineOptions> }[] = [
    { seed: 1, options: {} }, { seed: 2, options: {} }, { seed: 3, options: {} },
    { seed: 4, options: PURGING }, { seed: 5, options: PURGING },
  ];
  for (const { seed, options } of replays) {
    const purging = options === PURGING;
    it(`replays the journal into identical state (seed ${seed}${purging ? ", with purges and reused room" : ""})`, async () => {
      const dataDir = freshDataDir();
      const clock = { now: 1_700_000_000_000 };
      const live = newEngine(dataDir, () => clock.now, options);
      await live.recover();
      const purgedBefore = await purgedSoFar();
      await workload(live, seed, 1500, clock);
      if (purging) expect(await purgedSoFar() - purgedBefore).toBeGreaterThan(48); // more than the capacity: records were reused
      const liveHash = live.ledgerView.stateHash();
      const liveCounts = live.ledgerView.counts();
      await live.close();

      const replayed = newEngine(dataDir, () => clock.now, options);
      const report = await replayed.recover();
      expect(report.replayedRecords).toBeGreaterThan(100);
      expect(replayed.ledgerView.counts()).toEqual(liveCounts);
      expect(replayed.ledgerView.stateHash()).toBe(liveHash);
      await replayed.close();
    });
  }

  it("recovers from a snapshot plus the journal tail into identical state", async () => {
    const dataDir = freshDataDir();
    const clock = { now: 1_700_000_000_000 };
    const live = newEngine(dataDir, () => clock.now);
    await live.recover();
    await workload(live, 7, 2000, clock, () => live.snapshotNow());
    const liveHash = live.ledgerView.stateHash();
    await live.close();

    const replayed = newEngine(dataDir, () => clock.now);
    const report = await replayed.recover();
    expect(report.snapshotLsn).toBeGreaterThan(0);
    expect(replayed.ledgerView.stateHash()).toBe(liveHash);
    // The replayed engine goes on from the same point: a new write lands on the next lsn.
    const reply = await replayed.setStock([{ sku: "after", location: "s1", onHand: 3 }]);
    expect(reply.status).toBe(200);
    await replayed.close();
    const again = newEngine(dataDir, () => clock.now);
    await again.recover();
    const figures = { available: 0, onHand: 0, reserved: 0, committed: 0, safetyStock: 0, shortfall: 0, version: 0 };
    again.ledgerView.readPosition("after", "s1", figures);
    expect(figures.onHand).toBe(3);
    await again.close();
  });

  it("recovers from a snapshot plus a journal tail, both with purges, into identical state", async () => {
    const dataDir = freshDataDir();
    const clock = { now: 1_700_000_000_000 };
    const live = newEngine(dataDir, () => clock.now, PURGING);
    await live.recover();
    const purgedBefore = await purgedSoFar();
    let purgedAtSnapshot = 0;
    await workload(live, 8, 2000, clock, async () => {
      purgedAtSnapshot = await purgedSoFar();
      await live.snapshotNow();
    });
    expect(purgedAtSnapshot - purgedBefore).toBeGreaterThan(0);
    expect(await purgedSoFar() - purgedAtSnapshot).toBeGreaterThan(0);
    const liveHash = live.ledgerView.stateHash();
    await live.close();

    const replayed = newEngine(dataDir, () => clock.now, PURGING);
    const report = await replayed.recover();
    expect(report.snapshotLsn).toBeGreaterThan(0);
    expect(replayed.ledgerView.stateHash()).toBe(liveHash);
    await replayed.close();
  });

  it("keeps a purged reservation purged after a restart, and its id takes a new hold", async () => {
    const dataDir = freshDataDir();
    const clock = { now: 1_700_000_000_000 };
    const live = newEngine(dataDir, () => clock.now, { reservationRetentionMs: 60_000 });
    await live.recover();
    await live.setStock([{ sku: "A", location: "s1", onHand: 5 }]);
    expect((await live.hold({ id: "h1", lines: [{ sku: "A", location: "s1", qty: 2 }] })).status).toBe(201);
    expect((await live.move("h1", "release")).status).toBe(200);
    clock.now += 59_999;
    sweep(live);
    expect(live.getReservation("h1").status).toBe(200);
    clock.now += 1;
    sweep(live);
    await live.setStock([{ sku: "A", location: "s2", onHand: 1 }]); // waits for the purge record too
    expect(live.getReservation("h1").status).toBe(404);
    await live.close();

    const replayed = newEngine(dataDir, () => clock.now, { reservationRetentionMs: 60_000 });
    await replayed.recover();
    expect(replayed.getReservation("h1").status).toBe(404);
    expect(replayed.ledgerView.counts().reservations).toBe(0);
    const again = await replayed.hold({ id: "h1", lines: [{ sku: "A", location: "s1", qty: 1 }] });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ id: "h1", status: "held", lines: [{ sku: "A", location: "s1", qty: 1 }] });
    await replayed.close();
  });

  it("expires holds on replay exactly as the writer's clock did", async () => {
    const dataDir = freshDataDir();
    const clock = { now: 1_700_000_000_000 };
    const live = newEngine(dataDir, () => clock.now);
    await live.recover();
    await live.setStock([{ sku: "A", location: "s1", onHand: 5 }]);
    expect((await live.hold({ id: "h1", ttlSeconds: 1, lines: [{ sku: "A", location: "s1", qty: 2 }] })).status).toBe(201);
    clock.now += 1500;
    (live as unknown as { sweep(): void }).sweep();
    await live.setStock([{ sku: "A", location: "s2", onHand: 1 }]); // waits for the expiry record too
    expect((live.getReservation("h1").body as { status: string }).status).toBe("expired");
    await live.close();
    const replayed = newEngine(dataDir, () => clock.now);
    await replayed.recover();
    expect((replayed.getReservation("h1").body as { status: string }).status).toBe("expired");
    expect((replayed.availabilityAt("A", "s1").body as { reserved: number }).reserved).toBe(0);
    expect((await replayed.move("h1", "commit")).status).toBe(410);
    await replayed.close();
  });
});
