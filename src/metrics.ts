// The Prometheus registry and every metric omnistock exports, declared in one
// place so names stay consistent and each module only observes.

import { isMainThread } from "node:worker_threads";
import client from "prom-client";
import { CellCounter, CellHistogram, type CounterCell } from "./metric-cells.js";

export const registry = new client.Registry();
// Process metrics once, from the main thread: HTTP worker threads would
// report the same process again, and /metrics sums every thread's registry.
if (isMainThread) client.collectDefaultMetrics({ register: registry, prefix: "omnistock_" }); // omnistock_process_cpu_seconds_total, omnistock_nodejs_heap_size_used_bytes, …

// The request path's metrics: cells resolved once per label set (metric-cells.ts).
export const httpRequests = new CellCounter("omnistock_http_requests_total", "HTTP requests by route and status", ["route", "status"], registry);

export const httpLatency = new CellHistogram(
  "omnistock_http_request_duration_seconds",
  "HTTP request latency by route, from request to last byte written",
  ["route"],
  [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  registry,
);

export const reservationOutcomes = new CellCounter(
  "omnistock_reservation_outcomes_total",
  "Reservation commands by operation and outcome (ok or the SPEC error code)",
  ["op", "outcome"],
  registry,
);

// Cells by op, then outcome, so a hold does no string work either.
const outcomeCells = new Map<string, Map<string, CounterCell>>();

/** Counts one reservation command's outcome. */
export function countReservationOutcome(op: string, outcome: string): void {
  let byOutcome = outcomeCells.get(op);
  if (byOutcome === undefined) outcomeCells.set(op, (byOutcome = new Map()));
  let cell = byOutcome.get(outcome);
  if (cell === undefined) byOutcome.set(outcome, (cell = reservationOutcomes.cell(op, outcome)));
  cell.inc();
}

export const journalFsyncLatency = new client.Histogram({
  name: "omnistock_journal_fsync_duration_seconds",
  help: "Duration of one journal group commit, from handing its records to the disk to their being durable (one O_DSYNC write; up to two in flight)",
  buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
  registers: [registry],
});

export const journalGroupSize = new client.Histogram({
  name: "omnistock_journal_group_records",
  help: "Records made durable by one group commit (its size)",
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
