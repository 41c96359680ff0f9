/**
 * One meeting link and the lobby, through the app in headless Chromium
 * against `wrangler dev` (contract 1.2): the host copies a meeting link
 * (lobby on by default); three guests open it and wait, one of them
 * reloading without losing her place; the host, watching the video, sees
 * the knocks and admits two (one by keyboard) and denies one; the two see
 * each other's video; the denied guest's page says so; the host revokes the
 * link and a fourth guest is turned away with a clear message. A second
 * test switches the lobby off (a guest on a phone goes straight in), makes
 * a new link that waits, and lets a guest leave the lobby.
 *
 * Needs Debian's chromium; CI sets MEETTIME_REQUIRE_BROWSER=1 so a missing
 * browser fails instead of skipping. MEETTIME_SCREENSHOTS=1 writes
 * docs/app-lobby-*.png.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMeeting, dateAhead, People, playsVideos, screenshot, seatOf, sees, WAIT_MS } from "./helpers/app-pages";
import { browserAvailable, launchChromium } from "./helpers/chromium";
import { api, baseUrl } from "./helpers/client";

const TITLE = "Team call";

/** The place this tab keeps in the lobby (sessionStorage), or null. */
const placeOf = (page: Page): Promise<{ requestId: string } | null> =>
  page.evaluate(() => JSON.parse(sessionStorage.getItem("meettime.lobby") ?? "null"));

/** Opens the meeting link, gives a name, asks to join; leaves the guest waiting. */
async function knock(page: Page, link: string, name: string) {
  await page.goto(link);
  await sees(page, `Join “${TITLE}”`);
  await page.getByRole("textbox", { name: "Your name" }).fill(name);
  await page.getByRole("button", { name: "Join meeting" }).click();
  await page.getByRole("heading", { name: "Waiting for the host to let you in" }).waitFor({ timeout: WAIT_MS });
}

/** Whether `page` plays the video of participant `id` (frames decoded). */
const playsVideoOf = (page: Page, id: string) =>
  page.waitForFunction(
    (participantId) => {
      const video = document.querySelector<HTMLVideoElement>(
        `.video-grid video[data-participant-id="${participantId}"]`,
      );
      return video !== null && !video.hidden && video.videoWidth > 0;
    },
    id,
    { timeout: WAIT_MS },
  );

