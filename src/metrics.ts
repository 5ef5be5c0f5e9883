// The Prometheus registry and every metric omnistock exports, declared in one
// place so names stay consistent and each module only observes.

import { isMainThread } from "node:worker_threads";
import client from "prom-client";

export const registry = new client.Registry();
// Process metrics once, from the main thread: HTTP worker threads would
// report the same process again, and /metrics sums every thread's registry.
if (isMainThread) client.collectDefaultMetrics({ register: registry, prefix: "omnistock_" }); // omnistock_process_cpu_seconds_total, omnistock_nodejs_heap_size_used_bytes, …

export const httpRequests = new client.Counter({
  name: "omnistock_http_requests_total",
  help: "HTTP requests by route and status",
  labelNames: ["route", "status"] as const,
  registers: [registry],
});

export const httpLatency = new client.Histogram({
  name: "omnistock_http_request_duration_seconds",
  help: "HTTP request latency by route, from request to last byte written",
  labelNames: ["route"] as const,
  buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  registers: [registry],
});

export const reservationOutcomes = new client.Counter({
  name: "omnistock_reservation_outcomes_total",
  help: "Reservation commands by operation and outcome (ok or the SPEC error code)",
  labelNames: ["op", "outcome"] as const,
  registers: [registry],
});

// Counter children by op, then outcome: resolved once, so a hold does no label hashing.
const outcomeChildren = new Map<string, Map<string, { inc(): void }>>();

/** Counts one reservation command's outcome. */
export function countReservationOutcome(op: string, outcome: string): void {
  let byOutcome = outcomeChildren.get(op);
  if (byOutcome === undefined) outcomeChildren.set(op, (byOutcome = new Map()));
  let child = byOutcome.get(outcome);
  if (child === undefined) byOutcome.set(outcome, (child = reservationOutcomes.labels(op, outcome)));
  child.inc();
}

export const journalFsyncLatency = new client.Histogram({
  name: "omnistock_journal_fsync_duration_seconds",
  help: "Duration of one journal group commit (write + fdatasync)",
  buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
  registers: [registry],
});

export const journalGroupSize = new client.Histogram({
  name: "omnistock_journal_group_records",
  help: "Records made durable by one fsync (group commit size)",
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
  registers: [registry],
});

export const ledgerPositions = new client.Gauge({
  name: "omnistock_ledger_positions",
  help: "Known (SKU, location) positions",
  registers: [registry],
});

export const ledgerReservations = new client.Gauge({
  name: "omnistock_ledger_reservations",
  help: "Reservations kept (held, committed, and finished ones not yet purged), against OMNISTOCK_RESERVATIONS_MAX",
  registers: [registry],
});

export const ledgerReservationsHeld = new client.Gauge({
  name: "omnistock_ledger_reservations_held",
  help: "Reservations currently in the held state",
  registers: [registry],
});

export const reservationsExpired = new client.Counter({
  name: "omnistock_reservations_expired_total",
  help: "Held reservations expired by the TTL sweeper",
  registers: [registry],
});

export const reservationsPurged = new client.Counter({
  name: "omnistock_reservations_purged_total",
  help: "Finished reservations purged after the retention (OMNISTOCK_RESERVATION_RETENTION_SECONDS)",
  registers: [registry],
});
