/**
 * ICE servers (contract 1.1): `iceServers` and `iceServersExpiresAt` in the
 * create and join answers, and `GET /api/meetings/:id/ice-servers` for fresh
 * credentials. STUN from STUN_URLS; TURN from a shared secret (TURN REST API
 * credentials, checked here against an HMAC computed independently) or from
 * Cloudflare's credential API, which is stubbed by replacing the global
 * `fetch` the worker calls out with: nothing leaves the machine. A failing
 * or hanging provider leaves STUN only and never fails the request.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, expectError, inMinutes, meetingWith } from "./helpers/api";
import { captureLogs } from "./helpers/logs";
import { describeAccessChecks } from "./helpers/member-routes";
import { claimsOf } from "./helpers/tokens";
import type { EnvOverrides } from "./helpers/worker-env";
import { fetchWithEnv } from "./helpers/worker-env";

const DEFAULT_STUN = { urls: ["stun:stun.cloudflare.com:3478"] };
const SHARED_SECRET = "coturn-static-auth-secret-for-tests";
const SHARED = {
  TURN_URLS: "turn:turn.example.test:3478?transport=udp, turns:turn.example.test:5349",
  TURN_SHARED_SECRET: SHARED_SECRET,
};
const CF_API = "http://turn-api.example.test";
const CF_TOKEN = "cloudflare-api-token-that-must-not-leak";
const CLOUDFLARE = { TURN_KEY_ID: "key-123", TURN_KEY_API_TOKEN: CF_TOKEN, TURN_API_BASE_URL: CF_API };

interface Json {
  status: number;
  body: any;
  headers: Headers;
}

async function call(
  overrides: EnvOverrides,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<Json> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetchWithEnv(overrides, path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** Create, invite and join under `overrides`; the three answers. */
