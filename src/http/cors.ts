/**
 * CORS from CORS_ORIGINS: an allowed origin is echoed in
 * `Access-Control-Allow-Origin` (exact match, scheme and port included),
 * any other origin gets no allow header; preflights answer 204 before
 * anything else runs (they are not rate limited and need no token).
 */
import { cors } from "hono/cors";
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
const PREFLIGHT_CACHE_SECONDS = 600;

/**
 * @example app.use(corsFromConfig())
 */
export const corsFromConfig = () =>
  cors({
    origin: (origin, c) => (origin && loadConfig(c.env as Env).corsOrigins.includes(origin) ? origin : null),
    allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
    allowHeaders: CORS_ALLOW_HEADERS,
    exposeHeaders: CORS_EXPOSE_HEADERS,
    maxAge: PREFLIGHT_CACHE_SECONDS,
  });
