// The write-ahead journal: every state change of the engine is one record
// appended here, and a change is acknowledged only once its record is on disk
// (written through O_DSYNC, the same guarantee as write + fdatasync).
// Concurrent requests share one durable write (group commit), so throughput
// is bounded by disk bandwidth, not by sync latency.
// On start the engine replays the journal after the newest snapshot with
// readJournal(), then opens it for appending with Journal.open().
//
// The journal is a directory of segment files, each named by the lsn of its
// first record (journal-<20-digit zero-padded lsn>.log), so sorting names sorts
// segments and old segments can be deleted whole once a snapshot covers them.
// A segment is a plain sequence of records; nothing else is in the file:
//
//    0               4               8                              16
//    +---------------+---------------+-------------------------------+----------------------+
//    | payloadLength |     crc32     |              lsn              | payload              |
//    |   u32 LE      |    u32 LE     |             u64 LE            | payloadLength bytes  |
//    +---------------+---------------+-------------------------------+----------------------+
//                                    |<------------ crc32 covers lsn + payload ------------>|
//
// lsns are gap-free (+1 per record) within and across segments. A crash can
// leave only the tail of the newest segment torn; readJournal() cuts it off.
// Any damage elsewhere is lost data and is reported as an error, never skipped.
//
// Zero-fill ahead: a synchronous journal's segment is filled with zeros up to
// a MiB ahead of its writes, so a group commit overwrites blocks that are
// already allocated and inside the file: an O_DSYNC write then has only the
// data to put on disk, not also the inode's new size and block map (measured
// here: 0.12 against 0.20 ms a write, 48 against 69 µs of CPU). So a segment
// may end in zeros that no record has reached yet; readJournal() reads an
// all-zero remainder as the end of the segment, not as damage. close() cuts
// the segment back to its records.
//
// Failure model: a failed write or fdatasync is fatal for durability (after a
// failed fsync the kernel may have dropped the dirty pages, so retrying could
// report success for data that is gone). Every waiting durable() promise is
// rejected with the error, every later append() throws JournalFailedError, and
// the engine is expected to exit and recover from disk.

import * as fs from "node:fs";
import { open as openFile, type FileHandle } from "node:fs/promises";
import * as path from "node:path";

import { copyBytes } from "../copy-bytes.js";
import { journalFsyncLatency, journalGroupSize } from "../metrics.js";
import { crc32Of } from "./crc32.js";

/** Largest payload of one record (a bound on memory and on what a corrupt length field may claim). */
export const JOURNAL_RECORD_BYTES_MAX = 64 * 1024 * 1024;
/** Bytes of the record header: payloadLength, crc32, lsn. */
export const JOURNAL_RECORD_HEADER_BYTES = 16;
/** Default segment size after which the journal rotates to a new segment file. */
export const JOURNAL_SEGMENT_BYTES_MAX_DEFAULT = 256 * 1024 * 1024;

const PENDING_BYTES_INITIAL = 64 * 1024;
/**
 * One zero-fill. Small enough that a commit queued behind it at the disk
 * waits little (here an O_DSYNC write of 1 MiB takes 0.85 ms, of 4 MiB 14 ms).
 */
const ZERO_FILL_CHUNK_BYTES = 1024 * 1024;
/**
 * A fill starts when the writes come within this of the filled end: at
 * 50,000 holds/s (about 7 MB/s of records) a fill has 150 ms or more to
 * finish before a commit would have to wait for it, on a disk busy with
 * other work too.
 */
const ZERO_FILL_LEAD_BYTES = 2 * ZERO_FILL_CHUNK_BYTES;
/**
 * A fill starts this far past the writes when they have reached the filled
 * end (a new segment, or a burst), so the next flush need not wait for it:
 * the bytes between are written as plain appends.
 */
