// The reservation cell pool: every reservation's id bytes and lines live in
// one chain of 8-byte cells ([id bytes…][line][line]…), taken when it is held
// and given back whole when it is purged, so the space of purged reservations
// is reused by any later one.
//
// Why chains of one cell size and not blocks in size classes: ids are 1–128
// bytes and holds 1–100 lines, and a pool of one size never fragments. A free
// cell always fits, so "full" means that the live reservations really fill
// the pool; size classes would answer full while another class had room. The
// price is a 4-byte link per cell and walks instead of indexing, over at most
// 16 id cells and 100 lines; holds of a line or two, the common case, touch
// two or three cells.
//
//   cells     cellsMax × 8 B  payload: 8 bytes of an id (the last one zero-padded),
//                             or one line [u32 posIdx | u32 qty]
//   cellNext  cellsMax × 4 B  next cell of the chain (END: the last), or of the free list
//
// Cells below the high-water mark H_CELLS are in exactly one live chain or on
// the free list (LIFO from H_CELLS_FREE, H_CELLS_FREE_COUNT long); cells at
// or above it were never used.

import {
  END, H_CELLS, H_CELLS_FREE, H_CELLS_FREE_COUNT, H_CELLS_MAX, cellNext, cells, hget, hset,
} from "./layout";

@inline export function cellAddr(c: u32): usize { return cells + (<usize>c << 3); }
@inline export function cellAfter(c: u32): u32 { return load<u32>(cellNext + (<usize>c << 2)); }
@inline function link(c: u32, next: u32): void { store<u32>(cellNext + (<usize>c << 2), next); }

/** Cells an id of `len` bytes takes. */
@inline export function idCellsFor(len: u32): u32 { return (len + 7) >> 3; }

/** Whether a chain of k cells can be taken now (free cells plus never-used ones). */
@inline
export function cellsFit(k: u32): bool {
  return <u64>k <= <u64>hget(H_CELLS_FREE_COUNT) + <u64>(hget(H_CELLS_MAX) - hget(H_CELLS));
}

/** Takes a chain of k ≥ 1 cells (check cellsFit first): free cells first, then never-used ones. Returns its first cell. */
export function cellsTake(k: u32): u32 {
  const free = hget(H_CELLS_FREE_COUNT);
  let head = END, last = END, taken: u32 = 0;
  if (free > 0) {
    // The free list is already linked: its first k cells become the chain.
    head = hget(H_CELLS_FREE);
    last = head;
    taken = 1;
    while (taken < k && taken < free) {
      last = cellAfter(last);
      assert(last != END, "free cell list shorter than its count");
      taken++;
    }
    hset(H_CELLS_FREE, cellAfter(last));
    hset(H_CELLS_FREE_COUNT, free - taken);
    assert(taken < free || cellAfter(last) == END, "free cell list longer than its count");
  }
  if (taken < k) {
    const first = hget(H_CELLS);
    const rest = k - taken;
    assert(<u64>first + rest <= <u64>hget(H_CELLS_MAX), "cell pool overdrawn");
    for (let i: u32 = 0; i + 1 < rest; i++) link(first + i, first + i + 1);
    hset(H_CELLS, first + rest);
    if (last == END) head = first;
    else link(last, first);
    last = first + rest - 1;
  }
  link(last, END);
  return head;
}

/** Gives back the chain of k cells starting at `head` (a purged reservation's). */
export function cellsGive(head: u32, k: u32): void {
  let last = head;
  for (let i: u32 = 1; i < k; i++) last = cellAfter(last);
  assert(cellAfter(last) == END, "a chain longer than its reservation says");
  link(last, hget(H_CELLS_FREE));
  hset(H_CELLS_FREE, head);
  hset(H_CELLS_FREE_COUNT, hget(H_CELLS_FREE_COUNT) + k);
}

/** The 8 bytes at p, or the first `rest` (< 8) of them zero-extended. p + 8 must be readable. */
@inline
function word(p: usize, rest: u32): u64 {
  const v = load<u64>(p);
  return rest >= 8 ? v : v & ((<u64>1 << (<u64>rest << 3)) - 1);
}

/**
 * Writes an id of len bytes at key into the chain's first idCellsFor(len)
 * cells, the last one zero-padded so the bytes stored never depend on what
 * followed the id in the caller's buffer. Reads up to 7 bytes past the id
 * (key areas are 256 bytes, ids at most 128). Returns the cell after the id.
 */
export function cellsPutId(c: u32, key: usize, len: u32): u32 {
  for (let i: u32 = 0; i < len; i += 8) {
    store<u64>(cellAddr(c), word(key + i, len - i));
    c = cellAfter(c);
  }
  return c;
}

/** Whether the id stored from cell c equals the len bytes at key (same length already checked). */
export function cellsIdEquals(c: u32, key: usize, len: u32): bool {
  for (let i: u32 = 0; i < len; i += 8) {
    if (load<u64>(cellAddr(c)) != word(key + i, len - i)) return false;
    c = cellAfter(c);
  }
  return true;
}

/** Copies the id stored from cell c into dst (len bytes, rounded up to whole cells). */
export function cellsGetId(c: u32, dst: usize, len: u32): void {
  for (let i: u32 = 0; i < len; i += 8) {
    store<u64>(dst + i, load<u64>(cellAddr(c)));
    c = cellAfter(c);
  }
}
