/**
 * The SDK's one error type: every failed REST call and every refused frame
 * rejects with a `MeetTimeError` carrying the contract's `code`, the HTTP
 * `status` and the optional `details` (API.md "Errors"). Failures that never
 * reached the server use the SDK's own codes (`CLIENT_ERROR_CODES`).
 */
import { ERROR_STATUS } from "../errors.js";

/** The SDK's own codes (not the contract's); their `status` is 0 (no HTTP answer). */
export const CLIENT_ERROR_CODES = {
  /** `fetch` failed (server unreachable, CORS, offline) or the answer was not the contract's JSON. */
  NETWORK_ERROR: "NETWORK_ERROR",
  /** The socket dropped after the frame was sent and before its answer: it may or may not have been applied. */
  CONNECTION_LOST: "CONNECTION_LOST",
  /** The connection is closed for good (see its final `state` event); nothing more can be sent. */
  CLOSED: "CLOSED",
  /** The connection is down and its send queue is full. */
  QUEUE_FULL: "QUEUE_FULL",
  /** No `ack` or `error` within `ackTimeoutMs`. */
  TIMEOUT: "TIMEOUT",
  /** A server frame did not fit the contract and was dropped (reported on the connection's `error` event). */
  MALFORMED_FRAME: "MALFORMED_FRAME",
  /** Lobby (contract 1.2): a host turned the request down (`lobby:denied`); `details.reason` says why. */
  LOBBY_DENIED: "LOBBY_DENIED",
  /**
   * Lobby: the wait ended without an answer this client heard: the wait token
   * expired, the server no longer takes it (away too long, or answered while
   * away), or another tab took the wait over. `details.why`: `expired`, `refused`, `replaced`.
   */
  LOBBY_WAIT_ENDED: "LOBBY_WAIT_ENDED",
} as const;

export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES;
/** A contract code (`VALIDATION_FAILED`, `RATE_LIMITED`, …) or one of the SDK's own. */
export type MeetTimeErrorCode = keyof typeof ERROR_STATUS | ClientErrorCode;

export class MeetTimeError extends Error {
  /**
   * @param code the contract's error code, or a client-side one
   * @param status the HTTP status (for a WebSocket error frame: the status the contract gives its code); 0 for client-side failures
   * @param details the contract's `details` (validation: the failing fields; `VERSION_CONFLICT`: `details.meeting`)
   * @param retryAfterSeconds `Retry-After` of a 429 or 503 answer
   */
  constructor(
    readonly code: MeetTimeErrorCode | (string & {}),
    message: string,
    readonly status: number,
    readonly details?: Record<string, unknown>,
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "MeetTimeError";
  }

  /** The error of a WebSocket `error` frame; its status is the one the contract gives the code. */
  static fromFrame(error: { code: string; message: string; details?: Record<string, unknown> }): MeetTimeError {
    const status = (ERROR_STATUS as Record<string, number>)[error.code] ?? 0;
    return new MeetTimeError(error.code, error.message, status, error.details);
  }

  static client(code: ClientErrorCode, message: string, cause?: unknown): MeetTimeError {
    return new MeetTimeError(code, message, 0, undefined, undefined, cause === undefined ? undefined : { cause });
  }
}
