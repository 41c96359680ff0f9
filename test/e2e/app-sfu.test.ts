/**
 * A meeting larger than the mesh holds, in the web app at /app/, through
 * the SFU: a `wrangler dev` of its own whose meetings are `sfu`, with its
 * own local SFU, and one headless Chromium with a context per person (fake
 * 160x120 cameras at 10 fps). The host creates the meeting in the form;
 * seven guests open invite links and join. Every page shows the other seven
 * people's video playing and holds their audio live; a ninth guest joins
 * late and sees everyone; a removed guest's tile disappears everywhere; a
 * guest who reloads comes back on everyone's screen.
 *
 * MEETTIME_SCREENSHOTS=1 writes docs/app-meeting-sfu.png from the host's
 * page. Needs Debian's chromium, like browser-call.test.ts; CI sets
 * MEETTIME_REQUIRE_BROWSER=1 so it cannot skip there.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SfuMeetingServer } from "../../scripts/lib/sfu-stack.mjs";
import { MeetTime } from "../../src/client";
import { joinByInvite } from "./helpers/app-pages";
import { browserAvailable } from "./helpers/chromium";
import { launchSfuChromium, localSfuBrowsers, sfuPersonPage, startSfuTestServer } from "./helpers/sfu-meeting";

const SCREENSHOTS = process.env.MEETTIME_SCREENSHOTS === "1";
/** Generous: two cores run nine pages, the local SFU and the worker (and, on a shared machine, more). */
const WAIT_MS = 90_000;
const TITLE = "All hands";
const GUESTS = ["Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances"];

interface StoredSeat {
  meetingId: string;
  token: string;
  participantId: string;
}

const seatOf = (page: Page): Promise<StoredSeat> =>
  page.evaluate(() => JSON.parse(sessionStorage.getItem("meettime.seat") ?? "null"));

/**
 * Waits until `page` shows a tile for each of `ids` whose video has frames
 * and whose stream holds a live audio track, then until every one of those
 * videos advances.
 */
async function seesAndHears(page: Page, ids: string[], timeout = WAIT_MS) {
  await page
    .waitForFunction(
      (wanted) =>
        wanted.every((id) => {
          const video = document.querySelector<HTMLVideoElement>(
            `.video-grid .tile[data-participant-id="${id}"] video`,
          );
          const stream = video?.srcObject as MediaStream | null | undefined;
          return (
            video !== null &&
            !video.hidden &&
            video.videoWidth > 0 &&
            video.readyState >= 2 &&
            stream?.getAudioTracks().some((track) => track.readyState === "live" && track.enabled)
          );
        }),
      ids,
      { timeout },
    )
    .catch(async (error) => {
      const tiles = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>(".video-grid .tile")].map((tile) => {
          const video = tile.querySelector("video");
          const stream = video?.srcObject as MediaStream | null;
          const tracks = stream?.getTracks().map((t) => `${t.kind}:${t.readyState}`);
          return `${tile.textContent} (${video?.videoWidth}x${video?.videoHeight}, ready ${video?.readyState}, hidden ${video?.hidden}, ${tracks})`;
        }),
      );
      const sfuOutput =
        process.env.MEETTIME_DEBUG === "1"
          ? `\n${server.output().slice(-4000)}\n${await page.evaluate(async () => {
              const lines: string[] = [];
              for (const pc of (window as any).peerConnections as RTCPeerConnection[]) {
                lines.push(`pc ${pc.connectionState} ice ${pc.iceConnectionState} signaling ${pc.signalingState}`);
                (await pc.getStats()).forEach((s: any) => {
                  if (s.type === "transport" || (s.type === "candidate-pair" && s.nominated))
                    lines.push(JSON.stringify(s));
                });
              }
              return lines.join("\n");
            })}`
          : "";
      throw new Error(`${page.url()}: expected ${ids.length} people; tiles: ${tiles.join("; ")}${sfuOutput}`, {
        cause: error,
      });
    });
  const times = await page.evaluate(
    (wanted) =>
      wanted.map(
        (id) =>
          document.querySelector<HTMLVideoElement>(`.video-grid .tile[data-participant-id="${id}"] video`)!.currentTime,
      ),
    ids,
  );
  // A tile replaced meanwhile (its person dropped and came back) keeps this waiting: it is checked again by the caller.
  await page.waitForFunction(
    ([wanted, before]) =>
      wanted.every(
        (id, i) =>
          (document.querySelector<HTMLVideoElement>(`.video-grid .tile[data-participant-id="${id}"] video`)
            ?.currentTime ?? -1) > before[i]!,
      ),
    [ids, times] as const,
    { timeout },
  );
}

/** Waits until `page` has no tile of `id`. */
async function tileGone(page: Page, id: string) {
  await page.waitForFunction(
    (gone) => !document.querySelector(`.video-grid .tile[data-participant-id="${gone}"]`),
    id,
    { timeout: WAIT_MS },
  );
}

/** The suite's own server; its output goes into failure messages under MEETTIME_DEBUG=1. */
let server: SfuMeetingServer;

