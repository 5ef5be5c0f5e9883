// `npm run bench:http`: omnistock beside what a retailer would otherwise build,
// over HTTP on loopback, one system at a time (a 2-core machine cannot host a
// load generator and two systems fairly). Systems: an empty uWebSockets.js
// handler (the ceiling), omnistock, uWS + Redis Lua (appendfsync always),
// uWS + PostgreSQL (fsync, synchronous_commit on). Each (system, workload)
// cell starts its service fresh, loads the same 100,000 positions through
// POST /v1/stock, warms up, then runs wrk (1 thread, fixed connections,
// fixed duration) with the same Lua script. Prints one markdown table per
// workload and writes them to bench/http/LATEST.md. Everything started is
// stopped at the end, on failure and on Ctrl-C too.
//
// Settings (environment): BENCH_SECONDS (10) per cell, BENCH_WARMUP_SECONDS (2),
// BENCH_CONNECTIONS (64), BENCH_WRK_THREADS (1), BENCH_PG_POOL (16),
// BENCH_OMNISTOCK_WORKERS (cores: OMNISTOCK_WORKERS of the omnistock-workers row),
// BENCH_RETRIES (1), BENCH_QUIET_CORES (0.2), BENCH_QUIET_WAIT_SECONDS (60),
// BENCH_SYSTEMS (empty,omnistock,omnistock-workers,redis,postgres), BENCH_WORKLOADS
// (read,query50,hold-spread,hold-hot,mix), BENCH_KEEP_TMP=1 keeps the temp dirs.

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chownSync, closeSync, existsSync, fdatasyncSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");
const WRK_DIR = join(HERE, "wrk");

const env = process.env;
const int = (name, fallback) => {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return Number(raw);
};
const list = (name, fallback) => (env[name] ? env[name].split(",").map((s) => s.trim()).filter(Boolean) : fallback);

const SECONDS = int("BENCH_SECONDS", 10);
const WARMUP_SECONDS = int("BENCH_WARMUP_SECONDS", 2);
const CONNECTIONS = int("BENCH_CONNECTIONS", 64);
const WRK_THREADS = int("BENCH_WRK_THREADS", 1);
const PG_POOL = int("BENCH_PG_POOL", 16);
const OMNISTOCK_WORKERS = int("BENCH_OMNISTOCK_WORKERS", availableParallelism()); // the engine's default: one per core
const RETRIES = int("BENCH_RETRIES", 1); // extra measured runs of a cell another process disturbed
const QUIET_CORES = Number(env.BENCH_QUIET_CORES ?? 0.2); // other processes' CPU a clean run may see
const QUIET_WAIT_MS = int("BENCH_QUIET_WAIT_SECONDS", 60) * 1000;
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

// The stock every system gets before every workload (the wrk scripts read the same BENCH_* values).
const LAYOUT = {
  skus: 20_000,
  locations: ["store-0001", "store-0002", "store-0003", "dc-east", "dc-west"], // × skus = 100,000 positions
  onHand: 1_000_000, // per position: spread holds never run short
  hotSku: "FLASH-000001",
  hotLocation: "web",
  hotOnHand: 1_000_000_000, // the flash-sale position: every hold fits
};
const STOCK_BATCH_ITEMS = 10_000; // omnistock's per-request limit
const skuId = (i) => `SKU-${String(i).padStart(6, "0")}`;

const WORKLOADS = [
  { key: "read", script: "read.lua", title: "1. Availability read, one SKU at one location (GET /v1/availability/{sku}?location=)" },
  { key: "query50", script: "query50.lua", title: "2. Listing page, 50 SKUs at one location (POST /v1/availability/query)" },
  { key: "hold-spread", script: "hold-spread.lua", title: "3. Durable holds spread over 100,000 positions (POST /v1/reservations, 1 line, qty 1)" },
  { key: "hold-hot", script: "hold-hot.lua", title: "4. Flash sale: durable holds on ONE hot position" },
  { key: "mix", script: "mix.lua", title: "5. 90 % reads / 10 % spread holds" },
];

// ── processes: every child in its own process group, all stopped in finally ──

