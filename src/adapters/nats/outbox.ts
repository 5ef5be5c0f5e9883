// The JetStream outbox: publishes the delta feed into stream OMNISTOCK, in seq
// order, each message exactly once, without ever holding up the writer.
//
// It keeps no queue of its own. Its state is one cursor (the newest seq
// JetStream acknowledged, everything before it acknowledged too); the feed's
// retention (memory tail, then the delta journal on disk) is the buffer, read
// with `feed.readAfter(sent, READ_BATCH_MAX)`. At most INFLIGHT_MAX publishes
// await their ack at once; acks are applied in seq order, so the cursor never
// passes a message JetStream has not stored.
//
// Exactly once, in order: each publish carries `Nats-Msg-Id` = seq (JetStream
// drops a repeat within the duplicate window and acks it as a duplicate) and
// `expect.lastSequence` = the stream sequence the previous message got. The
// server checks the duplicate first, then the expectation, so once one message
// fails, every later one in flight fails too (wrong last sequence) instead of
// being stored after a gap. After any failure, and after every (re)connect,
// the outbox asks JetStream where it stands (stream info `state.last_seq`,
// then that message's `Nats-Msg-Id`) and resumes right after it: JetStream,
// not the cursor in memory, is the truth, so an engine restart resumes the
// same way.
//
// The one way to lose messages: an outage longer than the feed's retention.
// Then `readAfter` answers null, the outbox logs it, counts the lost messages
// in omnistock_nats_skipped_total{reason="retention"} and continues at the
// oldest message still retained.

import {
  DiscardPolicy, RetentionPolicy, StorageType, nanos,
  type JetStreamClient, type JetStreamManager, type NatsError, type StreamInfo,
} from "nats";
import type { DeltaFeed } from "../../stream/feed.js";
import type { StreamMessage } from "../../stream/messages.js";
import { natsAcked, natsPublished, natsSkipped, type LagSource } from "./metrics.js";
import type { Signal } from "./signal.js";
import { subjectFor } from "./subject-token.js";

export const STREAM_NAME = "OMNISTOCK";
/**
 * What the stream captures: `omnistock.>`, as SPEC section 5 says. Nothing
 * else may therefore live under `omnistock.`: JetStream would store it and
 * answer requests with a PubAck. The ATP service is on `omnistock-atp.get`.
 */
export const STREAM_SUBJECTS: readonly string[] = ["omnistock.>"];
export const MSG_ID_HEADER = "Nats-Msg-Id";
export const DUPLICATE_WINDOW_MS = 120_000; // re-publishing within this window is a no-op
export const INFLIGHT_MAX = 1024; // publishes awaiting their ack
export const READ_BATCH_MAX = 4096; // messages read from the feed at once (bounds this outbox's memory)
export const ACK_TIMEOUT_MS = 5_000;
export const RESUME_SCAN_MAX = 64; // newest stream messages searched for a Nats-Msg-Id on resume

const JS_ERR_STREAM_NOT_FOUND = 10059;
const JS_ERR_NO_MESSAGE_FOUND = 10037;

export interface OutboxOptions {
  streamMaxMessages: number;
  streamMaxAgeSeconds: number;
  encode: (message: StreamMessage) => Uint8Array;
  log: (message: string) => void;
}

/** Where publishing resumes: the newest seq JetStream holds, and the stream's own last sequence. */
export interface ResumePoint {
  cursor: number;
  streamLastSeq: number;
}

const PENDING = 0;
const STORED = 1;
const FAILED = 2;

interface Inflight {
  seq: number;
  state: typeof PENDING | typeof STORED | typeof FAILED;
  duplicate: boolean;
  error: unknown;
}

function jsErrorCode(error: unknown): number | undefined {
  return (error as Partial<NatsError> | null)?.api_error?.err_code;
}

const publishedJetStream = natsPublished.labels("jetstream");
const ackedNew = natsAcked.labels("false");
const ackedDuplicate = natsAcked.labels("true");
const skippedRetention = natsSkipped.labels("retention");

export class JetStreamOutbox implements LagSource {
  private cursor = 0; // newest seq JetStream acknowledged (all before it too)
  private cursorKnown = false;

  constructor(
    private readonly feed: DeltaFeed,
    private readonly options: OutboxOptions,
  ) {}

  /** Newest seq JetStream acknowledged, or null before the first resume. */
  get acknowledgedSeq(): number | null {
    return this.cursorKnown ? this.cursor : null;
  }

  lag(): number {
    return this.cursorKnown ? Math.max(0, this.feed.lastSeq - this.cursor) : this.feed.lastSeq;
  }

  /** Creates or updates the stream, then reads the newest seq it holds. */
  async resume(jsm: JetStreamManager): Promise<ResumePoint> {
    const info = await this.ensureStream(jsm);
    const { first_seq: first, last_seq: last } = info.state;
    const floor = Math.max(1, first, last - RESUME_SCAN_MAX + 1);
    for (let s = last; s >= floor; s--) {
      let id: string | undefined;
      try {
        id = (await jsm.streams.getMessage(STREAM_NAME, { seq: s })).header?.get(MSG_ID_HEADER);
      } catch (error) {
        if (jsErrorCode(error) === JS_ERR_NO_MESSAGE_FOUND) continue; // deleted or aged out meanwhile
        throw error;
      }
      if (id !== undefined && /^[0-9]{1,16}$/.test(id)) return this.resumeAt(Number(id), last);
    }
    // Nothing of ours in the stream: new, purged, or every message aged out.
    // Publish what the feed retains; subscribers that saw some already tell them by seq.
    const start = this.feed.oldestSeq - 1;
    this.options.log(
      last === 0
        ? `nats: stream ${STREAM_NAME} is empty; publishing the retained messages from seq ${start + 1}`
        : `nats: WARNING stream ${STREAM_NAME} holds no omnistock message with a ${MSG_ID_HEADER} among its newest ${RESUME_SCAN_MAX}; republishing the retained messages from seq ${start + 1}`,
    );
    return this.resumeAt(start, last);
  }

