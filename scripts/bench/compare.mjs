#!/usr/bin/env node
/**
 * `npm run bench:compare`: MeetTime against the Socket.IO baseline in one
 * run, the figures of issue 11 side by side. Per round, in alternation
 * (MeetTime, Socket.IO, MeetTime, ...), so both meet the same background
 * load on this shared machine:
 *
 * - 50 and 200 participants in one meeting, `--rate` (200) chat messages/s:
 *   delivery latency p50/p99, server CPU per delivery, time to connect
 *   everyone, server RSS (and, MeetTime, the RSS a socket and an idle
 *   meeting object add);
 * - 2 participants: chat round trip (ask, answer on arrival, answer back).
 *
 * Then, once, the create path: create.mjs (the floor and MeetTime
 * alternated there, concurrency 16), run as a child with small counts.
 *
 * MeetTime is the deploy bundle on one workerd through Miniflare (no dev
 * proxy). Runs
 * broadcast.mjs and socketio-baseline.mjs with --runs 1 and prints a
 * Markdown table: medians of the rounds, ranges in brackets, the ratio of
 * the medians. Everything on 127.0.0.1.
 *
 *   npm run bench:compare -- [--rounds 3] [--rate 200] [--messages 2000] [--warmup 400]
 *     [--sizes 50,200] [--round-trips 40] [--creates 2000] [--mode miniflare|wrangler]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, options, round } from "./lib/orchestrate.mjs";
import { cpuModel, loadAverage } from "./lib/proc.mjs";

const opts = options({
  rounds: 3,
  mode: "miniflare",
  rate: 200,
  messages: 2000,
  warmup: 400,
  sizes: "50,200",
  roundTrips: 40,
  creates: 2000,
  meetingsForMemory: 300,
});
const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const work = mkdtempSync(join(tmpdir(), "meettime-compare-"));
/** The server's own processes in each mode: every workerd of it. */
const SERVER = { miniflare: "workerd (miniflare)", wrangler: "workerd total" };
/** The process whose memory is the meeting's: under wrangler dev, the user worker (not the dev proxy). */
const MEMORY = { miniflare: "workerd (miniflare)", wrangler: "workerd user worker" };
const SOCKET_IO = "node socket.io server";
const sizes = opts.sizes.split(",").map(Number);

/** Runs a benchmark script; a run whose checks failed (exit 1) still reports, its problems end up in the table's verdict. */
function run(script, args, json) {
  try {
    execFileSync(process.execPath, [here(script), ...args.map(String), "--json", json], { stdio: "inherit" });
  } catch (error) {
    if (!existsSync(json)) throw error;
  }
  return JSON.parse(readFileSync(json, "utf8"));
}

/** One MeetTime run and one Socket.IO run of the same load; the first result of each. */
function pair(label, load, round_, meettimeExtra = []) {
  const bundle = round_ === 1 && label === firstLabel ? ["--save-bundle", bundleDir] : ["--bundle", bundleDir];
  const meettime = run(
    "broadcast.mjs",
    ["--runs", 1, "--mode", opts.mode, ...load, ...meettimeExtra, ...bundle],
    join(work, `mt-${label}-${round_}.json`),
  ).modes[opts.mode].runs[0];
  const socketio = run("socketio-baseline.mjs", ["--runs", 1, ...load], join(work, `sio-${label}-${round_}.json`))
    .runs[0];
  return { meettime, socketio };
}

const bundleDir = join(work, "bundle");
const chatLoad = (clients) => [
  "--clients",
  clients,
  "--rate",
  opts.rate,
  "--messages",
  opts.messages,
  "--warmup",
  opts.warmup,
];
// Two participants: a few chat messages (the run's own checks), then the round trips.
const roundTripLoad = ["--clients", 2, "--messages", 24, "--warmup", 8, "--rate", 8, "--round-trips", opts.roundTrips];
const firstLabel = `chat-${sizes[0]}`;

