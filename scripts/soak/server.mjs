/**
 * The soak's own `wrangler dev`: 127.0.0.1 only, ports from 8900-8999
 * (inspector 9500-9599), a throwaway --persist-to directory and secret, and
 * the REST limit raised so 200 clients from one address are not throttled.
 * Also reads the resident memory of its workerd processes from /proc.
 * Starting and stopping is scripts/lib/dev-server.mjs's.
 */
import { readFileSync } from "node:fs";
import { comm, descendants } from "../bench/lib/proc.mjs";
import { startWranglerDev } from "../lib/dev-server.mjs";

/**
 * @example const server = await startServer({ MAX_PARTICIPANTS_PER_MEETING: "50" }); ...; await server.stop();
 */
export async function startServer(vars = {}) {
  const server = await startWranglerDev({
    httpPorts: [8900, 8999],
    inspectorPorts: [9500, 9599],
    vars: { JWT_SECRET: `soak-${crypto.randomUUID()}-${crypto.randomUUID()}`, LOG_LEVEL: "warn", ...vars },
    // Belt and braces: the REST limit must be high whatever other env files say.
    extraArgs: ["--var", `RATE_LIMIT_MAX_REQUESTS:${vars.RATE_LIMIT_MAX_REQUESTS ?? "100000000"}`],
  });
  return { baseUrl: server.baseUrl, pid: server.pid, stop: () => server.stop(), output: server.output };
}

/** Resident memory of the workerd processes under `rootPid`, in MiB (null when none can be read). */
export function workerdRssMiB(rootPid) {
  let kib = 0;
  let seen = 0;
  for (const pid of descendants(rootPid)) {
    try {
      if (comm(pid) !== "workerd") continue;
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
