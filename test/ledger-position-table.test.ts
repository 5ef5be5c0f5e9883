// The position table's words carry 6 hash bits beside the position index
// (assembly/ledger.ts): a probe skips a slot whose bits differ without reading
// its record. These tests fill the table to its full load, so that probe runs
// are long and words with equal bits meet, and check that every position is
// found by its ids, that absent ones are not, and that a rolled-back write
// (which takes its new positions' words out again) leaves every lookup right.

import { describe, expect, it } from "vitest";
import { POSITIONS_ADDRESSABLE_MAX } from "../src/ledger/limits.js";
import { LedgerStatus } from "../src/ledger/status.js";
import { WasmLedger } from "../src/ledger/wasm-ledger.js";

const SKUS = 6_000;
const LOCATIONS = ["store-1", "store-2", "dc"];
const POSITIONS = SKUS * LOCATIONS.length;
const sku = (i: number): string => `SKU-${i}`;
/** A figure unique to each position, so a lookup that lands on another record is seen. */
const onHandOf = (s: number, l: number): number => s * 4 + l + 1;

/** A ledger holding every (SKU, location) of the test, with room for `spare` more positions. */
function stockedLedger(spare: number): WasmLedger {
  const ledger = new WasmLedger({ positionsMax: POSITIONS + spare, reservationsMax: 16 });
  for (let s = 0; s < SKUS; s += 1_000) {
    const items = [];
    for (let i = s; i < s + 1_000; i++) for (let l = 0; l < LOCATIONS.length; l++) items.push({ sku: sku(i), location: LOCATIONS[l], onHand: onHandOf(i, l) });
    expect(ledger.setStock(items).status).toBe(LedgerStatus.Ok);
  }
  return ledger;
}

function expectEveryPositionFound(ledger: WasmLedger): void {
  let wrong = 0;
  for (let s = 0; s < SKUS; s++) {
    for (let l = 0; l < LOCATIONS.length; l++) if (ledger.availableAt(sku(s), LOCATIONS[l]) !== onHandOf(s, l)) wrong++;
  }
  expect(wrong).toBe(0);
}

describe("position table at full load", () => {
  it("finds every one of positionsMax positions by its ids, and no absent one", () => {
    const ledger = stockedLedger(0);
    expect(ledger.counts().positions).toBe(POSITIONS);
    expectEveryPositionFound(ledger);
    // Absent keys end their probe on an empty slot (the longest runs at this load).
    let found = 0;
    for (let s = SKUS; s < SKUS + 2_000; s++) if (ledger.availableAt(sku(s), LOCATIONS[0]) !== 0) found++;
    for (let s = 0; s < 2_000; s++) if (ledger.availableAt(sku(s), "elsewhere") !== 0) found++;
    expect(found).toBe(0);
    // A full ledger refuses a new position and keeps the old ones.
    expect(ledger.setStock([{ sku: sku(SKUS), location: "dc", onHand: 1 }])).toEqual({ status: LedgerStatus.LedgerFull, itemIndex: 0 });
    expectEveryPositionFound(ledger);
  });

  it("takes rolled-back positions out of the table without disturbing the rest", () => {
    const ledger = stockedLedger(500);
    // 400 new positions, then an item that fails: the whole write rolls back.
    const items = [];
    for (let i = 0; i < 400; i++) items.push({ sku: `NEW-${i}`, location: LOCATIONS[i % 3], delta: 5 });
    items.push({ sku: sku(0), location: LOCATIONS[0], delta: -1_000_000 });
    expect(ledger.adjustStock(items)).toEqual({ status: LedgerStatus.OnHandMustNotGoNegative, itemIndex: 400 });
    expect(ledger.counts().positions).toBe(POSITIONS);
    for (let i = 0; i < 400; i++) expect(ledger.availableAt(`NEW-${i}`, LOCATIONS[i % 3])).toBe(0);
    expectEveryPositionFound(ledger);
    // The freed room takes new positions, found like the old ones.
    const again = Array.from({ length: 500 }, (_, i) => ({ sku: `NEW-${i}`, location: "dc", onHand: 7 + i }));
    expect(ledger.setStock(again).status).toBe(LedgerStatus.Ok);
    for (let i = 0; i < 500; i++) expect(ledger.availableAt(`NEW-${i}`, "dc")).toBe(7 + i);
    expectEveryPositionFound(ledger);
  });

  it("refuses capacities whose positions a table word cannot name", () => {
    // Few SKUs, so that 2^26 positions (about 4.18 GB) would fit the 4 GiB memory: only the word's 26 index bits refuse them.
    expect(() => new WasmLedger({ positionsMax: POSITIONS_ADDRESSABLE_MAX + 1, skusMax: 16, reservationsMax: 16 }))
      .toThrow(`more than ${POSITIONS_ADDRESSABLE_MAX.toLocaleString("en-US")} positions`);
  });
});
