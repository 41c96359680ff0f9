/**
 * The tokens a meeting signs: the host token, invites, session tokens (at
 * join, and renewed by their holder), the read-only calendar token, meeting
 * links and the lobby's wait tokens.
 * `MeetingCredentials` holds the signing key's configuration, so no rule
 * module handles the secret; the expiry rules are pure functions of the
 * meeting row, the holder and the clock.
 */
import { signToken, type TokenClaims } from "../auth/tokens";
import { type Config, requireJwtSecret } from "../config";
import { type CalendarTokenData, LIMITS, type SessionTokenData } from "../protocol/schemas";
import { authorizeActive, HOST_ONLY, MEMBERS, SESSION_ONLY } from "./access";
import type { RoomContext } from "./context";
import type { MeetingRow } from "./store";
import { iso, wholeSeconds } from "./views";

/** Signs this meeting's tokens with `JWT_SECRET`; a missing secret is the contract's 500, before any write. */
export class MeetingCredentials {
  constructor(private readonly config: () => Config) {}

  /** Throws (500 INTERNAL, logged) when no usable secret is configured: rules call it before they write. */
  requireSecret(): string {
    return requireJwtSecret(this.config());
  }

  /** A host token, valid until the meeting's expiry as it stands. */
  host(meeting: MeetingRow): Promise<string> {
    return signToken(this.requireSecret(), {
      meetingId: meeting.id,
      kind: "host",
      tokenId: crypto.randomUUID(),
      participantId: meeting.hostId,
      expiresAt: wholeSeconds(meeting.expiresAt),
    });
  }

  /** An invite for the stored join token `tokenId`. */
  join(meeting: MeetingRow, tokenId: string, expiresAt: number): Promise<string> {
    return signToken(this.requireSecret(), { meetingId: meeting.id, kind: "join", tokenId, expiresAt });
  }

  /** A meeting link (contract 1.2) for the stored link `linkId`. */
  link(meeting: MeetingRow, linkId: string, expiresAt: number): Promise<string> {
    return signToken(this.requireSecret(), { meetingId: meeting.id, kind: "link", tokenId: linkId, expiresAt });
  }

  /** The wait token of the lobby request `requestId` (contract 1.2): it opens that request's lobby socket. */
  wait(meeting: MeetingRow, requestId: string, expiresAt: number): Promise<string> {
    return signToken(this.requireSecret(), { meetingId: meeting.id, kind: "wait", tokenId: requestId, expiresAt });
  }

  session(meeting: MeetingRow, participantId: string, now: number): Promise<SessionTokenData> {
    return signSessionToken(this.requireSecret(), meeting, participantId, this.config().tokenExpiryMs, now);
  }

  calendar(meeting: MeetingRow, participantId: string, now: number): Promise<CalendarTokenData> {
    return signCalendarToken(this.requireSecret(), meeting, participantId, this.config().meetingExpiryMs, now);
  }
}

const DAY_MS = 86_400_000;
const YEAR_MS = 366 * DAY_MS;

/**
 * A session token for `participantId`: `tokenExpiryMs` from now, never past
 * the meeting's expiry (whole seconds, like the JWT's `exp`).
 */
async function signSessionToken(
  secret: string,
  meeting: MeetingRow,
  participantId: string,
  tokenExpiryMs: number,
  now: number,
): Promise<SessionTokenData> {
  const expiresAt = wholeSeconds(Math.min(now + tokenExpiryMs, meeting.expiresAt));
  const sessionToken = await signToken(secret, {
    meetingId: meeting.id,
    kind: "session",
    tokenId: crypto.randomUUID(),
    participantId,
    expiresAt,
  });
  return { sessionToken, expiresAt: iso(expiresAt) };
}

/**
 * The read-only token for a calendar subscription URL. It is valid until
 * the meeting's expiry, the live one: a subscription must survive a
 * reschedule that moves the meeting later, and no token outlives its
 * meeting (the object answers 404 once the meeting expired, whatever the
 * token says). So its JWT `exp` is only a backstop, the latest expiry a
 * reschedule made now could reach (2 years ahead, the longest meeting,
 * then MEETING_EXPIRY_HOURS). `expiresAt` reports the meeting's current expiry.
 */
async function signCalendarToken(
  secret: string,
  meeting: MeetingRow,
  participantId: string,
  meetingExpiryMs: number,
  now: number,
): Promise<CalendarTokenData> {
  const backstop = now + LIMITS.SCHEDULE_AHEAD_YEARS * YEAR_MS + LIMITS.DURATION_MAX * 60_000 + meetingExpiryMs;
  const token = await signToken(secret, {
    meetingId: meeting.id,
    kind: "calendar",
    tokenId: crypto.randomUUID(),
    participantId,
    expiresAt: wholeSeconds(Math.max(backstop, meeting.expiresAt)),
  });
  return {
    token,
    calendarUrl: `/api/meetings/${meeting.id}/calendar.ics?token=${encodeURIComponent(token)}`,
    expiresAt: iso(meeting.expiresAt),
  };
}

// ------------------------------------------------------------------ who may get which token

/** A fresh host token (after a reschedule moved the expiry later, say); older ones stay valid. */
export async function mintHostToken(
  room: RoomContext,
  claims: TokenClaims,
): Promise<{ hostToken: string; expiresAt: string }> {
  room.credentials.requireSecret();
  const { meeting } = authorizeActive(room, claims, HOST_ONLY);
  const hostToken = await room.credentials.host(meeting);
  return { hostToken, expiresAt: iso(wholeSeconds(meeting.expiresAt)) };
}

/** A fresh session token for the holder of a valid one; the old one stays valid until its own expiry. */
export function renewSession(room: RoomContext, claims: TokenClaims): Promise<SessionTokenData> {
  room.credentials.requireSecret();
  const { meeting, participant } = authorizeActive(room, claims, SESSION_ONLY);
  return room.credentials.session(meeting, participant.id, Date.now());
}

/** A read-only calendar token, revoked with the participant who mints it. */
export function mintCalendarToken(room: RoomContext, claims: TokenClaims): Promise<CalendarTokenData> {
  room.credentials.requireSecret();
  const { meeting, participant } = authorizeActive(room, claims, MEMBERS);
  return room.credentials.calendar(meeting, participant.id, Date.now());
}

/**
 * Whom ICE credentials are for: a listed member of an active meeting.
 * The worker computes the credentials (TURN may take a network call, which
 * must not hold the meeting's object); they end with the presented token,
 * and never after the meeting.
 */
export function iceGrant(room: RoomContext, claims: TokenClaims): { participantId: string; notAfter: number } {
  const { meeting, participant } = authorizeActive(room, claims, MEMBERS);
  return { participantId: participant.id, notAfter: Math.min(claims.expiresAt, meeting.expiresAt) };
}
