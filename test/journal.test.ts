// Proves the journal returns exactly what was appended (gap-free lsns, across rotation and
// segments), group-commits concurrent appends, cuts a torn tail but refuses older damage,
// prunes only whole segments, fails closed on I/O errors, and loses no acknowledged record
// when the process is SIGKILLed at a random moment.

import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

import {
  JOURNAL_RECORD_BYTES_MAX,
  JOURNAL_RECORD_HEADER_BYTES,
  Journal,
  JournalCorruptError,
  JournalFailedError,
  readJournal,
  segmentFileName,
} from "../src/journal/journal.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "omnistock-journal-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Payload derivable from the lsn, of varying length (also used by the crash child). */
function payloadFor(lsn: number): Buffer {
  return Buffer.from(`lsn=${lsn};${"x".repeat(lsn % 61)}`);
}

function readAll(afterLsn = 0): { lsns: number[]; payloads: string[]; lastLsn: number; tornBytes: number } {
  const lsns: number[] = [];
  const payloads: string[] = [];
  const result = readJournal(dir, afterLsn, (lsn, payload) => {
    lsns.push(lsn);
    payloads.push(Buffer.from(payload).toString());
  });
  expect(result.records).toBe(lsns.length);
  return { lsns, payloads, lastLsn: result.lastLsn, tornBytes: result.tornBytes };
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

function segmentFiles(): string[] {
  return fs.readdirSync(dir).filter((name) => name.startsWith("journal-")).sort();
}

/** Writes records 1..count through a journal and closes it. */
async function writeRecords(count: number, segmentBytesMax?: number): Promise<void> {
  const journal = await Journal.open({ dir, segmentBytesMax }, 1);
  for (let lsn = 1; lsn <= count; lsn++) journal.append(payloadFor(lsn));
  await journal.close();
}

describe("round trip", () => {
  it("returns every record, in order, across automatic and explicit rotation and reopen", async () => {
    const journal = await Journal.open({ dir, segmentBytesMax: 4096 }, 1);
    for (let lsn = 1; lsn <= 5000; lsn++) {
      expect(journal.append(payloadFor(lsn))).toBe(lsn);
      if (lsn % 100 === 0) await journal.durable(lsn); // a group of ~6 KiB: rotates after each
      if (lsn === 2222) expect(await journal.rotate()).toBe(2223);
    }
    expect(journal.lastLsn).toBe(5000);
    expect(journal.durableLsn).toBe(5000);
    await journal.close();
    expect(segmentFiles().length).toBeGreaterThan(10);
    expect(segmentFiles()).toContain(segmentFileName(2223));

    let read = readAll();
    expect(read.lsns).toEqual(range(1, 5000));
    expect(read.payloads).toEqual(range(1, 5000).map((lsn) => payloadFor(lsn).toString()));
    expect(read.lastLsn).toBe(5000);
    expect(read.tornBytes).toBe(0);

    read = readAll(2500);
    expect(read.lsns).toEqual(range(2501, 5000));
    expect(read.lastLsn).toBe(5000);

    const reopened = await Journal.open({ dir }, read.lastLsn + 1);
    expect(reopened.append(payloadFor(5001))).toBe(5001);
    await reopened.close();
    read = readAll(4990);
    expect(read.lsns).toEqual(range(4991, 5001));
    expect(read.payloads.at(-1)).toBe(payloadFor(5001).toString());
  });

  it("handles empty payloads and reports afterLsn beyond the journal as lastLsn", async () => {
    const journal = await Journal.open({ dir }, 1);
    journal.append(new Uint8Array(0));
    journal.append(new Uint8Array([7]));
    await journal.close();
    expect(readAll().payloads.map((p) => p.length)).toEqual([0, 1]);
    expect(readJournal(dir, 10, () => undefined)).toEqual({ lastLsn: 10, records: 0, tornBytes: 0 });
    expect(readJournal(path.join(dir, "absent"), 0, () => undefined)).toEqual({ lastLsn: 0, records: 0, tornBytes: 0 });
  });

  it("copies the payload at append time", async () => {
    const journal = await Journal.open({ dir }, 1);
    const payload = Buffer.from("original");
    journal.append(payload);
    payload.write("mutated!");
    await journal.close();
    expect(readAll().payloads).toEqual(["original"]);
  });

  it("rejects a payload above JOURNAL_RECORD_BYTES_MAX and appending after close", async () => {
    const journal = await Journal.open({ dir }, 1);
    expect(() => journal.append(new Uint8Array(JOURNAL_RECORD_BYTES_MAX + 1))).toThrow(RangeError);
    expect(journal.lastLsn).toBe(0);
    await journal.close();
    expect(() => journal.append(payloadFor(1))).toThrow(/closed/);
  });
});

describe("group commit", () => {
  it("makes 10,000 appends durable with far fewer fsyncs than records", async () => {
    const journal = await Journal.open({ dir }, 1);
    const durable: Promise<void>[] = [];
    for (let i = 0; i < 10_000; i++) durable.push(journal.durable(journal.append(payloadFor(i + 1))));
    await Promise.all(durable);
    expect(journal.durableLsn).toBe(10_000);
    expect(journal.fsyncCount).toBeLessThanOrEqual(2);
    await journal.close();
    expect(readAll().lsns.length).toBe(10_000);
  });

  it("batches records appended while a flush is in flight into the next one", async () => {
    const journal = await Journal.open({ dir }, 1);
    // 50 concurrent writers, each appending and awaiting 200 times: like requests.
    const writer = async (): Promise<void> => {
      for (let i = 0; i < 200; i++) await journal.durable(journal.append(payloadFor(journal.lastLsn + 1)));
    };
    await Promise.all(Array.from({ length: 50 }, writer));
    expect(journal.durableLsn).toBe(10_000);
    expect(journal.fsyncCount).toBeLessThan(10_000 / 10);
    await journal.close();
    const read = readAll();
    expect(read.lsns).toEqual(range(1, 10_000));
    expect(read.payloads).toEqual(range(1, 10_000).map((lsn) => payloadFor(lsn).toString()));
  });

  it("resolves durable(0) and already-durable lsns without another fsync", async () => {
    const journal = await Journal.open({ dir }, 1);
    await journal.durable(0);
    await journal.durable(journal.append(payloadFor(1)));
    const fsyncs = journal.fsyncCount;
    await journal.durable(1);
    expect(journal.fsyncCount).toBe(fsyncs);
    await journal.close();
  });
});

describe("torn tail", () => {
  const recordBytes = (lsn: number): number => JOURNAL_RECORD_HEADER_BYTES + payloadFor(lsn).length;

  it("cuts a record truncated mid-way and lets a reopened journal continue the lsns", async () => {
    await writeRecords(100);
    const file = path.join(dir, segmentFiles()[0]);
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 5);

    const read = readAll();
    expect(read.lsns).toEqual(range(1, 99));
    expect(read.lastLsn).toBe(99);
    expect(read.tornBytes).toBe(recordBytes(100) - 5);
    expect(fs.statSync(file).size).toBe(size - recordBytes(100));

    const journal = await Journal.open({ dir }, read.lastLsn + 1);
    expect(journal.append(Buffer.from("after the tear"))).toBe(100);
    await journal.close();
    const again = readAll();
    expect(again.lsns).toEqual(range(1, 100));
    expect(again.payloads.at(-1)).toBe("after the tear");
    expect(again.tornBytes).toBe(0);
  });

  it("cuts a last record with a flipped byte", async () => {
    await writeRecords(100);
    const file = path.join(dir, segmentFiles()[0]);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 3] ^= 0xff;
    fs.writeFileSync(file, bytes);

    const read = readAll();
    expect(read.lsns).toEqual(range(1, 99));
    expect(read.tornBytes).toBe(recordBytes(100));
    expect(readAll().tornBytes).toBe(0); // truncated durably: the second read finds it clean
  });

  it("cuts a tail whose lsn is out of sequence even with a valid checksum", async () => {
    await writeRecords(3);
    const file = path.join(dir, segmentFiles()[0]);
    // Append a well-formed record that repeats lsn 2 (as a bad writer would).
    const copy = fs.readFileSync(file).subarray(recordBytes(1), recordBytes(1) + recordBytes(2));
    fs.appendFileSync(file, copy);
    const read = readAll();
    expect(read.lsns).toEqual([1, 2, 3]);
    expect(read.tornBytes).toBe(recordBytes(2));
  });

  it("cuts at a hole left by a group commit that a later one overtook, dropping the intact records after it", async () => {
    // Two flushes in flight write at their own offsets; a crash can leave the
    // later one on disk and the earlier one a run of zeros. Nothing after the
    // hole was acknowledged (a record is durable only once every earlier one is).
    await writeRecords(30);
    const file = path.join(dir, segmentFiles()[0]);
    const bytes = fs.readFileSync(file);
    let holeStart = 0;
    for (let lsn = 1; lsn <= 10; lsn++) holeStart += recordBytes(lsn);
    let holeEnd = holeStart;
    for (let lsn = 11; lsn <= 20; lsn++) holeEnd += recordBytes(lsn);
    bytes.fill(0, holeStart, holeEnd);
    fs.writeFileSync(file, bytes);

    const read = readAll();
    expect(read.lsns).toEqual(range(1, 10));
    expect(read.tornBytes).toBe(bytes.length - holeStart);
    expect(fs.statSync(file).size).toBe(holeStart);
    const journal = await Journal.open({ dir }, read.lastLsn + 1);
    expect(journal.append(payloadFor(11))).toBe(11);
    await journal.close();
    expect(readAll().lsns).toEqual(range(1, 11));
  });

  it("keeps lsn order on disk with flushes overlapping: many waiters, one reopen", async () => {
    const journal = await Journal.open({ dir }, 1);
    const acknowledged: number[] = [];
    const waits: Promise<void>[] = [];
    // Appends in 40 event-loop turns, each awaited separately: successive flushes overlap.
    for (let turn = 0; turn < 40; turn++) {
      for (let i = 0; i < 25; i++) {
        const lsn = journal.append(payloadFor(journal.lastLsn + 1));
        waits.push(journal.durable(lsn).then(() => {
          expect(journal.durableLsn).toBeGreaterThanOrEqual(lsn); // never acknowledged ahead of the durable prefix
          acknowledged.push(lsn);
        }));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(waits);
    expect(acknowledged).toEqual(range(1, 1000)); // settled in lsn order
    await journal.close();
    const read = readAll();
    expect(read.lsns).toEqual(range(1, 1000));
    expect(read.payloads).toEqual(range(1, 1000).map((lsn) => payloadFor(lsn).toString()));
  });
});

describe("damage before the last segment", () => {
  async function twoSegments(): Promise<string[]> {
    const journal = await Journal.open({ dir }, 1);
    for (let lsn = 1; lsn <= 10; lsn++) journal.append(payloadFor(lsn));
    await journal.rotate();
    for (let lsn = 11; lsn <= 20; lsn++) journal.append(payloadFor(lsn));
    await journal.close();
    return segmentFiles();
  }

  it("throws on a flipped byte in a non-last segment", async () => {
    const [first] = await twoSegments();
    const file = path.join(dir, first);
    const bytes = fs.readFileSync(file);
    bytes[JOURNAL_RECORD_HEADER_BYTES + 2] ^= 0x01;
    fs.writeFileSync(file, bytes);
    expect(() => readAll()).toThrow(JournalCorruptError);
  });

  it("throws on a truncated non-last segment", async () => {
    const [first] = await twoSegments();
    const file = path.join(dir, first);
    fs.truncateSync(file, fs.statSync(file).size - 1);
    expect(() => readAll()).toThrow(JournalCorruptError);
  });

  it("throws when lsns are missing between afterLsn and the first segment", async () => {
    const [first] = await twoSegments();
    fs.unlinkSync(path.join(dir, first));
    expect(() => readAll(0)).toThrow(JournalCorruptError);
    expect(readAll(10).lsns).toEqual(range(11, 20));
  });
});

describe("pruneThrough", () => {
  it("deletes only whole segments at or below the lsn, never the active one", async () => {
    const journal = await Journal.open({ dir }, 1);
    for (let lsn = 1; lsn <= 30; lsn++) {
      journal.append(payloadFor(lsn));
      if (lsn % 10 === 0) await journal.rotate(); // segments 1-10, 11-20, 21-30, active 31-
    }
    expect(segmentFiles()).toEqual([1, 11, 21, 31].map(segmentFileName));

    await journal.pruneThrough(25); // 21-30 still holds lsns above 25
    expect(segmentFiles()).toEqual([21, 31].map(segmentFileName));

    await journal.pruneThrough(1000); // everything is covered, but the active segment stays
    expect(segmentFiles()).toEqual([31].map(segmentFileName));

    journal.append(payloadFor(31));
    await journal.close();
    expect(readAll(30).lsns).toEqual([31]);
  });

  it("lets group commits go on while a segment is being unlinked", async () => {
    const journal = await Journal.open({ dir }, 1);
    for (let lsn = 1; lsn <= 20; lsn++) {
      journal.append(payloadFor(lsn));
      if (lsn % 10 === 0) await journal.rotate(); // segments 1-10, 11-20, active 21-
    }
    // Hold the first unlink until the test lets it go.
    let letGo!: () => void;
    const unlinkHeld = new Promise<void>((resolve) => (letGo = resolve));
    let unlinkStarted!: () => void;
    const inUnlink = new Promise<void>((resolve) => (unlinkStarted = resolve));
    const realUnlink = fs.promises.unlink;
    const spy = vi.spyOn(fs.promises, "unlink").mockImplementation(async (file) => {
      unlinkStarted();
      await unlinkHeld;
      return realUnlink(file);
    });
    try {
      const pruned = journal.pruneThrough(20);
      await inUnlink;
      // A prune under way (held in unlink) must not hold this commit back.
      const committed = await Promise.race([
        journal.durable(journal.append(payloadFor(21))).then(() => "durable"),
        new Promise((resolve) => setTimeout(() => resolve("held back"), 2000)),
      ]);
      expect(committed).toBe("durable");
      expect(spy).toHaveBeenCalledTimes(1);
      letGo();
      await pruned;
      expect(segmentFiles()).toEqual([21].map(segmentFileName));
    } finally {
      letGo();
      spy.mockRestore();
    }
    await journal.close();
    expect(readAll(20).lsns).toEqual([21]);
  });
});

describe("failure", () => {
  it("rejects waiting durable() calls and every later append after a failed write", async () => {
    const journal = await Journal.open({ dir }, 1);
    await journal.durable(journal.append(payloadFor(1)));
    // The zero-fill ahead that flush started must not be the write that fails
    // (it would fail the journal before the appends below; flaky under load).
    const filling = journal as unknown as { fill: { done: Promise<void> } | null };
    while (filling.fill !== null) await filling.fill.done; // one fill may start the next
    // Close the segment under the journal so the next write fails with EBADF.
    await (journal as unknown as { handle: fs.promises.FileHandle }).handle.close();
    const first = journal.durable(journal.append(payloadFor(2)));
    const second = journal.durable(journal.append(payloadFor(3)));
    await expect(first).rejects.toThrow();
    await expect(second).rejects.toThrow();
    expect(() => journal.append(payloadFor(4))).toThrow(JournalFailedError);
    await expect(journal.durable(3)).rejects.toThrow();
    expect(journal.durableLsn).toBe(1);
    await journal.durable(1); // what was durable stays durable
    await expect(journal.close()).resolves.toBeUndefined(); // a failed journal still closes
  });

  it("closes without opening a new segment when its last flush filled the current one", async () => {
    const journal = await Journal.open({ dir, segmentBytesMax: 100 }, 1);
    journal.append(Buffer.alloc(200, 7)); // past segmentBytesMax: the flush queues a switch behind close()
    await journal.close();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the queued switch would run after close() resolved
    expect(segmentFiles()).toEqual([segmentFileName(1)]);
    expect(readAll().lsns).toEqual([1]);
  });
});

describe("crash (SIGKILL at a random moment)", () => {
  const childScript = path.join(ROOT, "test/fixtures/journal-crash-child.mjs");
  const compiled = path.join(ROOT, "dist/src/journal/journal.js");

  beforeAll(async () => {
    // Emits even when files of other modules do not type-check yet; only ours must exist.
    await new Promise<void>((resolve) => {
      execFile("npx", ["tsc", "-p", "tsconfig.json", "--noEmitOnError", "false"], { cwd: ROOT }, () => resolve());
    });
    if (!fs.existsSync(compiled)) throw new Error(`tsc did not emit ${compiled}`);
  }, 120_000);

  /** Runs the child until it is ready, lets it write for `delayMs`, SIGKILLs it; returns the lsns it acknowledged. */
  async function runAndKill(delayMs: number): Promise<number[]> {
    const child = spawn(process.execPath, [childScript, dir], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.startsWith("ready ")) resolve();
      });
      void exited.then(() => reject(new Error(`child exited before ready: ${stderr}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    // Only complete lines: a line cut by the kill was never fully acknowledged.
    return stdout
      .split("\n")
      .slice(1, -1)
      .map(Number);
  }

  it("keeps every acknowledged record with its exact payload over several crashes", async () => {
    const acknowledged: number[] = [];
    for (let round = 0; round < 5; round++) {
      const delayMs = 50 + Math.floor(Math.random() * 250);
      const lsns = await runAndKill(delayMs);
      acknowledged.push(...lsns);

      const payloads = new Map<number, string>();
      const { lastLsn, tornBytes } = readJournal(dir, 0, (lsn, payload) => payloads.set(lsn, Buffer.from(payload).toString()));
      const missing = acknowledged.filter((lsn) => payloads.get(lsn) !== payloadFor(lsn).toString());
      expect({ round, delayMs, missing }).toEqual({ round, delayMs, missing: [] });
      expect(lastLsn).toBe(payloads.size); // gap-free from 1
      expect(lastLsn).toBeGreaterThanOrEqual(Math.max(0, ...acknowledged));
    }
    expect(acknowledged.length).toBeGreaterThan(0);
  }, 60_000);
});

describe("a journal opened with sync: false (rebuildable data)", () => {
  it("writes on durable() without fdatasync, syncs on sync() and at rotation, and reads back every record", async () => {
    const journal = await Journal.open({ dir, segmentBytesMax: 2048, sync: false }, 1);
    for (let lsn = 1; lsn <= 200; lsn++) journal.append(payloadFor(lsn));
    await journal.durable(journal.lastLsn);
    expect(journal.fsyncCount).toBe(0); // written to the page cache only
    expect(readAll().lsns).toEqual(range(1, 200));
    journal.append(payloadFor(201));
    await journal.sync(); // runs after the rotation the first flush started
    expect(segmentFiles().length).toBeGreaterThan(1); // rotated (each finished segment synced once)
    expect(readAll().lsns).toEqual(range(1, 201));
    await journal.close();
  });
});

describe("zero-fill ahead", () => {
  /** Appends `count` records of ~1 KiB from `first`, each group of 64 made durable; returns the bytes appended. */
  async function appendKiB(journal: Journal, first: number, count: number): Promise<number> {
    let bytes = 0;
    for (let lsn = first; lsn < first + count; lsn++) {
      const payload = Buffer.concat([payloadFor(lsn), Buffer.alloc(1000, 0x61)]);
      bytes += JOURNAL_RECORD_HEADER_BYTES + payload.length;
      journal.append(payload);
      if (lsn % 64 === 0) await journal.durable(lsn);
    }
    await journal.durable(journal.lastLsn);
    return bytes;
  }

  /** What readJournal delivers for lsns, checking each payload. */
  function checkedLsns(from: string): { lsns: number[]; tornBytes: number } {
    const lsns: number[] = [];
    const result = readJournal(from, 0, (lsn, payload) => {
      expect(Buffer.from(payload).subarray(0, payloadFor(lsn).length).toString()).toBe(payloadFor(lsn).toString());
      lsns.push(lsn);
    });
    return { lsns, tornBytes: result.tornBytes };
  }

  it("fills the segment with zeros ahead of the records, and close() cuts it back to them", async () => {
    const journal = await Journal.open({ dir }, 1);
    const bytes = await appendKiB(journal, 1, 3000); // ~3 MiB: several fills
    const file = path.join(dir, segmentFileName(1));
    const size = fs.statSync(file).size;
    expect(size).toBeGreaterThan(bytes); // zeros ahead of the records
    expect(fs.readFileSync(file).subarray(bytes).every((b) => b === 0)).toBe(true);
    await journal.close();
    expect(fs.statSync(file).size).toBe(bytes);
    const read = checkedLsns(dir);
    expect(read.lsns).toEqual(range(1, 3000));
    expect(read.tornBytes).toBe(0);
  });

  it("reads a crashed segment's zero-filled tail as its end, and the next run's segment after it", async () => {
    const journal = await Journal.open({ dir }, 1);
    const bytes = await appendKiB(journal, 1, 3000);
    // A crash: the files as they are now, without close() (copied while the journal is open).
    const crashed = fs.mkdtempSync(path.join(os.tmpdir(), "omnistock-journal-crash-"));
    try {
      fs.copyFileSync(path.join(dir, segmentFileName(1)), path.join(crashed, segmentFileName(1)));
      expect(fs.statSync(path.join(crashed, segmentFileName(1))).size).toBeGreaterThan(bytes);
      const first = checkedLsns(crashed);
      expect(first.lsns).toEqual(range(1, 3000));
      expect(first.tornBytes).toBe(0); // zeros are not damage
      expect(fs.statSync(path.join(crashed, segmentFileName(1))).size).toBe(bytes); // cut to its records
      // The next run appends in a new segment; the old one is no longer the last.
      const next = await Journal.open({ dir: crashed }, 3001);
      await appendKiB(next, 3001, 100);
      await next.close();
      expect(checkedLsns(crashed).lsns).toEqual(range(1, 3100));
    } finally {
      await journal.close();
      fs.rmSync(crashed, { recursive: true, force: true });
    }
  });

  it("keeps every record across a rotation from a zero-filled segment, and still finds damage in the zeros", async () => {
    const journal = await Journal.open({ dir }, 1);
    await appendKiB(journal, 1, 3000);
    expect(await journal.rotate()).toBe(3001); // a snapshot's rotation: the segment keeps the zeros past its records
    await appendKiB(journal, 3001, 1000);
    await journal.close();
    const segments = segmentFiles();
    expect(segments.length).toBe(2);
    const firstFile = path.join(dir, segments[0]);
    const firstBuf = fs.readFileSync(firstFile);
    expect(firstBuf[firstBuf.length - 1]).toBe(0); // the finished segment kept its zero-fill
    expect(checkedLsns(dir).lsns).toEqual(range(1, 4000));
    expect(fs.statSync(firstFile).size).toBe(firstBuf.length); // a segment that is not the last is never cut
    // A flipped byte inside the zeros of a segment that is not the last is damage, not an end.
    firstBuf[firstBuf.length - 10] = 1;
    fs.writeFileSync(firstFile, firstBuf);
    expect(() => readAll(0)).toThrow(JournalCorruptError);
  });
});
