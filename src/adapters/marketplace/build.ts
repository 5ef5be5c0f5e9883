// Wires one adapter from parsed arguments: checkpoint, source (WebSocket or
// JetStream), sink (webhook or feed file), rate limiter and retry policy.

import { MarketplaceAdapter } from "./adapter.js";
import type { AdapterArgs } from "./args.js";
import { FileCheckpoint } from "./checkpoint.js";
import { FeedSink } from "./feed-sink.js";
import { NatsSource } from "./nats-source.js";
import type { Sink } from "./pusher.js";
import type { Source } from "./source.js";
import { TokenBucket } from "./token-bucket.js";
import { WebhookSink } from "./webhook-sink.js";
import { WsSource } from "./ws-source.js";

/** Builds the adapter an argument set describes (also used by tests). */
export async function buildAdapter(args: Exclude<AdapterArgs, { command: "help" }>, logLine: (line: string) => void): Promise<MarketplaceAdapter> {
  const checkpoint = await FileCheckpoint.open(args.checkpoint, args.channel);
  const source: Source = args.nats
    ? new NatsSource({ servers: args.nats, channel: args.channel, since: checkpoint.seq, durable: args.durable, token: args.token, log: logLine })
    : new WsSource({ engine: args.engine, channel: args.channel, since: checkpoint.seq, token: args.token, log: logLine });
  const sink: Sink =
    args.command === "webhook"
      ? new WebhookSink({ url: args.url, secret: args.secret, channel: args.channel, timeoutMs: args.timeoutMs })
      : new FeedSink({ file: args.file, storeCode: args.storeCode, format: args.format, writeIntervalMs: args.writeIntervalMs });
  logLine(`${args.command} for channel ${args.channel} from seq ${checkpoint.seq} (${args.nats ?? args.engine})`);
  return new MarketplaceAdapter({
    channel: args.channel,
    source,
    sink,
    checkpoint,
    limiter: new TokenBucket({ ratePerSecond: args.rate, burst: args.burst }),
    retry: args.retry,
    batchMax: args.batch,
    lingerMs: args.lingerMs,
    pendingMax: args.pendingMax,
    policy: args.policy,
    log: logLine,
  });
}
