/**
 * The local SFU answers the Connection API operations MeetTime's worker
 * uses with the request and response shapes of Cloudflare's OpenAPI
 * document (realtime-api-2024-05-21.yaml), and refuses what Cloudflare
 * refuses with `{ errorCode, errorDescription }`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type LocalSfu, startLocalSfu } from "../../sfu/server.mjs";
import { callSfu, SfuTestClient, TEST_APP_ID, TEST_APP_SECRET } from "./helpers/sfu-client";

// The documented shapes, strict: a field the documentation does not name fails the test.
const sessionDescription = z.strictObject({ type: z.enum(["offer", "answer"]), sdp: z.string().startsWith("v=0") });
const errorBody = z.strictObject({ errorCode: z.string().min(1), errorDescription: z.string().min(1) });
const itemError = { errorCode: z.string().optional(), errorDescription: z.string().optional() };
const newSessionResponse = z.strictObject({
  sessionId: z.string().min(1),
  sessionDescription: sessionDescription.optional(),
});
const tracksResponse = z.strictObject({
  requiresImmediateRenegotiation: z.boolean(),
  sessionDescription: sessionDescription.optional(),
  tracks: z.array(
    z.strictObject({
      mid: z.string().optional(),
      trackName: z.string(),
      sessionId: z.string().optional(),
      ...itemError,
    }),
  ),
});
const closeTracksResponse = z.strictObject({
  requiresImmediateRenegotiation: z.literal(false),
  sessionDescription: sessionDescription.optional(),
  tracks: z.array(z.strictObject({ mid: z.string(), ...itemError })),
});
const sessionStateResponse = z.strictObject({
  tracks: z.array(
    z.strictObject({
      location: z.enum(["local", "remote"]),
      mid: z.string(),
      trackName: z.string(),
      sessionId: z.string().optional(),
      status: z.enum(["active", "inactive"]),
    }),
  ),
});

/** Every `a=candidate` line of an SDP names 127.0.0.1. */
function candidatesAreLoopback(sdp: string): boolean {
  const candidates = sdp.split(/\r?\n/).filter((line) => line.startsWith("a=candidate:"));
  return candidates.length > 0 && candidates.every((line) => line.split(" ")[4] === "127.0.0.1");
}

