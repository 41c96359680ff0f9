#!/usr/bin/env node
/**
 * `npm run bench`: server CPU per chat delivery of MeetTime, one meeting of
 * 200 WebSocket clients (host + 199 guests), every message broadcast to all
 * of them, sender included. The clients run in a separate process; CPU is
 * read from /proc for the server processes only, at checkpoints where the
 * server is idle. Also the latency of every delivery (send → first and →
 * last recipient), the server's RSS before the sockets, connected and at the
 * end, optional chat round trips between two clients (`--round-trips N`),
 * and CPU and RSS per POST /api/meetings/create.
 *
 *   node scripts/bench/broadcast.mjs [--mode wrangler|miniflare|both] [--runs 3]
 *     [--clients 200] [--messages 2000] [--warmup 400] [--rate 100] [--window 20] [--creates 300] [--json out.json]
 *     [--round-trips 0]
 *     [--vars LOG_LEVEL:warn,...]   extra Worker variables for the server
 *     [--save-bundle dir]   keep the snapshot (bundle + wrangler.toml) in dir, to measure it again later
 *     [--bundle dir]        measure a snapshot saved earlier instead of the working tree (A/B of two builds)
 *     [--profile /tmp/name]   (wrangler mode: V8 profiles of the chat window and the creates, written to
 *                              /tmp/name-wrangler-<run>-{chat,creates}.cpuprofile; CPU numbers then skewed)
 *
 * Everything on 127.0.0.1; each run starts and stops its own server.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { ROOT, startMiniflare, startWrangler, usingBundle } from "./lib/meettime-server.mjs";
import { options } from "./lib/orchestrate.mjs";
import { CLK_TCK, cpuModel, loadAverage } from "./lib/proc.mjs";
import { openProfiler, selfTimes } from "./lib/profiler.mjs";
import { summarise } from "./lib/results.mjs";
import { LOAD_DEFAULTS, measureRuns, stopOnSignals } from "./lib/runs.mjs";
import { bundleWorker } from "./lib/snapshots.mjs";

const opts = options({
  mode: "both",
  ...LOAD_DEFAULTS,
  creates: 300,
  json: "",
  profile: "",
  bundle: "",
  saveBundle: "",
  vars: "",
});
const params = { ...opts };

const MODES = {
  wrangler: {
    title: "MeetTime under wrangler dev",
    start: () => startWrangler({ ...params, configPath: bundle.configPath }),
    totals: { "workerd total": ["workerd dev proxy", "workerd user worker"] },
  },
  miniflare: {
    title: "MeetTime in Miniflare directly (no dev proxy)",
    start: () => startMiniflare({ ...params, scriptPath: bundle.scriptPath, configPath: bundle.configPath }),
    totals: {},
  },
};

/** Profiles the chat window (warm → done) and the create phase through the inspector; prints top self times. */
function profileWindows(server, base) {
  const windows = { warm: ["done", "chat"], "creates:start": ["creates:done", "creates"] };
  let profiler;
  let current;
  return async (checkpoint) => {
    if (windows[checkpoint]) {
      current = windows[checkpoint];
      profiler = await openProfiler(server.inspectorPort);
      await profiler.start();
    } else if (current && checkpoint === current[0]) {
      const profile = await profiler.stop();
      const sources = await profiler.sources(profile);
      profiler.close();
      const file = `${base}-${current[1]}.cpuprofile`;
      writeFileSync(file, JSON.stringify(profile));
      writeFileSync(`${base}-${current[1]}.sources.json`, JSON.stringify(sources));
      console.log(`  ${current[1]} profile written to ${file}; self time, top functions:`);
      for (const { name, share } of selfTimes(profile, 25, sources))
        console.log(`    ${(share * 100).toFixed(1).padStart(5)}%  ${name}`);
      current = undefined;
    }
  };
}

const modes = opts.mode === "both" ? ["wrangler", "miniflare"] : [opts.mode];
if (!modes.every((m) => m in MODES)) throw new Error("--mode is wrangler, miniflare or both");
if (opts.profile && modes.includes("miniflare")) throw new Error("--profile needs --mode wrangler (its inspector)");
if (opts.saveBundle) mkdirSync(opts.saveBundle, { recursive: true });
const bundle = opts.bundle ? usingBundle(opts.bundle) : bundleWorker(opts.saveBundle || undefined);
console.log(`snapshot: ${opts.bundle || opts.saveBundle || "working tree, bundled now"}`);
stopOnSignals(() => bundle.dispose());

console.log(
  `machine: ${cpus().length} CPUs (${cpuModel()}), CLK_TCK ${CLK_TCK}, load ${loadAverage()}; ` +
    `${params.clients} clients, ${params.messages} messages (${params.warmup} warm-up) at ${params.rate || "max"} msg/s, window ${params.window}, ${params.creates} creates`,
);
const report = { machine: { cpus: cpus().length, model: cpuModel(), clkTck: CLK_TCK }, params, modes: {} };
let failed = false;
try {
  for (const mode of modes) {
    const { title, start, totals } = MODES[mode];
    console.log(`\n${title}`);
    const { runs, failed: runFailed } = await measureRuns({
      count: opts.runs,
      start,
      script: join(ROOT, "scripts/bench/meettime-clients.mjs"),
      params,
      totals,
      onCheckpoint: (server, run) =>
        opts.profile ? profileWindows(server, `${opts.profile}-${mode}-${run}`) : undefined,
    });
    failed ||= runFailed;
    report.modes[mode] = { summary: summarise(title, runs), runs };
  }
} finally {
  bundle.dispose();
}
if (opts.json) writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
process.exit(failed ? 1 : 0);
