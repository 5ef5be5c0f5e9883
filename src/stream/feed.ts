// The delta feed: numbers the messages the engine derives from each command
// (one global, gap-free seq), holds them back until the command's journal
// record is durable, then hands them to subscribers (WebSocket, NATS) in seq
// order. Released messages are kept for replays: the newest in shared memory
// (encoded; see shared-tail.ts), and
// all within the retention window on disk, in a journal of their own whose lsn
// IS the seq. Messages are derived deterministically from the command journal,
// so after a crash the engine regenerates any it had not yet written, with
// the same seq and the same content.

import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Packr } from "msgpackr";
import { Journal, readJournal, segmentFileName } from "../journal/journal.js";
import type { PositionFigures } from "../ledger/types.js";
import type { WasmLedger } from "../ledger/wasm-ledger.js";
import { MsgpackWriter } from "../msgpack-writer.js";
import { channelMessage, deltaMessage, walkChangesOfLastCommand, type ChangeSink } from "./ledger-changes.js";
import { writeLedgerDelta, writeStreamMessage } from "./message-bytes.js";
import type { StreamMessage, UnnumberedMessage } from "./messages.js";
import { SharedTail } from "./shared-tail.js";

export interface FeedOptions {
  dir: string; // the delta journal's directory
  retention: number; // messages kept for replay (on disk)
  memoryTail: number; // newest messages also kept in memory
  log?: (message: string) => void;
}

export type FeedListener = (messages: readonly StreamMessage[]) => void;

const packr = new Packr({ useRecords: false, moreTypes: false });
const SEGMENT_NAME = /^journal-(\d{20})\.log$/;
const DISK_FLUSH_MS = 200;
/** The staging area's buffer is given back above this once everything in it is released. */
const STAGED_BYTES_KEPT = 1024 * 1024;
// Small segments: a replay from disk reads one per batch (about 30,000 messages).
const DELTA_SEGMENT_BYTES = 4 * 1024 * 1024;

/** First seqs of the delta journal's segments, ascending. */
function segmentFirsts(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((n) => SEGMENT_NAME.exec(n)).filter((m) => m !== null).map((m) => Number(m![1])).sort((a, b) => a - b);
}

/** Seq of the first record on disk minus one (0 when there is none). */
function firstOnDisk(dir: string): number {
  const firsts = segmentFirsts(dir);
  return firsts.length === 0 ? 0 : firsts[0] - 1;
}

/**
 * Released messages with seq > since, oldest first (see DeltaFeed.readAfter):
 * from `tail` when it holds since + 1, else the rest of the delta-journal
 * segment in `dir` holding since + 1; null when since is older than `oldestSeq`.
 */
export function readReleasedAfter(
  tail: SharedTail, dir: string, since: number, limit: number, releasedSeq: number, oldestSeq: number,
): StreamMessage[] | null {
  if (since >= releasedSeq) return [];
  if (since + 1 < oldestSeq) return null;
  const fromMemory = tail.after(since, limit, releasedSeq);
  if (fromMemory !== null) return fromMemory;
  // Older than the memory tail: read the one delta-journal segment holding
  // since+1 (segments are small) and answer everything after since in it,
  // so a long replay reads each segment once.
  const out: StreamMessage[] = [];
  readJournal(dir, since, (seq, payload) => {
    if (seq <= releasedSeq) out.push(packr.unpack(payload) as StreamMessage);
  }, { readOnly: true, stopAfterLsn: since + 1 });
  return out;
}

export class DeltaFeed {
  private journal: Journal | null = null;
  private nextSeq = 1;
  private diskLastSeq = 0; // newest seq already in the delta journal
  private diskFirstSeq = 1; // oldest seq still in the delta journal (kept, not listed per call: readAfter is hot)
  private readonly tail: SharedTail;
  // Staged messages (numbered, waiting for their command's durability), in
  // seq order: their msgpack bytes back to back in `staged`, and per message
  // its command's lsn, the end of its bytes, and its object when one was
  // built (null: built from the bytes if a listener needs it). Entries before
  // `stagedHead` (and bytes before `stagedHeadByte`) are released.
  private readonly staged = new MsgpackWriter();
  private readonly stagedLsns: number[] = [];
  private readonly stagedEnds: number[] = [];
  private readonly stagedMessages: (StreamMessage | null)[] = [];
  private stagedHead = 0;
  private stagedHeadByte = 0;
  private readonly listeners = new Set<FeedListener>();
  private readonly wakers = new Set<() => void>();
  private flushTimer: NodeJS.Timeout | null = null;
  private releasedSeq = 0;

  constructor(private readonly options: FeedOptions) {
    this.tail = new SharedTail(options.memoryTail);
  }

  /** The delta journal's directory (HTTP workers read it for old replays). */
  get directory(): string {
    return this.options.dir;
  }

  /** Newest seq numbered so far (released or still waiting for durability). */
  get stagedSeq(): number {
    return this.nextSeq - 1;
  }

  /** Newest seq handed to subscribers. */
  get lastSeq(): number {
    return this.releasedSeq;
  }

