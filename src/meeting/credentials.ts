/**
 * Tokens the meeting object mints for someone already in the meeting: a
 * session token (at join, and renewed by its holder) and the read-only
 * calendar token. The host token stays with the meeting object, which mints
 * it at creation. Pure functions of the meeting row, the holder and the clock.
 */
import { signToken } from "../auth/tokens";
import { type CalendarTokenData, LIMITS, type SessionTokenData } from "../protocol/schemas";
import type { MeetingRow } from "./store";
import { iso, wholeSeconds } from "./views";

const DAY_MS = 86_400_000;
const YEAR_MS = 366 * DAY_MS;

/**
 * A session token for `participantId`: `tokenExpiryMs` from now, never past
 * the meeting's expiry (whole seconds, like the JWT's `exp`).
 * @example const { sessionToken } = await signSessionToken(secret, meeting, participant.id, config.tokenExpiryMs, Date.now())
 */
export async function signSessionToken(
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
export async function signCalendarToken(
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
