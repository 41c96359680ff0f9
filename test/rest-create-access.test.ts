/**
 * Contract 1.2, "Who may create meetings": CREATE_KEYS (bearer keys) and
 * Cloudflare Access (ACCESS_TEAM_DOMAIN + ACCESS_AUD). The Access team is a
 * JWKS endpoint served inside the test: the worker's outbound fetch to the
 * team domain (a loopback URL) is answered here, so nothing leaves the
 * machine, and each test gets a team of its own (jose caches keys per team).
 */
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { log } from "../src/log";
import { inMinutes } from "./helpers/api";
import { captureLogs } from "./helpers/logs";
import { type EnvOverrides, fetchWithEnv, uniqueClientIp } from "./helpers/worker-env";

const KEY_A = "create-key-a-0123456789abcdefghijklmnopqrstuv";
const KEY_B = "create-key-b-0123456789abcdefghijklmnopqrstuv";
const SHORT_KEY = "short-key-under-32-chars";
const AUDIENCE = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
const VALID_BODY = { title: "Board", hostName: "Ada", scheduledAt: inMinutes(60) };

interface Answer {
  status: number;
  body: any;
}

async function create(overrides: EnvOverrides, headers: Record<string, string> = {}, body: unknown = VALID_BODY) {
  const response = await fetchWithEnv(overrides, "/api/meetings/create", {
    method: "POST",
    headers: { "content-type": "application/json", "CF-Connecting-IP": uniqueClientIp(), ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() } as Answer;
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const accessHeader = (jwt: string) => ({ "Cf-Access-Jwt-Assertion": jwt });

function expectCreated(answer: Answer) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  expect(answer.body.hostToken).toEqual(expect.any(String));
}

function expectRefused(answer: Answer) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(401);
  expect(answer.body.error.code).toBe("UNAUTHORIZED");
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function signingKey(kid = crypto.randomUUID()): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
}

/**
 * An Access team on a loopback URL of its own: its certs endpoint answers
 * with the keys in `published`; `certFetches` counts the worker's fetches.
 */
async function accessTeam() {
  const domain = `http://127.0.0.1:${10_000 + Math.floor(Math.random() * 50_000)}`;
  const team = { domain, published: [await signingKey()], certFetches: 0 };
  const original = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(`${domain}/`)) return original(input, init);
    if (new URL(request.url).pathname !== "/cdn-cgi/access/certs") return new Response("not found", { status: 404 });
    team.certFetches++;
    return Response.json({ keys: team.published.map((key) => key.publicJwk) });
  });
  return team;
}

type Team = Awaited<ReturnType<typeof accessTeam>>;

const accessEnv = (team: Team, extra: EnvOverrides = {}): EnvOverrides => ({
  ACCESS_TEAM_DOMAIN: team.domain,
  ACCESS_AUD: AUDIENCE,
  ...extra,
});

/** An Access token as Cloudflare issues it, with `changes` applied. */
function accessToken(
  team: Team,
  changes: { key?: SigningKey; issuer?: string; audience?: string; expiresAt?: number } = {},
) {
  const key = changes.key ?? (team.published[0] as SigningKey);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: "ada@example.test", type: "app" })
    .setProtectedHeader({ alg: "RS256", kid: key.kid })
    .setIssuer(changes.issuer ?? team.domain)
    .setAudience(changes.audience ?? AUDIENCE)
    .setSubject("user-7")
    .setIssuedAt(now - 60)
    .setExpirationTime(changes.expiresAt ?? now + 3600)
    .sign(key.privateKey);
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("create without CREATE_KEYS or Access", () => {
  it("is open to anyone, as in 1.0", async () => {
    expectCreated(await create({}));
  });
});

describe("CREATE_KEYS", () => {
  const keys = { CREATE_KEYS: `${KEY_A}, ${KEY_B}` };

  it("creates with either key, and refuses no key or a wrong one", async () => {
    expectCreated(await create(keys, bearer(KEY_A)));
    expectCreated(await create(keys, bearer(KEY_B)));
    expectRefused(await create(keys));
    expectRefused(await create(keys, bearer(`${KEY_A}x`)));
    expectRefused(await create(keys, bearer(KEY_A.slice(0, -1))));
    expect((await create(keys, bearer(KEY_A))).body.error).toBeUndefined();
  });

  it("applies to the alias POST /api/meetings too", async () => {
    const post = async (headers: Record<string, string>) => {
      const response = await fetchWithEnv(keys, "/api/meetings", {
        method: "POST",
        headers: { "content-type": "application/json", "CF-Connecting-IP": uniqueClientIp(), ...headers },
        body: JSON.stringify(VALID_BODY),
      });
      return { status: response.status, body: await response.json() } as Answer;
    };
    expectRefused(await post({}));
    expectCreated(await post(bearer(KEY_B)));
  });

  it("ignores keys shorter than 32 characters, and stays closed when all are", async () => {
    const withShort = { CREATE_KEYS: `${SHORT_KEY},${KEY_A}` };
    vi.spyOn(console, "error").mockImplementation(() => {});
    expectRefused(await create(withShort, bearer(SHORT_KEY)));
    expectCreated(await create(withShort, bearer(KEY_A)));
    expectRefused(await create({ CREATE_KEYS: SHORT_KEY }, bearer(SHORT_KEY)));
    expectRefused(await create({ CREATE_KEYS: SHORT_KEY }));
  });

  it("checks the body first: a malformed body is 400 even without a key", async () => {
    const invalid = await create(keys, {}, { title: "", hostName: "Ada", scheduledAt: "not a date" });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe("VALIDATION_FAILED");
    const response = await fetchWithEnv(keys, "/api/meetings/create", {
      method: "POST",
      headers: { "content-type": "application/json", "CF-Connecting-IP": uniqueClientIp() },
      body: "{not json",
    });
    expect(response.status).toBe(400);
  });

  it("redacts a configured key from any log field, should code ever log one", async () => {
    expectCreated(await create(keys, bearer(KEY_A)));
    const logs = captureLogs();
    log("info", "test.careless", { note: `sent ${KEY_B} by mistake`, other: KEY_A });
    expect(logs()).toContain("sent [redacted] by mistake");
    expect(logs()).not.toContain(KEY_A);
  });

  it("writes nothing of a key to the logs, right or wrong", async () => {
    const logs = captureLogs();
    expectCreated(await create({ ...keys, LOG_LEVEL: "debug" }, bearer(KEY_A)));
    expectRefused(await create({ ...keys, LOG_LEVEL: "debug" }, bearer(`${KEY_B}-wrong`)));
    expect(logs()).toContain("http.request");
    for (const secret of [KEY_A, KEY_B, "create-key-"]) expect(logs()).not.toContain(secret);
  });
});

