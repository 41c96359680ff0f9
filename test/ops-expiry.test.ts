/**
 * Expiry through the meeting's alarm: MEETING_EXPIRY_HOURS after the
 * scheduled end, or after termination, the meeting's data is deleted, its
 * sockets are closed, and every route answers 404 (401 for a token that
 * expired with it). Rescheduling and terminating move the alarm. Time is
 * moved with fake `Date` (the worker runs in the test's isolate); the alarm
 * is run with `runDurableObjectAlarm`.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, createMeeting, expectError, inMinutes, join, mintJoinToken } from "./helpers/api";
import { connect, meetingObject, upgrade } from "./helpers/sockets";

const HOUR = 3_600_000;

afterEach(() => {
  vi.useRealTimers();
});

function travelTo(epochMs: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(epochMs);
}

/** What the meeting's object still stores: user tables, KV keys, the alarm. */
function leftovers(meetingId: string) {
  return runInDurableObject(meetingObject(meetingId), async (_, state) => ({
    tables: state.storage.sql
      .exec(
        `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`,
      )
      .toArray()
      .map((row) => row.name),
    keys: [...state.storage.kv.list()].length,
    alarm: await state.storage.getAlarm(),
  }));
}

function alarmOf(meetingId: string) {
  return runInDurableObject(meetingObject(meetingId), (_, state) => state.storage.getAlarm());
}

/**
 * A meeting whose first host token outlives it: created two hours ahead,
 * then moved to start in ten minutes, so that token (bound to the first,
 * later expiry) is still valid after the meeting expired.
 */
async function movedEarlier() {
  const created = await createMeeting({ scheduledAt: inMinutes(120), durationMinutes: 30 });
  const id = created.meeting.id as string;
  const moved = await api("PUT", `/api/meetings/${id}/datetime`, {
    token: created.hostToken,
    body: { scheduledAt: inMinutes(10) },
  });
  expect(moved.status).toBe(200);
  return { id, hostToken: created.hostToken, expiresAt: Date.parse(moved.body.meeting.expiresAt) };
}

