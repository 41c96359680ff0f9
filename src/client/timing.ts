/**
 * Time arithmetic of the connection, kept pure so it is easy to reason about:
 * reconnect backoff with jitter, when to renew something that expires,
 * timers that survive delays longer than `setTimeout` can hold, a token's
 * expiry read from it, and date-times as the wire carries them.
 */
import type { DateTimeInput } from "./types.js";

export interface BackoffOptions {
  /** Delay before the first retry [500 ms]. */
  initialMs?: number;
  /** Upper bound of a delay [15 s]. */
  maxMs?: number;
  /** Growth per failed attempt [2]. */
  factor?: number;
  /** Fraction of each delay that is random, 0..1 [0.5]: clients dropped together do not return together. */
  jitter?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialMs: 500, maxMs: 15_000, factor: 2, jitter: 0.5 };

/** The wait before reconnect attempt `attempt` (1, 2, …): exponential, capped, with `jitter` of it random. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random = Math.random): number {
  const { initialMs, maxMs, factor, jitter } = { ...DEFAULT_BACKOFF, ...options };
  const ceiling = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (1 - jitter * random()));
}

/**
 * When to renew something that expires at `expiresAtMs`: `renewBeforeMs`
 * ahead of it, but never earlier than halfway through the time left, so a
 * short-lived token is not renewed in a tight loop.
 */
export function renewalTime(expiresAtMs: number, nowMs: number, renewBeforeMs: number): number {
  const left = Math.max(0, expiresAtMs - nowMs);
  return expiresAtMs - Math.min(renewBeforeMs, left / 2);
}

/** `setTimeout` holds at most 2^31-1 ms (24.8 days); longer waits fire at once unless split. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Calls `callback` at epoch time `atMs` (or at once if past); returns the cancel function. */
export function runAt(atMs: number, callback: () => void): () => void {
  let timer: ReturnType<typeof setTimeout>;
  const tick = () => {
    const left = atMs - Date.now();
    if (left > 0) timer = setTimeout(tick, Math.min(left, MAX_TIMEOUT_MS));
    else callback();
  };
  tick();
  return () => clearTimeout(timer);
}

/**
 * The `exp` and `iat` (epoch ms, the server's clock), `kind` and meeting
 * (`aud`) of a MeetTime JWT, read without verifying it (the server
 * verifies); none of them for a string that is not a token.
 */
export function tokenClaims(token: string): {
  expiresAtMs?: number;
  issuedAtMs?: number;
  kind?: string;
  meetingId?: string;
} {
  try {
    const payload = token.split(".")[1] ?? "";
    const json = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    const audience = Array.isArray(json.aud) ? json.aud[0] : json.aud;
    return {
      expiresAtMs: typeof json.exp === "number" ? json.exp * 1000 : undefined,
      issuedAtMs: typeof json.iat === "number" ? json.iat * 1000 : undefined,
      kind: typeof json.kind === "string" ? json.kind : undefined,
      meetingId: typeof audience === "string" ? audience : undefined,
    };
  } catch {
    return {};
  }
}

/** A date-time as the SDK takes it (`Date` or ISO-8601 string) as the wire carries it: the string. */
export function isoDateTime(value: DateTimeInput | undefined): string | undefined {
  return value instanceof Date ? value.toISOString() : value;
}
