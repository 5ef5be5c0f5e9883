// The feed-file sink: keeps a local-inventory feed (Google's local product
// inventory columns: store_code, id, quantity, availability) current. Each
// batch updates an in-memory table (one row per SKU); the whole file is then
// rewritten atomically (atomic-file.ts) at most once per `writeIntervalMs`,
// and an attempt resolves only once a write covering its items is durable,
// so the checkpoint never runs ahead of the file.
//
// Store code: channel ATP is one figure per SKU summed over the channel's
// locations, so every row carries the one configured store code. For
// per-store rows, run one channel per store (`locations: [store]`) and one
// feed adapter per channel, each with its own store code and file.
//
// On start the existing file is loaded back into the table (rows of other
// store codes are kept as they are): the file is the table's durable copy,
// and the checkpoint says how far it is current.

import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "./atomic-file.js";
import { FeedFileCorruptError } from "./errors.js";
import type { AttemptResult, PushItem, Sink } from "./pusher.js";

export type FeedFormat = "tsv" | "csv";

export interface FeedSinkOptions {
  file: string;
  storeCode: string;
  format: FeedFormat;
  writeIntervalMs: number; // at most one rewrite per interval
}

export const FEED_COLUMNS = ["store_code", "id", "quantity", "availability"] as const;

interface Row {
  storeCode: string;
  sku: string;
  quantity: number;
}

/** in_stock when anything is available, else out_of_stock. */
export function availabilityOf(quantity: number): "in_stock" | "out_of_stock" {
  return quantity > 0 ? "in_stock" : "out_of_stock";
}

/** The feed format a file name implies (.csv → csv, otherwise tsv). */
export function feedFormatFor(file: string): FeedFormat {
  return file.toLowerCase().endsWith(".csv") ? "csv" : "tsv";
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Renders the table as the feed file's text. TSV needs no quoting: ids hold no control characters (SPEC 2). */
export function renderFeed(rows: Iterable<Row>, format: FeedFormat): string {
  const sep = format === "tsv" ? "\t" : ",";
  const field = format === "tsv" ? (v: string) => v : csvField;
  const lines = [FEED_COLUMNS.join(sep)];
  for (const r of rows) lines.push([field(r.storeCode), field(r.sku), String(r.quantity), availabilityOf(r.quantity)].join(sep));
  return `${lines.join("\n")}\n`;
}

function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let value = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q === -1) throw new Error("unterminated quote");
        value += line.slice(i, q);
        i = q + 1;
        if (line[i] === '"') {
          value += '"';
          i++;
        } else break;
      }
    } else {
      const c = line.indexOf(",", i);
      value = c === -1 ? line.slice(i) : line.slice(i, c);
      i = c === -1 ? line.length : c;
    }
    out.push(value);
    if (i >= line.length) return out;
    if (line[i] !== ",") throw new Error("text after a closing quote");
    i++;
  }
}

/** Parses a feed file this sink wrote; throws FeedFileCorruptError on anything else. */
export function parseFeed(text: string, format: FeedFormat, file = "feed"): Row[] {
  const lines = text.split("\n").filter((l) => l.length > 0);
  const split = format === "tsv" ? (l: string) => l.split("\t") : parseCsvLine;
  if (lines.length === 0) return [];
  if (split(lines[0]).join("|") !== FEED_COLUMNS.join("|")) throw new FeedFileCorruptError(`${file}: header is not ${FEED_COLUMNS.join(", ")}`);
  return lines.slice(1).map((line, i) => {
    let f: string[];
    try {
      f = split(line);
    } catch (error) {
      throw new FeedFileCorruptError(`${file} line ${i + 2}: ${(error as Error).message}`);
    }
    if (f.length !== 4 || !/^\d+$/.test(f[2])) throw new FeedFileCorruptError(`${file} line ${i + 2}: expected 4 fields with an integer quantity`);
    return { storeCode: f[0], sku: f[1], quantity: Number(f[2]) };
  });
}

export class FeedSink implements Sink {
  readonly kind = "feed";
  private readonly table = new Map<string, Row>(); // key: store code + "\t" + SKU
  private lastWriteMs = -Infinity;
  private scheduled: Promise<void> | null = null;
  private dirty = false;

  constructor(private readonly options: FeedSinkOptions) {}

  /** Rows currently in the table (for tests and inspection). */
  get rows(): number {
    return this.table.size;
  }

  async open(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.options.file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    for (const row of parseFeed(text, this.options.format, this.options.file)) this.table.set(`${row.storeCode}\t${row.sku}`, row);
  }

  async attempt(items: readonly PushItem[], signal: AbortSignal): Promise<AttemptResult> {
    for (const item of items) {
      this.table.set(`${this.options.storeCode}\t${item.sku}`, { storeCode: this.options.storeCode, sku: item.sku, quantity: item.available });
    }
    this.dirty = true;
    try {
      await this.flush(signal);
      return { kind: "ok" };
    } catch (error) {
      if (signal.aborted) throw error;
      return { kind: "retry", reason: `write ${this.options.file}: ${(error as Error).message}` };
    }
  }

  async close(): Promise<void> {
    if (this.scheduled) await this.scheduled.catch(() => undefined);
  }

  /** Resolves once a rewrite that started after the latest change is durable. */
  private async flush(signal: AbortSignal): Promise<void> {
    while (this.dirty) {
      if (!this.scheduled) {
        const waitMs = Math.max(0, this.lastWriteMs + this.options.writeIntervalMs - performance.now());
        this.scheduled = new Promise<void>((resolve) => setTimeout(resolve, waitMs))
          .then(() => {
            this.dirty = false;
            this.lastWriteMs = performance.now();
            return writeFileAtomic(this.options.file, renderFeed(this.table.values(), this.options.format));
          })
          .catch((error: Error) => {
            this.dirty = true;
            throw error;
          })
          .finally(() => (this.scheduled = null));
      }
      await this.scheduled;
      if (signal.aborted) throw new Error("aborted");
    }
  }
}
