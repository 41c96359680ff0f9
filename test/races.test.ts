/**
 * Races: many requests for the same thing at once, in every order the
 * runtime lets them interleave. Whatever the order, the contract's outcome
 * holds: one winner for one token or one version, never more participants
 * than allowed, no kicked participant left connected, nobody joined into an
 * ended meeting, and chat numbered without gaps or doubles.
 */
import { describe, expect, it } from "vitest";
import { createMeeting, mintJoinTokens } from "./helpers/api";
import { type Answer, acceptSocket, call, connectDirect, upgradeDirect } from "./helpers/dispatch";
import { snapshotMeeting } from "./helpers/snapshot";
import type { Frame, TestSocket } from "./helpers/sockets";

const WAIT_MS = 15_000;

function joinWith(token: string, displayName: string): Promise<Answer> {
  return call("POST", "/api/meetings/join", { body: { token, displayName } });
}

function expectCode(answer: Answer, status: number, code: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body.error.code).toBe(code);
}

async function readMeeting(meetingId: string, token: string) {
  const answer = await call("GET", `/api/meetings/${meetingId}`, { token });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.meeting;
}

/**
 * Starts every task, in a random order, without waiting in between; the
 * promises come back in the tasks' own order. Rounds then differ in which
 * request reaches the meeting first.
 */
function startShuffled<T>(tasks: (() => Promise<T>)[]): Promise<T>[] {
  const order = tasks.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const started: Promise<T>[] = new Array(tasks.length);
  for (const i of order) started[i] = tasks[i]!();
  return started;
}

async function request(socket: TestSocket, frame: { type: string; data: unknown }) {
  const id = crypto.randomUUID();
  socket.send({ ...frame, id });
  return socket.reply(id, WAIT_MS);
}

describe("racing redemptions of one join token", () => {
  it("exactly one of twenty simultaneous joins wins; the rest are 409 TOKEN_ALREADY_USED", async () => {
    const created = await createMeeting();
    const meetingId = created.meeting.id;
    const [token] = (await mintJoinTokens(meetingId, created.hostToken)) as [string];
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => joinWith(token, `Racer ${i}`)));

    const winners = answers.filter((a) => a.status === 200);
    expect(winners).toHaveLength(1);
    for (const loser of answers.filter((a) => a.status !== 200)) expectCode(loser, 409, "TOKEN_ALREADY_USED");
    const winner = winners[0]!.body.participant;
    const meeting = await readMeeting(meetingId, created.hostToken);
    expect(meeting.participants.map((p: any) => p.id)).toEqual([created.participant.id, winner.id]);
    const stored = await snapshotMeeting(meetingId);
    expect(stored.join_token).toHaveLength(1);
    expect(stored.join_token![0]!.participant_id).toBe(winner.id);
    expect(stored.participant).toHaveLength(2);
  });
});

