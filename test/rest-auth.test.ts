/**
 * Authentication and the contract's check order: forged, expired and
 * foreign tokens are 401 on every route, and when a request is wrong in
 * several ways the first failing check of API.md answers.
 */
import { env } from "cloudflare:test";
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { api, createMeeting, expectError, getMeeting, meetingWith, mintJoinToken } from "./helpers/api";
import { expectRejected, expireMeeting, storedMeetingCount } from "./helpers/meeting-storage";
import {
  claimsOf,
  expired,
  reboundTo,
  SERVER_SECRET,
  signClaims,
  tampered,
  withAlgNone,
  withWrongSecret,
} from "./helpers/tokens";

type Meeting = Awaited<ReturnType<typeof meetingWith>>;

/**
 * `token`'s payload under `header`, HMAC-signed by hand with the server's own key (a
 * JWT library refuses to build most of these): only the header is wrong.
 */
async function resignedWith(token: string, header: Record<string, unknown>, hash = "SHA-256") {
  const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
  const signingInput = `${encode(header)}.${encode(claimsOf(token))}`;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(SERVER_SECRET),
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signingInput));
  return `${signingInput}.${base64url.encode(new Uint8Array(signature))}`;
}

/** Ways to present a token the server must refuse with 401, built from a genuine one. */
const FORGERIES: [string, (token: string, m: Meeting) => Promise<string> | string][] = [
  ["alg none", (t) => withAlgNone(t)],
  ["alg none posing as the host", (t, m) => withAlgNone(t, { kind: "host", pid: m.host.id })],
  ["a wrong signing key", (t) => withWrongSecret(t)],
  ["an expired exp", (t) => expired(t)],
  ["a payload tampered to pose as the host", (t, m) => tampered(t, { kind: "host", pid: m.host.id, jti: "forged" })],
  ["a payload tampered to a later exp", (t) => tampered(t, { exp: Math.floor(Date.now() / 1000) + 999_999 })],
  ["a truncated signature", (t) => t.slice(0, -4)],
  // Signed with the server's real key: only the header or one claim is wrong.
  ["alg HS512", (t) => resignedWith(t, { alg: "HS512", typ: "JWT" }, "SHA-512")],
  ["a critical header extension", (t) => resignedWith(t, { alg: "HS256", crit: ["x-ext"], "x-ext": 1 })],
  ["an unencoded payload (b64 false)", (t) => resignedWith(t, { alg: "HS256", b64: false, crit: ["b64"] })],
  ["another issuer", (t) => signClaims({ ...claimsOf(t), iss: "someone-else" })],
  ["a not-before in the future", (t) => signClaims({ ...claimsOf(t), nbf: Math.floor(Date.now() / 1000) + 3600 })],
  ["no exp", (t) => signClaims({ ...claimsOf(t), exp: undefined })],
  ["garbage", () => "garbage"],
];

/** Every token-guarded REST route, with a body it would otherwise accept. */
const ROUTES: [string, (m: Meeting) => [string, string, unknown?]][] = [
  ["GET", (m) => ["GET", `/api/meetings/${m.id}`]],
  ["DELETE", (m) => ["DELETE", `/api/meetings/${m.id}`]],
  ["tokens", (m) => ["POST", `/api/meetings/${m.id}/tokens`, { count: 1 }]],
  ["host-token", (m) => ["POST", `/api/meetings/${m.id}/host-token`]],
  ["datetime", (m) => ["PUT", `/api/meetings/${m.id}/datetime`, { durationMinutes: 15 }]],
  ["kick", (m) => ["POST", `/api/meetings/${m.id}/kick`, { participantId: m.guests[0]!.participant.id }]],
  ["leave", (m) => ["POST", `/api/meetings/${m.id}/leave`]],
];

