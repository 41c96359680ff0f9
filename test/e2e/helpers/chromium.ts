/**
 * Debian's Chromium for the browser tests, driven by playwright-core (whose
 * own browser download cannot work here). Missing, the browser tests skip;
 * CI sets MEETTIME_REQUIRE_BROWSER=1 so a missing browser fails instead.
 */
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, chromium } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";

export const browserAvailable = existsSync(CHROMIUM);
if (!browserAvailable && process.env.MEETTIME_REQUIRE_BROWSER === "1") {
  throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
}

/** Headless, with fake camera and microphone granted without a prompt, and peer connections over loopback. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      // ICE over 127.0.0.1: in the suite's loopback-only namespace (scripts/netns-run.mjs) there is no other address.
      "--allow-loopback-in-peer-connection",
    ],
  });
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
