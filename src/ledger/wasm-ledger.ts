// The StockLedger backed by the AssemblyScript ledger (assembly/) in a shared
// WebAssembly.Memory. This wrapper only moves ids in and figures out: it
// encodes string ids into the caller's scratch area (ASCII by a plain loop,
// anything else through TextEncoder), calls one ledger entry point and builds
// the answer objects. Every lookup happens inside the WebAssembly hash tables.
// Location kind/name and a channel's location list (strings the ledger does
// not need for any figure) live here and travel in snapshots as JSON.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { POSITIONS_ADDRESSABLE_MAX, QUANTITY_MAX, RESERVATION_LINES_MAX } from "./limits.js";
import { HEADER_COUNT_FIELDS, SNAPSHOT_LAYOUT_VERSION, snapshotImage } from "./snapshot-layouts.js";
import { LedgerStatus } from "./status.js";
import type {
  AdjustItem, ChannelPatch, ChannelRead, ChannelState, HoldLine, HoldOutcome, LedgerCounts, LocationPatch,
  LocationState, MoveOutcome, PositionFigures, PositionState, ReservationState, ReservationStatus, ShortLine,
  StockItem, StockLedger, StockWriteOutcome,
} from "./types.js";

/** Capacities of one ledger; each bounds a region of the shared memory. */
export interface LedgerCapacities {
  positionsMax?: number;
  skusMax?: number;
  reservationsMax?: number;
  /** 8-byte cells for reservation ids and lines (a reservation takes ⌈id bytes / 8⌉ + lines). */
  reservationCellsMax?: number;
  /** Bytes for SKU, location and channel ids. */
  idBytesMax?: number;
}

export const LEDGER_DEFAULTS = {
  positionsMax: 1_048_576,
  reservationsMax: 1_048_576,
  cellsPerReservation: 8, // e.g. a 36-byte UUID and 3 lines; the pool is shared, so an average
} as const;

const PAGE_BYTES = 65536;
const WASM_PAGES_MAX = 65536;
const HEADER = 256;
const HEADER_FIELDS = 56;
const SCRATCH_WRITER = 4096;
const SCRATCH_BYTES = 4096;
/** Reader threads that can attach at once (scratch areas 1 … 14 below the static data). */
export const READER_SLOTS_MAX = 14;
const RECENT_LOCATIONS = 8; // a power of two
/** SKU names remembered by index on the writer (direct-mapped, a power of two): see skuName(). */
const SKU_NAMES_CACHED = 65536;
const KEY_A = 0, KEY_B = 256, KEY_C = 512, RESULT = 768, KEY_D = 1024, LINES_OUT = 1280;
const KEY_BYTES_MAX = 256;

// Header field indexes (assembly/layout.ts).
const H_POSITIONS = 4, H_SKUS = 6, H_LOCATIONS = 7, H_CHANNELS = 8, H_RESERVATIONS = 10, H_HELD = 16, H_BASES = 34;
const REGIONS = 21;
const REGIONS_PERSISTENT = 10;

const enum IdKind { Sku = 0, Location = 1, Channel = 2 }
const MOVE_COMMIT = 1, MOVE_RELEASE = 2, MOVE_FULFILL = 3;
const RESERVATION_STATUS: ReservationStatus[] = ["held", "held", "committed", "fulfilled", "released", "expired"];

/** The raw exports of assembly/index.ts. */
interface LedgerExports {
  plan(positionsMax: number, skusMax: number, reservationsMax: number, cellsMax: number, idBytesMax: number): number;
  attach(): void;
  readPositionAt(s: number, skuLen: number, loc: number): number;
  availableAtKey(s: number, skuLen: number, loc: number): number;
  positionFigures(s: number, p: number): void;
  skuFirstPosition(s: number, skuLen: number): number;
  skuFirstPositionAt(sku: number): number;
  positionNext(p: number): number;
  positionLocation(p: number): number;
  positionSku(p: number): number;
  skuAvailable(s: number, skuLen: number, channel: number): number;
  channelFind(s: number, len: number): number;
  locationFind(s: number, len: number): number;
  channelIncludes(c: number, loc: number): number;
  channelPositionAvailable(c: number, p: number): number;
  channelBuffer(c: number): number;
  channelAllLocations(c: number): number;
  locationEnabled(l: number): number;
  locationSafety(l: number): number;
  idOffset(kind: number, idx: number): number;
  idLength(kind: number, idx: number): number;
  txBegin(): void;
  txCommit(): void;
  txAbort(): void;
  txTouchedCount(): number;
  txTouchedAt(i: number): number;
  txChanged(): number;
  stockSet(s: number, skuLen: number, locLen: number, onHand: bigint, safety: bigint): number;
  stockAdjust(s: number, skuLen: number, locLen: number, delta: bigint): number;
  holdStageAt(s: number, i: number, skuLen: number, loc: number, qty: number): void;
  holdPlace(s: number, idLen: number, chanLen: number, n: number, ttlMs: number, nowMs: number): number;
  holdOne(s: number, skuLen: number, loc: number, qty: number, idLen: number, chanLen: number, ttlMs: number, nowMs: number): number;
  holdCheckedAvailable(i: number): number;
  moveReservation(s: number, idLen: number, kind: number, nowMs: number): number;
  expire(nowMs: number, limit: number): number;
  purge(nowMs: number, retentionMs: number, limit: number): number;
  reservationCount(): number;
  reservationFind(s: number, idLen: number): number;
  reservationStatus(r: number): number;
  reservationChannel(r: number): number;
  reservationLines(s: number, r: number): number;
  reservationExpiresAt(r: number): number;
  locationPut(s: number, locLen: number, enabled: number, safety: bigint): number;
  channelStageBegin(): void;
  channelStage(s: number, locLen: number): number;
  channelPut(s: number, chanLen: number, buffer: bigint, mode: number, stagedCount: number): number;
  skuAvailableAt(sku: number, channel: number): number;
  changeCount(): number;
  changeLogBase(): number;
  regionBase(i: number): number;
  regionUsedBytes(i: number): number;
  rebuildIndexes(): void;
  upgradeLayout(from: number): void;
  stateHash(): bigint;
}

