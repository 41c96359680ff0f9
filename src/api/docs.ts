/**
 * The API describing itself: `GET /openapi.json` (generated from the route
 * table and the zod schemas) and `GET /docs`, a Swagger UI page over it.
 * Swagger UI comes from the pinned `swagger-ui-dist` devDependency, copied
 * to `/docs/*` static assets by scripts/build-assets.mjs: the page loads
 * nothing from another origin (a CDN's script would run on the API's origin
 * next to people's tokens), and tokens typed into "Authorize" are never
 * persisted (`persistAuthorization: false`, set in `/docs/init.js`).
 */
import { Hono } from "hono";
import type { Env } from "../env";
import { DOCUMENT_SECURITY_HEADERS } from "../http/security-headers";
import { openApiDocument } from "../openapi/document";
import { SERVICE } from "./system";

/** Same-origin paths of the Swagger UI files (scripts/build-assets.mjs writes them). */
export const DOCS_ASSETS = {
  css: "/docs/swagger-ui.css",
  bundle: "/docs/swagger-ui-bundle.js",
  init: "/docs/init.js",
} as const;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${SERVICE.name} API</title>
<link rel="stylesheet" href="${DOCS_ASSETS.css}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${DOCS_ASSETS.bundle}"></script>
<script src="${DOCS_ASSETS.init}"></script>
</body>
</html>
`;

/**
 * Only our own origin: scripts, styles and the spec. Swagger UI sets inline
 * styles and draws icons from data: URLs.
 */
const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

let cachedDocument: ReturnType<typeof openApiDocument> | undefined;

export const docs = new Hono<{ Bindings: Env }>()
  .get("/openapi.json", (c) => {
    cachedDocument ??= openApiDocument({ title: SERVICE.name, version: SERVICE.version });
    return c.json(cachedDocument);
  })
  .get("/docs", (c) => c.html(PAGE, 200, { ...DOCUMENT_SECURITY_HEADERS, "Content-Security-Policy": DOCS_CSP }));
