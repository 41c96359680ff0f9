/**
 * Media through an SFU (contract 1.2): the meeting object's rules. The
 * object never waits on the SFU, so a slow SFU cannot hold up chat,
 * presence or joins: for each `/media/*` call the worker first asks for a
 * grant (`grantMedia`: who, their session, the publishers of the tracks
 * they pull), calls the SFU itself, then reports what the SFU did
 * (`mediaSessionOpened`, `mediaTracksAdded`, `mediaTracksClosed`), which is
 * recorded and announced as `media:tracks`. Withdrawals (leave, kick, drop,
 * a replaced session, termination) are decided here and their closes sent
 * to the SFU in the background (`ctx.waitUntil`), never awaited.
 */
import type { TokenClaims } from "../auth/tokens";
import { AppError } from "../errors";
import { log } from "../log";
import type { JoinedMediaData, MediaModeData, PublishedTrackData } from "../protocol/schemas";
import { MEDIA_TRACKS_MAX } from "../protocol/schemas";
import { SfuClient } from "../sfu/client";
import { authorizeActive, MEMBERS } from "./access";
import type { RoomContext } from "./context";
import type { PublishedTrackRow, PulledTrackRow } from "./media-store";
import { encodeEvent } from "./socket-registry";
import type { MeetingRow, ParticipantRow } from "./store";

/** What a `/media/*` call needs from the meeting before the worker calls the SFU. */
export interface MediaNeeds {
  /** `open`: a new session is being made; `existing`: the call acts on the caller's session (404 without one). */
  session: "open" | "existing";
  /** Track names the caller is about to publish. */
  publish?: string[];
  /** Tracks the caller is about to pull, by publisher. */
  pull?: { participantId: string; trackName: string }[];
}

export interface MediaGrant {
  participantId: string;
  /** The caller's SFU session, if it has one. */
  sessionId: string | null;
  /** The SFU session of each publisher the caller pulls from. */
  publishers: Record<string, string>;
}

/** Seconds a participant over its `/media/*` bucket is asked to wait (it refills 10 a second). */
const MEDIA_RETRY_AFTER_SECONDS = 1;

/**
 * Checks in the contract's order (token, meeting, revoked 403, ended 410),
 * then the caller's bucket (429), then the meeting's mode (409), then the
 * call's own rules: its session (404), names it already publishes (400),
 * tracks to pull that nobody publishes (404). Changes nothing but the bucket.
 */
export function grantMedia(room: RoomContext, claims: TokenClaims, needs: MediaNeeds): MediaGrant {
  const { meeting, participant } = authorizeActive(room, claims, MEMBERS);
  if (!room.frameLimits.allowMediaCall(participant.id, Date.now())) {
    throw new AppError("RATE_LIMITED", `too many media calls; retry in ${MEDIA_RETRY_AFTER_SECONDS} s`, {
      retryAfterSeconds: MEDIA_RETRY_AFTER_SECONDS,
    });
  }
  if (meeting.mediaMode !== "sfu") {
    throw new AppError("MEDIA_MODE", "this meeting's media is peer to peer (mesh): it has no SFU routes");
  }
  const sessionId = room.media.sessionOf(participant.id);
  if (needs.session === "existing" && !sessionId) {
    throw new AppError("NOT_FOUND", "no media session yet: POST /api/meetings/:id/media/session first");
  }
  refuseRepublished(room, participant.id, needs.publish ?? []);
  const publishers: Record<string, string> = {};
  for (const { participantId, trackName } of needs.pull ?? []) {
    publishers[participantId] = publisherSession(room, participantId, trackName);
  }
  return { participantId: participant.id, sessionId, publishers };
}

/** 400 for a name published twice: a pull names a track by its publisher and name, so each must be unique. */
function refuseRepublished(room: RoomContext, participantId: string, names: string[]): void {
  const taken = new Set(room.media.published(participantId).map((track) => track.trackName));
  const fields: Record<string, string[]> = {};
  for (const [index, name] of names.entries()) {
    if (taken.has(name)) fields[`tracks.${index}.trackName`] = ["you already publish a track of this name"];
    taken.add(name);
  }
  if (Object.keys(fields).length > 0) throw new AppError("VALIDATION_FAILED", "request validation failed", { fields });
}

/** The SFU session publishing `trackName` for a listed participant, or 404. */
function publisherSession(room: RoomContext, participantId: string, trackName: string): string {
  const publisher = room.store.participant(participantId);
  const sessionId = publisher && publisher.removedAt === null ? room.media.sessionOf(participantId) : null;
  if (!sessionId || !room.media.published(participantId).some((track) => track.trackName === trackName)) {
    throw new AppError("NOT_FOUND", `participant ${participantId} publishes no track named ${trackName}`);
  }
  return sessionId;
}

/** The caller, checked again when the worker reports back: it may have left while the SFU answered. */
function reportingParticipant(room: RoomContext, claims: TokenClaims): ParticipantRow {
  return authorizeActive(room, claims, MEMBERS).participant;
}

/** The SFU made a session for the caller: it replaces the caller's previous one, whose tracks are withdrawn. */
export function mediaSessionOpened(room: RoomContext, claims: TokenClaims, sessionId: string): void {
  const participant = reportingParticipant(room, claims);
  const previous = room.media.sessionOf(participant.id);
  const withdrawn = previous ? room.media.mids(participant.id, "all") : [];
  const published = room.media.published(participant.id).length > 0;
  room.store.transaction(() => room.media.replaceSession(participant.id, sessionId));
  if (previous) closeAtSfu(room, previous, withdrawn, "replaced");
  if (published) announceTracks(room, participant.id);
}

