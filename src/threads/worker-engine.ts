// The engine as an HTTP worker thread sees it. Availability reads answer
// here, from a reader instance of the ledger over the writer's shared memory
// (each position read whole under its seqlock): no message to the writer.
// Everything else is a command in this worker's ring to the writer, answered
// in the ring back once the writer has applied it and, for a change, made it
// durable; the HTTP layer cannot tell this engine from the writer's own.

import { Packr } from "msgpackr";
import { LedgerReads } from "../engine/reads.js";
import type { Engine, EngineReply, HoldRequest, QueryRequest, ReservationMove } from "../engine/types.js";
import { InternalError, NotReadyError } from "../server/errors.js";
import type { AdjustItem, ChannelPatch, LocationPatch, StockItem } from "../ledger/types.js";
import { WasmLedger } from "../ledger/wasm-ledger.js";
import { RemoteOp, STATE_READY } from "./protocol.js";
import { RingConsumer, RingProducer } from "./ring.js";

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

export class WorkerEngine implements Engine {
  private ledger: WasmLedger | null = null;
  private readonly reads = new LedgerReads(() => this.ledger!);
  private readonly commands: RingProducer;
  private readonly answers: RingConsumer;
  private readonly state: Int32Array;
  private readonly waiting = new Map<number, { resolve: (reply: EngineReply) => void; reject: (error: Error) => void }>();
  private nextRequest = 1;
  private stopped = false;

  constructor(
    commands: SharedArrayBuffer,
    answers: SharedArrayBuffer,
    state: SharedArrayBuffer,
    private readonly readerSlot: number,
  ) {
    this.commands = new RingProducer(commands);
    this.answers = new RingConsumer(answers);
    this.state = new Int32Array(state);
    void this.answers.run((bytes) => this.onAnswer(bytes));
  }

  /** The writer has recovered: read from its memory from now on. */
  attach(memory: WebAssembly.Memory): void {
    this.ledger = new WasmLedger({}, { memory, readerSlot: this.readerSlot });
  }

  isReady(): boolean {
    // The ledger is attached and the feed started by one message ("ready"): ready means both.
    return !this.stopped && this.ledger !== null && Atomics.load(this.state, STATE_READY) === 1;
  }

  /** Requests sent to the writer and not answered yet. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Stops reading answers; requests still waiting fail with 503 (the writer is going away). */
  stop(): void {
    this.stopped = true;
    this.answers.close();
    this.commands.close();
    for (const waiter of this.waiting.values()) waiter.reject(new NotReadyError());
    this.waiting.clear();
  }

  private onAnswer(bytes: Buffer): void {
    const [id, status, body] = packr.unpack(bytes) as [number, number, unknown];
    const waiter = this.waiting.get(id);
    if (waiter === undefined) return; // answered already (stop())
    this.waiting.delete(id);
    // The writer answers these two for failures outside the ledger's catalogue
    // (it logs the cause); as errors here they get the server's usual reply.
    if (status === 503) waiter.reject(new NotReadyError());
    else if (status === 500) waiter.reject(new InternalError());
    else waiter.resolve({ status, body });
  }

  private request(op: RemoteOp, a?: unknown, b?: unknown): Promise<EngineReply> {
    const id = this.nextRequest++;
    const message = b !== undefined ? [id, op, a, b] : a !== undefined ? [id, op, a] : [id, op];
    const promise = new Promise<EngineReply>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.commands.send(packr.pack(message));
    return promise;
  }

  // ── reads from shared memory ─────────────────────────────────────────────
  availabilityAt(sku: string, location: string): EngineReply { return this.reads.availabilityAt(sku, location); }
  availabilityAll(sku: string): EngineReply { return this.reads.availabilityAll(sku); }
  availabilityForChannel(sku: string, channel: string): EngineReply { return this.reads.availabilityForChannel(sku, channel); }
  query(request: QueryRequest): EngineReply { return this.reads.query(request); }

  // ── through the writer ───────────────────────────────────────────────────
  getReservation(id: string): Promise<EngineReply> { return this.request(RemoteOp.GetReservation, id); }
  listLocations(): Promise<EngineReply> { return this.request(RemoteOp.ListLocations); }
  listChannels(): Promise<EngineReply> { return this.request(RemoteOp.ListChannels); }
  setStock(items: StockItem[]): Promise<EngineReply> { return this.request(RemoteOp.SetStock, items); }
  adjustStock(items: AdjustItem[]): Promise<EngineReply> { return this.request(RemoteOp.AdjustStock, items); }
  hold(request: HoldRequest): Promise<EngineReply> { return this.request(RemoteOp.Hold, request); }
  move(id: string, move: ReservationMove): Promise<EngineReply> { return this.request(RemoteOp.Move, id, move); }
  putLocation(id: string, patch: LocationPatch): Promise<EngineReply> { return this.request(RemoteOp.PutLocation, id, patch); }
  putChannel(id: string, patch: ChannelPatch): Promise<EngineReply> { return this.request(RemoteOp.PutChannel, id, patch); }
}
