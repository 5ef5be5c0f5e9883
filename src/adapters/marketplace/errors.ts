// The adapter kit's boundary errors, one class per failure kind, exported
// together so callers can tell them apart with instanceof. Business outcomes
// of a push (delivered, rejected, retries exhausted) are values, not errors:
// see PushOutcome in pusher.ts.

/** A command-line argument is missing or malformed (the CLI exits with code 2). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The engine refused the stream for good (401, 403, 404 on upgrade, or a bad protocol reply). */
export class SourceFatalError extends Error {
  override readonly name = "SourceFatalError";
}

/** The checkpoint file exists but cannot be trusted (corrupt, or another channel's). */
export class CheckpointCorruptError extends Error {
  override readonly name = "CheckpointCorruptError";
}

/** Another live process holds the checkpoint (two adapters on one checkpoint would race). */
export class CheckpointLockedError extends Error {
  override readonly name = "CheckpointLockedError";
}

/** The feed file exists but is not a feed this adapter wrote (bad header or row). */
export class FeedFileCorruptError extends Error {
  override readonly name = "FeedFileCorruptError";
}

/** An operation was cancelled because the adapter was stopped or killed. */
export class AbortedError extends Error {
  override readonly name = "AbortedError";
  constructor(message = "aborted") {
    super(message);
  }
}
