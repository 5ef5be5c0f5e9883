// Proves the HTTP boundary's validation rules, as tables: the id rules of SPEC
// section 2 (UTF-8 bytes, control characters, lone surrogates, channel
// pattern) and every request schema's ranges, integer-only numbers, required
// and unknown fields, and the field-naming error messages.

import { describe, expect, test } from "vitest";
import { isNativeAccelerationEnabled } from "msgpackr";
import { InvalidRequestError } from "../src/server/errors.js";
import {
  channelProblem,
  idProblem,
  locationProblem,
  reservationIdProblem,
  skuProblem,
  textProblem,
  utf8Length,
} from "../src/server/ids.js";
import {
  checkChannelPatch,
  checkHold,
  checkLocationPatch,
  checkQuery,
  checkStockAdjust,
  checkStockSet,
  fieldPath,
} from "../src/server/schemas.js";
import { authorize, tokenTableFrom } from "../src/server/auth.js";
import { bodyFormat, decodeBody, wantsMsgpack } from "../src/server/body.js";
import { buildOpenApi } from "../src/server/openapi.js";

const CYRILLIC = "Привет"; // 6 chars, 12 bytes
const EMOJI = "\u{1F600}"; // 2 UTF-16 units, 4 bytes

describe("utf8Length", () => {
  test.each([
    ["", 0],
    ["abc", 3],
    ["é", 2],
    [CYRILLIC, 12],
    ["€", 3],
    [EMOJI, 4],
    ["a\u0085b", 4], // C1 control: allowed, 2 bytes
  ])("%j is %i bytes", (s, bytes) => {
    expect(utf8Length(s, 1_000, false)).toBe(bytes);
    expect(utf8Length(s, 1_000, false)).toBe(Buffer.byteLength(s, "utf8"));
  });

  test("lone surrogates are -1, controls -2 unless allowed", () => {
    expect(utf8Length("a\ud800", 100, false)).toBe(-1);
    expect(utf8Length("\udc00a", 100, false)).toBe(-1);
    expect(utf8Length("\ud800\ud800", 100, false)).toBe(-1);
    expect(utf8Length("a\tb", 100, false)).toBe(-2);
    expect(utf8Length("a\tb", 100, true)).toBe(3);
  });
});

describe("SKU, location and reservation ids", () => {
  const valid: [string, string][] = [
    ["one byte", "a"],
    ["dots, stars, gt, slash, percent, space", "a.b*c>d/e%f g"],
    ["Cyrillic", CYRILLIC],
    ["emoji", EMOJI],
    ["DEL-adjacent printable", "~"],
    ["128 ASCII bytes", "x".repeat(128)],
    ["128 bytes of 2-byte chars", "é".repeat(64)],
    ["C1 control U+0085 (not in the SPEC's list)", "a\u0085"],
  ];
  test.each(valid)("sku valid: %s", (_name, id) => {
    expect(skuProblem(id)).toBeNull();
    expect(reservationIdProblem(id)).toBeNull();
  });

  const invalid: [string, string, RegExp][] = [
    ["empty", "", /empty/],
    ["129 ASCII bytes", "x".repeat(129), /at most 128 bytes/],
    ["65 two-byte chars = 130 bytes", "é".repeat(65), /at most 128 bytes/],
    ["43 three-byte chars = 129 bytes", "€".repeat(43), /at most 128 bytes/],
    ["33 emoji = 132 bytes", EMOJI.repeat(33), /at most 128 bytes/],
    ["NUL", "a\u0000", /control/],
    ["TAB", "a\tb", /control/],
    ["LF", "a\nb", /control/],
    ["U+001F", "\u001f", /control/],
    ["DEL U+007F", "a\u007f", /control/],
    ["lone high surrogate", "a\ud83d", /surrogate/],
    ["lone low surrogate", "\ude00a", /surrogate/],
    ["reversed pair", "\ude00\ud83d", /surrogate/],
  ];
  test.each(invalid)("sku invalid: %s", (_name, id, message) => {
    expect(skuProblem(id)).toMatch(message);
    expect(reservationIdProblem(id)).toMatch(message);
  });

  test.each([
    ["64 ASCII bytes", "x".repeat(64), null],
    ["65 ASCII bytes", "x".repeat(65), /at most 64 bytes/],
    ["32 Cyrillic = 64 bytes", "П".repeat(32), null],
    ["33 Cyrillic = 66 bytes", "П".repeat(33), /at most 64 bytes/],
    ["16 emoji = 64 bytes", EMOJI.repeat(16), null],
    ["17 emoji = 68 bytes", EMOJI.repeat(17), /at most 64 bytes/],
    ["control", "store\u00011", /control/],
    ["empty", "", /empty/],
  ] as [string, string, RegExp | null][])("location: %s", (_name, id, message) => {
    const problem = locationProblem(id);
    if (message === null) expect(problem).toBeNull();
    else expect(problem).toMatch(message);
  });

  test("idProblem takes any byte limit", () => {
    expect(idProblem("abcd", 4)).toBeNull();
    expect(idProblem("abcde", 4)).toMatch(/at most 4 bytes/);
  });
});

