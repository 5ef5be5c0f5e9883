// The engine: the one writer in front of the ledger. Commands apply to the
// ledger in arrival order (one thread, no locks); each one that changed state
// is appended to the journal, and its answer is released only when the
// journal is durable up to it (group commit: one fsync for everything that
// arrived meanwhile). An answer that changed nothing still waits for every
// earlier record, because it may have read state they made. The engine also
// owns recovery (snapshot + journal tail), the sweeper (expiry, then the
// purge of reservations finished longer than the retention ago) and snapshots.

import { mkdirSync } from "node:fs";
import { RESERVATION_RETENTION_SECONDS_DEFAULT } from "../config.js";
import { join } from "node:path";
import { Journal, readJournal } from "../journal/journal.js";
import { loadLatestSnapshot, pruneSnapshots, writeSnapshot } from "../journal/snapshot.js";
import { TTL_SECONDS_DEFAULT } from "../ledger/limits.js";
import { LedgerStatus } from "../ledger/status.js";
import type {
  AdjustItem, ChannelPatch, HoldOutcome, LocationPatch, MoveOutcome, PositionState,
  ReservationState, StockItem, StockWriteOutcome,
} from "../ledger/types.js";
import { WasmLedger, type LedgerCapacities } from "../ledger/wasm-ledger.js";
import {
  countReservationOutcome, ledgerPositions, ledgerReservations, ledgerReservationsHeld, reservationsExpired, reservationsPurged,
} from "../metrics.js";
import { DeltaFeed } from "../stream/feed.js";
import { decodeCommand, encodeCommand, executeCommand, messageTime, Op, type Command, type Execution } from "./commands.js";
import { deltasOfLastCommand } from "./deltas.js";
import { errorBody, errorFor } from "./errors.js";
import { LedgerReads, channelNotFound } from "./reads.js";
import { reservationBody, reservationJson } from "./reply-json.js";
import type { Engine, EngineReply, HoldRequest, QueryRequest, ReservationMove } from "./types.js";

export const EXPIRY_BATCH_MAX = 10_000; // holds expired per sweeper record; bounds one record's work
export const PURGE_BATCH_MAX = 10_000; // reservations purged per sweeper record; bounds one record's work
export const RESERVATION_RETENTION_MS_DEFAULT = RESERVATION_RETENTION_SECONDS_DEFAULT * 1000;

export interface EngineOptions extends LedgerCapacities {
  dataDir: string;
  streamRetention?: number; // stream messages kept for replay (default 1,000,000)
  streamMemoryTail?: number; // of which the newest are also kept in memory (default 100,000)
  snapshotEveryRecords: number;
  expiryIntervalMs: number;
  reservationRetentionMs?: number; // how long finished reservations are kept (default 1 day)
  clock?: () => number; // epoch ms; tests may pin it
  log?: (message: string) => void;
}

export interface RecoveryReport {
  snapshotLsn: number;
  replayedRecords: number;
  tornBytes: number;
  millis: number;
}

/** Engine state a snapshot carries besides the ledger. */
interface EngineSnapshotMeta {
  seq: number; // last stream seq the snapshot's state produced
}

const MOVE_OP: Record<ReservationMove, Op.Commit | Op.Release | Op.Fulfill> = {
  commit: Op.Commit,
  release: Op.Release,
  fulfill: Op.Fulfill,
};

export class OmnistockEngine implements Engine {
  /** The stream of deltas; messages leave only after their command is durable. */
  readonly feed: DeltaFeed;
  private ledger: WasmLedger | null = null;
  private journal: Journal | null = null;
  private readonly clock: () => number;
  private readonly log: (message: string) => void;
  private sweeper: NodeJS.Timeout | null = null;
  private recordsSinceSnapshot = 0;
  private snapshotInFlight: Promise<void> | null = null;
  private snapshotLsns: number[] = []; // lsns of the snapshots on disk, oldest first
  private closed = false;
  private quiescing = false; // shutdown, step 1 (quiesce): new requests get 503
  private readonly reads = new LedgerReads(() => this.ledger!);

  constructor(private readonly options: EngineOptions) {
    this.clock = options.clock ?? Date.now;
    this.log = options.log ?? ((m) => process.stderr.write(`${m}\n`));
    this.feed = new DeltaFeed({
      dir: join(options.dataDir, "deltas"),
      retention: options.streamRetention ?? 1_000_000,
      memoryTail: options.streamMemoryTail ?? 100_000,
      log: this.log,
    });
  }

  isReady(): boolean {
    return this.ledger !== null && this.journal !== null && !this.closed && !this.quiescing;
  }

