// The composition root: one engine (recovered from the data directory) behind
// one HTTP/WebSocket server. The server listens before recovery so /healthz
// and /readyz answer (503) while the journal replays. With OMNISTOCK_NATS_URL
// the NATS adapter starts once recovery is done (it reads the recovered feed)
// and runs in the background: NATS never holds up readiness.

import { startNatsAdapter, type NatsAdapter } from "./adapters/nats/adapter.js";
import type { Config } from "./config.js";
import { OmnistockEngine, type RecoveryReport } from "./engine/engine.js";
import { loadTokens } from "./server/auth.js";
import { startHttpServer } from "./server/http-server.js";
import { createStream, engineStreamSource } from "./stream/ws-stream.js";
import { startWorkers } from "./threads/worker-pool.js";

export interface RunningOmnistock {
  port: number;
  engine: OmnistockEngine;
  ready: Promise<RecoveryReport>;
  /**
   * Heap plus external bytes of the HTTP worker threads (0 without any),
   * each collected first when node runs with --expose-gc: with this thread's
   * own figures, the memory the engine holds (tests and benchmarks).
   */
  workerHeapBytes(): Promise<number>;
  close(): Promise<void>;
}

export async function startOmnistock(config: Config, log: (m: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<RunningOmnistock> {
  const engine = new OmnistockEngine({
    dataDir: config.dataDir,
    positionsMax: config.positionsMax,
    skusMax: config.skusMax,
    reservationsMax: config.reservationsMax,
    reservationRetentionMs: config.reservationRetentionSeconds * 1000,
    snapshotEveryRecords: config.snapshotEveryRecords,
    expiryIntervalMs: config.expiryIntervalMs,
    streamRetention: config.streamRetention,
    log,
  });
  const frontEnd = config.workers > 0 ? await startWorkerThreads(engine, config, log) : await startOnThisThread(engine, config);
  let nats: NatsAdapter | null = null;
  const ready = engine.recover().then((report) => {
    frontEnd.engineReady();
    if (config.natsUrl !== null) {
      nats = startNatsAdapter(engine, {
        url: config.natsUrl,
        format: config.natsFormat,
        streamMaxMessages: config.natsStreamMaxMessages,
        streamMaxAgeSeconds: config.natsStreamMaxAgeSeconds,
        log,
      });
    }
    return report;
  });
  return {
    port: frontEnd.port,
    engine,
    ready,
    workerHeapBytes: () => frontEnd.heapBytes(),
    async close() {
      await frontEnd.close();
      await ready.catch(() => undefined);
      await nats?.close();
      await engine.close();
    },
  };
}

/** Whatever serves HTTP and WebSocket: this thread, or the HTTP worker threads. */
interface FrontEnd {
  port: number;
  heapBytes(): Promise<number>;
  engineReady(): void;
  close(): Promise<void>;
}

async function startOnThisThread(engine: OmnistockEngine, config: Config): Promise<FrontEnd> {
  const tokens = config.tokensFile ? loadTokens(config.tokensFile) : null;
  const stream = createStream(engineStreamSource(engine), { tokens, pendingKeysMax: config.wsPendingKeysMax });
  const server = await startHttpServer(engine, {
    host: config.host,
    port: config.port,
    bodyMaxBytes: config.bodyMaxBytes,
    tokens,
    mount: stream.mount,
  });
  return {
    port: server.port,
    engineReady: () => undefined, // the engine answers 503 itself until it has recovered
    heapBytes: () => Promise.resolve(0),
    async close() {
      stream.close(); // before the listen socket: clients get 1001, not a dropped connection
      server.stopListening();
      // Writes already applied get their acknowledgement before the connections close.
      await engine.quiesce();
      server.close();
    },
  };
}

function startWorkerThreads(engine: OmnistockEngine, config: Config, log: (m: string) => void): Promise<FrontEnd> {
  if (config.tokensFile) loadTokens(config.tokensFile); // a bad file stops the start here, not in a thread
  return startWorkers(engine, {
    workers: config.workers,
    host: config.host,
    port: config.port,
    bodyMaxBytes: config.bodyMaxBytes,
    tokensFile: config.tokensFile,
    wsPendingKeysMax: config.wsPendingKeysMax,
    log,
  });
}
