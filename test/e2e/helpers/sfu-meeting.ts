/**
 * The SFU media path for the end-to-end tests: a `wrangler dev` of its own
 * whose meetings are `sfu`, with its own local SFU started as `npm run dev`
 * starts it (scripts/lib/sfu-stack.mjs), on ports no other suite uses;
 * Chromium as a person has it, with no WebRTC flags, where the namespace
 * has a LAN address (scripts/netns-run.mjs; always under CI), and with the
 * loopback flags where it has only loopback; and a camera kept small
 * (160x120 at 10 fps) so many pages fit on two cores.
 */
import type { Browser, BrowserContext } from "playwright-core";
import { type SfuMeetingServer, startSfuMeetingServer } from "../../../scripts/lib/sfu-stack.mjs";
import { CHROMIUM_LOOPBACK_FLAGS } from "../../../sfu/loopback.mjs";
import { launchChromium } from "./chromium";

/** The browsers are stock ones when the namespace has an address a browser gathers on. */
export const stockBrowsers = Boolean(process.env.MEETTIME_TEST_LAN_ADDRESS);

const PORTS = { httpPorts: [8500, 8549], inspectorPorts: [9000, 9049], sfuPorts: [8400, 8449] } as const;

/** `wrangler dev` (sfu meetings) with its local SFU; `vars` are added to the Worker's. */
export function startSfuTestServer(vars: Record<string, string> = {}): Promise<SfuMeetingServer> {
  return startSfuMeetingServer({
    ...PORTS,
    peers: "machine",
    vars: {
      JWT_SECRET: `sfu-e2e-${crypto.randomUUID()}-${crypto.randomUUID()}`,
      RATE_LIMIT_MAX_REQUESTS: "1000000",
      LOG_LEVEL: "warn",
      ...vars,
    },
  });
}

export function launchSfuChromium(): Promise<Browser> {
  return stockBrowsers ? launchChromium([], { loopbackIce: false }) : launchChromium([...CHROMIUM_LOOPBACK_FLAGS]);
}

/**
 * Every `getUserMedia` of the context's pages asks for a 160x120 camera at
 * 10 fps, whatever the page asked: the app's own constraints stay as they
 * are, and eight fake cameras cost little.
 */
export async function useSmallCamera(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const devices = navigator.mediaDevices;
    const getUserMedia = devices.getUserMedia.bind(devices);
    devices.getUserMedia = (constraints?: MediaStreamConstraints) =>
      getUserMedia({
        ...constraints,
        ...(constraints?.video ? { video: { width: 160, height: 120, frameRate: 10 } } : {}),
      });
  });
}
