/**
 * Who may do what, checked in the contract's order: the token bound to this
 * meeting (401), the meeting there and not expired (404), what only the
 * meeting knows about a token whose signature the worker already verified
 * (an invite still unspent, a session not revoked, the kind allowed: 401,
 * 403), then the meeting still active (410). Every door calls these.
 */
import type { TokenClaims, TokenKind } from "../auth/tokens";
import { AppError } from "../errors";
import type { RoomContext } from "./context";
import type { SocketIdentity } from "./socket-registry";
import type { LinkRow, MeetingRow, MeetingStore, ParticipantRow } from "./store";

export const HOST_ONLY: readonly TokenKind[] = ["host"];
export const MEMBERS: readonly TokenKind[] = ["host", "session"];
/** Reads (`GET`, the calendar): a meeting link reads like an unredeemed invite (contract 1.2). */
export const ANY_TOKEN: readonly TokenKind[] = ["host", "session", "join", "link"];
/** Only a session token renews itself: a host token has its own route (`host-token`). */
export const SESSION_ONLY: readonly TokenKind[] = ["session"];
/** The calendar feed takes every 1.0 token and, alone of all routes, the read-only calendar token. */
export const CALENDAR_READERS: readonly TokenKind[] = [...ANY_TOKEN, "calendar"];

/**
 * 401 for a spent invite or a token naming nobody, 403 for a revoked
 * session or link, then 403 when the token's kind may not do the action.
 * Returns the participant a host or session token speaks for (null for an
 * invite, a link or a wait token: the wait token is never allowed outside
 * the lobby socket, whose door checks its request itself).
 */
export function tokenHolder(
  store: MeetingStore,
  claims: TokenClaims,
  allowed: readonly TokenKind[],
): ParticipantRow | null {
  let participant: ParticipantRow | null = null;
  if (claims.kind === "join") {
    const token = store.joinToken(claims.tokenId);
    if (!token || token.redeemedAt !== null) throw new AppError("UNAUTHORIZED", "this join token was already used");
  } else if (claims.kind === "link") {
    requireLiveLink(store, claims);
  } else if (claims.kind !== "wait") {
    participant = claims.participantId ? store.participant(claims.participantId) : null;
    // A calendar token speaks for whoever minted it, host or participant, and is revoked with them.
    const expectedRole = claims.kind === "host" ? "host" : claims.kind === "session" ? "participant" : undefined;
    if (!participant || (expectedRole && participant.role !== expectedRole)) {
      throw new AppError("UNAUTHORIZED", "invalid token");
    }
    if (participant.removedAt !== null) {
      throw new AppError("FORBIDDEN", `this session was revoked (${participant.removedReason ?? "left"})`);
    }
  }
  if (!allowed.includes(claims.kind)) {
    throw new AppError("FORBIDDEN", forbiddenMessage(claims.kind, allowed));
  }
  return participant;
}

/** A meeting link's row: 401 when it names no link of this meeting, 403 once revoked. */
export function requireLiveLink(store: MeetingStore, claims: TokenClaims): LinkRow {
  const link = store.link(claims.tokenId);
  if (!link) throw new AppError("UNAUTHORIZED", "invalid token");
  if (link.revokedAt !== null) throw new AppError("FORBIDDEN", "this meeting link was revoked");
  return link;
}

function forbiddenMessage(kind: TokenKind, allowed: readonly TokenKind[]): string {
  if (kind === "calendar") return "a calendar token only reads the calendar feed (calendar.ics)";
  if (kind === "wait") return "a wait token only opens the lobby socket, until the host answers";
  if (kind === "link") return "a meeting link only joins (POST /api/meetings/join) and reads the meeting";
  if (allowed === HOST_ONLY) return "only the host may do this";
  if (allowed === SESSION_ONLY) return "this takes a session token";
  return "this token may not do this";
}

/** The meeting, or 404. A meeting past its expiry is gone even if its alarm has not run yet. */
export function requireMeeting(room: RoomContext): MeetingRow {
  const meeting = room.meeting.get();
  if (!meeting) throw new AppError("NOT_FOUND", "meeting not found");
  if (Date.now() >= meeting.expiresAt) {
    room.alarm.fireNow();
    throw new AppError("NOT_FOUND", "meeting not found");
  }
  return meeting;
}

/**
 * Defence in depth: the worker already verified the token's audience, but
 * the object checks again that the token is bound to this meeting (its own
 * id), so a routing bug can never let one meeting's token act on another.
 * 401, as the contract answers a token of another meeting.
 */
export function requireOwnToken(room: RoomContext, claims: TokenClaims): void {
  if (claims.meetingId !== room.meetingId) throw new AppError("UNAUTHORIZED", "this token is for another meeting");
}

/** The meeting (404 when gone) and the token's holder (null for an invite). */
export function authorize(
  room: RoomContext,
  claims: TokenClaims,
  allowed: readonly TokenKind[],
): { meeting: MeetingRow; participant: ParticipantRow | null } {
  requireOwnToken(room, claims);
  const meeting = requireMeeting(room);
  return { meeting, participant: tokenHolder(room.store, claims, allowed) };
}

/** `authorize` for actions that need a participant and an active meeting (410 once ended). */
export function authorizeActive(
  room: RoomContext,
  claims: TokenClaims,
  allowed: readonly TokenKind[],
): { meeting: MeetingRow; participant: ParticipantRow } {
  const { meeting, participant } = authorize(room, claims, allowed);
  requireActive(meeting);
  // Only host and session tokens are ever allowed here, and both resolve to a participant.
  return { meeting, participant: participant as ParticipantRow };
}

export function requireActive(meeting: MeetingRow): void {
  if (meeting.status === "ended") throw new AppError("MEETING_ENDED", "the meeting has ended");
}

/** The same checks for a frame from a live socket: the sender's role for host events, the meeting active. */
export function authorizeSender(
  room: RoomContext,
  sender: SocketIdentity,
  needs: "host" | "participant",
): { meeting: MeetingRow; participant: ParticipantRow } {
  if (needs === "host" && sender.role !== "host") throw new AppError("FORBIDDEN", "only the host may do this");
  const meeting = requireMeeting(room);
  requireActive(meeting);
  const participant = room.store.participant(sender.participantId);
  if (!participant || participant.removedAt !== null) throw new AppError("FORBIDDEN", "this session was revoked");
  return { meeting, participant };
}
