import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          JWT_SECRET: "test-secret-that-is-at-least-32-bytes-long!!",
          // High enough that REST tests are never throttled; the rate-limit tests use their own env.
          RATE_LIMIT_MAX_REQUESTS: "1000000",
        },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**", "test/node/**"],
    testTimeout: 20_000,
  },
});
