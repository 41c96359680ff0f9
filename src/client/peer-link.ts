/**
 * `PeerLink`: one `RTCPeerConnection` of a `MeshCall`, to one peer, with the
 * perfect-negotiation pattern: the polite side (the lower participant id)
 * rolls back its own offer on glare, the impolite side ignores the other's.
 * Descriptions are applied one at a time, candidates held (a bounded number)
 * until the remote description exists, an unanswered offer sent again, ICE
 * restarted when the link fails.
 */
import type { MeetingConnection } from "./connection.js";
import type { MeshCallEvents } from "./mesh-call.js";

/** What this participant sends, as it is now (it changes with mute, camera and screen sharing). */
export interface LocalMedia {
  audio: MediaStreamTrack | null;
  /** The screen while shared, else the camera. */
  video: MediaStreamTrack | null;
  stream: MediaStream | null;
}

export interface PeerLinkOptions {
  connection: MeetingConnection;
  configuration: RTCConfiguration;
  localMedia: () => LocalMedia;
  /** Tells the call's listeners (each event about this peer). */
  emit: <K extends "stream" | "connection-state" | "error">(type: K, data: MeshCallEvents[K]) => void;
}

/** An offer unanswered this long is sent again (it may have reached a peer whose call was not listening). */
const OFFER_RESEND_MS = 4_000;
const OFFER_RESENDS_MAX = 5;
/**
 * Candidates held for a peer whose description has not come (a few dozen per
 * gathering is usual): a peer that never sends one keeps only the latest this many.
 */
export const PENDING_CANDIDATES_MAX = 100;

export class PeerLink {
  readonly pc: RTCPeerConnection;
  /** The peer's media: the same stream object for the link's life, tracks added as they arrive. */
  readonly stream = new MediaStream();
  readonly polite: boolean;
  #makingOffer = false;
  #ignoreOffer = false;
  #closed = false;
  readonly #pendingCandidates: RTCIceCandidateInit[] = [];
  #audio: RTCRtpTransceiver | undefined;
  #video: RTCRtpTransceiver | undefined;
  /** Descriptions are applied one at a time. */
  #chain: Promise<void> = Promise.resolve();
  #offerTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #options: PeerLinkOptions;

  constructor(
    readonly id: string,
    options: PeerLinkOptions,
  ) {
    this.#options = options;
    const pc = new RTCPeerConnection(options.configuration);
    this.pc = pc;
    this.polite = (options.connection.self?.id ?? "") < id;
    if (!this.polite) {
      // Only the impolite side creates the transceivers (one audio, one video), so both agree on two
      // m-lines from the first offer; the polite side adopts them. Media then change by replaceTrack.
      const local = options.localMedia();
      const streams = local.stream ? [local.stream] : [];
      this.#audio = pc.addTransceiver(local.audio ?? "audio", { direction: "sendrecv", streams });
      this.#video = pc.addTransceiver(local.video ?? "video", { direction: "sendrecv", streams });
    }
    pc.onnegotiationneeded = async () => {
      try {
        this.#makingOffer = true;
        await pc.setLocalDescription();
      } catch (error) {
        this.#error(error);
        return;
      } finally {
        this.#makingOffer = false;
      }
      this.#sendOffer();
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate?.candidate) this.#signal(options.connection.sendIceCandidate(id, candidate.toJSON() as never));
    };
    pc.ontrack = ({ track }) => {
      if (!this.stream.getTracks().includes(track)) this.stream.addTrack(track);
      options.emit("stream", { participantId: id, stream: this.stream });
    };
    pc.onconnectionstatechange = () => {
      if (this.#closed) return;
      options.emit("connection-state", { participantId: id, state: pc.connectionState });
      if (pc.connectionState === "failed") pc.restartIce();
    };
  }

  /** Applies a description from the peer (after those before it): the perfect-negotiation answer. */
  describe(description: RTCSessionDescriptionInit): void {
    this.#chain = this.#chain.then(() => this.#applyDescription(description));
  }

