// Request bodies of SPEC section 4, declared once with TypeBox. The same
// schemas are compiled with ajv to validate requests here and rendered into
// the OpenAPI document by openapi.ts, so the documentation cannot drift from
// what the server accepts. Response shapes are declared here too, for the
// document only (the engine builds the replies).
//
// Decision: unknown fields are rejected (`additionalProperties: false`, 400
// naming the field). A typo such as `{"onhand": 5}` would otherwise be a
// silent no-op on a stock count, the worst outcome for an inventory API;
// Shopify's and commercetools' write APIs reject unknown fields for the same
// reason. Numbers must be JSON integers (no coercion: "3" and 1.5 are 400).
//
// ajv's maxLength counts code points, the SPEC counts UTF-8 bytes: the schema
// carries the code-point bound (a necessary condition, and documentation), and
// the check* functions then apply the byte rules of ids.ts to every id.

import { Type, type Static, type TSchema, type TUnsafe } from "@sinclair/typebox";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { InvalidRequestError } from "./errors.js";
import {
  CHANNEL_ID_LENGTH_MAX,
  LOCATION_BYTES_MAX,
  RESERVATION_ID_BYTES_MAX,
  SKU_BYTES_MAX,
  TEXT_BYTES_MAX,
  channelProblem,
  locationProblem,
  reservationIdProblem,
  skuProblem,
  textProblem,
} from "./ids.js";

// ---------------------------------------------------------------- limits (SPEC section 2, docs/semantics.md)

import {
  DELTA_MAX, DELTA_MIN, LOCATIONS_MAX as CHANNEL_LOCATIONS_MAX, QUANTITY_MAX, QUERY_SKUS_MAX, RESERVATION_LINES_MAX,
  STOCK_ITEMS_MAX, TTL_SECONDS_DEFAULT, TTL_SECONDS_MAX, TTL_SECONDS_MIN,
} from "../ledger/limits.js";

export {
  CHANNEL_LOCATIONS_MAX, DELTA_MAX, DELTA_MIN, QUANTITY_MAX, QUERY_SKUS_MAX, RESERVATION_LINES_MAX, STOCK_ITEMS_MAX,
  TTL_SECONDS_DEFAULT, TTL_SECONDS_MAX, TTL_SECONDS_MIN,
};

// ---------------------------------------------------------------- building blocks

/** `schema` or null, as one JSON Schema type array (OpenAPI 3.1 style; one clear ajv message). */
function Nullable<T extends TSchema>(schema: T): TUnsafe<Static<T> | null> {
  const type = (schema as { type?: unknown }).type;
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [type, "null"] });
}

export const SkuId = Type.String({
  minLength: 1,
  maxLength: SKU_BYTES_MAX,
  description: "SKU id: 1-128 bytes of UTF-8, no control characters (U+0000-U+001F, U+007F)",
});
export const LocationId = Type.String({
  minLength: 1,
  maxLength: LOCATION_BYTES_MAX,
  description: "Location id: 1-64 bytes of UTF-8, no control characters",
});
export const ChannelId = Type.String({
  pattern: `^[a-z0-9_-]{1,${CHANNEL_ID_LENGTH_MAX}}$`,
  description: "Channel id",
});
export const ReservationId = Type.String({
  minLength: 1,
  maxLength: RESERVATION_ID_BYTES_MAX,
  description: "Reservation id, chosen by the client; also the idempotency key. 1-128 bytes of UTF-8, no control characters",
});
const Quantity = Type.Integer({ minimum: 0, maximum: QUANTITY_MAX });
const Text = Type.String({ maxLength: TEXT_BYTES_MAX, description: "Free-form text, at most 256 bytes of UTF-8" });

// ---------------------------------------------------------------- request bodies

export const StockSetItem = Type.Object(
  {
    sku: SkuId,
    location: LocationId,
    onHand: Type.Optional(Quantity),
    safetyStock: Type.Optional(Nullable(Quantity)), // null clears the position's own value
  },
  { additionalProperties: false },
);

export const StockSetRequest = Type.Object(
  { items: Type.Array(StockSetItem, { maxItems: STOCK_ITEMS_MAX }) },
  { additionalProperties: false, description: "Absolute stock values (a count or a sync), applied in order, atomically" },
);

export const StockAdjustItem = Type.Object(
  {
    sku: SkuId,
    location: LocationId,
    delta: Type.Integer({ minimum: DELTA_MIN, maximum: DELTA_MAX }),
    reason: Type.Optional(Text),
  },
  { additionalProperties: false },
);

export const StockAdjustRequest = Type.Object(
  { items: Type.Array(StockAdjustItem, { maxItems: STOCK_ITEMS_MAX }) },
  { additionalProperties: false, description: "Relative stock moves, applied in order, atomically" },
);

export const AvailabilityQueryRequest = Type.Object(
  {
    skus: Type.Array(SkuId, { maxItems: QUERY_SKUS_MAX }),
    location: Type.Optional(LocationId),
    channel: Type.Optional(ChannelId),
  },
  { additionalProperties: false, description: "At most one of location and channel" },
);

