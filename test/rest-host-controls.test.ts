/**
 * Host controls and leaving: kick, leave, terminate (DELETE) and a fresh
 * host token, with what each one does to the participant list and to the
 * tokens of the people involved.
 */
import { describe, expect, it } from "vitest";
import { api, createMeeting, expectError, getMeeting, inMinutes, meetingWith, mintJoinToken } from "./helpers/api";
import { expectRejected } from "./helpers/meeting-storage";
import { connect } from "./helpers/sockets";
import { claimsOf } from "./helpers/tokens";

const HOUR_MS = 3_600_000;
const kick = (id: string, token: string, body: unknown) => api("POST", `/api/meetings/${id}/kick`, { token, body });
const leave = (id: string, token: string) => api("POST", `/api/meetings/${id}/leave`, { token });
const terminate = (id: string, token: string) => api("DELETE", `/api/meetings/${id}`, { token });
const wholeSecond = (iso: string) => new Date(Math.floor(Date.parse(iso) / 1000) * 1000).toISOString();
const listedIds = async (id: string, token: string) =>
  (await getMeeting(id, token)).participants.map((p: { id: string }) => p.id);

describe("POST /api/meetings/:id/kick", () => {
  it("removes the participant, answers its id and revokes its session (403)", async () => {
    const m = await meetingWith("Grace", "Linus");
    const [grace, linus] = m.guests;
    const res = await kick(m.id, m.hostToken, { participantId: grace!.participant.id, reason: "off topic" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ participantId: grace!.participant.id });
    expect(await listedIds(m.id, m.hostToken)).toEqual([m.host.id, linus!.participant.id]);
    expectError(await api("GET", `/api/meetings/${m.id}`, { token: grace!.sessionToken }), 403, "FORBIDDEN");
    await expectRejected(m.id, () => leave(m.id, grace!.sessionToken), 403, "FORBIDDEN");
  });

  it("closes the kicked participant's socket with 4003 after meeting:kicked", async () => {
    const m = await meetingWith("Grace");
    const socket = await connect(m.id, m.guests[0]!.sessionToken);
    await kick(m.id, m.hostToken, { participantId: m.guests[0]!.participant.id, reason: "bye" });
    expect((await socket.next("meeting:kicked")).data).toEqual({ reason: "bye" });
    expect((await socket.closed()).code).toBe(4003);
  });

  it("answers 404 for someone not listed: unknown, already kicked, or gone", async () => {
    const m = await meetingWith("Grace", "Linus");
    const [grace, linus] = m.guests;
    await expectRejected(m.id, () => kick(m.id, m.hostToken, { participantId: "nobody" }), 404, "NOT_FOUND");
    await kick(m.id, m.hostToken, { participantId: grace!.participant.id });
    await expectRejected(
      m.id,
      () => kick(m.id, m.hostToken, { participantId: grace!.participant.id }),
      404,
      "NOT_FOUND",
    );
    await leave(m.id, linus!.sessionToken);
    await expectRejected(
      m.id,
      () => kick(m.id, m.hostToken, { participantId: linus!.participant.id }),
      404,
      "NOT_FOUND",
    );
  });

  it("refuses the host kicking itself with 400", async () => {
    const m = await meetingWith();
    await expectRejected(m.id, () => kick(m.id, m.hostToken, { participantId: m.host.id }), 400, "VALIDATION_FAILED");
  });

  it.each([
    ["no participantId", {}],
    ["an empty participantId", { participantId: "" }],
    ["a numeric participantId", { participantId: 7 }],
    ["an unknown field", { participantId: "x", ban: true }],
  ])("refuses a body with %s with 400", async (_, body) => {
    const m = await meetingWith("Grace");
    await expectRejected(m.id, () => kick(m.id, m.hostToken, body), 400, "VALIDATION_FAILED");
  });

  it("is for the host only (403) and only while the meeting runs (410)", async () => {
    const m = await meetingWith("Grace", "Linus");
    const [grace, linus] = m.guests;
    await expectRejected(
      m.id,
      () => kick(m.id, grace!.sessionToken, { participantId: linus!.participant.id }),
      403,
      "FORBIDDEN",
    );
    await terminate(m.id, m.hostToken);
    await expectRejected(
      m.id,
      () => kick(m.id, m.hostToken, { participantId: linus!.participant.id }),
      410,
      "MEETING_ENDED",
    );
  });
});

describe("POST /api/meetings/:id/leave", () => {
  it("removes a participant and revokes its session token", async () => {
    const m = await meetingWith("Grace");
    const grace = m.guests[0]!;
    const res = await leave(m.id, grace.sessionToken);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ participantId: grace.participant.id });
    expect(await listedIds(m.id, m.hostToken)).toEqual([m.host.id]);
    expectError(await api("GET", `/api/meetings/${m.id}`, { token: grace.sessionToken }), 403, "FORBIDDEN");
    await expectRejected(m.id, () => leave(m.id, grace.sessionToken), 403, "FORBIDDEN");
  });

  it("keeps the host listed and its token valid", async () => {
    const m = await meetingWith("Grace");
    const res = await leave(m.id, m.hostToken);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ participantId: m.host.id });
    expect(await listedIds(m.id, m.hostToken)).toEqual([m.host.id, m.guests[0]!.participant.id]);
    expect((await api("POST", `/api/meetings/${m.id}/tokens`, { token: m.hostToken, body: {} })).status).toBe(201);
    expect((await leave(m.id, m.hostToken)).status).toBe(200);
  });

  it("closes the leaver's socket with 1000 and tells the others", async () => {
    const m = await meetingWith("Grace");
    const host = await connect(m.id, m.hostToken);
    const guest = await connect(m.id, m.guests[0]!.sessionToken);
    await leave(m.id, m.guests[0]!.sessionToken);
    expect((await guest.closed()).code).toBe(1000);
    const left = await host.next("meeting:participant-left");
    expect(left.data).toEqual({ participantId: m.guests[0]!.participant.id, reason: "left" });
    host.close();
  });

  it("refuses a join token (403) and an ended meeting (410)", async () => {
    const m = await meetingWith("Grace");
    const invite = await mintJoinToken(m.id, m.hostToken);
    await expectRejected(m.id, () => leave(m.id, invite), 403, "FORBIDDEN");
    await terminate(m.id, m.hostToken);
    await expectRejected(m.id, () => leave(m.id, m.guests[0]!.sessionToken), 410, "MEETING_ENDED");
  });
});

