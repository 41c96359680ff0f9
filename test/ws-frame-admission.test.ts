/**
 * Frames are looked at before they are parsed (contract 1.1): a frame over
 * 64 KiB is refused from its length, without being UTF-8 encoded or parsed,
 * and a frame over its sender's bucket is refused without being parsed,
 * its `id` found by a cheap scan so the refusal still answers it. The
 * bucket is picked unparsed (the literal "chat:message" means chat); a chat
 * frame that hides its type pays its chat token once parsed.
 */
import { describe, expect, it, vi } from "vitest";
import { admitFrame, frameBytesOver, peekFrameId, utf8Length } from "../src/meeting/frames";
import { deliverAtOnce } from "./helpers/deliver";
import { type Frame, liveMeeting } from "./helpers/sockets";

const candidate = (to: string, i: number) => ({
  type: "webrtc:ice-candidate",
  data: { to, candidate: { candidate: `candidate:${i} 1 udp 2122260223 10.0.0.1 ${40000 + i} typ host` } },
});

/** Spies on JSON.parse and TextEncoder.encode while the object handles frames; counts calls on `watched` texts. */
function parsingProbe(watched: string[]) {
  return () => {
    const parse = vi.spyOn(JSON, "parse");
    const encode = vi.spyOn(TextEncoder.prototype, "encode");
    return {
      result: () => ({
        parsed: parse.mock.calls.filter(([text]) => watched.includes(text as string)).length,
        encoded: encode.mock.calls.filter(([text]) => watched.includes(text as string)).length,
      }),
      restore: () => {
        parse.mockRestore();
        encode.mockRestore();
      },
    };
  };
}

const code = (reply: Frame) => (reply.type === "ack" ? "ack" : reply.error?.code);

describe("a frame over 64 KiB", () => {
  it("is refused from its length: never encoded nor parsed, and the socket stays open", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    const huge = JSON.stringify({
      type: "webrtc:offer",
      id: "huge",
      data: { to: m.host.id, sdp: "é".repeat(1 << 20) },
    });
    const { result } = await deliverAtOnce(m.id, [{ participantId: grace.id, message: huge }], parsingProbe([huge]));
    expect(result).toEqual({ parsed: 0, encoded: 0 });
    expect((await grace.socket.next("error")).error?.code).toBe("PAYLOAD_TOO_LARGE");
    await m.host.socket.expectNo("webrtc:offer");
    expect(grace.socket.closeEvent).toBeUndefined();
  });
});

describe("a frame over its sender's bucket", () => {
  it("is refused with RATE_LIMITED and its id, without being parsed", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    const fill = Array.from({ length: 200 }, (_, i) => ({ participantId: grace.id, message: candidate(m.host.id, i) }));
    const over = [
      JSON.stringify({ ...candidate(m.host.id, 500), id: "over-1" }),
      JSON.stringify({ id: 7, ...candidate(m.host.id, 501) }),
      JSON.stringify({ type: "participant:update", data: { audio: false }, id: "over-3" }),
    ];
    const deliveries = [...fill, ...over.map((message) => ({ participantId: grace.id, message }))];
    const { result, elapsedMs } = await deliverAtOnce(m.id, deliveries, parsingProbe(over));
    // Only frames the refill (50 a second) let through were parsed.
    expect(result!.parsed).toBeLessThanOrEqual(Math.floor((elapsedMs / 1000) * 50));
    const replies = [
      await grace.socket.reply("over-1"),
      await grace.socket.reply(7),
      await grace.socket.reply("over-3"),
    ];
    for (const reply of replies) expect(["ack", "RATE_LIMITED"]).toContain(code(reply));
    expect(replies.filter((reply) => reply.error?.code === "RATE_LIMITED")).toHaveLength(3 - result!.parsed);
  });

  it("is charged to chat unparsed when it says chat:message, so a chat flood is never parsed", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    const chats = Array.from({ length: 15 }, (_, i) =>
      JSON.stringify({ type: "chat:message", id: `c-${i}`, data: { text: `hello ${i}` } }),
    );
    const { result, elapsedMs } = await deliverAtOnce(
      m.id,
      chats.map((message) => ({ participantId: grace.id, message })),
      parsingProbe(chats),
    );
    expect(result!.parsed).toBeGreaterThanOrEqual(10);
    expect(result!.parsed).toBeLessThanOrEqual(10 + Math.floor((elapsedMs / 1000) * 5));
    const replies = await Promise.all(chats.map((_, i) => grace.socket.reply(`c-${i}`)));
    expect(replies.filter((reply) => reply.type === "ack")).toHaveLength(result!.parsed);
    // The realtime bucket was not touched by them.
    expect((await grace.socket.request(candidate(m.host.id, 1))).type).toBe("ack");
  });

  it("pays the chat bucket even when a chat frame hides its type from the unparsed look", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    const hidden = Array.from(
      { length: 15 },
      (_, i) => `{"type":"chat\\u003amessage","id":"h-${i}","data":{"text":"sneaky ${i}"}}`,
    );
    const { elapsedMs } = await deliverAtOnce(
      m.id,
      hidden.map((message) => ({ participantId: grace.id, message })),
    );
    const replies = await Promise.all(hidden.map((_, i) => grace.socket.reply(`h-${i}`)));
    const acked = replies.filter((reply) => reply.type === "ack").length;
    expect(acked).toBeGreaterThanOrEqual(10);
    expect(acked).toBeLessThanOrEqual(10 + Math.floor((elapsedMs / 1000) * 5));
    expect(replies.filter((reply) => reply.error?.code === "RATE_LIMITED")).toHaveLength(15 - acked);
    expect(m.host.socket.count("chat:new-message")).toBeLessThanOrEqual(acked);
  });
});

