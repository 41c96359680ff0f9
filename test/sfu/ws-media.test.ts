/**
 * Media through an SFU (contract 1.2), over the socket: `meeting:joined`
 * carries `media` with everyone's published tracks, `media:tracks` tells
 * everyone else of each change, and a participant who leaves, is kicked or
 * drops has its tracks withdrawn (an empty list) and closed at the SFU by
 * the meeting object in the background; termination closes every track.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "../helpers/api";
import { callMedia, cameraTracks, OFFER, publishCamera } from "../helpers/media";
import { captureLogs, type SfuStub, stubSfu } from "../helpers/sfu-stub";
import { connect, liveMeeting } from "../helpers/sockets";

let sfu: SfuStub;
beforeEach(() => {
  sfu = stubSfu();
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** The forced close the object sends for `sessionId`, once it arrived. */
async function closeOf(sessionId: string) {
  return vi.waitFor(() => {
    const call = sfu.callsOf("tracks/close").find((c) => c.sessionId === sessionId);
    if (!call) throw new Error("no close yet");
    return call.body;
  });
}

/** The session the stub handed out for the n-th sessions/new call. */
const sessionNo = (n: number) => sfu.sessionIds()[n]!;

describe("meeting:joined and media:tracks", () => {
  it("greets with media { mode: sfu, tracks } listing what everyone publishes", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace] = m.guests;
    await publishCamera(m.id, grace!.sessionToken);
    const late = await connect(m.id, m.hostToken);
    const joined = late.frames.find((f) => f.type === "meeting:joined")!;
    expect(joined.data.media).toEqual({ mode: "sfu", tracks: { [grace!.id]: cameraTracks() } });
    late.close();
  });

  it("tells everyone else a publisher's whole list after each change, and not the publisher", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    await publishCamera(m.id, grace!.sessionToken);
    for (const socket of [m.host.socket, linus!.socket]) {
      expect((await socket.next("media:tracks")).data).toEqual({ participantId: grace!.id, tracks: cameraTracks() });
    }
    const screen = await callMedia(m.id, "tracks", grace!.sessionToken, {
      sessionDescription: OFFER,
      tracks: [{ location: "local", mid: "2", trackName: "screen", kind: "video", screen: true }],
    });
    expect(screen.status).toBe(200);
    const withScreen = [...cameraTracks(), { trackName: "screen", kind: "video", screen: true }];
    expect((await linus!.socket.next("media:tracks")).data.tracks).toEqual(withScreen);
    expect((await callMedia(m.id, "close", grace!.sessionToken, { tracks: [{ mid: "0" }] })).status).toBe(200);
    expect((await linus!.socket.next("media:tracks")).data.tracks).toEqual([
      { trackName: "cam-audio", kind: "audio" },
      { trackName: "screen", kind: "video", screen: true },
    ]);
    await grace!.socket.expectNo("media:tracks");
    expect(grace!.socket.frames.filter((f) => f.type === "media:tracks")).toEqual([]);
  });

  it("pulling tracks announces nothing", async () => {
    const m = await liveMeeting("Grace");
    const [grace] = m.guests;
    await publishCamera(m.id, grace!.sessionToken);
    await m.host.socket.next("media:tracks");
    expect((await callMedia(m.id, "session", m.hostToken, {})).status).toBe(201);
    const pulled = await callMedia(m.id, "tracks", m.hostToken, {
      tracks: [{ location: "remote", participantId: grace!.id, trackName: "cam-video" }],
    });
    expect(pulled.status).toBe(200);
    await grace!.socket.expectNo("media:tracks");
  });

  it("a second session withdraws the first one's tracks: an empty list, then the new ones", async () => {
    const m = await liveMeeting("Grace");
    const [grace] = m.guests;
    await publishCamera(m.id, grace!.sessionToken);
    await m.host.socket.next("media:tracks");
    expect((await callMedia(m.id, "session", grace!.sessionToken, {})).status).toBe(201);
    expect((await m.host.socket.next("media:tracks")).data).toEqual({ participantId: grace!.id, tracks: [] });
    expect(await closeOf(sessionNo(0))).toEqual({ tracks: [{ mid: "0" }, { mid: "1" }], force: true });
  });
});

