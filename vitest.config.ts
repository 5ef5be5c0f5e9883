import { defineConfig } from "vitest/config";

// Every test runs once with HTTP on the writer's thread (OMNISTOCK_WORKERS=0);
// the suites that go through a real server run again with two HTTP worker
// threads in front of the writer, so both modes answer the same API the same way.
const THROUGH_A_SERVER = [
  "test/http-api.test.ts",
  "test/http-fuzz.test.ts",
  "test/stream-ws.test.ts",
  "test/stream-ws-waiting.test.ts",
  "test/nats.test.ts",
  "test/adapter-engine.test.ts",
  "test/spec-conformance.test.ts",
];

const common = {
  pool: "forks" as const, // uWebSockets.js is a native addon: one per process
  testTimeout: 60_000,
  hookTimeout: 60_000,
};
// msgpackr's JavaScript string decoder, as the server runs it (src/msgpack-strings.ts).
const msgpackAsServed = { MSGPACKR_NATIVE_ACCELERATION_DISABLED: "true" };

export default defineConfig({
  test: {
    projects: [
      { test: { ...common, name: "single-thread", include: ["test/**/*.test.ts"], env: { ...msgpackAsServed, OMNISTOCK_TEST_WORKERS: "0" } } },
      { test: { ...common, name: "http-workers", include: THROUGH_A_SERVER, env: { ...msgpackAsServed, OMNISTOCK_TEST_WORKERS: "2" } } },
    ],
  },
});