describe("forged and foreign tokens", () => {
  it.each(FORGERIES)("refuses a host token with %s on every route (401), changing nothing", async (_, forge) => {
    const m = await meetingWith("Grace");
    const forged = await forge(m.hostToken, m);
    for (const [, route] of ROUTES) {
      const [method, path, body] = route(m);
      await expectRejected(m.id, () => api(method, path, { token: forged, body }), 401, "UNAUTHORIZED");
    }
    expect((await getMeeting(m.id, m.hostToken)).status).toBe("active");
  });

  it.each(FORGERIES)("refuses a session token with %s (401)", async (_, forge) => {
    const m = await meetingWith("Grace");
    const forged = await forge(m.guests[0]!.sessionToken, m);
    await expectRejected(m.id, () => api("GET", `/api/meetings/${m.id}`, { token: forged }), 401, "UNAUTHORIZED");
    await expectRejected(
      m.id,
      () => api("POST", `/api/meetings/${m.id}/leave`, { token: forged }),
      401,
      "UNAUTHORIZED",
    );
  });

  it.each(FORGERIES)("refuses to join with a join token with %s (401)", async (_, forge) => {
    const m = await meetingWith();
    const forged = await forge(await mintJoinToken(m.id, m.hostToken), m);
    await expectRejected(
      m.id,
      () => api("POST", "/api/meetings/join", { body: { token: forged, displayName: "Mallory" } }),
      401,
      "UNAUTHORIZED",
    );
  });

  it("refuses a genuine token of another meeting on every route (401)", async () => {
    const m = await meetingWith("Grace");
    const other = await createMeeting();
    for (const [, route] of ROUTES) {
      const [method, path, body] = route(m);
      await expectRejected(m.id, () => api(method, path, { token: other.hostToken, body }), 401, "UNAUTHORIZED");
    }
  });

  it("refuses a correctly signed token re-bound to another meeting (401)", async () => {
    const a = await meetingWith();
    const b = await meetingWith();
    const rebound = await reboundTo(b.hostToken, a.id);
    expect(claimsOf(rebound).aud).toBe(a.id);
    // b's host is not a participant of a: the meeting itself refuses the identity.
    await expectRejected(a.id, () => api("GET", `/api/meetings/${a.id}`, { token: rebound }), 401, "UNAUTHORIZED");
  });

  it("refuses a missing token, another scheme, or a token in the query (401)", async () => {
    const m = await meetingWith();
    const path = `/api/meetings/${m.id}`;
    expectError(await api("GET", path), 401, "UNAUTHORIZED");
    expectError(await api("GET", path, { headers: { authorization: `Basic ${m.hostToken}` } }), 401, "UNAUTHORIZED");
    expectError(await api("GET", path, { headers: { authorization: "Bearer" } }), 401, "UNAUTHORIZED");
    expectError(await api("GET", `${path}?token=${m.hostToken}`), 401, "UNAUTHORIZED");
  });

  it("accepts the bearer scheme in any case", async () => {
    const m = await meetingWith();
    const res = await api("GET", `/api/meetings/${m.id}`, { headers: { authorization: `bearer ${m.hostToken}` } });
    expect(res.status).toBe(200);
  });
});

describe("unknown and malformed meeting ids", () => {
  const malformed = [
    "nope",
    "a".repeat(64),
    "A".repeat(64),
    "0".repeat(63),
    "g".repeat(64),
    `${"0".repeat(64)}0`,
    "%00",
  ];

  it.each(malformed)("answers 404 for id %s on every route, with no storage created", async (id) => {
    const m = await meetingWith("Grace");
    const before = await storedMeetingCount();
    for (const [, route] of ROUTES) {
      const [method, path, body] = route(m);
      const res = await api(method, path.replace(m.id, id), { token: m.hostToken, body });
      expectError(res, 404, "NOT_FOUND");
    }
    expectError(await api("GET", `/api/meetings/${id}`), 404, "NOT_FOUND");
    expect(await storedMeetingCount()).toBe(before);
  });

  it("answers 404 for an id this deployment never minted even when the body is bad and no token is sent", async () => {
    const id = "a".repeat(64);
    const res = await api("POST", `/api/meetings/${id}/tokens`, { body: { count: 0 } });
    expectError(res, 404, "NOT_FOUND");
  });

  it("refuses a valid id that was never created with 401 (no token can name it), creating nothing", async () => {
    const m = await meetingWith();
    const neverCreated = env.MEETINGS.newUniqueId().toString();
    const before = await storedMeetingCount();
    expectError(await api("GET", `/api/meetings/${neverCreated}`, { token: m.hostToken }), 401, "UNAUTHORIZED");
    expectError(await api("GET", `/api/meetings/${neverCreated}`), 401, "UNAUTHORIZED");
    expect(await storedMeetingCount()).toBe(before);
  });
});

