/**
 * The lobby over WebSocket (contract 1.2): hosts see knocks and answer over
 * the socket, the waiting guest's socket gets `lobby:waiting` then its
 * answer, waits end by themselves (gone, expired), and a wait survives the
 * meeting object's eviction and the guest's or host's reconnect.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, createMeeting, getMeeting, join } from "./helpers/api";
import { deliverAtOnce } from "./helpers/deliver";
import {
  admitRequest,
  denyRequest,
  knock,
  lobbyRows,
  mintLink,
  openLobby,
  overdueWaits,
  revokeLinkRequest,
  waitingGuest,
} from "./helpers/links";
import { connect, meetingObject, upgrade } from "./helpers/sockets";
import { claimsOf } from "./helpers/tokens";

/** A meeting with its host connected and a lobby link. */
async function hostWithLobbyLink(overrides: Record<string, unknown> = {}, linkBody: Record<string, unknown> = {}) {
  const { meeting, hostToken, participant } = await createMeeting(overrides);
  const host = await connect(meeting.id, hostToken);
  const minted = await mintLink(meeting.id, hostToken, linkBody);
  return { id: meeting.id as string, hostToken, hostId: participant.id as string, host, ...minted };
}

async function upgradeStatus(meetingId: string, token: string) {
  const res = await upgrade(meetingId, token);
  return { status: res.status, code: ((await res.json()) as any).error?.code };
}

describe("hosts see the lobby", () => {
  it("get lobby:knock at once, and a host's meeting:joined lists who waits; guests see neither", async () => {
    const m = await hostWithLobbyLink();
    const guest = await join(m.id, m.hostToken, "Linus");
    const guestSocket = await connect(m.id, guest.sessionToken);
    const { requestId } = await knock(m.token, "Grace");
    const knocked = await m.host.next("lobby:knock");
    expect(knocked.data).toEqual({ requestId, name: "Grace", linkId: m.link.id, at: expect.any(String) });
    expect(Date.now() - Date.parse(knocked.data.at)).toBeLessThan(10_000);

    const again = await connect(m.id, m.hostToken);
    const joined = again.frames.find((f) => f.type === "meeting:joined")!;
    expect(joined.data.lobby).toEqual([knocked.data]);
    const guestAgain = await connect(m.id, guest.sessionToken);
    expect(guestAgain.frames.find((f) => f.type === "meeting:joined")!.data.lobby).toBeUndefined();
    await guestSocket.expectNo("lobby:knock", 100);
  });
});

describe("the waiting guest's socket", () => {
  it("gets lobby:waiting, then lobby:admitted with a working session token, then closes with 1000", async () => {
    const m = await hostWithLobbyLink();
    const { requestId, lobby } = await waitingGuest(m.id, m.token, "Grace");
    expect(lobby.frames.map((f) => f.type)).toEqual(["lobby:waiting"]);
    expect(lobby.frames[0]!.data).toEqual({ requestId });

    const res = await admitRequest(m.id, m.hostToken, requestId);
    expect(res.status).toBe(200);
    const admitted = await lobby.next("lobby:admitted");
    expect(Object.keys(admitted.data).sort()).toEqual([
      "iceServers",
      "iceServersExpiresAt",
      "media",
      "participant",
      "sessionToken",
    ]);
    expect(admitted.data.participant).toEqual(res.body.participant);
    expect(admitted.data.media).toEqual({ mode: "mesh" });
    expect(Array.isArray(admitted.data.iceServers)).toBe(true);
    expect(claimsOf(admitted.data.sessionToken)).toMatchObject({ kind: "session", pid: res.body.participant.id });
    expect((await lobby.closed()).code).toBe(1000);
    expect(lobby.frames.map((f) => f.type)).toEqual(["lobby:waiting", "lobby:admitted"]);
    expect((await m.host.next("lobby:left")).data).toEqual({ requestId, reason: "admitted" });

    const inside = await connect(m.id, admitted.data.sessionToken);
    expect(inside.frames[0]!.data.self.id).toBe(res.body.participant.id);
    expect((await m.host.next("meeting:participant-joined")).data.participant.name).toBe("Grace");
    expect(await lobbyRows(m.id)).toEqual([]);
  });

  it("gets lobby:denied with the host's reason, then closes with 4003; the wait token is refused after", async () => {
    const m = await hostWithLobbyLink();
    const { requestId, waitToken, lobby } = await waitingGuest(m.id, m.token);
    expect((await denyRequest(m.id, m.hostToken, requestId, { reason: "invite only today" })).status).toBe(200);
    expect((await lobby.next("lobby:denied")).data).toEqual({ reason: "invite only today" });
    expect((await lobby.closed()).code).toBe(4003);
    expect((await m.host.next("lobby:left")).data).toEqual({ requestId, reason: "denied" });
    expect(await upgradeStatus(m.id, waitToken)).toEqual({ status: 403, code: "FORBIDDEN" });
    expect(await lobbyRows(m.id)).toEqual([]);
  });

  it("ignores frames sent on it and counts as nobody in the meeting", async () => {
    const m = await hostWithLobbyLink();
    const { lobby } = await waitingGuest(m.id, m.token);
    lobby.send({ type: "chat:message", data: { text: "let me in" }, id: "c1" });
    await lobby.expectSilence(200);
    await m.host.expectNo("chat:new-message", 50);
    const meeting = await getMeeting(m.id, m.hostToken);
    expect(meeting.participantCount).toBe(1);
    const stats = await api("GET", `/api/meetings/${m.id}/stats`, { token: m.hostToken });
    expect(stats.body.stats.connectedSockets).toBe(1);
  });
});

