// Where everything lives in the shared linear memory. The writer lays the
// regions out once from the configured capacities (layoutInit) and records
// their offsets in the header; every other instance over the same memory
// (reader threads) loads them with layoutAttach. Region bases are then plain
// globals, so hot paths compute addresses with no indirection.
//
//   0        256           1024    4096            65536        131072
//   ├────────┼─────────────┼───────┼───────────────┼────────────┼──────────────────────────┐
//   │ unused │ header (u32)│ spare │ scratch areas │ static data│ regions (sized at init)  │
//   └────────┴─────────────┴───────┴───────────────┴────────────┴──────────────────────────┘
//   scratch area k (4 KiB each, k = 0 the writer, 1.. readers):
//     +0 key A (256 B: sku) · +256 key B (location) · +512 key C (channel) ·
//     +768 results (64 B) · +1024 key D (256 B: reservation id, kept apart so
//     the wrapper can leave an id in place from a hold to its next move) ·
//     +1280 lines out (800 B: a reservation's lines, [u32 posIdx | u32 qty] each) ·
//     +2080 spare
//
// Regions, in address order (each 8-byte aligned; reservations 64-byte aligned):
//   positions     positionsMax × 48 B   (record below)
//   posSlots      ⌈1.5 × positionsMax⌉ × 4 B  [6 hash bits | posIdx+1 in 26] keyed by
//                 (SKU tag: id hash and length, locIdx), so a read by id needs no
//                 SKU-table probe and passes other keys' slots without their records;
//                 indexed by fastrange (not a power of two) so the table costs
//                 exactly 6 B per position
//   skus          skusMax × 24 B        [idOff, idLen, headPos, tailPos, posCount, kitOff]
//   skuSlots      pow2 slots × 8 B      [skuIdx+1 | hash] keyed by id bytes
//   locations     LOCATIONS_MAX × 24 B  [idOff, idLen, enabled, safetyDefault, groupOff, spare]
//   locSlots      pow2 × 8 B
//   channels      CHANNELS_MAX × 24 B   [idOff, idLen, buffer, allLocations, locCount, spare]
//   chanSlots     pow2 × 8 B
//   chanBits      CHANNELS_MAX × 8 KiB  membership bitset over location indexes
//   reservations  reservationsMax × 64 B (record below; base 64-byte aligned: one record, one cache line)
//   resSlots      pow2 slots × 8 B      [resIdx+1 | hash] keyed by id bytes (read by the writer only)
//   cells         cellsMax × 8 B        reservation ids and lines, in chains (cells.ts)
//   cellNext      cellsMax × 4 B        the next cell of each chain, or of the free list
//   heap          reservationsMax × 16 B expiry min-heap, 4-ary: [expiresAt f64 | seq u32 |
//                 reservation u32] (heap.ts; base ≡ 48 mod 64 so siblings share a line)
//   idBytes       idBytesMax B          SKU, location and channel ids' UTF-8 bytes, bump-allocated
//   txTouched     STOCK_ITEMS_MAX × 24 B the open transaction's touched positions
//   txSlots       pow2 × 4 B            dedupe of touched positions within a transaction
//   staging       RESERVATION_LINES_MAX × 16 B  lines of the hold being checked
//   chanTemp      8 KiB                 a channel bitset being built
//   changeLog     positionsMax × 8 B    this command's changed positions:
//                 [u32 posIdx | u32 available before the command]
//   changeBits    positionsMax bits     dedupe: a position is logged once a command
//
// Memory per position at capacity: 48 (record) + 6 (slot) + 8 (change log)
// + 0.125 (bit) = 62.1 bytes, within the 64-byte budget (ids aside).
// Memory per reservation at capacity (outside that budget): 64 (record) +
// 12–24 (slots) + 16 (heap) + 12 a cell × 8 cells by default ≈ 192 bytes.
//
// Position record (48 bytes; the budget is 64 per position including its slot):
//   0 skuIdx u32 · 4 locIdx u32 · 8 onHand u32 · 12 reserved u32 ·
//   16 committed u32 · 20 safetyOwn i32 (-1: inherit the location default) ·
//   24 version u64 · 32 nextInSku i32 (-1: end) · 36 seqlock u32 (odd while
//   a write is in progress; readers retry) · 40 skuTag u32 (top 24 bits of the
//   SKU id's hash | its byte length: with locIdx, the position table's key) ·
//   44 skuIdOff u32 (where the SKU id's bytes are in the id arena). 40 and 44
//   follow from the SKU record; they are here so a probe checks a candidate
//   with this record and the id bytes alone.
//
// Reservation record (64 bytes; a reservation is a record plus one chain of
// cells: its id's bytes, then its lines):
//   0 idCell u32 (first cell of the chain) · 4 idLen u32 · 8 status u32 (0: free
//   record) · 12 channel i32 (-1: none) · 16 lineCell u32 (first line's cell) ·
//   20 lineCount u32 · 24 expiresAt f64 (epoch ms) · 32 heapSlot u32 (index+1 in
//   the heap; 0: not in it) · 36 tableSlot u32 (its slot in resSlots) ·
//   40 finishedAt f64 (epoch ms; when it became released, expired or fulfilled) ·
//   48 next u32 (the next finished reservation, or the next free record; END:
//   none) · 52 idHash u32 · 56 seq u64 (creation number: expiry ties go to the
//   older, and indexes are reused, so the index cannot tell). tableSlot and
//   idHash let a snapshot restore the table byte for byte: with deletions, its
//   layout depends on history, not only on the records.

