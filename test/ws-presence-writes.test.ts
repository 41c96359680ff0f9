/**
 * Presence without a write per frame (contract 1.1): an update that changes
 * nothing is acknowledged, broadcast to nobody and writes nothing; real
 * changes live in the socket's attachment and reach storage lazily, so many
 * changes cost at most one row write, and the latest acknowledged state
 * survives an eviction (and is written by the alarm or the socket's close).
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { getMeeting } from "./helpers/api";
import { internals } from "./helpers/deliver";
import { connect, liveMeeting, meetingObject } from "./helpers/sockets";

const DEFAULT = { audio: true, video: true, screen: false, handRaised: false };

async function storedState(meetingId: string, participantId: string) {
  return runInDurableObject(meetingObject(meetingId), (_room, state) => {
    const row = state.storage.sql
      .exec("SELECT audio, video, screen, hand_raised FROM participant WHERE id = ?", participantId)
      .one();
    return {
      audio: row.audio === 1,
      video: row.video === 1,
      screen: row.screen === 1,
      handRaised: row.hand_raised === 1,
    };
  });
}

/**
 * Hands `updates` to the object's socket handler back to back, then flushes
 * pending presence as its timer would; returns how many participant rows
 * were written in all.
 */
async function rowWritesFor(meetingId: string, participantId: string, updates: object[]): Promise<number> {
  return runInDurableObject(meetingObject(meetingId), async (room, state) => {
    const writes = vi.spyOn(internals(room).store, "updateState");
    try {
      const [ws] = state.getWebSockets(participantId);
      for (const data of updates)
        await room.webSocketMessage(ws!, JSON.stringify({ type: "participant:update", data }));
      internals(room).presence.flush();
      return writes.mock.calls.length;
    } finally {
      writes.mockRestore();
    }
  });
}

/**
 * An update handled by the object, whose pending write then dies with an
 * eviction: afterwards the change lives only in the socket's attachment.
 */
async function updateThenEvict(meetingId: string, participantId: string, data: object) {
  const stub = meetingObject(meetingId);
  await runInDurableObject(stub, async (room, state) => {
    const [ws] = state.getWebSockets(participantId);
    await room.webSocketMessage(ws!, JSON.stringify({ type: "participant:update", data }));
    internals(room).presence.discard();
  });
  await evictDurableObject(stub);
  return stub;
}

describe("an update that changes nothing", () => {
  it("is acknowledged, broadcast to nobody, and writes nothing", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    const reply = await grace.socket.request({ type: "participant:update", data: { audio: true, screen: false } });
    expect(reply.type).toBe("ack");
    expect(await rowWritesFor(m.id, grace.id, [{ audio: true }, { handRaised: false, video: true }])).toBe(0);
    await m.host.socket.expectNo("participant:updated");
    await grace.socket.expectNo("participant:updated", 0);
  });

  it("is a no-op relative to the latest change, not to what storage holds", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    await grace.socket.request({ type: "participant:update", data: { audio: false } });
    await m.host.socket.next("participant:updated");
    expect((await grace.socket.request({ type: "participant:update", data: { audio: false } })).type).toBe("ack");
    await m.host.socket.expectNo("participant:updated");
  });
});

describe("real changes", () => {
  it("are all broadcast, but cost at most one row write however many there are", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    const toggles = Array.from({ length: 21 }, (_, i) => ({ audio: i % 2 === 1 }));
    expect(await rowWritesFor(m.id, grace.id, toggles)).toBeLessThanOrEqual(1);
    const seen = await m.host.socket.all("participant:updated", 21);
    expect(seen.at(-1)!.data.state).toEqual({ ...DEFAULT, audio: false });
    expect(await storedState(m.id, grace.id)).toEqual({ ...DEFAULT, audio: false });
  });

  it("are stored by the time they are acknowledged, so an acknowledged state survives a crash", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    const [graceAck, linusAck] = await Promise.all([
      grace!.socket.request({ type: "participant:update", data: { handRaised: true } }),
      linus!.socket.request({ type: "participant:update", data: { video: false } }),
    ]);
    expect([graceAck.type, linusAck.type]).toEqual(["ack", "ack"]);
    expect(await storedState(m.id, grace!.id)).toEqual({ ...DEFAULT, handRaised: true });
    expect(await storedState(m.id, linus!.id)).toEqual({ ...DEFAULT, video: false });
  });

  it("write nothing when they end where storage already is", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    expect(await rowWritesFor(m.id, grace.id, [{ handRaised: true }, { handRaised: false }])).toBe(0);
    expect(await m.host.socket.all("participant:updated", 2)).toHaveLength(2);
  });

  it("survive an eviction that dropped the pending write: GET and the next update start from the latest state", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    await updateThenEvict(m.id, grace.id, { handRaised: true });
    expect(await storedState(m.id, grace.id)).toEqual(DEFAULT);

    const raised = { ...DEFAULT, handRaised: true };
    const meeting = await getMeeting(m.id, m.hostToken);
    expect(meeting.participants.find((p: any) => p.id === grace.id).state).toEqual(raised);
    await grace.socket.request({ type: "participant:update", data: { video: false } });
    expect((await m.host.socket.nextWhere("participant:updated", () => true)).data.state).toEqual(raised);
    expect((await m.host.socket.next("participant:updated")).data.state).toEqual({ ...raised, video: false });
  });

  it("reach storage by the next alarm at the latest", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    const stub = await updateThenEvict(m.id, grace.id, { screen: true });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await storedState(m.id, grace.id)).toEqual({ ...DEFAULT, screen: true });
  });

  it("reach storage when the socket closes, and a reconnect starts from them", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    const stub = await updateThenEvict(m.id, grace.id, { video: false });
    grace.socket.close();
    await m.host.socket.next("meeting:participant-left");
    await evictDurableObject(stub);
    expect(await storedState(m.id, grace.id)).toEqual({ ...DEFAULT, video: false });
    const again = await connect(m.id, grace.sessionToken);
    expect(again.frames[0]!.data.self.state).toEqual({ ...DEFAULT, video: false });
  });
});
