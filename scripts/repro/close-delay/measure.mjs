// @ts-check
/**
 * Measures how long after a server-initiated close a Node `ws` client sees
 * its `close` event (the TCP connection ending), for each way of closing,
 * against the minimal worker of this folder (real TCP on 127.0.0.1).
 * Prints one line per case.
 *
 *   node scripts/repro/close-delay/measure.mjs                 # wrangler dev (its bundled workerd)
 *   node scripts/repro/close-delay/measure.mjs miniflare       # Miniflare, no dev proxy (the newer workerd)
 *   node scripts/repro/close-delay/measure.mjs wrangler-miniflare  # Miniflare of wrangler's workerd
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { freePort, ROOT, startWranglerDev } from "../../lib/dev-server.mjs";

const CONFIG = fileURLToPath(new URL("./wrangler.toml", import.meta.url));
const GIVE_UP_MS = 20_000;

/**
 * Another client that sends a frame every 200 ms, keeping the object busy.
 * @param {string} baseUrl
 */
async function busyNeighbour(baseUrl) {
  const ws = new WebSocket(`${baseUrl.replace("http", "ws")}/ws?echo=1&neighbour=1`);
  await new Promise((resolve) => ws.once("open", resolve));
  const timer = setInterval(() => ws.send("hello"), 200);
  return () => {
    clearInterval(timer);
    ws.terminate();
  };
}

/**
 * Connects, closes the socket the way `close` says, and returns the milliseconds
 * from the close frame's arrival to the client's `close` event.
 * @param {string} baseUrl
 * @param {boolean} echo
 * @param {(ws: WebSocket) => Promise<void> | void} close
 */
async function measure(baseUrl, echo, close) {
  const ws = new WebSocket(`${baseUrl.replace("http", "ws")}/ws?echo=${echo ? 1 : 0}`);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  /** @type {number | undefined} */
  let frameAt;
  // `ws` answers the close frame itself; this hook only times when it arrived.
  const receiver = /** @type {any} */ (ws)._receiver;
  receiver.on("conclude", () => {
    frameAt = performance.now();
  });
  const closed = new Promise((resolve) => ws.once("close", (code) => resolve({ code, at: performance.now() })));
  const startedAt = performance.now();
  await close(ws);
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), GIVE_UP_MS));
  const result = /** @type {{ code: number, at: number } | null} */ (await Promise.race([closed, timeout]));
  if (!result) {
    ws.terminate();
    return `no close event within ${GIVE_UP_MS / 1000} s`;
  }
  const frame = frameAt ?? startedAt;
  return `close frame after ${Math.round(frame - startedAt)} ms, close event (code ${result.code}) ${Math.round(result.at - frame)} ms after the frame`;
}

/** Miniflare straight on workerd (no wrangler dev proxy), from the project's or wrangler's own copy. */
async function startMiniflare(/** @type {string} */ from) {
  const require = createRequire(
    from === "wrangler" ? `${ROOT}node_modules/wrangler/package.json` : `${ROOT}package.json`,
  );
  const { Miniflare } = await import(require.resolve("miniflare"));
  const port = await freePort([8950, 8969]);
  const mf = new Miniflare({
    modules: true,
    scriptPath: fileURLToPath(new URL("./worker.js", import.meta.url)),
    compatibilityDate: "2026-04-26",
    // e.g. CLOSE_DELAY_FLAGS=web_socket_manual_reply_to_close to compare the older close handling.
    compatibilityFlags: (process.env.CLOSE_DELAY_FLAGS ?? "").split(",").filter(Boolean),
    durableObjects: { ROOM: { className: "Room", useSQLite: true } },
    host: "127.0.0.1",
    port,
  });
  const url = await mf.ready;
  const version = require("miniflare/package.json").version;
  const flags = process.env.CLOSE_DELAY_FLAGS ? `, flags ${process.env.CLOSE_DELAY_FLAGS}` : "";
  return { baseUrl: url.origin, label: `Miniflare ${version}${flags}`, stop: () => mf.dispose() };
}

const runner = process.argv[2] ?? "wrangler";
const server =
  runner === "wrangler"
    ? {
        ...(await startWranglerDev({ httpPorts: [8950, 8969], inspectorPorts: [9950, 9969], config: CONFIG })),
        label: "wrangler dev",
      }
    : await startMiniflare(runner === "wrangler-miniflare" ? "wrangler" : "project");
try {
  console.log(`${server.label}, ${server.baseUrl}`);
  for (const echo of [true, false]) {
    const cases = {
      "REST kick (another request)": () => fetch(`${server.baseUrl}/kick`, { method: "POST" }).then((r) => r.text()),
      "REST kick, request kept open 500 ms after close()": () =>
        fetch(`${server.baseUrl}/kick?wait=500`, { method: "POST" }).then((r) => r.text()),
      "REST kick while another client keeps the object busy": async () => {
        const stop = await busyNeighbour(server.baseUrl);
        await fetch(`${server.baseUrl}/kick-one`, { method: "POST" }).then((r) => r.text());
        setTimeout(stop, GIVE_UP_MS - 1000);
      },
      "close() in the alarm handler": () =>
        fetch(`${server.baseUrl}/kick-by-alarm`, { method: "POST" }).then((r) => r.text()),
      "close() in its own webSocketMessage": (/** @type {WebSocket} */ ws) => ws.send("close-me"),
      "close() in its own event after a write": (/** @type {WebSocket} */ ws) => ws.send("close-soon"),
    };
    for (const [name, close] of Object.entries(cases)) {
      console.log(
        `${name}, webSocketClose ${echo ? "echoes" : "does not echo"}: ${await measure(server.baseUrl, echo, close)}`,
      );
    }
  }
} finally {
  await server.stop();
}
