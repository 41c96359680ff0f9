/**
 * `GET /api/meetings/:id/calendar.ics` as a calendar app sees it: the feed
 * for any valid token of the meeting (header or `?token=`), following
 * reschedules and cancellation, and the contract's errors in its order.
 */
import { env } from "cloudflare:test";
import ICAL from "ical.js";
import { describe, expect, it } from "vitest";
import { api, createMeeting, expectError, inMinutes, join, meetingWith, mintJoinToken } from "./helpers/api";
import { reboundTo, withWrongSecret } from "./helpers/tokens";

/** An ISO time `minutes` ahead on a whole second: iCalendar times have no fractions. */
const wholeSecondIn = (minutes: number) => inMinutes(minutes).replace(/\.\d{3}Z$/, ".000Z");

const calendarPath = (id: string, token?: string) =>
  `/api/meetings/${id}/calendar.ics${token === undefined ? "" : `?token=${encodeURIComponent(token)}`}`;

function parseEvent(ics: string) {
  const vevent = new ICAL.Component(ICAL.parse(ics)).getFirstSubcomponent("vevent");
  if (!vevent) throw new Error("no VEVENT");
  return { event: new ICAL.Event(vevent), status: vevent.getFirstPropertyValue("status") };
}

async function feed(id: string, token: string) {
  const res = await api("GET", calendarPath(id, token));
  expect(res.status, String(res.body)).toBe(200);
  return { ...parseEvent(res.body as string), text: res.body as string, headers: res.headers };
}

describe("calendar feed", () => {
  it("answers text/calendar with one confirmed event at the meeting's time", async () => {
    const scheduledAt = wholeSecondIn(120);
    const { meeting, hostToken } = await createMeeting({ scheduledAt, durationMinutes: 45, timezone: "Asia/Tokyo" });
    const res = await api("GET", `/api/meetings/${meeting.id}/calendar.ics`, { token: hostToken });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/calendar; charset=utf-8");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(res.headers.get("cache-control")).toBe("no-store"); // contract 1.1: token-bearing answers
    const text = res.body as string;
    expect(text.startsWith("BEGIN:VCALENDAR\r\n")).toBe(true);
    const { event, status } = parseEvent(text);
    expect(event.uid).toBe(`${meeting.id}@meettime`);
    expect(event.sequence).toBe(0);
    expect(event.summary).toBe("Weekly sync");
    expect(event.startDate.toJSDate().toISOString()).toBe(scheduledAt);
    expect(event.endDate.toJSDate().getTime() - Date.parse(scheduledAt)).toBe(45 * 60_000);
    expect(status).toBe("CONFIRMED");
    expect(event.description).toContain("(Asia/Tokyo)");
  });

  it("keeps a title with commas, semicolons, backslashes, emoji and CJK intact, folded at 75 octets", async () => {
    const title = `Plan, review; ship \\ repeat: 会議🎉👩🏽‍💻 ${"日程調整ミーティング🚀".repeat(12)}`.slice(0, 200);
    const { meeting, hostToken } = await createMeeting({ title });
    const { event, text } = await feed(meeting.id, hostToken);
    expect(event.summary).toBe(title);
    const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
    for (const line of text.slice(0, -2).split("\r\n")) {
      const bytes = new TextEncoder().encode(line);
      expect(bytes.length).toBeLessThanOrEqual(75);
      expect(decoder.decode(bytes)).toBe(line);
    }
  });

  it("moves the event and bumps SEQUENCE with each reschedule, under the same UID", async () => {
    const { meeting, hostToken } = await createMeeting();
    const before = (await feed(meeting.id, hostToken)).event;
    const newTime = wholeSecondIn(300);
    for (const body of [{ scheduledAt: newTime }, { durationMinutes: 15 }]) {
      const res = await api("PUT", `/api/meetings/${meeting.id}/datetime`, { token: hostToken, body });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const after = (await feed(meeting.id, hostToken)).event;
    expect(after.uid).toBe(before.uid);
    expect(after.sequence).toBe(2);
    expect(after.startDate.toJSDate().toISOString()).toBe(newTime);
    expect(after.endDate.toJSDate().getTime() - Date.parse(newTime)).toBe(15 * 60_000);
  });

  it("turns CANCELLED once the host ends the meeting, still readable", async () => {
    const m = await meetingWith("Grace");
    expect((await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken })).status).toBe(200);
    const { status, event } = await feed(m.id, m.hostToken);
    expect(status).toBe("CANCELLED");
    expect(event.sequence).toBe(0);
  });
});

describe("calendar tokens", () => {
  it("takes a session token or an unredeemed join token as ?token= or bearer", async () => {
    const { meeting, hostToken } = await createMeeting();
    const joinToken = await mintJoinToken(meeting.id, hostToken);
    expect((await api("GET", calendarPath(meeting.id, joinToken))).status).toBe(200);
    expect((await api("GET", calendarPath(meeting.id), { token: joinToken })).status).toBe(200);
    const guest = await join(meeting.id, hostToken);
    expect((await api("GET", calendarPath(meeting.id, guest.sessionToken))).status).toBe(200);
  });

  it("refuses a redeemed join token (401) and a revoked session (403)", async () => {
    const { meeting, hostToken } = await createMeeting();
    const joinToken = await mintJoinToken(meeting.id, hostToken);
    const joined = await api("POST", "/api/meetings/join", { body: { token: joinToken, displayName: "Grace" } });
    expect(joined.status).toBe(200);
    expectError(await api("GET", calendarPath(meeting.id, joinToken)), 401, "UNAUTHORIZED");
    const left = await api("POST", `/api/meetings/${meeting.id}/leave`, { token: joined.body.sessionToken });
    expect(left.status).toBe(200);
    expectError(await api("GET", calendarPath(meeting.id, joined.body.sessionToken)), 403, "FORBIDDEN");
  });

  it("answers the contract's errors in its check order", async () => {
    const { meeting, hostToken } = await createMeeting();
    const other = await createMeeting();
    // Malformed id: 404 before anything else, even with a bad query and no token.
    expectError(await api("GET", `/api/meetings/not-an-id/calendar.ics?token=${"x".repeat(5000)}`), 404, "NOT_FOUND");
    expectError(await api("GET", `/api/meetings/${meeting.id.toUpperCase()}/calendar.ics`), 404, "NOT_FOUND");
    // Query validation before the token.
    expectError(await api("GET", calendarPath(meeting.id, "x".repeat(5000))), 400, "VALIDATION_FAILED");
    expectError(await api("GET", calendarPath(meeting.id)), 401, "UNAUTHORIZED");
    expectError(await api("GET", calendarPath(meeting.id, "")), 401, "UNAUTHORIZED");
    expectError(await api("GET", calendarPath(meeting.id, "garbage")), 401, "UNAUTHORIZED");
    expectError(await api("GET", calendarPath(meeting.id, await withWrongSecret(hostToken))), 401, "UNAUTHORIZED");
    expectError(await api("GET", calendarPath(meeting.id, other.hostToken)), 401, "UNAUTHORIZED");
    // A well-formed id with no meeting behind it, and a token signed for it: 404.
    const unknownId = env.MEETINGS.newUniqueId().toString();
    expectError(await api("GET", calendarPath(unknownId, await reboundTo(hostToken, unknownId))), 404, "NOT_FOUND");
  });
});
