/**
 * The web app's paged grid through the SFU, with more people than one page
 * holds: 27 in one meeting, three of them Chromium pages of the app (fake
 * 160x120 cameras) and 24 people joined from Node who publish a silent
 * microphone each (`joinWithSilentMicrophone`), so the machine carries three
 * browsers, not 27. Ada watches: her grid shows 25 tiles and "Page 1 of 2
 * (people 1–25 of 27)"; Carol (on page 1) plays video; Bob, 26th, is on
 * page 2: she hears him (his audio arrives and his hidden tile plays it)
 * while her page receives no video of his. Next page (by keyboard) plays
 * his video and closes Carol's; Previous page closes his again, his sound
 * going on. When someone of page 1 leaves, the count says so, their tile
 * goes and Bob moves up onto page 1 with his video; at 25 people the pager
 * goes away.
 *
 * What a page receives is read from its own `RTCPeerConnection`
 * (transceivers and `getStats()`), mapped to people through the tiles'
 * streams. MEETTIME_SCREENSHOTS=1 writes docs/app-meeting-sfu-paging.png
 * (page 1 of 27 people).
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SfuMeetingServer } from "../../scripts/lib/sfu-stack.mjs";
import { MeetTime } from "../../src/client";
import { createMeeting, joinByInvite, screenshot, seatOf } from "./helpers/app-pages";
import { browserAvailable } from "./helpers/chromium";
import {
  joinWithSilentMicrophone,
  launchSfuChromium,
  localSfuBrowsers,
  type SilentParticipant,
  sfuPersonPage,
  startSfuTestServer,
} from "./helpers/sfu-meeting";

/** Generous: two cores run three pages, 27 SFU sessions and the worker (and, on a shared machine, more). */
const WAIT_MS = 60_000;
const TITLE = "Town hall";
/** The people joined from Node: 23 between Carol and Bob, so Bob is 26th, and one after him. */
const SILENT_NAMES = (
  "Alan Barbara Claude Donald Edsger Frances Grace Hedy Ivan John Ken Leslie " +
  "Margaret Niklaus Ole Peter Radia Shafi Tony Vint Whitfield Xavier Yukihiro Zuse"
).split(" ");
const BEFORE_BOB = 23;

/** What a page receives from the SFU, per person (ids from the tiles whose streams hold the tracks). */
interface Reception {
  /** Whose video the page is receiving now: one entry per receiving video transceiver ("?" if no tile holds it). */
  videoFrom: string[];
  /** Bytes received so far by each person's audio and video. */
  bytes: Record<string, { audio: number; video: number }>;
}

function reception(page: Page): Promise<Reception> {
  return page.evaluate(async () => {
    // Kept across calls, so a track closed (and gone from its tile) is still known as whose it was.
    (window as any).trackOwners ??= new Map();
    const ownerOf: Map<string, string> = (window as any).trackOwners;
    for (const video of document.querySelectorAll<HTMLVideoElement>(".video-grid .tile video")) {
      const stream = video.srcObject as MediaStream | null;
      for (const track of stream?.getTracks() ?? []) ownerOf.set(track.id, video.dataset.participantId ?? "?");
    }
    const videoFrom: string[] = [];
    const bytes: Record<string, { audio: number; video: number }> = {};
    for (const pc of (window as any).peerConnections as RTCPeerConnection[]) {
      if (pc.connectionState === "closed") continue;
      for (const transceiver of pc.getTransceivers()) {
        const receiving = transceiver.currentDirection === "recvonly" || transceiver.currentDirection === "sendrecv";
        if (receiving && transceiver.receiver.track.kind === "video") {
          videoFrom.push(ownerOf.get(transceiver.receiver.track.id) ?? "?");
        }
      }
      (await pc.getStats()).forEach((stats: any) => {
        if (stats.type !== "inbound-rtp") return;
        const who = ownerOf.get(stats.trackIdentifier) ?? "?";
        bytes[who] ??= { audio: 0, video: 0 };
        bytes[who][stats.kind as "audio" | "video"] += stats.bytesReceived ?? 0;
      });
    }
    return { videoFrom: videoFrom.sort(), bytes };
  });
}

const bytesOf = (report: Reception, id: string, kind: "audio" | "video") => report.bytes[id]?.[kind] ?? 0;

interface Person {
  id: string;
  name: string;
}

/** Waits until the page receives video from exactly these people, nobody else. */
async function receivesVideoFrom(page: Page, people: Person[]) {
  const names = people.map((p) => p.name).join(" and ");
  await expect
    .poll(async () => (await reception(page)).videoFrom, { timeout: WAIT_MS, message: `video from ${names} only` })
    .toEqual(people.map((p) => p.id).sort());
}

/** Waits until more of `id`'s `kind` has arrived than `since` says; returns the newer report. */
async function moreArrives(page: Page, id: string, kind: "audio" | "video", since: Reception) {
  let latest = since;
  await expect
    .poll(
      async () => {
        latest = await reception(page);
        return bytesOf(latest, id, kind);
      },
      { timeout: WAIT_MS, message: `${kind} of ${id} arriving` },
    )
    .toBeGreaterThan(bytesOf(since, id, kind));
  return latest;
}

