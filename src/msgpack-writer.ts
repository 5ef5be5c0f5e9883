// A msgpack writer for the few fixed shapes written on every write request:
// the journal record of a hold or a reservation move, and every stream
// message. msgpackr's generic pack() walks each object's keys and encodes
// each key string again (1.3 µs for a delta message here, the largest single
// cost of releasing it); here a shape's keys are encoded once, at load, and a
// message costs its values only.
//
// The bytes are exactly msgpackr's for the same value (useRecords: false):
// maps as map16, arrays, strings and numbers with its choice of format, so a
// reader cannot tell the two apart and records written either way decode the
// same (test/msgpack-writer.test.ts compares them byte for byte).

import { copyBytes } from "./copy-bytes.js";

const INITIAL_BYTES = 1024;

/** A key (or any constant string) encoded once: its msgpack bytes. */
export function encodedKey(key: string): Uint8Array {
  const bytes = Buffer.from(key, "utf8");
  if (bytes.length >= 0x20) throw new RangeError(`msgpack key "${key}": fixstr keys only`);
  const out = new Uint8Array(bytes.length + 1);
  out[0] = 0xa0 | bytes.length;
  out.set(bytes, 1);
  return out;
}

/** Writes one value at a time into a reused buffer; take the result with `bytes()` before the next `reset()`. */
export class MsgpackWriter {
  private buf = Buffer.allocUnsafe(INITIAL_BYTES);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private at = 0;

  reset(): this {
    this.at = 0;
    return this;
  }

  /** The bytes written since reset(): a view of the writer's buffer, valid until the next reset(). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  /** After reset(): gives back a buffer grown past `bytes` (keeps a burst's buffer from living forever). */
  shrinkTo(bytes: number): this {
    if (this.at === 0 && this.buf.length > bytes) {
      this.buf = Buffer.allocUnsafe(INITIAL_BYTES);
      this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    }
    return this;
  }

  /** Bytes written so far (the offset the next value starts at). */
  get length(): number {
    return this.at;
  }

  /** The buffer written into: bytes [0, length) are the writer's. A write may replace it by a larger one. */
  get buffer(): Buffer {
    return this.buf;
  }

