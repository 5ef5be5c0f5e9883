// subscribers.js: WebSocket stream consumers (SPEC section 5) while a writer
// changes stock. SUBSCRIBERS clients connect to GET /v1/stream, send
//   {"op":"subscribe", since: <seq at the end of setup>, skus?|locations?,channels?}
// and get {"type":"subscribed","seq":N}, then every message after `since` in
// seq order. A third of the clients are unfiltered (they must see consecutive
// seq numbers), a third filter by SKUs, a third by one location plus the run's
// channel. Meanwhile the `writer` scenario adjusts stock and holds/releases
// on the same positions at WRITE_RATE requests/s.
// Per client it counts deltas and detects:
//   - seq gaps (unfiltered: seq ≠ previous + 1) and out-of-order/duplicate seqs;
//   - per-position version gaps (each delta is one version step, SPEC section 2);
//   - a missed tail: after the writer stops, the position's version read over
//     HTTP must equal the last version the client saw;
//   - deltas that do not match the client's filter; early closes (e.g. 4008).
// Thresholds: zero of each, every client subscribed, deltas were delivered.
//
//   k6 run -e OMNISTOCK_URL=http://127.0.0.1:8080 load/subscribers.js
//
// Env: OMNISTOCK_URL, SUBSCRIBERS (default 30), WRITE_RATE (writes/s, default
// 200), DURATION (writer, default 20s), SKUS (default 20), WRITE_DELAY
// (seconds before the writer starts, default 2), GRACE (seconds the clients
// stay after the writer stops, default 3; then until the stream is quiet for
// 1 s, at most DRAIN_MAX more, default 20), LAG_P99_MS (p(99) of now − delta
// ts for live messages, default 100).
import http from 'k6/http';
import ws from 'k6/ws';
import { check, fail } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import { BASE, body, enc, envInt, envStr, JSON_HEADERS, pick, postJson, putChannel, requireReady, runId, setStock } from './lib/common.js';

const SUBSCRIBERS = envInt('SUBSCRIBERS', 30);
const WRITE_RATE = envInt('WRITE_RATE', 200);
const DURATION = envStr('DURATION', '20s');
const SKUS = envInt('SKUS', 20);
const WRITE_DELAY = envInt('WRITE_DELAY', 2);
const GRACE = envInt('GRACE', 3);
const LAG_P99_MS = envInt('LAG_P99_MS', 100);
const DRAIN_MAX = envInt('DRAIN_MAX', 20);
const WS_BASE = BASE.replace(/^http/, 'ws');
const TOKEN_QS = __ENV.OMNISTOCK_TOKEN ? `?token=${enc(__ENV.OMNISTOCK_TOKEN)}` : '';

function seconds(d) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(d);
  if (!m) throw new Error(`DURATION must look like 20s, 1m or 500ms, got "${d}"`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}
const WRITE_SECONDS = seconds(DURATION);

const m = {
  deltas: new Counter('stream_deltas'),
  channelMsgs: new Counter('stream_channel_messages'),
  seqGaps: new Counter('stream_seq_gaps'),
  outOfOrder: new Counter('stream_seq_out_of_order'),
  versionGaps: new Counter('stream_version_gaps'),
  missedTail: new Counter('stream_missed_tail'),
  filterViolations: new Counter('stream_filter_violations'),
  earlyCloses: new Counter('stream_early_closes'),
  unknown: new Counter('stream_unknown_messages'),
  writes: new Counter('stream_writer_requests'),
};
const lag = new Trend('stream_delivery_lag', true);

