// The NATS adapter's Prometheus metrics, on the shared registry. The cursor
// lag is read when scraped, from every running outbox (one per engine; tests
// run several in one process), so the publish path only bumps counters.

import client from "prom-client";
import { registry } from "../../metrics.js";

/** Something whose lag behind the feed the gauge reports. */
export interface LagSource {
  lag(): number;
}

export const natsLagSources = new Set<LagSource>();

export const natsPublished = new client.Counter({
  name: "omnistock_nats_published_total",
  help: "Stream messages handed to NATS, by mode (jetstream: awaiting an ack; core: best effort)",
  labelNames: ["mode"] as const,
  registers: [registry],
});

export const natsAcked = new client.Counter({
  name: "omnistock_nats_acked_total",
  help: "Stream messages JetStream acknowledged, by whether it had them already (duplicate)",
  labelNames: ["duplicate"] as const,
  registers: [registry],
});

export const natsSkipped = new client.Counter({
  name: "omnistock_nats_skipped_total",
  help: "Stream messages never published: retention (the outbox fell behind the feed's retention) or disconnected (core NATS, best effort)",
  labelNames: ["reason"] as const,
  registers: [registry],
});

export const natsReconnects = new client.Counter({
  name: "omnistock_nats_reconnects_total",
  help: "Reconnections to the NATS server",
  registers: [registry],
});

export const natsPublishFailures = new client.Counter({
  name: "omnistock_nats_publish_failures_total",
  help: "Outbox rounds that ended in an error (timeout, disconnect, wrong last sequence); each is retried with backoff",
  registers: [registry],
});

export const natsAtpRequests = new client.Counter({
  name: "omnistock_nats_atp_requests_total",
  help: "ATP requests answered on NATS, by outcome (ok or the SPEC error code)",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const natsCursorLag = new client.Gauge({
  name: "omnistock_nats_cursor_lag",
  help: "Stream messages released by the feed but not yet acknowledged by JetStream",
  registers: [registry],
  collect() {
    let lag = 0;
    for (const source of natsLagSources) lag += source.lag();
    this.set(lag);
  },
});