const labels = [...sizes.map((clients) => `chat-${clients}`), "roundTrip"];
/** label -> one { meettime, socketio } pair per round */
const results = Object.fromEntries(labels.map((label) => [label, []]));
let createResult;
const loadSeen = [];
try {
  console.log(
    `compare: ${cpus().length} CPUs (${cpuModel()}), load ${loadAverage()}; ${JSON.stringify(opts)}; MeetTime ${opts.mode}`,
  );
  for (let r = 1; r <= opts.rounds; r++) {
    loadSeen.push(loadAverage());
    console.log(`\n======== round ${r} of ${opts.rounds} (load ${loadAverage()})`);
    for (const clients of sizes) {
      const biggest = clients === Math.max(...sizes);
      // The biggest meeting also creates meetings afterwards: the RSS an idle meeting object adds.
      const extra = ["--creates", biggest ? opts.meetingsForMemory : 0];
      results[`chat-${clients}`].push(pair(`chat-${clients}`, chatLoad(clients), r, extra));
    }
    results.roundTrip.push(pair("roundTrip", roundTripLoad, r, ["--creates", 0]));
  }
  if (opts.creates > 0) {
    console.log(`\n======== the create path (create.mjs, load ${loadAverage()})`);
    const json = join(work, "create.json");
    const args = ["--bundle", bundleDir, "--creates", opts.creates, "--cpu-requests", 500, "--rounds", 1];
    createResult = run("create.mjs", [...args, "--idle-seconds", 0], json).results;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

// ---------------------------------------------------------------- the table

const fmt = (v, digits = 2) =>
  v === undefined || v === null || Number.isNaN(v) ? "-" : round(v, digits).toFixed(digits);
/** Median of the rounds, with the range when there are several. */
function stat(values, digits, unit) {
  const clean = values.filter((v) => typeof v === "number" && !Number.isNaN(v));
  if (clean.length === 0) return { text: "-", median: Number.NaN };
  const m = median(clean);
  const range = clean.length > 1 ? ` (${fmt(Math.min(...clean), digits)}-${fmt(Math.max(...clean), digits)})` : "";
  return { text: `${fmt(m, digits)}${unit}${range}`, median: m };
}
const rows = [];
/** A row: `pick(run, side)` from every round's pair. */
function row(name, label, pick, digits = 2, unit = "") {
  const pairs = results[label] ?? [];
  const mt = stat(
    pairs.map((p) => pick(p.meettime, "meettime")),
    digits,
    unit,
  );
  const sio = stat(
    pairs.map((p) => pick(p.socketio, "socketio")),
    digits,
    unit,
  );
  rows.push([name, mt.text, sio.text, `${fmt(mt.median / sio.median)}×`]);
}
const serverName = (side) => (side === "meettime" ? SERVER[opts.mode] : SOCKET_IO);
const mainServerName = (side) => (side === "meettime" ? MEMORY[opts.mode] : SOCKET_IO);
for (const clients of sizes) {
  const label = `chat-${clients}`;
  const perSecond = clients * opts.rate;
  row(
    `${clients} participants, ${opts.rate} msg/s (${perSecond} deliveries/s): p50`,
    label,
    (r) => r.latency.p50,
    2,
    " ms",
  );
  row(`${clients} participants: p99`, label, (r) => r.latency.p99, 2, " ms");
  row(
    `${clients} participants: server CPU per delivery`,
    label,
    (r, s) => r.window.microsPerDelivery[serverName(s)],
    1,
    " µs",
  );
  row(`${clients} participants: deliveries/s reached`, label, (r) => r.window.deliveriesPerSecond, 0);
  row(`connecting ${clients} participants`, label, (r) => r.connectMs, 0, " ms");
}
const big = `chat-${Math.max(...sizes)}`;
row(
  `runtime memory (RSS), ${Math.max(...sizes)}-person meeting, end`,
  big,
  (r, s) => r.memoryMiB.done[mainServerName(s)],
  0,
  " MiB",
);
row(
  "memory per connected socket (RSS growth while connecting)",
  big,
  (r, s) =>
    ((r.memoryMiB.connected[mainServerName(s)] - r.memoryMiB.beforeSockets[mainServerName(s)]) * 1024) /
    Math.max(...sizes),
  0,
  " KiB",
);
row("chat round trip between two participants: p50", "roundTrip", (r) => r.roundTrip?.p50, 2, " ms");
row("chat round trip: p99", "roundTrip", (r) => r.roundTrip?.p99, 2, " ms");

console.log(`\n## MeetTime (${opts.mode}) vs Socket.IO`);
console.log(`${opts.rounds} alternating round(s), load average at each round's start: ${loadSeen.join(" | ")}\n`);
console.log("| scenario | MeetTime | Socket.IO | ratio of medians |");
console.log("|---|---|---|---|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
const perMeeting = (results[big] ?? []).map((p) => p.meettime.creates?.kibPerMeeting?.[MEMORY[opts.mode]]);
console.log(
  `MeetTime RSS per idle meeting object (${opts.meetingsForMemory} creates): ${stat(perMeeting, 0, " KiB").text}`,
);
if (createResult) {
  const after = createResult.after[0];
  const floor = createResult.floor[0];
  console.log(
    `create (create.mjs, concurrency 16, ${after.run.total} creates): ${fmt(after.run.perSecond, 0)}/s, ` +
      `p50 ${fmt(after.run.p50, 1)} ms, p99 ${fmt(after.run.p99, 1)} ms, CPU ${fmt(after.cpu.create, 0)} µs per create ` +
      `= ${fmt(after.cpu.create / floor.cpu.create)}× the floor (${fmt(floor.cpu.create, 0)} µs: new object + SQLite table); ` +
      `statuses ${JSON.stringify(after.run.statuses)}, dropped ${after.run.dropped}`,
  );
}
const problems = Object.values(results)
  .flat()
  .flatMap((p) => [...(p.meettime.problems ?? []), ...(p.socketio.problems ?? [])]);
if (problems.length > 0) {
  console.log(`\nFAILED checks: ${problems.join("; ")}`);
  process.exit(1);
}
