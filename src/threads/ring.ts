// A single-producer, single-consumer ring of byte messages in a
// SharedArrayBuffer: how commands travel from an HTTP worker to the writer and
// answers travel back, without JSON or structured clone. Each thread pair
// owns two rings, one per direction, so neither side ever takes a lock.
//
// Layout: a 64-byte header of Int32 counters, then `capacity` data bytes (a
// power of two). `head` counts bytes ever written, `tail` bytes ever
// consumed; both wrap at 2^32, which `capacity` divides, so `head & mask` is
// the write offset and `head - tail` the bytes in use. A record is a 4-byte
// word (payload length, plus FRAGMENT_MORE when the message continues in the
// next record) and the payload, padded to 4 bytes. A record never straddles
// the end: a WRAP word sends the reader back to offset 0.
//
// Messages larger than a fragment travel as several records, so a large stock
// write still keeps its place in the order of its worker's commands. When the
// ring is full the producer keeps the remaining fragments in order and tries
// again shortly; nothing is dropped and nothing is reordered.
//
// Wake-ups: the producer bumps `signal` once per event-loop turn that wrote messages, and calls
// Atomics.notify (which costs about a microsecond with a waitAsync waiter)
// only when the consumer has said it is waiting. The consumer reads everything
// there is, sets `waiting`, then waits (Atomics.waitAsync, which does not
// block its event loop) for `signal` to move from the value it saw before
// reading. No wake-up is lost: a bump before the wait makes the wait return at
// once, and a bump after it sees `waiting` set (all sequentially consistent).

import { waitAsync } from "./wait-async.js";

const HEAD = 0;
const TAIL = 1;
const SIGNAL = 2;
const WAITING = 3; // 1 while the consumer waits (or is about to): only then is a notify needed
const HEADER_BYTES = 64;
const WRAP = 0xffff_ffff;
const FRAGMENT_MORE = 0x8000_0000;
const LENGTH_MASK = 0x7fff_ffff;
const RETRY_MS = 1; // a full ring: the consumer is busy; try again after this long

/** Data bytes of a ring: 4 MiB holds thousands of commands in flight. */
export const RING_BYTES_DEFAULT = 4 * 1024 * 1024;

export function createRing(capacity = RING_BYTES_DEFAULT): SharedArrayBuffer {
  if (capacity < 1024 || (capacity & (capacity - 1)) !== 0) throw new RangeError(`ring capacity ${capacity}: a power of two ≥ 1024`);
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

// A copy, never a view: Buffer#slice (unlike Uint8Array#slice) shares memory.
function copyOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes, start, end);
}

function padded(length: number): number {
  return (length + 3) & ~3;
}

abstract class RingEnd {
  protected readonly ctrl: Int32Array;
  protected readonly data: Buffer;
  protected readonly view: DataView;
  protected readonly capacity: number;
  protected readonly mask: number;

  constructor(sab: SharedArrayBuffer) {
    this.capacity = sab.byteLength - HEADER_BYTES;
    this.mask = this.capacity - 1;
    this.ctrl = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.data = Buffer.from(sab, HEADER_BYTES, this.capacity);
    this.view = new DataView(sab, HEADER_BYTES, this.capacity);
  }
}

interface Fragment {
  bytes: Uint8Array;
  more: boolean;
}

/** The writing end. One thread only. */
export class RingProducer extends RingEnd {
  private head: number;
  /** Largest payload in one record: a quarter of the ring, so a record always fits once the ring drains. */
  readonly fragmentBytes: number;
  private readonly backlog: Fragment[] = [];
  private backlogStart = 0;
  private retry: NodeJS.Timeout | null = null;

  constructor(sab: SharedArrayBuffer) {
    super(sab);
    this.head = Atomics.load(this.ctrl, HEAD) >>> 0;
    this.fragmentBytes = this.capacity / 4 - 4;
  }

  /** Queues one message; it is in the ring (and the consumer woken) now, or as soon as there is room. */
  send(message: Uint8Array): void {
    if (message.length <= this.fragmentBytes && this.backlogStart === this.backlog.length) {
      if (this.tryWrite(message, false)) return this.wake();
      this.backlog.push({ bytes: copyOf(message, 0, message.length), more: false }); // the caller may reuse its buffer
      return this.scheduleRetry();
    }
    let at = 0;
    do {
      const end = Math.min(message.length, at + this.fragmentBytes);
      this.backlog.push({ bytes: copyOf(message, at, end), more: end < message.length });
      at = end;
    } while (at < message.length);
    this.flushBacklog();
  }

  /** Messages (or parts) waiting for room in the ring. */
  get backlogged(): number {
    return this.backlog.length - this.backlogStart;
  }

  close(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
  }

