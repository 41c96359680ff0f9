/**
 * Single-use invites (join tokens) minted by the host. Minting is how a
 * meeting's rows grow, so it also clears spent ones (housekeeping.ts).
 */
import type { TokenClaims } from "../auth/tokens";
import { AppError } from "../errors";
import type { MintTokensInput } from "../protocol/schemas";
import { authorizeActive, HOST_ONLY } from "./access";
import type { RoomContext } from "./context";
import { checkInviteLimit, collectSpentRows } from "./housekeeping";
import type { MeetingRow } from "./store";
import { iso, wholeSeconds } from "./views";

/**
 * When an invite or a meeting link minted now expires: `expiresInHours`, or
 * TOKEN_EXPIRY_HOURS, never past the meeting's expiry; an `expiresInHours`
 * beyond it is 400. Whole seconds, like the token's `exp`.
 */
export function grantExpiry(
  room: RoomContext,
  meeting: MeetingRow,
  expiresInHours: number | undefined,
  now: number,
): number {
  let expiresAt = now + room.config.tokenExpiryMs;
  if (expiresInHours !== undefined) {
    expiresAt = now + expiresInHours * 3_600_000;
    if (expiresAt > meeting.expiresAt) {
      throw new AppError("VALIDATION_FAILED", "expiresInHours reaches beyond the meeting's expiry", {
        fields: { expiresInHours: [`must end by ${iso(meeting.expiresAt)}`] },
      });
    }
  }
  return wholeSeconds(Math.min(expiresAt, meeting.expiresAt));
}

export async function mintJoinTokens(
  room: RoomContext,
  claims: TokenClaims,
  input: MintTokensInput,
): Promise<{ tokens: { token: string; expiresAt: string }[] }> {
  room.credentials.requireSecret();
  const { meeting } = authorizeActive(room, claims, HOST_ONLY);
  const now = Date.now();
  const expiresAt = grantExpiry(room, meeting, input.expiresInHours, now);
  const tokens = Array.from({ length: input.count }, () => ({
    id: crypto.randomUUID(),
    name: input.name ?? null,
    expiresAt,
  }));
  checkInviteLimit(room.store, tokens.length, now);
  room.store.transaction(() => {
    room.store.insertJoinTokens(tokens);
    collectSpentRows(room.store, now, room.config.tokenExpiryMs);
  });
  const signed = await Promise.all(tokens.map((token) => room.credentials.join(meeting, token.id, expiresAt)));
  return { tokens: signed.map((token) => ({ token, expiresAt: iso(expiresAt) })) };
}
