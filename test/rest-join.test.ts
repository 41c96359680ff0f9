/**
 * Joining: POST /api/meetings/join redeems a single-use join token for a
 * session, once, even when redemptions race, and never past the meeting's
 * participant bound.
 */
import { describe, expect, it } from "vitest";
import {
  api,
  createMeeting,
  expectError,
  getMeeting,
  join,
  meetingWith,
  mintJoinToken,
  mintJoinTokens,
} from "./helpers/api";
import { expectRejected } from "./helpers/meeting-storage";
import { claimsOf } from "./helpers/tokens";

const redeem = (token: string, displayName = "Grace") =>
  api("POST", "/api/meetings/join", { body: { token, displayName } });

describe("POST /api/meetings/join", () => {
  it("answers 200 with the meeting, the new participant, a session token and the WebSocket path", async () => {
    const { meeting, hostToken, participant: host } = await createMeeting();
    const token = await mintJoinToken(meeting.id, hostToken);
    const res = await redeem(token, "  Grace  ");
    expect(res.status).toBe(200);
    // iceServers and iceServersExpiresAt: contract 1.1, see rest-ice-servers.test.ts; media: 1.2, test/sfu/.
    expect(Object.keys(res.body).sort()).toEqual([
      "iceServers",
      "iceServersExpiresAt",
      "media",
      "meeting",
      "participant",
      "sessionToken",
      "wsUrl",
    ]);
    expect(res.body.media).toEqual({ mode: "mesh" });
    const { participant, sessionToken, wsUrl } = res.body;
    expect(participant).toMatchObject({ name: "Grace", role: "participant", connected: false });
    expect(participant.id).not.toBe(host.id);
    expect(wsUrl).toBe(`/api/meetings/${meeting.id}/ws`);
    expect(res.body.meeting.participantCount).toBe(2);
    expect(res.body.meeting.participants.map((p: any) => p.id)).toEqual([host.id, participant.id]);
    expect(claimsOf(sessionToken)).toMatchObject({ aud: meeting.id, kind: "session", pid: participant.id });
    expect((await getMeeting(meeting.id, sessionToken)).participantCount).toBe(2);
  });

  it("caps the session token at TOKEN_EXPIRY_HOURS", async () => {
    const { meeting, hostToken } = await createMeeting();
    const before = Math.floor(Date.now() / 1000);
    const { sessionToken } = await join(meeting.id, hostToken);
    const exp = claimsOf(sessionToken).exp as number;
    expect(exp).toBeGreaterThanOrEqual(before + 24 * 3600 - 1);
    expect(exp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 24 * 3600);
  });

  it("refuses a second redemption with 409 TOKEN_ALREADY_USED and changes nothing", async () => {
    const { meeting, hostToken } = await createMeeting();
    const token = await mintJoinToken(meeting.id, hostToken);
    expect((await redeem(token)).status).toBe(200);
    await expectRejected(meeting.id, () => redeem(token, "Mallory"), 409, "TOKEN_ALREADY_USED");
    expect((await getMeeting(meeting.id, hostToken)).participantCount).toBe(2);
  });

  it("lets exactly one of several concurrent redemptions of one token win", async () => {
    const { meeting, hostToken } = await createMeeting();
    const token = await mintJoinToken(meeting.id, hostToken);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => redeem(token, `Racer ${i}`)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409, 409]);
    for (const loser of results.filter((r) => r.status === 409)) expectError(loser, 409, "TOKEN_ALREADY_USED");
    const listed = await getMeeting(meeting.id, hostToken);
    expect(listed.participantCount).toBe(2);
  });

  it("gives each distinct token of one batch its own participant", async () => {
    const { meeting, hostToken } = await createMeeting();
    const tokens = await mintJoinTokens(meeting.id, hostToken, { count: 3 });
    const results = await Promise.all(tokens.map((token, i) => redeem(token, `Guest ${i}`)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(new Set(results.map((r) => r.body.participant.id)).size).toBe(3);
    expect((await getMeeting(meeting.id, hostToken)).participantCount).toBe(4);
  });

  it("refuses a host or session token with 403: joining takes a join token", async () => {
    const m = await meetingWith("Grace");
    await expectRejected(m.id, () => redeem(m.hostToken), 403, "FORBIDDEN");
    await expectRejected(m.id, () => redeem(m.guests[0]!.sessionToken), 403, "FORBIDDEN");
  });

  it("refuses joining an ended meeting with 410, even with a fresh token", async () => {
    const { meeting, hostToken } = await createMeeting();
    const token = await mintJoinToken(meeting.id, hostToken);
    expect((await api("DELETE", `/api/meetings/${meeting.id}`, { token: hostToken })).status).toBe(200);
    await expectRejected(meeting.id, () => redeem(token), 410, "MEETING_ENDED");
  });

  it("refuses a missing or malformed token with 400 and a bad one with 401", async () => {
    expectError(await api("POST", "/api/meetings/join", { body: { displayName: "Grace" } }), 400, "VALIDATION_FAILED");
    expectError(await redeem(""), 400, "VALIDATION_FAILED");
    expectError(await redeem("not-a-jwt"), 401, "UNAUTHORIZED");
  });
});

