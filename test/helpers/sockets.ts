/**
 * WebSocket helpers: connect through the worker like a browser would, then
 * wait for frames by type with a timeout instead of sleeping.
 */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import { ORIGIN } from "./api";

export interface Frame {
  type: string;
  data?: any;
  id?: string | number;
  ts?: string;
  error?: { code: string; message: string };
}

const WAIT_MS = 3000;

export class TestSocket {
  readonly frames: Frame[] = [];
  readonly raw: string[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];
  closeEvent: { code: number; reason: string } | undefined;

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      const text = typeof event.data === "string" ? event.data : "";
      this.raw.push(text);
      if (text.startsWith("{")) this.frames.push(JSON.parse(text));
      this.wake();
    });
    ws.addEventListener("close", (event) => {
      this.closeEvent = { code: event.code, reason: event.reason };
      this.wake();
    });
  }

  private wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private async until<T>(what: string, find: () => T | undefined, timeoutMs = WAIT_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames.map((f) => f.type))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The next frame of `type` after those already consumed, skipping others. */
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

  /** The first frame matching, anywhere in what was received. */
  find(predicate: (frame: Frame) => boolean, what = "matching frame"): Promise<Frame> {
    return this.until(what, () => this.frames.find(predicate));
  }

  /** The answer (ack or error) to the frame sent with `id`. */
  reply(id: string | number): Promise<Frame> {
    return this.find((f) => (f.type === "ack" || f.type === "error") && f.id === id, `reply to ${id}`);
  }

  async request(frame: { type: string; data?: unknown }, id: string | number = crypto.randomUUID()): Promise<Frame> {
    this.send({ ...frame, id });
    return this.reply(id);
  }

  closed(timeoutMs?: number): Promise<{ code: number; reason: string }> {
    return this.until("close", () => this.closeEvent, timeoutMs);
  }

  /** Resolves after `ms` to show that nothing of `type` arrived in that time. */
  async expectNo(type: string, ms = 300) {
    const before = this.frames.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    expect(this.frames.slice(before).filter((f) => f.type === type)).toEqual([]);
  }

  count(type: string): number {
    return this.frames.filter((f) => f.type === type).length;
  }

  close(code = 1000, reason = "bye") {
    try {
      this.ws.close(code, reason);
    } catch {
      // already closed
    }
  }
}

export interface ConnectOptions {
  since?: number | string;
  viaSubprotocol?: boolean;
}

export async function upgrade(meetingId: string, token: string | undefined, options: ConnectOptions = {}) {
  const params = new URLSearchParams();
  if (token && !options.viaSubprotocol) params.set("token", token);
  if (options.since !== undefined) params.set("since", String(options.since));
  const headers: Record<string, string> = { Upgrade: "websocket" };
  if (options.viaSubprotocol && token) headers["Sec-WebSocket-Protocol"] = `meettime, ${token}`;
  return SELF.fetch(`${ORIGIN}/api/meetings/${meetingId}/ws?${params}`, { headers });
}

/** Connects and waits for `meeting:joined`. */
export async function connect(meetingId: string, token: string, options: ConnectOptions = {}): Promise<TestSocket> {
  const response = await upgrade(meetingId, token, options);
  if (response.status !== 101) {
    throw new Error(`upgrade refused: ${response.status} ${await response.text()}`);
  }
  const ws = response.webSocket as WebSocket;
  const socket = new TestSocket(ws);
  ws.accept();
  await socket.next("meeting:joined");
  return socket;
}
