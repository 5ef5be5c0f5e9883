// `npm run bench:stream`: how long a stock change takes from its
// acknowledgement (the writer's HTTP 200) to its receipt by 1,000 WebSocket
// subscribers of `GET /v1/stream` and by a NATS subscriber, at a fixed rate of
// deltas; then how many deltas per second the engine sustains with a few
// subscribers. Every part is its own process on loopback: the engine
// (`node dist/src/main.js`, fresh data directory), nats-server (when on PATH),
// the subscribers (BENCH_SUBSCRIBER: `native`, native/src/subscribers.rs, Rust
// over epoll, or `node`, subscribers.ts; both raw sockets, frame headers and
// seq only), the writer (BENCH_WRITER: native/src/writer.rs or writer.ts)
// and this one (the writer, one `ws` probe that reads every message whole to
// map seq → position version, and the NATS subscriber). Times come from
// process.hrtime, the monotonic clock all processes share.
//
// A delta's latency is receipt time minus the ack time of the request that
// made it (matched by sku, location and version). Negative values are real:
// the engine may hand a batch to the sockets before it writes the HTTP answer.
// p50/p99 over every (client, seq) pair with seq % SAMPLE_EVERY == 0 (the probe
// and NATS: every seq); max over every pair. The first WARMUP seconds are not
// counted.
//
// Two scenarios (BENCH_SCENARIO):
//   unfiltered (default)  BENCH_CLIENTS subscribers with no filter, each
//              receiving every delta: the worst case and the honest ceiling
//              (1,000 × 10,000 deltas/s is 10 M frames/s).
//   filtered   what storefronts do: BENCH_CLIENTS subscribers with a filter,
//              half of them one location (`{locations: ["bench-7"]}`), half a
//              page of BENCH_PAGE_SKUS SKUs (`{skus: [SKU-00700 … SKU-00799]}`);
//              with 10,000 positions over 100 locations each filter matches
//              1% of the deltas. Plus BENCH_UNFILTERED subscribers with no
//              filter (the probe among them) that also measure latency. Every
//              filtered receipt is recorded and checked against the filter:
//              missing, unexpected and out-of-order receipts are counted.
//
// Settings (environment): BENCH_SCENARIO (unfiltered), BENCH_CLIENTS (1000),
// BENCH_UNFILTERED (10, filtered scenario only), BENCH_PAGE_SKUS (100),
// BENCH_LOCATIONS (positions spread over this many locations: 1 unfiltered,
// 100 filtered), BENCH_RATE (10000 deltas/s), BENCH_ITEMS (50 per request),
// BENCH_SECONDS (15), BENCH_WARMUP_SECONDS (3), BENCH_SAMPLE_EVERY (20),
// BENCH_TP_CLIENTS (10), BENCH_TP_SECONDS (10), BENCH_NATS (1; 0 skips NATS),
// BENCH_ENGINE_NODE_ARGS (node flags for the engine, e.g. --cpu-prof),
// BENCH_SUBSCRIBER and BENCH_WRITER (native: the Rust processes of native/,
// built with cargo; node: subscribers.ts and writer.ts, the ruler of the runs
// before 2026-12-07), BENCH_LABEL (a line for LATEST.md).
//
// The load processes share the machine with the engine: the Node subscriber
// took ~0.7 core for 1,010 clients at 10,000 deltas/s on 2 cores (and each
// receipt waited for its event loop to reach that socket), the Node writer
// ~0.85 ms of CPU a 50-item request. Both kinds stay selectable, and
// LATEST.md says which measured, so a figure can be told from a change of the
// ruler.
//
// BENCH_ITEMS: 50 deltas per request is a bulk feed (a WMS or ERP sync, a
// marketplace import). A POS sale or a checkout changes 1 to 5 positions, so
// a real mix has many more, smaller requests: at 10,000 deltas/s and 5 items
// that is 2,000 requests/s, more released batches per second, and so more
// (smaller) writes per subscriber. Run BENCH_ITEMS=5 to see that case.

import { spawn, spawnSync, fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, createConnection } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect as natsConnect, type NatsConnection } from "nats";
import WebSocket from "ws";

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/bench/stream
const ROOT = join(HERE, "..", "..", "..");
const HOST = "127.0.0.1";
const env = process.env;
const int = (name: string, fallback: number): number => (env[name] ? Number(env[name]) : fallback);

