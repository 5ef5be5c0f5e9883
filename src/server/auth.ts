// Bearer-token access control of SPEC section 4 ("Access"). The token file is
// read once at startup; a malformed file stops startup with a message naming
// the entry at fault, since a server that silently runs open (or locked) on a
// typo is worse than one that refuses to start.
//
// Tokens are kept only as SHA-256 digests in a Map, and a presented token is
// hashed and looked up. Why not timingSafeEqual over every entry: a Map lookup
// of a digest is constant in the number of tokens, and its timing depends only
// on the digest, which an attacker cannot steer byte by byte toward a secret
// (a prefix match of digests says nothing about a prefix of the token), so it
// leaks nothing useful; it also keeps no plaintext token in memory.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { ForbiddenError, UnauthorizedError, type HttpError } from "./errors.js";

export const SCOPES = ["read", "reserve", "write", "admin"] as const;

/** What a token may do: `read` reads, `reserve` reservation moves, `write` stock writes, `admin` configuration. */
export type Scope = (typeof SCOPES)[number];

/** Known tokens (as digests) and their scopes. */
export interface TokenTable {
  readonly scopesByDigest: ReadonlyMap<string, ReadonlySet<Scope>>;
}

const TOKEN_BYTES_MAX = 4096;

function digest(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("base64");
}

function isScope(value: unknown): value is Scope {
  return typeof value === "string" && (SCOPES as readonly string[]).includes(value);
}

/** Builds a token table from parsed JSON; throws an Error naming the bad entry. */
export function tokenTableFrom(entries: unknown, source = "token list"): TokenTable {
  if (!Array.isArray(entries)) {
    throw new Error(`${source}: expected a JSON array of {"token": "...", "scopes": [...]}`);
  }
  const scopesByDigest = new Map<string, ReadonlySet<Scope>>();
  entries.forEach((entry: unknown, i: number) => {
    const where = `${source}: entry ${i}`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new Error(`${where}: expected an object {"token": "...", "scopes": [...]}`);
    }
    const { token, scopes, ...rest } = entry as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) throw new Error(`${where}: unknown field ${JSON.stringify(unknown[0])}`);
    if (typeof token !== "string" || token.length === 0 || token.length > TOKEN_BYTES_MAX || /\s/.test(token)) {
      throw new Error(`${where}: "token" must be a non-empty string without whitespace`);
    }
    if (!Array.isArray(scopes) || !scopes.every(isScope)) {
      throw new Error(`${where}: "scopes" must be an array of ${SCOPES.map((s) => JSON.stringify(s)).join(", ")}`);
    }
    const key = digest(token);
    if (scopesByDigest.has(key)) throw new Error(`${where}: duplicate token`);
    scopesByDigest.set(key, new Set(scopes));
  });
  return { scopesByDigest };
}

/** Reads OMNISTOCK_TOKENS_FILE; throws a clear Error when it is unreadable or malformed. */
export function loadTokens(file: string): TokenTable {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`cannot read tokens file ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`tokens file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  return tokenTableFrom(parsed, `tokens file ${file}`);
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Null when `authorization` (the raw header, "" when absent) carries a token
 * holding `scope`; else the 401 or 403 error to answer. An open server
 * (`table` null) allows everything.
 */
export function authorize(table: TokenTable | null, authorization: string, scope: Scope): HttpError | null {
  if (table === null) return null;
  if (authorization.length === 0) return new UnauthorizedError("missing Authorization: Bearer <token>");
  const match = BEARER.exec(authorization);
  if (match === null) return new UnauthorizedError("Authorization must be Bearer <token>");
  const scopes = table.scopesByDigest.get(digest(match[1]));
  if (scopes === undefined) return new UnauthorizedError("unknown token");
  if (!scopes.has(scope)) return new ForbiddenError(`this token lacks the "${scope}" scope`);
  return null;
}