/**
 * The SFU added tracks to the caller's session: records what it accepted
 * and announces the caller's new list. Refused (the caller left, was kicked,
 * the meeting ended, the session was replaced meanwhile): the new tracks are
 * closed at the SFU, so nothing outlives the refusal.
 */
export function mediaTracksAdded(
  room: RoomContext,
  claims: TokenClaims,
  sessionId: string,
  published: PublishedTrackRow[],
  pulled: PulledTrackRow[],
): void {
  let participant: ParticipantRow;
  try {
    participant = reportingParticipant(room, claims);
    if (room.media.sessionOf(participant.id) !== sessionId) {
      throw new AppError("NOT_FOUND", "this media session was replaced by a newer one");
    }
  } catch (error) {
    closeAtSfu(
      room,
      sessionId,
      [...published, ...pulled].map((track) => track.mid),
      "refused",
    );
    throw error;
  }
  // A publisher that withdrew while the SFU answered: that pull is dead, so close it rather than keep it.
  const live = pulled.filter((track) => isPublished(room, track.publisherId, track.trackName));
  const dead = pulled.filter((track) => !live.includes(track)).map((track) => track.mid);
  room.store.transaction(() => {
    room.media.addPublished(participant.id, published);
    room.media.addPulled(participant.id, live);
  });
  closeAtSfu(room, sessionId, dead, "withdrawn");
  if (published.length > 0) announceTracks(room, participant.id);
}

function isPublished(room: RoomContext, participantId: string, trackName: string): boolean {
  return room.media.published(participantId).some((track) => track.trackName === trackName);
}

/** The SFU closed tracks of the caller's session: forgotten, and announced when one was published. */
export function mediaTracksClosed(room: RoomContext, claims: TokenClaims, sessionId: string, mids: string[]): void {
  const participant = reportingParticipant(room, claims);
  // A replaced session's rows are already gone.
  if (room.media.sessionOf(participant.id) !== sessionId) return;
  const published = room.store.transaction(() => room.media.removeTracks(participant.id, mids));
  if (published) announceTracks(room, participant.id);
}

/**
 * A participant left, was kicked or dropped: everyone else hears its list
 * is empty, and its tracks are closed at the SFU. A drop withdraws what it
 * publishes (it publishes again when it reconnects) and keeps its session;
 * leaving or a kick forgets the session and closes its pulls too, so it
 * receives nobody's media any more.
 */
export function withdrawMedia(room: RoomContext, participantId: string, reason: "left" | "disconnected" | "kicked") {
  const meeting = room.meeting.get();
  if (meeting?.mediaMode !== "sfu") return;
  const sessionId = room.media.sessionOf(participantId);
  if (!sessionId) return;
  const published = room.media.published(participantId).length > 0;
  let mids: string[];
  if (reason === "disconnected") {
    mids = room.store.transaction(() => room.media.withdrawPublished(participantId));
  } else {
    mids = room.media.mids(participantId, "all");
    room.store.transaction(() => room.media.forget(participantId));
  }
  closeAtSfu(room, sessionId, mids, reason);
  if (published) announceTracks(room, participantId);
}

/** Termination and expiry: every track of every session closed at the SFU, and forgotten. */
export function closeAllMedia(room: RoomContext, meeting: MeetingRow): void {
  if (meeting.mediaMode !== "sfu") return;
  const sessions = room.media.allSessions();
  room.store.transaction(() => room.media.forgetAll());
  for (const { sessionId, mids } of sessions) closeAtSfu(room, sessionId, mids, "ended");
}

/** Tells everyone else a participant's whole list of published tracks. */
function announceTracks(room: RoomContext, participantId: string): void {
  const tracks = room.media.published(participantId).map(publicTrack);
  room.sockets.broadcast(encodeEvent({ type: "media:tracks", data: { participantId, tracks } }), participantId);
}

function publicTrack({ trackName, kind, screen }: PublishedTrackRow): PublishedTrackData {
  return screen ? { trackName, kind, screen } : { trackName, kind };
}

/** `media` of the create and join answers. */
export function mediaInfo(meeting: MeetingRow): { mode: MediaModeData } {
  return { mode: meeting.mediaMode };
}

/** `media` of `meeting:joined`: for `sfu`, every participant's published tracks. */
export function joinedMedia(room: RoomContext, meeting: MeetingRow): JoinedMediaData {
  if (meeting.mediaMode !== "sfu") return { mode: meeting.mediaMode };
  const tracks: Record<string, PublishedTrackData[]> = {};
  for (const [participantId, list] of room.media.allPublished()) tracks[participantId] = list.map(publicTrack);
  return { mode: "sfu", tracks };
}

/**
 * Closes tracks at the SFU in the background, best effort: the object goes
 * on at once; a failure is logged (the SFU also drops tracks that stay
 * inactive). Forced closes (no SDP exchange), at most 64 tracks a call.
 */
function closeAtSfu(room: RoomContext, sessionId: string, mids: string[], why: string): void {
  if (mids.length === 0) return;
  let client: SfuClient;
  try {
    const sfu = room.config.sfu;
    if (!sfu) throw new Error("no SFU configured");
    client = new SfuClient(sfu);
  } catch {
    log("warn", "sfu.close_skipped", { meetingId: room.meetingId, why, tracks: mids.length });
    return;
  }
  for (let start = 0; start < mids.length; start += MEDIA_TRACKS_MAX) {
    const chunk = mids.slice(start, start + MEDIA_TRACKS_MAX);
    room.ctx.waitUntil(
      client.closeTracks(sessionId, chunk).then(
        () => log("debug", "sfu.tracks_closed", { meetingId: room.meetingId, why, tracks: chunk.length }),
        () => log("warn", "sfu.close_failed", { meetingId: room.meetingId, why, tracks: chunk.length }),
      ),
    );
  }
}
