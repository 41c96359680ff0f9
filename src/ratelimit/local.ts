/**
 * The REST limiter's stand-in when its counter object fails for a reason
 * that is not load (a bug, a missing binding): the same window and limit,
 * counted in this isolate's memory. Weaker than the counter (each isolate
 * counts on its own) but never open: a broken counter must not switch the
 * limit off. Bounded: past MAX_CLIENTS keys the oldest window is dropped.
 */
import { setBounded } from "../lib/remembered";
import { countHit, type RateLimitDecision, type RateWindow } from "./window";

const MAX_CLIENTS = 10_000;

export class LocalRateLimiter {
  private readonly windows = new Map<string, RateWindow>();

  /** @example new LocalRateLimiter().hit("203.0.113.7", 100, 900_000, Date.now()).allowed // true */
  hit(key: string, limit: number, windowMs: number, now: number): RateLimitDecision {
    const { window, decision } = countHit(this.windows.get(key), limit, windowMs, now);
    setBounded(this.windows, key, window, MAX_CLIENTS);
    return decision;
  }
}
