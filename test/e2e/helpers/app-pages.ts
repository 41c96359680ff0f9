/**
 * The web app's pages as a person uses them, for the browser tests
 * (app.test.ts, lobby.test.ts): waits for visible text and for playing
 * video, the create form, the stored seat, a date ahead, screenshots
 * (MEETTIME_SCREENSHOTS=1 writes docs/<name>.png), and the people: one
 * Chromium context each, their uncaught page errors collected.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";

export const SCREENSHOTS = process.env.MEETTIME_SCREENSHOTS === "1";
export const WAIT_MS = 30_000;

export interface StoredSeat {
  meetingId: string;
  token: string;
  participantId: string;
}

export const seatOf = (page: Page): Promise<StoredSeat> =>
  page.evaluate(() => JSON.parse(sessionStorage.getItem("meettime.seat") ?? "null"));

/** Waits until `text` is visible anywhere on the page. */
export async function sees(page: Page, text: string | RegExp) {
  await page.getByText(text).first().waitFor({ state: "visible", timeout: WAIT_MS });
}

/** Waits until the page plays `count` videos with frames, then until every one of them advances. */
export async function playsVideos(page: Page, count: number) {
  await page
    .waitForFunction(
      (n) =>
        [...document.querySelectorAll<HTMLVideoElement>(".video-grid video")].filter(
          (v) => !v.hidden && v.videoWidth > 0 && v.readyState >= 2,
        ).length >= n,
      count,
      { timeout: WAIT_MS },
    )
    .catch(async (error) => {
      const tiles = await page.evaluate(() =>
        [...document.querySelectorAll(".video-grid .tile")].map((tile) => {
          const video = tile.querySelector("video");
          return `${tile.textContent} (video ${video?.videoWidth}x${video?.videoHeight}, ready ${video?.readyState}, hidden ${video?.hidden})`;
        }),
      );
      throw new Error(`${page.url()}: ${count} playing videos expected; tiles: ${tiles.join("; ")}`, { cause: error });
    });
  await page.evaluate(() => {
    const videos = [...document.querySelectorAll<HTMLVideoElement>(".video-grid video")].filter(
      (v) => v.videoWidth > 0,
    );
    (window as unknown as { started: [HTMLVideoElement, number][] }).started = videos.map((v) => [v, v.currentTime]);
  });
  await page.waitForFunction(
    () => (window as unknown as { started: [HTMLVideoElement, number][] }).started.every(([v, t]) => v.currentTime > t),
    undefined,
    { timeout: WAIT_MS },
  );
}

export async function screenshot(page: Page, name: string) {
  if (!SCREENSHOTS) return;
  // As a person sees the page, not mid-typing: no focus ring left by the test's last fill.
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.screenshot({ path: `docs/${name}.png`, fullPage: true });
}

/** Fills and sends the create form; leaves the host in the new meeting. */
export async function createMeeting(host: Page, url: string, title: string, screenshotName?: string) {
  await host.goto(url);
  await host.getByRole("heading", { name: "Create a meeting" }).waitFor();
  await host.getByLabel("Title").fill(title);
  await host.getByLabel("Your name").fill("Ada");
  await host.getByLabel("Date").fill(dateAhead(2));
  await host.getByLabel("Start time").fill("15:00");
  if (screenshotName) await screenshot(host, screenshotName);
  await host.getByRole("button", { name: "Create meeting" }).click();
  await host.getByRole("heading", { name: title, exact: true }).waitFor({ timeout: WAIT_MS });
}

/** Opens an invite link, types the name and joins; leaves the page in the meeting titled `title`. */
export async function joinByInvite(page: Page, invite: string, name: string, title: string, timeout = WAIT_MS) {
  await page.goto(invite);
  await page.getByRole("textbox", { name: "Your name" }).fill(name);
  await page.getByRole("button", { name: "Join meeting" }).click();
  await page.getByRole("heading", { name: title, exact: true }).waitFor({ timeout });
}

/** A date `days` ahead as a date input's value. */
export function dateAhead(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** The people of a test, one browser context each (own storage, own zone), and every uncaught error of their pages. */
export class People {
  readonly #contexts: BrowserContext[] = [];
  /** Uncaught errors in any page: the app must have none. */
  readonly pageErrors: string[] = [];

  constructor(readonly browser: () => Browser) {}

  async person(timezoneId: string, viewport = { width: 1280, height: 860 }): Promise<Page> {
    const context = await this.browser().newContext({ timezoneId, locale: "en-GB", viewport });
    this.#contexts.push(context);
    const page = await context.newPage();
    page.on("pageerror", (error) => this.pageErrors.push(`${timezoneId}: ${error.message}`));
    page.on("console", (message) => {
      if (process.env.MEETTIME_DEBUG === "1") console.log(`[${timezoneId}] ${message.type()}: ${message.text()}`);
    });
    page.on("response", (response) => {
      if (process.env.MEETTIME_DEBUG === "1" && response.status() >= 400)
        console.log(`[${timezoneId}] ${response.status()} ${response.url()}`);
    });
    return page;
  }

  /** Everyone hangs up (two cores: no calls left running into the next test). */
  async leaveAll(): Promise<void> {
    for (const context of this.#contexts.splice(0)) await context.close().catch(() => {});
    this.pageErrors.length = 0;
  }
}
