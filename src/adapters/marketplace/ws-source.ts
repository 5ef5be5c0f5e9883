// The engine's WebSocket stream (SPEC section 5) as a Source: connects to
// `ws://host:port/v1/stream[?token=…]`, subscribes to one channel with
// `since` = the last seq processed, turns `channel`, `reset`, `snapshot` and
// `snapshot_end` messages into SourceEvents, and reconnects with full-jitter
// backoff whenever the connection drops (including a 4008 "too slow" close),
// resubscribing from the last seq it handed on. A snapshot interrupted by a
// disconnect is not resumed: the resume seq only moves at snapshot_end, so
// the engine sends the reset again.
//
// The subscription is `{op: "subscribe", channels: [channel], locations: [],
// since}`: an empty `locations` matches no delta, so only the channel's
// figures travel (deltas, if an engine sent them anyway, are ignored).
//
// Snapshot entries that name the channel ({type:"snapshot", channel, sku,
// available}, one per SKU, zeros included) are used as they are. Only if a
// snapshot holds none of those, its position-shaped entries (delta fields,
// no channel; they cannot give channel ATP, which depends on the channel's
// locations and buffer) have their SKUs read back from
// `POST /v1/availability/query` with the channel, in chunks of 1,000.

import WebSocket from "ws";
import { fullJitterDelayMs } from "./backoff.js";
import { SourceFatalError } from "./errors.js";
import { EventQueue, type Source, type SourceEvent } from "./source.js";

export interface WsSourceOptions {
  engine: string; // ws://host:port or http://host:port (the /v1/stream path is added)
  channel: string;
  since: number; // resume after this seq (the checkpoint)
  token?: string;
  queueMax?: number; // events buffered before the socket is paused
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
  pingIntervalMs?: number; // a connection silent for two intervals is dropped
  log?: (line: string) => void;
}

const QUERY_SKUS_MAX = 1000; // SPEC: POST /v1/availability/query takes at most 1,000 SKUs
const FATAL_UPGRADE_STATUSES = new Set([400, 401, 403, 404]);

/** `ws://host:port/v1/stream?token=…` from an engine address given as ws(s):// or http(s)://. */
export function streamUrl(engine: string, token?: string): URL {
  const url = new URL(engine);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  if (url.protocol !== "ws:" && url.protocol !== "wss:") throw new Error(`engine address must be ws://, wss://, http:// or https://, got ${engine}`);
  url.pathname = "/v1/stream";
  url.search = "";
  if (token !== undefined) url.searchParams.set("token", token);
  return url;
}

function httpBase(engine: string): string {
  const url = new URL(engine);
  url.protocol = url.protocol === "wss:" || url.protocol === "https:" ? "https:" : "http:";
  return url.origin;
}

interface WireMessage {
  type?: unknown;
  seq?: unknown;
  channel?: unknown;
  sku?: unknown;
  available?: unknown;
  location?: unknown;
  message?: unknown;
  error?: unknown;
}

export class WsSource implements Source {
  private readonly queue: EventQueue<SourceEvent>;
  private readonly log: (line: string) => void;
  private socket: WebSocket | null = null;
  private resumeSeq: number;
  private attempt = 0;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private positionSkus: Set<string> | null = null; // snapshot SKUs to read back over HTTP
  private inSnapshot = false;
  private sawChannelFigures = false; // the snapshot carries channel figures: positions are not needed
  private chain: Promise<void> = Promise.resolve(); // messages are handled one after another
  private started = false;
  private generation = 0; // bumped per connection: messages of an older one are ignored

  constructor(private readonly options: WsSourceOptions) {
    this.resumeSeq = options.since;
    this.log = options.log ?? (() => undefined);
    this.queue = new EventQueue<SourceEvent>(options.queueMax ?? 10_000, (paused) => {
      if (paused) this.socket?.pause();
      else this.socket?.resume();
    });
  }

  events(): AsyncIterable<SourceEvent> {
    if (!this.started) {
      this.started = true;
      this.connect();
    }
    return this.queue;
  }

  committed(): void {
    // The engine keeps no per-client state: the checkpoint file is the resume point.
  }

  stopReading(): void {
    void this.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.socket?.terminate();
    this.socket = null;
    this.queue.discard();
  }