const ZERO_FILL_GAP_BYTES = 256 * 1024;
let zeroes: Buffer | null = null; // one shared all-zero source for every fill
/** Group commits on their way to disk at once (see Journal). */
const FLUSHES_IN_FLIGHT_MAX = 2;
const SEGMENT_NAME = /^journal-(\d{20})\.log$/;
const LSN_DIGITS = 20;

export interface JournalOptions {
  /** Directory holding the segment files; created if missing. */
  dir: string;
  /** Rotate to a new segment file once the current one exceeds this many bytes (default 256 MiB). */
  segmentBytesMax?: number;
  /**
   * false: a flush only writes (to the page cache) and durable() means
   * "written", not "on disk"; call sync() for an fdatasync. For a journal that
   * can be rebuilt from another (the stream's delta journal). Default true.
   */
  sync?: boolean;
}

/** A segment other than the newest is damaged or lsns are missing: acknowledged data is lost. */
export class JournalCorruptError extends Error {
  override readonly name = "JournalCorruptError";
}

/** A write or fdatasync failed earlier (see `cause`); the journal accepts nothing more. */
export class JournalFailedError extends Error {
  override readonly name = "JournalFailedError";
}

/** The journal was closed; appending or rotating is a programmer error. */
export class JournalClosedError extends Error {
  override readonly name = "JournalClosedError";
}

/** File name of the segment whose first record has `firstLsn`. */
export function segmentFileName(firstLsn: number): string {
  return `journal-${String(firstLsn).padStart(LSN_DIGITS, "0")}.log`;
}

interface Segment {
  firstLsn: number;
  file: string; // absolute path
}

/** Segments of `dir` sorted by first lsn; an absent directory has none. */
function listSegments(dir: string): Segment[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const segments: Segment[] = [];
  for (const name of names) {
    const match = SEGMENT_NAME.exec(name);
    if (match) segments.push({ firstLsn: Number(match[1]), file: path.join(dir, name) });
  }
  return segments.sort((a, b) => a.firstLsn - b.firstLsn);
}

