// The writer's side of the HTTP worker threads (OMNISTOCK_WORKERS > 0). Each
// worker runs its own uWebSockets.js app on the one port (the kernel spreads
// connections over them, SO_REUSEPORT), answers availability reads from the
// shared ledger memory and sends every other request here through its
// command ring. This thread applies those commands in arrival order, exactly
// as it would its own HTTP requests (the engine is the same), and writes each
// answer into the worker's answer ring once it is durable. Commands from all
// workers that arrive while an fsync is running share the next one.
//
// Also here: start-up (worker 0 takes the port, the others join it), the
// stream's released messages posted to every worker, reset snapshots taken
// between two commands, /metrics of all threads together, and shutdown.

import { createServer, type AddressInfo } from "node:net";
import { Worker } from "node:worker_threads";
import client from "prom-client";
import { Packr } from "msgpackr";
import type { OmnistockEngine } from "../engine/engine.js";
import type { EngineReply } from "../engine/types.js";
import { registry } from "../metrics.js";
import { takeSnapshot } from "../stream/ws-snapshot.js";
import { RemoteOp, STATE_READY, type FromWorker, type ToWorker, type WorkerInit } from "./protocol.js";
import { RingConsumer, RingProducer, createRing } from "./ring.js";

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });
const CLOSE_TIMEOUT_MS = 5_000;

export interface WorkersOptions {
  workers: number;
  host: string;
  port: number;
  bodyMaxBytes: number;
  tokensFile: string | null;
  wsPendingKeysMax: number;
  log: (message: string) => void;
}

export interface RunningWorkers {
  port: number;
  /** See WorkerPool.heapBytes. */
  heapBytes(): Promise<number>;
  /** Call once the engine has recovered: workers start reading its memory and answering. */
  engineReady(): void;
  close(): Promise<void>;
}

// Compiled, the worker script sits beside this module. Run from TypeScript
// source (vitest), it is taken from the build, which `npm test` makes first.
function workerScript(): URL {
  if (import.meta.url.endsWith(".ts")) return new URL("../../dist/src/threads/http-worker.js", import.meta.url);
  return new URL("./http-worker.js", import.meta.url);
}

/** A port free on `host` now (a worker binds it a moment later). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function internalReply(): EngineReply {
  return { status: 500, body: null };
}

/** One worker thread and the two rings it shares with this thread. */
class WorkerLink {
  readonly worker: Worker;
  private readonly commands: RingConsumer;
  private readonly answers: RingProducer;
  readonly listening: Promise<number>;
  readonly exited: Promise<void>;

  constructor(
    private readonly pool: WorkerPool,
    init: WorkerInit,
  ) {
    this.commands = new RingConsumer(init.commands);
    this.answers = new RingProducer(init.answers);
    this.worker = new Worker(workerScript(), { workerData: init });
    this.exited = new Promise((resolve) => this.worker.once("exit", () => resolve()));
    this.listening = new Promise((resolve, reject) => {
      this.worker.once("error", reject);
      this.worker.on("message", (m: FromWorker) => {
        if (m.t === "listening") resolve(m.port);
        else if (m.t === "failed" && m.starting) reject(new Error(m.error));
        else this.pool.onControl(this, m);
      });
    });
    void this.commands.run((bytes) => this.onCommand(bytes));
  }

  post(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  private onCommand(bytes: Buffer): void {
    let id = 0;
    let reply: EngineReply | Promise<EngineReply>;
    try {
      const m = packr.unpack(bytes) as unknown[];
      id = m[0] as number;
      reply = this.pool.apply(m);
    } catch (error) {
      this.pool.log(`worker command failed: ${String(error)}`);
      reply = internalReply();
    }
    if (reply instanceof Promise) {
      reply.then(
        (r) => this.answer(id, r),
        (error: unknown) => {
          this.pool.log(`worker command failed: ${String(error)}`);
          this.answer(id, internalReply());
        },
      );
    } else {
      this.answer(id, reply);
    }
  }

  private answer(id: number, reply: EngineReply): void {
    this.answers.send(packr.pack([id, reply.status, reply.body]));
  }

  stopRings(): void {
    this.commands.close();
    this.answers.close();
  }
}

class WorkerPool {
  readonly links: WorkerLink[] = [];
  private readonly state = new Int32Array(new SharedArrayBuffer(16));
  private metricsRounds = new Map<number, { parts: unknown[]; waiting: number; done: (parts: unknown[]) => void }>();
  private nextRound = 1;
  private readonly heapWaiting = new Map<number, { total: number; left: number; done: (bytes: number) => void }>();

  /** Heap plus external bytes of every worker thread (after a full GC when node runs with --expose-gc). */
  heapBytes(): Promise<number> {
    if (this.links.length === 0) return Promise.resolve(0);
    const id = this.nextRound++;
    return new Promise((done) => {
      this.heapWaiting.set(id, { total: 0, left: this.links.length, done });
      for (const link of this.links) link.post({ t: "heap", id });
    });
  }

  constructor(
    private readonly engine: OmnistockEngine,
    private readonly options: WorkersOptions,
  ) {}

  log(message: string): void {
    this.options.log(message);
  }

