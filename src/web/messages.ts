/**
 * What a person reads when something fails or ends: the contract's error
 * codes in plain words (falling back to the server's own message), what is
 * wrong with an invite or meeting link, why a wait in the lobby ended, and
 * why a meeting page closed.
 */
import type { StateChange } from "../client/connection";
import { MeetTimeError } from "../client/errors";
import { tokenClaims } from "../client/timing";

const BY_CODE: Record<string, string> = {
  TOKEN_ALREADY_USED: "This invite link has already been used. Ask the host for a new one.",
  UNAUTHORIZED: "This link is not valid any more (used, expired, or for another meeting). Ask the host for a new one.",
  FORBIDDEN: "You are no longer in this meeting.",
  NOT_FOUND: "This meeting does not exist any more.",
  MEETING_FULL: "The meeting is full.",
  LINK_EXHAUSTED: "This meeting link has let in as many people as the host allowed. Ask the host for a new one.",
  LOBBY_FULL: "Too many people are waiting to be let in right now. Try again in a few minutes.",
  MEETING_ENDED: "The host has ended this meeting.",
  RATE_LIMITED: "Too many requests in a short time. Wait a moment and try again.",
  UNAVAILABLE: "The server is busy. Try again in a moment.",
  NETWORK_ERROR: "Could not reach the server. Check your connection and try again.",
  CONNECTION_LOST: "The connection dropped before the server answered. Try again.",
  QUEUE_FULL: "You are offline; wait until the connection is back.",
  CLOSED: "You are no longer connected to this meeting.",
};

