/**
 * The MeetTime worker: middleware, routes and the one place where errors
 * become responses. Meeting rules live in the MeetingRoom Durable Object.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { docs } from "./api/docs";
import { meetings } from "./api/meetings";
import { system } from "./api/system";
import type { Env } from "./env";
import { AppError, type ErrorCode } from "./errors";
import { corsFromConfig } from "./http/cors";
import { rateLimit } from "./http/rate-limit";
import { requestLog } from "./http/request-log";
import { securityHeaders } from "./http/security-headers";
import { log } from "./log";
import { isTransientRuntimeError, UNAVAILABLE_RETRY_AFTER_SECONDS, unavailable } from "./runtime-errors";

export { MeetingRoom } from "./meeting/meeting";
export { RateLimitCounter } from "./ratelimit/counter";

const HTTP_EXCEPTION_CODES: Record<number, ErrorCode> = {
  400: "VALIDATION_FAILED",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "RATE_LIMITED",
};

/**
 * Maps anything thrown to the contract's error: the runtime's load and
 * memory errors are 503 UNAVAILABLE (contract 1.1), anything else
 * unexpected is logged and answered as a bare 500.
 */
function toAppError(error: unknown, requestIdValue: string): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof HTTPException && HTTP_EXCEPTION_CODES[error.status]) {
    return new AppError(HTTP_EXCEPTION_CODES[error.status] as ErrorCode, error.message || "invalid request");
  }
  if (isTransientRuntimeError(error)) {
    log("warn", "request.unavailable", { requestId: requestIdValue, error: String(error) });
    return unavailable();
  }
  log("error", "request.internal_error", { requestId: requestIdValue, error: String(error) });
  return new AppError("INTERNAL", "internal error");
}

const app = new Hono<{ Bindings: Env }>()
  .use(requestId({ limitLength: 128 }))
  .use(requestLog())
  .use(securityHeaders())
  .use(corsFromConfig())
  // Every /api/* request counts, WebSocket upgrades included; /health and the docs do not.
  .use("/api/*", rateLimit())
  .route("/", system)
  .route("/", docs)
  .route("/api/meetings", meetings);

// Answered, not thrown: a throw here would skip the after-phase of the middleware (security headers).
app.notFound((c) => c.json({ error: new AppError("NOT_FOUND", "no such route").toBody() }, 404));

app.onError((error, c) => {
  const appError = toAppError(error, c.var.requestId);
  const retryAfter = appError.details?.retryAfterSeconds;
  if (appError.code === "UNAVAILABLE") c.header("Retry-After", String(retryAfter ?? UNAVAILABLE_RETRY_AFTER_SECONDS));
  return c.json({ error: appError.toBody() }, appError.status);
});

export default app;
