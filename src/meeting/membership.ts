/**
 * Who is in the meeting: joining with an invite, the host kicking someone,
 * and leaving. The same rules serve REST and the socket.
 */
import type { TokenClaims } from "../auth/tokens";
import { AppError } from "../errors";
import { log } from "../log";
import { CLOSE } from "../protocol/close-codes";
import type { KickInput, MediaModeData, MeetingData, ParticipantData } from "../protocol/schemas";
import { requireActive, requireMeeting, requireOwnToken } from "./access";
import { announceLeft, retireKeepingState } from "./connection";
import type { RoomContext } from "./context";
import { liveMeetingView, liveParticipantView } from "./live-views";
import { mediaInfo } from "./media";
import { closeQuietly, encodeEvent, sendQuietly } from "./socket-registry";
import { DEFAULT_STATE, type ParticipantRow } from "./store";

export interface JoinResult {
  meeting: MeetingData;
  participant: ParticipantData;
  sessionToken: string;
  wsUrl: string;
  media: { mode: MediaModeData };
}

/** Redeems a single-use invite: a new participant and its session token. */
export async function joinMeeting(room: RoomContext, claims: TokenClaims, displayName: string): Promise<JoinResult> {
  room.credentials.requireSecret();
  requireOwnToken(room, claims);
  const meeting = requireMeeting(room);
  if (claims.kind !== "join") throw new AppError("FORBIDDEN", "joining takes a join token");
  const token = room.store.joinToken(claims.tokenId);
  if (!token) throw new AppError("UNAUTHORIZED", "invalid token");
  requireActive(meeting);
  if (token.redeemedAt !== null) throw new AppError("TOKEN_ALREADY_USED", "this join token was already used");
  if (room.store.listedCount() >= meeting.maxParticipants) {
    throw new AppError("MEETING_FULL", `the meeting is full (${meeting.maxParticipants} participants)`);
  }
  const now = Date.now();
  const participant: ParticipantRow = {
    id: crypto.randomUUID(),
    name: displayName,
    role: "participant",
    joinedAt: now,
    state: DEFAULT_STATE,
    removedAt: null,
    removedReason: null,
  };
  // Check and redemption run without an await in between: the object's
  // single thread makes concurrent redemptions of one token exactly-once.
  room.store.transaction(() => {
    room.store.insertParticipant(participant);
    room.store.redeemJoinToken(token.id, participant.id, now);
  });
  const { sessionToken } = await room.credentials.session(meeting, participant.id, now);
  log("info", "meeting.joined", { meetingId: room.meetingId, participantId: participant.id });
  room.metrics.count("participant_joined", { meetingId: room.meetingId });
  return {
    meeting: liveMeetingView(room, meeting),
    participant: liveParticipantView(room, participant),
    sessionToken,
    wsUrl: `/api/meetings/${meeting.id}/ws`,
    media: mediaInfo(meeting),
  };
}

/** Removes a participant: revoked, its socket told and closed with 4003, everyone else told. */
export function kickParticipant(room: RoomContext, hostId: string, { participantId, reason }: KickInput): string {
  if (participantId === hostId) throw new AppError("VALIDATION_FAILED", "the host cannot kick itself");
  const target = room.store.participant(participantId);
  if (!target || target.removedAt !== null) throw new AppError("NOT_FOUND", "no such participant in this meeting");
  room.store.removeParticipant(target.id, "kicked", Date.now());
  room.frameLimits.forget(target.id);
  const ws = room.sockets.retire(target.id);
  if (ws) {
    sendQuietly(ws, encodeEvent({ type: "meeting:kicked", data: { reason: reason || "removed by the host" } }));
    closeQuietly(ws, CLOSE.KICKED, "kicked");
  }
  announceLeft(room, participantId, "kicked");
  log("info", "meeting.kicked", { meetingId: room.meetingId, participantId });
  return participantId;
}

/** The host stays listed and may come back; anyone else is removed and their session revoked. */
export function leaveMeeting(room: RoomContext, participant: ParticipantRow): string {
  const isHost = participant.role === "host";
  if (!isHost) {
    room.store.removeParticipant(participant.id, "left", Date.now());
    room.frameLimits.forget(participant.id);
  }
  const ws = retireKeepingState(room, participant.id);
  if (ws) closeQuietly(ws, CLOSE.NORMAL, "left");
  if (ws || !isHost) announceLeft(room, participant.id, "left");
  log("info", "meeting.left", { meetingId: room.meetingId, participantId: participant.id });
  return participant.id;
}
