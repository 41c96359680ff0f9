/**
 * Cloudflare Realtime TURN through real sockets: a `wrangler dev` of its
 * own whose TURN_API_BASE_URL points at a local Node HTTP server standing in
 * for Cloudflare's credential API. What the worker sends is checked, and
 * each way the API can misbehave (an error status, no answer at all) leaves
 * the join succeeding with STUN only. Nothing leaves 127.0.0.1.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "../../scripts/lib/dev-server.mjs";
import { clientFor } from "./helpers/client";

/** Port ranges of this file's server (the global setup, restart tests, soak and bench use others). */
const PORTS = { httpPorts: [8600, 8699], inspectorPorts: [9200, 9299] } as const;
const API_TOKEN = `cf-token-${crypto.randomUUID()}`;
const STUN = { urls: ["stun:stun.cloudflare.com:3478"] };

type Mode = "ok" | "error" | "hang";
let mode: Mode = "ok";
const seen: { url: string; method: string; authorization?: string; body: unknown }[] = [];
/** Requests the stub left hanging, answered (closed) at the end. */
const hanging: ServerResponse[] = [];

function stubApi(request: IncomingMessage, response: ServerResponse) {
  let body = "";
  request.on("data", (chunk) => {
    body += chunk;
  });
  request.on("end", () => {
    seen.push({
      url: request.url ?? "",
      method: request.method ?? "",
      authorization: request.headers.authorization,
      body: JSON.parse(body || "null"),
    });
    if (mode === "hang") {
      hanging.push(response);
      return;
    }
    if (mode === "error") {
      response.writeHead(500, { "content-type": "application/json" }).end('{"errors":["boom"]}');
      return;
    }
    response.writeHead(201, { "content-type": "application/json" }).end(
      JSON.stringify({
        iceServers: [
          {
            urls: ["stun:stun.cloudflare.com:3478", "turn:turn.cloudflare.com:53?transport=udp"],
          },
          {
            urls: ["turn:turn.cloudflare.com:3478?transport=udp", "turns:turn.cloudflare.com:443?transport=tcp"],
            username: "stub-user",
            credential: "stub-credential",
          },
        ],
      }),
    );
  });
}

let api: Server;
let server: WranglerDev;
let client: ReturnType<typeof clientFor>;

beforeAll(async () => {
  api = createServer(stubApi);
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  server = await startWranglerDev({
    ...PORTS,
    vars: {
      JWT_SECRET: `e2e-${crypto.randomUUID()}-${crypto.randomUUID()}`,
      RATE_LIMIT_MAX_REQUESTS: "1000000",
      LOG_LEVEL: "warn",
      TURN_KEY_ID: "stub-key",
      TURN_KEY_API_TOKEN: API_TOKEN,
      TURN_API_BASE_URL: apiUrl,
      TURN_TTL_SECONDS: "1800",
    },
  });
  client = clientFor(() => server.baseUrl);
});

afterAll(async () => {
  for (const response of hanging) response.destroy();
  await server?.stop();
  await new Promise((resolve) => api?.close(resolve));
});

/** Creates a meeting and joins it; the join answer. */
async function joinAnswer() {
  const { id, hostToken } = await client.createMeeting();
  const [invite] = await client.mintJoinTokens(id, hostToken);
  const joined = await client.api("POST", "/api/meetings/join", { body: { token: invite, displayName: "Grace" } });
  expect(joined.status, JSON.stringify(joined.body)).toBe(200);
  return joined.body;
}

describe("Cloudflare Realtime TURN against a local stub of its API", () => {
  it("asks with the key, bearer token and lifetime, and passes the servers on without port 53", async () => {
    mode = "ok";
    seen.length = 0;
    const joined = await joinAnswer();
    // The stub's STUN entry repeats STUN_URLS' (dropped) or is on port 53 (dropped).
    expect(joined.iceServers).toEqual([
      STUN,
      {
        urls: ["turn:turn.cloudflare.com:3478?transport=udp", "turns:turn.cloudflare.com:443?transport=tcp"],
        username: "stub-user",
        credential: "stub-credential",
      },
    ]);
    const request = seen.at(-1)!;
    expect(request.url).toBe("/v1/turn/keys/stub-key/credentials/generate-ice-servers");
    expect(request.method).toBe("POST");
    expect(request.authorization).toBe(`Bearer ${API_TOKEN}`);
    expect((request.body as { ttl: number }).ttl).toBeLessThanOrEqual(1800);
    expect((request.body as { ttl: number }).ttl).toBeGreaterThan(1790);
  });

  it("answers STUN only when the API answers 500; the join succeeds", async () => {
    mode = "error";
    const joined = await joinAnswer();
    expect(joined.iceServers).toEqual([STUN]);
    expect(JSON.stringify(joined)).not.toContain(API_TOKEN);
  });

  it("answers STUN only when the API never answers (2 s cut-off); the join succeeds", async () => {
    mode = "hang";
    const before = hanging.length;
    const joined = await joinAnswer();
    expect(joined.iceServers).toEqual([STUN]);
    expect(hanging.length).toBeGreaterThan(before);
    expect(server.output()).not.toContain(API_TOKEN);
  });
});
