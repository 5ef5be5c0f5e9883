// `npm start`: reads OMNISTOCK_* settings, serves, and shuts down cleanly on
// SIGTERM/SIGINT (a snapshot first, so the next start replays little). A
// crash needs none of that: the journal alone recovers every acknowledged write.

import "./msgpack-strings.js"; // first: see the module
import { loadConfig } from "./config.js";
import { startOmnistock } from "./omnistock.js";

async function main(): Promise<void> {
  const config = loadConfig();
  const log = (m: string): void => void process.stderr.write(`${new Date().toISOString()} ${m}\n`);
  const running = await startOmnistock(config, log);
  // One machine-readable line for supervisors and tests: where we listen.
  process.stdout.write(`${JSON.stringify({ event: "listening", host: config.host, port: running.port })}\n`);
  const report = await running.ready;
  log(`ready: snapshot lsn ${report.snapshotLsn}, replayed ${report.replayedRecords} records in ${report.millis.toFixed(0)} ms` +
    (report.tornBytes > 0 ? ` (dropped a torn tail of ${report.tornBytes} bytes)` : ""));
  process.stdout.write(`${JSON.stringify({ event: "ready", ...report })}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: snapshot and stop`);
    void running.engine
      .snapshotNow()
      .then(() => running.close())
      .then(() => process.exit(0), (e: unknown) => {
        log(`shutdown failed: ${String(e)}`);
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((e: unknown) => {
  process.stderr.write(`omnistock failed to start: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
