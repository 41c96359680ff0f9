#!/usr/bin/env node
// @ts-check
/**
 * The local SFU under a small meeting: `--pages` headless Chromium pages
 * (default 4) each publish a fake 320x240 camera at 15 fps and a
 * microphone, then pull every other page's video and audio at once. Prints
 * how long each pulled video took from the pull to its first decoded
 * frame, how many remote videos play, and the SFU process's CPU (it runs
 * as `node sfu/server.mjs`, a child of this script) over a `--seconds`
 * window of steady forwarding.
 *
 *   node scripts/bench/local-sfu.mjs [--pages 4] [--seconds 10]
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { CHROMIUM_LOOPBACK_FLAGS, launchChromium } from "../lib/chromium.mjs";
import { ROOT } from "../lib/dev-server.mjs";
import { publishCameraInPage, pullTracksInPage } from "../lib/sfu-page.mjs";

const { values } = parseArgs({
  options: { pages: { type: "string", default: "4" }, seconds: { type: "string", default: "10" } },
});
const PAGE_COUNT = Number(values.pages);
const WINDOW_SECONDS = Number(values.seconds);
const APP_ID = "bench-app";
const APP_SECRET = "bench-secret";
const CLOCK_TICKS_PER_SECOND = 100;

/** A free port on 127.0.0.1. */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  await new Promise((resolve) => server.close(() => resolve(undefined)));
  return typeof address === "object" && address ? address.port : 0;
}

/** @param {number} pid user + system CPU seconds so far, from /proc */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

const port = await freePort();
const baseUrl = `http://127.0.0.1:${port}/v1`;
const sfuProcess = spawn(process.execPath, ["sfu/server.mjs"], {
  cwd: ROOT,
  env: { ...process.env, SFU_PORT: String(port), SFU_APP_ID: APP_ID, SFU_APP_SECRET: APP_SECRET },
  stdio: ["ignore", "pipe", "inherit"],
});
await new Promise((resolve) => sfuProcess.stdout?.once("data", resolve));

/** @type {(method: string, path: string, body?: unknown) => Promise<{ status: number, body: any }>} */
async function callSfu(method, path, body) {
  const response = await fetch(`${baseUrl}/apps/${APP_ID}/${path}`, {
    method,
    headers: { authorization: `Bearer ${APP_SECRET}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const browser = await launchChromium(CHROMIUM_LOOPBACK_FLAGS);
const pageServer = createServer((_request, response) => response.end("<!doctype html><title>bench</title>"));
await new Promise((resolve) => pageServer.listen(0, "127.0.0.1", () => resolve(undefined)));
const pageAddress = pageServer.address();
const origin = `http://127.0.0.1:${typeof pageAddress === "object" && pageAddress ? pageAddress.port : 0}`;

try {
  const participants = [];
  for (let index = 0; index < PAGE_COUNT; index++) {
    const page = await browser.newPage();
    await page.exposeFunction("callSfu", callSfu);
    await page.goto(origin);
    const sessionId = (await callSfu("POST", "sessions/new")).body.sessionId;
    const tracks = await page.evaluate(publishCameraInPage, { sessionId, prefix: `p${index}` });
    participants.push({ page, sessionId, tracks });
  }
  await Promise.all(
    participants.map(({ page, sessionId }) =>
      page.evaluate(pullTracksInPage, {
        sessionId,
        tracks: participants
          .filter((other) => other.sessionId !== sessionId)
          .flatMap((other) =>
            other.tracks.map((track) => ({ sessionId: other.sessionId, trackName: track.trackName })),
          ),
      }),
    ),
  );
  const expectedVideos = PAGE_COUNT * (PAGE_COUNT - 1);
  /** @type {number[]} */
  const firstFrameMs = [];
  await Promise.all(
    participants.map(async ({ page }) => {
      const times = await page.evaluate(
        (count) =>
          new Promise((resolve) => {
            const page = /** @type {any} */ (window);
            /** @type {Record<string, number>} */
            const seen = {};
            const check = () => {
              for (const video of document.querySelectorAll("video")) {
                const name = video.dataset.track ?? "";
                if (video.videoWidth > 0 && seen[name] === undefined) {
                  seen[name] = performance.now() - page.pullStartedAt[name];
                }
              }
              if (Object.keys(seen).length >= count) resolve(Object.values(seen));
              else setTimeout(check, 20);
            };
            check();
            setTimeout(() => resolve(Object.values(seen)), 30_000);
          }),
        PAGE_COUNT - 1,
      );
      firstFrameMs.push(.../** @type {number[]} */ (times));
    }),
  );
  await sleep(2000);
  const cpuBefore = cpuSeconds(sfuProcess.pid ?? 0);
  await sleep(WINDOW_SECONDS * 1000);
  const cpuShare = (cpuSeconds(sfuProcess.pid ?? 0) - cpuBefore) / WINDOW_SECONDS;
  const playing = (
    await Promise.all(
      participants.map(({ page }) =>
        page.evaluate(
          () => [...document.querySelectorAll("video")].filter((video) => video.videoWidth > 0 && !video.paused).length,
        ),
      ),
    )
  ).reduce((sum, count) => sum + count, 0);
  firstFrameMs.sort((a, b) => a - b);
  const median = firstFrameMs[Math.floor(firstFrameMs.length / 2)] ?? Number.NaN;
  console.log(`pages: ${PAGE_COUNT}, remote videos playing: ${playing}/${expectedVideos}`);
  console.log(
    `pull to first frame: median ${median.toFixed(0)} ms, max ${(firstFrameMs.at(-1) ?? Number.NaN).toFixed(0)} ms (${firstFrameMs.length} videos)`,
  );
  console.log(`SFU CPU over ${WINDOW_SECONDS} s of forwarding: ${(cpuShare * 100).toFixed(1)} % of one core`);
} finally {
  await browser.close();
  pageServer.close();
  sfuProcess.kill("SIGTERM");
}
