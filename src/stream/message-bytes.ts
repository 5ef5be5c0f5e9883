// A stream message as msgpack, written field by field: the form in which the
// feed keeps every released message (the delta journal on disk and the shared
// in-memory tail). Same bytes as msgpackr's pack() of the message object, with
// the message's fields in the order the engine builds them (seq last), at a
// fraction of the cost (see src/msgpack-writer.ts).

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

const writer = new MsgpackWriter();

/**
 * The msgpack bytes of a stream message: a view of one shared buffer, valid
 * until the next call (callers copy it: the journal's append and the tail's
 * push both do).
 */
export function streamMessageBytes(m: StreamMessage): Buffer {
  const w = writer.reset();
  if (m.type === "delta") {
    w.map(12).raw(K_TYPE).raw(V_DELTA)
      .raw(K_SKU).str(m.sku)
      .raw(K_LOCATION).str(m.location)
      .raw(K_AVAILABLE).num(m.available)
      .raw(K_ON_HAND).num(m.onHand)
      .raw(K_RESERVED).num(m.reserved)
      .raw(K_COMMITTED).num(m.committed)
      .raw(K_SAFETY_STOCK).num(m.safetyStock)
      .raw(K_SHORTFALL).num(m.shortfall)
      .raw(K_VERSION).num(m.version)
      .raw(K_TS).str(m.ts)
      .raw(K_SEQ).num(m.seq);
  } else {
    w.map(6).raw(K_TYPE).raw(V_CHANNEL)
      .raw(K_CHANNEL).str(m.channel)
      .raw(K_SKU).str(m.sku)
      .raw(K_AVAILABLE).num(m.available)
      .raw(K_TS).str(m.ts)
      .raw(K_SEQ).num(m.seq);
  }
  return w.bytes();
}