describe("local SFU Connection API", () => {
  let sfu: LocalSfu;
  const clients: SfuTestClient[] = [];

  beforeAll(async () => {
    sfu = await startLocalSfu({ port: 0, appId: TEST_APP_ID, appSecret: TEST_APP_SECRET });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await sfu.close();
  });

  async function client(): Promise<SfuTestClient> {
    const created = await SfuTestClient.connect(sfu.url);
    clients.push(created);
    return created;
  }

  it("listens on loopback under /v1, like Cloudflare's base URL", () => {
    expect(sfu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  });

  it("refuses a missing or wrong bearer secret with 401, and another app with 404", async () => {
    const missing = await callSfu(sfu.url, "POST", "sessions/new", undefined, { secret: null });
    const wrong = await callSfu(sfu.url, "POST", "sessions/new", undefined, { secret: "not-the-secret" });
    const otherApp = await callSfu(sfu.url, "POST", "sessions/new", undefined, { appId: "another-app" });
    expect([missing.status, wrong.status, otherApp.status]).toEqual([401, 401, 404]);
    for (const answer of [missing, wrong, otherApp]) expect(errorBody.parse(answer.body)).toBeTruthy();
  });

  it("creates a session without an offer: 201 with a sessionId only", async () => {
    const answer = await callSfu(sfu.url, "POST", "sessions/new");
    expect(answer.status).toBe(201);
    expect(newSessionResponse.parse(answer.body).sessionDescription).toBeUndefined();
  });

  it("creates a session from an offer: 201 with the SFU's answer, loopback candidates only", async () => {
    const { RTCPeerConnection } = await import("werift");
    const { loopbackPeerConfig } = await import("../../sfu/loopback.mjs");
    const peer = new RTCPeerConnection(loopbackPeerConfig({ iceLite: false }));
    peer.addTransceiver("audio", { direction: "sendonly" });
    await peer.setLocalDescription(await peer.createOffer());
    const answer = await callSfu(sfu.url, "POST", "sessions/new", {
      sessionDescription: { type: "offer", sdp: peer.localDescription?.sdp },
    });
    await peer.close();
    expect(answer.status).toBe(201);
    const body = newSessionResponse.parse(answer.body);
    expect(body.sessionDescription?.type).toBe("answer");
    expect(candidatesAreLoopback(body.sessionDescription?.sdp ?? "")).toBe(true);
  });

  it("publishes with an offer, pulls with an SFU offer, renegotiates, reports and closes, in the documented shapes", async () => {
    const publisher = await client();
    const subscriber = await client();
    const { mid: publishedMid } = await publisher.publishVideo("camera-1");

    const pulled = await subscriber.call("POST", "tracks/new", {
      tracks: [{ location: "remote", sessionId: publisher.sessionId, trackName: "camera-1" }],
    });
    expect(pulled.status).toBe(200);
    const pull = tracksResponse.parse(pulled.body);
    expect(pull.requiresImmediateRenegotiation).toBe(true);
    expect(pull.sessionDescription?.type).toBe("offer");
    expect(candidatesAreLoopback(pull.sessionDescription?.sdp ?? "")).toBe(true);
    expect(pull.tracks).toEqual([{ sessionId: publisher.sessionId, trackName: "camera-1", mid: expect.any(String) }]);

    await subscriber.peer.setRemoteDescription(pull.sessionDescription as { type: "offer"; sdp: string });
    await subscriber.peer.setLocalDescription(await subscriber.peer.createAnswer());
    const renegotiated = await subscriber.call("PUT", "renegotiate", {
      sessionDescription: { type: "answer", sdp: subscriber.peer.localDescription?.sdp },
    });
    expect(renegotiated).toEqual({ status: 200, body: {} });

    const publisherState = await publisher.call("GET", "");
    expect(sessionStateResponse.parse(publisherState.body).tracks).toEqual([
      { location: "local", mid: publishedMid, trackName: "camera-1", status: "active" },
    ]);
    const subscriberState = await subscriber.call("GET", "");
    expect(sessionStateResponse.parse(subscriberState.body).tracks).toEqual([
      {
        location: "remote",
        mid: pull.tracks[0]?.mid,
        trackName: "camera-1",
        sessionId: publisher.sessionId,
        status: "active",
      },
    ]);

    const pulledMid = pull.tracks[0]?.mid;
    const closed = await subscriber.call("PUT", "tracks/close", { tracks: [{ mid: pulledMid }], force: true });
    expect(closed.status).toBe(200);
    expect(closeTracksResponse.parse(closed.body)).toEqual({
      requiresImmediateRenegotiation: false,
      tracks: [{ mid: pulledMid }],
    });
    const closedAgain = await subscriber.call("PUT", "tracks/close", { tracks: [{ mid: pulledMid }], force: true });
    expect(closeTracksResponse.parse(closedAgain.body).tracks[0]?.errorCode).toBe("close_track_error");
    const afterClose = await subscriber.call("GET", "");
    expect(sessionStateResponse.parse(afterClose.body).tracks[0]?.status).toBe("inactive");
  });

  it("closes a published track with the client's offer and answers it", async () => {
    const publisher = await client();
    const { mid, transceiver } = await publisher.publishVideo("camera-2");
    transceiver.stop();
    await publisher.peer.setLocalDescription(await publisher.peer.createOffer());
    const closed = await publisher.call("PUT", "tracks/close", {
      tracks: [{ mid }],
      sessionDescription: { type: "offer", sdp: publisher.peer.localDescription?.sdp },
      force: false,
    });
    expect(closed.status).toBe(200);
    const body = closeTracksResponse.parse(closed.body);
    expect(body.tracks).toEqual([{ mid }]);
    expect(body.sessionDescription?.type).toBe("answer");
  });

  it("answers a pull of a track nobody publishes with a per-track error and no renegotiation", async () => {
    const subscriber = await client();
    const answer = await subscriber.call("POST", "tracks/new", {
      tracks: [{ location: "remote", sessionId: subscriber.sessionId, trackName: "nothing" }],
    });
    expect(answer.status).toBe(200);
    const body = tracksResponse.parse(answer.body);
    expect(body.requiresImmediateRenegotiation).toBe(false);
    expect(body.sessionDescription).toBeUndefined();
    expect(body.tracks[0]?.errorCode).toBeTruthy();
  });

  it("answers every session operation on an unknown session with 404 and an error body", async () => {
    const unknown = "0123456789abcdef0123456789abcdef";
    const answers = [
      await callSfu(sfu.url, "GET", `sessions/${unknown}`),
      await callSfu(sfu.url, "POST", `sessions/${unknown}/tracks/new`, {
        tracks: [{ location: "remote", sessionId: unknown, trackName: "a" }],
      }),
      await callSfu(sfu.url, "PUT", `sessions/${unknown}/renegotiate`, {
        sessionDescription: { type: "answer", sdp: "v=0\r\n" },
      }),
      await callSfu(sfu.url, "PUT", `sessions/${unknown}/tracks/close`, { tracks: [{ mid: "0" }], force: true }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([404, 404, 404, 404]);
    for (const answer of answers) expect(errorBody.parse(answer.body).errorCode).toBe("not_found");
  });

  it("refuses a body that is not JSON, or not the operation's shape, with 400 and an error body", async () => {
    const session = await client();
    const notJson = await session.call("POST", "tracks/new", "{ not json");
    const noTracks = await session.call("POST", "tracks/new", { tracks: [] });
    const badLocation = await session.call("POST", "tracks/new", { tracks: [{ location: "elsewhere", mid: "0" }] });
    const noDescription = await session.call("PUT", "renegotiate", {});
    const closeWithoutOffer = await session.call("PUT", "tracks/close", { tracks: [{ mid: "0" }], force: false });
    expect(errorBody.parse(notJson.body).errorCode).toBe("decoding_error");
    for (const answer of [notJson, noTracks, badLocation, noDescription, closeWithoutOffer]) {
      expect(answer.status).toBe(400);
      expect(errorBody.parse(answer.body)).toBeTruthy();
    }
  });

  it("refuses an SDP that is not one, or an answer where an offer is due, with 400 invalid_sdp", async () => {
    const session = await client();
    const garbage = await session.call("POST", "tracks/new", {
      sessionDescription: { type: "offer", sdp: "hello" },
      tracks: [{ location: "local", mid: "0", trackName: "a" }],
    });
    const newWithGarbage = await callSfu(sfu.url, "POST", "sessions/new", {
      sessionDescription: { type: "offer", sdp: "v=0\r\nm=video nonsense\r\n" },
    });
    const unexpectedAnswer = await session.call("PUT", "renegotiate", {
      sessionDescription: { type: "answer", sdp: "v=0\r\n" },
    });
    for (const answer of [garbage, newWithGarbage, unexpectedAnswer]) {
      expect(answer.status).toBe(400);
      expect(errorBody.parse(answer.body).errorCode).toBe("invalid_sdp");
    }
  });
});
