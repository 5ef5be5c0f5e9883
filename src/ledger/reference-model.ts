// The reference ledger: a plain TypeScript model of SPEC sections 2–3 and
// docs/semantics.md, written to be read and trusted rather than to be fast.
// Property tests run it side by side with the WebAssembly ledger as the
// oracle, and benchmarks use it as the baseline. State lives in Maps keyed by
// ids (a position by `${sku}\u0000${location}`; ids never hold control
// characters, so the key is unambiguous). Every figure a read reports is
// derived on demand from onHand, reserved, committed and the safety-stock
// settings, so there is no cached figure that could drift. A command that
// fails changes nothing (beyond expiring a due hold, which every reservation
// command does before it acts): stock writes are checked on drafts before
// anything is written, and every other command checks all its rules first.
// Inputs arrive validated (types.ts); a violation is a programmer error and
// throws.

import {
  LedgerStatus,
  type AdjustItem,
  type ChannelPatch,
  type ChannelRead,
  type ChannelState,
  type HoldLine,
  type HoldOutcome,
  type LedgerCounts,
  type LocationPatch,
  type LocationState,
  type MoveOutcome,
  type PositionFigures,
  type PositionState,
  type ReservationState,
  type ReservationStatus,
  type ShortLine,
  type StockItem,
  type StockLedger,
  type StockWriteOutcome,
} from "./types.js";

import { CHANNELS_MAX, DELTA_MAX, LOCATIONS_MAX, QUANTITY_MAX } from "./limits.js";

const ON_HAND_MAX = QUANTITY_MAX; // units

/** Configured capacities; each defaults to unbounded. */
export interface ReferenceLedgerOptions {
  positionsMax?: number;
  reservationsMax?: number;
  skusMax?: number;
}

interface Position {
  sku: string;
  location: string;
  onHand: number;
  reserved: number;
  committed: number;
  ownSafetyStock: number | null; // null: inherit the location's default
  version: number;
}

interface Location {
  id: string;
  enabled: boolean;
  safetyStock: number; // default for positions without their own value
  kind: string | null;
  name: string | null;
}

interface Channel {
  id: string;
  locations: string[] | null; // null: sells from every location
  buffer: number;
}

interface Reservation {
  id: string;
  status: ReservationStatus;
  channel: string | null;
  lines: HoldLine[]; // merged, first-seen order
  expiresAtMs: number;
  finishedAtMs: number | null; // once released, expired or fulfilled
}

/** The values of a position a stock write may set, checked before any is written. */
interface PositionDraft {
  onHand: number;
  ownSafetyStock: number | null;
}

type Move = "commit" | "release" | "fulfill";

/** Each move: the statuses it leaves from, and the status it produces. */
const MOVES: Record<Move, { from: ReservationStatus[]; to: ReservationStatus }> = {
  commit: { from: ["held"], to: "committed" },
  release: { from: ["held", "committed"], to: "released" },
  fulfill: { from: ["committed"], to: "fulfilled" },
};

const positionKey = (sku: string, location: string): string => `${sku}\u0000${location}`;

/** Programmer errors stop the caller: the ledger's inputs arrive validated. */
function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`ReferenceLedger: ${message}`);
}

function assertQuantity(value: number, min: number, max: number, what: string): void {
  assert(Number.isSafeInteger(value) && value >= min && value <= max, `${what} out of range: ${value}`);
}

function assertId(id: string, bytesMax: number, what: string): void {
  const bytes = Buffer.byteLength(id, "utf8");
  assert(bytes >= 1 && bytes <= bytesMax, `${what} id of ${bytes} bytes`);
}

function figuresEqual(a: PositionFigures, b: PositionFigures): boolean {
  return (
    a.available === b.available &&
    a.onHand === b.onHand &&
    a.reserved === b.reserved &&
    a.committed === b.committed &&
    a.safetyStock === b.safetyStock &&
    a.shortfall === b.shortfall
  );
}

/** Sums the quantities of lines naming the same position, keeping first-seen order. */
function mergeLines(lines: readonly HoldLine[]): HoldLine[] {
  const merged = new Map<string, HoldLine>();
  for (const line of lines) {
    const key = positionKey(line.sku, line.location);
    const seen = merged.get(key);
    if (seen) seen.qty += line.qty;
    else merged.set(key, { sku: line.sku, location: line.location, qty: line.qty });
  }
  return [...merged.values()];
}