let compiledModule: WebAssembly.Module | null = null;

/** The compiled ledger module (compiled once per process; instances are cheap). */
export function ledgerModule(): WebAssembly.Module {
  if (compiledModule === null) {
    const path = fileURLToPath(new URL("../../build/ledger.wasm", ledgerBaseUrl()));
    compiledModule = new WebAssembly.Module(readFileSync(path));
  }
  return compiledModule;
}

// src/ledger/ (tests, tsx) and dist/src/ledger/ (compiled) both sit two levels
// below a folder that has build/ beside them; find the repository root.
function ledgerBaseUrl(): URL {
  const here = new URL(".", import.meta.url);
  return here.pathname.includes("/dist/src/") ? new URL("../", here) : here;
}

function instantiate(memory: WebAssembly.Memory): LedgerExports {
  const instance = new WebAssembly.Instance(ledgerModule(), {
    env: {
      memory,
      abort(msgPtr: number, filePtr: number, line: number, column: number): never {
        throw new Error(`ledger invariant violated: ${readAsString(memory, msgPtr)} at ${readAsString(memory, filePtr)}:${line}:${column}`);
      },
    },
  });
  return instance.exports as unknown as LedgerExports;
}

// AssemblyScript static strings: UTF-16 with the byte length 4 bytes before.
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return "?";
  const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
  return Buffer.from(new Uint8Array(memory.buffer, ptr, bytes)).toString("utf16le");
}

const encoder = new TextEncoder();
const EMPTY_FIGURES = Object.freeze({ available: 0, onHand: 0, reserved: 0, committed: 0, safetyStock: 0, shortfall: 0, version: 0 });

export class WasmLedger implements StockLedger {
  readonly memory: WebAssembly.Memory;
  private readonly x: LedgerExports;
  private readonly u8: Buffer; // the memory; a Buffer, so decoding an id allocates none
  private readonly header: Uint32Array;
  private readonly result: Int32Array;
  private readonly resultVersion: Float64Array;
  private readonly linesOut: Uint32Array; // a reservation's lines, as reservationLines() left them
  private readonly s: number; // this thread's scratch base
  /** Recovery sets this: stock writes then skip building their answer's positions. */
  quiet = false;
  // Strings the ledger keeps no use for, by index.
  private locationNames: string[] = [];
  private locationKind: (string | null)[] = [];
  private locationLabel: (string | null)[] = [];
  private channelNames: string[] = [];
  private channelLocations: (string[] | null)[] = [];

  /**
   * A new ledger in its own shared memory (the writer), or, given `attachTo`,
   * a reader over another ledger's memory using scratch area `readerSlot`
   * (1 … READER_SLOTS_MAX). A reader may only call the read methods: every
   * figure it reads is consistent per position (seqlock), never torn.
   */
  constructor(capacities: LedgerCapacities = {}, attachTo?: { memory: WebAssembly.Memory; readerSlot: number }) {
    if (attachTo) {
      if (!(attachTo.readerSlot >= 1 && attachTo.readerSlot <= READER_SLOTS_MAX)) throw new RangeError(`reader slot ${attachTo.readerSlot}`);
      this.memory = attachTo.memory;
      this.x = instantiate(this.memory);
      this.x.attach();
      this.s = SCRATCH_WRITER + attachTo.readerSlot * SCRATCH_BYTES;
      this.reader = true;
    } else {
      this.memory = WasmLedger.plannedMemory(capacities);
      this.x = instantiate(this.memory);
      this.x.attach();
      this.s = SCRATCH_WRITER;
    }
    this.u8 = Buffer.from(this.memory.buffer);
    this.header = new Uint32Array(this.memory.buffer, HEADER, HEADER_FIELDS);
    this.result = new Int32Array(this.memory.buffer, this.s + RESULT, 16);
    this.resultVersion = new Float64Array(this.memory.buffer, this.s + RESULT + 32, 1);
    this.linesOut = new Uint32Array(this.memory.buffer, this.s + LINES_OUT, 2 * RESERVATION_LINES_MAX);
  }

  /** True for an instance attached as a reader: it must not write. */
  readonly reader: boolean = false;

  // One writer: a reader that writes would race the writer's transaction state.
  private assertWriter(): void {
    if (this.reader) throw new Error("a reader instance of the ledger cannot write");
  }