describe("channel ids", () => {
  test.each(["web", "app", "pos", "a", "amazon_de", "marketplace-1", "0", "x".repeat(64), "_-_"])("valid %j", (id) => {
    expect(channelProblem(id)).toBeNull();
  });
  test.each(["", "Web", "WEB", "web shop", "web.shop", "web/shop", "wéb", "x".repeat(65), "web\n", "web*", "web>"])(
    "invalid %j",
    (id) => {
      expect(channelProblem(id)).toMatch(/\^\[a-z0-9_-\]\{1,64\}\$/);
    },
  );
});

describe("free-form text", () => {
  test.each([
    ["", null],
    ["Main store", null],
    ["tab\tok", null],
    ["x".repeat(256), null],
    ["x".repeat(257), /at most 256 bytes/],
    ["П".repeat(129), /at most 256 bytes/],
    ["bad \ud800", /surrogate/],
  ] as [string, RegExp | null][])("%j", (s, message) => {
    const problem = textProblem(s);
    if (message === null) expect(problem).toBeNull();
    else expect(problem).toMatch(message);
  });
});

/** The message of the InvalidRequestError `fn` throws (fails the test when it does not throw one). */
function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return (error as Error).message;
  }
  throw new Error("expected an InvalidRequestError");
}

const item = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ sku: "s", location: "l", ...extra });

