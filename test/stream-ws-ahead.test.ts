// A subscriber whose `since` is released but not yet followed by the thread
// serving it. An HTTP worker's stream reads the writer's releases through its
// MirrorFeed, which follows the shared tail when the writer wakes it; a
// client that saw seq N elsewhere (on the writer's thread, on another worker)
// and reconnects here may ask for since = N while this mirror is still behind
// N. N is within retention, so SPEC section 5 gives it a replay, not a reset.
//
// The stream's subscribe makes the thread's feed catch up with the writer
// first (MirrorFeed.catchUp), so such a since is an ordinary replay.
//
// The pieces are the real ones a worker runs: a SharedTail written as the
// writer writes it (push, then wake), a MirrorFeed over it, the stream mounted
// on a uWS app on loopback, and WebSocket clients. The mirror's lag is made
// by pushing without waking it. The same harness holds a reset's snapshot
// back (a worker's request to the writer) to check what a failed one closes.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import uWS from "uWebSockets.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DeltaMessage } from "../src/stream/messages.js";
import { SharedTail } from "../src/stream/shared-tail.js";
import { streamWaitingClients } from "../src/stream/ws-metrics.js";
import { Snapshot } from "../src/stream/ws-snapshot.js";
import { createStream, type RunningStream } from "../src/stream/ws-stream.js";
import { MirrorFeed } from "../src/threads/mirror-feed.js";
import { StreamClient, eventually, expectConsecutive } from "./support/stream-client.js";

function delta(seq: number): DeltaMessage {
  return {
    type: "delta", seq, sku: `sku-${seq % 3}`, location: "store-1", available: seq, onHand: seq,
    reserved: 0, committed: 0, safetyStock: 0, shortfall: 0, version: seq, ts: "2026-12-07T12:00:00.000Z",
  };
}

const waitingClients = async (): Promise<number> => (await streamWaitingClients.get()).values[0]?.value ?? 0;