  private static plannedMemory(capacities: LedgerCapacities): WebAssembly.Memory {
    const positionsMax = capacities.positionsMax ?? LEDGER_DEFAULTS.positionsMax;
    const skusMax = capacities.skusMax ?? positionsMax;
    const reservationsMax = capacities.reservationsMax ?? LEDGER_DEFAULTS.reservationsMax;
    const cellsMax = capacities.reservationCellsMax ?? Math.min(0xF000_0000, reservationsMax * LEDGER_DEFAULTS.cellsPerReservation);
    // SKU ids of 40 bytes on average, and room for every location's (65,536 × 64 B).
    const idBytesMax = capacities.idBytesMax ?? Math.min(0xF000_0000, 40 * skusMax + (1 << 22));
    // Plan in a small probe memory first, then make the real one exactly as large as needed.
    const probe = new WebAssembly.Memory({ initial: 3, maximum: WASM_PAGES_MAX, shared: true });
    const totalBytes = instantiate(probe).plan(positionsMax, skusMax, reservationsMax, cellsMax, idBytesMax);
    if (totalBytes === 0) throw new RangeError(`ledger capacities need more than 4 GiB of memory, or more than ${POSITIONS_ADDRESSABLE_MAX.toLocaleString("en-US")} positions`);
    const pages = Math.ceil(totalBytes / PAGE_BYTES);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    instantiate(memory).plan(positionsMax, skusMax, reservationsMax, cellsMax, idBytesMax);
    return memory;
  }

  // ── id encoding ──────────────────────────────────────────────────────────
  /** Writes `id` as UTF-8 into key slot `slot` of the scratch area; returns its byte length, or -1 if it does not fit. */
  private key(slot: number, id: string): number {
    const n = id.length;
    if (n > KEY_BYTES_MAX) return -1;
    const at = this.s + slot;
    const u8 = this.u8;
    for (let i = 0; i < n; i++) {
      const c = id.charCodeAt(i);
      if (c >= 0x80) return this.keySlow(at, id);
      u8[at + i] = c;
    }
    return n;
  }

  private keySlow(at: number, id: string): number {
    const r = encoder.encodeInto(id, this.u8.subarray(at, at + KEY_BYTES_MAX));
    return r.read === id.length ? r.written : -1;
  }

  // The reservation id now in key D (written by reservationKey only), so a
  // move right after its hold, or a repeat, does not encode the id again.
  private reservationKeyId: string | null = null;
  private reservationKeyLen = 0;

  /** Writes a reservation id into key D (unless it is there already); its byte length, or -1. */
  private reservationKey(id: string): number {
    if (id === this.reservationKeyId) return this.reservationKeyLen;
    const len = this.key(KEY_D, id);
    this.reservationKeyId = len < 0 ? null : id;
    this.reservationKeyLen = len;
    return len;
  }

  private idString(kind: IdKind, idx: number): string {
    const off = this.x.idOffset(kind, idx) >>> 0; // an address: u32, which arrives as i32
    return this.u8.toString("utf8", off, off + this.x.idLength(kind, idx));
  }

  private locationName(l: number): string {
    return this.cachedName(this.locationNames, IdKind.Location, l);
  }

  private channelName(c: number): string {
    return this.cachedName(this.channelNames, IdKind.Channel, c);
  }

  // Location and channel names are few and read often. A reader cannot see
  // the rollbacks that would make a cached name stale, so it decodes every time.
  private cachedName(cache: string[], kind: IdKind, idx: number): string {
    if (this.reader) return this.idString(kind, idx);
    let name = cache[idx];
    if (name === undefined) {
      name = this.idString(kind, idx);
      cache[idx] = name;
    }
    return name;
  }

  // ── reads ────────────────────────────────────────────────────────────────
  private figuresInto(out: PositionFigures): void {
    const r = this.result;
    out.available = r[0];
    out.onHand = r[1];
    out.reserved = r[2];
    out.committed = r[3];
    out.safetyStock = r[4];
    out.shortfall = r[5];
    out.version = this.resultVersion[0];
  }

  // Locations are few and every read names one: the last few resolved are
  // remembered by string (a short array, not a Map), so a read encodes and
  // looks up only its SKU. Indexes change only when a transaction that
  // created locations rolls back, which clears the memo; readers, which
  // cannot see rollbacks, do not use it.
  private readonly recentLocations: string[] = [];
  private readonly recentLocationIndexes: number[] = [];
  private recentNext = 0;

  private locationIndexRemembered(location: string): number {
    const names = this.recentLocations;
    for (let i = 0; i < names.length; i++) if (names[i] === location) return this.recentLocationIndexes[i];
    const len = this.key(KEY_B, location);
    if (len < 0) return -1;
    const l = this.x.locationFind(this.s, len);
    if (l >= 0 && !this.reader) {
      const slot = this.recentNext;
      this.recentNext = (slot + 1) & (RECENT_LOCATIONS - 1);
      names[slot] = location;
      this.recentLocationIndexes[slot] = l;
    }
    return l;
  }

  private forgetRecentLocations(): void {
    this.recentLocations.length = 0;
    this.recentLocationIndexes.length = 0;
    this.recentNext = 0;
  }

