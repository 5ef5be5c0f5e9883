// Boundary errors of the HTTP API: what can go wrong between a client and the
// engine before a request reaches the ledger (bad JSON, a body too large, a
// missing token). One class per failure kind, each mapped to exactly one HTTP
// status and one SPEC section 4 `error` code, so a handler only throws and
// respond.ts turns the error into `{error, message}`. Business outcomes
// (insufficient stock, unknown reservation) are not here: the engine answers
// them as replies, never as exceptions.

/** Base of every boundary error: an HTTP status, a SPEC error code, a message. */
export abstract class HttpError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  /** One extra response header the status calls for (Allow, WWW-Authenticate). */
  header: readonly [string, string] | null = null;
}

/** 400: the request is malformed or a field breaks a rule; the message names the field. */
export class InvalidRequestError extends HttpError {
  readonly status = 400;
  readonly code = "invalid_request";
  override readonly name = "InvalidRequestError";
}

/** 401: no bearer token, or one the token table does not know. */
export class UnauthorizedError extends HttpError {
  readonly status = 401;
  readonly code = "unauthorized";
  override readonly name = "UnauthorizedError";
  constructor(message: string) {
    super(message);
    this.header = ["WWW-Authenticate", 'Bearer realm="omnistock"'];
  }
}

/** 403: a known token whose scopes do not include the one the route needs. */
export class ForbiddenError extends HttpError {
  readonly status = 403;
  readonly code = "forbidden";
  override readonly name = "ForbiddenError";
}

/** 404: no route has this path. */
export class NotFoundError extends HttpError {
  readonly status = 404;
  readonly code = "not_found";
  override readonly name = "NotFoundError";
}

/** 405: the path exists but not with this method; `allow` lists the methods it has. */
export class MethodNotAllowedError extends HttpError {
  readonly status = 405;
  readonly code = "method_not_allowed";
  override readonly name = "MethodNotAllowedError";
  constructor(method: string, allow: string) {
    super(`${method.toUpperCase()} is not allowed here; allowed: ${allow}`);
    this.header = ["Allow", allow];
  }
}

/** 413: the body (declared or streamed so far) exceeds the configured limit. */
export class PayloadTooLargeError extends HttpError {
  readonly status = 413;
  readonly code = "payload_too_large";
  override readonly name = "PayloadTooLargeError";
  constructor(limitBytes: number) {
    super(`request body exceeds ${limitBytes} bytes`);
  }
}

/** 415: a body whose Content-Type is neither JSON nor msgpack. */
export class UnsupportedMediaTypeError extends HttpError {
  readonly status = 415;
  readonly code = "unsupported_media_type";
  override readonly name = "UnsupportedMediaTypeError";
  constructor(contentType: string) {
    super(`Content-Type ${JSON.stringify(contentType)} is not supported; use application/json or application/msgpack`);
  }
}

/** 503: the engine is still recovering (snapshot + journal replay). */
export class NotReadyError extends HttpError {
  readonly status = 503;
  readonly code = "not_ready";
  override readonly name = "NotReadyError";
  constructor() {
    super("the engine is recovering; retry shortly");
  }
}

/** 500: a bug, never bad input. The message stays generic; the cause goes to the log. */
export class InternalError extends HttpError {
  readonly status = 500;
  readonly code = "internal";
  override readonly name = "InternalError";
  constructor() {
    super("internal error");
  }
}
