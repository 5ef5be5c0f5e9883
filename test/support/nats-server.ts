// Starts a real nats-server (the binary on PATH) on a free loopback port with
// its own JetStream store directory, for the NATS adapter's tests. It can be
// stopped and started again on the same port and store (an outage), and says
// why when the binary is missing so the tests skip with that reason.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

/** Why the NATS tests cannot run here, or null when they can. */
export function natsServerMissing(): string | null {
  const probe = spawnSync("nats-server", ["--version"], { encoding: "utf8" });
  if (probe.error) return `nats-server is not on PATH (${probe.error.message}); install it (apt-get install nats-server, or .ci/run)`;
  if (probe.status !== 0) return `nats-server --version failed: ${probe.stderr}`;
  return null;
}

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** Stops the server (SIGTERM by default: a clean shutdown; SIGKILL: a crash) and waits for it to exit. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Starts it again on the same port and store directory. */
  start(): Promise<void>;
  /** Stops it and removes the store directory. */
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

export async function startNatsServer(options: { jetstream?: boolean } = {}): Promise<NatsServer> {
  const jetstream = options.jetstream ?? true;
  const storeDir = mkdtempSync(join(tmpdir(), "omnistock-nats-"));
  const port = await freePort();
  let child: ChildProcess | null = null;

  async function start(): Promise<void> {
    const args = ["-a", HOST, "-p", String(port), ...(jetstream ? ["-js", "-sd", storeDir] : [])];
    const proc = spawn("nats-server", args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr!.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4000);
    });
    child = proc;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await accepts(port))) {
      if (proc.exitCode !== null) throw new Error(`nats-server exited with ${proc.exitCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`nats-server did not accept connections on ${HOST}:${port}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const proc = child;
    child = null;
    if (proc === null) return;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited(proc);
    clearTimeout(timer);
  }

  await start();
  return {
    url: `nats://${HOST}:${port}`,
    port,
    storeDir,
    stop,
    start,
    async close() {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