const live = new Set(); // { name, stop(): Promise<void> }

function log(message) {
  process.stderr.write(`[bench:http] ${message}\n`);
}

/** Starts a long-running child in its own process group; resolves on its ready line. */
function startProcess(name, command, args, { cwd = ROOT, extraEnv = {}, readyLine } = {}) {
  const child = spawn(command, args, { cwd, env: { ...env, ...extraEnv }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let exited = false;
  const exit = new Promise((resolve) => child.on("exit", (code, signal) => {
    exited = true;
    resolve({ code, signal });
  }));
  const handle = {
    name,
    pid: child.pid,
    exit,
    lines: () => stdout.split("\n"),
    stderrTail: () => stderr.slice(-2000),
    async stop() {
      live.delete(handle);
      if (exited) return;
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          /* gone already */
        }
      }, STOP_GRACE_MS);
      await exit;
      clearTimeout(timer);
    },
  };
  live.add(handle);
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready after ${START_TIMEOUT_MS} ms; stderr: ${stderr.slice(-1000)}`)), START_TIMEOUT_MS);
    child.stdout.on("data", (d) => {
      stdout += d;
      if (readyLine(stdout)) {
        clearTimeout(timer);
        resolve(handle);
      }
    });
    child.stderr.on("data", (d) => {
      stderr += d;
      if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
    });
    void exit.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready; stderr: ${stderr.slice(-1000)}`));
    });
  });
  return ready;
}

async function stopAll() {
  await Promise.all([...live].map((h) => h.stop().catch((e) => log(`stopping ${h.name}: ${e.message}`))));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `omnistock-bench-${prefix}-`));
  const remove = () => {
    if (env.BENCH_KEEP_TMP !== "1") rmSync(dir, { recursive: true, force: true });
  };
  return { dir, remove };
}

/** The port from omnistock's (and our services') `{"event":"listening","port":N}` line. */
function listeningPort(handle) {
  for (const line of handle.lines()) {
    if (!line.startsWith("{")) continue;
    const event = JSON.parse(line);
    if (event.event === "listening") return event.port;
  }
  throw new Error(`${handle.name} printed no listening line`);
}

const jsonReady = (out) => out.includes('"event":"ready"');

// ── tools: installed with apt when missing ──

const which = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).stdout.trim();

function postgresBin() {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], "bin") : null;
}

function ensureTools(systems) {
  const missing = [];
  if (!which("wrk")) missing.push("wrk");
  if (systems.includes("redis") && !which("redis-server")) missing.push("redis-server");
  if (systems.includes("postgres") && !postgresBin()) missing.push("postgresql");
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`missing ${missing.join(", ")}; install with: sudo apt-get install -y ${missing.join(" ")}`);
  log(`installing ${missing.join(", ")} with apt-get`);
  const install = () => spawnSync("apt-get", ["install", "-y", "--no-install-recommends", ...missing], { stdio: "inherit", env: { ...env, DEBIAN_FRONTEND: "noninteractive" } });
  if (install().status !== 0) {
    spawnSync("apt-get", ["update"], { stdio: "inherit" });
    if (install().status !== 0) throw new Error(`apt-get install ${missing.join(" ")} failed`);
  }
  // Debian starts the packaged services; this benchmark starts its own, on free ports.
  for (const service of ["redis-server", "postgresql"]) spawnSync("service", [service, "stop"], { stdio: "ignore" });
}

// ── other processes: this machine is shared, so every run measures their CPU use ──

const CPU_COUNT = cpus().length;
const extraRoots = new Set(); // daemons we started that are not our children (the postmaster)

function machineJiffies() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total }; // idle and iowait are not busy
}

/** CPU jiffies of this process and every descendant (and of extraRoots' trees). */
function ourJiffies() {
  const parent = new Map();
  const cpu = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(name), Number(f[1]));
      cpu.set(Number(name), Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])); // utime stime cutime cstime
    } catch {
      /* exited meanwhile */
    }
  }
  const roots = new Set([process.pid, ...extraRoots]);
  let sum = 0;
  for (const [pid, jiffies] of cpu) {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++) {
      if (roots.has(p)) {
        sum += jiffies;
        break;
      }
    }
  }
  return sum;
}