export const HoldLine = Type.Object(
  { sku: SkuId, location: LocationId, qty: Type.Integer({ minimum: 1, maximum: QUANTITY_MAX }) },
  { additionalProperties: false },
);

export const HoldRequest = Type.Object(
  {
    id: ReservationId,
    // null is no channel, as every answer writes it, so a client may send back what it got.
    channel: Type.Optional(Type.Union([ChannelId, Type.Null()], { description: "Channel id; absent or null: no channel" })),
    ttlSeconds: Type.Optional(
      Type.Integer({ minimum: TTL_SECONDS_MIN, maximum: TTL_SECONDS_MAX, default: TTL_SECONDS_DEFAULT }),
    ),
    lines: Type.Array(HoldLine, { minItems: 1, maxItems: RESERVATION_LINES_MAX }),
  },
  { additionalProperties: false },
);

export const LocationPatchRequest = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    safetyStock: Type.Optional(Quantity),
    kind: Type.Optional(Nullable(Text)),
    name: Type.Optional(Nullable(Text)),
  },
  { additionalProperties: false, description: "Only the fields given change" },
);

export const ChannelPatchRequest = Type.Object(
  {
    locations: Type.Optional(
      Nullable(Type.Array(LocationId, { maxItems: CHANNEL_LOCATIONS_MAX, description: "null: every location" })),
    ),
    buffer: Type.Optional(Quantity),
  },
  { additionalProperties: false, description: "Only the fields given change" },
);

export type StockSetBody = Static<typeof StockSetRequest>;
export type StockAdjustBody = Static<typeof StockAdjustRequest>;
export type AvailabilityQueryBody = Static<typeof AvailabilityQueryRequest>;
export type HoldBody = Static<typeof HoldRequest>;
export type LocationPatchBody = Static<typeof LocationPatchRequest>;
export type ChannelPatchBody = Static<typeof ChannelPatchRequest>;

// ---------------------------------------------------------------- responses (documentation only)

export const ErrorBody = Type.Object({
  error: Type.String({ description: "SPEC error code, e.g. invalid_request" }),
  message: Type.String(),
});

export const ShortLine = Type.Object({
  sku: SkuId,
  location: LocationId,
  requested: Type.Integer(),
  available: Type.Integer(),
});

export const InsufficientStockBody = Type.Object({
  error: Type.Literal("insufficient_stock"),
  message: Type.String(),
  lines: Type.Array(ShortLine),
});

const FigureFields = {
  available: Type.Integer(),
  onHand: Type.Integer(),
  reserved: Type.Integer(),
  committed: Type.Integer(),
  safetyStock: Type.Integer({ description: "effective: the position's own, else the location default, else 0" }),
  shortfall: Type.Integer(),
  version: Type.Integer(),
};

export const PositionAt = Type.Object({ sku: SkuId, location: LocationId, ...FigureFields });

export const PositionOfSku = Type.Object({
  location: LocationId,
  enabled: Type.Optional(Type.Boolean({ description: "present (false) only for a disabled location" })),
  ...FigureFields,
});

export const AvailabilityAll = Type.Object({
  sku: SkuId,
  available: Type.Integer({ description: "network ATP over enabled locations" }),
  locations: Type.Array(PositionOfSku),
});

export const AvailabilityChannel = Type.Object({
  sku: SkuId,
  channel: ChannelId,
  available: Type.Integer({ description: "channel ATP" }),
  locations: Type.Array(Type.Object({ location: LocationId, available: Type.Integer() })),
});

export const AvailabilityQueryResult = Type.Object({
  items: Type.Array(Type.Union([PositionAt, AvailabilityAll, AvailabilityChannel])),
});

export const StockWriteResult = Type.Object({
  applied: Type.Integer({ description: "number of items applied" }),
  positions: Type.Array(PositionAt, { description: "each distinct position once, first-seen order, after the request" }),
});

export const Reservation = Type.Object({
  id: ReservationId,
  status: Type.Union([
    Type.Literal("held"),
    Type.Literal("committed"),
    Type.Literal("fulfilled"),
    Type.Literal("released"),
    Type.Literal("expired"),
  ]),
  channel: Type.Union([ChannelId, Type.Null()]),
  lines: Type.Array(HoldLine),
  expiresAt: Type.String({ format: "date-time", description: "RFC 3339 UTC with milliseconds" }),
});

export const Location = Type.Object({
  id: LocationId,
  enabled: Type.Boolean(),
  safetyStock: Type.Integer(),
  kind: Type.Union([Type.String(), Type.Null()]),
  name: Type.Union([Type.String(), Type.Null()]),
});

export const Channel = Type.Object({
  id: ChannelId,
  locations: Type.Union([Type.Array(LocationId), Type.Null()]),
  buffer: Type.Integer(),
});

export const LocationList = Type.Object({ items: Type.Array(Location) });
export const ChannelList = Type.Object({ items: Type.Array(Channel) });

// ---------------------------------------------------------------- validation