  private flushBacklog(): void {
    let wrote = false;
    while (this.backlogStart < this.backlog.length) {
      const fragment = this.backlog[this.backlogStart];
      if (!this.tryWrite(fragment.bytes, fragment.more)) break;
      this.backlogStart++;
      wrote = true;
    }
    if (this.backlogStart === this.backlog.length) {
      this.backlog.length = 0;
      this.backlogStart = 0;
    } else {
      this.scheduleRetry();
    }
    if (wrote) this.wake();
  }

  private scheduleRetry(): void {
    if (this.retry !== null) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.flushBacklog();
    }, RETRY_MS);
  }

  private tryWrite(payload: Uint8Array, more: boolean): boolean {
    const need = 4 + padded(payload.length);
    let head = this.head;
    const used = (head - (Atomics.load(this.ctrl, TAIL) >>> 0)) >>> 0;
    let offset = head & this.mask;
    const toEnd = this.capacity - offset;
    if (toEnd < need) {
      if (this.capacity - used < toEnd + need) return false;
      this.view.setUint32(offset, WRAP, true); // toEnd ≥ 4: records are 4-aligned
      head = (head + toEnd) >>> 0;
      offset = 0;
    } else if (this.capacity - used < need) {
      return false;
    }
    this.view.setUint32(offset, more ? payload.length | FRAGMENT_MORE : payload.length, true);
    this.data.set(payload, offset + 4);
    this.head = (head + need) >>> 0;
    Atomics.store(this.ctrl, HEAD, this.head | 0); // publishes the bytes above (seq-cst)
    return true;
  }

  // Messages sent in one turn of the event loop (the answers one group commit
  // releases, the requests of one epoll wake-up, however many sockets)
  // share one wake-up, sent at the end of the turn (setImmediate). A
  // microtask would be per request: Node drains microtasks after every uWS
  // callback, and each notify of a waiting thread costs both threads a
  // system call and an event-loop wake-up.
  private wakeQueued = false;
  private wake(): void {
    if (this.wakeQueued) return;
    this.wakeQueued = true;
    setImmediate(this.wakeNow);
  }

  private readonly wakeNow = (): void => {
    this.wakeQueued = false;
    Atomics.add(this.ctrl, SIGNAL, 1);
    if (Atomics.load(this.ctrl, WAITING) !== 0) Atomics.notify(this.ctrl, SIGNAL);
  };
}

/** The reading end. One thread only. */
export class RingConsumer extends RingEnd {
  private tail: number;
  private parts: Buffer[] = [];
  private closed = false;

  constructor(sab: SharedArrayBuffer) {
    super(sab);
    this.tail = Atomics.load(this.ctrl, TAIL) >>> 0;
  }

  /**
   * Hands every complete message in the ring to `onMessage`, oldest first. The
   * Buffer is a view into the ring, valid only during the call (decode it
   * there); a fragmented message arrives as one joined copy.
   */
  drain(onMessage: (message: Buffer) => void): number {
    let delivered = 0;
    while (true) {
      const head = Atomics.load(this.ctrl, HEAD) >>> 0;
      if (head === this.tail) return delivered;
      let offset = this.tail & this.mask;
      let word = this.view.getUint32(offset, true);
      if (word === WRAP) {
        this.tail = (this.tail + this.capacity - offset) >>> 0;
        offset = 0;
        word = this.view.getUint32(0, true);
      }
      const length = word & LENGTH_MASK;
      const payload = this.data.subarray(offset + 4, offset + 4 + length);
      const more = (word & FRAGMENT_MORE) !== 0;
      if (more || this.parts.length > 0) {
        this.parts.push(Buffer.from(payload)); // a copy: the ring space is freed below
        this.release(length);
        if (more) continue;
        const whole = Buffer.concat(this.parts);
        this.parts = [];
        onMessage(whole);
      } else {
        try {
          onMessage(payload);
        } finally {
          this.release(length); // only now may the producer reuse the bytes
        }
      }
      delivered++;
    }
  }

  private release(length: number): void {
    this.tail = (this.tail + 4 + padded(length)) >>> 0;
    Atomics.store(this.ctrl, TAIL, this.tail | 0);
  }

  /**
   * Calls `onMessage` for every message as it arrives, until close(). The
   * loop never blocks the thread: between wake-ups it waits asynchronously.
   */
  async run(onMessage: (message: Buffer) => void): Promise<void> {
    while (!this.closed) {
      const seen = Atomics.load(this.ctrl, SIGNAL);
      this.drain(onMessage);
      if (this.closed) return;
      Atomics.store(this.ctrl, WAITING, 1);
      const waiting = waitAsync(this.ctrl, SIGNAL, seen);
      if (waiting.async) await waiting.value;
      Atomics.store(this.ctrl, WAITING, 0);
    }
  }

  /** Ends run() at its next wake-up; `wake` (any thread may call it) makes that now. */
  close(): void {
    this.closed = true;
    RingConsumer.wake(this.ctrl);
  }

  static wake(ctrl: Int32Array): void {
    Atomics.add(ctrl, SIGNAL, 1);
    Atomics.notify(ctrl, SIGNAL);
  }
}
