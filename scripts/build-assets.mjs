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
import { appendFileSync, copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const WEB = join(ROOT, "src/web");
const OUT = join(ROOT, "dist/assets");
const APP_OUT = join(OUT, "app");

/**
 * The security headers of src/http/security-headers.ts, read from the source
 * (bundled on the fly), so static files and the worker's answers cannot drift.
 */
async function securityHeaderValues() {
  const bundled = await esbuild.build({
    entryPoints: [join(ROOT, "src/http/security-headers.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
    logLevel: "warning",
  });
  const source = bundled.outputFiles[0]?.text ?? "";
  return import(`data:text/javascript;base64,${Buffer.from(source).toString("base64")}`);
}

/** `[[name, value], …]` → the indented lines of a `_headers` rule. */
const headerLines = (/** @type {Iterable<readonly [string, string]>} */ headers) =>
  [...headers].map(([name, value]) => `  ${name}: ${value}\n`).join("");

/**
 * Static assets are answered without running the worker, so they get their headers here: every
 * file the API's set (HSTS included), the app an HTML document's set and its Content-Security-
 * Policy. Rules that match one path are merged, so no header appears in two rules.
 */
const { API_SECURITY_HEADERS, DOCUMENT_SECURITY_HEADERS, APP_CONTENT_SECURITY_POLICY } = await securityHeaderValues();
const FRAMING = "X-Frame-Options";
const HEADERS = `/*
${headerLines(API_SECURITY_HEADERS.filter((/** @type {[string, string]} */ [name]) => name !== FRAMING))}/app/*
  ${FRAMING}: DENY
  Content-Security-Policy: ${APP_CONTENT_SECURITY_POLICY}
${headerLines(Object.entries(DOCUMENT_SECURITY_HEADERS))}`;

/**
 * Source maps would publish the app's source: by default they go to dist/sourcemaps/ (for
 * reading a stack trace), outside the served directory. PUBLIC_SOURCE_MAPS=1 at build time
 * serves them next to the bundle, linked from it.
 */
const PUBLIC_SOURCE_MAPS = ["1", "true"].includes(process.env.PUBLIC_SOURCE_MAPS ?? "");
const PRIVATE_MAPS_OUT = join(ROOT, "dist/sourcemaps/app");

/** @type {esbuild.BuildOptions} */
const APP_BUILD = {
  entryPoints: [join(WEB, "main.ts")],
  outfile: join(APP_OUT, "app.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: PUBLIC_SOURCE_MAPS ? "linked" : "external",
  legalComments: "none",
  logLevel: "warning",
};

rmSync(APP_OUT, { recursive: true, force: true });
mkdirSync(APP_OUT, { recursive: true });
copyFileSync(join(WEB, "index.html"), join(APP_OUT, "index.html"));
copyFileSync(join(WEB, "app.css"), join(APP_OUT, "app.css"));
writeFileSync(join(OUT, "_headers"), HEADERS);

await esbuild.build(APP_BUILD);
if (!PUBLIC_SOURCE_MAPS) {
  rmSync(PRIVATE_MAPS_OUT, { recursive: true, force: true });
  mkdirSync(PRIVATE_MAPS_OUT, { recursive: true });
  renameSync(join(APP_OUT, "app.js.map"), join(PRIVATE_MAPS_OUT, "app.js.map"));
}
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
  ${FRAMING}: SAMEORIGIN
  Cache-Control: public, max-age=3600
`,
);
console.log("build-assets: dist/assets/docs written");
