// The adapter's Prometheus metrics, in a registry of their own (the engine's
// src/metrics.ts registry belongs to the engine process). An embedding
// process can merge it with prom-client's Registry.merge.

import client from "prom-client";

export const adapterRegistry = new client.Registry();

export const itemsPushed = new client.Counter({
  name: "omnistock_adapter_items_pushed_total",
  help: "Listing updates delivered to the marketplace, by sink",
  labelNames: ["sink"] as const,
  registers: [adapterRegistry],
});

export const itemsSkipped = new client.Counter({
  name: "omnistock_adapter_items_skipped_total",
  help: "Listing updates not delivered, by sink and reason (policy: not a meaningful change; rejected: the marketplace refused the batch with a 4xx)",
  labelNames: ["sink", "reason"] as const,
  registers: [adapterRegistry],
});

export const pushAttempts = new client.Counter({
  name: "omnistock_adapter_push_attempts_total",
  help: "Push attempts by sink and result (ok, retry, reject)",
  labelNames: ["sink", "result"] as const,
  registers: [adapterRegistry],
});

export const batchesExhausted = new client.Counter({
  name: "omnistock_adapter_batches_exhausted_total",
  help: "Batches whose retries ran out; their items went back to the coalescer",
  labelNames: ["sink"] as const,
  registers: [adapterRegistry],
});

export const checkpointSeq = new client.Gauge({
  name: "omnistock_adapter_checkpoint_seq",
  help: "The durable checkpoint: every message at or before this seq is pushed",
  labelNames: ["sink"] as const,
  registers: [adapterRegistry],
});

export const pendingSkus = new client.Gauge({
  name: "omnistock_adapter_pending_skus",
  help: "SKUs waiting in the coalescer",
  labelNames: ["sink"] as const,
  registers: [adapterRegistry],
});
