#!/usr/bin/env node
/**
 * `npm run bench:baseline`: the same broadcast benchmark as broadcast.mjs
 * against a Node Socket.IO server (socketio-server.mjs) doing the same work
 * per message. Server and clients are separate processes; the server's CPU
 * is read from /proc at the same checkpoints.
 *
 *   node scripts/bench/socketio-baseline.mjs [--runs 3] [--clients 200] [--messages 2000]
 *     [--warmup 400] [--rate 100] [--window 20] [--round-trips 0] [--json out.json]
 */
import { fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { freePort } from "../lib/dev-server.mjs";
import { HTTP_PORTS } from "./lib/meettime-server.mjs";
import { options } from "./lib/orchestrate.mjs";
import { CLK_TCK, cpuModel, loadAverage } from "./lib/proc.mjs";
import { summarise } from "./lib/results.mjs";
import { LOAD_DEFAULTS, measureRuns, stopOnSignals } from "./lib/runs.mjs";

const opts = options({
  ...LOAD_DEFAULTS,
  json: "",
});
const params = { ...opts, creates: 0 };
const here = (file) => fileURLToPath(new URL(file, import.meta.url));

async function startServer() {
  const port = await freePort(HTTP_PORTS);
  const server = fork(here("socketio-server.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  await new Promise((resolve, reject) => {
    server.once("message", resolve);
    server.once("exit", (code) => reject(new Error(`socket.io server exited with ${code}`)));
    server.send({ port });
  });
  const stop = () =>
    new Promise((resolve) => {
      if (server.exitCode !== null) return resolve();
      server.once("exit", resolve);
      server.send({ stop: true });
    });
  return { url: `http://127.0.0.1:${port}`, pids: { "node socket.io server": server.pid }, stop };
}

console.log(
  `machine: ${cpus().length} CPUs (${cpuModel()}), CLK_TCK ${CLK_TCK}, load ${loadAverage()}; ` +
    `${params.clients} clients, ${params.messages} messages (${params.warmup} warm-up) at ${params.rate || "max"} msg/s, window ${params.window}`,
);
stopOnSignals();
const { runs, failed } = await measureRuns({
  count: opts.runs,
  start: startServer,
  script: here("socketio-clients.mjs"),
  params,
});
const title = "Node Socket.IO baseline";
const summary = summarise(title, runs);
if (opts.json) {
  const report = { machine: { cpus: cpus().length, model: cpuModel(), clkTck: CLK_TCK }, params, summary, runs };
  writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
}
process.exit(failed ? 1 : 0);
