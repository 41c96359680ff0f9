/**
 * Starts and stops MeetTime for the benchmark, two ways:
 * - "wrangler": `wrangler dev` as a developer runs it. Two workerd
 *   processes: the dev proxy (listens on --port, relays every request and
 *   WebSocket frame) and the user worker (worker + Durable Object).
 * - "miniflare": the wrangler-bundled script in Miniflare directly, so one
 *   workerd process is the whole server (see miniflare-host.mjs).
 * Each run gets its own ports and --persist-to directory, and only
 * 127.0.0.1. Stopping kills only the processes started here, by id (the
 * wrangler mode's process group through scripts/lib/dev-server.mjs).
 */
import { fork } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, ROOT, startWranglerDev, waitForHealth } from "../../lib/dev-server.mjs";
import { cmdline, comm, descendants, isAlive } from "./proc.mjs";

export { ROOT };

/** The benchmark's own port ranges: the e2e suite, restart tests and soak use others. */
export const HTTP_PORTS = [8700, 8799];
const INSPECTOR_PORTS = [9300, 9399];
export const QUIET_ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
const BENCH_SECRET = "benchmark-only-secret-0123456789-abcdefghij";

/** Variables the benchmark needs (a secret, no REST throttling, room for everyone), plus `--vars K:V,K:V`. */
function benchVars(clients, extra = "") {
  const overrides = Object.fromEntries(
    extra
      .split(",")
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf(":")), pair.slice(pair.indexOf(":") + 1)]),
  );
  return {
    JWT_SECRET: BENCH_SECRET,
    RATE_LIMIT_MAX_REQUESTS: "100000000",
    MAX_PARTICIPANTS_PER_MEETING: String(clients),
    ...overrides,
  };
}

async function waitGone(pids, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && pids.some(isAlive)) await sleep(100);
  for (const pid of pids.filter(isAlive)) process.kill(pid, "SIGKILL");
}

/**
 * wrangler.toml without the static assets and their build step (the web
 * app: no part of what the benchmarks measure, and a snapshot cannot carry
 * the assets directory), with `main` pointing at `main`.
 */
export function workerOnlyConfig(toml, main) {
  const kept = [];
  let skipping = false;
  for (const line of toml.split("\n")) {
    const table = /^\s*\[+([^\]]+)\]+/.exec(line)?.[1]?.trim();
    if (table !== undefined) skipping = table === "assets" || table.startsWith("assets.") || table === "build";
    if (!skipping) kept.push(line);
  }
  return kept.join("\n").replace(/^main\s*=.*$/m, `main = ${JSON.stringify(main)}`);
}

/**
 * A probe worker (one module, one SQLite-backed Durable Object class bound as
 * `binding`) as a snapshot in a new scratch directory, so it runs exactly
 * like the MeetTime bundle; `dispose()` removes the directory.
 */
export function probeBundle(source, { binding, className }) {
  const dir = mkdtempSync(join(tmpdir(), "meettime-probe-"));
  writeFileSync(join(dir, "index.js"), readFileSync(source));
  const toml = [
    'name = "probe"',
    'main = "index.js"',
    'compatibility_date = "2026-04-26"',
    "[[durable_objects.bindings]]",
    `name = "${binding}"`,
    `class_name = "${className}"`,
    "[[migrations]]",
    'tag = "v1"',
    `new_sqlite_classes = ["${className}"]`,
  ];
  writeFileSync(join(dir, "wrangler.toml"), `${toml.join("\n")}\n`);
  return usingBundle(dir, () => rmSync(dir, { recursive: true, force: true }));
}

/** A snapshot made earlier (`--bundle <dir>`, or `--save-bundle`), for A/B runs of two builds. */
export function usingBundle(dir, dispose = () => {}) {
  if (!existsSync(join(dir, "index.js")) || !existsSync(join(dir, "wrangler.toml"))) {
    throw new Error(`${dir} holds no snapshot (index.js and wrangler.toml)`);
  }
  return { dir, scriptPath: join(dir, "index.js"), configPath: join(dir, "wrangler.toml"), dispose };
}

