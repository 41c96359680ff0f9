/**
 * The SDK (`meettime/client`) against a real `wrangler dev`: every REST
 * method and its error shape, the connection's handshake (token as
 * subprotocol, never in the URL), live views, ack and error promises, and
 * the bounded queue of frames sent while the connection is down.
 */
import { describe, expect, it } from "vitest";
import { MeetTime } from "../../src/client";
import { baseUrl } from "./helpers/client";
import {
  closedState,
  FAST,
  failure,
  inAnHour,
  meetingWithGuest,
  nextEvent,
  sdk,
  until,
} from "./helpers/client-helpers";

describe("the SDK's REST methods", () => {
  it("create, invite, join, read, reschedule, kick, leave and terminate a meeting", async () => {
    const { mt } = sdk();
    const created = await mt.createMeeting({
      title: "Planning",
      hostName: "Ada",
      scheduledAt: inAnHour(),
      durationMinutes: 45,
      timezone: "Europe/Berlin",
      maxParticipants: 5,
    });
    expect(created.meeting).toMatchObject({ title: "Planning", durationMinutes: 45, timezone: "Europe/Berlin" });
    expect(created.participant).toMatchObject({ name: "Ada", role: "host" });
    expect(created.iceServers.length).toBeGreaterThan(0);
    expect(Date.parse(created.iceServersExpiresAt)).toBeGreaterThan(Date.now());
    const id = created.meeting.id;

    const { tokens } = await mt.mintInvites(id, created.hostToken, { count: 2, name: "Team", expiresInHours: 2 });
    expect(tokens).toHaveLength(2);
    const grace = await mt.join(tokens[0]!.token, "Grace");
    const linus = await mt.join(tokens[1]!.token, "Linus");
    expect(grace.participant).toMatchObject({ name: "Grace", role: "participant" });
    expect(grace.iceServers.length).toBeGreaterThan(0);

    const read = await mt.getMeeting(id, grace.sessionToken);
    expect(read.meeting.participants.map((p) => p.name)).toEqual(["Ada", "Grace", "Linus"]);

    const at = new Date(Date.now() + 2 * 3_600_000);
    at.setUTCMilliseconds(0);
    const moved = await mt.reschedule(id, created.hostToken, { scheduledAt: at, expectedVersion: 1 });
    expect(moved.meeting).toMatchObject({ scheduledAt: at.toISOString(), version: 2 });

    expect(await mt.kick(id, created.hostToken, linus.participant.id, "off topic")).toEqual({
      participantId: linus.participant.id,
    });
    expect(await mt.leave(id, grace.sessionToken)).toEqual({ participantId: grace.participant.id });
    expect((await mt.getMeeting(id, created.hostToken)).meeting.participantCount).toBe(1);

    const fresh = await mt.mintHostToken(id, created.hostToken);
    expect(fresh.hostToken).not.toBe(created.hostToken);
    const ended = await mt.terminate(id, fresh.hostToken);
    expect(ended.meeting.status).toBe("ended");
  });

  it("mints calendar tokens, renews sessions and hands out ICE servers (contract 1.1)", async () => {
    const { mt } = sdk();
    const { guest, meetingId } = await meetingWithGuest(mt);

    const calendar = await mt.calendarToken(meetingId, guest.sessionToken);
    expect(calendar.calendarUrl).toBe(`/api/meetings/${meetingId}/calendar.ics?token=${calendar.token}`);
    const feed = await fetch(mt.url(calendar.calendarUrl));
    expect(feed.status).toBe(200);
    expect(await feed.text()).toContain("BEGIN:VEVENT");

    const renewed = await mt.renewSession(meetingId, guest.sessionToken);
    expect(renewed.sessionToken).not.toBe(guest.sessionToken);
    expect((await mt.getMeeting(meetingId, renewed.sessionToken)).meeting.id).toBe(meetingId);

    const ice = await mt.iceServers(meetingId, renewed.sessionToken);
    expect(ice.iceServers.length).toBeGreaterThan(0);
    expect(Date.parse(ice.expiresAt)).toBeGreaterThan(Date.now());
  });

  it("rejects with the contract's code, status and details", async () => {
    const { mt } = sdk();
    const invalid = await failure(mt.createMeeting({ title: "", hostName: "Ada", scheduledAt: "tomorrow" }));
    expect(invalid).toMatchObject({ code: "VALIDATION_FAILED", status: 400 });
    expect(JSON.stringify(invalid.details)).toContain("scheduledAt");

    const { created, guest, meetingId } = await meetingWithGuest(mt);
    expect(await failure(mt.getMeeting(meetingId, "not-a-token"))).toMatchObject({ code: "UNAUTHORIZED", status: 401 });
    expect(await failure(mt.terminate(meetingId, guest.sessionToken))).toMatchObject({
      code: "FORBIDDEN",
      status: 403,
    });
    expect(await failure(mt.getMeeting("0".repeat(64), created.hostToken))).toMatchObject({
      code: "NOT_FOUND",
      status: 404,
    });

    await mt.reschedule(meetingId, created.hostToken, { durationMinutes: 30 });
    const conflict = await failure(
      mt.reschedule(meetingId, created.hostToken, { durationMinutes: 90, expectedVersion: 1 }),
    );
    expect(conflict).toMatchObject({ code: "VERSION_CONFLICT", status: 409 });
    expect(conflict.details?.meeting).toMatchObject({ durationMinutes: 30 });

    const { tokens } = await mt.mintInvites(meetingId, created.hostToken);
    await mt.join(tokens[0]!.token, "Linus");
    expect(await failure(mt.join(tokens[0]!.token, "Linus again"))).toMatchObject({
      code: "TOKEN_ALREADY_USED",
      status: 409,
    });
  });

  it("reports an unreachable server as NETWORK_ERROR", async () => {
    const mt = new MeetTime({ baseUrl: "http://127.0.0.1:9" });
    expect(await failure(mt.getMeeting("x", "y"))).toMatchObject({ code: "NETWORK_ERROR", status: 0 });
  });
});

