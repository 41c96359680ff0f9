/**
 * A WebRTC client of the local SFU for Node tests: a werift peer connection
 * on loopback (not ICE lite: the SFU is), driven through the Connection API
 * the way a browser behind MeetTime's worker is: publish by offering, pull
 * by answering the SFU's offer through `renegotiate`. It sends a synthetic
 * VP8 stream (the SFU forwards packets, it never decodes them).
 */
import dgram from "node:dgram";
import { vi } from "vitest";
import {
  MediaStreamTrack,
  PictureLossIndication,
  RTCPeerConnection,
  type RTCRtpTransceiver,
  RtcpPayloadSpecificFeedback,
  RtpHeader,
  RtpPacket,
} from "werift";
import { loopbackPeerConfig } from "../../../sfu/loopback.mjs";

export const TEST_APP_ID = "test-app";
export const TEST_APP_SECRET = "test-app-secret";

/** One call to the SFU's Connection API: the HTTP status and the JSON answer. */
export async function callSfu(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  { appId = TEST_APP_ID, secret = TEST_APP_SECRET }: { appId?: string; secret?: string | null } = {},
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (secret !== null) headers.authorization = `Bearer ${secret}`;
  const response = await fetch(`${baseUrl}/apps/${appId}/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/**
 * Records the destination address of every UDP datagram this process sends
 * from now on (the local SFU's and werift clients'); undo with `vi.restoreAllMocks()`.
 */
export function recordUdpDestinations(): Set<string> {
  const destinations = new Set<string>();
  const send = dgram.Socket.prototype.send;
  vi.spyOn(dgram.Socket.prototype, "send").mockImplementation(function (this: dgram.Socket, ...args: any[]) {
    // send(msg, [offset, length,] port, address, callback?): the address is the first string after the message.
    const address = args.slice(1).find((arg) => typeof arg === "string");
    if (address) destinations.add(address);
    return (send as (...sendArgs: any[]) => void).apply(this, args);
  });
  return destinations;
}

/** Resolves once `condition` holds, polling; rejects after `timeoutMs` with `what`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export class SfuTestClient {
  readonly peer = new RTCPeerConnection(loopbackPeerConfig({ iceLite: false }));
  /** RTP packets received, by the mid of the transceiver they arrived on. */
  readonly received = new Map<string, number>();
  /** Keyframe requests (PLI) the SFU sent this client about its published tracks. */
  pliReceived = 0;
  #timers: NodeJS.Timeout[] = [];

  private constructor(
    readonly baseUrl: string,
    readonly sessionId: string,
  ) {
    this.peer.onTrack.subscribe((track) => {
      const transceiver = this.peer.getTransceivers().find((candidate) => candidate.receiver.track === track);
      const mid = transceiver?.mid ?? "?";
      track.onReceiveRtp.subscribe(() => this.received.set(mid, (this.received.get(mid) ?? 0) + 1));
    });
  }

  /** A new SFU session (`sessions/new` without an offer, as partytracks and the worker do). */
  static async connect(baseUrl: string): Promise<SfuTestClient> {
    const { status, body } = await callSfu(baseUrl, "POST", "sessions/new");
    if (status !== 201) throw new Error(`sessions/new answered ${status}: ${JSON.stringify(body)}`);
    return new SfuTestClient(baseUrl, body.sessionId);
  }

  call(method: string, path: string, body?: unknown) {
    return callSfu(this.baseUrl, method, `sessions/${this.sessionId}/${path}`, body);
  }

  /** Publishes one video track sending a synthetic VP8 stream at `fps`; returns its mid. */
  async publishVideo(trackName: string, fps = 30): Promise<{ mid: string; transceiver: RTCRtpTransceiver }> {
    const track = new MediaStreamTrack({ kind: "video" });
    const transceiver = this.peer.addTransceiver(track, { direction: "sendonly" });
    // werift routes a PLI by its sender SSRC first, which can land it on this transceiver's
    // receiver rather than its sender: count it on either, when it names the sent SSRC.
    const countPli = (packet: unknown) => {
      if (!(packet instanceof RtcpPayloadSpecificFeedback)) return;
      const feedback = packet.feedback;
      if (feedback instanceof PictureLossIndication && feedback.mediaSsrc === transceiver.sender.ssrc) {
        this.pliReceived += 1;
      }
    };
    transceiver.sender.onRtcp.subscribe(countPli);
    transceiver.receiver.onRtcp.subscribe(countPli);
    const offer = await this.peer.createOffer();
    await this.peer.setLocalDescription(offer);
    const mid = transceiver.mid ?? "";
    const answer = await this.call("POST", "tracks/new", {
      sessionDescription: { type: "offer", sdp: this.peer.localDescription?.sdp },
      tracks: [{ location: "local", mid, trackName }],
    });
    if (answer.status !== 200 || answer.body.tracks[0].errorCode) {
      throw new Error(`publish answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
    await this.peer.setRemoteDescription(answer.body.sessionDescription);
    let sequenceNumber = 1;
    let timestamp = 0;
    this.#timers.push(
      setInterval(() => {
        const header = new RtpHeader({ sequenceNumber, timestamp, marker: true, payloadType: 96, ssrc: 1234 });
        // A VP8 payload descriptor (start of partition) and a few frame bytes.
        track.writeRtp(new RtpPacket(header, Buffer.from([0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0xa0, 0x00])));
        sequenceNumber = (sequenceNumber + 1) & 0xffff;
        timestamp = (timestamp + 90_000 / fps) >>> 0;
      }, 1000 / fps),
    );
    return { mid, transceiver };
  }

  /** Pulls another session's track: the SFU offers, this client answers. Returns the pulled track's mid. */
  async pull(sessionId: string, trackName: string): Promise<string> {
    const answer = await this.call("POST", "tracks/new", { tracks: [{ location: "remote", sessionId, trackName }] });
    if (answer.status !== 200 || !answer.body.requiresImmediateRenegotiation) {
      throw new Error(`pull answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
    await this.peer.setRemoteDescription(answer.body.sessionDescription);
    const localAnswer = await this.peer.createAnswer();
    await this.peer.setLocalDescription(localAnswer);
    const renegotiated = await this.call("PUT", "renegotiate", {
      sessionDescription: { type: "answer", sdp: this.peer.localDescription?.sdp },
    });
    if (renegotiated.status !== 200) throw new Error(`renegotiate answered ${renegotiated.status}`);
    return answer.body.tracks[0].mid;
  }

  /**
   * Asks for a keyframe on the pulled track `mid` with a PLI signed, as
   * Chromium signs it, with the SSRC of a stream this client publishes.
   */
  async requestKeyframe(mid: string): Promise<void> {
    const pulled = this.peer.getTransceivers().find((transceiver) => transceiver.mid === mid);
    const published = this.peer.getTransceivers().find((transceiver) => transceiver.direction === "sendonly");
    const mediaSsrc = pulled?.receiver.track.ssrc;
    if (!pulled || !published || mediaSsrc === undefined) throw new Error("needs a published track and RTP on mid");
    const feedback = new PictureLossIndication({ senderSsrc: published.sender.ssrc, mediaSsrc });
    await pulled.dtlsTransport.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback })]);
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await this.peer.close();
  }
}
