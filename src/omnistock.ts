// The composition root: one engine (recovered from the data directory) behind
// one HTTP/WebSocket server. The server listens before recovery so /healthz
// and /readyz answer (503) while the journal replays.

import type { Config } from "./config.js";
import { OmnistockEngine, type RecoveryReport } from "./engine/engine.js";
import { loadTokens } from "./server/auth.js";
import { startHttpServer } from "./server/http-server.js";
import { createStream } from "./stream/ws-stream.js";

export interface RunningOmnistock {
  port: number;
  engine: OmnistockEngine;
  ready: Promise<RecoveryReport>;
  close(): Promise<void>;
}

export async function startOmnistock(config: Config, log: (m: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<RunningOmnistock> {
  const engine = new OmnistockEngine({
    dataDir: config.dataDir,
    positionsMax: config.positionsMax,
    skusMax: config.skusMax,
    reservationsMax: config.reservationsMax,
    snapshotEveryRecords: config.snapshotEveryRecords,
    expiryIntervalMs: config.expiryIntervalMs,
    streamRetention: config.streamRetention,
    log,
  });
  const tokens = config.tokensFile ? loadTokens(config.tokensFile) : null;
  const stream = createStream(engine, { tokens, pendingKeysMax: config.wsPendingKeysMax });
  const server = await startHttpServer(engine, {
    host: config.host,
    port: config.port,
    bodyMaxBytes: config.bodyMaxBytes,
    tokens,
    mount: stream.mount,
  });
  const ready = engine.recover();
  return {
    port: server.port,
    engine,
    ready,
    async close() {
      stream.close(); // before the listen socket: clients get 1001, not a dropped connection
      server.close();
      await ready.catch(() => undefined);
      await engine.close();
    },
  };
}