describe("racing datetime updates on one version", () => {
  it("exactly one update carrying the same expected version wins, over REST and WebSocket alike", async () => {
    const created = await createMeeting({ durationMinutes: 60 });
    const meetingId = created.meeting.id;
    const [guestToken] = (await mintJoinTokens(meetingId, created.hostToken)) as [string];
    const guest = await joinWith(guestToken, "Watcher");
    const observer = await connectDirect(meetingId, guest.body.sessionToken);
    const hostSocket = await connectDirect(meetingId, created.hostToken);

    // Each contender asks for a different duration, so the winner is recognisable in every answer.
    const rest = Array.from({ length: 8 }, (_, i) =>
      call("PUT", `/api/meetings/${meetingId}/datetime`, {
        token: created.hostToken,
        body: { durationMinutes: 100 + i, expectedVersion: 1 },
      }).then((a) => ({ duration: 100 + i, ok: a.status === 200, error: a.body.error, status: a.status })),
    );
    const ifMatch = Array.from({ length: 3 }, (_, i) =>
      call("PUT", `/api/meetings/${meetingId}/datetime`, {
        token: created.hostToken,
        headers: { "if-match": '"1"' },
        body: { durationMinutes: 200 + i },
      }).then((a) => ({ duration: 200 + i, ok: a.status === 200, error: a.body.error, status: a.status })),
    );
    const socket = Array.from({ length: 4 }, (_, i) => {
      const id = `update-${i}`;
      hostSocket.send({ type: "meeting:datetime:update", id, data: { durationMinutes: 300 + i, expectedVersion: 1 } });
      return hostSocket.reply(id, WAIT_MS).then((f) => ({
        duration: 300 + i,
        ok: f.type === "ack",
        error: f.error as any,
        status: f.type === "ack" ? 200 : 409,
      }));
    });
    const outcomes = await Promise.all([...rest, ...ifMatch, ...socket]);

    const won = outcomes.filter((o) => o.ok);
    expect(won, JSON.stringify(outcomes)).toHaveLength(1);
    const winner = won[0]!.duration;
    for (const lost of outcomes.filter((o) => !o.ok)) {
      expect(lost.status).toBe(409);
      expect(lost.error.code).toBe("VERSION_CONFLICT");
      // The refusal carries the winner's state, so the client can rebase on it.
      expect(lost.error.details.meeting.version).toBe(2);
      expect(lost.error.details.meeting.durationMinutes).toBe(winner);
    }
    const meeting = await readMeeting(meetingId, created.hostToken);
    expect(meeting.version).toBe(2);
    expect(meeting.durationMinutes).toBe(winner);
    const changed = await observer.next("meeting:datetime:changed", WAIT_MS);
    expect(changed.data.meeting.durationMinutes).toBe(winner);
    await observer.expectNo("meeting:datetime:changed", 200);
    observer.close();
    hostSocket.close();
  });
});

describe("racing joins against maxParticipants", () => {
  it("twelve simultaneous joins into four free places: four join, eight are 409 MEETING_FULL", async () => {
    const created = await createMeeting({ maxParticipants: 5 });
    const meetingId = created.meeting.id;
    const tokens = await mintJoinTokens(meetingId, created.hostToken, { count: 12 });
    const answers = await Promise.all(tokens.map((token, i) => joinWith(token, `Guest ${i}`)));

    expect(answers.filter((a) => a.status === 200)).toHaveLength(4);
    for (const full of answers.filter((a) => a.status !== 200)) expectCode(full, 409, "MEETING_FULL");
    const meeting = await readMeeting(meetingId, created.hostToken);
    expect(meeting.participantCount).toBe(5);
    expect(meeting.participants).toHaveLength(5);
  });

  it("joins racing leaves never take the meeting over its limit", async () => {
    const created = await createMeeting({ maxParticipants: 4 });
    const meetingId = created.meeting.id;
    const seats = await mintJoinTokens(meetingId, created.hostToken, { count: 3 });
    const seated = await Promise.all(seats.map((token, i) => joinWith(token, `Seated ${i}`)));
    expect(seated.every((a) => a.status === 200)).toBe(true);

    const tokens = await mintJoinTokens(meetingId, created.hostToken, { count: 8 });
    const leaves = seated
      .slice(0, 2)
      .map((s) => call("POST", `/api/meetings/${meetingId}/leave`, { token: s.body.sessionToken }));
    const joins = tokens.map((token, i) => joinWith(token, `Late ${i}`));
    const [left, joined] = await Promise.all([Promise.all(leaves), Promise.all(joins)]);

    expect(left.every((a) => a.status === 200)).toBe(true);
    const admitted = joined.filter((a) => a.status === 200).length;
    for (const refused of joined.filter((a) => a.status !== 200)) expectCode(refused, 409, "MEETING_FULL");
    // At most the two freed places were taken, and never more than the limit.
    expect(admitted).toBeLessThanOrEqual(2);
    const meeting = await readMeeting(meetingId, created.hostToken);
    expect(meeting.participantCount).toBe(4 - 2 + admitted);
    expect(meeting.participantCount).toBeLessThanOrEqual(4);
  });
});

