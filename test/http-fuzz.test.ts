// Proves that bad input never gets a 5xx and never changes state: random
// JSON bodies (fast-check), random content types and random path ids go to
// every write endpoint of a real engine over HTTP; every answer is a 2xx or a
// 4xx in the SPEC's error shape, and after every 4xx the ledger is unchanged.

import fc from "fast-check";
import { unpack } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEngine, type TestEngine } from "./support/engine.js";

let server: TestEngine;
beforeAll(async () => {
  server = await startTestEngine();
  await post("/v1/stock", { items: [{ sku: "A", location: "s1", onHand: 10 }] });
  await fetch(`${server.url}/v1/channels/web`, { method: "PUT", headers: { "content-type": "application/json" }, body: "{}" });
});
afterAll(async () => server.close());

async function post(path: string, body: unknown, contentType = "application/json", method = "POST"): Promise<{ status: number; body: any }> {
  const res = await fetch(server.url + path, { method, headers: { "content-type": contentType }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.headers.get("content-type")?.includes("msgpack")) return { status: res.status, body: unpack(bytes) };
  const text = bytes.toString("utf8");
  return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
}

function state(): string {
  return server.running.engine.ledgerView.stateHash();
}

// Values near the shapes the API expects, so the fuzzer reaches past the first check.
const id = fc.oneof(fc.string({ maxLength: 140 }), fc.constantFrom("A", "s1", "web", "", "x".repeat(129), "a\u0000b", "\ud800"));
const qty = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, 1, -1, 1e9, 1e9 + 1, "3", null, 1.5));
const item = fc.record({ sku: id, location: id, onHand: qty, safetyStock: qty, delta: qty, qty, extra: fc.anything() }, { requiredKeys: [] });
const body = fc.oneof(
  fc.record({ items: fc.array(item, { maxLength: 4 }) }, { requiredKeys: [] }),
  fc.record({ id, channel: id, ttlSeconds: qty, lines: fc.array(item, { maxLength: 4 }) }, { requiredKeys: [] }),
  fc.record({ skus: fc.array(id, { maxLength: 3 }), location: id, channel: id }, { requiredKeys: [] }),
  fc.record({ enabled: fc.anything(), safetyStock: qty, kind: fc.anything(), locations: fc.anything(), buffer: qty }, { requiredKeys: [] }),
  fc.anything(),
);
const target = fc.constantFrom(
  ["POST", "/v1/stock"], ["POST", "/v1/stock/adjust"], ["POST", "/v1/reservations"], ["POST", "/v1/availability/query"],
  ["PUT", "/v1/locations/s9"], ["PUT", "/v1/channels/web"], ["PUT", "/v1/channels/Bad%20Id"],
);

describe("HTTP input fuzzing", () => {
  it("answers every random body with a 2xx or a SPEC-shaped 4xx, and a 4xx changes nothing", async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(target, body, fc.constantFrom("application/json", "application/msgpack", "text/plain"), async ([method, path], value, contentType) => {
        const before = state();
        const raw = contentType === "application/msgpack" ? JSON.stringify(value) : value; // JSON sent as msgpack: malformed on purpose
        const answer = await post(path, raw, contentType, method);
        seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
        expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(500);
        if (answer.status >= 400) {
          expect(typeof answer.body.error).toBe("string");
          expect(typeof answer.body.message).toBe("string");
          expect(state()).toBe(before);
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 400) },
    );
    // Refused at more than one layer (media type, validation, …), not only at the first.
    expect([...seen.keys()].filter((status) => status >= 400).length, JSON.stringify([...seen])).toBeGreaterThanOrEqual(2);
  });

  it("answers random path ids on reads with 200, 400 or 404, never more", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), fc.constantFrom("", "?location=s1", "?channel=web", "?location=a&channel=web", "?channel=NOPE"), async (raw, query) => {
        const res = await fetch(`${server.url}/v1/availability/${encodeURIComponent(raw)}${query}`);
        expect([200, 400, 404]).toContain(res.status);
        const again = await fetch(`${server.url}/v1/reservations/${encodeURIComponent(raw)}`);
        expect([200, 400, 404]).toContain(again.status);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
  });
});
