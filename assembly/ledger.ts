// The stock ledger proper: positions, SKUs, locations and channels, the
// figures every read reports, and stock-write transactions. A transaction
// (txBegin … txCommit | txAbort) applies items in order and logs what it
// touched, so a failing item rolls the ledger back to the exact bytes it had:
// touched positions get their original values back, and everything the
// transaction created (ids, SKUs, locations, positions, channels) is removed
// newest-first. Versions are bumped once per touched position at commit, and
// only when a reported figure changed.

import {
  CHANNELS_MAX, LOCATIONS_MAX, NONE, POS_WORD_INDEX_BITS, QUANTITY_MAX, DELTA_MAX, SKU_ID_BYTES_MAX, STOCK_ITEMS_MAX,
} from "./constants";
import { bytesEqual, hashBytes, hashPair } from "./hash";
import { idFind, idPublish, idStore, idUnpublish } from "./ids";
import {
  CHANNEL_BITS_BYTES, CHANNEL_BYTES, H_CHANNELS, H_ID_BYTES, H_LOCATIONS, H_POSITIONS, H_POSITIONS_MAX, H_SKUS,
  H_SKUS_MAX, LOCATION_BYTES, POSITION_BYTES, SKU_BYTES, TOUCHED_BYTES, chanBits, chanMask, chanSlots, chanTemp,
  channels, hget, hset, idBytes, locMask, locSlots, locations, posSlots, positions, skuMask, skuSlots, skus,
  txMask, txSlots, touchedBase, changeLog, changeBits, posSlotCount, H_CHANGES,
} from "./layout";
import { Status } from "./status";

// ── records ────────────────────────────────────────────────────────────────
@inline export function posAddr(p: u32): usize { return positions + <usize>p * POSITION_BYTES; }
@inline export function skuAddr(s: u32): usize { return skus + <usize>s * SKU_BYTES; }
@inline export function locAddr(l: u32): usize { return locations + <usize>l * LOCATION_BYTES; }
@inline export function chanAddr(c: u32): usize { return channels + <usize>c * CHANNEL_BYTES; }

// Position fields (see layout.ts)
export const P_SKU = 0, P_LOC = 4, P_ON_HAND = 8, P_RESERVED = 12, P_COMMITTED = 16, P_SAFETY = 20;
export const P_VERSION = 24, P_NEXT = 32, P_SEQLOCK = 36, P_SKU_TAG = 40, P_SKU_ID = 44;
// SKU fields
const S_HEAD = 8, S_TAIL = 12, S_COUNT = 16;
// Location fields
export const L_ENABLED = 8, L_SAFETY = 12;
// Channel fields
export const C_BUFFER = 8, C_ALL = 12, C_LOC_COUNT = 16;

// The seqlock lets reader threads take a consistent copy of a position: the
// writer makes it odd for the duration of a write.
@inline export function writeBegin(pos: usize): void { atomic.add<u32>(pos + P_SEQLOCK, 1); }
@inline export function writeEnd(pos: usize): void { atomic.add<u32>(pos + P_SEQLOCK, 1); }