  /** Oldest seq a replay can still serve. */
  get oldestSeq(): number {
    return Math.max(1, this.releasedSeq - this.options.retention + 1, this.diskFirstSeq);
  }

  /**
   * Opens the delta journal for appending after a ledger snapshot that
   * produced every seq up to `snapshotSeq`. Call before replaying the command
   * journal, which then numbers every later message: those already on disk
   * are only counted (skip), the rest are appended; finishReplay() then loads
   * the newest retained messages into memory.
   */
  async open(snapshotSeq: number): Promise<void> {
    const dir = this.options.dir;
    const segments = segmentFirsts(dir);
    // Only the last segment need be read to find (and repair) the end.
    const lastFirst = segments.length > 0 ? segments[segments.length - 1] : 1;
    const read = readJournal(dir, lastFirst - 1, () => undefined);
    let diskLast = segments.length > 0 ? read.lastLsn : 0;
    if (diskLast < snapshotSeq) { // never after a clean stop or a crash: a snapshot first flushes the stream's messages
      // The retained messages end before the snapshot (deltas/ lost, or
      // restored from an older copy than the snapshot): the seqs between can
      // never be rebuilt, since their commands are inside the snapshot. The
      // delta journal's lsn must stay the seq, so it restarts right after the
      // snapshot, and a replay from before it gets a reset.
      for (const first of segments) rmSync(join(dir, segmentFileName(first)));
      this.options.log?.(
        segments.length > 0
          ? `stream: the retained messages end at seq ${diskLast}, before the snapshot's ${snapshotSeq}; a replay from before seq ${snapshotSeq + 1} gets a reset`
          : `stream: no retained messages on disk (deltas/ lost?) while the snapshot stands at seq ${snapshotSeq}; a replay from before seq ${snapshotSeq + 1} gets a reset`,
      );
      segments.length = 0;
      diskLast = snapshotSeq;
    }
    this.diskLastSeq = diskLast;
    this.diskFirstSeq = segments.length > 0 ? segments[0] : diskLast + 1;
    this.nextSeq = snapshotSeq + 1;
    this.releasedSeq = snapshotSeq;
    // No fsync per flush: these messages are rebuilt from the command journal
    // after a crash; they are synced only before a snapshot (flushDisk(true)).
    this.journal = await Journal.open({ dir, segmentBytesMax: DELTA_SEGMENT_BYTES, sync: false }, this.diskLastSeq + 1);
    this.flushTimer = setInterval(() => void this.flushDisk().catch(() => undefined), DISK_FLUSH_MS);
    this.flushTimer.unref();
  }

  /** True when the next `count` seqs are already on disk (replay need only count them). */
  onDisk(count: number): boolean {
    return this.nextSeq + count - 1 <= this.diskLastSeq;
  }

  /** Replay: numbers `count` messages that are already on disk. */
  skip(count: number): void {
    this.nextSeq += count;
    this.releasedSeq = this.nextSeq - 1;
  }

  /** After replay: loads the newest retained messages that replay only counted into memory. */
  finishReplay(): void {
    const upTo = Math.min(this.diskLastSeq, this.releasedSeq);
    const inMemory = this.tail.size;
    const from = Math.max(firstOnDisk(this.options.dir), upTo - this.options.memoryTail);
    if (upTo <= from || inMemory > 0) return; // nothing was only counted, or memory already holds the newest
    readJournal(this.options.dir, from, (seq, payload) => {
      if (seq <= upTo) this.tail.pushEncoded(seq, payload);
    }, { readOnly: true });
    this.tail.setOldestSeq(this.oldestSeq);
  }

  /** Numbers messages of a command journaled at `lsn`; they leave once `lsn` is durable. */
  stage(messages: readonly UnnumberedMessage[], lsn: number): void {
    for (const m of messages) {
      const message = m as StreamMessage;
      message.seq = this.nextSeq++;
      writeStreamMessage(this.staged, message);
      this.stagedEntry(lsn, message);
    }
  }

  /**
   * Numbers and stages the messages of the last command's change log (see
   * ledger-changes.ts), the command journaled at `lsn`: each written as bytes
   * straight from the ledger, with no message object unless a listener on
   * this thread will want one. Call before the ledger applies another
   * command. Returns how many.
   */
  stageChanges(ledger: WasmLedger, lsn: number, ts: string): number {
    const sink = this.changeSink;
    sink.ledger = ledger;
    sink.lsn = lsn;
    sink.ts = ts;
    sink.objects = this.listeners.size > 0;
    return walkChangesOfLastCommand(ledger, sink);
  }

  // One sink for every stageChanges (no closures per command).
  private readonly changeSink = new (class implements ChangeSink {
    ledger: WasmLedger = null as unknown as WasmLedger;
    lsn = 0;
    ts = "";
    objects = false;
    constructor(private readonly feed: DeltaFeed) {}
    delta(p: number, figures: PositionFigures, l: number): void {
      const seq = this.feed.nextSeq++;
      writeLedgerDelta(this.feed.staged, this.ledger, p, figures, l, this.ts, seq);
      let message: StreamMessage | null = null;
      if (this.objects) {
        message = deltaMessage(this.ledger, p, figures, l, this.ts) as StreamMessage;
        message.seq = seq; // last, as stage() numbers: clients may read seq from a message's end
      }
      this.feed.stagedEntry(this.lsn, message);
    }
    channel(c: number, sku: number): void {
      const message = channelMessage(this.ledger, c, sku, this.ts) as StreamMessage;
      message.seq = this.feed.nextSeq++;
      writeStreamMessage(this.feed.staged, message);
      this.feed.stagedEntry(this.lsn, message);
    }
  })(this);

