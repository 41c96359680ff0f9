/**
 * Media through an SFU (contract 1.2), REST: with SFU_APP_ID and
 * SFU_APP_SECRET set every new meeting is `sfu`, and the four `/media/*`
 * routes call the SFU's Connection API (a stub here, test/helpers/sfu-stub.ts)
 * with the caller's own SFU session filled in by the server. Checks in the
 * contract's order, the session id substitution, 404 before the SFU is
 * called, the SFU's refusals (400), failures and hangs (503, nothing
 * recorded), the per-participant bucket, and that no answer or log line
 * carries an SFU session id or the app secret.
 */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, createMeeting, expectError, join, meetingWith, mintJoinToken } from "../helpers/api";
import { ANSWER, callMedia, MEDIA_ROUTES, type MediaRoute, OFFER, publishCamera, VALID_BODIES } from "../helpers/media";
import { expectRejected } from "../helpers/meeting-storage";
import { describeAccessChecks, hostCalendarToken } from "../helpers/member-routes";
import { captureLogs, SFU_SECRET, type SfuStub, stubSfu } from "../helpers/sfu-stub";
import { meetingObject } from "../helpers/sockets";
import { fetchWithEnv, uniqueClientIp } from "../helpers/worker-env";

const ROUTES = Object.keys(MEDIA_ROUTES) as MediaRoute[];

let sfu: SfuStub;
beforeEach(() => {
  sfu = stubSfu();
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** The SFU session the meeting object holds for a participant (never visible through the API). */
function storedSession(meetingId: string, participantId: string): Promise<string | null> {
  return runInDurableObject(meetingObject(meetingId), (_, state) => {
    const rows = state.storage.sql
      .exec("SELECT session_id FROM media_session WHERE participant_id = ?", participantId)
      .toArray();
    return (rows[0]?.session_id as string | undefined) ?? null;
  });
}

function storedTracks(meetingId: string): Promise<Record<string, unknown>[]> {
  return runInDurableObject(meetingObject(meetingId), (_, state) =>
    state.storage.sql
      .exec("SELECT participant_id, mid, direction, track_name FROM media_track ORDER BY rowid")
      .toArray(),
  );
}

describe("media mode", () => {
  it("makes every new meeting sfu: media.mode in the create and join answers", async () => {
    const created = await createMeeting();
    expect(created).toMatchObject({ media: { mode: "sfu" } });
    const joined = await join(created.meeting.id, created.hostToken, "Grace");
    expect(joined).toMatchObject({ media: { mode: "sfu" } });
  });

  it("stays mesh when the SFU is half configured, and mesh meetings answer 409 MEDIA_MODE on every media route", async () => {
    const noSecret = { SFU_APP_SECRET: "" };
    const res = await fetchWithEnv(noSecret, "/api/meetings/create", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        title: "Mesh",
        hostName: "Ada",
        scheduledAt: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    });
    const created = (await res.json()) as any;
    expect(res.status).toBe(201);
    expect(created.media).toEqual({ mode: "mesh" });
    const id = created.meeting.id;
    const guest = await join(id, created.hostToken, "Grace");
    expect(guest.media).toEqual({ mode: "mesh" });
    for (const route of ROUTES) {
      for (const token of [created.hostToken, guest.sessionToken]) {
        await expectRejected(id, () => callMedia(id, route, token, VALID_BODIES[route]), 409, "MEDIA_MODE");
      }
    }
    expect(sfu.calls).toEqual([]);
  });
});

describeAccessChecks({ method: "POST", suffix: "/media/session", accepts: ["host", "session"] });

describe("checks in the contract's order, on every media route", () => {
  it("answers 400 for a malformed body before looking at the token, and calls no SFU", async () => {
    const m = await meetingWith("Grace");
    const bad: Record<MediaRoute, unknown[]> = {
      session: [{ sessionDescription: { type: "pranswer", sdp: "x" } }, { extra: true }],
      tracks: [
        { tracks: [] },
        {
          tracks: Array.from({ length: 65 }, (_, i) => ({
            location: "local",
            mid: `${i}`,
            trackName: `t${i}`,
            kind: "audio",
          })),
        },
        { tracks: [{ location: "local", mid: "0", trackName: "has space", kind: "video" }] },
        { tracks: [{ location: "local", mid: "0", trackName: "x".repeat(65), kind: "video" }] },
        { tracks: [{ location: "local", mid: "0", trackName: "cam", kind: "data" }] },
        { tracks: [{ location: "remote", trackName: "cam" }] },
        { tracks: [{ location: "remote", participantId: "p", trackName: "cam", sessionId: "smuggled" }] },
      ],
      renegotiate: [{}, { sessionDescription: { type: "answer" } }],
      close: [{ tracks: [] }, { tracks: [{}] }, { tracks: [{ mid: "0" }], force: "yes" }],
    };
    for (const route of ROUTES) {
      for (const body of bad[route]) {
        expectError(await callMedia(m.id, route, undefined, body), 400, "VALIDATION_FAILED");
        expectError(await callMedia(m.id, route, m.hostToken, body), 400, "VALIDATION_FAILED");
      }
    }
    expect(sfu.calls).toEqual([]);
  });

  it("answers 401, 403 (invite, calendar token, revoked), 410 in that order on every route, and calls no SFU", async () => {
    const m = await meetingWith("Grace", "Linus");
    const [grace, linus] = m.guests;
    const invite = await mintJoinToken(m.id, m.hostToken);
    const calendar = await hostCalendarToken(m.id, m.hostToken);
    expect((await api("POST", `/api/meetings/${m.id}/leave`, { token: grace!.sessionToken })).status).toBe(200);
    const kicked = await api("POST", `/api/meetings/${m.id}/kick`, {
      token: m.hostToken,
      body: { participantId: linus!.participant.id },
    });
    expect(kicked.status).toBe(200);
    for (const route of ROUTES) {
      const body = VALID_BODIES[route];
      expectError(await callMedia(m.id, route, undefined, body), 401, "UNAUTHORIZED");
      for (const token of [invite, calendar, grace!.sessionToken, linus!.sessionToken]) {
        await expectRejected(m.id, () => callMedia(m.id, route, token, body), 403, "FORBIDDEN");
      }
    }
    expect((await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken })).status).toBe(200);
    for (const route of ROUTES) {
      await expectRejected(m.id, () => callMedia(m.id, route, m.hostToken, VALID_BODIES[route]), 410, "MEETING_ENDED");
      // Revocation (403) comes before the meeting's state (410).
      await expectRejected(
        m.id,
        () => callMedia(m.id, route, grace!.sessionToken, VALID_BODIES[route]),
        403,
        "FORBIDDEN",
      );
    }
    expect(sfu.calls).toEqual([]);
  });

  it("answers 404 for tracks, renegotiate and close before a session was opened", async () => {
    const m = await meetingWith("Grace");
    for (const route of ["tracks", "renegotiate", "close"] as const) {
      await expectRejected(m.id, () => callMedia(m.id, route, m.hostToken, VALID_BODIES[route]), 404, "NOT_FOUND");
    }
    expect(sfu.calls).toEqual([]);
  });
});

