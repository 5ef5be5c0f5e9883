// Walks the ledger's change log of one command as stream messages: one delta
// per changed position (its figures after the command), then one channel
// message per (channel, SKU) whose channel ATP moved. A channel figure moves
// iff Σ over the SKU's changed positions at the channel's locations of
// max(0, available − buffer) changed, which the log's available-before
// figures tell without re-reading anything. It lives in the stream layer so
// that the feed (which stages these messages as bytes) and the engine (which
// builds them as objects, see engine/deltas.ts) both depend on it, and the
// stream never on the engine.

import type { PositionFigures } from "../ledger/types.js";
import type { WasmLedger } from "../ledger/wasm-ledger.js";
import type { ChannelMessage, DeltaMessage } from "./messages.js";

/** Receives the messages of one command in seq order: a delta per changed position, then channel figures. */
export interface ChangeSink {
  /** Position p changed: `figures` holds its figures now (valid during the call), l is its location index. */
  delta(p: number, figures: PositionFigures, l: number): void;
  /** The channel ATP of SKU index s for channel index c moved. */
  channel(c: number, s: number): void;
}

const figures: PositionFigures = { available: 0, onHand: 0, reserved: 0, committed: 0, safetyStock: 0, shortfall: 0, version: 0 };

/** Walks the messages of the last command's change log into `sink`; returns how many. */
export function walkChangesOfLastCommand(ledger: WasmLedger, sink: ChangeSink): number {
  const count = ledger.changeCount();
  const log = ledger.changeLog();
  if (ledger.channelCount() === 0) { // no channel figure can move: the common case without the bookkeeping
    for (let i = 0; i < count; i++) {
      const p = log[2 * i];
      sink.delta(p, figures, ledger.positionFiguresInto(p, figures));
    }
    return count;
  }
  const after = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const p = log[2 * i];
    const l = ledger.positionFiguresInto(p, figures);
    after[i] = figures.available;
    sink.delta(p, figures, l);
  }
  let moved = 0;
  forEachMovedChannel(ledger, log, after, (c, s) => {
    moved++;
    sink.channel(c, s);
  });
  return count + moved;
}

/** The delta message of position p (figures f, location index l). */
export function deltaMessage(ledger: WasmLedger, p: number, f: PositionFigures, l: number, ts: string): Omit<DeltaMessage, "seq"> {
  return {
    type: "delta", sku: ledger.skuName(ledger.skuIndexOf(p)), location: ledger.locationNameAt(l), available: f.available, onHand: f.onHand,
    reserved: f.reserved, committed: f.committed, safetyStock: f.safetyStock, shortfall: f.shortfall, version: f.version, ts,
  };
}

/** The channel message of SKU index s for channel index c. */
export function channelMessage(ledger: WasmLedger, c: number, s: number, ts: string): Omit<ChannelMessage, "seq"> {
  return { type: "channel", channel: ledger.channelNameAt(c), sku: ledger.skuName(s), available: ledger.skuAvailableAt(s, c), ts };
}

/**
 * Calls `moved(c, s)` for each (channel, SKU) whose channel ATP the change
 * log's entries moved; `after[i]` is entry i's available figure now.
 */
export function forEachMovedChannel(ledger: WasmLedger, log: Uint32Array, after: number[], moved: (c: number, s: number) => void): void {
  const channels = ledger.channelCount();
  if (channels === 0 || after.length === 0) return;
  // The SKUs touched, in first-seen order, with their entries.
  const bySku = new Map<number, number[]>();
  for (let i = 0; i < after.length; i++) {
    const s = ledger.skuIndexOf(log[2 * i]);
    const entries = bySku.get(s);
    if (entries) entries.push(i);
    else bySku.set(s, [i]);
  }
  for (let c = 0; c < channels; c++) {
    const buffer = ledger.channelBufferAt(c);
    for (const [s, entries] of bySku) {
      let delta = 0;
      for (const i of entries) {
        if (!ledger.channelIncludesLocation(c, ledger.locationIndexOf(log[2 * i]))) continue;
        delta += Math.max(0, after[i] - buffer) - Math.max(0, log[2 * i + 1] - buffer);
      }
      if (delta !== 0) moved(c, s);
    }
  }
}
