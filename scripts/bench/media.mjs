#!/usr/bin/env node
// @ts-check
/**
 * `npm run bench:media`: the media paths compared in the web app, as people
 * use it. Two servers run side by side for the whole run, a mesh one
 * (`wrangler dev`, no SFU) and an SFU one (`wrangler dev` with the local
 * SFU), and the variants alternate round by round so both see the same
 * machine. In each round N people open invite links in one headless
 * Chromium (a context each, fake 160x120 cameras at 10 fps, the app's own
 * pages; no WebRTC flags in the test namespace `npm run bench:media` runs
 * it in); the last one's click on "Join meeting" starts the clock:
 *
 * - join → first remote frame: until the first other person's video shows a frame;
 * - join → all remote frames: until every other person's video does;
 * - upload per browser: each page's `outbound-rtp` bytes over `--seconds`
 *   once everyone plays everyone (mesh: one copy per peer; SFU: one copy).
 *
 * A size written `sfu:16:publishers` makes everyone but the timed person a
 * publish-only stand-in (scripts/lib/sfu-page.mjs `publishOnlyInMeeting`):
 * they publish camera and microphone through the worker and pull nothing,
 * as if their receiving ran on their own machines. Then 16 people fit on
 * two cores, and the last one, in the app, pulls all 15.
 *
 *   node scripts/bench/media.mjs [--rounds 3] [--sizes mesh:2,sfu:2,mesh:6,sfu:6,sfu:8,sfu:16:publishers] [--seconds 10]
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { launchChromiumForLocalSfu, localSfuBrowsers } from "../lib/chromium.mjs";
import { startWranglerDev } from "../lib/dev-server.mjs";
import { publishOnlyInMeeting } from "../lib/sfu-page.mjs";
import { startSfuMeetingServer } from "../lib/sfu-stack.mjs";
import { createBody, post } from "./lib/rest-client.mjs";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    sizes: { type: "string", default: "mesh:2,sfu:2,mesh:6,sfu:6,sfu:8,sfu:16:publishers" },
    seconds: { type: "string", default: "10" },
  },
});
const ROUNDS = Number(values.rounds);
const WINDOW_SECONDS = Number(values.seconds);
/** @type {{ variant: "mesh" | "sfu", people: number, others: "app" | "publishers" }[]} */
const CASES = values.sizes.split(",").map((entry) => {
  const [variant, people, others = "app"] = entry.split(":");
  if (variant !== "mesh" && variant !== "sfu") throw new Error(`--sizes: ${entry}`);
  if (others !== "app" && (others !== "publishers" || variant !== "sfu")) throw new Error(`--sizes: ${entry}`);
  return { variant, people: Number(people), others };
});
const PLAY_TIMEOUT_MS = 180_000;

const SERVER_VARS = {
  JWT_SECRET: `bench-media-${crypto.randomUUID()}-${crypto.randomUUID()}`,
  RATE_LIMIT_MAX_REQUESTS: "1000000",
  LOG_LEVEL: "warn",
  // No STUN: nothing leaves the machine, and host candidates on loopback are all a page needs.
  STUN_URLS: "",
};