describe("POST /v1/stock body", () => {
  test.each([
    ["onHand", { items: [item({ onHand: 5 })] }],
    ["onHand 0", { items: [item({ onHand: 0 })] }],
    ["onHand 1e9", { items: [item({ onHand: 1_000_000_000 })] }],
    ["onHand as 1e3 number", { items: [item({ onHand: 1e3 })] }],
    ["safetyStock", { items: [item({ safetyStock: 3 })] }],
    ["safetyStock null clears", { items: [item({ safetyStock: null })] }],
    ["neither (creates the position)", { items: [item()] }],
    ["10,000 items", { items: Array.from({ length: 10_000 }, () => item({ onHand: 1 })) }],
    ["no items (SPEC: ≤10,000, no minimum)", { items: [] }],
    ["Cyrillic, dots, slash ids", { items: [{ sku: `${CYRILLIC}.a/b*c>d`, location: "store 1%", onHand: 1 }] }],
  ])("valid: %s", (_name, body) => {
    expect(checkStockSet(body)).toBe(body);
  });

  test.each([
    ["not an object", "x", /^body: must be object/],
    ["null body", null, /^body: must be object/],
    ["array body", [], /^body: must be object/],
    ["items missing", {}, /^items: required/],
    ["10,001 items", { items: Array.from({ length: 10_001 }, () => item()) }, /^items: must NOT have more than 10000 items/],
    ["unknown top-level field", { items: [item()], dryRun: true }, /^dryRun: unknown field/],
    ["typo in an item", { items: [item(), item({ onhand: 5 })] }, /^items\[1\]\.onhand: unknown field/],
    ["sku missing", { items: [{ location: "l" }] }, /^items\[0\]\.sku: required/],
    ["location missing", { items: [{ sku: "s" }] }, /^items\[0\]\.location: required/],
    ["onHand 1.5", { items: [item({ onHand: 1.5 })] }, /^items\[0\]\.onHand: must be integer/],
    ["onHand string", { items: [item({ onHand: "3" })] }, /^items\[0\]\.onHand: must be integer/],
    ["onHand '1e3'", { items: [item({ onHand: "1e3" })] }, /^items\[0\]\.onHand: must be integer/],
    ["onHand negative", { items: [item({ onHand: -1 })] }, /^items\[0\]\.onHand: must be >= 0/],
    ["onHand above 1e9", { items: [item({ onHand: 1_000_000_001 })] }, /^items\[0\]\.onHand: must be <= 1000000000/],
    ["onHand null", { items: [item({ onHand: null })] }, /^items\[0\]\.onHand: must be integer/],
    ["safetyStock 2.5", { items: [item({ safetyStock: 2.5 })] }, /^items\[0\]\.safetyStock: must be integer or null/],
    ["safetyStock above 1e9", { items: [item({ safetyStock: 1e10 })] }, /^items\[0\]\.safetyStock: must be <= 1000000000/],
    ["sku number", { items: [{ sku: 5, location: "l" }] }, /^items\[0\]\.sku: must be string/],
    ["sku empty", { items: [{ sku: "", location: "l" }] }, /^items\[0\]\.sku: must NOT have fewer than 1 characters/],
    ["sku 129 bytes", { items: [{ sku: "x".repeat(129), location: "l" }] }, /^items\[0\]\.sku: must NOT have more than 128 characters/],
    ["sku 130 bytes in 65 chars", { items: [{ sku: "é".repeat(65), location: "l" }] }, /^items\[0\]\.sku: must be at most 128 bytes/],
    ["sku control", { items: [item(), { sku: "a\u0000", location: "l" }] }, /^items\[1\]\.sku: must not contain control/],
    ["location 65 bytes", { items: [{ sku: "s", location: "П".repeat(33) }] }, /^items\[0\]\.location: must be at most 64 bytes/],
    ["location lone surrogate", { items: [{ sku: "s", location: "\ud800" }] }, /^items\[0\]\.location: must be valid Unicode/],
    ["item not an object", { items: [5] }, /^items\[0\]: must be object/],
  ])("invalid: %s", (_name, body, message) => {
    expect(rejection(() => checkStockSet(body))).toMatch(message);
  });
});

describe("POST /v1/stock/adjust body", () => {
  test.each([
    ["delta positive", { items: [item({ delta: 5 })] }],
    ["delta 0", { items: [item({ delta: 0 })] }],
    ["delta -1e9", { items: [item({ delta: -1_000_000_000 })] }],
    ["delta 1e9", { items: [item({ delta: 1_000_000_000 })] }],
    ["with reason", { items: [item({ delta: -1, reason: "damaged in transit" })] }],
    ["no items (SPEC: ≤10,000, no minimum)", { items: [] }],
  ])("valid: %s", (_name, body) => {
    expect(checkStockAdjust(body)).toBe(body);
  });

  test.each([
    ["delta missing", { items: [item()] }, /^items\[0\]\.delta: required/],
    ["delta 1.5", { items: [item({ delta: 1.5 })] }, /^items\[0\]\.delta: must be integer/],
    ["delta string", { items: [item({ delta: "-3" })] }, /^items\[0\]\.delta: must be integer/],
    ["delta below -1e9", { items: [item({ delta: -1_000_000_001 })] }, /^items\[0\]\.delta: must be >= -1000000000/],
    ["delta above 1e9", { items: [item({ delta: 1_000_000_001 })] }, /^items\[0\]\.delta: must be <= 1000000000/],
    ["onHand is not an adjust field", { items: [item({ delta: 1, onHand: 3 })] }, /^items\[0\]\.onHand: unknown field/],
    ["reason not a string", { items: [item({ delta: 1, reason: 5 })] }, /^items\[0\]\.reason: must be string/],
    ["reason 257 bytes", { items: [item({ delta: 1, reason: "П".repeat(129) })] }, /^items\[0\]\.reason: must be at most 256 bytes/],
  ])("invalid: %s", (_name, body, message) => {
    expect(rejection(() => checkStockAdjust(body))).toMatch(message);
  });
});

