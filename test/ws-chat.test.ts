/**
 * Chat: one ordered stream per meeting with `seq`, delivered to everyone
 * (sender included), kept as history for late joiners and replayed with
 * `since` after a drop; the oldest messages beyond the last 500 are trimmed.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { join } from "./helpers/api";
import { connect, type Frame, liveMeeting, meetingObject, type TestSocket } from "./helpers/sockets";

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Sends `count` chat messages from `socket`, numbered from `from`, and waits for their acks. */
async function chat(socket: TestSocket, count: number, label: string, from = 1) {
  const replies = [];
  for (let i = from; i < from + count; i++) {
    replies.push(socket.request({ type: "chat:message", data: { text: `${label} ${i}` } }));
  }
  for (const reply of await Promise.all(replies)) expect(reply.type, JSON.stringify(reply)).toBe("ack");
}

const texts = (messages: { text: string }[]) => messages.map((m) => m.text);
const seqs = (messages: { seq: number }[]) => messages.map((m) => m.seq);

describe("chat messages", () => {
  it("reach everyone, the sender included, with id, seq, participantId, name, text and ts", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    grace!.socket.send({ type: "chat:message", data: { text: "hello all" }, id: "c1" });

    const received: Frame[] = [];
    for (const socket of [m.host.socket, grace!.socket, linus!.socket]) {
      received.push(await socket.next("chat:new-message"));
    }
    const message = received[0]!;
    expect(Object.keys(message.data).sort()).toEqual(["id", "name", "participantId", "seq", "text", "ts"]);
    expect(message.data).toMatchObject({ seq: 1, participantId: grace!.id, name: "Grace", text: "hello all" });
    expect(typeof message.data.id).toBe("string");
    expect(message.data.ts).toMatch(ISO_UTC);
    expect(message.ts).toMatch(ISO_UTC);
    for (const other of received) expect(other.data).toEqual(message.data);
    expect(await grace!.socket.reply("c1")).toEqual({ type: "ack", id: "c1" });
  });

  it("numbers messages 1, 2, 3… and every participant sees the same order", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const sockets = [m.host.socket, ...m.guests.map((g) => g.socket)];
    await Promise.all([chat(sockets[0]!, 5, "host"), chat(sockets[1]!, 5, "grace"), chat(sockets[2]!, 5, "linus")]);

    const streams = await Promise.all(sockets.map((s) => s.all("chat:new-message", 15)));
    const first = streams[0]!.map((f) => f.data);
    expect(seqs(first)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    for (const stream of streams) expect(stream.map((f) => f.data)).toEqual(first);
    // Each sender's own messages keep the order it sent them in.
    expect(texts(first).filter((t) => t.startsWith("grace"))).toEqual([1, 2, 3, 4, 5].map((i) => `grace ${i}`));
  });

  it("acks a message that carried an id, and sends nothing back for one that did not", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!.socket;
    grace.send({ type: "chat:message", data: { text: "no id" } });
    await grace.next("chat:new-message");
    expect(await grace.request({ type: "chat:message", data: { text: "with id" } }, 42)).toEqual({
      type: "ack",
      id: 42,
    });
    expect(grace.count("ack")).toBe(1);
  });

  it("refuses empty, blank or over-long text without using up a seq", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!.socket;
    for (const text of ["", "   \n ", "x".repeat(2001)]) {
      const reply = await grace.request({ type: "chat:message", data: { text } });
      expect(reply.error?.code).toBe("VALIDATION_FAILED");
    }
    await chat(grace, 1, "fine");
    expect((await m.host.socket.next("chat:new-message")).data).toMatchObject({ seq: 1, text: "fine 1" });
    expect((await grace.request({ type: "chat:message", data: { text: "x".repeat(2000) } })).type).toBe("ack");
  });
});

