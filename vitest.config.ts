import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// CI collects every suite's totals from JSON reports (scripts/ci-summary.mjs).
const jsonReportDir = process.env.VITEST_JSON_DIR;

/** The worker inside workerd with `bindings` laid over wrangler.toml's vars. */
const workerInWorkerd = (bindings: Record<string, string>) =>
  cloudflareTest({
    main: "./src/index.ts",
    wrangler: { configPath: "./wrangler.toml" },
    miniflare: {
      bindings: {
        JWT_SECRET: "test-secret-that-is-at-least-32-bytes-long!!",
        // High enough that REST tests are never throttled; rate-limit tests set their own limits.
        RATE_LIMIT_MAX_REQUESTS: "1000000",
        ...bindings,
      },
    },
  });

/**
 * Three projects: `workers` runs inside workerd through the Workers pool (the
 * worker, its Durable Objects and their storage); `workers-sfu` is the same
 * worker configured for media through an SFU (contract 1.2: new meetings are
 * `sfu`; nothing listens at SFU_API_BASE_URL, each test stubs the SFU with
 * test/helpers/sfu-stub.ts); `node` runs Node-side checks that need Node
 * libraries (independent parsers, validators).
 * The end-to-end suite against `wrangler dev` has its own config.
 */
export default defineConfig({
  test: {
    reporters: jsonReportDir ? ["default", ["json", { outputFile: `${jsonReportDir}/unit.json` }]] : ["default"],
    // The worker logs one JSON line per request: show console output only for failing tests.
    silent: "passed-only",
    projects: [
      {
        plugins: [workerInWorkerd({})],
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: ["test/node/**", "test/e2e/**", "test/sfu/**"],
          testTimeout: 20_000,
        },
      },
      {
        plugins: [
          workerInWorkerd({
            SFU_APP_ID: "sfu-app-for-tests",
            SFU_APP_SECRET: "sfu-app-secret-that-must-never-leak",
            SFU_API_BASE_URL: "http://sfu.meettime.test/v1",
          }),
        ],
        test: {
          name: "workers-sfu",
          include: ["test/sfu/**/*.test.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 30_000,
        },
      },
    ],
  },
});
