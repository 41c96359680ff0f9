/**
 * The REST rate limit per client IP, in front of every `/api/*` request
 * (WebSocket upgrades included). Counting happens in the RateLimitCounter
 * Durable Object of the client, so the limit holds however many isolates
 * serve the client; a fast client's requests are counted ahead in batches
 * (ratelimit/grants.ts). Answers carry the `RateLimit-*` headers (IETF draft 6 names);
 * a refusal is `429 RATE_LIMITED` with `Retry-After`.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { type Config, loadConfig } from "../config";
import type { Env } from "../env";
import { isTransientRuntimeError, unavailable } from "../error-path";
import { AppError } from "../errors";
import { routePattern } from "../http/request-log";
import { idFromName } from "../lib/durable-ids";
import { log } from "../log";
import { ServiceMetrics } from "../metrics";
import { GrantedRequests } from "./grants";
import { LocalRateLimiter } from "./local";
import type { RateLimitDecision } from "./window";

/** Requests without CF-Connecting-IP (only possible off Cloudflare's edge) share this one bucket. */
export const UNKNOWN_CLIENT = "unknown";
const MAX_KEY_LENGTH = 64;

/** The first 64 bits of an IPv6 address: one subscriber usually holds a whole /64. */
function ipv6Prefix64(address: string): string {
  const [head = "", tail] = address.split("::");
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const zeros = tail === undefined ? [] : Array(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill("0");
  const groups = [...headGroups, ...zeros, ...tailGroups].slice(0, 4);
  return `${groups.map((group) => group.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}

/**
 * The client's limiter key: CF-Connecting-IP, which Cloudflare's edge always
 * sets and clients cannot forge there (`wrangler dev` sets it from the socket
 * address). IPv6 clients are keyed by their /64, IPv4-mapped ones by the IPv4.
 * @example clientKey(new Headers({ "cf-connecting-ip": "2001:db8::1" })) // "2001:db8:0:0::/64"
 */
export function clientKey(headers: Headers): string {
  const ip = headers.get("cf-connecting-ip")?.trim().toLowerCase().split("%")[0];
  if (!ip) return UNKNOWN_CLIENT;
  if (!ip.includes(":")) return ip.slice(0, MAX_KEY_LENGTH);
  if (ip.includes(".")) return ip.slice(ip.lastIndexOf(":") + 1).slice(0, MAX_KEY_LENGTH);
  return ipv6Prefix64(ip).slice(0, MAX_KEY_LENGTH);
}

function rateLimitHeaders(decision: RateLimitDecision, windowMs: number, now: number): Record<string, string> {
  return {
    "RateLimit-Policy": `${decision.limit};w=${Math.ceil(windowMs / 1000)}`,
    "RateLimit-Limit": String(decision.limit),
    "RateLimit-Remaining": String(decision.remaining),
    "RateLimit-Reset": String(Math.max(0, Math.ceil((decision.resetAt - now) / 1000))),
  };
}

/**
 * Contract 1.2: the `/media/*` routes are limited per participant by the
 * meeting object (a call moves a participant's own media, often in bursts
 * at join), and are not counted here.
 */
const MEDIA_ROUTE = /^\/api\/meetings\/[^/]+\/media\//;

/** Per isolate: requests the counter granted ahead (see ratelimit/grants.ts). */
const granted = new GrantedRequests();
/** Per isolate: used only while the counter object fails for reasons other than load. */
const fallback = new LocalRateLimiter();

/**
 * Admits from what the counter granted this isolate ahead, else asks the
 * client's counter object. When the counter fails: under load (the
 * runtime's `overloaded`/`retryable` errors, memory pressure) the request is
 * refused with `503 UNAVAILABLE` and `Retry-After`, since a flood is exactly
 * when the limit matters; on any other failure the in-isolate limiter
 * decides, so the limit never switches off.
 */
async function decide(c: Context<{ Bindings: Env }>, key: string, config: Config): Promise<RateLimitDecision> {
  const { rateLimitMaxRequests: limit, rateLimitWindowMs: windowMs } = config;
  const now = Date.now();
  const held = granted.admit(key, limit, windowMs, now);
  if (held) return held;
  try {
    const counter = c.env.RATE_LIMITER.get(idFromName(c.env.RATE_LIMITER, key));
    const grant = await counter.hit(limit, windowMs, granted.wanted(key, limit, windowMs, now));
    return granted.keep(key, windowMs, grant, Date.now());
  } catch (error) {
    if (isTransientRuntimeError(error)) {
      log("warn", "ratelimit.overloaded", { requestId: c.get("requestId"), error: String(error) });
      throw unavailable();
    }
    log("error", "ratelimit.unavailable", { requestId: c.get("requestId"), error: String(error) });
    return fallback.hit(key, limit, windowMs, Date.now());
  }
}

/**
 * Reads RATE_LIMIT_WINDOW_MS / RATE_LIMIT_MAX_REQUESTS per request, so the
 * configuration (or a test's env) applies without a restart.
 * @example app.use("/api/*", rateLimit())
 */
export const rateLimit = () =>
  createMiddleware<{ Bindings: Env }>(async (c, next) => {
    if (MEDIA_ROUTE.test(c.req.path)) return next();
    const config = loadConfig(c.env);
    const key = clientKey(c.req.raw.headers);
    const decision = await decide(c, key, config);
    const now = Date.now();
    for (const [name, value] of Object.entries(rateLimitHeaders(decision, config.rateLimitWindowMs, now))) {
      c.header(name, value);
    }
    if (!decision.allowed) {
      const retryAfterSeconds = Math.max(1, Math.ceil((decision.resetAt - now) / 1000));
      c.header("Retry-After", String(retryAfterSeconds));
      // The route pattern, never the raw path: a path can carry anything a client typed.
      log("warn", "request.rate_limited", { requestId: c.get("requestId"), route: routePattern(c), retryAfterSeconds });
      new ServiceMetrics(c.env.METRICS).count("rate_limited", { detail: "rest" });
      throw new AppError("RATE_LIMITED", `too many requests; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
    }
    await next();
  });
