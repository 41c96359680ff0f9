/**
 * Two Chromium tabs hold a real call through MeetTime: each opens the
 * meeting's WebSocket with its token as subprotocol, WebRTC offer/answer/ICE
 * travel through the meeting object, and the peer connection comes up with
 * the fake camera and microphone flowing both ways. Chat goes tab to tab.
 *
 * Needs Debian's chromium (/usr/bin/chromium); `.ci/run` installs it and sets
 * MEETTIME_REQUIRE_BROWSER=1 so a missing browser fails CI instead of skipping.
 */
import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserAvailable, launchChromium, serveTestPages, type TestPages } from "./helpers/chromium";
import { api, baseUrl } from "./helpers/client";

interface CallState {
  self: { id: string; role: string } | null;
  protocol?: string;
  frames: string[];
  chat: { text: string; name: string; seq: number }[];
  connectionState: string;
  remoteTracks: number;
  errors: string[];
}

const callState = (page: Page) => page.evaluate(() => (window as unknown as { call: CallState }).call);

async function waitForState(page: Page, what: string, done: (state: CallState) => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await callState(page);
    if (done(state)) return state;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(state)}`);
    await page.waitForTimeout(200);
  }
}

describe.skipIf(!browserAvailable)("a call between two browser tabs", () => {
  let browser: Browser;
  let pages: TestPages;

  beforeAll(async () => {
    // The page is served from 127.0.0.1, a secure context, so getUserMedia is allowed.
    const html = readFileSync(new URL("./helpers/browser/call.html", import.meta.url));
    pages = await serveTestPages({ "/": { type: "text/html", body: html } });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    pages?.close();
  });

  it("connects WebRTC peers through MeetTime signaling and chats", async () => {
    const created = await api("POST", "/api/meetings", {
      body: { title: "Browser call", hostName: "Ada", scheduledAt: new Date(Date.now() + 60_000).toISOString() },
    });
    expect(created.status).toBe(201);
    const meetingId = created.body.meeting.id as string;
    const minted = await api("POST", `/api/meetings/${meetingId}/tokens`, { token: created.body.hostToken, body: {} });
    const joined = await api("POST", "/api/meetings/join", {
      body: { token: minted.body.tokens[0].token, displayName: "Grace" },
    });
    expect(joined.status).toBe(200);

    const wsUrl = `${baseUrl().replace(/^http/, "ws")}${joined.body.wsUrl}`;
    const context = await browser.newContext();
    const open = async (token: string, role: "caller" | "callee") => {
      const page = await context.newPage();
      const query = new URLSearchParams({ ws: wsUrl, token, role });
      await page.goto(`${pages.origin}/call.html?${query}`);
      return page;
    };
    // The guest is in the room first; the host calls whoever is connected when it arrives.
    const guest = await open(joined.body.sessionToken, "callee");
    await waitForState(guest, "guest joined", (s) => s.self !== null);
    const host = await open(created.body.hostToken, "caller");

    // ICE can connect on a peer-reflexive pair before the guest's trickled candidates reach the host, so
    // the host's wait includes them (with a LAN address beside loopback, that race is often lost).
    const [hostCall, guestCall] = await Promise.all([
      waitForState(
        host,
        "host connected",
        (s) => s.connectionState === "connected" && s.remoteTracks >= 2 && s.frames.includes("webrtc:ice-candidate"),
      ),
      waitForState(guest, "guest connected", (s) => s.connectionState === "connected" && s.remoteTracks >= 2),
    ]);
    expect(hostCall.protocol).toBe("meettime");
    expect(hostCall.self?.role).toBe("host");
    expect(guestCall.frames).toContain("webrtc:offer");
    expect(hostCall.frames).toContain("webrtc:answer");
    expect(hostCall.frames).toContain("webrtc:ice-candidate");
    expect([...hostCall.errors, ...guestCall.errors]).toEqual([]);

    await host.evaluate(() => (window as unknown as { sendChat(text: string): void }).sendChat("can you hear me?"));
    const heard = await waitForState(guest, "chat", (s) => s.chat.length > 0);
    expect(heard.chat[0]).toMatchObject({ text: "can you hear me?", name: "Ada", seq: 1 });
    await context.close();
  });
});