/** Every page's peer connections, kept so the benchmark can read their stats; and a small camera. */
function pageSetup() {
  const page = /** @type {any} */ (window);
  const Native = window.RTCPeerConnection;
  page.peerConnections = [];
  window.RTCPeerConnection = class extends Native {
    /** @param {RTCConfiguration} [config] */
    constructor(config) {
      super(config);
      page.peerConnections.push(this);
      // When each connection comes up and each track arrives, relative to the click (MEETTIME_DEBUG=1 prints them).
      page.timeline ??= [];
      const at = () => Math.round(performance.now() - (page.joinClickedAt ?? 0));
      this.addEventListener("connectionstatechange", () => page.timeline.push(`${at()} ${this.connectionState}`));
      this.addEventListener("track", (event) => page.timeline.push(`${at()} track ${event.track.kind}`));
    }
  };
  const devices = navigator.mediaDevices;
  const getUserMedia = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints) =>
    getUserMedia({
      ...constraints,
      ...(constraints?.video ? { video: { width: 160, height: 120, frameRate: 10 } } : {}),
    });
  // How many remote videos play (a decoded frame in a tile that is not the page's own).
  page.remoteVideosPlaying = () =>
    [...document.querySelectorAll(".video-grid .tile video")].filter(
      (video) =>
        !(/** @type {HTMLVideoElement} */ (video).muted) && /** @type {HTMLVideoElement} */ (video).videoWidth > 0,
    ).length;
  // The click on "Join meeting", and each remote tile's first frame after it.
  page.firstFrameAt = {};
  document.addEventListener(
    "click",
    (event) => {
      const target = /** @type {HTMLElement} */ (event.target);
      if (target.textContent !== "Join meeting") return;
      page.joinClickedAt = performance.now();
      const timer = setInterval(() => {
        for (const video of document.querySelectorAll(".video-grid .tile video")) {
          const id = video.getAttribute("data-participant-id") ?? "";
          if (video.muted || page.firstFrameAt[id] !== undefined) continue;
          if (/** @type {HTMLVideoElement} */ (video).videoWidth > 0) page.firstFrameAt[id] = performance.now();
        }
      }, 20);
      setTimeout(() => clearInterval(timer), 300_000);
    },
    true,
  );
}

/** @param {import("playwright-core").Page} page */
const uploadedBytes = (page) =>
  page.evaluate(async () => {
    let bytes = 0;
    for (const pc of /** @type {RTCPeerConnection[]} */ (/** @type {any} */ (window).peerConnections)) {
      if (pc.connectionState === "closed") continue;
      (await pc.getStats()).forEach((/** @type {any} */ stats) => {
        if (stats.type === "outbound-rtp") bytes += stats.bytesSent ?? 0;
      });
    }
    return bytes;
  });

/**
 * One meeting of `people` on `baseUrl`: everyone joins through invite links; the last one is timed.
 * `others: "publishers"`: everyone before the last publishes only, outside the app.
 * @param {import("playwright-core").Browser} browser
 * @param {string} baseUrl
 * @param {number} people
 * @param {"app" | "publishers"} others
 */
async function meeting(browser, baseUrl, people, others) {
  const created = await post(`${baseUrl}/api/meetings`, createBody("Bench"));
  const { tokens } = await post(
    `${baseUrl}/api/meetings/${created.meeting.id}/tokens`,
    { count: people },
    created.hostToken,
  );
  /** @type {import("playwright-core").BrowserContext[]} */
  const contexts = [];
  try {
    /** @type {import("playwright-core").Page[]} */
    const pages = [];
    for (let i = 0; i < people; i++) {
      const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
      contexts.push(context);
      await context.addInitScript(pageSetup);
      const page = await context.newPage();
      if (others === "publishers" && i < people - 1) {
        await page.goto(`${baseUrl}/app/`);
        await page.evaluate(publishOnlyInMeeting, { invite: tokens[i].token, displayName: `P${i + 1}` });
        debug(`P${i + 1} publishes`);
        continue;
      }
      await page.goto(`${baseUrl}/app/#join=${tokens[i].token}`);
      await page.getByRole("textbox", { name: "Your name" }).fill(`P${i + 1}`);
      await page.getByRole("button", { name: "Join meeting" }).click();
      pages.push(page);
      // Everyone before the last is settled in before the timed join.
      if (i < people - 2) {
        await playsAll(page, i);
        debug(`P${i + 1} joined and plays everyone before it`);
      }
    }
    await Promise.all(pages.map((page) => playsAll(page, people - 1))).catch(async (error) => {
      const playing = await Promise.all(pages.map((page) => playingCount(page).catch(() => -1)));
      throw new Error(`${error.message.split("\n")[0]} (remote videos playing per page: ${playing.join(", ")})`);
    });
    const last = /** @type {import("playwright-core").Page} */ (pages.at(-1));
    const times = await last.evaluate(() => {
      const page = /** @type {any} */ (window);
      const frames = /** @type {number[]} */ (Object.values(page.firstFrameAt)).map((t) => t - page.joinClickedAt);
      return { first: Math.min(...frames), all: Math.max(...frames) };
    });
    if (process.env.MEETTIME_DEBUG === "1") {
      console.error(await last.evaluate(() => /** @type {any} */ (window).timeline.join(", ")));
    }
    const before = await Promise.all(pages.map(uploadedBytes));
    await sleep(WINDOW_SECONDS * 1000);
    const after = await Promise.all(pages.map(uploadedBytes));
    const uploadKbps = after.map((bytes, i) => ((bytes - (before[i] ?? 0)) * 8) / 1000 / WINDOW_SECONDS);
    return { ...times, uploadKbps: median(uploadKbps) };
  } finally {
    for (const context of contexts) await context.close().catch(() => {});
  }
}