  /** Loads the newest snapshot, replays the journal after it, opens the journal and starts the sweeper. */
  async recover(): Promise<RecoveryReport> {
    const started = performance.now();
    const dir = this.options.dataDir;
    mkdirSync(dir, { recursive: true });
    const ledger = new WasmLedger(this.options);
    const snapshot = loadLatestSnapshot(dir, (m) => this.log(`snapshot: ${m}`));
    let snapshotLsn = 0;
    let snapshotSeq = 0;
    if (snapshot) {
      const metaBytes = snapshot.body.readUInt32LE(0);
      const meta = JSON.parse(snapshot.body.toString("utf8", 4, 4 + metaBytes)) as EngineSnapshotMeta;
      ledger.loadSnapshot(snapshot.body.subarray(4 + metaBytes));
      snapshotLsn = snapshot.lsn;
      snapshotSeq = meta.seq;
      this.snapshotLsns = [snapshot.lsn];
    }
    await this.feed.open(snapshotSeq);
    const feed = this.feed;
    ledger.quiet = true; // nobody reads the answers of replayed commands
    const read = readJournal(dir, snapshotLsn, (_lsn, payload) => {
      const command = decodeCommand(payload);
      // Messages already in the delta journal are only counted, not rebuilt
      // (channel changes compare before and after, so they always build).
      const execution = executeCommand(ledger, command, "count");
      if (feed.onDisk(execution.messageCount)) feed.skip(execution.messageCount);
      else feed.replayed(command[0] === Op.PutChannel ? execution.messages : deltasOfLastCommand(ledger, messageTime.format(command[1])));
    });
    ledger.quiet = false;
    feed.finishReplay();
    this.journal = await Journal.open({ dir }, read.lastLsn + 1);
    this.ledger = ledger;
    this.recordsSinceSnapshot = read.records;
    this.updateGauges();
    this.sweeper = setInterval(() => this.sweep(), this.options.expiryIntervalMs);
    this.sweeper.unref();
    return { snapshotLsn, replayedRecords: read.records, tornBytes: read.tornBytes, millis: performance.now() - started };
  }

  /**
   * Shutdown, step 1: answers 503 to new requests (isReady() turns false) and
   * resolves once every write already applied is durable and its answer has
   * been handed to its connection, so closing connections loses no
   * acknowledgement. The journal stays open; close() follows.
   */
  async quiesce(): Promise<void> {
    this.quiescing = true;
    const journal = this.journal;
    if (journal === null) return;
    // A request whose body was still arriving may apply a write meanwhile: repeat until none did.
    let lsn: number;
    do {
      lsn = journal.lastLsn;
      await journal.durable(lsn).catch(() => undefined);
      await new Promise((resolve) => setImmediate(resolve)); // answers and stream messages leave
    } while (journal.lastLsn !== lsn);
  }

  /** Stops the sweeper, waits for durability and closes the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.snapshotInFlight) await this.snapshotInFlight.catch(() => undefined);
    if (this.journal) await this.journal.close();
    await this.feed.close();
  }

  /** The ledger, for reads outside the engine: stream snapshots, tests, benchmarks, the state digest. */
  get ledgerView(): WasmLedger {
    if (!this.ledger) throw new Error("engine is not recovered");
    return this.ledger;
  }

  // ── durability ───────────────────────────────────────────────────────────
  /**
   * Journals a command that changed state and stages its stream messages;
   * answers once it (and every record before it) is durable, then lets the
   * messages of every durable command leave.
   */
  private durable(command: Command, execution: Execution<unknown>, reply: EngineReply): Promise<EngineReply> {
    const journal = this.journal!;
    let lsn = journal.lastLsn;
    if (execution.changed) {
      try {
        lsn = journal.append(encodeCommand(command));
      } catch (error) {
        return Promise.reject(error); // a closed or failed journal: callers expect a rejection, not a throw
      }
      if (execution.inChangeLog) this.feed.stageChanges(this.ledger!, lsn, messageTime.format(command[1]));
      else this.feed.stage(execution.messages, lsn);
      if (++this.recordsSinceSnapshot >= this.options.snapshotEveryRecords) this.startSnapshot();
    }
    // One .then, not an async function: every write passes here, and each await is another promise.
    return journal.durable(lsn).then(
      () => {
        this.scheduleRelease();
        return reply;
      },
      (e: unknown) => this.fatal(e),
    );
  }

