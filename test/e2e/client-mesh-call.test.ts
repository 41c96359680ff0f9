/**
 * `MeshCall` in real headless Chromium (fake camera and microphone): the
 * SDK bundled by esbuild into a bare page, each tab a participant against
 * `wrangler dev`. Three people see each other's video over a full mesh;
 * mute reaches everyone as participant state; a peer who leaves is
 * reported; beyond `maxPeers` the participant left out is told so and
 * nobody connects to it; a call forced through the suite's coturn
 * (`iceTransportPolicy: "relay"`) works with MeetTime's TURN credentials.
 * (The web app's own browser test covers the UI.)
 *
 * Needs Debian's chromium, like browser-call.test.ts.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { CallCapacity, MeetTime as MeetTimeClass, ParticipantData } from "../../src/client";
import {
  browserAvailable,
  launchChromium,
  sdkBundleForBrowser,
  serveTestPages,
  type TestPages,
} from "./helpers/chromium";
import { baseUrl } from "./helpers/client";
import { inAnHour, sdk } from "./helpers/client-helpers";

const WAIT_MS = 45_000;

/** What the page keeps for the test to read. */
interface PageCall {
  capacity: CallCapacity | null;
  peerStates: Record<string, string>;
  left: string[];
  errors: string[];
}

/** The page: the bundled SDK, and `start()` that joins the call and mirrors its events into `window.callState`. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>MeshCall</title><body><script type="module">
import { MeetTime, MeshCall } from "/sdk.js";
window.callState = { capacity: null, peerStates: {}, left: [], errors: [] };
window.start = async ({ baseUrl, meetingId, token, maxPeers, iceServers = [], iceTransportPolicy, cameraDelayMs = 0 }) => {
  // A slow camera: the others hear of this participant (and may send offers) before its call listens.
  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    await new Promise((resolve) => setTimeout(resolve, cameraDelayMs));
    return getUserMedia(constraints);
  };
  const conn = new MeetTime({ baseUrl }).connect(meetingId, token, { iceServers });
  const call = new MeshCall(conn, { maxPeers, iceTransportPolicy });
  const state = window.callState;
  call.on("stream", ({ participantId, stream }) => {
    let video = document.getElementById("v-" + participantId);
    if (!video) {
      video = Object.assign(document.createElement("video"), { id: "v-" + participantId, muted: true, autoplay: true, playsInline: true });
      document.body.append(video);
    }
    video.srcObject = stream;
  });
  call.on("connection-state", ({ participantId, state: s }) => (state.peerStates[participantId] = s));
  call.on("peer-left", ({ participantId }) => {
    state.left.push(participantId);
    document.getElementById("v-" + participantId)?.remove();
  });
  call.on("capacity", (c) => (state.capacity = c));
  call.on("error", ({ error }) => state.errors.push(String(error)));
  window.conn = conn;
  window.call = call;
  await call.start();
};
</script>`;

const callState = (page: Page) => page.evaluate(() => (window as unknown as { callState: PageCall }).callState);

/** Waits until `page` plays a video with frames for each of `participantIds`. */
async function playsVideosOf(page: Page, participantIds: string[]) {
  await page.waitForFunction(
    (ids) =>
      ids.every((id) => {
        const video = document.getElementById(`v-${id}`) as HTMLVideoElement | null;
        return video !== null && video.videoWidth > 0 && video.readyState >= 2 && video.currentTime > 0;
      }),
    participantIds,
    { timeout: WAIT_MS },
  );
}

