/**
 * Headless Chromium through the local SFU, the way MeetTime's pages will
 * use it: two pages publish their (fake) camera and microphone on one peer
 * connection each and pull the other's, and each shows moving video and
 * receives audio, while the SFU sends nothing off loopback. The pages
 * reach the Connection API through the test (as they will through the
 * worker).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CHROMIUM_LOOPBACK_FLAGS } from "../../scripts/lib/chromium.mjs";
import { publishCameraInPage, pullTracksInPage } from "../../scripts/lib/sfu-page.mjs";
import { type LocalSfu, startLocalSfu } from "../../sfu/server.mjs";
import { browserAvailable, launchChromium, serveTestPages, type TestPages } from "../e2e/helpers/chromium";
import { callSfu, recordUdpDestinations, TEST_APP_ID, TEST_APP_SECRET } from "./helpers/sfu-client";

type Browser = Awaited<ReturnType<typeof launchChromium>>;

describe.skipIf(!browserAvailable)("local SFU with Chromium", () => {
  let sfu: LocalSfu;
  let browser: Browser;
  let pages: TestPages;

  /** Where the SFU sent UDP datagrams (Chromium's own sends are not in this process). */
  let destinations: Set<string>;

  beforeAll(async () => {
    destinations = recordUdpDestinations();
    sfu = await startLocalSfu({ port: 0, appId: TEST_APP_ID, appSecret: TEST_APP_SECRET });
    browser = await launchChromium(CHROMIUM_LOOPBACK_FLAGS);
    pages = await serveTestPages({ "/": { type: "text/html", body: "<!doctype html><title>sfu</title>" } });
  });
  afterAll(async () => {
    await browser?.close();
    pages?.close();
    await sfu?.close();
    vi.restoreAllMocks();
  });

  async function openPage() {
    const page = await browser.newPage();
    await page.exposeFunction("callSfu", (method: string, path: string, body?: unknown) =>
      callSfu(sfu.url, method, path, body),
    );
    await page.goto(pages.origin);
    return page;
  }

  /** Resolves once `page` plays `trackName`'s video (frames decoded, time advancing) and receives audio. */
  async function seesAndHears(page: Awaited<ReturnType<typeof openPage>>, trackName: string) {
    await page.waitForFunction(
      (name) => {
        const video = document.querySelector<HTMLVideoElement>(`video[data-track="${name}"]`);
        return !!video && video.videoWidth > 0 && video.currentTime > 0.5;
      },
      trackName,
      { timeout: 20_000 },
    );
    const audioPackets = await page.waitForFunction(
      async () => {
        const stats = await ((window as any).peer as RTCPeerConnection).getStats();
        for (const report of stats.values()) {
          if (report.type === "inbound-rtp" && report.kind === "audio" && report.packetsReceived > 10) {
            return report.packetsReceived;
          }
        }
        return false;
      },
      undefined,
      { timeout: 20_000 },
    );
    expect(await audioPackets.jsonValue()).toBeGreaterThan(10);
  }

  it("carries two pages' cameras and microphones to each other", { timeout: 60_000 }, async () => {
    const people = await Promise.all(
      ["alice", "bob"].map(async (prefix) => {
        const page = await openPage();
        const sessionId = (await callSfu(sfu.url, "POST", "sessions/new")).body.sessionId as string;
        const tracks = await page.evaluate(publishCameraInPage, { sessionId, prefix });
        return { prefix, page, sessionId, tracks };
      }),
    );
    for (const { prefix, tracks } of people) {
      expect(tracks.map((track) => [track.trackName, track.errorCode])).toEqual([
        [`${prefix}-audio`, undefined],
        [`${prefix}-video`, undefined],
      ]);
    }
    const [alice, bob] = people as [(typeof people)[number], (typeof people)[number]];
    for (const [viewer, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      await viewer.page.evaluate(pullTracksInPage, {
        sessionId: viewer.sessionId,
        tracks: other.tracks.map((track) => ({ sessionId: other.sessionId, trackName: track.trackName })),
      });
    }
    await seesAndHears(alice.page, "bob-video");
    await seesAndHears(bob.page, "alice-video");
    // Chromium also checks from its LAN address: the SFU must have refused to answer there.
    expect([...destinations].filter((address) => !address.startsWith("127."))).toEqual([]);
  });
});
