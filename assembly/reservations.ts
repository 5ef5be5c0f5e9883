// Reservations: all-or-nothing holds over up to 100 merged lines, their
// lifecycle moves, and expiry through a binary min-heap ordered by
// (expiresAt, creation index), so expiring a million holds never scans. A
// reservation that leaves `held` stays in the heap until it surfaces (lazy
// deletion): every reservation enters the heap once, so reservationsMax
// bounds it.
//
// Reservation record (40 bytes):
//   0 idOff u32 · 4 idLen u32 · 8 status u32 · 12 channel i32 (-1: none) ·
//   16 linesOff u32 (index into the lines region) · 20 lineCount u32 ·
//   24 expiresAt f64 (epoch ms) · 32 heapSlot u32 (index+1 in the heap; 0: not
//   in it) · 36 groupOff u32 (future: a hold on a location group, resolved later)
// Line (8 bytes): posIdx u32 · qty u32
// Staged line (16 bytes, the hold being checked): posIdx i32 (-1: unknown) ·
//   locIdx i32 (-1: unknown) · qty u32 · checkedAvailable u32

import { NONE, QUANTITY_MAX, RESERVATION_LINES_MAX } from "./constants";
import { hashBytes } from "./hash";
import { idFind, idPublish, idStore } from "./ids";
import {
  H_HEAP, H_HELD, H_LINES, H_LINES_MAX, H_RESERVATIONS, H_RESERVATIONS_MAX, RESERVATION_BYTES, STAGING_BYTES,
  hget, hset, heap, lines, resMask, resSlots, reservations, staging,
} from "./layout";
import {
  P_COMMITTED, P_ON_HAND, P_RESERVED, availableOf, noteChange, chanFind, chanIncludes, channelAvailableOf,
  locEnabled, posAddr, writeBegin, writeEnd, bumpVersion,
} from "./ledger";
import { Status } from "./status";

export const HELD: u32 = 1, COMMITTED: u32 = 2, FULFILLED: u32 = 3, RELEASED: u32 = 4, EXPIRED: u32 = 5;
export const MOVE_COMMIT: i32 = 1, MOVE_RELEASE: i32 = 2, MOVE_FULFILL: i32 = 3;

const R_STATUS = 8, R_CHANNEL = 12, R_LINES = 16, R_LINE_COUNT = 20, R_EXPIRES = 24, R_HEAP = 32;

@inline export function resAddr(r: u32): usize { return reservations + <usize>r * RESERVATION_BYTES; }
@inline function lineAddr(i: u32): usize { return lines + (<usize>i << 3); }
@inline export function stagedAddr(i: u32): usize { return staging + <usize>i * STAGING_BYTES; }

export function resFind(key: usize, len: u32): i32 {
  return idFind(reservations, RESERVATION_BYTES, resSlots, resMask, key, len, hashBytes(key, len));
}

// Written by resTouch so the load it issues is not dropped; never read.
let resTouched: u32 = 0;

/** Loads the first table slot of an id hashing to h, to start its cache miss early. */
export function resTouch(h: u32): void {
  resTouched = load<u32>(resSlots + (<usize>(h & resMask) << 3));
}

// ── expiry heap ────────────────────────────────────────────────────────────
@inline function heapAt(i: u32): u32 { return load<u32>(heap + (<usize>i << 2)); }

@inline
function heapPut(i: u32, r: u32): void {
  store<u32>(heap + (<usize>i << 2), r);
  store<u32>(resAddr(r), i + 1, R_HEAP);
}