  /** Forgets the first n bytes written, moving the rest to the front. */
  dropFront(n: number): void {
    this.buf.copyWithin(0, n, this.at);
    this.at -= n;
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  /** A map of `size` entries; like msgpackr, always map16. */
  map(size: number): this {
    this.room(3);
    const b = this.buf;
    b[this.at] = 0xde;
    b[this.at + 1] = size >> 8;
    b[this.at + 2] = size & 0xff;
    this.at += 3;
    return this;
  }

  array(length: number): this {
    this.room(5);
    const b = this.buf;
    if (length < 0x10) {
      b[this.at++] = 0x90 | length;
    } else if (length < 0x10000) {
      b[this.at] = 0xdc;
      b[this.at + 1] = length >> 8;
      b[this.at + 2] = length & 0xff;
      this.at += 3;
    } else {
      b[this.at] = 0xdd;
      this.view.setUint32(this.at + 1, length);
      this.at += 5;
    }
    return this;
  }

  /** Pre-encoded bytes (a key from encodedKey()). */
  raw(bytes: Uint8Array): this {
    const n = bytes.length;
    this.room(n);
    const b = this.buf;
    let at = this.at;
    // A loop, not set(): keys are a few bytes, and set() is a call costing ~15 ns each.
    for (let i = 0; i < n; i++) b[at++] = bytes[i];
    this.at = at;
    return this;
  }

  nil(): this {
    this.room(1);
    this.buf[this.at++] = 0xc0;
    return this;
  }

  /** A number, in the format msgpackr picks: the smallest integer format for an int32/uint32, else float64. */
  num(value: number): this {
    this.room(9);
    const b = this.buf;
    let at = this.at;
    if (value >>> 0 === value) {
      if (value < 0x80) {
        b[at++] = value;
      } else if (value < 0x100) {
        b[at++] = 0xcc;
        b[at++] = value;
      } else if (value < 0x10000) {
        b[at++] = 0xcd;
        b[at++] = value >> 8;
        b[at++] = value & 0xff;
      } else {
        b[at++] = 0xce;
        this.view.setUint32(at, value);
        at += 4;
      }
    } else if (value >> 0 === value) {
      if (value >= -0x20) {
        b[at++] = 0x100 + value;
      } else if (value >= -0x80) {
        b[at++] = 0xd0;
        b[at++] = value + 0x100;
      } else if (value >= -0x8000) {
        b[at++] = 0xd1;
        this.view.setInt16(at, value);
        at += 2;
      } else {
        b[at++] = 0xd2;
        this.view.setInt32(at, value);
        at += 4;
      }
    } else {
      b[at++] = 0xcb;
      this.view.setFloat64(at, value);
      at += 8;
    }
    this.at = at;
    return this;
  }

  /** Writes the header of a string of `bytes` UTF-8 bytes at `at` (room checked by the caller); returns where its bytes go. */
  private strHeader(at: number, bytes: number): number {
    const b = this.buf;
    if (bytes < 0x20) {
      b[at] = 0xa0 | bytes;
      return at + 1;
    }
    if (bytes < 0x100) {
      b[at] = 0xd9;
      b[at + 1] = bytes;
      return at + 2;
    }
    if (bytes < 0x10000) {
      b[at] = 0xda;
      b[at + 1] = bytes >> 8;
      b[at + 2] = bytes & 0xff;
      return at + 3;
    }
    b[at] = 0xdb;
    this.view.setUint32(at + 1, bytes);
    return at + 5;
  }

  /** A string already encoded as UTF-8 in src[start, start + length) (e.g. an id in the ledger's memory). */
  strUtf8(src: Uint8Array, start: number, length: number): this {
    this.room(5 + length);
    const b = this.buf;
    const at = this.strHeader(this.at, length);
    copyBytes(b, at, src, start, start + length);
    this.at = at + length;
    return this;
  }

  /** A string as UTF-8 (ids are checked well-formed before they get here). */
  str(value: string): this {
    const length = value.length;
    const header = length < 0x20 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
    this.room(5 + length * 3); // a header of up to 5 bytes, and up to 3 bytes a UTF-16 unit
    const b = this.buf;
    const start = this.at + header;
    let end = start;
    if (length < 0x40) {
      // msgpackr's own loop for short strings (a native call costs more than it saves here)
      for (let i = 0; i < length; i++) {
        let c = value.charCodeAt(i);
        if (c < 0x80) {
          b[end++] = c;
        } else if (c < 0x800) {
          b[end++] = (c >> 6) | 0xc0;
          b[end++] = (c & 0x3f) | 0x80;
        } else if ((c & 0xfc00) === 0xd800 && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
          c = 0x10000 + ((c & 0x03ff) << 10) + (value.charCodeAt(++i) & 0x03ff);
          b[end++] = (c >> 18) | 0xf0;
          b[end++] = ((c >> 12) & 0x3f) | 0x80;
          b[end++] = ((c >> 6) & 0x3f) | 0x80;
          b[end++] = (c & 0x3f) | 0x80;
        } else {
          b[end++] = (c >> 12) | 0xe0;
          b[end++] = ((c >> 6) & 0x3f) | 0x80;
          b[end++] = (c & 0x3f) | 0x80;
        }
      }
    } else {
      end += b.write(value, start, "utf8");
    }
    const bytes = end - start;
    // The header's size was guessed from the UTF-16 length; the byte length decides the format.
    const needed = bytes < 0x20 ? 1 : bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5;
    if (needed !== header) b.copyWithin(this.at + needed, start, end);
    const at = this.strHeader(this.at, bytes);
    this.at = at + bytes;
    return this;
  }
}
