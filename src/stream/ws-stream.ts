// The WebSocket stream `GET /v1/stream` (SPEC section 5) on the server's uWS
// app: a client subscribes (filters, optional `since`) and gets the feed's
// messages in seq order — retained ones first, then live ones.
//
// Every client is in one mode, and one pump moves it forward as fast as its
// socket takes data:
//   - replay   reads the feed (feed.readAfter) from its cursor in batches.
//              Live messages are not sent to it: the cursor reaches them
//              through the feed, and once it has caught up with feed.lastSeq
//              (synchronously, within one turn) the client turns live, so the
//              next released batch starts right after it: no gap, no
//              duplicate, no buffering of live traffic while replaying.
//   - waiting  a reset's snapshot is taken but labelled with a seq not yet
//              released (see ws-snapshot.ts); the feed listener starts it.
//   - snapshot sends reset, the snapshot entries, snapshot_end, then replays
//              from the snapshot's seq (so the live part is gap-free too).
//   - live     gets each released batch from the feed listener.
// A live client whose socket holds more than SOCKET_BUFFERED_BYTES_MAX
// (uWS's buffered amount) parks messages in `pending`, keyed by position
// (sku+location) or channel figure (channel+sku): the newest state per key
// wins. `drain` flushes pending in seq order (a Map keeps insertion order,
// and a replaced key is deleted and re-inserted, so the order is the seqs').
// More than `pendingKeysMax` keys: closed with 4008. A coalesced client sees
// seq jumps; it can tell, and may resubscribe with `since` to get what it
// missed (while it is within retention).
//
// Fan-out: live clients are found through a FilterIndex (ws-filter-index.ts):
// a released message visits only the clients its sku, location or channel
// names, plus the open (unfiltered) ones, which take the whole batch. Each
// message is serialized at most once per format (JSON text, msgpack binary)
// for all clients, and each client's sends for a batch are corked into one
// write, in seq order (a client with one frame in the batch is sent it
// without a cork: uWS corks a lone send itself). Per batch the cost is one
// send() per client it touches — on loopback about 7 µs each, mostly in the
// kernel — which is what bounds the fan-out (bench/RESULTS.md); each batch's
// loop is timed in omnistock_stream_fanout_seconds. uWS pub/sub
// is not used: its slow-subscriber handling skips messages, which would break
// both gap-freedom and coalescing.

import uWS from "uWebSockets.js";
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_socket_context_t } from "uWebSockets.js";
import { Packr } from "msgpackr";
import type { OmnistockEngine } from "../engine/engine.js";
import { nonIntegerLiteral } from "../json-integers.js";
import type { FeedListener } from "./feed.js";
import { authorize, type TokenTable } from "../server/auth.js";
import { HttpError, InvalidRequestError, MethodNotAllowedError, NotReadyError } from "../server/errors.js";
import type { StreamMessage } from "./messages.js";
import { streamMessageBytes } from "./message-bytes.js";
import { bufferedBytesSources, pendingKeysSources, streamClients, streamCoalesced, streamFanoutDeliveries, streamFanoutSeconds, streamResets, streamSlowClosed, waitingClientsSources } from "./ws-metrics.js";
import { FilterIndex } from "./ws-filter-index.js";
import { takeSnapshot, type Snapshot } from "./ws-snapshot.js";
import { StreamRequestError, matches, parseSubscribe, type Filter } from "./ws-subscription.js";
import { msgpackUtf8Problem } from "../server/msgpack-utf8.js";

export const STREAM_PATH = "/v1/stream";

