// Proves the marketplace adapter kit's parts one by one: token bucket pacing, backoff/jitter bounds and Retry-After parsing, coalescing, the push policy table, checkpoint durability (write, reload, torn temporary file ignored), webhook signatures checked by an independent HMAC, the feed file format, subject tokens and CLI argument validation.

import { createHmac } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseAdapterArgs } from "../src/adapters/marketplace/args.js";
import { fullJitterDelayMs, parseRetryAfterMs } from "../src/adapters/marketplace/backoff.js";
import { FileCheckpoint } from "../src/adapters/marketplace/checkpoint.js";
import { Coalescer } from "../src/adapters/marketplace/coalescer.js";
import { CheckpointCorruptError, CheckpointLockedError, UsageError } from "../src/adapters/marketplace/errors.js";
import { parseFeed, renderFeed } from "../src/adapters/marketplace/feed-sink.js";
import { channelSubject, decodePayload, subjectToken } from "../src/adapters/marketplace/nats-source.js";
import { meaningfulChange, type PushReason } from "../src/adapters/marketplace/push-policy.js";
import { signBody, verifySignature } from "../src/adapters/marketplace/signature.js";
import { TokenBucket } from "../src/adapters/marketplace/token-bucket.js";
import { webhookBody } from "../src/adapters/marketplace/webhook-sink.js";
import { Packr } from "msgpackr";

/** A clock the test moves by hand, with timers that fire when it passes them. */
function fakeClock() {
  let now = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => void (t.live = false) };
    },
    advance(ms: number) {
      now += ms;
      for (const t of timers.splice(0)) {
        if (!t.live) continue;
        if (t.at <= now) t.fn();
        else timers.push(t);
      }
    },
  };
}

describe("token bucket", () => {
  it("allows a burst, then paces at the rate, in FIFO order", async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 3, now: clock.now, setTimer: clock.setTimer });
    for (let i = 0; i < 3; i++) await bucket.take(); // the burst resolves at once
    const order: number[] = [];
    const waits = [0, 1, 2].map((i) => bucket.take().then(() => order.push(i)));
    await Promise.resolve();
    expect(order).toEqual([]);
    clock.advance(99); // 0.99 tokens
    await Promise.resolve();
    expect(order).toEqual([]);
    clock.advance(1); // 1 token
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0]);
    clock.advance(200);
    await Promise.all(waits);
    expect(order).toEqual([0, 1, 2]);
  });

  it("never holds more than the burst however long it idles", () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 100, burst: 5, now: clock.now, setTimer: clock.setTimer });
    clock.advance(3_600_000);
    expect(bucket.available).toBe(5);
    let taken = 0;
    while (bucket.tryTake()) taken++;
    expect(taken).toBe(5);
  });

  it("an aborted take leaves the queue and rejects", async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1, now: clock.now, setTimer: clock.setTimer });
    await bucket.take();
    const abort = new AbortController();
    const waiting = bucket.take(abort.signal);
    abort.abort();
    await expect(waiting).rejects.toThrow("aborted");
    clock.advance(1000);
    expect(bucket.tryTake()).toBe(true); // the token went to nobody else
  });

  it("rejects nonsense rates", () => {
    expect(() => new TokenBucket({ ratePerSecond: 0, burst: 1 })).toThrow();
    expect(() => new TokenBucket({ ratePerSecond: 1, burst: 0 })).toThrow();
  });
});

