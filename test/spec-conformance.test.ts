// Proves the statements of SPEC sections 2–5 that a conformance audit found the
// engine breaking, each against a real server on loopback (HTTP on the
// writer's thread, or on worker threads with OMNISTOCK_TEST_WORKERS): ids must
// be valid UTF-8 wherever they arrive (query strings, msgpack strings), the
// stream route judges method and token before anything else, and limits are
// the SPEC's own (no minimum the SPEC does not state).

import { mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack, unpack } from "msgpackr";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
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
  test("a msgpack string that is not valid UTF-8 is 400 and changes nothing", async () => {
    for (const bad of [[0xff], [0x61, 0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80]]) {
      const reply = await call(server.url, "POST", "/v1/stock", stockWithRawSku(bad));
      expectError(reply, 400, "invalid_request", /UTF-8/);
    }
    const sku = (await call(server.url, "GET", `/v1/availability/${encodeURIComponent("\uFFFD")}`)).body;
    expect(sku.locations).toEqual([]);
    const unknownLocation = (await call(server.url, "GET", "/v1/locations")).body.items;
    expect(unknownLocation).toEqual([]);
    // Valid multi-byte UTF-8 and a literal U+FFFD are ids like any other.
    const fine = await call(server.url, "POST", "/v1/stock", stockWithRawSku([0xc3, 0xa9, 0xef, 0xbf, 0xbd]));
    expect(fine.status).toBe(200);
    expect(fine.body.positions[0].sku).toBe("é\uFFFD");
  });

  test("free text (a location's name) in msgpack must be valid UTF-8 too", async () => {
    const body = Buffer.concat([Buffer.from([0x81]), pack("name"), rawStr([0x6e, 0xff])]);
    expectError(await call(server.url, "PUT", "/v1/locations/text-loc", body), 400, "invalid_request", /UTF-8/);
    const locations = (await call(server.url, "GET", "/v1/locations")).body.items as { id: string }[];
    expect(locations.some((l) => l.id === "text-loc")).toBe(false);
  });

  test("a msgpack subscribe whose SKU is not valid UTF-8 is answered with an error frame", async () => {
    const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/v1/stream?format=msgpack`);
    const frames: any[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const got = new Promise<void>((resolve) => {
      ws.on("message", (data: Buffer) => {
        frames.push(unpack(data));
        resolve();
      });
    });
    ws.send(Buffer.concat([Buffer.from([0x82]), pack("op"), pack("subscribe"), pack("skus"), Buffer.from([0x91]), rawStr([0xff])]));
    await got;
    ws.close();
    expect(frames[0]).toMatchObject({ type: "error", error: "invalid_request" });
    expect(frames[0].message).toMatch(/UTF-8/);
  });
});

describe("with OMNISTOCK_TOKENS_FILE, /v1/stream without an upgrade is judged like every /v1 route (SPEC section 4)", () => {
  let server: TestEngine;
  beforeAll(async () => {
    const tokensFile = join(mkdtempSync(join(tmpdir(), "omnistock-tokens-")), "tokens.json");
    writeFileSync(tokensFile, JSON.stringify([{ token: "reader", scopes: ["read"] }, { token: "writer", scopes: ["write"] }]));
    server = await startTestEngine({ tokensFile });
  });
  afterAll(async () => {
    await server?.close();
  });

  test("405 for another method, 401 without a token, 403 without read, and only then 400", async () => {
    const post = await call(server.url, "POST", "/v1/stream", {});
    expectError(post, 405, "method_not_allowed");
    expect(post.headers.get("allow")).toBe("GET");
    const anonymous = await call(server.url, "GET", "/v1/stream");
    expectError(anonymous, 401, "unauthorized");
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expectError(await call(server.url, "GET", "/v1/stream", undefined, { authorization: "Bearer writer" }), 403, "forbidden");
    expectError(await call(server.url, "GET", "/v1/stream", undefined, { authorization: "Bearer reader" }), 400, "invalid_request", /upgrade/);
  });
});

describe("settings take any value the SPEC allows (SPEC sections 4 and 6)", () => {
  test("OMNISTOCK_BODY_MAX below 1 KiB starts, and a body one byte over it is 413", async () => {
    const server = await startTestEngine({ env: { OMNISTOCK_BODY_MAX: "100" } });
    try {
      const fits = { items: [{ sku: "s", location: "l", onHand: 1 }] }; // 48 bytes
      expect((await call(server.url, "POST", "/v1/stock", fits)).status).toBe(200);
      const over = JSON.stringify({ items: [{ sku: "s".repeat(53), location: "l", onHand: 1 }] });
      expect(Buffer.byteLength(over)).toBe(101);
      expectError(await call(server.url, "POST", "/v1/stock", JSON.parse(over)), 413, "payload_too_large");
    } finally {
      await server.close();
    }
  });

  test("small stream retention, snapshot interval and pending-key limits are accepted", () => {
    const config = loadConfig({
      OMNISTOCK_STREAM_RETENTION: "10", OMNISTOCK_SNAPSHOT_EVERY: "1", OMNISTOCK_WS_PENDING_MAX: "10", OMNISTOCK_BODY_MAX: "1",
    });
    expect([config.streamRetention, config.snapshotEveryRecords, config.wsPendingKeysMax, config.bodyMaxBytes]).toEqual([10, 1, 10, 1]);
  });
});

describe("batches have the SPEC's upper bounds and no minimum (SPEC section 4)", () => {
  let server: TestEngine;
  beforeAll(async () => {
    server = await startTestEngine();
  });
  afterAll(async () => {
    await server?.close();
  });

  test("a stock write of no items applies nothing and emits nothing; a query of no SKUs answers no items", async () => {
    expect(await call(server.url, "POST", "/v1/stock", { items: [] })).toMatchObject({ status: 200, body: { applied: 0, positions: [] } });
    expect(await call(server.url, "POST", "/v1/stock/adjust", { items: [] })).toMatchObject({ status: 200, body: { applied: 0, positions: [] } });
    expect(server.running.engine.feed.lastSeq).toBe(0);
    expect(await call(server.url, "POST", "/v1/availability/query", { skus: [] })).toMatchObject({ status: 200, body: { items: [] } });
    expect(await call(server.url, "POST", "/v1/availability/query", { skus: [], location: "l" })).toMatchObject({ status: 200, body: { items: [] } });
    // An unknown channel is still a 404, with or without SKUs.
    expectError(await call(server.url, "POST", "/v1/availability/query", { skus: [], channel: "nope" }), 404, "not_found");
    expect((await call(server.url, "PUT", "/v1/channels/web", {})).status).toBe(200);
    expect(await call(server.url, "POST", "/v1/availability/query", { skus: [], channel: "web" })).toMatchObject({ status: 200, body: { items: [] } });
    // Reservations keep their stated minimum: lines 1…100.
    expectError(await call(server.url, "POST", "/v1/reservations", { id: "r", lines: [] }), 400, "invalid_request", /^lines: /);
  });
});

describe("raw bytes in the request target (SPEC section 2: ids are valid UTF-8)", () => {
  let server: TestEngine;
  beforeAll(async () => {
    server = await startTestEngine();
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Sends a GET whose target holds `target` bytes as they are (fetch would percent-encode them). */
  function rawGet(target: Buffer): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const { port } = new URL(server.url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => {
        socket.end(Buffer.concat([Buffer.from("GET "), target, Buffer.from(" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")]));
      });
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      socket.on("error", reject);
      socket.on("close", () => {
        const [head, body] = text.split("\r\n\r\n");
        resolve({ status: Number(head.split(" ")[1]), body: JSON.parse(body) });
      });
    });
  }

  test("a raw byte that is not UTF-8 in the path or the query is 400, raw valid UTF-8 still reads", async () => {
    const path = await rawGet(Buffer.concat([Buffer.from("/v1/availability/a"), Buffer.from([0xff])]));
    expect({ status: path.status, error: path.body.error }).toEqual({ status: 400, error: "invalid_request" });
    const query = await rawGet(Buffer.concat([Buffer.from("/v1/availability/a?location=l"), Buffer.from([0xc3])]));
    expect({ status: query.status, error: query.body.error }).toEqual({ status: 400, error: "invalid_request" });
    const reservation = await rawGet(Buffer.concat([Buffer.from("/v1/reservations/r"), Buffer.from([0xfe])]));
    expect({ status: reservation.status, error: reservation.body.error }).toEqual({ status: 400, error: "invalid_request" });
    const fine = await rawGet(Buffer.from("/v1/availability/é?location=ü", "utf8"));
    expect(fine.status).toBe(200);
    expect([fine.body.sku, fine.body.location]).toEqual(["é", "ü"]);
    const escaped = await rawGet(Buffer.from("/v1/availability/%EF%BF%BD"));
    expect(escaped.status).toBe(200);
  });
});

describe("HEAD requests are answered without a body (HTTP: a body would be read as the next response)", () => {
  let server: TestEngine;
  beforeAll(async () => {
    server = await startTestEngine();
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Sends the raw requests on one keep-alive connection and returns everything the server wrote back. */
  function exchange(requests: string): Promise<string> {
    const { port } = new URL(server.url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => socket.write(requests));
      let text = "";
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
        if (text.includes('{"status":"ok"}')) socket.end(); // the GET after the HEADs has answered
      });
      socket.on("error", reject);
      socket.on("close", () => resolve(text));
    });
  }

  test("HEAD on an API route, the stream route and an unknown route; then a GET on the same connection reads cleanly", async () => {
    const text = await exchange(
      "HEAD /v1/availability/a?location=l HTTP/1.1\r\nHost: x\r\n\r\n" +
        "HEAD /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n" +
        "HEAD /nowhere HTTP/1.1\r\nHost: x\r\n\r\n" +
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    const responses = text.split(/(?=HTTP\/1\.1 )/);
    expect(responses.map((r) => r.split("\r\n")[0])).toEqual([
      "HTTP/1.1 405 Method Not Allowed",
      "HTTP/1.1 405 Method Not Allowed",
      "HTTP/1.1 404 Not Found",
      "HTTP/1.1 200 OK",
    ]);
    for (const head of responses.slice(0, 3)) {
      const [headers, body] = head.split("\r\n\r\n");
      expect(body).toBe(""); // nothing after the headers
      expect(/content-length: (\d+)/i.exec(headers)?.[1]).toBe("0"); // and none announced
    }
    expect(responses[3].endsWith('{"status":"ok"}')).toBe(true);
  });
});
