/**
 * A whole meeting against a real `wrangler dev`, with real WebSocket
 * clients: create, invite, two guests join, chat, WebRTC relay, state
 * updates, a reschedule everyone sees, a kick (4003) and the end (4000).
 */
import { describe, expect, it } from "vitest";
import { api, connect, type LiveSocket, open } from "./helpers/client";

/**
 * Under `wrangler dev` the TCP connection of a socket the server closed
 * lingers about 10 s after the close frames were exchanged, and `ws` reports
 * the close (with its code) only then.
 */
const SERVER_CLOSE_MS = 20_000;

const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

async function createMeeting() {
  const res = await api("POST", "/api/meetings", {
    body: { title: "E2E sync", hostName: "Ada", scheduledAt: new Date(Date.now() + 3_600_000).toISOString() },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { meeting: { id: string }; hostToken: string; participant: { id: string } };
}

async function joinAs(meetingId: string, hostToken: string, displayName: string) {
  const invite = await api("POST", `/api/meetings/${meetingId}/tokens`, { token: hostToken, body: {} });
  expect(invite.status).toBe(201);
  const joined = await api("POST", "/api/meetings/join", { body: { token: invite.body.tokens[0].token, displayName } });
  expect(joined.status, JSON.stringify(joined.body)).toBe(200);
  expect(joined.body.wsUrl).toBe(`/api/meetings/${meetingId}/ws`);
  return joined.body as { participant: { id: string }; sessionToken: string };
}

describe("a live meeting over wrangler dev", () => {
  it("runs from invitation to termination", async () => {
    const created = await createMeeting();
    const id = created.meeting.id;
    const hostId = created.participant.id;
    const graceJoin = await joinAs(id, created.hostToken, "Grace");
    const linusJoin = await joinAs(id, created.hostToken, "Linus");
    const graceId = graceJoin.participant.id;
    const linusId = linusJoin.participant.id;

    // The host's token travels as a subprotocol, the guests' in the query.
    const host = await connect(id, created.hostToken, { viaSubprotocol: true });
    expect(host.ws.protocol).toBe("meettime");
    const grace = await connect(id, graceJoin.sessionToken);
    const linus = await connect(id, linusJoin.sessionToken);
    expect(linus.frames[0]!.data.meeting.participants.map((p: any) => [p.name, p.connected])).toEqual([
      ["Ada", true],
      ["Grace", true],
      ["Linus", true],
    ]);
    expect((await host.next("meeting:participant-joined")).data.participant.name).toBe("Grace");
    expect((await host.next("meeting:participant-joined")).data.participant.name).toBe("Linus");
    const everyone: LiveSocket[] = [host, grace, linus];

    // Chat reaches everyone, the sender included.
    expect((await grace.request({ type: "chat:message", data: { text: "hello" } })).type).toBe("ack");
    for (const socket of everyone) {
      expect((await socket.next("chat:new-message")).data).toMatchObject({
        seq: 1,
        participantId: graceId,
        name: "Grace",
        text: "hello",
      });
    }

    // Signaling goes to its target only.
    grace.send({ type: "webrtc:offer", data: { to: linusId, sdp: SDP } });
    expect((await linus.next("webrtc:offer")).data).toEqual({ from: graceId, sdp: SDP });
    linus.send({ type: "webrtc:answer", data: { to: graceId, sdp: "answer" } });
    expect((await grace.next("webrtc:answer")).data).toEqual({ from: linusId, sdp: "answer" });
    const candidate = {
      candidate: "candidate:1 1 udp 2122260223 10.0.0.2 50000 typ host",
      sdpMid: "0",
      sdpMLineIndex: 0,
    };
    linus.send({ type: "webrtc:ice-candidate", data: { to: graceId, candidate } });
    expect((await grace.next("webrtc:ice-candidate")).data).toEqual({ from: linusId, candidate });
    expect(host.count("webrtc:offer") + host.count("webrtc:answer") + host.count("webrtc:ice-candidate")).toBe(0);

    // State changes are broadcast in full.
    linus.send({ type: "participant:update", data: { audio: false, handRaised: true } });
    for (const socket of everyone) {
      expect((await socket.next("participant:updated")).data).toEqual({
        participantId: linusId,
        state: { audio: false, video: true, screen: false, handRaised: true },
      });
    }

    // Heartbeat.
    await grace.ping();

    // A reschedule over REST is seen by all.
    const scheduledAt = new Date(Date.now() + 7_200_000).toISOString();
    const rescheduled = await api("PUT", `/api/meetings/${id}/datetime`, {
      token: created.hostToken,
      body: { scheduledAt, durationMinutes: 45 },
    });
    expect(rescheduled.status).toBe(200);
    for (const socket of everyone) {
      const changed = await socket.next("meeting:datetime:changed");
      expect(changed.data.updatedBy).toBe(hostId);
      expect(changed.data.meeting).toMatchObject({ version: 2, scheduledAt, durationMinutes: 45 });
    }

    // Kick: the kicked guest is told and closed with 4003; the others see it leave.
    const kicked = await api("POST", `/api/meetings/${id}/kick`, {
      token: created.hostToken,
      body: { participantId: linusId, reason: "wrong meeting" },
    });
    expect(kicked.status).toBe(200);
    expect((await linus.next("meeting:kicked")).data).toEqual({ reason: "wrong meeting" });
    const linusClosed = linus.closed(SERVER_CLOSE_MS);
    for (const socket of [host, grace]) {
      expect((await socket.next("meeting:participant-left")).data).toEqual({
        participantId: linusId,
        reason: "kicked",
      });
    }
    const again = await open(id, linusJoin.sessionToken);
    expect(again).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN" } } });

    // Terminate: everyone is told and closed with 4000; the meeting refuses new sockets.
    expect((await api("DELETE", `/api/meetings/${id}`, { token: created.hostToken })).status).toBe(200);
    for (const socket of [host, grace]) expect((await socket.next("meeting:terminated")).data).toEqual({});
    const closes = await Promise.all([host, grace].map((socket) => socket.closed(SERVER_CLOSE_MS)));
    expect(closes.map((close) => close.code)).toEqual([4000, 4000]);
    expect((await linusClosed).code).toBe(4003);
    expect(await open(id, created.hostToken)).toMatchObject({
      status: 410,
      body: { error: { code: "MEETING_ENDED" } },
    });
  });

  it("refuses bad upgrades with a plain HTTP error", async () => {
    const created = await createMeeting();
    const id = created.meeting.id;
    expect(await open(id, "not-a-token")).toMatchObject({ status: 401, body: { error: { code: "UNAUTHORIZED" } } });
    expect(await open(id, "not-a-token", { viaSubprotocol: true })).toMatchObject({ status: 401 });
    expect(await open(id, created.hostToken, { since: -1 } as any)).toMatchObject({
      status: 400,
      body: { error: { code: "VALIDATION_FAILED" } },
    });
    const plain = await api("GET", `/api/meetings/${id}/ws?token=${created.hostToken}`);
    expect(plain.status).toBe(426);
    expect(plain.body.error.code).toBe("UPGRADE_REQUIRED");
  });

  it("notices a connection that vanished without a close frame, and lets the participant catch up", async () => {
    const created = await createMeeting();
    const id = created.meeting.id;
    const graceJoin = await joinAs(id, created.hostToken, "Grace");
    const host = await connect(id, created.hostToken);
    const grace = await connect(id, graceJoin.sessionToken);
    await host.next("meeting:participant-joined");
    await host.request({ type: "chat:message", data: { text: "one" } });
    const lastSeen = (await grace.next("chat:new-message")).data.seq as number;

    // The network drops: no close frame is ever sent.
    grace.ws.terminate();
    expect((await host.next("meeting:participant-left", 15_000)).data).toEqual({
      participantId: graceJoin.participant.id,
      reason: "disconnected",
    });
    const meeting = (await api("GET", `/api/meetings/${id}`, { token: created.hostToken })).body.meeting;
    expect(meeting.participants.map((p: any) => [p.name, p.connected])).toEqual([
      ["Ada", true],
      ["Grace", false],
    ]);

    await host.request({ type: "chat:message", data: { text: "two" } });
    await host.request({ type: "chat:message", data: { text: "three" } });
    const back = await connect(id, graceJoin.sessionToken, { since: lastSeen });
    expect(back.frames[0]!.data.chat.map((c: any) => c.text)).toEqual(["two", "three"]);
    expect((await host.next("meeting:participant-joined")).data.participant.connected).toBe(true);
    back.ws.close(1000);
    host.ws.close(1000);
    expect((await back.closed()).code).toBe(1000);
  });
});
