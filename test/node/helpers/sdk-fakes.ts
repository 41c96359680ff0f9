/**
 * Fakes for the SDK's Node tests: a WebSocket class the test drives (open,
 * receive, start closing, close) that records every socket the connection
 * opens and every frame sent on it, valid server events to feed it, and
 * unsigned MeetTime-shaped tokens (the SDK reads their claims, never verifies).
 */
import { MeetTime } from "../../../src/client";
import type { MeetingConnectionOptions, WebSocketLike } from "../../../src/client/connection";
import type { MeetingData, ParticipantData, ServerEventMap } from "../../../src/client/types";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

export class FakeWebSocket implements WebSocketLike {
  readyState = CONNECTING;
  /** Frames that reached the wire (sent while open). */
  readonly sent: string[] = [];
  closedByClient: number | undefined;
  onopen: ((event: any) => void) | null = null;
  onmessage: ((event: any) => void) | null = null;
  onclose: ((event: any) => void) | null = null;
  onerror: ((event: any) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {}

  /** As a browser does: throws while connecting, silently drops once closing. */
  send(data: string): void {
    if (this.readyState === CONNECTING) throw new Error("InvalidStateError: still connecting");
    if (this.readyState === OPEN) this.sent.push(data);
  }
  close(code?: number): void {
    if (this.readyState >= CLOSING) return;
    this.closedByClient = code;
    this.readyState = CLOSING;
  }

  // ---- the test's side
  open(): void {
    this.readyState = OPEN;
    this.onopen?.({});
  }
  receive(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }
  /** A close handshake under way: `readyState` says closing, no event yet. */
  startClosing(): void {
    this.readyState = CLOSING;
  }
  /** The close event (1006: the connection was lost). */
  closeFromServer(code = 1006): void {
    this.readyState = CLOSED;
    this.onclose?.({ code });
  }
  /** The `data` of each frame sent, by `type`. */
  sentOf(type: string): any[] {
    return this.sent.map((frame) => JSON.parse(frame)).filter((frame) => frame.type === type);
  }
}

/** A `MeetTime` whose sockets are `FakeWebSocket`s (listed in `sockets`) and whose REST answers come from `rest`. */
export function fakeClient(rest: (url: URL, init: RequestInit) => Response | Promise<Response> = activeMeetingAnswer) {
  const sockets: FakeWebSocket[] = [];
  class RecordedWebSocket extends FakeWebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  const requests: URL[] = [];
  const mt = new MeetTime({
    baseUrl: "http://meettime.test",
    WebSocket: RecordedWebSocket,
    fetch: async (input, init) => {
      const url = new URL(String(input));
      requests.push(url);
      return rest(url, init ?? {});
    },
  });
  const connect = (options: MeetingConnectionOptions = {}, token = "not-a-jwt") => mt.connect("m1", token, options);
  return { mt, sockets, requests, connect };
}

export const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** `GET` of the meeting after a refused attempt: still active, so the connection retries. */
function activeMeetingAnswer(): Response {
  return json({ meeting: meeting() });
}

/** Backoff without jitter, so delays are known. */
export const NO_JITTER = { backoff: { initialMs: 100, maxMs: 10_000, factor: 2, jitter: 0 } } as const;

export const participant = (id: string, role: ParticipantData["role"] = "participant"): ParticipantData => ({
  id,
  name: id,
  role,
  connected: true,
  joinedAt: "2026-12-01T10:00:00.000Z",
  state: { audio: true, video: true, screen: false, handRaised: false },
});

export const meeting = (participants = [participant("ada", "host"), participant("grace")]): MeetingData => ({
  id: "m1",
  title: "Sync",
  status: "active",
  scheduledAt: "2026-12-01T11:00:00.000Z",
  durationMinutes: 60,
  timezone: "UTC",
  version: 1,
  maxParticipants: 50,
  createdAt: "2026-12-01T10:00:00.000Z",
  updatedAt: "2026-12-01T10:00:00.000Z",
  expiresAt: "2026-12-02T12:00:00.000Z",
  participantCount: participants.length,
  participants,
});

export const chatMessage = (seq: number, text = `message ${seq}`): ServerEventMap["chat:new-message"] => ({
  id: `c${seq}`,
  seq,
  participantId: "ada",
  name: "ada",
  text,
  ts: "2026-12-01T10:00:00.000Z",
});

export const joinedEvent = (chat: ServerEventMap["chat:new-message"][] = []) => ({
  type: "meeting:joined" as const,
  data: { self: participant("grace"), meeting: meeting(), chat, media: { mode: "mesh" as const } },
});

/** Opens `socket` and has the server seat the participant. */
export function openAndJoin(socket: FakeWebSocket | undefined): void {
  if (!socket) throw new Error("no socket was opened");
  socket.open();
  socket.receive(joinedEvent());
}

/** An unsigned token with MeetTime's claims (`iat`/`exp` in seconds, the server's clock). */
export function fakeToken(claims: { kind: string; iatMs: number; expMs: number; meetingId?: string }): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const payload = {
    kind: claims.kind,
    aud: claims.meetingId ?? "m1",
    iat: Math.floor(claims.iatMs / 1000),
    exp: Math.floor(claims.expMs / 1000),
  };
  return `${encode({ alg: "HS256", typ: "JWT" })}.${encode(payload)}.signature`;
}
