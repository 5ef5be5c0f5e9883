// The NATS adapter (SPEC section 5): publishes the delta feed on NATS and
// answers ATP requests. Started by the composition root after recovery when
// OMNISTOCK_NATS_URL is set.
//
// Nothing here can hold up the engine: the adapter only reads the feed (a
// listener that just wakes a loop), connects in the background, and retries
// with backoff forever, so a NATS outage blocks neither reservations nor
// /readyz. With JetStream (the server's INFO says so) the JetStream outbox
// publishes with acks and loses nothing; without it every released batch is
// published with core NATS, best effort (dropped while disconnected).
//
// Connection life: one connection at a time; nats.js reconnects it by itself
// (forever, every RECONNECT_WAIT_MS plus jitter). Every disconnect and
// reconnect bumps an epoch, which ends the current publishing round; the next
// round starts by asking JetStream where it stands.

import { Events, connect, headers, type NatsConnection, type QueuedIterator, type Status } from "nats";
import type { OmnistockEngine } from "../../engine/engine.js";
import type { StreamMessage } from "../../stream/messages.js";
import { AtpResponder } from "./atp-responder.js";
import { natsLagSources, natsPublished, natsPublishFailures, natsReconnects, natsSkipped } from "./metrics.js";
import { JetStreamOutbox, MSG_ID_HEADER } from "./outbox.js";
import { payloadEncoder, type NatsFormat } from "./payload.js";
import { Backoff, Signal } from "./signal.js";
import { subjectFor } from "./subject-token.js";

export const CONNECT_TIMEOUT_MS = 2_000;
export const RECONNECT_WAIT_MS = 500;
export const RECONNECT_JITTER_MS = 500;
export const JETSTREAM_API_TIMEOUT_MS = 5_000;

export interface NatsAdapterOptions {
  url: string;
  format: NatsFormat;
  streamMaxMessages: number;
  streamMaxAgeSeconds: number;
  log: (message: string) => void;
}

const publishedCore = natsPublished.labels("core");
const skippedDisconnected = natsSkipped.labels("disconnected");

export class NatsAdapter {
  private closed = false;
  private epoch = 0; // +1 on every connect, disconnect, reconnect and close
  private connected = false;
  private nc: NatsConnection | null = null;
  /** Feed releases, acks, connection changes, close: whatever may let the outbox progress. */
  private readonly wake = new Signal();
  /** Connection changes and close only: ends a backoff early. */
  private readonly control = new Signal();
  private readonly encode: (message: StreamMessage) => Uint8Array;
  private readonly outbox: JetStreamOutbox;
  private readonly atp: AtpResponder;
  private readonly stopFeed: () => void;
  private readonly running: Promise<void>;

  constructor(
    private readonly engine: OmnistockEngine,
    private readonly options: NatsAdapterOptions,
  ) {
    this.encode = payloadEncoder(options.format);
    this.outbox = new JetStreamOutbox(engine.feed, { ...options, encode: this.encode });
    this.atp = new AtpResponder(engine, options.log);
    this.stopFeed = engine.feed.onRelease(() => this.wake.notify());
    natsLagSources.add(this.outbox);
    this.running = this.run();
  }

  /** Newest seq JetStream acknowledged (null before the first resume or without JetStream). */
  get acknowledgedSeq(): number | null {
    return this.outbox.acknowledgedSeq;
  }

