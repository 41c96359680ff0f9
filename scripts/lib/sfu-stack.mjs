// @ts-check
/**
 * The SFU media path on this machine: the local SFU (sfu/server.mjs) as a
 * child process on 127.0.0.1, and the Worker variables that point MeetTime
 * at it. Used by `npm run dev` (SFU mode by default), the SFU end-to-end
 * tests and `npm run bench:media`, so all three run the same path.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { freePort, ROOT, startWranglerDev, stopGroup, waitUntil } from "./dev-server.mjs";

export const LOCAL_SFU_APP_ID = "local-sfu-app";
export const LOCAL_SFU_APP_SECRET = "local-sfu-secret";
const SFU_START_TIMEOUT_MS = 30_000;

/**
 * @typedef {object} LocalSfuProcess
 * @property {string} url the API base (`http://127.0.0.1:<port>/v1`): the Worker's `SFU_API_BASE_URL`
 * @property {number} pid
 * @property {Record<string, string>} vars `SFU_API_BASE_URL`, `SFU_APP_ID`, `SFU_APP_SECRET` for the Worker
 * @property {() => string} output what it printed, for failure messages
 * @property {() => Promise<void>} stop
 */

/**
 * Starts `node sfu/server.mjs` on `port` of 127.0.0.1 and resolves once it listens.
 * `peers: "machine"` lets it answer a stock browser, which reaches 127.0.0.1
 * from the machine's own address (sfu/loopback.mjs).
 * @param {{
 *   port: number,
 *   appId?: string,
 *   appSecret?: string,
 *   stdio?: "pipe" | "inherit",
 *   peers?: import("../../sfu/loopback.mjs").PeerScope,
 * }} options
 * @returns {Promise<LocalSfuProcess>}
 */
export async function spawnLocalSfu({
  port,
  appId = LOCAL_SFU_APP_ID,
  appSecret = LOCAL_SFU_APP_SECRET,
  stdio = "pipe",
  peers = "loopback",
}) {
  const child = spawn(process.execPath, [join(ROOT, "sfu/server.mjs")], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", stdio],
    env: { ...process.env, SFU_PORT: String(port), SFU_APP_ID: appId, SFU_APP_SECRET: appSecret, SFU_PEERS: peers },
  });
  let log = "";
  child.stdout?.on("data", (chunk) => {
    log = (log + chunk).slice(-20_000);
    if (stdio === "inherit") process.stdout.write(chunk);
  });
  child.stderr?.on("data", (chunk) => {
    log = (log + chunk).slice(-20_000);
  });
  const url = `http://127.0.0.1:${port}/v1`;
  const stop = () => stopGroup(child);
  try {
    await waitUntil(
      "the local SFU to listen",
      () => {
        if (child.exitCode !== null) throw new Error(`the local SFU exited:\n${log}`);
        return log.includes("listening");
      },
      SFU_START_TIMEOUT_MS,
      50,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    pid: child.pid ?? 0,
    vars: { SFU_API_BASE_URL: url, SFU_APP_ID: appId, SFU_APP_SECRET: appSecret },
    output: () => log,
    stop,
  };
}

/**
 * @typedef {object} SfuMeetingServer
 * @property {string} baseUrl MeetTime's address
 * @property {LocalSfuProcess} sfu
 * @property {number} workerPid wrangler's process group leader
 * @property {() => string} output wrangler's and the SFU's output, for failure messages
 * @property {() => Promise<void>} stop stops both
 */

/**
 * `wrangler dev` whose new meetings are `sfu`, with a local SFU of its own.
 * @param {{
 *   httpPorts: readonly [number, number],
 *   inspectorPorts: readonly [number, number],
 *   sfuPorts: readonly [number, number],
 *   vars?: Record<string, string>,
 *   peers?: import("../../sfu/loopback.mjs").PeerScope,
 * }} options
 * @returns {Promise<SfuMeetingServer>}
 */
export async function startSfuMeetingServer({ httpPorts, inspectorPorts, sfuPorts, vars = {}, peers }) {
  const sfu = await spawnLocalSfu({ port: await freePort(sfuPorts), peers });
  try {
    const server = await startWranglerDev({ httpPorts, inspectorPorts, vars: { ...vars, ...sfu.vars } });
    return {
      baseUrl: server.baseUrl,
      sfu,
      workerPid: server.pid,
      output: () => `${server.output()}\n--- local SFU ---\n${sfu.output()}`,
      stop: async () => {
        await server.stop();
        await sfu.stop();
      },
    };
  } catch (error) {
    await sfu.stop();
    throw error;
  }
}
