// Every OMNISTOCK_* setting, parsed and range-checked once at startup. A bad
// value stops the process with a message naming the variable, before anything
// listens. The README lists the same table; keep them in step.

import { availableParallelism } from "node:os";

/** How long a finished reservation is kept (its id stays an idempotency key): one day, like Stripe's idempotency keys. */
export const RESERVATION_RETENTION_SECONDS_DEFAULT = 24 * 3600;

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  bodyMaxBytes: number;
  tokensFile: string | null;
  positionsMax: number;
  skusMax: number;
  reservationsMax: number;
  reservationRetentionSeconds: number;
  snapshotEveryRecords: number;
  expiryIntervalMs: number;
  streamRetention: number;
  natsUrl: string | null;
  natsFormat: "msgpack" | "json";
  natsStreamMaxMessages: number;
  natsStreamMaxAgeSeconds: number;
  wsPendingKeysMax: number;
  workers: number;
}

interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  parse: (raw: string) => Config[K];
  fallback: Config[K];
}

function integer(name: string, min: number, max: number): (raw: string) => number {
  return (raw) => {
    if (!/^\d+$/.test(raw)) throw new Error(`${name} must be an integer, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`${name} must be within ${min} … ${max}, got ${n}`);
    return n;
  };
}

const text = (raw: string): string => raw;

function oneOf<T extends string>(name: string, values: readonly T[]): (raw: string) => T {
  return (raw) => {
    if (!(values as readonly string[]).includes(raw)) throw new Error(`${name} must be one of ${values.join(", ")}, got "${raw}"`);
    return raw as T;
  };
}

/** HTTP worker threads at most: one ledger reader slot each (READER_SLOTS_MAX). */
export const WORKERS_MAX = 14;
/**
 * HTTP worker threads by default: none on a machine of up to 2 cores (the
 * writer's thread serves HTTP: measured faster there, see README "Decisions"),
 * else one per core beside the writer's.
 */
export function workersDefault(cores = availableParallelism()): number {
  return cores <= 2 ? 0 : Math.min(WORKERS_MAX, cores - 1);
}
export const WORKERS_DEFAULT = workersDefault();

export const SETTINGS = [
  { key: "host", env: "OMNISTOCK_HOST", parse: text, fallback: "127.0.0.1" },
  { key: "port", env: "OMNISTOCK_PORT", parse: integer("OMNISTOCK_PORT", 0, 65535), fallback: 8080 },
  { key: "dataDir", env: "OMNISTOCK_DATA_DIR", parse: text, fallback: "./data" },
  { key: "bodyMaxBytes", env: "OMNISTOCK_BODY_MAX", parse: integer("OMNISTOCK_BODY_MAX", 1, 1 << 30), fallback: 16 * 1024 * 1024 },
  { key: "tokensFile", env: "OMNISTOCK_TOKENS_FILE", parse: text, fallback: null },
  { key: "positionsMax", env: "OMNISTOCK_POSITIONS_MAX", parse: integer("OMNISTOCK_POSITIONS_MAX", 16, 40_000_000), fallback: 4_000_000 },
  { key: "skusMax", env: "OMNISTOCK_SKUS_MAX", parse: integer("OMNISTOCK_SKUS_MAX", 16, 40_000_000), fallback: 0 },
  { key: "reservationsMax", env: "OMNISTOCK_RESERVATIONS_MAX", parse: integer("OMNISTOCK_RESERVATIONS_MAX", 16, 40_000_000), fallback: 4_000_000 },
  { key: "reservationRetentionSeconds", env: "OMNISTOCK_RESERVATION_RETENTION_SECONDS", parse: integer("OMNISTOCK_RESERVATION_RETENTION_SECONDS", 0, 31_536_000), fallback: RESERVATION_RETENTION_SECONDS_DEFAULT },
  { key: "snapshotEveryRecords", env: "OMNISTOCK_SNAPSHOT_EVERY", parse: integer("OMNISTOCK_SNAPSHOT_EVERY", 1, 1e9), fallback: 1_000_000 },
  { key: "expiryIntervalMs", env: "OMNISTOCK_EXPIRY_INTERVAL_MS", parse: integer("OMNISTOCK_EXPIRY_INTERVAL_MS", 10, 1000), fallback: 250 },
  { key: "streamRetention", env: "OMNISTOCK_STREAM_RETENTION", parse: integer("OMNISTOCK_STREAM_RETENTION", 1, 1e9), fallback: 1_000_000 },
  { key: "natsUrl", env: "OMNISTOCK_NATS_URL", parse: text, fallback: null },
  { key: "natsFormat", env: "OMNISTOCK_NATS_FORMAT", parse: oneOf("OMNISTOCK_NATS_FORMAT", ["msgpack", "json"] as const), fallback: "msgpack" },
  { key: "natsStreamMaxMessages", env: "OMNISTOCK_NATS_STREAM_MAX_MSGS", parse: integer("OMNISTOCK_NATS_STREAM_MAX_MSGS", 1000, 1e12), fallback: 10_000_000 },
  { key: "natsStreamMaxAgeSeconds", env: "OMNISTOCK_NATS_STREAM_MAX_AGE", parse: integer("OMNISTOCK_NATS_STREAM_MAX_AGE", 60, 1e9), fallback: 7 * 24 * 3600 },
  { key: "wsPendingKeysMax", env: "OMNISTOCK_WS_PENDING_MAX", parse: integer("OMNISTOCK_WS_PENDING_MAX", 1, 10_000_000), fallback: 100_000 },
  { key: "workers", env: "OMNISTOCK_WORKERS", parse: integer("OMNISTOCK_WORKERS", 0, WORKERS_MAX), fallback: WORKERS_DEFAULT },
] as const satisfies readonly Setting<keyof Config>[];

/** Reads the configuration from an environment (process.env by default). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = {} as Record<string, unknown>;
  for (const setting of SETTINGS) {
    const raw = env[setting.env];
    config[setting.key] = raw === undefined || raw === "" ? setting.fallback : setting.parse(raw);
  }
  const result = config as unknown as Config;
  if (result.skusMax === 0) result.skusMax = result.positionsMax; // every position may be its own SKU
  return result;
}
