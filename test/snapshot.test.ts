// Proves snapshots round-trip their parts as one body, a damaged newest snapshot falls back to
// the older one (with a warning), and tmp leftovers of interrupted writes are ignored and pruned.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { SNAPSHOT_HEADER_BYTES, loadLatestSnapshot, pruneSnapshots, writeSnapshot } from "../src/journal/snapshot.js";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "omnistock-snapshot-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const snapshotFile = (lsn: number): string => path.join(dir, `snapshot-${String(lsn).padStart(20, "0")}.snap`);

function files(): string[] {
  return fs.readdirSync(dir).sort();
}

describe("snapshots", () => {
  it("round-trips the concatenated parts and the lsn", async () => {
    const parts = [Buffer.from("alpha|"), new Uint8Array(0), Buffer.from("beta|"), new Uint8Array(100_000).fill(9)];
    await writeSnapshot(dir, 42, parts);
    const loaded = loadLatestSnapshot(dir);
    expect(loaded?.lsn).toBe(42);
    expect(loaded?.body.equals(Buffer.concat(parts))).toBe(true);
    expect(files()).toEqual(["snapshot-00000000000000000042.snap"]);
  });

  it("returns null when there is no snapshot, or no directory", () => {
    expect(loadLatestSnapshot(dir)).toBeNull();
    expect(loadLatestSnapshot(path.join(dir, "absent"))).toBeNull();
  });

  it("loads the newest of several", async () => {
    await writeSnapshot(dir, 10, [Buffer.from("ten")]);
    await writeSnapshot(dir, 200, [Buffer.from("two hundred")]);
    await writeSnapshot(dir, 30, [Buffer.from("thirty")]);
    const loaded = loadLatestSnapshot(dir);
    expect(loaded?.lsn).toBe(200);
    expect(loaded?.body.toString()).toBe("two hundred");
  });

  it.each([
    ["a flipped body byte", (bytes: Buffer) => (bytes[bytes.length - 1] ^= 0x10), /bad body checksum/],
    ["a flipped header byte", (bytes: Buffer) => (bytes[9] ^= 0x01), /bad header checksum/],
    ["a truncated body", (bytes: Buffer) => bytes.subarray(0, bytes.length - 1), /body is/],
    ["a truncated header", (bytes: Buffer) => bytes.subarray(0, SNAPSHOT_HEADER_BYTES - 1), /only/],
  ] as const)("falls back to the older snapshot when the newest has %s", async (_what, damage, reason) => {
    await writeSnapshot(dir, 10, [Buffer.from("older")]);
    await writeSnapshot(dir, 20, [Buffer.from("newer")]);
    const bytes = fs.readFileSync(snapshotFile(20));
    const damaged = damage(bytes);
    fs.writeFileSync(snapshotFile(20), typeof damaged === "number" ? bytes : damaged);

    const warnings: string[] = [];
    const loaded = loadLatestSnapshot(dir, (msg) => warnings.push(msg));
    expect(loaded?.lsn).toBe(10);
    expect(loaded?.body.toString()).toBe("older");
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toContain("snapshot-00000000000000000020.snap");
    expect(warnings[0]).toMatch(reason);
  });

  it("ignores tmp leftovers and prunes them with all but the newest two", async () => {
    await writeSnapshot(dir, 1, [Buffer.from("one")]);
    await writeSnapshot(dir, 2, [Buffer.from("two")]);
    await writeSnapshot(dir, 3, [Buffer.from("three")]);
    // An interrupted write of a newer snapshot: garbage under a tmp name.
    fs.writeFileSync(`${snapshotFile(4)}.tmp-99999-0`, "half a snapshot");
    fs.writeFileSync(path.join(dir, "unrelated.txt"), "not ours");

    expect(loadLatestSnapshot(dir)?.lsn).toBe(3);
    await pruneSnapshots(dir);
    expect(files()).toEqual(["snapshot-00000000000000000002.snap", "snapshot-00000000000000000003.snap", "unrelated.txt"]);

    await pruneSnapshots(dir, 1);
    expect(files()).toEqual(["snapshot-00000000000000000003.snap", "unrelated.txt"]);
    expect(loadLatestSnapshot(dir)?.body.toString()).toBe("three");
  });

  it("rejects keep < 1", async () => {
    await expect(pruneSnapshots(dir, 0)).rejects.toThrow(RangeError);
  });
});
