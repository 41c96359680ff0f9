// @ts-check
/**
 * One SFU session: a werift peer connection to one client, the tracks it
 * publishes (`local`) and pulls (`remote`), keyed by the transceiver's mid,
 * and the forwarding between them. The client always holds the other end
 * of the negotiation the way Cloudflare Realtime SFU expects: it offers to
 * publish (the SFU answers) and the SFU offers to let it pull (the client
 * answers through `renegotiate`).
 */
import { PictureLossIndication, RTCPeerConnection, RtcpPayloadSpecificFeedback } from "werift";
import { guardPeerSends, keepLoopbackCandidates, loopbackPeerConfig, peerDatagramTransports } from "./loopback.mjs";

/** An expected refusal, answered as `{ errorCode, errorDescription }` with `status`. */
export class SfuError extends Error {
  /**
   * @param {number} status
   * @param {string} errorCode
   * @param {string} errorDescription
   */
  constructor(status, errorCode, errorDescription) {
    super(errorDescription);
    this.status = status;
    this.errorCode = errorCode;
    this.errorDescription = errorDescription;
  }
}

/** @typedef {{ type: "offer" | "answer", sdp: string }} SessionDescription */
/** @typedef {{ errorCode: string, errorDescription: string }} ItemError */
/** @typedef {import("werift").RTCRtpTransceiver} Transceiver */

/**
 * A track a session publishes; `subscribers` are the pulls it feeds.
 * @typedef {{
 *   location: "local", mid: string, trackName: string, kind: "audio" | "video",
 *   session: SfuSession, transceiver: Transceiver, mediaSsrc?: number, keyframeWanted: boolean,
 *   subscribers: Set<Subscription>, closed: boolean,
 * }} Publication
 */
/**
 * A track a session pulls from another session's publication.
 * @typedef {{
 *   location: "remote", mid: string, trackName: string, publisherSessionId: string,
 *   transceiver: Transceiver, publication: Publication, closed: boolean, awaitingKeyframe: boolean,
 * }} Subscription
 */

/** Publications by `<sessionId>/<trackName>`, shared by every session of one app. */
export class PublicationRegistry {
  /** @type {Map<string, Publication>} */
  #byName = new Map();

  /** @param {string} sessionId @param {string} trackName */
  get(sessionId, trackName) {
    return this.#byName.get(`${sessionId}/${trackName}`);
  }

  /** @param {Publication} publication */
  add(publication) {
    this.#byName.set(`${publication.session.id}/${publication.trackName}`, publication);
  }

  /** @param {Publication} publication */
  remove(publication) {
    const key = `${publication.session.id}/${publication.trackName}`;
    if (this.#byName.get(key) === publication) this.#byName.delete(key);
  }
}

/** The smallest thing werift must accept as an SDP before it is parsed. */
const SDP_START = /^v=0\r?\n/;

export class SfuSession {
  /** @type {Map<string, Publication | Subscription>} by mid */
  #tracks = new Map();
  /** @type {number | undefined} when the client last sent anything (Date.now()); undefined until it has */
  lastHeardAt;
  /** @type {WeakSet<object>} sockets whose inbound datagrams update lastHeardAt */
  #heardSockets = new WeakSet();
  /** @type {WeakSet<object>} transports whose RTCP is watched for keyframe requests */
  #watchedTransports = new WeakSet();
  /** Negotiations run one at a time per session, as one browser's would. */
  #queue = Promise.resolve();

  /**
   * @param {string} id
   * @param {PublicationRegistry} registry
   * @param {{ scope: import("./loopback.mjs").PeerScope, onRefusedSend: (address: string) => void }} network
   *   which peers it answers, and who hears of a datagram refused
   */
  constructor(id, registry, network) {
    this.id = id;
    this.registry = registry;
    this.network = network;
    this.peer = new RTCPeerConnection(loopbackPeerConfig({ scope: network.scope }));
    // No withdrawal on "failed": werift reports it for a connect attempt that a renegotiation
    // interrupted, then "connected". Tracks end by tracks/close (the worker's job) or close().
    this.peer.connectionStateChange.subscribe((state) => {
      if (state === "connected") this.#requestAwaitedKeyframes();
    });
  }

