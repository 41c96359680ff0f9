/**
 * Which thrown errors are the runtime telling us it is under load or lost
 * state transiently, rather than a bug. Contract 1.1: those answer
 * `503 UNAVAILABLE` with `Retry-After` (nothing was changed, repeat the
 * request), and `500 INTERNAL` is left for bugs. Used by the worker's error
 * handler, the meeting object's RPC wrapper and the REST rate limiter.
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
import { AppError } from "./errors";

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
