/**
 * `SfuCall`: a call through an SFU (contract 1.2, meetings whose
 * `media.mode` is `sfu`), for browsers, with `MeshCall`'s surface. One
 * `RTCPeerConnection` to the SFU: this participant publishes its microphone
 * and camera once (the SFU copies them to everyone), and pulls each other
 * participant's tracks as `meeting:joined` and `media:tracks` announce them,
 * all through the meeting's `/media/*` routes (the server holds the SFU
 * session). Negotiations run one at a time. Audio is pulled from everyone;
 * video only from the participants the app asks for (`setVideoFrom`), so a
 * grid of 50 pulls only the page it shows. A cut connection, or a reconnect
 * after which the server has withdrawn this participant's tracks, starts a
 * new session that publishes again and pulls everything again.
 */

import { inboundAudioLevels } from "./audio-levels.js";
import type { MeetingConnection } from "./connection.js";
import { Emitter } from "./emitter.js";
import { MeetTimeError } from "./errors.js";
import { LocalDevices } from "./local-devices.js";
import type { MediaTracksInput, PublishedTrackData } from "./types.js";

export interface SfuCallOptions {
  /** What `start()` asks `getUserMedia` for [`{ audio: true, video: true }`]. */
  media?: MediaStreamConstraints;
  /** ICE servers for the connection to the SFU, instead of the server's. */
  iceServers?: RTCIceServer[];
  /** `"relay"` forces the path to the SFU through TURN. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Participants whose video is pulled; absent: everyone's. Audio is always pulled from everyone. */
  videoFrom?: Iterable<string>;
}

export interface SfuCallEvents {
  /** What this participant sends (camera or screen, and microphone); null when nothing. */
  "local-stream": MediaStream | null;
  /**
   * A participant's media as pulled so far (audio, and video while it is
   * pulled); emitted again whenever its tracks change.
   */
  stream: { participantId: string; stream: MediaStream };
  /** A participant publishes nothing any more (it left, dropped or was removed), or the call stopped. */
  "peer-left": { participantId: string };
  /** The state of the one connection to the SFU. */
  "connection-state": { state: RTCPeerConnectionState };
  /** Media or negotiation failures (e.g. camera permission refused); the call goes on without. */
  error: { participantId?: string; error: unknown };
}

/** A track this participant receives through the SFU, by the mid of its transceiver. */
interface Pull {
  participantId: string;
  trackName: string;
  kind: "audio" | "video";
  mid: string;
  /** When it was pulled (Date.now()). */
  since?: number;
}

/** A track this participant sends. */
interface Sent {
  trackName: string;
  mid: string;
  transceiver: RTCRtpTransceiver;
}

/** The contract's most tracks in one `/media/tracks` or `/media/tracks/close` call. */
const TRACKS_PER_CALL = 64;
/** How long a refused (429, 503) or failed negotiation waits before it is tried again, at most. */
const RETRY_MAX_MS = 10_000;
/** How long the first pull waits for the publishing connection to come up (pulls then ride on it). */
const FIRST_CONNECT_WAIT_MS = 5_000;
/** A pulled video that has decoded no frame this long after it was pulled is pulled again. */
const STALLED_VIDEO_MS = 15_000;
const STALL_CHECK_MS = 2_000;

const keyOf = (track: { participantId: string; trackName: string }) => `${track.participantId}/${track.trackName}`;

/**
 * @example
 * const call = new SfuCall(conn, { videoFrom: firstPageIds });
 * call.on("stream", ({ participantId, stream }) => (videoFor(participantId).srcObject = stream));
 * call.on("peer-left", ({ participantId }) => removeTile(participantId));
 * await call.start();
 * call.setVideoFrom(nextPageIds); // pulls those videos, closes the others; audio stays
 */
