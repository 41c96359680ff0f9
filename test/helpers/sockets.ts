/**
 * WebSocket helpers: connect through the worker like a browser would, then
 * wait for frames by type with a timeout instead of sleeping.
 */
import { env, SELF } from "cloudflare:test";
import { expect } from "vitest";
import type { MeetingRoom } from "../../src/meeting/room";
import { meetingWith, ORIGIN } from "./api";
import { type Frame, FrameInbox } from "./frame-inbox";

export type { Frame };

const WAIT_MS = 3000;

/** A socket to the worker inside the workers pool (workerd's own WebSocket). */
export class TestSocket extends FrameInbox {
  constructor(readonly ws: WebSocket) {
    super(WAIT_MS);
    ws.addEventListener("message", (event) => this.received(typeof event.data === "string" ? event.data : ""));
    ws.addEventListener("close", (event) => this.closedWith(event.code, event.reason));
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Resolves after `ms` to show that no frame at all arrived in that time. */
  async expectSilence(ms = 300) {
    const before = this.texts.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    expect(this.texts.slice(before)).toEqual([]);
  }

  /** Resolves after `ms` to show that nothing of `type` arrived in that time. */
  async expectNo(type: string, ms = 300) {
    const before = this.frames.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    expect(this.frames.slice(before).filter((f) => f.type === type)).toEqual([]);
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
