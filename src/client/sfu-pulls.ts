/**
 * `SfuPulls`: what an `SfuCall` receives through the SFU. Which remote
 * tracks to pull (everyone's audio, video only from the participants the app
 * asks for), kept in line with what `meeting:joined` and `media:tracks`
 * announce; each participant's stream made of its pulled tracks; `stream` and
 * `peer-left` for the call's listeners; a video that never shows a frame
 * pulled again. The exchanges themselves go through the session
 * (sfu-session.ts), in its queue.
 */
import type { MeetingConnection } from "./connection.js";
import type { SfuCallEvents } from "./sfu-call.js";
import type { SessionPulls, SfuSession } from "./sfu-session.js";
import type { PublishedTrackData } from "./types.js";

export interface SfuPullsOptions {
  connection: MeetingConnection;
  session: SfuSession;
  /** Participants whose video is pulled; absent: everyone's. */
  videoFrom?: Iterable<string>;
  /** Tells the call's listeners. */
  emit: <K extends "stream" | "peer-left">(type: K, data: SfuCallEvents[K]) => void;
}

/** A track this participant receives through the SFU, by the mid of its transceiver. */
interface Pull {
  participantId: string;
  trackName: string;
  kind: "audio" | "video";
  mid: string;
  /** When it was pulled (Date.now()). */
  since: number;
}

type WantedTrack = Omit<Pull, "mid" | "since">;

/** The contract's most tracks in one `/media/tracks` or `/media/tracks/close` call. */
const TRACKS_PER_CALL = 64;
/** A pulled video that has decoded no frame this long after it was pulled is pulled again. */
const STALLED_VIDEO_MS = 15_000;
const STALL_CHECK_MS = 2_000;

const keyOf = (track: { participantId: string; trackName: string }) => `${track.participantId}/${track.trackName}`;

/** `items` in runs of at most `TRACKS_PER_CALL`. */
function* batches<T>(items: T[]): Generator<T[]> {
  for (let start = 0; start < items.length; start += TRACKS_PER_CALL) yield items.slice(start, start + TRACKS_PER_CALL);
}

export class SfuPulls implements SessionPulls {
  readonly #pulls = new Map<string, Pull>();
  readonly #streams = new Map<string, MediaStream>();
  /** Participants who have had a `stream` event and no `peer-left` since. */
  readonly #announced: string[] = [];
  #videoFrom: Set<string> | null;
  #checkTimer: ReturnType<typeof setInterval> | undefined;
  readonly #options: SfuPullsOptions;

  constructor(options: SfuPullsOptions) {
    this.#options = options;
    this.#videoFrom = options.videoFrom ? new Set(options.videoFrom) : null;
  }

  /** Remote streams by participant id. */
  get streams(): ReadonlyMap<string, MediaStream> {
    return new Map(this.#streams);
  }
  /** Participants whose video is pulled; null: everyone's. */
  get videoFrom(): ReadonlySet<string> | null {
    return this.#videoFrom;
  }

  /** Pulls video only from these participants (null: everyone's), at the next sync. */
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
    this.#options.session.scheduleSync();
  }

