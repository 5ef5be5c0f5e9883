// Proves the HTTP contract of SPEC section 4 end to end: real HTTP on
// 127.0.0.1 against the real engine (fresh data directory per server), every
// endpoint and every error code, id round-trips through percent-encoding,
// msgpack, auth precedence (401/403 before 400/413), body limits, the
// reservation lifecycle with expiry, and no oversell under 2,000 concurrent
// holds. Two cases use a stub engine where the real one cannot be made to
// show the behaviour on demand (recovery still running; an internal bug).

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack, unpack } from "msgpackr";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Engine, EngineReply } from "../src/engine/types.js";
import type { PositionFigures } from "../src/ledger/types.js";
import { startHttpServer } from "../src/server/http-server.js";
import { startTestEngine } from "./support/engine.js";

// ---------------------------------------------------------------- client

interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

interface CallOptions {
  token?: string;
  msgpack?: boolean; // send the body as msgpack (and so get msgpack back)
  accept?: string;
  contentType?: string | null; // null: send no Content-Type header
  raw?: string | Uint8Array | ReadableStream<Uint8Array>; // body bytes as is
}

const JSON_TYPE = "application/json";
const MSGPACK_TYPE = "application/msgpack";

async function decode(response: Response): Promise<unknown> {
  const type = response.headers.get("content-type") ?? "";
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (type.startsWith(MSGPACK_TYPE)) return unpack(bytes);
  const text = new TextDecoder().decode(bytes);
  if (type.startsWith(JSON_TYPE)) return JSON.parse(text);
  return text;
}

class Client {
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  as(token: string | undefined): Client {
    return new Client(this.url, token);
  }

  async call(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    const token = options.token ?? this.token;
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (options.accept !== undefined) headers.accept = options.accept;
    let payload: string | Uint8Array | ReadableStream<Uint8Array> | undefined;
    if (options.raw !== undefined) {
      payload = options.raw;
    } else if (body !== undefined) {
      payload = options.msgpack ? pack(body) : JSON.stringify(body);
    }
    if (options.contentType !== null && payload !== undefined) {
      headers["content-type"] = options.contentType ?? (options.msgpack ? MSGPACK_TYPE : JSON_TYPE);
    }
    // Node's fetch takes any Uint8Array; the DOM typings want an ArrayBuffer-backed one.
    const init: RequestInit & { duplex?: "half" } = { method, headers, body: payload as BodyInit | undefined };
    if (payload instanceof ReadableStream) init.duplex = "half";
    const response = await fetch(`${this.url}${path}`, init);
    return { status: response.status, body: await decode(response), headers: response.headers };
  }

  get(path: string, options?: CallOptions): Promise<Reply> {
    return this.call("GET", path, undefined, options);
  }
  post(path: string, body?: unknown, options?: CallOptions): Promise<Reply> {
    return this.call("POST", path, body, options);
  }
  put(path: string, body: unknown, options?: CallOptions): Promise<Reply> {
    return this.call("PUT", path, body, options);
  }

  // SPEC section 4 routes, ids percent-encoded as a client must.
  at(sku: string, location: string): Promise<Reply> {
    return this.get(`/v1/availability/${enc(sku)}?location=${enc(location)}`);
  }
  all(sku: string): Promise<Reply> {
    return this.get(`/v1/availability/${enc(sku)}`);
  }
  forChannel(sku: string, channel: string): Promise<Reply> {
    return this.get(`/v1/availability/${enc(sku)}?channel=${enc(channel)}`);
  }
  setStock(items: unknown[]): Promise<Reply> {
    return this.post("/v1/stock", { items });
  }
  adjust(items: unknown[]): Promise<Reply> {
    return this.post("/v1/stock/adjust", { items });
  }
  hold(body: unknown): Promise<Reply> {
    return this.post("/v1/reservations", body);
  }
  reservation(id: string): Promise<Reply> {
    return this.get(`/v1/reservations/${enc(id)}`);
  }
  move(id: string, move: "commit" | "release" | "fulfill"): Promise<Reply> {
    return this.post(`/v1/reservations/${enc(id)}/${move}`);
  }
  putLocation(id: string, patch: unknown): Promise<Reply> {
    return this.put(`/v1/locations/${enc(id)}`, patch);
  }
  putChannel(id: string, patch: unknown): Promise<Reply> {
    return this.put(`/v1/channels/${enc(id)}`, patch);
  }
}

const enc = encodeURIComponent;

/** The figures of a position as SPEC section 2 defines them. */
function figures(f: Partial<PositionFigures>) {
  return { available: 0, onHand: 0, reserved: 0, committed: 0, safetyStock: 0, shortfall: 0, version: 0, ...f };
}

function expectError(reply: Reply, status: number, code: string, message?: RegExp): void {
  expect({ status: reply.status, error: reply.body?.error }).toEqual({ status, error: code });
  expect(typeof reply.body.message).toBe("string");
  if (message !== undefined) expect(reply.body.message).toMatch(message);
}

const RFC3339_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function untilReady(url: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const response = await fetch(`${url}/readyz`);
    await response.arrayBuffer();
    if (response.status === 200) return;
    await sleep(20);
  }
  throw new Error("engine never became ready");
}

// ---------------------------------------------------------------- the open server (no tokens)

