// Webhook signing: `X-Omnistock-Signature: sha256=<hex HMAC-SHA256 of the
// exact body bytes, keyed with the shared secret>`. The receiver recomputes
// it over the raw body it read (before any JSON parsing) and compares in
// constant time.

import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "X-Omnistock-Signature";
export const TIMESTAMP_HEADER = "X-Omnistock-Timestamp";

/** The header value for `body`: "sha256=" + lowercase hex. */
export function signBody(body: string | Uint8Array, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** True when `header` is the signature of `body` under `secret` (constant-time comparison). */
export function verifySignature(body: string | Uint8Array, secret: string, header: string | null | undefined): boolean {
  if (typeof header !== "string") return false;
  const expected = Buffer.from(signBody(body, secret), "utf8");
  const given = Buffer.from(header, "utf8");
  return expected.length === given.length && timingSafeEqual(expected, given);
}