// ── lookups ────────────────────────────────────────────────────────────────
export function skuFind(key: usize, len: u32): i32 {
  return idFind(skus, SKU_BYTES, skuSlots, skuMask, key, len, hashBytes(key, len));
}
export function locFind(key: usize, len: u32): i32 {
  return idFind(locations, LOCATION_BYTES, locSlots, locMask, key, len, hashBytes(key, len));
}
export function chanFind(key: usize, len: u32): i32 {
  return idFind(channels, CHANNEL_BYTES, chanSlots, chanMask, key, len, hashBytes(key, len));
}
// The position table holds one 4-byte word per slot, keyed by (SKU tag,
// location index): [6 bits of the key's hash | posIdx+1 in the low 26]. A
// SKU's tag is the top 24 bits of its id's hash with the id's byte length
// below them; the record keeps the tag and where the id's bytes are, so a
// read by SKU id checks a candidate with the record and the id bytes alone:
// no SKU-table probe, no SKU record. The 6 hash bits in the word let a probe
// pass a slot of another key without reading its record (63 in 64 of them):
// at the table's 2/3 load a lookup that finds its key passes about 1 such
// slot and one that does not (every insert) about 4, each a random record,
// and a cache miss when the ledger is large.
// The bits are the hash's low ones, which fastrange (posSlotFirst) all but
// ignores, so neighbouring slots do not share them.
@inline function posSlotFirst(h: u32): u32 { return <u32>((<u64>h * <u64>posSlotCount) >> 32); }
@inline function posSlotNext(i: u32): u32 { return i + 1 == posSlotCount ? 0 : i + 1; }
/** Positions a table word can name: posIdx+1 fits its low 26 bits (layoutPlan refuses more). */
const POSITIONS_ADDRESSABLE: u32 = (1 << POS_WORD_INDEX_BITS) - 1;
@inline function posWord(p: u32, h: u32): u32 { return (h << POS_WORD_INDEX_BITS) | (p + 1); }
@inline function posWordHashBits(h: u32): u32 { return h << POS_WORD_INDEX_BITS; }
@inline function posWordIndex1(word: u32): u32 { return word & POSITIONS_ADDRESSABLE; }

/** The tag of a SKU id of `len` bytes (at most SKU_ID_BYTES_MAX, so it fits the low byte) hashing to h. */
@inline export function skuTag(h: u32, len: u32): u32 { return (h & 0xFFFFFF00) | len; }

/** Position of (SKU index `sku` with tag `tag`, location `loc`), or NONE. */
export function posFind(sku: u32, tag: u32, loc: u32): i32 {
  const h = hashPair(tag, loc);
  const bits = posWordHashBits(h);
  let i = posSlotFirst(h);
  while (true) {
    const word = atomic.load<u32>(posSlots + (<usize>i << 2));
    if (word == 0) return NONE;
    if ((word & ~POSITIONS_ADDRESSABLE) == bits) {
      const p = posWordIndex1(word) - 1;
      const pos = posAddr(p);
      if (load<u32>(pos, P_SKU) == sku && load<u32>(pos, P_LOC) == loc) return <i32>p;
    }
    i = posSlotNext(i);
  }
  return NONE;
}

/** Position of (the SKU id of `len` bytes at key, location `loc`), or NONE. */
export function posFindByKey(key: usize, len: u32, loc: u32): i32 {
  if (len > SKU_ID_BYTES_MAX) return NONE; // no such SKU is ever created
  const tag = skuTag(hashBytes(key, len), len);
  const h = hashPair(tag, loc);
  const bits = posWordHashBits(h);
  let i = posSlotFirst(h);
  while (true) {
    const word = atomic.load<u32>(posSlots + (<usize>i << 2));
    if (word == 0) return NONE;
    if ((word & ~POSITIONS_ADDRESSABLE) == bits) {
      const p = posWordIndex1(word) - 1;
      const pos = posAddr(p);
      // Equal tags mean equal lengths, so the bytes decide.
      if (load<u32>(pos, P_SKU_TAG) == tag && load<u32>(pos, P_LOC) == loc && bytesEqual(idBytes + load<u32>(pos, P_SKU_ID), key, len)) {
        return <i32>p;
      }
    }
    i = posSlotNext(i);
  }
  return NONE;
}

function posPublish(p: u32): void {
  const pos = posAddr(p);
  const h = hashPair(load<u32>(pos, P_SKU_TAG), load<u32>(pos, P_LOC));
  let i = posSlotFirst(h);
  while (atomic.load<u32>(posSlots + (<usize>i << 2)) != 0) i = posSlotNext(i);
  atomic.store<u32>(posSlots + (<usize>i << 2), posWord(p, h));
}

function posUnpublish(p: u32): void {
  const pos = posAddr(p);
  let i = posSlotFirst(hashPair(load<u32>(pos, P_SKU_TAG), load<u32>(pos, P_LOC)));
  while (true) {
    const slot = posSlots + (<usize>i << 2);
    const word = load<u32>(slot);
    assert(word != 0, "rollback of an unpublished position");
    if (posWordIndex1(word) == p + 1) { atomic.store<u32>(slot, 0); return; } // readers load it atomically
    i = posSlotNext(i);
  }
}

