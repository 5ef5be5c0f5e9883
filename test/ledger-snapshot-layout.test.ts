// Proves a ledger snapshot of layout 1 (position records without the SKU tag
// and id offset at bytes 40..47) still loads, into exactly the state of a
// ledger that ran the same commands, and that the current layout round-trips;
// any other layout is refused.

import { describe, expect, it } from "vitest";
import { WasmLedger } from "../src/ledger/wasm-ledger.js";

const POSITION_BYTES = 48;
const CAPACITIES = { positionsMax: 20_000, reservationsMax: 10_000 };

function drive(ledger: WasmLedger): void {
  const items = [];
  for (let i = 0; i < 2000; i++) for (const location of ["a", "bb", "ccc"]) items.push({ sku: `sku-${i}-${"x".repeat(i % 20)}`, location, onHand: 100 + i });
  expect(ledger.setStock(items).status).toBe(0);
  expect(ledger.putChannel("web", { locations: ["a", "bb"], buffer: 2 }).status).toBe(0);
  for (let i = 0; i < 3000; i++) {
    const s = i % 2000;
    ledger.placeHold(`r-${i}`, i % 3 ? null : "web", [{ sku: `sku-${s}-${"x".repeat(s % 20)}`, location: i % 2 ? "a" : "bb", qty: 1 }], 1000, 0);
  }
  for (let i = 0; i < 3000; i += 3) ledger.moveStatus(`r-${i}`, 2, 1);
}

/** The snapshot body with another layout number and, for layout 1, bytes 40..47 of every position zeroed. */
function asLayout(body: Buffer, layout: number): Buffer {
  const metaLen = body.readUInt32LE(0);
  const meta = JSON.parse(body.toString("utf8", 4, 4 + metaLen)) as Record<string, unknown>;
  const rest = Buffer.from(body.subarray(4 + metaLen));
  const positionsAt = 9 * 4; // header counts, then region 0 (positions) with its u32 length
  const positionsLen = rest.readUInt32LE(positionsAt);
  if (layout === 1) {
    for (let at = positionsAt + 4 + 40; at < positionsAt + 4 + positionsLen; at += POSITION_BYTES) rest.fill(0, at, at + 8);
  }
  const newMeta = Buffer.from(JSON.stringify({ ...meta, layout }), "utf8");
  const head = Buffer.alloc(4);
  head.writeUInt32LE(newMeta.length, 0);
  return Buffer.concat([head, newMeta, rest]);
}

describe("ledger snapshot layouts", () => {
  const fresh = new WasmLedger(CAPACITIES);
  drive(fresh);
  const body = Buffer.concat(fresh.snapshotParts());

  it("loads a layout-1 snapshot into the state of the same commands run here", () => {
    const loaded = new WasmLedger(CAPACITIES);
    loaded.loadSnapshot(asLayout(body, 1));
    expect(loaded.stateHash()).toBe(fresh.stateHash());
    expect(loaded.availableAt("sku-1999-xxxxxxxxxxxxxxxxxxx", "a")).toBe(fresh.availableAt("sku-1999-xxxxxxxxxxxxxxxxxxx", "a"));
    expect(loaded.reservation("r-4")?.status).toBe("held");
  });

  it("round-trips the current layout", () => {
    const loaded = new WasmLedger(CAPACITIES);
    loaded.loadSnapshot(body);
    expect(loaded.stateHash()).toBe(fresh.stateHash());
  });

  it("refuses a layout it cannot read", () => {
    expect(() => new WasmLedger(CAPACITIES).loadSnapshot(asLayout(body, 99))).toThrow(/layout 99/);
  });
});
