/**
 * Contract 1.1: load, memory pressure and transient storage failures answer
 * `503 UNAVAILABLE` with `Retry-After` and change nothing; `500 INTERNAL`
 * stays for bugs. Covers the classification of the runtime's errors, the
 * worker's error mapping, the meeting object's RPC wrapper, and the create
 * path's retry on a fresh object with nothing half-created left behind.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isTransientRuntimeError } from "../src/error-path";
import type { MeetingRoom } from "../src/meeting/room";
import { inMinutes } from "./helpers/api";
import { internals } from "./helpers/deliver";
import { fetchWithEnv, uniqueClientIp } from "./helpers/worker-env";

const overloaded = () =>
  Object.assign(new Error("Durable Object is overloaded. Too many requests queued."), { overloaded: true });
const retryable = () => Object.assign(new Error("Network connection lost."), { retryable: true });

const CREATE_BODY = JSON.stringify({ title: "Load", hostName: "Ada", scheduledAt: inMinutes(60) });

/**
 * POST /api/meetings/create through a MEETINGS namespace whose objects answer
 * `create` with `answer(attempt, real)`; `real()` is the real object's answer.
 */
async function createThrough(answer: (attempt: number, real: () => Promise<unknown>) => Promise<unknown>) {
  const ids: string[] = [];
  const namespace = {
    newUniqueId: () => env.MEETINGS.newUniqueId(),
    idFromString: (id: string) => env.MEETINGS.idFromString(id),
    get: (objectId: DurableObjectId) => ({
      create: (id: string, input: Parameters<MeetingRoom["create"]>[1]) => {
        ids.push(id);
        return answer(ids.length, () => env.MEETINGS.get(objectId).create(id, input));
      },
    }),
  };
  const response = await fetchWithEnv({ MEETINGS: namespace }, "/api/meetings/create", {
    method: "POST",
    headers: { "content-type": "application/json", "CF-Connecting-IP": uniqueClientIp() },
    body: CREATE_BODY,
  });
  return { response, ids, body: (await response.json()) as { error?: { code: string } } };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("classifying the runtime's errors", () => {
  it.each([
    ["an error flagged overloaded", overloaded()],
    ["an error flagged retryable", retryable()],
    ["SQLITE_NOMEM", new Error("SQLITE_NOMEM: out of memory")],
    [
      "an isolate over its memory limit",
      new Error("Durable Object's isolate exceeded its memory limit and was reset."),
    ],
    ["a reset object", new Error("Durable Object reset because its code was updated.")],
    ["the runtime's internal error", new Error("internal error; reference = pt6modarpai9gpc74p5qpt5h")],
  ])("treats %s as transient", (_, error) => {
    expect(isTransientRuntimeError(error)).toBe(true);
  });

  it.each([
    ["a TypeError", new TypeError("Cannot read properties of undefined (reading 'id')")],
    ["a flag set to something other than true", Object.assign(new Error("x"), { retryable: "yes" })],
    ["a string", "boom"],
    ["undefined", undefined],
  ])("treats %s as a bug", (_, error) => {
    expect(isTransientRuntimeError(error)).toBe(false);
  });
});

describe("503 UNAVAILABLE, never 500, under load", () => {
  it("retries a create that failed transiently once, on a fresh object", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const { response, ids } = await createThrough((attempt, real) =>
      attempt === 1 ? Promise.reject(overloaded()) : real(),
    );
    expect(response.status).toBe(201);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(ids).toHaveLength(2);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it.each([
    ["the call is refused as overloaded", () => Promise.reject(overloaded())],
    ["the call fails retryably", () => Promise.reject(retryable())],
    [
      "the object answers UNAVAILABLE",
      () => Promise.resolve({ ok: false, error: { code: "UNAVAILABLE", message: "busy" } }),
    ],
  ])("answers 503 with Retry-After when %s twice", async (_, answer) => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const { response, ids, body } = await createThrough(answer);
    expect(response.status).toBe(503);
    expect(body.error?.code).toBe("UNAVAILABLE");
    expect(Number(response.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(ids).toHaveLength(2);
  });

  it("still answers a bug with 500 and does not retry it", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { response, ids, body } = await createThrough(() =>
      Promise.reject(new TypeError("undefined is not a function")),
    );
    expect(response.status).toBe(500);
    expect(body.error?.code).toBe("INTERNAL");
    expect(response.headers.get("Retry-After")).toBeNull();
    expect(ids).toHaveLength(1);
  });
});

describe("the meeting object under memory pressure", () => {
  const input = {
    title: "Pressure",
    hostName: "Ada",
    scheduledAt: Date.now() + 3_600_000,
    durationMinutes: 60,
    timezone: "UTC",
    maxParticipants: 10,
  };

  async function storedTables(stub: DurableObjectStub<MeetingRoom>) {
    return runInDurableObject(stub, async (_, state) => ({
      tables: state.storage.sql
        .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%'")
        .toArray().length,
      alarm: await state.storage.getAlarm(),
    }));
  }

  it("answers SQLITE_NOMEM in the create's write as UNAVAILABLE and keeps nothing", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const id = env.MEETINGS.newUniqueId();
    const stub = env.MEETINGS.get(id);
    const outcome = await runInDurableObject(stub, (room) => {
      internals(room).store.create = () => {
        throw new Error("SQLITE_NOMEM: out of memory");
      };
      return room.create(id.toString(), input);
    });
    expect(outcome).toEqual({ ok: false, error: expect.objectContaining({ code: "UNAVAILABLE" }) });
    expect(await storedTables(stub)).toEqual({ tables: 0, alarm: null });
  });

  it("empties itself again when a step after the write fails", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const id = env.MEETINGS.newUniqueId();
    const stub = env.MEETINGS.get(id);
    const outcome = await runInDurableObject(stub, (room) => {
      internals(room).credentials.host = () =>
        Promise.reject(Object.assign(new Error("internal error"), { retryable: true }));
      return room.create(id.toString(), input);
    });
    expect(outcome).toEqual({ ok: false, error: expect.objectContaining({ code: "UNAVAILABLE" }) });
    expect(await storedTables(stub)).toEqual({ tables: 0, alarm: null });
    // The same object can still take a create afterwards (the worker would use a fresh id anyway).
    const again = await runInDurableObject(stub, (room) => {
      delete (internals(room).credentials as unknown as Record<string, unknown>).host;
      return room.create(id.toString(), input);
    });
    expect(again.ok).toBe(true);
  });
});
