/**
 * Property-based tests of WebSocket frames: whatever a participant sends
 * (arbitrary JSON, wrong types, unknown types, odd Unicode, deep nesting,
 * duplicate keys, binary, oversized), the meeting answers with an ack, an
 * event or the contract's error frame, the socket stays open, nothing is
 * stored for a refused frame, and the meeting keeps working afterwards.
 *
 * Each hostile frame is followed by a sentinel frame with an id; the meeting
 * handles a socket's frames in order, so once the sentinel's error arrives,
 * everything the hostile frame caused has arrived too.
 */
import { evictDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMeeting, inMinutes, join } from "./helpers/api";
import { connectDirect as connect, dispatch } from "./helpers/dispatch";
import {
  deepNesting,
  describeInput,
  expectErrorBody,
  FUZZ_RUNS,
  FUZZ_TIMEOUT_MS,
  hostileJson,
  hostileString,
  mutatedObject,
  unicodeText,
} from "./helpers/hostile";
import { expectUnchanged, snapshotMeeting } from "./helpers/snapshot";
import { type Frame, meetingObject, type TestSocket } from "./helpers/sockets";

const FRAME_LIMIT = 64 * 1024;

/** Generous waits: the answers come quickly, but the machine running the suite may be busy. */
const ANSWER_MS = 15_000;

/** Resolves once a frame with `id` arrived or the socket closed. */
function answeredOrClosed(socket: TestSocket, id: string, why: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => socket.closeEvent !== undefined || socket.frames.some((f) => f.id === id);
    // TestSocket's own listeners were added first, so a frame is recorded before this runs.
    const check = () => {
      if (!done()) return;
      stop();
      resolve();
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no answer to ${id} within ${ANSWER_MS} ms after ${why}`));
    }, ANSWER_MS);
    const stop = () => {
      clearTimeout(timer);
      socket.ws.removeEventListener("message", check);
      socket.ws.removeEventListener("close", check);
    };
    socket.ws.addEventListener("message", check);
    socket.ws.addEventListener("close", check);
    check();
  });
}

async function request(socket: TestSocket, frame: { type: string; data?: unknown }): Promise<Frame> {
  const id = crypto.randomUUID();
  socket.send({ ...frame, id });
  return socket.reply(id, ANSWER_MS);
}

/** A valid `data` for every client frame type; `$HOST` and `$SELF` are filled in at run time. */
const VALID_DATA: Record<string, Record<string, unknown>> = {
  "chat:message": { text: "hello" },
  "webrtc:offer": { to: "$HOST", sdp: "v=0" },
  "webrtc:answer": { to: "$HOST", sdp: "v=0" },
  "webrtc:ice-candidate": {
    to: "$HOST",
    candidate: { candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host", sdpMid: "0", sdpMLineIndex: 0 },
  },
  "participant:update": { audio: false, handRaised: true },
  "meeting:datetime:update": { durationMinutes: 30, expectedVersion: 1 },
  "host:kick-participant": { participantId: "$SELF", reason: "spam" },
  "meeting:leave": {},
};
const FRAME_TYPES = Object.keys(VALID_DATA);

const frameId = fc.option(
  fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.constantFrom("x".repeat(129), -0, 1e308), hostileJson),
  { nil: undefined },
);

/** A frame shaped like the protocol but with a known or odd type, mutated data and any id. */
const structuredFrame = fc
  .tuple(
    fc.oneof(fc.constantFrom(...FRAME_TYPES), hostileString, fc.constantFrom("ack", "error", "ping", "__proto__")),
    fc.oneof(fc.constant("mutate"), fc.constant("any"), fc.constant("omit")),
    frameId,
  )
  .chain(([type, how, id]) => {
    const base = VALID_DATA[type] ?? { text: "hello" };
    const data =
      how === "omit"
        ? fc.constant(undefined)
        : how === "any"
          ? hostileJson
          : mutatedObject(base, ["to", "sdp", "candidate", "text", "audio"]);
    return data.map((d) => JSON.stringify(d === undefined ? { type, id } : { type, data: d, id }));
  });

/** Valid frames in between, so accepted frames (and a leave's closed socket) are exercised as well. */
const validFrame = fc
  .tuple(fc.constantFrom(...FRAME_TYPES), fc.option(fc.string({ maxLength: 10 }), { nil: undefined }))
  .map(([type, id]) => JSON.stringify({ type, data: VALID_DATA[type], id }));

/** What a client may put on the wire. */
const hostileFrame: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: structuredFrame },
  { weight: 2, arbitrary: validFrame },
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: hostileJson.map((value) => JSON.stringify(value) ?? "null") },
  { weight: 1, arbitrary: deepNesting.map((deep) => `{"type":"chat:message","data":{"text":${deep}},"id":"deep"}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"type":"chat:message","type":"meeting:leave","data":{"text":"dup"}}',
      '{"type":"meeting:leave","data":{},"data":{"x":1}}',
      '{"type":"chat:message","data":{"text":"a","text":""}}',
      "ping",
      "PING",
      "",
      "{}",
      "[]",
      `{"type":"chat:message","data":{"text":"${"x".repeat(FRAME_LIMIT)}"}}`,
      `{"type":"chat:message","data":{"text":"${"€".repeat(FRAME_LIMIT / 3)}"}}`,
    ),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      new Uint8Array(FRAME_LIMIT + 1),
      new TextEncoder().encode('{"type":"chat:message","data":{"text":"binary"}}'),
    ),
  },
);

