// Reservations: all-or-nothing holds over up to 100 merged lines, their
// lifecycle moves, and expiry through the expiry heap (heap.ts). A record
// (layout.ts) holds the reservation's figures; its id bytes and lines are one
// chain of cells (cells.ts). Records and cells come from the free lists that
// purges fill (retention.ts), else from the never-used part of their regions.
//
// Line cell (8 bytes): posIdx u32 · qty u32
// Staged line (16 bytes, the hold being checked): posIdx i32 (-1: unknown) ·
//   locIdx i32 (-1: unknown) · qty u32 · checkedAvailable u32

import { NONE, QUANTITY_MAX, RESERVATION_LINES_MAX } from "./constants";
import { cellAddr, cellAfter, cellsFit, cellsPutId, cellsTake, idCellsFor } from "./cells";
import { hashBytes } from "./hash";
import { heapAt, heapPop, heapPush } from "./heap";
import {
  COMMITTED, EXPIRED, FULFILLED, HELD, H_HEAP, H_HELD, H_SEQ, RELEASED, R_CHANNEL, R_EXPIRES, R_FINISHED, R_ID_CELL,
  R_ID_LEN, R_LINE_CELL, R_LINE_COUNT, R_NEXT, R_SEQ, R_STATUS, STAGING_BYTES, END, hget, hget64, hset, hset64, resAddr,
  resMask, resSlots, staging,
} from "./layout";
import {
  P_COMMITTED, P_ON_HAND, P_RESERVED, availableOf, noteChange, chanFind, chanIncludes, channelAvailableOf,
  locEnabled, posAddr, writeBegin, writeEnd, bumpVersion,
} from "./ledger";
import { resFindHashed, resPublish } from "./reservation-ids";
import { finish, recordFits, recordTake } from "./retention";
import { Status } from "./status";

export const MOVE_COMMIT: i32 = 1, MOVE_RELEASE: i32 = 2, MOVE_FULFILL: i32 = 3;

@inline export function stagedAddr(i: u32): usize { return staging + <usize>i * STAGING_BYTES; }

export function resFind(key: usize, len: u32): i32 {
  return resFindHashed(key, len, hashBytes(key, len));
}

// Written by resTouch so the load it issues is not dropped; never read.
let resTouched: u32 = 0;

/** Loads the first table slot of an id hashing to h, to start its cache miss early. */
export function resTouch(h: u32): void {
  resTouched = load<u32>(resSlots + (<usize>(h & resMask) << 3));
}

// ── line effects ───────────────────────────────────────────────────────────
// Each effect changes reserved or committed of every line by its qty (any
// such change moves a reported figure, so each line's position is logged and
// takes its version step in the same seqlock window) and asserts that no
// counter goes negative.
const EFFECT_RELEASE_HELD = 1, EFFECT_COMMIT = 2, EFFECT_RELEASE_COMMITTED = 3, EFFECT_FULFILL = 4;

