// Proves that the journal's CRC-32 of a byte range is zlib's crc32 of the
// same bytes, for every length around the slicing step and the zlib cut-over,
// at any offset: a record written by either reads back under the other.

import fc from "fast-check";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { crc32Of } from "../src/journal/crc32.js";

describe("crc32Of", () => {
  it("equals zlib's crc32 of the same range", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1200 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
      const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1));
      expect(crc32Of(bytes, start, end)).toBe(crc32(bytes.subarray(start, end)));
    }), { numRuns: 2000 });
  });

  it("knows the standard check value and the empty range", () => {
    expect(crc32Of(Buffer.from("123456789"), 0, 9)).toBe(0xcbf43926);
    expect(crc32Of(new Uint8Array(4), 2, 2)).toBe(0);
  });
});