/** Makes creations, renames and deletions in `dir` durable (they live in the directory, not the file). */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await openFile(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function readLsn(buf: Buffer, offset: number): number {
  // Two u32 reads instead of readBigUInt64LE: no BigInt per record. lsns stay below 2^53.
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * 0x1_0000_0000;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers get `promise` and see the rejection; this only keeps an internal
  // flush with no waiter left from crashing the process as unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** One group commit on its way to disk: the records after the previous flush's, up to `throughLsn`. */
interface Flush {
  throughLsn: number;
  records: number;
  buffer: Buffer;
  bytes: number;
  done: Deferred;
  written: boolean;
  stopTimer: (() => void) | null;
}

/**
 * Append-only, group-committed journal. One instance owns the directory; it
 * always appends to a segment it created itself (see open()).
 *
 * Up to FLUSHES_IN_FLIGHT_MAX group commits are on their way to disk at once,
 * each a positional write at its own offset. A commit's latency on a busy
 * machine is mostly waiting for a thread to be scheduled, not the disk; with
 * one commit at a time every record also waits for the whole commit before
 * its own, with two it waits for its own. Writes may land out of order, so a
 * record is durable only once every earlier one is (the in-flight list
 * completes in lsn order), and a crash can leave a hole before a later write:
 * readJournal() cuts the last segment at its first bad record, and nothing
 * after that was acknowledged.
 */
export class Journal {
  private readonly dir: string;
  private readonly segmentBytesMax: number;
  private readonly syncEachFlush: boolean;
  private handle: FileHandle;
  private segmentFirstLsn: number;
  // Bytes of the current segment handed to writes (in flight or done): the next write's offset.
  private segmentBytes: number;

  private nextLsn: number;
  private durableThroughLsn: number;

  // Records appended since the last flush started, laid out exactly as on disk.
  private pending: Buffer = Buffer.allocUnsafe(PENDING_BYTES_INITIAL);
  private pendingBytes = 0;
  // Buffers of finished flushes, reused so steady load allocates none.
  private readonly spareBuffers: Buffer[] = [];

  // Waiters for the records not yet in a flush; the flush that takes them settles it.
  private queuedFlush: Deferred | null = null;
  private flushScheduled = false;
  // Zero-fill ahead (synchronous journals only): the current segment is
  // zero-filled up to zeroedBytes; `fill` is the fill on its way to disk. A
  // flush never writes into a fill's range while it is in flight.
  private zeroedBytes: number;
  private fill: { start: number; done: Promise<void> } | null = null;
  // Flushes on their way to disk, in lsn order.
  private readonly inFlight: Flush[] = [];
  // Set while an exclusive operation (rotation, segment switch, sync, close) owns the file: no flush starts.
  private exclusiveRunning = false;
  private switchQueued = false;
  // Woken when the last flush in flight completes (an exclusive operation waits for it).
  private drained: Deferred | null = null;
  // Serializes the exclusive operations.
  private io: Promise<unknown> = Promise.resolve();
  // Serializes prunes (which run beside flushes, see pruneThrough).
  private pruning: Promise<unknown> = Promise.resolve();

  private failure: Error | null = null;
  private closed = false;
  private fsyncs = 0;

  private constructor(dir: string, segmentBytesMax: number, handle: FileHandle, firstLsn: number, syncEachFlush: boolean) {
    this.dir = dir;
    this.segmentBytesMax = segmentBytesMax;
    this.syncEachFlush = syncEachFlush;
    this.handle = handle;
    this.segmentFirstLsn = firstLsn;
    this.segmentBytes = 0;
    this.zeroedBytes = 0;
    this.nextLsn = firstLsn;
    this.durableThroughLsn = firstLsn - 1;
  }

  /**
   * Opens the journal directory for appending. Call after readJournal() replay;
   * `nextLsn` = last replayed lsn + 1. Always starts a new segment file named by
   * its first lsn (an empty segment file of that name, left by a crash, is reused).
   */
  static async open(options: JournalOptions, nextLsn: number): Promise<Journal> {
    if (!Number.isSafeInteger(nextLsn) || nextLsn < 1) throw new RangeError(`nextLsn must be a positive integer: ${nextLsn}`);
    const segmentBytesMax = options.segmentBytesMax ?? JOURNAL_SEGMENT_BYTES_MAX_DEFAULT;
    if (!(segmentBytesMax > 0)) throw new RangeError(`segmentBytesMax must be positive: ${segmentBytesMax}`);
    await fs.promises.mkdir(options.dir, { recursive: true });
    const sync = options.sync ?? true;
    const handle = await Journal.createSegment(options.dir, nextLsn, sync);
    return new Journal(options.dir, segmentBytesMax, handle, nextLsn, sync);
  }

  /**
   * Creates (or reuses an empty) segment starting at `firstLsn` and makes its
   * existence durable. A synchronous journal's segment is opened with O_DSYNC:
   * each write returns once its data (and the file size) is on disk, so a
   * group commit is one write on libuv's thread pool instead of a write and
   * then an fdatasync, two round trips between the threads. No O_APPEND:
   * writes go to explicit offsets (Linux ignores the offset under O_APPEND).
   */
  private static async createSegment(dir: string, firstLsn: number, sync: boolean): Promise<FileHandle> {
    const file = path.join(dir, segmentFileName(firstLsn));
    const { O_WRONLY, O_CREAT, O_DSYNC } = fs.constants;
    const handle = await openFile(file, O_WRONLY | O_CREAT | (sync ? O_DSYNC : 0), 0o666);
    try {
      const { size } = await handle.stat();
      // A non-empty file here means nextLsn disagrees with what is on disk:
      // appending would duplicate lsns.
      if (size !== 0) throw new JournalCorruptError(`segment ${file} already holds ${size} bytes; nextLsn ${firstLsn} is wrong`);
      await fsyncDir(dir);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return handle;
  }

  /** Last lsn handed out by append() (durable or not). */
  get lastLsn(): number {
    return this.nextLsn - 1;
  }

  /** Every record with lsn <= durableLsn is written and on disk. */
  get durableLsn(): number {
    return this.durableThroughLsn;
  }

  /** Number of group commits (durable writes) performed; for tests and diagnostics. */
  get fsyncCount(): number {
    return this.fsyncs;
  }

  /**
   * Appends one record to the in-memory pending batch and returns its lsn
   * (gap-free, +1 each). The payload is copied. No syscall: durability comes
   * from durable(). Throws RangeError above JOURNAL_RECORD_BYTES_MAX, and
   * JournalFailedError / JournalClosedError once the journal failed or closed.
   */
  append(payload: Uint8Array): number {
    return this.appendRange(payload, 0, payload.byteLength);
  }

  /** append() of the payload src[start, end), with no view of it for a short one (copy-bytes.ts). */
  appendRange(src: Uint8Array, start: number, end: number): number {
    if (this.failure) throw new JournalFailedError("journal failed; no further appends", { cause: this.failure });
    if (this.closed) throw new JournalClosedError("journal is closed");
    const length = end - start;
    if (length > JOURNAL_RECORD_BYTES_MAX) {
      throw new RangeError(`journal record of ${length} bytes exceeds ${JOURNAL_RECORD_BYTES_MAX}`);
    }
    const recordBytes = JOURNAL_RECORD_HEADER_BYTES + length;
    this.reservePending(recordBytes);
    const buf = this.pending;
    const offset = this.pendingBytes;
    const lsn = this.nextLsn;
    buf.writeUInt32LE(length, offset);
    buf.writeUInt32LE(lsn % 0x1_0000_0000, offset + 8);
    buf.writeUInt32LE(Math.floor(lsn / 0x1_0000_0000), offset + 12);
    const at = offset + JOURNAL_RECORD_HEADER_BYTES;
    copyBytes(buf, at, src, start, end);
    buf.writeUInt32LE(crc32Of(buf, offset + 8, offset + recordBytes), offset + 4);
    this.pendingBytes = offset + recordBytes;
    this.nextLsn = lsn + 1;
    return lsn;
  }

  /** Grows the pending buffer geometrically so appends amortize to one copy each. */
  private reservePending(bytes: number): void {
    const needed = this.pendingBytes + bytes;
    if (needed <= this.pending.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.pending.length * 2));
    this.pending.copy(grown, 0, 0, this.pendingBytes);
    this.pending = grown;
  }

  /**
   * Resolves once every record with lsn <= `lsn` is on disk. Records appended
   * in one event-loop turn share a flush, started at the end of the turn (or
   * when a flush in flight completes, if FLUSHES_IN_FLIGHT_MAX are). Rejects
   * with the write error if durability failed.
   */
  durable(lsn: number): Promise<void> {
    if (lsn > this.lastLsn) return Promise.reject(new RangeError(`durable(${lsn}) beyond lastLsn ${this.lastLsn}`));
    if (lsn <= this.durableThroughLsn) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    for (const flush of this.inFlight) if (lsn <= flush.throughLsn) return flush.done.promise;
    this.queuedFlush ??= deferred();
    this.scheduleFlush();
    return this.queuedFlush.promise;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.startFlush();
    });
  }

  /**
   * Hands everything pending to a write, if one may start now; otherwise a
   * completion or the end of an exclusive operation calls again. `forExclusive`:
   * the exclusive operation's own flush, which the others wait behind.
   */
  private startFlush(forExclusive = false): void {
    if (this.queuedFlush === null || this.failure) return;
    if (this.exclusiveRunning && !forExclusive) return;
    if (this.inFlight.length >= FLUSHES_IN_FLIGHT_MAX) return;
    // Never into a range a fill is writing: the fill's completion calls again.
    if (this.fill !== null && this.segmentBytes + this.pendingBytes > this.fill.start) return;
    const done = this.queuedFlush;
    this.queuedFlush = null;
    if (this.pendingBytes === 0) {
      done.resolve();
      return;
    }
    const throughLsn = this.lastLsn;
    const previousLsn = this.inFlight.length > 0 ? this.inFlight[this.inFlight.length - 1].throughLsn : this.durableThroughLsn;
    const flush: Flush = {
      throughLsn,
      records: throughLsn - previousLsn,
      buffer: this.pending,
      bytes: this.pendingBytes,
      done,
      written: false,
      stopTimer: this.syncEachFlush ? journalFsyncLatency.startTimer() : null,
    };
    this.pending = this.spareBuffers.pop() ?? Buffer.allocUnsafe(PENDING_BYTES_INITIAL);
    this.pendingBytes = 0;
    const position = this.segmentBytes;
    this.segmentBytes += flush.bytes;
    this.inFlight.push(flush);
    this.writeAt(this.handle.fd, flush, 0, position);
    this.fillAhead();
  }

  /**
   * Starts zero-filling the next chunk of the segment when the writes have
   * come within ZERO_FILL_LEAD_BYTES of the filled end. A fill starts past every byte
   * handed to a write, and no flush writes into it until it is done, so a
   * record is never overwritten by zeros.
   */
  private fillAhead(): void {
    if (!this.syncEachFlush || this.fill !== null || this.exclusiveRunning || this.failure || this.closed) return;
    if (this.segmentBytes + ZERO_FILL_LEAD_BYTES <= this.zeroedBytes) return;
    const start = this.segmentBytes <= this.zeroedBytes ? this.zeroedBytes : this.segmentBytes + ZERO_FILL_GAP_BYTES;
    const end = Math.min(start + ZERO_FILL_CHUNK_BYTES, this.segmentBytesMax);
    if (end <= start) return;
    let finished!: () => void;
    const fill = { start, done: new Promise<void>((resolve) => (finished = resolve)) };
    this.fill = fill;
    const fd = this.handle.fd;
    const writeFrom = (at: number): void => {
      try {
        fs.write(fd, zeroSource(), 0, end - at, at, (error, written) => {
          if (error) {
            this.fill = null;
            finished();
            this.fail(error);
            return;
          }
          if (at + written < end) return writeFrom(at + written);
          this.zeroedBytes = end;
          this.fill = null;
          finished();
          this.startFlush(); // one may have waited for the fill
          this.fillAhead();
        });
      } catch (error) {
        this.fill = null;
        finished();
        this.fail(error as Error);
      }
    };
    writeFrom(start);
  }

  /** Writes flush.buffer[offset..bytes) at `position`, continuing after a partial write. */
  private writeAt(fd: number, flush: Flush, offset: number, position: number): void {
    try {
      fs.write(fd, flush.buffer, offset, flush.bytes - offset, position, (error, written) => {
        if (error) return this.fail(error);
        if (offset + written < flush.bytes) return this.writeAt(fd, flush, offset + written, position + written);
        this.flushWritten(flush);
      });
    } catch (error) {
      this.fail(error as Error); // a closed handle (fd -1) throws instead of calling back
    }
  }

  /** Marks a flush written and settles every flush at the head of the list that now is. */
  private flushWritten(flush: Flush): void {
    if (this.failure) return; // already rejected
    flush.written = true;
    while (this.inFlight.length > 0 && this.inFlight[0].written) {
      const head = this.inFlight.shift()!;
      if (head.stopTimer) {
        head.stopTimer();
        journalGroupSize.observe(head.records);
        this.fsyncs++;
      }
      this.durableThroughLsn = head.throughLsn;
      if (this.spareBuffers.length < FLUSHES_IN_FLIGHT_MAX) this.spareBuffers.push(head.buffer);
      head.done.resolve();
    }
    if (this.inFlight.length === 0 && this.drained) {
      this.drained.resolve();
      this.drained = null;
    }
    if (this.segmentBytes >= this.segmentBytesMax && !this.switchQueued) {
      this.switchQueued = true;
      // Waits for the flushes in flight and holds new ones back meanwhile.
      this.exclusive(async () => {
        this.switchQueued = false;
        // A close() queued before this switch has closed the journal: no new segment then.
        if (!this.closed && this.segmentBytes >= this.segmentBytesMax) await this.switchSegment();
      }).catch((error: unknown) => {
        // The records are durable; only the next segment could not be created.
        this.fail(error as Error);
      });
    }
    this.startFlush();
  }

  /**
   * Writes every record appended so far and waits until no flush is in
   * flight. Runs inside exclusive(), which holds other flushes back, so it ends.
   */
  private async writeThrough(): Promise<void> {
    const lsn = this.lastLsn;
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.inFlight.length > 0) {
        this.drained ??= deferred();
        await this.drained.promise;
      } else if (this.durableThroughLsn >= lsn) {
        return;
      } else {
        this.queuedFlush ??= deferred();
        const written = this.queuedFlush.promise;
        this.startFlush(true);
        await written;
      }
    }
  }

  /**
   * Makes the current segment durable and starts a new one at lastLsn+1.
   * Returns the new segment's first lsn; if the current segment is still empty
   * it is kept and its first lsn returned.
   */
  rotate(): Promise<number> {
    if (this.closed) return Promise.reject(new JournalClosedError("journal is closed"));
    return this.exclusive(async () => {
      if (this.segmentBytes > 0) await this.switchSegment();
      return this.segmentFirstLsn;
    });
  }

  /**
   * Deletes whole segments whose records all have lsn <= `lsn` (typically the
   * lsn of a durable snapshot). The active segment is never deleted.
   *
   * Not exclusive: group commits go on while old segments are unlinked
   * (freeing a 64 MiB file's blocks takes milliseconds, a latency spike for
   * every write waiting behind it). It touches only segments before the
   * active one, which no write changes; a switch running meanwhile makes the
   * old active segment eligible only once it is complete (a switch writes
   * everything before it opens the next segment). Prunes run one at a time.
   */
  pruneThrough(lsn: number): Promise<void> {
    const run = this.pruning.then(async () => {
      const segments = listSegments(this.dir);
      for (let i = 0; i + 1 < segments.length; i++) {
        const segment = segments[i];
        // A segment ends right before the next one starts.
        const lastLsnInSegment = segments[i + 1].firstLsn - 1;
        if (segment.firstLsn >= this.segmentFirstLsn || lastLsnInSegment > lsn) break;
        await fs.promises.unlink(segment.file);
      }
      // No directory fsync: a deletion undone by a crash leaves an old,
      // intact segment that readJournal() skips.
    });
    this.pruning = run.catch(() => undefined);
    return run;
  }

  /** Writes everything appended and fdatasyncs the segment (for journals opened with sync: false). */
  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new JournalClosedError("journal is closed"));
    return this.exclusive(() => this.handle.datasync());
  }

  /**
   * Makes everything appended durable, then closes the segment. Later appends
   * throw. A journal that already failed is closed all the same (its waiters
   * were rejected when it failed).
   */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return this.exclusive(async () => {
      // A cleanly closed segment ends at its last record (a crash leaves the
      // zero-fill, which readJournal() also reads as the end).
      if (this.syncEachFlush && !this.failure) await this.cutZeroFill();
      await this.handle.close();
    }, true);
  }

  /**
   * Runs `task` after every earlier exclusive operation settled and every
   * record appended before it started is written, holding new flushes back
   * until it ends. `evenAfterFailure`: run `task` on a failed journal too
   * (close), instead of rejecting with the failure.
   */
  private exclusive<T>(task: () => Promise<T>, evenAfterFailure = false): Promise<T> {
    const run = this.io.then(async () => {
      this.exclusiveRunning = true;
      try {
        try {
          if (this.fill !== null) await this.fill.done; // it writes through the handle the task may close
          await this.writeThrough();
        } catch (error) {
          if (!evenAfterFailure) throw error;
        }
        return await task();
      } finally {
        this.exclusiveRunning = false;
        if (this.queuedFlush !== null) this.scheduleFlush();
      }
    });
    this.io = run.catch(() => undefined);
    return run;
  }

  /** Closes the current segment (everything in it written) and starts one at lastLsn+1 of the written records. */
  private async switchSegment(): Promise<void> {
    const firstLsn = this.durableThroughLsn + 1;
    const next = await Journal.createSegment(this.dir, firstLsn, this.syncEachFlush);
    const previous = this.handle;
    this.handle = next;
    this.segmentFirstLsn = firstLsn;
    // The finished segment keeps its zero-fill past its records (readJournal
    // reads it as the segment's end): cutting it here would hold every
    // commit back for a truncate and a sync.
    this.segmentBytes = 0;
    this.zeroedBytes = 0;
    // Without a sync per flush, a finished segment is synced once here, so
    // only the newest segment can ever be torn (readJournal repairs only that one).
    if (!this.syncEachFlush) await previous.datasync();
    await previous.close();
  }

  /** Cuts the current segment's file to its records and makes the new size durable. */
  private async cutZeroFill(): Promise<void> {
    if (this.zeroedBytes <= this.segmentBytes) return; // nothing filled past the records
    await this.handle.truncate(this.segmentBytes);
    await this.handle.datasync();
    this.zeroedBytes = this.segmentBytes;
  }

  /** Records the fatal error and rejects every waiter: the flushes in flight and the queued one. */
  private fail(error: Error): void {
    this.failure ??= error;
    for (const flush of this.inFlight.splice(0)) flush.done.reject(error);
    const queued = this.queuedFlush;
    this.queuedFlush = null;
    queued?.reject(error);
    this.drained?.resolve(); // writeThrough() sees the failure
    this.drained = null;
  }
}