async function createAndJoin(overrides: EnvOverrides = {}) {
  const created = await call(overrides, "POST", "/api/meetings/create", undefined, {
    title: "ICE",
    hostName: "Ada",
    scheduledAt: inMinutes(30),
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.meeting.id as string;
  const invite = await call(overrides, "POST", `/api/meetings/${id}/tokens`, created.body.hostToken, {});
  const joined = await call(overrides, "POST", "/api/meetings/join", undefined, {
    token: invite.body.tokens[0].token,
    displayName: "Grace",
  });
  expect(joined.status, JSON.stringify(joined.body)).toBe(200);
  return { id, created: created.body, joined: joined.body };
}

async function hmacSha1Base64(secret: string, message: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-1" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
  return btoa(String.fromCharCode(...mac));
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

type CloudflareStub = (request: Request) => Response | Promise<Response>;

/** Stands in for Cloudflare's API: calls to CF_API go to `answer`, and are recorded. */
function stubCloudflare(answer: CloudflareStub) {
  const original = globalThis.fetch;
  const requests: { url: string; method: string; authorization: string | null; body: any }[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(CF_API)) return original(input, init);
    requests.push({
      url: request.url,
      method: request.method,
      authorization: request.headers.get("authorization"),
      body: await request.clone().json(),
    });
    return answer(request);
  });
  return requests;
}

const CLOUDFLARE_ANSWER = {
  iceServers: [
    { urls: ["stun:stun.cloudflare.com:3478", "stun:stun.cloudflare.com:53"] },
    {
      urls: [
        "turn:turn.cloudflare.com:3478?transport=udp",
        "turn:turn.cloudflare.com:53?transport=udp",
        "turn:turn.cloudflare.com:3478?transport=tcp",
        "turns:turn.cloudflare.com:5349?transport=tcp",
        "turns:turn.cloudflare.com:443?transport=tcp",
      ],
      username: "cf-user",
      credential: "cf-credential",
    },
  ],
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe("iceServers in the create and join answers", () => {
  it("carries the default STUN server and an expiry TURN_TTL_SECONDS ahead", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { created, joined } = await createAndJoin();
    for (const answer of [created, joined]) {
      expect(answer.iceServers).toEqual([DEFAULT_STUN]);
      expect(seconds(answer.iceServersExpiresAt)).toBeGreaterThanOrEqual(before + 86_400);
      expect(seconds(answer.iceServersExpiresAt)).toBeLessThanOrEqual(Date.now() / 1000 + 86_400);
    }
  });

  it("takes STUN_URLS, and an empty STUN_URLS means no STUN at all", async () => {
    const custom = await createAndJoin({ STUN_URLS: "stun:a.example.test:3478, stuns:b.example.test:5349" });
    expect(custom.joined.iceServers).toEqual([{ urls: ["stun:a.example.test:3478", "stuns:b.example.test:5349"] }]);
    const none = await createAndJoin({ STUN_URLS: "" });
    expect(none.created.iceServers).toEqual([]);
    expect(none.joined.iceServers).toEqual([]);
  });

  it("adds TURN REST API credentials from TURN_SHARED_SECRET: <expiry>:<participant id>, base64 HMAC-SHA1", async () => {
    const { created, joined } = await createAndJoin(SHARED);
    for (const [answer, participantId] of [
      [created, created.participant.id],
      [joined, joined.participant.id],
    ]) {
      expect(answer.iceServers).toHaveLength(2);
      expect(answer.iceServers[0]).toEqual(DEFAULT_STUN);
      const turn = answer.iceServers[1];
      expect(turn.urls).toEqual(["turn:turn.example.test:3478?transport=udp", "turns:turn.example.test:5349"]);
      expect(turn.username).toBe(`${seconds(answer.iceServersExpiresAt)}:${participantId}`);
      expect(turn.credential).toBe(await hmacSha1Base64(SHARED_SECRET, turn.username));
    }
    expect(JSON.stringify({ created, joined })).not.toContain(SHARED_SECRET);
  });

  it("caps the credentials' lifetime at TURN_TTL_SECONDS and at the participant's token expiry", async () => {
    const short = await createAndJoin({ ...SHARED, TURN_TTL_SECONDS: "600" });
    expect(seconds(short.joined.iceServersExpiresAt) - Date.now() / 1000).toBeLessThanOrEqual(600);
    expect(seconds(short.joined.iceServersExpiresAt) - Date.now() / 1000).toBeGreaterThan(590);
    // The meeting object mints the session token with its own TOKEN_EXPIRY_HOURS (24 in tests), so the cap
    // shows through a TTL beyond it: the credentials end exactly when the session token does.
    const long = await createAndJoin({ ...SHARED, TURN_TTL_SECONDS: String(30 * 86_400) });
    expect(seconds(long.joined.iceServersExpiresAt)).toBe(claimsOf(long.joined.sessionToken).exp);
    expect(seconds(long.created.iceServersExpiresAt)).toBe(claimsOf(long.created.hostToken).exp);
  });

  it("leaves TURN out and logs it when only half of a provider is configured", async () => {
    const logs = captureLogs();
    const { joined } = await createAndJoin({ TURN_URLS: "turn:turn.example.test:3478" });
    expect(joined.iceServers).toEqual([DEFAULT_STUN]);
    expect(logs()).toContain("config.turn_incomplete");
    expect(logs()).toContain("TURN_SHARED_SECRET");
  });

  it("refuses a malformed TURN_URLS like any invalid variable: a clear 500, logged", async () => {
    const logs = captureLogs();
    const res = await call({ TURN_URLS: "http://not-a-turn-url" }, "POST", "/api/meetings/create", undefined, {
      title: "ICE",
      hostName: "Ada",
      scheduledAt: inMinutes(30),
    });
    expectError(res, 500, "INTERNAL");
    expect(logs()).toContain("invalid configuration: TURN_URLS");
  });
});

describe("GET /api/meetings/:id/ice-servers", () => {
  it("answers fresh credentials to the host and to a participant, not cached", async () => {
    const { id, created, joined } = await createAndJoin(SHARED);
    for (const [token, participantId] of [
      [created.hostToken, created.participant.id],
      [joined.sessionToken, joined.participant.id],
    ]) {
      const res = await call(SHARED, "GET", `/api/meetings/${id}/ice-servers`, token);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.headers.get("cache-control")).toContain("no-store");
      expect(Object.keys(res.body).sort()).toEqual(["expiresAt", "iceServers"]);
      const turn = res.body.iceServers[1];
      expect(turn.username).toBe(`${seconds(res.body.expiresAt)}:${participantId}`);
      expect(turn.credential).toBe(await hmacSha1Base64(SHARED_SECRET, turn.username));
    }
  });

  it("answers STUN only with the default configuration", async () => {
    const m = await meetingWith("Grace");
    const res = await api("GET", `/api/meetings/${m.id}/ice-servers`, { token: m.guests[0]!.sessionToken });
    expect(res.status).toBe(200);
    expect(res.body.iceServers).toEqual([DEFAULT_STUN]);
  });
});

