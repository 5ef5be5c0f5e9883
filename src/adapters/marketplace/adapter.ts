// The adapter: source → coalescer → push policy → rate limiter → pusher →
// checkpoint, for one channel and one sink. Two loops share the state: the
// reader folds source events into the coalescer (and stops reading while it
// is full), the flusher takes batches out, pushes them one at a time, and
// moves the checkpoint.
//
// The checkpoint invariant: every message with seq ≤ checkpoint has been
// delivered, deliberately dropped by the push policy, rejected by the
// marketplace as invalid, or superseded by a newer figure of its SKU that
// was. So the checkpoint is the smallest of
//   - the high water: the newest seq read in full (a snapshot counts only at
//     its end),
//   - (hold seq of each waiting or in-flight entry) − 1, where the hold seq
//     of a change is its seq, and that of a snapshot entry is the high water
//     before the reset + 1: snapshot entries are not messages a replay could
//     send again, so until every one is pushed a restart must resume before
//     the reset (and get the reset again).
// Batches whose retries ran out go back into the coalescer (unless a newer
// figure arrived meanwhile), so a marketplace outage holds the checkpoint
// and, once the coalescer is full, the source; it loses nothing.
//
// A reset whose seq is below the high water means the engine's history was
// replaced (a wiped data directory): the seqs start over. The pending
// figures and the seqs of the pushed ones are forgotten, the snapshot is
// pushed, and once all of it is, the checkpoint is rewound to the new
// history's seq.

import { sleep } from "./backoff.js";
import type { FileCheckpoint } from "./checkpoint.js";
import { Coalescer, type PendingItem } from "./coalescer.js";
import { AbortedError } from "./errors.js";
import { batchesExhausted, checkpointSeq, itemsPushed, itemsSkipped, pendingSkus, pushAttempts } from "./metrics.js";
import { meaningfulChange, type PushPolicyOptions } from "./push-policy.js";
import { Pusher, type RetryOptions, type Sink } from "./pusher.js";
import type { Source, SourceEvent } from "./source.js";
import type { TokenBucket } from "./token-bucket.js";

export interface AdapterOptions {
  channel: string;
  source: Source;
  sink: Sink;
  checkpoint: FileCheckpoint;
  limiter: TokenBucket;
  retry: RetryOptions;
  batchMax: number; // items per push
  lingerMs: number; // wait after the first pending change so a batch can fill (skipped when full)
  pendingMax: number; // distinct SKUs in the coalescer before the source is paused
  policy: PushPolicyOptions | null; // null: push every figure
  exhaustedPauseMs?: number; // pause after a batch's retries ran out (default: retry.capMs)
  log?: (line: string) => void;
}

interface Pushed {
  available: number;
  seq: number;
}

export class MarketplaceAdapter {
  private readonly coalescer: Coalescer;
  private readonly pusher: Pusher;
  private readonly pushed = new Map<string, Pushed>(); // last figure delivered per SKU: one entry per SKU of the channel
  private readonly inflight = new Map<string, PendingItem>(); // the batch being pushed, by SKU
  private readonly abort = new AbortController();
  private readonly log: (line: string) => void;
  private highWater: number;
  private snapshot: { seq: number; holdSeq: number; skus: Set<string> } | null = null;
  private history = 0; // bumped when the engine's history is replaced
  private rewindPending = false; // the checkpoint must go back once the new history's snapshot is pushed
  private draining = false;
  private readerDone = false;
  private wakeFlusher: (() => void) | null = null;
  private roomWaiters: (() => void)[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly options: AdapterOptions) {
    this.coalescer = new Coalescer(options.pendingMax);
    this.log = options.log ?? (() => undefined);
    const sink = options.sink.kind;
    this.pusher = new Pusher(options.sink, options.limiter, options.retry, (r) => pushAttempts.inc({ sink, result: r.kind }));
    this.highWater = options.checkpoint.seq;
    checkpointSeq.set({ sink }, options.checkpoint.seq);
  }