  /**
   * Runs `operation` after every earlier one on this session.
   * @template T
   * @param {() => Promise<T>} operation
   * @returns {Promise<T>}
   */
  serialized(operation) {
    const result = this.#queue.then(operation);
    this.#queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /**
   * Applies a client's offer and returns the SFU's answer.
   * @param {SessionDescription} offer
   * @param {(transceivers: Transceiver[]) => void} [beforeAnswer] adjusts transceivers once the offer is applied
   * @returns {Promise<SessionDescription>}
   */
  async answer(offer, beforeAnswer) {
    await this.#applyRemote(offer, "offer");
    beforeAnswer?.(this.peer.getTransceivers());
    const answer = await this.peer.createAnswer();
    await this.peer.setLocalDescription(answer);
    return this.#localDescription();
  }

  /**
   * Publishes the offer's transceivers named in `tracks`.
   * @param {SessionDescription} offer
   * @param {{ mid: string, trackName: string }[]} tracks
   */
  async publish(offer, tracks) {
    /** @type {Map<string, ItemError>} */
    const refusals = new Map();
    const sessionDescription = await this.answer(offer, (transceivers) => {
      for (const track of tracks) {
        const transceiver = transceivers.find((candidate) => candidate.mid === track.mid);
        if (!transceiver) {
          refusals.set(track.mid, {
            errorCode: "invalid_mid",
            errorDescription: `The offer has no media section with mid ${track.mid}`,
          });
          continue;
        }
        if (this.registry.get(this.id, track.trackName)) {
          refusals.set(track.mid, {
            errorCode: "duplicate_track_name",
            errorDescription: `Track ${track.trackName} is already published by this session`,
          });
          continue;
        }
        transceiver.setDirection("recvonly");
        this.#addPublication(transceiver, track);
      }
    });
    return {
      requiresImmediateRenegotiation: false,
      sessionDescription,
      tracks: tracks.map((track) => ({ mid: track.mid, trackName: track.trackName, ...refusals.get(track.mid) })),
    };
  }

  /**
   * Pulls other sessions' publications: new send-only transceivers and an
   * offer the client must answer through `renegotiate`.
   * @param {{ sessionId: string, trackName: string }[]} tracks
   */
  async pull(tracks) {
    /** @type {({ sessionId: string, trackName: string, mid?: string } & Partial<ItemError>)[]} */
    const results = [];
    /** @type {[Transceiver, (typeof results)[number]][]} */
    const added = [];
    for (const track of tracks) {
      const publication = this.registry.get(track.sessionId, track.trackName);
      if (!publication) {
        results.push({
          sessionId: track.sessionId,
          trackName: track.trackName,
          errorCode: "not_found",
          errorDescription: `Session ${track.sessionId} publishes no track named ${track.trackName}`,
        });
        continue;
      }
      const transceiver = this.peer.addTransceiver(publication.kind, { direction: "sendonly" });
      const result = { sessionId: track.sessionId, trackName: track.trackName };
      added.push([transceiver, result]);
      results.push(result);
    }
    if (added.length === 0) return { requiresImmediateRenegotiation: false, tracks: results };
    const offer = await this.peer.createOffer();
    await this.peer.setLocalDescription(offer);
    for (const [transceiver, result] of added) {
      const publication = this.registry.get(result.sessionId, result.trackName);
      const mid = transceiver.mid ?? "";
      Object.assign(result, { mid });
      if (publication) this.#addSubscription(transceiver, mid, publication);
    }
    return { requiresImmediateRenegotiation: true, sessionDescription: this.#localDescription(), tracks: results };
  }

  /**
   * The client's answer to the SFU's last offer (or a new offer of its own, answered).
   * @param {SessionDescription} description
   * @returns {Promise<{ sessionDescription?: SessionDescription }>}
   */
  async renegotiate(description) {
    if (description.type === "offer") return { sessionDescription: await this.answer(description) };
    if (this.peer.signalingState !== "have-local-offer") {
      throw new SfuError(400, "invalid_sdp", "There is no SFU offer to answer");
    }
    await this.#applyRemote(description, "answer");
    this.#watchKeyframeRequests();
    if (this.peer.connectionState === "connected") this.#requestAwaitedKeyframes();
    return {};
  }

  /**
   * Stops forwarding the tracks with these mids; with an offer (the client's
   * transceivers stopped), answers it.
   * @param {string[]} mids
   * @param {SessionDescription | undefined} offer
   */
  async closeTracks(mids, offer) {
    const results = mids.map((mid) => {
      const track = this.#tracks.get(mid);
      if (!track || track.closed) {
        return { mid, errorCode: "close_track_error", errorDescription: "Track doesn't exist or was already closed" };
      }
      this.#closeTrack(track);
      return { mid };
    });
    const sessionDescription = offer ? await this.answer(offer) : undefined;
    return {
      requiresImmediateRenegotiation: false,
      ...(sessionDescription && { sessionDescription }),
      tracks: results,
    };
  }

  /** Every track this session has had, with Cloudflare's status words. */
  state() {
    return {
      tracks: [...this.#tracks.values()].map((track) => ({
        location: track.location,
        mid: track.mid,
        trackName: track.trackName,
        ...(track.location === "remote" && { sessionId: track.publisherSessionId }),
        status: track.closed ? "inactive" : "active",
      })),
    };
  }

