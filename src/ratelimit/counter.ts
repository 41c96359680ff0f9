/**
 * The REST rate limit's counter: one small Durable Object per client key
 * (an IP address, or an IPv6 /64). Every request of that client goes through
 * the same object, so the count is exact across isolates, instances and
 * locations; a per-isolate Map would count each isolate separately.
 *
 * The count lives in the object's memory and is saved only at fixed
 * fractions of the limit (every SAVES_PER_WINDOW-th of it, and when the
 * limit is used up): issue 11 found a write per /api request to be most of
 * the limiter's cost, so a window costs at most SAVES_PER_WINDOW writes.
 * The saved window comes with an alarm that deletes it when the window
 * closes. An eviction loses only what was counted since the last save, less
 * than an eighth of the limit: a client that pauses just before each save
 * for its counter to be evicted gains at most that much per eviction
 * (issue 19: before, it gained all but one request of its limit each time),
 * and a used-up window stays refused.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { countHits, type RateLimitGrant, type RateWindow } from "./window";

/** Storage key of the saved window: `{ count, resetAt }`. */
const WINDOW_KEY = "window";
/** The key of a used-up window (`{ resetAt }`) as earlier versions saved it, read until such windows closed. */
const LEGACY_EXHAUSTED_KEY = "exhausted";
/** How many times a window's count is saved on its way to the limit: an eviction loses less than 1/this of it. */
export const SAVES_PER_WINDOW = 8;

export class RateLimitCounter extends DurableObject<Env> {
  /** The open window; undefined until the first request since this instance started. */
  private window: RateWindow | undefined;

  /**
   * Counts one request against `limit` per `windowMs`, and up to `wanted - 1`
   * more that the calling isolate may admit itself (`countHits`). The limit
   * arrives with each call, so a changed configuration applies at once.
   * @example await stub.hit(100, 900_000) // { allowed: true, remaining: 99, granted: 1, ... }
   */
  hit(limit: number, windowMs: number, wanted = 1): RateLimitGrant {
    const now = Date.now();
    // The first request since this instance started: the saved count survives eviction.
    if (this.window === undefined) this.window = this.saved(now);
    const countBefore = this.window === undefined || now >= this.window.resetAt ? 0 : this.window.count;
    const { window, decision } = countHits(this.window, limit, windowMs, now, wanted);
    this.window = window;
    const step = Math.ceil(limit / SAVES_PER_WINDOW);
    const crossed = Math.floor(window.count / step) > Math.floor(countBefore / step);
    if (decision.allowed && (crossed || window.count >= limit)) {
      // Not awaited: the runtime holds this answer until the write is durable (output gate).
      this.ctx.storage.kv.put(WINDOW_KEY, window);
      void this.ctx.storage.setAlarm(window.resetAt);
    }
    return decision;
  }

  /** The window closed: forget the client entirely (a later saved window re-arms the alarm). */
  async alarm(): Promise<void> {
    const saved = this.saved(Date.now());
    if (saved) {
      await this.ctx.storage.setAlarm(saved.resetAt);
      return;
    }
    await this.ctx.storage.deleteAll();
  }

  /** The saved window if it is still open. */
  private saved(now: number): RateWindow | undefined {
    const window = this.ctx.storage.kv.get<RateWindow>(WINDOW_KEY);
    if (window && now < window.resetAt) return window;
    const exhausted = this.ctx.storage.kv.get<{ resetAt: number }>(LEGACY_EXHAUSTED_KEY);
    if (exhausted && now < exhausted.resetAt) return { count: Number.MAX_SAFE_INTEGER, resetAt: exhausted.resetAt };
    return undefined;
  }
}