describe("POST /v1/availability/query body", () => {
  test.each([
    ["skus only", { skus: ["a"] }],
    ["location", { skus: ["a", "b"], location: "l" }],
    ["channel", { skus: ["a"], channel: "web" }],
    ["1,000 skus", { skus: Array.from({ length: 1_000 }, (_, i) => `s${i}`) }],
    ["no skus (SPEC: ≤1000, no minimum)", { skus: [] }],
  ])("valid: %s", (_name, body) => {
    expect(checkQuery(body)).toBe(body);
  });

  test.each([
    ["skus missing", {}, /^skus: required/],
    ["1,001 skus", { skus: Array.from({ length: 1_001 }, (_, i) => `s${i}`) }, /^skus: must NOT have more than 1000 items/],
    ["location and channel", { skus: ["a"], location: "l", channel: "web" }, /^location, channel: give at most one/],
    ["bad channel", { skus: ["a"], channel: "Web" }, /^channel: must match pattern/],
    ["sku too long", { skus: ["a", "é".repeat(65)] }, /^skus\[1\]: must be at most 128 bytes/],
    ["sku not a string", { skus: [1] }, /^skus\[0\]: must be string/],
    ["location too long", { skus: ["a"], location: "é".repeat(33) }, /^location: must be at most 64 bytes/],
    ["unknown field", { skus: ["a"], limit: 5 }, /^limit: unknown field/],
  ])("invalid: %s", (_name, body, message) => {
    expect(rejection(() => checkQuery(body))).toMatch(message);
  });
});

const line = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ sku: "s", location: "l", qty: 1, ...extra });

