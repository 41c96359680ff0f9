/**
 * Rescheduling: PUT /api/meetings/:id/datetime changes any of scheduledAt,
 * durationMinutes and timezone, bumps `version` once per accepted change,
 * refuses stale versions (expectedVersion or If-Match) with the current
 * meeting, moves `expiresAt`, and tells connected participants.
 */
import { describe, expect, it } from "vitest";
import { api, createMeeting, expectError, getMeeting, inMinutes, join, meetingWith } from "./helpers/api";
import { expectRejected } from "./helpers/meeting-storage";
import { connect } from "./helpers/sockets";

const HOUR_MS = 3_600_000;
const put = (id: string, token: string, body: unknown, headers?: Record<string, string>) =>
  api("PUT", `/api/meetings/${id}/datetime`, { token, body, headers });

const expiryOf = (m: { scheduledAt: string; durationMinutes: number }) =>
  new Date(Date.parse(m.scheduledAt) + m.durationMinutes * 60_000 + 24 * HOUR_MS).toISOString();

describe("PUT /api/meetings/:id/datetime", () => {
  it("changes scheduledAt alone, keeps the rest, bumps the version and moves expiresAt", async () => {
    const { meeting, hostToken } = await createMeeting({ durationMinutes: 30, timezone: "Europe/Berlin" });
    const scheduledAt = inMinutes(180);
    const res = await put(meeting.id, hostToken, { scheduledAt });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["meeting"]);
    const updated = res.body.meeting;
    expect(updated).toMatchObject({
      scheduledAt: new Date(scheduledAt).toISOString(),
      durationMinutes: 30,
      timezone: "Europe/Berlin",
      version: 2,
      title: meeting.title,
      createdAt: meeting.createdAt,
    });
    expect(updated.expiresAt).toBe(expiryOf(updated));
    expect(updated.expiresAt).not.toBe(meeting.expiresAt);
    expect(Date.parse(updated.updatedAt)).toBeGreaterThanOrEqual(Date.parse(meeting.updatedAt));
    expect(res.headers.get("etag")).toBe('"2"');
    expect(await getMeeting(meeting.id, hostToken)).toEqual(updated);
  });

  it("changes durationMinutes alone and moves expiresAt with it", async () => {
    const { meeting, hostToken } = await createMeeting({ durationMinutes: 30 });
    const { body } = await put(meeting.id, hostToken, { durationMinutes: 120 });
    expect(body.meeting).toMatchObject({ scheduledAt: meeting.scheduledAt, durationMinutes: 120, version: 2 });
    expect(body.meeting.expiresAt).toBe(expiryOf(body.meeting));
  });

  it("changes timezone alone (canonical spelling), leaving expiresAt where it was", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { body } = await put(meeting.id, hostToken, { timezone: "asia/tokyo" });
    expect(body.meeting).toMatchObject({ timezone: "Asia/Tokyo", version: 2, expiresAt: meeting.expiresAt });
  });

  it("refuses a body without any of the three fields with 400, version unchanged", async () => {
    const { meeting, hostToken } = await createMeeting();
    for (const body of [{}, { expectedVersion: 1 }]) {
      await expectRejected(meeting.id, () => put(meeting.id, hostToken, body), 400, "VALIDATION_FAILED");
    }
    expect((await getMeeting(meeting.id, hostToken)).version).toBe(1);
  });

  it.each([
    ["a past scheduledAt", { scheduledAt: inMinutes(-10) }],
    ["a scheduledAt without offset", { scheduledAt: "2030-01-01T10:00:00" }],
    ["duration 0", { durationMinutes: 0 }],
    ["duration 1441", { durationMinutes: 1441 }],
    ["an unknown zone", { timezone: "Mars/Olympus_Mons" }],
    ["an unknown field", { durationMinutes: 30, title: "renamed" }],
    ["a fractional expectedVersion", { durationMinutes: 30, expectedVersion: 1.5 }],
  ])("refuses %s with 400 and stores nothing", async (_, body) => {
    const { meeting, hostToken } = await createMeeting();
    await expectRejected(meeting.id, () => put(meeting.id, hostToken, body), 400, "VALIDATION_FAILED");
  });

  it("applies each change to the latest state when no version is given", async () => {
    const { meeting, hostToken } = await createMeeting();
    expect((await put(meeting.id, hostToken, { durationMinutes: 15 })).body.meeting.version).toBe(2);
    const { body } = await put(meeting.id, hostToken, { timezone: "Europe/Paris" });
    expect(body.meeting).toMatchObject({ version: 3, durationMinutes: 15, timezone: "Europe/Paris" });
  });
});

