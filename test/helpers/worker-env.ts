/**
 * Calls the worker's default export directly with a modified environment,
 * for behaviour that depends on configuration (rate limits, CORS origins,
 * log level, bindings) without a second test project. The Durable Objects
 * behind it are the real ones.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { ORIGIN } from "./api";

export type EnvOverrides = Partial<Record<keyof Env, unknown>>;

/** `path` fetched through the worker with `overrides` laid over the test environment. */
export async function fetchWithEnv(overrides: EnvOverrides, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`${ORIGIN}${path}`, init), { ...env, ...overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** A client address no other test uses (24 random bits), so each test has a limiter window of its own. */
export function uniqueClientIp(): string {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3));
  return `10.${a}.${b}.${c}`;
}

/** A recorder standing in for an Analytics Engine dataset. */
export function fakeDataset() {
  const points: AnalyticsEngineDataPoint[] = [];
  return {
    points,
    writeDataPoint(point?: AnalyticsEngineDataPoint) {
      if (point) points.push(point);
    },
    /** The event names written, in order. */
    events(): string[] {
      return points.map((p) => String(p.blobs?.[0]));
    },
  };
}