describe.skipIf(!browserAvailable)(`the web app through the SFU, in ${localSfuBrowsers}`, () => {
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startSfuTestServer(), launchSfuChromium()]);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  // Failure messages say how each page's connections to the SFU stand under MEETTIME_DEBUG=1.
  const person = (name: string) => sfuPersonPage(browser, name, pageErrors);

  const join = (page: Page, invite: string, name: string) => joinByInvite(page, invite, name, TITLE, WAIT_MS);

  it("eight people see and hear each other; a late ninth sees everyone; a removed guest's tile goes; a reload comes back", {
    // Four phases, each waiting up to WAIT_MS on a loaded machine (CI has taken 51-134 s).
    timeout: 360_000,
  }, async () => {
    const host = await person("Ada");
    await host.goto(`${server.baseUrl}/app/`);
    await host.getByLabel("Title").fill(TITLE);
    await host.getByLabel("Your name").fill("Ada");
    await host.getByRole("button", { name: "Create meeting" }).click();
    await host.getByRole("heading", { name: TITLE, exact: true }).waitFor({ timeout: WAIT_MS });
    const hostSeat = await seatOf(host);
    const mt = new MeetTime({ baseUrl: server.baseUrl });
    const { tokens } = await mt.mintInvites(hostSeat.meetingId, hostSeat.token, { count: GUESTS.length + 1 });
    const inviteLink = (i: number) => `${server.baseUrl}/app/#join=${tokens[i]!.token}`;

    const guests: Page[] = [];
    for (const [i, name] of GUESTS.entries()) {
      const page = await person(name);
      await join(page, inviteLink(i), name);
      guests.push(page);
    }
    const pages = [host, ...guests];
    const ids = await Promise.all(pages.map(async (page) => (await seatOf(page)).participantId));
    // More people than the mesh holds (6 peers), and nobody is told the call is full.
    expect(pages.length).toBe(8);
    await Promise.all(
      pages.map((page, i) =>
        seesAndHears(
          page,
          ids.filter((_, j) => j !== i),
        ),
      ),
    );
    for (const page of pages) {
      expect(await page.getByText(/The video call holds/).count()).toBe(0);
      expect(await page.locator(".video-grid .tile").count()).toBe(8);
    }

    // A ninth person joins late and sees the eight (how fast: npm run bench:media).
    const late = await person("Alan");
    const joinedAt = Date.now();
    await join(late, inviteLink(GUESTS.length), "Alan");
    await seesAndHears(late, ids);
    console.log(`late joiner: all 8 videos playing ${Date.now() - joinedAt} ms after the join`);
    const lateId = (await seatOf(late)).participantId;
    await Promise.all(pages.map((page) => seesAndHears(page, [lateId])));
    if (SCREENSHOTS) {
      await host.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await host.screenshot({ path: "docs/app-meeting-sfu.png", fullPage: true });
    }

    // The host removes Ken: his tile disappears from every other page.
    const kenIndex = GUESTS.indexOf("Ken") + 1;
    const kenId = ids[kenIndex]!;
    await host.getByRole("button", { name: "Remove Ken from the meeting" }).click();
    const stayers = [...pages.filter((_, i) => i !== kenIndex), late];
    await Promise.all(stayers.map((page) => tileGone(page, kenId)));
    await pages[kenIndex]!.getByText(/removed you/i)
      .first()
      .waitFor({ timeout: WAIT_MS });

    // Grace reloads: her video comes back for everyone, and she sees them all again.
    const grace = guests[0]!;
    const graceId = ids[1]!;
    // The video each page shows of Grace now: after her reload it must be a new one, not the old tile still up.
    const videoTrackOf = (page: Page) =>
      page.evaluate((id) => {
        const video = document.querySelector<HTMLVideoElement>(`.video-grid .tile[data-participant-id="${id}"] video`);
        return (video?.srcObject as MediaStream | null)?.getVideoTracks()[0]?.id ?? null;
      }, graceId);
    const before = await Promise.all(stayers.map(videoTrackOf));
    await grace.reload();
    await grace.getByRole("heading", { name: TITLE, exact: true }).waitFor({ timeout: WAIT_MS });
    expect((await seatOf(grace)).participantId).toBe(graceId);
    const others = stayers.filter((page) => page !== grace);
    await Promise.all(
      others.map(async (page) => {
        const old = before[stayers.indexOf(page)];
        await page.waitForFunction(
          ([id, oldTrack]) => {
            const video = document.querySelector<HTMLVideoElement>(
              `.video-grid .tile[data-participant-id="${id}"] video`,
            );
            const track = (video?.srcObject as MediaStream | null)?.getVideoTracks()[0];
            return track !== undefined && track.id !== oldTrack;
          },
          [graceId, old] as const,
          { timeout: WAIT_MS },
        );
        await seesAndHears(page, [graceId]);
      }),
    );
    await seesAndHears(grace, [...ids.filter((id) => id !== graceId && id !== kenId), lateId]);

    expect(pageErrors).toEqual([]);
  });
});
