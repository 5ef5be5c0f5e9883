// The request path's metric cells (src/metric-cells.ts) must read out exactly
// as prom-client's own counters and histograms do: same series, cumulative
// buckets, +Inf, _sum and _count, and the same sum across worker threads.

import { describe, expect, test } from "vitest";
import client from "prom-client";
import { CellCounter, CellHistogram } from "../src/metric-cells.js";

describe("metric cells", () => {
  test("a cell counter and histogram print what prom-client's own print for the same observations", async () => {
    const ours = new client.Registry();
    const theirs = new client.Registry();
    const counter = new CellCounter("t_requests_total", "requests", ["route", "status"], ours);
    const histogram = new CellHistogram("t_latency_seconds", "latency", ["route"], [0.001, 0.01, 0.1], ours);
    const refCounter = new client.Counter({ name: "t_requests_total", help: "requests", labelNames: ["route", "status"], registers: [theirs] });
    const refHistogram = new client.Histogram({ name: "t_latency_seconds", help: "latency", labelNames: ["route"], buckets: [0.001, 0.01, 0.1], registers: [theirs] });
    const samples: [string, string, number][] = [["/a", "200", 0.0005], ["/a", "200", 0.001], ["/a", "404", 0.05], ["/b", "200", 3], ["/b", "200", 0.01]];
    for (const [route, status, seconds] of samples) {
      counter.cell(route, status).inc();
      histogram.cell(route).observe(seconds);
      refCounter.labels(route, status).inc();
      refHistogram.labels(route).observe(seconds);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    const merged = client.AggregatorRegistry.aggregate([await ours.getMetricsAsJSON(), await ours.getMetricsAsJSON()]);
    const text = await merged.metrics();
    expect(text).toContain('t_requests_total{route="/a",status="200"} 4');
    expect(text).toContain('t_latency_seconds_bucket{le="0.01",route="/a"} 4');
    expect(text).toContain('t_latency_seconds_count{route="/b"} 4');
  });

  test("a cell is resolved once per label set and refuses a wrong number of label values", () => {
    const counter = new CellCounter("t_once_total", "once", ["op", "outcome"], new client.Registry());
    expect(counter.cell("hold", "ok")).toBe(counter.cell("hold", "ok"));
    expect(() => counter.cell("hold")).toThrow(RangeError);
  });
});