/** @param {string} line */
function debug(line) {
  if (process.env.MEETTIME_DEBUG === "1") console.error(`${new Date().toISOString().slice(11, 19)} ${line}`);
}

/** @param {import("playwright-core").Page} page */
const playingCount = (page) => page.evaluate(() => /** @type {any} */ (window).remoteVideosPlaying());

/**
 * Waits until `page` plays `count` remote videos.
 * @param {import("playwright-core").Page} page
 * @param {number} count
 */
async function playsAll(page, count) {
  await page.waitForFunction((n) => /** @type {any} */ (window).remoteVideosPlaying() >= n, count, {
    timeout: PLAY_TIMEOUT_MS,
  });
}

/** @param {{ variant: string, people: number, others: string }} scenario */
function caseName({ variant, people, others }) {
  return others === "publishers" ? `${variant} ${people} (publishers)` : `${variant} ${people}`;
}

/** @param {number[]} values */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

// One after the other: each wrangler runs the asset build into the same dist/ at start.
const meshServer = await startWranglerDev({ httpPorts: [8700, 8749], inspectorPorts: [9300, 9349], vars: SERVER_VARS });
const sfuServer = await startSfuMeetingServer({
  httpPorts: [8750, 8799],
  inspectorPorts: [9350, 9399],
  sfuPorts: [8450, 8499],
  vars: SERVER_VARS,
  peers: "machine",
});
const browser = await launchChromiumForLocalSfu();
console.error(`in ${localSfuBrowsers}`);
/** @type {Map<string, { first: number[], all: number[], uploadKbps: number[] }>} */
const results = new Map();
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const { variant, people, others } of CASES) {
      const baseUrl = variant === "mesh" ? meshServer.baseUrl : sfuServer.baseUrl;
      const key = caseName({ variant, people, others });
      try {
        const run = await meeting(browser, baseUrl, people, others);
        const entry = results.get(key) ?? { first: [], all: [], uploadKbps: [] };
        entry.first.push(run.first);
        entry.all.push(run.all);
        entry.uploadKbps.push(run.uploadKbps);
        results.set(key, entry);
        console.error(
          `round ${round} ${key}: first ${run.first.toFixed(0)} ms, all ${run.all.toFixed(0)} ms, upload ${run.uploadKbps.toFixed(0)} kbit/s`,
        );
      } catch (error) {
        console.error(
          `round ${round} ${key}: failed: ${error instanceof Error ? error.message.split("\n")[0] : error}`,
        );
      }
    }
  }
} finally {
  await browser.close();
  await Promise.all([meshServer.stop(), sfuServer.stop()]);
}

console.log(
  `| media | people | runs | join → first remote frame (median) | join → all remote frames (median) | upload per browser (median) |`,
);
console.log(`| --- | --- | --- | --- | --- | --- |`);
for (const scenario of CASES) {
  const { variant, people } = scenario;
  const entry = results.get(caseName(scenario));
  const who = scenario.others === "publishers" ? `${people} (${people - 1} publish only)` : `${people}`;
  if (!entry) {
    console.log(`| ${variant} | ${who} | 0 | failed | failed | failed |`);
    continue;
  }
  console.log(
    `| ${variant} | ${who} | ${entry.first.length} | ${median(entry.first).toFixed(0)} ms | ${median(entry.all).toFixed(0)} ms | ${median(entry.uploadKbps).toFixed(0)} kbit/s |`,
  );
}
