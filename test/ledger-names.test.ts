// Proves that SKU names by index (which the wrapper remembers) follow the
// ledger: after a stock write that created a SKU and rolled back, the index it
// freed names the SKU created next (this fails if a name were ever remembered
// inside a transaction). Names after a snapshot load are checked by
// ledger-snapshot-layout.test.ts (a loaded ledger cannot have remembered any).

import { describe, expect, it } from "vitest";
import { LedgerStatus } from "../src/ledger/status.js";
import { WasmLedger } from "../src/ledger/wasm-ledger.js";

describe("SKU names by index", () => {
  it("name the SKU created at an index a rollback freed", () => {
    const ledger = new WasmLedger({ positionsMax: 1024 });
    expect(ledger.setStock([{ sku: "kept", location: "L", onHand: 5 }]).status).toBe(LedgerStatus.Ok);
    // Remember index 0's name, then create index 1 in a write that fails on its second item.
    expect(ledger.skuName(0)).toBe("kept");
    const failed = ledger.adjustStock([{ sku: "gone", location: "L", delta: 1 }, { sku: "kept", location: "L", delta: -100 }]);
    expect(failed.status).toBe(LedgerStatus.OnHandMustNotGoNegative);
    expect(ledger.setStock([{ sku: "fresh", location: "L", onHand: 7 }]).status).toBe(LedgerStatus.Ok);
    expect(ledger.skuCount()).toBe(2);
    expect([ledger.skuName(0), ledger.skuName(1)]).toEqual(["kept", "fresh"]);
    expect(ledger.positionAt(1).sku).toBe("fresh");
    expect(ledger.hold("r1", null, [{ sku: "fresh", location: "L", qty: 1 }], 60_000, 0).status).toBe(LedgerStatus.Ok);
    expect(ledger.reservation("r1")!.lines).toEqual([{ sku: "fresh", location: "L", qty: 1 }]);
  });
});
