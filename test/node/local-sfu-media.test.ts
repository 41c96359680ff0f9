/**
 * The local SFU carries real RTP between WebRTC peers on loopback: a
 * subscriber receives what a publisher sends, a late subscriber gets the
 * publisher asked for a keyframe, closing a track stops delivery, and no
 * datagram is addressed outside 127.0.0.1.
 */
import { networkInterfaces } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { guardTransport, keepLoopbackCandidates } from "../../sfu/loopback.mjs";
import { type LocalSfu, startLocalSfu } from "../../sfu/server.mjs";
import { recordUdpDestinations, SfuTestClient, TEST_APP_ID, TEST_APP_SECRET, waitFor } from "./helpers/sfu-client";

/** Long enough for packets already in flight on loopback to land. */
const SETTLE_MS = 300;

describe("local SFU media", () => {
  let sfu: LocalSfu;
  const clients: SfuTestClient[] = [];
  /** The destination of every UDP datagram this process sent (the SFU's and the test clients'). */
  let destinations: Set<string>;

  beforeEach(async () => {
    destinations = recordUdpDestinations();
    sfu = await startLocalSfu({ port: 0, appId: TEST_APP_ID, appSecret: TEST_APP_SECRET });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await sfu.close();
    vi.restoreAllMocks();
  });

  async function client(): Promise<SfuTestClient> {
    const created = await SfuTestClient.connect(sfu.url);
    clients.push(created);
    return created;
  }

  it("forwards a published video track to the session that pulled it, on loopback only", async () => {
    const publisher = await client();
    const subscriber = await client();
    await publisher.publishVideo("camera");
    const mid = await subscriber.pull(publisher.sessionId, "camera");
    await waitFor("RTP at the subscriber", () => (subscriber.received.get(mid) ?? 0) >= 10);
    expect(destinations.size).toBeGreaterThan(0);
    expect([...destinations].filter((address) => !address.startsWith("127."))).toEqual([]);
    expect(sfu.refusedSends()).toEqual([]);
  });

  it("carries a call both ways: each session publishes and pulls the other's track on one connection", async () => {
    const alice = await client();
    const bob = await client();
    await alice.publishVideo("alice-camera");
    await bob.publishVideo("bob-camera");
    const aliceSeesBob = await alice.pull(bob.sessionId, "bob-camera");
    const bobSeesAlice = await bob.pull(alice.sessionId, "alice-camera");
    await waitFor("Bob's video at Alice", () => (alice.received.get(aliceSeesBob) ?? 0) >= 10);
    await waitFor("Alice's video at Bob", () => (bob.received.get(bobSeesAlice) ?? 0) >= 10);
  });

  it("asks the publisher for a keyframe when a late subscriber connects", async () => {
    const publisher = await client();
    const early = await client();
    await publisher.publishVideo("camera");
    const earlyMid = await early.pull(publisher.sessionId, "camera");
    await waitFor("RTP at the first subscriber", () => (early.received.get(earlyMid) ?? 0) >= 5);
    await waitFor("the first subscriber's keyframe request", () => publisher.pliReceived >= 1);
    const pliBefore = publisher.pliReceived;

    const late = await client();
    const lateMid = await late.pull(publisher.sessionId, "camera");
    await waitFor("the late subscriber's keyframe request", () => publisher.pliReceived > pliBefore);
    await waitFor("RTP at the late subscriber", () => (late.received.get(lateMid) ?? 0) >= 5);
  });

  it("passes a subscriber's keyframe request to the publisher, signed with the subscriber's own stream", async () => {
    const publisher = await client();
    const subscriber = await client();
    await publisher.publishVideo("camera");
    await subscriber.publishVideo("subscriber-camera");
    const mid = await subscriber.pull(publisher.sessionId, "camera");
    await waitFor("RTP at the subscriber", () => (subscriber.received.get(mid) ?? 0) >= 5);
    await waitFor("the keyframe request on connecting", () => publisher.pliReceived >= 1);
    const pliBefore = publisher.pliReceived;

    await subscriber.requestKeyframe(mid);
    await waitFor("the subscriber's keyframe request at the publisher", () => publisher.pliReceived > pliBefore);
  });

  it("stops delivery when the subscriber closes its pulled track", async () => {
    const publisher = await client();
    const subscriber = await client();
    await publisher.publishVideo("camera");
    const mid = await subscriber.pull(publisher.sessionId, "camera");
    await waitFor("RTP at the subscriber", () => (subscriber.received.get(mid) ?? 0) >= 5);

    const closed = await subscriber.call("PUT", "tracks/close", { tracks: [{ mid }], force: true });
    expect(closed.status).toBe(200);
    await sleep(SETTLE_MS);
    const receivedAtClose = subscriber.received.get(mid);
    await sleep(SETTLE_MS * 2);
    expect(subscriber.received.get(mid)).toBe(receivedAtClose);
  });

  it("stops delivery to every subscriber when the publisher closes its track", async () => {
    const publisher = await client();
    const subscriber = await client();
    const { mid: publishedMid } = await publisher.publishVideo("camera");
    const mid = await subscriber.pull(publisher.sessionId, "camera");
    await waitFor("RTP at the subscriber", () => (subscriber.received.get(mid) ?? 0) >= 5);

    const closed = await publisher.call("PUT", "tracks/close", { tracks: [{ mid: publishedMid }], force: true });
    expect(closed.status).toBe(200);
    await sleep(SETTLE_MS);
    const receivedAtClose = subscriber.received.get(mid);
    await sleep(SETTLE_MS * 2);
    expect(subscriber.received.get(mid)).toBe(receivedAtClose);
    const state = await subscriber.call("GET", "");
    expect(state.body.tracks[0].status).toBe("inactive");
  });
});

