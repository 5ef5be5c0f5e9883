// The subscribe request of the WebSocket stream (SPEC section 5): its
// validation and the filter it sets up.
//
// Which messages a subscription gets (our reading of "`skus` and `locations`
// filter deltas (and `skus` channel messages); `channels` selects channel
// messages"):
//   - a delta passes when its sku is in `skus` (if given) and its location is
//     in `locations` (if given);
//   - a channel message passes when its channel is in `channels` and its sku in
//     `skus` (if given). `channels` is an opt-in: without it a subscription
//     that names `skus` or `locations` gets no channel messages;
//   - a subscription with no filter at all gets every message (so it sees
//     consecutive seqs);
//   - an empty array matches nothing: `{channels: ["web"], locations: []}` gets
//     the web channel's figures and no deltas.
// Unknown ids are accepted (a SKU or channel may appear later).

import { channelProblem, locationProblem, skuProblem } from "../server/ids.js";
import type { StreamMessage } from "./messages.js";

/** Ids one filter array may hold. */
export const SUBSCRIBE_IDS_MAX = 10_000;

export interface Filter {
  skus: ReadonlySet<string> | null; // null: every SKU
  locations: ReadonlySet<string> | null; // null: every location
  channels: ReadonlySet<string> | null; // null: none, unless the whole filter is open
  open: boolean; // no filter at all: every message
}

export interface SubscribeRequest {
  filter: Filter;
  since: number | null; // null: live only
}

const FIELDS = new Set(["op", "skus", "locations", "channels", "since"]);

/** Thrown (and answered as `{type: "error", error: "invalid_request"}`) for a bad client message. */
export class StreamRequestError extends Error {
  override readonly name = "StreamRequestError";
}

function idSet(value: unknown, field: string, problemOf: (id: string) => string | null): ReadonlySet<string> | null {
  if (value === undefined) return null;
  if (!Array.isArray(value)) throw new StreamRequestError(`${field}: must be an array of ids`);
  if (value.length > SUBSCRIBE_IDS_MAX) throw new StreamRequestError(`${field}: at most ${SUBSCRIBE_IDS_MAX} ids`);
  const set = new Set<string>();
  for (let i = 0; i < value.length; i++) {
    const id: unknown = value[i];
    if (typeof id !== "string") throw new StreamRequestError(`${field}[${i}]: must be a string`);
    const problem = problemOf(id);
    if (problem !== null) throw new StreamRequestError(`${field}[${i}]: ${problem}`);
    set.add(id);
  }
  return set;
}

/** Validates a decoded client message; throws StreamRequestError naming the field at fault. */
export function parseSubscribe(value: unknown): SubscribeRequest {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new StreamRequestError('expected an object {"op": "subscribe", ...}');
  }
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!FIELDS.has(key)) throw new StreamRequestError(`unknown field ${JSON.stringify(key)}`);
  }
  if (fields.op !== "subscribe") throw new StreamRequestError('op: must be "subscribe"');
  const skus = idSet(fields.skus, "skus", skuProblem);
  const locations = idSet(fields.locations, "locations", locationProblem);
  const channels = idSet(fields.channels, "channels", channelProblem);
  let since: number | null = null;
  if (fields.since !== undefined) {
    if (typeof fields.since !== "number" || !Number.isSafeInteger(fields.since) || fields.since < 0) {
      throw new StreamRequestError("since: must be a non-negative integer");
    }
    since = fields.since;
  }
  const open = skus === null && locations === null && channels === null;
  return { filter: { skus, locations, channels, open }, since };
}

/** Whether `message` passes `filter` (see the rules above). */
export function matches(filter: Filter, message: StreamMessage): boolean {
  if (filter.open) return true;
  if (message.type === "delta") {
    return (filter.skus === null || filter.skus.has(message.sku)) && (filter.locations === null || filter.locations.has(message.location));
  }
  return filter.channels !== null && filter.channels.has(message.channel) && (filter.skus === null || filter.skus.has(message.sku));
}
