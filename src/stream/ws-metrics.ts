// Metrics of the WebSocket stream (/v1/stream), registered on the one
// Prometheus registry of src/metrics.ts. Kept here so the stream owns its
// names; src/metrics.ts stays the registry and the engine's metrics.

import client from "prom-client";
import { registry } from "../metrics.js";

export const streamClients = new client.Gauge({
  name: "omnistock_stream_clients",
  help: "Connected WebSocket stream clients",
  registers: [registry],
});

export const streamCoalesced = new client.Counter({
  name: "omnistock_stream_coalesced_total",
  help: "Stream messages parked for a slow client (newest state per key kept, older ones replaced)",
  registers: [registry],
});

export const streamSlowClosed = new client.Counter({
  name: "omnistock_stream_slow_closed_total",
  help: "Stream clients closed with code 4008 because their pending keys passed OMNISTOCK_WS_PENDING_MAX",
  registers: [registry],
});

export const streamResets = new client.Counter({
  name: "omnistock_stream_resets_total",
  help: "Subscriptions answered with reset + snapshot (since older than retention, or newer than the feed)",
  registers: [registry],
});

export const streamFanoutSeconds = new client.Histogram({
  name: "omnistock_stream_fanout_seconds",
  help: "Time to hand one released batch to every live client it matches: one serial loop of socket writes, so a client waits for its place in it (batches no client matches are not observed)",
  buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.5, 2.5],
  registers: [registry],
});

export const streamFanoutDeliveries = new client.Counter({
  name: "omnistock_stream_fanout_deliveries_total",
  help: "Clients handed a share of a released batch (each one socket write, corked, or parked while its socket is congested)",
  registers: [registry],
});

/**
 * A gauge summed over sources at scrape time: one source per running stream
 * (tests run several streams in one process), each a count it keeps anyway.
 */
function summedGauge(name: string, help: string, sources: Set<() => number>): client.Gauge {
  return new client.Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      let total = 0;
      for (const source of sources) total += source();
      this.set(total);
    },
  });
}

/** Sources of the pending-keys gauge. */
export const pendingKeysSources = new Set<() => number>();
export const streamPendingKeys = summedGauge(
  "omnistock_stream_pending_keys",
  "Keys parked for slow stream clients (newest state per position or channel figure), over all clients",
  pendingKeysSources,
);

/** Sources of the waiting-clients gauge. */
export const waitingClientsSources = new Set<() => number>();
export const streamWaitingClients = summedGauge(
  "omnistock_stream_waiting_clients",
  "Stream clients in a reset whose snapshot is being taken or stands at a seq not yet released",
  waitingClientsSources,
);

/** Sources of the socket-buffered-bytes gauge. */
export const bufferedBytesSources = new Set<() => number>();
export const streamBufferedBytes = summedGauge(
  "omnistock_stream_socket_buffered_bytes",
  "Bytes uWS holds for stream clients whose sockets take no more, over all clients: past 1 MiB a client's messages are coalesced instead, so each client's share stays within 1 MiB and a frame",
  bufferedBytesSources,
);
