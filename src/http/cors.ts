/**
 * CORS from CORS_ORIGINS: an allowed origin is echoed in
 * `Access-Control-Allow-Origin` (exact match, scheme and port included),
 * any other origin gets no allow header; preflights answer 204 before
 * anything else runs (they are not rate limited and need no token).
 */
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { loadConfig } from "../config";
import type { Env } from "../env";

/** What a browser client sends beyond the CORS-safelisted headers. */
export const CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "If-Match", "X-Request-Id"];
/** What a browser client may read from our answers. */
export const CORS_EXPOSE_HEADERS = [
  "X-Request-Id",
  "ETag",
  "Retry-After",
  "RateLimit-Policy",
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
];
const EXPOSE_HEADERS_VALUE = CORS_EXPOSE_HEADERS.join(",");
const PREFLIGHT_CACHE_SECONDS = 600;

function allowedOrigin(origin: string | undefined, env: Env): string | null {
  return origin && loadConfig(env).corsOrigins.includes(origin) ? origin : null;
}

/** Hono's own CORS answers the preflights. */
const preflight = cors({
  origin: (origin, c) => allowedOrigin(origin, c.env as Env),
  allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
  allowHeaders: CORS_ALLOW_HEADERS,
  exposeHeaders: CORS_EXPOSE_HEADERS,
  maxAge: PREFLIGHT_CACHE_SECONDS,
});

/**
 * The same headers as Hono's `cors()` on every other request, set once on
 * the final answer. Hono's sets them on `c.res` before the route runs,
 * which makes the runtime build the answer three more times (a placeholder,
 * a copy to merge it into the route's answer, a copy to append `Vary`):
 * about a tenth of a `GET`'s CPU (issue 11).
 * @example app.use(corsFromConfig())
 */
export const corsFromConfig = () =>
  createMiddleware<{ Bindings: Env }>(async (c, next) => {
    if (c.req.method === "OPTIONS") return preflight(c, next);
    // Before the route, as Hono's does: an invalid configuration fails the request the same way.
    const allowOrigin = allowedOrigin(c.req.header("origin"), c.env);
    await next();
    const headers = c.res.headers;
    // Caches must tell answers to different origins apart; the rest only means something to an allowed origin.
    headers.append("Vary", "Origin");
    if (!allowOrigin) return;
    headers.set("Access-Control-Allow-Origin", allowOrigin);
    headers.set("Access-Control-Expose-Headers", EXPOSE_HEADERS_VALUE);
  });
