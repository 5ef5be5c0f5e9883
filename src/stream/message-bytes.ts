// A stream message as msgpack, written field by field: the form in which the
// feed keeps every released message (the delta journal on disk and the shared
// in-memory tail). Same bytes as msgpackr's pack() of the message object, with
// the message's fields in the order the engine builds them (seq last), at a
// fraction of the cost (see src/msgpack-writer.ts). A delta can also be
// written straight from the ledger, with no message object at all: what the
// live engine does for every change while nobody listens on its thread.

import type { PositionFigures } from "../ledger/types.js";
import type { WasmLedger } from "../ledger/wasm-ledger.js";
import { MsgpackWriter, encodedKey } from "../msgpack-writer.js";
import type { StreamMessage } from "./messages.js";

const K_TYPE = encodedKey("type");
const K_SEQ = encodedKey("seq");
const K_SKU = encodedKey("sku");
const K_LOCATION = encodedKey("location");
const K_CHANNEL = encodedKey("channel");
const K_AVAILABLE = encodedKey("available");
const K_ON_HAND = encodedKey("onHand");
const K_RESERVED = encodedKey("reserved");
const K_COMMITTED = encodedKey("committed");
const K_SAFETY_STOCK = encodedKey("safetyStock");
const K_SHORTFALL = encodedKey("shortfall");
const K_VERSION = encodedKey("version");
const K_TS = encodedKey("ts");
const V_DELTA = encodedKey("delta");
const V_CHANNEL = encodedKey("channel");

// The constant start of every delta and channel message: map header, type, and the next key.
const DELTA_HEAD = Buffer.concat([Uint8Array.of(0xde, 0, 12), K_TYPE, V_DELTA, K_SKU]);
const CHANNEL_HEAD = Buffer.concat([Uint8Array.of(0xde, 0, 6), K_TYPE, V_CHANNEL, K_CHANNEL]);

const writer = new MsgpackWriter();

/**
 * The msgpack bytes of a stream message: a view of one shared buffer, valid
 * until the next call (callers copy it: the journal's append and the tail's
 * push both do).
 */
export function streamMessageBytes(m: StreamMessage): Buffer {
  return writeStreamMessage(writer.reset(), m).bytes();
}

/** Appends a stream message to w. */
export function writeStreamMessage(w: MsgpackWriter, m: StreamMessage): MsgpackWriter {
  if (m.type === "delta") {
    w.raw(DELTA_HEAD).str(m.sku).raw(K_LOCATION).str(m.location);
    return writeDeltaTail(w, m, m.ts, m.seq);
  }
  return w.raw(CHANNEL_HEAD).str(m.channel)
    .raw(K_SKU).str(m.sku)
    .raw(K_AVAILABLE).num(m.available)
    .raw(K_TS).str(m.ts)
    .raw(K_SEQ).num(m.seq);
}

/**
 * Appends the delta message of a position to w, straight from the ledger:
 * its SKU and location ids copied as the UTF-8 bytes the ledger holds (no
 * strings), `figures` its figures now. The same bytes as writeStreamMessage
 * of the message object.
 */
export function writeLedgerDelta(
  w: MsgpackWriter, ledger: WasmLedger, p: number, figures: PositionFigures, l: number, ts: string, seq: number,
): MsgpackWriter {
  const memory = ledger.memoryBytes;
  const s = ledger.skuIndexOf(p);
  w.raw(DELTA_HEAD).strUtf8(memory, ledger.idOffsetOf("sku", s), ledger.idLengthOf("sku", s))
    .raw(K_LOCATION).strUtf8(memory, ledger.idOffsetOf("location", l), ledger.idLengthOf("location", l));
  return writeDeltaTail(w, figures, ts, seq);
}

function writeDeltaTail(w: MsgpackWriter, f: PositionFigures, ts: string, seq: number): MsgpackWriter {
  return w.raw(K_AVAILABLE).num(f.available)
    .raw(K_ON_HAND).num(f.onHand)
    .raw(K_RESERVED).num(f.reserved)
    .raw(K_COMMITTED).num(f.committed)
    .raw(K_SAFETY_STOCK).num(f.safetyStock)
    .raw(K_SHORTFALL).num(f.shortfall)
    .raw(K_VERSION).num(f.version)
    .raw(K_TS).str(ts)
    .raw(K_SEQ).num(seq);
}
