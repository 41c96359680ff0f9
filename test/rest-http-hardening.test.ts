/**
 * Contract 1.1 "HTTP behaviour" and key rotation: `Cache-Control: no-store`
 * on every token-bearing answer, an empty `?token=` is 401, JSON content
 * types (any `+json`, parameters, any letter case; anything else 415; a
 * declared-JSON body always parsed), and `JWT_SECRET_PREVIOUS` verifying
 * tokens signed before a rotation.
 */
import { describe, expect, it } from "vitest";
import { api, createMeeting, expectError, inMinutes, join, mintJoinToken } from "./helpers/api";
import { SERVER_SECRET, withWrongSecret } from "./helpers/tokens";
import { fetchWithEnv } from "./helpers/worker-env";

const CREATE_BODY = { title: "Hardening", hostName: "Ada", scheduledAt: inMinutes(60) };
const NEW_SECRET = "the-secret-after-rotation-0123456789abcdef";

describe("Cache-Control: no-store", () => {
  it("is on create, join and every /api/meetings/:id/* answer, errors included", async () => {
    const { meeting, hostToken } = await createMeeting();
    const id = meeting.id as string;
    const created = await api("POST", "/api/meetings/create", { body: CREATE_BODY });
    const joined = await api("POST", "/api/meetings/join", {
      body: { token: await mintJoinToken(id, hostToken), displayName: "Grace" },
    });
    const answers = [
      created,
      joined,
      await api("GET", `/api/meetings/${id}`, { token: hostToken }),
      await api("GET", `/api/meetings/${id}/calendar.ics?token=${hostToken}`),
      await api("GET", `/api/meetings/${id}/stats`, { token: hostToken }),
      await api("POST", `/api/meetings/${id}/tokens`, { token: hostToken, body: { count: 1 } }),
      await api("GET", `/api/meetings/${id}`),
    ];
    expect(answers.map((a) => a.status)).toEqual([201, 200, 200, 200, 200, 201, 401]);
    for (const answer of answers) expect(answer.headers.get("cache-control")).toBe("no-store");
  });
});

describe("an empty ?token=", () => {
  it("is 401 on the calendar feed and the WebSocket route", async () => {
    const { meeting } = await createMeeting();
    expectError(await api("GET", `/api/meetings/${meeting.id}/calendar.ics?token=`), 401, "UNAUTHORIZED");
    const upgrade = await api("GET", `/api/meetings/${meeting.id}/ws?token=`, { headers: { Upgrade: "websocket" } });
    expectError(upgrade, 401, "UNAUTHORIZED");
  });
});

describe("JSON content types", () => {
  it.each([
    "application/json",
    "Application/JSON; Charset=UTF-8",
    "application/json ; charset=utf-8",
    "application/merge-patch+json",
    "APPLICATION/VND.MEETTIME.V1+JSON; q=1",
  ])("accepts %s", async (contentType) => {
    const res = await api("POST", "/api/meetings/create", {
      rawBody: JSON.stringify(CREATE_BODY),
      headers: { "content-type": contentType },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  it.each(["text/plain", "application/x-www-form-urlencoded", "application/jsonx", "application/+json", ""])(
    "refuses %j with 415",
    async (contentType) => {
      const res = await api("POST", "/api/meetings/create", {
        rawBody: JSON.stringify(CREATE_BODY),
        headers: contentType ? { "content-type": contentType } : {},
      });
      expectError(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    },
  );

  it("parses a body declared as a +json type in capitals, never ignores it", async () => {
    const res = await api("POST", "/api/meetings/create", {
      rawBody: "{not json",
      headers: { "content-type": "Application/Merge-Patch+JSON; Charset=UTF-8" },
    });
    expectError(res, 400, "VALIDATION_FAILED");
  });
});

describe("actions without a body", () => {
  const ACTIONS = [
    ["DELETE", ""],
    ["POST", "/host-token"],
    ["POST", "/leave"],
    ["POST", "/calendar-token"],
  ] as const;

  it.each(ACTIONS)("%s %s validates a declared JSON body instead of ignoring it", async (method, path) => {
    const { meeting, hostToken } = await createMeeting();
    const url = `/api/meetings/${meeting.id}${path}`;
    const json = { token: hostToken, headers: { "content-type": "application/json" } };
    expectError(await api(method, url, { ...json, rawBody: '{"participantId":"x"}' }), 400, "VALIDATION_FAILED");
    expectError(await api(method, url, { ...json, rawBody: "{not json" }), 400, "VALIDATION_FAILED");
    const text = { token: hostToken, headers: { "content-type": "text/plain" }, rawBody: "{}" };
    expectError(await api(method, url, text), 415, "UNSUPPORTED_MEDIA_TYPE");
    // Nothing happened: the meeting is still active and the host still listed.
    const { body } = await api("GET", `/api/meetings/${meeting.id}`, { token: hostToken });
    expect(body.meeting.status).toBe("active");
    // No body, or `{}`, is the action itself.
    const accepted = await api(method, url, { ...json, rawBody: "{}" });
    expect(accepted.status, JSON.stringify(accepted.body)).toBeLessThan(300);
  });

  it("POST /session-token too, before the token is looked at", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { sessionToken } = await join(meeting.id as string, hostToken, "Grace");
    const url = `/api/meetings/${meeting.id}/session-token`;
    const headers = { "content-type": "application/json" };
    expectError(await api("POST", url, { token: sessionToken, headers, rawBody: "[]" }), 400, "VALIDATION_FAILED");
    expectError(await api("POST", url, { headers, rawBody: '{"a":1}' }), 400, "VALIDATION_FAILED");
    expect((await api("POST", url, { token: sessionToken })).status).toBe(201);
  });
});

describe("JWT_SECRET_PREVIOUS", () => {
  async function readWith(secrets: Record<string, string>, meetingId: string, token: string) {
    return fetchWithEnv(secrets, `/api/meetings/${meetingId}`, { headers: { authorization: `Bearer ${token}` } });
  }

  it("keeps tokens signed with the previous secret valid after a rotation", async () => {
    const { meeting, hostToken } = await createMeeting();
    const rotated = { JWT_SECRET: NEW_SECRET, JWT_SECRET_PREVIOUS: SERVER_SECRET };
    expect((await readWith(rotated, meeting.id, hostToken)).status).toBe(200);
    // Without the previous secret the old tokens die: the reason the variable exists.
    expect((await readWith({ JWT_SECRET: NEW_SECRET }, meeting.id, hostToken)).status).toBe(401);
  });

  it("still refuses a token signed with any other key, and expired or foreign tokens under the old key", async () => {
    const { meeting, hostToken } = await createMeeting();
    const other = await createMeeting();
    const rotated = { JWT_SECRET: NEW_SECRET, JWT_SECRET_PREVIOUS: SERVER_SECRET };
    expect((await readWith(rotated, meeting.id, await withWrongSecret(hostToken))).status).toBe(401);
    expect((await readWith(rotated, meeting.id, other.hostToken)).status).toBe(401);
  });

  it("verifies a session token minted before the rotation on a join-less route", async () => {
    const { meeting, hostToken } = await createMeeting();
    const { sessionToken } = await join(meeting.id, hostToken);
    const rotated = { JWT_SECRET: NEW_SECRET, JWT_SECRET_PREVIOUS: SERVER_SECRET };
    expect((await readWith(rotated, meeting.id, sessionToken)).status).toBe(200);
  });
});
