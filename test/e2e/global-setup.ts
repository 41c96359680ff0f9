/**
 * One `wrangler dev` for the whole end-to-end run, with a throwaway state
 * directory and secret. Tests read its address with `inject("baseUrl")`.
 */
import type { TestProject } from "vitest/node";
import { startWranglerDev } from "../../scripts/lib/dev-server.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    jwtSecret: string;
  }
}

/** Port ranges reserved for this suite (the restart tests, soak and bench use others). */
const PORTS = { httpPorts: [8800, 8899], inspectorPorts: [9400, 9499] } as const;

export default async function setup(project: TestProject) {
  const jwtSecret = `e2e-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const server = await startWranglerDev({
    ...PORTS,
    vars: {
      JWT_SECRET: jwtSecret,
      // The suite makes many requests from one address; the REST limit is not what it tests.
      RATE_LIMIT_MAX_REQUESTS: "1000000",
      LOG_LEVEL: "warn",
    },
  });
  project.provide("baseUrl", server.baseUrl);
  project.provide("jwtSecret", jwtSecret);
  return async () => {
    await server.stop();
  };
}
