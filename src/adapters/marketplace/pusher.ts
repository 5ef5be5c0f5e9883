// The pusher: delivers one batch to a sink, retrying what may succeed later.
// A sink makes one attempt and classifies it (sink-side: webhook-sink.ts,
// feed-sink.ts); the pusher owns the policy: exponential backoff with full
// jitter between attempts, a Retry-After from the marketplace honoured (up
// to a cap), a bound on attempts and on elapsed time, and a rate-limiter
// token taken before every retry. A batch the marketplace refuses as
// invalid (a 4xx other than 408/429) is not retried: retrying cannot fix it.

import { fullJitterDelayMs, sleep, type BackoffOptions } from "./backoff.js";
import { AbortedError } from "./errors.js";
import type { TokenBucket } from "./token-bucket.js";

/** One listing update: the SKU's channel ATP as of `seq`. */
export interface PushItem {
  sku: string;
  available: number;
  seq: number;
}

/** What one attempt came to. */
export type AttemptResult =
  | { kind: "ok" }
  | { kind: "retry"; reason: string; retryAfterMs?: number } // 429, 5xx, 408, network error, timeout
  | { kind: "reject"; reason: string }; // any other 4xx: the request itself is wrong

/** A marketplace endpoint: one attempt at delivering a batch. */
export interface Sink {
  readonly kind: string; // "webhook", "feed": the metrics label
  open(): Promise<void>;
  attempt(items: readonly PushItem[], signal: AbortSignal): Promise<AttemptResult>;
  close(): Promise<void>;
}

export type PushOutcome =
  | { kind: "delivered"; attempts: number }
  | { kind: "rejected"; attempts: number; reason: string }
  | { kind: "exhausted"; attempts: number; reason: string };

export interface RetryOptions extends BackoffOptions {
  attemptsMax: number; // attempts per batch, including the first
  elapsedMaxMs: number; // no retry starts later than this after the first attempt
  retryAfterMaxMs: number; // a longer Retry-After is cut to this
}

export const RETRY_DEFAULTS: RetryOptions = {
  baseMs: 200,
  capMs: 30_000,
  attemptsMax: 10,
  elapsedMaxMs: 5 * 60_000,
  retryAfterMaxMs: 5 * 60_000,
};

export class Pusher {
  constructor(
    private readonly sink: Sink,
    private readonly limiter: TokenBucket,
    private readonly retry: RetryOptions,
    private readonly onAttempt: (result: AttemptResult) => void = () => undefined,
    private readonly random: () => number = Math.random,
  ) {
    if (!(retry.attemptsMax >= 1)) throw new Error(`attemptsMax must be ≥ 1, got ${retry.attemptsMax}`);
  }

  /**
   * Delivers `items`, retrying as configured. The caller has already taken
   * the first attempt's token. Rejects only with AbortedError (`signal`).
   */
  async push(items: readonly PushItem[], signal: AbortSignal): Promise<PushOutcome> {
    const startMs = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) await this.limiter.take(signal);
      let result: AttemptResult;
      try {
        result = await this.sink.attempt(items, signal);
      } catch (error) {
        if (signal.aborted) throw new AbortedError();
        result = { kind: "retry", reason: (error as Error).message };
      }
      this.onAttempt(result);
      if (result.kind === "ok") return { kind: "delivered", attempts: attempt };
      if (result.kind === "reject") return { kind: "rejected", attempts: attempt, reason: result.reason };
      const jitter = fullJitterDelayMs(attempt - 1, this.retry, this.random);
      const delayMs = result.retryAfterMs !== undefined ? Math.min(this.retry.retryAfterMaxMs, result.retryAfterMs) : jitter;
      if (attempt >= this.retry.attemptsMax || Date.now() + delayMs - startMs > this.retry.elapsedMaxMs) {
        return { kind: "exhausted", attempts: attempt, reason: result.reason };
      }
      await sleep(delayMs, signal);
    }
  }
}
