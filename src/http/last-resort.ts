/**
 * The worker's last resort: whatever escapes the app (its error handler
 * failing too, as when logging throws under memory pressure) still gets an
 * HTTP answer, `503 UNAVAILABLE` with `Retry-After` for the runtime's load
 * and memory errors, `500 INTERNAL` for anything else, so a client never
 * sees a dropped connection where the worker could still speak. The bodies
 * are built once, at startup: answering must not need what just failed.
 */
import { isTransientRuntimeError, UNAVAILABLE_RETRY_AFTER_SECONDS, unavailable } from "../error-path";
import { AppError } from "../errors";
import { log } from "../log";

type Fetch<E> = (request: Request, env: E, ctx: ExecutionContext) => Response | Promise<Response>;

const UNAVAILABLE_BODY = JSON.stringify({ error: unavailable().toBody() });
const INTERNAL_BODY = JSON.stringify({ error: new AppError("INTERNAL", "internal error").toBody() });
const HEADERS = {
  "content-type": "application/json",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

/** True unless even looking at the error fails (a getter that throws, say): then treat it as load. */
function transient(error: unknown): boolean {
  try {
    return isTransientRuntimeError(error);
  } catch {
    return true;
  }
}

/** The answer to a request whose handling threw out of the app. */
export function lastResortResponse(error: unknown): Response {
  if (transient(error)) {
    return new Response(UNAVAILABLE_BODY, {
      status: 503,
      headers: { ...HEADERS, "retry-after": String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
    });
  }
  return new Response(INTERNAL_BODY, { status: 500, headers: HEADERS });
}

/**
 * Wraps the app's `fetch` so that every request is answered.
 * @example export default { fetch: answerEveryRequest(app.fetch) }
 */
export function answerEveryRequest<E>(fetch: Fetch<E>): Fetch<E> {
  return async (request, env, ctx) => {
    try {
      return await fetch(request, env, ctx);
    } catch (error) {
      try {
        log("error", "request.unanswered", { error: String(error) });
      } catch {
        // Logging is what failed: the answer matters more.
      }
      return lastResortResponse(error);
    }
  };
}