/** A sentence for an error from the SDK (or anything else thrown). */
export function describeError(error: unknown): string {
  if (error instanceof MeetTimeError) {
    if (error.code === "VALIDATION_FAILED") return `Please check the form: ${error.message}`;
    return BY_CODE[error.code] ?? error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export const BROKEN_INVITE =
  "This invite link is broken: part of it is missing or changed, which happens when a link is copied. Ask the host to send it again.";
const SPENT_INVITE =
  "This invite link has already been used: each invite lets one person in. Ask the host for a new one.";
const EXPIRED_INVITE = "This invite link has expired. Ask the host for a new one.";
/** An HS256 signature is 32 bytes: 43 base64url characters. */
const SIGNATURE_CHARS = 43;

const REVOKED_LINK = "The host has turned this meeting link off. Ask the host for a new link.";
const EXPIRED_LINK = "This meeting link has expired. Ask the host for a new one.";

/** Whether `token` is a shareable meeting link (contract 1.2) rather than a single-use invite. */
export const isMeetingLink = (token: string) => tokenClaims(token).kind === "link";

/** Whether `token` cannot be an invite or a meeting link at all (cut off, mangled, or another kind of token), so no server need be asked. */
export function inviteLinkIsBroken(token: string): boolean {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((part) => /^[A-Za-z0-9_-]+$/.test(part))) return true;
  if (parts[2]?.length !== SIGNATURE_CHARS) return true;
  const claims = tokenClaims(token);
  return !claims.meetingId || (claims.kind !== "join" && claims.kind !== "link");
}

/**
 * Why a well-formed invite or meeting link was refused. The server answers
 * 401 both for a spent and an expired invite; the token's own expiry tells
 * them apart. A meeting link is never spent: 403 means the host revoked it.
 */
export function describeInviteRefusal(error: unknown, token: string, now = Date.now()): string {
  const expiresAtMs = tokenClaims(token).expiresAtMs;
  const expired = expiresAtMs !== undefined && expiresAtMs <= now;
  if (isMeetingLink(token) && error instanceof MeetTimeError) {
    if (error.code === "FORBIDDEN") return REVOKED_LINK;
    if (error.code === "UNAUTHORIZED") return expired ? EXPIRED_LINK : BY_CODE.UNAUTHORIZED!;
    return describeError(error);
  }
  if (error instanceof MeetTimeError && error.code === "UNAUTHORIZED") return expired ? EXPIRED_INVITE : SPENT_INVITE;
  return describeError(error);
}

/** How a wait in the lobby ended, as the waiting page says it. */
export interface LobbyEnd {
  heading: string;
  text: string;
  /** Asking again can help (the guest left, or the place lapsed); a denial or a dead link it cannot. */
  canAskAgain: boolean;
}

const NOT_LET_IN = "You were not let in";

/** The server's own reasons for ending a wait (src/meeting/lobby.ts), in the words the page uses. */
const LOBBY_REASONS: Record<string, Omit<LobbyEnd, "canAskAgain">> = {
  "the host did not let you in": { heading: NOT_LET_IN, text: "The host did not let you in." },
  "the meeting link was revoked": {
    heading: "This meeting link was turned off",
    text: "The host turned this meeting link off, so the wait ended.",
  },
  "nobody let you in in time": { heading: NOT_LET_IN, text: "Nobody let you in in time." },
  "the meeting has ended": { heading: "The meeting has ended", text: "The host ended the meeting." },
};

/** Why a wait in the lobby ended without getting in (a `join` or `waitInLobby` rejection). */
export function describeLobbyEnd(error: unknown): LobbyEnd {
  const code = error instanceof MeetTimeError ? error.code : undefined;
  switch (code) {
    case "LOBBY_DENIED": {
      const reason = String((error as MeetTimeError).details?.reason ?? "").trim();
      const known = LOBBY_REASONS[reason.toLowerCase()];
      if (known) return { ...known, canAskAgain: false };
      const text = reason ? `The host did not let you in. Reason: ${reason}` : "The host did not let you in.";
      return { heading: NOT_LET_IN, text, canAskAgain: false };
    }
    case "LOBBY_WAIT_ENDED": {
      const elsewhere = (error as MeetTimeError).details?.why === "replaced";
      return {
        heading: "You are no longer waiting",
        text: elsewhere
          ? "You are waiting in another tab or window, so this tab stopped waiting."
          : "Your place in the lobby has lapsed. Ask to join again.",
        canAskAgain: !elsewhere,
      };
    }
    case "CLOSED":
      return { heading: "You left the lobby", text: "You left the lobby.", canAskAgain: true };
    case "MEETING_ENDED":
      return { heading: "The meeting has ended", text: "The host ended the meeting.", canAskAgain: false };
    default:
      return { heading: NOT_LET_IN, text: describeError(error), canAskAgain: code !== "NOT_FOUND" };
  }
}

/** The reason the server gives a kick when the host gave none: saying it again would only repeat the sentence. */
const DEFAULT_KICK_REASON = "removed by the host";

/** The sentence a closed connection leaves on the page; `keepSeat` when coming back later makes sense. */
export function closedMessage(
  change: Extract<StateChange, { state: "closed" }>,
  role: "host" | "participant",
  kickReason?: string,
): { text: string; keepSeat: boolean } {
  switch (change.reason) {
    case "kicked": {
      const reason = kickReason?.trim();
      const given = reason && reason.toLowerCase() !== DEFAULT_KICK_REASON;
      return { text: `The host removed you from the meeting.${given ? ` Reason: ${reason}` : ""}`, keepSeat: false };
    }
    case "terminated":
    case "ended":
      // Only the host can end a meeting, and the host's seat is this tab (another tab would have replaced it).
      return { text: role === "host" ? "You ended the meeting." : "The host ended the meeting.", keepSeat: false };
    case "replaced":
      return {
        text: "You opened this meeting in another tab or window, so this tab was disconnected.",
        keepSeat: true,
      };
    case "left":
      return role === "host"
        ? { text: "You left the meeting. It goes on without you; you can rejoin from this tab.", keepSeat: true }
        : { text: "You left the meeting.", keepSeat: false };
    case "forbidden":
      // A revoked session: the guest left (in another tab with this seat) or was removed while this tab was away.
      return { text: "You are no longer in this meeting: you left it, or the host removed you.", keepSeat: false };
    case "unauthorized":
      return { text: "Your session has expired. Ask the host for a new invite.", keepSeat: false };
    case "not-found":
      return { text: "This meeting no longer exists.", keepSeat: false };
    case "flooded":
      return { text: "Disconnected: too many messages were refused.", keepSeat: true };
    case "gave-up":
      return { text: "Could not reconnect to the meeting.", keepSeat: true };
    case "closed":
      return { text: "Disconnected.", keepSeat: true };
  }
}
