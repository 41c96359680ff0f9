/**
 * The OpenAPI document tells the truth about real answers: every request
 * below is sent to the worker and both sides are checked against the served
 * `/openapi.json` with an independent JSON Schema validator (Ajv, draft
 * 2020-12): the status is listed, the body fits the listed schema, required
 * headers (`Retry-After`) are there, and what the client sent fits the
 * request body the document declares (`{}` on the actions without a body).
 */
import { env, SELF } from "cloudflare:test";
import Ajv2020 from "ajv/dist/2020";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { openApiPath } from "../src/openapi/document";
import { ROUTES } from "../src/openapi/routes";
import { inMinutes, meetingWith, ORIGIN } from "./helpers/api";
import { type EnvOverrides, fetchWithEnv, uniqueClientIp } from "./helpers/worker-env";

const DOCUMENT_ID = "https://meettime.test/openapi.json";
let document: any;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });

beforeAll(async () => {
  document = await (await SELF.fetch(`${ORIGIN}/openapi.json`)).json();
  ajv.addSchema({ $id: DOCUMENT_ID, components: document.components });
});

/** Fails with Ajv's findings unless `value` fits `schema` (a schema object of the document), or, if `fits` is false, unless it does not. */
function expectFits(schema: any, value: unknown, what: string, fits = true) {
  const validate = ajv.compile(schema.$ref ? { $ref: `${DOCUMENT_ID}${schema.$ref}` } : schema);
  expect(validate(value), `${what}: ${ajv.errorsText(validate.errors)}`).toBe(fits);
}

interface Sent {
  token?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** The body is wrong on purpose: the document must say so too. */
  invalidBody?: boolean;
  /** Sent verbatim with `contentType`. */
  rawBody?: string;
  contentType?: string;
  headers?: Record<string, string>;
  env?: EnvOverrides;
}

/**
 * Sends `method path` and checks the request and the answer against the
 * operation of `method` on `template` (an API.md path, `:id` for the id).
 */
async function exchange(method: string, template: string, path: string, sent: Sent = {}) {
  const headers: Record<string, string> = { "CF-Connecting-IP": uniqueClientIp(), ...sent.headers };
  if (sent.token) headers.authorization = `Bearer ${sent.token}`;
  let body = sent.rawBody;
  if (sent.body !== undefined) body = JSON.stringify(sent.body);
  if (body !== undefined) headers["content-type"] = sent.contentType ?? "application/json";
  const response = await fetchWithEnv(sent.env ?? {}, path, { method, headers, body });

  const what = `${method} ${template} → ${response.status}`;
  const operation = document.paths[openApiPath(template)]?.[method.toLowerCase()];
  expect(operation, `${method} ${template} is documented`).toBeDefined();
  if (sent.body !== undefined) {
    expect(operation.requestBody, `${what}: a JSON body is accepted`).toBeDefined();
    const schema = operation.requestBody.content["application/json"].schema;
    expectFits(schema, sent.body, `${what}, request`, !sent.invalidBody);
  } else if (sent.rawBody === undefined) {
    expect(operation.requestBody?.required ?? false, `${what}: the body is optional`).toBe(false);
  }
  const documented = operation.responses[String(response.status)];
  expect(documented, `${what} is listed`).toBeDefined();
  for (const [name, header] of Object.entries<any>(documented.headers ?? {})) {
    if (header.required) expect(response.headers.get(name), `${what}: ${name}`).not.toBeNull();
  }
  const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  if (response.status === 101 || !documented.content) return { status: response.status, body: undefined, response };
  expect(Object.keys(documented.content), `${what}: media type`).toContain(mediaType);
  const answer = mediaType === "application/json" ? await response.json() : await response.text();
  if (mediaType === "application/json") expectFits(documented.content[mediaType].schema, answer, what);
  return { status: response.status, body: answer as any, response };
}

const createBody = () => ({ title: "Sync ", hostName: " Ada", scheduledAt: inMinutes(60) });
const CREATE_KEY = "documented-create-key-0123456789abcdef";

