// The HTTP front shared by the baseline services (Redis + Lua, PostgreSQL): the
// SPEC section 4 routes this benchmark drives, with omnistock's JSON shapes and
// status codes, over uWebSockets.js like omnistock itself, so both sides pay
// the same HTTP cost and the comparison isolates the store. A store adapter
// (redis-lua.mjs, postgres.mjs) does the work behind one small contract:
//   reset(), setStock(items) → positions, read(sku, location) → figures,
//   readMany(skus, location) → figures[], hold(reservation) → {status, body}.
// It implements what the workloads need, not the whole API (no channels,
// moves, expiry sweeper, msgpack or auth); anything else answers 404.

import uWS from "uWebSockets.js";

export const BODY_MAX_BYTES = 16 * 1024 * 1024; // as omnistock's OMNISTOCK_BODY_MAX default
export const SKUS_PER_QUERY_MAX = 1000;
export const LINES_PER_HOLD_MAX = 100;
export const ITEMS_PER_STOCK_WRITE_MAX = 10_000;
export const QTY_MAX = 1_000_000_000;
export const TTL_SECONDS_DEFAULT = 900;
export const TTL_SECONDS_MAX = 604_800;

const STATUS_LINE = {
  200: "200 OK",
  201: "201 Created",
  400: "400 Bad Request",
  404: "404 Not Found",
  409: "409 Conflict",
  413: "413 Payload Too Large",
  415: "415 Unsupported Media Type",
  500: "500 Internal Server Error",
};

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

class BadRequest extends Error {}

function id(value, what, bytesMax) {
  if (typeof value !== "string" || value.length === 0 || CONTROL_CHARS.test(value) || Buffer.byteLength(value) > bytesMax) {
    throw new BadRequest(`${what} must be 1–${bytesMax} bytes of UTF-8 without control characters`);
  }
  return value;
}

function integer(value, what, min, max) {
  if (!Number.isInteger(value) || value < min || value > max) throw new BadRequest(`${what} must be an integer in ${min} … ${max}`);
  return value;
}

function object(value, what) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new BadRequest(`${what} must be an object`);
  return value;
}

function array(value, what, min, max) {
  if (!Array.isArray(value) || value.length < min || value.length > max) throw new BadRequest(`${what} must be an array of ${min} … ${max}`);
  return value;
}

/** Figures as omnistock reports them, from the stored columns. */
export function figures(sku, location, onHand, reserved, committed, safetyStock, version) {
  return {
    sku,
    location,
    available: Math.max(0, onHand - reserved - committed - safetyStock),
    onHand,
    reserved,
    committed,
    safetyStock,
    shortfall: Math.max(0, reserved + committed - onHand),
    version,
  };
}

/** Lines naming the same position merged (quantities summed), first-seen order. */
function mergeLines(lines) {
  const merged = new Map();
  lines.forEach((raw, i) => {
    const line = object(raw, `lines[${i}]`);
    const sku = id(line.sku, `lines[${i}].sku`, 128);
    const location = id(line.location, `lines[${i}].location`, 64);
    const qty = integer(line.qty, `lines[${i}].qty`, 1, QTY_MAX);
    const key = `${sku}\u001f${location}`;
    const seen = merged.get(key);
    if (seen) seen.qty = integer(seen.qty + qty, `lines[${i}].qty`, 1, QTY_MAX);
    else merged.set(key, { sku, location, qty });
  });
  return [...merged.values()];
}

function parseHold(body) {
  object(body, "body");
  const ttlSeconds = body.ttlSeconds === undefined ? TTL_SECONDS_DEFAULT : integer(body.ttlSeconds, "ttlSeconds", 1, TTL_SECONDS_MAX);
  if (body.channel !== undefined && body.channel !== null) throw new BadRequest("channels are not implemented by the baseline");
  return {
    id: id(body.id, "id", 128),
    channel: null,
    lines: mergeLines(array(body.lines, "lines", 1, LINES_PER_HOLD_MAX)),
    expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString(),
  };
}

function parseQuery(body) {
  object(body, "body");
  const skus = array(body.skus, "skus", 0, SKUS_PER_QUERY_MAX).map((s, i) => id(s, `skus[${i}]`, 128));
  return { skus, location: id(body.location, "location", 64) };
}

function parseStock(body) {
  object(body, "body");
  return array(body.items, "items", 1, ITEMS_PER_STOCK_WRITE_MAX).map((raw, i) => {
    const item = object(raw, `items[${i}]`);
    return {
      sku: id(item.sku, `items[${i}].sku`, 128),
      location: id(item.location, `items[${i}].location`, 64),
      onHand: integer(item.onHand, `items[${i}].onHand`, 0, QTY_MAX),
    };
  });
}

