// Ids as NATS subject tokens (SPEC section 5). A SKU or location id may hold
// any UTF-8 except control characters, but a subject token must not contain
// `.` (the separator), `*` or `>` (wildcards) or whitespace. So every byte of
// the id's UTF-8 outside `[A-Za-z0-9_-]` becomes `%XX` (uppercase hex), which
// is reversible (`%` itself is encoded) and keeps ASCII ids readable.

import type { StreamMessage } from "../../stream/messages.js";

export const SUBJECT_PREFIX_DELTA = "omnistock.delta";
export const SUBJECT_PREFIX_CHANNEL = "omnistock.channel";

const HEX = "0123456789ABCDEF";

function isPlain(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x5f || // _
    c === 0x2d // -
  );
}

/** `id` as one subject token: each UTF-8 byte outside `[A-Za-z0-9_-]` as `%XX`. */
export function subjectToken(id: string): string {
  let plain = true;
  for (let i = 0; i < id.length; i++) {
    if (!isPlain(id.charCodeAt(i))) {
      plain = false;
      break;
    }
  }
  if (plain) return id; // the common case: no allocation beyond the subject itself
  const bytes = Buffer.from(id, "utf8");
  let out = "";
  for (const b of bytes) out += isPlain(b) ? String.fromCharCode(b) : `%${HEX[b >> 4]}${HEX[b & 15]}`;
  return out;
}

/** The id a subject token encodes (the inverse of subjectToken; for subscribers and tests). */
export function subjectTokenDecode(token: string): string {
  return decodeURIComponent(token);
}

/** The subject a stream message is published on. */
export function subjectFor(message: StreamMessage): string {
  return message.type === "delta"
    ? `${SUBJECT_PREFIX_DELTA}.${subjectToken(message.location)}.${subjectToken(message.sku)}`
    : `${SUBJECT_PREFIX_CHANNEL}.${subjectToken(message.channel)}.${subjectToken(message.sku)}`;
}
