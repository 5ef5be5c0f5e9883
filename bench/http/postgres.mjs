// Baseline (c): the same service on PostgreSQL, the way it is usually built. A
// hold is one transaction on a pooled connection: insert the reservation (its
// id is the primary key, so a repeat is detected), then per merged line, in
// (sku, location) order so concurrent holds cannot deadlock,
//   UPDATE stock SET reserved = reserved + qty, version = version + 1
//   WHERE sku = $1 AND location = $2 AND on_hand - reserved - committed - safety_stock >= qty
// and COMMIT only if every line matched a row, else ROLLBACK (all-or-nothing).
// Durability matches omnistock's fsync-before-ack because run.mjs starts the
// server with fsync=on and synchronous_commit=on (COMMIT returns after the
// WAL is flushed; concurrent commits share flushes). Statements are prepared.
//
// Run by run.mjs: BENCH_PG_PORT=<port> BENCH_PG_POOL=<size> node bench/http/postgres.mjs

import pg from "pg";
import { figures, holdAnswers, serveBaseline } from "./baseline-server.mjs";

const POOL_SIZE_DEFAULT = 16;

const pool = new pg.Pool({
  host: "127.0.0.1",
  port: Number(process.env.BENCH_PG_PORT ?? 5432),
  user: "bench",
  database: "postgres",
  max: Number(process.env.BENCH_PG_POOL ?? POOL_SIZE_DEFAULT),
});

const SCHEMA = `
DROP TABLE IF EXISTS stock, reservations;
CREATE TABLE stock (
  sku text NOT NULL,
  location text NOT NULL,
  on_hand bigint NOT NULL DEFAULT 0,
  reserved bigint NOT NULL DEFAULT 0,
  committed bigint NOT NULL DEFAULT 0,
  safety_stock bigint NOT NULL DEFAULT 0,
  version bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (sku, location)
);
CREATE TABLE reservations (
  id text PRIMARY KEY,
  channel text,
  status text NOT NULL,
  lines jsonb NOT NULL,
  expires_at timestamptz NOT NULL
);`;

const COLUMNS = "sku, location, on_hand, reserved, committed, safety_stock, version";
const Q = {
  read: { name: "read", text: `SELECT ${COLUMNS} FROM stock WHERE sku = $1 AND location = $2` },
  readMany: { name: "read_many", text: `SELECT ${COLUMNS} FROM stock WHERE location = $2 AND sku = ANY($1::text[])` },
  insertReservation: {
    name: "insert_reservation",
    text: "INSERT INTO reservations (id, channel, status, lines, expires_at) VALUES ($1, $2, 'held', $3, $4) ON CONFLICT (id) DO NOTHING",
  },
  readReservation: { name: "read_reservation", text: "SELECT id, channel, status, lines, expires_at FROM reservations WHERE id = $1" },
  holdLine: {
    name: "hold_line",
    text: `UPDATE stock SET reserved = reserved + $3, version = version + 1
           WHERE sku = $1 AND location = $2 AND on_hand - reserved - committed - safety_stock >= $3`,
  },
  setStock: {
    name: "set_stock",
    text: `INSERT INTO stock (sku, location, on_hand, version)
           SELECT s, l, h, 1 FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(s, l, h)
           ON CONFLICT (sku, location) DO UPDATE SET on_hand = EXCLUDED.on_hand, version = stock.version + 1
           WHERE stock.on_hand <> EXCLUDED.on_hand`,
  },
};

// bigint columns arrive as strings; the figures stay far below 2^53.
const rowFigures = (r) =>
  figures(r.sku, r.location, Number(r.on_hand), Number(r.reserved), Number(r.committed), Number(r.safety_stock), Number(r.version));
const zero = (sku, location) => figures(sku, location, 0, 0, 0, 0, 0);

async function availableOf(client, line) {
  const { rows } = await client.query({ ...Q.read, values: [line.sku, line.location] });
  return rows.length === 0 ? 0 : rowFigures(rows[0]).available;
}

const store = {
  async reset() {
    await pool.query(SCHEMA);
  },
  async read(sku, location) {
    const { rows } = await pool.query({ ...Q.read, values: [sku, location] });
    return rows.length === 0 ? zero(sku, location) : rowFigures(rows[0]);
  },
  async readMany(skus, location) {
    const { rows } = await pool.query({ ...Q.readMany, values: [skus, location] });
    const bySku = new Map(rows.map((r) => [r.sku, r]));
    return skus.map((sku) => (bySku.has(sku) ? rowFigures(bySku.get(sku)) : zero(sku, location)));
  },
  async setStock(items) {
    // Last value per position wins, as when omnistock applies the items in order.
    const last = new Map(items.map((i) => [`${i.sku}\u001f${i.location}`, i]));
    const rows = [...last.values()];
    await pool.query({ ...Q.setStock, values: [rows.map((r) => r.sku), rows.map((r) => r.location), rows.map((r) => r.onHand)] });
    return Promise.all(rows.map((r) => store.read(r.sku, r.location)));
  },
  async hold(reservation) {
    const { id, channel, lines, expiresAt } = reservation;
    const client = await pool.connect();
    let open = false;
    try {
      await client.query("BEGIN");
      open = true;
      const inserted = await client.query({ ...Q.insertReservation, values: [id, channel, JSON.stringify(lines), expiresAt] });
      if (inserted.rowCount === 0) {
        await client.query("ROLLBACK");
        open = false;
        const { rows } = await client.query({ ...Q.readReservation, values: [id] });
        const r = rows[0];
        return holdAnswers.repeat({ id: r.id, status: r.status, channel: r.channel, lines: r.lines, expiresAt: r.expires_at.toISOString() }, reservation);
      }
      const ordered = [...lines].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
      const missed = new Set();
      for (const line of ordered) {
        const updated = await client.query({ ...Q.holdLine, values: [line.sku, line.location, line.qty] });
        if (updated.rowCount === 0) missed.add(line);
      }
      if (missed.size > 0) {
        await client.query("ROLLBACK");
        open = false;
        const short = [];
        for (const line of lines) {
          if (missed.has(line)) short.push({ sku: line.sku, location: line.location, requested: line.qty, available: await availableOf(client, line) });
        }
        return holdAnswers.short(short);
      }
      await client.query("COMMIT");
      open = false;
      return holdAnswers.held(reservation);
    } catch (e) {
      if (open) await client.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  },
  async close() {
    await pool.end();
  },
};

await serveBaseline(store);