describe("backoff with full jitter", () => {
  const options = { baseMs: 100, capMs: 5_000 };

  it("stays within [0, min(cap, base·2^attempt)) for any draw", () => {
    for (let attempt = 0; attempt < 60; attempt++) {
      const ceiling = Math.min(options.capMs, options.baseMs * 2 ** attempt);
      expect(fullJitterDelayMs(attempt, options, () => 0)).toBe(0);
      expect(fullJitterDelayMs(attempt, options, () => 0.999999)).toBeLessThan(ceiling);
      expect(fullJitterDelayMs(attempt, options, () => 0.999999)).toBeGreaterThanOrEqual(Math.floor(ceiling * 0.99));
      for (let i = 0; i < 50; i++) {
        const d = fullJitterDelayMs(attempt, options);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
      }
    }
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfterMs("3", now)).toBe(3000);
    expect(parseRetryAfterMs(" 0 ", now)).toBe(0);
    expect(parseRetryAfterMs("Thu, 01 Jan 2026 00:00:10 GMT", now)).toBe(10_000);
    expect(parseRetryAfterMs("Wed, 31 Dec 2025 00:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfterMs("soon", now)).toBeNull();
    expect(parseRetryAfterMs(null, now)).toBeNull();
  });
});

describe("coalescer", () => {
  it("keeps the newest figure per SKU, oldest-changed first, and reports its smallest seq", () => {
    const c = new Coalescer(10);
    c.offer("a", 5, 1);
    c.offer("b", 7, 2);
    c.offer("a", 4, 3);
    expect(c.offer("b", 1, 2)).toBe(false); // not newer
    expect(c.offer("a", 9, 1)).toBe(false); // older
    expect(c.size).toBe(2);
    expect(c.minHoldSeq()).toBe(2);
    expect(c.take(1)).toEqual([{ sku: "b", available: 7, seq: 2, holdSeq: 2 }]);
    expect(c.take(10)).toEqual([{ sku: "a", available: 4, seq: 3, holdSeq: 3 }]);
    expect(c.minHoldSeq()).toBe(Infinity);
  });

  it("holds the checkpoint at an entry's hold seq, which a snapshot entry sets below its own seq", () => {
    const c = new Coalescer(10);
    c.offer("snap", 4, 100, 51); // a snapshot at seq 100 after a reset taken at high water 50
    c.offer("live", 1, 101);
    expect(c.minHoldSeq()).toBe(51);
    c.offer("snap", 3, 102); // superseded by a live change: replayable from its own seq
    expect(c.minHoldSeq()).toBe(101);
  });

  it("is full at pendingMax distinct SKUs; updates of held SKUs do not grow it", () => {
    const c = new Coalescer(2);
    c.offer("a", 1, 1);
    c.offer("b", 1, 2);
    expect(c.full).toBe(true);
    c.offer("a", 2, 3);
    expect(c.size).toBe(2);
    c.take(1);
    expect(c.full).toBe(false);
  });
});

describe("push policy", () => {
  const table: [last: number | undefined, next: number, lowStock: number, ratio: number, expected: PushReason | null][] = [
    [undefined, 10, 0, 0.2, "first"],
    [undefined, 0, 0, 0.2, "first"],
    [10, 10, 0, 0.2, null],
    [10, 0, 0, 0.2, "zero_crossing"],
    [0, 1, 0, 0.2, "zero_crossing"],
    [0, 1000, 5, 0.2, "zero_crossing"],
    [100, 99, 0, 0.2, null],
    [100, 81, 0, 0.2, null],
    [100, 80, 0, 0.2, "relative_change"],
    [100, 120, 0, 0.2, "relative_change"],
    [100, 119, 0, 0.2, null],
    [6, 5, 5, 0.5, "low_stock_crossing"],
    [5, 6, 5, 0.5, "low_stock_crossing"],
    [5, 4, 5, 0.5, null],
    [50, 45, 5, 0.5, null],
    [8, 5, 5, 0.9, "low_stock_crossing"],
    [8, 5, 0, 0.9, null],
  ];
  it.each(table)("last %s → %s (low %s, ratio %s) = %s", (last, next, lowStock, ratio, expected) => {
    expect(meaningfulChange(last, next, { lowStock, minChangeRatio: ratio })).toBe(expected);
  });
});

describe("checkpoint", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "adapter-ckpt-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("starts at 0, saves durably, reloads, never goes back", async () => {
    const path = join(dir, "amazon.ckpt");
    const a = await FileCheckpoint.open(path, "amazon");
    expect(a.seq).toBe(0);
    await a.save(42);
    await a.save(17);
    expect(a.seq).toBe(42);
    const b = await FileCheckpoint.open(path, "amazon");
    expect(b.seq).toBe(42);
    expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({ version: 1, channel: "amazon", seq: 42 });
  });

  it("ignores (and removes) a torn temporary file left by a crash mid-write", async () => {
    const path = join(dir, "amazon.ckpt");
    await (await FileCheckpoint.open(path, "amazon")).save(7);
    writeFileSync(`${path}.tmp`, '{"version":1,"channel":"amazon","se'); // the crash hit before the rename
    const reopened = await FileCheckpoint.open(path, "amazon");
    expect(reopened.seq).toBe(7);
    await reopened.save(8);
    expect((await FileCheckpoint.open(path, "amazon")).seq).toBe(8);
  });

  it("refuses a corrupt file and another channel's file", async () => {
    const path = join(dir, "x.ckpt");
    writeFileSync(path, "garbage");
    await expect(FileCheckpoint.open(path, "amazon")).rejects.toBeInstanceOf(CheckpointCorruptError);
    await (await FileCheckpoint.open(join(dir, "y.ckpt"), "google")).save(3);
    await expect(FileCheckpoint.open(join(dir, "y.ckpt"), "amazon")).rejects.toThrow(/belongs to channel "google"/);
  });
});

