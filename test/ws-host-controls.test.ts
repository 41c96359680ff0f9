/**
 * Host controls on a live meeting, over REST and over the socket: reschedule,
 * kick and terminate reach the connected participants; only the host may
 * use them.
 */
import { describe, expect, it } from "vitest";
import { api, expectError, getMeeting, inMinutes } from "./helpers/api";
import { liveMeeting, type TestSocket, upgrade } from "./helpers/sockets";

describe("reschedule", () => {
  it("over REST: everyone connected gets meeting:datetime:changed with the new meeting and updatedBy", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const scheduledAt = inMinutes(120);
    const res = await api("PUT", `/api/meetings/${m.id}/datetime`, {
      token: m.hostToken,
      body: { scheduledAt, durationMinutes: 90, timezone: "Europe/Berlin" },
    });
    expect(res.status).toBe(200);
    for (const socket of [m.host.socket, ...m.guests.map((g) => g.socket)]) {
      const changed = await socket.next("meeting:datetime:changed");
      expect(Object.keys(changed.data).sort()).toEqual(["meeting", "updatedBy"]);
      expect(changed.data.updatedBy).toBe(m.host.id);
      expect(changed.data.meeting).toEqual(res.body.meeting);
      expect(changed.data.meeting).toMatchObject({
        version: 2,
        scheduledAt: new Date(scheduledAt).toISOString(),
        durationMinutes: 90,
        timezone: "Europe/Berlin",
      });
    }
  });

  it("over the socket: acked, broadcast, and the same rules as REST (partial update, version check)", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!.socket;
    const reply = await m.host.socket.request({ type: "meeting:datetime:update", data: { durationMinutes: 15 } });
    expect(reply.type).toBe("ack");
    const changed = await grace.next("meeting:datetime:changed");
    expect(changed.data.meeting).toMatchObject({ version: 2, durationMinutes: 15 });
    expect(changed.data.updatedBy).toBe(m.host.id);

    const stale = await m.host.socket.request({
      type: "meeting:datetime:update",
      data: { durationMinutes: 20, expectedVersion: 1 },
    });
    expect(stale.type).toBe("error");
    expect(stale.error?.code).toBe("VERSION_CONFLICT");
    expect((stale.error as any).details.meeting).toMatchObject({ version: 2, durationMinutes: 15 });

    const invalid = await m.host.socket.request({ type: "meeting:datetime:update", data: {} });
    expect(invalid.error?.code).toBe("VALIDATION_FAILED");
    await grace.expectNo("meeting:datetime:changed");
    expect((await getMeeting(m.id, m.hostToken)).version).toBe(2);
  });

  it("is FORBIDDEN for a guest over the socket, and nothing changes", async () => {
    const m = await liveMeeting("Grace");
    const reply = await m.guests[0]!.socket.request({
      type: "meeting:datetime:update",
      data: { durationMinutes: 5 },
    });
    expect(reply.error?.code).toBe("FORBIDDEN");
    await m.host.socket.expectNo("meeting:datetime:changed");
    expect((await getMeeting(m.id, m.hostToken)).version).toBe(1);
  });
});

