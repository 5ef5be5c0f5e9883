// The per-record encoders of the write path, each beside the generic call it
// replaced, in one run: the journal's CRC-32 (crc32Of against node:zlib's
// crc32 of a view), a hold's journal record (encodeCommand against
// msgpackr's pack), a stream delta (writeStreamMessage against pack), a
// reservation answer (reservationJson against JSON.stringify), and a short
// copy (copyBytes against set() of a subarray), and a 13-character id written
// into the ledger's shared memory as WasmLedger's key() does (a charCodeAt
// loop) against the native writers, and four characters per 32-bit store;
// and, on the read side, the integer-literal check every JSON body passes
// (nonIntegerLiteral) beside the JSON.parse of the same body.
// These are the figures behind the comments of src/journal/crc32.ts,
// src/msgpack-writer.ts, src/engine/reply-json.ts, src/copy-bytes.ts and the
// id-encoding notes in bench/RESULTS.md.
//
// Run: npm run build && node dist/bench/encode.bench.js

import { Packr } from "msgpackr";
import { Bench } from "tinybench";
import { crc32 } from "node:zlib";
import { copyBytes } from "../src/copy-bytes.js";
import { Op, encodeCommand, type Command } from "../src/engine/commands.js";
import { reservationBody, reservationJson } from "../src/engine/reply-json.js";
import { crc32Of } from "../src/journal/crc32.js";
import { MsgpackWriter } from "../src/msgpack-writer.js";
import { nonIntegerLiteral } from "../src/json-integers.js";
import { writeStreamMessage } from "../src/stream/message-bytes.js";
import type { DeltaMessage } from "../src/stream/messages.js";

const OPS = 10_000; // per tinybench iteration, so the timer's cost does not count
const packr = new Packr({ useRecords: false, moreTypes: false });
const record80 = Buffer.alloc(80, 7);
const record160 = Buffer.alloc(160, 7);
const hold: Command = [Op.Hold, 1_765_000_000_000, "order-1234567", "web", [{ sku: "SKU-000123", location: "store-0001", qty: 1 }], 900_000];
const delta: DeltaMessage = {
  type: "delta", seq: 123_456, sku: "SKU-000123", location: "store-0001", available: 41, onHand: 50, reserved: 7,
  committed: 2, safetyStock: 0, shortfall: 0, version: 9, ts: "2026-12-07T12:00:00.000Z",
};
const reservation = reservationBody({
  id: "order-1234567", status: "held", channel: "web", lines: [{ sku: "SKU-000123", location: "store-0001", qty: 1 }], expiresAtMs: 1_765_000_900_000,
});
const writer = new MsgpackWriter();
const source = Buffer.alloc(256, 3);
const target = Buffer.alloc(256);
let sink = 0;
// Ids as the server's parser hands them over (flat strings from JSON.parse), into a shared memory.
const ids = JSON.parse(JSON.stringify(Array.from({ length: 1024 }, (_, i) => `order-${1_000_000 + i}`))) as string[];
const shared = new SharedArrayBuffer(4096);
const sharedBytes = new Uint8Array(shared);
const sharedBuffer = Buffer.from(shared);
const sharedWords = new Uint32Array(shared);
const encoder = new TextEncoder();
const holdBody = JSON.stringify({ id: "order-1234567", lines: [{ sku: "SKU-000123", location: "store-0001", qty: 1 }] });
let next = 0;
const nextId = (): string => ids[next++ & 1023];
/** WasmLedger's key(): ASCII by a plain loop (a non-ASCII id goes to encodeInto there). */
function keyLoop(at: number, id: string): number {
  const n = id.length;
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i);
    if (c >= 0x80) return -1;
    sharedBytes[at + i] = c;
  }
  return n;
}
/** The same, four characters per store (at 4-aligned). */
function keyWords(at: number, id: string): number {
  const n = id.length;
  let i = 0;
  let w = at >> 2;
  for (; i + 4 <= n; i += 4) {
    const a = id.charCodeAt(i), b = id.charCodeAt(i + 1), c = id.charCodeAt(i + 2), d = id.charCodeAt(i + 3);
    if ((a | b | c | d) >= 0x80) return -1;
    sharedWords[w++] = a | (b << 8) | (c << 16) | (d << 24);
  }
  for (; i < n; i++) {
    const c = id.charCodeAt(i);
    if (c >= 0x80) return -1;
    sharedBytes[at + i] = c;
  }
  return n;
}

