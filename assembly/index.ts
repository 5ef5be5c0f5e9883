// The ledger's exported entry points: thin wrappers that take ids from a
// caller's scratch area (see layout.ts) and write results back there. Each
// thread passes its own scratch base `s`, so reader threads can share the one
// memory with the writer. Only the writer thread may call the write entries.

import {
  chanFind, chanIncludes, chanIntern, channelApply, channelAvailableOf, chanStageLocation, chanStageReset,
  availableOf, locFind, locIntern, locationApply, posAddr, posFindByKey, posRebuild, skuFind,
  skuHead, stockAdjust as ledgerStockAdjust, stockSet as ledgerStockSet, txAbort as ledgerTxAbort,
  txBegin as ledgerTxBegin, txCommit as ledgerTxCommit, txTouched, txTouchedPosition, txChanged as ledgerTxChanged, locAddr, chanAddr, skuAddr,
  locEnabled, L_ENABLED, P_SAFETY, P_COMMITTED, P_LOC, P_NEXT, P_ON_HAND, P_RESERVED, P_SEQLOCK, P_SKU, P_VERSION, L_SAFETY, C_BUFFER,
  C_ALL, changesReset, changesFinishBumped,
} from "./ledger";
import {
  expireDue, hold, resTouch, lastChanged, lastCreated, lastLineIndex, lastReservation, move, resChannel, resExpiresAt,
  resFind, resLinesTo, resStatus, stageLine, stagedAddr,
} from "./reservations";
import { purgeDue, reservationsLive } from "./retention";
import { resRebuild } from "./reservation-ids";
import { upgradeFrom } from "./upgrade";
import { idRebuild } from "./ids";
import { hashBytes } from "./hash";
import {
  CELL_BYTES, CHANNEL_BITS_BYTES, HEAP_ENTRY_BYTES, CHANNEL_BYTES, H_CELLS, H_CELLS_FREE, H_CHANNELS, H_FIELDS, H_HEAP, H_HELD, H_ID_BYTES,
  H_LOCATIONS, H_POSITIONS, H_RESERVATIONS, H_SEQ, H_SKUS, H_CHANGES, HEADER, changeLog, posSlotCount, LOCATION_BYTES,
  POSITION_BYTES, RESERVATION_BYTES, SCRATCH_KEY_A, SCRATCH_KEY_B, SCRATCH_KEY_C, SCRATCH_KEY_D, SCRATCH_LINES, SCRATCH_RESULT, SKU_BYTES,
  SLOT_BYTES, cellNext, cells, chanBits, chanMask, chanSlots, channels, heap, hget, idBytes, layoutAttach, layoutPlan,
  locMask, locSlots, locations, posSlots, positions, resMask, resSlots, reservations, skuMask, skuSlots, skus,
} from "./layout";
import { Status } from "./status";

// ── setup ──────────────────────────────────────────────────────────────────
/** Plans the layout for these capacities; returns the bytes the memory must have (0: over 4 GiB). */
export function plan(positionsMax: u32, skusMax: u32, reservationsMax: u32, cellsMax: u32, idBytesMax: u32): f64 {
  return <f64>layoutPlan(positionsMax, skusMax, reservationsMax, cellsMax, idBytesMax);
}
/** Loads the layout from the header (every instance, after plan on the writer). */
export function attach(): void { layoutAttach(); }

// ── reads ──────────────────────────────────────────────────────────────────
// Result area (at s + 768): i32 available, onHand, reserved, committed,
// safetyStock, shortfall, enabled, locIdx; f64 version at +32; i32 index at
// +40 and i32 changed at +44 for writes.

