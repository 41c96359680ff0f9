/**
 * The MeetTime worker: middleware, routes and the one place where errors
 * become responses. Meeting rules live in the MeetingRoom Durable Object.
 */
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { docs } from "./api/docs";
import { meetings } from "./api/meetings";
import { system } from "./api/system";
import type { Env } from "./env";
import { toAppError, UNAVAILABLE_RETRY_AFTER_SECONDS } from "./error-path";
import { AppError } from "./errors";
import { corsFromConfig } from "./http/cors";
import { requestLog } from "./http/request-log";
import { securityHeaders } from "./http/security-headers";
import { rateLimit } from "./ratelimit/middleware";

export { MeetingRoom } from "./meeting/room";
export { RateLimitCounter } from "./ratelimit/counter";

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
  const appError = toAppError(error, { action: "request", requestId: c.var.requestId, meetingId: c.var.meetingId });
  const retryAfter = appError.details?.retryAfterSeconds;
  if (appError.code === "UNAVAILABLE") c.header("Retry-After", String(retryAfter ?? UNAVAILABLE_RETRY_AFTER_SECONDS));
  // A limit kept by the meeting object (the `/media/*` bucket) says when to retry in its details.
  if (appError.code === "RATE_LIMITED" && retryAfter !== undefined) c.header("Retry-After", String(retryAfter));
  return c.json({ error: appError.toBody() }, appError.status);
});

export default app;
