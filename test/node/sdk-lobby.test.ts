/**
 * Meeting links and the lobby in the SDK (contract 1.2), against a fake
 * server: a guest's `mt.join` with a lobby link says it waits, keeps its
 * place across a dropped socket and a reload (`mt.waitInLobby(ticket)`), and
 * settles as the host answers: admitted with the invite's joined answer,
 * denied or ended with a typed error. A host's connection keeps the lobby
 * live and answers with acked `lobby:admit`/`lobby:deny` frames.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LobbyTicket, MeetTimeError } from "../../src/client";
import type { JoinResult, LobbyEntryData } from "../../src/client/types";
import { fakeClient, json, meeting, NO_JITTER, openAndJoin, participant } from "./helpers/sdk-fakes";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const WAIT_TOKEN = "wait-token";
const SESSION_TOKEN = "session-token";
const TICKET: LobbyTicket = { meetingId: "m1", requestId: "r1", waitToken: WAIT_TOKEN };
const ICE = { iceServers: [{ urls: "stun:127.0.0.1:3478" }], iceServersExpiresAt: "2026-12-01T11:00:00.000Z" };

const admitted = {
  type: "lobby:admitted",
  data: { participant: participant("grace"), sessionToken: SESSION_TOKEN, ...ICE, media: { mode: "mesh" } },
};

/** A server whose join answers `202` for a lobby link, and whose `GET` of the meeting knows only the session token. */
function lobbyServer(getMeeting: (token: string | null) => Response = okForSession) {
  const joins: unknown[] = [];
  const fake = fakeClient(async (url, init) => {
    if (url.pathname === "/api/meetings/join") {
      joins.push(JSON.parse(String(init.body)));
      return json({ status: "waiting", requestId: "r1", waitToken: WAIT_TOKEN, wsUrl: "/api/meetings/m1/ws" }, 202);
    }
    const token = new Headers(init.headers).get("authorization")?.replace("Bearer ", "") ?? null;
    return getMeeting(token);
  });
  return { ...fake, joins };
}

function okForSession(token: string | null): Response {
  return token === SESSION_TOKEN
    ? json({ meeting: meeting() })
    : json({ error: { code: "FORBIDDEN", message: "a wait token reads nothing" } }, 403);
}

/** The promise's outcome so far: `pending`, the value, or the error's code. */
function track<T>(promise: Promise<T>) {
  const outcome: { state: "pending" | "resolved" | "rejected"; value?: T; error?: MeetTimeError } = {
    state: "pending",
  };
  promise.then(
    (value) => Object.assign(outcome, { state: "resolved", value }),
    (error) => Object.assign(outcome, { state: "rejected", error }),
  );
  return outcome;
}

