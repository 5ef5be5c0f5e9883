// A token bucket: `ratePerSecond` tokens flow in continuously, up to `burst`
// held at once; take() resolves when a token is available, in FIFO order, so
// a marketplace's request quota is never exceeded however the pushes bunch
// up. The clock and the timer are injectable for tests.

import { AbortedError } from "./errors.js";

export interface TokenBucketOptions {
  ratePerSecond: number; // sustained requests per second, > 0
  burst: number; // tokens held at most (requests allowed back to back), ≥ 1
  now?: () => number; // milliseconds, monotonic
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

const defaultTimer = (fn: () => void, ms: number): { cancel(): void } => {
  const t = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(t) };
};

export class TokenBucket {
  private tokens: number;
  private lastRefillMs: number;
  private readonly waiters: Waiter[] = [];
  private timer: { cancel(): void } | null = null;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => { cancel(): void };

  constructor(private readonly options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0)) throw new Error(`ratePerSecond must be > 0, got ${options.ratePerSecond}`);
    if (!(options.burst >= 1)) throw new Error(`burst must be ≥ 1, got ${options.burst}`);
    this.now = options.now ?? (() => performance.now());
    this.setTimer = options.setTimer ?? defaultTimer;
    this.tokens = options.burst; // a fresh bucket is full
    this.lastRefillMs = this.now();
  }

  /** Tokens available right now (fractional). */
  get available(): number {
    this.refill();
    return this.tokens;
  }

  /** Takes one token without waiting; false when none is available or others are queued. */
  tryTake(): boolean {
    this.refill();
    if (this.waiters.length > 0 || this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Resolves once a token is taken; rejects with AbortedError if `signal` aborts first. */
  take(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AbortedError());
    if (this.tryTake()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i !== -1) this.waiters.splice(i, 1);
          reject(new AbortedError());
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
      this.schedule();
    });
  }

  private refill(): void {
    const now = this.now();
    const elapsedMs = Math.max(0, now - this.lastRefillMs);
    this.lastRefillMs = now;
    this.tokens = Math.min(this.options.burst, this.tokens + (elapsedMs * this.options.ratePerSecond) / 1000);
  }

  private schedule(): void {
    if (this.timer !== null || this.waiters.length === 0) return;
    const waitMs = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.options.ratePerSecond));
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.drain();
    }, waitMs);
  }

  /** Hands tokens to waiters in order; called by the timer (and by tests driving a fake clock). */
  drain(): void {
    this.refill();
    while (this.waiters.length > 0 && this.tokens >= 1) {
      this.tokens -= 1;
      const waiter = this.waiters.shift()!;
      if (waiter.onAbort) waiter.signal!.removeEventListener("abort", waiter.onAbort);
      waiter.resolve();
    }
    this.schedule();
  }
}
