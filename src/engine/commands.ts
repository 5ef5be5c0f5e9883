// Journal records: every state-changing command as the writer applied it,
// with the writer's clock stamped in, so replaying the journal into a fresh
// ledger reproduces the same state byte for byte and the same stream
// messages (seq and content). Records are msgpack arrays [op, nowMs, ...].
// `executeCommand` is the one function both the live writer and recovery use.

import { Packr } from "msgpackr";
import { IsoTime } from "../iso-time.js";
import { MsgpackWriter, encodedKey } from "../msgpack-writer.js";
import type { AdjustItem, ChannelPatch, HoldLine, LocationPatch, StockItem } from "../ledger/types.js";
import type { WasmLedger } from "../ledger/wasm-ledger.js";
import type { UnnumberedMessage } from "../stream/messages.js";
import { channelChangeMessages, channelFigures, countOfLastCommand } from "./deltas.js";

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
  Purge = 10,
}

export type Command =
  | [Op.SetStock, number, StockItem[]] // nowMs, items
  | [Op.AdjustStock, number, AdjustItem[]]
  | [Op.Hold, number, string, string | null, HoldLine[], number] // nowMs, id, channel, lines, ttlMs
  | [Op.Commit | Op.Release | Op.Fulfill, number, string] // nowMs, id
  | [Op.Expire, number, number] // nowMs, limit
  | [Op.Purge, number, number, number] // nowMs, retentionMs, limit
  | [Op.PutLocation, number, string, LocationPatch]
  | [Op.PutChannel, number, string, ChannelPatch];

/** The `ts` of stream messages: the command's clock. */
export const messageTime = new IsoTime();

// Records must decode on their own, years later: no shared msgpack structures.
const packr = new Packr({ useRecords: false, moreTypes: false });

// Holds and reservation moves are most of the journal: written field by
// field (src/msgpack-writer.ts) instead of through msgpackr's generic walk.
// A hold's lines are written as {sku, location, qty} whatever order the
// request gave their keys in; they decode to the same lines.
const recordWriter = new MsgpackWriter();
const K_SKU = encodedKey("sku");
const K_LOCATION = encodedKey("location");
const K_QTY = encodedKey("qty");

/** The record of a command: msgpack, readable by decodeCommand (a view valid until the next call; the journal copies it). */
export function encodeCommand(command: Command): Uint8Array {
  switch (command[0]) {
    case Op.Hold: {
      const [, nowMs, id, channel, lines, ttlMs] = command;
      const w = recordWriter.reset().array(6).num(Op.Hold).num(nowMs).str(id);
      if (channel === null) w.nil();
      else w.str(channel);
      w.array(lines.length);
      for (const line of lines) w.map(3).raw(K_SKU).str(line.sku).raw(K_LOCATION).str(line.location).raw(K_QTY).num(line.qty);
      return w.num(ttlMs).bytes();
    }
    case Op.Commit:
    case Op.Release:
    case Op.Fulfill:
      return recordWriter.reset().array(3).num(command[0]).num(command[1]).str(command[2]).bytes();
    default:
      return packr.pack(command);
  }
}

export function decodeCommand(payload: Uint8Array): Command {
  return packr.unpack(payload) as Command;
}

/** What a command did: its ledger outcome and the stream messages it produced. */
export interface Execution<T> {
  outcome: T;
  changed: boolean;
  messages: readonly UnnumberedMessage[]; // empty when only counted (a channel change's always built), or left in the change log
  messageCount: number; // 0 when left in the change log
  /** Mode "log": the messages are the ledger's change log, to be staged from it (DeltaFeed.stageChanges) before the next command. */
  inChangeLog: boolean;
}

/**
 * "count": only how many messages (recovery: their seqs may already be on
 * disk, and it builds the others itself with deltasOfLastCommand); "log": the
 * live engine's mode, none: its feed stages them straight from the ledger's
 * change log. In both, a channel change's messages, which compare before and
 * after the change, are built.
 */
export type MessageMode = "count" | "log";

/** The messages of a command that has none to hand over (one array for all). */
const NO_MESSAGES: readonly UnnumberedMessage[] = [];

/**
 * Applies a command to the ledger and derives its stream messages. The live
 * engine builds its reply from `outcome`; recovery only needs the messages.
 */
export function executeCommand(ledger: WasmLedger, command: Command, mode: MessageMode): Execution<unknown> {
  let outcome: unknown;
  let changed: boolean;
  switch (command[0]) {
    case Op.SetStock:
    case Op.AdjustStock: {
      const result = command[0] === Op.SetStock ? ledger.setStock(command[2]) : ledger.adjustStock(command[2]);
      outcome = result;
      changed = result.status === 0 && (result as { changed: boolean }).changed;
      break;
    }
    case Op.Hold:
      outcome = ledger.hold(command[2], command[3], command[4], command[5], command[1]);
      changed = ledger.lastChanged();
      break;
    case Op.Commit:
      outcome = ledger.commit(command[2], command[1]);
      changed = ledger.lastChanged();
      break;
    case Op.Release:
      outcome = ledger.release(command[2], command[1]);
      changed = ledger.lastChanged();
      break;
    case Op.Fulfill:
      outcome = ledger.fulfill(command[2], command[1]);
      changed = ledger.lastChanged();
      break;
    case Op.Expire:
      outcome = ledger.expire(command[1], command[2]);
      changed = (outcome as number) > 0;
      break;
    case Op.Purge: {
      // Forgets finished reservations: no position changes, so no message.
      const purged = ledger.purge(command[1], command[2], command[3]);
      return { outcome: purged, changed: purged > 0, messages: NO_MESSAGES, messageCount: 0, inChangeLog: false };
    }
    case Op.PutLocation: {
      const result = ledger.putLocation(command[2], command[3]);
      outcome = result;
      changed = result.changed;
      break;
    }
    case Op.PutChannel: {
      // Rare: the messages are built even when only counted.
      const before = channelFigures(ledger, ledger.channelIndexOf(command[2]));
      const result = ledger.putChannel(command[2], command[3]);
      const messages = result.changed ? channelChangeMessages(ledger, command[2], before, messageTime.format(command[1])) : NO_MESSAGES;
      return { outcome: result, changed: result.changed, messages, messageCount: messages.length, inChangeLog: false };
    }
  }
  if (!changed) return { outcome, changed, messages: NO_MESSAGES, messageCount: 0, inChangeLog: false };
  if (mode === "log") return { outcome, changed, messages: NO_MESSAGES, messageCount: 0, inChangeLog: true };
  return { outcome, changed, messages: NO_MESSAGES, messageCount: countOfLastCommand(ledger), inChangeLog: false };
}