/** Result of readJournal(). */
export interface JournalReadResult {
  /** Last intact lsn in the journal, or `afterLsn` if that is larger (nothing to replay). */
  lastLsn: number;
  /** Records delivered to onRecord (those with lsn > afterLsn). */
  records: number;
  /** Bytes cut off the tail of the last segment (a torn or corrupt write). */
  tornBytes: number;
}

/**
 * Reads every intact record with lsn > afterLsn in order, across all segments
 * of `dir`. `payload` is a view into the segment's file buffer, valid only
 * during the callback: copy it to keep it. A torn or corrupt tail (short
 * record, bad checksum, lsn out of sequence) in the LAST segment ends the read
 * there, and that segment is truncated to its last good record so a later
 * append never follows garbage. Corruption in any other segment, or lsns
 * missing between afterLsn and the journal, throws JournalCorruptError.
 * With `readOnly` (a reader of a journal that is being written) nothing is
 * truncated and the read simply stops at the first incomplete record. With
 * `stopAfterLsn`, segments starting after that lsn are not read.
 */
export function readJournal(
  dir: string,
  afterLsn: number,
  onRecord: (lsn: number, payload: Uint8Array) => void,
  options: { readOnly?: boolean; stopAfterLsn?: number } = {},
): JournalReadResult {
  const segments = listSegments(dir);
  let records = 0;
  let tornBytes = 0;
  let expectedLsn = -1; // lsn the next record must have; -1 until the first segment read
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    const isLast = i === segments.length - 1;
    // Whole segments covered by afterLsn (e.g. by a snapshot) are not read.
    if (!isLast && segments[i + 1].firstLsn <= afterLsn + 1) continue;
    // Nor those past what the caller asked for.
    if (options.stopAfterLsn !== undefined && segment.firstLsn > options.stopAfterLsn) break;
    if (expectedLsn === -1) {
      if (segment.firstLsn > afterLsn + 1) {
        throw new JournalCorruptError(`journal starts at lsn ${segment.firstLsn}; lsns ${afterLsn + 1}.. are missing`);
      }
    } else if (segment.firstLsn !== expectedLsn) {
      throw new JournalCorruptError(`segment ${segment.file} starts at lsn ${segment.firstLsn}, expected ${expectedLsn}`);
    }
    const buf = fs.readFileSync(segment.file);
    const scan = scanSegment(buf, segment.firstLsn, afterLsn, onRecord);
    records += scan.records;
    expectedLsn = scan.nextLsn;
    if (scan.goodBytes < buf.length && allZero(buf, scan.goodBytes)) {
      // Zero-fill no record reached (a crash, or a reader of a live journal):
      // the end of the segment, not damage. The newest segment is cut to its
      // records, so that it reads the same once a newer one follows it.
      if (isLast && !options.readOnly) truncateDurably(segment.file, scan.goodBytes);
    } else if (scan.goodBytes < buf.length) {
      const damage = `${scan.problem} at byte ${scan.goodBytes} of ${segment.file}`;
      // A read-only reader of a live journal sees a write in progress as a torn tail: leave it.
      if (options.readOnly) break;
      if (!isLast) throw new JournalCorruptError(`${damage} (not the last segment: data lost)`);
      tornBytes = buf.length - scan.goodBytes;
      truncateDurably(segment.file, scan.goodBytes);
    }
  }
  const lastLsn = expectedLsn === -1 ? afterLsn : Math.max(afterLsn, expectedLsn - 1);
  return { lastLsn, records, tornBytes };
}