describe("check order of API.md", () => {
  it("route and id shape (404) before body validation (400)", async () => {
    const m = await meetingWith();
    expectError(
      await api("POST", "/api/meetings/xyz/tokens", { token: m.hostToken, body: { count: 0 } }),
      404,
      "NOT_FOUND",
    );
    expectError(
      await api("PUT", "/api/meetings/xyz/datetime", {
        token: m.hostToken,
        rawBody: "{",
        headers: { "content-type": "application/json" },
      }),
      404,
      "NOT_FOUND",
    );
  });

  it("body validation (400/413/415) before the token (401)", async () => {
    const m = await meetingWith();
    const bad = "not-a-token";
    const tokens = `/api/meetings/${m.id}/tokens`;
    expectError(await api("POST", tokens, { token: bad, body: { count: 0 } }), 400, "VALIDATION_FAILED");
    expectError(
      await api("POST", tokens, { token: bad, rawBody: "{", headers: { "content-type": "application/json" } }),
      400,
      "VALIDATION_FAILED",
    );
    expectError(
      await api("POST", tokens, { token: bad, rawBody: "count=1", headers: { "content-type": "text/plain" } }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    expectError(
      await api("POST", tokens, { token: bad, body: { name: "x".repeat(70_000) } }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    expectError(
      await api("PUT", `/api/meetings/${m.id}/datetime`, {
        token: bad,
        body: { durationMinutes: 5 },
        headers: { "If-Match": "nope" },
      }),
      400,
      "VALIDATION_FAILED",
    );
    expectError(await api("POST", "/api/meetings/join", { body: { token: bad } }), 400, "VALIDATION_FAILED");
  });

  it("a valid token of another meeting is 401 even when this meeting is gone", async () => {
    const gone = await meetingWith();
    const other = await meetingWith();
    await expireMeeting(gone.id);
    expectError(await api("GET", `/api/meetings/${gone.id}`, { token: other.hostToken }), 401, "UNAUTHORIZED");
    // Its own, still unexpired token finds nothing: existence (404) comes after the token.
    expectError(await api("GET", `/api/meetings/${gone.id}`, { token: gone.hostToken }), 404, "NOT_FOUND");
    expectError(await api("DELETE", `/api/meetings/${gone.id}`, { token: gone.hostToken }), 404, "NOT_FOUND");
  });

  it("an expired meeting is 404 on every route for its own tokens, and joining it is 404", async () => {
    const m = await meetingWith("Grace");
    const invite = await mintJoinToken(m.id, m.hostToken);
    await expireMeeting(m.id);
    for (const [, route] of ROUTES) {
      const [method, path, body] = route(m);
      expectError(await api(method, path, { token: m.hostToken, body }), 404, "NOT_FOUND");
    }
    const joined = await api("POST", "/api/meetings/join", { body: { token: invite, displayName: "Late" } });
    expectError(joined, 404, "NOT_FOUND");
  });

  it("role (403) before meeting state (410): a session token on a host route of an ended meeting", async () => {
    const m = await meetingWith("Grace");
    const session = m.guests[0]!.sessionToken;
    await expectRejected(m.id, () => api("DELETE", `/api/meetings/${m.id}`, { token: session }), 403, "FORBIDDEN");
    await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken });
    await expectRejected(m.id, () => api("DELETE", `/api/meetings/${m.id}`, { token: session }), 403, "FORBIDDEN");
    await expectRejected(
      m.id,
      () => api("POST", `/api/meetings/${m.id}/tokens`, { token: session, body: {} }),
      403,
      "FORBIDDEN",
    );
  });

  it("revocation (403) before meeting state (410)", async () => {
    const m = await meetingWith("Grace");
    await api("POST", `/api/meetings/${m.id}/kick`, {
      token: m.hostToken,
      body: { participantId: m.guests[0]!.participant.id },
    });
    await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken });
    const session = m.guests[0]!.sessionToken;
    expectError(await api("GET", `/api/meetings/${m.id}`, { token: session }), 403, "FORBIDDEN");
    await expectRejected(m.id, () => api("POST", `/api/meetings/${m.id}/leave`, { token: session }), 403, "FORBIDDEN");
  });

  it("meeting state (410) before the action's own rules (400, 404, 409)", async () => {
    const m = await meetingWith("Grace");
    const spent = await mintJoinToken(m.id, m.hostToken);
    await api("POST", "/api/meetings/join", { body: { token: spent, displayName: "Linus" } });
    await api("PUT", `/api/meetings/${m.id}/datetime`, { token: m.hostToken, body: { durationMinutes: 20 } });
    await api("DELETE", `/api/meetings/${m.id}`, { token: m.hostToken });
    const host = m.hostToken;
    const id = m.id;
    await expectRejected(
      id,
      () => api("POST", "/api/meetings/join", { body: { token: spent, displayName: "Again" } }),
      410,
      "MEETING_ENDED",
    );
    await expectRejected(
      id,
      () => api("POST", `/api/meetings/${id}/kick`, { token: host, body: { participantId: m.host.id } }),
      410,
      "MEETING_ENDED",
    );
    await expectRejected(
      id,
      () => api("POST", `/api/meetings/${id}/kick`, { token: host, body: { participantId: "nobody" } }),
      410,
      "MEETING_ENDED",
    );
    await expectRejected(
      id,
      () =>
        api("PUT", `/api/meetings/${id}/datetime`, { token: host, body: { durationMinutes: 5, expectedVersion: 1 } }),
      410,
      "MEETING_ENDED",
    );
    await expectRejected(
      id,
      () => api("POST", `/api/meetings/${id}/tokens`, { token: host, body: { expiresInHours: 10_000 } }),
      410,
      "MEETING_ENDED",
    );
  });

  it("role (403) before the action's own rules (409, 400)", async () => {
    const m = await meetingWith("Grace");
    const session = m.guests[0]!.sessionToken;
    const id = m.id;
    await expectRejected(
      id,
      () =>
        api("PUT", `/api/meetings/${id}/datetime`, {
          token: session,
          body: { durationMinutes: 5, expectedVersion: 9 },
        }),
      403,
      "FORBIDDEN",
    );
    await expectRejected(
      id,
      () => api("POST", `/api/meetings/${id}/tokens`, { token: session, body: { expiresInHours: 10_000 } }),
      403,
      "FORBIDDEN",
    );
  });

  it("a spent join token is 401 on GET; an unspent one reads (200); a revoked session is 403", async () => {
    const m = await meetingWith("Grace");
    const invite = await mintJoinToken(m.id, m.hostToken);
    expect((await api("GET", `/api/meetings/${m.id}`, { token: invite })).status).toBe(200);
    await api("POST", "/api/meetings/join", { body: { token: invite, displayName: "Linus" } });
    expectError(await api("GET", `/api/meetings/${m.id}`, { token: invite }), 401, "UNAUTHORIZED");
    await api("POST", `/api/meetings/${m.id}/leave`, { token: m.guests[0]!.sessionToken });
    expectError(await api("GET", `/api/meetings/${m.id}`, { token: m.guests[0]!.sessionToken }), 403, "FORBIDDEN");
  });

  it("a spent join token on a host route is 401, not 403", async () => {
    const m = await meetingWith();
    const invite = await mintJoinToken(m.id, m.hostToken);
    await api("POST", "/api/meetings/join", { body: { token: invite, displayName: "Linus" } });
    await expectRejected(m.id, () => api("DELETE", `/api/meetings/${m.id}`, { token: invite }), 401, "UNAUTHORIZED");
  });
});