describe("checkpoint lock", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "adapter-lock-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a checkpoint another live process holds, takes over one whose owner is gone, releases on close", async () => {
    const path = join(dir, "a.ckpt");
    writeFileSync(`${path}.lock`, `${process.ppid}\n`); // a live process that is not us
    await expect(FileCheckpoint.open(path, "amazon")).rejects.toBeInstanceOf(CheckpointLockedError);
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!; // exited: its pid is free
    writeFileSync(`${path}.lock`, `${dead}\n`);
    const checkpoint = await FileCheckpoint.open(path, "amazon");
    expect(readFileSync(`${path}.lock`, "utf8").trim()).toBe(String(process.pid));
    await checkpoint.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });
});

describe("webhook signature", () => {
  it("is sha256=<hex HMAC-SHA256 of the exact body>, checked by an independent implementation", () => {
    const body = webhookBody("amazon", [{ sku: "SKU-ü,\"1\"", available: 3, seq: 9 }]);
    expect(JSON.parse(body)).toEqual({ channel: "amazon", items: [{ sku: 'SKU-ü,"1"', available: 3, seq: 9 }] });
    const header = signBody(body, "s3cret");
    const independent = "sha256=" + createHmac("sha256", Buffer.from("s3cret")).update(Buffer.from(body, "utf8")).digest("hex");
    expect(header).toBe(independent);
    expect(verifySignature(body, "s3cret", independent)).toBe(true);
    expect(verifySignature(body + " ", "s3cret", independent)).toBe(false);
    expect(verifySignature(body, "other", independent)).toBe(false);
    expect(verifySignature(body, "s3cret", undefined)).toBe(false);
  });
});

describe("feed file format", () => {
  const rows = [
    { storeCode: "S1", sku: "plain", quantity: 4 },
    { storeCode: "S1", sku: 'comma,"quote"', quantity: 0 },
  ];
  it("renders TSV with in_stock/out_of_stock and parses it back", () => {
    const text = renderFeed(rows, "tsv");
    expect(text).toBe("store_code\tid\tquantity\tavailability\nS1\tplain\t4\tin_stock\nS1\tcomma,\"quote\"\t0\tout_of_stock\n");
    expect(parseFeed(text, "tsv")).toEqual(rows);
  });
  it("renders CSV with RFC 4180 quoting and parses it back", () => {
    const text = renderFeed(rows, "csv");
    expect(text).toContain('S1,"comma,""quote""",0,out_of_stock');
    expect(parseFeed(text, "csv")).toEqual(rows);
  });
  it("refuses a file it did not write", () => {
    expect(() => parseFeed("a,b\n", "csv")).toThrow(/header/);
  });
});

