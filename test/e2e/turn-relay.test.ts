/**
 * TURN credentials that really open a relay: the suite's coturn
 * (`use-auth-secret`, see turn-server.ts) behind the suite's `wrangler dev`
 * (TURN_URLS, TURN_SHARED_SECRET). The credentials MeetTime hands out in
 * create, join and `ice-servers` allocate a relay on it, and data crosses
 * the relay both ways; a wrong or expired credential is refused by coturn
 * itself. Skips when coturn is not installed, unless MEETTIME_REQUIRE_TURN=1
 * (CI), where the global setup fails instead.
 */
import { createHmac } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { afterEach, describe, expect, inject, it } from "vitest";
import { api } from "./helpers/client";
import { type Address, TurnClient, TurnError } from "./helpers/turn-client";

const turn = inject("turn");
if (!turn) console.warn("turn-relay: skipped, turnserver (Debian package coturn) is not installed");

interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** The TURN entry of an `iceServers` answer: the one with credentials. */
function turnEntry(iceServers: IceServer[]): Required<IceServer> {
  const entry = iceServers.find((server) => server.username !== undefined);
  if (!entry?.username || entry.credential === undefined)
    throw new Error(`no TURN entry in ${JSON.stringify(iceServers)}`);
  return entry as Required<IceServer>;
}

const opened: { close(): void }[] = [];
async function turnClient(): Promise<TurnClient> {
  const client = await TurnClient.open({ host: turn!.host, port: turn!.port });
  opened.push(client);
  return client;
}

/** A plain UDP peer on loopback, the far side of the relay. */
async function udpPeer(): Promise<{
  socket: Socket;
  address: Address;
  next: () => Promise<{ data: Buffer; from: Address }>;
}> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  opened.push(socket);
  const next = () =>
    new Promise<{ data: Buffer; from: Address }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the peer received nothing through the relay")), 5_000);
      socket.once("message", (data, rinfo) => {
        clearTimeout(timer);
        resolve({ data, from: { host: rinfo.address, port: rinfo.port } });
      });
    });
  return { socket, address: { host: "127.0.0.1", port: socket.address().port }, next };
}

afterEach(() => {
  for (const item of opened.splice(0)) item.close();
});

describe.skipIf(!turn)("TURN relay through coturn with MeetTime's credentials", () => {
  it("the host's credentials from create allocate a relay, and data crosses it both ways", async () => {
    const created = await api("POST", "/api/meetings/create", {
      body: { title: "Relay", hostName: "Ada", scheduledAt: new Date(Date.now() + 600_000).toISOString() },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const entry = turnEntry(created.body.iceServers);
    expect(entry.urls).toEqual(turn!.urls);
    expect(entry.username).toBe(
      `${Date.parse(created.body.iceServersExpiresAt) / 1000}:${created.body.participant.id}`,
    );

    const client = await turnClient();
    const { relayed, lifetime } = await client.allocate(entry.username, entry.credential);
    expect(relayed.host).toBe("127.0.0.1");
    expect(lifetime).toBeGreaterThan(0);

    const peer = await udpPeer();
    await client.createPermission(peer.address);
    const toPeer = peer.next();
    client.send(peer.address, Buffer.from("hello through the relay"));
    const arrived = await toPeer;
    expect(arrived.data.toString()).toBe("hello through the relay");
    // It came from the relayed address, not from the client: the relay carried it.
    expect(arrived.from).toEqual(relayed);

    peer.socket.send(Buffer.from("and back"), relayed.port, relayed.host);
    const back = await client.received();
    expect(back.data.toString()).toBe("and back");
    expect(back.from).toEqual(peer.address);
  });

  it("a participant's credentials from join and from ice-servers allocate too", async () => {
    const created = await api("POST", "/api/meetings/create", {
      body: { title: "Relay", hostName: "Ada", scheduledAt: new Date(Date.now() + 600_000).toISOString() },
    });
    const id = created.body.meeting.id as string;
    const invite = await api("POST", `/api/meetings/${id}/tokens`, { token: created.body.hostToken, body: {} });
    const joined = await api("POST", "/api/meetings/join", {
      body: { token: invite.body.tokens[0].token, displayName: "Grace" },
    });
    expect(joined.status, JSON.stringify(joined.body)).toBe(200);
    const fresh = await api("GET", `/api/meetings/${id}/ice-servers`, { token: joined.body.sessionToken });
    expect(fresh.status).toBe(200);
    for (const iceServers of [joined.body.iceServers, fresh.body.iceServers]) {
      const entry = turnEntry(iceServers);
      expect(entry.username.endsWith(`:${joined.body.participant.id}`)).toBe(true);
      const { relayed } = await (await turnClient()).allocate(entry.username, entry.credential);
      expect(relayed.port).toBeGreaterThan(0);
    }
  });

  it("coturn refuses a wrong credential and an expired username (401)", async () => {
    const created = await api("POST", "/api/meetings/create", {
      body: { title: "Relay", hostName: "Ada", scheduledAt: new Date(Date.now() + 600_000).toISOString() },
    });
    const entry = turnEntry(created.body.iceServers);
    const wrong = await (await turnClient()).allocate(entry.username, `${entry.credential}x`).catch((e) => e);
    expect(wrong).toBeInstanceOf(TurnError);
    expect(wrong.code).toBe(401);

    // Correctly signed with the shared secret, but its expiry has passed.
    const expiredName = `${Math.floor(Date.now() / 1000) - 60}:${created.body.participant.id}`;
    const expiredCredential = createHmac("sha1", turn!.secret).update(expiredName).digest("base64");
    const expired = await (await turnClient()).allocate(expiredName, expiredCredential).catch((e) => e);
    expect(expired).toBeInstanceOf(TurnError);
    expect(expired.code).toBe(401);
  });
});
