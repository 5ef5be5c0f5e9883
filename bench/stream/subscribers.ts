// The load side of `npm run bench:stream`: many WebSocket subscribers of
// `GET /v1/stream` in one process, kept as cheap as possible because it shares
// a 2-core machine with the server. No WebSocket library: a raw TCP socket per
// client, the upgrade written by hand, and per frame only the header and the
// seq are read (the engine writes `seq` last in every JSON message, so it is
// the digits before the closing brace). Every client checks that its seqs are
// consecutive; receipt times (process.hrtime, the monotonic clock every
// process on the machine shares) are kept per seq (the latest receipt over all
// clients, for an exact max) and for every SAMPLE_EVERY-th seq per client (for
// percentiles). Run by latency.bench.ts through fork(); talks over IPC.
//
// With a subscriptions file (the filtered scenario), client i sends line i's
// subscribe instead of `{"op":"subscribe"}`. A client whose subscribe names a
// filter gets only some seqs, so it is not checked for consecutive seqs here:
// it records every receipt (client, seq, time), and latency.bench.ts compares
// them with what its filter should have matched (missing, unexpected, out of
// order). Unfiltered clients are measured as above.
//
// argv: port clients sampleEvery seqWindow [subscriptionsFile]

import { readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";

const [port, clientCount, sampleEvery, seqWindow] = process.argv.slice(2, 6).map(Number);
const OPEN_SUBSCRIBE = '{"op":"subscribe"}';
/** Per client: its subscribe message (JSON text). */
const subscriptions: string[] = process.argv[6] ? (JSON.parse(readFileSync(process.argv[6], "utf8")) as string[]) : [];
const HOST = "127.0.0.1";
const CONNECT_BATCH = 50; // upgrades in flight at once
const SAMPLES_MAX = 8_000_000; // (client, seq) receipt samples kept
const UPGRADE = (key: string): string =>
  `GET /v1/stream HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

const now = (): number => Number(process.hrtime.bigint()) / 1e6; // ms, monotonic, shared across processes

/** A masked client frame (mask key 0: the payload is sent as is). */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  if (payload.length <= 125) return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
  if (payload.length > 0xffff) throw new Error("client frames here are under 64 KiB");
  const head = Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff, 0, 0, 0, 0]);
  return Buffer.concat([head, payload]);
}

// ---------------------------------------------------------------- shared state
let baseSeq = -1; // the `subscribed` seq: seqs after it are measured
const lastReceipt = new Float64Array(seqWindow); // per seq - baseSeq - 1: latest receipt over all clients
const receipts = new Uint16Array(seqWindow); // per seq: clients that got it
const sampleSeq = new Uint32Array(SAMPLES_MAX);
const sampleTime = new Float64Array(SAMPLES_MAX);
let samples = 0;
let frames = 0;
let gaps = 0; // a seq that is not the previous + 1 (coalescing, or a bug)
let subscribedCount = 0;
let closedEarly = 0;
// Filtered clients: every receipt.
const FILTERED_RECEIPTS_MAX = 8_000_000;
const filteredClient = new Uint16Array(FILTERED_RECEIPTS_MAX);
const filteredSeq = new Uint32Array(FILTERED_RECEIPTS_MAX);
const filteredTime = new Float64Array(FILTERED_RECEIPTS_MAX);
let filteredReceipts = 0;
let filteredOverflow = 0; // receipts past FILTERED_RECEIPTS_MAX (not recorded)
let filteredFrames = 0;

class RawClient {
  private carry: Buffer | null = null;
  private upgraded = false;
  lastSeq = -1;
  readonly filtered: boolean;

  constructor(
    readonly socket: Socket,
    readonly id: number,
    private readonly subscribe: string,
    onSubscribed: () => void,
  ) {
    this.filtered = subscribe !== OPEN_SUBSCRIBE;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk, onSubscribed));
    socket.on("close", () => {
      if (!stopping) closedEarly++;
    });
    socket.on("error", () => undefined);
  }

  private onData(chunk: Buffer, onSubscribed: () => void): void {
    const t = now();
    let buf = this.carry === null ? chunk : Buffer.concat([this.carry, chunk]);
    this.carry = null;
    let at = 0;
    if (!this.upgraded) {
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return void (this.carry = buf);
      if (!buf.subarray(0, 12).toString("latin1").startsWith("HTTP/1.1 101")) throw new Error(`upgrade refused: ${buf.toString("latin1", 0, end)}`);
      this.upgraded = true;
      at = end + 4;
      this.socket.write(clientFrame(1, Buffer.from(this.subscribe)));
    }
    const n = buf.length;
    while (at + 2 <= n) {
      const opcode = buf[at] & 0x0f;
      let len = buf[at + 1] & 0x7f;
      let head = 2;
      if (len === 126) {
        if (at + 4 > n) break;
        len = buf.readUInt16BE(at + 2);
        head = 4;
      } else if (len === 127) {
        if (at + 10 > n) break;
        len = Number(buf.readBigUInt64BE(at + 2));
        head = 10;
      }
      if (at + head + len > n) break;
      const start = at + head;
      const end = start + len;
      at = end;
      if (opcode === 1) this.onText(buf, start, end, t, onSubscribed);
      else if (opcode === 9) this.socket.write(clientFrame(10, buf.subarray(start, end)));
    }
    if (at < n) this.carry = buf.subarray(at);
  }

  private onText(buf: Buffer, start: number, end: number, t: number, onSubscribed: () => void): void {
    // `…,"seq":123}`: digits backwards from the closing brace.
    let i = end - 2;
    let seq = 0;
    let scale = 1;
    while (i >= start) {
      const c = buf[i];
      if (c < 48 || c > 57) break;
      seq += (c - 48) * scale;
      scale *= 10;
      i--;
    }
    if (buf[start + 9] === 0x73 /* {"type":"subscribed" */ && buf.toString("latin1", start, start + 20) === '{"type":"subscribed"') {
      if (baseSeq < 0) baseSeq = seq;
      else if (baseSeq !== seq) throw new Error(`subscribed at ${seq}, others at ${baseSeq}: writes started too early`);
      this.lastSeq = seq;
      onSubscribed();
      return;
    }
    if (this.filtered) {
      filteredFrames++;
      this.lastSeq = seq;
      if (filteredReceipts === FILTERED_RECEIPTS_MAX) return void filteredOverflow++;
      filteredClient[filteredReceipts] = this.id;
      filteredSeq[filteredReceipts] = seq;
      filteredTime[filteredReceipts++] = t;
      return;
    }
    frames++;
    if (seq !== this.lastSeq + 1) gaps++;
    this.lastSeq = seq;
    const k = seq - baseSeq - 1;
    if (k >= 0 && k < seqWindow) {
      if (t > lastReceipt[k]) lastReceipt[k] = t;
      receipts[k]++;
    }
    if (seq % sampleEvery === 0 && samples < SAMPLES_MAX) {
      sampleSeq[samples] = seq;
      sampleTime[samples++] = t;
    }
  }
}

let stopping = false;
const clients: RawClient[] = [];

async function open(): Promise<void> {
  let pending = 0;
  await new Promise<void>((resolve, reject) => {
    let started = 0;
    const next = (): void => {
      while (pending < CONNECT_BATCH && started < clientCount) {
        started++;
        pending++;
        const socket = connect({ host: HOST, port }, () => socket.write(UPGRADE("dGhlIHNhbXBsZSBub25jZQ==")));
        socket.once("error", reject);
        const id = started - 1;
        clients.push(new RawClient(socket, id, subscriptions[id] ?? OPEN_SUBSCRIBE, () => {
          pending--;
          subscribedCount++;
          if (subscribedCount === clientCount) resolve();
          else next();
        }));
      }
    };
    next();
  });
}

process.on("message", (message: { cmd: string; file?: string }) => {
  if (message.cmd === "stats") {
    process.send!({ event: "stats", frames, gaps, closedEarly, lastSeqs: clients.map((c) => c.lastSeq) });
  } else if (message.cmd === "stop") {
    stopping = true;
    for (const c of clients) c.socket.destroy();
    const file = message.file!;
    writeFileSync(`${file}.seq`, sampleSeq.subarray(0, samples));
    writeFileSync(`${file}.time`, sampleTime.subarray(0, samples));
    writeFileSync(`${file}.last`, lastReceipt);
    writeFileSync(`${file}.count`, receipts);
    writeFileSync(`${file}.fclient`, filteredClient.subarray(0, filteredReceipts));
    writeFileSync(`${file}.fseq`, filteredSeq.subarray(0, filteredReceipts));
    writeFileSync(`${file}.ftime`, filteredTime.subarray(0, filteredReceipts));
    process.send!({ event: "stopped", frames, gaps, closedEarly, samples, baseSeq, filteredFrames, filteredReceipts, filteredOverflow }, () => process.exit(0));
  }
});

open().then(
  () => process.send!({ event: "subscribed", clients: clientCount, baseSeq }),
  (e: unknown) => {
    process.send!({ event: "failed", message: String(e) });
    process.exit(1);
  },
);