/** Bytes uWS may hold for a client before its messages are coalesced instead of sent. */
export const SOCKET_BUFFERED_BYTES_MAX = 1024 * 1024;
/** Bytes uWS adds to a frame at most (a server frame's header: 2, 4 or 10 bytes). */
const FRAME_HEADER_BYTES_MAX = 10;
/** uWS's own limit, far above ours: uWS must never drop a frame silently (send() answering 2). */
const UWS_BACKPRESSURE_BYTES_MAX = 64 * 1024 * 1024;
/** Largest client message: a subscribe with 3 × 10,000 ids of up to 128 bytes, JSON-escaped. */
const CLIENT_MESSAGE_BYTES_MAX = 8 * 1024 * 1024;
/** Seconds without traffic before a peer counts as dead; uWS pings well before. */
const IDLE_TIMEOUT_SECONDS = 60;
/** Connected clients at most; more are refused with 503 before upgrading. */
export const STREAM_CLIENTS_MAX = 10_000;
/** Feed messages read per replay batch. */
const REPLAY_BATCH_MESSAGES = 4096;
/** Messages (replayed, snapshot, flushed) one pump sends before yielding the event loop. */
const PUMP_MESSAGES_PER_TURN = 32_768;
/** WebSocket close codes. */
export const CLOSE_SLOW_CONSUMER = 4008;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_INTERNAL_ERROR = 1011;

/** The released messages the stream serves: the writer's DeltaFeed, or an HTTP worker's mirror of it. */
export interface StreamFeed {
  /** Newest seq handed to this thread's listeners: live clients continue from here. */
  readonly lastSeq: number;
  /**
   * Hands this thread's listeners, now, whatever the writer has released and
   * they have not had yet (an HTTP worker's mirror trails the writer until its
   * follow loop runs). Absent on the writer's own feed, which never trails.
   */
  catchUp?(): void;
  readAfter(since: number, limit: number): StreamMessage[] | null;
  subscribe(listener: FeedListener): () => void;
}

/** Where the stream's messages and reset snapshots come from. */
export interface StreamSource {
  isReady(): boolean;
  readonly feed: StreamFeed;
  /**
   * What `filter` selects, labelled with the seq the state stands at (the
   * feed's staged seq; see ws-snapshot.ts). An HTTP worker asks the writer,
   * the only thread that sees the ledger between commands.
   */
  snapshot(filter: Filter): Snapshot | Promise<Snapshot>;
}

/** The stream source of the writer's own engine. */
export function engineStreamSource(engine: OmnistockEngine): StreamSource {
  return {
    isReady: () => engine.isReady(),
    feed: engine.feed,
    snapshot: (filter) => takeSnapshot(engine.ledgerView, filter, engine.feed.stagedSeq),
  };
}

export interface StreamOptions {
  tokens: TokenTable | null;
  pendingKeysMax: number; // OMNISTOCK_WS_PENDING_MAX
}

export interface RunningStream {
  /** Registers the route on the server's app (ServerOptions.mount). */
  mount(app: TemplatedApp): void;
  /** Connected clients. */
  readonly clients: number;
  /** Ends every client (1001) and stops listening to the feed. */
  close(): void;
}

type Format = "json" | "msgpack";
/**
 * A serialized message. JSON too is kept as UTF-8 bytes: uWS copies bytes as
 * they are but converts a JS string on every send, i.e. once per client.
 */
type Frame = Buffer;

// int64AsType: an integer a client encodes in 64 bits (msgpackr does for a BigInt) is a number, not a BigInt.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: "number" });

const enum Mode {
  Idle, // connected, no subscription yet
  Replay,
  Waiting,
  Snapshot,
  Live,
}

interface UserData {
  format: Format;
  client: Client | null; // set on open
}

class Client {
  private modeNow = Mode.Idle;
  filter: Filter | null = null;
  cursor = 0; // replay: newest seq already read from the feed
  snapshot: Snapshot | null = null;
  snapshotStarted = false; // reset frame sent
  subscription = 0; // counts subscribes: a snapshot answered for an earlier one is dropped
  readonly pending = new Map<string, Frame>(); // live and slow: newest frame per key, in seq order
  pumpScheduled = false;
  readonly batch: number[] = []; // onBatch: indexes of the released batch's messages it matches, ascending (the first batchLength)
  batchLength = 0; // reused array, not emptied: setting length to 0 frees its storage, which the next batch allocates again
  dropped = false; // uWS refused a frame (its own limit): the client is closed as slow
  closed = false;

