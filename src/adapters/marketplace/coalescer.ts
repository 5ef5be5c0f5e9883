// The coalescer: the newest availability per SKU that has not been pushed
// yet. A marketplace only needs the latest figure of each listing, so a burst
// of changes to one hot SKU costs one push, not one per change.
//
// Bound: at most `pendingMax` distinct SKUs wait at once. The coalescer
// itself never refuses an offer; the adapter checks `full` before it reads
// the next event from its source, and while full it pushes immediately
// (ignoring the linger) and stops reading, so the source is paused (the
// WebSocket stops reading its socket, JetStream stops delivering once
// max_ack_pending is reached). Memory: one entry per pending SKU.

export interface PendingItem {
  sku: string;
  available: number;
  seq: number; // seq of the newest message folded into this entry
  holdSeq: number; // the checkpoint stays below this until the entry is pushed (seq, except for snapshot entries)
}

export class Coalescer {
  private readonly pending = new Map<string, PendingItem>();

  constructor(readonly pendingMax: number) {
    if (!(pendingMax >= 1 && Number.isInteger(pendingMax))) throw new Error(`pendingMax must be a positive integer, got ${pendingMax}`);
  }

  get size(): number {
    return this.pending.size;
  }

  /** True when no new SKU should be read from the source until a push makes room. */
  get full(): boolean {
    return this.pending.size >= this.pendingMax;
  }

  /** Folds in a figure; an older seq than the one held for the SKU is ignored (returns false). */
  offer(sku: string, available: number, seq: number, holdSeq: number = seq): boolean {
    const held = this.pending.get(sku);
    if (held !== undefined) {
      if (held.seq >= seq) return false;
      this.pending.delete(sku); // re-insert: iteration order stays oldest-change first
    }
    this.pending.set(sku, { sku, available, seq, holdSeq });
    return true;
  }

  has(sku: string): boolean {
    return this.pending.has(sku);
  }

  /** Removes and returns up to `max` entries, the longest waiting first. */
  take(max: number): PendingItem[] {
    const out: PendingItem[] = [];
    for (const item of this.pending.values()) {
      if (out.length >= max) break;
      out.push(item);
    }
    for (const item of out) this.pending.delete(item.sku);
    return out;
  }

  /** Smallest hold seq still waiting (Infinity when empty): the checkpoint stays below it. */
  minHoldSeq(): number {
    let min = Infinity;
    for (const item of this.pending.values()) if (item.holdSeq < min) min = item.holdSeq;
    return min;
  }

  clear(): void {
    this.pending.clear();
  }

  skus(): IterableIterator<string> {
    return this.pending.keys();
  }
}
