/**
 * Invites: POST /api/meetings/:id/tokens mints single-use join tokens for
 * the host, with a default or chosen lifetime that never outlives the
 * meeting; an unredeemed invite also reads the meeting.
 */
import { describe, expect, it } from "vitest";
import { api, createMeeting, expectError, inMinutes, meetingWith, mintJoinToken } from "./helpers/api";
import { expectRejected } from "./helpers/meeting-storage";
import { claimsOf } from "./helpers/tokens";

const HOUR_MS = 3_600_000;
const mint = (id: string, token: string, body?: unknown, headers?: Record<string, string>) =>
  api("POST", `/api/meetings/${id}/tokens`, { token, body, headers });

describe("POST /api/meetings/:id/tokens", () => {
  it("mints one join token valid for TOKEN_EXPIRY_HOURS by default", async () => {
    const { meeting, hostToken } = await createMeeting();
    const before = Date.now();
    const res = await mint(meeting.id, hostToken, {});
    expect(res.status).toBe(201);
    expect(Object.keys(res.body)).toEqual(["tokens"]);
    expect(res.body.tokens).toHaveLength(1);
    const [{ token, expiresAt }] = res.body.tokens;
    expect(Object.keys(res.body.tokens[0]).sort()).toEqual(["expiresAt", "token"]);
    expect(Date.parse(expiresAt)).toBeGreaterThanOrEqual(before + 24 * HOUR_MS - 1000);
    expect(Date.parse(expiresAt)).toBeLessThanOrEqual(Date.now() + 24 * HOUR_MS);
    expect(claimsOf(token)).toMatchObject({ aud: meeting.id, kind: "join", exp: Date.parse(expiresAt) / 1000 });
  });

  it("mints one token for a request without a body, with or without a JSON content type", async () => {
    const { meeting, hostToken } = await createMeeting();
    const bare = await mint(meeting.id, hostToken);
    expect(bare.status).toBe(201);
    expect(bare.body.tokens).toHaveLength(1);
    const typed = await mint(meeting.id, hostToken, undefined, { "content-type": "application/json" });
    expect(typed.status, JSON.stringify(typed.body)).toBe(201);
    expect(typed.body.tokens).toHaveLength(1);
    const empty = await api("POST", `/api/meetings/${meeting.id}/tokens`, {
      token: hostToken,
      rawBody: "",
      headers: { "content-type": "application/json" },
    });
    expect(empty.status, JSON.stringify(empty.body)).toBe(201);
    expect(empty.body.tokens).toHaveLength(1);
  });

  it("mints `count` distinct tokens, 1 to 50", async () => {
    const { meeting, hostToken } = await createMeeting();
    const res = await mint(meeting.id, hostToken, { count: 50, name: "Team" });
    expect(res.status).toBe(201);
    const tokens = res.body.tokens.map((t: any) => t.token);
    expect(new Set(tokens).size).toBe(50);
    expect(new Set(tokens.map((t: string) => claimsOf(t).jti)).size).toBe(50);
  });

  it.each([
    ["count 0", { count: 0 }],
    ["count 51", { count: 51 }],
    ["fractional count", { count: 1.5 }],
    ["count as a string", { count: "2" }],
    ["zero hours", { expiresInHours: 0 }],
    ["negative hours", { expiresInHours: -1 }],
    ["an empty name", { name: "  " }],
    ["an unknown field", { count: 1, role: "host" }],
  ])("refuses %s with 400 and stores nothing", async (_, body) => {
    const { meeting, hostToken } = await createMeeting();
    await expectRejected(meeting.id, () => mint(meeting.id, hostToken, body), 400, "VALIDATION_FAILED");
  });

  it("uses expiresInHours for the lifetime", async () => {
    const { meeting, hostToken } = await createMeeting();
    const before = Date.now();
    const res = await mint(meeting.id, hostToken, { expiresInHours: 2 });
    expect(res.status).toBe(201);
    const expiresAt = Date.parse(res.body.tokens[0].expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 2 * HOUR_MS - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 2 * HOUR_MS);
  });

  it("refuses expiresInHours beyond the meeting's expiry with 400, storing nothing", async () => {
    const { meeting, hostToken } = await createMeeting({ scheduledAt: inMinutes(60), durationMinutes: 60 });
    const hoursLeft = (Date.parse(meeting.expiresAt) - Date.now()) / HOUR_MS;
    const res = await expectRejected(
      meeting.id,
      () => mint(meeting.id, hostToken, { expiresInHours: hoursLeft + 1 }),
      400,
      "VALIDATION_FAILED",
    );
    expect(res.body.error.details.fields.expiresInHours).toBeDefined();
    expect((await mint(meeting.id, hostToken, { expiresInHours: hoursLeft - 0.1 })).status).toBe(201);
  });

  it("makes invites to a meeting weeks ahead last until then, and they join now", async () => {
    const threeWeeksAhead = new Date(Date.now() + 21 * 24 * HOUR_MS).toISOString();
    const { meeting, hostToken } = await createMeeting({ scheduledAt: threeWeeksAhead });
    const res = await mint(meeting.id, hostToken, { expiresInHours: 21 * 24 + 1 });
    expect(res.status).toBe(201);
    expect(Date.parse(res.body.tokens[0].expiresAt)).toBeGreaterThan(Date.parse(threeWeeksAhead));
    const joined = await api("POST", "/api/meetings/join", {
      body: { token: res.body.tokens[0].token, displayName: "Grace" },
    });
    expect(joined.status).toBe(200);
  });

  it("refuses session and join tokens with 403, and an ended meeting with 410", async () => {
    const m = await meetingWith("Grace");
    await expectRejected(m.id, () => mint(m.id, m.guests[0]!.sessionToken, {}), 403, "FORBIDDEN");
    const invite = await mintJoinToken(m.id, m.hostToken);
    await expectRejected(m.id, () => mint(m.id, invite, {}), 403, "FORBIDDEN");
    expect((await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken })).status).toBe(200);
    await expectRejected(m.id, () => mint(m.id, m.hostToken, {}), 410, "MEETING_ENDED");
  });
});

describe("join tokens as readers", () => {
  it("read the meeting until redeemed, and are spent (401) afterwards", async () => {
    const { meeting, hostToken } = await createMeeting();
    const invite = await mintJoinToken(meeting.id, hostToken);
    const before = await api("GET", `/api/meetings/${meeting.id}`, { token: invite });
    expect(before.status).toBe(200);
    expect(before.body.meeting.id).toBe(meeting.id);
    expect((await api("POST", "/api/meetings/join", { body: { token: invite, displayName: "Grace" } })).status).toBe(
      200,
    );
    expectError(await api("GET", `/api/meetings/${meeting.id}`, { token: invite }), 401, "UNAUTHORIZED");
  });

  it("may not act for the host or as a participant", async () => {
    const { meeting, hostToken } = await createMeeting();
    const invite = await mintJoinToken(meeting.id, hostToken);
    const id = meeting.id;
    await expectRejected(id, () => api("DELETE", `/api/meetings/${id}`, { token: invite }), 403, "FORBIDDEN");
    await expectRejected(id, () => api("POST", `/api/meetings/${id}/leave`, { token: invite }), 403, "FORBIDDEN");
    await expectRejected(id, () => api("POST", `/api/meetings/${id}/host-token`, { token: invite }), 403, "FORBIDDEN");
    // Still unredeemed: the refusals did not spend it.
    const joined = await api("POST", "/api/meetings/join", { body: { token: invite, displayName: "Grace" } });
    expect(joined.status).toBe(200);
  });
});
