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

// A chain is built one cell at a time, in one pass that also fills the
// cells (chainBegin, chainNext… , chainEnd): the free list's cells first, in
// its order, then never-used ones. The pool's header fields are read once
// and written once per chain.
let chainFree: u32 = END; // the free list's next cell
let chainFreeLeft: u32 = 0; // cells still on the free list
let chainFresh: u32 = 0; // the next never-used cell
let chainLast: u32 = END; // the chain's last cell so far

/** Starts a chain (check cellsFit for all its cells first). */
export function chainBegin(): void {
  chainFree = hget(H_CELLS_FREE);
  chainFreeLeft = hget(H_CELLS_FREE_COUNT);
  chainFresh = hget(H_CELLS);
  chainLast = END;
}

/** Takes the chain's next cell and links it after the previous one; returns it. */
export function chainNext(): u32 {
  let c: u32;
  if (chainFreeLeft > 0) {
    c = chainFree;
    assert(c != END, "free cell list shorter than its count");
    chainFree = cellAfter(c);
    chainFreeLeft--;
  } else {
    c = chainFresh;
    assert(c < hget(H_CELLS_MAX), "cell pool overdrawn");
    chainFresh = c + 1;
  }
  if (chainLast != END) link(chainLast, c);
  chainLast = c;
  return c;
}

/** Ends the chain: its last cell links to END, and the pool's header takes the cells away. */
export function chainEnd(): void {
  assert(chainLast != END, "an empty chain");
  assert(chainFreeLeft > 0 || chainFree == END, "free cell list longer than its count");
  link(chainLast, END);
  hset(H_CELLS_FREE, chainFree);
  hset(H_CELLS_FREE_COUNT, chainFreeLeft);
  hset(H_CELLS, chainFresh);
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
 * Takes the chain's next idCellsFor(len) cells for the id of len bytes at
 * key, the last one zero-padded so the bytes stored never depend on what
 * followed the id in the caller's buffer. Reads up to 7 bytes past the id
 * (key areas are 256 bytes, ids at most 128). Returns the id's first cell.
 */
export function chainPutId(key: usize, len: u32): u32 {
  const first = chainNext();
  store<u64>(cellAddr(first), word(key, len));
  for (let i: u32 = 8; i < len; i += 8) store<u64>(cellAddr(chainNext()), word(key + i, len - i));
  return first;
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
