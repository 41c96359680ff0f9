/**
 * `SfuCall` in real headless Chromium, through the meeting's `/media/*`
 * routes on a `wrangler dev` of its own and the local SFU: the SDK bundled
 * into a bare page, each tab a participant. `createCall` picks `SfuCall` for
 * an `sfu` meeting; three tabs publish and pull each other's camera and
 * microphone; narrowing the video to one participant closes the other video
 * (a renegotiation) and keeps its audio; a shared screen replaces the
 * camera on the same track and comes back off it; a call that stops is withdrawn for
 * everyone; a tab whose socket is cut has its tracks withdrawn by the server
 * and publishes again on a new session after it reconnects.
 *
 * Needs Debian's chromium, like browser-call.test.ts.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SfuMeetingServer } from "../../scripts/lib/sfu-stack.mjs";
import { MeetTime } from "../../src/client";
import { browserAvailable, sdkBundleForBrowser, serveTestPages, type TestPages } from "./helpers/chromium";
import { inAnHour } from "./helpers/client-helpers";
import { launchSfuChromium, startSfuTestServer, useSmallCamera } from "./helpers/sfu-meeting";

const WAIT_MS = 30_000;

/** The page: the bundled SDK; `start()` joins, creates the call and mirrors its events into `window.callState`. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>SfuCall</title><body><script type="module">
import { MeetTime, SfuCall, createCall } from "/sdk.js";
window.callState = { kind: null, left: [], errors: [], states: [] };
// Sockets opened by the SDK, so the test can cut one.
const NativeWebSocket = window.WebSocket;
window.sockets = [];
window.WebSocket = class extends NativeWebSocket {
  constructor(url, protocols) { super(url, protocols); window.sockets.push(this); }
};
window.start = async ({ baseUrl, meetingId, token }) => {
  const conn = new MeetTime({ baseUrl }).connect(meetingId, token, { backoff: { initialMs: 100, maxMs: 500 } });
  const call = await createCall(conn);
  const state = window.callState;
  state.kind = call instanceof SfuCall ? "sfu" : "mesh";
  call.on("stream", ({ participantId, stream }) => {
    let video = document.getElementById("v-" + participantId);
    if (!video) {
      video = Object.assign(document.createElement("video"), { id: "v-" + participantId, muted: true, autoplay: true, playsInline: true });
      document.body.append(video);
    }
    if (video.srcObject !== stream) video.srcObject = stream;
  });
  call.on("peer-left", ({ participantId }) => {
    state.left.push(participantId);
    document.getElementById("v-" + participantId)?.remove();
  });
  call.on("connection-state", ({ state: s }) => state.states.push(s));
  call.on("error", ({ error }) => state.errors.push(String(error)));
  window.conn = conn;
  window.call = call;
  await call.start();
};
</script>`;

/** Waits until `page` plays advancing video, and holds a live audio track, for each of `participantIds`. */
async function seesAndHears(page: Page, participantIds: string[]) {
  await page
    .waitForFunction(
      (ids) =>
        ids.every((id) => {
          const video = document.getElementById(`v-${id}`) as HTMLVideoElement | null;
          const stream = video?.srcObject as MediaStream | null | undefined;
          return (
            video !== null &&
            video.videoWidth > 0 &&
            video.currentTime > 0.3 &&
            stream?.getAudioTracks().some((track) => track.readyState === "live")
          );
        }),
      participantIds,
      { timeout: WAIT_MS },
    )
    .catch(async (error) => {
      const seen = await page.evaluate(() =>
        [...document.querySelectorAll("video")].map((v) => {
          const stream = v.srcObject as MediaStream | null;
          return `${v.id}: ${v.videoWidth}x${v.videoHeight} t=${v.currentTime.toFixed(1)} tracks=${stream?.getTracks().map((t) => `${t.kind}:${t.readyState}`)}`;
        }),
      );
      const state = await page.evaluate(() => (window as any).callState);
      throw new Error(`expected ${participantIds.join(", ")}; page has ${seen.join("; ")}; ${JSON.stringify(state)}`, {
        cause: error,
      });
    });
  // Time advances on each of them from here on: the video is live, not a frozen first frame.
  const times = await page.evaluate(
    (ids) => ids.map((id) => (document.getElementById(`v-${id}`) as HTMLVideoElement).currentTime),
    participantIds,
  );
  await page.waitForFunction(
    ([ids, before]) =>
      ids.every((id, i) => (document.getElementById(`v-${id}`) as HTMLVideoElement | null)!.currentTime > before[i]!),
    [participantIds, times] as const,
    { timeout: WAIT_MS },
  );
}

/** The kinds of the tracks `page` receives from `participantId`, sorted. */
const receivedKinds = (page: Page, participantId: string) =>
  page.evaluate((id) => {
    const stream = (window as any).call.remoteStreams.get(id) as MediaStream | undefined;
    return (stream?.getTracks() ?? []).map((track) => track.kind).sort();
  }, participantId);

