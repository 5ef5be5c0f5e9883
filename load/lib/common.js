// Shared helpers for the omnistock k6 scripts. Every script takes the engine's
// base URL from OMNISTOCK_URL and builds its own stock in setup(), under ids
// unique to the run, so scripts can run against a shared (non-empty) engine.
import http from 'k6/http';
import { check, fail } from 'k6';

export const BASE = (__ENV.OMNISTOCK_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');

export const JSON_HEADERS = { 'Content-Type': 'application/json' };
if (__ENV.OMNISTOCK_TOKEN) JSON_HEADERS.Authorization = `Bearer ${__ENV.OMNISTOCK_TOKEN}`;

/** Reads an integer/string/duration from the environment with a default. */
export function envInt(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got "${raw}"`);
  return n;
}
export function envStr(name, fallback) {
  const raw = __ENV[name];
  return raw === undefined || raw === '' ? fallback : raw;
}

/** Percent-encodes one path segment (ids may hold '/', ' ', '%', non-ASCII). */
export const enc = encodeURIComponent;

/** A run id: prefixes every SKU, reservation and channel a run creates. */
export function runId() {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}

export function postJson(path, body, name, extra = {}) {
  return http.post(`${BASE}${path}`, JSON.stringify(body), {
    headers: JSON_HEADERS,
    tags: { name: name || path },
    ...extra,
  });
}

export function putJson(path, body, name) {
  return http.put(`${BASE}${path}`, JSON.stringify(body), { headers: JSON_HEADERS, tags: { name: name || path } });
}

export function getJson(path, name) {
  return http.get(`${BASE}${path}`, { headers: JSON_HEADERS, tags: { name: name || path } });
}

/** Parses a JSON body, or null (never throws: a bad body is a failed check). */
export function body(res) {
  try {
    return res.json();
  } catch (_) {
    return null;
  }
}

/** Fails setup() unless the engine is up and ready. */
export function requireReady() {
  const res = http.get(`${BASE}/readyz`, { tags: { name: 'setup' } });
  if (res.status !== 200) fail(`engine at ${BASE} is not ready: /readyz answered ${res.status} ${res.error || ''}`);
}

/** Sets absolute stock (POST /v1/stock) in chunks of ≤10,000 items; fails setup() on any error. */
export function setStock(items) {
  for (let i = 0; i < items.length; i += 10000) {
    const chunk = items.slice(i, i + 10000);
    const res = postJson('/v1/stock', { items: chunk }, 'setup');
    const ok = check(res, { 'setup: stock written (200)': (r) => r.status === 200 });
    if (!ok) fail(`POST /v1/stock answered ${res.status}: ${String(res.body).slice(0, 300)}`);
  }
}

/** PUT /v1/channels/{id}; fails setup() on any error. */
export function putChannel(id, channel) {
  const res = putJson(`/v1/channels/${enc(id)}`, channel, 'setup');
  if (res.status !== 200) fail(`PUT /v1/channels/${id} answered ${res.status}: ${String(res.body).slice(0, 300)}`);
}

/** Reads one position (GET /v1/availability/{sku}?location=); fails on error. */
export function readPosition(sku, location, name = 'teardown') {
  const res = getJson(`/v1/availability/${enc(sku)}?location=${enc(location)}`, name);
  if (res.status !== 200) fail(`GET position ${sku}@${location} answered ${res.status}: ${String(res.body).slice(0, 300)}`);
  return res.json();
}

export function pick(arr) {
  return arr[Math.floor(Math.random() * arr.length)];
}

/**
 * The engine's own latency histogram of one route, from GET /metrics
 * (omnistock_http_request_duration_seconds): {buckets: {le: count}, count}, or
 * null when /metrics is unavailable. Diff two readings to get a run's share.
 */
export function routeHistogram(route) {
  const res = http.get(`${BASE}/metrics`, { tags: { name: 'metrics' } });
  if (res.status !== 200 || typeof res.body !== 'string') return null;
  const buckets = {};
  let count = 0;
  const q = `route="${route}"`;
  for (const line of res.body.split('\n')) {
    if (!line.startsWith('omnistock_http_request_duration_seconds') || !line.includes(q)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    const le = /le="([^"]+)"/.exec(line);
    if (line.startsWith('omnistock_http_request_duration_seconds_bucket') && le) buckets[le[1]] = value;
    else if (line.startsWith('omnistock_http_request_duration_seconds_count')) count = value;
  }
  return { buckets, count };
}

/** Share (0…1) of the requests between two readings that took ≤ le seconds. */
export function shareWithin(before, after, le) {
  if (!before || !after) return null;
  const n = after.count - before.count;
  if (n <= 0) return null;
  const within = (after.buckets[le] || 0) - (before.buckets[le] || 0);
  return within / n;
}
