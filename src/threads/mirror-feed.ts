// An HTTP worker's view of the writer's feed. The writer pushes every
// released message into the shared tail (stream/shared-tail.ts) and wakes the
// workers; each worker follows the tail in seq order and hands what it read
// to its WebSocket stream, exactly as the writer's feed hands its released
// batches to its own. Replays read the same tail, and the delta journal on
// disk for anything older (read-only: the writer alone appends and prunes).

import { readReleasedAfter, type FeedListener } from "../stream/feed.js";
import type { StreamMessage } from "../stream/messages.js";
import { SharedTail } from "../stream/shared-tail.js";
import type { StreamFeed } from "../stream/ws-stream.js";

/** Messages handed to the stream per batch while catching up. */
const FOLLOW_BATCH = 4096;
/** The disk lags the tail by at most the writer's flush period: retry after this long. */
const DISK_RETRY_MS = 50;

export class MirrorFeed implements StreamFeed {
  private readonly tail: SharedTail;
  private readonly listeners = new Set<FeedListener>();
  private followed = 0; // newest seq handed to the listeners
  private stopped = false;
  private started = false;
  private listenerAdded: (() => void) | null = null; // wakes the idle follow loop
  private retry: NodeJS.Timeout | null = null;

  constructor(
    tailBuffer: SharedArrayBuffer,
    private readonly dir: string,
  ) {
    this.tail = SharedTail.attach(tailBuffer);
  }

  get lastSeq(): number {
    // Without a listener nothing is followed: every released message is
    // already readable from the tail (or the disk).
    return this.started && this.listeners.size === 0 ? Math.max(this.followed, this.tail.newestSeq) : this.followed;
  }

  /** Follows the writer's feed from `lastSeq` (released before this worker was told it is ready). */
  start(lastSeq: number): void {
    this.followed = lastSeq;
    this.started = true;
    void this.follow();
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.tail.wake();
    this.listenerAdded?.();
  }

  private async follow(): Promise<void> {
    while (!this.stopped) {
      if (this.listeners.size === 0) {
        // No stream client on this worker: sleep until one subscribes instead
        // of waking on every release the writer makes (a wake-up of every
        // worker per group commit took a hold load on 2 workers from 55k/s
        // to 28k/s on 2 cores).
        await new Promise<void>((resolve) => (this.listenerAdded = resolve));
        this.listenerAdded = null;
        continue;
      }
      const seen = this.tail.signalValue();
      this.catchUp();
      await this.tail.waitForSignal(seen);
    }
  }

  /** Hands the listeners everything pushed into the tail that they have not had (also called by a stream's subscribe). */
  catchUp(): void {
    const newest = this.tail.newestSeq;
    if (this.listeners.size === 0) {
      // No stream client on this worker: nothing to decode. Replays read the
      // tail and the disk themselves, so skipping ahead loses nothing.
      this.followed = Math.max(this.followed, newest);
      return;
    }
    while (this.followed < newest && !this.stopped) {
      const batch = readReleasedAfter(this.tail, this.dir, this.followed, FOLLOW_BATCH, newest, this.tail.oldestSeq);
      if (batch === null) throw new Error(`stream: this worker fell behind retention at seq ${this.followed}`);
      if (batch.length === 0) {
        // Evicted from memory and not yet written to disk: only a worker
        // stalled for a whole tail gets here. Try again shortly.
        this.retry ??= setTimeout(() => {
          this.retry = null;
          this.catchUp();
        }, DISK_RETRY_MS);
        return;
      }
      this.followed = batch[batch.length - 1].seq;
      for (const listener of this.listeners) listener(batch);
    }
  }

  subscribe(listener: FeedListener): () => void {
    // The first listener starts live at the newest message; older ones are a replay's.
    if (this.started && this.listeners.size === 0) this.followed = Math.max(this.followed, this.tail.newestSeq);
    this.listeners.add(listener);
    this.listenerAdded?.();
    return () => this.listeners.delete(listener);
  }

  readAfter(since: number, limit: number): StreamMessage[] | null {
    return readReleasedAfter(this.tail, this.dir, since, limit, this.lastSeq, this.tail.oldestSeq);
  }
}
