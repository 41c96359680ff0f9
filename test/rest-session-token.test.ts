/**
 * Session renewal (contract 1.1): `POST /api/meetings/:id/session-token`
 * gives the holder of a valid session token a fresh one for the same
 * participant; the old one keeps working until its own expiry.
 */
import { describe, expect, it } from "vitest";
import { api, createMeeting, expectError, getMeeting, inMinutes, join, meetingWith } from "./helpers/api";
import { describeAccessChecks } from "./helpers/member-routes";
import { connect } from "./helpers/sockets";
import { claimsOf } from "./helpers/tokens";

const HOUR_MS = 3_600_000;
const renew = (id: string, token: string) => api("POST", `/api/meetings/${id}/session-token`, { token });

describe("POST /api/meetings/:id/session-token", () => {
  it("answers 201 with a fresh session token for the same participant, valid TOKEN_EXPIRY_HOURS", async () => {
    const m = await meetingWith("Grace");
    const grace = m.guests[0]!;
    const before = Date.now();
    const res = await renew(m.id, grace.sessionToken);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(["expiresAt", "sessionToken"]);
    expect(res.headers.get("cache-control")).toContain("no-store");
    const fresh = claimsOf(res.body.sessionToken);
    const old = claimsOf(grace.sessionToken);
    expect(res.body.sessionToken).not.toBe(grace.sessionToken);
    expect(fresh).toMatchObject({ kind: "session", pid: grace.participant.id, aud: m.id });
    expect(fresh.jti).not.toBe(old.jti);
    expect(fresh.exp! * 1000).toBe(Date.parse(res.body.expiresAt));
    // 24 h (the test environment's TOKEN_EXPIRY_HOURS) from the renewal, to the second.
    expect(Date.parse(res.body.expiresAt)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 24 * HOUR_MS);
    expect(Date.parse(res.body.expiresAt)).toBeLessThanOrEqual(Date.now() + 24 * HOUR_MS);
  });

  it("the fresh token is a full session: it reads, connects as the same participant, and leaves", async () => {
    const m = await meetingWith("Grace");
    const grace = m.guests[0]!;
    const { sessionToken } = (await renew(m.id, grace.sessionToken)).body;
    expect((await getMeeting(m.id, sessionToken)).participantCount).toBe(2);
    const socket = await connect(m.id, sessionToken);
    const joined = await socket.find((frame) => frame.type === "meeting:joined");
    expect(joined.data.self.id).toBe(grace.participant.id);
    socket.close();
    const left = await api("POST", `/api/meetings/${m.id}/leave`, { token: sessionToken });
    expect(left.body).toEqual({ participantId: grace.participant.id });
  });

  it("keeps the old token valid, and a renewed token can renew again", async () => {
    const m = await meetingWith("Grace");
    const grace = m.guests[0]!;
    const first = (await renew(m.id, grace.sessionToken)).body.sessionToken;
    expect((await api("GET", `/api/meetings/${m.id}`, { token: grace.sessionToken })).status).toBe(200);
    const second = await renew(m.id, first);
    expect(second.status).toBe(201);
    expect(claimsOf(second.body.sessionToken).pid).toBe(grace.participant.id);
    expect((await renew(m.id, grace.sessionToken)).status).toBe(201);
  });

  it("caps the fresh token at the meeting's expiry", async () => {
    const created = await createMeeting({ scheduledAt: inMinutes(60), durationMinutes: 30 });
    const id = created.meeting.id as string;
    const guest = await join(id, created.hostToken);
    const moved = await api("PUT", `/api/meetings/${id}/datetime`, {
      token: created.hostToken,
      body: { scheduledAt: inMinutes(-4), durationMinutes: 1 },
    });
    const meetingExpiry = Date.parse(moved.body.meeting.expiresAt);
    const res = await renew(id, guest.sessionToken);
    expect(res.status).toBe(201);
    expect(Date.parse(res.body.expiresAt)).toBe(Math.floor(meetingExpiry / 1000) * 1000);
    expect(claimsOf(res.body.sessionToken).exp! * 1000).toBe(Date.parse(res.body.expiresAt));
  });

  it("does not renew a revoked session: the participant is gone for good", async () => {
    const m = await meetingWith("Grace");
    const grace = m.guests[0]!;
    const renewed = (await renew(m.id, grace.sessionToken)).body.sessionToken;
    await api("POST", `/api/meetings/${m.id}/leave`, { token: grace.sessionToken });
    // Leaving revokes the participant, so every session token of it, the renewed one too.
    expectError(await renew(m.id, renewed), 403, "FORBIDDEN");
    expectError(await api("GET", `/api/meetings/${m.id}`, { token: renewed }), 403, "FORBIDDEN");
  });

  it("refuses the host token (403): the host renews with host-token", async () => {
    const m = await meetingWith();
    const res = await renew(m.id, m.hostToken);
    expectError(res, 403, "FORBIDDEN");
    expect(res.body.error.message).toContain("session token");
  });
});

describeAccessChecks({ method: "POST", suffix: "/session-token", accepts: ["session"] });
