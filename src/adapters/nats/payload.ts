// Stream messages as NATS payloads: msgpack plain maps (msgpackr without
// records, so any msgpack decoder reads them), or JSON with
// OMNISTOCK_NATS_FORMAT=json. Same fields as the WebSocket stream.

import { Packr } from "msgpackr";
import type { StreamMessage } from "../../stream/messages.js";

export type NatsFormat = "msgpack" | "json";

const packr = new Packr({ useRecords: false, moreTypes: false });
const utf8 = new TextEncoder();

/** The encoder for `format`. */
export function payloadEncoder(format: NatsFormat): (message: StreamMessage) => Uint8Array {
  return format === "json" ? (m) => utf8.encode(JSON.stringify(m)) : (m) => packr.pack(m);
}