  constructor(
    readonly ws: WebSocket<UserData>,
    readonly format: Format,
    private readonly waiting: Set<Client>, // the stream's clients in Mode.Waiting
  ) {}

  get mode(): Mode {
    return this.modeNow;
  }

  /** Every mode change passes here, so that the stream's waiting set stays exact. */
  set mode(mode: Mode) {
    if (mode === Mode.Waiting) this.waiting.add(this);
    else if (this.modeNow === Mode.Waiting) this.waiting.delete(this);
    this.modeNow = mode;
  }

  get binary(): boolean {
    return this.format === "msgpack";
  }

  encode(value: object): Frame {
    return this.format === "msgpack" ? packr.pack(value) : Buffer.from(JSON.stringify(value), "utf8");
  }

  /** Sends one frame; uWS answers 2 when it dropped it (over maxBackpressure), which must not pass unnoticed. */
  sendFrame(frame: Frame): void {
    if (this.ws.send(frame, this.binary) === 2) this.dropped = true;
  }

  /** Sends one message serialized for this client alone (control messages, replay, snapshot). */
  sendValue(value: object): void {
    this.sendFrame(this.encode(value));
  }

  /** Whether the client must be closed as a slow consumer. */
  overLimit(pendingKeysMax: number): boolean {
    return this.dropped || this.pending.size > pendingKeysMax;
  }

  congested(): boolean {
    return this.ws.getBufferedAmount() > SOCKET_BUFFERED_BYTES_MAX;
  }
}

/** Coalescing key of a message: one per position, one per channel figure. Ids hold no control characters. */
function keyOf(message: StreamMessage): string {
  return message.type === "delta" ? `d${message.sku}\u0000${message.location}` : `c${message.channel}\u0000${message.sku}`;
}

/** 503 when STREAM_CLIENTS_MAX clients are connected (the SPEC's one 503 code: retry later). */
class StreamFullError extends HttpError {
  readonly status = 503;
  readonly code = "not_ready";
  override readonly name = "StreamFullError";
  constructor() {
    super(`the stream has ${STREAM_CLIENTS_MAX} clients, its limit; retry later`);
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: "400 Bad Request", 401: "401 Unauthorized", 403: "403 Forbidden", 405: "405 Method Not Allowed", 503: "503 Service Unavailable",
};

function refuse(res: HttpResponse, error: HttpError, method: string): void {
  res.writeStatus(STATUS_TEXT[error.status] ?? `${error.status} Error`);
  res.writeHeader("Content-Type", "application/json");
  if (error.header !== null) res.writeHeader(error.header[0], error.header[1]);
  // No body after a HEAD answer: the client would read it as the next response.
  if (method !== "head") {
    res.end(JSON.stringify({ error: error.code, message: error.message }));
    return;
  }
  res.end(); // no body after a HEAD answer (see respond.ts)
}

/** The stream: its clients and the feed subscription they share. */
class Stream {
  private readonly clients = new Set<Client>();
  /**
   * Clients in Mode.Waiting: a reset whose snapshot is being taken, or is
   * taken at a seq not yet released (onBatch looks at these, not at every client).
   */
  private readonly waiting = new Set<Client>();
  /** Subscribed clients by filter (whatever their mode: onBatch sends to live ones only). */
  private readonly index = new FilterIndex<Client>();
  /** onBatch: the filtered live clients the current batch matches, in first-match order. */
  private readonly matched: Client[] = [];
  private readonly collect = (client: Client, at: number): void => {
    if (client.mode !== Mode.Live) return;
    if (client.batchLength === 0) this.matched.push(client);
    client.batch[client.batchLength++] = at;
  };
  // Subscribed to the feed only while a client is connected: an HTTP worker
  // then skips decoding the writer's messages when it has no stream clients.
  private unsubscribe: (() => void) | null = null;
  private closing = false;
  readonly pendingKeys = (): number => {
    let total = 0;
    for (const client of this.clients) total += client.pending.size;
    return total;
  };
  readonly bufferedBytes = (): number => {
    let total = 0;
    for (const client of this.clients) total += client.ws.getBufferedAmount();
    return total;
  };
  /** Clients in Mode.Waiting (the omnistock_stream_waiting_clients gauge): a closed client must not stay counted. */
  readonly waitingClients = (): number => this.waiting.size;

