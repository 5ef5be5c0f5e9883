// Two group commits in flight at once (src/journal/journal.ts): whatever order
// the disk finishes them in, a record is acknowledged only once it and every
// record before it are written, and a failed earlier write fails the later
// ones' waiters too. fs.write is wrapped so the test decides when each real
// write's completion reaches the journal.

import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

interface HeldWrite {
  written: boolean; // the real write has completed (its outcome is kept)
  finish(error?: Error): void; // delivers the real outcome, or `error` instead
}
// In call order (the order the journal started its writes), whatever order the disk finishes them in.
const held: HeldWrite[] = [];
let holding = false;

vi.mock("node:fs", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs")>();
  type WriteCallback = (error: NodeJS.ErrnoException | null, written: number) => void;
  const write = (...args: unknown[]): void => {
    const callback = args[args.length - 1] as WriteCallback;
    const realArgs = args.slice(0, -1);
    // Zero-fill writes (a large all-zero buffer, see journal.ts) are not commits: they pass.
    const buffer = args[1];
    const isFill = Buffer.isBuffer(buffer) && buffer.length >= 1024 * 1024 && buffer.every((b) => b === 0);
    if (!holding || isFill) return void (actual.write as (...a: unknown[]) => void)(...realArgs, callback);
    let outcome: [NodeJS.ErrnoException | null, number] | null = null;
    let release: Error | null | undefined; // undefined: not released yet; null: the real outcome
    const deliver = (): void => {
      if (outcome === null || release === undefined) return;
      if (release) callback(release, 0);
      else callback(outcome[0], outcome[1]);
    };
    const entry: HeldWrite = {
      written: false,
      finish: (injected) => {
        release = injected ?? null;
        deliver();
      },
    };
    held.push(entry);
    (actual.write as (...a: unknown[]) => void)(...realArgs, (error: NodeJS.ErrnoException | null, written: number) => {
      outcome = [error, written];
      entry.written = true;
      deliver();
    });
  };
  return { ...actual, write, default: { ...actual, write } };
});

const fs = await import("node:fs");
const { Journal, readJournal } = await import("../src/journal/journal.js");

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "omnistock-journal-overlap-"));
  held.length = 0;
  holding = false;
});
afterEach(() => {
  holding = false;
  fs.rmSync(dir, { recursive: true, force: true });
});

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Waits until `count` writes have started and reached the disk (their completions still held). */
async function writesHeld(count: number): Promise<void> {
  const ready = (): boolean => held.length === count && held.every((w) => w.written);
  for (let i = 0; i < 2000 && !ready(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
  expect(ready()).toBe(true);
}

describe("two group commits in flight", () => {
  it("acknowledges nothing of a later commit that finished first until the earlier one has", async () => {
    const journal = await Journal.open({ dir }, 1);
    holding = true;
    const settled: number[] = [];
    const first = journal.durable(journal.append(Buffer.from("one"))).then(() => settled.push(1));
    await turn(); // the first flush starts at the end of this turn
    const second = journal.durable(journal.append(Buffer.from("two"))).then(() => settled.push(2));
    await writesHeld(2);

    held[1].finish(); // the later write's completion arrives first
    await turn();
    await turn();
    expect(settled).toEqual([]);
    expect(journal.durableLsn).toBe(0);

    held[0].finish();
    await Promise.all([first, second]);
    expect(settled).toEqual([1, 2]);
    expect(journal.durableLsn).toBe(2);
    holding = false;
    await journal.close();
    const lsns: number[] = [];
    readJournal(dir, 0, (lsn) => lsns.push(lsn));
    expect(lsns).toEqual([1, 2]);
  });

  it("fails the later commit's waiters when the earlier write fails, though the later one was written", async () => {
    const journal = await Journal.open({ dir }, 1);
    holding = true;
    const first = journal.durable(journal.append(Buffer.from("one")));
    await turn();
    const second = journal.durable(journal.append(Buffer.from("two")));
    await writesHeld(2);

    held[1].finish(); // written
    held[0].finish(new Error("EIO (injected)"));
    await expect(first).rejects.toThrow(/EIO/);
    await expect(second).rejects.toThrow(/EIO/);
    expect(journal.durableLsn).toBe(0);
    expect(() => journal.append(Buffer.from("three"))).toThrow(/failed/);
    holding = false;
    await expect(journal.close()).resolves.toBeUndefined();
  });
});