describe("POST /v1/reservations body", () => {
  test.each([
    ["minimal", { id: "r1", lines: [line()] }],
    ["channel and ttl", { id: "r1", channel: "web", ttlSeconds: 60, lines: [line()] }],
    ["channel null (no channel, as answers write it)", { id: "r1", channel: null, lines: [line()] }],
    ["ttl bounds", { id: "r1", ttlSeconds: 1, lines: [line()] }],
    ["ttl max", { id: "r1", ttlSeconds: 604_800, lines: [line()] }],
    ["qty 1e9", { id: "r1", lines: [line({ qty: 1_000_000_000 })] }],
    ["100 lines", { id: "r1", lines: Array.from({ length: 100 }, (_, i) => line({ sku: `s${i}` })) }],
    ["id with slash, Cyrillic", { id: `order/${CYRILLIC}`, lines: [line()] }],
  ])("valid: %s", (_name, body) => {
    expect(checkHold(body)).toBe(body);
  });

  test.each([
    ["id missing", { lines: [line()] }, /^id: required/],
    ["id empty", { id: "", lines: [line()] }, /^id: must NOT have fewer than 1 characters/],
    ["id 129 bytes", { id: "€".repeat(43), lines: [line()] }, /^id: must be at most 128 bytes/],
    ["id control", { id: "r\n1", lines: [line()] }, /^id: must not contain control/],
    ["lines missing", { id: "r1" }, /^lines: required/],
    ["lines empty", { id: "r1", lines: [] }, /^lines: must NOT have fewer than 1 items/],
    ["101 lines", { id: "r1", lines: Array.from({ length: 101 }, () => line()) }, /^lines: must NOT have more than 100 items/],
    ["qty 0", { id: "r1", lines: [line({ qty: 0 })] }, /^lines\[0\]\.qty: must be >= 1/],
    ["qty 1.5", { id: "r1", lines: [line(), line({ qty: 1.5 })] }, /^lines\[1\]\.qty: must be integer/],
    ["qty string", { id: "r1", lines: [line({ qty: "3" })] }, /^lines\[0\]\.qty: must be integer/],
    ["qty above 1e9", { id: "r1", lines: [line({ qty: 1_000_000_001 })] }, /^lines\[0\]\.qty: must be <= 1000000000/],
    ["ttl 0", { id: "r1", ttlSeconds: 0, lines: [line()] }, /^ttlSeconds: must be >= 1/],
    ["ttl above a week", { id: "r1", ttlSeconds: 604_801, lines: [line()] }, /^ttlSeconds: must be <= 604800/],
    ["ttl 1.5", { id: "r1", ttlSeconds: 1.5, lines: [line()] }, /^ttlSeconds: must be integer/],
    ["channel upper case", { id: "r1", channel: "Web", lines: [line()] }, /^channel: must match pattern/],
    ["line sku too long", { id: "r1", lines: [line({ sku: "é".repeat(65) })] }, /^lines\[0\]\.sku: must be at most 128 bytes/],
    ["line unknown field", { id: "r1", lines: [line({ price: 5 })] }, /^lines\[0\]\.price: unknown field/],
    ["unknown field", { id: "r1", lines: [line()], status: "held" }, /^status: unknown field/],
  ])("invalid: %s", (_name, body, message) => {
    expect(rejection(() => checkHold(body))).toMatch(message);
  });
});

describe("PUT /v1/locations/{id} body", () => {
  test.each([
    ["empty (creates)", {}],
    ["all fields", { enabled: false, safetyStock: 2, kind: "store", name: "Main street" }],
    ["null kind and name", { kind: null, name: null }],
    ["256-byte name", { name: "x".repeat(256) }],
  ])("valid: %s", (_name, body) => {
    expect(checkLocationPatch(body)).toBe(body);
  });

  test.each([
    ["enabled not boolean", { enabled: "false" }, /^enabled: must be boolean/],
    ["safetyStock 1.5", { safetyStock: 1.5 }, /^safetyStock: must be integer/],
    ["safetyStock negative", { safetyStock: -1 }, /^safetyStock: must be >= 0/],
    ["safetyStock null", { safetyStock: null }, /^safetyStock: must be integer/],
    ["kind number", { kind: 5 }, /^kind: must be string or null/],
    ["name 257 bytes", { name: "П".repeat(129) }, /^name: must be at most 256 bytes/],
    ["name 257 chars", { name: "x".repeat(257) }, /^name: must NOT have more than 256 characters/],
    ["unknown field", { enable: false }, /^enable: unknown field/],
    ["array body", [], /^body: must be object/],
  ])("invalid: %s", (_name, body, message) => {
    expect(rejection(() => checkLocationPatch(body))).toMatch(message);
  });
});

describe("PUT /v1/channels/{id} body", () => {
  test.each([
    ["empty", {}],
    ["locations and buffer", { locations: ["a", "b"], buffer: 2 }],
    ["locations null (every location)", { locations: null }],
    ["locations empty (sells nowhere)", { locations: [] }],
    ["65,536 locations", { locations: Array.from({ length: 65_536 }, (_, i) => `l${i}`) }],
  ])("valid: %s", (_name, body) => {
    expect(checkChannelPatch(body)).toBe(body);
  });

  test.each([
    ["locations not array", { locations: "a" }, /^locations: must be array or null/],
    ["65,537 locations", { locations: Array.from({ length: 65_537 }, (_, i) => `l${i}`) }, /^locations: must NOT have more than 65536 items/],
    ["location too long", { locations: ["ok", "П".repeat(33)] }, /^locations\[1\]: must be at most 64 bytes/],
    ["location empty", { locations: [""] }, /^locations\[0\]: must NOT have fewer than 1 characters/],
    ["buffer 1.5", { buffer: 1.5 }, /^buffer: must be integer/],
    ["buffer negative", { buffer: -1 }, /^buffer: must be >= 0/],
    ["buffer above 1e9", { buffer: 1_000_000_001 }, /^buffer: must be <= 1000000000/],
    ["unknown field", { buffers: 1 }, /^buffers: unknown field/],
  ])("invalid: %s", (_name, body, message) => {
    expect(rejection(() => checkChannelPatch(body))).toMatch(message);
  });
});

