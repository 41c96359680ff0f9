/**
 * Debian's Chromium for the browser tests, driven by playwright-core (whose
 * own browser download cannot work here). Missing, the browser tests skip;
 * CI sets MEETTIME_REQUIRE_BROWSER=1 so a missing browser fails instead.
 */
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { CHROMIUM_PATH as CHROMIUM, launchChromium } from "../../../scripts/lib/chromium.mjs";

export const browserAvailable = existsSync(CHROMIUM);
if (!browserAvailable && process.env.MEETTIME_REQUIRE_BROWSER === "1") {
  throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
}

export { launchChromium };

/** The SDK (`src/client`) bundled as one ES module, for a test page to import as `/sdk.js`. */
export async function sdkBundleForBrowser(): Promise<string> {
  const bundle = await build({
    entryPoints: [new URL("../../../src/client/index.ts", import.meta.url).pathname],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
  });
  return bundle.outputFiles[0]!.text;
}

/** A test page served from 127.0.0.1 (a secure context, so getUserMedia is allowed). */
export interface TestPages {
  origin: string;
  close(): void;
}

/** Serves `pages` by path (`"/"` answers any path not listed), each with its content type. */
export async function serveTestPages(
  pages: Record<string, { type: string; body: string | Buffer }>,
): Promise<TestPages> {
  const server = createServer((req, res) => {
    const page = pages[req.url ?? "/"] ?? pages["/"];
    if (!page) res.writeHead(404).end();
    else res.writeHead(200, { "content-type": page.type }).end(page.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}
