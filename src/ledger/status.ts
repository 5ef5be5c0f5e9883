// Business outcomes of ledger commands, one catalogue shared by every ledger
// implementation. The numbers mirror assembly/status.ts (the WebAssembly
// ledger returns them as i32); src/engine/errors.ts maps each to one HTTP
// status and one SPEC error code.

export enum LedgerStatus {
  Ok = 0,
  ReservationNotFound = 1,
  ChannelNotFound = 2,
  InsufficientStock = 3,
  IdempotencyConflict = 4,
  OnHandMustNotGoNegative = 5,
  OnHandMustNotExceedLimit = 6,
  InvalidTransition = 7,
  LocationDisabled = 8,
  LocationNotInChannel = 9,
  ReservationExpired = 10,
  LedgerFull = 11,
  QuantityOutOfRange = 12,
  IdLengthOutOfRange = 13,
}
