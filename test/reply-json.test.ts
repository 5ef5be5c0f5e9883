// Proves that the hand-written answer writers (reservations, positions at a
// location, queries at a location) give the JSON value JSON.stringify gives
// (ids with quotes, backslashes, any Unicode; null or a channel; one to a
// hundred lines; figures up to the limits), so clients cannot tell them apart.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { positionAtJson, positionsAtJson, reservationBody, reservationJson } from "../src/engine/reply-json.js";

const id = fc.oneof(fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }), fc.constantFrom('a"b', "a\\b", "тест/%*>. x", "😀"));

describe("reservationJson", () => {
  it("writes the value JSON.stringify writes", () => {
    fc.assert(fc.property(
      id, fc.constantFrom("held", "committed", "fulfilled", "released", "expired"), fc.option(fc.stringMatching(/^[a-z0-9_-]{1,64}$/)),
      fc.array(fc.record({ sku: id, location: id, qty: fc.integer({ min: 1, max: 1_000_000_000 }) }), { minLength: 1, maxLength: 100 }),
      fc.integer({ min: 0, max: 8_000_000_000_000 }),
      (rid, status, channel, lines, expiresAtMs) => {
        const body = reservationBody({ id: rid, status, channel, lines, expiresAtMs });
        const text = reservationJson(body);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(body)));
        expect(text).toBe(JSON.stringify(body)); // the lines' keys are in the canonical order here, so even the text is the same
      },
    ), { numRuns: 500 });
  });
});

describe("positionAtJson and positionsAtJson", () => {
  const figure = fc.integer({ min: 0, max: 2_000_000_000 });
  const position = (location: string) => fc.record({
    sku: id, location: fc.constant(location), available: figure, onHand: figure, reserved: figure, committed: figure,
    safetyStock: figure, shortfall: figure, version: fc.maxSafeInteger(),
  });

  it("write the text JSON.stringify writes, one position or a page of them", () => {
    fc.assert(fc.property(id.chain((location) => fc.tuple(position(location), fc.array(position(location), { maxLength: 60 }))), ([one, page]) => {
      expect(positionAtJson(one)).toBe(JSON.stringify(one));
      expect(positionsAtJson({ items: page })).toBe(JSON.stringify({ items: page }));
    }), { numRuns: 300 });
  });
});
