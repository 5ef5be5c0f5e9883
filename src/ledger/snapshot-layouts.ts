// The ledger's snapshot body after its meta JSON: header counts (u32 each),
// then every persistent region as [u32 length][bytes]. Records travel as
// bytes, so the body is tied to the record layouts of assembly/layout.ts; this
// module reads the current layout (4) and converts the older ones to it.
//
// Layout 4 is layout 3 with 16-byte expiry heap entries (the key beside the
// record index, 4-ary order) instead of 4-byte indexes: a layout-3 body is
// read as is and the ledger rebuilds the heap from it (assembly/heap.ts).
//
// Layout 2 kept 40-byte reservation records, their lines in a region of their
// own and their ids in the id arena among the SKU, location and channel ids.
// Layout 3 keeps 64-byte records and each reservation's id and lines in one
// chain of 8-byte cells (assembly/cells.ts), so that purged reservations give
// all their space back. Layout 1 is layout 2 with two derived position fields
// zeroed; the ledger derives them in every upgrade (assembly/upgrade.ts),
// which also does what takes its own rules: the id table, creation numbers,
// and the finished reservations' queue.

/** Bumped whenever a record layout in assembly/layout.ts changes. */
export const SNAPSHOT_LAYOUT_VERSION = 4;

// Header fields (assembly/layout.ts).
const H_POSITIONS = 4, H_SKUS = 6, H_LOCATIONS = 7, H_CHANNELS = 8, H_RESERVATIONS = 10, H_CELLS = 12, H_HEAP = 13;
const H_ID_BYTES = 15, H_HELD = 16, H_CELLS_FREE = 24, H_RES_FREE = 26, H_FINISHED_HEAD = 28, H_FINISHED_TAIL = 29;
const H_LEGACY_LAST = 30;
/** The header fields a snapshot carries, in order: counts, free lists, the finished queue, the creation counter. */
export const HEADER_COUNT_FIELDS = [
  H_POSITIONS, H_SKUS, H_LOCATIONS, H_CHANNELS, H_RESERVATIONS, H_CELLS, H_HEAP, H_ID_BYTES, H_HELD,
  24, 25, 26, 27, 28, 29, 30, 31, 32, 33,
];
const REGIONS = 10;
const END = 0xFFFF_FFFF;

const LAYOUT_2_COUNT_FIELDS = 9; // positions, skus, locations, channels, reservations, lines, heap, idBytes, held
const LAYOUT_2_REGIONS = 9; // positions, skus, locations, channels, channel bits, reservations, lines, heap, id bytes
const LAYOUT_2_RESERVATION_BYTES = 40; // idOff, idLen, status, channel, linesOff, lineCount, expiresAt f64, heapSlot, spare
const RESERVATION_BYTES = 64; // assembly/layout.ts
const CELL_BYTES = 8;
const DICTIONARY_RECORD_BYTES = 24; // SKU, location and channel records: [idOff, idLen, …]

/**
 * A snapshot as this layout's header values and persistent regions, but for
 * what the ledger must complete: `upgradeFrom` names the older layout (1, 2
 * or 3) the regions still have parts of, null when they are this layout's.
 */
export interface SnapshotImage {
  header: [field: number, value: number][];
  regions: Buffer[];
  upgradeFrom: number | null;
}

/** Reads a snapshot body (after the meta) of any layout this build knows. */
export function snapshotImage(layout: number | undefined, body: Buffer): SnapshotImage {
  if (layout === SNAPSHOT_LAYOUT_VERSION || layout === 3) {
    const { counts, regions } = parseBody(body, HEADER_COUNT_FIELDS.length, REGIONS);
    return { header: HEADER_COUNT_FIELDS.map((f, i) => [f, counts[i]]), regions, upgradeFrom: layout === 3 ? 3 : null };
  }
  if (layout === 1 || layout === 2) {
    const { counts, regions } = parseBody(body, LAYOUT_2_COUNT_FIELDS, LAYOUT_2_REGIONS);
    return fromLayout2(counts, regions);
  }
  throw new Error(`snapshot has ledger layout ${String(layout)}, this build reads ${SNAPSHOT_LAYOUT_VERSION} (and upgrades 1, 2 and 3)`);
}

function parseBody(body: Buffer, countFields: number, regionCount: number): { counts: number[]; regions: Buffer[] } {
  const counts = Array.from({ length: countFields }, (_, i) => body.readUInt32LE(4 * i));
  let at = 4 * countFields;
  const regions: Buffer[] = [];
  for (let i = 0; i < regionCount; i++) {
    const len = body.readUInt32LE(at);
    at += 4;
    regions.push(body.subarray(at, at + len));
    at += len;
  }
  return { counts, regions };
}

