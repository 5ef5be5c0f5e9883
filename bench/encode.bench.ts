// The per-record encoders of the write path, each beside the generic call it
// replaced, in one run: the journal's CRC-32 (crc32Of against node:zlib's
// crc32 of a view), a hold's journal record (encodeCommand against
// msgpackr's pack), a stream delta (writeStreamMessage against pack), a
// reservation answer (reservationJson against JSON.stringify), and a short
// copy (copyBytes against set() of a subarray). These are the figures behind
// the comments of src/journal/crc32.ts, src/msgpack-writer.ts,
// src/engine/reply-json.ts and src/copy-bytes.ts.
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
