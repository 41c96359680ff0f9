/**
 * Defence in depth: the meeting object itself refuses a token bound to
 * another meeting with 401, even if the worker's audience check were
 * bypassed (a routing bug handing it the wrong claims). Checked for the RPC
 * calls, the join and the WebSocket upgrade.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TokenClaims } from "../src/auth/tokens";
import { CLAIMS_HEADER } from "../src/meeting/connection";
import { createMeeting, meetingWith } from "./helpers/api";
import { meetingObject } from "./helpers/sockets";

/** Claims for `participantId` of meeting `meetingId`, as the worker would pass them after verifying a token. */
const claims = (meetingId: string, kind: TokenClaims["kind"], participantId?: string): TokenClaims => ({
  meetingId,
  kind,
  tokenId: crypto.randomUUID(),
  participantId,
  expiresAt: Date.now() + 3_600_000,
});

describe("a token of another meeting, handed to the object directly", () => {
  it("is 401 for reads and host actions, although it names this meeting's host", async () => {
    const a = await createMeeting();
    const b = await createMeeting();
    const foreign = claims(b.meeting.id, "host", a.participant.id);
    const own = claims(a.meeting.id, "host", a.participant.id);
    const outcomes = await runInDurableObject(meetingObject(a.meeting.id), async (room) => ({
      read: await room.read(foreign),
      terminate: await room.terminate(foreign),
      kick: await room.kick(foreign, { participantId: crypto.randomUUID() }),
      stats: await room.stats(foreign),
      control: await room.read(own),
    }));
    expect(outcomes.read).toMatchObject({ ok: false, error: { code: "UNAUTHORIZED" } });
    expect(outcomes.terminate).toMatchObject({ ok: false, error: { code: "UNAUTHORIZED" } });
    expect(outcomes.kick).toMatchObject({ ok: false, error: { code: "UNAUTHORIZED" } });
    expect(outcomes.stats).toMatchObject({ ok: false, error: { code: "UNAUTHORIZED" } });
    expect(outcomes.control.ok).toBe(true);
  });

  it("is 401 for a join and for a WebSocket upgrade", async () => {
    const a = await meetingWith("Grace");
    const b = await createMeeting();
    const grace = a.guests[0]!;
    const { joined, upgraded } = await runInDurableObject(meetingObject(a.id), async (room) => {
      const joined = await room.join(claims(b.meeting.id, "join"), "Mallory");
      const request = new Request("http://meeting/ws", {
        headers: {
          upgrade: "websocket",
          [CLAIMS_HEADER]: JSON.stringify(claims(b.meeting.id, "session", grace.participant.id)),
        },
      });
      const response = await room.fetch(request);
      return { joined, upgraded: { status: response.status, body: await response.json() } };
    });
    expect(joined).toMatchObject({ ok: false, error: { code: "UNAUTHORIZED" } });
    expect(upgraded).toMatchObject({ status: 401, body: { error: { code: "UNAUTHORIZED" } } });
  });
});