const SCENARIO = env.BENCH_SCENARIO ?? "unfiltered";
const SUBSCRIBER = env.BENCH_SUBSCRIBER ?? "native";
if (SUBSCRIBER !== "native" && SUBSCRIBER !== "node") throw new Error('BENCH_SUBSCRIBER: "native" or "node"');
const WRITER = env.BENCH_WRITER ?? "native";
if (WRITER !== "native" && WRITER !== "node") throw new Error('BENCH_WRITER: "native" or "node"');
const NATIVE_DIR = join(ROOT, "bench/stream/native");
if (SCENARIO !== "unfiltered" && SCENARIO !== "filtered") throw new Error('BENCH_SCENARIO: "unfiltered" or "filtered"');
const FILTERED = SCENARIO === "filtered";
const CLIENTS = int("BENCH_CLIENTS", 1000);
const UNFILTERED = FILTERED ? int("BENCH_UNFILTERED", 10) : CLIENTS; // unfiltered subscribers, the probe included
const FILTERED_CLIENTS = FILTERED ? CLIENTS : 0;
const PAGE_SKUS = int("BENCH_PAGE_SKUS", 100);
const LOCATIONS = int("BENCH_LOCATIONS", FILTERED ? 100 : 1);
const RATE = int("BENCH_RATE", 10_000); // deltas/s
const ITEMS = int("BENCH_ITEMS", 50); // deltas per request
const SECONDS = int("BENCH_SECONDS", 15);
const WARMUP_SECONDS = int("BENCH_WARMUP_SECONDS", 3);
const SAMPLE_EVERY = int("BENCH_SAMPLE_EVERY", 20);
const TP_CLIENTS = int("BENCH_TP_CLIENTS", 10);
const TP_SECONDS = int("BENCH_TP_SECONDS", 10);
const TP_ITEMS = 1000; // deltas per request in the throughput run
const TP_IN_FLIGHT = 4;
const IN_FLIGHT_MAX = 64; // writer requests at once in the fixed-rate run
const POSITIONS = 10_000; // SKU-00000 …, SKU i at location locationOf(i)
const ON_HAND = 1_000_000;
const SEQ_WINDOW = 4_000_000;
const CATCH_UP_MS = 30_000;

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const skuOf = (i: number): string => `SKU-${String(i).padStart(5, "0")}`;
const locationOf = (i: number): string => (LOCATIONS === 1 ? "bench" : `bench-${i % LOCATIONS}`);
/** Position index of a probe key (`SKU-01234\0…`). */
const positionOfKey = (key: string): number => Number(key.slice(4, key.indexOf("\u0000")));

/** Filtered client c: even ones watch one location, odd ones a page of PAGE_SKUS SKUs. */
interface ClientFilter {
  location: number | null; // index of the location watched
  page: number | null; // SKUs page × PAGE_SKUS … + PAGE_SKUS - 1
}
function filterOf(c: number): ClientFilter {
  const half = Math.floor(c / 2);
  return c % 2 === 0 ? { location: half % LOCATIONS, page: null } : { location: null, page: half % Math.ceil(POSITIONS / PAGE_SKUS) };
}
function subscribeOf(f: ClientFilter): string {
  if (f.location !== null) return JSON.stringify({ op: "subscribe", locations: [locationOf(f.location)] });
  const skus: string[] = [];
  for (let i = f.page! * PAGE_SKUS; i < Math.min(POSITIONS, (f.page! + 1) * PAGE_SKUS); i++) skus.push(skuOf(i));
  return JSON.stringify({ op: "subscribe", skus });
}
const keyOf = (sku: string, location: string, version: number): string => `${sku}\u0000${location}\u0000${version}`;

const children: ChildProcess[] = [];
const tmp = mkdtempSync(join(tmpdir(), "omnistock-bench-stream-"));
function cleanup(): void {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
}
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, HOST, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0));
    });
  });
}

async function waitAccepting(port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((r) => {
      const s = createConnection({ host: HOST, port }, () => (s.destroy(), r(true)));
      s.once("error", () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing accepts on ${port}`);
}

/** utime + stime of a process in seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  const [user, sys] = cpuSplit(pid);
  return user + sys;
}

/** CPU seconds the whole machine spent busy (every core, every process and the kernel), from /proc/stat. */
function machineBusySeconds(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields; // idle and iowait left out
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** [utime, stime] of a process in seconds. */
function cpuSplit(pid: number): [number, number] {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return [Number(fields[11]) / 100, Number(fields[12]) / 100];
}

// ---------------------------------------------------------------- processes
let natsPid = 0;
async function startNats(): Promise<string | null> {
  if (env.BENCH_NATS === "0") return null;
  const probe = spawnSync("nats-server", ["--version"]);
  if (probe.error || probe.status !== 0) return null;
  const port = await freePort();
  const child = spawn("nats-server", ["-a", HOST, "-p", String(port), "-js", "-sd", join(tmp, "nats")], { stdio: "ignore" });
  children.push(child);
  natsPid = child.pid!;
  await waitAccepting(port);
  return `nats://${HOST}:${port}`;
}

interface Engine {
  child: ChildProcess;
  base: string;
}

async function startEngine(natsUrl: string | null): Promise<Engine> {
  // BENCH_ENGINE_NODE_ARGS: node flags for the engine alone, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (env.BENCH_ENGINE_NODE_ARGS ?? "").split(" ").filter((a) => a.length > 0);
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, "dist/src/main.js")], {
    cwd: ROOT,
    env: {
      ...env,
      OMNISTOCK_HOST: HOST,
      OMNISTOCK_PORT: "0",
      OMNISTOCK_DATA_DIR: join(tmp, "data"),
      OMNISTOCK_POSITIONS_MAX: "100000",
      OMNISTOCK_RESERVATIONS_MAX: "100000",
      ...(natsUrl ? { OMNISTOCK_NATS_URL: natsUrl } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    let port = 0;
    let out = "";
    child.once("exit", (code) => reject(new Error(`engine exited (${code}): ${stderr}`)));
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      let nl;
      while ((nl = out.indexOf("\n")) >= 0) {
        const line = JSON.parse(out.slice(0, nl)) as { event: string; port?: number };
        out = out.slice(nl + 1);
        if (line.event === "listening") port = line.port!;
        if (line.event === "ready") resolve({ child, base: `http://${HOST}:${port}` });
      }
    });
  });
}