describe("withdrawal", () => {
  /** Grace publishes and pulls the host's camera; the host publishes too. */
  async function publishingMeeting() {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    await publishCamera(m.id, m.hostToken, "host");
    await publishCamera(m.id, grace!.sessionToken);
    const pulled = await callMedia(m.id, "tracks", grace!.sessionToken, {
      tracks: [{ location: "remote", participantId: m.host.id, trackName: "host-video" }],
    });
    expect(pulled.status).toBe(200);
    const pulledMid = pulled.body.tracks[0].mid as string;
    await linus!.socket.all("media:tracks", 2);
    await m.host.socket.all("media:tracks", 1);
    await grace!.socket.all("media:tracks", 1);
    for (const socket of [m.host.socket, grace!.socket, linus!.socket]) socket.skipReceived();
    return { m, grace: grace!, linus: linus!, graceSession: sessionNo(1), pulledMid };
  }

  it("on leave: an empty list before participant-left, every track of its session closed, its routes 403", async () => {
    const { m, grace, linus, graceSession, pulledMid } = await publishingMeeting();
    expect((await api("POST", `/api/meetings/${m.id}/leave`, { token: grace.sessionToken })).status).toBe(200);
    const tracks = await linus.socket.next("media:tracks");
    expect(tracks.data).toEqual({ participantId: grace.id, tracks: [] });
    const left = await linus.socket.next("meeting:participant-left");
    expect(linus.socket.frames.indexOf(tracks)).toBeLessThan(linus.socket.frames.indexOf(left));
    expect(await closeOf(graceSession)).toEqual({
      tracks: [{ mid: "0" }, { mid: "1" }, { mid: pulledMid }],
      force: true,
    });
    expect(sfu.tracksOf(graceSession)).toEqual([]);
    expect((await callMedia(m.id, "session", grace.sessionToken, {})).status).toBe(403);
    // Nobody can pull what Grace published any more.
    const pull = await callMedia(m.id, "tracks", m.hostToken, {
      tracks: [{ location: "remote", participantId: grace.id, trackName: "cam-video" }],
    });
    expect(pull.status).toBe(404);
  });

  it("on a kick over REST and over the socket: the same, and the host's own tracks stay", async () => {
    const { m, grace, linus, graceSession } = await publishingMeeting();
    const kicked = await api("POST", `/api/meetings/${m.id}/kick`, {
      token: m.hostToken,
      body: { participantId: grace.id },
    });
    expect(kicked.status).toBe(200);
    expect((await linus.socket.next("media:tracks")).data).toEqual({ participantId: grace.id, tracks: [] });
    expect((await closeOf(graceSession)).tracks).toHaveLength(3);
    expect((await callMedia(m.id, "renegotiate", grace.sessionToken, { sessionDescription: OFFER })).status).toBe(403);

    // Linus publishes, then the host kicks him with a frame.
    await publishCamera(m.id, linus.sessionToken, "linus");
    await m.host.socket.nextWhere("media:tracks", (f) => f.data.participantId === linus.id);
    m.host.socket.send({ type: "host:kick-participant", id: 1, data: { participantId: linus.id } });
    expect((await m.host.socket.next("media:tracks")).data).toEqual({ participantId: linus.id, tracks: [] });
    expect((await closeOf(sessionNo(2))).tracks).toEqual([{ mid: "0" }, { mid: "1" }]);
    expect(sfu.tracksOf(sessionNo(0)).map((t) => t.trackName)).toEqual(["host-video", "host-audio"]);
  });

  it("on a drop: its published tracks withdrawn and closed, its session and pulls kept; it publishes again after reconnecting", async () => {
    const { m, grace, linus, graceSession, pulledMid } = await publishingMeeting();
    grace.socket.close(1001, "gone");
    expect((await linus.socket.next("media:tracks")).data).toEqual({ participantId: grace.id, tracks: [] });
    expect((await linus.socket.next("meeting:participant-left")).data.reason).toBe("disconnected");
    expect(await closeOf(graceSession)).toEqual({ tracks: [{ mid: "0" }, { mid: "1" }], force: true });
    expect(sfu.tracksOf(graceSession).map((t) => t.mid)).toEqual([pulledMid]);

    const back = await connect(m.id, grace.sessionToken);
    const joined = back.frames.find((f) => f.type === "meeting:joined")!;
    expect(joined.data.media.tracks[grace.id]).toBeUndefined();
    const republished = await callMedia(m.id, "tracks", grace.sessionToken, {
      sessionDescription: OFFER,
      tracks: [
        { location: "local", mid: "3", trackName: "cam-video", kind: "video" },
        { location: "local", mid: "4", trackName: "cam-audio", kind: "audio" },
      ],
    });
    expect(republished.status).toBe(200);
    expect((await linus.socket.next("media:tracks")).data).toEqual({ participantId: grace.id, tracks: cameraTracks() });
    back.close();
  });

  it("on termination: every track of every session closed at the SFU", async () => {
    const { m, graceSession, pulledMid } = await publishingMeeting();
    expect((await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken })).status).toBe(200);
    expect(await closeOf(sessionNo(0))).toEqual({ tracks: [{ mid: "0" }, { mid: "1" }], force: true });
    expect((await closeOf(graceSession)).tracks).toEqual([{ mid: "0" }, { mid: "1" }, { mid: pulledMid }]);
  });

  it("tracks the SFU added while their publisher left are closed again, and never announced", async () => {
    const m = await liveMeeting("Grace");
    const [grace] = m.guests;
    expect((await callMedia(m.id, "session", grace!.sessionToken, {})).status).toBe(201);
    sfu.misbehave("tracks/new", { kind: "delay", ms: 500 });
    const publishing = callMedia(m.id, "tracks", grace!.sessionToken, {
      sessionDescription: OFFER,
      tracks: [{ location: "local", mid: "0", trackName: "cam-video", kind: "video" }],
    });
    await vi.waitFor(() => expect(sfu.callsOf("tracks/new")).toHaveLength(1));
    expect((await api("POST", `/api/meetings/${m.id}/leave`, { token: grace!.sessionToken })).status).toBe(200);
    expect((await publishing).status).toBe(403);
    expect(await closeOf(sessionNo(0))).toEqual({ tracks: [{ mid: "0" }], force: true });
    expect(sfu.tracksOf(sessionNo(0))).toEqual([]);
    await m.host.socket.expectNo("media:tracks");
  });

  it("a close the SFU hangs on holds nothing up: chat goes on", async () => {
    const { m, grace, linus } = await publishingMeeting();
    sfu.misbehave("tracks/close", { kind: "hang" });
    expect((await api("POST", `/api/meetings/${m.id}/leave`, { token: grace.sessionToken })).status).toBe(200);
    linus.socket.send({ type: "chat:message", id: 7, data: { text: "still here" } });
    expect((await m.host.socket.next("chat:new-message")).data.text).toBe("still here");
  });

  it("a close the SFU fails is logged, without the session id", async () => {
    const { m, grace, graceSession } = await publishingMeeting();
    const logs = captureLogs();
    sfu.misbehave("tracks/close", { kind: "fail" });
    expect(
      (await api("POST", `/api/meetings/${m.id}/kick`, { token: m.hostToken, body: { participantId: grace.id } }))
        .status,
    ).toBe(200);
    await vi.waitFor(() => expect(logs()).toContain("sfu.close_failed"));
    expect(logs()).not.toContain(graceSession);
  });
});