/** Two merged line lists name the same quantities at the same positions (order aside). */
function sameLines(a: readonly HoldLine[], b: readonly HoldLine[]): boolean {
  if (a.length !== b.length) return false;
  const qtyOf = new Map(a.map((line) => [positionKey(line.sku, line.location), line.qty]));
  return b.every((line) => qtyOf.get(positionKey(line.sku, line.location)) === line.qty);
}

export class ReferenceLedger implements StockLedger {
  private readonly positionsMax: number;
  private readonly reservationsMax: number;
  private readonly skusMax: number;

  // Maps iterate in insertion order, which is the first-created order every
  // listing reports.
  private readonly positions = new Map<string, Position>();
  private readonly positionsBySku = new Map<string, Position[]>();
  private readonly locations = new Map<string, Location>();
  private readonly channels = new Map<string, Channel>();
  private readonly reservations = new Map<string, Reservation>();
  // Finished reservations in the order they finished, for the purge; the
  // first `purged` entries are gone. Finishing times never decrease along it.
  private readonly finished: Reservation[] = [];
  private purged = 0;

  constructor(options: ReferenceLedgerOptions = {}) {
    this.positionsMax = options.positionsMax ?? Infinity;
    this.reservationsMax = options.reservationsMax ?? Infinity;
    this.skusMax = options.skusMax ?? Infinity;
  }

  // ---------------------------------------------------------------- reads

  readPosition(sku: string, location: string, out: PositionFigures): void {
    const position = this.positions.get(positionKey(sku, location));
    const figures = position ? this.figuresOf(position) : zeroFigures();
    Object.assign(out, figures);
  }

  readSku(sku: string): { available: number; locations: PositionState[] } {
    const locations = (this.positionsBySku.get(sku) ?? []).map((position) => this.stateOf(position));
    // A disabled location's positions already read available 0.
    const available = locations.reduce((sum, position) => sum + position.available, 0);
    return { available, locations };
  }

  readSkuForChannel(sku: string, channelId: string): ChannelRead | null {
    const channel = this.channels.get(channelId);
    if (!channel) return null;
    const locations = (this.positionsBySku.get(sku) ?? [])
      .filter((position) => sellsFrom(channel, position.location))
      .map((position) => ({ location: position.location, available: this.channelAvailable(position, channel) }));
    const available = locations.reduce((sum, entry) => sum + entry.available, 0);
    return { available, locations };
  }

  reservation(id: string): ReservationState | null {
    const reservation = this.reservations.get(id);
    return reservation ? reservationState(reservation) : null;
  }

  listLocations(): LocationState[] {
    return [...this.locations.values()].map(locationState);
  }

  listChannels(): ChannelState[] {
    return [...this.channels.values()].map(channelState);
  }

  counts(): LedgerCounts {
    let reservationsHeld = 0;
    for (const reservation of this.reservations.values()) if (reservation.status === "held") reservationsHeld++;
    return {
      positions: this.positions.size,
      skus: this.positionsBySku.size,
      locations: this.locations.size,
      channels: this.channels.size,
      reservations: this.reservations.size,
      reservationsHeld,
    };
  }

  // --------------------------------------------------------- stock writes

  setStock(items: readonly StockItem[]): StockWriteOutcome {
    for (const item of items) {
      this.assertPositionIds(item.sku, item.location);
      if (item.onHand !== undefined) assertQuantity(item.onHand, 0, ON_HAND_MAX, "onHand");
      if (item.safetyStock != null) assertQuantity(item.safetyStock, 0, QUANTITY_MAX, "safetyStock");
    }
    return this.writeStock(items, (draft, item) => {
      if (item.onHand !== undefined) draft.onHand = item.onHand;
      if (item.safetyStock !== undefined) draft.ownSafetyStock = item.safetyStock;
      return LedgerStatus.Ok;
    });
  }

  adjustStock(items: readonly AdjustItem[]): StockWriteOutcome {
    for (const item of items) {
      this.assertPositionIds(item.sku, item.location);
      assertQuantity(item.delta, -DELTA_MAX, DELTA_MAX, "delta");
    }
    return this.writeStock(items, (draft, item) => {
      const onHand = draft.onHand + item.delta;
      if (onHand < 0) return LedgerStatus.OnHandMustNotGoNegative;
      if (onHand > ON_HAND_MAX) return LedgerStatus.OnHandMustNotExceedLimit;
      draft.onHand = onHand;
      return LedgerStatus.Ok;
    });
  }