  /** Adds a candidate from the peer, or holds it until the remote description exists. */
  addCandidate(candidate: RTCIceCandidateInit): void {
    this.#chain = this.#chain.then(async () => {
      if (!this.pc.remoteDescription) {
        if (this.#closed) return;
        // The latest ones: after an ICE restart the earlier candidates are of no use.
        if (this.#pendingCandidates.push(candidate) > PENDING_CANDIDATES_MAX) this.#pendingCandidates.shift();
        return;
      }
      try {
        await this.pc.addIceCandidate(candidate);
      } catch (error) {
        // Candidates of an offer we ignored (glare, impolite side) fail by design.
        if (!this.#ignoreOffer) this.#error(error);
      }
    });
  }

  /** Sends `track` as the video (camera or screen): `replaceTrack`, no renegotiation. */
  async replaceVideo(track: MediaStreamTrack | null): Promise<void> {
    await this.#video?.sender.replaceTrack(track);
  }

  /** Closes the connection; the link's events stop. */
  close(): void {
    this.#closed = true;
    this.#pendingCandidates.length = 0;
    clearTimeout(this.#offerTimer);
    const { pc } = this;
    pc.onnegotiationneeded = pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = null;
    pc.close();
  }

  /**
   * Sends the current offer, and again while it stays unanswered: a peer whose
   * call had not started yet dropped it, and nothing else would ever retry.
   */
  #sendOffer(resends = 0): void {
    const { pc, id } = this;
    clearTimeout(this.#offerTimer);
    if (this.#closed || pc.signalingState !== "have-local-offer" || !pc.localDescription) return;
    this.#signal(this.#options.connection.sendOffer(id, pc.localDescription.sdp));
    if (resends < OFFER_RESENDS_MAX) {
      this.#offerTimer = setTimeout(() => this.#sendOffer(resends + 1), OFFER_RESEND_MS);
    }
  }

  async #applyDescription(description: RTCSessionDescriptionInit): Promise<void> {
    const { pc } = this;
    if (this.#closed) return;
    try {
      if (description.type === "offer") {
        const collision = this.#makingOffer || pc.signalingState !== "stable";
        this.#ignoreOffer = !this.polite && collision;
        if (this.#ignoreOffer) return;
        if (collision) await pc.setLocalDescription({ type: "rollback" });
        await pc.setRemoteDescription(description);
        await this.#adoptTransceivers();
        await pc.setLocalDescription();
        this.#signal(this.#options.connection.sendAnswer(this.id, pc.localDescription!.sdp));
      } else {
        if (pc.signalingState !== "have-local-offer") return; // an answer to an offer rolled back
        await pc.setRemoteDescription(description);
      }
      for (const candidate of this.#pendingCandidates.splice(0)) await pc.addIceCandidate(candidate);
    } catch (error) {
      this.#error(error);
    }
  }

  /** The polite side sends on the transceivers the impolite side's offer created. */
  async #adoptTransceivers(): Promise<void> {
    for (const transceiver of this.pc.getTransceivers()) {
      const kind = transceiver.receiver.track.kind;
      if (kind === "audio" && !this.#audio) {
        this.#audio = transceiver;
        await this.#send(transceiver, this.#options.localMedia().audio);
      } else if (kind === "video" && !this.#video) {
        this.#video = transceiver;
        await this.#send(transceiver, this.#options.localMedia().video);
      }
    }
  }

  async #send(transceiver: RTCRtpTransceiver, track: MediaStreamTrack | null): Promise<void> {
    transceiver.direction = "sendrecv";
    await transceiver.sender.replaceTrack(track);
    const { stream } = this.#options.localMedia();
    if (stream) transceiver.sender.setStreams?.(stream);
  }

  #signal(sent: Promise<void>): void {
    sent.catch((error) => this.#error(error));
  }

  #error(error: unknown): void {
    this.#options.emit("error", { participantId: this.id, error });
  }
}