describe.skipIf(!browserAvailable)("a meeting link with a lobby, in the app", () => {
  let browser: Browser;
  const people = new People(() => browser);

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterEach(() => people.leaveAll());
  afterAll(async () => {
    await browser?.close();
  });

  it("lets the host admit two guests and deny one, and turns people away once revoked", {
    timeout: 240_000,
  }, async () => {
    const host = await people.person("Europe/Berlin");
    await createMeeting(host, `${baseUrl()}/app/`, TITLE);

    // One link for everyone; the lobby is on unless the host switches it off.
    expect(await host.getByRole("switch", { name: /Let people in without waiting/ }).isChecked()).toBe(false);
    await host.getByRole("button", { name: "Copy meeting link" }).click();
    await sees(host, "Meeting link copied. People who open it wait until you let them in.");
    const link = await host.getByRole("textbox", { name: "Meeting link" }).inputValue();
    expect(new URL(link).hash).toMatch(/^#join=/);
    await sees(host, /People wait for you · 0 of 50 used/);

    const [grace, linus, eve] = [
      await people.person("America/New_York"),
      await people.person("Asia/Tokyo"),
      await people.person("Europe/London"),
    ];
    await knock(grace, link, "Grace");
    await sees(grace, TITLE);
    await screenshot(grace, "app-lobby-waiting");
    await knock(linus, link, "Linus");
    await knock(eve, link, "Eve");

    // A reload while waiting keeps the place: the same request, still one knock at the host; the page reads
    // the meeting again with the link, so a time changed meanwhile shows.
    const graceRequest = (await placeOf(grace))?.requestId;
    expect(graceRequest).toBeTruthy();
    const hostSeat = await seatOf(host);
    const moved = await api("PUT", `/api/meetings/${hostSeat.meetingId}/datetime`, {
      token: hostSeat.token,
      body: { scheduledAt: `${dateAhead(3)}T17:30:00.000Z` },
    });
    expect(moved.status).toBe(200);
    await grace.reload();
    await grace.getByRole("heading", { name: "Waiting for the host to let you in" }).waitFor({ timeout: WAIT_MS });
    expect((await placeOf(grace))?.requestId).toBe(graceRequest);
    await sees(grace, /18:30 in Europe\/Berlin/);

    for (const name of ["Grace", "Linus", "Eve"]) await sees(host, `${name} is waiting to join`);
    await screenshot(host, "app-lobby-host");
    // The host is down the page (the links); the knocks stay in view without scrolling back up.
    await host.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    expect(await host.evaluate(() => window.scrollY)).toBeGreaterThan(200);
    expect(await host.locator(".lobby-list li").count()).toBe(3);
    expect(await host.title()).toBe(`(3 waiting) ${TITLE} · MeetTime`);
    expect(
      await host
        .getByRole("status")
        .filter({ hasText: /is asking to join\./ })
        .count(),
    ).toBe(1);
    const banner = await host.locator(".lobby-knocks").boundingBox();
    const viewport = host.viewportSize();
    expect(banner && viewport && banner.y >= 0 && banner.y + banner.height <= viewport.height).toBe(true);

    // Admit by keyboard, admit by click, deny.
    await host.getByRole("button", { name: "Admit Grace" }).focus();
    await host.keyboard.press("Enter");
    await host.getByRole("button", { name: "Admit Linus" }).click();
    await host.getByRole("button", { name: "Deny Eve" }).click();

    for (const guest of [grace, linus]) {
      await guest.getByRole("heading", { name: TITLE, exact: true }).waitFor({ timeout: WAIT_MS });
      expect(await placeOf(guest)).toBeNull();
    }
    const [graceSeat, linusSeat] = [await seatOf(grace), await seatOf(linus)];
    await sees(eve, "You were not let in");
    await sees(eve, "The host did not let you in.");
    await screenshot(eve, "app-lobby-denied");
    await host.locator(".lobby-knocks section").waitFor({ state: "hidden", timeout: WAIT_MS });
    expect(await host.title()).toBe(`${TITLE} · MeetTime`);

    // The two admitted guests see each other's video (and the host's).
    await playsVideoOf(grace, linusSeat.participantId);
    await playsVideoOf(linus, graceSeat.participantId);
    await playsVideos(grace, 3);
    await playsVideos(linus, 3);
    await sees(host, /People wait for you · 2 of 50 used/);

    // A reload of the denied guest's page still says why.
    await eve.reload();
    await sees(eve, "The host did not let you in.");

    // The host revokes the link: a fourth guest is turned away in words, before typing a name.
    await host.getByRole("button", { name: /Revoke the meeting link/ }).click();
    await sees(host, "Link revoked");
    const ken = await people.person("Australia/Sydney");
    await ken.goto(link);
    await sees(ken, "This meeting link does not work");
    await sees(ken, "The host has turned this meeting link off. Ask the host for a new link.");
    expect(await ken.getByRole("textbox", { name: "Your name" }).isVisible()).toBe(false);
    await screenshot(ken, "app-lobby-revoked");
    expect(people.pageErrors).toEqual([]);
  });

  it("lets people straight in when the host switches the lobby off, and lets a guest leave the lobby", {
    timeout: 120_000,
  }, async () => {
    const host = await people.person("Europe/Berlin");
    await createMeeting(host, `${baseUrl()}/app/`, TITLE);
    await host.getByRole("switch", { name: /Let people in without waiting/ }).check();
    await host.getByRole("button", { name: "Copy meeting link" }).click();
    await sees(host, "Meeting link copied. Anyone who opens it joins at once.");
    const openLink = await host.getByRole("textbox", { name: "Meeting link" }).inputValue();

    // On a phone: straight into the meeting, no waiting page.
    const grace = await people.person("America/New_York", { width: 390, height: 844 });
    await grace.goto(openLink);
    await sees(grace, `Join “${TITLE}”`);
    await grace.getByRole("textbox", { name: "Your name" }).fill("Grace");
    await grace.getByRole("button", { name: "Join meeting" }).click();
    await grace.getByRole("heading", { name: TITLE, exact: true }).waitFor({ timeout: WAIT_MS });
    expect(await placeOf(grace)).toBeNull();
    await sees(host, /People join at once · 1 of 50 used/);

    // The switch back on makes a new link that waits; the open one stays listed until revoked.
    await host.getByRole("switch", { name: /Let people in without waiting/ }).uncheck();
    await host.getByRole("button", { name: "Copy meeting link" }).click();
    await sees(host, "Meeting link copied. People who open it wait until you let them in.");
    const lobbyLink = await host.getByRole("textbox", { name: "Meeting link" }).inputValue();
    expect(lobbyLink).not.toBe(openLink);
    expect(await host.locator(".link-list li").count()).toBe(2);

    const linus = await people.person("Asia/Tokyo", { width: 390, height: 844 });
    await knock(linus, lobbyLink, "Linus");
    await sees(host, "Linus is waiting to join");
    await linus.getByRole("button", { name: "Leave the lobby" }).click();
    await sees(linus, "You left the lobby");
    await linus.getByRole("button", { name: "Ask to join again" }).waitFor({ timeout: WAIT_MS });
    expect(await placeOf(linus)).toBeNull();
    await screenshot(linus, "app-lobby-left-phone");
    expect(people.pageErrors).toEqual([]);
  });
});
