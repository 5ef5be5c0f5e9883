// Every bound of the ledger, named once. The engine and the HTTP layer check
// the same numbers before they reach here (src/ledger/limits.ts mirrors them);
// the ledger re-checks the ones whose violation would corrupt memory.

export const QUANTITY_MAX: i64 = 1_000_000_000; // onHand, safetyStock, buffer, qty
export const DELTA_MAX: i64 = 1_000_000_000; // |adjustment delta|

export const SKU_ID_BYTES_MAX: u32 = 128;
export const LOCATION_ID_BYTES_MAX: u32 = 64;
export const CHANNEL_ID_BYTES_MAX: u32 = 64;
export const RESERVATION_ID_BYTES_MAX: u32 = 128;

export const LOCATIONS_MAX: u32 = 65_536; // channel membership bitsets are sized from it
export const CHANNELS_MAX: u32 = 1_024;
export const RESERVATION_LINES_MAX: u32 = 100;
export const STOCK_ITEMS_MAX: u32 = 10_000; // items per stock write: bounds the transaction's undo log

// Hash tables are sized to a power of two at least this many slots per
// 2 entries (load factor <= 2/3), so linear probes stay short.
export const SLOTS_PER_TWO_ENTRIES: u32 = 3;

// A position table word keeps posIdx+1 in its low bits and hash bits above
// them (ledger.ts), so positionsMax is below 2^26. (The 4 GiB of a wasm32
// memory binds first with the default SKU and reservation capacities: about
// 23.5 M positions; OMNISTOCK_POSITIONS_MAX accepts up to 40 M for ledgers
// with fewer SKUs than positions.)
export const POS_WORD_INDEX_BITS: u32 = 26;

export const NONE: i32 = -1; // "no index" in i32 link fields