interface SegmentScan {
  goodBytes: number; // length of the intact prefix
  nextLsn: number; // lsn after the last intact record
  records: number; // records delivered
  problem: string; // why the scan stopped early, if it did
}

/** Parses one segment buffer; allocation-free apart from the views handed out. */
function scanSegment(
  buf: Buffer,
  firstLsn: number,
  afterLsn: number,
  onRecord: (lsn: number, payload: Uint8Array) => void,
): SegmentScan {
  const size = buf.length;
  let offset = 0;
  let expectedLsn = firstLsn;
  let records = 0;
  let problem = "";
  while (offset < size) {
    if (size - offset < JOURNAL_RECORD_HEADER_BYTES) {
      problem = "short record header";
      break;
    }
    const length = buf.readUInt32LE(offset);
    const end = offset + JOURNAL_RECORD_HEADER_BYTES + length;
    if (length > JOURNAL_RECORD_BYTES_MAX || end > size) {
      problem = `short record (payload length ${length})`;
      break;
    }
    const lsn = readLsn(buf, offset + 8);
    if (lsn !== expectedLsn) {
      problem = `lsn ${lsn} out of sequence (expected ${expectedLsn})`;
      break;
    }
    if (crc32Of(buf, offset + 8, end) !== buf.readUInt32LE(offset + 4)) {
      problem = `bad checksum of lsn ${lsn}`;
      break;
    }
    if (lsn > afterLsn) {
      onRecord(lsn, buf.subarray(offset + JOURNAL_RECORD_HEADER_BYTES, end));
      records++;
    }
    expectedLsn = lsn + 1;
    offset = end;
  }
  return { goodBytes: offset, nextLsn: expectedLsn, records, problem };
}

/** The all-zero source buffer of zero-fills, made on first use. */
function zeroSource(): Buffer {
  return (zeroes ??= Buffer.alloc(ZERO_FILL_CHUNK_BYTES));
}

/** True when buf[from..] holds only zero bytes. */
function allZero(buf: Buffer, from: number): boolean {
  // 4 bytes at a time where aligned: a zero-filled tail can be a few MiB.
  let i = from;
  for (; i < buf.length && (buf.byteOffset + i) % 4 !== 0; i++) if (buf[i] !== 0) return false;
  const words = new Uint32Array(buf.buffer, buf.byteOffset + i, Math.floor((buf.length - i) / 4));
  for (let w = 0; w < words.length; w++) if (words[w] !== 0) return false;
  for (i += words.length * 4; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

function truncateDurably(file: string, bytes: number): void {
  const fd = fs.openSync(file, "r+");
  try {
    fs.ftruncateSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
