/**
 * Restarts: a `wrangler dev` is stopped with clients connected, cleanly and
 * then as a crash (SIGKILL), and started again on the same storage. What was
 * acknowledged before the stop is there after it: meetings and their
 * versions, spent and unspent join tokens, revoked sessions, participant
 * state and chat history with its numbering. Clients come back with their
 * session tokens and `since=` and see one consistent meeting.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientFor, FAULT_JOINED_MS, LiveSocket, seqsSeen } from "./helpers/client";
import { type RestartableServer, restartableServer } from "./helpers/restart-server";

/** A killed server's sockets may take a while to be reported closed on a busy machine. */
const CLOSE_MS = 30_000;

let server: RestartableServer;
const client = clientFor(() => server.baseUrl, { joinedTimeoutMs: FAULT_JOINED_MS });

beforeAll(async () => {
  server = await restartableServer();
  await server.start();
}, 180_000);

afterAll(async () => {
  await server?.dispose();
}, 60_000);

async function chat(socket: LiveSocket, text: string): Promise<void> {
  const reply = await socket.request({ type: "chat:message", data: { text } });
  expect(reply.type, JSON.stringify(reply)).toBe("ack");
}

describe("a server restart on the same storage", () => {
  it("keeps meetings, versions, tokens, revocations and chat, and clients resume with since=", async () => {
    // --- before: a meeting with history of every kind
    const meeting = await client.createMeeting({ durationMinutes: 30 });
    const { id, hostToken } = meeting;
    const [graceInvite, linusInvite, unusedInvite] = (await client.mintJoinTokens(id, hostToken, 3)) as [
      string,
      string,
      string,
    ];
    const grace = await client.join(graceInvite, "Grace");
    const linus = await client.join(linusInvite, "Linus");
    for (const durationMinutes of [45, 50]) {
      const res = await client.api("PUT", `/api/meetings/${id}/datetime`, {
        token: hostToken,
        body: { durationMinutes },
      });
      expect(res.status).toBe(200);
    }
    const ended = await client.createMeeting();
    expect((await client.api("DELETE", `/api/meetings/${ended.id}`, { token: ended.hostToken })).status).toBe(200);

    const host = await client.connect(id, hostToken);
    const graceSocket = await client.connect(id, grace.sessionToken);
    const linusSocket = await client.connect(id, linus.sessionToken);
    expect((await graceSocket.request({ type: "participant:update", data: { audio: false } })).type).toBe("ack");
    for (const text of ["one", "two", "three"]) await chat(host, text);
    await graceSocket.next("chat:new-message");
    await graceSocket.next("chat:new-message");
    expect((await graceSocket.next("chat:new-message")).data.seq).toBe(3);
    // Grace drops after seq 3; four more messages go by while she is away.
    graceSocket.ws.close(1000, "away");
    await host.next("meeting:participant-left");
    for (const text of ["four", "five", "six", "seven"]) await chat(host, text);
    const kick = await client.api("POST", `/api/meetings/${id}/kick`, {
      token: hostToken,
      body: { participantId: linus.id },
    });
    expect(kick.status).toBe(200);
    expect((await linusSocket.next("meeting:kicked")).data.reason).toBeTypeOf("string");
    const before = (await client.api("GET", `/api/meetings/${id}`, { token: hostToken })).body.meeting;
    expect(before.version).toBe(3);

    // --- the stop: a clean shutdown with the host still connected
    await server.stop("SIGTERM");
    await host.closed(CLOSE_MS);
    await server.start();

    // --- after: everything acknowledged before is there
    const after = (await client.api("GET", `/api/meetings/${id}`, { token: hostToken })).body.meeting;
    expect(after).toEqual({
      ...before,
      participants: before.participants.map((p: any) => ({ ...p, connected: false })),
    });
    expect(after.participants.map((p: any) => p.name)).toEqual(["Ada", "Grace"]);
    expect(after.participants[1].state.audio).toBe(false);
    // A spent invite stays spent; an unspent one still works once.
    const again = await client.api("POST", "/api/meetings/join", { body: { token: graceInvite, displayName: "Eve" } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("TOKEN_ALREADY_USED");
    const late = await client.join(unusedInvite, "Late");
    // The kicked session stays revoked.
    expect((await client.api("GET", `/api/meetings/${id}`, { token: linus.sessionToken })).status).toBe(403);
    const linusBack = await client.open(id, linus.sessionToken);
    expect(linusBack instanceof LiveSocket ? "connected" : linusBack.status).toBe(403);
    // The ended meeting is still ended.
    const endedAfter = await client.api("GET", `/api/meetings/${ended.id}`, { token: ended.hostToken });
    expect(endedAfter.body.meeting.status).toBe("ended");
    expect(
      (await client.api("POST", `/api/meetings/${ended.id}/tokens`, { token: ended.hostToken, body: {} })).status,
    ).toBe(410);

    // Clients resume: the host with what it saw last, Grace from seq 3.
    const hostAgain = await client.connect(id, hostToken, { since: 7 });
    expect(hostAgain.frames[0]!.data.chat).toEqual([]);
    const graceAgain = await client.connect(id, grace.sessionToken, { since: 3 });
    expect(seqsSeen(graceAgain)).toEqual([4, 5, 6, 7]);
    expect(graceAgain.frames[0]!.data.chat.map((m: any) => m.text)).toEqual(["four", "five", "six", "seven"]);
    const joinedView = graceAgain.frames[0]!.data.meeting;
    expect(joinedView.version).toBe(3);
    expect(joinedView.participants.map((p: any) => [p.name, p.connected])).toEqual([
      ["Ada", true],
      ["Grace", true],
      ["Late", false],
    ]);
    expect((await hostAgain.next("meeting:participant-joined")).data.participant.id).toBe(grace.id);
    // Numbering and versions continue where they were.
    await chat(graceAgain, "eight");
    expect((await hostAgain.next("chat:new-message")).data.seq).toBe(8);
    const stale = await client.api("PUT", `/api/meetings/${id}/datetime`, {
      token: hostToken,
      body: { durationMinutes: 55, expectedVersion: 1 },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.details.meeting.version).toBe(3);
    const fresh = await client.api("PUT", `/api/meetings/${id}/datetime`, {
      token: hostToken,
      body: { durationMinutes: 55, expectedVersion: 3 },
    });
    expect(fresh.body.meeting.version).toBe(4);
    expect((await graceAgain.next("meeting:datetime:changed")).data.meeting.version).toBe(4);

    // --- a crash: SIGKILL with two sockets open, right after acknowledged writes
    await chat(hostAgain, "nine");
    const lateSocket = await client.connect(id, late.sessionToken);
    expect((await lateSocket.request({ type: "participant:update", data: { handRaised: true } })).type).toBe("ack");
    await server.stop("SIGKILL");
    await Promise.all([hostAgain.closed(CLOSE_MS), graceAgain.closed(CLOSE_MS), lateSocket.closed(CLOSE_MS)]);
    await server.start();

    const graceThird = await client.connect(id, grace.sessionToken, { since: 8 });
    expect(graceThird.frames[0]!.data.chat.map((m: any) => [m.seq, m.text])).toEqual([[9, "nine"]]);
    const crashed = (await client.api("GET", `/api/meetings/${id}`, { token: hostToken })).body.meeting;
    expect(crashed.version).toBe(4);
    expect(crashed.durationMinutes).toBe(55);
    expect(crashed.participants.map((p: any) => [p.name, p.connected, p.state.handRaised])).toEqual([
      ["Ada", false, false],
      ["Grace", true, false],
      ["Late", false, true],
    ]);
    const everything = await client.connect(id, hostToken, { since: 0 });
    expect(seqsSeen(everything)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const socket of [graceThird, everything]) socket.ws.close();
  }, 300_000);
});
