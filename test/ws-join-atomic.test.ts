/**
 * Connecting is all or nothing: `meeting:joined` is built and sized and the
 * alarm armed before the socket is registered, so a connection that fails
 * replaces nobody, tells nobody and leaves the participant as it was; and a
 * `since=0` join with a long history gets a frame of at most 1 MiB holding
 * the newest messages (the first `seq` jumps, as for any gap too old).
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { utf8Length } from "../src/meeting/frames";
import { JOINED_FRAME_MAX_BYTES } from "../src/meeting/joined-frame";
import { getMeeting } from "./helpers/api";
import { internals } from "./helpers/deliver";
import { connect, liveMeeting, meetingObject, upgrade } from "./helpers/sockets";

/** Stores `count` chat messages of `text` straight into the meeting, as if they had been sent. */
async function storeChat(meetingId: string, participantId: string, count: number, text: string) {
  await runInDurableObject(meetingObject(meetingId), (_room, state) => {
    for (let seq = 1; seq <= count; seq++) {
      state.storage.sql.exec(
        "INSERT INTO chat (seq, id, participant_id, name, text, ts) VALUES (?, ?, ?, ?, ?, ?)",
        seq,
        crypto.randomUUID(),
        participantId,
        "Ada",
        text,
        Date.now(),
      );
    }
  });
}

/** Makes the meeting object's next alarm arming fail, as a storage error would. */
async function failAlarmArming(meetingId: string) {
  await runInDurableObject(meetingObject(meetingId), (room) => {
    internals(room).alarm.schedule = async () => {
      throw new Error("injected storage failure");
    };
  });
}

async function restoreAlarmArming(meetingId: string) {
  await runInDurableObject(meetingObject(meetingId), (room) => {
    delete (internals(room).alarm as unknown as Record<string, unknown>).schedule;
  });
}

describe("a connection that fails before it is registered", () => {
  it("replaces nobody: the participant's live socket stays, and nobody hears of it", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    await failAlarmArming(m.id);
    try {
      const res = await upgrade(m.id, grace.sessionToken);
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(res.webSocket).toBeNull();
    } finally {
      await restoreAlarmArming(m.id);
    }
    await grace.socket.expectNo("session:replaced");
    expect(grace.socket.closeEvent).toBeUndefined();
    await m.host.socket.expectSilence(100);
    expect((await grace.socket.request({ type: "chat:message", data: { text: "still me" } })).type).toBe("ack");
  });

  it("announces nobody: the others see no participant-joined, and the participant stays disconnected", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    grace.socket.close();
    await m.host.socket.next("meeting:participant-left");
    await failAlarmArming(m.id);
    try {
      expect((await upgrade(m.id, grace.sessionToken)).status).toBeGreaterThanOrEqual(500);
    } finally {
      await restoreAlarmArming(m.id);
    }
    await m.host.socket.expectNo("meeting:participant-joined", 200);
    const meeting = await getMeeting(m.id, m.hostToken);
    expect(meeting.participants.find((p: any) => p.id === grace.id).connected).toBe(false);
    // Once storage works again, so does connecting.
    await connect(m.id, grace.sessionToken);
    expect((await m.host.socket.next("meeting:participant-joined")).data.participant.id).toBe(grace.id);
  });
});

describe("a since=0 join with a long history", () => {
  it("gets meeting:joined within 1 MiB, with the newest messages in order", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    grace.socket.close();
    await m.host.socket.next("meeting:participant-left");
    // 599 stored messages (the most a meeting keeps) of 2,000 two-byte characters: about 2.4 MB in all.
    await storeChat(m.id, m.host.id, 599, "é".repeat(2000));
    const socket = await connect(m.id, grace.sessionToken, { since: 0 });
    const raw = socket.texts.find((text) => text.includes('"meeting:joined"'))!;
    expect(utf8Length(raw)).toBeLessThanOrEqual(JOINED_FRAME_MAX_BYTES);
    const seqs = (socket.frames[0]!.data.chat as { seq: number }[]).map((message) => message.seq);
    expect(seqs.at(-1)).toBe(599);
    expect(seqs[0]).toBeGreaterThan(1);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
    // As many as fit: another message (some 4,150 bytes) would not have.
    expect(utf8Length(raw) + 4200).toBeGreaterThan(JOINED_FRAME_MAX_BYTES);
    // The others heard of it only after that frame was built and sent.
    expect((await m.host.socket.next("meeting:participant-joined")).data.participant.id).toBe(grace.id);
  });

  it("still gets every stored message when they fit", async () => {
    const m = await liveMeeting("Grace");
    await storeChat(m.id, m.host.id, 120, "short");
    const socket = await connect(m.id, m.guests[0]!.sessionToken, { since: 0 });
    expect(socket.frames[0]!.data.chat).toHaveLength(120);
  });
});
