// The expiry heap: a 4-ary min-heap of held reservations ordered by
// (expiresAt, creation number), so expiring a million holds never scans. Each
// entry carries its own key, so ordering the heap never reads a reservation
// record; a record keeps its entry's position (R_HEAP) so a purge can take
// the entry out. A reservation that leaves `held` stays in the heap until it
// surfaces (lazy deletion: commit and release stay O(1)); each record is in
// it at most once, so reservationsMax bounds it. A purge takes a record's
// entry out before the record can be reused: one at a time while that is the
// cheaper way, else (many entries out of one heap in one purge) by marking
// them and rebuilding the heap once at the end of the purge (heapDrop*).
//
//   entry (16 B): expiresAt f64 (epoch ms) · seq u32 (low 32 bits of the
//                 record's R_SEQ) · r u32 (the record)
//
//   heap base ≡ 48 (mod 64), so the four children of entry i, entries
//   4i+1 … 4i+4, share one cache line:
//   ┌────────┬────────┬────────┬────────┬────────┬────────┬─────
//   │ 0      │ 1      │ 2      │ 3      │ 4      │ 5 …
//   └────────┴────────┴────────┴────────┴────────┴────────┴─────
//            └──── one 64-byte line ────────────┘
//
// Ties of expiresAt go to the reservation created first, by serial-number
// order of the 32-bit creation numbers: exact while the two were created
// fewer than 2^31 holds apart (the heap stays a heap of expiresAt whatever
// happens to ties).

import { HEAP_ENTRY_BYTES, H_HEAP, H_RESERVATIONS, R_EXPIRES, R_HEAP, R_SEQ, heap, hget, hset, resAddr } from "./layout";

const E_SEQ = 8, E_RES = 12;

@inline function entryAddr(i: u32): usize { return heap + (<usize>i << 4); }
@inline export function heapAt(i: u32): u32 { return load<u32>(entryAddr(i), E_RES); }

/** Key a before key b: earlier expiry, or the same expiry and created first. */
@inline
function keyBefore(ea: f64, sa: u32, eb: f64, sb: u32): bool {
  return ea < eb || (ea == eb && <i32>(sa - sb) < 0);
}

@inline
function entryBefore(a: usize, b: usize): bool {
  return keyBefore(load<f64>(a), load<u32>(a, E_SEQ), load<f64>(b), load<u32>(b, E_SEQ));
}

@inline
function put(i: u32, expiresAt: f64, seq: u32, r: u32): void {
  const e = entryAddr(i);
  store<f64>(e, expiresAt);
  store<u32>(e, seq, E_SEQ);
  store<u32>(e, r, E_RES);
  store<u32>(resAddr(r), i + 1, R_HEAP);
}

@inline
function moveEntry(to: u32, from: u32): void {
  const e = entryAddr(from);
  put(to, load<f64>(e), load<u32>(e, E_SEQ), load<u32>(e, E_RES));
}

/** Puts the entry (expiresAt, seq, r) into the hole at i, moving parents down while it goes before them. */
function siftUp(i: u32, expiresAt: f64, seq: u32, r: u32): void {
  while (i > 0) {
    const parent = (i - 1) >> 2;
    const p = entryAddr(parent);
    if (!keyBefore(expiresAt, seq, load<f64>(p), load<u32>(p, E_SEQ))) break;
    moveEntry(i, parent);
    i = parent;
  }
  put(i, expiresAt, seq, r);
}

/** Puts the entry into the hole at i, moving the earliest child up while it goes before the entry. */
function siftDown(i: u32, expiresAt: f64, seq: u32, r: u32): void {
  const n = hget(H_HEAP);
  while (true) {
    const first: u32 = (i << 2) + 1;
    if (first >= n) break;
    const end = min<u32>(first + 4, n);
    let best = first;
    for (let c = first + 1; c < end; c++) if (entryBefore(entryAddr(c), entryAddr(best))) best = c;
    const b = entryAddr(best);
    if (!keyBefore(load<f64>(b), load<u32>(b, E_SEQ), expiresAt, seq)) break;
    moveEntry(i, best);
    i = best;
  }
  put(i, expiresAt, seq, r);
}

export function heapPush(r: u32): void {
  const rec = resAddr(r);
  assert(load<u32>(rec, R_HEAP) == 0, "a reservation enters the expiry heap twice");
  const n = hget(H_HEAP);
  hset(H_HEAP, n + 1);
  siftUp(n, load<f64>(rec, R_EXPIRES), <u32>load<u64>(rec, R_SEQ), r);
}