/**
 * Fills every position's SKU tag and id offset from its SKU record: snapshots
 * of layout 1 have zeros there (the fields were unused), everything else they
 * hold is unchanged. Call before posRebuild.
 */
export function posDeriveSkuKeys(): void {
  const n = hget(H_POSITIONS);
  for (let p: u32 = 0; p < n; p++) {
    const pos = posAddr(p);
    const sku = skuAddr(load<u32>(pos, P_SKU));
    const off = load<u32>(sku), len = load<u32>(sku, 4);
    store<u32>(pos, skuTag(hashBytes(idBytes + off, len), len), P_SKU_TAG);
    store<u32>(pos, off, P_SKU_ID);
  }
}

/** Rebuilds the position table in index order (after a snapshot load). */
export function posRebuild(): void {
  memory.fill(posSlots, 0, <usize>posSlotCount << 2);
  const n = hget(H_POSITIONS);
  for (let p: u32 = 0; p < n; p++) posPublish(p);
}

// ── figures ────────────────────────────────────────────────────────────────
@inline export function locEnabled(loc: u32): bool { return load<u32>(locAddr(loc), L_ENABLED) != 0; }

@inline
function effectiveSafety(safetyOwn: i32, locSafety: u32): i64 {
  return safetyOwn >= 0 ? <i64>safetyOwn : <i64>locSafety;
}

@inline
function availableFrom(onHand: i64, reserved: i64, committed: i64, safety: i64, enabled: bool): i64 {
  if (!enabled) return 0;
  const a = onHand - reserved - committed - safety;
  return a > 0 ? a : 0;
}

@inline
function shortfallFrom(onHand: i64, reserved: i64, committed: i64): i64 {
  const s = reserved + committed - onHand;
  return s > 0 ? s : 0;
}

/** Effective safety stock of a position. */
export function safetyOf(pos: usize): i64 {
  return effectiveSafety(load<i32>(pos, P_SAFETY), load<u32>(locAddr(load<u32>(pos, P_LOC)), L_SAFETY));
}

/** available = max(0, onHand − reserved − committed − safetyStock); 0 at a disabled location. */
export function availableOf(pos: usize): i64 {
  const loc = locAddr(load<u32>(pos, P_LOC));
  return availableFrom(
    load<u32>(pos, P_ON_HAND), load<u32>(pos, P_RESERVED), load<u32>(pos, P_COMMITTED),
    effectiveSafety(load<i32>(pos, P_SAFETY), load<u32>(loc, L_SAFETY)), load<u32>(loc, L_ENABLED) != 0,
  );
}

export function shortfallOf(pos: usize): i64 {
  return shortfallFrom(load<u32>(pos, P_ON_HAND), load<u32>(pos, P_RESERVED), load<u32>(pos, P_COMMITTED));
}

/** Adds one to a position's version (callers hold the seqlock). */
@inline export function bumpVersion(pos: usize): void { store<u64>(pos, load<u64>(pos, P_VERSION) + 1, P_VERSION); }

// ── change log ─────────────────────────────────────────────────────────────
// Every command logs each position whose figures it changes, once, with its
// available before the command, and each logged position's version goes up
// by exactly one: one command, one version step, one delta. Stock and
// location writes bump at the end (changesFinish); reservation commands, which
// change a position in one seqlock window, bump in that same window when
// noteChange says the position is new to the log (changesFinishBumped then
// only clears the dedupe bits). The engine turns the log into stream deltas
// (and channel deltas, from the available-before figures) after each command.

export function changesReset(): void { hset(H_CHANGES, 0); }