describe("meeting expiry", () => {
  it("arms the alarm at the expiry, and moves it when the meeting is rescheduled either way", async () => {
    const { meeting, hostToken } = await createMeeting({ scheduledAt: inMinutes(60), durationMinutes: 30 });
    expect(Date.parse(meeting.expiresAt)).toBe(Date.parse(meeting.scheduledAt) + 30 * 60_000 + 24 * HOUR);
    expect(await alarmOf(meeting.id)).toBe(Date.parse(meeting.expiresAt));

    const later = await api("PUT", `/api/meetings/${meeting.id}/datetime`, {
      token: hostToken,
      body: { scheduledAt: inMinutes(600) },
    });
    expect(await alarmOf(meeting.id)).toBe(Date.parse(later.body.meeting.expiresAt));

    const earlier = await api("PUT", `/api/meetings/${meeting.id}/datetime`, {
      token: hostToken,
      body: { scheduledAt: inMinutes(5), durationMinutes: 15 },
    });
    expect(await alarmOf(meeting.id)).toBe(Date.parse(earlier.body.meeting.expiresAt));
  });

  it("deletes everything at expiry: sockets closed, storage empty, every route 404", async () => {
    const { id, hostToken, expiresAt } = await movedEarlier();
    const guest = await join(id, hostToken, "Grace");
    const joinToken = await mintJoinToken(id, hostToken);
    const hostSocket = await connect(id, hostToken);
    const guestSocket = await connect(id, guest.sessionToken);

    travelTo(expiresAt + 1000);
    expect(await runDurableObjectAlarm(meetingObject(id))).toBe(true);

    expect((await hostSocket.closed()).code).toBe(4000);
    expect((await guestSocket.closed()).code).toBe(4000);
    expect(await leftovers(id)).toEqual({ tables: [], keys: 0, alarm: null });

    // The first host token is still within its own expiry: the meeting is simply gone.
    const routes: [string, string, unknown?][] = [
      ["GET", `/api/meetings/${id}`],
      ["DELETE", `/api/meetings/${id}`],
      ["POST", `/api/meetings/${id}/tokens`, {}],
      ["POST", `/api/meetings/${id}/host-token`],
      ["PUT", `/api/meetings/${id}/datetime`, { durationMinutes: 45 }],
      ["POST", `/api/meetings/${id}/kick`, { participantId: guest.participant.id }],
      ["POST", `/api/meetings/${id}/leave`],
      ["GET", `/api/meetings/${id}/stats`],
    ];
    for (const [method, path, body] of routes) {
      expectError(await api(method, path, { token: hostToken, body }), 404, "NOT_FOUND");
    }
    const socket = await upgrade(id, hostToken);
    expect(socket.status).toBe(404);
    // Tokens capped at the meeting's expiry expired with it.
    expectError(await api("GET", `/api/meetings/${id}`, { token: guest.sessionToken }), 401, "UNAUTHORIZED");
    expectError(
      await api("POST", "/api/meetings/join", { body: { token: joinToken, displayName: "Late" } }),
      401,
      "UNAUTHORIZED",
    );
    expect(await leftovers(id)).toEqual({ tables: [], keys: 0, alarm: null });
  });

  it("treats a meeting past its expiry as gone even before the alarm ran, then deletes it", async () => {
    const { id, hostToken, expiresAt } = await movedEarlier();
    travelTo(expiresAt + 1000);
    expectError(await api("GET", `/api/meetings/${id}`, { token: hostToken }), 404, "NOT_FOUND");
    expect(await runDurableObjectAlarm(meetingObject(id))).toBe(true);
    expect(await leftovers(id)).toEqual({ tables: [], keys: 0, alarm: null });
  });

  it("expires a terminated meeting MEETING_EXPIRY_HOURS after its termination", async () => {
    const { meeting, hostToken } = await createMeeting({ scheduledAt: inMinutes(300) });
    const ended = await api("DELETE", `/api/meetings/${meeting.id}`, { token: hostToken });
    const endedExpiry = Date.parse(ended.body.meeting.expiresAt);
    expect(endedExpiry).toBeLessThan(Date.parse(meeting.expiresAt));
    expect(Math.abs(endedExpiry - (Date.now() + 24 * HOUR))).toBeLessThan(60_000);
    expect(await alarmOf(meeting.id)).toBe(endedExpiry);

    travelTo(endedExpiry - 1000);
    expect((await api("GET", `/api/meetings/${meeting.id}`, { token: hostToken })).body.meeting.status).toBe("ended");
    travelTo(endedExpiry + 1000);
    expect(await runDurableObjectAlarm(meetingObject(meeting.id))).toBe(true);
    expect(await leftovers(meeting.id)).toEqual({ tables: [], keys: 0, alarm: null });
    expectError(await api("GET", `/api/meetings/${meeting.id}`, { token: hostToken }), 404, "NOT_FOUND");
  });

  it("keeps the meeting when an alarm fires before the expiry (a liveness sweep), and re-arms", async () => {
    const { meeting, hostToken } = await createMeeting();
    const socket = await connect(meeting.id, hostToken);
    expect(await runDurableObjectAlarm(meetingObject(meeting.id))).toBe(true);
    expect((await api("GET", `/api/meetings/${meeting.id}`, { token: hostToken })).status).toBe(200);
    const alarm = await alarmOf(meeting.id);
    expect(alarm).not.toBeNull();
    expect(alarm as number).toBeLessThanOrEqual(Date.parse(meeting.expiresAt));
    socket.close();
  });

  it("runs the deletion once: a second alarm run finds nothing to do", async () => {
    const { id, expiresAt } = await movedEarlier();
    travelTo(expiresAt + 1000);
    expect(await runDurableObjectAlarm(meetingObject(id))).toBe(true);
    expect(await runDurableObjectAlarm(meetingObject(id))).toBe(false);
    expect(await leftovers(id)).toEqual({ tables: [], keys: 0, alarm: null });
  });
});