describe("Cloudflare Realtime TURN (stubbed API)", () => {
  it("asks the API with the key id, bearer token and lifetime, and drops port-53 URLs", async () => {
    const requests = stubCloudflare(() => Response.json(CLOUDFLARE_ANSWER, { status: 201 }));
    const logs = captureLogs();
    const { id, joined } = await createAndJoin({ ...CLOUDFLARE, TURN_TTL_SECONDS: "3600" });
    // Cloudflare's own STUN entry is STUN_URLS' already (dropped as a repeat), or on port 53.
    expect(joined.iceServers).toEqual([
      DEFAULT_STUN,
      {
        urls: [
          "turn:turn.cloudflare.com:3478?transport=udp",
          "turn:turn.cloudflare.com:3478?transport=tcp",
          "turns:turn.cloudflare.com:5349?transport=tcp",
          "turns:turn.cloudflare.com:443?transport=tcp",
        ],
        username: "cf-user",
        credential: "cf-credential",
      },
    ]);
    expect(requests).toHaveLength(2); // create and join
    const request = requests[1]!;
    expect(request.url).toBe(`${CF_API}/v1/turn/keys/key-123/credentials/generate-ice-servers`);
    expect(request.method).toBe("POST");
    expect(request.authorization).toBe(`Bearer ${CF_TOKEN}`);
    expect(request.body.ttl).toBeGreaterThan(3590);
    expect(request.body.ttl).toBeLessThanOrEqual(3600);
    expect(seconds(joined.iceServersExpiresAt) - Date.now() / 1000).toBeLessThanOrEqual(3600);

    const fresh = await call(CLOUDFLARE, "GET", `/api/meetings/${id}/ice-servers`, joined.sessionToken);
    expect(fresh.body.iceServers).toHaveLength(2);
    expect(requests).toHaveLength(3);
    expect(logs()).not.toContain(CF_TOKEN);
  });

  it("keeps Cloudflare's STUN entry when STUN_URLS gives none", async () => {
    stubCloudflare(() => Response.json(CLOUDFLARE_ANSWER, { status: 201 }));
    const { joined } = await createAndJoin({ ...CLOUDFLARE, STUN_URLS: "" });
    expect(joined.iceServers).toHaveLength(2);
    expect(joined.iceServers[0]).toEqual({ urls: ["stun:stun.cloudflare.com:3478"] });
  });

  it("takes the older single-object answer too", async () => {
    stubCloudflare(() => Response.json({ iceServers: CLOUDFLARE_ANSWER.iceServers[1] }));
    const { joined } = await createAndJoin(CLOUDFLARE);
    expect(joined.iceServers).toHaveLength(2);
    expect(joined.iceServers[1].username).toBe("cf-user");
    expect(joined.iceServers[1].urls).not.toContain("turn:turn.cloudflare.com:53?transport=udp");
  });

  it.each([
    ["answers 500", () => new Response("upstream broke", { status: 500 })],
    ["answers 401", () => Response.json({ error: "bad token" }, { status: 401 })],
    ["answers something else", () => Response.json({ servers: "?" })],
    ["answers no JSON", () => new Response("<html>")],
    [
      "cannot be reached",
      () => {
        throw new TypeError("network connection lost");
      },
    ],
  ] satisfies [string, CloudflareStub][])(
    "degrades to STUN only when the API %s; join still succeeds, logged without secrets",
    async (_, answer) => {
      stubCloudflare(answer);
      const logs = captureLogs();
      const { joined } = await createAndJoin(CLOUDFLARE);
      expect(joined.iceServers).toEqual([DEFAULT_STUN]);
      expect(seconds(joined.iceServersExpiresAt) - Date.now() / 1000).toBeGreaterThan(86_000);
      expect(logs()).toContain("ice.turn_unavailable");
      expect(logs()).not.toContain(CF_TOKEN);
    },
  );

  it("gives up on an API that does not answer within 2 s: STUN only, the join succeeds", async () => {
    // Never answers, and ignores the abort signal: the cut-off must not depend on the fetch giving up.
    const requests = stubCloudflare(() => new Promise<Response>(() => {}));
    const logs = captureLogs();
    const m = await meetingWith("Grace");
    const res = await call(CLOUDFLARE, "GET", `/api/meetings/${m.id}/ice-servers`, m.guests[0]!.sessionToken);
    expect(res.status).toBe(200);
    expect(res.body.iceServers).toEqual([DEFAULT_STUN]);
    expect(requests).toHaveLength(1);
    expect(logs()).toContain("no answer within 2000 ms");
  });

  it("with both providers configured, answers both; one failing leaves the other", async () => {
    stubCloudflare(() => new Response("down", { status: 503 }));
    const { joined } = await createAndJoin({ ...SHARED, ...CLOUDFLARE });
    expect(joined.iceServers).toHaveLength(2);
    expect(joined.iceServers[1].username).toMatch(/^\d+:/);
  });
});

describeAccessChecks({ method: "GET", suffix: "/ice-servers", accepts: ["host", "session"] });
