/**
 * The one error path: `toAppError` maps anything thrown to the contract's
 * error, deciding between a transient failure (`503 UNAVAILABLE`, nothing
 * changed) and a bug (`500 INTERNAL`, logged once). The worker's `onError`,
 * the meeting object's RPC, its WebSocket upgrade and its socket handler all
 * go through it.
 */
import { HTTPException } from "hono/http-exception";
import { AppError, type ErrorCode } from "./errors";
import { log } from "./log";

// ------------------------------------------------------------------ transient runtime failures

/*
 * Which thrown errors are the runtime telling us it is under load or lost
 * state transiently, rather than a bug. Contract 1.1: those answer
 * `503 UNAVAILABLE` with `Retry-After` (nothing was changed, repeat the
 * request), and `500 INTERNAL` is left for bugs.
 *
 * Durable Object errors carry `overloaded` (too many requests queued for
 * the object, or the process is out of resources: do not hammer it) and
 * `retryable` (the operation may succeed if repeated). SQLite and the
 * isolate report memory pressure only in the message. The runtime's own
 * failures reach JavaScript as "internal error; reference = …" (an error in
 * workerd's C++, e.g. SQLITE_NOMEM while it set up an object's database,
 * seen in `npm run bench:create`); our code's bugs are JavaScript errors
 * with their own message and never take that form.
 */

/** How long a client is asked to wait before repeating a refused request. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/** Messages of transient runtime failures that arrive without the `overloaded`/`retryable` flags. */
const TRANSIENT_MESSAGE =
  /SQLITE_(?:NOMEM|BUSY|IOERR)|out of memory|internal error; reference =|exceeded (?:its )?memory|memory limit|overloaded|Durable Object reset|Durable Object (?:storage operation )?(?:exceeded|is overloaded)|Network connection lost|too many requests queued|object to be reset|was reset/i;

function flag(error: object, name: "overloaded" | "retryable"): boolean {
  return (error as Record<string, unknown>)[name] === true;
}

/** True for load, memory pressure and transient storage failures: worth a 503, not a 500. */
export function isTransientRuntimeError(error: unknown): boolean {
  if (error instanceof AppError) return false;
  if (typeof error === "object" && error !== null && (flag(error, "overloaded") || flag(error, "retryable"))) {
    return true;
  }
  // Only the head of a message is examined: classification must stay cheap on a huge message.
  return TRANSIENT_MESSAGE.test(String(error).slice(0, 500));
}

/**
 * The contract's answer to a transient failure.
 * @example if (isTransientRuntimeError(error)) throw unavailable()
 */
export function unavailable(message = "the service is busy; nothing was changed, retry shortly"): AppError {
  return new AppError("UNAVAILABLE", message, { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS });
}

// ------------------------------------------------------------------ the one error path

const HTTP_EXCEPTION_CODES: Record<number, ErrorCode> = {
  400: "VALIDATION_FAILED",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "RATE_LIMITED",
};

/** Where a failure happened, for its one log line: `action` names the door, ids say whose. */
export interface FailureContext {
  action: string;
  meetingId?: string;
  requestId?: string;
}

/**
 * Maps anything thrown to the contract's error: an `AppError` as it is, a
 * Hono `HTTPException` by its status, the runtime's load and storage-pressure
 * errors to `503 UNAVAILABLE` (logged as a warning), anything else to
 * `500 INTERNAL` (logged as an error; the message never leaves the server).
 * @example catch (error) { return errorResponse(toAppError(error, { action: "connect", meetingId })) }
 */
export function toAppError(error: unknown, where: FailureContext): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof HTTPException && HTTP_EXCEPTION_CODES[error.status]) {
    return new AppError(HTTP_EXCEPTION_CODES[error.status] as ErrorCode, error.message || "invalid request");
  }
  if (isTransientRuntimeError(error)) {
    log("warn", "unavailable", { ...where, error: String(error) });
    return unavailable();
  }
  log("error", "internal_error", { ...where, error: String(error) });
  return new AppError("INTERNAL", "internal error");
}
