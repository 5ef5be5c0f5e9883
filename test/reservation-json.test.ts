// Proves that the reservation body's fast JSON writer gives the JSON value
// JSON.stringify gives (ids with quotes, backslashes, any Unicode; null or a
// channel; one to a hundred lines), so clients cannot tell the two apart.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { reservationBody, reservationJson } from "../src/engine/engine.js";

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
