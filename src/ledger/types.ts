// The contract every stock ledger implements: the WebAssembly ledger in shared
// memory (src/ledger/wasm-ledger.ts) and the plain TypeScript reference model
// (src/ledger/reference-model.ts) that property tests and benchmarks compare it
// with. Inputs are already validated by the caller (ids within their byte
// limits, integers within range); business outcomes come back as statuses,
// never as exceptions. Every method is deterministic in its arguments and the
// ledger's state: time enters only as the `nowMs` argument.

import { LedgerStatus } from "./status.js";

export { LedgerStatus };

/** Figures of one (SKU, location) position as every read reports them. */
export interface PositionFigures {
  available: number;
  onHand: number;
  reserved: number;
  committed: number;
  safetyStock: number; // effective: position's own, else location default, else 0
  shortfall: number;
  version: number;
}

/** A position with its ids, as writes answer and all-locations reads list it. */
export interface PositionState extends PositionFigures {
  sku: string;
  location: string;
  enabled: boolean; // the location's flag; a disabled location reads available 0
}

export interface StockItem {
  sku: string;
  location: string;
  onHand?: number;
  safetyStock?: number | null; // null clears the position's own value
}

export interface AdjustItem {
  sku: string;
  location: string;
  delta: number;
}

export interface HoldLine {
  sku: string;
  location: string;
  qty: number;
}

export type ReservationStatus = "held" | "committed" | "fulfilled" | "released" | "expired";

export interface ReservationState {
  id: string;
  status: ReservationStatus;
  channel: string | null;
  lines: HoldLine[]; // merged per position, in first-seen order
  expiresAtMs: number; // epoch milliseconds
}

export interface LocationState {
  id: string;
  enabled: boolean;
  safetyStock: number;
  kind: string | null;
  name: string | null;
}

export interface ChannelState {
  id: string;
  locations: string[] | null; // null: every location
  buffer: number;
}

/** A stock write (set or adjust): all items apply, or none. */
export type StockWriteOutcome =
  | { status: LedgerStatus.Ok; changed: boolean; positions: PositionState[] }
  | { status: LedgerStatus; itemIndex: number }; // the first item that failed

export interface ShortLine {
  sku: string;
  location: string;
  requested: number;
  available: number;
}

export type HoldOutcome =
  | { status: LedgerStatus.Ok; created: boolean; changed: boolean; reservation: ReservationState }
  | { status: LedgerStatus.InsufficientStock; shortLines: ShortLine[] }
  | { status: LedgerStatus; lineIndex: number }; // -1 when no single line is to blame

export type MoveOutcome =
  | { status: LedgerStatus.Ok; changed: boolean; reservation: ReservationState }
  | { status: LedgerStatus; reservation: ReservationState | null };

export interface LocationPatch {
  enabled?: boolean;
  safetyStock?: number;
  kind?: string | null;
  name?: string | null;
}

export interface ChannelPatch {
  locations?: string[] | null;
  buffer?: number;
}

export interface ChannelRead {
  available: number;
  locations: { location: string; available: number }[];
}

export interface LedgerCounts {
  positions: number;
  skus: number;
  locations: number;
  channels: number;
  reservations: number; // kept: held, committed, and finished ones not yet purged
  reservationsHeld: number;
}

export interface StockLedger {
  /** Fills `out` with the position's figures (zeros for an unknown position). */
  readPosition(sku: string, location: string, out: PositionFigures): void;
  /** Network ATP of a SKU and every known position of it. */
  readSku(sku: string): { available: number; locations: PositionState[] };
  /** Channel ATP of a SKU; null when the channel does not exist. */
  readSkuForChannel(sku: string, channel: string): ChannelRead | null;

  setStock(items: readonly StockItem[]): StockWriteOutcome;
  adjustStock(items: readonly AdjustItem[]): StockWriteOutcome;

  hold(id: string, channel: string | null, lines: readonly HoldLine[], ttlMs: number, nowMs: number): HoldOutcome;
  commit(id: string, nowMs: number): MoveOutcome;
  release(id: string, nowMs: number): MoveOutcome;
  fulfill(id: string, nowMs: number): MoveOutcome;
  /** Expires up to `limit` held reservations whose expiry is <= nowMs; returns how many. */
  expire(nowMs: number, limit: number): number;
  /**
   * Forgets up to `limit` finished reservations (released, expired, fulfilled)
   * that finished at least `retentionMs` before nowMs, those finished first
   * first; returns how many. A forgotten id reads as unknown and can be held
   * anew. Changes no position.
   */
  purge(nowMs: number, retentionMs: number, limit: number): number;
  /** The reservation as stored (no expiry applied); null when unknown. */
  reservation(id: string): ReservationState | null;

  putLocation(id: string, patch: LocationPatch): { status: LedgerStatus; changed: boolean; location: LocationState | null };
  putChannel(id: string, patch: ChannelPatch): { status: LedgerStatus; changed: boolean; channel: ChannelState | null };
  listLocations(): LocationState[];
  listChannels(): ChannelState[];

  counts(): LedgerCounts;
}