describe("kick", () => {
  it("over REST: meeting:kicked with the reason, close 4003, the others told, the session revoked", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    const res = await api("POST", `/api/meetings/${m.id}/kick`, {
      token: m.hostToken,
      body: { participantId: grace!.id, reason: "off topic" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ participantId: grace!.id });

    expect((await grace!.socket.next("meeting:kicked")).data).toEqual({ reason: "off topic" });
    expect((await grace!.socket.closed()).code).toBe(4003);
    for (const socket of [m.host.socket, linus!.socket]) {
      expect((await socket.next("meeting:participant-left")).data).toEqual({
        participantId: grace!.id,
        reason: "kicked",
      });
    }
    expect((await getMeeting(m.id, m.hostToken)).participants.map((p: any) => p.name)).toEqual(["Ada", "Linus"]);
    expect((await upgrade(m.id, grace!.sessionToken)).status).toBe(403);
  });

  it("over the socket: the same, acked to the host; a reason is given when the host gave none", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    const reply = await m.host.socket.request({ type: "host:kick-participant", data: { participantId: linus!.id } });
    expect(reply.type).toBe("ack");
    const kicked = await linus!.socket.next("meeting:kicked");
    expect(typeof kicked.data.reason).toBe("string");
    expect((await linus!.socket.closed()).code).toBe(4003);
    expect((await grace!.socket.next("meeting:participant-left")).data).toEqual({
      participantId: linus!.id,
      reason: "kicked",
    });
    expectError(await api("GET", `/api/meetings/${m.id}`, { token: linus!.sessionToken }), 403, "FORBIDDEN");
  });

  it("refuses a guest (FORBIDDEN), the host itself (VALIDATION_FAILED) and unknown or gone ids (NOT_FOUND)", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    const kick = (socket: TestSocket, participantId: string) =>
      socket.request({ type: "host:kick-participant", data: { participantId } });

    expect((await kick(grace!.socket, linus!.id)).error?.code).toBe("FORBIDDEN");
    expect((await kick(grace!.socket, m.host.id)).error?.code).toBe("FORBIDDEN");
    expect((await kick(m.host.socket, m.host.id)).error?.code).toBe("VALIDATION_FAILED");
    expect((await kick(m.host.socket, "nobody")).error?.code).toBe("NOT_FOUND");
    expect((await kick(m.host.socket, linus!.id)).type).toBe("ack");
    expect((await kick(m.host.socket, linus!.id)).error?.code).toBe("NOT_FOUND");
    await grace!.socket.next("meeting:participant-left");
    expect(grace!.socket.closeEvent).toBeUndefined();
    expect((await getMeeting(m.id, m.hostToken)).participants.map((p: any) => p.name)).toEqual(["Ada", "Grace"]);
  });

  it("works on someone who is not connected: the others are told", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const [grace, linus] = m.guests;
    linus!.socket.close();
    await grace!.socket.next("meeting:participant-left");
    const res = await api("POST", `/api/meetings/${m.id}/kick`, {
      token: m.hostToken,
      body: { participantId: linus!.id },
    });
    expect(res.status).toBe(200);
    expect((await grace!.socket.next("meeting:participant-left")).data).toEqual({
      participantId: linus!.id,
      reason: "kicked",
    });
  });
});

describe("terminate", () => {
  it("sends meeting:terminated to every socket, closes them with 4000, and later upgrades are 410", async () => {
    const m = await liveMeeting("Grace", "Linus");
    const res = await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken });
    expect(res.status).toBe(200);
    for (const socket of [m.host.socket, ...m.guests.map((g) => g.socket)]) {
      expect((await socket.next("meeting:terminated")).data).toEqual({});
      expect((await socket.closed()).code).toBe(4000);
      expect(socket.count("meeting:participant-left")).toBe(0);
    }
    expect((await upgrade(m.id, m.hostToken)).status).toBe(410);
    expect((await upgrade(m.id, m.guests[0]!.sessionToken)).status).toBe(410);
    expect((await getMeeting(m.id, m.hostToken)).status).toBe("ended");
  });
});

describe("leave over REST", () => {
  it("closes the participant's live socket with 1000 and tells the others", async () => {
    const m = await liveMeeting("Grace");
    const grace = m.guests[0]!;
    const res = await api("POST", `/api/meetings/${m.id}/leave`, { token: grace.sessionToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ participantId: grace.id });
    expect((await grace.socket.closed()).code).toBe(1000);
    expect((await m.host.socket.next("meeting:participant-left")).data).toEqual({
      participantId: grace.id,
      reason: "left",
    });
  });

  it("closes the host's socket but keeps the host listed", async () => {
    const m = await liveMeeting("Grace");
    expect((await api("POST", `/api/meetings/${m.id}/leave`, { token: m.hostToken })).status).toBe(200);
    expect((await m.host.socket.closed()).code).toBe(1000);
    expect((await m.guests[0]!.socket.next("meeting:participant-left")).data.reason).toBe("left");
    const meeting = await getMeeting(m.id, m.hostToken);
    expect(meeting.participants.find((p: any) => p.role === "host").connected).toBe(false);
  });
});
