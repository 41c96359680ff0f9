/**
 * Every request gets an HTTP answer: when the worker's own error handler
 * fails too (here: logging throws, as it may under memory pressure), the
 * request is still answered, `503 UNAVAILABLE` with `Retry-After` for the
 * runtime's load errors and `500 INTERNAL` for a bug, never a dropped
 * connection.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { inMinutes } from "./helpers/api";
import { fetchWithEnv, uniqueClientIp } from "./helpers/worker-env";

/** POST /api/meetings/create through a MEETINGS namespace whose objects' `create` fails with `failure()`. */
function createFailingWith(failure: () => Error) {
  const namespace = {
    newUniqueId: () => env.MEETINGS.newUniqueId(),
    idFromString: (id: string) => env.MEETINGS.idFromString(id),
    get: () => ({ create: () => Promise.reject(failure()) }),
  };
  return fetchWithEnv({ MEETINGS: namespace }, "/api/meetings/create", {
    method: "POST",
    headers: { "content-type": "application/json", "CF-Connecting-IP": uniqueClientIp() },
    body: JSON.stringify({ title: "Pressure", hostName: "Ada", scheduledAt: inMinutes(60) }),
  });
}

/** Every log line throws `failure()` (as console output may when the isolate is out of memory). */
function loggingFails(failure: () => Error) {
  for (const level of ["log", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation(() => {
      throw failure();
    });
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a request whose error handler fails too", () => {
  it("is answered 503 UNAVAILABLE with Retry-After when the runtime is under load", async () => {
    loggingFails(() => new Error("out of memory"));
    const response = await createFailingWith(() =>
      Object.assign(new Error("Durable Object is overloaded."), { overloaded: true }),
    );
    expect(response.status).toBe(503);
    expect(Number(response.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("UNAVAILABLE");
  });

  it("is answered 500 INTERNAL for a bug, without Retry-After", async () => {
    loggingFails(() => new TypeError("console is broken"));
    const response = await createFailingWith(() => new TypeError("undefined is not a function"));
    expect(response.status).toBe(500);
    expect(response.headers.get("Retry-After")).toBeNull();
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("INTERNAL");
  });
});