describe("kick racing reconnect", () => {
  /** Runs one race and checks that the kicked participant ends neither connected nor listed. */
  async function raceKickAgainstReconnects(options: { kickOverSocket: boolean; wasConnected: boolean }) {
    const created = await createMeeting();
    const meetingId = created.meeting.id;
    const [token] = (await mintJoinTokens(meetingId, created.hostToken)) as [string];
    const guest = (await joinWith(token, "Mallory")).body;
    const guestId = guest.participant.id as string;
    const host = await connectDirect(meetingId, created.hostToken);
    const first = await connectDirect(meetingId, guest.sessionToken);
    if (!options.wasConnected) {
      first.close();
      await host.nextWhere("meeting:participant-left", (f) => f.data.participantId === guestId, WAIT_MS);
    }

    const kick = () =>
      options.kickOverSocket
        ? request(host, { type: "host:kick-participant", data: { participantId: guestId } })
        : call("POST", `/api/meetings/${meetingId}/kick`, {
            token: created.hostToken,
            body: { participantId: guestId },
          });
    const reconnect = () => upgradeDirect(meetingId, guest.sessionToken);
    const [kicked, ...upgrades] = (await Promise.all(
      startShuffled<unknown>([kick, ...Array.from({ length: 6 }, () => reconnect)]),
    )) as [Answer | Frame, ...Response[]];

    if ("status" in kicked) expect(kicked.status, JSON.stringify(kicked.body)).toBe(200);
    else expect(kicked.type, JSON.stringify(kicked)).toBe("ack");
    const sockets: TestSocket[] = [];
    for (const response of upgrades) {
      if (response.status === 101) sockets.push(acceptSocket(response));
      else {
        expect(response.status).toBe(403);
        expect(((await response.json()) as any).error.code).toBe("FORBIDDEN");
      }
    }
    if (options.wasConnected) sockets.push(first);
    // Every socket the guest got is closed by the server: kicked (4003) or replaced by a newer one (4009).
    for (const socket of sockets) {
      const closed = await socket.closed(WAIT_MS);
      expect([4003, 4009]).toContain(closed.code);
    }
    expect(sockets.filter((s) => s.closeEvent?.code === 4003).length).toBeLessThanOrEqual(1);

    const meeting = await readMeeting(meetingId, created.hostToken);
    expect(meeting.participants.map((p: any) => p.id)).toEqual([created.participant.id]);
    expect((await upgradeDirect(meetingId, guest.sessionToken)).status).toBe(403);
    // The host's last word about the guest's presence is the kick.
    const presence = host.frames.filter(
      (f) =>
        (f.type === "meeting:participant-joined" && f.data.participant.id === guestId) ||
        (f.type === "meeting:participant-left" && f.data.participantId === guestId),
    );
    expect(presence.at(-1)?.type).toBe("meeting:participant-left");
    expect(presence.at(-1)?.data.reason).toBe("kicked");
    host.close();
  }

  for (const kickOverSocket of [false, true]) {
    for (const wasConnected of [true, false]) {
      it(`a kick ${kickOverSocket ? "over the socket" : "over REST"} racing reconnects of a ${wasConnected ? "connected" : "disconnected"} participant leaves it out`, async () => {
        for (let round = 0; round < 3; round++) await raceKickAgainstReconnects({ kickOverSocket, wasConnected });
      });
    }
  }
});