  constructor(
    private readonly source: StreamSource,
    private readonly options: StreamOptions,
  ) {
    pendingKeysSources.add(this.pendingKeys);
    waitingClientsSources.add(this.waitingClients);
    bufferedBytesSources.add(this.bufferedBytes);
  }

  get size(): number {
    return this.clients.size;
  }

  register(app: TemplatedApp): void {
    app.ws<UserData>(STREAM_PATH, {
      maxPayloadLength: CLIENT_MESSAGE_BYTES_MAX,
      maxBackpressure: UWS_BACKPRESSURE_BYTES_MAX,
      closeOnBackpressureLimit: 0, // false: we coalesce or close with 4008 ourselves
      idleTimeout: IDLE_TIMEOUT_SECONDS,
      sendPingsAutomatically: true,
      compression: uWS.DISABLED,
      upgrade: (res, req, context) => this.onUpgrade(res, req, context),
      open: (ws) => this.onOpen(ws),
      message: (ws, message) => this.onMessage(ws, message),
      drain: (ws) => {
        const client = ws.getUserData().client;
        if (client !== null) this.pump(client);
      },
      close: (ws) => this.onClose(ws),
    });
    // A request without an upgrade falls through the ws route to here; it is
    // judged in the API's order (method, readiness, token) before its 400.
    app.any(STREAM_PATH, (res, req) => this.onPlainRequest(res, req));
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    pendingKeysSources.delete(this.pendingKeys);
    waitingClientsSources.delete(this.waitingClients);
    bufferedBytesSources.delete(this.bufferedBytes);
    for (const client of [...this.clients]) client.ws.end(CLOSE_GOING_AWAY, "server shutting down");
  }

  // ------------------------------------------------------------ connection

  /** A request to the stream's path that is not a WebSocket upgrade: 405, 503, 401/403, else 400. */
  private onPlainRequest(res: HttpResponse, req: HttpRequest): void {
    const method = req.getMethod();
    if (method !== "get") return refuse(res, new MethodNotAllowedError(method, "GET"), method);
    if (this.closing || !this.source.isReady()) return refuse(res, new NotReadyError(), method);
    const denied = authorize(this.options.tokens, req.getHeader("authorization"), "read");
    if (denied !== null) return refuse(res, denied, method);
    refuse(res, new InvalidRequestError(`${STREAM_PATH} needs a WebSocket upgrade`), method);
  }

  /** Readiness (503), then token and scope (401/403), then the query (400); all before upgrading. */
  private onUpgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    if (this.closing || !this.source.isReady()) return refuse(res, new NotReadyError(), "get");
    const query = new URLSearchParams(req.getQuery() ?? "");
    let authorization = req.getHeader("authorization");
    const token = query.get("token");
    if (authorization.length === 0 && token !== null) authorization = `Bearer ${token}`;
    const denied = authorize(this.options.tokens, authorization, "read");
    if (denied !== null) return refuse(res, denied, "get");
    if (this.clients.size >= STREAM_CLIENTS_MAX) return refuse(res, new StreamFullError(), "get");
    const format = query.get("format") ?? "json";
    if (format !== "json" && format !== "msgpack") return refuse(res, new InvalidRequestError('format: must be "json" or "msgpack"'), "get");
    res.upgrade<UserData>(
      { format, client: null },
      req.getHeader("sec-websocket-key"),
      req.getHeader("sec-websocket-protocol"),
      req.getHeader("sec-websocket-extensions"),
      context,
    );
  }