function writeFigures(s: usize, p: u32): void {
  const pos = posAddr(p);
  const out = s + SCRATCH_RESULT;
  while (true) {
    const seq = atomic.load<u32>(pos + P_SEQLOCK);
    if (seq & 1) continue; // a write is in progress on another thread
    // Raw fields first, checked against the seqlock, then the figures from them.
    const loc = load<u32>(pos, P_LOC);
    const onHand = load<u32>(pos, P_ON_HAND), reserved = load<u32>(pos, P_RESERVED), committed = load<u32>(pos, P_COMMITTED);
    const safetyOwn = load<i32>(pos, P_SAFETY);
    const version = load<u64>(pos, P_VERSION);
    const locRec = locAddr(loc);
    const enabled = load<u32>(locRec, L_ENABLED) != 0;
    const safety: i64 = safetyOwn >= 0 ? <i64>safetyOwn : <i64>load<u32>(locRec, L_SAFETY);
    if (atomic.load<u32>(pos + P_SEQLOCK) != seq) continue;
    const free = <i64>onHand - <i64>reserved - <i64>committed - safety;
    const short = <i64>reserved + <i64>committed - <i64>onHand;
    store<i32>(out, enabled && free > 0 ? <i32>free : 0);
    store<u32>(out, onHand, 4);
    store<u32>(out, reserved, 8);
    store<u32>(out, committed, 12);
    store<i32>(out, <i32>safety, 16);
    store<i32>(out, short > 0 ? <i32>short : 0, 20);
    store<i32>(out, enabled ? 1 : 0, 24);
    store<u32>(out, loc, 28);
    store<f64>(out, <f64>version, 32);
    return;
  }
}

/** available of position p, read consistently (seqlock). */
function availableConsistent(p: u32): i32 {
  const pos = posAddr(p);
  while (true) {
    const seq = atomic.load<u32>(pos + P_SEQLOCK);
    if (seq & 1) continue; // a write is in progress on another thread
    const a = availableOf(pos);
    if (atomic.load<u32>(pos + P_SEQLOCK) == seq) return <i32>a;
  }
  return 0;
}

/** Figures of (sku at key A, location index `loc`; the wrapper resolves and remembers locations); returns the position index, or -1 (figures untouched) when unknown. */
export function readPositionAt(s: usize, skuLen: u32, loc: u32): i32 {
  const key = s + SCRATCH_KEY_A;
  const p = posFindByKey(key, skuLen, loc);
  if (p >= 0) writeFigures(s, p);
  return p;
}

/** available of (sku at key A, location index `loc`), or -1 when the position is unknown: the figure-only read. */
export function availableAtKey(s: usize, skuLen: u32, loc: u32): i32 {
  const p = posFindByKey(s + SCRATCH_KEY_A, skuLen, loc);
  return p < 0 ? -1 : availableConsistent(p);
}

export function positionFigures(s: usize, p: u32): void { writeFigures(s, p); }
/** First position of the SKU at key A (creation order), or -1. */
export function skuFirstPosition(s: usize, skuLen: u32): i32 {
  const sku = skuFind(s + SCRATCH_KEY_A, skuLen);
  return sku < 0 ? -1 : skuHead(sku);
}
export function skuFirstPositionAt(sku: u32): i32 { return skuHead(sku); }
export function positionNext(p: u32): i32 { return atomic.load<i32>(posAddr(p) + P_NEXT); }
export function positionLocation(p: u32): u32 { return load<u32>(posAddr(p), P_LOC); }
export function positionSku(p: u32): u32 { return load<u32>(posAddr(p), P_SKU); }

/** ATP of the SKU at key A: over every location (channel -1) or a channel's. */
export function skuAvailable(s: usize, skuLen: u32, channel: i32): f64 {
  const sku = skuFind(s + SCRATCH_KEY_A, skuLen);
  return sku < 0 ? 0 : skuAvailableAt(sku, channel);
}

/** ATP of SKU index `sku` over every location (channel -1) or a channel's. */
export function skuAvailableAt(sku: u32, channel: i32): f64 {
  let sum: i64 = 0;
  for (let p = skuHead(sku); p >= 0; p = atomic.load<i32>(posAddr(p) + P_NEXT)) {
    const pos = posAddr(p);
    if (channel < 0) sum += availableOf(pos);
    else if (chanIncludes(channel, load<i32>(pos, P_LOC))) sum += channelAvailableOf(channel, pos);
  }
  return <f64>sum;
}