describe("kick racing leave", () => {
  it("a participant kicked while leaving is removed once: one of the two wins, the other is refused", async () => {
    for (let round = 0; round < 5; round++) {
      const created = await createMeeting();
      const meetingId = created.meeting.id;
      const [token] = (await mintJoinTokens(meetingId, created.hostToken)) as [string];
      const guest = (await joinWith(token, "Grace")).body;
      const host = await connectDirect(meetingId, created.hostToken);
      const [kicked, left] = (await Promise.all(
        startShuffled<Answer>([
          () =>
            call("POST", `/api/meetings/${meetingId}/kick`, {
              token: created.hostToken,
              body: { participantId: guest.participant.id },
            }),
          () => call("POST", `/api/meetings/${meetingId}/leave`, { token: guest.sessionToken }),
        ]),
      )) as [Answer, Answer];

      const outcome = `kick ${kicked.status}, leave ${left.status}`;
      // Kick first: the leave finds a revoked session (403). Leave first: the kick finds nobody listed (404).
      expect(["200/403", "404/200"], outcome).toContain(`${kicked.status}/${left.status}`);
      const reason = kicked.status === 200 ? "kicked" : "left";
      const notice = await host.nextWhere(
        "meeting:participant-left",
        (f) => f.data.participantId === guest.participant.id,
        WAIT_MS,
      );
      expect(notice.data.reason).toBe(reason);
      await host.expectNo("meeting:participant-left", 200);
      const meeting = await readMeeting(meetingId, created.hostToken);
      expect(meeting.participants.map((p: any) => p.id)).toEqual([created.participant.id]);
      const stored = await snapshotMeeting(meetingId);
      expect(stored.participant!.find((p) => p.id === guest.participant.id)?.removed_reason).toBe(reason);
      host.close();
    }
  });
});

describe("one participant connecting many times at once", () => {
  it("ends with exactly one live socket, listed once, and the others see a single join", async () => {
    const created = await createMeeting();
    const meetingId = created.meeting.id;
    const [token] = (await mintJoinTokens(meetingId, created.hostToken)) as [string];
    const guest = (await joinWith(token, "Grace")).body;
    const host = await connectDirect(meetingId, created.hostToken);

    const responses = await Promise.all(Array.from({ length: 6 }, () => upgradeDirect(meetingId, guest.sessionToken)));
    expect(responses.map((r) => r.status)).toEqual(Array(6).fill(101));
    const sockets = responses.map(acceptSocket);
    // All but one are replaced (4009, after session:replaced); exactly one stays.
    await Promise.all(
      sockets.map((socket) => Promise.race([socket.closed(WAIT_MS), socket.next("meeting:joined", WAIT_MS)])),
    );
    const replaced = await Promise.all(
      sockets.map((socket) =>
        socket
          .closed(2_000)
          .then((closed) => closed.code)
          .catch(() => "open"),
      ),
    );
    expect(replaced.filter((code) => code === "open")).toHaveLength(1);
    expect(replaced.filter((code) => code !== "open").every((code) => code === 4009)).toBe(true);
    const survivor = sockets[replaced.indexOf("open")]!;
    expect((await request(survivor, { type: "chat:message", data: { text: "it is me" } })).type).toBe("ack");

    const meeting = await readMeeting(meetingId, created.hostToken);
    expect(meeting.participants.map((p: any) => [p.id, p.connected])).toEqual([
      [created.participant.id, true],
      [guest.participant.id, true],
    ]);
    const presence = host.frames.filter(
      (f) =>
        (f.type === "meeting:participant-joined" && f.data.participant.id === guest.participant.id) ||
        (f.type === "meeting:participant-left" && f.data.participantId === guest.participant.id),
    );
    expect(presence.map((f) => f.type)).toEqual(["meeting:participant-joined"]);
    survivor.close();
    host.close();
  });
});

