/**
 * Token renewal when the client's clock is not the server's: the SDK reads
 * the offset from the tokens' `iat`, so a clock hours ahead neither renews
 * in a loop nor stops renewing, and a clock behind still renews before the
 * token expires on the server's clock.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeClient, fakeToken, json, openAndJoin } from "./helpers/sdk-fakes";

const HOUR = 3_600_000;
const TOKEN_TTL = 2 * HOUR;
/** Each REST answer takes this long, so renewals take time as over a network. */
const ROUND_TRIP_MS = 300;

const claims = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());

afterEach(() => {
  vi.useRealTimers();
});

/** A connection whose server's clock is `serverAheadMs` ahead of the client's; records each renewal. */
function withServerClock(serverAheadMs: number) {
  vi.useFakeTimers({ now: Date.parse("2026-12-01T10:00:00Z") });
  const serverNow = () => Date.now() + serverAheadMs;
  const sessionToken = () => fakeToken({ kind: "session", iatMs: serverNow(), expMs: serverNow() + TOKEN_TTL });
  /** Server times of each renewal request, with the expiry of the token it renewed. */
  const renewals: { atServerMs: number; renewedExpMs: number }[] = [];
  let current = sessionToken();
  const { sockets, connect } = fakeClient(async (url, init) => {
    await new Promise((resolve) => setTimeout(resolve, ROUND_TRIP_MS));
    if (!url.pathname.endsWith("/session-token")) throw new Error(`unexpected ${url.pathname}`);
    const presented = String((init.headers as Record<string, string>).authorization).slice("Bearer ".length);
    renewals.push({ atServerMs: serverNow(), renewedExpMs: claims(presented).exp * 1000 });
    current = sessionToken();
    return json({ sessionToken: current, expiresAt: new Date(serverNow() + TOKEN_TTL).toISOString() });
  });
  const conn = connect({ renewBeforeMs: 5 * 60_000 }, current);
  openAndJoin(sockets[0]);
  return { conn, renewals, serverNow, current: () => current };
}

/** Lets fake time pass in steps, so timers and the renewals' promises run as they would. */
async function pass(ms: number, stepMs = 1_000) {
  for (let t = 0; t < ms; t += stepMs) await vi.advanceTimersByTimeAsync(stepMs);
}

describe("token renewal across clocks", () => {
  it.each([
    ["3 hours ahead of", -3 * HOUR],
    ["1 hour behind", HOUR],
    ["the same as", 0],
  ])(
    "renews once per token, before it expires, when the client's clock is %s the server's",
    async (_, serverAheadMs) => {
      const { conn, renewals, current, serverNow } = withServerClock(serverAheadMs);
      await pass(3 * TOKEN_TTL, 10_000);
      for (const renewal of renewals) expect(renewal.atServerMs).toBeLessThan(renewal.renewedExpMs);
      // About one renewal per token; the first token's age is unknown, so one early renewal may teach the offset.
      expect(renewals.length).toBeGreaterThanOrEqual(3);
      expect(renewals.length).toBeLessThanOrEqual(4);
      expect(conn.token).toBe(current());
      expect(claims(conn.token).exp * 1000).toBeGreaterThan(serverNow());
      conn.close();
    },
  );
});