/** Removes entry i, moving the last entry into its place. */
function heapRemoveAt(i: u32): void {
  const last = hget(H_HEAP) - 1;
  store<u32>(resAddr(heapAt(i)), 0, R_HEAP);
  hset(H_HEAP, last);
  if (i < last) {
    const e = entryAddr(last);
    const expiresAt = load<f64>(e), seq = load<u32>(e, E_SEQ), r = load<u32>(e, E_RES);
    if (i > 0 && entryBefore(e, entryAddr((i - 1) >> 2))) siftUp(i, expiresAt, seq, r);
    else siftDown(i, expiresAt, seq, r);
  }
  memory.fill(entryAddr(last), 0, HEAP_ENTRY_BYTES);
}

/** Removes the heap's earliest entry. */
export function heapPop(): void { heapRemoveAt(0); }

// ── removals in a batch (a purge) ─────────────────────────────────────────
// Taking k entries out one at a time costs k sifts of up to depth levels;
// rebuilding costs a pass over all n entries and a heapify. A purge counts
// the entries it will take out first, so it chooses once: one at a time when
// k × depth < n, else it only marks them (record MARKED, key kept, so the heap
// stays ordered) and rebuilds once when it ends. Marks never outlive the
// purge command, and which way an entry leaves depends on the ledger's state
// alone: replay reproduces it.
const MARKED: u32 = 0xFFFFFFFF;
let dropOpen = false;
let dropByMarking = false;
let dropPlanned: u32 = 0;
let dropTaken: u32 = 0; // entries taken out so far in this batch, either way (marked ones when marking)

/** Levels of a 4-ary heap of n ≥ 1 entries. */
@inline function depthOf(n: u32): u32 { return ((31 - clz<u32>(n)) >> 1) + 1; }

/** Starts a batch of `removals` heap removals (heapDrop calls of records that have an entry). */
export function heapDropBegin(removals: u32): void {
  assert(!dropOpen, "a batch of heap removals inside another");
  dropOpen = true;
  const n = hget(H_HEAP);
  dropByMarking = n > 0 && <u64>removals * depthOf(n) >= <u64>n;
  dropPlanned = removals;
  dropTaken = 0;
}

/** Takes reservation r's entry out of the heap, if it has one (a purge, before the record is reused). */
export function heapDrop(r: u32): void {
  const rec = resAddr(r);
  const slot = load<u32>(rec, R_HEAP);
  if (slot == 0) return;
  dropTaken++;
  if (!dropByMarking) {
    heapRemoveAt(slot - 1);
    return;
  }
  store<u32>(entryAddr(slot - 1), MARKED, E_RES);
  store<u32>(rec, 0, R_HEAP);
}

/** Ends a batch of removals: the marked entries leave, the rest keep their order of expiry. */
export function heapDropEnd(): void {
  assert(dropTaken == dropPlanned, "a purge took out other heap entries than it counted");
  dropOpen = false;
  if (!dropByMarking || dropTaken == 0) return;
  const n = hget(H_HEAP);
  let kept: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    if (heapAt(i) == MARKED) continue;
    if (kept != i) moveEntry(kept, i);
    kept++;
  }
  assert(n - kept == dropTaken, "marked heap entries lost");
  memory.fill(entryAddr(kept), 0, <usize>(n - kept) * HEAP_ENTRY_BYTES);
  hset(H_HEAP, kept);
  heapify();
}

/** Orders the H_HEAP entries as a heap (Floyd: sift down every parent, the last first). */
function heapify(): void {
  const n = hget(H_HEAP);
  if (n < 2) return;
  for (let i = (n - 2) >> 2; ; i--) {
    const e = entryAddr(i);
    siftDown(i, load<f64>(e), load<u32>(e, E_SEQ), load<u32>(e, E_RES));
    if (i == 0) break;
  }
}

/**
 * Layout 3 kept the heap as a binary heap of 4-byte record indexes: turns
 * the H_HEAP indexes at the heap's base into entries (in place, from the
 * last, as each entry is wider than the indexes it overwrites) and orders
 * them as this heap (Floyd's heapify: the same records, the same order of
 * expiry).
 */
export function heapUpgradeFromLayout3(): void {
  const n = hget(H_HEAP);
  // Each record is in the heap at most once; entries past the records would be written past the region.
  assert(n <= hget(H_RESERVATIONS), "a layout-3 heap with more entries than reservations");
  for (let i = n; i-- > 0;) {
    const r = load<u32>(heap + (<usize>i << 2));
    const rec = resAddr(r);
    put(i, load<f64>(rec, R_EXPIRES), <u32>load<u64>(rec, R_SEQ), r);
  }
  heapify();
}