function cpuMeter() {
  const m0 = machineJiffies();
  const o0 = ourJiffies();
  return () => {
    const m1 = machineJiffies();
    const wall = (m1.total - m0.total) / CPU_COUNT;
    const other = m1.busy - m0.busy - (ourJiffies() - o0);
    return wall > 0 ? Math.max(0, other / wall) : 0; // cores used by processes not ours
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (bounded) until other processes leave the CPUs alone for a second. */
async function waitQuiet() {
  const deadline = Date.now() + QUIET_WAIT_MS;
  for (;;) {
    const meter = cpuMeter();
    await sleep(1000);
    const other = meter();
    if (other <= QUIET_CORES) return other;
    if (Date.now() > deadline) {
      log(`other processes still use ${other.toFixed(2)} cores; measuring anyway`);
      return other;
    }
  }
}

// ── the backing stores ──

async function startRedis() {
  const port = await freePort();
  const tmp = tempDir("redis");
  const handle = await startProcess("redis-server", "redis-server", [
    "--port", String(port), "--bind", "127.0.0.1", "--dir", tmp.dir, "--daemonize", "no",
    "--appendonly", "yes", "--appendfsync", "always", // fsync before the reply, like omnistock
    "--save", "", "--protected-mode", "yes", "--logfile", "",
  ], { readyLine: (out) => out.includes("Ready to accept connections") });
  return {
    env: { BENCH_REDIS_PORT: String(port) },
    async stop() {
      await handle.stop();
      tmp.remove();
    },
  };
}

async function startPostgres() {
  const bin = postgresBin();
  const port = await freePort();
  const tmp = tempDir("pg");
  const data = join(tmp.dir, "data");
  // initdb and postgres refuse to run as root: run them as the postgres user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(tmp.dir, Number(execFileSync("id", ["-u", "postgres"]).toString()), Number(execFileSync("id", ["-g", "postgres"]).toString()));
  const run = (tool, args) => {
    const [cmd, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", join(bin, tool), ...args]] : [join(bin, tool), args];
    const r = spawnSync(cmd, argv, { encoding: "utf8", cwd: tmp.dir });
    if (r.status !== 0) throw new Error(`${tool} failed: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  run("initdb", ["-D", data, "-U", "bench", "--auth=trust", "-E", "UTF8", "--no-locale"]);
  const options = [
    `-p ${port}`, "-c listen_addresses=127.0.0.1", `-c unix_socket_directories=${tmp.dir}`,
    "-c fsync=on", "-c synchronous_commit=on", "-c full_page_writes=on", // durable before the ack, like omnistock
    "-c max_connections=200",
  ].join(" ");
  let started = false;
  const stop = async () => {
    if (started) {
      try {
        run("pg_ctl", ["-D", data, "-m", "fast", "-t", "30", "stop"]);
      } catch (e) {
        log(`pg_ctl stop: ${e.message}; killing the postmaster`);
        const pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
        if (pid > 0) process.kill(pid, "SIGQUIT");
      }
      started = false;
    }
    tmp.remove();
  };
  const entry = { name: "postgres", stop };
  live.add(entry);
  started = true; // pg_ctl may have launched the postmaster even if it reports failure
  run("pg_ctl", ["-D", data, "-l", join(tmp.dir, "postgres.log"), "-o", options, "-w", "-t", "60", "start"]);
  const postmaster = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  extraRoots.add(postmaster);
  return {
    env: { BENCH_PG_PORT: String(port), BENCH_PG_POOL: String(PG_POOL) },
    async stop() {
      live.delete(entry);
      extraRoots.delete(postmaster);
      await stop();
    },
  };
}

// ── the systems ──

const node = process.execPath;
/** omnistock as `npm start` runs it; `workers` sets OMNISTOCK_WORKERS (undefined: its default). */
function omnistockSystem(key, label, workers) {
  return {
    key,
    label,
    async startService() {
      const tmp = tempDir(key);
      const handle = await startProcess(key, node, [join(ROOT, "dist", "src", "main.js")], {
        extraEnv: {
          OMNISTOCK_HOST: "127.0.0.1",
          OMNISTOCK_PORT: "0", // uWS listens with SO_REUSEPORT: a fixed port could be shared with a stray server
          OMNISTOCK_DATA_DIR: tmp.dir,
          OMNISTOCK_POSITIONS_MAX: "200000",
          OMNISTOCK_RESERVATIONS_MAX: "4000000",
          ...(workers === undefined ? {} : { OMNISTOCK_WORKERS: workers }),
        },
        readyLine: jsonReady,
      });
      const stop = handle.stop;
      handle.stop = async () => {
        await stop();
        tmp.remove();
      };
      return handle;
    },
  };
}

const SYSTEMS = [
  {
    key: "empty",
    label: "empty uWS handler (ceiling)",
    fixedAnswer: true, // answers every request with the same JSON: nothing to load or check
    async startService() {
      return startProcess("empty-uws", node, [join(HERE, "empty-uws.mjs")], { readyLine: jsonReady });
    },
  },
  omnistockSystem("omnistock", "omnistock (npm start defaults)", undefined),
  omnistockSystem("omnistock-workers", `omnistock, ${OMNISTOCK_WORKERS} HTTP worker threads + the writer`, String(OMNISTOCK_WORKERS)),
  {
    key: "redis",
    label: "uWS + Redis Lua (AOF, appendfsync always)",
    modules: ["ioredis"],
    startBacking: startRedis,
    async startService(backing) {
      return startProcess("redis-lua", node, [join(HERE, "redis-lua.mjs")], { extraEnv: backing.env, readyLine: jsonReady });
    },
  },
  {
    key: "postgres",
    label: "uWS + PostgreSQL (fsync, synchronous_commit on)",
    modules: ["pg"],
    startBacking: startPostgres,
    async startService(backing) {
      return startProcess("postgres-svc", node, [join(HERE, "postgres.mjs")], { extraEnv: backing.env, readyLine: jsonReady });
    },
  },
];

// ── loading and measuring ──

async function post(port, path, body) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

async function loadStock(port, fixedAnswer) {
  const items = [];
  for (let s = 0; s < LAYOUT.skus; s++) {
    for (const location of LAYOUT.locations) items.push({ sku: skuId(s), location, onHand: LAYOUT.onHand });
  }
  items.push({ sku: LAYOUT.hotSku, location: LAYOUT.hotLocation, onHand: LAYOUT.hotOnHand });
  for (let i = 0; i < items.length; i += STOCK_BATCH_ITEMS) {
    const batch = items.slice(i, i + STOCK_BATCH_ITEMS);
    const answer = await post(port, "/v1/stock", { items: batch });
    if (!fixedAnswer && answer.applied !== batch.length) throw new Error(`stock load: applied ${answer.applied} of ${batch.length}`);
  }
  return items.length;
}

const WRK_ENV = {
  BENCH_SKUS: String(LAYOUT.skus),
  BENCH_LOCATIONS: LAYOUT.locations.join(","),
  BENCH_HOT_SKU: LAYOUT.hotSku,
  BENCH_HOT_LOCATION: LAYOUT.hotLocation,
};

/** Runs wrk once; resolves to the JSON its done() printed. */
function runWrk(port, script, seconds, tag) {
  const args = ["-t", String(WRK_THREADS), "-c", String(CONNECTIONS), "-d", `${seconds}s`, "--timeout", "5s", "--latency",
    "-s", script, `http://127.0.0.1:${port}`, "--", tag];
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", args, { cwd: WRK_DIR, env: { ...env, ...WRK_ENV }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const handle = { name: "wrk", stop: async () => { try { process.kill(-child.pid, "SIGKILL"); } catch { /* done */ } } };
    live.add(handle);
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => {
      live.delete(handle);
      const line = out.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      if (code !== 0 || !line) reject(new Error(`wrk exited ${code}: ${err || out}`));
      else resolve(JSON.parse(line.slice("BENCH_RESULT ".length)));
    });
  });
}

async function measureCell(system, backing, workload) {
  const service = await system.startService(backing);
  try {
    const port = listeningPort(service);
    await loadStock(port, system.fixedAnswer === true);
    if (WARMUP_SECONDS > 0) await runWrk(port, workload.script, WARMUP_SECONDS, "warm");
    let result = null;
    for (let attempt = 1; attempt <= 1 + RETRIES; attempt++) {
      await waitQuiet();
      const meter = cpuMeter();
      const r = await runWrk(port, workload.script, SECONDS, `run${attempt}`);
      const otherCores = meter();
      const run = {
        rps: r.requests / (r.durationUs / 1e6),
        p50Ms: r.p50Us / 1000,
        p99Ms: r.p99Us / 1000,
        requests: r.requests,
        failed: r.statusErrors + r.timeouts + r.connectErrors + r.readErrors + r.writeErrors,
        otherCores,
        attempts: attempt,
        raw: r,
      };
      if (result === null || otherCores < result.otherCores) result = { ...run };
      result.attempts = attempt;
      if (otherCores <= QUIET_CORES) break;
      log(`${system.key} / ${workload.key}: other processes used ${otherCores.toFixed(2)} cores during the run${attempt <= RETRIES ? "; measuring again" : ""}`);
    }
    const exitedEarly = await Promise.race([service.exit.then(() => true), Promise.resolve(false)]);
    if (exitedEarly) throw new Error(`${system.key} exited during ${workload.key}: ${service.stderrTail()}`);
    return result;
  } finally {
    await service.stop();
  }
}

async function moduleAvailable(name) {
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
}

// ── reporting ──

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? "unknown";
  const nproc = execFileSync("nproc").toString().trim();
  const version = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] }).toString().split("\n")[0].trim();
    } catch {
      return "n/a";
    }
  };
  const pg = postgresBin();
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT }).toString().trim();
  } catch { /* not a checkout */ }
  let fs = "n/a";
  try {
    fs = execFileSync("df", ["-T", tmpdir()]).toString().split("\n")[1].split(/\s+/)[1];
  } catch { /* no df */ }
  return {
    date: new Date().toISOString(),
    nproc,
    model,
    kernel: version("uname", ["-r"]),
    node: process.version,
    wrk: (spawnSync("wrk", ["-v"], { encoding: "utf8" }).stdout ?? "").split("\n")[0].replace(/ Copyright.*/, "").trim() || "wrk",
    redis: version("redis-server", ["--version"]).replace(/ sha=.*/, ""),
    postgres: pg ? version(join(pg, "postgres"), ["--version"]) : "n/a",
    commit,
    fs,
    fsyncMs: fsyncProbe(),
  };
}