export function channelFind(s: usize, len: u32): i32 { return chanFind(s + SCRATCH_KEY_C, len); }
export function locationFind(s: usize, len: u32): i32 { return locFind(s + SCRATCH_KEY_B, len); }
export function channelIncludes(c: u32, loc: u32): i32 { return chanIncludes(c, loc) ? 1 : 0; }
export function channelPositionAvailable(c: u32, p: u32): f64 { return <f64>channelAvailableOf(c, posAddr(p)); }
export function channelBuffer(c: u32): u32 { return load<u32>(chanAddr(c), C_BUFFER); }
export function channelAllLocations(c: u32): i32 { return load<u32>(chanAddr(c), C_ALL) != 0 ? 1 : 0; }
export function locationEnabled(l: u32): i32 { return locEnabled(l) ? 1 : 0; }
export function locationSafety(l: u32): u32 { return load<u32>(locAddr(l), L_SAFETY); }

/** Where an id's bytes are: kind 0 SKU, 1 location, 2 channel (reservation ids are in cells, read by no one). */
function idRecord(kind: i32, idx: u32): usize {
  if (kind == 0) return skuAddr(idx);
  if (kind == 1) return locAddr(idx);
  assert(kind == 2, "no id arena record of this kind");
  return chanAddr(idx);
}
export function idOffset(kind: i32, idx: u32): u32 { return <u32>idBytes + load<u32>(idRecord(kind, idx)); }
export function idLength(kind: i32, idx: u32): u32 { return load<u32>(idRecord(kind, idx), 4); }

// ── stock writes ───────────────────────────────────────────────────────────
export function txBegin(): void { ledgerTxBegin(); }
export function txCommit(): void { ledgerTxCommit(); }
export function txAbort(): void { ledgerTxAbort(); }
export function txTouchedCount(): u32 { return txTouched(); }
export function txChanged(): i32 { return ledgerTxChanged() ? 1 : 0; }
export function txTouchedAt(i: u32): u32 { return txTouchedPosition(i); }

/** onHand: -1 leave; safety: -1 leave, -2 clear. */
export function stockSet(s: usize, skuLen: u32, locLen: u32, onHand: i64, safety: i64): i32 {
  return ledgerStockSet(s + SCRATCH_KEY_A, skuLen, s + SCRATCH_KEY_B, locLen, onHand, safety);
}
export function stockAdjust(s: usize, skuLen: u32, locLen: u32, delta: i64): i32 {
  return ledgerStockAdjust(s + SCRATCH_KEY_A, skuLen, s + SCRATCH_KEY_B, locLen, delta);
}

// ── reservations ───────────────────────────────────────────────────────────
/** Stages merged line i of a hold: sku at key A, location index `loc` (-1: unknown). */
export function holdStageAt(s: usize, i: u32, skuLen: u32, loc: i32, qty: u32): void {
  const key = s + SCRATCH_KEY_A;
  stageLine(i, loc >= 0 ? posFindByKey(key, skuLen, loc) : -1, loc, qty);
}
/** Places the staged hold: id at key D, channel at key C (chanLen 0: none). */
export function holdPlace(s: usize, idLen: u32, chanLen: u32, n: u32, ttlMs: f64, nowMs: f64): i32 {
  const idKey = s + SCRATCH_KEY_D;
  changesReset();
  const status = hold(idKey, idLen, hashBytes(idKey, idLen), s + SCRATCH_KEY_C, chanLen, n, ttlMs, nowMs);
  changesFinishBumped();
  writeOutcome(s);
  return status;
}
/**
 * A one-line hold in one call: the line's sku at key A and location index
 * `loc` (-1: unknown), the id at key D, the channel at key C. The id's table
 * slot is loaded before the line is resolved, so its likely cache miss (the
 * reservation table is the ledger's largest) overlaps the position lookup.
 */