  /**
   * Applies items in order to drafts (a later item sees the earlier ones),
   * stopping at the first failing item; only when every item passed are the
   * drafts written, so a failure leaves the ledger as it was.
   */
  private writeStock<T extends { sku: string; location: string }>(
    items: readonly T[],
    apply: (draft: PositionDraft, item: T) => LedgerStatus,
  ): StockWriteOutcome {
    const drafts = new Map<string, PositionDraft & { sku: string; location: string }>();
    const newSkus = new Set<string>();
    const newLocations = new Set<string>();
    let newPositions = 0;

    for (const [itemIndex, item] of items.entries()) {
      const key = positionKey(item.sku, item.location);
      let draft = drafts.get(key);
      if (!draft) {
        const position = this.positions.get(key);
        draft = { sku: item.sku, location: item.location, onHand: 0, ownSafetyStock: null };
        if (position) {
          draft.onHand = position.onHand;
          draft.ownSafetyStock = position.ownSafetyStock;
        } else {
          newPositions++;
          if (!this.positionsBySku.has(item.sku)) newSkus.add(item.sku);
          if (!this.locations.has(item.location)) newLocations.add(item.location);
        }
        drafts.set(key, draft);
      }
      // The item's own rule first; capacity is the last rule, as in hold.
      const status = apply(draft, item);
      if (status !== LedgerStatus.Ok) return { status, itemIndex };
      const full =
        this.positions.size + newPositions > this.positionsMax ||
        this.positionsBySku.size + newSkus.size > this.skusMax ||
        this.locations.size + newLocations.size > LOCATIONS_MAX;
      if (full) return { status: LedgerStatus.LedgerFull, itemIndex };
    }

    // Every item passed: create what is new, then write the drafts.
    let changed = newPositions > 0 || newLocations.size > 0;
    const touched = [...drafts.values()].map((draft) => this.positionFor(draft.sku, draft.location));
    this.trackVersions(touched, () => {
      for (const [index, draft] of [...drafts.values()].entries()) {
        const position = touched[index];
        if (position.onHand !== draft.onHand || position.ownSafetyStock !== draft.ownSafetyStock) changed = true;
        position.onHand = draft.onHand;
        position.ownSafetyStock = draft.ownSafetyStock;
      }
    });
    return { status: LedgerStatus.Ok, changed, positions: touched.map((position) => this.stateOf(position)) };
  }

  // --------------------------------------------------------- reservations

  hold(id: string, channelId: string | null, lines: readonly HoldLine[], ttlMs: number, nowMs: number): HoldOutcome {
    assertId(id, 128, "reservation");
    assert(lines.length >= 1 && lines.length <= 100, `hold of ${lines.length} lines`);
    for (const line of lines) {
      this.assertPositionIds(line.sku, line.location);
      assertQuantity(line.qty, 1, QUANTITY_MAX, "qty");
    }
    assert(Number.isSafeInteger(ttlMs) && ttlMs > 0, `ttlMs ${ttlMs}`);
    assert(Number.isSafeInteger(nowMs), `nowMs ${nowMs}`);

    const merged = mergeLines(lines);

    // 1. An existing id is answered idempotently (after expiring it if due).
    const existing = this.reservations.get(id);
    if (existing) {
      const expired = this.expireIfDue(existing, nowMs);
      if (existing.channel !== channelId || !sameLines(existing.lines, merged)) {
        return { status: LedgerStatus.IdempotencyConflict, lineIndex: -1 };
      }
      return { status: LedgerStatus.Ok, created: false, changed: expired, reservation: reservationState(existing) };
    }

    // 2. Unknown channel.
    const channel = channelId === null ? null : this.channels.get(channelId);
    if (channel === undefined) return { status: LedgerStatus.ChannelNotFound, lineIndex: -1 };

    // 3. A line at a location the channel does not sell from.
    if (channel) {
      const lineIndex = lines.findIndex((line) => !sellsFrom(channel, line.location));
      if (lineIndex >= 0) return { status: LedgerStatus.LocationNotInChannel, lineIndex };
    }

    // 4. A line at a disabled location (an unknown location is not disabled).
    const disabledIndex = lines.findIndex((line) => this.locations.get(line.location)?.enabled === false);
    if (disabledIndex >= 0) return { status: LedgerStatus.LocationDisabled, lineIndex: disabledIndex };

    // 5. Every merged line above the figure it is checked against.
    const shortLines: ShortLine[] = [];
    for (const line of merged) {
      const position = this.positions.get(positionKey(line.sku, line.location));
      const available = !position ? 0 : channel ? this.channelAvailable(position, channel) : this.figuresOf(position).available;
      if (line.qty > available) shortLines.push({ sku: line.sku, location: line.location, requested: line.qty, available });
    }
    if (shortLines.length > 0) return { status: LedgerStatus.InsufficientStock, shortLines };

    // 6. Capacity.
    if (this.reservations.size >= this.reservationsMax) return { status: LedgerStatus.LedgerFull, lineIndex: -1 };

    // Every line fits, so every position exists (available ≥ qty ≥ 1).
    const reservation: Reservation = { id, status: "held", channel: channelId, lines: merged, expiresAtMs: nowMs + ttlMs, finishedAtMs: null };
    this.trackVersions(this.positionsOf(reservation), () => {
      for (const line of merged) this.positionFor(line.sku, line.location).reserved += line.qty;
    });
    this.reservations.set(id, reservation);
    return { status: LedgerStatus.Ok, created: true, changed: true, reservation: reservationState(reservation) };
  }