export const options = {
  scenarios: {
    subscribers: {
      executor: 'per-vu-iterations',
      exec: 'subscriber',
      vus: SUBSCRIBERS,
      iterations: 1,
      maxDuration: `${WRITE_DELAY + WRITE_SECONDS + GRACE + DRAIN_MAX + 30}s`,
    },
    writer: {
      executor: 'constant-arrival-rate',
      exec: 'writer',
      startTime: `${WRITE_DELAY}s`,
      rate: WRITE_RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: 10,
      maxVUs: 50,
      gracefulStop: '1s',
    },
  },
  thresholds: {
    stream_seq_gaps: ['count==0'],
    stream_seq_out_of_order: ['count==0'],
    stream_version_gaps: ['count==0'],
    stream_missed_tail: ['count==0'],
    stream_filter_violations: ['count==0'],
    stream_early_closes: ['count==0'],
    stream_deltas: ['count>0'],
    stream_delivery_lag: [`p(99)<${LAG_P99_MS}`],
    'checks{scenario:subscribers}': ['rate==1'],
    'http_req_failed{scenario:writer}': ['rate<0.001'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

const key = (sku, location) => `${sku}\u0000${location}`;

/** Newest seq of the stream (one short subscription that matches nothing). */
function currentSeq(run) {
  let seq = null;
  const res = ws.connect(`${WS_BASE}/v1/stream${TOKEN_QS}`, { tags: { name: 'stream' } }, (socket) => {
    socket.on('open', () => socket.send(JSON.stringify({ op: 'subscribe', skus: [`nothing-${run}`] })));
    socket.on('message', (data) => {
      const msg = JSON.parse(data);
      if (msg.type === 'subscribed') {
        seq = msg.seq;
        socket.close();
      }
    });
    socket.setTimeout(() => socket.close(), 5000);
  });
  if (!res || res.status !== 101) fail(`GET /v1/stream did not upgrade: ${res ? res.status : 'no answer'} ${res && res.error ? res.error : ''}`);
  if (!Number.isInteger(seq)) fail('no {"type":"subscribed","seq":N} within 5 s of subscribing');
  return seq;
}

export function setup() {
  requireReady();
  const run = runId();
  const skus = [];
  for (let i = 0; i < SKUS; i++) skus.push(i % 5 === 0 ? `stream ${run}/Größe-${i}` : `stream-${run}-${i}`);
  const locations = [`store-${run}`, `dc-${run}`];
  const items = [];
  for (const sku of skus) for (const location of locations) items.push({ sku, location, onHand: 100000 });
  setStock(items);
  const channel = `web-${run}`;
  putChannel(channel, { locations, buffer: 1 });
  // Versions now: every delta after `since` continues from these.
  const versions = {};
  for (const location of locations) {
    const b = postJson('/v1/availability/query', { skus, location }, 'setup').json();
    for (const it of b.items) versions[key(it.sku, location)] = it.version;
  }
  const since = currentSeq(run);
  console.log(`subscribers: ${SUBSCRIBERS} clients on ${WS_BASE}/v1/stream since seq ${since}; writer ${WRITE_RATE}/s for ${DURATION} on ${skus.length} SKUs × ${locations.length} locations`);
  return { run, skus, locations, channel, versions, since };
}

export function writer(data) {
  const sku = pick(data.skus);
  const location = pick(data.locations);
  if (Math.random() < 0.7) {
    const res = postJson('/v1/stock/adjust', { items: [{ sku, location, delta: Math.random() < 0.5 ? 1 : -1, reason: 'load' }] }, 'adjust');
    check(res, { 'writer adjust: 200': (r) => r.status === 200 });
  } else {
    const id = `stream/${data.run}/${__VU}-${__ITER}`;
    const hold = postJson('/v1/reservations', { id, channel: data.channel, lines: [{ sku, location, qty: 1 }] }, 'hold');
    check(hold, { 'writer hold: 201': (r) => r.status === 201 });
    if (hold.status === 201) {
      const rel = http.post(`${BASE}/v1/reservations/${enc(id)}/release`, null, { headers: JSON_HEADERS, tags: { name: 'release' } });
      check(rel, { 'writer release: 200': (r) => r.status === 200 });
    }
  }
  m.writes.add(1);
}

function tsMillis(ts) {
  if (typeof ts === 'number') return ts > 1e14 ? ts / 1000 : ts; // ms (or µs) since the epoch
  if (typeof ts === 'string') return Date.parse(ts);
  return NaN;
}

export function subscriber(data) {
  const kind = ['all', 'skus', 'location'][__VU % 3];
  const sub = { op: 'subscribe', since: data.since };
  let wantSkus = null;
  let wantLocations = null;
  if (kind === 'skus') {
    const start = (__VU * 7) % data.skus.length;
    wantSkus = data.skus.concat(data.skus).slice(start, start + Math.min(5, data.skus.length));
    sub.skus = wantSkus;
  } else if (kind === 'location') {
    wantLocations = [data.locations[__VU % data.locations.length]];
    sub.locations = wantLocations;
    sub.channels = [data.channel];
  }
  // Positions this client must follow, with the version each had at `since`.
  const last = {};
  for (const sku of data.skus) {
    for (const location of data.locations) {
      if ((wantSkus && !wantSkus.includes(sku)) || (wantLocations && !wantLocations.includes(location))) continue;
      last[key(sku, location)] = data.versions[key(sku, location)];
    }
  }
  const ourSkus = new Set(data.skus);
  let subscribedSeq = null;
  let lastSeq = data.since;
  let closing = false;
  let lastMessageAt = Date.now();
  let closeCode = null;
  const stayMs = (WRITE_DELAY + WRITE_SECONDS + GRACE) * 1000;

  function onSeq(seq) {
    if (!Number.isInteger(seq)) {
      m.outOfOrder.add(1);
      return;
    }
    if (seq <= lastSeq) m.outOfOrder.add(1);
    else if (kind === 'all' && seq !== lastSeq + 1) {
      m.seqGaps.add(seq - lastSeq - 1);
      console.error(`VU ${__VU} (unfiltered): seq jumped from ${lastSeq} to ${seq}`);
    }
    if (seq > lastSeq) lastSeq = seq;
  }

  const res = ws.connect(`${WS_BASE}/v1/stream${TOKEN_QS}`, { tags: { name: 'stream' } }, (socket) => {
    socket.on('open', () => socket.send(JSON.stringify(sub)));
    socket.on('message', (raw) => {
      lastMessageAt = Date.now();
      let msg;
      try {
        msg = JSON.parse(raw);
      } catch (_) {
        m.unknown.add(1);
        return;
      }
      switch (msg.type) {
        case 'subscribed':
          subscribedSeq = msg.seq;
          break;
        case 'delta': {
          onSeq(msg.seq);
          m.deltas.add(1);
          if ((wantSkus && !wantSkus.includes(msg.sku)) || (wantLocations && !wantLocations.includes(msg.location))) {
            m.filterViolations.add(1);
            break;
          }
          if (subscribedSeq !== null && msg.seq > subscribedSeq) lag.add(Date.now() - tsMillis(msg.ts));
          const k = key(msg.sku, msg.location);
          if (ourSkus.has(msg.sku) && k in last) {
            if (msg.version > last[k] + 1) {
              m.versionGaps.add(msg.version - last[k] - 1);
              console.error(`VU ${__VU} (${kind}): ${msg.sku}@${msg.location} version jumped from ${last[k]} to ${msg.version} (seq ${msg.seq})`);
            } else if (msg.version <= last[k]) m.outOfOrder.add(1);
            last[k] = Math.max(last[k], msg.version);
          }
          break;
        }
        case 'channel':
          onSeq(msg.seq);
          m.channelMsgs.add(1);
          if (wantSkus && !wantSkus.includes(msg.sku)) m.filterViolations.add(1);
          if (wantLocations && msg.channel !== data.channel) m.filterViolations.add(1);
          break;
        case 'reset':
          // `since` fell out of retention: a snapshot follows; continue from it.
          lastSeq = msg.seq;
          break;
        case 'snapshot': {
          const k = key(msg.sku, msg.location);
          if (k in last) last[k] = msg.version;
          break;
        }
        case 'snapshot_end':
          lastSeq = msg.seq;
          break;
        default:
          m.unknown.add(1);
      }
    });
    socket.on('close', (code) => {
      closeCode = code;
      if (!closing) {
        m.earlyCloses.add(1);
        console.error(`VU ${__VU} (${kind}): the server closed the stream (code ${code})`);
      }
    });
    socket.on('error', (e) => console.error(`VU ${__VU} (${kind}): ${e && e.error ? e.error() : String(e)}`));
    socket.setTimeout(() => {
      if (subscribedSeq === null) console.error(`VU ${__VU} (${kind}): no "subscribed" within 3 s`);
    }, 3000);
    // Stay until the writer has stopped plus GRACE, then until the stream has
    // been quiet for a second (k6 may still be working through a backlog),
    // at most DRAIN_MAX seconds more; then the tail check below.
    socket.setTimeout(() => {
      const drainStart = Date.now();
      socket.setInterval(() => {
        if (closing) return;
        if (Date.now() - lastMessageAt >= 1000 || Date.now() - drainStart >= DRAIN_MAX * 1000) {
          closing = true;
          socket.close();
        }
      }, 100);
    }, stayMs);
  });
  check(res, { 'stream: 101 Switching Protocols': (r) => r && r.status === 101 });
  check(subscribedSeq, { 'stream: subscribed with a seq': (s) => Number.isInteger(s) && s >= data.since });
  // The tail: every followed position's current version must have reached us.
  for (const location of data.locations) {
    const skus = data.skus.filter((sku) => key(sku, location) in last);
    if (skus.length === 0) continue;
    const r = postJson('/v1/availability/query', { skus, location }, 'tail_check');
    const b = body(r);
    if (r.status !== 200 || b === null) {
      m.missedTail.add(1);
      continue;
    }
    for (const it of b.items) {
      const seen = last[key(it.sku, location)];
      if (it.version > seen) {
        m.missedTail.add(it.version - seen);
        console.error(`VU ${__VU} (${kind}): ${it.sku}@${location} is at version ${it.version}, the stream stopped at ${seen}`);
      }
    }
  }
  void closeCode;
}
