// A wake-up without payload: the adapter's loops sleep on one and are woken
// by the events that may let them progress (a feed release, an ack, a
// reconnect, close). Waking many sleepers at once is the point; a wake with
// nobody asleep is lost, so a loop re-checks its state after every wake.

export class Signal {
  private readonly waiters = new Set<() => void>();

  /** Resolves at the next notify(). */
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  /** Resolves at the next notify() or after `ms`, whichever comes first. */
  waitFor(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.waiters.add(done);
    });
  }

  notify(): void {
    if (this.waiters.size === 0) return;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const resolve of waiters) resolve();
  }
}

/** Exponential backoff with jitter: 100 ms doubling to 5 s. */
export class Backoff {
  static readonly FIRST_MS = 100;
  static readonly MAX_MS = 5_000;
  private nextMs = Backoff.FIRST_MS;

  next(): number {
    const ms = this.nextMs;
    this.nextMs = Math.min(Backoff.MAX_MS, this.nextMs * 2);
    return ms / 2 + Math.random() * (ms / 2);
  }

  reset(): void {
    this.nextMs = Backoff.FIRST_MS;
  }
}
