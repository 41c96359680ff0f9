/**
 * Issue 11's read-path caches must never answer what storage or the token
 * would not: a verified token is re-checked for time and meeting on every
 * use and kept apart per secret set, and the meeting object's participant
 * list follows every write and forgets rows of a rolled-back transaction.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { verifyToken } from "../src/auth/tokens";
import type { ParticipantRow } from "../src/meeting/store";
import { api, createMeeting, expectError, getMeeting, join } from "./helpers/api";
import { internals } from "./helpers/deliver";
import { meetingObject } from "./helpers/sockets";
import { SERVER_SECRET, signClaims, tampered } from "./helpers/tokens";

const OTHER_SECRET = "another-secret-for-the-cache-tests-0123456789";
const MEETING = "a".repeat(64);

async function hostTokenFor(meetingId: string, secondsLeft: number, secret = SERVER_SECRET) {
  const now = Math.floor(Date.now() / 1000);
  return signClaims(
    {
      iss: "meettime",
      aud: meetingId,
      jti: crypto.randomUUID(),
      kind: "host",
      pid: "p1",
      iat: now,
      exp: now + secondsLeft,
    },
    secret,
  );
}

async function rejection(promise: Promise<unknown>) {
  return promise.then(
    () => null,
    (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message }),
  );
}

describe("the verified-token cache", () => {
  afterEach(() => vi.useRealTimers());

  it("refuses a token it verified before once the token expires", async () => {
    const token = await hostTokenFor(MEETING, 60);
    expect((await verifyToken(SERVER_SECRET, token, MEETING)).kind).toBe("host");
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 61_000);
    expect(await rejection(verifyToken(SERVER_SECRET, token, MEETING))).toEqual({
      code: "UNAUTHORIZED",
      message: "token expired",
    });
  });

  it("still checks the meeting of a token verified on a route without one", async () => {
    const token = await hostTokenFor(MEETING, 600);
    expect((await verifyToken(SERVER_SECRET, token)).meetingId).toBe(MEETING);
    expect((await rejection(verifyToken(SERVER_SECRET, token, "b".repeat(64))))?.code).toBe("UNAUTHORIZED");
    expect((await verifyToken(SERVER_SECRET, token, MEETING)).meetingId).toBe(MEETING);
  });

  it("keeps secret sets apart: a token verified by the previous secret dies with it", async () => {
    const token = await hostTokenFor(MEETING, 600, OTHER_SECRET);
    expect((await verifyToken([SERVER_SECRET, OTHER_SECRET], token, MEETING)).kind).toBe("host");
    expect((await rejection(verifyToken(SERVER_SECRET, token, MEETING)))?.code).toBe("UNAUTHORIZED");
  });

  it("refuses a tampered copy of a token it holds", async () => {
    const token = await hostTokenFor(MEETING, 600);
    await verifyToken(SERVER_SECRET, token, MEETING);
    const promoted = tampered(token, { exp: Math.floor(Date.now() / 1000) + 999_999 });
    expect((await rejection(verifyToken(SERVER_SECRET, promoted, MEETING)))?.code).toBe("UNAUTHORIZED");
  });

  it("hands out claims no caller can change for the next one", async () => {
    const token = await hostTokenFor(MEETING, 600);
    const claims = await verifyToken(SERVER_SECRET, token, MEETING);
    expect(() => {
      (claims as { kind: string }).kind = "join";
    }).toThrow();
    expect((await verifyToken(SERVER_SECRET, token, MEETING)).kind).toBe("host");
  });
});

describe("the meeting object's participant list", () => {
  it("follows every join, kick and leave between reads", async () => {
    const { meeting, hostToken } = await createMeeting();
    const names = async () =>
      (await getMeeting(meeting.id, hostToken)).participants.map((p: { name: string }) => p.name);
    expect(await names()).toEqual(["Ada"]);
    const grace = await join(meeting.id, hostToken, "Grace");
    expect(await names()).toEqual(["Ada", "Grace"]);
    const alan = await join(meeting.id, hostToken, "Alan");
    expect(await names()).toEqual(["Ada", "Grace", "Alan"]);
    const kick = await api("POST", `/api/meetings/${meeting.id}/kick`, {
      token: hostToken,
      body: { participantId: grace.participant.id },
    });
    expect(kick.status).toBe(200);
    expect(await names()).toEqual(["Ada", "Alan"]);
    // The kicked session was listed (and so in memory) a moment ago: it is refused, not served from there.
    expectError(await api("GET", `/api/meetings/${meeting.id}`, { token: grace.sessionToken }), 403, "FORBIDDEN");
    expect((await api("POST", `/api/meetings/${meeting.id}/leave`, { token: alan.sessionToken })).status).toBe(200);
    expect(await names()).toEqual(["Ada"]);
  });

  it("lists a join it appended exactly as a fresh read from storage does", async () => {
    const { meeting, hostToken } = await createMeeting();
    await getMeeting(meeting.id, hostToken); // the list is now in memory
    for (const name of ["Grace", "Alan", "Barbara"]) await join(meeting.id, hostToken, name);
    const fromMemory = (await getMeeting(meeting.id, hostToken)).participants;
    expect(fromMemory.map((p: { name: string }) => p.name)).toEqual(["Ada", "Grace", "Alan", "Barbara"]);
    await evictDurableObject(meetingObject(meeting.id));
    expect((await getMeeting(meeting.id, hostToken)).participants).toEqual(fromMemory);
  });

  it("forgets a participant whose transaction rolled back", async () => {
    const { meeting, hostToken } = await createMeeting();
    await getMeeting(meeting.id, hostToken); // the list is now in memory
    const ghost: ParticipantRow = {
      id: crypto.randomUUID(),
      name: "Ghost",
      role: "participant",
      joinedAt: Date.now(),
      state: { audio: false, video: false, screen: false, handRaised: false },
      removedAt: null,
      removedReason: null,
    };
    const seenInside = await runInDurableObject(meetingObject(meeting.id), (room) => {
      const { store } = internals(room);
      let names: string[] = [];
      expect(() =>
        store.transaction(() => {
          store.insertParticipant(ghost);
          names = store.listedParticipants().map((p) => p.name);
          throw new Error("a later step failed");
        }),
      ).toThrow("a later step failed");
      return { names, afterwards: store.participant(ghost.id) };
    });
    expect(seenInside).toEqual({ names: ["Ada", "Ghost"], afterwards: null });
    const listed = (await getMeeting(meeting.id, hostToken)).participants.map((p: { name: string }) => p.name);
    expect(listed).toEqual(["Ada"]);
  });
});
