/**
 * WebSocket helpers: connect through the worker like a browser would, then
 * wait for frames by type with a timeout instead of sleeping.
 */
import { env, SELF } from "cloudflare:test";
import { expect } from "vitest";
import type { MeetingRoom } from "../../src/meeting/meeting";
import { meetingWith, ORIGIN } from "./api";

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
  /** Acks and errors by the id of the frame they answer, so bursts of requests wait cheaply. */
  private readonly replies = new Map<string | number, Frame>();
  closeEvent: { code: number; reason: string } | undefined;

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      const text = typeof event.data === "string" ? event.data : "";
      this.raw.push(text);
      if (text.startsWith("{")) {
        const frame: Frame = JSON.parse(text);
        this.frames.push(frame);
        if ((frame.type === "ack" || frame.type === "error") && frame.id !== undefined && !this.replies.has(frame.id)) {
          this.replies.set(frame.id, frame);
        }
      }
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

  /** Marks everything received so far as seen, so `next` only looks at what comes after. */
  skipReceived(): this {
    this.cursor = this.frames.length;
    return this;
  }

  /** The next frame of `type` that also satisfies `predicate`, after those already consumed. */
  nextWhere(type: string, predicate: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame> {
    return this.until(
      `frame ${type} matching`,
      () => {
        const index = this.frames.findIndex((f, i) => i >= this.cursor && f.type === type && predicate(f));
        if (index === -1) return undefined;
        this.cursor = index + 1;
        return this.frames[index];
      },
      timeoutMs,
    );
  }

  /** Waits until `count` frames of `type` arrived in total. */
  async all(type: string, count: number, timeoutMs?: number): Promise<Frame[]> {
    return this.until(
      `${count} frames ${type} (have ${this.count(type)})`,
      () => {
        const matching = this.frames.filter((f) => f.type === type);
        return matching.length >= count ? matching : undefined;
      },
      timeoutMs,
    );
  }

  /** Resolves after `ms` to show that no frame at all arrived in that time. */
  async expectSilence(ms = 300) {
    const before = this.raw.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    expect(this.raw.slice(before)).toEqual([]);
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
  reply(id: string | number, timeoutMs?: number): Promise<Frame> {
    return this.until(`reply to ${id}`, () => this.replies.get(id), timeoutMs);
  }

  /** Sends every frame with a fresh id, then waits for all their answers (in sending order). */
  async burst(frames: { type: string; data?: unknown }[], timeoutMs = 15_000): Promise<Frame[]> {
    const ids = frames.map((frame) => {
      const id = crypto.randomUUID();
      this.send({ ...frame, id });
      return id;
    });
    await this.until(
      `replies to ${ids.length} frames`,
      () => (ids.every((id) => this.replies.has(id)) ? true : undefined),
      timeoutMs,
    );
    return ids.map((id) => this.replies.get(id)!);
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

/** The meeting's Durable Object, for runInDurableObject, runDurableObjectAlarm and evictDurableObject. */
export function meetingObject(meetingId: string): DurableObjectStub<MeetingRoom> {
  return env.MEETINGS.get(env.MEETINGS.idFromString(meetingId)) as DurableObjectStub<MeetingRoom>;
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

export interface LiveGuest {
  id: string;
  name: string;
  sessionToken: string;
  socket: TestSocket;
}

/**
 * A meeting whose host and guests (one per name) are all connected, each
 * socket having seen everyone arrive; what came before is marked as seen.
 */
export async function liveMeeting(...names: string[]) {
  const m = await meetingWith(...names);
  const host = { id: m.host.id as string, name: m.host.name as string, token: m.hostToken };
  const hostSocket = await connect(m.id, m.hostToken);
  const guests: LiveGuest[] = [];
  for (const guest of m.guests) {
    const socket = await connect(m.id, guest.sessionToken);
    guests.push({ id: guest.participant.id, name: guest.participant.name, sessionToken: guest.sessionToken, socket });
  }
  await hostSocket.all("meeting:participant-joined", guests.length);
  for (const [index, guest] of guests.entries()) {
    await guest.socket.all("meeting:participant-joined", guests.length - index - 1);
  }
  for (const socket of [hostSocket, ...guests.map((g) => g.socket)]) socket.skipReceived();
  return { id: m.id, hostToken: m.hostToken, host: { ...host, socket: hostSocket }, guests };
}