describe("DELETE /api/meetings/:id", () => {
  it("ends the meeting: status ended, only the host listed, data kept MEETING_EXPIRY_HOURS", async () => {
    const m = await meetingWith("Grace");
    const before = Date.now();
    const res = await terminate(m.id, m.hostToken);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["meeting"]);
    expect(res.body.meeting).toMatchObject({ id: m.id, status: "ended", participantCount: 1, version: 1 });
    expect(res.body.meeting.participants.map((p: any) => p.id)).toEqual([m.host.id]);
    const expiresAt = Date.parse(res.body.meeting.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 24 * HOUR_MS);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 24 * HOUR_MS);
  });

  it("keeps answering GET with status ended, for the host and for session tokens", async () => {
    const m = await meetingWith("Grace");
    const ended = (await terminate(m.id, m.hostToken)).body.meeting;
    expect(await getMeeting(m.id, m.hostToken)).toEqual(ended);
    expect((await getMeeting(m.id, m.guests[0]!.sessionToken)).status).toBe("ended");
  });

  it("answers a second DELETE with 410", async () => {
    const m = await meetingWith();
    await terminate(m.id, m.hostToken);
    await expectRejected(m.id, () => terminate(m.id, m.hostToken), 410, "MEETING_ENDED");
  });

  it("refuses later joins and host changes with 410", async () => {
    const m = await meetingWith("Grace");
    const invite = await mintJoinToken(m.id, m.hostToken);
    await terminate(m.id, m.hostToken);
    const id = m.id;
    const host = m.hostToken;
    await expectRejected(
      id,
      () => api("POST", "/api/meetings/join", { body: { token: invite, displayName: "Late" } }),
      410,
      "MEETING_ENDED",
    );
    await expectRejected(
      id,
      () => api("POST", `/api/meetings/${id}/host-token`, { token: host }),
      410,
      "MEETING_ENDED",
    );
    await expectRejected(
      id,
      () => api("PUT", `/api/meetings/${id}/datetime`, { token: host, body: { durationMinutes: 5 } }),
      410,
      "MEETING_ENDED",
    );
  });

  it("closes every socket with 4000 after meeting:terminated", async () => {
    const m = await meetingWith("Grace");
    const guest = await connect(m.id, m.guests[0]!.sessionToken);
    await terminate(m.id, m.hostToken);
    await guest.next("meeting:terminated");
    expect((await guest.closed()).code).toBe(4000);
  });

  it("is for the host only", async () => {
    const m = await meetingWith("Grace");
    await expectRejected(m.id, () => terminate(m.id, m.guests[0]!.sessionToken), 403, "FORBIDDEN");
    expect((await getMeeting(m.id, m.hostToken)).status).toBe("active");
  });
});

describe("POST /api/meetings/:id/host-token", () => {
  it("mints a fresh host token valid until the meeting's expiry; the old one stays valid", async () => {
    const { meeting, hostToken, participant } = await createMeeting();
    const res = await api("POST", `/api/meetings/${meeting.id}/host-token`, { token: hostToken });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(["expiresAt", "hostToken"]);
    // JWT expiry counts whole seconds: the token ends within the second the meeting does.
    expect(res.body.expiresAt).toBe(wholeSecond(meeting.expiresAt));
    expect(claimsOf(res.body.hostToken)).toMatchObject({ aud: meeting.id, kind: "host", pid: participant.id });
    expect(res.body.hostToken).not.toBe(hostToken);
    expect((await getMeeting(meeting.id, res.body.hostToken)).id).toBe(meeting.id);
    expect((await getMeeting(meeting.id, hostToken)).id).toBe(meeting.id);
  });

  it("follows a reschedule that moved the expiry later", async () => {
    const { meeting, hostToken } = await createMeeting({ scheduledAt: inMinutes(60) });
    const later = new Date(Date.now() + 7 * 24 * HOUR_MS).toISOString();
    const moved = await api("PUT", `/api/meetings/${meeting.id}/datetime`, {
      token: hostToken,
      body: { scheduledAt: later },
    });
    const res = await api("POST", `/api/meetings/${meeting.id}/host-token`, { token: hostToken });
    expect(res.body.expiresAt).toBe(wholeSecond(moved.body.meeting.expiresAt));
    expect(claimsOf(res.body.hostToken).exp).toBe(Date.parse(res.body.expiresAt) / 1000);
    expect(claimsOf(res.body.hostToken).exp).toBeGreaterThan(claimsOf(hostToken).exp as number);
  });

  it("is for the host only", async () => {
    const m = await meetingWith("Grace");
    await expectRejected(
      m.id,
      () => api("POST", `/api/meetings/${m.id}/host-token`, { token: m.guests[0]!.sessionToken }),
      403,
      "FORBIDDEN",
    );
  });
});
