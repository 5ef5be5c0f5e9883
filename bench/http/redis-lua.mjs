// Baseline (b): what a retailer would otherwise build on Redis. Stock lives in
// one hash per position (h onHand, r reserved, c committed, s safetyStock,
// v version); a hold is one Lua script, atomic in Redis: if the reservation id
// exists it answers it, else it checks every line (available ≥ qty) and only
// then HINCRBYs them all and stores the reservation (all-or-nothing); a listing
// page is one script too (50 HMGETs, one round trip). Durability
// matches omnistock's fsync-before-ack because run.mjs starts redis-server
// with `appendonly yes` and `appendfsync always`. One ioredis connection with
// auto-pipelining: requests from the event loop share round trips and, in
// Redis, one AOF fsync per event-loop batch (Redis's own group commit).
//
// Run by run.mjs: BENCH_REDIS_PORT=<port> node bench/http/redis-lua.mjs

import Redis from "ioredis";
import { figures, holdAnswers, serveBaseline } from "./baseline-server.mjs";

const SEP = "\u001f"; // ids never contain control characters, so keys are unambiguous
const positionKey = (sku, location) => `p${SEP}${location}${SEP}${sku}`;
const reservationKey = (id) => `r${SEP}${id}`;

// KEYS[1] reservation, KEYS[2..] positions; ARGV[1] reservation JSON, ARGV[2..] qty.
// Answers {0} held, {1, json} existing reservation, {2, {line, available, ...}} short.
const HOLD_LUA = `
local existing = redis.call('GET', KEYS[1])
if existing then return {1, existing} end
local short = {}
for i = 2, #KEYS do
  local f = redis.call('HMGET', KEYS[i], 'h', 'r', 'c', 's')
  local available = (tonumber(f[1]) or 0) - (tonumber(f[2]) or 0) - (tonumber(f[3]) or 0) - (tonumber(f[4]) or 0)
  if available < 0 then available = 0 end
  if available < tonumber(ARGV[i]) then
    short[#short + 1] = i - 1
    short[#short + 1] = available
  end
end
if #short > 0 then return {2, short} end
for i = 2, #KEYS do
  redis.call('HINCRBY', KEYS[i], 'r', ARGV[i])
  redis.call('HINCRBY', KEYS[i], 'v', 1)
end
redis.call('SET', KEYS[1], ARGV[1])
return {0}
`;

// KEYS[1] position; ARGV[1] onHand. Sets onHand, +1 version when it changed.
const SET_STOCK_LUA = `
local old = redis.call('HGET', KEYS[1], 'h')
if old == ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'h', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'v', 1)
return 1
`;

// KEYS: positions. One round trip for a listing page: every hash's five fields.
const READ_MANY_LUA = `
local out = {}
for i = 1, #KEYS do out[i] = redis.call('HMGET', KEYS[i], 'h', 'r', 'c', 's', 'v') end
return out
`;

const FIELDS = ["h", "r", "c", "s", "v"];
const num = (v) => (v === null ? 0 : Number(v));
const toFigures = (sku, location, f) => figures(sku, location, num(f[0]), num(f[1]), num(f[2]), num(f[3]), num(f[4]));

const port = Number(process.env.BENCH_REDIS_PORT ?? 6379);
const redis = new Redis({ host: "127.0.0.1", port, enableAutoPipelining: true, lazyConnect: true });
redis.defineCommand("omniHold", { lua: HOLD_LUA });
redis.defineCommand("omniReadMany", { lua: READ_MANY_LUA });
redis.defineCommand("omniSetStock", { numberOfKeys: 1, lua: SET_STOCK_LUA });

const store = {
  async reset() {
    await redis.connect();
    await redis.flushall();
  },
  async read(sku, location) {
    return toFigures(sku, location, await redis.hmget(positionKey(sku, location), ...FIELDS));
  },
  async readMany(skus, location) {
    if (skus.length === 0) return [];
    const rows = await redis.omniReadMany(skus.length, ...skus.map((sku) => positionKey(sku, location)));
    return rows.map((f, i) => toFigures(skus[i], location, f));
  },
  async setStock(items) {
    const multi = redis.multi();
    for (const item of items) multi.omniSetStock(positionKey(item.sku, item.location), String(item.onHand));
    await multi.exec();
    const seen = new Map(items.map((i) => [positionKey(i.sku, i.location), i]));
    return Promise.all([...seen.values()].map((i) => store.read(i.sku, i.location)));
  },
  async hold(reservation) {
    const { id, lines } = reservation;
    const record = { id, status: "held", channel: reservation.channel, lines, expiresAt: reservation.expiresAt };
    const keys = [reservationKey(id), ...lines.map((l) => positionKey(l.sku, l.location))];
    const answer = await redis.omniHold(keys.length, ...keys, JSON.stringify(record), ...lines.map((l) => l.qty));
    if (answer[0] === 0) return holdAnswers.held(reservation);
    if (answer[0] === 1) return holdAnswers.repeat(JSON.parse(answer[1]), reservation);
    const short = [];
    for (let k = 0; k < answer[1].length; k += 2) {
      const line = lines[answer[1][k] - 1];
      short.push({ sku: line.sku, location: line.location, requested: line.qty, available: answer[1][k + 1] });
    }
    return holdAnswers.short(short);
  },
  async close() {
    await redis.quit();
  },
};

await serveBaseline(store);
