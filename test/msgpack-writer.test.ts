// Proves that the field-by-field msgpack writer (journal records of holds and
// moves, every stream message) writes exactly the bytes msgpackr's pack()
// writes for the same value, so records and messages written either way read
// the same, and that hold and move records decode to the command written.

import fc from "fast-check";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { decodeCommand, encodeCommand, Op, type Command } from "../src/engine/commands.js";
import { MsgpackWriter, encodedKey } from "../src/msgpack-writer.js";
import { streamMessageBytes } from "../src/stream/message-bytes.js";
import type { StreamMessage } from "../src/stream/messages.js";

const packr = new Packr({ useRecords: false, moreTypes: false });
const writer = new MsgpackWriter();
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

// Numbers at every format boundary msgpackr distinguishes, and arbitrary ones.
const edgeNumbers = [
  0, -0, 1, 0x1f, 0x20, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, -1, -0x20, -0x21, -0x80, -0x81,
  -0x8000, -0x8001, -0x80000000, -0x80000001, 1.5, -2.25, 1e300, Number.MAX_SAFE_INTEGER, 1_700_000_000_123, 900_000,
];
const anyNumber = fc.oneof(
  fc.constantFrom(...edgeNumbers),
  fc.integer({ min: -0x80000000, max: 0xffffffff }),
  fc.double({ noNaN: true }),
  fc.maxSafeInteger(),
);
// Strings whose UTF-16 and UTF-8 lengths straddle the header-size boundaries (0x20, 0x40, 0x100, 0x10000).
const anyString = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 80 }),
  fc.string({ unit: "binary", maxLength: 300 }).filter((s) => s.isWellFormed()),
  fc.integer({ min: 0, max: 70_000 }).map((n) => "x".repeat(n)),
  fc.tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom("é", "€", "😀", "Ж")).map(([n, c]) => c.repeat(n)),
);

describe("MsgpackWriter writes msgpackr's bytes", () => {
  it("for numbers of every format", () => {
    fc.assert(fc.property(anyNumber, (n) => {
      expect(hex(writer.reset().num(n).bytes())).toBe(hex(packr.pack(n)));
    }), { numRuns: 2000 });
  });

  it("for strings of every length class, ASCII or not", () => {
    fc.assert(fc.property(anyString, (s) => {
      expect(hex(writer.reset().str(s).bytes())).toBe(hex(packr.pack(s)));
    }), { numRuns: 500 });
  });

  it("for arrays, maps and null", () => {
    fc.assert(fc.property(fc.array(fc.oneof(anyNumber, anyString, fc.constant(null)), { maxLength: 40 }), (values) => {
      const w = writer.reset().array(values.length);
      for (const v of values) {
        if (v === null) w.nil();
        else if (typeof v === "number") w.num(v);
        else w.str(v);
      }
      expect(hex(w.bytes())).toBe(hex(packr.pack(values)));
      const object = { a: values.length, bb: "x" };
      expect(hex(writer.reset().map(2).raw(encodedKey("a")).num(values.length).raw(encodedKey("bb")).str("x").bytes()))
        .toBe(hex(packr.pack(object)));
    }), { numRuns: 300 });
  });

  it("grows its buffer past the initial size without losing bytes", () => {
    const long = "Ж".repeat(5000);
    expect(hex(writer.reset().array(2).str(long).str(long).bytes())).toBe(hex(packr.pack([long, long])));
  });
});

describe("stream messages", () => {
  const delta = fc.record({
    type: fc.constant("delta" as const), sku: anyString, location: anyString, available: anyNumber, onHand: anyNumber,
    reserved: anyNumber, committed: anyNumber, safetyStock: anyNumber, shortfall: anyNumber, version: anyNumber,
    ts: fc.constant("2026-12-07T10:00:00.123Z"), seq: fc.maxSafeInteger(),
  });
  const channel = fc.record({
    type: fc.constant("channel" as const), channel: anyString, sku: anyString, available: anyNumber,
    ts: fc.constant("2026-12-07T10:00:00.123Z"), seq: fc.maxSafeInteger(),
  });

  it("are msgpackr's bytes of the message object (fields in the engine's order, seq last)", () => {
    fc.assert(fc.property(fc.oneof(delta, channel), (m) => {
      expect(hex(streamMessageBytes(m as StreamMessage))).toBe(hex(packr.pack(m)));
    }), { numRuns: 1000 });
  });
});

describe("journal records of holds and moves", () => {
  const line = fc.record({ sku: anyString, location: anyString, qty: fc.integer({ min: 1, max: 1_000_000_000 }) });
  const hold = fc.tuple(fc.maxSafeInteger(), anyString, fc.option(fc.stringMatching(/^[a-z0-9_-]{1,64}$/)), fc.array(line, { minLength: 1, maxLength: 100 }), fc.integer({ min: 1000, max: 604_800_000 }))
    .map(([now, id, channel, lines, ttl]) => [Op.Hold, now, id, channel, lines, ttl] as Command);
  const move = fc.tuple(fc.constantFrom(Op.Commit, Op.Release, Op.Fulfill), fc.maxSafeInteger(), anyString)
    .map(([op, now, id]) => [op, now, id] as Command);

  it("are msgpackr's bytes of the command, and decode to it", () => {
    fc.assert(fc.property(fc.oneof(hold, move), (command) => {
      const bytes = encodeCommand(command);
      expect(hex(bytes)).toBe(hex(packr.pack(command)));
      expect(decodeCommand(bytes)).toEqual(command);
    }), { numRuns: 1000 });
  });

  it("write a hold's line keys as sku, location, qty whatever order the request gave them in", () => {
    const lines = [{ qty: 2, location: "dc-east", sku: "tee" }];
    const command = [Op.Hold, 1_700_000_000_000, "order-1", null, lines, 900_000] as Command;
    const decoded = decodeCommand(encodeCommand(command)) as [Op.Hold, number, string, null, { sku: string }[], number];
    expect(Object.keys(decoded[4][0])).toEqual(["sku", "location", "qty"]);
    expect(decoded).toEqual(command);
  });
});
