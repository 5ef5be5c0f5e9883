// Retry delays: exponential backoff with "full jitter" (a uniform draw in
// [0, min(cap, base · 2^attempt)]), which spreads a herd of retrying clients
// out instead of having them hit a recovering server in lockstep, and the
// parsing of an HTTP Retry-After header (seconds or an HTTP date).

import { AbortedError } from "./errors.js";

export interface BackoffOptions {
  baseMs: number; // delay ceiling of the first retry
  capMs: number; // no delay is ever longer
}

/** The delay before retry number `attempt` (0 = the first retry): uniform in [0, min(cap, base·2^attempt)). */
export function fullJitterDelayMs(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  if (!(attempt >= 0 && Number.isInteger(attempt))) throw new Error(`attempt must be a non-negative integer, got ${attempt}`);
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * ceiling);
}

/** Milliseconds a Retry-After header asks for, or null when absent or unreadable. */
export function parseRetryAfterMs(header: string | null, nowMs: number = Date.now()): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

/** Resolves after `ms`, or rejects with AbortedError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
