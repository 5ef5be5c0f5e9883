// Journal records: every state-changing command as the writer applied it,
// with the writer's clock stamped in, so replaying the journal into a fresh
// ledger reproduces the same state byte for byte. Records are msgpack arrays
// [op, ...arguments]; `applyCommand` is the one function both the live writer
// and recovery use to run them.

import { Packr } from "msgpackr";
import type { AdjustItem, ChannelPatch, HoldLine, LocationPatch, StockItem } from "../ledger/types.js";
import type { WasmLedger } from "../ledger/wasm-ledger.js";

export const enum Op {
  SetStock = 1,
  AdjustStock = 2,
  Hold = 3,
  Commit = 4,
  Release = 5,
  Fulfill = 6,
  Expire = 7,
  PutLocation = 8,
  PutChannel = 9,
}

export type Command =
  | [Op.SetStock, StockItem[]]
  | [Op.AdjustStock, AdjustItem[]]
  | [Op.Hold, string, string | null, HoldLine[], number, number] // id, channel, lines, ttlMs, nowMs
  | [Op.Commit | Op.Release | Op.Fulfill, string, number] // id, nowMs
  | [Op.Expire, number, number] // nowMs, limit
  | [Op.PutLocation, string, LocationPatch]
  | [Op.PutChannel, string, ChannelPatch];

// Records must decode on their own, years later: no shared msgpack structures.
const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeCommand(command: Command): Uint8Array {
  return packr.pack(command);
}

export function decodeCommand(payload: Uint8Array): Command {
  return packr.unpack(payload) as Command;
}

/** Applies a replayed command; returns whether it changed state (every journaled command did). */
export function applyCommand(ledger: WasmLedger, command: Command): boolean {
  switch (command[0]) {
    case Op.SetStock: {
      const outcome = ledger.setStock(command[1]);
      return outcome.status === 0 && (outcome as { changed: boolean }).changed;
    }
    case Op.AdjustStock: {
      const outcome = ledger.adjustStock(command[1]);
      return outcome.status === 0 && (outcome as { changed: boolean }).changed;
    }
    case Op.Hold:
      ledger.hold(command[1], command[2], command[3], command[4], command[5]);
      return ledger.lastChanged();
    case Op.Commit:
      ledger.commit(command[1], command[2]);
      return ledger.lastChanged();
    case Op.Release:
      ledger.release(command[1], command[2]);
      return ledger.lastChanged();
    case Op.Fulfill:
      ledger.fulfill(command[1], command[2]);
      return ledger.lastChanged();
    case Op.Expire:
      return ledger.expire(command[1], command[2]) > 0;
    case Op.PutLocation:
      return ledger.putLocation(command[1], command[2]).changed;
    case Op.PutChannel:
      return ledger.putChannel(command[1], command[2]).changed;
  }
}
