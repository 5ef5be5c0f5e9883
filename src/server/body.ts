// Request bodies: which format a request speaks, reading the body from uWS
// with a byte limit, and decoding it. The limit is enforced twice: up front
// from Content-Length, and while streaming (chunked bodies have no declared
// length), answering 413 as soon as the running total passes it instead of
// buffering the rest. Chunks are copied as they arrive (uWS neuters each
// ArrayBuffer when the callback returns), so memory grows with the bytes
// actually received, never with what a client merely declares.

import { Unpackr } from "msgpackr";
import { nonIntegerLiteral } from "../json-integers.js";
import { InvalidRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from "./errors.js";
import { msgpackUtf8Problem } from "./msgpack-utf8.js";
import type { Exchange } from "./respond.js";

export const BODY_MAX_BYTES_DEFAULT = 16 * 1024 * 1024;

export type BodyFormat = "json" | "msgpack";

// copyBuffers: a decoded bin value must not be a view into uWS's chunk, which is freed after the callback.
// int64AsType: an integer encoded in 64 bits (0xcf, 0xd3; msgpackr does so for a
// BigInt) is a number like any other; the range checks then judge its value.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, copyBuffers: true, int64AsType: "number" });
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The media type of a Content-Type or Accept element: lowercased, parameters dropped. */
function mediaType(value: string): string {
  const semicolon = value.indexOf(";");
  return (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
}

function isMsgpackType(type: string): boolean {
  return type === "application/msgpack" || type === "application/x-msgpack" || type === "application/vnd.msgpack";
}

/**
 * The format of a request body from its Content-Type header ("" when absent:
 * JSON, the API's default); a 415 for anything but JSON or msgpack.
 */
export function bodyFormat(contentType: string): BodyFormat {
  if (contentType.length === 0 || contentType === "application/json") return "json"; // the common case, without parsing
  if (contentType === "application/msgpack") return "msgpack";
  const type = mediaType(contentType);
  if (type === "application/json" || type.endsWith("+json")) return "json";
  if (isMsgpackType(type)) return "msgpack";
  throw new UnsupportedMediaTypeError(type);
}

/** True when the answer should be msgpack: the request body is msgpack, or Accept names msgpack. */
export function wantsMsgpack(contentType: string, accept: string): boolean {
  if (contentType === "application/json" && accept.length === 0) return false; // the common case, without parsing
  if (contentType.length > 0 && isMsgpackType(mediaType(contentType))) return true;
  return accept.length > 0 && accept.includes("msgpack") && accept.split(",").some((part) => isMsgpackType(mediaType(part)));
}

/** Throws 413 when a declared Content-Length ("" when absent) exceeds `limitBytes`. */
export function checkDeclaredLength(contentLength: string, limitBytes: number): void {
  if (contentLength.length === 0) return;
  const declared = Number(contentLength);
  if (Number.isFinite(declared) && declared > limitBytes) throw new PayloadTooLargeError(limitBytes);
}

/**
 * Reads and decodes the whole body, then calls `onValue` with it, or
 * `onError` with a 413 once the body passes `limitBytes` or a 400 when it
 * does not decode. Must be called in the handler's synchronous part (uWS
 * delivers data right after it returns). Never calls back when the client
 * goes away (the caller's Exchange already knows). Callbacks, not a promise:
 * this runs for every write request, and a body that arrives in one chunk
 * (nearly all of them) is decoded straight from uWS's buffer, with no copy
 * and no extra turn of the microtask queue.
 */
export function readBody(
  ex: Exchange,
  limitBytes: number,
  format: BodyFormat,
  onValue: (value: unknown) => void,
  onError: (error: unknown) => void,
): void {
  let chunks: Uint8Array[] | null = null;
  let total = 0;
  let failed = false;
  ex.res.onData((chunk: ArrayBuffer, isLast: boolean) => {
    if (failed) return; // uWS drains the rest; we keep none of it
    total += chunk.byteLength;
    if (total > limitBytes) {
      failed = true;
      chunks = null;
      onError(new PayloadTooLargeError(limitBytes));
      return;
    }
    let body: Uint8Array;
    if (isLast && chunks === null) {
      body = new Uint8Array(chunk); // valid only during this call: decodeBody copies what it keeps
    } else {
      chunks ??= [];
      if (chunk.byteLength > 0) chunks.push(new Uint8Array(chunk.slice(0))); // copy: uWS neuters the chunk
      if (!isLast) return;
      body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
    }
    let value: unknown;
    try {
      value = decodeBody(body, format);
    } catch (error) {
      onError(error);
      return;
    }
    onValue(value);
  });
}

/** Decodes a body as `format`; malformed input is a 400 naming the problem. */
export function decodeBody(bytes: Uint8Array, format: BodyFormat): unknown {
  if (bytes.byteLength === 0) throw new InvalidRequestError(`body: required (a ${format === "json" ? "JSON" : "msgpack"} object)`);
  if (format === "msgpack") {
    let value: unknown;
    try {
      value = unpackr.unpack(bytes);
    } catch (error) {
      throw new InvalidRequestError(`body: malformed msgpack (${(error as Error).message})`);
    }
    const problem = msgpackUtf8Problem(bytes); // msgpackr decodes bad UTF-8 as U+FFFD
    if (problem !== null) throw new InvalidRequestError(`body: ${problem}`);
    return value;
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new InvalidRequestError("body: not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidRequestError(`body: malformed JSON (${(error as Error).message})`);
  }
  const rounded = nonIntegerLiteral(text);
  if (rounded !== null) throw new InvalidRequestError(`body: ${rounded} is not an integer (JSON would round it to one; every number in a request must be one)`);
  return value;
}
