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
    const expectedRole = claims.kind === "host" ? "host" : "participant";
    if (!participant || participant.role !== expectedRole) throw new AppError("UNAUTHORIZED", "invalid token");
    if (participant.removedAt !== null) {
      throw new AppError("FORBIDDEN", `this session was revoked (${participant.removedReason ?? "left"})`);
    }
  }
  if (!allowed.includes(claims.kind)) {
    throw new AppError("FORBIDDEN", allowed === HOST_ONLY ? "only the host may do this" : "this token may not do this");
  }
  return participant;
}
