/**
 * A `MeshCall` peer link holds the ICE candidates that arrive before the
 * peer's description; for a peer that never sends one the held candidates
 * stay bounded (the latest `PENDING_CANDIDATES_MAX`), and once the
 * description comes they are applied in the order they arrived.
 * Node has no WebRTC: a minimal `RTCPeerConnection` records what it is given.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { MeetingConnection } from "../../src/client";
import { PENDING_CANDIDATES_MAX, PeerLink } from "../../src/client/peer-link";

class FakePeerConnection {
  remoteDescription: RTCSessionDescriptionInit | null = null;
  localDescription: RTCSessionDescriptionInit | null = null;
  signalingState: RTCSignalingState = "stable";
  readonly added: RTCIceCandidateInit[] = [];
  onnegotiationneeded = null;
  onicecandidate = null;
  ontrack = null;
  onconnectionstatechange = null;
  async setRemoteDescription(description: RTCSessionDescriptionInit) {
    this.remoteDescription = description;
    this.signalingState = "have-remote-offer";
  }
  async setLocalDescription() {
    this.localDescription = { type: "answer", sdp: "v=0 answer" };
    this.signalingState = "stable";
  }
  async addIceCandidate(candidate: RTCIceCandidateInit) {
    this.added.push(candidate);
  }
  getTransceivers() {
    return [];
  }
  close() {}
}

beforeEach(() => {
  vi.stubGlobal("RTCPeerConnection", FakePeerConnection);
  vi.stubGlobal("MediaStream", class {});
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const candidate = (n: number): RTCIceCandidateInit => ({ candidate: `candidate:${n} 1 udp 1 10.0.0.1 ${n} typ host` });

function link() {
  const answers: string[] = [];
  const connection = {
    self: { id: "a" }, // lower than the peer's id: the polite side, which answers offers
    sendAnswer: async (_to: string, sdp: string) => void answers.push(sdp),
    sendOffer: async () => {},
    sendIceCandidate: async () => {},
  } as unknown as MeetingConnection;
  const peer = new PeerLink("b", {
    connection,
    configuration: {},
    localMedia: () => ({ audio: null, video: null, stream: null }),
    emit: () => {},
  });
  return { peer, pc: peer.pc as unknown as FakePeerConnection, answers };
}

/** Lets the link's chain of promises run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("ICE candidates before the peer's description", () => {
  it("keeps only the latest ones for a peer that sends candidates and no description", async () => {
    const { peer, pc, answers } = link();
    const sent = 10 * PENDING_CANDIDATES_MAX;
    for (let n = 0; n < sent; n++) peer.addCandidate(candidate(n));
    await settle();
    expect(pc.added).toEqual([]);

    peer.describe({ type: "offer", sdp: "v=0 offer" });
    await settle();
    expect(answers).toEqual(["v=0 answer"]);
    const latest = Array.from({ length: PENDING_CANDIDATES_MAX }, (_, i) =>
      candidate(sent - PENDING_CANDIDATES_MAX + i),
    );
    expect(pc.added).toEqual(latest);
    peer.close();
  });

  it("applies every candidate, in order, when the description follows a normal handful", async () => {
    const { peer, pc } = link();
    for (let n = 0; n < 12; n++) peer.addCandidate(candidate(n));
    peer.describe({ type: "offer", sdp: "v=0 offer" });
    peer.addCandidate(candidate(12));
    await settle();
    expect(pc.added).toEqual(Array.from({ length: 13 }, (_, n) => candidate(n)));
    peer.close();
  });
});