describe("fieldPath", () => {
  test.each([
    ["", undefined, "body"],
    ["", "items", "items"],
    ["/items/3/qty", undefined, "items[3].qty"],
    ["/items/3", "sku", "items[3].sku"],
    ["/a~1b", undefined, "a/b"],
  ] as [string, string | undefined, string][])("%j + %j → %j", (pointer, child, expected) => {
    expect(fieldPath(pointer, child)).toBe(expected);
  });
});

describe("body formats", () => {
  test.each([
    ["", "json"],
    ["application/json", "json"],
    ["application/json; charset=utf-8", "json"],
    ["Application/JSON", "json"],
    ["application/merge-patch+json", "json"],
    ["application/msgpack", "msgpack"],
    ["application/x-msgpack", "msgpack"],
  ])("Content-Type %j is %s", (contentType, format) => {
    expect(bodyFormat(contentType)).toBe(format);
  });
  test.each(["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data"])(
    "Content-Type %j is 415",
    (contentType) => {
      expect(() => bodyFormat(contentType)).toThrow(/not supported/);
    },
  );
  test.each([
    ["application/msgpack", "", true],
    ["", "application/msgpack", true],
    ["application/json", "application/json, application/msgpack", true],
    ["application/json", "", false],
    ["", "*/*", false],
  ])("Content-Type %j Accept %j → msgpack %s", (contentType, accept, expected) => {
    expect(wantsMsgpack(contentType, accept)).toBe(expected);
  });
  test.each(["2.9999999999999999", "-1e-400", "1E-400", "12345678901234567890123e-3", "[1,2.00000000000000001]"])(
    "the JSON literal %s, which JSON.parse rounds to an integer, is 400",
    (literal) => {
      expect(rejection(() => decodeBody(Buffer.from(`{"a":${literal}}`), "json"))).toMatch(/^body: .* is not an integer/);
    },
  );
  test.each(["1.0", "-2.50e1", "0e-5", "1e3", "1.5", '"2.9999999999999999"', '"\\\"" , "b": 7'])("the JSON literal %s passes the literal check", (literal) => {
    // 1.5 passes it too: it does not parse to an integer, so the field checks refuse it and name the field.
    expect(() => decodeBody(Buffer.from(`{"a":${literal}}`), "json")).not.toThrow();
  });
  test("literals longer than their exponent is large: a million zeros and an exponent past them are judged exactly", () => {
    const tiny = `1${"0".repeat(1_500_000)}e-2000000`; // 10^-500000: JSON.parse makes it 0
    const message = rejection(() => decodeBody(Buffer.from(`{"a":${tiny}}`), "json"));
    expect(message).toBe(`body: 1${"0".repeat(38)}… is not an integer (JSON would round it to one; every number in a request must be one)`); // cut to 40 characters
    const ten = `0.${"0".repeat(1_000_000)}1e1000002`; // exactly 10
    expect(decodeBody(Buffer.from(`{"a":${ten}}`), "json")).toEqual({ a: 10 });
  });
  test("malformed and empty bodies are 400", () => {
    expect(rejection(() => decodeBody(new Uint8Array(0), "json"))).toMatch(/^body: required/);
    expect(rejection(() => decodeBody(Buffer.from("{"), "json"))).toMatch(/^body: malformed JSON/);
    expect(rejection(() => decodeBody(Buffer.from([0xff, 0xfe]), "json"))).toMatch(/^body: not valid UTF-8/);
    expect(rejection(() => decodeBody(Buffer.from([0x81]), "msgpack"))).toMatch(/^body: malformed msgpack/);
    expect(decodeBody(Buffer.from('{"a":1}'), "json")).toEqual({ a: 1 });
    // The suite decodes msgpack as the server does (vitest.config.ts, src/msgpack-strings.ts).
    expect(isNativeAccelerationEnabled).toBe(false);
  });
});