describe("looking at a frame unparsed", () => {
  it("measures UTF-8 exactly without encoding, also for astral characters and lone surrogates", () => {
    const encoder = new TextEncoder();
    for (const text of ["", "ascii", "é", "€uro", "👩‍💻", "a\ud800b", "\udc00", "x\ud83d", "ü".repeat(40_000)]) {
      expect(utf8Length(text), JSON.stringify(text.slice(0, 10))).toBe(encoder.encode(text).byteLength);
    }
  });

  it("decides over or under 64 KiB from the length alone when the length settles it", () => {
    const limit = 64 * 1024;
    expect(frameBytesOver("x".repeat(limit), limit)).toBe(false);
    expect(frameBytesOver("x".repeat(limit + 1), limit)).toBe(true);
    expect(frameBytesOver("é".repeat(limit / 2), limit)).toBe(false);
    expect(frameBytesOver("é".repeat(limit / 2 + 1), limit)).toBe(true);
    expect(frameBytesOver(new ArrayBuffer(limit + 1), limit)).toBe(true);
  });

  it("charges chat only to frames that name chat:message, realtime to everything else", () => {
    expect(admitFrame('{"type":"chat:message","data":{"text":"hi"}}')).toEqual({ bucket: "chat", tooLarge: false });
    expect(admitFrame('{"type":"webrtc:offer","data":{}}')).toEqual({ bucket: "realtime", tooLarge: false });
    expect(admitFrame("not json")).toEqual({ bucket: "realtime", tooLarge: false });
    expect(admitFrame(new ArrayBuffer(3))).toEqual({ bucket: "realtime", tooLarge: false });
    expect(admitFrame("x".repeat(70_000))).toEqual({ bucket: "realtime", tooLarge: true });
  });

  it("finds a frame's id wherever the client put it, and not inside strings", () => {
    expect(peekFrameId('{"type":"a","id":"x1","data":{}}')).toBe("x1");
    expect(peekFrameId('{"id": 42, "type":"a"}')).toBe(42);
    expect(peekFrameId('{ "type":"a", "data":{}, "id" : -1.5e3 }')).toBe(-1500);
    expect(peekFrameId('{"type":"a","data":{"sdp":"{\\"id\\":\\"fake\\"}"}}')).toBeUndefined();
    expect(peekFrameId('{"type":"a","data":{}}')).toBeUndefined();
    expect(peekFrameId(`{"id":"${"y".repeat(129)}"}`)).toBeUndefined();
    expect(peekFrameId(new ArrayBuffer(8))).toBeUndefined();
  });
});