function applyLines(r: u32, effect: i32): void {
  for (let cell = load<u32>(resAddr(r), R_LINE_CELL); cell != END; cell = cellAfter(cell)) {
    const line = cellAddr(cell);
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

/** Moves r to `status` at nowMs; a finishing status queues it for the purge. */
function setStatus(r: u32, status: u32, nowMs: f64): void {
  const rec = resAddr(r);
  const old = load<u32>(rec, R_STATUS);
  // Leaving `held` leaves the heap entry in place (lazy deletion): commit and
  // release stay O(1), and the sweeper discards the entry when it surfaces.
  if (old == HELD) hset(H_HELD, hget(H_HELD) - 1);
  store<u32>(rec, status, R_STATUS);
  if (status != COMMITTED) finish(r, nowMs);
}

function expireNow(r: u32, nowMs: f64): void {
  applyLines(r, EFFECT_RELEASE_HELD);
  setStatus(r, EXPIRED, nowMs);
}

/** Expires r when it is held and due at nowMs; returns true when it did. */
function expireIfDue(r: u32, nowMs: f64): bool {
  const rec = resAddr(r);
  if (load<u32>(rec, R_STATUS) != HELD || load<f64>(rec, R_EXPIRES) > nowMs) return false;
  expireNow(r, nowMs);
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
    expireNow(r, nowMs);
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
  const first = load<u32>(rec, R_LINE_CELL);
  for (let i: u32 = 0; i < n; i++) {
    const s = stagedAddr(i);
    const pos = load<i32>(s);
    if (pos < 0) return false;
    let found = false;
    for (let cell = first; cell != END; cell = cellAfter(cell)) {
      const line = cellAddr(cell);
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
  assert(idLen >= 1, "a reservation id of no bytes");
  const existing = resFindHashed(idKey, idLen, h);
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

  // Capacity: a record and a chain for the id and the lines, both checked before anything is taken.
  if (!recordFits() || !cellsFit(idCellsFor(idLen) + n)) return Status.LedgerFull;
  const r = recordTake();
  const chain = cellsTake(idCellsFor(idLen) + n);
  const firstLine = cellsPutId(chain, idKey, idLen);
  const seq = hget64(H_SEQ);
  hset64(H_SEQ, seq + 1);
  let cell = firstLine;
  for (let i: u32 = 0; i < n; i++, cell = cellAfter(cell)) {
    const s = stagedAddr(i);
    const posIdx = load<u32>(s);
    const qty = load<u32>(s, 8);
    const line = cellAddr(cell);
    store<u32>(line, posIdx);
    store<u32>(line, qty, 4);
    const pos = posAddr(posIdx);
    const before = availableOf(pos);
    // The invariant the whole product exists for: a hold never takes more than was available.
    assert(<i64>qty <= <i64>load<u32>(s, 12) && <i64>qty <= before, "hold exceeds available");
    assert(<i64>load<u32>(pos, P_RESERVED) + qty <= QUANTITY_MAX, "reserved above the quantity limit");
    writeBegin(pos);
    if (noteChange(posIdx, before)) bumpVersion(pos);
    store<u32>(pos, load<u32>(pos, P_RESERVED) + qty, P_RESERVED);
    writeEnd(pos);
  }

  const rec = resAddr(r);
  store<u32>(rec, chain, R_ID_CELL);
  store<u32>(rec, idLen, R_ID_LEN);
  store<u32>(rec, HELD, R_STATUS);
  store<i32>(rec, channel, R_CHANNEL);
  store<u32>(rec, firstLine, R_LINE_CELL);
  store<u32>(rec, n, R_LINE_COUNT);
  store<f64>(rec, nowMs + ttlMs, R_EXPIRES);
  store<f64>(rec, 0, R_FINISHED);
  store<u32>(rec, END, R_NEXT);
  store<u64>(rec, seq, R_SEQ);
  hset(H_HELD, hget(H_HELD) + 1);
  resPublish(r, h);
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
    setStatus(r, COMMITTED, nowMs);
  } else if (kind == MOVE_RELEASE) {
    if (status == RELEASED) return Status.Ok;
    if (status == HELD) applyLines(r, EFFECT_RELEASE_HELD);
    else if (status == COMMITTED) applyLines(r, EFFECT_RELEASE_COMMITTED);
    else return Status.InvalidTransition;
    setStatus(r, RELEASED, nowMs);
  } else {
    assert(kind == MOVE_FULFILL, "unknown reservation move");
    if (status == FULFILLED) return Status.Ok;
    if (status != COMMITTED) return Status.InvalidTransition;
    applyLines(r, EFFECT_FULFILL);
    setStatus(r, FULFILLED, nowMs);
  }
  lastChanged = true;
  return Status.Ok;
}

// ── reads ──────────────────────────────────────────────────────────────────
export function resStatus(r: u32): u32 { return load<u32>(resAddr(r), R_STATUS); }
export function resChannel(r: u32): i32 { return load<i32>(resAddr(r), R_CHANNEL); }
/** Copies r's lines ([u32 posIdx | u32 qty] each, in order) to out; returns how many. */
export function resLinesTo(r: u32, out: usize): u32 {
  let k: u32 = 0;
  for (let cell = load<u32>(resAddr(r), R_LINE_CELL); cell != END; cell = cellAfter(cell), k++) {
    store<u64>(out + (<usize>k << 3), load<u64>(cellAddr(cell)));
  }
  return k;
}
export function resExpiresAt(r: u32): f64 { return load<f64>(resAddr(r), R_EXPIRES); }