  /** SKUs waiting to be pushed. */
  get pending(): number {
    return this.coalescer.size;
  }

  /** Opens the sink and runs until stop() or kill(); rejects when the source fails for good. */
  start(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      await this.options.sink.open();
      const reader = this.read().finally(() => {
        this.readerDone = true;
        this.poke();
      });
      const flusher = this.flush().catch((error: unknown) => {
        this.abort.abort(); // a flusher bug stops everything rather than leave the reader running
        void this.options.source.close();
        throw error;
      });
      try {
        await reader;
      } catch (error) {
        this.abort.abort();
        await flusher.catch(() => undefined);
        throw error;
      }
      await flusher;
    })();
    return this.running;
  }

  /** Stops reading, pushes what is pending (for at most `drainTimeoutMs`), saves the checkpoint, closes the sink. */
  async stop(drainTimeoutMs = 10_000): Promise<void> {
    this.draining = true;
    this.options.source.stopReading();
    this.poke();
    const timeout = new AbortController();
    const drained = this.running ? this.running.catch(() => undefined) : Promise.resolve();
    await Promise.race([drained, sleep(drainTimeoutMs, timeout.signal).catch(() => undefined)]);
    timeout.abort();
    this.abort.abort();
    await drained;
    await this.advanceCheckpoint();
    await this.options.source.close();
    await this.options.sink.close();
    await this.options.checkpoint.close();
  }

  /**
   * Stops at once, as a crash would: nothing is flushed, the lock is not
   * released, no checkpoint write starts (one already under way completes,
   * as it could before a crash). Resolves once the loops have ended.
   */
  async kill(): Promise<void> {
    this.abort.abort();
    this.poke();
    await this.options.source.close();
    await this.running?.catch(() => undefined);
  }

  private poke(): void {
    const wake = this.wakeFlusher;
    this.wakeFlusher = null;
    wake?.();
    if (this.abort.signal.aborted) for (const r of this.roomWaiters.splice(0)) r();
  }

  private async read(): Promise<void> {
    for await (const event of this.options.source.events()) {
      if (this.abort.signal.aborted) return;
      this.apply(event);
      this.poke();
      while (this.coalescer.full && !this.abort.signal.aborted) {
        await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      }
    }
  }

  private apply(event: SourceEvent): void {
    switch (event.kind) {
      case "change":
        this.offer(event.sku, event.available, event.seq, event.seq);
        if (this.snapshot === null) this.highWater = Math.max(this.highWater, event.seq);
        return;
      case "reset":
        if (event.seq < this.highWater) {
          this.log(`reset at seq ${event.seq}, behind our seq ${this.highWater}: the engine's history was replaced; pushing its snapshot`);
          this.history++;
          this.coalescer.clear();
          for (const pushed of this.pushed.values()) pushed.seq = 0;
          this.rewindPending = true;
        } else {
          this.log(`reset at seq ${event.seq}: the snapshot that follows replaces what the marketplace holds`);
        }
        // Hold seq 0 in a replaced history: no checkpoint write at all until the whole snapshot is pushed.
        this.snapshot = { seq: event.seq, holdSeq: this.rewindPending ? 0 : this.highWater + 1, skus: new Set() };
        return;
      case "snapshot":
        if (this.snapshot === null) return;
        this.snapshot.skus.add(event.sku);
        this.offer(event.sku, event.available, this.snapshot.seq, this.snapshot.holdSeq);
        return;
      case "snapshot_end": {
        const snapshot = this.snapshot;
        if (snapshot === null) return;
        // The snapshot is the whole truth: a SKU it does not name has nothing available.
        const known = new Set([...this.pushed.keys(), ...this.coalescer.skus(), ...this.inflight.keys()]);
        for (const sku of known) if (!snapshot.skus.has(sku)) this.offer(sku, 0, snapshot.seq, snapshot.holdSeq);
        this.snapshot = null;
        this.highWater = this.rewindPending ? event.seq : Math.max(this.highWater, event.seq);
        return;
      }
    }
  }

  private offer(sku: string, available: number, seq: number, holdSeq: number): void {
    const pushed = this.pushed.get(sku);
    if (pushed !== undefined && pushed.seq >= seq) return;
    const inflight = this.inflight.get(sku);
    if (inflight !== undefined && inflight.seq >= seq && !this.rewindPending) return;
    this.coalescer.offer(sku, available, seq, holdSeq);
  }

  private waitForWork(): Promise<void> {
    if (this.coalescer.size > 0 || this.abort.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => (this.wakeFlusher = resolve));
  }

  private async flush(): Promise<void> {
    const { batchMax, lingerMs } = this.options;
    const signal = this.abort.signal;
    try {
      while (!signal.aborted) {
        pendingSkus.set({ sink: this.options.sink.kind }, this.coalescer.size);
        if (this.coalescer.size === 0) {
          await this.advanceCheckpoint();
          if (this.readerDone) return;
          await this.waitForWork();
          continue;
        }
        if (!this.coalescer.full && this.coalescer.size < batchMax && !this.draining && lingerMs > 0) await sleep(lingerMs, signal);
        await this.pushBatch(this.coalescer.take(batchMax), signal);
        for (const r of this.roomWaiters.splice(0)) r();
        await this.advanceCheckpoint();
      }
    } catch (error) {
      if (!(error instanceof AbortedError)) throw error;
    }
  }

  private async pushBatch(batch: PendingItem[], signal: AbortSignal): Promise<void> {
    const sink = this.options.sink.kind;
    for (const item of batch) this.inflight.set(item.sku, item);
    const history = this.history;
    const policy = this.options.policy;
    const items = policy === null ? batch : batch.filter((i) => meaningfulChange(this.pushed.get(i.sku)?.available, i.available, policy) !== null);
    if (items.length < batch.length) itemsSkipped.inc({ sink, reason: "policy" }, batch.length - items.length);
    if (items.length > 0) {
      await this.options.limiter.take(signal);
      const outcome = await this.pusher.push(items, signal);
      if (outcome.kind === "delivered") {
        for (const i of items) this.pushed.set(i.sku, { available: i.available, seq: history === this.history ? i.seq : 0 });
        itemsPushed.inc({ sink }, items.length);
      } else if (outcome.kind === "rejected") {
        this.log(`push of ${items.length} items refused (${outcome.reason}); skipped (seq ${items[0].seq}…${items[items.length - 1].seq})`);
        itemsSkipped.inc({ sink, reason: "rejected" }, items.length);
      } else {
        this.log(`push of ${items.length} items failed ${outcome.attempts} times (${outcome.reason}); requeued`);
        batchesExhausted.inc({ sink });
        this.inflight.clear();
        if (history === this.history) for (const i of items) this.offer(i.sku, i.available, i.seq, i.holdSeq);
        await sleep(this.options.exhaustedPauseMs ?? this.options.retry.capMs, signal);
      }
    }
    this.inflight.clear();
  }

  private async advanceCheckpoint(): Promise<void> {
    let frontier = Math.min(this.highWater, this.coalescer.minHoldSeq() - 1);
    for (const item of this.inflight.values()) frontier = Math.min(frontier, item.holdSeq - 1);
    const checkpoint = this.options.checkpoint;
    const rewind = this.rewindPending && this.snapshot === null && frontier >= 0;
    if (frontier <= checkpoint.seq && !rewind) return;
    try {
      if (rewind) {
        await checkpoint.rewind(frontier);
        this.rewindPending = false;
      } else {
        await checkpoint.save(frontier);
      }
    } catch (error) {
      this.log(`checkpoint ${checkpoint.path}: ${(error as Error).message}; will retry`);
      return;
    }
    checkpointSeq.set({ sink: this.options.sink.kind }, frontier);
    this.options.source.committed(frontier);
  }
}