  private onOpen(ws: WebSocket<UserData>): void {
    const data = ws.getUserData();
    const client = new Client(ws, data.format, this.waiting);
    data.client = client;
    this.clients.add(client);
    streamClients.set(this.clients.size);
    // Before the client's subscribe message: its replay then meets live batches with no gap.
    if (this.unsubscribe === null && !this.closing) this.unsubscribe = this.source.feed.subscribe((batch) => this.onBatch(batch));
  }

  private onClose(ws: WebSocket<UserData>): void {
    const client = ws.getUserData().client;
    if (client === null) return;
    client.closed = true;
    client.mode = Mode.Idle; // out of the waiting set
    client.pending.clear();
    client.snapshot = null;
    this.clients.delete(client);
    this.index.remove(client);
    streamClients.set(this.clients.size);
    if (this.clients.size === 0 && this.unsubscribe !== null) {
      this.unsubscribe();
      this.unsubscribe = null;
    }
  }

  /** A client message: a subscribe, or an error frame that changes nothing. */
  private onMessage(ws: WebSocket<UserData>, message: ArrayBuffer): void {
    const client = ws.getUserData().client;
    if (client === null || client.closed) return;
    let request;
    try {
      const bytes = Buffer.from(message); // a view: used only within this callback
      const text = client.format === "msgpack" ? null : bytes.toString("utf8");
      const value: unknown = text === null ? packr.unpack(bytes) : JSON.parse(text);
      const rounded = text === null ? null : nonIntegerLiteral(text);
      if (rounded !== null) throw new StreamRequestError(`${rounded} is not an integer`);
      const problem = text === null ? msgpackUtf8Problem(bytes) : null; // msgpackr decodes bad UTF-8 as U+FFFD
      if (problem !== null) throw new StreamRequestError(problem);
      request = parseSubscribe(value);
    } catch (error) {
      const text = error instanceof StreamRequestError ? error.message : `cannot decode the message as ${client.format}`;
      client.sendValue({ type: "error", error: "invalid_request", message: text });
      if (client.dropped) this.closeSlow(client); // it sends bad messages and reads no answers
      return;
    }
    this.subscribe(client, request.filter, request.since);
  }

  /**
   * Starts (or replaces) the client's subscription. A second subscribe drops
   * everything pending for the first; frames of the first already handed to
   * the socket still arrive before the new `subscribed`.
   */
  private subscribe(client: Client, filter: Filter, since: number | null): void {
    const feed = this.source.feed;
    // A worker may trail the writer (its follow loop not run yet): a client
    // that saw a later seq elsewhere would get a needless reset, and be told a
    // newest seq below its own. Catching up first makes this thread's lastSeq
    // the writer's; done before the new filter applies, so what it hands out
    // goes to this client, if live, under its old subscription.
    feed.catchUp?.();
    client.filter = filter;
    this.index.add(client, filter);
    client.pending.clear();
    client.snapshot = null;
    client.snapshotStarted = false;
    client.subscription++;
    client.sendValue({ type: "subscribed", seq: feed.lastSeq });
    if (since === null) {
      client.mode = Mode.Live;
      return;
    }
    client.mode = Mode.Replay;
    client.cursor = since;
    // A since beyond the newest seq cannot be continued (the client followed
    // another history, e.g. a wiped data directory): it gets a reset too.
    if (since > feed.lastSeq) this.reset(client);
    this.pump(client);
  }

  // ------------------------------------------------------------ delivery

  /** Takes the client's snapshot; it leaves once the feed has released the seq it stands for. */
  private reset(client: Client): void {
    streamResets.inc();
    client.snapshot = null;
    client.snapshotStarted = false;
    client.mode = Mode.Waiting;
    const taken = this.source.snapshot(client.filter!);
    if (!(taken instanceof Promise)) return this.snapshotTaken(client, taken);
    const subscription = client.subscription;
    taken.then(
      (snapshot) => {
        if (client.closed || client.subscription !== subscription) return;
        this.snapshotTaken(client, snapshot);
        this.pump(client);
      },
      () => {
        // A failed snapshot of an earlier subscribe is as stale as a taken one.
        if (!client.closed && client.subscription === subscription) client.ws.end(CLOSE_INTERNAL_ERROR, "snapshot failed");
      },
    );
  }