  /** Fills the result area with the figures of (sku, location); returns false for an unknown position. */
  private readInto(sku: string, location: string): boolean {
    const l = this.locationIndexRemembered(location);
    if (l < 0) return false;
    const skuLen = this.key(KEY_A, sku);
    return skuLen >= 0 && this.x.readPositionAt(this.s, skuLen, l) >= 0;
  }

  readPosition(sku: string, location: string, out: PositionFigures): void {
    if (this.readInto(sku, location)) this.figuresInto(out);
    else Object.assign(out, EMPTY_FIGURES);
  }

  /** The ledger's figure for (sku, location) alone: the fastest read. */
  availableAt(sku: string, location: string): number {
    const l = this.locationIndexRemembered(location);
    if (l < 0) return 0;
    const skuLen = this.key(KEY_A, sku);
    if (skuLen < 0) return 0;
    const available = this.x.availableAtKey(this.s, skuLen, l);
    return available < 0 ? 0 : available;
  }

  /** The state of position index p (for deltas built from the change log). */
  positionAt(p: number): PositionState {
    return this.positionState(p, this.skuName(this.x.positionSku(p)));
  }

  /** Copies the figures of position index p into out (no objects: the stream's hot path); returns its location index. */
  positionFiguresInto(p: number, out: PositionFigures): number {
    this.x.positionFigures(this.s, p);
    this.figuresInto(out);
    return this.result[7];
  }

  /** The id of location index l. */
  locationNameAt(l: number): string { return this.locationName(l); }

  /** The ledger's memory as bytes: ids are read in place at idOffsetOf(), as UTF-8. */
  get memoryBytes(): Uint8Array { return this.u8; }
  /** Where in memoryBytes the id of SKU index s (kind "sku") or location index l ("location") starts. */
  idOffsetOf(kind: "sku" | "location", idx: number): number {
    return this.x.idOffset(kind === "sku" ? IdKind.Sku : IdKind.Location, idx) >>> 0;
  }
  /** The byte length of that id. */
  idLengthOf(kind: "sku" | "location", idx: number): number {
    return this.x.idLength(kind === "sku" ? IdKind.Sku : IdKind.Location, idx);
  }

  /** available of position index p (no objects: recovery's hot path). */
  availableOfPosition(p: number): number {
    this.x.positionFigures(this.s, p);
    return this.result[0];
  }

  skuIndexOf(p: number): number { return this.x.positionSku(p); }
  locationIndexOf(p: number): number { return this.x.positionLocation(p); }
  /** The id of SKU index s. */
  skuName(s: number): string {
    // Answers name their positions' SKUs (a hold's or move's lines, a stock
    // write's positions, channel messages, messages built for a listener on
    // this thread), and each decode from the id bytes is a call into wasm and
    // a new string: a hot SKU is decoded once. A reader does not cache (it
    // cannot see the rollbacks that make an entry stale), so the cache is made
    // on the writer's first call.
    if (this.reader) return this.idString(IdKind.Sku, s);
    const indexes = (this.skuNameIndexes ??= new Int32Array(SKU_NAMES_CACHED));
    const names = (this.skuNames ??= new Array<string>(SKU_NAMES_CACHED).fill(""));
    const slot = s & (SKU_NAMES_CACHED - 1);
    if (indexes[slot] === s + 1) return names[slot];
    const name = this.idString(IdKind.Sku, s);
    indexes[slot] = s + 1;
    names[slot] = name;
    return name;
  }
  // skuNames[i] is the id of SKU index skuNameIndexes[i] - 1 (0: empty).
  private skuNameIndexes: Int32Array | null = null;
  private skuNames: string[] | null = null;
  channelNameAt(c: number): string { return this.channelName(c); }
  channelCount(): number { return this.header[H_CHANNELS]; }
  skuCount(): number { return this.header[H_SKUS]; }
  channelIndexOf(channel: string): number { return this.channelIndex(channel); }
  channelIncludesLocation(c: number, l: number): boolean { return this.x.channelIncludes(c, l) === 1; }
  channelBufferAt(c: number): number { return this.x.channelBuffer(c); }
  /** Channel ATP (channel index) or network ATP (-1) of SKU index s. */
  skuAvailableAt(s: number, c: number): number { return this.x.skuAvailableAt(s, c); }
  /** Position indexes of a SKU index, in creation order (for stream snapshots). */
  *positionsOfSku(s: number): Generator<number> {
    for (let p = this.x.skuFirstPositionAt(s); p >= 0; p = this.x.positionNext(p)) yield p;
  }

  private positionState(p: number, sku: string): PositionState {
    this.x.positionFigures(this.s, p);
    const r = this.result;
    return {
      sku,
      location: this.locationName(r[7]),
      available: r[0],
      onHand: r[1],
      reserved: r[2],
      committed: r[3],
      safetyStock: r[4],
      shortfall: r[5],
      version: this.resultVersion[0],
      enabled: r[6] === 1,
    };
  }

  readSku(sku: string): { available: number; locations: PositionState[] } {
    const locations: PositionState[] = [];
    const skuLen = this.key(KEY_A, sku);
    if (skuLen < 0) return { available: 0, locations };
    let available = 0;
    for (let p = this.x.skuFirstPosition(this.s, skuLen); p >= 0; p = this.x.positionNext(p)) {
      const state = this.positionState(p, sku);
      available += state.available;
      locations.push(state);
    }
    return { available, locations };
  }

