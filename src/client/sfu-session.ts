/**
 * `SfuSession`: an `SfuCall`'s session on the SFU: the one
 * `RTCPeerConnection`, what this participant publishes on it, and every
 * exchange with the meeting's `/media/*` routes (the server holds the SFU
 * session). Negotiations run one at a time, in a queue; a refusal that may
 * pass is tried again later, anything that leaves the two sides out of step
 * starts a new session, which publishes again and has the pulls (sfu-pulls.ts)
 * start over.
 */
import type { MeetingConnection } from "./connection.js";
import { MeetTimeError } from "./errors.js";
import type { LocalDevices } from "./local-devices.js";
import type { SfuCallEvents } from "./sfu-call.js";
import { backoffDelay } from "./timing.js";
import type { MediaTracksInput, MediaTracksResult } from "./types.js";

/** What the session asks of the call's pulls. */
export interface SessionPulls {
  /** Brings the pulls in line with what is wanted (nothing without a connection); runs in the queue. */
  sync(): Promise<void>;
  /** A track arrived on the transceiver of this mid. */
  received(mid: string | null, track: MediaStreamTrack): void;
  /** The connection closed, and every pulled track with it. */
  clear(): void;
}

export interface SfuSessionOptions {
  connection: MeetingConnection;
  devices: LocalDevices;
  iceTransportPolicy?: RTCIceTransportPolicy;
  pulls: SessionPulls;
  /** Tells the call's listeners. */
  emit: <K extends "connection-state" | "error">(type: K, data: SfuCallEvents[K]) => void;
}

/** A track this participant sends. */
interface Sent {
  trackName: string;
  mid: string;
  transceiver: RTCRtpTransceiver;
}

/** How long a refused (429, 503) or failed negotiation waits before it is tried again, at most. */
const RETRY_MAX_MS = 10_000;
/** How long the first pull waits for the publishing connection to come up (pulls then ride on it). */
const FIRST_CONNECT_WAIT_MS = 5_000;

export class SfuSession {
  #pc: RTCPeerConnection | null = null;
  #iceServers: RTCIceServer[] = [];
  /** Between `open()` and `stop()`: queued negotiations run. */
  #active = false;
  /** What this participant publishes on the current session, by kind. */
  readonly #sent = new Map<"audio" | "video", Sent>();
  /** Negotiations run one at a time, in order. */
  #chain: Promise<void> = Promise.resolve();
  #syncQueued = false;
  #restartQueued = false;
  /** The session is open and both sides agree on it: a failure now needs only a new sync, not a new session. */
  #up = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  readonly #options: SfuSessionOptions;

  constructor(options: SfuSessionOptions) {
    this.#options = options;
  }

  /** The connection to the SFU; null before the first session and after `stop()`. */
  get pc(): RTCPeerConnection | null {
    return this.#pc;
  }
  /** Both sides agree on the session (no negotiation half done). */
  get up(): boolean {
    return this.#up;
  }

  setIceServers(iceServers: RTCIceServer[]): void {
    this.#iceServers = iceServers;
    this.#pc?.setConfiguration({ ...this.#pc.getConfiguration(), iceServers });
  }