interface Load {
  child: ChildProcess;
  request(cmd: object, event: string): Promise<Record<string, unknown>>;
}

/** Builds the native load processes (cargo, offline when the registry cache has its one crate); returns the path of `bin`. */
function nativeBinary(bin: "subscribers" | "writer"): string {
  nativeBuilt ??= buildNative();
  return join(nativeBuilt, bin);
}
let nativeBuilt: string | null = null;
function buildNative(): string {
  const build = (offline: boolean) =>
    spawnSync("cargo", ["build", "--release", "--quiet", ...(offline ? ["--offline"] : []), "--manifest-path", join(NATIVE_DIR, "Cargo.toml")], { stdio: ["ignore", "inherit", "pipe"] });
  let result = build(true);
  if (result.error) throw new Error(`BENCH_SUBSCRIBER=native and BENCH_WRITER=native need cargo (Rust) on PATH (${result.error.message}); =node runs the Node ones`);
  if (result.status !== 0) result = build(false); // first build on this machine: fetch the libc crate
  if (result.status !== 0) throw new Error(`cargo build of ${NATIVE_DIR} failed: ${result.stderr.toString()}`);
  return join(NATIVE_DIR, "target", "release");
}

/**
 * The subscriber process (BENCH_SUBSCRIBER): `clients` raw clients, the first
 * `subscriptions.length` with those subscribes, the rest unfiltered. Both
 * kinds answer the same commands with the same events and files: the Node one
 * (subscribers.ts) over fork()'s IPC, the native one as JSON lines on
 * stdin/stdout.
 */
