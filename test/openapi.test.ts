/**
 * The API describes itself truthfully: every route the app registers is in
 * the OpenAPI document and in `GET /`, nothing is listed that does not
 * exist, and the docs page points at the document.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../src/index";
import { openApiPath } from "../src/openapi/document";
import { api, ORIGIN } from "./helpers/api";

/** Method and path of every handler the app serves (middleware, registered as ALL, excluded). */
function registeredRoutes(): string[] {
  const routes = app.routes
    .filter((route) => route.method !== "ALL")
    .map((route) => `${route.method} ${openApiPath(route.path)}`);
  return [...new Set(routes)].sort();
}

describe("self-description", () => {
  it("documents every registered route in /openapi.json, and nothing else", async () => {
    const res = await api("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.body.openapi).toBe("3.1.0");
    const documented = Object.entries(res.body.paths as Record<string, object>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const registered = registeredRoutes();
    expect(registered).toContain("GET /api/meetings/{id}/calendar.ics");
    expect(registered).toContain("GET /api/meetings/{id}/ws");
    expect(documented.sort()).toEqual(registered);
  });

  it("lists the same routes at GET /", async () => {
    const res = await api("GET", "/");
    expect(res.status).toBe(200);
    expect(res.body.name).toBe("MeetTime");
    const listed = (res.body.endpoints as { method: string; path: string }[]).map(
      ({ method, path }) => `${method} ${openApiPath(path)}`,
    );
    expect(listed.sort()).toEqual(registeredRoutes());
    expect(res.body.endpoints).toContainEqual({ method: "GET", path: "/api/meetings/:id/calendar.ics" });
  });

  it("serves an interactive docs page over the document", async () => {
    const res = await api("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const page = res.body as string;
    // Every script and style from our own origin, none from a CDN or any other host.
    const sources = [...page.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    expect(sources).toEqual(["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/init.js"]);
    expect(page).not.toMatch(/https?:|\/\/[a-z]/i);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("content-security-policy")).not.toMatch(/https?:/);
  });

  it("serves Swagger UI's files from static assets, with token persistence off", async () => {
    const init = await (env as unknown as { ASSETS: Fetcher }).ASSETS.fetch(`${ORIGIN}/docs/init.js`);
    expect(init.status).toBe(200);
    const script = await init.text();
    expect(script).toContain('url: "/openapi.json"');
    expect(script).toContain("persistAuthorization: false");
    const bundle = await (env as unknown as { ASSETS: Fetcher }).ASSETS.fetch(`${ORIGIN}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(await bundle.text()).toContain("SwaggerUIBundle");
  });
});