import { CHANNELS_MAX, LOCATIONS_MAX, RESERVATION_LINES_MAX, SLOTS_PER_TWO_ENTRIES, STOCK_ITEMS_MAX, POS_WORD_INDEX_BITS } from "./constants";

export const HEADER: usize = 256;
export const SCRATCH_BASE: usize = 4096;
export const SCRATCH_BYTES: usize = 4096;
export const SCRATCH_KEY_A: usize = 0;
export const SCRATCH_KEY_B: usize = 256;
export const SCRATCH_KEY_C: usize = 512;
export const SCRATCH_RESULT: usize = 768;
export const SCRATCH_KEY_D: usize = 1024;
export const SCRATCH_LINES: usize = 1280;
export const REGIONS_BASE: usize = 131072;
export const LAYOUT_MAGIC: u32 = 0x4f4d4e49; // "OMNI"
export const LAYOUT_VERSION: u32 = 4; // 4: 16-byte expiry heap entries (3: 4-byte indexes)

export const POSITION_BYTES: usize = 48;
export const SKU_BYTES: usize = 24;
export const LOCATION_BYTES: usize = 24;
export const CHANNEL_BYTES: usize = 24;
export const RESERVATION_BYTES: usize = 64;
export const CELL_BYTES: usize = 8;
export const SLOT_BYTES: usize = 8;
export const HEAP_ENTRY_BYTES: usize = 16; // heap.ts
export const CHANNEL_BITS_BYTES: usize = <usize>LOCATIONS_MAX >> 3;
export const TOUCHED_BYTES: usize = 24;
export const STAGING_BYTES: usize = 16;

// Reservation record fields and statuses (the record is drawn above).
export const R_ID_CELL = 0, R_ID_LEN = 4, R_STATUS = 8, R_CHANNEL = 12, R_LINE_CELL = 16, R_LINE_COUNT = 20;
export const R_EXPIRES = 24, R_HEAP = 32, R_SLOT = 36, R_FINISHED = 40, R_NEXT = 48, R_HASH = 52, R_SEQ = 56;
export const FREE: u32 = 0, HELD: u32 = 1, COMMITTED: u32 = 2, FULFILLED: u32 = 3, RELEASED: u32 = 4, EXPIRED: u32 = 5;

// Header fields (u32 each, at HEADER + 4 × index). Counts live here, in shared
// memory, so readers and snapshots see them; bases are copied into globals.
export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_TOTAL_BYTES = 2;
export const H_POSITIONS_MAX = 3;
export const H_POSITIONS = 4;
export const H_SKUS_MAX = 5;
export const H_SKUS = 6;
export const H_LOCATIONS = 7;
export const H_CHANNELS = 8;
export const H_RESERVATIONS_MAX = 9;
export const H_RESERVATIONS = 10; // records in use or free: the region's high-water mark
export const H_CELLS_MAX = 11;
export const H_CELLS = 12; // cells in use or free: the region's high-water mark
export const H_HEAP = 13;
export const H_ID_BYTES_MAX = 14;
export const H_ID_BYTES = 15;
export const H_HELD = 16;
export const H_POS_SLOTS = 17;
export const H_SKU_SLOTS = 18;
export const H_LOC_SLOTS = 19;
export const H_CHAN_SLOTS = 20;
export const H_RES_SLOTS = 21;
export const H_TX_SLOTS = 22;
export const H_CHANGES = 23; // entries in the change log of the current command
export const H_CELLS_FREE = 24; // first free cell (END: none)
export const H_CELLS_FREE_COUNT = 25;
export const H_RES_FREE = 26; // first free record (END: none)
export const H_RES_FREE_COUNT = 27;
export const H_FINISHED_HEAD = 28; // oldest finished reservation, the next to purge (END: none)
export const H_FINISHED_TAIL = 29;
export const H_LEGACY_LAST = 30; // last of the finished reservations an older layout brought in, unstamped (END: none)
export const H_SEQ = 32; // u64 at fields 32–33 (8-byte aligned): reservations ever created
export const H_BASES = 34; // 21 region bases follow, in the order of the diagram
export const H_FIELDS = 56;
export const END: u32 = 0xFFFFFFFF; // "no index" in u32 link fields

