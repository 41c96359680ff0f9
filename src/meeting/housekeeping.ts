/**
 * Bounded storage per meeting (contract 1.1): at most INVITE_LIMIT
 * outstanding invites, and rows nothing needs any more deleted by the alarm.
 *
 * What is kept, and why:
 * - A redeemed join token is kept until it expires: until then presenting it
 *   again must answer `409 TOKEN_ALREADY_USED` (join) or `401` (reads), which
 *   only its row can tell. Once its `exp` passed, the worker refuses it as
 *   expired before the object is asked, so the row is dead weight.
 * - A removed (kicked or left) participant's row makes its session token
 *   `403`. The latest session token such a participant can hold was minted
 *   at the latest when it was removed and lives TOKEN_EXPIRY_HOURS, so after
 *   `removedAt + tokenExpiry` every session token of it is refused as expired
 *   anyway. A calendar token it minted lives until the meeting's expiry: once
 *   the row is gone that token gets `401` instead of `403`. Still refused: a
 *   missing participant is never treated as listed, so deleting a row can
 *   never undo a revocation; only the error code changes.
 * Both bounds get SPENT_GRACE_MS on top, for clocks of the worker and the
 * object that disagree by a little.
 *
 * When: on every alarm (every 30 s while sockets are connected, and at the
 * expiry), and with every successful mint, in its transaction. Every way a
 * meeting's rows grow starts with a mint (a join redeems an invite, a
 * removal needs a join), so a quiet meeting that keeps minting keeps
 * cleaning too, without an alarm of its own.
 */
import { AppError } from "../errors";
import type { MeetingStore } from "./store";

export const INVITE_LIMIT = 1000;
export const SPENT_GRACE_MS = 5 * 60_000;

/** 409 INVITE_LIMIT when minting `count` more would leave more than INVITE_LIMIT outstanding; checked before any write. */
export function checkInviteLimit(store: MeetingStore, count: number, now: number): void {
  const outstanding = store.outstandingInvites(now);
  if (outstanding + count > INVITE_LIMIT) {
    throw new AppError(
      "INVITE_LIMIT",
      `a meeting holds at most ${INVITE_LIMIT} unredeemed, unexpired invites; ${outstanding} are outstanding`,
      { limit: INVITE_LIMIT, outstanding },
    );
  }
}

/** Deletes spent join tokens and long-removed participants; returns how many rows went. */
export function collectSpentRows(store: MeetingStore, now: number, tokenExpiryMs: number): number {
  return store.deleteSpentRows(now - SPENT_GRACE_MS, now - tokenExpiryMs - SPENT_GRACE_MS);
}
