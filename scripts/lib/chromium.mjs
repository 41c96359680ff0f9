// @ts-check
/**
 * Launches Debian's Chromium through playwright-core (whose own browser
 * download cannot work here): headless, with a fake camera and microphone
 * granted without a prompt. Shared by the browser tests and the benchmarks.
 */
import { chromium } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * @param {readonly string[]} [extraArgs] added to the flags
 * @param {{ loopbackIce?: boolean }} [options] loopbackIce [true]: allow ICE over 127.0.0.1; false
 *   leaves WebRTC as in a person's browser (then it needs a network address, as a LAN's)
 * @returns {Promise<import("playwright-core").Browser>}
 */
export function launchChromium(extraArgs = [], { loopbackIce = true } = {}) {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      // ICE over 127.0.0.1: in a loopback-only namespace there is no other address.
      ...(loopbackIce ? ["--allow-loopback-in-peer-connection"] : []),
      ...extraArgs,
    ],
  });
}

/**
 * Chromium flags for a browser client of the local SFU on a machine whose
 * only address is loopback (a bare network namespace): offer a loopback
 * candidate, and real addresses rather than mDNS `.local` names. A browser
 * on a machine with a network address needs neither.
 */
export const CHROMIUM_LOOPBACK_FLAGS = Object.freeze([
  "--allow-loopback-in-peer-connection",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
]);

/** Browsers are stock ones (no WebRTC flags) where the namespace has a LAN address to gather on (scripts/netns-run.mjs). */
export const stockBrowsers = Boolean(process.env.MEETTIME_TEST_LAN_ADDRESS);

/** Which browsers `launchChromiumForLocalSfu` starts, for test names and benchmark output. */
export const localSfuBrowsers = stockBrowsers ? "browsers with no WebRTC flags" : "browsers with loopback flags";

/**
 * Chromium for pages that reach the local SFU (started with `peers: "machine"`): as a person has it
 * where the namespace has a LAN address, with the loopback flags where it has only loopback.
 * @returns {Promise<import("playwright-core").Browser>}
 */
export function launchChromiumForLocalSfu() {
  return stockBrowsers ? launchChromium([], { loopbackIce: false }) : launchChromium(CHROMIUM_LOOPBACK_FLAGS);
}
