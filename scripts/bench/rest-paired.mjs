#!/usr/bin/env node
/**
 * `npm run bench:rest`: CPU per REST request of several builds, paired.
 * Every build is served at once (each on its own workerd through Miniflare,
 * as create.mjs), and batches of `--requests` requests are rotated between
 * them `--batches` times, so a change in the machine's load hits every
 * build alike; the figure that counts is the median of the per-batch
 * differences and ratios, not two runs minutes apart. Server processes are
 * pinned to CPU 0 and this load generator to CPU 1 (`taskset`), as in the
 * issue's setup.
 *
 * Builds: `floor` (probe/floor-worker.mjs: its two-call read and a bare
 * `GET`), `hono-floor` (probe/hono-floor-worker.mjs: the same two calls
 * behind a Hono app of MeetTime's shape), one per `--refs name=ref,...`
 * (git commits), and `after` (the working tree).
 *
 * Requests (`--kinds`): `get`, `GET /api/meetings/:id` with a host token;
 * `join`, `POST /api/meetings/join` with fresh invites (minted outside the
 * measured batch); `calendar`, `GET /api/meetings/:id/calendar.ics` with
 * the host token (MeetTime only); `create`, `POST /api/meetings/create`
 * (the floor's `POST /create`: one new object with one SQLite table and
 * row; its kernel part swings between batches, so `bench:create`'s rounds
 * are the better guide).
 *
 *   node scripts/bench/rest-paired.mjs [--refs before=aec569b] [--batches 12] [--requests 1000]
 *     [--concurrency 16] [--kinds get,join,create,calendar]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { probeBundle, ROOT, startMiniflare } from "./lib/meettime-server.mjs";
import { median, options, round } from "./lib/orchestrate.mjs";
import { cpuMicros, cpuModel, loadAverage, pin } from "./lib/proc.mjs";
import { createBody, inviteTokens, jsonRequest, post } from "./lib/rest-client.mjs";
import { snapshot, snapshotOfRef } from "./lib/snapshots.mjs";

const opts = options({ refs: "", batches: 12, requests: 1_000, concurrency: 16, kinds: "get,join,create" });
const PARTICIPANTS = 50;
const scratch = mkdtempSync(join(tmpdir(), "meettime-bench-rest-"));
const kinds = opts.kinds.split(",").filter(Boolean);

/** `total` requests from `concurrency` loops; every answer must be 200 (201 for a create). */
async function drive(total, send) {
  let next = 0;
  let failed = 0;
  const loop = async () => {
    for (let i = next++; i < total; i = next++) {
      const response = await send(i);
      await response.arrayBuffer();
      if (response.status !== 200 && response.status !== 201) failed++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, loop));
  if (failed > 0) throw new Error(`${failed} of ${total} requests were not answered 200/201`);
}

/** What each kind of request sends, per server; join tokens are minted before each batch. */
function meettimeRequests(url) {
  let meeting;
  let hostToken;
  let invites = [];
  return {
    async setup() {
      ({ meeting, hostToken } = await post(`${url}/api/meetings/create`, createBody("Paired")));
    },
    async prepare(kind) {
      if (kind !== "join") return;
      invites = await inviteTokens(url, opts.requests, PARTICIPANTS);
    },
    send: {
      get: () =>
        fetch(`${url}/api/meetings/${meeting.id}`, {
          headers: { authorization: `Bearer ${hostToken}` },
          signal: AbortSignal.timeout(60_000),
        }),
      join: (i) => fetch(`${url}/api/meetings/join`, jsonRequest({ token: invites[i], displayName: `Guest ${i}` })),
      calendar: () =>
        fetch(`${url}/api/meetings/${meeting.id}/calendar.ics`, {
          headers: { authorization: `Bearer ${hostToken}` },
          signal: AbortSignal.timeout(60_000),
        }),
      create: (i) => fetch(`${url}/api/meetings/create`, jsonRequest(createBody(`Load ${i}`))),
    },
  };
}

/**
 * A floor's requests: its object is made once; `readPath(id)` is where its
 * `GET` reads it (`/read/<id>` on the bare floor, MeetTime's path on the
 * Hono floor).
 */
function floorRequests(url, readPath) {
  let id;
  return {
    async setup() {
      ({ id } = await post(`${url}/create`, { title: "read" }));
    },
    async prepare() {},
    send: {
      get: () => fetch(`${url}${readPath(id)}`, { signal: AbortSignal.timeout(60_000) }),
      ping: () => fetch(`${url}/ping`, { signal: AbortSignal.timeout(60_000) }),
      create: (i) => fetch(`${url}/create`, jsonRequest({ title: `Load ${i}` })),
    },
  };
}

