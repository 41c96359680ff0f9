/**
 * Requests the counter grants an isolate ahead (src/ratelimit/grants.ts),
 * against a counter as the object keeps it (`countHits`): the limit is
 * never exceeded however the client's requests spread over isolates,
 * `RateLimit-Remaining` falls by one per request, grants follow the
 * client's pace, and a grant never outlives its window or configuration.
 */
import { describe, expect, it } from "vitest";
import { FAST_CLIENT_MS, GrantedRequests, MAX_GRANT } from "../../src/ratelimit/grants";
import { countHits, GRANT_SHARE, type RateLimitDecision, type RateWindow } from "../../src/ratelimit/window";

const KEY = "203.0.113.7";
const WINDOW_MS = 60_000;

/** One client's counter object, and a record of the calls it answered. */
function counter() {
  let window: RateWindow | undefined;
  /** The size of each grant it made. */
  const calls: number[] = [];
  return {
    calls,
    hit(limit: number, windowMs: number, wanted: number, now: number) {
      const result = countHits(window, limit, windowMs, now, wanted);
      window = result.window;
      calls.push(result.decision.granted);
      return result.decision;
    },
  };
}

/** What the rate-limit middleware does for one request, against `isolate` and `object`. */
function request(isolate: GrantedRequests, object: ReturnType<typeof counter>, limit: number, now: number) {
  const held = isolate.admit(KEY, limit, WINDOW_MS, now);
  if (held) return held;
  const grant = object.hit(limit, WINDOW_MS, isolate.wanted(KEY, limit, WINDOW_MS, now), now);
  return isolate.keep(KEY, WINDOW_MS, grant, now);
}

describe("requests granted ahead", () => {
  it("count a fast client in growing batches, one request less in RateLimit-Remaining each time", () => {
    const isolate = new GrantedRequests();
    const object = counter();
    const decisions: RateLimitDecision[] = [];
    for (let i = 0; i < 1_000; i++) decisions.push(request(isolate, object, 1_000_000, 1_000 + i));
    expect(decisions.map((d) => d.remaining)).toEqual(Array.from({ length: 1_000 }, (_, i) => 1_000_000 - 1 - i));
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(object.calls.slice(0, 8)).toEqual([1, 2, 4, 8, 16, 32, 64, 64]);
    expect(Math.max(...object.calls)).toBe(MAX_GRANT);
    expect(object.calls.length).toBeLessThan(25);
  });

  it("count a client slower than its last grant one request at a time", () => {
    const isolate = new GrantedRequests();
    const object = counter();
    for (let i = 0; i < 10; i++) request(isolate, object, 100, i * FAST_CLIENT_MS);
    expect(object.calls).toEqual(Array(10).fill(1));
  });

  it("admit exactly the limit, then refuse without asking the counter until the window reopens", () => {
    const isolate = new GrantedRequests();
    const object = counter();
    const allowed = Array.from({ length: 250 }, (_, i) => request(isolate, object, 200, 1_000 + i).allowed);
    expect(allowed.filter(Boolean)).toHaveLength(200);
    expect(allowed.indexOf(false)).toBe(200);
    const callsWhenRefused = object.calls.length;
    expect(request(isolate, object, 200, 2_000)).toMatchObject({ allowed: false, remaining: 0 });
    expect(object.calls).toHaveLength(callsWhenRefused);
    const reopened = request(isolate, object, 200, 1_000 + WINDOW_MS);
    expect(reopened).toMatchObject({ allowed: true, remaining: 199 });
    expect(object.calls).toHaveLength(callsWhenRefused + 1);
  });

  it("never admit more than the limit over several isolates, and strand at most a share of it", () => {
    const isolates = [new GrantedRequests(), new GrantedRequests(), new GrantedRequests()];
    const object = counter();
    let admitted = 0;
    // Bursts of 40 to one isolate, then to the next: each move strands that isolate's unused grant.
    for (let i = 0; i < 2_000; i++) {
      const isolate = isolates[Math.floor(i / 40) % isolates.length] as GrantedRequests;
      if (request(isolate, object, 1_000, 1_000 + i).allowed) admitted++;
    }
    expect(admitted).toBeLessThanOrEqual(1_000);
    expect(admitted).toBeGreaterThanOrEqual(1_000 - isolates.length * Math.ceil(1_000 / GRANT_SHARE));
  });

  it("grant one at a time near the limit", () => {
    const isolate = new GrantedRequests();
    const object = counter();
    const allowed = Array.from({ length: 40 }, (_, i) => request(isolate, object, 40, 1_000 + i).allowed);
    expect(allowed.every(Boolean)).toBe(true);
    // Each grant is at most an eighth of what was left: the last 15 requests were counted one by one.
    expect(object.calls).toEqual([1, 2, 4, 4, 3, 3, 2, 2, 2, 2, ...Array(15).fill(1)]);
  });

  it("drop what was granted when the limit or the window changes", () => {
    const isolate = new GrantedRequests();
    const object = counter();
    for (let i = 0; i < 20; i++) request(isolate, object, 1_000, 1_000 + i);
    expect(isolate.admit(KEY, 1_000, WINDOW_MS, 1_100)).toBeDefined();
    expect(isolate.admit(KEY, 5, WINDOW_MS, 1_100)).toBeUndefined();
    for (let i = 0; i < 20; i++) request(isolate, object, 1_000, 2_000 + i);
    expect(isolate.admit(KEY, 1_000, WINDOW_MS * 2, 2_100)).toBeUndefined();
  });

  it("merge grants that come back out of order", () => {
    const isolate = new GrantedRequests();
    const object = counter();
    // Two requests ask at once; the second grant's answer arrives first.
    const first = object.hit(100, WINDOW_MS, 8, 1_000);
    const second = object.hit(100, WINDOW_MS, 8, 1_000);
    expect(isolate.keep(KEY, WINDOW_MS, second, 1_001)).toMatchObject({ allowed: true, remaining: 91 });
    expect(isolate.keep(KEY, WINDOW_MS, first, 1_002)).toMatchObject({ allowed: true, remaining: 98 });
    const remaining: number[] = [];
    for (let held = isolate.admit(KEY, 100, WINDOW_MS, 1_003); held; held = isolate.admit(KEY, 100, WINDOW_MS, 1_003)) {
      remaining.push(held.remaining);
    }
    expect(remaining).toEqual([97, 96, 95, 94, 93, 92, 91, 90, 89, 88, 87, 86, 85, 84]);
  });
});