  /** Network ATP (channel undefined) or channel ATP of a SKU; null for an unknown channel. */
  skuAvailable(sku: string, channel?: string): number | null {
    let c = -1;
    if (channel !== undefined) {
      c = this.channelIndex(channel);
      if (c < 0) return null;
    }
    const skuLen = this.key(KEY_A, sku);
    return skuLen < 0 ? 0 : this.x.skuAvailable(this.s, skuLen, c);
  }

  private channelIndex(channel: string): number {
    const len = this.key(KEY_C, channel);
    return len < 0 ? -1 : this.x.channelFind(this.s, len);
  }

  readSkuForChannel(sku: string, channel: string): ChannelRead | null {
    const c = this.channelIndex(channel);
    if (c < 0) return null;
    const locations: { location: string; available: number }[] = [];
    const skuLen = this.key(KEY_A, sku);
    let available = 0;
    if (skuLen >= 0) {
      for (let p = this.x.skuFirstPosition(this.s, skuLen); p >= 0; p = this.x.positionNext(p)) {
        const l = this.x.positionLocation(p);
        if (this.x.channelIncludes(c, l) === 0) continue;
        const a = this.x.channelPositionAvailable(c, p);
        available += a;
        locations.push({ location: this.locationName(l), available: a });
      }
    }
    return { available, locations };
  }

  // ── stock writes ─────────────────────────────────────────────────────────
  setStock(items: readonly StockItem[]): StockWriteOutcome {
    return this.stockTransaction(items, (item, skuLen, locLen) => {
      const onHand = item.onHand === undefined ? -1n : BigInt(item.onHand);
      const safety = item.safetyStock === undefined ? -1n : item.safetyStock === null ? -2n : BigInt(item.safetyStock);
      return this.x.stockSet(this.s, skuLen, locLen, onHand, safety);
    });
  }

  adjustStock(items: readonly AdjustItem[]): StockWriteOutcome {
    return this.stockTransaction(items, (item, skuLen, locLen) => this.x.stockAdjust(this.s, skuLen, locLen, BigInt(item.delta)));
  }

