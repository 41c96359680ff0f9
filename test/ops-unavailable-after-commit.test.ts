/**
 * A `503 UNAVAILABLE` says "nothing changed, repeat the request", so it may
 * only be answered when nothing changed. Each action that writes is broken
 * on purpose, by a transient failure in each step that can fail (signing a
 * token, building the answer, reading or arming the alarm): a failure
 * before the write must leave the rows exactly as they were (and a retry
 * works), and a write that committed is never answered 503.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, createMeeting, mintJoinToken } from "./helpers/api";
import { internals } from "./helpers/deliver";
import { expectRejected } from "./helpers/meeting-storage";
import { meetingObject } from "./helpers/sockets";

/** What the runtime throws under load or memory pressure: the error path answers it with 503. */
const transient = () => Object.assign(new Error("injected: Network connection lost."), { retryable: true });

type Room = ReturnType<typeof internals>;

/**
 * Replaces `target[name]` in the meeting's object with a function that fails
 * transiently, until `restore()` (an own property shadowing the prototype's method).
 */
async function breakStep(meetingId: string, pick: (room: Room) => object, name: string) {
  await runInDurableObject(meetingObject(meetingId), (room) => {
    Object.defineProperty(pick(internals(room)), name, {
      configurable: true,
      writable: true,
      value: () => {
        throw transient();
      },
    });
  });
  return {
    restore: () =>
      runInDurableObject(meetingObject(meetingId), (room) => {
        delete (pick(internals(room)) as Record<string, unknown>)[name];
      }),
  };
}

/** The alarm as stored, and the meeting row's expiry. */
function storedAlarmAndExpiry(meetingId: string) {
  return runInDurableObject(meetingObject(meetingId), async (_, state) => ({
    alarm: await state.storage.getAlarm(),
    expiresAt: state.storage.sql.exec("SELECT expires_at FROM meeting").one().expires_at as number,
  }));
}

/** Makes the object forget which alarm it armed, as after an eviction: the next arming reads it from storage. */
function forgetArmedAlarm(meetingId: string) {
  return runInDurableObject(meetingObject(meetingId), (room) => internals(room).alarm.forget());
}

const reschedule = (id: string, hostToken: string) =>
  api("PUT", `/api/meetings/${id}/datetime`, {
    token: hostToken,
    body: { scheduledAt: new Date(Date.now() + 3 * 3_600_000).toISOString() },
  });

afterEach(() => {
  vi.restoreAllMocks();
});

/** Sends a request while one step is broken: it must be refused with 503 and leave the rows as they were. */
async function expectUnavailableWhileBroken(
  meetingId: string,
  pick: (room: Room) => object,
  name: string,
  send: () => ReturnType<typeof api>,
) {
  const broken = await breakStep(meetingId, pick, name);
  try {
    await expectRejected(meetingId, send, 503, "UNAVAILABLE");
  } finally {
    await broken.restore();
  }
}

describe("a join whose later step fails", () => {
  const joinSteps: [string, (room: Room) => object, string][] = [
    ["signing the session token", (room) => room.credentials, "session"],
    ["reading the participants for the answer", (room) => room.store, "listedParticipants"],
  ];
  it.each(joinSteps)("keeps the invite unspent and seats nobody when %s fails", async (_, pick, name) => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const { meeting, hostToken } = await createMeeting();
    const token = await mintJoinToken(meeting.id, hostToken);
    const join = () => api("POST", "/api/meetings/join", { body: { token, displayName: "Grace" } });
    await expectUnavailableWhileBroken(meeting.id, pick, name, join);
    // The retry the 503 asked for works with the same invite.
    const retried = await join();
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body.meeting.participants.map((p: { name: string }) => p.name)).toEqual(["Ada", "Grace"]);
  });
});

describe("a join by a meeting link whose signing fails", () => {
  it("counts no use and seats nobody, and the retry works", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const { meeting, hostToken } = await createMeeting();
    const minted = await api("POST", `/api/meetings/${meeting.id}/links`, { token: hostToken, body: { lobby: false } });
    expect(minted.status, JSON.stringify(minted.body)).toBe(201);
    const join = () => api("POST", "/api/meetings/join", { body: { token: minted.body.token, displayName: "Grace" } });
    await expectUnavailableWhileBroken(meeting.id, (room) => room.credentials, "session", join);
    const retried = await join();
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    const links = await api("GET", `/api/meetings/${meeting.id}/links`, { token: hostToken });
    expect(links.body.links[0].uses).toBe(1);
  });
});

describe("minting invites whose signing fails", () => {
  it("stores no invite", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const { meeting, hostToken } = await createMeeting();
    await expectUnavailableWhileBroken(
      meeting.id,
      (room) => room.credentials,
      "join",
      () => api("POST", `/api/meetings/${meeting.id}/tokens`, { token: hostToken, body: { count: 3 } }),
    );
  });
});

describe("a reschedule or termination whose alarm fails", () => {
  const alarmedChanges: [string, (id: string, hostToken: string) => ReturnType<typeof api>][] = [
    ["reschedule", reschedule],
    ["termination", (id, hostToken) => api("DELETE", `/api/meetings/${id}`, { token: hostToken })],
  ];
  it.each(alarmedChanges)(
    "refuses a %s with 503 and changes nothing when the alarm cannot be read first",
    async (_, send) => {
      vi.spyOn(console, "warn").mockImplementation(() => {});
      const { meeting, hostToken } = await createMeeting();
      await forgetArmedAlarm(meeting.id);
      await expectUnavailableWhileBroken(
        meeting.id,
        (room) => room.ctx.storage,
        "getAlarm",
        () => send(meeting.id, hostToken),
      );
    },
  );

  it("answers a committed reschedule 200 when arming the alarm fails, and the next alarm repairs it", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const { meeting, hostToken } = await createMeeting();
    const before = await storedAlarmAndExpiry(meeting.id);
    const broken = await breakStep(meeting.id, (room) => room.ctx.storage, "setAlarm");
    let res: Awaited<ReturnType<typeof reschedule>>;
    try {
      res = await reschedule(meeting.id, hostToken);
    } finally {
      await broken.restore();
    }
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.meeting.version).toBe(2);
    const after = await storedAlarmAndExpiry(meeting.id);
    expect(after.expiresAt).toBeGreaterThan(before.expiresAt);
    // The alarm armed at create (the old expiry, earlier than the new one) fires and re-arms for the new expiry.
    expect(after.alarm).toBe(before.alarm);
    expect(await runDurableObjectAlarm(meetingObject(meeting.id))).toBe(true);
    expect(await storedAlarmAndExpiry(meeting.id)).toEqual({ alarm: after.expiresAt, expiresAt: after.expiresAt });
  });

  it("answers a committed termination 200 when arming the alarm fails", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const { meeting, hostToken } = await createMeeting();
    const broken = await breakStep(meeting.id, (room) => room.ctx.storage, "setAlarm");
    let res: Awaited<ReturnType<typeof reschedule>>;
    try {
      res = await api("DELETE", `/api/meetings/${meeting.id}`, { token: hostToken });
    } finally {
      await broken.restore();
    }
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.meeting.status).toBe("ended");
    const read = await api("GET", `/api/meetings/${meeting.id}`, { token: hostToken });
    expect(read.body.meeting.status).toBe("ended");
  });
});