export function holdOne(s: usize, skuLen: u32, loc: i32, qty: u32, idLen: u32, chanLen: u32, ttlMs: f64, nowMs: f64): i32 {
  const idKey = s + SCRATCH_KEY_D;
  const h = hashBytes(idKey, idLen);
  resTouch(h);
  stageLine(0, loc >= 0 ? posFindByKey(s + SCRATCH_KEY_A, skuLen, loc) : -1, loc, qty);
  changesReset();
  const status = hold(idKey, idLen, h, s + SCRATCH_KEY_C, chanLen, 1, ttlMs, nowMs);
  changesFinishBumped();
  writeOutcome(s);
  return status;
}
/** The figure staged line i was checked against (after an insufficient-stock answer). */
export function holdCheckedAvailable(i: u32): u32 { return load<u32>(stagedAddr(i), 12); }
/** kind: 1 commit, 2 release, 3 fulfill; the id at key D. */
export function moveReservation(s: usize, idLen: u32, kind: i32, nowMs: f64): i32 {
  changesReset();
  const status = move(s + SCRATCH_KEY_D, idLen, kind, nowMs);
  changesFinishBumped();
  writeOutcome(s);
  return status;
}
function writeOutcome(s: usize): void {
  const out = s + SCRATCH_RESULT;
  store<i32>(out, lastReservation, 40);
  store<i32>(out, (lastChanged ? 1 : 0) | (lastCreated ? 2 : 0), 44);
  store<i32>(out, lastLineIndex, 48);
}
export function expire(nowMs: f64, limit: u32): u32 {
  changesReset();
  const n = expireDue(nowMs, limit);
  changesFinishBumped();
  return n;
}
/** Purges up to `limit` reservations finished at least retentionMs before nowMs; returns how many. Changes no position. */
export function purge(nowMs: f64, retentionMs: f64, limit: u32): u32 {
  changesReset();
  return purgeDue(nowMs, retentionMs, limit);
}
/** Reservations kept (held, committed, or finished and not yet purged). */
export function reservationCount(): u32 { return reservationsLive(); }
/** The change log of the last command: count, then entries [posIdx, availableBefore] at changeLogBase. */
export function changeCount(): u32 { return hget(H_CHANGES); }
export function changeLogBase(): u32 { return <u32>changeLog; }
/** The reservation whose id is at key D, or -1. */
export function reservationFind(s: usize, idLen: u32): i32 { return resFind(s + SCRATCH_KEY_D, idLen); }
export function reservationStatus(r: u32): u32 { return resStatus(r); }
export function reservationChannel(r: u32): i32 { return resChannel(r); }
/** Writes r's lines to the lines-out area (at s + 1280: [u32 posIdx | u32 qty] each); returns how many. */
export function reservationLines(s: usize, r: u32): u32 { return resLinesTo(r, s + SCRATCH_LINES); }
export function reservationExpiresAt(r: u32): f64 { return resExpiresAt(r); }

// ── locations and channels ─────────────────────────────────────────────────
/** Creates (if new) and updates the location at key B; index at result+40, changed at result+44. Call inside a transaction. */
export function locationPut(s: usize, locLen: u32, enabled: i32, safety: i64): i32 {
  const l = locIntern(s + SCRATCH_KEY_B, locLen);
  if (l < 0) return -l;
  const out = s + SCRATCH_RESULT;
  store<i32>(out, l, 40);
  store<i32>(out, locationApply(l, enabled, safety), 44);
  return Status.Ok;
}
export function channelStageBegin(): void { chanStageReset(); }
export function channelStage(s: usize, locLen: u32): i32 { return chanStageLocation(s + SCRATCH_KEY_B, locLen); }
/** Creates (if new) and updates the channel at key C; buffer -1 leave; mode -1 leave, 0 staged set, 1 all. Call inside a transaction. */
export function channelPut(s: usize, chanLen: u32, buffer: i64, mode: i32, stagedCount: u32): i32 {
  const c = chanIntern(s + SCRATCH_KEY_C, chanLen);
  if (c < 0) return -c;
  const out = s + SCRATCH_RESULT;
  store<i32>(out, c, 40);
  store<i32>(out, channelApply(c, buffer, mode, stagedCount), 44);
  return Status.Ok;
}

