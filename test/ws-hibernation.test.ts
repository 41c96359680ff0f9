/**
 * Hibernation: the meeting object may be evicted at any moment while its
 * sockets stay open. Everything must work the same afterwards: identities,
 * presence, host powers, chat numbering, replacement, and the liveness sweep
 * that drops silent sockets using the runtime's ping timestamps.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SocketIdentity } from "../src/meeting/socket-registry";
import { api, getMeeting } from "./helpers/api";
import { connect, liveMeeting, meetingObject, type TestSocket } from "./helpers/sockets";

async function connectedFlags(meetingId: string, token: string) {
  const meeting = await getMeeting(meetingId, token);
  return Object.fromEntries(meeting.participants.map((p: any) => [p.name, p.connected]));
}

/** Makes a participant's socket look as if it connected, and was last heard from, `ago` ms back. */
async function backdate(meetingId: string, participantId: string, ago: number) {
  await runInDurableObject(meetingObject(meetingId), (_room, state) => {
    for (const ws of state.getWebSockets(participantId)) {
      const identity = ws.deserializeAttachment() as SocketIdentity;
      ws.serializeAttachment({ ...identity, connectedAt: Date.now() - ago, lastFrameAt: undefined });
    }
  });
}

async function pingPong(socket: TestSocket) {
  const pongs = socket.texts.filter((text) => text === "pong").length;
  socket.send("ping");
  await socket.find(() => socket.texts.filter((text) => text === "pong").length > pongs, "pong");
}

describe("after eviction", () => {
  it("handles the next messages with the right identities, presence and chat seq", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    const stub = meetingObject(m.id);
    await m.host.socket.request({ type: "chat:message", data: { text: "before" } });
    await evictDurableObject(stub);

    grace!.socket.send({ type: "chat:message", data: { text: "after" } });
    for (const socket of [m.host.socket, grace!.socket, linus!.socket]) {
      expect((await socket.nextWhere("chat:new-message", (f) => f.data.text === "after")).data).toMatchObject({
        seq: 2,
        participantId: grace!.id,
        name: "Grace",
      });
    }
    expect(await connectedFlags(m.id, m.hostToken)).toEqual({ Ada: true, Grace: true, Linus: true });

    await evictDurableObject(stub);
    linus!.socket.send({ type: "participant:update", data: { video: false } });
    expect((await grace!.socket.next("participant:updated")).data).toEqual({
      participantId: linus!.id,
      state: { audio: true, video: false, screen: false, handRaised: false },
    });

    await evictDurableObject(stub);
    grace!.socket.send({ type: "webrtc:offer", data: { to: linus!.id, sdp: "sdp" } });
    expect((await linus!.socket.next("webrtc:offer")).data).toEqual({ from: grace!.id, sdp: "sdp" });
    await m.host.socket.expectNo("webrtc:offer");
  });

  it("keeps host powers with the host only", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    const stub = meetingObject(m.id);
    await evictDurableObject(stub);

    const forbidden = await grace!.socket.request({
      type: "host:kick-participant",
      data: { participantId: linus!.id },
    });
    expect(forbidden.error?.code).toBe("FORBIDDEN");

    await evictDurableObject(stub);
    const kicked = await m.host.socket.request({ type: "host:kick-participant", data: { participantId: linus!.id } });
    expect(kicked.type).toBe("ack");
    expect((await linus!.socket.closed()).code).toBe(4003);
    expect((await grace!.socket.next("meeting:participant-left")).data).toEqual({
      participantId: linus!.id,
      reason: "kicked",
    });

    await evictDurableObject(stub);
    const rescheduled = await m.host.socket.request({ type: "meeting:datetime:update", data: { durationMinutes: 20 } });
    expect(rescheduled.type).toBe("ack");
    expect((await grace!.socket.next("meeting:datetime:changed")).data.meeting.version).toBe(2);
    expect(await connectedFlags(m.id, m.hostToken)).toEqual({ Ada: true, Grace: true });
  });

  it("delivers REST actions to the sockets of an evicted meeting", async () => {
    const m = await liveMeeting("Grace");
    await evictDurableObject(meetingObject(m.id));
    const res = await api("POST", `/api/meetings/${m.id}/kick`, {
      token: m.hostToken,
      body: { participantId: m.guests[0]!.id, reason: "bye" },
    });
    expect(res.status).toBe(200);
    expect((await m.guests[0]!.socket.next("meeting:kicked")).data).toEqual({ reason: "bye" });
    expect((await m.guests[0]!.socket.closed()).code).toBe(4003);

    await evictDurableObject(meetingObject(m.id));
    expect((await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken })).status).toBe(200);
    expect((await m.host.socket.next("meeting:terminated")).data).toEqual({});
    expect((await m.host.socket.closed()).code).toBe(4000);
  });

  it("replaces a connection made before the eviction, silently for the others", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    await evictDurableObject(meetingObject(m.id));
    const second = await connect(m.id, grace.sessionToken);
    expect((await grace.socket.next("session:replaced")).data).toEqual({});
    expect((await grace.socket.closed()).code).toBe(4009);
    await m.host.socket.expectSilence(100);

    // The replaced socket, closed across another eviction, is not counted as a disconnect.
    await evictDurableObject(meetingObject(m.id));
    expect(await connectedFlags(m.id, m.hostToken)).toEqual({ Ada: true, Grace: true });
    second.send({ type: "chat:message", data: { text: "still here" } });
    expect((await m.host.socket.next("chat:new-message")).data.participantId).toBe(grace.id);
  });

  it("reports a socket closed while the object was evicted as disconnected", async () => {
    const m = await liveMeeting("Grace");
    await evictDurableObject(meetingObject(m.id));
    m.guests[0]!.socket.close(1000, "tab closed");
    expect((await m.host.socket.next("meeting:participant-left")).data).toEqual({
      participantId: m.guests[0]!.id,
      reason: "disconnected",
    });
    expect(await connectedFlags(m.id, m.hostToken)).toEqual({ Ada: true, Grace: false });
  });
});