  private snapshotTaken(client: Client, snapshot: Snapshot): void {
    client.snapshot = snapshot;
    client.mode = this.source.feed.lastSeq >= snapshot.seq ? Mode.Snapshot : Mode.Waiting;
  }

  /** Moves a client forward until its socket is congested, it is live with nothing pending, or the turn's budget is spent. */
  private pump(client: Client): void {
    if (client.closed || this.closing) return;
    let budget = PUMP_MESSAGES_PER_TURN;
    let slowClose = false;
    client.ws.cork(() => {
      while (budget > 0 && !client.closed && !client.congested()) {
        if (client.mode === Mode.Live) {
          budget -= this.flushPending(client, budget);
          if (client.pending.size === 0) return;
        } else if (client.mode === Mode.Replay) {
          budget -= this.replay(client, budget);
        } else if (client.mode === Mode.Snapshot) {
          budget -= this.sendSnapshot(client, budget);
        } else {
          return; // idle, or waiting for the feed to release the snapshot's seq
        }
      }
      slowClose = client.overLimit(this.options.pendingKeysMax);
    });
    if (slowClose) return this.closeSlow(client);
    if (budget <= 0) this.schedulePump(client);
  }

  /** Sends pending frames oldest first while the socket takes them; returns how many. */
  private flushPending(client: Client, budget: number): number {
    let sent = 0;
    for (const [key, frame] of client.pending) {
      if (sent >= budget || client.congested()) break;
      client.pending.delete(key);
      client.sendFrame(frame);
      sent++;
    }
    return sent;
  }

  /** One replay batch; turns the client live when it has caught up, or resets it when it fell out of retention. */
  private replay(client: Client, budget: number): number {
    const batch = this.source.feed.readAfter(client.cursor, Math.min(REPLAY_BATCH_MESSAGES, budget));
    if (batch === null) {
      this.reset(client);
      return 1;
    }
    if (batch.length === 0) {
      client.mode = Mode.Live; // cursor === feed.lastSeq: the next released batch follows on
      return 1;
    }
    const filter = client.filter!;
    let read = 0;
    // Stop as soon as the socket is congested (the rest is read again later):
    // uWS then holds at most the threshold plus one message for this client.
    while (read < batch.length && !client.congested()) {
      const message = batch[read++];
      if (matches(filter, message)) client.sendValue(message);
      client.cursor = message.seq;
    }
    return Math.max(read, 1);
  }

  /** Sends reset, snapshot entries and snapshot_end as the socket takes them, then replays after the snapshot's seq. */
  private sendSnapshot(client: Client, budget: number): number {
    const snapshot = client.snapshot!;
    if (!client.snapshotStarted) {
      client.snapshotStarted = true;
      client.sendValue({ type: "reset", seq: snapshot.seq });
    }
    let sent = 0;
    while (sent < budget && !client.congested()) {
      const entry = snapshot.next();
      if (entry === null) {
        client.sendValue({ type: "snapshot_end", seq: snapshot.seq });
        client.snapshot = null;
        client.mode = Mode.Replay;
        client.cursor = snapshot.seq;
        break;
      }
      client.sendValue(entry);
      sent++;
    }
    return Math.max(sent, 1);
  }

  private closeSlow(client: Client): void {
    if (client.closed) return;
    streamSlowClosed.inc();
    const reason = `slow consumer: more than ${this.options.pendingKeysMax} keys pending`;
    client.pending.clear();
    client.ws.end(CLOSE_SLOW_CONSUMER, reason);
  }

