#!/usr/bin/env node
/**
 * The runtime's memory per connected socket, without MeetTime: the probe
 * in probe/socket-floor-worker.mjs (hibernatable sockets accepted by one
 * Durable Object behind a worker, a "joined" frame each and a notice to
 * everyone else, nothing more) on one workerd through Miniflare, like the
 * MeetTime benchmark. Connects `--clients` sockets 10 at a time, waits until
 * each has every later one's notice, and reports workerd's RSS growth per
 * socket, `--rounds` times. Compare with the MeetTime runs' "RSS before
 * sockets → connected" (broadcast.mjs, compare.mjs).
 *
 *   node scripts/bench/socket-memory.mjs [--clients 200] [--rounds 3]
 */
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";
import { mapLimit } from "./lib/load.mjs";
import { probeBundle, startMiniflare } from "./lib/meettime-server.mjs";
import { median, options, round } from "./lib/orchestrate.mjs";
import { loadAverage, rssBytes } from "./lib/proc.mjs";

const opts = options({ clients: 200, rounds: 3 });
const bundle = probeBundle(new URL("probe/socket-floor-worker.mjs", import.meta.url), {
  binding: "FLOOR",
  className: "SocketFloor",
});

async function measure() {
  const server = await startMiniflare({
    clients: opts.clients,
    scriptPath: bundle.scriptPath,
    configPath: bundle.configPath,
  });
  const pid = server.pids["workerd (miniflare)"];
  let notices = 0;
  try {
    await sleep(1_000);
    const before = rssBytes(pid);
    const wsUrl = server.url.replace(/^http/, "ws");
    const sockets = await mapLimit(
      Array.from({ length: opts.clients }),
      10,
      () =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(`${wsUrl}/ws`, { perMessageDeflate: false });
          ws.once("error", reject);
          ws.on("message", (raw) => {
            const text = raw.toString();
            if (text.startsWith('{"type":"meeting:joined"')) resolve(ws);
            else notices++;
          });
        }),
    );
    const expected = (opts.clients * (opts.clients - 1)) / 2;
    while (notices < expected) await sleep(50);
    await sleep(1_000);
    const connected = rssBytes(pid);
    for (const ws of sockets) ws.terminate();
    return {
      beforeMiB: before / 2 ** 20,
      connectedMiB: connected / 2 ** 20,
      kibPerSocket: (connected - before) / 1024 / opts.clients,
    };
  } finally {
    await server.stop();
  }
}

try {
  const runs = [];
  for (let r = 1; r <= opts.rounds; r++) {
    const run = await measure();
    runs.push(run);
    console.log(
      `round ${r} (load ${loadAverage()}): workerd RSS ${round(run.beforeMiB)} → ${round(run.connectedMiB)} MiB with ${opts.clients} sockets: ${round(run.kibPerSocket, 0)} KiB per socket`,
    );
  }
  const per = runs.map((r) => r.kibPerSocket);
  console.log(
    `socket floor: ${round(median(per), 0)} KiB per socket (median of ${runs.length}; ${round(Math.min(...per), 0)}-${round(Math.max(...per), 0)})`,
  );
} finally {
  bundle.dispose();
}
process.exit(0);