  commit(id: string, nowMs: number): MoveOutcome {
    return this.move(id, nowMs, "commit");
  }

  release(id: string, nowMs: number): MoveOutcome {
    return this.move(id, nowMs, "release");
  }

  fulfill(id: string, nowMs: number): MoveOutcome {
    return this.move(id, nowMs, "fulfill");
  }

  expire(nowMs: number, limit: number): number {
    assert(Number.isSafeInteger(limit), `limit ${limit}`);
    const due = [...this.reservations.values()].filter((r) => r.status === "held" && r.expiresAtMs <= nowMs);
    // The sort is stable and the Map iterates in creation order, so ties on
    // expiresAtMs go to the reservation created first.
    due.sort((a, b) => a.expiresAtMs - b.expiresAtMs);
    const expiring = due.slice(0, Math.max(0, limit));
    // One command, one version step per position, however many holds it releases there.
    this.transition(expiring, "expired", nowMs);
    return expiring.length;
  }

  purge(nowMs: number, retentionMs: number, limit: number): number {
    assert(Number.isSafeInteger(retentionMs) && retentionMs >= 0, `retentionMs ${retentionMs}`);
    assert(Number.isSafeInteger(limit), `limit ${limit}`);
    let n = 0;
    // The queue is in finishing order and its times never decrease, so the due ones come first.
    while (n < limit && this.purged < this.finished.length) {
      const reservation = this.finished[this.purged];
      if (reservation.finishedAtMs! + retentionMs > nowMs) break;
      this.reservations.delete(reservation.id);
      this.purged++;
      n++;
    }
    if (this.purged > 1024 && this.purged * 2 > this.finished.length) {
      this.finished.splice(0, this.purged); // keeps the queue's memory proportional to what it holds
      this.purged = 0;
    }
    return n;
  }

  private move(id: string, nowMs: number, move: Move): MoveOutcome {
    assertId(id, 128, "reservation");
    const reservation = this.reservations.get(id);
    if (!reservation) return { status: LedgerStatus.ReservationNotFound, reservation: null };
    this.expireIfDue(reservation, nowMs);
    const { from, to } = MOVES[move];
    if (reservation.status === "expired") {
      return { status: LedgerStatus.ReservationExpired, reservation: reservationState(reservation) };
    }
    if (reservation.status === to) {
      return { status: LedgerStatus.Ok, changed: false, reservation: reservationState(reservation) };
    }
    if (!from.includes(reservation.status)) {
      return { status: LedgerStatus.InvalidTransition, reservation: reservationState(reservation) };
    }
    this.transition([reservation], to, nowMs);
    return { status: LedgerStatus.Ok, changed: true, reservation: reservationState(reservation) };
  }

  /** Expires a held reservation whose expiry is due; answers whether it did. */
  private expireIfDue(reservation: Reservation, nowMs: number): boolean {
    if (reservation.status !== "held" || reservation.expiresAtMs > nowMs) return false;
    this.transition([reservation], "expired", nowMs);
    return true;
  }

