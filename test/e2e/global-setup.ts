/**
 * One `wrangler dev` for the whole end-to-end run. Tests read its address
 * with `inject("baseUrl")`.
 */
import type { TestProject } from "vitest/node";
import { E2E_JWT_SECRET, startWranglerDev } from "./wrangler-dev";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    jwtSecret: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await startWranglerDev();
  project.provide("baseUrl", server.baseUrl);
  project.provide("jwtSecret", E2E_JWT_SECRET);
  return async () => {
    await server.stop();
  };
}
