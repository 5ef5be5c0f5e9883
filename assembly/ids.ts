// The id dictionaries: SKU, location and channel ids (UTF-8 bytes) mapped
// to dense indexes, inside linear memory so that any thread can resolve an id
// without a JS Map. (Reservation ids, which are deleted when purged, have
// their own table: reservation-ids.ts.) Each dictionary is a record array whose
// first two u32 fields are (idOff, idLen) into the shared id-bytes arena, plus
// an open-addressing table of 8-byte slots [u32 index+1 | u32 hash], linear
// probing. Entries are never deleted except the newest ones when a
// transaction rolls back; removing them newest-first just clears their slots
// (no later key can have probed past them), which restores the exact bytes.

import { bytesEqual, hashBytes } from "./hash";
import { H_ID_BYTES, H_ID_BYTES_MAX, SLOT_BYTES, hget, hset, idBytes } from "./layout";

/** Index of the id at `key` (len bytes, hash h) in a dictionary, or -1. */
@inline
export function idFind(recs: usize, recBytes: usize, slots: usize, mask: u32, key: usize, len: u32, h: u32): i32 {
  let i = h & mask;
  while (true) {
    const slot = slots + (<usize>i << 3);
    const idx1 = atomic.load<u32>(slot);
    if (idx1 == 0) return -1;
    if (load<u32>(slot, 4) == h) {
      const rec = recs + <usize>(idx1 - 1) * recBytes;
      if (load<u32>(rec, 4) == len && bytesEqual(idBytes + load<u32>(rec), key, len)) return <i32>(idx1 - 1);
    }
    i = (i + 1) & mask;
  }
  return -1;
}

/**
 * Copies `len` bytes (an id: short) 8 at a time, the last step overlapping
 * the previous one; memory.copy is a call out of the module, costly for a
 * dozen bytes. Writes nothing outside [dst, dst + len).
 */
@inline
function copyShort(dst: usize, src: usize, len: u32): void {
  if (len >= 8) {
    const last = <usize>len - 8;
    for (let i: usize = 0; i < last; i += 8) store<u64>(dst + i, load<u64>(src + i));
    store<u64>(dst + last, load<u64>(src + last));
  } else {
    for (let i: usize = 0; i < <usize>len; i++) store<u8>(dst + i, load<u8>(src + i));
  }
}

/** Copies `len` bytes into the id arena; returns the arena offset, or -1 when full. */
export function idStore(key: usize, len: u32): i64 {
  const used = hget(H_ID_BYTES);
  if (<u64>used + len > <u64>hget(H_ID_BYTES_MAX)) return -1;
  copyShort(idBytes + used, key, len);
  hset(H_ID_BYTES, used + len);
  return used;
}

/**
 * Writes (idOff, idLen) into record `idx` (already counted by the caller) and
 * publishes it in the table. The slot is published last, with an atomic
 * store, so a reader on another thread never finds a half-written record.
 */
export function idPublish(recs: usize, recBytes: usize, slots: usize, mask: u32, idx: u32, off: u32, len: u32, h: u32): void {
  const rec = recs + <usize>idx * recBytes;
  store<u32>(rec, off);
  store<u32>(rec, len, 4);
  let i = h & mask;
  while (atomic.load<u32>(slots + (<usize>i << 3)) != 0) i = (i + 1) & mask;
  const slot = slots + (<usize>i << 3);
  store<u32>(slot, h, 4);
  atomic.store<u32>(slot, idx + 1);
}

/** Clears the slot of the newest entry `idx` (rollback). */
export function idUnpublish(recs: usize, recBytes: usize, slots: usize, mask: u32, idx: u32): void {
  const rec = recs + <usize>idx * recBytes;
  const h = hashBytes(idBytes + load<u32>(rec), load<u32>(rec, 4));
  let i = h & mask;
  while (true) {
    const slot = slots + (<usize>i << 3);
    const idx1 = load<u32>(slot);
    assert(idx1 != 0, "rollback of an unpublished id");
    if (idx1 == idx + 1) {
      store<u64>(slot, 0);
      return;
    }
    i = (i + 1) & mask;
  }
}

/** Rebuilds a dictionary's table from its records, in index order (after a snapshot load). */
export function idRebuild(recs: usize, recBytes: usize, slots: usize, mask: u32, count: u32): void {
  memory.fill(slots, 0, (<usize>mask + 1) * SLOT_BYTES);
  for (let idx: u32 = 0; idx < count; idx++) {
    const rec = recs + <usize>idx * recBytes;
    const off = load<u32>(rec);
    const len = load<u32>(rec, 4);
    idPublish(recs, recBytes, slots, mask, idx, off, len, hashBytes(idBytes + off, len));
  }
}
