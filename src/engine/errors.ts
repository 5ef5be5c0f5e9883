// The one place where a ledger status becomes an HTTP status, a SPEC error
// code and a message. Business outcomes stay statuses until here.

import { LedgerStatus } from "../ledger/status.js";

export interface ErrorShape {
  http: number;
  code: string;
  message: string;
}

const CATALOGUE: Record<LedgerStatus, ErrorShape> = {
  [LedgerStatus.Ok]: { http: 200, code: "ok", message: "ok" },
  [LedgerStatus.ReservationNotFound]: { http: 404, code: "not_found", message: "reservation not found" },
  [LedgerStatus.ChannelNotFound]: { http: 404, code: "not_found", message: "channel not found" },
  [LedgerStatus.InsufficientStock]: { http: 409, code: "insufficient_stock", message: "not enough stock available for every line" },
  [LedgerStatus.IdempotencyConflict]: { http: 409, code: "idempotency_conflict", message: "a reservation with this id exists with a different channel or lines" },
  [LedgerStatus.OnHandMustNotGoNegative]: { http: 409, code: "negative_on_hand", message: "the adjustment would take onHand below 0" },
  [LedgerStatus.OnHandMustNotExceedLimit]: { http: 409, code: "on_hand_limit", message: "the adjustment would take onHand above 1,000,000,000" },
  [LedgerStatus.InvalidTransition]: { http: 409, code: "invalid_transition", message: "the reservation's status does not allow this move" },
  [LedgerStatus.LocationDisabled]: { http: 409, code: "location_disabled", message: "the location is disabled" },
  [LedgerStatus.LocationNotInChannel]: { http: 409, code: "location_not_in_channel", message: "the channel does not sell from this location" },
  [LedgerStatus.ReservationExpired]: { http: 410, code: "reservation_expired", message: "the reservation has expired" },
  [LedgerStatus.LedgerFull]: { http: 507, code: "ledger_full", message: "the ledger is at a configured capacity" },
  [LedgerStatus.QuantityOutOfRange]: { http: 400, code: "invalid_request", message: "a quantity is out of range" },
  [LedgerStatus.IdLengthOutOfRange]: { http: 400, code: "invalid_request", message: "an id is empty or too long" },
};

export function errorFor(status: LedgerStatus): ErrorShape {
  return CATALOGUE[status];
}

/** The SPEC error body for a status, with optional extra fields. */
export function errorBody(status: LedgerStatus, prefix?: string, extra?: Record<string, unknown>): { error: string; message: string } {
  const shape = CATALOGUE[status];
  return { error: shape.code, message: prefix ? `${prefix}: ${shape.message}` : shape.message, ...extra };
}
