/**
 * The static files (the web app under /app/, Swagger UI under /docs/) carry
 * the API's security headers, HSTS included; the app's Content-Security-
 * Policy connects to its own origin only; source maps are not served.
 * Needs `npm run build` first (dist/assets, as `npm test` does).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { API_SECURITY_HEADERS, APP_CONTENT_SECURITY_POLICY } from "../src/http/security-headers";
import { ORIGIN } from "./helpers/api";

const assets = (env as unknown as { ASSETS: Fetcher }).ASSETS;
const get = (path: string) => assets.fetch(`${ORIGIN}${path}`, { redirect: "manual" });

/** The API's headers, with the framing rule each part sets for itself. */
function expectApiHeaders(response: Response, framing: string) {
  for (const [name, value] of API_SECURITY_HEADERS) {
    expect(response.headers.get(name), name).toBe(name === "X-Frame-Options" ? framing : value);
  }
}

describe("static assets", () => {
  it("serve the app page and its script with the security headers and an own-origin CSP", async () => {
    for (const path of ["/app/", "/app/app.js", "/app/app.css"]) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      await response.arrayBuffer();
      expectApiHeaders(response, "DENY");
      expect(response.headers.get("strict-transport-security")).toMatch(/^max-age=\d+/);
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp).toBe(APP_CONTENT_SECURITY_POLICY);
      const connect = csp.split(";").find((directive) => directive.trim().startsWith("connect-src"));
      expect(connect?.trim()).toBe("connect-src 'self'");
    }
  });

  it("serve Swagger UI's files with the security headers", async () => {
    const response = await get("/docs/init.js");
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    expectApiHeaders(response, "SAMEORIGIN");
  });

  it("do not serve the app's source map, nor link to one", async () => {
    const map = await get("/app/app.js.map");
    expect(map.status).toBe(404);
    await map.arrayBuffer();
    const script = await (await get("/app/app.js")).text();
    expect(script).not.toContain("sourceMappingURL");
  });
});