/** Logs position p (call before changing it); a position is logged once per command. True when newly logged. */
export function noteChange(p: u32, availableBefore: i64): bool {
  const byte = changeBits + (<usize>p >> 3);
  const bit = <u8>1 << <u8>(p & 7);
  const bits = load<u8>(byte);
  if (bits & bit) return false;
  store<u8>(byte, bits | bit);
  const n = hget(H_CHANGES);
  const entry = changeLog + (<usize>n << 3);
  store<u32>(entry, p);
  store<u32>(entry, <u32>availableBefore, 4);
  hset(H_CHANGES, n + 1);
  return true;
}

/** Bumps the version of every logged position once and clears the dedupe bits. The log stays readable. */
export function changesFinish(): void {
  const n = hget(H_CHANGES);
  for (let k: u32 = 0; k < n; k++) {
    const p = load<u32>(changeLog + (<usize>k << 3));
    const pos = posAddr(p);
    writeBegin(pos);
    bumpVersion(pos);
    writeEnd(pos);
    const byte = changeBits + (<usize>p >> 3);
    store<u8>(byte, load<u8>(byte) & ~(<u8>1 << <u8>(p & 7)));
  }
}

/** Clears the dedupe bits of a command whose positions were bumped as they were logged. The log stays readable. */
export function changesFinishBumped(): void {
  const n = hget(H_CHANGES);
  for (let k: u32 = 0; k < n; k++) {
    const p = load<u32>(changeLog + (<usize>k << 3));
    const byte = changeBits + (<usize>p >> 3);
    store<u8>(byte, load<u8>(byte) & ~(<u8>1 << <u8>(p & 7)));
  }
}

// ── channels ───────────────────────────────────────────────────────────────
@inline
export function chanIncludes(c: u32, loc: i32): bool {
  const ch = chanAddr(c);
  if (load<u32>(ch, C_ALL) != 0) return true;
  if (loc < 0) return false;
  const bits = chanBits + <usize>c * CHANNEL_BITS_BYTES;
  return (load<u8>(bits + (<usize>loc >> 3)) & (<u8>1 << <u8>(loc & 7))) != 0;
}

/** A position's figure for a channel: max(0, available − buffer). */
@inline
export function channelAvailableOf(c: u32, pos: usize): i64 {
  const a = availableOf(pos) - <i64>load<u32>(chanAddr(c), C_BUFFER);
  return a > 0 ? a : 0;
}

// ── transactions ───────────────────────────────────────────────────────────
// Touched entry (24 B): posIdx, onHand, reserved, committed, safetyOwn, spare.
let txOpen = false;
let txTouchedCount: u32 = 0;
let txChangedFlag = false; // the committed transaction changed any byte of state
let markPositions: u32 = 0;
let markSkus: u32 = 0;
let markLocations: u32 = 0;
let markChannels: u32 = 0;
let markIdBytes: u32 = 0;

export function txBegin(): void {
  assert(!txOpen, "nested ledger transaction");
  txOpen = true;
  txTouchedCount = 0;
  changesReset();
  markPositions = hget(H_POSITIONS);
  markSkus = hget(H_SKUS);
  markLocations = hget(H_LOCATIONS);
  markChannels = hget(H_CHANNELS);
  markIdBytes = hget(H_ID_BYTES);
}

export function txTouched(): u32 { return txTouchedCount; }
/** Whether the last committed transaction changed anything (created or modified). */
export function txChanged(): bool { return txChangedFlag; }
export function txTouchedPosition(i: u32): u32 { return load<u32>(touchedBase + <usize>i * TOUCHED_BYTES); }

/** Logs a position's original values the first time a transaction touches it. */
function touch(p: u32): bool {
  let i = (p * 0x9E3779B1) & txMask;
  while (true) {
    const v = load<u32>(txSlots + (<usize>i << 2));
    if (v == 0) break;
    if (v == p + 1) return true;
    i = (i + 1) & txMask;
  }
  if (txTouchedCount >= STOCK_ITEMS_MAX) return false;
  store<u32>(txSlots + (<usize>i << 2), p + 1);
  const pos = posAddr(p);
  const t = touchedBase + <usize>txTouchedCount * TOUCHED_BYTES;
  store<u32>(t, p);
  store<u32>(t, load<u32>(pos, P_ON_HAND), 4);
  store<u32>(t, load<u32>(pos, P_RESERVED), 8);
  store<u32>(t, load<u32>(pos, P_COMMITTED), 12);
  store<i32>(t, load<i32>(pos, P_SAFETY), 16);
  txTouchedCount++;
  return true;
}