  async close() {
    this.#closeAllTracks();
    await this.peer.close();
  }

  /**
   * @param {SessionDescription} description
   * @param {"offer" | "answer"} expectedType
   */
  async #applyRemote(description, expectedType) {
    if (description.type !== expectedType) {
      throw new SfuError(400, "invalid_sdp", `Expected an SDP ${expectedType}, got an ${description.type}`);
    }
    if (!SDP_START.test(description.sdp)) throw new SfuError(400, "invalid_sdp", "The SDP does not start with v=0");
    try {
      await this.peer.setRemoteDescription({ type: description.type, sdp: keepLoopbackCandidates(description.sdp) });
    } catch (error) {
      throw new SfuError(400, "invalid_sdp", `The SDP was refused: ${error instanceof Error ? error.message : error}`);
    }
  }

  /**
   * The local description, once werift has gathered, with its (127.0.0.1) candidates.
   * @returns {SessionDescription}
   */
  #localDescription() {
    guardPeerSends(this.peer, this.network.onRefusedSend, this.network.scope);
    this.#listenForClient();
    const description = this.peer.localDescription;
    if (!description) throw new Error("no local description after setLocalDescription");
    return { type: description.type === "offer" ? "offer" : "answer", sdp: description.sdp };
  }

  /** Notes every datagram the client sends (STUN consent checks, RTCP, media): silence means it is gone. */
  #listenForClient() {
    for (const socket of peerDatagramTransports(this.peer)) {
      if (this.#heardSockets.has(socket)) continue;
      this.#heardSockets.add(socket);
      const onData = socket.onData;
      socket.onData = (data, address) => {
        this.lastHeardAt = Date.now();
        onData?.(data, address);
      };
    }
  }

  /**
   * @param {Transceiver} transceiver
   * @param {{ mid: string, trackName: string }} track
   */
  #addPublication(transceiver, track) {
    /** @type {Publication} */
    const publication = {
      location: "local",
      mid: track.mid,
      trackName: track.trackName,
      kind: transceiver.kind === "audio" ? "audio" : "video",
      session: this,
      transceiver,
      subscribers: new Set(),
      closed: false,
      keyframeWanted: false,
    };
    // werift fires onTrack while it applies the offer, before this runs: read the receiver's track.
    transceiver.receiver.track.onReceiveRtp.subscribe((packet) => {
      publication.mediaSsrc = packet.header.ssrc;
      if (publication.keyframeWanted) requestKeyframe(publication);
      if (publication.closed || publication.subscribers.size === 0) return;
      const forwarded = packet.clone();
      // The sender rewrites SSRC, payload type and numbering but keeps extensions: the
      // publisher's ids (its mid among them) mean something else on each subscriber's link.
      forwarded.header.extensions = [];
      for (const subscription of publication.subscribers) void subscription.transceiver.sender.sendRtp(forwarded);
    });
    this.#tracks.set(track.mid, publication);
    this.registry.add(publication);
  }

  /**
   * @param {Transceiver} transceiver
   * @param {string} mid
   * @param {Publication} publication
   */
  #addSubscription(transceiver, mid, publication) {
    /** @type {Subscription} */
    const subscription = {
      location: "remote",
      mid,
      trackName: publication.trackName,
      publisherSessionId: publication.session.id,
      transceiver,
      publication,
      closed: false,
      awaitingKeyframe: true,
    };
    publication.subscribers.add(subscription);
    this.#tracks.set(mid, subscription);
  }

  /**
   * Passes subscribers' keyframe requests (PLI, FIR) to the publishers. Read
   * on the transport, not the sender: werift routes a PLI by its sender SSRC
   * first, and a browser that also publishes signs it with one of its own
   * streams' SSRC, which lands it on the receiver of that stream.
   */
  #watchKeyframeRequests() {
    for (const transceiver of this.peer.getTransceivers()) {
      const transport = transceiver.dtlsTransport;
      if (!transport || this.#watchedTransports.has(transport)) continue;
      this.#watchedTransports.add(transport);
      transport.onRtcp.subscribe((packet) => {
        if (!(packet instanceof RtcpPayloadSpecificFeedback)) return;
        const feedback = packet.feedback;
        if (feedback.count === PictureLossIndication.count) this.#keyframeRequested(feedback.mediaSsrc);
        // A Full Intra Request names its streams in entries (werift does not export its class).
        if ("fir" in feedback) for (const entry of feedback.fir) this.#keyframeRequested(entry.ssrc);
      });
    }
  }

  /** @param {number} ssrc what the SFU sends on a subscription */
  #keyframeRequested(ssrc) {
    for (const track of this.#tracks.values()) {
      if (track.location === "remote" && !track.closed && track.transceiver.sender.ssrc === ssrc) {
        requestKeyframe(track.publication);
      }
    }
  }

  /** One PLI per new subscriber, once its link is up: enough for its first frame. */
  #requestAwaitedKeyframes() {
    for (const track of this.#tracks.values()) {
      if (track.location !== "remote" || track.closed || !track.awaitingKeyframe) continue;
      track.awaitingKeyframe = false;
      requestKeyframe(track.publication);
    }
  }

  /** @param {Publication | Subscription} track */
  #closeTrack(track) {
    track.closed = true;
    if (track.location === "remote") {
      track.publication.subscribers.delete(track);
      return;
    }
    this.registry.remove(track);
    for (const subscription of track.subscribers) subscription.closed = true;
    track.subscribers.clear();
  }

  #closeAllTracks() {
    for (const track of this.#tracks.values()) if (!track.closed) this.#closeTrack(track);
  }
}

/** @param {Publication} publication */
function requestKeyframe(publication) {
  if (publication.closed || publication.kind !== "video") return;
  if (publication.mediaSsrc === undefined) {
    // Nothing received yet: ask as soon as the first packet says which SSRC to ask.
    publication.keyframeWanted = true;
    return;
  }
  publication.keyframeWanted = false;
  void publication.transceiver.receiver.sendRtcpPLI(publication.mediaSsrc);
}
