/**
 * `MeshCall`: a full-mesh WebRTC call over a `MeetingConnection`, for
 * browsers. One `PeerLink` per peer (peer-link.ts: an `RTCPeerConnection`
 * with perfect negotiation), ICE servers from the server and kept fresh,
 * signals heard from the start. Local camera and microphone, mute, camera
 * and screen sharing are mirrored to `participant:update`. A mesh sends every
 * stream to every peer, so it is capped (`maxPeers`, 6 by default); beyond
 * it the `capacity` event says who is left out.
 */

import { inboundAudioLevels } from "./audio-levels.js";
import type { MeetingConnection } from "./connection.js";
import { Emitter } from "./emitter.js";
import { LocalDevices } from "./local-devices.js";
import { type LocalMedia, PeerLink } from "./peer-link.js";

export interface MeshCallOptions {
  /** Remote peers at most [6]: the first `maxPeers + 1` connected participants (by join time) are in the call. */
  maxPeers?: number;
  /** `"relay"` forces every path through TURN. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** ICE servers to use instead of the server's. */
  iceServers?: RTCIceServer[];
  /** What `start()` asks `getUserMedia` for [`{ audio: true, video: true }`]. */
  media?: MediaStreamConstraints;
}

/** Who is in the call and who is left out by the mesh's cap. */
export interface CallCapacity {
  maxPeers: number;
  /** More connected participants than the call holds. */
  over: boolean;
  /** Whether this participant is among those in the call. */
  selfInCall: boolean;
  /** Participant ids in the call (this one included when it is). */
  inCall: string[];
  /** Connected participant ids beyond the cap. */
  waiting: string[];
}

export interface MeshCallEvents {
  /** What this participant sends (camera or screen, and microphone); null when nothing. */
  "local-stream": MediaStream | null;
  /** A peer's media; the same stream object per peer, tracks added as they arrive. */
  stream: { participantId: string; stream: MediaStream };
  /** A peer's connection was closed (it left, dropped, or the call stopped). */
  "peer-left": { participantId: string };
  "connection-state": { participantId: string; state: RTCPeerConnectionState };
  capacity: CallCapacity;
  /** Media or negotiation failures (e.g. camera permission refused); the call goes on without. */
  error: { participantId?: string; error: unknown };
}

const DEFAULT_MAX_PEERS = 6;
const EARLY_SIGNALS_MAX = 500;

/**
 * @example
 * const call = new MeshCall(conn, { maxPeers: 6 });
 * call.on("stream", ({ participantId, stream }) => (videoFor(participantId).srcObject = stream));
 * call.on("capacity", (c) => c.over && showNotice(`${c.waiting.length} people cannot join the video`));
 * await call.start();
 * await call.setAudioEnabled(false);
 */
export class MeshCall extends Emitter<MeshCallEvents> {
  readonly maxPeers: number;
  readonly #peers = new Map<string, PeerLink>();
  readonly #unsubscribe: Array<() => void> = [];
  #iceServers: RTCIceServer[] = [];
  readonly #devices: LocalDevices;
  #capacity: CallCapacity | undefined;
  #started = false;
  /** Media and ICE servers are in hand: peers may be created. */
  #ready = false;
  #signalsHeard = false;
  readonly #earlySignals: Array<() => void> = [];

  constructor(
    readonly connection: MeetingConnection,
    readonly options: MeshCallOptions = {},
  ) {
    super();
    this.maxPeers = options.maxPeers ?? DEFAULT_MAX_PEERS;
    this.#devices = new LocalDevices(connection, (stream) => this.emit("local-stream", stream));
    this.#listenForSignals();
  }

