/**
 * A real TURN server for end-to-end tests: Debian's coturn (`turnserver`)
 * on 127.0.0.1, a free port, TURN REST API authentication
 * (`use-auth-secret` with a throwaway `static-auth-secret`), no TLS, no
 * CLI, no config file, relaying to loopback peers. MeetTime is pointed at
 * it with TURN_URLS and TURN_SHARED_SECRET. Reusable: the suite's global
 * setup starts one and tests (a browser call too) read it with `inject("turn")`.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, stopGroup, waitUntil } from "../../../scripts/lib/dev-server.mjs";
import { type Address, TurnClient } from "./turn-client";

export interface TurnServer {
  /** For TURN_URLS: `turn:127.0.0.1:<port>?transport=udp` and `…?transport=tcp`. */
  urls: string[];
  /** For TURN_SHARED_SECRET (coturn's `static-auth-secret`). */
  secret: string;
  realm: string;
  host: string;
  port: number;
  /** The tail of what turnserver printed, for failure messages. */
  output: () => string;
  stop: () => Promise<void>;
}

export interface TurnServerOptions {
  /** Where to look for a free listening port (UDP and TCP). */
  ports?: readonly [number, number];
  /** Relay ports coturn allocates from. */
  relayPorts?: readonly [number, number];
  secret?: string;
  /** Relay to loopback peers (the suite's browsers and peers are on 127.0.0.1); default true. */
  allowLoopbackPeers?: boolean;
  /** More `--option=value` arguments, e.g. a sample configuration's lines. */
  extraArgs?: readonly string[];
}

export const TURNSERVER = "turnserver";
const REALM = "meettime.test";
const OUTPUT_KEPT_CHARS = 50_000;

/** Whether Debian's `turnserver` is on PATH. */
export function turnServerInstalled(): boolean {
  return spawnSync(TURNSERVER, ["--version"], { stdio: "ignore" }).status === 0;
}

/** `MEETTIME_REQUIRE_TURN=1` (CI) turns a missing turnserver from a skip into a failure. */
export const TURN_REQUIRED = process.env.MEETTIME_REQUIRE_TURN === "1";

/**
 * Starts coturn and resolves once it listens on its UDP and TCP port.
 * @example const turn = await startTurnServer(); … await turn.stop();
 */
export async function startTurnServer(options: TurnServerOptions = {}): Promise<TurnServer> {
  const host = "127.0.0.1";
  const port = await freePort(options.ports ?? [34780, 34879]);
  const [minPort, maxPort] = options.relayPorts ?? [49400, 49599];
  const secret = options.secret ?? `turn-${crypto.randomUUID()}`;
  const dir = mkdtempSync(join(tmpdir(), "meettime-turn-"));
  const child: ChildProcess = spawn(
    TURNSERVER,
    [
      "-n",
      `--listening-ip=${host}`,
      `--relay-ip=${host}`,
      `--listening-port=${port}`,
      `--min-port=${minPort}`,
      `--max-port=${maxPort}`,
      "--use-auth-secret",
      `--static-auth-secret=${secret}`,
      `--realm=${REALM}`,
      "--fingerprint",
      "--no-tls",
      "--no-dtls",
      "--no-cli",
      "--no-rfc5780",
      ...(options.allowLoopbackPeers === false ? [] : ["--allow-loopback-peers"]),
      ...(options.extraArgs ?? []),
      `--db=${join(dir, "turndb")}`,
      `--pidfile=${join(dir, "turnserver.pid")}`,
      "--log-file=stdout",
      "--simple-log",
    ],
    { detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  const keep = (chunk: Buffer) => {
    log = (log + chunk).slice(-OUTPUT_KEPT_CHARS);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const output = () => log;
  const stop = async () => {
    await stopGroup(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      `turnserver to answer on ${host}:${port}`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`turnserver exited during start-up:\n${output()}`);
        }
        return (await answersStun({ host, port })) && (await acceptsTcp({ host, port }));
      },
      20_000,
      100,
    );
  } catch (error) {
    await stop();
    throw error instanceof Error && error.message.startsWith("timed out")
      ? new Error(`${error.message}:\n${output()}`)
      : error;
  }
  return {
    urls: [`turn:${host}:${port}?transport=udp`, `turn:${host}:${port}?transport=tcp`],
    secret,
    realm: REALM,
    host,
    port,
    output,
    stop,
  };
}

/** Whether a STUN Binding request over UDP is answered. */
async function answersStun(server: Address): Promise<boolean> {
  const client = await TurnClient.open(server);
  try {
    await client.binding(300);
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

function acceptsTcp({ host, port }: Address): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