describe("history", () => {
  it("gives a late joiner the last 50 messages, oldest first", async () => {
    const m = await liveMeeting("Grace", "Linus", "Mary", "Alan", "Barbara");
    // Within every sender's burst allowance: 6 senders, 55 messages.
    const senders = [m.host.socket, ...m.guests.map((g) => g.socket)];
    for (const [index, socket] of senders.entries()) await chat(socket, index === 5 ? 5 : 10, `s${index}`);

    const late = await connect(m.id, (await join(m.id, m.hostToken, "Late")).sessionToken);
    const history = late.frames[0]!.data.chat;
    expect(seqs(history)).toEqual(Array.from({ length: 50 }, (_, i) => i + 6));
    expect(history[0]).toMatchObject({ seq: 6, text: "s0 6", name: "Ada", participantId: m.host.id });
    expect(history.at(-1)).toMatchObject({ seq: 55, text: "s5 5" });
  });

  it("replays every message after `since`, and nothing when the client is up to date", async () => {
    const m = await liveMeeting("Grace");
    await chat(m.host.socket, 8, "m");
    const grace = m.guests[0]!;

    const after3 = await connect(m.id, grace.sessionToken, { since: 3 });
    expect(seqs(after3.frames[0]!.data.chat)).toEqual([4, 5, 6, 7, 8]);
    const upToDate = await connect(m.id, grace.sessionToken, { since: 8 });
    expect(upToDate.frames[0]!.data.chat).toEqual([]);
    const ahead = await connect(m.id, grace.sessionToken, { since: 1000 });
    expect(ahead.frames[0]!.data.chat).toEqual([]);
    const everything = await connect(m.id, grace.sessionToken, { since: 0 });
    expect(seqs(everything.frames[0]!.data.chat)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("lets a client that dropped catch up on exactly what it missed", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    await chat(linus!.socket, 2, "before");
    const seen = await grace!.socket.all("chat:new-message", 2);
    const lastSeen = seen.at(-1)!.data.seq as number;

    grace!.socket.close();
    await m.host.socket.next("meeting:participant-left");
    await chat(linus!.socket, 3, "missed", 3);

    const back = await connect(m.id, grace!.sessionToken, { since: lastSeen });
    expect(texts(back.frames[0]!.data.chat)).toEqual(["missed 3", "missed 4", "missed 5"]);
    await chat(linus!.socket, 1, "after", 6);
    expect((await back.next("chat:new-message")).data).toMatchObject({ seq: 6, text: "after 6" });
  });

  it("keeps at least the last 500 messages; a client whose gap is older sees the first seq jump", async () => {
    const m = await liveMeeting("Grace");
    const stub = meetingObject(m.id);
    // A long meeting's history: 599 messages already stored (sending them would take minutes at 5 a second).
    await runInDurableObject(stub, (_room, state) => {
      for (let seq = 1; seq <= 599; seq++) {
        state.storage.sql.exec(
          "INSERT INTO chat (seq, id, participant_id, name, text, ts) VALUES (?, ?, ?, ?, ?, ?)",
          seq,
          crypto.randomUUID(),
          m.host.id,
          "Ada",
          `old ${seq}`,
          Date.now(),
        );
      }
    });
    await evictDurableObject(stub);

    await chat(m.guests[0]!.socket, 1, "new", 600);
    expect((await m.host.socket.next("chat:new-message")).data).toMatchObject({ seq: 600, text: "new 600" });

    const replay = (await connect(m.id, m.hostToken, { since: 0 })).frames[0]!.data.chat;
    expect(replay.length).toBeGreaterThanOrEqual(500);
    expect(replay.length).toBeLessThan(600);
    expect(replay.at(-1)).toMatchObject({ seq: 600, text: "new 600" });
    expect(seqs(replay)).toEqual(Array.from({ length: replay.length }, (_, i) => 601 - replay.length + i));

    const stored = await runInDurableObject(stub, (_room, state) =>
      state.storage.sql.exec("SELECT COUNT(*) AS n, MIN(seq) AS first FROM chat").one(),
    );
    expect(stored.n).toBe(replay.length);
  });
});
