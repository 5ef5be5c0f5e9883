// Proves that every StockLedger implementation honours SPEC sections 2–3 and docs/semantics.md, transition by transition and status by status.
//
// One suite, run against each implementation in the table below (the Hono
// router tests' pattern). An implementation that cannot be loaded yet is
// listed as a skipped suite with the reason, never silently dropped.

import { describe, expect, it } from "vitest";
import { CHANNELS_MAX, LOCATIONS_MAX } from "../src/ledger/limits.js";
import { ReferenceLedger, type ReferenceLedgerOptions } from "../src/ledger/reference-model.js";
import {
  LedgerStatus,
  type HoldLine,
  type PositionFigures,
  type ReservationStatus,
  type StockLedger,
} from "../src/ledger/types.js";

type Factory = (options?: ReferenceLedgerOptions) => StockLedger;

const implementations: Array<[string, Factory]> = [["reference", (options) => new ReferenceLedger(options)]];
const skipped: Array<[string, string]> = [];

// The WebAssembly ledger is written in parallel; until its module loads, its
// suite is reported as skipped with the import error as the reason.
try {
  const wasm = (await import("../src/ledger/wasm-ledger.js")) as { createWasmLedger: Factory };
  implementations.push(["wasm", (options) => wasm.createWasmLedger(options)]);
} catch (error) {
  skipped.push(["wasm", `src/ledger/wasm-ledger.ts does not load: ${(error as Error).message.split("\n")[0]}`]);
}

const NOW = 1_700_000_000_000; // epoch ms
const TTL = 900_000; // ms, the SPEC's default 900 s
const BILLION = 1_000_000_000;

// The ids every "unchanged" observation reads back.
const SKUS = ["sku-a", "sku-b", "sku-c"];
const LOCATIONS = ["loc-1", "loc-2", "loc-3"];
const CHANNELS = ["web", "market", "ghost"];
const RESERVATION_IDS = ["r1", "r2", "r3", "r4"];

function read(ledger: StockLedger, sku: string, location: string): PositionFigures {
  const out: PositionFigures = { available: -1, onHand: -1, reserved: -1, committed: -1, safetyStock: -1, shortfall: -1, version: -1 };
  ledger.readPosition(sku, location, out);
  return out;
}

function figures(values: Partial<PositionFigures>): PositionFigures {
  return { available: 0, onHand: 0, reserved: 0, committed: 0, safetyStock: 0, shortfall: 0, version: 0, ...values };
}

/** Everything a client can read about the ids above, rendered to one string so "unchanged" means byte-for-byte. */
function observe(ledger: StockLedger): string {
  return JSON.stringify({
    positions: SKUS.flatMap((sku) => LOCATIONS.map((location) => read(ledger, sku, location))),
    skus: SKUS.map((sku) => ledger.readSku(sku)),
    channelReads: SKUS.flatMap((sku) => CHANNELS.map((channel) => ledger.readSkuForChannel(sku, channel))),
    reservations: RESERVATION_IDS.map((id) => ledger.reservation(id)),
    locations: ledger.listLocations(),
    channels: ledger.listChannels(),
    counts: ledger.counts(),
  });
}

function stock(ledger: StockLedger, sku: string, location: string, onHand: number): void {
  expect(ledger.setStock([{ sku, location, onHand }]).status).toBe(LedgerStatus.Ok);
}

function line(sku: string, location: string, qty: number): HoldLine {
  return { sku, location, qty };
}

function holdOk(ledger: StockLedger, id: string, lines: HoldLine[], channel: string | null = null, ttlMs = TTL, nowMs = NOW): void {
  expect(ledger.hold(id, channel, lines, ttlMs, nowMs)).toMatchObject({ status: LedgerStatus.Ok, created: true });
}

