// An HTTP/WebSocket worker thread (OMNISTOCK_WORKERS > 0): the same HTTP API
// and stream as the single-threaded server, over a WorkerEngine (reads from
// the shared ledger memory, everything else through the writer) and a mirror
// of the writer's feed. See worker-pool.ts for the writer's side.

import "../msgpack-strings.js"; // first: see the module
import { parentPort, workerData } from "node:worker_threads";
import { registry } from "../metrics.js";
import { loadTokens } from "../server/auth.js";
import { startHttpServer } from "../server/http-server.js";
import { Snapshot } from "../stream/ws-snapshot.js";
import { createStream, type StreamSource } from "../stream/ws-stream.js";
import { MirrorFeed } from "./mirror-feed.js";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.js";
import { WorkerEngine } from "./worker-engine.js";

const init = workerData as WorkerInit;
/** At shutdown, how long requests already sent to the writer may take to be answered. */
const DRAIN_MS = 3_000;

/**
 * Resolves once no request waits for the writer and the answers have been
 * written (a turn of the event loop after the last one arrived): a request
 * whose body was still arriving may have gone to the writer meanwhile.
 */
async function settle(): Promise<void> {
  const deadline = Date.now() + DRAIN_MS;
  do await new Promise((resolve) => setTimeout(resolve, 1));
  while (engine.pending > 0 && Date.now() < deadline);
  await new Promise((resolve) => setImmediate(resolve)); // the last answers' replies are written
}
const port = parentPort!;
const post = (message: FromWorker): void => port.postMessage(message);

const engine = new WorkerEngine(init.commands, init.answers, init.state, init.readerSlot);
const feed = new MirrorFeed(init.tail, init.deltasDir);

// Requests to the writer answered by postMessage, by id.
let nextId = 1;
const snapshots = new Map<number, (snapshot: Snapshot) => void>();
const metricsTexts = new Map<number, (text: string) => void>();

const source: StreamSource = {
  isReady: () => engine.isReady(),
  feed,
  snapshot: (filter) => new Promise<Snapshot>((resolve) => {
    const id = nextId++;
    snapshots.set(id, resolve);
    post({ t: "snapshot", id, filter });
  }),
};

// An uncaught error ends this thread; its sockets are closed first (a thread
// ending with open uWS sockets aborts the whole process) and the writer is
// told, which stops the process cleanly (see worker-pool.ts).
let starting = true;
let closeSockets = (): void => undefined;
process.on("uncaughtException", (error) => {
  try {
    closeSockets();
  } finally {
    post({ t: "failed", error: error.stack ?? String(error), starting });
    process.exit(70); // in a worker: ends this thread only
  }
});

const tokens = init.tokensFile !== null ? loadTokens(init.tokensFile) : null;
const stream = createStream(source, { tokens, pendingKeysMax: init.wsPendingKeysMax });
const server = await startHttpServer(engine, {
  host: init.host,
  port: init.port,
  bodyMaxBytes: init.bodyMaxBytes,
  tokens,
  mount: stream.mount,
  metricsText: () => new Promise<string>((resolve) => {
    const id = nextId++;
    metricsTexts.set(id, resolve);
    post({ t: "metrics", id });
  }),
});

port.on("message", (m: ToWorker) => {
  switch (m.t) {
    case "ready":
      engine.attach(m.memory);
      feed.start(m.lastSeq);
      return;
    case "snapshot": {
      const resolve = snapshots.get(m.id);
      snapshots.delete(m.id);
      resolve?.(Snapshot.fromTransfer(m.snapshot));
      return;
    }
    case "metrics": {
      const resolve = metricsTexts.get(m.id);
      metricsTexts.delete(m.id);
      resolve?.(m.text);
      return;
    }
    case "metrics-collect":
      void registry.getMetricsAsJSON().then((json) => post({ t: "metrics-json", id: m.id, json }));
      return;
    case "heap": {
      // Live memory of this thread: collected first when node runs with --expose-gc.
      (globalThis as { gc?: () => void }).gc?.();
      const usage = process.memoryUsage();
      post({ t: "heap", id: m.id, bytes: usage.heapUsed + usage.external });
      return;
    }
    case "close":
      stream.close(); // clients get 1001
      server.stopListening(); // no new connections; open ones get 503 (the writer is no longer ready)
      // Requests already with the writer get their answers before the connections close.
      void settle().then(() => {
        server.close();
        engine.stop();
        feed.stop();
        post({ t: "closed" });
        port.close();
        process.exit(0); // in a worker: ends this thread only
      });
  }
});

closeSockets = () => {
  stream.close(); // before the listen socket: clients get 1001, not a dropped connection
  server.close();
};
starting = false;
post({ t: "listening", port: server.port });
