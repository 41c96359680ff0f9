/**
 * One structured log line per request: method, route pattern (never the
 * raw URL, whose query may carry a token), status, duration, request id and
 * the meeting concerned. Also applies LOG_LEVEL, counts 5xx answers in the
 * service metrics, and declares the `meetingId` context variable that
 * routes set when the meeting is not in the path (create, join).
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import { loadConfig } from "../config";
import type { Env } from "../env";
import { log, setLogLevel } from "../log";
import { ServiceMetrics } from "../metrics";

declare module "hono" {
  interface ContextVariableMap {
    /** The meeting a request concerns, for the request log; set by routes that learn it late. */
    meetingId: string;
  }
}

const MEETING_IN_PATH = /^\/api\/meetings\/([0-9a-f]{64})(?:\/|$)/;

/**
 * The route that serves the request; middleware (`ALL`) does not count, so
 * an unknown path is null. Known from the start: Hono matches every handler
 * of a request before the first middleware runs.
 */
export function routePattern(c: Context): string | null {
  const route = matchedRoutes(c).find((r) => r.method !== "ALL");
  return route ? route.path : null;
}

/**
 * @example app.use(requestLog())
 */
export const requestLog = () =>
  createMiddleware<{ Bindings: Env }>(async (c, next) => {
    try {
      setLogLevel(loadConfig(c.env).logLevel);
    } catch {
      // An invalid configuration is reported by the route that needs it.
    }
    const startedAt = Date.now();
    await next();
    const status = c.res.status;
    const route = routePattern(c);
    const meetingId = (c.get("meetingId") as string | undefined) ?? c.req.path.match(MEETING_IN_PATH)?.[1];
    log(status >= 500 ? "error" : "info", "http.request", {
      requestId: c.get("requestId"),
      method: c.req.method,
      route,
      status,
      durationMs: Date.now() - startedAt,
      ...(meetingId ? { meetingId } : {}),
    });
    if (status >= 500) new ServiceMetrics(c.env.METRICS).count("error", { detail: `http ${route ?? "unmatched"}` });
  });