@inline export function hget(field: i32): u32 { return load<u32>(HEADER + (<usize>field << 2)); }
@inline export function hset(field: i32, value: u32): void { store<u32>(HEADER + (<usize>field << 2), value); }
@inline export function hget64(field: i32): u64 { return load<u64>(HEADER + (<usize>field << 2)); }
@inline export function hset64(field: i32, value: u64): void { store<u64>(HEADER + (<usize>field << 2), value); }

// Region bases (per instance, loaded from the header).
export let positions: usize = 0;
export let posSlots: usize = 0;
export let skus: usize = 0;
export let skuSlots: usize = 0;
export let locations: usize = 0;
export let locSlots: usize = 0;
export let channels: usize = 0;
export let chanSlots: usize = 0;
export let chanBits: usize = 0;
export let reservations: usize = 0;
export let resSlots: usize = 0;
export let cells: usize = 0;
export let cellNext: usize = 0;
export let heap: usize = 0;
@inline export function resAddr(r: u32): usize { return reservations + <usize>r * RESERVATION_BYTES; }
export let idBytes: usize = 0;
export let touchedBase: usize = 0;
export let txSlots: usize = 0;
export let staging: usize = 0;
export let chanTemp: usize = 0;
export let changeLog: usize = 0;
export let changeBits: usize = 0;
export let posSlotCount: u32 = 0;

// Slot masks (slots - 1), per instance.
export let skuMask: u32 = 0;
export let locMask: u32 = 0;
export let chanMask: u32 = 0;
export let resMask: u32 = 0;
export let txMask: u32 = 0;

/** Slots of the position table: exactly 1.5 per position (fastrange-indexed). */
function positionSlotsFor(entries: u32): u32 {
  return max<u32>(16, <u32>((<u64>entries * 3 + 1) / 2));
}

function slotsFor(entries: u32): u32 {
  const wanted = <u64>entries * SLOTS_PER_TWO_ENTRIES / 2 + 1;
  let slots: u64 = 16;
  while (slots < wanted) slots <<= 1;
  return <u32>slots;
}

@inline function align8(n: u64): u64 { return (n + 7) & ~7; }
@inline function align64(n: u64): u64 { return (n + 63) & ~63; }

// Bump pointer of layoutPlan; no allocation (the ledger has no heap).
let planAt: u64 = 0;
function place(region: i32, bytes: u64): void {
  hset(H_BASES + region, <u32>min<u64>(planAt, 0xFFFFFFFF));
  planAt = align8(planAt + bytes);
}

/**
 * Computes the layout for the given capacities and writes it to the header.
 * Returns the total bytes the memory must hold, or 0 when they exceed 4 GiB
 * or the position table's words cannot name positionsMax positions.
 * The memory must already be grown to that size before the ledger is used.
 */