  /** Stops publishing and answering, and closes the connection. Messages not yet acked are published by the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.bump();
    this.stopFeed();
    natsLagSources.delete(this.outbox);
    await this.nc?.close().catch(() => undefined);
    await this.running;
  }

  private bump(): void {
    this.epoch++;
    this.wake.notify();
    this.control.notify();
  }

  private async run(): Promise<void> {
    const backoff = new Backoff();
    let failures = 0;
    while (!this.closed) {
      let nc: NatsConnection;
      try {
        nc = await connect({
          servers: this.options.url,
          name: "omnistock",
          timeout: CONNECT_TIMEOUT_MS,
          maxReconnectAttempts: -1,
          reconnectTimeWait: RECONNECT_WAIT_MS,
          reconnectJitter: RECONNECT_JITTER_MS,
          // nats.js otherwise captures a stack (new Error()) for every request,
          // i.e. for every JetStream publish: a fifth of the engine's CPU at
          // 10,000 deltas/s (bench/stream/experiments/nats-no-async-traces.patch).
          noAsyncTraces: true,
        });
      } catch (error) {
        if (failures++ === 0) this.options.log(`nats: cannot connect to ${this.options.url} (retrying with backoff): ${String(error)}`);
        await this.control.waitFor(backoff.next());
        continue;
      }
      if (this.closed) {
        await nc.close().catch(() => undefined);
        return;
      }
      failures = 0;
      backoff.reset();
      this.options.log(`nats: connected to ${nc.getServer()}${nc.info?.jetstream ? " (JetStream)" : " (no JetStream: best effort)"}`);
      await this.serve(nc);
    }
  }

  /** Publishes and answers on `nc` until it closes for good or the adapter closes. */
  private async serve(nc: NatsConnection): Promise<void> {
    this.nc = nc;
    this.connected = true;
    this.bump();
    this.atp.attach(nc);
    const watching = this.watch(nc);
    const backoff = new Backoff();
    let failedAtCursor: number | null = null; // the cursor at the last failure; progress past it resets the backoff
    while (!this.closed && !nc.isClosed()) {
      if (!this.connected) {
        await this.control.wait();
        continue;
      }
      const epoch = this.epoch;
      const stop = (): boolean => this.closed || this.epoch !== epoch;
      try {
        if (nc.info?.jetstream) {
          const point = await this.outbox.resume(await nc.jetstreamManager({ timeout: JETSTREAM_API_TIMEOUT_MS }));
          await this.outbox.pump(nc.jetstream({ timeout: JETSTREAM_API_TIMEOUT_MS }), point, this.wake, stop);
        } else {
          await this.publishCore(nc, stop);
        }
      } catch (error) {
        if (stop()) continue; // the round ended because the connection changed: no failure of its own
        natsPublishFailures.inc();
        const cursor = this.outbox.acknowledgedSeq;
        if (failedAtCursor === null || (cursor !== null && cursor > failedAtCursor)) {
          backoff.reset();
          this.options.log(`nats: publishing failed (retrying with backoff): ${String(error)}`);
        }
        failedAtCursor = cursor ?? 0;
        await this.control.waitFor(backoff.next());
      }
    }
    this.atp.detach();
    await watching;
    this.nc = null;
  }

  private async watch(nc: NatsConnection): Promise<void> {
    // nats.js does not end a status iterator when the connection closes: end it here.
    const statuses = nc.status() as QueuedIterator<Status>;
    void nc.closed().then(() => statuses.stop());
    for await (const status of statuses) {
      if (status.type === Events.Disconnect) {
        this.connected = false;
        this.options.log("nats: disconnected; reconnecting");
        this.bump();
      } else if (status.type === Events.Reconnect) {
        this.connected = true;
        natsReconnects.inc();
        this.options.log(`nats: reconnected to ${String(status.data)}`);
        this.bump();
      }
    }
    // The iterator ends when the connection closes for good.
    this.connected = false;
    this.bump();
  }

  /** Without JetStream: each released batch right away, best effort, until `stop()`. */
  private async publishCore(nc: NatsConnection, stop: () => boolean): Promise<void> {
    const unsubscribe = this.engine.feed.subscribe((batch) => {
      // A feed listener runs inside the writer's release: it must never throw.
      if (!this.connected) {
        skippedDisconnected.inc(batch.length);
        return;
      }
      try {
        for (const message of batch) {
          const h = headers();
          h.set(MSG_ID_HEADER, String(message.seq));
          nc.publish(subjectFor(message), this.encode(message), { headers: h });
        }
        publishedCore.inc(batch.length);
      } catch (error) {
        skippedDisconnected.inc(batch.length);
        this.options.log(`nats: core publish failed: ${String(error)}`);
      }
    });
    try {
      while (!stop()) await this.control.wait();
    } finally {
      unsubscribe();
    }
  }
}

/** Starts the adapter in the background; it never blocks or fails the caller. */
export function startNatsAdapter(engine: OmnistockEngine, options: NatsAdapterOptions): NatsAdapter {
  return new NatsAdapter(engine, options);
}
