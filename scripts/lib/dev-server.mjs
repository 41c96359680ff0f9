// @ts-check
/**
 * Starts and stops a real `wrangler dev` for the e2e suite, the restart
 * tests, the soak and the benchmark: a free 127.0.0.1 port and inspector
 * port from the caller's own ranges (so suites never collide), a
 * `--persist-to` directory (throwaway, or the caller's to reuse across
 * restarts), Worker variables from its own env file (so `.dev.vars` is
 * neither needed nor read), a wait for `/health`, and a stop that reaches
 * the whole process group (wrangler runs workerd and esbuild as children).
 * Plain ESM with JSDoc types (checked: `@ts-check` plus allowJs in
 * tsconfig.node.json), so Node scripts import it without a loader and the
 * TypeScript tests import it with types.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

/** @typedef {readonly [number, number]} PortRange */

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
const STARTUP_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;
/** How much of wrangler's output is kept for failure messages. */
const OUTPUT_KEPT_CHARS = 100_000;

/**
 * Whether nothing listens on `port` of 127.0.0.1 right now.
 * @param {number} port
 * @returns {Promise<boolean>}
 */
export function portIsFree(port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/**
 * A free port in [from, to], starting at a random offset so concurrent runs rarely race for the same one.
 * @param {PortRange} range
 * @param {number[]} [avoid] ports already handed out
 * @returns {Promise<number>}
 */
export async function freePort([from, to], avoid = []) {
  const size = to - from + 1;
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = from + ((start + i) % size);
    if (!avoid.includes(port) && (await portIsFree(port))) return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}

/**
 * Polls `check` until it returns true.
 * @param {string} what for the timeout message
 * @param {() => Promise<boolean> | boolean} check
 * @param {number} timeoutMs
 * @param {number} [intervalMs]
 * @returns {Promise<void>}
 */
export async function waitUntil(what, check, timeoutMs, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

/**
 * Waits until `${baseUrl}/health` answers 200; fails early once `isRunning()` says the server died.
 * @param {string} baseUrl
 * @param {{ isRunning: () => boolean, timeoutMs?: number, output?: () => string }} options
 * @returns {Promise<void>}
 */
export async function waitForHealth(baseUrl, { isRunning, timeoutMs = STARTUP_TIMEOUT_MS, output = () => "" }) {
  try {
    await waitUntil(
      `${baseUrl}/health`,
      async () => {
        if (!isRunning()) throw new Error(`server exited during start-up:\n${output()}`);
        try {
          return (await fetch(`${baseUrl}/health`)).ok;
        } catch {
          return false; // not listening yet
        }
      },
      timeoutMs,
    );
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("timed out")) {
      throw new Error(`${error.message}:\n${output()}`);
    }
    throw error;
  }
}

/**
 * Sends `signal` to every process of the group led by `pid`; a group that is gone already is fine.
 * @param {number} pid
 * @param {NodeJS.Signals | 0} signal
 * @returns {boolean} whether the group still existed
 */
export function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a detached child and everything in its process group: `signal` (a
 * clean stop, or SIGKILL for a crash), SIGKILL after a grace period, then
 * SIGKILL to whatever of the group outlived the child, and a bounded wait
 * until the group is gone (so the next server, or the next CPU sample, does
 * not meet a leftover workerd).
 * @param {import("node:child_process").ChildProcess} child
 * @param {NodeJS.Signals} [signal]
 * @returns {Promise<void>}
 */
export async function stopGroup(child, signal = "SIGTERM") {
  const pid = child.pid;
  if (pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const killer = setTimeout(() => signalGroup(pid, "SIGKILL"), STOP_TIMEOUT_MS);
    signalGroup(pid, signal);
    await exited;
    clearTimeout(killer);
  }
  signalGroup(pid, "SIGKILL");
  await waitUntil(`process group ${pid} to end`, () => !signalGroup(pid, 0), STOP_TIMEOUT_MS, 100).catch(() => {});
}

/**
 * @typedef {object} WranglerDevOptions
 * @property {PortRange} httpPorts where to look for a free `--port`
 * @property {PortRange} inspectorPorts where to look for a free `--inspector-port`
 * @property {number} [port] this exact port instead (a restart on the same address); waits until it is free
 * @property {number} [inspectorPort] this exact inspector port instead
 * @property {string} [stateDir] `--persist-to` to use and keep; by default a throwaway one, deleted on stop
 * @property {Record<string, string>} [vars] Worker variables, written to the server's own `--env-file`
 * @property {string} [config] `-c` path of a wrangler.toml other than the project's
 * @property {string[]} [extraArgs] more `wrangler dev` arguments
 * @property {string | null} [logLevel] `--log-level` ("warn" unless given; null keeps wrangler's default)
 * @property {number} [startupTimeoutMs] how long `/health` may take to answer
 */

/**
 * @typedef {object} WranglerDev
 * @property {string} baseUrl `http://127.0.0.1:<port>`
 * @property {number} port
 * @property {number} inspectorPort
 * @property {number} pid wrangler's node process, leader of the process group
 * @property {() => string} output the tail of what wrangler printed, for failure messages
 * @property {(signal?: NodeJS.Signals) => Promise<void>} stop stops the group; deletes the state directory unless the caller owns it
 */

/**
 * Starts `wrangler dev` on 127.0.0.1 and resolves once `/health` answers;
 * on failure everything it started is stopped before the error is thrown.
 * @example const server = await startWranglerDev({ httpPorts: [8800, 8899], inspectorPorts: [9400, 9499], vars: { JWT_SECRET: secret } });
 * @param {WranglerDevOptions} options
 * @returns {Promise<WranglerDev>}
 */
export async function startWranglerDev(options) {
  const { vars = {}, extraArgs = [], logLevel = "warn", startupTimeoutMs = STARTUP_TIMEOUT_MS } = options;
  const port = options.port ?? (await freePort(options.httpPorts));
  const inspectorPort = options.inspectorPort ?? (await freePort(options.inspectorPorts, [port]));
  // After a stop, the port of a restarted server may linger in the kernel for a moment.
  if (options.port !== undefined) await waitUntil(`port ${port} to be free`, () => portIsFree(port), 30_000);

  const dir = mkdtempSync(join(tmpdir(), "meettime-dev-"));
  const stateDir = options.stateDir ?? join(dir, "state");
  mkdirSync(stateDir, { recursive: true });
  const envFile = join(dir, "env");
  const envLines = Object.entries(vars).map(([key, value]) => `${key}=${value}`);
  writeFileSync(envFile, `${envLines.join("\n")}\n`);

  const child = spawn(
    WRANGLER,
    [
      "dev",
      ...(options.config ? ["-c", options.config] : []),
      "--ip=127.0.0.1",
      `--port=${port}`,
      `--inspector-port=${inspectorPort}`,
      `--persist-to=${stateDir}`,
      `--env-file=${envFile}`,
      "--show-interactive-dev-session=false",
      ...(logLevel ? [`--log-level=${logLevel}`] : []),
      ...extraArgs,
    ],
    {
      cwd: ROOT,
      detached: true, // its own process group, so a stop reaches workerd too
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "1" },
    },
  );
  let log = "";
  /** @param {Buffer} chunk */
  const keep = (chunk) => {
    log = (log + chunk).slice(-OUTPUT_KEPT_CHARS);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const output = () => log;
  if (child.pid === undefined) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start ${WRANGLER}`);
  }
  const pid = child.pid;
  const baseUrl = `http://127.0.0.1:${port}`;
  /** @param {NodeJS.Signals} [signal] */
  const stop = async (signal) => {
    await stopGroup(child, signal);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const isRunning = () => child.exitCode === null && child.signalCode === null;
    await waitForHealth(baseUrl, { isRunning, timeoutMs: startupTimeoutMs, output });
  } catch (error) {
    await stop("SIGKILL");
    throw error;
  }
  return { baseUrl, port, inspectorPort, pid, output, stop };
}
