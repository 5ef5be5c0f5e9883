// Counters and histograms for the request path, with one plain cell per label
// set. A prom-client child (`metric.labels(...)`) rebuilds and hashes its
// label set on every inc() or observe(): with the request counter and the
// latency histogram that was about 2 µs of a 9 µs availability read here
// (`--cpu-prof`: histogram, counter, label hashing). A cell is resolved once
// and then costs an addition (a counter) or a short bucket search (a
// histogram). The registry reads the cells at scrape time in prom-client's
// own shape, so /metrics, and the sum over worker threads, are unchanged.

import type { Metric, Registry } from "prom-client";

type Labels = Record<string, string>;
interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}
interface MetricData {
  name: string;
  help: string;
  type: "counter" | "histogram";
  aggregator: "sum";
  values: Value[];
}

function labelsOf(names: readonly string[], values: readonly string[]): Labels {
  if (values.length !== names.length) throw new RangeError(`labels ${names.join(",")}: got ${values.length} values`);
  const labels: Labels = {};
  names.forEach((name, i) => (labels[name] = values[i]));
  return labels;
}

abstract class CellMetric<C> {
  readonly aggregator = "sum";
  protected readonly cells = new Map<string, { labels: Labels; cell: C }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The cell of these label values (in labelNames order): resolve it once and keep it. */
  cell(...values: string[]): C {
    const key = values.join("\u0000");
    let entry = this.cells.get(key);
    if (entry === undefined) this.cells.set(key, (entry = { labels: labelsOf(this.labelNames, values), cell: this.newCell() }));
    return entry.cell;
  }

  protected abstract newCell(): C;
  abstract get(): MetricData;
  abstract reset(): void;
}

export class CounterCell {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class CellCounter extends CellMetric<CounterCell> {
  readonly type = "counter";

  protected newCell(): CounterCell {
    return new CounterCell();
  }

  get(): MetricData {
    const values: Value[] = [];
    for (const { labels, cell } of this.cells.values()) values.push({ labels, value: cell.value });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const { cell } of this.cells.values()) cell.value = 0;
  }
}

export class HistogramCell {
  readonly counts: Float64Array; // per bucket, not cumulative; the last one is +Inf
  sum = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
  }
}

export class CellHistogram extends CellMetric<HistogramCell> {
  readonly type = "histogram";

  constructor(name: string, help: string, labelNames: readonly string[], private readonly bounds: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
  }

  protected newCell(): HistogramCell {
    return new HistogramCell(this.bounds);
  }

  get(): MetricData {
    const values: Value[] = [];
    for (const { labels, cell } of this.cells.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += cell.counts[i];
        const le = i < this.bounds.length ? String(this.bounds[i]) : "+Inf";
        values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: cumulative, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const { cell } of this.cells.values()) {
      cell.counts.fill(0);
      cell.sum = 0;
    }
  }
}