  private resumeAt(cursor: number, streamLastSeq: number): ResumePoint {
    if (cursor > this.feed.lastSeq) {
      this.options.log(
        `nats: WARNING JetStream holds seq ${cursor} but this engine's feed ends at ${this.feed.lastSeq} (a new or restored data directory?); publishing resumes after seq ${cursor}`,
      );
    }
    this.cursor = cursor;
    this.cursorKnown = true;
    return { cursor, streamLastSeq };
  }

  private async ensureStream(jsm: JetStreamManager): Promise<StreamInfo> {
    const maxAgeMs = this.options.streamMaxAgeSeconds * 1000;
    const wanted = {
      subjects: [...STREAM_SUBJECTS],
      max_msgs: this.options.streamMaxMessages,
      max_age: nanos(maxAgeMs),
      duplicate_window: nanos(Math.min(DUPLICATE_WINDOW_MS, maxAgeMs)), // the server requires window <= max_age
    };
    let info: StreamInfo;
    try {
      info = await jsm.streams.info(STREAM_NAME);
    } catch (error) {
      if (jsErrorCode(error) !== JS_ERR_STREAM_NOT_FOUND) throw error;
      this.options.log(`nats: creating stream ${STREAM_NAME} (${wanted.subjects.join(", ")})`);
      return jsm.streams.add({
        name: STREAM_NAME, ...wanted, storage: StorageType.File, retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old,
      });
    }
    const c = info.config;
    const sameSubjects = c.subjects?.length === wanted.subjects.length && wanted.subjects.every((s) => c.subjects.includes(s));
    if (!sameSubjects || c.max_msgs !== wanted.max_msgs || c.max_age !== wanted.max_age || c.duplicate_window !== wanted.duplicate_window) {
      this.options.log(`nats: updating stream ${STREAM_NAME} to the configured subjects and limits`);
      info = await jsm.streams.update(STREAM_NAME, wanted);
    }
    return info;
  }

  /**
   * Publishes from `point` on, until `stop()` turns true (returns) or a
   * publish fails (throws; the caller backs off and resumes). Sleeps on
   * `wake`, which the caller notifies on every feed release, ack, reconnect
   * and close.
   */
  async pump(js: JetStreamClient, point: ResumePoint, wake: Signal, stop: () => boolean): Promise<void> {
    let sent = point.cursor; // newest seq published (acked or in flight)
    let expectSeq = point.streamLastSeq; // the stream sequence the next message must follow
    const inflight: Inflight[] = [];
    let head = 0;
    let buffer: StreamMessage[] = [];
    let at = 0;
    for (;;) {
      if (stop()) return;
      // Acks in seq order: the cursor only moves over a stored prefix.
      while (head < inflight.length && inflight[head].state !== PENDING) {
        const entry = inflight[head++];
        if (entry.state === FAILED) throw entry.error;
        (entry.duplicate ? ackedDuplicate : ackedNew).inc();
        this.cursor = entry.seq;
      }
      if (head === inflight.length) {
        inflight.length = 0;
        head = 0;
      }
      const outstanding = inflight.length - head;
      if (at === buffer.length && sent < this.feed.lastSeq) {
        const read = this.feed.readAfter(sent, READ_BATCH_MAX);
        if (read === null) {
          if (outstanding === 0) sent = this.skipToOldest();
          else await wake.wait(); // let what is in flight settle first
          continue;
        }
        buffer = read;
        at = 0;
      }
      if (at < buffer.length && outstanding < INFLIGHT_MAX) {
        const end = Math.min(buffer.length, at + INFLIGHT_MAX - outstanding);
        publishedJetStream.inc(end - at);
        for (; at < end; at++) {
          const message = buffer[at];
          inflight.push(this.publish(js, message, expectSeq++, wake));
          sent = message.seq;
        }
        continue;
      }
      await wake.wait();
    }
  }

  private publish(js: JetStreamClient, message: StreamMessage, expectLastSequence: number, wake: Signal): Inflight {
    const entry: Inflight = { seq: message.seq, state: PENDING, duplicate: false, error: null };
    js.publish(subjectFor(message), this.options.encode(message), {
      msgID: String(message.seq),
      expect: { lastSequence: expectLastSequence },
      timeout: ACK_TIMEOUT_MS,
    }).then(
      (ack) => {
        entry.state = STORED;
        entry.duplicate = ack.duplicate;
        wake.notify();
      },
      (error: unknown) => {
        entry.state = FAILED;
        entry.error = error;
        wake.notify();
      },
    );
    return entry;
  }

  /** The cursor fell out of the feed's retention: count the loss, say so loudly, go on from the oldest retained. */
  private skipToOldest(): number {
    const oldest = this.feed.oldestSeq;
    const lost = Math.max(0, oldest - 1 - this.cursor);
    this.options.log(
      `nats: ERROR LOST ${lost} stream messages (seq ${this.cursor + 1}..${oldest - 1}): JetStream was unreachable for longer than the feed's retention; publishing continues at seq ${oldest}`,
    );
    skippedRetention.inc(lost);
    this.cursor = oldest - 1;
    return this.cursor;
  }
}
