/**
 * Debian's Chromium for the browser tests, driven by playwright-core (whose
 * own browser download cannot work here). Missing, the browser tests skip;
 * CI sets MEETTIME_REQUIRE_BROWSER=1 so a missing browser fails instead.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";

export const browserAvailable = existsSync(CHROMIUM);
if (!browserAvailable && process.env.MEETTIME_REQUIRE_BROWSER === "1") {
  throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
}

/** Headless, with fake camera and microphone granted without a prompt. */
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
    ],
  });
}
