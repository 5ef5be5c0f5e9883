// The snapshot a stream client gets after a reset (SPEC section 5: "since"
// older than retention): every matching position, plus the current channel
// figures of the channels the subscription selects, all read from the ledger
// at one instant.
//
// Taken synchronously (the single writer cannot change the ledger meanwhile)
// and stored compactly — figures in one Float64Array, names as references to
// strings the ledger already holds, about 90 bytes per position — so that a
// slow client holds 90 bytes per matching position rather than a message
// object of ~400. Frames are built one at a time as the client can take them.
//
// Consistency: the ledger may already hold changes whose messages are staged
// but not yet released (their journal record is not durable). The snapshot
// is therefore labelled with the feed's *staged* seq, and the stream holds it
// back until the feed has released that seq: a client never sees a change
// before it is durable, and the live messages after snapshot_end (seq > the
// label) continue exactly where the snapshot's state stands.

import type { WasmLedger } from "../ledger/wasm-ledger.js";
import type { ChannelMessage, DeltaMessage } from "./messages.js";
import type { Filter } from "./ws-subscription.js";

const FIGURES = 7; // available, onHand, reserved, committed, safetyStock, shortfall, version

/** A position's current state, shaped as its delta (`ts`: when the snapshot was taken). */
export type SnapshotPosition = Omit<DeltaMessage, "type"> & { type: "snapshot" };

/** A channel figure's current state, shaped as its channel message. */
export type SnapshotChannel = Omit<ChannelMessage, "type"> & { type: "snapshot" };

export type SnapshotMessage = SnapshotPosition | SnapshotChannel;

export interface SnapshotTransfer {
  seq: number;
  ts: string;
  skus: string[];
  locations: string[];
  figures: Float64Array<ArrayBuffer>;
  channelNames: string[];
  channelSkus: string[];
  channelAvailable: number[];
}

/** One snapshot: positions first, then channel figures; `next()` yields them once, in order. */
export class Snapshot {
  private skus: string[] = [];
  private locations: string[] = [];
  private figures = new Float64Array(FIGURES * 1024);
  private channelNames: string[] = [];
  private channelSkus: string[] = [];
  private channelAvailable: number[] = [];
  private cursor = 0;

  constructor(
    readonly seq: number,
    readonly ts = new Date().toISOString(),
  ) {}

  /** The untaken snapshot as plain data (a worker thread gets it by postMessage from the writer). */
  toTransfer(): SnapshotTransfer {
    return {
      seq: this.seq, ts: this.ts, skus: this.skus, locations: this.locations,
      figures: this.figures.subarray(0, this.skus.length * FIGURES),
      channelNames: this.channelNames, channelSkus: this.channelSkus, channelAvailable: this.channelAvailable,
    };
  }

  static fromTransfer(t: SnapshotTransfer): Snapshot {
    const snapshot = new Snapshot(t.seq, t.ts);
    snapshot.skus = t.skus;
    snapshot.locations = t.locations;
    snapshot.figures = t.figures;
    snapshot.channelNames = t.channelNames;
    snapshot.channelSkus = t.channelSkus;
    snapshot.channelAvailable = t.channelAvailable;
    return snapshot;
  }

  /** Entries in the snapshot. */
  get size(): number {
    return this.skus.length + this.channelNames.length;
  }

  get done(): boolean {
    return this.cursor >= this.size;
  }

  addPosition(sku: string, location: string, f: { available: number; onHand: number; reserved: number; committed: number; safetyStock: number; shortfall: number; version: number }): void {
    const i = this.skus.length;
    if ((i + 1) * FIGURES > this.figures.length) {
      const grown = new Float64Array(this.figures.length * 2);
      grown.set(this.figures);
      this.figures = grown;
    }
    const o = i * FIGURES;
    const a = this.figures;
    a[o] = f.available;
    a[o + 1] = f.onHand;
    a[o + 2] = f.reserved;
    a[o + 3] = f.committed;
    a[o + 4] = f.safetyStock;
    a[o + 5] = f.shortfall;
    a[o + 6] = f.version;
    this.skus.push(sku);
    this.locations.push(location);
  }

  addChannel(channel: string, sku: string, available: number): void {
    this.channelNames.push(channel);
    this.channelSkus.push(sku);
    this.channelAvailable.push(available);
  }

  /** The next entry, or null when all were taken; each entry's memory is released as it is taken. */
  next(): SnapshotMessage | null {
    const i = this.cursor;
    const positions = this.skus.length;
    if (i >= this.size) return null;
    this.cursor++;
    if (i < positions) {
      const o = i * FIGURES;
      const a = this.figures;
      const message: SnapshotPosition = {
        type: "snapshot", seq: this.seq, sku: this.skus[i], location: this.locations[i],
        available: a[o], onHand: a[o + 1], reserved: a[o + 2], committed: a[o + 3],
        safetyStock: a[o + 4], shortfall: a[o + 5], version: a[o + 6], ts: this.ts,
      };
      if (this.cursor === positions) this.releasePositions();
      return message;
    }
    const j = i - positions;
    return { type: "snapshot", seq: this.seq, channel: this.channelNames[j], sku: this.channelSkus[j], available: this.channelAvailable[j], ts: this.ts };
  }

  private releasePositions(): void {
    const n = this.skus.length;
    // Keep the count (size and cursor arithmetic) but drop the storage.
    this.skus = new Array<string>(n);
    this.locations = [];
    this.figures = new Float64Array(0);
  }
}

/** Reads every position and channel figure `filter` selects from `ledger`, labelled `seq`. */
export function takeSnapshot(ledger: WasmLedger, filter: Filter, seq: number): Snapshot {
  const snapshot = new Snapshot(seq);
  const locations = filter.locations;
  const wantPositions = !(filter.skus?.size === 0 || locations?.size === 0);
  const skuNames: string[] = [];
  if (filter.skus !== null) {
    for (const sku of filter.skus) {
      skuNames.push(sku);
      if (!wantPositions) continue;
      for (const state of ledger.readSku(sku).locations) {
        if (locations === null || locations.has(state.location)) snapshot.addPosition(sku, state.location, state);
      }
    }
  } else {
    const n = ledger.skuCount();
    for (let s = 0; s < n; s++) {
      let name: string | null = null;
      for (const p of ledger.positionsOfSku(s)) {
        const state = ledger.positionAt(p);
        name ??= state.sku; // one string per SKU, shared by its positions
        if (locations === null || locations.has(state.location)) snapshot.addPosition(name, state.location, state);
      }
      skuNames.push(name ?? ledger.skuName(s));
    }
  }
  const channels = filter.open ? ledger.listChannels().map((c) => c.id) : [...(filter.channels ?? [])];
  for (const channel of channels) {
    if (ledger.channelIndexOf(channel) < 0) continue; // not created (yet)
    for (const sku of skuNames) snapshot.addChannel(channel, sku, ledger.skuAvailable(sku, channel) ?? 0);
  }
  return snapshot;
}