  // Stream messages leave after the answers of their group commit are written
  // (a fan-out to a thousand sockets must not delay the acknowledgement), once
  // per event-loop turn however many answers the fsync released.
  private releaseScheduled = false;
  private scheduleRelease(): void {
    if (this.releaseScheduled) return;
    this.releaseScheduled = true;
    setImmediate(() => {
      this.releaseScheduled = false;
      if (!this.closed) this.feed.release(this.journal!.durableLsn);
    });
  }

  // Expires due holds, then purges reservations finished longer than the
  // retention ago; each is a journaled command stamped with this clock, and
  // one that found nothing to do is not journaled.
  private sweep(): void {
    if (!this.isReady()) return;
    const now = this.clock();
    const expired = this.sweepCommand([Op.Expire, now, EXPIRY_BATCH_MAX]);
    reservationsExpired.inc(expired);
    const retentionMs = this.options.reservationRetentionMs ?? RESERVATION_RETENTION_MS_DEFAULT;
    const purged = this.sweepCommand([Op.Purge, now, retentionMs, PURGE_BATCH_MAX]);
    reservationsPurged.inc(purged);
    this.updateGauges();
  }

  /** Applies a sweeper command and journals it when it changed something; returns how many reservations it took. */
  private sweepCommand(command: Command): number {
    const execution = executeCommand(this.ledger!, command, "log");
    // Nothing waits on this record but later answers, which wait for it anyway.
    if (execution.changed) void this.durable(command, execution, { status: 200, body: null });
    return execution.outcome as number;
  }

  private updateGauges(): void {
    const counts = this.ledger!.counts();
    ledgerPositions.set(counts.positions);
    ledgerReservations.set(counts.reservations);
    ledgerReservationsHeld.set(counts.reservationsHeld);
  }

  /** Takes a snapshot now (in the background); resolves when it is on disk. */
  snapshotNow(): Promise<void> {
    this.startSnapshot();
    return this.snapshotInFlight ?? Promise.resolve();
  }

  private startSnapshot(): void {
    if (this.snapshotInFlight || !this.isReady()) return;
    const journal = this.journal!;
    const lsn = journal.lastLsn;
    const meta = Buffer.from(JSON.stringify({ seq: this.feed.stagedSeq } satisfies EngineSnapshotMeta), "utf8");
    const metaLength = Buffer.alloc(4);
    metaLength.writeUInt32LE(meta.length, 0);
    const parts = [metaLength, meta, ...this.ledger!.snapshotParts()]; // a copy: the ledger goes on changing
    this.recordsSinceSnapshot = 0;
    this.snapshotInFlight = (async () => {
      await journal.durable(lsn); // the snapshot never gets ahead of the journal on disk
      this.feed.release(journal.durableLsn);
      await this.feed.flushDisk(true); // nor of the stream's messages
      await journal.rotate();
      await writeSnapshot(this.options.dataDir, lsn, parts);
      this.snapshotLsns.push(lsn);
      // Keep two snapshots and the journal the older one needs, in case the newer is damaged.
      while (this.snapshotLsns.length > 2) this.snapshotLsns.shift();
      await pruneSnapshots(this.options.dataDir, 2);
      await journal.pruneThrough(this.snapshotLsns[0]);
    })()
      .catch((e) => this.log(`snapshot failed (the journal still holds everything): ${String(e)}`))
      .finally(() => {
        this.snapshotInFlight = null;
      });
  }

  private fatal(error: unknown): never {
    this.log(`journal failure, stopping: ${String(error)}`);
    process.exit(70);
  }

  // ── reads ────────────────────────────────────────────────────────────────
  availabilityAt(sku: string, location: string): EngineReply { return this.reads.availabilityAt(sku, location); }
  availabilityAll(sku: string): EngineReply { return this.reads.availabilityAll(sku); }
  availabilityForChannel(sku: string, channel: string): EngineReply { return this.reads.availabilityForChannel(sku, channel); }
  query(request: QueryRequest): EngineReply { return this.reads.query(request); }

  getReservation(id: string): EngineReply {
    const reservation = this.ledger!.reservation(id);
    if (reservation === null) return { status: 404, body: errorBody(LedgerStatus.ReservationNotFound) };
    return { status: 200, body: reservationBody(reservation), json: reservationJson };
  }

  listLocations(): EngineReply {
    return { status: 200, body: { items: this.ledger!.listLocations() } };
  }

  listChannels(): EngineReply {
    return { status: 200, body: { items: this.ledger!.listChannels() } };
  }

  // ── writes ───────────────────────────────────────────────────────────────
  setStock(items: StockItem[]): Promise<EngineReply> {
    return this.stockWrite([Op.SetStock, this.clock(), items], items.length);
  }

