/**
 * Server frames that do not fit the contract: the SDK drops them and reports
 * each on the connection's `error` event (`MALFORMED_FRAME`), never throws
 * out of `onmessage`, and goes on with the next frame. Its light checks
 * (src/client/event-shapes.ts) agree with the server's zod schemas on every
 * field of every event: a wrong type or a missing field is refused by both.
 */
import { describe, expect, it } from "vitest";
import type { MeetTimeError } from "../../src/client";
import { SERVER_EVENT_CHECKS } from "../../src/client/event-shapes";
import { ServerEvent } from "../../src/protocol/schemas";
import { chatMessage, fakeClient, joinedEvent, meeting, openAndJoin, participant } from "./helpers/sdk-fakes";

function connected() {
  const { sockets, connect } = fakeClient();
  const conn = connect();
  const errors: MeetTimeError[] = [];
  conn.on("error", (error) => errors.push(error));
  return { conn, errors, socket: () => sockets.at(-1)! };
}

describe("malformed server frames", () => {
  it("drops a meeting:joined without its data and reports it, then joins on a good one", () => {
    const { conn, errors, socket } = connected();
    socket().open();
    expect(() => socket().receive({ type: "meeting:joined", data: {} })).not.toThrow();
    expect(errors).toMatchObject([
      { code: "MALFORMED_FRAME", details: { type: "meeting:joined", where: "data.self" } },
    ]);
    expect(conn.state).toBe("connecting");
    expect(conn.meeting).toBeUndefined();

    socket().receive(joinedEvent());
    expect(conn.state).toBe("open");
    conn.close();
  });

  it("drops a chat message with a field of the wrong type, and delivers the next one", () => {
    const { conn, errors, socket } = connected();
    openAndJoin(socket());
    const delivered: number[] = [];
    conn.on("chat:new-message", (message) => delivered.push(message.seq));

    expect(() => socket().receive({ type: "chat:new-message", data: { ...chatMessage(1), seq: "1" } })).not.toThrow();
    socket().receive({ type: "chat:new-message", data: chatMessage(2) });

    expect(delivered).toEqual([2]);
    expect(conn.chat.map((message) => message.seq)).toEqual([2]);
    expect(errors.map((error) => error.details)).toEqual([{ type: "chat:new-message", where: "data.seq" }]);
    conn.close();
  });

  it("reports frames that are not JSON or have no type, and ignores a newer server's unknown events", () => {
    const { conn, errors, socket } = connected();
    openAndJoin(socket());
    for (const frame of ["{not json", "[]", "null", '{"data":{}}', "pong", '{"type":"future:event","data":{}}']) {
      expect(() => socket().receive(frame)).not.toThrow();
    }
    expect(errors.map((error) => error.details?.where)).toEqual(["not JSON", "type", "type", "type"]);
    expect(conn.state).toBe("open");
    conn.close();
  });
});

/** One valid event of each type (checked against the zod schema below). */
const SAMPLES = [
  {
    type: "meeting:joined",
    data: {
      ...joinedEvent([chatMessage(1)]).data,
      media: { mode: "sfu", tracks: { bob: [{ trackName: "cam", kind: "video", screen: true }] } },
    },
  },
  { type: "meeting:participant-joined", data: { participant: participant("bob") } },
  { type: "meeting:participant-left", data: { participantId: "bob", reason: "kicked" } },
  { type: "meeting:datetime:changed", data: { meeting: meeting(), updatedBy: "ada" } },
  { type: "chat:new-message", data: chatMessage(7) },
  { type: "participant:updated", data: { participantId: "bob", state: participant("bob").state } },
  { type: "meeting:kicked", data: { reason: "removed by the host" } },
  { type: "meeting:terminated", data: {} },
  { type: "session:replaced", data: {} },
  { type: "webrtc:offer", data: { from: "bob", sdp: "v=0" } },
  { type: "webrtc:answer", data: { from: "bob", sdp: "v=0" } },
  {
    type: "webrtc:ice-candidate",
    data: {
      from: "bob",
      candidate: { candidate: "candidate:1", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: null },
    },
  },
  {
    type: "media:tracks",
    data: { participantId: "bob", tracks: [{ trackName: "screen", kind: "video", screen: true }] },
  },
] as const;

/** Every field of `value` (depth first) with a value of another type in its place, or without it. */
function* mutations(value: unknown, path: (string | number)[] = []): Generator<{ path: string; value: unknown }> {
  const put = (replacement: unknown) => ({ path: path.join("."), value: replacement });
  if (Array.isArray(value)) {
    yield put({});
    for (const [i, item] of value.entries())
      for (const m of mutations(item, [...path, i]))
        yield { ...m, value: value.map((v, j) => (j === i ? m.value : v)) };
    return;
  }
  if (typeof value === "object" && value !== null) {
    yield put("an object was here");
    for (const [key, field] of Object.entries(value)) {
      const { [key]: _removed, ...without } = value as Record<string, unknown>;
      yield { path: [...path, key].join("."), value: without };
      for (const m of mutations(field, [...path, key])) yield { ...m, value: { ...value, [key]: m.value } };
    }
    return;
  }
  yield put(typeof value === "string" ? 42 : typeof value === "number" ? "42" : typeof value === "boolean" ? 1 : true);
  if (typeof value === "string") yield put("a value outside any enum");
}

describe("the light checks and the zod schemas", () => {
  it("has a sample of every server event type", () => {
    expect(SAMPLES.map((s) => s.type).sort()).toEqual(Object.keys(SERVER_EVENT_CHECKS).sort());
  });

  it.each(SAMPLES.map((sample) => [sample.type, sample] as const))(
    "agree on %s and every mutation of it",
    (_, sample) => {
      expect(ServerEvent.safeParse(sample).success).toBe(true);
      const check = SERVER_EVENT_CHECKS[sample.type];
      expect(check(sample.data)).toBeUndefined();
      let refused = 0;
      for (const mutation of mutations(sample.data)) {
        const zodAccepts = ServerEvent.safeParse({ type: sample.type, data: mutation.value }).success;
        const lightAccepts = check(mutation.value) === undefined;
        expect({ field: mutation.path, accepted: lightAccepts }).toEqual({
          field: mutation.path,
          accepted: zodAccepts,
        });
        if (!zodAccepts) refused++;
      }
      if (Object.keys(sample.data).length > 0) expect(refused).toBeGreaterThan(0);
    },
  );
});
