/**
 * Batched frames (`meettime.v2`): a client that offers the subprotocol may
 * get a frame holding a JSON array of events; it still gets every event
 * exactly once and in order. A 1.0 client gets one event per frame, always,
 * and each client is answered the subprotocol it can read.
 */
import { evictDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { meetingWith, ORIGIN } from "./helpers/api";
import { meetingObject, TestSocket } from "./helpers/sockets";

/** A test socket that keeps the raw frames and unpacks arrays into their events, in order. */
class RawSocket extends TestSocket {
  readonly raw: string[] = [];

  protected override received(text: string): void {
    this.raw.push(text);
    if (text.startsWith("[")) {
      for (const event of JSON.parse(text)) super.received(JSON.stringify(event));
    } else super.received(text);
  }

  /** The frames that held several events. */
  batches(): unknown[][] {
    return this.raw.filter((text) => text.startsWith("[")).map((text) => JSON.parse(text));
  }
}

/** Upgrades with `Sec-WebSocket-Protocol: <offer>, <token>` and waits for `meeting:joined`. */
async function connectOffering(meetingId: string, token: string, offer: string[]) {
  const response = await SELF.fetch(`${ORIGIN}/api/meetings/${meetingId}/ws`, {
    headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": [...offer, token].join(", ") },
  });
  expect(response.status).toBe(101);
  const socket = new RawSocket(response.webSocket!);
  response.webSocket!.accept();
  await socket.next("meeting:joined");
  return { socket, answered: response.headers.get("sec-websocket-protocol") };
}

/** Sends `count` chat messages at once (no waiting in between), with ids `<label>-<i>`. */
function burst(socket: TestSocket, label: string, count: number) {
  for (let i = 1; i <= count; i++)
    socket.send({ type: "chat:message", id: `${label}-${i}`, data: { text: `${label} ${i}` } });
}

const chatTexts = (socket: TestSocket) =>
  socket.frames.filter((f) => f.type === "chat:new-message").map((f) => f.data.text as string);

async function threeClients() {
  const m = await meetingWith("Grace", "Linus");
  const v2 = await connectOffering(m.id, m.guests[0]!.sessionToken, ["meettime.v2", "meettime"]);
  const v1 = await connectOffering(m.id, m.guests[1]!.sessionToken, ["meettime"]);
  const host = await connectOffering(m.id, m.hostToken, ["meettime.v2", "meettime"]);
  return { m, v2, v1, host };
}

describe("the subprotocol answered", () => {
  it("is meettime.v2 for a client that offers it, meettime for a 1.0 client", async () => {
    const { v2, v1 } = await threeClients();
    expect(v2.answered).toBe("meettime.v2");
    expect(v1.answered).toBe("meettime");
  });

  it("is meettime.v2 also when the token comes in the query", async () => {
    const m = await meetingWith("Grace");
    const response = await SELF.fetch(`${ORIGIN}/api/meetings/${m.id}/ws?token=${m.guests[0]!.sessionToken}`, {
      headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": "meettime.v2" },
    });
    expect(response.status).toBe(101);
    expect(response.headers.get("sec-websocket-protocol")).toBe("meettime.v2");
    response.webSocket!.accept();
    response.webSocket!.close();
  });
});

describe("a meettime.v2 client", () => {
  it("gets its message and the ack for it in one frame", async () => {
    const { v2 } = await threeClients();
    v2.socket.skipReceived();
    const before = v2.socket.raw.length;
    expect((await v2.socket.request({ type: "chat:message", data: { text: "hello" } }, "c1")).type).toBe("ack");
    const frames = v2.socket.raw.slice(before).map((text) => JSON.parse(text));
    expect(frames).toEqual([
      [
        { type: "chat:new-message", data: expect.objectContaining({ text: "hello", seq: 1 }), ts: expect.any(String) },
        { type: "ack", id: "c1" },
      ],
    ]);
  });

  it("gets every event of a burst exactly once and in order, some of them batched", async () => {
    const { v2, v1, host } = await threeClients();
    for (const client of [v2, v1, host]) client.socket.skipReceived();
    burst(v2.socket, "grace", 8);
    burst(host.socket, "ada", 8);
    const expected = 16;
    for (const client of [v2, v1, host]) await client.socket.all("chat:new-message", expected);
    await v2.socket.find((f) => f.type === "ack" && f.id === "grace-8", "last ack");

    const seqsOf = (socket: TestSocket) =>
      socket.frames.filter((f) => f.type === "chat:new-message").map((f) => f.data.seq as number);
    const inOrder = Array.from({ length: expected }, (_, i) => i + 1);
    for (const client of [v2, v1, host]) expect(seqsOf(client.socket)).toEqual(inOrder);
    // Each sender's own messages in the order it sent them; all three saw the same sequence.
    expect(chatTexts(v2.socket).filter((t) => t.startsWith("grace"))).toEqual(
      Array.from({ length: 8 }, (_, i) => `grace ${i + 1}`),
    );
    expect(chatTexts(v1.socket)).toEqual(chatTexts(v2.socket));
    // Acks: one per message, each after its own message.
    const acks = v2.socket.frames.filter((f) => f.type === "ack").map((f) => f.id);
    expect(acks).toEqual(Array.from({ length: 8 }, (_, i) => `grace-${i + 1}`));
    for (const [i, frame] of v2.socket.frames.entries()) {
      if (frame.type !== "ack") continue;
      const own = v2.socket.frames.findIndex(
        (f) => f.type === "chat:new-message" && f.data.text === `grace ${String(frame.id).slice(6)}`,
      );
      expect(own).toBeLessThan(i);
    }
    expect(v2.socket.batches().length).toBeGreaterThan(0);
    for (const batch of [...v2.socket.batches(), ...host.socket.batches()]) expect(batch.length).toBeGreaterThan(1);
  });

  it("gets what waits for it before its socket closes", async () => {
    const { v2, v1 } = await threeClients();
    const from = v2.socket.frames.length;
    v2.socket.send({ type: "chat:message", id: "c1", data: { text: "goodbye" } });
    v2.socket.send({ type: "meeting:leave", id: "l1" });
    const closed = await v2.socket.closed();
    expect(v2.socket.frames.slice(from).map((f) => (f.type === "ack" ? `ack ${f.id}` : f.type))).toEqual([
      "chat:new-message",
      "ack c1",
      "ack l1",
    ]);
    expect(closed.code).toBe(1000);
    expect(chatTexts(v1.socket)).toEqual(["goodbye"]);
  });

  it("still gets batched frames after the meeting object was evicted", async () => {
    const { m, v2, v1 } = await threeClients();
    await evictDurableObject(meetingObject(m.id));
    v2.socket.skipReceived();
    const before = v2.socket.raw.length;
    await v2.socket.request({ type: "chat:message", data: { text: "after" } }, "c2");
    expect(v2.socket.raw.slice(before).map((text) => JSON.parse(text).length)).toEqual([2]);
    await v1.socket.nextWhere("chat:new-message", (f) => f.data.text === "after");
  });
});

describe("a 1.0 client", () => {
  it("gets exactly one event per frame, whatever comes together", async () => {
    const { v1, v2, host } = await threeClients();
    v1.socket.skipReceived();
    burst(v1.socket, "linus", 6);
    burst(v2.socket, "grace", 6);
    burst(host.socket, "ada", 6);
    await v1.socket.all("chat:new-message", 18);
    await v1.socket.find((f) => f.type === "ack" && f.id === "linus-6", "last ack");
    expect(v1.socket.batches()).toEqual([]);
    for (const text of v1.socket.raw) expect(text.startsWith("{") || text === "pong").toBe(true);
    expect(v1.socket.frames.filter((f) => f.type === "chat:new-message").map((f) => f.data.seq)).toEqual(
      Array.from({ length: 18 }, (_, i) => i + 1),
    );
  });
});