describe("HTTP API, open server", () => {
  let server: { url: string; close(): Promise<void> };
  let api: Client;

  beforeAll(async () => {
    server = await startTestEngine();
    api = new Client(server.url.replace(/\/$/, ""));
    await untilReady(api.url);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  describe("operations", () => {
    test("healthz, readyz, metrics and openapi.json answer 200", async () => {
      const health = await api.get("/healthz");
      expect(health.status).toBe(200);
      const ready = await api.get("/readyz");
      expect(ready.status).toBe(200);

      await api.all("metrics-probe");
      const metrics = await api.get("/metrics");
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(metrics.body).toMatch(/omnistock_http_requests_total\{route="\/v1\/availability\/:sku",status="200"\} \d+/);
      expect(metrics.body).toMatch(/omnistock_http_request_duration_seconds_bucket\{[^}]*route="\/v1\/availability\/:sku"/);

      const openapi = await api.get("/openapi.json");
      expect(openapi.status).toBe(200);
      expect(openapi.body.openapi).toBe("3.1.0");
      expect(openapi.body.paths["/v1/reservations/{id}/commit"].post).toBeDefined();
      expect(openapi.body.components.schemas.StockSetRequest.additionalProperties).toBe(false);
    });

    test("unknown path is 404 not_found; known path with a wrong method is 405 with Allow", async () => {
      expectError(await api.get("/nope"), 404, "not_found");
      expectError(await api.get("/v1"), 404, "not_found");
      expectError(await api.get("/v1/stock/"), 404, "not_found");
      expectError(await api.post("/v1/reservations/r1/cancel"), 404, "not_found");
      expectError(await api.get("/v1/availability/a/b"), 404, "not_found"); // a raw "/" is a new segment

      const cases: [string, string, string][] = [
        ["DELETE", "/v1/availability/x", "GET"],
        ["PUT", "/v1/availability/query", "GET, POST"],
        ["GET", "/v1/stock", "POST"],
        ["GET", "/v1/stock/adjust", "POST"],
        ["GET", "/v1/reservations", "POST"],
        ["DELETE", "/v1/reservations/r1", "GET"],
        ["GET", "/v1/reservations/r1/commit", "POST"],
        ["POST", "/v1/locations", "GET"],
        ["GET", "/v1/locations/l1", "PUT"],
        ["POST", "/v1/channels", "GET"],
        ["POST", "/v1/channels/web", "PUT"],
        ["POST", "/healthz", "GET"],
        ["POST", "/metrics", "GET"],
      ];
      for (const [method, path, allow] of cases) {
        const reply = await api.call(method, path, method === "GET" || method === "DELETE" ? undefined : {});
        expectError(reply, 405, "method_not_allowed");
        expect(reply.headers.get("allow"), `${method} ${path}`).toBe(allow);
      }
    });
  });

  describe("ids round-trip through percent-encoding", () => {
    const skus = [
      "dot.sku",
      "star*sku",
      "gt>sku",
      "slash/sku",
      "percent%sku",
      "100%",
      "%2F-literal",
      "space sku",
      "Кроссовки-42",
      "query", // also the name of the batch route: GET reads the SKU
      "a.b*c>d/e%f g Ж",
      "x".repeat(128),
      "Ж".repeat(64), // 128 bytes
    ];
    const location = "store #1/Москва %?&=+";

    test.each(skus)("sku %j: stock write and reads", async (sku) => {
      const write = await api.setStock([{ sku, location, onHand: 7 }]);
      expect(write.status).toBe(200);
      expect(write.body).toEqual({
        applied: 1,
        positions: [{ sku, location, ...figures({ onHand: 7, available: 7, version: 1 }) }],
      });

      const at = await api.at(sku, location);
      expect(at.status).toBe(200);
      expect(at.body).toEqual({ sku, location, ...figures({ onHand: 7, available: 7, version: 1 }) });

      const all = await api.all(sku);
      expect(all.status).toBe(200);
      expect(all.body).toMatchObject({ sku, available: 7 });
      expect(all.body.locations).toEqual([
        expect.objectContaining({ location, ...figures({ onHand: 7, available: 7, version: 1 }) }),
      ]);
    });

    test("reservation ids with the same characters round-trip", async () => {
      const sku = "rid-sku";
      await api.setStock([{ sku, location: "rid-l", onHand: 100 }]);
      for (const id of ["order.1", "order*2", "order>3", "order/4", "order%5", "order 6", "заказ-7", "order%2F8"]) {
        const held = await api.hold({ id, lines: [{ sku, location: "rid-l", qty: 1 }] });
        expect(held.status, id).toBe(201);
        expect(held.body.id).toBe(id);
        const read = await api.reservation(id);
        expect(read.status, id).toBe(200);
        expect(read.body).toMatchObject({ id, status: "held" });
        const committed = await api.move(id, "commit");
        expect(committed.status, id).toBe(200);
        expect(committed.body).toMatchObject({ id, status: "committed" });
      }
    });

    test("an unknown position reads 200 with zeros and creates nothing", async () => {
      const at = await api.at("never-written", "nowhere");
      expect(at.status).toBe(200);
      expect(at.body).toEqual({ sku: "never-written", location: "nowhere", ...figures({}) });
      const all = await api.all("never-written");
      expect(all.status).toBe(200);
      expect(all.body).toEqual({ sku: "never-written", available: 0, locations: [] });
    });
  });

  describe("400 invalid_request", () => {
    test("bad ids in paths and query strings", async () => {
      expectError(await api.get(`/v1/availability/${"x".repeat(129)}`), 400, "invalid_request", /^sku: /);
      expectError(await api.get(`/v1/availability/${enc("Ж".repeat(65))}`), 400, "invalid_request", /^sku: .*128 bytes/);
      expectError(await api.get("/v1/availability/a%01b"), 400, "invalid_request", /^sku: .*control/);
      expectError(await api.get("/v1/availability/%E0%A4%A"), 400, "invalid_request", /^sku: .*percent/);
      expectError(await api.get("/v1/availability/%FF"), 400, "invalid_request", /^sku: /);
      expectError(await api.get("/v1/availability/"), 400, "invalid_request", /^sku: /);
      expectError(await api.at("ok", "x".repeat(65)), 400, "invalid_request", /^location: .*64 bytes/);
      expectError(await api.at("ok", ""), 400, "invalid_request", /^location: /);
      expectError(await api.forChannel("ok", "Web"), 400, "invalid_request", /^channel: /);
      expectError(await api.get("/v1/availability/ok?location=a&channel=web"), 400, "invalid_request", /location, channel/);
      expectError(await api.reservation("r".repeat(129)), 400, "invalid_request", /^id: /);
      expectError(await api.move("r".repeat(129), "commit"), 400, "invalid_request", /^id: /);
      expectError(await api.putLocation("l".repeat(65), {}), 400, "invalid_request", /^id: /);
      expectError(await api.putChannel("Web", {}), 400, "invalid_request", /^id: /);
    });

    test("bodies: numbers are integers, fields are named, unknown fields rejected", async () => {
      const cases: [string, unknown, RegExp][] = [
        ["/v1/stock", { items: [{ sku: "v", location: "l", onHand: 1.5 }] }, /^items\[0\]\.onHand: must be integer/],
        ["/v1/stock", { items: [{ sku: "v", location: "l", onHand: "3" }] }, /^items\[0\]\.onHand: must be integer/],
        ["/v1/stock", { items: [{ sku: "v", location: "l", onHand: "1e3" }] }, /^items\[0\]\.onHand: must be integer/],
        ["/v1/stock", { items: [{ sku: "v", location: "l", onHand: 1_000_000_001 }] }, /^items\[0\]\.onHand: /],
        ["/v1/stock", { items: [{ sku: "v", location: "l", onHand: -1 }] }, /^items\[0\]\.onHand: /],
        ["/v1/stock", { items: [{ sku: "v", location: "l", onhand: 3 }] }, /^items\[0\]\.onhand: unknown field/],
        ["/v1/stock", { items: [{ sku: "v", location: "l" }], extra: 1 }, /^extra: unknown field/],
        ["/v1/stock/adjust", { items: [{ sku: "v", location: "l", delta: 2.5 }] }, /^items\[0\]\.delta: must be integer/],
        ["/v1/stock/adjust", { items: [{ sku: "v", location: "l", delta: -1_000_000_001 }] }, /^items\[0\]\.delta: /],
        ["/v1/stock/adjust", { items: [{ sku: "v", location: "l" }] }, /^items\[0\]\.delta: required/],
        ["/v1/reservations", { id: "v", lines: [] }, /^lines: /],
        ["/v1/reservations", { id: "v", lines: [{ sku: "v", location: "l", qty: 0 }] }, /^lines\[0\]\.qty: /],
        ["/v1/reservations", { id: "v", ttlSeconds: 604_801, lines: [{ sku: "v", location: "l", qty: 1 }] }, /^ttlSeconds: /],
        ["/v1/reservations", { id: "v", ttlSeconds: 0, lines: [{ sku: "v", location: "l", qty: 1 }] }, /^ttlSeconds: /],
        ["/v1/reservations", { lines: [{ sku: "v", location: "l", qty: 1 }] }, /^id: required/],
        ["/v1/availability/query", { skus: ["a"], location: "l", channel: "web" }, /location, channel/],
        ["/v1/availability/query", { skus: Array.from({ length: 1001 }, (_, i) => `s${i}`) }, /^skus: /],
      ];
      for (const [path, body, message] of cases) {
        expectError(await api.post(path, body), 400, "invalid_request", message);
      }
      expectError(await api.putLocation("v-l", { safetyStock: 1.5 }), 400, "invalid_request", /^safetyStock: /);
      expectError(await api.putLocation("v-l", { enabled: "no" }), 400, "invalid_request", /^enabled: /);
      expectError(await api.putChannel("v-ch", { buffer: -1 }), 400, "invalid_request", /^buffer: /);
      expectError(await api.putChannel("v-ch", { locations: "all" }), 400, "invalid_request", /^locations: /);
    });

    test("malformed JSON or msgpack, and an empty body", async () => {
      expectError(await api.post("/v1/stock", undefined, { raw: "{", contentType: JSON_TYPE }), 400, "invalid_request");
      expectError(await api.post("/v1/stock", undefined, { raw: "", contentType: JSON_TYPE }), 400, "invalid_request");
      expectError(await api.post("/v1/stock"), 400, "invalid_request");
      const badPack = await api.post("/v1/stock", undefined, { raw: new Uint8Array([0x82, 0xa5]), contentType: MSGPACK_TYPE });
      expect(badPack.headers.get("content-type")).toBe(MSGPACK_TYPE);
      expectError(badPack, 400, "invalid_request");
    });

    test("a JSON number that is not an integer is 400 even where JSON.parse rounds it to one; 1.0 and 1e3 are integers", async () => {
      await api.setStock([{ sku: "rounded", location: "l", onHand: 1 }]);
      for (const literal of ["2.9999999999999999", "1.0000000000000001", "1e-400", "3000000000000000001e-18"]) {
        const raw = `{"items":[{"sku":"rounded","location":"l","delta":${literal}}]}`;
        expectError(await api.post("/v1/stock/adjust", undefined, { raw, contentType: JSON_TYPE }), 400, "invalid_request", new RegExp(`^body: ${literal.replace(".", "\\.")} is not an integer`));
      }
      expect((await api.at("rounded", "l")).body).toMatchObject({ onHand: 1, version: 1 });
      const whole = await api.post("/v1/stock/adjust", undefined, { raw: '{"items":[{"sku":"rounded","location":"l","delta":2.0},{"sku":"rounded","location":"l","delta":1e1},{"sku":"rounded","location":"l","delta":-1.0e1}]}', contentType: JSON_TYPE });
      expect(whole.status).toBe(200);
      expect((await api.at("rounded", "l")).body).toMatchObject({ onHand: 1 + 2 + 10 - 10, version: 2 });
      // A point inside a string is no number.
      const ids = await api.post("/v1/stock", undefined, { raw: '{"items":[{"sku":"v1.0000000000000001","location":"l.\\"2.9999999999999999","onHand":3}]}', contentType: JSON_TYPE });
      expect(ids.status).toBe(200);
      expect(ids.body.positions[0]).toMatchObject({ sku: "v1.0000000000000001", location: 'l."2.9999999999999999', onHand: 3 });
    });

    test("msgpack integers in 64-bit form (0xcf, 0xd3, as msgpackr writes a BigInt) are integers; past the range they are 400", async () => {
      const ok = await api.post("/v1/stock", { items: [{ sku: "i64", location: "l", onHand: 5n }] }, { msgpack: true });
      expect(ok.status).toBe(200);
      expect(ok.body.positions[0]).toMatchObject({ sku: "i64", onHand: 5 });
      const down = await api.post("/v1/stock/adjust", { items: [{ sku: "i64", location: "l", delta: -2n }] }, { msgpack: true });
      expect(down.status).toBe(200);
      expect(down.body.positions[0]).toMatchObject({ onHand: 3 });
      expectError(await api.post("/v1/stock", { items: [{ sku: "i64", location: "l", onHand: 2n ** 63n }] }, { msgpack: true }), 400, "invalid_request", /^items\[0\]\.onHand: /);
      expect((await api.at("i64", "l")).body).toMatchObject({ onHand: 3 });
    });

    test("a rejected request changes nothing", async () => {
      await api.setStock([{ sku: "atomic", location: "l", onHand: 5 }]);
      const bad = await api.setStock([
        { sku: "atomic", location: "l", onHand: 9 },
        { sku: "atomic", location: "l", onHand: 1.5 },
      ]);
      expect(bad.status).toBe(400);
      expect((await api.at("atomic", "l")).body).toMatchObject({ onHand: 5, version: 1 });
    });

    test("a body without Content-Type is JSON", async () => {
      const reply = await api.post("/v1/stock", undefined, {
        raw: new TextEncoder().encode(JSON.stringify({ items: [{ sku: "no-ct", location: "l", onHand: 2 }] })),
        contentType: null,
      });
      expect(reply.status).toBe(200);
      expect(reply.body.positions[0]).toMatchObject({ sku: "no-ct", onHand: 2 });
    });
  });

  describe("415 and 413", () => {
    test("415 unsupported_media_type for a non-JSON, non-msgpack body", async () => {
      const body = JSON.stringify({ items: [{ sku: "ct", location: "l", onHand: 1 }] });
      for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "application/xml"]) {
        expectError(await api.post("/v1/stock", undefined, { raw: body, contentType }), 415, "unsupported_media_type");
      }
      expectError(await api.put("/v1/locations/ct", undefined, { raw: "{}", contentType: "text/plain" }), 415, "unsupported_media_type");
      expect((await api.all("ct")).body).toEqual({ sku: "ct", available: 0, locations: [] });
    });

    test("413 payload_too_large above the default 16 MiB, declared or streamed", async () => {
      const declared = await api.post("/v1/stock", undefined, { raw: " ".repeat(16 * 1024 * 1024 + 1), contentType: JSON_TYPE });
      expectError(declared, 413, "payload_too_large");
      const chunk = new Uint8Array(1024 * 1024).fill(0x20);
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 17) controller.enqueue(chunk);
          else controller.close();
        },
      });
      expectError(await api.post("/v1/stock", undefined, { raw: stream, contentType: JSON_TYPE }), 413, "payload_too_large");
      // The connection pool is still usable afterwards.
      expect((await api.get("/healthz")).status).toBe(200);
    });
  });

  describe("msgpack", () => {
    test("a msgpack request gets a msgpack answer", async () => {
      const reply = await api.post("/v1/stock", { items: [{ sku: "mp", location: "Склад", onHand: 4 }] }, { msgpack: true });
      expect(reply.headers.get("content-type")).toBe(MSGPACK_TYPE);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        applied: 1,
        positions: [{ sku: "mp", location: "Склад", ...figures({ onHand: 4, available: 4, version: 1 }) }],
      });
    });

    test("Accept: application/msgpack on a read, and on an error", async () => {
      const read = await api.get(`/v1/availability/mp?location=${enc("Склад")}`, { accept: MSGPACK_TYPE });
      expect(read.headers.get("content-type")).toBe(MSGPACK_TYPE);
      expect(read.body).toMatchObject({ sku: "mp", location: "Склад", onHand: 4 });
      const missing = await api.get("/v1/availability/mp?channel=no-such-channel", { accept: MSGPACK_TYPE });
      expect(missing.headers.get("content-type")).toBe(MSGPACK_TYPE);
      expectError(missing, 404, "not_found");
    });

    test("a msgpack hold and a msgpack insufficient_stock", async () => {
      const held = await api.post("/v1/reservations", { id: "mp-r1", lines: [{ sku: "mp", location: "Склад", qty: 3 }] }, { msgpack: true });
      expect(held.status).toBe(201);
      expect(held.body).toMatchObject({ id: "mp-r1", status: "held" });
      const short = await api.post("/v1/reservations", { id: "mp-r2", lines: [{ sku: "mp", location: "Склад", qty: 3 }] }, { msgpack: true });
      expectError(short, 409, "insufficient_stock");
      expect(short.body.lines).toEqual([{ sku: "mp", location: "Склад", requested: 3, available: 1 }]);
    });

    test("integers only in msgpack too", async () => {
      const reply = await api.post("/v1/stock", { items: [{ sku: "mp", location: "l", onHand: 1.5 }] }, { msgpack: true });
      expectError(reply, 400, "invalid_request", /^items\[0\]\.onHand: must be integer/);
    });
  });

  describe("stock writes", () => {
    test("items apply in order; answer lists each distinct position once, first-seen order", async () => {
      const reply = await api.adjust([
        { sku: "ord", location: "b", delta: 3 },
        { sku: "ord", location: "a", delta: 5, reason: "receipt" },
        { sku: "ord", location: "b", delta: 5 },
        { sku: "ord", location: "b", delta: -7, reason: "sale" },
      ]);
      expect(reply.status).toBe(200);
      expect(reply.body.applied).toBe(4);
      expect(reply.body.positions.map((p: { location: string; onHand: number }) => [p.location, p.onHand])).toEqual([
        ["b", 1],
        ["a", 5],
      ]);
    });

    test("409 negative_on_hand and on_hand_limit reject the whole request", async () => {
      await api.setStock([{ sku: "lim", location: "l", onHand: 5 }]);
      expectError(
        await api.adjust([
          { sku: "lim", location: "l", delta: 2 },
          { sku: "lim", location: "l", delta: -8 },
        ]),
        409,
        "negative_on_hand",
      );
      expect((await api.at("lim", "l")).body).toMatchObject({ onHand: 5, version: 1 });

      await api.setStock([{ sku: "lim", location: "l", onHand: 1_000_000_000 }]);
      expectError(await api.adjust([{ sku: "lim", location: "l", delta: 1 }]), 409, "on_hand_limit");
      expect((await api.at("lim", "l")).body).toMatchObject({ onHand: 1_000_000_000, version: 2 });
    });

    test("a write that changes nothing changes no version", async () => {
      await api.setStock([{ sku: "same", location: "l", onHand: 3 }]);
      const again = await api.setStock([{ sku: "same", location: "l", onHand: 3 }]);
      expect(again.status).toBe(200);
      expect(again.body.positions[0]).toMatchObject({ onHand: 3, version: 1 });
    });

    test("a count below demand reports shortfall instead of refusing", async () => {
      await api.setStock([{ sku: "short", location: "l", onHand: 5 }]);
      expect((await api.hold({ id: "short-r", lines: [{ sku: "short", location: "l", qty: 5 }] })).status).toBe(201);
      const count = await api.setStock([{ sku: "short", location: "l", onHand: 3 }]);
      expect(count.status).toBe(200);
      expect(count.body.positions[0]).toMatchObject({ onHand: 3, reserved: 5, available: 0, shortfall: 2 });
    });
  });

  describe("safety stock, locations and channels", () => {
    test("safety stock: the position's own value, else the location default, else 0", async () => {
      const sku = "ss";
      const loc = "ss-store";
      expect((await api.setStock([{ sku, location: loc, onHand: 10 }])).body.positions[0]).toMatchObject(
        figures({ onHand: 10, available: 10, safetyStock: 0, version: 1 }),
      );

      const location = await api.putLocation(loc, { safetyStock: 3, kind: "store", name: "Main street" });
      expect(location.status).toBe(200);
      expect(location.body).toEqual({ id: loc, enabled: true, safetyStock: 3, kind: "store", name: "Main street" });
      expect((await api.at(sku, loc)).body).toMatchObject({ safetyStock: 3, available: 7, version: 2 });

      const own = await api.setStock([{ sku, location: loc, safetyStock: 1 }]);
      expect(own.body.positions[0]).toMatchObject({ onHand: 10, safetyStock: 1, available: 9, version: 3 });

      const cleared = await api.setStock([{ sku, location: loc, safetyStock: null }]);
      expect(cleared.body.positions[0]).toMatchObject({ safetyStock: 3, available: 7, version: 4 });

      // Setting the value it already inherits changes no figure, so no version.
      const same = await api.setStock([{ sku, location: loc, safetyStock: 3 }]);
      expect(same.body.positions[0]).toMatchObject({ safetyStock: 3, available: 7, version: 4 });

      const high = await api.setStock([{ sku, location: loc, safetyStock: 20 }]);
      expect(high.body.positions[0]).toMatchObject({ onHand: 10, safetyStock: 20, available: 0, shortfall: 0 });

      // A PUT updates only the fields given.
      const renamed = await api.putLocation(loc, { name: null });
      expect(renamed.body).toEqual({ id: loc, enabled: true, safetyStock: 3, kind: "store", name: null });
    });

    test("a location PUT with no fields creates it with the defaults; GET /v1/locations lists it", async () => {
      const created = await api.putLocation("Пункт выдачи/7", {});
      expect(created.status).toBe(200);
      expect(created.body).toEqual({ id: "Пункт выдачи/7", enabled: true, safetyStock: 0, kind: null, name: null });
      const list = await api.get("/v1/locations");
      expect(list.status).toBe(200);
      expect(list.body.items).toEqual(
        expect.arrayContaining([{ id: "Пункт выдачи/7", enabled: true, safetyStock: 0, kind: null, name: null }]),
      );
    });

    test("a disabled location promises nothing and takes no holds", async () => {
      const sku = "dis";
      await api.setStock([
        { sku, location: "dis-a", onHand: 10 },
        { sku, location: "dis-b", onHand: 4 },
      ]);
      const disabled = await api.putLocation("dis-b", { enabled: false });
      expect(disabled.body).toMatchObject({ id: "dis-b", enabled: false });

      expect((await api.at(sku, "dis-b")).body).toMatchObject({ onHand: 4, available: 0 });
      const all = await api.all(sku);
      expect(all.body.available).toBe(10);
      expect(all.body.locations).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ location: "dis-a", available: 10, onHand: 10 }),
          expect.objectContaining({ location: "dis-b", available: 0, onHand: 4, enabled: false }),
        ]),
      );

      expectError(await api.hold({ id: "dis-r", lines: [{ sku, location: "dis-b", qty: 1 }] }), 409, "location_disabled");
      expect((await api.reservation("dis-r")).status).toBe(404);

      await api.putLocation("dis-b", { enabled: true });
      expect((await api.at(sku, "dis-b")).body).toMatchObject({ onHand: 4, available: 4 });
    });

    test("channels: buffer, location list, channel ATP, and 404 for an unknown channel", async () => {
      const sku = "ch-sku";
      await api.setStock([
        { sku, location: "ch-a", onHand: 10 },
        { sku, location: "ch-b", onHand: 5 },
        { sku, location: "ch-c", onHand: 1 },
        { sku, location: "ch-d", onHand: 8 },
      ]);
      const channel = await api.putChannel("web-test", { locations: ["ch-a", "ch-b", "ch-a", "ch-c"], buffer: 2 });
      expect(channel.status).toBe(200);
      expect(channel.body).toEqual({ id: "web-test", locations: ["ch-a", "ch-b", "ch-c"], buffer: 2 });

      const read = await api.forChannel(sku, "web-test");
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ sku, channel: "web-test", available: 8 + 3 + 0 });
      expect([...read.body.locations].sort((x: { location: string }, y: { location: string }) => x.location.localeCompare(y.location))).toEqual([
        { location: "ch-a", available: 8 },
        { location: "ch-b", available: 3 },
        { location: "ch-c", available: 0 },
      ]);
      expect((await api.all(sku)).body.available).toBe(24); // network ATP ignores channels

      // Only the fields given change; null means every location.
      const everywhere = await api.putChannel("web-test", { locations: null });
      expect(everywhere.body).toEqual({ id: "web-test", locations: null, buffer: 2 });
      expect((await api.forChannel(sku, "web-test")).body.available).toBe(8 + 3 + 0 + 6);

      const noBuffer = await api.putChannel("web-test", { buffer: 0 });
      expect(noBuffer.body).toEqual({ id: "web-test", locations: null, buffer: 0 });

      const defaults = await api.putChannel("pos-test", {});
      expect(defaults.body).toEqual({ id: "pos-test", locations: null, buffer: 0 });

      const list = await api.get("/v1/channels");
      expect(list.status).toBe(200);
      expect(list.body.items).toEqual(
        expect.arrayContaining([
          { id: "web-test", locations: null, buffer: 0 },
          { id: "pos-test", locations: null, buffer: 0 },
        ]),
      );

      expectError(await api.forChannel(sku, "no-such-channel"), 404, "not_found");
      expectError(await api.post("/v1/availability/query", { skus: [sku], channel: "no-such-channel" }), 404, "not_found");
      expectError(
        await api.hold({ id: "ch-unknown", channel: "no-such-channel", lines: [{ sku, location: "ch-a", qty: 1 }] }),
        404,
        "not_found",
      );
    });

    test("channel holds: buffer applies, and a location outside the channel is 409", async () => {
      const sku = "chh";
      await api.setStock([
        { sku, location: "chh-in", onHand: 5 },
        { sku, location: "chh-out", onHand: 5 },
      ]);
      await api.putChannel("market-test", { locations: ["chh-in"], buffer: 2 });

      const short = await api.hold({ id: "chh-1", channel: "market-test", lines: [{ sku, location: "chh-in", qty: 4 }] });
      expectError(short, 409, "insufficient_stock");
      expect(short.body.lines).toEqual([{ sku, location: "chh-in", requested: 4, available: 3 }]);

      const held = await api.hold({ id: "chh-2", channel: "market-test", lines: [{ sku, location: "chh-in", qty: 3 }] });
      expect(held.status).toBe(201);
      expect(held.body).toMatchObject({ id: "chh-2", status: "held", channel: "market-test" });
      expect((await api.forChannel(sku, "market-test")).body.available).toBe(0);

      expectError(
        await api.hold({ id: "chh-3", channel: "market-test", lines: [{ sku, location: "chh-out", qty: 1 }] }),
        409,
        "location_not_in_channel",
      );
    });

    test("POST /v1/availability/query answers one item per SKU in request order", async () => {
      await api.setStock([
        { sku: "q1", location: "q-l", onHand: 1 },
        { sku: "q2", location: "q-l", onHand: 2 },
      ]);
      await api.putChannel("q-chan", { buffer: 1 });

      const at = await api.post("/v1/availability/query", { skus: ["q2", "q-none", "q1"], location: "q-l" });
      expect(at.status).toBe(200);
      expect(at.body).toEqual({
        items: [
          { sku: "q2", location: "q-l", ...figures({ onHand: 2, available: 2, version: 1 }) },
          { sku: "q-none", location: "q-l", ...figures({}) },
          { sku: "q1", location: "q-l", ...figures({ onHand: 1, available: 1, version: 1 }) },
        ],
      });

      const all = await api.post("/v1/availability/query", { skus: ["q1", "q2"] });
      expect(all.body.items.map((i: { sku: string; available: number }) => [i.sku, i.available])).toEqual([
        ["q1", 1],
        ["q2", 2],
      ]);
      expect(all.body.items[0].locations).toEqual([expect.objectContaining({ location: "q-l", onHand: 1 })]);

      const channel = await api.post("/v1/availability/query", { skus: ["q2", "q1"], channel: "q-chan" });
      expect(channel.body.items).toEqual([
        { sku: "q2", channel: "q-chan", available: 1, locations: [{ location: "q-l", available: 1 }] },
        { sku: "q1", channel: "q-chan", available: 0, locations: [{ location: "q-l", available: 0 }] },
      ]);
    });
  });

  describe("reservations", () => {
    test("channel null is no channel: the answer sent back as a request is the same hold", async () => {
      await api.setStock([{ sku: "echo", location: "l", onHand: 3 }]);
      const held = await api.hold({ id: "echo-1", channel: null, lines: [{ sku: "echo", location: "l", qty: 1 }] });
      expect(held.status).toBe(201);
      expect(held.body).toMatchObject({ channel: null, status: "held" });
      const { id, channel, lines } = held.body;
      const again = await api.hold({ id, channel, lines });
      expect(again.status).toBe(200);
      expect((await api.hold({ id, lines })).status).toBe(200); // absent is the same as null
      expectError(await api.hold({ id, channel: "web", lines }), 409, "idempotency_conflict"); // a channel is another hold
      expect((await api.at("echo", "l")).body).toMatchObject({ reserved: 1, version: 2 });
    });

    test("hold → commit → fulfill, every move idempotent", async () => {
      const sku = "life";
      await api.setStock([{ sku, location: "l", onHand: 10 }]);
      const before = Date.now();
      const held = await api.hold({ id: "life-1", lines: [{ sku, location: "l", qty: 4 }] });
      expect(held.status).toBe(201);
      expect(held.body).toEqual({
        id: "life-1",
        status: "held",
        channel: null,
        lines: [{ sku, location: "l", qty: 4 }],
        expiresAt: expect.stringMatching(RFC3339_UTC_MS),
      });
      const expiresAt = Date.parse(held.body.expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 900_000 - 1_000); // default TTL 900 s
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 900_000 + 1_000);
      expect((await api.at(sku, "l")).body).toMatchObject({ onHand: 10, reserved: 4, available: 6, version: 2 });

      const repeat = await api.hold({ id: "life-1", lines: [{ sku, location: "l", qty: 4 }], ttlSeconds: 60 });
      expect(repeat.status).toBe(200); // the TTL is not compared
      expect(repeat.body).toEqual(held.body);
      expect((await api.at(sku, "l")).body).toMatchObject({ reserved: 4, version: 2 });

      const committed = await api.move("life-1", "commit");
      expect(committed.status).toBe(200);
      expect(committed.body).toMatchObject({ id: "life-1", status: "committed", expiresAt: held.body.expiresAt });
      expect((await api.at(sku, "l")).body).toMatchObject({ reserved: 0, committed: 4, available: 6 });
      expect((await api.move("life-1", "commit")).body.status).toBe("committed");

      const fulfilled = await api.move("life-1", "fulfill");
      expect(fulfilled.status).toBe(200);
      expect(fulfilled.body.status).toBe("fulfilled");
      expect((await api.at(sku, "l")).body).toMatchObject({ onHand: 6, reserved: 0, committed: 0, available: 6 });
      expect((await api.move("life-1", "fulfill")).status).toBe(200);

      expectError(await api.move("life-1", "release"), 409, "invalid_transition");
      expectError(await api.move("life-1", "commit"), 409, "invalid_transition");
      expect((await api.reservation("life-1")).body).toMatchObject({ id: "life-1", status: "fulfilled" });
    });

    test("release from held and from committed; impossible moves are 409 invalid_transition", async () => {
      const sku = "rel";
      await api.setStock([{ sku, location: "l", onHand: 10 }]);
      await api.hold({ id: "rel-1", lines: [{ sku, location: "l", qty: 2 }] });
      expectError(await api.move("rel-1", "fulfill"), 409, "invalid_transition"); // fulfill a held one
      expect((await api.move("rel-1", "release")).body.status).toBe("released");
      expect((await api.move("rel-1", "release")).status).toBe(200);
      expectError(await api.move("rel-1", "commit"), 409, "invalid_transition"); // commit a released one
      expect((await api.at(sku, "l")).body).toMatchObject({ reserved: 0, available: 10 });

      const again = await api.hold({ id: "rel-1", lines: [{ sku, location: "l", qty: 2 }] });
      expect(again.status).toBe(200);
      expect(again.body.status).toBe("released");

      await api.hold({ id: "rel-2", lines: [{ sku, location: "l", qty: 3 }] });
      await api.move("rel-2", "commit");
      expect((await api.move("rel-2", "release")).body.status).toBe("released");
      expect((await api.at(sku, "l")).body).toMatchObject({ reserved: 0, committed: 0, onHand: 10, available: 10 });
    });

    test("unknown reservations are 404", async () => {
      expectError(await api.reservation("no-such-reservation"), 404, "not_found");
      expectError(await api.move("no-such-reservation", "commit"), 404, "not_found");
    });

    test("lines on one position merge; all-or-nothing with every short line listed", async () => {
      const sku = "merge";
      await api.setStock([
        { sku, location: "a", onHand: 5 },
        { sku, location: "b", onHand: 1 },
      ]);
      const short = await api.hold({
        id: "merge-1",
        lines: [
          { sku, location: "a", qty: 3 },
          { sku, location: "b", qty: 2 },
          { sku, location: "a", qty: 3 },
        ],
      });
      expectError(short, 409, "insufficient_stock");
      expect(short.body.lines).toEqual([
        { sku, location: "a", requested: 6, available: 5 },
        { sku, location: "b", requested: 2, available: 1 },
      ]);
      expect((await api.at(sku, "a")).body).toMatchObject({ reserved: 0, version: 1 });

      const held = await api.hold({
        id: "merge-2",
        lines: [
          { sku, location: "a", qty: 2 },
          { sku, location: "b", qty: 1 },
          { sku, location: "a", qty: 3 },
        ],
      });
      expect(held.status).toBe(201);
      expect(held.body.lines).toEqual([
        { sku, location: "a", qty: 5 },
        { sku, location: "b", qty: 1 },
      ]);

      // Same merged lines in another order: the same hold.
      const reordered = await api.hold({
        id: "merge-2",
        lines: [
          { sku, location: "b", qty: 1 },
          { sku, location: "a", qty: 5 },
        ],
      });
      expect(reordered.status).toBe(200);
    });

    test("a hold at an unknown location is insufficient_stock and creates nothing", async () => {
      const short = await api.hold({ id: "nowhere-1", lines: [{ sku: "nowhere", location: "no-such-place", qty: 1 }] });
      expectError(short, 409, "insufficient_stock");
      expect(short.body.lines).toEqual([{ sku: "nowhere", location: "no-such-place", requested: 1, available: 0 }]);
      const list = await api.get("/v1/locations");
      expect(list.body.items.map((l: { id: string }) => l.id)).not.toContain("no-such-place");
    });

    test("409 idempotency_conflict: same id, other lines or channel", async () => {
      const sku = "idem";
      await api.setStock([{ sku, location: "l", onHand: 10 }]);
      await api.putChannel("idem-web", {});
      expect((await api.hold({ id: "idem-1", lines: [{ sku, location: "l", qty: 1 }] })).status).toBe(201);
      expectError(await api.hold({ id: "idem-1", lines: [{ sku, location: "l", qty: 2 }] }), 409, "idempotency_conflict");
      expectError(
        await api.hold({ id: "idem-1", channel: "idem-web", lines: [{ sku, location: "l", qty: 1 }] }),
        409,
        "idempotency_conflict",
      );
      expectError(
        await api.hold({ id: "idem-1", lines: [{ sku, location: "l", qty: 1 }, { sku, location: "l2", qty: 1 }] }),
        409,
        "idempotency_conflict",
      );
      expect((await api.at(sku, "l")).body).toMatchObject({ reserved: 1 });
    });

    test("410 reservation_expired after the TTL passes; the units come back", async () => {
      const sku = "ttl";
      await api.setStock([{ sku, location: "l", onHand: 3 }]);
      const held = await api.hold({ id: "ttl-1", ttlSeconds: 1, lines: [{ sku, location: "l", qty: 2 }] });
      expect(held.status).toBe(201);
      expect(Date.parse(held.body.expiresAt) - Date.now()).toBeLessThanOrEqual(1_000);
      await sleep(2_200);

      expectError(await api.move("ttl-1", "commit"), 410, "reservation_expired");
      expectError(await api.move("ttl-1", "release"), 410, "reservation_expired");
      expectError(await api.move("ttl-1", "fulfill"), 410, "reservation_expired");
      expect((await api.reservation("ttl-1")).body).toMatchObject({ id: "ttl-1", status: "expired", expiresAt: held.body.expiresAt });
      expect((await api.at(sku, "l")).body).toMatchObject({ reserved: 0, available: 3 });

      const repeat = await api.hold({ id: "ttl-1", ttlSeconds: 1, lines: [{ sku, location: "l", qty: 2 }] });
      expect(repeat.status).toBe(200);
      expect(repeat.body.status).toBe("expired");
    }, 15_000);

    test("2,000 concurrent holds of 1 unit on 100 units: exactly 100 succeed", async () => {
      const sku = "rush";
      await api.setStock([{ sku, location: "l", onHand: 100 }]);
      const replies = await Promise.all(
        Array.from({ length: 2_000 }, (_, i) => api.hold({ id: `rush-${i}`, lines: [{ sku, location: "l", qty: 1 }] })),
      );
      const statuses = new Map<number, number>();
      for (const reply of replies) statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      expect(Object.fromEntries(statuses)).toEqual({ 201: 100, 409: 1_900 });
      for (const reply of replies) {
        if (reply.status === 409) expect(reply.body.error).toBe("insufficient_stock");
      }
      expect((await api.at(sku, "l")).body).toMatchObject({ onHand: 100, reserved: 100, available: 0, shortfall: 0 });
    }, 60_000);

    test("the same hold sent 50 times at once: one 201, 49 × 200, held once", async () => {
      const sku = "dup";
      await api.setStock([{ sku, location: "l", onHand: 100 }]);
      const body = { id: "dup-1", lines: [{ sku, location: "l", qty: 7 }] };
      const replies = await Promise.all(Array.from({ length: 50 }, () => api.hold(body)));
      expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
      expect(replies.filter((r) => r.status === 200)).toHaveLength(49);
      for (const reply of replies) expect(reply.body).toMatchObject({ id: "dup-1", status: "held" });
      expect((await api.at(sku, "l")).body).toMatchObject({ reserved: 7, available: 93, version: 2 });
    }, 30_000);
  });
});

