// Proves ledger snapshots of older layouts still load: a layout-2 snapshot
// (made by the layout-2 build, test/fixtures/ledger-layout-2.snap.gz) answers
// every read exactly as a ledger that ran the same commands here, and its
// finished reservations are purged only after the retention counted from the
// first reservation finished after the upgrade; a layout-1 snapshot (layout 2
// without two derived position fields) loads into exactly the state the
// layout-2 one does; a layout-3 snapshot (test/fixtures/ledger-layout-3.snap.gz,
// whose expiry heap held 4-byte indexes) answers every read and goes on
// (expiry order, purges, holds on reused room) exactly as a ledger that ran
// the same commands here; the current layout round-trips byte for byte, free
// lists and purge queue included; any other layout is refused.

import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { WasmLedger } from "../src/ledger/wasm-ledger.js";
import { LAYOUT_CAPACITIES, LOCATIONS, RESERVATION_IDS, SKUS, drive, driveLayout3 } from "./fixtures/ledger-layout-drive.mjs";

const POSITION_BYTES = 48;
const LAYOUT_2_COUNT_FIELDS = 9;
const layout2 = gunzipSync(readFileSync(new URL("./fixtures/ledger-layout-2.snap.gz", import.meta.url)));
const layout3 = gunzipSync(readFileSync(new URL("./fixtures/ledger-layout-3.snap.gz", import.meta.url)));
const LATE_IDS = Array.from({ length: 200 }, (_, i) => `late-${i}`);

/** The snapshot body with another layout number and, for layout 1, bytes 40..47 of every position zeroed. */
function asLayout(body: Buffer, layout: number): Buffer {
  const metaLen = body.readUInt32LE(0);
  const meta = JSON.parse(body.toString("utf8", 4, 4 + metaLen)) as Record<string, unknown>;
  const rest = Buffer.from(body.subarray(4 + metaLen));
  const positionsAt = LAYOUT_2_COUNT_FIELDS * 4; // header counts, then region 0 (positions) with its u32 length
  const positionsLen = rest.readUInt32LE(positionsAt);
  if (layout === 1) {
    for (let at = positionsAt + 4 + 40; at < positionsAt + 4 + positionsLen; at += POSITION_BYTES) rest.fill(0, at, at + 8);
  }
  const newMeta = Buffer.from(JSON.stringify({ ...meta, layout }), "utf8");
  const head = Buffer.alloc(4);
  head.writeUInt32LE(newMeta.length, 0);
  return Buffer.concat([head, newMeta, rest]);
}

function loaded(body: Buffer): WasmLedger {
  const ledger = new WasmLedger(LAYOUT_CAPACITIES);
  ledger.loadSnapshot(body);
  return ledger;
}

/** Everything a client can read about the fixture's ids. */
function reads(ledger: WasmLedger): unknown {
  return {
    skus: SKUS.map((sku) => ledger.readSku(sku)),
    channel: SKUS.map((sku) => ledger.readSkuForChannel(sku, "web")),
    reservations: [...RESERVATION_IDS, ...LATE_IDS].map((id) => ledger.reservation(id)),
    locations: ledger.listLocations(),
    channels: ledger.listChannels(),
    counts: ledger.counts(),
  };
}

