/**
 * Helpers of the SDK's end-to-end tests: a `MeetTime` on the suite's
 * `wrangler dev` whose WebSocket (the `ws` package) records every socket it
 * opens (URL, subprotocols) so a test can cut its TCP connection or point an
 * attempt at a dead port, and waits for connection events with timeouts.
 */
import { expect } from "vitest";
import WebSocket from "ws";
import type { ConnectionEvents, MeetingConnection, StateChange, WebSocketConstructor } from "../../../src/client";
import { MeetTime, MeetTimeError } from "../../../src/client";
import { baseUrl } from "./client";

const WAIT_MS = 10_000;

export interface OpenedSocket {
  url: string;
  protocols: string | string[] | undefined;
  ws: WebSocket;
}

/** A `ws` WebSocket class that records what it opens; `redirect` may send an attempt elsewhere. */
export function trackedWebSocket() {
  const opened: OpenedSocket[] = [];
  const control: { redirect?: (url: string) => string } = {};
  class TrackedWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(control.redirect ? control.redirect(url) : url, protocols);
      opened.push({ url, protocols, ws: this });
    }
  }
  return { WebSocket: TrackedWebSocket as unknown as WebSocketConstructor, opened, control };
}

/** A client of the suite's server with a tracked WebSocket. */
export function sdk() {
  const tracked = trackedWebSocket();
  const mt = new MeetTime({ baseUrl: baseUrl(), WebSocket: tracked.WebSocket });
  return { mt, ...tracked };
}

/** Backoff fast enough for tests, without jitter so the delays can be compared. */
export const FAST = { backoff: { initialMs: 50, maxMs: 400, factor: 2, jitter: 0 } } as const;

export const inAnHour = () => new Date(Date.now() + 3_600_000);

/** A meeting with its host and one joined guest. */
export async function meetingWithGuest(mt: MeetTime, guestName = "Grace") {
  const created = await mt.createMeeting({ title: "SDK sync", hostName: "Ada", scheduledAt: inAnHour() });
  const { tokens } = await mt.mintInvites(created.meeting.id, created.hostToken);
  const guest = await mt.join(tokens[0]!.token, guestName);
  return { created, guest, meetingId: created.meeting.id };
}

/** Kills the TCP connection under a socket: no close frame, as when a network drops. */
export function cutTcp(socket: OpenedSocket): void {
  (socket.ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
}

/** The next `type` event of `conn` (matching `where`), or a timeout error. */
export function nextEvent<K extends keyof ConnectionEvents>(
  conn: MeetingConnection,
  type: K,
  where: (data: ConnectionEvents[K]) => boolean = () => true,
  timeoutMs = WAIT_MS,
): Promise<ConnectionEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${String(type)}`));
    }, timeoutMs);
    const off = conn.on(type, (data) => {
      if (!where(data)) return;
      clearTimeout(timer);
      off();
      resolve(data);
    });
  });
}

/** Resolves with the final `state` event (or at once if already closed). */
export function closedState(conn: MeetingConnection, timeoutMs = WAIT_MS) {
  return nextEvent(
    conn,
    "state",
    (s): s is Extract<StateChange, { state: "closed" }> => s.state === "closed",
    timeoutMs,
  );
}

/** Every state change of `conn` from now on. */
export function recordStates(conn: MeetingConnection): StateChange[] {
  const states: StateChange[] = [];
  conn.on("state", (s) => states.push(s));
  return states;
}

/** Polls `check` until true, or fails after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The rejection of `promise`, which must reject with a `MeetTimeError`. */
export async function failure(promise: Promise<unknown>): Promise<MeetTimeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MeetTimeError);
  return error as MeetTimeError;
}
