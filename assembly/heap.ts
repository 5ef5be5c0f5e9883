// The expiry heap: a binary min-heap of reservation indexes ordered by
// (expiresAt, creation number), so expiring a million holds never scans. A
// reservation that leaves `held` stays in the heap until it surfaces (lazy
// deletion: commit and release stay O(1)); each record is in it at most once
// (its heapSlot says where), so reservationsMax bounds it. A purge takes a
// record's entry out before the record can be reused.

import { H_HEAP, R_EXPIRES, R_HEAP, R_SEQ, heap, hget, hset, resAddr } from "./layout";

@inline export function heapAt(i: u32): u32 { return load<u32>(heap + (<usize>i << 2)); }

@inline
function heapPut(i: u32, r: u32): void {
  store<u32>(heap + (<usize>i << 2), r);
  store<u32>(resAddr(r), i + 1, R_HEAP);
}

/** True when reservation a expires before b (ties: the one created first). */
@inline
function before(a: u32, b: u32): bool {
  const ra = resAddr(a), rb = resAddr(b);
  const ea = load<f64>(ra, R_EXPIRES), eb = load<f64>(rb, R_EXPIRES);
  return ea < eb || (ea == eb && load<u64>(ra, R_SEQ) < load<u64>(rb, R_SEQ));
}

function siftUp(i: u32): void {
  const r = heapAt(i);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const pr = heapAt(parent);
    if (!before(r, pr)) break;
    heapPut(i, pr);
    i = parent;
  }
  heapPut(i, r);
}

function siftDown(i: u32): void {
  const n = hget(H_HEAP);
  const r = heapAt(i);
  while (true) {
    const left: u32 = 2 * i + 1;
    if (left >= n) break;
    let child: u32 = left;
    if (left + 1 < n && before(heapAt(left + 1), heapAt(left))) child = left + 1;
    const cr = heapAt(child);
    if (!before(cr, r)) break;
    heapPut(i, cr);
    i = child;
  }
  heapPut(i, r);
}

export function heapPush(r: u32): void {
  assert(load<u32>(resAddr(r), R_HEAP) == 0, "a reservation enters the expiry heap twice");
  const n = hget(H_HEAP);
  hset(H_HEAP, n + 1);
  heapPut(n, r);
  siftUp(n);
}

/** Removes entry i, moving the last entry into its place. */
function heapRemoveAt(i: u32): void {
  const last = hget(H_HEAP) - 1;
  store<u32>(resAddr(heapAt(i)), 0, R_HEAP);
  hset(H_HEAP, last);
  if (i < last) {
    heapPut(i, heapAt(last));
    if (i > 0 && before(heapAt(i), heapAt((i - 1) >> 1))) siftUp(i);
    else siftDown(i);
  }
  store<u32>(heap + (<usize>last << 2), 0);
}

/** Removes the heap's earliest entry. */
export function heapPop(): void { heapRemoveAt(0); }

/** Takes reservation r's entry out of the heap, if it has one (a purge, before the record is reused). */
export function heapRemove(r: u32): void {
  const slot = load<u32>(resAddr(r), R_HEAP);
  if (slot != 0) heapRemoveAt(slot - 1);
}