describe("terminate racing join", () => {
  it("every join is a success from before the end or 410, and nobody is joined into the ended meeting", async () => {
    const created = await createMeeting();
    const meetingId = created.meeting.id;
    const tokens = await mintJoinTokens(meetingId, created.hostToken, { count: 10 });
    const present = (await joinWith((await mintJoinTokens(meetingId, created.hostToken))[0]!, "Early")).body;

    const racing = startShuffled<unknown>([
      () => call("DELETE", `/api/meetings/${meetingId}`, { token: created.hostToken }),
      ...tokens.map((token, i) => () => joinWith(token, `Racer ${i}`)),
      () => upgradeDirect(meetingId, present.sessionToken),
      () => upgradeDirect(meetingId, created.hostToken),
    ]);
    const [ended, ...rest] = (await Promise.all(racing)) as [Answer, ...unknown[]];
    const joins = rest.slice(0, tokens.length) as Answer[];
    const connects = rest.slice(tokens.length) as Response[];

    expect(ended.status).toBe(200);
    expect(ended.body.meeting.status).toBe("ended");
    const endedAt = Date.parse(ended.body.meeting.updatedAt);
    const sessions: string[] = [];
    for (const answer of joins) {
      if (answer.status === 200) {
        expect(answer.body.meeting.status).toBe("active");
        expect(Date.parse(answer.body.participant.joinedAt)).toBeLessThanOrEqual(endedAt);
        sessions.push(answer.body.sessionToken);
      } else {
        expectCode(answer, 410, "MEETING_ENDED");
      }
    }
    // A socket that got in before the end is told and closed with 4000; later ones are refused with 410.
    for (const response of connects) {
      if (response.status === 101) {
        const socket = acceptSocket(response);
        await socket.next("meeting:terminated", WAIT_MS);
        expect((await socket.closed(WAIT_MS)).code).toBe(4000);
      } else {
        expect(response.status).toBe(410);
      }
    }
    const meeting = await readMeeting(meetingId, created.hostToken);
    expect(meeting.status).toBe("ended");
    expect(meeting.participants.map((p: any) => p.id)).toEqual([created.participant.id]);
    for (const session of sessions) {
      expect((await upgradeDirect(meetingId, session)).status).toBe(410);
      expectCode(await call("POST", `/api/meetings/${meetingId}/leave`, { token: session }), 410, "MEETING_ENDED");
    }
    expectCode(
      await call("POST", `/api/meetings/${meetingId}/tokens`, { token: created.hostToken, body: {} }),
      410,
      "MEETING_ENDED",
    );
  });
});

describe("racing chat from many participants", () => {
  it("simultaneous messages get consecutive seq numbers, each delivered once and in order to everyone", async () => {
    const created = await createMeeting();
    const meetingId = created.meeting.id;
    const tokens = await mintJoinTokens(meetingId, created.hostToken, { count: 4 });
    const guests = await Promise.all(tokens.map((token, i) => joinWith(token, `Talker ${i}`)));
    const sockets = [
      await connectDirect(meetingId, created.hostToken),
      ...(await Promise.all(guests.map((g) => connectDirect(meetingId, g.body.sessionToken)))),
    ];
    const perSender = 8; // within the chat bucket's burst of 10
    const replies = await Promise.all(
      sockets.flatMap((socket, s) =>
        Array.from({ length: perSender }, (_, i) =>
          request(socket, { type: "chat:message", data: { text: `${s}:${i}` } }),
        ),
      ),
    );
    expect(replies.every((r) => r.type === "ack")).toBe(true);

    const total = sockets.length * perSender;
    const expected = Array.from({ length: total }, (_, i) => i + 1);
    for (const socket of sockets) {
      const received = await socket.all("chat:new-message", total, WAIT_MS);
      expect(received.map((f) => f.data.seq)).toEqual(expected);
    }
    // Each sender's own messages keep their sending order.
    const delivered = sockets[0]!.frames.filter((f) => f.type === "chat:new-message").map((f) => f.data.text as string);
    for (let s = 0; s < sockets.length; s++) {
      const own = delivered.filter((text) => text.startsWith(`${s}:`));
      expect(own).toEqual(Array.from({ length: perSender }, (_, i) => `${s}:${i}`));
    }
    for (const socket of sockets) socket.close();
  });
});