  private fail(error: Error): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.socket?.terminate();
    this.socket = null;
    this.queue.end(error);
  }

  private connect(): void {
    if (this.closed) return;
    const url = streamUrl(this.options.engine, this.options.token);
    const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10_000 });
    const generation = ++this.generation;
    this.socket = socket;
    let alive = true;
    socket.on("open", () => {
      if (this.queue.pressured) socket.pause();
      socket.send(JSON.stringify({ op: "subscribe", channels: [this.options.channel], locations: [], since: this.resumeSeq }));
      const interval = this.options.pingIntervalMs ?? 15_000;
      this.pingTimer = setInterval(() => {
        if (!alive) return socket.terminate();
        alive = false;
        socket.ping();
      }, interval);
    });
    socket.on("pong", () => (alive = true));
    socket.on("message", (data: WebSocket.RawData, isBinary: boolean) => {
      alive = true;
      if (isBinary) return this.fail(new SourceFatalError("the stream sent a binary frame; this adapter speaks JSON"));
      let message: WireMessage;
      try {
        message = JSON.parse(data.toString()) as WireMessage;
      } catch {
        return this.fail(new SourceFatalError("the stream sent a frame that is not JSON"));
      }
      this.chain = this.chain.then(() => (generation === this.generation ? this.handle(message, socket) : undefined)).catch((error: Error) => this.fail(error));
    });
    socket.on("unexpected-response", (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      if (FATAL_UPGRADE_STATUSES.has(status)) {
        this.fail(new SourceFatalError(`GET ${url.origin}/v1/stream answered ${status} instead of a WebSocket upgrade`));
      } else {
        this.log(`stream: upgrade answered ${status}; reconnecting`);
        socket.terminate();
      }
    });
    socket.on("error", (error) => this.log(`stream: ${error.message}`));
    socket.on("close", (code, reason) => {
      if (this.pingTimer) clearInterval(this.pingTimer);
      this.pingTimer = null;
      if (this.socket === socket) this.socket = null;
      if (this.closed) return;
      this.generation++;
      this.positionSkus = null;
      this.inSnapshot = false;
      const delay = fullJitterDelayMs(this.attempt++, { baseMs: this.options.reconnectBaseMs ?? 100, capMs: this.options.reconnectCapMs ?? 10_000 });
      this.log(`stream: closed (${code}${reason.length ? ` ${reason.toString()}` : ""}); reconnecting from seq ${this.resumeSeq} in ${delay} ms`);
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });
  }

  private async handle(m: WireMessage, socket: WebSocket): Promise<void> {
    if (this.closed) return;
    switch (m.type) {
      case "subscribed":
        this.attempt = 0;
        if (typeof m.seq === "number" && m.seq < this.resumeSeq) {
          this.log(`stream: the engine's newest seq ${m.seq} is behind the checkpoint ${this.resumeSeq} (was its data replaced?)`);
        }
        return;
      case "channel":
        if (m.channel !== this.options.channel || this.inSnapshot) return;
        if (!isSeq(m.seq) || typeof m.sku !== "string" || !isCount(m.available)) throw new SourceFatalError("malformed channel message");
        if (m.seq <= this.resumeSeq) return; // already handed on (a replay overlap)
        this.resumeSeq = m.seq;
        this.queue.push({ kind: "change", seq: m.seq, sku: m.sku, available: m.available });
        return;
      case "reset":
        if (!isSeq(m.seq)) throw new SourceFatalError("malformed reset message");
        this.inSnapshot = true;
        this.sawChannelFigures = false;
        this.positionSkus = new Set();
        this.queue.push({ kind: "reset", seq: m.seq });
        return;
      case "snapshot":
        if (!this.inSnapshot || typeof m.sku !== "string") return;
        if (typeof m.channel === "string") {
          if (m.channel === this.options.channel && isCount(m.available)) {
            this.sawChannelFigures = true;
            this.positionSkus = null;
            this.queue.push({ kind: "snapshot", sku: m.sku, available: m.available });
          }
        } else if (!this.sawChannelFigures) {
          this.positionSkus!.add(m.sku);
        }
        return;
      case "snapshot_end":
        if (!isSeq(m.seq)) throw new SourceFatalError("malformed snapshot_end message");
        if (!this.inSnapshot) return;
        try {
          if (this.positionSkus !== null) await this.readBack([...this.positionSkus]);
        } catch (error) {
          // Transient (engine restarting, timeout): drop the connection; the resume seq did not move, so the reset comes again.
          this.log(`stream: reading the snapshot back failed (${(error as Error).message}); reconnecting`);
          this.generation++;
          socket.terminate();
          return;
        }
        this.positionSkus = null;
        this.inSnapshot = false;
        this.resumeSeq = m.seq; // the snapshot stands at this seq (it may be lower: a replaced history)
        this.queue.push({ kind: "snapshot_end", seq: m.seq });
        return;
      case "delta":
        return; // not subscribed to; ignore if sent
      case "error":
        this.log(`stream: engine error ${String(m.error)}: ${String(m.message)}`);
        return;
      default:
        this.log(`stream: ignoring message of type ${String(m.type)}`);
    }
  }

  /** Reads the channel ATP of position-shaped snapshot SKUs over HTTP and queues them as snapshot events. */
  private async readBack(skus: string[]): Promise<void> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    for (let i = 0; i < skus.length; i += QUERY_SKUS_MAX) {
      const chunk = skus.slice(i, i + QUERY_SKUS_MAX);
      const res = await fetch(`${httpBase(this.options.engine)}/v1/availability/query`, {
        method: "POST",
        headers,
        body: JSON.stringify({ skus: chunk, channel: this.options.channel }),
        signal: AbortSignal.timeout(30_000),
      });
      if (!res.ok) throw new Error(`POST /v1/availability/query answered ${res.status} while reading the snapshot back`);
      const body = (await res.json()) as { items: { sku: string; available: number }[] };
      for (const item of body.items) this.queue.push({ kind: "snapshot", sku: item.sku, available: item.available });
    }
  }
}

function isSeq(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