describe("POST /api/meetings/:id/media/session", () => {
  it("calls sessions/new with the app's secret and answers the SFU's description without the session id", async () => {
    const m = await meetingWith("Grace");
    const res = await callMedia(m.id, "session", m.guests[0]!.sessionToken, { sessionDescription: OFFER });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ sessionDescription: { type: "answer", sdp: expect.any(String) } });
    const [call] = sfu.callsOf("sessions/new");
    expect(call).toMatchObject({ authorization: `Bearer ${SFU_SECRET}`, body: { sessionDescription: OFFER } });
    const sessionId = sfu.sessionIds()[0]!;
    expect(await storedSession(m.id, m.guests[0]!.participant.id)).toBe(sessionId);
    expect(JSON.stringify(res)).not.toContain(sessionId);
  });

  it("without an offer sends no body and answers {}", async () => {
    const m = await meetingWith();
    const res = await callMedia(m.id, "session", m.hostToken);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({});
    expect(sfu.callsOf("sessions/new")[0]!.body).toBeUndefined();
  });

  it("replaces the first session: its tracks are closed at the SFU and forgotten", async () => {
    const m = await meetingWith("Grace");
    const guest = m.guests[0]!;
    await publishCamera(m.id, guest.sessionToken);
    const first = await storedSession(m.id, guest.participant.id);
    expect((await callMedia(m.id, "session", guest.sessionToken, {})).status).toBe(201);
    const second = await storedSession(m.id, guest.participant.id);
    expect(second).not.toBe(first);
    expect(await storedTracks(m.id)).toEqual([]);
    await vi.waitFor(() => {
      const close = sfu.callsOf("tracks/close").find((call) => call.sessionId === first);
      expect(close?.body).toEqual({ tracks: [{ mid: "0" }, { mid: "1" }], force: true });
    });
  });
});

