#!/usr/bin/env node
import { mkdtempSync, rmSync } from "node:fs";
/**
 * CPU of each piece of the chat hot path inside workerd, per operation:
 * frame parsing (zod), rate limit, chat id, ISO time, event encoding, the
 * SQLite insert, the broadcast loop (Map of 200 vs a plain array, stand-in
 * sends) and all of it together. Runs probe/hotpath-worker.mjs, bundled from
 * MeetTime's own modules, in Miniflare (wrangler's copy), and reads the
 * workerd process's CPU from /proc around `n` operations per request. Used
 * to judge optimisations that broadcast.mjs cannot resolve: compare a
 * piece's µs with the server's whole CPU per message (µs/delivery × 200).
 *
 * Also the floor of creating a meeting: a new Durable Object answering one
 * request, without and with the schema + meeting + host rows of
 * MeetingStore.create (what every create pays before any of our logic).
 *
 *   node scripts/bench/hotpath-costs.mjs [--n 200000] [--objects 300] [--rounds 3]
 */
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { median, options, round } from "./lib/orchestrate.mjs";
import { comm, cpuMicros, descendants } from "./lib/proc.mjs";

const opts = options({ n: 200_000, objects: 300, rounds: 3 });
const OPS = [
  "empty",
  "parse",
  "rateLimit",
  "uuid",
  "isoTime",
  "encode",
  "insert",
  "broadcastMap",
  "broadcastArray",
  "wholeMessage",
];
/** Per created object, not per loop turn: the floor under POST /api/meetings/create. */
const OBJECT_OPS = ["newObject", "newObjectWithSchema"];
const REQUESTS_PER_OP = 10;

const require = createRequire(import.meta.url);
const { Miniflare } = createRequire(require.resolve("wrangler/package.json"))("miniflare");
const outdir = mkdtempSync(join(tmpdir(), "meettime-hotpath-"));
const scriptPath = join(outdir, "probe.js");
await build({
  entryPoints: [fileURLToPath(new URL("probe/hotpath-worker.mjs", import.meta.url))],
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  external: ["cloudflare:*", "node:*"],
  outfile: scriptPath,
  logLevel: "warning",
});

const miniflare = new Miniflare({
  modules: true,
  scriptPath,
  modulesRoot: outdir,
  compatibilityDate: "2026-04-26",
  compatibilityFlags: ["nodejs_compat"],
  durableObjects: { PROBE: { className: "HotPathProbe", useSQLite: true } },
  durableObjectsPersist: join(outdir, "state"),
});
try {
  await miniflare.ready;
  const [workerd] = descendants(process.pid).filter((pid) => comm(pid) === "workerd");
  const run = async (op, n) => {
    const response = await miniflare.dispatchFetch(`http://probe/?op=${op}&n=${n}`);
    if (!response.ok) throw new Error(`${op}: ${response.status} ${await response.text()}`);
    await response.text();
  };
  for (const op of OPS) await run(op, 1_000); // warm every path (JIT, statement cache) first
  for (const op of OBJECT_OPS) await run(op, 20);
  const perOp = Object.fromEntries([...OPS, ...OBJECT_OPS].map((op) => [op, []]));
  for (let r = 0; r < opts.rounds; r++) {
    for (const op of OPS) {
      const before = cpuMicros(workerd);
      for (let i = 0; i < REQUESTS_PER_OP; i++) await run(op, opts.n / REQUESTS_PER_OP);
      perOp[op].push((cpuMicros(workerd) - before) / opts.n);
    }
    for (const op of OBJECT_OPS) {
      const before = cpuMicros(workerd);
      await run(op, opts.objects);
      perOp[op].push((cpuMicros(workerd) - before) / opts.objects);
    }
  }
  const empty = median(perOp.empty);
  console.log(`workerd CPU per operation, median of ${opts.rounds} rounds of ${opts.n} (request overhead subtracted):`);
  for (const op of OPS.slice(1)) {
    console.log(
      `  ${op.padEnd(16)} ${round(median(perOp[op]) - empty, 2)
        .toFixed(2)
        .padStart(8)} µs`,
    );
  }
  console.log(`  (request + loop overhead per operation: ${round(empty, 3)} µs)`);
  console.log(`workerd CPU per new object, median of ${opts.rounds} rounds of ${opts.objects}:`);
  for (const op of OBJECT_OPS)
    console.log(`  ${op.padEnd(20)} ${round(median(perOp[op]), 0).toFixed(0).padStart(8)} µs`);
} finally {
  await miniflare.dispose();
  rmSync(outdir, { recursive: true, force: true });
}