describe("ledger snapshot layouts", () => {
  const fresh = new WasmLedger(LAYOUT_CAPACITIES);
  drive(fresh);

  it("loads a layout-2 snapshot into the reads of the same commands run here", () => {
    const upgraded = loaded(layout2);
    expect(reads(upgraded)).toEqual(reads(fresh));
    expect(upgraded.counts()).toMatchObject({ positions: 900, reservations: 500, reservationsHeld: 110 });
    expect(upgraded.availableAt(SKUS[299], LOCATIONS[0])).toBe(fresh.availableAt(SKUS[299], LOCATIONS[0]));
  });

  it("goes on from a layout-2 snapshot like the ledger that ran the commands: holds, moves, expiry", () => {
    const upgraded = loaded(layout2);
    const lines = [{ sku: SKUS[5], location: "a", qty: 2 }];
    for (const ledger of [upgraded, fresh]) ledger.expire(10_000, 1_000_000); // the holds still held
    for (const ledger of [upgraded, fresh]) {
      expect(ledger.hold("after-upgrade", null, lines, 1_000, 10_000)).toMatchObject({ status: 0, created: true });
      expect(ledger.hold(RESERVATION_IDS[3], null, lines, 1_000, 10_000)).toMatchObject({ status: 4 }); // released: a conflict, not a new hold
    }
    expect(reads(upgraded)).toEqual(reads(fresh));
  });

  it("purges a layout-2 snapshot's finished reservations only after the retention from the first finish after it", () => {
    const upgraded = loaded(layout2);
    const finished = RESERVATION_IDS.filter((id) => ["released", "expired", "fulfilled"].includes(upgraded.reservation(id)?.status ?? ""));
    expect(finished.length).toBeGreaterThan(200);
    // Their finishing time is unknown: nothing is due, however late, until a reservation finishes after the upgrade.
    expect(upgraded.purge(1e15, 0, 1_000_000)).toBe(0);
    const [held, later] = RESERVATION_IDS.filter((id) => upgraded.reservation(id)?.status === "held");
    expect(upgraded.release(held, 500).status).toBe(0);
    expect(upgraded.release(later, 800).status).toBe(0); // past the prefix, due at its own time
    expect(upgraded.purge(1_499, 1_000, 1_000_000)).toBe(0);
    expect(upgraded.purge(1_500, 1_000, 10)).toBe(10); // the limit holds for the legacy ones too
    expect(upgraded.purge(1_500, 1_000, 1_000_000)).toBe(finished.length + 1 - 10);
    for (const id of [...finished, held]) expect(upgraded.reservation(id)).toBeNull();
    expect(upgraded.reservation(later)?.status).toBe("released");
    expect(upgraded.purge(1_799, 1_000, 1_000_000)).toBe(0);
    expect(upgraded.purge(1_800, 1_000, 1_000_000)).toBe(1);
    expect(upgraded.counts().reservations).toBe(500 - finished.length - 2);
    // A purged id is new again; the committed and held ones are untouched.
    expect(upgraded.hold(finished[0], null, [{ sku: SKUS[1], location: "a", qty: 1 }], 1_000, 60_000)).toMatchObject({ status: 0, created: true });
    expect(RESERVATION_IDS.filter((id) => upgraded.reservation(id)?.status === "committed").length).toBe(
      RESERVATION_IDS.filter((id) => fresh.reservation(id)?.status === "committed").length,
    );
  });

  it("loads a layout-1 snapshot into exactly the state the layout-2 one loads into", () => {
    expect(loaded(asLayout(layout2, 1)).stateHash()).toBe(loaded(layout2).stateHash());
  });

  it("round-trips the current layout, free lists and purge queue included, also after an upgrade", () => {
    const ledger = new WasmLedger(LAYOUT_CAPACITIES);
    drive(ledger);
    expect(ledger.purge(1_500, 0, 100)).toBe(100); // some records and cells are free now, some finished still queued
    drive(ledger); // the purged ids are held again, on reused records and cells
    for (const source of [ledger, loaded(layout2)]) {
      const copy = loaded(Buffer.concat(source.snapshotParts()));
      expect(copy.stateHash()).toBe(source.stateHash());
      // And both go on identically: the purge queue, the free lists, the reused slots.
      for (const l of [source, copy]) {
        l.release(RESERVATION_IDS[2], 2_000);
        l.purge(1e15, 0, 1_000_000);
        drive(l);
      }
      expect(copy.stateHash()).toBe(source.stateHash());
    }
  });

  it("loads a layout-3 snapshot into the reads of the same commands run here, and goes on alike: expiry in order, purges, reused room", () => {
    const here = new WasmLedger(LAYOUT_CAPACITIES);
    driveLayout3(here);
    const upgraded = loaded(layout3);
    expect(reads(upgraded)).toEqual(reads(here));
    expect(upgraded.counts()).toMatchObject({ reservations: 700, reservationsHeld: 223 });
    const expiredIn = (ledger: WasmLedger): string[][] => {
      // Expiry a few at a time: which holds each step takes shows the heap's order, ties included.
      const ids = [...RESERVATION_IDS, ...LATE_IDS];
      const steps: string[][] = [];
      for (let now = 1_000; now <= 2_500; now += 25) {
        ledger.expire(now, 3);
        steps.push(ids.filter((id) => ledger.reservation(id)?.status === "expired"));
      }
      return steps;
    };
    expect(expiredIn(upgraded)).toEqual(expiredIn(here));
    for (const ledger of [upgraded, here]) {
      expect(ledger.purge(10_000, 0, 150)).toBe(150);
      driveLayout3(ledger);
      ledger.expire(1e9, 1_000_000);
    }
    expect(reads(upgraded)).toEqual(reads(here));
    expect(upgraded.counts()).toEqual(here.counts());
  });

  it("refuses a layout-3 snapshot whose heap count exceeds its reservations, instead of writing entries past the heap", () => {
    const body = Buffer.from(layout3);
    const countsAt = 4 + body.readUInt32LE(0);
    const H_HEAP_COUNT = 6; // the heap's place among the header counts (src/ledger/snapshot-layouts.ts)
    body.writeUInt32LE(5_000, countsAt + 4 * H_HEAP_COUNT);
    expect(() => loaded(body)).toThrow(/more entries than reservations/);
  });

  it("refuses a layout it cannot read", () => {
    expect(() => loaded(asLayout(layout2, 99))).toThrow(/layout 99/);
  });
});
