// checkout.js: the checkout funnel. Each iteration is one shopper:
//   hold (POST /v1/reservations, 1–2 lines, half of them through a channel)
//   → COMMIT_SHARE: commit → fulfill (the order ships)
//   → RELEASE_SHARE: release (cart emptied / payment failed)
//   → the rest: abandoned, held with ttlSeconds=ABANDON_TTL and left to expire.
// Abandoned holds are revisited by the same VU once their expiry plus the
// sweeper's second has passed: they must read `expired`, and a commit must
// answer 410. A few hot SKUs have little stock, so 409 insufficient_stock is
// part of the run (and accepted). teardown() waits for every abandoned hold to
// expire and then checks the ledger: no position may still be reserved or
// committed, and none may show a shortfall.
//
//   k6 run -e OMNISTOCK_URL=http://127.0.0.1:8080 -e RATE=200 -e DURATION=30s load/checkout.js
//
// Env: OMNISTOCK_URL, RATE (shoppers/s, default 200), DURATION (default 30s),
// SKUS (default 200), HOT_SKUS (default 10), VUS / MAX_VUS, ABANDON_TTL
// (seconds, default 1), P99_MS (p(99) threshold on every funnel request,
// default 25).
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import { BASE, body, enc, envInt, envStr, getJson, JSON_HEADERS, pick, postJson, putChannel, requireReady, runId, setStock } from './lib/common.js';

const RATE = envInt('RATE', 200);
const DURATION = envStr('DURATION', '30s');
const SKUS = envInt('SKUS', 200);
const HOT_SKUS = envInt('HOT_SKUS', 10);
const ABANDON_TTL = envInt('ABANDON_TTL', 1);
const P99_MS = envInt('P99_MS', 25);
const COMMIT_SHARE = 0.7;
const RELEASE_SHARE = 0.15; // the remaining 0.15 are abandoned
const SWEEP_GRACE_MS = 1500; // SPEC: an expired hold is released within a second

const funnel = {
  held: new Counter('checkout_holds_201'),
  insufficient: new Counter('checkout_holds_409_insufficient'),
  fulfilled: new Counter('checkout_fulfilled'),
  released: new Counter('checkout_released'),
  abandoned: new Counter('checkout_abandoned'),
  expiredOk: new Counter('checkout_abandoned_read_expired'),
  expiredLate: new Counter('checkout_abandoned_not_expired'),
  violations: new Counter('checkout_ledger_violations'),
};
const funnelTime = new Trend('checkout_funnel_duration', true);

const expect = (...codes) => ({ responseCallback: http.expectedStatuses(...codes) });

export const options = {
  scenarios: {
    checkout: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: envInt('VUS', 50),
      maxVUs: envInt('MAX_VUS', 200),
    },
  },
  thresholds: {
    // 409 insufficient_stock on a hold and 410 on a commit of an expired hold
    // are expected answers; anything else non-2xx is a failure.
    http_req_failed: ['rate<0.001'],
    'http_req_duration{name:hold}': [`p(99)<${P99_MS}`],
    'http_req_duration{name:commit}': [`p(99)<${P99_MS}`],
    'http_req_duration{name:fulfill}': [`p(99)<${P99_MS}`],
    'http_req_duration{name:release}': [`p(99)<${P99_MS}`],
    checks: ['rate>0.999'],
    checkout_holds_201: ['count>0'],
    checkout_fulfilled: ['count>0'],
    // Abandoned holds were revisited, and every one of them had expired.
    checkout_abandoned_read_expired: ['count>0'],
    checkout_abandoned_not_expired: ['count==0'],
    // teardown(): nothing left reserved or committed, no shortfall.
    checkout_ledger_violations: ['count==0'],
    dropped_iterations: [`rate<${RATE * 0.01}`],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  // teardown() sleeps through the last abandoned holds' expiry.
  teardownTimeout: `${ABANDON_TTL + 60}s`,
};

export function setup() {
  requireReady();
  const run = runId();
  const locations = [`store-${run}`, `dc-${run}`];
  const skus = [];
  const hot = [];
  const items = [];
  for (let i = 0; i < SKUS; i++) {
    const sku = i % 20 === 0 ? `checkout ${run}/Größe-${i}` : `checkout-${run}-${i}`;
    const isHot = i < HOT_SKUS;
    (isHot ? hot : skus).push(sku);
    for (const location of locations) items.push({ sku, location, onHand: isHot ? 5 : 1000 });
  }
  setStock(items);
  const channel = `web-${run}`;
  putChannel(channel, { locations, buffer: 1 });
  console.log(`checkout: ${SKUS} SKUs (${HOT_SKUS} hot, 5 units each) × ${locations.length} locations at ${BASE}, channel ${channel}`);
  return { run, skus, hot, locations, channel, allSkus: hot.concat(skus) };
}

// Abandoned holds of this VU waiting to be revisited: {id, dueMs}.
const pending = [];