  /** Applies every item in one transaction, in order; the first failing item rolls all of it back. */
  private stockTransaction<T extends { sku: string; location: string }>(
    items: readonly T[],
    write: (item: T, skuLen: number, locLen: number) => number,
  ): StockWriteOutcome {
    this.assertWriter();
    this.x.txBegin();
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const skuLen = this.key(KEY_A, item.sku);
      const locLen = this.key(KEY_B, item.location);
      const status = skuLen > 0 && locLen > 0 ? write(item, skuLen, locLen) : LedgerStatus.IdLengthOutOfRange;
      if (status !== LedgerStatus.Ok) return this.abortStockWrite(status, i);
    }
    return this.commitStockWrite();
  }

  private abortStockWrite(status: LedgerStatus, itemIndex: number): StockWriteOutcome {
    this.x.txAbort();
    this.forgetRecentLocations();
    this.forgetRolledBackNames();
    return { status, itemIndex };
  }

  private commitStockWrite(): StockWriteOutcome {
    this.x.txCommit();
    const n = this.quiet ? 0 : this.x.txTouchedCount();
    const positions: PositionState[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const p = this.x.txTouchedAt(i);
      positions[i] = this.positionState(p, this.skuName(this.x.positionSku(p)));
    }
    return { status: LedgerStatus.Ok, changed: this.x.txChanged() === 1, positions };
  }

  // Names cached for indexes a rolled-back transaction removed would go stale.
  private forgetRolledBackNames(): void {
    this.locationNames.length = Math.min(this.locationNames.length, this.header[H_LOCATIONS]);
    this.channelNames.length = Math.min(this.channelNames.length, this.header[H_CHANNELS]);
    // SKU names need nothing here: skuName() is only called outside a
    // transaction, so it never remembers a SKU a rollback removes
    // (test/ledger-names.test.ts fails if that ever changes).
  }

  // ── reservations ─────────────────────────────────────────────────────────
  /**
   * The hold itself, answering only its status (the hot path: no objects).
   * Details of the answer are then read with lastReservationIndex(),
   * lastCreated(), lastChanged() and the staged figures.
   */
  placeHold(id: string, channel: string | null, merged: readonly HoldLine[], ttlMs: number, nowMs: number): LedgerStatus {
    this.assertWriter();
    this.result[11] = 0; // no stale flags when we return before the ledger runs
    this.result[12] = -1;
    const n = merged.length;
    if (n === 1) return this.placeHoldOne(id, channel, merged[0], ttlMs, nowMs);
    for (let i = 0; i < n; i++) {
      const line = merged[i];
      const loc = this.locationIndexRemembered(line.location);
      const skuLen = this.key(KEY_A, line.sku);
      if (skuLen <= 0 || line.location.length === 0) {
        this.result[12] = i;
        return LedgerStatus.IdLengthOutOfRange;
      }
      // A merged qty above the quantity limit can never fit; clamp so it stays a u32.
      this.x.holdStageAt(this.s, i, skuLen, loc, Math.min(line.qty, QUANTITY_MAX + 1));
    }
    const idLen = this.reservationKey(id);
    const chanLen = channel === null ? 0 : this.key(KEY_C, channel);
    if (idLen <= 0 || chanLen < 0) return LedgerStatus.IdLengthOutOfRange;
    return this.x.holdPlace(this.s, idLen, chanLen, n, ttlMs, nowMs);
  }

  // The one-line hold (most checkouts): the same checks in the same order, one call into the ledger.
  private placeHoldOne(id: string, channel: string | null, line: HoldLine, ttlMs: number, nowMs: number): LedgerStatus {
    const loc = this.locationIndexRemembered(line.location);
    const skuLen = this.key(KEY_A, line.sku);
    if (skuLen <= 0 || line.location.length === 0) {
      this.result[12] = 0;
      return LedgerStatus.IdLengthOutOfRange;
    }
    const idLen = this.reservationKey(id);
    const chanLen = channel === null ? 0 : this.key(KEY_C, channel);
    if (idLen <= 0 || chanLen < 0) return LedgerStatus.IdLengthOutOfRange;
    return this.x.holdOne(this.s, skuLen, loc, Math.min(line.qty, QUANTITY_MAX + 1), idLen, chanLen, ttlMs, nowMs);
  }

  hold(id: string, channel: string | null, lines: readonly HoldLine[], ttlMs: number, nowMs: number): HoldOutcome {
    const merged = mergeLines(lines);
    const n = merged.length;
    const status = this.placeHold(id, channel, merged, ttlMs, nowMs);
    const r = this.result[10];
    const flags = this.result[11];
    if (status === LedgerStatus.Ok) {
      const created = (flags & 2) !== 0;
      const reservation = created
        ? { id, status: "held" as const, channel, lines: merged.slice(), expiresAtMs: nowMs + ttlMs }
        : this.reservationAt(r, id);
      return { status, created, changed: (flags & 1) !== 0, reservation };
    }
    if (status === LedgerStatus.InsufficientStock) {
      const shortLines: ShortLine[] = [];
      for (let i = 0; i < n; i++) {
        const available = this.x.holdCheckedAvailable(i);
        if (merged[i].qty > available) shortLines.push({ sku: merged[i].sku, location: merged[i].location, requested: merged[i].qty, available });
      }
      return { status, shortLines };
    }
    return { status, lineIndex: requestLineIndex(lines, merged, this.result[12]) };
  }

  commit(id: string, nowMs: number): MoveOutcome { return this.move(id, MOVE_COMMIT, nowMs); }
  release(id: string, nowMs: number): MoveOutcome { return this.move(id, MOVE_RELEASE, nowMs); }
  fulfill(id: string, nowMs: number): MoveOutcome { return this.move(id, MOVE_FULFILL, nowMs); }

  /** A reservation move answering only its status (the hot path). kind: 1 commit, 2 release, 3 fulfill. */
  moveStatus(id: string, kind: number, nowMs: number): LedgerStatus {
    this.assertWriter();
    this.result[11] = 0;
    this.result[10] = -1;
    const idLen = this.reservationKey(id);
    if (idLen <= 0) return LedgerStatus.ReservationNotFound;
    return this.x.moveReservation(this.s, idLen, kind, nowMs);
  }

  private move(id: string, kind: number, nowMs: number): MoveOutcome {
    const status = this.moveStatus(id, kind, nowMs);
    const r = this.result[10];
    const reservation = r >= 0 ? this.reservationAt(r, id) : null;
    if (status === LedgerStatus.Ok) return { status, changed: (this.result[11] & 1) !== 0, reservation: reservation! };
    return { status, reservation };
  }

  /**
   * Entries in the last write command's change log, read in place with
   * changeLog() (valid until the next write): entry i is position log[2i]
   * with its available before, log[2i+1]. Each changed position appears once.
   */
  changeCount(): number { return this.x.changeCount(); }

  /** The change log region: entries [0, changeCount()) are the last command's (see changeCount()). */
  changeLog(): Uint32Array {
    // The region's address is fixed once the memory is planned, and the memory never grows: one view serves.
    return (this.changeLogView ??= new Uint32Array(this.memory.buffer, this.x.changeLogBase() >>> 0));
  }
  private changeLogView: Uint32Array | null = null;

  /** Whether the last hold or move changed state (an expiry it applied counts). */
  lastChanged(): boolean { return (this.result[11] & 1) !== 0; }

  expire(nowMs: number, limit: number): number {
    this.assertWriter();
    return this.x.expire(nowMs, limit);
  }

  purge(nowMs: number, retentionMs: number, limit: number): number {
    this.assertWriter();
    return this.x.purge(nowMs, retentionMs, limit);
  }

  reservation(id: string): ReservationState | null {
    const idLen = this.reservationKey(id);
    if (idLen <= 0) return null;
    const r = this.x.reservationFind(this.s, idLen);
    return r < 0 ? null : this.reservationAt(r, id);
  }

  private reservationAt(r: number, id: string): ReservationState {
    const n = this.x.reservationLines(this.s, r);
    const out = this.linesOut;
    const lines: HoldLine[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const p = out[2 * k];
      lines[k] = {
        sku: this.skuName(this.x.positionSku(p)),
        location: this.locationName(this.x.positionLocation(p)),
        qty: out[2 * k + 1],
      };
    }
    const c = this.x.reservationChannel(r);
    return {
      id,
      status: RESERVATION_STATUS[this.x.reservationStatus(r)],
      channel: c < 0 ? null : this.channelName(c),
      lines,
      expiresAtMs: this.x.reservationExpiresAt(r),
    };
  }

  // ── locations and channels ───────────────────────────────────────────────
  putLocation(id: string, patch: LocationPatch): { status: LedgerStatus; changed: boolean; location: LocationState | null } {
    this.assertWriter();
    const len = this.key(KEY_B, id);
    if (len <= 0) return { status: LedgerStatus.IdLengthOutOfRange, changed: false, location: null };
    const before = this.header[H_LOCATIONS];
    this.x.txBegin();
    const enabled = patch.enabled === undefined ? -1 : patch.enabled ? 1 : 0;
    const safety = patch.safetyStock === undefined ? -1n : BigInt(patch.safetyStock);
    const status = this.x.locationPut(this.s, len, enabled, safety);
    if (status !== LedgerStatus.Ok) {
      this.x.txAbort();
      this.forgetRecentLocations();
      return { status, changed: false, location: null };
    }
    this.x.txCommit();
    const l = this.result[10];
    let changed = this.result[11] === 1 || this.header[H_LOCATIONS] !== before;
    if (patch.kind !== undefined && (this.locationKind[l] ?? null) !== patch.kind) {
      this.locationKind[l] = patch.kind;
      changed = true;
    }
    if (patch.name !== undefined && (this.locationLabel[l] ?? null) !== patch.name) {
      this.locationLabel[l] = patch.name;
      changed = true;
    }
    return { status, changed, location: this.locationState(l) };
  }

  private locationState(l: number): LocationState {
    return {
      id: this.locationName(l),
      enabled: this.x.locationEnabled(l) === 1,
      safetyStock: this.x.locationSafety(l),
      kind: this.locationKind[l] ?? null,
      name: this.locationLabel[l] ?? null,
    };
  }

  putChannel(id: string, patch: ChannelPatch): { status: LedgerStatus; changed: boolean; channel: ChannelState | null } {
    this.assertWriter();
    const chanLen = this.key(KEY_C, id);
    if (chanLen <= 0) return { status: LedgerStatus.IdLengthOutOfRange, changed: false, channel: null };
    const before = this.header[H_CHANNELS];
    this.x.txBegin();
    let list: string[] | null | undefined = undefined;
    if (patch.locations === null) list = null;
    else if (patch.locations !== undefined) {
      list = [...new Set(patch.locations)];
      this.x.channelStageBegin();
      for (const location of list) {
        const len = this.key(KEY_B, location);
        const status = len <= 0 ? LedgerStatus.IdLengthOutOfRange : this.x.channelStage(this.s, len);
        if (status !== LedgerStatus.Ok) {
          this.x.txAbort();
          this.forgetRecentLocations();
          this.forgetRolledBackNames();
          return { status, changed: false, channel: null };
        }
      }
    }
    const buffer = patch.buffer === undefined ? -1n : BigInt(patch.buffer);
    const mode = list === undefined ? -1 : list === null ? 1 : 0;
    const status = this.x.channelPut(this.s, chanLen, buffer, mode, list ? list.length : 0);
    if (status !== LedgerStatus.Ok) {
      this.x.txAbort();
      this.forgetRecentLocations();
      this.forgetRolledBackNames();
      return { status, changed: false, channel: null };
    }
    this.x.txCommit();
    const c = this.result[10];
    let changed = this.result[11] === 1 || this.x.txChanged() === 1 || this.header[H_CHANNELS] !== before;
    if (list === null) this.channelLocations[c] = null;
    else if (list !== undefined && !sameList(this.channelLocations[c] ?? null, list)) {
      this.channelLocations[c] = list;
      changed = true;
    }
    return { status, changed, channel: this.channelState(c) };
  }

  private channelState(c: number): ChannelState {
    return {
      id: this.channelName(c),
      locations: this.x.channelAllLocations(c) === 1 ? null : (this.channelLocations[c] ?? []).slice(),
      buffer: this.x.channelBuffer(c),
    };
  }

  listLocations(): LocationState[] {
    const n = this.header[H_LOCATIONS];
    const out: LocationState[] = new Array(n);
    for (let l = 0; l < n; l++) out[l] = this.locationState(l);
    return out;
  }

  listChannels(): ChannelState[] {
    const n = this.header[H_CHANNELS];
    const out: ChannelState[] = new Array(n);
    for (let c = 0; c < n; c++) out[c] = this.channelState(c);
    return out;
  }

  counts(): LedgerCounts {
    const h = this.header;
    return {
      positions: h[H_POSITIONS],
      skus: h[H_SKUS],
      locations: h[H_LOCATIONS],
      channels: h[H_CHANNELS],
      reservations: this.x.reservationCount(),
      reservationsHeld: h[H_HELD],
    };
  }

  // ── snapshots and determinism ────────────────────────────────────────────
  /** A digest of the whole ledger state, JS-side strings included. */
  stateHash(): string {
    return `${this.x.stateHash().toString(16)}:${hashString(JSON.stringify(this.metaJson()))}`;
  }

  private metaJson(): unknown {
    const n = this.header[H_LOCATIONS];
    const kinds: (string | null)[] = [];
    const names: (string | null)[] = [];
    for (let l = 0; l < n; l++) {
      kinds.push(this.locationKind[l] ?? null);
      names.push(this.locationLabel[l] ?? null);
    }
    const channelLocations: (string[] | null)[] = [];
    for (let c = 0; c < this.header[H_CHANNELS]; c++) channelLocations.push(this.channelLocations[c] ?? null);
    return { kinds, names, channelLocations };
  }

  /**
   * The ledger as snapshot parts, copied now (the ledger may change while they
   * are written): [meta length u32][meta JSON][header counts][regions, each
   * u32 length + bytes].
   */
  snapshotParts(): Uint8Array[] {
    const meta = Buffer.from(JSON.stringify({ layout: SNAPSHOT_LAYOUT_VERSION, ...(this.metaJson() as object) }), "utf8");
    const head = Buffer.alloc(4 + 4 * HEADER_COUNT_FIELDS.length);
    head.writeUInt32LE(meta.length, 0);
    const parts: Uint8Array[] = [head.subarray(0, 4), meta];
    const counts = Buffer.alloc(4 * HEADER_COUNT_FIELDS.length);
    HEADER_COUNT_FIELDS.forEach((f, i) => counts.writeUInt32LE(this.header[f], 4 * i));
    parts.push(counts);
    for (let i = 0; i < REGIONS_PERSISTENT; i++) {
      const base = this.x.regionBase(i) >>> 0;
      const len = this.x.regionUsedBytes(i) >>> 0;
      const lenBuf = Buffer.alloc(4);
      lenBuf.writeUInt32LE(len, 0);
      parts.push(lenBuf, Buffer.from(this.u8.subarray(base, base + len)));
    }
    return parts;
  }

  /** Loads a snapshot body (from snapshotParts, of this layout or an older one) into this empty ledger. */
  loadSnapshot(body: Uint8Array): void {
    this.assertWriter();
    if (this.header[H_POSITIONS] !== 0 || this.header[H_RESERVATIONS] !== 0) throw new Error("snapshot load into a non-empty ledger");
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const metaLen = buf.readUInt32LE(0);
    const meta = JSON.parse(buf.toString("utf8", 4, 4 + metaLen)) as { layout?: number; kinds: (string | null)[]; names: (string | null)[]; channelLocations: (string[] | null)[] };
    const image = snapshotImage(meta.layout, buf.subarray(4 + metaLen));
    // Capacities are checked by the region sizes: each must fit its region.
    for (const [field, value] of image.header) this.header[field] = value;
    for (let i = 0; i < REGIONS_PERSISTENT; i++) {
      const room = this.regionCapacityBytes(i);
      if (image.regions[i].length > room) throw new RangeError(`snapshot region ${i} (${image.regions[i].length} B) exceeds this ledger's capacity (${room} B)`);
      this.u8.set(image.regions[i], this.x.regionBase(i) >>> 0);
    }
    if (image.upgradeFrom !== null) this.x.upgradeLayout(image.upgradeFrom);
    this.x.rebuildIndexes();
    this.reservationKeyId = null; // the upgrade used key D
    this.locationKind = meta.kinds;
    this.locationLabel = meta.names;
    this.channelLocations = meta.channelLocations;
    this.locationNames = [];
    this.channelNames = [];
  }

  // Region i ends where the next region starts (layout order), which bounds what fits.
  private regionCapacityBytes(i: number): number {
    const bases = new Uint32Array(this.memory.buffer, HEADER + H_BASES * 4, REGIONS);
    const order = [0, 2, 4, 6, 8, 9, 11, 12, 13, 14]; // persistent region -> layout region index
    const r = order[i];
    return bases[r + 1] - bases[r];
  }
}