describe("hosts answer over the socket", () => {
  it("acks lobby:admit and lobby:deny; a second answer is 404, a guest's FORBIDDEN", async () => {
    const m = await hostWithLobbyLink();
    const guest = await join(m.id, m.hostToken, "Linus");
    const guestSocket = await connect(m.id, guest.sessionToken);
    const grace = await waitingGuest(m.id, m.token, "Grace");
    const ada = await waitingGuest(m.id, m.token, "Mallory");

    const refused = await guestSocket.request({ type: "lobby:admit", data: { requestId: grace.requestId } });
    expect(refused.error?.code).toBe("FORBIDDEN");
    expect(await m.host.request({ type: "lobby:admit", data: { requestId: grace.requestId } })).toMatchObject({
      type: "ack",
    });
    await grace.lobby.next("lobby:admitted");
    const twice = await m.host.request({ type: "lobby:admit", data: { requestId: grace.requestId } });
    expect(twice.error?.code).toBe("NOT_FOUND");

    expect(
      await m.host.request({ type: "lobby:deny", data: { requestId: ada.requestId, reason: "sorry" } }),
    ).toMatchObject({ type: "ack" });
    expect((await ada.lobby.next("lobby:denied")).data).toEqual({ reason: "sorry" });
    const denyTwice = await m.host.request({ type: "lobby:deny", data: { requestId: ada.requestId } });
    expect(denyTwice.error?.code).toBe("NOT_FOUND");
    const invalid = await m.host.request({ type: "lobby:deny", data: { requestId: "" } });
    expect(invalid.error?.code).toBe("VALIDATION_FAILED");
  });

  it("answers lobby:admit on a full meeting with MEETING_FULL, and the guest keeps waiting", async () => {
    const m = await hostWithLobbyLink({ maxParticipants: 2 });
    const grace = await waitingGuest(m.id, m.token, "Grace");
    await join(m.id, m.hostToken, "Linus");
    const full = await m.host.request({ type: "lobby:admit", data: { requestId: grace.requestId } });
    expect(full.error?.code).toBe("MEETING_FULL");
    await grace.lobby.expectSilence(200);
    expect(grace.lobby.closeEvent).toBeUndefined();
    expect((await lobbyRows(m.id))[0]).toMatchObject({ id: grace.requestId, answer: null });
  });

  it("gives one outcome when the socket and REST admit the same guest at once", async () => {
    const m = await hostWithLobbyLink();
    const grace = await waitingGuest(m.id, m.token, "Grace");
    const [rest] = await Promise.all([
      admitRequest(m.id, m.hostToken, grace.requestId),
      deliverAtOnce(m.id, [
        { participantId: m.hostId, message: { type: "lobby:admit", data: { requestId: grace.requestId }, id: "a" } },
      ]),
    ]);
    const socketReply = await m.host.reply("a");
    const outcomes = [
      rest.status === 200 ? "ok" : rest.body.error.code,
      socketReply.type === "ack" ? "ok" : socketReply.error?.code,
    ];
    expect(outcomes.sort()).toEqual(["NOT_FOUND", "ok"]);
    await grace.lobby.next("lobby:admitted");
    expect((await getMeeting(m.id, m.hostToken)).participantCount).toBe(2);
    expect(m.host.count("lobby:left")).toBe(1);
  });
});