describe("POST /api/meetings/:id/media/tracks", () => {
  it("publishes local tracks on the caller's own session and records them", async () => {
    const m = await meetingWith("Grace");
    const guest = m.guests[0]!;
    const answer = await publishCamera(m.id, guest.sessionToken);
    const sessionId = await storedSession(m.id, guest.participant.id);
    const [call] = sfu.callsOf("tracks/new");
    expect(call!.sessionId).toBe(sessionId);
    expect(call!.body).toEqual({
      sessionDescription: OFFER,
      tracks: [
        { location: "local", mid: "0", trackName: "cam-video" },
        { location: "local", mid: "1", trackName: "cam-audio" },
      ],
    });
    expect(answer).toEqual({
      requiresImmediateRenegotiation: false,
      sessionDescription: { type: "answer", sdp: expect.any(String) },
      tracks: [
        { mid: "0", trackName: "cam-video", participantId: guest.participant.id },
        { mid: "1", trackName: "cam-audio", participantId: guest.participant.id },
      ],
    });
    expect((await storedTracks(m.id)).map((t) => [t.mid, t.direction, t.track_name])).toEqual([
      ["0", "publish", "cam-video"],
      ["1", "publish", "cam-audio"],
    ]);
  });

  it("replaces a remote participantId by that participant's SFU session, and answers participantId instead", async () => {
    const m = await meetingWith("Grace", "Linus");
    const [grace, linus] = m.guests;
    await publishCamera(m.id, grace!.sessionToken);
    const graceSession = await storedSession(m.id, grace!.participant.id);
    expect((await callMedia(m.id, "session", linus!.sessionToken, {})).status).toBe(201);
    const res = await callMedia(m.id, "tracks", linus!.sessionToken, {
      tracks: [
        { location: "remote", participantId: grace!.participant.id, trackName: "cam-video" },
        { location: "remote", participantId: grace!.participant.id, trackName: "cam-audio" },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const call = sfu.callsOf("tracks/new").at(-1)!;
    expect(call.sessionId).toBe(await storedSession(m.id, linus!.participant.id));
    expect(call.body.tracks).toEqual([
      { location: "remote", sessionId: graceSession, trackName: "cam-video" },
      { location: "remote", sessionId: graceSession, trackName: "cam-audio" },
    ]);
    expect(res.body).toEqual({
      requiresImmediateRenegotiation: true,
      sessionDescription: { type: "offer", sdp: expect.any(String) },
      tracks: [
        { mid: expect.any(String), trackName: "cam-video", participantId: grace!.participant.id },
        { mid: expect.any(String), trackName: "cam-audio", participantId: grace!.participant.id },
      ],
    });
    // Neither Grace's session nor Linus's own appears anywhere in what Linus received.
    for (const sessionId of sfu.sessionIds()) expect(JSON.stringify(res)).not.toContain(sessionId);
  });

  it("answers 404 for a track nobody publishes or a participant not listed, before the SFU is called", async () => {
    const m = await meetingWith("Grace", "Linus", "Ken");
    const [grace, linus, ken] = m.guests;
    await publishCamera(m.id, grace!.sessionToken);
    await publishCamera(m.id, ken!.sessionToken, "ken");
    expect((await callMedia(m.id, "session", linus!.sessionToken, {})).status).toBe(201);
    expect((await api("POST", `/api/meetings/${m.id}/leave`, { token: ken!.sessionToken })).status).toBe(200);
    const before = sfu.callsOf("tracks/new").length;
    const pulls = [
      { participantId: grace!.participant.id, trackName: "screen" }, // not published
      { participantId: m.host.id, trackName: "cam-video" }, // the host publishes nothing
      { participantId: ken!.participant.id, trackName: "ken-video" }, // left: no longer listed
      { participantId: "no-such-participant", trackName: "cam-video" },
    ];
    for (const pull of pulls) {
      const tracks = [
        { location: "remote", participantId: grace!.participant.id, trackName: "cam-video" },
        { location: "remote", ...pull },
      ];
      await expectRejected(m.id, () => callMedia(m.id, "tracks", linus!.sessionToken, { tracks }), 404, "NOT_FOUND");
    }
    expect(sfu.callsOf("tracks/new").length).toBe(before);
  });

  it("answers 400 for a track name the caller already publishes", async () => {
    const m = await meetingWith("Grace");
    await publishCamera(m.id, m.hostToken);
    const again = { tracks: [{ location: "local", mid: "5", trackName: "cam-video", kind: "video" }] };
    const res = await expectRejected(
      m.id,
      () => callMedia(m.id, "tracks", m.hostToken, again),
      400,
      "VALIDATION_FAILED",
    );
    expect(res.body.error.details.fields).toHaveProperty("tracks.0.trackName");
  });
});

describe("PUT /api/meetings/:id/media/renegotiate and /media/tracks/close", () => {
  it("renegotiates the caller's session", async () => {
    const m = await meetingWith();
    expect((await callMedia(m.id, "session", m.hostToken, {})).status).toBe(201);
    const res = await callMedia(m.id, "renegotiate", m.hostToken, { sessionDescription: ANSWER });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    const [call] = sfu.callsOf("renegotiate");
    expect(call).toMatchObject({ sessionId: sfu.sessionIds()[0], body: { sessionDescription: ANSWER } });
  });

  it("closes tracks (force without an offer), forgets them and answers the SFU's results", async () => {
    const m = await meetingWith();
    await publishCamera(m.id, m.hostToken);
    const forced = await callMedia(m.id, "close", m.hostToken, { tracks: [{ mid: "0" }] });
    expect(forced.status).toBe(200);
    expect(forced.body).toEqual({ requiresImmediateRenegotiation: false, tracks: [{ mid: "0" }] });
    expect(sfu.callsOf("tracks/close")[0]!.body).toEqual({ tracks: [{ mid: "0" }], force: true });
    const negotiated = await callMedia(m.id, "close", m.hostToken, {
      tracks: [{ mid: "1" }],
      sessionDescription: OFFER,
    });
    expect(negotiated.body).toMatchObject({ sessionDescription: { type: "answer" }, tracks: [{ mid: "1" }] });
    expect(sfu.callsOf("tracks/close")[1]!.body).toEqual({
      tracks: [{ mid: "1" }],
      sessionDescription: OFFER,
      force: false,
    });
    expect(await storedTracks(m.id)).toEqual([]);
  });
});

describe("when the SFU refuses, fails or hangs", () => {
  it("answers the SFU's refusal of a bad SDP as 400 with its errorCode and errorDescription, recording nothing", async () => {
    const m = await meetingWith();
    expect((await callMedia(m.id, "session", m.hostToken, {})).status).toBe(201);
    sfu.misbehave("tracks/new", {
      kind: "refuse",
      errorCode: "invalid_sdp",
      errorDescription: "could not parse the offer",
    });
    const res = await expectRejected(
      m.id,
      () => callMedia(m.id, "tracks", m.hostToken, VALID_BODIES.tracks),
      400,
      "VALIDATION_FAILED",
    );
    expect(res.body.error.details).toEqual({ errorCode: "invalid_sdp", errorDescription: "could not parse the offer" });
  });

  it("answers 503 with Retry-After for a 500, recording nothing", async () => {
    const m = await meetingWith();
    sfu.misbehave("sessions/new", { kind: "fail" });
    const res = await expectRejected(m.id, () => callMedia(m.id, "session", m.hostToken, {}), 503, "UNAVAILABLE");
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await storedSession(m.id, m.host.id)).toBeNull();
  });

  it("answers 503 after 5 s when the SFU hangs, recording nothing, while the meeting keeps answering", async () => {
    const m = await meetingWith();
    await publishCamera(m.id, m.hostToken);
    sfu.misbehave("tracks/new", { kind: "hang" });
    const started = Date.now();
    const hanging = callMedia(m.id, "tracks", m.hostToken, {
      tracks: [{ location: "local", mid: "2", trackName: "screen", kind: "video", screen: true }],
    });
    // The meeting object is not waiting on the SFU: it answers others meanwhile.
    const reading = api("GET", `/api/meetings/${m.id}`, { token: m.hostToken });
    const first = await Promise.race([hanging.then(() => "media call"), reading.then(() => "read")]);
    expect(first).toBe("read");
    expect((await reading).status).toBe(200);
    const res = await hanging;
    expectError(res, 503, "UNAVAILABLE");
    expect(Date.now() - started).toBeGreaterThanOrEqual(4900);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await storedTracks(m.id)).map((t) => t.track_name)).toEqual(["cam-video", "cam-audio"]);
  });

  it("answers 503 when the SFU refuses the app's own credentials: the deployment's fault, not the caller's", async () => {
    const m = await meetingWith();
    sfu.misbehave("sessions/new", { kind: "refuse", status: 401, errorCode: "unauthorized", errorDescription: "bad" });
    expectError(await callMedia(m.id, "session", m.hostToken, {}), 503, "UNAVAILABLE");
  });
});

