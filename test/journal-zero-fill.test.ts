// Zero-fill ahead (src/journal/journal.ts) must never overwrite a record: a
// group commit that would write into the range of a fill still on its way to
// disk waits for it. fs.write is wrapped so the test holds the fill's write
// back (the real write starts only when the test lets it go) while records
// keep coming; were the commit not to wait, the late zeros would land on
// records already acknowledged.

import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const heldFills: (() => void)[] = []; // starts each held zero-fill write
let holdFills = false;

vi.mock("node:fs", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs")>();
  const write = (...args: unknown[]): void => {
    const buffer = args[1];
    const isFill = holdFills && Buffer.isBuffer(buffer) && buffer.length >= 1024 * 1024 && buffer.every((b) => b === 0);
    if (!isFill) return void (actual.write as (...a: unknown[]) => void)(...args);
    heldFills.push(() => (actual.write as (...a: unknown[]) => void)(...args));
  };
  return { ...actual, write, default: { ...actual, write } };
});

const fs = await import("node:fs");
const { Journal, readJournal, JOURNAL_RECORD_HEADER_BYTES } = await import("../src/journal/journal.js");

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "omnistock-journal-fill-"));
  heldFills.length = 0;
  holdFills = false;
});
afterEach(() => {
  holdFills = false;
  for (const start of heldFills.splice(0)) start();
  fs.rmSync(dir, { recursive: true, force: true });
});

function payloadFor(lsn: number): Buffer {
  return Buffer.concat([Buffer.from(`lsn=${lsn};`), Buffer.alloc(1000, 0x61)]);
}

describe("zero-fill ahead", () => {
  it("holds back a commit that would write into a fill in flight, and loses no record to the zeros", async () => {
    holdFills = true;
    const journal = await Journal.open({ dir }, 1);
    let lsn = 0;
    let bytes = 0;
    const appendOne = (): number => {
      const payload = payloadFor(++lsn);
      bytes += JOURNAL_RECORD_HEADER_BYTES + payload.length;
      return journal.append(payload);
    };
    await journal.durable(appendOne()); // the first commit starts the first fill, 256 KiB past it
    expect(heldFills.length).toBe(1);
    // Commits below the fill's start go on while it is held...
    while (bytes < 128 * 1024) appendOne();
    await journal.durable(lsn);
    // ...one reaching into it waits for it.
    while (bytes < 512 * 1024) appendOne();
    const crossing = journal.durable(lsn).then(() => "durable");
    const outcome = await Promise.race([crossing, new Promise((resolve) => setTimeout(() => resolve("waiting"), 300))]);
    expect(outcome).toBe("waiting");
    holdFills = false;
    heldFills.shift()!(); // the zeros reach the disk, then the commit goes ahead
    expect(await crossing).toBe("durable");
    await journal.close();
    const lsns: number[] = [];
    const result = readJournal(dir, 0, (at, payload) => {
      expect(Buffer.from(payload).equals(payloadFor(at))).toBe(true);
      lsns.push(at);
    });
    expect(lsns).toEqual(Array.from({ length: lsn }, (_, i) => i + 1));
    expect(result.tornBytes).toBe(0);
  });
});