  adjustStock(items: AdjustItem[]): Promise<EngineReply> {
    return this.stockWrite([Op.AdjustStock, this.clock(), items], items.length);
  }

  private stockWrite(command: Command, applied: number): Promise<EngineReply> {
    const execution = executeCommand(this.ledger!, command, "log");
    const outcome = execution.outcome as StockWriteOutcome;
    if (outcome.status !== LedgerStatus.Ok) {
      const index = (outcome as { itemIndex: number }).itemIndex;
      return this.durable(command, execution, { status: errorFor(outcome.status).http, body: errorBody(outcome.status, `items[${index}]`, { index }) });
    }
    const ok = outcome as { positions: PositionState[] };
    return this.durable(command, execution, { status: 200, body: { applied, positions: ok.positions.map(positionBody) } });
  }

  hold(request: HoldRequest): Promise<EngineReply> {
    const ttlMs = (request.ttlSeconds ?? TTL_SECONDS_DEFAULT) * 1000;
    const channel = request.channel ?? null;
    const command: Command = [Op.Hold, this.clock(), request.id, channel, request.lines, ttlMs];
    const execution = executeCommand(this.ledger!, command, "log");
    const outcome = execution.outcome as HoldOutcome;
    let reply: EngineReply;
    if (outcome.status === LedgerStatus.Ok) {
      const ok = outcome as { created: boolean; reservation: ReservationState };
      reply = { status: ok.created ? 201 : 200, body: reservationBody(ok.reservation), json: reservationJson };
      countReservationOutcome("hold", ok.created ? "held" : "repeat");
    } else if (outcome.status === LedgerStatus.InsufficientStock) {
      const short = outcome as { shortLines: unknown[] };
      reply = { status: 409, body: errorBody(outcome.status, undefined, { lines: short.shortLines }) };
      countReservationOutcome("hold", "insufficient_stock");
    } else {
      const lineIndex = (outcome as { lineIndex: number }).lineIndex;
      const prefix = lineIndex >= 0 ? `lines[${lineIndex}]` : undefined;
      const body = outcome.status === LedgerStatus.ChannelNotFound ? channelNotFound(channel!).body : errorBody(outcome.status, prefix);
      reply = { status: errorFor(outcome.status).http, body };
      countReservationOutcome("hold", errorFor(outcome.status).code);
    }
    return this.durable(command, execution, reply);
  }

  move(id: string, move: ReservationMove): Promise<EngineReply> {
    const command: Command = [MOVE_OP[move], this.clock(), id];
    const execution = executeCommand(this.ledger!, command, "log");
    const outcome = execution.outcome as MoveOutcome;
    let reply: EngineReply;
    if (outcome.status === LedgerStatus.Ok) {
      reply = { status: 200, body: reservationBody(outcome.reservation!), json: reservationJson };
      countReservationOutcome(move, "ok");
    } else {
      const body = errorBody(outcome.status, undefined, outcome.reservation ? { status: outcome.reservation.status } : undefined);
      reply = { status: errorFor(outcome.status).http, body };
      countReservationOutcome(move, errorFor(outcome.status).code);
    }
    return this.durable(command, execution, reply);
  }

  putLocation(id: string, patch: LocationPatch): Promise<EngineReply> {
    const command: Command = [Op.PutLocation, this.clock(), id, patch];
    const execution = executeCommand(this.ledger!, command, "log");
    const result = execution.outcome as { status: LedgerStatus; location: unknown };
    if (result.status !== LedgerStatus.Ok) return this.durable(command, execution, { status: errorFor(result.status).http, body: errorBody(result.status) });
    return this.durable(command, execution, { status: 200, body: result.location });
  }

  putChannel(id: string, patch: ChannelPatch): Promise<EngineReply> {
    const command: Command = [Op.PutChannel, this.clock(), id, patch];
    const execution = executeCommand(this.ledger!, command, "log");
    const result = execution.outcome as { status: LedgerStatus; channel: unknown };
    if (result.status !== LedgerStatus.Ok) return this.durable(command, execution, { status: errorFor(result.status).http, body: errorBody(result.status) });
    return this.durable(command, execution, { status: 200, body: result.channel });
  }
}

function positionBody(p: PositionState): unknown {
  return {
    sku: p.sku, location: p.location, available: p.available, onHand: p.onHand, reserved: p.reserved,
    committed: p.committed, safetyStock: p.safetyStock, shortfall: p.shortfall, version: p.version,
  };
}
