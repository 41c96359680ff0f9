/**
 * Calls the worker's own fetch handler in the test isolate, with the pool's
 * bindings. Tests that send hundreds of requests use this instead of
 * `SELF.fetch`, whose cost grows with every request a file has made
 * (cloudflare/workers-sdk#15446: ~6 ms to ~370 ms per request after 1,500),
 * which turns a property-based suite from seconds into many minutes. The
 * worker code, middleware and Durable Objects on the path are the same.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import { ORIGIN } from "./api";
import { TestSocket } from "./sockets";

/** `fetch` against the worker: `path` is relative to the test origin. */
export async function dispatch(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`${ORIGIN}${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export interface Answer<T = any> {
  status: number;
  body: T;
}

/** A JSON request with an optional bearer token; the answer's body parsed. */
export async function call<T = any>(
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await dispatch(path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** An upgrade request; the 101's socket is not yet accepted. */
export function upgradeDirect(meetingId: string, token: string, since?: number): Promise<Response> {
  const query = new URLSearchParams({ token });
  if (since !== undefined) query.set("since", String(since));
  return dispatch(`/api/meetings/${meetingId}/ws?${query}`, { headers: { upgrade: "websocket" } });
}

/** Accepts the socket of a 101 answer as a TestSocket. */
export function acceptSocket(response: Response): TestSocket {
  const ws = response.webSocket;
  if (response.status !== 101 || !ws) throw new Error(`expected a 101 upgrade, got ${response.status}`);
  const socket = new TestSocket(ws);
  ws.accept();
  return socket;
}

/** Connects and waits for `meeting:joined`. */
export async function connectDirect(meetingId: string, token: string, since?: number): Promise<TestSocket> {
  const response = await upgradeDirect(meetingId, token, since);
  if (response.status !== 101) throw new Error(`upgrade refused: ${response.status} ${await response.text()}`);
  const socket = acceptSocket(response);
  await socket.next("meeting:joined", 15_000);
  return socket;
}