describe("tokens", () => {
  const table = tokenTableFrom([
    { token: "reader", scopes: ["read"] },
    { token: "all", scopes: ["read", "reserve", "write", "admin"] },
  ]);
  test.each([
    ["", "read", 401],
    ["Basic abc", "read", 401],
    ["Bearer", "read", 401],
    ["Bearer nope", "read", 401],
    ["Bearer reader", "read", null],
    ["bearer reader", "read", null],
    ["Bearer reader", "write", 403],
    ["Bearer reader", "admin", 403],
    ["Bearer all", "admin", null],
  ] as [string, "read" | "write" | "admin", number | null][])("%j for %s → %s", (header, scope, status) => {
    const denied = authorize(table, header, scope);
    expect(denied === null ? null : denied.status).toBe(status);
  });
  test("an open server allows everything", () => {
    expect(authorize(null, "", "admin")).toBeNull();
  });
  test.each([
    ["not an array", { token: "a" }, /JSON array/],
    ["entry not object", ["a"], /entry 0: expected an object/],
    ["token missing", [{ scopes: ["read"] }], /entry 0: "token"/],
    ["token empty", [{ token: "", scopes: [] }], /entry 0: "token"/],
    ["unknown scope", [{ token: "a", scopes: ["root"] }], /entry 0: "scopes"/],
    ["scopes missing", [{ token: "a" }], /entry 0: "scopes"/],
    ["duplicate", [{ token: "a", scopes: [] }, { token: "a", scopes: ["read"] }], /entry 1: duplicate/],
    ["unknown field", [{ token: "a", scopes: [], role: "x" }], /entry 0: unknown field "role"/],
  ])("malformed token list: %s", (_name, entries, message) => {
    expect(() => tokenTableFrom(entries)).toThrow(message);
  });
});

describe("OpenAPI document", () => {
  const doc = buildOpenApi() as { openapi: string; paths: Record<string, Record<string, any>>; components: any };
  test("is 3.1 and lists every SPEC route", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        "/healthz",
        "/metrics",
        "/openapi.json",
        "/readyz",
        "/v1/availability/query",
        "/v1/availability/{sku}",
        "/v1/channels",
        "/v1/channels/{id}",
        "/v1/locations",
        "/v1/locations/{id}",
        "/v1/reservations",
        "/v1/reservations/{id}",
        "/v1/reservations/{id}/commit",
        "/v1/reservations/{id}/fulfill",
        "/v1/reservations/{id}/release",
        "/v1/stock",
        "/v1/stock/adjust",
      ].sort(),
    );
  });
  test("request bodies are the validated schemas", () => {
    const hold = doc.components.schemas.HoldRequest;
    expect(hold.additionalProperties).toBe(false);
    expect(hold.properties.lines.maxItems).toBe(100);
    expect(hold.properties.lines.items.properties.qty).toMatchObject({ type: "integer", minimum: 1, maximum: 1e9 });
    expect(doc.components.schemas.StockSetRequest.properties.items.items.properties.safetyStock.type).toEqual([
      "integer",
      "null",
    ]);
    expect(doc.paths["/v1/reservations"].post.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/HoldRequest",
    });
    expect(Object.keys(doc.paths["/v1/reservations"].post.responses).sort()).toEqual(
      ["201", "400", "401", "403", "404", "409", "413", "415", "503", "507"].sort(),
    );
  });
});
