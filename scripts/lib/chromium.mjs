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
