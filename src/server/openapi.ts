// The OpenAPI 3.1 document served at /openapi.json, generated from the
// TypeBox schemas of schemas.ts (the ones ajv validates with), so the document
// and the server cannot disagree about a request. The operation table below
// lists, per route, its scope, parameters, body and the statuses SPEC section
// 4 assigns it. Built once at startup.

import type { TSchema } from "@sinclair/typebox";
import { SCOPES, type Scope } from "./auth.js";
import * as S from "./schemas.js";

type Method = "get" | "post" | "put";

interface Parameter {
  name: string;
  in: "path" | "query";
  schema: TSchema;
  description: string;
}

interface Operation {
  method: Method;
  path: string;
  summary: string;
  scope: Scope | null; // null: open
  parameters?: Parameter[];
  body?: string; // component name of the request body
  ok: [status: number, component: string, description: string];
  errors: number[];
}

const ERROR_TEXT: Record<number, string> = {
  400: "invalid_request: malformed body or a field breaking a rule (the message names it)",
  401: "unauthorized: missing or unknown bearer token",
  403: "forbidden: the token lacks the scope",
  404: "not_found",
  405: "method_not_allowed",
  409: "a business rule refused the change (the error code says which)",
  410: "reservation_expired",
  413: "payload_too_large",
  415: "unsupported_media_type",
  503: "not_ready: recovery still running",
  507: "ledger_full: a configured capacity is reached",
};

const COMPONENTS: Record<string, TSchema> = {
  Error: S.ErrorBody,
  InsufficientStockError: S.InsufficientStockBody,
  StockSetRequest: S.StockSetRequest,
  StockAdjustRequest: S.StockAdjustRequest,
  AvailabilityQueryRequest: S.AvailabilityQueryRequest,
  HoldRequest: S.HoldRequest,
  LocationPatchRequest: S.LocationPatchRequest,
  ChannelPatchRequest: S.ChannelPatchRequest,
  PositionAt: S.PositionAt,
  AvailabilityAll: S.AvailabilityAll,
  AvailabilityChannel: S.AvailabilityChannel,
  AvailabilityQueryResult: S.AvailabilityQueryResult,
  StockWriteResult: S.StockWriteResult,
  Reservation: S.Reservation,
  Location: S.Location,
  LocationList: S.LocationList,
  Channel: S.Channel,
  ChannelList: S.ChannelList,
  Status: { type: "object", properties: { status: { type: "string" } }, required: ["status"] } as unknown as TSchema,
};

const sku: Parameter = { name: "sku", in: "path", schema: S.SkuId, description: "SKU id, percent-encoded" };
const reservationId: Parameter = {
  name: "id",
  in: "path",
  schema: S.ReservationId,
  description: "Reservation id, percent-encoded",
};
const BASE_ERRORS = [401, 403, 503];

const OPERATIONS: Operation[] = [
  {
    method: "get",
    path: "/v1/availability/{sku}",
    summary:
      "ATP of one SKU: at one location (?location=), for one channel (?channel=), or network-wide with every known position",
    scope: "read",
    parameters: [
      sku,
      { name: "location", in: "query", schema: S.LocationId, description: "one position; not with channel" },
      { name: "channel", in: "query", schema: S.ChannelId, description: "channel ATP; not with location" },
    ],
    ok: [200, "AvailabilityAll", "PositionAt with ?location=, AvailabilityChannel with ?channel=, else AvailabilityAll"],
    errors: [400, 404, ...BASE_ERRORS],
  },
  {
    method: "post",
    path: "/v1/availability/query",
    summary: "ATP of up to 1,000 SKUs, one item per SKU in request order",
    scope: "read",
    body: "AvailabilityQueryRequest",
    ok: [200, "AvailabilityQueryResult", "one item per SKU, shaped as the single-SKU read"],
    errors: [400, 404, 413, 415, ...BASE_ERRORS],
  },
  {
    method: "post",
    path: "/v1/stock",
    summary: "Set absolute onHand / safetyStock (count or sync); all items apply or none",
    scope: "write",
    body: "StockSetRequest",
    ok: [200, "StockWriteResult", "applied, with every touched position after the request"],
    errors: [400, 409, 413, 415, 507, ...BASE_ERRORS],
  },
  {
    method: "post",
    path: "/v1/stock/adjust",
    summary: "Relative moves (receipts, sales, damage, returns); all items apply or none",
    scope: "write",
    body: "StockAdjustRequest",
    ok: [200, "StockWriteResult", "applied, with every touched position after the request"],
    errors: [400, 409, 413, 415, 507, ...BASE_ERRORS],
  },
  {
    method: "post",
    path: "/v1/reservations",
    summary: "Hold stock, all lines or none; the id is the idempotency key (201 new, 200 repeat)",
    scope: "reserve",
    body: "HoldRequest",
    ok: [201, "Reservation", "held (a repeat answers 200 with the current state)"],
    errors: [400, 404, 409, 413, 415, 507, ...BASE_ERRORS],
  },
  {
    method: "get",
    path: "/v1/reservations/{id}",
    summary: "A reservation with its status",
    scope: "read",
    parameters: [reservationId],
    ok: [200, "Reservation", "the reservation"],
    errors: [400, 404, ...BASE_ERRORS],
  },
  ...(["commit", "release", "fulfill"] as const).map(
    (move): Operation => ({
      method: "post",
      path: `/v1/reservations/{id}/${move}`,
      summary: `${move[0].toUpperCase()}${move.slice(1)} a reservation (idempotent)`,
      scope: "reserve",
      parameters: [reservationId],
      ok: [200, "Reservation", "the reservation after the move"],
      errors: [400, 404, 409, 410, ...BASE_ERRORS],
    }),
  ),
  {
    method: "put",
    path: "/v1/locations/{id}",
    summary: "Create or update a location (only the fields given)",
    scope: "admin",
    parameters: [{ name: "id", in: "path", schema: S.LocationId, description: "Location id, percent-encoded" }],
    body: "LocationPatchRequest",
    ok: [200, "Location", "the location"],
    errors: [400, 413, 415, 507, ...BASE_ERRORS],
  },
  {
    method: "get",
    path: "/v1/locations",
    summary: "Every known location",
    scope: "read",
    ok: [200, "LocationList", "locations"],
    errors: BASE_ERRORS,
  },
  {
    method: "put",
    path: "/v1/channels/{id}",
    summary: "Create or update a channel (only the fields given)",
    scope: "admin",
    parameters: [{ name: "id", in: "path", schema: S.ChannelId, description: "Channel id" }],
    body: "ChannelPatchRequest",
    ok: [200, "Channel", "the channel"],
    errors: [400, 413, 415, 507, ...BASE_ERRORS],
  },
  {
    method: "get",
    path: "/v1/channels",
    summary: "Every channel",
    scope: "read",
    ok: [200, "ChannelList", "channels"],
    errors: BASE_ERRORS,
  },
  { method: "get", path: "/healthz", summary: "Alive", scope: null, ok: [200, "Status", "alive"], errors: [] },
  {
    method: "get",
    path: "/readyz",
    summary: "Ready once recovery finished",
    scope: null,
    ok: [200, "Status", "ready"],
    errors: [503],
  },
];