describe("revoking a link", () => {
  it("denies everyone waiting on it, and nobody waiting on another link", async () => {
    const m = await hostWithLobbyLink();
    const other = await mintLink(m.id, m.hostToken);
    const grace = await waitingGuest(m.id, m.token, "Grace");
    const linus = await waitingGuest(m.id, m.token, "Linus");
    const kept = await waitingGuest(m.id, other.token, "Ada");
    expect((await revokeLinkRequest(m.id, m.hostToken, m.link.id)).status).toBe(200);
    for (const guest of [grace, linus]) {
      expect((await guest.lobby.next("lobby:denied")).data.reason).toMatch(/revoked/);
      expect((await guest.lobby.closed()).code).toBe(4003);
    }
    const left = await m.host.all("lobby:left", 2);
    expect(left.map((f) => f.data).sort((a, b) => a.requestId.localeCompare(b.requestId))).toEqual(
      [grace.requestId, linus.requestId].sort().map((requestId) => ({ requestId, reason: "denied" })),
    );
    await kept.lobby.expectSilence(100);
    expect((await lobbyRows(m.id)).map((row) => row.id)).toEqual([kept.requestId]);
  });

  it("racing an admission, gives one outcome: admitted, or denied and not listed", async () => {
    const m = await hostWithLobbyLink();
    const grace = await waitingGuest(m.id, m.token, "Grace");
    await Promise.all([
      revokeLinkRequest(m.id, m.hostToken, m.link.id),
      deliverAtOnce(m.id, [
        { participantId: m.hostId, message: { type: "lobby:admit", data: { requestId: grace.requestId }, id: "a" } },
      ]),
    ]);
    const reply = await m.host.reply("a");
    const answer = await grace.lobby.find((f) => f.type === "lobby:admitted" || f.type === "lobby:denied");
    const listed = (await getMeeting(m.id, m.hostToken)).participantCount;
    if (answer.type === "lobby:admitted") {
      expect(reply.type).toBe("ack");
      expect(listed).toBe(2);
    } else {
      expect(reply.error?.code).toBe("NOT_FOUND");
      expect(listed).toBe(1);
    }
    expect(m.host.count("lobby:left")).toBe(1);
  });
});

describe("waits that end by themselves", () => {
  it("a guest who closes the lobby socket and comes back within the window is still waiting", async () => {
    const m = await hostWithLobbyLink();
    const grace = await waitingGuest(m.id, m.token, "Grace");
    grace.lobby.close();
    await grace.lobby.closed();
    // The alarm before the window ends changes nothing.
    await runDurableObjectAlarm(meetingObject(m.id));
    const back = await openLobby(m.id, grace.waitToken);
    await m.host.expectNo("lobby:left", 100);
    await admitRequest(m.id, m.hostToken, grace.requestId);
    await back.next("lobby:admitted");
  });

  it("a guest gone for 60 s leaves the lobby: hosts get lobby:left gone, the row and the wait token go", async () => {
    const m = await hostWithLobbyLink();
    const grace = await waitingGuest(m.id, m.token, "Grace");
    grace.lobby.close();
    await grace.lobby.closed();
    const row = (await lobbyRows(m.id))[0]!;
    expect(row.deadline as number).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(row.deadline as number).toBeGreaterThan(Date.now() + 50_000);
    await overdueWaits(m.id, grace.requestId);
    await runDurableObjectAlarm(meetingObject(m.id));
    expect((await m.host.next("lobby:left")).data).toEqual({ requestId: grace.requestId, reason: "gone" });
    expect(await lobbyRows(m.id)).toEqual([]);
    expect(await upgradeStatus(m.id, grace.waitToken)).toEqual({ status: 403, code: "FORBIDDEN" });
    expect((await admitRequest(m.id, m.hostToken, grace.requestId)).status).toBe(404);
  });

  it("a lobby socket silent for 60 s is dropped (1001) and its wait counts as away from then", async () => {
    const m = await hostWithLobbyLink();
    const grace = await waitingGuest(m.id, m.token, "Grace");
    await runInDurableObject(meetingObject(m.id), (_, state) => {
      for (const ws of state.getWebSockets(`lobby:${grace.requestId}`)) {
        ws.serializeAttachment({ ...ws.deserializeAttachment(), connectedAt: Date.now() - 61_000 });
      }
    });
    await runDurableObjectAlarm(meetingObject(m.id));
    expect((await grace.lobby.closed()).code).toBe(1001);
    const deadline = (await lobbyRows(m.id))[0]!.deadline as number;
    expect(deadline).toBeGreaterThan(Date.now() + 50_000);
    await m.host.expectNo("lobby:left", 100);
    await openLobby(m.id, grace.waitToken);
  });

  it("arms the alarm for a wait's end, with nobody connected and the meeting's expiry hours away", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { token } = await mintLink(meeting.id, hostToken);
    await knock(token);
    const [row] = await lobbyRows(meeting.id);
    const armedAt = await runInDurableObject(meetingObject(meeting.id), (_, state) => state.storage.getAlarm());
    expect(armedAt).toBeLessThanOrEqual(row!.deadline as number);
  });

  it("a guest who never opens the lobby socket is gone 60 s after knocking", async () => {
    const m = await hostWithLobbyLink();
    const { requestId } = await knock(m.token);
    const row = (await lobbyRows(m.id))[0]!;
    expect((row.deadline as number) - (row.requested_at as number)).toBe(60_000);
    await overdueWaits(m.id);
    await runDurableObjectAlarm(meetingObject(m.id));
    expect((await m.host.next("lobby:left")).data).toEqual({ requestId, reason: "gone" });
  });

  it("a wait whose token expires ends: the open socket gets lobby:denied and 4003, hosts lobby:left gone", async () => {
    const m = await hostWithLobbyLink();
    const grace = await waitingGuest(m.id, m.token, "Grace");
    const row = (await lobbyRows(m.id))[0]!;
    // While the socket is open the wait lasts as long as its token.
    expect(row.deadline).toBe(row.expires_at);
    await overdueWaits(m.id);
    await runDurableObjectAlarm(meetingObject(m.id));
    expect((await grace.lobby.next("lobby:denied")).data.reason).toMatch(/in time/);
    expect((await grace.lobby.closed()).code).toBe(4003);
    expect((await m.host.next("lobby:left")).data).toEqual({ requestId: grace.requestId, reason: "gone" });
    expect(await lobbyRows(m.id)).toEqual([]);
  });

  it("the meeting's end denies everyone waiting and empties the lobby", async () => {
    const m = await hostWithLobbyLink();
    const grace = await waitingGuest(m.id, m.token, "Grace");
    await knock(m.token, "Never connected");
    expect((await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken })).status).toBe(200);
    expect((await grace.lobby.next("lobby:denied")).data.reason).toMatch(/ended/);
    expect((await grace.lobby.closed()).code).toBe(4003);
    expect(await lobbyRows(m.id)).toEqual([]);
    expect(await upgradeStatus(m.id, grace.waitToken)).toEqual({ status: 403, code: "FORBIDDEN" });
  });
});

