// What the writer thread and its HTTP worker threads say to each other.
//
// Hot path (SharedArrayBuffer rings, msgpack): a worker's command is
// [requestId, RemoteOp, ...arguments]; the writer's answer is
// [requestId, httpStatus, body]. Stream messages are read from the shared
// tail. Rare things (start-up, snapshots for stream resets, metrics,
// shutdown) travel as postMessage control messages.

import type { SnapshotTransfer } from "../stream/ws-snapshot.js";
import type { Filter } from "../stream/ws-subscription.js";

export const enum RemoteOp {
  SetStock = 1,
  AdjustStock = 2,
  Hold = 3,
  Move = 4,
  PutLocation = 5,
  PutChannel = 6,
  GetReservation = 7,
  ListLocations = 8,
  ListChannels = 9,
}

/** Shared flags (Int32Array over `WorkerInit.state`). */
export const STATE_READY = 0; // 1 once the writer has recovered, 0 again when it stops

export interface WorkerInit {
  readerSlot: number; // the ledger scratch area this thread reads with
  commands: SharedArrayBuffer; // ring: worker → writer
  answers: SharedArrayBuffer; // ring: writer → worker
  state: SharedArrayBuffer;
  host: string;
  port: number; // worker 0: as configured (0 = ephemeral); the others: the port worker 0 got
  bodyMaxBytes: number;
  tokensFile: string | null;
  wsPendingKeysMax: number;
  deltasDir: string; // the delta journal, read (never written) for replays older than memory
  tail: SharedArrayBuffer; // the writer's newest released messages (stream/shared-tail.ts)
}

/** Writer → worker. */
export type ToWorker =
  | { t: "ready"; memory: WebAssembly.Memory; lastSeq: number }
  | { t: "snapshot"; id: number; snapshot: SnapshotTransfer }
  | { t: "metrics"; id: number; text: string }
  | { t: "metrics-collect"; id: number }
  | { t: "heap"; id: number }
  | { t: "close" };

/** Worker → writer. */
export type FromWorker =
  | { t: "listening"; port: number }
  | { t: "snapshot"; id: number; filter: Filter }
  | { t: "metrics"; id: number }
  | { t: "metrics-json"; id: number; json: unknown }
  | { t: "heap"; id: number; bytes: number }
  | { t: "failed"; error: string; starting: boolean }
  | { t: "closed" };
