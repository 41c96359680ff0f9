/**
 * The REST rate limit per client IP: exact under concurrency (the N+1th
 * request of a window is refused, never the Nth), a fast client counted in
 * batches (ratelimit-grants.test.ts has their rules), `RateLimit-*` headers,
 * `429 RATE_LIMITED` with `Retry-After`, a fixed window that reopens, every
 * `/api/*` request counted (WebSocket upgrades and unknown routes too),
 * `/health` and preflights not, and no data left once a window closed.
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { clientKey } from "../src/ratelimit/middleware";
import { createMeeting } from "./helpers/api";
import { fetchWithEnv, uniqueClientIp } from "./helpers/worker-env";

const WINDOW_MS = 60_000;

function limited(max: number, ip: string, path = "/api/meetings/nope", init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("CF-Connecting-IP", ip);
  return fetchWithEnv({ RATE_LIMIT_MAX_REQUESTS: String(max), RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) }, path, {
    ...init,
    headers,
  });
}

function counterOf(ip: string) {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(clientKey(new Headers({ "CF-Connecting-IP": ip }))));
}

afterEach(() => {
  vi.useRealTimers();
});

describe("REST rate limit", () => {
  it("lets exactly N concurrent requests through and refuses the rest", async () => {
    const ip = uniqueClientIp();
    const responses = await Promise.all(Array.from({ length: 12 }, () => limited(5, ip)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    expect(statuses.filter((s) => s === 404)).toHaveLength(5);
    const remaining = responses.filter((r) => r.status === 404).map((r) => r.headers.get("RateLimit-Remaining"));
    expect(remaining.sort()).toEqual(["0", "1", "2", "3", "4"]);
  });

  it("refuses the N+1th sequential request, not the Nth", async () => {
    const ip = uniqueClientIp();
    for (let i = 1; i <= 3; i++) expect((await limited(3, ip)).status, `request ${i}`).toBe(404);
    expect((await limited(3, ip)).status).toBe(429);
  });

  it("describes the window in RateLimit-* headers and refuses with Retry-After", async () => {
    const ip = uniqueClientIp();
    const first = await limited(2, ip);
    expect(first.headers.get("RateLimit-Limit")).toBe("2");
    expect(first.headers.get("RateLimit-Remaining")).toBe("1");
    expect(first.headers.get("RateLimit-Policy")).toBe("2;w=60");
    const reset = Number(first.headers.get("RateLimit-Reset"));
    expect(reset).toBeGreaterThan(0);
    expect(reset).toBeLessThanOrEqual(60);

    await limited(2, ip);
    const refused = await limited(2, ip);
    expect(refused.status).toBe(429);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("RATE_LIMITED");
    expect(typeof body.error.message).toBe("string");
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get("RateLimit-Remaining")).toBe("0");
    expect(refused.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(refused.headers.get("x-request-id")).toBeTruthy();
  });

  it("reopens the window once it has passed", async () => {
    const ip = uniqueClientIp();
    await limited(1, ip);
    expect((await limited(1, ip)).status).toBe(429);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + WINDOW_MS + 1);
    const reopened = await limited(1, ip);
    expect(reopened.status).toBe(404);
    expect(reopened.headers.get("RateLimit-Remaining")).toBe("0");
    expect(reopened.headers.get("RateLimit-Reset")).toBe("60");
    expect((await limited(1, ip)).status).toBe(429);
  });

  it("counts each client separately", async () => {
    const [a, b] = [uniqueClientIp(), uniqueClientIp()];
    await limited(1, a);
    expect((await limited(1, a)).status).toBe(429);
    expect((await limited(1, b)).status).toBe(404);
  });

  it("counts an IPv6 client by its /64", async () => {
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:1`;
    await limited(1, `${prefix}::1`);
    expect((await limited(1, `${prefix}:0:0:0:2`)).status).toBe(429);
    expect((await limited(1, `${prefix.slice(0, -1)}2::1`)).status).toBe(404);
  });

  it("counts WebSocket upgrades and unknown routes, but not /health or preflights", async () => {
    const ip = uniqueClientIp();
    for (let i = 0; i < 3; i++) {
      const health = await limited(2, ip, "/health");
      expect(health.status).toBe(200);
      expect(health.headers.get("RateLimit-Limit")).toBeNull();
    }
    const preflight = await limited(2, ip, "/api/meetings/create", {
      method: "OPTIONS",
      headers: { Origin: "http://localhost:5173", "Access-Control-Request-Method": "POST" },
    });
    expect(preflight.status).toBe(204);

    const { meeting, hostToken } = await createMeeting();
    const upgrade = await limited(2, ip, `/api/meetings/${meeting.id}/ws?token=${hostToken}`, {
      headers: { Upgrade: "websocket" },
    });
    expect(upgrade.status).toBe(101);
    expect(upgrade.headers.get("RateLimit-Remaining")).toBe("1");
    upgrade.webSocket?.accept();
    upgrade.webSocket?.close(1000, "done");
    expect((await limited(2, ip, "/api/no-such-route")).status).toBe(404);
    expect((await limited(2, ip, "/api/meetings/create", { method: "POST" })).status).toBe(429);
  });

  it("leaves no data behind once the window closed", async () => {
    const ip = uniqueClientIp();
    for (let i = 0; i < 3; i++) await limited(3, ip);
    const counter = counterOf(ip);
    expect(await runInDurableObject(counter, (_, state) => [...state.storage.kv.list()].length)).toBe(1);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + WINDOW_MS + 1);
    expect(await runDurableObjectAlarm(counter)).toBe(true);
    const left = await runInDurableObject(counter, async (_, state) => ({
      keys: [...state.storage.kv.list()].length,
      alarm: await state.storage.getAlarm(),
    }));
    expect(left).toEqual({ keys: 0, alarm: null });
    const next = await limited(3, ip);
    expect(next.headers.get("RateLimit-Remaining")).toBe("2");
    await runInDurableObject(counter, (_, state) => state.storage.deleteAll());
  });

  it("writes nothing for most counted requests, once more when a window is used up, and stays refused after an eviction", async () => {
    const ip = uniqueClientIp();
    const counter = counterOf(ip);
    const storedKeys = () => runInDurableObject(counter, (_, state) => [...state.storage.kv.list()].length);
    // A limit of 16 is saved every 2 requests (an eighth): the first request writes nothing.
    await limited(16, ip);
    expect(await storedKeys()).toBe(0);
    for (let i = 1; i < 16; i++) await limited(16, ip);
    expect(await storedKeys()).toBe(1);
    await evictDurableObject(counter);
    const refused = await limited(16, ip);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(1);
    // That refusal came from this isolate, which knows the window is used up; the object itself must know too.
    expect(await counter.hit(16, WINDOW_MS)).toMatchObject({ allowed: false, remaining: 0 });
    await runInDurableObject(counter, (_, state) => state.storage.deleteAll());
  });

  it.each([
    ["one request at a time", 1],
    ["in batches", 8],
  ])("loses at most an eighth of the limit per eviction, counted %s", async (_, wanted) => {
    const limit = 80;
    const counter = counterOf(uniqueClientIp());
    let admitted = 0;
    let evictions = 0;
    // The client sends just under its limit (as it sees it), pauses until its counter is evicted, and repeats.
    for (let round = 0; round < 4; round++) {
      for (let sent = 0; sent < limit - 1; ) {
        const grant = await counter.hit(limit, WINDOW_MS, wanted);
        if (!grant.allowed) break;
        admitted += grant.granted;
        sent += grant.granted;
      }
      await evictDurableObject(counter);
      evictions++;
    }
    while ((await counter.hit(limit, WINDOW_MS)).allowed) admitted++;
    expect(admitted).toBeGreaterThanOrEqual(limit);
    expect(admitted).toBeLessThanOrEqual(limit + evictions * Math.ceil(limit / 8));
    await runInDurableObject(counter, (_, state) => state.storage.deleteAll());
  });

  it("saves a window's count at most eight times", async () => {
    const limit = 80;
    const counter = counterOf(uniqueClientIp());
    let writes = 0;
    // The object runs in this test's isolate: its storage calls can be counted from here.
    await runInDurableObject(counter, (_, state) => {
      const kv = state.storage.kv;
      const put = kv.put.bind(kv);
      kv.put = (key: string, value: unknown) => {
        writes++;
        put(key, value);
      };
    });
    let admitted = 0;
    while ((await counter.hit(limit, WINDOW_MS)).allowed) admitted++;
    expect(admitted).toBe(limit);
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThanOrEqual(8);
    await runInDurableObject(counter, (_, state) => state.storage.deleteAll());
  });

  it("counts a fast client in batches: one counter call for many requests, the same headers and limit", async () => {
    const ip = uniqueClientIp();
    let calls = 0;
    const counting = {
      idFromName: (name: string) => env.RATE_LIMITER.idFromName(name),
      get: (id: DurableObjectId) => {
        const stub = env.RATE_LIMITER.get(id);
        return {
          hit: (...args: Parameters<typeof stub.hit>) => {
            calls++;
            return stub.hit(...args);
          },
        };
      },
    };
    const send = () =>
      fetchWithEnv(
        { RATE_LIMITER: counting, RATE_LIMIT_MAX_REQUESTS: "250", RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) },
        "/api/meetings/nope",
        { headers: { "CF-Connecting-IP": ip } },
      );
    const responses: Response[] = [];
    for (let i = 0; i < 260; i++) responses.push(await send());
    expect(responses.slice(0, 250).map((r) => r.headers.get("RateLimit-Remaining"))).toEqual(
      Array.from({ length: 250 }, (_, i) => String(249 - i)),
    );
    expect(responses.slice(0, 250).every((r) => r.status === 404)).toBe(true);
    expect(responses.slice(250).every((r) => r.status === 429 && r.headers.get("Retry-After"))).toBe(true);
    expect(calls).toBeLessThan(60);
    expect(await counterOf(ip).hit(250, WINDOW_MS)).toMatchObject({ allowed: false });
  });

  it("keeps limiting in the isolate when the counter fails for a reason other than load, and logs it", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const broken = {
      idFromName: () => {
        throw new Error("counter unavailable");
      },
    };
    const ip = uniqueClientIp();
    const send = () =>
      fetchWithEnv({ RATE_LIMITER: broken, RATE_LIMIT_MAX_REQUESTS: "2" }, "/api/meetings/nope", {
        headers: { "CF-Connecting-IP": ip },
      });
    expect((await send()).status).toBe(404);
    expect((await send()).status).toBe(404);
    const refused = await send();
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBeTruthy();
    expect(errors.mock.calls.some(([line]) => String(line).includes("ratelimit.unavailable"))).toBe(true);
    errors.mockRestore();
  });

  it.each([
    [
      "overloaded",
      Object.assign(new Error("Durable Object is overloaded. Too many requests queued."), { overloaded: true }),
    ],
    ["retryable", Object.assign(new Error("internal error"), { retryable: true })],
    ["out of memory", new Error("SQLITE_NOMEM: out of memory")],
  ])("refuses with 503 UNAVAILABLE and Retry-After when the counter is %s", async (_, failure) => {
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const overloaded = {
      idFromName: (name: string) => env.RATE_LIMITER.idFromName(name),
      get: () => ({
        hit: () => Promise.reject(failure),
      }),
    };
    const response = await fetchWithEnv({ RATE_LIMITER: overloaded }, "/api/meetings/nope", {
      headers: { "CF-Connecting-IP": uniqueClientIp() },
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("1");
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("UNAVAILABLE");
    warnings.mockRestore();
  });

  it("logs the route pattern of a refused request, never its path", async () => {
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const ip = uniqueClientIp();
    const { meeting } = await createMeeting();
    const path = `/api/meetings/${meeting.id}/calendar.ics?token=eyJsecret`;
    await limited(1, ip, path);
    expect((await limited(1, ip, path)).status).toBe(429);
    const line = warnings.mock.calls.map(([l]) => String(l)).find((l) => l.includes("request.rate_limited"));
    expect(line).toBeDefined();
    expect(line).toContain('"route":"/api/meetings/:id/calendar.ics"');
    expect(line).not.toContain(meeting.id);
    warnings.mockRestore();
  });
});

describe("clientKey", () => {
  const key = (ip?: string) => clientKey(new Headers(ip ? { "CF-Connecting-IP": ip } : {}));

  it("keys IPv4 by address, IPv6 by /64, IPv4-mapped IPv6 by its IPv4", () => {
    expect(key("203.0.113.7")).toBe("203.0.113.7");
    expect(key("2001:DB8:0:12::1")).toBe("2001:db8:0:12::/64");
    expect(key("2001:db8:0012:0000:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:12:0::/64");
    expect(key("::ffff:203.0.113.7")).toBe("203.0.113.7");
  });

  it("puts requests without CF-Connecting-IP in one shared bucket", () => {
    expect(key()).toBe("unknown");
  });
});
