// Snapshot files: a copy of the ledger memory as of one journal lsn, so that
// recovery replays only the journal after it and old journal segments can be
// deleted. A snapshot is written atomically (tmp file, fsync, rename, fsync of
// the directory): a crash leaves either the complete new file or none, plus at
// most a tmp leftover that is ignored and later pruned. A checksum over the
// body lets recovery skip a damaged newest snapshot and fall back to an older
// one. The file is a fixed header followed by the body:
//
//    0        4         8                16               24          28          32
//    +--------+---------+----------------+----------------+-----------+-----------+---------+
//    | magic  | version |      lsn       |   bodyBytes    | bodyCrc32 | headCrc32 | body ...|
//    | u32 LE | u32 LE  |     u64 LE     |     u64 LE     |  u32 LE   |  u32 LE   |         |
//    +--------+---------+----------------+----------------+-----------+-----------+---------+
//    headCrc32 covers bytes 0..28, so a damaged header is told apart from a damaged body.
//
// Files are named snapshot-<20-digit zero-padded lsn>.snap; tmp files get a
// ".tmp-<pid>-<n>" suffix.

import * as fs from "node:fs";
import { open as openFile } from "node:fs/promises";
import * as path from "node:path";
import { crc32 } from "node:zlib";

import { fsyncDir } from "./journal.js";

/** "OSNP" read as a little-endian u32: identifies an omnistock snapshot file. */
export const SNAPSHOT_MAGIC = 0x504e534f;
/** Bumped whenever the header layout changes. (The body format is the ledger's concern.) */
export const SNAPSHOT_FORMAT_VERSION = 1;
/** Bytes of the header before the body. */
export const SNAPSHOT_HEADER_BYTES = 32;
/** Snapshots kept by pruneSnapshots() unless told otherwise. */
export const SNAPSHOT_KEEP_DEFAULT = 2;

const SNAPSHOT_NAME = /^snapshot-(\d{20})\.snap$/;
const TMP_NAME = /^snapshot-\d{20}\.snap\.tmp-/;
const LSN_DIGITS = 20;

// Tmp files of writeSnapshot() calls still running in this process, so a
// concurrent pruneSnapshots() does not delete them under the writer.
const tmpFilesInProgress = new Set<string>();
let tmpCounter = 0;

function snapshotFileName(lsn: number): string {
  return `snapshot-${String(lsn).padStart(LSN_DIGITS, "0")}.snap`;
}

function encodeHeader(lsn: number, bodyBytes: number, bodyCrc: number): Buffer {
  const header = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
  header.writeUInt32LE(SNAPSHOT_MAGIC, 0);
  header.writeUInt32LE(SNAPSHOT_FORMAT_VERSION, 4);
  header.writeBigUInt64LE(BigInt(lsn), 8);
  header.writeBigUInt64LE(BigInt(bodyBytes), 16);
  header.writeUInt32LE(bodyCrc, 24);
  header.writeUInt32LE(crc32(header.subarray(0, 28)), 28);
  return header;
}

/**
 * Writes a snapshot of the state as of `lsn` atomically: tmp file, write,
 * fsync, rename to snapshot-<20-digit lsn>.snap, fsync dir. `parts` are
 * written one after the other (never concatenated in memory) and read back as
 * one body by loadLatestSnapshot().
 */
export async function writeSnapshot(dir: string, lsn: number, parts: Uint8Array[]): Promise<void> {
  if (!Number.isSafeInteger(lsn) || lsn < 0) throw new RangeError(`snapshot lsn must be a non-negative integer: ${lsn}`);
  let bodyBytes = 0;
  let bodyCrc = 0;
  for (const part of parts) {
    bodyBytes += part.byteLength;
    bodyCrc = crc32(part, bodyCrc); // incremental: no copy of a body that may be hundreds of MB
  }
  await fs.promises.mkdir(dir, { recursive: true });
  const name = snapshotFileName(lsn);
  const tmp = path.join(dir, `${name}.tmp-${process.pid}-${tmpCounter++}`);
  tmpFilesInProgress.add(tmp);
  try {
    const handle = await openFile(tmp, "wx");
    try {
      await writeAll(handle, encodeHeader(lsn, bodyBytes, bodyCrc));
      for (const part of parts) await writeAll(handle, part);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, path.join(dir, name));
    await fsyncDir(dir);
  } catch (error) {
    await fs.promises.rm(tmp, { force: true });
    throw error;
  } finally {
    tmpFilesInProgress.delete(tmp);
  }
}

