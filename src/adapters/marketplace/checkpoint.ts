// The checkpoint: the seq up to which every message of the channel has been
// pushed (or deliberately dropped by the push policy, or rejected by the
// marketplace as invalid), kept in a small JSON file replaced atomically
// (atomic-file.ts). A restarted adapter subscribes with `since` = this seq,
// so nothing at or before it is pushed again and nothing after it is lost.
//
// One adapter per checkpoint: `<path>.lock` holds the owner's pid, taken with
// O_EXCL; a lock whose process is gone (a crash, kill -9) is taken over.

import { readFile, rm, writeFile } from "node:fs/promises";
import { writeFileAtomic, tmpPathFor } from "./atomic-file.js";
import { CheckpointCorruptError, CheckpointLockedError } from "./errors.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes `<path>.lock` for this process, or throws CheckpointLockedError naming the live owner. */
async function lock(path: string): Promise<void> {
  const lockPath = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockPath, `${process.pid}\n`, { flag: "wx" });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = Number((await readFile(lockPath, "utf8").catch(() => "")).trim());
    if (owner === process.pid) return; // this process again (an in-process restart)
    if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
      throw new CheckpointLockedError(`checkpoint ${path} is in use by process ${owner} (${lockPath})`);
    }
    await rm(lockPath, { force: true }); // its owner is gone
  }
  throw new CheckpointLockedError(`checkpoint ${path}: could not take ${lockPath}`);
}

interface CheckpointFile {
  version: 1;
  channel: string;
  seq: number;
  savedAt: string;
}

export class FileCheckpoint {
  private saved: number;

  private constructor(readonly path: string, readonly channel: string, seq: number) {
    this.saved = seq;
  }

  /** Loads the checkpoint at `path` (seq 0 when the file does not exist); a leftover temporary file is discarded. */
  static async open(path: string, channel: string): Promise<FileCheckpoint> {
    await lock(path);
    await rm(tmpPathFor(path), { force: true }); // a torn write that never got renamed
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return new FileCheckpoint(path, channel, 0);
      throw error;
    }
    let parsed: Partial<CheckpointFile>;
    try {
      parsed = JSON.parse(text) as Partial<CheckpointFile>;
    } catch {
      throw new CheckpointCorruptError(`checkpoint ${path}: not JSON; delete it to push everything again`);
    }
    if (parsed.version !== 1 || typeof parsed.seq !== "number" || !Number.isSafeInteger(parsed.seq) || parsed.seq < 0) {
      throw new CheckpointCorruptError(`checkpoint ${path}: unreadable content; delete it to push everything again`);
    }
    if (parsed.channel !== channel) {
      throw new CheckpointCorruptError(`checkpoint ${path} belongs to channel "${String(parsed.channel)}", not "${channel}"`);
    }
    return new FileCheckpoint(path, channel, parsed.seq);
  }

  /** Releases the lock (the file stays). */
  async close(): Promise<void> {
    await rm(`${this.path}.lock`, { force: true });
  }

  /** The last durably saved seq. */
  get seq(): number {
    return this.saved;
  }

  /** Durably records `seq`; a seq not above the saved one is a no-op (the checkpoint never goes back). */
  async save(seq: number): Promise<void> {
    if (seq <= this.saved) return;
    await this.write(seq);
  }

  /** Durably records a lower `seq`: only when the engine's history was replaced (its newest seq fell behind ours). */
  async rewind(seq: number): Promise<void> {
    await this.write(seq);
  }

  private async write(seq: number): Promise<void> {
    const body: CheckpointFile = { version: 1, channel: this.channel, seq, savedAt: new Date().toISOString() };
    await writeFileAtomic(this.path, `${JSON.stringify(body)}\n`);
    this.saved = seq;
  }
}
