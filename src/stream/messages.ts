// The stream's message shapes (SPEC section 5). Every message carries one
// global, gap-free seq shared by deltas and channel figures.

export interface DeltaMessage {
  type: "delta";
  seq: number;
  sku: string;
  location: string;
  available: number;
  onHand: number;
  reserved: number;
  committed: number;
  safetyStock: number;
  shortfall: number;
  version: number;
  ts: string; // RFC 3339 UTC with milliseconds: the writer's clock when the change was applied
}

export interface ChannelMessage {
  type: "channel";
  seq: number;
  channel: string;
  sku: string;
  available: number;
  ts: string;
}

export type StreamMessage = DeltaMessage | ChannelMessage;

/** A message before the feed numbers it. */
export type UnnumberedMessage = Omit<DeltaMessage, "seq"> | Omit<ChannelMessage, "seq">;
