// The adapter's command line (`npm run adapter -- webhook|feed …`): parses
// the arguments, builds one adapter from the kit, runs it until SIGINT or
// SIGTERM (then drains and saves the checkpoint), and exits 2 on a usage
// error, 1 when the source or sink fails for good.

import { parseAdapterArgs, USAGE, type AdapterArgs } from "./args.js";
import { buildAdapter } from "./build.js";
import { CheckpointCorruptError, CheckpointLockedError, FeedFileCorruptError, SourceFatalError, UsageError } from "./errors.js";

const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} adapter: ${line}\n`);

async function main(): Promise<number> {
  let args: AdapterArgs;
  try {
    args = parseAdapterArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`adapter: ${error.message}\nRun with --help for usage.\n`);
    return 2;
  }
  if (args.command === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const adapter = await buildAdapter(args, log);
  let stopping: Promise<void> | null = null;
  const stop = (signal: string): void => {
    if (stopping) return;
    log(`${signal}: draining`);
    stopping = adapter.stop();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  try {
    await adapter.start();
  } catch (error) {
    log(`stopped: ${(error as Error).message}`);
    await adapter.stop(0).catch(() => undefined);
    return 1;
  }
  await stopping;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    const known = error instanceof CheckpointCorruptError || error instanceof CheckpointLockedError || error instanceof FeedFileCorruptError || error instanceof SourceFatalError;
    log(`fatal: ${known ? error.message : (error.stack ?? error.message)}`);
    process.exit(1);
  },
);