describe("Cloudflare Access", () => {
  it("creates with a valid token of the team for the audience, fetching the keys once", async () => {
    const team = await accessTeam();
    expectCreated(await create(accessEnv(team), accessHeader(await accessToken(team))));
    expectCreated(await create(accessEnv(team), accessHeader(await accessToken(team))));
    expect(team.certFetches).toBe(1);
    expectRefused(await create(accessEnv(team)));
  });

  it("refuses a token for another audience, of another issuer, or expired", async () => {
    const team = await accessTeam();
    const env = accessEnv(team);
    expectRefused(await create(env, accessHeader(await accessToken(team, { audience: "another-application" }))));
    expectRefused(
      await create(env, accessHeader(await accessToken(team, { issuer: "https://other.cloudflareaccess.com" }))),
    );
    const anHourAgo = Math.floor(Date.now() / 1000) - 3600;
    expectRefused(await create(env, accessHeader(await accessToken(team, { expiresAt: anHourAgo }))));
    expectRefused(await create(env, accessHeader("not-a-token")));
  });

  it("refuses a token signed by a key the team does not publish, even with the published kid", async () => {
    const team = await accessTeam();
    const stranger = await signingKey();
    expectRefused(await create(accessEnv(team), accessHeader(await accessToken(team, { key: stranger }))));
    const impostor = { ...stranger, kid: (team.published[0] as SigningKey).kid };
    expectRefused(await create(accessEnv(team), accessHeader(await accessToken(team, { key: impostor }))));
  });

  it("follows a key rotation: a token of the new key is accepted after a refetch", async () => {
    const team = await accessTeam();
    const env = accessEnv(team);
    expectCreated(await create(env, accessHeader(await accessToken(team))));
    expect(team.certFetches).toBe(1);
    const rotated = await signingKey();
    team.published = [rotated];
    // An unknown kid refetches the keys, at most once per 30 s (a stream of made-up kids costs one fetch each time).
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 31_000 });
    expectCreated(await create(env, accessHeader(await accessToken(team, { key: rotated }))));
    expect(team.certFetches).toBe(2);
  });

  it("answers 503 UNAVAILABLE when the team's keys cannot be fetched", async () => {
    const team = await accessTeam();
    vi.mocked(globalThis.fetch).mockImplementation(async () => new Response("bad gateway", { status: 502 }));
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const answer = await create(accessEnv(team), accessHeader(await accessToken(team)));
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe("UNAVAILABLE");
  });

  it("with keys too, accepts either credential", async () => {
    const team = await accessTeam();
    const env = accessEnv(team, { CREATE_KEYS: KEY_A });
    expectCreated(await create(env, bearer(KEY_A)));
    expectCreated(await create(env, accessHeader(await accessToken(team))));
    expectCreated(await create(env, { ...bearer("wrong"), ...accessHeader(await accessToken(team)) }));
    expectCreated(await create(env, { ...bearer(KEY_A), ...accessHeader("garbage") }));
    expectRefused(await create(env, { ...bearer("wrong"), ...accessHeader("garbage") }));
  });

  it("writes nothing of the token to the logs", async () => {
    const team = await accessTeam();
    const logs = captureLogs();
    const env = accessEnv(team, { LOG_LEVEL: "debug" });
    const good = await accessToken(team);
    const expired = await accessToken(team, { expiresAt: Math.floor(Date.now() / 1000) - 60 });
    expectCreated(await create(env, accessHeader(good)));
    expectRefused(await create(env, accessHeader(expired)));
    expect(logs()).toContain("ERR_JWT_EXPIRED");
    for (const token of [good, expired]) {
      for (const part of token.split(".")) expect(logs()).not.toContain(part);
    }
  });

  it("stays closed when only half configured", async () => {
    const team = await accessTeam();
    const logs = captureLogs();
    expectRefused(await create({ ACCESS_TEAM_DOMAIN: team.domain }, accessHeader(await accessToken(team))));
    expect(logs()).toContain("ACCESS_AUD (ACCESS_TEAM_DOMAIN is set)");
  });

  it("takes http: team domains only on loopback", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const answer = await create({ ACCESS_TEAM_DOMAIN: "http://team.example.test", ACCESS_AUD: AUDIENCE });
    expect(answer.status).toBe(500);
    expect(answer.body.error.code).toBe("INTERNAL");
  });
});
