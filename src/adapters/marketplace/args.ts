// Command-line arguments of the adapter CLI, parsed and range-checked into
// one typed configuration; every mistake is a UsageError naming the flag.

import { parseArgs } from "node:util";
import { UsageError } from "./errors.js";
import { feedFormatFor, type FeedFormat } from "./feed-sink.js";
import { RETRY_DEFAULTS, type RetryOptions } from "./pusher.js";
import type { PushPolicyOptions } from "./push-policy.js";

export const USAGE = `omnistock marketplace adapter: pushes one channel's availability to a marketplace

Usage:
  npm run adapter -- webhook --channel ID --url URL --secret SECRET --checkpoint FILE [options]
  npm run adapter -- feed    --channel ID --file FILE --store-code CODE --checkpoint FILE [options]

Adapters:
  webhook   POST JSON batches {channel, items:[{sku, available, seq}]} to --url, signed with
            X-Omnistock-Signature: sha256=<hex HMAC-SHA256 of the body> and X-Omnistock-Timestamp
  feed      keep a local-inventory feed file (store_code, id, quantity, availability) current;
            .csv files are CSV, anything else TSV

Source (one of):
  --engine URL          engine address, ws://host:port (default ws://127.0.0.1:8080); uses GET /v1/stream
  --token TOKEN         bearer token for the engine (or OMNISTOCK_ADAPTER_TOKEN)
  --nats URL            read JetStream stream OMNISTOCK instead (nats://host:port)
  --durable NAME        JetStream durable consumer name (default omnistock-adapter-<channel>-<adapter>)

Common:
  --channel ID          channel id, [a-z0-9_-]{1,64} (required)
  --checkpoint FILE     where the last pushed seq is kept (required)
  --rate N              requests per second (default 10)
  --burst N             requests allowed back to back (default 2 × rate)
  --batch N             items per request (default 100 webhook, 10000 feed)
  --linger-ms N         wait for a batch to fill after the first change (default 50)
  --pending-max N       distinct SKUs waiting before the source is paused (default 100000)
  --only-meaningful     push only zero crossings, low-stock crossings and relative changes ≥ --min-change
  --low-stock N         low-stock threshold for --only-meaningful (default 0: off)
  --min-change PCT      relative change, in percent, for --only-meaningful (default 20)
  --max-attempts N      attempts per batch before it is requeued (default ${RETRY_DEFAULTS.attemptsMax})
  --max-elapsed-ms N    no retry later than this after a batch's first attempt (default ${RETRY_DEFAULTS.elapsedMaxMs})
  --help                this text

Webhook:
  --url URL             http(s) endpoint (required)
  --secret SECRET       HMAC key (required; or OMNISTOCK_ADAPTER_SECRET, which keeps it out of ps)
  --timeout-ms N        one request's time limit (default 10000)

Feed:
  --file FILE           the feed file (required)
  --store-code CODE     store code written on every row (required)
  --write-interval-ms N rewrite the file at most this often (default 1000)
`;

interface Common {
  channel: string;
  checkpoint: string;
  engine: string;
  token: string | undefined;
  nats: string | null;
  durable: string;
  rate: number;
  burst: number;
  batch: number;
  lingerMs: number;
  pendingMax: number;
  policy: PushPolicyOptions | null;
  retry: RetryOptions;
}

export type AdapterArgs =
  | { command: "help" }
  | (Common & { command: "webhook"; url: string; secret: string; timeoutMs: number })
  | (Common & { command: "feed"; file: string; storeCode: string; format: FeedFormat; writeIntervalMs: number });

const OPTIONS = {
  channel: { type: "string" },
  checkpoint: { type: "string" },
  engine: { type: "string" },
  token: { type: "string" },
  nats: { type: "string" },
  durable: { type: "string" },
  rate: { type: "string" },
  burst: { type: "string" },
  batch: { type: "string" },
  "linger-ms": { type: "string" },
  "pending-max": { type: "string" },
  "only-meaningful": { type: "boolean" },
  "low-stock": { type: "string" },
  "min-change": { type: "string" },
  "max-attempts": { type: "string" },
  "max-elapsed-ms": { type: "string" },
  url: { type: "string" },
  secret: { type: "string" },
  "timeout-ms": { type: "string" },
  file: { type: "string" },
  "store-code": { type: "string" },
  "write-interval-ms": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== "string" || v.length === 0) throw new UsageError(`--${name} is required`);
  return v;
}