  /**
   * The feed listener: one released batch, fanned out to the live clients it
   * matches. Per batch, the waiting clients are looked at (a snapshot may
   * start), and the open ones; per message, only the matching filtered
   * clients are (the index).
   */
  private onBatch(batch: readonly StreamMessage[]): void {
    const started = performance.now();
    const n = batch.length;
    const json: (Buffer | undefined)[] = new Array(n);
    const msgpack: (Buffer | undefined)[] = new Array(n);
    const keys: (string | undefined)[] = new Array(n);
    const frameAt = (i: number, format: Format): Frame => {
      if (format === "json") return (json[i] ??= Buffer.from(JSON.stringify(batch[i]), "utf8"));
      // The feed's own encoder (msgpackr's bytes, half its time); copied, as its result is a reused view.
      return (msgpack[i] ??= Buffer.from(streamMessageBytes(batch[i])));
    };
    const lastSeq = batch[n - 1].seq;
    for (const client of this.waiting) {
      if (client.snapshot !== null && lastSeq >= client.snapshot.seq) {
        client.mode = Mode.Snapshot;
        this.schedulePump(client); // not here: the engine is releasing a durable batch
      }
    }
    const matched = this.matched;
    for (let i = 0; i < n; i++) this.index.forEachFiltered(batch[i], i, this.collect);
    const slow: Client[] = [];
    let coalesced = 0;
    // `send` serves `target` the messages at `at` (all of them when null); set
    // before each call, so that no closure is made per client.
    let target!: Client;
    let at: readonly number[] | null = null;
    let count = 0;
    /** Sends (or parks, when congested) the target's messages of the batch, in seq order. */
    const send = (): void => {
      const pending = target.pending;
      // What uWS holds for the target, at most: asked once, then raised by
      // every frame sent (nothing else adds to it within this loop), and asked
      // again only when that bound passes the threshold. The same decisions as
      // asking before every frame, with one native call per client, not per frame.
      let buffered = pending.size === 0 ? target.ws.getBufferedAmount() : Infinity;
      for (let j = 0; j < count; j++) {
        const i = at === null ? j : at[j];
        const frame = frameAt(i, target.format);
        if (pending.size === 0) {
          if (buffered > SOCKET_BUFFERED_BYTES_MAX) buffered = target.ws.getBufferedAmount();
          if (buffered <= SOCKET_BUFFERED_BYTES_MAX) {
            target.sendFrame(frame);
            buffered += frame.length + FRAME_HEADER_BYTES_MAX;
            continue;
          }
        }
        const key = (keys[i] ??= keyOf(batch[i]));
        pending.delete(key); // re-insert: Map order stays seq order
        pending.set(key, frame);
        coalesced++;
      }
    };
    let deliveries = 0;
    /** One client's share of the batch, corked into one write. */
    const deliver = (client: Client, which: readonly number[] | null, frames: number): void => {
      deliveries++;
      target = client;
      at = which;
      count = frames;
      // A single frame is one write anyway (uWS corks each send by itself):
      // a cork around it would only add a native round trip and a callback.
      if (frames === 1) send();
      else client.ws.cork(send);
      if (client.overLimit(this.options.pendingKeysMax)) slow.push(client);
    };
    try {
      for (const client of this.index.open) if (client.mode === Mode.Live) deliver(client, null, n);
      for (const client of matched) deliver(client, client.batch, client.batchLength);
    } finally {
      for (const client of matched) client.batchLength = 0;
      matched.length = 0;
    }
    if (coalesced > 0) streamCoalesced.inc(coalesced);
    if (deliveries > 0) {
      streamFanoutSeconds.observe((performance.now() - started) / 1000);
      streamFanoutDeliveries.inc(deliveries);
    }
    for (const client of slow) this.closeSlow(client);
  }

  private schedulePump(client: Client): void {
    if (client.pumpScheduled) return;
    client.pumpScheduled = true;
    setImmediate(() => {
      client.pumpScheduled = false;
      this.pump(client);
    });
  }
}

/** The stream of `source`'s feed; `mount` adds `GET /v1/stream` to the server's app. */
export function createStream(source: StreamSource, options: StreamOptions): RunningStream {
  const stream = new Stream(source, options);
  return {
    get clients() {
      return stream.size;
    },
    mount: (app) => stream.register(app),
    close: () => stream.close(),
  };
}
