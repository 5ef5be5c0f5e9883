// Proves that a real omnistock (configured by OMNISTOCK_* variables, HTTP on
// a loopback port, the sweeper on its own timer) purges finished
// reservations after OMNISTOCK_RESERVATION_RETENTION_SECONDS: with room for
// 16 reservations and retention 0 it keeps taking holds long past that
// capacity, a purged id reads 404 and takes a new hold, and /metrics counts
// the purges and the reservations kept. Also the setting's parsing, as a table.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { startTestEngine, type TestEngine } from "./support/engine.js";

const CAPACITY = 16;

async function call(engine: TestEngine, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const response = await fetch(`${engine.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: response.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : text };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("reservation retention through a real engine", () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({
      env: { OMNISTOCK_RESERVATIONS_MAX: String(CAPACITY), OMNISTOCK_RESERVATION_RETENTION_SECONDS: "0", OMNISTOCK_EXPIRY_INTERVAL_MS: "20" },
    });
    const stock = await call(engine, "POST", "/v1/stock", { items: [{ sku: "tee", location: "dc", onHand: 1_000_000 }] });
    expect(stock.status).toBe(200);
  });
  afterAll(() => engine.close());

  it(`takes ${10 * CAPACITY} holds with room for ${CAPACITY}: full while ${CAPACITY} are held, room again once released ones are purged`, async () => {
    const hold = (id: string) => call(engine, "POST", "/v1/reservations", { id, lines: [{ sku: "tee", location: "dc", qty: 1 }] });
    for (let round = 0; round < 10; round++) {
      const ids = Array.from({ length: CAPACITY }, (_, k) => `order-${round}-${k}`);
      for (const id of ids) {
        let reply = await hold(id);
        // The last round's released reservations go at the sweeper's next run (every 20 ms here).
        for (let tries = 0; reply.status === 507 && tries < 200; tries++) {
          await sleep(10);
          reply = await hold(id);
        }
        expect(reply.status, id).toBe(201);
      }
      const full = await hold(`order-${round}-one-too-many`);
      expect(full.status).toBe(507);
      expect(full.body.error).toBe("ledger_full");
      for (const id of ids) expect((await call(engine, "POST", `/v1/reservations/${id}/release`)).status).toBe(200);
    }
    const tee = await call(engine, "GET", "/v1/availability/tee?location=dc");
    expect(tee.body).toMatchObject({ available: 1_000_000, reserved: 0 });
    // Every reservation was released and the retention is 0: the sweeper purges them all.
    const scrape = async (): Promise<{ purged: number; kept: number }> => {
      const text = (await call(engine, "GET", "/metrics")).body as string;
      return {
        purged: Number(/^omnistock_reservations_purged_total (\d+)$/m.exec(text)?.[1]),
        kept: Number(/^omnistock_ledger_reservations (\d+)$/m.exec(text)?.[1]),
      };
    };
    let figures = await scrape();
    for (let tries = 0; figures.kept !== 0 && tries < 200; tries++) {
      await sleep(10);
      figures = await scrape();
    }
    expect(figures.kept).toBe(0);
    expect(figures.purged).toBeGreaterThanOrEqual(10 * CAPACITY);
  });

  it("answers 404 for a purged id, and a hold with it is a new reservation (201)", async () => {
    const hold = { id: "again", lines: [{ sku: "tee", location: "dc", qty: 2 }] };
    expect((await call(engine, "POST", "/v1/reservations", hold)).status).toBe(201);
    expect((await call(engine, "POST", "/v1/reservations/again/release")).status).toBe(200);
    let read = await call(engine, "GET", "/v1/reservations/again");
    for (let tries = 0; read.status === 200 && tries < 200; tries++) {
      expect(read.body.status).toBe("released");
      await sleep(10);
      read = await call(engine, "GET", "/v1/reservations/again");
    }
    expect(read.status).toBe(404);
    const renewed = await call(engine, "POST", "/v1/reservations", { ...hold, lines: [{ sku: "tee", location: "dc", qty: 5 }] });
    expect(renewed.status).toBe(201);
    expect(renewed.body).toMatchObject({ id: "again", status: "held", lines: [{ sku: "tee", location: "dc", qty: 5 }] });
  });
});

describe("OMNISTOCK_RESERVATION_RETENTION_SECONDS", () => {
  it.each([
    [undefined, 86_400],
    ["0", 0],
    ["86400", 86_400],
    ["31536000", 31_536_000],
  ])("%s reads as %i seconds", (raw, seconds) => {
    const env = raw === undefined ? {} : { OMNISTOCK_RESERVATION_RETENTION_SECONDS: raw };
    expect(loadConfig(env).reservationRetentionSeconds).toBe(seconds);
  });

  it.each(["31536001", "-1", "1.5", "7d", " 60"])("%s stops the start with a message naming the variable", (raw) => {
    expect(() => loadConfig({ OMNISTOCK_RESERVATION_RETENTION_SECONDS: raw })).toThrow(/OMNISTOCK_RESERVATION_RETENTION_SECONDS/);
  });
});
