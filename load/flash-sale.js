// flash-sale.js: thousands of shoppers race for ONE SKU with limited stock.
// VUS virtual users (default 2,000) each try to hold 1 unit every THINK seconds
// (default 1 s, jittered, first attempt spread over the first THINK seconds, so
// the offered rate is about VUS holds/s); a VU that won stops trying. STOCK
// units (default 500) are on hand. teardown() reads the position and the run
// FAILS if
//   - more holds succeeded (201) than there was stock   (flash_holds_won <= STOCK),
//   - the position's reserved differs from the number of 201s the shoppers saw
//     (flash_hold_balance: +1 per 201, −reserved in teardown, must sum to 0),
//   - the position shows any oversell (flash_oversold == 0),
//   - client-side p(99) hold latency is above P99_MS, or fewer than 99 % of
//     the run's holds took ≤ 10 ms inside the engine (its /metrics histogram),
//   - any answer is other than 201 held / 409 insufficient_stock (available 0).
//
//   k6 run -e OMNISTOCK_URL=http://127.0.0.1:8080 load/flash-sale.js
//
// Env: OMNISTOCK_URL, VUS (default 2000), DURATION (default 10s), STOCK
// (default 500), THINK (seconds, default 1), P99_MS (client-side p(99)
// threshold, default 100: a bound on stalls, not the target. The 10 ms target
// is checked server-side, because on this 2-core machine k6's 2,000 VUs take
// most of the CPU and its p(99) swung 13-77 ms between runs of one build;
// see load/README.md).
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter, Gauge, Trend } from 'k6/metrics';
import { BASE, body, envInt, envStr, postJson, readPosition, requireReady, routeHistogram, runId, setStock, shareWithin } from './lib/common.js';

const VUS = envInt('VUS', 2000);
const DURATION = envStr('DURATION', '10s');
const STOCK = envInt('STOCK', 500);
const THINK = Number(envStr('THINK', '1'));
const P99_MS = envInt('P99_MS', 100);

const won = new Counter('flash_holds_won');
const lost = new Counter('flash_holds_sold_out');
const balance = new Counter('flash_hold_balance');
const oversold = new Counter('flash_oversold');
// Latency of the holds that won (the durable writes, all in the first wave).
const wonLatency = new Trend('flash_hold_won_duration', true);
// The engine's own view (GET /metrics histogram, from request in to answer out,
// with no k6 or loopback time): share of this run's holds answered in ≤ 10 ms.
const serverWithin10ms = new Gauge('flash_server_holds_within_10ms');

export const options = {
  scenarios: {
    flash_sale: {
      executor: 'constant-vus',
      vus: VUS,
      duration: DURATION,
      gracefulStop: '10s',
    },
  },
  thresholds: {
    flash_holds_won: [`count<=${STOCK}`, 'count>0'],
    flash_hold_balance: ['count==0'],
    flash_oversold: ['count==0'],
    // Client-side p(99), k6's clock: includes k6's own scheduling on a busy CPU.
    'http_req_duration{name:flash_hold}': [`p(99)<${P99_MS}`],
    // Server-side p(99) < 10 ms: at least 99 % of holds inside the 10 ms bucket.
    flash_server_holds_within_10ms: ['value>=0.99'],
    'http_req_failed{name:flash_hold}': ['rate==0'],
    checks: ['rate==1'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  setupTimeout: '60s',
};

export function setup() {
  requireReady();
  const run = runId();
  const sku = `flash-${run}`;
  const location = `dc-${run}`;
  setStock([{ sku, location, onHand: STOCK }]);
  const histogram = routeHistogram('/v1/reservations');
  console.log(`flash-sale: ${VUS} VUs race for ${STOCK} units of ${sku}@${location} at ${BASE}`);
  return { run, sku, location, histogram };
}

let hasWon = false;

export default function (data) {
  if (__ITER === 0) sleep(Math.random() * THINK); // spread the first wave
  if (hasWon) {
    sleep(THINK);
    return;
  }
  const id = `flash/${data.run}/${__VU}-${__ITER}`;
  const res = postJson(
    '/v1/reservations',
    { id, lines: [{ sku: data.sku, location: data.location, qty: 1 }] },
    'flash_hold',
    { responseCallback: http.expectedStatuses(201, 409) },
  );
  const b = body(res);
  check(res, {
    'flash hold: 201 held or 409 insufficient_stock with nothing available': (r) =>
      (r.status === 201 && b !== null && b.status === 'held' && b.id === id) ||
      (r.status === 409 && b !== null && b.error === 'insufficient_stock' && b.lines && b.lines.length === 1 && b.lines[0].available === 0),
  });
  if (res.status === 201) {
    won.add(1);
    wonLatency.add(res.timings.duration);
    balance.add(1);
    hasWon = true;
  } else if (res.status === 409) {
    lost.add(1);
  }
  sleep(THINK * (0.5 + Math.random()));
}

export function teardown(data) {
  const p = readPosition(data.sku, data.location);
  balance.add(-p.reserved);
  // No oversell: holds never exceed the stock, never create a shortfall, and
  // what is left to promise is exactly what was not held.
  const over = Math.max(0, p.reserved + p.committed - STOCK) + p.shortfall + Math.abs(p.available - (STOCK - p.reserved - p.committed));
  oversold.add(over);
  won.add(0);
  const share = shareWithin(data.histogram, routeHistogram('/v1/reservations'), '0.01');
  if (share === null) console.warn('flash-sale: GET /metrics unavailable, no server-side latency');
  serverWithin10ms.add(share === null ? 0 : share);
  check(p, {
    'teardown: reserved ≤ stock': () => p.reserved <= STOCK,
    'teardown: onHand untouched': () => p.onHand === STOCK,
  });
  console.log(`flash-sale teardown: onHand ${p.onHand}, reserved ${p.reserved}, available ${p.available}, shortfall ${p.shortfall}, version ${p.version}; ` +
    `server-side holds within 10 ms: ${share === null ? 'n/a' : (share * 100).toFixed(2) + ' %'}`);
}
