// Availability reads, shaped as SPEC section 4 answers them. They touch only
// position figures (each read whole under its seqlock), so they run on the
// writer's own ledger and, unchanged, on an HTTP worker's reader instance
// over the same shared memory.

import type { PositionFigures, PositionState } from "../ledger/types.js";
import type { WasmLedger } from "../ledger/wasm-ledger.js";
import { positionAtJson, positionsAtJson } from "./reply-json.js";
import type { EngineReply, QueryRequest } from "./types.js";

export class LedgerReads {
  private readonly figures: PositionFigures = { available: 0, onHand: 0, reserved: 0, committed: 0, safetyStock: 0, shortfall: 0, version: 0 };

  /** `ledger` is called per read: the writer's ledger only exists once recovery has built it. */
  constructor(private readonly ledger: () => WasmLedger) {}

  availabilityAt(sku: string, location: string): EngineReply {
    return { status: 200, body: this.positionAtBody(sku, location), json: positionAtJson };
  }

  private positionAtBody(sku: string, location: string): unknown {
    const f = this.figures;
    this.ledger().readPosition(sku, location, f);
    return {
      sku, location, available: f.available, onHand: f.onHand, reserved: f.reserved, committed: f.committed,
      safetyStock: f.safetyStock, shortfall: f.shortfall, version: f.version,
    };
  }

  availabilityAll(sku: string): EngineReply {
    return { status: 200, body: this.allLocationsBody(sku) };
  }

  private allLocationsBody(sku: string): unknown {
    const read = this.ledger().readSku(sku);
    return { sku, available: read.available, locations: read.locations.map(locationEntry) };
  }

  availabilityForChannel(sku: string, channel: string): EngineReply {
    const read = this.ledger().readSkuForChannel(sku, channel);
    if (read === null) return channelNotFound(channel);
    return { status: 200, body: { sku, channel, available: read.available, locations: read.locations } };
  }

  query(request: QueryRequest): EngineReply {
    const items: unknown[] = new Array(request.skus.length);
    if (request.channel !== undefined) {
      // An unknown channel is a 404 even for a query of no SKUs.
      if (this.ledger().channelIndexOf(request.channel) < 0) return channelNotFound(request.channel);
      for (let i = 0; i < request.skus.length; i++) {
        const reply = this.availabilityForChannel(request.skus[i], request.channel);
        if (reply.status !== 200) return reply;
        items[i] = reply.body;
      }
    } else if (request.location !== undefined) {
      for (let i = 0; i < request.skus.length; i++) items[i] = this.positionAtBody(request.skus[i], request.location);
      return { status: 200, body: { items }, json: positionsAtJson };
    } else {
      for (let i = 0; i < request.skus.length; i++) items[i] = this.allLocationsBody(request.skus[i]);
    }
    return { status: 200, body: { items } };
  }
}

export function channelNotFound(channel: string): EngineReply {
  return { status: 404, body: { error: "not_found", message: `channel "${channel}" not found` } };
}

// SPEC: disabled locations appear with available 0 and enabled: false.
function locationEntry(p: PositionState): unknown {
  const entry: Record<string, unknown> = {
    location: p.location, available: p.available, onHand: p.onHand, reserved: p.reserved, committed: p.committed,
    safetyStock: p.safetyStock, shortfall: p.shortfall, version: p.version,
  };
  if (!p.enabled) entry.enabled = false;
  return entry;
}