describe("NATS subjects and payloads", () => {
  it("percent-encodes every byte outside [A-Za-z0-9_-] as uppercase %XX", () => {
    expect(subjectToken("amazon")).toBe("amazon");
    expect(subjectToken("a.b c*>é")).toBe("a%2Eb%20c%2A%3E%C3%A9");
    expect(channelSubject("web_1-x")).toBe("omnistock.channel.web_1-x.>");
  });
  it("decodes msgpack and JSON payloads", () => {
    const m = { type: "channel", seq: 3, channel: "amazon", sku: "A", available: 2, ts: "x" };
    expect(decodePayload(new Packr({ useRecords: false }).pack(m))).toEqual(m);
    expect(decodePayload(Buffer.from(JSON.stringify(m)))).toEqual(m);
  });
});

describe("CLI arguments", () => {
  const base = ["--channel", "amazon", "--checkpoint", "a.ckpt"];
  it("parses a webhook command with defaults", () => {
    const args = parseAdapterArgs(["webhook", ...base, "--url", "http://127.0.0.1:9999/hook", "--secret", "s", "--rate", "20", "--only-meaningful", "--low-stock", "5"]);
    expect(args).toMatchObject({ command: "webhook", channel: "amazon", rate: 20, burst: 40, batch: 100, policy: { lowStock: 5, minChangeRatio: 0.2 }, engine: "ws://127.0.0.1:8080" });
  });
  it("parses a feed command and takes the format from the extension", () => {
    expect(parseAdapterArgs(["feed", ...base, "--file", "f.csv", "--store-code", "S1"])).toMatchObject({ command: "feed", format: "csv", batch: 10_000 });
    expect(parseAdapterArgs(["feed", ...base, "--file", "f.tsv", "--store-code", "S1"])).toMatchObject({ format: "tsv" });
  });
  it("takes the secret from the environment", () => {
    expect(parseAdapterArgs(["webhook", ...base, "--url", "http://x/"], { OMNISTOCK_ADAPTER_SECRET: "e" })).toMatchObject({ secret: "e" });
  });
  const bad: [string[], RegExp][] = [
    [[], /name an adapter/],
    [["ftp"], /unknown adapter/],
    [["webhook", "--checkpoint", "c", "--url", "http://x/", "--secret", "s"], /--channel is required/],
    [["webhook", "--channel", "Amazon!", "--checkpoint", "c", "--url", "http://x/", "--secret", "s"], /--channel must match/],
    [["webhook", ...base, "--secret", "s"], /--url is required/],
    [["webhook", ...base, "--url", "ftp://x", "--secret", "s"], /--url must start with/],
    [["webhook", ...base, "--url", "http://x/"], /--secret/],
    [["webhook", ...base, "--url", "http://x/", "--secret", "s", "--rate", "fast"], /--rate must be a number/],
    [["webhook", ...base, "--url", "http://x/", "--secret", "s", "--batch", "0"], /--batch must be an integer within 1/],
    [["webhook", ...base, "--url", "http://x/", "--secret", "s", "--low-stock", "5"], /need --only-meaningful/],
    [["webhook", ...base, "--url", "http://x/", "--secret", "s", "--engine", "ws://a", "--nats", "nats://b"], /not both/],
    [["webhook", ...base, "--url", "http://x/", "--secret", "s", "--bogus"], /Unknown option/],
    [["feed", ...base, "--file", "f.tsv"], /--store-code is required/],
  ];
  it.each(bad)("rejects %j", (argv, message) => {
    expect(() => parseAdapterArgs(argv)).toThrow(UsageError);
    expect(() => parseAdapterArgs(argv)).toThrow(message);
  });
  it("answers --help", () => {
    expect(parseAdapterArgs(["--help"])).toEqual({ command: "help" });
  });
});
