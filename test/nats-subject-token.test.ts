// Proves subjectToken: every UTF-8 byte outside [A-Za-z0-9_-] becomes %XX
// (uppercase hex), so no id can add a subject separator or wildcard, and the
// encoding is reversible.

import { describe, expect, it } from "vitest";
import { subjectFor, subjectToken, subjectTokenDecode } from "../src/adapters/nats/subject-token.js";

const TABLE: [string, string][] = [
  ["SKU-123_ab", "SKU-123_ab"],
  ["a.b", "a%2Eb"],
  ["*", "%2A"],
  [">", "%3E"],
  ["a b", "a%20b"],
  ["100%", "100%25"],
  ["%2E", "%252E"],
  ["Ж", "%D0%96"],
  ["склад.1", "%D1%81%D0%BA%D0%BB%D0%B0%D0%B4%2E1"],
  ["日本", "%E6%97%A5%E6%9C%AC"],
  ["😀", "%F0%9F%98%80"],
  ["a/b\\c:d", "a%2Fb%5Cc%3Ad"],
  ["~!", "%7E%21"],
  ["\u00e9", "%C3%A9"],
];

describe("subjectToken", () => {
  it.each(TABLE)("%j → %s", (id, token) => {
    expect(subjectToken(id)).toBe(token);
    expect(token).toMatch(/^[A-Za-z0-9_%-]+$/);
    expect(subjectTokenDecode(token)).toBe(id);
  });

  it("builds delta and channel subjects of exactly four tokens", () => {
    const delta = subjectFor({
      type: "delta", seq: 1, sku: "a.b>c", location: "store *1", available: 0, onHand: 0, reserved: 0,
      committed: 0, safetyStock: 0, shortfall: 0, version: 1, ts: "2026-01-01T00:00:00.000Z",
    });
    expect(delta).toBe("omnistock.delta.store%20%2A1.a%2Eb%3Ec");
    expect(delta.split(".")).toHaveLength(4);
    const channel = subjectFor({ type: "channel", seq: 2, channel: "web", sku: "Ж.1", available: 3, ts: "2026-01-01T00:00:00.000Z" });
    expect(channel).toBe("omnistock.channel.web.%D0%96%2E1");
  });
});