function clearTouchSlots(): void {
  for (let k: u32 = 0; k < txTouchedCount; k++) {
    const p = load<u32>(touchedBase + <usize>k * TOUCHED_BYTES);
    let i = (p * 0x9E3779B1) & txMask;
    while (load<u32>(txSlots + (<usize>i << 2)) != p + 1) i = (i + 1) & txMask;
    store<u32>(txSlots + (<usize>i << 2), 0);
  }
}

/** Makes the transaction's changes final and bumps the version of every position whose figures moved. */
export function txCommit(): void {
  assert(txOpen, "commit without a transaction");
  txChangedFlag = hget(H_POSITIONS) != markPositions || hget(H_SKUS) != markSkus ||
    hget(H_LOCATIONS) != markLocations || hget(H_CHANNELS) != markChannels || hget(H_ID_BYTES) != markIdBytes;
  for (let k: u32 = 0; k < txTouchedCount; k++) {
    const t = touchedBase + <usize>k * TOUCHED_BYTES;
    const pos = posAddr(load<u32>(t));
    const loc = locAddr(load<u32>(pos, P_LOC));
    const enabled = load<u32>(loc, L_ENABLED) != 0;
    const locSafety = load<u32>(loc, L_SAFETY);
    const on0: i64 = load<u32>(t, 4), res0: i64 = load<u32>(t, 8), com0: i64 = load<u32>(t, 12);
    const ss0 = effectiveSafety(load<i32>(t, 16), locSafety);
    const on1: i64 = load<u32>(pos, P_ON_HAND), res1: i64 = load<u32>(pos, P_RESERVED), com1: i64 = load<u32>(pos, P_COMMITTED);
    const ss1 = effectiveSafety(load<i32>(pos, P_SAFETY), locSafety);
    assert(res0 == res1 && com0 == com1, "a stock write changed reserved or committed");
    if (on0 != on1 || load<i32>(t, 16) != load<i32>(pos, P_SAFETY)) txChangedFlag = true;
    if (on0 != on1 || ss0 != ss1) {
      // available and shortfall derive from these; they can only move if onHand or safety did.
      noteChange(load<u32>(t), availableFrom(on0, res0, com0, ss0, enabled));
    }
  }
  clearTouchSlots();
  changesFinish();
  txOpen = false;
}

/** Restores the ledger to the exact bytes it had at txBegin. */
export function txAbort(): void {
  assert(txOpen, "abort without a transaction");
  for (let k = <i32>txTouchedCount - 1; k >= 0; k--) {
    const t = touchedBase + <usize>k * TOUCHED_BYTES;
    const p = load<u32>(t);
    if (p >= markPositions) continue; // created by this transaction: removed below
    const pos = posAddr(p);
    writeBegin(pos);
    store<u32>(pos, load<u32>(t, 4), P_ON_HAND);
    store<u32>(pos, load<u32>(t, 8), P_RESERVED);
    store<u32>(pos, load<u32>(t, 12), P_COMMITTED);
    store<i32>(pos, load<i32>(t, 16), P_SAFETY);
    writeEnd(pos);
  }
  clearTouchSlots();
  txTouchedCount = 0;
  // Newest first, so each removed entry is the last of its table and chain.
  for (let p = hget(H_POSITIONS); p > markPositions; p--) removePosition(p - 1);
  for (let s = hget(H_SKUS); s > markSkus; s--) {
    idUnpublish(skus, SKU_BYTES, skuSlots, skuMask, s - 1);
    memory.fill(skuAddr(s - 1), 0, SKU_BYTES);
  }
  hset(H_SKUS, markSkus);
  for (let l = hget(H_LOCATIONS); l > markLocations; l--) {
    idUnpublish(locations, LOCATION_BYTES, locSlots, locMask, l - 1);
    memory.fill(locAddr(l - 1), 0, LOCATION_BYTES);
  }
  hset(H_LOCATIONS, markLocations);
  for (let c = hget(H_CHANNELS); c > markChannels; c--) {
    idUnpublish(channels, CHANNEL_BYTES, chanSlots, chanMask, c - 1);
    memory.fill(chanAddr(c - 1), 0, CHANNEL_BYTES);
    memory.fill(chanBits + <usize>(c - 1) * CHANNEL_BITS_BYTES, 0, CHANNEL_BITS_BYTES);
  }
  hset(H_CHANNELS, markChannels);
  assert(hget(H_CHANGES) == 0, "a rolled-back transaction logged changes");
  const used = hget(H_ID_BYTES);
  memory.fill(idBytes + markIdBytes, 0, used - markIdBytes);
  hset(H_ID_BYTES, markIdBytes);
  txOpen = false;
}