  /**
   * Moves reservations to `to` and their units between the position counters,
   * as one command: a position several of them touch moves one version. A
   * reservation that finishes (any status but committed) joins the purge
   * queue at max(nowMs, the newest finishing time queued), so a clock that
   * steps back never reorders the queue.
   */
  private transition(reservations: readonly Reservation[], to: ReservationStatus, nowMs: number): void {
    const touched = reservations.flatMap((reservation) => this.positionsOf(reservation));
    this.trackVersions(touched, () => {
      for (const reservation of reservations) {
        for (const line of reservation.lines) {
          const position = this.positionFor(line.sku, line.location);
          if (reservation.status === "held") position.reserved -= line.qty;
          else if (reservation.status === "committed") position.committed -= line.qty;
          else assert(false, `transition out of ${reservation.status}`);
          if (to === "committed") position.committed += line.qty;
          if (to === "fulfilled") position.onHand -= Math.min(line.qty, position.onHand);
        }
        reservation.status = to;
        if (to !== "committed") this.queueFinished(reservation, nowMs);
      }
    });
  }

  private queueFinished(reservation: Reservation, nowMs: number): void {
    const newest = this.purged < this.finished.length ? this.finished[this.finished.length - 1].finishedAtMs! : -Infinity;
    reservation.finishedAtMs = Math.max(nowMs, newest);
    this.finished.push(reservation);
  }

  // ------------------------------------------------- locations, channels

  putLocation(id: string, patch: LocationPatch): { status: LedgerStatus; changed: boolean; location: LocationState | null } {
    assertId(id, 64, "location");
    if (patch.safetyStock !== undefined) assertQuantity(patch.safetyStock, 0, QUANTITY_MAX, "safetyStock");
    const created = !this.locations.has(id);
    if (created && this.locations.size >= LOCATIONS_MAX) {
      return { status: LedgerStatus.LedgerFull, changed: false, location: null };
    }
    const location = this.locationFor(id);
    let changed = created;
    const atLocation = [...this.positions.values()].filter((position) => position.location === id);
    this.trackVersions(atLocation, () => {
      if (patch.enabled !== undefined && patch.enabled !== location.enabled) {
        location.enabled = patch.enabled;
        changed = true;
      }
      if (patch.safetyStock !== undefined && patch.safetyStock !== location.safetyStock) {
        location.safetyStock = patch.safetyStock;
        changed = true;
      }
      if (patch.kind !== undefined && patch.kind !== location.kind) {
        location.kind = patch.kind;
        changed = true;
      }
      if (patch.name !== undefined && patch.name !== location.name) {
        location.name = patch.name;
        changed = true;
      }
    });
    return { status: LedgerStatus.Ok, changed, location: locationState(location) };
  }

  putChannel(id: string, patch: ChannelPatch): { status: LedgerStatus; changed: boolean; channel: ChannelState | null } {
    assert(/^[a-z0-9_-]{1,64}$/.test(id), `channel id ${JSON.stringify(id)}`);
    if (patch.buffer !== undefined) assertQuantity(patch.buffer, 0, QUANTITY_MAX, "buffer");
    patch.locations?.forEach((location) => assertId(location, 64, "location"));
    const created = !this.channels.has(id);
    const locations = patch.locations == null ? patch.locations : [...new Set(patch.locations)];
    const newLocations = (locations ?? []).filter((location) => !this.locations.has(location));
    const full =
      (created && this.channels.size >= CHANNELS_MAX) || this.locations.size + newLocations.length > LOCATIONS_MAX;
    if (full) return { status: LedgerStatus.LedgerFull, changed: false, channel: null };

    // A channel PUT naming a location brings it into being; channel settings
    // never touch position figures, so no version moves here.
    for (const location of newLocations) this.locationFor(location);
    let channel = this.channels.get(id);
    if (!channel) {
      channel = { id, locations: null, buffer: 0 };
      this.channels.set(id, channel);
    }
    let changed = created || newLocations.length > 0;
    if (locations !== undefined && !sameList(locations, channel.locations)) {
      channel.locations = locations;
      changed = true;
    }
    if (patch.buffer !== undefined && patch.buffer !== channel.buffer) {
      channel.buffer = patch.buffer;
      changed = true;
    }
    return { status: LedgerStatus.Ok, changed, channel: channelState(channel) };
  }

  // ---------------------------------------------------------- debugging