const bench = new Bench({ time: Number(process.env.BENCH_TIME_MS ?? 500), warmupTime: 100 });
const add = (name: string, body: () => void): void => {
  bench.add(name, () => {
    for (let i = 0; i < OPS; i++) body();
  });
};
add("crc32, 80 bytes|omnistock (crc32Of)", () => (sink ^= crc32Of(record80, 0, 80)));
add("crc32, 80 bytes|baseline (zlib crc32 of a view)", () => (sink ^= crc32(record80.subarray(0, 80))));
add("crc32, 160 bytes|omnistock (crc32Of)", () => (sink ^= crc32Of(record160, 0, 160)));
add("crc32, 160 bytes|baseline (zlib crc32 of a view)", () => (sink ^= crc32(record160.subarray(0, 160))));
add("hold journal record|omnistock (encodeCommand)", () => (sink ^= encodeCommand(hold).length));
add("hold journal record|baseline (msgpackr pack)", () => (sink ^= packr.pack(hold).length));
add("stream delta|omnistock (writeStreamMessage)", () => (sink ^= writeStreamMessage(writer.reset(), delta).length));
add("stream delta|baseline (msgpackr pack)", () => (sink ^= packr.pack(delta).length));
add("reservation answer|omnistock (reservationJson)", () => (sink ^= reservationJson(reservation).length));
add("reservation answer|baseline (JSON.stringify)", () => (sink ^= JSON.stringify(reservation).length));
add("copy 25 bytes|omnistock (copyBytes)", () => copyBytes(target, 8, source, 3, 28));
add("copy 25 bytes|baseline (set of a subarray)", () => target.set(source.subarray(3, 28), 8));
add("13-character id into shared memory|omnistock (charCodeAt loop)", () => (sink ^= keyLoop(1024, nextId())));
add("13-character id into shared memory|baseline (Buffer write, utf8)", () => (sink ^= sharedBuffer.write(nextId(), 1024, 256, "utf8")));
add("13-character id into shared memory|other (Buffer write, latin1)", () => (sink ^= sharedBuffer.write(nextId(), 1024, 256, "latin1")));
add("13-character id into shared memory|other (TextEncoder encodeInto)", () => (sink ^= encoder.encodeInto(nextId(), sharedBytes.subarray(1024, 1280)).written));
add("13-character id into shared memory|other (4 characters per store)", () => (sink ^= keyWords(1024, nextId())));
add("one-line hold body, 85 bytes|omnistock (nonIntegerLiteral, on top of the parse)", () => (sink ^= nonIntegerLiteral(holdBody) === null ? 1 : 0));
add("one-line hold body, 85 bytes|baseline (JSON.parse)", () => (sink ^= (JSON.parse(holdBody) as { lines: unknown[] }).lines.length));

await bench.run();
console.log("| encoding | system | ns per op | × baseline |");
console.log("| --- | --- | ---: | ---: |");
const nsOf = new Map<string, number>();
for (const task of bench.tasks) {
  const result = task.result as unknown as { latency?: { mean: number } };
  nsOf.set(task.name, ((result.latency?.mean ?? NaN) * 1e6) / OPS);
}
for (const [name, ns] of nsOf) {
  const [what, system] = name.split("|");
  const baseline = [...nsOf].find(([other]) => other.startsWith(`${what}|baseline`))![1];
  console.log(`| ${what} | ${system} | ${ns.toFixed(0)} | ${(ns / baseline).toFixed(2)} |`);
}
if (sink === 0.5) console.log(sink);