/**
 * The workerd processes under `root` once there are exactly `count` of them
 * for a second: a runtime that is being replaced at start-up (a reload) must
 * not be the one measured.
 */
async function settledWorkerds(root, count) {
  const deadline = Date.now() + 30_000;
  let previous = "";
  while (Date.now() < deadline) {
    const workerds = descendants(root).filter((pid) => comm(pid) === "workerd");
    const key = workerds.join(",");
    if (workerds.length === count && key === previous) return workerds;
    previous = key;
    await sleep(1_000);
  }
  throw new Error(`expected ${count} steady workerd processes under ${root}, found ${previous || "none"}`);
}

/** Runs `setup`; if it fails, stops what was started before rethrowing, so nothing is left behind. */
async function guarded(stop, setup) {
  try {
    return await setup();
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function startWrangler({ clients, configPath, vars: extraVars }) {
  const server = await startWranglerDev({
    httpPorts: HTTP_PORTS,
    inspectorPorts: INSPECTOR_PORTS,
    config: configPath,
    vars: benchVars(clients, extraVars),
    logLevel: null, // wrangler's own default, as a developer runs it
  });
  const { port, pid: root, inspectorPort, stop } = server;
  return guarded(stop, async () => {
    const url = server.baseUrl;
    const workerds = await settledWorkerds(root, 2);
    const tree = descendants(root);
    // The dev proxy is the workerd that listens on --port; the other one runs the worker.
    const proxy = workerds.find((pid) => cmdline(pid).includes(`--socket-addr=entry=127.0.0.1:${port}`));
    const worker = workerds.find((pid) => pid !== proxy);
    const node = tree.find((pid) => cmdline(pid).some((arg) => arg.endsWith("wrangler-dist/cli.js")));
    if (!proxy || !worker) throw new Error(`expected two workerd processes under wrangler, found ${workerds.length}`);
    const pids = { "workerd dev proxy": proxy, "workerd user worker": worker, "wrangler node": node ?? root };
    return { url, pids, inspectorPort, stop };
  });
}

/**
 * `onStderr(chunk)`, if given, receives workerd's error output instead of this terminal;
 * `onStdout(chunk)` its standard output (the worker's info log lines), otherwise dropped.
 * `inspector: true` opens workerd's inspector (for profiler.mjs) on a free port, returned as `inspectorPort`.
 */
export async function startMiniflare({
  clients,
  scriptPath,
  configPath,
  vars: extraVars,
  onStderr,
  onStdout,
  inspector = false,
}) {
  const port = await freePort(HTTP_PORTS);
  const inspectorPort = inspector ? await freePort(INSPECTOR_PORTS) : undefined;
  const persistDir = mkdtempSync(join(tmpdir(), "meettime-bench-state-"));
  const host = fork(join(ROOT, "scripts/bench/miniflare-host.mjs"), [], {
    cwd: ROOT,
    env: QUIET_ENV,
    stdio: ["ignore", onStdout ? "pipe" : "ignore", onStderr ? "pipe" : "inherit", "ipc"],
  });
  if (onStderr) host.stderr.on("data", onStderr);
  if (onStdout) host.stdout.on("data", onStdout);
  const stop = async () => {
    const all = [host.pid, ...descendants(host.pid)];
    if (host.connected) host.send({ stop: true });
    await waitGone(all, 10_000);
    rmSync(persistDir, { recursive: true, force: true });
  };
  return guarded(stop, async () => {
    await new Promise((resolve, reject) => {
      host.once("message", resolve);
      host.once("exit", (code) => reject(new Error(`miniflare host exited with ${code}`)));
      host.send({ configPath, port, inspectorPort, scriptPath, persistDir, vars: benchVars(clients, extraVars) });
    });
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url, { isRunning: () => host.exitCode === null, timeoutMs: 90_000 });
    const workerds = await settledWorkerds(host.pid, 1);
    return { url, pids: { "workerd (miniflare)": workerds[0], "miniflare node": host.pid }, inspectorPort, stop };
  });
}