describe("a wait survives eviction and restart", () => {
  it("an open lobby socket still gets its answer after the object was evicted", async () => {
    const m = await hostWithLobbyLink();
    const grace = await waitingGuest(m.id, m.token, "Grace");
    await evictDurableObject(meetingObject(m.id));
    // The lobby socket is nobody in the meeting after the wake either: not counted, sent nothing of the meeting's.
    const stats = await api("GET", `/api/meetings/${m.id}/stats`, { token: m.hostToken });
    expect(stats.body.stats.connectedSockets).toBe(1);
    await m.host.request({ type: "chat:message", data: { text: "only for the meeting" } });
    await grace.lobby.expectSilence(100);
    await admitRequest(m.id, m.hostToken, grace.requestId);
    expect((await grace.lobby.next("lobby:admitted")).data.participant.name).toBe("Grace");
    expect((await grace.lobby.closed()).code).toBe(1000);
  });

  it("a guest and a host who reconnect after a restart find the wait as it was", async () => {
    const m = await hostWithLobbyLink();
    const grace = await waitingGuest(m.id, m.token, "Grace");
    grace.lobby.close();
    m.host.close();
    await grace.lobby.closed();
    await m.host.closed();
    await evictDurableObject(meetingObject(m.id));

    const host = await connect(m.id, m.hostToken);
    expect(host.frames[0]!.data.lobby).toEqual([
      { requestId: grace.requestId, name: "Grace", linkId: m.link.id, at: expect.any(String) },
    ]);
    const back = await openLobby(m.id, grace.waitToken);
    await evictDurableObject(meetingObject(m.id));
    expect((await host.request({ type: "lobby:deny", data: { requestId: grace.requestId } })).type).toBe("ack");
    expect((await back.next("lobby:denied")).data.reason).toEqual(expect.any(String));
    expect((await host.next("lobby:left")).data.reason).toBe("denied");
  });

  it("an answer given while the guest's socket was away is delivered when it comes back", async () => {
    const m = await hostWithLobbyLink();
    const grace = await waitingGuest(m.id, m.token, "Grace");
    grace.lobby.close();
    await grace.lobby.closed();
    const res = await admitRequest(m.id, m.hostToken, grace.requestId);
    expect(res.status).toBe(200);
    await evictDurableObject(meetingObject(m.id));
    const back = await openLobby(m.id, grace.waitToken);
    const admitted = await back.next("lobby:admitted");
    expect(admitted.data.participant.id).toBe(res.body.participant.id);
    expect((await back.closed()).code).toBe(1000);
    expect(await upgradeStatus(m.id, grace.waitToken)).toEqual({ status: 403, code: "FORBIDDEN" });
  });

  it("a second lobby socket of the same guest replaces the first (4009), and the wait goes on", async () => {
    const m = await hostWithLobbyLink();
    const grace = await waitingGuest(m.id, m.token, "Grace");
    const second = await openLobby(m.id, grace.waitToken);
    expect((await grace.lobby.closed()).code).toBe(4009);
    await m.host.expectNo("lobby:left", 100);
    await admitRequest(m.id, m.hostToken, grace.requestId);
    await second.next("lobby:admitted");
  });
});
