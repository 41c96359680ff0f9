/**
 * Operations numbers: the host's `GET /api/meetings/:id/stats` after a
 * scripted meeting, who may read it, and the service counters written to
 * the Analytics Engine dataset (a no-op without the binding).
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { MeetingRoom } from "../src/meeting/room";
import { ServiceMetrics } from "../src/metrics";
import { StatsResponse } from "../src/protocol/schemas";
import { api, createMeeting, expectError, meetingWith, mintJoinToken } from "./helpers/api";
import { internals } from "./helpers/deliver";
import { connect, meetingObject } from "./helpers/sockets";
import { fakeDataset, fetchWithEnv, uniqueClientIp } from "./helpers/worker-env";

afterEach(() => {
  vi.useRealTimers();
});

const stats = (meetingId: string, token: string) => api("GET", `/api/meetings/${meetingId}/stats`, { token });

/** Swaps the meeting object's metrics for a recorder; returns the recorder. */
async function recordMetrics(meetingId: string) {
  const dataset = fakeDataset();
  await runInDurableObject(meetingObject(meetingId), (instance: MeetingRoom) => {
    internals(instance).metrics = new ServiceMetrics(dataset as unknown as AnalyticsEngineDataset);
  });
  return dataset;
}

describe("meeting stats", () => {
  it("count sockets, participants, relayed frames and chat after a scripted meeting", async () => {
    const m = await meetingWith("Grace", "Linus");
    const [grace] = m.guests;
    const before = Date.now();
    const host = await connect(m.id, m.hostToken);
    const guest = await connect(m.id, grace!.sessionToken);
    for (const text of ["one", "two", "three"]) await guest.request({ type: "chat:message", data: { text } });
    await host.request({
      type: "webrtc:ice-candidate",
      data: { to: grace!.participant.id, candidate: { candidate: "candidate:1 1 udp 1 10.0.0.1 9 typ host" } },
    });
    await guest.request({ type: "participant:update", data: { handRaised: true } });
    // Refused frames are not relayed.
    await guest.request({ type: "webrtc:offer", data: { to: "nobody", sdp: "v=0" } });

    const res = await stats(m.id, m.hostToken);
    expect(res.status).toBe(200);
    expect(StatsResponse.safeParse(res.body).success).toBe(true);
    const s = res.body.stats;
    expect(s).toMatchObject({
      meetingId: m.id,
      status: "active",
      version: 1,
      participantCount: 3,
      connectedSockets: 2,
      messagesRelayed: 5,
      chatMessagesSent: 3,
      chatMessagesStored: 3,
    });
    expect(s.storageBytes).toBeGreaterThan(0);
    expect(Date.parse(s.messagesRelayedSince)).toBeLessThanOrEqual(before);

    guest.close();
    await host.next("meeting:participant-left");
    expect((await stats(m.id, m.hostToken)).body.stats.connectedSockets).toBe(1);
    host.close();
  });

  it("keep chat totals across a restart of the object; relayed frames count from the restart", async () => {
    const m = await meetingWith("Grace");
    const guest = await connect(m.id, m.guests[0]!.sessionToken);
    await guest.request({ type: "chat:message", data: { text: "before" } });
    guest.close();
    await evictDurableObject(meetingObject(m.id));
    const s = (await stats(m.id, m.hostToken)).body.stats;
    expect(s.chatMessagesSent).toBe(1);
    expect(s.chatMessagesStored).toBe(1);
    expect(s.messagesRelayed).toBe(0);
  });

  it("are for the host only, also once the meeting ended", async () => {
    const m = await meetingWith("Grace");
    const joinToken = await mintJoinToken(m.id, m.hostToken);
    expectError(await stats(m.id, m.guests[0]!.sessionToken), 403, "FORBIDDEN");
    expectError(await stats(m.id, joinToken), 403, "FORBIDDEN");
    expectError(await api("GET", `/api/meetings/${m.id}/stats`), 401, "UNAUTHORIZED");
    const other = await createMeeting();
    expectError(await stats(m.id, other.hostToken), 401, "UNAUTHORIZED");

    await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken });
    const ended = await stats(m.id, m.hostToken);
    expect(ended.status).toBe(200);
    expect(ended.body.stats).toMatchObject({ status: "ended", connectedSockets: 0, participantCount: 1 });
  });
});

describe("service metrics", () => {
  it("are a no-op without a dataset binding", () => {
    const metrics = new ServiceMetrics(undefined);
    expect(metrics.enabled).toBe(false);
    expect(() => metrics.count("meeting_created", { meetingId: "x" })).not.toThrow();
  });

  it("write one data point per event: index and blob1 the event, blob2 the meeting, double1 the count", () => {
    const dataset = fakeDataset();
    new ServiceMetrics(dataset as unknown as AnalyticsEngineDataset).count("chat_message", { meetingId: "m1" });
    expect(dataset.points).toEqual([{ indexes: ["chat_message"], blobs: ["chat_message", "m1", ""], doubles: [1] }]);
  });

  it("never break the caller when the dataset throws", () => {
    const errors = vi.spyOn(console, "warn").mockImplementation(() => {});
    const throwing = {
      writeDataPoint: () => {
        throw new Error("over quota");
      },
    };
    expect(() => new ServiceMetrics(throwing).count("error")).not.toThrow();
    errors.mockRestore();
  });

  it("count joins, chat messages, the end and the expiry of a meeting", async () => {
    const { meeting, hostToken } = await createMeeting({
      scheduledAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const dataset = await recordMetrics(meeting.id);
    const token = await mintJoinToken(meeting.id, hostToken);
    const joined = await api("POST", "/api/meetings/join", { body: { token, displayName: "Grace" } });
    const guest = await connect(meeting.id, joined.body.sessionToken);
    await guest.request({ type: "chat:message", data: { text: "hi" } });
    await guest.request({ type: "chat:message", data: { text: "again" } });
    const ended = await api("DELETE", `/api/meetings/${meeting.id}`, { token: hostToken });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(ended.body.meeting.expiresAt) + 1000);
    expect(await runDurableObjectAlarm(meetingObject(meeting.id))).toBe(true);

    expect(dataset.events()).toEqual([
      "participant_joined",
      "chat_message",
      "chat_message",
      "meeting_ended",
      "meeting_expired",
    ]);
    for (const point of dataset.points) expect(point.blobs?.[1]).toBe(meeting.id);
  });

  it("count REST refusals of the rate limit", async () => {
    const dataset = fakeDataset();
    const overrides = { RATE_LIMIT_MAX_REQUESTS: "1", METRICS: dataset };
    const headers = { "CF-Connecting-IP": uniqueClientIp() };
    await fetchWithEnv(overrides, "/api/meetings/nope", { headers });
    await fetchWithEnv(overrides, "/api/meetings/nope", { headers });
    expect(dataset.events()).toEqual(["rate_limited"]);
    expect(dataset.points[0]?.blobs?.[2]).toBe("rest");
  });
});