describe("a MeetingConnection", () => {
  it("authenticates with the subprotocol, never the URL, and keeps live views", async () => {
    const { mt, opened } = sdk();
    const { created, guest, meetingId } = await meetingWithGuest(mt);
    const host = mt.connect(meetingId, created.hostToken, FAST);
    expect(host.state).toBe("connecting");
    const joined = await host.ready;
    expect(host.state).toBe("open");
    expect(joined.self.name).toBe("Ada");
    expect(opened[0]!.url).not.toContain("token");
    expect(opened[0]!.protocols).toEqual(["meettime", created.hostToken]);
    expect((opened[0]!.ws as { protocol: string }).protocol).toBe("meettime");

    const arrival = nextEvent(host, "meeting:participant-joined");
    const grace = mt.connect(meetingId, guest.sessionToken, FAST);
    expect((await arrival).participant.name).toBe("Grace");
    expect(host.participants.map((p) => [p.name, p.connected])).toEqual([
      ["Ada", true],
      ["Grace", true],
    ]);

    const raised = nextEvent(host, "participant:updated");
    await grace.updateState({ handRaised: true });
    await raised;
    expect(host.participants[1]!.state.handRaised).toBe(true);

    const moved = nextEvent(grace, "meeting:datetime:changed");
    await host.reschedule({ durationMinutes: 20 });
    expect((await moved).meeting.durationMinutes).toBe(20);
    expect(grace.meeting?.durationMinutes).toBe(20);
    expect(grace.meeting?.version).toBe(2);

    const gone = nextEvent(host, "meeting:participant-left");
    grace.close();
    expect(await gone).toEqual({ participantId: guest.participant.id, reason: "disconnected" });
    expect(host.participants.map((p) => [p.name, p.connected])).toEqual([
      ["Ada", true],
      ["Grace", false],
    ]);
    host.close();
  });

  it("resolves a sent frame on its ack and keeps every chat message once, in order", async () => {
    const { mt } = sdk();
    const { created, guest, meetingId } = await meetingWithGuest(mt);
    const host = mt.connect(meetingId, created.hostToken, FAST);
    const grace = mt.connect(meetingId, guest.sessionToken, FAST);
    await Promise.all([host.ready, grace.ready]);
    const seen: number[] = [];
    host.on("chat:new-message", (m) => seen.push(m.seq));

    await grace.sendChat("one");
    await host.sendChat("two");
    await grace.sendChat("three");
    await until("the host saw three messages", () => host.chat.length === 3);
    expect(host.chat.map((m) => [m.seq, m.name, m.text])).toEqual([
      [1, "Grace", "one"],
      [2, "Ada", "two"],
      [3, "Grace", "three"],
    ]);
    expect(seen).toEqual([1, 2, 3]);
    expect(host.lastSeq).toBe(3);

    // A late joiner gets the history in meeting:joined and in its chat view.
    const late = mt.connect(meetingId, created.hostToken, FAST);
    expect((await late.ready).chat.map((m) => m.text)).toEqual(["one", "two", "three"]);
    expect(late.chat.map((m) => m.seq)).toEqual([1, 2, 3]);
    late.close();
    grace.close();
  });

  it("rejects a refused frame with the server's error: VALIDATION_FAILED, FORBIDDEN, NOT_FOUND, RATE_LIMITED", async () => {
    const { mt } = sdk();
    const { guest, meetingId } = await meetingWithGuest(mt);
    const grace = mt.connect(meetingId, guest.sessionToken, FAST);
    await grace.ready;

    expect(await failure(grace.sendChat("   "))).toMatchObject({ code: "VALIDATION_FAILED", status: 400 });
    expect(await failure(grace.kick("someone"))).toMatchObject({ code: "FORBIDDEN", status: 403 });
    expect(await failure(grace.sendOffer("nobody", "v=0"))).toMatchObject({ code: "NOT_FOUND", status: 404 });

    // The chat bucket holds 10: a burst of 15 has some refused, and each refusal names its code.
    const results = await Promise.allSettled(Array.from({ length: 15 }, (_, i) => grace.sendChat(`burst ${i}`)));
    const refused = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason);
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) expect(error).toMatchObject({ code: "RATE_LIMITED", status: 429 });
    const accepted = results.filter((r) => r.status === "fulfilled").length;
    await until("every accepted message is in the view", () => grace.chat.length === accepted);
    expect(grace.state).toBe("open");
    grace.close();
    expect(await failure(grace.sendChat("after close"))).toMatchObject({ code: "CLOSED", status: 0 });
  });

  it("queues frames sent before it is open, up to its bound, and sends them once joined", async () => {
    const { mt } = sdk();
    const { guest, meetingId } = await meetingWithGuest(mt);
    const grace = mt.connect(meetingId, guest.sessionToken, { ...FAST, queueLimit: 3 });
    expect(grace.state).toBe("connecting");
    const queued = ["a", "b", "c"].map((text) => grace.sendChat(text));
    expect(grace.queuedFrames).toBe(3);
    expect(await failure(grace.sendChat("d"))).toMatchObject({ code: "QUEUE_FULL", status: 0 });
    await Promise.all(queued);
    expect(grace.queuedFrames).toBe(0);
    await until("the three queued messages came back", () => grace.chat.length === 3);
    expect(grace.chat.map((m) => m.text)).toEqual(["a", "b", "c"]);
    grace.close();
  });

  it("rejects queued frames when it closes for good before they could be sent", async () => {
    const { mt } = sdk();
    const { meetingId } = await meetingWithGuest(mt);
    const stranger = mt.connect(meetingId, "not-a-token", FAST);
    const queued = stranger.sendChat("never sent");
    expect(await failure(queued)).toMatchObject({ code: "CLOSED" });
    expect(stranger.closeReason).toBe("unauthorized");
    expect(await failure(stranger.ready)).toMatchObject({ code: "UNAUTHORIZED", status: 401 });
  });

  it("serves Node without a global WebSocket only when one is passed", () => {
    const mt = new MeetTime({ baseUrl: baseUrl(), WebSocket: undefined });
    if ((globalThis as { WebSocket?: unknown }).WebSocket === undefined) {
      expect(() => mt.connect("id", "token")).toThrow(/WebSocket/);
    } else {
      // Node 22+ has a global WebSocket: the SDK uses it by default.
      expect(mt.WebSocket).toBe((globalThis as { WebSocket?: unknown }).WebSocket);
    }
  });

  it("closes with the connection's state event once close() is called", async () => {
    const { mt } = sdk();
    const { guest, meetingId } = await meetingWithGuest(mt);
    const grace = mt.connect(meetingId, guest.sessionToken, FAST);
    await grace.ready;
    const closed = closedState(grace);
    grace.close();
    expect(await closed).toEqual({ state: "closed", reason: "closed" });
    expect(grace.state).toBe("closed");
  });
});