// ---------------------------------------------------------------- tokens

describe("HTTP API with OMNISTOCK_TOKENS_FILE", () => {
  let server: { url: string; close(): Promise<void> };
  let api: Client;
  const reader = "tok-reader";
  const reserver = "tok-reserver";
  const writer = "tok-writer";
  const admin = "tok-admin";
  const everything = "tok-all";

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "omnistock-tokens-"));
    const tokensFile = join(dir, "tokens.json");
    writeFileSync(
      tokensFile,
      JSON.stringify([
        { token: reader, scopes: ["read"] },
        { token: reserver, scopes: ["reserve"] },
        { token: writer, scopes: ["write"] },
        { token: admin, scopes: ["admin"] },
        { token: everything, scopes: ["read", "reserve", "write", "admin"] },
      ]),
    );
    server = await startTestEngine({ tokensFile, env: { OMNISTOCK_BODY_MAX: "4096" } });
    api = new Client(server.url.replace(/\/$/, ""));
    await untilReady(api.url);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  test("operations routes are open", async () => {
    for (const path of ["/healthz", "/readyz", "/metrics", "/openapi.json"]) {
      expect((await api.get(path)).status, path).toBe(200);
    }
  });

  test("401 without a token or with an unknown one, with WWW-Authenticate", async () => {
    const none = await api.all("x");
    expectError(none, 401, "unauthorized");
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expectError(await api.as("nope").all("x"), 401, "unauthorized");
    expectError(await api.get("/v1/availability/x", { token: "" }), 401, "unauthorized");
    expectError(await api.get("/v1/channels"), 401, "unauthorized");
    expectError(await api.get("/v1/availability/x", { token: reader.slice(0, -1) }), 401, "unauthorized");
  });

  test("each route needs its scope: read, reserve, write, admin", async () => {
    const cases: [string, string, unknown, string][] = [
      ["GET", "/v1/availability/x?location=l", undefined, reader],
      ["POST", "/v1/availability/query", { skus: ["x"] }, reader],
      ["GET", "/v1/reservations/none", undefined, reader],
      ["GET", "/v1/locations", undefined, reader],
      ["GET", "/v1/channels", undefined, reader],
      ["POST", "/v1/stock", { items: [{ sku: "x", location: "l", onHand: 1 }] }, writer],
      ["POST", "/v1/stock/adjust", { items: [{ sku: "x", location: "l", delta: 1 }] }, writer],
      ["POST", "/v1/reservations", { id: "scoped", lines: [{ sku: "x", location: "l", qty: 1 }] }, reserver],
      ["POST", "/v1/reservations/scoped/commit", undefined, reserver],
      ["POST", "/v1/reservations/scoped/release", undefined, reserver],
      ["POST", "/v1/reservations/scoped/fulfill", undefined, reserver],
      ["PUT", "/v1/locations/scoped-l", {}, admin],
      ["PUT", "/v1/channels/scoped-c", {}, admin],
    ];
    const tokens = [reader, reserver, writer, admin];
    for (const [method, path, body, needed] of cases) {
      for (const token of tokens) {
        if (token === needed) continue;
        expectError(await api.call(method, path, body, { token }), 403, "forbidden");
      }
      const allowed = await api.call(method, path, body, { token: needed });
      expect([401, 403], `${method} ${path} with ${needed}`).not.toContain(allowed.status);
    }
    expect((await api.call("GET", "/v1/locations", undefined, { token: everything })).status).toBe(200);
  });

  test("auth is judged before the body: 401, then 403, then 400/413/415", async () => {
    const malformed = { raw: "{", contentType: JSON_TYPE };
    expectError(await api.post("/v1/stock", undefined, malformed), 401, "unauthorized");
    expectError(await api.post("/v1/stock", undefined, { ...malformed, token: reader }), 403, "forbidden");
    expectError(await api.post("/v1/stock", undefined, { ...malformed, token: writer }), 400, "invalid_request");

    const invalid = { items: [{ sku: "x", location: "l", onHand: 1.5 }] };
    expectError(await api.post("/v1/stock", invalid), 401, "unauthorized");
    expectError(await api.post("/v1/stock", invalid, { token: reserver }), 403, "forbidden");
    expectError(await api.post("/v1/stock", invalid, { token: writer }), 400, "invalid_request");

    const big = { raw: " ".repeat(5000), contentType: JSON_TYPE };
    expectError(await api.post("/v1/stock", undefined, big), 401, "unauthorized");
    expectError(await api.post("/v1/stock", undefined, { ...big, token: reader }), 403, "forbidden");
    expectError(await api.post("/v1/stock", undefined, { ...big, token: writer }), 413, "payload_too_large");

    const text = { raw: "{}", contentType: "text/plain" };
    expectError(await api.post("/v1/stock", undefined, text), 401, "unauthorized");
    expectError(await api.post("/v1/stock", undefined, { ...text, token: admin }), 403, "forbidden");
    expectError(await api.post("/v1/stock", undefined, { ...text, token: writer }), 415, "unsupported_media_type");

    expectError(await api.get(`/v1/availability/${"x".repeat(129)}`), 401, "unauthorized");
    expectError(await api.get(`/v1/availability/${"x".repeat(129)}`, { token: writer }), 403, "forbidden");
    expectError(await api.get(`/v1/availability/${"x".repeat(129)}`, { token: reader }), 400, "invalid_request");
  });

  test("OMNISTOCK_BODY_MAX bounds bodies", async () => {
    const items = [{ sku: "limit", location: "l", onHand: 1 }];
    const fits = JSON.stringify({ items }).padEnd(4096, " ");
    expect((await api.post("/v1/stock", undefined, { raw: fits, contentType: JSON_TYPE, token: writer })).status).toBe(200);
    expectError(
      await api.post("/v1/stock", undefined, { raw: `${fits} `, contentType: JSON_TYPE, token: writer }),
      413,
      "payload_too_large",
    );
  });
});

