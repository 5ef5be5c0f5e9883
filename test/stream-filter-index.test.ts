// Proves the stream's FilterIndex sends each message to exactly the clients whose filter matches() it: for random filters (skus, locations, channels, absent or empty, small or large), random messages, and random re-subscribes and disconnects, the clients visited plus the open ones equal the matches() set, each visited once. fast-check prints the seed on failure.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { StreamMessage } from "../src/stream/messages.js";
import { FilterIndex } from "../src/stream/ws-filter-index.js";
import { matches, parseSubscribe, type Filter } from "../src/stream/ws-subscription.js";

const SKUS = ["s0", "s1", "s2", "s3", "s4", "s5"];
const LOCATIONS = ["l0", "l1", "l2", "l3"];
const CHANNELS = ["web", "pos", "app"];

const ids = (pool: string[]): fc.Arbitrary<string[] | undefined> => fc.option(fc.subarray(pool), { nil: undefined });
const filterArb: fc.Arbitrary<Filter> = fc
  .record({ skus: ids(SKUS), locations: ids(LOCATIONS), channels: ids(CHANNELS) })
  .map((f) => parseSubscribe({ op: "subscribe", ...Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) }).filter);
const messageArb: fc.Arbitrary<StreamMessage> = fc.oneof(
  fc.record({ sku: fc.constantFrom(...SKUS), location: fc.constantFrom(...LOCATIONS) }).map(
    ({ sku, location }) => ({ type: "delta", seq: 1, sku, location, available: 0, onHand: 0, reserved: 0, committed: 0, safetyStock: 0, shortfall: 0, version: 1, ts: "" }) as StreamMessage,
  ),
  fc.record({ sku: fc.constantFrom(...SKUS), channel: fc.constantFrom(...CHANNELS) }).map(({ sku, channel }) => ({ type: "channel", seq: 1, channel, sku, available: 0, ts: "" }) as StreamMessage),
);
/** A step: client `c` subscribes with a filter, or disconnects (null). */
const stepArb = fc.record({ c: fc.nat(7), filter: fc.option(filterArb, { nil: null }) });

/** The clients `index` sends `message` to: the visited ones (counted) and the open ones. */
function recipients<C>(index: FilterIndex<C>, message: StreamMessage): C[] {
  const got: C[] = [...index.open];
  index.forEachFiltered(message, 0, (c) => got.push(c));
  return got.sort(); // clients here are single digits or names: the default order is total
}

describe("stream filter index", () => {
  test("visits exactly the clients matches() accepts, once each, through re-subscribes and disconnects", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), fc.array(messageArb, { minLength: 1, maxLength: 20 }), (steps, messages) => {
        const index = new FilterIndex<number>();
        const filters = new Map<number, Filter>();
        for (const { c, filter } of steps) {
          if (filter === null) (index.remove(c), filters.delete(c));
          else (index.add(c, filter), filters.set(c, filter));
          for (const message of messages) {
            const expected = [...filters].filter(([, f]) => matches(f, message)).map(([k]) => k).sort();
            expect(recipients(index, message)).toEqual(expected);
          }
        }
        expect(index.size).toBe(filters.size);
      }),
      { numRuns: 300 },
    );
  });

  test("a filter with both skus and locations needs both, whichever set it is filed under", () => {
    const index = new FilterIndex<string>();
    const subscribe = (f: object): Filter => parseSubscribe({ op: "subscribe", ...f }).filter;
    index.add("few-skus", subscribe({ skus: ["a"], locations: ["x", "y"] })); // filed by sku
    index.add("few-locations", subscribe({ skus: ["a", "b"], locations: ["x"] })); // filed by location
    const delta = (sku: string, location: string): StreamMessage =>
      ({ type: "delta", seq: 1, sku, location, available: 0, onHand: 0, reserved: 0, committed: 0, safetyStock: 0, shortfall: 0, version: 1, ts: "" }) as StreamMessage;
    expect(recipients(index, delta("a", "x"))).toEqual(["few-locations", "few-skus"]);
    expect(recipients(index, delta("a", "y"))).toEqual(["few-skus"]);
    expect(recipients(index, delta("b", "y"))).toEqual([]);
    expect(recipients(index, delta("b", "x"))).toEqual(["few-locations"]);
    expect(recipients(index, delta("a", "z"))).toEqual([]); // filed under "a", but z is not among its locations
    expect(recipients(index, delta("c", "x"))).toEqual([]); // filed under "x", but c is not among its skus
  });
});
