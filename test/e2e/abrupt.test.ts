/**
 * Abrupt disconnects against a real `wrangler dev`: a client whose TCP
 * connection dies without a close frame (destroyed socket, `terminate()`)
 * is reported to the others as `participant-left` with reason
 * `disconnected`, stays listed with `connected: false`, and comes back with
 * `since=` without missing or repeating a chat message.
 */
import { describe, expect, it } from "vitest";
import { baseUrl, clientFor, dropConnection, FAULT_JOINED_MS, type LiveSocket, seqsSeen } from "./helpers/client";

const client = clientFor(baseUrl, { joinedTimeoutMs: FAULT_JOINED_MS });
/** How long the server may take to notice a dead connection that sent no close frame. */
const NOTICE_MS = 30_000;

async function presence(meetingId: string, token: string): Promise<Record<string, boolean>> {
  const res = await client.api("GET", `/api/meetings/${meetingId}`, { token });
  expect(res.status).toBe(200);
  return Object.fromEntries(res.body.meeting.participants.map((p: any) => [p.name, p.connected]));
}

async function leftFor(socket: LiveSocket, participantId: string) {
  for (;;) {
    const left = await socket.next("meeting:participant-left", NOTICE_MS);
    if (left.data.participantId === participantId) return left.data;
  }
}

describe("connections that die without a close frame", () => {
  it("are reported as disconnected to the others and in GET, for a destroyed socket and a terminate()", async () => {
    const { id, hostToken } = await client.createMeeting();
    const [graceInvite, linusInvite] = (await client.mintJoinTokens(id, hostToken, 2)) as [string, string];
    const grace = await client.join(graceInvite, "Grace");
    const linus = await client.join(linusInvite, "Linus");
    const host = await client.connect(id, hostToken);
    const graceSocket = await client.connect(id, grace.sessionToken);
    const linusSocket = await client.connect(id, linus.sessionToken);
    expect(await presence(id, hostToken)).toEqual({ Ada: true, Grace: true, Linus: true });

    dropConnection(graceSocket);
    expect(await leftFor(host, grace.id)).toEqual({ participantId: grace.id, reason: "disconnected" });
    expect(await leftFor(linusSocket, grace.id)).toEqual({ participantId: grace.id, reason: "disconnected" });
    expect(await presence(id, hostToken)).toEqual({ Ada: true, Grace: false, Linus: true });

    linusSocket.ws.terminate();
    expect(await leftFor(host, linus.id)).toEqual({ participantId: linus.id, reason: "disconnected" });
    expect(await presence(id, hostToken)).toEqual({ Ada: true, Grace: false, Linus: false });

    // Both come back; the others see them join again and GET agrees.
    const graceBack = await client.connect(id, grace.sessionToken);
    const linusBack = await client.connect(id, linus.sessionToken);
    const rejoined = [await host.next("meeting:participant-joined"), await host.next("meeting:participant-joined")];
    expect(rejoined.map((f) => f.data.participant.id).sort()).toEqual([grace.id, linus.id].sort());
    expect(await presence(id, hostToken)).toEqual({ Ada: true, Grace: true, Linus: true });
    for (const socket of [host, graceBack, linusBack]) socket.ws.close();
  });

  it("loses and repeats no chat message across a dropped connection when the client resumes with since=", async () => {
    const { id, hostToken } = await client.createMeeting();
    const [invite] = (await client.mintJoinTokens(id, hostToken)) as [string];
    const grace = await client.join(invite, "Grace");
    const host = await client.connect(id, hostToken);
    const graceSocket = await client.connect(id, grace.sessionToken);

    for (const text of ["a", "b", "c"])
      expect((await host.request({ type: "chat:message", data: { text } })).type).toBe("ack");
    await graceSocket.next("chat:new-message");
    await graceSocket.next("chat:new-message");
    await graceSocket.next("chat:new-message");
    // The drop happens while more chat is under way: some may reach the dead socket, some not.
    const sending = ["d", "e", "f", "g"].map((text) => host.request({ type: "chat:message", data: { text } }));
    dropConnection(graceSocket);
    expect((await Promise.all(sending)).every((reply) => reply.type === "ack")).toBe(true);
    await leftFor(host, grace.id);

    const lastSeen = Math.max(...seqsSeen(graceSocket));
    const graceBack = await client.connect(id, grace.sessionToken, { since: lastSeen });
    expect([...seqsSeen(graceSocket), ...seqsSeen(graceBack)]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect((await host.request({ type: "chat:message", data: { text: "h" } })).type).toBe("ack");
    expect((await graceBack.next("chat:new-message")).data.seq).toBe(8);
    for (const socket of [host, graceBack]) socket.ws.close();
  });
});
