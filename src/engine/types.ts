// The engine as the HTTP layer sees it: every call answers an HTTP status and a
// body shaped exactly as SPEC section 4 says (errors as {error, message, ...}).
// Reads answer synchronously from the ledger; writes resolve only once the
// change is durable in the journal (fsync), so the server can acknowledge.

import type { ChannelPatch, HoldLine, LocationPatch, StockItem, AdjustItem } from "../ledger/types.js";

export interface EngineReply {
  status: number; // HTTP status
  body: unknown; // JSON-serialisable (or msgpack) body
  /** Writes `body` as JSON text faster than JSON.stringify for its known shape (same JSON value). */
  json?: (body: unknown) => string;
}

export interface HoldRequest {
  id: string;
  channel?: string | null; // absent or null: no channel
  ttlSeconds?: number; // default 900
  lines: HoldLine[];
}

export type ReservationMove = "commit" | "release" | "fulfill";

export interface QueryRequest {
  skus: string[];
  location?: string;
  channel?: string;
}

export interface Engine {
  /** True once recovery (snapshot + journal replay) has finished. */
  isReady(): boolean;

  availabilityAt(sku: string, location: string): EngineReply;
  availabilityAll(sku: string): EngineReply;
  availabilityForChannel(sku: string, channel: string): EngineReply;
  query(request: QueryRequest): EngineReply;
  // Answered from the writer's state: synchronously on the writer's thread, by
  // a round trip to it from an HTTP worker (these read more than one position).
  getReservation(id: string): EngineReply | Promise<EngineReply>;
  listLocations(): EngineReply | Promise<EngineReply>;
  listChannels(): EngineReply | Promise<EngineReply>;

  setStock(items: StockItem[]): Promise<EngineReply>;
  adjustStock(items: AdjustItem[]): Promise<EngineReply>;
  hold(request: HoldRequest): Promise<EngineReply>;
  move(id: string, move: ReservationMove): Promise<EngineReply>;
  putLocation(id: string, patch: LocationPatch): Promise<EngineReply>;
  putChannel(id: string, patch: ChannelPatch): Promise<EngineReply>;
}
