/**
 * What every HTTP answer carries: CORS for the configured origins only
 * (exact match, preflight 204), the security headers, and an
 * `x-request-id` that honours a well-formed incoming id. A WebSocket
 * upgrade still works with all of that middleware in front of it.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { API_SECURITY_HEADERS, DOCUMENT_SECURITY_HEADERS } from "../src/http/security-headers";
import { api, createMeeting, ORIGIN } from "./helpers/api";
import { TestSocket, upgrade } from "./helpers/sockets";
import { fetchWithEnv } from "./helpers/worker-env";

const ALLOWED = "http://localhost:5173";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const get = (path: string, headers: Record<string, string> = {}) => SELF.fetch(`${ORIGIN}${path}`, { headers });

function preflight(origin: string, path = "/api/meetings/create") {
  return SELF.fetch(`${ORIGIN}${path}`, {
    method: "OPTIONS",
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "content-type, authorization",
    },
  });
}

describe("CORS", () => {
  it("echoes an allowed origin and varies on Origin", async () => {
    for (const origin of ["http://localhost:5173", "http://localhost:3000"]) {
      const response = await get("/health", { Origin: origin });
      expect(response.headers.get("Access-Control-Allow-Origin")).toBe(origin);
      expect(response.headers.get("Vary")).toMatch(/Origin/);
    }
  });

  it("lets a browser read the request id, ETag and rate-limit headers", async () => {
    const response = await get("/api/meetings/nope", { Origin: ALLOWED });
    const exposed = (response.headers.get("Access-Control-Expose-Headers") ?? "").toLowerCase().split(",");
    for (const header of ["x-request-id", "etag", "retry-after", "ratelimit-remaining", "ratelimit-reset"]) {
      expect(exposed).toContain(header);
    }
  });

  it("gives any other origin no allow header, matching origins exactly", async () => {
    for (const origin of [
      "https://evil.example",
      "http://localhost:5174",
      "https://localhost:5173",
      "http://localhost:5173/",
      "http://localhost:51730",
      "null",
    ]) {
      const response = await get("/api/meetings/nope", { Origin: origin });
      expect(response.headers.get("Access-Control-Allow-Origin"), origin).toBeNull();
      expect(response.headers.get("Access-Control-Expose-Headers"), origin).toBeNull();
      expect(response.headers.get("Vary"), origin).toMatch(/Origin/);
    }
    const withoutOrigin = await get("/health");
    expect(withoutOrigin.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(withoutOrigin.headers.get("Vary")).toMatch(/Origin/);
  });

  it("answers an allowed preflight 204 with methods and headers", async () => {
    const response = await preflight(ALLOWED);
    expect(response.status).toBe(204);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
    expect(response.headers.get("Access-Control-Allow-Methods")).toContain("POST");
    expect(response.headers.get("Access-Control-Allow-Methods")).toContain("DELETE");
    const allowHeaders = (response.headers.get("Access-Control-Allow-Headers") ?? "").toLowerCase();
    expect(allowHeaders).toContain("authorization");
    expect(allowHeaders).toContain("content-type");
    expect(allowHeaders).toContain("if-match");
    expect(Number(response.headers.get("Access-Control-Max-Age"))).toBeGreaterThan(0);
    expect(response.headers.get("x-request-id")).toMatch(UUID);
  });

  it("answers a preflight from another origin without an allow header", async () => {
    const response = await preflight("https://evil.example", "/api/meetings/abc/kick");
    expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("reads its origins from CORS_ORIGINS", async () => {
    const overrides = { CORS_ORIGINS: "https://app.example.com, https://admin.example.com" };
    const allowed = await fetchWithEnv(overrides, "/health", { headers: { Origin: "https://admin.example.com" } });
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe("https://admin.example.com");
    const former = await fetchWithEnv(overrides, "/health", { headers: { Origin: ALLOWED } });
    expect(former.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("keeps the allow header on errors, so a browser can read them", async () => {
    const response = await get("/api/meetings/nope", { Origin: ALLOWED });
    expect(response.status).toBe(404);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
  });
});

describe("security headers", () => {
  it("are on successes, errors and preflights", async () => {
    const created = await api("POST", "/api/meetings/create", {
      body: { title: "t", hostName: "h", scheduledAt: new Date(Date.now() + 3_600_000).toISOString() },
    });
    const responses = [await get("/health"), await get("/api/meetings/nope"), await preflight(ALLOWED)];
    for (const headers of [created.headers, ...responses.map((r) => r.headers)]) {
      expect(headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(headers.get("X-Frame-Options")).toBe("SAMEORIGIN");
      expect(headers.get("Referrer-Policy")).toBe("no-referrer");
      expect(headers.get("Strict-Transport-Security")).toMatch(/max-age=\d+/);
    }
  });

  it("add the document-only ones to an HTML page, not to JSON", async () => {
    const page = await get("/docs");
    expect(page.headers.get("Content-Type")).toMatch(/^text\/html/);
    const json = await get("/health");
    for (const [name, value] of Object.entries(DOCUMENT_SECURITY_HEADERS)) {
      expect(page.headers.get(name), name).toBe(value);
      expect(json.headers.get(name), name).toBeNull();
    }
    for (const [name, value] of API_SECURITY_HEADERS) expect(page.headers.get(name), name).toBe(value);
  });
});

describe("request id", () => {
  it("is generated when absent, and differs per request", async () => {
    const [a, b] = [await get("/health"), await get("/health")];
    expect(a.headers.get("x-request-id")).toMatch(UUID);
    expect(b.headers.get("x-request-id")).toMatch(UUID);
    expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
  });

  it("honours a well-formed incoming id", async () => {
    for (const id of ["trace-123_ABC", "a".repeat(128), "YWJj="]) {
      const response = await get("/api/meetings/nope", { "X-Request-Id": id });
      expect(response.headers.get("x-request-id")).toBe(id);
    }
  });

  it("replaces a malformed or overlong incoming id", async () => {
    for (const id of ["has space", "semi;colon", "<script>", "dot.ted", "sla/sh", "a".repeat(129)]) {
      const response = await get("/health", { "X-Request-Id": id });
      expect(response.headers.get("x-request-id"), id).toMatch(UUID);
    }
  });
});

describe("WebSocket upgrade behind the middleware", () => {
  it("still switches protocols, with the request id, rate-limit and CORS headers", async () => {
    const { meeting, hostToken } = await createMeeting();
    const response = await SELF.fetch(`${ORIGIN}/api/meetings/${meeting.id}/ws?token=${hostToken}`, {
      headers: { Upgrade: "websocket", Origin: ALLOWED, "X-Request-Id": "upgrade-1" },
    });
    expect(response.status).toBe(101);
    expect(response.headers.get("x-request-id")).toBe("upgrade-1");
    expect(response.headers.get("RateLimit-Limit")).toBeTruthy();
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
    const ws = response.webSocket as WebSocket;
    expect(ws).toBeTruthy();
    const socket = new TestSocket(ws);
    ws.accept();
    await socket.next("meeting:joined");
    socket.close();
  });

  it("answers the subprotocol when the token travels in it", async () => {
    const { meeting, hostToken } = await createMeeting();
    const response = await upgrade(meeting.id, hostToken, { viaSubprotocol: true });
    expect(response.status).toBe(101);
    expect(response.headers.get("Sec-WebSocket-Protocol")).toBe("meettime");
    expect(response.headers.get("x-request-id")).toMatch(UUID);
    response.webSocket?.accept();
    response.webSocket?.close(1000, "done");
  });
});
