/**
 * Structured logs: every line is JSON; one line per request (method, route
 * pattern, status, duration, request id, meeting id) and one per meeting
 * event; LOG_LEVEL filters them; and no line ever carries a token or the
 * signing secret, whatever travelled in headers, bodies or query strings.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { log, setLogLevel } from "../src/log";
import { api, createMeeting, inMinutes, mintJoinTokens } from "./helpers/api";
import { connect } from "./helpers/sockets";
import { fetchWithEnv, uniqueClientIp } from "./helpers/worker-env";

type LogLine = Record<string, unknown> & { level: string; event: string };

let spies: MockInstance[] = [];

function captured(): string[] {
  return spies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(" ")));
}

function lines(): LogLine[] {
  return captured().map((line) => JSON.parse(line) as LogLine);
}

beforeEach(() => {
  setLogLevel("info");
  spies = (["log", "info", "warn", "error", "debug"] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation(() => {}),
  );
});

afterEach(() => {
  for (const spy of spies) spy.mockRestore();
  setLogLevel("info");
});

describe("structured logs", () => {
  it("log a scripted meeting as JSON lines, without any token or secret", async () => {
    const { meeting, hostToken } = await createMeeting();
    const id = meeting.id as string;
    const [joinA, joinB] = await mintJoinTokens(id, hostToken, { count: 2 });
    const a = await api("POST", "/api/meetings/join", { body: { token: joinA, displayName: "Grace" } });
    const b = await api("POST", "/api/meetings/join", { body: { token: joinB, displayName: "Linus" } });
    const sessionA = a.body.sessionToken as string;
    const sessionB = b.body.sessionToken as string;
    await api("GET", `/api/meetings/${id}`, { token: sessionA, headers: { "X-Request-Id": "trace-42" } });
    const host = await connect(id, hostToken);
    const guest = await connect(id, sessionA, { viaSubprotocol: true });
    await guest.request({ type: "chat:message", data: { text: `secret-looking ${hostToken}` } });
    await api("PUT", `/api/meetings/${id}/datetime`, { token: hostToken, body: { scheduledAt: inMinutes(90) } });
    await api("POST", `/api/meetings/${id}/kick`, { token: hostToken, body: { participantId: b.body.participant.id } });
    await api("POST", `/api/meetings/${id}/leave`, { token: sessionA });
    await api("GET", `/api/meetings/${id}/ws?token=${encodeURIComponent(sessionB)}`); // 426 (or 403): not an upgrade
    await api("DELETE", `/api/meetings/${id}`, { token: hostToken });
    await host.closed();

    const raw = captured();
    expect(raw.length).toBeGreaterThan(10);
    for (const secret of [hostToken, joinA, joinB, sessionA, sessionB, env.JWT_SECRET as string]) {
      for (const line of raw) expect(line).not.toContain(secret);
    }
    for (const line of raw) expect(line).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);

    const all = lines();
    const requests = all.filter((l) => l.event === "http.request");
    for (const line of requests) {
      expect(line).toMatchObject({ level: expect.any(String), method: expect.any(String), status: expect.any(Number) });
      expect(typeof line.durationMs).toBe("number");
      expect(typeof line.requestId).toBe("string");
      expect(typeof line.time).toBe("string");
    }
    const routes = requests.map((l) => `${l.method} ${l.route} ${l.status}`);
    expect(routes).toEqual(
      expect.arrayContaining([
        "POST /api/meetings/create 201",
        "POST /api/meetings/:id/tokens 201",
        "POST /api/meetings/join 200",
        "GET /api/meetings/:id 200",
        "GET /api/meetings/:id/ws 101",
        "PUT /api/meetings/:id/datetime 200",
        "POST /api/meetings/:id/kick 200",
        "POST /api/meetings/:id/leave 200",
        "DELETE /api/meetings/:id 200",
      ]),
    );
    for (const line of requests) expect(line.meetingId, `${line.method} ${line.route}`).toBe(id);
    expect(requests.find((l) => l.route === "/api/meetings/:id" && l.method === "GET")?.requestId).toBe("trace-42");

    const events = all.filter((l) => l.event.startsWith("meeting.")).map((l) => l.event);
    expect(events).toEqual(
      expect.arrayContaining([
        "meeting.created",
        "meeting.joined",
        "meeting.rescheduled",
        "meeting.kicked",
        "meeting.left",
        "meeting.terminated",
      ]),
    );
    for (const line of all.filter((l) => l.event.startsWith("meeting."))) expect(line.meetingId).toBe(id);
  });

  it("log unknown routes with no route pattern, and rate-limit refusals", async () => {
    const ip = uniqueClientIp();
    const limits = { RATE_LIMIT_MAX_REQUESTS: "1", RATE_LIMIT_WINDOW_MS: "60000" };
    await fetchWithEnv(limits, "/api/unknown?token=abc", { headers: { "CF-Connecting-IP": ip } });
    await fetchWithEnv(limits, "/api/unknown", { headers: { "CF-Connecting-IP": ip } });
    const all = lines();
    const requests = all.filter((l) => l.event === "http.request");
    expect(requests.map((l) => [l.route, l.status])).toEqual([
      [null, 404],
      [null, 429],
    ]);
    expect(all.some((l) => l.event === "request.rate_limited" && l.level === "warn")).toBe(true);
    for (const line of captured()) expect(line).not.toContain("token=");
    for (const line of captured()) expect(line).not.toContain(ip);
  });

  it("follow LOG_LEVEL", async () => {
    await fetchWithEnv({ LOG_LEVEL: "warn" }, "/health");
    expect(lines().filter((l) => l.event === "http.request")).toEqual([]);
    await fetchWithEnv({ LOG_LEVEL: "debug" }, "/health");
    expect(lines().filter((l) => l.event === "http.request")).toHaveLength(1);
  });

  it("redact anything shaped like a JWT that reaches a log field", () => {
    log("error", "test.leak", { error: "verify failed for eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl now" });
    const [line] = lines();
    expect(line?.error).toBe("verify failed for [redacted] now");
  });
});