describe("versions", () => {
  it("accepts the current expectedVersion", async () => {
    const { meeting, hostToken } = await createMeeting();
    const res = await put(meeting.id, hostToken, { durationMinutes: 45, expectedVersion: 1 });
    expect(res.status).toBe(200);
    expect(res.body.meeting.version).toBe(2);
  });

  it("refuses a stale expectedVersion with 409 VERSION_CONFLICT carrying the current meeting", async () => {
    const { meeting, hostToken } = await createMeeting();
    await put(meeting.id, hostToken, { durationMinutes: 45 });
    const current = await getMeeting(meeting.id, hostToken);
    const res = await expectRejected(
      meeting.id,
      () => put(meeting.id, hostToken, { durationMinutes: 90, expectedVersion: 1 }),
      409,
      "VERSION_CONFLICT",
    );
    expect(res.body.error.details.meeting).toEqual(current);
    expect(current.version).toBe(2);
  });

  it("refuses a future expectedVersion too", async () => {
    const { meeting, hostToken } = await createMeeting();
    await expectRejected(
      meeting.id,
      () => put(meeting.id, hostToken, { durationMinutes: 90, expectedVersion: 7 }),
      409,
      "VERSION_CONFLICT",
    );
  });

  it('takes If-Match: "<version>" as the precondition, and answers with the new ETag', async () => {
    const { meeting, hostToken } = await createMeeting();
    const ok = await put(meeting.id, hostToken, { durationMinutes: 45 }, { "If-Match": '"1"' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("etag")).toBe('"2"');
    const stale = await expectRejected(
      meeting.id,
      () => put(meeting.id, hostToken, { durationMinutes: 90 }, { "If-Match": '"1"' }),
      409,
      "VERSION_CONFLICT",
    );
    expect(stale.body.error.details.meeting.version).toBe(2);
    const weak = await put(meeting.id, hostToken, { durationMinutes: 90 }, { "If-Match": 'W/"2"' });
    expect(weak.body.meeting.version).toBe(3);
  });

  it("refuses a malformed If-Match with 400", async () => {
    const { meeting, hostToken } = await createMeeting();
    await expectRejected(
      meeting.id,
      () => put(meeting.id, hostToken, { durationMinutes: 90 }, { "If-Match": "version one" }),
      400,
      "VALIDATION_FAILED",
    );
  });

  it("refuses the change when either of expectedVersion and If-Match is stale", async () => {
    const { meeting, hostToken } = await createMeeting();
    await put(meeting.id, hostToken, { durationMinutes: 45 });
    for (const [expectedVersion, ifMatch] of [
      [1, '"2"'],
      [2, '"1"'],
    ] as const) {
      await expectRejected(
        meeting.id,
        () => put(meeting.id, hostToken, { durationMinutes: 90, expectedVersion }, { "If-Match": ifMatch }),
        409,
        "VERSION_CONFLICT",
      );
    }
    const both = await put(meeting.id, hostToken, { durationMinutes: 90, expectedVersion: 2 }, { "If-Match": '"2"' });
    expect(both.body.meeting.version).toBe(3);
  });

  it("lets exactly one of several concurrent updates from the same version win", async () => {
    const { meeting, hostToken } = await createMeeting();
    const results = await Promise.all(
      [15, 30, 45, 60].map((durationMinutes) => put(meeting.id, hostToken, { durationMinutes, expectedVersion: 1 })),
    );
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    for (const loser of results.filter((r) => r.status !== 200)) expectError(loser, 409, "VERSION_CONFLICT");
    const final = await getMeeting(meeting.id, hostToken);
    expect(final.version).toBe(2);
    expect(final.durationMinutes).toBe(winners[0]!.body.meeting.durationMinutes);
  });

  it("is not changed by anything but a datetime change", async () => {
    const m = await meetingWith("Grace", "Linus");
    const [grace, linus] = m.guests;
    await api("POST", `/api/meetings/${m.id}/tokens`, { token: m.hostToken, body: { count: 2 } });
    await api("POST", `/api/meetings/${m.id}/host-token`, { token: m.hostToken });
    await api("POST", `/api/meetings/${m.id}/kick`, {
      token: m.hostToken,
      body: { participantId: grace!.participant.id },
    });
    await api("POST", `/api/meetings/${m.id}/leave`, { token: linus!.sessionToken });
    await api("POST", `/api/meetings/${m.id}/leave`, { token: m.hostToken });
    await join(m.id, m.hostToken, "Barbara");
    expect((await getMeeting(m.id, m.hostToken)).version).toBe(1);
    const ended = await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken });
    expect(ended.body.meeting.version).toBe(1);
  });
});

describe("who may reschedule", () => {
  it("refuses session and join tokens with 403 and an ended meeting with 410", async () => {
    const m = await meetingWith("Grace");
    await expectRejected(m.id, () => put(m.id, m.guests[0]!.sessionToken, { durationMinutes: 90 }), 403, "FORBIDDEN");
    await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken });
    await expectRejected(m.id, () => put(m.id, m.hostToken, { durationMinutes: 90 }), 410, "MEETING_ENDED");
  });
});

describe("broadcast", () => {
  it("tells connected participants with meeting:datetime:changed, updatedBy the host's participant id", async () => {
    const m = await meetingWith("Grace");
    const guest = await connect(m.id, m.guests[0]!.sessionToken);
    const res = await put(m.id, m.hostToken, { durationMinutes: 25 });
    const event = await guest.next("meeting:datetime:changed");
    expect(event.data).toEqual({
      meeting: expect.objectContaining({ version: 2, durationMinutes: 25 }),
      updatedBy: m.host.id,
    });
    expect(event.data.meeting.expiresAt).toBe(res.body.meeting.expiresAt);
    guest.close();
  });

  it("sends nothing for a refused change", async () => {
    const m = await meetingWith("Grace");
    const guest = await connect(m.id, m.guests[0]!.sessionToken);
    expectError(await put(m.id, m.hostToken, { durationMinutes: 25, expectedVersion: 9 }), 409, "VERSION_CONFLICT");
    expectError(await put(m.id, m.hostToken, { durationMinutes: 0 }), 400, "VALIDATION_FAILED");
    // The first event the guest sees is the accepted change that followed the refusals.
    await put(m.id, m.hostToken, { durationMinutes: 35 });
    const first = await guest.next("meeting:datetime:changed");
    expect(first.data.meeting).toMatchObject({ version: 2, durationMinutes: 35 });
    expect(guest.count("meeting:datetime:changed")).toBe(1);
    guest.close();
  });
});