/** Runs `wait`; if it times out, says what was awaited and how every tile of the page stands. */
async function explained<T>(page: Page, what: string, wait: () => Promise<T>): Promise<T> {
  try {
    return await wait();
  } catch (error) {
    const tiles = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>(".video-grid .tile")].map((tile) => {
        const video = tile.querySelector("video");
        const tracks = (video?.srcObject as MediaStream | null)?.getTracks().map((t) => `${t.kind}:${t.readyState}`);
        const shown = tile.hidden ? "off page" : "on page";
        return `${tile.textContent} (${shown}, ${video?.videoWidth}x${video?.videoHeight}, paused ${video?.paused}, ${tracks})`;
      }),
    );
    throw new Error(`${what}: not seen. Tiles: ${tiles.join("; ")}`, { cause: error });
  }
}

const tileOf = (page: Page, id: string) => page.locator(`.video-grid .tile[data-participant-id="${id}"]`);

/** Waits until the time of `id`'s tile's media element passes `time`: it plays. */
async function advancesFrom(page: Page, id: string, time: number) {
  await page.waitForFunction(
    ([who, before]) => {
      const video = document.querySelector<HTMLVideoElement>(`.video-grid .tile[data-participant-id="${who}"] video`);
      return (video?.currentTime ?? -1) > before;
    },
    [id, time] as const,
    { timeout: WAIT_MS },
  );
}

/** Waits until `id`'s tile is on screen and its video has frames, then until it advances. */
async function playsVideoOf(page: Page, person: Person) {
  await explained(page, `the video of ${person.name} playing on screen`, () => playsVideo(page, person.id));
}

async function playsVideo(page: Page, id: string) {
  await tileOf(page, id).waitFor({ state: "visible", timeout: WAIT_MS });
  const handle = await page.waitForFunction(
    (who) => {
      const video = document.querySelector<HTMLVideoElement>(`.video-grid .tile[data-participant-id="${who}"] video`);
      return video && !video.hidden && video.videoWidth > 0 && video.readyState >= 2 ? video.currentTime : false;
    },
    id,
    { timeout: WAIT_MS },
  );
  await advancesFrom(page, id, (await handle.jsonValue()) as number);
}

/**
 * `id`'s tile is off screen (another page) and holds no video, and its
 * element plays their live audio: not paused, not muted, time advancing.
 */
async function hearsOffPage(page: Page, person: Person) {
  await explained(page, `the sound of ${person.name} playing off screen, without video`, () =>
    hearsWithoutVideo(page, person.id),
  );
}

async function hearsWithoutVideo(page: Page, id: string) {
  await tileOf(page, id).waitFor({ state: "hidden", timeout: WAIT_MS });
  const handle = await page.waitForFunction(
    (who) => {
      const video = document.querySelector<HTMLVideoElement>(`.video-grid .tile[data-participant-id="${who}"] video`);
      const stream = video?.srcObject as MediaStream | null | undefined;
      const live = stream?.getAudioTracks().some((track) => track.readyState === "live");
      return video && live && stream?.getVideoTracks().length === 0 && !video.paused && !video.muted
        ? video.currentTime
        : false;
    },
    id,
    { timeout: WAIT_MS },
  );
  await advancesFrom(page, id, (await handle.jsonValue()) as number);
}

const pagerOf = (page: Page) => page.getByRole("navigation", { name: "Video pages" });

/** Waits until the pager's status reads `text`. */
async function pagerSays(page: Page, text: string) {
  await explained(page, `the pager saying "${text}"`, () =>
    pagerOf(page).getByRole("status").filter({ hasText: text }).waitFor({ timeout: WAIT_MS }),
  );
}

