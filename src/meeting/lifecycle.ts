/**
 * A meeting's life: creation, termination by the host, and the alarm that
 * deletes it at its expiry (and between, sweeps silent sockets and clears
 * spent rows).
 */
import type { TokenClaims } from "../auth/tokens";
import { AppError } from "../errors";
import { log } from "../log";
import { CLOSE } from "../protocol/close-codes";
import type { CreateMeetingInput, MediaModeData, MeetingData, ParticipantData } from "../protocol/schemas";
import { authorizeActive, HOST_ONLY } from "./access";
import { sweepSilentSockets } from "./connection";
import type { RoomContext } from "./context";
import { collectSpentRows } from "./housekeeping";
import { liveMeetingView, liveParticipantView } from "./live-views";
import { closeAllMedia, mediaInfo } from "./media";
import { encodeEvent } from "./socket-registry";
import { DEFAULT_STATE, type MeetingRow, type ParticipantRow } from "./store";

export interface CreateResult {
  meeting: MeetingData;
  hostToken: string;
  participant: ParticipantData;
  media: { mode: MediaModeData };
}

/** `mediaMode` is the worker's, from the deployment's SFU configuration at the moment of creation. */
export async function createMeeting(
  room: RoomContext,
  meetingId: string,
  input: CreateMeetingInput,
  mediaMode: MediaModeData = "mesh",
): Promise<CreateResult> {
  const config = room.config;
  room.credentials.requireSecret();
  if (room.meeting.get()) throw new AppError("INTERNAL", "meeting id already in use");
  // The worker resolved and bounded it against the deployment's MAX_PARTICIPANTS_PER_MEETING.
  const maxParticipants = input.maxParticipants ?? config.maxParticipantsPerMeeting;
  const now = Date.now();
  const host: ParticipantRow = {
    id: crypto.randomUUID(),
    name: input.hostName,
    role: "host",
    joinedAt: now,
    state: DEFAULT_STATE,
    removedAt: null,
    removedReason: null,
  };
  const meeting: MeetingRow = {
    id: meetingId,
    title: input.title,
    status: "active",
    scheduledAt: input.scheduledAt,
    durationMinutes: input.durationMinutes,
    timezone: input.timezone,
    version: 1,
    maxParticipants,
    hostId: host.id,
    createdAt: now,
    updatedAt: now,
    endedAt: null,
    expiresAt: input.scheduledAt + input.durationMinutes * 60_000 + config.meetingExpiryMs,
    mediaMode,
  };
  const hostToken = await createStored(room, meeting, host, () => room.credentials.host(meeting));
  log("info", "meeting.created", { meetingId });
  room.metrics.count("meeting_created", { meetingId });
  return {
    meeting: liveMeetingView(room, meeting),
    hostToken,
    participant: liveParticipantView(room, host),
    media: mediaInfo(meeting),
  };
}

/**
 * Writes the new meeting and its expiry alarm as one atomic write (no await
 * between them), then signs the host token. If anything fails after the
 * write, the object is emptied again: a create either answers 201 or leaves
 * nothing behind, so the worker may retry it on a fresh id.
 */
async function createStored<T>(
  room: RoomContext,
  meeting: MeetingRow,
  host: ParticipantRow,
  finish: () => Promise<T>,
): Promise<T> {
  room.store.create(meeting, host);
  const armed = room.alarm.armFresh(meeting.expiresAt);
  room.meeting.set(meeting);
  room.chat.reset(0);
  try {
    await armed;
    return await finish();
  } catch (error) {
    room.meeting.set(null);
    room.chat.reset(undefined);
    room.alarm.forget();
    await room.ctx.storage.deleteAll().catch(() => {});
    throw error;
  }
}

export async function terminateMeeting(room: RoomContext, claims: TokenClaims): Promise<{ meeting: MeetingData }> {
  const { meeting } = authorizeActive(room, claims, HOST_ONLY);
  const now = Date.now();
  const ended: MeetingRow = {
    ...meeting,
    status: "ended",
    endedAt: now,
    updatedAt: now,
    expiresAt: now + room.config.meetingExpiryMs,
  };
  room.store.markEnded(ended);
  room.meeting.set(ended);
  closeAllMedia(room, ended);
  room.sockets.broadcast(encodeEvent({ type: "meeting:terminated", data: {} }));
  room.presence.flushQuietly();
  room.sockets.closeAll(CLOSE.TERMINATED, "meeting terminated");
  await room.alarm.schedule();
  log("info", "meeting.terminated", { meetingId: room.meetingId });
  room.metrics.count("meeting_ended", { meetingId: room.meetingId });
  return { meeting: liveMeetingView(room, ended) };
}

/** The alarm: the meeting's expiry, or a sweep of silent sockets and spent rows until then. */
export async function alarmFired(room: RoomContext): Promise<void> {
  room.alarm.spent();
  const meeting = room.meeting.get();
  if (!meeting) return;
  const now = Date.now();
  if (now >= meeting.expiresAt) {
    await expire(room);
    return;
  }
  // States changed just before an eviction (whose pending flush died with it) are written here at the latest.
  room.presence.flushQuietly();
  sweepSilentSockets(room, now);
  room.store.transaction(() => collectSpentRows(room.store, now, room.config.tokenExpiryMs));
  await room.alarm.schedule();
}

/** Deletes the meeting: sockets closed, every row and the alarm gone. Safe to run twice. */
async function expire(room: RoomContext): Promise<void> {
  room.presence.discard();
  const meeting = room.meeting.get();
  if (meeting) closeAllMedia(room, meeting);
  room.sockets.closeAll(CLOSE.TERMINATED, "meeting expired");
  await room.store.deleteEverything();
  room.meeting.set(null);
  room.chat.reset(undefined);
  room.alarm.spent();
  log("info", "meeting.expired", { meetingId: room.meetingId });
  room.metrics.count("meeting_expired", { meetingId: room.meetingId });
}
