// Result codes of every ledger entry point: business outcomes, never traps.
// Keep in step with src/ledger/status.ts (the JS mirror of this catalogue).

export const enum Status {
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