function send(res, status, body) {
  if (res.aborted) return;
  res.cork(() => {
    res.writeStatus(STATUS_LINE[status]).writeHeader("Content-Type", "application/json").end(JSON.stringify(body));
  });
}

function fail(res, error) {
  if (error instanceof BadRequest) send(res, 400, { error: "invalid_request", message: error.message });
  else {
    process.stderr.write(`baseline: ${error instanceof Error ? error.stack : String(error)}\n`);
    send(res, 500, { error: "internal", message: "store failed" });
  }
}

/** Reads a JSON body (bounded), then hands it to `handle`; answers errors itself. */
function withJsonBody(res, req, handle) {
  res.onAborted(() => {
    res.aborted = true;
  });
  if (!req.getHeader("content-type").startsWith("application/json")) {
    send(res, 415, { error: "unsupported_media_type", message: "send application/json" });
    return;
  }
  const chunks = [];
  let size = 0;
  res.onData((chunk, isLast) => {
    if (res.aborted || size < 0) return;
    size += chunk.byteLength;
    if (size > BODY_MAX_BYTES) {
      size = -1;
      send(res, 413, { error: "payload_too_large", message: `bodies are limited to ${BODY_MAX_BYTES} bytes` });
      return;
    }
    chunks.push(Buffer.from(new Uint8Array(chunk))); // copy: uWS reuses the chunk's memory
    if (!isLast) return;
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      send(res, 400, { error: "invalid_request", message: "body is not JSON" });
      return;
    }
    handle(body).then((answer) => send(res, answer.status, answer.body), (e) => fail(res, e));
  });
}

/** Serves `store` on 127.0.0.1 (port 0: any free one); prints omnistock's listening/ready lines. */
export async function serveBaseline(store, { host = "127.0.0.1", port = 0 } = {}) {
  await store.reset();
  const app = uWS.App();
  app.get("/v1/availability/:sku", (res, req) => {
    res.onAborted(() => {
      res.aborted = true;
    });
    const rawSku = req.getParameter(0);
    const location = req.getQuery("location");
    Promise.resolve()
      .then(() => {
        const sku = id(decodeURIComponent(rawSku), "sku", 128);
        if (location === undefined) throw new BadRequest("the baseline serves only ?location= reads");
        return store.read(sku, id(location, "location", 64));
      })
      .then((f) => send(res, 200, f), (e) => fail(res, e));
  });
  app.post("/v1/availability/query", (res, req) =>
    withJsonBody(res, req, async (body) => {
      const { skus, location } = parseQuery(body);
      return { status: 200, body: { items: await store.readMany(skus, location) } };
    }),
  );
  app.post("/v1/reservations", (res, req) => withJsonBody(res, req, async (body) => store.hold(parseHold(body))));
  app.post("/v1/stock", (res, req) =>
    withJsonBody(res, req, async (body) => {
      const items = parseStock(body);
      return { status: 200, body: { applied: items.length, positions: await store.setStock(items) } };
    }),
  );
  app.get("/readyz", (res) => void res.end('{"ready":true}'));
  app.any("/*", (res) => {
    res.writeStatus(STATUS_LINE[404]).writeHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ error: "not_found", message: "not implemented by the baseline" }));
  });

  const listenSocket = await new Promise((resolve, reject) =>
    app.listen(host, port, (socket) => (socket ? resolve(socket) : reject(new Error(`cannot listen on ${host}:${port}`)))),
  );
  const boundPort = uWS.us_socket_local_port(listenSocket);
  process.stdout.write(`${JSON.stringify({ event: "listening", host, port: boundPort })}\n`);
  process.stdout.write(`${JSON.stringify({ event: "ready" })}\n`);
  const stop = () => {
    uWS.us_listen_socket_close(listenSocket);
    Promise.resolve(store.close()).finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/** The 201/200/409 answers of a hold, shaped as omnistock's. */
export const holdAnswers = {
  held: (r) => ({ status: 201, body: { id: r.id, status: "held", channel: r.channel, lines: r.lines, expiresAt: r.expiresAt } }),
  repeat: (stored, asked) => {
    const key = (lines) => lines.map((l) => `${l.sku}\u001f${l.location}\u001f${l.qty}`).sort().join("\u001e");
    if (key(stored.lines) !== key(asked.lines) || stored.channel !== asked.channel) {
      return { status: 409, body: { error: "idempotency_conflict", message: "this id was used with other lines" } };
    }
    return { status: 200, body: stored };
  },
  short: (lines) => ({
    status: 409,
    body: { error: "insufficient_stock", message: "not enough stock available for every line", lines },
  }),
};
