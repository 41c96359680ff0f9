/**
 * What a person reads when something fails: the contract's error codes in
 * plain words, falling back to the server's own message.
 */
import { MeetTimeError } from "../client/errors";

const BY_CODE: Record<string, string> = {
  TOKEN_ALREADY_USED: "This invite link has already been used. Ask the host for a new one.",
  UNAUTHORIZED: "This link is not valid any more (used, expired, or for another meeting). Ask the host for a new one.",
  FORBIDDEN: "You are no longer in this meeting.",
  NOT_FOUND: "This meeting does not exist any more.",
  MEETING_FULL: "The meeting is full.",
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