  async start(): Promise<number> {
    // uWS sets SO_REUSEPORT only on a named port: an ephemeral one is chosen
    // here first, so that every worker can join it.
    const port = this.options.port !== 0 ? this.options.port : await freePort(this.options.host);
    for (let index = 0; index < this.options.workers; index++) {
      const link = new WorkerLink(this, {
        readerSlot: index + 1,
        commands: createRing(),
        answers: createRing(),
        state: this.state.buffer as SharedArrayBuffer,
        host: this.options.host,
        port,
        bodyMaxBytes: this.options.bodyMaxBytes,
        tokensFile: this.options.tokensFile,
        wsPendingKeysMax: this.options.wsPendingKeysMax,
        deltasDir: this.engine.feed.directory,
        tail: this.engine.feed.sharedTail.buffer,
      });
      link.worker.on("error", (error) => this.workerFailed(index, error));
      this.links.push(link);
      await link.listening;
    }
    return port;
  }

  engineReady(): void {
    const memory = this.engine.ledgerView.memory;
    // Workers follow the shared tail from here; nothing is released between
    // this and their first look at it (this thread releases).
    for (const link of this.links) link.post({ t: "ready", memory, lastSeq: this.engine.feed.lastSeq });
    Atomics.store(this.state, STATE_READY, 1);
  }

  /** A worker's command, applied as the writer's own HTTP layer would. */
  apply(m: unknown[]): EngineReply | Promise<EngineReply> {
    const engine = this.engine;
    if (!engine.isReady()) return { status: 503, body: null };
    /* eslint-disable @typescript-eslint/no-explicit-any -- checked by the worker's schemas before sending */
    const a = m[2] as any;
    const b = m[3] as any;
    switch (m[1] as RemoteOp) {
      case RemoteOp.SetStock: return engine.setStock(a);
      case RemoteOp.AdjustStock: return engine.adjustStock(a);
      case RemoteOp.Hold: return engine.hold(a);
      case RemoteOp.Move: return engine.move(a, b);
      case RemoteOp.PutLocation: return engine.putLocation(a, b);
      case RemoteOp.PutChannel: return engine.putChannel(a, b);
      case RemoteOp.GetReservation: return engine.getReservation(a);
      case RemoteOp.ListLocations: return engine.listLocations();
      case RemoteOp.ListChannels: return engine.listChannels();
      default: throw new Error(`unknown worker command ${String(m[1])}`);
    }
  }

  onControl(link: WorkerLink, m: FromWorker): void {
    switch (m.t) {
      case "snapshot": {
        // Between two commands: the ledger and the staged seq agree.
        const snapshot = takeSnapshot(this.engine.ledgerView, m.filter, this.engine.feed.stagedSeq);
        link.post({ t: "snapshot", id: m.id, snapshot: snapshot.toTransfer() });
        return;
      }
      case "metrics":
        void this.allMetrics().then(
          (text) => link.post({ t: "metrics", id: m.id, text }),
          (error: unknown) => link.post({ t: "metrics", id: m.id, text: `# metrics failed: ${String(error)}\n` }),
        );
        return;
      case "metrics-json": {
        const round = this.metricsRounds.get(m.id);
        if (round === undefined) return;
        round.parts.push(m.json);
        if (--round.waiting === 0) {
          this.metricsRounds.delete(m.id);
          round.done(round.parts);
        }
        return;
      }
      case "heap": {
        const waiting = this.heapWaiting.get(m.id);
        if (waiting === undefined) return;
        waiting.total += m.bytes;
        if (--waiting.left === 0) {
          this.heapWaiting.delete(m.id);
          waiting.done(waiting.total);
        }
        return;
      }
      case "failed":
        this.workerFailed(this.links.indexOf(link), m.error);
        return;
      default:
        return;
    }
  }

  // A worker that failed has lost its share of the port's connections: the
  // process stops (exit 70) for its supervisor to restart it, as it does when
  // the journal fails. Nothing acknowledged is lost: the journal recovers it.
  private workerFailed(index: number, error: unknown): void {
    this.log(`http worker ${index} failed, stopping: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    process.exit(70);
  }

  /** Every thread's metrics as one text: counters and histograms summed over the threads. */
  private async allMetrics(): Promise<string> {
    const own = await registry.getMetricsAsJSON();
    const id = this.nextRound++;
    const parts = await new Promise<unknown[]>((done) => {
      this.metricsRounds.set(id, { parts: [own], waiting: this.links.length, done });
      for (const link of this.links) link.post({ t: "metrics-collect", id });
    });
    return client.AggregatorRegistry.aggregate(parts as Parameters<typeof client.AggregatorRegistry.aggregate>[0]).metrics();
  }

  async close(): Promise<void> {
    Atomics.store(this.state, STATE_READY, 0);
    for (const link of this.links) link.post({ t: "close" });
    await Promise.all(this.links.map((link) => Promise.race([
      link.exited,
      new Promise<void>((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref()),
    ])));
    // No terminate(): ending a thread whose uWS loop still has sockets aborts the process.
    for (const link of this.links) link.stopRings();
  }
}

/** Starts `options.workers` HTTP worker threads in front of `engine`; resolves once all listen. */
export async function startWorkers(engine: OmnistockEngine, options: WorkersOptions): Promise<RunningWorkers> {
  const pool = new WorkerPool(engine, options);
  const port = await pool.start();
  return {
    port,
    engineReady: () => pool.engineReady(),
    heapBytes: () => pool.heapBytes(),
    close: () => pool.close(),
  };
}
