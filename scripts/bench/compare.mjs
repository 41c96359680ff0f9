#!/usr/bin/env node
/**
 * MeetTime against the Socket.IO baseline, run by run in alternation
 * (MeetTime, Socket.IO, MeetTime, ...), so both meet the same background
 * load on this shared machine: CPU per delivery moves by ±25% with what else
 * runs, and alternating keeps that out of the ratio. Prints each pair and
 * the medians. Runs broadcast.mjs and socketio-baseline.mjs with --runs 1.
 *
 *   node scripts/bench/compare.mjs [--pairs 3] [--mode miniflare|wrangler] [--rate 100]
 *     [--messages 2000] [--warmup 400] [--clients 200]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, options, round } from "./lib/orchestrate.mjs";

const opts = options({ pairs: 3, mode: "miniflare", rate: 100, messages: 2000, warmup: 400, clients: 200 });
const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const work = mkdtempSync(join(tmpdir(), "meettime-compare-"));
const shared = ["--runs", "1", "--rate", opts.rate, "--messages", opts.messages, "--warmup", opts.warmup];
const common = [...shared, "--clients", opts.clients].map(String);
/** The server's own CPU in each mode: every workerd process of it. */
const SERVER = { miniflare: "workerd (miniflare)", wrangler: "workerd total" };

function run(script, args, json) {
  execFileSync(process.execPath, [here(script), ...common, ...args, "--json", json], { stdio: "inherit" });
  return JSON.parse(readFileSync(json, "utf8"));
}

const pairs = [];
try {
  const bundle = join(work, "bundle");
  for (let i = 1; i <= opts.pairs; i++) {
    const snapshot = i === 1 ? ["--save-bundle", bundle] : ["--bundle", bundle];
    const meettime = run(
      "broadcast.mjs",
      ["--mode", opts.mode, "--creates", "0", ...snapshot],
      join(work, `mt-${i}.json`),
    );
    const baseline = run("socketio-baseline.mjs", [], join(work, `sio-${i}.json`));
    const mt = meettime.modes[opts.mode].runs[0].window;
    const sio = baseline.runs[0].window;
    const pair = {
      meettime: mt.microsPerDelivery[SERVER[opts.mode]],
      socketio: sio.microsPerDelivery["node socket.io server"],
      meettimeRate: mt.deliveriesPerSecond,
      socketioRate: sio.deliveriesPerSecond,
    };
    pairs.push(pair);
    console.log(
      `pair ${i}: MeetTime ${round(pair.meettime, 2)} µs/delivery, Socket.IO ${round(pair.socketio, 2)} µs/delivery, ` +
        `ratio ${round(pair.meettime / pair.socketio, 2)}`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const pick = (key) => round(median(pairs.map((p) => p[key])), 2);
console.log(`\nserver CPU per delivery, warm-up excluded, median of ${pairs.length} alternating pairs (${opts.mode}):`);
console.log(`  MeetTime (${SERVER[opts.mode]}): ${pick("meettime")} µs at ${pick("meettimeRate")} deliveries/s`);
console.log(`  Socket.IO (node):              ${pick("socketio")} µs at ${pick("socketioRate")} deliveries/s`);
console.log(
  `  ratio MeetTime / Socket.IO:    ${round(median(pairs.map((p) => p.meettime / p.socketio)), 2)} (median of pair ratios)`,
);