describe("a guest's join with a lobby link", () => {
  it("says it waits, then resolves with the joined answer once admitted", async () => {
    const { mt, sockets, requests, joins } = lobbyServer();
    const tickets: LobbyTicket[] = [];
    const outcome = track(mt.join("link-token", "Grace", { onWaiting: (ticket) => tickets.push(ticket) }));
    await vi.advanceTimersByTimeAsync(0);

    expect(joins).toEqual([{ token: "link-token", displayName: "Grace" }]);
    expect(tickets).toEqual([TICKET]);
    const socket = sockets[0]!;
    expect(new URL(socket.url).pathname).toBe("/api/meetings/m1/ws");
    expect(socket.protocols).toEqual(["meettime", WAIT_TOKEN]);
    socket.open();
    socket.receive({ type: "lobby:waiting", data: { requestId: "r1" } });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(outcome.state).toBe("pending");

    socket.receive(admitted);
    await vi.advanceTimersByTimeAsync(0);
    expect(outcome.state).toBe("resolved");
    const joined = outcome.value as JoinResult;
    expect(joined).toMatchObject({
      meeting: { id: "m1" },
      participant: { id: "grace" },
      sessionToken: SESSION_TOKEN,
      wsUrl: "/api/meetings/m1/ws",
      ...ICE,
    });
    // The meeting was read with the new session token, never with the wait token.
    expect(requests.at(-1)?.pathname).toBe("/api/meetings/m1");
    expect(socket.closedByClient).toBe(1000);
  });

  it("rejects with LOBBY_DENIED and the host's reason", async () => {
    const { mt, sockets } = lobbyServer();
    const outcome = track(mt.join("link-token", "Eve"));
    await vi.advanceTimersByTimeAsync(0);
    sockets[0]!.open();
    sockets[0]!.receive({ type: "lobby:waiting", data: { requestId: "r1" } });
    sockets[0]!.receive({ type: "lobby:denied", data: { reason: "Team members only" } });
    sockets[0]!.closeFromServer(4003);
    await vi.advanceTimersByTimeAsync(0);
    expect(outcome.state).toBe("rejected");
    expect(outcome.error).toMatchObject({ code: "LOBBY_DENIED", details: { reason: "Team members only" } });
    expect(sockets).toHaveLength(1);
  });

  it("keeps its place across a dropped socket: reconnects with the same wait token", async () => {
    const { mt, sockets } = lobbyServer();
    const outcome = track(mt.join("link-token", "Grace", NO_JITTER));
    await vi.advanceTimersByTimeAsync(0);
    sockets[0]!.open();
    sockets[0]!.receive({ type: "lobby:waiting", data: { requestId: "r1" } });
    sockets[0]!.closeFromServer(1006);
    await vi.advanceTimersByTimeAsync(100);
    expect(sockets).toHaveLength(2);
    expect(sockets[1]!.protocols).toEqual(["meettime", WAIT_TOKEN]);
    sockets[1]!.open();
    sockets[1]!.receive({ type: "lobby:waiting", data: { requestId: "r1" } });
    sockets[1]!.receive(admitted);
    await vi.advanceTimersByTimeAsync(0);
    expect(outcome.state).toBe("resolved");
  });

  it("resumes a wait from its ticket after a reload", async () => {
    const { mt, sockets, joins } = lobbyServer();
    const outcome = track(mt.waitInLobby(TICKET));
    await vi.advanceTimersByTimeAsync(0);
    expect(joins).toEqual([]);
    expect(sockets[0]!.protocols).toEqual(["meettime", WAIT_TOKEN]);
    sockets[0]!.open();
    sockets[0]!.receive(admitted);
    await vi.advanceTimersByTimeAsync(0);
    expect(outcome.value?.sessionToken).toBe(SESSION_TOKEN);
  });

  it("ends the wait when the server no longer takes the wait token (401)", async () => {
    const { mt, sockets } = lobbyServer(() => json({ error: { code: "UNAUTHORIZED", message: "expired" } }, 401));
    const outcome = track(mt.waitInLobby(TICKET, NO_JITTER));
    await vi.advanceTimersByTimeAsync(0);
    // Refused before any frame: the browser cannot read why, so REST is asked.
    sockets[0]!.closeFromServer(1006);
    await vi.advanceTimersByTimeAsync(0);
    expect(outcome.error).toMatchObject({ code: "LOBBY_WAIT_ENDED", details: { why: "expired" } });
    expect(sockets).toHaveLength(1);
  });

  it("retries refused attempts while the wait token is valid, then gives up", async () => {
    const { mt, sockets } = lobbyServer();
    const outcome = track(mt.waitInLobby(TICKET, { ...NO_JITTER, maxRefusals: 3 }));
    for (let attempt = 0; attempt < 3; attempt++) {
      await vi.advanceTimersByTimeAsync(10_000);
      sockets[attempt]!.closeFromServer(1006);
    }
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sockets).toHaveLength(3);
    expect(outcome.error).toMatchObject({ code: "LOBBY_WAIT_ENDED", details: { why: "refused" } });
  });

  it("says the meeting ended when it ends during the wait", async () => {
    const { mt, sockets } = lobbyServer();
    const outcome = track(mt.waitInLobby(TICKET));
    await vi.advanceTimersByTimeAsync(0);
    sockets[0]!.open();
    sockets[0]!.receive({ type: "lobby:waiting", data: { requestId: "r1" } });
    sockets[0]!.closeFromServer(4000);
    await vi.advanceTimersByTimeAsync(0);
    expect(outcome.error).toMatchObject({ code: "MEETING_ENDED", status: 410 });
  });

  it("stops waiting when the app aborts, and closes the socket", async () => {
    const { mt, sockets } = lobbyServer();
    const stop = new AbortController();
    const outcome = track(mt.waitInLobby(TICKET, { signal: stop.signal }));
    await vi.advanceTimersByTimeAsync(0);
    sockets[0]!.open();
    stop.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(outcome.error).toMatchObject({ code: "CLOSED" });
    expect(sockets[0]!.closedByClient).toBe(1000);
  });

  it("joins at once with a link that has no lobby, as with an invite", async () => {
    const joinedAnswer = {
      meeting: meeting(),
      participant: participant("grace"),
      sessionToken: "s",
      wsUrl: "/api/meetings/m1/ws",
      ...ICE,
    };
    const { mt, sockets } = fakeClient(() => json(joinedAnswer));
    const onWaiting = vi.fn();
    await expect(mt.join("link-token", "Grace", { onWaiting })).resolves.toEqual(joinedAnswer);
    expect(onWaiting).not.toHaveBeenCalled();
    expect(sockets).toEqual([]);
  });
});