function fill(frame: string | Uint8Array, values: Record<string, string>): string | Uint8Array {
  if (typeof frame !== "string") return frame;
  let text = frame;
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`"$${name}"`, JSON.stringify(value));
  return text;
}

/** Every frame a server may send: an ack, an error in the contract's shape, or an event with data and ts. */
function expectServerFrame(frame: Frame, why: string): void {
  expect(frame.type, why).toBeTypeOf("string");
  if (frame.type === "ack") {
    expect(Object.keys(frame).sort(), why).toEqual(["id", "type"]);
  } else if (frame.type === "error") {
    expect(
      Object.keys(frame).filter((key) => !["type", "id", "error"].includes(key)),
      why,
    ).toEqual([]);
    expectErrorBody(frame.error, why);
  } else {
    expect(frame.data, why).toBeTypeOf("object");
    expect(Number.isNaN(Date.parse(frame.ts ?? "")), why).toBe(false);
  }
}

interface Room {
  meetingId: string;
  hostToken: string;
  hostId: string;
  /** Watches everything the fuzzing participant causes. */
  observer: TestSocket;
}

describe("WebSocket frames under hostile input", () => {
  let room: Room;
  const open: TestSocket[] = [];

  beforeEach(async () => {
    const created = await createMeeting({ scheduledAt: inMinutes(60) });
    const meetingId = created.meeting.id;
    const observer = await connect(meetingId, created.hostToken);
    open.push(observer);
    room = { meetingId, hostToken: created.hostToken, hostId: created.participant.id, observer };
  });

  afterEach(() => {
    for (const socket of open.splice(0)) socket.close();
  });

  /**
   * Sends hostile frames from one participant's socket and checks every
   * consequence. `reconnect` gives a fresh socket when a frame was a valid
   * `meeting:leave`, the one frame after which a closed socket is right.
   */
  async function fuzzFrom(start: () => Promise<{ socket: TestSocket; selfId: string }>) {
    let { socket, selfId } = await start();
    open.push(socket);
    let sentinel = 0;
    await fc.assert(
      fc.asyncProperty(hostileFrame, fc.nat(19), async (generated, dice) => {
        const frame = fill(generated, { HOST: room.hostId, SELF: selfId });
        const hibernated = dice === 0;
        const why = `frame ${describeInput(frame)}${hibernated ? " to a hibernated meeting" : ""}`;
        const before = await snapshotMeeting(room.meetingId);
        // Now and then the frame has to wake the meeting: its state comes back from storage and attachments.
        if (hibernated) await evictDurableObject(meetingObject(room.meetingId));
        const from = socket.frames.length;
        const sentinelId = `sentinel-${++sentinel}`;
        socket.ws.send(frame);
        socket.send({ type: "fuzz:sentinel", id: sentinelId });
        await answeredOrClosed(socket, sentinelId, why);
        const caused = socket.frames.slice(from).filter((f) => f.id !== sentinelId);
        for (const f of caused) expectServerFrame(f, why);
        const refused = caused.some((f) => f.type === "error");
        if (refused) await expectUnchanged(room.meetingId, before, why);
        if (socket.closeEvent) {
          // Only an accepted leave closes the socket, with 1000.
          expect(refused, why).toBe(false);
          expect(socket.closeEvent.code, why).toBe(1000);
          ({ socket, selfId } = await start());
          open.push(socket);
        }
        expect(room.observer.closeEvent, `observer closed after ${why}`).toBeUndefined();
      }),
      { numRuns: FUZZ_RUNS },
    );
    for (const f of room.observer.frames) expectServerFrame(f, "observer");
    // The object is alive and still serves: a chat round trip and a read.
    const reply = await request(socket, { type: "chat:message", data: { text: "still here" } });
    expect(reply.type === "ack" || reply.error?.code === "RATE_LIMITED", JSON.stringify(reply)).toBe(true);
    const read = await dispatch(`/api/meetings/${room.meetingId}`, {
      headers: { authorization: `Bearer ${room.hostToken}` },
    });
    expect(read.status).toBe(200);
  }

  it(
    "a participant's hostile frames get an ack, events or a contract error, and refused ones store nothing",
    async () => {
      await fuzzFrom(async () => {
        const guest = await join(room.meetingId, room.hostToken, "Mallory");
        return { socket: await connect(room.meetingId, guest.sessionToken), selfId: guest.participant.id };
      });
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "the host's hostile frames get an ack, events or a contract error, and refused ones store nothing",
    async () => {
      // The host fuzzes from a second socket of its own identity would replace the observer; use a guest observer.
      const guest = await join(room.meetingId, room.hostToken, "Watcher");
      room.observer.close();
      room.observer = await connect(room.meetingId, guest.sessionToken);
      open.push(room.observer);
      await fuzzFrom(async () => ({ socket: await connect(room.meetingId, room.hostToken), selfId: room.hostId }));
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "chat text of any Unicode is delivered live exactly as it is replayed later",
    async () => {
      const guest = await join(room.meetingId, room.hostToken, "Grace");
      const sender = await connect(room.meetingId, guest.sessionToken);
      open.push(sender);
      await fc.assert(
        fc.asyncProperty(unicodeText, async (text) => {
          let reply = await request(sender, { type: "chat:message", data: { text } });
          while (reply.error?.code === "RATE_LIMITED") {
            // Chat refills 5 a second; wait for the next token rather than fail.
            await new Promise((resolve) => setTimeout(resolve, 250));
            reply = await request(sender, { type: "chat:message", data: { text } });
          }
          expect(["ack", "error"], JSON.stringify(reply)).toContain(reply.type);
          if (reply.type === "error") {
            expectErrorBody(reply.error, `chat ${JSON.stringify(text)}`);
            expect(reply.error?.code).toBe("VALIDATION_FAILED");
          }
        }),
        { numRuns: 40 },
      );
      const live = room.observer.frames.filter((f) => f.type === "chat:new-message").map((f) => f.data);
      const replaying = await connect(room.meetingId, room.hostToken, 0);
      open.push(replaying);
      const joined = replaying.frames.find((f) => f.type === "meeting:joined")!;
      expect(joined.data.chat).toEqual(live);
    },
    FUZZ_TIMEOUT_MS,
  );
});
