// JetStream as a Source: a durable pull consumer on stream OMNISTOCK,
// filtered to `omnistock.channel.{token(channel)}.>`, explicit acks. A
// message is acked only once the adapter's checkpoint covering its seq is
// durable (committed()), so a crash redelivers exactly what may not have
// been pushed. Payloads are msgpack (the engine's default) or JSON
// (OMNISTOCK_NATS_FORMAT=json), told apart by the first byte unless fixed.
//
// Ordering after a restart: JetStream would redeliver the unacked messages
// only after ack_wait, behind newer ones. So at start the durable is
// re-created at its own ack floor + 1 (DeliverPolicy.StartSequence): the
// unacked messages come first and in order, and those at or below the
// checkpoint file's seq are acked and skipped. Within a run, a redelivery
// (seq at or below the newest seen) is acked later, never handed on twice.
// One adapter process per durable name.
//
// Bounds: JetStream delivers at most `ackPendingMax` unacked messages, and
// the reader waits while the event queue is full.

import { Unpackr } from "msgpackr";
import { AckPolicy, DeliverPolicy, connect, nanos, type ConsumerMessages, type JsMsg, type NatsConnection } from "nats";
import { subjectToken } from "../nats/subject-token.js";
import { EventQueue, type Source, type SourceEvent } from "./source.js";

export { subjectToken };

export interface NatsSourceOptions {
  servers: string; // nats://host:port
  channel: string;
  since: number; // the checkpoint: messages at or below it are acked and skipped
  durable: string;
  stream?: string; // default OMNISTOCK
  format?: "auto" | "msgpack" | "json";
  ackPendingMax?: number; // default 10,000
  ackWaitMs?: number; // default 10 minutes: longer than any push with its retries
  token?: string;
  queueMax?: number;
  log?: (line: string) => void;
}

const unpackr = new Unpackr({ useRecords: false });

/** The filter subject of one channel's figures. */
export function channelSubject(channel: string): string {
  return `omnistock.channel.${subjectToken(channel)}.>`;
}

/** Decodes a payload: JSON when it starts with "{" (or format says so), else msgpack. */
export function decodePayload(data: Uint8Array, format: "auto" | "msgpack" | "json" = "auto"): unknown {
  const json = format === "json" || (format === "auto" && data[0] === 0x7b);
  return json ? JSON.parse(Buffer.from(data).toString("utf8")) : unpackr.unpack(data);
}

export class NatsSource implements Source {
  private readonly queue: EventQueue<SourceEvent>;
  private readonly log: (line: string) => void;
  private readonly unacked = new Map<number, JsMsg>(); // omnistock seq → newest delivery, seq order
  private connection: NatsConnection | null = null;
  private messages: ConsumerMessages | null = null;
  private newestSeq: number;
  private committedSeq: number;
  private closed = false;
  private started = false;

  constructor(private readonly options: NatsSourceOptions) {
    this.newestSeq = options.since;
    this.committedSeq = options.since;
    this.log = options.log ?? (() => undefined);
    this.queue = new EventQueue<SourceEvent>(options.queueMax ?? 10_000);
  }

  events(): AsyncIterable<SourceEvent> {
    if (!this.started) {
      this.started = true;
      this.run().catch((error: Error) => {
        if (!this.closed) this.queue.end(error);
      });
    }
    return this.queue;
  }

  committed(seq: number): void {
    this.committedSeq = Math.max(this.committedSeq, seq);
    for (const [s, msg] of this.unacked) {
      if (s > this.committedSeq) continue;
      msg.ack();
      this.unacked.delete(s);
    }
  }

  stopReading(): void {
    this.closed = true;
    this.queue.discard();
    this.messages?.stop();
  }

  async close(): Promise<void> {
    this.stopReading();
    const nc = this.connection;
    if (nc === null || nc.isClosed()) return;
    await nc.flush().catch(() => undefined); // the last acks leave before the connection closes
    await nc.close().catch(() => undefined);
  }

  private async run(): Promise<void> {
    const o = this.options;
    const stream = o.stream ?? "OMNISTOCK";
    const nc = await connect({ servers: o.servers, token: o.token, maxReconnectAttempts: -1, name: `omnistock-adapter-${o.channel}` });
    this.connection = nc;
    if (this.closed) return void (await nc.close());
    const jsm = await nc.jetstreamManager();
    const existing = await jsm.consumers.info(stream, o.durable).catch(() => null);
    const resumeStreamSeq = existing ? existing.ack_floor.stream_seq + 1 : 0;
    if (existing) await jsm.consumers.delete(stream, o.durable);
    await jsm.consumers.add(stream, {
      durable_name: o.durable,
      filter_subject: channelSubject(o.channel),
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(o.ackWaitMs ?? 10 * 60_000),
      max_ack_pending: o.ackPendingMax ?? 10_000,
      ...(resumeStreamSeq > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: resumeStreamSeq } : { deliver_policy: DeliverPolicy.All }),
    });
    this.log(`nats: durable ${o.durable} on ${stream} from stream seq ${Math.max(1, resumeStreamSeq)}`);
    const consumer = await nc.jetstream().consumers.get(stream, o.durable);
    const messages = await consumer.consume({ max_messages: 256 });
    this.messages = messages;
    for await (const msg of messages) {
      if (this.closed) return;
      this.take(msg);
      await this.queue.room();
    }
  }

  private take(msg: JsMsg): void {
    let m: { type?: unknown; seq?: unknown; channel?: unknown; sku?: unknown; available?: unknown };
    try {
      m = decodePayload(msg.data, this.options.format) as typeof m;
    } catch (error) {
      this.log(`nats: undecodable message at stream seq ${msg.seq} (${(error as Error).message}); terminated`);
      msg.term();
      return;
    }
    if (m.type !== "channel" || m.channel !== this.options.channel || typeof m.seq !== "number" || typeof m.sku !== "string" || typeof m.available !== "number") {
      this.log(`nats: unexpected message at stream seq ${msg.seq}; acked and ignored`);
      msg.ack();
      return;
    }
    if (m.seq <= this.committedSeq) {
      msg.ack(); // pushed before the last checkpoint: a redelivery
      return;
    }
    this.unacked.set(m.seq, msg);
    if (m.seq <= this.newestSeq) return; // redelivered within this run: already handed on
    this.newestSeq = m.seq;
    this.queue.push({ kind: "change", seq: m.seq, sku: m.sku, available: m.available });
  }
}