function revisitAbandoned() {
  const now = Date.now();
  while (pending.length > 0 && pending[0].dueMs <= now) {
    const { id } = pending.shift();
    const res = getJson(`/v1/reservations/${enc(id)}`, 'reservation_read');
    const b = body(res);
    const expired = res.status === 200 && b !== null && b.status === 'expired';
    check(res, { 'abandoned hold reads expired': () => expired });
    (expired ? funnel.expiredOk : funnel.expiredLate).add(1);
    if (!expired) console.error(`abandoned hold ${id} still reads ${res.status} ${String(res.body).slice(0, 200)} ${SWEEP_GRACE_MS} ms after its expiry`);
    const commit = http.post(`${BASE}/v1/reservations/${enc(id)}/commit`, null, { headers: JSON_HEADERS, tags: { name: 'commit_expired' }, ...expect(410) });
    check(commit, { 'commit of an expired hold: 410 reservation_expired': (r) => r.status === 410 && (body(r) || {}).error === 'reservation_expired' });
  }
}

function move(id, verb, want) {
  const res = http.post(`${BASE}/v1/reservations/${enc(id)}/${verb}`, null, { headers: JSON_HEADERS, tags: { name: verb }, ...expect(200) });
  const b = body(res);
  return check(res, { [`${verb}: 200 ${want}`]: (r) => r.status === 200 && b !== null && b.id === id && b.status === want });
}

export default function (data) {
  revisitAbandoned();
  const started = Date.now();
  // 1–2 lines; one in five shoppers wants a hot (scarce) SKU.
  const nLines = Math.random() < 0.7 ? 1 : 2;
  const lines = [];
  for (let i = 0; i < nLines; i++) {
    const sku = Math.random() < 0.2 ? pick(data.hot) : pick(data.skus);
    lines.push({ sku, location: pick(data.locations), qty: 1 + Math.floor(Math.random() * 3) });
  }
  const roll = Math.random();
  const fate = roll < COMMIT_SHARE ? 'commit' : roll < COMMIT_SHARE + RELEASE_SHARE ? 'release' : 'abandon';
  // Reservation ids hold a '/' and a space: the paths percent-encode them.
  const id = `order/${data.run} ${__VU}-${__ITER}`;
  const req = { id, lines };
  if (Math.random() < 0.5) req.channel = data.channel;
  if (fate === 'abandon') req.ttlSeconds = ABANDON_TTL;
  const hold = postJson('/v1/reservations', req, 'hold', expect(201, 409));
  const hb = body(hold);
  check(hold, {
    'hold: 201 held or 409 insufficient_stock': (r) =>
      (r.status === 201 && hb !== null && hb.id === id && hb.status === 'held') ||
      (r.status === 409 && hb !== null && hb.error === 'insufficient_stock' && Array.isArray(hb.lines) && hb.lines.length > 0 &&
        hb.lines.every((l) => l.requested > l.available)),
  });
  if (hold.status !== 201) {
    if (hold.status === 409) funnel.insufficient.add(1);
    return;
  }
  funnel.held.add(1);
  // One shopper in twenty double-clicks: the repeat answers 200 with the same hold.
  if (Math.random() < 0.05) {
    const again = postJson('/v1/reservations', req, 'hold_repeat', expect(200));
    check(again, { 'repeated hold: 200 held (idempotent)': (r) => r.status === 200 && (body(r) || {}).status === 'held' });
  }
  if (fate === 'commit') {
    if (move(id, 'commit', 'committed') && move(id, 'fulfill', 'fulfilled')) funnel.fulfilled.add(1);
  } else if (fate === 'release') {
    if (move(id, 'release', 'released')) funnel.released.add(1);
  } else {
    funnel.abandoned.add(1);
    pending.push({ id, dueMs: Date.parse(hb.expiresAt) + SWEEP_GRACE_MS });
  }
  funnelTime.add(Date.now() - started);
}

export function teardown(data) {
  funnel.violations.add(0); // the metric exists even when all is well
  // Every iteration finished its funnel; only abandoned holds remain, and they
  // expire within ABANDON_TTL + the sweeper's second.
  sleep(ABANDON_TTL + SWEEP_GRACE_MS / 1000 + 0.5);
  let reserved = 0;
  let committed = 0;
  let shortfall = 0;
  let onHand = 0;
  for (const location of data.locations) {
    for (let i = 0; i < data.allSkus.length; i += 1000) {
      const res = postJson('/v1/availability/query', { skus: data.allSkus.slice(i, i + 1000), location }, 'teardown');
      const b = body(res);
      if (res.status !== 200 || b === null) {
        funnel.violations.add(1);
        console.error(`teardown read failed: ${res.status} ${String(res.body).slice(0, 200)}`);
        continue;
      }
      for (const it of b.items) {
        reserved += it.reserved;
        committed += it.committed;
        shortfall += it.shortfall;
        onHand += it.onHand;
        if (it.reserved !== 0 || it.committed !== 0 || it.shortfall !== 0) {
          funnel.violations.add(1);
          console.error(`position ${it.sku}@${location} after the run: reserved ${it.reserved}, committed ${it.committed}, shortfall ${it.shortfall} (want 0, 0, 0)`);
        }
      }
    }
  }
  console.log(`checkout teardown: onHand left ${onHand}, reserved ${reserved}, committed ${committed}, shortfall ${shortfall}`);
}
