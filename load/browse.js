// browse.js: listing-page reads. Each iteration is one storefront listing page:
// POST /v1/availability/query with PAGE SKUs (default 50), half of them at one
// location and half through a channel (network ATP with a buffer).
//
//   k6 run load/browse.js
//   k6 run -e OMNISTOCK_URL=http://127.0.0.1:8080 -e RATE=2000 -e DURATION=30s load/browse.js
//
// Env: OMNISTOCK_URL, RATE (pages/s, default 1000), DURATION (default 30s),
// SKUS (catalogue size, default 5000), PAGE (SKUs per page, default 50),
// VUS / MAX_VUS (pre-allocated / max VUs of the arrival-rate executor),
// P99_MS (p(99) threshold on query latency, default 25).
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { BASE, body, envInt, envStr, pick, postJson, putChannel, requireReady, runId, setStock } from './lib/common.js';

const RATE = envInt('RATE', 1000);
const DURATION = envStr('DURATION', '30s');
const SKUS = envInt('SKUS', 5000);
const PAGE = envInt('PAGE', 50);
const P99_MS = envInt('P99_MS', 25);
const LOCATIONS = ['store-1', 'store-2', 'store-3', 'dc-1'];

const wrongAnswers = new Counter('browse_wrong_answers');

export const options = {
  scenarios: {
    browse: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: envInt('VUS', 50),
      maxVUs: envInt('MAX_VUS', 200),
    },
  },
  thresholds: {
    // Any transport error or non-2xx on a listing read fails the run.
    'http_req_failed{name:availability_query}': ['rate<0.001'],
    // 99 % of listing pages answer within P99_MS (server + loopback + k6 time).
    'http_req_duration{name:availability_query}': [`p(99)<${P99_MS}`, 'p(95)<' + Math.max(1, Math.floor(P99_MS / 2))],
    // Every page has PAGE items in request order, with self-consistent figures.
    checks: ['rate>0.999'],
    browse_wrong_answers: ['count==0'],
    // The engine kept up: under 1 % of the offered pages were dropped because
    // every VU was still waiting on an earlier answer.
    dropped_iterations: [`rate<${RATE * 0.01}`],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  requireReady();
  const run = runId();
  const skus = [];
  for (let i = 0; i < SKUS; i++) {
    // A few ids need escaping or are non-ASCII, as real catalogues do.
    skus.push(i % 10 === 0 ? `browse ${run}/Größe-${i}` : `browse-${run}-${i}`);
  }
  const locations = LOCATIONS.map((l) => `${l}-${run}`);
  const items = [];
  for (let i = 0; i < skus.length; i++) {
    for (let j = 0; j < locations.length; j++) {
      // Some positions out of stock, some with a safety stock.
      const onHand = (i * 7 + j * 13) % 11 === 0 ? 0 : ((i * 31 + j * 17) % 200) + 1;
      const item = { sku: skus[i], location: locations[j], onHand };
      if ((i + j) % 5 === 0) item.safetyStock = 3;
      items.push(item);
    }
  }
  setStock(items);
  const channel = `web-${run}`;
  putChannel(channel, { locations: [locations[0], locations[1], locations[3]], buffer: 2 });
  console.log(`browse: ${skus.length} SKUs × ${locations.length} locations at ${BASE}, channel ${channel}`);
  return { skus, locations, channel };
}

function pageOf(skus) {
  const start = Math.floor(Math.random() * (skus.length - PAGE + 1));
  return skus.slice(start, start + PAGE);
}

export default function (data) {
  const skus = pageOf(data.skus);
  const byChannel = Math.random() < 0.5;
  const req = byChannel ? { skus, channel: data.channel } : { skus, location: pick(data.locations) };
  const res = postJson('/v1/availability/query', req, 'availability_query');
  const b = body(res);
  const items = b && Array.isArray(b.items) ? b.items : [];
  const ok = check(res, {
    'query: 200': (r) => r.status === 200,
    'query: one item per SKU, in request order': () => items.length === skus.length && items.every((it, i) => it.sku === skus[i]),
    'query: figures consistent': () =>
      items.every((it) =>
        byChannel
          ? it.channel === data.channel && Number.isInteger(it.available) && it.available >= 0 &&
            it.available === it.locations.reduce((s, l) => s + l.available, 0)
          : it.location === req.location &&
            it.available === Math.max(0, it.onHand - it.reserved - it.committed - it.safetyStock)),
  });
  if (!ok) wrongAnswers.add(1);
}
