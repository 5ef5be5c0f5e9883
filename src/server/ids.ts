// Id and text rules of SPEC section 2, checked at the HTTP boundary so the
// ledger only ever sees valid ids. Limits are in UTF-8 bytes, which neither
// JSON Schema's maxLength (code points) nor String#length (UTF-16 units)
// measure, so one charCode loop computes the byte length while rejecting
// control characters and lone surrogates (which have no UTF-8 encoding). The
// checks return a static message (no allocation) or null: they run on every
// read, and on every item of a 10,000-item stock write.

import {
  CHANNEL_ID_LENGTH_MAX, LOCATION_BYTES_MAX, RESERVATION_ID_BYTES_MAX, SKU_BYTES_MAX, TEXT_BYTES_MAX,
} from "../ledger/limits.js";

export { CHANNEL_ID_LENGTH_MAX, LOCATION_BYTES_MAX, RESERVATION_ID_BYTES_MAX, SKU_BYTES_MAX, TEXT_BYTES_MAX };

const MESSAGE_EMPTY = "must not be empty";
const MESSAGE_CONTROL = "must not contain control characters (U+0000-U+001F, U+007F)";
const MESSAGE_SURROGATE = "must be valid Unicode (lone surrogate)";
const MESSAGE_CHANNEL = "must match ^[a-z0-9_-]{1,64}$";
const MESSAGES_TOO_LONG = new Map<number, string>();

function tooLong(bytesMax: number): string {
  let message = MESSAGES_TOO_LONG.get(bytesMax);
  if (message === undefined) {
    message = `must be at most ${bytesMax} bytes of UTF-8`;
    MESSAGES_TOO_LONG.set(bytesMax, message);
  }
  return message;
}

/**
 * UTF-8 byte length of `s`, or -1 when it holds a lone surrogate, or -2 when
 * it holds a control character and `controls` is false. Stops early once the
 * length passes `bytesMax` (returning a value > bytesMax).
 */
export function utf8Length(s: string, bytesMax: number, controls: boolean): number {
  let bytes = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (!controls && (c < 0x20 || c === 0x7f)) return -2;
      bytes += 1;
    } else if (c < 0x800) {
      bytes += 2;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (d < 0xdc00 || d > 0xdfff) return -1;
      i++;
      bytes += 4; // a surrogate pair is one code point above U+FFFF
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return -1;
    } else {
      bytes += 3;
    }
    if (bytes > bytesMax) return bytes;
  }
  return bytes;
}

/** Why `s` is not a valid id of at most `bytesMax` bytes (SPEC section 2), or null when it is. */
export function idProblem(s: string, bytesMax: number): string | null {
  if (s.length === 0) return MESSAGE_EMPTY;
  // Every UTF-16 unit is at least one byte: a cheap early reject of huge ids.
  if (s.length > bytesMax) return tooLong(bytesMax);
  const bytes = utf8Length(s, bytesMax, false);
  if (bytes === -2) return MESSAGE_CONTROL;
  if (bytes === -1) return MESSAGE_SURROGATE;
  if (bytes > bytesMax) return tooLong(bytesMax);
  return null;
}

/** Why `s` is not a valid SKU id, or null. */
export function skuProblem(s: string): string | null {
  return idProblem(s, SKU_BYTES_MAX);
}

/** Why `s` is not a valid location id, or null. */
export function locationProblem(s: string): string | null {
  return idProblem(s, LOCATION_BYTES_MAX);
}

/** Why `s` is not a valid reservation id, or null. */
export function reservationIdProblem(s: string): string | null {
  return idProblem(s, RESERVATION_ID_BYTES_MAX);
}

/** Why `s` is not a valid channel id (`^[a-z0-9_-]{1,64}$`), or null. */
export function channelProblem(s: string): string | null {
  const n = s.length;
  if (n === 0 || n > CHANNEL_ID_LENGTH_MAX) return MESSAGE_CHANNEL;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 0x61 && c <= 0x7a) || // a-z
      (c >= 0x30 && c <= 0x39) || // 0-9
      c === 0x5f || // _
      c === 0x2d; // -
    if (!ok) return MESSAGE_CHANNEL;
  }
  return null;
}

/**
 * Why `s` is not a valid free-form text of at most `bytesMax` bytes, or null.
 * Free-form text (a location's kind or name) may be empty and may hold control
 * characters (a name with a tab is odd, not harmful); it must still be
 * encodable as UTF-8.
 */
export function textProblem(s: string, bytesMax: number = TEXT_BYTES_MAX): string | null {
  if (s.length > bytesMax) return tooLong(bytesMax);
  const bytes = utf8Length(s, bytesMax, true);
  if (bytes === -1) return MESSAGE_SURROGATE;
  if (bytes > bytesMax) return tooLong(bytesMax);
  return null;
}
