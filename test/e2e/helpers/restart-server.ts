/**
 * A `wrangler dev` that can be stopped and started again on the same port,
 * secret and `--persist-to` directory, for the fault tests: what was stored
 * before a stop (clean or a crash) must be there after the start. Ports come
 * from 8900-8999 (inspector 9500-9599), always on 127.0.0.1, so this server
 * never collides with the suite's shared one (8800-8899).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startWranglerDev, type WranglerDev } from "../../../scripts/lib/dev-server.mjs";

const HTTP_PORTS = [8900, 8999] as const;
const INSPECTOR_PORTS = [9500, 9599] as const;

export interface RestartableServer {
  readonly baseUrl: string;
  /** The `--persist-to` directory that outlives every stop. */
  readonly stateDir: string;
  readonly jwtSecret: string;
  /** Starts wrangler dev (again) and waits for `/health`. */
  start(): Promise<void>;
  /** SIGTERM (a clean stop) or SIGKILL (a crash) to the whole process group; waits until the group is gone. */
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
  const jwtSecret = `restart-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const allVars = { JWT_SECRET: jwtSecret, RATE_LIMIT_MAX_REQUESTS: "1000000", LOG_LEVEL: "warn", ...vars };
  // Chosen once: every start serves on the same address.
  const port = await freePort(HTTP_PORTS);
  const inspectorPort = await freePort(INSPECTOR_PORTS);
  let running: WranglerDev | undefined;
  let lastOutput = "";

  const stop = async (signal: "SIGTERM" | "SIGKILL" = "SIGTERM") => {
    const server = running;
    running = undefined;
    if (!server) return;
    await server.stop(signal);
    lastOutput = server.output();
  };

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stateDir,
    jwtSecret,
    async start() {
      if (running) throw new Error("already running");
      lastOutput = "";
      running = await startWranglerDev({
        httpPorts: HTTP_PORTS,
        inspectorPorts: INSPECTOR_PORTS,
        port,
        inspectorPort,
        stateDir,
        vars: allVars,
      });
    },
    stop,
    async dispose() {
      await stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => running?.output() ?? lastOutput,
  };
}
