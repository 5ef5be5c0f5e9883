// Snapshots of older layouts, completed in this one. The wrapper converts
// the bytes (src/ledger/snapshot-layouts.ts: 40-byte reservation records and
// a line region become 64-byte records and cell chains; reservation ids leave
// the id arena for the cells); what needs the ledger's own rules is done here.
// Layout 3 differs from this one (4) only in the expiry heap's entries.

import { heapUpgradeFromLayout3 } from "./heap";
import { posDeriveSkuKeys } from "./ledger";
import { resReindex } from "./reservation-ids";
import { finishLegacy } from "./retention";
import {
  COMMITTED, END, FREE, HELD, H_RESERVATIONS, H_SEQ, R_FINISHED, R_NEXT, R_SEQ, R_STATUS, hget, hset64, resAddr,
} from "./layout";

/**
 * Layout 2 (and 1, which differs only in position keys): derives every
 * position's SKU key (the arena moved when reservation ids left it), enters
 * the reservations in the id table in index order (as they were created:
 * layout 2 never reused an index, so the table comes out as it was), numbers
 * them in that order, and queues the finished ones, whose finishing time
 * layout 2 did not keep, as the FIFO's legacy prefix (retention.ts).
 */
function upgradeFromLayout2(): void {
  posDeriveSkuKeys();
  resReindex();
  const n = hget(H_RESERVATIONS);
  for (let r: u32 = 0; r < n; r++) {
    const rec = resAddr(r);
    const status = load<u32>(rec, R_STATUS);
    assert(status != FREE, "layout 2 has no free records");
    store<u64>(rec, r, R_SEQ);
    store<f64>(rec, 0, R_FINISHED);
    store<u32>(rec, END, R_NEXT);
    if (status != HELD && status != COMMITTED) finishLegacy(r);
  }
  hset64(H_SEQ, n);
}

/** Completes a snapshot of layout `from` (1, 2 or 3), loaded as layout-3 bytes. */
export function upgradeFrom(from: u32): void {
  assert(from >= 1 && from <= 3, "no upgrade from this layout");
  if (from <= 2) upgradeFromLayout2();
  heapUpgradeFromLayout3();
}
