// The newest released stream messages, msgpack-encoded in one
// SharedArrayBuffer: the writer appends, and every thread (the writer's own
// stream, each HTTP worker's) reads them without copies between threads and
// without one JS object per retained message. About 200 bytes a message
// instead of the ~700 an object costs, and one copy for the whole process
// however many threads serve the stream.
//
// Layout: a header (published seqs and byte positions, for Atomics), a slot
// ring indexed by seq % slots (the message's seq, byte start and length), and
// a byte ring holding the messages back to back (a message may wrap around
// the end). The writer evicts the oldest messages simply by overwriting them.
//
// A reader copies a message out, then checks that it is still whole: the slot
// still names its seq and the writer has not reserved bytes over its start.
// The writer reserves (publishes the end of the bytes it is about to write)
// before writing, so a reader can never take half-overwritten bytes for a
// message; a message that fails the check counts as evicted and the caller
// reads it from the delta journal on disk instead.

import { Packr } from "msgpackr";
import { waitAsync } from "../threads/wait-async.js";
import type { StreamMessage } from "./messages.js";

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

// Header, as BigInt64 words (Atomics).
const H_NEWEST = 0; // newest seq pushed (published last)
const H_RESERVED = 1; // bytes ever reserved: the writer may be writing up to here
const H_OLDEST = 2; // oldest seq the feed still serves (retention), set by the writer
const H_SIGNAL_I32 = 6; // Int32 index of the wake-up counter (readers wait on it)
const H_WAITERS_I32 = 7; // Int32 index: readers waiting now (a notify is needed only then)
const HEADER_BYTES = 64;
const SLOT_BYTES = 20; // seq f64, start f64, length u32
/** Byte ring per slot: room for ids near their limits; typical messages take ~200. */
const BYTES_PER_SLOT = 512;

export const enum TailRead {
  Ok,
  Evicted, // no longer in memory (or overwritten while being read)
}

export class SharedTail {
  readonly buffer: SharedArrayBuffer;
  private readonly header: BigInt64Array;
  private readonly signal: Int32Array;
  private readonly seqs: Float64Array;
  private readonly starts: Float64Array;
  private readonly lengths: Uint32Array;
  private readonly bytes: Buffer;
  private readonly slots: number;
  private readonly byteCapacity: number;
  private reserved = 0; // writer: bytes ever reserved (mirrors H_RESERVED)
  private pushed = 0; // writer: messages pushed

  /**
   * A new tail holding up to `messages` messages, or (given a number and
   * `buffer`, or `SharedTail.attach(buffer)`) another thread's.
   */
  constructor(messages: number, buffer?: SharedArrayBuffer) {
    this.slots = Math.max(16, messages);
    this.byteCapacity = this.slots * BYTES_PER_SLOT;
    const slotBytes = this.slots * SLOT_BYTES;
    this.buffer = buffer ?? new SharedArrayBuffer(HEADER_BYTES + slotBytes + this.byteCapacity);
    if (this.buffer.byteLength !== HEADER_BYTES + slotBytes + this.byteCapacity) throw new RangeError("shared tail: buffer of another size");
    this.header = new BigInt64Array(this.buffer, 0, HEADER_BYTES / 8);
    this.signal = new Int32Array(this.buffer, 0, HEADER_BYTES / 4);
    this.seqs = new Float64Array(this.buffer, HEADER_BYTES, this.slots);
    this.starts = new Float64Array(this.buffer, HEADER_BYTES + this.slots * 8, this.slots);
    this.lengths = new Uint32Array(this.buffer, HEADER_BYTES + this.slots * 16, this.slots);
    this.bytes = Buffer.from(this.buffer, HEADER_BYTES + slotBytes, this.byteCapacity);
    this.reserved = Number(Atomics.load(this.header, H_RESERVED));
  }

  /** Another thread's tail, by its buffer (whose size gives the capacity). */
  static attach(buffer: SharedArrayBuffer): SharedTail {
    return new SharedTail((buffer.byteLength - HEADER_BYTES) / (SLOT_BYTES + BYTES_PER_SLOT), buffer);
  }

  /** Capacity in messages (the `messages` it was made with). */
  get capacity(): number {
    return this.slots;
  }

  /** Newest seq pushed (0 before any). */
  get newestSeq(): number {
    return Number(Atomics.load(this.header, H_NEWEST));
  }

  /** Oldest seq the writer's feed still serves (retention). */
  get oldestSeq(): number {
    return Number(Atomics.load(this.header, H_OLDEST));
  }

