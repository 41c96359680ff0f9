/**
 * Security headers, set once on every final answer (errors and preflights
 * included). An API answer gets the headers that mean something for an API
 * (OWASP REST Security cheat sheet, plus `Referrer-Policy`); the one HTML
 * page (`/docs`) also gets the rest of `hono/secure-headers`' defaults, which
 * only a rendered document uses. Each header write costs the runtime about
 * 2.6 µs, so those six on every JSON answer were 5% of a `GET` (issue 11).
 */
import { createMiddleware } from "hono/factory";

/** What every answer carries. */
export const API_SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ["X-Content-Type-Options", "nosniff"],
  ["Strict-Transport-Security", "max-age=15552000; includeSubDomains"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["Referrer-Policy", "no-referrer"],
];

/** What an HTML page carries on top (the worker serves one: `/docs`, which sets them itself). */
export const DOCUMENT_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Origin-Agent-Cluster": "?1",
  "X-DNS-Prefetch-Control": "off",
  "X-Download-Options": "noopen",
  "X-Permitted-Cross-Domain-Policies": "none",
  "X-XSS-Protection": "0",
};

/**
 * The web app's policy (static files under /app/, headers from the `_headers`
 * file scripts/build-assets.mjs writes): everything from its own origin;
 * `connect-src 'self'` is REST and the meeting WebSocket of this origin
 * (`'self'` covers ws:/wss: to the same host); media from the camera only.
 */
export const APP_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob: mediastream:",
  "style-src 'self'",
  "script-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

/** @example app.use(securityHeaders()) */
export const securityHeaders = () =>
  createMiddleware(async (c, next) => {
    await next();
    const headers = c.res.headers;
    for (const [name, value] of API_SECURITY_HEADERS) headers.set(name, value);
  });