/** Median fdatasync latency of a 4 KiB append in the temp dir: the floor under every durable write here. */
function fsyncProbe() {
  const tmp = tempDir("fsync");
  const fd = openSync(join(tmp.dir, "probe"), "w");
  const block = Buffer.alloc(4096, 1);
  const samples = [];
  try {
    for (let i = 0; i < 200; i++) {
      const t = process.hrtime.bigint();
      writeSync(fd, block);
      fdatasyncSync(fd);
      samples.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  } finally {
    closeSync(fd);
    tmp.remove();
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

const fmtRate = (x) => Math.round(x).toLocaleString("en-US");
const fmtMs = (x) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)) + " ms";
const fmtRatio = (x) => (x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toFixed(2)) + "×";

function workloadTable(workload, results, systems) {
  const omni = results.get(`omnistock/${workload.key}`);
  const rows = [
    "| system | req/s | p50 | p99 | non-2xx / errors | omnistock ÷ system | other CPU |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const system of systems) {
    const r = results.get(`${system.key}/${workload.key}`);
    if (!r) continue;
    if (r.error) {
      rows.push(`| ${system.label} | failed: ${r.error.split("\n")[0].slice(0, 120)} | | | | | |`);
      continue;
    }
    const ratio = omni && !omni.error ? fmtRatio(omni.rps / r.rps) : "–";
    const other = `${r.otherCores.toFixed(2)}${r.otherCores > QUIET_CORES ? " ⚠" : ""}`;
    rows.push(`| ${system.label} | ${fmtRate(r.rps)} | ${fmtMs(r.p50Ms)} | ${fmtMs(r.p99Ms)} | ${r.failed.toLocaleString("en-US")} | ${ratio} | ${other} |`);
  }
  return [`### ${workload.title}`, "", ...rows, ""].join("\n");
}

function targets(results) {
  const get = (k) => {
    const r = results.get(k);
    return r && !r.error ? r : null;
  };
  const disturbed = (...cells) => cells.some((r) => r && r.otherCores > QUIET_CORES);
  const check = (name, value, ok, cells) => {
    const verdict = ok === null ? "not measured" : ok ? "met" : "**not met**";
    return `| ${name} | ${value} | ${verdict}${ok !== null && disturbed(...cells) ? " (from a disturbed run ⚠)" : ""} |`;
  };
  const ratio = (a, b) => (a && b ? a.rps / b.rps : null);
  const rows = ["| target | measured | verdict |", "| --- | --- | --- |"];
  const readEmpty = ratio(get("omnistock/read"), get("empty/read"));
  rows.push(check("reads ≥ 70 % of the empty handler", readEmpty === null ? "–" : `${(readEmpty * 100).toFixed(0)} %`, readEmpty === null ? null : readEmpty >= 0.7, [get("omnistock/read"), get("empty/read")]));
  const holdsRedis = ratio(get("omnistock/hold-spread"), get("redis/hold-spread"));
  rows.push(check("durable holds ≥ 2× Redis-Lua", holdsRedis === null ? "–" : fmtRatio(holdsRedis), holdsRedis === null ? null : holdsRedis >= 2, [get("omnistock/hold-spread"), get("redis/hold-spread")]));
  const holdsPg = ratio(get("omnistock/hold-spread"), get("postgres/hold-spread"));
  rows.push(check("durable holds ≥ 10× PostgreSQL", holdsPg === null ? "–" : fmtRatio(holdsPg), holdsPg === null ? null : holdsPg >= 10, [get("omnistock/hold-spread"), get("postgres/hold-spread")]));
  const hotPg = ratio(get("omnistock/hold-hot"), get("postgres/hold-hot"));
  rows.push(check("hot SKU ≥ 20× PostgreSQL", hotPg === null ? "–" : fmtRatio(hotPg), hotPg === null ? null : hotPg >= 20, [get("omnistock/hold-hot"), get("postgres/hold-hot")]));
  const hotSpread = ratio(get("omnistock/hold-hot"), get("omnistock/hold-spread"));
  rows.push(check("hot-SKU rate ≥ 90 % of spread-SKU rate", hotSpread === null ? "–" : `${(hotSpread * 100).toFixed(0)} %`, hotSpread === null ? null : hotSpread >= 0.9, [get("omnistock/hold-hot"), get("omnistock/hold-spread")]));
  const hot = get("omnistock/hold-hot");
  rows.push(check("p99 of holds under flash-sale load < 10 ms", hot ? fmtMs(hot.p99Ms) : "–", hot ? hot.p99Ms < 10 : null, [hot]));
  return rows.join("\n");
}

function commandLine() {
  const settings = Object.keys(env).filter((k) => k.startsWith("BENCH_")).sort().map((k) => `${k}=${env[k]}`);
  return [...settings, "npm run bench:http"].join(" ");
}

function report(m, results, systems, workloads, skipped) {
  const lines = [
    "# HTTP benchmark: omnistock beside the alternatives",
    "",
    `${m.date} · ${m.nproc} × ${m.model} · Linux ${m.kernel} · Node ${m.node} · ${m.wrk} · ${m.redis} · ${m.postgres} · omnistock ${m.commit}`,
    "",
    `wrk: ${WRK_THREADS} thread, ${CONNECTIONS} connections, ${SECONDS} s per cell after ${WARMUP_SECONDS} s of warm-up; loopback; one system at a time; ` +
      `${(LAYOUT.skus * LAYOUT.locations.length).toLocaleString("en-US")} positions + 1 hot one loaded through POST /v1/stock before every cell. ` +
      `Data dirs on ${m.fs} (median fdatasync of a 4 KiB append: ${m.fsyncMs.toFixed(2)} ms). PostgreSQL pool: ${PG_POOL} connections.`,
    "",
    `Command: \`${commandLine()}\`. Latencies as wrk measures them (closed loop, so they understate queueing under overload). ` +
      `"other CPU": cores used by processes outside this benchmark during the measured run (the machine is shared); ` +
      `a cell is measured again (up to ${RETRIES} more time(s), the least disturbed run kept) when it exceeds ${QUIET_CORES}, and ⚠ marks one that still did.`,
    "",
    ...skipped.map((s) => `Skipped: ${s}`),
    ...(skipped.length ? [""] : []),
    ...workloads.map((w) => workloadTable(w, results, systems)),
    "### Issue 4 targets",
    "",
    targets(results),
    "",
  ];
  return lines.join("\n");
}

// ── main ──

async function main() {
  const wantedSystems = list("BENCH_SYSTEMS", SYSTEMS.map((s) => s.key));
  const wantedWorkloads = list("BENCH_WORKLOADS", WORKLOADS.map((w) => w.key));
  for (const k of wantedSystems) if (!SYSTEMS.some((s) => s.key === k)) throw new Error(`unknown system ${k}`);
  for (const k of wantedWorkloads) if (!WORKLOADS.some((w) => w.key === k)) throw new Error(`unknown workload ${k}`);
  const workloads = WORKLOADS.filter((w) => wantedWorkloads.includes(w.key));
  const skipped = [];
  const systems = [];
  for (const system of SYSTEMS.filter((s) => wantedSystems.includes(s.key))) {
    const missing = [];
    for (const m of system.modules ?? []) if (!(await moduleAvailable(m))) missing.push(m);
    if (missing.length) skipped.push(`${system.label}: npm package ${missing.join(", ")} not installed (npm install).`);
    else systems.push(system);
  }
  if (systems.some((s) => s.key === "omnistock") && !existsSync(join(ROOT, "dist", "src", "main.js"))) throw new Error("dist/src/main.js missing: run npm run build");
  ensureTools(systems.map((s) => s.key));
  const m = machine();
  log(`${m.nproc} × ${m.model}; ${systems.length} systems × ${workloads.length} workloads × (${WARMUP_SECONDS} + ${SECONDS}) s`);

  const results = new Map();
  for (const system of systems) {
    let backing = null;
    try {
      if (system.startBacking) backing = await system.startBacking();
      for (const workload of workloads) {
        log(`${system.key} / ${workload.key} …`);
        try {
          const r = await measureCell(system, backing, workload);
          results.set(`${system.key}/${workload.key}`, r);
          log(`${system.key} / ${workload.key}: ${fmtRate(r.rps)} req/s, p50 ${fmtMs(r.p50Ms)}, p99 ${fmtMs(r.p99Ms)}, non-2xx/errors ${r.failed}, other CPU ${r.otherCores.toFixed(2)}`);
        } catch (e) {
          results.set(`${system.key}/${workload.key}`, { error: e.message });
          log(`${system.key} / ${workload.key} failed: ${e.message}`);
        }
      }
    } catch (e) {
      for (const w of workloads) if (!results.has(`${system.key}/${w.key}`)) results.set(`${system.key}/${w.key}`, { error: e.message });
      log(`${system.key} failed: ${e.message}`);
    } finally {
      if (backing) await backing.stop();
    }
  }
  const text = report(m, results, systems, workloads, skipped);
  process.stdout.write(`\n${text}`);
  writeFileSync(join(HERE, "LATEST.md"), text);
  log(`written to ${join("bench", "http", "LATEST.md")}`);
}

let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping everything`);
    void stopAll().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (e) {
  process.exitCode = 1;
  log(`failed: ${e instanceof Error ? e.stack : String(e)}`);
} finally {
  await stopAll();
}