async function writeAll(handle: fs.promises.FileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) {
    const { bytesWritten } = await handle.write(data, offset, data.byteLength - offset);
    offset += bytesWritten;
  }
}

/** Snapshot files of `dir`, newest first; an absent directory has none. */
function listSnapshots(dir: string): { lsn: number; file: string }[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const snapshots: { lsn: number; file: string }[] = [];
  for (const name of names) {
    const match = SNAPSHOT_NAME.exec(name);
    if (match) snapshots.push({ lsn: Number(match[1]), file: path.join(dir, name) });
  }
  return snapshots.sort((a, b) => b.lsn - a.lsn);
}

/** Why `buf` (a whole snapshot file named for `lsn`) is not a valid snapshot, or null when it is. */
function verify(buf: Buffer, lsn: number): string | null {
  if (buf.length < SNAPSHOT_HEADER_BYTES) return `only ${buf.length} bytes`;
  if (buf.readUInt32LE(0) !== SNAPSHOT_MAGIC) return "bad magic";
  if (crc32(buf.subarray(0, 28)) !== buf.readUInt32LE(28)) return "bad header checksum";
  const version = buf.readUInt32LE(4);
  if (version !== SNAPSHOT_FORMAT_VERSION) return `unsupported format version ${version}`;
  const headerLsn = Number(buf.readBigUInt64LE(8));
  if (headerLsn !== lsn) return `header lsn ${headerLsn} differs from file name`;
  const bodyBytes = Number(buf.readBigUInt64LE(16));
  if (bodyBytes !== buf.length - SNAPSHOT_HEADER_BYTES) {
    return `body is ${buf.length - SNAPSHOT_HEADER_BYTES} bytes, header says ${bodyBytes}`;
  }
  if (crc32(buf.subarray(SNAPSHOT_HEADER_BYTES)) !== buf.readUInt32LE(24)) return "bad body checksum";
  return null;
}

/**
 * Loads the newest snapshot whose checksums verify; a newer unverifiable one
 * is skipped and reported through `warn`. Returns null when there is none.
 * `body` is the concatenation of the parts given to writeSnapshot().
 */
export function loadLatestSnapshot(dir: string, warn?: (msg: string) => void): { lsn: number; body: Buffer } | null {
  for (const { lsn, file } of listSnapshots(dir)) {
    const buf = fs.readFileSync(file);
    const problem = verify(buf, lsn);
    if (problem === null) return { lsn, body: buf.subarray(SNAPSHOT_HEADER_BYTES) };
    warn?.(`skipping snapshot ${file}: ${problem}`);
  }
  return null;
}

/**
 * Deletes snapshots older than the newest `keep` (by lsn, default 2) and tmp
 * files left by interrupted writes. Keep at least 2 so a damaged newest
 * snapshot still has a fallback (the journal must then reach back to it too).
 */
export async function pruneSnapshots(dir: string, keep: number = SNAPSHOT_KEEP_DEFAULT): Promise<void> {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be a positive integer: ${keep}`);
  const stale = listSnapshots(dir)
    .slice(keep)
    .map((snapshot) => snapshot.file);
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const file = path.join(dir, name);
    if (TMP_NAME.test(name) && !tmpFilesInProgress.has(file)) stale.push(file);
  }
  for (const file of stale) await fs.promises.rm(file, { force: true });
}
