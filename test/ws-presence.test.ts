/**
 * Presence: who is connected and in which state. State updates reach
 * everyone; `connected` follows every way a socket ends (close, error,
 * replacement, leave); one participant never has two live sockets.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, expectError, getMeeting } from "./helpers/api";
import { connect, liveMeeting, meetingObject, upgrade } from "./helpers/sockets";

async function connectedFlags(meetingId: string, token: string) {
  const meeting = await getMeeting(meetingId, token);
  return Object.fromEntries(meeting.participants.map((p: any) => [p.name, p.connected]));
}

describe("participant state", () => {
  it("broadcasts participant:updated with the full state to everyone, the sender included", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    expect((await grace!.socket.request({ type: "participant:update", data: { audio: false } })).type).toBe("ack");
    const expected = {
      participantId: grace!.id,
      state: { audio: false, video: true, screen: false, handRaised: false },
    };
    for (const socket of [m.host.socket, grace!.socket, linus!.socket]) {
      expect((await socket.next("participant:updated")).data).toEqual(expected);
    }

    grace!.socket.send({ type: "participant:update", data: { handRaised: true, screen: true } });
    expect((await linus!.socket.next("participant:updated")).data.state).toEqual({
      audio: false,
      video: true,
      screen: true,
      handRaised: true,
    });
  });

  it("keeps the state: GET and a later meeting:joined show it", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    await grace.socket.request({ type: "participant:update", data: { video: false, handRaised: true } });
    const state = { audio: true, video: false, screen: false, handRaised: true };
    const meeting = await getMeeting(m.id, m.hostToken);
    expect(meeting.participants.find((p: any) => p.id === grace.id).state).toEqual(state);

    grace.socket.close();
    const again = await connect(m.id, grace.sessionToken);
    expect(again.frames[0]!.data.self.state).toEqual(state);
  });

  it("refuses an empty, mistyped or unknown state field and changes nothing", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    for (const data of [{}, { audio: "no" }, { mood: true }, { audio: false, extra: 1 }, null]) {
      const reply = await grace.socket.request({ type: "participant:update", data });
      expect(reply.error?.code, JSON.stringify(data)).toBe("VALIDATION_FAILED");
    }
    await m.host.socket.expectNo("participant:updated");
    const meeting = await getMeeting(m.id, m.hostToken);
    expect(meeting.participants.find((p: any) => p.id === grace.id).state.audio).toBe(true);
  });
});

describe("connected flags", () => {
  it("show who is connected; a participant whose socket closed stays listed as disconnected", async () => {
    const m = await liveMeeting("Grace", "Linus");
    expect(await connectedFlags(m.id, m.hostToken)).toEqual({ Ada: true, Grace: true, Linus: true });

    m.guests[0]!.socket.close(1000, "tab closed");
    expect((await m.host.socket.next("meeting:participant-left")).data).toEqual({
      participantId: m.guests[0]!.id,
      reason: "disconnected",
    });
    const meeting = await getMeeting(m.id, m.hostToken);
    expect(meeting.participantCount).toBe(3);
    expect(await connectedFlags(m.id, m.hostToken)).toEqual({ Ada: true, Grace: false, Linus: true });
  });

  it("echoes the client's close code and reason", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!.socket;
    grace.close(4321, "done here");
    expect(await grace.closed()).toEqual({ code: 4321, reason: "done here" });
  });

  it("welcomes a participant back with meeting:participant-joined after a drop", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    grace.socket.close();
    await m.host.socket.next("meeting:participant-left");
    await connect(m.id, grace.sessionToken);
    const back = await m.host.socket.next("meeting:participant-joined");
    expect(back.data.participant).toMatchObject({ id: grace.id, connected: true });
    expect(await connectedFlags(m.id, m.hostToken)).toEqual({ Ada: true, Grace: true });
  });

  it("reports a socket that failed with an error as disconnected, once", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    await runInDurableObject(meetingObject(m.id), async (room, state) => {
      const [ws] = state.getWebSockets(grace.id);
      await room.webSocketError(ws!, new Error("connection reset"));
    });
    expect((await m.host.socket.next("meeting:participant-left")).data).toEqual({
      participantId: grace.id,
      reason: "disconnected",
    });
    expect(await connectedFlags(m.id, m.hostToken)).toEqual({ Ada: true, Grace: false });
    grace.socket.close();
    await m.host.socket.expectNo("meeting:participant-left");
  });
});

describe("one live socket per participant", () => {
  it("replaces the older connection: session:replaced, close 4009, and the others see nothing", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    const others = [m.host.socket, linus!.socket];
    const framesBefore = others.map((socket) => socket.frames.length);
    const second = await connect(m.id, grace!.sessionToken);

    expect((await grace!.socket.next("session:replaced")).data).toEqual({});
    expect((await grace!.socket.closed()).code).toBe(4009);
    expect(second.frames[0]!.data.self).toMatchObject({ id: grace!.id, connected: true });
    const listed = second.frames[0]!.data.meeting.participants.filter((p: any) => p.id === grace!.id);
    expect(listed).toHaveLength(1);

    await m.host.socket.expectSilence(100);
    for (const [index, other] of others.entries()) expect(other.frames.slice(framesBefore[index])).toEqual([]);
    const meeting = await getMeeting(m.id, m.hostToken);
    expect(meeting.participants.filter((p: any) => p.name === "Grace")).toHaveLength(1);
    expect(await connectedFlags(m.id, m.hostToken)).toEqual({ Ada: true, Grace: true, Linus: true });

    // The new socket is the participant's voice now.
    second.send({ type: "chat:message", data: { text: "from the new tab" } });
    expect((await linus!.socket.next("chat:new-message")).data).toMatchObject({
      participantId: grace!.id,
      text: "from the new tab",
    });
  });

  it("replaces the host's connection the same way, keeping its host powers on the new one", async () => {
    const m = await liveMeeting("Grace");
    const second = await connect(m.id, m.hostToken);
    expect((await m.host.socket.closed()).code).toBe(4009);
    const reply = await second.request({ type: "meeting:datetime:update", data: { durationMinutes: 45 } });
    expect(reply.type).toBe("ack");
    expect((await m.guests[0]!.socket.next("meeting:datetime:changed")).data.meeting.durationMinutes).toBe(45);
    await m.guests[0]!.socket.expectNo("meeting:participant-left", 100);
  });

  it("keeps the newest socket live when the replaced one's close arrives late", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    const second = await connect(m.id, grace.sessionToken);
    const third = await connect(m.id, grace.sessionToken);
    await grace.socket.closed();
    await second.closed();
    expect(await connectedFlags(m.id, m.hostToken)).toEqual({ Ada: true, Grace: true });
    third.send({ type: "participant:update", data: { audio: false } });
    expect((await m.host.socket.next("participant:updated")).data.participantId).toBe(grace.id);
    await m.host.socket.expectNo("meeting:participant-left", 100);
  });
});

describe("leaving over the socket", () => {
  it("closes a guest's socket with 1000 after the ack, tells the others, and revokes the session", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    grace!.socket.send({ type: "meeting:leave", data: {}, id: "bye" });
    expect(await grace!.socket.reply("bye")).toEqual({ type: "ack", id: "bye" });
    expect((await grace!.socket.closed()).code).toBe(1000);
    for (const socket of [m.host.socket, linus!.socket]) {
      expect((await socket.next("meeting:participant-left")).data).toEqual({
        participantId: grace!.id,
        reason: "left",
      });
    }
    const meeting = await getMeeting(m.id, m.hostToken);
    expect(meeting.participants.map((p: any) => p.name)).toEqual(["Ada", "Linus"]);
    expect((await upgrade(m.id, grace!.sessionToken)).status).toBe(403);
    expectError(await api("POST", `/api/meetings/${m.id}/leave`, { token: grace!.sessionToken }), 403, "FORBIDDEN");
  });

  it("accepts meeting:leave without data", async () => {
    const m = await liveMeeting("Grace");
    const reply = await m.guests[0]!.socket.request({ type: "meeting:leave" });
    expect(reply.type).toBe("ack");
    expect((await m.host.socket.next("meeting:participant-left")).data.reason).toBe("left");
  });

  it("only disconnects the host: it stays listed and may come back", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    expect((await m.host.socket.request({ type: "meeting:leave", data: {} })).type).toBe("ack");
    expect((await m.host.socket.closed()).code).toBe(1000);
    expect((await grace.socket.next("meeting:participant-left")).data).toEqual({
      participantId: m.host.id,
      reason: "left",
    });
    expect(await connectedFlags(m.id, m.hostToken)).toEqual({ Ada: false, Grace: true });

    const back = await connect(m.id, m.hostToken);
    expect(back.frames[0]!.data.self).toMatchObject({ role: "host", connected: true });
    expect((await grace.socket.next("meeting:participant-joined")).data.participant.id).toBe(m.host.id);
  });
});
