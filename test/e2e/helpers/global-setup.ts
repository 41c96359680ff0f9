/**
 * One `wrangler dev` for the whole end-to-end run, with a throwaway state
 * directory and secret. Tests read its address with `inject("baseUrl")`.
 * When Debian's coturn is installed, one `turnserver` too, and the worker
 * hands out TURN credentials for it (TURN_URLS, TURN_SHARED_SECRET); tests
 * read it with `inject("turn")`, null without coturn (a failure instead
 * when MEETTIME_REQUIRE_TURN=1).
 */
import type { TestProject } from "vitest/node";
import { startWranglerDev } from "../../../scripts/lib/dev-server.mjs";
import { startTurnServer, TURN_REQUIRED, type TurnServer, turnServerInstalled } from "./turn-server";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    jwtSecret: string;
    /** The suite's coturn, or null when it is not installed. */
    turn: Pick<TurnServer, "urls" | "secret" | "realm" | "host" | "port"> | null;
  }
}

/** Port ranges reserved for this suite (the restart tests, soak and bench use others). */
const PORTS = { httpPorts: [8800, 8899], inspectorPorts: [9400, 9499] } as const;

async function suiteTurnServer(): Promise<TurnServer | null> {
  if (turnServerInstalled()) return startTurnServer();
  if (TURN_REQUIRED) throw new Error("MEETTIME_REQUIRE_TURN=1, but turnserver is missing: apt-get install coturn");
  return null;
}

export default async function setup(project: TestProject) {
  const jwtSecret = `e2e-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const turn = await suiteTurnServer();
  const turnVars: Record<string, string> = turn
    ? { TURN_URLS: turn.urls.join(","), TURN_SHARED_SECRET: turn.secret }
    : {};
  const server = await startWranglerDev({
    ...PORTS,
    vars: {
      JWT_SECRET: jwtSecret,
      // The suite makes many requests from one address; the REST limit is not what it tests.
      RATE_LIMIT_MAX_REQUESTS: "1000000",
      LOG_LEVEL: "warn",
      ...turnVars,
    },
  }).catch(async (error) => {
    await turn?.stop();
    throw error;
  });
  project.provide("baseUrl", server.baseUrl);
  project.provide("jwtSecret", jwtSecret);
  project.provide(
    "turn",
    turn && { urls: turn.urls, secret: turn.secret, realm: turn.realm, host: turn.host, port: turn.port },
  );
  return async () => {
    await server.stop();
    await turn?.stop();
  };
}
