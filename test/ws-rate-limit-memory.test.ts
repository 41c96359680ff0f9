/**
 * Frame buckets live per participant, in the object's memory: they are kept
 * across a disconnect (a reconnect must not refill them) and dropped when
 * the participant is removed, so memory follows the listed participants,
 * not every participant who ever came and went.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, join } from "./helpers/api";
import { internals } from "./helpers/deliver";
import { connect, liveMeeting, meetingObject } from "./helpers/sockets";

const trackedParticipants = (meetingId: string) =>
  runInDurableObject(meetingObject(meetingId), (room) => internals(room).frameLimits.trackedParticipants);

describe("frame buckets", () => {
  it("are dropped when a participant leaves or is kicked, so a busy meeting's memory does not grow", async () => {
    const m = await liveMeeting();
    await m.host.socket.request({ type: "chat:message", data: { text: "welcome" } });
    for (let round = 0; round < 4; round++) {
      const guest = await join(m.id, m.hostToken, `Guest ${round}`);
      const socket = await connect(m.id, guest.sessionToken);
      await socket.request({ type: "participant:update", data: { handRaised: true } });
      expect(await trackedParticipants(m.id)).toBe(2);
      if (round % 2) {
        await socket.request({ type: "meeting:leave", data: {} });
      } else {
        const res = await api("POST", `/api/meetings/${m.id}/kick`, {
          token: m.hostToken,
          body: { participantId: guest.participant.id },
        });
        expect(res.status).toBe(200);
      }
      await socket.closed();
      expect(await trackedParticipants(m.id)).toBe(1);
    }
  });

  it("are kept across a disconnect: the reconnected participant finds its bucket as it left it", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    const chats = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ type: "chat:message", data: { text: `${i}` } }));
    await grace.socket.burst(chats(12));
    const emptiedAt = Date.now();
    expect(await trackedParticipants(m.id)).toBe(1);
    grace.socket.close();
    await m.host.socket.next("meeting:participant-left");
    expect(await trackedParticipants(m.id)).toBe(1);
    const again = await connect(m.id, grace.sessionToken);
    const acked = (await again.burst(chats(10))).filter((reply) => reply.type === "ack").length;
    // A fresh bucket would take all 10; this one only what refilled (5 a second) since it was emptied.
    expect(acked).toBeLessThanOrEqual(Math.min(9, Math.floor(((Date.now() - emptiedAt) / 1000) * 5) + 1));
  });

  it("stay for the host, who remains listed when it leaves", async () => {
    const m = await liveMeeting("Grace");
    await m.host.socket.request({ type: "chat:message", data: { text: "brb" } });
    await m.host.socket.request({ type: "meeting:leave", data: {} });
    await m.host.socket.closed();
    // Not removed, so not forgotten: leaving and coming back must not refill the host's bucket either.
    expect(await trackedParticipants(m.id)).toBe(1);
  });
});