describe.skipIf(!browserAvailable)("SfuCall in Chromium through the local SFU", () => {
  let server: SfuMeetingServer;
  let browser: Browser;
  let testPages: TestPages;
  let mt: MeetTime;

  beforeAll(async () => {
    testPages = await serveTestPages({
      "/sdk.js": { type: "text/javascript", body: await sdkBundleForBrowser() },
      "/": { type: "text/html", body: PAGE },
    });
    // The page calls the media routes from its own origin.
    server = await startSfuTestServer({ CORS_ORIGINS: testPages.origin });
    mt = new MeetTime({ baseUrl: server.baseUrl });
    browser = await launchSfuChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    testPages?.close();
    await server?.stop();
  });

  async function meetingInTabs(guests: string[]) {
    const created = await mt.createMeeting({ title: "SFU", hostName: "Ada", scheduledAt: inAnHour() });
    expect(created.media).toEqual({ mode: "sfu" });
    const meetingId = created.meeting.id;
    const { tokens } = await mt.mintInvites(meetingId, created.hostToken, { count: guests.length });
    const seats = [{ id: created.participant.id, token: created.hostToken }];
    for (const [i, name] of guests.entries()) {
      const joined = await mt.join(tokens[i]!.token, name);
      seats.push({ id: joined.participant.id, token: joined.sessionToken });
    }
    const context: BrowserContext = await browser.newContext();
    await useSmallCamera(context);
    const pages: Page[] = [];
    for (const seat of seats) {
      const page = await context.newPage();
      await page.goto(testPages.origin);
      await page.evaluate((args) => (window as any).start(args), {
        baseUrl: server.baseUrl,
        meetingId,
        token: seat.token,
      });
      pages.push(page);
    }
    return { context, pages, ids: seats.map((s) => s.id), meetingId, hostToken: created.hostToken };
  }

  it("publishes and pulls; narrowing the video renegotiates; a screen share shows and ends; a stopped call is withdrawn; a cut socket republishes", async () => {
    const { context, pages, ids, meetingId, hostToken } = await meetingInTabs(["Grace", "Linus"]);
    const [host, grace, linus] = pages as [Page, Page, Page];
    const [hostId, graceId, linusId] = ids as [string, string, string];

    for (const page of pages) expect((await page.evaluate(() => (window as any).callState)).kind).toBe("sfu");
    await Promise.all([
      seesAndHears(host, [graceId, linusId]),
      seesAndHears(grace, [hostId, linusId]),
      seesAndHears(linus, [hostId, graceId]),
    ]);
    // One connection to the SFU per tab, bundled.
    for (const page of pages) {
      const config = await page.evaluate(() => (window as any).call.peerConnection.getConfiguration().bundlePolicy);
      expect(config).toBe("max-bundle");
    }

    // The host narrows its video to Grace: Linus's video is closed, his audio stays.
    await host.evaluate((id) => (window as any).call.setVideoFrom([id]), graceId);
    await host.waitForFunction(
      (id) => {
        const stream = (window as any).call.remoteStreams.get(id) as MediaStream | undefined;
        return stream !== undefined && stream.getVideoTracks().length === 0;
      },
      linusId,
      { timeout: WAIT_MS },
    );
    expect(await receivedKinds(host, linusId)).toEqual(["audio"]);
    expect(await receivedKinds(host, graceId)).toEqual(["audio", "video"]);
    // And back: Linus's video is pulled again and plays.
    await host.evaluate(() => (window as any).call.setVideoFrom(null));
    await seesAndHears(host, [graceId, linusId]);

    // Grace shares her screen (Chromium's fake 1280x720 one): the host's tile of her shows it, and her
    // state says so; she stops, and her 160x120 camera comes back on the same track.
    const hostSeesGrace = (screen: boolean) =>
      host.waitForFunction(
        ({ id, screen }) => {
          const video = document.getElementById(`v-${id}`) as HTMLVideoElement | null;
          const state = (window as any).conn.participants.find((p: { id: string }) => p.id === id)?.state;
          return !!video && (screen ? video.videoWidth === 1280 : video.videoWidth === 160) && state?.screen === screen;
        },
        { id: graceId, screen },
        { timeout: WAIT_MS },
      );
    await grace.evaluate(() => (window as any).call.startScreenShare());
    expect(await grace.evaluate(() => (window as any).call.screenSharing)).toBe(true);
    await hostSeesGrace(true);
    await grace.evaluate(() => (window as any).call.stopScreenShare());
    expect(await grace.evaluate(() => (window as any).call.screenSharing)).toBe(false);
    await hostSeesGrace(false);

    // Linus hangs up: everyone else is told, and the server lists nothing of his.
    await linus.evaluate(() => (window as any).call.stop());
    for (const page of [host, grace]) {
      await page.waitForFunction((id) => (window as any).callState.left.includes(id), linusId, { timeout: WAIT_MS });
      expect(await page.evaluate((id) => (window as any).conn.media.tracks[id], linusId)).toBeUndefined();
    }

    // Grace's socket is cut (no close frame reaches the SDK first): the server withdraws her tracks,
    // the others let her tile go; she reconnects, publishes on a new session, and everyone sees her again.
    await grace.evaluate(() => {
      const sockets = (window as any).sockets as WebSocket[];
      sockets.at(-1)?.close(3000);
    });
    await host.waitForFunction((id) => (window as any).callState.left.includes(id), graceId, { timeout: WAIT_MS });
    await seesAndHears(host, [graceId]);
    await seesAndHears(grace, [hostId]);
    const { meeting } = await mt.getMeeting(meetingId, hostToken);
    expect(meeting.participants.find((p) => p.id === graceId)?.connected).toBe(true);

    for (const page of [host, grace]) expect((await page.evaluate(() => (window as any).callState)).errors).toEqual([]);
    await context.close();
  }, 150_000);
});
