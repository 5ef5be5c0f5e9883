// Every bound of the domain (SPEC section 2, docs/semantics.md), named once
// for the TypeScript side: the HTTP schemas, the id checks, the reference
// model and the ledger wrapper all import these. assembly/constants.ts holds
// the same numbers for the WebAssembly ledger; keep the two in step.

export const QUANTITY_MAX = 1_000_000_000; // units: onHand, safetyStock, qty, buffer
export const DELTA_MIN = -1_000_000_000; // units, an adjustment
export const DELTA_MAX = 1_000_000_000;
export const STOCK_ITEMS_MAX = 10_000; // items per stock write
export const RESERVATION_LINES_MAX = 100;
export const QUERY_SKUS_MAX = 1_000; // SKUs per availability query
export const TTL_SECONDS_MIN = 1;
export const TTL_SECONDS_MAX = 604_800; // 7 days
export const TTL_SECONDS_DEFAULT = 900;
export const LOCATIONS_MAX = 65_536;
export const CHANNELS_MAX = 1_024;
export const SKU_BYTES_MAX = 128; // UTF-8 bytes
export const LOCATION_BYTES_MAX = 64;
export const RESERVATION_ID_BYTES_MAX = 128;
export const CHANNEL_ID_LENGTH_MAX = 64; // [a-z0-9_-]
export const TEXT_BYTES_MAX = 256; // location kind/name, adjustment reason
/** Positions a ledger can name: a position-table word keeps index+1 in 26 bits (assembly/constants.ts). */
export const POSITIONS_ADDRESSABLE_MAX = 2 ** 26 - 1;
