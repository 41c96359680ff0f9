/**
 * A `wrangler dev` that can be stopped and started again on the same port,
 * secret and `--persist-to` directory, for the fault tests: what was stored
 * before a stop (clean or a crash) must be there after the start. Ports come
 * from 8900-8999 (inspector 9500-9599), always on 127.0.0.1, so this server
 * never collides with the suite's shared one (8800-8899).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const HTTP_PORTS: readonly [number, number] = [8900, 8999];
const INSPECTOR_PORTS: readonly [number, number] = [9500, 9599];
const STARTUP_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

async function freePort([from, to]: readonly [number, number], avoid: number[] = []): Promise<number> {
  const size = to - from + 1;
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = from + ((start + i) % size);
    if (!avoid.includes(port) && (await portIsFree(port))) return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export interface RestartableServer {
  readonly baseUrl: string;
  /** The `--persist-to` directory that outlives every stop. */
  readonly stateDir: string;
  readonly jwtSecret: string;
  /** Starts wrangler dev (again) and waits for `/health`. */
  start(): Promise<void>;
  /** SIGTERM (a clean stop) or SIGKILL (a crash) to the whole process group; waits until the port is free. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Stops and deletes the state directory. */
  dispose(): Promise<void>;
  /** What wrangler printed since the last start, for failure messages. */
  output(): string;
}

/**
 * @example const server = await restartableServer(); await server.start(); ...; await server.stop(); await server.start();
 */
export async function restartableServer(vars: Record<string, string> = {}): Promise<RestartableServer> {
  const dir = mkdtempSync(join(tmpdir(), "meettime-restart-"));
  const stateDir = join(dir, "state");
  const envFile = join(dir, "env");
  const jwtSecret = `restart-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const allVars = { JWT_SECRET: jwtSecret, RATE_LIMIT_MAX_REQUESTS: "1000000", LOG_LEVEL: "warn", ...vars };
  writeFileSync(
    envFile,
    `${Object.entries(allVars)
      .map(([key, value]) => `${key}=${value}`)
      .join("\n")}\n`,
  );
  const port = await freePort(HTTP_PORTS);
  const inspectorPort = await freePort(INSPECTOR_PORTS);
  const baseUrl = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = "";

  const healthy = async () => {
    try {
      return (await fetch(`${baseUrl}/health`)).ok;
    } catch {
      return false;
    }
  };

  const start = async () => {
    if (child && isRunning(child)) throw new Error("already running");
    log = "";
    // After a stop the port may linger in the kernel for a moment.
    await waitUntil(`port ${port} to be free`, () => portIsFree(port), 30_000);
    const started = spawn(
      "node_modules/.bin/wrangler",
      [
        "dev",
        "--ip=127.0.0.1",
        `--port=${port}`,
        `--inspector-port=${inspectorPort}`,
        `--persist-to=${stateDir}`,
        `--env-file=${envFile}`,
        "--show-interactive-dev-session=false",
        "--log-level=warn",
      ],
      {
        cwd: process.cwd(),
        detached: true, // its own process group: stopping it stops workerd too
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "1" },
      },
    );
    child = started;
    started.stdout?.on("data", (chunk) => (log += chunk));
    started.stderr?.on("data", (chunk) => (log += chunk));
    await waitUntil(
      "wrangler dev to answer /health",
      async () => {
        if (!isRunning(started))
          throw new Error(`wrangler dev exited (${started.exitCode ?? started.signalCode}):\n${log}`);
        return healthy();
      },
      STARTUP_TIMEOUT_MS,
    );
  };

  const stop = async (signal: "SIGTERM" | "SIGKILL" = "SIGTERM") => {
    const running = child;
    if (!running || !isRunning(running) || running.pid === undefined) return;
    const pid = running.pid;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    const killer = setTimeout(() => signalGroup(pid, "SIGKILL"), STOP_TIMEOUT_MS);
    signalGroup(pid, signal);
    await exited;
    clearTimeout(killer);
    // workerd may outlive wrangler by a moment; make sure nothing of the group still serves.
    signalGroup(pid, "SIGKILL");
    await waitUntil(`port ${port} to close`, async () => !(await healthy()), 30_000);
  };

  return {
    baseUrl,
    stateDir,
    jwtSecret,
    start,
    stop,
    async dispose() {
      await stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => log,
  };
}

/** A child killed by a signal has a signalCode and no exitCode. */
function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}