function number(values: Record<string, unknown>, name: string, fallback: number, min: number, max: number, integer = true): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const text = String(raw);
  const ok = integer ? /^\d+$/.test(text) : /^\d+(\.\d+)?$/.test(text);
  const n = Number(text);
  if (!ok || n < min || n > max) throw new UsageError(`--${name} must be ${integer ? "an integer" : "a number"} within ${min} … ${max}, got "${text}"`);
  return n;
}

function url(text: string, name: string, protocols: string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new UsageError(`--${name} is not a URL: "${text}"`);
  }
  if (!protocols.includes(parsed.protocol)) throw new UsageError(`--${name} must start with ${protocols.map((p) => `${p}//`).join(" or ")}, got "${text}"`);
  return text;
}

/** Parses argv (without node and the script); throws UsageError. */
export function parseAdapterArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): AdapterArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: "help" };
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "name an adapter: webhook or feed" : `one adapter at a time, got ${positionals.join(" ")}`);
  const command = positionals[0];
  if (command !== "webhook" && command !== "feed") throw new UsageError(`unknown adapter "${command}": webhook or feed`);
  const v = values as Record<string, unknown>;

  const channel = required(v, "channel");
  if (!/^[a-z0-9_-]{1,64}$/.test(channel)) throw new UsageError(`--channel must match [a-z0-9_-]{1,64}, got "${channel}"`);
  if (v.engine !== undefined && v.nats !== undefined) throw new UsageError("give --engine or --nats, not both");
  const rate = number(v, "rate", 10, 0.001, 100_000, false);
  const meaningful = v["only-meaningful"] === true;
  if (!meaningful && (v["low-stock"] !== undefined || v["min-change"] !== undefined)) throw new UsageError("--low-stock and --min-change need --only-meaningful");
  const common: Common = {
    channel,
    checkpoint: required(v, "checkpoint"),
    engine: url((v.engine as string | undefined) ?? "ws://127.0.0.1:8080", "engine", ["ws:", "wss:", "http:", "https:"]),
    token: (v.token as string | undefined) ?? env.OMNISTOCK_ADAPTER_TOKEN,
    nats: v.nats === undefined ? null : url(v.nats as string, "nats", ["nats:", "tls:"]),
    durable: (v.durable as string | undefined) ?? `omnistock-adapter-${channel}-${command}`,
    rate,
    burst: number(v, "burst", Math.max(1, Math.ceil(rate * 2)), 1, 1_000_000),
    batch: number(v, "batch", command === "webhook" ? 100 : 10_000, 1, 100_000),
    lingerMs: number(v, "linger-ms", 50, 0, 60_000),
    pendingMax: number(v, "pending-max", 100_000, 1, 10_000_000),
    policy: meaningful ? { lowStock: number(v, "low-stock", 0, 0, 1e9), minChangeRatio: number(v, "min-change", 20, 0.01, 100, false) / 100 } : null,
    retry: {
      ...RETRY_DEFAULTS,
      attemptsMax: number(v, "max-attempts", RETRY_DEFAULTS.attemptsMax, 1, 1000),
      elapsedMaxMs: number(v, "max-elapsed-ms", RETRY_DEFAULTS.elapsedMaxMs, 0, 86_400_000),
    },
  };
  if (command === "webhook") {
    const secret = (v.secret as string | undefined) ?? env.OMNISTOCK_ADAPTER_SECRET;
    if (!secret) throw new UsageError("--secret (or OMNISTOCK_ADAPTER_SECRET) is required");
    return { ...common, command, url: url(required(v, "url"), "url", ["http:", "https:"]), secret, timeoutMs: number(v, "timeout-ms", 10_000, 1, 600_000) };
  }
  const file = required(v, "file");
  const storeCode = required(v, "store-code");
  if (/[\t\r\n]/.test(storeCode)) throw new UsageError("--store-code must not contain tabs or line breaks");
  return { ...common, command, file, storeCode, format: feedFormatFor(file), writeIntervalMs: number(v, "write-interval-ms", 1000, 0, 3_600_000) };
}