export class SfuCall extends Emitter<SfuCallEvents> {
  readonly #unsubscribe: Array<() => void> = [];
  #pc: RTCPeerConnection | null = null;
  #iceServers: RTCIceServer[] = [];
  readonly #devices: LocalDevices;
  #started = false;
  /** What this participant publishes on the current session, by kind. */
  readonly #sent = new Map<"audio" | "video", Sent>();
  readonly #pulls = new Map<string, Pull>();
  readonly #streams = new Map<string, MediaStream>();
  #videoFrom: Set<string> | null;
  /** Negotiations run one at a time, in order. */
  #chain: Promise<void> = Promise.resolve();
  #syncQueued = false;
  #restartQueued = false;
  /** The session is open and both sides agree on it: a failure now needs only a new sync, not a new session. */
  #sessionUp = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #stallTimer: ReturnType<typeof setInterval> | undefined;
  #failures = 0;

  constructor(
    readonly connection: MeetingConnection,
    readonly options: SfuCallOptions = {},
  ) {
    super();
    this.#videoFrom = options.videoFrom ? new Set(options.videoFrom) : null;
    this.#devices = new LocalDevices(connection, (stream) => this.emit("local-stream", stream));
  }

  /** What this participant sends; null before `start()` or without media. */
  get localStream(): MediaStream | null {
    return this.#devices.stream;
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
    return new Map(this.#streams);
  }
  /** The connection to the SFU (for `getStats()`; the call owns it); null before `start()`. */
  get peerConnection(): RTCPeerConnection | null {
    return this.#pc;
  }
  /** Participants whose video is pulled; null: everyone's. */
  get videoFrom(): ReadonlySet<string> | null {
    return this.#videoFrom;
  }

  /**
   * Asks for camera and microphone (a refusal is an `error` event; the call
   * goes on receive-only), waits for the connection's first join, opens this
   * participant's SFU session, publishes, and pulls everyone's tracks.
   */
  async start(media: MediaStreamConstraints = this.options.media ?? { audio: true, video: true }): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#devices.open(media).catch((error) => this.emit("error", { error }));
    this.#devices.updateStream();
    const joined = await this.connection.ready;
    if (!this.#started) return; // stopped meanwhile
    if (joined.media.mode !== "sfu") {
      this.stop();
      throw new TypeError("SfuCall: this meeting's media is peer to peer (mesh); createCall() picks the right call");
    }
    this.#iceServers = this.options.iceServers ?? this.connection.iceServers ?? [];
    const conn = this.connection;
    this.#unsubscribe.push(
      conn.on("media:tracks", () => this.#scheduleSync()),
      // After our own reconnect the server may have withdrawn what we published (a drop does that).
      conn.on("meeting:joined", () => (this.#stillPublished() ? this.#scheduleSync() : this.#scheduleRestart())),
      conn.on("ice-servers", ({ iceServers }) => {
        if (this.options.iceServers) return;
        this.#iceServers = iceServers;
        this.#pc?.setConfiguration({ ...this.#pc.getConfiguration(), iceServers });
      }),
      conn.on("state", (change) => change.state === "closed" && this.stop()),
    );
    this.#stallTimer = setInterval(() => {
      void this.#repullStalledVideo();
      // A pull the SFU refused track by track, or one lost to a race, is tried again.
      if (this.#sessionUp && this.#missingTracks().length > 0) this.#scheduleSync();
    }, STALL_CHECK_MS);
    await this.#enqueue(() => this.#openSession());
    await this.#devices.publishState({ screen: false });
  }

  /** Hangs up: withdraws what this participant publishes, closes the connection, stops the devices. */
  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#stallTimer);
    for (const off of this.#unsubscribe.splice(0)) off();
    const mids = [...this.#sent.values()].map((sent) => ({ mid: sent.mid }));
    if (mids.length > 0 && this.connection.state !== "closed") {
      // Best effort: after a leave or a kick the server has withdrawn them already.
      this.#client()
        .closeMediaTracks(this.connection.meetingId, this.connection.token, { tracks: mids, force: true })
        .catch(() => {});
    }
    this.#closeSession();
    this.#devices.stop();
  }

  /**
   * Pulls video only from these participants (and closes the other videos);
   * audio stays pulled from everyone. `null`: everyone's video.
   */
  setVideoFrom(participantIds: Iterable<string> | null): void {
    const next = participantIds === null ? null : new Set(participantIds);
    const same =
      next === null
        ? this.#videoFrom === null
        : this.#videoFrom !== null &&
          next.size === this.#videoFrom.size &&
          [...next].every((id) => this.#videoFrom?.has(id));
    if (same) return;
    this.#videoFrom = next;
    this.#scheduleSync();
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

  /** Sends the screen instead of the camera (`replaceTrack` on the published video: no renegotiation). */
  async startScreenShare(): Promise<void> {
    if (!(await this.#devices.startScreen(() => void this.stopScreenShare()))) return;
    await this.#replaceVideo();
    await this.#devices.publishState({ screen: true });
  }

  async stopScreenShare(): Promise<void> {
    if (!this.#devices.stopScreen()) return;
    await this.#replaceVideo();
    await this.#devices.publishState({ screen: false });
  }

  /**
   * How loud each participant is right now (0..1, from the decoded audio:
   * `getStats()` `audioLevel`), this participant's own microphone included.
   */
  async audioLevels(): Promise<Map<string, number>> {
    const pc = this.#pc;
    const levels = new Map<string, number>();
    if (!pc) return levels;
    const participantByTrack = new Map<string, string>();
    for (const transceiver of pc.getTransceivers()) {
      const pull = transceiver.mid ? this.#pulls.get(transceiver.mid) : undefined;
      if (pull?.kind === "audio") participantByTrack.set(transceiver.receiver.track.id, pull.participantId);
    }
    const selfId = this.connection.self?.id;
    for (const [who, level] of inboundAudioLevels(await pc.getStats(), participantByTrack)) {
      levels.set(who === "self" ? (selfId ?? who) : who, level);
    }
    return levels;
  }

  // ------------------------------------------------------------ negotiation, one at a time

  #enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(async () => {
      if (!this.#started) return;
      try {
        await task();
        this.#failures = 0;
      } catch (error) {
        this.#failed(error);
      }
    });
    this.#chain = run;
    return run;
  }

  #scheduleSync(): void {
    if (this.#syncQueued || this.#restartQueued) return;
    this.#syncQueued = true;
    void this.#enqueue(async () => {
      this.#syncQueued = false;
      await this.#syncPulls();
    });
  }

  #scheduleRestart(): void {
    if (this.#restartQueued) return;
    this.#restartQueued = true;
    void this.#enqueue(() => this.#openSession());
  }

  /**
   * A refusal that may pass (429 with its `Retry-After`, 503, the network)
   * tries again later; anything else leaves the connection in an unknown
   * state, so the call starts over on a new session.
   */
  #failed(error: unknown): void {
    this.emit("error", { error });
    if (!this.#started) return;
    const code = error instanceof MeetTimeError ? error.code : undefined;
    const syncable = this.#sessionUp && this.#pc?.signalingState === "stable";
    // A track withdrawn while we asked for it: the `media:tracks` that says so brings another sync.
    if (code === "NOT_FOUND" && syncable) return;
    this.#failures += 1;
    const backoffMs = Math.min(RETRY_MAX_MS, 500 * 2 ** Math.min(this.#failures, 5));
    const waitMs =
      error instanceof MeetTimeError && error.retryAfterSeconds ? error.retryAfterSeconds * 1000 : backoffMs;
    const transient = code === "RATE_LIMITED" || code === "UNAVAILABLE" || code === "NETWORK_ERROR";
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(
      () => (transient && syncable ? this.#scheduleSync() : this.#scheduleRestart()),
      waitMs,
    );
  }

  /** A new SFU session (replacing any previous one): publish, then pull everything wanted. */
  async #openSession(): Promise<void> {
    this.#restartQueued = false;
    this.#syncQueued = false;
    this.#sessionUp = false;
    this.#closeSession();
    const pc = new RTCPeerConnection({
      bundlePolicy: "max-bundle",
      iceServers: this.#iceServers,
      ...(this.options.iceTransportPolicy ? { iceTransportPolicy: this.options.iceTransportPolicy } : {}),
    });
    this.#pc = pc;
    pc.ontrack = ({ transceiver, track }) => this.#received(transceiver.mid, track);
    pc.onconnectionstatechange = () => {
      if (pc !== this.#pc) return;
      const state = pc.connectionState;
      this.emit("connection-state", { state });
      // A cut path (a network change, an SFU that forgot the session): start over.
      if (state === "failed") this.#scheduleRestart();
    };
    await this.#client().openMediaSession(this.connection.meetingId, this.connection.token);
    const tracks = [this.#devices.audio, this.#devices.video].filter((t): t is MediaStreamTrack => t !== null);
    if (tracks.length > 0) {
      await this.#publish(pc, tracks);
      // Pulling renegotiates; doing it while the first handshake runs is what makes it hang.
      await connectedOrTimeout(pc, FIRST_CONNECT_WAIT_MS);
    }
    this.#sessionUp = true;
    await this.#syncPulls();
  }

  /** Closes the SFU connection; every pulled track goes with it (their streams are made anew). */
  #closeSession(): void {
    const pc = this.#pc;
    this.#pc = null;
    this.#sent.clear();
    this.#pulls.clear();
    this.#streams.clear();
    if (!pc) return;
    pc.ontrack = pc.onconnectionstatechange = null;
    pc.close();
    if (!this.#started) for (const id of this.#announced.splice(0)) this.emit("peer-left", { participantId: id });
  }

  /** Publishes `tracks` on a fresh session: send-only transceivers, an offer, the SFU's answer. */
  async #publish(pc: RTCPeerConnection, tracks: MediaStreamTrack[]): Promise<void> {
    // Each session gets new names, so nobody mistakes a new publication for one it already pulls.
    const tag = crypto.randomUUID().slice(0, 8);
    const entries = tracks.map((track) => ({
      kind: track.kind === "audio" ? ("audio" as const) : ("video" as const),
      transceiver: pc.addTransceiver(track, { direction: "sendonly" }),
    }));
    await pc.setLocalDescription(await pc.createOffer());
    const answer = await this.#client().addMediaTracks(this.connection.meetingId, this.connection.token, {
      sessionDescription: { type: "offer", sdp: pc.localDescription?.sdp ?? "" },
      tracks: entries.map(({ kind, transceiver }) => ({
        location: "local",
        mid: transceiver.mid ?? "",
        trackName: `${kind}-${tag}`,
        kind,
        ...(kind === "video" && this.#devices.screen ? { screen: true } : {}),
      })),
    });
    if (answer.sessionDescription) await pc.setRemoteDescription(answer.sessionDescription);
    for (const { kind, transceiver } of entries) {
      const result = answer.tracks.find((track) => track.mid === transceiver.mid);
      if (result && !result.errorCode) {
        this.#sent.set(kind, { trackName: `${kind}-${tag}`, mid: transceiver.mid ?? "", transceiver });
      } else if (result?.errorCode) {
        this.emit("error", { error: new Error(`the SFU refused our ${kind}: ${result.errorDescription}`) });
      }
    }
  }

  /** Whether the server still lists what this session publishes (after a drop it withdraws it). */
  #stillPublished(): boolean {
    const self = this.connection.self?.id;
    const listed = new Set((this.connection.media?.tracks?.[self ?? ""] ?? []).map((track) => track.trackName));
    return [...this.#sent.values()].every((sent) => listed.has(sent.trackName));
  }

  // ------------------------------------------------------------ pulling

  /** Participants who have had a `stream` event and no `peer-left` since. */
  readonly #announced: string[] = [];

  /** The tracks this participant should be pulling: everyone's audio, the chosen participants' video. */
  #wantedTracks(): Map<string, Omit<Pull, "mid">> {
    const self = this.connection.self?.id;
    const wanted = new Map<string, Omit<Pull, "mid">>();
    const published: Record<string, PublishedTrackData[]> = this.connection.media?.tracks ?? {};
    for (const [participantId, tracks] of Object.entries(published)) {
      if (participantId === self) continue;
      for (const { trackName, kind } of tracks) {
        if (kind === "video" && this.#videoFrom !== null && !this.#videoFrom.has(participantId)) continue;
        wanted.set(keyOf({ participantId, trackName }), { participantId, trackName, kind });
      }
    }
    return wanted;
  }

  /** Brings what is pulled in line with what is wanted: closes the rest, then pulls what is missing. */
  async #syncPulls(): Promise<void> {
    const pc = this.#pc;
    if (!pc) return;
    const wanted = this.#wantedTracks();
    const stale = [...this.#pulls.values()].filter((pull) => !wanted.has(keyOf(pull)));
    for (let start = 0; start < stale.length; start += TRACKS_PER_CALL) {
      await this.#closePulls(pc, stale.slice(start, start + TRACKS_PER_CALL));
    }
    const missing = this.#missingTracks();
    for (let start = 0; start < missing.length; start += TRACKS_PER_CALL) {
      if (pc !== this.#pc) return;
      await this.#pull(pc, missing.slice(start, start + TRACKS_PER_CALL));
    }
    this.#announceDepartures();
  }

  /** Tracks wanted and not pulled. */
  #missingTracks(): Omit<Pull, "mid">[] {
    const pulled = new Set([...this.#pulls.values()].map(keyOf));
    return [...this.#wantedTracks().entries()].filter(([key]) => !pulled.has(key)).map(([, track]) => track);
  }

  /** Pulls tracks: the SFU offers them, this side answers. */
  async #pull(pc: RTCPeerConnection, tracks: Omit<Pull, "mid">[]): Promise<void> {
    const body: MediaTracksInput = {
      tracks: tracks.map(({ participantId, trackName }) => ({ location: "remote", participantId, trackName })),
    };
    const answer = await this.#client().addMediaTracks(this.connection.meetingId, this.connection.token, body);
    if (pc !== this.#pc) return;
    const kinds = new Map(tracks.map((track) => [keyOf(track), track.kind]));
    for (const result of answer.tracks) {
      if (result.errorCode || !result.mid || !result.participantId || !result.trackName) continue;
      const key = keyOf({ participantId: result.participantId, trackName: result.trackName });
      const kind = kinds.get(key);
      if (kind)
        this.#pulls.set(result.mid, {
          participantId: result.participantId,
          trackName: result.trackName,
          kind,
          mid: result.mid,
        });
    }
    if (answer.requiresImmediateRenegotiation && answer.sessionDescription) {
      // From here until the SFU has our answer, a failure leaves the two sides out of step.
      this.#sessionUp = false;
      await pc.setRemoteDescription(answer.sessionDescription);
      await pc.setLocalDescription(await pc.createAnswer());
      await this.#client().renegotiateMedia(this.connection.meetingId, this.connection.token, {
        sessionDescription: { type: "answer", sdp: pc.localDescription?.sdp ?? "" },
      });
      this.#sessionUp = true;
    }
  }

  /** Stops receiving tracks: their transceivers stopped, an offer saying so, the SFU's answer. */
  async #closePulls(pc: RTCPeerConnection, pulls: Pull[]): Promise<void> {
    const changed = new Set<string>();
    for (const pull of pulls) {
      this.#pulls.delete(pull.mid);
      const transceiver = pc.getTransceivers().find((candidate) => candidate.mid === pull.mid);
      const stream = this.#streams.get(pull.participantId);
      if (transceiver && stream) {
        stream.removeTrack(transceiver.receiver.track);
        changed.add(pull.participantId);
      }
      transceiver?.stop();
    }
    for (const participantId of changed) this.#emitStream(participantId);
    this.#sessionUp = false;
    await pc.setLocalDescription(await pc.createOffer());
    const answer = await this.#client().closeMediaTracks(this.connection.meetingId, this.connection.token, {
      tracks: pulls.map(({ mid }) => ({ mid })),
      sessionDescription: { type: "offer", sdp: pc.localDescription?.sdp ?? "" },
    });
    if (pc !== this.#pc) return;
    if (answer.sessionDescription) await pc.setRemoteDescription(answer.sessionDescription);
    this.#sessionUp = true;
  }

  /**
   * A pulled video that never showed a frame (its keyframe request lost, or
   * the pull raced a publisher's restart) is closed and pulled again.
   */
  async #repullStalledVideo(): Promise<void> {
    const pc = this.#pc;
    if (!pc || !this.#sessionUp || pc.connectionState !== "connected") return;
    const now = Date.now();
    const old = [...this.#pulls.values()].filter(
      (p) => p.kind === "video" && now - (p.since ?? now) > STALLED_VIDEO_MS,
    );
    if (old.length === 0) return;
    const decoded = new Map<string, number>();
    (await pc.getStats()).forEach(
      (stats: { type: string; kind?: string; trackIdentifier?: string; framesDecoded?: number }) => {
        if (stats.type === "inbound-rtp" && stats.kind === "video")
          decoded.set(stats.trackIdentifier ?? "", stats.framesDecoded ?? 0);
      },
    );
    const stalled = old.filter((pull) => {
      const track = pc.getTransceivers().find((t) => t.mid === pull.mid)?.receiver.track;
      return track !== undefined && (decoded.get(track.id) ?? 0) === 0;
    });
    if (stalled.length === 0 || pc !== this.#pc) return;
    void this.#enqueue(async () => {
      const current = stalled.filter((pull) => this.#pulls.get(pull.mid) === pull);
      if (current.length === 0 || pc !== this.#pc) return;
      await this.#closePulls(pc, current);
      await this.#syncPulls();
    });
  }

  /** A pulled track arrived: it joins its participant's stream. */
  #received(mid: string | null, track: MediaStreamTrack): void {
    const pull = mid ? this.#pulls.get(mid) : undefined;
    if (!pull) return;
    let stream = this.#streams.get(pull.participantId);
    if (!stream) {
      stream = new MediaStream();
      this.#streams.set(pull.participantId, stream);
    }
    // One track of each kind: a newer pull of the same kind replaces the older one.
    for (const old of stream.getTracks()) if (old.kind === track.kind && old !== track) stream.removeTrack(old);
    if (!stream.getTracks().includes(track)) stream.addTrack(track);
    this.#emitStream(pull.participantId);
  }

  #emitStream(participantId: string): void {
    const stream = this.#streams.get(participantId);
    if (!stream) return;
    if (!this.#announced.includes(participantId)) this.#announced.push(participantId);
    this.emit("stream", { participantId, stream });
  }

  /** `peer-left` for everyone announced who publishes nothing any more. */
  #announceDepartures(): void {
    const published = this.connection.media?.tracks ?? {};
    for (const participantId of [...this.#announced]) {
      if ((published[participantId]?.length ?? 0) > 0) continue;
      this.#announced.splice(this.#announced.indexOf(participantId), 1);
      this.#streams.delete(participantId);
      this.emit("peer-left", { participantId });
    }
  }

  // ------------------------------------------------------------ local media

  #client() {
    return this.connection.client;
  }

  async #replaceVideo(): Promise<void> {
    const sent = this.#sent.get("video");
    const track = this.#devices.video;
    if (sent) await sent.transceiver.sender.replaceTrack(track);
    // Nothing published as video yet (no camera): a new session publishes the screen.
    else if (track && this.#pc) this.#scheduleRestart();
  }
}

/** Resolves once `pc` is connected, or after `timeoutMs` (or at once if it closed). */
function connectedOrTimeout(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("connectionstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.connectionState === "connected" || pc.connectionState === "closed") done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("connectionstatechange", check);
    check();
  });
}