  /** What this participant sends; null before `start()` or without media. */
  get localStream(): MediaStream | null {
    return this.#devices.stream;
  }
  get capacity(): CallCapacity | undefined {
    return this.#capacity;
  }
  get screenSharing(): boolean {
    return this.#devices.screen !== null;
  }
  get audioEnabled(): boolean {
    return this.#devices.audio?.enabled ?? false;
  }
  get videoEnabled(): boolean {
    return this.#devices.camera?.enabled ?? false;
  }
  /** Remote streams by participant id. */
  get remoteStreams(): ReadonlyMap<string, MediaStream> {
    return new Map([...this.#peers].map(([id, peer]) => [id, peer.stream]));
  }
  /** Each peer's `RTCPeerConnection`, by participant id (for `getStats()`; the call owns them). */
  get peerConnections(): ReadonlyMap<string, RTCPeerConnection> {
    return new Map([...this.#peers].map(([id, peer]) => [id, peer.pc]));
  }
  /** Each peer's connection state, by participant id. */
  get peerStates(): ReadonlyMap<string, RTCPeerConnectionState> {
    return new Map([...this.#peers].map(([id, peer]) => [id, peer.pc.connectionState]));
  }

  /**
   * Asks for camera and microphone (a refusal is an `error` event; the call
   * goes on receive-only), waits for the connection's first join, and connects
   * to every peer in the call.
   */
  async start(media: MediaStreamConstraints = this.options.media ?? { audio: true, video: true }): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#devices.open(media).catch((error) => this.emit("error", { error }));
    this.#devices.updateStream();
    await this.connection.ready;
    this.#iceServers =
      this.options.iceServers ??
      this.connection.iceServers ??
      (await this.connection.refreshIceServers().then(
        (info) => info.iceServers,
        (error) => {
          this.emit("error", { error });
          return [];
        },
      ));
    if (!this.#started) return; // stopped meanwhile
    const conn = this.connection;
    this.#listenForSignals();
    this.#unsubscribe.push(
      // A peer that (re)joins starts from scratch, so its old connection is useless.
      conn.on("meeting:participant-joined", ({ participant }) => this.#sync(participant.id)),
      conn.on("meeting:participant-left", () => this.#sync()),
      // After our own reconnect every peer saw us leave and come back, and starts over too.
      conn.on("meeting:joined", () => this.#sync("*")),
      conn.on("ice-servers", ({ iceServers }) => {
        if (this.options.iceServers) return;
        this.#iceServers = iceServers;
        for (const peer of this.#peers.values())
          peer.pc.setConfiguration({ ...peer.pc.getConfiguration(), iceServers });
      }),
      conn.on("state", (change) => change.state === "closed" && this.stop()),
    );
    this.#ready = true;
    this.#sync();
    for (const signal of this.#earlySignals.splice(0)) signal();
    await this.#devices.publishState({ screen: false });
  }

  /**
   * Signaling is heard from construction on: a peer that sees this participant
   * arrive may send its offer while `start()` still waits for the camera, and
   * an offer lost then would never come again. Until the call is ready,
   * signals wait (the latest `EARLY_SIGNALS_MAX`).
   */
  #listenForSignals(): void {
    if (this.#signalsHeard) return;
    this.#signalsHeard = true;
    const conn = this.connection;
    const handle = (signal: () => void) => {
      if (this.#ready) signal();
      else if (this.#earlySignals.push(signal) > EARLY_SIGNALS_MAX) this.#earlySignals.shift();
    };
    this.#unsubscribe.push(
      conn.on("webrtc:offer", ({ from, sdp }) => handle(() => this.#described(from, { type: "offer", sdp }))),
      conn.on("webrtc:answer", ({ from, sdp }) => handle(() => this.#described(from, { type: "answer", sdp }))),
      conn.on("webrtc:ice-candidate", ({ from, candidate }) => handle(() => this.#candidate(from, candidate))),
      () => {
        this.#signalsHeard = false;
      },
    );
  }

  /** Hangs up: closes every peer connection and stops the camera, microphone and screen. */
  stop(): void {
    this.#started = false;
    this.#ready = false;
    this.#earlySignals.length = 0;
    for (const off of this.#unsubscribe.splice(0)) off();
    for (const id of [...this.#peers.keys()]) this.#closePeer(id);
    this.#devices.stop();
  }

  /** Mutes or unmutes the microphone, and tells everyone (`participant:update { audio }`). */
  async setAudioEnabled(enabled: boolean): Promise<void> {
    await this.#devices.setAudioEnabled(enabled);
  }

  /** Turns the camera off or on, and tells everyone (`participant:update { video }`). */
  async setVideoEnabled(enabled: boolean): Promise<void> {
    await this.#devices.setVideoEnabled(enabled);
  }

  async setHandRaised(handRaised: boolean): Promise<void> {
    await this.connection.updateState({ handRaised });
  }

  /** Sends the screen instead of the camera (`getDisplayMedia`, `replaceTrack`: no renegotiation). */
  async startScreenShare(): Promise<void> {
    await this.#devices.startScreenShare(() => this.#replaceVideo());
  }

  async stopScreenShare(): Promise<void> {
    await this.#devices.stopScreenShare(() => this.#replaceVideo());
  }

  /**
   * How loud each peer is right now (0..1, from the decoded audio:
   * `getStats()` `audioLevel`), this participant's own microphone included.
   */
  async audioLevels(): Promise<Map<string, number>> {
    const levels = new Map<string, number>();
    const selfId = this.connection.self?.id;
    await Promise.all(
      [...this.#peers].map(async ([id, peer]) => {
        const track = peer.pc.getReceivers().find((receiver) => receiver.track.kind === "audio")?.track;
        const byTrack = new Map(track ? [[track.id, id]] : []);
        for (const [who, level] of inboundAudioLevels(await peer.pc.getStats(), byTrack)) {
          const key = who === "self" ? (selfId ?? who) : who;
          levels.set(key, Math.max(levels.get(key) ?? 0, level));
        }
      }),
    );
    return levels;
  }

  // ------------------------------------------------------------ who is in the call

  /**
   * Brings the peer connections in line with the participant list: the first
   * `maxPeers + 1` connected participants by join time are in the call (every
   * member computes the same set). `restart` names a peer (or `*`, all) whose
   * connection must start over.
   */
  #sync(restart?: string): void {
    const self = this.connection.self;
    if (!this.#ready || !self) return;
    if (restart === "*") for (const id of [...this.#peers.keys()]) this.#closePeer(id);
    else if (restart) this.#closePeer(restart);
    const connected = this.connection.participants
      .filter((p) => p.connected || p.id === self.id)
      .sort((a, b) => a.joinedAt.localeCompare(b.joinedAt) || a.id.localeCompare(b.id));
    const inCall = connected.slice(0, this.maxPeers + 1).map((p) => p.id);
    const selfInCall = inCall.includes(self.id);
    const wanted = new Set(selfInCall ? inCall.filter((id) => id !== self.id) : []);
    for (const id of [...this.#peers.keys()]) if (!wanted.has(id)) this.#closePeer(id);
    for (const id of wanted) if (!this.#peers.has(id)) this.#createPeer(id);
    const capacity: CallCapacity = {
      maxPeers: this.maxPeers,
      over: connected.length > this.maxPeers + 1,
      selfInCall,
      inCall,
      waiting: connected.slice(this.maxPeers + 1).map((p) => p.id),
    };
    if (JSON.stringify(capacity) !== JSON.stringify(this.#capacity)) {
      this.#capacity = capacity;
      this.emit("capacity", capacity);
    }
  }

  #inCall(id: string): boolean {
    return this.#capacity?.selfInCall === true && this.#capacity.inCall.includes(id);
  }

  // ------------------------------------------------------------ the peers

  #createPeer(id: string): PeerLink {
    const peer = new PeerLink(id, {
      connection: this.connection,
      configuration: {
        iceServers: this.#iceServers,
        ...(this.options.iceTransportPolicy ? { iceTransportPolicy: this.options.iceTransportPolicy } : {}),
      },
      localMedia: () => this.#localMedia(),
      emit: (type, data) => this.emit(type, data),
    });
    this.#peers.set(id, peer);
    return peer;
  }

  #closePeer(id: string): void {
    const peer = this.#peers.get(id);
    if (!peer) return;
    this.#peers.delete(id);
    peer.close();
    this.emit("peer-left", { participantId: id });
  }

  /** Hands a peer's description to its link. */
  #described(from: string, description: RTCSessionDescriptionInit): void {
    let peer = this.#peers.get(from);
    if (!peer) {
      // An offer can come before we learn of the peer's arrival; only members of the call get an answer.
      if (description.type !== "offer" || !this.#inCall(from)) return;
      peer = this.#createPeer(from);
    }
    peer.describe(description);
  }

  #candidate(from: string, candidate: RTCIceCandidateInit): void {
    this.#peers.get(from)?.addCandidate(candidate);
  }

  // ------------------------------------------------------------ local media

  #localMedia(): LocalMedia {
    return { audio: this.#devices.audio, video: this.#devices.video, stream: this.#devices.stream };
  }

  async #replaceVideo(): Promise<void> {
    const track = this.#devices.video;
    await Promise.all([...this.#peers.values()].map((peer) => peer.replaceVideo(track)));
  }
}