// ---------------------------------------------------------------- stub engine

/** An engine that is never ready, or whose reads throw: states the real one cannot be put in on demand. */
function stubEngine(behaviour: { ready: boolean; readsThrow: boolean }): Engine {
  const fail = (): never => {
    throw new Error("stub engine: simulated bug");
  };
  const reply = (): EngineReply => (behaviour.readsThrow ? fail() : { status: 200, body: {} });
  const write = async (): Promise<EngineReply> => (behaviour.readsThrow ? fail() : { status: 200, body: {} });
  return {
    isReady: () => behaviour.ready,
    availabilityAt: reply,
    availabilityAll: reply,
    availabilityForChannel: reply,
    query: reply,
    getReservation: reply,
    listLocations: reply,
    listChannels: reply,
    setStock: write,
    adjustStock: write,
    hold: write,
    move: write,
    putLocation: write,
    putChannel: write,
  };
}

describe("HTTP API around the engine's lifecycle (stub engine)", () => {
  test("503 not_ready on every /v1 route until recovery finishes; operations answer", async () => {
    const behaviour = { ready: false, readsThrow: false };
    const running = await startHttpServer(stubEngine(behaviour), {
      host: "127.0.0.1",
      port: 0,
      bodyMaxBytes: 16 * 1024 * 1024,
      tokens: null,
    });
    try {
      const api = new Client(`http://127.0.0.1:${running.port}`);
      expect((await api.get("/healthz")).status).toBe(200);
      expectError(await api.get("/readyz"), 503, "not_ready");
      const routes: [string, string, unknown][] = [
        ["GET", "/v1/availability/x", undefined],
        ["POST", "/v1/availability/query", { skus: ["x"] }],
        ["POST", "/v1/stock", { items: [{ sku: "x", location: "l", onHand: 1 }] }],
        ["POST", "/v1/stock/adjust", { items: [{ sku: "x", location: "l", delta: 1 }] }],
        ["POST", "/v1/reservations", { id: "r", lines: [{ sku: "x", location: "l", qty: 1 }] }],
        ["GET", "/v1/reservations/r", undefined],
        ["POST", "/v1/reservations/r/commit", undefined],
        ["PUT", "/v1/locations/l", {}],
        ["GET", "/v1/locations", undefined],
        ["PUT", "/v1/channels/web", {}],
        ["GET", "/v1/channels", undefined],
      ];
      for (const [method, path, body] of routes) expectError(await api.call(method, path, body), 503, "not_ready");
      behaviour.ready = true;
      expect((await api.get("/readyz")).status).toBe(200);
      expect((await api.get("/v1/availability/x")).status).toBe(200);
    } finally {
      running.close();
    }
  });

  test("an engine bug answers 500 internal and the server keeps serving", async () => {
    const running = await startHttpServer(stubEngine({ ready: true, readsThrow: true }), {
      host: "127.0.0.1",
      port: 0,
      bodyMaxBytes: 16 * 1024 * 1024,
      tokens: null,
    });
    try {
      const api = new Client(`http://127.0.0.1:${running.port}`);
      expectError(await api.get("/v1/availability/x"), 500, "internal");
      expectError(await api.post("/v1/stock", { items: [{ sku: "x", location: "l", onHand: 1 }] }), 500, "internal");
      expect((await api.get("/healthz")).status).toBe(200);
    } finally {
      running.close();
    }
  });
});