describe("secrets", () => {
  it("never puts the app secret or an SFU session id in an answer or a log line, failures included", async () => {
    const logs = captureLogs();
    const m = await meetingWith("Grace");
    const answers: unknown[] = [];
    answers.push(await publishCamera(m.id, m.guests[0]!.sessionToken));
    answers.push(await callMedia(m.id, "session", m.hostToken, { sessionDescription: OFFER }));
    answers.push(
      await callMedia(m.id, "tracks", m.hostToken, {
        tracks: [{ location: "remote", participantId: m.guests[0]!.participant.id, trackName: "cam-video" }],
      }),
    );
    answers.push(await callMedia(m.id, "renegotiate", m.hostToken, { sessionDescription: ANSWER }));
    sfu.misbehave("renegotiate", { kind: "fail" });
    answers.push(await callMedia(m.id, "renegotiate", m.hostToken, { sessionDescription: ANSWER }));
    sfu.misbehave("tracks/close", { kind: "refuse", errorCode: "bad", errorDescription: "no" });
    answers.push(await callMedia(m.id, "close", m.hostToken, { tracks: [{ mid: "0" }] }));
    answers.push(await api("POST", `/api/meetings/${m.id}/leave`, { token: m.guests[0]!.sessionToken }));
    const text = `${JSON.stringify(answers)}\n${logs()}`;
    expect(sfu.sessionIds().length).toBe(2);
    for (const secret of [SFU_SECRET, ...sfu.sessionIds()]) expect(text).not.toContain(secret);
    // The logs did see the failures, by operation.
    expect(logs()).toContain("sfu.unavailable");
  });
});