/** Lines merged per (sku, location), quantities summed, first-seen order; the input itself when nothing merges. */
export function mergeLines(lines: readonly HoldLine[]): readonly HoldLine[] {
  const n = lines.length;
  let duplicate = false;
  for (let i = 1; i < n && !duplicate; i++) {
    for (let j = 0; j < i; j++) {
      if (lines[i].sku === lines[j].sku && lines[i].location === lines[j].location) { duplicate = true; break; }
    }
  }
  if (!duplicate) return lines;
  const merged: HoldLine[] = [];
  for (const line of lines) {
    const same = merged.find((m) => m.sku === line.sku && m.location === line.location);
    if (same) same.qty += line.qty;
    else merged.push({ sku: line.sku, location: line.location, qty: line.qty });
  }
  return merged;
}

/** The index in the request of the first line that merged into merged[i] (-1 stays -1). */
function requestLineIndex(lines: readonly HoldLine[], merged: readonly HoldLine[], i: number): number {
  if (i < 0 || merged === lines) return i;
  const target = merged[i];
  return lines.findIndex((l) => l.sku === target.sku && l.location === target.location);
}

function sameList(a: string[] | null, b: string[]): boolean {
  if (a === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hashString(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16);
}

/** A new, empty ledger in its own shared memory. */
export function createWasmLedger(capacities?: LedgerCapacities): WasmLedger {
  return new WasmLedger(capacities);
}