// ── snapshots and determinism ──────────────────────────────────────────────
// Persistent regions: 0 positions, 1 skus, 2 locations, 3 channels, 4 channel
// bitsets, 5 reservations, 6 cells, 7 cell links, 8 heap, 9 id bytes. Hash
// tables are derived and rebuilt after a load (the reservation table from the
// slots its records keep).
export function regionBase(i: i32): u32 {
  switch (i) {
    case 0: return <u32>positions;
    case 1: return <u32>skus;
    case 2: return <u32>locations;
    case 3: return <u32>channels;
    case 4: return <u32>chanBits;
    case 5: return <u32>reservations;
    case 6: return <u32>cells;
    case 7: return <u32>cellNext;
    case 8: return <u32>heap;
    case 9: return <u32>idBytes;
  }
  return 0;
}
export function regionUsedBytes(i: i32): u32 {
  switch (i) {
    case 0: return hget(H_POSITIONS) * <u32>POSITION_BYTES;
    case 1: return hget(H_SKUS) * <u32>SKU_BYTES;
    case 2: return hget(H_LOCATIONS) * <u32>LOCATION_BYTES;
    case 3: return hget(H_CHANNELS) * <u32>CHANNEL_BYTES;
    case 4: return hget(H_CHANNELS) * <u32>CHANNEL_BITS_BYTES;
    case 5: return hget(H_RESERVATIONS) * <u32>RESERVATION_BYTES;
    case 6: return hget(H_CELLS) * <u32>CELL_BYTES;
    case 7: return hget(H_CELLS) << 2;
    case 8: return hget(H_HEAP) * <u32>HEAP_ENTRY_BYTES;
    case 9: return hget(H_ID_BYTES);
  }
  return 0;
}
export const REGIONS_PERSISTENT: i32 = 10;
export const HEADER_OFFSET: u32 = <u32>HEADER;
export const HEADER_FIELDS: u32 = H_FIELDS;

/**
 * Completes a snapshot of an older layout (1, 2 or 3) whose bytes the
 * wrapper has placed in this layout's regions (call before rebuildIndexes):
 * see upgrade.ts.
 */
export function upgradeLayout(from: u32): void { upgradeFrom(from); }

/** Rebuilds every hash table from the records. */
export function rebuildIndexes(): void {
  idRebuild(skus, SKU_BYTES, skuSlots, skuMask, hget(H_SKUS));
  idRebuild(locations, LOCATION_BYTES, locSlots, locMask, hget(H_LOCATIONS));
  idRebuild(channels, CHANNEL_BYTES, chanSlots, chanMask, hget(H_CHANNELS));
  resRebuild();
  posRebuild();
}

function fnv(h: u64, ptr: usize, len: usize): u64 {
  // 8 bytes a step: this runs over whole tables in tests.
  let p = ptr;
  const end8 = ptr + (len & ~7);
  while (p < end8) { h = (h ^ load<u64>(p)) * 0x100000001B3; p += 8; }
  while (p < ptr + len) { h = (h ^ <u64>load<u8>(p)) * 0x100000001B3; p++; }
  return h;
}

/** A digest of every persistent byte (but seqlocks) and every hash table: equal digests mean identical state. */
export function stateHash(): u64 {
  let h: u64 = 0xCBF29CE484222325;
  for (let f = H_POSITIONS; f <= H_HELD; f++) h = fnv(h, HEADER + (<usize>f << 2), 4);
  for (let f = H_CELLS_FREE; f <= H_SEQ + 1; f++) h = fnv(h, HEADER + (<usize>f << 2), 4);
  // Positions without their seqlock word: it counts writes, rolled-back ones
  // included, so it is a concurrency device, not ledger state.
  const n = hget(H_POSITIONS);
  for (let p: u32 = 0; p < n; p++) {
    const pos = posAddr(p);
    h = fnv(h, pos, P_SEQLOCK);
    h = fnv(h, pos + P_SEQLOCK + 4, POSITION_BYTES - P_SEQLOCK - 4);
  }
  for (let i = 1; i < REGIONS_PERSISTENT; i++) h = fnv(h, regionBase(i), regionUsedBytes(i));
  h = fnv(h, posSlots, <usize>posSlotCount << 2);
  h = fnv(h, skuSlots, (<usize>skuMask + 1) * SLOT_BYTES);
  h = fnv(h, locSlots, (<usize>locMask + 1) * SLOT_BYTES);
  h = fnv(h, chanSlots, (<usize>chanMask + 1) * SLOT_BYTES);
  h = fnv(h, resSlots, (<usize>resMask + 1) * SLOT_BYTES);
  return h;
}