  /** Every `STALL_CHECK_MS`: stalled videos pulled again, and a sync while wanted tracks are missing. */
  startChecks(): void {
    const { session } = this.#options;
    this.#checkTimer = setInterval(() => {
      void this.#repullStalledVideo();
      // A pull the SFU refused track by track, or one lost to a race, is tried again.
      if (session.up && this.#missingTracks().length > 0) session.scheduleSync();
    }, STALL_CHECK_MS);
  }

  stopChecks(): void {
    clearInterval(this.#checkTimer);
  }

  /** The participant of each pulled audio track, by the receiver track's id (for `getStats()` audio levels). */
  audioTrackOwners(pc: RTCPeerConnection): Map<string, string> {
    const owners = new Map<string, string>();
    for (const transceiver of pc.getTransceivers()) {
      const pull = transceiver.mid ? this.#pulls.get(transceiver.mid) : undefined;
      if (pull?.kind === "audio") owners.set(transceiver.receiver.track.id, pull.participantId);
    }
    return owners;
  }

  /** Brings what is pulled in line with what is wanted: closes the rest, then pulls what is missing. */
  async sync(): Promise<void> {
    const { session } = this.#options;
    const pc = session.pc;
    if (!pc) return;
    const wanted = this.#wantedTracks();
    const stale = [...this.#pulls.values()].filter((pull) => !wanted.has(keyOf(pull)));
    for (const batch of batches(stale)) await this.#closePulls(pc, batch);
    for (const batch of batches(this.#missingTracks())) {
      if (pc !== session.pc) return;
      await this.#pull(pc, batch);
    }
    this.#announceDepartures();
  }

  /** The connection closed: nothing is pulled any more (the streams are made anew). */
  clear(): void {
    this.#pulls.clear();
    this.#streams.clear();
  }

  /** The call stopped: `peer-left` for everyone announced. */
  leaveAll(): void {
    for (const participantId of this.#announced.splice(0)) this.#options.emit("peer-left", { participantId });
  }

  /** A pulled track arrived: it joins its participant's stream. */
  received(mid: string | null, track: MediaStreamTrack): void {
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

  /** The tracks this participant should be pulling: everyone's audio, the chosen participants' video. */
  #wantedTracks(): Map<string, WantedTrack> {
    const { connection } = this.#options;
    const self = connection.self?.id;
    const wanted = new Map<string, WantedTrack>();
    const published: Record<string, PublishedTrackData[]> = connection.media?.tracks ?? {};
    for (const [participantId, tracks] of Object.entries(published)) {
      if (participantId === self) continue;
      for (const { trackName, kind } of tracks) {
        if (kind === "video" && this.#videoFrom !== null && !this.#videoFrom.has(participantId)) continue;
        wanted.set(keyOf({ participantId, trackName }), { participantId, trackName, kind });
      }
    }
    return wanted;
  }

  /** Tracks wanted and not pulled. */
  #missingTracks(): WantedTrack[] {
    const pulled = new Set([...this.#pulls.values()].map(keyOf));
    return [...this.#wantedTracks().entries()].filter(([key]) => !pulled.has(key)).map(([, track]) => track);
  }

  /** Pulls tracks: the SFU offers them, this side answers. */
  async #pull(pc: RTCPeerConnection, tracks: WantedTrack[]): Promise<void> {
    const { session } = this.#options;
    const pulled = await session.requestTracks({
      tracks: tracks.map(({ participantId, trackName }) => ({ location: "remote", participantId, trackName })),
    });
    if (pc !== session.pc) return;
    // Known before the SFU's offer is applied, which fires `ontrack` for them.
    const kinds = new Map(tracks.map((track) => [keyOf(track), track.kind]));
    for (const result of pulled.tracks) {
      if (result.errorCode || !result.mid || !result.participantId || !result.trackName) continue;
      const kind = kinds.get(keyOf({ participantId: result.participantId, trackName: result.trackName }));
      if (kind)
        this.#pulls.set(result.mid, {
          participantId: result.participantId,
          trackName: result.trackName,
          kind,
          mid: result.mid,
          since: Date.now(),
        });
    }
    await session.answerPull(pc, pulled);
  }

  /** Stops receiving tracks: their transceivers stopped, their streams told, then the session's exchange. */
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
    const mids = pulls.map(({ mid }) => mid);
    await this.#options.session.closeTracks(pc, mids);
  }

  /**
   * A pulled video that never showed a frame (its keyframe request lost, or
   * the pull raced a publisher's restart) is closed and pulled again.
   */
  async #repullStalledVideo(): Promise<void> {
    const { session } = this.#options;
    const pc = session.pc;
    if (!pc || !session.up || pc.connectionState !== "connected") return;
    const now = Date.now();
    const old = [...this.#pulls.values()].filter((p) => p.kind === "video" && now - p.since > STALLED_VIDEO_MS);
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
    if (stalled.length === 0 || pc !== session.pc) return;
    void session.enqueue(async () => {
      const current = stalled.filter((pull) => this.#pulls.get(pull.mid) === pull);
      if (current.length === 0 || pc !== session.pc) return;
      await this.#closePulls(pc, current);
      await this.sync();
    });
  }

  #emitStream(participantId: string): void {
    const stream = this.#streams.get(participantId);
    if (!stream) return;
    if (!this.#announced.includes(participantId)) this.#announced.push(participantId);
    this.#options.emit("stream", { participantId, stream });
  }

  /** `peer-left` for everyone announced who publishes nothing any more. */
  #announceDepartures(): void {
    const published = this.#options.connection.media?.tracks ?? {};
    for (const participantId of [...this.#announced]) {
      if ((published[participantId]?.length ?? 0) > 0) continue;
      this.#announced.splice(this.#announced.indexOf(participantId), 1);
      this.#streams.delete(participantId);
      this.#options.emit("peer-left", { participantId });
    }
  }
}
