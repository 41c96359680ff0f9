/**
 * `SfuCall`: a call through an SFU (contract 1.2, meetings whose
 * `media.mode` is `sfu`), for browsers, with `MeshCall`'s surface. One
 * `RTCPeerConnection` to the SFU: this participant publishes its microphone
 * and camera once (the SFU copies them to everyone), and pulls each other
 * participant's tracks as `meeting:joined` and `media:tracks` announce them,
 * all through the meeting's `/media/*` routes (the server holds the SFU
 * session). Audio is pulled from everyone; video only from the participants
 * the app asks for (`setVideoFrom`), so a grid of 50 pulls only the page it
 * shows. A cut connection, or a reconnect after which the server has
 * withdrawn this participant's tracks, starts a new session that publishes
 * again and pulls everything again.
 *
 * The call holds the surface and the lifecycle; `SfuSession`
 * (sfu-session.ts) the connection, what it publishes and the negotiations,
 * one at a time; `SfuPulls` (sfu-pulls.ts) what is pulled and the streams.
 */

import { inboundAudioLevels } from "./audio-levels.js";
import type { MeetingConnection } from "./connection.js";
import { Emitter } from "./emitter.js";
import { LocalDevices } from "./local-devices.js";
import { SfuPulls } from "./sfu-pulls.js";
import { SfuSession } from "./sfu-session.js";

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
  readonly #devices: LocalDevices;
  readonly #session: SfuSession;
  readonly #pulls: SfuPulls;
  #started = false;

  constructor(
    readonly connection: MeetingConnection,
    readonly options: SfuCallOptions = {},
  ) {
    super();
    this.#devices = new LocalDevices(connection, (stream) => this.emit("local-stream", stream));
    const emit = <K extends keyof SfuCallEvents>(type: K, data: SfuCallEvents[K]) => this.emit(type, data);
    this.#session = new SfuSession({
      connection,
      devices: this.#devices,
      iceTransportPolicy: options.iceTransportPolicy,
      pulls: {
        sync: () => this.#pulls.sync(),
        received: (mid, track) => this.#pulls.received(mid, track),
        clear: () => this.#pulls.clear(),
      },
      emit,
    });
    this.#pulls = new SfuPulls({ connection, session: this.#session, videoFrom: options.videoFrom, emit });
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
    return this.#pulls.streams;
  }
  /** The connection to the SFU (for `getStats()`; the call owns it); null before `start()`. */
  get peerConnection(): RTCPeerConnection | null {
    return this.#session.pc;
  }
  /** Participants whose video is pulled; null: everyone's. */
  get videoFrom(): ReadonlySet<string> | null {
    return this.#pulls.videoFrom;
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
    const session = this.#session;
    session.setIceServers(this.options.iceServers ?? this.connection.iceServers ?? []);
    const conn = this.connection;
    this.#unsubscribe.push(
      conn.on("media:tracks", () => session.scheduleSync()),
      // After our own reconnect the server may have withdrawn what we published (a drop does that).
      conn.on("meeting:joined", () => (session.stillPublished() ? session.scheduleSync() : session.scheduleRestart())),
      conn.on("ice-servers", ({ iceServers }) => {
        if (!this.options.iceServers) session.setIceServers(iceServers);
      }),
      conn.on("state", (change) => change.state === "closed" && this.stop()),
    );
    this.#pulls.startChecks();
    await session.open();
    await this.#devices.publishState({ screen: false });
  }

  /** Hangs up: withdraws what this participant publishes, closes the connection, stops the devices. */
  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    this.#pulls.stopChecks();
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#session.stop();
    this.#pulls.leaveAll();
    this.#devices.stop();
  }

  /**
   * Pulls video only from these participants (and closes the other videos);
   * audio stays pulled from everyone. `null`: everyone's video.
   */
  setVideoFrom(participantIds: Iterable<string> | null): void {
    this.#pulls.setVideoFrom(participantIds);
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
    await this.#devices.startScreenShare(() => this.#session.replaceVideo(this.#devices.video));
  }

  async stopScreenShare(): Promise<void> {
    await this.#devices.stopScreenShare(() => this.#session.replaceVideo(this.#devices.video));
  }

  /**
   * How loud each participant is right now (0..1, from the decoded audio:
   * `getStats()` `audioLevel`), this participant's own microphone included.
   */
  async audioLevels(): Promise<Map<string, number>> {
    const pc = this.#session.pc;
    const levels = new Map<string, number>();
    if (!pc) return levels;
    const participantByTrack = this.#pulls.audioTrackOwners(pc);
    const selfId = this.connection.self?.id;
    for (const [who, level] of inboundAudioLevels(await pc.getStats(), participantByTrack)) {
      levels.set(who === "self" ? (selfId ?? who) : who, level);
    }
    return levels;
  }
}