function removePosition(p: u32): void {
  const pos = posAddr(p);
  const s = load<u32>(pos, P_SKU);
  posUnpublish(p);
  if (s < markSkus) {
    // Unlink from the surviving SKU's chain; p is its tail.
    const sku = skuAddr(s);
    store<u32>(sku, load<u32>(sku, S_COUNT) - 1, S_COUNT);
    if (load<i32>(sku, S_HEAD) == <i32>p) {
      store<i32>(sku, NONE, S_HEAD);
      store<i32>(sku, NONE, S_TAIL);
    } else {
      let q = load<i32>(sku, S_HEAD);
      while (load<i32>(posAddr(q), P_NEXT) != <i32>p) q = load<i32>(posAddr(q), P_NEXT);
      atomic.store<i32>(posAddr(q) + P_NEXT, NONE);
      store<i32>(sku, q, S_TAIL);
    }
  }
  memory.fill(pos, 0, POSITION_BYTES);
  hset(H_POSITIONS, p);
}

// ── creation ───────────────────────────────────────────────────────────────
/** Index of the SKU `key`, created if new; a negative Status when full. */
function skuIntern(key: usize, len: u32, h: u32): i32 {
  const found = idFind(skus, SKU_BYTES, skuSlots, skuMask, key, len, h);
  if (found >= 0) return found;
  const n = hget(H_SKUS);
  if (n >= hget(H_SKUS_MAX)) return -Status.LedgerFull;
  const off = idStore(key, len);
  if (off < 0) return -Status.LedgerFull;
  const sku = skuAddr(n);
  store<i32>(sku, NONE, S_HEAD);
  store<i32>(sku, NONE, S_TAIL);
  store<u32>(sku, 0, S_COUNT);
  hset(H_SKUS, n + 1);
  idPublish(skus, SKU_BYTES, skuSlots, skuMask, n, <u32>off, len, h);
  return <i32>n;
}

/** Index of the location `key`, created (enabled, safety default 0) if new; a negative Status when full. */
export function locIntern(key: usize, len: u32): i32 {
  const h = hashBytes(key, len);
  const found = idFind(locations, LOCATION_BYTES, locSlots, locMask, key, len, h);
  if (found >= 0) return found;
  const n = hget(H_LOCATIONS);
  if (n >= LOCATIONS_MAX) return -Status.LedgerFull;
  const off = idStore(key, len);
  if (off < 0) return -Status.LedgerFull;
  const loc = locAddr(n);
  store<u32>(loc, 1, L_ENABLED);
  store<u32>(loc, 0, L_SAFETY);
  hset(H_LOCATIONS, n + 1);
  idPublish(locations, LOCATION_BYTES, locSlots, locMask, n, <u32>off, len, h);
  return <i32>n;
}