describe("real answers fit /openapi.json", () => {
  it("create: 201, 400, 401 with keys configured, 413, 415, and the alias", async () => {
    expect(
      (await exchange("POST", "/api/meetings/create", "/api/meetings/create", { body: createBody() })).status,
    ).toBe(201);
    expect((await exchange("POST", "/api/meetings", "/api/meetings", { body: createBody() })).status).toBe(201);
    const tooLong = { ...createBody(), title: `${"t".repeat(200)} ` };
    expect((await exchange("POST", "/api/meetings/create", "/api/meetings/create", { body: tooLong })).status).toBe(
      201,
    );
    const blank = { ...createBody(), title: "   " };
    expect((await exchange("POST", "/api/meetings/create", "/api/meetings/create", { body: blank })).status).toBe(400);
    const keys = { CREATE_KEYS: CREATE_KEY };
    const refused = await exchange("POST", "/api/meetings/create", "/api/meetings/create", {
      body: createBody(),
      env: keys,
    });
    expect(refused.status).toBe(401);
    const allowed = await exchange("POST", "/api/meetings/create", "/api/meetings/create", {
      body: createBody(),
      env: keys,
      token: CREATE_KEY,
    });
    expect(allowed.status).toBe(201);
    const huge = JSON.stringify({ ...createBody(), title: "x".repeat(70_000) });
    expect((await exchange("POST", "/api/meetings/create", "/api/meetings/create", { rawBody: huge })).status).toBe(
      413,
    );
    const plain = { rawBody: "title=x", contentType: "text/plain" };
    expect((await exchange("POST", "/api/meetings/create", "/api/meetings/create", plain)).status).toBe(415);
  });

  it("the actions without a body accept `{}` and no body, and list 400, 413 and 415", async () => {
    const { id, hostToken, guests } = await meetingWith("Grace", "Lin");
    const [grace, lin] = guests.map((guest) => ({ sessionToken: guest.sessionToken }));
    if (!grace || !lin) throw new Error("two guests expected");
    const at = (suffix: string) => `/api/meetings/${id}${suffix}`;
    expect(
      (await exchange("POST", "/api/meetings/:id/host-token", at("/host-token"), { token: hostToken, body: {} }))
        .status,
    ).toBe(201);
    expect(
      (await exchange("POST", "/api/meetings/:id/host-token", at("/host-token"), { token: hostToken })).status,
    ).toBe(201);
    const session = { token: grace.sessionToken, body: {} };
    expect((await exchange("POST", "/api/meetings/:id/session-token", at("/session-token"), session)).status).toBe(201);
    expect((await exchange("POST", "/api/meetings/:id/calendar-token", at("/calendar-token"), session)).status).toBe(
      201,
    );
    const leave = (sent: Sent) =>
      exchange("POST", "/api/meetings/:id/leave", at("/leave"), { token: lin.sessionToken, ...sent });
    expect((await leave({ body: { unexpected: true }, invalidBody: true })).status).toBe(400);
    expect((await leave({ rawBody: "{", contentType: "application/json" })).status).toBe(400);
    expect((await leave({ rawBody: "bye", contentType: "text/plain" })).status).toBe(415);
    expect((await leave({ rawBody: JSON.stringify({ pad: "x".repeat(70_000) }) })).status).toBe(413);
    expect((await leave({ body: {} })).status).toBe(200);
    expect(
      (await exchange("DELETE", "/api/meetings/:id", `/api/meetings/${id}`, { token: hostToken, body: {} })).status,
    ).toBe(200);
  });

  it("the other meeting routes, their refusals, and the service routes", async () => {
    const { id, hostToken, guests } = await meetingWith("Grace");
    const guest = guests[0] as { sessionToken: string; participant: { id: string } };
    const at = (suffix = "") => `/api/meetings/${id}${suffix}`;
    const host = { token: hostToken };
    expect((await exchange("GET", "/api/meetings/:id", at(), host)).status).toBe(200);
    expect((await exchange("GET", "/api/meetings/:id", at())).status).toBe(401);
    expect((await exchange("GET", "/api/meetings/:id", "/api/meetings/not-an-id", host)).status).toBe(404);
    const minted = await exchange("POST", "/api/meetings/:id/tokens", at("/tokens"), { ...host, body: { count: 2 } });
    expect(minted.status).toBe(201);
    const invite = minted.body.tokens[0].token as string;
    const joinBody = { token: invite, displayName: " Lin " };
    expect((await exchange("POST", "/api/meetings/join", "/api/meetings/join", { body: joinBody })).status).toBe(200);
    expect((await exchange("POST", "/api/meetings/join", "/api/meetings/join", { body: joinBody })).status).toBe(409);
    const moved = await exchange("PUT", "/api/meetings/:id/datetime", at("/datetime"), {
      ...host,
      body: { durationMinutes: 45 },
    });
    expect(moved.status).toBe(200);
    const stale = await exchange("PUT", "/api/meetings/:id/datetime", at("/datetime"), {
      ...host,
      body: { durationMinutes: 50, expectedVersion: 1 },
    });
    expect(stale.status).toBe(409);
    expect((await exchange("GET", "/api/meetings/:id/ice-servers", at("/ice-servers"), host)).status).toBe(200);
    expect((await exchange("GET", "/api/meetings/:id/stats", at("/stats"), host)).status).toBe(200);
    expect((await exchange("GET", "/api/meetings/:id/calendar.ics", at("/calendar.ics"), host)).status).toBe(200);
    expect((await exchange("GET", "/api/meetings/:id/ws", at(`/ws?token=${hostToken}`))).status).toBe(426);
    const kick = { ...host, body: { participantId: guest.participant.id, reason: " too loud " } };
    expect((await exchange("POST", "/api/meetings/:id/kick", at("/kick"), kick)).status).toBe(200);
    expect(
      (await exchange("POST", "/api/meetings/:id/leave", at("/leave"), { token: guest.sessionToken })).status,
    ).toBe(403);
    for (const path of ["/health", "/", "/openapi.json"]) expect((await exchange("GET", path, path)).status).toBe(200);
  });
});