describe.skipIf(!browserAvailable)(`the app's paged grid through the SFU, in ${localSfuBrowsers}`, () => {
  let server: SfuMeetingServer;
  let browser: Browser;
  const silent: SilentParticipant[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startSfuTestServer(), launchSfuChromium()]);
  }, 180_000);

  afterAll(async () => {
    for (const person of silent) person.connection.close();
    await browser?.close();
    await server?.stop();
  });

  const person = (name: string) => sfuPersonPage(browser, name, pageErrors, { recordConnections: true });

  async function joinInApp(invite: string, name: string): Promise<Person & { page: Page }> {
    const page = await person(name);
    await joinByInvite(page, invite, name, TITLE, WAIT_MS);
    return { page, name, id: (await seatOf(page)).participantId };
  }

  it("27 people: page 1 of 25 tiles pulls only its video, audio from everyone; paging moves the video; a leave updates the pages", {
    timeout: 180_000,
  }, async () => {
    const ada = await person("Ada");
    await createMeeting(ada, `${server.baseUrl}/app/`, TITLE);
    const adaSeat = await seatOf(ada);
    const mt = new MeetTime({ baseUrl: server.baseUrl });
    const { tokens } = await mt.mintInvites(adaSeat.meetingId, adaSeat.token, { count: SILENT_NAMES.length + 2 });
    const invites = tokens.map(({ token }) => token);
    const inviteLink = (token: string) => `${server.baseUrl}/app/#join=${token}`;

    // The grid's order is the join order: Ada, Carol, 23 silent people | Bob, Zuse.
    const carol = await joinInApp(inviteLink(invites.pop()!), "Carol");
    const joinSilent = (name: string) =>
      joinWithSilentMicrophone(server.baseUrl, invites.pop()!, name).then((p) => silent.push(p));
    await Promise.all(SILENT_NAMES.slice(0, BEFORE_BOB).map(joinSilent));
    // Everyone so far is on Ada's screen before Bob comes, so he lands on page 2 from the start.
    await expect.poll(() => ada.locator(".video-grid .tile:visible").count(), { timeout: WAIT_MS }).toBe(25);
    expect(await pagerOf(ada).isHidden()).toBe(true);
    const bob = await joinInApp(inviteLink(invites.pop()!), "Bob");
    for (const name of SILENT_NAMES.slice(BEFORE_BOB)) await joinSilent(name);
    expect(1 + 2 + silent.length).toBe(27);

    // Page 1: 25 tiles (Ada, Carol, the 23), the pager says where we are; Carol plays.
    await pagerSays(ada, "Page 1 of 2 (people 1–25 of 27)");
    await playsVideoOf(ada, carol);
    await expect.poll(() => ada.locator(".video-grid .tile:visible").count(), { timeout: WAIT_MS }).toBe(25);
    const previous = pagerOf(ada).getByRole("button", { name: "Previous page" });
    const next = pagerOf(ada).getByRole("button", { name: "Next page" });
    expect(await previous.isDisabled()).toBe(true);
    expect(await next.isEnabled()).toBe(true);

    // Bob is on page 2: Ada hears him, and receives no video but Carol's while Carol's keeps coming.
    await hearsOffPage(ada, bob);
    await receivesVideoFrom(ada, [carol]);
    let before = await reception(ada);
    let after = await moreArrives(ada, bob.id, "audio", before);
    after = await moreArrives(ada, carol.id, "video", after);
    expect(bytesOf(after, bob.id, "video")).toBe(0);
    expect(after.videoFrom).toEqual([carol.id]);
    // Someone with only a microphone is said to have the camera off, not to be connecting.
    await tileOf(ada, silent[0]!.id).getByText("Camera off").waitFor({ timeout: WAIT_MS });
    await screenshot(ada, "app-meeting-sfu-paging");

    // Next page, by keyboard: Bob and Zuse on screen, Bob's video plays, Carol's video is closed.
    await next.focus();
    await ada.keyboard.press("Enter");
    await pagerSays(ada, "Page 2 of 2 (people 26–27 of 27)");
    expect(await ada.locator(".video-grid .tile:visible").count()).toBe(2);
    expect(await next.isDisabled()).toBe(true);
    await playsVideoOf(ada, bob);
    await receivesVideoFrom(ada, [bob]);
    before = await reception(ada);
    after = await moreArrives(ada, bob.id, "video", before);
    // Carol is heard from page 2 as Bob was from page 1.
    await hearsOffPage(ada, carol);
    after = await moreArrives(ada, carol.id, "audio", after);
    // (A closed track's stats may be gone: fewer bytes then, never more.)
    expect(bytesOf(after, carol.id, "video")).toBeLessThanOrEqual(bytesOf(before, carol.id, "video"));

    // Previous page: Bob's video is closed again, his sound goes on; Carol's video is back.
    await previous.click();
    await pagerSays(ada, "Page 1 of 2 (people 1–25 of 27)");
    await hearsOffPage(ada, bob);
    await receivesVideoFrom(ada, [carol]);
    await playsVideoOf(ada, carol);
    before = await reception(ada);
    after = await moreArrives(ada, bob.id, "audio", before);
    after = await moreArrives(ada, carol.id, "video", after);
    expect(bytesOf(after, bob.id, "video")).toBeLessThanOrEqual(bytesOf(before, bob.id, "video"));

    // Someone of page 1 leaves: the count drops, their tile goes, Bob moves up with his video.
    const leaver = silent.find((p) => p.name === "Grace")!;
    await leaver.connection.leave();
    await pagerSays(ada, "Page 1 of 2 (people 1–25 of 26)");
    await tileOf(ada, leaver.id).waitFor({ state: "detached", timeout: WAIT_MS });
    await playsVideoOf(ada, bob);
    await receivesVideoFrom(ada, [bob, carol]);
    expect(await ada.locator(".video-grid .tile:visible").count()).toBe(25);

    // At 25 people everyone fits on one page: the pager goes away.
    const last = silent.find((p) => p.name === "Zuse")!;
    await last.connection.leave();
    await tileOf(ada, last.id).waitFor({ state: "detached", timeout: WAIT_MS });
    await pagerOf(ada).waitFor({ state: "hidden", timeout: WAIT_MS });
    expect(await ada.locator(".video-grid .tile:visible").count()).toBe(25);

    expect(pageErrors).toEqual([]);
  });
});