const ajv = new Ajv({
  strict: true,
  allErrors: false, // stop at the first error: cheap on 10,000 items, and one message is all we send
  allowUnionTypes: true, // ["integer", "null"]
  coerceTypes: false,
  useDefaults: false, // the engine applies defaults (ttlSeconds)
});

/** "/items/3/qty" → "items[3].qty"; the root is "body". */
export function fieldPath(instancePath: string, child?: string): string {
  let out = "";
  if (instancePath.length > 0) {
    for (const raw of instancePath.slice(1).split("/")) {
      const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      out += /^\d+$/.test(segment) ? `[${segment}]` : out.length === 0 ? segment : `.${segment}`;
    }
  }
  if (child !== undefined) out += out.length === 0 ? child : `.${child}`;
  return out.length === 0 ? "body" : out;
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties":
      return `${fieldPath(error.instancePath, String(params.additionalProperty))}: unknown field`;
    case "required":
      return `${fieldPath(error.instancePath, String(params.missingProperty))}: required`;
    case "type": {
      const type = Array.isArray(params.type) ? params.type.join(" or ") : String(params.type).split(",").join(" or ");
      return `${fieldPath(error.instancePath)}: must be ${type}`;
    }
    default:
      return `${fieldPath(error.instancePath)}: ${error.message ?? "is invalid"}`;
  }
}

function compile<T extends TSchema>(schema: T): (value: unknown) => Static<T> {
  const validate = ajv.compile(schema) as ValidateFunction<Static<T>>;
  return (value: unknown): Static<T> => {
    if (validate(value)) return value;
    const first = validate.errors?.[0];
    throw new InvalidRequestError(first === undefined ? "body: invalid" : describe(first));
  };
}

function requireValid(problem: string | null, field: string): void {
  if (problem !== null) throw new InvalidRequestError(`${field}: ${problem}`);
}

const validateStockSet = compile(StockSetRequest);
const validateStockAdjust = compile(StockAdjustRequest);
const validateQuery = compile(AvailabilityQueryRequest);
const validateHold = compile(HoldRequest);
const validateLocationPatch = compile(LocationPatchRequest);
const validateChannelPatch = compile(ChannelPatchRequest);

function checkItemIds(items: readonly { sku: string; location: string }[], list: string): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const skuBad = skuProblem(item.sku);
    if (skuBad !== null) throw new InvalidRequestError(`${list}[${i}].sku: ${skuBad}`);
    const locationBad = locationProblem(item.location);
    if (locationBad !== null) throw new InvalidRequestError(`${list}[${i}].location: ${locationBad}`);
  }
}

/** A `POST /v1/stock` body, or an InvalidRequestError naming the first bad field. */
export function checkStockSet(value: unknown): StockSetBody {
  const body = validateStockSet(value);
  checkItemIds(body.items, "items");
  return body;
}

/** A `POST /v1/stock/adjust` body, or an InvalidRequestError naming the first bad field. */
export function checkStockAdjust(value: unknown): StockAdjustBody {
  const body = validateStockAdjust(value);
  checkItemIds(body.items, "items");
  for (let i = 0; i < body.items.length; i++) {
    const reason = body.items[i].reason;
    if (reason !== undefined) requireValid(textProblem(reason), `items[${i}].reason`);
  }
  return body;
}

/** A `POST /v1/availability/query` body, or an InvalidRequestError naming the first bad field. */
export function checkQuery(value: unknown): AvailabilityQueryBody {
  const body = validateQuery(value);
  if (body.location !== undefined && body.channel !== undefined) {
    throw new InvalidRequestError("location, channel: give at most one of them");
  }
  for (let i = 0; i < body.skus.length; i++) requireValid(skuProblem(body.skus[i]), `skus[${i}]`);
  if (body.location !== undefined) requireValid(locationProblem(body.location), "location");
  return body;
}

/** A `POST /v1/reservations` body, or an InvalidRequestError naming the first bad field. */
export function checkHold(value: unknown): HoldBody {
  const body = validateHold(value);
  requireValid(reservationIdProblem(body.id), "id");
  checkItemIds(body.lines, "lines");
  return body;
}

/** A `PUT /v1/locations/{id}` body, or an InvalidRequestError naming the first bad field. */
export function checkLocationPatch(value: unknown): LocationPatchBody {
  const body = validateLocationPatch(value);
  if (typeof body.kind === "string") requireValid(textProblem(body.kind), "kind");
  if (typeof body.name === "string") requireValid(textProblem(body.name), "name");
  return body;
}

/** A `PUT /v1/channels/{id}` body, or an InvalidRequestError naming the first bad field. */
export function checkChannelPatch(value: unknown): ChannelPatchBody {
  const body = validateChannelPatch(value);
  const locations = body.locations;
  if (Array.isArray(locations)) {
    for (let i = 0; i < locations.length; i++) requireValid(locationProblem(locations[i]), `locations[${i}]`);
  }
  return body;
}

/** Checks a channel id from a path or query string. */
export function checkChannelId(value: string, field: string): string {
  requireValid(channelProblem(value), field);
  return value;
}