/** Index of the channel `key`, created (every location, buffer 0) if new; a negative Status when full. */
export function chanIntern(key: usize, len: u32): i32 {
  const h = hashBytes(key, len);
  const found = idFind(channels, CHANNEL_BYTES, chanSlots, chanMask, key, len, h);
  if (found >= 0) return found;
  const n = hget(H_CHANNELS);
  if (n >= CHANNELS_MAX) return -Status.LedgerFull;
  const off = idStore(key, len);
  if (off < 0) return -Status.LedgerFull;
  const ch = chanAddr(n);
  store<u32>(ch, 0, C_BUFFER);
  store<u32>(ch, 1, C_ALL);
  store<u32>(ch, 0, C_LOC_COUNT);
  hset(H_CHANNELS, n + 1);
  idPublish(channels, CHANNEL_BYTES, chanSlots, chanMask, n, <u32>off, len, h);
  return <i32>n;
}

/** Index of the position (sku at keyA, location at keyB), created if new; a negative Status when full. */
function posIntern(skuKey: usize, skuLen: u32, locKey: usize, locLen: u32): i32 {
  if (skuLen > SKU_ID_BYTES_MAX) return -Status.IdLengthOutOfRange;
  const h = hashBytes(skuKey, skuLen);
  const tag = skuTag(h, skuLen);
  const s = skuIntern(skuKey, skuLen, h);
  if (s < 0) return s;
  const l = locIntern(locKey, locLen);
  if (l < 0) return l;
  const found = posFind(s, tag, l);
  if (found >= 0) return found;
  const n = hget(H_POSITIONS);
  if (n >= hget(H_POSITIONS_MAX)) return -Status.LedgerFull;
  const pos = posAddr(n);
  store<u32>(pos, s, P_SKU);
  store<u32>(pos, l, P_LOC);
  store<i32>(pos, -1, P_SAFETY);
  store<i32>(pos, NONE, P_NEXT);
  store<u32>(pos, tag, P_SKU_TAG);
  store<u32>(pos, load<u32>(skuAddr(s)), P_SKU_ID);
  hset(H_POSITIONS, n + 1);
  const sku = skuAddr(s);
  const tail = load<i32>(sku, S_TAIL);
  if (tail < 0) store<i32>(sku, n, S_HEAD);
  else atomic.store<i32>(posAddr(tail) + P_NEXT, n);
  store<i32>(sku, n, S_TAIL);
  store<u32>(sku, load<u32>(sku, S_COUNT) + 1, S_COUNT);
  posPublish(n);
  return <i32>n;
}

export function skuHead(s: u32): i32 { return load<i32>(skuAddr(s), S_HEAD); }

// ── stock writes (inside a transaction) ────────────────────────────────────
/** Sets onHand (-1: leave) and safetyOwn (-1: leave, -2: clear) of one position. */
export function stockSet(skuKey: usize, skuLen: u32, locKey: usize, locLen: u32, onHand: i64, safety: i64): i32 {
  assert(txOpen, "stock write outside a transaction");
  if (onHand < -1 || onHand > QUANTITY_MAX || safety < -2 || safety > QUANTITY_MAX) return Status.QuantityOutOfRange;
  const p = posIntern(skuKey, skuLen, locKey, locLen);
  if (p < 0) return -p;
  if (!touch(p)) return Status.LedgerFull;
  const pos = posAddr(p);
  writeBegin(pos);
  if (onHand >= 0) store<u32>(pos, <u32>onHand, P_ON_HAND);
  if (safety >= 0) store<i32>(pos, <i32>safety, P_SAFETY);
  else if (safety == -2) store<i32>(pos, -1, P_SAFETY);
  writeEnd(pos);
  return Status.Ok;
}

/** Adds delta to onHand of one position; refuses to leave 0 … QUANTITY_MAX. */
export function stockAdjust(skuKey: usize, skuLen: u32, locKey: usize, locLen: u32, delta: i64): i32 {
  assert(txOpen, "stock write outside a transaction");
  if (delta < -DELTA_MAX || delta > DELTA_MAX) return Status.QuantityOutOfRange;
  // Check against the current value before creating anything.
  const l = locFind(locKey, locLen);
  const existing = l >= 0 ? posFindByKey(skuKey, skuLen, l) : NONE;
  const current: i64 = existing >= 0 ? <i64>load<u32>(posAddr(existing), P_ON_HAND) : 0;
  const next = current + delta;
  if (next < 0) return Status.OnHandMustNotGoNegative;
  if (next > QUANTITY_MAX) return Status.OnHandMustNotExceedLimit;
  const p = existing >= 0 ? existing : posIntern(skuKey, skuLen, locKey, locLen);
  if (p < 0) return -p;
  if (!touch(p)) return Status.LedgerFull;
  const pos = posAddr(p);
  writeBegin(pos);
  store<u32>(pos, <u32>next, P_ON_HAND);
  writeEnd(pos);
  return Status.Ok;
}

