/**
 * The fixed-window count shared by the REST limiter's counter object and
 * its in-isolate fallback: a window opens with a client's first request,
 * lasts `windowMs` and admits `limit` requests. Pure: callers keep the state.
 */

/** What the limiter answers for one request. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  /** Requests left in this window after this one. */
  remaining: number;
  /** When the window closes (epoch ms). */
  resetAt: number;
}

export interface RateWindow {
  count: number;
  resetAt: number;
}

/** A decision of the counter object, which may count requests ahead for the caller to admit itself. */
export interface RateLimitGrant extends RateLimitDecision {
  /** Requests this call counted: this one, plus `granted - 1` the caller may admit without asking. */
  granted: number;
}

/**
 * At most this share of what a window has left is granted ahead in one
 * call, so a client near its limit is counted one request at a time and
 * requests granted to an isolate the client no longer reaches strand little.
 */
export const GRANT_SHARE = 8;

/**
 * Counts `wanted` requests at `now` into `window` (undefined or closed: a
 * new one opens), fewer near the limit (at most 1/GRANT_SHARE of what is
 * left, at least the one asking). `remaining` counts the granted ones as
 * still the client's. Returns the window to keep and the grant.
 * @example countHits(undefined, 100, 900_000, Date.now(), 4) // { window: { count: 4, ... }, decision: { allowed: true, remaining: 99, granted: 4, ... } }
 */
export function countHits(
  window: RateWindow | undefined,
  limit: number,
  windowMs: number,
  now: number,
  wanted: number,
): { window: RateWindow; decision: RateLimitGrant } {
  const current = window === undefined || now >= window.resetAt ? { count: 0, resetAt: now + windowMs } : window;
  const left = limit - current.count;
  if (left <= 0) {
    return { window: current, decision: { allowed: false, limit, remaining: 0, resetAt: current.resetAt, granted: 0 } };
  }
  const granted = Math.max(1, Math.min(wanted, Math.floor(left / GRANT_SHARE)));
  const next = { count: current.count + granted, resetAt: current.resetAt };
  return { window: next, decision: { allowed: true, limit, remaining: left - 1, resetAt: next.resetAt, granted } };
}

/**
 * Counts one request: `countHits` asking for no more.
 * @example countHit(undefined, 100, 900_000, Date.now()) // { window: { count: 1, ... }, decision: { allowed: true, remaining: 99, ... } }
 */
export function countHit(
  window: RateWindow | undefined,
  limit: number,
  windowMs: number,
  now: number,
): { window: RateWindow; decision: RateLimitDecision } {
  return countHits(window, limit, windowMs, now, 1);
}
