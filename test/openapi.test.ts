/**
 * The API describes itself truthfully: every route the app registers is in
 * the OpenAPI document and in `GET /`, nothing is listed that does not
 * exist, and the docs page points at the document.
 */
import { describe, expect, it } from "vitest";
import app from "../src/index";
import { api } from "./helpers/api";

/** `/api/meetings/:id{[0-9a-f]{64}}/kick` → `/api/meetings/{id}/kick`. */
const openApiPath = (path: string) => path.replace(/:(\w+)(\{[^/]*\})?/g, "{$1}");

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
    expect(page).toContain("SwaggerUIBundle");
    expect(page).toContain("url: '/openapi.json'");
  });
});