// ── location and channel settings ──────────────────────────────────────────
/**
 * Applies a location's settings (enabled: -1 leave, 0, 1; safety: -1 leave)
 * and bumps the version of every position there whose figures moved.
 * Returns 1 when a setting changed, 0 when not.
 */
export function locationApply(l: u32, enabled: i32, safety: i64): i32 {
  const loc = locAddr(l);
  const oldEnabled = load<u32>(loc, L_ENABLED) != 0;
  const oldSafety = load<u32>(loc, L_SAFETY);
  const newEnabled = enabled < 0 ? oldEnabled : enabled != 0;
  const newSafety = safety < 0 ? oldSafety : <u32>safety;
  if (newEnabled == oldEnabled && newSafety == oldSafety) return 0;
  const n = hget(H_POSITIONS);
  for (let p: u32 = 0; p < n; p++) {
    const pos = posAddr(p);
    if (load<u32>(pos, P_LOC) != l) continue;
    const on: i64 = load<u32>(pos, P_ON_HAND), res: i64 = load<u32>(pos, P_RESERVED), com: i64 = load<u32>(pos, P_COMMITTED);
    const own = load<i32>(pos, P_SAFETY);
    const ss0 = effectiveSafety(own, oldSafety), ss1 = effectiveSafety(own, newSafety);
    const before = availableFrom(on, res, com, ss0, oldEnabled);
    if (ss0 != ss1 || before != availableFrom(on, res, com, ss1, newEnabled)) noteChange(p, before);
  }
  // Settings change last: readers of other positions never see a half-applied location.
  store<u32>(loc, newEnabled ? 1 : 0, L_ENABLED);
  store<u32>(loc, newSafety, L_SAFETY);
  return 1;
}

/** Starts building a channel's location set in the scratch bitset. */
export function chanStageReset(): void { memory.fill(chanTemp, 0, CHANNEL_BITS_BYTES); }

/** Adds a location (created if new) to the staged set; a Status. */
export function chanStageLocation(key: usize, len: u32): i32 {
  const l = locIntern(key, len);
  if (l < 0) return -l;
  store<u8>(chanTemp + (<usize>l >> 3), load<u8>(chanTemp + (<usize>l >> 3)) | (<u8>1 << <u8>(l & 7)));
  return Status.Ok;
}

/** Applies a channel's settings (buffer: -1 leave; mode: -1 leave, 0 the staged set, 1 every location). Returns 1 when changed. */
export function channelApply(c: u32, buffer: i64, mode: i32, stagedCount: u32): i32 {
  const ch = chanAddr(c);
  const bits = chanBits + <usize>c * CHANNEL_BITS_BYTES;
  let changed = 0;
  if (buffer >= 0 && <u32>buffer != load<u32>(ch, C_BUFFER)) {
    store<u32>(ch, <u32>buffer, C_BUFFER);
    changed = 1;
  }
  if (mode == 1 && load<u32>(ch, C_ALL) == 0) {
    store<u32>(ch, 1, C_ALL);
    memory.fill(bits, 0, CHANNEL_BITS_BYTES);
    store<u32>(ch, 0, C_LOC_COUNT);
    changed = 1;
  } else if (mode == 0 && (load<u32>(ch, C_ALL) != 0 || memory.compare(bits, chanTemp, CHANNEL_BITS_BYTES) != 0)) {
    store<u32>(ch, 0, C_ALL);
    memory.copy(bits, chanTemp, CHANNEL_BITS_BYTES);
    store<u32>(ch, stagedCount, C_LOC_COUNT);
    changed = 1;
  }
  return changed;
}
