// Proves the WebAssembly ledger gives a purged reservation's room back whole
// and exactly: records and cell chains are reused for ids of any length
// (1–128 bytes) and holds of any size (1–100 lines), "full" answers only when
// the kept reservations really fill the pool, and the id table stays correct
// under deletion (backward shift), through snapshots too, and the expiry
// heap keeps its order when a purge takes out a few or most of its entries
// (one at a time, or marked and rebuilt). The reference
// model has no such room to account for; the shared contract
// (ledger-contract.test.ts) covers what both must answer.

import { describe, expect, it } from "vitest";
import { LedgerStatus, type HoldLine } from "../src/ledger/types.js";
import { WasmLedger } from "../src/ledger/wasm-ledger.js";

const NOW = 1_700_000_000_000; // epoch ms
const TTL = 900_000;
const UNLIMITED = 1_000_000;
const FULL = { status: LedgerStatus.LedgerFull, lineIndex: -1 };
const SKUS = Array.from({ length: 100 }, (_, i) => `sku-${i}`);

function stocked(capacities: ConstructorParameters<typeof WasmLedger>[0]): WasmLedger {
  const ledger = new WasmLedger(capacities);
  expect(ledger.setStock(SKUS.map((sku) => ({ sku, location: "loc", onHand: 1_000_000 }))).status).toBe(LedgerStatus.Ok);
  return ledger;
}

function lines(n: number, qty = 1): HoldLine[] {
  return SKUS.slice(0, n).map((sku) => ({ sku, location: "loc", qty }));
}

/** An id of `bytes` bytes (at least n's digits), distinct per n. */
function id(n: number, bytes: number): string {
  return `${n}`.padEnd(bytes, "-");
}

function created(ledger: WasmLedger, rid: string, holdLines: HoldLine[], nowMs = NOW): void {
  expect(ledger.hold(rid, null, holdLines, TTL, nowMs)).toMatchObject({ status: LedgerStatus.Ok, created: true });
}