describe("limits", () => {
  it("limits each participant to a bucket of 50 media calls (429 with Retry-After), others unaffected", async () => {
    const m = await meetingWith("Grace");
    const guest = m.guests[0]!;
    // At once, so the bucket (refilled 10 a second) has little time to refill.
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 150 }, () =>
        callMedia(m.id, "renegotiate", guest.sessionToken, { sessionDescription: ANSWER }),
      ),
    );
    const seconds = (Date.now() - started) / 1000;
    // No session yet: each admitted call is 404; past the bucket they are 429.
    const admitted = answers.filter((res) => res.status === 404).length;
    const refused = answers.filter((res) => res.status === 429);
    expect(admitted + refused.length).toBe(150);
    expect(admitted).toBeGreaterThanOrEqual(50);
    expect(admitted).toBeLessThanOrEqual(50 + Math.ceil(seconds * 10) + 1);
    expect(refused.length).toBeGreaterThan(0);
    expectError(refused[0]!, 429, "RATE_LIMITED");
    expect(Number(refused[0]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(sfu.calls).toEqual([]);
    expect((await callMedia(m.id, "session", m.hostToken, {})).status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 300)); // ~3 tokens back at 10 a second
    expect((await callMedia(m.id, "session", guest.sessionToken, {})).status).toBe(201);
  });

  it("does not count media calls in the per-IP REST limit", async () => {
    const ip = uniqueClientIp();
    const limited = { RATE_LIMIT_MAX_REQUESTS: "3" };
    const m = await meetingWith();
    const call = (path: string, method: string, body?: unknown) =>
      fetchWithEnv(limited, path, {
        method,
        headers: { "cf-connecting-ip": ip, authorization: `Bearer ${m.hostToken}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    for (let i = 0; i < 6; i++) {
      const res = await call(`/api/meetings/${m.id}/media/session`, "POST", {});
      expect(res.status).toBe(201);
      expect(res.headers.get("ratelimit-remaining")).toBeNull();
    }
    for (let i = 0; i < 3; i++) expect((await call(`/api/meetings/${m.id}`, "GET")).status).toBe(200);
    expect((await call(`/api/meetings/${m.id}`, "GET")).status).toBe(429);
  });
});