  private stagedEntry(lsn: number, message: StreamMessage | null): void {
    this.stagedLsns.push(lsn);
    this.stagedEnds.push(this.staged.length);
    this.stagedMessages.push(message);
  }

  /** Numbers and releases at once (replay: the command is already durable). */
  replayed(messages: readonly UnnumberedMessage[]): void {
    this.stage(messages, 0);
    this.release(0);
  }

  /** Hands every staged message whose command is durable (lsn <= durableLsn) to subscribers. */
  release(durableLsn: number): void {
    const lsns = this.stagedLsns;
    const head = this.stagedHead;
    let end = head;
    while (end < lsns.length && lsns[end] <= durableLsn) end++;
    if (end === head) return;
    const bytes = this.staged.buffer;
    const ends = this.stagedEnds;
    const batch: StreamMessage[] | null = this.listeners.size > 0 ? new Array(end - head) : null;
    let seq = this.releasedSeq;
    let from = this.stagedHeadByte;
    for (let i = head; i < end; i++) {
      seq++;
      const to = ends[i];
      if (seq > this.diskLastSeq) {
        this.journal!.appendRange(bytes, from, to);
        this.diskLastSeq = seq;
      }
      this.tail.pushRange(seq, bytes, from, to);
      if (batch !== null) batch[i - head] = this.stagedMessages[i] ?? (packr.unpack(bytes.subarray(from, to)) as StreamMessage);
      from = to;
    }
    this.stagedHead = end;
    this.stagedHeadByte = from;
    this.dropReleased();
    this.releasedSeq = seq;
    this.tail.setOldestSeq(this.oldestSeq);
    this.tail.wake(); // HTTP workers' streams follow the shared tail
    if (batch !== null) for (const listener of this.listeners) listener(batch);
    for (const wake of this.wakers) wake();
  }

  // Under steady writes something is always staged when a batch is released,
  // so the staging area never empties by itself: drop the released head now
  // and then, or it (and every released message object) grows forever.
  private dropReleased(): void {
    const head = this.stagedHead;
    if (head === this.stagedLsns.length) {
      this.staged.reset().shrinkTo(STAGED_BYTES_KEPT); // a burst (one location change over a million positions) is not kept
      this.stagedLsns.length = 0;
      this.stagedEnds.length = 0;
      this.stagedMessages.length = 0;
    } else if (head > 4096 && head * 2 > this.stagedLsns.length) {
      const droppedBytes = this.stagedHeadByte;
      this.staged.dropFront(droppedBytes);
      this.stagedLsns.splice(0, head);
      this.stagedEnds.splice(0, head);
      this.stagedMessages.splice(0, head);
      for (let i = 0; i < this.stagedEnds.length; i++) this.stagedEnds[i] -= droppedBytes;
    } else {
      return;
    }
    this.stagedHead = 0;
    this.stagedHeadByte = 0;
  }

  /** The newest released messages, encoded in shared memory (HTTP workers read them there). */
  get sharedTail(): SharedTail {
    return this.tail;
  }

  /** Calls `listener` with every batch of released messages, in seq order. */
  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Calls `wake` after every release, without the messages: for a reader
   * that fetches them itself (readAfter), and so does not make the feed
   * build a message object per delta as a subscribe() listener does.
   */
  onRelease(wake: () => void): () => void {
    this.wakers.add(wake);
    return () => this.wakers.delete(wake);
  }

  /**
   * Released messages with seq > since, oldest first: at most `limit` from
   * memory; from disk, the rest of one segment (callers loop until caught up).
   * Null when since is older than retention (the caller sends a reset).
   */
  readAfter(since: number, limit: number): StreamMessage[] | null {
    return readReleasedAfter(this.tail, this.options.dir, since, limit, this.releasedSeq, this.oldestSeq);
  }

  /** Writes released messages to disk (periodically); with `sync`, also fdatasyncs them (before a snapshot). */
  async flushDisk(sync = false): Promise<void> {
    const journal = this.journal;
    if (!journal) return;
    if (sync) await journal.sync();
    else await journal.durable(journal.lastLsn);
    const pruneThrough = this.releasedSeq - this.options.retention;
    if (pruneThrough > 0 && pruneThrough >= this.diskFirstSeq) {
      await journal.pruneThrough(pruneThrough);
      this.diskFirstSeq = firstOnDisk(this.options.dir) + 1;
    }
  }

  async close(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.journal) {
      await this.flushDisk(true).catch(() => undefined);
      await this.journal.close();
    }
    this.listeners.clear();
    this.wakers.clear();
  }
}
