/**
 * Starts and stops a real `wrangler dev` for the end-to-end suite: a free
 * 127.0.0.1 port and inspector port, its own temporary persistence directory
 * and environment file (so neither `.wrangler/state` nor `.dev.vars` is
 * touched or needed), and a wait for `/health` before any test runs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Port ranges reserved for this suite, so parallel servers on the machine do not collide. */
export const PORTS = { http: [8800, 8899], inspector: [9400, 9499] } as const;

/** The secret the server signs with; tests may verify tokens with it. */
export const E2E_JWT_SECRET = `e2e-${crypto.randomUUID()}-${crypto.randomUUID()}`;

const STARTUP_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 10_000;

export interface DevServer {
  baseUrl: string;
  /** Everything wrangler printed so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/** A free port in [from, to], starting at a random offset so concurrent runs rarely race for the same one. */
async function freePort([from, to]: readonly [number, number], taken: number[] = []): Promise<number> {
  const size = to - from + 1;
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = from + ((start + i) % size);
    if (!taken.includes(port) && (await portIsFree(port))) return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}

async function waitForHealth(baseUrl: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${output()}`);
    try {
      const response = await fetch(`${baseUrl}/health`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`wrangler dev did not answer /health within ${STARTUP_TIMEOUT_MS / 1000} s:\n${output()}`);
}

/** Stops the server and everything it started (wrangler runs workerd and esbuild as children). */
function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return Promise.resolve();
  const pid = child.pid;
  return new Promise((resolve) => {
    const killer = setTimeout(() => {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }, STOP_TIMEOUT_MS);
    child.once("exit", () => {
      clearTimeout(killer);
      resolve();
    });
    try {
      process.kill(-pid, "SIGTERM");
    } catch {
      clearTimeout(killer);
      resolve();
    }
  });
}

/** Starts `wrangler dev` with a throwaway state directory and secret; resolves once `/health` answers. */
export async function startWranglerDev(extraVars: Record<string, string> = {}): Promise<DevServer> {
  const dir = mkdtempSync(join(tmpdir(), "meettime-e2e-"));
  const envFile = join(dir, "env");
  const vars = {
    JWT_SECRET: E2E_JWT_SECRET,
    // The suite makes many requests from one address; the REST limit is not what it tests.
    RATE_LIMIT_MAX_REQUESTS: "1000000",
    LOG_LEVEL: "warn",
    ...extraVars,
  };
  writeFileSync(
    envFile,
    `${Object.entries(vars)
      .map(([key, value]) => `${key}=${value}`)
      .join("\n")}\n`,
  );

  const port = await freePort(PORTS.http);
  const inspectorPort = await freePort(PORTS.inspector);
  const child = spawn(
    "node_modules/.bin/wrangler",
    [
      "dev",
      "--ip=127.0.0.1",
      `--port=${port}`,
      `--inspector-port=${inspectorPort}`,
      `--persist-to=${join(dir, "state")}`,
      `--env-file=${envFile}`,
      "--show-interactive-dev-session=false",
      "--log-level=warn",
    ],
    {
      cwd: process.cwd(),
      // Own process group, so stopping it also stops workerd.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "1" },
    },
  );
  let log = "";
  child.stdout?.on("data", (chunk) => (log += chunk));
  child.stderr?.on("data", (chunk) => (log += chunk));
  const output = () => log;
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopGroup(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHealth(baseUrl, child, output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { baseUrl, output, stop };
}
