/**
 * REST helpers for tests: a JSON request against the worker, and shortcuts
 * that walk a meeting through create → invite → join.
 */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";

export const ORIGIN = "http://meettime.test";

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  /** Sent verbatim instead of JSON-encoding `body`. */
  rawBody?: string;
}

export async function api<T = any>(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await SELF.fetch(`${ORIGIN}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (calendar, docs): keep the text.
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

/** An ISO time `minutes` from now. */
export function inMinutes(minutes: number): string {
  return new Date(Date.now() + minutes * 60_000).toISOString();
}

export async function createMeeting(overrides: Record<string, unknown> = {}) {
  const res = await api("POST", "/api/meetings/create", {
    body: { title: "Weekly sync", hostName: "Ada", scheduledAt: inMinutes(60), ...overrides },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { meeting: any; hostToken: string; participant: any };
}

export async function mintJoinTokens(meetingId: string, hostToken: string, body: Record<string, unknown> = {}) {
  const res = await api("POST", `/api/meetings/${meetingId}/tokens`, { token: hostToken, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return (res.body.tokens as { token: string; expiresAt: string }[]).map((t) => t.token);
}

export async function mintJoinToken(meetingId: string, hostToken: string): Promise<string> {
  const [token] = await mintJoinTokens(meetingId, hostToken);
  return token as string;
}

export async function join(meetingId: string, hostToken: string, displayName = "Grace") {
  const token = await mintJoinToken(meetingId, hostToken);
  const res = await api("POST", "/api/meetings/join", { body: { token, displayName } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { meeting: any; participant: any; sessionToken: string; wsUrl: string; media: any };
}

/** A meeting with its host and `names.length` joined participants. */
export async function meetingWith(...names: string[]) {
  const created = await createMeeting();
  const id = created.meeting.id as string;
  const guests = [];
  for (const name of names) guests.push(await join(id, created.hostToken, name));
  return { id, hostToken: created.hostToken, host: created.participant, guests };
}

export async function getMeeting(meetingId: string, token: string) {
  const res = await api("GET", `/api/meetings/${meetingId}`, { token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.meeting;
}

export function expectError(res: ApiResponse, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body?.error?.code, JSON.stringify(res.body)).toBe(code);
  expect(typeof res.body.error.message).toBe("string");
}
