/**
 * What only the meeting knows about a token whose signature the worker
 * already verified: is an invite still unspent, is a session revoked, and
 * may this kind of token do the action. Errors come in the contract's order.
 */
import type { TokenClaims, TokenKind } from "../auth/tokens";
import { AppError } from "../errors";
import type { MeetingStore, ParticipantRow } from "./store";

export const HOST_ONLY: readonly TokenKind[] = ["host"];
export const MEMBERS: readonly TokenKind[] = ["host", "session"];
export const ANY_TOKEN: readonly TokenKind[] = ["host", "session", "join"];
/** Only a session token renews itself: a host token has its own route (`host-token`). */
export const SESSION_ONLY: readonly TokenKind[] = ["session"];
/** The calendar feed takes every 1.0 token and, alone of all routes, the read-only calendar token. */
export const CALENDAR_READERS: readonly TokenKind[] = [...ANY_TOKEN, "calendar"];

/**
 * 401 for a spent invite or a token naming nobody, 403 for a revoked
 * session, then 403 when the token's kind may not do the action. Returns the
 * participant a host or session token speaks for (null for an invite).
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
  } else {
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

function forbiddenMessage(kind: TokenKind, allowed: readonly TokenKind[]): string {
  if (kind === "calendar") return "a calendar token only reads the calendar feed (calendar.ics)";
  if (allowed === HOST_ONLY) return "only the host may do this";
  if (allowed === SESSION_ONLY) return "this takes a session token";
  return "this token may not do this";
}