function contract(create: Factory): void {
  describe("reads of unknown things", () => {
    it("answers zeros, empty lists and null, and creates nothing", () => {
      const ledger = create();
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({}));
      expect(ledger.readSku("sku-a")).toEqual({ available: 0, locations: [] });
      expect(ledger.readSkuForChannel("sku-a", "web")).toBeNull();
      expect(ledger.reservation("r1")).toBeNull();
      expect(ledger.listLocations()).toEqual([]);
      expect(ledger.listChannels()).toEqual([]);
      expect(ledger.counts()).toEqual({ positions: 0, skus: 0, locations: 0, channels: 0, reservations: 0, reservationsHeld: 0 });
    });

    it("answers all zeros for an unknown position even at a location with a default safetyStock", () => {
      // The interface's rule: an unknown position reads zeros, not inherited settings.
      const ledger = create();
      ledger.putLocation("loc-1", { safetyStock: 5 });
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({}));
      expect(ledger.counts().positions).toBe(0);
    });

    it("answers an existing channel's read of an unknown SKU with zero and no locations", () => {
      const ledger = create();
      ledger.putChannel("web", {});
      expect(ledger.readSkuForChannel("sku-a", "web")).toEqual({ available: 0, locations: [] });
    });
  });

  describe("setStock", () => {
    it("creates a position and its location, reports it, and counts one version", () => {
      const ledger = create();
      const outcome = ledger.setStock([{ sku: "sku-a", location: "loc-1", onHand: 10 }]);
      const position = { sku: "sku-a", location: "loc-1", enabled: true, ...figures({ available: 10, onHand: 10, version: 1 }) };
      expect(outcome).toEqual({ status: LedgerStatus.Ok, changed: true, positions: [position] });
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 10, onHand: 10, version: 1 }));
      expect(ledger.readSku("sku-a")).toEqual({ available: 10, locations: [position] });
      expect(ledger.listLocations()).toEqual([{ id: "loc-1", enabled: true, safetyStock: 0, kind: null, name: null }]);
      expect(ledger.counts()).toMatchObject({ positions: 1, skus: 1, locations: 1 });
    });

    it("creates an all-zero position at version 0 that the all-locations read lists", () => {
      // Creation alone is no figure change, yet it is a state change.
      const ledger = create();
      const outcome = ledger.setStock([{ sku: "sku-a", location: "loc-1", onHand: 0 }]);
      expect(outcome).toMatchObject({ status: LedgerStatus.Ok, changed: true });
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({}));
      expect(ledger.readSku("sku-a").locations).toHaveLength(1);
      expect(ledger.counts().positions).toBe(1);
    });

    it("changes nothing, not even the version, when the values are the same", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      const outcome = ledger.setStock([{ sku: "sku-a", location: "loc-1", onHand: 10 }]);
      expect(outcome).toMatchObject({ status: LedgerStatus.Ok, changed: false });
      expect(read(ledger, "sku-a", "loc-1").version).toBe(1);
    });

    it("applies items in order, lists each distinct position once in first-seen order, one version per request", () => {
      const ledger = create();
      stock(ledger, "sku-b", "loc-1", 1);
      const outcome = ledger.setStock([
        { sku: "sku-a", location: "loc-1", onHand: 3 },
        { sku: "sku-b", location: "loc-1", onHand: 4 },
        { sku: "sku-a", location: "loc-1", onHand: 7 },
      ]);
      expect(outcome.status).toBe(LedgerStatus.Ok);
      if (!("positions" in outcome)) throw new Error("expected positions");
      expect(outcome.positions.map((p) => [p.sku, p.onHand, p.version])).toEqual([
        ["sku-a", 7, 1],
        ["sku-b", 4, 2],
      ]);
    });

    it("bumps no version when a request sets a value and then sets it back", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 5);
      const outcome = ledger.setStock([
        { sku: "sku-a", location: "loc-1", onHand: 9 },
        { sku: "sku-a", location: "loc-1", onHand: 5 },
      ]);
      expect(outcome).toMatchObject({ status: LedgerStatus.Ok, changed: false });
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 5, onHand: 5, version: 1 }));
    });

    it("leaves onHand as it was when an item gives only safetyStock", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      ledger.setStock([{ sku: "sku-a", location: "loc-1", safetyStock: 3 }]);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 7, onHand: 10, safetyStock: 3, version: 2 }));
      // And safetyStock as it was when an item gives only onHand.
      ledger.setStock([{ sku: "sku-a", location: "loc-1", onHand: 12 }]);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 9, onHand: 12, safetyStock: 3, version: 3 }));
    });

    it("uses the position's own safetyStock, else the location default; null clears the own value", () => {
      const ledger = create();
      ledger.putLocation("loc-1", { safetyStock: 4 });
      stock(ledger, "sku-a", "loc-1", 10);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 6, onHand: 10, safetyStock: 4, version: 1 }));
      ledger.setStock([{ sku: "sku-a", location: "loc-1", safetyStock: 1 }]);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 9, onHand: 10, safetyStock: 1, version: 2 }));
      ledger.setStock([{ sku: "sku-a", location: "loc-1", safetyStock: null }]);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 6, onHand: 10, safetyStock: 4, version: 3 }));
    });

    it("clamps available at 0 when safetyStock exceeds onHand", () => {
      const ledger = create();
      ledger.setStock([{ sku: "sku-a", location: "loc-1", onHand: 3, safetyStock: 5 }]);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 0, onHand: 3, safetyStock: 5, version: 1 }));
    });

    it("treats setting the own safetyStock to the inherited value as a setting change without a version", () => {
      const ledger = create();
      ledger.putLocation("loc-1", { safetyStock: 4 });
      stock(ledger, "sku-a", "loc-1", 10);
      const outcome = ledger.setStock([{ sku: "sku-a", location: "loc-1", safetyStock: 4 }]);
      expect(outcome).toMatchObject({ status: LedgerStatus.Ok, changed: true });
      expect(read(ledger, "sku-a", "loc-1").version).toBe(1);
      // The own value now shields the position from the location's default.
      ledger.putLocation("loc-1", { safetyStock: 0 });
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 6, onHand: 10, safetyStock: 4, version: 1 }));
    });

    it("changes nothing when safetyStock is set to its own value again, or null when there is none", () => {
      const ledger = create();
      ledger.setStock([{ sku: "sku-a", location: "loc-1", onHand: 10, safetyStock: 2 }]);
      ledger.setStock([{ sku: "sku-b", location: "loc-1", onHand: 10 }]);
      const before = observe(ledger);
      expect(ledger.setStock([{ sku: "sku-a", location: "loc-1", safetyStock: 2 }])).toMatchObject({ changed: false });
      expect(ledger.setStock([{ sku: "sku-b", location: "loc-1", safetyStock: null }])).toMatchObject({ changed: false });
      expect(observe(ledger)).toBe(before);
    });

    it("reports shortfall when a count falls below demand, and never refuses it", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 6)]);
      expect(ledger.commit("r1", NOW).status).toBe(LedgerStatus.Ok);
      holdOk(ledger, "r2", [line("sku-a", "loc-1", 2)]);
      const outcome = ledger.setStock([{ sku: "sku-a", location: "loc-1", onHand: 5 }]);
      expect(outcome.status).toBe(LedgerStatus.Ok);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ onHand: 5, reserved: 2, committed: 6, shortfall: 3, version: 5 }));
    });
  });

  describe("adjustStock", () => {
    it("applies deltas in order, so a later item sees the earlier ones", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 3);
      const outcome = ledger.adjustStock([
        { sku: "sku-a", location: "loc-1", delta: 5 },
        { sku: "sku-a", location: "loc-1", delta: -7 },
      ]);
      expect(outcome).toMatchObject({ status: LedgerStatus.Ok, changed: true });
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 1, onHand: 1, version: 2 }));
    });

    it("accepts the bounds 0 and 1,000,000,000 exactly", () => {
      const ledger = create();
      expect(ledger.adjustStock([{ sku: "sku-a", location: "loc-1", delta: BILLION }]).status).toBe(LedgerStatus.Ok);
      expect(read(ledger, "sku-a", "loc-1").onHand).toBe(BILLION);
      expect(ledger.adjustStock([{ sku: "sku-a", location: "loc-1", delta: -BILLION }]).status).toBe(LedgerStatus.Ok);
      expect(read(ledger, "sku-a", "loc-1").onHand).toBe(0);
    });

    it("creates a position with a zero delta at version 0", () => {
      const ledger = create();
      expect(ledger.adjustStock([{ sku: "sku-a", location: "loc-1", delta: 0 }])).toMatchObject({ status: LedgerStatus.Ok, changed: true });
      expect(ledger.readSku("sku-a").locations).toEqual([{ sku: "sku-a", location: "loc-1", enabled: true, ...figures({}) }]);
    });

    it.each([
      ["below 0", -5, LedgerStatus.OnHandMustNotGoNegative],
      ["above 1,000,000,000", BILLION, LedgerStatus.OnHandMustNotExceedLimit],
    ])("rejects the whole request when an item takes onHand %s, naming that item", (_, delta, status) => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 3);
      const before = observe(ledger);
      const outcome = ledger.adjustStock([
        { sku: "sku-a", location: "loc-1", delta: 1 },
        { sku: "sku-b", location: "loc-2", delta: 5 }, // would create a position and a location
        { sku: "sku-a", location: "loc-1", delta },
        { sku: "sku-c", location: "loc-1", delta: -1 }, // also fails, but later
      ]);
      expect(outcome).toEqual({ status, itemIndex: 2 });
      expect(observe(ledger)).toBe(before);
    });

    it("rejects a negative delta on a new position without creating it", () => {
      const ledger = create();
      expect(ledger.adjustStock([{ sku: "sku-a", location: "loc-1", delta: -1 }])).toEqual({
        status: LedgerStatus.OnHandMustNotGoNegative,
        itemIndex: 0,
      });
      expect(ledger.counts()).toMatchObject({ positions: 0, skus: 0, locations: 0 });
    });

    it("reports shortfall when goods leave below demand", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 8)]);
      ledger.adjustStock([{ sku: "sku-a", location: "loc-1", delta: -5 }]);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ onHand: 5, reserved: 8, shortfall: 3, version: 3 }));
      // Releasing the demand clears the shortfall.
      ledger.release("r1", NOW);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 5, onHand: 5, version: 4 }));
    });
  });

  describe("hold", () => {
    it("reserves every line, lowers available, bumps versions and answers the new reservation", () => {
      const ledger = create();
      ledger.setStock([
        { sku: "sku-a", location: "loc-1", onHand: 10 },
        { sku: "sku-b", location: "loc-2", onHand: 4 },
      ]);
      const outcome = ledger.hold("r1", null, [line("sku-a", "loc-1", 3), line("sku-b", "loc-2", 4)], 60_000, NOW);
      expect(outcome).toEqual({
        status: LedgerStatus.Ok,
        created: true,
        changed: true,
        reservation: {
          id: "r1",
          status: "held",
          channel: null,
          lines: [line("sku-a", "loc-1", 3), line("sku-b", "loc-2", 4)],
          expiresAtMs: NOW + 60_000,
        },
      });
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 7, onHand: 10, reserved: 3, version: 2 }));
      expect(read(ledger, "sku-b", "loc-2")).toEqual(figures({ available: 0, onHand: 4, reserved: 4, version: 2 }));
      expect(ledger.counts()).toMatchObject({ reservations: 1, reservationsHeld: 1 });
    });

    it("merges lines naming the same position, in first-seen order, and checks the merged quantity", () => {
      const ledger = create();
      ledger.setStock([
        { sku: "sku-a", location: "loc-1", onHand: 5 },
        { sku: "sku-b", location: "loc-1", onHand: 5 },
      ]);
      const lines = [line("sku-b", "loc-1", 1), line("sku-a", "loc-1", 3), line("sku-b", "loc-1", 2)];
      const outcome = ledger.hold("r1", null, lines, TTL, NOW);
      expect(outcome).toMatchObject({ reservation: { lines: [line("sku-b", "loc-1", 3), line("sku-a", "loc-1", 3)] } });
      expect(read(ledger, "sku-b", "loc-1").reserved).toBe(3);
      // Each line alone fits (3 ≤ 5), their sum does not.
      const before = observe(ledger);
      expect(ledger.hold("r2", null, [line("sku-a", "loc-1", 1), line("sku-a", "loc-1", 2)], TTL, NOW)).toEqual({
        status: LedgerStatus.InsufficientStock,
        shortLines: [{ sku: "sku-a", location: "loc-1", requested: 3, available: 2 }],
      });
      expect(observe(ledger)).toBe(before);
    });

    it("holds nothing when one line is short, and lists every short merged line with its available", () => {
      const ledger = create();
      ledger.setStock([
        { sku: "sku-a", location: "loc-1", onHand: 10 },
        { sku: "sku-b", location: "loc-1", onHand: 2 },
        { sku: "sku-c", location: "loc-1", onHand: 1 },
      ]);
      const before = observe(ledger);
      const outcome = ledger.hold(
        "r1",
        null,
        [line("sku-a", "loc-1", 10), line("sku-b", "loc-1", 3), line("sku-c", "loc-2", 1), line("sku-c", "loc-1", 1)],
        TTL,
        NOW,
      );
      expect(outcome).toEqual({
        status: LedgerStatus.InsufficientStock,
        shortLines: [
          { sku: "sku-b", location: "loc-1", requested: 3, available: 2 },
          { sku: "sku-c", location: "loc-2", requested: 1, available: 0 }, // unknown position: 0
        ],
      });
      expect(observe(ledger)).toBe(before);
      expect(ledger.reservation("r1")).toBeNull();
    });

    it("checks against available net of safetyStock, and never creates shortfall", () => {
      const ledger = create();
      ledger.setStock([{ sku: "sku-a", location: "loc-1", onHand: 10, safetyStock: 4 }]);
      expect(ledger.hold("r1", null, [line("sku-a", "loc-1", 7)], TTL, NOW)).toEqual({
        status: LedgerStatus.InsufficientStock,
        shortLines: [{ sku: "sku-a", location: "loc-1", requested: 7, available: 6 }],
      });
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 6)]);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 0, onHand: 10, reserved: 6, safetyStock: 4, version: 2 }));
    });

    it("does not create an unknown location it names", () => {
      const ledger = create();
      ledger.hold("r1", null, [line("sku-a", "nowhere", 1)], TTL, NOW);
      expect(ledger.listLocations()).toEqual([]);
      expect(ledger.counts()).toMatchObject({ locations: 0, positions: 0 });
    });

    it("with a channel, checks each line against max(0, available − buffer)", () => {
      const ledger = create();
      ledger.setStock([
        { sku: "sku-a", location: "loc-1", onHand: 10 },
        { sku: "sku-b", location: "loc-1", onHand: 2 },
      ]);
      ledger.putChannel("market", { buffer: 3 });
      expect(ledger.hold("r1", "market", [line("sku-a", "loc-1", 8), line("sku-b", "loc-1", 1)], TTL, NOW)).toEqual({
        status: LedgerStatus.InsufficientStock,
        shortLines: [
          { sku: "sku-a", location: "loc-1", requested: 8, available: 7 },
          { sku: "sku-b", location: "loc-1", requested: 1, available: 0 },
        ],
      });
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 7)], "market");
      expect(ledger.reservation("r1")).toMatchObject({ channel: "market", status: "held" });
      // Without a channel the buffer does not apply.
      holdOk(ledger, "r2", [line("sku-b", "loc-1", 2)]);
    });

    it("answers channel_not_found for an unknown channel", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      const before = observe(ledger);
      expect(ledger.hold("r1", "ghost", [line("sku-a", "loc-1", 1)], TTL, NOW)).toEqual({
        status: LedgerStatus.ChannelNotFound,
        lineIndex: -1,
      });
      expect(observe(ledger)).toBe(before);
    });

    it("answers location_not_in_channel naming the first line outside the channel", () => {
      const ledger = create();
      ledger.setStock([
        { sku: "sku-a", location: "loc-1", onHand: 10 },
        { sku: "sku-a", location: "loc-2", onHand: 10 },
      ]);
      ledger.putChannel("web", { locations: ["loc-1"] });
      const before = observe(ledger);
      expect(ledger.hold("r1", "web", [line("sku-a", "loc-1", 1), line("sku-a", "loc-2", 1)], TTL, NOW)).toEqual({
        status: LedgerStatus.LocationNotInChannel,
        lineIndex: 1,
      });
      expect(observe(ledger)).toBe(before);
    });

    it("answers location_disabled naming the first line at a disabled location", () => {
      const ledger = create();
      ledger.setStock([
        { sku: "sku-a", location: "loc-1", onHand: 10 },
        { sku: "sku-a", location: "loc-2", onHand: 10 },
      ]);
      ledger.putLocation("loc-2", { enabled: false });
      const before = observe(ledger);
      expect(ledger.hold("r1", null, [line("sku-a", "loc-1", 1), line("sku-a", "loc-2", 1)], TTL, NOW)).toEqual({
        status: LedgerStatus.LocationDisabled,
        lineIndex: 1,
      });
      expect(observe(ledger)).toBe(before);
    });

    it.each([
      ["location_disabled", null, LedgerStatus.LocationDisabled],
      ["location_not_in_channel", "web", LedgerStatus.LocationNotInChannel],
    ])("%s names the request's line index, not the merged line's", (_, channel, status) => {
      // Clients know their request, not our merge: lines[2] is the one to fix.
      const ledger = create();
      ledger.setStock([
        { sku: "sku-a", location: "loc-1", onHand: 10 },
        { sku: "sku-a", location: "loc-2", onHand: 10 },
      ]);
      ledger.putLocation("loc-2", { enabled: channel !== null }); // disabled only in the location_disabled case
      ledger.putChannel("web", { locations: ["loc-1"] });
      const lines = [line("sku-a", "loc-1", 1), line("sku-a", "loc-1", 1), line("sku-a", "loc-2", 1)];
      expect(ledger.hold("r1", channel, lines, TTL, NOW)).toEqual({ status, lineIndex: 2 });
    });

    describe("precedence: existing id, unknown channel, outside channel, disabled, insufficient, capacity", () => {
      // Each case breaks two rules at once; the earlier rule must answer.
      function world(): StockLedger {
        const ledger = create({ reservationsMax: 2 });
        ledger.setStock([
          { sku: "sku-a", location: "loc-1", onHand: 10 },
          { sku: "sku-a", location: "loc-2", onHand: 10 },
          { sku: "sku-a", location: "loc-3", onHand: 10 },
        ]);
        ledger.putLocation("loc-2", { enabled: false });
        ledger.putChannel("web", { locations: ["loc-1", "loc-2"] });
        holdOk(ledger, "r1", [line("sku-a", "loc-1", 1)]);
        return ledger;
      }
      const fits = line("sku-a", "loc-1", 1);
      const short = line("sku-a", "loc-1", 100);
      const disabled = line("sku-a", "loc-2", 1);
      const outside = line("sku-a", "loc-3", 1);
      it.each([
        ["existing id over unknown channel", "r1", "ghost", [fits], { status: LedgerStatus.IdempotencyConflict, lineIndex: -1 }],
        ["unknown channel over outside channel", "r2", "ghost", [outside], { status: LedgerStatus.ChannelNotFound, lineIndex: -1 }],
        ["outside channel over disabled", "r2", "web", [disabled, outside], { status: LedgerStatus.LocationNotInChannel, lineIndex: 1 }],
        ["disabled over insufficient", "r2", null, [short, disabled], { status: LedgerStatus.LocationDisabled, lineIndex: 1 }],
        [
          "insufficient over capacity",
          "r3", // r2 fills reservationsMax first
          null,
          [short],
          { status: LedgerStatus.InsufficientStock, shortLines: [{ sku: "sku-a", location: "loc-1", requested: 100, available: 9 }] },
        ],
      ] as const)("%s", (_, id, channel, lines, expected) => {
        const ledger = world();
        if (id === "r3") holdOk(ledger, "r2", [line("sku-a", "loc-3", 1)]);
        const before = observe(ledger);
        expect(ledger.hold(id, channel, [...lines], TTL, NOW)).toEqual(expected);
        expect(observe(ledger)).toBe(before);
      });
    });

    it("answers ledger_full past the reservation capacity, changing nothing; released ids still count", () => {
      const ledger = create({ reservationsMax: 1 });
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 1)]);
      ledger.release("r1", NOW);
      const before = observe(ledger);
      expect(ledger.hold("r2", null, [line("sku-a", "loc-1", 1)], TTL, NOW)).toEqual({ status: LedgerStatus.LedgerFull, lineIndex: -1 });
      expect(observe(ledger)).toBe(before);
    });

    describe("repeats of the same id", () => {
      function world(): StockLedger {
        const ledger = create();
        ledger.setStock([
          { sku: "sku-a", location: "loc-1", onHand: 10 },
          { sku: "sku-b", location: "loc-1", onHand: 10 },
        ]);
        ledger.putChannel("web", {});
        holdOk(ledger, "r1", [line("sku-a", "loc-1", 2), line("sku-b", "loc-1", 3)], "web", 60_000);
        return ledger;
      }
      const original = {
        id: "r1",
        status: "held",
        channel: "web",
        lines: [line("sku-a", "loc-1", 2), line("sku-b", "loc-1", 3)],
        expiresAtMs: NOW + 60_000,
      };

      it.each([
        ["the same lines", [line("sku-a", "loc-1", 2), line("sku-b", "loc-1", 3)]],
        ["the same lines in another order", [line("sku-b", "loc-1", 3), line("sku-a", "loc-1", 2)]],
        ["lines that merge to the same", [line("sku-b", "loc-1", 1), line("sku-a", "loc-1", 2), line("sku-b", "loc-1", 2)]],
      ])("answers the current state for %s, whatever the TTL, changing nothing", (_, lines) => {
        const ledger = world();
        const before = observe(ledger);
        expect(ledger.hold("r1", "web", lines, 5_000, NOW + 1_000)).toEqual({
          status: LedgerStatus.Ok,
          created: false,
          changed: false,
          reservation: original,
        });
        expect(observe(ledger)).toBe(before);
      });

      it.each([
        ["another quantity", "web", [line("sku-a", "loc-1", 2), line("sku-b", "loc-1", 4)]],
        ["a missing line", "web", [line("sku-a", "loc-1", 2)]],
        ["an extra line", "web", [line("sku-a", "loc-1", 2), line("sku-b", "loc-1", 3), line("sku-c", "loc-1", 1)]],
        ["another location", "web", [line("sku-a", "loc-2", 2), line("sku-b", "loc-1", 3)]],
        ["no channel", null, [line("sku-a", "loc-1", 2), line("sku-b", "loc-1", 3)]],
        ["another channel", "market", [line("sku-a", "loc-1", 2), line("sku-b", "loc-1", 3)]],
      ])("answers idempotency_conflict for %s, changing nothing", (_, channel, lines) => {
        const ledger = world();
        const before = observe(ledger);
        expect(ledger.hold("r1", channel, lines, 60_000, NOW)).toEqual({ status: LedgerStatus.IdempotencyConflict, lineIndex: -1 });
        expect(observe(ledger)).toBe(before);
      });

      it.each([
        ["committed", (l: StockLedger) => l.commit("r1", NOW)],
        ["released", (l: StockLedger) => l.release("r1", NOW)],
        [
          "fulfilled",
          (l: StockLedger) => {
            l.commit("r1", NOW);
            l.fulfill("r1", NOW);
          },
        ],
        ["expired", (l: StockLedger) => l.expire(NOW + 60_000, 10)],
      ] as const)("answers the final state once %s", (status, move) => {
        const ledger = world();
        move(ledger);
        const before = observe(ledger);
        expect(ledger.hold("r1", "web", original.lines, 60_000, NOW + 120_000)).toEqual({
          status: LedgerStatus.Ok,
          created: false,
          changed: false,
          reservation: { ...original, status },
        });
        expect(observe(ledger)).toBe(before);
      });

      it("expires a due hold before answering the repeat", () => {
        const ledger = world();
        expect(ledger.hold("r1", "web", original.lines, 60_000, NOW + 60_000)).toEqual({
          status: LedgerStatus.Ok,
          created: false,
          changed: true,
          reservation: { ...original, status: "expired" },
        });
        expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 10, onHand: 10, version: 3 }));
        expect(ledger.counts().reservationsHeld).toBe(0);
      });
    });
  });

  describe("commit, release, fulfill", () => {
    // Each reservation holds 2 of sku-a@loc-1, onHand 10, and is brought into `status` first.
    function reservationIn(status: ReservationStatus): StockLedger {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 2)], null, 1_000);
      if (status === "committed" || status === "fulfilled") ledger.commit("r1", NOW);
      if (status === "fulfilled") ledger.fulfill("r1", NOW);
      if (status === "released") ledger.release("r1", NOW);
      if (status === "expired") expect(ledger.expire(NOW + 1_000, 10)).toBe(1);
      expect(ledger.reservation("r1")?.status).toBe(status);
      return ledger;
    }

    type Move = "commit" | "release" | "fulfill";
    const ok = LedgerStatus.Ok;
    // from, move → answer status, changed (Ok only), status after, [onHand, reserved, committed] after
    const table: Array<[ReservationStatus, Move, LedgerStatus, boolean | null, ReservationStatus, [number, number, number]]> = [
      ["held", "commit", ok, true, "committed", [10, 0, 2]],
      ["held", "release", ok, true, "released", [10, 0, 0]],
      ["held", "fulfill", LedgerStatus.InvalidTransition, null, "held", [10, 2, 0]],
      ["committed", "commit", ok, false, "committed", [10, 0, 2]],
      ["committed", "release", ok, true, "released", [10, 0, 0]],
      ["committed", "fulfill", ok, true, "fulfilled", [8, 0, 0]],
      ["fulfilled", "commit", LedgerStatus.InvalidTransition, null, "fulfilled", [8, 0, 0]],
      ["fulfilled", "release", LedgerStatus.InvalidTransition, null, "fulfilled", [8, 0, 0]],
      ["fulfilled", "fulfill", ok, false, "fulfilled", [8, 0, 0]],
      ["released", "commit", LedgerStatus.InvalidTransition, null, "released", [10, 0, 0]],
      ["released", "release", ok, false, "released", [10, 0, 0]],
      ["released", "fulfill", LedgerStatus.InvalidTransition, null, "released", [10, 0, 0]],
      ["expired", "commit", LedgerStatus.ReservationExpired, null, "expired", [10, 0, 0]],
      ["expired", "release", LedgerStatus.ReservationExpired, null, "expired", [10, 0, 0]],
      ["expired", "fulfill", LedgerStatus.ReservationExpired, null, "expired", [10, 0, 0]],
    ];

    const named = table.map((row) => [`${row[0]} × ${row[1]} → ${LedgerStatus[row[2]]} (${row[4]})`, ...row] as const);
    it.each(named)("%s", (_, from, move, status, changed, after, [onHand, reserved, committed]) => {
      const ledger = reservationIn(from);
      const before = observe(ledger);
      const versionBefore = read(ledger, "sku-a", "loc-1").version;
      const outcome = ledger[move]("r1", NOW); // before the hold's expiry, so only the stored status decides
      const reservation = { id: "r1", status: after, channel: null, lines: [line("sku-a", "loc-1", 2)], expiresAtMs: NOW + 1_000 };
      expect(outcome).toEqual(changed === null ? { status, reservation } : { status, changed, reservation });
      const position = read(ledger, "sku-a", "loc-1");
      expect([position.onHand, position.reserved, position.committed]).toEqual([onHand, reserved, committed]);
      if (changed) expect(position.version).toBe(versionBefore + 1);
      else expect(observe(ledger)).toBe(before);
    });

    it.each(["commit", "release", "fulfill"] as const)("%s of an unknown id answers reservation_not_found", (move) => {
      const ledger = create();
      expect(ledger[move]("nope", NOW)).toEqual({ status: LedgerStatus.ReservationNotFound, reservation: null });
    });

    it("fulfill takes min(qty, onHand) from onHand, clearing the shortfall", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 5);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 5)]);
      ledger.commit("r1", NOW);
      stock(ledger, "sku-a", "loc-1", 2); // a count finds only 2
      expect(read(ledger, "sku-a", "loc-1")).toMatchObject({ onHand: 2, committed: 5, shortfall: 3 });
      expect(ledger.fulfill("r1", NOW)).toMatchObject({ status: LedgerStatus.Ok, changed: true });
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ onHand: 0, version: 5 }));
    });

    it("moves every line of a multi-line reservation", () => {
      const ledger = create();
      ledger.setStock([
        { sku: "sku-a", location: "loc-1", onHand: 10 },
        { sku: "sku-b", location: "loc-2", onHand: 10 },
      ]);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 1), line("sku-b", "loc-2", 4)]);
      ledger.commit("r1", NOW);
      expect(read(ledger, "sku-b", "loc-2")).toEqual(figures({ available: 6, onHand: 10, committed: 4, version: 3 }));
      ledger.fulfill("r1", NOW);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 9, onHand: 9, version: 4 }));
      expect(read(ledger, "sku-b", "loc-2")).toEqual(figures({ available: 6, onHand: 6, version: 4 }));
    });
  });

  describe("expiry", () => {
    it.each(["commit", "release", "fulfill"] as const)("%s at or after expiresAt expires the hold first and answers 410", (move) => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 4)], null, 1_000);
      expect(ledger[move]("r1", NOW + 1_000)).toEqual({
        status: LedgerStatus.ReservationExpired,
        reservation: { id: "r1", status: "expired", channel: null, lines: [line("sku-a", "loc-1", 4)], expiresAtMs: NOW + 1_000 },
      });
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 10, onHand: 10, version: 3 }));
      expect(ledger.counts()).toMatchObject({ reservations: 1, reservationsHeld: 0 });
    });

    it("commit one millisecond before expiresAt succeeds, and a committed reservation never expires", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 4)], null, 1_000);
      expect(ledger.commit("r1", NOW + 999)).toMatchObject({ status: LedgerStatus.Ok, reservation: { status: "committed" } });
      expect(ledger.expire(NOW + 10_000_000, 10)).toBe(0);
      expect(ledger.fulfill("r1", NOW + 10_000_000)).toMatchObject({ status: LedgerStatus.Ok, reservation: { status: "fulfilled" } });
    });

    it("reservation reads report the stored status: no expiry without a command", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 4)], null, 1_000);
      expect(ledger.reservation("r1")?.status).toBe("held");
      expect(read(ledger, "sku-a", "loc-1").reserved).toBe(4);
    });

    it("expire() takes due holds by expiresAt, then creation order, up to the limit", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 100);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 1)], null, 3_000); // due at +3000
      holdOk(ledger, "r2", [line("sku-a", "loc-1", 2)], null, 2_000); // due at +2000
      holdOk(ledger, "r3", [line("sku-a", "loc-1", 4)], null, 1_000, NOW + 1_000); // due at +2000, created after r2
      holdOk(ledger, "r4", [line("sku-a", "loc-1", 8)], null, 5_000); // not due
      const statuses = () => RESERVATION_IDS.map((id) => ledger.reservation(id)?.status);

      expect(ledger.expire(NOW + 3_000, 0)).toBe(0);
      expect(ledger.expire(NOW + 1_999, 10)).toBe(0);
      expect(ledger.expire(NOW + 3_000, 1)).toBe(1);
      expect(statuses()).toEqual(["held", "expired", "held", "held"]);
      expect(ledger.expire(NOW + 3_000, 1)).toBe(1);
      expect(statuses()).toEqual(["held", "expired", "expired", "held"]);
      expect(ledger.expire(NOW + 3_000, 10)).toBe(1);
      expect(statuses()).toEqual(["expired", "expired", "expired", "held"]);
      expect(ledger.expire(NOW + 3_000, 10)).toBe(0);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 92, onHand: 100, reserved: 8, version: 8 }));
      expect(ledger.reservation("r2")?.expiresAtMs).toBe(NOW + 2_000);
      expect(ledger.counts()).toMatchObject({ reservations: 4, reservationsHeld: 1 });
    });
    it("expire() moves a position touched by several expiring holds one version", () => {
      // One command, one version step per position, however many holds it releases there.
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 1)], null, 1_000);
      holdOk(ledger, "r2", [line("sku-a", "loc-1", 2)], null, 2_000);
      expect(ledger.expire(NOW + 2_000, 10)).toBe(2);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 10, onHand: 10, version: 4 }));
    });
  });

  describe("purge (retention of finished reservations)", () => {
    const RETENTION = 60_000; // ms
    const UNLIMITED = 1_000_000;

    it("keeps a released reservation until the retention has passed since it finished, then forgets it", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 3)]);
      ledger.release("r1", NOW + 10);
      expect(ledger.purge(NOW + 10 + RETENTION - 1, RETENTION, UNLIMITED)).toBe(0);
      expect(ledger.reservation("r1")?.status).toBe("released");
      const positions = observe(ledger).replace(/"reservations":.*$/, "");
      expect(ledger.purge(NOW + 10 + RETENTION, RETENTION, UNLIMITED)).toBe(1);
      expect(ledger.reservation("r1")).toBeNull();
      expect(ledger.counts()).toMatchObject({ reservations: 0, reservationsHeld: 0 });
      // A purge changes no position, not even a version.
      expect(observe(ledger).replace(/"reservations":.*$/, "")).toBe(positions);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 10, onHand: 10, version: 3 }));
      expect(ledger.release("r1", NOW + 20 + RETENTION)).toEqual({ status: LedgerStatus.ReservationNotFound, reservation: null });
    });

    it("purges released, expired and fulfilled reservations, never held or committed ones", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 100);
      for (const id of RESERVATION_IDS) holdOk(ledger, id, [line("sku-a", "loc-1", 1)], null, id === "r4" ? 1_000 : TTL);
      ledger.commit("r2", NOW); // committed stays: an order not yet fulfilled
      ledger.release("r3", NOW);
      ledger.commit("r1", NOW);
      ledger.fulfill("r1", NOW);
      expect(ledger.expire(NOW + 1_000, 10)).toBe(1); // r4
      expect(ledger.purge(NOW + 1_000 + RETENTION, RETENTION, UNLIMITED)).toBe(3);
      expect(RESERVATION_IDS.map((id) => ledger.reservation(id)?.status ?? null)).toEqual([null, "committed", null, null]);
      ledger.fulfill("r2", NOW + 2 * RETENTION);
      expect(ledger.purge(NOW + 3 * RETENTION - 1, RETENTION, UNLIMITED)).toBe(0); // its retention starts at the fulfill
      expect(ledger.purge(NOW + 3 * RETENTION, RETENTION, UNLIMITED)).toBe(1);
      expect(ledger.counts().reservations).toBe(0);
      expect(read(ledger, "sku-a", "loc-1")).toMatchObject({ onHand: 98, reserved: 0, committed: 0 });
    });

    it("never purges a held reservation, however old; its expiry finishes it at the expiring command's clock", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 1)], null, 1_000);
      expect(ledger.purge(NOW + 100 * RETENTION, 0, UNLIMITED)).toBe(0);
      expect(ledger.reservation("r1")?.status).toBe("held");
      // A move finds it due and expires it first (410): it finished then, not at expiresAt.
      expect(ledger.commit("r1", NOW + 100 * RETENTION).status).toBe(LedgerStatus.ReservationExpired);
      expect(ledger.purge(NOW + 101 * RETENTION - 1, RETENTION, UNLIMITED)).toBe(0);
      expect(ledger.purge(NOW + 101 * RETENTION, RETENTION, UNLIMITED)).toBe(1);
    });

    it("a purged id is unknown: reads 404, moves answer not found, and a hold with it is a new reservation", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      stock(ledger, "sku-b", "loc-2", 10);
      ledger.putChannel("web", {});
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 3)]);
      ledger.release("r1", NOW);
      // Before the purge the id is an idempotency key: other lines conflict.
      expect(ledger.hold("r1", null, [line("sku-b", "loc-2", 1)], TTL, NOW + 1).status).toBe(LedgerStatus.IdempotencyConflict);
      expect(ledger.purge(NOW + RETENTION, RETENTION, UNLIMITED)).toBe(1);
      expect(ledger.reservation("r1")).toBeNull();
      expect(ledger.commit("r1", NOW + RETENTION).status).toBe(LedgerStatus.ReservationNotFound);
      const again = ledger.hold("r1", "web", [line("sku-b", "loc-2", 2)], TTL, NOW + RETENTION);
      expect(again).toEqual({
        status: LedgerStatus.Ok,
        created: true,
        changed: true,
        reservation: { id: "r1", status: "held", channel: "web", lines: [line("sku-b", "loc-2", 2)], expiresAtMs: NOW + RETENTION + TTL },
      });
      expect(read(ledger, "sku-b", "loc-2")).toMatchObject({ available: 8, reserved: 2 });
      expect(ledger.release("r1", NOW + RETENTION + 1).status).toBe(LedgerStatus.Ok);
    });

    it("purges those finished first, first, up to the limit", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      for (const id of RESERVATION_IDS) holdOk(ledger, id, [line("sku-a", "loc-1", 1)]);
      ledger.release("r3", NOW + 1);
      ledger.release("r1", NOW + 2);
      ledger.release("r4", NOW + 3);
      expect(ledger.purge(NOW + 3 + RETENTION, RETENTION, 0)).toBe(0);
      expect(ledger.purge(NOW + 3 + RETENTION, RETENTION, 2)).toBe(2);
      expect(RESERVATION_IDS.map((id) => ledger.reservation(id)?.status ?? null)).toEqual([null, "held", null, "released"]);
      expect(ledger.purge(NOW + 3 + RETENTION, RETENTION, 2)).toBe(1);
    });

    it("keeps finishing order when the clock steps back: a later finish is never due before an earlier one", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 1)]);
      holdOk(ledger, "r2", [line("sku-a", "loc-1", 1)]);
      ledger.release("r1", NOW + 100);
      ledger.release("r2", NOW + 50); // the writer's clock stepped back: r2 counts as finished at NOW + 100
      expect(ledger.purge(NOW + 50 + RETENTION, RETENTION, UNLIMITED)).toBe(0);
      expect(ledger.purge(NOW + 100 + RETENTION, RETENTION, UNLIMITED)).toBe(2);
    });

    it("takes a purged hold's expiry with it: a later hold on its room expires at its own time", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 1)], null, 1_000);
      ledger.release("r1", NOW);
      expect(ledger.purge(NOW, 0, UNLIMITED)).toBe(1);
      holdOk(ledger, "r2", [line("sku-a", "loc-1", 2)], null, 5_000);
      expect(ledger.expire(NOW + 4_999, 10)).toBe(0);
      expect(ledger.reservation("r2")?.status).toBe("held");
      expect(ledger.expire(NOW + 5_000, 10)).toBe(1);
      expect(ledger.reservation("r2")?.status).toBe("expired");
    });

    it("expire() still breaks expiresAt ties by creation order when purged room is reused", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 1)]);
      holdOk(ledger, "r2", [line("sku-a", "loc-1", 1)], null, 2_000);
      ledger.release("r1", NOW);
      ledger.purge(NOW, 0, UNLIMITED);
      holdOk(ledger, "r3", [line("sku-a", "loc-1", 1)], null, 1_000, NOW + 1_000); // r1's room, due with r2, created after it
      expect(ledger.expire(NOW + 2_000, 1)).toBe(1);
      expect([ledger.reservation("r2")?.status, ledger.reservation("r3")?.status]).toEqual(["expired", "held"]);
    });

    it("answers ledger_full only while the kept reservations fill reservationsMax; a purge makes room", () => {
      const ledger = create({ reservationsMax: 2 });
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 1)]);
      holdOk(ledger, "r2", [line("sku-a", "loc-1", 1)]);
      ledger.release("r1", NOW);
      const full = { status: LedgerStatus.LedgerFull, lineIndex: -1 };
      expect(ledger.hold("r3", null, [line("sku-a", "loc-1", 1)], TTL, NOW)).toEqual(full); // released, not yet purged
      expect(ledger.purge(NOW, 0, UNLIMITED)).toBe(1);
      holdOk(ledger, "r3", [line("sku-a", "loc-1", 1)]);
      expect(ledger.hold("r4", null, [line("sku-a", "loc-1", 1)], TTL, NOW)).toEqual(full);
      expect(ledger.counts()).toMatchObject({ reservations: 2, reservationsHeld: 2 });
    });

    it("holding and releasing 10 × reservationsMax reservations with retention 0 never answers ledger_full", () => {
      // Ids of 1–30 bytes and 1–3 lines, so records, id bytes and lines all come back and are reused.
      const ledger = create({ reservationsMax: 8 });
      for (const sku of SKUS) for (const location of LOCATIONS) stock(ledger, sku, location, 1_000);
      for (let i = 0; i < 80; i++) {
        const id = `${i}`.padEnd(1 + (i % 30), "·");
        const lines = Array.from({ length: 1 + (i % 3) }, (_, k) => line(SKUS[(i + k) % 3], LOCATIONS[k], 1 + k));
        holdOk(ledger, id, lines, null, TTL, NOW + i);
        if (i % 2 === 0) ledger.release(id, NOW + i);
        else {
          ledger.commit(id, NOW + i);
          ledger.fulfill(id, NOW + i);
        }
        expect(ledger.purge(NOW + i, 0, UNLIMITED)).toBe(1);
      }
      expect(ledger.counts().reservations).toBe(0);
      expect(read(ledger, "sku-a", "loc-1")).toMatchObject({ reserved: 0, committed: 0 });
    });
  });

  describe("locations", () => {
    it("creates a location with its defaults on a PUT with no fields; a repeat changes nothing", () => {
      const ledger = create();
      const location = { id: "loc-1", enabled: true, safetyStock: 0, kind: null, name: null };
      expect(ledger.putLocation("loc-1", {})).toEqual({ status: LedgerStatus.Ok, changed: true, location });
      expect(ledger.putLocation("loc-1", {})).toEqual({ status: LedgerStatus.Ok, changed: false, location });
    });

    it("updates only the fields given; kind and name clear with null", () => {
      const ledger = create();
      ledger.putLocation("loc-1", { kind: "store", name: "Main St" });
      expect(ledger.putLocation("loc-1", { name: "High St" })).toEqual({
        status: LedgerStatus.Ok,
        changed: true,
        location: { id: "loc-1", enabled: true, safetyStock: 0, kind: "store", name: "High St" },
      });
      expect(ledger.putLocation("loc-1", { kind: null, name: "High St" })).toMatchObject({
        changed: true,
        location: { kind: null, name: "High St" },
      });
      expect(ledger.putLocation("loc-1", { kind: null, enabled: true, safetyStock: 0 })).toMatchObject({ changed: false });
    });

    it("disabling reads available 0, drops the location from ATP, bumps only the versions that moved", () => {
      const ledger = create();
      ledger.setStock([
        { sku: "sku-a", location: "loc-1", onHand: 10 },
        { sku: "sku-a", location: "loc-2", onHand: 5 },
        { sku: "sku-b", location: "loc-1", onHand: 0 },
      ]);
      ledger.putChannel("web", {});
      expect(ledger.putLocation("loc-1", { enabled: false })).toMatchObject({ changed: true, location: { enabled: false } });
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ onHand: 10, version: 2 }));
      expect(read(ledger, "sku-b", "loc-1")).toEqual(figures({ version: 0 })); // available was 0 already
      expect(ledger.readSku("sku-a")).toEqual({
        available: 5,
        locations: [
          { sku: "sku-a", location: "loc-1", enabled: false, ...figures({ onHand: 10, version: 2 }) },
          { sku: "sku-a", location: "loc-2", enabled: true, ...figures({ available: 5, onHand: 5, version: 1 }) },
        ],
      });
      expect(ledger.readSkuForChannel("sku-a", "web")).toEqual({
        available: 5,
        locations: [
          { location: "loc-1", available: 0 },
          { location: "loc-2", available: 5 },
        ],
      });
      ledger.putLocation("loc-1", { enabled: true });
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 10, onHand: 10, version: 3 }));
    });

    it("a disabled location still takes stock writes and moves of existing reservations", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      holdOk(ledger, "r1", [line("sku-a", "loc-1", 3)]);
      ledger.putLocation("loc-1", { enabled: false });
      expect(ledger.adjustStock([{ sku: "sku-a", location: "loc-1", delta: 2 }]).status).toBe(LedgerStatus.Ok);
      expect(ledger.commit("r1", NOW).status).toBe(LedgerStatus.Ok);
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ onHand: 12, committed: 3, version: 5 }));
    });

    it("a default safetyStock change moves the positions that inherit it, not those with their own", () => {
      const ledger = create();
      ledger.setStock([
        { sku: "sku-a", location: "loc-1", onHand: 10 },
        { sku: "sku-b", location: "loc-1", onHand: 10, safetyStock: 1 },
        { sku: "sku-c", location: "loc-2", onHand: 10 },
      ]);
      expect(ledger.putLocation("loc-1", { safetyStock: 3 })).toMatchObject({ changed: true, location: { safetyStock: 3 } });
      expect(read(ledger, "sku-a", "loc-1")).toEqual(figures({ available: 7, onHand: 10, safetyStock: 3, version: 2 }));
      expect(read(ledger, "sku-b", "loc-1")).toEqual(figures({ available: 9, onHand: 10, safetyStock: 1, version: 1 }));
      expect(read(ledger, "sku-c", "loc-2")).toEqual(figures({ available: 10, onHand: 10, version: 1 }));
      // New positions at the location inherit it too.
      stock(ledger, "sku-c", "loc-1", 5);
      expect(read(ledger, "sku-c", "loc-1")).toEqual(figures({ available: 2, onHand: 5, safetyStock: 3, version: 1 }));
    });

    it("lists locations in first-created order, however they came into being", () => {
      const ledger = create();
      ledger.putLocation("loc-3", {});
      stock(ledger, "sku-a", "loc-1", 1);
      ledger.putChannel("web", { locations: ["loc-2", "loc-1"] });
      ledger.putLocation("loc-1", { name: "one" });
      expect(ledger.listLocations().map((l) => l.id)).toEqual(["loc-3", "loc-1", "loc-2"]);
    });
  });

  describe("channels", () => {
    it("creates a channel with its defaults; a repeat changes nothing", () => {
      const ledger = create();
      const channel = { id: "web", locations: null, buffer: 0 };
      expect(ledger.putChannel("web", {})).toEqual({ status: LedgerStatus.Ok, changed: true, channel });
      expect(ledger.putChannel("web", { buffer: 0, locations: null })).toEqual({ status: LedgerStatus.Ok, changed: false, channel });
    });

    it("stores locations deduplicated in first-seen order, creating the unknown ones", () => {
      const ledger = create();
      expect(ledger.putChannel("web", { locations: ["loc-2", "loc-1", "loc-2"], buffer: 2 })).toEqual({
        status: LedgerStatus.Ok,
        changed: true,
        channel: { id: "web", locations: ["loc-2", "loc-1"], buffer: 2 },
      });
      expect(ledger.listLocations().map((l) => l.id)).toEqual(["loc-2", "loc-1"]);
      expect(ledger.putChannel("web", { buffer: 3 })).toMatchObject({ changed: true, channel: { locations: ["loc-2", "loc-1"], buffer: 3 } });
      expect(ledger.putChannel("web", { locations: null })).toMatchObject({ changed: true, channel: { locations: null, buffer: 3 } });
    });

    it("channel ATP sums max(0, available − buffer) over the channel's locations, each listed", () => {
      const ledger = create();
      ledger.setStock([
        { sku: "sku-a", location: "loc-1", onHand: 10 },
        { sku: "sku-a", location: "loc-2", onHand: 2 },
        { sku: "sku-a", location: "loc-3", onHand: 50 },
      ]);
      ledger.putChannel("market", { locations: ["loc-2", "loc-1"], buffer: 3 });
      expect(ledger.readSkuForChannel("sku-a", "market")).toEqual({
        available: 7,
        // Position order (first created), not the channel's list order.
        locations: [
          { location: "loc-1", available: 7 },
          { location: "loc-2", available: 0 },
        ],
      });
      expect(ledger.readSku("sku-a").available).toBe(62);
    });

    it("a channel with no locations sells nothing", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      ledger.putChannel("pos", { locations: [] });
      expect(ledger.readSkuForChannel("sku-a", "pos")).toEqual({ available: 0, locations: [] });
      expect(ledger.hold("r1", "pos", [line("sku-a", "loc-1", 1)], TTL, NOW)).toEqual({
        status: LedgerStatus.LocationNotInChannel,
        lineIndex: 0,
      });
    });

    it("channel changes never touch position figures or versions", () => {
      const ledger = create();
      stock(ledger, "sku-a", "loc-1", 10);
      const before = read(ledger, "sku-a", "loc-1");
      ledger.putChannel("web", { locations: ["loc-1"], buffer: 5 });
      ledger.putChannel("web", { buffer: 9 });
      expect(read(ledger, "sku-a", "loc-1")).toEqual(before);
    });

    it("lists channels in first-created order", () => {
      const ledger = create();
      ledger.putChannel("web", {});
      ledger.putChannel("app", {});
      ledger.putChannel("web", { buffer: 1 });
      ledger.putChannel("market", {});
      expect(ledger.listChannels().map((c) => c.id)).toEqual(["web", "app", "market"]);
    });
  });

  describe("capacity", () => {
    it("answers ledger_full past positionsMax, naming the item, changing nothing", () => {
      const ledger = create({ positionsMax: 2 });
      stock(ledger, "sku-a", "loc-1", 1);
      const before = observe(ledger);
      expect(
        ledger.setStock([
          { sku: "sku-a", location: "loc-1", onHand: 5 },
          { sku: "sku-a", location: "loc-2", onHand: 5 },
          { sku: "sku-a", location: "loc-2", onHand: 6 }, // the same new position again fits
          { sku: "sku-b", location: "loc-1", onHand: 5 },
        ]),
      ).toEqual({ status: LedgerStatus.LedgerFull, itemIndex: 3 });
      expect(observe(ledger)).toBe(before);
      expect(ledger.adjustStock([{ sku: "sku-a", location: "loc-2", delta: 1 }]).status).toBe(LedgerStatus.Ok);
      expect(ledger.adjustStock([{ sku: "sku-c", location: "loc-3", delta: 1 }])).toEqual({ status: LedgerStatus.LedgerFull, itemIndex: 0 });
    });

    it("answers ledger_full past skusMax, changing nothing", () => {
      const ledger = create({ skusMax: 1 });
      stock(ledger, "sku-a", "loc-1", 1);
      stock(ledger, "sku-a", "loc-2", 1); // a new position of a known SKU fits
      const before = observe(ledger);
      expect(ledger.setStock([{ sku: "sku-b", location: "loc-1", onHand: 1 }])).toEqual({ status: LedgerStatus.LedgerFull, itemIndex: 0 });
      expect(observe(ledger)).toBe(before);
    });

    it(`answers ledger_full past ${CHANNELS_MAX} channels, while existing ones still update`, () => {
      const ledger = create();
      for (let i = 0; i < CHANNELS_MAX; i++) expect(ledger.putChannel(`ch-${i}`, {}).status).toBe(LedgerStatus.Ok);
      const before = observe(ledger);
      expect(ledger.putChannel("one-too-many", {})).toEqual({ status: LedgerStatus.LedgerFull, changed: false, channel: null });
      expect(observe(ledger)).toBe(before);
      expect(ledger.putChannel("ch-0", { buffer: 1 })).toMatchObject({ status: LedgerStatus.Ok, changed: true });
      expect(ledger.counts().channels).toBe(CHANNELS_MAX);
    });

    it(`answers ledger_full past ${LOCATIONS_MAX} locations, for every way of creating one`, () => {
      const ledger = create();
      for (let i = 0; i < LOCATIONS_MAX - 1; i++) ledger.putLocation(`l-${i}`, {});
      stock(ledger, "sku-a", "loc-1", 10); // the last free location
      ledger.putChannel("web", {});
      const before = observe(ledger);
      expect(ledger.putLocation("loc-2", {})).toEqual({ status: LedgerStatus.LedgerFull, changed: false, location: null });
      expect(ledger.setStock([{ sku: "sku-a", location: "loc-2", onHand: 1 }])).toEqual({ status: LedgerStatus.LedgerFull, itemIndex: 0 });
      expect(ledger.putChannel("market", { locations: ["loc-1", "loc-2"] })).toEqual({
        status: LedgerStatus.LedgerFull,
        changed: false,
        channel: null,
      });
      expect(ledger.putChannel("web", { locations: ["loc-2"] })).toEqual({ status: LedgerStatus.LedgerFull, changed: false, channel: null });
      expect(observe(ledger)).toBe(before);
      expect(ledger.counts().locations).toBe(LOCATIONS_MAX);
      expect(ledger.putLocation("loc-1", { name: "still updatable" })).toMatchObject({ status: LedgerStatus.Ok, changed: true });
    });
  });
}

for (const [name, create] of implementations) describe(`StockLedger contract: ${name}`, () => contract(create));
for (const [name, reason] of skipped) {
  describe.skip(`StockLedger contract: ${name} (skipped: ${reason})`, () => {
    it("runs the whole contract once the implementation loads", () => {});
  });
}
