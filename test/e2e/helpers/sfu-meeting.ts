/**
 * The SFU media path for the end-to-end tests: a `wrangler dev` of its own
 * whose meetings are `sfu`, with its own local SFU started as `npm run dev`
 * starts it (scripts/lib/sfu-stack.mjs), on ports no other suite uses;
 * Chromium as a person has it, with no WebRTC flags, where the namespace
 * has a LAN address (scripts/netns-run.mjs; always under CI), and with the
 * loopback flags where it has only loopback; a camera kept small (160x120
 * at 10 fps) so many pages fit on two cores; the pages' peer connections
 * within a test's reach; and people without a browser
 * (`joinWithSilentMicrophone`) to fill a meeting.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { RTCPeerConnection } from "werift";
import WebSocket from "ws";
import { type SfuMeetingServer, startSfuMeetingServer } from "../../../scripts/lib/sfu-stack.mjs";
import { loopbackPeerConfig } from "../../../sfu/loopback.mjs";
import { type MeetingConnection, MeetTime, type WebSocketConstructor } from "../../../src/client";

export {
  launchChromiumForLocalSfu as launchSfuChromium,
  localSfuBrowsers,
} from "../../../scripts/lib/chromium.mjs";

/** How long a page of a busy SFU meeting may take to load (Playwright's default is 30 s). */
const NAVIGATION_TIMEOUT_MS = 90_000;

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

/**
 * A person's page in a context of its own (1280x900, en-GB) with the small
 * camera: its uncaught errors go to `pageErrors`, its console is printed
 * under MEETTIME_DEBUG=1, and with `recordConnections` (always under
 * MEETTIME_DEBUG=1) its peer connections are kept (`recordPeerConnections`).
 */
export async function sfuPersonPage(
  browser: Browser,
  name: string,
  pageErrors: string[],
  { recordConnections = false } = {},
): Promise<Page> {
  const debug = process.env.MEETTIME_DEBUG === "1";
  const context = await browser.newContext({ locale: "en-GB", viewport: { width: 1280, height: 900 } });
  // Loading or reloading the app while eight pages and the SFU share two cores can take longer than 30 s.
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  await useSmallCamera(context);
  if (recordConnections || debug) await recordPeerConnections(context);
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(`${name}: ${error.message}`));
  page.on("console", (message) => {
    if (debug) console.log(`[${name}] ${message.type()}: ${message.text()}`);
  });
  return page;
}

/**
 * Keeps every `RTCPeerConnection` the context's pages open in
 * `window.peerConnections`, so a test can read their `getStats()` and
 * transceivers.
 */
export async function recordPeerConnections(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    (window as any).peerConnections = [];
    window.RTCPeerConnection = class extends Native {
      constructor(config?: RTCConfiguration) {
        super(config);
        (window as any).peerConnections.push(this);
      }
    };
  });
}

/** A person in an SFU meeting with no browser: listed, online, and publishing a microphone. */
export interface SilentParticipant {
  id: string;
  name: string;
  connection: MeetingConnection;
}

/**
 * Joins `name` with an invite, connects from Node (the SDK's socket, which
 * pings, so the person stays online), says the camera is off, and
 * publishes one microphone whose connection to the SFU never comes up:
 * everyone's grid counts it and pulls its audio, and it costs the machine
 * nothing but an SFU session.
 */
export async function joinWithSilentMicrophone(
  baseUrl: string,
  inviteToken: string,
  name: string,
): Promise<SilentParticipant> {
  const mt = new MeetTime({ baseUrl, WebSocket: WebSocket as unknown as WebSocketConstructor });
  const joined = await mt.join(inviteToken, name);
  const meetingId = joined.meeting.id;
  const connection = mt.connect(meetingId, joined.sessionToken);
  await connection.ready;
  await connection.updateState({ video: false });
  // A real offer (werift's), never answered: nothing is gathered or sent.
  const peer = new RTCPeerConnection(loopbackPeerConfig({ iceLite: false }));
  peer.addTransceiver("audio", { direction: "sendonly" });
  const offer = await peer.createOffer();
  await peer.close();
  await mt.openMediaSession(meetingId, joined.sessionToken);
  const answer = await mt.addMediaTracks(meetingId, joined.sessionToken, {
    sessionDescription: { type: "offer", sdp: offer.sdp },
    tracks: [{ location: "local", mid: "0", trackName: "microphone", kind: "audio" }],
  });
  const refused = answer.tracks.find((track) => track.errorCode);
  if (refused) throw new Error(`the SFU refused ${name}'s microphone: ${JSON.stringify(refused)}`);
  return { id: joined.participant.id, name, connection };
}
