/**
 * The web app at /app/, used as people use it: three people in three
 * headless Chromium contexts (fake camera and microphone), nothing but the
 * app's own pages against `wrangler dev`. The host creates a meeting in the
 * form, two guests open invite links; everyone sees everyone's video and
 * chat; a reschedule reaches the guests; a stale edit shows the conflict; a
 * guest who leaves the page and comes back gets the same seat and the chat
 * it missed; a kick and the end of the meeting are said in words. A guest
 * whose name imitates a role gets no role tag; a chat burst is stored once
 * per interval; broken, used and removed-from links say so after a reload.
 *
 * MEETTIME_SCREENSHOTS=1 writes the README's screenshots (docs/app-*.png)
 * from these pages. Needs Debian's chromium, like browser-call.test.ts.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createMeeting, dateAhead, People, playsVideos, screenshot, seatOf, sees, WAIT_MS } from "./helpers/app-pages";
import { browserAvailable, launchChromium } from "./helpers/chromium";
import { api, baseUrl, connect } from "./helpers/client";
import { type RestartableServer, restartableServer } from "./helpers/restart-server";

/** The chat texts the page shows, in order. */
const chatTexts = (page: Page) => page.locator(".chat-log li .text").allTextContents();

async function sendChat(page: Page, text: string) {
  await page.getByRole("textbox", { name: "Message" }).fill(text);
  await page.getByRole("button", { name: "Send" }).click();
}

async function waitForChat(page: Page, texts: string[]) {
  await page.waitForFunction(
    (wanted) => {
      const shown = [...document.querySelectorAll(".chat-log li .text")].map((li) => li.textContent);
      return wanted.every((text) => shown.includes(text));
    },
    texts,
    { timeout: WAIT_MS },
  );
}

/** The participant row of `name` on `page`. */
const row = (page: Page, id: string) => page.locator(`.participants li[data-participant-id="${id}"]`);

async function createInvite(host: Page): Promise<string> {
  const link = host.getByRole("textbox", { name: "Invite link" });
  const before = (await link.isVisible()) ? await link.inputValue() : "";
  await host.getByRole("button", { name: "Create invite link" }).click();
  await host.waitForFunction(
    (previous) => {
      const input = document.querySelector<HTMLInputElement>('input[name="Invite link"]');
      return input && input.value !== previous && input.value.includes("#join=");
    },
    before,
    { timeout: WAIT_MS },
  );
  return link.inputValue();
}

async function join(page: Page, invite: string, name: string, title = "Design review") {
  await page.goto(invite);
  await sees(page, `Join “${title}”`);
  await page.getByRole("textbox", { name: "Your name" }).fill(name);
  await page.getByRole("button", { name: "Join meeting" }).click();
  await page.getByRole("heading", { name: title, exact: true }).waitFor({ timeout: WAIT_MS });
}