/** The Hono floor imports hono: bundled into the scratch directory first. */
function honoFloorSource() {
  const outfile = join(scratch, "hono-floor.mjs");
  esbuild.buildSync({
    entryPoints: [fileURLToPath(new URL("probe/hono-floor-worker.mjs", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "neutral",
    external: ["cloudflare:workers"],
    outfile,
    logLevel: "warning",
  });
  return pathToFileURL(outfile);
}

let exitCode = 0;
const servers = [];
let floor;
let honoFloor;
try {
  console.log(`paired REST benchmark: ${cpuModel()}, load ${loadAverage()}, ${JSON.stringify(opts)}`);
  floor = probeBundle(new URL("probe/floor-worker.mjs", import.meta.url), {
    binding: "FLOOR",
    className: "FloorObject",
  });
  honoFloor = probeBundle(honoFloorSource(), { binding: "FLOOR", className: "FloorObject" });
  const builds = [
    ["floor", floor],
    ["hono-floor", honoFloor],
  ];
  for (const pair of opts.refs.split(",").filter(Boolean)) {
    const [name, ref] = pair.split("=");
    builds.push([name, snapshotOfRef(ref, scratch, name)]);
  }
  builds.push(["after", snapshot(ROOT, join(scratch, "after"), scratch)]);

  const pinned = pin(process.pid, 1);
  for (const [name, bundle] of builds) {
    const server = await startMiniflare({
      clients: PARTICIPANTS,
      scriptPath: bundle.scriptPath,
      configPath: bundle.configPath,
    });
    const pid = Object.values(server.pids)[0];
    if (pinned) pin(pid, 0);
    const requests =
      name === "floor"
        ? floorRequests(server.url, (id) => `/read/${id}`)
        : name === "hono-floor"
          ? floorRequests(server.url, (id) => `/api/meetings/${id}`)
          : meettimeRequests(server.url);
    await requests.setup();
    servers.push({ name, server, pid, requests });
  }
  console.log(pinned ? "servers pinned to CPU 0, load generator to CPU 1" : "taskset missing: nothing pinned");

  /** µs per request: results[name][kind] = one value per batch. */
  const results = Object.fromEntries(servers.map(({ name }) => [name, {}]));
  const kindsOf = (name) =>
    name === "floor"
      ? ["ping", ...kinds.filter((k) => k === "get" || k === "create")]
      : name === "hono-floor"
        ? kinds.filter((k) => k === "get")
        : kinds;
  for (const s of servers) {
    for (const kind of kindsOf(s.name)) {
      await s.requests.prepare(kind);
      await drive(Math.min(200, opts.requests), s.requests.send[kind]); // warm-up: JIT, statement caches
    }
  }
  for (let batch = 0; batch < opts.batches; batch++) {
    // Rotate the order, so no build always runs first (or right after the floor).
    const order = servers.map((_, i) => servers[(i + batch) % servers.length]);
    for (const s of order) {
      for (const kind of kindsOf(s.name)) {
        await s.requests.prepare(kind);
        const before = cpuMicros(s.pid);
        await drive(opts.requests, s.requests.send[kind]);
        results[s.name][kind] = [...(results[s.name][kind] ?? []), (cpuMicros(s.pid) - before) / opts.requests];
      }
    }
    process.stdout.write(`batch ${batch + 1} of ${opts.batches} (load ${loadAverage()})\n`);
  }

  const range = (values) =>
    `${round(median(values), 0)} [${round(Math.min(...values), 0)}-${round(Math.max(...values), 0)}]`;
  console.log("\nCPU per request, µs: median of batches [range]");
  for (const { name } of servers) {
    console.log(
      `  ${name}: ${kindsOf(name)
        .map((kind) => `${kind} ${range(results[name][kind])}`)
        .join(", ")}`,
    );
  }
  console.log("\npaired against `after` (median of per-batch values; the create floor is a new object with one table)");
  for (const { name } of servers.filter((s) => s.name !== "after")) {
    for (const kind of kinds.filter((k) => results[name][k])) {
      const diffs = results.after[kind].map((v, i) => v - results[name][kind][i]);
      const ratios = results.after[kind].map((v, i) => v / results[name][kind][i]);
      console.log(
        `  ${kind}: after − ${name} ${round(median(diffs), 0)} µs [${round(Math.min(...diffs), 0)}-${round(Math.max(...diffs), 0)}], ` +
          `after / ${name} ${round(median(ratios), 2)} [${round(Math.min(...ratios), 2)}-${round(Math.max(...ratios), 2)}]`,
      );
    }
  }
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  for (const { server } of servers) await server.stop();
  floor?.dispose();
  honoFloor?.dispose();
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(exitCode);
