/**
 * Meeting links over REST (contract 1.2): minting, listing and revoking
 * links, what a link token may do, joining by a link with and without the
 * lobby, `maxUses`, the limits, and admit/deny over REST, each refusal in
 * the contract's check order and without changing a stored row.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, createMeeting, expectError, getMeeting, JOIN_ANSWER_KEYS, join, mintJoinToken } from "./helpers/api";
import {
  admitRequest,
  denyRequest,
  joinWith,
  knock,
  lobbyRows,
  mintLink,
  mintLinkRequest,
  revokeLinkRequest,
} from "./helpers/links";
import { expectRejected } from "./helpers/meeting-storage";
import { meetingObject, upgrade } from "./helpers/sockets";
import { claimsOf, expired } from "./helpers/tokens";

const HOUR = 3_600_000;

describe("POST /api/meetings/:id/links", () => {
  it("mints a lobby link for up to maxParticipants people, valid TOKEN_EXPIRY_HOURS, by default", async () => {
    const { meeting, hostToken } = await createMeeting({ maxParticipants: 8 });
    const before = Date.now();
    const res = await mintLinkRequest(meeting.id, hostToken);
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(["link", "token"]);
    const { link, token } = res.body;
    expect(Object.keys(link).sort()).toEqual(["createdAt", "expiresAt", "id", "lobby", "maxUses", "revoked", "uses"]);
    expect(link).toMatchObject({ lobby: true, maxUses: 8, uses: 0, revoked: false });
    const expiresAt = Date.parse(link.expiresAt);
    expect(expiresAt).toBeGreaterThan(before + 24 * HOUR - 2000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 24 * HOUR);
    expect(claimsOf(token)).toMatchObject({ aud: meeting.id, kind: "link", jti: link.id, exp: expiresAt / 1000 });
  });

  it("takes lobby, maxUses and expiresInHours", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { link } = await mintLink(meeting.id, hostToken, { lobby: false, maxUses: 3, expiresInHours: 0.5 });
    expect(link).toMatchObject({ lobby: false, maxUses: 3, uses: 0 });
    expect(Date.parse(link.expiresAt)).toBeLessThanOrEqual(Date.now() + HOUR / 2);
  });

  it("refuses a bad body with 400 before it looks at the token", async () => {
    const { meeting, hostToken } = await createMeeting();
    for (const body of [{ maxUses: 0 }, { maxUses: 1.5 }, { lobby: "yes" }, { expiresInHours: -1 }, { extra: 1 }]) {
      await expectRejected(
        meeting.id,
        () => mintLinkRequest(meeting.id, "not-a-token", body),
        400,
        "VALIDATION_FAILED",
      );
    }
    await expectRejected(
      meeting.id,
      () => mintLinkRequest(meeting.id, hostToken, { maxUses: 0 }),
      400,
      "VALIDATION_FAILED",
    );
  });

  it("refuses maxUses above maxParticipants and expiresInHours beyond the meeting's expiry with 400", async () => {
    const { meeting, hostToken } = await createMeeting({ maxParticipants: 4 });
    const tooMany = await expectRejected(
      meeting.id,
      () => mintLinkRequest(meeting.id, hostToken, { maxUses: 5 }),
      400,
      "VALIDATION_FAILED",
    );
    expect(tooMany.body.error.details.fields.maxUses).toBeDefined();
    const tooLong = await expectRejected(
      meeting.id,
      () => mintLinkRequest(meeting.id, hostToken, { expiresInHours: 24 * 365 }),
      400,
      "VALIDATION_FAILED",
    );
    expect(tooLong.body.error.details.fields.expiresInHours).toBeDefined();
  });

  it("is the host's: 401 without a valid token, 403 for a session, an invite or a link token, 410 once ended", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { sessionToken } = await join(meeting.id, hostToken);
    const invite = await mintJoinToken(meeting.id, hostToken);
    const { token: linkToken } = await mintLink(meeting.id, hostToken);
    await expectRejected(meeting.id, () => mintLinkRequest(meeting.id, "x.y.z"), 401, "UNAUTHORIZED");
    for (const token of [sessionToken, invite, linkToken]) {
      await expectRejected(meeting.id, () => mintLinkRequest(meeting.id, token), 403, "FORBIDDEN");
    }
    expect((await api("DELETE", `/api/meetings/${meeting.id}`, { token: hostToken })).status).toBe(200);
    await expectRejected(meeting.id, () => mintLinkRequest(meeting.id, hostToken), 410, "MEETING_ENDED");
  });

  it("holds at most 20 unrevoked, unexpired links (409 INVITE_LIMIT); a revoked one frees its place", async () => {
    const { meeting, hostToken } = await createMeeting();
    const links = [];
    for (let i = 0; i < 20; i++) links.push(await mintLink(meeting.id, hostToken));
    const res = await expectRejected(meeting.id, () => mintLinkRequest(meeting.id, hostToken), 409, "INVITE_LIMIT");
    expect(res.body.error.details).toMatchObject({ limit: 20, outstanding: 20 });
    expect((await revokeLinkRequest(meeting.id, hostToken, links[0]!.link.id)).status).toBe(200);
    expect((await mintLinkRequest(meeting.id, hostToken)).status).toBe(201);
  });
});

describe("GET and DELETE /api/meetings/:id/links", () => {
  it("lists every unexpired link without its token, revoked ones included", async () => {
    const { meeting, hostToken } = await createMeeting();
    const first = await mintLink(meeting.id, hostToken);
    const second = await mintLink(meeting.id, hostToken, { lobby: false });
    const revoked = await revokeLinkRequest(meeting.id, hostToken, first.link.id);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ link: { ...first.link, revoked: true } });
    const res = await api("GET", `/api/meetings/${meeting.id}/links`, { token: hostToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ links: [{ ...first.link, revoked: true }, second.link] });
    expect(JSON.stringify(res.body)).not.toContain(first.token);
  });

  it("answers a second revocation the same, an unknown link 404, a non-host 403", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { sessionToken } = await join(meeting.id, hostToken);
    const { link, token } = await mintLink(meeting.id, hostToken);
    await expectRejected(meeting.id, () => revokeLinkRequest(meeting.id, sessionToken, link.id), 403, "FORBIDDEN");
    await expectRejected(meeting.id, () => revokeLinkRequest(meeting.id, token, link.id), 403, "FORBIDDEN");
    expectError(await api("GET", `/api/meetings/${meeting.id}/links`, { token: sessionToken }), 403, "FORBIDDEN");
    await expectRejected(meeting.id, () => revokeLinkRequest(meeting.id, hostToken, "no-such-link"), 404, "NOT_FOUND");
    const once = await revokeLinkRequest(meeting.id, hostToken, link.id);
    const twice = await revokeLinkRequest(meeting.id, hostToken, link.id);
    expect(twice.status).toBe(200);
    expect(twice.body).toEqual(once.body);
  });
});

describe("housekeeping", () => {
  it("deletes a link's row once it expired (with the grace), and keeps live ones", async () => {
    const { meeting, hostToken } = await createMeeting();
    const old = await mintLink(meeting.id, hostToken);
    const live = await mintLink(meeting.id, hostToken);
    await runInDurableObject(meetingObject(meeting.id), (_, state) => {
      state.storage.sql.exec("UPDATE link SET expires_at = ? WHERE id = ?", Date.now() - 6 * 60_000, old.link.id);
    });
    await runDurableObjectAlarm(meetingObject(meeting.id));
    const ids = await runInDurableObject(meetingObject(meeting.id), (_, state) =>
      state.storage.sql
        .exec("SELECT id FROM link")
        .toArray()
        .map((row) => row.id),
    );
    expect(ids).toEqual([live.link.id]);
  });
});

describe("what a link token may do", () => {
  it("reads GET and the calendar like an unredeemed invite, and is 403 on every other route", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { token } = await mintLink(meeting.id, hostToken);
    expect((await getMeeting(meeting.id, token)).id).toBe(meeting.id);
    const calendar = await api("GET", `/api/meetings/${meeting.id}/calendar.ics?token=${encodeURIComponent(token)}`);
    expect(calendar.status).toBe(200);
    expect(calendar.body).toContain("BEGIN:VEVENT");
    const id = meeting.id;
    for (const [method, path, body] of [
      ["POST", `/api/meetings/${id}/tokens`, {}],
      ["POST", `/api/meetings/${id}/host-token`, undefined],
      ["POST", `/api/meetings/${id}/leave`, undefined],
      ["POST", `/api/meetings/${id}/session-token`, undefined],
      ["POST", `/api/meetings/${id}/calendar-token`, undefined],
      ["GET", `/api/meetings/${id}/ice-servers`, undefined],
      ["GET", `/api/meetings/${id}/links`, undefined],
      ["DELETE", `/api/meetings/${id}`, undefined],
    ] as const) {
      await expectRejected(id, () => api(method, path, { token, body }), 403, "FORBIDDEN");
    }
    const socket = await upgrade(id, token);
    expect(socket.status).toBe(403);
    expect(((await socket.json()) as any).error.code).toBe("FORBIDDEN");
  });

  it("is 403 once revoked, 401 once expired or for another meeting", async () => {
    const { meeting, hostToken } = await createMeeting();
    const other = await createMeeting();
    const { link, token } = await mintLink(meeting.id, hostToken, { lobby: false });
    expectError(await api("GET", `/api/meetings/${other.meeting.id}`, { token }), 401, "UNAUTHORIZED");
    const expiredToken = await expired(token);
    await expectRejected(meeting.id, () => joinWith(expiredToken), 401, "UNAUTHORIZED");
    await revokeLinkRequest(meeting.id, hostToken, link.id);
    await expectRejected(meeting.id, () => joinWith(token), 403, "FORBIDDEN");
    expectError(await api("GET", `/api/meetings/${meeting.id}`, { token }), 403, "FORBIDDEN");
  });
});

describe("POST /api/meetings/join with a link without lobby", () => {
  it("answers like an invite, and each join is a new participant counting one use", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { link, token } = await mintLink(meeting.id, hostToken, { lobby: false });
    const first = await joinWith(token, "Grace");
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(JOIN_ANSWER_KEYS);
    expect(first.body.participant).toMatchObject({ name: "Grace", role: "participant" });
    expect(claimsOf(first.body.sessionToken)).toMatchObject({ kind: "session", pid: first.body.participant.id });
    const second = await joinWith(token, "Linus");
    expect(second.status).toBe(200);
    expect(second.body.participant.id).not.toBe(first.body.participant.id);
    expect((await getMeeting(meeting.id, hostToken)).participantCount).toBe(3);
    const listed = await api("GET", `/api/meetings/${meeting.id}/links`, { token: hostToken });
    expect(listed.body.links).toEqual([{ ...link, uses: 2 }]);
  });

  it("refuses past maxUses with 409 LINK_EXHAUSTED, also when joins race", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { token } = await mintLink(meeting.id, hostToken, { lobby: false, maxUses: 2 });
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => joinWith(token, `Racer ${i}`)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 409, 409, 409]);
    for (const loser of results.filter((r) => r.status === 409)) expectError(loser, 409, "LINK_EXHAUSTED");
    await expectRejected(meeting.id, () => joinWith(token), 409, "LINK_EXHAUSTED");
    expect((await getMeeting(meeting.id, hostToken)).participantCount).toBe(3);
  });

  it("refuses a full meeting with 409 MEETING_FULL and an ended one with 410", async () => {
    const { meeting, hostToken } = await createMeeting({ maxParticipants: 2 });
    const { token } = await mintLink(meeting.id, hostToken, { lobby: false });
    expect((await joinWith(token)).status).toBe(200);
    await expectRejected(meeting.id, () => joinWith(token), 409, "MEETING_FULL");
    await api("DELETE", `/api/meetings/${meeting.id}`, { token: hostToken });
    await expectRejected(meeting.id, () => joinWith(token), 410, "MEETING_ENDED");
  });
});

describe("POST /api/meetings/join with a lobby link", () => {
  it("answers 202 with a wait token bound to the request, valid 15 minutes", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { link, token } = await mintLink(meeting.id, hostToken);
    const before = Math.floor(Date.now() / 1000);
    const res = await joinWith(token, "  Grace ");
    expect(res.status).toBe(202);
    expect(Object.keys(res.body).sort()).toEqual(["requestId", "status", "waitToken", "wsUrl"]);
    expect(res.body).toMatchObject({ status: "waiting", wsUrl: `/api/meetings/${meeting.id}/ws` });
    const claims = claimsOf(res.body.waitToken);
    expect(claims).toMatchObject({ aud: meeting.id, kind: "wait", jti: res.body.requestId });
    expect(claims.exp).toBeGreaterThanOrEqual(before + 15 * 60 - 1);
    expect(claims.exp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 15 * 60);
    expect(await lobbyRows(meeting.id)).toMatchObject([{ id: res.body.requestId, link_id: link.id, name: "Grace" }]);
    // Waiting is not joining: nobody new is listed, and the link counts no use yet.
    expect((await getMeeting(meeting.id, hostToken)).participantCount).toBe(1);
    expect((await api("GET", `/api/meetings/${meeting.id}/links`, { token: hostToken })).body.links[0].uses).toBe(0);
  });

  it("lets at most 50 wait (409 LOBBY_FULL), and knocks on a full meeting still wait", async () => {
    const { meeting, hostToken } = await createMeeting({ maxParticipants: 2 });
    const { token } = await mintLink(meeting.id, hostToken);
    await join(meeting.id, hostToken);
    for (let i = 0; i < 50; i++) await knock(token, `Guest ${i}`);
    await expectRejected(meeting.id, () => joinWith(token), 409, "LOBBY_FULL");
  });

  it("refuses a knock on an exhausted link with 409 LINK_EXHAUSTED", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { token } = await mintLink(meeting.id, hostToken, { maxUses: 1 });
    const { requestId } = await knock(token);
    expect((await admitRequest(meeting.id, hostToken, requestId)).status).toBe(200);
    await expectRejected(meeting.id, () => joinWith(token), 409, "LINK_EXHAUSTED");
  });

  it("refuses the wait token everywhere but the lobby socket with 403", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { token } = await mintLink(meeting.id, hostToken);
    const { waitToken } = await knock(token);
    const id = meeting.id;
    await expectRejected(id, () => joinWith(waitToken), 403, "FORBIDDEN");
    for (const [method, path, body] of [
      ["GET", `/api/meetings/${id}`, undefined],
      ["GET", `/api/meetings/${id}/calendar.ics`, undefined],
      ["POST", `/api/meetings/${id}/tokens`, {}],
      ["POST", `/api/meetings/${id}/links`, {}],
      ["POST", `/api/meetings/${id}/leave`, undefined],
      ["GET", `/api/meetings/${id}/ice-servers`, undefined],
    ] as const) {
      await expectRejected(id, () => api(method, path, { token: waitToken, body }), 403, "FORBIDDEN");
    }
  });
});

describe("POST /api/meetings/:id/lobby/:requestId/admit and deny", () => {
  it("admits: 200 with the new participant, listed at once, the link's use counted", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { token } = await mintLink(meeting.id, hostToken);
    const { requestId } = await knock(token, "Grace");
    const res = await admitRequest(meeting.id, hostToken, requestId);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["participant"]);
    expect(res.body.participant).toMatchObject({ name: "Grace", role: "participant", connected: false });
    const listed = await getMeeting(meeting.id, hostToken);
    expect(listed.participants.map((p: any) => p.id)).toContain(res.body.participant.id);
    expect((await api("GET", `/api/meetings/${meeting.id}/links`, { token: hostToken })).body.links[0].uses).toBe(1);
  });

  it("denies: 200 with the request id; admitting or denying an answered request is 404", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { token } = await mintLink(meeting.id, hostToken);
    const { requestId } = await knock(token);
    const res = await denyRequest(meeting.id, hostToken, requestId, { reason: "not today" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ requestId });
    await expectRejected(meeting.id, () => denyRequest(meeting.id, hostToken, requestId), 404, "NOT_FOUND");
    await expectRejected(meeting.id, () => admitRequest(meeting.id, hostToken, requestId), 404, "NOT_FOUND");
    await expectRejected(meeting.id, () => admitRequest(meeting.id, hostToken, "nobody"), 404, "NOT_FOUND");
  });

  it("checks in the contract's order: body 400, token 401, role 403, state 410", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { sessionToken } = await join(meeting.id, hostToken);
    const { token } = await mintLink(meeting.id, hostToken);
    const { requestId, waitToken } = await knock(token);
    const id = meeting.id;
    await expectRejected(id, () => denyRequest(id, "bad", requestId, { reason: 5 }), 400, "VALIDATION_FAILED");
    await expectRejected(id, () => admitRequest(id, "bad", requestId), 401, "UNAUTHORIZED");
    for (const other of [sessionToken, token, waitToken]) {
      await expectRejected(id, () => admitRequest(id, other, requestId), 403, "FORBIDDEN");
      await expectRejected(id, () => denyRequest(id, other, requestId), 403, "FORBIDDEN");
    }
    await api("DELETE", `/api/meetings/${id}`, { token: hostToken });
    await expectRejected(id, () => admitRequest(id, hostToken, requestId), 410, "MEETING_ENDED");
  });

  it("answers a full meeting's admit with 409 MEETING_FULL and keeps the guest waiting", async () => {
    const { meeting, hostToken } = await createMeeting({ maxParticipants: 2 });
    const { token } = await mintLink(meeting.id, hostToken);
    const { requestId } = await knock(token, "Grace");
    const { sessionToken } = await join(meeting.id, hostToken, "Linus");
    await expectRejected(meeting.id, () => admitRequest(meeting.id, hostToken, requestId), 409, "MEETING_FULL");
    expect((await lobbyRows(meeting.id)).map((row) => [row.id, row.answer])).toEqual([[requestId, null]]);
    // Room again: the same request is admitted.
    await api("POST", `/api/meetings/${meeting.id}/leave`, { token: sessionToken });
    expect((await admitRequest(meeting.id, hostToken, requestId)).status).toBe(200);
  });

  it("answers an admit past the link's maxUses with 409 LINK_EXHAUSTED and keeps the guest waiting", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { token } = await mintLink(meeting.id, hostToken, { maxUses: 1 });
    const first = await knock(token, "Grace");
    const second = await knock(token, "Linus");
    expect((await admitRequest(meeting.id, hostToken, first.requestId)).status).toBe(200);
    await expectRejected(
      meeting.id,
      () => admitRequest(meeting.id, hostToken, second.requestId),
      409,
      "LINK_EXHAUSTED",
    );
    expect((await lobbyRows(meeting.id)).find((row) => row.id === second.requestId)?.answer).toBeNull();
  });

  it("admits a guest once when two admits race, and gives an admit racing a revocation one outcome", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { link, token } = await mintLink(meeting.id, hostToken);
    const { requestId } = await knock(token);
    const admits = await Promise.all([
      admitRequest(meeting.id, hostToken, requestId),
      admitRequest(meeting.id, hostToken, requestId),
    ]);
    expect(admits.map((r) => r.status).sort()).toEqual([200, 404]);
    expect((await getMeeting(meeting.id, hostToken)).participantCount).toBe(2);

    const raced = await knock(token, "Linus");
    const [admitted, revoked] = await Promise.all([
      admitRequest(meeting.id, hostToken, raced.requestId),
      revokeLinkRequest(meeting.id, hostToken, link.id),
    ]);
    expect(revoked.status).toBe(200);
    const participants = (await getMeeting(meeting.id, hostToken)).participantCount;
    if (admitted.status === 200) expect(participants).toBe(3);
    else {
      expectError(admitted, 404, "NOT_FOUND");
      expect(participants).toBe(2);
    }
  });
});
