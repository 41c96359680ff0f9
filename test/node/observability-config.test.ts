/**
 * Tokens in URLs (issue 12): Workers Logs' invocation logs record each
 * request's URL with its query string, where the calendar feed and the
 * WebSocket route may carry `?token=`. The deployed configuration must keep
 * them off while our own structured logs stay on. Read through wrangler's
 * own config reader, as `wrangler deploy` reads it.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";

const config = unstable_readConfig({ config: fileURLToPath(new URL("../../wrangler.toml", import.meta.url)) });

describe("wrangler.toml observability", () => {
  it("keeps structured logs but stores no invocation logs (no request URLs, so no query-string tokens)", () => {
    expect(config.observability?.enabled).toBe(true);
    expect(config.observability?.logs?.enabled).toBe(true);
    expect(config.observability?.logs?.invocation_logs).toBe(false);
  });
});
