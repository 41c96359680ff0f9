/**
 * The SDK's live views (src/client/meeting-views.ts), which every app screen
 * reads: each chat message once and in order across a reconnect's replay,
 * who keeps a seat when someone leaves, and who publishes which tracks
 * through the SFU (what `SfuCall` pulls).
 */
import { describe, expect, it } from "vitest";
import { MeetingViews } from "../../src/client/meeting-views";
import type { ChatMessageData, MeetingData, ParticipantData, ServerEventData } from "../../src/client/types";

const STATE = { audio: true, video: true, screen: false, handRaised: false };
const person = (id: string, role: "host" | "participant" = "participant"): ParticipantData => ({
  id,
  name: id,
  role,
  connected: true,
  joinedAt: "2026-12-01T10:00:00.000Z",
  state: STATE,
});
const message = (seq: number): ChatMessageData => ({
  id: `m${seq}`,
  seq,
  participantId: "grace",
  name: "Grace",
  text: `message ${seq}`,
  ts: "2026-12-01T10:00:00.000Z",
});
const meeting = (participants: ParticipantData[]) =>
  ({ id: "m", title: "t", participants, participantCount: participants.length }) as unknown as MeetingData;
const joined = (chat: ChatMessageData[], participants = [person("ada", "host"), person("grace")]): ServerEventData => ({
  type: "meeting:joined",
  data: { self: person("grace"), meeting: meeting(participants), chat, media: { mode: "mesh" } },
});
const chat = (seq: number): ServerEventData => ({ type: "chat:new-message", data: message(seq) });
const left = (participantId: string, reason: "left" | "disconnected" | "kicked"): ServerEventData => ({
  type: "meeting:participant-left",
  data: { participantId, reason },
});

describe("MeetingViews", () => {
  it("keeps every chat message once and in order when a reconnect replays what arrived live", () => {
    const views = new MeetingViews();
    expect(views.apply(joined([message(1), message(2)]))).toMatchObject({
      kind: "joined",
      firstJoin: true,
      missed: [],
    });
    expect(views.apply(chat(3)).kind).toBe("event");
    // The socket dropped after 3; the resume (since=3) may still carry 3 if it raced the drop.
    const rejoin = views.apply(joined([message(3), message(4), message(5)]));
    expect(rejoin).toMatchObject({ kind: "joined", firstJoin: false, missed: [message(4), message(5)] });
    expect(views.apply(chat(5)).kind).toBe("duplicate");
    expect(views.apply(chat(6)).kind).toBe("event");
    expect(views.chat.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(views.lastSeq).toBe(6);
  });

  it("starts after `since`: older history is not shown again", () => {
    const views = new MeetingViews(2);
    views.apply(joined([message(3)]));
    expect(views.chat.map((m) => m.seq)).toEqual([3]);
    expect(() => new MeetingViews(-1)).toThrow(TypeError);
  });

  it("keeps the seat of a dropped socket and of a host who left; a guest who left or was kicked is gone", () => {
    const views = new MeetingViews();
    views.apply(joined([], [person("ada", "host"), person("grace"), person("linus"), person("ken")]));
    views.apply(left("grace", "disconnected"));
    views.apply(left("ada", "left"));
    views.apply(left("linus", "left"));
    views.apply(left("ken", "kicked"));
    expect(views.participants.map((p) => [p.id, p.connected])).toEqual([
      ["ada", false],
      ["grace", false],
    ]);
    expect(views.meeting?.participantCount).toBe(2);
  });

  it("ends for good on kick, termination and replacement", () => {
    const views = new MeetingViews();
    views.apply(joined([]));
    expect(views.apply({ type: "meeting:kicked", data: { reason: "bye" } })).toEqual({
      kind: "final",
      reason: "kicked",
    });
    expect(views.apply({ type: "meeting:terminated", data: {} })).toEqual({ kind: "final", reason: "terminated" });
    expect(views.apply({ type: "session:replaced", data: {} })).toEqual({ kind: "final", reason: "replaced" });
  });

  it("keeps each participant's published tracks from the join and every media:tracks; an empty list removes them", () => {
    const views = new MeetingViews();
    const cam = { trackName: "video-1", kind: "video" as const };
    const mic = { trackName: "audio-1", kind: "audio" as const };
    views.apply({
      type: "meeting:joined",
      data: {
        self: person("grace"),
        meeting: meeting([person("ada", "host")]),
        chat: [],
        media: { mode: "sfu", tracks: { ada: [mic] } },
      },
    });
    expect(views.media).toEqual({ mode: "sfu", tracks: { ada: [mic] } });
    expect(views.apply({ type: "media:tracks", data: { participantId: "ada", tracks: [mic, cam] } })).toEqual({
      kind: "event",
    });
    views.apply({ type: "media:tracks", data: { participantId: "linus", tracks: [cam] } });
    expect(views.media?.tracks).toEqual({ ada: [mic, cam], linus: [cam] });
    views.apply({ type: "media:tracks", data: { participantId: "ada", tracks: [] } });
    expect(views.media?.tracks).toEqual({ linus: [cam] });
  });

  it("has no tracks to keep in a mesh meeting", () => {
    const views = new MeetingViews();
    views.apply(joined([]));
    views.apply({ type: "media:tracks", data: { participantId: "ada", tracks: [{ trackName: "v", kind: "video" }] } });
    expect(views.media).toEqual({ mode: "mesh" });
  });
});
