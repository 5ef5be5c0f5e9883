// The reservation id table: client-chosen ids (1–128 bytes, stored in the
// reservation's cell chain) mapped to record indexes by open addressing with
// linear probing over 8-byte slots [u32 index+1 | u32 hash]. Unlike the other
// dictionaries (ids.ts) it deletes: a purged reservation's slot is cleared by
// backward-shift deletion, which moves later entries of its probe run back so
// that no tombstone is left and probes never grow with churn.
//
// Only the writer thread reads this table (HTTP workers forward reservation
// reads to the writer), so entries move with plain stores.
//
// A record keeps its slot and hash (R_SLOT, R_HASH): after deletions the
// table's layout depends on the order of past inserts and deletes, so a
// snapshot restores each entry where it was instead of re-inserting.

import { cellsGetId, cellsIdEquals } from "./cells";
import { hashBytes } from "./hash";
import {
  FREE, H_RESERVATIONS, R_HASH, R_ID_CELL, R_ID_LEN, R_SLOT, R_STATUS, SCRATCH_BASE, SCRATCH_KEY_D, SLOT_BYTES, hget,
  resAddr, resMask, resSlots,
} from "./layout";

@inline function slotAddr(i: u32): usize { return resSlots + (<usize>i << 3); }

/** The reservation whose id is the len bytes at key (hash h), or -1. */
export function resFindHashed(key: usize, len: u32, h: u32): i32 {
  let i = h & resMask;
  while (true) {
    const slot = slotAddr(i);
    const idx1 = load<u32>(slot);
    if (idx1 == 0) return -1;
    if (load<u32>(slot, 4) == h) {
      const rec = resAddr(idx1 - 1);
      if (load<u32>(rec, R_ID_LEN) == len && cellsIdEquals(load<u32>(rec, R_ID_CELL), key, len)) return <i32>(idx1 - 1);
    }
    i = (i + 1) & resMask;
  }
  return -1;
}

/** Enters record r (its id hashing to h) in the table. */
export function resPublish(r: u32, h: u32): void {
  let i = h & resMask;
  while (load<u32>(slotAddr(i)) != 0) i = (i + 1) & resMask;
  store<u32>(slotAddr(i), r + 1);
  store<u32>(slotAddr(i), h, 4);
  const rec = resAddr(r);
  store<u32>(rec, i, R_SLOT);
  store<u32>(rec, h, R_HASH);
}

/**
 * Removes record r from the table by backward shift: each later entry of the
 * run whose home slot is not cyclically within (hole, entry] moves into the
 * hole, until an empty slot ends the run.
 */
export function resUnpublish(r: u32): void {
  let hole = load<u32>(resAddr(r), R_SLOT);
  assert(load<u32>(slotAddr(hole)) == r + 1, "a reservation's table slot does not hold it");
  let j = hole;
  while (true) {
    j = (j + 1) & resMask;
    const idx1 = load<u32>(slotAddr(j));
    if (idx1 == 0) break;
    const home = load<u32>(slotAddr(j), 4) & resMask;
    // Distances from the entry's home: it may fill the hole when the hole is not after its slot.
    if (((j - home) & resMask) < ((j - hole) & resMask)) continue;
    store<u64>(slotAddr(hole), load<u64>(slotAddr(j)));
    store<u32>(resAddr(idx1 - 1), hole, R_SLOT);
    hole = j;
  }
  store<u64>(slotAddr(hole), 0);
}

/**
 * After a snapshot load: puts every live record back in the slot it had, so
 * the table is byte-identical to the one snapshotted. That holds only for a
 * table of the snapshot's size; in one of another size (OMNISTOCK_RESERVATIONS_MAX
 * changed across a restart) a saved slot may be out of range, taken, or not
 * reachable from its entry's home, and then the table is rebuilt by hashing.
 */
export function resRebuild(): void {
  memory.fill(resSlots, 0, (<usize>resMask + 1) * SLOT_BYTES);
  const n = hget(H_RESERVATIONS);
  for (let r: u32 = 0; r < n; r++) {
    const rec = resAddr(r);
    if (load<u32>(rec, R_STATUS) == FREE) continue;
    const saved = load<u32>(rec, R_SLOT);
    if (saved > resMask || load<u32>(slotAddr(saved)) != 0) { resReindex(); return; }
    const slot = slotAddr(saved);
    store<u32>(slot, r + 1);
    store<u32>(slot, load<u32>(rec, R_HASH), 4);
  }
  // Linear probing finds an entry only if no slot between its home and it is empty.
  for (let r: u32 = 0; r < n; r++) {
    const rec = resAddr(r);
    if (load<u32>(rec, R_STATUS) == FREE) continue;
    const saved = load<u32>(rec, R_SLOT);
    for (let j = load<u32>(rec, R_HASH) & resMask; j != saved; j = (j + 1) & resMask) {
      if (load<u32>(slotAddr(j)) == 0) { resReindex(); return; }
    }
  }
}

/** Enters every live record in index order, hashing its id: for snapshots of layouts that kept no slots. */
export function resReindex(): void {
  memory.fill(resSlots, 0, (<usize>resMask + 1) * SLOT_BYTES);
  const key = SCRATCH_BASE + SCRATCH_KEY_D; // the writer's key D: room for any id
  const n = hget(H_RESERVATIONS);
  for (let r: u32 = 0; r < n; r++) {
    const rec = resAddr(r);
    if (load<u32>(rec, R_STATUS) == FREE) continue;
    const len = load<u32>(rec, R_ID_LEN);
    cellsGetId(load<u32>(rec, R_ID_CELL), key, len);
    resPublish(r, hashBytes(key, len));
  }
}
