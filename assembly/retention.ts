// Retention: finished reservations (released, expired or fulfilled; committed
// is not finished) wait in a FIFO, and a purge frees those finished at least
// the retention ago: record, cell chain, table slot and heap entry, all for
// reuse. A purged id is unknown again, so a hold with it starts anew.
//
// The FIFO is linked through the records (R_NEXT, from H_FINISHED_HEAD to
// H_FINISHED_TAIL) and kept in time order: a reservation finishes at
// max(the command's nowMs, the tail's finishedAt), so a writer clock that
// steps back never lets a later entry be due before an earlier one, and a
// purge stops at the first entry not yet due. Free records form a LIFO
// through the same field (H_RES_FREE).
//
// Reservations finished before an upgrade from layout 2 (which kept no
// finishing time) are a prefix of the FIFO ending at H_LEGACY_LAST. They take
// the finishedAt of the first reservation that finishes after them, so their
// retention counts from after the upgrade, and until one does they are not
// due: late rather than early, and still only a function of the journal.

import { heapDrop, heapDropBegin, heapDropEnd } from "./heap";
import { cellsGive, idCellsFor } from "./cells";
import { resUnpublish } from "./reservation-ids";
import {
  END, FREE, H_FINISHED_HEAD, H_FINISHED_TAIL, H_LEGACY_LAST, H_RES_FREE, H_RES_FREE_COUNT, H_RESERVATIONS,
  H_RESERVATIONS_MAX, HELD, COMMITTED, RESERVATION_BYTES, R_FINISHED, R_HEAP, R_ID_CELL, R_ID_LEN, R_LINE_COUNT, R_NEXT,
  R_STATUS, hget, hset, resAddr,
} from "./layout";

/** Marks finishedAt = the unknown time of a reservation finished before layout 3. */
export const FINISHED_AT_UNKNOWN: f64 = -Infinity;

// ── records ────────────────────────────────────────────────────────────────
/** Whether a hold can take a record now: a free one, or one never used. */
@inline
export function recordFits(): bool {
  return hget(H_RES_FREE) != END || hget(H_RESERVATIONS) < hget(H_RESERVATIONS_MAX);
}

/** Takes a record (check recordFits first): the last freed, else the next never used. */
export function recordTake(): u32 {
  const r = hget(H_RES_FREE);
  if (r == END) {
    const n = hget(H_RESERVATIONS);
    hset(H_RESERVATIONS, n + 1);
    return n;
  }
  const rec = resAddr(r);
  assert(load<u32>(rec, R_STATUS) == FREE && load<u32>(rec, R_HEAP) == 0, "a record on the free list is in use");
  hset(H_RES_FREE, load<u32>(rec, R_NEXT));
  hset(H_RES_FREE_COUNT, hget(H_RES_FREE_COUNT) - 1);
  return r;
}

/** Reservations kept: every record but the free ones. */
export function reservationsLive(): u32 { return hget(H_RESERVATIONS) - hget(H_RES_FREE_COUNT); }

// ── finishing ──────────────────────────────────────────────────────────────
/** Appends r, which has just finished at nowMs, to the FIFO. */
export function finish(r: u32, nowMs: f64): void {
  const rec = resAddr(r);
  const tail = hget(H_FINISHED_TAIL);
  let at = nowMs;
  if (tail == END) hset(H_FINISHED_HEAD, r);
  else {
    const tailAt = load<f64>(resAddr(tail), R_FINISHED);
    if (tailAt > at) at = tailAt;
    store<u32>(resAddr(tail), r, R_NEXT);
  }
  store<f64>(rec, at, R_FINISHED);
  store<u32>(rec, END, R_NEXT);
  hset(H_FINISHED_TAIL, r);
}

/** Appends r, finished at an unknown time before an upgrade, to the FIFO's legacy prefix. */
export function finishLegacy(r: u32): void {
  finish(r, FINISHED_AT_UNKNOWN);
  hset(H_LEGACY_LAST, r);
}

// ── purging ────────────────────────────────────────────────────────────────
/**
 * When FIFO entry r finished, for the retention rule, while the legacy prefix
 * ends at legacyLast (END: none left); NaN when it cannot be due yet.
 * Within the prefix every entry is due when the first after it is.
 */
function finishedAt(r: u32, legacyLast: u32): f64 {
  if (legacyLast == END) return load<f64>(resAddr(r), R_FINISHED);
  const after = load<u32>(resAddr(legacyLast), R_NEXT);
  return after == END ? NaN : load<f64>(resAddr(after), R_FINISHED);
}

/** Frees finished reservation r: its heap entry, table slot, cells and record. */
function release(r: u32): void {
  const rec = resAddr(r);
  const status = load<u32>(rec, R_STATUS);
  assert(status != FREE && status != HELD && status != COMMITTED, "purge of an unfinished reservation");
  heapDrop(r); // lazy deletion may have left its entry there
  assert(load<u32>(rec, R_HEAP) == 0, "a purged reservation is still in the expiry heap");
  resUnpublish(r);
  cellsGive(load<u32>(rec, R_ID_CELL), idCellsFor(load<u32>(rec, R_ID_LEN)) + load<u32>(rec, R_LINE_COUNT));
  memory.fill(rec, 0, RESERVATION_BYTES); // status FREE
  store<u32>(rec, hget(H_RES_FREE), R_NEXT);
  hset(H_RES_FREE, r);
  hset(H_RES_FREE_COUNT, hget(H_RES_FREE_COUNT) + 1);
}

/**
 * How many of the reservations the purge (nowMs, retentionMs, limit) will free
 * still have an expiry-heap entry: a walk of the FIFO by the purge's own rule,
 * so the heap removals are chosen once (heapDropBegin).
 */
function heapEntriesDue(nowMs: f64, retentionMs: f64, limit: u32): u32 {
  let legacyLast = hget(H_LEGACY_LAST);
  let entries: u32 = 0;
  let r = hget(H_FINISHED_HEAD);
  for (let k: u32 = 0; k < limit && r != END; k++) {
    const at = finishedAt(r, legacyLast);
    if (!(at + retentionMs <= nowMs)) break;
    if (load<u32>(resAddr(r), R_HEAP) != 0) entries++;
    if (r == legacyLast) legacyLast = END;
    r = load<u32>(resAddr(r), R_NEXT);
  }
  return entries;
}

/** Purges up to `limit` reservations finished at least retentionMs before nowMs, oldest first; returns how many. */
export function purgeDue(nowMs: f64, retentionMs: f64, limit: u32): u32 {
  let n: u32 = 0;
  heapDropBegin(heapEntriesDue(nowMs, retentionMs, limit));
  while (n < limit) {
    const r = hget(H_FINISHED_HEAD);
    if (r == END) break;
    const at = finishedAt(r, hget(H_LEGACY_LAST));
    if (!(at + retentionMs <= nowMs)) break; // NaN: a legacy prefix with nothing after it
    const next = load<u32>(resAddr(r), R_NEXT);
    hset(H_FINISHED_HEAD, next);
    if (next == END) hset(H_FINISHED_TAIL, END);
    if (hget(H_LEGACY_LAST) == r) hset(H_LEGACY_LAST, END);
    else if (hget(H_LEGACY_LAST) == END) assert(next == END || load<f64>(resAddr(next), R_FINISHED) >= at, "finished reservations out of time order");
    release(r);
    n++;
  }
  heapDropEnd();
  return n;
}
