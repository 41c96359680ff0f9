/**
 * The soak's own `wrangler dev`: 127.0.0.1 only, ports from 8900-8999
 * (inspector 9500-9599), a throwaway --persist-to directory and secret, and
 * the REST limit raised so 200 clients from one address are not throttled.
 * Also reads the resident memory of its workerd processes from /proc.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const STARTUP_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;

function portIsFree(port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

async function freePort(from, to) {
  const size = to - from + 1;
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = from + ((start + i) % size);
    if (await portIsFree(port)) return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}

/**
 * @example const server = await startServer({ MAX_PARTICIPANTS_PER_MEETING: "50" }); ...; await server.stop();
 */
export async function startServer(vars = {}) {
  const dir = mkdtempSync(join(tmpdir(), "meettime-soak-"));
  const envFile = join(dir, "env");
  const allVars = { JWT_SECRET: `soak-${crypto.randomUUID()}-${crypto.randomUUID()}`, LOG_LEVEL: "warn", ...vars };
  writeFileSync(
    envFile,
    `${Object.entries(allVars)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n")}\n`,
  );
  const port = await freePort(8900, 8999);
  const inspectorPort = await freePort(9500, 9599);
  const child = spawn(
    join(ROOT, "node_modules/.bin/wrangler"),
    [
      "dev",
      "--ip=127.0.0.1",
      `--port=${port}`,
      `--inspector-port=${inspectorPort}`,
      `--persist-to=${join(dir, "state")}`,
      `--env-file=${envFile}`,
      // Belt and braces: the REST limit must be high whatever other env files say.
      "--var",
      `RATE_LIMIT_MAX_REQUESTS:${vars.RATE_LIMIT_MAX_REQUESTS ?? "100000000"}`,
      "--show-interactive-dev-session=false",
      "--log-level=warn",
    ],
    {
      cwd: ROOT,
      detached: true, // its own process group, so a stop reaches workerd too
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "1" },
    },
  );
  let output = "";
  const keep = (chunk) => {
    output = (output + chunk).slice(-20_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const baseUrl = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      signalGroup(child.pid, "SIGTERM");
      const timer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    signalGroup(child.pid, "SIGKILL"); // anything of the group still alive
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`wrangler dev exited during startup:\n${output}`);
    }
    try {
      if ((await fetch(`${baseUrl}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer /health within ${STARTUP_TIMEOUT_MS / 1000} s:\n${output}`);
    }
    await sleep(300);
  }
  return { baseUrl, pid: child.pid, stop, output: () => output };
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Every process below `rootPid`, from /proc. */
function descendants(rootPid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name is in parentheses and may contain spaces: the ppid follows the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  const found = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Resident memory of the workerd processes under `rootPid`, in MiB (null when none can be read). */
export function workerdRssMiB(rootPid) {
  let kib = 0;
  let seen = 0;
  for (const pid of descendants(rootPid)) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "workerd") continue;
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (match) {
        kib += Number(match[1]);
        seen++;
      }
    } catch {
      // exited while we looked
    }
  }
  return seen === 0 ? null : Math.round((kib / 1024) * 10) / 10;
}
