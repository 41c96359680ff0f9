/**
 * TURN credentials checked outside the Workers runtime: the TURN REST API
 * password must be exactly what a coturn-style server computes, which is
 * recomputed here with node:crypto, independently of the WebCrypto code
 * under test. Also the ICE module's pure rules: lifetime caps, port-53
 * filtering, and the provider cut-off with an injected fetch and timeout.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type IceConfig, iceServersFor, onPort53, turnRestCredential } from "../../src/ice/ice-servers";

const nodeCredential = (secret: string, username: string) =>
  createHmac("sha1", secret).update(username).digest("base64");

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const nowSeconds = NOW / 1000;

describe("turnRestCredential", () => {
  it.each([
    ["a plain secret", "north-sea-secret", "1767268800:7c9e6679-7425-40de-944b-e07fc1f90ae7"],
    ["a long secret and unicode", "ß€cret-🔑-".repeat(20), "1767268800:participant-ü"],
    ["an empty username part", "s", "0:"],
  ])("equals base64(HMAC-SHA1) computed by node:crypto, for %s", async (_, secret, username) => {
    expect(await turnRestCredential(secret, username)).toBe(nodeCredential(secret, username));
  });

  it("differs for another secret or another username", async () => {
    const credential = await turnRestCredential("secret-a", "100:p");
    expect(credential).not.toBe(nodeCredential("secret-b", "100:p"));
    expect(credential).not.toBe(nodeCredential("secret-a", "101:p"));
  });
});

describe("iceServersFor", () => {
  const shared: IceConfig = {
    stunUrls: ["stun:stun.example.test:3478"],
    turn: [{ kind: "shared-secret", urls: ["turn:turn.example.test:3478"], sharedSecret: "shh" }],
    ttlSeconds: 3600,
  };

  it("signs <expiry>:<participant id> with an expiry TURN_TTL_SECONDS ahead", async () => {
    const result = await iceServersFor(shared, "p-1", NOW + 86_400_000, { now: NOW });
    const expiry = nowSeconds + 3600;
    expect(result).toEqual({
      iceServers: [
        { urls: ["stun:stun.example.test:3478"] },
        {
          urls: ["turn:turn.example.test:3478"],
          username: `${expiry}:p-1`,
          credential: nodeCredential("shh", `${expiry}:p-1`),
        },
      ],
      expiresAt: new Date(expiry * 1000).toISOString(),
      failures: [],
    });
  });

  it("ends the credentials with the participant's token when that comes first", async () => {
    const result = await iceServersFor(shared, "p-1", NOW + 600_500, { now: NOW });
    expect(result.expiresAt).toBe(new Date(NOW + 600_000).toISOString());
    expect(result.iceServers[1]?.username).toBe(`${nowSeconds + 600}:p-1`);
  });

  it("gives up on a provider after the cut-off, even if its fetch never settles", async () => {
    const cloudflare: IceConfig = {
      stunUrls: [],
      turn: [{ kind: "cloudflare", keyId: "k", apiToken: "t", apiBaseUrl: "http://stub.test" }],
      ttlSeconds: 60,
    };
    let signal: AbortSignal | undefined;
    const hanging = (async (_url: unknown, init?: RequestInit) => {
      signal = init?.signal ?? undefined;
      return new Promise<Response>(() => {});
    }) as typeof fetch;
    const result = await iceServersFor(cloudflare, "p", NOW + 86_400_000, { now: NOW, fetch: hanging, timeoutMs: 20 });
    expect(result.iceServers).toEqual([]);
    expect(result.failures).toEqual([{ provider: "cloudflare", reason: "no answer within 20 ms" }]);
    expect(signal?.aborted).toBe(true);
  });
});

describe("onPort53", () => {
  it.each([
    ["turn:turn.cloudflare.com:53?transport=udp", true],
    ["stun:stun.cloudflare.com:53", true],
    ["turns:[2001:db8::1]:53?transport=tcp", true],
    ["turn:turn.cloudflare.com:3478?transport=udp", false],
    ["turn:turn.cloudflare.com:5353", false],
    ["turns:host53.example:443?transport=tcp", false],
    ["stun:stun.example.test", false],
  ])("%s → %s", (url, expected) => {
    expect(onPort53(url)).toBe(expected);
  });
});