describe("participant bound", () => {
  it("refuses a join beyond maxParticipants with 409 MEETING_FULL without spending the token", async () => {
    const { meeting, hostToken } = await createMeeting({ maxParticipants: 2 });
    const { participant } = await join(meeting.id, hostToken, "Grace");
    const late = await mintJoinToken(meeting.id, hostToken);
    await expectRejected(meeting.id, () => redeem(late, "Linus"), 409, "MEETING_FULL");
    // A seat frees up when someone is kicked; the refused token still works.
    const kicked = await api("POST", `/api/meetings/${meeting.id}/kick`, {
      token: hostToken,
      body: { participantId: participant.id },
    });
    expect(kicked.status).toBe(200);
    expect((await redeem(late, "Linus")).status).toBe(200);
  });

  it("counts the host, and frees a seat when a participant leaves", async () => {
    const { meeting, hostToken } = await createMeeting({ maxParticipants: 3 });
    await join(meeting.id, hostToken, "Grace");
    const linus = await join(meeting.id, hostToken, "Linus");
    const late = await mintJoinToken(meeting.id, hostToken);
    expectError(await redeem(late, "Barbara"), 409, "MEETING_FULL");
    expect((await api("POST", `/api/meetings/${meeting.id}/leave`, { token: linus.sessionToken })).status).toBe(200);
    expect((await redeem(late, "Barbara")).status).toBe(200);
  });

  it("enforces MAX_PARTICIPANTS_PER_MEETING (50) on a meeting created without a bound", async () => {
    const { meeting, hostToken } = await createMeeting();
    const tokens = await mintJoinTokens(meeting.id, hostToken, { count: 50 });
    for (const [i, token] of tokens.slice(0, 49).entries()) {
      expect((await redeem(token, `Guest ${i}`)).status).toBe(200);
    }
    expect((await getMeeting(meeting.id, hostToken)).participantCount).toBe(50);
    await expectRejected(meeting.id, () => redeem(tokens[49]!, "One too many"), 409, "MEETING_FULL");
  });

  it("lets only the free seats win when joins race for them", async () => {
    const { meeting, hostToken } = await createMeeting({ maxParticipants: 3 });
    const tokens = await mintJoinTokens(meeting.id, hostToken, { count: 5 });
    const results = await Promise.all(tokens.map((token, i) => redeem(token, `Racer ${i}`)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(2);
    for (const loser of results.filter((r) => r.status !== 200)) expectError(loser, 409, "MEETING_FULL");
    expect((await getMeeting(meeting.id, hostToken)).participantCount).toBe(3);
  });
});