  /** All state, one canonical line per entity in first-created order (for debugging and diffs). */
  stateDigest(): string {
    const lines: string[] = [];
    for (const l of this.locations.values()) {
      lines.push(`location ${JSON.stringify([l.id, l.enabled, l.safetyStock, l.kind, l.name])}`);
    }
    for (const c of this.channels.values()) {
      lines.push(`channel ${JSON.stringify([c.id, c.locations, c.buffer])}`);
    }
    for (const p of this.positions.values()) {
      const values = [p.sku, p.location, p.onHand, p.reserved, p.committed, p.ownSafetyStock, p.version];
      lines.push(`position ${JSON.stringify(values)}`);
    }
    for (const r of this.reservations.values()) {
      lines.push(`reservation ${JSON.stringify([r.id, r.status, r.channel, r.expiresAtMs, r.finishedAtMs, r.lines])}`);
    }
    return lines.join("\n");
  }

  // ------------------------------------------------------------ helpers

  private assertPositionIds(sku: string, location: string): void {
    assertId(sku, 128, "sku");
    assertId(location, 64, "location");
  }

  private figuresOf(position: Position): PositionFigures {
    const location = this.locations.get(position.location);
    assert(location !== undefined, `position at unknown location ${position.location}`);
    const safetyStock = position.ownSafetyStock ?? location.safetyStock;
    const free = position.onHand - position.reserved - position.committed - safetyStock;
    return {
      available: location.enabled ? Math.max(0, free) : 0,
      onHand: position.onHand,
      reserved: position.reserved,
      committed: position.committed,
      safetyStock,
      shortfall: Math.max(0, position.reserved + position.committed - position.onHand),
      version: position.version,
    };
  }

  private stateOf(position: Position): PositionState {
    const enabled = this.locations.get(position.location)?.enabled ?? true;
    return { sku: position.sku, location: position.location, ...this.figuresOf(position), enabled };
  }

  /** The figure a channel promises at a position: max(0, available − buffer). */
  private channelAvailable(position: Position, channel: Channel): number {
    return Math.max(0, this.figuresOf(position).available - channel.buffer);
  }

  /** Runs `mutate`, then bumps the version of every position whose reported figures moved. */
  private trackVersions(touched: readonly Position[], mutate: () => void): void {
    const positions = [...new Set(touched)]; // one version per position per command
    const before = positions.map((position) => this.figuresOf(position));
    mutate();
    for (const [index, position] of positions.entries()) {
      if (!figuresEqual(before[index], this.figuresOf(position))) position.version++;
    }
  }

  private positionsOf(reservation: Reservation): Position[] {
    return reservation.lines.map((line) => this.positionFor(line.sku, line.location));
  }

  /** The position, created (with its location) when new; capacity is checked by the caller. */
  private positionFor(sku: string, location: string): Position {
    const key = positionKey(sku, location);
    let position = this.positions.get(key);
    if (!position) {
      this.locationFor(location);
      position = { sku, location, onHand: 0, reserved: 0, committed: 0, ownSafetyStock: null, version: 0 };
      this.positions.set(key, position);
      const ofSku = this.positionsBySku.get(sku) ?? [];
      ofSku.push(position);
      this.positionsBySku.set(sku, ofSku);
    }
    return position;
  }

  /** The location, created with its defaults when new; capacity is checked by the caller. */
  private locationFor(id: string): Location {
    let location = this.locations.get(id);
    if (!location) {
      location = { id, enabled: true, safetyStock: 0, kind: null, name: null };
      this.locations.set(id, location);
    }
    return location;
  }
}

function zeroFigures(): PositionFigures {
  return { available: 0, onHand: 0, reserved: 0, committed: 0, safetyStock: 0, shortfall: 0, version: 0 };
}

function sellsFrom(channel: Channel, location: string): boolean {
  return channel.locations === null || channel.locations.includes(location);
}

function sameList(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

// Answers are copies, so a caller can never reach into the model's state.

function reservationState(r: Reservation): ReservationState {
  const lines = r.lines.map((line) => ({ ...line }));
  return { id: r.id, status: r.status, channel: r.channel, lines, expiresAtMs: r.expiresAtMs };
}

function locationState(l: Location): LocationState {
  return { id: l.id, enabled: l.enabled, safetyStock: l.safetyStock, kind: l.kind, name: l.name };
}

function channelState(c: Channel): ChannelState {
  return { id: c.id, locations: c.locations === null ? null : [...c.locations], buffer: c.buffer };
}
