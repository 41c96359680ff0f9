#!/usr/bin/env node
// @ts-check
/**
 * Builds the worker's static assets into dist/assets/ (the `[assets]`
 * directory of wrangler.toml): the web app at dist/assets/app/ (index.html,
 * app.js bundled from src/web/main.ts with esbuild, app.css), Swagger UI for
 * `/docs` at dist/assets/docs/ (from the pinned swagger-ui-dist), and the
 * `_headers` file that gives the static files the security headers the
 * worker's own responses carry. Runs before `npm run dev`, `npm run deploy`
 * and `npm test` (wrangler's `[build] command` and npm's `pre*` scripts), so
 * dist/ never needs to be committed; under `wrangler dev` the `[build]`
 * command reruns on every change in src/.
 */
import { appendFileSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const WEB = join(ROOT, "src/web");
const OUT = join(ROOT, "dist/assets");
const APP_OUT = join(OUT, "app");

/**
 * Static assets are answered without running the worker, so they get their headers here.
 * The app talks only to its own origin (REST and WebSocket); media comes from the camera.
 */
const HEADERS = `/app/*
  X-Content-Type-Options: nosniff
  Referrer-Policy: no-referrer
  X-Frame-Options: DENY
  Content-Security-Policy: default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; media-src 'self' blob: mediastream:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'
`;

/** @type {esbuild.BuildOptions} */
const APP_BUILD = {
  entryPoints: [join(WEB, "main.ts")],
  outfile: join(APP_OUT, "app.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
};

rmSync(APP_OUT, { recursive: true, force: true });
mkdirSync(APP_OUT, { recursive: true });
copyFileSync(join(WEB, "index.html"), join(APP_OUT, "index.html"));
copyFileSync(join(WEB, "app.css"), join(APP_OUT, "app.css"));
writeFileSync(join(OUT, "_headers"), HEADERS);

await esbuild.build(APP_BUILD);
console.log("build-assets: dist/assets/app written");

// ---------------------------------------------------------------- API docs (/docs)
// Swagger UI for `/docs` (src/api/docs.ts) from the pinned swagger-ui-dist
// devDependency, served as same-origin static files: no CDN script runs on
// the API's origin. Our init script turns token persistence off.
const DOCS_OUT = join(OUT, "docs");
const SWAGGER_UI = join(ROOT, "node_modules/swagger-ui-dist");
const DOCS_INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
});
`;
rmSync(DOCS_OUT, { recursive: true, force: true });
mkdirSync(DOCS_OUT, { recursive: true });
for (const file of ["swagger-ui.css", "swagger-ui-bundle.js", "LICENSE", "NOTICE"]) {
  copyFileSync(join(SWAGGER_UI, file), join(DOCS_OUT, file));
}
writeFileSync(join(DOCS_OUT, "init.js"), DOCS_INIT);
appendFileSync(
  join(OUT, "_headers"),
  `/docs/*
  X-Content-Type-Options: nosniff
  Cache-Control: public, max-age=3600
`,
);
console.log("build-assets: dist/assets/docs written");
