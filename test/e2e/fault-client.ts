/**
 * Clients for the fault tests, bound to an explicit server address (the
 * restartable server is not the suite's shared one): REST through `fetch`,
 * sockets through `ws` wrapped in the suite's LiveSocket, and the two ways a
 * connection can die without a close frame.
 */
import { expect } from "vitest";
import WebSocket from "ws";
import { LiveSocket, type Refusal } from "./client";

export interface Client {
  api(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown },
  ): Promise<{ status: number; body: any }>;
  /** Opens a socket; the LiveSocket once `meeting:joined` arrived, or the HTTP refusal. */
  open(meetingId: string, token: string, since?: number): Promise<LiveSocket | Refusal>;
  connect(meetingId: string, token: string, since?: number): Promise<LiveSocket>;
  createMeeting(overrides?: Record<string, unknown>): Promise<{ id: string; hostToken: string; hostId: string }>;
  mintJoinTokens(meetingId: string, hostToken: string, count?: number): Promise<string[]>;
  join(token: string, displayName: string): Promise<{ id: string; sessionToken: string }>;
}

const JOINED_MS = 20_000;

export function clientFor(baseUrl: () => string): Client {
  const api: Client["api"] = async (method, path, options = {}) => {
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const response = await fetch(`${baseUrl()}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  const open: Client["open"] = (meetingId, token, since) => {
    const url = new URL(`/api/meetings/${meetingId}/ws`, baseUrl().replace(/^http/, "ws"));
    url.searchParams.set("token", token);
    if (since !== undefined) url.searchParams.set("since", String(since));
    const ws = new WebSocket(url);
    const socket = new LiveSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once("unexpected-response", (_request, response) => {
        let body = "";
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () => {
          ws.terminate();
          resolve({ status: response.statusCode ?? 0, body: body ? JSON.parse(body) : undefined });
        });
      });
      ws.once("error", reject);
      ws.once("open", () => socket.next("meeting:joined", JOINED_MS).then(() => resolve(socket), reject));
    });
  };

  const connect: Client["connect"] = async (meetingId, token, since) => {
    const result = await open(meetingId, token, since);
    if (!(result instanceof LiveSocket)) throw new Error(`upgrade refused: ${JSON.stringify(result)}`);
    return result;
  };

  return {
    api,
    open,
    connect,
    async createMeeting(overrides = {}) {
      const res = await api("POST", "/api/meetings", {
        body: {
          title: "Fault drill",
          hostName: "Ada",
          scheduledAt: new Date(Date.now() + 3_600_000).toISOString(),
          ...overrides,
        },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return { id: res.body.meeting.id, hostToken: res.body.hostToken, hostId: res.body.participant.id };
    },
    async mintJoinTokens(meetingId, hostToken, count = 1) {
      const res = await api("POST", `/api/meetings/${meetingId}/tokens`, { token: hostToken, body: { count } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.tokens.map((t: { token: string }) => t.token);
    },
    async join(token, displayName) {
      const res = await api("POST", "/api/meetings/join", { body: { token, displayName } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return { id: res.body.participant.id, sessionToken: res.body.sessionToken };
    },
  };
}

/** Kills the TCP connection under a socket: no close frame, as when a laptop lid shuts or a network drops. */
export function dropConnection(socket: LiveSocket): void {
  (socket.ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
}

/** The chat `seq`s a socket received, live or replayed on join, in arrival order. */
export function seqsSeen(socket: LiveSocket): number[] {
  return socket.frames.flatMap((f) =>
    f.type === "chat:new-message"
      ? [f.data.seq as number]
      : f.type === "meeting:joined"
        ? (f.data.chat as { seq: number }[]).map((m) => m.seq)
        : [],
  );
}
