/**
 * The service surface: GET / and /health, unknown routes, the headers every
 * response carries, and token routes failing closed (500) when JWT_SECRET
 * is missing or too short.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { api, createMeeting, expectError, inMinutes, meetingWith, mintJoinToken, ORIGIN } from "./helpers/api";
import { storedMeetingCount } from "./helpers/meeting-storage";
import { signClaims } from "./helpers/tokens";

/** Calls the worker's own fetch with a modified environment, as a deployment with other settings would. */
async function fetchWith(overrides: Record<string, unknown>, method: string, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${ORIGIN}${path}`, { method, ...init }),
    { ...env, ...overrides },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: response.status, body: (await response.json()) as any, headers: response.headers };
}

const jsonInit = (body: unknown, token?: string): RequestInit => ({
  headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});

describe("GET /health and GET /", () => {
  it("reports health without a token", async () => {
    const res = await api("GET", "/health");
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("ok");
  });

  it("lists the REST endpoints", async () => {
    const res = await api("GET", "/");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: expect.any(String), version: expect.any(String) });
    const listed = res.body.endpoints.map((e: { method: string; path: string }) => `${e.method} ${e.path}`);
    for (const endpoint of [
      "POST /api/meetings/create",
      "POST /api/meetings",
      "POST /api/meetings/join",
      "GET /api/meetings/:id",
      "DELETE /api/meetings/:id",
      "POST /api/meetings/:id/tokens",
      "POST /api/meetings/:id/host-token",
      "PUT /api/meetings/:id/datetime",
      "POST /api/meetings/:id/kick",
      "POST /api/meetings/:id/leave",
      "GET /health",
      "GET /",
    ]) {
      expect(listed).toContain(endpoint);
    }
  });
});

describe("unknown routes", () => {
  it.each([
    ["GET", "/nope"],
    ["GET", "/api"],
    ["GET", "/api/meetings"],
    ["PATCH", "/api/meetings/create"],
    ["GET", "/api/meetings/create"],
    ["POST", "/health"],
  ])("%s %s is 404 in the error shape", async (method, path) => {
    const res = await api(method, path);
    expectError(res, 404, "NOT_FOUND");
    expect(Object.keys(res.body)).toEqual(["error"]);
  });

  it("a known meeting with an unknown sub-route or method is 404", async () => {
    const m = await meetingWith();
    expectError(await api("GET", `/api/meetings/${m.id}/nope`, { token: m.hostToken }), 404, "NOT_FOUND");
    expectError(await api("PATCH", `/api/meetings/${m.id}`, { token: m.hostToken }), 404, "NOT_FOUND");
  });
});

describe("headers on every response", () => {
  it("carry x-request-id and X-Content-Type-Options: nosniff, successes and errors alike", async () => {
    const m = await meetingWith("Grace");
    const invite = await mintJoinToken(m.id, m.hostToken);
    const responses = [
      await api("GET", "/health"),
      await api("GET", "/"),
      await api("POST", "/api/meetings/create", { body: { title: "t", hostName: "h", scheduledAt: inMinutes(5) } }),
      await api("GET", `/api/meetings/${m.id}`, { token: m.hostToken }),
      await api("POST", "/api/meetings/join", { body: { token: invite, displayName: "x" } }),
      await api("POST", "/api/meetings/join", { body: { token: invite, displayName: "x" } }), // 409
      await api("POST", "/api/meetings/create", { body: {} }), // 400
      await api("GET", `/api/meetings/${m.id}`), // 401
      await api("DELETE", `/api/meetings/${m.id}`, { token: m.guests[0]!.sessionToken }), // 403
      await api("GET", "/nope"), // 404 route
      await api("GET", `/api/meetings/${"a".repeat(64)}`), // 404 id
      await api("POST", "/api/meetings/create", { rawBody: "x", headers: { "content-type": "text/plain" } }), // 415
      await api("POST", "/api/meetings/create", { body: { title: "x".repeat(70_000) } }), // 413
      await api("GET", `/api/meetings/${m.id}/ws?token=${m.hostToken}`), // 426
    ];
    const statuses = responses.map((r) => r.status);
    expect(statuses).toEqual([200, 200, 201, 200, 200, 409, 400, 401, 403, 404, 404, 415, 413, 426]);
    for (const res of responses) {
      expect(res.headers.get("x-request-id"), `x-request-id on ${res.status}`).toBeTruthy();
      expect(res.headers.get("x-content-type-options"), `nosniff on ${res.status}`).toBe("nosniff");
    }
    await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken });
    const gone = await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken }); // 410
    expect(gone.status).toBe(410);
    expect(gone.headers.get("x-content-type-options")).toBe("nosniff");
    expect(gone.headers.get("x-request-id")).toBeTruthy();
  });

  it("gives each request its own id and echoes a well-formed one sent in", async () => {
    const a = await api("GET", "/health");
    const b = await api("GET", "/health");
    expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
    const echoed = await api("GET", "/health", { headers: { "x-request-id": "trace-123" } });
    expect(echoed.headers.get("x-request-id")).toBe("trace-123");
  });

  it("answer errors as JSON in the one error shape", async () => {
    const res = await api("POST", "/api/meetings/create", { body: { title: "" } });
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(Object.keys(res.body)).toEqual(["error"]);
    expect(Object.keys(res.body.error).sort()).toEqual(["code", "details", "message"]);
    expect(res.body.error.details.fields).toBeTypeOf("object");
  });
});

describe("JWT_SECRET missing or too short", () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    ["missing", undefined],
    ["empty", ""],
    ["31 bytes", "x".repeat(31)],
  ])("token routes answer 500 INTERNAL when it is %s, with a log line naming it", async (_, secret) => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const m = await meetingWith();
    const invite = await mintJoinToken(m.id, m.hostToken);
    const noSecret = { JWT_SECRET: secret };
    const before = await storedMeetingCount();
    const requests = [
      fetchWith(
        noSecret,
        "POST",
        "/api/meetings/create",
        jsonInit({ title: "t", hostName: "h", scheduledAt: inMinutes(5) }),
      ),
      fetchWith(noSecret, "POST", "/api/meetings/join", jsonInit({ token: invite, displayName: "x" })),
      fetchWith(noSecret, "GET", `/api/meetings/${m.id}`, { headers: { authorization: `Bearer ${m.hostToken}` } }),
      fetchWith(noSecret, "POST", `/api/meetings/${m.id}/tokens`, jsonInit({}, m.hostToken)),
      fetchWith(noSecret, "DELETE", `/api/meetings/${m.id}`, { headers: { authorization: `Bearer ${m.hostToken}` } }),
    ];
    for (const res of await Promise.all(requests)) {
      expectError(res, 500, "INTERNAL");
      expect(res.body.error.message).not.toMatch(/secret-that|at \w+ \(/);
      expect(res.headers.get("x-request-id")).toBeTruthy();
    }
    expect(await storedMeetingCount()).toBe(before);
    const lines = logged.mock.calls.map((call) => String(call[0]));
    expect(lines.some((line) => line.includes("JWT_SECRET"))).toBe(true);
    // Nothing happened: the meeting is still active and the invite unspent.
    expect((await api("POST", "/api/meetings/join", { body: { token: invite, displayName: "x" } })).status).toBe(200);
  });

  it("has no fallback key: a token signed with an empty or default key is never accepted", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const m = await createMeeting();
    const claims = { aud: m.meeting.id, iss: "meettime", jti: "x", kind: "host", pid: m.participant.id, exp: 9e9 };
    for (const key of ["", "secret", "changeme", "local-development-secret-change-me-0123456789abcdef"]) {
      const forged = await signClaims(claims, key).catch(() => undefined);
      if (!forged) continue;
      const missing = await fetchWith({ JWT_SECRET: undefined }, "GET", `/api/meetings/${m.meeting.id}`, {
        headers: { authorization: `Bearer ${forged}` },
      });
      expectError(missing, 500, "INTERNAL");
      expectError(await api("GET", `/api/meetings/${m.meeting.id}`, { token: forged }), 401, "UNAUTHORIZED");
    }
  });

  it("routes without tokens keep working", async () => {
    for (const path of ["/health", "/"]) {
      expect((await fetchWith({ JWT_SECRET: undefined }, "GET", path)).status).toBe(200);
    }
  });

  it("a secret of exactly 32 bytes is enough", async () => {
    const res = await fetchWith(
      { JWT_SECRET: "k".repeat(32) },
      "POST",
      "/api/meetings/create",
      jsonInit({ title: "t", hostName: "h", scheduledAt: inMinutes(5) }),
    );
    expect(res.status).toBe(201);
  });
});
