import { defineConfig } from "vitest/config";

// CI collects every suite's totals from JSON reports (scripts/ci-summary.mjs).
const jsonReportDir = process.env.VITEST_JSON_DIR;

/**
 * The end-to-end suite: real `wrangler dev` (started once by the global
 * setup on a free port, with a throwaway state directory and secret) and
 * real WebSocket clients from Node. Run with `npm run test:e2e`.
 */
export default defineConfig({
  test: {
    reporters: jsonReportDir ? ["default", ["json", { outputFile: `${jsonReportDir}/e2e.json` }]] : ["default"],
    name: "e2e",
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/e2e/helpers/global-setup.ts"],
    // One server for all files; files run one after another so timings stay honest on small machines.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
