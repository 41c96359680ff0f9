/**
 * Calendar tokens (contract 1.1): `POST /api/meetings/:id/calendar-token`
 * mints a read-only token for a calendar app's subscription URL. Only
 * `calendar.ics` accepts it; it is revoked with the participant who minted
 * it, and it lives as long as the meeting, following reschedules.
 */
import { evictDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, createMeeting, expectError, inMinutes, meetingWith, mintJoinToken } from "./helpers/api";
import { describeAccessChecks, hostCalendarToken } from "./helpers/member-routes";
import { meetingObject, upgrade } from "./helpers/sockets";
import { claimsOf } from "./helpers/tokens";

const mint = (id: string, token: string) => api("POST", `/api/meetings/${id}/calendar-token`, { token });
const feed = (id: string, token: string) =>
  api("GET", `/api/meetings/${id}/calendar.ics?token=${encodeURIComponent(token)}`);

afterEach(() => {
  vi.useRealTimers();
});

describe("POST /api/meetings/:id/calendar-token", () => {
  it("answers 201 with the token, its subscription path and the meeting's expiry; the path serves the feed", async () => {
    const m = await meetingWith("Grace");
    const res = await mint(m.id, m.hostToken);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.headers.get("cache-control")).toContain("no-store");
    const { token, calendarUrl, expiresAt } = res.body;
    expect(Object.keys(res.body).sort()).toEqual(["calendarUrl", "expiresAt", "token"]);
    expect(calendarUrl).toBe(`/api/meetings/${m.id}/calendar.ics?token=${token}`);
    expect(claimsOf(token)).toMatchObject({ kind: "calendar", aud: m.id, pid: m.host.id });
    const meeting = (await api("GET", `/api/meetings/${m.id}`, { token: m.hostToken })).body.meeting;
    expect(expiresAt).toBe(meeting.expiresAt);

    const ics = await api("GET", calendarUrl);
    expect(ics.status).toBe(200);
    expect(ics.headers.get("content-type")).toBe("text/calendar; charset=utf-8");
    expect(ics.body).toContain("BEGIN:VEVENT");
    // As a bearer header too, like every token the feed takes.
    expect((await api("GET", `/api/meetings/${m.id}/calendar.ics`, { token })).status).toBe(200);
  });

  it("is minted by a participant with its session token, speaking for that participant", async () => {
    const m = await meetingWith("Grace");
    const res = await mint(m.id, m.guests[0]!.sessionToken);
    expect(res.status).toBe(201);
    expect(claimsOf(res.body.token).pid).toBe(m.guests[0]!.participant.id);
    expect((await api("GET", res.body.calendarUrl)).status).toBe(200);
  });

  it("is refused with 403 by every route but the calendar feed, the socket and join included", async () => {
    const m = await meetingWith("Grace");
    const token = await hostCalendarToken(m.id, m.hostToken);
    const guestId = m.guests[0]!.participant.id;
    const routes: [string, string, unknown?][] = [
      ["GET", `/api/meetings/${m.id}`],
      ["DELETE", `/api/meetings/${m.id}`],
      ["POST", `/api/meetings/${m.id}/tokens`, {}],
      ["POST", `/api/meetings/${m.id}/host-token`],
      ["PUT", `/api/meetings/${m.id}/datetime`, { durationMinutes: 45 }],
      ["POST", `/api/meetings/${m.id}/kick`, { participantId: guestId }],
      ["POST", `/api/meetings/${m.id}/leave`],
      ["GET", `/api/meetings/${m.id}/stats`],
      ["POST", `/api/meetings/${m.id}/session-token`],
      ["POST", `/api/meetings/${m.id}/calendar-token`],
      ["GET", `/api/meetings/${m.id}/ice-servers`],
    ];
    for (const [method, path, body] of routes) {
      const res = await api(method, path, { token, body });
      expectError(res, 403, "FORBIDDEN");
      expect(res.body.error.message, `${method} ${path}`).toContain("calendar");
    }
    expect((await upgrade(m.id, token)).status).toBe(403);
    expectError(await api("POST", "/api/meetings/join", { body: { token, displayName: "Eve" } }), 403, "FORBIDDEN");
    // Nothing happened: the meeting is active, the guest still listed.
    const meeting = (await api("GET", `/api/meetings/${m.id}`, { token: m.hostToken })).body.meeting;
    expect(meeting.status).toBe("active");
    expect(meeting.participantCount).toBe(2);
  });

  it("is revoked with the participant who minted it: left or kicked, the feed answers 403", async () => {
    const m = await meetingWith("Grace", "Linus");
    const [grace, linus] = m.guests;
    const graceFeed = (await mint(m.id, grace!.sessionToken)).body.token;
    const linusFeed = (await mint(m.id, linus!.sessionToken)).body.token;
    const hostFeed = await hostCalendarToken(m.id, m.hostToken);
    await api("POST", `/api/meetings/${m.id}/leave`, { token: grace!.sessionToken });
    await api("POST", `/api/meetings/${m.id}/kick`, {
      token: m.hostToken,
      body: { participantId: linus!.participant.id },
    });
    expectError(await feed(m.id, graceFeed), 403, "FORBIDDEN");
    expectError(await feed(m.id, linusFeed), 403, "FORBIDDEN");
    // Someone else's calendar token is untouched.
    expect((await feed(m.id, hostFeed)).status).toBe(200);
  });

  it("survives the host leaving: the host is never revoked, only disconnected (contract, read literally)", async () => {
    const m = await meetingWith();
    const token = await hostCalendarToken(m.id, m.hostToken);
    expect((await api("POST", `/api/meetings/${m.id}/leave`, { token: m.hostToken })).status).toBe(200);
    expect((await feed(m.id, token)).status).toBe(200);
  });

  it("survives the meeting's object being evicted: acceptance and revocation come from storage", async () => {
    const m = await meetingWith("Grace", "Linus");
    const [grace, linus] = m.guests;
    const graceFeed = (await mint(m.id, grace!.sessionToken)).body.token;
    const linusFeed = (await mint(m.id, linus!.sessionToken)).body.token;
    await api("POST", `/api/meetings/${m.id}/leave`, { token: linus!.sessionToken });
    await evictDurableObject(meetingObject(m.id));
    expect((await feed(m.id, graceFeed)).status).toBe(200);
    expectError(await feed(m.id, linusFeed), 403, "FORBIDDEN");
    expectError(await api("GET", `/api/meetings/${m.id}`, { token: graceFeed }), 403, "FORBIDDEN");
  });

  it("keeps serving an ended meeting (STATUS:CANCELLED) until it expires", async () => {
    const m = await meetingWith("Grace");
    const token = (await mint(m.id, m.guests[0]!.sessionToken)).body.token;
    expect((await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken })).status).toBe(200);
    const res = await feed(m.id, token);
    expect(res.status).toBe(200);
    expect(res.body).toContain("STATUS:CANCELLED");
  });

  it("follows a reschedule: still valid after the meeting's first expiry, gone (404) after the moved one", async () => {
    const created = await createMeeting({ scheduledAt: inMinutes(60), durationMinutes: 30 });
    const id = created.meeting.id as string;
    const token = await hostCalendarToken(id, created.hostToken);
    const firstExpiry = Date.parse(created.meeting.expiresAt);
    const moved = await api("PUT", `/api/meetings/${id}/datetime`, {
      token: created.hostToken,
      body: { scheduledAt: inMinutes(3 * 24 * 60) },
    });
    const movedExpiry = Date.parse(moved.body.meeting.expiresAt);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(firstExpiry + 3_600_000);
    // The first host token was bound to the first expiry; the calendar token follows the meeting.
    expectError(await feed(id, created.hostToken), 401, "UNAUTHORIZED");
    const res = await feed(id, token);
    expect(res.status).toBe(200);
    expect(res.body).toContain("SEQUENCE:1");

    vi.setSystemTime(movedExpiry + 1000);
    expectError(await feed(id, token), 404, "NOT_FOUND");
  });

  it("still lets the 1.0 tokens read the feed: host, session, unredeemed invite", async () => {
    const m = await meetingWith("Grace");
    const invite = await mintJoinToken(m.id, m.hostToken);
    for (const token of [m.hostToken, m.guests[0]!.sessionToken, invite]) {
      expect((await feed(m.id, token)).status).toBe(200);
    }
  });
});

describeAccessChecks({ method: "POST", suffix: "/calendar-token", accepts: ["host", "session"] });