async function startLoad(port: number, clients: number, subscriptions: string[] = []): Promise<Load> {
  const args = [String(port), String(clients), String(SAMPLE_EVERY), String(SEQ_WINDOW)];
  if (subscriptions.length > 0) {
    const file = join(tmp, `subscriptions-${Date.now()}.json`);
    // Node reads a JSON array; the native client one subscribe a line (JSON.stringify never emits a raw newline).
    writeFileSync(file, SUBSCRIBER === "node" ? JSON.stringify(subscriptions) : subscriptions.join("\n"));
    args.push(file);
  }
  const waiters = new Map<string, (m: Record<string, unknown>) => void>();
  const onEvent = (m: Record<string, unknown>): void => {
    const w = waiters.get(m.event as string);
    if (m.event === "failed") throw new Error(`subscribers: ${String(m.message)}`);
    if (w) (waiters.delete(m.event as string), w(m));
  };
  let child: ChildProcess;
  let send: (cmd: object) => void;
  if (SUBSCRIBER === "node") {
    const forked = fork(join(HERE, "subscribers.js"), args, { stdio: "inherit" });
    forked.on("message", onEvent);
    send = (cmd) => forked.send(cmd);
    child = forked;
  } else {
    const spawned = spawn(nativeBinary("subscribers"), args, { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    spawned.stdout!.on("data", (d: Buffer) => {
      out += d.toString("utf8");
      let nl;
      while ((nl = out.indexOf("\n")) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        onEvent(JSON.parse(line) as Record<string, unknown>);
      }
    });
    send = (cmd) => spawned.stdin!.write(`${JSON.stringify(cmd)}\n`);
    child = spawned;
  }
  children.push(child);
  const request = (cmd: object, event: string): Promise<Record<string, unknown>> =>
    new Promise((resolve) => {
      waiters.set(event, resolve);
      if (Object.keys(cmd).length > 0) send(cmd);
    });
  await request({}, "subscribed");
  return { child, request };
}

// ---------------------------------------------------------------- writer
interface WriteLog {
  ackByKey: Map<string, number>;
  sentByKey: Map<string, number>;
  deltas: number;
  requests: number;
  late: number;
  firstSend: number;
  lastAck: number;
  pid: number;
  cpuSeconds: number; // the writer process's own
}

/**
 * Runs the writer (BENCH_WRITER: native/src/writer.rs, or writer.ts) in its
 * own process (busy with nothing else, so ack times are when answers arrive).
 * Both take the same arguments and write the same acks file; the Node one
 * sends its summary over IPC, the native one as a JSON line on stdout.
 */
async function write(base: string, rate: number, items: number, seconds: number, inFlight: number): Promise<WriteLog> {
  const file = join(tmp, `acks-${Date.now()}.json`);
  const args = [base, String(rate), String(items), String(seconds), String(inFlight), file, String(POSITIONS), String(LOCATIONS)];
  const child = WRITER === "node" ? fork(join(HERE, "writer.js"), args, { stdio: "inherit" }) : spawn(nativeBinary("writer"), args, { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const result = await new Promise<Record<string, number>>((resolve, reject) => {
    if (WRITER === "node") child.once("message", (m: Record<string, number>) => resolve(m));
    else {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString("utf8");
        if (out.includes("\n")) resolve(JSON.parse(out.slice(0, out.indexOf("\n"))) as Record<string, number>);
      });
    }
    child.once("exit", (code) => code !== 0 && reject(new Error(`writer exited with ${code}`)));
  });
  const acks = JSON.parse(readFileSync(file, "utf8")) as [string, number, number][];
  return { ackByKey: new Map(acks.map(([k, a]) => [k, a])), sentByKey: new Map(acks.map(([k, , s]) => [k, s])), deltas: result.deltas, requests: result.requests, late: result.late, firstSend: result.firstSend, lastAck: result.lastAck, pid: child.pid!, cpuSeconds: result.cpuSeconds };
}

// ---------------------------------------------------------------- probes
/** One `ws` subscriber reading every message whole: seq → position key, and its own receipt times. */
async function openProbe(base: string): Promise<{ ws: WebSocket; keyBySeq: Map<number, string>; timeBySeq: Map<number, number>; subscribed: Promise<number> }> {
  const ws = new WebSocket(`${base.replace("http", "ws")}/v1/stream`, { perMessageDeflate: false });
  const keyBySeq = new Map<number, string>();
  const timeBySeq = new Map<number, number>();
  let subscribedSeq!: (seq: number) => void;
  const subscribed = new Promise<number>((r) => (subscribedSeq = r));
  ws.on("message", (data: Buffer) => {
    const t = now();
    const m = JSON.parse(data.toString("utf8")) as { type: string; seq: number; sku: string; location: string; version: number };
    if (m.type === "subscribed") return subscribedSeq(m.seq);
    if (m.type === "delta") keyBySeq.set(m.seq, keyOf(m.sku, m.location, m.version));
    timeBySeq.set(m.seq, t);
  });
  await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  ws.send(JSON.stringify({ op: "subscribe" }));
  return { ws, keyBySeq, timeBySeq, subscribed };
}

async function openNats(url: string): Promise<{ nc: NatsConnection; timeBySeq: Map<number, number> }> {
  const nc = await natsConnect({ servers: url });
  const timeBySeq = new Map<number, number>();
  nc.subscribe("omnistock.delta.>", {
    callback: (_e, m) => {
      const id = m.headers?.get("Nats-Msg-Id");
      if (id) timeBySeq.set(Number(id), now());
    },
  });
  await nc.flush();
  return { nc, timeBySeq };
}

// ---------------------------------------------------------------- the engine's fan-out metrics
interface Fanout {
  buckets: [number, number][]; // [le, cumulative count], ascending
  sum: number; // seconds
  count: number;
  deliveries: number;
}

/** omnistock_stream_fanout_seconds and _deliveries_total from /metrics (every thread summed). */
async function fanoutMetrics(base: string): Promise<Fanout> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string): number => Number(text.split("\n").find((l) => l.startsWith(`${name} `))?.split(" ")[1] ?? NaN);
  const buckets: [number, number][] = [];
  for (const line of text.split("\n")) {
    const m = /^omnistock_stream_fanout_seconds_bucket\{le="([^"]+)"\} (\S+)$/.exec(line);
    if (m) buckets.push([m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2])]);
  }
  return { buckets, sum: value("omnistock_stream_fanout_seconds_sum"), count: value("omnistock_stream_fanout_seconds_count"), deliveries: value("omnistock_stream_fanout_deliveries_total") };
}

/** One line on the fan-out loops between two readings: how long a released batch took to reach every client it matched. */
function fanoutLine(a: Fanout, b: Fanout, wallS: number): string {
  const count = b.count - a.count;
  if (!(count > 0)) return "Fan-out loops: none observed (omnistock_stream_fanout_seconds missing or empty).";
  const bound = (q: number): string => {
    for (let i = 0; i < b.buckets.length; i++) {
      if (b.buckets[i][1] - (a.buckets[i]?.[1] ?? 0) >= q * count) {
        return b.buckets[i][0] === Infinity ? `> ${((b.buckets[i - 1]?.[0] ?? 0) * 1000).toFixed(2)}` : `≤ ${(b.buckets[i][0] * 1000).toFixed(2)}`;
      }
    }
    return "?";
  };
  const deliveries = b.deliveries - a.deliveries;
  return (
    `Fan-out loops (engine's omnistock_stream_fanout_seconds over the whole write run, every thread): ${count} released batches reached clients, ` +
    `${(deliveries / count).toFixed(0)} client deliveries each on average (${(deliveries / wallS).toFixed(0)}/s), ` +
    `loop mean ${(((b.sum - a.sum) / count) * 1000).toFixed(2)} ms, p50 ${bound(0.5)} ms, p90 ${bound(0.9)} ms, p99 ${bound(0.99)} ms (bucket bounds). ` +
    `A client's frame leaves at its place in its batch's loop.`
  );
}

