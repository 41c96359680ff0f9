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

/**
 * Counts one request at `now` into `window` (undefined or closed: a new one
 * opens). Returns the window to keep and the decision.
 * @example countHit(undefined, 100, 900_000, Date.now()) // { window: { count: 1, ... }, decision: { allowed: true, remaining: 99, ... } }
 */
export function countHit(
  window: RateWindow | undefined,
  limit: number,
  windowMs: number,
  now: number,
): { window: RateWindow; decision: RateLimitDecision } {
  const current = window === undefined || now >= window.resetAt ? { count: 0, resetAt: now + windowMs } : window;
  if (current.count >= limit) {
    return { window: current, decision: { allowed: false, limit, remaining: 0, resetAt: current.resetAt } };
  }
  const next = { count: current.count + 1, resetAt: current.resetAt };
  return { window: next, decision: { allowed: true, limit, remaining: limit - next.count, resetAt: next.resetAt } };
}