describe("a since released by the writer but not yet followed by this thread", () => {
  const dir = mkdtempSync(join(tmpdir(), "omnistock-ahead-"));
  const writerTail = new SharedTail(1024); // the writer's side of the tail
  const mirror = new MirrorFeed(writerTail.buffer, dir);
  const snapshotsTaken: number[] = [];
  /** When set, the next snapshot is this promise (a worker's request to the writer, still under way). */
  let pendingSnapshot: Promise<Snapshot> | null = null;
  let stream: RunningStream;
  let listenSocket: uWS.us_listen_socket | false = false;
  let base = "";
  let pushed = 0;

  /** Appends messages as the writer's feed does; the mirror follows only when woken. */
  const release = (count: number, wake: boolean): void => {
    for (let i = 0; i < count; i++) writerTail.push(delta(++pushed));
    if (wake) writerTail.wake();
  };

  beforeAll(async () => {
    release(10, true);
    mirror.start(10);
    stream = createStream(
      {
        isReady: () => true,
        feed: mirror,
        snapshot: () => {
          // A worker asks the writer; here the "ledger" holds the newest message's position.
          snapshotsTaken.push(pushed);
          const pending = pendingSnapshot;
          pendingSnapshot = null;
          return pending ?? new Snapshot(pushed);
        },
      },
      { tokens: null, pendingKeysMax: 10_000 },
    );
    const app = uWS.App();
    stream.mount(app);
    const port = await new Promise<number>((resolve, reject) => {
      app.listen("127.0.0.1", 0, (socket) => {
        if (!socket) return reject(new Error("listen failed"));
        listenSocket = socket;
        resolve(uWS.us_socket_local_port(socket));
      });
    });
    base = `http://127.0.0.1:${port}`;
  });

  beforeEach(() => {
    snapshotsTaken.length = 0;
  });

  afterAll(() => {
    stream.close();
    mirror.stop();
    if (listenSocket) uWS.us_listen_socket_close(listenSocket);
    rmSync(dir, { recursive: true, force: true });
  });

  it("replays from it after this thread catches up: no reset, no gap, no duplicate", async () => {
    const live = await StreamClient.open(base);
    live.subscribe();
    expect((await live.subscribed()).seq).toBe(10);

    // The writer releases 11..20 and this thread has not followed yet.
    release(10, false);
    expect(mirror.lastSeq).toBe(10);

    const ahead = await StreamClient.open(base);
    ahead.subscribe({ since: 15 });
    // Caught up on subscribe: the newest seq is the writer's, not this thread's stale 10.
    expect((await ahead.subscribed()).seq).toBe(20);
    expect(mirror.lastSeq).toBe(20);

    release(5, true); // and later 21..25
    await live.untilSeq(25);
    await ahead.untilSeq(25);

    expectConsecutive(live.data(), 11, 25);
    expectConsecutive(ahead.data(), 16, 25);
    expect(ahead.messages.some((m) => m.type === "reset" || m.type === "snapshot_end")).toBe(false);
    expect(ahead.data().map((m) => m.available)).toEqual(Array.from({ length: 10 }, (_, i) => 16 + i));
    expect(snapshotsTaken).toEqual([]);
    expect(await waitingClients()).toBe(0);
    live.close();
    ahead.close();
    await eventually(() => stream.clients === 0, "the clients' close");
  });

  it("takes since = the newest released seq as a replay of nothing; a live client's catch-up goes out under its old filter", async () => {
    const relive = await StreamClient.open(base);
    relive.subscribe();
    const start = (await relive.subscribed()).seq;
    expect(start).toBe(pushed);
    release(5, false);
    const top = pushed;
    expect(mirror.lastSeq).toBe(start);

    // The catch-up this resubscribe makes reaches the client unfiltered, before
    // its new subscribed; after it, only sku-1's messages.
    relive.subscribe({ skus: ["sku-1"] });
    expect((await relive.subscribed(2)).seq).toBe(top);
    const edge = await StreamClient.open(base);
    edge.subscribe({ since: top });
    expect((await edge.subscribed()).seq).toBe(top);

    release(6, true);
    const last = pushed;
    await edge.untilSeq(last);
    await relive.until((ms) => ms.some((m) => m.type === "delta" && m.seq > last - 3), "sku-1's last deltas");
    const second = relive.messages.findIndex((m, i) => m.type === "subscribed" && i > 0);
    const before = relive.messages.slice(0, second).filter((m) => m.type === "delta");
    const after = relive.messages.slice(second + 1).filter((m) => m.type === "delta");
    expectConsecutive(before, start + 1, top);
    expect(after.map((m) => m.seq)).toEqual(Array.from({ length: 6 }, (_, i) => top + 1 + i).filter((seq) => seq % 3 === 1));
    expectConsecutive(edge.data(), top + 1, last);
    expect(edge.messages.some((m) => m.type === "reset")).toBe(false);
    expect(snapshotsTaken).toEqual([]);
    relive.close();
    edge.close();
    await eventually(() => stream.clients === 0, "the clients' close");
  });

  it("still resets a since beyond anything the writer released", async () => {
    const other = await StreamClient.open(base);
    other.subscribe({ since: pushed + 1_000 });
    await other.until((ms) => ms.some((m) => m.type === "snapshot_end"), "snapshot_end");
    expect(other.messages.map((m) => m.type)).toEqual(["subscribed", "reset", "snapshot_end"]);
    expect(other.messages[1].seq).toBe(pushed);
    expect(other.messages[0].seq).toBe(pushed); // a since beyond the writer's newest is no ahead client
    expect(snapshotsTaken).toEqual([pushed]);
    release(2, true);
    await other.untilSeq(pushed);
    expectConsecutive(other.data(), pushed - 1, pushed);
    other.close();
  });

  it("keeps a client that resubscribed before its earlier subscription's snapshot failed", async () => {
    let fail!: (e: Error) => void;
    pendingSnapshot = new Promise<Snapshot>((_, reject) => (fail = reject));
    const client = await StreamClient.open(base);
    client.subscribe({ since: pushed + 1_000 }); // a reset: its snapshot is requested and does not come yet
    await client.subscribed();
    expect(snapshotsTaken).toEqual([pushed]);
    client.subscribe(); // live instead
    const live = (await client.subscribed(2)).seq;
    fail(new Error("the writer could not take the snapshot"));
    await new Promise((r) => setImmediate(r)); // the rejection's handler has run
    release(3, true);
    await client.untilSeq(pushed);
    expect(client.closeCode).toBe(null);
    expectConsecutive(client.data(), live + 1, pushed);
    client.close();
    await eventually(() => stream.clients === 0, "the client's close");
  });

  it("closes a client whose own snapshot failed", async () => {
    let fail!: (e: Error) => void;
    pendingSnapshot = new Promise<Snapshot>((_, reject) => (fail = reject));
    const client = await StreamClient.open(base);
    client.subscribe({ since: pushed + 1_000 });
    await client.subscribed();
    fail(new Error("the writer could not take the snapshot"));
    await client.until(() => client.closeCode !== null, "the close");
    expect(client.closeCode).toBe(1011);
    expect(client.closeReason).toBe("snapshot failed");
  });
});