describe.skipIf(!browserAvailable)("MeshCall in Chromium", () => {
  let browser: Browser;
  let testPages: TestPages;

  beforeAll(async () => {
    const sdkJs = await sdkBundleForBrowser();
    // Served from 127.0.0.1, a secure context, so getUserMedia is allowed; the page talks to the
    // server only over WebSocket (no CORS), with the ICE servers handed in.
    testPages = await serveTestPages({
      "/sdk.js": { type: "text/javascript", body: sdkJs },
      "/": { type: "text/html", body: PAGE },
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    testPages?.close();
  });

  /**
   * A meeting whose host and `guests` each have a tab in the call. With `relay`, each tab uses the
   * ICE servers MeetTime gave its participant (the suite's coturn) and may only use relayed paths.
   */
  async function meetingInTabs(
    mt: MeetTimeClass,
    guests: string[],
    options: { maxPeers?: number; relay?: boolean; cameraDelayMs?: number } = {},
  ) {
    const created = await mt.createMeeting({ title: "Mesh", hostName: "Ada", scheduledAt: inAnHour() });
    const meetingId = created.meeting.id;
    const { tokens } = await mt.mintInvites(meetingId, created.hostToken, { count: guests.length });
    const seats = [{ id: created.participant.id, token: created.hostToken, iceServers: created.iceServers }];
    for (const [i, name] of guests.entries()) {
      const joined = await mt.join(tokens[i]!.token, name);
      seats.push({ id: joined.participant.id, token: joined.sessionToken, iceServers: joined.iceServers });
    }
    const context = await browser.newContext();
    const pages: Page[] = [];
    for (const seat of seats) {
      const page = await context.newPage();
      await page.goto(testPages.origin);
      await page.evaluate((args) => (window as any).start(args), {
        baseUrl: baseUrl(),
        meetingId,
        token: seat.token,
        maxPeers: options.maxPeers,
        cameraDelayMs: options.cameraDelayMs,
        // Without relay, no servers: STUN on the internet is out of reach here, and host candidates do.
        ...(options.relay ? { iceServers: seat.iceServers, iceTransportPolicy: "relay" } : {}),
      });
      pages.push(page);
    }
    return { context, pages, ids: seats.map((s) => s.id), meetingId, hostToken: created.hostToken };
  }

  it("three tabs with slow cameras see each other's video; mute and a screen share reach everyone; a leaving peer is reported", async () => {
    const { mt } = sdk();
    const { context, pages, ids } = await meetingInTabs(mt, ["Grace", "Linus"], { cameraDelayMs: 1_000 });
    const [host, grace, linus] = pages as [Page, Page, Page];
    const [hostId, graceId, linusId] = ids as [string, string, string];

    await Promise.all([
      playsVideosOf(host, [graceId, linusId]),
      playsVideosOf(grace, [hostId, linusId]),
      playsVideosOf(linus, [hostId, graceId]),
    ]);
    for (const [page, others] of [
      [host, [graceId, linusId]],
      [grace, [hostId, linusId]],
      [linus, [hostId, graceId]],
    ] as const) {
      const state = await callState(page);
      for (const id of others) expect(state.peerStates[id]).toBe("connected");
      expect(state.errors).toEqual([]);
      expect(state.capacity).toMatchObject({ over: false, selfInCall: true, waiting: [] });
    }

    // Muting shows in everyone's participant list.
    await grace.evaluate(() => (window as any).call.setAudioEnabled(false));
    await host.waitForFunction(
      (id) => (window as any).conn.participants.find((p: ParticipantData) => p.id === id)?.state.audio === false,
      graceId,
      { timeout: WAIT_MS },
    );

    // Grace shares her screen (Chromium's fake 1280x720 one) on the same connections, then stops.
    const hostSeesGrace = (screen: boolean) =>
      host.waitForFunction(
        ({ id, screen }) => {
          const width = (document.getElementById(`v-${id}`) as HTMLVideoElement | null)?.videoWidth;
          const state = (window as any).conn.participants.find((p: ParticipantData) => p.id === id)?.state;
          return state?.screen === screen && (width === 1280) === screen && width !== 0;
        },
        { id: graceId, screen },
        { timeout: WAIT_MS },
      );
    await grace.evaluate(() => (window as any).call.startScreenShare());
    await hostSeesGrace(true);
    await grace.evaluate(() => (window as any).call.stopScreenShare());
    await hostSeesGrace(false);

    await linus.evaluate(() => (window as any).conn.close());
    await host.waitForFunction((id) => (window as any).callState.left.includes(id), linusId, { timeout: WAIT_MS });
    await grace.waitForFunction((id) => (window as any).callState.left.includes(id), linusId, { timeout: WAIT_MS });
    expect((await callState(host)).peerStates[graceId]).toBe("connected");
    await context.close();
  }, 120_000);

  it("beyond maxPeers the participant left out is told, and nobody connects to it", async () => {
    const { mt } = sdk();
    const { context, pages, ids, meetingId, hostToken } = await meetingInTabs(mt, ["Grace", "Linus"], { maxPeers: 1 });
    // The call holds the first maxPeers + 1 by join time (ties by id), whoever that is.
    const { meeting } = await mt.getMeeting(meetingId, hostToken);
    const order = [...meeting.participants]
      .sort((a, b) => a.joinedAt.localeCompare(b.joinedAt) || a.id.localeCompare(b.id))
      .map((p) => p.id);
    const [firstId, secondId, outId] = order as [string, string, string];
    const pageOf = (id: string) => pages[ids.indexOf(id)]!;

    await Promise.all([playsVideosOf(pageOf(firstId), [secondId]), playsVideosOf(pageOf(secondId), [firstId])]);
    const out = pageOf(outId);
    await out.waitForFunction(() => (window as any).callState.capacity?.over === true, null, { timeout: WAIT_MS });
    expect((await callState(out)).capacity).toEqual({
      maxPeers: 1,
      over: true,
      selfInCall: false,
      inCall: [firstId, secondId],
      waiting: [outId],
    });
    const first = await callState(pageOf(firstId));
    expect(first.capacity).toMatchObject({ over: true, selfInCall: true, waiting: [outId] });
    expect(Object.keys(first.peerStates)).toEqual([secondId]);
    expect((await callState(out)).peerStates).toEqual({});
    await context.close();
  }, 120_000);

  it.skipIf(!inject("turn"))(
    "a call forced through TURN (iceTransportPolicy relay) works with the credentials MeetTime hands out",
    async () => {
      const { mt } = sdk();
      const { context, pages, ids } = await meetingInTabs(mt, ["Grace"], { relay: true });
      const [host, grace] = pages as [Page, Page];
      const [hostId, graceId] = ids as [string, string];
      await Promise.all([playsVideosOf(host, [graceId]), playsVideosOf(grace, [hostId])]);
      // The transport's selected pair, not a "nominated" one: only the controlling ICE agent marks
      // pairs nominated, and which side controls depends on who offered first.
      const selectedLocalType = () =>
        host.evaluate(async (peerId) => {
          const stats = [...(await (window as any).call.peerConnections.get(peerId).getStats()).values()];
          const transport = stats.find((s) => s.type === "transport" && s.selectedCandidatePairId);
          const pair = stats.find((s) => s.id === transport?.selectedCandidatePairId);
          return stats.find((s) => s.id === pair?.localCandidateId)?.candidateType as string | undefined;
        }, graceId);
      await expect.poll(selectedLocalType, { timeout: WAIT_MS }).toBe("relay");
      expect((await callState(host)).errors).toEqual([]);
      await context.close();
    },
    120_000,
  );
});
