import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks", // uWebSockets.js is a native addon: one per process
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
