// ATP over NATS request/reply: a request on `omnistock-atp.get` is answered
// exactly as the HTTP read would be (SPEC section 4), so a marketplace adapter
// that lives on NATS needs no HTTP client. Requests (JSON):
//   {sku, location?} | {sku, channel?}       → GET /v1/availability/{sku}?…
//   {skus: [...], location? | channel?}      → POST /v1/availability/query
// The reply is the HTTP body as JSON, errors as `{error, message}`, with the
// HTTP status in the `Omnistock-Status` header. Input is checked with the
// HTTP layer's own rules; a bad request gets an error reply, never a crash.

import { headers, type Msg, type NatsConnection, type Subscription } from "nats";
import type { Engine, EngineReply } from "../../engine/types.js";
import { HttpError, InternalError, InvalidRequestError, NotReadyError } from "../../server/errors.js";
import { channelProblem, locationProblem, skuProblem } from "../../server/ids.js";
import { checkQuery } from "../../server/schemas.js";
import { natsAtpRequests } from "./metrics.js";

// Outside `omnistock.>`, which the JetStream stream captures (SPEC section 5):
// a request there would be stored and answered by a PubAck before our reply.
export const ATP_SUBJECT = "omnistock-atp.get";
export const STATUS_HEADER = "Omnistock-Status";

const SINGLE_FIELDS = new Set(["sku", "location", "channel"]);
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

function errorReply(error: HttpError): EngineReply {
  return { status: error.status, body: { error: error.code, message: error.message } };
}

function requireValid(problem: string | null, field: string): void {
  if (problem !== null) throw new InvalidRequestError(`${field}: ${problem}`);
}

function optionalString(value: Record<string, unknown>, field: string): string | undefined {
  const v = value[field];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new InvalidRequestError(`${field}: must be a string`);
  return v;
}

/** Answers ATP requests for one engine on one connection. */
export class AtpResponder {
  private subscription: Subscription | null = null;

  constructor(
    private readonly engine: Engine,
    private readonly log: (message: string) => void,
  ) {}

  /** Subscribes on `nc` (nats.js re-subscribes by itself after a reconnect). */
  attach(nc: NatsConnection): void {
    this.subscription = nc.subscribe(ATP_SUBJECT, {
      callback: (error, msg) => {
        if (error === null) this.handle(nc, msg);
      },
    });
  }

  detach(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
  }

  private handle(nc: NatsConnection, msg: Msg): void {
    if (!msg.reply) return; // a publish, not a request: nobody to answer
    let reply: EngineReply;
    try {
      reply = this.answer(msg.data);
    } catch (error) {
      if (!(error instanceof HttpError)) this.log(`nats: unexpected error answering an ATP request: ${String(error)}`);
      reply = errorReply(error instanceof HttpError ? error : new InternalError());
    }
    let data = utf8Encoder.encode(JSON.stringify(reply.body));
    const payloadMax = nc.info?.max_payload ?? Infinity;
    if (data.length > payloadMax) {
      reply = {
        status: 413,
        body: { error: "payload_too_large", message: `the reply (${data.length} bytes) exceeds the NATS server's max_payload (${payloadMax} bytes); ask for fewer skus` },
      };
      data = utf8Encoder.encode(JSON.stringify(reply.body));
    }
    const status = reply.status === 200 ? "ok" : (reply.body as { error: string }).error;
    natsAtpRequests.labels(status).inc();
    const h = headers();
    h.set(STATUS_HEADER, String(reply.status));
    try {
      msg.respond(data, { headers: h });
    } catch (error) {
      this.log(`nats: cannot send an ATP reply: ${String(error)}`); // the connection closed meanwhile
    }
  }

  /** The HTTP reply for a request payload; throws an HttpError for a bad one. */
  answer(data: Uint8Array): EngineReply {
    if (!this.engine.isReady()) throw new NotReadyError();
    let value: unknown;
    try {
      value = JSON.parse(utf8Decoder.decode(data));
    } catch {
      throw new InvalidRequestError("body: not valid UTF-8 JSON");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidRequestError("body: must be a JSON object");
    const request = value as Record<string, unknown>;
    if ("skus" in request) {
      if ("sku" in request) throw new InvalidRequestError("sku, skus: give one of them");
      return this.engine.query(checkQuery(request));
    }
    return this.single(request);
  }

  private single(request: Record<string, unknown>): EngineReply {
    for (const key of Object.keys(request)) {
      if (!SINGLE_FIELDS.has(key)) throw new InvalidRequestError(`${key}: unknown field (expected sku, location?, channel? or skus)`);
    }
    const sku = optionalString(request, "sku");
    if (sku === undefined) throw new InvalidRequestError("sku: required (or skus)");
    requireValid(skuProblem(sku), "sku");
    const location = optionalString(request, "location");
    const channel = optionalString(request, "channel");
    if (location !== undefined && channel !== undefined) throw new InvalidRequestError("location, channel: give at most one of them");
    if (location !== undefined) {
      requireValid(locationProblem(location), "location");
      return this.engine.availabilityAt(sku, location);
    }
    if (channel !== undefined) {
      requireValid(channelProblem(channel), "channel");
      return this.engine.availabilityForChannel(sku, channel);
    }
    return this.engine.availabilityAll(sku);
  }
}