describe("local SFU session expiry", () => {
  it("closes a session whose client went silent, withdrawing its tracks from their subscribers", async () => {
    const sfu = await startLocalSfu({
      port: 0,
      appId: TEST_APP_ID,
      appSecret: TEST_APP_SECRET,
      sessionIdleTimeoutMs: 1000,
    });
    const publisher = await SfuTestClient.connect(sfu.url);
    const subscriber = await SfuTestClient.connect(sfu.url);
    try {
      await publisher.publishVideo("camera");
      // Publishing too, the subscriber keeps talking to the SFU (a werift client is otherwise quiet for seconds).
      await subscriber.publishVideo("subscriber-camera");
      const mid = await subscriber.pull(publisher.sessionId, "camera");
      await waitFor("RTP at the subscriber", () => (subscriber.received.get(mid) ?? 0) >= 5);

      await publisher.close();
      // Closed, the client no longer sends: within a few idle timeouts its session is gone.
      let publisherState = await publisher.call("GET", "");
      for (const deadline = Date.now() + 5000; publisherState.status !== 404 && Date.now() < deadline; ) {
        await sleep(100);
        publisherState = await publisher.call("GET", "");
      }
      expect(publisherState.status).toBe(404);
      const subscriberState = await subscriber.call("GET", "");
      expect(subscriberState.status).toBe(200);
      const pulled = subscriberState.body.tracks.find((track: { mid: string }) => track.mid === mid);
      expect(pulled.status).toBe("inactive");
    } finally {
      await subscriber.close();
      await sfu.close();
    }
  });
});

describe("local SFU loopback guard", () => {
  /** Sends a datagram to each address through a guarded stand-in socket; says which went out and which were refused. */
  async function guardedSends(scope: "loopback" | "machine", addresses: string[]) {
    const sent: string[] = [];
    const refused: string[] = [];
    const transport = {
      send: async (_data: Buffer, address?: [string, number]) => {
        sent.push(address?.[0] ?? "");
      },
    };
    guardTransport(transport, (address) => refused.push(address), scope);
    for (const address of addresses) await transport.send(Buffer.from("stun"), [address, 3478]);
    return { sent, refused };
  }

  /** An address of this machine's own, as a stock browser's checks come from (the e2e namespace has 10.77.0.1). */
  const ownAddress = Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .find((entry) => entry.family === "IPv4" && !entry.internal)?.address;
  const ownAddresses = ownAddress ? [ownAddress] : [];

  it("refuses a datagram for any address but loopback, this machine's own included", async () => {
    const { sent, refused } = await guardedSends("loopback", ["192.0.2.7", "127.0.0.1", ...ownAddresses]);
    expect(refused).toEqual(["192.0.2.7", ...ownAddresses]);
    expect(sent).toEqual(["127.0.0.1"]);
  });

  it("with peers: machine, lets a datagram for this machine's own address through and still refuses others", async () => {
    const { sent, refused } = await guardedSends("machine", ["192.0.2.7", "127.0.0.1", ...ownAddresses]);
    expect(refused).toEqual(["192.0.2.7"]);
    expect(sent).toEqual(["127.0.0.1", ...ownAddresses]);
  });

  it("drops every non-loopback candidate from an SDP before werift sees it", () => {
    const sdp = [
      "v=0",
      "a=candidate:1 1 udp 2122260223 192.168.1.20 50000 typ host generation 0",
      "a=candidate:2 1 udp 2122194687 127.0.0.1 50001 typ host generation 0",
      "a=candidate:3 1 udp 2122129151 abcd-1234.local 50002 typ host generation 0",
      "a=candidate:4 1 udp 1686052607 203.0.113.9 50003 typ srflx raddr 192.168.1.20 rport 50000",
      "a=mid:0",
    ].join("\r\n");
    expect(keepLoopbackCandidates(sdp).split("\r\n")).toEqual([
      "v=0",
      "a=candidate:2 1 udp 2122194687 127.0.0.1 50001 typ host generation 0",
      "a=mid:0",
    ]);
  });
});