describe("heartbeat", () => {
  it("answers ping with pong without waking an evicted meeting", async () => {
    const m = await liveMeeting("Grace");
    const stub = meetingObject(m.id);
    await evictDurableObject(stub);
    await pingPong(m.guests[0]!.socket);
    await pingPong(m.host.socket);
    // Evicting again fails only because nothing woke the object up.
    await expect(evictDurableObject(stub)).rejects.toThrow();
  });
});

describe("liveness sweep", () => {
  it("closes a socket silent for over 60 s and reports it disconnected; pinging and recent sockets stay", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    const stub = meetingObject(m.id);
    // Linus's tab vanished two minutes ago; the host connected as long ago but keeps pinging.
    await backdate(m.id, linus!.id, 120_000);
    await backdate(m.id, m.host.id, 120_000);
    await evictDurableObject(stub);
    await pingPong(m.host.socket);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await linus!.socket.closed()).code).toBe(1001);
    for (const socket of [m.host.socket, grace!.socket]) {
      expect((await socket.next("meeting:participant-left")).data).toEqual({
        participantId: linus!.id,
        reason: "disconnected",
      });
    }
    expect(m.host.socket.closeEvent).toBeUndefined();
    expect(grace!.socket.closeEvent).toBeUndefined();
    const meeting = await getMeeting(m.id, m.hostToken);
    expect(meeting.participantCount).toBe(3);
    expect(await connectedFlags(m.id, m.hostToken)).toEqual({ Ada: true, Grace: true, Linus: false });

    // Linus may come back.
    await connect(m.id, linus!.sessionToken);
    expect((await grace!.socket.next("meeting:participant-joined")).data.participant.id).toBe(linus!.id);
  });

  it("counts frames as signs of life, also across an eviction", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    const stub = meetingObject(m.id);
    await backdate(m.id, grace.id, 120_000);
    await evictDurableObject(stub);
    // Grace never pings, but she talks.
    expect((await grace.socket.request({ type: "participant:update", data: { handRaised: true } })).type).toBe("ack");
    await evictDurableObject(stub);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await m.host.socket.expectNo("meeting:participant-left");
    expect(grace.socket.closeEvent).toBeUndefined();
    expect(await connectedFlags(m.id, m.hostToken)).toEqual({ Ada: true, Grace: true });
  });

  it("runs every 30 s only while sockets are connected", async () => {
    const m = await liveMeeting("Grace");
    const stub = meetingObject(m.id);
    const alarm = () => runInDurableObject(stub, (_room, state) => state.storage.getAlarm());
    const expiresAt = Date.parse((await getMeeting(m.id, m.hostToken)).expiresAt);

    const sweep = await alarm();
    expect(sweep).toBeGreaterThan(Date.now());
    expect(sweep).toBeLessThanOrEqual(Date.now() + 30_000);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const next = await alarm();
    expect(next).toBeGreaterThan(Date.now());
    expect(next).toBeLessThanOrEqual(Date.now() + 30_000);

    for (const socket of [m.host.socket, m.guests[0]!.socket]) socket.close();
    await m.guests[0]!.socket.closed();
    await m.host.socket.closed();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // Nobody connected: the only alarm left is the meeting's expiry.
    expect(await alarm()).toBe(expiresAt);
  });
});
