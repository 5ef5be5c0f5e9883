// The writer of `npm run bench:stream`, in a process of its own so that an
// answer's arrival time is not held up by other work on the same event loop:
// POST /v1/stock/adjust at a fixed rate of deltas (open loop: request i leaves
// at start + i × period, at most `inFlight` at once; rate 0: as fast as
// `inFlight` allows), each item one position (so one delta). Positions are
// visited in a fixed scattered order (i × 7919 mod positions, a permutation:
// 7919 is prime and does not divide 10,000), each once per round, so that a
// subscriber watching a contiguous page of SKUs gets its share spread over the
// round rather than in one burst. Records the ack
// and send times (process.hrtime, ms) of every (sku, location, version) the answers
// report, writes them to `outFile` as JSON and sends a summary over IPC.
//
// argv: base rate items seconds inFlight outFile [positions locations]
// (position i is SKU i at location `bench` when there is one location, else at
// `bench-{i mod locations}`: the same rule as latency.bench.ts)

import { writeFileSync } from "node:fs";
import { Agent, request } from "node:http";

const [base, rateText, itemsText, secondsText, inFlightText, outFile, positionsText, locationsText] = process.argv.slice(2);
const rate = Number(rateText);
const items = Number(itemsText);
const seconds = Number(secondsText);
const inFlight = Number(inFlightText);
const POSITIONS = Number(positionsText ?? 10_000); // as loaded by latency.bench.ts
const LOCATIONS = Number(locationsText ?? 1);
const SCATTER = 7919; // prime: i × SCATTER mod POSITIONS visits every position once per round

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const skuOf = (i: number): string => `SKU-${String(i).padStart(5, "0")}`;
const locationOf = (i: number): string => (LOCATIONS === 1 ? "bench" : `bench-${i % LOCATIONS}`);
const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
const url = new URL("/v1/stock/adjust", base);

const acks: [string, number, number][] = []; // key, ack time, send time
let cursor = 0;
let deltas = 0;
let requests = 0;
let late = 0;
let lastAck = 0;

function adjust(): Promise<void> {
  const body = new Array<{ sku: string; location: string; delta: number }>(items);
  for (let i = 0; i < items; i++) {
    const n = cursor++;
    const p = ((n % POSITIONS) * SCATTER) % POSITIONS;
    body[i] = { sku: skuOf(p), location: locationOf(p), delta: Math.floor(n / POSITIONS) % 2 === 0 ? 1 : -1 };
  }
  const payload = JSON.stringify({ items: body });
  const sentAt = now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) } }, (res) => {
      const acked = now();
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode !== 200) return reject(new Error(`adjust answered ${res.statusCode}: ${text}`));
        const answer = JSON.parse(text) as { positions: { sku: string; location: string; version: number }[] };
        for (const p of answer.positions) acks.push([`${p.sku}\u0000${p.location}\u0000${p.version}`, acked, sentAt]);
        deltas += items;
        requests++;
        lastAck = acked;
        resolve();
      });
    });
    req.on("error", reject);
    req.end(payload);
  });
}

async function main(): Promise<void> {
  const period = rate > 0 ? (items / rate) * 1000 : 0; // ms between requests
  const firstSend = now();
  const end = firstSend + seconds * 1000;
  let sent = 0;
  let running = 0;
  let timer = false;
  await new Promise<void>((resolve, reject) => {
    const tick = (): void => {
      const t = now();
      while (running < inFlight && t < end && t >= firstSend + sent * period) {
        if (period > 0 && t > firstSend + (sent + 1) * period) late++;
        sent++;
        running++;
        adjust().then(() => {
          running--;
          tick();
        }, reject);
      }
      if (now() >= end) {
        if (running === 0) resolve();
      } else if (running < inFlight && !timer) {
        timer = true;
        setTimeout(() => {
          timer = false;
          tick();
        }, Math.max(0, Math.min(1, firstSend + sent * period - now())));
      } // else: the next answer (or the pending timer) calls tick
    };
    tick();
  });
  writeFileSync(outFile, JSON.stringify(acks));
  const cpu = process.cpuUsage();
  process.send!({ deltas, requests, late, firstSend, lastAck, cpuSeconds: (cpu.user + cpu.system) / 1e6 }, () => process.exit(0));
}

main().catch((e: unknown) => {
  process.stderr.write(`writer failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
