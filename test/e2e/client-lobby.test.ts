/**
 * The SDK's meeting links and lobby against a real `wrangler dev` (contract
 * 1.2): links made, listed and revoked; a lobby join that waits, is admitted
 * over the host's socket and connects with the same answer as an invite's;
 * a wait that survives its socket being cut and one resumed from its ticket
 * (a reload) with the host's answer given while nobody listened; a denial
 * with its reason; a revoke that ends every wait on the link; a link
 * without lobby counting its uses to `LINK_EXHAUSTED`.
 */
import { describe, expect, it } from "vitest";
import type { LobbyTicket, MeetingConnection } from "../../src/client";
import { cutTcp, FAST, failure, inAnHour, nextEvent, sdk, until } from "./helpers/client-helpers";

/** `WebSocket.OPEN` and `CLOSED` of the `ws` package. */
const OPEN = 1;
const CLOSED = 3;

/** A meeting whose host is connected; the guest side uses the same client. */
async function hostedMeeting() {
  const { mt, opened } = sdk();
  const created = await mt.createMeeting({ title: "Open call", hostName: "Ada", scheduledAt: inAnHour() });
  const meetingId = created.meeting.id;
  const host: MeetingConnection = mt.connect(meetingId, created.hostToken);
  await host.ready;
  return { mt, opened, created, meetingId, host, hostToken: created.hostToken };
}

describe("meeting links and the lobby, through the SDK", () => {
  it("waits, is admitted over the host's socket, and joins as with an invite", async () => {
    const { mt, opened, meetingId, host, hostToken } = await hostedMeeting();
    const { link, token } = await mt.createLink(meetingId, hostToken);
    expect(link).toMatchObject({ lobby: true, uses: 0, maxUses: 50, revoked: false });
    expect((await mt.listLinks(meetingId, hostToken)).links.map((l) => l.id)).toEqual([link.id]);

    const knocked = nextEvent(host, "lobby:knock");
    const tickets: LobbyTicket[] = [];
    const joining = mt.join(token, "Grace", { onWaiting: (ticket) => tickets.push(ticket), ...FAST });
    const knock = await knocked;
    // The host may hear the knock before the guest reads the 202 that began it.
    await until("the guest is told it waits", () => tickets.length === 1);
    expect(knock).toMatchObject({ name: "Grace", linkId: link.id, requestId: tickets[0]?.requestId });
    expect(host.lobby.map((entry) => entry.name)).toEqual(["Grace"]);
    // The wait token rides as the subprotocol, never in the URL.
    const lobbySocket = opened.at(-1)!;
    expect(lobbySocket.protocols).toEqual(["meettime", tickets[0]?.waitToken]);
    expect(lobbySocket.url).not.toContain(tickets[0]!.waitToken);

    const left = nextEvent(host, "lobby:left");
    await host.admit(knock.requestId);
    const joined = await joining;
    expect(await left).toEqual({ requestId: knock.requestId, reason: "admitted" });
    expect(host.lobby).toEqual([]);
    expect(joined.meeting.participants.map((p) => p.name)).toEqual(["Ada", "Grace"]);
    expect(joined).toMatchObject({ participant: { name: "Grace" }, wsUrl: `/api/meetings/${meetingId}/ws` });
    expect(joined.iceServers.length).toBeGreaterThan(0);

    const guest = mt.connect(joined.meeting.id, joined.sessionToken);
    expect((await guest.ready).self.name).toBe("Grace");
    expect((await mt.listLinks(meetingId, hostToken)).links[0]?.uses).toBe(1);
    // Answered twice: the request is gone.
    expect((await failure(host.admit(knock.requestId))).code).toBe("NOT_FOUND");
    guest.close();
    host.close();
  });

  it("keeps the place across a cut connection and a reload; the answer waits for the guest's return", async () => {
    const { mt, opened, meetingId, host, hostToken } = await hostedMeeting();
    const { token } = await mt.createLink(meetingId, hostToken);
    let ticket: LobbyTicket | undefined;
    const stop = new AbortController();
    const firstWait = mt.join(token, "Linus", { onWaiting: (t) => (ticket = t), signal: stop.signal, ...FAST });
    await until(
      "Linus waits on an open socket",
      () => host.lobby.length === 1 && opened.at(-1)?.ws.readyState === OPEN,
    );
    const socketsBefore = opened.length;
    cutTcp(opened.at(-1)!);
    await until("the wait reconnects", () => opened.length > socketsBefore);
    const again = opened.at(-1)!;
    await new Promise((confirmed) => again.ws.once("message", confirmed));

    // The tab reloads: this wait stops (its socket closes), the host admits meanwhile, and the new page picks
    // the place up again from the ticket and gets the answer.
    stop.abort();
    expect((await failure(firstWait)).code).toBe("CLOSED");
    await until("the old page's socket is closed", () => again.ws.readyState === CLOSED);
    await host.admit(host.lobby[0]!.requestId);
    const resumed = await mt.waitInLobby(ticket!, FAST);
    expect(resumed.participant.name).toBe("Linus");
    expect(host.lobby).toEqual([]);
    host.close();
  });

  it("says why when denied, and a revoke ends every wait on the link", async () => {
    const { mt, meetingId, host, hostToken } = await hostedMeeting();
    const { link, token } = await mt.createLink(meetingId, hostToken);
    const eve = failure(mt.join(token, "Eve", FAST));
    await until("Eve knocks", () => host.lobby.length === 1);
    await mt.deny(meetingId, hostToken, host.lobby[0]!.requestId, "Team members only");
    const denied = await eve;
    expect(denied).toMatchObject({ code: "LOBBY_DENIED", details: { reason: "Team members only" } });

    const ended = Promise.all([mt.join(token, "Bob", FAST), mt.join(token, "Carol", FAST)].map(failure));
    await until("both knock", () => host.lobby.length === 2);
    expect((await mt.revokeLink(meetingId, hostToken, link.id)).link.revoked).toBe(true);
    for (const error of await ended) expect(error.code).toBe("LOBBY_DENIED");
    await until("the lobby empties", () => host.lobby.length === 0);
    expect((await failure(mt.join(token, "Dan"))).code).toBe("FORBIDDEN");
    host.close();
  });

  it("lets people straight in with a link without lobby, up to its uses", async () => {
    const { mt } = sdk();
    const created = await mt.createMeeting({ title: "Class", hostName: "Ada", scheduledAt: inAnHour() });
    const { token } = await mt.createLink(created.meeting.id, created.hostToken, { lobby: false, maxUses: 2 });
    const onWaiting = () => {
      throw new Error("a link without lobby never waits");
    };
    const first = await mt.join(token, "Grace", { onWaiting });
    const second = await mt.join(token, "Linus", { onWaiting });
    expect(first.participant.id).not.toBe(second.participant.id);
    expect((await failure(mt.join(token, "Eve"))).code).toBe("LINK_EXHAUSTED");
  });
});
