// The webhook sink: POSTs a batch as JSON `{channel, items: [{sku,
// available, seq}]}` to one URL, signed with `X-Omnistock-Signature:
// sha256=<hex HMAC-SHA256 of the exact body>` and stamped with
// `X-Omnistock-Timestamp` (Unix seconds at sending). Items are absolute
// figures with their seq, so a receiver that keeps the highest seq applied
// per SKU can take retries and replays idempotently.

import { parseRetryAfterMs } from "./backoff.js";
import type { AttemptResult, PushItem, Sink } from "./pusher.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signBody } from "./signature.js";

export interface WebhookSinkOptions {
  url: string;
  secret: string;
  channel: string;
  timeoutMs: number; // one attempt, request to end of response
  responseBytesMax?: number; // the response body is read (to reuse the connection) up to this
}

/** The exact JSON body sent for a batch. */
export function webhookBody(channel: string, items: readonly PushItem[]): string {
  return JSON.stringify({ channel, items: items.map((i) => ({ sku: i.sku, available: i.available, seq: i.seq })) });
}

export class WebhookSink implements Sink {
  readonly kind = "webhook";

  constructor(private readonly options: WebhookSinkOptions) {}

  async open(): Promise<void> {}

  async close(): Promise<void> {}

  async attempt(items: readonly PushItem[], signal: AbortSignal): Promise<AttemptResult> {
    const body = webhookBody(this.options.channel, items);
    let res: Response;
    try {
      res = await fetch(this.options.url, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "user-agent": "omnistock-adapter",
          [SIGNATURE_HEADER]: signBody(body, this.options.secret),
          [TIMESTAMP_HEADER]: String(Math.floor(Date.now() / 1000)),
        },
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
    } catch (error) {
      if (signal.aborted) throw error;
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return { kind: "retry", reason: `network: ${cause ?? (error as Error).message}` };
    }
    await drain(res, this.options.responseBytesMax ?? 64 * 1024);
    const status = res.status;
    if (status >= 200 && status < 300) return { kind: "ok" };
    if (status === 429) {
      const retryAfterMs = parseRetryAfterMs(res.headers.get("retry-after"));
      return retryAfterMs === null ? { kind: "retry", reason: "HTTP 429" } : { kind: "retry", reason: "HTTP 429", retryAfterMs };
    }
    if (status >= 500 || status === 408) {
      const retryAfterMs = parseRetryAfterMs(res.headers.get("retry-after"));
      return retryAfterMs === null ? { kind: "retry", reason: `HTTP ${status}` } : { kind: "retry", reason: `HTTP ${status}`, retryAfterMs };
    }
    return { kind: "reject", reason: `HTTP ${status}` };
  }
}

/** Reads and discards a response body, at most `max` bytes (then cancels). */
async function drain(res: Response, max: number): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > max) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // the body failing after the status arrived changes nothing
  }
}
