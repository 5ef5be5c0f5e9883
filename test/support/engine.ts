// Starts a real omnistock (engine + uWebSockets.js server) in this process on
// an ephemeral loopback port with a fresh data directory, for HTTP tests:
// HTTP on this thread, or with OMNISTOCK_TEST_WORKERS=n on n worker threads.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config.js";
import { startOmnistock, type RunningOmnistock } from "../../src/omnistock.js";

export interface TestEngine {
  url: string;
  dataDir: string;
  running: RunningOmnistock;
  close(): Promise<void>;
}

export async function startTestEngine(options: { tokensFile?: string; env?: Record<string, string> } = {}): Promise<TestEngine> {
  const dataDir = mkdtempSync(join(tmpdir(), "omnistock-test-"));
  const config = loadConfig({
    OMNISTOCK_HOST: "127.0.0.1",
    OMNISTOCK_PORT: "0",
    OMNISTOCK_DATA_DIR: dataDir,
    OMNISTOCK_POSITIONS_MAX: "100000",
    OMNISTOCK_RESERVATIONS_MAX: "100000",
    OMNISTOCK_EXPIRY_INTERVAL_MS: "100",
    OMNISTOCK_WORKERS: process.env.OMNISTOCK_TEST_WORKERS ?? "0", // vitest.config.ts runs the server suites in both modes
    ...(options.tokensFile ? { OMNISTOCK_TOKENS_FILE: options.tokensFile } : {}),
    ...options.env,
  });
  const running = await startOmnistock(config, () => undefined);
  await running.ready;
  return {
    url: `http://127.0.0.1:${running.port}`,
    dataDir,
    running,
    async close() {
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