const entry = (requestId: string, name = requestId): LobbyEntryData => ({
  requestId,
  name,
  linkId: "l1",
  at: "2026-12-01T10:00:00.000Z",
});

/** The host's `meeting:joined`, with the lobby as the server lists it. */
const hostJoined = (lobby: LobbyEntryData[]) => ({
  type: "meeting:joined" as const,
  data: { self: participant("ada", "host"), meeting: meeting(), chat: [], media: { mode: "mesh" as const }, lobby },
});

describe("a host's lobby on the connection", () => {
  it("keeps the lobby live from the join, knocks and leaves; a rejoin brings the server's list", async () => {
    const { sockets, connect } = fakeClient();
    const conn = connect(NO_JITTER);
    const knocks: string[] = [];
    conn.on("lobby:knock", (knock) => knocks.push(knock.name));
    sockets[0]!.open();
    sockets[0]!.receive(hostJoined([entry("r1", "Grace")]));
    expect(conn.lobby.map((e) => e.name)).toEqual(["Grace"]);

    sockets[0]!.receive({ type: "lobby:knock", data: entry("r2", "Linus") });
    sockets[0]!.receive({ type: "lobby:knock", data: entry("r2", "Linus") });
    expect(knocks).toEqual(["Linus", "Linus"]);
    expect(conn.lobby.map((e) => e.requestId)).toEqual(["r1", "r2"]);
    sockets[0]!.receive({ type: "lobby:left", data: { requestId: "r1", reason: "gone" } });
    expect(conn.lobby.map((e) => e.requestId)).toEqual(["r2"]);

    // While away, r2 was answered elsewhere and r3 knocked: the new join's list replaces the old one.
    sockets[0]!.closeFromServer(1006);
    await vi.advanceTimersByTimeAsync(100);
    sockets[1]!.open();
    sockets[1]!.receive(hostJoined([entry("r3")]));
    expect(conn.lobby.map((e) => e.requestId)).toEqual(["r3"]);
    conn.close();
  });

  it("admits and denies with acked frames, and rejects with the server's error", async () => {
    const { sockets, connect } = fakeClient();
    const conn = connect();
    openAndJoin(sockets[0]);
    const admit = track(conn.admit("r1"));
    const deny = track(conn.deny("r2", "Not this time"));
    const again = track(conn.deny("r1"));
    const [admitFrame] = sockets[0]!.sentOf("lobby:admit");
    const denyFrames = sockets[0]!.sentOf("lobby:deny");
    expect(admitFrame.data).toEqual({ requestId: "r1" });
    expect(denyFrames.map((frame) => frame.data)).toEqual([
      { requestId: "r2", reason: "Not this time" },
      { requestId: "r1" },
    ]);
    sockets[0]!.receive({ type: "ack", id: admitFrame.id });
    sockets[0]!.receive({ type: "ack", id: denyFrames[0].id });
    sockets[0]!.receive({
      type: "error",
      id: denyFrames[1].id,
      error: { code: "NOT_FOUND", message: "no such request" },
    });
    await vi.advanceTimersByTimeAsync(0);
    expect([admit.state, deny.state]).toEqual(["resolved", "resolved"]);
    expect(again.error).toMatchObject({ code: "NOT_FOUND", status: 404 });
    conn.close();
  });
});
