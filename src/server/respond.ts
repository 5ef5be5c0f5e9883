// Writing replies: status line, Content-Type, the body as JSON or msgpack,
// and the request's metrics, for every response the server sends. A reply
// written after an await goes through `res.cork` (one syscall, and uWS
// requires it outside the handler's synchronous part) and is dropped when the
// client went away: uWS frees an aborted response, and touching it crashes
// the process.

import type { HttpResponse } from "uWebSockets.js";
import type { EngineReply } from "../engine/types.js";
import { Packr } from "msgpackr";
import type { CounterCell, HistogramCell } from "../metric-cells.js";
import { httpLatency, httpRequests } from "../metrics.js";
import { HttpError, InternalError } from "./errors.js";

export const CONTENT_TYPE_JSON = "application/json";
export const CONTENT_TYPE_MSGPACK = "application/msgpack";

// Plain msgpack maps, no msgpackr record extension: any msgpack client must
// be able to read the answer.
export const msgpack = new Packr({ useRecords: false, mapsAsObjects: true });

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  503: "Service Unavailable",
  507: "Insufficient Storage",
};
const STATUS_LINES = new Map<number, string>();
for (const [status, text] of Object.entries(STATUS_TEXT)) STATUS_LINES.set(Number(status), `${status} ${text}`);

function statusLine(status: number): string {
  return STATUS_LINES.get(status) ?? String(status);
}

/** The metric cells of one route template, resolved once so a request does no label lookups. */
export class RouteMetrics {
  private readonly counters = new Map<number, CounterCell>();
  private readonly latency: HistogramCell;

  constructor(readonly template: string) {
    this.latency = httpLatency.cell(template);
  }

  observe(status: number, startedAtMs: number): void {
    let counter = this.counters.get(status);
    if (counter === undefined) {
      counter = httpRequests.cell(this.template, String(status));
      this.counters.set(status, counter);
    }
    counter.inc();
    this.latency.observe((performance.now() - startedAtMs) / 1000);
  }
}

/** Route label of requests no route matched (one label, whatever the path, to bound cardinality). */
export const UNMATCHED = new RouteMetrics("unmatched");

/**
 * One request in flight: the uWS response, how to encode the answer, and
 * whether it may still be written. Handlers that answer synchronously and
 * handlers that await share it.
 */
export class Exchange {
  aborted = false; // the client went away: never touch res again
  finished = false; // a reply was written
  route: RouteMetrics = UNMATCHED;

  constructor(
    readonly res: HttpResponse,
    readonly method: string, // lowercase, as uWS gives it
    readonly contentType: string, // the request's Content-Type header ("" when absent)
    readonly msgpack: boolean, // answer in msgpack
    readonly startedAtMs: number,
  ) {}

  waiting = false; // the abort handler is registered

  /** Registers uWS's abort handler; required before a handler returns without answering. */
  keepAlive(): void {
    if (this.waiting) return;
    this.waiting = true;
    this.res.onAborted(() => {
      this.aborted = true;
    });
  }
}

/**
 * Writes a reply now (inside the handler, or inside a cork); `json`, when
 * given, writes the body's JSON text in place of JSON.stringify.
 */
export function send(
  ex: Exchange, status: number, body: unknown, header: readonly [string, string] | null = null,
  json: ((body: unknown) => string) | undefined = undefined,
): void {
  if (ex.aborted || ex.finished) return;
  // Encode before writing anything: an encoding failure must still leave the
  // response free for the 500 that fail() writes.
  const payload = ex.msgpack ? msgpack.pack(body) : json === undefined ? JSON.stringify(body) : json(body);
  ex.finished = true;
  const res = ex.res;
  res.writeStatus(statusLine(status));
  if (header !== null) res.writeHeader(header[0], header[1]);
  res.writeHeader("Content-Type", ex.msgpack ? CONTENT_TYPE_MSGPACK : CONTENT_TYPE_JSON);
  endWith(ex, payload);
  ex.route.observe(status, ex.startedAtMs);
}

/**
 * Ends the response with `payload`, or, answering a HEAD request, with no
 * body: a body after a HEAD answer would be read by the client as the start
 * of the next response on the connection.
 */
function endWith(ex: Exchange, payload: string | Uint8Array): void {
  if (ex.method !== "head") {
    ex.res.end(payload);
    return;
  }
  // An empty end (Content-Length: 0): this uWS build's endWithoutBody, which
  // would report the GET body's length, answers nothing at all.
  ex.res.end();
}

/** Writes a pre-encoded text reply now (metrics, OpenAPI). */
export function sendText(ex: Exchange, status: number, contentType: string, text: string): void {
  if (ex.aborted || ex.finished) return;
  ex.finished = true;
  ex.res.writeStatus(statusLine(status)).writeHeader("Content-Type", contentType);
  endWith(ex, text);
  ex.route.observe(status, ex.startedAtMs);
}

/** Writes an engine's reply after an await: corked, and dropped when the client went away. */
export function sendLater(ex: Exchange, reply: EngineReply): void {
  if (ex.aborted || ex.finished) return;
  ex.res.cork(() => send(ex, reply.status, reply.body, null, reply.json));
}

/** The error body of SPEC section 4. */
export function errorBody(code: string, message: string): { error: string; message: string } {
  return { error: code, message };
}

/** Answers `error`: its own status and code for a boundary error, 500 `internal` (logged) for anything else. */
export function fail(ex: Exchange, error: unknown): void {
  let httpError: HttpError;
  if (error instanceof HttpError) {
    httpError = error;
  } else {
    console.error("omnistock http: unexpected error", error);
    httpError = new InternalError();
  }
  send(ex, httpError.status, errorBody(httpError.code, httpError.message), httpError.header);
}

/** `fail` after an await: corked, and dropped when the client went away. */
export function failLater(ex: Exchange, error: unknown): void {
  if (ex.aborted || ex.finished) {
    if (!(error instanceof HttpError)) console.error("omnistock http: unexpected error after the reply", error);
    return;
  }
  try {
    ex.res.cork(() => fail(ex, error));
  } catch (writeError) {
    // Last resort: this runs in a promise's catch (an unhandled rejection
    // ends the process) or in a uWS callback (a throw there goes into uWS).
    console.error("omnistock http: cannot write an error reply", writeError);
  }
}
