/**
 * Creating a meeting: POST /api/meetings/create (and its alias), what the
 * host gets back, the defaults, and the participant bound of the server.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { api, createMeeting, expectError, getMeeting, inMinutes, ORIGIN } from "./helpers/api";
import { storedMeetingCount } from "./helpers/meeting-storage";
import { claimsOf } from "./helpers/tokens";

const HOUR_MS = 3_600_000;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe("POST /api/meetings/create", () => {
  it("answers 201 with the meeting, a host token and the host as first participant", async () => {
    const scheduledAt = inMinutes(90);
    const res = await api("POST", "/api/meetings/create", {
      body: { title: "Weekly sync", hostName: "Ada", scheduledAt, durationMinutes: 45, timezone: "Europe/Berlin" },
    });
    expect(res.status).toBe(201);
    const { meeting, hostToken, participant } = res.body;
    // iceServers and iceServersExpiresAt: contract 1.1, see rest-ice-servers.test.ts; media: 1.2, test/sfu/.
    expect(Object.keys(res.body).sort()).toEqual([
      "hostToken",
      "iceServers",
      "iceServersExpiresAt",
      "media",
      "meeting",
      "participant",
    ]);
    // Without SFU_APP_ID and SFU_APP_SECRET, media stays peer to peer.
    expect(res.body.media).toEqual({ mode: "mesh" });
    expect(meeting.id).toMatch(/^[0-9a-f]{64}$/);
    expect(meeting).toMatchObject({
      title: "Weekly sync",
      status: "active",
      scheduledAt: new Date(scheduledAt).toISOString(),
      durationMinutes: 45,
      timezone: "Europe/Berlin",
      version: 1,
      maxParticipants: 50,
      participantCount: 1,
    });
    for (const field of ["scheduledAt", "createdAt", "updatedAt", "expiresAt"]) expect(meeting[field]).toMatch(ISO_UTC);
    expect(participant).toEqual({
      id: expect.any(String),
      name: "Ada",
      role: "host",
      connected: false,
      joinedAt: expect.stringMatching(ISO_UTC),
      state: { audio: true, video: true, screen: false, handRaised: false },
    });
    expect(meeting.participants).toEqual([participant]);
    expect(claimsOf(hostToken)).toMatchObject({ aud: meeting.id, kind: "host", pid: participant.id });
  });

  it("is also served at POST /api/meetings", async () => {
    const res = await api("POST", "/api/meetings", {
      body: { title: "Alias", hostName: "Ada", scheduledAt: inMinutes(10) },
    });
    expect(res.status).toBe(201);
    expect(res.body.meeting.title).toBe("Alias");
  });

  it("fills in the defaults: 60 minutes, UTC, the server's participant bound", async () => {
    const { meeting } = await createMeeting();
    expect(meeting).toMatchObject({ durationMinutes: 60, timezone: "UTC", maxParticipants: 50 });
  });

  it("expires the meeting MEETING_EXPIRY_HOURS after its scheduled end, and the host token with it", async () => {
    const scheduledAt = inMinutes(30);
    const { meeting, hostToken } = await createMeeting({ scheduledAt, durationMinutes: 90 });
    const expected = Date.parse(scheduledAt) + 90 * 60_000 + 24 * HOUR_MS;
    expect(Date.parse(meeting.expiresAt)).toBe(expected);
    expect(claimsOf(hostToken).exp).toBe(Math.floor(expected / 1000));
  });

  it("stores times in UTC whatever offset they were sent with", async () => {
    const at = new Date(Date.now() + 3 * HOUR_MS);
    at.setUTCMilliseconds(0);
    // The same instant written at +05:30.
    const local = new Date(at.getTime() + 5.5 * HOUR_MS).toISOString().replace(".000Z", "+05:30");
    const { meeting } = await createMeeting({ scheduledAt: local });
    expect(meeting.scheduledAt).toBe(at.toISOString());
  });

  it("trims names and title, and spells the time zone canonically", async () => {
    const { meeting, participant } = await createMeeting({
      title: "  Planning  ",
      hostName: "\tAda ",
      timezone: "america/new_york",
    });
    expect(meeting.title).toBe("Planning");
    expect(participant.name).toBe("Ada");
    expect(meeting.timezone).toBe("America/New_York");
  });

  it("gives every meeting its own id and a host token that reads it", async () => {
    const a = await createMeeting();
    const b = await createMeeting();
    expect(a.meeting.id).not.toBe(b.meeting.id);
    expect((await getMeeting(a.meeting.id, a.hostToken)).id).toBe(a.meeting.id);
  });
});

describe("maxParticipants", () => {
  it("accepts the bounds 2 and MAX_PARTICIPANTS_PER_MEETING", async () => {
    expect((await createMeeting({ maxParticipants: 2 })).meeting.maxParticipants).toBe(2);
    expect((await createMeeting({ maxParticipants: 50 })).meeting.maxParticipants).toBe(50);
  });

  it("refuses more than MAX_PARTICIPANTS_PER_MEETING with 400, without creating a meeting object", async () => {
    const before = await storedMeetingCount();
    const res = await api("POST", "/api/meetings/create", {
      body: { title: "Big", hostName: "Ada", scheduledAt: inMinutes(10), maxParticipants: 51 },
    });
    expectError(res, 400, "VALIDATION_FAILED");
    expect(res.body.error.details.fields.maxParticipants).toBeDefined();
    expect(await storedMeetingCount()).toBe(before);
  });

  it("follows a deployment's MAX_PARTICIPANTS_PER_MEETING for the bound and the default", async () => {
    const smallEnv = { ...env, MAX_PARTICIPANTS_PER_MEETING: "3" };
    const create = async (extra: Record<string, unknown>) => {
      const ctx = createExecutionContext();
      const response = await worker.fetch(
        new Request(`${ORIGIN}/api/meetings/create`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ title: "Small", hostName: "Ada", scheduledAt: inMinutes(10), ...extra }),
        }),
        smallEnv,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return { status: response.status, body: (await response.json()) as any, headers: response.headers };
    };
    const tooMany = await create({ maxParticipants: 4 });
    expectError(tooMany, 400, "VALIDATION_FAILED");
    const byDefault = await create({});
    expect(byDefault.status).toBe(201);
    expect(byDefault.body.meeting.maxParticipants).toBe(3);
  });
});
