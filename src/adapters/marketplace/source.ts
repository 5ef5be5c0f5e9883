// What the adapter consumes: one channel's availability figures in seq
// order, from the engine's WebSocket stream (ws-source.ts) or from a
// JetStream durable consumer (nats-source.ts). Both translate their wire
// messages into these few events, so everything downstream is transport-free.

/** The channel ATP of one SKU changed at `seq`. */
export interface ChangeEvent {
  kind: "change";
  seq: number;
  sku: string;
  available: number;
}

/** The engine could not replay from `since`: a snapshot follows and is the whole truth. */
export interface ResetEvent {
  kind: "reset";
  seq: number;
}

/** One SKU's channel ATP as of the reset. */
export interface SnapshotEvent {
  kind: "snapshot";
  sku: string;
  available: number;
}

/** The snapshot is complete: SKUs it did not name have nothing available. */
export interface SnapshotEndEvent {
  kind: "snapshot_end";
  seq: number;
}

export type SourceEvent = ChangeEvent | ResetEvent | SnapshotEvent | SnapshotEndEvent;

export interface Source {
  /**
   * The events, in seq order, from the `since` the source was built with;
   * reconnects are the source's business and invisible here. Ends after
   * close(); throws SourceFatalError when the engine refuses for good.
   */
  events(): AsyncIterable<SourceEvent>;
  /** Everything with seq ≤ `seq` is durably pushed and checkpointed (JetStream acks it). */
  committed(seq: number): void;
  /** Ends the events (queued ones are discarded) but keeps what committed() needs. */
  stopReading(): void;
  /** Stops reading and disconnects. */
  close(): Promise<void>;
}

/**
 * A bounded hand-off from a transport's callbacks to the adapter's loop.
 * Above `highWater` queued events it calls onPressure(true) (pause the
 * transport), and onPressure(false) once drained to half.
 */
export class EventQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private head = 0;
  private wake: (() => void) | null = null;
  private ended = false;
  private failure: Error | null = null;
  private paused = false;
  private readonly roomWaiters: (() => void)[] = [];

  constructor(private readonly highWater: number, private readonly onPressure: (paused: boolean) => void = () => undefined) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get pressured(): boolean {
    return this.paused;
  }

  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    if (!this.paused && this.size >= this.highWater) {
      this.paused = true;
      this.onPressure(true);
    }
    this.signal();
  }

  /** Resolves once the queue is below its high water mark (for pull-based transports). */
  room(): Promise<void> {
    if (!this.paused || this.ended) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** No more events; the iterator ends (or throws `error`) once the queued ones are consumed. */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error ?? null;
    this.signal();
    for (const r of this.roomWaiters.splice(0)) r();
  }

  /** Drops the queued events and ends at once. */
  discard(): void {
    this.items = [];
    this.head = 0;
    this.end();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.size > 0) {
        const item = this.items[this.head++];
        if (this.head > 4096 && this.head * 2 > this.items.length) {
          this.items = this.items.slice(this.head);
          this.head = 0;
        }
        if (this.paused && this.size <= this.highWater / 2) {
          this.paused = false;
          this.onPressure(false);
          for (const r of this.roomWaiters.splice(0)) r();
        }
        yield item;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