describe.skipIf(!browserAvailable)("the web app at /app/", () => {
  let browser: Browser;
  const people = new People(() => browser);
  const { pageErrors } = people;
  const person = people.person.bind(people);

  beforeAll(async () => {
    browser = await launchChromium();
  });

  // Each test's people hang up before the next test's arrive: two cores, no background calls.
  afterEach(() => people.leaveAll());

  afterAll(async () => {
    await browser?.close();
  });

  it("holds a three-person meeting from creation to its end", { timeout: 240_000 }, async () => {
    const host = await person("Europe/Berlin");
    const grace = await person("America/New_York");
    const linus = await person("Asia/Tokyo", { width: 390, height: 844 });

    // The host creates the meeting; the zone picker starts at the browser's zone.
    await host.goto(`${baseUrl()}/app/`);
    expect(await host.getByLabel("Time zone").inputValue()).toBe("Europe/Berlin");
    await createMeeting(host, `${baseUrl()}/app/`, "Design review", "app-create");
    expect(host.url()).toMatch(/\/app\/#meeting=[0-9a-f]{64}$/);
    const hostSeat = await seatOf(host);

    // Two invites, two guests; the invite token travels only in the fragment.
    const graceInvite = await createInvite(host);
    const linusInvite = await createInvite(host);
    expect(graceInvite).not.toBe(linusInvite);
    expect(new URL(graceInvite).pathname).toBe("/app/");
    await join(grace, graceInvite, "Grace");
    await join(linus, linusInvite, "Linus");
    const graceSeat = await seatOf(grace);
    const linusSeat = await seatOf(linus);
    expect(grace.url()).not.toContain("join=");

    // A guest's calendar link is a read-only calendar token's feed, not her session token.
    await grace.getByRole("button", { name: "Get calendar link" }).click();
    const calendarLink = grace.getByRole("textbox", { name: "Calendar link" });
    await calendarLink.waitFor({ timeout: WAIT_MS });
    const calendarUrl = new URL(await calendarLink.inputValue());
    expect(calendarUrl.searchParams.get("token")).not.toBe(graceSeat.token);
    const feed = await fetch(calendarUrl);
    expect(feed.status).toBe(200);
    expect(await feed.text()).toContain("SUMMARY:Design review");

    // Everyone sees three people and three moving videos.
    for (const page of [host, grace, linus]) {
      await sees(page, "Participants (3)");
      await playsVideos(page, 3);
    }

    // Chat crosses in every direction, each message once.
    await sendChat(host, "Welcome, both of you");
    await sendChat(grace, "Hi from New York");
    await sendChat(linus, "Hello from Tokyo");
    const firstChat = ["Welcome, both of you", "Hi from New York", "Hello from Tokyo"];
    for (const page of [host, grace, linus]) {
      await waitForChat(page, firstChat);
      expect((await chatTexts(page)).sort()).toEqual([...firstChat].sort());
    }

    // Media and hand state show in everyone's participant list.
    await linus.getByRole("button", { name: "Mute microphone" }).click();
    await linus.getByRole("button", { name: "Raise hand" }).click();
    await linus.getByRole("button", { name: "Unmute microphone" }).waitFor({ timeout: WAIT_MS });
    await linus.getByRole("button", { name: "Lower hand" }).waitFor({ timeout: WAIT_MS });
    await row(host, linusSeat.participantId).getByText("mic off").waitFor({ timeout: WAIT_MS });
    await row(grace, linusSeat.participantId).getByText("hand raised").waitFor({ timeout: WAIT_MS });
    await screenshot(host, "app-meeting");
    await screenshot(linus, "app-meeting-phone");

    // The host moves the meeting to 17:30 UTC; both guests see the new time in the meeting's zone and their own.
    const newDate = dateAhead(3);
    await host.getByRole("button", { name: "Change time" }).click();
    await host.getByLabel("Date").fill(newDate);
    await host.getByLabel("Start time").fill("17:30");
    await host.getByLabel("Time zone").selectOption("UTC");
    await host.getByRole("button", { name: "Save time" }).click();
    const moved = `${newDate}T17:30:00.000Z`;
    for (const page of [grace, linus]) {
      await page.locator(`.meeting-time time[datetime="${moved}"]`).waitFor({ timeout: WAIT_MS });
      expect(await page.locator(".meeting-time").textContent()).toContain("17:30");
    }
    const wallClock = (timeZone: string) =>
      new Intl.DateTimeFormat("en-GB", { timeStyle: "short", timeZone }).format(new Date(moved));
    expect(await grace.locator(".local-time").textContent()).toContain(wallClock("America/New_York"));
    expect(await linus.locator(".local-time").textContent()).toContain(wallClock("Asia/Tokyo"));

    // A stale edit: the host opens the editor, the time changes elsewhere, the save is refused and says to what.
    await host.getByRole("button", { name: "Change time" }).click();
    const elsewhere = await api("PUT", `/api/meetings/${hostSeat.meetingId}/datetime`, {
      token: hostSeat.token,
      body: { scheduledAt: `${newDate}T19:00:00.000Z` },
    });
    expect(elsewhere.status).toBe(200);
    await host.getByLabel("Start time").fill("18:00");
    await host.getByRole("button", { name: "Save time" }).click();
    await sees(host, /Not saved: the time was changed meanwhile to .*19:00/);
    await grace.locator(`.meeting-time time[datetime="${newDate}T19:00:00.000Z"]`).waitFor({ timeout: WAIT_MS });

    // Grace leaves the page; while she is away the host writes; she comes back to the same seat and sees it.
    const graceUrl = grace.url();
    await grace.goto("about:blank");
    await row(host, graceSeat.participantId).getByText("offline").waitFor({ timeout: WAIT_MS });
    await sendChat(host, "Grace, you missed this");
    await grace.goto(graceUrl);
    await waitForChat(grace, [...firstChat, "Grace, you missed this"]);
    expect(await chatTexts(grace)).toEqual([...firstChat, "Grace, you missed this"]);
    expect((await seatOf(grace)).participantId).toBe(graceSeat.participantId);
    await row(host, graceSeat.participantId).getByText("online").waitFor({ timeout: WAIT_MS });
    expect(await host.locator(".participants li").count()).toBe(3);
    await playsVideos(grace, 3);

    // The host removes Grace; her page says so, and she is gone from the others' lists.
    await host.getByRole("button", { name: "Remove Grace from the meeting" }).click();
    await sees(grace, "The host removed you from the meeting.");
    await sees(linus, "Participants (2)");
    expect(await row(linus, graceSeat.participantId).count()).toBe(0);

    // Linus duplicates his tab (the browser copies sessionStorage): the new tab takes his seat, the old one says why it stopped.
    const storedSeat = await linus.evaluate(() => sessionStorage.getItem("meettime.seat"));
    const linusAgain = await linus.context().newPage();
    await linusAgain.addInitScript((seat) => {
      if (seat && !sessionStorage.getItem("meettime.seat")) sessionStorage.setItem("meettime.seat", seat);
    }, storedSeat);
    await linusAgain.goto(linus.url());
    await sees(linus, "You opened this meeting in another tab or window, so this tab was disconnected.");
    await sees(linusAgain, "Participants (2)");
    expect((await seatOf(linusAgain)).participantId).toBe(linusSeat.participantId);

    // The host ends the meeting; every page still in it says so and lets go of the camera.
    await host.getByRole("button", { name: "End meeting" }).click();
    await host.getByRole("button", { name: "End for everyone" }).click();
    await sees(host, "You ended the meeting.");
    await sees(linusAgain, "The host ended the meeting.");
    expect(await linusAgain.locator(".video-grid video").count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it("keeps names from posing as roles, stores a chat burst once, and says what happened", {
    timeout: 150_000,
  }, async () => {
    // A cut-off link is broken, not a meeting that is gone, and the page offers a way on.
    const stranger = await person("Europe/London");
    await stranger.goto(`${baseUrl()}/app/#join=eyJhbGciOiJIUzI1NiJ9.cut-off`);
    await sees(stranger, "This invite link is broken");
    await stranger.getByRole("link", { name: "Create a meeting" }).waitFor({ timeout: WAIT_MS });
    expect(await stranger.getByText("does not exist").count()).toBe(0);

    const host = await person("Europe/Berlin");
    const eve = await person("America/New_York");
    // Counts Eve's writes of her seat, to see that a chat burst is stored once per interval, not once per message.
    await eve.addInitScript(() => {
      const counter = window as unknown as { seatWrites: number };
      counter.seatWrites = 0;
      const setItem = Storage.prototype.setItem;
      Storage.prototype.setItem = function (key: string, value: string) {
        if (key === "meettime.seat") counter.seatWrites += 1;
        setItem.call(this, key, value);
      };
    });
    await createMeeting(host, `${baseUrl()}/app/`, "Names and words");
    const hostSeat = await seatOf(host);
    const minted = await api("POST", `/api/meetings/${hostSeat.meetingId}/tokens`, {
      token: hostSeat.token,
      body: { count: 2 },
    });
    const [eveInvite, botInvite] = minted.body.tokens.map((t: { token: string }) => t.token);
    const eveLink = `${baseUrl()}/app/#join=${eveInvite}`;
    await join(eve, eveLink, "Eve · host", "Names and words");
    const eveSeat = await seatOf(eve);

    // Eve's name is isolated and carries no role tag; only the real host's row, tile and messages have one.
    const eveRow = row(host, eveSeat.participantId);
    await eveRow.waitFor({ timeout: WAIT_MS });
    expect(await eveRow.locator("bdi").textContent()).toBe("Eve · host");
    expect(await eveRow.locator(".role-tag").count()).toBe(0);
    expect(await row(host, hostSeat.participantId).locator(".role-tag").allTextContents()).toEqual([
      " (you)",
      " · host",
    ]);
    await sendChat(eve, "I am the host now");
    await waitForChat(host, ["I am the host now"]);
    const eveMessage = host.locator(".chat-log li", { hasText: "I am the host now" });
    expect(await eveMessage.locator(".meta bdi").textContent()).toBe("Eve · host");
    expect(await eveMessage.locator(".role-tag").count()).toBe(0);
    const eveTile = host.locator(".video-grid .tile", {
      has: host.locator(`video[data-participant-id="${eveSeat.participantId}"]`),
    });
    await eveTile.locator(".tile-name bdi", { hasText: "Eve · host" }).waitFor({ timeout: WAIT_MS });
    expect(await eveTile.locator(".role-tag").count()).toBe(0);

    // A burst of ten messages (a full chat bucket) from a third participant: Eve shows them all, stores them
    // all, and writes her seat a few times, not once per message.
    const bot = await api("POST", "/api/meetings/join", { body: { token: botInvite, displayName: "Bot" } });
    const botSocket = await connect(hostSeat.meetingId, bot.body.sessionToken);
    await sees(eve, "Participants (3)");
    await eve.evaluate(() => {
      (window as unknown as { seatWrites: number }).seatWrites = 0;
    });
    const burst = Array.from({ length: 10 }, (_, i) => `burst ${i + 1}`);
    for (const text of burst) botSocket.send({ type: "chat:message", data: { text } });
    await waitForChat(eve, burst);
    await eve.waitForFunction(
      (last) => JSON.parse(sessionStorage.getItem("meettime.seat") ?? "{}").chat?.at(-1)?.text === last,
      burst.at(-1),
      { timeout: WAIT_MS },
    );
    expect(await eve.evaluate(() => (window as unknown as { seatWrites: number }).seatWrites)).toBeLessThan(5);
    botSocket.ws.close();

    // A live time change shows a visible notice with the new time and its zone.
    const newDate = dateAhead(3);
    const moved = await api("PUT", `/api/meetings/${hostSeat.meetingId}/datetime`, {
      token: hostSeat.token,
      body: { scheduledAt: `${newDate}T17:30:00.000Z`, timezone: "UTC" },
    });
    expect(moved.status).toBe(200);
    const notice = eve.locator(".time-changed");
    await notice.getByText(/Ada changed the time to .*17:30, UTC/).waitFor({ state: "visible", timeout: WAIT_MS });
    expect((await notice.boundingBox())?.height).toBeGreaterThan(10);

    // Removed with the default reason: said once. After a reload, and on opening the invite again, still said.
    await host.getByRole("button", { name: "Remove Eve · host from the meeting" }).click();
    await sees(eve, "The host removed you from the meeting.");
    expect(await eve.getByText("Reason:").count()).toBe(0);
    await eve.reload();
    await sees(eve, "You are no longer in this meeting");
    await sees(eve, "The host removed you from the meeting.");
    await eve.getByRole("link", { name: "Create a meeting" }).waitFor({ timeout: WAIT_MS });
    await eve.goto(eveLink);
    await sees(eve, "The host removed you from the meeting.");

    // The spent invite, opened in another browser: used, not "invalid", with a way on.
    await stranger.goto(eveLink);
    await sees(stranger, "This invite link has already been used");
    await stranger.getByRole("link", { name: "Create a meeting" }).waitFor({ timeout: WAIT_MS });

    // The host ends the meeting and reads that they did.
    await host.getByRole("button", { name: "End meeting" }).click();
    await host.getByRole("button", { name: "End for everyone" }).click();
    await sees(host, "You ended the meeting.");
    expect(pageErrors).toEqual([]);
  });

  it("says who is left out of the video beyond the mesh's cap", { timeout: 120_000 }, async () => {
    const [host, grace, linus] = [
      await person("Europe/Berlin"),
      await person("America/New_York"),
      await person("Asia/Tokyo"),
    ];
    // A cap of 1 peer (2 people) stands in for the default 6, which would take 8 browsers to pass.
    await createMeeting(host, `${baseUrl()}/app/?maxPeers=1`, "Small call");
    const [graceInvite, linusInvite] = [await createInvite(host), await createInvite(host)];
    await join(grace, graceInvite, "Grace", "Small call");
    await playsVideos(grace, 2);
    await join(linus, linusInvite, "Linus", "Small call");
    await sees(host, "Not in the video: Linus. They can still chat.");
    await sees(linus, /The video call holds 2 people .* it is full: you are in the meeting for chat/);
    expect(await linus.locator(".video-grid .tile").count()).toBe(1);
    await sendChat(linus, "I can only chat");
    await waitForChat(host, ["I can only chat"]);

    // Someone leaves the video; the next in line gets it.
    await grace.getByRole("button", { name: "Leave meeting" }).click();
    await sees(grace, "You left the meeting.");
    await playsVideos(linus, 2);
    await playsVideos(host, 2);
    expect(await host.locator(".call .notice").textContent()).toBe("");
    expect(pageErrors).toEqual([]);
  });

  it.skipIf(!inject("turn"))("with ?relay=1 holds the call through TURN only", { timeout: 120_000 }, async () => {
    const [host, guest] = [await person("Europe/Berlin"), await person("Europe/Paris")];
    // Records every peer connection the app makes, to read its configuration and the path it chose.
    for (const page of [host, guest]) {
      await page.addInitScript(() => {
        const Native = window.RTCPeerConnection;
        const made: RTCPeerConnection[] = [];
        (window as unknown as { peerConnections: RTCPeerConnection[] }).peerConnections = made;
        window.RTCPeerConnection = class extends Native {
          constructor(config?: RTCConfiguration) {
            super(config);
            made.push(this);
          }
        };
      });
    }
    await createMeeting(host, `${baseUrl()}/app/?relay=1`, "Relayed call");
    const invite = await createInvite(host);
    expect(new URL(invite).search).toBe("?relay=1");
    await join(guest, invite, "Grace", "Relayed call");
    for (const page of [host, guest]) {
      await playsVideos(page, 2);
      const paths = await page.evaluate(async () => {
        const pcs = (window as unknown as { peerConnections: RTCPeerConnection[] }).peerConnections;
        return Promise.all(
          pcs
            .filter((pc) => pc.connectionState === "connected")
            .map(async (pc) => {
              const stats = [...(await pc.getStats()).values()];
              const transport = stats.find((s) => s.type === "transport" && s.selectedCandidatePairId);
              const pair = stats.find((s) => s.id === transport?.selectedCandidatePairId);
              const local = stats.find((s) => s.id === pair?.localCandidateId);
              return { policy: pc.getConfiguration().iceTransportPolicy, localType: local?.candidateType };
            }),
        );
      });
      expect(paths).toEqual([{ policy: "relay", localType: "relay" }]);
    }
    expect(pageErrors).toEqual([]);
  });
});

/**
 * A server that sets CREATE_KEYS (its own wrangler dev): the create page asks
 * for a key on the 401, says when a key is wrong, and keeps the right one on
 * the device only when "Remember on this device" is ticked.
 */
describe.skipIf(!browserAvailable)("the create page on a server that needs a create key", () => {
  const CREATE_KEY = `e2e-create-key-${crypto.randomUUID()}`;
  let server: RestartableServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await restartableServer({ CREATE_KEYS: CREATE_KEY });
    await server.start();
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  /** Fills the form and presses Create; the key field only when the page shows it. */
  async function submit(page: Page, title: string, key?: { value: string; remember: boolean }) {
    await page.getByLabel("Title").fill(title);
    await page.getByLabel("Your name").fill("Ada");
    await page.getByLabel("Date").fill(dateAhead(2));
    if (key) {
      await page.getByLabel("Create key").fill(key.value);
      await page.getByLabel("Remember on this device").setChecked(key.remember);
    }
    await page.getByRole("button", { name: "Create meeting" }).click();
  }

  it("asks for the key, refuses a wrong one, and remembers the right one only when asked", {
    timeout: 120_000,
  }, async () => {
    const context = await browser.newContext({ locale: "en-GB" });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${server.baseUrl}/app/`);
    await page.getByRole("heading", { name: "Create a meeting" }).waitFor();
    expect(await page.getByLabel("Create key").isVisible()).toBe(false);

    await submit(page, "Keyed");
    await sees(page, "This server lets only people with a key create meetings.");
    await submit(page, "Keyed", { value: "wrong-key-that-is-long-enough-0123456789", remember: true });
    await sees(page, "That key was not accepted.");
    expect(await page.evaluate(() => localStorage.getItem("meettime.createKey"))).toBeNull();

    await submit(page, "Keyed", { value: CREATE_KEY, remember: false });
    await page.getByRole("heading", { name: "Keyed", exact: true }).waitFor({ timeout: WAIT_MS });
    expect(await page.evaluate(() => localStorage.getItem("meettime.createKey"))).toBeNull();

    // A new page of the same browser asks again; ticked, the key stays on the device and is used unasked.
    const second = await context.newPage();
    await second.goto(`${server.baseUrl}/app/`);
    await submit(second, "Asked again");
    await sees(second, "This server lets only people with a key create meetings.");
    await submit(second, "Asked again", { value: CREATE_KEY, remember: true });
    await second.getByRole("heading", { name: "Asked again", exact: true }).waitFor({ timeout: WAIT_MS });
    const third = await context.newPage();
    await third.goto(`${server.baseUrl}/app/`);
    await submit(third, "Remembered");
    await third.getByRole("heading", { name: "Remembered", exact: true }).waitFor({ timeout: WAIT_MS });

    expect(server.output()).not.toContain(CREATE_KEY);
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});
