/**
 * The contract's check order for the 1.1 routes a listed member calls with
 * its own token (session-token, calendar-token, ice-servers): id shape 404,
 * token 401, meeting existence 404, role and revocation 403, meeting state
 * 410. One table of cases, run by each route's test file.
 */
import { env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { type ApiResponse, api, createMeeting, expectError, inMinutes, join, meetingWith, mintJoinToken } from "./api";
import { expectRejected } from "./meeting-storage";
import { reboundTo, withWrongSecret } from "./tokens";

export type MemberKind = "host" | "session";

export interface MemberRoute {
  method: "GET" | "POST";
  /** The path under `/api/meetings/<id>`, e.g. `/session-token`. */
  suffix: string;
  /** The token kinds the route serves; the other member kind is 403. */
  accepts: readonly MemberKind[];
}

export const callRoute = (route: MemberRoute, meetingId: string, token?: string): Promise<ApiResponse> =>
  api(route.method, `/api/meetings/${meetingId}${route.suffix}`, { token });

/** A calendar token minted by the host of meeting `id`. */
export async function hostCalendarToken(id: string, hostToken: string): Promise<string> {
  const res = await api("POST", `/api/meetings/${id}/calendar-token`, { token: hostToken });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.token;
}

/** Registers the check-order tests of `route`. */
export function describeAccessChecks(route: MemberRoute): void {
  const call = (id: string, token?: string) => callRoute(route, id, token);
  /** A token of each accepted kind for a fresh meeting with one guest. */
  const tokensOf = (m: Awaited<ReturnType<typeof meetingWith>>) =>
    route.accepts.map((kind) => (kind === "host" ? m.hostToken : m.guests[0]!.sessionToken));

  describe(`${route.method} /api/meetings/:id${route.suffix}: checks in the contract's order`, () => {
    it("answers 404 for a malformed meeting id, before looking at the token", async () => {
      expectError(await api(route.method, `/api/meetings/not-a-meeting${route.suffix}`), 404, "NOT_FOUND");
      expectError(await api(route.method, `/api/meetings/${"g".repeat(64)}${route.suffix}`), 404, "NOT_FOUND");
    });

    it("answers 401 without a token, with a forged one, or with another meeting's", async () => {
      const m = await meetingWith("Grace");
      const other = await meetingWith("Linus");
      const [token] = tokensOf(m);
      expectError(await call(m.id), 401, "UNAUTHORIZED");
      expectError(await call(m.id, "not-a-jwt"), 401, "UNAUTHORIZED");
      expectError(await call(m.id, await withWrongSecret(token!)), 401, "UNAUTHORIZED");
      for (const foreign of tokensOf(other)) expectError(await call(m.id, foreign), 401, "UNAUTHORIZED");
    });

    it("answers 404 for a well-signed token of a meeting that does not exist", async () => {
      const m = await meetingWith("Grace");
      const unknownId = env.MEETINGS.newUniqueId().toString();
      for (const token of tokensOf(m)) {
        expectError(await call(unknownId, await reboundTo(token, unknownId)), 404, "NOT_FOUND");
      }
    });

    it("answers 403 for token kinds the route does not serve: an invite, a calendar token, the other member kind", async () => {
      const m = await meetingWith("Grace");
      const wrong = [await mintJoinToken(m.id, m.hostToken), await hostCalendarToken(m.id, m.hostToken)];
      if (!route.accepts.includes("host")) wrong.push(m.hostToken);
      if (!route.accepts.includes("session")) wrong.push(m.guests[0]!.sessionToken);
      for (const token of wrong) await expectRejected(m.id, () => call(m.id, token), 403, "FORBIDDEN");
    });

    if (route.accepts.includes("session")) {
      it("answers 403 once the participant left or was kicked, also after the meeting ended", async () => {
        const m = await meetingWith("Grace", "Linus");
        const [grace, linus] = m.guests;
        expect((await api("POST", `/api/meetings/${m.id}/leave`, { token: grace!.sessionToken })).status).toBe(200);
        const kicked = await api("POST", `/api/meetings/${m.id}/kick`, {
          token: m.hostToken,
          body: { participantId: linus!.participant.id },
        });
        expect(kicked.status).toBe(200);
        for (const { sessionToken } of [grace!, linus!]) {
          await expectRejected(m.id, () => call(m.id, sessionToken), 403, "FORBIDDEN");
        }
        expect((await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken })).status).toBe(200);
        // Revocation (403) comes before the meeting's state (410).
        await expectRejected(m.id, () => call(m.id, grace!.sessionToken), 403, "FORBIDDEN");
      });
    }

    it("answers 410 MEETING_ENDED once the meeting was terminated, changing nothing", async () => {
      const m = await meetingWith("Grace");
      expect((await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken })).status).toBe(200);
      for (const token of tokensOf(m)) await expectRejected(m.id, () => call(m.id, token), 410, "MEETING_ENDED");
    });

    it("answers 404 once the meeting expired, and 401 for a token that expired with it", async () => {
      // Created an hour ahead, then moved to the earliest allowed start: the meeting now expires
      // before the first host token and the session token do, so both are still well within their `exp`.
      const created = await createMeeting({ scheduledAt: inMinutes(60), durationMinutes: 30 });
      const id = created.meeting.id as string;
      const guest = await join(id, created.hostToken, "Grace");
      const moved = await api("PUT", `/api/meetings/${id}/datetime`, {
        token: created.hostToken,
        body: { scheduledAt: inMinutes(-4), durationMinutes: 1 },
      });
      expect(moved.status).toBe(200);
      const latecomer = await join(id, created.hostToken, "Linus"); // capped at the new, earlier expiry
      const tokens = { host: created.hostToken, session: guest.sessionToken };
      try {
        vi.useFakeTimers({ toFake: ["Date"] });
        vi.setSystemTime(Date.parse(moved.body.meeting.expiresAt) + 1000);
        for (const kind of route.accepts) expectError(await call(id, tokens[kind]), 404, "NOT_FOUND");
        if (route.accepts.includes("session")) {
          expectError(await call(id, latecomer.sessionToken), 401, "UNAUTHORIZED");
        }
      } finally {
        vi.useRealTimers();
      }
    });
  });
}