/** Layout 2 (or 1) as layout 3 bytes (the ledger then completes them as layout 4): reservation ids move from the arena into cell chains before each one's lines. */
function fromLayout2(counts: number[], regions: Buffer[]): SnapshotImage {
  const [positions, skus, locations, channels, reservations, , heap, , held] = counts;
  const [positionBytes, skuBytes, locationBytes, channelBytes, channelBits, oldRecords, lines, heapBytes, arena] = regions;
  const old = (r: number, field: number): number => oldRecords.readUInt32LE(r * LAYOUT_2_RESERVATION_BYTES + field);

  // Every reservation id leaves the arena; the ids that stay shift down by the bytes removed before them.
  const idEnds: number[] = []; // end offset of each reservation id, ascending (ids were appended as holds came)
  const removedBefore: number[] = [0]; // bytes of the first k reservation ids
  const kept: Buffer[] = [];
  let at = 0;
  for (let r = 0; r < reservations; r++) {
    const off = old(r, 0), len = old(r, 4);
    if (off < at) throw new Error(`layout-2 snapshot: reservation ${r}'s id is out of arena order`);
    kept.push(arena.subarray(at, off));
    at = off + len;
    idEnds.push(at);
    removedBefore.push(removedBefore[r] + len);
  }
  kept.push(arena.subarray(at));
  const shifted = (records: Buffer, count: number): Buffer => {
    const out = Buffer.from(records);
    for (let k = 0; k < count; k++) {
      const off = out.readUInt32LE(k * DICTIONARY_RECORD_BYTES);
      out.writeUInt32LE(off - removedBefore[idsEndingBy(idEnds, off)], k * DICTIONARY_RECORD_BYTES);
    }
    return out;
  };

  let cellCount = 0;
  for (let r = 0; r < reservations; r++) cellCount += Math.ceil(old(r, 4) / CELL_BYTES) + old(r, 20);
  const records = Buffer.alloc(reservations * RESERVATION_BYTES);
  const cells = Buffer.alloc(cellCount * CELL_BYTES); // zeros pad each id's last cell
  const cellNext = Buffer.alloc(cellCount * 4);
  let first = 0;
  for (let r = 0; r < reservations; r++) {
    const idLen = old(r, 4), idCells = Math.ceil(idLen / CELL_BYTES), lineCount = old(r, 20), linesOff = old(r, 16);
    arena.copy(cells, first * CELL_BYTES, old(r, 0), old(r, 0) + idLen);
    lines.copy(cells, (first + idCells) * CELL_BYTES, linesOff * CELL_BYTES, (linesOff + lineCount) * CELL_BYTES);
    const chain = idCells + lineCount;
    for (let k = 0; k < chain; k++) cellNext.writeUInt32LE(k + 1 < chain ? first + k + 1 : END, (first + k) * 4);
    const rec = r * RESERVATION_BYTES;
    records.writeUInt32LE(first, rec); // idCell
    records.writeUInt32LE(idLen, rec + 4);
    oldRecords.copy(records, rec + 8, r * LAYOUT_2_RESERVATION_BYTES + 8, r * LAYOUT_2_RESERVATION_BYTES + 16); // status, channel
    records.writeUInt32LE(first + idCells, rec + 16); // lineCell
    records.writeUInt32LE(lineCount, rec + 20);
    oldRecords.copy(records, rec + 24, r * LAYOUT_2_RESERVATION_BYTES + 24, r * LAYOUT_2_RESERVATION_BYTES + 36); // expiresAt, heapSlot
    first += chain;
  }

  const arenaKept = Buffer.concat(kept);
  return {
    header: [
      [H_POSITIONS, positions], [H_SKUS, skus], [H_LOCATIONS, locations], [H_CHANNELS, channels],
      [H_RESERVATIONS, reservations], [H_CELLS, cellCount], [H_HEAP, heap], [H_ID_BYTES, arenaKept.length], [H_HELD, held],
      [H_CELLS_FREE, END], [H_RES_FREE, END], [H_FINISHED_HEAD, END], [H_FINISHED_TAIL, END], [H_LEGACY_LAST, END],
    ],
    regions: [
      positionBytes, shifted(skuBytes, skus), shifted(locationBytes, locations), shifted(channelBytes, channels),
      channelBits, records, cells, cellNext, heapBytes, arenaKept,
    ],
    upgradeFrom: 2,
  };
}

/** How many of the ascending id ends are at or before `off` (the reservation ids wholly before it). */
function idsEndingBy(ends: number[], off: number): number {
  let lo = 0, hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ends[mid] <= off) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