/** True when reservation a expires before b (ties: the older first). */
@inline
function before(a: u32, b: u32): bool {
  const ea = load<f64>(resAddr(a), R_EXPIRES), eb = load<f64>(resAddr(b), R_EXPIRES);
  return ea < eb || (ea == eb && a < b);
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

function heapPush(r: u32): void {
  const n = hget(H_HEAP);
  hset(H_HEAP, n + 1);
  heapPut(n, r);
  siftUp(n);
}

/** Removes the heap's earliest entry. */
function heapPop(): void {
  const last = hget(H_HEAP) - 1;
  const top = heapAt(0);
  store<u32>(resAddr(top), 0, R_HEAP);
  hset(H_HEAP, last);
  if (last > 0) {
    heapPut(0, heapAt(last));
    siftDown(0);
  }
  store<u32>(heap + (<usize>last << 2), 0);
}

// ── line effects ───────────────────────────────────────────────────────────
// Each effect changes reserved or committed of every line by its qty (any
// such change moves a reported figure, so each line's position is logged and
// takes its version step in the same seqlock window) and asserts that no
// counter goes negative.
const EFFECT_RELEASE_HELD = 1, EFFECT_COMMIT = 2, EFFECT_RELEASE_COMMITTED = 3, EFFECT_FULFILL = 4;

function applyLines(r: u32, effect: i32): void {
  const rec = resAddr(r);
  const first = load<u32>(rec, R_LINES), count = load<u32>(rec, R_LINE_COUNT);
  for (let k: u32 = 0; k < count; k++) {
    const line = lineAddr(first + k);
    const pos = posAddr(load<u32>(line));
    const qty = load<u32>(line, 4);
    const reserved = load<u32>(pos, P_RESERVED), committed = load<u32>(pos, P_COMMITTED);
    const before = availableOf(pos);
    writeBegin(pos);
    if (noteChange(load<u32>(line), before)) bumpVersion(pos);
    if (effect == EFFECT_RELEASE_HELD || effect == EFFECT_COMMIT) {
      assert(reserved >= qty, "reserved would go negative");
      store<u32>(pos, reserved - qty, P_RESERVED);
      if (effect == EFFECT_COMMIT) store<u32>(pos, committed + qty, P_COMMITTED);
    } else {
      assert(committed >= qty, "committed would go negative");
      store<u32>(pos, committed - qty, P_COMMITTED);
      if (effect == EFFECT_FULFILL) {
        const onHand = load<u32>(pos, P_ON_HAND);
        store<u32>(pos, onHand - min<u32>(qty, onHand), P_ON_HAND);
      }
    }
    writeEnd(pos);
  }
}

function setStatus(r: u32, status: u32): void {
  const rec = resAddr(r);
  const old = load<u32>(rec, R_STATUS);
  // Leaving `held` leaves the heap entry in place (lazy deletion): commit and
  // release stay O(1), and the sweeper discards the entry when it surfaces.
  if (old == HELD) hset(H_HELD, hget(H_HELD) - 1);
  store<u32>(rec, status, R_STATUS);
}

function expireNow(r: u32): void {
  applyLines(r, EFFECT_RELEASE_HELD);
  setStatus(r, EXPIRED);
}

/** Expires r when it is held and due at nowMs; returns true when it did. */
function expireIfDue(r: u32, nowMs: f64): bool {
  const rec = resAddr(r);
  if (load<u32>(rec, R_STATUS) != HELD || load<f64>(rec, R_EXPIRES) > nowMs) return false;
  expireNow(r);
  return true;
}

/** Expires up to `limit` due holds, earliest first; returns how many. */
export function expireDue(nowMs: f64, limit: u32): u32 {
  let n: u32 = 0;
  while (n < limit && hget(H_HEAP) > 0) {
    const r = heapAt(0);
    if (load<u32>(resAddr(r), R_STATUS) != HELD) {
      heapPop(); // a reservation that left `held` before its expiry
      continue;
    }
    if (load<f64>(resAddr(r), R_EXPIRES) > nowMs) break;
    heapPop();
    expireNow(r);
    n++;
  }
  return n;
}

// ── holds ──────────────────────────────────────────────────────────────────
// Results of the last hold or move, read by the JS wrapper.
export let lastReservation: i32 = NONE;
export let lastCreated: bool = false;
export let lastChanged: bool = false;
export let lastLineIndex: i32 = NONE;

/** Resolves line i of the hold being checked; qty is already merged per position. */
export function stageLine(i: u32, pos: i32, loc: i32, qty: u32): void {
  assert(i < RESERVATION_LINES_MAX, "too many staged lines");
  const s = stagedAddr(i);
  store<i32>(s, pos);
  store<i32>(s, loc, 4);
  store<u32>(s, qty, 8);
  store<u32>(s, 0, 12);
}

/** Same channel and the same lines (as a set of (position, qty)) as reservation r? */
function sameRequest(r: u32, channel: i32, n: u32): bool {
  const rec = resAddr(r);
  if (load<i32>(rec, R_CHANNEL) != channel || load<u32>(rec, R_LINE_COUNT) != n) return false;
  const first = load<u32>(rec, R_LINES);
  for (let i: u32 = 0; i < n; i++) {
    const s = stagedAddr(i);
    const pos = load<i32>(s);
    if (pos < 0) return false;
    let found = false;
    for (let k: u32 = 0; k < n; k++) {
      const line = lineAddr(first + k);
      if (load<u32>(line) == <u32>pos) {
        found = load<u32>(line, 4) == load<u32>(s, 8);
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

/**
 * Places (or answers a repeat of) a hold of the n staged lines. The id is at
 * idKey (h: its hashBytes), the channel at chanKey (chanLen 0: none). Precedence: repeat →
 * unknown channel → location not in channel → location disabled →
 * insufficient stock → capacity.
 */
export function hold(idKey: usize, idLen: u32, h: u32, chanKey: usize, chanLen: u32, n: u32, ttlMs: f64, nowMs: f64): i32 {
  lastReservation = NONE;
  lastCreated = false;
  lastChanged = false;
  lastLineIndex = NONE;
  assert(n >= 1 && n <= RESERVATION_LINES_MAX, "hold line count out of range");
  const existing = idFind(reservations, RESERVATION_BYTES, resSlots, resMask, idKey, idLen, h);
  const channel = chanLen == 0 ? NONE : chanFind(chanKey, chanLen);
  if (existing >= 0) {
    lastReservation = existing;
    lastChanged = expireIfDue(existing, nowMs);
    // An unknown channel never matches a stored one (-2 is no channel index).
    if (!sameRequest(existing, chanLen != 0 && channel < 0 ? -2 : channel, n)) return Status.IdempotencyConflict;
    return Status.Ok;
  }
  if (chanLen != 0 && channel < 0) return Status.ChannelNotFound;
  if (channel >= 0) {
    for (let i: u32 = 0; i < n; i++) {
      if (!chanIncludes(channel, load<i32>(stagedAddr(i), 4))) { lastLineIndex = i; return Status.LocationNotInChannel; }
    }
  }
  for (let i: u32 = 0; i < n; i++) {
    const loc = load<i32>(stagedAddr(i), 4);
    if (loc >= 0 && !locEnabled(loc)) { lastLineIndex = i; return Status.LocationDisabled; }
  }
  let short = false;
  for (let i: u32 = 0; i < n; i++) {
    const s = stagedAddr(i);
    const pos = load<i32>(s);
    let avail: i64 = 0;
    if (pos >= 0) avail = channel >= 0 ? channelAvailableOf(channel, posAddr(pos)) : availableOf(posAddr(pos));
    store<u32>(s, <u32>avail, 12);
    if (<i64>load<u32>(s, 8) > avail) short = true;
  }
  if (short) return Status.InsufficientStock;

  const r = hget(H_RESERVATIONS);
  const firstLine = hget(H_LINES);
  if (r >= hget(H_RESERVATIONS_MAX) || <u64>firstLine + n > <u64>hget(H_LINES_MAX)) return Status.LedgerFull;
  const off = idStore(idKey, idLen);
  if (off < 0) return Status.LedgerFull;

  const rec = resAddr(r);
  store<u32>(rec, HELD, R_STATUS);
  store<i32>(rec, channel, R_CHANNEL);
  store<u32>(rec, firstLine, R_LINES);
  store<u32>(rec, n, R_LINE_COUNT);
  store<f64>(rec, nowMs + ttlMs, R_EXPIRES);
  for (let i: u32 = 0; i < n; i++) {
    const s = stagedAddr(i);
    const posIdx = load<u32>(s);
    const qty = load<u32>(s, 8);
    const line = lineAddr(firstLine + i);
    store<u32>(line, posIdx);
    store<u32>(line, qty, 4);
    const pos = posAddr(posIdx);
    // The invariant the whole product exists for: a hold never takes more than was available.
    assert(<i64>qty <= <i64>load<u32>(s, 12) && <i64>qty <= availableOf(pos), "hold exceeds available");
    assert(<i64>load<u32>(pos, P_RESERVED) + qty <= QUANTITY_MAX, "reserved above the quantity limit");
    const before = availableOf(pos);
    writeBegin(pos);
    if (noteChange(posIdx, before)) bumpVersion(pos);
    store<u32>(pos, load<u32>(pos, P_RESERVED) + qty, P_RESERVED);
    writeEnd(pos);
  }
  hset(H_LINES, firstLine + n);
  hset(H_RESERVATIONS, r + 1);
  hset(H_HELD, hget(H_HELD) + 1);
  idPublish(reservations, RESERVATION_BYTES, resSlots, resMask, r, <u32>off, idLen, h);
  heapPush(r);
  lastReservation = r;
  lastCreated = true;
  lastChanged = true;
  return Status.Ok;
}

/** commit, release or fulfill reservation `key`; repeats of the move that made the current status answer Ok. */
export function move(key: usize, len: u32, kind: i32, nowMs: f64): i32 {
  lastReservation = NONE;
  lastCreated = false;
  lastChanged = false;
  const r = resFind(key, len);
  if (r < 0) return Status.ReservationNotFound;
  lastReservation = r;
  lastChanged = expireIfDue(r, nowMs);
  const status = load<u32>(resAddr(r), R_STATUS);
  if (status == EXPIRED) return Status.ReservationExpired;
  if (kind == MOVE_COMMIT) {
    if (status == COMMITTED) return Status.Ok;
    if (status != HELD) return Status.InvalidTransition;
    applyLines(r, EFFECT_COMMIT);
    setStatus(r, COMMITTED);
  } else if (kind == MOVE_RELEASE) {
    if (status == RELEASED) return Status.Ok;
    if (status == HELD) applyLines(r, EFFECT_RELEASE_HELD);
    else if (status == COMMITTED) applyLines(r, EFFECT_RELEASE_COMMITTED);
    else return Status.InvalidTransition;
    setStatus(r, RELEASED);
  } else {
    assert(kind == MOVE_FULFILL, "unknown reservation move");
    if (status == FULFILLED) return Status.Ok;
    if (status != COMMITTED) return Status.InvalidTransition;
    applyLines(r, EFFECT_FULFILL);
    setStatus(r, FULFILLED);
  }
  lastChanged = true;
  return Status.Ok;
}

// ── reads ──────────────────────────────────────────────────────────────────
export function resStatus(r: u32): u32 { return load<u32>(resAddr(r), R_STATUS); }
export function resChannel(r: u32): i32 { return load<i32>(resAddr(r), R_CHANNEL); }
export function resLineCount(r: u32): u32 { return load<u32>(resAddr(r), R_LINE_COUNT); }
export function resLinePosition(r: u32, k: u32): u32 { return load<u32>(lineAddr(load<u32>(resAddr(r), R_LINES) + k)); }
export function resLineQty(r: u32, k: u32): u32 { return load<u32>(lineAddr(load<u32>(resAddr(r), R_LINES) + k), 4); }
export function resExpiresAt(r: u32): f64 { return load<f64>(resAddr(r), R_EXPIRES); }
