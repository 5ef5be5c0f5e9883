// A WebSocket client of the stream (GET /v1/stream) for tests against a real
// engine on loopback: it records every message and lets a test wait for a
// condition on them; plus the checks the stream suites share.

import { pack, unpack } from "msgpackr";
import { expect } from "vitest";
import WebSocket from "ws";

// Stream messages leave in the event-loop turn after their writes' answers:
// read the newest seq once that turn has run.
export async function settledSeq(engine: { feed: { lastSeq: number } }): Promise<number> {
  await new Promise((r) => setImmediate(r));
  return engine.feed.lastSeq;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Message = any;

export const WAIT_MS = 30_000; // a generous bound for a wait that should end in milliseconds (not a timing assertion)

/** Resolves once `condition` holds, polling (a wait with a generous deadline, not a timing assertion). */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A stream client that records every message and lets a test wait for a condition on them. */
export class StreamClient {
  readonly messages: Message[] = [];
  closeCode: number | null = null;
  closeReason = "";
  private waiters: (() => void)[] = [];

  private constructor(
    readonly ws: WebSocket,
    readonly msgpack: boolean,
  ) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (msgpack && !isBinary) throw new Error("msgpack stream sent a text frame");
      if (!msgpack && isBinary) throw new Error("json stream sent a binary frame");
      this.messages.push(msgpack ? unpack(data) : JSON.parse(data.toString("utf8")));
      this.wake();
    });
    ws.on("close", (code: number, reason: Buffer) => {
      this.closeCode = code;
      this.closeReason = reason.toString("utf8");
      this.wake();
    });
  }

  static open(base: string, query: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<StreamClient> {
    const url = new URL("/v1/stream", base.replace(/^http/, "ws"));
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const ws = new WebSocket(url, { headers });
    const client = new StreamClient(ws, query.format === "msgpack");
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(client));
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once("error", reject);
    });
  }

  /** The HTTP status the server refused the upgrade with. */
  static async refusal(base: string, query: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const url = new URL("/v1/stream", base.replace(/^http/, "ws"));
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const ws = new WebSocket(url, { headers });
    return new Promise((resolve, reject) => {
      ws.once("open", () => reject(new Error("upgrade was accepted")));
      ws.once("unexpected-response", (_req, res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
    });
  }

  send(value: unknown): void {
    if (this.msgpack) this.ws.send(pack(value));
    else this.ws.send(typeof value === "string" ? value : JSON.stringify(value));
  }

  subscribe(request: Record<string, unknown> = {}): void {
    this.send({ op: "subscribe", ...request });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once `condition` holds over the messages received so far. */
  async until(condition: (messages: Message[]) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!condition(this.messages)) {
      if (this.closeCode !== null) throw new Error(`closed (${this.closeCode} ${this.closeReason}) while waiting for ${what}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${what}; got ${this.messages.length} messages`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 1000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the `subscribed` answer (the n-th one). */
  async subscribed(n = 1): Promise<Message> {
    await this.until((ms) => ms.filter((m) => m.type === "subscribed").length >= n, "subscribed");
    return this.messages.filter((m) => m.type === "subscribed")[n - 1];
  }

  untilSeq(seq: number): Promise<void> {
    return this.until((ms) => ms.some((m) => (m.type === "delta" || m.type === "channel") && m.seq >= seq), `seq ${seq}`);
  }

  data(): Message[] {
    return this.messages.filter((m) => m.type === "delta" || m.type === "channel");
  }

  close(): void {
    this.ws.close();
  }
}

/** The subscription rule of ws-subscription.ts, restated independently. */
export function expectedFor(all: Message[], f: { skus?: string[]; locations?: string[]; channels?: string[] }): Message[] {
  const open = f.skus === undefined && f.locations === undefined && f.channels === undefined;
  return all.filter((m) => {
    if (open) return true;
    if (m.type === "delta") return (f.skus === undefined || f.skus.includes(m.sku)) && (f.locations === undefined || f.locations.includes(m.location));
    return f.channels !== undefined && f.channels.includes(m.channel) && (f.skus === undefined || f.skus.includes(m.sku));
  });
}

export function expectConsecutive(messages: Message[], from: number, to: number): void {
  const seqs = messages.map((m) => m.seq);
  expect(seqs.length).toBe(to - from + 1);
  for (let i = 0; i < seqs.length; i++) if (seqs[i] !== from + i) expect.fail(`seq ${seqs[i]} at index ${i}, expected ${from + i}`);
}

export async function ok<T extends { status: number }>(reply: Promise<T>): Promise<T> {
  const r = await reply;
  if (r.status >= 300) throw new Error(`engine answered ${r.status}: ${JSON.stringify(r)}`);
  return r;
}

/** A sample of /metrics (every thread's registry summed); NaN when absent. */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.split(" ")[1]);
}