// ---------------------------------------------------------------- statistics
interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

function stats(values: Float64Array | number[], max?: number): Stats {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: max ?? at(1) };
}

const ms = (v: number): string => (Number.isNaN(v) ? "–" : v.toFixed(2));

// ---------------------------------------------------------------- runs
async function main(): Promise<void> {
  // Build the native load processes before anything is measured (a cargo build inside the run would count as load).
  if (SUBSCRIBER === "native" || WRITER === "native") nativeBinary("writer");
  const started = new Date();
  const load0 = loadavg()[0];
  const natsUrl = await startNats();
  const engine = await startEngine(natsUrl);
  const port = Number(new URL(engine.base).port);
  const natsWired = natsUrl !== null;

  // Stock: every position once, so each adjustment is one delta.
  for (let from = 0; from < POSITIONS; from += 10_000) {
    const items = [];
    for (let i = from; i < Math.min(POSITIONS, from + 10_000); i++) items.push({ sku: skuOf(i), location: locationOf(i), onHand: ON_HAND });
    const res = await fetch(`${engine.base}/v1/stock`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ items }) });
    if (res.status !== 200) throw new Error(`stock load answered ${res.status}`);
  }
  await sleep(500);
  const nats = natsUrl ? await openNats(natsUrl) : null;

  // ---- latency at a fixed rate: FILTERED_CLIENTS filtered raw subscribers, UNFILTERED - 1 unfiltered raw ones, and the probe
  const filters = Array.from({ length: FILTERED_CLIENTS }, (_, c) => filterOf(c));
  const rawUnfiltered = UNFILTERED - 1;
  const load = await startLoad(port, FILTERED_CLIENTS + rawUnfiltered, filters.map(subscribeOf));
  const probe = await openProbe(engine.base);
  const baseSeq = await probe.subscribed;
  process.stderr.write(`${SCENARIO}: ${FILTERED_CLIENTS} filtered + ${UNFILTERED} unfiltered subscribers at seq ${baseSeq}; writing ${RATE} deltas/s for ${SECONDS} s\n`);
  const split0 = cpuSplit(engine.child.pid!);
  const loadSplit0 = cpuSplit(load.child.pid!);
  const cpu0 = { engine: cpuSeconds(engine.child.pid!), load: cpuSeconds(load.child.pid!), self: process.cpuUsage(), nats: natsPid ? cpuSeconds(natsPid) : 0, machine: machineBusySeconds() };
  const fanout0 = await fanoutMetrics(engine.base);
  const log = await write(engine.base, RATE, ITEMS, SECONDS, IN_FLIGHT_MAX);
  const fanout1 = await fanoutMetrics(engine.base);
  const t0 = log.firstSend;
  const t1 = log.lastAck;
  const split1 = cpuSplit(engine.child.pid!);
  const loadSplit1 = cpuSplit(load.child.pid!);
  const cpu1 = { engine: cpuSeconds(engine.child.pid!), load: cpuSeconds(load.child.pid!), self: process.cpuUsage(cpu0.self), nats: natsPid ? cpuSeconds(natsPid) : 0, machine: machineBusySeconds() };
  const lastSeq = baseSeq + log.deltas;
  // Filtered client c is caught up at the newest seq its filter matches (known once the probe has every seq).
  const clientsByLocation: number[][] = Array.from({ length: LOCATIONS }, () => []);
  const clientsByPage: number[][] = Array.from({ length: Math.ceil(POSITIONS / PAGE_SKUS) }, () => []);
  filters.forEach((f, c) => (f.location !== null ? clientsByLocation[f.location] : clientsByPage[f.page!]).push(c));
  const positionBySeq = (k: number): number => {
    const key = probe.keyBySeq.get(baseSeq + 1 + k);
    return key === undefined ? -1 : positionOfKey(key);
  };
  const expectedLast = new Float64Array(FILTERED_CLIENTS).fill(baseSeq);
  let expectedKnown = false;
  const deadline = Date.now() + CATCH_UP_MS;
  while (Date.now() < deadline) {
    const s = await load.request({ cmd: "stats" }, "stats");
    const lastSeqs = s.lastSeqs as number[];
    if (!expectedKnown && probe.timeBySeq.has(lastSeq)) {
      for (let k = 0; k < log.deltas; k++) {
        const p = positionBySeq(k);
        if (p < 0) continue;
        for (const c of clientsByLocation[p % LOCATIONS]) expectedLast[c] = baseSeq + 1 + k;
        for (const c of clientsByPage[Math.floor(p / PAGE_SKUS)]) expectedLast[c] = baseSeq + 1 + k;
      }
      expectedKnown = true;
    }
    let behind = 0;
    for (let c = 0; c < lastSeqs.length; c++) if (lastSeqs[c] < (c < FILTERED_CLIENTS ? expectedLast[c] : lastSeq)) behind++;
    if (expectedKnown && behind === 0 && (!nats || nats.timeBySeq.has(lastSeq))) break;
    await sleep(200);
  }
  const file = join(tmp, "receipts");
  const done = await load.request({ cmd: "stop", file }, "stopped");
  probe.ws.terminate();

  // seq → ack time, through the probe's seq → (sku, location, version)
  const ackBySeq = new Float64Array(log.deltas).fill(NaN);
  const sentBySeq = new Float64Array(log.deltas).fill(NaN);
  for (let k = 0; k < log.deltas; k++) {
    const key = probe.keyBySeq.get(baseSeq + 1 + k);
    const ack = key === undefined ? undefined : log.ackByKey.get(key);
    if (ack !== undefined) (ackBySeq[k] = ack), (sentBySeq[k] = log.sentByKey.get(key!)!);
  }
  const counted = (k: number): boolean => k >= 0 && k < log.deltas && !Number.isNaN(ackBySeq[k]) && ackBySeq[k] >= t0 + WARMUP_SECONDS * 1000;
  const seqs = new Uint32Array(readFileSync(`${file}.seq`).buffer.slice(0));
  const times = new Float64Array(readFileSync(`${file}.time`).buffer.slice(0));
  const last = new Float64Array(readFileSync(`${file}.last`).buffer.slice(0));
  const receiptCount = new Uint16Array(readFileSync(`${file}.count`).buffer.slice(0));
  const wsValues: number[] = [];
  const wsFromSent: number[] = [];
  for (let i = 0; i < seqs.length; i++) {
    const k = seqs[i] - baseSeq - 1;
    if (counted(k)) wsValues.push(times[i] - ackBySeq[k]), wsFromSent.push(times[i] - sentBySeq[k]);
  }
  let wsMax = -Infinity;
  let wsMaxFromSent = -Infinity;
  let missing = 0;
  let countedSeqs = 0;
  for (let k = 0; k < log.deltas; k++) {
    if (!counted(k)) continue;
    countedSeqs++;
    if (receiptCount[k] !== rawUnfiltered) missing += rawUnfiltered - receiptCount[k];
    wsMax = Math.max(wsMax, last[k] - ackBySeq[k]);
    wsMaxFromSent = Math.max(wsMaxFromSent, last[k] - sentBySeq[k]);
    const p = probe.timeBySeq.get(baseSeq + 1 + k);
    if (p !== undefined) (wsMax = Math.max(wsMax, p - ackBySeq[k])), (wsMaxFromSent = Math.max(wsMaxFromSent, p - sentBySeq[k]));
  }
  for (let k = 0; k < log.deltas; k++) {
    const p = probe.timeBySeq.get(baseSeq + 1 + k);
    if (counted(k) && p !== undefined && (baseSeq + 1 + k) % SAMPLE_EVERY === 0) wsValues.push(p - ackBySeq[k]), wsFromSent.push(p - sentBySeq[k]);
  }
  const wsStats = stats(wsValues, wsMax);
  const wsSentStats = stats(wsFromSent, wsMaxFromSent);

  // Filtered clients: every receipt, against what each filter matches.
  let filteredRow = "";
  if (FILTERED) {
    const fClient = new Uint16Array(readFileSync(`${file}.fclient`).buffer.slice(0));
    const fSeq = new Uint32Array(readFileSync(`${file}.fseq`).buffer.slice(0));
    const fTime = new Float64Array(readFileSync(`${file}.ftime`).buffer.slice(0));
    const expected: number[][] = Array.from({ length: FILTERED_CLIENTS }, () => []);
    let unknownPositions = 0;
    for (let k = 0; k < log.deltas; k++) {
      const p = positionBySeq(k);
      if (p < 0) {
        unknownPositions++;
        continue;
      }
      for (const c of clientsByLocation[p % LOCATIONS]) expected[c].push(baseSeq + 1 + k);
      for (const c of clientsByPage[Math.floor(p / PAGE_SKUS)]) expected[c].push(baseSeq + 1 + k);
    }
    const received: number[][] = Array.from({ length: FILTERED_CLIENTS }, () => []);
    const values: number[] = [];
    const fromSent: number[] = [];
    let max = -Infinity;
    let maxFromSent = -Infinity;
    for (let r = 0; r < fSeq.length; r++) {
      received[fClient[r]].push(fSeq[r]);
      const k = fSeq[r] - baseSeq - 1;
      if (!counted(k)) continue;
      const v = fTime[r] - ackBySeq[k];
      const w = fTime[r] - sentBySeq[k];
      values.push(v), fromSent.push(w);
      if (v > max) max = v;
      if (w > maxFromSent) maxFromSent = w;
    }
    let outOfOrder = 0;
    let fMissing = 0;
    let unexpected = 0;
    let expectedTotal = 0;
    let minShare = Infinity;
    let maxShare = 0;
    for (let c = 0; c < FILTERED_CLIENTS; c++) {
      const got = received[c];
      const want = expected[c];
      expectedTotal += want.length;
      minShare = Math.min(minShare, want.length / log.deltas);
      maxShare = Math.max(maxShare, want.length / log.deltas);
      for (let i = 1; i < got.length; i++) if (got[i] <= got[i - 1]) outOfOrder++;
      const wantSet = new Set(want);
      const gotSet = new Set(got);
      for (const q of want) if (!gotSet.has(q)) fMissing++;
      for (const q of got) if (!wantSet.has(q)) unexpected++;
    }
    const f = stats(values, max);
    const fs = stats(fromSent, maxFromSent);
    filteredRow =
      `| WebSocket, filtered (${FILTERED_CLIENTS} clients) | ${f.n} | ${ms(f.p50)} | ${ms(f.p99)} | ${ms(f.max)} | ${ms(fs.p50)} / ${ms(fs.p99)} / ${ms(fs.max)} | ` +
      `every receipt; each filter matched ${(minShare * 100).toFixed(2)}–${(maxShare * 100).toFixed(2)}% of the deltas; received ${fSeq.length} of ${expectedTotal} expected; ` +
      `missing: ${fMissing}; unexpected (not matching the filter): ${unexpected}; out of order: ${outOfOrder}; not recorded: ${String(done.filteredOverflow)}; deltas of unknown position: ${unknownPositions} |`;
  }
  let natsStats: Stats | null = null;
  let natsSentStats: Stats | null = null;
  let natsMissing = 0;
  if (nats) {
    const values: number[] = [];
    const fromSent: number[] = [];
    for (let k = 0; k < log.deltas; k++) {
      if (!counted(k)) continue;
      const t = nats.timeBySeq.get(baseSeq + 1 + k);
      if (t === undefined) natsMissing++;
      else values.push(t - ackBySeq[k]), fromSent.push(t - sentBySeq[k]);
    }
    natsStats = stats(values);
    natsSentStats = stats(fromSent);
  }
  const wallS = (t1 - t0) / 1000;
  const achieved = log.deltas / wallS;
  const engineCpu = (cpu1.engine - cpu0.engine) / wallS;
  const loadCpu = (cpu1.load - cpu0.load) / wallS;
  const selfCpu = (cpu1.self.user + cpu1.self.system) / 1e6 / wallS;
  const natsCpu = (cpu1.nats - cpu0.nats) / wallS;
  const writerCpu = log.cpuSeconds / wallS; // its whole life: the write run and its start
  const machineCpu = (cpu1.machine - cpu0.machine) / wallS;
  const outsideCpu = machineCpu - engineCpu - loadCpu - selfCpu - natsCpu - writerCpu;

  // ---- throughput: as fast as possible, TP_CLIENTS subscribers
  const tpLoad = await startLoad(port, TP_CLIENTS);
  const tpStartSeq = (await tpLoad.request({ cmd: "stats" }, "stats")).lastSeqs as number[];
  const tpCpu0 = cpuSeconds(engine.child.pid!);
  const tpLog = await write(engine.base, 0, TP_ITEMS, TP_SECONDS, TP_IN_FLIGHT);
  const tp0 = tpLog.firstSend;
  const tpAckRate = tpLog.deltas / ((tpLog.lastAck - tp0) / 1000);
  const tpEnd = tpStartSeq[0] + tpLog.deltas;
  let tpCaughtUp = NaN;
  const tpDeadline = Date.now() + CATCH_UP_MS;
  while (Date.now() < tpDeadline) {
    const s = await tpLoad.request({ cmd: "stats" }, "stats");
    if ((s.lastSeqs as number[]).every((q) => q >= tpEnd)) {
      tpCaughtUp = now();
      break;
    }
    await sleep(20);
  }
  const tpCpu = (cpuSeconds(engine.child.pid!) - tpCpu0) / ((now() - tp0) / 1000);
  const tpStats = await tpLoad.request({ cmd: "stop", file: join(tmp, "tp") }, "stopped");
  const tpRecvRate = tpLog.deltas / ((tpCaughtUp - tp0) / 1000);
  await nats?.nc.close();
  const engineExited = new Promise((r) => engine.child.once("exit", r));
  engine.child.kill("SIGTERM");
  await Promise.race([engineExited, sleep(15_000)]); // a clean exit writes --cpu-prof profiles

  // ---- report
  const cpu = cpus()[0]?.model ?? "unknown";
  const lines = [
    `# Stream latency and throughput (bench/stream/latency.bench.ts)`,
    ``,
    ...(env.BENCH_LABEL ? [`${env.BENCH_LABEL}`, ``] : []),
    `- Scenario: **${SCENARIO}** — ${FILTERED ? `${FILTERED_CLIENTS} subscribers with a filter (half one location of ${LOCATIONS}, half a page of ${PAGE_SKUS} SKUs of ${POSITIONS}) plus ${UNFILTERED} unfiltered` : `${CLIENTS} unfiltered subscribers, each receiving every delta (the worst case)`}`,
    `- Command: \`${[...Object.entries(env)].filter(([k]) => k.startsWith("BENCH_") && k !== "BENCH_LABEL").map(([k, v]) => `${k}=${v} `).join("")}npm run bench:stream\``,
    `- Machine: ${cpus().length} × ${cpu}, Node ${process.version}; load average before start ${load0.toFixed(2)}`,
    `- Date: ${started.toISOString()}`,
    `- Subscriber process: ${SUBSCRIBER === "native" ? "native (bench/stream/native/src/subscribers.rs, Rust, one thread over epoll)" : "Node (bench/stream/subscribers.ts)"}; writer: ${WRITER === "native" ? "native (bench/stream/native/src/writer.rs)" : "Node (bench/stream/writer.ts)"}; OMNISTOCK_WORKERS=${env.OMNISTOCK_WORKERS ?? "default"}`,
    `- Everything on this machine, loopback: engine, nats-server, the subscriber process, the writer. Client CPU competes with the server for the same cores.`,
    ``,
    `## Latency, acknowledgement → receipt: ${FILTERED ? `${FILTERED_CLIENTS} filtered + ${UNFILTERED} unfiltered` : `${CLIENTS} unfiltered`} WebSocket subscribers (JSON), ${RATE} deltas/s target, ${ITEMS} deltas per POST /v1/stock/adjust, ${POSITIONS} positions over ${LOCATIONS} location(s), ${SECONDS} s (first ${WARMUP_SECONDS} s not counted)`,
    ``,
    `| receiver | samples | p50 ms | p99 ms | max ms | from request sent: p50 / p99 / max ms | notes |`,
    `|---|---:|---:|---:|---:|---:|---|`,
    ...(FILTERED ? [filteredRow] : []),
    `| WebSocket${FILTERED ? ", unfiltered" : ""} (${UNFILTERED} clients) | ${wsStats.n} | ${ms(wsStats.p50)} | ${ms(wsStats.p99)} | ${ms(wsStats.max)} | ${ms(wsSentStats.p50)} / ${ms(wsSentStats.p99)} / ${ms(wsSentStats.max)} | seq gaps seen: ${String(done.gaps)}; receipts missing: ${missing}; connections lost: ${String(done.closedEarly)}; max over all ${countedSeqs} × ${UNFILTERED} pairs |`,
    natsStats
      ? `| NATS (core subscriber on omnistock.delta.>) | ${natsStats.n} | ${ms(natsStats.p50)} | ${ms(natsStats.p99)} | ${ms(natsStats.max)} | ${ms(natsSentStats!.p50)} / ${ms(natsSentStats!.p99)} / ${ms(natsSentStats!.max)} | not received: ${natsMissing} |`
      : `| NATS | – | – | – | – | – | not measured: ${natsWired ? "adapter not wired" : "nats-server not on PATH or BENCH_NATS=0"} |`,
    ``,
    `Negative: the subscriber had the delta before the writer had its answer (the engine hands a durable batch to the stream before the HTTP answers leave). "From request sent" adds the write's own round trip.`,
    ``,
    `Writer: ${log.deltas} deltas in ${wallS.toFixed(1)} s = ${achieved.toFixed(0)} deltas/s (${log.requests} requests, ${log.late} left more than one period late). CPU per wall second: engine ${engineCpu.toFixed(2)} (user ${((split1[0] - split0[0]) / wallS).toFixed(2)}, system ${((split1[1] - split0[1]) / wallS).toFixed(2)}), subscriber process ${loadCpu.toFixed(2)} (user ${((loadSplit1[0] - loadSplit0[0]) / wallS).toFixed(2)}, system ${((loadSplit1[1] - loadSplit0[1]) / wallS).toFixed(2)}), probe + NATS client ${selfCpu.toFixed(2)}, writer ${writerCpu.toFixed(2)}, nats-server ${natsCpu.toFixed(2)}; the whole machine ${machineCpu.toFixed(2)} of ${cpus().length} cores, so about ${Math.max(0, outsideCpu).toFixed(2)} core(s) went to processes outside this benchmark (other work on a shared machine skews every figure above).`,
    ``,
    fanoutLine(fanout0, fanout1, wallS),
    ``,
    `## Throughput: ${TP_CLIENTS} WebSocket subscribers, writes as fast as possible (${TP_ITEMS} deltas per request, ${TP_IN_FLIGHT} in flight), ${TP_SECONDS} s`,
    ``,
    `| deltas acknowledged/s | deltas received by every subscriber/s | engine CPU per s | seq gaps |`,
    `|---:|---:|---:|---:|`,
    `| ${tpAckRate.toFixed(0)} | ${Number.isNaN(tpRecvRate) ? "did not catch up" : tpRecvRate.toFixed(0)} | ${tpCpu.toFixed(2)} | ${String(tpStats.gaps)} |`,
    ``,
  ];
  const text = lines.join("\n");
  process.stdout.write(`${text}\n`);
  writeFileSync(join(ROOT, "bench/stream/LATEST.md"), text);
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:stream failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
