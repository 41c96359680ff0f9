/**
 * Requests the counter object granted ahead to this isolate (issue 11: the
 * counter call was a tenth of a `GET`'s CPU and a round trip of latency).
 * A client that keeps asking faster than its last grant lasts gets twice as
 * many next time, up to MAX_GRANT; a slower one is counted one request at a
 * time again. The counter counts a grant when it makes it, so the limit is
 * never exceeded however many isolates hold grants: what a grant costs is
 * that its unused part, stranded in an isolate the client no longer
 * reaches, is refused to the client until the window closes (at most
 * 1/GRANT_SHARE of what was left per grant). A used-up window is answered
 * here too: the window is fixed, so it stays used up until it closes.
 */
import { setBounded } from "../lib/remembered";
import type { RateLimitDecision, RateLimitGrant } from "./window";

/** The most requests one call to the counter may count. */
export const MAX_GRANT = 64;
/** A grant used up faster than this asks for a larger one. */
export const FAST_CLIENT_MS = 1_000;
const MAX_CLIENTS = 10_000;

interface HeldGrant {
  limit: number;
  windowMs: number;
  resetAt: number;
  /** Granted requests this isolate has not admitted yet. */
  unused: number;
  /** What the counter has left beyond every grant it made, as of the last one. */
  beyond: number;
  /** The size and time of the last grant, to see the client's pace. */
  lastGrant: number;
  grantedAt: number;
}

export class GrantedRequests {
  private readonly held = new Map<string, HeldGrant>();

  /** The decision for one more request of `key` from what is held here, or undefined: ask the counter. */
  admit(key: string, limit: number, windowMs: number, now: number): RateLimitDecision | undefined {
    const held = this.current(key, limit, windowMs, now);
    if (held === undefined) return undefined;
    if (held.unused > 0) {
      held.unused--;
      return { allowed: true, limit, remaining: held.beyond + held.unused, resetAt: held.resetAt };
    }
    if (held.beyond === 0) return { allowed: false, limit, remaining: 0, resetAt: held.resetAt };
    return undefined;
  }

  /** How many requests to ask the counter for, by the client's pace. */
  wanted(key: string, limit: number, windowMs: number, now: number): number {
    const held = this.current(key, limit, windowMs, now);
    return held && now - held.grantedAt < FAST_CLIENT_MS ? Math.min(MAX_GRANT, held.lastGrant * 2) : 1;
  }

  /** Keeps what the counter granted beyond this request; returns this request's decision. */
  keep(key: string, windowMs: number, grant: RateLimitGrant, now: number): RateLimitDecision {
    const { allowed, limit, resetAt, granted } = grant;
    const held = this.current(key, limit, windowMs, now);
    const sameWindow = held !== undefined && held.resetAt === resetAt;
    const unused = Math.max(0, granted - 1) + (sameWindow ? held.unused : 0);
    // Grants may come back out of order: the smaller view of what is left is the later one.
    const beyondThis = allowed ? grant.remaining - (granted - 1) : 0;
    const beyond = sameWindow ? Math.min(held.beyond, beyondThis) : beyondThis;
    const next = { limit, windowMs, resetAt, unused, beyond, lastGrant: Math.max(1, granted), grantedAt: now };
    setBounded(this.held, key, next, MAX_CLIENTS);
    if (allowed) return { allowed, limit, remaining: beyond + unused, resetAt };
    // Refused, but a grant that came back meanwhile may still hold a request for this one.
    return this.admit(key, limit, windowMs, now) ?? { allowed, limit, remaining: 0, resetAt };
  }

  /** What is held for `key` in this window and configuration, if anything. */
  private current(key: string, limit: number, windowMs: number, now: number): HeldGrant | undefined {
    const held = this.held.get(key);
    if (held === undefined) return undefined;
    if (now >= held.resetAt || held.limit !== limit || held.windowMs !== windowMs) {
      this.held.delete(key);
      return undefined;
    }
    return held;
  }
}
