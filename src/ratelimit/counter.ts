/**
 * The REST rate limit's counter: one small Durable Object per client key
 * (an IP address, or an IPv6 /64). Every request of that client goes through
 * the same object, so the count is exact across isolates, instances and
 * locations; a per-isolate Map would count each isolate separately.
 *
 * The window is fixed: it opens with the client's first request, lasts
 * RATE_LIMIT_WINDOW_MS, and allows RATE_LIMIT_MAX_REQUESTS. State is one
 * key written through on every counted request (refusals write nothing), so
 * an evicted object resumes with the right count; the alarm deletes it when
 * the window closes, so an idle client leaves no data behind.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/** What the limiter answers for one request. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  /** Requests left in this window after this one. */
  remaining: number;
  /** When the window closes (epoch ms). */
  resetAt: number;
}

interface RateWindow {
  count: number;
  resetAt: number;
}

const WINDOW_KEY = "window";

export class RateLimitCounter extends DurableObject<Env> {
  /** undefined: not read since this instance started; null: no open window. */
  private window: RateWindow | null | undefined;

  /**
   * Counts one request against `limit` per `windowMs`. The limit arrives
   * with each call, so a changed configuration applies at once.
   * @example await stub.hit(100, 900_000) // { allowed: true, remaining: 99, ... }
   */
  async hit(limit: number, windowMs: number): Promise<RateLimitDecision> {
    const now = Date.now();
    if (this.window === undefined) this.window = this.ctx.storage.kv.get<RateWindow>(WINDOW_KEY) ?? null;
    let window = this.window;
    const opensWindow = window === null || now >= window.resetAt;
    if (window === null || opensWindow) window = { count: 0, resetAt: now + windowMs };
    if (window.count >= limit) {
      return { allowed: false, limit, remaining: 0, resetAt: window.resetAt };
    }
    // Decide and write before the first await: requests are counted in arrival order.
    window = { count: window.count + 1, resetAt: window.resetAt };
    this.window = window;
    this.ctx.storage.kv.put(WINDOW_KEY, window);
    if (opensWindow) await this.ctx.storage.setAlarm(window.resetAt);
    return { allowed: true, limit, remaining: limit - window.count, resetAt: window.resetAt };
  }

  /** The window closed: forget the client entirely (a later window re-arms the alarm). */
  async alarm(): Promise<void> {
    const window = this.ctx.storage.kv.get<RateWindow>(WINDOW_KEY);
    if (window && Date.now() < window.resetAt) {
      await this.ctx.storage.setAlarm(window.resetAt);
      return;
    }
    this.window = null;
    await this.ctx.storage.deleteAll();
  }
}