  /** Opens the first session: publishes, then pulls. Resolves when that negotiation is done (or failed). */
  open(): Promise<void> {
    this.#active = true;
    return this.enqueue(() => this.#openSession());
  }

  /** Withdraws what this participant publishes and closes the connection. */
  stop(): void {
    this.#active = false;
    clearTimeout(this.#retryTimer);
    const { connection } = this.#options;
    const mids = [...this.#sent.values()].map((sent) => ({ mid: sent.mid }));
    if (mids.length > 0 && connection.state !== "closed") {
      // Best effort: after a leave or a kick the server has withdrawn them already.
      connection.client
        .closeMediaTracks(connection.meetingId, connection.token, { tracks: mids, force: true })
        .catch(() => {});
    }
    this.#close();
  }

  /** Whether the server still lists what this session publishes (after a drop it withdraws it). */
  stillPublished(): boolean {
    const { connection } = this.#options;
    const self = connection.self?.id;
    const listed = new Set((connection.media?.tracks?.[self ?? ""] ?? []).map((track) => track.trackName));
    return [...this.#sent.values()].every((sent) => listed.has(sent.trackName));
  }

  /** Sends `track` as the published video (`replaceTrack`: no renegotiation). */
  async replaceVideo(track: MediaStreamTrack | null): Promise<void> {
    const sent = this.#sent.get("video");
    if (sent) await sent.transceiver.sender.replaceTrack(track);
    // Nothing published as video yet (no camera): a new session publishes the screen.
    else if (track && this.#pc) this.scheduleRestart();
  }

  // ------------------------------------------------------------ the queue

  /** Runs `task` after every negotiation queued before it; a failure is retried or starts over (`#failed`). */
  enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(async () => {
      if (!this.#active) return;
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

  /** Queues a sync of the pulls, unless one (or a new session) is queued already. */
  scheduleSync(): void {
    if (this.#syncQueued || this.#restartQueued) return;
    this.#syncQueued = true;
    void this.enqueue(async () => {
      this.#syncQueued = false;
      await this.#options.pulls.sync();
    });
  }

  /** Queues a new session, unless one is queued already. */
  scheduleRestart(): void {
    if (this.#restartQueued) return;
    this.#restartQueued = true;
    void this.enqueue(() => this.#openSession());
  }

  /**
   * A refusal that may pass (429 with its `Retry-After`, 503, the network)
   * tries again later; anything else leaves the connection in an unknown
   * state, so the call starts over on a new session.
   */
  #failed(error: unknown): void {
    this.#options.emit("error", { error });
    if (!this.#active) return;
    const code = error instanceof MeetTimeError ? error.code : undefined;
    const syncable = this.#up && this.#pc?.signalingState === "stable";
    // A track withdrawn while we asked for it: the `media:tracks` that says so brings another sync.
    if (code === "NOT_FOUND" && syncable) return;
    this.#failures += 1;
    const backoffMs = backoffDelay(this.#failures + 1, { maxMs: RETRY_MAX_MS, jitter: 0 });
    const waitMs =
      error instanceof MeetTimeError && error.retryAfterSeconds ? error.retryAfterSeconds * 1000 : backoffMs;
    const transient = code === "RATE_LIMITED" || code === "UNAVAILABLE" || code === "NETWORK_ERROR";
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => (transient && syncable ? this.scheduleSync() : this.scheduleRestart()), waitMs);
  }

  // ------------------------------------------------------------ the session

  /** A new SFU session (replacing any previous one): publish, then pull everything wanted. */
  async #openSession(): Promise<void> {
    this.#restartQueued = false;
    this.#syncQueued = false;
    this.#up = false;
    this.#close();
    const { connection, devices, iceTransportPolicy } = this.#options;
    const pc = new RTCPeerConnection({
      bundlePolicy: "max-bundle",
      iceServers: this.#iceServers,
      ...(iceTransportPolicy ? { iceTransportPolicy } : {}),
    });
    this.#pc = pc;
    pc.ontrack = ({ transceiver, track }) => this.#options.pulls.received(transceiver.mid, track);
    pc.onconnectionstatechange = () => {
      if (pc !== this.#pc) return;
      const state = pc.connectionState;
      this.#options.emit("connection-state", { state });
      // A cut path (a network change, an SFU that forgot the session): start over.
      if (state === "failed") this.scheduleRestart();
    };
    await connection.client.openMediaSession(connection.meetingId, connection.token);
    const tracks = [devices.audio, devices.video].filter((t): t is MediaStreamTrack => t !== null);
    if (tracks.length > 0) {
      await this.#publish(pc, tracks);
      // Pulling renegotiates; doing it while the first handshake runs is what makes it hang.
      await connectedOrTimeout(pc, FIRST_CONNECT_WAIT_MS);
    }
    this.#up = true;
    await this.#options.pulls.sync();
  }

  /** Closes the SFU connection; every pulled track goes with it (their streams are made anew). */
  #close(): void {
    const pc = this.#pc;
    this.#pc = null;
    this.#sent.clear();
    this.#options.pulls.clear();
    if (!pc) return;
    pc.ontrack = pc.onconnectionstatechange = null;
    pc.close();
  }

  /** Publishes `tracks` on a fresh session: send-only transceivers, an offer, the SFU's answer. */
  async #publish(pc: RTCPeerConnection, tracks: MediaStreamTrack[]): Promise<void> {
    const { connection, devices } = this.#options;
    // Each session gets new names, so nobody mistakes a new publication for one it already pulls.
    const tag = crypto.randomUUID().slice(0, 8);
    const entries = tracks.map((track) => ({
      kind: track.kind === "audio" ? ("audio" as const) : ("video" as const),
      transceiver: pc.addTransceiver(track, { direction: "sendonly" }),
    }));
    const offer = await localOffer(pc);
    const answer = await connection.client.addMediaTracks(connection.meetingId, connection.token, {
      sessionDescription: offer,
      tracks: entries.map(({ kind, transceiver }) => ({
        location: "local",
        mid: transceiver.mid ?? "",
        trackName: `${kind}-${tag}`,
        kind,
        ...(kind === "video" && devices.screen ? { screen: true } : {}),
      })),
    });
    if (answer.sessionDescription) await pc.setRemoteDescription(answer.sessionDescription);
    for (const { kind, transceiver } of entries) {
      const result = answer.tracks.find((track) => track.mid === transceiver.mid);
      if (result && !result.errorCode) {
        this.#sent.set(kind, { trackName: `${kind}-${tag}`, mid: transceiver.mid ?? "", transceiver });
      } else if (result?.errorCode) {
        this.#options.emit("error", { error: new Error(`the SFU refused our ${kind}: ${result.errorDescription}`) });
      }
    }
  }

  // ------------------------------------------------------------ the pulls' exchanges

  /** Asks the SFU for remote tracks; `answerPull` then takes the offer it may send with them. */
  requestTracks(body: MediaTracksInput): Promise<MediaTracksResult> {
    const { connection } = this.#options;
    return connection.client.addMediaTracks(connection.meetingId, connection.token, body);
  }

  /** Answers the offer the SFU sent with pulled tracks, when it asks for renegotiation at once. */
  async answerPull(pc: RTCPeerConnection, pulled: MediaTracksResult): Promise<void> {
    if (!pulled.requiresImmediateRenegotiation || !pulled.sessionDescription) return;
    const { connection } = this.#options;
    // From here until the SFU has our answer, a failure leaves the two sides out of step.
    this.#up = false;
    await pc.setRemoteDescription(pulled.sessionDescription);
    await pc.setLocalDescription(await pc.createAnswer());
    await connection.client.renegotiateMedia(connection.meetingId, connection.token, {
      sessionDescription: { type: "answer", sdp: pc.localDescription?.sdp ?? "" },
    });
    this.#up = true;
  }

  /** Stops receiving the tracks of these (already stopped) transceivers: an offer saying so, the SFU's answer. */
  async closeTracks(pc: RTCPeerConnection, mids: string[]): Promise<void> {
    const { connection } = this.#options;
    this.#up = false;
    const offer = await localOffer(pc);
    const answer = await connection.client.closeMediaTracks(connection.meetingId, connection.token, {
      tracks: mids.map((mid) => ({ mid })),
      sessionDescription: offer,
    });
    if (pc !== this.#pc) return;
    if (answer.sessionDescription) await pc.setRemoteDescription(answer.sessionDescription);
    this.#up = true;
  }
}

/** Makes an offer, sets it as `pc`'s local description, and returns it as the routes take it. */
async function localOffer(pc: RTCPeerConnection): Promise<{ type: "offer"; sdp: string }> {
  await pc.setLocalDescription(await pc.createOffer());
  return { type: "offer", sdp: pc.localDescription?.sdp ?? "" };
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
