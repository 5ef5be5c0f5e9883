// The engine's stream messages of one command, as objects: the deltas and
// channel figures of the last command's change log (walked by
// stream/ledger-changes.ts, which the feed also stages as bytes), their count
// for recovery, and the channel messages of a channel change (buffer,
// locations), compared SKU by SKU, before and after.

import type { WasmLedger } from "../ledger/wasm-ledger.js";
import { channelMessage, deltaMessage, forEachMovedChannel, walkChangesOfLastCommand } from "../stream/ledger-changes.js";
import type { UnnumberedMessage } from "../stream/messages.js";

/** Messages for the positions the last command changed. */
export function deltasOfLastCommand(ledger: WasmLedger, ts: string): UnnumberedMessage[] {
  const out: UnnumberedMessage[] = [];
  walkChangesOfLastCommand(ledger, {
    delta: (p, f, l) => out.push(deltaMessage(ledger, p, f, l, ts)),
    channel: (c, s) => out.push(channelMessage(ledger, c, s, ts)),
  });
  return out;
}

/**
 * How many messages deltasOfLastCommand would build, without building them
 * (recovery only needs the count for messages already in the delta journal).
 */
export function countOfLastCommand(ledger: WasmLedger): number {
  const count = ledger.changeCount();
  const log = ledger.changeLog();
  if (count === 0 || ledger.channelCount() === 0) return count;
  const after = new Array<number>(count);
  for (let i = 0; i < count; i++) after[i] = ledger.availableOfPosition(log[2 * i]);
  let moved = 0;
  forEachMovedChannel(ledger, log, after, () => moved++);
  return count + moved;
}

/** Channel ATP of every SKU for channel index c (-1: the channel does not exist yet: all 0). */
export function channelFigures(ledger: WasmLedger, c: number): Float64Array {
  const figures = new Float64Array(ledger.skuCount());
  if (c >= 0) for (let s = 0; s < figures.length; s++) figures[s] = ledger.skuAvailableAt(s, c);
  return figures;
}

/** Channel messages for every SKU whose figure differs from `before` after a channel change. */
export function channelChangeMessages(ledger: WasmLedger, channel: string, before: Float64Array, ts: string): UnnumberedMessage[] {
  const c = ledger.channelIndexOf(channel);
  if (c < 0) return [];
  const out: UnnumberedMessage[] = [];
  const skus = ledger.skuCount();
  for (let s = 0; s < skus; s++) {
    const available = ledger.skuAvailableAt(s, c);
    if (available !== (s < before.length ? before[s] : 0)) out.push({ type: "channel", channel, sku: ledger.skuName(s), available, ts });
  }
  return out;
}