  /** Messages pushed by this (writer) instance and still held: at most the capacity. */
  get size(): number {
    return Math.min(this.pushed, this.slots);
  }

  // ── writer ───────────────────────────────────────────────────────────────
  /** Appends message `seq` (the next after the last pushed), encoded; evicts the oldest as needed. */
  pushEncoded(seq: number, encoded: Uint8Array): void {
    this.pushRange(seq, encoded, 0, encoded.length);
  }

  /** pushEncoded of the message encoded in src[start, end) of a larger buffer (the feed's staging area). */
  pushRange(seq: number, src: Uint8Array, start: number, end: number): void {
    const length = end - start;
    if (length > this.byteCapacity / 4) throw new RangeError(`stream message of ${length} bytes`);
    const reservedFrom = this.reserved;
    const slot = seq % this.slots;
    this.seqs[slot] = -1; // readers of the evicted message now fail their check
    this.reserved = reservedFrom + length;
    Atomics.store(this.header, H_RESERVED, BigInt(this.reserved)); // before the bytes change
    const offset = reservedFrom % this.byteCapacity;
    const first = Math.min(length, this.byteCapacity - offset);
    this.bytes.set(src.subarray(start, start + first), offset);
    if (first < length) this.bytes.set(src.subarray(start + first, end), 0);
    this.starts[slot] = reservedFrom;
    this.lengths[slot] = length;
    this.seqs[slot] = seq;
    this.pushed++;
    Atomics.store(this.header, H_NEWEST, BigInt(seq)); // publishes everything above
  }

  push(message: StreamMessage): void {
    this.pushEncoded(message.seq, packr.pack(message));
  }

  setOldestSeq(seq: number): void {
    Atomics.store(this.header, H_OLDEST, BigInt(seq));
  }

  /** Wakes threads waiting in waitForSignal() (see ring.ts for why no wake-up is lost). */
  wake(): void {
    Atomics.add(this.signal, H_SIGNAL_I32, 1);
    if (Atomics.load(this.signal, H_WAITERS_I32) !== 0) Atomics.notify(this.signal, H_SIGNAL_I32);
  }

  // ── any thread ───────────────────────────────────────────────────────────
  /** Resolves when the writer has pushed (and woken) since `signalSeen` (from signalValue()). */
  signalValue(): number {
    return Atomics.load(this.signal, H_SIGNAL_I32);
  }

  async waitForSignal(signalSeen: number): Promise<void> {
    Atomics.add(this.signal, H_WAITERS_I32, 1);
    try {
      const waiting = waitAsync(this.signal, H_SIGNAL_I32, signalSeen);
      if (waiting.async) await waiting.value;
    } finally {
      Atomics.sub(this.signal, H_WAITERS_I32, 1);
    }
  }

  /** Decodes message `seq` into out, or answers Evicted (read it from disk). */
  read(seq: number, out: StreamMessage[]): TailRead {
    const slot = seq % this.slots;
    if (this.seqs[slot] !== seq) return TailRead.Evicted;
    const start = this.starts[slot];
    const length = this.lengths[slot];
    const offset = start % this.byteCapacity;
    const first = Math.min(length, this.byteCapacity - offset);
    let copy: Buffer;
    if (first === length) {
      copy = Buffer.from(this.bytes.subarray(offset, offset + length)); // a copy: the writer may overwrite
    } else {
      copy = Buffer.allocUnsafe(length);
      this.bytes.copy(copy, 0, offset, offset + first);
      this.bytes.copy(copy, first, 0, length - first);
    }
    // Still whole? The writer reserves before writing, so reserved - capacity
    // is the oldest byte nothing can have overwritten.
    if (Number(Atomics.load(this.header, H_RESERVED)) - this.byteCapacity > start || this.seqs[slot] !== seq) return TailRead.Evicted;
    out.push(packr.unpack(copy) as StreamMessage);
    return TailRead.Ok;
  }

  /**
   * At most `limit` messages with seq > since, up to `upTo`, oldest first; null
   * when memory no longer holds since + 1 (the caller reads the disk).
   */
  after(since: number, limit: number, upTo: number): StreamMessage[] | null {
    const out: StreamMessage[] = [];
    const last = Math.min(upTo, since + limit);
    for (let seq = since + 1; seq <= last; seq++) {
      if (this.read(seq, out) === TailRead.Evicted) {
        if (out.length === 0) return null;
        break; // overwritten while reading: the caller comes back for the rest
      }
    }
    return out;
  }
}