export function layoutPlan(positionsMax: u32, skusMax: u32, reservationsMax: u32, cellsMax: u32, idBytesMax: u32): u64 {
  if (positionsMax >= (<u32>1 << POS_WORD_INDEX_BITS)) return 0;
  const posSlots = positionSlotsFor(positionsMax);
  const skuSlotCount = slotsFor(skusMax);
  const locSlotCount = slotsFor(LOCATIONS_MAX);
  const chanSlotCount = slotsFor(CHANNELS_MAX);
  const resSlotCount = slotsFor(reservationsMax);
  const txSlotCount = slotsFor(STOCK_ITEMS_MAX * 2);
  planAt = REGIONS_BASE;
  place(0, <u64>positionsMax * POSITION_BYTES);
  place(1, <u64>posSlots * 4);
  place(2, <u64>skusMax * SKU_BYTES);
  place(3, <u64>skuSlotCount * SLOT_BYTES);
  place(4, <u64>LOCATIONS_MAX * LOCATION_BYTES);
  place(5, <u64>locSlotCount * SLOT_BYTES);
  place(6, <u64>CHANNELS_MAX * CHANNEL_BYTES);
  place(7, <u64>chanSlotCount * SLOT_BYTES);
  place(8, <u64>CHANNELS_MAX * CHANNEL_BITS_BYTES);
  planAt = align64(planAt);
  place(9, <u64>reservationsMax * RESERVATION_BYTES);
  place(10, <u64>resSlotCount * SLOT_BYTES);
  place(11, <u64>cellsMax * CELL_BYTES);
  place(12, <u64>cellsMax * 4);
  planAt = align64(planAt) + 48; // heap.ts: the four children of an entry share a cache line
  place(13, <u64>reservationsMax * HEAP_ENTRY_BYTES);
  place(14, <u64>idBytesMax);
  place(15, <u64>STOCK_ITEMS_MAX * TOUCHED_BYTES);
  place(16, <u64>txSlotCount * 4);
  place(17, <u64>RESERVATION_LINES_MAX * STAGING_BYTES);
  place(18, <u64>CHANNEL_BITS_BYTES);
  place(19, <u64>positionsMax * 8);
  place(20, (<u64>positionsMax + 7) >> 3);
  const at = planAt;
  if (at >= 0xFFFF0000) return 0;
  hset(H_MAGIC, LAYOUT_MAGIC);
  hset(H_VERSION, LAYOUT_VERSION);
  hset(H_TOTAL_BYTES, <u32>at);
  hset(H_POSITIONS_MAX, positionsMax);
  hset(H_SKUS_MAX, skusMax);
  hset(H_RESERVATIONS_MAX, reservationsMax);
  hset(H_CELLS_MAX, cellsMax);
  hset(H_ID_BYTES_MAX, idBytesMax);
  hset(H_POS_SLOTS, posSlots);
  hset(H_SKU_SLOTS, skuSlotCount);
  hset(H_LOC_SLOTS, locSlotCount);
  hset(H_CHAN_SLOTS, chanSlotCount);
  hset(H_RES_SLOTS, resSlotCount);
  hset(H_TX_SLOTS, txSlotCount);
  hset(H_CELLS_FREE, END);
  hset(H_RES_FREE, END);
  hset(H_FINISHED_HEAD, END);
  hset(H_FINISHED_TAIL, END);
  hset(H_LEGACY_LAST, END);
  return at;
}

/** Loads the region bases written by layoutPlan into this instance's globals. */
export function layoutAttach(): void {
  assert(hget(H_MAGIC) == LAYOUT_MAGIC && hget(H_VERSION) == LAYOUT_VERSION, "ledger memory has no layout");
  positions = hget(H_BASES + 0);
  posSlots = hget(H_BASES + 1);
  skus = hget(H_BASES + 2);
  skuSlots = hget(H_BASES + 3);
  locations = hget(H_BASES + 4);
  locSlots = hget(H_BASES + 5);
  channels = hget(H_BASES + 6);
  chanSlots = hget(H_BASES + 7);
  chanBits = hget(H_BASES + 8);
  reservations = hget(H_BASES + 9);
  resSlots = hget(H_BASES + 10);
  cells = hget(H_BASES + 11);
  cellNext = hget(H_BASES + 12);
  heap = hget(H_BASES + 13);
  idBytes = hget(H_BASES + 14);
  touchedBase = hget(H_BASES + 15);
  txSlots = hget(H_BASES + 16);
  staging = hget(H_BASES + 17);
  chanTemp = hget(H_BASES + 18);
  changeLog = hget(H_BASES + 19);
  changeBits = hget(H_BASES + 20);
  posSlotCount = hget(H_POS_SLOTS);
  skuMask = hget(H_SKU_SLOTS) - 1;
  locMask = hget(H_LOC_SLOTS) - 1;
  chanMask = hget(H_CHAN_SLOTS) - 1;
  resMask = hget(H_RES_SLOTS) - 1;
  txMask = hget(H_TX_SLOTS) - 1;
}
