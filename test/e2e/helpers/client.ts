/**
 * End-to-end clients: REST through `fetch` and WebSockets through the `ws`
 * package, against the `wrangler dev` the global setup started (`api`,
 * `open`, `connect`) or any other server (`clientFor`, e.g. the restart
 * tests' own one). Also the two ways a connection can die without a close
 * frame. Waits are for frames, with timeouts, never sleeps.
 */
import { expect, inject } from "vitest";
import WebSocket from "ws";
import { type Frame, FrameInbox } from "../../helpers/frame-inbox";

export const baseUrl = () => inject("baseUrl");

export type { Frame };

/** The refusal of an upgrade: its HTTP status and error body, read from the `unexpected-response` event. */
export interface Refusal {
  status: number;
  body: any;
}

const WAIT_MS = 5000;
/** The fault tests' wait for `meeting:joined`: after a restart or a dropped connection a join can be slow. */
export const FAULT_JOINED_MS = 20_000;

/** A socket to a real server, through the `ws` package. */
export class LiveSocket extends FrameInbox {
  constructor(readonly ws: WebSocket) {
    super(WAIT_MS);
    ws.on("message", (data, isBinary) => this.received(isBinary ? "" : data.toString()));
    ws.on("close", (code, reason) => this.closedWith(code, reason.toString()));
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }
}

export interface ConnectOptions {
  viaSubprotocol?: boolean;
  since?: number;
}

export interface ApiResponse {
  status: number;
  body: any;
  headers: Headers;
}

export interface Client {
  api(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<ApiResponse>;
  /** Opens a socket; the LiveSocket once `meeting:joined` arrived, or the HTTP refusal. */
  open(meetingId: string, token: string, options?: ConnectOptions): Promise<LiveSocket | Refusal>;
  connect(meetingId: string, token: string, options?: ConnectOptions): Promise<LiveSocket>;
  createMeeting(overrides?: Record<string, unknown>): Promise<{ id: string; hostToken: string; hostId: string }>;
  mintJoinTokens(meetingId: string, hostToken: string, count?: number): Promise<string[]>;
  join(token: string, displayName: string): Promise<{ id: string; sessionToken: string }>;
}

/**
 * A client of the server at `baseUrl()`. `joinedTimeoutMs` bounds the wait
 * for `meeting:joined` (longer where the first join wakes a restarted server).
 */
export function clientFor(baseUrl: () => string, { joinedTimeoutMs = WAIT_MS } = {}): Client {
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
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  };

  const open: Client["open"] = (meetingId, token, options = {}) => {
    const url = new URL(`/api/meetings/${meetingId}/ws`, baseUrl().replace(/^http/, "ws"));
    if (!options.viaSubprotocol) url.searchParams.set("token", token);
    if (options.since !== undefined) url.searchParams.set("since", String(options.since));
    const ws = new WebSocket(url, options.viaSubprotocol ? ["meettime", token] : undefined);
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
      ws.once("open", () => socket.next("meeting:joined", joinedTimeoutMs).then(() => resolve(socket), reject));
    });
  };

  const connect: Client["connect"] = async (meetingId, token, options) => {
    const result = await open(meetingId, token, options);
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

/** The client of the suite's shared server. */
export const { api, open, connect } = clientFor(baseUrl);

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