const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });

/** JSON and msgpack carry the same schema. */
function content(schema: unknown): Record<string, { schema: unknown }> {
  return { "application/json": { schema }, "application/msgpack": { schema } };
}

function operationObject(op: Operation): Record<string, unknown> {
  const responses: Record<string, unknown> = {
    [String(op.ok[0])]: { description: op.ok[2], content: content(ref(op.ok[1])) },
  };
  for (const status of op.errors) {
    const schema =
      status === 409 && op.path === "/v1/reservations"
        ? { oneOf: [ref("Error"), ref("InsufficientStockError")] }
        : ref("Error");
    responses[String(status)] = { description: ERROR_TEXT[status], content: content(schema) };
  }
  const out: Record<string, unknown> = {
    operationId: `${op.method}${op.path.replace(/[{}]/g, "").replace(/[/._-](\w)/g, (_m, c: string) => c.toUpperCase())}`,
    summary: op.summary,
    security: op.scope === null ? [] : [{ bearer: [op.scope] }],
    "x-scope": op.scope,
    responses,
  };
  if (op.parameters !== undefined) {
    out.parameters = op.parameters.map((p) => ({
      name: p.name,
      in: p.in,
      required: p.in === "path",
      description: p.description,
      schema: p.schema,
    }));
  }
  if (op.body !== undefined) out.requestBody = { required: true, content: content(ref(op.body)) };
  return out;
}

/** The OpenAPI 3.1 document of the HTTP API. */
export function buildOpenApi(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    paths[op.path] ??= {};
    paths[op.path][op.method] = operationObject(op);
  }
  paths["/metrics"] = {
    get: {
      operationId: "getMetrics",
      summary: "Prometheus metrics (text exposition format)",
      security: [],
      responses: { "200": { description: "metrics", content: { "text/plain": { schema: { type: "string" } } } } },
    },
  };
  paths["/openapi.json"] = {
    get: {
      operationId: "getOpenApi",
      summary: "This document",
      security: [],
      responses: { "200": { description: "OpenAPI 3.1", content: { "application/json": { schema: { type: "object" } } } } },
    },
  };
  // JSON.parse(JSON.stringify()) drops TypeBox's symbol keys and shares nothing with the live schemas.
  const schemas = JSON.parse(JSON.stringify(COMPONENTS)) as Record<string, unknown>;
  return {
    openapi: "3.1.0",
    info: {
      title: "omnistock",
      version: "0.1.0",
      description:
        "Real-time inventory availability engine. JSON by default; msgpack when Content-Type or Accept is " +
        "application/msgpack. Errors are {error, message}. Scopes: " +
        SCOPES.join(", ") +
        ". Unknown fields in a body are rejected (400).",
    },
    paths: JSON.parse(JSON.stringify(paths)) as unknown,
    components: {
      schemas,
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "token from OMNISTOCK_TOKENS_FILE" } },
    },
  };
}