/** xorshift32, seeded: a failing run prints its seed. */
function rng(seed: number): () => number {
  let s = seed || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

describe("wasm ledger: purged reservations give their room back", () => {
  it("holds 10 × reservationsMax reservations of 128-byte ids and 100 lines on a pool with room for exactly reservationsMax of them", () => {
    const reservationsMax = 4;
    const ledger = stocked({ positionsMax: 200, reservationsMax, reservationCellsMax: reservationsMax * (128 / 8 + 100) });
    let n = 0;
    for (let round = 0; round < 10; round++) {
      const ids = Array.from({ length: reservationsMax }, () => id(n++, 128));
      for (const rid of ids) created(ledger, rid, lines(100), NOW + round);
      expect(ledger.hold("one more", null, lines(1), TTL, NOW + round)).toEqual(FULL);
      for (const rid of ids) expect(ledger.release(rid, NOW + round).status).toBe(LedgerStatus.Ok);
      expect(ledger.purge(NOW + round, 0, UNLIMITED)).toBe(reservationsMax);
    }
    expect(ledger.counts()).toMatchObject({ reservations: 0, reservationsHeld: 0 });
    expect(ledger.readSku("sku-99").locations[0]).toMatchObject({ reserved: 0, available: 1_000_000 });
  });

  it("answers full only when the kept reservations' cells fill the pool, whatever sizes came and went", () => {
    // A pool of 10 cells; a reservation takes ⌈id bytes / 8⌉ + lines.
    const ledger = stocked({ positionsMax: 200, reservationsMax: 100, reservationCellsMax: 10 });
    created(ledger, "A", lines(4)); // 1 + 4
    created(ledger, id(2, 16), lines(3)); // 2 + 3: the pool is full
    expect(ledger.hold("C", null, lines(1), TTL, NOW)).toEqual(FULL);
    ledger.release("A", NOW);
    expect(ledger.hold("C", null, lines(1), TTL, NOW)).toEqual(FULL); // released, still kept
    expect(ledger.purge(NOW, 0, UNLIMITED)).toBe(1);
    created(ledger, id(3, 24), lines(2)); // 3 + 2, another shape in A's five cells
    expect(ledger.hold("D", null, lines(1), TTL, NOW)).toEqual(FULL);
    ledger.release(id(2, 16), NOW);
    ledger.release(id(3, 24), NOW);
    expect(ledger.purge(NOW, 0, UNLIMITED)).toBe(2);
    // Every cell is free again, from two chains: one cell more than the pool does not fit, the whole pool does.
    expect(ledger.hold(id(4, 64), null, lines(3), TTL, NOW)).toEqual(FULL); // 8 + 3
    created(ledger, id(4, 64), lines(2)); // 8 + 2
    expect(ledger.hold("E", null, lines(1), TTL, NOW)).toEqual(FULL);
    expect(ledger.reservation(id(4, 64))?.lines).toEqual(lines(2));
    expect(ledger.counts().reservations).toBe(1);
  });

  it("keeps every other id findable through thousands of deletions (backward shift), and snapshots restore the table", () => {
    const seed = 20261123;
    const random = rng(seed);
    const ledger = stocked({ positionsMax: 200, reservationsMax: 64 });
    const kept = new Map<string, HoldLine[]>();
    const gone = new Set<string>();
    let n = 0;
    for (let step = 0; step < 3000; step++) {
      if (kept.size < 64 && random() < 0.55) {
        const rid = id(n++, 1 + Math.floor(random() * 40));
        const holdLines = lines(1 + Math.floor(random() * 3), 1 + (n % 5));
        created(ledger, rid, holdLines, NOW + step);
        kept.set(rid, holdLines);
        gone.delete(rid);
      } else if (kept.size > 0) {
        const rids = [...kept.keys()];
        const rid = rids[Math.floor(random() * rids.length)];
        ledger.release(rid, NOW + step);
        expect(ledger.purge(NOW + step, 0, UNLIMITED), `seed ${seed} step ${step}`).toBe(1);
        kept.delete(rid);
        gone.add(rid);
      }
      if (step % 100 === 0) {
        for (const [rid, holdLines] of kept) expect(ledger.reservation(rid)?.lines, `seed ${seed} step ${step}: ${rid}`).toEqual(holdLines);
        for (const rid of gone) expect(ledger.reservation(rid), `seed ${seed} step ${step}: ${rid}`).toBeNull();
      }
    }
    expect(ledger.counts().reservations).toBe(kept.size);
    const copy = new WasmLedger({ positionsMax: 200, reservationsMax: 64 });
    copy.loadSnapshot(Buffer.concat(ledger.snapshotParts()));
    expect(copy.stateHash()).toBe(ledger.stateHash());
    for (const [rid, holdLines] of kept) expect(copy.reservation(rid)?.lines).toEqual(holdLines);
  });

  it("restores reservations into a ledger with a larger or smaller reservation capacity (the table is rebuilt, not copied)", () => {
    const ledger = stocked({ positionsMax: 200, reservationsMax: 64 });
    const kept = new Map<string, HoldLine[]>();
    for (let n = 0; n < 40; n++) {
      const rid = id(n, 1 + (n % 30));
      created(ledger, rid, lines(1 + (n % 3)));
      kept.set(rid, lines(1 + (n % 3)));
    }
    for (let n = 0; n < 40; n += 3) {
      const rid = id(n, 1 + (n % 30));
      ledger.release(rid, NOW);
      kept.delete(rid);
    }
    expect(ledger.purge(NOW, 0, UNLIMITED)).toBe(14); // holes in the table: backward shifts moved entries
    const snapshot = Buffer.concat(ledger.snapshotParts());
    for (const reservationsMax of [8192, 48]) {
      const copy = new WasmLedger({ positionsMax: 200, reservationsMax });
      copy.loadSnapshot(snapshot);
      for (const [rid, holdLines] of kept) {
        expect(copy.reservation(rid)?.lines, `${reservationsMax}: ${rid}`).toEqual(holdLines);
        expect(copy.hold(rid, null, holdLines, TTL, NOW), `${reservationsMax}: repeat of ${rid}`).toMatchObject({ status: LedgerStatus.Ok, created: false });
      }
      expect(copy.counts().reservations).toBe(kept.size);
      expect(copy.release(id(1, 2), NOW).status).toBe(LedgerStatus.Ok); // moves find their reservation
    }
  });

  it("keeps the expiry order of the holds still held when purges take a few or most of the heap's entries out (seeded)", () => {
    for (const seed of [7, 20261207, 99]) {
      const random = rng(seed);
      const ledger = stocked({ positionsMax: 200, reservationsMax: 3000 });
      const held: { rid: string; expiresAt: number; n: number }[] = [];
      let n = 0;
      for (let round = 0; round < 4; round++) {
        // Holds with TTLs in no order; a share released and purged before they would expire,
        // from a few (each entry leaves by itself) to nearly all (marked, and the heap rebuilt).
        const share = [0.02, 0.3, 0.9, 0.99][round];
        const batch: { rid: string; expiresAt: number; n: number }[] = [];
        for (let k = 0; k < 600; k++) {
          const rid = id(n, 12);
          const ttl = 1_000 + Math.floor(random() * 50) * 1_000; // ties on purpose
          expect(ledger.hold(rid, null, lines(1), ttl, NOW)).toMatchObject({ status: LedgerStatus.Ok, created: true });
          batch.push({ rid, expiresAt: NOW + ttl, n: n++ });
        }
        for (const h of batch) {
          if (random() < share) {
            expect(ledger.release(h.rid, NOW).status).toBe(LedgerStatus.Ok);
          } else held.push(h);
        }
        ledger.purge(NOW, 0, UNLIMITED);
      }
      held.sort((a, b) => a.expiresAt - b.expiresAt || a.n - b.n);
      // Expire two at a time: each step must take the next two holds in (expiresAt, creation) order.
      let expired = 0;
      while (expired < held.length) {
        const took = ledger.expire(NOW + 1e9, 2);
        expect(took, `seed ${seed}`).toBe(Math.min(2, held.length - expired));
        for (let k = expired; k < expired + took; k++) expect(ledger.reservation(held[k].rid)?.status, `seed ${seed}: ${k}`).toBe("expired");
        if (expired + took < held.length) expect(ledger.reservation(held[expired + took].rid)?.status, `seed ${seed}`).toBe("held");
        expired += took;
      }
    }
  });

  it("takes out exactly the heap entries of what a purge frees when a limit or the retention stops it early", () => {
    // 1,000 holds released at two times, 700 and 300; 24 more still held. The heap keeps every entry
    // (lazy deletion). The ledger checks that each purge takes out the number of entries it counted
    // beforehand; the purges below stop at the limit, at the retention, and take entries exactly at
    // the retention's boundary, one at a time and by marking.
    const ledger = stocked({ positionsMax: 200, reservationsMax: 2000 });
    for (let k = 0; k < 1024; k++) created(ledger, id(k, 10), lines(1));
    for (let k = 0; k < 700; k++) expect(ledger.release(id(k, 10), NOW + 1_000).status).toBe(LedgerStatus.Ok);
    for (let k = 700; k < 1000; k++) expect(ledger.release(id(k, 10), NOW + 5_000).status).toBe(LedgerStatus.Ok);
    // Retention 3 s at NOW + 4 s: the first 700 are due exactly now; a limit of 50 (one at a time) …
    expect(ledger.purge(NOW + 4_000, 3_000, 50)).toBe(50);
    // … then 450 (marked and rebuilt) …
    expect(ledger.purge(NOW + 4_000, 3_000, 450)).toBe(450);
    expect(ledger.reservation(id(499, 10))).toBeNull();
    expect(ledger.reservation(id(500, 10))?.status).toBe("released");
    // … then the retention stops it: 200 due, 300 not yet.
    expect(ledger.purge(NOW + 4_000, 3_000, UNLIMITED)).toBe(200);
    expect(ledger.reservation(id(700, 10))?.status).toBe("released");
    expect(ledger.purge(NOW + 7_999, 3_000, UNLIMITED)).toBe(0);
    expect(ledger.purge(NOW + 8_000, 3_000, UNLIMITED)).toBe(300);
    expect(ledger.counts().reservations).toBe(24);
    // The 24 holds left expire in creation order (equal expiry times), two at a time.
    for (let k = 1000; k < 1024; k += 2) {
      expect(ledger.expire(NOW + TTL, 2)).toBe(2);
      expect(ledger.reservation(id(k + 1, 10))?.status).toBe("expired");
      if (k + 2 < 1024) expect(ledger.reservation(id(k + 2, 10))?.status).toBe("held");
    }
  });
});
