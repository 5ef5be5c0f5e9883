// Proves the statements of SPEC sections 2–5 that a conformance audit found the
// engine breaking, each against a real server on loopback (HTTP on the
// writer's thread, or on worker threads with OMNISTOCK_TEST_WORKERS): ids must
// be valid UTF-8 wherever they arrive (query strings, msgpack strings), the
// stream route judges method and token before anything else, and limits are
// the SPEC's own (no minimum the SPEC does not state).

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack, unpack } from "msgpackr";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../src/config.js";
import { startTestEngine, type TestEngine } from "./support/engine.js";

interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

const MSGPACK = "application/msgpack";

async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  let payload: string | Uint8Array | undefined;
  const sent = { ...headers };
  if (body instanceof Uint8Array) {
    payload = body;
    sent["content-type"] ??= MSGPACK;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    sent["content-type"] ??= "application/json";
  }
  const response = await fetch(`${url}${path}`, { method, headers: sent, body: payload as BodyInit | undefined });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const type = response.headers.get("content-type") ?? "";
  const text = new TextDecoder().decode(bytes);
  const decoded: unknown = type.startsWith(MSGPACK) ? unpack(bytes) : type.startsWith("application/json") ? JSON.parse(text) : text;
  return { status: response.status, body: decoded, headers: response.headers };
}

function expectError(reply: Reply, status: number, code: string, message?: RegExp): void {
  expect({ status: reply.status, error: reply.body?.error }).toEqual({ status, error: code });
  expect(typeof reply.body.message).toBe("string");
  if (message !== undefined) expect(reply.body.message).toMatch(message);
}

/** A msgpack fixstr holding `bytes` as they are (valid UTF-8 or not). */
function rawStr(bytes: number[]): Buffer {
  return Buffer.from([0xa0 | bytes.length, ...bytes]);
}

/** msgpack of `{items: [{sku: <raw>, location: "l", onHand: 1}]}` with the SKU's bytes as given. */
function stockWithRawSku(skuBytes: number[]): Buffer {
  return Buffer.concat([
    Buffer.from([0x81]), pack("items"), Buffer.from([0x91, 0x83]),
    pack("sku"), rawStr(skuBytes), pack("location"), pack("l"), pack("onHand"), pack(1),
  ]);
}

describe("ids are valid UTF-8 wherever they arrive (SPEC section 2)", () => {
  let server: TestEngine;
  beforeAll(async () => {
    server = await startTestEngine();
  });
  afterAll(async () => {
    await server?.close();
  });

  test("a query-string location that is not valid UTF-8 is 400, like the same bytes in the path", async () => {
    for (const bad of ["%FF", "a%C3", "%ED%A0%80", "%C0%AF"]) {
      expectError(await call(server.url, "GET", `/v1/availability/ok?location=${bad}`), 400, "invalid_request", /^location: /);
      expectError(await call(server.url, "GET", `/v1/availability/${bad}`), 400, "invalid_request", /^sku: /);
    }
    expectError(await call(server.url, "GET", "/v1/availability/ok?location=%zz"), 400, "invalid_request", /^location: /);
    // Still decoded as before: %XX escapes of valid UTF-8, and "+" as a space.
    const ok = await call(server.url, "GET", "/v1/availability/ok?location=L+%C3%A9%2Fx");
    expect(ok.status).toBe(200);
    expect(ok.body.location).toBe("L é/x");
  });
});