/** Why a route's request is valid, so that the meeting object is reached and fails. */
const REQUEST_FOR: Record<string, Sent> = {
  createMeeting: { body: createBody() },
  createMeetingAlias: { body: createBody() },
  mintJoinTokens: { body: {} },
  updateMeetingDatetime: { body: { durationMinutes: 30 } },
  kickParticipant: { body: { participantId: "someone" } },
  connectMeetingSocket: { headers: { upgrade: "websocket" } },
  addMediaTracks: { body: { tracks: [{ location: "remote", participantId: "someone", trackName: "cam" }] } },
  renegotiateMedia: { body: { sessionDescription: { type: "answer", sdp: "v=0" } } },
  closeMediaTracks: { body: { tracks: [{ mid: "0" }] } },
};

describe("503 UNAVAILABLE with Retry-After, on every /api route", () => {
  it("is what each route answers when the meeting's object is overloaded, and is documented", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const { id, hostToken } = await meetingWith();
    const overloaded = () =>
      Promise.reject(
        Object.assign(new Error("Durable Object is overloaded. Too many requests queued."), { overloaded: true }),
      );
    // Every call on every object is refused as overloaded; ids are still minted and parsed.
    const busyObject = new Proxy({}, { get: () => overloaded });
    const MEETINGS = {
      newUniqueId: () => env.MEETINGS.newUniqueId(),
      idFromString: (value: string) => env.MEETINGS.idFromString(value),
      get: () => busyObject,
    };
    const apiRoutes = ROUTES.filter((route) => route.path.startsWith("/api/"));
    expect(apiRoutes.length).toBeGreaterThan(10);
    for (const route of apiRoutes) {
      const request = REQUEST_FOR[route.operationId] ?? {};
      const path =
        route.path.replace(":id", id) + (route.operationId === "connectMeetingSocket" ? `?token=${hostToken}` : "");
      const token = route.path === "/api/meetings/join" ? undefined : hostToken;
      const body = route.path === "/api/meetings/join" ? { token: hostToken, displayName: "Lin" } : request.body;
      const answer = await exchange(route.method, route.path, path, {
        ...request,
        body,
        token: route.operationId.startsWith("createMeeting") ? undefined : token,
        env: { MEETINGS },
      });
      expect(answer.status, `${route.method} ${route.path}`).toBe(503);
      expect(answer.body.error.code).toBe("UNAVAILABLE");
      expect(Number(answer.response.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    }
  });
});
