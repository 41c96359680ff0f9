/**
 * End-to-end clients: REST through `fetch` and WebSockets through the `ws`
 * package, against the `wrangler dev` the global setup started. Waits are
 * for frames, with timeouts, never sleeps.
 */
import { inject } from "vitest";
import WebSocket from "ws";

export const baseUrl = () => inject("baseUrl");

export interface Frame {
  type: string;
  data?: any;
  id?: string | number;
  ts?: string;
  error?: { code: string; message: string; details?: any };
}

export async function api(method: string, path: string, options: { token?: string; body?: unknown } = {}) {
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
}

/** The refusal of an upgrade: its HTTP status and error body, read from the `unexpected-response` event. */
export interface Refusal {
  status: number;
  body: any;
}

const WAIT_MS = 5000;

export class LiveSocket {
  readonly frames: Frame[] = [];
  readonly texts: string[] = [];
  private cursor = 0;
  private waiters = new Set<() => void>();
  closeEvent: { code: number; reason: string } | undefined;

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? "" : data.toString();
      this.texts.push(text);
      if (text.startsWith("{")) this.frames.push(JSON.parse(text));
      this.wake();
    });
    ws.on("close", (code, reason) => {
      this.closeEvent = { code, reason: reason.toString() };
      this.wake();
    });
  }

  private wake() {
    for (const waiter of this.waiters) waiter();
  }

  private until<T>(what: string, find: () => T | undefined, timeoutMs = WAIT_MS): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found === undefined) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames.map((f) => f.type))}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The next frame of `type` after those already consumed. */
  next(type: string, timeoutMs?: number): Promise<Frame> {
    return this.until(
      `frame ${type}`,
      () => {
        const index = this.frames.findIndex((f, i) => i >= this.cursor && f.type === type);
        if (index === -1) return undefined;
        this.cursor = index + 1;
        return this.frames[index];
      },
      timeoutMs,
    );
  }

  async request(frame: { type: string; data?: unknown }): Promise<Frame> {
    const id = crypto.randomUUID();
    this.send({ ...frame, id });
    return this.until(`reply to ${frame.type}`, () =>
      this.frames.find((f) => (f.type === "ack" || f.type === "error") && f.id === id),
    );
  }

  /** Sends the text `ping` and waits for the text `pong`. */
  async ping(): Promise<void> {
    const before = this.texts.filter((t) => t === "pong").length;
    this.ws.send("ping");
    await this.until("pong", () => (this.texts.filter((t) => t === "pong").length > before ? true : undefined));
  }

  closed(timeoutMs?: number): Promise<{ code: number; reason: string }> {
    return this.until("close", () => this.closeEvent, timeoutMs);
  }

  count(type: string): number {
    return this.frames.filter((f) => f.type === type).length;
  }
}

export interface ConnectOptions {
  viaSubprotocol?: boolean;
  since?: number;
}

function socketUrl(meetingId: string, token: string, options: ConnectOptions): string {
  const url = new URL(`/api/meetings/${meetingId}/ws`, baseUrl().replace(/^http/, "ws"));
  if (!options.viaSubprotocol) url.searchParams.set("token", token);
  if (options.since !== undefined) url.searchParams.set("since", String(options.since));
  return url.toString();
}

/** Opens a socket; resolves with it once `meeting:joined` arrived, or with the HTTP refusal. */
export function open(meetingId: string, token: string, options: ConnectOptions = {}): Promise<LiveSocket | Refusal> {
  const ws = new WebSocket(
    socketUrl(meetingId, token, options),
    options.viaSubprotocol ? ["meettime", token] : undefined,
  );
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
    ws.once("open", () => socket.next("meeting:joined").then(() => resolve(socket), reject));
  });
}

export async function connect(meetingId: string, token: string, options: ConnectOptions = {}): Promise<LiveSocket> {
  const result = await open(meetingId, token, options);
  if (!(result instanceof LiveSocket)) throw new Error(`upgrade refused: ${JSON.stringify(result)}`);
  return result;
}
