/**
 * The REST rate limit's counter: one small Durable Object per client key
 * (an IP address, or an IPv6 /64). Every request of that client goes through
 * the same object, so the count is exact across isolates, instances and
 * locations; a per-isolate Map would count each isolate separately.
 *
 * The count lives in the object's memory: a counted request writes nothing
 * (issue 11: a write per /api request was most of the limiter's cost). The
 * one write of a window happens when the client uses up its limit: the
 * window's end is stored (with an alarm to delete it), so a client that was
 * refused stays refused even if the object is evicted meanwhile. What an
 * eviction loses is the count of a window that was not yet used up: the
 * object comes back with a fresh window (README "Rate limiting"). A client
 * has to be idle for the object to be evicted, so that costs little.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { countHits, type RateLimitGrant, type RateWindow } from "./window";

/** Storage key of a used-up window: `{ resetAt }`. */
const EXHAUSTED_KEY = "exhausted";

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
    // The first request since this instance started: a used-up window survives eviction.
    if (this.window === undefined) {
      const exhausted = this.ctx.storage.kv.get<{ resetAt: number }>(EXHAUSTED_KEY);
      if (exhausted && now < exhausted.resetAt)
        this.window = { count: Number.MAX_SAFE_INTEGER, resetAt: exhausted.resetAt };
    }
    const { window, decision } = countHits(this.window, limit, windowMs, now, wanted);
    this.window = window;
    if (decision.allowed && window.count >= limit) {
      // Not awaited: the runtime holds this answer until the write is durable (output gate).
      this.ctx.storage.kv.put(EXHAUSTED_KEY, { resetAt: window.resetAt });
      void this.ctx.storage.setAlarm(window.resetAt);
    }
    return decision;
  }

  /** The window closed: forget the client entirely (a later used-up window re-arms the alarm). */
  async alarm(): Promise<void> {
    const exhausted = this.ctx.storage.kv.get<{ resetAt: number }>(EXHAUSTED_KEY);
    if (exhausted && Date.now() < exhausted.resetAt) {
      await this.ctx.storage.setAlarm(exhausted.resetAt);
      return;
    }
    await this.ctx.storage.deleteAll();
  }
}
